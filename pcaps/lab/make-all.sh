#!/bin/bash
# make-all.sh - regenerate the capture cases under pcaps/.
#
#   sudo pcaps/lab/make-all.sh            # every case
#   sudo pcaps/lab/make-all.sh http-clean tiny-segments   # some cases
#
# Runs as root (it records on lo). Servers listen on 127.0.0.1 / ::1 only and
# clients (bound to 127.0.0.1, ::1 or, in the detection cases, other 127.0.0.0/8
# addresses) only talk to them; nothing leaves the machine. Recorded cases come
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

# Detection cases: the stories DESIGN §3 "Detection" is about, each one
# recording, several loopback "hosts" (curl --interface / clients.py --bind:
# 127.0.0.10 a phone, 127.0.0.20 a laptop, 127.0.0.30/40/60 other clients)
# talking to one exchange_emu.py on 127.0.0.1:8090 (its own port, so that a
# recording never picks up another session's 8080 traffic). Client ports
# 45000-45079, ten per case:
#   bypass-ews-ntlm 45000-45001, bypass-rpc 45010-45012, bypass-mapi 45020-45021,
#   bypass-ip-only 45030-45031, medium-borrowed-outlook 45040-45041,
#   benign-mix 45050-45055, hunt-unlisted-ews 45060-45061,
#   policy-allowlist 45070-45071.
# Every connection's last request says "Connection: close" (or the server
# closes an RPC channel itself), so the server closes first and the pinned
# client ports are free again at once.
DETECT_CASES=(bypass-ews-ntlm bypass-rpc bypass-mapi bypass-ip-only medium-borrowed-outlook
	benign-mix hunt-unlisted-ews policy-allowlist)
DET_PORT=8090
DET_HOST=mail.contoso.com:$DET_PORT
DET_URL=http://$DET_HOST
DET_EAS=$DET_URL/Microsoft-Server-ActiveSync
DET_EWS=$DET_URL/EWS/Exchange.asmx
DET_FILTER="host $V4 and tcp port $DET_PORT"
PHONE=127.0.0.10
LAPTOP=127.0.0.20
# A third-party mail app (made up; not on any allowlist).
UA_ACME='AcmeMail/7.3.1 (Android 13; SM-G991B)'
UA_SAFARI='Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1'
UA_EWSAPI='ExchangeServicesClient/15.00.0913.015'
SOAP=(-H 'Content-Type: text/xml; charset=utf-8')
# EWS GetItem, fixed (the bodies/ files hold GetFolder and FindItem).
EWS_GETITEM='<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Header><t:RequestServerVersion Version="Exchange2016" /></soap:Header><soap:Body><m:GetItem><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:ItemIds><t:ItemId Id="AAMkAGLabItem0001" /></m:ItemIds></m:GetItem></soap:Body></soap:Envelope>'

# det_curl_opts ADDRESS LOCALPORT: like lab_curl_opts, from a chosen loopback
# address, to mail.contoso.com:8090 (-> 127.0.0.1). Repeat after every --next.
det_curl_opts() {
	LC=(-sS -o /dev/null -H 'Expect:' --interface "$1" --local-port "$2"
		--resolve "$DET_HOST:127.0.0.1")
}

# det_mapi ADDRESS LOCALPORT AUTH...: MAPI over HTTP Connect then Execute on
# one keep-alive connection; AUTH is curl's credential and User-Agent options.
det_mapi() {
	local addr=$1 port=$2 b=$LAB/bodies
	local mb='MailboxId=5f3a9c1e-7d2b-4e8a-9c6f-1b2d3e4f5a6b@contoso.com'
	shift 2
	local m=("$@" -H 'Content-Type: application/mapi-http'
		-H 'X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}:1')
	det_curl_opts "$addr" "$port"
	curl "${LC[@]}" "${m[@]}" -H 'X-RequestType: Connect' \
		-H 'X-RequestId: {E2EA6C1C-AA5C-4C6A-8A2B-2E9F3D4C5B6A}:1' \
		--data-binary @"$b/mapi-connect.bin" "$DET_URL/mapi/emsmdb/?$mb" \
		--next "${LC[@]}" "${m[@]}" -H 'X-RequestType: Execute' \
		-H 'X-RequestId: {E2EA6C1C-AA5C-4C6A-8A2B-2E9F3D4C5B6A}:2' \
		-H 'Cookie: MapiContext=LabMapiContextConnect' -H 'Connection: close' \
		--data-binary @"$b/mapi-execute.bin" "$DET_URL/mapi/emsmdb/?$mb"
}

