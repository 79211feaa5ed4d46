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
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "output.h"

#define MAX_COUNTERS (64 + ANOMALY__COUNT)

struct output {
	struct db *db;
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

int output_open(const struct output_config *cfg, struct output **ret, char *err, size_t errlen)
{
	struct output *o = calloc(1, sizeof(*o));
	int r = -ENOMEM;
	if (!o) {
		snprintf(err, errlen, "out of memory");
		return r;
	}
	if (cfg->dump_path) {
		snprintf(o->dump_name, sizeof(o->dump_name), "%s", cfg->dump_path);
		o->dump = strcmp(cfg->dump_path, "-") == 0 ? stdout : fopen(cfg->dump_path, "w");
		if (!o->dump) {
			r = -errno;
			snprintf(err, errlen, "%s: %s", cfg->dump_path, strerror(errno));
			goto fail;
		}
	}
	if (cfg->db_path) {
		r = open_db(o, cfg, err, errlen);
		if (r < 0)
			goto fail;
	}
	*ret = o;
	return 0;
fail:
	if (o->dump && o->dump != stdout)
		fclose(o->dump);
	db_close(o->db);
	free(o);
	return r;
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

static void db_flow(struct output *o, const struct flow_record *rec, const char *cip,
		    const char *sip)
{
	const struct flow *f = rec->flow;
	bool tls = rec->dpi.cls == DPI_TLS;
	struct db_flow row = {
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
		.app = rec->dpi.name[0] ? rec->dpi.name : "Unknown",
		.sni = tls && rec->dpi.host[0] ? rec->dpi.host : NULL,
		.decrypted = tls ? DB_DECRYPTED_NO : DB_DECRYPTED_NA,
		.decrypt_note = tls ? "decryption not available in this version" : NULL,
	};
	int64_t id;
	int r = db_flow_insert(o->db, &row, &id);
	if (r < 0)
		fail(o, "database flows", r);
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
		db_flow(o, rec, cip, sip);
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
static size_t run_counters(const struct sensor *s, const struct run_info *ri,
			   struct db_counter *c)
{
	const struct sensor_stats *st = sensor_stats(s);
	const struct flow_stats *fs = sensor_flow_stats(s);
	const struct reasm_stats *rs = sensor_reasm_stats(s);
	const struct defrag_stats *ds = sensor_defrag_stats(s);
	size_t n = 0;
#define C(nm, v) c[n++] = (struct db_counter){ .name = (nm), .value = (uint64_t)(v) }
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
	for (int a = 1; a < ANOMALY__COUNT; a++)
		if (st->anomalies[a])
			c[n++] = (struct db_counter){ .name = anomaly_name(a),
						      .value = st->anomalies[a] };
#undef C
	return n;
}

int output_close(struct output *o, const struct sensor *s, const struct run_info *ri,
		 char *err, size_t errlen)
{
	if (!o)
		return 0;
	if (o->db && s) {
		struct db_counter c[MAX_COUNTERS];
		size_t n = run_counters(s, ri, c);
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
	int failed = o->failed;
	if (failed)
		snprintf(err, errlen, "%s", o->first_error);
	free(o);
	return failed ? -EIO : 0;
}
