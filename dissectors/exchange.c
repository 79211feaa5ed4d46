/*
 * exchange.c — Exchange endpoint classification and the ActiveSync query.
 *
 * References:
 *   RFC 9112 §3.2 request-target forms; RFC 3986 §2.1 percent-encoding and
 *   §5.2.4 remove_dot_segments; IIS/http.sys URL canonicalisation (single
 *   decode, %uXXXX accepted, '\' as '/', dot segments resolved below root);
 *   MS-ASHTTP 2.2.1.1.1.1 (base64-encoded query value) and 2.2.1.1.1.2
 *   (plain text query value).
 *
 * The base64 ActiveSync query decodes to this byte sequence (MS-ASHTTP
 * 2.2.1.1.1.1; integers little-endian):
 *
 *    0          1          2          4          5
 *   +----------+----------+----------+----------+---------------------+
 *   | ProtVer  | Command  | Locale   | DevIdLen | DeviceId (DevIdLen) |
 *   +----------+----------+----------+----------+---------------------+
 *   | PKeyLen (0 or 4)    | PolicyKey (u32, PKeyLen bytes)            |
 *   +---------------------+-------------------------------------------+
 *   | DevTypeLen          | DeviceType (DevTypeLen)                   |
 *   +---------------------+-------------------------------------------+
 *   | Tag | Len | Value (Len bytes) | Tag | Len | Value | ...  to end  |
 *   +-----+-----+-------------------+-----------------------------------+
 *
 * Parameter tags (2.2.1.1.1.1.3): 0 AttachmentName, 1 CollectionId,
 * 3 ItemId, 4 LongId, 6 Occurrence, 7 Options (1-byte bitmask), 8 User.
 */
#include "exchange.h"

#include <string.h>

#include "b64.h"
#include "ascii.h"
#include "buf.h"
#include "textbuf.h"

/* Byte `at` positions ahead of the cursor, or -1; never sets the error flag. */
static int peek(const struct buf *b, size_t at)
{
	struct buf t = *b;
	if (!buf_skip(&t, at) || !buf_has(&t, 1))
		return -1;
	return buf_u8(&t);
}

