/*
 * test_decode.c — unit tests for sensor/decode.c.
 *
 * Frames are hand-built byte arrays: one per supported link type, VLAN
 * stacks, IPv4 with IP and TCP options, IPv6 with an extension-header chain
 * and with AH, UDP, and the things that must be skipped (ICMP, ARP).  Every
 * frame is also decoded at every truncated length, from a heap copy of
 * exactly that size so that ASan catches a read past caplen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "decode.h"

#define LT_NULL   0
#define LT_EN10MB 1
#define LT_RAW12  12
#define LT_RAW14  14
#define LT_RAW    101
#define LT_LOOP   108
#define LT_SLL    113
#define LT_IPV4   228
#define LT_IPV6   229
#define LT_SLL2   276

/* Test vectors, laid out by header field: not for clang-format. */
/* clang-format off */

/* 10.0.0.1:49153 -> 10.0.0.2:443, IHL 6 (4 bytes of NOP/EOL options), TCP
 * data offset 8 (NOP NOP timestamp), PSH|ACK, payload "hello". */
static const uint8_t ip4_tcp[] = {
	0x46, 0x00, 0x00, 61, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	10, 0, 0, 1, 10, 0, 0, 2, 0x01, 0x01, 0x01, 0x00,
	/* TCP */
	0xc0, 0x01, 0x01, 0xbb, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x20, 0x00,
	0x80, 0x18, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
	0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2,
	'h', 'e', 'l', 'l', 'o',
};

/* 10.0.0.1:5353 -> 10.0.0.2:53, payload "abcd". */
static const uint8_t ip4_udp[] = {
	0x45, 0x00, 0x00, 32, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	10, 0, 0, 1, 10, 0, 0, 2,
	0x14, 0xe9, 0x00, 0x35, 0x00, 12, 0x00, 0x00, 'a', 'b', 'c', 'd',
};

/* ICMP echo request. */
static const uint8_t ip4_icmp[] = {
	0x45, 0x00, 0x00, 28, 0x00, 0x02, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00,
	192, 168, 1, 1, 192, 168, 1, 2,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
};

/* A bare ACK, 40 bytes: on Ethernet it needs padding to 60. */
static const uint8_t ip4_ack[] = {
	0x45, 0x00, 0x00, 40, 0x00, 0x03, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00,
	10, 0, 0, 1, 10, 0, 0, 2,
	0xc0, 0x01, 0x01, 0xbb, 0x00, 0x00, 0x10, 0x05, 0x00, 0x00, 0x20, 0x00,
	0x50, 0x10, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
};

#define V6_SRC 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
#define V6_DST 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2
/* TCP header: seq 7, ack 9, data offset 5, PSH|ACK, window 4096. */
#define TCP_PSH_ACK(sp, dp) \
	(sp) >> 8, (sp) & 0xff, (dp) >> 8, (dp) & 0xff, 0, 0, 0, 7, 0, 0, 0, 9, \
	0x50, 0x18, 0x10, 0x00, 0, 0, 0, 0

/* Hop-by-hop (8) + routing (8) + destination options (16) + TCP + "v6data". */
static const uint8_t ip6_ext_tcp[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 8 + 8 + 16 + 20 + 6, 0, 64, V6_SRC, V6_DST,
	/* hop-by-hop: next routing, PadN */
	43, 0, 0x01, 0x04, 0, 0, 0, 0,
	/* routing: next dest opts, type 4, segments left 0 */
	60, 0, 4, 0, 0, 0, 0, 0,
	/* destination options: next TCP, 16 bytes, PadN */
	6, 1, 0x01, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	TCP_PSH_ACK(50000, 80), 'v', '6', 'd', 'a', 't', 'a',
};

/* AH (payload length 4: 24 bytes, 12 of them ICV) then TCP + "ah". */
static const uint8_t ip6_ah_tcp[] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 24 + 20 + 2, 51, 64, V6_SRC, V6_DST,
	6, 4, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 1,
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
	TCP_PSH_ACK(50001, 443), 'a', 'h',
};
/* clang-format on */

static const uint8_t mac_hdr[12] = {0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 6};

struct frame {
	uint8_t b[256];
	size_t len;
};

static void put(struct frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	memcpy(&f->b[f->len], p, n);
	f->len += n;
}

