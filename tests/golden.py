#!/usr/bin/env python3
r"""golden.py - run every capture case in pcaps/ through mdmwatch and check it.

Python standard library only; any python3 >= 3.9. Registered in meson as the
`golden` suite; run it by hand as

    tests/golden.py --binary build/mdmwatch --pcaps pcaps [--case NAME]... [--update]

Case folder contract (pcaps/README.md has the long form):

    pcaps/<case>/
      README.md        how it was made, what it checks
      *.pcap|*.pcapng  the inputs, processed in name order as repeated -r options
      args             optional: one line of extra command-line arguments
                       (e.g. a BPF expression), split like a shell would
      expected.txt     the expected --dump-flows output, lines sorted
      checks           optional, one per line (# starts a comment):
                         tshark-parity          per-direction TCP byte streams
                                                equal tshark's "follow,tcp,raw"
                         same-streams-as <case> (tuple, c2s, s2c) set equals that
                                                case's; repeat to compare with
                                                the union of several cases
                         exit <n>               expected exit status (default 0)
                         stderr-contains <text> stderr must contain text
                         stdin                  feed the single input via -r -
      expected-transactions.txt
                       optional: the database's `transactions` rows after the
                       run, one line each, in ORDER BY ts, id (see below)
      expected-alerts.txt
                       optional: the database's `alerts`, each followed by its
                       evidence (see below); an empty file asserts no alerts
      expect-no-alerts optional marker (contents ignored): the case must raise
                       no alert at all; --update writes an empty
                       expected-alerts.txt for it
      config           optional: a policy file, passed as -c <case>/config

Each case runs as

    mdmwatch --dump-flows - -d <tmp>/x.db [-c <case>/config] -r f1 [-r f2 ...] [args]

with a fresh temporary directory as working directory. --dump-flows lines:

    tcp 127.0.0.1:50000 > 127.0.0.1:8080 app=HTTP reasm=yes pkts=12/10 \
        c2s=345:<sha256> s2c=6789:<sha256> gaps=0/0 anomalies=0
    udp 127.0.0.1:5353 > 127.0.0.1:53 app=DNS reasm=no pkts=1/1

(client first; IPv6 addresses in brackets; c2s/s2c = bytes delivered by
reassembly and their SHA-256.)

When the case has expected-transactions.txt, the runner then reads <tmp>/x.db
with Python's sqlite3 module:

    SELECT ts, client_ip, client_port, server_ip, server_port, host, method, uri,
           status, user_agent, user, auth, protocol, operation, device_id,
           device_type, tls FROM transactions ORDER BY ts, id

and compares the rows, in that order, with the file's lines (blank lines
ignored): one row per line, the values joined by " | ", SQL NULL written as
NULL. Text is decoded as UTF-8 (invalid bytes as \xNN); a backslash, CR, LF
and other control characters are escaped (\\, \r, \n, \xNN) so a row is
always one line.

When the case has expected-alerts.txt (or expect-no-alerts), the runner reads

    SELECT severity, rule, matched_by, user, client_ip, device_id, protocol,
           user_agent, first_seen, last_seen, count FROM alerts
    ORDER BY first_seen, id

formatted like a transactions row, each alert line followed by its evidence,
one line per linked transaction, indented by four spaces:

    SELECT e.role, t.method, t.uri, t.status FROM alert_evidence e
    JOIN transactions t ON t.id = e.transaction_id WHERE e.alert_id = <alert>
    ORDER BY t.ts, t.id

for example

    high | activesync-refused-then-ews | user | erin | 127.0.0.10 | ... | 4
        refusal | POST | /Microsoft-Server-ActiveSync?Cmd=Sync&... | 403
        fallback | POST | /EWS/Exchange.asmx | 200

The lines (blank lines ignored, indentation significant) must equal the
file's, in order. An empty file, or the expect-no-alerts marker, asserts that
the alerts table is empty.

Prints one line per case (PASS/FAIL/SKIP, details indented under it) and ends
with "N passed, N failed" (", N skipped" when some were). A case is SKIPped
when a check could not run (tshark missing) and every other check passed.
Exit status 0 when nothing failed, 1 otherwise, 2 on usage errors.

--update rewrites expected.txt from the binary's output, and
expected-transactions.txt from the database when the transactions table has
rows (a case whose table is empty gets no new file; an existing one is
rewritten), and expected-alerts.txt the same way from the alerts table; a
case with expect-no-alerts gets an empty expected-alerts.txt, and fails
instead when the binary raised alerts (never blessed). It blesses whatever
the binary produced otherwise: review `git diff pcaps/` before committing.
"""

