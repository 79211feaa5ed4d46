/*
 * tls.c — TLS record framing, hello parsing, JA3/JA4 inputs, suite table.
 *
 * References: RFC 8446 §4.1.2 (ClientHello), §4.1.3 (ServerHello, HRR,
 * downgrade sentinels), §4.2 (extensions), §5.1 (record layer); RFC 5246
 * §6.2 and §7.4.1; RFC 8701 (GREASE).  See tls.h for the contracts.
 *
 * ClientHello body (after the 4-byte handshake header, type 1):
 *
 *   legacy_version(2) random(32) session_id<0..32> cipher_suites<2..2^16-2>
 *   legacy_compression_methods<1..2^8-1> [extensions<0..2^16-1>]
 *
 * ServerHello body (type 2; HelloRetryRequest is a ServerHello whose random
 * is SHA-256("HelloRetryRequest")):
 *
 *   legacy_version(2) random(32) session_id<0..32> cipher_suite(2)
 *   compression_method(1) [extensions<0..2^16-1>]
 *
 * extension: type(2) length(2) body(length).  Extension lists are absent
 * in SSL 3.0 and allowed to be absent in TLS 1.0-1.2 hellos.
 *
 * Handshake message (RFC 8446 §4): type(1) length(3) body.  One message
 * may span several records and one record may hold several messages.
 */
#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "textbuf.h"

#define EXT_SERVER_NAME            0
#define EXT_SUPPORTED_GROUPS       10
#define EXT_EC_POINT_FORMATS       11
#define EXT_SIGNATURE_ALGORITHMS   13
#define EXT_ALPN                   16
#define EXT_ENCRYPT_THEN_MAC       22
#define EXT_EXTENDED_MASTER_SECRET 23
#define EXT_RECORD_SIZE_LIMIT      28
#define EXT_SESSION_TICKET         35
#define EXT_PRE_SHARED_KEY         41
#define EXT_EARLY_DATA             42
#define EXT_SUPPORTED_VERSIONS     43
#define EXT_PSK_KEY_EXCHANGE_MODES 45
#define EXT_KEY_SHARE              51

const uint8_t tls_hrr_random[TLS_RANDOM_LEN] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

/* "DOWNGRD" followed by 01 (TLS 1.2) or 00 (TLS 1.1 and below). */
static const uint8_t downgrd[7] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44};

const char *tls_anomaly_name(enum tls_anomaly a)
{
	static const char *const names[] = {
#define TLS_ANOMALY_NAME(id, name) name,
	    TLS_ANOMALY_LIST(TLS_ANOMALY_NAME)
#undef TLS_ANOMALY_NAME
	};
	return (unsigned)a < TLS_ANOMALY__COUNT ? names[a] : "unknown";
}

bool tls_is_grease(uint16_t v)
{
	return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF);
}

/*
 * Record layer.
 */

enum tls_result tls_record_parse(const uint8_t *data, size_t len, size_t max_len,
                                 struct tls_record *ret, size_t *ret_consumed, size_t *ret_needed,
                                 enum tls_anomaly *ret_anomaly)
{
	struct buf b = buf_init(data, len);
	enum tls_anomaly why = TLS_ANOMALY_NOT_TLS;
	uint8_t type = buf_u8(&b);
	uint8_t major = buf_u8(&b), minor = buf_u8(&b);
	uint16_t length = buf_be16(&b);
	size_t have = len < TLS_RECORD_HEADER ? len : TLS_RECORD_HEADER;

	/* Check what is present of the header, so that junk fails early. */
	if (have >= 1 && (type < TLS_CT_CHANGE_CIPHER_SPEC || type > TLS_CT_HEARTBEAT)) {
		if (type & 0x80) /* SSL 2.0 two-byte header */
			why = TLS_ANOMALY_SSLV2;
		goto give_up;
	}
	if ((have >= 2 && major != 3) || (have >= 3 && minor > 4))
		goto give_up;
	if (have < TLS_RECORD_HEADER) {
		if (ret_needed)
			*ret_needed = TLS_RECORD_HEADER;
		return TLS_NEED_MORE;
	}
	why = TLS_ANOMALY_RECORD_TOO_LONG;
	if (length > max_len)
		goto give_up;
	why = TLS_ANOMALY_EMPTY_RECORD;
	if (length == 0 && type != TLS_CT_APPLICATION_DATA)
		goto give_up;
	if (buf_left(&b) < length) {
		if (ret_needed)
			*ret_needed = TLS_RECORD_HEADER + (size_t)length;
		return TLS_NEED_MORE;
	}
	if (ret) {
		ret->type = type;
		ret->version = (uint16_t)(major << 8 | minor);
		ret->length = length;
		ret->fragment = length ? buf_take(&b, length) : NULL;
		ret->encrypted = type == TLS_CT_APPLICATION_DATA;
	}
	if (ret_consumed)
		*ret_consumed = TLS_RECORD_HEADER + (size_t)length;
	return TLS_OK;
give_up:
	if (ret_anomaly)
		*ret_anomaly = why;
	return TLS_GIVE_UP;
}

/*
 * Hello parsing helpers.
 */

static void list_add(struct tls_list *l, uint16_t v)
{
	if (l->n < TLS_LIST_MAX)
		l->v[l->n++] = v;
	l->total++;
}

