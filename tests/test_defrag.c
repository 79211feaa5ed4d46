/*
 * test_defrag.c — unit tests for sensor/defrag.c.
 *
 * Fragments are built as real IPv4/IPv6 packets and go through
 * decode_ip() first, so every test also checks that the decoder's fragment
 * description is what the defragmenter needs, and every rebuilt datagram
 * is decoded again to check the TCP payload came back intact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "defrag.h"

#define SEC         1000000ull
#define TCP_HDR     20u
#define MAX_PAYLOAD 70000u

/* A TCP segment 10.0.0.1:1234 -> 10.0.0.2:80 whose payload is a byte
 * pattern; the fragments carry slices of it. */
struct segment {
	uint8_t b[MAX_PAYLOAD];
	size_t len;
};

struct frag_pkt {
	uint8_t b[MAX_PAYLOAD + 128];
	size_t len;
	struct pkt pkt;
};

static void segment_init(struct segment *s, size_t payload_len, uint8_t seed)
{
	/* clang-format off */
	static const uint8_t tcp[TCP_HDR] = { 0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1,
					      0x50, 0x18, 0x20, 0x00, 0, 0, 0, 0 };
	/* clang-format on */

	assert_true(TCP_HDR + payload_len <= sizeof(s->b));
	memcpy(s->b, tcp, TCP_HDR);
	for (size_t i = 0; i < payload_len; i++)
		s->b[TCP_HDR + i] = (uint8_t)(seed + i * 7);
	s->len = TCP_HDR + payload_len;
}

static void be16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv4 fragment [off, off + len) of `s`, decoded into f->pkt. */
static void v4_frag(struct frag_pkt *f, const struct segment *s, uint16_t id, size_t off,
                    size_t len, bool more, uint64_t ts)
{
	/* clang-format off */
	static const uint8_t hdr[20] = { 0x45, 0, 0, 0, 0, 0, 0, 0, 64, 6, 0, 0,
					 10, 0, 0, 1, 10, 0, 0, 2 };
	/* clang-format on */
	enum anomaly an;

	assert_true(off % 8 == 0 && off + len <= s->len);
	memcpy(f->b, hdr, sizeof(hdr));
	be16(&f->b[2], 20 + len);
	be16(&f->b[4], id);
	be16(&f->b[6], (more ? 0x2000u : 0) | off / 8);
	memcpy(&f->b[20], &s->b[off], len);
	f->len = 20 + len;
	f->pkt.ts_us = ts;
	f->pkt.vlan = 0;
	assert_int_equal(decode_ip(f->b, f->len, &f->pkt, &an), DECODE_FRAGMENT);
	assert_int_equal(an, ANOMALY_NONE);
}

#define V6_SRC 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
#define V6_DST 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2

/* IPv6 fragment with a hop-by-hop header in the unfragmentable part. */
static void v6_frag(struct frag_pkt *f, const struct segment *s, uint32_t id, size_t off,
                    size_t len, bool more, uint64_t ts)
{
	/* clang-format off */
	static const uint8_t hdr[56] = {
		0x60, 0, 0, 0, 0, 0, 0, 64, V6_SRC, V6_DST,
		44, 0, 0x01, 0x04, 0, 0, 0, 0, /* hop-by-hop, next: fragment */
		6, 0, 0, 0, 0, 0, 0, 0,	       /* fragment, next: TCP */
	};
	/* clang-format on */
	enum anomaly an;

	memcpy(f->b, hdr, sizeof(hdr));
	be16(&f->b[4], 16 + len);
	be16(&f->b[50], off | (more ? 1u : 0));
	f->b[52] = (uint8_t)(id >> 24);
	f->b[53] = (uint8_t)(id >> 16);
	f->b[54] = (uint8_t)(id >> 8);
	f->b[55] = (uint8_t)id;
	memcpy(&f->b[56], &s->b[off], len);
	f->len = 56 + len;
	f->pkt.ts_us = ts;
	assert_int_equal(decode_ip(f->b, f->len, &f->pkt, &an), DECODE_FRAGMENT);
}

struct fixture {
	struct segment seg, seg2;
	struct frag_pkt f;
	struct defrag *d;
	struct defrag_config cfg;
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	defrag_config_default(&fx->cfg);
	fx->d = defrag_new(&fx->cfg);
	*state = fx;
	return fx->d ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	defrag_free(fx->d);
	free(fx);
	return 0;
}

static void reconfigure(struct fixture *fx)
{
	defrag_free(fx->d);
	fx->d = defrag_new(&fx->cfg);
	assert_non_null(fx->d);
}

