/*
 * sensor.c — one capture thread's pipeline (see sensor.h for the contract).
 *
 * Per-flow state (`struct session`) lives in the flow table's caller area,
 * so it is created and destroyed with the flow and nothing is allocated per
 * packet.  The nDPI state is allocated at flow creation and freed as soon as
 * the flow is classified; digests exist only with --dump-flows.
 *
 * Invariants:
 *   - a session in VERDICT_SKIP holds no reassembly queue, nDPI state or
 *     digest;
 *   - a flow's record is emitted exactly once, from the flow table's end
 *     callback, after its reassembly has been flushed;
 *   - the sensor clock (stats.last_us) is the largest timestamp seen.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "decode.h"
#include "http.h"
#include "owasess.h"
#include "tlssess.h"
#include "sensor.h"

#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_RST 0x04
#define TH_ACK 0x10

#define PROTO_NAMES_MAX 64 /* distinct protocol names counted, rest "other" */
/* First bytes kept per direction until the protocol is known: the longest
 * request method Exchange sees ("RPC_OUT_DATA") and its space fit, with
 * room for the 24-character methods the HTTP layer accepts. */
#define SNIFF_BYTES 26

enum verdict {
	VERDICT_PENDING,
	VERDICT_KEEP,
	VERDICT_SKIP,
};

/* What the reassembled bytes are handed to. */
enum app_state {
	APP_UNDECIDED, /* collecting the first bytes (head) */
	APP_HTTP,      /* libhtp and the Exchange builder */
	APP_TLS,       /* TLS: metadata, and the plaintext to APP_HTTP's parsers */
	APP_NONE,      /* nothing we parse */
};

struct session {
	struct sensor *s;
	struct flow *flow;
	enum app_state app;
	struct http_conn *http;
	struct exch_conn *exch;
	struct tlssess *tls;
	bool over_tls; /* the HTTP parser reads decrypted TLS (outlives tls) */
	int64_t sink_id;
	bool sink_started; /* flow_start was called */
	struct reasm_dir rd[2];
	struct dpi_flow *dpi;
	struct dpi_result res;
	enum verdict verdict;
	bool is_tcp;
	uint8_t dpi_pkts;
	uint8_t head_len[2];
	uint8_t head[2][SNIFF_BYTES]; /* first stream bytes, for the last look */
	uint64_t stream_bytes[2];
	uint64_t gaps[2], gap_bytes[2];
	uint32_t anomalies;
	struct digest *dg[2];
};

struct proto_count {
	char name[sizeof(((struct dpi_result *)0)->name)];
	uint64_t flows;
};

struct sensor {
	struct sensor_config cfg;
	struct flow_table *flows;
	struct reasm_pool *reasm;
	struct defrag *defrag;
	struct dpi *dpi;
	struct sensor_stats stats;
	struct flow_stats flow_stats; /* kept once the table is gone */
	struct http_engine *http;
	struct tls_engine *tls;
	struct owa_sessions *owa;
	uint64_t now_us; /* capture time of the frame being processed */
	struct proto_count protos[PROTO_NAMES_MAX + 1];
	size_t n_protos;
	uint64_t last_defrag_expire_us;
};

void sensor_config_default(struct sensor_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	flow_config_default(&cfg->flow);
	reasm_config_default(&cfg->reasm);
	defrag_config_default(&cfg->defrag);
}

static void count_anomaly(struct sensor *s, enum anomaly a)
{
	if (a > ANOMALY_NONE && a < ANOMALY__COUNT)
		s->stats.anomalies[a]++;
}

enum sniff {
	SNIFF_NO,
	SNIFF_YES,
	SNIFF_MAYBE, /* more bytes needed to tell */
};

static enum sniff sniff_http_request(const uint8_t *p, size_t n);
static enum sniff sniff_http_response(const uint8_t *p, size_t n);
static bool sniff_tls(const uint8_t *p, size_t n);

/* Tells the sink about a kept flow, once; returns its id for the flow. */
static int64_t session_sink_id(struct sensor *s, struct session *ss)
{
	if (!ss->sink_started && s->cfg.flow_start) {
		if (ss->dpi) /* still deciding: the best guess so far */
			dpi_flow_result(s->dpi, ss->dpi, &ss->res);
		s->cfg.flow_start(s->cfg.ctx, ss->flow, &ss->res, &ss->sink_id);
	}
	ss->sink_started = true;
	return ss->sink_id;
}