static bool list_has(const struct tls_list *l, uint16_t v)
{
	for (uint16_t i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return true;
	return false;
}

/* Reads a vector of 16-bit values behind a 1- or 2-byte length. */
static bool read_u16_vec(struct buf *b, int lenbytes, struct tls_list *l, bool *grease)
{
	size_t n = lenbytes == 1 ? buf_u8(b) : buf_be16(b);
	if (!buf_ok(b) || n % 2 || n > buf_left(b))
		return false;
	struct buf v = buf_sub(b, n);
	while (buf_left(&v) > 0) {
		uint16_t x = buf_be16(&v);
		if (grease && tls_is_grease(x))
			*grease = true;
		list_add(l, x);
	}
	return buf_ok(&v);
}

static bool read_u8_vec(struct buf *b, struct tls_list *l)
{
	size_t n = buf_u8(b);
	if (!buf_ok(b) || n > buf_left(b))
		return false;
	for (size_t i = 0; i < n; i++)
		list_add(l, buf_u8(b));
	return buf_ok(b);
}

/* A cursor over a vector body behind a 1/2-byte length that must fit. */
static struct buf read_vec(struct buf *b, int lenbytes)
{
	size_t n = lenbytes == 1 ? buf_u8(b) : buf_be16(b);
	return buf_sub(b, buf_ok(b) ? n : SIZE_MAX);
}

static bool at_end(const struct buf *b)
{
	return buf_ok(b) && buf_left(b) == 0;
}

/* server_name_list<1..2^16-1> of (name_type, host_name<1..2^16-1>). */
static bool ext_sni(struct buf e, struct tls_client_hello *ch)
{
	struct buf list = read_vec(&e, 2);
	if (!at_end(&e) || buf_left(&list) == 0)
		return false;
	while (buf_left(&list) > 0) {
		uint8_t type = buf_u8(&list);
		struct buf name = read_vec(&list, 2);
		if (!buf_ok(&name) || buf_left(&name) == 0)
			return false;
		if (type != 0 || ch->has_sni)
			continue;
		struct textbuf t = textbuf_init(ch->sni, sizeof(ch->sni));
		ch->has_sni = true;
		while (buf_left(&name) > 0) {
			uint8_t c = buf_u8(&name);
			textbuf_putc(&t, c > 0x20 && c < 0x7F ? (char)c : '?');
		}
		ch->sni_truncated = t.truncated;
	}
	return buf_ok(&list);
}

/* protocol_name_list<2..2^16-1> of ProtocolName<1..2^8-1>. */
static bool ext_alpn(struct buf e, uint16_t *ret_count, uint8_t *first, uint8_t *ret_first_len)
{
	struct buf list = read_vec(&e, 2);
	uint16_t count = 0;
	if (!at_end(&e) || buf_left(&list) == 0)
		return false;
	while (buf_left(&list) > 0) {
		struct buf p = read_vec(&list, 1);
		size_t n = buf_left(&p);
		if (!buf_ok(&p) || n == 0)
			return false;
		if (count++ == 0) {
			buf_copy(&p, first, n);
			*ret_first_len = (uint8_t)n;
		}
	}
	*ret_count = count;
	return buf_ok(&list);
}

/* OfferedPsks: identities<7..2^16-1> (identity<1..2^16-1>, age u32), binders. */
static bool ext_psk(struct buf e, struct tls_client_hello *ch)
{
	struct buf ids = read_vec(&e, 2);
	struct buf binders = read_vec(&e, 2);
	if (!at_end(&e) || !buf_ok(&binders) || buf_left(&ids) == 0)
		return false;
	while (buf_left(&ids) > 0) {
		struct buf id = read_vec(&ids, 2);
		buf_be32(&ids);
		if (!buf_ok(&id) || !buf_ok(&ids) || buf_left(&id) == 0)
			return false;
		ch->psk_identities++;
	}
	ch->has_psk = true;
	return true;
}

/* client_shares<0..2^16-1> of (group, key_exchange<1..2^16-1>). */
static bool ext_key_share(struct buf e, struct tls_client_hello *ch)
{
	struct buf list = read_vec(&e, 2);
	if (!at_end(&e))
		return false;
	while (buf_left(&list) > 0) {
		uint16_t g = buf_be16(&list);
		struct buf kx = read_vec(&list, 2);
		if (!buf_ok(&kx) || buf_left(&kx) == 0)
			return false;
		if (tls_is_grease(g))
			ch->grease = true;
		list_add(&ch->key_shares, g);
	}
	return buf_ok(&list);
}

/* Extensions both hellos understand the same way; -1 when not one of them. */
static int common_extension(struct tls_hello_common *h, uint16_t type, struct buf *e)
{
	switch (type) {
	case EXT_ENCRYPT_THEN_MAC:
		h->encrypt_then_mac = true;
		return at_end(e);
	case EXT_EXTENDED_MASTER_SECRET:
		h->extended_master_secret = true;
		return at_end(e);
	case EXT_RECORD_SIZE_LIMIT:
		h->record_size_limit = buf_be16(e);
		h->has_record_size_limit = true;
		return at_end(e) && h->record_size_limit >= 64; /* RFC 8449 §4 */
	default:
		return -1;
	}
}

static bool ch_extension(struct tls_client_hello *ch, uint16_t type, struct buf e)
{
	uint8_t modes;
	int r = common_extension(&ch->h, type, &e);

	if (r >= 0)
		return r;
	switch (type) {
	case EXT_SERVER_NAME:
		return ext_sni(e, ch);
	case EXT_SUPPORTED_GROUPS:
		return read_u16_vec(&e, 2, &ch->groups, &ch->grease) && at_end(&e);
	case EXT_EC_POINT_FORMATS:
		return read_u8_vec(&e, &ch->point_formats) && at_end(&e);
	case EXT_SIGNATURE_ALGORITHMS:
		return read_u16_vec(&e, 2, &ch->sigalgs, &ch->grease) && at_end(&e);
	case EXT_ALPN:
		return ext_alpn(e, &ch->alpn_count, ch->alpn_first, &ch->alpn_first_len);
	case EXT_SESSION_TICKET:
		ch->session_ticket = buf_left(&e) > 0;
		return true;
	case EXT_PRE_SHARED_KEY:
		return ext_psk(e, ch);
	case EXT_EARLY_DATA:
		ch->early_data = true;
		return at_end(&e);
	case EXT_SUPPORTED_VERSIONS:
		return read_u16_vec(&e, 1, &ch->versions, &ch->grease) && at_end(&e);
	case EXT_PSK_KEY_EXCHANGE_MODES: {
		struct buf m = read_vec(&e, 1);
		if (!at_end(&e) || buf_left(&m) == 0)
			return false;
		while (buf_left(&m) > 0) {
			modes = buf_u8(&m);
			if (modes < 8) /* psk_ke (0), psk_dhe_ke (1) */
				ch->psk_modes |= (uint8_t)(1u << modes);
		}
		return true;
	}
	case EXT_KEY_SHARE:
		return ext_key_share(e, ch);
	default:
		return true;
	}
}

static bool sh_extension(struct tls_server_hello *sh, uint16_t type, struct buf e)
{
	int r = common_extension(&sh->h, type, &e);

	if (r >= 0)
		return r;
	switch (type) {
	case EXT_SUPPORTED_VERSIONS:
		sh->version = buf_be16(&e);
		return at_end(&e);
	case EXT_ALPN: {
		uint16_t count = 0;
		sh->has_alpn = ext_alpn(e, &count, sh->alpn, &sh->alpn_len);
		return sh->has_alpn && count == 1; /* RFC 7301 §3.1 */
	}
	case EXT_KEY_SHARE:
		sh->key_share_group = buf_be16(&e);
		if (!sh->hello_retry_request) {
			struct buf kx = read_vec(&e, 2);
			if (!buf_ok(&kx) || buf_left(&kx) == 0)
				return false;
		}
		return at_end(&e);
	case EXT_PRE_SHARED_KEY:
		sh->psk_identity = buf_be16(&e);
		sh->has_psk = true;
		return at_end(&e);
	default:
		return true;
	}
}

/*
 * Walks extensions<0..2^16-1>, which must fill the rest of the body
 * exactly.  Each extension's body goes to ch_extension or sh_extension.
 */
static bool walk_extensions(struct buf *b, struct tls_hello_common *h, struct tls_client_hello *ch,
                            struct tls_server_hello *sh)
{
	if (buf_left(b) == 0)
		return buf_ok(b); /* no extensions: allowed before TLS 1.3 */
	struct buf exts = read_vec(b, 2);
	if (!at_end(b) || !buf_ok(&exts))
		return false;
	while (buf_left(&exts) > 0) {
		uint16_t type = buf_be16(&exts);
		struct buf e = read_vec(&exts, 2);
		if (!buf_ok(&e))
			return false;
		if (list_has(&h->extensions, type))
			h->dup_extension = true;
		if (ch && tls_is_grease(type))
			ch->grease = true;
		if (ch && ch->has_psk)
			ch->psk_not_last = true;
		list_add(&h->extensions, type);
		bool ok = ch ? ch_extension(ch, type, e) : sh_extension(sh, type, e);
		if (!ok)
			h->bad_extension = true;
	}
	return true;
}

/* legacy_version, random and session_id, the start of both hellos. */
static bool hello_start(struct buf *b, struct tls_hello_common *h)
{
	h->legacy_version = buf_be16(b);
	buf_copy(b, h->random, TLS_RANDOM_LEN);
	struct buf sid = read_vec(b, 1);
	size_t n = buf_left(&sid);
	if (!buf_ok(&sid) || n > TLS_SESSION_ID_MAX)
		return false;
	h->session_id_len = (uint8_t)n;
	buf_copy(&sid, h->session_id, n);
	return buf_ok(b);
}

enum tls_result tls_client_hello_parse(const uint8_t *body, size_t len,
                                       struct tls_client_hello *ret)
{
	struct tls_client_hello *ch = malloc(sizeof(*ch));
	struct buf b = buf_init(body, len);
	enum tls_result r = TLS_GIVE_UP;

	if (!ch || !ret)
		goto out;
	memset(ch, 0, sizeof(*ch));
	if (!hello_start(&b, &ch->h))
		goto out;
	if (!read_u16_vec(&b, 2, &ch->ciphers, &ch->grease) || ch->ciphers.total == 0)
		goto out;
	struct buf comp = read_vec(&b, 1);
	if (!buf_ok(&comp) || buf_left(&comp) == 0)
		goto out;
	ch->compression_n = (uint8_t)buf_left(&comp);
	while (buf_left(&comp) > 0)
		if (buf_u8(&comp) == 0)
			ch->compression_null = true;
	if (!walk_extensions(&b, &ch->h, ch, NULL))
		goto out;
	ch->overflow =
	    ch->ciphers.total > ch->ciphers.n || ch->h.extensions.total > ch->h.extensions.n ||
	    ch->groups.total > ch->groups.n || ch->sigalgs.total > ch->sigalgs.n ||
	    ch->point_formats.total > ch->point_formats.n || ch->versions.total > ch->versions.n ||
	    ch->key_shares.total > ch->key_shares.n;
	*ret = *ch;
	r = TLS_OK;
out:
	free(ch);
	return r;
}

enum tls_result tls_server_hello_parse(const uint8_t *body, size_t len,
                                       struct tls_server_hello *ret)
{
	struct tls_server_hello sh;
	struct buf b = buf_init(body, len);

	memset(&sh, 0, sizeof(sh));
	if (!ret || !hello_start(&b, &sh.h))
		return TLS_GIVE_UP;
	sh.cipher_suite = buf_be16(&b);
	sh.compression = buf_u8(&b);
	if (!buf_ok(&b))
		return TLS_GIVE_UP;
	sh.hello_retry_request = !memcmp(sh.h.random, tls_hrr_random, TLS_RANDOM_LEN);
	if (!memcmp(sh.h.random + 24, downgrd, sizeof(downgrd)) && sh.h.random[31] <= 1)
		sh.downgrade = sh.h.random[31] ? 12 : 11;
	sh.version = sh.h.legacy_version;
	if (!walk_extensions(&b, &sh.h, NULL, &sh))
		return TLS_GIVE_UP;
	*ret = sh;
	return TLS_OK;
}

/*
 * Fingerprint inputs.
 */

static bool put_uint(struct textbuf *t, unsigned v, bool hex4)
{
	char tmp[12];
	int n = snprintf(tmp, sizeof(tmp), hex4 ? "%04x" : "%u", v);
	return n > 0 && textbuf_put(t, tmp, (size_t)n);
}

/* Appends the non-GREASE values of l, joined by sep. */
static void put_list(struct textbuf *t, const uint16_t *v, size_t n, char sep, bool hex4)
{
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (tls_is_grease(v[i]))
			continue;
		if (!first)
			textbuf_putc(t, sep);
		put_uint(t, v[i], hex4);
		first = false;
	}
}

