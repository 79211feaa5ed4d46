#!/usr/bin/env python3
"""live.py BINARY LABDIR -- the span-port mode, end to end, on loopback.

mdmwatch captures live on `lo` (-i, a BPF filter for two ports, -Z nobody,
-k on a key log that is empty at the start), the lab's
Exchange emulator serves plaintext on one port and TLS on the other, and:
  - a client refused on ActiveSync then reads mail over EWS in clear text:
    while mdmwatch is still running, the alert must already be in the
    database and on the NDJSON stream;
  - a TLS client (Python ssl) writes its key log *while* the sensor
    watches: the records that arrive before their keys wait, and decrypt
    once the tailed key log has them — the second alert, over TLS, must
    appear too.
SIGINT then ends the run cleanly (exit 0, the run row closed).  Needs root
(live capture); skipped otherwise.  Prints "N passed, N failed".
"""
import base64
import http.client
import json
import os
import socket
import ssl
import sqlite3
import subprocess
import sys
import tempfile
import time

BIN, LAB = sys.argv[1], sys.argv[2]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def request(port, method, path, headers, body=b""):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def tls_request(port, keylog, method, path, headers, body=b""):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.keylog_filename = keylog
    ctx.set_alpn_protocols(["http/1.1"])
    c = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def alerts(db):
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=1)
        rows = con.execute("SELECT severity, rule, user FROM alerts").fetchall()
        con.close()
        return rows
    except sqlite3.Error:
        return []


def main():
    if os.geteuid() != 0:
        print("SKIP live capture needs root")
        print("0 passed, 0 failed, 1 skipped")
        return 0
    results = []

    def check(name, ok, detail=""):
        ok = bool(ok)
        results.append(ok)
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))

    port, tport = free_port(), free_port()
    certs = os.path.join(LAB, "tls", "certs")
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o777)  # written by nobody after the drop
        db, js, ready, tready, keys = (os.path.join(tmp, n) for n in (
            "live.db", "live.ndjson", "ready", "tready", "keys.log"))
        open(keys, "w").close()  # the client fills it during the test
        sensor = subprocess.Popen([BIN, "-i", "lo", "-Z", "nobody", "-d", db, "--json", js,
                                   "-k", keys, "tcp port %d or tcp port %d" % (port, tport)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        emu = subprocess.Popen([sys.executable, os.path.join(LAB, "exchange_emu.py"),
                                "--host", "127.0.0.1", "--port", str(port),
                                "--ready-file", ready, "--quiet"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        temu = subprocess.Popen([sys.executable, os.path.join(LAB, "tls", "tls_emu.py"),
                                 "--host", "127.0.0.1", "--port", str(tport),
                                 "--cert", os.path.join(certs, "rsa-cert.pem"),
                                 "--key", os.path.join(certs, "rsa-key.pem"),
                                 "--ready-file", tready, "--quiet"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            check("emulators listening", wait_for(
                lambda: os.path.exists(ready) and os.path.exists(tready), 10))
            time.sleep(1.0)  # the capture is open once the sensor has dropped to nobody
            basic = "Basic " + base64.b64encode(b"CONTOSO\\zoe:not-stored").decode()
            st1 = request(port, "POST",
                          "/Microsoft-Server-ActiveSync?Cmd=Sync&User=zoe&DeviceId=Z1"
                          "&DeviceType=iPhone",
                          {"User-Agent": "Apple-iPhone14C2/2008.73", "Authorization": basic,
                           "Content-Type": "application/vnd.ms-sync.wbxml"}, b"\x03\x01\x6a\x00")
            with open(os.path.join(LAB, "bodies", "ews-finditem.xml"), "rb") as f:
                soap = f.read()
            st2 = request(port, "POST", "/EWS/Exchange.asmx",
                          {"User-Agent": "Mail/3654.120.0.1.13", "Authorization": basic,
                           "Content-Type": "text/xml; charset=utf-8"}, soap)
            check("the emulator refused ActiveSync and served EWS", (st1, st2) == (403, 200),
                  repr((st1, st2)))
            t0 = time.monotonic()
            seen = wait_for(lambda: alerts(db), 3)
            check("the alert is in the database while the sensor runs (%.2f s)"
                  % (time.monotonic() - t0),
                  seen and alerts(db) == [("high", "activesync-refused-then-ews", "zoe")],
                  repr(alerts(db)))
            lines = open(js).read().splitlines() if os.path.exists(js) else []
            check("and on the NDJSON stream", len(lines) == 1 and
                  json.loads(lines[0])["user"] == "zoe", repr(lines))
            stored = b"".join(open(p, "rb").read() for p in (db, db + "-wal")
                              if os.path.exists(p))
            check("the password is nowhere in the database", b"not-stored" not in stored)

            # Over TLS, with the key log written as it happens.
            tb = "Basic " + base64.b64encode(b"yara@contoso.com:not-stored").decode()
            t1 = tls_request(tport, keys, "POST",
                             "/Microsoft-Server-ActiveSync?Cmd=Sync&User=yara&DeviceId=Y1"
                             "&DeviceType=Android",
                             {"User-Agent": "Android-Mail/2024", "Authorization": tb,
                              "Content-Type": "application/vnd.ms-sync.wbxml"},
                             b"\x03\x01\x6a\x00")
            t2 = tls_request(tport, keys, "POST", "/EWS/Exchange.asmx",
                             {"User-Agent": "BlueMail/1.9", "Authorization": tb,
                              "Content-Type": "text/xml; charset=utf-8"}, soap)
            check("TLS: refused on ActiveSync, served on EWS", (t1, t2) == (403, 200),
                  repr((t1, t2)))
            want = ("high", "activesync-refused-then-ews", "yara")
            check("TLS: decrypted with the key log written meanwhile, alert raised",
                  wait_for(lambda: want in alerts(db), 5), repr(alerts(db)))
        finally:
            emu.terminate()
            emu.wait(10)
            temu.terminate()
            temu.wait(10)
            sensor.send_signal(2)
            try:
                rc = sensor.wait(20)
            except subprocess.TimeoutExpired:
                sensor.kill()
                rc = -9
        err = sensor.stderr.read()
        check("SIGINT ends the run cleanly", rc == 0 and "alerts: 2 high" in err,
              "exit %r, stderr %r" % (rc, err[-300:]))
        con = sqlite3.connect(db)
        ended = con.execute("SELECT mode, ended IS NOT NULL FROM runs").fetchall()
        tls = con.execute("SELECT COUNT(*) FROM transactions WHERE tls = 1").fetchone()[0]
        waited = con.execute("SELECT value FROM run_counters WHERE name = 'tls_pending_max'"
                             ).fetchone()
        print("info: at most %s ciphertext bytes waited for their keys" % (waited or [0])[0])
        flows = con.execute("SELECT decrypted, tls_version FROM flows WHERE server_port = ?",
                            (tport,)).fetchall()
        con.close()
        check("the run row says live and is closed", ended == [("live", 1)], repr(ended))
        check("two transactions marked tls=1, two decrypted TLS flows",
              tls == 2 and len(flows) == 2 and all(f[0] == 1 and f[1] for f in flows),
              repr((tls, flows)))
    ok = sum(results)
    print("%d passed, %d failed" % (ok, len(results) - ok))
    return 0 if ok == len(results) else 1


sys.exit(main())
