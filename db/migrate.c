/*
 * migrate.c — open a database file and bring it to DB_SCHEMA_VERSION.
 *
 * Order, and why:
 *   1. Open (creating) the file read-write.  A file we could only read is
 *      refused now rather than at the first insert.
 *   2. Identify it.  PRAGMA application_id marks an mdmwatch database
 *      ("mdmw", set by the first migration); PRAGMA user_version is its
 *      schema version.  An empty file is adopted; a database of another
 *      application, or one whose schema is newer than this build, is
 *      refused without being changed.  This first read is also where SQLite
 *      notices a file that is not a database at all.
 *   3. WAL journal, synchronous=NORMAL, foreign_keys=ON, a busy timeout.
 *      WAL lets an analyst's sqlite3 read while the sensor writes (readers
 *      see the last commit and never block the writer).  synchronous=NORMAL
 *      in WAL mode keeps the file consistent on power loss and at worst
 *      loses the last commits, which one-second batching allows anyway.
 *   4. Apply the missing schema steps (schema.c), each in one IMMEDIATE
 *      transaction together with its user_version bump, re-reading the
 *      version under the lock so two sensors starting at once do not both
 *      migrate.  A step that fails is rolled back whole: the file stays at
 *      its old version.
 *
 * Every failure leaves a message naming the file and what is wrong.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "migrate.h"
#include "schema.h"
#include "sqlerr.h"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int exec_sql(sqlite3 *sql, const char *text)
{
	return sqlerr_errno(sqlite3_exec(sql, text, NULL, NULL, NULL));
}

/* Runs a one-row query, putting its first column in *ret_v or, on failure,
 * a message naming the file into err. */
