/*
 * decode.c — link, network and transport headers of one captured frame.
 *
 * Normative references:
 *   libpcap link types ........ https://www.tcpdump.org/linktypes.html
 *   Ethernet / VLAN tags ...... IEEE 802.3, IEEE 802.1Q (C-tag 0x8100,
 *                               S-tag 0x88a8; 0x9100 is the pre-802.1ad QinQ tag)
 *   IPv4 ...................... RFC 791
 *   IPv6 and extension hdrs ... RFC 8200 §4, AH RFC 4302 §2.2
 *   TCP, UDP .................. RFC 9293 §3.1, RFC 768
 *
 * Every layer gets a `struct buf` over the bytes it may read and nothing
 * else: the link layer hands the network layer the rest of the capture, the
 * network layer cuts that to the IP packet (so Ethernet padding after the
 * IPv4 total length is never mistaken for payload) and hands the transport
 * layer what is left after the IP and extension headers.  Pointers stored in
 * `struct pkt` all come from buf_take(), so they are in bounds by
 * construction.
 *
 * Two lengths travel together: what was captured (the cursor) and what the
 * IP header says was on the wire.  The capture may be shorter (snap length);
 * it is never allowed to be longer.
 *
 * *ret_anomaly is always written: ANOMALY_NONE, the reason for
 * DECODE_MALFORMED, or a non-fatal anomaly on DECODE_OK (an impossible TCP
 * flag combination is counted, but the segment is still tracked: dropping
 * it would hand an evader a way to hide data from the sensor that the
 * receiver may still accept).
 */
#include "decode.h"

#include <netinet/in.h>
#include <string.h>

#include "buf.h"

/*
 * libpcap link-type numbers, defined here so that <pcap.h> stays in
 * capture.c.  DLT_RAW is 12 on most platforms and 14 on OpenBSD; savefiles
 * carry LINKTYPE_RAW (101).
 */
enum {
	LINK_NULL = 0,
	LINK_EN10MB = 1,
	LINK_RAW_DLT12 = 12,
	LINK_RAW_DLT14 = 14,
	LINK_RAW = 101,
	LINK_LOOP = 108,
	LINK_LINUX_SLL = 113,
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_LINUX_SLL2 = 276,
};

enum {
	ET_IPV4 = 0x0800,
	ET_IPV6 = 0x86dd,
	ET_8021Q = 0x8100,
	ET_8021AD = 0x88a8,
	ET_QINQ_OLD = 0x9100,
	ET_MIN = 0x0600, /* below this the field is an 802.3 length, not a type */
};

/*
 * BSD address families in DLT_NULL/DLT_LOOP headers.  AF_INET is 2
 * everywhere; AF_INET6 depends on the capturing OS: 24 (NetBSD, OpenBSD,
 * BSD/OS), 28 (FreeBSD, DragonFly), 30 (macOS), 23 (Windows: Npcap's
 * loopback adapter writes DLT_NULL).
 */
enum {
	BSD_AF_INET = 2,
	BSD_AF_INET6_WIN = 23,
	BSD_AF_INET6_BSD = 24,
	BSD_AF_INET6_FREEBSD = 28,
	BSD_AF_INET6_DARWIN = 30,
};

#define ETH_HDR_LEN       14u
#define SLL_HDR_LEN       16u
#define SLL2_HDR_LEN      20u
#define IPV4_HDR_MIN      20u
#define IPV6_HDR_LEN      40u
#define IPV6_FRAG_HDR_LEN 8u
#define TCP_HDR_MIN       20u
#define UDP_HDR_LEN       8u

#define IPV4_MF           0x2000u
#define IPV4_OFFMASK      0x1fffu
#define IPV6_FRAG_M       0x0001u
#define IPV6_FRAG_OFFMASK 0xfff8u

#define TH_FIN 0x01u
#define TH_SYN 0x02u
#define TH_RST 0x04u
#define TH_ACK 0x10u

