/*
 * owasess.c — session cookie hash to user (contract in owasess.h).
 *
 * References: RFC 6265 §4.1 (Set-Cookie: name=value then attributes, which
 * libhtp hands over comma-joined when repeated) and §4.2 (Cookie:
 * name=value pairs separated by "; ").
 *
 * Invariants: n <= max; every entry is on one hash chain and on the LRU
 * list (most recently used at the tail); an entry holds a hash, never the
 * cookie.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "buf.h"
#include "owasess.h"

#define OWA_USER_MAX 256

struct entry {
	struct entry *hnext, *prev, *next;
	uint64_t hash;
	char user[OWA_USER_MAX];
};

struct owa_sessions {
	struct entry **buckets;
	size_t mask;
	struct entry *head, *tail;
	uint32_t n, max;
	uint64_t key;
	struct owa_sessions_stats stats;
};

struct owa_sessions *owa_sessions_new(uint32_t max)
{
	struct owa_sessions *t = calloc(1, sizeof(*t));
	size_t nb = 64;
	if (!t || max == 0) {
		free(t);
		return NULL;
	}
	while (nb < max && nb < (1u << 20))
		nb <<= 1;
	t->buckets = calloc(nb, sizeof(*t->buckets));
	if (!t->buckets || getrandom(&t->key, sizeof(t->key), 0) != sizeof(t->key)) {
		free(t->buckets);
		free(t);
		return NULL;
	}
	t->mask = nb - 1;
	t->max = max;
	return t;
}

void owa_sessions_free(struct owa_sessions *t)
{
	if (!t)
		return;
	for (struct entry *e = t->head, *next; e; e = next) {
		next = e->next;
		free(e);
	}
	free(t->buckets);
	free(t);
}

const struct owa_sessions_stats *owa_sessions_stats(const struct owa_sessions *t)
{
	return &t->stats;
}

/* Keyed FNV-1a over name=value, with a final mix. */
static uint64_t pair_hash(const struct owa_sessions *t, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u ^ t->key;
	struct buf b = buf_init(p, n);
	while (buf_left(&b))
		h = (h ^ buf_u8(&b)) * 0x100000001b3u;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdu;
	h ^= h >> 33;
	return h;
}

static void unlink_lru(struct owa_sessions *t, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		t->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		t->tail = e->prev;
	e->prev = e->next = NULL;
}

static void append_lru(struct owa_sessions *t, struct entry *e)
{
	e->prev = t->tail;
	if (t->tail)
		t->tail->next = e;
	else
		t->head = e;
	t->tail = e;
}

static struct entry *find(struct owa_sessions *t, uint64_t h)
{
	for (struct entry *e = t->buckets[h & t->mask]; e; e = e->hnext)
		if (e->hash == h)
			return e;
	return NULL;
}

static void evict_oldest(struct owa_sessions *t)
{
	struct entry *old = t->head, **pp = &t->buckets[old->hash & t->mask];
	while (*pp != old)
		pp = &(*pp)->hnext;
	*pp = old->hnext;
	unlink_lru(t, old);
	free(old);
	t->n--;
	t->stats.evicted++;
}

static void bind_one(struct owa_sessions *t, uint64_t h, const char *user)
{
	struct entry *e = find(t, h);
	if (!e) {
		if (t->n >= t->max)
			evict_oldest(t);
		if (!(e = calloc(1, sizeof(*e))))
			return;
		e->hash = h;
		e->hnext = t->buckets[h & t->mask];
		t->buckets[h & t->mask] = e;
		t->n++;
	} else {
		unlink_lru(t, e);
	}
	append_lru(t, e);
	size_t n = strnlen(user, OWA_USER_MAX - 1);
	memcpy(e->user, user, n);
	e->user[n] = '\0';
	t->stats.bound++;
}

static bool is_attribute(const uint8_t *name, size_t n)
{
	static const char *const attrs[] = {"expires", "path",     "domain",   "max-age",
	                                    "secure",  "httponly", "samesite", "version",
	                                    "comment", "priority"};
	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		if (strlen(attrs[i]) == n && strncasecmp((const char *)name, attrs[i], n) == 0)
			return true;
	return false;
}

/*
 * Calls fn for every name=value token of s (separated by ';' and, when
 * `commas`, ','), blanks trimmed, empty names or values skipped.
 */
static void each_pair(const char *s, size_t len, bool commas,
                      void (*fn)(void *ctx, const uint8_t *pair, size_t n, size_t name_len),
                      void *ctx)
{
	struct buf b = buf_init(s, len);
	while (buf_left(&b)) {
		size_t n = 0, eq = 0;
		const uint8_t *tok = buf_rest(&b);
		while (buf_left(&b)) {
			uint8_t c = buf_u8(&b);
			if (c == ';' || (commas && c == ','))
				break;
			n++;
		}
		struct buf t = buf_init(tok, n);
		while (buf_left(&t) && (buf_peek_u8(&t, 0) == ' ' || buf_peek_u8(&t, 0) == '\t'))
			buf_skip(&t, 1);
		const uint8_t *p = buf_rest(&t);
		size_t m = buf_left(&t);
		while (m && (p[m - 1] == ' ' || p[m - 1] == '\t'))
			m--;
		for (eq = 0; eq < m && p[eq] != '='; eq++)
			;
		if (p && eq > 0 && eq + 1 < m)
			fn(ctx, p, m, eq);
	}
}

struct bind_ctx {
	struct owa_sessions *t;
	const char *user;
};

static void bind_pair(void *ctx, const uint8_t *pair, size_t n, size_t name_len)
{
	struct bind_ctx *bc = ctx;
	if (!is_attribute(pair, name_len))
		bind_one(bc->t, pair_hash(bc->t, pair, n), bc->user);
}

void owa_sessions_bind(struct owa_sessions *t, const char *set_cookie, size_t len, const char *user)
{
	struct bind_ctx bc = {.t = t, .user = user};
	if (t && user && user[0])
		each_pair(set_cookie, len, true, bind_pair, &bc);
}

struct lookup_ctx {
	struct owa_sessions *t;
	struct entry *hit;
};

static void lookup_pair(void *ctx, const uint8_t *pair, size_t n, size_t name_len)
{
	struct lookup_ctx *lc = ctx;
	(void)name_len;
	if (!lc->hit)
		lc->hit = find(lc->t, pair_hash(lc->t, pair, n));
}

bool owa_sessions_lookup(struct owa_sessions *t, const char *cookie, size_t len, char *ret_user,
                         size_t size)
{
	struct lookup_ctx lc = {.t = t};
	if (!t)
		return false;
	each_pair(cookie, len, false, lookup_pair, &lc);
	if (!lc.hit)
		return false;
	unlink_lru(t, lc.hit);
	append_lru(t, lc.hit);
	size_t n = strnlen(lc.hit->user, size - 1);
	memcpy(ret_user, lc.hit->user, n);
	ret_user[n] = '\0';
	t->stats.hits++;
	return true;
}
