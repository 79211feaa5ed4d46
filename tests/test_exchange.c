/* test_exchange.c — IIS path normalisation, endpoint classification, the
 * ActiveSync query (plain and base64) and the form-field finder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "exchange.h"

struct norm_row {
	const char *target;
	const char *path; /* NULL: EXCHANGE_GIVE_UP */
	enum exchange_proto proto;
};

static const struct norm_row rows[] = {
    {"/", "/", EXCHANGE_NONE},
    {"/EWS/Exchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"/ews/exchange.asmx", "/ews/exchange.asmx", EXCHANGE_EWS},
    {"/EWS", "/EWS", EXCHANGE_EWS},
    {"/EWSfoo/Exchange.asmx", "/EWSfoo/Exchange.asmx", EXCHANGE_NONE},
    {"/xEWS/", "/xEWS/", EXCHANGE_NONE},
    {"/search?q=/EWS/Exchange.asmx", "/search", EXCHANGE_NONE},
    {"/%45WS/Exchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"/%u0045WS/Exchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"/foo/../EWS/x", "/EWS/x", EXCHANGE_EWS},
    {"/../../EWS/", "/EWS/", EXCHANGE_EWS},
    {"/%2e%2e/%2E/EWS/./x", "/EWS/x", EXCHANGE_EWS},
    {"//EWS//Exchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"\\EWS\\Exchange.asmx", NULL, EXCHANGE_NONE}, /* not origin-form */
    {"/%5CEWS%5CExchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"/owa\\..\\EWS\\x", "/EWS/x", EXCHANGE_EWS},
    {"/EWS%2F..%2Fowa", "/owa", EXCHANGE_OWA},
    {"/%252FEWS", "/%2FEWS", EXCHANGE_NONE},     /* decoded once only */
    {"/%00EWS", "/%00EWS", EXCHANGE_NONE},       /* NUL kept literally */
    {"/%zzEWS/%4", "/%zzEWS/%4", EXCHANGE_NONE}, /* invalid escapes literal */
    {"/EWS%3F/x", "/EWS?/x", EXCHANGE_NONE},     /* %3F is not a query */
    {"/EWS#/frag", "/EWS", EXCHANGE_EWS},
    {"/owa", "/owa", EXCHANGE_OWA},
    {"/owa/", "/owa/", EXCHANGE_OWA},
    {"/OWA/auth.owa", "/OWA/auth.owa", EXCHANGE_OWA},
    {"/owaX", "/owaX", EXCHANGE_NONE},
    {"/owa.", "/owa.", EXCHANGE_NONE},
    {"/Microsoft-Server-ActiveSync?Cmd=Sync", "/Microsoft-Server-ActiveSync", EXCHANGE_EAS},
    {"/microsoft-server-activesync/default.eas", "/microsoft-server-activesync/default.eas",
     EXCHANGE_EAS},
    {"/Microsoft-Server-ActiveSyncX", "/Microsoft-Server-ActiveSyncX", EXCHANGE_NONE},
    {"/rpc/rpcproxy.dll?mbx01.contoso.com:6001", "/rpc/rpcproxy.dll", EXCHANGE_RPC},
    {"/rpc/", "/rpc/", EXCHANGE_NONE},
    {"/mapi/emsmdb/?MailboxId=x@contoso.com", "/mapi/emsmdb/", EXCHANGE_MAPI},
    {"/mapi/nspi", "/mapi/nspi", EXCHANGE_MAPI},
    {"/mapi/", "/mapi/", EXCHANGE_NONE},
    {"/Autodiscover/Autodiscover.xml", "/Autodiscover/Autodiscover.xml", EXCHANGE_AUTODISCOVER},
    {"/OAB/1234/oab.xml", "/OAB/1234/oab.xml", EXCHANGE_OAB},
    {"/ecp/", "/ecp/", EXCHANGE_ECP},
    {"/PowerShell?serializationLevel=Full", "/PowerShell", EXCHANGE_POWERSHELL},
    {"http://mail.contoso.com/EWS/Exchange.asmx", "/EWS/Exchange.asmx", EXCHANGE_EWS},
    {"HTTPS://mail.contoso.com:443/owa/", "/owa/", EXCHANGE_OWA},
    {"https://mail.contoso.com", "/", EXCHANGE_NONE},
    {"https://mail.contoso.com?x=/EWS/", "/", EXCHANGE_NONE},
    {"ftp://mail/EWS/", NULL, EXCHANGE_NONE},
    {"mail.contoso.com:443", NULL, EXCHANGE_NONE},
    {"*", NULL, EXCHANGE_NONE},
    {"", NULL, EXCHANGE_NONE},
    {"/a/b/..", "/a/", EXCHANGE_NONE},
    {"/a/b/.", "/a/b/", EXCHANGE_NONE},
    {"/..", "/", EXCHANGE_NONE},
    {"/...", "/...", EXCHANGE_NONE},
};

static void normalize_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char out[256];
		bool trunc = true;
		const struct norm_row *r = &rows[i];
		enum exchange_result res =
		    exchange_path_normalize(r->target, strlen(r->target), out, sizeof(out), &trunc);
		if (!r->path) {
			assert_int_equal(res, EXCHANGE_GIVE_UP);
		} else {
			assert_int_equal(res, EXCHANGE_OK);
			if (strcmp(out, r->path))
				fail_msg("%s: got %s want %s", r->target, out, r->path);
			assert_false(trunc);
		}
		if (exchange_classify(r->target, strlen(r->target)) != r->proto)
			fail_msg("%s: class %d want %d", r->target,
			         exchange_classify(r->target, strlen(r->target)), r->proto);
	}
}

static void normalize_truncation(void **state)
{
	char big[1200], out[32];
	bool trunc = false;
	(void)state;

	/* A first segment longer than the buffer, then ".." — still exact. */
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	memcpy(big + 1000, "/../EWS/x", 9);
	size_t n = 1009;
	assert_int_equal(exchange_path_normalize(big, n, out, sizeof(out), &trunc), EXCHANGE_OK);
	assert_string_equal(out, "/EWS/x");
	assert_false(trunc);
	assert_int_equal(exchange_classify(big, n), EXCHANGE_EWS);

	/* Too long: whole segments are left out, the prefix stays exact. */
	const char *p = "/EWS/aaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbb/c";
	assert_int_equal(exchange_path_normalize(p, strlen(p), out, sizeof(out), &trunc),
	                 EXCHANGE_OK);
	assert_true(trunc);
	assert_string_equal(out, "/EWS/aaaaaaaaaa");
	assert_int_equal(exchange_classify(p, strlen(p)), EXCHANGE_EWS);

	/* Hidden segments are popped first by "..". */
	p = "/x/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb/../y";
	assert_int_equal(exchange_path_normalize(p, strlen(p), out, sizeof(out), &trunc),
	                 EXCHANGE_OK);
	assert_false(trunc);
	assert_string_equal(out, "/x/y");

	/* Tiny buffers. */
	char two[2];
	assert_int_equal(exchange_path_normalize("/EWS", 4, two, sizeof(two), &trunc), EXCHANGE_OK);
	assert_string_equal(two, "/");
	assert_true(trunc);
	assert_int_equal(exchange_path_normalize("/EWS", 4, two, 1, &trunc), EXCHANGE_GIVE_UP);

	/* Thousands of ".." segments: bounded work, root. */
	static char dots[30001];
	for (size_t i = 0; i < 10000; i++)
		memcpy(dots + 3 * i, "/..", 3);
	assert_int_equal(exchange_path_normalize(dots, 30000, out, sizeof(out), NULL), EXCHANGE_OK);
	assert_string_equal(out, "/");
}

static void proto_names(void **state)
{
	(void)state;
	assert_null(exchange_proto_name(EXCHANGE_NONE));
	assert_string_equal(exchange_proto_name(EXCHANGE_EAS), "EAS");
	assert_string_equal(exchange_proto_name(EXCHANGE_EWS), "EWS");
	assert_string_equal(exchange_proto_name(EXCHANGE_RPC), "RPC");
	assert_string_equal(exchange_proto_name(EXCHANGE_MAPI), "MAPI");
	assert_string_equal(exchange_proto_name(EXCHANGE_OWA), "OWA");
	assert_string_equal(exchange_proto_name(EXCHANGE_AUTODISCOVER), "AUTODISCOVER");
	assert_string_equal(exchange_proto_name(EXCHANGE_OAB), "OAB");
	assert_string_equal(exchange_proto_name(EXCHANGE_ECP), "ECP");
	assert_string_equal(exchange_proto_name(EXCHANGE_POWERSHELL), "POWERSHELL");
	assert_null(exchange_proto_name((enum exchange_proto)99));
}

static void eas_plain(void **state)
{
	struct exchange_eas_query q;
	(void)state;
	const char *t = "/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC"
	                "&DeviceType=iPhone";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_OK);
	assert_false(q.base64);
	assert_string_equal(q.cmd, "Sync");
	assert_string_equal(q.user, "alice");
	assert_string_equal(q.device_id, "ABC");
	assert_string_equal(q.device_type, "iPhone");
	assert_int_equal(q.cmd_code, -1);

	t = "/Microsoft-Server-ActiveSync/?deviceTYPE=Android&cmd=Ping&USER=CONTOSO%5Cbob+x"
	    "&DEVICEID=%41%42#frag&User=evil";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_OK);
	assert_string_equal(q.cmd, "Ping");
	assert_string_equal(q.user, "CONTOSO\\bob x");
	assert_string_equal(q.device_id, "AB");
	assert_string_equal(q.device_type, "Android");

	/* MS-ASHTTP 2.2.1.1.1 plain example. */
	t = "/Microsoft-Server-ActiveSync?Cmd=Sync&User=rmjones&DeviceId=v140Device"
	    "&DeviceType=SmartPhone";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_OK);
	assert_string_equal(q.user, "rmjones");

	/* No query (OPTIONS): not found. */
	t = "/Microsoft-Server-ActiveSync";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_NOT_FOUND);
	t = "/Microsoft-Server-ActiveSync?";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_NOT_FOUND);
}

