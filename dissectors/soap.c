/*
 * soap.c — the EWS operation name: first child element of soap:Body.
 *
 * References: XML 1.0 (5th ed.) §2.5 comments, §2.6 processing
 * instructions, §2.7 CDATA, §3.1 start/end tags; Namespaces in XML §4
 * (QName = Prefix ':' LocalPart); SOAP 1.1 §4, SOAP 1.2 Part 1 §5 (a SOAP
 * message carries no DTD).
 *
 *   <?xml version="1.0"?>                       skipped
 *   <s:Envelope xmlns:s="...">                  depth 0, must be Envelope
 *     <s:Header> ... anything ... </s:Header>   depth 1, content skipped
 *     <s:Body>                                  depth 1, local name Body
 *       <m:FindItem Traversal="Shallow">        depth 2 -> "FindItem"
 *
 * This is a scanner, not a validating parser: it tracks tag nesting and the
 * lexical constructs that may contain '<' or '>' (comments, PIs, CDATA,
 * quoted attribute values), which is all that is needed to find the Body's
 * first child reliably.  Every helper answers XS_OK, XS_SHORT (the scanned
 * prefix ended) or XS_BAD (malformed).
 */
#include "soap.h"

#include <string.h>

#include "buf.h"
#include "textbuf.h"

enum xs { XS_OK, XS_SHORT, XS_BAD };

/* Byte `at` ahead of the cursor, or -1. */
static int peek(const struct buf *b, size_t at)
{
	struct buf t = *b;
	if (!buf_skip(&t, at) || !buf_has(&t, 1))
		return -1;
	return buf_u8(&t);
}

/* XS_OK: the cursor starts with s; XS_SHORT: the input ends inside a
 * match; XS_BAD: it does not start with s. */
static enum xs starts(const struct buf *b, const char *s)
{
	for (size_t i = 0; s[i]; i++) {
		int c = peek(b, i);
		if (c < 0)
			return XS_SHORT;
		if (c != (unsigned char)s[i])
			return XS_BAD;
	}
	return XS_OK;
}

static enum xs skip_past(struct buf *b, const char *term)
{
	while (buf_left(b) > 0) {
		enum xs m = starts(b, term);
		if (m == XS_OK) {
			buf_skip(b, strlen(term));
			return XS_OK;
		}
		if (m == XS_SHORT)
			return XS_SHORT;
		buf_skip(b, 1);
	}
	return XS_SHORT;
}

static bool name_end(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '>' || c == '/' || c == '=';
}

/* Reads a QName and keeps its local part in `local`. */
static enum xs read_name(struct buf *b, struct textbuf *local)
{
	size_t n = 0;

	for (int c = peek(b, 0);; c = peek(b, 0)) {
		if (c < 0)
			return XS_SHORT;
		if (name_end(c))
			break;
		/* XML 1.0 §2.3: no markup, quotes or control characters in a Name. */
		if (c == '<' || c == '"' || c == '\'' || c < 0x21 || c == 0x7f)
			return XS_BAD;
		buf_skip(b, 1);
		n++;
		if (c == ':') {
			if (n == 1 || local->len == 0)
				return XS_BAD; /* empty prefix */
			*local = textbuf_init(local->s, local->size);
			continue;
		}
		textbuf_putc(local, (char)c);
	}
	return n && local->len ? XS_OK : XS_BAD;
}

/* Attributes up to '>' or '/>', quoted values skipped whole. */
static enum xs tag_rest(struct buf *b, bool *ret_empty)
{
	*ret_empty = false;
	for (;;) {
		int c = peek(b, 0);
		if (c < 0)
			return XS_SHORT;
		if (c == '<')
			return XS_BAD;
		buf_skip(b, 1);
		if (c == '>')
			return XS_OK;
		if (c == '/') {
			c = peek(b, 0);
			if (c < 0)
				return XS_SHORT;
			if (c != '>')
				return XS_BAD;
			buf_skip(b, 1);
			*ret_empty = true;
			return XS_OK;
		}
		if (c == '"' || c == '\'') {
			enum xs r = skip_past(b, c == '"' ? "\"" : "'");
			if (r != XS_OK)
				return r;
		}
	}
}

/* "<!": a comment or CDATA section (skipped); anything else (DTD) is bad. */
static enum xs markup_decl(struct buf *b)
{
	enum xs c = starts(b, "<!--"), d = starts(b, "<![CDATA[");