static enum decode_result malformed(enum anomaly *ret_anomaly, enum anomaly why)
{
	*ret_anomaly = why;
	return DECODE_MALFORMED;
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * TCP header (RFC 9293 §3.1):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |          Source Port          |       Destination Port        |
 *  |                        Sequence Number                        |
 *  |                    Acknowledgment Number                      |
 *  |  Data |       |C|E|U|A|P|R|S|F|                               |
 *  | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 *  |           Checksum            |         Urgent Pointer        |
 *  |                    Options (Data Offset > 5)                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * `seg` holds the captured segment, `wire_len` its length per the IP header.
 */
static enum decode_result decode_tcp(struct buf *seg, size_t wire_len, struct pkt *pkt,
                                     enum anomaly *ret_anomaly)
{
	if (wire_len < TCP_HDR_MIN || !buf_has(seg, TCP_HDR_MIN))
		return malformed(ret_anomaly, ANOMALY_TCP_TRUNCATED);

	pkt->sport = buf_be16(seg);
	pkt->dport = buf_be16(seg);
	pkt->seq = buf_be32(seg);
	pkt->ack = buf_be32(seg);
	size_t hlen = (size_t)(buf_u8(seg) >> 4) * 4;
	pkt->tcp_flags = buf_u8(seg);
	pkt->win = buf_be16(seg);
	buf_skip(seg, 4); /* checksum, urgent pointer */

	/* The offset is checked against the wire length first: an offset that
	 * points past the segment is malformed whatever the snap length. */
	if (hlen < TCP_HDR_MIN || hlen > wire_len)
		return malformed(ret_anomaly, ANOMALY_TCP_BAD_OFFSET);
	if (!buf_skip(seg, hlen - TCP_HDR_MIN))
		return malformed(ret_anomaly, ANOMALY_TCP_TRUNCATED);

	pkt->payload_len = buf_left(seg);
	pkt->payload = buf_take(seg, pkt->payload_len);
	pkt->wire_len = wire_len - hlen;

	/* SYN with FIN or RST, FIN without ACK, or nothing at all: no stack
	 * sends these; scanners and evasion tools do. */
	uint8_t f = pkt->tcp_flags;
	if ((f & (TH_SYN | TH_FIN)) == (TH_SYN | TH_FIN) ||
	    (f & (TH_SYN | TH_RST)) == (TH_SYN | TH_RST) || (f & (TH_FIN | TH_ACK)) == TH_FIN ||
	    (f & (TH_SYN | TH_FIN | TH_RST | TH_ACK)) == 0)
		*ret_anomaly = ANOMALY_TCP_BAD_FLAGS;
	return DECODE_OK;
}

/*
 * UDP (RFC 768): source port, destination port, length, checksum.  The UDP
 * length is trusted only when it fits inside what IP says; otherwise the IP
 * length wins (a zero length is what RFC 2675 jumbograms use).
 */
static enum decode_result decode_udp(struct buf *seg, size_t wire_len, struct pkt *pkt,
                                     enum anomaly *ret_anomaly)
{
	if (wire_len < UDP_HDR_LEN || !buf_has(seg, UDP_HDR_LEN))
		return malformed(ret_anomaly, ANOMALY_UDP_TRUNCATED);

	pkt->sport = buf_be16(seg);
	pkt->dport = buf_be16(seg);
	size_t ulen = buf_be16(seg);
	buf_skip(seg, 2); /* checksum */

	if (ulen >= UDP_HDR_LEN && ulen <= wire_len)
		wire_len = ulen;
	pkt->wire_len = wire_len - UDP_HDR_LEN;
	pkt->payload_len = min_size(buf_left(seg), pkt->wire_len);
	pkt->payload = buf_take(seg, pkt->payload_len);
	return DECODE_OK;
}

static enum decode_result decode_l4(struct buf *seg, size_t wire_len, struct pkt *pkt,
                                    enum anomaly *ret_anomaly)
{
	switch (pkt->ip_proto) {
	case IPPROTO_TCP:
		return decode_tcp(seg, wire_len, pkt, ret_anomaly);
	case IPPROTO_UDP:
		return decode_udp(seg, wire_len, pkt, ret_anomaly);
	default:
		return DECODE_SKIP;
	}
}

/*
 * IPv4 header (RFC 791 §3.1):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |Version|  IHL  |Type of Service|          Total Length         |
 *  |         Identification        |Flags|      Fragment Offset    |
 *  |  Time to Live |    Protocol   |         Header Checksum       |
 *  |                       Source Address                          |
 *  |                    Destination Address                        |
 *  |                    Options                    |    Padding    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * A total length of 0 (what TCP segmentation offload leaves in locally
 * captured packets) is below the header length and so malformed: the
 * sensor watches span ports, where it does not occur.  The header checksum
 * is not verified: checksum offload leaves it unset in captures taken on
 * the sending host, and a wrong checksum does not make the bytes any less
 * worth looking at.
 */
static enum decode_result decode_ipv4(struct buf *b, struct pkt *pkt, enum anomaly *ret_anomaly)
{
	size_t avail = buf_left(b);
	struct buf h = *b; /* read the fixed header without consuming */

