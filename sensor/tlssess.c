/*
 * tlssess.c — a TLS connection: metadata, key setup, record decryption
 * (contract in tlssess.h).
 *
 * References: RFC 8446 §4 (TLS 1.3 handshake: which secret protects which
 * record; EncryptedExtensions §4.3.1; Finished §4.4.4; KeyUpdate §4.6.3;
 * early data §4.2.10), RFC 5246 §7.4.7 (ClientKeyExchange), RFC 7627
 * (extended master secret), RFC 7301 (ALPN), NSS key log format.
 *
 * Per direction, the record protection moves through phases:
 *   TLS 1.3 client:  [early (0-RTT)] -> handshake -> application (-> KeyUpdate ...)
 *   TLS 1.3 server:  handshake -> application (-> KeyUpdate ...)
 *   TLS <= 1.2:      application keys from the ChangeCipherSpec on
 * The handshake phase ends with that direction's Finished, seen in its own
 * decrypted handshake stream.
 *
 * Invariants:
 *   - a direction holds pending (undecrypted) records only while it has no
 *     keys; e->pending_now is the sum of all sessions' pending bytes;
 *   - the transcript log holds plaintext handshake records in arrival order
 *     and exists only until both directions have keys (TLS <= 1.2);
 *   - nothing decrypted is passed on unless it authenticated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "keylog.h"
#include "tls.h"
#include "tlsdec.h"
#include "tlsfp.h"
#include "tlssess.h"

#define CT_CCS       20
#define CT_ALERT     21
#define CT_HANDSHAKE 22
#define CT_APPDATA   23

#define HS_CLIENT_KEY_EXCHANGE  16
#define HS_ENCRYPTED_EXTENSIONS 8
#define HS_FINISHED             20
#define HS_KEY_UPDATE           24

enum phase {
	PHASE_NONE,
	PHASE_EARLY,
	PHASE_HANDSHAKE,
	PHASE_APP,
};

struct pend {
	struct pend *next;
	uint8_t type;
	uint16_t version;
	uint16_t len;
	uint8_t data[];
};

struct dirstate {
	struct tlsdec *dec;
	enum phase phase;
	uint64_t ok; /* records decrypted with the current keys */
	struct pend *head, *tail;
	size_t pend_bytes;
	/* TLS 1.3 decrypted handshake stream: message header being read,
	 * bytes of the current message body still to skip. */
	uint8_t hdr[4];
	uint8_t hdr_len;
	uint8_t cur_type;
	uint32_t skip;
	bool switch_app, key_update; /* actions after the current record */
};

struct tls_engine {
	struct tlssess *waiting;   /* sessions with records waiting for keys */
	uint64_t transcript_bytes; /* held by all sessions' hs_log */
	struct tls_budget partial; /* partial records held by all tls_conn */
	struct keylog *kl;
	const struct tlsdec_rsa *rsa;
	struct tls_engine_stats stats;
	uint8_t out[TLSDEC_MAX_PLAINTEXT]; /* one thread: shared scratch */
};

struct tlssess {
	struct tlssess *pprev, *pnext; /* on e->waiting while records wait for keys */
	bool waiting;
	struct tls_engine *e;
	struct tls_conn *conn;
	tlssess_plain_fn fn;
	void *ctx;
	struct tls_meta meta;
	uint8_t client_random[32], server_random[32];
	uint16_t version;
	const struct tls_suite *suite;
	bool etm, ems, psk;
	bool h2;
	bool finished;
	uint8_t *hs_log; /* TLS <= 1.2 transcript, see invariants */
	size_t hs_len, hs_cap;
	bool hs_overflow;
	struct dirstate d[2];
};

static const char *const why_names[] = {
    [TLSU_NONE] = "decrypted",
    [TLSU_NO_KEY] = "no key",
    [TLSU_UNSUPPORTED] = "unsupported cipher suite or version",
    [TLSU_GAP] = "gap in the stream",
    [TLSU_AUTH_FAIL] = "authentication failure (wrong key)",
    [TLSU_NO_HANDSHAKE] = "handshake not seen",
    [TLSU_CAP] = "records dropped waiting for keys",
    [TLSU_NOT_TLS] = "not TLS",
};