int tls_ja3_string(const struct tls_client_hello *ch, char *out, size_t size)
{
	struct textbuf t = textbuf_init(out, size);
	const struct tls_list *l[4] = {&ch->ciphers, &ch->h.extensions, &ch->groups,
	                               &ch->point_formats};

	if (ch->overflow)
		return -E2BIG;
	put_uint(&t, ch->h.legacy_version, false);
	for (size_t i = 0; i < 4; i++) {
		textbuf_putc(&t, ',');
		put_list(&t, l[i]->v, l[i]->n, '-', false);
	}
	return t.truncated ? -E2BIG : 0;
}

static int cmp_u16(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
	return (x > y) - (x < y);
}

/* Non-GREASE values of l except `skip_a`/`skip_b`, sorted, into v. */
static size_t sorted_values(const struct tls_list *l, uint16_t *v, int skip_a, int skip_b)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!tls_is_grease(l->v[i]) && l->v[i] != skip_a && l->v[i] != skip_b)
			v[n++] = l->v[i];
	qsort(v, n, sizeof(v[0]), cmp_u16);
	return n;
}

static size_t count_non_grease(const struct tls_list *l)
{
	size_t n = 0;
	for (size_t i = 0; i < l->n; i++)
		n += !tls_is_grease(l->v[i]);
	return n > 99 ? 99 : n;
}