import argparse
import difflib
import hashlib
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile

CAPTURE_SUFFIXES = (".pcap", ".pcapng")
CHECK_KINDS = ("tshark-parity", "same-streams-as", "exit", "stderr-contains", "stdin")
TRANSACTIONS_FILE = "expected-transactions.txt"
TRANSACTIONS_QUERY = (
    "SELECT ts, client_ip, client_port, server_ip, server_port, host, method, uri, "
    "status, user_agent, user, auth, protocol, operation, device_id, device_type, tls "
    "FROM transactions ORDER BY ts, id")
ALERTS_FILE = "expected-alerts.txt"
NO_ALERTS_MARKER = "expect-no-alerts"
CONFIG_FILE = "config"
ALERTS_QUERY = (
    "SELECT id, severity, rule, matched_by, user, client_ip, device_id, protocol, "
    "user_agent, first_seen, last_seen, count FROM alerts ORDER BY first_seen, id")
EVIDENCE_QUERY = (
    "SELECT a.id, e.role, t.method, t.uri, t.status FROM alert_evidence e "
    "JOIN transactions t ON t.id = e.transaction_id JOIN alerts a ON a.id = e.alert_id "
    "ORDER BY a.first_seen, a.id, t.ts, t.id")
EVIDENCE_INDENT = "    "
# args that never narrow what mdmwatch sees (anything else in args, e.g. a BPF
# expression, may: then tshark streams without an mdmwatch flow are allowed).
NON_FILTERING_ARGS = ("--all-http", "-q", "--quiet", "--progress", "--no-progress")


class CaseError(Exception):
    """A case folder that breaks the contract (a failure, not a skip)."""


