/* test_ntlm.c — NTLM AUTHENTICATE (MS-NLMP 2.2.1.3) and SPNEGO (RFC 4178). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ntlm.h"

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ASCII/Latin-1 string to the wire encoding. */
static size_t enc(const char *s, bool unicode, uint8_t *out)
{
	size_t n = 0;
	for (size_t i = 0; s[i]; i++) {
		out[n++] = (uint8_t)s[i];
		if (unicode)
			out[n++] = 0;
	}
	return n;
}

struct field {
	const uint8_t *p;
	size_t n;
};

/*
 * AUTHENTICATE with Version and MIC (payload at 88): domain, user,
 * workstation, then LM (24 bytes) and NT (48 bytes) responses last, so any
 * truncation cuts a referenced buffer.
 */
static size_t type3_raw(uint8_t *m, uint32_t flags, struct field dom, struct field user,
                        struct field ws, size_t nt_len)
{
	size_t off = 88;
	memset(m, 0, 88);
	memcpy(m, "NTLMSSP\0", 8);
	put32(m + 8, 3);
	const struct field f[3] = {dom, user, ws};
	const size_t at[3] = {28, 36, 44};
	for (int i = 0; i < 3; i++) {
		put16(m + at[i], (uint16_t)f[i].n);
		put16(m + at[i] + 2, (uint16_t)f[i].n);
		put32(m + at[i] + 4, (uint32_t)off);
		if (f[i].n)
			memcpy(m + off, f[i].p, f[i].n);
		off += f[i].n;
	}
	put16(m + 12, 24);
	put16(m + 14, 24);
	put32(m + 16, (uint32_t)off);
	memset(m + off, 0x11, 24);
	off += 24;
	put16(m + 20, (uint16_t)nt_len);
	put16(m + 22, (uint16_t)nt_len);
	put32(m + 24, (uint32_t)off);
	memset(m + off, 0x22, nt_len);
	off += nt_len;
	put32(m + 60, flags);
	m[64] = 10; /* Version: 10.0 build 19041 */
	put16(m + 66, 19041);
	m[71] = 15;
	return off;
}

static size_t type3(uint8_t *m, bool unicode, const char *dom, const char *user, const char *ws)
{
	uint8_t d[1024], u[1024], w[1024];
	struct field fd = {d, enc(dom, unicode, d)}, fu = {u, enc(user, unicode, u)},
	             fw = {w, enc(ws, unicode, w)};
	uint32_t flags = 0xE2888215u & ~(unicode ? 0 : NTLM_NEGOTIATE_UNICODE);
	if (!unicode)
		flags |= NTLM_NEGOTIATE_OEM;
	return type3_raw(m, flags, fd, fu, fw, 48);
}

static void type3_unicode(void **state)
{
	uint8_t m[2048];
	struct ntlm_auth a;
	(void)state;
	size_t n = type3(m, true, "CONTOSO", "Alice", "WS01");
	assert_int_equal(ntlm_message_type(m, n), 3);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_true(a.unicode);
	assert_string_equal(a.domain, "CONTOSO");
	assert_string_equal(a.user, "Alice");
	assert_string_equal(a.workstation, "WS01");
	assert_false(a.anonymous);
	assert_false(a.bad_utf16);
	assert_false(a.truncated);

	/* Non-ASCII: U+00FC, U+20AC and a surrogate pair (U+1F600). */
	static const uint8_t u16[] = {'j', 0, 0xFC, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE};
	struct field fu = {u16, sizeof(u16)}, e = {NULL, 0};
	n = type3_raw(m, NTLM_NEGOTIATE_UNICODE, e, fu, e, 48);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_string_equal(a.user, "j\xC3\xBC\xE2\x82\xAC\xF0\x9F\x98\x80");
	assert_string_equal(a.domain, "");
	assert_false(a.bad_utf16);
}

