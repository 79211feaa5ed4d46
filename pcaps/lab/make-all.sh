#!/bin/bash
# make-all.sh - regenerate the capture cases under pcaps/.
#
#   sudo pcaps/lab/make-all.sh            # every case
#   sudo pcaps/lab/make-all.sh http-clean tiny-segments   # some cases
#
# Runs as root (it records on lo). Servers listen on 127.0.0.1 / ::1 only and
# clients only talk to them; nothing leaves the machine. Recorded cases come
# from real software (exchange_emu.py + curl, recorded by tcpdump or dumpcap);
# derived cases are scapy/editcap/head rewrites of the recorded ones (derive.py)
# and are regenerated after them.
#
# Only captures are rewritten. expected.txt comes from the binary: afterwards
# run `tests/golden.py --binary build/mdmwatch --pcaps pcaps --update`, then
# review `git diff pcaps/` before committing.
#
# Deterministic where practical: fixed server ports, client ports pinned with
# curl --local-port (one per case), fixed Date/Server headers, User-Agents and
# bodies. So the byte streams
# (and their SHA-256) are the same on every run; packet counts and timestamps
# may differ slightly.

set -euo pipefail

LAB=$(cd "$(dirname "$0")" && pwd)
PCAPS=$(dirname "$LAB")
# shellcheck source=lib.sh
. "$LAB/lib.sh"
trap lab_cleanup EXIT

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump/dumpcap on lo)"
for tool in tcpdump dumpcap editcap curl; do
	command -v $tool >/dev/null || die "$tool not installed"
done
"$LAB_PY" -c 'import scapy' 2>/dev/null || die "$LAB_PY has no scapy (apt-get install python3-scapy)"

V4=127.0.0.1
V6=::1
F4="host $V4 and tcp port 8080"
F6="ip6 host $V6 and tcp port 8080"

