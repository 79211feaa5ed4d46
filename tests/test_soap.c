/* test_soap.c — EWS operation = first child of the SOAP Body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "soap.h"

static enum soap_result op(const char *xml, bool complete, char *out)
{
	return soap_operation((const uint8_t *)xml, strlen(xml), complete, out, SOAP_OP_MAX, NULL);
}

#define ENV11 "http://schemas.xmlsoap.org/soap/envelope/"
#define ENV12 "http://www.w3.org/2003/05/soap-envelope"
#define MSG   "http://schemas.microsoft.com/exchange/services/2006/messages"
#define TYP   "http://schemas.microsoft.com/exchange/services/2006/types"

static const char find_item[] =
    "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n"
    "<!-- <s:Body><Evil/></s:Body> -->\n"
    "<s:Envelope xmlns:s=\"" ENV11 "\" xmlns:m=\"" MSG "\" xmlns:t=\"" TYP "\" a='x>y'>\n"
    "  <s:Header>\n"
    "    <t:RequestServerVersion Version=\"Exchange2013_SP1\"/>\n"
    "    <t:ExchangeImpersonation><t:ConnectingSID>\n"
    "      <t:PrimarySmtpAddress>bob@contoso.com</t:PrimarySmtpAddress>\n"
    "    </t:ConnectingSID></t:ExchangeImpersonation>\n"
    "    <t:Body>not the SOAP body</t:Body>\n"
    "    <![CDATA[ <s:Body><Wrong/></s:Body> ]]>\n"
    "    <?pi <s:Body> ?>\n"
    "  </s:Header>\n"
    "  <s:Body>\n"
    "    <!-- comment --><m:FindItem Traversal=\"Shallow\">\n"
    "      <m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>\n"
    "    </m:FindItem>\n"
    "  </s:Body>\n"
    "</s:Envelope>\n";

static void prefixes(void **state)
{
	char out[SOAP_OP_MAX];
	(void)state;
	const struct {
		const char *xml, *op;
	} cases[] = {
	    {find_item, "FindItem"},
	    {"<soap:Envelope xmlns:soap=\"" ENV11 "\"><soap:Body><GetItem xmlns=\"" MSG
	     "\"><ItemShape/></GetItem></soap:Body></soap:Envelope>",
	     "GetItem"},
	    {"<soap12:Envelope xmlns:soap12=\"" ENV12 "\"><soap12:Body>"
	     "<m:CreateItem MessageDisposition=\"SendAndSaveCopy\"/></soap12:Body>"
	     "</soap12:Envelope>",
	     "CreateItem"},
	    {"<Envelope xmlns=\"" ENV11 "\"><Header/><Body>\n\t<SyncFolderItems xmlns=\"" MSG
	     "\"></SyncFolderItems></Body></Envelope>",
	     "SyncFolderItems"},
	    {"<env:Envelope xmlns:env=\"" ENV12 "\"><env:Header></env:Header >"
	     "<env:Body ><GetFolder/></env:Body></env:Envelope>",
	     "GetFolder"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(op(cases[i].xml, true, out), SOAP_OK);
		assert_string_equal(out, cases[i].op);
	}
}

/* Every prefix answers NEED_MORE until the operation name is complete. */
static void every_prefix(void **state)
{
	char out[SOAP_OP_MAX];
	const uint8_t *x = (const uint8_t *)find_item;
	size_t len = strlen(find_item);
	size_t done = (size_t)(strstr(find_item, "<m:FindItem") - find_item) + 12;
	(void)state;
	for (size_t i = 0; i <= len; i++) {
		memset(out, 0, sizeof(out));
		enum soap_result r = soap_operation(x, i, false, out, sizeof(out), NULL);
		if (i < done) {
			if (r != SOAP_NEED_MORE)
				fail_msg("prefix %zu: %d", i, r);
		} else {
			assert_int_equal(r, SOAP_OK);
			assert_string_equal(out, "FindItem");
		}
	}
	/* The same prefixes of a complete-but-truncated body are given up. */
	assert_int_equal(soap_operation(x, done - 1, true, out, sizeof(out), NULL), SOAP_GIVE_UP);
}

