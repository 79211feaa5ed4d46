/*
 * jwt.c — JWT claims (RFC 7519 §7.2 steps 1-5 without verification) with a
 * small bounded JSON scanner (RFC 8259).
 *
 *   BASE64URL(header) '.' BASE64URL(payload) '.' BASE64URL(signature)
 *
 * The scanner reads the decoded payload through a checked cursor, never
 * recurses more than JWT_DEPTH_MAX levels, and copies only the wanted
 * top-level string members.
 */
#include "jwt.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "textbuf.h"

/* Member names are compared after unescaping; longer names never match. */
#define JWT_KEY_MAX 32

/* Next byte without consuming it, or -1. */
static int peek(const struct buf *b)
{
	struct buf t = *b;
	return buf_has(&t, 1) ? buf_u8(&t) : -1;
}

static void ws(struct buf *b)
{
	for (int c = peek(b); c == ' ' || c == '\t' || c == '\n' || c == '\r'; c = peek(b))
		buf_skip(b, 1);
}

static bool expect(struct buf *b, uint8_t c)
{
	ws(b);
	if (peek(b) != c)
		return false;
	buf_skip(b, 1);
	return true;
}

static int hex4(struct buf *b)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int c = buf_u8(b), h;
		if (c >= '0' && c <= '9')
			h = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			h = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | h;
	}
	return buf_ok(b) ? v : -1;
}

/* After "\u": one escape, with a following low surrogate if it pairs. */
static bool json_uescape(struct buf *b, struct textbuf *out)
{
	int hi = hex4(b);
	uint32_t cp;

	if (hi < 0)
		return false;
	cp = (uint32_t)hi;
	if (hi >= 0xD800 && hi <= 0xDBFF) {
		struct buf t = *b;
		if (buf_u8(&t) == '\\' && buf_u8(&t) == 'u') {
			int lo = hex4(&t);
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				*b = t;
				cp = 0x10000 + ((uint32_t)(hi - 0xD800) << 10) +
				     (uint32_t)(lo - 0xDC00);
			}
		}
	}
	if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (out)
		textbuf_put_cp(out, cp);
	return true;
}

/* A string value; the cursor is on the opening quote.  out may be NULL. */
static bool json_string(struct buf *b, struct textbuf *out)
{
	if (buf_u8(b) != '"')
		return false;
	for (;;) {
		uint8_t c = buf_u8(b);
		if (!buf_ok(b) || c < 0x20)
			return false;
		if (c == '"')
			return true;
		if (c == '\\') {
			static const char esc[] = "\"\\/bfnrt", val[] = "\"\\/\b\f\n\r\t";
			uint8_t e = buf_u8(b);
			const char *p = e ? strchr(esc, e) : NULL;
			if (e == 'u') {
				if (!json_uescape(b, out))
					return false;
				continue;
			}
			if (!p)
				return false;
			c = (uint8_t)val[p - esc];
		}
		if (out)
			textbuf_putc(out, (char)c);
	}
}

static bool json_value(struct buf *b, unsigned depth);

/* Object or array body after the opening bracket. */
static bool json_container(struct buf *b, bool object, unsigned depth)
{
	uint8_t close = object ? '}' : ']';

	ws(b);
	if (peek(b) == close) {
		buf_skip(b, 1);
		return true;
	}
	for (;;) {
		ws(b);
		if (object && (!json_string(b, NULL) || !expect(b, ':')))
			return false;
		if (!json_value(b, depth))
			return false;
		ws(b);
		int c = buf_u8(b);
		if (c == close && buf_ok(b))
			return true;
		if (c != ',' || !buf_ok(b))
			return false;
	}
}

/* Skips one value of any type. */
static bool json_value(struct buf *b, unsigned depth)
{
	static const char *const lits[] = {"true", "false", "null"};
	int c;

	ws(b);
	c = peek(b);
	if (c == '"')
		return json_string(b, NULL);
	if (c == '{' || c == '[') {
		if (depth >= JWT_DEPTH_MAX)
			return false;
		buf_skip(b, 1);
		return json_container(b, c == '{', depth + 1);
	}
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(lits[i]);
		struct buf t = *b;
		const uint8_t *p = buf_take(&t, n);
		if (p && !memcmp(p, lits[i], n)) {
			*b = t;
			return true;
		}
	}
	/* A number: its characters, loosely (the value is never used). */
	size_t n = 0;
	for (c = peek(b);
	     (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
	     c = peek(b)) {
		buf_skip(b, 1);
		n++;
	}
	return n > 0;
}

