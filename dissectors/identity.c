/*
 * identity.c — user names from Authorization headers and the OWA login form.
 *
 * References: RFC 9110 §11.6.2 (Authorization = auth-scheme [ 1*SP
 * token68 ]), RFC 7617 (Basic: base64 of user-id ":" password), MS-NLMP /
 * RFC 4559 (NTLM and Negotiate), RFC 6750 (Bearer), MS-OXWSFORM-style OWA
 * login (fields destination, flags, username, password, ...).
 */
#include "identity.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "exchange.h"
#include "jwt.h"
#include "ntlm.h"
#include "ascii.h"
#include "textbuf.h"

static bool is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

const char *identity_auth_name(enum identity_auth a)
{
	static const char *const names[] = {
	    [IDENTITY_AUTH_NONE] = "none",     [IDENTITY_AUTH_BASIC] = "basic",
	    [IDENTITY_AUTH_NTLM] = "ntlm",     [IDENTITY_AUTH_NEGOTIATE] = "negotiate",
	    [IDENTITY_AUTH_BEARER] = "bearer", [IDENTITY_AUTH_FORM] = "form",
	};
	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "none";
}

/* A name cut by the buffer must not end inside a UTF-8 sequence: drop the
 * incomplete last character (the database would store invalid UTF-8). */
