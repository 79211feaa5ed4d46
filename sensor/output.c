/*
 * output.c — flow records and run counters to SQLite and --dump-flows.
 *
 * Database rows (db/SCHEMA.md): one `runs` row per run, begun at open and
 * completed at close with every counter of the run summary in
 * `run_counters`; one `flows` row per reassembled (HTTP, TLS or Exchange)
 * flow, written when the flow ends.  Flows the sensor skipped are counted,
 * not stored.
 *
 * Write errors do not stop the sensor: the first one is kept for the exit
 * status and the message; the database module counts the rows it lost.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "output.h"

#define MAX_COUNTERS (80 + ANOMALY__COUNT + TLS_ANOMALY__COUNT)

#define TOP_ALERTS 64 /* alerts remembered for the summary table */

struct top_alert {
	int64_t slot;
	char severity[8], rule[48], who[64], protocol[16];
	char fix[256];
	uint64_t count;
};

struct output {
	bool live; /* alerts are committed at once (DESIGN: within a second) */
	struct db *db;
	struct detect *det;
	FILE *json;
	char json_name[256];
	struct top_alert top[TOP_ALERTS];
	size_t n_top;
	int64_t next_slot; /* alert ids when there is no database */
	FILE *dump;
	char dump_name[256];
	int64_t run_id;
	int failed;
	char first_error[320];
};

static uint64_t wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fail(struct output *o, const char *what, int r)
{
	if (!o->failed)
		snprintf(o->first_error, sizeof(o->first_error), "%s: %s", what,
		         o->db && db_errmsg(o->db)[0] ? db_errmsg(o->db) : strerror(-r));
	o->failed = 1;
}

/* "a\nb\nc": the inputs of the run, for runs.inputs. */
static char *join_inputs(const char *const *in, unsigned n)
{
	size_t len = 1;
	for (unsigned i = 0; i < n; i++)
		len += strlen(in[i]) + 1;
	char *s = malloc(len), *p = s;
	if (!s)
		return NULL;
	for (unsigned i = 0; i < n; i++) {
		size_t k = strlen(in[i]);
		memcpy(p, in[i], k);
		p += k;
		*p++ = i + 1 < n ? '\n' : '\0';
	}
	if (n == 0)
		*p = '\0';
	return s;
}

static int open_db(struct output *o, const struct output_config *cfg, char *err, size_t errlen)
{
	int r = db_open(cfg->db_path, &o->db, err, errlen);
	if (r < 0)
		return r;
	char *inputs = join_inputs(cfg->inputs, cfg->n_inputs);
	struct db_run run = {
	    .version = cfg->version,
	    .mode = cfg->mode,
	    .inputs = inputs,
	    .started_us = wall_us(),
	};
	r = inputs ? db_run_begin(o->db, &run, &o->run_id) : -ENOMEM;
	free(inputs);
	if (r < 0)
		snprintf(err, errlen, "%s: cannot record the run: %s", cfg->db_path,
		         db_errmsg(o->db));
	return r;
}

/* A JSON string (RFC 8259 §7): escapes, and U+FFFD for bytes that are not
 * UTF-8, so a hostile User-Agent cannot break the line or the encoding. */
static void json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		size_t n = c < 0x80             ? 1
		           : (c & 0xe0) == 0xc0 ? 2
		           : (c & 0xf0) == 0xe0 ? 3
		           : (c & 0xf8) == 0xf0 ? 4
		                                : 0;
		bool ok = n > 0 && !(n == 2 && c < 0xc2);
		for (size_t i = 1; ok && i < n; i++)
			ok = (p[i] & 0xc0) == 0x80;
		if (!ok) {
			fputs("\\ufffd", f);
			p++;
		} else if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc((int)c, f);
			p++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			p++;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

static void json_ts(FILE *f, const char *name, uint64_t us)
{
	char ts[DB_TS_SIZE];
	fprintf(f, ",\"%s\":", name);
	if (db_format_ts(us, ts) == 0)
		json_str(f, ts);
	else
		fputs("null", f);
}

