/*
 * schema.h — the ordered list of schema migrations (internal to db/).
 *
 * schema_steps[v] takes a database from user_version v to v + 1: a
 * NULL-terminated list of SQL statements (no bound parameters).  Steps are
 * append-only: a step that has shipped is never edited, because databases
 * in the field have already run it; a change is a new step.  migrate.c runs each
 * step in its own transaction together with the user_version bump, so a
 * database is always at exactly one version.
 */
#ifndef MDM_DB_SCHEMA_H
#define MDM_DB_SCHEMA_H

#include <stddef.h>

extern const char *const *const schema_steps[];
extern const size_t schema_nsteps;

#endif /* MDM_DB_SCHEMA_H */
