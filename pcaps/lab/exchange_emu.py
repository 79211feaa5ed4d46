#!/usr/bin/python3
"""exchange_emu.py - a tiny Exchange-like HTTP/1.1 server for recording test captures.

Python standard library only. It answers just enough like an Exchange front-end
for mdmwatch's golden captures, and it answers *deterministically*: fixed Date
and Server headers, fixed bodies, so that re-recording a case yields the same
byte streams (and the same SHA-256 values in expected.txt).

Routes (the path decides; the query string never does):

  POST /Microsoft-Server-ActiveSync?Cmd=...   403 Forbidden, empty body, like an
                                              Exchange ABQ/MDM refusal
  POST /EWS/Exchange.asmx   (SOAP body)       200 with a SOAP response naming the
                                              operation found inside soap:Body
  GET  /lab/blob                              200 with BLOB_SIZE bytes of fixed
                                              text, so the response spans many
                                              TCP segments
  anything else                               404

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
import http.server
import os
import re
import signal
import socket
import sys
import time

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


class ExchangeHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client says close
    disable_nagle_algorithm = True  # TCP_NODELAY: one write, one segment
    chunk = 1448
    quiet = False

    # -- routing ---------------------------------------------------------

    def _path(self):
        return self.path.split("?", 1)[0].lower()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def do_POST(self):
        body = self._read_body()
        path = self._path()
        if path == "/microsoft-server-activesync":
            self._reply(403, "Forbidden", b"", [("MS-Server-ActiveSync", "15.1")])
        elif path == "/ews/exchange.asmx":
            self._reply(200, "OK", soap_response(soap_operation(body)),
                        [("Content-Type", "text/xml; charset=utf-8")])
        else:
            self._not_found()

    def do_GET(self):
        if self._path() == "/lab/blob":
            self._reply(200, "OK", BLOB, [("Content-Type", "text/plain")])
        else:
            self._not_found()

    def _not_found(self):
        self._reply(404, "Not Found", b"Not Found\n", [("Content-Type", "text/plain")])

    # -- output ----------------------------------------------------------

    def _reply(self, code, reason, body, headers):
        """Write status line, headers and body as one byte string, in chunks."""
        lines = ["HTTP/1.1 %d %s" % (code, reason),
                 "Server: " + SERVER_NAME,
                 "Date: " + FIXED_DATE]
        lines += ["%s: %s" % kv for kv in headers]
        lines.append("Content-Length: %d" % len(body))
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
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
