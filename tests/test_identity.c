/* test_identity.c — user normalisation, Authorization headers (Basic, NTLM,
 * Negotiate, Bearer) and the OWA form login. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "identity.h"

static size_t b64(const void *in, size_t len, char *out, bool url)
{
	static const char std[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *al = url ? u : std;
	const uint8_t *p = in;
	size_t e = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[e++] = al[v >> 18 & 63];
		out[e++] = al[v >> 12 & 63];
		if (i + 1 < len || !url)
			out[e++] = i + 1 < len ? al[v >> 6 & 63] : '=';
		if (i + 2 < len || !url)
			out[e++] = i + 2 < len ? al[v & 63] : '=';
	}
	out[e] = '\0';
	return e;
}

static char hdr[20000];

static size_t header(const char *scheme, const void *cred, size_t n)
{
	size_t k = (size_t)snprintf(hdr, sizeof(hdr), "%s ", scheme);
	return k + b64(cred, n, hdr + k, false);
}

static void normalize(void **state)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
	    {"alice", "alice"},
	    {"CONTOSO\\Alice", "alice"},
	    {"Alice@Contoso.COM", "alice"},
	    {"contoso.com\\ALICE@contoso.com", "alice"},
	    {"  Bob  ", "bob"},
	    {" DOM\\ bob @x", "bob"},
	    {"A\\B\\Carol", "carol"},
	    {"J\xC3\x9CRGEN@x", "j\xC3\x9Crgen"}, /* only ASCII is lowered */
	    {"@contoso.com", ""},
	    {"CONTOSO\\", ""},
	    {"", ""},
	};
	char out[IDENTITY_USER_MAX];
	bool trunc = true;
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t n = identity_normalize_user(rows[i].in, strlen(rows[i].in), out, sizeof(out),
		                                   &trunc);
		assert_string_equal(out, rows[i].out);
		assert_int_equal(n, strlen(rows[i].out));
		assert_false(trunc);
	}
	/* An embedded NUL ends the name (and a '\' after it is ignored). */
	assert_int_equal(identity_normalize_user("ab\0c\\d", 6, out, sizeof(out), NULL), 2);
	assert_string_equal(out, "ab");
	char small[4];
	assert_int_equal(identity_normalize_user("Abcdef", 6, small, sizeof(small), &trunc), 3);
	assert_string_equal(small, "abc");
	assert_true(trunc);
}

static void basic(void **state)
{
	struct identity id;
	(void)state;
	const char cred[] = "CONTOSO\\Alice:p@ss:w0rd";
	size_t n = header("Basic", cred, strlen(cred));
	assert_int_equal(identity_from_authorization(hdr, n, &id), IDENTITY_OK);
	assert_int_equal(id.auth, IDENTITY_AUTH_BASIC);
	assert_string_equal(identity_auth_name(id.auth), "basic");
	assert_string_equal(id.user, "alice");
	/* The password is nowhere in the result. */
	assert_null(memmem(&id, sizeof(id), "p@ss", 4));

	/* Scheme case, surrounding whitespace, no padding. */
	char v[128];
	size_t k = (size_t)snprintf(v, sizeof(v), "  bAsIc   ");
	k += b64("bob@contoso.com:x", 17, v + k, true);
	memcpy(v + k, "  ", 3);
	assert_int_equal(identity_from_authorization(v, k + 2, &id), IDENTITY_OK);
	assert_string_equal(id.user, "bob");

	/* Latin-1 user. */
	n = header("Basic", "J\xFCrgen:x", 8);
	assert_int_equal(identity_from_authorization(hdr, n, &id), IDENTITY_OK);
	assert_string_equal(id.user, "j\xC3\xBCrgen");

	/* Malformed. */
	n = header("Basic", "nocolon", 7);
	assert_int_equal(identity_from_authorization(hdr, n, &id), IDENTITY_GIVE_UP);
	assert_int_equal(identity_from_authorization("Basic !!!!", 10, &id), IDENTITY_GIVE_UP);
	assert_int_equal(identity_from_authorization("Basic", 5, &id), IDENTITY_GIVE_UP);
	assert_int_equal(identity_from_authorization("Basic YTpi YTpi", 15, &id), IDENTITY_GIVE_UP);
	n = header("Basic", ":pw", 3);
	assert_int_equal(identity_from_authorization(hdr, n, &id), IDENTITY_NO_USER);
	static char huge[3000];
	memset(huge, 'a', sizeof(huge));
	huge[1500] = ':';
	n = header("Basic", huge, sizeof(huge));
	assert_int_equal(identity_from_authorization(hdr, n, &id), IDENTITY_GIVE_UP);
}

