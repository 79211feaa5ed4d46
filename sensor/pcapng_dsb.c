/*
 * pcapng_dsb.c — pcapng block walker for Decryption Secrets Blocks.
 *
 * Reference: draft-ietf-opsawg-pcapng §3.1 (general block structure),
 * §4.1 (Section Header Block), §4.7 (Decryption Secrets Block).
 *
 * Every block:                        Section Header Block body:
 *   0                   32              byte-order magic 0x1A2B3C4D (4)
 *   +-------------------+               major (2) minor (2)
 *   | Block Type        |               section length (8, may be -1)
 *   | Block Total Length|               options...
 *   | Body (padded to 4)|
 *   | Block Total Length|             Decryption Secrets Block body:
 *   +-------------------+               secrets type (4) secrets length (4)
 *                                       secrets data (padded to 4), options
 *
 * SHB type 0x0A0D0D0A reads the same in both byte orders; its magic gives
 * the order of everything up to the next SHB.  A total length below 12 (28
 * for an SHB), not a multiple of 4, over LIMIT_PCAPNG_BLOCK_BYTES, or whose
 * trailing copy differs, is corruption: the walk stops there with the
 * offset.  Section lengths are not trusted (they may be -1).
 */
#include "pcapng_dsb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "keylog.h"
#include "mdm_limits.h"

#define BT_SHB        0x0A0D0D0Au
#define BT_DSB        0x0000000Au
#define SHB_MIN_LEN   28u
#define BLOCK_MIN_LEN 12u

struct walker {
	FILE *fp;
	bool big; /* byte order of the current section */
	uint64_t off;
	struct pcapng_dsb_info info;
};

static uint32_t u32(struct buf *b, bool big)
{
	return big ? buf_be32(b) : buf_le32(b);
}

static enum pcapng_dsb_result fail(struct walker *w, const char *why)
{
	w->info.error = why;
	w->info.error_offset = w->off;
	return PCAPNG_DSB_CORRUPT;
}

static enum pcapng_dsb_result io_fail(struct walker *w)
{
	w->info.error = "read error";
	w->info.error_errno = errno;
	w->info.error_offset = w->off;
	return PCAPNG_DSB_IO;
}

/* Reads exactly n bytes; false at EOF or error (ferror tells which). */
static bool read_n(FILE *fp, void *p, size_t n)
{
	return fread(p, 1, n, fp) == n;
}

/* Skips n bytes of the current block. */
static bool skip_n(FILE *fp, uint64_t n)
{
	uint8_t tmp[4096];
	if (fseeko(fp, (off_t)n, SEEK_CUR) == 0)
		return true;
	while (n > 0) { /* not seekable: read and drop */
		size_t k = n < sizeof(tmp) ? (size_t)n : sizeof(tmp);
		if (!read_n(fp, tmp, k))
			return false;
		n -= k;
	}
	return true;
}

/*
 * A DSB after its type and length: body and trailing length are read and
 * checked before the secrets go to fn, so a damaged block hands nothing.
 */
static enum pcapng_dsb_result dsb(struct walker *w, uint32_t total, pcapng_dsb_fn fn, void *ctx)
{
	size_t n = total - 8; /* body and trailing length */
	uint8_t *body = malloc(n);
	enum pcapng_dsb_result r = PCAPNG_DSB_OK;

	if (!body)
		return io_fail(w);
	if (!read_n(w->fp, body, n)) {
		r = ferror(w->fp) ? io_fail(w) : fail(w, "truncated block");
		goto out;
	}
	struct buf b = buf_init(body, n);
	uint32_t type = u32(&b, w->big);
	uint32_t len = u32(&b, w->big);
	struct buf t = buf_init(body, n);
	buf_skip(&t, n - 4);
	if (u32(&t, w->big) != total) {
		r = fail(w, "trailing block length differs");
		goto out;
	}
	const uint8_t *data = len <= buf_left(&b) - 4 ? buf_take(&b, len) : NULL;
	if (!data) {
		r = fail(w, "secrets length past the block");
		goto out;
	}
	w->info.dsbs++;
	if (type == PCAPNG_SECRETS_TLS)
		w->info.tls_dsbs++;
	if (fn)
		fn(ctx, type, data, len, w->off);
out:
	explicit_bzero(body, n);
	free(body);
	return r;
}