const char *tls_undecrypted_name(enum tls_undecrypted w)
{
	return (unsigned)w <= TLSU_NOT_TLS ? why_names[w] : "unknown";
}

struct tls_engine *tls_engine_new(struct keylog *kl, const struct tlsdec_rsa *rsa)
{
	struct tls_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return NULL;
	e->kl = kl;
	e->rsa = rsa;
	e->partial.cap = LIMIT_TLS_PARTIAL_TOTAL;
	return e;
}

void tls_engine_free(struct tls_engine *e)
{
	free(e);
}

const struct tls_engine_stats *tls_engine_stats(const struct tls_engine *e)
{
	return &e->stats;
}

static void set_why(struct tlssess *s, enum tls_undecrypted w)
{
	if (s->meta.why == TLSU_NONE)
		s->meta.why = w;
}

/* ---- the TLS <= 1.2 transcript ---- */

static void transcript_drop(struct tlssess *s)
{
	s->e->transcript_bytes -= s->hs_cap;
	free(s->hs_log);
	s->hs_log = NULL;
	s->hs_len = s->hs_cap = 0;
}

/* Room for n more bytes: the log grows by doubling from 8 KiB (a handshake
 * is usually 3-8 KiB), within the per-connection and the total caps. */
static bool transcript_room(struct tlssess *s, size_t n)
{
	size_t want = s->hs_cap ? s->hs_cap : 8192;
	while (want < s->hs_len + n)
		want *= 2;
	if (want == s->hs_cap)
		return true;
	if (want > LIMIT_TLS_TRANSCRIPT_BYTES ||
	    s->e->transcript_bytes - s->hs_cap + want > LIMIT_TLS_TRANSCRIPT_TOTAL)
		return false;
	uint8_t *p = realloc(s->hs_log, want);
	if (!p)
		return false;
	s->e->transcript_bytes += want - s->hs_cap;
	s->hs_log = p;
	s->hs_cap = want;
	return true;
}

/* ---- pending records ---- */

static void waiting_update(struct tlssess *s)
{
	bool want = !s->finished && (s->d[0].head || s->d[1].head);
	if (want == s->waiting)
		return;
	s->waiting = want;
	if (want) {
		s->pprev = NULL;
		s->pnext = s->e->waiting;
		if (s->pnext)
			s->pnext->pprev = s;
		s->e->waiting = s;
		return;
	}
	if (s->pprev)
		s->pprev->pnext = s->pnext;
	else
		s->e->waiting = s->pnext;
	if (s->pnext)
		s->pnext->pprev = s->pprev;
	s->pprev = s->pnext = NULL;
}

static void pend_clear(struct tlssess *s, struct dirstate *d)
{
	while (d->head) {
		struct pend *p = d->head;
		d->head = p->next;
		s->e->stats.pending_now -= p->len;
		free(p);
	}
	d->tail = NULL;
	d->pend_bytes = 0;
}

static void pend_add(struct tlssess *s, struct dirstate *d, const struct tls_record *rec)
{
	struct tls_engine *e = s->e;
	if (d->pend_bytes + rec->length > LIMIT_TLS_PENDING_BYTES ||
	    e->stats.pending_now + rec->length > LIMIT_TLS_PENDING_TOTAL) {
		e->stats.pending_dropped++;
		set_why(s, TLSU_CAP);
		return;
	}
	struct pend *p = malloc(sizeof(*p) + rec->length);
	if (!p) {
		e->stats.pending_dropped++;
		set_why(s, TLSU_CAP);
		return;
	}
	*p = (struct pend){.type = rec->type, .version = rec->version, .len = rec->length};
	struct buf b = buf_init(rec->fragment, rec->length);
	buf_copy(&b, p->data, rec->length);
	if (d->tail)
		d->tail->next = p;
	else
		d->head = p;
	d->tail = p;
	d->pend_bytes += p->len;
	e->stats.pending_now += p->len;
	if (e->stats.pending_now > e->stats.pending_max)
		e->stats.pending_max = e->stats.pending_now;
	waiting_update(s);
}

