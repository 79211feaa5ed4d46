/*
 * test_db.c — unit tests for db/: schema, migrations, refusals, verbatim
 * storage, batching and visibility to a second connection.
 *
 * Every test works in its own mkdtemp() directory, removed afterwards.  What
 * the writer stored is read back through a separate read-only sqlite3
 * connection, the way an analyst's shell sees it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "db.h"

#define PATH_LEN 256                        /* temporary paths in the test directory */
#define TS_2026  UINT64_C(1795904675123456) /* 2026-11-28T22:24:35.123456Z */

struct fx {
	char dir[64];
	char path[PATH_LEN];
};

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/mdmwatch.db", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	char sub[PATH_LEN];

	snprintf(sub, sizeof(sub), "%s/ro", fx->dir);
	chmod(sub, 0700); /* in case a test made it unwritable */
	nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static uint64_t wall_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static struct db *open_ok(const char *path)
{
	char err[512];
	struct db *db = NULL;

	assert_int_equal(db_open(path, &db, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(db);
	return db;
}

static sqlite3 *reader(const char *path)
{
	sqlite3 *r = NULL;

	assert_int_equal(sqlite3_open_v2(path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	return r;
}

/* One value of one row: `sql` takes the row id as ?1 (or no parameter). */
struct val {
	int type;
	int64_t i;
	char *text;
	int len;
};

static void q_val(sqlite3 *r, const char *sql, int64_t id, struct val *v)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(r, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, id);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v->type = sqlite3_column_type(st, 0);
	v->i = sqlite3_column_int64(st, 0);
	v->len = sqlite3_column_bytes(st, 0);
	v->text = NULL;
	if (v->type == SQLITE_TEXT) {
		v->text = malloc((size_t)v->len + 1);
		assert_non_null(v->text);
		memcpy(v->text, sqlite3_column_text(st, 0), (size_t)v->len + 1);
	}
	sqlite3_finalize(st);
}

static int64_t q_int(sqlite3 *r, const char *sql, int64_t id)
{
	struct val v;

	q_val(r, sql, id, &v);
	assert_int_equal(v.type, SQLITE_INTEGER);
	return v.i;
}

static void assert_sql_text(sqlite3 *r, const char *sql, int64_t id, const char *want)
{
	struct val v;

	q_val(r, sql, id, &v);
	assert_int_equal(v.type, SQLITE_TEXT);
	assert_int_equal(v.len, (int)strlen(want));
	assert_memory_equal(v.text, want, strlen(want));
	free(v.text);
}

static void assert_sql_null(sqlite3 *r, const char *sql, int64_t id)
{
	struct val v;

	q_val(r, sql, id, &v);
	assert_int_equal(v.type, SQLITE_NULL);
}

static int64_t count_rows(const char *path, const char *table)
{
	char sql[128];
	sqlite3 *r = reader(path);
	int64_t n;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	n = q_int(r, sql, 0);
	sqlite3_close(r);
	return n;
}

static struct db_transaction txn_example(void)
{
	struct db_transaction t = {
	    .ts_us = TS_2026,
	    .client_ip = "192.0.2.10",
	    .client_port = 50123,
	    .server_ip = "198.51.100.5",
	    .server_port = 443,
	    .host = "mail.example.com",
	    .method = "POST",
	    .uri = "/EWS/Exchange.asmx",
	    .status = 200,
	    .user_agent = "ExchangeServicesClient/15.00.0913.015",
	    .user = "alice",
	    .auth = "ntlm",
	    .protocol = "EWS",
	    .operation = "FindItem",
	    .tls = true,
	};
	return t;
}

static int64_t insert_txn(struct db *db, const struct db_transaction *t)
{
	int64_t id = 0;

	assert_int_equal(db_transaction_insert(db, t, &id), 0);
	assert_true(id > 0);
	return id;
}

/*
 * Timestamps.
 */

static void test_format_ts(void **state)
{
	char out[DB_TS_SIZE];

	(void)state;
	assert_int_equal(db_format_ts(0, out), 0);
	assert_string_equal(out, "1970-01-01T00:00:00.000000Z");
	assert_int_equal(db_format_ts(TS_2026, out), 0);
	assert_string_equal(out, "2026-11-28T22:24:35.123456Z");
	assert_int_equal(strlen(out), DB_TS_LEN);
	assert_int_equal(db_format_ts(UINT64_C(1709208000500000), out), 0);
	assert_string_equal(out, "2024-02-29T12:00:00.500000Z");
	assert_int_equal(db_format_ts(UINT64_C(2147483647999999), out), 0);
	assert_string_equal(out, "2038-01-19T03:14:07.999999Z");
	assert_int_equal(db_format_ts(UINT64_C(2147483648000001), out), 0);
	assert_string_equal(out, "2038-01-19T03:14:08.000001Z");
	assert_int_equal(db_format_ts(UINT64_C(4294967296000000), out), 0);
	assert_string_equal(out, "2106-02-07T06:28:16.000000Z");
	assert_int_equal(db_format_ts(DB_TS_MAX_US, out), 0);
	assert_string_equal(out, "9999-12-31T23:59:59.999999Z");
	assert_int_equal(db_format_ts(DB_TS_MAX_US + 1, out), -ERANGE);
	assert_string_equal(out, "");
	assert_int_equal(db_format_ts(UINT64_MAX, out), -ERANGE);
}

/*
 * Opening, schema, refusals.
 */

static void assert_columns(sqlite3 *r, const char *table, const char *const *want)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	size_t i = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	assert_int_equal(sqlite3_prepare_v2(r, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_non_null(want[i]);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), want[i]);
		i++;
	}
	assert_null(want[i]);
	sqlite3_finalize(st);
}

static void test_create_schema(void **state)
{
	static const char *const runs[] = {"id",      "version", "mode",     "inputs",
	                                   "started", "ended",   "counters", NULL};
	static const char *const counters[] = {"run_id", "name", "value", NULL};
	static const char *const txns[] = {
	    "id",          "run_id",  "ts",       "client_ip", "client_port", "server_ip",
	    "server_port", "host",    "method",   "uri",       "status",      "user_agent",
	    "user",        "auth",    "protocol", "operation", "device_id",   "device_type",
	    "tls",         "flow_id", NULL};
	static const char *const flows[] = {
	    "id",         "run_id",    "client_ip",    "client_port", "server_ip", "server_port",
	    "first_seen", "last_seen", "pkts_c2s",     "pkts_s2c",    "bytes_c2s", "bytes_s2c",
	    "app",        "sni",       "alpn",         "tls_version", "cipher",    "ja3",
	    "ja4",        "decrypted", "decrypt_note", NULL};
	static const char *const alerts[] = {
	    "id",          "run_id",     "ts",        "severity", "rule",       "matched_by",
	    "user",        "client_ip",  "device_id", "protocol", "user_agent", "summary",
	    "remediation", "first_seen", "last_seen", "count",    NULL};
	static const char *const evidence[] = {"alert_id", "transaction_id", "role", NULL};
	struct fx *fx = *state;
	struct db_stats stats;
	struct db *db = open_ok(fx->path);
	sqlite3 *r = reader(fx->path);

	assert_int_equal(q_int(r, "PRAGMA user_version", 0), DB_SCHEMA_VERSION);
	assert_int_equal(q_int(r, "PRAGMA application_id", 0), DB_APPLICATION_ID);
	assert_sql_text(r, "PRAGMA journal_mode", 0, "wal");
	assert_columns(r, "runs", runs);
	assert_columns(r, "run_counters", counters);
	assert_columns(r, "transactions", txns);
	assert_columns(r, "flows", flows);
	assert_columns(r, "alerts", alerts);
	assert_columns(r, "alert_evidence", evidence);
	assert_int_equal(q_int(r,
	                       "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	                       " AND name = 'transactions_user'",
	                       0),
	                 1);
	sqlite3_close(r);

	db_get_stats(db, &stats);
	assert_int_equal(stats.commits, 0);
	assert_int_equal(stats.errors, 0);
	assert_string_equal(db_errmsg(db), "");
	assert_int_equal(db_close(db), 0);
	assert_int_equal(db_close(NULL), 0);
}

static void test_reopen_keeps_rows(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	int64_t a, b;
	sqlite3 *r;

	a = insert_txn(db, &t);
	assert_int_equal(db_close(db), 0);

	db = open_ok(fx->path);
	t.user = "bob";
	b = insert_txn(db, &t);
	assert_true(b > a);
	assert_int_equal(db_close(db), 0);

	r = reader(fx->path);
	assert_int_equal(q_int(r, "PRAGMA user_version", 0), DB_SCHEMA_VERSION);
	assert_int_equal(q_int(r, "SELECT count(*) FROM transactions", 0), 2);
	assert_sql_text(r, "SELECT user FROM transactions WHERE id = ?1", a, "alice");
	assert_sql_text(r, "SELECT user FROM transactions WHERE id = ?1", b, "bob");
	sqlite3_close(r);
}

static void make_sqlite(const char *path, const char *sql)
{
	sqlite3 *w = NULL;

	assert_int_equal(sqlite3_open(path, &w), SQLITE_OK);
	assert_int_equal(sqlite3_exec(w, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(w);
}

static void test_newer_version_refused(void **state)
{
	struct fx *fx = *state;
	char err[512], sql[128];
	struct db *db = NULL;

	snprintf(sql, sizeof(sql),
	         "PRAGMA application_id = %d; PRAGMA user_version = %d;"
	         " CREATE TABLE future (x)",
	         DB_APPLICATION_ID, DB_SCHEMA_VERSION + 1);
	make_sqlite(fx->path, sql);
	assert_int_equal(db_open(fx->path, &db, err, sizeof(err)), -ENOTSUP);
	assert_null(db);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "newer"));

	/* A bare user_version from the future says the same. */
	make_sqlite(fx->path, "PRAGMA application_id = 0; PRAGMA user_version = 7");
	assert_int_equal(db_open(fx->path, &db, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "version 7"));
}

static void test_not_a_database(void **state)
{
	struct fx *fx = *state;
	char err[512], junk[4096], back[4096];
	struct db *db = NULL;
	FILE *f;
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)('a' + i % 26);
	f = fopen(fx->path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);

	assert_int_equal(db_open(fx->path, &db, err, sizeof(err)), -EBADMSG);
	assert_null(db);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "not a database"));

	f = fopen(fx->path, "rb"); /* untouched */
	assert_non_null(f);
	assert_int_equal(fread(back, 1, sizeof(back), f), sizeof(back));
	fclose(f);
	assert_memory_equal(junk, back, sizeof(junk));
}

