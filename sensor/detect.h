/*
 * detect.h — the correlator: an ActiveSync refusal, then the same identity
 * getting in another way (DESIGN.md §3 "Detection").
 *
 * Rules:
 *   activesync-refused-then-{ews,rpc,mapi,owa}
 *       identity X is refused on ActiveSync at t0 and completes a successful
 *       (2xx) EWS, RPC, MAPI or OWA transaction at t1, t0 <= t1 <= t0+window.
 *       Identity: the same user; or, when the fallback carries no user, the
 *       same client address (matched_by says which).
 *       Severity: high when the fallback's User-Agent is not allowlisted;
 *       medium when it is allowlisted but comes from the refused client's own
 *       address (a borrowed Outlook string); no alert for an allowlisted
 *       client elsewhere (the user's own Outlook on a laptop).
 *   ews-unlisted-client (low)
 *       a successful EWS transaction from a User-Agent outside the allowlist,
 *       with no refusal of that identity in the window — the classic IIS-log
 *       hunt, as a standing rule.
 *
 * One alert per (identity, rule) per window: later fallbacks add evidence,
 * count and last_seen.  Events may arrive out of time order (several capture
 * files, the earlier one last): refusals and fallbacks are both remembered
 * for a window, and whichever comes second makes the match, so no alert
 * depends on the order of the files.  A fallback contributes to one alert
 * at most.
 *
 * Ownership: the detector is the one owner of correlation state; it copies
 * what it keeps from events.  Alerts passed to the sink are borrowed for the
 * call.  Memory: at most max_identities identities (least recently active
 * evicted, counted), each with DETECT_KEEP refusals and fallbacks; an
 * identity with no event in the last two windows (capture time) expires.
 */
#ifndef MDM_DETECT_H
#define MDM_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_KEEP 8 /* refusals and fallbacks remembered per identity */

struct detect;

struct detect_alias {
	const char *alias;     /* a name the person also uses (normalised) */
	const char *canonical; /* the name alerts use */
};

struct detect_config {
	uint64_t window_us;
	const char *const *allow; /* extra User-Agent patterns (Exchange syntax) */
	size_t n_allow;
	const struct detect_alias *aliases;
	size_t n_aliases;
	uint32_t max_identities;
};

/* One Exchange transaction whose outcome is known. */
struct detect_event {
	uint64_t ts_us;
	const char *user;       /* normalised, NULL when unknown */
	const char *client_ip;  /* text, NOT NULL */
	const char *device_id;  /* NULL */
	const char *protocol;   /* "EAS", "EWS" ..., NOT NULL */
	const char *operation;  /* NULL */
	const char *user_agent; /* NULL */
	int status;
	bool eas_refusal;
	int64_t txn_row; /* the sink's transaction id, for evidence (0: none) */
};

struct detect_alert {
	bool is_new;          /* false: an update of an earlier alert */
	int64_t *sink_slot;   /* the sink's id for this alert (0 when new) */
	const char *severity; /* "high" | "medium" | "low" */
	const char *rule;
	const char *matched_by; /* "user" | "client_ip" */
	const char *user;       /* NULL for address-only matches */
	const char *client_ip;  /* where the fallback came from */
	const char *device_id;  /* the refused device, NULL if unknown */
	const char *protocol;   /* of the fallback */
	const char *user_agent; /* of the fallback */
	const char *summary;
	const char *remediation;
	uint64_t ts_us; /* when raised (capture time of the event that raised it) */
	uint64_t first_seen_us, last_seen_us, count;
	int64_t refusal_row, fallback_row; /* evidence to link (0: none) */
};

typedef void (*detect_alert_fn)(void *ctx, const struct detect_alert *a);

struct detect_stats {
	uint64_t events;
	uint64_t refusals;
	uint64_t fallbacks; /* successful EWS/RPC/MAPI/OWA transactions */
	uint64_t alerts[3]; /* new alerts: high, medium, low */
	uint64_t updates;
	uint64_t identities;
	uint64_t evicted; /* forgotten for the cap */
	uint64_t expired; /* forgotten two windows after their last event */
};

/* 0 for "high", 1 for "medium", 2 for "low": the index of
 * detect_stats.alerts, and the order alerts are ranked in. */
int detect_severity_rank(const char *severity);

/* Defaults: 24 h window, built-in allowlist only, LIMIT_DETECT_IDENTITIES. */
void detect_config_default(struct detect_config *cfg);

/* Copies the configuration (patterns and aliases too).  NULL on failure. */
struct detect *detect_new(const struct detect_config *cfg, detect_alert_fn fn, void *ctx);
void detect_free(struct detect *d); /* accepts NULL */

void detect_event(struct detect *d, const struct detect_event *ev);

const struct detect_stats *detect_stats(const struct detect *d);

/*
 * Exchange EwsApplicationAccessPolicy matching: built-in Outlook
 * ("Microsoft Office Outlook", "Microsoft Outlook" anywhere), Outlook for Mac
 * ("MacOutlook"), Entourage ("Microsoft-Entourage"), Outlook's RPC client
 * ("MSRPC", for RPC only), and the configured patterns: "*x*" contains,
 * "x*" starts with, "*x" ends with, anything else the whole string;
 * case-insensitive, as Exchange compares.
 */
bool detect_ua_allowed(const struct detect *d, const char *ua, const char *protocol);

/* True when `pattern` is a valid allowlist pattern (non-empty, '*' only at
 * the ends), for config checking. */
bool detect_pattern_valid(const char *pattern);

#endif /* MDM_DETECT_H */
