/*
 * detect.c — the correlator (contract and rules in detect.h).
 *
 * State, per identity (a user, or a client address seen without a user):
 *   - the last DETECT_KEEP ActiveSync refusals (time, address, device, row);
 *   - the last DETECT_KEEP successful fallbacks (time, protocol, address,
 *     User-Agent, row, whether an alert already counted it);
 *   - per rule, the alert of the current window (first/last seen, count, the
 *     sink's id).
 * Identities live in a hash table with an LRU list for the cap.
 *
 * Invariants:
 *   - n_idents <= cfg.max_identities; every identity is on exactly one hash
 *     chain and on the LRU list, most recently active at the tail;
 *   - a fallback with alerted set is never counted again;
 *   - an alert state is live from its first fallback until a fallback more
 *     than a window away from its first_seen starts the next one.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ascii.h"
#include "detect.h"
#include "mdm_limits.h"

enum { P_EWS, P_RPC, P_MAPI, P_OWA, N_FALLBACK_PROTOS, R_HUNT = N_FALLBACK_PROTOS, N_RULES };

static const char *const proto_names[N_FALLBACK_PROTOS] = {"EWS", "RPC", "MAPI", "OWA"};
static const char *const rule_names[N_RULES] = {
    "activesync-refused-then-ews", "activesync-refused-then-rpc", "activesync-refused-then-mapi",
    "activesync-refused-then-owa", "ews-unlisted-client",
};

#define KEY_MAX    256
#define IP_MAX     INET6_ADDRSTRLEN
#define DEVICE_MAX 128
#define OP_MAX     64

struct refusal {
	bool used;
	uint64_t ts;
	int64_t row;
	int status;
	char ip[IP_MAX];
	char device[DEVICE_MAX];
};

struct fallback {
	bool used, alerted;
	uint64_t ts;
	int64_t row;
	int proto;
	char ip[IP_MAX];
	char ua[LIMIT_DETECT_UA_BYTES];
	char op[OP_MAX];
};

struct alert_state {
	bool live;
	const char *severity;
	uint64_t first, last, count;
	int64_t slot;
};

struct ident {
	struct ident *hnext, *lprev, *lnext;
	uint64_t hash;
	uint64_t last_ts; /* newest event time of this identity */
	bool by_user;
	char key[KEY_MAX];
	struct refusal ref[DETECT_KEEP];
	struct fallback fb[DETECT_KEEP];
	struct alert_state alerts[N_RULES];
};

struct detect {
	struct detect_config cfg;
	char **allow;
	struct detect_alias *aliases; /* sorted by alias */
	detect_alert_fn fn;
	void *ctx;
	struct ident **buckets;
	size_t mask;
	struct ident *lru_head, *lru_tail;
	uint32_t n_idents;
	uint64_t clock;      /* newest event time seen */
	uint64_t last_sweep; /* clock at the last expiry sweep */
	struct detect_stats stats;
};

int detect_severity_rank(const char *severity)
{
	return strcmp(severity, "high") == 0 ? 0 : strcmp(severity, "medium") == 0 ? 1 : 2;
}

void detect_config_default(struct detect_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->window_us = UINT64_C(24) * 3600 * 1000000;
	cfg->max_identities = LIMIT_DETECT_IDENTITIES;
}

/* ---- configuration ---- */

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static int alias_cmp(const void *a, const void *b)
{
	return strcmp(((const struct detect_alias *)a)->alias,
	              ((const struct detect_alias *)b)->alias);
}

static bool copy_config(struct detect *d, const struct detect_config *cfg)
{
	d->cfg = *cfg;
	if (cfg->n_allow) {
		d->allow = calloc(cfg->n_allow, sizeof(*d->allow));
		if (!d->allow)
			return false;
		for (size_t i = 0; i < cfg->n_allow; i++)
			if (!(d->allow[i] = dup_str(cfg->allow[i])))
				return false;
	}
	if (cfg->n_aliases) {
		d->aliases = calloc(cfg->n_aliases, sizeof(*d->aliases));
		if (!d->aliases)
			return false;
		for (size_t i = 0; i < cfg->n_aliases; i++) {
			d->aliases[i].alias = dup_str(cfg->aliases[i].alias);
			d->aliases[i].canonical = dup_str(cfg->aliases[i].canonical);
			if (!d->aliases[i].alias || !d->aliases[i].canonical)
				return false;
		}
		qsort(d->aliases, cfg->n_aliases, sizeof(*d->aliases), alias_cmp);
	}
	return true;
}