static void test_foreign_database_refused(void **state)
{
	struct fx *fx = *state;
	char err[512];
	struct db *db = NULL;
	sqlite3 *r;

	make_sqlite(fx->path, "CREATE TABLE notes (x); INSERT INTO notes VALUES (1)");
	assert_int_equal(db_open(fx->path, &db, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "another application"));

	make_sqlite(fx->path, "PRAGMA application_id = 1234");
	assert_int_equal(db_open(fx->path, &db, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "not an mdmwatch database"));

	r = reader(fx->path);
	assert_int_equal(q_int(r, "SELECT count(*) FROM sqlite_master", 0), 1);
	sqlite3_close(r);
}

static void test_unwritable_path(void **state)
{
	struct fx *fx = *state;
	char err[512], path[PATH_LEN];
	struct db *db = NULL;
	FILE *f;
	int r;

	/* The directory does not exist. */
	snprintf(path, sizeof(path), "%s/missing/dir/mdmwatch.db", fx->dir);
	r = db_open(path, &db, err, sizeof(err));
	assert_int_equal(r, -ENOENT);
	assert_null(db);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));

	/* The "directory" is a file. */
	snprintf(path, sizeof(path), "%s/plain", fx->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/plain/mdmwatch.db", fx->dir);
	r = db_open(path, &db, err, sizeof(err));
	assert_true(r < 0);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "Not a directory"));

	/* A read-only directory (root ignores permissions: skip that part). */
	if (geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/ro", fx->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		snprintf(path, sizeof(path), "%s/ro/mdmwatch.db", fx->dir);
		r = db_open(path, &db, err, sizeof(err));
		assert_int_equal(r, -EACCES);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "Permission denied"));

		/* An existing database the sensor may only read. */
		assert_int_equal(chmod(fx->dir, 0700), 0);
		assert_int_equal(db_close(open_ok(fx->path)), 0);
		assert_int_equal(chmod(fx->path, 0400), 0);
		r = db_open(fx->path, &db, err, sizeof(err));
		assert_int_equal(r, -EACCES);
		assert_non_null(strstr(err, fx->path));
		assert_non_null(strstr(err, "read-only"));
	}

	assert_int_equal(db_open(NULL, &db, err, sizeof(err)), -EINVAL);
	assert_int_equal(db_open("", &db, NULL, 0), -EINVAL);
	assert_null(db);
}

