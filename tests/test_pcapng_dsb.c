/*
 * test_pcapng_dsb.c — pcapng Decryption Secrets Blocks (sensor/pcapng_dsb.c,
 * draft-ietf-opsawg-pcapng §4.7).
 *
 * tests/data/tls13-dsb.pcapng is a real TLS 1.3 connection with its key log
 * injected by `editcap --inject-secrets tls,keys.txt` (tests/data/README.md).
 * The big-endian, multi-section, corrupt and non-pcapng variants are built
 * here, in memory (fmemopen), from blocks written field by field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keylog.h"
#include "pcapng_dsb.h"

static const uint8_t rnd[32] = {
    0xed, 0x84, 0xa2, 0x91, 0x91, 0xc7, 0x50, 0x7d, 0x89, 0x0e, 0x74, 0x77, 0x32, 0x14, 0xbf, 0x4c,
    0xcf, 0xaa, 0xed, 0xc9, 0xd2, 0x92, 0x55, 0x38, 0x70, 0x42, 0x95, 0x31, 0x28, 0xd1, 0x80, 0xef,
};

static const char keys[] =
    "# test\n"
    "CLIENT_RANDOM "
    "ed84a29191c7507d890e74773214bf4ccfaaedc9d29255387042953128d180ef "
    "a33e9de3de893acb30e3e39a2449bea85c6be96ca908ca41d0c45c2e2ab46b5a3ec9d8b420d12fa37c8e3ba7f1"
    "8e8cb7\n";

static void data_path(char *out, size_t n, const char *name)
{
	const char *dir = getenv("MDM_TEST_DATA");
	snprintf(out, n, "%s/%s", dir ? dir : "../tests/data", name);
}

/* A growable little file image. */
struct img {
	uint8_t b[8192];
	size_t n;
	bool big;
};

static void put32(struct img *m, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[m->n++] = (uint8_t)(m->big ? v >> (24 - 8 * i) : v >> (8 * i));
}

static void put_raw(struct img *m, const void *p, size_t n)
{
	memcpy(m->b + m->n, p, n);
	m->n += n;
	while (m->n % 4)
		m->b[m->n++] = 0;
}

static void shb(struct img *m, bool big)
{
	m->big = big;
	put32(m, 0x0A0D0D0A);
	put32(m, 28);
	put32(m, 0x1A2B3C4D);
	put32(m, 1); /* major 1, minor 0: as a u32 in this order */
	put32(m, 0xFFFFFFFF);
	put32(m, 0xFFFFFFFF); /* section length unknown */
	put32(m, 28);
	if (big) { /* fix major/minor: the u32 wrote 0 0 0 1 */
		m->b[m->n - 16] = 0;
		m->b[m->n - 15] = 1;
		m->b[m->n - 14] = 0;
		m->b[m->n - 13] = 0;
	}
}

static void dsb(struct img *m, uint32_t type, const char *text)
{
	size_t len = strlen(text), padded = (len + 3) & ~(size_t)3;
	put32(m, 0x0000000A);
	put32(m, (uint32_t)(20 + padded));
	put32(m, type);
	put32(m, (uint32_t)len);
	put_raw(m, text, len);
	put32(m, (uint32_t)(20 + padded));
}

/* An Interface Description Block: something to skip. */
static void idb(struct img *m)
{
	put32(m, 1);
	put32(m, 20);
	put32(m, 1 | 0 << 16); /* LINKTYPE_ETHERNET, reserved (order-dependent, unchecked) */
	put32(m, 65535);
	put32(m, 20);
}

struct got {
	int n;
	uint32_t type[8];
	uint64_t off[8];
	size_t len[8];
};

static void on_dsb(void *ctx, uint32_t type, const uint8_t *data, size_t len, uint64_t off)
{
	struct got *g = ctx;
	if (g->n < 8) {
		g->type[g->n] = type;
		g->off[g->n] = off;
		g->len[g->n] = len;
	}
	g->n++;
}

static enum pcapng_dsb_result walk(struct img *m, size_t n, struct got *g,
                                   struct pcapng_dsb_info *info)
{
	FILE *fp = fmemopen(m->b, n, "rb");
	assert_non_null(fp);
	memset(g, 0, sizeof(*g));
	enum pcapng_dsb_result r = pcapng_dsb_walk(fp, on_dsb, g, info);
	fclose(fp);
	return r;
}

static void real_editcap_file(void **state)
{
	char path[4096];
	struct pcapng_dsb_info info;
	struct keylog *kl = keylog_new(0, NULL, NULL);
	uint8_t secret[KEYLOG_SECRET_MAX];
	size_t len = 0;
	(void)state;

	data_path(path, sizeof(path), "tls13-dsb.pcapng");
	assert_int_equal(pcapng_dsb_load(path, kl, &info), PCAPNG_DSB_OK);
	assert_int_equal(info.sections, 1);
	assert_int_equal(info.dsbs, 1);
	assert_int_equal(info.tls_dsbs, 1);
	assert_true(info.blocks > 10); /* SHB, DSB, IDB, packets */
	assert_null(info.error);
	/* The five TLS 1.3 secrets of the connection, and its comment line. */
	const struct keylog_stats *st = keylog_stats(kl);
	assert_int_equal(st->entries, 5);
	assert_int_equal(st->ignored, 1);
	assert_int_equal(st->bad_lines, 0);
	assert_true(keylog_lookup(kl, rnd, KEYLOG_CLIENT_TRAFFIC_SECRET_0, secret, &len));
	assert_int_equal(len, 48); /* TLS_AES_256_GCM_SHA384 */
	assert_int_equal(secret[0], 0xa3);
	assert_true(keylog_lookup(kl, rnd, KEYLOG_SERVER_HANDSHAKE_TRAFFIC_SECRET, secret, &len));
	keylog_free(kl);

	/* A missing file is an I/O error, not a corruption. */
	assert_int_equal(pcapng_dsb_load("/nonexistent.pcapng", NULL, &info), PCAPNG_DSB_IO);
}

