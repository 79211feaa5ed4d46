/*
 * fuzz_wbxml.c — the top-level Status of an ActiveSync WBXML response
 * (dissectors/wbxml.h), at every prefix length.
 *
 * Input: the HTTP response body.
 *
 * wbxml.h promises: with `complete` running out of input is GIVE_UP, never
 * NEED_MORE; without it NEED_MORE means "the prefix ends before the answer
 * is known", so any other answer on a prefix is final (sensor/exch.c stops
 * there) and must be what the whole body gives, with the same status.  A
 * status is within 0 .. 999999999.
 */
#include <stdbool.h>

#include "fuzz.h"
#include "wbxml.h"

#define UNTOUCHED (-12345)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int whole_status = UNTOUCHED;
	enum wbxml_result whole = wbxml_top_status(data, size, true, &whole_status);

	FUZZ_CHECK(whole >= WBXML_OK && whole <= WBXML_NO_STATUS);
	FUZZ_CHECK(whole != WBXML_NEED_MORE);
	if (whole == WBXML_OK) {
		FUZZ_CHECK(whole_status >= 0 && whole_status <= 999999999);
		(void)wbxml_status_is_refusal(whole_status);
	}
	for (size_t plen = 0; plen <= size; plen++) {
		int st = UNTOUCHED;
		enum wbxml_result r = wbxml_top_status(data, plen, false, &st);

		FUZZ_CHECK(r >= WBXML_OK && r <= WBXML_NO_STATUS);
		if (r == WBXML_NEED_MORE)
			continue;
		FUZZ_CHECK(r == whole);
		if (r == WBXML_OK)
			FUZZ_CHECK(st == whole_status);
	}
	return 0;
}