/*
 * What is stored.
 */

static void test_hostile_strings(void **state)
{
	static const char quotes[] = "x'); DROP TABLE transactions; -- \"\\%_*?[\r\n\t";
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	size_t big_len = 64 * 1024, i;
	char *big = malloc(big_len + 1);
	char bad_utf8[] = {'M', (char)0xff, (char)0xfe, (char)0xc3, '(', (char)0x80, 0};
	char *with_nul = strdup("before");
	struct db *db = open_ok(fx->path);
	struct val v;
	int64_t id;
	sqlite3 *r;

	assert_non_null(big);
	assert_non_null(with_nul);
	for (i = 0; i < big_len; i++) /* every byte value but NUL, in turn */
		big[i] = (char)(1 + i % 255);
	big[big_len] = '\0';
	t.user_agent = big;
	t.uri = quotes;
	t.host = bad_utf8;
	t.method = "GET\0hidden"; /* the NUL ends the string */
	t.device_id = with_nul;
	id = insert_txn(db, &t);
	/* Borrowed only for the call: scribbling on it now changes nothing. */
	memset(big, 'Z', big_len);
	memcpy(with_nul, "after", 6);
	assert_int_equal(db_close(db), 0);

	r = reader(fx->path);
	q_val(r, "SELECT user_agent FROM transactions WHERE id = ?1", id, &v);
	assert_int_equal(v.type, SQLITE_TEXT);
	assert_int_equal(v.len, (int)big_len);
	for (i = 0; i < big_len; i++)
		assert_int_equal((unsigned char)v.text[i], 1 + i % 255);
	free(v.text);
	assert_sql_text(r, "SELECT uri FROM transactions WHERE id = ?1", id, quotes);
	assert_sql_text(r, "SELECT host FROM transactions WHERE id = ?1", id, bad_utf8);
	assert_sql_text(r, "SELECT method FROM transactions WHERE id = ?1", id, "GET");
	assert_sql_text(r, "SELECT device_id FROM transactions WHERE id = ?1", id, "before");
	assert_int_equal(q_int(r,
	                       "SELECT count(*) FROM sqlite_master WHERE name = "
	                       "'transactions'",
	                       0),
	                 1);
	sqlite3_close(r);
	free(big);
	free(with_nul);
}

