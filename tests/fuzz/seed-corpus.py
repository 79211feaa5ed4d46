#!/usr/bin/python3
"""seed-corpus.py — rebuild the seed inputs of tests/fuzz/corpus/ from pcaps/.

    /usr/bin/python3 tests/fuzz/seed-corpus.py [OUTDIR]

Writes OUTDIR/<target>/<name> (default: tests/fuzz/corpus) from the golden
captures and lab files, in the input layouts the targets document at their
top.  Needs scapy (Debian: python3-scapy).  The stored corpora are these
seeds merged with what the fuzzer found (libFuzzer -merge=1, see README.md);
run this to re-seed after the captures change, then merge again.
"""
import glob
import os
import struct
import sys
from base64 import b64decode

from scapy.all import IP, IPv6, TCP, Raw, RawPcapReader, rdpcap, IPv6ExtHdrFragment  # noqa

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
PCAPS = os.path.join(ROOT, 'pcaps')
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'tests', 'fuzz', 'corpus')

# fuzz_decode.c link_types[]
LINK_TYPES = [1, 0, 108, 12, 14, 101, 228, 229, 113, 276, 147]
MAX_STREAM = 3000  # bytes per direction kept in a stream seed


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def raw_frames(path):
    r = RawPcapReader(path)
    return r.linktype, [pkt for pkt, _ in r]


def flows(path):
    """TCP connections of a capture: [(client bytes, server bytes, segments)]."""
    conns = {}
    for p in rdpcap(path):
        ip = p.getlayer(IP) or p.getlayer(IPv6)
        if ip is None or TCP not in p:
            continue
        t = p[TCP]
        a, b = (ip.src, t.sport), (ip.dst, t.dport)
        key = tuple(sorted([a, b]))
        c = conns.setdefault(key, {'client': None, 'segs': []})
        if c['client'] is None and (t.flags & 0x02) and not (t.flags & 0x10):
            c['client'] = a
        if c['client'] is None:
            c['client'] = a
        c['segs'].append((a, int(t.seq), int(t.flags), int(t.ack), bytes(t.payload)))
    out = []
    for c in conns.values():
        streams = {}
        for src, seq, flags, _, data in c['segs']:
            d = 0 if src == c['client'] else 1
            st = streams.setdefault(d, {'isn': None, 'bytes': {}})
            if flags & 0x02:
                st['isn'] = seq + 1
            if st['isn'] is None:
                st['isn'] = seq
            for i, byte in enumerate(data):
                st['bytes'].setdefault((seq + i - st['isn']) & 0xffffffff, byte)
        res = []
        for d in (0, 1):
            st = streams.get(d, {'bytes': {}})
            buf = bytearray()
            while len(buf) in st['bytes']:
                buf.append(st['bytes'][len(buf)])
            res.append(bytes(buf))
        out.append((res[0], res[1], c['segs'], c['client']))
    return out


def split_input(ctl, client, server):
    client, server = client[:MAX_STREAM], server[:MAX_STREAM]
    return bytes([ctl]) + struct.pack('>H', len(client)) + client + server


def http_messages(stream):
    """(headers, body) of each HTTP/1.x message in a stream (Content-Length only)."""
    msgs = []
    while stream:
        end = stream.find(b'\r\n\r\n')
        if end < 0:
            break
        head = stream[:end]
        n = 0
        for line in head.split(b'\r\n')[1:]:
            k, _, v = line.partition(b':')
            if k.strip().lower() == b'content-length':
                n = int(v.strip() or 0)
        msgs.append((head, stream[end + 4:end + 4 + n]))
        stream = stream[end + 4 + n:]
    return msgs


