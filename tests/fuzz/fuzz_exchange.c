/*
 * fuzz_exchange.c — request-target parsing (dissectors/exchange.h):
 * exchange_path_normalize, exchange_classify, exchange_eas_query and
 * exchange_form_field.
 *
 * Input: the request-target (or form body) as it was on the wire.
 *
 * Checked (exchange.h):
 *   - normalize: the answer does not depend on the output size; the path
 *     starts with '/' and is NUL-terminated inside the buffer; with a small
 *     buffer it is either the whole path (not truncated) or, truncated, a
 *     prefix of it that ends on a segment boundary;
 *   - classify: NONE when normalize gives up; otherwise the route whose
 *     segments lead the normalised path, compared case-insensitively;
 *   - eas_query: *ret untouched unless OK; its strings NUL-terminated;
 *   - form_field: a complete body never answers NEED_MORE, and a prefix
 *     that answers anything else gives the same answer, value and
 *     truncation as the whole body ("NEED_MORE whenever more bytes could
 *     change the answer").
 */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "exchange.h"
#include "fuzz.h"

/* exchange.h's endpoint segments, lower case. */
static const struct {
	const char *path;
	enum exchange_proto proto;
} routes[] = {
    {"/microsoft-server-activesync", EXCHANGE_EAS},
    {"/ews", EXCHANGE_EWS},
    {"/rpc/rpcproxy.dll", EXCHANGE_RPC},
    {"/mapi/emsmdb", EXCHANGE_MAPI},
    {"/mapi/nspi", EXCHANGE_MAPI},
    {"/owa", EXCHANGE_OWA},
    {"/autodiscover", EXCHANGE_AUTODISCOVER},
    {"/oab", EXCHANGE_OAB},
    {"/ecp", EXCHANGE_ECP},
    {"/powershell", EXCHANGE_POWERSHELL},
};

static enum exchange_proto expected_class(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t n = strlen(routes[i].path);

		if (!strncasecmp(path, routes[i].path, n) && (path[n] == '\0' || path[n] == '/'))
			return routes[i].proto;
	}
	return EXCHANGE_NONE;
}

static void check_normalize(const char *t, size_t len)
{
	size_t big_size = 4 * len + 16, small_size = 2 + len % 40;
	char *big = malloc(big_size), *small = malloc(small_size);
	bool big_trunc = true, small_trunc = true;
	enum exchange_result rb, rs;
	enum exchange_proto cls;

	if (!big || !small)
		goto out;
	rb = exchange_path_normalize(t, len, big, big_size, &big_trunc);
	rs = exchange_path_normalize(t, len, small, small_size, &small_trunc);
	cls = exchange_classify(t, len);
	FUZZ_CHECK(rb == rs);
	FUZZ_CHECK(rb == EXCHANGE_OK || rb == EXCHANGE_GIVE_UP);
	if (rb != EXCHANGE_OK) {
		FUZZ_CHECK(cls == EXCHANGE_NONE);
		goto out;
	}
	FUZZ_CHECK(fuzz_terminated(big, big_size) && fuzz_terminated(small, small_size));
	FUZZ_CHECK(big[0] == '/' && small[0] == '/');
	FUZZ_CHECK((exchange_proto_name(cls) == NULL) == (cls == EXCHANGE_NONE));
	if (big_trunc)
		goto out;
	FUZZ_CHECK(cls == expected_class(big));
	size_t n = strlen(small);
	if (!small_trunc) {
		FUZZ_CHECK(!strcmp(small, big));
	} else {
		FUZZ_CHECK(!strncmp(small, big, n));
		FUZZ_CHECK(small[n - 1] == '/' || big[n] == '/');
	}
out:
	free(big);
	free(small);
}

static void check_eas(const char *t, size_t len)
{
	struct exchange_eas_query q, canary;

	memset(&q, 0x5a, sizeof(q));
	memcpy(&canary, &q, sizeof(q));
	enum exchange_result r = exchange_eas_query(t, len, &q);
	FUZZ_CHECK(r == EXCHANGE_OK || r == EXCHANGE_GIVE_UP || r == EXCHANGE_NOT_FOUND);
	if (r != EXCHANGE_OK) {
		FUZZ_CHECK(!memcmp(&q, &canary, sizeof(q)));
		return;
	}
	FUZZ_CHECK(fuzz_terminated(q.cmd, sizeof(q.cmd)));
	FUZZ_CHECK(fuzz_terminated(q.user, sizeof(q.user)));
	FUZZ_CHECK(fuzz_terminated(q.device_id, sizeof(q.device_id)));
	FUZZ_CHECK(fuzz_terminated(q.device_type, sizeof(q.device_type)));
	if (!q.base64)
		FUZZ_CHECK(q.cmd_code == -1);
}

static void check_form(const char *s, size_t len)
{
	static const char *const keys[] = {"username", "User", "DeviceId"};
	const char *key = keys[len % 3];
	char whole[32], part[32];
	bool wt = false, pt = false;
	enum exchange_result rw, rn;

	rw = exchange_form_field(s, len, key, true, whole, sizeof(whole), &wt);
	FUZZ_CHECK(rw != EXCHANGE_NEED_MORE);
	rn = exchange_form_field(s, len, key, false, part, sizeof(part), &pt);
	for (size_t plen = 0;; plen++) {
		if (rn != EXCHANGE_NEED_MORE) {
			FUZZ_CHECK(rn == rw);
			if (rn == EXCHANGE_OK) {
				FUZZ_CHECK(fuzz_terminated(part, sizeof(part)));
				FUZZ_CHECK(!strcmp(part, whole) && pt == wt);
			}
		}
		if (plen >= len)
			break;
		pt = false;
		rn = exchange_form_field(s, plen, key, false, part, sizeof(part), &pt);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A private copy: exact size, so an overread is caught, and char typed. */
	char *t = malloc(size ? size : 1);

	if (!t)
		return 0;
	if (size)
		memcpy(t, data, size);
	check_normalize(t, size);
	check_eas(t, size);
	check_form(t, size);
	free(t);
	return 0;
}
