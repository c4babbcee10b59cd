/* test_remedy.c - failure words and remediation hints from the one table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "oauthtop/remedy.h"

static const char *hint(ot_outcome o, const char *err)
{
	static char buf[512];

	ot_remedy_hint("crm-sync", o, err, buf, sizeof(buf));
	return buf;
}

static void test_invalid_grant(void **state)
{
	(void)state;
	assert_string_equal(hint(OT_OUTCOME_PERMANENT, "invalid_grant: Token is not active"),
	                    "the refresh token expired or was revoked: run `oauthtop authorize "
	                    "crm-sync` (or press a in the console)");
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "invalid_grant"),
	                    "refresh token expired or revoked");
	/* a code is matched whole, not as a prefix of another code */
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "invalid_grantee"),
	                    "grant rejected");
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "bad_refresh_token: x"),
	                    "refresh token expired or revoked");
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "invalid_scope: consent"),
	                    "scope not granted");
	assert_non_null(strstr(hint(OT_OUTCOME_PERMANENT, "invalid_scope"), "consent"));
}

static void test_reuse_and_lost(void **state)
{
	(void)state;
	assert_string_equal(
	        ot_remedy_label(OT_OUTCOME_PERMANENT,
	                        "invalid_grant: Maximum allowed refresh token reuse exceeded"),
	        "refresh token reuse detected");
	assert_non_null(strstr(hint(OT_OUTCOME_PERMANENT,
	                            "invalid_grant: Maximum allowed refresh token Reuse exceeded"),
	                       "one store"));
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "answer lost during rotation"),
	                    "answer lost during rotation");
}

static void test_client(void **state)
{
	char buf[512];
	(void)state;

	assert_string_equal(hint(OT_OUTCOME_CLIENT, "client rejected: invalid_client"),
	                    "the provider rejected the client credentials: fix "
	                    "client_id/client_secret of the provider of crm-sync in the "
	                    "configuration; oauthtop retries when they change");
	ot_remedy_hint_provider("crm-sync", "acme", OT_OUTCOME_CLIENT, NULL, buf, sizeof(buf));
	assert_non_null(strstr(buf, "client_id/client_secret of provider acme in the"));
	/* the health reason alone also says it */
	assert_string_equal(ot_remedy_label(OT_OUTCOME_NONE, "client rejected"), "client rejected");
}

static void test_health_reasons_first(void **state)
{
	(void)state;
	/* the state is reauth because of health's own reason, whatever the last outcome */
	assert_string_equal(ot_remedy_label(OT_OUTCOME_TRANSIENT, "no refresh token"),
	                    "no refresh token");
	assert_non_null(
	        strstr(hint(OT_OUTCOME_OK, "no refresh token"), "`oauthtop authorize crm-sync`"));
	assert_string_equal(ot_remedy_label(OT_OUTCOME_OK, "refresh token expired"),
	                    "refresh token expired");
	assert_non_null(strstr(hint(OT_OUTCOME_NONE, "not authorized yet"),
	                       "`oauthtop import crm-sync FILE`"));
}

static void test_transient_and_nothing(void **state)
{
	(void)state;
	assert_non_null(strstr(hint(OT_OUTCOME_TRANSIENT, "HTTP 503"), "retries automatically"));
	/* a transient failure is transient even if a code appears in its text */
	assert_string_equal(ot_remedy_label(OT_OUTCOME_TRANSIENT, "HTTP 500: invalid_grant"),
	                    "temporary failure");
	assert_string_equal(hint(OT_OUTCOME_OK, NULL), "");
	assert_string_equal(hint(OT_OUTCOME_NONE, NULL), "");
	assert_string_equal(ot_remedy_label(OT_OUTCOME_OK, NULL), "");
	assert_string_equal(ot_remedy_label(OT_OUTCOME_PERMANENT, "vendor_code"), "grant rejected");
	assert_non_null(strstr(hint(OT_OUTCOME_PERMANENT, NULL), "authorize crm-sync"));
}

static void test_truncation(void **state)
{
	static const char pre[] =
	        "the refresh token expired or was revoked: run `oauthtop authorize ";
	char small[20], mid[sizeof(pre) + 12];
	(void)state;

	memset(small, 'x', sizeof(small));
	ot_remedy_hint("crm-sync", OT_OUTCOME_PERMANENT, "invalid_grant", small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "the refresh token e");
	/* a substitution that does not fit is cut, still terminated */
	memset(mid, 'x', sizeof(mid));
	ot_remedy_hint("account-with-a-rather-long-name-for-the-test", OT_OUTCOME_PERMANENT,
	               "invalid_grant: x", mid, sizeof(mid));
	assert_int_equal(strlen(mid), sizeof(mid) - 1);
	assert_memory_equal(mid, pre, strlen(pre));
	assert_memory_equal(mid + strlen(pre), "account-with", sizeof(mid) - 1 - strlen(pre));
	ot_remedy_hint("acct", OT_OUTCOME_PERMANENT, "invalid_grant", small, 0);
	assert_int_equal(small[0], 't');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_invalid_grant),
	        cmocka_unit_test(test_reuse_and_lost),
	        cmocka_unit_test(test_client),
	        cmocka_unit_test(test_health_reasons_first),
	        cmocka_unit_test(test_transient_and_nothing),
	        cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
