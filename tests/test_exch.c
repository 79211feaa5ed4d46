/*
 * test_exch.c — the Exchange transaction builder, driven with HTTP events.
 *
 * The http_tx accessors are provided here over a plain struct, so the
 * builder is tested alone (http.c is tested in test_http.c and both
 * together by the golden captures).  What a user would check: the right
 * protocol, operation, user and device on each row; refusals exactly as
 * DESIGN §3 defines them; NTLM's user inherited along the connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "exch.h"

/* ---- a fake transaction behind the accessors ---- */

struct http_tx {
	const char *method, *uri;
	const char *req_headers[8][2];
	const char *resp_headers[8][2];
	int status;
};

bool http_tx_method(const struct http_tx *tx, const char **ret, size_t *ret_len)
{
	*ret = tx->method;
	*ret_len = strlen(tx->method);
	return true;
}

bool http_tx_uri(const struct http_tx *tx, const char **ret, size_t *ret_len)
{
	*ret = tx->uri;
	*ret_len = strlen(tx->uri);
	return true;
}

bool http_tx_header(const struct http_tx *tx, int dir, const char *name, const char **ret,
                    size_t *ret_len)
{
	const char *(*h)[2] =
	    dir ? (const char *(*)[2])tx->resp_headers : (const char *(*)[2])tx->req_headers;
	for (int i = 0; i < 8 && h[i][0]; i++) {
		if (strcasecmp(h[i][0], name) == 0) {
			*ret = h[i][1];
			*ret_len = strlen(h[i][1]);
			return true;
		}
	}
	return false;
}

int http_tx_status(const struct http_tx *tx)
{
	return tx->status;
}

/* ---- a sink that copies what it is given ---- */

struct row {
	char method[32], uri[256], user[64], auth[16], protocol[16], operation[64];
	char device_id[64], device_type[64];
	int status;
	bool refusal, final, evaluate;
	int64_t slot;
};

struct sink {
	struct row rows[16];
	int n;
};

static void cp(char *dst, size_t n, const char *s)
{
	snprintf(dst, n, "%s", s ? s : "NULL");
}

static void on_txn(void *ctx, const struct exch_txn *t, int64_t *row)
{
	struct sink *s = ctx;
	assert_true(s->n < 16);
	struct row *r = &s->rows[s->n++];
	cp(r->method, sizeof(r->method), t->method);
	cp(r->uri, sizeof(r->uri), t->uri);
	cp(r->user, sizeof(r->user), t->user);
	cp(r->auth, sizeof(r->auth), t->auth);
	cp(r->protocol, sizeof(r->protocol), t->protocol);
	cp(r->operation, sizeof(r->operation), t->operation);
	cp(r->device_id, sizeof(r->device_id), t->device_id);
	cp(r->device_type, sizeof(r->device_type), t->device_type);
	r->status = t->status;
	r->refusal = t->eas_refusal;
	r->final = t->final;
	r->evaluate = t->evaluate;
	if (*row == 0)
		*row = 1000 + s->n; /* the sink's id, seen again on the final call */
	r->slot = *row;
}

static void ev(struct exch_conn *c, enum http_event_kind k, uint64_t idx, const struct http_tx *tx,
               const void *data, size_t len)
{
	struct http_event e = {
	    .kind = k, .tx_index = idx, .ts_us = 1000, .tx = tx, .data = data, .len = len};
	exch_http_event(c, &e);
}

/* A whole transaction: request headers, body, response headers, body, done. */
static void txn(struct exch_conn *c, uint64_t idx, struct http_tx *tx, const char *req_body,
                const void *resp_body, size_t resp_len)
{
	int status = tx->status;
	tx->status = 0;
	ev(c, HTTP_REQUEST_HEADERS, idx, tx, NULL, 0);
	if (req_body) /* in two pieces, to cross a chunk boundary */
		for (size_t off = 0, n = strlen(req_body); off < n; off += n / 2 + 1)
			ev(c, HTTP_REQUEST_BODY, idx, tx, req_body + off,
			   n - off < n / 2 + 1 ? n - off : n / 2 + 1);
	tx->status = status;
	if (status)
		ev(c, HTTP_RESPONSE_HEADERS, idx, tx, NULL, 0);
	if (resp_body)
		ev(c, HTTP_RESPONSE_BODY, idx, tx, resp_body, resp_len);
	ev(c, HTTP_TX_DONE, idx, tx, NULL, 0);
}