static enum defrag_result add(struct fixture *fx, const uint8_t **ip, size_t *len, enum anomaly *an)
{
	return defrag_add(fx->d, &fx->f.pkt, ip, len, an);
}

static void expect(struct fixture *fx, enum defrag_result want, enum anomaly want_an)
{
	const uint8_t *ip = NULL;
	size_t len = 0;
	enum anomaly an;

	assert_int_equal(add(fx, &ip, &len, &an), want);
	assert_int_equal(an, want_an);
}

/* The datagram must come out whole and decode to the original segment. */
static void expect_complete(struct fixture *fx, const struct segment *s, enum anomaly want_an)
{
	const uint8_t *ip = NULL;
	size_t len = 0;
	enum anomaly an;
	struct pkt pkt;

	assert_int_equal(add(fx, &ip, &len, &an), DEFRAG_COMPLETE);
	assert_int_equal(an, want_an);
	assert_non_null(ip);
	pkt.vlan = 3;
	assert_int_equal(decode_ip(ip, len, &pkt, &an), DECODE_OK);
	assert_int_equal(an, ANOMALY_NONE);
	assert_int_equal(pkt.vlan, 3);
	assert_int_equal(pkt.ip_proto, 6);
	assert_int_equal(pkt.sport, 1234);
	assert_int_equal(pkt.dport, 80);
	assert_int_equal(pkt.payload_len, s->len - TCP_HDR);
	assert_int_equal(pkt.wire_len, s->len - TCP_HDR);
	assert_memory_equal(pkt.payload, &s->b[TCP_HDR], s->len - TCP_HDR);
	if (pkt.af == 4) {
		/* Lengths and fragment fields fixed, checksum valid. */
		uint32_t sum = 0;
		assert_int_equal(ip[2] << 8 | ip[3], len);
		assert_int_equal(ip[6] & 0x3f, 0);
		assert_int_equal(ip[7], 0);
		for (size_t i = 0; i < 20; i += 2)
			sum += (uint32_t)ip[i] << 8 | ip[i + 1];
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		assert_int_equal(sum, 0xffff);
	}
}

static void test_in_order(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 100, 1); /* 120 bytes: 48 + 48 + 24 */
	v4_frag(&fx->f, &fx->seg, 7, 0, 48, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	assert_int_equal(defrag_bytes_held(fx->d), 20 + 48);
	v4_frag(&fx->f, &fx->seg, 7, 48, 48, true, 1);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 7, 96, 24, false, 2);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);

	assert_int_equal(defrag_bytes_held(fx->d), 0);
	assert_int_equal(defrag_stats(fx->d)->fragments, 3);
	assert_int_equal(defrag_stats(fx->d)->reassembled, 1);
	assert_int_equal(defrag_stats(fx->d)->overlaps, 0);
}

static void test_reverse_order(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 1000, 2);
	for (size_t off = 1016; off > 0; off -= 8) {
		v4_frag(&fx->f, &fx->seg, 8, off, off == 1016 ? 4 : 8, off == 1016 ? false : true,
		        0);
		expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	}
	/* 8-byte pieces in reverse: 128 fragments, exactly the cap. */
	v4_frag(&fx->f, &fx->seg, 8, 0, 8, true, 0);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);

	/* Reverse order in fewer, larger pieces. */
	segment_init(&fx->seg, 1000, 3);
	v4_frag(&fx->f, &fx->seg, 9, 800, 220, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 9, 400, 400, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 9, 0, 400, true, 0);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);
	assert_int_equal(defrag_bytes_held(fx->d), 0);
}

static void test_interleaved(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 60, 4);
	segment_init(&fx->seg2, 60, 5);
	v4_frag(&fx->f, &fx->seg, 100, 40, 40, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg2, 101, 0, 40, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg2, 101, 40, 40, false, 0);
	expect_complete(fx, &fx->seg2, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 100, 0, 40, true, 0);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);
	assert_int_equal(defrag_stats(fx->d)->reassembled, 2);
}

static void test_overlap_same(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 100, 6);
	v4_frag(&fx->f, &fx->seg, 10, 0, 48, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 10, 80, 40, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	/* [40, 88) overlaps both neighbours and fills the hole between. */
	v4_frag(&fx->f, &fx->seg, 10, 40, 48, true, 0);
	expect_complete(fx, &fx->seg, ANOMALY_FRAG_OVERLAP);
	assert_int_equal(defrag_stats(fx->d)->overlaps, 1);
}

