/*
 * schema.c — the mdmwatch database schema, as ordered migration steps.
 *
 * DESIGN §3 "Database" is the contract; db/SCHEMA.md documents every column
 * for analysts.  See schema.h for the rules on steps (append-only).
 *
 * Choices made here, and why:
 *   - Timestamps are fixed-width ISO-8601 UTC text with microseconds.  A
 *     GLOB CHECK holds every one to that shape, so `ts >= '2026-11-28'`
 *     and ORDER BY ts are always right and julianday(ts) always parses.
 *   - Enumerations (protocol, auth, severity, mode, ...) are CHECKed: an
 *     analyst grouping by protocol can trust there are only the documented
 *     values.  A row that breaks one is refused (the API returns -EINVAL and
 *     counts it) rather than stored wrong.  Free-form fields (method, uri,
 *     user_agent, ...) are never constrained: they are evidence, stored
 *     verbatim whatever an attacker put in them.
 *   - Run counters are rows in run_counters (run_id, name, value) so that
 *     "which runs dropped anything" is a plain WHERE on an indexed integer,
 *     works in any sqlite3 shell (no JSON1 needed) and cannot be mistyped
 *     into a string.  runs.counters keeps the same values as one JSON
 *     object (DESIGN's column), built by SQLite from run_counters when the
 *     run ends, for a one-glance `SELECT counters FROM runs`.
 *   - No STRICT tables: they need sqlite3 >= 3.37 to even open the file,
 *     and analysts copy databases to older machines.  Types are enforced
 *     by the API (every value is bound with its type) and the CHECKs.
 *   - Foreign keys are declared (the writer runs with foreign_keys=ON) so a
 *     transaction can only name a flow or run that exists, and an alert's
 *     evidence only transactions that exist.
 *   - Indexes serve the queries analysts run (db/SCHEMA.md): by user, by
 *     client_ip, by protocol, by time, and the foreign-key joins.  Each costs
 *     a little per insert; at Exchange request rates that is negligible.
 *   - Column names avoid SQL keywords (`matched_by`, not `match`) so
 *     analysts never have to quote them.
 */
#include "schema.h"

/* clang-format off */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define TS_GLOB "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z'"
#define TS_CHECK(col) "CHECK (" col " GLOB " TS_GLOB ")"
#define PORT_CHECK(col) "CHECK (" col " BETWEEN 0 AND 65535)"
#define PROTOCOL_CHECK                                                                \
	"CHECK (protocol IS NULL OR protocol IN ('EAS', 'EWS', 'RPC', 'MAPI', 'OWA', " \
	"'AUTODISCOVER', 'OAB', 'ECP', 'POWERSHELL'))"

