/*
 * test_http.c — unit tests for sensor/http.c (HTTP/1.x through libhtp).
 *
 * A recording sink writes every event into a transcript, one line per
 * event, with consecutive body chunks of one transaction merged so that
 * the transcript does not depend on how the stream was cut:
 *
 *   Q<i> <method> <uri> <protocol> <host|->     REQUEST_HEADERS
 *   B<i> <bytes>                               REQUEST_BODY
 *   S<i> <status>                              RESPONSE_HEADERS
 *   R<i> <bytes>                               RESPONSE_BODY
 *   D<i>                                       TX_DONE
 *
 * and checks the contract on every call: tx_index counts up from 0, no
 * event before REQUEST_HEADERS or after TX_DONE, one RESPONSE_HEADERS at
 * most, body chunks non-empty and within the per-message cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Heap in use, for the bounded-memory test: ASan replaces malloc, and its
 * own counter is the one that sees every allocation then. */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#include <malloc.h>
#endif

#include "http.h"
#include "mdm_limits.h"

#define TX_MAX 8192u

enum {
	ST_OPEN = 1,
	ST_RESP = 2,
	ST_DONE = 4,
};

struct sink {
	bool quiet; /* no transcript (long runs) */
	char *log;
	size_t len, cap;
	bool have_last;
	enum http_event_kind last_kind;
	uint64_t last_idx;
	uint64_t next;
	uint64_t n[HTTP_TX_DONE + 1];
	uint64_t last_ts;
	uint8_t state[TX_MAX];
	uint64_t body[2][TX_MAX];
};

struct fx {
	struct http_engine *e;
	struct sink *s;
	struct http_conn *c;
	uint64_t ts;
};

static void sink_put(struct sink *s, const void *p, size_t n)
{
	if (s->quiet)
		return;
	if (s->len + n + 1 > s->cap) {
		size_t cap = (s->len + n + 1) * 2;
		char *nl = realloc(s->log, cap);
		assert_non_null(nl);
		s->log = nl;
		s->cap = cap;
	}
	if (n)
		memcpy(s->log + s->len, p, n);
	s->len += n;
	s->log[s->len] = '\0';
}

static void sink_fmt(struct sink *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sink_fmt(struct sink *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(line));
	sink_put(s, line, (size_t)n);
}

static void sink_request(struct sink *s, const struct http_event *ev)
{
	const char *m, *u, *p, *h;
	size_t ml, ul, pl, hl;

	assert_int_equal(ev->tx_index, s->next);
	assert_true(ev->tx_index < TX_MAX);
	assert_int_equal(s->state[ev->tx_index], 0);
	s->state[ev->tx_index] = ST_OPEN;
	s->next++;
	if (!http_tx_method(ev->tx, &m, &ml)) {
		m = "-";
		ml = 1;
	}
	if (!http_tx_uri(ev->tx, &u, &ul)) {
		u = "-";
		ul = 1;
	}
	if (!http_tx_protocol(ev->tx, &p, &pl)) {
		p = "-";
		pl = 1;
	}
	if (!http_tx_header(ev->tx, 0, "hOsT", &h, &hl)) {
		h = "-";
		hl = 1;
	}
	assert_int_equal(http_tx_status(ev->tx), 0);
	sink_fmt(s, "\nQ%llu %.*s %.*s %.*s %.*s", (unsigned long long)ev->tx_index, (int)ml, m,
	         (int)ul, u, (int)pl, p, (int)hl, h);
}

static void sink_body(struct sink *s, const struct http_event *ev, int dir)
{
	assert_non_null(ev->data);
	assert_true(ev->len > 0);
	s->body[dir][ev->tx_index] += ev->len;
	assert_true(s->body[dir][ev->tx_index] <= LIMIT_HTTP_BODY_BYTES);
	if (!(s->have_last && s->last_kind == ev->kind && s->last_idx == ev->tx_index))
		sink_fmt(s, "\n%c%llu ", dir ? 'R' : 'B', (unsigned long long)ev->tx_index);
	sink_put(s, ev->data, ev->len);
}

