/*
 * db.c — the database writer: prepared statements and batched writes.
 *
 * Contract: db.h (ownership of strings, batching and the one-second commit
 * contract, error codes).  Opening, identification and schema migrations
 * are migrate.c; the schema is schema.c, documented in db/SCHEMA.md.
 *
 * Every statement the writer runs is prepared once in db_open() (table
 * stmt_sql[]) and reused with bound parameters: no SQL text is ever built
 * from data, so quotes, NULs or 64 KiB of garbage in a User-Agent are just
 * bytes.
 *
 * Ids: every insert binds its id explicitly from next_id[] instead of
 * letting SQLite pick max(rowid) + 1.  If a batch is lost (disk full), the
 * ids handed out for its rows are therefore never given to other rows, so a
 * caller holding a stale id gets -ENOENT or a foreign-key error, never
 * someone else's row.  next_id[] is raised to MAX(id) + 1 at the start of
 * every batch, in case another writer (a second sensor) added rows.
 *
 * Invariants:
 *   - in_txn is true exactly when SQLite has our batch transaction open
 *     (checked after every failed statement: SQLite may have rolled back);
 *   - when !in_txn, pending == 0 and the batch counters are zero;
 *   - next_id[t] is above every id of table t committed or handed out;
 *   - every statement in st[] is reset and unbound after each use.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "migrate.h"
#include "sqlerr.h"

_Static_assert(sizeof(time_t) >= 8, "timestamps after 2038 need a 64-bit time_t");

enum stmt_id {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_NEXT_RUN_ID,
	ST_NEXT_FLOW_ID,
	ST_NEXT_TXN_ID,
	ST_NEXT_ALERT_ID,
	ST_RUN_INSERT,
	ST_RUN_END,
	ST_RUN_COUNTER,
	ST_RUN_COUNTERS_JSON,
	ST_FLOW_INSERT,
	ST_FLOW_UPDATE,
	ST_TXN_INSERT,
	ST_TXN_STATUS,
	ST_ALERT_INSERT,
	ST_ALERT_UPDATE,
	ST_EVIDENCE_INSERT,
	ST__MAX,
};

/* clang-format off */
static const char *const stmt_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_NEXT_RUN_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM runs",
	[ST_NEXT_FLOW_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM flows",
	[ST_NEXT_TXN_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM transactions",
	[ST_NEXT_ALERT_ID] = "SELECT COALESCE(MAX(id), 0) + 1 FROM alerts",
	[ST_RUN_INSERT] = "INSERT INTO runs (id, version, mode, inputs, started)"
			  " VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_RUN_END] = "UPDATE runs SET ended = ?2 WHERE id = ?1",
	[ST_RUN_COUNTER] = "INSERT INTO run_counters (run_id, name, value) VALUES (?1, ?2, ?3)"
			   " ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value",
	[ST_RUN_COUNTERS_JSON] = "UPDATE runs SET counters = (SELECT json_group_object(name, value)"
				 " FROM (SELECT name, value FROM run_counters"
				 " WHERE run_id = ?1 ORDER BY name)) WHERE id = ?1",
	[ST_FLOW_INSERT] = "INSERT INTO flows (id, run_id, client_ip, client_port, server_ip,"
			   " server_port, first_seen, last_seen, pkts_c2s, pkts_s2c, bytes_c2s,"
			   " bytes_s2c, app, sni, alpn, tls_version, cipher, ja3, ja4, decrypted,"
			   " decrypt_note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
			   " ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
	[ST_FLOW_UPDATE] = "UPDATE flows SET last_seen = ?2, pkts_c2s = ?3, pkts_s2c = ?4,"
			   " bytes_c2s = ?5, bytes_s2c = ?6, app = COALESCE(?7, app),"
			   " sni = COALESCE(?8, sni), alpn = COALESCE(?9, alpn),"
			   " tls_version = COALESCE(?10, tls_version),"
			   " cipher = COALESCE(?11, cipher), ja3 = COALESCE(?12, ja3),"
			   " ja4 = COALESCE(?13, ja4), decrypted = COALESCE(?14, decrypted),"
			   " decrypt_note = COALESCE(?15, decrypt_note) WHERE id = ?1",
	[ST_TXN_INSERT] = "INSERT INTO transactions (id, run_id, ts, client_ip, client_port,"
			  " server_ip, server_port, host, method, uri, status, user_agent, user,"
			  " auth, protocol, operation, device_id, device_type, tls, flow_id)"
			  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
			  " ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
	[ST_TXN_STATUS] = "UPDATE transactions SET status = ?2 WHERE id = ?1",
	[ST_ALERT_INSERT] = "INSERT INTO alerts (id, run_id, ts, severity, rule, matched_by, user,"
			    " client_ip, device_id, protocol, user_agent, summary, remediation,"
			    " first_seen, last_seen, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
	[ST_ALERT_UPDATE] = "UPDATE alerts SET first_seen = ?2, last_seen = ?3, count = ?4"
			    " WHERE id = ?1",
	[ST_EVIDENCE_INSERT] = "INSERT INTO alert_evidence (alert_id, transaction_id, role)"
			       " VALUES (?1, ?2, ?3)"
			       " ON CONFLICT (alert_id, transaction_id) DO NOTHING",
};
/* clang-format on */

/* Tables whose ids the API hands out, and the query for each one's next id. */
enum id_table {
	ID_RUNS,
	ID_FLOWS,
	ID_TRANSACTIONS,
	ID_ALERTS,
	ID__MAX,
};

static const enum stmt_id next_id_stmt[ID__MAX] = {
    [ID_RUNS] = ST_NEXT_RUN_ID,
    [ID_FLOWS] = ST_NEXT_FLOW_ID,
    [ID_TRANSACTIONS] = ST_NEXT_TXN_ID,
    [ID_ALERTS] = ST_NEXT_ALERT_ID,
};

struct db {
	sqlite3 *sql;
	sqlite3_stmt *st[ST__MAX];
	int64_t next_id[ID__MAX];

	/* The batch: the open transaction and what it holds. */
	bool in_txn;
	uint64_t batch_start_us; /* CLOCK_REALTIME at BEGIN */
	uint64_t pending;        /* writes in the batch */
	struct db_rows batch_inserted;
	uint64_t batch_updated;

	struct db_stats stats; /* pending is filled in by db_get_stats() */
	char errmsg[256];
};

/*
 * Errors.
 */

/* Counts a failed write, keeps its text for db_errmsg() and returns `r`. */
static int write_failed(struct db *db, int r, const char *what, const char *why)
{
	char buf[64];

	if (!why)
		why = strerror_r(-r, buf, sizeof(buf));
	db->stats.errors++;
	snprintf(db->errmsg, sizeof(db->errmsg), "%s: %s", what, why);
	return r;
}

/*
 * Binding.  A binder fills a statement's parameters left to right (?1, ?2,
 * ...) and keeps the first error, like buf.h's sticky flag, so a row is
 * bound in a straight line and checked once.
 */

struct binder {
	sqlite3_stmt *st;
	int idx;
	int err;         /* first negative errno */
	const char *why; /* static text for err, or NULL */
};

static struct binder binder_init(struct db *db, enum stmt_id id)
{
	struct binder b = {.st = db->st[id], .idx = 1, .err = 0, .why = NULL};
	return b;
}

static void bind_rc(struct binder *b, int rc)
{
	if (rc != SQLITE_OK && b->err == 0)
		b->err = sqlerr_errno(rc);
	b->idx++;
}

static void bind_fail(struct binder *b, int err, const char *why)
{
	if (b->err == 0) {
		b->err = err;
		b->why = why;
	}
	b->idx++;
}

static void bind_null(struct binder *b)
{
	bind_rc(b, sqlite3_bind_null(b->st, b->idx));
}

static void bind_i64(struct binder *b, int64_t v)
{
	bind_rc(b, sqlite3_bind_int64(b->st, b->idx, v));
}

/* SQLite integers are signed 64-bit; counters beyond that saturate. */
static void bind_u64(struct binder *b, uint64_t v)
{
	bind_i64(b, v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

/* NULL stays NULL; otherwise copied (SQLITE_TRANSIENT) up to its NUL. */
static void bind_text(struct binder *b, const char *s)
{
	if (!s)
		bind_null(b);
	else
		bind_rc(b, sqlite3_bind_text(b->st, b->idx, s, -1, SQLITE_TRANSIENT));
}

/* A reference to another row: 0 is "none" (NULL); ids are positive. */
static void bind_ref(struct binder *b, int64_t id)
{
	if (id < 0)
		bind_fail(b, -EINVAL, "negative row id");
	else if (id == 0)
		bind_null(b);
	else
		bind_i64(b, id);
}

static void bind_ts(struct binder *b, uint64_t us)
{
	char ts[DB_TS_SIZE];

	if (db_format_ts(us, ts) < 0)
		bind_fail(b, -ERANGE, "timestamp after year 9999");
	else
		bind_rc(b, sqlite3_bind_text(b->st, b->idx, ts, DB_TS_LEN, SQLITE_TRANSIENT));
}

/* 0 is "not yet" (NULL). */
static void bind_ts_opt(struct binder *b, uint64_t us)
{
	if (us == 0)
		bind_null(b);
	else
		bind_ts(b, us);
}

static void bind_decrypted(struct binder *b, enum db_decrypted d)
{
	switch (d) {
	case DB_DECRYPTED_NA:
		bind_null(b);
		break;
	case DB_DECRYPTED_NO:
		bind_i64(b, 0);
		break;
	case DB_DECRYPTED_YES:
		bind_i64(b, 1);
		break;
	default:
		bind_fail(b, -EINVAL, "bad decrypted value");
		break;
	}
}

/*
 * Statements and the batch.
 */

static void batch_lost(struct db *db)
{
	db->stats.rows_lost += db->pending;
	db->pending = 0;
	db->batch_updated = 0;
	memset(&db->batch_inserted, 0, sizeof(db->batch_inserted));
	db->in_txn = false;
}

/*
 * Runs a bound write statement to completion, then resets and unbinds it.
 * Returns 0 or a negative errno (counted); *ret_changes gets the number of
 * rows changed.  If SQLite rolled the batch back, its rows are lost.
 */
static int stmt_run(struct db *db, struct binder *b, const char *what, int *ret_changes)
{
	const char *why = b->why;
	int r = b->err, rc;

	/* Every parameter bound, no more: stmt_sql and the binder agree. */
	assert(r != 0 || b->idx - 1 == sqlite3_bind_parameter_count(b->st));
	if (r == 0) {
		rc = sqlite3_step(b->st);
		r = rc == SQLITE_DONE ? 0 : sqlerr_errno(rc);
		if (r == 0 && rc != SQLITE_DONE)
			r = -EIO; /* a row from a write statement: a bug in stmt_sql */
		if (r < 0)
			why = sqlite3_errmsg(db->sql);
	}
	if (r < 0)
		write_failed(db, r, what, why);
	sqlite3_reset(b->st);
	sqlite3_clear_bindings(b->st);
	if (r < 0) {
		if (db->in_txn && sqlite3_get_autocommit(db->sql))
			batch_lost(db);
		return r;
	}
	if (ret_changes)
		*ret_changes = sqlite3_changes(db->sql);
	return 0;
}

/* Runs a one-value query statement (no parameters) into *ret_v. */
static int stmt_query_i64(struct db *db, enum stmt_id id, int64_t *ret_v)
{
	sqlite3_stmt *st = db->st[id];
	int rc = sqlite3_step(st), r = 0;

	if (rc == SQLITE_ROW)
		*ret_v = sqlite3_column_int64(st, 0);
	else
		r = write_failed(db, rc == SQLITE_DONE ? -EIO : sqlerr_errno(rc), stmt_sql[id],
		                 sqlite3_errmsg(db->sql));
	sqlite3_reset(st);
	return r;
}

static uint64_t wall_now_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Opens a batch unless one is open, and brings next_id[] up to date. */
static int batch_open(struct db *db)
{
	struct binder b = binder_init(db, ST_BEGIN);
	int64_t next = 0;
	size_t i;
	int r;

	if (db->in_txn)
		return 0;
	if (!sqlite3_get_autocommit(db->sql)) { /* a failed ROLLBACK left one open */
		b = binder_init(db, ST_ROLLBACK);
		stmt_run(db, &b, "rollback", NULL);
		b = binder_init(db, ST_BEGIN);
	}
	r = stmt_run(db, &b, "begin", NULL);
	if (r < 0)
		return r;
	db->in_txn = true;
	db->batch_start_us = wall_now_us();
	for (i = 0; i < ID__MAX; i++) {
		r = stmt_query_i64(db, next_id_stmt[i], &next);
		if (r < 0)
			return r;
		if (next > db->next_id[i])
			db->next_id[i] = next;
	}
	return 0;
}

static void rows_add(struct db_rows *to, const struct db_rows *from)
{
	to->runs += from->runs;
	to->run_counters += from->run_counters;
	to->flows += from->flows;
	to->transactions += from->transactions;
	to->alerts += from->alerts;
	to->alert_evidence += from->alert_evidence;
}

/* Commits the batch.  Returns the number of writes committed, or a
 * negative errno.  On -EBUSY the batch stays open for the next try; on any
 * other failure it is rolled back and its rows are counted as lost. */
static int batch_commit(struct db *db)
{
	struct binder b = binder_init(db, ST_COMMIT);
	uint64_t n = db->pending;
	int r;

	if (!db->in_txn)
		return 0;
	r = stmt_run(db, &b, "commit", NULL);
	if (r < 0) {
		if (db->in_txn && r != -EBUSY) {
			b = binder_init(db, ST_ROLLBACK);
			stmt_run(db, &b, "rollback", NULL);
			batch_lost(db);
		}
		return r;
	}
	rows_add(&db->stats.inserted, &db->batch_inserted);
	db->stats.updated += db->batch_updated;
	db->stats.commits++;
	db->pending = 0;
	db->batch_updated = 0;
	memset(&db->batch_inserted, 0, sizeof(db->batch_inserted));
	db->in_txn = false;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

/* Accounts one successful write in the batch; commits a full batch. */
static int batch_added(struct db *db, uint64_t *counter)
{
	int r;

	(*counter)++;
	db->pending++;
	if (db->pending < DB_BATCH_ROWS)
		return 0;
	r = batch_commit(db);
	return r < 0 ? r : 0;
}

/* After a successful INSERT of row `id` into table `t`. */
static int row_inserted(struct db *db, enum id_table t, uint64_t *counter, int64_t id,
                        int64_t *ret_id)
{
	int r;

	db->next_id[t] = id + 1; /* even if the batch is lost below */
	r = batch_added(db, counter);
	if (r < 0)
		return r;
	*ret_id = id;
	return 0;
}

/* After a successful UPDATE that changed `changes` rows. */
static int row_updated(struct db *db, int changes, const char *what)
{
	if (changes == 0)
		return write_failed(db, -ENOENT, what, "no such row");
	return batch_added(db, &db->batch_updated);
}

static int bad_argument(struct db *db, const char *what)
{
	return write_failed(db, -EINVAL, what, "invalid argument");
}

/*
 * Opening.
 */

static int prepare_all(struct db *db, const char *path, char *err, size_t errlen)
{
	size_t i;
	int rc;

	for (i = 0; i < ST__MAX; i++) {
		rc = sqlite3_prepare_v3(db->sql, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                        &db->st[i], NULL);
		if (rc != SQLITE_OK) {
			if (err && errlen > 0)
				snprintf(err, errlen,
				         "database '%s': cannot prepare statement %zu: %s", path, i,
				         sqlite3_errmsg(db->sql));
			return sqlerr_errno(rc);
		}
	}
	return 0;
}

/* Frees everything without committing (SQLite rolls an open batch back). */
static void db_free(struct db *db)
{
	size_t i;

	if (!db)
		return;
	for (i = 0; i < ST__MAX; i++)
		sqlite3_finalize(db->st[i]);
	sqlite3_close(db->sql);
	free(db);
}

int db_open(const char *path, struct db **ret_db, char *err, size_t errlen)
{
	struct db *db = NULL;
	size_t i;
	int r;

	if (err && errlen > 0)
		err[0] = '\0';
	if (!path || !*path || !ret_db) {
		if (err && errlen > 0)
			snprintf(err, errlen, "no database file given");
		return -EINVAL;
	}
	db = calloc(1, sizeof(*db));
	if (!db) {
		if (err && errlen > 0)
			snprintf(err, errlen, "cannot open database '%s': out of memory", path);
		return -ENOMEM;
	}
	for (i = 0; i < ID__MAX; i++)
		db->next_id[i] = 1;
	r = migrate_open(path, &db->sql, err, errlen);
	if (r == 0)
		r = prepare_all(db, path, err, errlen);
	if (r < 0)
		goto cleanup;
	*ret_db = db;
	db = NULL;
cleanup:
	db_free(db);
	return r;
}

int db_close(struct db *db)
{
	int r = 0;

	if (!db)
		return 0;
	if (db->in_txn) {
		r = batch_commit(db);
		if (db->in_txn) /* -EBUSY even after the busy timeout */
			batch_lost(db);
	}
	/* Lets SQLite refresh its planner statistics (cheap; see its docs). */
	sqlite3_exec(db->sql, "PRAGMA optimize", NULL, NULL, NULL);
	db_free(db);
	return r < 0 ? r : 0;
}

int db_tick(struct db *db, uint64_t now_wall_us)
{
	if (!db)
		return -EINVAL;
	if (!db->in_txn)
		return 0;
	/* A clock stepped backwards commits rather than waiting for it. */
	if (now_wall_us >= db->batch_start_us &&
	    now_wall_us - db->batch_start_us < DB_COMMIT_AGE_US)
		return 0;
	return batch_commit(db);
}

int db_flush(struct db *db)
{
	if (!db)
		return -EINVAL;
	return batch_commit(db);
}

/*
 * Rows.
 */

int db_run_begin(struct db *db, const struct db_run *run, int64_t *ret_id)
{
	struct binder b;
	int64_t id;
	int r;

	if (!db)
		return -EINVAL;
	if (!run || !ret_id)
		return bad_argument(db, "insert into runs");
	r = batch_open(db);
	if (r < 0)
		return r;
	id = db->next_id[ID_RUNS];
	b = binder_init(db, ST_RUN_INSERT);
	bind_i64(&b, id);
	bind_text(&b, run->version);
	bind_text(&b, run->mode);
	bind_text(&b, run->inputs);
	bind_ts(&b, run->started_us);
	r = stmt_run(db, &b, "insert into runs", NULL);
	if (r < 0)
		return r;
	return row_inserted(db, ID_RUNS, &db->batch_inserted.runs, id, ret_id);
}

static int run_counter(struct db *db, int64_t run_id, const struct db_counter *c)
{
	struct binder b;
	int r;

	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_RUN_COUNTER);
	bind_i64(&b, run_id);
	bind_text(&b, c->name);
	bind_u64(&b, c->value);
	r = stmt_run(db, &b, "insert into run_counters", NULL);
	if (r < 0)
		return r;
	return batch_added(db, &db->batch_inserted.run_counters);
}

int db_run_end(struct db *db, int64_t run_id, uint64_t ended_us, const struct db_counter *counters,
               size_t n)
{
	struct binder b;
	int changes = 0, r;
	size_t i;

	if (!db)
		return -EINVAL;
	if (run_id <= 0 || (n > 0 && !counters))
		return bad_argument(db, "end run");
	for (i = 0; i < n; i++)
		if (!counters[i].name)
			return bad_argument(db, "end run: counter without a name");
	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_RUN_END);
	bind_i64(&b, run_id);
	bind_ts_opt(&b, ended_us);
	r = stmt_run(db, &b, "end run", &changes);
	if (r == 0)
		r = row_updated(db, changes, "end run");
	for (i = 0; r == 0 && i < n; i++)
		r = run_counter(db, run_id, &counters[i]);
	if (r == 0)
		r = batch_open(db);
	if (r < 0)
		return r;
	/* Not counted as a write of its own: it completes the update above. */
	b = binder_init(db, ST_RUN_COUNTERS_JSON);
	bind_i64(&b, run_id);
	return stmt_run(db, &b, "store run counters", NULL);
}

int db_flow_insert(struct db *db, const struct db_flow *f, int64_t *ret_id)
{
	struct binder b;
	int64_t id;
	int r;

	if (!db)
		return -EINVAL;
	if (!f || !ret_id)
		return bad_argument(db, "insert into flows");
	r = batch_open(db);
	if (r < 0)
		return r;
	id = db->next_id[ID_FLOWS];
	b = binder_init(db, ST_FLOW_INSERT);
	bind_i64(&b, id);
	bind_ref(&b, f->run_id);
	bind_text(&b, f->client_ip);
	bind_i64(&b, f->client_port);
	bind_text(&b, f->server_ip);
	bind_i64(&b, f->server_port);
	bind_ts(&b, f->first_seen_us);
	bind_ts(&b, f->last_seen_us);
	bind_u64(&b, f->pkts_c2s);
	bind_u64(&b, f->pkts_s2c);
	bind_u64(&b, f->bytes_c2s);
	bind_u64(&b, f->bytes_s2c);
	bind_text(&b, f->app);
	bind_text(&b, f->sni);
	bind_text(&b, f->alpn);
	bind_text(&b, f->tls_version);
	bind_text(&b, f->cipher);
	bind_text(&b, f->ja3);
	bind_text(&b, f->ja4);
	bind_decrypted(&b, f->decrypted);
	bind_text(&b, f->decrypt_note);
	r = stmt_run(db, &b, "insert into flows", NULL);
	if (r < 0)
		return r;
	return row_inserted(db, ID_FLOWS, &db->batch_inserted.flows, id, ret_id);
}

int db_flow_update(struct db *db, int64_t id, const struct db_flow *f)
{
	struct binder b;
	int changes = 0, r;

	if (!db)
		return -EINVAL;
	if (!f || id <= 0)
		return bad_argument(db, "update flows");
	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_FLOW_UPDATE);
	bind_i64(&b, id);
	bind_ts(&b, f->last_seen_us);
	bind_u64(&b, f->pkts_c2s);
	bind_u64(&b, f->pkts_s2c);
	bind_u64(&b, f->bytes_c2s);
	bind_u64(&b, f->bytes_s2c);
	bind_text(&b, f->app);
	bind_text(&b, f->sni);
	bind_text(&b, f->alpn);
	bind_text(&b, f->tls_version);
	bind_text(&b, f->cipher);
	bind_text(&b, f->ja3);
	bind_text(&b, f->ja4);
	bind_decrypted(&b, f->decrypted);
	bind_text(&b, f->decrypt_note);
	r = stmt_run(db, &b, "update flows", &changes);
	if (r < 0)
		return r;
	return row_updated(db, changes, "update flows");
}

int db_transaction_insert(struct db *db, const struct db_transaction *t, int64_t *ret_id)
{
	struct binder b;
	int64_t id;
	int r;

	if (!db)
		return -EINVAL;
	if (!t || !ret_id)
		return bad_argument(db, "insert into transactions");
	r = batch_open(db);
	if (r < 0)
		return r;
	id = db->next_id[ID_TRANSACTIONS];
	b = binder_init(db, ST_TXN_INSERT);
	bind_i64(&b, id);
	bind_ref(&b, t->run_id);
	bind_ts(&b, t->ts_us);
	bind_text(&b, t->client_ip);
	bind_i64(&b, t->client_port);
	bind_text(&b, t->server_ip);
	bind_i64(&b, t->server_port);
	bind_text(&b, t->host);
	bind_text(&b, t->method);
	bind_text(&b, t->uri);
	if (t->status == 0)
		bind_null(&b);
	else
		bind_i64(&b, t->status);
	bind_text(&b, t->user_agent);
	bind_text(&b, t->user);
	bind_text(&b, t->auth);
	bind_text(&b, t->protocol);
	bind_text(&b, t->operation);
	bind_text(&b, t->device_id);
	bind_text(&b, t->device_type);
	bind_i64(&b, t->tls ? 1 : 0);
	bind_ref(&b, t->flow_id);
	r = stmt_run(db, &b, "insert into transactions", NULL);
	if (r < 0)
		return r;
	return row_inserted(db, ID_TRANSACTIONS, &db->batch_inserted.transactions, id, ret_id);
}

int db_transaction_set_status(struct db *db, int64_t id, int status)
{
	struct binder b;
	int changes = 0, r;

	if (!db)
		return -EINVAL;
	if (id <= 0)
		return bad_argument(db, "set transaction status");
	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_TXN_STATUS);
	bind_i64(&b, id);
	if (status == 0)
		bind_null(&b);
	else
		bind_i64(&b, status);
	r = stmt_run(db, &b, "set transaction status", &changes);
	if (r < 0)
		return r;
	return row_updated(db, changes, "set transaction status");
}

