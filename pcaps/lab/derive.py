#!/usr/bin/python3
"""derive.py - build the derived capture cases from the recorded ones.

Real stacks on loopback never produce tiny or overlapping segments, VLAN tags,
IP fragments or IPv6 extension headers, so these cases are rewrites of the
recorded http-clean / http-ipv6 captures, made with scapy (Debian's
/usr/bin/python3 has it) or with plain byte surgery where that is exact.
Every random choice comes from a fixed seed: re-running gives the same files.

  derive.py --pcaps DIR CASE          write DIR/CASE/CASE.pcap
  derive.py --pcaps DIR count FILE    print the number of records in FILE
  derive.py --pcaps DIR cut-offset FILE
                                      print a byte offset in the middle of a
                                      record in the middle of FILE (for head -c)
  derive.py --pcaps DIR streams FILE  print the per-direction byte streams of
                                      FILE under a "first data wins" model
                                      (length and SHA-256), for checking cases

CASE is one of: tiny-segments overlap-different vlan-qinq raw-ip null-loopback
ipv4-fragments ipv6-ext.
"""

import argparse
import hashlib
import os
import random
import struct
import sys

from scapy.all import (IP, IPv6, TCP, Ether, Raw, IPv6ExtHdrHopByHop,  # noqa: E402
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, PadN,
                       fragment, fragment6)

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
SEED = 20261128

# -- pcap files: a tiny exact reader/writer (microsecond pcap only) --------------


class Rec:
    __slots__ = ("ts", "data", "orig_len")

    def __init__(self, ts, data, orig_len=None):
        self.ts = ts                  # integer microseconds since the epoch
        self.data = bytes(data)
        self.orig_len = len(self.data) if orig_len is None else orig_len


def read_pcap(path):
    """Return (linktype, [Rec]) for a classic pcap file (either byte order)."""
    with open(path, "rb") as f:
        raw = f.read()
    magic = raw[:4]
    if magic == b"\xd4\xc3\xb2\xa1":
        e = "<"
    elif magic == b"\xa1\xb2\xc3\xd4":
        e = ">"
    else:
        sys.exit("derive: %s: not a microsecond pcap file" % path)
    linktype = struct.unpack(e + "I", raw[20:24])[0] & 0x0FFFFFFF
    recs, off = [], 24
    while off + 16 <= len(raw):
        sec, usec, incl, orig = struct.unpack(e + "IIII", raw[off:off + 16])
        recs.append(Rec(sec * 1000000 + usec, raw[off + 16:off + 16 + incl], orig))
        off += 16 + incl
    return linktype, recs


def record_offsets(path):
    """[(offset of record header, incl_len)] of a little-endian pcap file."""
    with open(path, "rb") as f:
        raw = f.read()
    out, off = [], 24
    while off + 16 <= len(raw):
        incl = struct.unpack("<I", raw[off + 8:off + 12])[0]
        out.append((off, incl))
        off += 16 + incl
    return out


def write_pcap(path, linktype, recs, snaplen=262144):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for r in recs:
            f.write(struct.pack("<IIII", r.ts // 1000000, r.ts % 1000000,
                                len(r.data), max(r.orig_len, len(r.data))))
            f.write(r.data)
    print("  wrote %s (%d packets, %d bytes)" % (path, len(recs), os.path.getsize(path)))


def retime(recs):
    """Make timestamps strictly increasing (1 us apart at least), order kept."""
    last = 0
    for r in recs:
        r.ts = max(r.ts, last + 1)
        last = r.ts
    return recs


# -- the "first data wins" stream model -----------------------------------------


def l3_of(linktype, data):
    """The IP packet inside a frame of the given link type, as a scapy layer."""
    if linktype == LINKTYPE_ETHERNET:
        pkt = Ether(data)
        while pkt.payload and not isinstance(pkt, (IP, IPv6)):
            pkt = pkt.payload
        return pkt if isinstance(pkt, (IP, IPv6)) else None
    if linktype == LINKTYPE_RAW:
        return IP(data) if data[0] >> 4 == 4 else IPv6(data)
    if linktype == LINKTYPE_NULL:
        return IP(data[4:])
    raise ValueError("linktype %d" % linktype)


