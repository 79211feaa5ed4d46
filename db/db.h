/*
 * db.h — the SQLite alert database: schema, migrations, batched writes.
 *
 * The sensor's only way to reach SQLite.  Callers hand over plain row
 * structs; this module knows nothing of packets, flows or HTTP.  The schema
 * (DESIGN §3 "Database") is documented column by column, with example
 * queries, in db/SCHEMA.md.
 *
 * Ownership: every `const char *` in a row struct is borrowed for the call
 * only.  It is bound with SQLITE_TRANSIENT, i.e. copied before the function
 * returns, so the caller may free or reuse it immediately.  A NULL string is
 * stored as SQL NULL; a string is stored byte for byte up to its first NUL
 * (it is never parsed, quoted or re-encoded, so hostile User-Agents and URIs
 * are safe and come back exactly as they went in).  Lengths are bounded by
 * the HTTP header caps upstream (common/mdm_limits.h), not here.
 *
 * Time: every timestamp is microseconds since the Unix epoch (UTC) and is
 * stored as ISO-8601 text, `2026-11-28T22:24:35.123456Z` (db_format_ts()):
 * fixed width, so text order is time order and SQLite's date functions
 * (julianday(), datetime(), strftime()) accept it.
 *
 * Batching and the "committed within a second" contract: writes go into one
 * open SQLite transaction (the batch).  The batch is committed
 *   - as soon as it holds DB_BATCH_ROWS writes,
 *   - by db_tick() once the batch is DB_COMMIT_AGE_US old (or the clock was
 *     stepped backwards),
 *   - by db_flush() and db_close().
 * Nothing else commits, so the writer thread must call db_tick() at least
 * every DB_TICK_PERIOD_US; then every row is visible to readers (an
 * analyst's sqlite3, the golden tests) at most DB_COMMIT_AGE_US +
 * DB_TICK_PERIOD_US after the call that wrote it.  The detector's "alerts
 * are committed within a second" depends on this; it may also call
 * db_flush() right after writing an alert.  The batch age is measured
 * against CLOCK_REALTIME, the clock db_tick()'s `now_wall_us` must come from
 * (wall time, never capture time).
 *
 * Errors: functions return 0 (or a count) on success and a negative errno on
 * failure; they never print.  Each failure is counted in db_stats.errors and
 * its text is kept for db_errmsg().  A rejected row (a CHECK, NOT NULL or
 * foreign-key violation: -EINVAL) is dropped on its own; rows already in the
 * batch survive.  If SQLite abandons the batch (disk full, I/O error), its
 * rows are counted in db_stats.rows_lost.  Ids handed out by *_insert() are
 * never reused within a process, even for rows lost that way.
 *   -EINVAL   bad argument, or a value the schema refuses
 *   -ENOENT   the row to update does not exist
 *   -ERANGE   a timestamp after 9999-12-31T23:59:59.999999Z
 *   -EBUSY    another writer held the database past DB_BUSY_TIMEOUT_MS
 *   -EBADMSG  (open) not a database, corrupt, or not an mdmwatch database
 *   -ENOTSUP  (open) the schema is newer than this build knows
 *   -EROFS, -EACCES, -ENOSPC, -ENOMEM, -E2BIG, -EIO, or the errno of open(2)
 *
 * Threads: a struct db belongs to one thread at a time (the writer thread).
 */
#ifndef MDM_DB_H
#define MDM_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Schema version this build creates and understands (PRAGMA user_version). */
#define DB_SCHEMA_VERSION 1
/* PRAGMA application_id of an mdmwatch database: "mdmw". */
#define DB_APPLICATION_ID 0x6d646d77

/* Writes per batch.  One commit (an fsync of the WAL at synchronous=NORMAL
 * only on checkpoint, a write(2) otherwise) per 1000 rows keeps a busy
 * front-end pair (a few hundred transactions a second) far below 1% of a
 * core, and bounds the work lost to a crash between commits. */
#define DB_BATCH_ROWS 1000u
/* Age at which db_tick() commits a batch: the detector's contract. */
#define DB_COMMIT_AGE_US 1000000u
/* How often the writer must call db_tick() for the contract above. */
#define DB_TICK_PERIOD_US 100000u
/* How long a write waits for another writer (an analyst's sqlite3 doing an
 * UPDATE, a second sensor) before giving up with -EBUSY.  Readers never
 * block the writer in WAL mode; this only covers other writers. */