	if (avail < IPV4_HDR_MIN)
		return malformed(ret_anomaly, ANOMALY_IP_TRUNCATED);
	uint8_t vihl = buf_u8(&h);
	if (vihl >> 4 != 4)
		return malformed(ret_anomaly, ANOMALY_IP_BAD_VERSION);
	size_t hlen = (size_t)(vihl & 0x0f) * 4;
	if (hlen < IPV4_HDR_MIN)
		return malformed(ret_anomaly, ANOMALY_IPV4_BAD_IHL);
	buf_skip(&h, 1); /* TOS */
	size_t total = buf_be16(&h);
	uint16_t id = buf_be16(&h);
	uint16_t frag = buf_be16(&h);
	buf_skip(&h, 1); /* TTL */
	uint8_t proto = buf_u8(&h);
	buf_skip(&h, 2); /* header checksum */
	buf_copy(&h, pkt->src, 4);
	buf_copy(&h, pkt->dst, 4);

	/* Total length 0 is what segmentation offload (TSO/GSO) leaves in
	 * packets captured on the sending host: the packet is what was
	 * captured (Wireshark decodes it the same way). */
	if (total == 0 && !(frag & (IPV4_MF | IPV4_OFFMASK)))
		total = avail;
	if (total < hlen)
		return malformed(ret_anomaly, ANOMALY_IPV4_BAD_TOTAL_LEN);
	if (hlen > avail)
		return malformed(ret_anomaly, ANOMALY_IP_TRUNCATED);

	pkt->af = 4;
	pkt->ip_proto = proto;
	/* Bytes past the total length (Ethernet minimum-frame padding, FCS)
	 * are not part of the packet: cut them off here. */
	pkt->l3_len = min_size(total, avail);
	pkt->l3 = buf_take(b, pkt->l3_len);

	struct buf ip = buf_init(pkt->l3, pkt->l3_len);
	const uint8_t *hdr = buf_take(&ip, hlen);
	size_t wire_len = total - hlen;

