/*
 * fuzz_decode.c — decode_frame() on every supported link type, and
 * decode_ip() (sensor/decode.h).
 *
 * Input: byte 0 picks the link type (index into link_types[], modulo its
 * length); the rest is the captured frame.  The same bytes also go to
 * decode_ip() (as a rebuilt datagram would).
 *
 * Checked (decode.h contract): the result is one of the enum values; on
 * DECODE_OK and DECODE_FRAGMENT every pointer in struct pkt borrows from
 * the frame and stays inside caplen, the captured payload is never longer
 * than the wire payload, af is 4 or 6; a fragment's header is a whole IPv4
 * header or at least the IPv6 fixed header.
 */
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "decode.h"
#include "fuzz.h"

/* decode.h: every link type decode_frame() understands, then one it does not. */
static const int link_types[] = {1, 0, 108, 12, 14, 101, 228, 229, 113, 276, 147};

static void check_pkt(enum decode_result r, enum anomaly a, const struct pkt *pkt,
                      const uint8_t *frame, size_t caplen)
{
	FUZZ_CHECK(r >= DECODE_OK && r <= DECODE_UNSUPPORTED_LINK);
	if (r == DECODE_MALFORMED)
		FUZZ_CHECK(a != ANOMALY_NONE);
	if (r != DECODE_OK && r != DECODE_FRAGMENT)
		return;
	FUZZ_CHECK(pkt->af == 4 || pkt->af == 6);
	FUZZ_CHECK(fuzz_within(pkt->l3, pkt->l3_len, frame, caplen));
	FUZZ_CHECK(fuzz_within(pkt->payload, pkt->payload_len, frame, caplen));
	FUZZ_CHECK(pkt->payload_len <= pkt->wire_len);
	if (pkt->l3_len && pkt->payload_len)
		FUZZ_CHECK(fuzz_within(pkt->payload, pkt->payload_len, pkt->l3, pkt->l3_len));
	if (r == DECODE_OK)
		return;
	FUZZ_CHECK(a == ANOMALY_NONE);
	FUZZ_CHECK(fuzz_within(pkt->frag.hdr, pkt->frag.hdr_len, frame, caplen));
	FUZZ_CHECK(fuzz_within(pkt->frag.data, pkt->frag.data_len, frame, caplen));
	FUZZ_CHECK(pkt->frag.hdr_len >= (pkt->af == 4 ? 20u : 40u));
	FUZZ_CHECK(pkt->af == 6 || pkt->frag.hdr_len <= 60);
	FUZZ_CHECK(pkt->frag.offset <= 0xfff8u);
	FUZZ_CHECK(pkt->payload_len == pkt->frag.data_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf in = buf_init(data, size);
	size_t nlinks = sizeof(link_types) / sizeof(link_types[0]);
	uint8_t sel = buf_u8(&in);
	size_t caplen = buf_left(&in);
	const uint8_t *frame = buf_take(&in, caplen);
	int linktype = link_types[sel % nlinks];
	struct pkt pkt;
	enum anomaly a;
	enum decode_result r;

	if (!buf_ok(&in))
		return 0;

	memset(&pkt, 0xa5, sizeof(pkt));
	pkt.ts_us = 42;
	r = decode_frame(linktype, frame, caplen, &pkt, &a);
	FUZZ_CHECK(pkt.ts_us == 42);
	FUZZ_CHECK(decode_linktype_supported(linktype) == (r != DECODE_UNSUPPORTED_LINK));
	check_pkt(r, a, &pkt, frame, caplen);

	/* decode_ip() keeps vlan and ts_us. */
	pkt.vlan = 7;
	r = decode_ip(frame, caplen, &pkt, &a);
	FUZZ_CHECK(r != DECODE_UNSUPPORTED_LINK);
	FUZZ_CHECK(pkt.vlan == 7 && pkt.ts_us == 42);
	check_pkt(r, a, &pkt, frame, caplen);
	return 0;
}
