#!/usr/bin/python3
"""exchange_emu.py - a tiny Exchange-like HTTP/1.1 server for recording test captures.

Python standard library only. It answers just enough like an Exchange front-end
for mdmwatch's golden captures, and it answers *deterministically*: fixed Date
and Server headers, fixed bodies, so that re-recording a case yields the same
byte streams (and the same SHA-256 values in expected.txt).

Routes (the path decides, after IIS-like normalisation: percent-decoding,
'\\' -> '/', repeated '/' collapsed, case-insensitive; the query never does,
except that ActiveSync reads its own query the way Exchange does):

  POST /Microsoft-Server-ActiveSync?Cmd=...   by DeviceId (plain or base64 query),
                                              like an Allow/Block/Quarantine list:
        BLK456  456          QRN457  457        THR503  503 + X-MS-ASThrottle
        WBX129  200, WBXML Sync with top-level Status 129
        MGD*    200, WBXML Sync Collection Status 1 (a managed, allowed device)
        PRV449  449 until the request carries X-MS-PolicyKey 3942919513;
                Cmd=Provision 200 (WBXML PolicyKey); then Sync 200, Status 1
        any other device: 403 Forbidden, empty body (ABQ/MDM refusal)
  OPTIONS /Microsoft-Server-ActiveSync        200, MS-ASProtocolVersions/-Commands
  POST /EWS/Exchange.asmx   (SOAP body)       200 with a SOAP response naming the
                                              operation found inside soap:Body;
                                              gzip-encoded if Accept-Encoding
                                              allows it. Authorization NTLM or
                                              Negotiate (SPNEGO-wrapped NTLM):
                                              NEGOTIATE -> 401 + CHALLENGE,
                                              AUTHENTICATE -> 200 (the connection
                                              is then authenticated); no
                                              Authorization -> 200 (anonymous lab)
  RPC_IN_DATA  /rpc/rpcproxy.dll?...          reads the (1 GB declared) body as it
                                              comes, never answers; closes after
                                              0.5 s of silence
  RPC_OUT_DATA /rpc/rpcproxy.dll?...          reads the 76-byte CONN/A1, answers
                                              200 with Content-Length 1073741824,
                                              sends CONN/A3 + CONN/C2, closes after
                                              0.5 s of silence
  POST /mapi/emsmdb/, /mapi/nspi/             200 MAPI over HTTP, echoing
                                              X-RequestType, X-ResponseCode 0
  POST /owa/auth.owa                          302 to /owa/ + fixed cadata cookie
  GET|HEAD /owa/                              200 HTML
  POST /autodiscover/autodiscover.xml         200 Autodiscover XML
  GET|HEAD /OAB/...                           200 with ETag; 304 on If-None-Match
  GET /ecp/                                   200 HTML
  POST /PowerShell/                           200 WS-Management SOAP
  GET  /lab/blob                              200 with BLOB_SIZE bytes of fixed
                                              text, so the response spans many
                                              TCP segments
  anything else                               404

Request bodies may be Content-Length or chunked; "Expect: 100-continue" is
answered with an interim 100 by http.server before the body is read.

Segmentation: loopback has a 64 KiB MTU and GSO, so one large send() shows up
in a capture as one huge "segment". To get wire-like captures the server writes
each response in --chunk byte pieces (default 1448, the usual Ethernet MSS with
TCP timestamps) with TCP_NODELAY and a short pause between pieces, so that every
piece leaves as its own TCP segment.

Usage:
  exchange_emu.py [--host 127.0.0.1] [--port 8080] [--chunk 1448]
                  [--ready-file PATH] [--quiet]
SIGTERM or SIGINT stops it cleanly.
"""

import argparse
import base64
import gzip
import http.server
import os
import re
import signal
import socket
import sys
import time
import urllib.parse

import labproto as lp