/* MS-ASHTTP 2.2.1.1.1.1 gives this example; it is the base64 form of the
 * plain example above (protocol 14.0, Sync, en-us, v140Device, SmartPhone). */
static void eas_base64_spec_example(void **state)
{
	struct exchange_eas_query q;
	(void)state;
	const char *t = "/Microsoft-Server-ActiveSync?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l";
	assert_int_equal(exchange_eas_query(t, strlen(t), &q), EXCHANGE_OK);
	assert_true(q.base64);
	assert_int_equal(q.protocol_version, 140);
	assert_int_equal(q.cmd_code, 0);
	assert_string_equal(q.cmd, "Sync");
	assert_int_equal(q.locale, 0x0409);
	assert_string_equal(q.device_id, "v140Device");
	assert_false(q.has_policy_key);
	assert_string_equal(q.device_type, "SmartPhone");
	assert_string_equal(q.user, "");
	assert_false(q.truncated);
}

static size_t b64enc(const uint8_t *in, size_t len, char *out, bool pct)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t e = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		char c[4] = {al[v >> 18 & 63], al[v >> 12 & 63],
		             i + 1 < len ? al[v >> 6 & 63] : '=', i + 2 < len ? al[v & 63] : '='};
		for (int k = 0; k < 4; k++) {
			if (pct && (c[k] == '+' || c[k] == '/' || c[k] == '=')) {
				e += (size_t)snprintf(out + e, 4, "%%%02X", (unsigned)c[k]);
			} else {
				out[e++] = c[k];
			}
		}
	}
	out[e] = '\0';
	return e;
}

