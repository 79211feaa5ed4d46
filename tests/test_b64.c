/* test_b64.c — RFC 4648 base64/base64url decoding: vectors, strictness, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "b64.h"

static void check(const char *in, unsigned flags, const char *expect)
{
	uint8_t out[64];
	size_t n = 0;
	enum b64_result r = b64_decode_flags(in, strlen(in), flags, out, sizeof(out), &n);
	assert_int_equal(r, B64_OK);
	assert_int_equal(n, strlen(expect));
	assert_memory_equal(out, expect, n);
}

static void check_bad(const char *in, unsigned flags)
{
	uint8_t out[64];
	size_t n = 12345;
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(b64_decode_flags(in, strlen(in), flags, out, sizeof(out), &n),
	                 B64_BAD_INPUT);
	assert_int_equal(n, 12345);     /* ret_len untouched */
	assert_int_equal(out[0], 0xAA); /* nothing written */
}

/* RFC 4648 §10 test vectors. */
static void rfc4648_vectors(void **state)
{
	(void)state;
	check("", 0, "");
	check("Zg==", 0, "f");
	check("Zm8=", 0, "fo");
	check("Zm9v", 0, "foo");
	check("Zm9vYg==", 0, "foob");
	check("Zm9vYmE=", 0, "fooba");
	check("Zm9vYmFy", 0, "foobar");
}

static void url_alphabet(void **state)
{
	uint8_t out[8];
	size_t n;
	(void)state;
	/* 0xfb 0xff -> std "+/8=", url "-_8" */
	assert_int_equal(b64_decode("+/8=", 4, out, sizeof(out), &n), B64_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(b64url_decode("-_8", 3, out, sizeof(out), &n), B64_OK);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(b64url_decode("-_8=", 4, out, sizeof(out), &n), B64_OK);
	assert_int_equal(n, 2);
	check("Zm9vYg", B64_URL | B64_PAD_OPTIONAL, "foob");
	check("Zm9vYmE", B64_PAD_OPTIONAL, "fooba");
	/* Alphabets do not mix. */
	assert_int_equal(b64url_decode("+/8", 3, out, sizeof(out), &n), B64_BAD_INPUT);
	assert_int_equal(b64_decode("-_8=", 4, out, sizeof(out), &n), B64_BAD_INPUT);
}

static void rejects_malformed(void **state)
{
	(void)state;
	check_bad("Zg", 0);                 /* padding required */
	check_bad("Zg=", 0);                /* short padding */
	check_bad("Zg=", B64_PAD_OPTIONAL); /* present padding must be complete */
	check_bad("Z===", 0);               /* three pad chars */
	check_bad("Z", B64_PAD_OPTIONAL);   /* one char can't encode a byte */
	check_bad("Zm9vY", B64_URL | B64_PAD_OPTIONAL);
	check_bad("Zg==Zg==", 0); /* padding in the middle */
	check_bad("Zm=v", 0);
	check_bad("Zm9v\n", 0); /* no whitespace */
	check_bad("Zm 9v", 0);
	check_bad("Zm9v!A==", 0);
	check_bad("====", 0);
	check_bad("Zm9v\x80\x80\x80\x80", 0);
	uint8_t out[4];
	size_t n;
	assert_int_equal(b64_decode("Zm\0v", 4, out, sizeof(out), &n), B64_BAD_INPUT);
}

/* RFC 4648 §3.5: the unused bits of the last character must be zero. */
static void rejects_noncanonical(void **state)
{
	(void)state;
	check_bad("Zh==", 0); /* 'h' = 0b100001: low 4 bits set */
	check_bad("Zm9=", 0); /* '9' = 0b111101: low 2 bits set */
	check_bad("Zh", B64_URL | B64_PAD_OPTIONAL);
	check("Zg==", 0, "f");
	check("Zm8=", 0, "fo");
}

static void output_bounds(void **state)
{
	uint8_t out[8];
	size_t n = 99;
	(void)state;
	memset(out, 0xAA, sizeof(out));
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 5, &n), B64_NO_SPACE);
	assert_int_equal(out[0], 0xAA);
	assert_int_equal(n, 99);
	assert_int_equal(b64_decode("Zm9vYmFy", 8, out, 6, &n), B64_OK);
	assert_int_equal(n, 6);
	assert_int_equal(b64_decode("", 0, NULL, 0, &n), B64_OK);
	assert_int_equal(n, 0);
	assert_int_equal(b64_decode(NULL, 4, out, sizeof(out), &n), B64_BAD_INPUT);
	assert_true(B64_DECODED_MAX(8) >= 6);
	assert_true(B64_DECODED_MAX(3) >= 2);
}

/* Every byte string round-trips through a reference encoder. */
static void roundtrip(void **state)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t data[64], out[64];
	char enc[100];
	(void)state;
	for (size_t len = 0; len <= sizeof(data); len++) {
		size_t e = 0, n = 0;
		for (size_t i = 0; i < len; i++)
			data[i] = (uint8_t)(i * 37 + len * 11 + 5);
		for (size_t i = 0; i < len; i += 3) {
			uint32_t v = (uint32_t)data[i] << 16;
			if (i + 1 < len)
				v |= (uint32_t)data[i + 1] << 8;
			if (i + 2 < len)
				v |= data[i + 2];
			enc[e++] = al[v >> 18 & 63];
			enc[e++] = al[v >> 12 & 63];
			enc[e++] = i + 1 < len ? al[v >> 6 & 63] : '=';
			enc[e++] = i + 2 < len ? al[v & 63] : '=';
		}
		assert_int_equal(b64_decode(enc, e, out, sizeof(out), &n), B64_OK);
		assert_int_equal(n, len);
		assert_memory_equal(out, data, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rfc4648_vectors),   cmocka_unit_test(url_alphabet),
	    cmocka_unit_test(rejects_malformed), cmocka_unit_test(rejects_noncanonical),
	    cmocka_unit_test(output_bounds),     cmocka_unit_test(roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
