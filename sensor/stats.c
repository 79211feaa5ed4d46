/*
 * stats.c — formats the run summary from the sensor's counters.
 *
 * Layout: one line per pipeline stage, so an operator can see where packets
 * went (decoded, skipped, malformed), where flows went (kept for
 * reassembly, skipped after identification, evicted by the cap) and every
 * cap that was hit.  Zero counters of rare events are left out.
 */
#include <inttypes.h>

#include "http.h"
#include "stats.h"

static double rate(double n, double s)
{
	return s > 0 ? n / s : 0;
}

static void print_protos(void *ctx, const char *name, uint64_t flows)
{
	FILE *out = ctx;
	fprintf(out, " %s=%" PRIu64, name, flows);
}

static void print_anomalies(FILE *out, const struct sensor_stats *st)
{
	int any = 0;
	for (int a = 1; a < ANOMALY__COUNT; a++) {
		if (!st->anomalies[a])
			continue;
		fprintf(out, "%s %s=%" PRIu64, any ? "" : "  anomalies:", anomaly_name(a),
		        st->anomalies[a]);
		any = 1;
	}
	if (any)
		fputc('\n', out);
}

static void print_tls(FILE *out, const struct sensor_stats *st, const struct tls_engine_stats *ts)
{
	fprintf(out,
	        "  tls: %" PRIu64 " flows, %" PRIu64 " decrypted; not decrypted: %" PRIu64
	        " no key, %" PRIu64 " unsupported, %" PRIu64 " gap, %" PRIu64 " wrong key, %" PRIu64
	        " handshake not seen; %" PRIu64 " HTTP/2 (h2)\n",
	        st->tls_flows, ts->decrypted_sessions, ts->undecrypted[TLSU_NO_KEY],
	        ts->undecrypted[TLSU_UNSUPPORTED], ts->undecrypted[TLSU_GAP],
	        ts->undecrypted[TLSU_AUTH_FAIL], ts->undecrypted[TLSU_NO_HANDSHAKE],
	        ts->h2_sessions);
	int any = 0;
	for (int a = 1; a < TLS_ANOMALY__COUNT; a++) {
		if (!ts->anomalies[a])
			continue;
		fprintf(out, "%s %s=%" PRIu64, any ? "" : "  tls anomalies:", tls_anomaly_name(a),
		        ts->anomalies[a]);
		any = 1;
	}
	if (any)
		fputc('\n', out);
	if (ts->auth_failures || ts->pending_dropped)
		fprintf(out,
		        "  tls records: %" PRIu64
		        " failed authentication (never passed on), %" PRIu64
		        " dropped waiting for keys\n",
		        ts->auth_failures, ts->pending_dropped);
}

void stats_print_summary(FILE *out, const struct sensor *s, const struct run_info *ri)
{
	const struct sensor_stats *st = sensor_stats(s);
	const struct flow_stats *fs = sensor_flow_stats(s);
	const struct reasm_stats *rs = sensor_reasm_stats(s);
	const struct defrag_stats *ds = sensor_defrag_stats(s);
	double mb = (double)st->frame_bytes / 1e6;

	fprintf(out, "mdmwatch summary\n");
	fprintf(out,
	        "  input: %u opened, %u failed; %" PRIu64 " frames, %.1f MB in %.2f s "
	        "(%.1f MB/s, %.0f frames/s)%s\n",
	        ri->inputs, ri->inputs_failed, st->frames, mb, ri->elapsed_s,
	        rate(mb, ri->elapsed_s), rate((double)st->frames, ri->elapsed_s),
	        ri->interrupted ? ", interrupted" : "");
	if (ri->drops)
		fprintf(out, "  kernel drops: %" PRIu64 "\n", ri->drops);
	fprintf(out,
	        "  decode: %" PRIu64 " tcp/udp, %" PRIu64 " other, %" PRIu64 " malformed, %" PRIu64
	        " unsupported link\n",
	        st->decoded, st->skipped, st->malformed, st->unsupported_link);
	if (ds->fragments)
		fprintf(out,
		        "  fragments: %" PRIu64 " seen, %" PRIu64 " datagrams rebuilt, %" PRIu64
		        " timed out, %" PRIu64 " evicted (cap), %" PRIu64 " dropped\n",
		        ds->fragments, ds->reassembled, ds->timeouts, ds->evicted, ds->dropped);
	fprintf(out,
	        "  flows: %" PRIu64 " (tcp %" PRIu64 ", udp %" PRIu64 "), %" PRIu64
	        " picked up mid-stream, %" PRIu64 " timed out, %" PRIu64
	        " evicted (cap), max %u at once\n",
	        fs->created, st->tcp_flows, st->udp_flows, fs->midstream, fs->ended_timeout,
	        fs->evicted, fs->active_max);
	fprintf(out,
	        "  tcp: %" PRIu64 " reassembled (http/tls/exchange), %" PRIu64
	        " skipped after identification\n",
	        st->flows_kept, st->flows_skipped);
	const struct http_stats *hs = sensor_http_stats(s);
	fprintf(out,
	        "  http: %" PRIu64 " flows, %" PRIu64 " transactions, %" PRIu64
	        " Exchange transactions recorded, %" PRIu64 " parse errors, %" PRIu64
	        " resynchronisations\n",
	        st->http_flows, st->http_transactions, st->transactions, hs->parse_errors,
	        hs->resyncs);
	if (st->tls_flows)
		print_tls(out, st, sensor_tls_stats(s));
	fprintf(out, "  protocols:");
	sensor_proto_counts(s, print_protos, out);
	fputc('\n', out);
	fprintf(
	    out,
	    "  reassembly: %" PRIu64 " bytes delivered, %" PRIu64 " out-of-order segments, %" PRIu64
	    " retransmitted bytes, %" PRIu64 " gaps (%" PRIu64 " bytes)\n",
	    rs->delivered_bytes, rs->queued_segments, rs->retrans_bytes, rs->gaps, rs->gap_bytes);
	if (rs->cap_dir || rs->cap_total || rs->depth_bytes)
		fprintf(out,
		        "  caps hit: reassembly per-direction %" PRIu64 ", total %" PRIu64
		        ", depth %" PRIu64 " bytes\n",
		        rs->cap_dir, rs->cap_total, rs->depth_bytes);
	print_anomalies(out, st);
}
