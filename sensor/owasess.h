/*
 * owasess.h — OWA forms-based sessions: which user a session cookie belongs
 * to.
 *
 * An OWA forms login (POST /owa/auth.owa with `username=…`) is answered with
 * the session cookies (cadata… on Exchange 2010-2019); every later OWA
 * request carries them and no credentials.  Binding the cookies the login
 * response set to the login's user lets those requests — the ones that
 * actually read mail — carry the user, across TCP connections.
 *
 * Cookies are session tokens and are never stored: only a keyed 64-bit hash
 * of each `name=value` pair is kept (random per-table key, so the table
 * cannot be aimed at or read back).  At most `max` sessions; the least
 * recently used is forgotten when full (counted).
 */
#ifndef MDM_OWASESS_H
#define MDM_OWASESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct owa_sessions;

struct owa_sessions_stats {
	uint64_t bound;   /* cookie pairs bound to a user */
	uint64_t hits;    /* requests whose cookie named a user */
	uint64_t evicted; /* forgotten for the cap */
};

struct owa_sessions *owa_sessions_new(uint32_t max); /* NULL on failure */
void owa_sessions_free(struct owa_sessions *t);      /* accepts NULL */

/* Binds every cookie of a Set-Cookie header value (several cookies may be
 * comma-joined, attributes are skipped) to `user`. */
void owa_sessions_bind(struct owa_sessions *t, const char *set_cookie, size_t len,
                       const char *user);

/* The user bound to any `name=value` pair of a Cookie header value; false
 * when none.  ret_user gets a NUL-terminated copy (size >= 1). */
bool owa_sessions_lookup(struct owa_sessions *t, const char *cookie, size_t len, char *ret_user,
                         size_t size);

const struct owa_sessions_stats *owa_sessions_stats(const struct owa_sessions *t);

#endif /* MDM_OWASESS_H */
