/*
 * sqlerr.h — SQLite result codes as negative errno values (internal to db/).
 *
 * The mapping db.h documents: a caller of db_* sees errno values only.
 */
#ifndef MDM_DB_SQLERR_H
#define MDM_DB_SQLERR_H

#include <errno.h>

#include <sqlite3.h>

static inline int sqlerr_errno(int rc)
{
	switch (rc & 0xff) { /* the primary code of an extended one */
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_PERM:
	case SQLITE_AUTH:
	case SQLITE_CANTOPEN:
		return -EACCES;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CONSTRAINT: /* CHECK, NOT NULL, FOREIGN KEY, PRIMARY KEY */
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

#endif /* MDM_DB_SQLERR_H */
