/*
 * test_reasm.c — unit tests for sensor/reasm.c (TCP stream reassembly).
 *
 * A sink records what each direction's consumer is given: the bytes, with
 * every gap written as GAP_FILL bytes at the place it occurred (gap tests
 * use streams without that byte), the gap and end counts, and the
 * anomalies.  It fails the test on any call after end().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "buf.h"
#include "reasm.h"

#define FIN 0x01
#define SYN 0x02
#define RST 0x04

#define SINK_MAX (64u * 1024u)
#define GAP_FILL '#'

/* Streams in the small tests start at ISN + 1 = 1000. */
#define ISN     999u
#define AT(off) (ISN + 1u + (uint32_t)(off))

struct sink {
	uint8_t out[2][SINK_MAX];
	size_t len[2];
	uint64_t gaps[2];
	uint64_t gap_bytes[2];
	unsigned ends[2];
	unsigned anomalies[ANOMALY__COUNT];
	const uint8_t *last_data;
};

static void sink_data(void *ctx, int dir, const uint8_t *bytes, size_t n)
{
	struct sink *s = ctx;

	assert_true(dir == 0 || dir == 1);
	assert_int_equal(s->ends[dir], 0);
	assert_true(n > 0);
	assert_true(s->len[dir] + n <= SINK_MAX);
	memcpy(s->out[dir] + s->len[dir], bytes, n);
	s->len[dir] += n;
	s->last_data = bytes;
}

static void sink_gap(void *ctx, int dir, uint64_t n)
{
	struct sink *s = ctx;
	uint64_t room = SINK_MAX - s->len[dir];

	assert_true(dir == 0 || dir == 1);
	assert_int_equal(s->ends[dir], 0);
	assert_true(n > 0);
	s->gaps[dir]++;
	s->gap_bytes[dir] += n;
	memset(s->out[dir] + s->len[dir], GAP_FILL, (size_t)(n < room ? n : room));
	s->len[dir] += (size_t)(n < room ? n : room);
}

static void sink_end(void *ctx, int dir)
{
	struct sink *s = ctx;

	assert_true(dir == 0 || dir == 1);
	s->ends[dir]++;
	assert_int_equal(s->ends[dir], 1);
}

static void sink_anomaly(void *ctx, int dir, enum anomaly a)
{
	struct sink *s = ctx;

	assert_true(dir == 0 || dir == 1);
	assert_true((unsigned)a < ANOMALY__COUNT);
	s->anomalies[a]++;
}

static const struct reasm_ops sink_ops = {
    .data = sink_data,
    .gap = sink_gap,
    .end = sink_end,
    .anomaly = sink_anomaly,
};

struct fix {
	struct sink *s;
	struct reasm_pool *p;
	struct reasm_dir d[2];
	const struct reasm_stats *st;
	struct reasm_config cfg;
};

/* cfg NULL: the defaults. */
static void fix_open(struct fix *f, const struct reasm_config *cfg)
{
	if (cfg)
		f->cfg = *cfg;
	else
		reasm_config_default(&f->cfg);
	f->s = calloc(1, sizeof(*f->s));
	assert_non_null(f->s);
	f->p = reasm_pool_new(&f->cfg, &sink_ops);
	assert_non_null(f->p);
	reasm_dir_init(&f->d[0]);
	reasm_dir_init(&f->d[1]);
	f->st = reasm_pool_stats(f->p);
}

static void fix_close(struct fix *f)
{
	reasm_dir_release(f->p, &f->d[0]);
	reasm_dir_release(f->p, &f->d[1]);
	assert_int_equal(f->st->queued_now, 0);
	reasm_pool_free(f->p);
	free(f->s);
}

/* Checks the caps after every call: the module's memory promise. */
static void check_caps(const struct fix *f)
{
	for (int i = 0; i < 2; i++) {
		assert_true(f->d[i].queued_bytes <= f->cfg.max_dir_bytes);
		assert_true(f->d[i].queued_segs <= f->cfg.max_dir_segs);
	}
	assert_true(f->st->queued_now <= f->cfg.max_total);
	assert_true(f->st->queued_max <= f->cfg.max_total);
	assert_int_equal(f->st->queued_now, (uint64_t)f->d[0].queued_bytes + f->d[1].queued_bytes);
}

static void seg_bytes(struct fix *f, int dir, uint32_t seq, uint8_t flags, const void *data,
                      size_t caplen, size_t wirelen)
{
	reasm_segment(f->p, &f->d[dir], dir, f->s, seq, flags, data, caplen, wirelen);
	check_caps(f);
}

static void seg(struct fix *f, int dir, uint32_t seq, uint8_t flags, const char *str)
{
	seg_bytes(f, dir, seq, flags, str, strlen(str), strlen(str));
}

static void ack(struct fix *f, int dir, uint32_t a)
{
	reasm_ack(f->p, &f->d[dir], dir, f->s, a);
	check_caps(f);
}

