/*
 * b64.c — checked base64 / base64url decoding, RFC 4648 §4 and §5.
 *
 * Each 4-character quantum carries 24 bits:
 *
 *   chars   |   c0   |   c1   |   c2   |   c3   |   6 bits each
 *   bytes   |    b0    |    b1    |    b2    |     8 bits each
 *
 * A final quantum of 2 characters carries 1 byte (the low 4 bits of c1 are
 * unused), of 3 characters 2 bytes (the low 2 bits of c2 are unused).  See
 * b64.h for the strictness rules.
 */
#include "b64.h"

#include <stdbool.h>

#include "buf.h"

/* Value of one alphabet character, or -1. */
static int b64_sextet(uint8_t c, bool url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

/*
 * Splits the input into `data` characters and `pad` trailing '=' and checks
 * the length rules.  Returns false when the shape is invalid.
 */
static bool b64_shape(const uint8_t *in, size_t len, unsigned flags, size_t *ret_data)
{
	struct buf b = buf_init(in, len);
	size_t pad = 0;

	/* Count trailing '=' (at most 2) by looking at the last bytes. */
	while (pad < len && pad < 3) {
		struct buf t = b;
		buf_skip(&t, len - pad - 1);
		if (buf_u8(&t) != '=')
			break;
		pad++;
	}
	if (pad > 2)
		return false;
	size_t data = len - pad;
	size_t rem = data % 4;
	if (rem == 1)
		return false;
	if (pad) {
		/* Padding present: exactly what the final quantum needs. */
		if (rem == 0 || pad != 4 - rem)
			return false;
	} else if (rem && !(flags & B64_PAD_OPTIONAL)) {
		return false;
	}
	*ret_data = data;
	return true;
}

enum b64_result b64_decode_flags(const void *in, size_t len, unsigned flags, uint8_t *out,
                                 size_t out_size, size_t *ret_len)
{
	bool url = flags & B64_URL;
	size_t data;

	if (!in && len)
		return B64_BAD_INPUT;
	if (!b64_shape(in, len, flags, &data))
		return B64_BAD_INPUT;

	size_t rem = data % 4;
	size_t need = data / 4 * 3 + (rem ? rem - 1 : 0);

	/* Validate every character before writing anything. */
	struct buf b = buf_init(in, data);
	int last = 0;
	for (size_t i = 0; i < data; i++) {
		last = b64_sextet(buf_u8(&b), url);
		if (last < 0)
			return B64_BAD_INPUT;
	}
	/* Canonical form: the unused low bits of the last character are 0. */
	if ((rem == 2 && (last & 0x0F)) || (rem == 3 && (last & 0x03)))
		return B64_BAD_INPUT;
	if (need > out_size || (need && !out))
		return B64_NO_SPACE;

	b = buf_init(in, data);
	uint32_t acc = 0;
	size_t n = 0, w = 0;
	for (size_t i = 0; i < data; i++) {
		acc = acc << 6 | (uint32_t)b64_sextet(buf_u8(&b), url);
		if (++n == 4) {
			out[w++] = (uint8_t)(acc >> 16);
			out[w++] = (uint8_t)(acc >> 8);
			out[w++] = (uint8_t)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n == 2) {
		out[w++] = (uint8_t)(acc >> 4);
	} else if (n == 3) {
		out[w++] = (uint8_t)(acc >> 10);
		out[w++] = (uint8_t)(acc >> 2);
	}
	*ret_len = w;
	return B64_OK;
}

enum b64_result b64_decode(const void *in, size_t len, uint8_t *out, size_t out_size,
                           size_t *ret_len)
{
	return b64_decode_flags(in, len, 0, out, out_size, ret_len);
}

enum b64_result b64url_decode(const void *in, size_t len, uint8_t *out, size_t out_size,
                              size_t *ret_len)
{
	return b64_decode_flags(in, len, B64_URL | B64_PAD_OPTIONAL, out, out_size, ret_len);
}
