/*
 * test_detect.c — the correlator driven with synthetic event sequences.
 *
 * Each test is a story an analyst would recognise (DESIGN §3 "Detection"):
 * a refused phone that then reads mail through EWS, the user's own Outlook
 * elsewhere, a borrowed Outlook string, a fallback too late, files read out
 * of order, and the caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "detect.h"

#define S(x)     ((uint64_t)(x)*1000000u)
#define PHONE    "10.0.0.5"
#define LAPTOP   "10.0.0.9"
#define IOS_MAIL "Mail/3654.120.0.1.13 CFNetwork/1410.0.3 Darwin/22.6.0"
#define OUTLOOK  "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)"

struct got {
	int n, news;
	char severity[8][8], rule[8][48], matched_by[8][16], user[8][32], fix[8][512];
	uint64_t count[8];
	int64_t refusal_row[8], fallback_row[8];
};

static void on_alert(void *ctx, const struct detect_alert *a)
{
	struct got *g = ctx;
	assert_true(g->n < 8);
	int i = g->n++;
	if (a->is_new) {
		g->news++;
		*a->sink_slot = 100 + i;
	} else {
		assert_true(*a->sink_slot >= 100); /* the sink's id comes back */
	}
	snprintf(g->severity[i], sizeof(g->severity[i]), "%s", a->severity);
	snprintf(g->rule[i], sizeof(g->rule[i]), "%s", a->rule);
	snprintf(g->matched_by[i], sizeof(g->matched_by[i]), "%s", a->matched_by);
	snprintf(g->user[i], sizeof(g->user[i]), "%s", a->user ? a->user : "NULL");
	snprintf(g->fix[i], sizeof(g->fix[i]), "%s", a->remediation);
	g->count[i] = a->count;
	g->refusal_row[i] = a->refusal_row;
	g->fallback_row[i] = a->fallback_row;
}

static struct detect *mk(struct got *g, uint32_t max_identities)
{
	struct detect_config cfg;
	detect_config_default(&cfg);
	if (max_identities)
		cfg.max_identities = max_identities;
	struct detect *d = detect_new(&cfg, on_alert, g);
	assert_non_null(d);
	memset(g, 0, sizeof(*g));
	return d;
}

static void refusal(struct detect *d, uint64_t ts, const char *user, const char *ip, int64_t row)
{
	struct detect_event ev = {.ts_us = ts,
	                          .user = user,
	                          .client_ip = ip,
	                          .device_id = "ABC123",
	                          .protocol = "EAS",
	                          .status = 403,
	                          .eas_refusal = true,
	                          .txn_row = row,
	                          .user_agent = "Apple-iPhone14C2/2008.73"};
	detect_event(d, &ev);
}

static void txn(struct detect *d, uint64_t ts, const char *user, const char *ip, const char *proto,
                int status, const char *ua, int64_t row)
{
	struct detect_event ev = {.ts_us = ts,
	                          .user = user,
	                          .client_ip = ip,
	                          .protocol = proto,
	                          .status = status,
	                          .user_agent = ua,
	                          .txn_row = row,
	                          .operation = "FindItem"};
	detect_event(d, &ev);
}

static void test_refused_then_ews_high(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1060), "alice", PHONE, "EWS", 200, IOS_MAIL, 2);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.severity[0], "high");
	assert_string_equal(g.rule[0], "activesync-refused-then-ews");
	assert_string_equal(g.matched_by[0], "user");
	assert_string_equal(g.user[0], "alice");
	assert_int_equal(g.refusal_row[0], 1);
	assert_int_equal(g.fallback_row[0], 2);
	assert_non_null(strstr(g.fix[0], "Set-CASMailbox -Identity 'alice' "
	                                 "-EwsApplicationAccessPolicy EnforceAllowList"));
	detect_free(d);
}

static void test_refused_then_401_only(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1010), NULL, PHONE, "EWS", 401, IOS_MAIL, 2);
	txn(d, S(1011), "alice", PHONE, "EWS", 401, IOS_MAIL, 3);
	assert_int_equal(g.n, 0);
	detect_free(d);
}

