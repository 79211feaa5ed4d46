# shellcheck shell=bash
# lib.sh - helpers for make-all.sh: loopback servers, recorders, the curl client.
# Sourced, not run. Everything here talks to 127.0.0.1 / ::1 only.
#
# Every background process we start is remembered by PID and stopped by PID
# (lab_cleanup runs on exit), never by name.

LAB_PY=/usr/bin/python3          # Debian's python: has scapy, unlike a pyenv one
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in pcaps/lab
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

# -- Exchange dissector cases ------------------------------------------------
# Clients say "Host: mail.contoso.com:8080" (curl --resolve pins that name to
# 127.0.0.1: no DNS, loopback only). Every session's last request carries
# "Connection: close", so the server closes first and the pinned client ports
# are free again at once.

LAB_HOST=mail.contoso.com:8080
LAB_URL=http://$LAB_HOST
EAS=$LAB_URL/Microsoft-Server-ActiveSync
EWS=$LAB_URL/EWS/Exchange.asmx
UA_IPHONE='Apple-iPhone14C2/2008.73'
UA_ANDROID='Android-SAMSUNG-SM-G991B/101.50001'
UA_OUTLOOK='Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)'
UA_IOSMAIL='Mail/3654.120.0.1.13 CFNetwork/1410.0.3 Darwin/22.6.0'
UA_FIREFOX='Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0'
# An unsigned JWT (alg none): upn bob@contoso.com (labproto.jwt_unsigned).
LAB_JWT=eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhdWQiOiJodHRwczovL21haWwuY29udG9zby5jb20vIiwiaXNzIjoiaHR0cHM6Ly9zdHMuY29udG9zby5jb20vYWRmcy9zZXJ2aWNlcy90cnVzdCIsImlhdCI6MTc5NTkwNDY3NSwiZXhwIjoxNzk1OTA4Mjc1LCJ1cG4iOiJib2JAY29udG9zby5jb20iLCJzY3AiOiJFV1MuQWNjZXNzQXNVc2VyLkFsbCJ9.

# lab_curl_opts LOCALPORT: sets LC to the lab's fixed curl options (quiet, no
# Expect, pinned client port, mail.contoso.com -> 127.0.0.1). Repeat "${LC[@]}"
# after every --next: curl resets options there, and reuses a connection only
# when the local-port settings match.
lab_curl_opts() {
	LC=(-sS -o /dev/null -H 'Expect:' --local-port "$1"
		--resolve "$LAB_HOST:127.0.0.1")
}

# EASH: the usual ActiveSync request headers.
EASH=(-H 'MS-ASProtocolVersion: 16.1' -H 'Content-Type: application/vnd.ms-sync.wbxml')