struct detect *detect_new(const struct detect_config *cfg, detect_alert_fn fn, void *ctx)
{
	struct detect *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	size_t nb = 1024;
	while (nb < cfg->max_identities && nb < (1u << 22))
		nb <<= 1;
	d->buckets = calloc(nb, sizeof(*d->buckets));
	d->mask = nb - 1;
	d->fn = fn;
	d->ctx = ctx;
	if (!d->buckets || !copy_config(d, cfg) || cfg->max_identities == 0) {
		detect_free(d);
		return NULL;
	}
	return d;
}

void detect_free(struct detect *d)
{
	if (!d)
		return;
	for (struct ident *i = d->lru_head, *next; i; i = next) {
		next = i->lnext;
		free(i);
	}
	for (size_t i = 0; d->allow && i < d->cfg.n_allow; i++)
		free(d->allow[i]);
	for (size_t i = 0; d->aliases && i < d->cfg.n_aliases; i++) {
		free((char *)d->aliases[i].alias);
		free((char *)d->aliases[i].canonical);
	}
	free(d->allow);
	free(d->aliases);
	free(d->buckets);
	free(d);
}

const struct detect_stats *detect_stats(const struct detect *d)
{
	return &d->stats;
}

/* ---- User-Agent allowlist ---- */

bool detect_pattern_valid(const char *p)
{
	size_t n = strlen(p);
	size_t lead = p[0] == '*', trail = n > 1 && p[n - 1] == '*';
	if (n <= lead + trail)
		return false;
	for (size_t i = lead; i < n - trail; i++)
		if (p[i] == '*' || (unsigned char)p[i] < 0x20)
			return false;
	return true;
}

static bool pattern_match(const char *pat, const char *ua)
{
	size_t n = strlen(pat), un = strlen(ua);
	bool lead = pat[0] == '*', trail = n > 1 && pat[n - 1] == '*';
	const char *core = pat + lead;
	size_t cn = n - lead - trail;
	if (lead && trail)
		return ascii_contains_ci(ua, un, core, cn);
	if (trail)
		return un >= cn && strncasecmp(ua, core, cn) == 0;
	if (lead)
		return un >= cn && strncasecmp(ua + (un - cn), core, cn) == 0;
	return strcasecmp(ua, pat) == 0;
}

bool detect_ua_allowed(const struct detect *d, const char *ua, const char *protocol)
{
	static const char *const builtin[] = {"*Microsoft Office Outlook*", "*Microsoft Outlook*",
	                                      "*MacOutlook*", "*Microsoft-Entourage*"};
	if (!ua || !ua[0])
		return false;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (pattern_match(builtin[i], ua))
			return true;
	if (protocol && strcmp(protocol, "RPC") == 0 && pattern_match("MSRPC*", ua))
		return true;
	for (size_t i = 0; i < d->cfg.n_allow; i++)
		if (pattern_match(d->allow[i], ua))
			return true;
	return false;
}

/* ---- identities ---- */

static uint64_t key_hash(bool by_user, const char *key)
{
	uint64_t h = by_user ? 0xcbf29ce484222325u : 0x84222325cbf29ce4u; /* FNV-1a */
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 0x100000001b3u;
	return h;
}

static void lru_unlink(struct detect *d, struct ident *i)
{
	if (i->lprev)
		i->lprev->lnext = i->lnext;
	else
		d->lru_head = i->lnext;
	if (i->lnext)
		i->lnext->lprev = i->lprev;
	else
		d->lru_tail = i->lprev;
	i->lprev = i->lnext = NULL;
}

static void lru_append(struct detect *d, struct ident *i)
{
	i->lprev = d->lru_tail;
	i->lnext = NULL;
	if (d->lru_tail)
		d->lru_tail->lnext = i;
	else
		d->lru_head = i;
	d->lru_tail = i;
}