/* --json: one line per alert as it is raised or updated, database names. */
static void json_alert(struct output *o, const struct detect_alert *a, int64_t id)
{
	FILE *f = o->json;
	fprintf(f, "{\"id\":%lld", (long long)id);
	json_ts(f, "ts", a->ts_us);
	const char *k[] = {"severity",  "rule",     "matched_by", "user",    "client_ip",
	                   "device_id", "protocol", "user_agent", "summary", "remediation"};
	const char *v[] = {a->severity,  a->rule,     a->matched_by, a->user,    a->client_ip,
	                   a->device_id, a->protocol, a->user_agent, a->summary, a->remediation};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		fprintf(f, ",\"%s\":", k[i]);
		json_str(f, v[i]);
	}
	json_ts(f, "first_seen", a->first_seen_us);
	json_ts(f, "last_seen", a->last_seen_us);
	fprintf(f, ",\"count\":%llu}\n", (unsigned long long)a->count);
	fflush(f);
}

static void remember_alert(struct output *o, const struct detect_alert *a, int64_t id)
{
	struct top_alert *t = NULL;
	for (size_t i = 0; i < o->n_top && !t; i++)
		if (o->top[i].slot == id)
			t = &o->top[i];
	if (!t && o->n_top < TOP_ALERTS) {
		t = &o->top[o->n_top++];
		t->slot = id;
		snprintf(t->severity, sizeof(t->severity), "%s", a->severity);
		snprintf(t->rule, sizeof(t->rule), "%s", a->rule);
		snprintf(t->who, sizeof(t->who), "%s", a->user ? a->user : a->client_ip);
		snprintf(t->protocol, sizeof(t->protocol), "%s", a->protocol);
		snprintf(t->fix, sizeof(t->fix), "%s", a->remediation ? a->remediation : "");
	}
	if (t)
		t->count = a->count;
}

/* The correlator's sink: the alert row, its evidence, the NDJSON line. */
static void on_alert(void *ctx, const struct detect_alert *a)
{
	struct output *o = ctx;
	int r = 0;
	if (a->is_new) {
		struct db_alert row = {
		    .run_id = o->run_id,
		    .ts_us = a->ts_us,
		    .severity = a->severity,
		    .rule = a->rule,
		    .matched_by = a->matched_by,
		    .user = a->user,
		    .client_ip = a->client_ip,
		    .device_id = a->device_id,
		    .protocol = a->protocol,
		    .user_agent = a->user_agent,
		    .summary = a->summary,
		    .remediation = a->remediation,
		    .first_seen_us = a->first_seen_us,
		    .last_seen_us = a->last_seen_us,
		    .count = a->count,
		};
		if (o->db)
			r = db_alert_insert(o->db, &row, a->sink_slot);
		else
			*a->sink_slot = ++o->next_slot;
	} else if (o->db) {
		r = db_alert_update(o->db, *a->sink_slot, a->first_seen_us, a->last_seen_us,
		                    a->count);
	}
	if (r < 0)
		fail(o, "database alerts", r);
	if (o->db && *a->sink_slot > 0) {
		if (a->refusal_row > 0)
			r = db_alert_add_evidence(o->db, *a->sink_slot, a->refusal_row, "refusal");
		if (r >= 0 && a->fallback_row > 0)
			r = db_alert_add_evidence(o->db, *a->sink_slot, a->fallback_row,
			                          "fallback");
		if (r < 0)
			fail(o, "database alert evidence", r);
	}
	/* Live, an analyst is waiting: commit now rather than with the batch. */
	if (o->live && o->db && (r = db_flush(o->db)) < 0)
		fail(o, "database commit", r);
	remember_alert(o, a, *a->sink_slot);
	if (o->json)
		json_alert(o, a, *a->sink_slot);
}