static void no_operation_and_not_soap(void **state)
{
	char out[SOAP_OP_MAX];
	(void)state;
	assert_int_equal(op("<s:Envelope><s:Body/></s:Envelope>", true, out), SOAP_NO_OPERATION);
	assert_int_equal(op("<s:Envelope><s:Body> <!-- x --> </s:Body></s:Envelope>", true, out),
	                 SOAP_NO_OPERATION);
	assert_int_equal(op("<html><body><FindItem/></body></html>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<s:Envelope/>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<s:Envelope><s:Header/></s:Envelope>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<!DOCTYPE x [<!ENTITY a \"b\">]><s:Envelope><s:Body><A/>", true, out),
	                 SOAP_GIVE_UP);
	/* End-tag names are not matched (a scanner, not a validator). */
	assert_int_equal(op("<s:Envelope><s:Body></s:Envelope>", true, out), SOAP_NO_OPERATION);
	assert_int_equal(op("</s:Envelope>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<s:Envelope><s:Body><:x/>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<s:Envelope><s:Body><a<b/>", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<s:Envelope x=\"1\"/ >", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("", false, out), SOAP_NEED_MORE);
	assert_int_equal(op("", true, out), SOAP_GIVE_UP);
	assert_int_equal(op("<!-", false, out), SOAP_NEED_MORE);
	assert_int_equal(op("<![CDA", false, out), SOAP_NEED_MORE);
	assert_int_equal(soap_operation(NULL, 0, false, out, sizeof(out), NULL), SOAP_NEED_MORE);
	assert_int_equal(soap_operation((const uint8_t *)"<a/>", 4, true, NULL, 0, NULL),
	                 SOAP_GIVE_UP);
}

static void bounds(void **state)
{
	static char x[SOAP_SCAN_MAX + 4096];
	char out[SOAP_OP_MAX], small[5];
	bool trunc = false;
	(void)state;

	/* Deep nesting inside the Header. */
	size_t n = (size_t)snprintf(x, sizeof(x), "<s:Envelope><s:Header>");
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(x + n, sizeof(x) - n, "<a>");
	assert_int_equal(soap_operation((uint8_t *)x, n, false, out, sizeof(out), NULL),
	                 SOAP_GIVE_UP);

	/* A Body beyond the scan window. */
	n = (size_t)snprintf(x, sizeof(x), "<s:Envelope><s:Header><!--");
	memset(x + n, 'x', SOAP_SCAN_MAX);
	n += SOAP_SCAN_MAX;
	n += (size_t)snprintf(x + n, sizeof(x) - n, "--></s:Header><s:Body><GetItem/>");
	assert_int_equal(soap_operation((uint8_t *)x, n, false, out, sizeof(out), NULL),
	                 SOAP_GIVE_UP);
	/* ... but within the window the same prefix is NEED_MORE. */
	assert_int_equal(
	    soap_operation((uint8_t *)x, SOAP_SCAN_MAX - 1, false, out, sizeof(out), NULL),
	    SOAP_NEED_MORE);

	/* A long operation name is truncated and reported. */
	const char *l = "<s:Envelope><s:Body><m:GetUserRetentionPolicyTags/></s:Body></s:Envelope>";
	assert_int_equal(
	    soap_operation((const uint8_t *)l, strlen(l), true, small, sizeof(small), &trunc),
	    SOAP_OK);
	assert_true(trunc);
	assert_string_equal(small, "GetU");
	n = (size_t)snprintf(x, sizeof(x), "<s:Envelope><s:Body><m:");
	memset(x + n, 'N', 200);
	n += 200;
	n += (size_t)snprintf(x + n, sizeof(x) - n, "/>");
	assert_int_equal(soap_operation((uint8_t *)x, n, true, out, sizeof(out), &trunc), SOAP_OK);
	assert_true(trunc);
	assert_int_equal(strlen(out), SOAP_OP_MAX - 1);
}

/* Found by fuzzing (tests/fuzz, corpus soap/): control bytes are not Name
 * characters (XML 1.0 §2.3). */
static void fuzz_regressions(void **state)
{
	char out[SOAP_OP_MAX];
	static const uint8_t a[] = "<Envelope><Body><\0\n";
	static const uint8_t b[] = "<Envelope><Body><Get\0Item>";
	(void)state;
	assert_int_equal(soap_operation(a, sizeof(a) - 1, true, out, sizeof(out), NULL),
	                 SOAP_GIVE_UP);
	assert_int_equal(soap_operation(b, sizeof(b) - 1, true, out, sizeof(out), NULL),
	                 SOAP_GIVE_UP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(prefixes),
	    cmocka_unit_test(every_prefix),
	    cmocka_unit_test(no_operation_and_not_soap),
	    cmocka_unit_test(bounds),
	    cmocka_unit_test(fuzz_regressions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
