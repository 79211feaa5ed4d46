/*
 * fuzz_tls.c — the TLS record layer and hellos (dissectors/tls.h):
 * tls_record_parse, tls_client_hello_parse, tls_server_hello_parse, the
 * JA3/JA4 inputs, and a tls_conn fed both directions of a connection.
 *
 * Input: fuzz_split.h's layout (control byte, client byte count, client
 * bytes, server bytes).  Each direction is walked record by record with
 * tls_record_parse(); every handshake record that starts with a
 * ClientHello / ServerHello header has its body parsed; each direction's
 * raw bytes are also parsed as a hello body directly; then the two streams
 * go through a tls_conn whole, in chunks, and in chunks with gaps.
 *
 * Checked (tls.h):
 *   - record parse: OK consumes header + length <= max_len and the fragment
 *     lies in the input; NEED_MORE asks for more than is there (5 while the
 *     header is incomplete); GIVE_UP names an anomaly; every proper prefix
 *     of a record that parses is NEED_MORE, and a prefix refused is
 *     refused whole;
 *   - hellos: lists hold at most TLS_LIST_MAX values and no more than were
 *     sent, session ids at most 32 bytes, the SNI NUL-terminated; JA3 of a
 *     hello without overflow fits TLS_JA3_MAX, JA4 part a is 10 characters;
 *   - tls_conn: after GIVE_UP a direction stays given up, its later feeds
 *     return GIVE_UP and call nothing; records handed to the callback have
 *     their fragment (read whole, so a sanitizer sees a bad pointer).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "fuzz_split.h"
#include "tls.h"

static void check_list(const struct tls_list *l)
{
	FUZZ_CHECK(l->n <= TLS_LIST_MAX);
	FUZZ_CHECK(l->n <= l->total);
	FUZZ_CHECK(l->total <= l->n || l->n == TLS_LIST_MAX);
}

static void check_client_hello(const struct tls_client_hello *ch)
{
	static char ja3[TLS_JA3_MAX];
	static struct tls_ja4_input ja4;
	char small[12];
	int r;

	FUZZ_CHECK(ch->h.session_id_len <= TLS_SESSION_ID_MAX);
	check_list(&ch->h.extensions);
	check_list(&ch->ciphers);
	check_list(&ch->versions);
	check_list(&ch->groups);
	check_list(&ch->point_formats);
	check_list(&ch->sigalgs);
	check_list(&ch->key_shares);
	FUZZ_CHECK(fuzz_terminated(ch->sni, sizeof(ch->sni)));

	r = tls_ja3_string(ch, ja3, sizeof(ja3));
	FUZZ_CHECK(r == 0 || r == -E2BIG);
	if (!ch->overflow)
		FUZZ_CHECK(r == 0);
	if (r == 0)
		FUZZ_CHECK(fuzz_terminated(ja3, sizeof(ja3)));
	r = tls_ja3_string(ch, small, sizeof(small));
	FUZZ_CHECK(r == 0 || r == -E2BIG);
	FUZZ_CHECK(fuzz_terminated(small, sizeof(small)));

	r = tls_ja4_input(ch, &ja4);
	if (r == 0) {
		FUZZ_CHECK(fuzz_terminated(ja4.a, sizeof(ja4.a)));
		FUZZ_CHECK(strlen(ja4.a) == TLS_JA4_A_LEN);
		FUZZ_CHECK(fuzz_terminated(ja4.b_raw, sizeof(ja4.b_raw)));
		FUZZ_CHECK(fuzz_terminated(ja4.c_raw, sizeof(ja4.c_raw)));
	}
}

static void check_server_hello(const struct tls_server_hello *sh)
{
	FUZZ_CHECK(sh->h.session_id_len <= TLS_SESSION_ID_MAX);
	check_list(&sh->h.extensions);
	FUZZ_CHECK(sh->downgrade == 0 || sh->downgrade == 11 || sh->downgrade == 12);
}

static void parse_hellos(const uint8_t *body, size_t len)
{
	static struct tls_client_hello ch;
	struct tls_server_hello sh;

	if (tls_client_hello_parse(body, len, &ch) == TLS_OK)
		check_client_hello(&ch);
	if (tls_server_hello_parse(body, len, &sh) == TLS_OK)
		check_server_hello(&sh);
}

/* A handshake record's fragment: the hello it starts with, if it is whole. */
static void record_hello(const struct tls_record *rec)
{
	struct buf b = buf_init(rec->fragment, rec->length);
	uint8_t type = buf_u8(&b);
	uint32_t len = buf_be24(&b);
	const uint8_t *body;

	if (!buf_ok(&b) || (type != TLS_HS_CLIENT_HELLO && type != TLS_HS_SERVER_HELLO))
		return;
	body = buf_take(&b, len);
	if (body)
		parse_hellos(body, len);
}

/* Record parse on every prefix of the record at the start of d. */
static void check_prefixes(const uint8_t *d, size_t len, size_t max_len, enum tls_result whole,
                           size_t consumed)
{
	size_t upto = whole == TLS_OK ? consumed : len;

	for (size_t p = 0; p < upto && p <= TLS_RECORD_HEADER + 1; p++) {
		size_t needed = 0;
		enum tls_anomaly why = TLS_ANOMALY_NONE;
		enum tls_result r = tls_record_parse(d, p, max_len, NULL, NULL, &needed, &why);

		if (whole == TLS_OK)
			FUZZ_CHECK(r == TLS_NEED_MORE);
		if (r == TLS_NEED_MORE)
			FUZZ_CHECK(needed > p);
		if (r == TLS_GIVE_UP)
			FUZZ_CHECK(whole == TLS_GIVE_UP);
	}
}

