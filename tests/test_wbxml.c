/* test_wbxml.c — top-level Status of ActiveSync WBXML responses (MS-ASWBXML)
 * and the refusal list (MS-ASCMD 2.2.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "wbxml.h"

/* WBXML 1.3, public id 1 (unknown), UTF-8 (106), empty string table. */
#define HDR      0x03, 0x01, 0x6A, 0x00
#define STR(...) 0x03, __VA_ARGS__, 0x00
#define END      0x01

/* Sync (AirSync 0x05) / Status (0x0E) = 126: a refusal. */
static const uint8_t sync_126[] = {HDR, 0x45, 0x4E, STR('1', '2', '6'), END, END};

/* FolderSync (FolderHierarchy page 7, 0x16) / Status (0x0C) = 1, then
 * SyncKey and Changes: HTTP 200 with status 1, not a refusal. */
static const uint8_t foldersync_1[] = {
    HDR,      0x00, 0x07, 0x56, 0x4C,     STR('1'), END, 0x52,
    STR('1'), END,  0x4E, 0x57, STR('0'), END,      END, END,
};

/* Provision (page 14, 0x05): Policies/Policy/Status=5 is nested and must
 * be ignored; the top-level Status (0x0B) = 129 comes after it here. */
static const uint8_t provision_129[] = {
    HDR, 0x00, 0x0E,     0x45, 0x46, 0x47, 0x48, STR('M', 'S'),
    END, 0x4B, STR('5'), END,  END,  END,  0x4B, STR('1', '2', '9'),
    END, END,
};

/* Sync success: only per-collection statuses, no top-level one. */
static const uint8_t sync_ok[] = {
    HDR,      0x45, 0x5C, 0x4F,     0x4B, STR('4', '2'), END, 0x52,
    STR('1'), END,  0x4E, STR('1'), END,  END,           END, END,
};

static enum wbxml_result top(const uint8_t *b, size_t n, int *st)
{
	return wbxml_top_status(b, n, true, st);
}

static void commands(void **state)
{
	int st = -1;
	(void)state;
	assert_int_equal(top(sync_126, sizeof(sync_126), &st), WBXML_OK);
	assert_int_equal(st, 126);
	assert_true(wbxml_status_is_refusal(st));

	assert_int_equal(top(foldersync_1, sizeof(foldersync_1), &st), WBXML_OK);
	assert_int_equal(st, 1);
	assert_false(wbxml_status_is_refusal(st));

	assert_int_equal(top(provision_129, sizeof(provision_129), &st), WBXML_OK);
	assert_int_equal(st, 129);
	assert_true(wbxml_status_is_refusal(st));

	st = -1;
	assert_int_equal(top(sync_ok, sizeof(sync_ok), &st), WBXML_NO_STATUS);
	assert_int_equal(st, -1);

	/* Ping (13) Status 0x07; Settings (18) 0x06; ItemOperations (20) 0x0D;
	 * SendMail (ComposeMail 21) 0x12; MoveItems (5) 0x0B; Search (15) 0x0C. */
	const struct {
		uint8_t page, root, status;
		int value;
	} more[] = {
	    {13, 0x05, 0x07, 1},   {18, 0x05, 0x06, 130}, {20, 0x05, 0x0D, 1},
	    {21, 0x05, 0x12, 131}, {5, 0x05, 0x0B, 177},  {15, 0x05, 0x0C, 3},
	    {7, 0x13, 0x0C, 9},    {6, 0x05, 0x0E, 2},    {10, 0x05, 0x07, 1},
	};
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		uint8_t b[32] = {HDR,
		                 0x00,
		                 more[i].page,
		                 (uint8_t)(0x40 | more[i].root),
		                 (uint8_t)(0x40 | more[i].status),
		                 0x03};
		size_t n = 9;
		char v[8];
		size_t vl = (size_t)snprintf(v, sizeof(v), "%d", more[i].value);
		memcpy(b + n, v, vl);
		n += vl;
		b[n++] = 0;
		b[n++] = END;
		b[n++] = END;
		assert_int_equal(top(b, n, &st), WBXML_OK);
		assert_int_equal(st, more[i].value);
	}
}

