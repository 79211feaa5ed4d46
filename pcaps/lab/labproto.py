#!/usr/bin/python3
"""labproto.py - the protocol bytes the lab needs, built from the specifications.

Python standard library only; imported by exchange_emu.py (the server) and
clients.py (the raw-socket clients). Everything here is deterministic: fixed
challenges, fixed timestamps, fixed cookies, so that re-recording a case gives
the same byte streams.

- WBXML (MS-ASWBXML): an ActiveSync Sync response with a top-level Status, a
  Sync response whose only Status is inside Collection, a Provision request
  and response.
- The MS-ASHTTP 2.2.1.1.1.1 base64-encoded ActiveSync query: build and parse.
- NTLM (MS-NLMP 2.2.1): NEGOTIATE, CHALLENGE and AUTHENTICATE messages, the
  NTLMv2 response (with a small pure-Python MD4: OpenSSL 3 has none by default).
- SPNEGO (RFC 4178) NegTokenInit / NegTokenResp around NTLM, DER by hand.
- RPC over HTTP (MS-RPCH 2.2.4) RTS PDUs: CONN/A1, CONN/A3, CONN/B1, CONN/C2,
  and a DCE/RPC bind and request (C706 12.6).
- An unsigned JWT (RFC 7519 section 6, "alg":"none").
"""

import base64
import hashlib
import hmac
import json
import struct

# -- WBXML (MS-ASWBXML 2.1.2) ----------------------------------------------------

WBXML_HEADER = bytes([0x03, 0x01, 0x6A, 0x00])  # v1.3, unknown public id, UTF-8, no string table
SWITCH_PAGE, END, STR_I = 0x00, 0x01, 0x03
CONTENT = 0x40  # tag has content

# Code page 0, AirSync
AS_SYNC, AS_SYNCKEY, AS_STATUS, AS_COLLECTION, AS_COLLECTIONID, AS_COLLECTIONS = (
    0x05, 0x0B, 0x0E, 0x0F, 0x12, 0x1C)
# Code page 14, Provision
PV_PROVISION, PV_POLICIES, PV_POLICY, PV_POLICYTYPE, PV_POLICYKEY, PV_STATUS = (
    0x05, 0x06, 0x07, 0x08, 0x09, 0x0B)


def _str(tag, text):
    return bytes([tag | CONTENT, STR_I]) + text.encode("utf-8") + bytes([0, END])


def wbxml_sync_status(code):
    """<Sync><Status>code</Status></Sync>: a top-level Sync Status, e.g. 129
    (MS-ASCMD common status DeviceIsBlockedForThisUser)."""
    return WBXML_HEADER + bytes([AS_SYNC | CONTENT]) + _str(AS_STATUS, str(code)) + bytes([END])


def wbxml_sync_ok():
    """<Sync><Collections><Collection><SyncKey>2</SyncKey><CollectionId>1</CollectionId>
    <Status>1</Status></Collection></Collections></Sync>: success; the only Status is
    the Collection's, not a top-level one."""
    return (WBXML_HEADER + bytes([AS_SYNC | CONTENT, AS_COLLECTIONS | CONTENT,
                                  AS_COLLECTION | CONTENT])
            + _str(AS_SYNCKEY, "2") + _str(AS_COLLECTIONID, "1") + _str(AS_STATUS, "1")
            + bytes([END, END, END]))


POLICY_TYPE = "MS-EAS-Provisioning-WBXML"
POLICY_KEY = "3942919513"


def wbxml_provision_request():
    """<Provision><Policies><Policy><PolicyType>MS-EAS-Provisioning-WBXML</PolicyType>
    </Policy></Policies></Provision> on code page 14."""
    return (WBXML_HEADER + bytes([SWITCH_PAGE, 14, PV_PROVISION | CONTENT,
                                  PV_POLICIES | CONTENT, PV_POLICY | CONTENT])
            + _str(PV_POLICYTYPE, POLICY_TYPE) + bytes([END, END, END]))


