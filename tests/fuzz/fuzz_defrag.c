/*
 * fuzz_defrag.c — IPv4/IPv6 fragment reassembly (sensor/defrag.h) with
 * small caps, on fragments built from the input.
 *
 * The input is a sequence of 6-byte fragment descriptions, each optionally
 * followed by its data:
 *
 *   0      ctl  bit 0 IPv6, bit 1 MF/M, bits 2-3 identification (one of 4),
 *               bit 4 source address (one of 2), bit 5 the capture is cut
 *               short (the IP length claims 8 more bytes than captured),
 *               bits 6-7 IPv4 option words / IPv6 extension headers (0-3)
 *   1-2    offset, in 8-byte units (13 bits)
 *   3-4    data length in bytes (11 bits)
 *   5      bits 0-1 protocol (TCP, UDP, ICMP, IPv6 fragment), bit 2 the data
 *          comes from the input (else a pattern of the offset, so that
 *          overlaps agree), bits 5-7 seconds of capture time that pass first
 *
 * Each fragment is built as a real IPv4 or IPv6 packet and decoded with
 * decode_ip(), so defrag_add() only ever sees what the decoder hands it,
 * as in the sensor.
 *
 * Checked (defrag.h): the bytes held never exceed max_bytes; a completed
 * datagram fits the IP limits, has its lengths fixed up (IPv4 total length,
 * IPv6 payload length) and, for IPv4, MF and offset cleared, and decodes
 * again; a dropped fragment names its anomaly.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "decode.h"
#include "defrag.h"
#include "fuzz.h"

#define FRAG_CAP_DATAGRAMS 4u
#define FRAG_CAP_BYTES     4096u
#define FRAG_CAP_PER_DGRAM 8u
#define FRAG_TIMEOUT_S     2u

/* Largest packet built: 40 + 3 * 8 + 8 + 2047 */
#define PKT_MAX 2200u

struct frag_desc {
	uint8_t ctl;
	uint16_t offset; /* 8-byte units */
	uint16_t len;
	uint8_t more;
	struct buf data; /* the input's data for it, if any */
};

static const uint8_t protos[] = {6, 17, 1, 44};