int output_open(const struct output_config *cfg, struct output **ret, char *err, size_t errlen)
{
	struct output *o = calloc(1, sizeof(*o));
	int r = -ENOMEM;
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	o->live = cfg->mode && strcmp(cfg->mode, "live") == 0;
	if (cfg->dump_path) {
		snprintf(o->dump_name, sizeof(o->dump_name), "%s", cfg->dump_path);
		o->dump = strcmp(cfg->dump_path, "-") == 0 ? stdout : fopen(cfg->dump_path, "w");
		if (!o->dump) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", cfg->dump_path, strerror(errno));
			goto fail;
		}
	}
	if (cfg->json_path) {
		snprintf(o->json_name, sizeof(o->json_name), "%s", cfg->json_path);
		o->json = strcmp(cfg->json_path, "-") == 0 ? stdout : fopen(cfg->json_path, "a");
		if (!o->json) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", cfg->json_path, strerror(errno));
			goto fail;
		}
	}
	if (cfg->db_path) {
		r = open_db(o, cfg, err, errlen);
		if (r < 0)
			goto fail;
	}
	if (cfg->detect) {
		o->det = detect_new(cfg->detect, on_alert, o);
		if (!o->det) {
			r = -ENOMEM;
			snprintf(err, errlen, "out of memory creating the correlator");
			goto fail;
		}
	}
	*ret = o;
	return 0;
fail:
	if (o->dump && o->dump != stdout)
		fclose(o->dump);
	if (o->json && o->json != stdout)
		fclose(o->json);
	db_close(o->db);
	free(o);
	return r;
}

static int top_cmp(const void *a, const void *b)
{
	const struct top_alert *x = a, *y = b;
	int sx = detect_severity_rank(x->severity), sy = detect_severity_rank(y->severity);
	if (sx != sy)
		return sx - sy;
	return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

void output_print_alerts(FILE *out, const struct output *o)
{
	struct top_alert top[TOP_ALERTS];
	static const uint64_t none[3];
	const uint64_t *al = o->det ? detect_stats(o->det)->alerts : none;
	size_t n = o->n_top;
	fprintf(out, "  alerts: %" PRIu64 " high, %" PRIu64 " medium, %" PRIu64 " low\n", al[0],
	        al[1], al[2]);
	memcpy(top, o->top, n * sizeof(top[0]));
	qsort(top, n, sizeof(top[0]), top_cmp);
	for (size_t i = 0; i < n && i < 10; i++) {
		fprintf(out, "    %-6s %-32s %-24s %-5s x%" PRIu64 "\n", top[i].severity,
		        top[i].rule, top[i].who, top[i].protocol, top[i].count);
		if (top[i].fix[0] && top[i].severity[0] != 'l')
			fprintf(out, "           fix: %s\n", top[i].fix);
	}
	if (n > 10)
		fprintf(out, "    ... sqlite3 DB 'SELECT * FROM v_alerts' for all of them\n");
}

int output_wants_digests(const struct output *o)
{
	return o->dump != NULL;
}

static void format_ip(char *out, size_t n, uint8_t af, const uint8_t *addr)
{
	if (!inet_ntop(af == 6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)n))
		snprintf(out, n, "?");
}