def first_wins_streams(linktype, recs):
    """{(src, sport, dst, dport): bytes} under "first data wins".

    Only unfragmented packets are understood (enough for the cases it checks).
    The stream starts after the SYN's sequence number and ends at the first
    hole.
    """
    isn, data = {}, {}
    for r in recs:
        ip = l3_of(linktype, r.data)
        if ip is None or TCP not in ip:
            continue
        t = ip[TCP]
        key = (ip.src, t.sport, ip.dst, t.dport)
        if t.flags & 0x02:
            isn[key] = t.seq
            data.setdefault(key, {})
            continue
        if key not in isn:
            continue
        payload = bytes(t.payload)
        base = (t.seq - isn[key] - 1) & 0xFFFFFFFF
        d = data[key]
        for i, b in enumerate(payload):
            d.setdefault(base + i, b)
    out = {}
    for key, d in data.items():
        n = 0
        while n in d:
            n += 1
        out[key] = bytes(d[i] for i in range(n))
    return out


def print_streams(path):
    linktype, recs = read_pcap(path)
    for (s, sp, d, dp), b in sorted(first_wins_streams(linktype, recs).items()):
        print("%s:%d > %s:%d %d:%s" % (s, sp, d, dp, len(b), hashlib.sha256(b).hexdigest()))


# -- derived cases ----------------------------------------------------------------


def load_eth(pcaps, case):
    linktype, recs = read_pcap(os.path.join(pcaps, case, case + ".pcap"))
    assert linktype == LINKTYPE_ETHERNET, "%s is not Ethernet" % case
    return recs


def tcp_segment(eth, ip, t, seq, payload, flags, ip_id):
    """A fresh Ether/IP/TCP frame with correct lengths and checksums."""
    return bytes(Ether(src=eth.src, dst=eth.dst) /
                 IP(src=ip.src, dst=ip.dst, id=ip_id & 0xFFFF, flags=ip.flags,
                    ttl=ip.ttl, tos=ip.tos) /
                 TCP(sport=t.sport, dport=t.dport, seq=seq & 0xFFFFFFFF, ack=t.ack,
                     flags=flags, window=t.window) /
                 Raw(payload))


def case_tiny_segments(pcaps, out):
    """Every TCP payload byte range of http-clean re-sent as 1-7 byte segments.

    Within one original segment the pieces are shuffled (each moves at most a
    few places), about 10% are sent twice, and extra segments overlapping
    several pieces carry the same bytes again. SYN/ACK/FIN-only packets are
    kept (with checksums recomputed) in their original place. Options are
    dropped from the pieces to keep the file small.
    """
    rng = random.Random(SEED)
    recs = load_eth(pcaps, "http-clean")
    res = []
    for r in recs:
        eth = Ether(r.data)
        ip, t = eth[IP], eth[TCP]
        payload = bytes(t.payload)
        if not payload:
            eth[IP].chksum = None
            eth[TCP].chksum = None
            res.append(Rec(r.ts, bytes(eth)))
            continue
        fin = t.flags & 0x01
        # 1. cut into pieces of 1..7 bytes
        pieces, off = [], 0
        while off < len(payload):
            n = min(rng.randint(1, 7), len(payload) - off)
            pieces.append((off, n))
            off += n
        # 2. order key: piece index + jitter => bounded local shuffle
        units = [(i + rng.uniform(0, 4), o, n) for i, (o, n) in enumerate(pieces)]
        for i, (o, n) in enumerate(pieces):
            if rng.random() < 0.10:  # an exact duplicate, a little later
                units.append((i + 1 + rng.uniform(0, 6), o, n))
            if rng.random() < 0.06 and i + 2 < len(pieces):
                # an overlapping segment from inside piece i to inside piece
                # i+2, same bytes, arriving before or after those pieces
                a = o + rng.randrange(n)
                e2 = pieces[i + 2][0] + rng.randint(1, pieces[i + 2][1])
                units.append((i + rng.uniform(-2, 6), a, e2 - a))
        units.sort(key=lambda u: u[0])
        ip_id = ip.id
        for _, o, n in units:
            flags = "PA" if o + n == len(payload) else "A"
            res.append(Rec(r.ts, tcp_segment(eth, ip, t, t.seq + o,
                                             payload[o:o + n], flags, ip_id)))
            ip_id += 1
        if fin:  # a FIN that came with data follows all of it
            res.append(Rec(r.ts, tcp_segment(eth, ip, t, t.seq + len(payload),
                                             b"", "FA", ip_id)))
    write_pcap(out, LINKTYPE_ETHERNET, retime(res))


