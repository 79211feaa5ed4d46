/*
 * b64.h — checked base64 decoders (RFC 4648).
 *
 *   b64_decode()     §4 alphabet (A-Z a-z 0-9 + /), padding required: the
 *                    input length is a multiple of 4 (HTTP Basic, NTLM and
 *                    Negotiate tokens).
 *   b64url_decode()  §5 alphabet (- _ instead of + /), padding optional
 *                    (JWT, RFC 7515 §2 omits it).
 *   b64_decode_flags() either alphabet, padding required or optional.
 *
 * Strictness (a sensor must decode exactly what the server decodes, and a
 * hostile client must not be able to smuggle bytes past it):
 *   - any byte outside the alphabet is rejected: no whitespace, no line
 *     breaks, no mixing of the two alphabets;
 *   - '=' only as the final one or two characters, and only as many as the
 *     final quantum needs; when present the padded length is a multiple of 4;
 *   - non-canonical encodings are rejected (RFC 4648 §3.5): the unused low
 *     bits of the last character must be zero, and a final quantum of a
 *     single character (impossible for any byte string) is invalid.
 *
 * Nothing is written to `out` unless the whole input is valid and fits.
 */
#ifndef MDM_B64_H
#define MDM_B64_H

#include <stddef.h>
#include <stdint.h>

enum b64_result {
	B64_OK,
	B64_BAD_INPUT, /* character, padding or length not allowed */
	B64_NO_SPACE,  /* valid, but the output would not fit in out_size */
};

enum b64_flags {
	B64_URL = 1 << 0,          /* RFC 4648 §5 alphabet */
	B64_PAD_OPTIONAL = 1 << 1, /* accept input without trailing '=' */
};

/* Upper bound of the decoded size of `len` input characters. */
#define B64_DECODED_MAX(len) (((len) / 4 + 1) * 3)

/*
 * Decodes `len` characters at `in` into `out` (capacity `out_size`).  On
 * B64_OK *ret_len is the number of bytes written.  `in` is only read; no
 * pointer into it is kept.
 */
enum b64_result b64_decode_flags(const void *in, size_t len, unsigned flags, uint8_t *out,
                                 size_t out_size, size_t *ret_len);

/* RFC 4648 §4, padding required. */
enum b64_result b64_decode(const void *in, size_t len, uint8_t *out, size_t out_size,
                           size_t *ret_len);

/* RFC 4648 §5, padding optional. */
enum b64_result b64url_decode(const void *in, size_t len, uint8_t *out, size_t out_size,
                              size_t *ret_len);

#endif /* MDM_B64_H */