static size_t eas_target(const uint8_t *bin, size_t n, char *t, bool pct)
{
	size_t p = (size_t)snprintf(t, 64, "/Microsoft-Server-ActiveSync?");
	return p + b64enc(bin, n, t + p, pct);
}

static void eas_base64_full(void **state)
{
	struct exchange_eas_query q;
	char t[1024];
	(void)state;
	/* 16.1, Provision (20), de-de 0x0407, binary GUID device id, policy key
	 * 0x11223344, "iPhone", params Options(7)=1 and User(8)="CONTOSO\alice". */
	static const uint8_t bin[] = {
	    161,  20,   0x07, 0x04, 16,   0x8f, 0x01, 0xfe, 0xff, 0x00, 0x10, 0x20, 0x30, 0x40,
	    0x50, 0x60, 0x70, 0x80, 0x90, 0xa0, 0xb0, 4,    0x44, 0x33, 0x22, 0x11, 6,    'i',
	    'P',  'h',  'o',  'n',  'e',  7,    1,    0x01, 1,    2,    'x',  'y',  8,    13,
	    'C',  'O',  'N',  'T',  'O',  'S',  'O',  '\\', 'a',  'l',  'i',  'c',  'e',
	};
	for (int pct = 0; pct < 2; pct++) {
		size_t n = eas_target(bin, sizeof(bin), t, pct);
		assert_int_equal(exchange_eas_query(t, n, &q), EXCHANGE_OK);
		assert_true(q.base64);
		assert_int_equal(q.protocol_version, 161);
		assert_string_equal(q.cmd, "Provision");
		assert_int_equal(q.locale, 0x0407);
		assert_string_equal(q.device_id, "8F01FEFF00102030405060708090A0B0");
		assert_true(q.has_policy_key);
		assert_int_equal(q.policy_key, 0x11223344);
		assert_string_equal(q.device_type, "iPhone");
		assert_string_equal(q.user, "CONTOSO\\alice");
	}
	/* Unknown command code: parsed, cmd empty. */
	uint8_t unk[] = {141, 99, 0, 0, 1, 'A', 0, 1, 'B'};
	size_t n = eas_target(unk, sizeof(unk), t, false);
	assert_int_equal(exchange_eas_query(t, n, &q), EXCHANGE_OK);
	assert_int_equal(q.cmd_code, 99);
	assert_string_equal(q.cmd, "");
}

