#!/usr/bin/python3
"""clients.py - raw-socket HTTP clients for shapes curl does not produce.

Python standard library only; each client binds a fixed local port (so the flow
tuple is the same on every recording), talks to exchange_emu.py on loopback,
sends fixed bytes and reads every response to the end before it closes.

  clients.py negotiate  --port 8080 --local-port N   EWS with SPNEGO-wrapped NTLM:
        NEGOTIATE -> 401, AUTHENTICATE (CONTOSO\\Dave) -> 200, then a request
        without Authorization on the same connection -> 200 (Connection: close)
  clients.py rpc-in     ...   RPC_IN_DATA, Content-Length 1073741824, Basic auth,
        User-Agent MSRPC; sends CONN/B1, a bind and a request PDU (4 KiB in all)
        in pieces, then waits until the server closes; the body never completes
  clients.py rpc-out    ...   RPC_OUT_DATA, Content-Length 76 (CONN/A1); reads
        the 200 (declared 1073741824 bytes, 72 sent) until the server closes
  clients.py pipelined  ...   three requests in one write before any response
        (chunked EWS FindItem, HEAD /owa/, conditional GET of the OAB -> 304),
        reads the three responses, then a POST with "Expect: 100-continue":
        headers, wait for the interim 100, body, final 200 (Connection: close)

  clients.py rpc-in-as  ...   rpc-in with --user-agent UA and --basic DOMAIN\\user:password
  clients.py rpc-out-as ...   rpc-out with --user-agent UA and --basic DOMAIN\\user:password

Usage: clients.py CLIENT [--host 127.0.0.1] [--port 8080] --local-port N
                  [--bind 127.0.0.X] [--host-header NAME:PORT]
                  [--user-agent UA] [--basic CREDENTIALS]
--bind picks the client's loopback address (127.0.0.0/8; default: --host), so
that one lab machine can play a phone (127.0.0.10) and a laptop (127.0.0.20).
"""

import argparse
import base64
import ipaddress
import os
import socket
import sys
import time

import labproto as lp

HOST_HEADER = "mail.contoso.com:8080"
LAB = os.path.dirname(os.path.abspath(__file__))
EWS_UA = "ExchangeServicesClient/15.00.0913.015"


def body_file(name):
    with open(os.path.join(LAB, "bodies", name), "rb") as f:
        return f.read()