static void sink_event(void *ctx, const struct http_event *ev)
{
	struct sink *s = ctx;

	assert_true(ev->kind <= HTTP_TX_DONE);
	assert_non_null(ev->tx);
	s->n[ev->kind]++;
	s->last_ts = ev->ts_us;
	if (ev->kind != HTTP_REQUEST_HEADERS) {
		assert_true(ev->tx_index < s->next);
		assert_int_equal(s->state[ev->tx_index] & (ST_OPEN | ST_DONE), ST_OPEN);
	}
	switch (ev->kind) {
	case HTTP_REQUEST_HEADERS:
		sink_request(s, ev);
		break;
	case HTTP_REQUEST_BODY:
		sink_body(s, ev, 0);
		break;
	case HTTP_RESPONSE_HEADERS:
		assert_false(s->state[ev->tx_index] & ST_RESP);
		s->state[ev->tx_index] |= ST_RESP;
		sink_fmt(s, "\nS%llu %d", (unsigned long long)ev->tx_index, http_tx_status(ev->tx));
		break;
	case HTTP_RESPONSE_BODY:
		sink_body(s, ev, 1);
		break;
	case HTTP_TX_DONE:
		s->state[ev->tx_index] |= ST_DONE;
		sink_fmt(s, "\nD%llu", (unsigned long long)ev->tx_index);
		break;
	}
	s->have_last = true;
	s->last_kind = ev->kind;
	s->last_idx = ev->tx_index;
}

static bool sink_all_done(const struct sink *s)
{
	for (uint64_t i = 0; i < s->next; i++) {
		if (!(s->state[i] & ST_DONE))
			return false;
	}
	return true;
}

static const char *sink_log(const struct sink *s)
{
	return s->log ? s->log : "";
}

static void conn_open(struct fx *f)
{
	f->c = http_conn_new(f->e, "192.0.2.10", 50123, "192.0.2.1", 80, f->ts, sink_event, f->s);
	assert_non_null(f->c);
}

static void sink_reset(struct sink *s)
{
	free(s->log);
	bool quiet = s->quiet;
	memset(s, 0, sizeof(*s));
	s->quiet = quiet;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->e = http_engine_new();
	assert_non_null(f->e);
	f->s = calloc(1, sizeof(*f->s));
	assert_non_null(f->s);
	f->ts = 1700000000000000ull;
	conn_open(f);
	*state = f;
	return 0;
}

static void conn_close(struct fx *f)
{
	http_conn_free(f->c);
	f->c = NULL;
	assert_true(sink_all_done(f->s));
}

static int teardown(void **state)
{
	struct fx *f = *state;

	if (f->c)
		conn_close(f);
	http_engine_free(f->e);
	free(f->s->log);
	free(f->s);
	free(f);
	return 0;
}

static void feed(struct fx *f, int dir, const void *p, size_t n)
{
	http_conn_data(f->c, dir, ++f->ts, p, n);
}

static void req(struct fx *f, const char *s)
{
	feed(f, 0, s, strlen(s));
}

static void res(struct fx *f, const char *s)
{
	feed(f, 1, s, strlen(s));
}

static const struct http_stats *stats(const struct fx *f)
{
	return http_engine_stats(f->e);
}

/*
 * Plain exchanges.
 */

static void test_get_keepalive(void **state)
{
	struct fx *f = *state;

	req(f, "GET /owa/ HTTP/1.1\r\nHost: mail.contoso.com\r\nUser-Agent: UA\r\n\r\n");
	assert_int_equal(f->s->last_ts, f->ts);
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
	assert_int_equal(f->s->last_ts, f->ts);
	req(f, "GET /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail\r\n\r\n");
	res(f, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /owa/ HTTP/1.1 mail.contoso.com"
	                                    "\nS0 200\nR0 hello\nD0"
	                                    "\nQ1 GET /EWS/Exchange.asmx HTTP/1.1 mail"
	                                    "\nS1 404\nD1");
	assert_int_equal(stats(f)->transactions, 2);
	assert_int_equal(stats(f)->parse_errors, 0);
	assert_int_equal(stats(f)->resyncs, 0);
}

static const char split_req[] = "POST /EWS/Exchange.asmx HTTP/1.1\r\n"
                                "Host: mail.contoso.com\r\n"
                                "Content-Type: text/xml\r\n"
                                "Content-Length: 44\r\n"
                                "\r\n"
                                "<soap:Body><m:FindItem/></soap:Body>........"
                                "GET /owa/ HTTP/1.1\r\nHost: mail\r\n\r\n";
