/*
 * stats.h — the run summary: what was read, what was found, which caps
 * were hit.  Written to a stream chosen by main (stderr), never by the
 * pipeline itself.
 */
#ifndef MDM_STATS_H
#define MDM_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "sensor.h"

struct run_info {
	unsigned inputs;        /* files or interfaces opened */
	unsigned inputs_failed; /* unreadable, damaged or unsupported */
	uint64_t input_bytes;   /* bytes of capture files read */
	uint64_t drops;         /* live: kernel drops */
	double elapsed_s;       /* wall clock */
	int interrupted;
};

void stats_print_summary(FILE *out, const struct sensor *s, const struct run_info *ri);

#endif /* MDM_STATS_H */