/* True when the cursor starts with `s` (ASCII, case-insensitive). */
static bool ci_prefix(const struct buf *b, const char *s)
{
	for (size_t i = 0; s[i]; i++)
		if (ascii_lower(peek(b, i)) != ascii_lower((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Consumes one (possibly percent-encoded) character and writes its decoded
 * bytes to u; returns how many (1-4).  %XX and %uXXXX decode; an invalid
 * escape, or one that would produce NUL or a lone surrogate, yields a
 * literal '%' and the following characters are read on their own.
 */
static size_t url_next(struct buf *b, bool plus_space, uint8_t u[4])
{
	uint8_t c = buf_u8(b);
	if (c == '+' && plus_space) {
		u[0] = ' ';
		return 1;
	}
	u[0] = c;
	if (c != '%')
		return 1;
	int h1 = ascii_hex_digit(peek(b, 0)), h2 = ascii_hex_digit(peek(b, 1));
	if (h1 >= 0 && h2 >= 0) {
		if (h1 || h2) {
			buf_skip(b, 2);
			u[0] = (uint8_t)(h1 << 4 | h2);
		}
		return 1;
	}
	if (ascii_lower(peek(b, 0)) == 'u') {
		uint32_t cp = 0;
		for (size_t i = 1; i <= 4; i++) {
			int h = ascii_hex_digit(peek(b, i));
			if (h < 0)
				return 1;
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
			return 1;
		buf_skip(b, 5);
		return textbuf_utf8(cp, u);
	}
	return 1;
}

/*
 * Path normaliser state.  out[0..pos) holds the resolved segments, each
 * written as "/seg".  A segment that does not fit is not written at all and
 * counted in `hidden`; while hidden > 0 nothing more is written, so out is
 * always an exact prefix (in segments) of the full result, and ".." pops a
 * hidden segment before it pops a written one.
 */
struct pathw {
	char *out;
	size_t cap; /* out_size - 1: room for the NUL */
	size_t pos;
	size_t seg_start;
	size_t seg_len;
	uint8_t head[2];
	bool spill;
	bool last_dot;
	size_t hidden;
};

static void pathw_emit(struct pathw *w, uint8_t c)
{
	if (w->spill)
		return;
	if (w->pos < w->cap)
		w->out[w->pos++] = (char)c;
	else
		w->spill = true;
}

static void pathw_char(struct pathw *w, uint8_t c)
{
	if (w->seg_len == 0) {
		w->seg_start = w->pos;
		w->spill = w->hidden > 0;
		pathw_emit(w, '/');
	}
	if (w->seg_len < 2)
		w->head[w->seg_len] = c;
	w->seg_len++;
	pathw_emit(w, c);
}

/* Ends the current segment (at a '/' or at the end of the path). */
static void pathw_end(struct pathw *w)
{
	if (w->seg_len == 0)
		return;
	bool dot = w->seg_len == 1 && w->head[0] == '.';
	bool dotdot = w->seg_len == 2 && w->head[0] == '.' && w->head[1] == '.';

	if (dot || dotdot || w->spill)
		w->pos = w->seg_start;
	if (dotdot) {
		if (w->hidden) {
			w->hidden--;
		} else {
			while (w->pos > 0 && w->out[--w->pos] != '/')
				;
		}
	} else if (!dot && w->spill) {
		w->hidden++;
	}
	w->last_dot = dot || dotdot;
	w->seg_len = 0;
	w->spill = false;
}

/* Moves the cursor over scheme and authority of an absolute-form target. */
static bool target_to_path(struct buf *t)
{
	size_t skip;

	if (peek(t, 0) == '/')
		return true;
	if (ci_prefix(t, "http://"))
		skip = 7;
	else if (ci_prefix(t, "https://"))
		skip = 8;
	else
		return false;
	buf_skip(t, skip);
	for (int c = peek(t, 0); c >= 0 && c != '/' && c != '?' && c != '#'; c = peek(t, 0))
		buf_skip(t, 1);
	return true;
}

enum exchange_result exchange_path_normalize(const char *target, size_t len, char *out,
                                             size_t out_size, bool *ret_truncated)
{
	struct buf t = buf_init(target, len);
	struct pathw w = {.out = out, .cap = out_size ? out_size - 1 : 0};
	bool after_sep = false, ended_in_seg;

	if (!out || out_size < 2 || !target_to_path(&t))
		return EXCHANGE_GIVE_UP;
	for (int c = peek(&t, 0); c >= 0 && c != '?' && c != '#'; c = peek(&t, 0)) {
		uint8_t u[4];
		/* A raw NUL (not %00, which stays literal) cannot be in a URL
		 * that http.sys accepts, and would cut the C string short. */
		if (c == 0)
			return EXCHANGE_GIVE_UP;
		size_t n = url_next(&t, false, u);
		for (size_t i = 0; i < n; i++) {
			if (u[i] == '/' || u[i] == '\\') {
				pathw_end(&w);
				after_sep = true;
			} else {
				pathw_char(&w, u[i]);
				after_sep = false;
			}
		}
	}
	ended_in_seg = w.seg_len > 0;
	pathw_end(&w);
	if (w.pos == 0)
		out[w.pos++] = '/';
	else if ((ended_in_seg ? w.last_dot : after_sep) && !w.hidden && w.pos < w.cap)
		out[w.pos++] = '/';
	else if ((ended_in_seg ? w.last_dot : after_sep) && !w.hidden)
		w.hidden++; /* the trailing '/' did not fit: the path is cut */
	out[w.pos] = '\0';
	if (ret_truncated)
		*ret_truncated = w.hidden > 0;
	return EXCHANGE_OK;
}

static const struct {
	const char *path; /* lower case, leading segments */
	enum exchange_proto proto;
} exchange_routes[] = {
    {"/microsoft-server-activesync", EXCHANGE_EAS},
    {"/ews", EXCHANGE_EWS},
    {"/rpc/rpcproxy.dll", EXCHANGE_RPC},
    {"/mapi/emsmdb", EXCHANGE_MAPI},
    {"/mapi/nspi", EXCHANGE_MAPI},
    {"/owa", EXCHANGE_OWA},
    {"/autodiscover", EXCHANGE_AUTODISCOVER},
    {"/oab", EXCHANGE_OAB},
    {"/ecp", EXCHANGE_ECP},
    {"/powershell", EXCHANGE_POWERSHELL},
};

const char *exchange_proto_name(enum exchange_proto p)
{
	static const char *const names[] = {
	    [EXCHANGE_EAS] = "EAS",
	    [EXCHANGE_EWS] = "EWS",
	    [EXCHANGE_RPC] = "RPC",
	    [EXCHANGE_MAPI] = "MAPI",
	    [EXCHANGE_OWA] = "OWA",
	    [EXCHANGE_AUTODISCOVER] = "AUTODISCOVER",
	    [EXCHANGE_OAB] = "OAB",
	    [EXCHANGE_ECP] = "ECP",
	    [EXCHANGE_POWERSHELL] = "POWERSHELL",
	};
	if ((unsigned)p >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[p];
}

enum exchange_proto exchange_classify(const char *target, size_t len)
{
	/* Longer than every route: a truncated result still classifies exactly
	 * (see exchange_path_normalize). */
	char path[256];

	if (exchange_path_normalize(target, len, path, sizeof(path), NULL) != EXCHANGE_OK)
		return EXCHANGE_NONE;
	for (size_t i = 0; i < sizeof(exchange_routes) / sizeof(exchange_routes[0]); i++) {
		const char *r = exchange_routes[i].path;
		size_t n = strlen(r), k;
		for (k = 0; k < n && path[k] && ascii_lower((unsigned char)path[k]) == r[k]; k++)
			;
		if (k == n && (path[n] == '\0' || path[n] == '/'))
			return exchange_routes[i].proto;
	}
	return EXCHANGE_NONE;
}

/* Decodes a form value up to '&' or the end into out.  True when a '&' ended it. */
static bool form_value(struct buf *b, struct textbuf *out)
{
	for (int c = peek(b, 0); c >= 0; c = peek(b, 0)) {
		if (c == '&') {
			buf_skip(b, 1);
			return true;
		}
		uint8_t u[4];
		size_t n = url_next(b, true, u);
		textbuf_put(out, u, n);
	}
	return false;
}

/*
 * Reads one key up to '=' or '&' (consumed) or the end, comparing it with
 * `key`.  *ret_term is the terminator or -1 at the end of input.
 */
static bool form_key(struct buf *b, const char *key, int *ret_term)
{
	size_t klen = strlen(key), ki = 0;
	bool match = true;

	*ret_term = -1;
	for (int c = peek(b, 0); c >= 0; c = peek(b, 0)) {
		if (c == '=' || c == '&') {
			buf_skip(b, 1);
			*ret_term = c;
			break;
		}
		uint8_t u[4];
		size_t n = url_next(b, true, u);
		for (size_t i = 0; i < n; i++) {
			if (ki < klen && ascii_lower(u[i]) == ascii_lower((unsigned char)key[ki]))
				ki++;
			else
				match = false;
		}
	}
	return match && ki == klen;
}

enum exchange_result exchange_form_field(const char *s, size_t len, const char *key, bool complete,
                                         char *out, size_t out_size, bool *ret_truncated)
{
	struct buf b = buf_init(s, len);

	if (!key || !out || out_size < 1)
		return EXCHANGE_GIVE_UP;
	while (buf_left(&b) > 0) {
		int term;
		bool match = form_key(&b, key, &term);

		if (term < 0 && !complete)
			return EXCHANGE_NEED_MORE; /* the key may go on */
		if (match) {
			struct textbuf tb = textbuf_init(out, out_size);
			if (term == '=' && !form_value(&b, &tb) && !complete)
				return EXCHANGE_NEED_MORE; /* the value may go on */
			if (ret_truncated)
				*ret_truncated = tb.truncated;
			return EXCHANGE_OK;
		}
		if (term == '=') {
			int c;
			while ((c = peek(&b, 0)) >= 0 && c != '&')
				buf_skip(&b, 1);
			buf_skip(&b, 1);
		}
	}
	return complete ? EXCHANGE_NOT_FOUND : EXCHANGE_NEED_MORE;
}

/* The query of a request-target: after the first '?', up to '#'. */
static bool target_query(const char *target, size_t len, struct buf *ret_q)
{
	struct buf t = buf_init(target, len);
	int c;

	while ((c = peek(&t, 0)) >= 0 && c != '?' && c != '#')
		buf_skip(&t, 1);
	if (c != '?')
		return false;
	buf_skip(&t, 1);
	size_t start = buf_offset(&t), n = 0;
	while ((c = peek(&t, 0)) >= 0 && c != '#') {
		buf_skip(&t, 1);
		n++;
	}
	struct buf q = buf_init(target, len);
	buf_skip(&q, start);
	*ret_q = buf_sub(&q, n);
	return n > 0;
}

static const char *const eas_commands[] = {
    [0] = "Sync",
    [1] = "SendMail",
    [2] = "SmartForward",
    [3] = "SmartReply",
    [4] = "GetAttachment",
    [9] = "FolderSync",
    [10] = "FolderCreate",
    [11] = "FolderDelete",
    [12] = "FolderUpdate",
    [13] = "MoveItems",
    [14] = "GetItemEstimate",
    [15] = "MeetingResponse",
    [16] = "Search",
    [17] = "Settings",
    [18] = "Ping",
    [19] = "ItemOperations",
    [20] = "Provision",
    [21] = "ResolveRecipients",
    [22] = "ValidateCert",
};

/* Copies an n-byte string field into `out`, stopping at an embedded NUL. */
static void eas_string(struct buf *b, size_t n, char *out, size_t size, bool *trunc)
{
	struct textbuf tb = textbuf_init(out, size);
	struct buf s = buf_sub(b, n);
	bool nul = false;

	while (buf_left(&s) > 0) {
		uint8_t c = buf_u8(&s);
		nul |= c == 0;
		if (!nul)
			textbuf_putc(&tb, (char)c);
	}
	*trunc |= tb.truncated;
}

/* DeviceId: a string, or a binary GUID rendered as upper-case hex. */
static void eas_device_id(struct buf *b, size_t n, struct exchange_eas_query *q)
{
	struct buf t = buf_sub(b, n);
	bool printable = buf_ok(&t);

	for (size_t i = 0; i < n && printable; i++) {
		int c = peek(&t, i);
		printable = c > 0x20 && c < 0x7F;
	}
	if (printable) {
		eas_string(&t, n, q->device_id, sizeof(q->device_id), &q->truncated);
		return;
	}
	struct textbuf tb = textbuf_init(q->device_id, sizeof(q->device_id));
	for (size_t i = 0; i < n && buf_ok(&t); i++) {
		uint8_t v = buf_u8(&t);
		textbuf_putc(&tb, "0123456789ABCDEF"[v >> 4]);
		textbuf_putc(&tb, "0123456789ABCDEF"[v & 15]);
	}
	q->truncated |= tb.truncated;
}

static enum exchange_result eas_binary(struct buf *b, struct exchange_eas_query *q)
{
	q->base64 = true;
	q->protocol_version = buf_u8(b);
	q->cmd_code = buf_u8(b);
	q->locale = buf_le16(b);
	size_t n = buf_u8(b);
	if (!buf_ok(b) || n == 0)
		return EXCHANGE_GIVE_UP;
	eas_device_id(b, n, q);
	n = buf_u8(b);
	if (n != 0 && n != 4)
		return EXCHANGE_GIVE_UP;
	q->has_policy_key = n == 4;
	if (n)
		q->policy_key = buf_le32(b);
	n = buf_u8(b);
	eas_string(b, n, q->device_type, sizeof(q->device_type), &q->truncated);
	while (buf_ok(b) && buf_left(b) > 0) {
		uint8_t tag = buf_u8(b);
		n = buf_u8(b);
		if (tag == 8)
			eas_string(b, n, q->user, sizeof(q->user), &q->truncated);
		else
			buf_skip(b, n);
	}
	if (!buf_ok(b))
		return EXCHANGE_GIVE_UP;
	if ((size_t)q->cmd_code < sizeof(eas_commands) / sizeof(eas_commands[0]) &&
	    eas_commands[q->cmd_code]) {
		struct textbuf tb = textbuf_init(q->cmd, sizeof(q->cmd));
		textbuf_put(&tb, eas_commands[q->cmd_code], strlen(eas_commands[q->cmd_code]));
	}
	return EXCHANGE_OK;
}

static enum exchange_result eas_base64(struct buf *qb, struct exchange_eas_query *q)
{
	uint8_t text[EXCHANGE_EAS_QUERY_MAX], bin[EXCHANGE_EAS_QUERY_MAX];
	size_t tlen = 0, blen;

	if (buf_left(qb) > sizeof(text))
		return EXCHANGE_GIVE_UP;
	while (buf_left(qb) > 0) {
		uint8_t u[4];
		size_t n = url_next(qb, false, u);
		if (n > sizeof(text) - tlen)
			return EXCHANGE_GIVE_UP;
		memcpy(text + tlen, u, n);
		tlen += n;
	}
	if (b64_decode_flags(text, tlen, B64_PAD_OPTIONAL, bin, sizeof(bin), &blen) != B64_OK)
		return EXCHANGE_GIVE_UP;
	struct buf b = buf_init(bin, blen);
	return eas_binary(&b, q);
}

static bool eas_plain_field(struct buf *qb, const char *key, char *out, size_t size, bool *trunc)
{
	bool t = false;
	const void *s = buf_rest(qb);
	if (exchange_form_field(s, buf_left(qb), key, true, out, size, &t) != EXCHANGE_OK)
		return false;
	*trunc |= t;
	return true;
}

enum exchange_result exchange_eas_query(const char *target, size_t len,
                                        struct exchange_eas_query *ret)
{
	struct exchange_eas_query q = {.cmd_code = -1};
	struct buf qb;
	bool found = false;

	if (!ret)
		return EXCHANGE_GIVE_UP;
	if (!target_query(target, len, &qb))
		return EXCHANGE_NOT_FOUND;
	found |= eas_plain_field(&qb, "Cmd", q.cmd, sizeof(q.cmd), &q.truncated);
	found |= eas_plain_field(&qb, "User", q.user, sizeof(q.user), &q.truncated);
	found |= eas_plain_field(&qb, "DeviceId", q.device_id, sizeof(q.device_id), &q.truncated);
	found |=
	    eas_plain_field(&qb, "DeviceType", q.device_type, sizeof(q.device_type), &q.truncated);
	if (!found) {
		memset(&q, 0, sizeof(q));
		q.cmd_code = -1;
		enum exchange_result r = eas_base64(&qb, &q);
		if (r != EXCHANGE_OK)
			return r;
	}
	*ret = q;
	return EXCHANGE_OK;
}