static void value_encodings(void **state)
{
	int st = 0;
	(void)state;
	/* OPAQUE digits, with a page switch before the root. */
	static const uint8_t opaque[] = {HDR,  0x00, 0x00, 0x45, 0x4E, 0xC3,
	                                 0x03, '1',  '7',  '7',  END,  END};
	assert_int_equal(top(opaque, sizeof(opaque), &st), WBXML_OK);
	assert_int_equal(st, 177);
	/* STR_T into the string table; public id given as string index 0. */
	static const uint8_t strt[] = {0x03, 0x00, 0x00, 0x6A, 0x06, 'x',  0,   ' ', '2',
	                               ' ',  0,    0x45, 0x4E, 0x83, 0x02, END, END};
	assert_int_equal(top(strt, sizeof(strt), &st), WBXML_OK);
	assert_int_equal(st, 2);
	/* Attributes on the root and on an earlier child are skipped. */
	static const uint8_t attrs[] = {HDR,  0xC5, 0x05, 0x03, 'a',      0,   0x86, END,
	                                0x8B, 0x07, END,  0x4E, STR('8'), END, END};
	assert_int_equal(top(attrs, sizeof(attrs), &st), WBXML_OK);
	assert_int_equal(st, 8);
	/* A leading PI before the root. */
	static const uint8_t pi[] = {HDR, 0x43, 0x05, 0x03,     'x', 0,
	                             END, 0x45, 0x4E, STR('4'), END, END};
	assert_int_equal(top(pi, sizeof(pi), &st), WBXML_OK);
	assert_int_equal(st, 4);
	/* Root without content. */
	static const uint8_t empty_root[] = {HDR, 0x05};
	assert_int_equal(top(empty_root, sizeof(empty_root), &st), WBXML_NO_STATUS);
	/* 0x0E on page 7 is FolderHierarchy:Changes, not a Status. */
	static const uint8_t wrong_page[] = {HDR, 0x00, 0x07, 0x56, 0x4E, STR('1'), END, END};
	assert_int_equal(top(wrong_page, sizeof(wrong_page), &st), WBXML_NO_STATUS);
}

/* Every prefix of a valid body is NEED_MORE; the whole body is OK. */
static void every_prefix(void **state)
{
	const struct {
		const uint8_t *b;
		size_t n;
		int v;
	} cases[] = {
	    {sync_126, sizeof(sync_126), 126},
	    {foldersync_1, sizeof(foldersync_1), 1},
	    {provision_129, sizeof(provision_129), 129},
	    {sync_ok, sizeof(sync_ok), -1},
	};
	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		/* The answer is known once the Status END (or the root END) is read. */
		int st = 0;
		size_t known = cases[c].n;
		for (size_t i = 0; i < cases[c].n; i++) {
			enum wbxml_result r = wbxml_top_status(cases[c].b, i, false, &st);
			if (r != WBXML_NEED_MORE) {
				known = i;
				break;
			}
		}
		for (size_t i = known; i <= cases[c].n; i++) {
			st = -1;
			enum wbxml_result r = wbxml_top_status(cases[c].b, i, false, &st);
			if (cases[c].v < 0) {
				assert_int_equal(r, WBXML_NO_STATUS);
			} else {
				assert_int_equal(r, WBXML_OK);
				assert_int_equal(st, cases[c].v);
			}
		}
		/* A truncated but "complete" body is given up. */
		assert_int_equal(wbxml_top_status(cases[c].b, known - 1, true, &st), WBXML_GIVE_UP);
	}
	/* For sync_126, the answer needs the Status END: byte 12 of 14. */
	int st;
	assert_int_equal(wbxml_top_status(sync_126, 11, false, &st), WBXML_NEED_MORE);
	assert_int_equal(wbxml_top_status(sync_126, 12, false, &st), WBXML_OK);
}