static void eas_base64_hostile(void **state)
{
	struct exchange_eas_query q;
	char t[9000];
	(void)state;
	static const uint8_t good[] = {141, 9,   9,   4, 3, 'D', 'E', 'V', 0,
	                               2,   'W', 'P', 8, 3, 'b', 'o', 'b'};
	size_t n = eas_target(good, sizeof(good), t, false);
	assert_int_equal(exchange_eas_query(t, n, &q), EXCHANGE_OK);
	assert_string_equal(q.cmd, "FolderSync");
	assert_string_equal(q.user, "bob");

	/* Every truncation of the binary form (a prefix of the byte sequence)
	 * either fails or yields the same fields, never garbage. */
	for (size_t cut = 0; cut < sizeof(good); cut++) {
		n = eas_target(good, cut, t, false);
		enum exchange_result r = exchange_eas_query(t, n, &q);
		if (r == EXCHANGE_OK) {
			assert_string_equal(q.device_id, "DEV");
			assert_string_equal(q.device_type, "WP");
		} else {
			assert_true(r == EXCHANGE_GIVE_UP || r == EXCHANGE_NOT_FOUND);
		}
	}
	/* Lying lengths. */
	static const uint8_t lie_dev[] = {141, 0, 9, 4, 200, 'D'};
	static const uint8_t lie_pk[] = {141, 0, 9, 4, 1, 'D', 3, 1, 2, 3, 0};
	static const uint8_t lie_type[] = {141, 0, 9, 4, 1, 'D', 0, 9, 'x'};
	static const uint8_t lie_par[] = {141, 0, 9, 4, 1, 'D', 0, 1, 'x', 8, 50, 'a'};
	static const uint8_t zero_dev[] = {141, 0, 9, 4, 0, 0, 1, 'x'};
	const struct {
		const uint8_t *b;
		size_t n;
	} bad[] = {
	    {lie_dev, sizeof(lie_dev)}, {lie_pk, sizeof(lie_pk)},     {lie_type, sizeof(lie_type)},
	    {lie_par, sizeof(lie_par)}, {zero_dev, sizeof(zero_dev)},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = eas_target(bad[i].b, bad[i].n, t, false);
		assert_int_equal(exchange_eas_query(t, n, &q), EXCHANGE_GIVE_UP);
	}
	/* Not base64 and no plain keys. */
	const char *s = "/Microsoft-Server-ActiveSync?foo=bar";
	assert_int_equal(exchange_eas_query(s, strlen(s), &q), EXCHANGE_GIVE_UP);
	s = "/Microsoft-Server-ActiveSync?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25!";
	assert_int_equal(exchange_eas_query(s, strlen(s), &q), EXCHANGE_GIVE_UP);
	/* Oversized query. */
	n = (size_t)snprintf(t, 64, "/Microsoft-Server-ActiveSync?");
	memset(t + n, 'A', 8000);
	assert_int_equal(exchange_eas_query(t, n + 8000, &q), EXCHANGE_GIVE_UP);
	/* Longest possible user (u8 length 255) fits EXCHANGE_USER_MAX. */
	uint8_t lu[300] = {141, 0, 9, 4, 1, 'D', 0, 1, 'x', 8, 255};
	memset(lu + 11, 'u', 255);
	n = eas_target(lu, 11 + 255, t, false);
	assert_int_equal(exchange_eas_query(t, n, &q), EXCHANGE_OK);
	assert_false(q.truncated);
	assert_int_equal(strlen(q.user), 255);
}