/* The Exchange builder's sink: adds the flow and passes it on. */
static void on_txn(void *ctx, const struct exch_txn *t, int64_t *row)
{
	struct session *ss = ctx;
	struct sensor *s = ss->s;
	if (t->final)
		s->stats.transactions++;
	if (s->cfg.txn)
		s->cfg.txn(s->cfg.ctx, ss->flow, session_sink_id(s, ss), ss->over_tls, t, row);
}

static void http_event(void *ctx, const struct http_event *ev)
{
	struct session *ss = ctx;
	if (ev->kind == HTTP_TX_DONE)
		ss->s->stats.http_transactions++;
	exch_http_event(ss->exch, ev);
}

static void app_stop(struct session *ss)
{
	/* TLS first: its last records may still decrypt into the HTTP parser. */
	tlssess_free(ss->tls);
	ss->tls = NULL;
	http_conn_free(ss->http); /* closes open transactions: last events */
	exch_conn_free(ss->exch);
	ss->http = NULL;
	ss->exch = NULL;
}

static bool app_start_http(struct sensor *s, struct session *ss)
{
	char cip[64], sip[64];
	const struct flow *f = ss->flow;
	int af = f->af == 6 ? AF_INET6 : AF_INET;
	if (!inet_ntop(af, f->addr[0], cip, sizeof(cip)) ||
	    !inet_ntop(af, f->addr[1], sip, sizeof(sip)))
		return false;
	ss->exch = exch_conn_new(s->cfg.all_http, on_txn, ss);
	if (ss->exch)
		exch_conn_set_owa_sessions(ss->exch, s->owa);
	if (ss->exch)
		ss->http = http_conn_new(s->http, cip, f->port[0], sip, f->port[1], s->now_us,
		                         http_event, ss);
	if (!ss->http) {
		app_stop(ss);
		return false;
	}
	return true;
}

/* Decrypted application data: HTTP/1.x, parsed like a plaintext flow. */
static void on_plaintext(void *ctx, int dir, const uint8_t *p, size_t n)
{
	struct session *ss = ctx;
	struct sensor *s = ss->s;
	if (!ss->http) {
		if (!app_start_http(s, ss))
			return;
		s->stats.http_flows++;
	}
	http_conn_data(ss->http, dir, s->now_us, p, n);
}

static bool app_start_tls(struct sensor *s, struct session *ss)
{
	ss->tls = tlssess_new(s->tls, on_plaintext, ss);
	if (!ss->tls)
		return false;
	ss->over_tls = true;
	s->stats.tls_flows++;
	for (int d = 0; d < 2; d++)
		if (ss->head_len[d])
			tlssess_data(ss->tls, d, ss->head[d], ss->head_len[d]);
	return true;
}

/*
 * Decides, from the first bytes of each direction, what the connection
 * speaks.  A request line (or a status line, when the client's start was
 * missed) means HTTP; a flow picked up mid-stream whose bytes are not TLS
 * gets an HTTP parser that first resynchronises to the next message.
 */
static void app_decide(struct sensor *s, struct session *ss)
{
	bool http = sniff_http_request(ss->head[0], ss->head_len[0]) == SNIFF_YES ||
	            sniff_http_response(ss->head[1], ss->head_len[1]) == SNIFF_YES;
	bool tls =
	    sniff_tls(ss->head[0], ss->head_len[0]) || sniff_tls(ss->head[1], ss->head_len[1]);
	bool resync =
	    !http && !tls && (ss->flow->picked_up_midstream || ss->gaps[0] || ss->gaps[1]);
	ss->app = APP_NONE;
	if (tls && !ss->gaps[0] && !ss->gaps[1]) {
		if (app_start_tls(s, ss))
			ss->app = APP_TLS;
		return;
	}
	if (!(http || resync) || !app_start_http(s, ss))
		return;
	ss->app = APP_HTTP;
	s->stats.http_flows++;
	for (int d = 0; d < 2; d++) {
		/* What came before is unknown: a gap (of at least one byte) puts
		 * the parser in search of the next message start. */
		if (resync || ss->gaps[d])
			http_conn_gap(ss->http, d, s->now_us,
			              ss->gap_bytes[d] ? ss->gap_bytes[d] : 1);
		if (ss->head_len[d])
			http_conn_data(ss->http, d, s->now_us, ss->head[d], ss->head_len[d]);
	}
}