static const char eas_uri[] =
    "/Microsoft-Server-ActiveSync?Cmd=Sync&User=CONTOSO%5CAlice&DeviceId=ABC123&DeviceType=iPhone";

static void test_eas_refusal_codes(void **state)
{
	static const struct {
		const char *method;
		int status;
		bool throttle;
		bool refusal;
	} cases[] = {
	    {"POST", 403, false, true},     {"POST", 456, false, true},
	    {"POST", 457, false, true},     {"POST", 503, true, true},
	    {"POST", 503, false, false},    {"POST", 401, false, false},
	    {"POST", 449, false, false},    {"POST", 451, false, false},
	    {"OPTIONS", 403, false, false}, {"POST", 200, false, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink s = {0};
		struct exch_conn *c = exch_conn_new(false, on_txn, &s);
		struct http_tx tx = {
		    .method = cases[i].method, .uri = eas_uri, .status = cases[i].status};
		if (cases[i].throttle) {
			tx.resp_headers[0][0] = "X-MS-ASThrottle";
			tx.resp_headers[0][1] = "CommandFrequency";
		}
		txn(c, 0, &tx, NULL, NULL, 0);
		assert_int_equal(s.n, 1);
		assert_int_equal(s.rows[0].refusal, cases[i].refusal);
		assert_string_equal(s.rows[0].protocol, "EAS");
		assert_string_equal(s.rows[0].operation, "Sync");
		assert_string_equal(s.rows[0].user, "alice"); /* User=, normalised */
		assert_string_equal(s.rows[0].auth, "none");
		assert_string_equal(s.rows[0].device_id, "ABC123");
		assert_string_equal(s.rows[0].device_type, "iPhone");
		assert_int_equal(s.rows[0].status, cases[i].status);
		exch_conn_free(c);
	}
}

/* <Sync><Status>129</Status></Sync> in WBXML (MS-ASWBXML code page 0). */
static const uint8_t sync_129[] = {0x03, 0x01, 0x6a, 0x00, 0x45, 0x4e, 0x03,
                                   '1',  '2',  '9',  0x00, 0x01, 0x01};
static const uint8_t sync_1[] = {0x03, 0x01, 0x6a, 0x00, 0x45, 0x4e, 0x03, '1', 0x00, 0x01, 0x01};

static void test_eas_wbxml_status(void **state)
{
	(void)state;
	for (int i = 0; i < 2; i++) {
		struct sink s = {0};
		struct exch_conn *c = exch_conn_new(false, on_txn, &s);
		struct http_tx tx = {.method = "POST", .uri = eas_uri, .status = 200};
		tx.resp_headers[0][0] = "Content-Type";
		tx.resp_headers[0][1] = "application/vnd.ms-sync.wbxml";
		txn(c, 0, &tx, NULL, i ? sync_1 : sync_129, i ? sizeof(sync_1) : sizeof(sync_129));
		assert_int_equal(s.n, 1);
		assert_int_equal(s.rows[0].refusal, i == 0);
		exch_conn_free(c);
	}
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void b64(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
		             (i + 2 < n ? in[i + 2] : 0);
		out[o++] = b64chars[v >> 18 & 63];
		out[o++] = b64chars[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64chars[v & 63] : '=';
	}
	out[o] = '\0';
}

/* "NTLM <base64 Type 3>" for DOMAIN\user, OEM strings (MS-NLMP 2.2.1.3). */
static void ntlm_type3(const char *domain, const char *user, char *out)
{
	uint8_t m[128] = "NTLMSSP";
	size_t dl = strlen(domain), ul = strlen(user), off = 64;
	m[8] = 3;
	/* security buffers: LM 12, NT 20, domain 28, user 36, workstation 44,
	 * session key 52: len, maxlen (LE16), offset (LE32) */
	struct {
		size_t at, len;
	} f[] = {{12, 0}, {20, 0}, {28, dl}, {36, ul}, {44, 0}, {52, 0}};
	for (size_t i = 0; i < 6; i++) {
		m[f[i].at] = m[f[i].at + 2] = (uint8_t)f[i].len;
		m[f[i].at + 4] = (uint8_t)off;
		if (f[i].len) {
			memcpy(m + off, i == 2 ? domain : user, f[i].len);
			off += f[i].len;
		}
	}
	m[60] = 0x02; /* NTLMSSP_NEGOTIATE_OEM */
	memcpy(out, "NTLM ", 5);
	b64(m, off, out + 5);
}

static void test_ntlm_binds_connection(void **state)
{
	struct sink s = {0};
	struct exch_conn *c = exch_conn_new(false, on_txn, &s);
	char auth[256];
	(void)state;
	ntlm_type3("CONTOSO", "Alice", auth);

	struct http_tx t0 = {.method = "POST", .uri = "/EWS/Exchange.asmx", .status = 200};
	t0.req_headers[0][0] = "Authorization";
	t0.req_headers[0][1] = auth;
	txn(c, 0, &t0, NULL, NULL, 0);
	struct http_tx t1 = {.method = "POST", .uri = "/EWS/Exchange.asmx", .status = 200};
	txn(c, 1, &t1, NULL, NULL, 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.rows[0].user, "alice");
	assert_string_equal(s.rows[0].auth, "ntlm");
	assert_string_equal(s.rows[1].user, "alice"); /* inherited */
	assert_string_equal(s.rows[1].auth, "ntlm");
	exch_conn_free(c);

	/* A Type 3 answered with 401 binds nothing. */
	struct sink s2 = {0};
	c = exch_conn_new(false, on_txn, &s2);
	t0.status = 401;
	txn(c, 0, &t0, NULL, NULL, 0);
	txn(c, 1, &t1, NULL, NULL, 0);
	assert_int_equal(s2.n, 2);
	assert_string_equal(s2.rows[1].user, "NULL");
	assert_string_equal(s2.rows[1].auth, "none");
	exch_conn_free(c);
}

static void test_ews_operation_basic_user(void **state)
{
	static const char body[] =
	    "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
	    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\" "
	    "xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">"
	    "<soap:Header><t:RequestServerVersion Version=\"Exchange2016\"/></soap:Header>"
	    "<soap:Body><FindItem xmlns=\"http://schemas.microsoft.com/exchange/services/"
	    "2006/messages\" Traversal=\"Shallow\"/></soap:Body></soap:Envelope>";
	struct sink s = {0};
	struct exch_conn *c = exch_conn_new(false, on_txn, &s);
	char auth[128];
	(void)state;
	memcpy(auth, "Basic ", 6);
	b64((const uint8_t *)"bob@contoso.com:secret", 22, auth + 6);
	struct http_tx tx = {.method = "POST", .uri = "/ews/exchange.asmx", .status = 200};
	tx.req_headers[0][0] = "Authorization";
	tx.req_headers[0][1] = auth;
	txn(c, 0, &tx, body, NULL, 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.rows[0].protocol, "EWS");
	assert_string_equal(s.rows[0].operation, "FindItem");
	assert_string_equal(s.rows[0].user, "bob");
	assert_string_equal(s.rows[0].auth, "basic");
	assert_false(s.rows[0].refusal);
	exch_conn_free(c);
}

static void test_owa_form_mapi_rpc(void **state)
{
	struct sink s = {0};
	struct exch_conn *c = exch_conn_new(false, on_txn, &s);
	(void)state;
	struct http_tx owa = {.method = "POST", .uri = "/owa/auth.owa", .status = 302};
	txn(c, 0, &owa,
	    "destination=https%3A%2F%2Fmail%2Fowa&flags=4&username=CONTOSO%5Ccarol"
	    "&password=hunter2&passwordText=",
	    NULL, 0);
	struct http_tx mapi = {
	    .method = "POST", .uri = "/mapi/emsmdb/?MailboxId=x@contoso.com", .status = 200};
	mapi.req_headers[0][0] = "X-RequestType";
	mapi.req_headers[0][1] = "Connect";
	txn(c, 1, &mapi, NULL, NULL, 0);

	/* RPC_IN_DATA: emitted at its headers, again (final) when done. */
	struct http_tx rpc = {.method = "RPC_IN_DATA",
	                      .uri = "/rpc/rpcproxy.dll?mail.contoso.com:6001"};
	ev(c, HTTP_REQUEST_HEADERS, 2, &rpc, NULL, 0);
	assert_int_equal(s.n, 3);
	assert_false(s.rows[2].final);
	assert_int_equal(s.rows[2].status, 0);
	rpc.status = 200;
	ev(c, HTTP_RESPONSE_HEADERS, 2, &rpc, NULL, 0);
	/* Its outcome, as soon as the response headers say it. */
	assert_int_equal(s.n, 4);
	assert_false(s.rows[3].final);
	assert_true(s.rows[3].evaluate);
	assert_int_equal(s.rows[3].status, 200);
	ev(c, HTTP_TX_DONE, 2, &rpc, NULL, 0);

	assert_int_equal(s.n, 5);
	assert_string_equal(s.rows[0].protocol, "OWA");
	assert_string_equal(s.rows[0].user, "carol");
	assert_string_equal(s.rows[0].auth, "form");
	assert_string_equal(s.rows[1].protocol, "MAPI");
	assert_string_equal(s.rows[1].operation, "Connect");
	assert_string_equal(s.rows[2].protocol, "RPC");
	assert_string_equal(s.rows[2].operation, "RPC_IN_DATA");
	assert_true(s.rows[4].final);
	assert_false(s.rows[4].evaluate); /* judged once, at the response */
	assert_int_equal(s.rows[4].status, 200);
	assert_int_equal(s.rows[4].slot, s.rows[2].slot); /* same row, updated */
	assert_false(s.rows[2].evaluate);
	exch_conn_free(c);
}

static void test_non_exchange_only_with_all_http(void **state)
{
	(void)state;
	for (int all = 0; all < 2; all++) {
		struct sink s = {0};
		struct exch_conn *c = exch_conn_new(all, on_txn, &s);
		struct http_tx a = {
		    .method = "GET", .uri = "/search?q=/EWS/Exchange.asmx", .status = 200};
		struct http_tx b = {.method = "GET", .uri = "/%45WS/Exchange.asmx", .status = 200};
		txn(c, 0, &a, NULL, NULL, 0);
		txn(c, 1, &b, NULL, NULL, 0);
		assert_int_equal(s.n, all ? 2 : 1);
		assert_string_equal(s.rows[s.n - 1].protocol, "EWS");
		if (all)
			assert_string_equal(s.rows[0].protocol, "NULL");
		exch_conn_free(c);
	}
}

/* Open transactions at free are dropped without a call (http_conn_free
 * closes them first in the sensor); nothing leaks (ASan). */
static void test_free_with_open_transactions(void **state)
{
	struct sink s = {0};
	struct exch_conn *c = exch_conn_new(false, on_txn, &s);
	(void)state;
	struct http_tx tx = {.method = "POST", .uri = "/EWS/Exchange.asmx"};
	ev(c, HTTP_REQUEST_HEADERS, 0, &tx, NULL, 0);
	ev(c, HTTP_REQUEST_BODY, 0, &tx, "<soap:Env", 9);
	exch_conn_free(c);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_eas_refusal_codes),
	    cmocka_unit_test(test_eas_wbxml_status),
	    cmocka_unit_test(test_ntlm_binds_connection),
	    cmocka_unit_test(test_ews_operation_basic_user),
	    cmocka_unit_test(test_owa_form_mapi_rpc),
	    cmocka_unit_test(test_non_exchange_only_with_all_http),
	    cmocka_unit_test(test_free_with_open_transactions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
