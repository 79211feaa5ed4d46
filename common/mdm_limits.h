/*
 * limits.h — every resource that traffic can grow, its default cap and why.
 *
 * Each cap has a counter in the run summary (sensor/stats.h) and a policy
 * that says what happens when it is hit.  Memory stays bounded whatever the
 * size or content of the capture: the sum of these caps (plus a constant per
 * flow) is the sensor's working set.
 *
 * Values are defaults; the ones marked "tunable" can be changed on the
 * command line (see README "Limits").
 */
#ifndef MDM_LIMITS_H
#define MDM_LIMITS_H

/*
 * Flow table.
 */

/* Concurrent flows tracked (tunable, --max-flows).  An Exchange front-end
 * pair serving ~20k mailboxes holds about 60k concurrent TCP connections at
 * peak (Outlook keeps 2-4 per user, phones 1-2).  262144 leaves 4x headroom
 * and costs ~200 bytes each plus session state (about 100 MiB at most).
 * Policy when full: evict the oldest embryonic flow, then the oldest closed,
 * then the least recently seen established one; counted as flows_evicted. */
#define LIMIT_FLOWS 262144u

/* Idle timeouts, in seconds of capture time.  Embryonic: a SYN that never
 * got an answer.  Established: EWS streaming subscriptions and MAPI
 * NotificationWait long-polls stay silent up to 30 minutes, so anything
 * shorter would split one Outlook connection (and its NTLM identity) in two.
 * Closed: long enough to absorb the last retransmitted FIN/ACKs. */
#define LIMIT_TIMEOUT_EMBRYONIC_S   30u
#define LIMIT_TIMEOUT_ESTABLISHED_S 1860u
#define LIMIT_TIMEOUT_CLOSED_S      15u
#define LIMIT_TIMEOUT_UDP_S         120u

/*
 * IP fragment reassembly (IPv4 and IPv6).
 */

/* Datagrams being reassembled at once.  Fragmented TCP is rare and always
 * suspicious on an Exchange segment; 1024 is plenty for real traffic and
 * bounds a fragment flood.  Policy: evict the oldest datagram, counted. */
#define LIMIT_FRAG_DATAGRAMS 1024u
/* Bytes held across all pending datagrams.  Policy: evict oldest. */
#define LIMIT_FRAG_BYTES (16u * 1024u * 1024u)
/* Fragments per datagram (a 64 KiB datagram in 8-byte pieces would be 8192;
 * real stacks send at most ~45 at 1500 MTU).  Policy: drop the datagram. */
#define LIMIT_FRAG_PER_DATAGRAM 128u
/* Seconds a datagram may wait for its missing fragments (RFC 791 suggests
 * 15 s; Linux uses 30 s).  Policy: drop, counted as frag_timeouts. */
#define LIMIT_FRAG_TIMEOUT_S 30u

/*
 * TCP reassembly.  In-order bytes are handed to the consumer straight from
 * the packet and never stored; only out-of-order segments are queued.
 */

/* Out-of-order bytes queued per direction (tunable, --reasm-dir-cap).  Two
 * full receive windows of a default Windows server (64 KiB unscaled, more
 * with scaling) cover a lost segment followed by a window of data.  Policy:
 * declare a gap up to the first queued segment and carry on from there. */
#define LIMIT_REASM_DIR_BYTES (1024u * 1024u)
/* Out-of-order segments queued per direction: bounds the list walk that
 * every out-of-order insert does (1-byte segments would otherwise make an
 * 1 MiB queue a million nodes long).  Policy: as for the byte cap. */
#define LIMIT_REASM_DIR_SEGS 2048u
/* Out-of-order bytes queued across all flows (tunable, --reasm-memcap).
 * Policy: the direction that asks for more than is left gaps instead. */
#define LIMIT_REASM_TOTAL_BYTES (256u * 1024u * 1024u)
/* Bytes delivered per direction before reassembly stops for that direction
 * (tunable, --reasm-depth; 0 = no limit).  Default unlimited: Outlook
 * Anywhere and MAPI carry every request of a session on one long
 * connection, and each request's headers matter.  Memory does not depend on
 * depth because delivered bytes are not stored. */
#define LIMIT_REASM_DEPTH 0u

/*
 * Protocol identification.
 */

/* Packets per flow offered to nDPI before the sensor decides from what it
 * has (nDPI 4.2 identifies HTTP and TLS within the first data packet each
 * way; 24 leaves room for handshakes and a slow first request).  The nDPI
 * per-flow state is freed as soon as the decision is made. */
#define LIMIT_DPI_PACKETS 24u

/* Bytes kept of an SNI or Host name for the flow record. */
#define LIMIT_HOSTNAME_BYTES 255u

/*
 * HTTP (libhtp).
 */

/* Bytes of one header line.  IIS refuses lines over MaxFieldLength (16 KiB
 * by default, at most 64 KiB), and Kerberos tickets in Authorization push
 * real headers towards the default; above the hard limit libhtp stops
 * parsing the message.  Policy: counted as header_cap; the transaction is
 * still reported with what was parsed. */
#define LIMIT_HTTP_HEADER_LINE_SOFT (16u * 1024u)
#define LIMIT_HTTP_HEADER_LINE_HARD (64u * 1024u)
/* Headers per message: real Exchange clients send under 30.  Policy: as for
 * the line cap. */
#define LIMIT_HTTP_HEADERS 128u
/* Body bytes per message handed to the Exchange dissector: the SOAP
 * operation sits in the first few hundred bytes of an EWS request, and the
 * ActiveSync responses whose WBXML Status matters are small.  The rest of a
 * body is counted and skipped, never buffered.  Matches the dissectors'
 * scanning windows. */