static void put16(struct frame *f, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, 2);
}

/* Ethernet with `ntags` tags of TPIDs `tpids` (VLAN ids 100, 101, ...). */
static void eth(struct frame *f, const uint16_t *tpids, size_t ntags, uint16_t type,
                const uint8_t *ip, size_t iplen)
{
	f->len = 0;
	put(f, mac_hdr, sizeof(mac_hdr));
	for (size_t i = 0; i < ntags; i++) {
		put16(f, tpids[i]);
		put16(f, (uint16_t)(0x2000 | (100 + i))); /* PCP 1 */
	}
	put16(f, type);
	put(f, ip, iplen);
}

/*
 * Decodes from a heap copy of exactly caplen bytes (so that ASan sees any
 * read past caplen) and checks that what pkt borrows lies inside it; then
 * decodes the caller's bytes again so that pkt stays usable after the copy
 * is freed.
 */
static enum decode_result run(int lt, const uint8_t *frame, size_t caplen, struct pkt *pkt,
                              enum anomaly *an)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	enum decode_result r, again;
	enum anomaly an_again;

	assert_non_null(copy);
	if (caplen)
		memcpy(copy, frame, caplen);
	memset(pkt, 0xa5, sizeof(*pkt));
	pkt->ts_us = 42;
	r = decode_frame(lt, copy, caplen, pkt, an);
	assert_int_equal(pkt->ts_us, 42);
	/* Borrowed pointers must lie inside the frame. */
	if (r == DECODE_OK || r == DECODE_FRAGMENT) {
		assert_true(pkt->l3 >= copy && pkt->l3_len <= caplen);
		assert_true((size_t)(pkt->l3 - copy) <= caplen - pkt->l3_len);
		if (pkt->payload_len) {
			assert_true(pkt->payload >= pkt->l3);
			assert_true((size_t)(pkt->payload - pkt->l3) + pkt->payload_len <=
			            pkt->l3_len);
		}
		assert_true(pkt->payload_len <= pkt->wire_len);
	}
	free(copy);
	again = decode_frame(lt, frame, caplen, pkt, &an_again);
	assert_int_equal(again, r);
	assert_int_equal(an_again, *an);
	return r;
}

/* Every prefix of a valid frame: no crash, no overread, a sane result. */
static void every_prefix(int lt, const uint8_t *frame, size_t len)
{
	struct pkt pkt;
	enum anomaly an;

	for (size_t cut = 0; cut <= len; cut++) {
		enum decode_result r = run(lt, frame, cut, &pkt, &an);
		assert_true(r == DECODE_OK || r == DECODE_SKIP || r == DECODE_MALFORMED ||
		            r == DECODE_FRAGMENT);
		if (r == DECODE_MALFORMED)
			assert_int_not_equal(an, ANOMALY_NONE);
		if (r == DECODE_OK && cut < len)
			assert_true(pkt.payload_len < pkt.wire_len);
	}
}

static void check_ip4_tcp(const struct pkt *pkt)
{
	static const uint8_t src[16] = {10, 0, 0, 1}, dst[16] = {10, 0, 0, 2};

	assert_int_equal(pkt->af, 4);
	assert_int_equal(pkt->ip_proto, 6);
	assert_memory_equal(pkt->src, src, 16);
	assert_memory_equal(pkt->dst, dst, 16);
	assert_int_equal(pkt->sport, 49153);
	assert_int_equal(pkt->dport, 443);
	assert_int_equal(pkt->seq, 0x1000);
	assert_int_equal(pkt->ack, 0x2000);
	assert_int_equal(pkt->tcp_flags, 0x18);
	assert_int_equal(pkt->win, 0xffff);
	assert_int_equal(pkt->l3_len, sizeof(ip4_tcp));
	assert_int_equal(pkt->payload_len, 5);
	assert_int_equal(pkt->wire_len, 5);
	assert_memory_equal(pkt->payload, "hello", 5);
}

static void test_ethernet(void **state)
{
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	eth(&f, NULL, 0, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_OK);
	assert_int_equal(an, ANOMALY_NONE);
	assert_int_equal(pkt.vlan, 0);
	check_ip4_tcp(&pkt);
	every_prefix(LT_EN10MB, f.b, f.len);
}