static void form_field(void **state)
{
	char out[64];
	bool trunc;
	(void)state;
	const char *body = "destination=https%3A%2F%2Fmail%2Fowa%2F%3Fusername%3Dmallory"
	                   "&xusername=eve&flags=4&username=CONTOSO%5Calice+b&password=s3cr%26t"
	                   "&isUtf8=1";
	size_t len = strlen(body);
	assert_int_equal(exchange_form_field(body, len, "username", true, out, sizeof(out), &trunc),
	                 EXCHANGE_OK);
	assert_string_equal(out, "CONTOSO\\alice b");
	assert_false(trunc);

	/* Every prefix: NEED_MORE until the value is terminated, then the answer. */
	size_t end = (size_t)(strstr(body, "&password") - body);
	for (size_t i = 0; i <= len; i++) {
		memset(out, 0, sizeof(out));
		enum exchange_result r =
		    exchange_form_field(body, i, "username", false, out, sizeof(out), NULL);
		if (i <= end) {
			assert_int_equal(r, EXCHANGE_NEED_MORE);
		} else {
			assert_int_equal(r, EXCHANGE_OK);
			assert_string_equal(out, "CONTOSO\\alice b");
		}
	}
	assert_int_equal(exchange_form_field(body, len, "nope", true, out, sizeof(out), NULL),
	                 EXCHANGE_NOT_FOUND);
	assert_int_equal(exchange_form_field(body, len, "nope", false, out, sizeof(out), NULL),
	                 EXCHANGE_NEED_MORE);
	assert_int_equal(exchange_form_field("", 0, "a", true, out, sizeof(out), NULL),
	                 EXCHANGE_NOT_FOUND);
	assert_int_equal(exchange_form_field("a&b", 3, "b", true, out, sizeof(out), NULL),
	                 EXCHANGE_OK);
	assert_string_equal(out, "");
	assert_int_equal(exchange_form_field("%75ser=x", 8, "user", true, out, sizeof(out), NULL),
	                 EXCHANGE_OK);
	assert_string_equal(out, "x");
	/* Truncated value. */
	char small[4];
	assert_int_equal(
	    exchange_form_field("u=abcdef", 8, "u", true, small, sizeof(small), &trunc),
	    EXCHANGE_OK);
	assert_string_equal(small, "abc");
	assert_true(trunc);
}

/* Found by fuzzing (tests/fuzz, corpus exchange/): a trailing '/' that does
 * not fit is a truncation; a raw NUL in the path is refused. */
static void fuzz_regressions(void **state)
{
	char out[13];
	bool trunc = false;
	static const char slash[] = "/abcdefghijk/?x";
	(void)state;
	assert_int_equal(exchange_path_normalize(slash, strlen(slash), out, sizeof(out), &trunc),
	                 EXCHANGE_OK);
	assert_string_equal(out, "/abcdefghijk");
	assert_true(trunc);
	static const char nul[] = "/owa\0x/segment?q";
	char big[64];
	assert_int_equal(exchange_path_normalize(nul, sizeof(nul) - 1, big, sizeof(big), &trunc),
	                 EXCHANGE_GIVE_UP);
	assert_int_equal(exchange_classify(nul, sizeof(nul) - 1), EXCHANGE_NONE);
	/* %00 is not a raw NUL: kept literally, as IIS does. */
	assert_int_equal(exchange_path_normalize("/owa%00x/", 9, big, sizeof(big), &trunc),
	                 EXCHANGE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(normalize_table),  cmocka_unit_test(normalize_truncation),
	    cmocka_unit_test(fuzz_regressions), cmocka_unit_test(proto_names),
	    cmocka_unit_test(eas_plain),        cmocka_unit_test(eas_base64_spec_example),
	    cmocka_unit_test(eas_base64_full),  cmocka_unit_test(eas_base64_hostile),
	    cmocka_unit_test(form_field),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
