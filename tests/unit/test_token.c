/* test_token.c - the token-answer parser, the classifier (the scenario rows of
 * idp-scenarios.md at the classify level), Retry-After, applying an answer, backoff. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "oauthtop/token.h"

#define NOW INT64_C(1764084000)

static void parse(const char *s, ot_token_answer *a)
{
	ot_token_parse(s, strlen(s), a);
}

static void expect_malformed(const char *body, const char *reason)
{
	ot_token_answer a;

	parse(body, &a);
	assert_int_equal(a.kind, OT_ANSWER_MALFORMED);
	assert_non_null(a.malformed_reason);
	if (reason)
		assert_string_equal(a.malformed_reason, reason);
	assert_null(a.access_token);
	assert_null(a.refresh_token);
	ot_token_answer_free(&a);
}

/* Classifies status + body with optional headers; the caller frees v->answer. */
static void classify_h(long status, const char *body, const char *retry_after, const char *reset,
                       ot_verdict *v)
{
	ot_http_result r = {0};

	r.status = status;
	r.body = body;
	r.body_len = body ? strlen(body) : 0;
	r.retry_after = retry_after;
	r.rate_limit_reset = reset;
	ot_token_classify(&r, NOW, v);
}

static void expect_verdict(long status, const char *body, ot_outcome outcome, const char *reason,
                           const char *code)
{
	ot_verdict v;

	classify_h(status, body, NULL, NULL, &v);
	assert_int_equal(v.outcome, outcome);
	if (reason)
		assert_string_equal(v.reason, reason);
	assert_string_equal(v.error_code, code ? code : "");
	assert_int_equal(v.retry_at, 0);
	ot_token_answer_free(&v.answer);
}

/* ---- scenario rows -------------------------------------------------------------------- */

static void test_s01_full_answer(void **state)
{
	ot_verdict v;
	(void)state;

	classify_h(200,
	           "{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"expires_in\":3600,"
	           "\"refresh_token\":\"R2\"}",
	           NULL, NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_OK);
	assert_int_equal(v.answer.kind, OT_ANSWER_TOKEN);
	assert_string_equal(v.answer.access_token, "A2");
	assert_string_equal(v.answer.refresh_token, "R2");
	assert_string_equal(v.answer.token_type, "Bearer");
	assert_true(v.answer.has_expires_in);
	assert_int_equal(v.answer.expires_in, 3600);
	assert_int_equal(v.answer.refresh_expires_in, 0);
	assert_null(v.answer.scope);
	assert_string_equal(v.error_code, "");
	ot_token_answer_free(&v.answer);
}

static void test_s02_s03_no_or_empty_refresh_token(void **state)
{
	static const char *const bodies[] = {
	        "{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"expires_in\":3600}",
	        "{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"refresh_token\":\"\"}",
	        "{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"refresh_token\":null}",
	};
	(void)state;

	for (size_t i = 0; i < 3; i++) {
		ot_token_answer a;
		parse(bodies[i], &a);
		assert_int_equal(a.kind, OT_ANSWER_TOKEN);
		assert_null(a.refresh_token);
		ot_token_answer_free(&a);
	}
	expect_malformed("{\"access_token\":\"A2\",\"refresh_token\":42}",
	                 "refresh_token is not a clean string");
}