	if ((frag & IPV4_MF) || (frag & IPV4_OFFMASK)) {
		pkt->frag.id = id;
		pkt->frag.offset = (uint32_t)(frag & IPV4_OFFMASK) * 8;
		pkt->frag.more = frag & IPV4_MF;
		pkt->frag.next_proto = proto;
		pkt->frag.hdr = hdr;
		pkt->frag.hdr_len = hlen;
		pkt->frag.data_len = buf_left(&ip);
		pkt->frag.data = buf_take(&ip, pkt->frag.data_len);
		pkt->payload = pkt->frag.data;
		pkt->payload_len = pkt->frag.data_len;
		pkt->wire_len = wire_len;
		return DECODE_FRAGMENT;
	}
	return decode_l4(&ip, wire_len, pkt, ret_anomaly);
}

/*
 * IPv6 fragment header (RFC 8200 §4.5), the cursor just past it:
 *
 *  | Next Header  |   Reserved    |      Fragment Offset    |Res|M|
 *  |                         Identification                        |
 *
 * `at` is where the fragment header starts: everything before it is the
 * unfragmentable part.  Returns DECODE_OK for an atomic fragment (offset 0,
 * M clear), which is simply decoded through.
 */
static enum decode_result ipv6_fragment(struct buf *ip, size_t at, size_t total, struct pkt *pkt,
                                        uint8_t *nh)
{
	uint8_t next = buf_u8(ip);
	buf_skip(ip, 1);
	uint16_t offlg = buf_be16(ip);
	uint32_t id = buf_be32(ip);

	*nh = next;
	if (!(offlg & IPV6_FRAG_OFFMASK) && !(offlg & IPV6_FRAG_M))
		return DECODE_OK;

	pkt->ip_proto = next;
	pkt->frag.id = id;
	pkt->frag.offset = offlg & IPV6_FRAG_OFFMASK;
	pkt->frag.more = offlg & IPV6_FRAG_M;
	pkt->frag.next_proto = next;
	pkt->frag.hdr = pkt->l3;
	pkt->frag.hdr_len = at;
	pkt->wire_len = total - buf_offset(ip);
	pkt->frag.data_len = buf_left(ip);
	pkt->frag.data = buf_take(ip, pkt->frag.data_len);
	pkt->payload = pkt->frag.data;
	pkt->payload_len = pkt->frag.data_len;
	return DECODE_FRAGMENT;
}

/*
 * Walks the extension-header chain (RFC 8200 §4.1).  Hop-by-hop, routing
 * and destination options share the layout
 *
 *  |  Next Header  |  Hdr Ext Len  |  ... (Hdr Ext Len + 1) * 8 bytes
 *
 * and AH (RFC 4302 §2.2) counts its length in 4-byte units minus 2.  On
 * DECODE_OK *nh is the upper-layer protocol and the cursor is on its header.
 * No next header (59) and ESP (50) end the walk with DECODE_SKIP via the
 * caller's protocol switch.
 */
static enum decode_result ipv6_walk(struct buf *ip, size_t total, struct pkt *pkt, uint8_t *nh,
                                    enum anomaly *ret_anomaly)
{
	for (unsigned n = 0;; n++) {
		switch (*nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			return DECODE_OK;
		}
		if (n == DECODE_MAX_IPV6_EXT)
			return malformed(ret_anomaly, ANOMALY_IPV6_EXT_TOO_MANY);

		if (*nh == IPPROTO_FRAGMENT) {
			if (!buf_has(ip, IPV6_FRAG_HDR_LEN))
				return malformed(ret_anomaly, ANOMALY_IPV6_EXT_TRUNCATED);
			enum decode_result r = ipv6_fragment(ip, buf_offset(ip), total, pkt, nh);
			if (r != DECODE_OK)
				return r;
			continue;
		}
		if (!buf_has(ip, 2))
			return malformed(ret_anomaly, ANOMALY_IPV6_EXT_TRUNCATED);
		uint8_t next = buf_peek_u8(ip, 0);
		size_t units = buf_peek_u8(ip, 1);
		size_t len = *nh == IPPROTO_AH ? (units + 2) * 4 : (units + 1) * 8;
		if (!buf_skip(ip, len))
			return malformed(ret_anomaly, ANOMALY_IPV6_EXT_TRUNCATED);
		*nh = next;
	}
}

/*
 * IPv6 fixed header (RFC 8200 §3):
 *
 *  |Version| Traffic Class |           Flow Label                  |
 *  |         Payload Length        |  Next Header  |   Hop Limit   |
 *  |                 Source Address (128 bits)                     |
 *  |              Destination Address (128 bits)                   |
 *
 * Jumbograms (payload length 0 with a hop-by-hop Jumbo option, RFC 2675)
 * cannot occur on Ethernet and are not supported: they decode as an empty
 * payload and end up truncated.
 */
static enum decode_result decode_ipv6(struct buf *b, struct pkt *pkt, enum anomaly *ret_anomaly)
{
	size_t avail = buf_left(b);
	struct buf h = *b;

	if (buf_peek_u8(&h, 0) >> 4 != 6)
		return malformed(ret_anomaly, ANOMALY_IP_BAD_VERSION);
	if (avail < IPV6_HDR_LEN)
		return malformed(ret_anomaly, ANOMALY_IP_TRUNCATED);
	buf_skip(&h, 4); /* version, traffic class, flow label */
	size_t total = IPV6_HDR_LEN + buf_be16(&h);
	uint8_t nh = buf_u8(&h);
	buf_skip(&h, 1); /* hop limit */
	buf_copy(&h, pkt->src, 16);
	buf_copy(&h, pkt->dst, 16);