static void schemes(void **state)
{
	struct identity id;
	(void)state;
	assert_int_equal(identity_auth_scheme("NTLM TlRM", 9), IDENTITY_AUTH_NTLM);
	assert_int_equal(identity_auth_scheme("negotiate x", 11), IDENTITY_AUTH_NEGOTIATE);
	assert_int_equal(identity_auth_scheme("Bearer x", 8), IDENTITY_AUTH_BEARER);
	assert_int_equal(identity_auth_scheme("Digest x", 8), IDENTITY_AUTH_NONE);
	assert_int_equal(identity_auth_scheme("Basicx y", 8), IDENTITY_AUTH_NONE);
	assert_int_equal(identity_from_authorization("Digest username=\"a\"", 19, &id),
	                 IDENTITY_UNKNOWN_SCHEME);
	assert_int_equal(identity_from_authorization("", 0, &id), IDENTITY_UNKNOWN_SCHEME);
	assert_string_equal(identity_auth_name(IDENTITY_AUTH_NONE), "none");
	assert_string_equal(identity_auth_name(IDENTITY_AUTH_NTLM), "ntlm");
	assert_string_equal(identity_auth_name(IDENTITY_AUTH_NEGOTIATE), "negotiate");
	assert_string_equal(identity_auth_name(IDENTITY_AUTH_BEARER), "bearer");
	assert_string_equal(identity_auth_name(IDENTITY_AUTH_FORM), "form");
}

/* Minimal AUTHENTICATE: Unicode, user and domain at 64. */
static size_t type3(uint8_t *m, const char *dom, const char *user)
{
	size_t off = 64, dl = strlen(dom) * 2, ul = strlen(user) * 2;
	memset(m, 0, 64);
	memcpy(m, "NTLMSSP\0\3\0\0\0", 12);
	m[28] = m[30] = (uint8_t)dl;
	m[32] = (uint8_t)off;
	for (size_t i = 0; dom[i]; i++)
		m[off + 2 * i] = (uint8_t)dom[i], m[off + 2 * i + 1] = 0;
	off += dl;
	m[36] = m[38] = (uint8_t)ul;
	m[40] = (uint8_t)off;
	for (size_t i = 0; user[i]; i++)
		m[off + 2 * i] = (uint8_t)user[i], m[off + 2 * i + 1] = 0;
	off += ul;
	m[20] = m[22] = 16; /* NT response */
	m[24] = (uint8_t)off;
	memset(m + off, 0x33, 16);
	off += 16;
	m[60] = 0x01; /* NTLMSSP_NEGOTIATE_UNICODE */
	return off;
}

static void ntlm_and_negotiate(void **state)
{
	struct identity id;
	uint8_t m[256], tok[300];
	(void)state;
	size_t n = type3(m, "CONTOSO", "Alice");
	size_t k = header("NTLM", m, n);
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_OK);
	assert_int_equal(id.auth, IDENTITY_AUTH_NTLM);
	assert_string_equal(id.user, "alice");

	/* SPNEGO NegTokenResp { [2] responseToken }. */
	size_t t = 0;
	tok[t++] = 0xa1;
	tok[t++] = (uint8_t)(n + 6);
	tok[t++] = 0x30;
	tok[t++] = (uint8_t)(n + 4);
	tok[t++] = 0xa2;
	tok[t++] = (uint8_t)(n + 2);
	tok[t++] = 0x04;
	tok[t++] = (uint8_t)n;
	memcpy(tok + t, m, n);
	k = header("Negotiate", tok, t + n);
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_OK);
	assert_int_equal(id.auth, IDENTITY_AUTH_NEGOTIATE);
	assert_string_equal(id.user, "alice");

	/* Type 1: scheme known, no user yet. */
	static const uint8_t t1[] = {'N', 'T', 'L', 'M', 'S', 'S',  'P', 0,
	                             1,   0,   0,   0,   7,   0x82, 8,   0xa2};
	k = header("NTLM", t1, sizeof(t1));
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_NO_USER);
	assert_int_equal(id.auth, IDENTITY_AUTH_NTLM);
	assert_string_equal(id.user, "");

	/* Kerberos. */
	static const uint8_t krb[] = {0x60, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
	                              0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00};
	k = header("Negotiate", krb, sizeof(krb));
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_NO_USER);
	assert_true(id.kerberos);

	/* Anonymous NTLM: no user. */
	n = type3(m, "", "");
	m[20] = m[22] = 0;
	k = header("NTLM", m, n);
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_NO_USER);

	/* Garbage, and an oversized token. */
	k = header("NTLM", "garbage!", 8);
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_GIVE_UP);
	static uint8_t big[IDENTITY_TOKEN_MAX + 3];
	memset(big, 0x60, sizeof(big));
	k = header("Negotiate", big, sizeof(big));
	assert_int_equal(identity_from_authorization(hdr, k, &id), IDENTITY_NO_USER);
}