static void test_overlap_different(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *ip;
	size_t len;
	enum anomaly an;
	struct pkt pkt;

	segment_init(&fx->seg, 100, 7);
	segment_init(&fx->seg2, 100, 99); /* same header, other payload */
	v4_frag(&fx->f, &fx->seg, 11, 24, 48, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	/* Covers [0, 96): only [0, 24) and [72, 96) are new. */
	v4_frag(&fx->f, &fx->seg2, 11, 0, 96, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_FRAG_OVERLAP_DIFFERENT);
	v4_frag(&fx->f, &fx->seg2, 11, 96, 24, false, 0);
	assert_int_equal(add(fx, &ip, &len, &an), DEFRAG_COMPLETE);
	assert_int_equal(an, ANOMALY_NONE);
	assert_int_equal(decode_ip(ip, len, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 100);
	/* First data wins in the middle; the newcomer filled the holes. */
	assert_memory_equal(pkt.payload, &fx->seg2.b[20], 4);
	assert_memory_equal(&pkt.payload[4], &fx->seg.b[24], 48);
	assert_memory_equal(&pkt.payload[52], &fx->seg2.b[72], 48);
	assert_int_equal(defrag_stats(fx->d)->overlaps, 1);
}

static void test_duplicate(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 40, 8);
	v4_frag(&fx->f, &fx->seg, 12, 0, 32, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	expect(fx, DEFRAG_HELD, ANOMALY_FRAG_OVERLAP);
	assert_int_equal(defrag_bytes_held(fx->d), 20 + 32);
	v4_frag(&fx->f, &fx->seg, 12, 32, 28, false, 0);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);
}

static void test_too_many(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.max_frags_per_datagram = 4;
	reconfigure(fx);
	segment_init(&fx->seg, 100, 9);
	for (size_t i = 0; i < 4; i++) {
		v4_frag(&fx->f, &fx->seg, 13, i * 16, 8, true, 0);
		expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	}
	v4_frag(&fx->f, &fx->seg, 13, 64, 8, true, 0);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_TOO_MANY);
	assert_int_equal(defrag_stats(fx->d)->dropped, 1);
	assert_int_equal(defrag_bytes_held(fx->d), 0);
}

static void test_too_large(void **state)
{
	struct fixture *fx = *state;

	/* Offset 8191 * 8 + 16 bytes ends past 65535. */
	segment_init(&fx->seg, 65528 + 16 - TCP_HDR, 10);
	v4_frag(&fx->f, &fx->seg, 14, 65528, 16, false, 0);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_TOO_LARGE);

	/* A payload of 65520 fits the offset field but not, with its 20-byte
	 * header, the total length: caught when complete. */
	segment_init(&fx->seg, 65520 - TCP_HDR, 11);
	for (size_t off = 0; off < 65520; off += 8184) {
		size_t len = off + 8184 < 65520 ? 8184 : 65520 - off;
		v4_frag(&fx->f, &fx->seg, 15, off, len, off + len < 65520, 0);
		expect(fx, off + len < 65520 ? DEFRAG_HELD : DEFRAG_DROPPED,
		       off + len < 65520 ? ANOMALY_NONE : ANOMALY_FRAG_TOO_LARGE);
	}
	assert_int_equal(defrag_stats(fx->d)->dropped, 2);
	assert_int_equal(defrag_bytes_held(fx->d), 0);

	/* The largest legal one: 65515 bytes of payload. */
	segment_init(&fx->seg, 65515 - TCP_HDR, 12);
	for (size_t off = 0; off < 65515; off += 8184) {
		size_t len = off + 8184 < 65515 ? 8184 : 65515 - off;
		v4_frag(&fx->f, &fx->seg, 16, off, len, off + len < 65515, 0);
		if (off + len < 65515)
			expect(fx, DEFRAG_HELD, ANOMALY_NONE);
		else
			expect_complete(fx, &fx->seg, ANOMALY_NONE);
	}
}

static void test_bad_length(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 100, 13);
	/* A non-last fragment must be a multiple of 8 bytes. */
	v4_frag(&fx->f, &fx->seg, 17, 0, 20, true, 0);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_BAD_LENGTH);

	/* Data past a known end. */
	v4_frag(&fx->f, &fx->seg, 18, 0, 16, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 18, 40, 16, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 18, 64, 8, true, 0);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_BAD_LENGTH);
	assert_int_equal(defrag_bytes_held(fx->d), 0);

	/* A second last fragment with another end. */
	v4_frag(&fx->f, &fx->seg, 19, 40, 16, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 19, 40, 24, false, 0);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_BAD_LENGTH);

	/* Cut by the snap length. */
	v4_frag(&fx->f, &fx->seg, 20, 0, 40, true, 0);
	fx->f.pkt.wire_len = 48;
	expect(fx, DEFRAG_DROPPED, ANOMALY_IP_TRUNCATED);
	assert_int_equal(defrag_stats(fx->d)->dropped, 4);
}

