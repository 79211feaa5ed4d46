#!/bin/bash
# make-tls.sh - regenerate the TLS capture cases pcaps/tls-*/.
#
#   sudo pcaps/lab/make-tls.sh                 # every TLS case
#   sudo pcaps/lab/make-tls.sh tls-13-keyupdate tls-12-rsa-kx   # some cases
#
# Runs as root (tcpdump on lo; the server listens on 127.0.0.1:443). Real TLS
# stacks only, loopback only: the server is tls/tls_emu.py (exchange_emu.py's
# handler under Python's ssl, i.e. OpenSSL 3); the clients are curl (OpenSSL,
# SSLKEYLOGFILE), Python's ssl (SSLContext.keylog_filename, tls/tls_client.py),
# openssl s_client (-keylogfile) and gnutls-cli (GnuTLS, SSLKEYLOGFILE). Each
# case folder gets
#
#   <case>.pcap           tcpdump -i lo -U --immediate-mode, 'host 127.0.0.1 and tcp port 443'
#   keys.txt              every line the client wrote to its key log
#   tshark-requests.txt   the HTTP requests tshark decrypts, in order, one per
#                         line "METHOD URI" (tshark -T fields, separator a space)
#
# README.md, checks and expected.txt are kept. expected.txt comes from the
# binary: afterwards run `tests/golden.py --binary <build>/mdmwatch --pcaps
# pcaps --update --case tls-...`, then review `git diff pcaps/`.
#
# TLS is randomised (client/server randoms, key shares), so every regeneration
# gives new bytes and new SHA-256 values in expected.txt, even where the client
# port is pinned (44300-44470: curl --local-port, s_client -bind, Python source_address;
# gnutls-cli cannot bind, so its cases use an ephemeral port). What stays fixed:
# server 127.0.0.1:443, the requests, their bodies, the responses, the
# negotiated version and cipher (checked here against tshark's reading of the
# ServerHello), and tshark-requests.txt.
#
# Test keys: tls/certs/ holds a throwaway CA and two server certificates
# (RSA 2048 and ECDSA P-256, CN/SAN mail.lab.test, IP 127.0.0.1), generated
# here when missing and committed. They protect nothing.

set -euo pipefail

LAB=$(cd "$(dirname "$0")" && pwd)
PCAPS=$(dirname "$LAB")
TLS=$LAB/tls
CERTS=$TLS/certs
# shellcheck source=lib.sh
. "$LAB/lib.sh"
trap lab_cleanup EXIT