static void flush(struct fix *f, int dir)
{
	reasm_flush(f->p, &f->d[dir], dir, f->s);
	check_caps(f);
}

static void assert_out(const struct fix *f, int dir, const char *want)
{
	assert_int_equal(f->s->len[dir], strlen(want));
	assert_memory_equal(f->s->out[dir], want, strlen(want));
}

/*
 * The output covers exactly want[0, len): every byte is either the right
 * one or part of a gap.  For cap tests, where which holes are given up
 * depends on the policy but the stream must stay aligned.
 */
static void assert_aligned(const struct fix *f, int dir, const char *want)
{
	assert_int_equal(f->s->len[dir], strlen(want));
	for (size_t i = 0; i < strlen(want); i++)
		assert_true(f->s->out[dir][i] == (uint8_t)want[i] || f->s->out[dir][i] == GAP_FILL);
}

/* ---- basics ----------------------------------------------------------- */

static void test_in_order(void **state)
{
	static const char a[] = "GET /EWS/", b[] = "Exchange.asmx ", c[] = "HTTP/1.1\r\n";
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, a);
	/* Straight from the caller's buffer: no copy on the fast path. */
	assert_ptr_equal(f.s->last_data, (const uint8_t *)a);
	seg(&f, 0, AT(9), 0, b);
	assert_ptr_equal(f.s->last_data, (const uint8_t *)b);
	seg(&f, 0, AT(23), FIN, c);
	assert_out(&f, 0, "GET /EWS/Exchange.asmx HTTP/1.1\r\n");
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.s->gaps[0], 0);
	assert_int_equal(f.s->len[1], 0);
	assert_int_equal(f.st->segments, 3);
	assert_int_equal(f.st->delivered_bytes, 33);
	assert_int_equal(f.st->queued_segments, 0);
	assert_int_equal(f.st->queued_max, 0);
	fix_close(&f);
}

static void test_split_points(void **state)
{
	static const char msg[] =
	    "POST /Microsoft-Server-ActiveSync?Cmd=Sync&User=bob HTTP/1.1\r\n";
	size_t len = strlen(msg);

	(void)state;
	for (size_t k = 1; k < len; k++) {
		for (int order = 0; order < 2; order++) {
			struct fix f;

			fix_open(&f, NULL);
			seg(&f, 0, ISN, SYN, "");
			if (order == 0) {
				seg_bytes(&f, 0, AT(0), 0, msg, k, k);
				seg_bytes(&f, 0, AT(k), 0, msg + k, len - k, len - k);
			} else {
				seg_bytes(&f, 0, AT(k), 0, msg + k, len - k, len - k);
				assert_int_equal(f.s->len[0], 0);
				assert_int_equal(f.st->queued_now, len - k);
				seg_bytes(&f, 0, AT(0), 0, msg, k, k);
			}
			assert_out(&f, 0, msg);
			assert_int_equal(f.s->gaps[0], 0);
			assert_int_equal(f.st->queued_now, 0);
			assert_int_equal(f.st->queued_segments, order);
			fix_close(&f);
		}
	}
}

/* ---- property: shuffled, duplicated, overlapping segments --------------- */

struct tseg {
	uint32_t off;
	uint32_t len;
};

static uint64_t rng_next(uint64_t *st)
{
	/* xorshift64*: deterministic per seed, good enough to shuffle. */
	*st ^= *st >> 12;
	*st ^= *st << 25;
	*st ^= *st >> 27;
	return *st * 2685821657736338717ull;
}

static uint32_t rng_below(uint64_t *st, uint32_t n)
{
	return (uint32_t)(rng_next(st) >> 33) % n;
}

/* Cuts [0, len) into 1-7 byte segments, with duplicates and overlaps. */
static size_t make_segments(uint64_t *rng, uint32_t len, struct tseg *v, size_t cap)
{
	size_t n = 0;

	for (uint32_t off = 0; off < len;) {
		uint32_t l = 1 + rng_below(rng, 7);

		if (l > len - off)
			l = len - off;
		assert_true(n + 3 <= cap);
		v[n++] = (struct tseg){off, l};
		if (rng_below(rng, 8) == 0)
			v[n++] = (struct tseg){off, l};
		if (rng_below(rng, 8) == 0) {
			uint32_t back = rng_below(rng, 12), fwd = rng_below(rng, 12);
			uint32_t s = off > back ? off - back : 0;
			uint32_t e = off + l + fwd < len ? off + l + fwd : len;

			v[n++] = (struct tseg){s, e - s};
		}
		off += l;
	}
	return n;
}

