/*
 * keylog.c — NSS key log store: parsing, hashing, tailing, wiping.
 *
 * References: NSS Key Log Format (MDN); draft-ietf-tls-keylogfile §3
 * (labels and their secrets).  Contracts and invariants are in keylog.h.
 *
 * Layout: a chained hash table keyed by (client random or RSA prefix,
 * label), each entry a fixed-size node holding the secret, so that no
 * secret ever moves (nothing to wipe twice) and the table can grow by
 * relinking nodes.  The bucket array doubles while entries > buckets, up
 * to the first power of two >= max_entries.
 */
#include "keylog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ascii.h"
#include "buf.h"
#include "mdm_limits.h"

#define KEYLOG_BUCKETS_MIN 1024u
#define KEYLOG_READ_CHUNK  4096u

struct keylog_entry {
	struct keylog_entry *next;
	uint8_t key[KEYLOG_RANDOM_LEN]; /* client random; RSA: prefix, zero-padded */
	uint8_t label;
	uint8_t len;
	uint8_t secret[KEYLOG_SECRET_MAX];
};

/* A line being assembled, from a file or a fed text. */
struct keylog_line {
	uint8_t buf[LIMIT_KEYLOG_LINE];
	size_t len;
	bool too_long; /* bytes past LIMIT_KEYLOG_LINE were dropped */
	uint64_t lineno;
};

struct keylog_file {
	struct keylog_file *next;
	struct keylog *kl;
	int fd;
	off_t pos;
	struct keylog_line line;
	char path[]; /* NUL-terminated */
};

struct keylog {
	struct keylog_entry **buckets;
	size_t nbuckets; /* power of two */
	size_t max_entries;
	uint64_t seed;
	struct keylog_stats stats;
	keylog_bad_line_fn bad_line;
	void *ctx;
	struct keylog_file *files;
};

static const char *const label_names[KEYLOG__COUNT] = {
    [KEYLOG_CLIENT_RANDOM] = "CLIENT_RANDOM",
    [KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET] = "CLIENT_EARLY_TRAFFIC_SECRET",
    [KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [KEYLOG_CLIENT_TRAFFIC_SECRET_0] = "CLIENT_TRAFFIC_SECRET_0",
    [KEYLOG_SERVER_TRAFFIC_SECRET_0] = "SERVER_TRAFFIC_SECRET_0",
    [KEYLOG_EARLY_EXPORTER_SECRET] = "EARLY_EXPORTER_SECRET",
    [KEYLOG_EXPORTER_SECRET] = "EXPORTER_SECRET",
    [KEYLOG_RSA] = "RSA",
};

const char *keylog_label_name(enum keylog_label l)
{
	return (unsigned)l < KEYLOG__COUNT ? label_names[l] : "unknown";
}

struct keylog *keylog_new(size_t max_entries, keylog_bad_line_fn bad_line, void *ctx)
{
	struct keylog *kl = calloc(1, sizeof(*kl));

	if (!kl)
		return NULL;
	kl->nbuckets = KEYLOG_BUCKETS_MIN;
	kl->buckets = calloc(kl->nbuckets, sizeof(*kl->buckets));
	if (!kl->buckets) {
		free(kl);
		return NULL;
	}
	kl->max_entries = max_entries ? max_entries : LIMIT_KEYLOG_ENTRIES;
	kl->bad_line = bad_line;
	kl->ctx = ctx;
	/* Key logs are trusted input; the seed only keeps bucket order unguessable. */
	if (getrandom(&kl->seed, sizeof(kl->seed), GRND_NONBLOCK) != sizeof(kl->seed))
		kl->seed = (uint64_t)(uintptr_t)kl ^ 0x9E3779B97F4A7C15ull;
	return kl;
}

static void entry_free(struct keylog_entry *e)
{
	explicit_bzero(e, sizeof(*e));
	free(e);
}

void keylog_free(struct keylog *kl)
{
	if (!kl)
		return;
	for (size_t i = 0; i < kl->nbuckets; i++) {
		struct keylog_entry *e = kl->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
	}
	free(kl->buckets);
	for (struct keylog_file *f = kl->files, *next; f; f = next) {
		next = f->next;
		if (f->fd >= 0)
			close(f->fd);
		explicit_bzero(&f->line, sizeof(f->line));
		free(f);
	}
	free(kl);
}

/* FNV-1a over the key and label, mixed with the seed. */
static size_t slot(const struct keylog *kl, const uint8_t *key, uint8_t label)
{
	uint64_t h = 0xCBF29CE484222325ull ^ kl->seed;
	for (size_t i = 0; i < KEYLOG_RANDOM_LEN; i++)
		h = (h ^ key[i]) * 0x100000001B3ull;
	h = (h ^ label) * 0x100000001B3ull;
	h ^= h >> 29;
	return (size_t)h & (kl->nbuckets - 1);
}

static struct keylog_entry *find(const struct keylog *kl, const uint8_t *key, uint8_t label)
{
	struct keylog_entry *e = kl->buckets[slot(kl, key, label)];
	for (; e; e = e->next)
		if (e->label == label && !memcmp(e->key, key, KEYLOG_RANDOM_LEN))
			return e;
	return NULL;
}

/* Doubles the bucket array while it is smaller than the entry count. */
static void maybe_grow(struct keylog *kl)
{
	if (kl->stats.entries < kl->nbuckets || kl->nbuckets >= kl->max_entries)
		return;
	size_t old_n = kl->nbuckets;
	struct keylog_entry **old = kl->buckets;
	struct keylog_entry **nb = calloc(old_n * 2, sizeof(*nb));
	if (!nb)
		return; /* longer chains, still correct */
	kl->buckets = nb;
	kl->nbuckets = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		for (struct keylog_entry *e = old[i], *next; e; e = next) {
			next = e->next;
			size_t s = slot(kl, e->key, e->label);
			e->next = nb[s];
			nb[s] = e;
		}
	}
	free(old);
}

