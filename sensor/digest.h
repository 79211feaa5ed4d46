/*
 * digest.h — streaming SHA-256 of reassembled streams (OpenSSL EVP).
 *
 * Used by --dump-flows to print a fingerprint of each direction's bytes, so
 * that tests can compare what mdmwatch reassembled with what tshark
 * reassembles, without writing the streams out.
 */
#ifndef MDM_DIGEST_H
#define MDM_DIGEST_H

#include <stddef.h>
#include <stdint.h>

struct digest;

#define DIGEST_HEX_LEN 65 /* 64 hex digits and a NUL */

struct digest *digest_new(void); /* NULL on failure */
void digest_update(struct digest *d, const uint8_t *p, size_t n);
/* Writes the hex digest of everything so far; the digest can't be reused. */
void digest_final(struct digest *d, char out[DIGEST_HEX_LEN]);
void digest_free(struct digest *d); /* accepts NULL */

#endif /* MDM_DIGEST_H */