/* Moves each segment up to `window` places, which bounds the queue. */
static void shuffle_window(uint64_t *rng, struct tseg *v, size_t n, uint32_t window)
{
	for (size_t i = 0; i + 1 < n; i++) {
		size_t j = i + rng_below(rng, window);
		struct tseg t;

		if (j >= n)
			j = n - 1;
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

static void property_run(uint64_t seed, uint32_t isn)
{
	const uint32_t len = 20000;
	size_t cap = 3u * len, n, contig = 0;
	uint8_t *stream = malloc(len);
	bool *fed = calloc(len, sizeof(*fed));
	struct tseg *v = malloc(cap * sizeof(*v));
	uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
	struct fix f;

	assert_non_null(stream);
	assert_non_null(fed);
	assert_non_null(v);
	for (uint32_t i = 0; i < len; i++)
		stream[i] = (uint8_t)rng_next(&rng);
	n = make_segments(&rng, len, v, cap);
	shuffle_window(&rng, v, n, 12);

	fix_open(&f, NULL);
	seg_bytes(&f, 0, isn, SYN, NULL, 0, 0);
	for (size_t i = 0; i < n; i++) {
		struct buf b = buf_init(stream, len);

		buf_skip(&b, v[i].off);
		seg_bytes(&f, 0, isn + 1 + v[i].off, 0, buf_take(&b, v[i].len), v[i].len, v[i].len);
		for (uint32_t k = 0; k < v[i].len; k++)
			fed[v[i].off + k] = true;
		/* The peer acknowledges only what was really sent: never a gap. */
		while (contig < len && fed[contig])
			contig++;
		if (i % 5 == 0)
			ack(&f, 0, isn + 1 + (uint32_t)contig);
	}
	seg_bytes(&f, 0, isn + 1 + len, FIN, NULL, 0, 0);

	assert_int_equal(f.s->len[0], len);
	assert_memory_equal(f.s->out[0], stream, len);
	assert_int_equal(f.s->gaps[0], 0);
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.st->overlap_different, 0);
	assert_int_equal(f.st->queued_now, 0);
	assert_int_equal(f.st->delivered_bytes, len);
	assert_true(f.st->queued_segments > 0);
	assert_true(f.st->retrans_bytes > 0);
	assert_true(f.st->overlap_bytes > 0);
	assert_int_equal(f.st->cap_dir + f.st->cap_total, 0);
	fix_close(&f);
	free(v);
	free(fed);
	free(stream);
}

static void test_property(void **state)
{
	static const struct {
		uint64_t seed;
		uint32_t isn;
	} runs[] = {
	    {1, 0},          {2, 0xFFFFFF00u}, {3, 0x7FFFFFF0u},
	    {4, 123456789u}, {5, 0xFFFFB000u}, {6, 0xFFFFFFFFu},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		property_run(runs[i].seed, runs[i].isn);
}

/* ---- overlaps, wraparound, SYN, pickup -------------------------------- */

static void test_overlap_different(void **state)
{
	struct fix f;

	(void)state;
	/* Queued first, then an in-order segment overlapping it. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(5), 0, "XYZ");
	seg(&f, 0, AT(0), 0, "abcdefghij");
	assert_out(&f, 0, "abcdeXYZij");
	assert_int_equal(f.st->overlap_bytes, 3);
	assert_int_equal(f.st->overlap_different, 1);
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_OVERLAP_DIFFERENT], 1);
	fix_close(&f);

	/* Both out of order: compared while inserting. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(5), 0, "fgh");
	seg(&f, 0, AT(3), 0, "deFGHij");
	seg(&f, 0, AT(0), 0, "abc");
	assert_out(&f, 0, "abcdefghij");
	assert_int_equal(f.st->overlap_bytes, 3);
	assert_int_equal(f.st->overlap_different, 1);
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_OVERLAP_DIFFERENT], 1);
	fix_close(&f);

	/* The same bytes again: counted, not an anomaly. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(5), 0, "fgh");
	seg(&f, 0, AT(8), 0, "ij");
	seg(&f, 0, AT(4), 0, "efghijk");
	seg(&f, 0, AT(0), 0, "abcd");
	assert_out(&f, 0, "abcdefghijk");
	assert_int_equal(f.st->overlap_bytes, 5);
	assert_int_equal(f.st->overlap_different, 0);
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_OVERLAP_DIFFERENT], 0);
	fix_close(&f);
}

static void wrap_run(bool reversed)
{
	const uint32_t isn = 0xFFFFFF00u, len = 10000, step = 100;
	uint8_t *stream = malloc(len);
	struct fix f;

	assert_non_null(stream);
	for (uint32_t i = 0; i < len; i++)
		stream[i] = (uint8_t)('a' + i % 26);
	fix_open(&f, NULL);
	seg_bytes(&f, 0, isn, SYN, NULL, 0, 0);
	/* Blocks of 10 segments, each block sent back to front when reversed. */
	for (uint32_t blk = 0; blk < len; blk += 10 * step) {
		for (uint32_t i = 0; i < 10; i++) {
			uint32_t off = blk + (reversed ? 9 - i : i) * step;
			struct buf b = buf_init(stream, len);

			buf_skip(&b, off);
			seg_bytes(&f, 0, isn + 1 + off, 0, buf_take(&b, step), step, step);
		}
	}
	seg_bytes(&f, 0, isn + 1 + len, FIN, NULL, 0, 0);
	assert_int_equal(f.s->len[0], len);
	assert_memory_equal(f.s->out[0], stream, len);
	assert_int_equal(f.s->gaps[0], 0);
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.st->queued_segments, reversed ? 9 * (len / step / 10) : 0);
	fix_close(&f);
	free(stream);
}

static void test_wraparound(void **state)
{
	(void)state;
	wrap_run(false);
	wrap_run(true);
}

static void test_syn(void **state)
{
	struct fix f;

	(void)state;
	/* The SYN's own sequence number is no byte. */
	fix_open(&f, NULL);
	seg(&f, 0, 0xFFFFFFFFu, SYN, "");
	assert_true(f.d[0].started);
	assert_int_equal(f.d[0].next_seq, 0);
	seg(&f, 0, 0, 0, "abc");
	assert_out(&f, 0, "abc");
	fix_close(&f);

	/* TFO: data on the SYN follows it; a retransmitted SYN is old. */
	fix_open(&f, NULL);
	seg(&f, 1, 4999, SYN, "hello");
	seg(&f, 1, 4999, SYN, "hello");
	seg(&f, 1, 5005, 0, " world");
	assert_out(&f, 1, "hello world");
	assert_int_equal(f.st->retrans_bytes, 5);
	assert_int_equal(f.s->len[0], 0);
	fix_close(&f);
}

static void test_midstream(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, 7000, 0, "hello");
	assert_true(f.d[0].started);
	/* Earlier than the pickup point: nothing to deliver it after. */
	seg(&f, 0, 6995, 0, "xxxxx");
	seg(&f, 0, 7005, 0, " world");
	assert_out(&f, 0, "hello world");
	assert_int_equal(f.st->retrans_bytes, 5);
	assert_int_equal(f.s->gaps[0], 0);
	fix_close(&f);

	/* Picked up on a pure ACK: the next data is in order.  The peer's ack
	 * of the missing bytes does not throw them away while they may still
	 * be on their way (mirroring skew)... */
	fix_open(&f, NULL);
	seg(&f, 0, 42, 0, "");
	seg(&f, 0, 45, 0, "def");
	assert_int_equal(f.s->len[0], 0);
	ack(&f, 0, 45);
	seg(&f, 0, 42, 0, "abc");
	assert_out(&f, 0, "abcdef");
	assert_int_equal(f.s->gaps[0], 0);
	fix_close(&f);

	/* ... but bytes still missing after REASM_ACK_PATIENCE segments are. */
	fix_open(&f, NULL);
	seg(&f, 0, 42, 0, "");
	seg(&f, 0, 45, 0, "def");
	ack(&f, 0, 45);
	for (int i = 0; i < REASM_ACK_PATIENCE; i++)
		seg(&f, 0, 48, 0, "");
	seg(&f, 0, 42, 0, "abc");
	assert_out(&f, 0, "###def");
	assert_int_equal(f.s->gap_bytes[0], 3);
	assert_int_equal(f.st->retrans_bytes, 3);
	fix_close(&f);
}