static void type3_invalid_utf16(void **state)
{
	uint8_t m[512];
	struct ntlm_auth a;
	struct field e = {NULL, 0};
	(void)state;
	/* Lone high surrogate, lone low surrogate, NUL: U+FFFD each. */
	static const uint8_t bad[] = {'a', 0, 0x3D, 0xD8, 'b', 0, 0x00, 0xDE, 0, 0};
	struct field fu = {bad, sizeof(bad)};
	size_t n = type3_raw(m, NTLM_NEGOTIATE_UNICODE, e, fu, e, 48);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_string_equal(a.user, "a\xEF\xBF\xBD"
	                            "b\xEF\xBF\xBD\xEF\xBF\xBD");
	assert_true(a.bad_utf16);
	/* High surrogate at the very end. */
	static const uint8_t tail[] = {'a', 0, 0x3D, 0xD8};
	fu.p = tail;
	fu.n = sizeof(tail);
	n = type3_raw(m, NTLM_NEGOTIATE_UNICODE, e, fu, e, 48);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_string_equal(a.user, "a\xEF\xBF\xBD");
	/* Odd length under UNICODE: a lying length. */
	fu.n = 3;
	n = type3_raw(m, NTLM_NEGOTIATE_UNICODE, e, fu, e, 48);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_GIVE_UP);
}

static void type3_oem(void **state)
{
	uint8_t m[2048];
	struct ntlm_auth a;
	(void)state;
	size_t n = type3(m, false, "CONTOSO", "ALICE\xE9", "WS01");
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_false(a.unicode);
	assert_string_equal(a.user, "ALICE\xC3\xA9"); /* Latin-1 e-acute */
	assert_string_equal(a.domain, "CONTOSO");
}

static void type3_anonymous_and_long(void **state)
{
	uint8_t m[4096];
	struct ntlm_auth a;
	struct field e = {NULL, 0};
	(void)state;
	size_t n = type3_raw(m, NTLM_NEGOTIATE_UNICODE | NTLM_NEGOTIATE_ANONYMOUS, e, e, e, 0);
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_true(a.anonymous);
	assert_string_equal(a.user, "");

	char longname[401];
	memset(longname, 'x', 400);
	longname[400] = '\0';
	n = type3(m, true, "D", longname, "W");
	assert_int_equal(ntlm_parse_authenticate(m, n, &a), NTLM_OK);
	assert_true(a.truncated);
	assert_int_equal(strlen(a.user), NTLM_NAME_MAX - 1);
	assert_string_equal(a.workstation, "W");
}

static void type3_hostile(void **state)
{
	uint8_t m[2048], t[2048];
	struct ntlm_auth a;
	(void)state;
	size_t n = type3(m, true, "CONTOSO", "alice", "WS01");

	/* Every proper prefix cuts a referenced buffer or the header. */
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(ntlm_parse_authenticate(m, i, &a), NTLM_OK);
	/* User offset past the end. */
	memcpy(t, m, n);
	put32(t + 40, (uint32_t)n);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* Offset + length wraps 32 bits. */
	memcpy(t, m, n);
	put32(t + 40, 0xFFFFFFF8u);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* Offset inside the fixed header. */
	memcpy(t, m, n);
	put32(t + 40, 8);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* Length lies (domain 0xFFFF). */
	memcpy(t, m, n);
	put16(t + 28, 0xFFFF);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* NT response lies; names alone are fine but the message is not. */
	memcpy(t, m, n);
	put16(t + 20, 2000);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* Bad signature / type. */
	memcpy(t, m, n);
	t[7] = 'X';
	assert_int_equal(ntlm_message_type(t, n), 0);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	memcpy(t, m, n);
	put32(t + 8, 4);
	assert_int_equal(ntlm_parse_authenticate(t, n, &a), NTLM_GIVE_UP);
	/* Shorter than the fixed part. */
	assert_int_equal(ntlm_parse_authenticate(m, 63, &a), NTLM_GIVE_UP);
	assert_int_equal(ntlm_parse_authenticate(NULL, 0, &a), NTLM_GIVE_UP);
}

static const uint8_t type1[] = {'N', 'T',  'L',  'M',  'S',  'S', 'P', 0, 1, 0, 0,
                                0,   0x97, 0x82, 0x08, 0xe2, 0,   0,   0, 0, 0, 0,
                                0,   0,    0,    0,    0,    0,   0,   0, 0, 0};

