/* test_health.c - the health rules of DESIGN §2 at every boundary, and the countdown words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauthtop/health.h"

#define NOW  INT64_C(1764084000)
#define WARN INT64_C(604800)

typedef struct world {
	ot_provider p;
	ot_account a;
	ot_credential c; /* A1 + R1, fresh, last attempt OK */
} world;

static void world_init(world *w)
{
	memset(w, 0, sizeof(*w));
	w->p.name = "acme";
	snprintf(w->p.fingerprint, sizeof(w->p.fingerprint), "%s", "aaaaaaaaaaaaaaaa");
	w->a.name = "crm";
	w->a.provider = &w->p;
	w->a.grant = OT_GRANT_REFRESH_TOKEN;
	w->a.window = 300;
	w->a.enabled = true;
	w->c.has_access_token = 1;
	w->c.has_refresh_token = 1;
	w->c.access_expires_at = NOW + 3600;
	w->c.refresh_issued_at = NOW - 100;
	w->c.last_outcome = OT_OUTCOME_OK;
}

static ot_health eval(const world *w)
{
	return ot_health_eval(&w->a, &w->c, NOW, WARN);
}

static ot_state state_at_left(world *w, int64_t left)
{
	w->c.access_expires_at = NOW + left;
	return eval(w).state;
}

static void test_access_boundaries(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	assert_int_equal(state_at_left(&w, 301), OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 300), OT_STATE_DUE);
	assert_int_equal(state_at_left(&w, 1), OT_STATE_DUE);
	assert_int_equal(state_at_left(&w, 0), OT_STATE_EXPIRED);
	assert_int_equal(state_at_left(&w, -1), OT_STATE_EXPIRED);
	h = eval(&w);
	assert_true(h.access_known);
	assert_int_equal(h.access_left, -1);
	assert_string_equal(h.reason, "access token expired");
	/* unknown expiry: due, never expired */
	w.c.access_expires_at = 0;
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_DUE);
	assert_false(h.access_known);
	/* refresh token but no access token: due (the keeper refreshes) */
	w.c.has_access_token = 0;
	assert_int_equal(eval(&w).state, OT_STATE_DUE);
}

static void test_account_window(void **state)
{
	world w;
	(void)state;

	world_init(&w);
	w.a.window = 900;
	assert_int_equal(state_at_left(&w, 901), OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 900), OT_STATE_DUE);
	assert_int_equal(state_at_left(&w, 600), OT_STATE_DUE);
	w.a.window = 60;
	assert_int_equal(state_at_left(&w, 61), OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 60), OT_STATE_DUE);
}

static void test_declared_refresh_expiry(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.c.refresh_expires_at = NOW;
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_REAUTH);
	assert_string_equal(h.reason, "refresh token expired");
	assert_true(h.refresh_known);
	assert_int_equal(h.refresh_left, 0);
	w.c.refresh_expires_at = NOW - 50;
	assert_int_equal(eval(&w).state, OT_STATE_REAUTH);
	w.c.refresh_expires_at = NOW + 1;
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_OK);
	assert_true(h.reauth_soon);
	assert_int_equal(h.refresh_left, 1);
	/* unknown refresh expiry: never reauth, never soon, shown unknown */
	w.c.refresh_expires_at = 0;
	w.c.refresh_issued_at = 1; /* received long ago */
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_OK);
	assert_false(h.reauth_soon);
	assert_false(h.refresh_known);
}

static void test_reauth_soon_boundary(void **state)
{
	world w;
	(void)state;

	world_init(&w);
	w.c.refresh_expires_at = NOW + WARN;
	assert_true(eval(&w).reauth_soon);
	w.c.refresh_expires_at = NOW + WARN + 1;
	assert_false(eval(&w).reauth_soon);
	assert_int_equal(eval(&w).state, OT_STATE_OK);
}

static void test_configured_lifetime(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.p.refresh_token_lifetime = 90 * 86400;
	w.c.refresh_issued_at = NOW - 90 * 86400 + WARN + 1;
	h = eval(&w);
	assert_false(h.reauth_soon);
	assert_true(h.refresh_known);
	assert_int_equal(h.refresh_left, WARN + 1);
	w.c.refresh_issued_at = NOW - 90 * 86400 + WARN;
	assert_true(eval(&w).reauth_soon);
	/* past the configured lifetime: reauth_soon, never reauth */
	w.c.refresh_issued_at = NOW - 200 * 86400;
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_OK);
	assert_true(h.reauth_soon);
	assert_true(h.refresh_left < 0);
	/* a declared expiry takes precedence over the configured lifetime */
	w.c.refresh_expires_at = NOW + 30 * 86400;
	h = eval(&w);
	assert_false(h.reauth_soon);
	assert_int_equal(h.refresh_left, 30 * 86400);
	/* without a known issue time the configured lifetime says nothing */
	w.c.refresh_expires_at = 0;
	w.c.refresh_issued_at = 0;
	h = eval(&w);
	assert_false(h.refresh_known);
	assert_false(h.reauth_soon);
}