#define LIMIT_HTTP_BODY_BYTES (64u * 1024u)
/* Transactions open at once on one connection (pipelining).  Policy: the
 * oldest is closed early (TX_DONE) and counted as tx_cap. */
#define LIMIT_HTTP_TX_IN_FLIGHT 64u

/* Body bytes kept per transaction for the Exchange dissector: the SOAP
 * operation of an EWS request (after a SOAP header that can carry
 * impersonation and time-zone blocks), the username of an OWA login form,
 * the top-level Status of an ActiveSync WBXML response.  Policy: the scan
 * gives up on what it has. */
#define LIMIT_EXCH_SCAN_BYTES (16u * 1024u)

/*
 * TLS (dissectors/tls.c) and key logs (sensor/keylog.c).
 */

/* Bytes of one handshake message the TLS dissector reassembles across
 * records.  Only ClientHello and ServerHello are assembled (other messages
 * are skipped by length, never buffered).  Real hellos are 0.2-2 KiB; with
 * post-quantum hybrid key shares (X25519MLKEM768 is 1216 bytes) and a few
 * PSK identities they stay under 8 KiB.  64 KiB is four full records and
 * bounds what one direction can make the sensor hold.  Policy: the message
 * is skipped (anomaly tls_handshake_too_long), framing continues. */
#define LIMIT_TLS_HANDSHAKE_BYTES (64u * 1024u)
/* Values kept per ClientHello list (cipher suites, extensions, groups,
 * signature algorithms ...).  Browsers send 15-20 suites and ~16
 * extensions, the widest real stacks (old Java, SChannel) under 100.  A
 * hello with more still parses; its lists are marked overflowed and no
 * JA3/JA4 is produced for it (an exact fingerprint needs every value). */
#define LIMIT_TLS_HELLO_LIST 256u
/* Secrets held from key logs, one per (client random, label) or per RSA
 * line.  A TLS 1.3 session logs 5 secrets (7 with early data), TLS 1.2 one.
 * 2^20 entries cost about 128 MiB and hold ~200k TLS 1.3 sessions, more
 * than a day of Outlook/ActiveSync connections for ~20k mailboxes.
 * Policy: new entries are refused and counted (keylog_refused); secrets
 * already held are kept, so sessions logged first stay decryptable. */
#define LIMIT_KEYLOG_ENTRIES (1024u * 1024u)
/* Bytes of one key log line.  The longest valid line (RSA, or a label with
 * a 64-byte random and a 64-byte secret) is under 300 bytes.  Longer lines
 * are counted as bad and skipped to the next newline. */
#define LIMIT_KEYLOG_LINE 512u
/* Bytes of one pcapng block the Decryption Secrets Block walker will read
 * or skip.  libpcap and Wireshark refuse blocks over 16 MiB (libpcap
 * MAX_BLOCKSIZE); a larger length is a corrupt file.  Only DSBs are read
 * into memory. */
#define LIMIT_PCAPNG_BLOCK_BYTES (16u * 1024u * 1024u)

/* OWA forms sessions remembered (cookie hash -> user).  An OWA session
 * sets about five cookies; 65536 entries cover ~13000 concurrent browser
 * sessions.  Policy: the least recently used is forgotten (its later
 * requests then carry no user, and are matched by address). */
#define LIMIT_OWA_SESSIONS 65536u

/*
 * TLS decryption.
 */

/* Ciphertext records kept per connection while its keys are missing (a key
 * log line written a moment after the handshake, tailed while live): the
 * first requests of an Exchange session fit in a few records.  Policy: later
 * records are dropped and the connection is reported as not decrypted
 * ("caps"). */
#define LIMIT_TLS_PENDING_BYTES (256u * 1024u)
/* The same, across all connections. */
#define LIMIT_TLS_PENDING_TOTAL (64u * 1024u * 1024u)
/* Handshake bytes kept per TLS <= 1.2 connection until its keys are set up:
 * the extended master secret needs the hash of every handshake message up
 * to the ClientKeyExchange, certificates included.  Policy: past it, only
 * key-log master secrets (CLIENT_RANDOM) can decrypt the connection. */
#define LIMIT_TLS_TRANSCRIPT_BYTES (128u * 1024u)
/* The same, across all connections in their handshakes at once. */
#define LIMIT_TLS_TRANSCRIPT_TOTAL (64u * 1024u * 1024u)
/* Bytes of TLS records cut across segments, held across all connections
 * until each record is whole (at most 18 KiB per direction: a record).
 * 64 MiB covers ~1800 connections caught mid-record at once.  Policy: the
 * direction that would pass it is given up (not decrypted, "caps"). */
#define LIMIT_TLS_PARTIAL_TOTAL (64u * 1024u * 1024u)

/*
 * Detection.
 */

/* Identities (users, and client addresses seen without a user) the
 * correlator remembers (tunable in the config file, [limits] identities).
 * Each costs about 4 KiB (DETECT_KEEP refusals and fallbacks with their
 * User-Agents), so the default bounds the correlator at ~400 MiB; a site
 * with 20k mailboxes and their phones uses a fraction.  Policy: the least
 * recently active identity is forgotten, counted as identities_evicted. */
#define LIMIT_DETECT_IDENTITIES 100000u
/* User-Agent bytes kept per remembered fallback (longer ones are cut for
 * matching; the database keeps the full string). */
#define LIMIT_DETECT_UA_BYTES 256u

#endif /* MDM_LIMITS_H */