class Case:
    def __init__(self, root, name):
        self.name = name
        self.dir = os.path.join(root, name)
        self.inputs = sorted(os.path.join(self.dir, f) for f in os.listdir(self.dir)
                             if f.endswith(CAPTURE_SUFFIXES))
        self.expected_path = os.path.join(self.dir, "expected.txt")
        self.transactions_path = os.path.join(self.dir, TRANSACTIONS_FILE)
        self.alerts_path = os.path.join(self.dir, ALERTS_FILE)
        self.expect_no_alerts = os.path.exists(os.path.join(self.dir, NO_ALERTS_MARKER))
        config = os.path.join(self.dir, CONFIG_FILE)
        self.config = config if os.path.isfile(config) else None
        self.args = []
        self.checks = []  # [(kind, argument or None)]
        args_path = os.path.join(self.dir, "args")
        if os.path.exists(args_path):
            with open(args_path, encoding="utf-8") as f:
                lines = [ln for ln in f.read().splitlines() if ln.strip()]
            if len(lines) > 1:
                raise CaseError("args: more than one line")
            self.args = shlex.split(lines[0]) if lines else []
        checks_path = os.path.join(self.dir, "checks")
        if os.path.exists(checks_path):
            with open(checks_path, encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    kind, _, arg = line.partition(" ")
                    arg = arg.strip() or None
                    if kind not in CHECK_KINDS:
                        raise CaseError("checks:%d: unknown check %r" % (n, kind))
                    if kind in ("same-streams-as", "exit", "stderr-contains") and arg is None:
                        raise CaseError("checks:%d: %s needs an argument" % (n, kind))
                    if kind == "exit" and not re.fullmatch(r"\d+", arg):
                        raise CaseError("checks:%d: exit needs a number" % n)
                    self.checks.append((kind, arg))
        if not self.inputs:
            raise CaseError("no *.pcap or *.pcapng input in %s" % self.dir)
        if self.has("stdin") and len(self.inputs) != 1:
            raise CaseError("stdin needs exactly one input, found %d" % len(self.inputs))
        if self.expect_no_alerts and os.path.exists(self.alerts_path):
            with open(self.alerts_path, encoding="utf-8") as f:
                if any(ln.strip() for ln in f):
                    raise CaseError("%s and a non-empty %s contradict each other"
                                    % (NO_ALERTS_MARKER, ALERTS_FILE))

    def has(self, kind):
        return any(k == kind for k, _ in self.checks)

    def values(self, kind):
        return [a for k, a in self.checks if k == kind]

    def expected_exit(self):
        v = self.values("exit")
        return int(v[-1]) if v else 0

    def filters(self):
        """Whether args may make mdmwatch see less than tshark (a BPF filter)."""
        return any(a not in NON_FILTERING_ARGS for a in self.args)


def discover(root):
    """Case names: sub-folders holding a capture or an expected.txt."""
    names = []
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if name.startswith(".") or name == "lab" or not os.path.isdir(d):
            continue
        files = os.listdir(d)
        if "expected.txt" in files or any(f.endswith(CAPTURE_SUFFIXES) for f in files):
            names.append(name)
    return names


# -- --dump-flows output -----------------------------------------------------------

class Flow:
    """One --dump-flows line: proto, client, server and the key=value fields."""

    def __init__(self, line):
        tok = line.split()
        if len(tok) < 4 or tok[2] != ">":
            raise ValueError("not a flow line: %r" % line)
        self.line = line
        self.proto, self.client, self.server = tok[0], tok[1], tok[3]
        self.fields = {}
        for t in tok[4:]:
            k, sep, v = t.partition("=")
            if sep:
                self.fields[k] = v

    def stream(self, direction):
        """(length, sha256) from c2s=/s2c=, or None when absent."""
        v = self.fields.get(direction)
        if v is None:
            return None
        n, _, digest = v.partition(":")
        return (int(n), digest.lower()) if n.isdigit() else None

    def key(self):
        return (self.proto, self.client, self.server)


def parse_flows(lines):
    flows, bad = [], []
    for ln in lines:
        try:
            flows.append(Flow(ln))
        except ValueError:
            bad.append(ln)
    return flows, bad


def stream_set(flows):
    return {(f.key(), f.stream("c2s"), f.stream("s2c")) for f in flows}


# -- running mdmwatch --------------------------------------------------------------

class Result:
    def __init__(self, rc, stdout, stderr, cmd, transactions=None, db_error=None,
                 alerts=None, alerts_error=None):
        self.rc, self.stdout, self.stderr, self.cmd = rc, stdout, stderr, cmd
        self.lines = sorted(ln for ln in stdout.splitlines() if ln.strip())
        self.flows, self.bad_lines = parse_flows(self.lines)
        self.transactions = transactions  # [line] or None when unreadable
        self.db_error = db_error
        self.alerts = alerts  # [line] (alerts and evidence) or None when unreadable
        self.alerts_error = alerts_error
        self.n_alerts = sum(1 for ln in alerts or [] if not ln.startswith(EVIDENCE_INDENT))


def _text(raw):
    """Database text as one printable line (see the module docstring)."""
    s = raw.decode("utf-8", "surrogateescape")
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif 0xDC80 <= o <= 0xDCFF:  # a byte that is not UTF-8
            out.append("\\x%02x" % (o - 0xDC00))
        else:
            out.append(ch)
    return "".join(out)


def format_row(row):
    cells = []
    for v in row:
        if v is None:
            cells.append("NULL")
        elif isinstance(v, bytes):
            cells.append(_text(v))
        else:
            cells.append(str(v))
    return " | ".join(cells)


def _query(db_path, what, queries):
    """([rows per query], None) or (None, why)."""
    if not os.path.exists(db_path):
        return None, "no database file was written"
    try:
        con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    except sqlite3.Error as e:
        return None, "cannot open the database: %s" % e
    try:
        con.text_factory = bytes  # decoded by _text(): values may be any bytes
        return [con.execute(q).fetchall() for q in queries], None
    except sqlite3.Error as e:
        return None, "cannot read %s: %s" % (what, e)
    finally:
        con.close()


def read_transactions(db_path):
    """([line], None) or (None, why)."""
    res, why = _query(db_path, "transactions", [TRANSACTIONS_QUERY])
    if res is None:
        return None, why
    return [format_row(r) for r in res[0]], None


def read_alerts(db_path):
    """([line], None) or (None, why): each alert as a row (its id left out),
    followed by its evidence rows indented by EVIDENCE_INDENT."""
    res, why = _query(db_path, "alerts", [ALERTS_QUERY, EVIDENCE_QUERY])
    if res is None:
        return None, why
    alerts, evidence = res
    by_alert = {}
    for row in evidence:
        by_alert.setdefault(row[0], []).append(EVIDENCE_INDENT + format_row(row[1:]))
    lines = []
    for row in alerts:
        lines.append(format_row(row[1:]))
        lines += by_alert.get(row[0], [])
    return lines, None


def describe_rc(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        return "killed by signal %d" % -rc
    return "exit status %d" % rc


def run_mdmwatch(binary, case, timeout):
    with tempfile.TemporaryDirectory(prefix="golden-%s-" % case.name) as tmp:
        cmd = [binary, "--dump-flows", "-", "-d", os.path.join(tmp, "x.db")]
        if case.config:
            cmd += ["-c", case.config]
        stdin = subprocess.DEVNULL
        if case.has("stdin"):
            cmd += ["-r", "-"]
            stdin = open(case.inputs[0], "rb")
        else:
            for f in case.inputs:
                cmd += ["-r", f]
        cmd += case.args
        try:
            p = subprocess.run(cmd, cwd=tmp, stdin=stdin, capture_output=True,
                               timeout=timeout)
            rc, out, err = p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out, err = None, e.stdout or b"", e.stderr or b""
        finally:
            if stdin is not subprocess.DEVNULL:
                stdin.close()
        transactions, db_error = read_transactions(os.path.join(tmp, "x.db"))
        alerts, alerts_error = read_alerts(os.path.join(tmp, "x.db"))
    return Result(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                  " ".join(shlex.quote(c) for c in cmd), transactions, db_error,
                  alerts, alerts_error)


# -- tshark ------------------------------------------------------------------------

def tshark_streams(files, tmp):
    """{frozenset({ep0, ep1}): {ep: (len, sha256) of the bytes ep sent}} per TCP
    stream, from `tshark -q -z follow,tcp,raw,N`. In that output, Node 0 and
    Node 1 name the endpoints and lines indented with a tab are Node 1's data.
    Several inputs are concatenated with mergecap -a first."""
    path = files[0]
    if len(files) > 1:
        path = os.path.join(tmp, "merged.pcapng")
        subprocess.run(["mergecap", "-a", "-w", path] + list(files), check=True,
                       capture_output=True)
    p = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "tcp.stream"],
                       capture_output=True, text=True)
    if p.returncode not in (0, 2):  # 2: tshark read a damaged file to its end
        raise RuntimeError("tshark -T fields failed: %s" % p.stderr.strip())
    ids = sorted({int(x) for x in p.stdout.split() if x.isdigit()})
    if not ids:
        return {}
    cmd = ["tshark", "-n", "-r", path, "-q"]
    for i in ids:
        cmd += ["-z", "follow,tcp,raw,%d" % i]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 2):
        raise RuntimeError("tshark follow failed: %s" % p.stderr.strip())
    streams, cur = {}, None
    for line in p.stdout.splitlines():
        if line.startswith("Filter: tcp.stream eq"):
            cur = {"nodes": [None, None], "data": [[], []]}
        elif cur is None:
            continue
        elif line.startswith("Node 0: "):
            cur["nodes"][0] = line[8:].strip()
        elif line.startswith("Node 1: "):
            cur["nodes"][1] = line[8:].strip()
        elif line.startswith("====="):
            n0, n1 = cur["nodes"]
            if n0 and n1:
                res = {}
                for idx, ep in enumerate((n0, n1)):
                    b = bytes.fromhex("".join(cur["data"][idx]))
                    res[ep] = (len(b), hashlib.sha256(b).hexdigest())
                streams[frozenset((n0, n1))] = res
            cur = None
        elif line.startswith("\t"):
            cur["data"][1].append(line.strip())
        elif line.strip():
            cur["data"][0].append(line.strip())
    return streams