static void test_status_update(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	int64_t id;
	sqlite3 *r;

	t.status = 0; /* request seen, no response yet */
	id = insert_txn(db, &t);
	assert_int_equal(db_flush(db), 1);
	r = reader(fx->path);
	assert_sql_null(r, "SELECT status FROM transactions WHERE id = ?1", id);

	assert_int_equal(db_transaction_set_status(db, id, 456), 0);
	assert_int_equal(db_flush(db), 1);
	assert_int_equal(q_int(r, "SELECT status FROM transactions WHERE id = ?1", id), 456);

	/* Within one batch: insert then update. */
	id = insert_txn(db, &t);
	assert_int_equal(db_transaction_set_status(db, id, 200), 0);
	assert_int_equal(db_transaction_set_status(db, id + 1000, 200), -ENOENT);
	assert_int_equal(db_transaction_set_status(db, id, 42), -EINVAL);
	assert_int_equal(db_close(db), 0);
	assert_int_equal(q_int(r, "SELECT status FROM transactions WHERE id = ?1", id), 200);
	sqlite3_close(r);
}

static void test_null_fields(void **state)
{
	static const char *const nullable[] = {
	    "run_id", "host",     "method",    "uri",       "status",      "user_agent", "user",
	    "auth",   "protocol", "operation", "device_id", "device_type", "flow_id",    NULL};
	struct fx *fx = *state;
	struct db_transaction t = {
	    .ts_us = TS_2026,
	    .client_ip = "2001:db8::1",
	    .server_ip = "2001:db8::2",
	};
	struct db *db = open_ok(fx->path);
	char sql[128];
	int64_t id;
	sqlite3 *r;
	size_t i;

	id = insert_txn(db, &t);
	assert_int_equal(db_close(db), 0);
	r = reader(fx->path);
	for (i = 0; nullable[i]; i++) {
		snprintf(sql, sizeof(sql), "SELECT %s FROM transactions WHERE id = ?1",
		         nullable[i]);
		assert_sql_null(r, sql, id);
	}
	assert_int_equal(q_int(r, "SELECT tls FROM transactions WHERE id = ?1", id), 0);
	assert_sql_text(r, "SELECT ts FROM transactions WHERE id = ?1", id,
	                "2026-11-28T22:24:35.123456Z");
	sqlite3_close(r);
}