static void test_no_credential_and_no_refresh_token(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	h = ot_health_eval(&w.a, NULL, NOW, WARN);
	assert_int_equal(h.state, OT_STATE_REAUTH);
	assert_string_equal(h.reason, "not authorized yet");
	assert_false(h.access_known);
	assert_false(h.refresh_known);
	/* a stored record with nothing in it */
	w.c.has_access_token = 0;
	w.c.has_refresh_token = 0;
	assert_int_equal(eval(&w).state, OT_STATE_REAUTH);
	/* no refresh token: ok while the access token is ok, reauth once it is due */
	world_init(&w);
	w.c.has_refresh_token = 0;
	assert_int_equal(state_at_left(&w, 301), OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 300), OT_STATE_REAUTH);
	assert_string_equal(eval(&w).reason, "no refresh token");
	assert_int_equal(state_at_left(&w, -10), OT_STATE_REAUTH);
	w.c.access_expires_at = 0;
	assert_int_equal(eval(&w).state, OT_STATE_REAUTH);
	assert_false(eval(&w).refresh_known);
	/* refresh_token set without the flag (a caller's own record) still counts */
	w.c.refresh_token = (char *)"R1";
	assert_int_equal(eval(&w).state, OT_STATE_DUE);
}

static void test_outcomes(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.c.last_outcome = OT_OUTCOME_PERMANENT;
	w.c.last_error = (char *)"invalid_grant: Token is not active";
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_REAUTH);
	assert_string_equal(h.reason, "invalid_grant: Token is not active");
	w.c.last_error = NULL;
	assert_string_equal(eval(&w).reason, "grant rejected");
	/* failing: the last attempt failed transiently, whatever the times */
	w.c.last_outcome = OT_OUTCOME_TRANSIENT;
	w.c.last_error = (char *)"HTTP 503";
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_FAILING);
	assert_string_equal(h.reason, "HTTP 503");
	assert_int_equal(state_at_left(&w, -100), OT_STATE_FAILING);
	/* reauth rules come before failing */
	w.c.refresh_expires_at = NOW - 1;
	assert_int_equal(eval(&w).state, OT_STATE_REAUTH);
}

static void test_client_rejected_and_rearmed(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.c.last_outcome = OT_OUTCOME_CLIENT;
	w.c.last_error = (char *)"client rejected: invalid_client";
	w.c.client_fp = (char *)"aaaaaaaaaaaaaaaa";
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_REAUTH);
	assert_string_equal(h.reason, "client rejected: invalid_client");
	w.c.client_fp = NULL; /* no fingerprint recorded: still rejected */
	assert_int_equal(eval(&w).state, OT_STATE_REAUTH);
	/* the provider's configuration changed: re-armed, times decide */
	w.c.client_fp = (char *)"bbbbbbbbbbbbbbbb";
	assert_int_equal(eval(&w).state, OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 10), OT_STATE_DUE);
	assert_int_equal(state_at_left(&w, -10), OT_STATE_EXPIRED);
}

static void test_client_credentials(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.a.grant = OT_GRANT_CLIENT_CREDENTIALS;
	w.c.has_refresh_token = 0;
	h = ot_health_eval(&w.a, NULL, NOW, WARN);
	assert_int_equal(h.state, OT_STATE_EXPIRED);
	assert_string_equal(h.reason, "no token yet");
	w.c.has_access_token = 0;
	assert_int_equal(eval(&w).state, OT_STATE_EXPIRED);
	w.c.has_access_token = 1;
	/* no refresh token is normal here */
	assert_int_equal(state_at_left(&w, 301), OT_STATE_OK);
	assert_int_equal(state_at_left(&w, 300), OT_STATE_DUE);
	assert_int_equal(state_at_left(&w, 0), OT_STATE_EXPIRED);
	w.c.access_expires_at = 0;
	assert_int_equal(eval(&w).state, OT_STATE_DUE);
	/* reauth only when the client is rejected, re-armed by a new fingerprint */
	w.c.last_outcome = OT_OUTCOME_CLIENT;
	w.c.client_fp = (char *)"aaaaaaaaaaaaaaaa";
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_REAUTH);
	assert_string_equal(h.reason, "client rejected");
	w.c.client_fp = (char *)"cccccccccccccccc";
	assert_int_equal(eval(&w).state, OT_STATE_DUE);
	/* a refused grant is a failure the keeper retries, never a user reauth */
	w.c.last_outcome = OT_OUTCOME_PERMANENT;
	w.c.last_error = (char *)"invalid_scope";
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_FAILING);
	assert_string_equal(h.reason, "invalid_scope");
	assert_false(h.refresh_known);
	assert_false(h.reauth_soon);
	w.c.last_outcome = OT_OUTCOME_TRANSIENT;
	assert_int_equal(eval(&w).state, OT_STATE_FAILING);
}