/* ---- FIN, RST, acks --------------------------------------------------- */

static void test_fin_ordering(void **state)
{
	struct fix f;

	(void)state;
	/* FIN with data before the segment that precedes it. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abcde");
	seg(&f, 0, AT(10), FIN, "klmno");
	assert_int_equal(f.s->ends[0], 0);
	assert_true(f.d[0].fin_seen);
	assert_int_equal(f.d[0].fin_seq, AT(15));
	seg(&f, 0, AT(5), 0, "fghij");
	assert_out(&f, 0, "abcdefghijklmno");
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.st->queued_now, 0);
	fix_close(&f);

	/* A bare FIN first. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(5), FIN, "");
	assert_int_equal(f.s->ends[0], 0);
	seg(&f, 0, AT(0), 0, "abcde");
	assert_out(&f, 0, "abcde");
	assert_int_equal(f.s->ends[0], 1);
	/* A retransmitted FIN after the end is nothing. */
	seg(&f, 0, AT(5), FIN, "");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_DATA_AFTER_FIN], 0);
	fix_close(&f);
}

static void test_data_after_fin(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abcde");
	/* Queued beyond where the FIN will say the stream ends. */
	seg(&f, 0, AT(8), 0, "ijklm");
	seg(&f, 0, AT(20), 0, "zzz");
	assert_int_equal(f.st->queued_now, 8);
	seg(&f, 0, AT(10), FIN, "");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_DATA_AFTER_FIN], 1);
	assert_int_equal(f.st->queued_now, 2);
	assert_int_equal(f.d[0].queued_bytes, 2);
	/* Straddling the FIN: the part before it is data. */
	seg(&f, 0, AT(5), 0, "fghijXYZ");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_DATA_AFTER_FIN], 2);
	assert_out(&f, 0, "abcdefghij");
	assert_int_equal(f.s->ends[0], 1);
	/* After the end. */
	seg(&f, 0, AT(10), 0, "more");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_DATA_AFTER_FIN], 3);
	assert_out(&f, 0, "abcdefghij");
	fix_close(&f);

	/* FIN seen, data missing: data past it is dropped, not queued. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(5), FIN, "");
	seg(&f, 0, AT(7), 0, "zz");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_DATA_AFTER_FIN], 1);
	assert_int_equal(f.st->queued_now, 0);
	flush(&f, 0);
	assert_out(&f, 0, "#####");
	assert_int_equal(f.s->ends[0], 1);
	fix_close(&f);
}

static void test_rst_with_holes(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abcde");
	seg(&f, 0, AT(10), 0, "klmno");
	seg(&f, 0, AT(20), 0, "uvwxy");
	assert_int_equal(f.st->queued_now, 10);
	seg(&f, 0, AT(25), RST, "");
	assert_out(&f, 0, "abcde#####klmno#####uvwxy");
	assert_int_equal(f.s->gaps[0], 2);
	assert_int_equal(f.s->gap_bytes[0], 10);
	assert_int_equal(f.st->gaps, 2);
	assert_int_equal(f.st->gap_bytes, 10);
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.st->queued_now, 0);
	/* Nothing after the RST. */
	seg(&f, 0, AT(25), 0, "late");
	assert_int_equal(f.s->len[0], 25);
	fix_close(&f);
}