/* The claim field for member `key`, or NULL when it is not wanted. */
static char *claim_slot(struct jwt_claims *cl, const char *key)
{
	if (!strcmp(key, "upn"))
		return cl->upn;
	if (!strcmp(key, "unique_name"))
		return cl->unique_name;
	if (!strcmp(key, "preferred_username"))
		return cl->preferred_username;
	if (!strcmp(key, "oid"))
		return cl->oid;
	return NULL;
}

/* One top-level member: copy it when wanted and not already set. */
static bool json_member(struct buf *b, struct jwt_claims *cl)
{
	char key[JWT_KEY_MAX];
	struct textbuf kt = textbuf_init(key, sizeof(key));

	ws(b);
	if (!json_string(b, &kt) || !expect(b, ':'))
		return false;
	char *slot = kt.truncated ? NULL : claim_slot(cl, key);
	ws(b);
	if (slot && !slot[0] && peek(b) == '"') {
		struct textbuf vt = textbuf_init(slot, JWT_CLAIM_MAX);
		if (!json_string(b, &vt))
			return false;
		cl->truncated |= vt.truncated;
		return true;
	}
	return json_value(b, 1);
}

static bool json_claims(struct buf *b, struct jwt_claims *cl)
{
	if (!expect(b, '{'))
		return false;
	ws(b);
	if (peek(b) == '}') {
		buf_skip(b, 1);
	} else {
		for (;;) {
			if (!json_member(b, cl))
				return false;
			ws(b);
			int c = buf_u8(b);
			if (!buf_ok(b) || (c != ',' && c != '}'))
				return false;
			if (c == '}')
				break;
		}
	}
	ws(b);
	return buf_ok(b) && buf_left(b) == 0;
}

/* Splits the token at '.'; true when there are exactly three segments. */
static bool jwt_split(const char *token, size_t len, size_t *ret_p_off, size_t *ret_p_len)
{
	struct buf b = buf_init(token, len);
	size_t dots[2], ndots = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf_u8(&b) != '.')
			continue;
		if (ndots == 2)
			return false;
		dots[ndots++] = i;
	}
	if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1)
		return false;
	*ret_p_off = dots[0] + 1;
	*ret_p_len = dots[1] - dots[0] - 1;
	return true;
}

enum jwt_result jwt_parse(const char *token, size_t len, struct jwt_claims *ret)
{
	uint8_t payload[JWT_PAYLOAD_MAX];
	struct jwt_claims cl;
	size_t off, plen, n = 0;
	enum jwt_result r = JWT_GIVE_UP;

	if (!ret || !jwt_split(token, len, &off, &plen))
		return JWT_GIVE_UP;
	struct buf t = buf_init(token, len);
	buf_skip(&t, off);
	const uint8_t *p = buf_take(&t, plen);
	switch (b64url_decode(p, plen, payload, sizeof(payload), &n)) {
	case B64_OK:
		break;
	case B64_NO_SPACE:
		return JWT_TOO_LARGE;
	default:
		return JWT_GIVE_UP;
	}
	memset(&cl, 0, sizeof(cl));
	struct buf b = buf_init(payload, n);
	if (json_claims(&b, &cl)) {
		*ret = cl;
		r = JWT_OK;
	}
	explicit_bzero(payload, sizeof(payload));
	explicit_bzero(&cl, sizeof(cl));
	return r;
}

const char *jwt_user(const struct jwt_claims *c)
{
	if (!c)
		return NULL;
	if (c->upn[0])
		return c->upn;
	if (c->unique_name[0])
		return c->unique_name;
	if (c->preferred_username[0])
		return c->preferred_username;
	return NULL;
}