static void test_disabled_wins(void **state)
{
	world w;
	ot_health h;
	(void)state;

	world_init(&w);
	w.a.enabled = false;
	w.c.last_outcome = OT_OUTCOME_PERMANENT;
	w.c.refresh_expires_at = NOW + 10; /* would be reauth_soon */
	w.c.access_expires_at = NOW - 10;
	h = eval(&w);
	assert_int_equal(h.state, OT_STATE_DISABLED);
	assert_false(h.reauth_soon);
	assert_int_equal(ot_health_eval(&w.a, NULL, NOW, WARN).state, OT_STATE_DISABLED);
	w.c.last_outcome = OT_OUTCOME_TRANSIENT;
	assert_int_equal(eval(&w).state, OT_STATE_DISABLED);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(ot_state_name(OT_STATE_REAUTH), "reauth");
	assert_string_equal(ot_state_name(OT_STATE_DISABLED), "disabled");
	assert_string_equal(ot_state_name(OT_STATE_COUNT), "?");
	for (int s = 0; s < OT_STATE_COUNT; s++)
		assert_int_equal(ot_state_from_name(ot_state_name((ot_state)s)), s);
	assert_int_equal(ot_state_from_name("Reauth"), OT_STATE_COUNT);
	assert_int_equal(ot_state_from_name(NULL), OT_STATE_COUNT);
	/* severity order is the enum order */
	assert_true(OT_STATE_REAUTH < OT_STATE_FAILING && OT_STATE_FAILING < OT_STATE_EXPIRED &&
	            OT_STATE_EXPIRED < OT_STATE_DUE && OT_STATE_DUE < OT_STATE_OK &&
	            OT_STATE_OK < OT_STATE_DISABLED);
}

static void expect_countdown(int64_t secs, bool known, bool short_form, const char *want)
{
	char buf[40];

	ot_countdown(secs, known, short_form, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_countdown(void **state)
{
	char tiny[4];
	(void)state;

	expect_countdown(82 * 86400 + 4 * 3600 + 59, true, true, "82d 4h");
	expect_countdown(86400, true, false, "1d 0h");
	expect_countdown(86399, true, false, "23h 59m");
	expect_countdown(2 * 3600 + 3 * 60 + 7, true, false, "2h 03m");
	expect_countdown(3600, true, false, "1h 00m");
	expect_countdown(3599, true, false, "59m 59s");
	expect_countdown(52 * 60 + 12, true, true, "52m 12s");
	expect_countdown(4 * 60 + 59, true, false, "4m 59s");
	expect_countdown(60, true, false, "1m 00s");
	expect_countdown(59, true, false, "59s");
	expect_countdown(1, true, false, "1s");
	expect_countdown(0, true, false, "expired 0s ago");
	expect_countdown(0, true, true, "expired 0s");
	expect_countdown(-12, true, true, "expired 12s");
	expect_countdown(-3 * 60 - 20, true, false, "expired 3m ago");
	expect_countdown(-3 * 60 - 20, true, true, "expired 3m");
	expect_countdown(-2 * 3600 - 59 * 60, true, true, "expired 2h");
	expect_countdown(-4 * 86400 - 5, true, false, "expired 4d ago");
	expect_countdown(INT64_MIN, true, true, "expired 106751991167300d");
	expect_countdown(12345, false, false, "?");
	expect_countdown(-5, false, true, "?");
	ot_countdown(3599, true, false, tiny, sizeof(tiny));
	assert_string_equal(tiny, "59m");
}

static void expect_ago(int64_t at, const char *want)
{
	char buf[40];

	ot_ago(at, NOW, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_ago(void **state)
{
	(void)state;
	expect_ago(0, "never");
	expect_ago(NOW, "just now");
	expect_ago(NOW - 4, "just now");
	expect_ago(NOW + 30, "just now");
	expect_ago(NOW - 5, "5s ago");
	expect_ago(NOW - 59, "59s ago");
	expect_ago(NOW - 31 * 60 - 59, "31m ago");
	expect_ago(NOW - 2 * 3600 - 5, "2h ago");
	expect_ago(NOW - 2 * 86400 - 7200, "2d ago");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_access_boundaries),
	        cmocka_unit_test(test_account_window),
	        cmocka_unit_test(test_declared_refresh_expiry),
	        cmocka_unit_test(test_reauth_soon_boundary),
	        cmocka_unit_test(test_configured_lifetime),
	        cmocka_unit_test(test_no_credential_and_no_refresh_token),
	        cmocka_unit_test(test_outcomes),
	        cmocka_unit_test(test_client_rejected_and_rearmed),
	        cmocka_unit_test(test_client_credentials),
	        cmocka_unit_test(test_disabled_wins),
	        cmocka_unit_test(test_state_names),
	        cmocka_unit_test(test_countdown),
	        cmocka_unit_test(test_ago),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
