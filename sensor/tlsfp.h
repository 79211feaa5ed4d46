/*
 * tlsfp.h — JA3 and JA4 fingerprints of a ClientHello (OpenSSL EVP).
 *
 * The TLS dissector builds the canonical input strings (dissectors/tls.h:
 * tls_ja3_string, tls_ja4_input) and does no crypto; this file hashes them:
 *   JA3 = MD5 of the JA3 string, 32 lowercase hex digits
 *         (github.com/salesforce/ja3);
 *   JA4 = a "_" sha256(b_raw)[0:12] "_" sha256(c_raw)[0:12], an empty list
 *         standing for "000000000000" (FoxIO JA4 technical details, TLS
 *         over TCP).
 * The JA3 and JA4_r strings are returned too, for the flow record.
 */
#ifndef MDM_TLSFP_H
#define MDM_TLSFP_H

#include "tls.h"

#define TLSFP_JA3_LEN 33 /* 32 hex digits and a NUL */
#define TLSFP_JA4_LEN 37 /* a(10) _ b(12) _ c(12) and a NUL */

struct tlsfp {
	char ja3[TLSFP_JA3_LEN];
	char ja4[TLSFP_JA4_LEN];
	char ja3_full[TLS_JA3_MAX];
	struct tls_ja4_input ja4_in;
};

/*
 * Fingerprints ch into *ret (which is large: about 12 KiB; heap or static
 * storage is the caller's choice).  0, -E2BIG (a list of the hello
 * overflowed LIMIT_TLS_HELLO_LIST: no exact fingerprint exists here) or
 * -EIO (OpenSSL failed).  *ret is written only on success.
 */
int tlsfp_compute(const struct tls_client_hello *ch, struct tlsfp *ret);

/* The hex digest of s with md ("MD5" or "SHA256"), truncated to out_len - 1
 * hex digits (out_len <= 65).  0 or -EIO.  Exposed for tests. */
int tlsfp_hex_digest(const char *md, const char *s, char *out, size_t out_len);

#endif /* MDM_TLSFP_H */