/* v0 -> v1: everything in DESIGN §3. */
static const char *const schema_v1[] = {
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" version TEXT NOT NULL,"
	" mode TEXT NOT NULL CHECK (mode IN ('live', 'offline')),"
	" inputs TEXT,"
	" started TEXT NOT NULL " TS_CHECK("started") ","
	" ended TEXT " TS_CHECK("ended") ","
	" counters TEXT"
	")",

	"CREATE TABLE run_counters ("
	" run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" value INTEGER NOT NULL CHECK (value >= 0),"
	" PRIMARY KEY (run_id, name)"
	") WITHOUT ROWID",

	"CREATE TABLE flows ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER REFERENCES runs (id),"
	" client_ip TEXT NOT NULL,"
	" client_port INTEGER NOT NULL " PORT_CHECK("client_port") ","
	" server_ip TEXT NOT NULL,"
	" server_port INTEGER NOT NULL " PORT_CHECK("server_port") ","
	" first_seen TEXT NOT NULL " TS_CHECK("first_seen") ","
	" last_seen TEXT NOT NULL " TS_CHECK("last_seen") ","
	" pkts_c2s INTEGER NOT NULL CHECK (pkts_c2s >= 0),"
	" pkts_s2c INTEGER NOT NULL CHECK (pkts_s2c >= 0),"
	" bytes_c2s INTEGER NOT NULL CHECK (bytes_c2s >= 0),"
	" bytes_s2c INTEGER NOT NULL CHECK (bytes_s2c >= 0),"
	" app TEXT,"
	" sni TEXT,"
	" alpn TEXT,"
	" tls_version TEXT,"
	" cipher TEXT,"
	" ja3 TEXT,"
	" ja4 TEXT,"
	" decrypted INTEGER CHECK (decrypted IS NULL OR decrypted IN (0, 1)),"
	" decrypt_note TEXT,"
	" CHECK (last_seen >= first_seen)"
	")",

	"CREATE TABLE transactions ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER REFERENCES runs (id),"
	" ts TEXT NOT NULL " TS_CHECK("ts") ","
	" client_ip TEXT NOT NULL,"
	" client_port INTEGER NOT NULL " PORT_CHECK("client_port") ","
	" server_ip TEXT NOT NULL,"
	" server_port INTEGER NOT NULL " PORT_CHECK("server_port") ","
	" host TEXT,"
	" method TEXT,"
	" uri TEXT,"
	" status INTEGER CHECK (status IS NULL OR status BETWEEN 100 AND 999),"
	" user_agent TEXT,"
	" user TEXT,"
	" auth TEXT CHECK (auth IS NULL OR auth IN ('basic', 'ntlm', 'negotiate', 'bearer',"
	" 'form', 'none')),"
	" protocol TEXT " PROTOCOL_CHECK ","
	" operation TEXT,"
	" device_id TEXT,"
	" device_type TEXT,"
	" tls INTEGER NOT NULL CHECK (tls IN (0, 1)),"
	" flow_id INTEGER REFERENCES flows (id)"
	")",

	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY,"
	" run_id INTEGER REFERENCES runs (id),"
	" ts TEXT NOT NULL " TS_CHECK("ts") ","
	" severity TEXT NOT NULL CHECK (severity IN ('high', 'medium', 'low')),"
	" rule TEXT NOT NULL,"
	" matched_by TEXT CHECK (matched_by IS NULL OR matched_by IN ('user', 'client_ip')),"
	" user TEXT,"
	" client_ip TEXT,"
	" device_id TEXT,"
	" protocol TEXT " PROTOCOL_CHECK ","
	" user_agent TEXT,"
	" summary TEXT,"
	" remediation TEXT,"
	" first_seen TEXT NOT NULL " TS_CHECK("first_seen") ","
	" last_seen TEXT NOT NULL " TS_CHECK("last_seen") ","
	" count INTEGER NOT NULL CHECK (count >= 1),"
	" CHECK (last_seen >= first_seen)"
	")",

	"CREATE TABLE alert_evidence ("
	" alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,"
	" transaction_id INTEGER NOT NULL REFERENCES transactions (id),"
	" role TEXT CHECK (role IS NULL OR role IN ('refusal', 'fallback')),"
	" PRIMARY KEY (alert_id, transaction_id)"
	") WITHOUT ROWID",

	"CREATE INDEX transactions_ts ON transactions (ts)",
	"CREATE INDEX transactions_user ON transactions (user, ts)",
	"CREATE INDEX transactions_client_ip ON transactions (client_ip, ts)",
	"CREATE INDEX transactions_protocol ON transactions (protocol, ts)",
	"CREATE INDEX transactions_flow ON transactions (flow_id)",
	"CREATE INDEX transactions_run ON transactions (run_id)",
	"CREATE INDEX flows_client_ip ON flows (client_ip, first_seen)",
	"CREATE INDEX flows_first_seen ON flows (first_seen)",
	"CREATE INDEX flows_run ON flows (run_id)",
	"CREATE INDEX alerts_ts ON alerts (ts)",
	"CREATE INDEX alerts_user ON alerts (user, ts)",
	"CREATE INDEX alerts_client_ip ON alerts (client_ip, ts)",
	"CREATE INDEX alerts_run ON alerts (run_id)",
	"CREATE INDEX alert_evidence_transaction ON alert_evidence (transaction_id)",

	/* Every alert with its evidence inline, one transaction per line in
	 * time order: what an analyst reads first. */
	"CREATE VIEW v_alerts AS SELECT a.id, a.severity, a.rule, a.matched_by, a.user,"
	" a.client_ip, a.device_id, a.protocol, a.user_agent, a.first_seen, a.last_seen,"
	" a.count, a.summary, a.remediation,"
	" (SELECT group_concat(line, char(10)) FROM (SELECT COALESCE(e.role, '?') || ' '"
	"   || t.ts || ' ' || t.client_ip || ' ' || t.method || ' ' || t.uri || ' -> '"
	"   || COALESCE(t.status, '-') || ' ' || COALESCE(t.user_agent, '') AS line"
	"   FROM alert_evidence e JOIN transactions t ON t.id = e.transaction_id"
	"   WHERE e.alert_id = a.id ORDER BY t.ts, t.id)) AS evidence,"
	" a.run_id"
	" FROM alerts a",

	/* Who bypassed, by user (or address when no user was seen): how many
	 * alerts, over which protocols, the worst severity, first and last. */
	"CREATE VIEW v_bypass_by_user AS SELECT COALESCE(user, 'address ' || client_ip) AS who,"
	" COUNT(*) AS alerts, SUM(count) AS fallbacks,"
	" group_concat(DISTINCT protocol) AS protocols,"
	" CASE MIN(CASE severity WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END)"
	"  WHEN 1 THEN 'high' WHEN 2 THEN 'medium' ELSE 'low' END AS worst,"
	" MIN(first_seen) AS first_seen, MAX(last_seen) AS last_seen"
	" FROM alerts WHERE rule LIKE 'activesync-refused-then-%'"
	" GROUP BY who ORDER BY last_seen DESC",
	NULL,
};

/* clang-format on */

const char *const *const schema_steps[] = {
    schema_v1,
};

const size_t schema_nsteps = ARRAY_SIZE(schema_steps);
