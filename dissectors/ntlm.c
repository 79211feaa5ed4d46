/*
 * ntlm.c — NTLM AUTHENTICATE parsing (MS-NLMP 2.2.1.3) and SPNEGO unwrapping
 * (RFC 4178 §4.2, RFC 2743 §3.1, DER per X.690).
 *
 * AUTHENTICATE_MESSAGE (all integers little-endian):
 *
 *    0                   8         12        20        28        36
 *   +-------------------+---------+---------+---------+---------+
 *   | "NTLMSSP\0"       | Type=3  | LmResp  | NtResp  | Domain  |
 *   +-------------------+---------+---------+---------+---------+
 *   36        44        52        60        64        72        88
 *   +---------+---------+---------+---------+---------+---------+---------
 *   | User    | Wkstn   | SessKey | Flags   | Version | MIC     | Payload
 *   +---------+---------+---------+---------+---------+---------+---------
 *
 *   security buffer (8 bytes): Len u16 | MaxLen u16 | BufferOffset u32
 *   (MaxLen is ignored on receipt, MS-NLMP 2.2.1.3.)
 *
 * Version and MIC are optional (NTLMSSP_NEGOTIATE_VERSION, and the MIC only
 * when the AV pairs say so), so the payload may start at 64, 72 or 88; the
 * only offset rule that holds for every sender is ">= 64 and inside the
 * message".
 *
 * SPNEGO as sent in "Authorization: Negotiate":
 *
 *   60 len  06 06 2b0601050502           InitialContextToken, OID spnego
 *     a0 len 30 len                      NegTokenInit ::= SEQUENCE {
 *       a0 mechTypes  a1 reqFlags          ...
 *       a2 len 04 len <mechToken>          [2] OCTET STRING  <- NTLMSSP
 *       a3 mechListMIC }
 *   a1 len 30 len                        NegTokenResp ::= SEQUENCE {
 *       a0 negState  a1 supportedMech
 *       a2 len 04 len <responseToken>      [2] OCTET STRING  <- NTLMSSP
 *       a3 mechListMIC }
 */
#include "ntlm.h"

#include <string.h>

#include "buf.h"
#include "textbuf.h"

#define NTLM_FIXED_LEN 64