def seed_decode():
    picks = {
        'http-clean/http-clean.pcap': [0, 3, 5],
        'http-ipv6/http-ipv6.pcap': [0, 3],
        'http-sll/http-sll.pcap': [0, 3],
        'http-sll2/http-sll2.pcap': [0, 3],
        'null-loopback/null-loopback.pcap': [0, 3],
        'raw-ip/raw-ip.pcap': [0, 3],
        'vlan-qinq/vlan-qinq.pcap': [0, 3],
        'ipv4-fragments/ipv4-fragments.pcap': [3, 4, 5],
        'ipv6-ext/ipv6-ext.pcap': [0, 3, 4, 5],
        'truncated/cut.pcap': [5],
        'http-snaplen/http-snaplen.pcap': [5],
    }
    for path, idx in picks.items():
        lt, frames = raw_frames(os.path.join(PCAPS, path))
        case = path.split('/')[0]
        for i in idx:
            if i < len(frames):
                put('decode', '%s-%d' % (case, i), bytes([LINK_TYPES.index(lt)]) + frames[i])
    # The link types no golden capture uses, from the same packets.
    lt, frames = raw_frames(os.path.join(PCAPS, 'raw-ip/raw-ip.pcap'))
    for alt in (12, 14, 228):
        put('decode', 'raw-ip-as-%d' % alt, bytes([LINK_TYPES.index(alt)]) + frames[3])
    lt, frames = raw_frames(os.path.join(PCAPS, 'http-ipv6/http-ipv6.pcap'))
    put('decode', 'http-ipv6-as-229', bytes([LINK_TYPES.index(229)]) + frames[3][14:])
    lt, frames = raw_frames(os.path.join(PCAPS, 'null-loopback/null-loopback.pcap'))
    af = struct.unpack('<I', frames[3][:4])[0]
    put('decode', 'null-loopback-as-loop',
        bytes([LINK_TYPES.index(108)]) + struct.pack('>I', af) + frames[3][4:])


def seed_defrag():
    for case in ('ipv4-fragments', 'ipv6-ext'):
        recs = bytearray()
        n = 0
        for p in rdpcap(os.path.join(PCAPS, case, case + '.pcap')):
            if IP in p and (p[IP].flags.MF or p[IP].frag):
                ip = p[IP]
                data = bytes(ip.payload)
                ctl = (2 if ip.flags.MF else 0) | (ip.id & 3) << 2
                off = ip.frag
            elif IPv6ExtHdrFragment in p:
                f = p[IPv6ExtHdrFragment]
                data = bytes(f.payload)
                ctl = 1 | (2 if f.m else 0) | (f.id & 3) << 2
                off = f.offset
            else:
                continue
            proto = 0
            recs += bytes([ctl]) + struct.pack('>HH', off, len(data) & 0x7ff)
            recs += bytes([proto | 4]) + data
            n += 1
            if n % 8 == 0:
                put('defrag', '%s-%d' % (case, n), bytes(recs))
                recs = bytearray()
        if recs:
            put('defrag', '%s-%d' % (case, n), bytes(recs))


def seed_reasm():
    for case in ('tiny-segments', 'overlap-different', 'http-clean', 'truncated'):
        path = glob.glob(os.path.join(PCAPS, case, '*.pcap'))[0]
        for k, (_, _, segs, client) in enumerate(flows(path)[:2]):
            isn = {}
            for src, seq, flags, _, _ in segs:
                isn.setdefault(src, seq)
            ops = bytearray()
            for src, seq, flags, ack, data in segs[:60]:
                d = 0 if src == client else 1
                data = data[:255]
                ops += bytes([d | (flags & 0x1f) << 3])
                ops += struct.pack('>H', (seq - isn[src]) & 0xffff)
                ops += bytes([len(data), len(data), 0]) + data
                peer = [s for s in isn if s != src]
                if flags & 0x10 and peer:
                    # An ACK from src acknowledges the other direction.
                    ops += bytes([2 | (1 - d) << 2])
                    ops += struct.pack('>H', (ack - isn[peer[0]]) & 0xffff) + bytes(3)
            for mode in (0, 1, 4):
                put('reasm', '%s-%d-mode%d' % (case, k, mode),
                    bytes([mode, 0, 0, 0]) + struct.pack('>I', isn[client]) + bytes(ops))


