/*
 * http.c — HTTP/1.x transactions on a reassembled TCP connection, through
 * libhtp 0.5.x; the contract is in http.h, this is how it is kept.
 *
 * References: RFC 9112 (HTTP/1.1: §3 request line, §4 status line, §6.3
 * message body length and which responses have none, §7.1 chunked coding,
 * §9.3 persistence and pipelining); RFC 9110 §10.1.1
 * (Expect: 100-continue), §15.2 (1xx); libhtp 0.5.42 (OISF) headers and
 * behaviour, which this file was checked against:
 *
 *   - request_headers fires once the header block is parsed, before any body
 *     byte; body hooks get de-chunked (and, for responses, decompressed)
 *     data; transaction_complete fires when both halves are complete, and
 *     with tx_auto_destroy the transaction is destroyed right after it;
 *   - a gap (data == NULL, len > 0) is accepted only inside an identity
 *     (Content-Length or close-delimited) body.  Anywhere else libhtp logs
 *     "Gaps are not allowed during this state" and keeps its state, so the
 *     bytes after the gap would be parsed as if they followed the last byte
 *     seen.  A gap that runs past the end of a body gets the same error for
 *     the part beyond it, and a gap inside a gzip/deflate body is handed to
 *     the decompressor as end-of-stream and wrecks the direction;
 *   - the header line hard limit and the header count limit are fatal for
 *     the direction (HTP_STREAM_ERROR: libhtp refuses all later data); the
 *     soft limit is not enforced or flagged by 0.5.42, so it is checked here;
 *   - a destroyed transaction leaves a NULL slot in conn->transactions: the
 *     list grows by one pointer per transaction for the life of the
 *     connection parser, and removing a transaction scans it linearly;
 *   - a response that matches no request gets a transaction of its own
 *     (request_uri "/libhtp::request_uri_not_seen") without request_headers;
 *   - repeated headers are folded into one value, comma-separated;
 *   - a 1xx/204/304 response that carries Content-Length or
 *     Transfer-Encoding gets a body of that length (libhtp follows browsers
 *     here, not RFC 9112 §6.3 rule 1, and logs a warning); 304 without
 *     them, and every response to HEAD, has none;
 *   - an interim 100 response is consumed by libhtp without a
 *     response_headers callback; the final response gets it.
 *
 * What this file does about them:
 *
 *   gap inside an identity body    handed to libhtp as a gap, cut at the
 *                                  body's end; parsing goes on.
 *   gap in a direction at rest     (between messages) that direction hunts
 *                                  for its next start line; the parser is
 *                                  kept, since the other direction may be in
 *                                  the middle of a message that is intact.
 *   any other gap, or a fatal      the parser is replaced: every open
 *   libhtp error                   transaction gets TX_DONE, a new connp is
 *                                  made, and each direction that was not at
 *                                  rest (and the one that failed) hunts.
 *
 *   Hunting skips bytes until a start line begins at the start of a line
 *   (the first byte after a gap counts as one, since segments are usually
 *   lost whole): client side, a method token of [A-Z_]{3,24} followed by SP
 *   and a visible byte; server side, "HTTP/1.".  Skipped bytes are counted
 *   in skipped_bytes, the lost ones (the gap itself) are not; each event
 *   that starts a hunt or replaces the parser counts one resync, a further
 *   gap during a hunt does not.  Bytes libhtp will not take while it waits
 *   for the other direction (HTP_STREAM_DATA_OTHER, CONNECT only) are
 *   skipped the same way rather than buffered.
 *
 *   A lost request is invisible to the pairing: after a client-side gap
 *   the next response pairs with the next request libhtp sees, which may
 *   not be the one it answers.  Nothing on the wire says otherwise.
 *
 *   A message whose header block hit a cap is still reported with what
 *   libhtp parsed before it gave up (REQUEST_HEADERS / RESPONSE_HEADERS
 *   salvaged), counted in header_cap.  parse_errors counts libhtp messages
 *   of level ERROR (or one per fatal return without such a message); the
 *   complaints libhtp makes about a gap it was handed, or about a
 *   connection freed without FIN, are not counted.

 *   Parser lifetime: when the direction pair is at rest and the
 *   transaction list holds RECYCLE_TXS slots, the connp is replaced silently
 *   (nothing is in flight, so nothing is lost); when more than
 *   HTP_LIVE_MAX libhtp transactions are alive at once (a client that
 *   pipelines forever, or responses that never come), the parser is reset
 *   as after an error.  Memory per connection is therefore bounded however
 *   long a keep-alive connection lives.
 *
 * Invariants:
 *   - a slot in c->slot[] is used iff its transaction got REQUEST_HEADERS
 *     and not yet TX_DONE; a used slot's htx has user_data pointing back at
 *     the slot, and no other libhtp transaction points at a slot;
 *   - tx_index values are handed out in order from c->next_index and never
 *     reused on a connection, across parser replacements;
 *   - libhtp is never re-entered and the connp never replaced from inside a
 *     libhtp callback: replacement happens only in the top-level entry
 *     points, after libhtp has returned;
 *   - htp_done counts transactions libhtp completed (and so destroyed) on the
 *     current connp, so list size - htp_done is the number alive in libhtp.
 *
 * Ownership: the engine owns the libhtp configuration and the stats; a
 * connection owns its connp, its copies of the address strings and the
 * hunting carry buffer (at most HUNT_CAND_MAX bytes of a possible start
 * line, copied).  No pointer into caller data survives a call.  Events and
 * http_tx pointers are borrowed for the duration of the callback.  An
 * engine and its connections belong to one thread: the stats are plain
 * counters.
 */
