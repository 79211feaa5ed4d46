/*
 * fuzz_soap.c — the EWS operation of a SOAP body (dissectors/soap.h), at
 * every prefix length.
 *
 * Input: the HTTP request body.
 *
 * soap.h promises: with `complete` the whole body is given and running out
 * of input is GIVE_UP, never NEED_MORE; without it NEED_MORE means "the
 * prefix ends before the operation is known", so an answer other than
 * NEED_MORE on a prefix is final: the sensor stops there (sensor/exch.c)
 * and it must be the answer the whole body gives (same result, same
 * operation, same truncation).  Also checked: the operation is
 * NUL-terminated inside the buffer, non-empty on OK, and with a small
 * buffer it is reported truncated or equal.
 */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "soap.h"

struct answer {
	enum soap_result r;
	char op[SOAP_OP_MAX];
	bool truncated;
};

static void run(const uint8_t *body, size_t len, bool complete, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	a->r = soap_operation(body, len, complete, a->op, sizeof(a->op), &a->truncated);
	FUZZ_CHECK(a->r >= SOAP_OK && a->r <= SOAP_NO_OPERATION);
	if (a->r == SOAP_OK) {
		FUZZ_CHECK(fuzz_terminated(a->op, sizeof(a->op)));
		FUZZ_CHECK(a->op[0] != '\0');
	}
}

static bool same(const struct answer *a, const struct answer *b)
{
	if (a->r != b->r)
		return false;
	return a->r != SOAP_OK || (!strcmp(a->op, b->op) && a->truncated == b->truncated);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct answer whole, part;
	char tiny[5];
	bool tiny_trunc = false;

	run(data, size, true, &whole);
	FUZZ_CHECK(whole.r != SOAP_NEED_MORE);
	for (size_t plen = 0; plen <= size; plen++) {
		run(data, plen, false, &part);
		if (part.r != SOAP_NEED_MORE)
			FUZZ_CHECK(same(&part, &whole));
	}

	if (whole.r == SOAP_OK) {
		enum soap_result r =
		    soap_operation(data, size, true, tiny, sizeof(tiny), &tiny_trunc);
		FUZZ_CHECK(r == SOAP_OK && fuzz_terminated(tiny, sizeof(tiny)));
		if (!tiny_trunc)
			FUZZ_CHECK(!strcmp(tiny, whole.op));
		else
			FUZZ_CHECK(!strncmp(tiny, whole.op, strlen(tiny)));
	}
	return 0;
}