def seed_streams():
    http_cases = ['http-clean', 'http-pipelined', 'ews-ntlm-keepalive', 'eas-refusals',
                  'rpc-over-http', 'mapi-owa-autodiscover', 'bypass-ews-ntlm', 'bypass-mapi',
                  'hunt-unlisted-ews', 'demo']
    for case in http_cases:
        for k, (c, s, _, _) in enumerate(flows(os.path.join(PCAPS, case, case + '.pcap'))[:3]):
            if c or s:
                put('http', '%s-%d' % (case, k), split_input(0x80 * (k & 1) + k, c, s))
    tls_cases = sorted(os.path.basename(d) for d in glob.glob(os.path.join(PCAPS, 'tls-*'))
                       if glob.glob(os.path.join(d, '*.pcap')))
    for case in tls_cases:
        c, s, _, _ = flows(os.path.join(PCAPS, case, case + '.pcap'))[0]
        put('tls', case, split_input(len(case), c, s))
        if case in ('tls-13-aes128gcm', 'tls-12-ecdhe-rsa-aes128gcm'):
            # The bare hello bodies, for the direct hello parsers.
            put('tls', case + '-ch-body', split_input(0, c[9:5 + (c[3] << 8 | c[4])], b''))
            put('tls', case + '-sh-body', split_input(0, b'', s[9:5 + (s[3] << 8 | s[4])]))


def seed_messages():
    """Request targets, Authorization values, SOAP and WBXML bodies."""
    seen = set()
    for path in sorted(glob.glob(os.path.join(PCAPS, '*', '*.pcap'))):
        try:
            conns = flows(path)
        except Exception:
            continue
        case = path.split('/')[-2]
        for c, s, _, _ in conns:
            for head, body in http_messages(c):
                line = head.split(b'\r\n')[0].split(b' ')
                if len(line) == 3 and line[1] not in seen:
                    seen.add(line[1])
                    put('exchange', 'target-%d' % len(seen), line[1])
                for h in head.split(b'\r\n')[1:]:
                    k, _, v = h.partition(b':')
                    if k.lower() == b'authorization' and v.strip() not in seen:
                        v = v.strip()
                        seen.add(v)
                        put('identity', 'auth-%s-%d' % (case, len(seen)), v)
                        scheme, _, tok = v.partition(b' ')
                        if scheme.lower() in (b'ntlm', b'negotiate'):
                            put('identity', 'token-%s-%d' % (case, len(seen)), b64decode(tok))
                if body.startswith(b'<?xml') and b'Envelope' in body and body not in seen:
                    seen.add(body)
                    put('soap', '%s-%d' % (case, len(seen)), body)
                if body.startswith(b'username') or b'&username=' in body:
                    put('identity', 'owa-form-%s' % case, body)
                    put('exchange', 'owa-form-%s' % case, body)
            for head, body in http_messages(s):
                if body[:1] == b'\x03' and body not in seen:
                    seen.add(body)
                    put('wbxml', '%s-%d' % (case, len(seen)), body)
    bodies = os.path.join(PCAPS, 'lab', 'bodies')
    for f in sorted(os.listdir(bodies)):
        data = open(os.path.join(bodies, f), 'rb').read()
        if f.endswith('.wbxml'):
            put('wbxml', 'lab-' + f, data)
        elif f.endswith('.xml'):
            put('soap', 'lab-' + f, data)
        elif f.endswith('.txt'):
            put('identity', 'lab-' + f, data)
            put('exchange', 'lab-' + f, data)


def seed_keylog():
    for path in sorted(glob.glob(os.path.join(PCAPS, 'tls-*', 'keys*.txt'))):
        case = path.split('/')[-2]
        put('keylog', case + '-' + os.path.basename(path), open(path, 'rb').read())


if __name__ == '__main__':
    seed_decode()
    seed_defrag()
    seed_reasm()
    seed_streams()
    seed_messages()
    seed_keylog()