#include <htp/htp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "buf.h"
#include "http.h"
#include "mdm_limits.h"

/* Longest method token accepted as the start of a request line while
 * hunting ("RPC_OUT_DATA" is 12; WebDAV and Exchange methods are shorter). */
#define HUNT_METHOD_MAX 24u
/* A candidate start line is decided within this many bytes. */
#define HUNT_CAND_MAX (HUNT_METHOD_MAX + 2u)

/* Transaction list slots (8 bytes each, see above) after which a connp at
 * rest is replaced: a few KiB, and the linear scan on each destroy stays
 * short. */
#define RECYCLE_TXS 256u
/* libhtp transactions alive at once before the connp is reset.  Twice the
 * consumer-visible cap, so that the in-flight policy (close the oldest)
 * acts first and this only bounds what that policy cannot free. */
#define HTP_LIVE_MAX (2u * LIMIT_HTTP_TX_IN_FLIGHT)

#define US_PER_S 1000000u

static const char http_status_prefix[] = "HTTP/1.";

struct http_engine {
	htp_cfg_t *cfg;
	struct http_stats stats;
};

/* One open transaction as the consumer sees it: a slot in the connection. */
struct http_tx {
	htp_tx_t *htx;
	uint64_t index;
	uint64_t body[2]; /* body bytes delivered, per direction */
	bool used;
	bool res_headers; /* RESPONSE_HEADERS emitted */
};

/* Looking for the next start line in one direction. */
struct hunt {
	bool on;
	bool bol;        /* the next byte starts a line */
	bool in_cand;    /* a candidate start line is being read */
	bool sp;         /* candidate: past the method's SP */
	size_t cand_len; /* candidate bytes so far, carried ones included */
	size_t pend_len; /* candidate bytes carried from earlier chunks */
	uint8_t pend[HUNT_CAND_MAX];
};

struct http_conn {
	struct http_engine *e;
	htp_connp_t *connp;
	char *client_ip, *server_ip;
	uint16_t client_port, server_port;
	http_event_fn fn;
	void *ctx;

	uint64_t now_us;
	uint64_t next_index;
	uint64_t htp_done;
	uint64_t errs; /* libhtp errors logged during the current call */
	bool quiet;    /* feeding a gap: libhtp's gap complaints are expected */
	bool ended[2];
	bool closed; /* htp_connp_close() done */
	unsigned live;
	struct hunt hunt[2];
	struct http_tx slot[LIMIT_HTTP_TX_IN_FLIGHT];
};

static htp_time_t to_tv(uint64_t us)
{
	htp_time_t tv = {
	    .tv_sec = (time_t)(us / US_PER_S),
	    .tv_usec = (suseconds_t)(us % US_PER_S),
	};
	return tv;
}