static void ident_remove(struct detect *d, struct ident *old)
{
	struct ident **pp = &d->buckets[old->hash & d->mask];
	while (*pp != old)
		pp = &(*pp)->hnext;
	*pp = old->hnext;
	lru_unlink(d, old);
	free(old);
	d->n_idents--;
}

static void evict_oldest(struct detect *d)
{
	ident_remove(d, d->lru_head);
	d->stats.evicted++;
}

/*
 * Forgets identities with nothing newer than two windows before the newest
 * event: no event can match them any more, unless capture files are read
 * more than a window out of order (README "Detection").  Runs when the
 * clock has moved an eighth of a window since the last sweep.
 */
static void expire(struct detect *d)
{
	uint64_t w2 = d->cfg.window_us > UINT64_MAX / 2 ? UINT64_MAX : 2 * d->cfg.window_us;
	if (d->clock - d->last_sweep < d->cfg.window_us / 8 || d->clock < w2)
		return;
	d->last_sweep = d->clock;
	for (struct ident *i = d->lru_head, *next; i; i = next) {
		next = i->lnext;
		if (i->last_ts < d->clock - w2) {
			ident_remove(d, i);
			d->stats.expired++;
		}
	}
}

static struct ident *ident_get(struct detect *d, bool by_user, const char *key)
{
	uint64_t h = key_hash(by_user, key);
	struct ident *i = d->buckets[h & d->mask];
	for (; i; i = i->hnext)
		if (i->hash == h && i->by_user == by_user && strcmp(i->key, key) == 0)
			break;
	if (i) {
		lru_unlink(d, i);
		lru_append(d, i);
		return i;
	}
	if (d->n_idents >= d->cfg.max_identities)
		evict_oldest(d);
	i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	i->hash = h;
	i->by_user = by_user;
	snprintf(i->key, sizeof(i->key), "%s", key);
	i->hnext = d->buckets[h & d->mask];
	d->buckets[h & d->mask] = i;
	lru_append(d, i);
	d->n_idents++;
	d->stats.identities++;
	return i;
}

/* The slot to overwrite: a free one, else the oldest in time. */
#define OLDEST_SLOT(arr, ret)                                                                      \
	do {                                                                                       \
		size_t k_ = 0;                                                                     \
		for (size_t j_ = 0; j_ < DETECT_KEEP; j_++) {                                      \
			if (!(arr)[j_].used) {                                                     \
				k_ = j_;                                                           \
				break;                                                             \
			}                                                                          \
			if ((arr)[j_].ts < (arr)[k_].ts)                                           \
				k_ = j_;                                                           \
		}                                                                                  \
		(ret) = &(arr)[k_];                                                                \
	} while (0)

static bool in_window(const struct detect *d, uint64_t t0, uint64_t t1)
{
	return t1 >= t0 && t1 - t0 <= d->cfg.window_us;
}

static const char *canonical_user(const struct detect *d, const char *user)
{
	if (!user || !user[0])
		return NULL;
	struct detect_alias key = {.alias = user};
	const struct detect_alias *a =
	    d->cfg.n_aliases
	        ? bsearch(&key, d->aliases, d->cfg.n_aliases, sizeof(*d->aliases), alias_cmp)
	        : NULL;
	return a ? a->canonical : user;
}

static int fallback_proto(const char *p)
{
	for (int i = 0; i < N_FALLBACK_PROTOS; i++)
		if (strcmp(p, proto_names[i]) == 0)
			return i;
	return -1;
}

/* ---- alerts ---- */

static void fmt_time(uint64_t us, char out[32])
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "?");
}

/* A user name as a PowerShell single-quoted string: quotes doubled, control
 * characters dropped, so a hostile name cannot break out of the hint. */