def wbxml_provision_response():
    """Provision response: Status 1, one policy with Status 1 and a PolicyKey."""
    return (WBXML_HEADER + bytes([SWITCH_PAGE, 14, PV_PROVISION | CONTENT])
            + _str(PV_STATUS, "1")
            + bytes([PV_POLICIES | CONTENT, PV_POLICY | CONTENT])
            + _str(PV_POLICYTYPE, POLICY_TYPE) + _str(PV_STATUS, "1")
            + _str(PV_POLICYKEY, POLICY_KEY)
            + bytes([END, END, END]))


# -- base64 ActiveSync query (MS-ASHTTP 2.2.1.1.1.1) -----------------------------

EAS_COMMANDS = {0: "Sync", 1: "SendMail", 2: "SmartForward", 3: "SmartReply",
                4: "GetAttachment", 9: "FolderSync", 10: "FolderCreate",
                11: "FolderDelete", 12: "FolderUpdate", 13: "MoveItems",
                14: "GetItemEstimate", 15: "MeetingResponse", 16: "Search",
                17: "Settings", 18: "Ping", 19: "ItemOperations", 20: "Provision",
                21: "ResolveRecipients", 22: "ValidateCert"}
EAS_PARAM_USER = 8  # Command parameter tag "User"


def eas_b64_query(version, cmd_code, locale, device_id, policy_key, device_type, params=()):
    """The byte sequence of MS-ASHTTP 2.2.1.1.1.1, base64-encoded (with padding)."""
    b = struct.pack("<BBH", version, cmd_code, locale)
    b += bytes([len(device_id)]) + device_id
    if policy_key is None:
        b += b"\x00"
    else:
        b += b"\x04" + struct.pack("<I", policy_key)
    b += bytes([len(device_type)]) + device_type
    for tag, value in params:
        b += bytes([tag, len(value)]) + value
    return base64.b64encode(b).decode("ascii")


