/*
 * output.h — where the sensor's findings go: the SQLite database (db/), the
 * correlator (detect.h) that turns transactions into alerts, the optional
 * NDJSON alert stream (--json) and the --dump-flows text stream.
 *
 * One writer: the output is driven from the thread that runs the sensor.
 * The database commits in batches; output_tick() must be called at least
 * every 100 ms of wall time while running (db.h) so rows are committed
 * within a second of being found.
 */
#ifndef MDM_OUTPUT_H
#define MDM_OUTPUT_H

#include <stdio.h>

#include "detect.h"
#include "sensor.h"
#include "stats.h"

struct output;

struct output_config {
	const char *db_path;   /* NULL: no database */
	const char *dump_path; /* NULL: none, "-": stdout */
	const char *version;
	const char *mode; /* "offline" or "live" */
	const char *const *inputs;
	unsigned n_inputs;
	const char *json_path;              /* NULL: none, "-": stdout */
	const struct detect_config *detect; /* the correlator's policy */
};

/* Opens the outputs; on error a message naming the file in err. */
int output_open(const struct output_config *cfg, struct output **ret, char *err, size_t errlen);

/* The sensor's callbacks (ctx = the output). */
void output_flow_start(void *ctx, const struct flow *f, const struct dpi_result *dpi,
                       int64_t *sink_id);
void output_flow(void *ctx, const struct flow_record *rec);
void output_txn(void *ctx, const struct flow *f, int64_t flow_sink_id, bool tls,
                const struct exch_txn *t, int64_t *row);

/* Commits what is due; call often. */
void output_tick(struct output *o);

/* Records the run's counters, commits and closes.  Returns 0, or -EIO when
 * an output failed at any point (already reported on stderr by main). */
int output_close(struct output *o, const struct sensor *s, const struct run_info *ri, char *err,
                 size_t errlen);

/* Alerts by severity and the top ones, for the run summary. */
void output_print_alerts(FILE *out, const struct output *o);

/* True when --dump-flows is on (the sensor then computes digests). */
int output_wants_digests(const struct output *o);

#endif /* MDM_OUTPUT_H */