#define DB_BUSY_TIMEOUT_MS 5000
/* The WAL file is truncated back to this size after each checkpoint, so a
 * burst does not leave a huge -wal file behind on a months-long run. */
#define DB_WAL_SIZE_LIMIT (64 * 1024 * 1024)

/* db_format_ts() output: 27 characters and a NUL; the buffer is 32. */
#define DB_TS_SIZE 32
#define DB_TS_LEN  27
/* 9999-12-31T23:59:59.999999Z: the last time ISO-8601's four-digit year,
 * and so text ordering, can express. */
#define DB_TS_MAX_US UINT64_C(253402300799999999)

struct db;

/* One sensor run (table `runs`). */
struct db_run {
	const char *version; /* mdmwatch version, NOT NULL */
	const char *mode;    /* "live" or "offline", NOT NULL */
	const char *inputs;  /* caller-built: interface, or files one per line */
	uint64_t started_us; /* wall time the run started */
};

/* One named counter of a run (table `run_counters`). */
struct db_counter {
	const char *name; /* NOT NULL, e.g. "flows_evicted" */
	uint64_t value;   /* clamped to INT64_MAX */
};

/* db_flow.decrypted: zero (the default) means "not TLS", stored as NULL. */
enum db_decrypted {
	DB_DECRYPTED_NA = 0, /* plaintext flow: NULL */
	DB_DECRYPTED_NO,     /* TLS we could not decrypt: 0 (decrypt_note: why) */
	DB_DECRYPTED_YES,    /* TLS decrypted: 1 */
};

/* One HTTP or TLS flow to a watched server (table `flows`). */
struct db_flow {
	int64_t run_id;        /* runs.id, 0 = NULL */
	const char *client_ip; /* text form (inet_ntop), NOT NULL */
	uint16_t client_port;
	const char *server_ip; /* NOT NULL */
	uint16_t server_port;
	uint64_t first_seen_us; /* capture time */
	uint64_t last_seen_us;  /* >= first_seen_us */
	uint64_t pkts_c2s, pkts_s2c;
	uint64_t bytes_c2s, bytes_s2c;
	const char *app; /* nDPI protocol name */
	const char *sni, *alpn, *tls_version, *cipher, *ja3, *ja4;
	enum db_decrypted decrypted;
	const char *decrypt_note; /* why not decrypted, e.g. "no key" */
};

/* One HTTP transaction on an Exchange endpoint (table `transactions`). */
struct db_transaction {
	int64_t run_id;        /* runs.id, 0 = NULL */
	int64_t flow_id;       /* flows.id, 0 = NULL */
	uint64_t ts_us;        /* capture time of the request */
	const char *client_ip; /* NOT NULL */
	uint16_t client_port;
	const char *server_ip; /* NOT NULL */
	uint16_t server_port;
	const char *host, *method;
	const char *uri; /* request-target exactly as on the wire */
	int status;      /* HTTP status, 0 = no response (NULL) */
	const char *user_agent;
	const char *user;     /* normalised: lower case, no domain */
	const char *auth;     /* basic|ntlm|negotiate|bearer|form|none */
	const char *protocol; /* EAS|EWS|RPC|MAPI|OWA|AUTODISCOVER|OAB|ECP|POWERSHELL */
	const char *operation, *device_id, *device_type;
	bool tls; /* decrypted from TLS (1) or plaintext (0) */
};

/* One alert (table `alerts`). */
struct db_alert {
	int64_t run_id;         /* runs.id, 0 = NULL */
	uint64_t ts_us;         /* capture time the alert was raised */
	const char *severity;   /* "high" | "medium" | "low", NOT NULL */
	const char *rule;       /* NOT NULL */
	const char *matched_by; /* "user" | "client_ip" | NULL */
	const char *user, *client_ip, *device_id, *protocol, *user_agent;
	const char *summary;
	const char *remediation; /* the Set-CASMailbox line that closes the door */
	uint64_t first_seen_us, last_seen_us;
	uint64_t count; /* >= 1 */
};

