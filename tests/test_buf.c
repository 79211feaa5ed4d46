/*
 * test_buf.c — unit tests for the checked cursor, common/buf.h.
 *
 * The contract under test: a read that does not fit sets the sticky error,
 * returns 0 (or NULL) and leaves the offset where it was; once failed, every
 * later read fails; nothing is ever read past `len`.  Every getter is tried
 * on every buffer length from 0 to one past its width, at offset 0 and after
 * a 1-byte read, over a heap copy of exactly `len` bytes so that ASan sees
 * any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};

enum getter { G_U8, G_BE16, G_BE24, G_BE32, G_BE64, G_LE16, G_LE32, G_LE64, G__N };

static const struct {
	const char *name;
	size_t width;
} getters[G__N] = {
    [G_U8] = {"u8", 1},     [G_BE16] = {"be16", 2}, [G_BE24] = {"be24", 3}, [G_BE32] = {"be32", 4},
    [G_BE64] = {"be64", 8}, [G_LE16] = {"le16", 2}, [G_LE32] = {"le32", 4}, [G_LE64] = {"le64", 8},
};

static uint64_t get(enum getter g, struct buf *b)
{
	switch (g) {
	case G_U8:
		return buf_u8(b);
	case G_BE16:
		return buf_be16(b);
	case G_BE24:
		return buf_be24(b);
	case G_BE32:
		return buf_be32(b);
	case G_BE64:
		return buf_be64(b);
	case G_LE16:
		return buf_le16(b);
	case G_LE32:
		return buf_le32(b);
	case G_LE64:
		return buf_le64(b);
	case G__N:
		break;
	}
	fail();
	return 0;
}

/* The value getter g should read from p, computed byte by byte. */
static uint64_t expect(enum getter g, const uint8_t *p)
{
	bool le = g == G_LE16 || g == G_LE32 || g == G_LE64;
	size_t w = getters[g].width;
	uint64_t v = 0;

	for (size_t i = 0; i < w; i++) {
		if (le)
			v |= (uint64_t)p[i] << (8 * i);
		else
			v = v << 8 | p[i];
	}
	return v;
}

/* One getter on a heap buffer of exactly len bytes, starting at `start`. */
static void check_getter(enum getter g, size_t len, size_t start)
{
	uint8_t *heap = malloc(len ? len : 1);
	assert_non_null(heap);
	memcpy(heap, bytes, len);
	struct buf b = buf_init(heap, len);
	size_t w = getters[g].width;

	assert_true(buf_skip(&b, start));
	uint64_t v = get(g, &b);
	bool fits = len - start >= w;
	/* The 64-bit getters' offset on a short read is test_get64_short's. */
	bool offset_kept = buf_offset(&b) == start || (w == 8 && len - start >= 4);
	bool good = fits ? buf_ok(&b) && v == expect(g, bytes + start) &&
	                       buf_offset(&b) == start + w && buf_left(&b) == len - start - w
	                 : !buf_ok(&b) && v == 0 && offset_kept && buf_left(&b) == 0;
	if (!good) {
		print_message("buf_%s on %zu bytes from offset %zu: ok %d value %#llx offset %zu\n",
		              getters[g].name, len, start, buf_ok(&b), (unsigned long long)v,
		              buf_offset(&b));
		fail();
	}
	free(heap);
}

static void test_getters_every_length(void **state)
{
	(void)state;
	for (enum getter g = 0; g < G__N; g++)
		for (size_t len = 0; len <= getters[g].width + 1; len++) {
			check_getter(g, len, 0);
			if (len >= 1)
				check_getter(g, len, 1);
		}
}

/*
 * buf_be64()/buf_le64() read two 32-bit halves; when only the first fits,
 * the first has already advanced the offset by 4 when the second fails.
 * buf.h promises the offset stays where it was.  Kept apart so the failure
 * names itself.
 */
static void test_get64_short(void **state)
{
	(void)state;
	for (size_t len = 4; len < 8; len++) {
		struct buf b = buf_init(bytes, len);
		assert_int_equal(buf_be64(&b), 0);
		assert_false(buf_ok(&b));
		assert_int_equal(buf_offset(&b), 0);

		b = buf_init(bytes, len);
		assert_int_equal(buf_le64(&b), 0);
		assert_false(buf_ok(&b));
		assert_int_equal(buf_offset(&b), 0);
	}
}