	pkt->af = 6;
	pkt->l3_len = min_size(total, avail);
	pkt->l3 = buf_take(b, pkt->l3_len);

	struct buf ip = buf_init(pkt->l3, pkt->l3_len);
	buf_skip(&ip, IPV6_HDR_LEN);

	enum decode_result r = ipv6_walk(&ip, total, pkt, &nh, ret_anomaly);
	if (r != DECODE_OK)
		return r;
	pkt->ip_proto = nh;
	return decode_l4(&ip, total - buf_offset(&ip), pkt, ret_anomaly);
}

/* `version` 4 or 6 when the link layer said which, 0 to go by the nibble. */
static enum decode_result decode_l3(struct buf *b, unsigned version, struct pkt *pkt,
                                    enum anomaly *ret_anomaly)
{
	if (!buf_has(b, 1))
		return malformed(ret_anomaly, ANOMALY_IP_TRUNCATED);
	unsigned nibble = buf_peek_u8(b, 0) >> 4;
	if (version && nibble != version)
		return malformed(ret_anomaly, ANOMALY_IP_BAD_VERSION);
	if (nibble == 4)
		return decode_ipv4(b, pkt, ret_anomaly);
	if (nibble == 6)
		return decode_ipv6(b, pkt, ret_anomaly);
	return malformed(ret_anomaly, ANOMALY_IP_BAD_VERSION);
}

static bool is_vlan_tpid(uint16_t type)
{
	return type == ET_8021Q || type == ET_8021AD || type == ET_QINQ_OLD;
}

/*
 * Dispatches on an ethertype, first unwrapping any VLAN tags:
 *
 *  | TPID (the ethertype just read) | PCP|DEI|  VLAN ID (12) | next type |
 *
 * Shared by Ethernet and the Linux cooked headers (which carry an
 * ethertype too, and keep the tag when the NIC did not strip it).
 */
static enum decode_result decode_ethertype(struct buf *b, uint16_t type, struct pkt *pkt,
                                           enum anomaly *ret_anomaly)
{
	for (unsigned tags = 0; is_vlan_tpid(type); tags++) {
		if (tags == DECODE_MAX_VLANS)
			return malformed(ret_anomaly, ANOMALY_VLAN_TOO_DEEP);
		if (!buf_has(b, 4))
			return malformed(ret_anomaly, ANOMALY_L2_TRUNCATED);
		uint16_t tci = buf_be16(b);
		if (tags == 0)
			pkt->vlan = tci & 0x0fff;
		type = buf_be16(b);
	}
	switch (type) {
	case ET_IPV4:
		return decode_l3(b, 4, pkt, ret_anomaly);
	case ET_IPV6:
		return decode_l3(b, 6, pkt, ret_anomaly);
	default:
		return DECODE_SKIP; /* ARP, LLDP, 802.3 lengths, ... */
	}
}

/* Ethernet II: destination MAC, source MAC, ethertype. */
static enum decode_result decode_ether(struct buf *b, struct pkt *pkt, enum anomaly *ret_anomaly)
{
	if (!buf_has(b, ETH_HDR_LEN))
		return malformed(ret_anomaly, ANOMALY_L2_TRUNCATED);
	buf_skip(b, 12); /* destination and source MAC */
	uint16_t type = buf_be16(b);
	if (type < ET_MIN)
		return DECODE_SKIP; /* 802.3 length + LLC: not IP on any segment we watch */
	return decode_ethertype(b, type, pkt, ret_anomaly);
}

/*
 * DLT_NULL and DLT_LOOP: a 4-byte address family.  NULL writes it in the
 * capturing host's byte order, which a savefile does not record; AF values
 * are small, so whichever reading fits in 16 bits is the right one.
 */
static enum decode_result decode_null(struct buf *b, bool network_order, struct pkt *pkt,
                                      enum anomaly *ret_anomaly)
{
	struct buf be = *b;
	uint32_t af = buf_le32(b);
	uint32_t af_be = buf_be32(&be);