static void test_outlook_elsewhere_none_borrowed_medium(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1100), "alice", LAPTOP, "EWS", 200, OUTLOOK, 2); /* her laptop: fine */
	txn(d, S(1100), "alice", LAPTOP, "MAPI", 200, OUTLOOK, 3);
	assert_int_equal(g.n, 0);
	txn(d, S(1200), "alice", PHONE, "EWS", 200, OUTLOOK, 4); /* the phone, posing */
	assert_int_equal(g.n, 1);
	assert_string_equal(g.severity[0], "medium");
	/* Outlook's RPC client string counts as allowlisted for RPC only. */
	txn(d, S(1300), "alice", LAPTOP, "RPC", 200, "MSRPC", 5);
	assert_int_equal(g.n, 1);
	detect_free(d);
}

static void test_after_window_no_bypass_alert(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1000) + S(24 * 3600) + 1, "alice", PHONE, "EWS", 200, IOS_MAIL, 2);
	/* Only the low hunting rule can fire: EWS from an unlisted client. */
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "ews-unlisted-client");
	assert_string_equal(g.severity[0], "low");
	/* Outside the window before the refusal, too. */
	txn(d, S(999), "alice", PHONE, "MAPI", 200, IOS_MAIL, 3);
	assert_int_equal(g.n, 1);
	detect_free(d);
}

static void test_ip_only_match(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1030), NULL, PHONE, "OWA", 200, "Mozilla/5.0 (iPhone)", 2);
	txn(d, S(1030), NULL, LAPTOP, "OWA", 200, "Mozilla/5.0 (Windows)", 3);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.matched_by[0], "client_ip");
	assert_string_equal(g.user[0], "NULL");
	assert_string_equal(g.rule[0], "activesync-refused-then-owa");
	assert_non_null(strstr(g.fix[0], "identify the mailbox used from " PHONE));
	detect_free(d);
}

static void test_dedup_then_new_window(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	txn(d, S(1010), "alice", PHONE, "EWS", 200, IOS_MAIL, 2);
	txn(d, S(1020), "alice", PHONE, "EWS", 200, IOS_MAIL, 3);
	txn(d, S(1030), "alice", PHONE, "EWS", 200, IOS_MAIL, 4);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.news, 1);
	assert_int_equal(g.count[2], 3);
	assert_int_equal(g.fallback_row[2], 4);
	/* Another protocol is another alert. */
	txn(d, S(1040), "alice", PHONE, "RPC", 200, "Some-RPC-Client", 5);
	assert_int_equal(g.news, 2);
	/* A day later, a new refusal and fallback: a new alert. */
	refusal(d, S(1000) + S(2 * 86400), "alice", PHONE, 6);
	txn(d, S(1010) + S(2 * 86400), "alice", PHONE, "EWS", 200, IOS_MAIL, 7);
	assert_int_equal(g.news, 3);
	assert_int_equal(g.count[g.n - 1], 1);
	detect_free(d);
}

static void test_out_of_order_files(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	/* Tuesday's file first: the fallback (a hunting hit at that point) ... */
	txn(d, S(5000), "bob", PHONE, "EWS", 200, IOS_MAIL, 10);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "ews-unlisted-client");
	/* ... then Monday's file with the refusal: the bypass alert still comes. */
	refusal(d, S(4000), "bob", PHONE, 9);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.rule[1], "activesync-refused-then-ews");
	assert_string_equal(g.severity[1], "high");
	assert_int_equal(g.refusal_row[1], 9);
	assert_int_equal(g.fallback_row[1], 10);
	/* A second refusal does not count the same fallback again. */
	refusal(d, S(4500), "bob", PHONE, 11);
	assert_int_equal(g.n, 2);
	detect_free(d);
}