def case_overlap_different(pcaps, out):
    """http-clean plus four overlapping segments whose bytes DIFFER.

      A  c2s  after the ActiveSync request segment: a retransmission of
              payload[16:48] with 'X' bytes            -> original bytes win
      B  s2c  after blob segment #5: payload[100:164] as 'Y' bytes
                                                       -> original bytes win
      C  s2c  after blob segment #8: its last 48 bytes as 'W' bytes plus the
              next segment's first 48 true bytes       -> original bytes win
      D  s2c  BEFORE blob segment #12 (so out of order, ahead of the stream):
              payload[200:240] as 'Z' bytes            -> 'Z' bytes win, they
              arrived first
    """
    recs = load_eth(pcaps, "http-clean")
    res, s2c_data = [], []
    parsed = [Ether(r.data) for r in recs]
    server_port = 8080
    for e in parsed:
        if e[TCP].sport == server_port and len(e[TCP].payload) == 1448:
            s2c_data.append(e)
    assert len(s2c_data) >= 14, "http-clean: too few full-size server segments"
    blob = {id(s2c_data[5]): "B", id(s2c_data[8]): "C", id(s2c_data[12]): "D"}
    nxt = {id(s2c_data[8]): s2c_data[9]}
    done_a = False
    for r, e in zip(recs, parsed):
        ip, t = e[IP], e[TCP]
        p = bytes(t.payload)
        kind = blob.get(id(e))
        if kind == "D":
            res.append(Rec(r.ts, tcp_segment(e, ip, t, t.seq + 200, b"Z" * 40, "A", ip.id)))
        res.append(r)
        if not done_a and t.dport == server_port and p.startswith(b"POST /Microsoft-Server-ActiveSync"):
            res.append(Rec(r.ts, tcp_segment(e, ip, t, t.seq + 16, b"X" * 32, "PA", ip.id)))
            done_a = True
        elif kind == "B":
            res.append(Rec(r.ts, tcp_segment(e, ip, t, t.seq + 100, b"Y" * 64, "A", ip.id)))
        elif kind == "C":
            n = nxt[id(e)]
            mixed = b"W" * 48 + bytes(n[TCP].payload)[:48]
            res.append(Rec(r.ts, tcp_segment(e, ip, t, t.seq + len(p) - 48, mixed, "A", ip.id)))
    assert done_a
    write_pcap(out, LINKTYPE_ETHERNET, retime(res))


def vlan_tag(tpid, vid, pcp=0):
    return struct.pack(">HH", tpid, (pcp << 13) | vid)


def case_vlan_qinq(pcaps, out):
    """http-clean re-wrapped: every frame tagged 802.1Q VLAN 100; every third
    frame (both directions) also carries an outer 802.1ad S-tag, VLAN 200."""
    res = []
    for i, r in enumerate(load_eth(pcaps, "http-clean")):
        macs, rest = r.data[:12], r.data[12:]
        tags = vlan_tag(0x8100, 100)
        if i % 3 == 1:
            tags = vlan_tag(0x88A8, 200) + tags
        res.append(Rec(r.ts, macs + tags + rest, r.orig_len + len(tags)))
    write_pcap(out, LINKTYPE_ETHERNET, res)


def case_raw_ip(pcaps, out):
    """LINKTYPE_RAW: http-clean then http-ipv6, Ethernet headers removed (the
    IP version nibble is the only way to tell v4 from v6)."""
    res = []
    for case in ("http-clean", "http-ipv6"):
        res += [Rec(r.ts, r.data[14:], r.orig_len - 14) for r in load_eth(pcaps, case)]
    res.sort(key=lambda r: r.ts)
    write_pcap(out, LINKTYPE_RAW, res)