/* Can the first bytes of direction dir already tell what the flow speaks? */
static bool head_conclusive(const struct session *ss, int dir)
{
	const uint8_t *p = ss->head[dir];
	size_t n = ss->head_len[dir];
	if (n >= 3 && sniff_tls(p, n))
		return true;
	return dir == 0 ? sniff_http_request(p, n) != SNIFF_MAYBE
	                : sniff_http_response(p, n) != SNIFF_MAYBE;
}

/*
 * Reassembled bytes arrive here.  Until the protocol is known the first
 * SNIFF_BYTES of each direction are kept (tiny segments must not defeat the
 * decision); then the heads, and everything after them, go to the parser.
 */
static void on_data(void *ctx, int dir, const uint8_t *bytes, size_t n)
{
	struct session *ss = ctx;
	struct sensor *s = ss->s;
	ss->stream_bytes[dir] += n;
	digest_update(ss->dg[dir], bytes, n);
	if (ss->app == APP_UNDECIDED) {
		struct buf b = buf_init(bytes, n);
		size_t take = SNIFF_BYTES - ss->head_len[dir];
		if (take > n)
			take = n;
		buf_copy(&b, ss->head[dir] + ss->head_len[dir], take);
		ss->head_len[dir] = (uint8_t)(ss->head_len[dir] + take);
		if (ss->head_len[dir] < SNIFF_BYTES && !head_conclusive(ss, dir))
			return;
		app_decide(s, ss);
		if (ss->app == APP_HTTP && buf_left(&b))
			http_conn_data(ss->http, dir, s->now_us, buf_rest(&b), buf_left(&b));
		else if (ss->app == APP_TLS && buf_left(&b))
			tlssess_data(ss->tls, dir, buf_rest(&b), buf_left(&b));
		return;
	}
	if (ss->app == APP_HTTP)
		http_conn_data(ss->http, dir, s->now_us, bytes, n);
	else if (ss->app == APP_TLS)
		tlssess_data(ss->tls, dir, bytes, n);
}

static void on_gap(void *ctx, int dir, uint64_t n)
{
	struct session *ss = ctx;
	ss->gaps[dir]++;
	ss->gap_bytes[dir] += n;
	if (ss->app == APP_UNDECIDED) {
		/* Decide on what came before the hole; app_decide() tells the
		 * new parser about the gaps itself. */
		if (ss->head_len[dir])
			app_decide(ss->s, ss);
		return;
	}
	if (ss->app == APP_HTTP)
		http_conn_gap(ss->http, dir, ss->s->now_us, n);
	else if (ss->app == APP_TLS)
		tlssess_gap(ss->tls, dir);
}

static void on_end(void *ctx, int dir)
{
	struct session *ss = ctx;
	if (ss->app == APP_UNDECIDED && (ss->head_len[0] || ss->head_len[1]))
		app_decide(ss->s, ss);
	if (ss->app == APP_HTTP || (ss->app == APP_TLS && ss->http))
		http_conn_end(ss->http, dir, ss->s->now_us);
}

static void on_reasm_anomaly(void *ctx, int dir, enum anomaly a)
{
	struct session *ss = ctx;
	(void)dir;
	ss->anomalies++;
	count_anomaly(ss->s, a);
}

static const struct reasm_ops sensor_reasm_ops = {
    .data = on_data,
    .gap = on_gap,
    .end = on_end,
    .anomaly = on_reasm_anomaly,
};

/* A TLS handshake record header: 16 03 0x. */
static bool sniff_tls(const uint8_t *p, size_t n)
{
	struct buf b = buf_init(p, n);
	uint8_t type = buf_u8(&b), major = buf_u8(&b), minor = buf_u8(&b);
	return buf_ok(&b) && type == 0x16 && major == 3 && minor <= 4;
}

/* An HTTP request line: an upper-case method token (with '_' and '-' for
 * RPC_IN_DATA and friends) of 3 to 24 characters followed by a space. */
static enum sniff sniff_http_request(const uint8_t *p, size_t n)
{
	struct buf b = buf_init(p, n);
	size_t len = 0;
	while (buf_left(&b)) {
		uint8_t c = buf_u8(&b);
		if (c == ' ')
			return len >= 3 ? SNIFF_YES : SNIFF_NO;
		if (!((c >= 'A' && c <= 'Z') || c == '_' || c == '-') || ++len > 24)
			return SNIFF_NO;
	}
	return SNIFF_MAYBE;
}