/*
 * Events and transaction slots.
 */

static void emit(struct http_conn *c, enum http_event_kind kind, const struct http_tx *t,
                 const uint8_t *data, size_t len)
{
	struct http_event ev = {
	    .kind = kind,
	    .tx_index = t->index,
	    .ts_us = c->now_us,
	    .tx = t,
	    .data = data,
	    .len = len,
	};
	c->fn(c->ctx, &ev);
}

static void tx_done(struct http_conn *c, struct http_tx *t)
{
	emit(c, HTTP_TX_DONE, t, NULL, 0);
	htp_tx_set_user_data(t->htx, NULL);
	*t = (struct http_tx){0};
	c->live--;
}

static struct http_tx *tx_oldest(struct http_conn *c)
{
	struct http_tx *old = NULL;

	for (size_t i = 0; i < LIMIT_HTTP_TX_IN_FLIGHT; i++) {
		struct http_tx *t = &c->slot[i];
		if (t->used && (!old || t->index < old->index))
			old = t;
	}
	return old;
}

/* Every open transaction gets TX_DONE, oldest first. */
static void tx_close_all(struct http_conn *c)
{
	struct http_tx *t;

	while ((t = tx_oldest(c)))
		tx_done(c, t);
}

/* A slot for a new transaction; when all are taken the oldest is closed
 * early (LIMIT_HTTP_TX_IN_FLIGHT policy). */
static struct http_tx *tx_slot(struct http_conn *c)
{
	if (c->live == LIMIT_HTTP_TX_IN_FLIGHT) {
		tx_done(c, tx_oldest(c));
		c->e->stats.tx_cap++;
	}
	for (size_t i = 0; i < LIMIT_HTTP_TX_IN_FLIGHT; i++) {
		if (!c->slot[i].used)
			return &c->slot[i];
	}
	return NULL; /* not reached: live < cap means a free slot */
}

/* True when a header line of this message is over the soft limit, which
 * libhtp 0.5.42 does not check (the name, ": " and the value). */
static bool over_soft_limit(const htp_table_t *headers)
{
	size_t n = headers ? htp_table_size(headers) : 0;

	for (size_t i = 0; i < n; i++) {
		const htp_header_t *h = htp_table_get_index(headers, i, NULL);
		if (!h || !h->name || !h->value)
			continue;
		if (bstr_len(h->name) + 2 + bstr_len(h->value) > LIMIT_HTTP_HEADER_LINE_SOFT)
			return true;
	}
	return false;
}

static struct http_conn *conn_of(const htp_connp_t *connp)
{
	return htp_connp_get_user_data(connp);
}

/* Opens a transaction for the consumer: REQUEST_HEADERS.  `capped`: the
 * header block was cut by a cap. */
static void tx_open(struct http_conn *c, htp_tx_t *htx, bool capped)
{
	struct http_tx *t = tx_slot(c);

	if (!t)
		return;
	*t = (struct http_tx){.htx = htx, .index = c->next_index++, .used = true};
	c->live++;
	htp_tx_set_user_data(htx, t);
	c->e->stats.transactions++;
	if (capped || (htx->flags & HTP_HEADERS_TOO_MANY) || over_soft_limit(htx->request_headers))
		c->e->stats.header_cap++;
	emit(c, HTTP_REQUEST_HEADERS, t, NULL, 0);
}

static void tx_response(struct http_conn *c, struct http_tx *t)
{
	const htp_tx_t *htx = t->htx;

	t->res_headers = true;
	if (over_soft_limit(htx->response_headers))
		c->e->stats.header_cap++;
	emit(c, HTTP_RESPONSE_HEADERS, t, NULL, 0);
}

/*
 * libhtp callbacks.  They only emit events and update slots; they never
 * touch the connp.
 */

static int on_request_headers(htp_tx_t *htx)
{
	struct http_conn *c = conn_of(htx->connp);

	if (c && !htp_tx_get_user_data(htx))
		tx_open(c, htx, false);
	return HTP_OK;
}

