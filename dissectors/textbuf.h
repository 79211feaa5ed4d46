/*
 * textbuf.h — bounded text output into a caller-provided fixed buffer.
 *
 * Every dissector that extracts a name (user, device id, SOAP operation ...)
 * writes it through a `struct textbuf`, so truncation is handled and reported
 * the same way everywhere:
 *   - the buffer is always NUL-terminated (when size > 0);
 *   - a write either fits entirely or is refused; once one write has been
 *     refused the textbuf is `truncated` and refuses every later write, so
 *     the stored text is always a clean prefix that never ends inside a UTF-8
 *     sequence;
 *   - code points are encoded as UTF-8 (RFC 3629); surrogates and values
 *     above U+10FFFF become U+FFFD REPLACEMENT CHARACTER.
 *
 * Header-only: shared by b64/exchange/identity/jwt/ntlm/soap.  It never reads
 * untrusted bytes itself except through pointers its caller obtained from
 * the checked cursor (buf_take) with the length that was checked there.
 */
#ifndef MDM_TEXTBUF_H
#define MDM_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct textbuf {
	char *s;
	size_t size; /* bytes available at s, including the NUL */
	size_t len;  /* bytes stored, excluding the NUL */
	bool truncated;
};

static inline struct textbuf textbuf_init(char *s, size_t size)
{
	struct textbuf t = {.s = s, .size = s ? size : 0, .len = 0, .truncated = false};
	if (t.size)
		t.s[0] = '\0';
	return t;
}

/* Appends n bytes, all or nothing.  False (and truncated) if they do not fit. */
static inline bool textbuf_put(struct textbuf *t, const void *p, size_t n)
{
	if (t->truncated)
		return false;
	if (t->size == 0 || n > t->size - 1 - t->len) {
		t->truncated = true;
		return false;
	}
	if (n)
		memcpy(t->s + t->len, p, n);
	t->len += n;
	t->s[t->len] = '\0';
	return true;
}

static inline bool textbuf_putc(struct textbuf *t, char c)
{
	return textbuf_put(t, &c, 1);
}

/* UTF-8 encoding of cp into out (4 bytes); returns the length (1-4). */
static inline size_t textbuf_utf8(uint32_t cp, uint8_t out[4])
{
	if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		cp = 0xFFFD;
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xC0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xE0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (uint8_t)(0xF0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* Appends code point cp as UTF-8, all or nothing. */
static inline bool textbuf_put_cp(struct textbuf *t, uint32_t cp)
{
	uint8_t u[4];
	size_t n = textbuf_utf8(cp, u);
	return textbuf_put(t, u, n);
}

#endif /* MDM_TEXTBUF_H */