# eas_refusals_session BASEPORT: eight connections from BASEPORT..BASEPORT+7.
eas_refusals_session() {
	local p=$1 b=$LAB/bodies
	# 1. OPTIONS (200), then FolderSync refused with 403; Basic CONTOSO\alice.
	lab_curl_opts "$p"
	curl "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\alice:Passw0rd!' -X OPTIONS "$EAS" \
		--next "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\alice:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 1407221417' -H 'Connection: close' \
		--data-binary @"$b/eas-foldersync.wbxml" \
		"$EAS?Cmd=FolderSync&User=alice&DeviceId=ALICEIPHONE01&DeviceType=iPhone" || return 1
	# 2. Sync refused with 456; Basic bob@contoso.com.
	lab_curl_opts $((p + 1))
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'bob@contoso.com:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$EAS?Cmd=Sync&User=bob%40contoso.com&DeviceId=BLK456&DeviceType=Android" || return 1
	# 3. Sync refused with 457; no Authorization: the user comes from User=.
	lab_curl_opts $((p + 2))
	curl "${LC[@]}" -A 'Apple-iPad13C1/2008.73' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$EAS?Cmd=Sync&User=CONTOSO%5CCarol&DeviceId=QRN457&DeviceType=iPad" || return 1
	# 4. Ping throttled: 503 + X-MS-ASThrottle: CommandFrequency; Basic dave.
	lab_curl_opts $((p + 3))
	curl "${LC[@]}" -A 'MSFT-WP/10.0.15063' -u 'dave:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-ping.wbxml" \
		"$EAS?Cmd=Ping&User=dave&DeviceId=THR503&DeviceType=WindowsPhone" || return 1
	# 5. Sync answered 200 with a WBXML top-level Status 129 (blocked); Basic erin.
	lab_curl_opts $((p + 4))
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'CONTOSO\erin:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$EAS?Cmd=Sync&User=erin&DeviceId=WBX129&DeviceType=Android" || return 1
	# 6. Provisioning, not a refusal: FolderSync 449, Provision 200, Sync 200
	#    (Collection Status 1) with the policy key; Basic frank; one connection.
	lab_curl_opts $((p + 5))
	curl "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 0' --data-binary @"$b/eas-foldersync.wbxml" \
		"$EAS?Cmd=FolderSync&User=frank&DeviceId=PRV449&DeviceType=iPhone" \
		--next "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 0' --data-binary @"$b/eas-provision.wbxml" \
		"$EAS?Cmd=Provision&User=frank&DeviceId=PRV449&DeviceType=iPhone" \
		--next "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 3942919513' -H 'Connection: close' \
		--data-binary @"$b/eas-sync.wbxml" \
		"$EAS?Cmd=Sync&User=frank&DeviceId=PRV449&DeviceType=iPhone" || return 1
	# 7. base64 query, MS-ASHTTP 2.2.1.1.1.1's own example (14.0, Sync,
	#    DeviceId v140Device, DeviceType SmartPhone, no User): 403; Basic grace.
	lab_curl_opts $((p + 6))
	curl "${LC[@]}" -A 'SmartPhone/14.0' -u 'CONTOSO\grace:Passw0rd!' \
		-H 'Content-Type: application/vnd.ms-sync.wbxml' -H 'Connection: close' \
		--data-binary @"$b/eas-sync.wbxml" "$EAS?jAAJBAp2MTQwRGV2aWNlAApTbWFydFBob25l" || return 1
	# 8. base64 query built by labproto.eas_b64_query(141, 9 FolderSync, 0x0409,
	#    DeviceId B64DEV02, PolicyKey 0x3A2B1C0D, DeviceType Android, User=Henry):
	#    403; no Authorization.
	lab_curl_opts $((p + 7))
	curl "${LC[@]}" -A "$UA_ANDROID" \
		-H 'Content-Type: application/vnd.ms-sync.wbxml' -H 'Connection: close' \
		--data-binary @"$b/eas-foldersync.wbxml" "$EAS?jQkJBAhCNjRERVYwMgQNHCs6B0FuZHJvaWQIBUhlbnJ5" || return 1
}

# ews_ntlm_session BASEPORT: connection-bound NTLM with curl, Negotiate with
# clients.py, and a plain request on a third connection (must not inherit).
ews_ntlm_session() {
	local p=$1 b=$LAB/bodies
	local x=(-A "$UA_IOSMAIL" -H 'Content-Type: text/xml; charset=utf-8')
	local ntlm=(--ntlm -u 'CONTOSO\alice:Passw0rd!')
	# curl sends Type 1 (Content-Length: 0) -> 401 + Type 2, Type 3 with the
	# GetFolder body -> 200; the two --next requests reuse the authenticated
	# connection and carry no Authorization (curl's NTLM state is "done").
	lab_curl_opts "$p"
	curl "${LC[@]}" "${x[@]}" "${ntlm[@]}" --data-binary @"$b/ews-getfolder.xml" "$EWS" \
		--next "${LC[@]}" "${x[@]}" "${ntlm[@]}" --data-binary @"$b/ews-finditem.xml" "$EWS" \
		--next "${LC[@]}" "${x[@]}" "${ntlm[@]}" -H 'Connection: close' \
		--data-binary @"$b/ews-getfolder.xml" "$EWS" || return 1
	"$LAB_PY" "$LAB/clients.py" negotiate --port 8080 --local-port $((p + 1)) || return 1
	lab_curl_opts $((p + 2))
	curl "${LC[@]}" "${x[@]}" -H 'Connection: close' \
		--data-binary @"$b/ews-finditem.xml" "$EWS" || return 1
}

# rpc_session BASEPORT: Outlook Anywhere IN and OUT channels, concurrently.
rpc_session() {
	local p=$1 a c
	"$LAB_PY" "$LAB/clients.py" rpc-in --port 8080 --local-port "$p" &
	a=$!
	sleep 0.2
	"$LAB_PY" "$LAB/clients.py" rpc-out --port 8080 --local-port $((p + 1)) &
	c=$!
	wait $a || return 1
	wait $c || return 1
}