static void message_types(void **state)
{
	struct ntlm_auth a;
	uint8_t t2[48] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 2, 0, 0, 0};
	(void)state;
	assert_int_equal(ntlm_message_type(type1, sizeof(type1)), 1);
	assert_int_equal(ntlm_message_type(t2, sizeof(t2)), 2);
	assert_int_equal(ntlm_message_type(type1, 11), 0);
	assert_int_equal(ntlm_parse_authenticate(type1, sizeof(type1), &a), NTLM_NOT_AUTH);
	assert_int_equal(ntlm_parse_negotiate(t2, sizeof(t2), &a), NTLM_NOT_AUTH);
}

/* DER TLV with definite length (short or long form). */
static size_t tlv(uint8_t *out, uint8_t tag, const uint8_t *body, size_t n)
{
	size_t h = 0;
	out[h++] = tag;
	if (n < 0x80) {
		out[h++] = (uint8_t)n;
	} else if (n < 0x100) {
		out[h++] = 0x81;
		out[h++] = (uint8_t)n;
	} else {
		out[h++] = 0x82;
		out[h++] = (uint8_t)(n >> 8);
		out[h++] = (uint8_t)n;
	}
	memmove(out + h, body, n);
	return h + n;
}

static const uint8_t oid_spnego[] = {0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t mech_ntlm[] = {0xa0, 0x0e, 0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06,
                                    0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};

/* GSS InitialContextToken { spnego, [0] NegTokenInit { mechTypes, [2] tok } }. */
static size_t neg_init(uint8_t *out, const uint8_t *tok, size_t n)
{
	uint8_t a[4096], b[4096];
	size_t k = tlv(a, 0x04, tok, n);
	k = tlv(b, 0xa2, a, k);
	memmove(a, mech_ntlm, sizeof(mech_ntlm));
	memcpy(a + sizeof(mech_ntlm), b, k);
	k = tlv(b, 0x30, a, sizeof(mech_ntlm) + k);
	k = tlv(a, 0xa0, b, k);
	memmove(b, oid_spnego, sizeof(oid_spnego));
	memcpy(b + sizeof(oid_spnego), a, k);
	return tlv(out, 0x60, b, sizeof(oid_spnego) + k);
}

/* [1] NegTokenResp { negState accept-incomplete, [2] responseToken tok }. */
static size_t neg_resp(uint8_t *out, const uint8_t *tok, size_t n)
{
	static const uint8_t state[] = {0xa0, 0x03, 0x0a, 0x01, 0x01};
	uint8_t a[4096], b[4096];
	size_t k = tlv(a, 0x04, tok, n);
	k = tlv(b, 0xa2, a, k);
	memcpy(a, state, sizeof(state));
	memcpy(a + sizeof(state), b, k);
	k = tlv(b, 0x30, a, sizeof(state) + k);
	return tlv(out, 0xa1, b, k);
}

static void spnego_ntlm(void **state)
{
	uint8_t m[2048], tok[4096];
	struct ntlm_auth a;
	(void)state;
	size_t n = type3(m, true, "CONTOSO", "alice", "WS01");

	size_t k = neg_resp(tok, m, n);
	memset(&a, 0, sizeof(a));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_OK);
	assert_string_equal(a.user, "alice");
	assert_string_equal(a.domain, "CONTOSO");

	k = neg_init(tok, m, n);
	memset(&a, 0, sizeof(a));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_OK);
	assert_string_equal(a.user, "alice");

	/* Raw NTLMSSP under the Negotiate scheme. */
	assert_int_equal(ntlm_parse_negotiate(m, n, &a), NTLM_OK);

	/* Type 1 inside NegTokenInit: no user yet. */
	k = neg_init(tok, type1, sizeof(type1));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_NOT_AUTH);

	/* Every prefix of the wrapped token fails, never a wrong user. */
	k = neg_resp(tok, m, n);
	for (size_t i = 0; i < k; i++)
		assert_int_not_equal(ntlm_parse_negotiate(tok, i, &a), NTLM_OK);
	k = neg_init(tok, m, n);
	for (size_t i = 0; i < k; i++)
		assert_int_not_equal(ntlm_parse_negotiate(tok, i, &a), NTLM_OK);
}