static void test_timeout(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 100, 14);
	v4_frag(&fx->f, &fx->seg, 21, 0, 64, true, 100 * SEC);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	defrag_expire(fx->d, 130 * SEC); /* exactly the timeout: still waiting */
	assert_int_equal(defrag_stats(fx->d)->timeouts, 0);
	defrag_expire(fx->d, 50 * SEC); /* capture time went backwards */
	assert_int_equal(defrag_stats(fx->d)->timeouts, 0);
	defrag_expire(fx->d, 131 * SEC);
	assert_int_equal(defrag_stats(fx->d)->timeouts, 1);
	assert_int_equal(defrag_bytes_held(fx->d), 0);

	/* A late fragment does not complete an expired datagram: it starts
	 * a new one, and a fragment arriving later still expires it. */
	v4_frag(&fx->f, &fx->seg, 22, 0, 64, true, 200 * SEC);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 22, 64, 56, false, 240 * SEC);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	assert_int_equal(defrag_stats(fx->d)->timeouts, 2);
	assert_int_equal(defrag_bytes_held(fx->d), 56);
}

static void test_datagram_cap(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.max_datagrams = 2;
	reconfigure(fx);
	segment_init(&fx->seg, 60, 15);
	for (uint16_t id = 30; id < 33; id++) {
		v4_frag(&fx->f, &fx->seg, id, 0, 40, true, id);
		expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	}
	assert_int_equal(defrag_stats(fx->d)->evicted, 1);
	/* 30 was the oldest and is gone; 31 and 32 complete. */
	v4_frag(&fx->f, &fx->seg, 30, 40, 40, false, 40);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	assert_int_equal(defrag_stats(fx->d)->evicted, 2); /* 31 made way for 30 */
	v4_frag(&fx->f, &fx->seg, 32, 40, 40, false, 40);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 30, 0, 40, true, 41);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);
}

static void test_byte_cap(void **state)
{
	struct fixture *fx = *state;

	fx->cfg.max_bytes = 200;
	reconfigure(fx);
	segment_init(&fx->seg, 200, 16);
	v4_frag(&fx->f, &fx->seg, 40, 0, 80, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE); /* 100 held */
	v4_frag(&fx->f, &fx->seg, 41, 0, 80, true, 1);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE); /* 200 held */
	v4_frag(&fx->f, &fx->seg, 42, 0, 16, true, 2);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE); /* evicts 40 */
	assert_int_equal(defrag_stats(fx->d)->evicted, 1);
	assert_int_equal(defrag_bytes_held(fx->d), 100 + 36);
	assert_true(defrag_bytes_held(fx->d) <= 200);

	/* One fragment larger than the whole cap. */
	v4_frag(&fx->f, &fx->seg, 43, 0, 200, true, 3);
	expect(fx, DEFRAG_DROPPED, ANOMALY_FRAG_MEMCAP);
	assert_int_equal(defrag_bytes_held(fx->d), 0);
	assert_int_equal(defrag_stats(fx->d)->evicted, 4);
}

