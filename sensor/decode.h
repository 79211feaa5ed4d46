/*
 * decode.h — link, network and transport headers of one captured frame.
 *
 * Link types (libpcap DLT/LINKTYPE numbers, https://www.tcpdump.org/linktypes.html):
 *   DLT_EN10MB (1)   Ethernet II, with any stack of 802.1Q (0x8100), 802.1ad
 *                    (0x88a8) and 0x9100 tags up to DECODE_MAX_VLANS deep
 *   DLT_NULL (0)     BSD loopback: 4-byte address family in host order of
 *   DLT_LOOP (108)   the capturing machine (NULL) or network order (LOOP)
 *   DLT_RAW (12, 14, and LINKTYPE_RAW 101), LINKTYPE_IPV4 (228),
 *                    LINKTYPE_IPV6 (229): the frame is the IP packet
 *   DLT_LINUX_SLL (113)  Linux cooked v1, 16-byte header
 *   DLT_LINUX_SLL2 (276) Linux cooked v2, 20-byte header
 * Network: IPv4 (RFC 791) and IPv6 (RFC 8200) with its extension headers
 * (hop-by-hop, routing, destination options, fragment, AH) walked up to
 * DECODE_MAX_IPV6_EXT.  Transport: TCP (RFC 9293) and UDP (RFC 768).
 *
 * Contract: the decoder reads the frame only through common/buf.h, never
 * past caplen; on return the pointers in `struct pkt` borrow from the frame
 * (or from the defragmenter's buffer) and are valid only until the next
 * packet.  Malformed frames return DECODE_MALFORMED with the anomaly set;
 * frames that are simply not for us (ARP, ICMP, an unknown ethertype) return
 * DECODE_SKIP.
 */
#ifndef MDM_DECODE_H
#define MDM_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "anomaly.h"

#define DECODE_MAX_VLANS    4
#define DECODE_MAX_IPV6_EXT 8

enum decode_result {
	DECODE_OK,        /* pkt filled in up to the transport payload */
	DECODE_FRAGMENT,  /* an IP fragment: pkt.frag filled in, hand to defrag */
	DECODE_SKIP,      /* not IP, or not TCP/UDP: counted, nothing to do */
	DECODE_MALFORMED, /* anomaly set */
	DECODE_UNSUPPORTED_LINK,
};

/* Addresses are 16 bytes; IPv4 uses the first 4 and zeroes the rest. */
struct pkt {
	uint64_t ts_us;   /* capture time, microseconds since the epoch (set by caller) */
	uint8_t af;       /* 4 or 6 */
	uint8_t ip_proto; /* IPPROTO_TCP, IPPROTO_UDP, or other */
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint16_t vlan; /* outermost VLAN id, 0 if untagged */

	/* TCP only */
	uint8_t tcp_flags; /* TH_FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 */
	uint32_t seq, ack;
	uint16_t win;

	/* The IP packet as captured (from the IPv4/IPv6 header), for nDPI. */
	const uint8_t *l3;
	size_t l3_len;

	/* Transport payload.  payload_len is what was captured; wire_len what the
	 * IP header says the segment carries.  wire_len > payload_len when the
	 * capture snap length cut the frame. */
	const uint8_t *payload;
	size_t payload_len;
	size_t wire_len;

	/* DECODE_FRAGMENT only: the fragment, for the defragmenter. */
	struct {
		uint32_t id;        /* IPv4 identification, or the IPv6 fragment header's */
		uint32_t offset;    /* byte offset of this fragment's data */
		bool more;          /* MF flag */
		uint8_t next_proto; /* upper protocol (IPv6: after the fragment header) */
		/* IPv4: the header; IPv6: the unfragmentable part (fixed header
		 * and the extension headers before the fragment header). */
		const uint8_t *hdr;
		size_t hdr_len;
		const uint8_t *data; /* fragment data (captured part) */
		size_t data_len;
	} frag;
};

/*
 * Decodes one frame of link type `linktype`.  `pkt->ts_us` is left as the
 * caller set it; everything else is overwritten.  *ret_anomaly is always
 * written: the reason on DECODE_MALFORMED, a non-fatal anomaly to count on
 * DECODE_OK (TCP_BAD_FLAGS: the segment is still tracked), else ANOMALY_NONE.
 * On DECODE_FRAGMENT, payload/payload_len/wire_len describe the fragment
 * data (captured, and per the IP header), as for a transport payload.
 */
enum decode_result decode_frame(int linktype, const uint8_t *frame, size_t caplen, struct pkt *pkt,
                                enum anomaly *ret_anomaly);

/*
 * Decodes an IP packet (IPv4 or IPv6, chosen by the version nibble), e.g. a
 * datagram rebuilt by the defragmenter.  Same contract as decode_frame();
 * `vlan` is kept.
 */
enum decode_result decode_ip(const uint8_t *ip, size_t len, struct pkt *pkt,
                             enum anomaly *ret_anomaly);

/* True when libpcap link type `linktype` is one decode_frame() understands. */
bool decode_linktype_supported(int linktype);

#endif /* MDM_DECODE_H */