static int query_i64(sqlite3 *sql, const char *text, int64_t *ret_v, const char *path, char *err,
                     size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	rc = sqlite3_prepare_v2(sql, text, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*ret_v = sqlite3_column_int64(st, 0);
		r = 0;
	} else {
		r = rc == SQLITE_DONE ? -EIO : sqlerr_errno(rc);
		set_err(err, errlen, "cannot read database '%s': %s", path, sqlite3_errmsg(sql));
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Why the file could not be opened or created, as an errno.  SQLite's own
 * errno is that of its last attempt (after an EACCES creating the file it
 * retries read-only and reports ENOENT), so look at the directory first.
 */
static int open_errno(const char *path, int sys)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int n;

	if (!slash)
		n = snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		n = snprintf(dir, sizeof(dir), "/");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return sys > 0 ? sys : EIO;
	if (stat(dir, &st) < 0)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	/* A file that does not exist yet needs a writable directory. */
	if (access(path, F_OK) < 0 && errno == ENOENT && access(dir, W_OK | X_OK) < 0)
		return EACCES;
	return sys > 0 ? sys : EIO;
}

static int open_file(const char *path, sqlite3 *sql, int rc, char *err, size_t errlen)
{
	char buf[64];
	int sys;

	if (rc != SQLITE_OK) {
		sys = open_errno(path, sqlite3_system_errno(sql));
		set_err(err, errlen,
		        "cannot open or create database '%s': %s (the directory must exist and "
		        "be writable)",
		        path, strerror_r(sys, buf, sizeof(buf)));
		return -sys;
	}
	if (sqlite3_db_readonly(sql, "main") == 1) {
		set_err(err, errlen,
		        "database '%s' is read-only: the sensor must be able to write "
		        "it",
		        path);
		return -EACCES;
	}
	sqlite3_extended_result_codes(sql, 1);
	sqlite3_busy_timeout(sql, DB_BUSY_TIMEOUT_MS);
	/* The file is input too: keep SQL stored in it from doing anything odd. */
	sqlite3_db_config(sql, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(sql, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	return 0;
}

/* Accepts an mdmwatch database this build understands, or an empty file. */
static int check_identity(sqlite3 *sql, const char *path, char *err, size_t errlen)
{
	int64_t app_id = 0, version = 0, objects = 0;
	int r;

	r = query_i64(sql, "PRAGMA application_id", &app_id, path, err, errlen);
	if (r == 0)
		r = query_i64(sql, "PRAGMA user_version", &version, path, err, errlen);
	if (r == 0)
		r = query_i64(sql, "SELECT count(*) FROM sqlite_master", &objects, path, err,
		              errlen);
	if (r < 0)
		return r;
	if (app_id != 0 && app_id != DB_APPLICATION_ID) {
		set_err(err, errlen, "'%s' is not an mdmwatch database (application_id 0x%08llx)",
		        path, (unsigned long long)(uint32_t)app_id);
		return -EBADMSG;
	}
	if (version > DB_SCHEMA_VERSION) {
		set_err(err, errlen,
		        "database '%s' has schema version %lld, newer than the %d "
		        "this mdmwatch knows: use a newer mdmwatch or another file",
		        path, (long long)version, DB_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (app_id == 0 && (version != 0 || objects != 0)) {
		set_err(err, errlen,
		        "'%s' is a SQLite database of another application (%lld "
		        "schema objects, user_version %lld): refusing to change it",
		        path, (long long)objects, (long long)version);
		return -EBADMSG;
	}
	return 0;
}

static int set_pragmas(sqlite3 *sql, const char *path, char *err, size_t errlen)
{
	char text[64];
	sqlite3_stmt *st = NULL;
	const unsigned char *mode = NULL;
	int rc, r;

	rc = sqlite3_prepare_v2(sql, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		mode = sqlite3_column_text(st, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		r = rc == SQLITE_ROW ? -EIO : sqlerr_errno(rc);
		set_err(err, errlen, "cannot put database '%s' in WAL mode: %s", path,
		        rc == SQLITE_ROW ? "unsupported here (a network filesystem?)"
		                         : sqlite3_errmsg(sql));
		goto cleanup;
	}
	snprintf(text, sizeof(text), "PRAGMA journal_size_limit = %d", DB_WAL_SIZE_LIMIT);
	r = exec_sql(sql, "PRAGMA synchronous = NORMAL");
	if (r == 0)
		r = exec_sql(sql, "PRAGMA foreign_keys = ON");
	if (r == 0)
		r = exec_sql(sql, text);
	if (r < 0)
		set_err(err, errlen, "cannot configure database '%s': %s", path,
		        sqlite3_errmsg(sql));
cleanup:
	sqlite3_finalize(st);
	return r;
}

static int apply_step(sqlite3 *sql, int64_t version)
{
	const char *const *stmt;
	char text[96];
	int r = 0;

	for (stmt = schema_steps[version]; r == 0 && *stmt; stmt++)
		r = exec_sql(sql, *stmt);
	snprintf(text, sizeof(text), "PRAGMA application_id = %d; PRAGMA user_version = %lld",
	         DB_APPLICATION_ID, (long long)version + 1);
	if (r == 0)
		r = exec_sql(sql, text);
	return r;
}

/* Applies one migration step if one is due; sets *ret_done when the
 * database is at DB_SCHEMA_VERSION. */
static int migrate_step(sqlite3 *sql, const char *path, char *err, size_t errlen, bool *ret_done)
{
	int64_t version = 0;
	int r;

	r = exec_sql(sql, "BEGIN IMMEDIATE");
	if (r < 0) {
		set_err(err, errlen, "cannot lock database '%s': %s", path, sqlite3_errmsg(sql));
		return r;
	}
	/* Read inside the lock: another process may have migrated meanwhile. */
	r = query_i64(sql, "PRAGMA user_version", &version, path, err, errlen);
	if (r < 0)
		goto cleanup;
	if (version > DB_SCHEMA_VERSION) {
		set_err(err, errlen,
		        "database '%s' has schema version %lld, newer than the %d "
		        "this mdmwatch knows",
		        path, (long long)version, DB_SCHEMA_VERSION);
		r = -ENOTSUP;
		goto cleanup;
	}
	if (version < DB_SCHEMA_VERSION)
		r = apply_step(sql, version);
	if (r == 0)
		r = exec_sql(sql, "COMMIT");
	if (r < 0)
		set_err(err, errlen,
		        "cannot migrate database '%s' from schema version %lld to "
		        "%lld: %s",
		        path, (long long)version, (long long)version + 1, sqlite3_errmsg(sql));
	else if (version == DB_SCHEMA_VERSION)
		*ret_done = true;
cleanup:
	if (r < 0 && !sqlite3_get_autocommit(sql))
		exec_sql(sql, "ROLLBACK");
	return r;
}

int migrate_open(const char *path, sqlite3 **ret_sql, char *err, size_t errlen)
{
	sqlite3 *sql = NULL;
	bool done = false;
	int rc, r;

	if ((size_t)DB_SCHEMA_VERSION != schema_nsteps) {
		set_err(err, errlen, "internal error: schema steps do not match version");
		return -EINVAL;
	}
	rc = sqlite3_open_v2(
	    path, &sql, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_EXRESCODE, NULL);
	if (!sql) {
		set_err(err, errlen, "cannot open database '%s': out of memory", path);
		return -ENOMEM;
	}
	r = open_file(path, sql, rc, err, errlen);
	if (r == 0)
		r = check_identity(sql, path, err, errlen);
	if (r == 0)
		r = set_pragmas(sql, path, err, errlen);
	while (r == 0 && !done)
		r = migrate_step(sql, path, err, errlen, &done);
	if (r < 0)
		goto cleanup;
	*ret_sql = sql;
	sql = NULL;
cleanup:
	sqlite3_close(sql);
	return r;
}