static int on_response_headers(htp_tx_t *htx)
{
	struct http_conn *c = conn_of(htx->connp);
	struct http_tx *t = htp_tx_get_user_data(htx);

	if (c && t && !t->res_headers)
		tx_response(c, t);
	return HTP_OK;
}

static void on_body(htp_tx_data_t *d, int dir)
{
	struct http_conn *c = conn_of(d->tx->connp);
	struct http_tx *t = htp_tx_get_user_data(d->tx);

	/* NULL data is a gap (len > 0) or the end-of-body marker (len 0). */
	if (!c || !t || !d->data || d->len == 0)
		return;
	uint64_t room =
	    LIMIT_HTTP_BODY_BYTES -
	    (t->body[dir] < LIMIT_HTTP_BODY_BYTES ? t->body[dir] : LIMIT_HTTP_BODY_BYTES);
	size_t n = d->len <= room ? d->len : (size_t)room;

	c->e->stats.body_truncated += d->len - n;
	if (n == 0)
		return;
	t->body[dir] += n;
	emit(c, dir ? HTTP_RESPONSE_BODY : HTTP_REQUEST_BODY, t, d->data, n);
}

static int on_request_body(htp_tx_data_t *d)
{
	on_body(d, 0);
	return HTP_OK;
}

static int on_response_body(htp_tx_data_t *d)
{
	on_body(d, 1);
	return HTP_OK;
}

static int on_tx_complete(htp_tx_t *htx)
{
	struct http_conn *c = conn_of(htx->connp);
	struct http_tx *t = htp_tx_get_user_data(htx);

	if (!c)
		return HTP_OK;
	c->htp_done++; /* tx_auto_destroy frees it when we return */
	if (t)
		tx_done(c, t);
	return HTP_OK;
}

static int on_log(htp_log_t *log)
{
	struct http_conn *c = log->connp ? conn_of(log->connp) : NULL;

	if (c && !c->quiet && log->level <= HTP_LOG_ERROR)
		c->errs++;
	return HTP_OK;
}

/*
 * The engine.
 */

struct http_engine *http_engine_new(void)
{
	struct http_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->cfg = htp_config_create();
	if (!e->cfg)
		goto fail;
	/* Personality first: it resets the decoder settings made before it. */
	if (htp_config_set_server_personality(e->cfg, HTP_SERVER_IIS_7_5) != HTP_OK)
		goto fail;
	htp_config_set_field_limits(e->cfg, LIMIT_HTTP_HEADER_LINE_SOFT,
	                            LIMIT_HTTP_HEADER_LINE_HARD);
	htp_config_set_number_headers_limit(e->cfg, LIMIT_HTTP_HEADERS);
	htp_config_set_response_decompression(e->cfg, 1);
	htp_config_set_tx_auto_destroy(e->cfg, 1);
	/* Identity is the dissectors' job; libhtp need not keep passwords. */
	htp_config_set_parse_request_auth(e->cfg, 0);
	htp_config_set_parse_request_cookies(e->cfg, 0);
	htp_config_register_request_headers(e->cfg, on_request_headers);
	htp_config_register_request_body_data(e->cfg, on_request_body);
	htp_config_register_response_headers(e->cfg, on_response_headers);
	htp_config_register_response_body_data(e->cfg, on_response_body);
	htp_config_register_transaction_complete(e->cfg, on_tx_complete);
	htp_config_register_log(e->cfg, on_log);
	return e;
fail:
	http_engine_free(e);
	return NULL;
}

void http_engine_free(struct http_engine *e)
{
	if (!e)
		return;
	if (e->cfg)
		htp_config_destroy(e->cfg);
	free(e);
}

const struct http_stats *http_engine_stats(const struct http_engine *e)
{
	return &e->stats;
}

/*
 * Connection parser lifetime.
 */

static htp_connp_t *connp_new(struct http_conn *c)
{
	htp_connp_t *connp = htp_connp_create(c->e->cfg);
	htp_time_t tv = to_tv(c->now_us);

	if (!connp)
		return NULL;
	htp_connp_set_user_data(connp, c);
	htp_connp_open(connp, c->client_ip, c->client_port, c->server_ip, c->server_port, &tv);
	return connp;
}