static void test_check_constraints(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example(), bad;
	struct db *db = open_ok(fx->path);
	struct db_stats stats;
	int64_t id = 0, good;

	good = insert_txn(db, &t);
	bad = t;
	bad.protocol = "SMTP";
	assert_int_equal(db_transaction_insert(db, &bad, &id), -EINVAL);
	assert_int_equal(id, 0); /* ret_* untouched on failure */
	assert_non_null(strstr(db_errmsg(db), "CHECK constraint failed"));
	bad = t;
	bad.protocol = "ews"; /* the list is case-sensitive */
	assert_int_equal(db_transaction_insert(db, &bad, &id), -EINVAL);
	bad = t;
	bad.auth = "digest";
	assert_int_equal(db_transaction_insert(db, &bad, &id), -EINVAL);
	bad = t;
	bad.client_ip = NULL;
	assert_int_equal(db_transaction_insert(db, &bad, &id), -EINVAL);
	bad = t;
	bad.flow_id = 999; /* no such flow */
	assert_int_equal(db_transaction_insert(db, &bad, &id), -EINVAL);
	assert_non_null(strstr(db_errmsg(db), "FOREIGN KEY"));
	bad = t;
	bad.ts_us = DB_TS_MAX_US + 1;
	assert_int_equal(db_transaction_insert(db, &bad, &id), -ERANGE);
	assert_int_equal(db_transaction_insert(db, NULL, &id), -EINVAL);
	assert_int_equal(db_transaction_insert(NULL, &t, &id), -EINVAL);

	db_get_stats(db, &stats);
	assert_int_equal(stats.errors, 7); /* NULL db has nowhere to count */
	assert_int_equal(stats.pending, 1);
	assert_int_equal(db_close(db), 0);
	/* The good row in the same batch survived the bad ones. */
	assert_int_equal(count_rows(fx->path, "transactions"), 1);
	assert_int_equal(count_rows(fx->path, "transactions WHERE id = 1"), 1);
	assert_int_equal(good, 1);
}

/*
 * Batching.
 */

static void test_batch_tick(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	struct db_stats stats;
	uint64_t now;

	insert_txn(db, &t);
	insert_txn(db, &t);
	now = wall_now_us();
	assert_int_equal(count_rows(fx->path, "transactions"), 0);
	assert_int_equal(db_tick(db, now), 0); /* younger than a second */
	assert_int_equal(count_rows(fx->path, "transactions"), 0);
	assert_int_equal(db_tick(db, now + DB_COMMIT_AGE_US), 2);
	assert_int_equal(count_rows(fx->path, "transactions"), 2);
	assert_int_equal(db_tick(db, now + 2 * DB_COMMIT_AGE_US), 0); /* nothing pending */

	/* A wall clock stepped backwards commits rather than stalls. */
	insert_txn(db, &t);
	assert_int_equal(db_tick(db, 1), 1);
	assert_int_equal(count_rows(fx->path, "transactions"), 3);

	db_get_stats(db, &stats);
	assert_int_equal(stats.inserted.transactions, 3);
	assert_int_equal(stats.commits, 2);
	assert_int_equal(stats.pending, 0);
	assert_int_equal(db_close(db), 0);
}