/* --dump-flows: one line per flow, see README "--dump-flows". */
static void dump_flow(struct output *o, const struct flow_record *rec, const char *cip,
                      const char *sip)
{
	const struct flow *f = rec->flow;
	char c[80], s[80];
	if (f->af == 6) {
		snprintf(c, sizeof(c), "[%s]:%u", cip, f->port[0]);
		snprintf(s, sizeof(s), "[%s]:%u", sip, f->port[1]);
	} else {
		snprintf(c, sizeof(c), "%s:%u", cip, f->port[0]);
		snprintf(s, sizeof(s), "%s:%u", sip, f->port[1]);
	}
	fprintf(o->dump, "%s %s > %s app=%s reasm=%s pkts=%" PRIu64 "/%" PRIu64,
	        f->proto == 6 ? "tcp" : "udp", c, s, rec->dpi.name[0] ? rec->dpi.name : "Unknown",
	        rec->reassembled ? "yes" : "no", f->pkts[0], f->pkts[1]);
	if (rec->reassembled)
		fprintf(o->dump,
		        " c2s=%" PRIu64 ":%s s2c=%" PRIu64 ":%s gaps=%" PRIu64 "/%" PRIu64
		        " anomalies=%u",
		        rec->stream_bytes[0], rec->have_digest ? rec->sha256[0] : "-",
		        rec->stream_bytes[1], rec->have_digest ? rec->sha256[1] : "-", rec->gaps[0],
		        rec->gaps[1], rec->anomalies);
	fputc('\n', o->dump);
}

static void db_flow_row(struct output *o, const struct flow *f, const struct dpi_result *dpi,
                        const char *cip, const char *sip, struct db_flow *row)
{
	bool tls = dpi->cls == DPI_TLS;
	*row = (struct db_flow){
	    .run_id = o->run_id,
	    .client_ip = cip,
	    .client_port = f->port[0],
	    .server_ip = sip,
	    .server_port = f->port[1],
	    .first_seen_us = f->first_us,
	    .last_seen_us = f->last_us,
	    .pkts_c2s = f->pkts[0],
	    .pkts_s2c = f->pkts[1],
	    .bytes_c2s = f->bytes[0],
	    .bytes_s2c = f->bytes[1],
	    .app = dpi->name[0] ? dpi->name : "Unknown",
	    .sni = tls && dpi->host[0] ? dpi->host : NULL,
	};
}

/* A kept flow gets its row when it starts, so that its transactions can
 * point at it; the row is completed when the flow ends. */
void output_flow_start(void *ctx, const struct flow *f, const struct dpi_result *dpi,
                       int64_t *sink_id)
{
	struct output *o = ctx;
	char cip[64], sip[64];
	struct db_flow row;
	if (!o->db)
		return;
	format_ip(cip, sizeof(cip), f->af, f->addr[0]);
	format_ip(sip, sizeof(sip), f->af, f->addr[1]);
	db_flow_row(o, f, dpi, cip, sip, &row);
	int r = db_flow_insert(o->db, &row, sink_id);
	if (r < 0)
		fail(o, "database flows", r);
}

static void db_flow_end(struct output *o, const struct flow_record *rec, const char *cip,
                        const char *sip)
{
	struct db_flow row;
	db_flow_row(o, rec->flow, &rec->dpi, cip, sip, &row);
	if (rec->is_tls) {
		const struct tls_meta *m = &rec->tls;
		row.sni = m->sni[0] ? m->sni : row.sni;
		row.alpn = m->alpn[0] ? m->alpn : NULL;
		row.tls_version = m->version[0] ? m->version : NULL;
		row.cipher = m->cipher[0] ? m->cipher : NULL;
		row.ja3 = m->ja3[0] ? m->ja3 : NULL;
		row.ja4 = m->ja4[0] ? m->ja4 : NULL;
		row.decrypted = m->decrypted ? DB_DECRYPTED_YES : DB_DECRYPTED_NO;
		row.decrypt_note = m->why != TLSU_NONE ? tls_undecrypted_name(m->why) : NULL;
	}
	int r = rec->sink_id ? db_flow_update(o->db, rec->sink_id, &row)
	                     : db_flow_insert(o->db, &row, &(int64_t){0});
	if (r < 0)
		fail(o, "database flows", r);
}