/* Rows per table. */
struct db_rows {
	uint64_t runs, run_counters, flows, transactions, alerts, alert_evidence;
};

struct db_stats {
	struct db_rows inserted; /* committed inserts */
	uint64_t updated;        /* committed updates (status, flow, alert, run) */
	uint64_t commits;
	uint64_t errors;    /* calls that returned an error */
	uint64_t rows_lost; /* writes rolled back with an abandoned batch */
	uint64_t pending;   /* writes in the open batch right now */
};

/*
 * Opens (creating it if needed) the database at `path`, migrates it to
 * DB_SCHEMA_VERSION and prepares every statement.  On failure returns a
 * negative errno and, if `err` is not NULL, writes a message naming the file
 * and what is wrong into err[errlen].  *ret_db is written only on success;
 * release it with db_close().
 */
int db_open(const char *path, struct db **ret_db, char *err, size_t errlen);

/* Commits the batch, closes the database and frees `db` (NULL accepted).
 * Returns 0, or the commit's error (the database is closed anyway). */
int db_close(struct db *db);

/* Commits the batch if it is DB_COMMIT_AGE_US old at `now_wall_us`
 * (CLOCK_REALTIME microseconds).  Returns the number of writes committed
 * (0 if none were due) or a negative errno. */
int db_tick(struct db *db, uint64_t now_wall_us);

/* Commits the batch now.  Returns the number of writes committed. */
int db_flush(struct db *db);

/* Inserts a run; *ret_id is its runs.id. */
int db_run_begin(struct db *db, const struct db_run *run, int64_t *ret_id);

/* Sets runs.ended (0 = still running: NULL) and stores `n` counters in
 * run_counters (replacing earlier values of the same names, so it may be
 * called periodically) and, as a JSON object, in runs.counters. */
int db_run_end(struct db *db, int64_t run_id, uint64_t ended_us, const struct db_counter *counters,
               size_t n);

/* Inserts a flow; *ret_id is its flows.id, for db_transaction.flow_id. */
int db_flow_insert(struct db *db, const struct db_flow *flow, int64_t *ret_id);

/* Updates flow `id` from `flow`: last_seen and the packet and byte counts
 * always; app, sni, alpn, tls_version, cipher, ja3, ja4, decrypt_note and
 * decrypted only where `flow` has them (NULL / DB_DECRYPTED_NA keep the
 * stored value).  run_id, endpoints and first_seen are never changed. */
int db_flow_update(struct db *db, int64_t id, const struct db_flow *flow);

/* Inserts a transaction; *ret_id is its transactions.id. */
int db_transaction_insert(struct db *db, const struct db_transaction *txn, int64_t *ret_id);

/* Sets the HTTP status of transaction `id` (the response came later). */
int db_transaction_set_status(struct db *db, int64_t id, int status);

/* Inserts an alert; *ret_id is its alerts.id. */
int db_alert_insert(struct db *db, const struct db_alert *alert, int64_t *ret_id);

/* Records a later transaction of alert `id`: first_seen (an earlier capture
 * read later can move it back), last_seen and count. */
int db_alert_update(struct db *db, int64_t id, uint64_t first_seen_us, uint64_t last_seen_us,
                    uint64_t count);

/* Links a transaction to an alert; `role` is "refusal", "fallback" or NULL.
 * Linking the same pair twice is not an error (the first link stays). */
int db_alert_add_evidence(struct db *db, int64_t alert_id, int64_t transaction_id,
                          const char *role);

/* Copies the counters into *ret_stats. */
void db_get_stats(const struct db *db, struct db_stats *ret_stats);

/* Text of the last error, "" if none.  Borrowed: valid until the next call
 * on `db`. */
const char *db_errmsg(const struct db *db);

/* Formats `us` (microseconds since the epoch, UTC) as
 * `YYYY-MM-DDTHH:MM:SS.uuuuuuZ` into out (DB_TS_LEN characters and a NUL).
 * Returns 0, or -ERANGE after DB_TS_MAX_US (out is then ""). */
int db_format_ts(uint64_t us, char out[DB_TS_SIZE]);

#endif /* MDM_DB_H */
