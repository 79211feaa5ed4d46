/* test_jwt.c — JWT claims (RFC 7519) and the bounded JSON scanner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "jwt.h"

/* base64url without padding (RFC 7515 §2). */
static size_t b64url(const char *in, size_t len, char *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *p = (const uint8_t *)in;
	size_t e = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		out[e++] = al[v >> 18 & 63];
		out[e++] = al[v >> 12 & 63];
		if (i + 1 < len)
			out[e++] = al[v >> 6 & 63];
		if (i + 2 < len)
			out[e++] = al[v & 63];
	}
	out[e] = '\0';
	return e;
}

static char tokbuf[40000];

/* header.payload.signature with a fixed RS256 header and fake signature. */
static size_t make(const char *payload, size_t plen)
{
	static const char hdr[] = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"abc\"}";
	size_t n = b64url(hdr, strlen(hdr), tokbuf);
	tokbuf[n++] = '.';
	n += b64url(payload, plen, tokbuf + n);
	tokbuf[n++] = '.';
	memcpy(tokbuf + n, "c2lnbmF0dXJl", 12);
	n += 12;
	tokbuf[n] = '\0';
	return n;
}

static enum jwt_result parse(const char *payload, struct jwt_claims *c)
{
	size_t n = make(payload, strlen(payload));
	return jwt_parse(tokbuf, n, c);
}