static const uint8_t ntlm_signature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
static const uint8_t oid_spnego[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
static const uint8_t oid_krb5[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
static const uint8_t oid_krb5_ms[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

/* True when the next n bytes of b equal p (b is not moved). */
static bool buf_equals(const struct buf *b, const uint8_t *p, size_t n)
{
	struct buf t = *b;
	for (size_t i = 0; i < n; i++)
		if (!buf_has(&t, 1) || buf_u8(&t) != p[i])
			return false;
	return true;
}

int ntlm_message_type(const uint8_t *msg, size_t len)
{
	struct buf b = buf_init(msg, len);

	if (!buf_equals(&b, ntlm_signature, sizeof(ntlm_signature)))
		return 0;
	buf_skip(&b, sizeof(ntlm_signature));
	uint32_t type = buf_le32(&b);
	if (!buf_ok(&b) || type < 1 || type > 3)
		return 0;
	return (int)type;
}

struct ntlm_secbuf {
	uint16_t len;
	uint32_t off;
};

static struct ntlm_secbuf secbuf_read(struct buf *b)
{
	struct ntlm_secbuf s;
	s.len = buf_le16(b);
	buf_le16(b); /* MaxLen: ignored */
	s.off = buf_le32(b);
	return s;
}

/* A security buffer is honest when it lies in the payload of the message. */
static bool secbuf_valid(struct ntlm_secbuf s, size_t msg_len)
{
	if (s.len == 0)
		return true;
	return s.off >= NTLM_FIXED_LEN && (uint64_t)s.off + s.len <= msg_len;
}

/* UTF-16LE to UTF-8, with surrogate pairs; lone surrogates and NUL -> U+FFFD. */
static void utf16le_to_text(struct buf *s, struct textbuf *out, bool *bad)
{
	while (buf_left(s) >= 2) {
		uint32_t cp = buf_le16(s);
		if (cp >= 0xD800 && cp <= 0xDBFF) {
			struct buf t = *s;
			uint32_t lo = buf_left(&t) >= 2 ? buf_le16(&t) : 0;
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				buf_skip(s, 2);
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else {
				cp = 0xFFFD;
			}
		} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
			cp = 0xFFFD;
		}
		if (cp == 0xFFFD)
			*bad = true;
		textbuf_put_cp(out, cp);
	}
}

/* Copies one name field of the message into out. */
static bool name_field(const uint8_t *msg, size_t len, struct ntlm_secbuf s, bool unicode,
                       char *out, struct ntlm_auth *a)
{
	struct textbuf tb = textbuf_init(out, NTLM_NAME_MAX);
	struct buf b = buf_init(msg, len);

	if (s.len == 0)
		return true;
	if (unicode && (s.len & 1))
		return false;
	buf_skip(&b, s.off);
	struct buf f = buf_sub(&b, s.len);
	if (!buf_ok(&f))
		return false;
	if (unicode) {
		utf16le_to_text(&f, &tb, &a->bad_utf16);
	} else {
		while (buf_left(&f) > 0)
			textbuf_put_cp(&tb, buf_u8(&f)); /* Latin-1 */
	}
	a->truncated |= tb.truncated;
	return true;
}

enum ntlm_result ntlm_parse_authenticate(const uint8_t *msg, size_t len, struct ntlm_auth *ret)
{
	struct ntlm_auth a;
	struct buf b = buf_init(msg, len);
	int type = ntlm_message_type(msg, len);

	if (type == 1 || type == 2)
		return NTLM_NOT_AUTH;
	if (type != 3 || len < NTLM_FIXED_LEN || !ret)
		return NTLM_GIVE_UP;
	memset(&a, 0, sizeof(a));
	buf_skip(&b, 12);
	struct ntlm_secbuf lm = secbuf_read(&b), nt = secbuf_read(&b);
	struct ntlm_secbuf dom = secbuf_read(&b), user = secbuf_read(&b);
	struct ntlm_secbuf ws = secbuf_read(&b), key = secbuf_read(&b);
	a.flags = buf_le32(&b);
	if (!buf_ok(&b))
		return NTLM_GIVE_UP;
	const struct ntlm_secbuf all[] = {lm, nt, dom, user, ws, key};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!secbuf_valid(all[i], len))
			return NTLM_GIVE_UP;
	a.unicode = a.flags & NTLM_NEGOTIATE_UNICODE;
	if (!name_field(msg, len, dom, a.unicode, a.domain, &a) ||
	    !name_field(msg, len, user, a.unicode, a.user, &a) ||
	    !name_field(msg, len, ws, a.unicode, a.workstation, &a))
		return NTLM_GIVE_UP;
	a.anonymous = user.len == 0 && nt.len == 0;
	*ret = a;
	return NTLM_OK;
}

/*
 * Reads one DER TLV (low tag numbers, definite length up to 4 bytes) and
 * returns a cursor over its contents.
 */
static bool der_next(struct buf *b, uint8_t *ret_tag, struct buf *ret_body)
{
	uint8_t tag = buf_u8(b);
	uint8_t l = buf_u8(b);
	size_t len = l;

	if (!buf_ok(b) || (tag & 0x1F) == 0x1F)
		return false;
	if (l & 0x80) {
		size_t n = l & 0x7F;
		if (n == 0 || n > 4)
			return false;
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = len << 8 | buf_u8(b);
	}
	if (!buf_ok(b) || len > buf_left(b))
		return false;
	*ret_tag = tag;
	*ret_body = buf_sub(b, len);
	return buf_ok(ret_body);
}

/* Finds the [ctx] element of a SEQUENCE body and returns its contents. */
static bool der_field(struct buf seq, uint8_t ctx, struct buf *ret)
{
	uint8_t tag;
	struct buf body;

	while (buf_left(&seq) > 0) {
		if (!der_next(&seq, &tag, &body))
			return false;
		if (tag == ctx) {
			*ret = body;
			return true;
		}
	}
	return false;
}

static bool is_krb5_oid(const struct buf *oid)
{
	size_t n = buf_left(oid);
	return (n == sizeof(oid_krb5) && buf_equals(oid, oid_krb5, n)) ||
	       (n == sizeof(oid_krb5_ms) && buf_equals(oid, oid_krb5_ms, n));
}

/* What a mechanism token carries: NTLMSSP (parsed) or Kerberos. */
static enum ntlm_result mech_token(struct buf tok, struct ntlm_auth *ret)
{
	uint8_t tag;
	struct buf body, oid;
	const uint8_t *p = buf_rest(&tok);
	size_t n = buf_left(&tok);

	if (ntlm_message_type(p, n))
		return ntlm_parse_authenticate(p, n, ret);
	if (!der_next(&tok, &tag, &body) || tag != 0x60)
		return NTLM_GIVE_UP;
	if (!der_next(&body, &tag, &oid) || tag != 0x06)
		return NTLM_GIVE_UP;
	return is_krb5_oid(&oid) ? NTLM_KERBEROS : NTLM_GIVE_UP;
}

/* NegTokenInit ([0]) or NegTokenResp ([1]): find the token inside. */
static enum ntlm_result neg_token(uint8_t tag, struct buf body, struct ntlm_auth *ret)
{
	uint8_t t;
	struct buf seq, field, octets;

	if (tag != 0xA0 && tag != 0xA1)
		return NTLM_GIVE_UP;
	if (!der_next(&body, &t, &seq) || t != 0x30)
		return NTLM_GIVE_UP;
	/* mechToken is [2] in NegTokenInit, responseToken [2] in NegTokenResp. */
	if (!der_field(seq, 0xA2, &field))
		return NTLM_NO_TOKEN;
	if (!der_next(&field, &t, &octets) || t != 0x04)
		return NTLM_GIVE_UP;
	return mech_token(octets, ret);
}

enum ntlm_result ntlm_parse_negotiate(const uint8_t *tok, size_t len, struct ntlm_auth *ret)
{
	struct buf b = buf_init(tok, len);
	uint8_t tag;
	struct buf body, oid, inner;

	if (ntlm_message_type(tok, len))
		return ntlm_parse_authenticate(tok, len, ret);
	if (!der_next(&b, &tag, &body))
		return NTLM_GIVE_UP;
	if (tag == 0xA1)
		return neg_token(tag, body, ret);
	if (tag != 0x60 || !der_next(&body, &tag, &oid) || tag != 0x06)
		return NTLM_GIVE_UP;
	if (is_krb5_oid(&oid))
		return NTLM_KERBEROS;
	if (buf_left(&oid) != sizeof(oid_spnego) ||
	    !buf_equals(&oid, oid_spnego, sizeof(oid_spnego)))
		return NTLM_GIVE_UP;
	if (!der_next(&body, &tag, &inner))
		return NTLM_GIVE_UP;
	return neg_token(tag, inner, ret);
}