/* A direction is at rest when no message of it is partly parsed. */
static bool dir_at_rest(const struct http_conn *c, int dir)
{
	if (!c->connp)
		return true;
	if (dir == 0) {
		const htp_tx_t *t = htp_connp_get_in_tx(c->connp);
		return !t || t->request_progress == HTP_REQUEST_COMPLETE;
	}
	const htp_tx_t *t = htp_connp_get_out_tx(c->connp);
	return !t || t->response_progress == HTP_RESPONSE_COMPLETE;
}

static void hunt_start(struct http_conn *c, int dir)
{
	c->hunt[dir] = (struct hunt){.on = true, .bol = true};
}

/*
 * Replaces the connp.  Directions in `mask` (bit per direction) and those
 * in the middle of a message hunt for their next start line.  Every open
 * transaction is closed first, while libhtp still holds it.
 */
static void conn_replace(struct http_conn *c, unsigned mask)
{
	bool busy[2] = {!dir_at_rest(c, 0), !dir_at_rest(c, 1)};

	tx_close_all(c);
	htp_connp_destroy_all(c->connp);
	c->htp_done = 0;
	c->connp = connp_new(c);
	for (int dir = 0; dir < 2; dir++) {
		if (((mask >> dir) & 1u) || busy[dir])
			hunt_start(c, dir);
	}
}

static void conn_resync(struct http_conn *c, unsigned mask)
{
	c->e->stats.resyncs++;
	conn_replace(c, mask);
}

/* Called after every top-level operation, outside libhtp. */
static void conn_maintain(struct http_conn *c)
{
	if (!c->connp || c->closed)
		return;
	const htp_conn_t *conn = htp_connp_get_connection(c->connp);
	size_t n = htp_list_size(conn->transactions);

	if (n > c->htp_done && n - c->htp_done > HTP_LIVE_MAX)
		conn_resync(c, 0);
	else if (n >= RECYCLE_TXS && c->live == 0 && dir_at_rest(c, 0) && dir_at_rest(c, 1))
		conn_replace(c, 0);
}

/*
 * A message cut by a fatal error still reaches the consumer with what libhtp
 * parsed of it.  Errors during the start line or header block are the
 * header caps (the only fatal errors libhtp raises there).
 */
static void salvage(struct http_conn *c, int dir)
{
	htp_tx_t *htx = dir ? htp_connp_get_out_tx(c->connp) : htp_connp_get_in_tx(c->connp);

	if (!htx)
		return;
	if (dir == 0) {
		if (htx->request_progress != HTP_REQUEST_LINE &&
		    htx->request_progress != HTP_REQUEST_HEADERS)
			return;
		if (htx->request_method && htx->request_uri && !htp_tx_get_user_data(htx))
			tx_open(c, htx, true);
		else
			c->e->stats.header_cap++;
		return;
	}
	if (htx->response_progress != HTP_RESPONSE_LINE &&
	    htx->response_progress != HTP_RESPONSE_HEADERS)
		return;
	c->e->stats.header_cap++;
	struct http_tx *t = htp_tx_get_user_data(htx);
	if (t && !t->res_headers && htx->response_status_number > 0)
		tx_response(c, t);
}

/*
 * Feeding libhtp.
 */

static int htp_feed(struct http_conn *c, int dir, const uint8_t *p, size_t n)
{
	htp_time_t tv = to_tv(c->now_us);
	int rc;

	c->errs = 0;
	if (dir == 0)
		rc = htp_connp_req_data(c->connp, &tv, p, n);
	else
		rc = htp_connp_res_data(c->connp, &tv, p, n);
	if (rc == HTP_STREAM_ERROR && c->errs == 0)
		c->errs = 1;
	c->e->stats.parse_errors += c->errs;
	return rc;
}

/*
 * Feeds n bytes (n > 0) to libhtp.  Returns true when they were all taken;
 * false after a fatal error, with *ret_used set to the bytes libhtp took
 * (at least 1, so the caller always moves on) and the parser replaced.
 */