	if (!buf_ok(b))
		return malformed(ret_anomaly, ANOMALY_L2_TRUNCATED);
	if (network_order || af > 0xffff)
		af = af_be;
	switch (af) {
	case BSD_AF_INET:
		return decode_l3(b, 4, pkt, ret_anomaly);
	case BSD_AF_INET6_WIN:
	case BSD_AF_INET6_BSD:
	case BSD_AF_INET6_FREEBSD:
	case BSD_AF_INET6_DARWIN:
		return decode_l3(b, 6, pkt, ret_anomaly);
	default:
		return DECODE_SKIP;
	}
}

/*
 * Linux cooked captures (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html,
 * .../LINKTYPE_LINUX_SLL2.html):
 *
 *  SLL  | pkttype 2 | ARPHRD 2 | addr len 2 | addr 8 | protocol 2 |      16 bytes
 *  SLL2 | protocol 2 | reserved 2 | ifindex 4 | ARPHRD 2 | pkttype 1 |
 *       | addr len 1 | addr 8 |                                       20 bytes
 *
 * The protocol is an ethertype for everything that carries IP; the few
 * non-ethertype values (1 = 802.3, 4 = 802.2 LLC, ...) fall into SKIP.
 */
static enum decode_result decode_sll(struct buf *b, bool v2, struct pkt *pkt,
                                     enum anomaly *ret_anomaly)
{
	struct buf h = *b;
	uint16_t type;

	if (!buf_skip(b, v2 ? SLL2_HDR_LEN : SLL_HDR_LEN))
		return malformed(ret_anomaly, ANOMALY_L2_TRUNCATED);
	if (!v2)
		buf_skip(&h, 14);
	type = buf_be16(&h);
	return decode_ethertype(b, type, pkt, ret_anomaly);
}

static void pkt_reset(struct pkt *pkt, bool keep_vlan)
{
	uint64_t ts = pkt->ts_us;
	uint16_t vlan = pkt->vlan;

	memset(pkt, 0, sizeof(*pkt));
	pkt->ts_us = ts;
	if (keep_vlan)
		pkt->vlan = vlan;
}

bool decode_linktype_supported(int linktype)
{
	switch (linktype) {
	case LINK_NULL:
	case LINK_EN10MB:
	case LINK_RAW_DLT12:
	case LINK_RAW_DLT14:
	case LINK_RAW:
	case LINK_LOOP:
	case LINK_LINUX_SLL:
	case LINK_IPV4:
	case LINK_IPV6:
	case LINK_LINUX_SLL2:
		return true;
	default:
		return false;
	}
}

enum decode_result decode_frame(int linktype, const uint8_t *frame, size_t caplen, struct pkt *pkt,
                                enum anomaly *ret_anomaly)
{
	struct buf b = buf_init(frame, caplen);

	pkt_reset(pkt, false);
	*ret_anomaly = ANOMALY_NONE;

	switch (linktype) {
	case LINK_EN10MB:
		return decode_ether(&b, pkt, ret_anomaly);
	case LINK_NULL:
		return decode_null(&b, false, pkt, ret_anomaly);
	case LINK_LOOP:
		return decode_null(&b, true, pkt, ret_anomaly);
	case LINK_RAW_DLT12:
	case LINK_RAW_DLT14:
	case LINK_RAW:
		return decode_l3(&b, 0, pkt, ret_anomaly);
	case LINK_IPV4:
		return decode_l3(&b, 4, pkt, ret_anomaly);
	case LINK_IPV6:
		return decode_l3(&b, 6, pkt, ret_anomaly);
	case LINK_LINUX_SLL:
		return decode_sll(&b, false, pkt, ret_anomaly);
	case LINK_LINUX_SLL2:
		return decode_sll(&b, true, pkt, ret_anomaly);
	default:
		return DECODE_UNSUPPORTED_LINK;
	}
}

enum decode_result decode_ip(const uint8_t *ip, size_t len, struct pkt *pkt,
                             enum anomaly *ret_anomaly)
{
	struct buf b = buf_init(ip, len);

	pkt_reset(pkt, true);
	*ret_anomaly = ANOMALY_NONE;
	return decode_l3(&b, 0, pkt, ret_anomaly);
}