static void hostile(void **state)
{
	int st;
	static uint8_t b[WBXML_SCAN_MAX + 256];
	(void)state;
	/* mb_u_int32 with too many continuation bytes. */
	static const uint8_t mb[] = {0x03, 0x81, 0x81, 0x81, 0x81, 0x81, 0x01, 0x6A, 0x00, 0x45};
	assert_int_equal(top(mb, sizeof(mb), &st), WBXML_GIVE_UP);
	/* String table length beyond the body: NEED_MORE while partial. */
	static const uint8_t tbl[] = {0x03, 0x01, 0x6A, 0x8F, 0x7F, 'a'};
	assert_int_equal(wbxml_top_status(tbl, sizeof(tbl), false, &st), WBXML_NEED_MORE);
	assert_int_equal(top(tbl, sizeof(tbl), &st), WBXML_GIVE_UP);
	/* Lying OPAQUE length. */
	static const uint8_t opq[] = {HDR, 0x45, 0x4E, 0xC3, 0x8F, 0xFF, 0xFF, 0x7F, '1'};
	assert_int_equal(wbxml_top_status(opq, sizeof(opq), false, &st), WBXML_NEED_MORE);
	assert_int_equal(top(opq, sizeof(opq), &st), WBXML_GIVE_UP);
	/* STR_T index outside the table. */
	static const uint8_t strt[] = {HDR, 0x45, 0x4E, 0x83, 0x05, END, END};
	assert_int_equal(top(strt, sizeof(strt), &st), WBXML_GIVE_UP);
	/* Non-digit, empty, too long, markup inside Status, empty Status tag. */
	static const uint8_t nd[] = {HDR, 0x45, 0x4E, STR('1', 'x'), END, END};
	static const uint8_t em[] = {HDR, 0x45, 0x4E, END, END};
	static const uint8_t lg[] = {
	    HDR, 0x45, 0x4E, STR('1', '2', '3', '4', '5', '6', '7', '8', '9', '0'), END, END};
	static const uint8_t mk[] = {HDR, 0x45, 0x4E, 0x4F, END, END, END};
	static const uint8_t et[] = {HDR, 0x45, 0x0E, END};
	static const uint8_t sp[] = {HDR, 0x45, 0x4E, STR('1', ' ', '2'), END, END};
	static const uint8_t ver[] = {0x09, 0x01, 0x6A, 0x00, 0x45, 0x4E, STR('1'), END, END};
	static const uint8_t endroot[] = {HDR, END};
	const struct {
		const uint8_t *p;
		size_t n;
	} bad[] = {
	    {nd, sizeof(nd)}, {em, sizeof(em)}, {lg, sizeof(lg)},   {mk, sizeof(mk)},
	    {et, sizeof(et)}, {sp, sizeof(sp)}, {ver, sizeof(ver)}, {endroot, sizeof(endroot)},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (top(bad[i].p, bad[i].n, &st) != WBXML_GIVE_UP)
			fail_msg("case %zu accepted", i);

	/* Deep nesting. */
	size_t n = 0;
	static const uint8_t hdr[] = {HDR, 0x45};
	memcpy(b, hdr, sizeof(hdr));
	n = sizeof(hdr);
	for (int i = 0; i < 200; i++)
		b[n++] = 0x4F;
	assert_int_equal(wbxml_top_status(b, n, false, &st), WBXML_GIVE_UP);

	/* No answer within the scan window. */
	n = sizeof(hdr);
	memcpy(b, hdr, n);
	b[n++] = 0x4F;
	b[n++] = 0xC3;
	b[n++] = 0x84; /* OPAQUE of 0x10000 bytes */
	b[n++] = 0x80;
	b[n++] = 0x00;
	memset(b + n, 'x', sizeof(b) - n);
	assert_int_equal(wbxml_top_status(b, sizeof(b), false, &st), WBXML_GIVE_UP);
	assert_int_equal(wbxml_top_status(b, 1000, false, &st), WBXML_NEED_MORE);
	assert_int_equal(wbxml_top_status(NULL, 0, false, &st), WBXML_NEED_MORE);
	assert_int_equal(wbxml_top_status(NULL, 0, true, &st), WBXML_GIVE_UP);
	assert_int_equal(wbxml_top_status(sync_126, sizeof(sync_126), true, NULL), WBXML_GIVE_UP);
}

static void refusal_list(void **state)
{
	static const int yes[] = {126, 129, 130, 131, 139, 141, 145, 177};
	static const int no[] = {0,   1,   2,   3,   110, 111, 127, 128, 140,
	                         142, 143, 144, 132, 176, 178, -1,  1000};
	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(wbxml_status_is_refusal(yes[i]));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(wbxml_status_is_refusal(no[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(commands),     cmocka_unit_test(value_encodings),
	    cmocka_unit_test(every_prefix), cmocka_unit_test(hostile),
	    cmocka_unit_test(refusal_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