static void test_ack_gaps(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	/* Not started: nothing to declare. */
	ack(&f, 1, 12345);
	assert_false(f.d[1].started);
	seg(&f, 0, ISN, SYN, "");
	ack(&f, 0, AT(0));
	seg(&f, 0, AT(0), 0, "abcde");
	seg(&f, 0, AT(10), 0, "klmno");
	ack(&f, 0, AT(3));
	ack(&f, 0, AT(5));
	assert_int_equal(f.s->gaps[0], 0);
	/* Acknowledged but never seen: a gap, once the bytes stayed missing
	 * for REASM_ACK_PATIENCE more segments of this direction. */
	ack(&f, 0, AT(20));
	assert_int_equal(f.s->gaps[0], 0);
	for (int i = 0; i < REASM_ACK_PATIENCE - 1; i++)
		seg(&f, 0, AT(10), 0, ""); /* pure acks of the other side */
	assert_int_equal(f.s->gaps[0], 0);
	seg(&f, 0, AT(10), 0, "");
	assert_out(&f, 0, "abcde#####klmno#####");
	assert_int_equal(f.s->gaps[0], 2);
	assert_int_equal(f.s->gap_bytes[0], 10);
	assert_int_equal(f.d[0].next_seq, AT(20));
	seg(&f, 0, AT(20), 0, "uvwxy");
	assert_out(&f, 0, "abcde#####klmno#####uvwxy");
	/* Absurdly far ahead: bogus, ignored. */
	ack(&f, 0, AT(25) + (1u << 30) + 100);
	assert_false(f.d[0].ack_pending);
	assert_int_equal(f.s->gaps[0], 2);
	/* The FIN's sequence number is acknowledged but is no byte; the flush
	 * settles what is still pending. */
	seg(&f, 0, AT(30), FIN, "");
	ack(&f, 0, AT(31));
	flush(&f, 0);
	assert_out(&f, 0, "abcde#####klmno#####uvwxy#####");
	assert_int_equal(f.s->gap_bytes[0], 15);
	assert_int_equal(f.s->ends[0], 1);
	fix_close(&f);
}

/* A span port that mirrors the two directions through different paths
 * shows the server's ACK before the request it acknowledges: the request
 * must still be delivered whole, with no gap. */
static void test_ack_before_its_data(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "GET / HTTP/1.1\r\n");
	ack(&f, 0, AT(16 + 18));                         /* ahead of its data */
	seg(&f, 0, AT(16), 0, "Host: exchange\r\n\r\n"); /* 18 bytes, now */
	assert_out(&f, 0, "GET / HTTP/1.1\r\nHost: exchange\r\n\r\n");
	assert_int_equal(f.s->gaps[0], 0);
	assert_false(f.d[0].ack_pending);
	/* Out of order as well: the later segment first, then the missing one. */
	ack(&f, 0, AT(34 + 8));
	seg(&f, 0, AT(38), 0, "efgh");
	seg(&f, 0, AT(34), 0, "abcd");
	assert_out(&f, 0, "GET / HTTP/1.1\r\nHost: exchange\r\n\r\nabcdefgh");
	assert_int_equal(f.s->gaps[0], 0);
	flush(&f, 0);
	assert_int_equal(f.s->gaps[0], 0);
	fix_close(&f);
}

/* ---- snap length, caps, depth, retransmissions ------------------------- */

