/*
 * tlsdec.h — TLS key schedule and record decryption, through OpenSSL 3's
 * EVP interfaces only (EVP_KDF "TLS1-PRF" and "HKDF", EVP_CIPHER AEAD and
 * CBC, EVP_MAC HMAC, EVP_PKEY RSA).  No hand-written cryptography.
 *
 *   TLS 1.0/1.1  RFC 2246 / RFC 4346: PRF = MD5 ⊕ SHA-1, CBC with HMAC,
 *                MAC-then-encrypt; 1.0 chains the IV, 1.1 has explicit IVs
 *   TLS 1.2      RFC 5246 (PRF with the suite's hash), RFC 5288 AES-GCM,
 *                RFC 7905 ChaCha20-Poly1305, RFC 7366 encrypt-then-MAC,
 *                RFC 7627 extended master secret
 *   TLS 1.3      RFC 8446 §7 (HKDF-Expand-Label, traffic keys, KeyUpdate),
 *                §5.2-5.3 (per-record nonce, inner plaintext)
 *
 * One `struct tlsdec` protects one direction with one set of keys; the
 * caller (sensor/tlssess.c) decides which secrets apply when, and owns the
 * records.  Nothing here keeps a pointer into caller memory; secrets are
 * wiped (OPENSSL_cleanse) when freed.
 */
#ifndef MDM_TLSDEC_H
#define MDM_TLSDEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tls.h"

#define TLSDEC_MASTER_LEN 48
#define TLSDEC_MAX_SECRET 48 /* TLS 1.3 traffic secrets: SHA-384 at most */
/* Largest plaintext a record decrypts to (2^14 + 1 for TLS 1.3's type). */
#define TLSDEC_MAX_PLAINTEXT (16384 + 256)

struct tlsdec;

enum tlsdec_result {
	TLSDEC_OK,
	TLSDEC_AUTH_FAIL,   /* tag or MAC mismatch, bad padding: a wrong key or tampering */
	TLSDEC_BAD_RECORD,  /* too short or too long for the suite */
	TLSDEC_UNSUPPORTED, /* suite/version combination not implemented */
};

/* Record protection parameters of one direction. */
struct tlsdec_params {
	uint16_t version; /* negotiated: 0x0301 .. 0x0304 */
	const struct tls_suite *suite;
	bool encrypt_then_mac; /* TLS <= 1.2 CBC suites, RFC 7366 */
};

/*
 * TLS <= 1.2 master secret from a pre-master secret (RFC 5246 §8.1): with
 * `session_hash` (RFC 7627, extended master secret) when not NULL, else with
 * the randoms.  prf is tls_suite_prf(suite, version).
 */
int tlsdec_master_secret(enum tls_hash prf, const uint8_t *premaster, size_t premaster_len,
                         const uint8_t client_random[32], const uint8_t server_random[32],
                         const uint8_t *session_hash, size_t session_hash_len,
                         uint8_t ret_master[TLSDEC_MASTER_LEN]);

/*
 * TLS <= 1.2: the write keys of direction `dir` (0 client, 1 server) from
 * the master secret (RFC 5246 §6.3 key block).  NULL with *ret_err set on
 * failure (TLSDEC_UNSUPPORTED for a suite this build cannot decrypt).
 */
struct tlsdec *tlsdec_new_tls12(const struct tlsdec_params *p,
                                const uint8_t master[TLSDEC_MASTER_LEN],
                                const uint8_t client_random[32], const uint8_t server_random[32],
                                int dir, enum tlsdec_result *ret_err);

/* TLS 1.3: keys from a traffic secret (handshake or application). */
struct tlsdec *tlsdec_new_tls13(const struct tlsdec_params *p, const uint8_t *secret,
                                size_t secret_len, enum tlsdec_result *ret_err);

/*
 * Decrypts the next record of this direction: `type` and `version` from its
 * header, `fragment`/`len` its body.  Writes the plaintext to `out`
 * (TLSDEC_MAX_PLAINTEXT bytes) and its length to *ret_len; for TLS 1.3 the
 * padding is removed and *ret_type is the inner content type, otherwise
 * *ret_type = type.  The sequence number advances on TLSDEC_OK and on
 * TLSDEC_AUTH_FAIL (the peer would have dropped the connection anyway).
 */
enum tlsdec_result tlsdec_record(struct tlsdec *d, uint8_t type, uint16_t version,
                                 const uint8_t *fragment, size_t len, uint8_t *out, size_t *ret_len,
                                 uint8_t *ret_type);

/* TLS 1.3 KeyUpdate (RFC 8446 §7.2): next traffic secret, new keys,
 * sequence number 0.  0 or a negative errno. */
int tlsdec_key_update(struct tlsdec *d);

/* Records decrypted so far with these keys. */
uint64_t tlsdec_seq(const struct tlsdec *d);

void tlsdec_free(struct tlsdec *d); /* accepts NULL; wipes the keys */

/*
 * The handshake transcript hash for the extended master secret (RFC 7627
 * §3): a running hash of the handshake messages, chosen when the suite is
 * known; the ClientHello bytes seen before that are fed first by the caller.
 */
struct tlsdec_hash;
struct tlsdec_hash *tlsdec_hash_new(enum tls_hash h); /* NULL on failure */
void tlsdec_hash_update(struct tlsdec_hash *h, const uint8_t *p, size_t n);
/* The hash so far (the running hash continues); returns its length or 0. */
size_t tlsdec_hash_peek(const struct tlsdec_hash *h, uint8_t *out, size_t out_size);
void tlsdec_hash_free(struct tlsdec_hash *h); /* accepts NULL */

/*
 * The server's RSA private key (PEM, PKCS#1 or PKCS#8, unencrypted) for the
 * RSA key exchange: decrypts a ClientKeyExchange's encrypted pre-master
 * secret (PKCS#1 v1.5).  Load errors name the file.
 */
struct tlsdec_rsa;
int tlsdec_rsa_load(const char *path, struct tlsdec_rsa **ret, char *err, size_t errlen);
/* 0 and the 48-byte pre-master secret, or a negative errno (wrong key,
 * bad padding: the RFC 5246 §7.4.7.1 countermeasure does not apply to a
 * passive observer, which simply fails). */
int tlsdec_rsa_premaster(const struct tlsdec_rsa *k, const uint8_t *enc, size_t enc_len,
                         uint8_t ret_premaster[48]);
void tlsdec_rsa_free(struct tlsdec_rsa *k); /* accepts NULL */

#endif /* MDM_TLSDEC_H */
