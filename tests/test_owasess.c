/*
 * test_owasess.c — OWA session cookies to users: what the forms login set
 * names the user of later requests, and nothing else does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "owasess.h"

static bool look(struct owa_sessions *t, const char *cookie, char *user)
{
	return owa_sessions_lookup(t, cookie, strlen(cookie), user, 64);
}

static void test_login_cookies_name_the_user(void **state)
{
	struct owa_sessions *t = owa_sessions_new(100);
	char user[64];
	(void)state;
	/* Exchange's cadata cookies, comma-joined as libhtp merges them. */
	static const char set[] =
	    "cadata=\"abc==\"; path=/; HttpOnly, cadataTTL=\"NfTb\"; expires=Wed, 21 Oct "
	    "2026 07:28:00 GMT; path=/, cadataKey=k1; secure";
	owa_sessions_bind(t, set, strlen(set), "carol");
	assert_true(look(t, "cadata=\"abc==\"", user));
	assert_string_equal(user, "carol");
	assert_true(look(t, "X-OWA-CANARY=zz; cadataKey=k1", user));
	assert_string_equal(user, "carol");
	/* Attributes are not cookies; other values are other sessions. */
	assert_false(look(t, "path=/", user));
	assert_false(look(t, "expires=Wed", user));
	assert_false(look(t, "cadata=\"abd==\"", user));
	assert_false(look(t, "", user));
	assert_int_equal(owa_sessions_stats(t)->hits, 2);
	owa_sessions_free(t);
}

static void test_cap_forgets_the_oldest(void **state)
{
	struct owa_sessions *t = owa_sessions_new(10);
	char cookie[32], user[64], name[16];
	(void)state;
	for (int i = 0; i < 30; i++) {
		snprintf(cookie, sizeof(cookie), "cadata=%d", i);
		snprintf(name, sizeof(name), "u%d", i);
		owa_sessions_bind(t, cookie, strlen(cookie), name);
	}
	assert_int_equal(owa_sessions_stats(t)->evicted, 20);
	assert_false(look(t, "cadata=0", user));
	assert_true(look(t, "cadata=29", user));
	assert_string_equal(user, "u29");
	owa_sessions_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_login_cookies_name_the_user),
	    cmocka_unit_test(test_cap_forgets_the_oldest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