	if (c == XS_OK)
		return skip_past(b, "-->");
	if (d == XS_OK)
		return skip_past(b, "]]>");
	return c == XS_SHORT || d == XS_SHORT ? XS_SHORT : XS_BAD;
}

struct soap_scan {
	unsigned depth; /* elements open */
	bool in_body;
	char local[SOAP_OP_MAX];
};

/* "</name>": returns XS_OK, or XS_BAD; *ret_body_end when the Body closed. */
static enum xs end_tag(struct buf *b, struct soap_scan *s, bool *ret_body_end)
{
	struct textbuf lt = textbuf_init(s->local, sizeof(s->local));
	enum xs r;

	buf_skip(b, 2);
	if ((r = read_name(b, &lt)) != XS_OK)
		return r;
	while (peek(b, 0) == ' ' || peek(b, 0) == '\t' || peek(b, 0) == '\r' || peek(b, 0) == '\n')
		buf_skip(b, 1);
	if (peek(b, 0) < 0)
		return XS_SHORT;
	if (peek(b, 0) != '>' || s->depth == 0)
		return XS_BAD;
	buf_skip(b, 1);
	s->depth--;
	*ret_body_end = s->in_body && s->depth == 1;
	return s->depth == 0 ? XS_BAD : XS_OK; /* Envelope closed without a Body */
}

/* Copies the longest prefix of the name that fits and does not end inside
 * a UTF-8 sequence. */
static void op_name(const struct soap_scan *s, const struct textbuf *lt, char *out, size_t out_size,
                    bool *ret_truncated)
{
	struct textbuf ot = textbuf_init(out, out_size);
	size_t n = lt->len < out_size - 1 ? lt->len : out_size - 1;

	while (n > 0 && n < lt->len && ((uint8_t)s->local[n] & 0xC0) == 0x80)
		n--;
	textbuf_put(&ot, s->local, n);
	if (ret_truncated)
		*ret_truncated = n < lt->len || lt->truncated;
}

static enum soap_result finish_short(size_t len, size_t window, bool complete)
{
	if (len > window || complete)
		return SOAP_GIVE_UP;
	return SOAP_NEED_MORE;
}

enum soap_result soap_operation(const uint8_t *body, size_t len, bool complete, char *out,
                                size_t out_size, bool *ret_truncated)
{
	size_t window = len < SOAP_SCAN_MAX ? len : SOAP_SCAN_MAX;
	struct buf b = buf_init(body, window);
	struct soap_scan s = {.depth = 0};
	enum xs r = XS_OK;

	if (!out || out_size < 1)
		return SOAP_GIVE_UP;
	if (starts(&b, "\xEF\xBB\xBF") == XS_OK)
		buf_skip(&b, 3);
	while (r == XS_OK) {
		while (peek(&b, 0) >= 0 && peek(&b, 0) != '<')
			buf_skip(&b, 1);
		int c = peek(&b, 1);
		if (c < 0) {
			r = XS_SHORT;
		} else if (c == '?') {
			r = skip_past(&b, "?>");
		} else if (c == '!') {
			r = markup_decl(&b);
		} else if (c == '/') {
			bool body_end = false;
			r = end_tag(&b, &s, &body_end);
			if (r == XS_OK && body_end)
				return SOAP_NO_OPERATION;
		} else {
			struct textbuf lt = textbuf_init(s.local, sizeof(s.local));
			bool empty;
			buf_skip(&b, 1);
			if ((r = read_name(&b, &lt)) != XS_OK)
				break;
			if (s.in_body && s.depth == 2) {
				/* The operation: the name is complete, the tag need not be. */
				op_name(&s, &lt, out, out_size, ret_truncated);
				return SOAP_OK;
			}
			if ((r = tag_rest(&b, &empty)) != XS_OK)
				break;
			if (s.depth == 0 && (strcmp(s.local, "Envelope") || empty))
				return SOAP_GIVE_UP;
			if (s.depth == 1 && !strcmp(s.local, "Body")) {
				if (empty)
					return SOAP_NO_OPERATION;
				s.in_body = true;
			}
			if (!empty && ++s.depth > SOAP_DEPTH_MAX)
				return SOAP_GIVE_UP;
		}
	}
	return r == XS_SHORT ? finish_short(len, window, complete) : SOAP_GIVE_UP;
}