SERVER_NAME = "Microsoft-IIS/10.0"
# Fixed so that recordings are byte-for-byte reproducible (RFC 9110 5.6.7 format).
FIXED_DATE = "Sat, 28 Nov 2026 22:24:35 GMT"
BLOB_SIZE = 40000

EWS_NS_SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
EWS_NS_M = "http://schemas.microsoft.com/exchange/services/2006/messages"
EWS_NS_T = "http://schemas.microsoft.com/exchange/services/2006/types"


def make_blob(size):
    """Fixed, human-readable filler: numbered 64-byte lines."""
    lines = []
    n = 0
    total = 0
    while total < size:
        line = "lab blob line %05d abcdefghijklmnopqrstuvwxyz 0123456789 ....\n" % n
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines).encode("ascii")[:size]


BLOB = make_blob(BLOB_SIZE)


def soap_operation(body):
    """Name of the first element inside soap:Body (namespace prefix dropped), or None.

    A regular expression rather than an XML parser on purpose: the emulator must
    answer even malformed bodies that later test cases will send.
    """
    m = re.search(rb"<(?:[\w.-]+:)?Body\b[^>]*>\s*<(?:[\w.-]+:)?([\w.-]+)", body)
    return m.group(1).decode("ascii", "replace") if m else None


def soap_response(operation):
    op = operation or "Unknown"
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<s:Envelope xmlns:s="%s">\n'
        "  <s:Header>\n"
        '    <h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507"'
        ' MinorBuildNumber="6" Version="V2017_07_11"'
        ' xmlns:h="%s" />\n'
        "  </s:Header>\n"
        "  <s:Body>\n"
        '    <m:%sResponse xmlns:m="%s" xmlns:t="%s">\n'
        "      <m:ResponseMessages>\n"
        '        <m:%sResponseMessage ResponseClass="Success">\n'
        "          <m:ResponseCode>NoError</m:ResponseCode>\n"
        "        </m:%sResponseMessage>\n"
        "      </m:ResponseMessages>\n"
        "    </m:%sResponse>\n"
        "  </s:Body>\n"
        "</s:Envelope>\n"
        % (EWS_NS_SOAP, EWS_NS_T, op, EWS_NS_M, EWS_NS_T, op, op, op)
    ).encode("utf-8")


EAS_HEADERS = [("MS-Server-ActiveSync", "15.1")]
EAS_OPTIONS = [
    ("Allow", "OPTIONS,POST"),
    ("MS-Server-ActiveSync", "15.1"),
    ("MS-ASProtocolVersions", "2.0,2.1,2.5,12.0,12.1,14.0,14.1,16.0,16.1"),
    ("MS-ASProtocolCommands", "Sync,SendMail,SmartForward,SmartReply,GetAttachment,"
     "FolderSync,FolderCreate,FolderDelete,FolderUpdate,MoveItems,GetItemEstimate,"
     "MeetingResponse,Search,Settings,Ping,ItemOperations,Provision,ResolveRecipients,"
     "ValidateCert,Find"),
    ("Public", "OPTIONS,POST"),
]
WBXML = [("Content-Type", "application/vnd.ms-sync.wbxml")] + EAS_HEADERS
HTML = [("Content-Type", "text/html; charset=utf-8")]
XML = [("Content-Type", "text/xml; charset=utf-8")]
OWA_COOKIE = "cadata=1LabFixedCadataValue0123456789abcdef; path=/; HttpOnly"
OAB_ETAG = '"lab-oab-0001"'
RPC_DECLARED = 1073741824
IDLE = 0.5  # seconds of client silence after which an RPC channel is closed


def html_page(title):
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>"
            "<body><p>%s</p></body></html>\n" % (title, title)).encode("ascii")