static void test_vlan(void **state)
{
	static const uint16_t one[] = {0x8100};
	static const uint16_t qinq[] = {0x88a8, 0x8100};
	static const uint16_t old[] = {0x9100, 0x8100, 0x8100, 0x8100};
	static const uint16_t deep[] = {0x8100, 0x8100, 0x8100, 0x8100, 0x8100};
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	eth(&f, one, 1, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.vlan, 100);
	check_ip4_tcp(&pkt);
	every_prefix(LT_EN10MB, f.b, f.len);

	eth(&f, qinq, 2, 0x86dd, ip6_ext_tcp, sizeof(ip6_ext_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.vlan, 100); /* the outer (S-)tag */
	assert_int_equal(pkt.af, 6);
	every_prefix(LT_EN10MB, f.b, f.len);

	eth(&f, old, 4, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_OK);
	check_ip4_tcp(&pkt);

	eth(&f, deep, 5, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_VLAN_TOO_DEEP);
	every_prefix(LT_EN10MB, f.b, f.len);
}

static void test_null_loop(void **state)
{
	static const uint8_t af_le[4] = {2, 0, 0, 0}, af_be[4] = {0, 0, 0, 2};
	/* clang-format off */
	static const uint8_t af6[][4] = {
		{ 24, 0, 0, 0 }, { 0, 0, 0, 24 }, { 28, 0, 0, 0 },
		{ 0, 0, 0, 28 }, { 30, 0, 0, 0 }, { 0, 0, 0, 30 },
	};
	/* clang-format on */
	static const uint8_t af_unknown[4] = {7, 0, 0, 0};
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	f.len = 0;
	put(&f, af_le, 4);
	put(&f, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_NULL, f.b, f.len, &pkt, &an), DECODE_OK);
	check_ip4_tcp(&pkt);
	every_prefix(LT_NULL, f.b, f.len);

	f.len = 0;
	put(&f, af_be, 4);
	put(&f, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_NULL, f.b, f.len, &pkt, &an), DECODE_OK);
	check_ip4_tcp(&pkt);
	/* DLT_LOOP is always network order. */
	assert_int_equal(run(LT_LOOP, f.b, f.len, &pkt, &an), DECODE_OK);
	check_ip4_tcp(&pkt);
	every_prefix(LT_LOOP, f.b, f.len);

	for (size_t i = 0; i < sizeof(af6) / sizeof(af6[0]); i++) {
		f.len = 0;
		put(&f, af6[i], 4);
		put(&f, ip6_ext_tcp, sizeof(ip6_ext_tcp));
		assert_int_equal(run(LT_NULL, f.b, f.len, &pkt, &an), DECODE_OK);
		assert_int_equal(pkt.af, 6);
		assert_int_equal(pkt.dport, 80);
	}

	/* AF_INET header in front of an IPv6 packet. */
	f.len = 0;
	put(&f, af_le, 4);
	put(&f, ip6_ext_tcp, sizeof(ip6_ext_tcp));
	assert_int_equal(run(LT_NULL, f.b, f.len, &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IP_BAD_VERSION);

	f.len = 0;
	put(&f, af_unknown, 4);
	put(&f, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_NULL, f.b, f.len, &pkt, &an), DECODE_SKIP);
}