/* ---- key setup ---- */

static struct tlsdec_params params(const struct tlssess *s)
{
	return (struct tlsdec_params){
	    .version = s->version, .suite = s->suite, .encrypt_then_mac = s->etm};
}

static struct tlsdec *tls13_keys(struct tlssess *s, enum keylog_label label,
                                 enum tls_undecrypted *why)
{
	uint8_t secret[KEYLOG_SECRET_MAX];
	size_t n = 0;
	enum tlsdec_result err = TLSDEC_OK;
	if (!s->e->kl || !keylog_lookup(s->e->kl, s->client_random, label, secret, &n)) {
		*why = TLSU_NO_KEY;
		return NULL;
	}
	struct tlsdec_params p = params(s);
	struct tlsdec *dec = tlsdec_new_tls13(&p, secret, n, &err);
	memset(secret, 0, sizeof(secret));
	if (!dec)
		*why = err == TLSDEC_UNSUPPORTED ? TLSU_UNSUPPORTED : TLSU_NO_KEY;
	return dec;
}

/* The ClientKeyExchange body in the transcript, and the transcript length
 * up to and including it (for the session hash). */
static bool find_cke(const struct tlssess *s, const uint8_t **ret_body, size_t *ret_len,
                     size_t *ret_through)
{
	struct buf b = buf_init(s->hs_log, s->hs_len);
	while (buf_left(&b) >= 4) {
		uint8_t type = buf_u8(&b);
		uint32_t len = buf_be24(&b);
		const uint8_t *body = buf_take(&b, len);
		if (!body)
			return false;
		if (type == HS_CLIENT_KEY_EXCHANGE) {
			*ret_body = body;
			*ret_len = len;
			*ret_through = buf_offset(&b);
			return true;
		}
	}
	return false;
}

/* The pre-master secret of an RSA key exchange: key log RSA line, else the
 * server's private key. */
static bool rsa_premaster(struct tlssess *s, const uint8_t *cke, size_t len, uint8_t pms[48])
{
	struct buf b = buf_init(cke, len);
	uint16_t n = buf_be16(&b); /* TLS >= 1.0: a length-prefixed EncryptedPreMasterSecret */
	const uint8_t *enc = buf_take(&b, n);
	if (!enc || n < KEYLOG_RSA_PREFIX_LEN)
		return false;
	if (s->e->kl && keylog_lookup_rsa(s->e->kl, enc, pms))
		return true;
	return s->e->rsa && tlsdec_rsa_premaster(s->e->rsa, enc, n, pms) == 0;
}

static bool tls12_master(struct tlssess *s, uint8_t master[TLSDEC_MASTER_LEN])
{
	uint8_t secret[KEYLOG_SECRET_MAX];
	size_t n = 0;
	if (s->e->kl &&
	    keylog_lookup(s->e->kl, s->client_random, KEYLOG_CLIENT_RANDOM, secret, &n) &&
	    n == TLSDEC_MASTER_LEN) {
		memcpy(master, secret, TLSDEC_MASTER_LEN);
		memset(secret, 0, sizeof(secret));
		return true;
	}
	const uint8_t *cke;
	size_t cke_len, through;
	uint8_t pms[48], hash[64];
	size_t hash_len = 0;
	if (s->hs_overflow || !find_cke(s, &cke, &cke_len, &through) ||
	    !rsa_premaster(s, cke, cke_len, pms))
		return false;
	enum tls_hash prf = tls_suite_prf(s->suite, s->version);
	if (s->ems) {
		struct tlsdec_hash *h = tlsdec_hash_new(prf);
		if (h) {
			tlsdec_hash_update(h, s->hs_log, through);
			hash_len = tlsdec_hash_peek(h, hash, sizeof(hash));
		}
		tlsdec_hash_free(h);
		if (!hash_len)
			return false;
	}
	int r = tlsdec_master_secret(prf, pms, sizeof(pms), s->client_random, s->server_random,
	                             s->ems ? hash : NULL, hash_len, master);
	memset(pms, 0, sizeof(pms));
	return r == 0;
}

