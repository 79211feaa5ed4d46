/*
 * migrate.h — open a database file and bring it to DB_SCHEMA_VERSION
 * (internal to db/).
 */
#ifndef MDM_DB_MIGRATE_H
#define MDM_DB_MIGRATE_H

#include <stddef.h>

#include <sqlite3.h>

/*
 * Opens (creating) `path`, checks it is empty or an mdmwatch database no
 * newer than this build, configures it (WAL, synchronous=NORMAL,
 * foreign_keys=ON, busy timeout) and applies the missing schema steps.
 * Returns 0 and the connection in *ret_sql (the caller closes it), or a
 * negative errno and a message naming the file in err[errlen].
 */
int migrate_open(const char *path, sqlite3 **ret_sql, char *err, size_t errlen);

#endif /* MDM_DB_MIGRATE_H */