static bool feed(struct http_conn *c, int dir, const uint8_t *p, size_t n, size_t *ret_used)
{
	int rc = htp_feed(c, dir, p, n);

	if (rc != HTP_STREAM_ERROR && rc != HTP_STREAM_DATA_OTHER)
		return true;
	size_t used =
	    dir ? htp_connp_res_data_consumed(c->connp) : htp_connp_req_data_consumed(c->connp);
	if (used > n)
		used = n;
	if (rc == HTP_STREAM_DATA_OTHER) {
		/* libhtp waits for the other direction (CONNECT): what it did
		 * not take is dropped and the direction hunts. */
		c->e->stats.skipped_bytes += n - used;
		if (used < n) {
			c->e->stats.resyncs++;
			hunt_start(c, dir);
		}
		return true;
	}
	if (used == 0)
		used = 1;
	salvage(c, dir);
	conn_resync(c, 1u << dir);

	struct buf b = buf_init(p, n);
	buf_skip(&b, used - 1);
	c->hunt[dir].bol = buf_u8(&b) == '\n';
	*ret_used = used;
	return false;
}

/*
 * Hunting for the next start line (RFC 9112 §3 request-line, §4
 * status-line).  Bytes are read through the cursor; a candidate that runs
 * over a chunk boundary is carried in hunt->pend.
 */

enum hunt_verdict {
	HUNT_MORE,
	HUNT_MATCH,
	HUNT_FAIL,
};

static bool is_method_char(uint8_t ch)
{
	return (ch >= 'A' && ch <= 'Z') || ch == '_';
}

/* ch is byte number pos (from 0) of the candidate. */
static enum hunt_verdict hunt_step(struct hunt *h, int dir, size_t pos, uint8_t ch)
{
	if (dir == 1) {
		if (ch != (uint8_t)http_status_prefix[pos])
			return HUNT_FAIL;
		return pos + 1 == sizeof(http_status_prefix) - 1 ? HUNT_MATCH : HUNT_MORE;
	}
	if (!h->sp) {
		if (is_method_char(ch) && pos < HUNT_METHOD_MAX)
			return HUNT_MORE;
		if (ch == ' ' && pos >= 3) {
			h->sp = true;
			return HUNT_MORE;
		}
		return HUNT_FAIL;
	}
	return ch > ' ' && ch < 0x7f ? HUNT_MATCH : HUNT_FAIL;
}

/* Puts the cursor back at offset `off` of its bytes. */
static void buf_seek(struct buf *b, size_t off)
{
	struct buf nb = buf_init(b->data, b->len);

	buf_skip(&nb, off);
	*b = nb;
}

/* Drops a candidate that will never complete; its bytes were skipped. */
static void hunt_drop(struct http_conn *c, struct hunt *h)
{
	c->e->stats.skipped_bytes += h->cand_len;
	h->in_cand = false;
	h->cand_len = 0;
	h->pend_len = 0;
}

/* Keeps the candidate's bytes of this chunk, [from, end of cursor). */
static void hunt_carry(struct http_conn *c, struct hunt *h, const struct buf *b, size_t from)
{
	struct buf t = buf_init(b->data, b->len);
	size_t n = buf_offset(b) - from;

	if (h->pend_len + n > sizeof(h->pend) || !buf_skip(&t, from) ||
	    !buf_copy(&t, h->pend + h->pend_len, n)) {
		hunt_drop(c, h);
		return;
	}
	h->pend_len += n;
}

/*
 * Scans for a start line.  On a match returns true with the cursor at the
 * match's first byte in this chunk (or at the chunk's first unread byte
 * when the match began in an earlier chunk and sits in hunt->pend).
 */
static bool hunt_scan(struct http_conn *c, int dir, struct buf *b)
{
	struct hunt *h = &c->hunt[dir];
	size_t cand_off = buf_offset(b);

	while (buf_left(b) > 0) {
		uint8_t ch = buf_u8(b);

		if (!h->in_cand) {
			if (!h->bol) {
				h->bol = ch == '\n';
				c->e->stats.skipped_bytes++;
				continue;
			}
			*h = (struct hunt){.on = true, .in_cand = true};
			cand_off = buf_offset(b) - 1;
		}
		enum hunt_verdict v = hunt_step(h, dir, h->cand_len, ch);
		h->cand_len++;
		if (v == HUNT_MATCH) {
			h->on = false;
			h->in_cand = false;
			buf_seek(b, cand_off);
			return true;
		}
		if (v == HUNT_FAIL) {
			hunt_drop(c, h);
			h->bol = ch == '\n';
		}
	}
	if (h->in_cand)
		hunt_carry(c, h, b, cand_off);
	return false;
}

