/*
 * fuzz_http.c — HTTP/1.x on a reassembled connection (sensor/http.h,
 * libhtp underneath).
 *
 * Input: fuzz_split.h's layout (control byte, client byte count, client
 * bytes, server bytes).  The two streams go through a fresh http_conn three
 * times: each whole, in chunks of 1..64 bytes interleaved, and in chunks
 * with about one in eight lost (http_conn_gap).  Control byte bit 7 ends
 * both directions (http_conn_end) before the connection is freed.
 *
 * Checked (http.h, the contract test_http.c checks too): tx_index counts
 * up from 0 in REQUEST_HEADERS order; no event for a transaction before its
 * REQUEST_HEADERS or after its TX_DONE; at most one RESPONSE_HEADERS per
 * transaction; body chunks are non-empty and a message's body delivered
 * stays within LIMIT_HTTP_BODY_BYTES; every transaction that got
 * REQUEST_HEADERS gets exactly one TX_DONE, at the latest from
 * http_conn_free().  The accessors are called in every callback and what
 * they return is read whole (for the sanitizers).
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "fuzz_split.h"
#include "http.h"
#include "mdm_limits.h"

/* Transactions tracked per connection; a 64 KiB input holds fewer. */
#define TX_TRACK 8192u

enum { TX_OPEN = 1, TX_RESP = 2, TX_DONE = 4 };

struct sink {
	struct http_conn *c;
	uint64_t next_index;
	uint8_t state[TX_TRACK];
	uint64_t body[TX_TRACK][2];
	uint32_t sum;
	uint64_t ts;
};

static void touch(struct sink *s, const char *p, size_t n, bool ok)
{
	struct buf b;

	if (!ok)
		return;
	FUZZ_CHECK(n == 0 || p != NULL);
	b = buf_init(p, n);
	while (buf_left(&b) > 0)
		s->sum += buf_u8(&b);
}

static void use_accessors(struct sink *s, const struct http_tx *tx)
{
	const char *p = NULL;
	size_t n = 0;
	bool ok;

	ok = http_tx_method(tx, &p, &n);
	touch(s, p, n, ok);
	ok = http_tx_uri(tx, &p, &n);
	touch(s, p, n, ok);
	ok = http_tx_protocol(tx, &p, &n);
	touch(s, p, n, ok);
	for (int dir = 0; dir < 2; dir++) {
		ok = http_tx_header(tx, dir, "host", &p, &n);
		touch(s, p, n, ok);
		ok = http_tx_header(tx, dir, "Content-Type", &p, &n);
		touch(s, p, n, ok);
	}
	ok = http_tx_header(tx, 0, "Authorization", &p, &n);
	touch(s, p, n, ok);
	FUZZ_CHECK(http_tx_status(tx) >= 0);
}

static void on_event(void *ctx, const struct http_event *ev)
{
	struct sink *s = ctx;
	uint64_t i = ev->tx_index;
	uint8_t *st;

	FUZZ_CHECK(ev->tx != NULL);
	if (ev->kind == HTTP_REQUEST_HEADERS) {
		FUZZ_CHECK(i == s->next_index);
		s->next_index++;
		if (i < TX_TRACK)
			s->state[i] = TX_OPEN;
		use_accessors(s, ev->tx);
		return;
	}
	FUZZ_CHECK(i < s->next_index);
	if (i >= TX_TRACK)
		return;
	st = &s->state[i];
	FUZZ_CHECK((*st & TX_OPEN) && !(*st & TX_DONE));
	switch (ev->kind) {
	case HTTP_RESPONSE_HEADERS:
		FUZZ_CHECK(!(*st & TX_RESP));
		*st |= TX_RESP;
		use_accessors(s, ev->tx);
		break;
	case HTTP_REQUEST_BODY:
	case HTTP_RESPONSE_BODY: {
		int dir = ev->kind == HTTP_RESPONSE_BODY;

		FUZZ_CHECK(ev->len > 0 && ev->data != NULL);
		touch(s, (const char *)ev->data, ev->len, true);
		s->body[i][dir] += ev->len;
		FUZZ_CHECK(s->body[i][dir] <= LIMIT_HTTP_BODY_BYTES);
		break;
	}
	case HTTP_TX_DONE:
		*st |= TX_DONE;
		break;
	default:
		FUZZ_CHECK(!"unknown event kind");
	}
}

static void feed(void *ctx, int dir, const uint8_t *p, size_t n)
{
	struct sink *s = ctx;

	http_conn_data(s->c, dir, s->ts++, p, n);
}

static void gap(void *ctx, int dir, size_t n)
{
	struct sink *s = ctx;

	http_conn_gap(s->c, dir, s->ts++, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fuzz_split_ops split_ops = {.data = feed, .gap = gap};
	static struct sink s;
	struct fuzz_split sp;
	struct http_engine *e;

	if (!fuzz_split_init(&sp, data, size))
		return 0;
	e = http_engine_new();
	if (!e)
		return 0;
	for (int mode = FUZZ_SPLIT_WHOLE; mode <= FUZZ_SPLIT_GAPS; mode++) {
		memset(&s, 0, sizeof(s));
		s.ts = 1700000000000000ull;
		s.c = http_conn_new(e, "192.0.2.10", 50123, "192.0.2.1", 80, s.ts, on_event, &s);
		if (!s.c)
			break;
		fuzz_split_run(&sp, (enum fuzz_split_mode)mode, &split_ops, &s);
		if (sp.ctl & 0x80) {
			http_conn_end(s.c, 0, s.ts);
			http_conn_end(s.c, 1, s.ts);
		}
		http_conn_free(s.c);
		for (uint64_t i = 0; i < s.next_index && i < TX_TRACK; i++)
			FUZZ_CHECK(s.state[i] & TX_DONE);
	}
	(void)http_engine_stats(e);
	http_engine_free(e);
	return 0;
}