def check_tshark_parity(case, res, tmp):
    """Return (problems, skipped_reason)."""
    if not shutil.which("tshark"):
        return [], "tshark-parity: tshark not installed"
    if len(case.inputs) > 1 and not shutil.which("mergecap"):
        return [], "tshark-parity: mergecap not installed"
    try:
        ts = tshark_streams(case.inputs, tmp)
    except (RuntimeError, subprocess.CalledProcessError) as e:
        return ["tshark-parity: %s" % e], None
    problems, seen = [], set()
    for f in res.flows:
        if f.proto != "tcp":
            continue
        pair = frozenset((f.client, f.server))
        seen.add(pair)
        t = ts.get(pair)
        if t is None:
            problems.append("tshark-parity: %s > %s: tshark has no such TCP stream"
                            % (f.client, f.server))
            continue
        for direction, sender in (("c2s", f.client), ("s2c", f.server)):
            mine, theirs = f.stream(direction), t[sender]
            if mine is None:
                problems.append("tshark-parity: %s > %s: no %s= in mdmwatch's line"
                                % (f.client, f.server, direction))
            elif mine != theirs:
                problems.append("tshark-parity: %s > %s %s: mdmwatch %d:%s, tshark %d:%s"
                                % (f.client, f.server, direction, mine[0], mine[1],
                                   theirs[0], theirs[1]))
    if not case.filters():  # with a filter mdmwatch is meant to see less than tshark
        for pair in ts:
            if pair not in seen:
                problems.append("tshark-parity: tshark stream %s has no mdmwatch flow"
                                % " <> ".join(sorted(pair)))
    return problems, None