/* A status line: "HTTP/". */
static enum sniff sniff_http_response(const uint8_t *p, size_t n)
{
	static const char want[] = "HTTP/";
	size_t k = n < 5 ? n : 5;
	if (memcmp(p, want, k) != 0)
		return SNIFF_NO;
	return k == 5 ? SNIFF_YES : SNIFF_MAYBE;
}

/* Does the start of a stream look like HTTP/1.x or a TLS record? */
static bool sniff_http_or_tls(const uint8_t *p, size_t n)
{
	return sniff_tls(p, n) || sniff_http_request(p, n) == SNIFF_YES ||
	       sniff_http_response(p, n) == SNIFF_YES;
}

static void session_drop_reasm(struct sensor *s, struct session *ss)
{
	app_stop(ss);
	for (int d = 0; d < 2; d++) {
		reasm_dir_release(s->reasm, &ss->rd[d]);
		digest_free(ss->dg[d]);
		ss->dg[d] = NULL;
	}
}

static void session_decide(struct sensor *s, struct session *ss, enum dpi_class cls)
{
	dpi_flow_result(s->dpi, ss->dpi, &ss->res);
	bool keep = cls == DPI_HTTP || cls == DPI_TLS || ss->res.exchange;
	if (!keep && ss->is_tcp)
		keep = sniff_http_or_tls(ss->head[0], ss->head_len[0]) ||
		       sniff_http_or_tls(ss->head[1], ss->head_len[1]);
	ss->verdict = keep ? VERDICT_KEEP : VERDICT_SKIP;
	if (ss->is_tcp) {
		if (keep)
			session_sink_id(s, ss);
		if (keep)
			s->stats.flows_kept++;
		else
			s->stats.flows_skipped++;
	}
	if (!keep)
		session_drop_reasm(s, ss);
	dpi_flow_free(ss->dpi);
	ss->dpi = NULL;
}

/* Offers the packet to nDPI while the flow is undecided. */
static void session_classify(struct sensor *s, struct session *ss, const struct pkt *p)
{
	if (ss->verdict != VERDICT_PENDING || !ss->dpi)
		return;
	enum dpi_class cls = dpi_packet(s->dpi, ss->dpi, p->l3, p->l3_len, p->ts_us);
	ss->dpi_pkts++;
	bool seen_data = ss->head_len[0] || ss->head_len[1] || p->payload_len;
	if (cls == DPI_PENDING && ss->dpi_pkts >= LIMIT_DPI_PACKETS)
		cls = dpi_giveup(s->dpi, ss->dpi);
	/* A verdict of "something else" before any payload comes from an
	 * address list, not from the bytes: wait for the bytes. */
	if (cls == DPI_OTHER && !seen_data && ss->dpi_pkts < LIMIT_DPI_PACKETS)
		return;
	if (cls != DPI_PENDING)
		session_decide(s, ss, cls);
}

static void session_start(struct sensor *s, struct session *ss, struct flow *f, const struct pkt *p)
{
	ss->s = s;
	ss->flow = f;
	ss->is_tcp = p->ip_proto == IPPROTO_TCP;
	ss->verdict = VERDICT_PENDING;
	ss->dpi = dpi_flow_new(s->dpi);
	reasm_dir_init(&ss->rd[0]);
	reasm_dir_init(&ss->rd[1]);
	if (ss->is_tcp && s->cfg.digests) {
		ss->dg[0] = digest_new();
		ss->dg[1] = digest_new();
	}
	if (ss->is_tcp)
		s->stats.tcp_flows++;
	else
		s->stats.udp_flows++;
	if (!ss->dpi) /* out of memory: decide from the bytes alone */
		ss->verdict = VERDICT_KEEP;
}

static void session_tcp(struct sensor *s, struct session *ss, const struct pkt *p, int dir)
{
	if (ss->verdict == VERDICT_SKIP)
		return;
	reasm_segment(s->reasm, &ss->rd[dir], dir, ss, p->seq, p->tcp_flags, p->payload,
	              p->payload_len, p->wire_len);
	if (p->tcp_flags & TH_ACK)
		reasm_ack(s->reasm, &ss->rd[!dir], !dir, ss, p->ack);
	if (p->tcp_flags & TH_RST) {
		reasm_flush(s->reasm, &ss->rd[0], 0, ss);
		reasm_flush(s->reasm, &ss->rd[1], 1, ss);
	}
}