/* Keys for direction dir at its current phase; false with why set. */
static bool key_setup(struct tlssess *s, int dir, enum tls_undecrypted *why)
{
	struct dirstate *d = &s->d[dir];
	if (!s->meta.seen_server_hello || !s->meta.seen_client_hello) {
		*why = TLSU_NO_HANDSHAKE;
		return false;
	}
	if (!s->suite) {
		*why = TLSU_UNSUPPORTED;
		return false;
	}
	if (s->version == 0x0304) {
		static const enum keylog_label labels[2][4] = {
		    [0] = {0, KEYLOG_CLIENT_EARLY_TRAFFIC_SECRET,
		           KEYLOG_CLIENT_HANDSHAKE_TRAFFIC_SECRET, KEYLOG_CLIENT_TRAFFIC_SECRET_0},
		    [1] = {0, KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET,
		           KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, KEYLOG_SERVER_TRAFFIC_SECRET_0},
		};
		if (d->phase == PHASE_NONE)
			d->phase = PHASE_HANDSHAKE;
		d->dec = tls13_keys(s, labels[dir][d->phase], why);
	} else {
		uint8_t master[TLSDEC_MASTER_LEN];
		enum tlsdec_result err = TLSDEC_OK;
		if (!tls12_master(s, master)) {
			*why = TLSU_NO_KEY;
			return false;
		}
		struct tlsdec_params p = params(s);
		d->dec =
		    tlsdec_new_tls12(&p, master, s->client_random, s->server_random, dir, &err);
		memset(master, 0, sizeof(master));
		d->phase = PHASE_APP;
		if (!d->dec)
			*why = err == TLSDEC_UNSUPPORTED ? TLSU_UNSUPPORTED : TLSU_NO_KEY;
	}
	d->ok = 0;
	if (d->dec && s->d[!dir].dec && s->version != 0x0304) {
		transcript_drop(s); /* both directions keyed: the transcript is done */
	}
	return d->dec != NULL;
}

/* ---- decrypted TLS 1.3 handshake messages ---- */

/* ALPN (RFC 7301 §3.1) from an EncryptedExtensions body. */
static void parse_ee_alpn(struct tlssess *s, const uint8_t *body, size_t len)
{
	struct buf b = buf_init(body, len);
	struct buf exts = buf_sub(&b, buf_be16(&b));
	while (buf_left(&exts) >= 4) {
		uint16_t type = buf_be16(&exts);
		struct buf ext = buf_sub(&exts, buf_be16(&exts));
		if (type != 16)
			continue;
		struct buf list = buf_sub(&ext, buf_be16(&ext));
		uint8_t n = buf_u8(&list);
		const uint8_t *name = buf_take(&list, n);
		if (name && n < sizeof(s->meta.alpn)) {
			memcpy(s->meta.alpn, name, n);
			s->meta.alpn[n] = '\0';
			s->h2 = n == 2 && memcmp(name, "h2", 2) == 0;
		}
	}
}

/*
 * Walks the handshake messages of a decrypted record.  Messages may span
 * records: the header and the bytes left to skip carry over.  Finished and
 * KeyUpdate take effect after the record that ends them.
 */
static void walk_handshake(struct tlssess *s, struct dirstate *d, const uint8_t *p, size_t n)
{
	struct buf b = buf_init(p, n);
	while (buf_left(&b)) {
		if (d->skip) {
			size_t k = buf_left(&b) < d->skip ? buf_left(&b) : d->skip;
			buf_skip(&b, k);
			d->skip -= (uint32_t)k;
		} else {
			d->hdr[d->hdr_len++] = buf_u8(&b);
			if (d->hdr_len < 4)
				continue;
			d->hdr_len = 0;
			d->cur_type = d->hdr[0];
			d->skip = (uint32_t)d->hdr[1] << 16 | (uint32_t)d->hdr[2] << 8 | d->hdr[3];
			if (d->cur_type == HS_ENCRYPTED_EXTENSIONS && buf_left(&b) >= d->skip)
				parse_ee_alpn(s, buf_rest(&b), d->skip);
		}
		if (d->skip == 0 && d->hdr_len == 0) {
			if (d->cur_type == HS_FINISHED)
				d->switch_app = true;
			else if (d->cur_type == HS_KEY_UPDATE)
				d->key_update = true;
			d->cur_type = 0;
		}
	}
}

