#!/usr/bin/python3
"""Build a large benchmark capture from the real recordings in pcaps/.

Nothing is copied off a network: every Exchange/HTTP/TLS byte comes from a recording in
pcaps/ (made with real clients and servers on loopback, see pcaps/README.md).  Each
recording ("template") is replicated many times; in every copy

  * each distinct client address of the template becomes a fresh client address in
    10.0.0.0/8 and each connection a fresh ephemeral client port (every copy is a new set
    of 5-tuples; TCP sequence numbers are kept: they only have to be unique per tuple);
  * the server address becomes --server (default 192.0.2.10); server ports are kept;
  * timestamps are shifted to the copy's start time and the template's own gaps are
    stretched by --stretch (loopback RTTs are microseconds; a LAN is not);
  * IPv4 and TCP checksums are updated incrementally (RFC 1624), so a checksum keeps its
    state: valid stays valid (the loopback recordings' TCP checksums are partial, offload
    style, in pcaps/ as in the copies; their IPv4 checksums are valid).

--clients N draws client addresses from a fixed population of N (an organisation's
devices) instead of a new address per copy, so that the number of distinct clients, hence
the detector's identities, does not grow with --size.

Copies start as a Poisson process whose rate keeps about --concurrency copies in flight,
so connections interleave and the flow table holds about the same number of flows whatever
--size is (longer capture, same traffic).  Background noise (--noise, a fraction of the
output bytes) is synthetic: non-HTTP TCP bulk flows (SSH with a banner, SMB-, PostgreSQL-
and RDP-port flows with random payload) and UDP DNS query/response pairs, with correct
checksums, so that identification and skipping are exercised.

TLS templates: the key log of every TLS template is written once to --keylog.  Every copy
repeats the recorded handshake, hence the same CLIENT_RANDOM: to a decryptor each copy is
the same TLS session seen again on another connection, and one key-log line serves them all
(the randoms cannot be rewritten: they are inside the handshake transcript that the keys
are derived from).

Output: classic pcap, microsecond timestamps, Ethernet.  Standard library only.

  bench/make-capture.py --size 300M -o /tmp/big.pcap --keylog /tmp/big.keys
"""

import argparse
import heapq
import json
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name: (pcap relative to pcaps/, key log relative to pcaps/ or None, weight)
DEFAULT_TEMPLATES = [
    ("demo/demo.pcap", None, 2),
    ("ews-ntlm-keepalive/ews-ntlm-keepalive.pcap", None, 2),
    ("eas-refusals/eas-refusals.pcap", None, 2),
    ("mapi-owa-autodiscover/mapi-owa-autodiscover.pcap", None, 2),
    ("rpc-over-http/rpc-over-http.pcap", None, 1),
    ("benign-mix/benign-mix.pcap", None, 2),
    ("http-clean/http-clean.pcap", None, 1),
    ("tls-13-aes128gcm/tls-13-aes128gcm.pcap", "tls-13-aes128gcm/keys.txt", 2),
    ("tls-12-ecdhe-rsa-aes128gcm/tls-12-ecdhe-rsa-aes128gcm.pcap",
     "tls-12-ecdhe-rsa-aes128gcm/keys.txt", 2),
    ("tls-13-chacha20/tls-13-chacha20.pcap", "tls-13-chacha20/keys.txt", 1),
]

WELL_KNOWN = {80, 443, 8080, 8090, 8443}
EPOCH_DEFAULT = "2026-11-28T09:00:00"


def fold(x):
    while x > 0xFFFF:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def csum_adjust(cs, old_sum, new_sum):
    """RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')."""
    return (~fold((~cs & 0xFFFF) + (~old_sum & 0xFFFF) + new_sum)) & 0xFFFF


def ip_words(ip4):
    return (ip4 >> 16) + (ip4 & 0xFFFF)