static void test_batch_rows(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	struct db_stats stats;
	unsigned i;

	for (i = 0; i < DB_BATCH_ROWS - 1; i++)
		insert_txn(db, &t);
	assert_int_equal(count_rows(fx->path, "transactions"), 0);
	insert_txn(db, &t); /* the batch is full: committed without a tick */
	assert_int_equal(count_rows(fx->path, "transactions"), DB_BATCH_ROWS);
	db_get_stats(db, &stats);
	assert_int_equal(stats.commits, 1);
	assert_int_equal(stats.pending, 0);
	insert_txn(db, &t);
	assert_int_equal(count_rows(fx->path, "transactions"), DB_BATCH_ROWS);
	assert_int_equal(db_close(db), 0);
	assert_int_equal(count_rows(fx->path, "transactions"), DB_BATCH_ROWS + 1);
}

static void test_batch_close(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);

	insert_txn(db, &t);
	assert_int_equal(count_rows(fx->path, "transactions"), 0);
	assert_int_equal(db_close(db), 0);
	assert_int_equal(count_rows(fx->path, "transactions"), 1);
}

/* An analyst holding a read transaction open does not stop the writer. */
static void test_reader_does_not_block(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	sqlite3 *r = reader(fx->path);
	int i;

	assert_int_equal(sqlite3_exec(r, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(q_int(r, "SELECT count(*) FROM transactions", 0), 0);
	for (i = 0; i < 3; i++) {
		insert_txn(db, &t);
		assert_int_equal(db_flush(db), 1);
	}
	assert_int_equal(q_int(r, "SELECT count(*) FROM transactions", 0), 0); /* snapshot */
	assert_int_equal(sqlite3_exec(r, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(q_int(r, "SELECT count(*) FROM transactions", 0), 3);
	sqlite3_close(r);
	assert_int_equal(db_close(db), 0);
}

/* Another writer holding the lock past the busy timeout: the write fails
 * with -EBUSY, is counted, and the next one works once the lock is gone. */
static void test_busy_writer(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	struct db_stats stats;
	sqlite3 *w = NULL;
	int64_t id = 0;

	assert_int_equal(sqlite3_open(fx->path, &w), SQLITE_OK);
	assert_int_equal(sqlite3_exec(w, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(db_transaction_insert(db, &t, &id), -EBUSY);
	assert_int_equal(id, 0);
	assert_int_equal(sqlite3_exec(w, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(w);
	insert_txn(db, &t);
	db_get_stats(db, &stats);
	assert_int_equal(stats.errors, 1);
	assert_int_equal(stats.rows_lost, 0);
	assert_int_equal(db_close(db), 0);
	assert_int_equal(count_rows(fx->path, "transactions"), 1);
}

/* A batch SQLite cannot commit (the disk is "full": RLIMIT_FSIZE) is rolled
 * back and counted in rows_lost; the ids it handed out are not reused, so a
 * stale id held by the caller never names a different row. */
static void test_batch_lost(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	struct rlimit old, tiny;
	struct db_stats stats;
	int64_t lost = 0, next;
	int i, r;

	insert_txn(db, &t);
	assert_int_equal(db_flush(db), 1);
	for (i = 0; i < 50; i++) /* enough to need new pages */
		lost = insert_txn(db, &t);

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	tiny = old;
	tiny.rlim_cur = 0;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &tiny), 0);
	r = db_flush(db);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_true(r < 0);

	db_get_stats(db, &stats);
	assert_int_equal(stats.rows_lost, 50);
	assert_int_equal(stats.pending, 0);
	assert_int_equal(db_transaction_set_status(db, lost, 500), -ENOENT);
	next = insert_txn(db, &t);
	assert_true(next > lost);
	assert_int_equal(db_close(db), 0);
	assert_int_equal(count_rows(fx->path, "transactions"), 2);
}

/*
 * Runs, flows, alerts.
 */

static void test_run_begin_end(void **state)
{
	static const struct db_counter counters[] = {
	    {"packets", 123456789},
	    {"flows_evicted", 3},
	    {"odd \"name\"", UINT64_MAX},
	};
	struct fx *fx = *state;
	struct db_run run = {
	    .version = "0.1.0",
	    .mode = "offline",
	    .inputs = "a.pcap\nb.pcapng",
	    .started_us = TS_2026,
	};
	struct db *db = open_ok(fx->path);
	int64_t id = 0, bad = 0;
	sqlite3 *r;

	assert_int_equal(db_run_begin(db, &run, &id), 0);
	assert_true(id > 0);
	assert_int_equal(db_run_end(db, id, 0, counters, 1), 0); /* progress snapshot */
	assert_int_equal(db_run_end(db, id, TS_2026 + 5000000, counters, 3), 0);
	assert_int_equal(db_run_end(db, id + 1, TS_2026, counters, 1), -ENOENT);
	assert_int_equal(db_run_end(db, id, TS_2026, NULL, 1), -EINVAL);
	run.mode = "batch";
	assert_int_equal(db_run_begin(db, &run, &bad), -EINVAL);
	assert_int_equal(db_close(db), 0);

	r = reader(fx->path);
	assert_sql_text(r, "SELECT started FROM runs WHERE id = ?1", id,
	                "2026-11-28T22:24:35.123456Z");
	assert_sql_text(r, "SELECT ended FROM runs WHERE id = ?1", id,
	                "2026-11-28T22:24:40.123456Z");
	assert_sql_text(r, "SELECT inputs FROM runs WHERE id = ?1", id, "a.pcap\nb.pcapng");
	assert_int_equal(q_int(r, "SELECT count(*) FROM run_counters WHERE run_id = ?1", id), 3);
	assert_int_equal(q_int(r,
	                       "SELECT value FROM run_counters WHERE run_id = ?1"
	                       " AND name = 'flows_evicted'",
	                       id),
	                 3);
	assert_int_equal(q_int(r,
	                       "SELECT value FROM run_counters WHERE run_id = ?1"
	                       " AND name = 'odd \"name\"'",
	                       id),
	                 INT64_MAX);
	assert_sql_text(r, "SELECT counters FROM runs WHERE id = ?1", id,
	                "{\"flows_evicted\":3,\"odd \\\"name\\\"\":9223372036854775807,"
	                "\"packets\":123456789}");
	assert_int_equal(q_int(r,
	                       "SELECT json_extract(counters, '$.packets') FROM runs"
	                       " WHERE id = ?1",
	                       id),
	                 123456789);
	sqlite3_close(r);
}

static void test_flows(void **state)
{
	struct fx *fx = *state;
	struct db_flow f = {
	    .client_ip = "192.0.2.10",
	    .client_port = 50123,
	    .server_ip = "198.51.100.5",
	    .server_port = 443,
	    .first_seen_us = TS_2026,
	    .last_seen_us = TS_2026,
	    .pkts_c2s = 3,
	    .app = "TLS",
	    .sni = "mail.example.com",
	    .decrypted = DB_DECRYPTED_NO,
	    .decrypt_note = "no key",
	};
	struct db_flow upd = {
	    .last_seen_us = TS_2026 + 1000000,
	    .pkts_c2s = 10,
	    .pkts_s2c = 8,
	    .bytes_c2s = 1500,
	    .bytes_s2c = UINT64_MAX,
	    .ja4 = "t13d1516h2_8daaf6152771",
	};
	struct db_transaction t = txn_example();
	struct db *db = open_ok(fx->path);
	int64_t flow = 0, plain = 0, txn;
	sqlite3 *r;

	assert_int_equal(db_flow_insert(db, &f, &flow), 0);
	assert_int_equal(db_flow_update(db, flow, &upd), 0);
	assert_int_equal(db_flow_update(db, flow + 100, &upd), -ENOENT);
	t.flow_id = flow;
	txn = insert_txn(db, &t);
	f.decrypted = DB_DECRYPTED_NA;
	f.decrypt_note = NULL;
	assert_int_equal(db_flow_insert(db, &f, &plain), 0);
	f.last_seen_us = f.first_seen_us - 1; /* time running backwards */
	assert_int_equal(db_flow_insert(db, &f, &plain), -EINVAL);
	assert_int_equal(db_close(db), 0);

	r = reader(fx->path);
	assert_sql_text(r, "SELECT sni FROM flows WHERE id = ?1", flow, "mail.example.com");
	assert_sql_text(r, "SELECT ja4 FROM flows WHERE id = ?1", flow, "t13d1516h2_8daaf6152771");
	assert_sql_text(r, "SELECT last_seen FROM flows WHERE id = ?1", flow,
	                "2026-11-28T22:24:36.123456Z");
	assert_int_equal(q_int(r, "SELECT pkts_c2s FROM flows WHERE id = ?1", flow), 10);
	assert_int_equal(q_int(r, "SELECT bytes_s2c FROM flows WHERE id = ?1", flow), INT64_MAX);
	assert_int_equal(q_int(r, "SELECT decrypted FROM flows WHERE id = ?1", flow), 0);
	assert_sql_text(r, "SELECT decrypt_note FROM flows WHERE id = ?1", flow, "no key");
	assert_sql_null(r, "SELECT decrypted FROM flows WHERE id = ?1", plain);
	assert_sql_null(r, "SELECT ja3 FROM flows WHERE id = ?1", flow);
	assert_int_equal(q_int(r,
	                       "SELECT f.id FROM transactions t JOIN flows f"
	                       " ON f.id = t.flow_id WHERE t.id = ?1",
	                       txn),
	                 flow);
	sqlite3_close(r);
}

static void test_alerts(void **state)
{
	struct fx *fx = *state;
	struct db_transaction t = txn_example();
	struct db_alert a = {
	    .ts_us = TS_2026,
	    .severity = "high",
	    .rule = "activesync-refused-then-ews",
	    .matched_by = "user",
	    .user = "alice",
	    .client_ip = "192.0.2.10",
	    .protocol = "EWS",
	    .user_agent = t.user_agent,
	    .summary = "refused on EAS, then EWS FindItem",
	    .first_seen_us = TS_2026,
	    .last_seen_us = TS_2026,
	    .count = 1,
	};
	struct db *db = open_ok(fx->path);
	struct db_stats stats;
	int64_t alert = 0, refusal, fallback, bad = 0;
	sqlite3 *r;

	t.protocol = "EAS";
	t.status = 403;
	refusal = insert_txn(db, &t);
	t = txn_example();
	fallback = insert_txn(db, &t);
	assert_int_equal(db_alert_insert(db, &a, &alert), 0);
	assert_int_equal(db_alert_add_evidence(db, alert, refusal, "refusal"), 0);
	assert_int_equal(db_alert_add_evidence(db, alert, fallback, "fallback"), 0);
	assert_int_equal(db_alert_add_evidence(db, alert, fallback, "fallback"), 0);
	assert_int_equal(db_alert_add_evidence(db, alert, fallback + 50, NULL), -EINVAL);
	assert_int_equal(db_alert_add_evidence(db, alert, refusal, "other"), -EINVAL);
	assert_int_equal(db_alert_update(db, alert, TS_2026, TS_2026 + 60000000, 2), 0);
	assert_int_equal(db_alert_update(db, alert + 9, TS_2026, TS_2026, 2), -ENOENT);
	a.severity = "critical";
	assert_int_equal(db_alert_insert(db, &a, &bad), -EINVAL);
	assert_int_equal(db_flush(db), 6);
	db_get_stats(db, &stats);
	assert_int_equal(stats.inserted.transactions, 2);
	assert_int_equal(stats.inserted.alerts, 1);
	assert_int_equal(stats.inserted.alert_evidence, 2); /* the repeat is not a write */
	assert_int_equal(stats.updated, 1);
	assert_int_equal(stats.errors, 4);
	assert_int_equal(db_close(db), 0);

	r = reader(fx->path);
	assert_int_equal(q_int(r, "SELECT count FROM alerts WHERE id = ?1", alert), 2);
	assert_sql_text(r, "SELECT last_seen FROM alerts WHERE id = ?1", alert,
	                "2026-11-28T22:25:35.123456Z");
	assert_int_equal(q_int(r, "SELECT count(*) FROM alert_evidence WHERE alert_id = ?1", alert),
	                 2);
	assert_sql_text(r, "SELECT role FROM alert_evidence WHERE transaction_id = ?1", refusal,
	                "refusal");
	sqlite3_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_ts),
	    cmocka_unit_test_setup_teardown(test_create_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_keeps_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_version_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_foreign_database_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unwritable_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check_constraints, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_tick, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reader_does_not_block, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batch_lost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_begin_end, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_flows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
