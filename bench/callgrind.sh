#!/bin/bash
# bench/callgrind.sh CAPTURE [KEYLOG] — where mdmwatch spends its instructions.
#
# Runs mdmwatch once under valgrind's callgrind and prints the top functions by
# instruction count (self, then inclusive) and the instructions per shared object (mdmwatch
# itself, libndpi, libhtp, libsqlite3, libcrypto, libpcap, libc...). Instruction counts do
# not depend on the load of a shared machine: this is the repeatable measure, wall time is
# not. Use a small capture (~20 MB: about 50x slower than native):
#   bench/make-capture.py --size 20M -o /tmp/c20.pcap --keylog /tmp/c20.keys
#   MDMWATCH=build-bench/mdmwatch bench/callgrind.sh /tmp/c20.pcap /tmp/c20.keys
#
# Environment: MDMWATCH (default <repo>/build/mdmwatch), TOP (default 15),
# OUT (keep callgrind.out there; default: a temp dir, removed).
# Function names need symbols: a meson release build is not stripped, so mdmwatch's own
# non-inlined functions are named; libraries show their exported symbols (install their
# -dbgsym packages for static ones).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
cap=${1:?usage: bench/callgrind.sh CAPTURE [KEYLOG]}
keys=${2:-}
mdm=${MDMWATCH:-$repo/build/mdmwatch}
top=${TOP:-15}

command -v valgrind >/dev/null || { echo "callgrind.sh: needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
[ -x "$mdm" ] || { echo "callgrind.sh: $mdm: no mdmwatch binary (set MDMWATCH)" >&2; exit 1; }
size=$(stat -c %s "$cap")
[ "$size" -le 60000000 ] || echo "callgrind.sh: $cap is $((size / 1000000)) MB: this will take a while (~20 MB is enough)" >&2

tmp=$(mktemp -d /tmp/mdmcg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=${OUT:-$tmp/callgrind.out}

echo "capture: $cap ($((size / 1000000)) MB)${keys:+, key log $keys}; binary $mdm"
valgrind --tool=callgrind --callgrind-out-file="$out" -q \
    "$mdm" -q --no-progress -r "$cap" ${keys:+-k "$keys"} -d "$tmp/cg.db"

callgrind_annotate --threshold=100 "$out" > "$tmp/self.txt" 2>/dev/null
callgrind_annotate --inclusive=yes --threshold=100 "$out" > "$tmp/incl.txt" 2>/dev/null
# the function lines come after the third dashed rule following the totals
rows() { awk '/^-+$/ {d++; next} d >= 5 && /^ *[0-9,]+ \(/' "$1"; }
total=$(awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' "$tmp/self.txt")
echo "total instructions: $total"
echo
echo "== top $top functions, self (exclusive) instructions"
rows "$tmp/self.txt" | sed -n "1,${top}p"
echo
echo "== top $top functions, inclusive instructions"
rows "$tmp/incl.txt" | sed -n "1,${top}p"
echo
echo "== self instructions per object"
rows "$tmp/self.txt" | awk -v total="$total" '{
        n = $1; gsub(",", "", n); obj = "?"
        if (match($0, /\[[^]]*\]$/)) { obj = substr($0, RSTART + 1, RLENGTH - 2); sub(".*/", "", obj) }
        s[obj] += n }
      END { for (o in s) printf "%15.0f %5.1f%%  %s\n", s[o], 100 * s[o] / total, o }' |
    sort -rn | sed -n 1,12p
[ -z "${OUT:-}" ] || echo "kept: $out (callgrind_annotate / kcachegrind)"