static void spnego_kerberos_and_empty(void **state)
{
	struct ntlm_auth a;
	uint8_t tok[256];
	(void)state;
	/* Raw krb5 GSS token: 60 len 06 09 <krb5 oid> 01 00 <AP-REQ...>. */
	static const uint8_t krb[] = {0x60, 0x11, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12,
	                              0x01, 0x02, 0x02, 0x01, 0x00, 0x6e, 0x02, 0x30, 0x00};
	assert_int_equal(ntlm_parse_negotiate(krb, sizeof(krb), &a), NTLM_KERBEROS);
	/* The Microsoft krb5 OID, wrapped in SPNEGO. */
	uint8_t mskrb[sizeof(krb)];
	memcpy(mskrb, krb, sizeof(krb));
	mskrb[7] = 0x82;
	size_t k = neg_init(tok, mskrb, sizeof(mskrb));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_KERBEROS);
	k = neg_resp(tok, krb, sizeof(krb));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_KERBEROS);

	/* NegTokenInit with only the mech list (no mechToken). */
	uint8_t b[64];
	size_t s = tlv(b, 0x30, mech_ntlm, sizeof(mech_ntlm));
	uint8_t c[64];
	size_t t = tlv(c, 0xa0, b, s);
	memcpy(b, oid_spnego, sizeof(oid_spnego));
	memcpy(b + sizeof(oid_spnego), c, t);
	k = tlv(tok, 0x60, b, sizeof(oid_spnego) + t);
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_NO_TOKEN);
}

static void spnego_hostile(void **state)
{
	struct ntlm_auth a;
	uint8_t tok[4096];
	(void)state;
	/* Indefinite length, 5-byte length, high tag number, length past end. */
	static const uint8_t indef[] = {0x60, 0x80, 0x06, 0x06, 0x2b, 0x06,
	                                0x01, 0x05, 0x05, 0x02, 0x00, 0x00};
	static const uint8_t len5[] = {0x60, 0x85, 0,    0,    0,    0,    8,   0x06,
	                               0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
	static const uint8_t hightag[] = {0x7f, 0x81, 0x02, 0x00, 0x00};
	static const uint8_t past[] = {0x60, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x06};
	static const uint8_t other_oid[] = {0x60, 0x08, 0x06, 0x06, 0x2b,
	                                    0x06, 0x01, 0x05, 0x05, 0x03};
	static const uint8_t not_octets[] = {0xa1, 0x06, 0x30, 0x04, 0xa2, 0x02, 0x05, 0x00};
	const struct {
		const uint8_t *p;
		size_t n;
	} bad[] = {
	    {indef, sizeof(indef)},         {len5, sizeof(len5)},
	    {hightag, sizeof(hightag)},     {past, sizeof(past)},
	    {other_oid, sizeof(other_oid)}, {not_octets, sizeof(not_octets)},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(ntlm_parse_negotiate(bad[i].p, bad[i].n, &a), NTLM_GIVE_UP);
	/* Deep nesting of [1] constructors: bounded, no recursion. */
	size_t n = 0;
	for (int i = 0; i < 1000; i++) {
		tok[n++] = 0xa1;
		tok[n++] = 0x80 | 0;
	}
	assert_int_equal(ntlm_parse_negotiate(tok, n, &a), NTLM_GIVE_UP);
	for (size_t i = 0; i < 2000; i += 2) {
		tok[i] = 0xa1;
		tok[i + 1] = (uint8_t)(i < 1800 ? 0x7f : 0);
	}
	assert_int_equal(ntlm_parse_negotiate(tok, 2000, &a), NTLM_GIVE_UP);
	/* Garbage inside the responseToken. */
	static const uint8_t junk[] = {1, 2, 3, 4};
	size_t k = neg_resp(tok, junk, sizeof(junk));
	assert_int_equal(ntlm_parse_negotiate(tok, k, &a), NTLM_GIVE_UP);
	assert_int_equal(ntlm_parse_negotiate(NULL, 0, &a), NTLM_GIVE_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(type3_unicode),  cmocka_unit_test(type3_invalid_utf16),
	    cmocka_unit_test(type3_oem),      cmocka_unit_test(type3_anonymous_and_long),
	    cmocka_unit_test(type3_hostile),  cmocka_unit_test(message_types),
	    cmocka_unit_test(spnego_ntlm),    cmocka_unit_test(spnego_kerberos_and_empty),
	    cmocka_unit_test(spnego_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