int db_alert_insert(struct db *db, const struct db_alert *a, int64_t *ret_id)
{
	struct binder b;
	int64_t id;
	int r;

	if (!db)
		return -EINVAL;
	if (!a || !ret_id)
		return bad_argument(db, "insert into alerts");
	r = batch_open(db);
	if (r < 0)
		return r;
	id = db->next_id[ID_ALERTS];
	b = binder_init(db, ST_ALERT_INSERT);
	bind_i64(&b, id);
	bind_ref(&b, a->run_id);
	bind_ts(&b, a->ts_us);
	bind_text(&b, a->severity);
	bind_text(&b, a->rule);
	bind_text(&b, a->matched_by);
	bind_text(&b, a->user);
	bind_text(&b, a->client_ip);
	bind_text(&b, a->device_id);
	bind_text(&b, a->protocol);
	bind_text(&b, a->user_agent);
	bind_text(&b, a->summary);
	bind_text(&b, a->remediation);
	bind_ts(&b, a->first_seen_us);
	bind_ts(&b, a->last_seen_us);
	bind_u64(&b, a->count);
	r = stmt_run(db, &b, "insert into alerts", NULL);
	if (r < 0)
		return r;
	return row_inserted(db, ID_ALERTS, &db->batch_inserted.alerts, id, ret_id);
}

