/*
 * privdrop.c — become an unprivileged user for good (see privdrop.h).
 *
 * Order matters: supplementary groups and the group id must change while we
 * are still root; the user id last.  Each step is checked, and so is the
 * result: getting root back must fail.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "privdrop.h"

static int lookup(const char *user, struct passwd *pw, char *buf, size_t n, char *err,
                  size_t errlen)
{
	struct passwd *res = NULL;
	int r = getpwnam_r(user, pw, buf, n, &res);
	if (r != 0 || !res) {
		snprintf(err, errlen, "-Z %s: no such user", user);
		return -(r ? r : ENOENT);
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "-Z %s: that is root; name an unprivileged user", user);
		return -EINVAL;
	}
	return 0;
}

int privdrop_check(const char *user, char *err, size_t errlen)
{
	struct passwd pw;
	char buf[4096];
	return lookup(user, &pw, buf, sizeof(buf), err, errlen);
}

int privdrop_to(const char *user, char *err, size_t errlen)
{
	struct passwd pw;
	char buf[4096];
	int r = lookup(user, &pw, buf, sizeof(buf), err, errlen);
	if (r < 0)
		return r;
	if (initgroups(user, pw.pw_gid) != 0 || setgid(pw.pw_gid) != 0 || setuid(pw.pw_uid) != 0) {
		r = -errno;
		snprintf(err, errlen, "-Z %s: cannot switch to it: %s", user, strerror(errno));
		return r;
	}
	if (setuid(0) == 0 || getuid() != pw.pw_uid || geteuid() != pw.pw_uid) {
		snprintf(err, errlen, "-Z %s: privileges could be regained; stopping", user);
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		r = -errno;
		snprintf(err, errlen, "-Z %s: PR_SET_NO_NEW_PRIVS: %s", user, strerror(errno));
		return r;
	}
	return 0;
}
