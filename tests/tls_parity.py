#!/usr/bin/env python3
"""tls_parity.py BINARY PCAPS -- decryption parity with tshark (DESIGN §5).

For every pcaps/tls-*/ case: the HTTP requests mdmwatch decrypts (method and
URI, in order) must be exactly the ones tshark decrypts.  The reference is
the case's tshark-requests.txt; when tshark is installed it is also run now
with the same secrets, so the stored reference cannot drift from the
reference decoder.  The secrets given to both: the server's RSA key alone
when the case has server-key.pem (the RSA key exchange path), else the
client's key log keys.txt, else none (pcapng secrets, or no key at all).

Also checked from the flows table: every TLS flow's version, cipher and
client fingerprints are filled in, and an undecrypted flow says why.
Prints one line per case and a closing "N passed, N failed".
"""
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

BIN, PCAPS = sys.argv[1], sys.argv[2]
TSHARK = shutil.which("tshark")

# What a case without decryptable HTTP/1 must show instead.
UNDECRYPTED = {
    "tls-nokey": "no key",
    "tls-wrongkey": "authentication failure (wrong key)",
}


def capture_of(case_dir):
    for name in sorted(os.listdir(case_dir)):
        if name.endswith((".pcap", ".pcapng")):
            return os.path.join(case_dir, name)
    return None


def secrets(case_dir):
    key = os.path.join(case_dir, "server-key.pem")
    log = os.path.join(case_dir, "keys.txt")
    if os.path.exists(key):
        return ["--rsa-key", key], ["-o", 'uat:rsa_keys:"%s",""' % key]
    if os.path.exists(log):
        return ["-k", log], ["-o", "tls.keylog_file:" + log]
    return [], []


def tshark_requests(cap, topts):
    p = subprocess.run([TSHARK, "-r", cap] + topts +
                       ["-Y", "http.request", "-T", "fields", "-E", "separator=/s",
                        "-e", "http.request.method", "-e", "http.request.uri"],
                       capture_output=True, text=True, timeout=300)
    return [l for l in p.stdout.splitlines() if l.strip()]


def main():
    cases = sorted(d for d in os.listdir(PCAPS) if d.startswith("tls-"))
    ok = bad = 0
    for case in cases:
        d = os.path.join(PCAPS, case)
        cap = capture_of(d)
        ref_file = os.path.join(d, "tshark-requests.txt")
        if not cap or not os.path.exists(ref_file):
            continue
        with open(ref_file) as f:
            ref = [l.rstrip("\n") for l in f if l.strip()]
        margs, topts = secrets(d)
        problems = []
        if TSHARK:
            live = tshark_requests(cap, topts)
            if live != ref:
                problems.append("tshark now decrypts %r, the stored reference says %r"
                                % (live, ref))
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "t.db")
            p = subprocess.run([BIN, "-q", "--all-http", "-d", db, "-r", cap] + margs,
                               capture_output=True, text=True, timeout=300)
            if p.returncode != 0:
                problems.append("exit %d: %s" % (p.returncode, p.stderr[-300:]))
            else:
                con = sqlite3.connect(db)
                got = ["%s %s" % r for r in con.execute(
                    "SELECT method, uri FROM transactions ORDER BY ts, id")]
                tls = {r[0] for r in con.execute("SELECT tls FROM transactions")}
                flows = con.execute(
                    "SELECT tls_version, cipher, ja3, ja4, decrypted, decrypt_note, alpn"
                    " FROM flows WHERE tls_version IS NOT NULL").fetchall()
                con.close()
                if got != ref:
                    problems.append("mdmwatch decrypted %r, tshark %r" % (got, ref))
                if got and tls != {1}:
                    problems.append("transactions not marked tls=1: %r" % tls)
                if not flows:
                    problems.append("no TLS flow recorded")
                for v, c, ja3, ja4, dec, note, alpn in flows:
                    if not (v and c and ja3 and len(ja3) == 32 and ja4):
                        problems.append("flow metadata missing: %r" % ((v, c, ja3, ja4),))
                    want = UNDECRYPTED.get(case)
                    if want and (dec != 0 or note != want):
                        problems.append("flow decrypted=%r note=%r, want 0 %r"
                                        % (dec, note, want))
                    if not want and ref and dec != 1:
                        problems.append("flow not decrypted: %r" % (note,))
                    if case == "tls-alpn-h2" and (alpn != "h2" or dec != 1):
                        problems.append("h2 flow: alpn=%r decrypted=%r" % (alpn, dec))
        if problems:
            bad += 1
            print("FAIL %s\n    %s" % (case, "\n    ".join(problems)))
        else:
            ok += 1
            print("PASS %s (%d requests)" % (case, len(ref)))
    print("%d passed, %d failed" % (ok, bad))
    return 1 if bad or ok == 0 else 0


sys.exit(main())