/* One block at w->off; PCAPNG_DSB_OK and *ret_eof at a clean end of file. */
static enum pcapng_dsb_result block(struct walker *w, pcapng_dsb_fn fn, void *ctx, bool *ret_eof)
{
	uint8_t hdr[12], tail[4];
	size_t got = fread(hdr, 1, 8, w->fp);
	size_t hlen = 8;

	if (got == 0 && !ferror(w->fp)) {
		*ret_eof = true;
		return w->off == 0 ? PCAPNG_DSB_NOT_PCAPNG : PCAPNG_DSB_OK;
	}
	if (got != 8)
		return ferror(w->fp) ? io_fail(w) : fail(w, "truncated block header");
	struct buf b = buf_init(hdr, sizeof(hdr));
	uint32_t type = buf_be32(&b);
	if (w->off == 0 && type != BT_SHB)
		return PCAPNG_DSB_NOT_PCAPNG;
	if (type == BT_SHB) {
		if (!read_n(w->fp, hdr + 8, 4))
			return fail(w, "truncated section header");
		hlen = 12;
		struct buf m = buf_init(hdr + 8, 4);
		uint32_t magic = buf_be32(&m);
		if (magic != 0x1A2B3C4Du && magic != 0x4D3C2B1Au)
			return w->off == 0 ? PCAPNG_DSB_NOT_PCAPNG
			                   : fail(w, "bad byte-order magic");
		w->big = magic == 0x1A2B3C4Du;
		w->info.sections++;
	}
	b = buf_init(hdr, sizeof(hdr));
	type = u32(&b, w->big);
	uint32_t total = u32(&b, w->big);
	if (total < (type == BT_SHB ? SHB_MIN_LEN : BLOCK_MIN_LEN) || total % 4 ||
	    total > LIMIT_PCAPNG_BLOCK_BYTES)
		return fail(w, "bad block total length");
	if (type == BT_DSB && total < BLOCK_MIN_LEN + 8)
		return fail(w, "decryption secrets block too short");
	if (type == BT_DSB) {
		enum pcapng_dsb_result r = dsb(w, total, fn, ctx);
		if (r != PCAPNG_DSB_OK)
			return r;
	} else {
		if (!skip_n(w->fp, total - hlen - 4) || !read_n(w->fp, tail, 4))
			return ferror(w->fp) ? io_fail(w) : fail(w, "truncated block");
		struct buf t = buf_init(tail, 4);
		if (u32(&t, w->big) != total)
			return fail(w, "trailing block length differs");
	}
	w->info.blocks++;
	w->off += total;
	return PCAPNG_DSB_OK;
}

enum pcapng_dsb_result pcapng_dsb_walk(FILE *fp, pcapng_dsb_fn fn, void *ctx,
                                       struct pcapng_dsb_info *ret)
{
	struct walker w = {.fp = fp};
	enum pcapng_dsb_result r = PCAPNG_DSB_OK;
	bool eof = false;

	while (r == PCAPNG_DSB_OK && !eof)
		r = block(&w, fn, ctx, &eof);
	if (r == PCAPNG_DSB_NOT_PCAPNG)
		w.info.error = "not a pcapng file";
	if (ret)
		*ret = w.info;
	return r;
}

struct load_ctx {
	struct keylog *kl;
	const char *path;
};

static void load_one(void *ctx, uint32_t type, const uint8_t *data, size_t len, uint64_t offset)
{
	struct load_ctx *l = ctx;
	char source[4096];

	if (type != PCAPNG_SECRETS_TLS)
		return;
	snprintf(source, sizeof(source), "%s@%" PRIu64, l->path, offset);
	keylog_feed(l->kl, source, data, len);
}

enum pcapng_dsb_result pcapng_dsb_load(const char *path, struct keylog *kl,
                                       struct pcapng_dsb_info *ret)
{
	struct load_ctx l = {.kl = kl, .path = path};
	FILE *fp = fopen(path, "rbe");

	if (!fp) {
		if (ret) {
			memset(ret, 0, sizeof(*ret));
			ret->error = "cannot open";
			ret->error_errno = errno;
		}
		return PCAPNG_DSB_IO;
	}
	enum pcapng_dsb_result r = pcapng_dsb_walk(fp, load_one, &l, ret);
	fclose(fp);
	return r;
}