static void upn_and_unique_name(void **state)
{
	struct jwt_claims c;
	(void)state;
	assert_int_equal(
	    parse("{\"aud\":\"https://outlook.office365.com\",\"iss\":\"x\","
	          "\"unique_name\":\"alice@contoso.com\",\"upn\":\"Alice@contoso.com\","
	          "\"oid\":\"1234\",\"exp\":1700000000,\"amr\":[\"pwd\",\"mfa\"]}",
	          &c),
	    JWT_OK);
	assert_string_equal(c.upn, "Alice@contoso.com");
	assert_string_equal(c.unique_name, "alice@contoso.com");
	assert_string_equal(c.oid, "1234");
	assert_string_equal(jwt_user(&c), "Alice@contoso.com");

	assert_int_equal(parse("{\"unique_name\":\"CONTOSO\\\\bob\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "");
	assert_string_equal(jwt_user(&c), "CONTOSO\\bob");

	assert_int_equal(parse(" {\"preferred_username\" : \"carol@x\" } \n", &c), JWT_OK);
	assert_string_equal(jwt_user(&c), "carol@x");

	assert_int_equal(parse("{}", &c), JWT_OK);
	assert_null(jwt_user(&c));
	assert_null(jwt_user(NULL));
}

static void escapes(void **state)
{
	struct jwt_claims c;
	(void)state;
	assert_int_equal(parse("{\"upn\":\"al\\u0069ce\\/x\\\"q\\\\\\b\\t@c.com\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "alice/x\"q\\\b\t@c.com");
	/* Surrogate pair, BMP, lone surrogates, \u0000. */
	assert_int_equal(parse("{\"upn\":\"\\ud83D\\uDE00\\u00fc\\ud800x\\udc00\\u0000\"}", &c),
	                 JWT_OK);
	assert_string_equal(c.upn, "\xF0\x9F\x98\x80\xC3\xBC\xEF\xBF\xBDx\xEF\xBF\xBD\xEF\xBF\xBD");
	/* Escaped key names match too. */
	assert_int_equal(parse("{\"\\u0075pn\":\"k\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "k");
	/* Raw UTF-8 passes through. */
	assert_int_equal(parse("{\"upn\":\"j\xC3\xBCrgen@x\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "j\xC3\xBCrgen@x");
}

static void nesting_and_duplicates(void **state)
{
	struct jwt_claims c;
	(void)state;
	assert_int_equal(parse("{\"a\":{\"upn\":\"nested\",\"b\":[1,{\"upn\":\"n2\"}]},"
	                       "\"c\":[[],{},\"}\",\"]\"],\"upn\":\"top\",\"upn\":\"second\","
	                       "\"d\":-1.5e+3,\"e\":true,\"f\":null,\"g\":false}",
	                       &c),
	                 JWT_OK);
	assert_string_equal(c.upn, "top");
	/* Non-string upn is skipped; the next claim is used. */
	assert_int_equal(parse("{\"upn\":123,\"unique_name\":\"u\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "");
	assert_string_equal(jwt_user(&c), "u");
	assert_int_equal(parse("{\"upn\":{\"x\":\"y\"},\"upn\":\"later\"}", &c), JWT_OK);
	assert_string_equal(c.upn, "later");

	/* JWT_DEPTH_MAX - 1 levels inside a member are fine, deeper is not. */
	char p[512];
	size_t n = (size_t)snprintf(p, sizeof(p), "{\"x\":");
	for (int i = 0; i < JWT_DEPTH_MAX - 1; i++)
		p[n++] = '[';
	for (int i = 0; i < JWT_DEPTH_MAX - 1; i++)
		p[n++] = ']';
	memcpy(p + n, ",\"upn\":\"deep\"}", 15);
	assert_int_equal(parse(p, &c), JWT_OK);
	assert_string_equal(c.upn, "deep");
	n = (size_t)snprintf(p, sizeof(p), "{\"x\":");
	for (int i = 0; i < 200; i++)
		p[n++] = '[';
	p[n] = '\0';
	assert_int_equal(parse(p, &c), JWT_GIVE_UP);
}

static void malformed(void **state)
{
	struct jwt_claims c;
	(void)state;
	static const char *const bad_json[] = {
	    "[]",
	    "\"upn\"",
	    "{\"upn\":\"a\"",
	    "{\"upn\":\"a\"} x",
	    "{\"upn\":\"a\nb\"}",
	    "{\"upn\":\"\\x\"}",
	    "{\"upn\":\"\\u12\"}",
	    "{\"upn\" \"a\"}",
	    "{\"upn\":}",
	    "{,}",
	    "{\"a\":1,}",
	    "{\"a\":[1,]}",
	    "{\"a\":tru}",
	    "{upn:\"a\"}",
	    "",
	    "{\"a\":[}",
	};
	for (size_t i = 0; i < sizeof(bad_json) / sizeof(bad_json[0]); i++)
		if (parse(bad_json[i], &c) != JWT_GIVE_UP)
			fail_msg("accepted: %s", bad_json[i]);

	static const char *const bad_tok[] = {
	    "abc",       "abc.def",   "a.b.c.d",       "a.b.c.d.e", /* JWE */
	    ".eyJ9.sig", "eyJ9..sig", "eyJ9.e$J9.sig", "eyJ9.eyJ9",
	};
	for (size_t i = 0; i < sizeof(bad_tok) / sizeof(bad_tok[0]); i++)
		assert_int_equal(jwt_parse(bad_tok[i], strlen(bad_tok[i]), &c), JWT_GIVE_UP);
	/* An empty signature (alg "none") is still a well-formed JWS. */
	size_t n = make("{\"upn\":\"a\"}", 11);
	while (tokbuf[n - 1] != '.')
		n--;
	assert_int_equal(jwt_parse(tokbuf, n, &c), JWT_OK);
	assert_string_equal(c.upn, "a");
	assert_int_equal(jwt_parse(NULL, 0, &c), JWT_GIVE_UP);
	assert_int_equal(jwt_parse("a.b.c", 5, NULL), JWT_GIVE_UP);
}

static void bounds(void **state)
{
	struct jwt_claims c;
	static char p[JWT_PAYLOAD_MAX + 64];
	(void)state;
	/* Payload too large. */
	memset(p, ' ', sizeof(p));
	p[0] = '{';
	p[sizeof(p) - 2] = '}';
	p[sizeof(p) - 1] = '\0';
	assert_int_equal(parse(p, &c), JWT_TOO_LARGE);
	/* Long claim: truncated, still a clean prefix. */
	size_t n = (size_t)snprintf(p, sizeof(p), "{\"upn\":\"");
	memset(p + n, 'u', 400);
	n += 400;
	memcpy(p + n, "\"}", 3);
	assert_int_equal(parse(p, &c), JWT_OK);
	assert_true(c.truncated);
	assert_int_equal(strlen(c.upn), JWT_CLAIM_MAX - 1);

	/* Every prefix of a token: an error, or (cut inside the signature) the
	 * same claims — never a different user. */
	n = make("{\"upn\":\"alice@contoso.com\",\"x\":[1,2,3]}", 38);
	for (size_t i = 0; i <= n; i++) {
		memset(&c, 0, sizeof(c));
		enum jwt_result r = jwt_parse(tokbuf, i, &c);
		if (r == JWT_OK)
			assert_string_equal(c.upn, "alice@contoso.com");
		else
			assert_int_equal(r, JWT_GIVE_UP);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(upn_and_unique_name),
	    cmocka_unit_test(escapes),
	    cmocka_unit_test(nesting_and_duplicates),
	    cmocka_unit_test(malformed),
	    cmocka_unit_test(bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