/* Applies what the record's handshake messages asked for. */
static void after_record(struct tlssess *s, int dir)
{
	struct dirstate *d = &s->d[dir];
	enum tls_undecrypted why = TLSU_NONE;
	if (d->switch_app) {
		d->switch_app = false;
		tlsdec_free(d->dec);
		d->dec = NULL;
		d->phase = PHASE_APP;
		if (!key_setup(s, dir, &why))
			set_why(s, why);
	}
	if (d->key_update) {
		d->key_update = false;
		if (d->dec && tlsdec_key_update(d->dec) < 0)
			set_why(s, TLSU_UNSUPPORTED);
	}
}

static void deliver(struct tlssess *s, int dir, uint8_t type, const uint8_t *p, size_t n)
{
	struct dirstate *d = &s->d[dir];
	if (type == CT_APPDATA) {
		s->meta.decrypted = true;
		if (!s->h2 && s->fn && n)
			s->fn(s->ctx, dir, p, n);
	} else if (type == CT_HANDSHAKE && s->version == 0x0304) {
		walk_handshake(s, d, p, n);
	}
}

/* Decrypts one record with the direction's keys (which exist). */
static void decrypt_one(struct tlssess *s, int dir, uint8_t type, uint16_t version,
                        const uint8_t *frag, size_t len)
{
	struct dirstate *d = &s->d[dir];
	struct tls_engine *e = s->e;
	size_t out_len = 0;
	uint8_t inner = 0;
	enum tlsdec_result r =
	    tlsdec_record(d->dec, type, version, frag, len, e->out, &out_len, &inner);
	if (r == TLSDEC_OK) {
		d->ok++;
		s->meta.records_decrypted++;
		e->stats.records_decrypted++;
		deliver(s, dir, inner, e->out, out_len);
		after_record(s, dir);
		return;
	}
	/* A client record that fails before any handshake record decrypted is
	 * 0-RTT data we have no early secret for: skip it, and start the
	 * handshake keys again at sequence number 0. */
	if (r == TLSDEC_AUTH_FAIL && s->version == 0x0304 && dir == 0 && s->psk &&
	    d->phase == PHASE_HANDSHAKE && d->ok == 0) {
		enum tls_undecrypted why = TLSU_NONE;
		tlsdec_free(d->dec);
		d->dec = NULL;
		if (!key_setup(s, dir, &why))
			set_why(s, why);
		return;
	}
	s->meta.records_failed++;
	if (r == TLSDEC_AUTH_FAIL) {
		e->stats.auth_failures++;
		set_why(s, TLSU_AUTH_FAIL);
	} else {
		set_why(s, r == TLSDEC_UNSUPPORTED ? TLSU_UNSUPPORTED : TLSU_NOT_TLS);
	}
}

/* Records of dir waiting for keys, now that there are keys. */
static void drain(struct tlssess *s, int dir)
{
	struct dirstate *d = &s->d[dir];
	while (d->head && d->dec) {
		struct pend *p = d->head;
		d->head = p->next;
		if (!d->head)
			d->tail = NULL;
		d->pend_bytes -= p->len;
		s->e->stats.pending_now -= p->len;
		decrypt_one(s, dir, p->type, p->version, p->data, p->len);
		free(p);
	}
	waiting_update(s);
}

/* Records of dir are waiting: try the key log again. */
static void retry_dir(struct tlssess *s, int dir)
{
	enum tls_undecrypted why = TLSU_NONE;
	struct dirstate *d = &s->d[dir];
	if (!d->head || !s->meta.seen_server_hello)
		return;
	if (d->dec || key_setup(s, dir, &why))
		drain(s, dir);
	else if (why != TLSU_NO_KEY)
		set_why(s, why);
}

