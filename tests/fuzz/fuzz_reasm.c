/*
 * fuzz_reasm.c — TCP stream reassembly (sensor/reasm.h) with small caps.
 *
 * Input: an 8-byte header, then 6-byte operations.
 *
 *   header  0    mode: bit 0 "consistent" (every segment carries the bytes
 *                pattern(seq), so all copies of a sequence number agree),
 *                bit 1 a depth of 300 bytes per direction, bit 2 flush
 *                both directions after the last operation
 *           1-3  unused (0)
 *           4-7  initial sequence number of direction 0; direction 1 uses
 *                its bitwise complement (wraparound gets exercised)
 *   op      0    bits 0-1: 0/1 a segment of that direction, 2 an ack for
 *                direction (bit 2), 3 a flush of direction (bit 2);
 *                bits 3-7 TCP flags FIN SYN RST PSH ACK for a segment
 *           1-2  sequence offset (signed, from the direction's ISN); bit 15
 *                of the unsigned value with byte 5 bit 7 set adds 2^30
 *           3    length on the wire
 *           4    captured length (min with the wire length)
 *           5    bit 7 see above; otherwise unused
 *
 * A segment's captured bytes follow its operation in the input; in
 * consistent mode they are read but replaced by pattern(seq), so the same
 * input replays in both modes.  Past the end of the input, pattern(seq).
 *
 * Checked (reasm.h): after every call no direction holds more than
 * max_dir_bytes bytes or max_dir_segs segments, the pool's queued_now is
 * the sum of both directions and never above max_total; end() comes at most
 * once per direction and nothing comes after it; a flushed direction holds
 * nothing; with a depth, no more than depth bytes (data and gaps) are
 * handed over.  Consistent mode also checks the content: every delivered
 * byte is pattern(its sequence number), where the stream starts where
 * reasm.h says it is picked up (ISN + 1 after a SYN, else the first
 * segment's sequence number) and data and gaps advance it; and no overlap
 * is ever reported as different.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "reasm.h"

#define CAP_DIR_BYTES 512u
#define CAP_DIR_SEGS  8u
#define CAP_TOTAL     1200u
#define DEPTH         300u

#define F_SYN 0x02
#define F_RST 0x04

struct side {
	bool seen;    /* a segment was offered: the stream start is known */
	uint32_t pos; /* sequence number of the next byte handed over */
	bool ended;
	uint64_t handed; /* data and gap bytes */
};

struct sink {
	bool consistent;
	uint64_t depth;
	struct side side[2];
};

static uint8_t pattern(uint32_t seq)
{
	return (uint8_t)((seq * 2654435761u) >> 24);
}

static void on_data(void *ctx, int dir, const uint8_t *bytes, size_t n)
{
	struct sink *s = ctx;
	struct side *sd;

	FUZZ_CHECK(dir == 0 || dir == 1);
	sd = &s->side[dir];
	FUZZ_CHECK(!sd->ended);
	FUZZ_CHECK(n == 0 || bytes != NULL);
	if (s->consistent) {
		FUZZ_CHECK(sd->seen);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(bytes[i] == pattern(sd->pos + (uint32_t)i));
	}
	sd->pos += (uint32_t)n;
	sd->handed += n;
	if (s->depth)
		FUZZ_CHECK(sd->handed <= s->depth);
}

static void on_gap(void *ctx, int dir, uint64_t n)
{
	struct sink *s = ctx;
	struct side *sd;

	FUZZ_CHECK(dir == 0 || dir == 1);
	sd = &s->side[dir];
	FUZZ_CHECK(!sd->ended);
	sd->pos += (uint32_t)n;
	sd->handed += n;
	if (s->depth)
		FUZZ_CHECK(sd->handed <= s->depth);
}

static void on_end(void *ctx, int dir)
{
	struct sink *s = ctx;

	FUZZ_CHECK(dir == 0 || dir == 1);
	FUZZ_CHECK(!s->side[dir].ended);
	s->side[dir].ended = true;
}

static void on_anomaly(void *ctx, int dir, enum anomaly a)
{
	struct sink *s = ctx;

	FUZZ_CHECK(dir == 0 || dir == 1);
	if (s->consistent)
		FUZZ_CHECK(a != ANOMALY_TCP_OVERLAP_DIFFERENT);
}

