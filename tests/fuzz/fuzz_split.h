/*
 * fuzz_split.h — one fuzz input as the two directions of a TCP connection,
 * handed over in chunks, for the stream parsers (tls_conn, http_conn).
 *
 * Input layout:
 *
 *   0      ctl: seeds the chunking
 *   1-2    client byte count (big-endian; clamped to what is there)
 *   3-     the client->server bytes, then the server->client bytes
 *
 * fuzz_split_run() replays the two streams in one of three ways:
 *
 *   FUZZ_SPLIT_WHOLE    all client bytes in one call, then all server bytes;
 *   FUZZ_SPLIT_CHUNKS   chunks of 1..64 bytes, the direction picked by a
 *                       PRNG seeded from the input, each stream in order;
 *   FUZZ_SPLIT_GAPS     as CHUNKS, but about one chunk in eight is not
 *                       handed over: a gap of its length is declared.
 *
 * Only the checked cursor (buf.h) touches the input.
 */
#ifndef MDM_FUZZ_SPLIT_H
#define MDM_FUZZ_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum fuzz_split_mode {
	FUZZ_SPLIT_WHOLE,
	FUZZ_SPLIT_CHUNKS,
	FUZZ_SPLIT_GAPS,
};

struct fuzz_split {
	uint8_t ctl;
	struct buf dir[2]; /* 0 client->server, 1 server->client */
};

struct fuzz_split_ops {
	void (*data)(void *ctx, int dir, const uint8_t *p, size_t n);
	void (*gap)(void *ctx, int dir, size_t n);
};

/* False when the input is too short to hold the header. */
static inline bool fuzz_split_init(struct fuzz_split *s, const uint8_t *data, size_t size)
{
	struct buf in = buf_init(data, size);
	size_t c;

	s->ctl = buf_u8(&in);
	c = buf_be16(&in);
	if (!buf_ok(&in))
		return false;
	if (c > buf_left(&in))
		c = buf_left(&in);
	s->dir[0] = buf_sub(&in, c);
	s->dir[1] = buf_sub(&in, buf_left(&in));
	return true;
}

static inline uint32_t fuzz_split_rand(uint32_t *st)
{
	uint32_t x = *st;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*st = x;
	return x;
}

static inline void fuzz_split_run(const struct fuzz_split *s, enum fuzz_split_mode mode,
                                  const struct fuzz_split_ops *ops, void *ctx)
{
	struct buf d[2] = {s->dir[0], s->dir[1]};
	uint32_t st = 0x9e3779b9u ^ ((uint32_t)s->ctl << 16) ^ (uint32_t)buf_left(&d[0]);

	if (mode == FUZZ_SPLIT_WHOLE) {
		for (int i = 0; i < 2; i++) {
			size_t n = buf_left(&d[i]);
			if (n)
				ops->data(ctx, i, buf_take(&d[i], n), n);
		}
		return;
	}
	while (buf_left(&d[0]) || buf_left(&d[1])) {
		uint32_t r = fuzz_split_rand(&st);
		int i = buf_left(&d[0]) && (!buf_left(&d[1]) || (r & 1)) ? 0 : 1;
		size_t n = 1 + (r >> 1) % 64;

		if (n > buf_left(&d[i]))
			n = buf_left(&d[i]);
		if (mode == FUZZ_SPLIT_GAPS && (r >> 8) % 8 == 0) {
			buf_skip(&d[i], n);
			ops->gap(ctx, i, n);
		} else {
			ops->data(ctx, i, buf_take(&d[i], n), n);
		}
	}
}

#endif /* MDM_FUZZ_SPLIT_H */