static void test_s04_expires_in_string(void **state)
{
	ot_token_answer a;
	(void)state;

	parse("{\"access_token\":\"A2\",\"token_type\":\"Bearer\",\"expires_in\":\"3599\"}", &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_int_equal(a.expires_in, 3599);
	ot_token_answer_free(&a);
	expect_malformed("{\"access_token\":\"A2\",\"expires_in\":\"abc\"}",
	                 "expires_in is not a number");
	expect_malformed("{\"access_token\":\"A2\",\"expires_in\":\"\"}", NULL);
	expect_malformed("{\"access_token\":\"A2\",\"expires_in\":\"0x10\"}", NULL);
	expect_malformed("{\"access_token\":\"A2\",\"expires_in\":true}", NULL);
	expect_malformed("{\"access_token\":\"A2\",\"expires_in\":{\"v\":1}}", NULL);
	expect_verdict(200, "{\"access_token\":\"A2\",\"expires_in\":\"abc\"}",
	               OT_OUTCOME_TRANSIENT, "malformed answer: expires_in is not a number", NULL);
}

static void test_s05_no_expires_in(void **state)
{
	ot_token_answer a;
	(void)state;

	parse("{\"access_token\":\"A2\",\"token_type\":\"Bearer\"}", &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_false(a.has_expires_in);
	ot_token_answer_free(&a);
	parse("{\"access_token\":\"A2\",\"expires_in\":null}", &a);
	assert_false(a.has_expires_in);
	ot_token_answer_free(&a);
}

static int64_t expires_of(const char *value)
{
	char body[128];
	ot_token_answer a;
	int64_t v;

	snprintf(body, sizeof(body), "{\"access_token\":\"A2\",\"expires_in\":%s}", value);
	parse(body, &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_true(a.has_expires_in);
	v = a.expires_in;
	ot_token_answer_free(&a);
	return v;
}

static void test_s06_expires_in_edges(void **state)
{
	(void)state;
	assert_int_equal(expires_of("0"), 0);
	assert_int_equal(expires_of("-1"), 0);
	assert_int_equal(expires_of("3599.9"), 3599);
	assert_int_equal(expires_of("1e12"), 315360000);
	assert_int_equal(expires_of("\"1e12\""), 315360000);
	assert_int_equal(expires_of("1e999"), 315360000);
	assert_int_equal(expires_of("\"-5\""), 0);
	assert_int_equal(expires_of("\" 3599.9 \""), 3599);
	assert_int_equal(expires_of("315360001"), 315360000);
}

static void test_s07_token_type(void **state)
{
	static const char *const in[] = {"\"bearer\"", "\"BEARER\"", "\"Bearer\"",
	                                 "\"\"",       "null",       "\"DPoP\""};
	static const char *const want[] = {"Bearer", "Bearer", "Bearer",
	                                   "Bearer", "Bearer", "DPoP"};
	(void)state;

	for (size_t i = 0; i < 6; i++) {
		char body[128];
		ot_token_answer a;
		snprintf(body, sizeof(body), "{\"access_token\":\"A2\",\"token_type\":%s}", in[i]);
		parse(body, &a);
		assert_int_equal(a.kind, OT_ANSWER_TOKEN);
		assert_string_equal(a.token_type, want[i]);
		ot_token_answer_free(&a);
	}
	expect_malformed("{\"access_token\":\"A2\",\"token_type\":1}",
	                 "token_type is not a string");
}

static void test_s08_to_s10_refresh_expiry(void **state)
{
	static const struct {
		const char *body;
		int64_t want;
	} cases[] = {
	        {"{\"access_token\":\"A\",\"refresh_expires_in\":1800}", 1800},
	        {"{\"access_token\":\"A\",\"refresh_expires_in\":0}", 0},
	        {"{\"access_token\":\"A\",\"refresh_token_expires_in\":15811200}", 15811200},
	        {"{\"access_token\":\"A\",\"x_refresh_token_expires_in\":\"8726400\"}", 8726400},
	        {"{\"access_token\":\"A\",\"refresh_expires_in\":null,"
	         "\"refresh_token_expires_in\":60}",
	         60},
	        {"{\"access_token\":\"A\",\"refresh_expires_in\":30,\"refresh_token_expires_in\":"
	         "60}",
	         30},
	        {"{\"access_token\":\"A\",\"refresh_expires_in\":-3}", 0},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ot_token_answer a;
		parse(cases[i].body, &a);
		assert_int_equal(a.kind, OT_ANSWER_TOKEN);
		assert_int_equal(a.refresh_expires_in, cases[i].want);
		ot_token_answer_free(&a);
	}
	expect_malformed("{\"access_token\":\"A\",\"refresh_token_expires_in\":\"soon\"}",
	                 "refresh_token_expires_in is not a number");
}

static void test_s09_empty_scope(void **state)
{
	ot_token_answer a;
	(void)state;

	parse("{\"access_token\":\"A\",\"token_type\":\"bearer\",\"scope\":\"\","
	      "\"refresh_token_expires_in\":15811200}",
	      &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_non_null(a.scope);
	assert_string_equal(a.scope, "");
	ot_token_answer_free(&a);
	parse("{\"access_token\":\"A\",\"scope\":[\"read\",\"write\"]}", &a);
	assert_string_equal(a.scope, "read write");
	ot_token_answer_free(&a);
}

static void test_s11_extra_members_ignored(void **state)
{
	ot_token_answer a;
	(void)state;

	parse("{\"token_type\":\"Bearer\",\"ext_expires_in\":3599,\"error_codes\":[70008],"
	      "\"obj\":{\"a\":[1,2,{\"b\":null}]},\"not-before-policy\":0,"
	      "\"session_state\":\"x\",\"id_token\":\"I\",\"issued_at\":\"1700000000000\","
	      "\"access_token\":\"A2\",\"expires_in\":3599}",
	      &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_string_equal(a.access_token, "A2");
	assert_int_equal(a.expires_in, 3599);
	assert_string_equal(a.id_token, "I");
	ot_token_answer_free(&a);
}

static void test_s12_html_page(void **state)
{
	(void)state;
	expect_verdict(200, "<!DOCTYPE html><html><body>Sign in</body></html>",
	               OT_OUTCOME_TRANSIENT, "malformed answer: HTML page, not a token answer",
	               NULL);
	expect_verdict(404, "<html>not found</html>", OT_OUTCOME_TRANSIENT, "HTTP 404", NULL);
}

static void test_s13_error_in_200(void **state)
{
	(void)state;
	expect_verdict(
	        200,
	        "{\"error\":\"bad_refresh_token\",\"error_description\":\"The refresh token "
	        "passed is incorrect or expired.\",\"error_uri\":\"https://docs.github.com\"}",
	        OT_OUTCOME_PERMANENT,
	        "bad_refresh_token: The refresh token passed is incorrect or expired.",
	        "bad_refresh_token");
	/* an error with an access token: the error wins */
	expect_verdict(200, "{\"access_token\":\"A2\",\"error\":\"invalid_grant\"}",
	               OT_OUTCOME_PERMANENT, "invalid_grant", "invalid_grant");
}

static void test_s14_truncated(void **state)
{
	(void)state;
	expect_verdict(200, "{\"access_token\":\"A2\",\"refr", OT_OUTCOME_TRANSIENT,
	               "malformed answer: truncated JSON", NULL);
	expect_malformed("{\"access_token\":\"A2\"", "truncated JSON");
	expect_malformed("{\"access_token\":[1,2", "truncated JSON");
}

static void test_s15_to_s17_invalid_grant(void **state)
{
	(void)state;
	expect_verdict(
	        400,
	        "{\"error\":\"invalid_grant\",\"error_description\":\"Token has been expired "
	        "or revoked.\"}",
	        OT_OUTCOME_PERMANENT, "invalid_grant: Token has been expired or revoked.",
	        "invalid_grant");
	expect_verdict(403,
	               "{\"error\":\"invalid_grant\",\"error_description\":\"Unknown or invalid "
	               "refresh token.\"}",
	               OT_OUTCOME_PERMANENT, "invalid_grant: Unknown or invalid refresh token.",
	               "invalid_grant");
	expect_verdict(400, "{\"reason\":\"Invalid Token!\",\"error\":\"invalid_grant\"}",
	               OT_OUTCOME_PERMANENT, "invalid_grant: Invalid Token!", "invalid_grant");
	/* Entra: error_codes, trace_id ignored */
	expect_verdict(400,
	               "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: "
	               "expired\",\"error_codes\":[70008],\"trace_id\":\"t\"}",
	               OT_OUTCOME_PERMANENT, "invalid_grant: AADSTS70008: expired",
	               "invalid_grant");
}

static void test_s18_s19_client_rejected(void **state)
{
	(void)state;
	expect_verdict(401,
	               "{\"error\":\"invalid_client\",\"error_description\":\"Invalid client "
	               "secret\"}",
	               OT_OUTCOME_CLIENT, "client rejected: invalid_client: Invalid client secret",
	               "invalid_client");
	expect_verdict(401, "{\"error\":\"server_error\",\"error_description\":\"access_denied\"}",
	               OT_OUTCOME_CLIENT, "client rejected: server_error: access_denied",
	               "server_error");
	expect_verdict(401, "", OT_OUTCOME_CLIENT, "client rejected: HTTP 401", NULL);
	expect_verdict(400, "{\"error\":\"invalid_client\"}", OT_OUTCOME_CLIENT,
	               "client rejected: invalid_client", "invalid_client");
	expect_verdict(400, "{\"error\":\"unauthorized_client\"}", OT_OUTCOME_CLIENT,
	               "client rejected: unauthorized_client", "unauthorized_client");
	expect_verdict(200, "{\"error\":\"invalid_client\"}", OT_OUTCOME_CLIENT,
	               "client rejected: invalid_client", "invalid_client");
}

static void test_s20_invalid_scope(void **state)
{
	(void)state;
	expect_verdict(400, "{\"error\":\"invalid_scope\",\"error_description\":\"consent\"}",
	               OT_OUTCOME_PERMANENT, "invalid_scope: consent", "invalid_scope");
	expect_verdict(400, "{\"error\":\"invalid_request\"}", OT_OUTCOME_PERMANENT,
	               "invalid_request", "invalid_request");
}

static void test_s23_429_retry_after(void **state)
{
	ot_verdict v;
	(void)state;

	classify_h(429, "{\"error\":\"rate_limited\"}", "60", NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "HTTP 429: rate_limited");
	assert_int_equal(v.retry_at, NOW + 60);
	ot_token_answer_free(&v.answer);
	classify_h(429, "", NULL, NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "HTTP 429");
	assert_int_equal(v.retry_at, 0);
	ot_token_answer_free(&v.answer);
}

static void test_s24_rate_limit_reset(void **state)
{
	ot_verdict v;
	char epoch[32];
	(void)state;

	snprintf(epoch, sizeof(epoch), "%lld", (long long)(NOW + 45));
	classify_h(429, "{}", NULL, epoch, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_int_equal(v.retry_at, NOW + 45);
	ot_token_answer_free(&v.answer);
	classify_h(429, "{}", NULL, "20", &v); /* a small value is a delta */
	assert_int_equal(v.retry_at, NOW + 20);
	ot_token_answer_free(&v.answer);
	snprintf(epoch, sizeof(epoch), "%lld", (long long)(NOW - 45));
	classify_h(429, "{}", NULL, epoch, &v); /* already past: no wait imposed */
	assert_int_equal(v.retry_at, 0);
	ot_token_answer_free(&v.answer);
	classify_h(429, "{}", NULL, "soon", &v);
	assert_int_equal(v.retry_at, 0);
	ot_token_answer_free(&v.answer);
	classify_h(429, "{}", NULL, "99999999999", &v); /* capped at a day */
	assert_int_equal(v.retry_at, NOW + 86400);
	ot_token_answer_free(&v.answer);
	/* epoch milliseconds (some gateways): the same instant, not a day's wait */
	snprintf(epoch, sizeof(epoch), "%lld500", (long long)(NOW + 44));
	classify_h(429, "{}", NULL, epoch, &v);
	assert_int_equal(v.retry_at, NOW + 45);
	ot_token_answer_free(&v.answer);
	/* Retry-After wins over the reset header */
	classify_h(429, "{}", "10", "20", &v);
	assert_int_equal(v.retry_at, NOW + 10);
	ot_token_answer_free(&v.answer);
}

static void test_s25_503_temporarily_unavailable(void **state)
{
	ot_verdict v;
	(void)state;

	classify_h(503, "{\"error\":\"temporarily_unavailable\"}", "30", NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "HTTP 503: temporarily_unavailable");
	assert_string_equal(v.error_code, "temporarily_unavailable");
	assert_int_equal(v.retry_at, NOW + 30);
	ot_token_answer_free(&v.answer);
	/* the error code alone, in a 400 or a 200, is transient too */
	expect_verdict(400, "{\"error\":\"temporarily_unavailable\"}", OT_OUTCOME_TRANSIENT,
	               "temporarily_unavailable", "temporarily_unavailable");
	expect_verdict(400, "{\"error\":\"slow_down\"}", OT_OUTCOME_TRANSIENT, "slow_down",
	               "slow_down");
	/* 5xx whatever the body, even invalid_grant */
	expect_verdict(500, "{\"error\":\"invalid_grant\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 500: invalid_grant", "invalid_grant");
}

static void test_s26_server_and_transport_errors(void **state)
{
	ot_http_result r = {0};
	ot_verdict v;
	(void)state;

	expect_verdict(500, "Internal Server Error", OT_OUTCOME_TRANSIENT, "HTTP 500", NULL);
	expect_verdict(502, "", OT_OUTCOME_TRANSIENT, "HTTP 502", NULL);
	expect_verdict(504, NULL, OT_OUTCOME_TRANSIENT, "HTTP 504", NULL);
	r.transport_error = 7;
	r.transport_msg = "connection refused";
	ot_token_classify(&r, NOW, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "connection refused");
	assert_int_equal(v.answer.kind, OT_ANSWER_MALFORMED);
	ot_token_answer_free(&v.answer);
	r.transport_msg = NULL;
	ot_token_classify(&r, NOW, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "request failed before an answer");
	ot_token_answer_free(&v.answer);
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.body = "{\"access_token\":\"A2\"}";
	r.body_len = strlen(r.body);
	r.body_truncated = true;
	ot_token_classify(&r, NOW, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_TRANSIENT);
	assert_string_equal(v.reason, "answer larger than 1 MiB");
	assert_null(v.answer.access_token);
	ot_token_answer_free(&v.answer);
}

static void test_s27_redirect(void **state)
{
	(void)state;
	expect_verdict(302, "", OT_OUTCOME_TRANSIENT, "HTTP 302 redirect not followed", NULL);
	expect_verdict(307, "{\"access_token\":\"A2\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 307 redirect not followed", NULL);
}

static void test_s28_form_encoded(void **state)
{
	ot_token_answer a;
	(void)state;

	parse("access_token=gho_A%2B2&expires_in=28800&refresh_token=ghr_R+2"
	      "&refresh_token_expires_in=15811200&scope=&token_type=bearer\r\n",
	      &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_string_equal(a.access_token, "gho_A+2");
	assert_string_equal(a.refresh_token, "ghr_R 2");
	assert_int_equal(a.expires_in, 28800);
	assert_int_equal(a.refresh_expires_in, 15811200);
	assert_string_equal(a.scope, "");
	assert_string_equal(a.token_type, "Bearer");
	ot_token_answer_free(&a);
	expect_verdict(200,
	               "error=bad_refresh_token&error_description=The+refresh+token+passed+is+"
	               "incorrect+or+expired.&error_uri=https%3A%2F%2Fdocs.github.com",
	               OT_OUTCOME_PERMANENT,
	               "bad_refresh_token: The refresh token passed is incorrect or expired.",
	               "bad_refresh_token");
	expect_malformed("access_token=A%2", "not JSON or form-encoded");
	expect_malformed("access_token=A%zz", "not JSON or form-encoded");
	expect_malformed("=A", "not JSON or form-encoded");
	expect_malformed("Service Unavailable", "not JSON or form-encoded");
	expect_malformed("access_token=A%0D%0AX-Evil:1",
	                 "access_token contains control characters");
	expect_malformed("access_token=A%00B", "access_token contains control characters");
	/* duplicate keys: the first wins, as for JSON */
	parse("access_token=A1&access_token=A2", &a);
	assert_string_equal(a.access_token, "A1");
	ot_token_answer_free(&a);
}

/* ---- vendor bodies -------------------------------------------------------------------- */

static void test_vendor_error_bodies(void **state)
{
	(void)state;
	expect_verdict(400, "{\"status\":\"BAD_REFRESH_TOKEN\",\"message\":\"expired\"}",
	               OT_OUTCOME_PERMANENT, "bad_refresh_token: expired", "bad_refresh_token");
	expect_verdict(200, "{\"status\":\"BAD_REFRESH_TOKEN\"}", OT_OUTCOME_PERMANENT,
	               "bad_refresh_token", "bad_refresh_token");
	expect_verdict(400, "{\"errors\":[{\"code\":\"token_revoked\",\"message\":\"gone\"}]}",
	               OT_OUTCOME_PERMANENT, "token_revoked: gone", "token_revoked");
	expect_verdict(
	        400,
	        "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":\"INVALID_ARGUMENT\"}}",
	        OT_OUTCOME_PERMANENT, "invalid_argument: bad", "invalid_argument");
	/* success words and numbers are not error codes */
	expect_verdict(200, "{\"status\":\"OK\"}", OT_OUTCOME_TRANSIENT,
	               "malformed answer: no access_token", NULL);
	expect_verdict(404, "{\"timestamp\":\"t\",\"status\":404,\"error\":\"Not Found\"}",
	               OT_OUTCOME_TRANSIENT, "HTTP 404", NULL);
	expect_verdict(200, "{\"access_token\":\"\",\"token_type\":\"Bearer\"}",
	               OT_OUTCOME_TRANSIENT, "malformed answer: no access_token", NULL);
	expect_verdict(200, "{}", OT_OUTCOME_TRANSIENT, "malformed answer: no access_token", NULL);
	expect_verdict(418, "{}", OT_OUTCOME_TRANSIENT, "HTTP 418", NULL);
	expect_verdict(204, "", OT_OUTCOME_TRANSIENT, "malformed answer: empty body", NULL);
}

/* ---- garbage -------------------------------------------------------------------------- */

static char *nested(int depth)
{
	size_t n = (size_t)depth * 8 + 64;
	char *s = malloc(n);
	size_t o = 0;

	assert_non_null(s);
	o += (size_t)snprintf(s, n, "{\"access_token\":\"A\",\"x\":");
	for (int i = 1; i < depth; i++)
		o += (size_t)snprintf(s + o, n - o, "[");
	for (int i = 1; i < depth; i++)
		o += (size_t)snprintf(s + o, n - o, "]");
	snprintf(s + o, n - o, "}");
	return s;
}

static void test_garbage(void **state)
{
	ot_token_answer a;
	char *s;
	(void)state;

	expect_malformed("", "empty body");
	expect_malformed(" \r\n\t", "empty body");
	expect_malformed("null", "JSON but not an object");
	expect_malformed("[]", "JSON but not an object");
	expect_malformed("\"access_token\"", "JSON but not an object");
	expect_malformed("42", "JSON but not an object");
	expect_malformed("{garbage}", "invalid JSON");
	expect_malformed("{\"access_token\":\"A\"} trailing",
	                 "trailing data after the JSON object");
	expect_malformed("{\"access_token\":\"A\"}{}", "trailing data after the JSON object");
	expect_malformed("\x01\x02\x03", "not JSON or form-encoded");
	ot_token_parse(NULL, 5, &a);
	assert_int_equal(a.kind, OT_ANSWER_MALFORMED);
	assert_string_equal(a.malformed_reason, "empty body");
	ot_token_answer_free(&a);
	/* BOM and whitespace before the object */
	parse("\xef\xbb\xbf \n{\"access_token\":\"A\"}\n", &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	ot_token_answer_free(&a);
	/* nesting: 32 levels fine, 33 refused before cJSON recurses, 100000 too */
	s = nested(32);
	parse(s, &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	ot_token_answer_free(&a);
	free(s);
	s = nested(33);
	expect_malformed(s, "JSON nesting too deep");
	free(s);
	s = nested(100000);
	expect_malformed(s, "JSON nesting too deep");
	free(s);
	/* brackets inside strings do not count */
	parse("{\"access_token\":\"A\",\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	ot_token_answer_free(&a);
}

static void test_nul_and_control_characters(void **state)
{
	ot_token_answer a;
	static const char raw[] = "{\"access_token\":\"A\0B\"}";
	(void)state;

	expect_malformed("{\"access_token\":\"A\\u0000B\"}",
	                 "access_token contains control characters");
	expect_malformed("{\"access_token\":\"A\",\"refresh_token\":\"R\\u0000X\"}",
	                 "refresh_token is not a clean string");
	expect_malformed("{\"access_token\":\"A\\r\\nX-Evil: 1\"}",
	                 "access_token contains control characters");
	/* a NUL in a key must not make it match "access_token" */
	expect_malformed("{\"access_token\\u0000x\":\"A\"}", "no access_token");
	/* an escaped backslash before u0000 is not an escape of NUL */
	parse("{\"access_token\":\"A\\\\u0000\"}", &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_string_equal(a.access_token, "A\\u0000");
	ot_token_answer_free(&a);
	/* a raw NUL byte */
	ot_token_parse(raw, sizeof(raw) - 1, &a);
	assert_int_equal(a.kind, OT_ANSWER_MALFORMED);
	assert_string_equal(a.malformed_reason, "NUL byte in the answer");
	ot_token_answer_free(&a);
	/* NUL in a description is harmless: sanitised */
	parse("{\"error\":\"invalid_grant\",\"error_description\":\"a\\u0000b\"}", &a);
	assert_int_equal(a.kind, OT_ANSWER_ERROR);
	assert_string_equal(a.error_description, "a?b");
	ot_token_answer_free(&a);
}

static void test_size_bound(void **state)
{
	size_t n = OT_ANSWER_MAX + 1;
	char *big = malloc(n);
	ot_token_answer a;
	int k;
	(void)state;

	assert_non_null(big);
	memset(big, ' ', n);
	k = snprintf(big, n, "{\"access_token\":\"A\"}");
	big[k] = ' ';
	ot_token_parse(big, n, &a);
	assert_int_equal(a.kind, OT_ANSWER_MALFORMED);
	assert_string_equal(a.malformed_reason, "answer larger than 1 MiB");
	ot_token_answer_free(&a);
	/* exactly 1 MiB is fine, and a token that large is accepted (no fixed buffers) */
	memset(big, 'x', n);
	memcpy(big, "{\"access_token\":\"", 17);
	memcpy(big + OT_ANSWER_MAX - 2, "\"}", 2);
	ot_token_parse(big, OT_ANSWER_MAX, &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	assert_int_equal(strlen(a.access_token), OT_ANSWER_MAX - 19);
	ot_token_answer_free(&a);
	free(big);
}

static void test_sanitised_server_text(void **state)
{
	ot_token_answer a;
	ot_verdict v;
	char body[512];
	(void)state;

	/* invalid UTF-8 and non-ASCII become '?' */
	parse("{\"error\":\"invalid_grant\",\"error_description\":\"caf\xc3\xa9 \xff\x1b[31m\"}",
	      &a);
	assert_int_equal(a.kind, OT_ANSWER_ERROR);
	assert_string_equal(a.error_description, "caf?? ??[31m");
	ot_token_answer_free(&a);
	/* a long description is cut */
	snprintf(body, sizeof(body), "{\"error\":\"invalid_grant\",\"error_description\":\"%s\"}",
	         "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a "
	         "a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a a "
	         "a");
	parse(body, &a);
	assert_true(strlen(a.error_description) <= 120);
	assert_string_equal(a.error_description + strlen(a.error_description) - 3, "...");
	ot_token_answer_free(&a);
	/* a token echoed back by the server is redacted */
	classify_h(400,
	           "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh token: "
	           "1//0gSECRETSECRETSECRETSECRETSECRETSECRETSECRETxyz\"}",
	           NULL, NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_PERMANENT);
	assert_string_equal(v.reason, "invalid_grant: Invalid refresh token: [redacted]");
	ot_token_answer_free(&v.answer);
}


/* Review 7: a wrong token URL (404 {"error":"not_found"}) or a gateway body is a transient
 * failure naming the status, never a reauth; the rows' codes stay permanent. */
static void test_review7_wrong_url_is_transient(void **state)
{
	(void)state;
	expect_verdict(404, "{\"error\":\"not_found\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 404: not_found \u2014 check token_url", "not_found");
	expect_verdict(405, "{\"error\":\"method_not_allowed\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 405: method_not_allowed \u2014 check token_url",
	               "method_not_allowed");
	expect_verdict(415, "{\"error\":\"invalid_request\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 415: invalid_request \u2014 check token_url", "invalid_request");
	expect_verdict(404, "{\"code\":\"NOT_FOUND\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 404: not_found \u2014 check token_url", "not_found");
	expect_verdict(400, "{\"status\":\"ERROR\"}", OT_OUTCOME_TRANSIENT, "HTTP 400: error",
	               "error");
	expect_verdict(200, "{\"status\":\"ERROR\",\"message\":\"busy\"}",
	               OT_OUTCOME_TRANSIENT, "HTTP 200: error: busy", "error");
	expect_verdict(403, "{\"code\":\"NOT_FOUND\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 403: not_found", "not_found");
	/* known refresh-token codes stay permanent with 400 / 403 / 200 */
	expect_verdict(400, "{\"error\":\"invalid_token\"}", OT_OUTCOME_PERMANENT,
	               "invalid_token", "invalid_token");
	expect_verdict(403, "{\"error\":\"expired_token\"}", OT_OUTCOME_PERMANENT,
	               "expired_token", "expired_token");
	expect_verdict(400, "{\"error\":\"unsupported_grant_type\"}", OT_OUTCOME_PERMANENT,
	               "unsupported_grant_type", "unsupported_grant_type");
	/* but not with a status that says the URL is wrong */
	expect_verdict(404, "{\"error\":\"invalid_grant\"}", OT_OUTCOME_TRANSIENT,
	               "HTTP 404: invalid_grant \u2014 check token_url", "invalid_grant");
}

/* Review 9: a UUID or hex token the server echoes is redacted although shorter than 40. */
static void test_review9_uuid_redacted(void **state)
{
	ot_verdict v;
	ot_token_answer a;
	char body[512];
	(void)state;

	classify_h(400,
	           "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid refresh "
	           "token: 3f2b8c4e-91d7-4a5b-b2c6-0e8f7a9d1c23\"}",
	           NULL, NULL, &v);
	assert_int_equal(v.outcome, OT_OUTCOME_PERMANENT);
	assert_string_equal(v.reason, "invalid_grant: Invalid refresh token: [redacted]");
	ot_token_answer_free(&v.answer);
	classify_h(400,
	           "{\"error\":\"invalid_grant\",\"error_description\":\"token "
	           "9f86d081884c7d659a2feaa0c55ad015 unknown\"}",
	           NULL, NULL, &v);
	assert_string_equal(v.reason, "invalid_grant: token [redacted] unknown");
	ot_token_answer_free(&v.answer);
	/* a text cut inside its last word says so ("..."), so a cut token can be recognised */
	snprintf(body, sizeof(body),
	         "{\"error\":\"invalid_grant\",\"error_description\":\"%s%s\"}",
	         "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x "
	         "x x x x x x x x x x x x x x ",
	         "tok-QWERTYUIOPqwertyuiop");
	parse(body, &a);
	assert_int_equal(strlen(a.error_description), 120);
	assert_string_equal(a.error_description + 110, "tok-QWE...");
	ot_token_answer_free(&a);
	/* ordinary words, codes and dates stay */
	classify_h(400,
	           "{\"error\":\"invalid_grant\",\"error_description\":\"AADSTS70008: "
	           "expired on 2024-01-02T03:04:05Z\"}",
	           NULL, NULL, &v);
	assert_string_equal(v.reason, "invalid_grant: AADSTS70008: expired on 2024-01-02T03:04:05Z");
	ot_token_answer_free(&v.answer);
}

/* The reason never carries a token value, whatever the answer. */
static void test_reason_never_has_tokens(void **state)
{
	static const char *const bodies[] = {
	        "{\"access_token\":\"SECRETA\",\"refresh_token\":\"SECRETR\",\"expires_in\":\"x\"}",
	        "{\"access_token\":\"SECRETA\",\"refresh_token\":\"SECRETR\"",
	        "{\"access_token\":\"SECRETA\",\"error\":\"invalid_grant\"}",
	        "{\"access_token\":\"SECRETA\"} SECRETR",
	        "access_token=SECRETA&expires_in=SECRETR",
	        "<html>SECRETA</html>",
	        "{\"access_token\":\"SECRETA\\u0000\"}",
	        "{\"error\":\"Bad Request\",\"refresh_token\":\"SECRETR\"}",
	};
	static const long statuses[] = {200, 400, 401, 429, 302, 404};
	(void)state;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
			ot_verdict v;
			classify_h(statuses[k], bodies[i], NULL, NULL, &v);
			assert_null(strstr(v.reason, "SECRET"));
			if (v.answer.malformed_reason)
				assert_null(strstr(v.answer.malformed_reason, "SECRET"));
			ot_token_answer_free(&v.answer);
		}
}

/* ---- Retry-After ---------------------------------------------------------------------- */

static void test_retry_after(void **state)
{
	/* 1764084000 = Tue, 25 Nov 2025 15:20:00 GMT */
	(void)state;
	assert_int_equal(ot_parse_retry_after("120", NOW), NOW + 120);
	assert_int_equal(ot_parse_retry_after(" 30 ", NOW), NOW + 30);
	assert_int_equal(ot_parse_retry_after("0", NOW), NOW);
	assert_int_equal(ot_parse_retry_after("99999999999999999999999", NOW), NOW + 86400);
	assert_int_equal(ot_parse_retry_after("Tue, 25 Nov 2025 15:21:40 GMT", NOW), NOW + 100);
	assert_int_equal(ot_parse_retry_after("Tuesday, 25-Nov-25 15:21:40 GMT", NOW), NOW + 100);
	assert_int_equal(ot_parse_retry_after("Tue Nov 25 15:21:40 2025", NOW), NOW + 100);
	assert_int_equal(ot_parse_retry_after("Tue Nov  5 15:21:40 2025", NOW - 20 * 86400),
	                 NOW - 20 * 86400 + 100);
	assert_int_equal(ot_parse_retry_after("Wed, 26 Nov 2025 15:20:00 GMT", NOW), NOW + 86400);
	assert_int_equal(ot_parse_retry_after("Fri, 26 Dec 2025 15:20:00 GMT", NOW), NOW + 86400);
	assert_int_equal(ot_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW), 0);
	assert_int_equal(ot_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111700),
	                 784111777);
	assert_int_equal(ot_parse_retry_after("-5", NOW), 0);
	assert_int_equal(ot_parse_retry_after("12abc", NOW), 0);
	assert_int_equal(ot_parse_retry_after("soon", NOW), 0);
	assert_int_equal(ot_parse_retry_after("", NOW), 0);
	assert_int_equal(ot_parse_retry_after(NULL, NOW), 0);
	assert_int_equal(ot_parse_retry_after("Tue, 25 Foo 2025 15:21:40 GMT", NOW), 0);
	assert_int_equal(ot_parse_retry_after("Tue, 25 Nov 2025 25:21:40 GMT", NOW), 0);
	assert_int_equal(ot_parse_retry_after("Tue, 25 Nov 2025 15:21:40 GMT junk", NOW), 0);
	assert_int_equal(ot_parse_retry_after("Tue, 25 Nov 2025 15:21:40", NOW), 0);
}

/* ---- apply ---------------------------------------------------------------------------- */

static void cred_with_r1(ot_credential *c)
{
	memset(c, 0, sizeof(*c));
	ot_credential_set_str(&c->account, "acct");
	ot_credential_set_str(&c->access_token, "A1");
	ot_credential_set_str(&c->refresh_token, "R1");
	ot_credential_set_str(&c->scope, "old scope");
	ot_credential_set_str(&c->last_error, "HTTP 503");
	ot_credential_set_str(&c->client_fp, "0123456789abcdef");
	ot_fingerprint("R1", c->refresh_fp);
	c->has_access_token = 1;
	c->has_refresh_token = 1;
	c->refresh_issued_at = NOW - 1000;
	c->refresh_expires_at = NOW + 5000;
	c->last_outcome = OT_OUTCOME_TRANSIENT;
	c->failures = 3;
	c->next_attempt_at = NOW + 60;
}

static int apply_body(ot_credential *c, const char *body, const ot_provider *p)
{
	ot_token_answer a;
	int rc;

	parse(body, &a);
	assert_int_equal(a.kind, OT_ANSWER_TOKEN);
	rc = ot_token_apply(c, &a, NOW, p);
	ot_token_answer_free(&a);
	return rc;
}

static void test_apply_rotation(void **state)
{
	ot_credential c;
	char fp[OT_FP_LEN];
	(void)state;

	cred_with_r1(&c);
	assert_int_equal(apply_body(&c,
	                            "{\"access_token\":\"A2\",\"token_type\":\"bearer\","
	                            "\"expires_in\":3600,\"refresh_token\":\"R2\","
	                            "\"x_refresh_token_expires_in\":8726400}",
	                            NULL),
	                 1);
	assert_string_equal(c.access_token, "A2");
	assert_string_equal(c.refresh_token, "R2");
	ot_fingerprint("R2", fp);
	assert_string_equal(c.refresh_fp, fp);
	ot_fingerprint("A2", fp);
	assert_string_equal(c.access_fp, fp);
	assert_int_equal(c.has_refresh_token, 1);
	assert_int_equal(c.has_access_token, 1);
	assert_string_equal(c.token_type, "Bearer");
	assert_int_equal(c.access_expires_at, NOW + 3600);
	assert_int_equal(c.refresh_issued_at, NOW);
	assert_int_equal(c.refresh_expires_at, NOW + 8726400);
	assert_string_equal(c.scope, "old scope"); /* absent scope keeps the old one */
	assert_int_equal(c.last_outcome, OT_OUTCOME_OK);
	assert_int_equal(c.failures, 0);
	assert_null(c.last_error);
	assert_null(c.client_fp);
	assert_int_equal(c.next_attempt_at, 0);
	assert_int_equal(c.last_success_at, NOW);
	assert_int_equal(c.last_attempt_at, NOW);
	/* rotated without a declared expiry: the old expiry does not carry over */
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A3\",\"refresh_token\":\"R3\"}", NULL),
	                 1);
	assert_int_equal(c.refresh_expires_at, 0);
	ot_credential_clear(&c);
}

static void test_apply_keep_and_same(void **state)
{
	ot_credential c;
	ot_provider p = {0};
	(void)state;

	cred_with_r1(&c);
	/* no refresh token (Google): keep R1 and its expiry */
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A2\",\"scope\":\"\"}", NULL), 0);
	assert_string_equal(c.refresh_token, "R1");
	assert_int_equal(c.refresh_issued_at, NOW - 1000);
	assert_int_equal(c.refresh_expires_at, NOW + 5000);
	assert_int_equal(c.access_expires_at, 0); /* no expires_in, no default: unknown */
	assert_string_equal(c.scope, "");
	/* the same refresh token again: not rotated, declared expiry updated */
	assert_int_equal(apply_body(&c,
	                            "{\"access_token\":\"A2\",\"refresh_token\":\"R1\","
	                            "\"refresh_expires_in\":100}",
	                            NULL),
	                 0);
	assert_int_equal(c.refresh_issued_at, NOW - 1000);
	assert_int_equal(c.refresh_expires_at, NOW + 100);
	/* the same one with 0: the known expiry stays */
	assert_int_equal(apply_body(&c,
	                            "{\"access_token\":\"A2\",\"refresh_token\":\"R1\","
	                            "\"refresh_expires_in\":0}",
	                            NULL),
	                 0);
	assert_int_equal(c.refresh_expires_at, NOW + 100);
	/* provider default_expires_in when expires_in is absent; expires_in 0 is expired now */
	p.default_expires_in = 7200;
	apply_body(&c, "{\"access_token\":\"A2\"}", &p);
	assert_int_equal(c.access_expires_at, NOW + 7200);
	apply_body(&c, "{\"access_token\":\"A2\",\"expires_in\":0}", &p);
	assert_int_equal(c.access_expires_at, NOW);
	ot_credential_clear(&c);
}

static void test_apply_without_secrets_and_first(void **state)
{
	ot_credential c;
	(void)state;

	/* loaded without secrets: the fingerprint decides whether it rotated */
	cred_with_r1(&c);
	ot_secret_free(c.refresh_token);
	c.refresh_token = NULL;
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A2\",\"refresh_token\":\"R1\"}", NULL),
	                 0);
	assert_string_equal(c.refresh_token, "R1");
	ot_secret_free(c.refresh_token);
	c.refresh_token = NULL;
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A2\",\"refresh_token\":\"R9\"}", NULL),
	                 1);
	ot_credential_clear(&c);
	/* an empty credential (import) */
	memset(&c, 0, sizeof(c));
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A\",\"refresh_token\":\"R\"}", NULL),
	                 1);
	assert_int_equal(c.has_refresh_token, 1);
	assert_int_equal(c.refresh_issued_at, NOW);
	ot_credential_clear(&c);
	memset(&c, 0, sizeof(c));
	assert_int_equal(apply_body(&c, "{\"access_token\":\"A\"}", NULL), 0);
	assert_int_equal(c.has_refresh_token, 0);
	assert_null(c.refresh_token);
	assert_string_equal(c.refresh_fp, "");
	ot_credential_clear(&c);
}