static void test_snaplen(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg_bytes(&f, 0, AT(0), 0, "abcdefghij", 4, 10);
	assert_out(&f, 0, "abcd######");
	assert_int_equal(f.s->gaps[0], 1);
	assert_int_equal(f.s->gap_bytes[0], 6);
	seg(&f, 0, AT(10), 0, "klm");
	/* Nothing captured at all. */
	seg_bytes(&f, 0, AT(13), 0, NULL, 0, 5);
	assert_out(&f, 0, "abcd######klm#####");
	assert_int_equal(f.s->gap_bytes[0], 11);
	fix_close(&f);

	/* Out of order: the captured part waits, the lost tail is a hole. */
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abc");
	seg_bytes(&f, 0, AT(10), 0, "klmnopqrst", 3, 10);
	assert_int_equal(f.st->queued_now, 3);
	seg(&f, 0, AT(3), 0, "defghij");
	assert_out(&f, 0, "abcdefghijklm");
	seg(&f, 0, AT(20), FIN, "uvw");
	assert_int_equal(f.s->ends[0], 0);
	flush(&f, 0);
	assert_out(&f, 0, "abcdefghijklm#######uvw");
	assert_int_equal(f.s->gaps[0], 1);
	assert_int_equal(f.s->gap_bytes[0], 7);
	assert_int_equal(f.s->ends[0], 1);
	fix_close(&f);
}

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* Offers alphabet[off, off + n) of direction dir. */
static void seg_alpha(struct fix *f, int dir, uint32_t off, uint32_t n)
{
	assert_true(off + n < sizeof(alphabet));
	seg_bytes(f, dir, AT(off), 0, alphabet + off, n, n);
}

static void test_cap_dir_bytes(void **state)
{
	struct reasm_config cfg;
	char want[sizeof(alphabet)];
	struct fix f;

	(void)state;
	reasm_config_default(&cfg);
	cfg.max_dir_bytes = 100;
	fix_open(&f, &cfg);
	seg(&f, 0, ISN, SYN, "");
	/* 30-byte segments with 10-byte holes before each. */
	for (uint32_t off = 10; off <= 130; off += 40)
		seg_alpha(&f, 0, off, 30);
	assert_true(f.st->cap_dir >= 1);
	assert_int_equal(f.st->cap_total, 0);
	assert_true(f.s->gaps[0] >= 1);
	assert_true(f.st->queued_max <= 100);
	flush(&f, 0);
	memcpy(want, alphabet, 160);
	want[160] = '\0';
	assert_aligned(&f, 0, want);
	assert_int_equal(f.s->gap_bytes[0], 40);
	fix_close(&f);

	/* A segment that could never fit: resynchronise to it. */
	cfg.max_dir_bytes = 10;
	fix_open(&f, &cfg);
	seg(&f, 0, ISN, SYN, "");
	seg_alpha(&f, 0, 20, 20);
	assert_int_equal(f.st->cap_dir, 1);
	assert_int_equal(f.st->queued_now, 0);
	memcpy(want, "####################", 20);
	memcpy(want + 20, alphabet + 20, 20);
	want[40] = '\0';
	assert_out(&f, 0, want);
	fix_close(&f);
}

static void test_cap_dir_segs(void **state)
{
	struct reasm_config cfg;
	struct fix f;

	(void)state;
	reasm_config_default(&cfg);
	cfg.max_dir_segs = 3;
	fix_open(&f, &cfg);
	seg(&f, 0, ISN, SYN, "");
	for (uint32_t off = 2; off <= 10; off += 2)
		seg_alpha(&f, 0, off, 1);
	assert_true(f.st->cap_dir >= 1);
	assert_true(f.d[0].queued_segs <= 3);
	/* Overlapping what is queued adds no segment: no cap. */
	uint64_t before = f.st->cap_dir;
	seg_alpha(&f, 0, 10, 1);
	assert_int_equal(f.st->cap_dir, before);
	flush(&f, 0);
	assert_aligned(&f, 0, "abcdefghijk");
	assert_int_equal(f.s->len[0], 11);
	fix_close(&f);
}

static void test_cap_total(void **state)
{
	struct reasm_config cfg;
	char want[200];
	struct fix f;

	(void)state;
	reasm_config_default(&cfg);
	cfg.max_total = 300;
	fix_open(&f, &cfg);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 1, ISN, SYN, "");
	/* Direction 0 takes what the pool has... */
	for (uint32_t off = 10; off <= 130; off += 40)
		seg_alpha(&f, 0, off, 30);
	assert_true(f.st->queued_now > 0);
	/* ...so direction 1 gaps instead of queueing. */
	uint64_t before = f.st->cap_total;
	seg_alpha(&f, 1, 100, 50);
	assert_true(f.st->cap_total > before);
	assert_int_equal(f.st->cap_dir, 0);
	assert_int_equal(f.d[1].queued_bytes, 0);
	assert_int_equal(f.s->gap_bytes[1], 100);
	for (int dir = 0; dir < 2; dir++)
		flush(&f, dir);
	memcpy(want, alphabet, 160);
	want[160] = '\0';
	assert_aligned(&f, 0, want);
	memcpy(want, alphabet, 150);
	want[150] = '\0';
	assert_aligned(&f, 1, want);
	fix_close(&f);
}