# mapi_owa_session BASEPORT: MAPI over HTTP with a Bearer JWT, OWA forms
# login, Autodiscover/OAB/ECP/PowerShell, lookalike paths and a gzip EWS reply.
mapi_owa_session() {
	local p=$1 b=$LAB/bodies
	local mb='MailboxId=5f3a9c1e-7d2b-4e8a-9c6f-1b2d3e4f5a6b@contoso.com'
	local m=(-A "$UA_OUTLOOK" --oauth2-bearer "$LAB_JWT"
		-H 'Content-Type: application/mapi-http'
		-H 'X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}:1'
		-H 'X-ClientApplication: Outlook/16.0.17328.20124')
	lab_curl_opts "$p"
	curl "${LC[@]}" "${m[@]}" -H 'X-RequestType: Connect' \
		-H 'X-RequestId: {E2EA6C1C-AA5C-4C6A-8A2B-2E9F3D4C5B6A}:1' \
		--data-binary @"$b/mapi-connect.bin" "$LAB_URL/mapi/emsmdb/?$mb" \
		--next "${LC[@]}" "${m[@]}" -H 'X-RequestType: Execute' \
		-H 'X-RequestId: {E2EA6C1C-AA5C-4C6A-8A2B-2E9F3D4C5B6A}:2' \
		-H 'Cookie: MapiContext=LabMapiContextConnect' \
		--data-binary @"$b/mapi-execute.bin" "$LAB_URL/mapi/emsmdb/?$mb" \
		--next "${LC[@]}" "${m[@]}" -H 'X-RequestType: Bind' \
		-H 'X-RequestId: {E2EA6C1C-AA5C-4C6A-8A2B-2E9F3D4C5B6A}:3' -H 'Connection: close' \
		--data-binary @"$b/nspi-bind.bin" "$LAB_URL/mapi/nspi/?$mb" || return 1
	# OWA forms login -> 302 + cadata cookie, then the mailbox page with it.
	lab_curl_opts $((p + 1))
	curl "${LC[@]}" -A "$UA_FIREFOX" -H 'Content-Type: application/x-www-form-urlencoded' \
		--data-binary @"$b/owa-login.txt" "$LAB_URL/owa/auth.owa" \
		--next "${LC[@]}" -A "$UA_FIREFOX" -H 'Connection: close' \
		-H 'Cookie: cadata=1LabFixedCadataValue0123456789abcdef' "$LAB_URL/owa/" || return 1
	lab_curl_opts $((p + 2))
	curl "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\bob:Passw0rd!' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary '<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>bob@contoso.com</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>' \
		"$LAB_URL/autodiscover/autodiscover.xml" \
		--next "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\bob:Passw0rd!' \
		"$LAB_URL/OAB/6b2e4d3c-1a2b-4c5d-8e9f-0a1b2c3d4e5f/oab.xml" \
		--next "${LC[@]}" -A "$UA_FIREFOX" "$LAB_URL/ecp/" \
		--next "${LC[@]}" -A 'Microsoft WinRM Client' -u 'CONTOSO\admin:Passw0rd!' \
		-H 'Content-Type: application/soap+xml;charset=UTF-8' -H 'Connection: close' \
		--data-binary @"$b/wsman-create.xml" \
		"$LAB_URL/PowerShell/?PSVersion=5.1.19041.1" || return 1
	# Lookalikes (not Exchange), a percent-encoded EWS path (is EWS), and an EWS
	# reply with Content-Encoding: gzip (curl --compressed).
	lab_curl_opts $((p + 3))
	curl "${LC[@]}" -A 'mdmwatch-lab/1' "$LAB_URL/search?q=/EWS/Exchange.asmx" \
		--next "${LC[@]}" -A 'mdmwatch-lab/1' "$LAB_URL/EWSfoo/" \
		--next "${LC[@]}" -A 'ExchangeServicesClient/15.00.0913.015' \
		-H 'Content-Type: text/xml; charset=utf-8' \
		--data-binary @"$b/ews-getfolder.xml" "$LAB_URL/%45WS/Exchange.asmx" \
		--next "${LC[@]}" -A 'ExchangeServicesClient/15.00.0913.015' --compressed \
		-H 'Content-Type: text/xml; charset=utf-8' -H 'Connection: close' \
		--data-binary @"$b/ews-finditem.xml" "$EWS" || return 1
}

# pipelined_session BASEPORT: clients.py pipelined.
pipelined_session() {
	"$LAB_PY" "$LAB/clients.py" pipelined --port 8080 --local-port "$1"
}