void output_txn(void *ctx, const struct flow *f, int64_t flow_sink_id, bool tls,
                const struct exch_txn *t, int64_t *row)
{
	struct output *o = ctx;
	char cip[64], sip[64];
	int r = 0;
	format_ip(cip, sizeof(cip), f->af, f->addr[0]);
	format_ip(sip, sizeof(sip), f->af, f->addr[1]);
	if (o->db && *row) { /* a later call for a transaction emitted early */
		if (t->status)
			r = db_transaction_set_status(o->db, *row, t->status);
	} else if (o->db) {
		struct db_transaction txn = {
		    .run_id = o->run_id,
		    .flow_id = flow_sink_id,
		    .ts_us = t->ts_us,
		    .client_ip = cip,
		    .client_port = f->port[0],
		    .server_ip = sip,
		    .server_port = f->port[1],
		    .host = t->host,
		    .method = t->method,
		    .uri = t->uri,
		    .status = t->status,
		    .user_agent = t->user_agent,
		    .user = t->user,
		    .auth = t->auth,
		    .protocol = t->protocol,
		    .operation = t->operation,
		    .device_id = t->device_id,
		    .device_type = t->device_type,
		    .tls = tls,
		};
		r = db_transaction_insert(o->db, &txn, row);
	}
	if (r < 0)
		fail(o, "database transactions", r);
	if (o->det && t->evaluate && t->protocol) {
		struct detect_event ev = {
		    .ts_us = t->ts_us,
		    .user = t->user,
		    .client_ip = cip,
		    .device_id = t->device_id,
		    .protocol = t->protocol,
		    .operation = t->operation,
		    .user_agent = t->user_agent,
		    .status = t->status,
		    .eas_refusal = t->eas_refusal,
		    .txn_row = *row,
		};
		detect_event(o->det, &ev);
	}
}

void output_flow(void *ctx, const struct flow_record *rec)
{
	struct output *o = ctx;
	char cip[64], sip[64];
	format_ip(cip, sizeof(cip), rec->flow->af, rec->flow->addr[0]);
	format_ip(sip, sizeof(sip), rec->flow->af, rec->flow->addr[1]);
	if (o->dump)
		dump_flow(o, rec, cip, sip);
	if (o->db && rec->reassembled)
		db_flow_end(o, rec, cip, sip);
}

void output_tick(struct output *o)
{
	if (o->db) {
		int r = db_tick(o->db, wall_us());
		if (r < 0)
			fail(o, "database commit", r);
	}
}

