#!/bin/bash
# bench/run.sh CAPTURE [KEYLOG] — throughput and memory of mdmwatch against a bare libpcap
# read, tshark and ssldump on the same capture and keys (DESIGN.md §5: benchmarks are
# scripts, not timed tests).
#
# Every command runs RUNS times (default 3), round-robin so that a burst of load on a shared
# machine hits all tools alike; the table shows the median wall time, the median user+sys
# CPU time and the largest max RSS, from /usr/bin/time. The page cache is warmed first (one
# read of the capture): the numbers are warm-cache numbers, the disk is not measured.
#
# Environment:
#   MDMWATCH   the binary (default: <repo>/build/mdmwatch); build a release one for numbers:
#              meson setup build-bench --buildtype=release && ninja -C build-bench mdmwatch
#   RUNS       repetitions (default 3)
#   TOOLS      space-separated subset of: bare mdmwatch tshark-stat tshark-http ssldump
#   CC         compiler for bare-read.c (default cc)
#   KEEP       1: keep the temp dir (outputs, databases, per-run logs)
#   RESULTS    also copy the raw per-run lines (tool run wall user sys maxrss_kb) here
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cap=${1:?usage: bench/run.sh CAPTURE [KEYLOG]}
keys=${2:-}
runs=${RUNS:-3}
mdm=${MDMWATCH:-$repo/build/mdmwatch}
tools=${TOOLS:-bare mdmwatch tshark-stat tshark-http ssldump}

[ -r "$cap" ] || { echo "run.sh: $cap: cannot read" >&2; exit 1; }
[ -z "$keys" ] || [ -r "$keys" ] || { echo "run.sh: $keys: cannot read" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time (apt-get install -y time)" >&2; exit 1; }
[ -x "$mdm" ] || { echo "run.sh: $mdm: no mdmwatch binary (set MDMWATCH)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/mdmbench.XXXXXX)
if [ "${KEEP:-0}" = 1 ]; then echo "temp dir: $tmp" >&2; else trap 'rm -rf "$tmp"' EXIT; fi

${CC:-cc} -O2 -o "$tmp/bare-read" "$here/bare-read.c" -lpcap

have() { command -v "$1" >/dev/null 2>&1; }
enabled() { case " $tools " in *" $1 "*) return 0;; esac; return 1; }

# name|command (run by bash -c; $T is the per-run scratch dir)
declare -a names cmds
add() { names+=("$1"); cmds+=("$2"); }
q() { printf '%q' "$1"; }
enabled bare && add bare-read "$(q "$tmp/bare-read") $(q "$cap") > \$T/out"
if enabled mdmwatch; then
    add mdmwatch "$(q "$mdm") -q --no-progress -r $(q "$cap")${keys:+ -k $(q "$keys")} -d \$T/bench.db"
fi
if have tshark; then
    enabled tshark-stat && add tshark-stat "tshark -n -r $(q "$cap") -q -z io,stat,0 > \$T/out 2>/dev/null"
    enabled tshark-http && add tshark-http "tshark -n -r $(q "$cap")${keys:+ -o tls.keylog_file:$(q "$keys")} -Y http.request -T fields -e http.request.uri > \$T/out 2>/dev/null"
else
    echo "run.sh: tshark not installed: its rows are left out" >&2
fi
if enabled ssldump; then
    if ! have ssldump; then
        echo "run.sh: ssldump not installed: its row is left out" >&2
    elif [ -z "$keys" ]; then
        echo "run.sh: no KEYLOG: ssldump row left out" >&2
    else
        add ssldump "ssldump -n -r $(q "$cap") -l $(q "$keys") -d -q > \$T/out 2>&1"
    fi
fi

cat "$cap" > /dev/null   # warm the page cache
size=$(stat -c %s "$cap")
frames=$("$tmp/bare-read" "$cap" | awk '{print $1}')

echo "capture: $cap ($(awk -v s="$size" 'BEGIN{printf "%.1f MB", s/1e6}'), $frames frames)${keys:+, key log $keys}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs: $runs each, round-robin; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo

for ((r = 1; r <= runs; r++)); do
    for i in "${!names[@]}"; do
        T="$tmp/${names[$i]}.$r"
        mkdir -p "$T"
        rc=0
        t0=$(date +%s%N)
        export T
        /usr/bin/time -o "$T/time" -f '%e %U %S %M' bash -c "${cmds[$i]}" || rc=$?
        t1=$(date +%s%N)
        [ "$rc" = 0 ] || echo "run.sh: ${names[$i]} run $r exited $rc" >&2
        # wall from date (ns; time's %e has 10 ms steps), user, sys, max RSS from time
        read -r _ u s m < <(tail -1 "$T/time")
        printf '%s %s %s %s %s %s\n' "${names[$i]}" "$r" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}')" "$u" "$s" "$m" >> "$tmp/results"
    done