static void test_getter_values(void **state)
{
	struct buf b = buf_init(bytes, sizeof(bytes));

	(void)state;
	assert_int_equal(buf_be16(&b), 0x0102);
	assert_int_equal(buf_le16(&b), 0x0403);
	assert_int_equal(buf_be24(&b), 0x050607);
	assert_int_equal(buf_u8(&b), 0x08);
	assert_int_equal(buf_le16(&b), 0x0a09);
	assert_int_equal(buf_left(&b), 0);
	assert_true(buf_ok(&b));

	static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
	b = buf_init(ff, 8);
	assert_int_equal(buf_be64(&b), 0xfffefdfcfbfaf9f8ull);
	b = buf_init(ff, 8);
	assert_int_equal(buf_le64(&b), 0xf8f9fafbfcfdfeffull);
	b = buf_init(ff, 8);
	assert_int_equal(buf_be32(&b), 0xfffefdfcu);
	assert_int_equal(buf_le32(&b), 0xf8f9fafbu);
	assert_true(buf_ok(&b));
}

static void test_sticky_error(void **state)
{
	struct buf b = buf_init(bytes, 3);

	(void)state;
	assert_int_equal(buf_be32(&b), 0);
	assert_false(buf_ok(&b));
	assert_int_equal(buf_offset(&b), 0);
	/* Reads that would fit on their own fail too. */
	assert_int_equal(buf_u8(&b), 0);
	assert_int_equal(buf_be16(&b), 0);
	assert_false(buf_has(&b, 0));
	assert_false(buf_has(&b, 1));
	assert_int_equal(buf_left(&b), 0);
	assert_null(buf_take(&b, 0));
	assert_null(buf_take(&b, 1));
	assert_null(buf_rest(&b));
	assert_false(buf_skip(&b, 0));
	assert_int_equal(buf_peek_u8(&b, 0), 0);
	uint8_t d = 0x77;
	assert_false(buf_copy(&b, &d, 1));
	assert_int_equal(d, 0x77);
	struct buf s = buf_sub(&b, 0);
	assert_false(buf_ok(&s));
	assert_int_equal(buf_offset(&b), 0);

	/* buf_fail() is the same state, set by a parser that found nonsense. */
	b = buf_init(bytes, sizeof(bytes));
	buf_fail(&b);
	assert_int_equal(buf_u8(&b), 0);
	assert_false(buf_ok(&b));
}

static void test_init_and_has(void **state)
{
	(void)state;
	struct buf b = buf_init(NULL, 5); /* no bytes, whatever the length says */
	assert_int_equal(buf_left(&b), 0);
	assert_int_equal(buf_u8(&b), 0);
	assert_false(buf_ok(&b));

	b = buf_init(bytes, 4);
	assert_true(buf_ok(&b));
	assert_true(buf_has(&b, 0));
	assert_true(buf_has(&b, 4));
	assert_false(buf_has(&b, 5));
	assert_false(buf_has(&b, SIZE_MAX));
	assert_true(buf_ok(&b)); /* asking is not failing */
	assert_true(buf_skip(&b, 4));
	assert_true(buf_has(&b, 0));
	assert_false(buf_has(&b, 1));
	assert_false(buf_skip(&b, 1));
	assert_false(buf_ok(&b));

	b = buf_init(bytes, 4);
	assert_false(buf_skip(&b, SIZE_MAX));
	assert_int_equal(buf_offset(&b), 0);
}

static void test_sub(void **state)
{
	struct buf b = buf_init(bytes, sizeof(bytes));

	(void)state;
	buf_u8(&b);
	struct buf s = buf_sub(&b, 3);
	assert_true(buf_ok(&b));
	assert_int_equal(buf_offset(&b), 4);
	assert_int_equal(buf_left(&s), 3);
	assert_int_equal(buf_be24(&s), 0x020304);
	/* The sub-cursor ends where it was cut, not where the parent does. */
	assert_int_equal(buf_u8(&s), 0);
	assert_false(buf_ok(&s));
	assert_true(buf_ok(&b)); /* and its failure is its own */
	assert_int_equal(buf_u8(&b), 0x05);

	/* Shortage: the parent fails and keeps its offset, the child is failed. */
	b = buf_init(bytes, sizeof(bytes));
	buf_skip(&b, 8);
	s = buf_sub(&b, 3);
	assert_false(buf_ok(&b));
	assert_int_equal(buf_offset(&b), 8);
	assert_false(buf_ok(&s));
	assert_int_equal(buf_left(&s), 0);
	assert_int_equal(buf_u8(&s), 0);
	assert_null(buf_rest(&s));

	/* Exactly what is left, and then an empty one at the end. */
	b = buf_init(bytes, sizeof(bytes));
	buf_skip(&b, 7);
	s = buf_sub(&b, 3);
	assert_true(buf_ok(&s));
	assert_int_equal(buf_be24(&s), 0x08090a);
	s = buf_sub(&b, 0);
	assert_true(buf_ok(&b));
	assert_true(buf_ok(&s));
	assert_int_equal(buf_left(&s), 0);

	b = buf_init(bytes, sizeof(bytes));
	s = buf_sub(&b, SIZE_MAX);
	assert_false(buf_ok(&b));
	assert_false(buf_ok(&s));
}