/* Every counter of the run summary, by a stable name. */
static size_t run_counters(const struct output *o, const struct sensor *s,
                           const struct run_info *ri, struct db_counter *c)
{
	const struct sensor_stats *st = sensor_stats(s);
	const struct flow_stats *fs = sensor_flow_stats(s);
	const struct reasm_stats *rs = sensor_reasm_stats(s);
	const struct defrag_stats *ds = sensor_defrag_stats(s);
	size_t n = 0;
#define C(nm, v) c[n++] = (struct db_counter){.name = (nm), .value = (uint64_t)(v)}
	C("inputs", ri->inputs);
	C("inputs_failed", ri->inputs_failed);
	C("input_bytes", ri->input_bytes);
	C("kernel_drops", ri->drops);
	C("frames", st->frames);
	C("frame_bytes", st->frame_bytes);
	C("decoded", st->decoded);
	C("skipped", st->skipped);
	C("malformed", st->malformed);
	C("unsupported_link", st->unsupported_link);
	C("fragments", ds->fragments);
	C("frag_reassembled", ds->reassembled);
	C("frag_timeouts", ds->timeouts);
	C("frag_evicted", ds->evicted);
	C("frag_dropped", ds->dropped);
	C("flows", fs->created);
	C("flows_tcp", st->tcp_flows);
	C("flows_udp", st->udp_flows);
	C("flows_midstream", fs->midstream);
	C("flows_timed_out", fs->ended_timeout);
	C("flows_evicted", fs->evicted);
	C("flows_reused", fs->reused);
	C("flows_max_active", fs->active_max);
	C("flows_reassembled", st->flows_kept);
	C("flows_skipped", st->flows_skipped);
	C("reasm_bytes", rs->delivered_bytes);
	C("reasm_out_of_order_segments", rs->queued_segments);
	C("reasm_retrans_bytes", rs->retrans_bytes);
	C("reasm_gaps", rs->gaps);
	C("reasm_gap_bytes", rs->gap_bytes);
	C("reasm_cap_dir", rs->cap_dir);
	C("reasm_cap_total", rs->cap_total);
	C("reasm_depth_bytes", rs->depth_bytes);
	C("reasm_queued_max", rs->queued_max);
	const struct tls_engine_stats *ts = sensor_tls_stats(s);
	C("tls_flows", st->tls_flows);
	C("tls_decrypted", ts->decrypted_sessions);
	C("tls_no_key", ts->undecrypted[TLSU_NO_KEY]);
	C("tls_unsupported", ts->undecrypted[TLSU_UNSUPPORTED]);
	C("tls_gap", ts->undecrypted[TLSU_GAP]);
	C("tls_auth_fail", ts->undecrypted[TLSU_AUTH_FAIL]);
	C("tls_no_handshake", ts->undecrypted[TLSU_NO_HANDSHAKE]);
	C("tls_records_failed_auth", ts->auth_failures);
	C("tls_pending_dropped", ts->pending_dropped);
	C("tls_pending_max", ts->pending_max);
	C("tls_h2", ts->h2_sessions);
	C("tls_transcript_overflows", ts->transcript_overflows);
	C("tls_memcap_given_up", ts->memcap_given_up);
	C("http_transactions", st->http_transactions);
	C("exchange_transactions", st->transactions);
	if (o->det) {
		const struct detect_stats *ds2 = detect_stats(o->det);
		C("detect_refusals", ds2->refusals);
		C("detect_fallbacks", ds2->fallbacks);
		C("alerts_high", ds2->alerts[0]);
		C("alerts_medium", ds2->alerts[1]);
		C("alerts_low", ds2->alerts[2]);
		C("identities_evicted", ds2->evicted);
		C("identities_expired", ds2->expired);
	}
	for (int a = 1; a < TLS_ANOMALY__COUNT; a++)
		if (ts->anomalies[a])
			c[n++] = (struct db_counter){.name = tls_anomaly_name(a),
			                             .value = ts->anomalies[a]};
	for (int a = 1; a < ANOMALY__COUNT; a++)
		if (st->anomalies[a])
			c[n++] =
			    (struct db_counter){.name = anomaly_name(a), .value = st->anomalies[a]};
#undef C
	return n;
}

int output_close(struct output *o, const struct sensor *s, const struct run_info *ri, char *err,
                 size_t errlen)
{
	if (!o)
		return 0;
	if (o->db && s) {
		struct db_counter c[MAX_COUNTERS];
		size_t n = run_counters(o, s, ri, c);
		int r = db_run_end(o->db, o->run_id, wall_us(), c, n);
		if (r < 0)
			fail(o, "database run record", r);
	}
	if (o->db) {
		int r = db_close(o->db);
		o->db = NULL;
		if (r < 0)
			fail(o, "database close", r);
	}
	if (o->dump) {
		bool bad = fflush(o->dump) != 0 || ferror(o->dump);
		if (o->dump != stdout && fclose(o->dump) != 0)
			bad = true;
		if (bad && !o->failed) {
			snprintf(o->first_error, sizeof(o->first_error), "%s: write failed",
			         o->dump_name);
			o->failed = 1;
		}
	}
	if (o->json) {
		bool bad = fflush(o->json) != 0 || ferror(o->json);
		if (o->json != stdout && fclose(o->json) != 0)
			bad = true;
		if (bad && !o->failed) {
			snprintf(o->first_error, sizeof(o->first_error), "%s: write failed",
			         o->json_name);
			o->failed = 1;
		}
	}
	detect_free(o->det);
	int failed = o->failed;
	if (failed)
		snprintf(err, errlen, "%s", o->first_error);
	free(o);
	return failed ? -EIO : 0;
}