/*
 * Data and gaps.
 */

static void conn_data(struct http_conn *c, int dir, const uint8_t *data, size_t len)
{
	struct buf b = buf_init(data, len);
	struct hunt *h = &c->hunt[dir];

	while (c->connp && buf_left(&b) > 0) {
		size_t used = 0;

		if (h->on && !hunt_scan(c, dir, &b))
			return;
		if (h->pend_len > 0) {
			uint8_t pre[HUNT_CAND_MAX];
			size_t n = h->pend_len;

			memcpy(pre, h->pend, n);
			h->pend_len = 0;
			h->cand_len = 0;
			if (!feed(c, dir, pre, n, &used)) {
				c->e->stats.skipped_bytes += n - used;
				continue;
			}
		}
		if (buf_left(&b) == 0)
			return;
		if (feed(c, dir, buf_rest(&b), buf_left(&b), &used))
			return;
		buf_skip(&b, used);
	}
}

/* Identity body bytes libhtp still expects in direction dir: 0 when it is
 * not in a body it can take a gap in, UINT64_MAX until the connection
 * closes. */
static uint64_t body_room(const struct http_conn *c, int dir)
{
	if (dir == 0) {
		const htp_tx_t *t = htp_connp_get_in_tx(c->connp);
		if (!t || t->request_progress != HTP_REQUEST_BODY ||
		    t->request_transfer_coding != HTP_CODING_IDENTITY ||
		    t->request_content_length <= t->request_entity_len)
			return 0;
		return (uint64_t)(t->request_content_length - t->request_entity_len);
	}
	const htp_tx_t *t = htp_connp_get_out_tx(c->connp);
	if (!t || t->response_progress != HTP_RESPONSE_BODY ||
	    t->response_transfer_coding != HTP_CODING_IDENTITY ||
	    t->response_content_encoding_processing != HTP_COMPRESSION_NONE)
		return 0;
	if (t->response_content_length < 0)
		return UINT64_MAX;
	if (t->response_content_length <= t->response_message_len)
		return 0;
	return (uint64_t)(t->response_content_length - t->response_message_len);
}

static void conn_gap(struct http_conn *c, int dir, uint64_t n)
{
	struct hunt *h = &c->hunt[dir];

	if (h->on) {
		hunt_drop(c, h);
		hunt_start(c, dir);
		return;
	}
	if (dir_at_rest(c, dir)) {
		c->e->stats.resyncs++;
		hunt_start(c, dir);
		return;
	}
	uint64_t take = body_room(c, dir);
	if (take == 0) {
		conn_resync(c, 1u << dir);
		return;
	}
	if (take > n)
		take = n;
	if (take > SIZE_MAX)
		take = SIZE_MAX;
	c->quiet = true;
	int rc = htp_feed(c, dir, NULL, (size_t)take);
	c->quiet = false;
	if (rc == HTP_STREAM_ERROR) {
		conn_resync(c, 1u << dir);
	} else if (n > take) {
		/* The gap ran past the body: the next message's start is lost. */
		if (dir_at_rest(c, dir)) {
			c->e->stats.resyncs++;
			hunt_start(c, dir);
		} else {
			conn_resync(c, 1u << dir);
		}
	}
}

/*
 * Connections.
 */

struct http_conn *http_conn_new(struct http_engine *e, const char *client_ip, uint16_t client_port,
                                const char *server_ip, uint16_t server_port, uint64_t ts_us,
                                http_event_fn fn, void *ctx)
{
	struct http_conn *c;

	if (!e || !fn)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->e = e;
	c->fn = fn;
	c->ctx = ctx;
	c->now_us = ts_us;
	c->client_port = client_port;
	c->server_port = server_port;
	c->client_ip = strdup(client_ip ? client_ip : "");
	c->server_ip = strdup(server_ip ? server_ip : "");
	if (!c->client_ip || !c->server_ip)
		goto fail;
	c->connp = connp_new(c);
	if (!c->connp)
		goto fail;
	return c;
fail:
	free(c->client_ip);
	free(c->server_ip);
	free(c);
	return NULL;
}