static void ps_quote(const char *s, char *out, size_t n)
{
	size_t o = 0;
	out[o++] = '\'';
	for (; *s && o + 3 < n; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			continue;
		if (*s == '\'')
			out[o++] = '\'';
		out[o++] = *s;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

/* The Set-CASMailbox line that closes the door the fallback used. */
static void remediation(const char *user, int proto, const char *ip, char *out, size_t n)
{
	static const char *const fix[N_RULES] = {
	    "-EwsApplicationAccessPolicy EnforceAllowList -EwsAllowList "
	    "@{Add='*Microsoft Office Outlook*','*Microsoft Outlook*','MacOutlook*'}",
	    "-MAPIBlockOutlookRpcHttp $true",
	    "-MapiHttpEnabled $false",
	    "-OWAEnabled $false",
	    "-EwsApplicationAccessPolicy EnforceAllowList -EwsAllowList "
	    "@{Add='*Microsoft Office Outlook*','*Microsoft Outlook*','MacOutlook*'}",
	};
	char q[2 * KEY_MAX + 3];
	if (user) {
		ps_quote(user, q, sizeof(q));
		snprintf(out, n, "Set-CASMailbox -Identity %s %s", q, fix[proto]);
	} else {
		snprintf(out, n,
		         "identify the mailbox used from %s (IIS logs, the client's own "
		         "records), then: Set-CASMailbox -Identity <user> %s",
		         ip, fix[proto]);
	}
}

static void summary(const struct ident *id, const struct fallback *fb, const struct refusal *ref,
                    bool allowed, char *out, size_t n)
{
	char t0[32], t1[32];
	const char *who = id->key;
	fmt_time(fb->ts, t1);
	if (!ref) {
		snprintf(out, n,
		         "%s used EWS%s%s from %s at %s with User-Agent \"%s\", which is not "
		         "on the allowlist",
		         who, fb->op[0] ? " " : "", fb->op, fb->ip, t1, fb->ua);
		return;
	}
	fmt_time(ref->ts, t0);
	snprintf(out, n,
	         "%s was refused on ActiveSync (HTTP %d%s%s) from %s at %s, then %s%s%s "
	         "succeeded from %s at %s (%llu s later) with %s User-Agent \"%s\"; matched by %s",
	         who, ref->status, ref->device[0] ? ", device " : "", ref->device, ref->ip, t0,
	         proto_names[fb->proto], fb->op[0] ? " " : "", fb->op, fb->ip, t1,
	         (unsigned long long)((fb->ts - ref->ts) / 1000000u),
	         allowed ? "an allowlisted (but borrowed)" : "a non-allowlisted", fb->ua,
	         id->by_user ? "user" : "client address");
}

static void raise_alert(struct detect *d, struct ident *id, int rule, struct fallback *fb,
                        const struct refusal *ref, const char *severity, bool allowed)
{
	struct alert_state *a = &id->alerts[rule];
	/* The hunting rule does not use the fallback up: a refusal that turns
	 * up later (an earlier capture file read last) still counts it. */
	bool counts = rule != R_HUNT;
	char sum[2048], fix[1024];
	bool fresh =
	    !a->live || !(in_window(d, a->first, fb->ts) || in_window(d, fb->ts, a->first));
	if (fresh) {
		*a = (struct alert_state){.live = true,
		                          .severity = severity,
		                          .first = fb->ts,
		                          .last = fb->ts,
		                          .count = 0,
		                          .slot = 0};
		d->stats.alerts[detect_severity_rank(severity)]++;
	} else {
		d->stats.updates++;
	}
	if (fb->ts < a->first)
		a->first = fb->ts;
	if (fb->ts > a->last)
		a->last = fb->ts;
	a->count++;
	if (counts)
		fb->alerted = true;
	summary(id, fb, ref, allowed, sum, sizeof(sum));
	remediation(id->by_user ? id->key : NULL, rule, fb->ip, fix, sizeof(fix));
	struct detect_alert al = {
	    .is_new = fresh,
	    .sink_slot = &a->slot,
	    .severity = a->severity,
	    .rule = rule_names[rule],
	    .matched_by = id->by_user ? "user" : "client_ip",
	    .user = id->by_user ? id->key : NULL,
	    .client_ip = fb->ip,
	    .device_id = ref && ref->device[0] ? ref->device : NULL,
	    .protocol = proto_names[fb->proto],
	    .user_agent = fb->ua[0] ? fb->ua : NULL,
	    .summary = sum,
	    .remediation = fix,
	    .ts_us = fb->ts,
	    .first_seen_us = a->first,
	    .last_seen_us = a->last,
	    .count = a->count,
	    .refusal_row = ref ? ref->row : 0,
	    .fallback_row = fb->row,
	};
	if (d->fn)
		d->fn(d->ctx, &al);
}

/* A fallback against one refusal: alert, or nothing for Outlook elsewhere. */
static void judge(struct detect *d, struct ident *id, struct fallback *fb,
                  const struct refusal *ref)
{
	bool allowed = detect_ua_allowed(d, fb->ua, proto_names[fb->proto]);
	if (allowed && strcmp(fb->ip, ref->ip) != 0)
		return; /* the user's own Outlook, somewhere else */
	raise_alert(d, id, fb->proto, fb, ref, allowed ? "medium" : "high", allowed);
}

/* The latest refusal of `id` that a fallback at t1 falls within. */
static const struct refusal *refusal_for(const struct detect *d, const struct ident *id,
                                         uint64_t t1)
{
	const struct refusal *best = NULL;
	for (size_t i = 0; i < DETECT_KEEP; i++) {
		const struct refusal *r = &id->ref[i];
		if (r->used && in_window(d, r->ts, t1) && (!best || r->ts > best->ts))
			best = r;
	}
	return best;
}

static void copy_field(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static void on_refusal(struct detect *d, const struct detect_event *ev, const char *user)
{
	d->stats.refusals++;
	struct ident *ids[2] = {user ? ident_get(d, true, user) : NULL,
	                        ident_get(d, false, ev->client_ip)};
	for (int k = 0; k < 2; k++) {
		struct ident *id = ids[k];
		struct refusal *r;
		if (!id)
			continue;
		if (ev->ts_us > id->last_ts)
			id->last_ts = ev->ts_us;
		OLDEST_SLOT(id->ref, r);
		*r = (struct refusal){
		    .used = true, .ts = ev->ts_us, .row = ev->txn_row, .status = ev->status};
		copy_field(r->ip, sizeof(r->ip), ev->client_ip);
		copy_field(r->device, sizeof(r->device), ev->device_id);
		/* Fallbacks seen before this refusal (an earlier file read last). */
		for (size_t i = 0; i < DETECT_KEEP; i++) {
			struct fallback *fb = &id->fb[i];
			if (fb->used && !fb->alerted && in_window(d, r->ts, fb->ts))
				judge(d, id, fb, refusal_for(d, id, fb->ts));
		}
	}
}

static void on_fallback(struct detect *d, const struct detect_event *ev, const char *user,
                        int proto)
{
	d->stats.fallbacks++;
	struct ident *id = user ? ident_get(d, true, user) : ident_get(d, false, ev->client_ip);
	if (!id)
		return;
	if (ev->ts_us > id->last_ts)
		id->last_ts = ev->ts_us;
	struct fallback *fb;
	OLDEST_SLOT(id->fb, fb);
	*fb = (struct fallback){.used = true, .ts = ev->ts_us, .row = ev->txn_row, .proto = proto};
	copy_field(fb->ip, sizeof(fb->ip), ev->client_ip);
	copy_field(fb->ua, sizeof(fb->ua), ev->user_agent);
	copy_field(fb->op, sizeof(fb->op), ev->operation);
	const struct refusal *ref = refusal_for(d, id, fb->ts);
	if (ref) {
		judge(d, id, fb, ref);
		return;
	}
	if (proto == P_EWS && !detect_ua_allowed(d, fb->ua, "EWS"))
		raise_alert(d, id, R_HUNT, fb, NULL, "low", false);
}

void detect_event(struct detect *d, const struct detect_event *ev)
{
	d->stats.events++;
	if (!ev->client_ip || !ev->protocol)
		return;
	if (ev->ts_us > d->clock) {
		d->clock = ev->ts_us;
		expire(d);
	}
	const char *user = canonical_user(d, ev->user);
	if (strcmp(ev->protocol, "EAS") == 0) {
		if (ev->eas_refusal)
			on_refusal(d, ev, user);
		return;
	}
	int proto = fallback_proto(ev->protocol);
	if (proto >= 0 && ev->status >= 200 && ev->status <= 299)
		on_fallback(d, ev, user, proto);
}