void tls_engine_keys_added(struct tls_engine *e)
{
	for (struct tlssess *s = e->waiting, *next; s; s = next) {
		next = s->pnext;
		retry_dir(s, 0);
		retry_dir(s, 1);
	}
}

static void on_encrypted(struct tlssess *s, int dir, const struct tls_record *rec)
{
	struct dirstate *d = &s->d[dir];
	enum tls_undecrypted why = TLSU_NONE;
	/* 0-RTT data ahead of the ServerHello: no suite known yet, keep it. */
	if (!d->dec && !s->meta.seen_server_hello) {
		pend_add(s, d, rec);
		return;
	}
	if (!d->dec && !key_setup(s, dir, &why)) {
		if (why == TLSU_NO_KEY) {
			pend_add(s, d, rec); /* the key log may still get it */
			return;
		}
		set_why(s, why);
		return;
	}
	drain(s, dir);
	if (d->dec)
		decrypt_one(s, dir, rec->type, rec->version, rec->fragment, rec->length);
	else
		pend_add(s, d, rec);
}

/* ---- tls_conn callbacks ---- */

static void log_handshake(struct tlssess *s, const struct tls_record *rec)
{
	if (s->hs_overflow || (s->version == 0x0304 && s->meta.seen_server_hello))
		return;
	if (!transcript_room(s, rec->length)) {
		s->hs_overflow = true;
		s->e->stats.transcript_overflows++;
		transcript_drop(s);
		return;
	}
	struct buf b = buf_init(rec->fragment, rec->length);
	buf_copy(&b, s->hs_log + s->hs_len, rec->length);
	s->hs_len += rec->length;
}

static void on_record(void *ctx, int dir, const struct tls_record *rec)
{
	struct tlssess *s = ctx;
	/* TLS 1.3's ChangeCipherSpec is only middlebox compatibility (RFC 8446
	 * §D.4): never protected, nothing to decrypt. */
	if (rec->type == CT_CCS)
		return;
	if (rec->encrypted)
		on_encrypted(s, dir, rec);
	else if (rec->type == CT_HANDSHAKE && !s->d[0].dec && !s->d[1].dec)
		log_handshake(s, rec);
}

static void on_client_hello(void *ctx, const struct tls_client_hello *ch)
{
	struct tlssess *s = ctx;
	struct tlsfp fp;
	if (s->meta.seen_client_hello)
		return; /* the second ClientHello after a HelloRetryRequest */
	s->meta.seen_client_hello = true;
	memcpy(s->client_random, ch->h.random, sizeof(s->client_random));
	if (ch->has_sni)
		snprintf(s->meta.sni, sizeof(s->meta.sni), "%s", ch->sni);
	if (tlsfp_compute(ch, &fp) == 0) {
		snprintf(s->meta.ja3, sizeof(s->meta.ja3), "%s", fp.ja3);
		snprintf(s->meta.ja4, sizeof(s->meta.ja4), "%s", fp.ja4);
	}
}

static const char *version_name(uint16_t v)
{
	switch (v) {
	case 0x0300:
		return "SSLv3";
	case 0x0301:
		return "TLSv1.0";
	case 0x0302:
		return "TLSv1.1";
	case 0x0303:
		return "TLSv1.2";
	case 0x0304:
		return "TLSv1.3";
	default:
		return "unknown";
	}
}

