#!/bin/bash
# setup.sh — the front door.  On a fresh Debian 12 machine, as root:
#
#   ./setup.sh demo             install what is needed, build, run mdmwatch on
#                               the bundled demo capture and show what it found
#   ./setup.sh check            install, build, run the whole test suite
#   ./setup.sh check-sanitize   the same suite in an ASan+UBSan build
#   ./setup.sh build            install and build only (binary: build/mdmwatch)
#   ./setup.sh lab              also install the capture lab's tools and regenerate
#                               every capture in pcaps/ (then bless and review:
#                               tests/golden.py --binary build/mdmwatch --pcaps pcaps --update)
#
# Everything the project needs comes from Debian's archive through apt-get;
# nothing is downloaded at build or run time.  Packages already installed
# are not touched, so a second run goes straight to the build.
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(
	gcc libc6-dev meson ninja-build pkg-config
	libpcap-dev libndpi-dev libhtp-dev libssl-dev libsqlite3-dev libcmocka-dev libinih-dev
	python3 tshark sqlite3 clang-format
)

# Only for regenerating the captures (./setup.sh lab), not for building or testing.
LAB_PACKAGES=(tcpdump curl openssl python3-scapy gnutls-bin)

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: these Debian packages are missing: ${missing[*]}" >&2
		echo "setup.sh: run as root (or install them with apt-get) and try again" >&2
		exit 1
	fi
	echo "setup.sh: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [meson options...]
build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" -Dwerror=true "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}

demo() {
	build build
	local db=build/demo.db
	rm -f "$db" "$db-wal" "$db-shm"
	echo "\$ build/mdmwatch -r pcaps/demo/demo.pcap -d $db"
	build/mdmwatch -r pcaps/demo/demo.pcap -d "$db"
	echo
	echo "\$ sqlite3 $db 'SELECT protocol, operation, status, user, auth, client_ip, user_agent FROM transactions'"
	sqlite3 -header -column "$db" \
		'SELECT protocol, operation, status, user, auth, client_ip, user_agent FROM transactions ORDER BY ts'
	echo
	echo "\$ sqlite3 -line $db 'SELECT severity, rule, ..., evidence FROM v_alerts'"
	sqlite3 -line "$db" \
		'SELECT severity, rule, matched_by, user, client_ip, device_id, protocol, user_agent,
			first_seen, count, summary, remediation, evidence FROM v_alerts'
}

check() {
	build build
	meson test -C build --print-errorlogs --num-processes 2
}

check_sanitize() {
	build build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
	ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1} \
		meson test -C build-sanitize --print-errorlogs --num-processes 2
}

case "${1:-}" in
demo) install_packages && demo ;;
check) install_packages && check ;;
check-sanitize) install_packages && check_sanitize ;;
build) install_packages && build build ;;
lab)
	install_packages "${LAB_PACKAGES[@]}" && build build
	pcaps/lab/make-all.sh
	pcaps/lab/make-tls.sh
	;;
*)
	sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