/* ---- backoff -------------------------------------------------------------------------- */

static void test_backoff(void **state)
{
	(void)state;
	assert_int_equal(ot_backoff_delay(1, 30, 3600, 1.0), 30);
	assert_int_equal(ot_backoff_delay(1, 30, 3600, 0.0), 15);
	assert_int_equal(ot_backoff_delay(2, 30, 3600, 1.0), 60);
	assert_int_equal(ot_backoff_delay(3, 30, 3600, 0.0), 60);
	assert_int_equal(ot_backoff_delay(7, 30, 3600, 1.0), 1920);
	assert_int_equal(ot_backoff_delay(8, 30, 3600, 1.0), 3600);
	assert_int_equal(ot_backoff_delay(1000, 30, 3600, 1.0), 3600);
	assert_int_equal(ot_backoff_delay(INT_MAX, 30, 3600, 0.0), 1800);
	assert_int_equal(ot_backoff_delay(INT_MAX, INT64_MAX / 2, INT64_MAX, 1.0) > 0, 1);
	assert_int_equal(ot_backoff_delay(0, 30, 3600, 1.0), 30);
	assert_int_equal(ot_backoff_delay(-5, 30, 3600, 1.0), 30);
	assert_int_equal(ot_backoff_delay(1, 1, 1, 0.0), 1); /* never below 1 s */
	assert_int_equal(ot_backoff_delay(1, 0, 0, 0.0), 1);
	assert_int_equal(ot_backoff_delay(3, 100, 50, 1.0), 100); /* max below base */
	assert_int_equal(ot_backoff_delay(1, 30, 3600, 7.0), 30); /* rnd clamped */
	assert_int_equal(ot_backoff_delay(1, 30, 3600, -1.0), 15);
	for (int n = 1; n < 40; n++)
		for (int k = 0; k <= 10; k++) {
			int64_t d = ot_backoff_delay(n, 30, 3600, k / 10.0);
			assert_true(d >= 15 && d <= 3600);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_s01_full_answer),
	        cmocka_unit_test(test_s02_s03_no_or_empty_refresh_token),
	        cmocka_unit_test(test_s04_expires_in_string),
	        cmocka_unit_test(test_s05_no_expires_in),
	        cmocka_unit_test(test_s06_expires_in_edges),
	        cmocka_unit_test(test_s07_token_type),
	        cmocka_unit_test(test_s08_to_s10_refresh_expiry),
	        cmocka_unit_test(test_s09_empty_scope),
	        cmocka_unit_test(test_s11_extra_members_ignored),
	        cmocka_unit_test(test_s12_html_page),
	        cmocka_unit_test(test_s13_error_in_200),
	        cmocka_unit_test(test_s14_truncated),
	        cmocka_unit_test(test_s15_to_s17_invalid_grant),
	        cmocka_unit_test(test_s18_s19_client_rejected),
	        cmocka_unit_test(test_s20_invalid_scope),
	        cmocka_unit_test(test_s23_429_retry_after),
	        cmocka_unit_test(test_s24_rate_limit_reset),
	        cmocka_unit_test(test_s25_503_temporarily_unavailable),
	        cmocka_unit_test(test_s26_server_and_transport_errors),
	        cmocka_unit_test(test_s27_redirect),
	        cmocka_unit_test(test_s28_form_encoded),
	        cmocka_unit_test(test_vendor_error_bodies),
	        cmocka_unit_test(test_garbage),
	        cmocka_unit_test(test_nul_and_control_characters),
	        cmocka_unit_test(test_size_bound),
	        cmocka_unit_test(test_sanitised_server_text),
	        cmocka_unit_test(test_reason_never_has_tokens),
	        cmocka_unit_test(test_review7_wrong_url_is_transient),
	        cmocka_unit_test(test_review9_uuid_redacted),
	        cmocka_unit_test(test_retry_after),
	        cmocka_unit_test(test_apply_rotation),
	        cmocka_unit_test(test_apply_keep_and_same),
	        cmocka_unit_test(test_apply_without_secrets_and_first),
	        cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