static void test_ipv6(void **state)
{
	struct fixture *fx = *state;
	const uint8_t *ip = NULL;
	size_t len = 0;
	enum anomaly an;

	segment_init(&fx->seg, 200, 17);
	v6_frag(&fx->f, &fx->seg, 0x01020304, 112, 108, false, 0);
	assert_int_equal(fx->f.pkt.frag.offset, 112);
	assert_int_equal(fx->f.pkt.frag.hdr_len, 48);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v6_frag(&fx->f, &fx->seg, 0x01020304, 0, 112, true, 0);
	assert_int_equal(add(fx, &ip, &len, &an), DEFRAG_COMPLETE);
	assert_int_equal(an, ANOMALY_NONE);
	assert_int_equal(len, 48 + 220);
	assert_int_equal(ip[4] << 8 | ip[5], 8 + 220);
	assert_int_equal(ip[6], 0);  /* fixed header -> hop-by-hop */
	assert_int_equal(ip[40], 6); /* hop-by-hop -> TCP, fragment header gone */

	/* Same again, checked through decode_ip(). */
	v6_frag(&fx->f, &fx->seg, 0x01020305, 0, 112, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v6_frag(&fx->f, &fx->seg, 0x01020305, 112, 108, false, 0);
	expect_complete(fx, &fx->seg, ANOMALY_NONE);

	/* Same id, other address family or addresses: other datagrams. */
	v6_frag(&fx->f, &fx->seg, 16, 0, 112, true, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	v4_frag(&fx->f, &fx->seg, 16, 112, 108, false, 0);
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	fx->f.pkt.src[3] = 9;
	expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	assert_int_equal(defrag_stats(fx->d)->reassembled, 2);
}

/* A full table stays fast and correct: 1024 datagrams, completed last. */
static void test_many(void **state)
{
	struct fixture *fx = *state;

	segment_init(&fx->seg, 60, 18);
	for (uint32_t id = 0; id < 1024; id++) {
		v4_frag(&fx->f, &fx->seg, (uint16_t)id, 40, 40, false, 0);
		fx->f.pkt.src[2] = (uint8_t)(id >> 8);
		expect(fx, DEFRAG_HELD, ANOMALY_NONE);
	}
	for (uint32_t id = 0; id < 1024; id++) {
		v4_frag(&fx->f, &fx->seg, (uint16_t)id, 0, 40, true, 1);
		fx->f.pkt.src[2] = (uint8_t)(id >> 8);
		const uint8_t *ip;
		size_t len;
		enum anomaly an;
		assert_int_equal(add(fx, &ip, &len, &an), DEFRAG_COMPLETE);
	}
	assert_int_equal(defrag_stats(fx->d)->reassembled, 1024);
	assert_int_equal(defrag_stats(fx->d)->evicted, 0);
	assert_int_equal(defrag_bytes_held(fx->d), 0);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Random slices of one segment into a small table: the caps hold at every
 * step, and whatever completes is exactly a prefix of the segment (all
 * fragments agree, so first-wins cannot change a byte).
 */
static void test_random(void **state)
{
	struct fixture *fx = *state;
	uint64_t seed = 0x2545f4914f6cdd1dull;

	fx->cfg.max_datagrams = 8;
	fx->cfg.max_bytes = 4096;
	fx->cfg.max_frags_per_datagram = 16;
	reconfigure(fx);
	segment_init(&fx->seg, 1024 - TCP_HDR, 19);

	for (unsigned i = 0; i < 50000; i++) {
		uint16_t id = (uint16_t)(rnd(&seed) % 12);
		size_t off = (size_t)(rnd(&seed) % 64) * 8;
		size_t len = 1 + (size_t)(rnd(&seed) % 256);
		bool more = rnd(&seed) % 4 != 0;
		const uint8_t *ip;
		size_t iplen;
		enum anomaly an;

		if (off == 0 && !more)
			more = true;
		if (more)
			len = (len + 7) & ~(size_t)7;
		if (off + len > fx->seg.len)
			len = fx->seg.len - off;
		if (more && len % 8)
			len &= ~(size_t)7;
		if (len == 0)
			continue;
		v4_frag(&fx->f, &fx->seg, id, off, len, more, i * 1000ull);
		enum defrag_result r = add(fx, &ip, &iplen, &an);
		assert_true(defrag_bytes_held(fx->d) <= fx->cfg.max_bytes);
		assert_int_not_equal(an, ANOMALY_FRAG_OVERLAP_DIFFERENT);
		if (r == DEFRAG_COMPLETE) {
			assert_int_equal(ip[2] << 8 | ip[3], iplen);
			assert_memory_equal(&ip[20], fx->seg.b, iplen - 20);
		}
	}
	const struct defrag_stats *st = defrag_stats(fx->d);
	assert_true(st->reassembled > 0);
	assert_true(st->overlaps > 0);
	defrag_expire(fx->d, UINT64_MAX);
	assert_int_equal(defrag_bytes_held(fx->d), 0);
}

static void test_defaults(void **state)
{
	struct defrag_config cfg;
	struct defrag *d;

	(void)state;
	defrag_config_default(&cfg);
	assert_int_equal(cfg.max_datagrams, 1024);
	assert_int_equal(cfg.max_frags_per_datagram, 128);
	assert_int_equal(cfg.timeout_s, 30);
	defrag_free(NULL);
	d = defrag_new(NULL);
	assert_non_null(d);
	assert_int_equal(defrag_bytes_held(d), 0);
	defrag_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reverse_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlap_same, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlap_different, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_length, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_datagram_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_byte_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_random, setup, teardown),
	    cmocka_unit_test(test_defaults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