static void test_depth(void **state)
{
	struct reasm_config cfg;
	struct fix f;

	(void)state;
	reasm_config_default(&cfg);
	cfg.depth = 10;
	fix_open(&f, &cfg);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abcdefgh");
	seg(&f, 0, AT(20), 0, "uvwxyz");
	seg(&f, 0, AT(8), 0, "ijklmnopqrst");
	assert_out(&f, 0, "abcdefghij");
	assert_int_equal(f.st->depth_bytes, 16);
	assert_int_equal(f.st->delivered_bytes, 10);
	/* Past the depth nothing is queued, but the FIN still ends it. */
	seg(&f, 0, AT(30), 0, "zz");
	assert_int_equal(f.st->queued_now, 0);
	assert_int_equal(f.st->depth_bytes, 18);
	seg(&f, 0, AT(32), FIN, "");
	assert_int_equal(f.s->ends[0], 1);
	assert_int_equal(f.s->gaps[0], 0);
	assert_out(&f, 0, "abcdefghij");
	fix_close(&f);
}

static void test_retransmission(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "abcde");
	seg(&f, 0, AT(0), 0, "abcde");
	seg(&f, 0, AT(2), 0, "cdefgh");
	seg(&f, 0, AT(0), 0, "XX");
	assert_out(&f, 0, "abcdefgh");
	assert_int_equal(f.st->retrans_bytes, 10);
	assert_int_equal(f.st->overlap_different, 0);
	assert_int_equal(f.st->segments, 4);
	fix_close(&f);
}

/* ---- chaos: random segments, flags and acks; invariants only ----------- */

/* The byte every segment carries for sequence number seq (never GAP_FILL). */
static uint8_t chaos_byte(uint32_t seq)
{
	return (uint8_t)('a' + (seq * 2654435761u >> 16) % 26);
}

/* Every delivered byte sits where its sequence number says. */
static void chaos_check(const struct fix *f, int dir, uint32_t start)
{
	const struct reasm_dir *d = &f->d[dir];

	if (!d->started)
		return;
	assert_int_equal(f->s->len[dir], d->delivered);
	if (!f->cfg.depth)
		assert_int_equal(d->next_seq - (uint32_t)f->s->len[dir], start);
	for (size_t i = 0; i < f->s->len[dir]; i++)
		assert_true(f->s->out[dir][i] == GAP_FILL ||
		            f->s->out[dir][i] == chaos_byte(start + (uint32_t)i));
}

static void chaos_step(struct fix *f, uint64_t *rng, int dir, uint32_t *hi)
{
	uint8_t bytes[64];
	uint32_t seq = *hi - 200 + rng_below(rng, 400);
	uint32_t wirelen = rng_below(rng, 48), caplen = wirelen;
	uint32_t r = rng_below(rng, 1000);
	uint8_t flags = 0;

	for (uint32_t i = 0; i < wirelen; i++)
		bytes[i] = chaos_byte(seq + i);
	if (rng_below(rng, 10) == 0)
		caplen = rng_below(rng, wirelen + 1);
	if (r < 20)
		flags |= FIN;
	else if (r < 25)
		flags |= SYN;
	else if (r < 27)
		flags |= RST;
	if (r >= 900) {
		ack(f, dir, f->d[dir].next_seq - 20 + rng_below(rng, 300));
		return;
	}
	/* The SYN takes the sequence number before the data. */
	seg_bytes(f, dir, flags & SYN ? seq - 1 : seq, flags, bytes, caplen, wirelen);
	*hi += rng_below(rng, 24);
}

static void chaos_run(uint64_t seed, uint64_t depth)
{
	struct reasm_config cfg = {
	    .max_dir_bytes = 200, .max_dir_segs = 8, .max_total = 600, .depth = depth};
	uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 7;
	uint32_t hi[2] = {(uint32_t)rng_next(&rng), (uint32_t)rng_next(&rng)};
	uint32_t start[2] = {0, 0};
	struct fix f;

	fix_open(&f, &cfg);
	for (int step = 0; step < 20000; step++) {
		int dir = (int)rng_below(&rng, 2);
		bool was_started = f.d[dir].started;

		chaos_step(&f, &rng, dir, &hi[dir]);
		if (!was_started && f.d[dir].started)
			start[dir] = f.d[dir].next_seq - (uint32_t)f.s->len[dir];
		chaos_check(&f, dir, start[dir]);
		if (f.d[dir].ended || f.d[dir].delivered > SINK_MAX / 2) {
			/* A new connection on the same direction. */
			reasm_flush(f.p, &f.d[dir], dir, f.s);
			reasm_dir_release(f.p, &f.d[dir]);
			reasm_dir_init(&f.d[dir]);
			f.s->ends[dir] = 0;
			f.s->len[dir] = 0;
		}
	}
	assert_true(f.st->cap_dir > 0);
	assert_true(f.st->gaps > 0);
	assert_true(f.st->queued_max <= cfg.max_total);
	fix_close(&f);
}