# -- one case ----------------------------------------------------------------------

class Runner:
    def __init__(self, opts):
        self.opts = opts
        self.results = {}  # case name -> (Case, Result), each case run once

    def run(self, name):
        if name not in self.results:
            case = Case(self.opts.pcaps, name)
            self.results[name] = (case, run_mdmwatch(self.opts.binary, case, self.opts.timeout))
        return self.results[name]

    def check(self, name):
        """Return (status, [detail lines])."""
        try:
            case, res = self.run(name)
        except CaseError as e:
            return "FAIL", [str(e)]
        problems, skipped, notes = [], [], []

        if res.rc != case.expected_exit():
            problems.append("%s, expected exit status %d"
                            % (describe_rc(res.rc), case.expected_exit()))
        for text in case.values("stderr-contains"):
            if text not in res.stderr:
                problems.append("stderr does not contain %r" % text)
        for ln in res.bad_lines:
            problems.append("unparsable output line: %s" % ln)

        if self.opts.update:
            notes.append(self.update(case, res))
            note = self.update_transactions(case, res)
            if note:
                notes.append(note)
            note, trouble = self.update_alerts(case, res)
            if note:
                notes.append(note)
            problems += trouble
        elif not os.path.exists(case.expected_path):
            problems.append("no expected.txt (create it with --update, then review it)")
        else:
            with open(case.expected_path, encoding="utf-8") as f:
                expected = [ln for ln in f.read().splitlines() if ln.strip()]
            if sorted(expected) != expected:
                problems.append("expected.txt is not sorted")
            if sorted(expected) != res.lines:
                diff = difflib.unified_diff(sorted(expected), res.lines,
                                            "expected.txt", "mdmwatch", lineterm="", n=1)
                problems.append("output differs from expected.txt:")
                problems += ["  " + d for d in diff]
        if not self.opts.update and os.path.exists(case.transactions_path):
            problems += self.check_transactions(case, res)
        if not self.opts.update and (case.expect_no_alerts
                                     or os.path.exists(case.alerts_path)):
            problems += self.check_alerts(case, res)

        others = case.values("same-streams-as")
        if others:
            want = set()
            try:
                for other in others:
                    want |= stream_set(self.run(other)[1].flows)
            except (CaseError, OSError) as e:
                problems.append("same-streams-as: %s" % e)
            else:
                got = stream_set(res.flows)
                if got != want:
                    problems.append("streams differ from %s:" % " + ".join(others))
                    problems += ["  only here:  %s c2s=%s s2c=%s" % (k, a, b)
                                 for k, a, b in sorted(got - want, key=str)]
                    problems += ["  only there: %s c2s=%s s2c=%s" % (k, a, b)
                                 for k, a, b in sorted(want - got, key=str)]

        if case.has("tshark-parity"):
            with tempfile.TemporaryDirectory(prefix="golden-tshark-") as tmp:
                p, why = check_tshark_parity(case, res, tmp)
            problems += p
            if why:
                skipped.append(why)

        if problems:
            details = problems + ["command: " + res.cmd]
            if res.stderr.strip():
                details += ["stderr: " + ln for ln in res.stderr.strip().splitlines()[-10:]]
            return "FAIL", details
        if skipped:
            return "SKIP", skipped + notes
        return "PASS", notes

    def check_transactions(self, case, res):
        if res.transactions is None:
            return ["%s: %s" % (TRANSACTIONS_FILE, res.db_error)]
        with open(case.transactions_path, encoding="utf-8") as f:
            expected = [ln for ln in f.read().splitlines() if ln.strip()]
        if expected == res.transactions:
            return []
        diff = difflib.unified_diff(expected, res.transactions, TRANSACTIONS_FILE,
                                    "transactions", lineterm="", n=1)
        return ["transactions differ from %s:" % TRANSACTIONS_FILE] + ["  " + d for d in diff]

    def update_transactions(self, case, res):
        exists = os.path.exists(case.transactions_path)
        if res.transactions is None:
            return "%s not written: %s" % (TRANSACTIONS_FILE, res.db_error) if exists else None
        if not res.transactions and not exists:
            return None  # never create it for an empty table
        new = "".join(ln + "\n" for ln in res.transactions)
        old = None
        if exists:
            with open(case.transactions_path, encoding="utf-8") as f:
                old = f.read()
        if old == new:
            return "%s unchanged" % TRANSACTIONS_FILE
        with open(case.transactions_path, "w", encoding="utf-8") as f:
            f.write(new)
        return "%s %s (%d rows): review the diff" % (
            TRANSACTIONS_FILE, "written" if old is None else "UPDATED", len(res.transactions))

    def check_alerts(self, case, res):
        if res.alerts is None:
            return ["%s: %s" % (ALERTS_FILE, res.alerts_error)]
        expected = []
        if os.path.exists(case.alerts_path):
            with open(case.alerts_path, encoding="utf-8") as f:
                expected = [ln for ln in f.read().splitlines() if ln.strip()]
        if expected == res.alerts:
            return []
        if not expected:
            why = NO_ALERTS_MARKER if case.expect_no_alerts else "an empty " + ALERTS_FILE
            head = "%d alert(s) raised, %s asserts none:" % (res.n_alerts, why)
        else:
            head = "alerts differ from %s:" % ALERTS_FILE
        diff = difflib.unified_diff(expected, res.alerts, ALERTS_FILE, "alerts",
                                    lineterm="", n=1)
        return [head] + ["  " + d for d in diff]

    def update_alerts(self, case, res):
        """(note or None, [problem]). A case with expect-no-alerts whose run
        raised alerts is a failure, never blessed."""
        exists = os.path.exists(case.alerts_path)
        if res.alerts is None:
            if exists or case.expect_no_alerts:
                return None, ["%s not written: %s" % (ALERTS_FILE, res.alerts_error)]
            return None, []
        if case.expect_no_alerts and res.alerts:
            return None, ["%s: the binary raised %d alert(s), %s not written:"
                          % (NO_ALERTS_MARKER, res.n_alerts, ALERTS_FILE)] + [
                              "  " + ln for ln in res.alerts]
        if not res.alerts and not exists and not case.expect_no_alerts:
            return None, []  # never create it for an empty table without the marker
        new = "".join(ln + "\n" for ln in res.alerts)
        old = None
        if exists:
            with open(case.alerts_path, encoding="utf-8") as f:
                old = f.read()
        if old == new:
            return "%s unchanged" % ALERTS_FILE, []
        with open(case.alerts_path, "w", encoding="utf-8") as f:
            f.write(new)
        return "%s %s (%d alerts): review the diff" % (
            ALERTS_FILE, "written" if old is None else "UPDATED", res.n_alerts), []

    def update(self, case, res):
        new = "".join(ln + "\n" for ln in res.lines)
        old = None
        if os.path.exists(case.expected_path):
            with open(case.expected_path, encoding="utf-8") as f:
                old = f.read()
        if old == new:
            return "expected.txt unchanged"
        with open(case.expected_path, "w", encoding="utf-8") as f:
            f.write(new)
        return "expected.txt %s (%d lines): review the diff" % (
            "written" if old is None else "UPDATED", len(res.lines))