static void count_proto(struct sensor *s, const char *name)
{
	for (size_t i = 0; i < s->n_protos; i++) {
		if (strcmp(s->protos[i].name, name) == 0) {
			s->protos[i].flows++;
			return;
		}
	}
	/* Past PROTO_NAMES_MAX distinct names, the last slot counts the rest. */
	struct proto_count *pc = &s->protos[PROTO_NAMES_MAX];
	if (s->n_protos < PROTO_NAMES_MAX) {
		pc = &s->protos[s->n_protos++];
		snprintf(pc->name, sizeof(pc->name), "%s", name);
	} else {
		snprintf(pc->name, sizeof(pc->name), "other");
	}
	pc->flows++;
}

/* Flow table end callback: flush, classify what is left, emit the record. */
static void on_flow_end(void *ctx, struct flow *f, enum flow_end_reason why)
{
	struct sensor *s = ctx;
	struct session *ss = flow_ext(f);
	if (ss->verdict == VERDICT_PENDING && ss->dpi)
		session_decide(s, ss, dpi_giveup(s->dpi, ss->dpi));
	else if (ss->verdict == VERDICT_PENDING)
		ss->verdict = VERDICT_KEEP;
	struct flow_record rec = {.flow = f, .why = why, .dpi = ss->res};
	if (ss->is_tcp && ss->verdict == VERDICT_KEEP) {
		reasm_flush(s->reasm, &ss->rd[0], 0, ss);
		reasm_flush(s->reasm, &ss->rd[1], 1, ss);
		rec.reassembled = true;
	}
	if (ss->tls) {
		tlssess_finish(ss->tls);
		rec.tls = *tlssess_meta(ss->tls);
		rec.is_tls = true;
	}
	app_stop(ss); /* the last transactions, before the flow's record */
	rec.sink_id = ss->sink_id;
	for (int d = 0; d < 2; d++) {
		rec.stream_bytes[d] = ss->stream_bytes[d];
		rec.gaps[d] = ss->gaps[d];
		rec.gap_bytes[d] = ss->gap_bytes[d];
		if (ss->dg[d]) {
			digest_final(ss->dg[d], rec.sha256[d]);
			rec.have_digest = true;
		}
	}
	rec.anomalies = ss->anomalies;
	count_proto(s, ss->res.name[0] ? ss->res.name : "Unknown");
	if (s->cfg.flow_end)
		s->cfg.flow_end(s->cfg.ctx, &rec);
	session_drop_reasm(s, ss);
	dpi_flow_free(ss->dpi);
	ss->dpi = NULL;
}

