/*
 * fuzz_keylog.c — the NSS key log parser (sensor/keylog.h), through
 * keylog_feed() with a store of 4 entries.
 *
 * Input: key log text, as a file or a pcapng Decryption Secrets Block
 * would hold it.
 *
 * Checked (keylog.h): the store never holds more than max_entries
 * secrets and keylog_feed returns what it added; bad lines (and
 * conflicts) are reported with the source name, a 1-based line number and
 * a reason; feeding the same text again adds nothing (a repeated identical
 * line is a duplicate, a different secret for a held key a conflict); a
 * secret found by keylog_lookup is 1..KEYLOG_SECRET_MAX bytes.
 * Lookups use the client randoms (and RSA prefixes) named by the input's
 * own lines, so that hits happen.
 */
#include <stdbool.h>
#include <string.h>

#include "ascii.h"
#include "buf.h"
#include "fuzz.h"
#include "keylog.h"

#define STORE_MAX 4u
#define SOURCE    "fuzz-input"

struct bad_ctx {
	uint64_t reports;
	uint64_t last_line;
};

static void on_bad_line(void *ctx, const char *source, uint64_t line, const char *reason)
{
	struct bad_ctx *b = ctx;

	FUZZ_CHECK(source && !strcmp(source, SOURCE));
	FUZZ_CHECK(line >= 1);
	FUZZ_CHECK(reason && reason[0]);
	b->reports++;
	b->last_line = line;
}

/* n bytes of hex from the cursor into out; false when they are not hex. */
static bool read_hex(struct buf *b, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = ascii_hex_digit(buf_u8(b)), lo = ascii_hex_digit(buf_u8(b));

		if (!buf_ok(b) || hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* "<label> <hex key>": look the key up under that label. */
static void lookup_line(const struct keylog *kl, struct buf line)
{
	uint8_t key[KEYLOG_RANDOM_LEN], secret[KEYLOG_SECRET_MAX], pms[48];
	size_t len = 0;

	for (int l = 0; l < KEYLOG__COUNT; l++) {
		const char *name = keylog_label_name((enum keylog_label)l);
		size_t n = strlen(name);
		struct buf b = line;
		const uint8_t *p = buf_take(&b, n + 1);

		if (!p || memcmp(p, name, n) || p[n] != ' ')
			continue;
		if (l == KEYLOG_RSA) {
			if (read_hex(&b, key, KEYLOG_RSA_PREFIX_LEN))
				(void)keylog_lookup_rsa(kl, key, pms);
		} else if (read_hex(&b, key, KEYLOG_RANDOM_LEN) &&
		           keylog_lookup(kl, key, (enum keylog_label)l, secret, &len)) {
			FUZZ_CHECK(len >= 1 && len <= KEYLOG_SECRET_MAX);
		}
		return;
	}
}

static void lookup_all(const struct keylog *kl, const uint8_t *data, size_t size)
{
	struct buf in = buf_init(data, size);

	while (buf_left(&in) > 0) {
		size_t n = 0;

		while (n < buf_left(&in) && buf_peek_u8(&in, n) != '\n')
			n++;
		lookup_line(kl, buf_sub(&in, n));
		if (buf_left(&in) > 0)
			buf_skip(&in, 1); /* the '\n' */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bad_ctx bad = {0};
	struct keylog *kl = keylog_new(STORE_MAX, on_bad_line, &bad);
	const struct keylog_stats *st;
	size_t added;

	if (!kl)
		return 0;
	added = keylog_feed(kl, SOURCE, data, size);
	st = keylog_stats(kl);
	FUZZ_CHECK(st->entries == added);
	FUZZ_CHECK(st->entries <= STORE_MAX);
	/* Malformed lines are counted in bad_lines and reported; a conflict is
	 * reported too ("the line is reported") but counted as a conflict. */
	FUZZ_CHECK(st->bad_lines <= bad.reports && bad.reports <= st->bad_lines + st->conflicts);
	FUZZ_CHECK(bad.last_line <= st->lines);
	FUZZ_CHECK(st->ignored + st->bad_lines + st->duplicates + st->conflicts + st->refused +
	               st->entries <=
	           st->lines);
	lookup_all(kl, data, size);

	FUZZ_CHECK(keylog_feed(kl, SOURCE, data, size) == 0);
	FUZZ_CHECK(keylog_stats(kl)->entries == added);
	keylog_free(kl);
	return 0;
}