static void both_orders_several_sections(void **state)
{
	struct img *m = calloc(1, sizeof(*m));
	struct pcapng_dsb_info info;
	struct got g;
	(void)state;

	shb(m, false);
	dsb(m, PCAPNG_SECRETS_TLS, keys);
	idb(m);
	size_t second = m->n;
	shb(m, true);
	idb(m);
	dsb(m, 0x57474B4C, "wireguard keys"); /* another secrets type: passed, not TLS */
	dsb(m, PCAPNG_SECRETS_TLS, keys);
	assert_int_equal(walk(m, m->n, &g, &info), PCAPNG_DSB_OK);
	assert_int_equal(info.sections, 2);
	assert_int_equal(info.blocks, 7);
	assert_int_equal(info.dsbs, 3);
	assert_int_equal(info.tls_dsbs, 2);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.type[0], PCAPNG_SECRETS_TLS);
	assert_int_equal(g.off[0], 28);
	assert_int_equal(g.len[0], strlen(keys));
	assert_int_equal(g.type[1], 0x57474B4C);
	assert_int_equal(g.off[1], second + 28 + 20);
	assert_int_equal(g.type[2], PCAPNG_SECRETS_TLS);

	/* The big-endian section alone, through the key log. */
	struct keylog *kl = keylog_new(0, NULL, NULL);
	char path[] = "/tmp/test_pcapng_dsb_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *out = fdopen(fd, "wb");
	fwrite(m->b + second, 1, m->n - second, out);
	fclose(out);
	assert_int_equal(pcapng_dsb_load(path, kl, &info), PCAPNG_DSB_OK);
	assert_int_equal(keylog_stats(kl)->entries, 1);
	remove(path);
	keylog_free(kl);
	free(m);
}

static void corrupt_lengths(void **state)
{
	struct img *m = calloc(1, sizeof(*m));
	struct pcapng_dsb_info info;
	struct got g;
	(void)state;

	shb(m, false);
	size_t at = m->n;
	dsb(m, PCAPNG_SECRETS_TLS, keys);
	size_t end = m->n;
	uint8_t save[8192];
	memcpy(save, m->b, end);

	/* Truncated anywhere inside the DSB: corrupt at its offset. */
	for (size_t n = at + 1; n < end; n++) {
		assert_int_equal(walk(m, n, &g, &info), PCAPNG_DSB_CORRUPT);
		assert_int_equal(info.error_offset, at);
		assert_int_equal(g.n, 0);
	}
	/* Total length: too small, not a multiple of 4, huge, trailer differs. */
	static const uint32_t bad_total[] = {8, 13, 0x7FFFFFF0u};
	for (size_t i = 0; i < 3; i++) {
		memcpy(m->b, save, end);
		m->b[at + 4] = (uint8_t)bad_total[i];
		m->b[at + 5] = (uint8_t)(bad_total[i] >> 8);
		m->b[at + 6] = (uint8_t)(bad_total[i] >> 16);
		m->b[at + 7] = (uint8_t)(bad_total[i] >> 24);
		assert_int_equal(walk(m, end, &g, &info), PCAPNG_DSB_CORRUPT);
		assert_int_equal(info.error_offset, at);
		assert_string_equal(info.error, "bad block total length");
	}
	memcpy(m->b, save, end);
	m->b[end - 4] ^= 4;
	assert_int_equal(walk(m, end, &g, &info), PCAPNG_DSB_CORRUPT);
	assert_string_equal(info.error, "trailing block length differs");
	/* Secrets length past the block. */
	memcpy(m->b, save, end);
	m->b[at + 13] = 0x10;
	assert_int_equal(walk(m, end, &g, &info), PCAPNG_DSB_CORRUPT);
	assert_string_equal(info.error, "secrets length past the block");
	/* A bad byte-order magic in a later section. */
	memcpy(m->b, save, end);
	m->n = end;
	shb(m, false);
	m->b[end + 8] = 0x77;
	assert_int_equal(walk(m, m->n, &g, &info), PCAPNG_DSB_CORRUPT);
	assert_int_equal(info.error_offset, end);
	assert_int_equal(g.n, 1); /* what came before the damage is kept */
	free(m);
}

static void not_pcapng(void **state)
{
	struct img *m = calloc(1, sizeof(*m));
	struct pcapng_dsb_info info;
	struct got g;
	(void)state;

	/* Classic pcap (magic a1b2c3d4, little-endian), text, empty. */
	static const uint8_t pcap[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
	memcpy(m->b, pcap, sizeof(pcap));
	assert_int_equal(walk(m, sizeof(pcap), &g, &info), PCAPNG_DSB_NOT_PCAPNG);
	assert_string_equal(info.error, "not a pcapng file");
	memcpy(m->b, "CLIENT_RANDOM 00\n", 17);
	assert_int_equal(walk(m, 17, &g, &info), PCAPNG_DSB_NOT_PCAPNG);
	assert_int_equal(walk(m, 0, &g, &info), PCAPNG_DSB_NOT_PCAPNG);
	/* An SHB type with a wrong magic at offset 0: not pcapng either. */
	shb(m, false);
	m->b[8] = 0;
	assert_int_equal(walk(m, m->n, &g, &info), PCAPNG_DSB_NOT_PCAPNG);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(real_editcap_file),
	    cmocka_unit_test(both_orders_several_sections),
	    cmocka_unit_test(corrupt_lengths),
	    cmocka_unit_test(not_pcapng),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
