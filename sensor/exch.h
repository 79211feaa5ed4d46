/*
 * exch.h — HTTP transactions to Exchange transactions.
 *
 * Consumes the events of one HTTP connection (http.h) and, with the pure
 * dissectors, says for each transaction: which Exchange endpoint (protocol),
 * what operation, who (user, auth), which device, what outcome — the row
 * DESIGN.md §3 calls a transaction — and whether it is an ActiveSync
 * refusal.
 *
 * Identity (DESIGN §3), first that applies:
 *   1. the transaction's own Authorization: NTLM or Negotiate-wrapped NTLM
 *      Type 3 (which also binds the user to the connection: NTLM
 *      authenticates connections, not requests), Basic, Bearer JWT;
 *   2. the user the connection's NTLM handshake authenticated earlier;
 *   3. the username field of an OWA forms login (POST .../auth.owa), and
 *      afterwards the session cookies its response set (owasess.h);
 *   4. ActiveSync's User= query parameter.
 * A Type 3 answered with 401 does not bind (the handshake failed).
 *
 * Emission: one call per transaction, when it is done (response seen, or
 * the connection ended).  RPC_IN_DATA / RPC_OUT_DATA declare gigabyte bodies
 * and live as long as the Outlook session: they are emitted at their request
 * headers (status 0, final false), again at their response headers (status
 * known, `evaluate` set) and once more, final, when done; the `row` slot
 * lets the sink tie the calls together.
 *
 * Memory: per open transaction (allocated only while it is open), copies of the request line and a few
 * headers (each capped at LIMIT_HTTP_HEADER_LINE_HARD) and at most
 * LIMIT_EXCH_SCAN_BYTES of the bodies that are scanned (EWS requests, OWA
 * logins, ActiveSync WBXML responses).  Open transactions per connection are
 * bounded by http.h's LIMIT_HTTP_TX_IN_FLIGHT.
 */
#ifndef MDM_EXCH_H
#define MDM_EXCH_H

#include <stdbool.h>
#include <stdint.h>

#include "http.h"

struct exch_conn;

struct exch_txn {
	uint64_t ts_us;     /* capture time of the request headers */
	uint64_t tx_index;  /* per connection, from 0 */
	const char *method; /* all strings NUL-terminated, borrowed for the call */
	const char *uri;    /* request-target as on the wire */
	const char *host;   /* NULL when absent */
	const char *user_agent;
	const char *user;                    /* normalised, NULL when unknown */
	const char *auth;                    /* basic|ntlm|negotiate|bearer|form|none */
	const char *protocol;                /* EAS, EWS ... or NULL (not an Exchange endpoint) */
	const char *operation;               /* NULL when unknown */
	const char *device_id, *device_type; /* ActiveSync, else NULL */
	int status;                          /* HTTP status, 0 when no response */
	int wbxml_status;                    /* ActiveSync top-level Status, -1 when none */
	bool eas_refusal;                    /* an ActiveSync refusal (DESIGN §3) */
	bool final;                          /* false: early emission (streaming methods) */
	bool evaluate;                       /* the outcome is known now, for the first time:
				* the one call the detector should look at */
};

/* `row` is a slot owned by the transaction: 0 on the first call for it; the
 * sink may store its own id there and will see it again on the later call. */
typedef void (*exch_txn_fn)(void *ctx, const struct exch_txn *t, int64_t *row);

/* A per-connection builder; `all_http` also emits non-Exchange
 * transactions (protocol NULL).  NULL on allocation failure. */
struct exch_conn *exch_conn_new(bool all_http, exch_txn_fn fn, void *ctx);

/* OWA forms sessions shared by all connections (owasess.h), borrowed; the
 * login response binds its cookies, later requests inherit the user. */
struct owa_sessions;
void exch_conn_set_owa_sessions(struct exch_conn *c, struct owa_sessions *t);

/* Frees; open transactions are dropped (free the http_conn first, which
 * closes them).  Accepts NULL. */
void exch_conn_free(struct exch_conn *c);

/* The http_event_fn to give http_conn_new(), with the exch_conn as ctx. */
void exch_http_event(void *ctx, const struct http_event *ev);

/* True for DESIGN §3's ActiveSync refusal outcomes, given the status, the
 * X-MS-ASThrottle presence, the method and the WBXML status (-1 if none). */
bool exch_is_eas_refusal(int status, bool throttled, const char *method, int wbxml_status);

#endif /* MDM_EXCH_H */