static const struct {
	uint16_t v;
	char s[3];
} ja4_versions[] = {
    {TLS_V13, "13"}, {TLS_V12, "12"}, {TLS_V11, "11"}, {TLS_V10, "10"}, {0x0300, "s3"},
    {0x0002, "s2"},  {0xFEFF, "d1"},  {0xFEFD, "d2"},  {0xFEFC, "d3"},
};

static const char *ja4_version(const struct tls_client_hello *ch)
{
	uint16_t v = 0;
	for (size_t i = 0; i < ch->versions.n; i++)
		if (!tls_is_grease(ch->versions.v[i]) && ch->versions.v[i] > v)
			v = ch->versions.v[i];
	if (ch->versions.n == 0)
		v = ch->h.legacy_version;
	for (size_t i = 0; i < sizeof(ja4_versions) / sizeof(ja4_versions[0]); i++)
		if (ja4_versions[i].v == v)
			return ja4_versions[i].s;
	return "00";
}

static bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* First and last characters of the first ALPN value, or of its hex. */
static void ja4_alpn(const struct tls_client_hello *ch, char out[2])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t f, l;

	out[0] = out[1] = '0';
	if (ch->alpn_count == 0 || ch->alpn_first_len == 0)
		return;
	f = ch->alpn_first[0];
	l = ch->alpn_first[ch->alpn_first_len - 1];
	if (is_alnum(f) && is_alnum(l)) {
		out[0] = (char)f;
		out[1] = (char)l;
	} else {
		out[0] = hex[f >> 4];
		out[1] = hex[l & 15];
	}
}