int db_alert_update(struct db *db, int64_t id, uint64_t first_seen_us, uint64_t last_seen_us,
                    uint64_t count)
{
	struct binder b;
	int changes = 0, r;

	if (!db)
		return -EINVAL;
	if (id <= 0)
		return bad_argument(db, "update alerts");
	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_ALERT_UPDATE);
	bind_i64(&b, id);
	bind_ts(&b, first_seen_us);
	bind_ts(&b, last_seen_us);
	bind_u64(&b, count);
	r = stmt_run(db, &b, "update alerts", &changes);
	if (r < 0)
		return r;
	return row_updated(db, changes, "update alerts");
}

int db_alert_add_evidence(struct db *db, int64_t alert_id, int64_t transaction_id, const char *role)
{
	struct binder b;
	int changes = 0, r;

	if (!db)
		return -EINVAL;
	if (alert_id <= 0 || transaction_id <= 0)
		return bad_argument(db, "insert into alert_evidence");
	r = batch_open(db);
	if (r < 0)
		return r;
	b = binder_init(db, ST_EVIDENCE_INSERT);
	bind_i64(&b, alert_id);
	bind_i64(&b, transaction_id);
	bind_text(&b, role);
	r = stmt_run(db, &b, "insert into alert_evidence", &changes);
	if (r < 0 || changes == 0) /* an existing link is kept as it is */
		return r;
	return batch_added(db, &db->batch_inserted.alert_evidence);
}

void db_get_stats(const struct db *db, struct db_stats *ret_stats)
{
	if (!db || !ret_stats)
		return;
	*ret_stats = db->stats;
	ret_stats->pending = db->pending;
}

const char *db_errmsg(const struct db *db)
{
	return db ? db->errmsg : "";
}

int db_format_ts(uint64_t us, char out[DB_TS_SIZE])
{
	time_t secs = (time_t)(us / 1000000u);
	struct tm tm;
	int n;

	out[0] = '\0';
	if (us > DB_TS_MAX_US || !gmtime_r(&secs, &tm))
		return -ERANGE;
	n = snprintf(out, DB_TS_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
	             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	             (unsigned)(us % 1000000u));
	if (n != DB_TS_LEN) {
		out[0] = '\0';
		return -ERANGE;
	}
	return 0;
}