static void test_aliases_and_patterns(void **state)
{
	struct got g;
	struct detect_config cfg;
	static const char *const allow[] = {"*Outlook-iOS*", "BlueMail*", "*Android-Mail",
	                                    "exact-client/1.0"};
	static const struct detect_alias al[] = {{"asmith", "alice"}};
	(void)state;
	detect_config_default(&cfg);
	cfg.allow = allow;
	cfg.n_allow = 4;
	cfg.aliases = al;
	cfg.n_aliases = 1;
	struct detect *d = detect_new(&cfg, on_alert, &g);
	memset(&g, 0, sizeof(g));
	assert_true(detect_ua_allowed(d, "Outlook-iOS/723.4027091.prod.iphone (4.2324.0)", "EWS"));
	assert_true(detect_ua_allowed(d, "bluemail/1.9", "EWS"));
	assert_false(detect_ua_allowed(d, "xBlueMail/1.9", "EWS"));
	assert_true(detect_ua_allowed(d, "Samsung Android-Mail", "EWS"));
	assert_true(detect_ua_allowed(d, "EXACT-client/1.0", "EWS"));
	assert_false(detect_ua_allowed(d, "exact-client/1.0 extra", "EWS"));
	assert_false(detect_ua_allowed(d, "MSRPC", "EWS"));
	assert_false(detect_ua_allowed(d, NULL, "EWS"));
	assert_true(detect_pattern_valid("*x*"));
	assert_false(detect_pattern_valid("*"));
	assert_false(detect_pattern_valid("a*b"));
	/* The refusal names asmith, the fallback alice: one person. */
	refusal(d, S(1000), "asmith", PHONE, 1);
	txn(d, S(1001), "alice", PHONE, "MAPI", 200, IOS_MAIL, 2);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.user[0], "alice");
	detect_free(d);
}

static void test_hostile_user_in_remediation(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "o'brien; Remove-Mailbox x", PHONE, 1);
	txn(d, S(1001), "o'brien; Remove-Mailbox x", PHONE, "EWS", 200, IOS_MAIL, 2);
	assert_int_equal(g.n, 1);
	assert_non_null(strstr(g.fix[0], "-Identity 'o''brien; Remove-Mailbox x' "));
	detect_free(d);
}

static void test_identity_cap_evicts(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 100);
	char user[32], ip[32];
	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "user%d", i);
		snprintf(ip, sizeof(ip), "10.1.%d.%d", i / 250, i % 250);
		refusal(d, S(1000 + i), user, ip, i + 1);
	}
	const struct detect_stats *st = detect_stats(d);
	assert_int_equal(st->refusals, 1000);
	assert_int_equal(st->identities, 2000);
	assert_int_equal(st->evicted, 2000 - 100);
	/* The most recent identities are still known ... */
	txn(d, S(2000), "user999", "10.9.9.9", "EWS", 200, IOS_MAIL, 5000);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.rule[0], "activesync-refused-then-ews");
	/* ... the oldest were forgotten: only the hunting rule remains. */
	txn(d, S(2000), "user0", "10.9.9.9", "EWS", 200, IOS_MAIL, 5001);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.rule[1], "ews-unlisted-client");
	detect_free(d);
}

static void test_expiry(void **state)
{
	struct got g;
	struct detect *d = mk(&g, 0);
	(void)state;
	refusal(d, S(1000), "alice", PHONE, 1);
	assert_int_equal(detect_stats(d)->identities, 2);
	/* Three days of other traffic later, alice's state is gone ... */
	txn(d, S(1000) + S(3 * 86400), "bob", LAPTOP, "EWS", 200, OUTLOOK, 2);
	assert_int_equal(detect_stats(d)->expired, 2);
	/* ... and bob, active now, is still there. */
	refusal(d, S(1000) + S(3 * 86400) + 1, "bob", LAPTOP, 3);
	assert_int_equal(detect_stats(d)->expired, 2);
	detect_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refused_then_ews_high),
	    cmocka_unit_test(test_refused_then_401_only),
	    cmocka_unit_test(test_outlook_elsewhere_none_borrowed_medium),
	    cmocka_unit_test(test_after_window_no_bypass_alert),
	    cmocka_unit_test(test_ip_only_match),
	    cmocka_unit_test(test_dedup_then_new_window),
	    cmocka_unit_test(test_out_of_order_files),
	    cmocka_unit_test(test_aliases_and_patterns),
	    cmocka_unit_test(test_hostile_user_in_remediation),
	    cmocka_unit_test(test_identity_cap_evicts),
	    cmocka_unit_test(test_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
