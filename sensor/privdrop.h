/*
 * privdrop.h — acquire, then drop privileges (STYLE.md §12; tcpdump -Z).
 *
 * main opens what needs root — the capture interface, the key logs, the
 * database, the outputs — and then calls privdrop_to(): supplementary groups,
 * group and user become those of `user`, no new privileges can be gained
 * (PR_SET_NO_NEW_PRIVS), and since the new user id is not 0 the kernel clears
 * every capability.  Nothing privileged happens afterwards: descriptors
 * opened before stay usable, anything opened later is opened as `user`.
 */
#ifndef MDM_PRIVDROP_H
#define MDM_PRIVDROP_H

#include <stddef.h>

/* 0, or a negative errno with a message naming the user in err.  Refuses
 * to "drop" to root. */
int privdrop_to(const char *user, char *err, size_t errlen);

/* The checks privdrop_to() starts with (the user exists and is not root),
 * for the command line to fail early. */
int privdrop_check(const char *user, char *err, size_t errlen);

#endif /* MDM_PRIVDROP_H */