def main():
    ap = argparse.ArgumentParser(
        description="Run pcaps/<case>/ golden cases through mdmwatch.")
    ap.add_argument("--binary", required=True, help="the mdmwatch executable")
    ap.add_argument("--pcaps", required=True, help="the pcaps/ directory")
    ap.add_argument("--case", action="append", default=[], metavar="NAME",
                    help="run only this case (repeatable)")
    ap.add_argument("--update", action="store_true",
                    help="rewrite expected.txt (and expected-transactions.txt / "
                    "expected-alerts.txt when those tables have rows, or the case has "
                    "expect-no-alerts) from the binary's output")
    ap.add_argument("--timeout", type=float, default=120,
                    help="seconds per mdmwatch run (default 120)")
    opts = ap.parse_args()
    opts.binary = os.path.abspath(opts.binary)
    opts.pcaps = os.path.abspath(opts.pcaps)
    if not os.access(opts.binary, os.X_OK):
        ap.error("%s is not an executable" % opts.binary)
    if not os.path.isdir(opts.pcaps):
        ap.error("%s is not a directory" % opts.pcaps)

    names = discover(opts.pcaps)
    for n in opts.case:
        if n not in names:
            ap.error("no case %r in %s" % (n, opts.pcaps))
    if opts.case:
        names = [n for n in names if n in opts.case]

    runner = Runner(opts)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for name in names:
        status, details = runner.check(name)
        counts[status] += 1
        print("%s %s" % (status, name))
        for d in details:
            print("    " + d)
        sys.stdout.flush()

    summary = "%d passed, %d failed" % (counts["PASS"], counts["FAIL"])
    if counts["SKIP"]:
        summary += ", %d skipped" % counts["SKIP"]
    print(summary)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