static const char split_res[] =
    "HTTP/1.1 200 OK\r\n"
    "Transfer-Encoding: chunked\r\n"
    "\r\n"
    "5\r\nhello\r\n"
    "7\r\n, world\r\n"
    "0\r\n\r\n"
    "HTTP/1.1 302 Found\r\nLocation: /owa/auth\r\nContent-Length: 3\r\n\r\nabc";

static char *run_split(struct fx *f, size_t at_req, size_t at_res, bool bytewise)
{
	size_t nreq = sizeof(split_req) - 1, nres = sizeof(split_res) - 1;

	sink_reset(f->s);
	conn_open(f);
	if (bytewise) {
		for (size_t i = 0; i < nreq; i++)
			feed(f, 0, split_req + i, 1);
		for (size_t i = 0; i < nres; i++)
			feed(f, 1, split_res + i, 1);
	} else {
		feed(f, 0, split_req, at_req);
		feed(f, 0, split_req + at_req, nreq - at_req);
		feed(f, 1, split_res, at_res);
		feed(f, 1, split_res + at_res, nres - at_res);
	}
	conn_close(f);
	char *log = strdup(sink_log(f->s));
	assert_non_null(log);
	return log;
}

static void test_split_points(void **state)
{
	struct fx *f = *state;
	size_t nreq = sizeof(split_req) - 1, nres = sizeof(split_res) - 1;

	conn_close(f);
	char *ref = run_split(f, nreq, nres, false);
	assert_string_equal(ref, "\nQ0 POST /EWS/Exchange.asmx HTTP/1.1 mail.contoso.com"
	                         "\nB0 <soap:Body><m:FindItem/></soap:Body>........"
	                         "\nQ1 GET /owa/ HTTP/1.1 mail"
	                         "\nS0 200\nR0 hello, world\nD0"
	                         "\nS1 302\nR1 abc\nD1");
	for (size_t k = 1; k < nreq; k++) {
		char *got = run_split(f, k, nres, false);
		assert_string_equal(got, ref);
		free(got);
	}
	for (size_t k = 1; k < nres; k++) {
		char *got = run_split(f, nreq, k, false);
		assert_string_equal(got, ref);
		free(got);
	}
	char *got = run_split(f, 0, 0, true);
	assert_string_equal(got, ref);
	free(got);
	free(ref);
	assert_int_equal(stats(f)->parse_errors, 0);
	assert_int_equal(stats(f)->resyncs, 0);
	assert_int_equal(stats(f)->skipped_bytes, 0);
}

static void test_pipelining(void **state)
{
	struct fx *f = *state;

	req(f, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	       "GET /b HTTP/1.1\r\nHost: h\r\n\r\n"
	       "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nr0"
	       "HTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\nr1"
	       "HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nr2");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /a HTTP/1.1 h\nQ1 GET /b HTTP/1.1 h"
	                                    "\nQ2 GET /c HTTP/1.1 h"
	                                    "\nS0 200\nR0 r0\nD0\nS1 401\nR1 r1\nD1"
	                                    "\nS2 403\nR2 r2\nD2");
}

static void test_chunked_bodies(void **state)
{
	struct fx *f = *state;

	req(f, "POST /mapi/emsmdb HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 POST /mapi/emsmdb HTTP/1.1 h\nB0 hello world"
	                                    "\nS0 200\nR0 abc\nD0");
}

static void test_expect_100(void **state)
{
	struct fx *f = *state;

	req(f, "POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
	       "Content-Length: 3\r\n\r\n");
	res(f, "HTTP/1.1 100 Continue\r\n\r\n");
	req(f, "abc");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_string_equal(sink_log(f->s), "\nQ0 POST /up HTTP/1.1 h\nB0 abc\nS0 200\nR0 ok\nD0");
}