class Conn:
    def __init__(self, host, port, local_port, bind=None):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        if host not in ("127.0.0.1", "::1"):
            raise SystemExit("clients.py: loopback only")
        bind = bind or host
        if not ipaddress.ip_address(bind).is_loopback or (":" in bind) != (":" in host):
            raise SystemExit("clients.py: --bind must be a loopback address of the same family")
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.s.bind((bind, local_port))
        self.s.connect((host, port))
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        got = self.s.recv(65536)
        if not got:
            raise EOFError("server closed")
        self.buf += got

    def read_head(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            headers[k.strip().lower()] = v.strip()
        return status, headers

    def read_response(self, head=False):
        """(status, headers, body) of one response; interim 1xx returned as is."""
        status, headers = self.read_head()
        n = 0
        if not head and status >= 200 and status not in (204, 304):
            n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            self._fill()
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, headers, body

    def wait_close(self):
        """Read until the server's FIN, then close our side."""
        try:
            while self.s.recv(65536):
                pass
        finally:
            self.s.close()


def request(method, target, headers, body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + HOST_HEADER]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def expect(status, want, what):
    if status != want:
        raise SystemExit("clients.py: %s: got HTTP %d, expected %d" % (what, status, want))


# -- EWS with Negotiate ----------------------------------------------------------

def negotiate(c):
    soap = body_file("ews-getfolder.xml")
    base = [("User-Agent", EWS_UA), ("Content-Type", "text/xml; charset=utf-8")]
    tok1 = base64.b64encode(lp.spnego_init(lp.ntlm_negotiate())).decode()
    c.send(request("POST", "/EWS/Exchange.asmx",
                   base + [("Authorization", "Negotiate " + tok1), ("Content-Length", "0")]))
    status, h, _ = c.read_response()
    expect(status, 401, "Negotiate NEGOTIATE_MESSAGE")
    scheme, _, tok = h["www-authenticate"].partition(" ")
    challenge = lp.find_ntlmssp(base64.b64decode(tok))
    auth = lp.ntlm_authenticate("CONTOSO", "Dave", "LAB-PC", "Passw0rd!", challenge)
    tok3 = base64.b64encode(lp.spnego_resp(token=auth)).decode()
    c.send(request("POST", "/EWS/Exchange.asmx",
                   base + [("Authorization", "Negotiate " + tok3),
                           ("Content-Length", str(len(soap)))], soap))
    status, _, _ = c.read_response()
    expect(status, 200, "Negotiate AUTHENTICATE_MESSAGE")
    soap = body_file("ews-finditem.xml")
    c.send(request("POST", "/EWS/Exchange.asmx",
                   base + [("Content-Length", str(len(soap))), ("Connection", "close")], soap))
    status, _, _ = c.read_response()
    expect(status, 200, "request on the authenticated connection")
    c.wait_close()


# -- RPC over HTTP ---------------------------------------------------------------

RPC_TARGET = "/rpc/rpcproxy.dll?mail.contoso.com:6001"
RPC_HEADERS = [
    ("Accept", "application/rpc"),
    ("User-Agent", "MSRPC"),
    ("Cache-Control", "no-cache"),
    ("Pragma", "no-cache"),
    ("Connection", "Keep-Alive"),
    ("Authorization", "Basic " + base64.b64encode(b"CONTOSO\\ivan:Passw0rd!").decode()),
]


def rpc_headers(user_agent, basic):
    """RPC_HEADERS with another User-Agent and Basic credentials."""
    return [(k, v) for k, v in RPC_HEADERS if k not in ("User-Agent", "Authorization")] + [
        ("User-Agent", user_agent),
        ("Authorization", "Basic " + base64.b64encode(basic.encode("utf-8")).decode())]


def rpc_in(c, headers=RPC_HEADERS):
    c.send(request("RPC_IN_DATA", RPC_TARGET,
                   headers + [("Content-Length", "1073741824")]))
    pdus = lp.rts_conn_b1() + lp.dce_bind()
    stub = lp.filler(4096 - len(pdus) - 24, b"rpc-in-stub")
    pdus += lp.dce_request(2, 0x0A, stub)  # EcDoConnectEx-sized request, fixed bytes
    for off in range(0, len(pdus), 1024):  # a few pieces, as a channel would
        time.sleep(0.02)
        c.send(pdus[off:off + 1024])
    c.wait_close()  # the server closes after 0.5 s of silence: body incomplete


def rpc_out(c, headers=RPC_HEADERS):
    a1 = lp.rts_conn_a1()
    c.send(request("RPC_OUT_DATA", RPC_TARGET,
                   headers + [("Content-Length", str(len(a1)))], a1))
    status, h = c.read_head()
    expect(status, 200, "RPC_OUT_DATA")
    c.wait_close()  # CONN/A3 + CONN/C2 arrive, then the server's FIN


# -- pipelining, chunked body, HEAD, 304, 100-continue ---------------------------

def pipelined(c):
    soap = body_file("ews-finditem.xml")
    half = len(soap) // 2
    chunked = (b"%x\r\n" % half + soap[:half] + b"\r\n"
               + b"%x\r\n" % (len(soap) - half) + soap[half:] + b"\r\n0\r\n\r\n")
    burst = (
        request("POST", "/EWS/Exchange.asmx",
                [("User-Agent", EWS_UA), ("Content-Type", "text/xml; charset=utf-8"),
                 ("Transfer-Encoding", "chunked")], chunked)
        + request("HEAD", "/owa/", [("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) "
                                                   "Gecko/20100101 Firefox/115.0")])
        + request("GET", "/OAB/6b2e4d3c-1a2b-4c5d-8e9f-0a1b2c3d4e5f/oab.xml",
                  [("User-Agent", "Microsoft Office/16.0 (Windows NT 10.0; "
                                  "Microsoft Outlook 16.0.17328; Pro)"),
                   ("If-None-Match", '"lab-oab-0001"')]))
    c.send(burst)  # all three before any response
    for want, head in ((200, False), (200, True), (304, False)):
        status, _, _ = c.read_response(head=head)
        expect(status, want, "pipelined response")
    soap = body_file("ews-getfolder.xml")
    c.send(request("POST", "/EWS/Exchange.asmx",
                   [("User-Agent", EWS_UA), ("Content-Type", "text/xml; charset=utf-8"),
                    ("Content-Length", str(len(soap))), ("Expect", "100-continue"),
                    ("Connection", "close")]))
    status, _, _ = c.read_response()
    expect(status, 100, "Expect: 100-continue")
    c.send(soap)
    status, _, _ = c.read_response()
    expect(status, 200, "after 100-continue")
    c.wait_close()


CLIENTS = {"negotiate": negotiate, "rpc-in": rpc_in, "rpc-out": rpc_out,
           "pipelined": pipelined}
# Clients that take the command line's --user-agent / --basic.
CLIENTS_AS = {
    "rpc-in-as": lambda c, a: rpc_in(c, rpc_headers(a.user_agent, a.basic)),
    "rpc-out-as": lambda c, a: rpc_out(c, rpc_headers(a.user_agent, a.basic)),
}


def main():
    global HOST_HEADER
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("client", choices=sorted(list(CLIENTS) + list(CLIENTS_AS)))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--local-port", type=int, required=True)
    ap.add_argument("--bind", help="the client's loopback address (default: --host)")
    ap.add_argument("--host-header", help="the Host header (default %s)" % HOST_HEADER)
    ap.add_argument("--user-agent", default="MSRPC")
    ap.add_argument("--basic", default="CONTOSO\\ivan:Passw0rd!",
                    help="Basic credentials, DOMAIN\\user:password")
    a = ap.parse_args()
    if a.host_header:
        HOST_HEADER = a.host_header
    conn = Conn(a.host, a.port, a.local_port, a.bind)
    if a.client in CLIENTS_AS:
        CLIENTS_AS[a.client](conn, a)
    else:
        CLIENTS[a.client](conn)
    return 0


if __name__ == "__main__":
    sys.exit(main())