int tls_ja4_input(const struct tls_client_hello *ch, struct tls_ja4_input *ret)
{
	uint16_t v[TLS_LIST_MAX];
	char alpn[2];
	size_t n;

	if (ch->overflow)
		return -E2BIG;
	ja4_alpn(ch, alpn);
	/* The JA4 spec caps both counts at 99 (two digits). */
	size_t nc = count_non_grease(&ch->ciphers), ne = count_non_grease(&ch->h.extensions);
	snprintf(ret->a, sizeof(ret->a), "t%s%c%02zu%02zu%c%c", ja4_version(ch),
	         list_has(&ch->h.extensions, EXT_SERVER_NAME) ? 'd' : 'i', nc > 99 ? 99 : nc,
	         ne > 99 ? 99 : ne, alpn[0], alpn[1]);

	struct textbuf b = textbuf_init(ret->b_raw, sizeof(ret->b_raw));
	n = sorted_values(&ch->ciphers, v, -1, -1);
	put_list(&b, v, n, ',', true);

	struct textbuf c = textbuf_init(ret->c_raw, sizeof(ret->c_raw));
	n = sorted_values(&ch->h.extensions, v, EXT_SERVER_NAME, EXT_ALPN);
	put_list(&c, v, n, ',', true);
	if (n > 0 && count_non_grease(&ch->sigalgs) > 0) {
		textbuf_putc(&c, '_');
		put_list(&c, ch->sigalgs.v, ch->sigalgs.n, ',', true);
	}
	return b.truncated || c.truncated ? -E2BIG : 0;
}

/*
 * Cipher suites (DESIGN issue 4: what Exchange front-ends and their
 * clients negotiate, TLS 1.0 through 1.3).
 */

#define S13(i, nm, c, k, p)                                                                        \
	{                                                                                          \
		.id = i, .name = nm, .min_version = TLS_V13, .max_version = TLS_V13,               \
		.kx = TLS_KX_NONE, .cipher = c, .aead = true, .key_len = k, .iv_len = 12,          \
		.tag_len = 16, .mac = TLS_HASH_NONE, .prf = p                                      \
	}
#define GCM12(i, nm, x, k, p)                                                                      \
	{                                                                                          \
		.id = i, .name = nm, .min_version = TLS_V12, .max_version = TLS_V12, .kx = x,      \
		.cipher = k == 16 ? TLS_CIPHER_AES_128_GCM : TLS_CIPHER_AES_256_GCM, .aead = true, \
		.key_len = k, .iv_len = 4, .tag_len = 16, .mac = TLS_HASH_NONE, .prf = p           \
	}
#define CHACHA12(i, nm, x)                                                                         \
	{                                                                                          \
		.id = i, .name = nm, .min_version = TLS_V12, .max_version = TLS_V12, .kx = x,      \
		.cipher = TLS_CIPHER_CHACHA20_POLY1305, .aead = true, .key_len = 32, .iv_len = 12, \
		.tag_len = 16, .mac = TLS_HASH_NONE, .prf = TLS_HASH_SHA256                        \
	}
/* CBC with HMAC-SHA1, defined since TLS 1.0 (the PRF is SHA-256 in 1.2). */
#define CBC1(i, nm, x, c, k)                                                                       \
	{                                                                                          \
		.id = i, .name = nm, .min_version = TLS_V10, .max_version = TLS_V12, .kx = x,      \
		.cipher = c, .aead = false, .key_len = k, .iv_len = 16, .mac_len = 20,             \
		.tag_len = 0, .mac = TLS_HASH_SHA1, .prf = TLS_HASH_SHA256                         \
	}
/* CBC with HMAC-SHA256/384, TLS 1.2 only; the PRF hash is the MAC's. */
#define CBC2(i, nm, x, c, k, m, mlen)                                                              \
	{                                                                                          \
		.id = i, .name = nm, .min_version = TLS_V12, .max_version = TLS_V12, .kx = x,      \
		.cipher = c, .aead = false, .key_len = k, .iv_len = 16, .mac_len = mlen,           \
		.tag_len = 0, .mac = m, .prf = m                                                   \
	}
#define AES128 TLS_CIPHER_AES_128_CBC
#define AES256 TLS_CIPHER_AES_256_CBC
#define SHA1   TLS_HASH_SHA1
#define SHA256 TLS_HASH_SHA256
#define SHA384 TLS_HASH_SHA384