static void walk_records(struct buf b, size_t max_len)
{
	bool first = true;

	while (buf_left(&b) > 0) {
		const uint8_t *d = buf_rest(&b);
		size_t len = buf_left(&b), used = 0, needed = 0;
		struct tls_record rec;
		enum tls_anomaly why = TLS_ANOMALY_NONE;
		enum tls_result r = tls_record_parse(d, len, max_len, &rec, &used, &needed, &why);

		if (first)
			check_prefixes(d, len, max_len, r, used);
		first = false;
		if (r == TLS_NEED_MORE) {
			FUZZ_CHECK(needed > len);
			FUZZ_CHECK(len >= TLS_RECORD_HEADER || needed == TLS_RECORD_HEADER);
			return;
		}
		if (r == TLS_GIVE_UP) {
			FUZZ_CHECK(why == TLS_ANOMALY_NOT_TLS || why == TLS_ANOMALY_SSLV2 ||
			           why == TLS_ANOMALY_RECORD_TOO_LONG ||
			           why == TLS_ANOMALY_EMPTY_RECORD);
			FUZZ_CHECK(tls_anomaly_name(why) != NULL);
			return;
		}
		FUZZ_CHECK(r == TLS_OK);
		FUZZ_CHECK(used == TLS_RECORD_HEADER + (size_t)rec.length && used <= len);
		FUZZ_CHECK(rec.length <= max_len);
		FUZZ_CHECK(fuzz_within(rec.fragment, rec.length, d, len));
		if (rec.type == TLS_CT_HANDSHAKE)
			record_hello(&rec);
		buf_skip(&b, used);
	}
}

struct conn_ctx {
	struct tls_conn *c;
	unsigned calls[2]; /* callbacks seen per direction */
	uint32_t sum;
};

static void note(struct conn_ctx *x, int dir)
{
	FUZZ_CHECK(dir == 0 || dir == 1);
	x->calls[dir]++;
}

static void on_record(void *ctx, int dir, const struct tls_record *rec)
{
	struct conn_ctx *x = ctx;
	struct buf b = buf_init(rec->fragment, rec->length);

	note(x, dir);
	FUZZ_CHECK(rec->length == 0 || rec->fragment != NULL);
	FUZZ_CHECK(rec->length <= TLS_MAX_CIPHERTEXT_12);
	while (buf_left(&b) > 0)
		x->sum += buf_u8(&b);
}

static void on_handshake(void *ctx, int dir, uint8_t type, uint32_t len)
{
	note(ctx, dir);
	FUZZ_CHECK(len < (1u << 24));
	(void)type;
}

static void on_client_hello(void *ctx, const struct tls_client_hello *ch)
{
	note(ctx, TLS_DIR_CLIENT);
	check_client_hello(ch);
}

static void on_server_hello(void *ctx, const struct tls_server_hello *sh)
{
	note(ctx, TLS_DIR_SERVER);
	check_server_hello(sh);
}

static void on_anomaly(void *ctx, int dir, enum tls_anomaly a)
{
	note(ctx, dir);
	FUZZ_CHECK(a > TLS_ANOMALY_NONE && a < TLS_ANOMALY__COUNT);
}

static const struct tls_ops conn_ops = {
    .record = on_record,
    .handshake = on_handshake,
    .client_hello = on_client_hello,
    .server_hello = on_server_hello,
    .anomaly = on_anomaly,
};

static void feed(void *ctx, int dir, const uint8_t *p, size_t n)
{
	struct conn_ctx *x = ctx;
	bool was_given_up = tls_conn_given_up(x->c, dir);
	unsigned before = x->calls[dir];
	enum tls_result r = tls_conn_feed(x->c, dir, p, n, &conn_ops, x);

	FUZZ_CHECK(r == TLS_OK || r == TLS_GIVE_UP);
	FUZZ_CHECK((r == TLS_GIVE_UP) == tls_conn_given_up(x->c, dir));
	if (was_given_up) {
		FUZZ_CHECK(r == TLS_GIVE_UP);
		FUZZ_CHECK(x->calls[dir] == before);
	}
	(void)tls_conn_version(x->c);
	(void)tls_conn_cipher_suite(x->c);
	(void)tls_conn_encrypted(x->c, dir);
}

static void gap(void *ctx, int dir, size_t n)
{
	struct conn_ctx *x = ctx;

	tls_conn_gap(x->c, dir, &conn_ops, x);
	FUZZ_CHECK(tls_conn_given_up(x->c, dir));
	(void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fuzz_split_ops split_ops = {.data = feed, .gap = gap};
	struct fuzz_split s;

	if (!fuzz_split_init(&s, data, size))
		return 0;
	for (int i = 0; i < 2; i++) {
		walk_records(s.dir[i], TLS_MAX_CIPHERTEXT_12);
		walk_records(s.dir[i], 64 + s.ctl);
		parse_hellos(buf_rest(&s.dir[i]), buf_left(&s.dir[i]));
	}
	for (int mode = FUZZ_SPLIT_WHOLE; mode <= FUZZ_SPLIT_GAPS; mode++) {
		struct conn_ctx x = {.c = tls_conn_new()};

		if (!x.c)
			return 0;
		fuzz_split_run(&s, (enum fuzz_split_mode)mode, &split_ops, &x);
		tls_conn_free(x.c);
	}
	return 0;
}