int sensor_new(const struct sensor_config *cfg, struct sensor **ret, char *err, size_t errlen)
{
	struct sensor *s = calloc(1, sizeof(*s));
	int r = -ENOMEM;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	s->cfg = *cfg;
	r = dpi_new(cfg->ndpi_protos, cfg->exchange_hosts, cfg->n_exchange, &s->dpi, err, errlen);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	struct flow_config fc = cfg->flow;
	fc.ext_size = sizeof(struct session);
	fc.end = on_flow_end;
	fc.ctx = s;
	s->flows = flow_table_new(&fc);
	s->http = http_engine_new();
	s->tls = tls_engine_new(cfg->keylog, cfg->rsa);
	s->owa = owa_sessions_new(LIMIT_OWA_SESSIONS);
	s->reasm = reasm_pool_new(&cfg->reasm, &sensor_reasm_ops);
	s->defrag = defrag_new(&cfg->defrag);
	if (!s->flows || !s->reasm || !s->defrag || !s->http || !s->tls || !s->owa) {
		snprintf(err, errlen, "out of memory creating the flow table (%u flows)",
		         cfg->flow.max_flows);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	sensor_free(s);
	return r;
}

/* Decodes a frame, reassembling IP fragments; true when *p is TCP/UDP. */
static bool sensor_decode(struct sensor *s, int linktype, const uint8_t *data, size_t caplen,
                          struct pkt *p)
{
	enum anomaly a = ANOMALY_NONE;
	enum decode_result r = decode_frame(linktype, data, caplen, p, &a);
	if (r == DECODE_FRAGMENT) {
		const uint8_t *ip;
		size_t len;
		enum anomaly fa = ANOMALY_NONE;
		enum defrag_result dr = defrag_add(s->defrag, p, &ip, &len, &fa);
		count_anomaly(s, fa);
		if (dr != DEFRAG_COMPLETE)
			return false;
		r = decode_ip(ip, len, p, &a);
	}
	switch (r) {
	case DECODE_OK:
		count_anomaly(s, a); /* e.g. odd TCP flags: counted, still tracked */
		break;
	case DECODE_SKIP:
		s->stats.skipped++;
		return false;
	case DECODE_UNSUPPORTED_LINK:
		s->stats.unsupported_link++;
		return false;
	case DECODE_FRAGMENT: /* a fragment inside a reassembled datagram */
	case DECODE_MALFORMED:
	default:
		s->stats.malformed++;
		count_anomaly(s, a);
		return false;
	}
	if (p->ip_proto != IPPROTO_TCP && p->ip_proto != IPPROTO_UDP) {
		s->stats.skipped++;
		return false;
	}
	s->stats.decoded++;
	return true;
}

void sensor_frame(struct sensor *s, int linktype, uint64_t ts_us, const uint8_t *data,
                  size_t caplen)
{
	assert(s->flows); /* not after sensor_finish() */
	s->stats.frames++;
	s->stats.frame_bytes += caplen;
	if (!s->stats.first_us || ts_us < s->stats.first_us)
		s->stats.first_us = ts_us;
	if (ts_us > s->stats.last_us)
		s->stats.last_us = ts_us;
	if (s->stats.last_us - s->last_defrag_expire_us >= 1000000u) {
		defrag_expire(s->defrag, s->stats.last_us);
		s->last_defrag_expire_us = s->stats.last_us;
	}

	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.ts_us = ts_us;
	s->now_us = ts_us;
	if (!sensor_decode(s, linktype, data, caplen, &p))
		return;

	int dir;
	bool created;
	struct flow *f = flow_packet(s->flows, &p, &dir, &created);
	if (!f)
		return;
	struct session *ss = flow_ext(f);
	if (created)
		session_start(s, ss, f, &p);
	if (ss->is_tcp)
		session_tcp(s, ss, &p, dir);
	session_classify(s, ss, &p);
}

void sensor_keys_added(struct sensor *s)
{
	tls_engine_keys_added(s->tls);
}

void sensor_finish(struct sensor *s)
{
	if (!s || !s->flows)
		return;
	/* Counters as of the end of input (flows still open count as active). */
	s->flow_stats = *flow_table_stats(s->flows);
	flow_table_free(s->flows);
	s->flows = NULL;
}

void sensor_free(struct sensor *s)
{
	if (!s)
		return;
	sensor_finish(s);
	reasm_pool_free(s->reasm);
	defrag_free(s->defrag);
	http_engine_free(s->http);
	tls_engine_free(s->tls);
	owa_sessions_free(s->owa);
	dpi_free(s->dpi);
	free(s);
}

const struct sensor_stats *sensor_stats(const struct sensor *s)
{
	return &s->stats;
}

const struct flow_stats *sensor_flow_stats(const struct sensor *s)
{
	return s->flows ? flow_table_stats(s->flows) : &s->flow_stats;
}

const struct reasm_stats *sensor_reasm_stats(const struct sensor *s)
{
	return reasm_pool_stats(s->reasm);
}

const struct defrag_stats *sensor_defrag_stats(const struct sensor *s)
{
	return defrag_stats(s->defrag);
}

const struct http_stats *sensor_http_stats(const struct sensor *s)
{
	return http_engine_stats(s->http);
}

const struct tls_engine_stats *sensor_tls_stats(const struct sensor *s)
{
	return tls_engine_stats(s->tls);
}

void sensor_proto_counts(const struct sensor *s,
                         void (*fn)(void *ctx, const char *name, uint64_t flows), void *ctx)
{
	for (size_t i = 0; i < s->n_protos; i++)
		fn(ctx, s->protos[i].name, s->protos[i].flows);
	if (s->protos[PROTO_NAMES_MAX].flows)
		fn(ctx, s->protos[PROTO_NAMES_MAX].name, s->protos[PROTO_NAMES_MAX].flows);
}