# bypass-ews-ntlm: erin's phone is refused (403), then reads mail over EWS
# with NTLM (curl --ntlm: Type 1 -> 401, Type 3 -> 200, then requests without
# Authorization on the same connection) and a third-party User-Agent.
bypass_ews_ntlm_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'CONTOSO\erin:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=erin&DeviceId=ERINPHONE01&DeviceType=Android" || return 1
	local x=(-A "$UA_ACME" "${SOAP[@]}" --ntlm -u 'CONTOSO\erin:Passw0rd!')
	det_curl_opts $PHONE $((p + 1))
	curl "${LC[@]}" "${x[@]}" --data-binary @"$b/ews-finditem.xml" "$DET_EWS" \
		--next "${LC[@]}" "${x[@]}" --data-binary "$EWS_GETITEM" "$DET_EWS" \
		--next "${LC[@]}" "${x[@]}" --data-binary @"$b/ews-finditem.xml" "$DET_EWS" \
		--next "${LC[@]}" "${x[@]}" -H 'Connection: close' \
		--data-binary "$EWS_GETITEM" "$DET_EWS" || return 1
}

# bypass-rpc: ivan's phone is refused (456), then opens Outlook Anywhere IN
# and OUT channels (1 GB declared, never complete) from the same address with
# a non-Outlook User-Agent and Basic CONTOSO\ivan.
bypass_rpc_session() {
	local p=$1 b=$LAB/bodies a c
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'CONTOSO\ivan:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=ivan&DeviceId=BLK456&DeviceType=Android" || return 1
	local rpc=(--port "$DET_PORT" --bind "$PHONE" --host-header "$DET_HOST"
		--user-agent "$UA_ACME" --basic 'CONTOSO\ivan:Passw0rd!')
	"$LAB_PY" "$LAB/clients.py" rpc-in-as "${rpc[@]}" --local-port $((p + 1)) &
	a=$!
	sleep 0.2
	"$LAB_PY" "$LAB/clients.py" rpc-out-as "${rpc[@]}" --local-port $((p + 2)) &
	c=$!
	wait $a || return 1
	wait $c || return 1
}

# bypass-mapi: bob's phone gets HTTP 200 with WBXML Status 129 (blocked), then
# MAPI over HTTP Connect/Execute with a Bearer JWT (upn bob@contoso.com).
bypass_mapi_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'bob@contoso.com:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=bob&DeviceId=WBX129&DeviceType=Android" || return 1
	det_mapi $PHONE $((p + 1)) -A "$UA_ACME" --oauth2-bearer "$LAB_JWT"
}

# bypass-ip-only: carol's iPad is refused (403; the user only in User=), then
# the same address opens OWA with no credentials at all.
bypass_ip_only_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A 'Apple-iPad13C1/2008.73' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=carol&DeviceId=CAROLIPAD01&DeviceType=iPad" || return 1
	det_curl_opts $PHONE $((p + 1))
	curl "${LC[@]}" -A "$UA_SAFARI" -H 'Connection: close' "$DET_URL/owa/" || return 1
}

# medium-borrowed-outlook: henry's phone is refused (403), then EWS from the
# same address with Outlook's User-Agent and Basic CONTOSO\henry.
medium_borrowed_outlook_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\henry:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=henry&DeviceId=HENRYIPHONE1&DeviceType=iPhone" || return 1
	det_curl_opts $PHONE $((p + 1))
	curl "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\henry:Passw0rd!' "${SOAP[@]}" \
		-H 'Connection: close' --data-binary @"$b/ews-getfolder.xml" "$DET_EWS" || return 1
}

# benign-mix: nothing here may raise an alert. A managed phone syncs, a phone
# provisions (449, Provision, Sync), erin's phone is refused and only gets 401
# NTLM challenges on EWS, erin's Outlook on her laptop uses EWS and MAPI.
benign_mix_session() {
	local p=$1 b=$LAB/bodies t1
	det_curl_opts 127.0.0.30 "$p"
	curl "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\grace:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 3942919513' -H 'Connection: close' \
		--data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=grace&DeviceId=MGDGRACE01&DeviceType=iPhone" || return 1
	det_curl_opts 127.0.0.40 $((p + 1))
	curl "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 0' --data-binary @"$b/eas-foldersync.wbxml" \
		"$DET_EAS?Cmd=FolderSync&User=frank&DeviceId=PRV449&DeviceType=iPhone" \
		--next "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 0' --data-binary @"$b/eas-provision.wbxml" \
		"$DET_EAS?Cmd=Provision&User=frank&DeviceId=PRV449&DeviceType=iPhone" \
		--next "${LC[@]}" -A "$UA_IPHONE" -u 'CONTOSO\frank:Passw0rd!' "${EASH[@]}" \
		-H 'X-MS-PolicyKey: 3942919513' -H 'Connection: close' \
		--data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=frank&DeviceId=PRV449&DeviceType=iPhone" || return 1
	det_curl_opts $PHONE $((p + 2))
	curl "${LC[@]}" -A "$UA_ANDROID" -u 'CONTOSO\erin:Passw0rd!' "${EASH[@]}" \
		-H 'Connection: close' --data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=erin&DeviceId=ERINPHONE01&DeviceType=Android" || return 1
	# An NTLM NEGOTIATE_MESSAGE (labproto.ntlm_negotiate) sent as a fixed
	# header: the server challenges (401), the client never answers it.
	t1=$(cd "$LAB" && "$LAB_PY" -c \
		'import base64, labproto; print(base64.b64encode(labproto.ntlm_negotiate()).decode())')
	det_curl_opts $PHONE $((p + 3))
	curl "${LC[@]}" -A "$UA_ACME" "${SOAP[@]}" -H "Authorization: NTLM $t1" \
		--data-binary @"$b/ews-finditem.xml" "$DET_EWS" \
		--next "${LC[@]}" -A "$UA_ACME" "${SOAP[@]}" -H "Authorization: NTLM $t1" \
		-H 'Connection: close' --data-binary @"$b/ews-finditem.xml" "$DET_EWS" || return 1
	det_curl_opts $LAPTOP $((p + 4))
	curl "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\erin:Passw0rd!' "${SOAP[@]}" \
		--data-binary @"$b/ews-getfolder.xml" "$DET_EWS" \
		--next "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\erin:Passw0rd!' "${SOAP[@]}" \
		-H 'Connection: close' --data-binary @"$b/ews-finditem.xml" "$DET_EWS" || return 1
	det_mapi $LAPTOP $((p + 5)) -A "$UA_OUTLOOK" -u 'CONTOSO\erin:Passw0rd!'
}

