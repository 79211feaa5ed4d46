#!/usr/bin/python3
"""tls_emu.py - exchange_emu.py's Exchange-like handler served over TLS (Python ssl).

Imports the handler from ../exchange_emu.py unchanged and puts Python's ssl
module (the system OpenSSL 3) under it. The server is deliberately permissive
so that the *client* decides what is negotiated: TLS 1.0 to 1.3, every cipher
at security level 0 (TLS 1.0/1.1 CBC suites, RSA key exchange), all five TLS 1.3
cipher suites (CCM included, which OpenSSL does not enable by default), and the
client's cipher preference wins (OP_CIPHER_SERVER_PREFERENCE cleared).

TLS 1.3 cipher suites have no Python API; they are set through an OpenSSL
configuration file (system_default section) named by OPENSSL_CONF before the
ssl module is imported.

With "Connection: close" the handler's last write goes out with a close_notify
alert and the TCP FIN right behind it (TCP_CORK), so the server closes first,
as exchange_emu.py does in clear text.

Usage:
  tls_emu.py --cert CERT --key KEY [--host 127.0.0.1] [--port 443]
             [--alpn h2,http/1.1 [--h2-requests N]] [--no-etm] [--no-ticket]
             [--ready-file PATH] [--quiet]
Loopback only. SIGTERM or SIGINT stops it.
"""

import argparse
import os
import signal
import socket
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # pcaps/lab: exchange_emu.py
sys.dont_write_bytecode = True  # no __pycache__ in pcaps/lab

OPENSSL_CONF = """\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
Ciphersuites = TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256
"""
_conf = tempfile.NamedTemporaryFile("w", prefix="tls_emu-", suffix=".cnf", delete=False)
_conf.write(OPENSSL_CONF)
_conf.close()
os.environ["OPENSSL_CONF"] = _conf.name

import ssl  # noqa: E402  (after OPENSSL_CONF on purpose)
import warnings  # noqa: E402

import exchange_emu  # noqa: E402

warnings.filterwarnings("ignore", category=DeprecationWarning)  # ssl.TLSVersion.TLSv1

OP_NO_ENCRYPT_THEN_MAC = 1 << 19  # SSL_OP_NO_ENCRYPT_THEN_MAC (OpenSSL 3); no Python name


class TLSExchangeHandler(exchange_emu.ExchangeHandler):
    def _write_last_with_fin(self, piece):
        """Last piece, close_notify and FIN in one segment: the server closes first."""
        sock = self.connection
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        self.wfile.write(piece)
        sock.setblocking(False)
        try:
            sock.unwrap()  # sends close_notify; does not wait for the peer's
        except (ssl.SSLWantReadError, ssl.SSLError, OSError):
            pass
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.close_connection = True

    def handle(self):
        try:
            super().handle()
        except (ssl.SSLError, ConnectionError) as e:
            if not self.quiet:
                sys.stderr.write("tls_emu: %s\n" % e)


class H2Handler(TLSExchangeHandler):
    """When ALPN chose h2: a minimal HTTP/2 answer (no HPACK decoding).

    Sends SETTINGS, acknowledges the client's, and answers every stream the
    client ends with HEADERS(:status 403, no body), then GOAWAY and close. Enough
    for a real client (curl) to complete HTTP/2 requests.
    """

    def handle(self):
        try:
            self.connection.do_handshake()
            if self.connection.selected_alpn_protocol() != "h2":
                return super().handle()
            self._h2()
        except (ssl.SSLError, ConnectionError) as e:
            if not self.quiet:
                sys.stderr.write("tls_emu h2: %s\n" % e)
        self.close_connection = True

    @staticmethod
    def _frame(ftype, flags, stream, payload=b""):
        return (len(payload).to_bytes(3, "big") + bytes([ftype, flags])
                + stream.to_bytes(4, "big") + payload)

    def _h2(self):
        sock = self.connection
        preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
        buf = b""
        while len(buf) < len(preface):
            d = sock.recv(65536)
            if not d:
                return
            buf += d
        if not buf.startswith(preface):
            return
        buf = buf[len(preface):]
        sock.sendall(self._frame(4, 0, 0))  # our SETTINGS (empty: defaults)
        answered = 0
        while True:
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                n = int.from_bytes(buf[:3], "big")
                ftype, flags = buf[3], buf[4]
                stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                buf = buf[9 + n:]
                if ftype == 4 and not flags & 1:
                    sock.sendall(self._frame(4, 1, 0))  # SETTINGS ACK
                elif ftype in (0, 1) and flags & 1 and stream:  # END_STREAM
                    # HPACK: literal without indexing, name index 8 (:status) "403";
                    # server: Microsoft-IIS/10.0 (static index 54).
                    block = (b"\x08\x03403" + b"\x0f\x27" + bytes([len(exchange_emu.SERVER_NAME)])
                             + exchange_emu.SERVER_NAME.encode())
                    sock.sendall(self._frame(1, 0x5, stream, block))  # END_STREAM|END_HEADERS
                    answered = stream
                elif ftype == 7:  # GOAWAY
                    return
            if answered and self.h2_requests and answered >= 2 * self.h2_requests - 1:
                sock.sendall(self._frame(7, 0, 0, answered.to_bytes(4, "big") + b"\0\0\0\0"))
                sock.setblocking(False)
                try:
                    sock.unwrap()
                except (ssl.SSLWantReadError, ssl.SSLError, OSError):
                    pass
                sock.shutdown(socket.SHUT_WR)
                return
            d = sock.recv(65536)
            if not d:
                return
            buf += d

    h2_requests = 0


class Server(exchange_emu.Server):
    def __init__(self, host, port, handler, ctx):
        self.ctx = ctx
        super().__init__(host, port, handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake happens in the handler's thread, on its first read.
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--alpn", default="http/1.1",
                    help="comma-separated ALPN protocols offered (default http/1.1)")
    ap.add_argument("--no-etm", action="store_true",
                    help="refuse encrypt-then-MAC (RFC 7366) for TLS 1.2 and older CBC")
    ap.add_argument("--no-ticket", action="store_true",
                    help="no session tickets: TLS 1.2 resumption by session ID")
    ap.add_argument("--h2-requests", type=int, default=0,
                    help="with ALPN h2: close after answering this many streams")
    ap.add_argument("--chunk", type=int, default=1448)
    ap.add_argument("--ready-file")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the lab only listens on loopback")

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    ctx.set_ciphers("ALL:@SECLEVEL=0")
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(args.alpn.split(","))
    ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.options |= ssl.OP_IGNORE_UNEXPECTED_EOF
    if args.no_etm:
        ctx.options |= OP_NO_ENCRYPT_THEN_MAC
    if args.no_ticket:
        ctx.options |= ssl.OP_NO_TICKET

    handler = H2Handler if "h2" in args.alpn.split(",") else TLSExchangeHandler
    handler.chunk = args.chunk
    handler.quiet = args.quiet
    H2Handler.h2_requests = args.h2_requests
    server = Server(args.host, args.port, handler, ctx)

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
        os.unlink(_conf.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