static void check_caps(const struct reasm_pool *p, const struct reasm_dir *d)
{
	const struct reasm_stats *st = reasm_pool_stats(p);

	for (int i = 0; i < 2; i++) {
		FUZZ_CHECK(d[i].queued_bytes <= CAP_DIR_BYTES);
		FUZZ_CHECK(d[i].queued_segs <= CAP_DIR_SEGS);
		FUZZ_CHECK((d[i].queued_bytes == 0) == (d[i].queued_segs == 0));
	}
	FUZZ_CHECK(st->queued_now == (uint64_t)d[0].queued_bytes + d[1].queued_bytes);
	FUZZ_CHECK(st->queued_now <= CAP_TOTAL);
	FUZZ_CHECK(st->queued_max <= CAP_TOTAL);
}

static void segment(struct reasm_pool *p, struct reasm_dir *d, struct sink *s, int dir,
                    uint32_t seq, uint8_t flags, uint32_t wire, uint32_t cap, struct buf *in)
{
	uint8_t bytes[256];
	struct side *sd = &s->side[dir];
	/* The SYN occupies seq: a SYN segment's data starts after it. */
	uint32_t first = flags & F_SYN ? seq + 1 : seq;

	if (cap > wire)
		cap = wire;
	for (uint32_t i = 0; i < cap; i++) {
		uint8_t c = buf_u8(in);
		bytes[i] = !s->consistent && buf_ok(in) ? c : pattern(first + i);
	}
	/* reasm.h: picked up at ISN + 1 after a SYN, else at the first segment. */
	if (!sd->seen && !d[dir].started) {
		sd->seen = true;
		sd->pos = first;
	}
	reasm_segment(p, &d[dir], dir, s, seq, flags, bytes, cap, wire);
	if (flags & F_RST)
		FUZZ_CHECK(d[dir].queued_bytes == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct reasm_ops ops = {
	    .data = on_data,
	    .gap = on_gap,
	    .end = on_end,
	    .anomaly = on_anomaly,
	};
	struct buf in = buf_init(data, size);
	struct reasm_config cfg = {
	    .max_dir_bytes = CAP_DIR_BYTES,
	    .max_dir_segs = CAP_DIR_SEGS,
	    .max_total = CAP_TOTAL,
	};
	struct sink s;
	struct reasm_dir d[2];
	struct reasm_pool *p;
	uint8_t mode = buf_u8(&in);
	uint32_t isn[2];

	buf_skip(&in, 3);
	isn[0] = buf_be32(&in);
	isn[1] = ~isn[0];
	if (!buf_ok(&in))
		return 0;
	memset(&s, 0, sizeof(s));
	s.consistent = mode & 1;
	cfg.depth = mode & 2 ? DEPTH : 0;
	s.depth = cfg.depth;
	p = reasm_pool_new(&cfg, &ops);
	if (!p)
		return 0;
	reasm_dir_init(&d[0]);
	reasm_dir_init(&d[1]);

	while (buf_has(&in, 6)) {
		uint8_t op = buf_u8(&in);
		uint16_t off = buf_be16(&in);
		uint32_t wire = buf_u8(&in);
		uint32_t cap = buf_u8(&in);
		uint8_t misc = buf_u8(&in);
		int dir = (op & 3) < 2 ? op & 1 : (op >> 2) & 1;
		uint32_t seq = isn[dir] + (uint32_t)(int32_t)(int16_t)off;

		if ((misc & 0x80) && (off & 0x8000))
			seq += 1u << 30;
		switch (op & 3) {
		case 0:
		case 1:
			segment(p, d, &s, dir, seq, (uint8_t)(op >> 3), wire, cap, &in);
			break;
		case 2:
			reasm_ack(p, &d[dir], dir, &s, seq);
			break;
		default:
			reasm_flush(p, &d[dir], dir, &s);
			FUZZ_CHECK(d[dir].queued_bytes == 0 && d[dir].queued_segs == 0);
			FUZZ_CHECK(s.side[dir].ended);
			break;
		}
		check_caps(p, d);
	}
	if (mode & 4) {
		reasm_flush(p, &d[0], 0, &s);
		reasm_flush(p, &d[1], 1, &s);
		FUZZ_CHECK(s.side[0].ended && s.side[1].ended);
		check_caps(p, d);
	}
	reasm_dir_release(p, &d[0]);
	reasm_dir_release(p, &d[1]);
	FUZZ_CHECK(reasm_pool_stats(p)->queued_now == 0);
	reasm_pool_free(p);
	return 0;
}