static void report(struct keylog *kl, const char *source, uint64_t line, const char *why)
{
	kl->stats.bad_lines++;
	if (kl->bad_line)
		kl->bad_line(kl->ctx, source, line, why);
}

/* Stores one parsed secret; 1 when added, 0 otherwise (counted). */
static int store(struct keylog *kl, const char *source, uint64_t line, const uint8_t *key,
                 uint8_t label, const uint8_t *secret, size_t len)
{
	struct keylog_entry *e = find(kl, key, label);

	if (e) {
		if (e->len == len && !memcmp(e->secret, secret, len)) {
			kl->stats.duplicates++;
		} else {
			kl->stats.conflicts++;
			if (kl->bad_line) /* not a malformed line: not in bad_lines */
				kl->bad_line(kl->ctx, source, line,
				             "conflicts with an earlier secret (kept the first)");
		}
		return 0;
	}
	if (kl->stats.entries >= kl->max_entries || !(e = calloc(1, sizeof(*e)))) {
		kl->stats.refused++;
		return 0;
	}
	memcpy(e->key, key, KEYLOG_RANDOM_LEN);
	e->label = label;
	e->len = (uint8_t)len;
	memcpy(e->secret, secret, len);
	size_t s = slot(kl, key, label);
	e->next = kl->buckets[s];
	kl->buckets[s] = e;
	kl->stats.entries++;
	maybe_grow(kl);
	return 1;
}

static bool is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void skip_spaces(struct buf *b)
{
	while (buf_left(b) > 0 && is_space(buf_peek_u8(b, 0)))
		buf_skip(b, 1);
}

/* A cursor over the next run of non-space bytes (consumed). */
static struct buf token(struct buf *b)
{
	size_t n = 0;
	skip_spaces(b);
	while (n < buf_left(b) && !is_space(buf_peek_u8(b, n)))
		n++;
	return buf_sub(b, n);
}