static void utf8_trim_partial(struct textbuf *tb)
{
	size_t lead = tb->len;
	while (lead > 0 && ((uint8_t)tb->s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	uint8_t c = (uint8_t)tb->s[lead - 1];
	size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (tb->len - (lead - 1) < need) {
		tb->len = lead - 1;
		tb->s[tb->len] = '\0';
	}
}

size_t identity_normalize_user(const char *in, size_t len, char *out, size_t out_size,
                               bool *ret_truncated)
{
	struct buf b = buf_init(in, len);
	struct textbuf tb = textbuf_init(out, out_size);
	size_t start = 0, end = 0, i;

	/* end: first NUL; start: after the last '\' before it. */
	for (end = 0; end < len; end++) {
		uint8_t c = buf_u8(&b);
		if (c == 0)
			break;
		if (c == '\\')
			start = end + 1;
	}
	b = buf_init(in, len);
	buf_skip(&b, start);
	struct buf s = buf_sub(&b, end - start);
	/* Trim leading whitespace, cut at '@', trim trailing whitespace. */
	while (buf_left(&s) > 0 && is_space(buf_peek_u8(&s, 0)))
		buf_skip(&s, 1);
	size_t n = buf_left(&s), keep = 0;
	struct buf t = s;
	for (i = 0; i < n; i++) {
		uint8_t c = buf_u8(&t);
		if (c == '@')
			break;
		if (!is_space(c))
			keep = i + 1;
	}
	for (i = 0; i < keep; i++)
		textbuf_putc(&tb, (char)ascii_lower(buf_u8(&s)));
	if (tb.truncated)
		utf8_trim_partial(&tb);
	if (ret_truncated)
		*ret_truncated = tb.truncated;
	return tb.len;
}

static const struct {
	const char *name;
	enum identity_auth auth;
} identity_schemes[] = {
    {"basic", IDENTITY_AUTH_BASIC},
    {"ntlm", IDENTITY_AUTH_NTLM},
    {"negotiate", IDENTITY_AUTH_NEGOTIATE},
    {"bearer", IDENTITY_AUTH_BEARER},
};

/*
 * Splits "  scheme  token  " into the scheme and the token68 (offset and
 * length into value).  The token ends at the first whitespace; anything
 * after it other than whitespace makes the value malformed.
 */
static enum identity_auth parse_scheme(const char *value, size_t len, size_t *ret_off,
                                       size_t *ret_len, bool *ret_ok)
{
	struct buf b = buf_init(value, len);
	char scheme[16];
	struct textbuf st = textbuf_init(scheme, sizeof(scheme));
	enum identity_auth auth = IDENTITY_AUTH_NONE;

	while (buf_left(&b) > 0 && is_space(buf_peek_u8(&b, 0)))
		buf_skip(&b, 1);
	while (buf_left(&b) > 0 && !is_space(buf_peek_u8(&b, 0)))
		textbuf_putc(&st, (char)ascii_lower(buf_u8(&b)));
	for (size_t i = 0; i < sizeof(identity_schemes) / sizeof(identity_schemes[0]); i++)
		if (!st.truncated && !strcmp(scheme, identity_schemes[i].name))
			auth = identity_schemes[i].auth;
	while (buf_left(&b) > 0 && is_space(buf_peek_u8(&b, 0)))
		buf_skip(&b, 1);
	*ret_off = buf_offset(&b);
	*ret_len = 0;
	while (buf_left(&b) > 0 && !is_space(buf_peek_u8(&b, 0))) {
		buf_skip(&b, 1);
		(*ret_len)++;
	}
	while (buf_left(&b) > 0 && is_space(buf_peek_u8(&b, 0)))
		buf_skip(&b, 1);
	*ret_ok = buf_left(&b) == 0;
	return auth;
}

enum identity_auth identity_auth_scheme(const char *value, size_t len)
{
	size_t off, n;
	bool ok;
	return parse_scheme(value, len, &off, &n, &ok);
}

static bool valid_utf8(struct buf s)
{
	while (buf_left(&s) > 0) {
		uint8_t c = buf_u8(&s);
		size_t more = c < 0x80             ? 0
		              : (c & 0xE0) == 0xC0 ? 1
		              : (c & 0xF0) == 0xE0 ? 2
		              : (c & 0xF8) == 0xF0 ? 3
		                                   : 4;
		if (more == 4 || c == 0xC0 || c == 0xC1 || c > 0xF4)
			return false;
		for (size_t i = 0; i < more; i++)
			if (!buf_has(&s, 1) || (buf_u8(&s) & 0xC0) != 0x80)
				return false;
	}
	return true;
}

/* Basic: user-id is everything before the first ':'. */
static enum identity_result basic_user(struct buf tok, struct identity *id)
{
	uint8_t cred[IDENTITY_BASIC_MAX];
	char raw[IDENTITY_USER_MAX * 2];
	size_t n = 0, ulen;
	enum identity_result r = IDENTITY_GIVE_UP;

	if (b64_decode_flags(buf_rest(&tok), buf_left(&tok), B64_PAD_OPTIONAL, cred, sizeof(cred),
	                     &n) != B64_OK)
		return IDENTITY_GIVE_UP;
	struct buf c = buf_init(cred, n);
	for (ulen = 0; ulen < n && buf_u8(&c) != ':'; ulen++)
		;
	if (ulen < n) {
		struct buf u = buf_init(cred, ulen);
		struct textbuf rt = textbuf_init(raw, sizeof(raw));
		if (valid_utf8(u)) {
			textbuf_put(&rt, buf_rest(&u), ulen);
		} else {
			while (buf_left(&u) > 0)
				textbuf_put_cp(&rt, buf_u8(&u)); /* Latin-1 */
		}
		identity_normalize_user(raw, rt.len, id->user, sizeof(id->user), &id->truncated);
		r = id->user[0] ? IDENTITY_OK : IDENTITY_NO_USER;
	}
	explicit_bzero(cred, sizeof(cred));
	return r;
}

/* NTLM / Negotiate: decode the token and hand it to ntlm.c. */
static enum identity_result ntlm_user(struct buf tok, struct identity *id)
{
	uint8_t msg[IDENTITY_TOKEN_MAX];
	struct ntlm_auth a;
	size_t n = 0;
	enum identity_result r = IDENTITY_GIVE_UP;

	switch (b64_decode_flags(buf_rest(&tok), buf_left(&tok), B64_PAD_OPTIONAL, msg, sizeof(msg),
	                         &n)) {
	case B64_OK:
		break;
	case B64_NO_SPACE:
		return IDENTITY_NO_USER; /* larger than any NTLM message */
	default:
		return IDENTITY_GIVE_UP;
	}
	enum ntlm_result nr = id->auth == IDENTITY_AUTH_NTLM ? ntlm_parse_authenticate(msg, n, &a)
	                                                     : ntlm_parse_negotiate(msg, n, &a);
	switch (nr) {
	case NTLM_OK:
		identity_normalize_user(a.user, strlen(a.user), id->user, sizeof(id->user),
		                        &id->truncated);
		id->truncated |= a.truncated;
		r = id->user[0] && !a.anonymous ? IDENTITY_OK : IDENTITY_NO_USER;
		break;
	case NTLM_KERBEROS:
		id->kerberos = true;
		r = IDENTITY_NO_USER;
		break;
	case NTLM_NOT_AUTH:
	case NTLM_NO_TOKEN:
		r = IDENTITY_NO_USER;
		break;
	case NTLM_GIVE_UP:
		break;
	}
	explicit_bzero(msg, sizeof(msg));
	explicit_bzero(&a, sizeof(a));
	if (r != IDENTITY_OK)
		id->user[0] = '\0';
	return r;
}

static enum identity_result bearer_user(struct buf tok, struct identity *id)
{
	struct jwt_claims cl;
	const char *u;

	switch (jwt_parse((const char *)buf_rest(&tok), buf_left(&tok), &cl)) {
	case JWT_OK:
		break;
	case JWT_TOO_LARGE:
		return IDENTITY_NO_USER;
	default:
		return IDENTITY_GIVE_UP;
	}
	u = jwt_user(&cl);
	if (u)
		identity_normalize_user(u, strlen(u), id->user, sizeof(id->user), &id->truncated);
	explicit_bzero(&cl, sizeof(cl));
	return id->user[0] ? IDENTITY_OK : IDENTITY_NO_USER;
}

enum identity_result identity_from_authorization(const char *value, size_t len,
                                                 struct identity *ret)
{
	struct identity id = {.auth = IDENTITY_AUTH_NONE};
	size_t off, n;
	bool ok;
	enum identity_result r;

	if (!ret)
		return IDENTITY_GIVE_UP;
	id.auth = parse_scheme(value, len, &off, &n, &ok);
	if (id.auth == IDENTITY_AUTH_NONE)
		return IDENTITY_UNKNOWN_SCHEME;
	if (!ok || n == 0)
		return IDENTITY_GIVE_UP;
	struct buf b = buf_init(value, len);
	buf_skip(&b, off);
	struct buf tok = buf_sub(&b, n);
	switch (id.auth) {
	case IDENTITY_AUTH_BASIC:
		r = basic_user(tok, &id);
		break;
	case IDENTITY_AUTH_BEARER:
		r = bearer_user(tok, &id);
		break;
	default:
		r = ntlm_user(tok, &id);
		break;
	}
	if (r == IDENTITY_OK || r == IDENTITY_NO_USER)
		*ret = id;
	return r;
}

enum identity_result identity_from_owa_form(const char *body, size_t len, bool complete,
                                            struct identity *ret)
{
	struct identity id = {.auth = IDENTITY_AUTH_FORM};
	char raw[IDENTITY_USER_MAX * 2];
	bool trunc = false;

	if (!ret)
		return IDENTITY_GIVE_UP;
	switch (exchange_form_field(body, len, "username", complete, raw, sizeof(raw), &trunc)) {
	case EXCHANGE_OK:
		break;
	case EXCHANGE_NEED_MORE:
		return IDENTITY_NEED_MORE;
	case EXCHANGE_NOT_FOUND:
		*ret = id;
		return IDENTITY_NO_USER;
	default:
		return IDENTITY_GIVE_UP;
	}
	identity_normalize_user(raw, strlen(raw), id.user, sizeof(id.user), &id.truncated);
	id.truncated |= trunc;
	*ret = id;
	return id.user[0] ? IDENTITY_OK : IDENTITY_NO_USER;
}