# hunt-unlisted-ews: judy (never refused) uses the EWS Managed API from
# 127.0.0.60; kate's Outlook uses EWS from the laptop (allowlisted: nothing).
hunt_unlisted_ews_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts 127.0.0.60 "$p"
	curl "${LC[@]}" -A "$UA_EWSAPI" -u 'CONTOSO\judy:Passw0rd!' "${SOAP[@]}" \
		--data-binary @"$b/ews-getfolder.xml" "$DET_EWS" \
		--next "${LC[@]}" -A "$UA_EWSAPI" -u 'CONTOSO\judy:Passw0rd!' "${SOAP[@]}" \
		-H 'Connection: close' --data-binary @"$b/ews-finditem.xml" "$DET_EWS" || return 1
	det_curl_opts $LAPTOP $((p + 1))
	curl "${LC[@]}" -A "$UA_OUTLOOK" -u 'CONTOSO\kate:Passw0rd!' "${SOAP[@]}" \
		-H 'Connection: close' --data-binary @"$b/ews-getfolder.xml" "$DET_EWS" || return 1
}

# policy-allowlist (with pcaps/policy-allowlist/config): the phone is refused
# as fbrown (User= only), then EWS from it as frank with Outlook-iOS/2.0.
policy_allowlist_session() {
	local p=$1 b=$LAB/bodies
	det_curl_opts $PHONE "$p"
	curl "${LC[@]}" -A "$UA_IPHONE" "${EASH[@]}" -H 'Connection: close' \
		--data-binary @"$b/eas-sync.wbxml" \
		"$DET_EAS?Cmd=Sync&User=fbrown&DeviceId=FBROWNIPHONE1&DeviceType=iPhone" || return 1
	det_curl_opts $PHONE $((p + 1))
	curl "${LC[@]}" -A 'Outlook-iOS/2.0' -u 'CONTOSO\frank:Passw0rd!' "${SOAP[@]}" \
		-H 'Connection: close' --data-binary @"$b/ews-getfolder.xml" "$DET_EWS" || return 1
}

# record_det CASE SESSION-FUNCTION BASEPORT: record_session on port 8090.
record_det() {
	local case=$1 fn=$2 port=$3 dir
	dir=$(case_dir "$case")
	for _ in 1 2 3; do
		rec_start tcpdump "$dir/$case.pcap" -i lo "$DET_FILTER"
		"$fn" "$port" || die "$case: a client failed"
		if rec_stop; then
			report "$case"
			return 0
		fi
		echo "  $case: recorder dropped packets, recording again" >&2
	done
	die "$case: the recorder keeps dropping packets"
}

do_detect() {
	local c any=0
	for c in "${DETECT_CASES[@]}"; do
		want "$c" && any=1
	done
	[ $any = 1 ] || return 0
	echo "recording detection cases (exchange_emu.py on $V4:$DET_PORT)"
	emu_start $V4 $DET_PORT
	local emu=$EMU_PID
	want bypass-ews-ntlm && record_det bypass-ews-ntlm bypass_ews_ntlm_session 45000
	want bypass-rpc && record_det bypass-rpc bypass_rpc_session 45010
	want bypass-mapi && record_det bypass-mapi bypass_mapi_session 45020
	want bypass-ip-only && record_det bypass-ip-only bypass_ip_only_session 45030
	want medium-borrowed-outlook &&
		record_det medium-borrowed-outlook medium_borrowed_outlook_session 45040
	want benign-mix && record_det benign-mix benign_mix_session 45050
	want hunt-unlisted-ews && record_det hunt-unlisted-ews hunt_unlisted_ews_session 45060
	want policy-allowlist && record_det policy-allowlist policy_allowlist_session 45070
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
	eas-refusals ews-ntlm-keepalive rpc-over-http mapi-owa-autodiscover http-pipelined
	"${DETECT_CASES[@]}")
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
do_detect
do_derived
echo "total: $(du -sh --exclude=lab "$PCAPS" | cut -f1) in $PCAPS"
echo "now: tests/golden.py --binary <build>/mdmwatch --pcaps $PCAPS --update; review git diff"