static void test_chaos(void **state)
{
	(void)state;
	for (uint64_t seed = 1; seed <= 6; seed++)
		chaos_run(seed, seed % 2 ? 0 : 300);
}

/* ---- lifetime --------------------------------------------------------- */

static void test_release(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 1, ISN, SYN, "");
	seg(&f, 0, AT(5), 0, "fgh");
	seg(&f, 0, AT(10), 0, "klm");
	seg(&f, 1, AT(10), 0, "klm");
	assert_int_equal(f.st->queued_now, 9);
	reasm_dir_release(f.p, &f.d[0]);
	assert_null(f.d[0].queue);
	assert_int_equal(f.d[0].queued_bytes, 0);
	assert_int_equal(f.d[0].queued_segs, 0);
	assert_int_equal(f.st->queued_now, 3);
	reasm_dir_release(f.p, &f.d[1]);
	assert_int_equal(f.st->queued_now, 0);
	assert_int_equal(f.s->len[0] + f.s->len[1], 0);
	assert_int_equal(f.s->ends[0] + f.s->ends[1], 0);
	assert_int_equal(f.st->queued_max, 9);
	fix_close(&f);
	reasm_pool_free(NULL);
}

static void test_many_segments(void **state)
{
	struct reasm_config cfg;
	const uint32_t n = 6000;
	struct fix f;

	(void)state;
	/* More nodes than the free list keeps: the rest go back to malloc. */
	reasm_config_default(&cfg);
	cfg.max_dir_segs = n;
	for (int round = 0; round < 2; round++) {
		fix_open(&f, &cfg);
		seg(&f, 0, ISN, SYN, "");
		for (uint32_t i = 0; i < n; i++)
			seg(&f, 0, AT(2 * i + 1), 0, "x");
		assert_int_equal(f.d[0].queued_segs, n);
		assert_int_equal(f.st->queued_now, n);
		if (round == 0) {
			reasm_dir_release(f.p, &f.d[0]);
			assert_int_equal(f.s->len[0], 0);
		} else {
			ack(&f, 0, AT(2 * n));
			flush(&f, 0);
			assert_int_equal(f.s->gaps[0], n);
			assert_int_equal(f.s->len[0], 2 * n);
		}
		assert_int_equal(f.st->queued_now, 0);
		fix_close(&f);
	}
}

static void test_flush(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0), 0, "ab");
	seg(&f, 0, AT(4), 0, "ef");
	flush(&f, 0);
	flush(&f, 0);
	assert_out(&f, 0, "ab##ef");
	assert_int_equal(f.s->ends[0], 1);
	/* A direction never seen still ends, once. */
	flush(&f, 1);
	flush(&f, 1);
	assert_int_equal(f.s->ends[1], 1);
	assert_int_equal(f.s->len[1], 0);
	ack(&f, 0, AT(100));
	seg(&f, 0, AT(6), 0, "gh");
	assert_out(&f, 0, "ab##ef");
	fix_close(&f);
}

static void test_out_of_window(void **state)
{
	struct fix f;

	(void)state;
	fix_open(&f, NULL);
	seg(&f, 0, ISN, SYN, "");
	seg(&f, 0, AT(0) + (1u << 30) + 10, 0, "far");
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_SEQ_OUT_OF_WINDOW], 1);
	assert_int_equal(f.st->queued_now, 0);
	/* No segment is a gigabyte long. */
	seg_bytes(&f, 0, AT(0), 0, NULL, 0, (1u << 30) + 1);
	assert_int_equal(f.s->anomalies[ANOMALY_TCP_SEQ_OUT_OF_WINDOW], 2);
	assert_int_equal(f.s->gaps[0], 0);
	seg(&f, 0, AT(0), 0, "near");
	assert_out(&f, 0, "near");
	fix_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order),       cmocka_unit_test(test_split_points),
	    cmocka_unit_test(test_property),       cmocka_unit_test(test_overlap_different),
	    cmocka_unit_test(test_wraparound),     cmocka_unit_test(test_syn),
	    cmocka_unit_test(test_midstream),      cmocka_unit_test(test_fin_ordering),
	    cmocka_unit_test(test_data_after_fin), cmocka_unit_test(test_rst_with_holes),
	    cmocka_unit_test(test_ack_gaps),       cmocka_unit_test(test_ack_before_its_data),
	    cmocka_unit_test(test_snaplen),        cmocka_unit_test(test_cap_dir_bytes),
	    cmocka_unit_test(test_cap_dir_segs),   cmocka_unit_test(test_cap_total),
	    cmocka_unit_test(test_depth),          cmocka_unit_test(test_retransmission),
	    cmocka_unit_test(test_release),        cmocka_unit_test(test_many_segments),
	    cmocka_unit_test(test_flush),          cmocka_unit_test(test_out_of_window),
	    cmocka_unit_test(test_chaos),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