static void test_raw(void **state)
{
	static const int v4_types[] = {LT_RAW12, LT_RAW14, LT_RAW, LT_IPV4};
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	for (size_t i = 0; i < sizeof(v4_types) / sizeof(v4_types[0]); i++) {
		assert_true(decode_linktype_supported(v4_types[i]));
		assert_int_equal(run(v4_types[i], ip4_tcp, sizeof(ip4_tcp), &pkt, &an), DECODE_OK);
		check_ip4_tcp(&pkt);
	}
	every_prefix(LT_RAW, ip4_tcp, sizeof(ip4_tcp));

	assert_int_equal(run(LT_RAW, ip6_ext_tcp, sizeof(ip6_ext_tcp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.af, 6);
	assert_int_equal(run(LT_IPV6, ip6_ext_tcp, sizeof(ip6_ext_tcp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.af, 6);
	every_prefix(LT_IPV6, ip6_ext_tcp, sizeof(ip6_ext_tcp));

	assert_int_equal(run(LT_IPV4, ip6_ext_tcp, sizeof(ip6_ext_tcp), &pkt, &an),
	                 DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IP_BAD_VERSION);
	assert_int_equal(run(LT_IPV6, ip4_tcp, sizeof(ip4_tcp), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IP_BAD_VERSION);
}

static void test_sll(void **state)
{
	static const uint8_t sll[16] = {0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00};
	/* clang-format off */
	static const uint8_t sll2[20] = { 0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1,
					  4,    6,    0, 1, 2, 3, 4, 5, 0, 0 };
	/* clang-format on */
	static const uint8_t sll_arp[16] = {0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x06};
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	f.len = 0;
	put(&f, sll, sizeof(sll));
	put(&f, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_SLL, f.b, f.len, &pkt, &an), DECODE_OK);
	check_ip4_tcp(&pkt);
	every_prefix(LT_SLL, f.b, f.len);

	f.len = 0;
	put(&f, sll2, sizeof(sll2));
	put(&f, ip6_ext_tcp, sizeof(ip6_ext_tcp));
	assert_int_equal(run(LT_SLL2, f.b, f.len, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.af, 6);
	assert_int_equal(pkt.sport, 50000);
	assert_int_equal(pkt.payload_len, 6);
	assert_memory_equal(pkt.payload, "v6data", 6);
	every_prefix(LT_SLL2, f.b, f.len);

	f.len = 0;
	put(&f, sll_arp, sizeof(sll_arp));
	put(&f, ip4_tcp, 28);
	assert_int_equal(run(LT_SLL, f.b, f.len, &pkt, &an), DECODE_SKIP);
}

static void test_ipv6_ext(void **state)
{
	static const uint8_t src[16] = {V6_SRC}, dst[16] = {V6_DST};
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	assert_int_equal(run(LT_RAW, ip6_ext_tcp, sizeof(ip6_ext_tcp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.af, 6);
	assert_int_equal(pkt.ip_proto, 6);
	assert_memory_equal(pkt.src, src, 16);
	assert_memory_equal(pkt.dst, dst, 16);
	assert_int_equal(pkt.sport, 50000);
	assert_int_equal(pkt.dport, 80);
	assert_int_equal(pkt.seq, 7);
	assert_int_equal(pkt.ack, 9);
	assert_int_equal(pkt.tcp_flags, 0x18);
	assert_int_equal(pkt.win, 0x1000);
	assert_int_equal(pkt.l3_len, sizeof(ip6_ext_tcp));
	assert_int_equal(pkt.payload_len, 6);
	assert_int_equal(pkt.wire_len, 6);
	assert_memory_equal(pkt.payload, "v6data", 6);

	assert_int_equal(run(LT_RAW, ip6_ah_tcp, sizeof(ip6_ah_tcp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.dport, 443);
	assert_int_equal(pkt.payload_len, 2);
	assert_memory_equal(pkt.payload, "ah", 2);
	every_prefix(LT_RAW, ip6_ah_tcp, sizeof(ip6_ah_tcp));
}

/* Nine destination-options headers: one more than DECODE_MAX_IPV6_EXT. */
static void test_ipv6_too_many_ext(void **state)
{
	struct frame f;
	struct pkt pkt;
	enum anomaly an;
	uint8_t fixed[40] = {0x60, 0, 0, 0, 0, 0, 60, 64};
	uint8_t opt[8] = {60, 0, 0x01, 0x04, 0, 0, 0, 0};
	static const uint8_t udp_empty[8] = {0, 53, 0, 53, 0, 8, 0, 0};

	(void)state;
	for (unsigned n = DECODE_MAX_IPV6_EXT; n <= DECODE_MAX_IPV6_EXT + 1; n++) {
		f.len = 0;
		fixed[5] = (uint8_t)(n * 8 + 8);
		put(&f, fixed, sizeof(fixed));
		for (unsigned i = 0; i < n; i++) {
			opt[0] = i + 1 == n ? 17 : 60;
			put(&f, opt, sizeof(opt));
		}
		put(&f, udp_empty, sizeof(udp_empty));
		enum decode_result r = run(LT_RAW, f.b, f.len, &pkt, &an);
		if (n == DECODE_MAX_IPV6_EXT) {
			assert_int_equal(r, DECODE_OK);
			assert_int_equal(pkt.ip_proto, 17);
			assert_int_equal(pkt.payload_len, 0);
		} else {
			assert_int_equal(r, DECODE_MALFORMED);
			assert_int_equal(an, ANOMALY_IPV6_EXT_TOO_MANY);
		}
	}
}

static void test_udp_icmp_arp(void **state)
{
	static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1};
	static const uint8_t src[16] = {192, 168, 1, 1};
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	assert_int_equal(run(LT_RAW, ip4_udp, sizeof(ip4_udp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.ip_proto, 17);
	assert_int_equal(pkt.sport, 5353);
	assert_int_equal(pkt.dport, 53);
	assert_int_equal(pkt.payload_len, 4);
	assert_int_equal(pkt.wire_len, 4);
	assert_memory_equal(pkt.payload, "abcd", 4);
	every_prefix(LT_RAW, ip4_udp, sizeof(ip4_udp));

	assert_int_equal(run(LT_RAW, ip4_icmp, sizeof(ip4_icmp), &pkt, &an), DECODE_SKIP);
	assert_int_equal(pkt.af, 4);
	assert_int_equal(pkt.ip_proto, 1);
	assert_memory_equal(pkt.src, src, 16);
	assert_non_null(pkt.l3);
	assert_int_equal(pkt.l3_len, sizeof(ip4_icmp));
	every_prefix(LT_RAW, ip4_icmp, sizeof(ip4_icmp));

	eth(&f, NULL, 0, 0x0806, arp, sizeof(arp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_SKIP);
	assert_int_equal(pkt.af, 0);
	every_prefix(LT_EN10MB, f.b, f.len);

	/* 802.3 length field instead of an ethertype. */
	eth(&f, NULL, 0, 46, arp, sizeof(arp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_SKIP);
}

static void test_snaplen_and_padding(void **state)
{
	struct frame f;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	eth(&f, NULL, 0, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	assert_int_equal(run(LT_EN10MB, f.b, f.len - 2, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 3);
	assert_int_equal(pkt.wire_len, 5);
	assert_int_equal(pkt.l3_len, sizeof(ip4_tcp) - 2);

	/* A 40-byte packet padded to the 60-byte minimum with junk (and an
	 * FCS): none of it is payload. */
	eth(&f, NULL, 0, 0x0800, ip4_ack, sizeof(ip4_ack));
	memset(&f.b[f.len], 0xee, 10);
	f.len += 10;
	assert_int_equal(run(LT_EN10MB, f.b, f.len, &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.l3_len, sizeof(ip4_ack));
	assert_int_equal(pkt.payload_len, 0);
	assert_int_equal(pkt.wire_len, 0);
	assert_int_equal(pkt.tcp_flags, 0x10);
	assert_int_equal(pkt.seq, 0x1005);
}

static void test_ipv4_malformed(void **state)
{
	uint8_t p[sizeof(ip4_tcp)];
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	memcpy(p, ip4_tcp, sizeof(p));
	p[0] = 0x44; /* IHL 4 */
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IPV4_BAD_IHL);

	memcpy(p, ip4_tcp, sizeof(p));
	p[3] = 20; /* total length below the 24-byte header */
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IPV4_BAD_TOTAL_LEN);

	memcpy(p, ip4_tcp, sizeof(p));
	p[0] = 0x4f; /* 60-byte header ... */
	p[3] = 50;   /* ... in a 50-byte packet */
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IPV4_BAD_TOTAL_LEN);

	memcpy(p, ip4_tcp, sizeof(p));
	p[0] = 0x55;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IP_BAD_VERSION);

	/* Total length larger than the capture: a snap-length cut, not an error. */
	memcpy(p, ip4_tcp, sizeof(p));
	p[3] = 100;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 5);
	assert_int_equal(pkt.wire_len, 44);

	/* Total length 0 (TSO on the capturing host): the captured packet. */
	memcpy(p, ip4_tcp, sizeof(p));
	p[2] = 0;
	p[3] = 0;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 5);
	assert_int_equal(pkt.wire_len, 5);
}

static void test_tcp_malformed(void **state)
{
	uint8_t p[sizeof(ip4_tcp)];
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	memcpy(p, ip4_tcp, sizeof(p));
	p[24 + 12] = 0x40; /* data offset 4 */
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_TCP_BAD_OFFSET);

	memcpy(p, ip4_tcp, sizeof(p));
	p[24 + 12] = 0xf0; /* 60 bytes, segment is 37 */
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_TCP_BAD_OFFSET);

	/* Segment shorter than a TCP header per the IP total length. */
	memcpy(p, ip4_tcp, sizeof(p));
	p[3] = 24 + 10;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_TCP_TRUNCATED);

	/* SYN|FIN is decoded but counted. */
	memcpy(p, ip4_tcp, sizeof(p));
	p[24 + 13] = 0x03;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_OK);
	assert_int_equal(an, ANOMALY_TCP_BAD_FLAGS);
	p[24 + 13] = 0x00;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_OK);
	assert_int_equal(an, ANOMALY_TCP_BAD_FLAGS);
	p[24 + 13] = 0x02;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_OK);
	assert_int_equal(an, ANOMALY_NONE);

	/* UDP with a length field larger than the IP payload: IP wins. */
	memcpy(p, ip4_udp, sizeof(ip4_udp));
	p[25] = 200;
	assert_int_equal(run(LT_RAW, p, sizeof(ip4_udp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 4);
	assert_int_equal(pkt.wire_len, 4);
	/* ... and a shorter one trims the payload. */
	p[25] = 10;
	assert_int_equal(run(LT_RAW, p, sizeof(ip4_udp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.payload_len, 2);
}

static void test_fragments(void **state)
{
	uint8_t p[sizeof(ip4_tcp)];
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	/* IPv4 first fragment (MF). */
	memcpy(p, ip4_tcp, sizeof(p));
	p[6] = 0x20;
	p[7] = 0x00;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_FRAGMENT);
	assert_int_equal(pkt.frag.id, 0x1234);
	assert_int_equal(pkt.frag.offset, 0);
	assert_true(pkt.frag.more);
	assert_int_equal(pkt.frag.next_proto, 6);
	assert_int_equal(pkt.frag.hdr_len, 24);
	assert_int_equal(pkt.frag.data_len, sizeof(ip4_tcp) - 24);
	/* run() freed its copy: look at the borrowed pointers on p itself. */
	assert_int_equal(decode_ip(p, sizeof(p), &pkt, &an), DECODE_FRAGMENT);
	assert_ptr_equal(pkt.frag.hdr, p);
	assert_ptr_equal(pkt.frag.data, &p[24]);
	assert_ptr_equal(pkt.l3, p);
	assert_int_equal(pkt.af, 4);
	every_prefix(LT_RAW, p, sizeof(p));

	/* Last fragment at offset 8 * 0x10. */
	p[6] = 0x00;
	p[7] = 0x10;
	assert_int_equal(run(LT_RAW, p, sizeof(p), &pkt, &an), DECODE_FRAGMENT);
	assert_int_equal(pkt.frag.offset, 128);
	assert_false(pkt.frag.more);

	/* IPv6: hop-by-hop, then a fragment header (offset 16, M set). */
	/* clang-format off */
	static const uint8_t v6frag[] = {
		0x60, 0, 0, 0, 0, 8 + 8 + 16, 0, 64, V6_SRC, V6_DST,
		44, 0, 0x01, 0x04, 0, 0, 0, 0,
		6, 0, 0x00, 0x11, 0xde, 0xad, 0xbe, 0xef,
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	};
	/* clang-format on */
	assert_int_equal(run(LT_RAW, v6frag, sizeof(v6frag), &pkt, &an), DECODE_FRAGMENT);
	assert_int_equal(pkt.af, 6);
	assert_int_equal(pkt.frag.id, 0xdeadbeef);
	assert_int_equal(pkt.frag.offset, 16);
	assert_true(pkt.frag.more);
	assert_int_equal(pkt.frag.next_proto, 6);
	assert_int_equal(pkt.frag.hdr_len, 48);
	assert_int_equal(pkt.frag.data_len, 16);
	assert_int_equal(decode_ip(v6frag, sizeof(v6frag), &pkt, &an), DECODE_FRAGMENT);
	assert_ptr_equal(pkt.frag.hdr, v6frag);
	assert_int_equal(pkt.frag.data[0], 1);
	assert_int_equal(pkt.frag.data[15], 16);
	every_prefix(LT_RAW, v6frag, sizeof(v6frag));

	/* An atomic fragment (offset 0, M clear) is decoded through. */
	/* clang-format off */
	static const uint8_t atomic[] = {
		0x60, 0, 0, 0, 0, 8 + 20 + 1, 44, 64, V6_SRC, V6_DST,
		6, 0, 0x00, 0x00, 0, 0, 0, 1,
		TCP_PSH_ACK(1, 2), 'x',
	};
	/* clang-format on */
	assert_int_equal(run(LT_RAW, atomic, sizeof(atomic), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.dport, 2);
	assert_int_equal(pkt.payload_len, 1);
	every_prefix(LT_RAW, atomic, sizeof(atomic));
}

static void test_misc(void **state)
{
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	assert_false(decode_linktype_supported(105));
	assert_true(decode_linktype_supported(LT_SLL2));
	assert_int_equal(run(105, ip4_tcp, sizeof(ip4_tcp), &pkt, &an), DECODE_UNSUPPORTED_LINK);
	assert_int_equal(decode_frame(LT_EN10MB, NULL, 0, &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_L2_TRUNCATED);

	/* decode_ip() keeps the VLAN the frame was seen on. */
	pkt.vlan = 7;
	assert_int_equal(decode_ip(ip4_tcp, sizeof(ip4_tcp), &pkt, &an), DECODE_OK);
	assert_int_equal(pkt.vlan, 7);
	check_ip4_tcp(&pkt);
	assert_int_equal(decode_ip(ip4_tcp, 0, &pkt, &an), DECODE_MALFORMED);
	assert_int_equal(an, ANOMALY_IP_TRUNCATED);
}

/* xorshift64: reproducible noise without global state. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Valid frames with random bytes overwritten and a random snap length. */
static void test_mutations(void **state)
{
	static const uint16_t qinq[] = {0x88a8, 0x8100};
	static const uint8_t null_v6[4] = {30, 0, 0, 0};
	struct frame frames[4];
	static const int types[4] = {LT_EN10MB, LT_EN10MB, LT_RAW, LT_NULL};
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	struct pkt pkt;
	enum anomaly an;

	(void)state;
	eth(&frames[0], NULL, 0, 0x0800, ip4_tcp, sizeof(ip4_tcp));
	eth(&frames[1], qinq, 2, 0x86dd, ip6_ext_tcp, sizeof(ip6_ext_tcp));
	frames[2].len = 0;
	put(&frames[2], ip6_ah_tcp, sizeof(ip6_ah_tcp));
	frames[3].len = 0;
	put(&frames[3], null_v6, sizeof(null_v6));
	put(&frames[3], ip6_ext_tcp, sizeof(ip6_ext_tcp));

	for (unsigned i = 0; i < 20000; i++) {
		const struct frame *orig = &frames[i % 4];
		struct frame f = *orig;
		unsigned flips = 1 + (unsigned)(rnd(&seed) % 4);

		for (unsigned j = 0; j < flips; j++)
			f.b[rnd(&seed) % f.len] = (uint8_t)rnd(&seed);
		size_t caplen = (size_t)(rnd(&seed) % (f.len + 1));
		enum decode_result r = run(types[i % 4], f.b, caplen, &pkt, &an);
		if (r == DECODE_MALFORMED)
			assert_int_not_equal(an, ANOMALY_NONE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ethernet),
	    cmocka_unit_test(test_vlan),
	    cmocka_unit_test(test_null_loop),
	    cmocka_unit_test(test_raw),
	    cmocka_unit_test(test_sll),
	    cmocka_unit_test(test_ipv6_ext),
	    cmocka_unit_test(test_ipv6_too_many_ext),
	    cmocka_unit_test(test_udp_icmp_arp),
	    cmocka_unit_test(test_snaplen_and_padding),
	    cmocka_unit_test(test_ipv4_malformed),
	    cmocka_unit_test(test_tcp_malformed),
	    cmocka_unit_test(test_fragments),
	    cmocka_unit_test(test_misc),
	    cmocka_unit_test(test_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