AUTODISCOVER_XML = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">\n'
    '  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">\n'
    "    <User><DisplayName>Bob</DisplayName></User>\n"
    "    <Account><AccountType>email</AccountType><Action>settings</Action>\n"
    "      <Protocol><Type>mapiHttp</Type><Server>https://mail.contoso.com/mapi/emsmdb/</Server></Protocol>\n"
    "      <Protocol><Type>EXHTTP</Type><Server>mail.contoso.com</Server></Protocol>\n"
    "    </Account>\n  </Response>\n</Autodiscover>\n").encode("ascii")
OAB_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<OAB><OAL id="lab" dn="/" name="\\Global Address List">'
           b'<Full seq="1" ver="32" size="4096" uncompressedsize="8192" SHA="0">lab-full.lzx</Full>'
           b'</OAL></OAB>\n')
PS_XML = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
          b'<s:Body><rsp:ResourceCreated xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"/>'
          b'</s:Body></s:Envelope>\n')


def normalize_path(target):
    """The path as IIS sees it (enough for routing): query dropped,
    percent-decoded once, '\\' -> '/', '/' runs collapsed, lower case."""
    path = target.split("?", 1)[0]
    if "://" in path:  # absolute-form
        path = "/" + path.split("://", 1)[1].partition("/")[2]
    path = urllib.parse.unquote(path, encoding="latin-1").replace("\\", "/")
    return re.sub("/+", "/", path).lower()


def eas_query(target):
    """{'cmd','user','deviceid','devicetype'} of an ActiveSync request-target."""
    query = target.partition("?")[2]
    if not query:
        return {}
    if "=" in query:
        return {k.lower(): v for k, v in urllib.parse.parse_qsl(query)}
    return lp.eas_b64_parse(urllib.parse.unquote(query))


class ExchangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    disable_nagle_algorithm = True  # TCP_NODELAY: one write, one segment
    chunk = 1448
    quiet = False
    conn_user = None  # set per connection by an NTLM/Negotiate AUTHENTICATE

    # -- routing ---------------------------------------------------------

    def _path(self):
        return normalize_path(self.path)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailer fields
                return body
            body += self.rfile.read(size)
            self.rfile.readline()  # CRLF after the chunk

    def do_POST(self):
        path = self._path()
        body = self._read_body()
        if path == "/microsoft-server-activesync":
            self._eas()
        elif path == "/ews/exchange.asmx":
            self._ews(body)
        elif path.startswith(("/mapi/emsmdb", "/mapi/nspi")):
            self._mapi()
        elif path == "/owa/auth.owa":
            self._reply(302, "Found", b"", [("Location", "https://mail.contoso.com/owa/"),
                                            ("Set-Cookie", OWA_COOKIE)])
        elif path == "/autodiscover/autodiscover.xml":
            self._reply(200, "OK", AUTODISCOVER_XML, XML)
        elif path.startswith("/powershell"):
            self._reply(200, "OK", PS_XML, [("Content-Type", "application/soap+xml;charset=UTF-8")])
        else:
            self._not_found()

    def do_GET(self, head=False):
        path = self._path()
        if path == "/lab/blob":
            self._reply(200, "OK", BLOB, [("Content-Type", "text/plain")], head=head)
        elif path in ("/owa", "/owa/"):
            self._reply(200, "OK", html_page("Outlook"), HTML, head=head)
        elif path.startswith("/oab/"):
            if self.headers.get("If-None-Match") == OAB_ETAG:
                self._reply(304, "Not Modified", b"", [("ETag", OAB_ETAG)], length=False)
            else:
                self._reply(200, "OK", OAB_XML, XML + [("ETag", OAB_ETAG)], head=head)
        elif path in ("/ecp", "/ecp/"):
            self._reply(200, "OK", html_page("Exchange admin center"), HTML, head=head)
        else:
            self._not_found(head=head)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_OPTIONS(self):
        if self._path() == "/microsoft-server-activesync":
            self._reply(200, "OK", b"", EAS_OPTIONS)
        else:
            self._not_found()

    def _not_found(self, head=False):
        self._reply(404, "Not Found", b"Not Found\n", [("Content-Type", "text/plain")],
                    head=head)

    # -- ActiveSync ------------------------------------------------------

    def _eas(self):
        q = eas_query(self.path)
        dev, cmd = q.get("deviceid", ""), q.get("cmd", "")
        if dev == "PRV449":
            if cmd == "Provision":
                self._reply(200, "OK", lp.wbxml_provision_response(), WBXML)
            elif self.headers.get("X-MS-PolicyKey") == lp.POLICY_KEY:
                self._reply(200, "OK", lp.wbxml_sync_ok(), WBXML)
            else:
                self._reply(449, "Retry after sending a PROVISION command", b"", EAS_HEADERS)
        elif dev == "BLK456":
            self._reply(456, "Blocked", b"", EAS_HEADERS)
        elif dev == "QRN457":
            self._reply(457, "Quarantined", b"", EAS_HEADERS)
        elif dev == "THR503":
            self._reply(503, "Service Unavailable", b"",
                        [("X-MS-ASThrottle", "CommandFrequency"), ("Retry-After", "60")]
                        + EAS_HEADERS)
        elif dev == "WBX129":
            self._reply(200, "OK", lp.wbxml_sync_status(129), WBXML)
        elif dev.startswith("MGD"):
            # a managed (allowed, already provisioned) device: Sync 200, Status 1
            self._reply(200, "OK", lp.wbxml_sync_ok(), WBXML)
        else:
            self._reply(403, "Forbidden", b"", EAS_HEADERS)

    # -- EWS, with connection-bound NTLM and Negotiate -------------------

    def _ews(self, body):
        scheme, _, token = (self.headers.get("Authorization") or "").strip().partition(" ")
        scheme = scheme.lower()
        extra = []
        if scheme in ("ntlm", "negotiate"):
            blob = base64.b64decode(token.strip())
            msg = blob if scheme == "ntlm" else lp.find_ntlmssp(blob)
            mtype = lp.ntlm_type(msg)
            if mtype == 1:
                # Negotiate clients in this lab compute NTLMv2 (fixed nonce and
                # clock), so they get the AV pairs; curl --ntlm gets none (NTLMv1,
                # the only curl answer without a random nonce).
                chal = lp.ntlm_challenge(target_info=(scheme == "negotiate"))
                if scheme == "ntlm":
                    www = "NTLM " + base64.b64encode(chal).decode()
                else:
                    www = "Negotiate " + base64.b64encode(
                        lp.spnego_resp(state=1, mech=True, token=chal)).decode()
                return self._reply(401, "Unauthorized", html_page("401 - Unauthorized"),
                                   HTML + [("WWW-Authenticate", www)])
            if mtype == 3:
                self.conn_user = lp.ntlm_user(msg)
                self.log_message("connection authenticated as %s", self.conn_user)
                if scheme == "negotiate":
                    extra = [("WWW-Authenticate", "Negotiate "
                              + base64.b64encode(lp.spnego_resp(state=0)).decode())]
        data = soap_response(soap_operation(body))
        headers = [("Content-Type", "text/xml; charset=utf-8")] + extra
        if "gzip" in (self.headers.get("Accept-Encoding") or "").lower():
            data = gzip.compress(data, compresslevel=9, mtime=0)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self._reply(200, "OK", data, headers)

    # -- MAPI over HTTP --------------------------------------------------

    def _mapi(self):
        rtype = self.headers.get("X-RequestType") or "Unknown"
        body = ("PROCESSING\r\nDONE\r\nX-ElapsedTime: 2\r\nX-StartTime: %s\r\n\r\n"
                % FIXED_DATE).encode("ascii") + b"\x00\x00\x00\x00\x00\x00\x00\x00"
        headers = [("Content-Type", "application/mapi-http"),
                   ("X-RequestType", rtype),
                   ("X-ResponseCode", "0"),
                   ("X-RequestId", self.headers.get("X-RequestId") or ""),
                   ("X-ServerApplication", "Exchange/15.01.2507.006"),
                   ("X-PendingPeriod", "15000")]
        if rtype in ("Connect", "Bind"):
            headers.append(("Set-Cookie", "MapiContext=LabMapiContext%s; path=/mapi/; HttpOnly"
                            % rtype))
        self._reply(200, "OK", body, headers)

    # -- RPC over HTTP (Outlook Anywhere) --------------------------------

    def do_RPC_IN_DATA(self):
        if not self._path().startswith("/rpc/rpcproxy.dll"):
            return self._not_found()
        self.log_request("-", "-")
        n = self._drain()
        self.log_message("RPC_IN_DATA: %d body bytes of %s, closing", n,
                         self.headers.get("Content-Length"))
        self._close_after_idle()

    def do_RPC_OUT_DATA(self):
        if not self._path().startswith("/rpc/rpcproxy.dll"):
            return self._not_found()
        self._read_body()  # CONN/A1, Content-Length 76
        data = lp.rts_conn_a3() + lp.rts_conn_c2()
        self._reply(200, "Success", data,
                    [("Content-Type", "application/rpc"), ("Cache-Control", "private")],
                    length=RPC_DECLARED)
        self._drain()
        self._close_after_idle()

    def _drain(self):
        """Read whatever the client sends until IDLE seconds of silence or EOF."""
        self.connection.settimeout(IDLE)
        n = 0
        try:
            while True:
                got = self.rfile.read1(65536)
                if not got:
                    break
                n += len(got)
        except (TimeoutError, socket.timeout):
            pass
        return n

    def _close_after_idle(self):
        """The server closes first (FIN), so TIME_WAIT stays on its side."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    # -- output ----------------------------------------------------------

    def _reply(self, code, reason, body, headers, head=False, length=True):
        """Write status line, headers and body as one byte string, in chunks.

        head: HEAD, headers only. length: True declares len(body); an int
        declares that many bytes (RPC_OUT_DATA); False sends no Content-Length
        (304)."""
        lines = ["HTTP/1.1 %d %s" % (code, reason),
                 "Server: " + SERVER_NAME,
                 "Date: " + FIXED_DATE]
        lines += ["%s: %s" % kv for kv in headers]
        if length is True:
            lines.append("Content-Length: %d" % len(body))
        elif length is not False:
            lines.append("Content-Length: %d" % length)
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (b"" if head else body)
        self.log_request(code, len(body))
        pieces = [data[off:off + self.chunk] for off in range(0, len(data), self.chunk)]
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(0.002)  # let the previous piece leave on its own
            if self.close_connection and i == len(pieces) - 1:
                self._write_last_with_fin(piece)
            else:
                self.wfile.write(piece)

    def _write_last_with_fin(self, piece):
        """Send the last piece with FIN on the same segment.

        Corked, the piece waits in the send queue; shutdown(SHUT_WR) puts the
        FIN on that queued segment and pushes it. So the server always closes
        first: TIME_WAIT stays on the server side and the client's pinned
        port can be used again at once (make-all.sh relies on that).
        """
        sock = self.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        self.wfile.write(piece)
        sock.shutdown(socket.SHUT_WR)

    def log_message(self, fmt, *args):
        if not self.quiet:
            sys.stderr.write("exchange_emu %s:%s %s\n"
                             % (self.server.server_address[0],
                                self.server.server_address[1], fmt % args))


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host, port, handler):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), handler)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1",
                    help="loopback address to bind (127.0.0.1 or ::1)")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--chunk", type=int, default=1448,
                    help="bytes per write (one TCP segment each)")
    ap.add_argument("--ready-file", help="created once the socket listens")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the lab only listens on loopback")

    ExchangeHandler.chunk = args.chunk
    ExchangeHandler.quiet = args.quiet
    server = Server(args.host, args.port, ExchangeHandler)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
