/*
 * config.h — the policy and limits file (-c FILE), INI syntax read by libinih.
 *
 *   [detect]
 *   window = 24h                 ; s, m, h or d; default 24h
 *   [allowlist]                  ; User-Agents, EwsApplicationAccessPolicy syntax
 *   pattern = *Outlook-iOS*      ; "*x*" contains, "x*" starts, "*x" ends, else exact
 *   [exchange]
 *   host = mail.contoso.com      ; host name or IPv4 address, repeatable
 *   [aliases]
 *   alice = asmith, alice.smith  ; canonical = other names of the same person
 *   [limits]
 *   flows = 262144
 *   reasm_memcap = 256M
 *   reasm_dir_cap = 1M
 *   reasm_depth = 0
 *   identities = 100000
 *
 * Unknown sections or keys, bad values, and bad patterns are errors that
 * name the file and line (exit status 2): a policy that silently does less
 * than its author thinks is worse than none.
 */
#ifndef MDM_CONFIG_H
#define MDM_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "detect.h"
#include "sensor.h"

#define CONFIG_MAX_ITEMS 1024 /* patterns, hosts and aliases, each */

struct config {
	/* Owned strings; the pointer arrays feed detect_config and
	 * sensor_config directly. */
	const char *patterns[CONFIG_MAX_ITEMS];
	size_t n_patterns;
	const char *hosts[CONFIG_MAX_ITEMS];
	size_t n_hosts;
	struct detect_alias aliases[CONFIG_MAX_ITEMS];
	size_t n_aliases;
	uint64_t window_us; /* 0: not set */
	uint64_t flows, reasm_memcap, reasm_dir_cap, reasm_depth, identities;
	unsigned set; /* CONFIG_SET_* bits: which limits the file gave */
};

enum {
	CONFIG_SET_FLOWS = 1,
	CONFIG_SET_MEMCAP = 2,
	CONFIG_SET_DIR_CAP = 4,
	CONFIG_SET_DEPTH = 8,
	CONFIG_SET_IDENTITIES = 16,
};

/* Reads `path` into *cfg (zeroed first).  On error returns a negative errno
 * and writes "path:line: what" to err. */
int config_load(const char *path, struct config *cfg, char *err, size_t errlen);
void config_release(struct config *cfg);

/* A size: decimal with an optional k, M or G suffix (powers of two). */
int config_parse_size(const char *s, uint64_t max, uint64_t *ret);
/* A duration: decimal with s, m, h or d (seconds when none). */
int config_parse_duration(const char *s, uint64_t *ret_us);

#endif /* MDM_CONFIG_H */