static void bearer(void **state)
{
	struct identity id;
	char tok[512];
	(void)state;
	const char *h = "{\"alg\":\"RS256\"}";
	const char *p = "{\"unique_name\":\"x@y\",\"upn\":\"Carol@Contoso.com\"}";
	size_t k = (size_t)snprintf(tok, sizeof(tok), "Bearer ");
	k += b64(h, strlen(h), tok + k, true);
	tok[k++] = '.';
	k += b64(p, strlen(p), tok + k, true);
	memcpy(tok + k, ".c2ln", 6);
	k += 5;
	assert_int_equal(identity_from_authorization(tok, k, &id), IDENTITY_OK);
	assert_int_equal(id.auth, IDENTITY_AUTH_BEARER);
	assert_string_equal(id.user, "carol");
	assert_int_equal(identity_from_authorization("Bearer abc", 10, &id), IDENTITY_GIVE_UP);
	/* A JWT without user claims. */
	p = "{\"appid\":\"1\"}";
	k = (size_t)snprintf(tok, sizeof(tok), "Bearer eyJ9.");
	k += b64(p, strlen(p), tok + k, true);
	memcpy(tok + k, ".", 2);
	k += 1;
	assert_int_equal(identity_from_authorization(tok, k, &id), IDENTITY_NO_USER);
}

static void owa_form(void **state)
{
	struct identity id;
	(void)state;
	const char *body = "destination=https%3A%2F%2Fmail.contoso.com%2Fowa%2F&flags=4"
	                   "&forcedownlevel=0&username=CONTOSO%5CDave&password=hunter2"
	                   "&passwordText=&isUtf8=1";
	size_t len = strlen(body);
	assert_int_equal(identity_from_owa_form(body, len, true, &id), IDENTITY_OK);
	assert_int_equal(id.auth, IDENTITY_AUTH_FORM);
	assert_string_equal(id.user, "dave");
	assert_null(memmem(&id, sizeof(id), "hunter2", 7));

	/* Every split point: NEED_MORE, then the answer once '&' ends the value. */
	size_t end = (size_t)(strstr(body, "&password") - body);
	for (size_t i = 0; i <= len; i++) {
		memset(&id, 0, sizeof(id));
		enum identity_result r = identity_from_owa_form(body, i, false, &id);
		if (i <= end) {
			assert_int_equal(r, IDENTITY_NEED_MORE);
		} else {
			assert_int_equal(r, IDENTITY_OK);
			assert_string_equal(id.user, "dave");
		}
	}
	assert_int_equal(identity_from_owa_form("password=x", 10, true, &id), IDENTITY_NO_USER);
	assert_int_equal(identity_from_owa_form("username=&p=1", 13, true, &id), IDENTITY_NO_USER);
	assert_int_equal(identity_from_owa_form("username=%40x", 13, true, &id), IDENTITY_NO_USER);
	assert_int_equal(identity_from_owa_form("username=a+b", 12, true, &id), IDENTITY_OK);
	assert_string_equal(id.user, "a b");
}

/* A name cut by the buffer never ends inside a UTF-8 character. */
static void normalize_cut_utf8(void **state)
{
	char in[64], out[8];
	bool trunc = false;
	(void)state;
	for (int i = 0; i < 10; i++)
		memcpy(in + 2 * i, "\xc3\xa9", 2); /* "é" x 10 */
	size_t n = identity_normalize_user(in, 20, out, sizeof(out), &trunc);
	assert_true(trunc);
	assert_int_equal(n, 6); /* three whole characters, not 3.5 */
	assert_memory_equal(out, "\xc3\xa9\xc3\xa9\xc3\xa9", 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(normalize_cut_utf8),
	    cmocka_unit_test(normalize),
	    cmocka_unit_test(basic),
	    cmocka_unit_test(schemes),
	    cmocka_unit_test(ntlm_and_negotiate),
	    cmocka_unit_test(bearer),
	    cmocka_unit_test(owa_form),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