die() {
	echo "make-tls: $*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (tcpdump on lo, port 443)"
for tool in tcpdump tshark editcap curl openssl gnutls-cli "$LAB_PY"; do
	command -v "$tool" >/dev/null || die "$tool not installed (gnutls-cli: apt-get install gnutls-bin)"
done

V4=127.0.0.1
FILTER="host $V4 and tcp port 443"
CA=$CERTS/ca.pem
RSA=("$CERTS/rsa-cert.pem" "$CERTS/rsa-key.pem")
ECDSA=("$CERTS/ecdsa-cert.pem" "$CERTS/ecdsa-key.pem")

# make_certs: the throwaway CA and server certificates, when missing.
make_certs() {
	[ -f "$CA" ] && [ -f "${RSA[0]}" ] && [ -f "${ECDSA[0]}" ] && return 0
	echo "generating throwaway test certificates in $CERTS"
	mkdir -p "$CERTS"
	local ext=$LAB_TMP/san.cnf
	cat >"$ext" <<-'EOF'
	subjectAltName = DNS:mail.lab.test, DNS:autodiscover.lab.test, IP:127.0.0.1, IP:::1
	basicConstraints = CA:FALSE
	keyUsage = digitalSignature, keyEncipherment
	extendedKeyUsage = serverAuth
	EOF
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$CERTS/ca-key.pem" -out "$CA" \
		-days 7300 -subj '/CN=mdmwatch lab test CA (throwaway)' 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout "${RSA[1]}" -out "$LAB_TMP/rsa.csr" \
		-subj '/CN=mail.lab.test' 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "${ECDSA[1]}" \
		-out "$LAB_TMP/ec.csr" -subj '/CN=mail.lab.test' 2>/dev/null
	local k
	for k in rsa ecdsa; do
		openssl x509 -req -in "$LAB_TMP/${k/ecdsa/ec}.csr" -CA "$CA" -CAkey "$CERTS/ca-key.pem" \
			-set_serial "0x$(openssl rand -hex 8)" -days 7300 -extfile "$ext" \
			-out "$CERTS/$k-cert.pem" 2>/dev/null
	done
}

# srv_start CERT KEY [tls_emu.py options]: the TLS server on 127.0.0.1:443.
srv_start() {
	local ready=$LAB_TMP/tls_emu.ready
	rm -f "$ready"
	"$LAB_PY" "$TLS/tls_emu.py" --host $V4 --port 443 --cert "$1" --key "$2" "${@:3}" \
		--ready-file "$ready" 2>>"$LAB_TMP/tls_emu.log" &
	SRV_PID=$!
	LAB_PIDS+=("$SRV_PID")
	wait_for "$ready" .
}

# case_dir CASE: the folder, its old captures, key logs and reference removed.
case_dir() {
	mkdir -p "$PCAPS/$1"
	rm -f "$PCAPS/$1"/*.pcap "$PCAPS/$1"/*.pcapng "$PCAPS/$1"/keys*.txt \
		"$PCAPS/$1"/tshark-*.txt
	echo "$PCAPS/$1"
}

# -- clients ----------------------------------------------------------------

CURL_COMMON=(-sS -o /dev/null -H 'Expect:' --cacert "$CA"
	--resolve "mail.lab.test:443:$V4")
U=https://mail.lab.test

# curl_session LOCALPORT "TLS OPTIONS" REQ...: one curl process, one keep-alive
# connection, the requests in order; the last says "Connection: close".
# REQ: eas foldersync getfolder finditem blob (as in tls/tls_client.py).
# The per-transfer options are repeated after each --next: curl reuses a
# connection only when they match.
curl_session() {
	local lport=$1 n=$(($# - 2)) i=0 r
	local -a opts args
	read -r -a opts <<<"$2"
	shift 2
	for r in "$@"; do
		i=$((i + 1))
		[ $i -gt 1 ] && args+=(--next)
		args+=("${CURL_COMMON[@]}" --local-port "$lport" "${opts[@]}")
		[ $i = $n ] && args+=(-H 'Connection: close')
		case $r in
		eas | foldersync)
			local cmd=Sync
			[ "$r" = foldersync ] && cmd=FolderSync
			args+=(-A 'Apple-iPhone14C2/2008.73' -H 'MS-ASProtocolVersion: 16.1'
				-H 'Content-Type: application/vnd.ms-sync.wbxml'
				--data-binary @"$LAB/bodies/eas-sync.wbxml"
				"$U/Microsoft-Server-ActiveSync?Cmd=$cmd&User=alice&DeviceId=ABC123&DeviceType=iPhone")
			;;
		getfolder | finditem)
			local b=ews-getfolder.xml
			[ "$r" = finditem ] && b=ews-finditem.xml
			args+=(-A 'ExchangeServicesClient/15.00.0913.015'
				-H 'Content-Type: text/xml; charset=utf-8'
				--data-binary @"$LAB/bodies/$b" "$U/EWS/Exchange.asmx")
			;;
		blob) args+=(-A 'mdmwatch-lab/1' "$U/lab/blob") ;;
		*) die "curl_session: unknown request $r" ;;
		esac
	done
	curl "${args[@]}"
}

# s_client ARGS...: openssl s_client towards the server, verifying it.
S_CLIENT=(openssl s_client -connect "$V4:443" -servername mail.lab.test
	-verify_hostname mail.lab.test -verify_return_error -CAfile "$CA" -alpn http/1.1)
GNUTLS_CLI=(gnutls-cli --x509cafile "$CA" --sni-hostname mail.lab.test
	--verify-hostname mail.lab.test --alpn http/1.1 -p 443 "$V4")

# pipe ITEMS... -- CLIENT...: tls_client.py pipe (requests through stdin).
pipe() {
	"$LAB_PY" "$TLS/tls_client.py" pipe "$@" >/dev/null 2>>"$LAB_TMP/client.log" ||
		{ tail -5 "$LAB_TMP/client.log" >&2; die "$CASE: client failed"; }
}
pyclient() {
	"$LAB_PY" "$TLS/tls_client.py" python "$@" 2>>"$LAB_TMP/client.log" ||
		{ tail -5 "$LAB_TMP/client.log" >&2; die "$CASE: python client failed"; }
}

# -- checks -----------------------------------------------------------------

# capture_of DIR: the (single) capture in DIR.
capture_of() {
	local f
	for f in "$1"/*.pcap "$1"/*.pcapng; do
		if [ -e "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	die "no capture in $1"
}

# requests_ref CASE N [tshark -o options]: write tshark-requests.txt and
# check that it has N lines.
requests_ref() {
	local dir=$PCAPS/$1 want=$2 f got
	shift 2
	f=$(capture_of "$dir")
	(cd "$dir" && tshark -n -r "$f" "$@" -Y http.request -T fields -E separator=/s \
		-e http.request.method -e http.request.uri) >"$dir/tshark-requests.txt"
	got=$(wc -l <"$dir/tshark-requests.txt")
	[ "$got" = "$want" ] || {
		cat "$dir/tshark-requests.txt" >&2
		die "$1: tshark decrypted $got requests, expected $want"
	}
}

# hello CASE CIPHER [etm|noetm]: every ServerHello in the capture chose CIPHER
# (IANA number, e.g. 0x1301); etm/noetm: encrypt_then_mac (extension 22)
# present / absent in every ServerHello.
hello() {
	local dir=$PCAPS/$1 want=$2 etm=${3:-} f n=0
	f=$(capture_of "$dir")
	while IFS=$'\t' read -r cs exts; do
		n=$((n + 1))
		[ "$cs" = "$want" ] || die "$1: ServerHello cipher $cs, expected $want"
		case $etm in
		etm) [[ ",$exts," == *,22,* ]] || die "$1: no encrypt_then_mac in ServerHello" ;;
		noetm) [[ ",$exts," != *,22,* ]] || die "$1: encrypt_then_mac in ServerHello" ;;
		esac
	done < <(tshark -n -r "$f" -Y 'tls.handshake.type == 2' -T fields -E aggregator=, \
		-e tls.handshake.ciphersuite -e tls.handshake.extension.type)
	[ $n -gt 0 ] || die "$1: no ServerHello in the capture"
}

report() {
	local f
	for f in "$PCAPS/$1"/*.pcap "$PCAPS/$1"/*.pcapng; do
		[ -e "$f" ] || continue
		printf '  %-28s %-34s %8d bytes, %s requests\n' "$1" "$(basename "$f")" \
			"$(stat -c %s "$f")" "$(wc -l <"$PCAPS/$1/tshark-requests.txt" 2>/dev/null || echo -)"
	done
}

# begin CASE [srv_start args]: case folder, server, recorder. DIR, KEYS set.
begin() {
	CASE=$1
	shift
	echo "$CASE"
	DIR=$(case_dir "$CASE")
	KEYS=$DIR/keys.txt
	srv_start "$@"
	rec_start tcpdump "$DIR/$CASE.pcap" -i lo "$FILTER"
}

# finish: stop recorder and server.
finish() {
	rec_stop || die "$CASE: the recorder dropped packets"
	stop "$SRV_PID"
	[ ! -e "$KEYS" ] || chmod 644 "$KEYS"
}

KL=(-o "tls.keylog_file:keys.txt")

# tshark as root says so on stderr every time; keep the rest of its stderr.
tshark() {
	command tshark "$@" 2> >(grep -v '^Running as user' >&2)
}

# -- cases ------------------------------------------------------------------

case_tls-13-aes128gcm() {
	begin tls-13-aes128gcm "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS curl_session 44300 \
		"--http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256" \
		eas getfolder blob finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0x1301
	requests_ref "$CASE" 4 "${KL[@]}"
}

case_tls-13-aes256gcm() {
	begin tls-13-aes256gcm "${RSA[@]}"
	# Python's client offers TLS_AES_256_GCM_SHA384 first; the server follows
	# the client's order.
	pyclient --keylog "$KEYS" --local-port 44310 --tls 1.3 eas foldersync getfolder finditem
	finish
	hello "$CASE" 0x1302
	requests_ref "$CASE" 4 "${KL[@]}"
}

case_tls-13-chacha20() {
	begin tls-13-chacha20 "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS pipe eas getfolder finditem -- "${GNUTLS_CLI[@]}" \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305'
	finish
	hello "$CASE" 0x1303
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-13-aes128ccm() {
	begin tls-13-aes128ccm "${RSA[@]}"
	pipe eas getfolder finditem -- "${S_CLIENT[@]}" -bind $V4:44320 -tls1_3 \
		-ciphersuites TLS_AES_128_CCM_SHA256 -keylogfile "$KEYS"
	finish
	hello "$CASE" 0x1304
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-13-keyupdate() {
	begin tls-13-keyupdate "${RSA[@]}"
	# "K": client KeyUpdate with update_requested (the server updates too);
	# "k": client KeyUpdate, update_not_requested.
	pipe eas K getfolder k foldersync finditem -- "${S_CLIENT[@]}" -bind $V4:44330 \
		-tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256 -keylogfile "$KEYS"
	finish
	hello "$CASE" 0x1301
	requests_ref "$CASE" 4 "${KL[@]}"
	local ku
	ku=$(tshark -n -r "$DIR/$CASE.pcap" "${KL[@]/keys.txt/$KEYS}" -Y 'tls.handshake.type == 24' | wc -l)
	[ "$ku" -ge 3 ] || die "$CASE: $ku KeyUpdate messages decrypted, expected 3"
}

case_tls-13-resume-psk() {
	begin tls-13-resume-psk "${RSA[@]}"
	local sess=$LAB_TMP/tls13.sess
	rm -f "$sess"
	pipe eas getfolder -- "${S_CLIENT[@]}" -bind $V4:44340 -tls1_3 \
		-keylogfile "$KEYS" -sess_out "$sess"
	pipe foldersync finditem -- "${S_CLIENT[@]}" -bind $V4:44341 -tls1_3 \
		-keylogfile "$KEYS" -sess_in "$sess"
	finish
	hello "$CASE" 0x1302
	requests_ref "$CASE" 4 "${KL[@]}"
	# the second ClientHello offers a PSK (extension 41) and the server takes it
	tshark -n -r "$DIR/$CASE.pcap" -Y 'tls.handshake.type == 2 && tls.handshake.extension.type == 41' |
		grep -q . || die "$CASE: no PSK resumption"
}

case_tls-12-ecdhe-rsa-aes128gcm() {
	begin tls-12-ecdhe-rsa-aes128gcm "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS curl_session 44350 \
		"--http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256" \
		eas getfolder blob finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0xc02f
	requests_ref "$CASE" 4 "${KL[@]}"
}

case_tls-12-ecdsa-chacha20() {
	begin tls-12-ecdsa-chacha20 "${ECDSA[@]}"
	SSLKEYLOGFILE=$KEYS pipe eas getfolder finditem -- "${GNUTLS_CLI[@]}" \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA'
	finish
	hello "$CASE" 0xcca9
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-12-cbc-sha384-etm() {
	begin tls-12-cbc-sha384-etm "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS curl_session 44360 \
		"--http1.1 --tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES256-SHA384" \
		eas getfolder finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0xc028 etm
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-12-cbc-sha256-noetm() {
	begin tls-12-cbc-sha256-noetm "${RSA[@]}"
	pipe eas getfolder finditem -- "${S_CLIENT[@]}" -bind $V4:44370 -tls1_2 \
		-cipher ECDHE-RSA-AES128-SHA256 -no_etm -keylogfile "$KEYS"
	finish
	hello "$CASE" 0xc027 noetm
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-12-aes128-sha() {
	begin tls-12-aes128-sha "${RSA[@]}"
	pyclient --keylog "$KEYS" --local-port 44380 --tls 1.2 --ciphers AES128-SHA \
		eas getfolder finditem
	finish
	hello "$CASE" 0x002f etm
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-10-cbc() {
	begin tls-10-cbc "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS curl_session 44390 \
		"--http1.1 --tlsv1.0 --tls-max 1.0 --ciphers ECDHE-RSA-AES128-SHA:@SECLEVEL=0" \
		eas getfolder finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0xc013 etm
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-11-cbc() {
	# the server refuses encrypt-then-MAC here (tls_emu.py --no-etm)
	begin tls-11-cbc "${RSA[@]}" --no-etm
	pipe eas getfolder finditem -- "${S_CLIENT[@]}" -bind $V4:44400 -tls1_1 \
		-cipher 'ECDHE-RSA-AES256-SHA:@SECLEVEL=0' -keylogfile "$KEYS"
	finish
	hello "$CASE" 0xc014 noetm
	requests_ref "$CASE" 3 "${KL[@]}"
}

case_tls-12-rsa-kx() {
	begin tls-12-rsa-kx "${RSA[@]}"
	SSLKEYLOGFILE=$KEYS curl_session 44410 \
		"--http1.1 --tlsv1.2 --tls-max 1.2 --ciphers AES128-GCM-SHA256" \
		eas getfolder finditem || die "$CASE: curl failed"
	finish
	cp "${RSA[1]}" "$DIR/server-key.pem"
	hello "$CASE" 0x009c
	# the reference comes from the server's private key alone, not keys.txt
	requests_ref "$CASE" 3 -o 'uat:rsa_keys:"server-key.pem",""'
}

case_tls-12-resume-ticket() {
	begin tls-12-resume-ticket "${RSA[@]}"
	pyclient --keylog "$KEYS" --local-port 44420 --tls 1.2 --session-reuse \
		eas getfolder
	finish
	hello "$CASE" 0xc030
	requests_ref "$CASE" 4 "${KL[@]}"
	resumed_12 1
}

# resumed_12 TICKETS: TLS 1.2 resumption happened (two connections, one
# Certificate message: the second handshake was abbreviated) and the server
# sent NewSessionTicket messages (cleartext in TLS 1.2): none when TICKETS is 0,
# at least one otherwise.
resumed_12() {
	local f certs tickets
	f=$DIR/$CASE.pcap
	certs=$(tshark -n -r "$f" -Y 'tls.handshake.type == 11' | wc -l)
	[ "$certs" = 1 ] || die "$CASE: $certs Certificate messages, expected 1 (not resumed?)"
	tickets=$(tshark -n -r "$f" -Y 'tls.handshake.type == 4' | wc -l)
	if [ "$1" = 0 ]; then
		[ "$tickets" = 0 ] || die "$CASE: $tickets NewSessionTicket messages, expected none"
	else
		[ "$tickets" -ge 1 ] || die "$CASE: no NewSessionTicket"
	fi
}

case_tls-12-resume-id() {
	begin tls-12-resume-id "${RSA[@]}" --no-ticket
	local sess=$LAB_TMP/tls12.sess
	rm -f "$sess"
	pipe eas getfolder -- "${S_CLIENT[@]}" -bind $V4:44430 -tls1_2 \
		-cipher ECDHE-RSA-AES128-GCM-SHA256 -keylogfile "$KEYS" -sess_out "$sess"
	pipe foldersync finditem -- "${S_CLIENT[@]}" -bind $V4:44431 -tls1_2 \
		-cipher ECDHE-RSA-AES128-GCM-SHA256 -keylogfile "$KEYS" -sess_in "$sess"
	finish
	hello "$CASE" 0xc02f
	requests_ref "$CASE" 4 "${KL[@]}"
	resumed_12 0
}

case_tls-alpn-h2() {
	begin tls-alpn-h2 "${RSA[@]}" --alpn h2,http/1.1 --h2-requests 2
	local o=(-sS -o /dev/null -H 'Expect:' --cacert "$CA" --resolve "mail.lab.test:443:$V4"
		--local-port 44440 --http2 --tlsv1.3
		-A 'Apple-iPhone14C2/2008.73' -H 'MS-ASProtocolVersion: 16.1'
		-H 'Content-Type: application/vnd.ms-sync.wbxml'
		--data-binary @"$LAB/bodies/eas-sync.wbxml")
	SSLKEYLOGFILE=$KEYS curl "${o[@]}" \
		"$U/Microsoft-Server-ActiveSync?Cmd=Sync&User=alice&DeviceId=ABC123&DeviceType=iPhone" \
		--next "${o[@]}" \
		"$U/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=alice&DeviceId=ABC123&DeviceType=iPhone" ||
		die "$CASE: curl failed"
	finish
	hello "$CASE" 0x1302
	# No HTTP/1 requests: tshark-requests.txt is empty on purpose. The HTTP/2
	# requests tshark decrypts go to tshark-http2-requests.txt.
	requests_ref "$CASE" 0 "${KL[@]}"
	(cd "$DIR" && tshark -n -r "$CASE.pcap" "${KL[@]}" -Y 'http2.type == 1 && http2.headers.method' \
		-T fields -E separator=/s -e http2.headers.method -e http2.headers.path) \
		>"$DIR/tshark-http2-requests.txt"
	[ "$(wc -l <"$DIR/tshark-http2-requests.txt")" = 2 ] || die "$CASE: expected 2 HTTP/2 requests"
	# TLS 1.3: the server's ALPN choice is in EncryptedExtensions (type 8)
	tshark -n -r "$DIR/$CASE.pcap" -o "tls.keylog_file:$KEYS" -Y 'tls.handshake.type == 8' \
		-T fields -e tls.handshake.extensions_alpn_str | grep -qx h2 || die "$CASE: ALPN is not h2"
}

case_tls-pcapng-secrets() {
	local src=$PCAPS/tls-13-aes128gcm
	[ -f "$src/tls-13-aes128gcm.pcap" ] || die "tls-pcapng-secrets needs tls-13-aes128gcm"
	CASE=tls-pcapng-secrets
	echo "$CASE (from tls-13-aes128gcm)"
	DIR=$(case_dir $CASE)
	editcap --inject-secrets "tls,$src/keys.txt" "$src/tls-13-aes128gcm.pcap" "$DIR/$CASE.pcapng"
	# tshark needs no key log option: the secrets are in the file (DSB block)
	requests_ref "$CASE" 4
	cmp -s "$DIR/tshark-requests.txt" "$src/tshark-requests.txt" ||
		die "$CASE: requests differ from tls-13-aes128gcm's"
}

case_tls-nokey() {
	begin tls-nokey "${RSA[@]}"
	KEYS=
	curl_session 44450 "--http1.1 --tlsv1.3" eas getfolder finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0x1302
	requests_ref "$CASE" 0
}

case_tls-wrongkey() {
	CASE=tls-wrongkey
	# Session A (not recorded) supplies the secrets.
	srv_start "${RSA[@]}"
	SSLKEYLOGFILE=$LAB_TMP/keys-a.txt curl_session 44460 \
		"--http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256" eas ||
		die "$CASE: curl failed"
	stop "$SRV_PID"
	# Session B (recorded); its own key log stays out of the folder.
	begin tls-wrongkey "${RSA[@]}"
	SSLKEYLOGFILE=$LAB_TMP/keys-b.txt curl_session 44470 \
		"--http1.1 --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256" \
		eas getfolder finditem || die "$CASE: curl failed"
	finish
	hello "$CASE" 0x1301
	# keys.txt: B's client random with A's secrets, label for label, so a
	# reader finds "the" keys and every record fails authentication.
	cp "$LAB_TMP/keys-a.txt" "$DIR/keys-other-session.txt"
	"$LAB_PY" - "$LAB_TMP/keys-a.txt" "$LAB_TMP/keys-b.txt" >"$DIR/keys.txt" <<-'EOF'
	import sys
	def load(p):
	    return [l.split() for l in open(p) if l.strip() and not l.startswith("#")]
	a = {lab: sec for lab, _, sec in load(sys.argv[1])}
	for lab, rnd, sec in load(sys.argv[2]):
	    assert a[lab] != sec
	    print(lab, rnd, a[lab])
	EOF
	chmod 644 "$DIR"/keys*.txt
	requests_ref "$CASE" 0 "${KL[@]}"
	requests_ref "$CASE" 0 -o "tls.keylog_file:keys-other-session.txt"
}

ALL=(tls-13-aes128gcm tls-13-aes256gcm tls-13-chacha20 tls-13-aes128ccm
	tls-13-keyupdate tls-13-resume-psk
	tls-12-ecdhe-rsa-aes128gcm tls-12-ecdsa-chacha20 tls-12-cbc-sha384-etm
	tls-12-cbc-sha256-noetm tls-12-aes128-sha tls-12-rsa-kx
	tls-12-resume-ticket tls-12-resume-id
	tls-11-cbc tls-10-cbc tls-alpn-h2 tls-pcapng-secrets tls-nokey tls-wrongkey)
if [ $# -gt 0 ]; then
	WANT=("$@")
	for c in "${WANT[@]}"; do
		[[ " ${ALL[*]} " == *" $c "* ]] || die "unknown case $c (known: ${ALL[*]})"
	done
	# the pcapng is made from tls-13-aes128gcm: keep the two in step
	[[ " ${WANT[*]} " != *" tls-13-aes128gcm "* ]] || WANT+=(tls-pcapng-secrets)
else
	WANT=("${ALL[@]}")
fi

echo "openssl: $(openssl version)"
echo "curl: $(curl --version | head -1)"
echo "gnutls-cli: $(gnutls-cli --version | head -1)"
echo "python: $("$LAB_PY" -c 'import ssl, sys; print(sys.version.split()[0], ssl.OPENSSL_VERSION)')"
echo "tshark: $(tshark --version 2>/dev/null | head -1)"
make_certs
for c in "${ALL[@]}"; do
	if [[ " ${WANT[*]} " == *" $c "* ]]; then
		"case_$c"
		report "$c"
	fi
done
echo "total: $(du -csh "$PCAPS"/tls-*/*.pcap* | tail -1 | cut -f1) of captures in $PCAPS/tls-*"
echo "now: tests/golden.py --binary <build>/mdmwatch --pcaps $PCAPS --update --case <case>...; review git diff"