static void test_head_and_304(void **state)
{
	struct fx *f = *state;

	req(f, "HEAD /owa/ HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
	req(f, "GET /x.css HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"1\"\r\n\r\n");
	/* No Content-Length here: libhtp 0.5.42 reads one on a 304 or 204 as
	 * a body length, as browsers do (see http.c). */
	res(f, "HTTP/1.1 304 Not Modified\r\nETag: \"1\"\r\n\r\n");
	req(f, "GET /y HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
	assert_string_equal(sink_log(f->s), "\nQ0 HEAD /owa/ HTTP/1.1 h\nS0 200\nD0"
	                                    "\nQ1 GET /x.css HTTP/1.1 h\nS1 304\nD1"
	                                    "\nQ2 GET /y HTTP/1.1 h\nS2 200\nR2 ok\nD2");
	assert_int_equal(stats(f)->parse_errors, 0);
}

static void test_connection_close(void **state)
{
	struct fx *f = *state;

	req(f, "GET /autodiscover/ HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello ");
	res(f, "world");
	assert_int_equal(f->s->n[HTTP_TX_DONE], 0);
	http_conn_end(f->c, 1, ++f->ts);
	assert_string_equal(sink_log(f->s), "\nQ0 GET /autodiscover/ HTTP/1.1 h\nS0 200"
	                                    "\nR0 hello world\nD0");
	assert_int_equal(f->s->last_ts, f->ts);
	/* Nothing more is taken after the end. */
	res(f, "HTTP/1.1 200 OK\r\n\r\n");
	http_conn_end(f->c, 0, ++f->ts);
	assert_int_equal(f->s->n[HTTP_RESPONSE_HEADERS], 1);
}

static void test_rpc_in_data(void **state)
{
	struct fx *f = *state;
	static uint8_t body[4096];

	req(f, "RPC_IN_DATA /rpc/rpcproxy.dll?mail.contoso.com:6001 HTTP/1.1\r\n"
	       "Host: mail.contoso.com\r\nUser-Agent: MSRPC\r\n"
	       "Content-Length: 1073741824\r\n\r\n");
	assert_string_equal(sink_log(f->s),
	                    "\nQ0 RPC_IN_DATA /rpc/rpcproxy.dll?mail.contoso.com:6001"
	                    " HTTP/1.1 mail.contoso.com");
	memset(body, 0x05, sizeof(body));
	feed(f, 0, body, sizeof(body));
	assert_int_equal(f->s->n[HTTP_REQUEST_BODY] > 0, 1);
	assert_int_equal(f->s->body[0][0], sizeof(body));
	assert_int_equal(f->s->n[HTTP_TX_DONE], 0);
	http_conn_free(f->c);
	f->c = NULL;
	assert_int_equal(f->s->n[HTTP_TX_DONE], 1);
	assert_true(sink_all_done(f->s));
}

static void test_body_cap(void **state)
{
	struct fx *f = *state;
	static uint8_t chunk[10000];
	const size_t total = 100000;

	memset(chunk, 'a', sizeof(chunk));
	req(f, "POST /Microsoft-Server-ActiveSync?Cmd=Sync HTTP/1.1\r\nHost: h\r\n"
	       "Content-Length: 100000\r\n\r\n");
	for (size_t i = 0; i < total / sizeof(chunk); i++)
		feed(f, 0, chunk, sizeof(chunk));
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->s->body[0][0], LIMIT_HTTP_BODY_BYTES);
	assert_int_equal(stats(f)->body_truncated, total - LIMIT_HTTP_BODY_BYTES);
	assert_int_equal(f->s->n[HTTP_TX_DONE], 1);
}

/* "hello world" through gzip -n. */
static const uint8_t gz_hello[] = {
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57,
    0x28, 0xcf, 0x2f, 0xca, 0x49, 0x01, 0x00, 0x85, 0x11, 0x4a, 0x0d, 0x0b, 0x00, 0x00, 0x00,
};

static void test_gzip_response(void **state)
{
	struct fx *f = *state;

	req(f, "GET /ews/ HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 31\r\n\r\n");
	feed(f, 1, gz_hello, sizeof(gz_hello));
	assert_string_equal(sink_log(f->s),
	                    "\nQ0 GET /ews/ HTTP/1.1 h\nS0 200\nR0 hello world\nD0");
}

/*
 * Gaps.
 */

static void test_gap_in_body(void **state)
{
	struct fx *f = *state;

	req(f, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab");
	http_conn_gap(f->c, 0, ++f->ts, 3);
	req(f, "cdefg");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nxy");
	http_conn_gap(f->c, 1, ++f->ts, 4);
	res(f, "1234");
	/* A gap that ends exactly where the body does. */
	req(f, "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nab");
	http_conn_gap(f->c, 0, ++f->ts, 8);
	req(f, "GET /c HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 POST /a HTTP/1.1 h\nB0 abcdefg"
	                                    "\nS0 200\nR0 xy1234\nD0"
	                                    "\nQ1 POST /b HTTP/1.1 h\nB1 ab"
	                                    "\nQ2 GET /c HTTP/1.1 h"
	                                    "\nS1 200\nD1\nS2 200\nD2");
	assert_int_equal(stats(f)->resyncs, 0);
	assert_int_equal(stats(f)->parse_errors, 0);
}

static void test_gap_past_body(void **state)
{
	struct fx *f = *state;
	const char *tail = "Host: h\r\n\r\n";

	/* The gap eats the body's end and the next request line. */
	req(f, "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nab");
	http_conn_gap(f->c, 0, ++f->ts, 20);
	req(f, tail);
	req(f, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(sink_log(f->s),
	                    "\nQ0 POST /a HTTP/1.1 h\nB0 ab\nQ1 GET /next HTTP/1.1 h");
	assert_int_equal(stats(f)->resyncs, 1);
	assert_int_equal(stats(f)->skipped_bytes, strlen(tail));
}

static void test_gap_in_headers(void **state)
{
	struct fx *f = *state;
	const char *junk = "st: x\r\n\r\n";

	req(f, "GET /lost HTTP/1.1\r\nHo");
	http_conn_gap(f->c, 0, ++f->ts, 5);
	req(f, junk);
	req(f, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /next HTTP/1.1 h\nS0 200\nD0");
	assert_int_equal(stats(f)->resyncs, 1);
	assert_int_equal(stats(f)->skipped_bytes, strlen(junk));
	assert_int_equal(stats(f)->parse_errors, 0);
}

static void test_gap_server_chunked(void **state)
{
	struct fx *f = *state;

	/* A gap in a chunked body cannot be given to libhtp: the parser is
	 * replaced and the server side hunts for the next status line, here
	 * inside a split "HTTP/1." */
	req(f, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123");
	http_conn_gap(f->c, 1, ++f->ts, 6);
	res(f, "456789\r\n0\r\n\r\nHTT");
	req(f, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "P/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /a HTTP/1.1 h\nS0 200\nR0 0123\nD0"
	                                    "\nQ1 GET /b HTTP/1.1 h\nS1 403\nD1");
	assert_int_equal(stats(f)->resyncs, 1);
	assert_int_equal(stats(f)->skipped_bytes, strlen("456789\r\n0\r\n\r\n"));
}

static void test_gap_at_rest(void **state)
{
	struct fx *f = *state;

	req(f, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
	/* The response is under way when the client loses a segment. */
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab");
	http_conn_gap(f->c, 0, ++f->ts, 100);
	req(f, "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "cd");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /a HTTP/1.1 h\nS0 200\nR0 ab"
	                                    "\nQ1 GET /b HTTP/1.1 h\nR0 cd\nD0");
	assert_int_equal(stats(f)->resyncs, 1);
	assert_int_equal(stats(f)->skipped_bytes, 0);
}

static void test_gaps_any_order(void **state)
{
	struct fx *f = *state;

	for (int dir = 0; dir < 2; dir++) {
		http_conn_gap(f->c, dir, ++f->ts, 1);
		http_conn_gap(f->c, dir, ++f->ts, UINT64_MAX);
	}
	res(f, "HTTP/1.1 200 OK\r\n");
	http_conn_gap(f->c, 1, ++f->ts, 7);
	req(f, "GET / HTTP/1.1\r\n");
	http_conn_gap(f->c, 0, ++f->ts, 1);
	http_conn_gap(f->c, 0, ++f->ts, 1);
	req(f, "\r\nGET /ok HTTP/1.1\r\n\r\n");
	http_conn_end(f->c, 0, ++f->ts);
	http_conn_gap(f->c, 0, ++f->ts, 1);
	http_conn_gap(f->c, 1, ++f->ts, 1);
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	http_conn_end(f->c, 1, ++f->ts);
	http_conn_gap(f->c, 1, ++f->ts, 1);
	assert_true(strstr(sink_log(f->s), "GET /ok") != NULL);
}

/*
 * Caps.
 */

static void test_header_line_caps(void **state)
{
	struct fx *f = *state;
	size_t n = LIMIT_HTTP_HEADER_LINE_HARD + 1000;
	char *big = malloc(n);

	assert_non_null(big);
	memset(big, 'x', n);
	/* Over the soft limit: reported, counted. */
	req(f, "GET /soft HTTP/1.1\r\nHost: h\r\nX-A: ");
	feed(f, 0, big, LIMIT_HTTP_HEADER_LINE_SOFT + 10);
	req(f, "\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(stats(f)->header_cap, 1);
	assert_int_equal(stats(f)->parse_errors, 0);
	/* Over the hard limit: libhtp gives up; what it parsed is reported. */
	req(f, "GET /hard HTTP/1.1\r\nHost: h\r\nX-A: ");
	feed(f, 0, big, n);
	req(f, "\r\n\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	free(big);
	assert_string_equal(sink_log(f->s), "\nQ0 GET /soft HTTP/1.1 h\nS0 200\nD0"
	                                    "\nQ1 GET /hard HTTP/1.1 h\nD1"
	                                    "\nQ2 GET /ok HTTP/1.1 h\nS2 200\nD2");
	assert_int_equal(stats(f)->header_cap, 2);
	assert_true(stats(f)->parse_errors >= 1);
	assert_int_equal(stats(f)->resyncs, 1);
}

static void test_too_many_headers(void **state)
{
	struct fx *f = *state;

	req(f, "GET /many HTTP/1.1\r\nHost: h\r\n");
	for (unsigned i = 0; i < LIMIT_HTTP_HEADERS + 50; i++) {
		char line[32];
		snprintf(line, sizeof(line), "X-H%u: %u\r\n", i, i);
		req(f, line);
	}
	req(f, "\r\nGET /ok HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_string_equal(sink_log(f->s), "\nQ0 GET /many HTTP/1.1 h\nD0"
	                                    "\nQ1 GET /ok HTTP/1.1 h\nS1 200\nD1");
	assert_int_equal(stats(f)->header_cap, 1);
	assert_int_equal(stats(f)->resyncs, 1);
}

static void test_tx_in_flight_cap(void **state)
{
	struct fx *f = *state;
	const unsigned n = LIMIT_HTTP_TX_IN_FLIGHT + 36;

	for (unsigned i = 0; i < n; i++)
		req(f, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(stats(f)->transactions, n);
	assert_int_equal(stats(f)->tx_cap, 36);
	assert_int_equal(f->s->n[HTTP_TX_DONE], 36);
	/* Responses still pair with their own requests. */
	f->s->quiet = true;
	for (unsigned i = 0; i < n; i++)
		res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->s->n[HTTP_RESPONSE_HEADERS], LIMIT_HTTP_TX_IN_FLIGHT);
	assert_int_equal(f->s->n[HTTP_TX_DONE], n);
	for (unsigned i = 0; i < 36; i++)
		assert_false(f->s->state[i] & ST_RESP);
	assert_int_equal(stats(f)->resyncs, 0);
}

static void test_unanswered_pipeline(void **state)
{
	struct fx *f = *state;
	const unsigned n = 3 * LIMIT_HTTP_TX_IN_FLIGHT;

	/* Requests that never get a response: libhtp keeps every one, so past
	 * twice the in-flight cap the parser is reset. */
	f->s->quiet = true;
	for (unsigned i = 0; i < n; i++)
		req(f, "GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_int_equal(stats(f)->transactions, n);
	assert_int_equal(stats(f)->resyncs, 1);
	assert_true(f->s->n[HTTP_TX_DONE] >= n - LIMIT_HTTP_TX_IN_FLIGHT);
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
	assert_int_equal(f->s->n[HTTP_RESPONSE_HEADERS], 1);
}

static size_t heap_bytes(void)
{
#ifdef TEST_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	return mallinfo2().uordblks;
#endif
}

static void test_long_keepalive(void **state)
{
	struct fx *f = *state;
	const unsigned n = 5000;
	size_t base = 0;

	f->s->quiet = true;
	for (unsigned i = 0; i < n; i++) {
		if (i == 1000)
			base = heap_bytes();
		req(f, "POST /mapi/emsmdb/?MailboxId=x HTTP/1.1\r\nHost: h\r\n"
		       "X-RequestType: Execute\r\nContent-Length: 4\r\n\r\nbody");
		res(f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
		assert_int_equal(f->s->n[HTTP_TX_DONE], i + 1);
	}
	size_t end = heap_bytes();
	assert_true(end < base + 16 * 1024);
	assert_int_equal(stats(f)->transactions, n);
	assert_int_equal(stats(f)->resyncs, 0);
	assert_int_equal(stats(f)->parse_errors, 0);
}

/*
 * Hostile input.
 */

static void test_hostile(void **state)
{
	struct fx *f = *state;
	static const char nul_req[] = "GET /a\0b HTTP/1.1\r\nHost: h\0\r\n\r\n";

	res(f, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno");
	res(f, "HTTP/1.1 500 Oops\r\n\r\n");
	req(f, "GET /late HTTP/1.1\r\nHost: h\r\n\r\n");
	feed(f, 0, nul_req, sizeof(nul_req) - 1);
	req(f, "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n");
	req(f, "GET /after HTTP/1.1\r\nHost: h\r\n\r\n");
	res(f, "\0\0\0garbage\r\nHTTP/9.9 abc\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n");
	res(f, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n");
	req(f, "\r\n\r\n\r\nGET\r\n/ HTTP/1.1\r\n\r\n");
	assert_true(stats(f)->parse_errors > 0);
	assert_true(strstr(sink_log(f->s), "GET /after") != NULL);
}

static uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static const char *const pieces[] = {
    "GET / HTTP/1.1\r\n",
    "POST /EWS/Exchange.asmx HTTP/1.1\r\n",
    "RPC_IN_DATA /rpc HTTP/1.1\r\n",
    "HTTP/1.1 200 OK\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.0 304 x\r\n",
    "Content-Length: 5\r\n",
    "Content-Length: 99999999999999999999\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Content-Encoding: gzip\r\n",
    "Connection: close\r\n",
    "Expect: 100-continue\r\n",
    "Host: h\r\n",
    "\r\n",
    "5\r\nhello\r\n",
    "0\r\n\r\n",
    "zz\r\n",
    " folded\r\n",
    "\n",
    "HEAD / HTTP/1.1\r\n",
};

static void fuzz_one(struct fx *f, uint64_t *x)
{
	uint8_t b[512];

	for (int round = 0; round < 200; round++) {
		int dir = (int)(rnd(x) & 1);
		uint64_t r = rnd(x) % 16;
		size_t n = 0;

		if (r == 0) {
			http_conn_gap(f->c, dir, ++f->ts, rnd(x) % 40 + 1);
			continue;
		}
		if (r == 1 && rnd(x) % 8 == 0) {
			http_conn_end(f->c, dir, ++f->ts);
			continue;
		}
		while (n < 256) {
			if (rnd(x) % 4 == 0) {
				b[n++] = (uint8_t)rnd(x);
				continue;
			}
			const char *p = pieces[rnd(x) % (sizeof(pieces) / sizeof(pieces[0]))];
			size_t l = strlen(p);
			memcpy(b + n, p, l);
			n += l;
			if (rnd(x) % 3 == 0)
				break;
		}
		size_t cut = (size_t)(rnd(x) % (n + 1));
		feed(f, dir, b, cut);
		feed(f, dir, b + cut, n - cut);
	}
}

static void test_garbage(void **state)
{
	struct fx *f = *state;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	f->s->quiet = true;
	for (int conn = 0; conn < 300; conn++) {
		conn_close(f);
		sink_reset(f->s);
		conn_open(f);
		fuzz_one(f, &x);
	}
	/* Pure noise, NULs included, each side. */
	for (int i = 0; i < 200; i++) {
		uint8_t b[300];
		for (size_t k = 0; k < sizeof(b); k++)
			b[k] = (uint8_t)rnd(&x);
		feed(f, i & 1, b, sizeof(b));
	}
	assert_true(stats(f)->skipped_bytes > 0 || stats(f)->parse_errors > 0);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_get_keepalive),
		T(test_split_points),
		T(test_pipelining),
		T(test_chunked_bodies),
		T(test_expect_100),
		T(test_head_and_304),
		T(test_connection_close),
		T(test_rpc_in_data),
		T(test_body_cap),
		T(test_gzip_response),
		T(test_gap_in_body),
		T(test_gap_past_body),
		T(test_gap_in_headers),
		T(test_gap_server_chunked),
		T(test_gap_at_rest),
		T(test_gaps_any_order),
		T(test_header_line_caps),
		T(test_too_many_headers),
		T(test_tx_in_flight_cap),
		T(test_unanswered_pipeline),
		T(test_long_keepalive),
		T(test_hostile),
		T(test_garbage),
#undef T
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
