#!/usr/bin/python3
"""tls_client.py - the lab's scripted HTTPS requests, for Python's own TLS client
and for TLS clients driven through stdin (openssl s_client, gnutls-cli).

Requests (Host: mail.lab.test; fixed bodies from ../bodies/):
  eas         POST /Microsoft-Server-ActiveSync?Cmd=Sync&...      (403)
  foldersync  POST /Microsoft-Server-ActiveSync?Cmd=FolderSync&... (403)
  getfolder   POST /EWS/Exchange.asmx  GetFolder SOAP             (200)
  finditem    POST /EWS/Exchange.asmx  FindItem SOAP              (200)
  blob        GET  /lab/blob            40,000-byte body          (200)
The last request of a connection carries "Connection: close", so the server
closes first (close_notify and FIN).

  tls_client.py python --keylog FILE [--local-port N] [--tls 1.2|1.3]
                [--ciphers STR] [--session-reuse] REQ...
      Python ssl (SSLContext.keylog_filename) + http.client, one keep-alive
      connection (two with --session-reuse: the second resumes the first's
      session, from client port N+1).
  tls_client.py pipe REQ|K|k ... -- CLIENT ARGS...
      Runs CLIENT, writes each request to its stdin and waits for the response
      to show on its stdout before the next one; "K"/"k" write that letter on a
      line of its own (openssl s_client: KeyUpdate, with / without a request
      for the peer's). Then waits for CLIENT to exit (the server closes).
Loopback only: connects to 127.0.0.1:443 (--port).
"""

import argparse
import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

LAB = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = "mail.lab.test"
MARK = b"\r\nServer: Microsoft-IIS/10.0\r\n"  # one per response


def body(name):
    with open(os.path.join(LAB, "bodies", name), "rb") as f:
        return f.read()


EAS_HDRS = [("User-Agent", "Apple-iPhone14C2/2008.73"), ("MS-ASProtocolVersion", "16.1"),
            ("Content-Type", "application/vnd.ms-sync.wbxml")]
EWS_HDRS = [("User-Agent", "ExchangeServicesClient/15.00.0913.015"),
            ("Content-Type", "text/xml; charset=utf-8")]
REQUESTS = {
    "eas": ("POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone",
            EAS_HDRS, "eas-sync.wbxml"),
    "foldersync": ("POST", "/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=alice&DeviceId=ABC123&DeviceType=iPhone",
                   EAS_HDRS, "eas-sync.wbxml"),
    "getfolder": ("POST", "/EWS/Exchange.asmx", EWS_HDRS, "ews-getfolder.xml"),
    "finditem": ("POST", "/EWS/Exchange.asmx", EWS_HDRS, "ews-finditem.xml"),
    "blob": ("GET", "/lab/blob", [("User-Agent", "mdmwatch-lab/1")], None),
}


def request_parts(name, close):
    method, uri, hdrs, bodyfile = REQUESTS[name]
    data = body(bodyfile) if bodyfile else b""
    hdrs = list(hdrs) + [("Accept", "*/*")]
    if bodyfile:
        hdrs.append(("Content-Length", str(len(data))))
    if close:
        hdrs.append(("Connection", "close"))
    return method, uri, hdrs, data


def raw_request(name, close):
    method, uri, hdrs, data = request_parts(name, close)
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, uri, HOST)
    head += "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
    return head.encode("latin-1") + data


def run_python(args):
    ctx = ssl.create_default_context(cafile=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "certs", "ca.pem"))
    ctx.keylog_filename = args.keylog
    ctx.set_alpn_protocols(["http/1.1"])
    if args.tls:
        v = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}[args.tls]
        ctx.minimum_version = ctx.maximum_version = v
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    session = None
    for conn_no in range(2 if args.session_reuse else 1):
        lport = args.local_port + conn_no if args.local_port else 0
        raw = socket.create_connection(("127.0.0.1", args.port),
                                       source_address=("127.0.0.1", lport))
        tls = ctx.wrap_socket(raw, server_hostname=HOST, session=session)
        conn = http.client.HTTPSConnection(HOST, args.port, context=ctx)
        conn.sock = tls
        for i, name in enumerate(args.requests):
            method, uri, hdrs, data = request_parts(name, i == len(args.requests) - 1)
            conn.putrequest(method, uri, skip_accept_encoding=True)
            for k, v in hdrs:
                conn.putheader(k, v)
            conn.endheaders(data or None)
            resp = conn.getresponse()
            info = "%s %s -> %d (%s, %s, resumed=%s)" % (
                method, uri, resp.status, tls.version(), tls.cipher()[0], tls.session_reused)
            if i == 0:
                # TLS 1.3 tickets arrive after the handshake: read by now.
                session = tls.session
            resp.read()  # after the last one http.client closes the socket
            print(info, file=sys.stderr)
        conn.close()
        tls.close()
        time.sleep(0.3)
    return 0


def run_pipe(args):
    items = args.items
    proc = subprocess.Popen(args.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    seen = [0]
    got = threading.Condition()
    out = bytearray()

    def reader():
        while True:
            d = proc.stdout.read1(65536)
            if not d:
                break
            with got:
                out.extend(d)
                seen[0] = out.count(MARK)
                got.notify_all()
        with got:
            seen[0] = -1
            got.notify_all()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)  # handshake
    nreq = len([i for i in items if i not in ("K", "k")])
    sent = 0
    for item in items:
        if item in ("K", "k"):
            proc.stdin.write(item.encode() + b"\n")
            proc.stdin.flush()
            time.sleep(0.5)
            continue
        sent += 1
        proc.stdin.write(raw_request(item, sent == nreq))
        proc.stdin.flush()
        with got:
            if not got.wait_for(lambda: seen[0] >= sent or seen[0] < 0, timeout=10):
                proc.kill()
                sys.exit("tls_client: no response to request %d" % sent)
            if seen[0] < 0 and sent < nreq:
                sys.exit("tls_client: client exited after %d responses" % (sent - 1))
        time.sleep(0.1)
    try:
        rc = proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        sys.exit("tls_client: client still running after the server closed")
    t.join()
    print("tls_client: %d responses, client exit %d" % (out.count(MARK), rc), file=sys.stderr)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("python")
    p.add_argument("--keylog", required=True)
    p.add_argument("--port", type=int, default=443)
    p.add_argument("--local-port", type=int, default=0)
    p.add_argument("--tls", choices=("1.2", "1.3"))
    p.add_argument("--ciphers")
    p.add_argument("--session-reuse", action="store_true")
    p.add_argument("requests", nargs="+", choices=sorted(REQUESTS))
    q = sub.add_parser("pipe")
    q.add_argument("items", nargs="+")
    argv = sys.argv[1:]
    command = []
    if argv and argv[0] == "pipe":
        if "--" not in argv:
            ap.error("pipe: -- CLIENT ARGS... missing")
        cut = argv.index("--")
        argv, command = argv[:cut], argv[cut + 1:]
    args = ap.parse_args(argv)
    if args.mode == "python":
        return run_python(args)
    for i in args.items:
        if i not in REQUESTS and i not in ("K", "k"):
            ap.error("unknown item %r" % i)
    args.command = command
    return run_pipe(args)


if __name__ == "__main__":
    sys.exit(main())