static void test_take_copy_rest_peek(void **state)
{
	struct buf b = buf_init(bytes, sizeof(bytes));
	uint8_t out[8] = {0};

	(void)state;
	assert_ptr_equal(buf_rest(&b), bytes);
	assert_int_equal(buf_peek_u8(&b, 0), 0x01);
	assert_int_equal(buf_peek_u8(&b, 9), 0x0a);
	assert_int_equal(buf_offset(&b), 0); /* peeking consumes nothing */

	const uint8_t *p = buf_take(&b, 2);
	assert_ptr_equal(p, bytes);
	assert_int_equal(buf_offset(&b), 2);
	assert_ptr_equal(buf_rest(&b), bytes + 2);
	assert_int_equal(buf_peek_u8(&b, 0), 0x03);

	assert_true(buf_copy(&b, out, 4));
	assert_memory_equal(out, bytes + 2, 4);
	assert_true(buf_copy(&b, out, 0));
	assert_int_equal(buf_offset(&b), 6);

	/* A short copy writes nothing and consumes nothing. */
	memset(out, 0xee, sizeof(out));
	assert_false(buf_copy(&b, out, 5));
	assert_int_equal(out[0], 0xee);
	assert_int_equal(buf_offset(&b), 6);
	assert_false(buf_ok(&b));

	b = buf_init(bytes, sizeof(bytes));
	assert_null(buf_take(&b, 11));
	assert_int_equal(buf_offset(&b), 0);
	assert_false(buf_ok(&b));

	/* Peek one past the end fails (and, like every read, sticks). */
	b = buf_init(bytes, 3);
	assert_int_equal(buf_peek_u8(&b, 2), 0x03);
	assert_true(buf_ok(&b));
	assert_int_equal(buf_peek_u8(&b, 3), 0);
	assert_false(buf_ok(&b));
	b = buf_init(bytes, 3);
	assert_int_equal(buf_peek_u8(&b, SIZE_MAX), 0);

	/* Rest: NULL once everything is read. */
	b = buf_init(bytes, 3);
	assert_non_null(buf_take(&b, 3));
	assert_null(buf_rest(&b));
	assert_true(buf_ok(&b));
	assert_non_null(buf_take(&b, 0));
}

static void test_seq(void **state)
{
	(void)state;
	/* Plain. */
	assert_true(SEQ_LT(1, 2));
	assert_false(SEQ_LT(2, 2));
	assert_true(SEQ_LEQ(2, 2));
	assert_true(SEQ_GT(3, 2));
	assert_true(SEQ_GEQ(2, 2));
	assert_false(SEQ_GEQ(1, 2));
	assert_int_equal(SEQ_DIFF(5, 2), 3);

	/* Across wraparound: 0xfffffff0 comes before 0x10. */
	assert_true(SEQ_LT(0xfffffff0u, 0x10u));
	assert_true(SEQ_LEQ(0xfffffff0u, 0x10u));
	assert_false(SEQ_GT(0xfffffff0u, 0x10u));
	assert_false(SEQ_GEQ(0xfffffff0u, 0x10u));
	assert_true(SEQ_GT(0x10u, 0xfffffff0u));
	assert_true(SEQ_GEQ(0x10u, 0xfffffff0u));
	assert_false(SEQ_LT(0x10u, 0xfffffff0u));
	assert_true(SEQ_LT(0xffffffffu, 0u));
	assert_true(SEQ_GT(0u, 0xffffffffu));
	assert_int_equal(SEQ_DIFF(0x10u, 0xfffffff0u), 0x20);
	assert_int_equal(SEQ_DIFF(0u, 0xffffffffu), 1);
	assert_int_equal(SEQ_DIFF(0xfffffff0u, 0x10u), 0xffffffe0u);

	/* Up to just under 2^31 apart, in both directions and across zero. */
	assert_true(SEQ_LT(0u, 0x7fffffffu));
	assert_true(SEQ_GT(0x7fffffffu, 0u));
	assert_true(SEQ_LT(0x80000000u, 0xffffffffu));
	assert_true(SEQ_LT(0xc0000000u, 0x3fffffffu));
	assert_true(SEQ_GT(0x3fffffffu, 0xc0000000u));

	/* Arguments are converted, not sign-extended: int and uint64_t work. */
	assert_true(SEQ_LT(-1, 0));
	assert_true(SEQ_LT((uint64_t)0x1fffffff0ull, 0x10u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_getters_every_length), cmocka_unit_test(test_get64_short),
	    cmocka_unit_test(test_getter_values),        cmocka_unit_test(test_sticky_error),
	    cmocka_unit_test(test_init_and_has),         cmocka_unit_test(test_sub),
	    cmocka_unit_test(test_take_copy_rest_peek),  cmocka_unit_test(test_seq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