def eas_b64_parse(text):
    """{'cmd','user','deviceid','devicetype'} from a base64 query, or {} if it is not one."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        _ver, cmd, _loc = struct.unpack_from("<BBH", raw, 0)
        off = 4
        n = raw[off]; dev = raw[off + 1:off + 1 + n]; off += 1 + n
        n = raw[off]; off += 1 + n
        n = raw[off]; dtype = raw[off + 1:off + 1 + n]; off += 1 + n
        out = {"cmd": EAS_COMMANDS.get(cmd, str(cmd)),
               "deviceid": dev.decode("latin-1"), "devicetype": dtype.decode("latin-1")}
        while off + 2 <= len(raw):
            tag, n = raw[off], raw[off + 1]
            if tag == EAS_PARAM_USER:
                out["user"] = raw[off + 2:off + 2 + n].decode("latin-1")
            off += 2 + n
        return out
    except (ValueError, IndexError, struct.error):
        return {}


# -- MD4 (RFC 1320), for NTOWFv2 -------------------------------------------------

def md4(data):
    def f(x, y, z): return (x & y) | (~x & z)
    def g(x, y, z): return (x & y) | (x & z) | (y & z)
    def h(x, y, z): return x ^ y ^ z
    def rol(v, s): return ((v << s) | (v >> (32 - s))) & 0xFFFFFFFF
    msg = bytearray(data) + b"\x80"
    while len(msg) % 64 != 56:
        msg += b"\x00"
    msg += struct.pack("<Q", (len(data) * 8) & 0xFFFFFFFFFFFFFFFF)
    a, b, c, d = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476
    for i in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[i:i + 64])
        aa, bb, cc, dd = a, b, c, d
        for k, s in zip(range(16), [3, 7, 11, 19] * 4):
            v = (a + f(b, c, d) + x[k]) & 0xFFFFFFFF
            a, b, c, d = d, rol(v, s), b, c
        for k, s in zip([0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15],
                        [3, 5, 9, 13] * 4):
            v = (a + g(b, c, d) + x[k] + 0x5A827999) & 0xFFFFFFFF
            a, b, c, d = d, rol(v, s), b, c
        for k, s in zip([0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15],
                        [3, 9, 11, 15] * 4):
            v = (a + h(b, c, d) + x[k] + 0x6ED9EBA1) & 0xFFFFFFFF
            a, b, c, d = d, rol(v, s), b, c
        a, b, c, d = [(p + q) & 0xFFFFFFFF for p, q in zip((a, b, c, d), (aa, bb, cc, dd))]
    return struct.pack("<4I", a, b, c, d)


# -- NTLM (MS-NLMP 2.2.1) --------------------------------------------------------

NTLMSSP = b"NTLMSSP\x00"
NEGOTIATE_UNICODE = 0x00000001
NEGOTIATE_OEM = 0x00000002
REQUEST_TARGET = 0x00000004
NEGOTIATE_NTLM = 0x00000200
NEGOTIATE_ALWAYS_SIGN = 0x00008000
TARGET_TYPE_DOMAIN = 0x00010000
NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000
NEGOTIATE_TARGET_INFO = 0x00800000
NEGOTIATE_VERSION = 0x02000000
NEGOTIATE_128 = 0x20000000
NEGOTIATE_56 = 0x80000000

VERSION = struct.pack("<BBH3xB", 10, 0, 17763, 0x0F)  # Windows 10.0.17763, NTLMSSP_REVISION_W2K3
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
CLIENT_CHALLENGE = bytes.fromhex("a1b2c3d4e5f60718")
# 2026-11-28T22:24:35Z as a FILETIME (100 ns since 1601-01-01), the emulator's fixed Date.
FILETIME = (1795904675 + 11644473600) * 10000000


def _u16(s):
    return s.encode("utf-16-le")


def ntlm_negotiate():
    """NEGOTIATE_MESSAGE (2.2.1.1), no domain or workstation supplied."""
    flags = (NEGOTIATE_UNICODE | NEGOTIATE_OEM | REQUEST_TARGET | NEGOTIATE_NTLM
             | NEGOTIATE_ALWAYS_SIGN | NEGOTIATE_EXTENDED_SESSIONSECURITY
             | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_56)
    return NTLMSSP + struct.pack("<II", 1, flags) + b"\x00" * 16 + VERSION


def ntlm_challenge(target_info=False):
    """CHALLENGE_MESSAGE (2.2.1.2): TargetName "CONTOSO", fixed ServerChallenge.

    Without target_info the flags ask for plain NTLM (no TargetInfo, no extended
    session security): curl then answers with an NTLMv1 response, which has no
    random client nonce and no clock, so its AUTHENTICATE message - and the
    recording - is the same every time. With target_info, the AV pairs of a
    domain-joined server are included (NTLMv2 clients need them)."""
    target = _u16("CONTOSO")
    flags = (NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | NEGOTIATE_ALWAYS_SIGN
             | TARGET_TYPE_DOMAIN | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_56)
    info = b""
    if target_info:
        flags |= NEGOTIATE_TARGET_INFO | NEGOTIATE_EXTENDED_SESSIONSECURITY
        info = ntlm_av_pairs()
    off = 56
    return (NTLMSSP + struct.pack("<I", 2)
            + struct.pack("<HHI", len(target), len(target), off)
            + struct.pack("<I", flags) + SERVER_CHALLENGE + b"\x00" * 8
            + struct.pack("<HHI", len(info), len(info), off + len(target))
            + VERSION + target + info)


def ntlm_av_pairs():
    def av(i, v):
        return struct.pack("<HH", i, len(v)) + v
    return (av(2, _u16("CONTOSO")) + av(1, _u16("EXCH01")) + av(4, _u16("contoso.com"))
            + av(3, _u16("exch01.contoso.com")) + av(5, _u16("contoso.com"))
            + av(7, struct.pack("<Q", FILETIME)) + av(0, b""))


def ntlm_challenge_parts(msg):
    """(server_challenge, target_info) of a CHALLENGE_MESSAGE."""
    tlen, _, toff = struct.unpack_from("<HHI", msg, 40)
    return msg[24:32], msg[toff:toff + tlen]


def ntlm_authenticate(domain, user, workstation, password, challenge_msg):
    """AUTHENTICATE_MESSAGE (2.2.1.3) with an NTLMv2 response (3.3.2) computed with
    the fixed CLIENT_CHALLENGE and FILETIME; LmChallengeResponse is Z(24) as
    clients send when the server gave a timestamp."""
    server_challenge, info = ntlm_challenge_parts(challenge_msg)
    nt_hash = md4(_u16(password))
    ntowf2 = hmac.new(nt_hash, _u16(user.upper() + domain), hashlib.md5).digest()
    blob = (b"\x01\x01" + b"\x00" * 6 + struct.pack("<Q", FILETIME) + CLIENT_CHALLENGE
            + b"\x00" * 4 + info + b"\x00" * 4)
    proof = hmac.new(ntowf2, server_challenge + blob, hashlib.md5).digest()
    nt = proof + blob
    lm = b"\x00" * 24
    fields = [lm, nt, _u16(domain), _u16(user), _u16(workstation), b""]
    flags = (NEGOTIATE_UNICODE | REQUEST_TARGET | NEGOTIATE_NTLM | NEGOTIATE_ALWAYS_SIGN
             | NEGOTIATE_EXTENDED_SESSIONSECURITY | NEGOTIATE_TARGET_INFO
             | NEGOTIATE_VERSION | NEGOTIATE_128 | NEGOTIATE_56)
    off = 72  # 64-byte header + Version; no MIC
    hdr, payload = b"", b""
    for v in fields:
        hdr += struct.pack("<HHI", len(v), len(v), off + len(payload))
        payload += v
    return NTLMSSP + struct.pack("<I", 3) + hdr + struct.pack("<I", flags) + VERSION + payload


def ntlm_type(msg):
    if len(msg) >= 12 and msg[:8] == NTLMSSP:
        return struct.unpack_from("<I", msg, 8)[0]
    return None


def ntlm_user(msg):
    """DOMAIN\\user of an AUTHENTICATE_MESSAGE (for the emulator's log)."""
    def field(at):
        n, _, o = struct.unpack_from("<HHI", msg, at)
        return msg[o:o + n].decode("utf-16-le", "replace")
    return field(28) + "\\" + field(36)


# -- SPNEGO (RFC 4178), DER by hand -----------------------------------------------

OID_SPNEGO = bytes.fromhex("2b0601050502")
OID_NTLMSSP = bytes.fromhex("2b06010401823702020a")


def der(tag, content):
    n = len(content)
    if n < 0x80:
        ln = bytes([n])
    elif n < 0x100:
        ln = bytes([0x81, n])
    else:
        ln = bytes([0x82]) + struct.pack(">H", n)
    return bytes([tag]) + ln + content


def spnego_init(mech_token):
    """GSS InitialContextToken: SPNEGO OID, NegTokenInit{mechTypes [NTLMSSP], mechToken}."""
    mech_types = der(0xA0, der(0x30, der(0x06, OID_NTLMSSP)))
    tok = der(0xA2, der(0x04, mech_token))
    return der(0x60, der(0x06, OID_SPNEGO) + der(0xA0, der(0x30, mech_types + tok)))


def spnego_resp(state=None, mech=False, token=None):
    """NegTokenResp: negState (0 accept-completed, 1 accept-incomplete),
    supportedMech, responseToken - each optional."""
    c = b""
    if state is not None:
        c += der(0xA0, der(0x0A, bytes([state])))
    if mech:
        c += der(0xA1, der(0x06, OID_NTLMSSP))
    if token is not None:
        c += der(0xA2, der(0x04, token))
    return der(0xA1, der(0x30, c))


def find_ntlmssp(blob):
    """The NTLM message inside a SPNEGO token (or the blob itself)."""
    i = blob.find(NTLMSSP)
    return blob[i:] if i >= 0 else b""


# -- RPC over HTTP (MS-RPCH 2.2.3.5 / 2.2.4) -------------------------------------

RTS_RECEIVE_WINDOW, RTS_CONN_TIMEOUT, RTS_COOKIE, RTS_CHANNEL_LIFETIME = 0, 2, 3, 4
RTS_CLIENT_KEEPALIVE, RTS_VERSION, RTS_ASSOC_GROUP = 5, 6, 12

VC_COOKIE = bytes.fromhex("8b3c6a2e51f04a7f9d2e6b1c0a4f7e21")
IN_COOKIE = bytes.fromhex("1f2e3d4c5b6a79880f1e2d3c4b5a6978")
OUT_COOKIE = bytes.fromhex("a0b1c2d3e4f5061728394a5b6c7d8e9f")
ASSOC_GROUP = bytes.fromhex("5e4d3c2b1a0998877665544332211000")


def _rts(commands, flags=0):
    body = struct.pack("<HH", flags, len(commands))
    for ctype, value in commands:
        body += struct.pack("<I", ctype) + value
    return _pdu(20, body)


def _pdu(ptype, body, call_id=0, auth_len=0):
    # C706 12.6.3.1 common header: version 5.0, PFC_FIRST_FRAG|PFC_LAST_FRAG, little-endian
    return struct.pack("<BBBB4sHHI", 5, 0, ptype, 0x03, b"\x10\x00\x00\x00",
                       16 + len(body), auth_len, call_id) + body


def _u32(v):
    return struct.pack("<I", v)


def rts_conn_a1():  # 76 bytes, the OUT channel request body
    return _rts([(RTS_VERSION, _u32(1)), (RTS_COOKIE, VC_COOKIE), (RTS_COOKIE, OUT_COOKIE),
                 (RTS_RECEIVE_WINDOW, _u32(0x10000))])


def rts_conn_b1():  # 104 bytes, the first PDU on the IN channel
    return _rts([(RTS_VERSION, _u32(1)), (RTS_COOKIE, VC_COOKIE), (RTS_COOKIE, IN_COOKIE),
                 (RTS_CHANNEL_LIFETIME, _u32(0x40000000)),
                 (RTS_CLIENT_KEEPALIVE, _u32(300000)), (RTS_ASSOC_GROUP, ASSOC_GROUP)])


def rts_conn_a3():  # 28 bytes
    return _rts([(RTS_CONN_TIMEOUT, _u32(120000))])


def rts_conn_c2():  # 44 bytes
    return _rts([(RTS_VERSION, _u32(1)), (RTS_RECEIVE_WINDOW, _u32(0x10000)),
                 (RTS_CONN_TIMEOUT, _u32(120000))])


# EMSMDB interface a4f1db00-ca47-1067-b31f-00dd010662da v0.81, NDR 2.0 transfer syntax
EMSMDB_UUID = bytes.fromhex("00dbf1a447ca6710b31f00dd010662da")
NDR_UUID = bytes.fromhex("045d888aeb1cc9119fe808002b104860")


def dce_bind():
    ctx = (struct.pack("<HBB", 0, 1, 0) + EMSMDB_UUID + struct.pack("<HH", 0, 81)
           + NDR_UUID + struct.pack("<I", 2))
    body = struct.pack("<HHIBBH", 0xFFF0, 0xFFF0, 0, 1, 0, 0) + ctx
    return _pdu(11, body, call_id=1)


def dce_request(call_id, opnum, stub):
    body = struct.pack("<IHH", len(stub), 0, opnum) + stub
    return _pdu(0, body, call_id=call_id)


def filler(n, seed):
    """n fixed pseudo-random bytes (SHA-256 in counter mode)."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(b"%s:%d" % (seed, i)).digest()
        i += 1
    return out[:n]


# -- JWT (RFC 7519), unsigned -----------------------------------------------------

def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def jwt_unsigned(claims):
    head = {"alg": "none", "typ": "JWT"}
    return (_b64url(json.dumps(head, separators=(",", ":")).encode()) + "."
            + _b64url(json.dumps(claims, separators=(",", ":")).encode()) + ".")
