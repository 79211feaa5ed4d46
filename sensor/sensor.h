/*
 * sensor.h — the pipeline for one capture thread:
 *
 *   frame ─▶ decode ─▶ defrag ─▶ flow table ─▶ nDPI (first packets) ─▶ TCP reassembly ─▶ consumer
 *
 * The sensor owns the flow table, the defragmenter, the reassembly pool and
 * the nDPI module, and every counter the run summary shows.  Frames are fed
 * in capture order per input; timestamps may go backwards between inputs
 * (several -r files out of order): the flow clock never does.
 *
 * Which flows are reassembled: every TCP flow starts reassembling (so the
 * first bytes are never lost while nDPI decides).  When nDPI names HTTP or
 * TLS, or the flow matches an Exchange rule, it is kept; when nDPI names
 * something else (or gives up after LIMIT_DPI_PACKETS) the first bytes of
 * the stream get a last look — an HTTP method or a TLS record header keeps
 * the flow (a plaintext mirror on an odd port) — and otherwise the flow's
 * reassembly state is freed and its packets are only counted.
 *
 * HTTP: the first bytes of a kept flow decide whether it speaks HTTP/1.x (a
 * request line, or a status line on pickup); if so its streams go to libhtp
 * (http.h) and its transactions to the Exchange builder (exch.h).  A flow
 * picked up mid-stream starts its HTTP parser in resynchronisation mode.
 *
 * Output: a flow record for every TCP and UDP flow as it ends, through the
 * `flow_end` callback (borrowed for the call); transactions through `txn`.
 */
#ifndef MDM_SENSOR_H
#define MDM_SENSOR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "anomaly.h"
#include "defrag.h"
#include "digest.h"
#include "dpi.h"
#include "exch.h"
#include "flow.h"
#include "reasm.h"
#include "tlssess.h"

struct sensor;

struct flow_record {
	const struct flow *flow; /* endpoints, times, packet and byte counts */
	int64_t sink_id;         /* what flow_start stored, 0 if not called */
	enum flow_end_reason why;
	struct dpi_result dpi;
	bool reassembled;         /* kept and reassembled */
	uint64_t stream_bytes[2]; /* bytes delivered per direction */
	uint64_t gaps[2];
	uint64_t gap_bytes[2];
	uint32_t anomalies;
	bool have_digest;
	char sha256[2][DIGEST_HEX_LEN];
	bool is_tls; /* a TLS connection: tls is filled in */
	struct tls_meta tls;
};

struct sensor_config {
	struct flow_config flow; /* ext_size, end, ctx are the sensor's own */
	struct reasm_config reasm;
	struct defrag_config defrag;
	const char *ndpi_protos;
	const char *const *exchange_hosts;
	size_t n_exchange;
	bool digests;                 /* compute SHA-256 of each reassembled direction */
	bool all_http;                /* also report non-Exchange HTTP transactions */
	struct keylog *keylog;        /* TLS secrets (borrowed), may be NULL */
	const struct tlsdec_rsa *rsa; /* server RSA key (borrowed), may be NULL */
	/* A flow is kept for reassembly: the sink may store an id (flows row)
	 * in *sink_id; it comes back in transactions and the flow record. */
	void (*flow_start)(void *ctx, const struct flow *f, const struct dpi_result *dpi,
	                   int64_t *sink_id);
	void (*flow_end)(void *ctx, const struct flow_record *rec);
	/* An Exchange (or, with all_http, any HTTP) transaction; see exch.h. */
	void (*txn)(void *ctx, const struct flow *f, int64_t flow_sink_id, bool tls,
	            const struct exch_txn *t, int64_t *row);
	void *ctx;
};

struct sensor_stats {
	uint64_t frames, frame_bytes;
	uint64_t decoded; /* frames that reached TCP/UDP */
	uint64_t skipped; /* not IP, not TCP/UDP */
	uint64_t malformed;
	uint64_t unsupported_link;
	uint64_t tcp_flows, udp_flows;
	uint64_t flows_kept, flows_skipped;
	uint64_t http_flows;        /* kept flows parsed as HTTP (plaintext or decrypted) */
	uint64_t tls_flows;         /* kept flows that speak TLS */
	uint64_t transactions;      /* Exchange transactions reported */
	uint64_t http_transactions; /* all HTTP transactions seen */
	uint64_t anomalies[ANOMALY__COUNT];
	uint64_t first_us, last_us; /* capture time span */
};

/* Defaults from mdm_limits.h. */
void sensor_config_default(struct sensor_config *cfg);

/* On error returns a negative errno and a message in err. */
int sensor_new(const struct sensor_config *cfg, struct sensor **ret, char *err, size_t errlen);

/* Processes one frame of link type `linktype`. */
void sensor_frame(struct sensor *s, int linktype, uint64_t ts_us, const uint8_t *data,
                  size_t caplen);

/* New TLS secrets arrived (a key log tailed while live): connections
 * waiting for them decrypt now. */
void sensor_keys_added(struct sensor *s);

/* Ends every flow (records emitted), then frees.  Accepts NULL. */
void sensor_free(struct sensor *s);

/* Ends every flow now (records emitted) without freeing the sensor. */
void sensor_finish(struct sensor *s);

const struct sensor_stats *sensor_stats(const struct sensor *s);
const struct flow_stats *sensor_flow_stats(const struct sensor *s);
const struct reasm_stats *sensor_reasm_stats(const struct sensor *s);
const struct defrag_stats *sensor_defrag_stats(const struct sensor *s);
const struct http_stats *sensor_http_stats(const struct sensor *s);
const struct tls_engine_stats *sensor_tls_stats(const struct sensor *s);

/* Flows per protocol name, for the summary: calls fn for each name. */
void sensor_proto_counts(const struct sensor *s,
                         void (*fn)(void *ctx, const char *name, uint64_t flows), void *ctx);

#endif /* MDM_SENSOR_H */