# case_dir CASE: an empty-of-captures folder for CASE (README/args/checks/
# expected.txt are kept).
case_dir() {
	mkdir -p "$PCAPS/$1"
	rm -f "$PCAPS/$1"/*.pcap "$PCAPS/$1"/*.pcapng
	echo "$PCAPS/$1"
}

# record CASE FILE CLIENTPORT URL RECORDER RECORDER-ARGS...: one
# exchange_session, recorded; tried again (3 times at most) if the recorder
# reports kernel drops, which happens now and then with -i any.
record() {
	local case=$1 file=$2 ports=$3 url=$4 dir
	shift 4
	dir=$(case_dir "$case")
	for _ in 1 2 3; do
		rec_start "$1" "$dir/$file" "${@:2}"
		exchange_session "$url" "$ports" || die "$case: curl failed"
		if rec_stop; then
			report "$case"
			return 0
		fi
		echo "  $case: recorder dropped packets, recording again" >&2
	done
	die "$case: the recorder keeps dropping packets"
}

do_recorded() {
	local c any=0
	for c in http-clean http-ipv6 http-sll2 http-sll http-pcapng http-snaplen; do
		want $c && any=1
	done
	if [ $any = 1 ]; then
		echo "recording (exchange_emu.py on $V4:8080 and [$V6]:8080)"
		emu_start $V4 8080
		local emu4=$EMU_PID
		emu_start $V6 8080
		local emu6=$EMU_PID
		if want http-clean; then
			record http-clean http-clean.pcap 41000 \
				"http://$V4:8080" tcpdump -i lo "$F4"
		fi
		if want http-ipv6; then
			record http-ipv6 http-ipv6.pcap 41010 \
				"http://[$V6]:8080" tcpdump -i lo "$F6"
		fi
		if want http-sll2; then
			record http-sll2 http-sll2.pcap 41020 \
				"http://$V4:8080" tcpdump -i any -y LINUX_SLL2 "$F4"
		fi
		if want http-sll; then
			record http-sll http-sll.pcap 41030 \
				"http://$V4:8080" tcpdump -i any -y LINUX_SLL "$F4"
		fi
		if want http-pcapng; then
			record http-pcapng http-pcapng.pcapng 41040 \
				"http://$V4:8080" dumpcap -i lo -f "$F4"
		fi
		if want http-snaplen; then
			record http-snaplen http-snaplen.pcap 41050 \
				"http://$V4:8080" tcpdump -i lo -s 200 "$F4"
		fi
		stop "$emu4"
		stop "$emu6"
	fi
	do_bpf
}

do_bpf() {
	local dir
	if want bpf; then
		echo "recording bpf (exchange_emu.py on $V4:8081 and $V4:8082)"
		emu_start $V4 8081
		local a=$EMU_PID
		emu_start $V4 8082
		local b=$EMU_PID
		dir=$(case_dir bpf)
		rec_start tcpdump "$dir/bpf.pcap" -i lo \
			"host $V4 and (tcp port 8081 or tcp port 8082)"
		# Both clients at once, so the two flows interleave in the file.
		small_session "http://$V4:8081" 41060 &
		local c1=$!
		small_session "http://$V4:8082" 41070 &
		local c2=$!
		wait $c1 || die "bpf: curl to 8081 failed"
		wait $c2 || die "bpf: curl to 8082 failed"
		rec_stop || die "bpf: the recorder dropped packets"
		report bpf
		stop "$a"
		stop "$b"
	fi
}

# demo: the story mdmwatch exists for, on three loopback "hosts" talking to
# the emulator on 127.0.0.1:8080.  A phone (127.0.0.10) is refused on
# ActiveSync (403), then reads mail through EWS with its own mail app's
# User-Agent (200): the MDM bypass.  A laptop (127.0.0.20) uses EWS with
# Outlook's User-Agent: the benign case.
do_demo() {
	local dir
	want demo || return 0
	echo "recording demo (exchange_emu.py on $V4:8080)"
	emu_start $V4 8080
	local emu=$EMU_PID
	dir=$(case_dir demo)
	rec_start tcpdump "$dir/demo.pcap" -i lo "tcp port 8080"
	local quiet=(-sS -o /dev/null -H 'Expect:')
	curl "${quiet[@]}" --interface 127.0.0.10 --local-port 42000 \
		-A 'Apple-iPhone14C2/2008.73' -H 'MS-ASProtocolVersion: 16.1' \
		-H 'Content-Type: application/vnd.ms-sync.wbxml' \
		--data-binary @"$LAB/bodies/eas-sync.wbxml" \
		"http://$V4:8080/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone" ||
		die "demo: curl failed"
	curl "${quiet[@]}" --interface 127.0.0.10 --local-port 42001 \
		-u 'alice@contoso.com:Demo-Passw0rd' \
		-A 'Mail/3654.120.0.1.13 CFNetwork/1410.0.3 Darwin/22.6.0' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$LAB/bodies/ews-finditem.xml" "http://$V4:8080/EWS/Exchange.asmx" ||
		die "demo: curl failed"
	curl "${quiet[@]}" --interface 127.0.0.20 --local-port 42002 \
		-u 'CONTOSO\alice:Demo-Passw0rd' \
		-A 'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$LAB/bodies/ews-getfolder.xml" "http://$V4:8080/EWS/Exchange.asmx" ||
		die "demo: curl failed"
	rec_stop || die "demo: the recorder dropped packets"
	report demo
	stop "$emu"
}

# Exchange dissector cases: one exchange_emu.py on 127.0.0.1:8080, one
# recording per case, clients from lib.sh (curl) and clients.py (raw sockets).
# Client ports: eas-refusals 43000-43007, ews-ntlm-keepalive 43100-43102,
# rpc-over-http 43200-43201, mapi-owa-autodiscover 43300-43303,
# http-pipelined 43400.
EXCHANGE_CASES=(eas-refusals ews-ntlm-keepalive rpc-over-http mapi-owa-autodiscover
	http-pipelined)

# record_session CASE SESSION-FUNCTION BASEPORT: tcpdump on lo around one
# session; recorded again (3 times at most) if the recorder reports drops.
record_session() {
	local case=$1 fn=$2 port=$3 dir
	dir=$(case_dir "$case")
	for _ in 1 2 3; do
		rec_start tcpdump "$dir/$case.pcap" -i lo "$F4"
		"$fn" "$port" || die "$case: a client failed"
		if rec_stop; then
			report "$case"
			return 0
		fi
		echo "  $case: recorder dropped packets, recording again" >&2
	done
	die "$case: the recorder keeps dropping packets"
}

do_exchange() {
	local c any=0
	for c in "${EXCHANGE_CASES[@]}"; do
		want "$c" && any=1
	done
	[ $any = 1 ] || return 0
	echo "recording Exchange cases (exchange_emu.py on $V4:8080)"
	emu_start $V4 8080
	local emu=$EMU_PID
	want eas-refusals && record_session eas-refusals eas_refusals_session 43000
	want ews-ntlm-keepalive && record_session ews-ntlm-keepalive ews_ntlm_session 43100
	want rpc-over-http && record_session rpc-over-http rpc_session 43200
	want mapi-owa-autodiscover && record_session mapi-owa-autodiscover mapi_owa_session 43300
	want http-pipelined && record_session http-pipelined pipelined_session 43400
	stop "$emu"
}

do_derived() {
	local dir src cut
	echo "deriving"
	for c in tiny-segments overlap-different vlan-qinq raw-ip null-loopback \
		ipv4-fragments ipv6-ext; do
		if want $c; then
			case_dir $c >/dev/null
			"$LAB_PY" "$LAB/derive.py" --pcaps "$PCAPS" "$c"
			report $c
		fi
	done

	src=$PCAPS/http-clean/http-clean.pcap
	if want truncated; then
		# Cut in the middle of a record in the middle of the file, the way a
		# capture killed while writing, or copied half-way, ends.
		dir=$(case_dir truncated)
		cut=$("$LAB_PY" "$LAB/derive.py" --pcaps "$PCAPS" cut-offset "$src")
		head -c "$cut" "$src" >"$dir/cut.pcap"
		report truncated
	fi
	if want multi-file; then
		# Two files of (almost) equal packet count; the single TCP flow spans
		# both. editcap names the pieces <stem>_NNNNN_<timestamp>.pcap.
		dir=$(case_dir multi-file)
		local n half
		n=$("$LAB_PY" "$LAB/derive.py" --pcaps "$PCAPS" count "$src")
		half=$(((n + 1) / 2))
		editcap -c "$half" "$src" "$LAB_TMP/split.pcap"
		mv "$LAB_TMP"/split_00000_*.pcap "$dir/part-1.pcap"
		mv "$LAB_TMP"/split_00001_*.pcap "$dir/part-2.pcap"
		report multi-file
	fi
	if want not-a-capture; then
		dir=$(case_dir not-a-capture)
		cat >"$dir/notes.pcap" <<-'EOF'
		This is not a capture file; it is a text file that happens to be
		named notes.pcap. mdmwatch must refuse it with a clear error naming
		the file, and exit with status 1.
		EOF
		report not-a-capture
	fi
}

report() {
	local f
	for f in "$PCAPS/$1"/*.pcap "$PCAPS/$1"/*.pcapng; do
		[ -e "$f" ] || continue
		printf '  %-18s %-28s %8d bytes\n' "$1" "$(basename "$f")" "$(stat -c %s "$f")"
	done
}

ALL=(http-clean http-ipv6 http-sll2 http-sll http-pcapng http-snaplen bpf
	tiny-segments overlap-different vlan-qinq raw-ip null-loopback
	ipv4-fragments ipv6-ext truncated multi-file not-a-capture demo
	eas-refusals ews-ntlm-keepalive rpc-over-http mapi-owa-autodiscover http-pipelined)
if [ $# -gt 0 ]; then
	WANT=("$@")
	for c in "${WANT[@]}"; do
		[[ " ${ALL[*]} " == *" $c "* ]] || die "unknown case $c (known: ${ALL[*]})"
	done
else
	WANT=("${ALL[@]}")
fi
want() { [[ " ${WANT[*]} " == *" $1 "* ]]; }

do_recorded
do_demo
do_exchange
do_derived
echo "total: $(du -sh --exclude=lab "$PCAPS" | cut -f1) in $PCAPS"
echo "now: tests/golden.py --binary <build>/mdmwatch --pcaps $PCAPS --update; review git diff"