def csum_bytes(data):
    if len(data) & 1:
        data = data + b"\0"
    return fold(sum(struct.unpack("!%dH" % (len(data) // 2), data)))


def parse_size(s):
    s = s.strip().upper()
    mult = 1
    for suf, m in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if s.endswith(suf):
            s, mult = s[:-1], m
            break
    return int(float(s) * mult)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        sys.exit("%s: not a pcap file" % path)
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("%s: not a classic pcap file (pcapng is not supported as a template)" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    if linktype != 1:
        sys.exit("%s: link type %d, templates must be Ethernet (1)" % (path, linktype))
    off, pkts = 24, []
    div = 1e9 if nano else 1e6
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if incl != orig:
            sys.exit("%s: truncated frames (snaplen) are not supported as templates" % path)
        pkts.append((sec + frac / div, data[off:off + incl]))
        off += incl
    return pkts


class Template:
    """A recording split into TCP connections, ready to be rewritten per copy."""

    def __init__(self, name, path, keylog, weight):
        self.name, self.path, self.keylog, self.weight = name, path, keylog, weight
        raw = read_pcap(path)
        t0 = raw[0][0]
        conns = {}      # (client ip, client port, server ip, server port) -> index
        server_of = {}  # unordered pair -> server (ip, port)
        self.pkts = []  # (rel ts, bytes, conn, dir, ihl_off, ip_cs, ip_old, tcp_cs, tcp_old)
        self.conn_client_ip = []  # original client ip of each connection
        skipped = 0
        for ts, b in raw:
            if len(b) < 34 or b[12:14] != b"\x08\x00" or b[23] != 6:
                skipped += 1
                continue
            ihl = (b[14] & 0x0F) * 4
            t = 14 + ihl
            if len(b) < t + 20:
                skipped += 1
                continue
            src, dst = struct.unpack("!II", b[26:34])
            sport, dport = struct.unpack("!HH", b[t:t + 4])
            flags = b[t + 13]
            key = frozenset(((src, sport), (dst, dport)))
            if key not in server_of:
                if flags & 0x02 and not flags & 0x10:      # SYN: the destination serves
                    server_of[key] = (dst, dport)
                elif sport in WELL_KNOWN or (dport not in WELL_KNOWN and sport < dport):
                    server_of[key] = (src, sport)
                else:
                    server_of[key] = (dst, dport)
            srv = server_of[key]
            if (dst, dport) == srv:
                d, cli = 0, (src, sport)
            else:
                d, cli = 1, (dst, dport)
            ck = (cli, srv)
            if ck not in conns:
                conns[ck] = len(conns)
                self.conn_client_ip.append(cli[0])
            ip_cs = struct.unpack("!H", b[24:26])[0]
            tcp_cs = struct.unpack("!H", b[t + 16:t + 18])[0]
            ip_old = fold(ip_words(src) + ip_words(dst))
            tcp_old = fold(ip_old + sport + dport)
            self.pkts.append((ts - t0, b, conns[ck], d, t, ip_cs, ip_old, tcp_cs, tcp_old))
        if skipped:
            print("%s: %d non-IPv4-TCP frames left out" % (name, skipped), file=sys.stderr)
        self.conns = [k for k, _ in sorted(conns.items(), key=lambda kv: kv[1])]
        self.server_ports = [k[1][1] for k in self.conns]
        # distinct original client addresses -> index (each gets its own new address)
        self.client_ips = sorted(set(self.conn_client_ip))
        self.conn_client_idx = [self.client_ips.index(ip) for ip in self.conn_client_ip]
        self.nbytes = sum(len(p[1]) + 16 for p in self.pkts)
        self.duration = self.pkts[-1][0] if self.pkts else 0.0


class Addr:
    """Hands out client addresses in 10.0.0.0/8 (last octet 1..254) and ports.

    pool == 0: every call is a new address (the number of distinct clients grows with
    the capture).  pool == N: addresses come from a fixed population of N clients (an
    organisation's devices); ports then advance per address, so a 4-tuple comes back only
    after ~28,000 connections from that client."""

    def __init__(self, rng, pool=0):
        self.rng, self.pool, self.n = rng, pool, 0
        self.next_port = {}

    @staticmethod
    def nth(n):
        a, c = divmod(n, 254)
        b1, b2 = divmod(a, 256)
        if b1 > 255:
            sys.exit("ran out of 10/8 client addresses")
        return (10 << 24) | (b1 << 16) | (b2 << 8) | (c + 1)

    def clients(self, k):
        if self.pool:
            return [self.nth(i) for i in self.rng.sample(range(self.pool), min(k, self.pool))]
        return [self.client() for _ in range(k)]

    def client(self):
        if self.pool:
            return self.nth(self.rng.randrange(self.pool))
        self.n += 1
        return self.nth(self.n - 1)

    def port(self, ip):
        if not self.pool:
            return self.rng.randrange(32768, 61000)
        p = self.next_port.get(ip)
        if p is None:
            p = self.rng.randrange(32768, 61000)
        self.next_port[ip] = 32768 + (p - 32768 + 1) % (61000 - 32768)
        return p

    def distinct(self):
        return len(self.next_port) if self.pool else self.n


def copy_packets(tpl, start, stretch, server_ip, addr, rng):
    """Yield (ts, frame bytes) for one copy of a template."""
    new_ips = addr.clients(len(tpl.client_ips))
    if len(new_ips) < len(tpl.client_ips):
        sys.exit("--clients is smaller than a template's number of client addresses")
    sb = struct.pack("!I", server_ip)
    sw = ip_words(server_ip)
    per_conn = []
    for i, (cli, srv) in enumerate(tpl.conns):
        cip = new_ips[tpl.conn_client_idx[i]]
        cb = struct.pack("!I", cip)
        cport, sport = addr.port(cip), srv[1]
        ip_new = fold(ip_words(cip) + sw)
        tcp_new = fold(ip_new + cport + sport)
        per_conn.append((cb + sb, sb + cb,
                         struct.pack("!HH", cport, sport), struct.pack("!HH", sport, cport),
                         ip_new, tcp_new))
    for rel, b, c, d, t, ip_cs, ip_old, tcp_cs, tcp_old in tpl.pkts:
        c2s_ips, s2c_ips, c2s_ports, s2c_ports, ip_new, tcp_new = per_conn[c]
        f = bytearray(b)
        f[26:34] = c2s_ips if d == 0 else s2c_ips
        f[24:26] = struct.pack("!H", csum_adjust(ip_cs, ip_old, ip_new))
        f[t:t + 4] = c2s_ports if d == 0 else s2c_ports
        f[t + 16:t + 18] = struct.pack("!H", csum_adjust(tcp_cs, tcp_old, tcp_new))
        yield start + rel * stretch, f


# ---------------------------------------------------------------- synthetic noise

ETH_HDR = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
ETH_HDR_R = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"


def ipv4(src, dst, proto, payload, ident, fwd=True):
    tot = 20 + len(payload)
    h = struct.pack("!BBHHHBBHII", 0x45, 0, tot, ident & 0xFFFF, 0x4000, 64, proto, 0,
                    src, dst)
    cs = (~csum_bytes(h)) & 0xFFFF
    h = h[:10] + struct.pack("!H", cs) + h[12:]
    return (ETH_HDR if fwd else ETH_HDR_R) + h + payload


class PayloadPool:
    """Random payload blocks with precomputed one's-complement sums (fast TCP checksums)."""

    def __init__(self, rng, size=1448, n=32):
        self.blocks = []
        for _ in range(n):
            blk = bytes(rng.getrandbits(8) for _ in range(size))
            self.blocks.append((blk, csum_bytes(blk)))


def tcp_seg(src, dst, sport, dport, seq, ack, flags, payload, psum, ident, fwd):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, flags, 64240, 0, 0)
    pseudo = ip_words(src) + ip_words(dst) + 6 + 20 + len(payload)
    if psum is None:
        psum = csum_bytes(payload) if payload else 0
    cs = (~fold(pseudo + csum_bytes(hdr) + psum)) & 0xFFFF
    if cs == 0:
        cs = 0xFFFF
    hdr = hdr[:16] + struct.pack("!H", cs) + hdr[18:]
    return ipv4(src, dst, 6, hdr + payload, ident, fwd)


NOISE_TCP = [  # (server port, banner from server or None, mean bytes server->client)
    (22, b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", 200_000),
    (445, None, 400_000),
    (5432, None, 150_000),
    (3389, None, 100_000),
]


def noise_tcp(start, stretch, addr, rng, pool, server_ip):
    port, banner, mean = rng.choice(NOISE_TCP)
    cip = addr.client()
    cport = addr.port(cip)
    sip = server_ip + 1 + NOISE_TCP.index((port, banner, mean))
    nbytes = int(rng.expovariate(1.0 / mean)) + 1000
    cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
    rtt = 0.0002 * stretch
    t = start
    ident = rng.getrandbits(16)
    out = []

    def c2s(flags, payload=b"", psum=None):
        nonlocal ident
        ident += 1
        out.append((t, tcp_seg(cip, sip, cport, port, cseq, sseq, flags, payload, psum,
                               ident, True)))

    def s2c(flags, payload=b"", psum=None):
        nonlocal ident
        ident += 1
        out.append((t, tcp_seg(sip, cip, port, cport, sseq, cseq, flags, payload, psum,
                               ident, False)))

    c2s(0x02)                      # SYN
    cseq += 1
    t += rtt / 2
    s2c(0x12)                      # SYN-ACK
    sseq += 1
    t += rtt / 2
    c2s(0x10)
    if banner:
        t += rtt
        s2c(0x18, banner)
        sseq += len(banner)
        t += rtt / 10
        c2s(0x18, b"SSH-2.0-OpenSSH_9.6\r\n")
        cseq += 21
    else:
        t += rtt / 10
        req = rng.choice(pool.blocks)[0][:rng.randrange(64, 512)]
        c2s(0x18, req)
        cseq += len(req)
    sent, n = 0, 0
    while sent < nbytes:
        t += rtt / 20
        blk, bsum = rng.choice(pool.blocks)
        s2c(0x10 if sent + len(blk) < nbytes else 0x18, blk, bsum)
        sseq += len(blk)
        sent += len(blk)
        n += 1
        if n % 2 == 0:
            c2s(0x10)
    t += rtt
    s2c(0x11)                      # FIN
    sseq += 1
    t += rtt / 2
    c2s(0x11)
    cseq += 1
    t += rtt / 2
    s2c(0x10)
    return out


def dns_name(rng):
    labels = [rng.choice(["www", "api", "cdn", "login", "update", "time", "mail",
                          "teams", "files", "repo"]) + str(rng.randrange(100)),
              rng.choice(["example", "contoso", "fabrikam", "corp", "cloudapp"]),
              rng.choice(["com", "net", "org", "test"])]
    return b"".join(bytes([len(x)]) + x.encode() for x in labels) + b"\0"


def noise_dns(start, stretch, addr, rng, server_ip):
    cip = addr.client()
    cport = addr.port(cip)
    sip = server_ip + 53
    out = []
    t = start
    for _ in range(rng.randrange(1, 6)):
        qid = rng.getrandbits(16)
        name = dns_name(rng)
        qtype = rng.choice([1, 28])
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", qtype, 1)
        rdata = (struct.pack("!I", rng.getrandbits(32)) if qtype == 1
                 else bytes(rng.getrandbits(8) for _ in range(16)))
        ans = (b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 300, len(rdata)) + rdata)
        r = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + name + \
            struct.pack("!HH", qtype, 1) + ans
        for src, dst, sp, dp, pl, fwd in ((cip, sip, cport, 53, q, True),
                                          (sip, cip, 53, cport, r, False)):
            u = struct.pack("!HHHH", sp, dp, 8 + len(pl), 0)
            cs = (~fold(ip_words(src) + ip_words(dst) + 17 + 8 + len(pl) +
                        csum_bytes(u) + csum_bytes(pl))) & 0xFFFF
            u = u[:6] + struct.pack("!H", cs or 0xFFFF)
            out.append((t, ipv4(src, dst, 17, u + pl, rng.getrandbits(16), fwd)))
            t += 0.0005 * stretch
        t += rng.uniform(0.001, 0.05) * stretch
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True, help="pcap to write (- for stdout)")
    ap.add_argument("--size", default="300M", help="target size, k/M/G suffixes (default 300M)")
    ap.add_argument("--keylog", help="write the TLS templates' key logs here")
    ap.add_argument("--manifest", help="write copies per template and totals as JSON")
    ap.add_argument("--pcaps", default=os.path.join(REPO, "pcaps"),
                    help="the pcaps/ folder (default: the repository's)")
    ap.add_argument("--template", action="append", metavar="PCAP[:KEYLOG[:WEIGHT]]",
                    help="a template (repeatable; replaces the default set; paths relative "
                         "to --pcaps or absolute)")
    ap.add_argument("--no-tls", action="store_true", help="leave the TLS templates out")
    ap.add_argument("--noise", type=float, default=0.25,
                    help="fraction of output bytes that is background noise (default 0.25)")
    ap.add_argument("--concurrency", type=float, default=50,
                    help="template copies in flight on average (default 50)")
    ap.add_argument("--stretch", type=float, default=10,
                    help="multiply the gaps inside a recording (default 10)")
    ap.add_argument("--clients", type=int, default=0,
                    help="a fixed population of N client addresses (default 0: a new address "
                         "for every copy, so distinct clients grow with --size)")
    ap.add_argument("--server", default="192.0.2.10", help="Exchange server address")
    ap.add_argument("--start", default=EPOCH_DEFAULT, help="UTC start, ISO (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    rng = random.Random(a.seed)
    target = parse_size(a.size)
    server_ip = struct.unpack("!I", bytes(int(x) for x in a.server.split(".")))[0]
    start = time.mktime(time.strptime(a.start, "%Y-%m-%dT%H:%M:%S")) - time.timezone

    specs = []
    if a.template:
        for s in a.template:
            parts = s.split(":")
            specs.append((parts[0], parts[1] if len(parts) > 1 and parts[1] else None,
                          float(parts[2]) if len(parts) > 2 else 1.0))
    else:
        specs = DEFAULT_TEMPLATES
    tpls = []
    for p, k, w in specs:
        if a.no_tls and k:
            continue
        path = p if os.path.isabs(p) else os.path.join(a.pcaps, p)
        kpath = None if not k else (k if os.path.isabs(k) else os.path.join(a.pcaps, k))
        tpls.append(Template(os.path.relpath(path, a.pcaps), path, kpath, w))
    if not tpls:
        sys.exit("no templates")

    if a.keylog:
        seen = set()
        with open(a.keylog, "w") as kf:
            for t in tpls:
                if not t.keylog:
                    continue
                for line in open(t.keylog):
                    if line.strip() and line not in seen:
                        seen.add(line)
                        kf.write(line if line.endswith("\n") else line + "\n")
    elif any(t.keylog for t in tpls):
        print("warning: TLS templates but no --keylog: their copies will not decrypt",
              file=sys.stderr)

    weights = [t.weight for t in tpls]
    mean_dur = sum(t.duration * t.weight for t in tpls) / sum(weights) * a.stretch
    # copies start as a Poisson process: rate = concurrency / mean duration
    gap = max(mean_dur, 1e-3) / a.concurrency

    out = sys.stdout.buffer if a.output == "-" else open(a.output, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    written = 24
    addr = Addr(rng, a.clients)
    pool = PayloadPool(rng)
    heap = []       # (ts, seq, frame, iterator)
    seq = 0
    t_next = start
    copies = {t.name: 0 for t in tpls}
    noise_bytes, tpl_bytes, nframes = 0, 0, 0
    n_noise_tcp = n_noise_dns = 0
    buf, buflen = [], 0

    def push(it):
        nonlocal seq
        first = next(it, None)
        if first is not None:
            heapq.heappush(heap, (first[0], seq, first[1], it))
            seq += 1

    started = 0
    while True:
        # start every unit due before the earliest pending frame (keeps output in order)
        while (started < target) and (not heap or t_next <= heap[0][0]):
            if noise_bytes < a.noise * (noise_bytes + tpl_bytes):
                # background: starts between two copies, does not move the clock
                t0 = t_next + rng.uniform(0, gap)
                if rng.random() < 0.3:
                    frames = noise_dns(t0, a.stretch, addr, rng, server_ip)
                    n_noise_dns += 1
                else:
                    frames = noise_tcp(t0, a.stretch, addr, rng, pool, server_ip)
                    n_noise_tcp += 1
                nb = sum(len(f) + 16 for _, f in frames)
                noise_bytes += nb
                push(iter(frames))
            else:
                t = rng.choices(tpls, weights)[0]
                copies[t.name] += 1
                tpl_bytes += t.nbytes
                nb = t.nbytes
                push(copy_packets(t, t_next, a.stretch, server_ip, addr, rng))
                t_next += rng.expovariate(1.0 / gap)
            started += nb
        if not heap:
            break
        ts, _, frame, it = heapq.heappop(heap)
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        if usec >= 1000000:
            sec, usec = sec + 1, usec - 1000000
        n = len(frame)
        buf.append(struct.pack("<IIII", sec, usec, n, n))
        buf.append(frame)
        buflen += n + 16
        nframes += 1
        if buflen >= 1 << 20:
            out.write(b"".join(buf))
            written += buflen
            buf, buflen = [], 0
        nxt = next(it, None)
        if nxt is not None:
            heapq.heappush(heap, (nxt[0], seq, nxt[1], it))
            seq += 1
    out.write(b"".join(buf))
    written += buflen
    if out is not sys.stdout.buffer:
        out.close()

    span = t_next - start
    summary = {
        "output": a.output, "bytes": written, "frames": nframes,
        "span_seconds": round(span, 3), "client_addresses": addr.distinct(),
        "template_bytes": tpl_bytes, "noise_bytes": noise_bytes,
        "noise_tcp_flows": n_noise_tcp, "noise_dns_flows": n_noise_dns,
        "copies": copies,
        "templates": {t.name: {"bytes": t.nbytes, "frames": len(t.pkts),
                               "connections": len(t.conns), "keylog": t.keylog,
                               "duration_s": round(t.duration, 6)} for t in tpls},
        "args": vars(a),
    }
    if a.manifest:
        with open(a.manifest, "w") as mf:
            json.dump(summary, mf, indent=1)
    print("%s: %.1f MB, %d frames, %.0f s of traffic, %d template copies, %d noise flows "
          "(%.0f%% of bytes)" % (a.output, written / 1e6, nframes, span, sum(copies.values()),
                                 n_noise_tcp + n_noise_dns,
                                 100.0 * noise_bytes / max(1, noise_bytes + tpl_bytes)),
          file=sys.stderr)


if __name__ == "__main__":
    main()
