/*
 * output.h — where the sensor's findings go: the SQLite database (db/) and
 * the optional --dump-flows text stream.
 *
 * One writer: the output is driven from the thread that runs the sensor.
 * The database commits in batches; output_tick() must be called at least
 * every 100 ms of wall time while running (db.h) so rows are committed
 * within a second of being found.
 */
#ifndef MDM_OUTPUT_H
#define MDM_OUTPUT_H

#include <stdio.h>

#include "sensor.h"
#include "stats.h"

struct output;

struct output_config {
	const char *db_path;	 /* NULL: no database */
	const char *dump_path;	 /* NULL: none, "-": stdout */
	const char *version;
	const char *mode;	 /* "offline" or "live" */
	const char *const *inputs;
	unsigned n_inputs;
};

/* Opens the outputs; on error a message naming the file in err. */
int output_open(const struct output_config *cfg, struct output **ret, char *err, size_t errlen);

/* The sensor's flow_end callback (ctx = the output). */
void output_flow(void *ctx, const struct flow_record *rec);

/* Commits what is due; call often. */
void output_tick(struct output *o);

/* Records the run's counters, commits and closes.  Returns 0, or -EIO when
 * an output failed at any point (already reported on stderr by main). */
int output_close(struct output *o, const struct sensor *s, const struct run_info *ri,
		 char *err, size_t errlen);

/* True when --dump-flows is on (the sensor then computes digests). */
int output_wants_digests(const struct output *o);

#endif /* MDM_OUTPUT_H */