static bool conn_open_dir(const struct http_conn *c, int dir)
{
	return c && (dir == 0 || dir == 1) && !c->ended[dir] && !c->closed;
}

void http_conn_data(struct http_conn *c, int dir, uint64_t ts_us, const uint8_t *data, size_t len)
{
	if (!conn_open_dir(c, dir) || !data || len == 0)
		return;
	c->now_us = ts_us;
	conn_data(c, dir, data, len);
	conn_maintain(c);
}

void http_conn_gap(struct http_conn *c, int dir, uint64_t ts_us, uint64_t n)
{
	if (!conn_open_dir(c, dir) || n == 0 || !c->connp)
		return;
	c->now_us = ts_us;
	conn_gap(c, dir, n);
	conn_maintain(c);
}

/* Closes libhtp's side of direction dir (both when dir is 1: libhtp has no
 * response-only close, and a server that closed has finished answering). */
static void conn_close_htp(struct http_conn *c, int dir)
{
	htp_time_t tv = to_tv(c->now_us);

	if (!c->connp || c->closed)
		return;
	c->errs = 0;
	if (dir == 0) {
		htp_connp_req_close(c->connp, &tv);
	} else {
		htp_connp_close(c->connp, &tv);
		c->closed = true;
	}
	c->e->stats.parse_errors += c->errs;
}

void http_conn_end(struct http_conn *c, int dir, uint64_t ts_us)
{
	if (!conn_open_dir(c, dir))
		return;
	c->now_us = ts_us;
	c->ended[dir] = true;
	if (c->hunt[dir].on)
		hunt_drop(c, &c->hunt[dir]);
	conn_close_htp(c, c->ended[0] && c->ended[1] ? 1 : dir);
}

void http_conn_free(struct http_conn *c)
{
	if (!c)
		return;
	for (int dir = 0; dir < 2; dir++) {
		if (c->hunt[dir].on)
			hunt_drop(c, &c->hunt[dir]);
	}
	/* A connection dropped without FIN: what libhtp can still finish (a
	 * close-delimited body) is finished; its complaints about the cut
	 * are not parse errors. */
	c->quiet = true;
	conn_close_htp(c, 1);
	tx_close_all(c);
	htp_connp_destroy_all(c->connp);
	free(c->client_ip);
	free(c->server_ip);
	free(c);
}

/*
 * Accessors.
 */

static bool bstr_out(const bstr *s, const char **ret, size_t *ret_len)
{
	if (!s)
		return false;
	*ret = (const char *)bstr_ptr(s);
	*ret_len = bstr_len(s);
	return true;
}

bool http_tx_method(const struct http_tx *tx, const char **ret, size_t *ret_len)
{
	return tx && tx->htx && bstr_out(tx->htx->request_method, ret, ret_len);
}

bool http_tx_uri(const struct http_tx *tx, const char **ret, size_t *ret_len)
{
	return tx && tx->htx && bstr_out(tx->htx->request_uri, ret, ret_len);
}

/* libhtp folds a repeated header into one comma-separated value (RFC 9110
 * §5.3); the raw lines are gone, so that combined value is what is
 * returned. */
bool http_tx_header(const struct http_tx *tx, int dir, const char *name, const char **ret,
                    size_t *ret_len)
{
	if (!tx || !tx->htx || !name)
		return false;
	const htp_table_t *table = dir ? tx->htx->response_headers : tx->htx->request_headers;
	if (!table)
		return false;
	const htp_header_t *h = htp_table_get_c(table, name);
	return h && bstr_out(h->value, ret, ret_len);
}

int http_tx_status(const struct http_tx *tx)
{
	if (!tx || !tx->htx || !tx->res_headers)
		return 0;
	return tx->htx->response_status_number > 0 ? tx->htx->response_status_number : 0;
}

bool http_tx_protocol(const struct http_tx *tx, const char **ret, size_t *ret_len)
{
	return tx && tx->htx && bstr_out(tx->htx->request_protocol, ret, ret_len);
}