static const struct tls_suite suites[] = {
    S13(0x1301, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_128_GCM, 16, SHA256),
    S13(0x1302, "TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_256_GCM, 32, SHA384),
    S13(0x1303, "TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305, 32, SHA256),
    S13(0x1304, "TLS_AES_128_CCM_SHA256", TLS_CIPHER_AES_128_CCM, 16, SHA256),
    GCM12(0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TLS_KX_ECDHE, 16, SHA256),
    GCM12(0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", TLS_KX_ECDHE, 32, SHA384),
    GCM12(0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TLS_KX_ECDHE, 16, SHA256),
    GCM12(0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TLS_KX_ECDHE, 32, SHA384),
    GCM12(0x009E, "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", TLS_KX_DHE, 16, SHA256),
    GCM12(0x009F, "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384", TLS_KX_DHE, 32, SHA384),
    GCM12(0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256", TLS_KX_RSA, 16, SHA256),
    GCM12(0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384", TLS_KX_RSA, 32, SHA384),
    CHACHA12(0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TLS_KX_ECDHE),
    CHACHA12(0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", TLS_KX_ECDHE),
    CHACHA12(0xCCAA, "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TLS_KX_DHE),
    CBC2(0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", TLS_KX_ECDHE, AES128, 16, SHA256, 32),
    CBC2(0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", TLS_KX_ECDHE, AES256, 32, SHA384, 48),
    CBC2(0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", TLS_KX_ECDHE, AES128, 16, SHA256, 32),
    CBC2(0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", TLS_KX_ECDHE, AES256, 32, SHA384, 48),
    CBC2(0x0067, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256", TLS_KX_DHE, AES128, 16, SHA256, 32),
    CBC2(0x006B, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256", TLS_KX_DHE, AES256, 32, SHA256, 32),
    CBC2(0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256", TLS_KX_RSA, AES128, 16, SHA256, 32),
    CBC2(0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256", TLS_KX_RSA, AES256, 32, SHA256, 32),
    CBC1(0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", TLS_KX_ECDHE, AES128, 16),
    CBC1(0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", TLS_KX_ECDHE, AES256, 32),
    CBC1(0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", TLS_KX_ECDHE, AES128, 16),
    CBC1(0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", TLS_KX_ECDHE, AES256, 32),
    CBC1(0x0033, "TLS_DHE_RSA_WITH_AES_128_CBC_SHA", TLS_KX_DHE, AES128, 16),
    CBC1(0x0039, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA", TLS_KX_DHE, AES256, 32),
    CBC1(0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA", TLS_KX_RSA, AES128, 16),
    CBC1(0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA", TLS_KX_RSA, AES256, 32),
    {.id = 0x000A,
     .name = "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
     .min_version = TLS_V10,
     .max_version = TLS_V12,
     .kx = TLS_KX_RSA,
     .cipher = TLS_CIPHER_3DES_EDE_CBC,
     .key_len = 24,
     .iv_len = 8,
     .mac_len = 20,
     .mac = TLS_HASH_SHA1,
     .prf = TLS_HASH_SHA256},
};

#undef S13
#undef GCM12
#undef CHACHA12
#undef CBC1
#undef CBC2
#undef AES128
#undef AES256
#undef SHA1
#undef SHA256
#undef SHA384

const struct tls_suite *tls_suite_find(uint16_t id)
{
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

enum tls_hash tls_suite_prf(const struct tls_suite *s, uint16_t version)
{
	if (!s)
		return TLS_HASH_NONE;
	return version < TLS_V12 ? TLS_HASH_MD5_SHA1 : s->prf;
}

/*
 * Connection state.
 */

struct tls_hs {
	uint8_t hdr[4];
	uint8_t hdr_have;
	uint8_t type;
	bool keep; /* a hello: assembled; anything else is skipped */
	uint32_t len;
	uint32_t have;
	uint8_t *body; /* only while a kept message spans records */
};

struct tls_dir {
	uint8_t hdr[TLS_RECORD_HEADER]; /* a record header being completed */
	uint8_t hdr_have;
	uint8_t *frag; /* the fragment of that record, once the header is whole */
	size_t frag_have;
	size_t frag_size; /* bytes allocated (charged to the budget) */
	struct tls_hs hs;
	bool cipher_on;
	bool given_up;
};

struct tls_conn {
	struct tls_budget *budget;
	struct tls_dir d[2];
	uint16_t version;
	uint16_t suite;
	bool sh_seen; /* a ServerHello that is not an HRR */
	bool tls13;
};

struct tls_conn *tls_conn_new(void)
{
	return calloc(1, sizeof(struct tls_conn));
}

static void hs_reset(struct tls_hs *h)
{
	free(h->body);
	memset(h, 0, sizeof(*h));
}

static void frag_free(struct tls_conn *c, struct tls_dir *d)
{
	if (c->budget)
		c->budget->used -= d->frag_size;
	free(d->frag);
	d->frag = NULL;
	d->frag_size = 0;
	d->frag_have = 0;
}

static void dir_release(struct tls_conn *c, struct tls_dir *d)
{
	frag_free(c, d);
	d->hdr_have = 0;
	hs_reset(&d->hs);
}

void tls_conn_set_budget(struct tls_conn *c, struct tls_budget *b)
{
	c->budget = b;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	dir_release(c, &c->d[0]);
	dir_release(c, &c->d[1]);
	free(c);
}

static void anomaly(const struct tls_ops *ops, void *ctx, int dir, enum tls_anomaly a)
{
	if (ops && ops->anomaly)
		ops->anomaly(ctx, dir, a);
}

static void give_up(struct tls_conn *c, int dir, enum tls_anomaly a, const struct tls_ops *ops,
                    void *ctx)
{
	struct tls_dir *d = &c->d[dir];
	if (d->given_up)
		return;
	d->given_up = true;
	dir_release(c, d);
	if (a != TLS_ANOMALY_NONE)
		anomaly(ops, ctx, dir, a);
}

static void client_hello(struct tls_conn *c, const uint8_t *body, size_t len,
                         const struct tls_ops *ops, void *ctx)
{
	struct tls_client_hello *ch = malloc(sizeof(*ch));

	if (!ch || tls_client_hello_parse(body, len, ch) != TLS_OK) {
		anomaly(ops, ctx, TLS_DIR_CLIENT, TLS_ANOMALY_BAD_HELLO);
		free(ch);
		return;
	}
	if (ch->h.bad_extension)
		anomaly(ops, ctx, TLS_DIR_CLIENT, TLS_ANOMALY_BAD_EXTENSION);
	if (ch->h.dup_extension)
		anomaly(ops, ctx, TLS_DIR_CLIENT, TLS_ANOMALY_DUP_EXTENSION);
	if (ch->psk_not_last)
		anomaly(ops, ctx, TLS_DIR_CLIENT, TLS_ANOMALY_PSK_NOT_LAST);
	if (ch->overflow)
		anomaly(ops, ctx, TLS_DIR_CLIENT, TLS_ANOMALY_LIST_OVERFLOW);
	if (ops && ops->client_hello)
		ops->client_hello(ctx, ch);
	free(ch);
}

static void server_hello(struct tls_conn *c, const uint8_t *body, size_t len,
                         const struct tls_ops *ops, void *ctx)
{
	struct tls_server_hello sh;

	if (tls_server_hello_parse(body, len, &sh) != TLS_OK) {
		anomaly(ops, ctx, TLS_DIR_SERVER, TLS_ANOMALY_BAD_HELLO);
		return;
	}
	if (sh.h.bad_extension)
		anomaly(ops, ctx, TLS_DIR_SERVER, TLS_ANOMALY_BAD_EXTENSION);
	if (sh.h.dup_extension)
		anomaly(ops, ctx, TLS_DIR_SERVER, TLS_ANOMALY_DUP_EXTENSION);
	c->version = sh.version;
	c->suite = sh.cipher_suite;
	c->tls13 = sh.version == TLS_V13 || sh.hello_retry_request;
	if (!sh.hello_retry_request) {
		c->sh_seen = true;
		/* RFC 8446 §2: everything after the ServerHello is protected. */
		if (c->tls13)
			c->d[0].cipher_on = c->d[1].cipher_on = true;
	}
	if (ops && ops->server_hello)
		ops->server_hello(ctx, &sh);
}

static void hs_dispatch(struct tls_conn *c, int dir, uint8_t type, const uint8_t *body, size_t len,
                        const struct tls_ops *ops, void *ctx)
{
	int want = type == TLS_HS_CLIENT_HELLO ? TLS_DIR_CLIENT : TLS_DIR_SERVER;
	if (dir != want) {
		anomaly(ops, ctx, dir, TLS_ANOMALY_HELLO_WRONG_DIR);
		return;
	}
	if (type == TLS_HS_CLIENT_HELLO)
		client_hello(c, body, len, ops, ctx);
	else
		server_hello(c, body, len, ops, ctx);
}

/* The 4-byte handshake header is complete: decide what to do with the body. */
static void hs_start(struct tls_conn *c, int dir, const struct tls_ops *ops, void *ctx)
{
	struct tls_hs *h = &c->d[dir].hs;
	struct buf b = buf_init(h->hdr, sizeof(h->hdr));

	h->type = buf_u8(&b);
	h->len = buf_be24(&b);
	h->have = 0;
	h->keep = h->type == TLS_HS_CLIENT_HELLO || h->type == TLS_HS_SERVER_HELLO;
	if (ops && ops->handshake)
		ops->handshake(ctx, dir, h->type, h->len);
	if (h->keep && h->len > LIMIT_TLS_HANDSHAKE_BYTES) {
		anomaly(ops, ctx, dir, TLS_ANOMALY_HANDSHAKE_TOO_LONG);
		h->keep = false;
	}
}

/* Plaintext handshake bytes of one record: messages across and within. */
static void hs_feed(struct tls_conn *c, int dir, const uint8_t *frag, size_t n,
                    const struct tls_ops *ops, void *ctx)
{
	struct tls_hs *h = &c->d[dir].hs;
	struct buf b = buf_init(frag, n);

	while (buf_left(&b) > 0 || (h->hdr_have == 4 && h->have == h->len)) {
		if (h->hdr_have < 4) {
			if (c->d[dir].cipher_on) { /* bytes after the key change */
				anomaly(ops, ctx, dir, TLS_ANOMALY_HANDSHAKE_SPANS_KEY_CHANGE);
				return;
			}
			h->hdr[h->hdr_have++] = buf_u8(&b);
			if (h->hdr_have == 4)
				hs_start(c, dir, ops, ctx);
			continue;
		}
		size_t want = h->len - h->have, left = buf_left(&b);
		size_t take = want < left ? want : left;
		const uint8_t *p = buf_take(&b, take);
		if (h->keep && h->have == 0 && take == h->len) {
			hs_dispatch(c, dir, h->type, p, take, ops, ctx); /* zero copy */
			hs_reset(h);
			continue;
		}
		if (h->keep && !h->body && !(h->body = malloc(h->len ? h->len : 1))) {
			h->keep = false;
			anomaly(ops, ctx, dir, TLS_ANOMALY_HANDSHAKE_TOO_LONG);
		}
		if (h->keep && take)
			memcpy(h->body + h->have, p, take);
		h->have += (uint32_t)take;
		if (h->have == h->len) {
			if (h->keep)
				hs_dispatch(c, dir, h->type, h->body, h->len, ops, ctx);
			hs_reset(h);
		}
	}
}

/* One complete record of dir: classify, announce, handle CCS and handshake. */
static void on_record(struct tls_conn *c, int dir, struct tls_record *rec,
                      const struct tls_ops *ops, void *ctx)
{
	struct tls_dir *d = &c->d[dir];

	/* TLS 1.3 protects every record as outer type 23 (RFC 8446 §5.2), so a
	 * CCS or alert of another type is plaintext there; before 1.3 the type
	 * stays visible and the keys apply from that side's CCS on. */
	rec->encrypted = rec->type == TLS_CT_APPLICATION_DATA || (!c->tls13 && d->cipher_on);
	if (!rec->encrypted && rec->length > TLS_MAX_PLAINTEXT) {
		give_up(c, dir, TLS_ANOMALY_RECORD_TOO_LONG, ops, ctx);
		return;
	}
	if (ops && ops->record)
		ops->record(ctx, dir, rec);
	if (rec->encrypted)
		return;
	if (rec->type == TLS_CT_CHANGE_CIPHER_SPEC && c->sh_seen && !c->tls13)
		d->cipher_on = true;
	else if (rec->type == TLS_CT_HANDSHAKE)
		hs_feed(c, dir, rec->fragment, rec->length, ops, ctx);
}

static size_t max_record(const struct tls_conn *c)
{
	return c->tls13 ? TLS_MAX_CIPHERTEXT_13 : TLS_MAX_CIPHERTEXT_12;
}

/* Continues a record whose first bytes came in an earlier segment. */
static void feed_pending(struct tls_conn *c, int dir, struct buf *in, const struct tls_ops *ops,
                         void *ctx)
{
	struct tls_dir *d = &c->d[dir];
	struct tls_record rec;
	enum tls_anomaly why = TLS_ANOMALY_NONE;
	size_t needed = 0;

	while (d->hdr_have < TLS_RECORD_HEADER && buf_left(in) > 0)
		d->hdr[d->hdr_have++] = buf_u8(in);
	enum tls_result r =
	    tls_record_parse(d->hdr, d->hdr_have, max_record(c), &rec, NULL, &needed, &why);
	if (r == TLS_GIVE_UP) {
		give_up(c, dir, why, ops, ctx);
		return;
	}
	if (d->hdr_have < TLS_RECORD_HEADER)
		return;
	size_t flen = r == TLS_OK ? 0 : needed - TLS_RECORD_HEADER;
	if (flen && !d->frag) {
		if (c->budget && c->budget->used + flen > c->budget->cap) {
			c->budget->refused++;
			give_up(c, dir, TLS_ANOMALY_MEMCAP, ops, ctx);
			return;
		}
		if (!(d->frag = malloc(flen))) {
			give_up(c, dir, TLS_ANOMALY_NONE, ops, ctx);
			return;
		}
		d->frag_size = flen;
		if (c->budget)
			c->budget->used += flen;
	}
	size_t take = flen - d->frag_have < buf_left(in) ? flen - d->frag_have : buf_left(in);
	if (take)
		buf_copy(in, d->frag + d->frag_have, take);
	d->frag_have += take;
	if (d->frag_have < flen)
		return;
	struct buf h = buf_init(d->hdr, sizeof(d->hdr));
	rec.type = buf_u8(&h);
	rec.version = buf_be16(&h);
	rec.length = buf_be16(&h);
	rec.fragment = d->frag;
	d->hdr_have = 0;
	on_record(c, dir, &rec, ops, ctx);
	frag_free(c, d);
}

enum tls_result tls_conn_feed(struct tls_conn *c, int dir, const uint8_t *p, size_t n,
                              const struct tls_ops *ops, void *ctx)
{
	struct buf in = buf_init(p, n);

	if (!c || (dir != 0 && dir != 1))
		return TLS_GIVE_UP;
	struct tls_dir *d = &c->d[dir];
	while (!d->given_up && buf_left(&in) > 0) {
		if (d->hdr_have > 0) {
			feed_pending(c, dir, &in, ops, ctx);
			continue;
		}
		struct tls_record rec;
		enum tls_anomaly why = TLS_ANOMALY_NONE;
		size_t used = 0;
		enum tls_result r = tls_record_parse(buf_rest(&in), buf_left(&in), max_record(c),
		                                     &rec, &used, NULL, &why);
		if (r == TLS_OK) {
			buf_skip(&in, used);
			on_record(c, dir, &rec, ops, ctx);
		} else if (r == TLS_NEED_MORE) {
			feed_pending(c, dir, &in, ops, ctx); /* buffers what is there */
		} else {
			give_up(c, dir, why, ops, ctx);
		}
	}
	return d->given_up ? TLS_GIVE_UP : TLS_OK;
}

void tls_conn_gap(struct tls_conn *c, int dir, const struct tls_ops *ops, void *ctx)
{
	if (c && (dir == 0 || dir == 1))
		give_up(c, dir, TLS_ANOMALY_GAP, ops, ctx);
}

uint16_t tls_conn_version(const struct tls_conn *c)
{
	return c->sh_seen ? c->version : 0;
}

uint16_t tls_conn_cipher_suite(const struct tls_conn *c)
{
	return c->sh_seen ? c->suite : 0;
}

bool tls_conn_encrypted(const struct tls_conn *c, int dir)
{
	return (dir == 0 || dir == 1) && c->d[dir].cipher_on;
}

bool tls_conn_given_up(const struct tls_conn *c, int dir)
{
	return (dir != 0 && dir != 1) || c->d[dir].given_up;
}