static void on_server_hello(void *ctx, const struct tls_server_hello *sh)
{
	struct tlssess *s = ctx;
	if (sh->hello_retry_request)
		return;
	s->meta.seen_server_hello = true;
	memcpy(s->server_random, sh->h.random, sizeof(s->server_random));
	s->version = sh->version;
	s->suite = tls_suite_find(sh->cipher_suite);
	s->etm = sh->h.encrypt_then_mac;
	s->ems = sh->h.extended_master_secret;
	s->psk = sh->has_psk;
	snprintf(s->meta.version, sizeof(s->meta.version), "%s", version_name(sh->version));
	if (s->suite)
		snprintf(s->meta.cipher, sizeof(s->meta.cipher), "%s", s->suite->name);
	else
		snprintf(s->meta.cipher, sizeof(s->meta.cipher), "0x%04x", sh->cipher_suite);
	if (sh->has_alpn && sh->alpn_len < sizeof(s->meta.alpn)) {
		memcpy(s->meta.alpn, sh->alpn, sh->alpn_len);
		s->meta.alpn[sh->alpn_len] = '\0';
		s->h2 = strcmp(s->meta.alpn, "h2") == 0;
	}
	/* With the master secret in the key log already, no transcript is
	 * needed (live, a secret written later still finds the log). */
	uint8_t ms[KEYLOG_SECRET_MAX];
	size_t msl = 0;
	if (s->version != 0x0304 && s->e->kl &&
	    keylog_lookup(s->e->kl, s->client_random, KEYLOG_CLIENT_RANDOM, ms, &msl)) {
		memset(ms, 0, sizeof(ms));
		transcript_drop(s);
		s->hs_overflow = true; /* nothing more to log */
	}
	if (s->version == 0x0304)
		transcript_drop(s);
	/* 0-RTT records the client sent before this hello: with the early
	 * secret they decrypt, else they are skipped. */
	struct dirstate *c = &s->d[0];
	if (c->head && s->version == 0x0304) {
		enum tls_undecrypted why = TLSU_NONE;
		c->phase = PHASE_EARLY;
		if (key_setup(s, 0, &why)) {
			drain(s, 0);
			tlsdec_free(c->dec);
			c->dec = NULL;
		}
		pend_clear(s, c);
		c->phase = PHASE_NONE;
	}
}

static const struct tls_ops sess_ops = {
    .record = on_record,
    .client_hello = on_client_hello,
    .server_hello = on_server_hello,
};

/* ---- the session ---- */

struct tlssess *tlssess_new(struct tls_engine *e, tlssess_plain_fn fn, void *ctx)
{
	struct tlssess *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->conn = tls_conn_new();
	if (!s->conn) {
		free(s);
		return NULL;
	}
	tls_conn_set_budget(s->conn, &e->partial);
	s->e = e;
	s->fn = fn;
	s->ctx = ctx;
	e->stats.sessions++;
	return s;
}

void tlssess_data(struct tlssess *s, int dir, const uint8_t *p, size_t n)
{
	if (s->finished || tls_conn_given_up(s->conn, dir))
		return;
	if (tls_conn_feed(s->conn, dir, p, n, &sess_ops, s) == TLS_GIVE_UP)
		set_why(s, TLSU_NOT_TLS);
}

void tlssess_gap(struct tlssess *s, int dir)
{
	if (s->finished)
		return;
	tls_conn_gap(s->conn, dir, &sess_ops, s);
	set_why(s, TLSU_GAP);
}

void tlssess_finish(struct tlssess *s)
{
	if (s->finished)
		return;
	/* A key written since the last record still counts. */
	retry_dir(s, 0);
	retry_dir(s, 1);
	s->finished = true;
	for (int dir = 0; dir < 2; dir++) {
		if (s->d[dir].head)
			set_why(s, TLSU_NO_KEY);
		pend_clear(s, &s->d[dir]);
	}
	waiting_update(s);
	if (!s->meta.seen_server_hello && !s->meta.decrypted)
		set_why(s, TLSU_NO_HANDSHAKE);
	struct tls_engine_stats *st = &s->e->stats;
	if (s->meta.decrypted)
		st->decrypted_sessions++;
	else
		st->undecrypted[s->meta.why <= TLSU_NOT_TLS ? s->meta.why : TLSU_NOT_TLS]++;
	if (s->h2)
		st->h2_sessions++;
}

const struct tls_meta *tlssess_meta(const struct tlssess *s)
{
	return &s->meta;
}

void tlssess_free(struct tlssess *s)
{
	if (!s)
		return;
	tlssess_finish(s);
	for (int dir = 0; dir < 2; dir++)
		tlsdec_free(s->d[dir].dec);
	transcript_drop(s);
	tls_conn_free(s->conn);
	free(s);
}