/* Decodes a hex token into out (cap bytes); the byte count, or -1. */
static int unhex(struct buf t, uint8_t *out, size_t cap)
{
	size_t n = buf_left(&t);
	if (n == 0 || n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = ascii_hex_digit(buf_u8(&t)), lo = ascii_hex_digit(buf_u8(&t));
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

static int label_of(struct buf t)
{
	size_t n = buf_left(&t);
	const uint8_t *p = buf_take(&t, n);
	for (int i = 0; i < KEYLOG__COUNT; i++)
		if (p && strlen(label_names[i]) == n && !memcmp(label_names[i], p, n))
			return i;
	return -1;
}

/* Why a secret length is wrong for its label, or NULL when it is right. */
static const char *check_lengths(int label, int klen, int slen)
{
	if (label == KEYLOG_RSA)
		return klen == KEYLOG_RSA_PREFIX_LEN && slen == 48 ? NULL
		                                                   : "RSA needs 8 and 48 bytes";
	if (klen != KEYLOG_RANDOM_LEN)
		return "client random is not 32 bytes";
	if (label == KEYLOG_CLIENT_RANDOM)
		return slen == 48 ? NULL : "master secret is not 48 bytes";
	return slen == 32 || slen == 48 || slen == 64 ? NULL : "secret is not 32, 48 or 64 bytes";
}

/* Parses one complete line (without its LF); 1 when a secret was added. */
static int parse_line(struct keylog *kl, const char *source, struct keylog_line *l)
{
	uint8_t key[KEYLOG_RANDOM_LEN] = {0}, secret[KEYLOG_SECRET_MAX];
	struct buf b = buf_init(l->buf, l->len);
	const char *why = NULL;
	int r = 0;

	kl->stats.lines++;
	skip_spaces(&b);
	if (buf_left(&b) == 0 || buf_peek_u8(&b, 0) == '#') {
		kl->stats.ignored++;
		return 0;
	}
	int label = label_of(token(&b));
	int klen = unhex(token(&b), key, sizeof(key));
	int slen = unhex(token(&b), secret, sizeof(secret));
	skip_spaces(&b);
	if (label < 0)
		why = "unknown label";
	else if (klen < 0 || slen < 0)
		why = "missing field or bad hex";
	else if (buf_left(&b) > 0)
		why = "trailing data";
	else
		why = check_lengths(label, klen, slen);
	if (why)
		report(kl, source, l->lineno, why);
	else
		r = store(kl, source, l->lineno, key, (uint8_t)label, secret, (size_t)slen);
	explicit_bzero(secret, sizeof(secret));
	return r;
}

/* Ends the line being assembled: parse or report it, then wipe it. */
static size_t end_line(struct keylog *kl, const char *source, struct keylog_line *l)
{
	size_t added = 0;
	l->lineno++;
	if (l->too_long) {
		kl->stats.lines++;
		report(kl, source, l->lineno, "line too long");
	} else {
		added = (size_t)parse_line(kl, source, l);
	}
	explicit_bzero(l->buf, l->len);
	l->len = 0;
	l->too_long = false;
	return added;
}

/* Appends text to l, ending a line at each LF. */
static size_t scan(struct keylog *kl, const char *source, struct keylog_line *l,
                   const uint8_t *text, size_t len)
{
	struct buf b = buf_init(text, len);
	size_t added = 0;

	while (buf_left(&b) > 0) {
		uint8_t c = buf_u8(&b);
		if (c == '\n')
			added += end_line(kl, source, l);
		else if (l->len < sizeof(l->buf))
			l->buf[l->len++] = c;
		else
			l->too_long = true;
	}
	return added;
}

size_t keylog_feed(struct keylog *kl, const char *source, const uint8_t *text, size_t len)
{
	struct keylog_line *l = calloc(1, sizeof(*l));
	size_t added;

	if (!kl || !l) {
		free(l);
		return 0;
	}
	added = scan(kl, source ? source : "-", l, text, len);
	if (l->len > 0 || l->too_long)
		added += end_line(kl, source ? source : "-", l);
	explicit_bzero(l, sizeof(*l));
	free(l);
	return added;
}

struct keylog_file *keylog_open(struct keylog *kl, const char *path)
{
	size_t n = strlen(path);
	struct keylog_file *f = calloc(1, sizeof(*f) + n + 1);

	if (!f)
		return NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0) {
		int e = errno;
		free(f);
		errno = e;
		return NULL;
	}
	memcpy(f->path, path, n + 1);
	f->kl = kl;
	f->next = kl->files;
	kl->files = f;
	return f;
}

long keylog_poll(struct keylog_file *f)
{
	uint8_t chunk[KEYLOG_READ_CHUNK];
	struct stat st;
	long added = 0;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	if (st.st_size < f->pos) { /* truncated or rewritten in place */
		f->kl->stats.truncations++;
		f->pos = 0;
		explicit_bzero(&f->line, sizeof(f->line));
	}
	for (;;) {
		ssize_t got = pread(f->fd, chunk, sizeof(chunk), f->pos);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			added = -errno;
			break;
		}
		if (got == 0)
			break;
		f->pos += got;
		added += (long)scan(f->kl, f->path, &f->line, chunk, (size_t)got);
	}
	explicit_bzero(chunk, sizeof(chunk));
	return added;
}

long keylog_poll_all(struct keylog *kl)
{
	long sum = 0;
	for (struct keylog_file *f = kl->files; f; f = f->next) {
		long r = keylog_poll(f);
		if (r < 0)
			return r;
		sum += r;
	}
	return sum;
}

bool keylog_lookup(const struct keylog *kl, const uint8_t client_random[KEYLOG_RANDOM_LEN],
                   enum keylog_label label, uint8_t *ret_secret, size_t *ret_len)
{
	if (!kl || (unsigned)label >= KEYLOG__COUNT || label == KEYLOG_RSA)
		return false;
	const struct keylog_entry *e = find(kl, client_random, (uint8_t)label);
	if (!e)
		return false;
	memcpy(ret_secret, e->secret, e->len);
	*ret_len = e->len;
	return true;
}

bool keylog_lookup_rsa(const struct keylog *kl, const uint8_t prefix[KEYLOG_RSA_PREFIX_LEN],
                       uint8_t ret_pms[48])
{
	uint8_t key[KEYLOG_RANDOM_LEN] = {0};

	if (!kl)
		return false;
	memcpy(key, prefix, KEYLOG_RSA_PREFIX_LEN);
	const struct keylog_entry *e = find(kl, key, KEYLOG_RSA);
	if (!e)
		return false;
	memcpy(ret_pms, e->secret, 48);
	return true;
}

const struct keylog_stats *keylog_stats(const struct keylog *kl)
{
	return &kl->stats;
}