static uint8_t pattern(uint32_t id, uint32_t at)
{
	return (uint8_t)((at * 2654435761u + id * 40503u) >> 13);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* The fragment's data, after the headers at pkt[at]. */
static void fill_data(uint8_t *pkt, size_t at, const struct frag_desc *f, uint32_t id)
{
	struct buf src = f->data;

	for (uint32_t i = 0; i < f->len; i++) {
		uint8_t c = buf_u8(&src);
		pkt[at + i] = buf_ok(&src) ? c : pattern(id, (uint32_t)f->offset * 8 + i);
	}
}

/* Builds the packet into pkt; returns its captured length. */
static size_t build(uint8_t *pkt, const struct frag_desc *f, uint8_t proto)
{
	uint32_t id = (f->ctl >> 2) & 3;
	unsigned words = f->ctl >> 6;
	uint32_t extra = f->ctl & 0x20 ? 8 : 0;
	size_t at;

	memset(pkt, 0, PKT_MAX);
	if (!(f->ctl & 1)) {
		size_t hlen = 20 + 4 * (size_t)words;
		pkt[0] = (uint8_t)(0x40 | (hlen / 4));
		put16(pkt + 2, (uint32_t)(hlen + f->len + extra));
		put16(pkt + 4, 0x1000 + id);
		put16(pkt + 6, (f->more ? 0x2000u : 0) | (f->offset & 0x1fffu));
		pkt[8] = 64;
		pkt[9] = proto;
		put32(pkt + 12, 0x0a000001u + ((f->ctl >> 4) & 1));
		put32(pkt + 16, 0x0a000009u);
		memset(pkt + 20, 1, 4 * (size_t)words); /* NOP options */
		at = hlen;
	} else {
		size_t ext = 8 * (size_t)words;
		pkt[0] = 0x60;
		put16(pkt + 4, (uint32_t)(ext + 8 + f->len + extra));
		pkt[6] = words ? 60 : 44; /* destination options, or the fragment header */
		pkt[7] = 64;
		pkt[8] = 0x20;
		pkt[23] = (uint8_t)(1 + ((f->ctl >> 4) & 1));
		pkt[24] = 0x20;
		pkt[39] = 9;
		at = 40;
		for (unsigned i = 0; i < words; i++, at += 8)
			pkt[at] = i + 1 < words ? 60 : 44; /* Hdr Ext Len 0: 8 bytes */
		pkt[at] = proto;
		put16(pkt + at + 2, (uint32_t)(f->offset & 0x1fffu) << 3 | (f->more ? 1u : 0));
		put32(pkt + at + 4, 0x10000u + id);
		at += 8;
	}
	fill_data(pkt, at, f, id);
	return at + f->len;
}

static void check_complete(const struct pkt *frag, const uint8_t *ip, size_t len)
{
	struct buf b = buf_init(ip, len);
	struct pkt again;
	enum anomaly a;
	enum decode_result r;

	FUZZ_CHECK(ip != NULL);
	if (frag->af == 4) {
		FUZZ_CHECK(len >= 20 && len <= 65535);
		buf_skip(&b, 2);
		FUZZ_CHECK(buf_be16(&b) == len);
		buf_skip(&b, 2);
		FUZZ_CHECK((buf_be16(&b) & 0x3fffu) == 0); /* MF and offset */
	} else {
		FUZZ_CHECK(len >= 40 && len - 40 <= 65535);
		buf_skip(&b, 4);
		FUZZ_CHECK(buf_be16(&b) == len - 40);
	}
	memset(&again, 0, sizeof(again));
	r = decode_ip(ip, len, &again, &a);
	FUZZ_CHECK(r != DECODE_UNSUPPORTED_LINK);
	if (frag->af == 4)
		FUZZ_CHECK(r != DECODE_FRAGMENT);
	if (r == DECODE_OK || r == DECODE_FRAGMENT)
		FUZZ_CHECK(again.af == frag->af);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct defrag_config cfg = {
	    .max_datagrams = FRAG_CAP_DATAGRAMS,
	    .max_bytes = FRAG_CAP_BYTES,
	    .max_frags_per_datagram = FRAG_CAP_PER_DGRAM,
	    .timeout_s = FRAG_TIMEOUT_S,
	};
	struct buf in = buf_init(data, size);
	static uint8_t pkt[PKT_MAX];
	uint64_t now = 1700000000000000ull;
	struct defrag *d = defrag_new(&cfg);

	if (!d)
		return 0;
	while (buf_has(&in, 6)) {
		struct frag_desc f;
		uint8_t misc;
		size_t n;
		struct pkt p;
		enum anomaly a;
		const uint8_t *ip = NULL;
		size_t iplen = 0;

		f.ctl = buf_u8(&in);
		f.offset = buf_be16(&in) & 0x1fffu;
		f.len = buf_be16(&in) & 0x7ffu;
		misc = buf_u8(&in);
		f.more = f.ctl & 2;
		f.data = buf_init(NULL, 0);
		if (misc & 4)
			f.data = buf_sub(&in, f.len < buf_left(&in) ? f.len : buf_left(&in));
		now += (uint64_t)(misc >> 5) * 1000000u;

		n = build(pkt, &f, protos[misc & 3]);
		memset(&p, 0, sizeof(p));
		p.ts_us = now;
		if (decode_ip(pkt, n, &p, &a) != DECODE_FRAGMENT)
			continue;

		enum defrag_result r = defrag_add(d, &p, &ip, &iplen, &a);
		FUZZ_CHECK(r == DEFRAG_HELD || r == DEFRAG_COMPLETE || r == DEFRAG_DROPPED);
		FUZZ_CHECK(defrag_bytes_held(d) <= FRAG_CAP_BYTES);
		if (r == DEFRAG_DROPPED)
			FUZZ_CHECK(a != ANOMALY_NONE);
		if (r == DEFRAG_COMPLETE)
			check_complete(&p, ip, iplen);
		if (misc & 8)
			defrag_expire(d, now);
	}
	const struct defrag_stats *st = defrag_stats(d);
	FUZZ_CHECK(st->reassembled + st->dropped <= st->fragments);
	defrag_free(d);
	return 0;
}