done

[ -z "${RESULTS:-}" ] || cp "$tmp/results" "$RESULTS"

# per tool: median wall, min-max wall, median cpu (user+sys), max RSS over the runs.
# Ratios: wall / bare-read wall; wall and cpu / tshark-http's (the comparable job).
# On a loaded machine wall time stretches, cpu time much less: compare both.
awk -v size="$size" '
function med(s,   a, n, i, j, t) { n = split(s, a, " ");
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function rat(x, y) { return (y > 0) ? sprintf(x / y < 0.1 ? "%.3f" : "%.2f", x / y) : "-" }
{ if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1; lo[$1] = $3; hi[$1] = $3 }
  wall[$1] = wall[$1] " " $3; cpu[$1] = cpu[$1] " " ($4 + $5); if ($6 > rss[$1]) rss[$1] = $6
  if ($3 < lo[$1]) lo[$1] = $3; if ($3 > hi[$1]) hi[$1] = $3 }
END {
  for (i = 1; i <= n; i++) { t = order[i]; W[t] = med(wall[t]); C[t] = med(cpu[t]) }
  base = ("bare-read" in W) ? W["bare-read"] : 0
  ref = ("tshark-http" in W) ? W["tshark-http"] : 0
  refc = ("tshark-http" in C) ? C["tshark-http"] : 0
  printf "%-12s %8s %15s %8s %7s %8s %8s %8s %9s\n", "tool", "wall s", "(min-max)", "cpu s", "MB/s", "wall", "wall", "cpu", "max RSS"
  printf "%-12s %8s %15s %8s %7s %8s %8s %8s %9s\n", "", "median", "", "median", "(wall)", "x bare", "x tshark", "x tshark", "MB"
  for (i = 1; i <= n; i++) { t = order[i]
    printf "%-12s %8.3f %15s %8.2f %7.1f %8s %8s %8s %9.1f\n", t, W[t], sprintf("(%.2f-%.2f)", lo[t], hi[t]), C[t],
      (W[t] > 0 ? size / 1e6 / W[t] : 0), rat(W[t], base), rat(W[t], ref), rat(C[t], refc), rss[t] / 1024 }
  print ""
  printf "memory: mdmwatch max RSS %.1f MB", rss["mdmwatch"] / 1024
  if ("tshark-http" in rss) printf ", tshark (decrypt+HTTP) %.1f MB (%.2fx mdmwatch)", rss["tshark-http"] / 1024, rss["tshark-http"] / (rss["mdmwatch"] ? rss["mdmwatch"] : 1)
  if ("ssldump" in rss) printf ", ssldump %.1f MB", rss["ssldump"] / 1024
  printf ", bare-read %.1f MB; capture %.1f MB\n", rss["bare-read"] / 1024, size / 1e6
}' "$tmp/results"

# what each tool found (last run), so a fast-but-wrong run is visible
echo
if [ -f "$tmp/mdmwatch.$runs/bench.db" ] && have sqlite3; then
    echo "found: mdmwatch $(sqlite3 "$tmp/mdmwatch.$runs/bench.db" "SELECT count(*) || ' Exchange transactions (' || coalesce(sum(tls),0) || ' from TLS)' FROM transactions"), $(sqlite3 "$tmp/mdmwatch.$runs/bench.db" 'SELECT count(*) FROM alerts') alerts"
fi
[ -f "$tmp/tshark-http.$runs/out" ] && echo "found: tshark $(wc -l < "$tmp/tshark-http.$runs/out") HTTP requests (all HTTP, not only Exchange)"
[ -f "$tmp/ssldump.$runs/out" ] && echo "found: ssldump $(wc -l < "$tmp/ssldump.$runs/out") output lines (1.5: decrypts TLS 1.2 only, not TLS 1.3)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
