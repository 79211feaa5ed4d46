/*
 * tlssess.h — one TLS connection seen by the sensor: its metadata (SNI,
 * ALPN, version, cipher, JA3, JA4) and, when keys are known, its plaintext.
 *
 * Keys, in order of preference:
 *   TLS 1.3   CLIENT/SERVER_HANDSHAKE_TRAFFIC_SECRET and
 *             CLIENT/SERVER_TRAFFIC_SECRET_0 from the key log (KeyUpdate
 *             derives the next ones);
 *   TLS <=1.2 CLIENT_RANDOM (the master secret) from the key log; else an
 *             RSA line of the key log (the pre-master secret by its
 *             encrypted prefix); else the server's RSA private key
 *             (--rsa-key) decrypting the ClientKeyExchange.  With the
 *             extended master secret (RFC 7627) the handshake transcript is
 *             hashed for the last two.
 *
 * Records that arrive before their keys are kept (copied) up to
 * LIMIT_TLS_PENDING_BYTES per connection and LIMIT_TLS_PENDING_TOTAL in all,
 * and decrypted when the keys turn up (a key log tailed while live); past
 * the caps they are dropped and the connection counts as not decrypted.
 * A record that fails authentication is counted and never passed on.
 *
 * Plaintext application data goes to the `plaintext` callback in stream
 * order per direction; ALPN "h2" connections are decrypted but not passed
 * on (HTTP/2 is not parsed yet) and are counted.
 */
#ifndef MDM_TLSSESS_H
#define MDM_TLSSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mdm_limits.h"
#include "tls.h"

struct keylog;
struct tlsdec_rsa;
struct tls_engine;
struct tlssess;

/* Why a TLS connection was not (fully) decrypted. */
enum tls_undecrypted {
	TLSU_NONE,         /* decrypted */
	TLSU_NO_KEY,       /* no key log entry, no usable RSA key */
	TLSU_UNSUPPORTED,  /* cipher suite or version we cannot decrypt */
	TLSU_GAP,          /* bytes lost: record framing gone */
	TLSU_AUTH_FAIL,    /* records failed authentication: wrong key */
	TLSU_NO_HANDSHAKE, /* picked up after the hellos: no randoms */
	TLSU_CAP,          /* records dropped waiting for keys (caps) */
	TLSU_NOT_TLS,      /* framing broke: not TLS after all */
};

struct tls_meta {
	bool seen_client_hello, seen_server_hello;
	char sni[LIMIT_HOSTNAME_BYTES + 1];
	char alpn[32];    /* negotiated (TLS 1.2 ServerHello, TLS 1.3 EncryptedExtensions) */
	char version[16]; /* "TLSv1.2" */
	char cipher[64];  /* IANA name, or 0xNNNN */
	char ja3[33], ja4[37];
	bool decrypted;           /* application data was decrypted */
	enum tls_undecrypted why; /* the first reason records stayed encrypted */
	uint64_t records_decrypted, records_failed;
};

struct tls_engine_stats {
	uint64_t sessions;
	uint64_t decrypted_sessions;
	uint64_t undecrypted[TLSU_NOT_TLS + 1]; /* sessions, by first reason */
	uint64_t records_decrypted;
	uint64_t auth_failures;
	uint64_t pending_dropped; /* records dropped at the caps */
	uint64_t h2_sessions;
	uint64_t pending_now, pending_max;      /* bytes held waiting for keys */
	uint64_t transcript_overflows;          /* handshakes too big to hash (caps) */
	uint64_t memcap_given_up;               /* directions dropped: partial-record budget */
	uint64_t anomalies[TLS_ANOMALY__COUNT]; /* by tls_anomaly_name() */
};

/* The shared part: key sources and the global cap.  `kl` and `rsa` are
 * borrowed and must outlive the engine; either may be NULL. */
struct tls_engine *tls_engine_new(struct keylog *kl, const struct tlsdec_rsa *rsa);
void tls_engine_free(struct tls_engine *e); /* accepts NULL */
const struct tls_engine_stats *tls_engine_stats(const struct tls_engine *e);
/* The key log gained entries: connections whose records wait for keys try
 * again now (their plaintext goes out through their callbacks). */
void tls_engine_keys_added(struct tls_engine *e);

/* Plaintext of direction dir, borrowed for the call. */
typedef void (*tlssess_plain_fn)(void *ctx, int dir, const uint8_t *p, size_t n);

struct tlssess *tlssess_new(struct tls_engine *e, tlssess_plain_fn fn, void *ctx);
/* Stream bytes of direction dir (0 client, 1 server). */
void tlssess_data(struct tlssess *s, int dir, const uint8_t *p, size_t n);
void tlssess_gap(struct tlssess *s, int dir);
/* The connection ended: the final reason is settled, pending records freed. */
void tlssess_finish(struct tlssess *s);
const struct tls_meta *tlssess_meta(const struct tlssess *s);
void tlssess_free(struct tlssess *s); /* accepts NULL; calls tlssess_finish */

/* "no key" ... for the flows table's decrypt_note. */
const char *tls_undecrypted_name(enum tls_undecrypted w);

#endif /* MDM_TLSSESS_H */
