# shellcheck shell=bash
# lib.sh - helpers for make-all.sh: loopback servers, recorders, the curl client.
# Sourced, not run. Everything here talks to 127.0.0.1 / ::1 only.
#
# Every background process we start is remembered by PID and stopped by PID
# (lab_cleanup runs on exit), never by name.

LAB_PY=/usr/bin/python3          # Debian's python: has scapy, unlike a pyenv one
LAB_PIDS=()
LAB_TMP=$(mktemp -d /tmp/mdmwatch-lab.XXXXXX)

lab_cleanup() {
	local pid
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${LAB_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	LAB_PIDS=()
	rm -rf "$LAB_TMP"
}

lab_forget_pid() {
	local pid=$1 keep=() p
	for p in "${LAB_PIDS[@]}"; do
		[ "$p" = "$pid" ] || keep+=("$p")
	done
	LAB_PIDS=("${keep[@]}")
}

die() {
	echo "make-all: $*" >&2
	exit 1
}

# wait_for FILE PATTERN: until FILE contains PATTERN (5 s at most).
wait_for() {
	for _ in $(seq 1 100); do
		if [ -f "$1" ] && grep -q -- "$2" "$1"; then
			return 0
		fi
		sleep 0.05
	done
	cat "$1" >&2 2>/dev/null || true
	die "timed out waiting for '$2' in $1"
}

# emu_start HOST PORT: start exchange_emu.py; sets EMU_PID.
emu_start() {
	local host=$1 port=$2 ready
	ready="$LAB_TMP/emu-$port.ready"
	rm -f "$ready"
	"$LAB_PY" "$LAB/exchange_emu.py" --host "$host" --port "$port" \
		--ready-file "$ready" 2>>"$LAB_TMP/emu.log" &
	EMU_PID=$!
	LAB_PIDS+=("$EMU_PID")
	wait_for "$ready" .
}

# stop PID: SIGTERM and reap.
stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	lab_forget_pid "$1"
}

# rec_start tcpdump|dumpcap OUTFILE ARGS...: start a recorder and wait until it
# is really capturing (both tools say so on stderr); sets REC_PID.
rec_start() {
	local tool=$1 out=$2 log
	log="$LAB_TMP/rec.log"
	shift 2
	: >"$log"
	case $tool in
	tcpdump)
		tcpdump --immediate-mode -U -w "$out" "$@" 2>"$log" &
		REC_PID=$!
		LAB_PIDS+=("$REC_PID")
		wait_for "$log" "listening on"
		;;
	dumpcap)
		dumpcap -q -w "$out" "$@" 2>"$log" &
		REC_PID=$!
		LAB_PIDS+=("$REC_PID")
		wait_for "$log" "Capturing on"
		;;
	*) die "unknown recorder $tool" ;;
	esac
	REC_LOG=$log
}

# rec_stop: let the last packets (FIN/ACK) arrive and leave the capture
# ring (TPACKET_V3 hands a block to the reader when it fills or on a timeout;
# tcpdump runs in immediate mode, dumpcap does not), then stop the recorder
# with SIGINT so that it flushes and closes the file properly.
rec_stop() {
	sleep 1.5
	kill -INT "$REC_PID"
	wait "$REC_PID" || true
	lab_forget_pid "$REC_PID"
	if grep -Eq '^[1-9][0-9]* packets? dropped by (kernel|interface)' "$REC_LOG"; then
		sed 's/^/    /' "$REC_LOG" >&2
		return 1
	fi
}

# exchange_session BASEURL LOCALPORT: one curl process, one keep-alive TCP
# connection, four requests: ActiveSync Sync (refused, 403), EWS GetFolder
# (200), a 40 KB GET (many segments), EWS FindItem (200, sent with
# "Connection: close", so the server closes first).
#
# LOCALPORT pins the client port so that re-recordings give the same flow
# tuples. Because the server closes first, TIME_WAIT stays on the server's
# side and the client port is free again at once (a new SYN to a TIME_WAIT
# socket is accepted, RFC 6191). --local-port is repeated after each --next:
# curl only reuses a connection whose local-port settings match.
exchange_session() {
	local u=$1 lp=(--local-port "$2")
	local quiet=(-sS -o /dev/null -H 'Expect:')
	curl "${quiet[@]}" "${lp[@]}" \
		-A 'Apple-iPhone14C2/2008.73' \
		-H 'MS-ASProtocolVersion: 16.1' \
		-H 'Content-Type: application/vnd.ms-sync.wbxml' \
		--data-binary @"$LAB/bodies/eas-sync.wbxml" \
		"$u/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone" \
		--next "${quiet[@]}" "${lp[@]}" \
		-A 'ExchangeServicesClient/15.00.0913.015' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$LAB/bodies/ews-getfolder.xml" "$u/EWS/Exchange.asmx" \
		--next "${quiet[@]}" "${lp[@]}" \
		-A 'mdmwatch-lab/1' "$u/lab/blob" \
		--next "${quiet[@]}" "${lp[@]}" \
		-A 'ExchangeServicesClient/15.00.0913.015' \
		-H 'Content-Type: text/xml; charset=utf-8' -H 'Connection: close' \
		--data-binary @"$LAB/bodies/ews-finditem.xml" "$u/EWS/Exchange.asmx"
}

# small_session BASEURL LOCALPORT: two EWS requests on one connection, the
# second with "Connection: close" (bpf case).
small_session() {
	local u=$1 lp=(--local-port "$2")
	local quiet=(-sS -o /dev/null -H 'Expect:')
	curl "${quiet[@]}" "${lp[@]}" \
		-A 'ExchangeServicesClient/15.00.0913.015' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$LAB/bodies/ews-getfolder.xml" "$u/EWS/Exchange.asmx" \
		--next "${quiet[@]}" "${lp[@]}" \
		-A 'ExchangeServicesClient/15.00.0913.015' \
		-H 'Content-Type: text/xml; charset=utf-8' -H 'Connection: close' \
		--data-binary @"$LAB/bodies/ews-finditem.xml" "$u/EWS/Exchange.asmx"
}