def case_null_loopback(pcaps, out):
    """DLT_NULL: http-clean with the Ethernet header replaced by the 4-byte BSD
    loopback header, AF_INET (2) in host byte order (little-endian here, as the
    file itself)."""
    hdr = struct.pack("<I", 2)
    res = [Rec(r.ts, hdr + r.data[14:], r.orig_len - 10) for r in load_eth(pcaps, "http-clean")]
    write_pcap(out, LINKTYPE_NULL, res)


def case_ipv4_fragments(pcaps, out):
    """http-clean with every IP datagram over 576 bytes fragmented by scapy's
    fragment() into 512-byte pieces (DF cleared). Every second fragmented
    datagram is sent in reverse fragment order, and every third has its first
    fragment sent last."""
    res, nfrag = [], 0
    for r in load_eth(pcaps, "http-clean"):
        e = Ether(r.data)
        if e[IP].len <= 576:
            res.append(r)
            continue
        e[IP].flags = 0
        frags = fragment(e, fragsize=512)
        if nfrag % 2 == 1:
            frags.reverse()
        elif nfrag % 3 == 0:
            frags = frags[1:] + frags[:1]
        nfrag += 1
        res += [Rec(r.ts, bytes(f)) for f in frags]
    write_pcap(out, LINKTYPE_ETHERNET, retime(res))


def case_ipv6_ext(pcaps, out):
    """http-ipv6 with a Hop-by-Hop Options and a Destination Options header
    (PadN only) in front of TCP in every packet. Packets with more than 600
    bytes of TCP are sent as IPv6 fragments: Hop-by-Hop stays in the
    unfragmentable part, Destination Options travels inside the fragments
    (IPv6 / HBH / Fragment / DestOpt / TCP, RFC 8200 4.1 and 4.5), 520-byte
    fragments; every second fragmented packet in reverse fragment order."""
    res, frag_id = [], 0x1000
    for r in load_eth(pcaps, "http-ipv6"):
        e = Ether(r.data)
        ip6 = e[IPv6]
        l4 = bytes(ip6.payload)      # TCP header + data, checksum unchanged:
        #                              the pseudo-header does not see options
        base = IPv6(src=ip6.src, dst=ip6.dst, tc=ip6.tc, fl=ip6.fl, hlim=ip6.hlim, nh=0)
        hbh = IPv6ExtHdrHopByHop(options=[PadN(optdata=b"\x00" * 4)])
        dst = IPv6ExtHdrDestOpt(nh=6, options=[PadN(optdata=b"\x00" * 4)])
        eth = Ether(src=e.src, dst=e.dst, type=0x86DD)
        if len(l4) <= 600:
            hbh.nh = 60
            res.append(Rec(r.ts, bytes(eth / base / hbh / dst / Raw(l4))))
            continue
        hbh.nh = 44
        frag_id += 1
        pkt = base / hbh / IPv6ExtHdrFragment(nh=60, id=frag_id) / dst / Raw(l4)
        frags = fragment6(pkt, 600)
        if frag_id % 2 == 0:
            frags.reverse()
        res += [Rec(r.ts, bytes(eth / f)) for f in frags]
    write_pcap(out, LINKTYPE_ETHERNET, retime(res))


CASES = {
    "tiny-segments": case_tiny_segments,
    "overlap-different": case_overlap_different,
    "vlan-qinq": case_vlan_qinq,
    "raw-ip": case_raw_ip,
    "null-loopback": case_null_loopback,
    "ipv4-fragments": case_ipv4_fragments,
    "ipv6-ext": case_ipv6_ext,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pcaps", required=True, help="the pcaps/ directory")
    ap.add_argument("what", choices=sorted(CASES) + ["count", "cut-offset", "streams"])
    ap.add_argument("file", nargs="?")
    a = ap.parse_args()
    if a.what in CASES:
        CASES[a.what](a.pcaps, os.path.join(a.pcaps, a.what, a.what + ".pcap"))
    elif a.what == "count":
        print(len(record_offsets(a.file)))
    elif a.what == "cut-offset":
        offs = record_offsets(a.file)
        off, incl = offs[len(offs) // 2]
        print(off + 16 + incl // 2)
    else:
        print_streams(a.file)


if __name__ == "__main__":
    main()
