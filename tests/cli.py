#!/usr/bin/env python3
"""cli.py BINARY PCAPS -- the command line as a user meets it.

Exit statuses (0 done, 1 an input or output failed, 2 usage), error messages
that name the file and what is wrong, the configuration file's errors with
their line, and that nothing is left half-written on the way.
Prints one line per check and a closing "N passed, N failed".
"""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

BIN, PCAPS = sys.argv[1], sys.argv[2]
DEMO = os.path.join(PCAPS, "demo", "demo.pcap")
results = []


def run(args, **kw):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, timeout=120, **kw)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    results.append(cond)
    print(("PASS " if cond else "FAIL ") + name + ("" if cond else ": " + detail))


def expect(name, args, code, stderr_has=(), **kw):
    rc, out, err = run(args, **kw)
    ok = rc == code and all(s in err for s in stderr_has)
    check(name, ok, "exit %d (want %d), stderr: %r" % (rc, code, err[-400:]))
    return rc, out, err


with tempfile.TemporaryDirectory() as tmp:
    db = os.path.join(tmp, "x.db")
    conf = os.path.join(tmp, "m.conf")

    expect("no input is a usage error", [], 2, ["nothing to read"])
    expect("unknown option", ["--frobnicate"], 2)
    expect("-r and -i together", ["-r", DEMO, "-i", "lo"], 2, ["not both"])
    expect("bad number", ["-r", DEMO, "--max-flows", "lots"], 2, ["--max-flows"])
    expect("bad filter expression", ["-r", DEMO, "-d", db, "tcp", "port"], 2,
           ["filter \"tcp port\""])
    check("a usage error leaves no database behind", not os.path.exists(db))
    expect("-Z to a user that does not exist", ["-r", DEMO, "-d", db, "-Z", "no-such-user-x"], 2,
           ["no-such-user-x"])
    expect("-Z root is refused", ["-r", DEMO, "-d", db, "-Z", "root"], 2, ["root"])
    expect("missing capture file", ["-r", os.path.join(tmp, "nope.pcap"), "-d", db], 1,
           ["nope.pcap"])
    expect("database in a missing directory",
           ["-r", DEMO, "-d", os.path.join(tmp, "no", "such", "x.db")], 1, ["x.db"])
    rc, _, err = expect("one bad file among good ones: the rest is processed",
                        ["-r", os.path.join(tmp, "nope.pcap"), "-r", DEMO, "-d", db], 1,
                        ["nope.pcap"])
    con = sqlite3.connect(db)
    check("the good file's transactions are stored",
          con.execute("SELECT COUNT(*) FROM transactions").fetchone()[0] == 3)
    con.close()
    os.unlink(db)

    # Configuration file errors name the line.
    with open(conf, "w") as f:
        f.write("[detect]\nwindow = 12h\n[allowlist]\npattern = Out*look\n")
    expect("bad allowlist pattern names file and line", ["-r", DEMO, "-c", conf], 2,
           [conf + ":4:", "Out*look"])
    with open(conf, "w") as f:
        f.write("[detect]\nwindow = soon\n")
    expect("bad window", ["-r", DEMO, "-c", conf], 2, [conf + ":2:", "window"])
    with open(conf, "w") as f:
        f.write("[limits]\nflows = 1000\nfrobs = 3\n")
    expect("unknown key", ["-r", DEMO, "-c", conf], 2, [conf + ":3:", "frobs"])
    expect("missing config file", ["-r", DEMO, "-c", os.path.join(tmp, "none.conf")], 2,
           ["none.conf"])

    # The demo: the bypass is found, stored, and streamed as NDJSON.
    with open(conf, "w") as f:
        f.write("; site policy\n[detect]\nwindow = 24h\n[allowlist]\npattern = *Outlook-iOS*\n"
                "[aliases]\nalice = asmith\n[limits]\nflows = 10000\n")
    if os.getuid() == 0:
        os.chmod(tmp, 0o777)  # the dropped user writes the database here
        rc, _, err = expect("-Z nobody: runs as nobody after opening its files",
                            ["-r", DEMO, "-d", db, "-Z", "nobody"], 0, ["alerts: 1 high"])
        check("the database written before and after the drop is complete",
              sqlite3.connect(db).execute("SELECT COUNT(*) FROM transactions").fetchone()[0]
              == 3)
        os.unlink(db)
    rc, out, err = expect("demo with a policy file and --json -",
                          ["-r", DEMO, "-d", db, "-c", conf, "--json", "-"], 0,
                          ["alerts: 1 high"])
    lines = [json.loads(l) for l in out.splitlines() if l.strip()]
    check("one NDJSON alert line, database field names",
          len(lines) == 1 and lines[0]["severity"] == "high"
          and lines[0]["rule"] == "activesync-refused-then-ews"
          and lines[0]["user"] == "alice" and lines[0]["count"] == 1
          and "Set-CASMailbox -Identity 'alice'" in lines[0]["remediation"], repr(lines))
    con = sqlite3.connect(db)
    ev = con.execute("SELECT evidence FROM v_alerts").fetchone()[0] or ""
    check("v_alerts shows the refusal and the fallback",
          "refusal " in ev and "fallback " in ev and "-> 403" in ev and "-> 200" in ev, ev)
    who = con.execute("SELECT who, worst, protocols FROM v_bypass_by_user").fetchall()
    check("v_bypass_by_user", who == [("alice", "high", "EWS")], repr(who))
    runs = con.execute("SELECT ended IS NOT NULL FROM runs").fetchall()
    check("the run is recorded as ended", runs == [(1,)], repr(runs))
    con.close()

n_ok = sum(results)
print("%d passed, %d failed" % (n_ok, len(results) - n_ok))
sys.exit(0 if n_ok == len(results) else 1)
