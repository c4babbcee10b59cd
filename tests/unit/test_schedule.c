/* test_schedule.c - the daemon's jitter rule: inside the window, never before it, spread over
 * the jitter, stable between wakes, retries and min_interval honoured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "oauthtop/schedule.h"

#define NOW 1764084000LL

static ot_provider prov = {.name = "acme"};

static ot_account acct_make(const char *name, int64_t window)
{
	ot_account a = {.name = name, .provider = &prov, .window = window, .enabled = true};
	return a;
}

static int64_t next_for(const ot_account *a, const ot_credential *c, ot_state st, int64_t now)
{
	ot_schedule_in in = {
	        .acct = a, .cred = c, .state = st, .min_interval = 30, .jitter = -1, .now = now};
	return ot_schedule_next_ms(&in);
}

static void test_jitter_default(void **state)
{
	(void)state;
	assert_int_equal(ot_schedule_jitter(300), 60);
	assert_int_equal(ot_schedule_jitter(1000), 60);
	assert_int_equal(ot_schedule_jitter(100), 20);
	assert_int_equal(ot_schedule_jitter(10), 2);
	assert_int_equal(ot_schedule_jitter(4), 0);
	assert_int_equal(ot_schedule_jitter(0), 0);
}

static void test_draw_stable_and_in_range(void **state)
{
	double a = ot_schedule_draw("billing-api", NOW + 3600);

	(void)state;
	assert_true(a >= 0.0 && a < 1.0);
	assert_true(a == ot_schedule_draw("billing-api", NOW + 3600));
	/* a new token (new expiry) or another account draws again */
	assert_true(a != ot_schedule_draw("billing-api", NOW + 3601));
	assert_true(a != ot_schedule_draw("billing-apj", NOW + 3600));
}

static void test_draw_spreads(void **state)
{
	int deciles[10] = {0};
	double sum = 0;
	char name[32];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		double u;
		snprintf(name, sizeof(name), "acct-%d", i);
		u = ot_schedule_draw(name, NOW + 3600);
		assert_true(u >= 0.0 && u < 1.0);
		deciles[(int)(u * 10)]++;
		sum += u;
	}
	assert_true(sum / 2000 > 0.45 && sum / 2000 < 0.55);
	for (int d = 0; d < 10; d++)
		assert_true(deciles[d] > 120 && deciles[d] < 280);
}

/* Every account of a fleet issued together: inside [exp - window, exp - window + jitter). */
static void test_fleet_inside_window_and_spread(void **state)
{
	ot_credential c = {0};
	int64_t exp = NOW + 3600, lo = (exp - 300) * 1000, hi = (exp - 240) * 1000;
	int64_t min = INT64_MAX, max = 0, prev = -1;
	int distinct = 0;
	char name[32];

	(void)state;
	c.access_expires_at = exp;
	c.last_attempt_at = NOW;
	for (int i = 0; i < 500; i++) {
		ot_account a;
		int64_t t;
		snprintf(name, sizeof(name), "svc-%03d", i);
		a = acct_make(name, 300);
		t = next_for(&a, &c, OT_STATE_OK, NOW);
		assert_true(t >= lo);
		assert_true(t < hi);
		if (t != prev)
			distinct++;
		prev = t;
		min = t < min ? t : min;
		max = t > max ? t : max;
	}
	assert_true(distinct > 450);
	assert_true(max - min > 50 * 1000); /* spread over most of the 60 s jitter */
}

/* The moment does not move between wakes: only the token decides it. */
static void test_stable_between_wakes(void **state)
{
	ot_account a = acct_make("billing-api", 300);
	ot_credential c = {0};
	int64_t first;

	(void)state;
	c.access_expires_at = NOW + 3600;
	first = next_for(&a, &c, OT_STATE_OK, NOW);
	assert_int_equal(next_for(&a, &c, OT_STATE_OK, NOW + 1000), first);
	assert_int_equal(next_for(&a, &c, OT_STATE_DUE, NOW + 3320), first);
}

static void test_expired_is_past(void **state)
{
	ot_account a = acct_make("late", 300);
	ot_credential c = {0};

	(void)state;
	c.access_expires_at = NOW - 100;
	assert_true(next_for(&a, &c, OT_STATE_EXPIRED, NOW) <= NOW * 1000);
}

static void test_unknown_expiry_is_now(void **state)
{
	ot_account a = acct_make("unknown", 300);
	ot_credential c = {0};

	(void)state;
	assert_int_equal(next_for(&a, &c, OT_STATE_DUE, NOW), NOW * 1000);
	assert_int_equal(next_for(&a, NULL, OT_STATE_EXPIRED, NOW), NOW * 1000);
}

static void test_min_interval(void **state)
{
	ot_account a = acct_make("servicenow", 300);
	ot_credential c = {0};

	(void)state;
	/* a refresh that landed inside the window (same access token handed back) */
	c.access_expires_at = NOW + 100;
	c.last_attempt_at = NOW - 10;
	assert_int_equal(next_for(&a, &c, OT_STATE_DUE, NOW), (NOW + 20) * 1000);
}

static void test_failing_waits_for_retry(void **state)
{
	ot_account a = acct_make("flaky", 300);
	ot_credential c = {0};

	(void)state;
	c.access_expires_at = NOW + 200;
	c.last_attempt_at = NOW - 5;
	c.next_attempt_at = NOW + 61;
	c.last_outcome = OT_OUTCOME_TRANSIENT;
	assert_int_equal(next_for(&a, &c, OT_STATE_FAILING, NOW), (NOW + 61) * 1000);
	/* a retry time inside min_interval waits for min_interval */
	c.next_attempt_at = NOW + 1;
	assert_int_equal(next_for(&a, &c, OT_STATE_FAILING, NOW), (NOW + 25) * 1000);
}

static void test_never(void **state)
{
	ot_account a = acct_make("gone", 300);
	ot_credential c = {0};

	(void)state;
	c.access_expires_at = NOW - 10;
	assert_true(next_for(&a, &c, OT_STATE_REAUTH, NOW) == OT_SCHEDULE_NEVER);
	assert_true(next_for(&a, &c, OT_STATE_DISABLED, NOW) == OT_SCHEDULE_NEVER);
	a.enabled = false;
	assert_true(next_for(&a, &c, OT_STATE_EXPIRED, NOW) == OT_SCHEDULE_NEVER);
}

static void test_explicit_jitter(void **state)
{
	ot_account a = acct_make("short", 10);
	ot_credential c = {0};
	ot_schedule_in in = {.acct = &a, .cred = &c, .state = OT_STATE_OK, .jitter = 0, .now = NOW};
	int64_t t;

	(void)state;
	c.access_expires_at = NOW + 30;
	assert_int_equal(ot_schedule_next_ms(&in), (NOW + 20) * 1000);
	/* a jitter wider than the window is clamped: never after expiry */
	in.jitter = 1000;
	t = ot_schedule_next_ms(&in);
	assert_true(t >= (NOW + 20) * 1000 && t < (NOW + 30) * 1000);
	/* the short windows of the e2e tests: window 10 -> jitter 2 s */
	in.jitter = -1;
	t = ot_schedule_next_ms(&in);
	assert_true(t >= (NOW + 20) * 1000 && t < (NOW + 22) * 1000);
}


/* Review 4: a lost answer (the in-flight marker on the stored refresh token) is resent at its
 * retry time (5 s), not after min_interval: grace periods are short. */
static void test_review4_lost_answer_skips_min_interval(void **state)
{
	ot_account a = acct_make("lost", 300);
	ot_credential c;
	(void)state;

	memset(&c, 0, sizeof(c));
	c.access_expires_at = NOW + 60;
	c.last_attempt_at = NOW;
	c.next_attempt_at = NOW + 5;
	c.lease_host = (char *)"host";
	c.lease_pid = 1;
	c.lease_expires_at = NOW + 120;
	snprintf(c.refresh_fp, OT_FP_LEN, "%s", "abcd1234");
	snprintf(c.inflight_fp, OT_FP_LEN, "%s", "abcd1234");
	assert_int_equal(next_for(&a, &c, OT_STATE_FAILING, NOW), (NOW + 5) * 1000);
	/* without the marker (the token changed, or no lease) min_interval holds */
	snprintf(c.inflight_fp, OT_FP_LEN, "%s", "ffff0000");
	assert_int_equal(next_for(&a, &c, OT_STATE_FAILING, NOW), (NOW + 30) * 1000);
	snprintf(c.inflight_fp, OT_FP_LEN, "%s", "abcd1234");
	c.lease_host = NULL;
	assert_int_equal(next_for(&a, &c, OT_STATE_FAILING, NOW), (NOW + 30) * 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_jitter_default),
	        cmocka_unit_test(test_draw_stable_and_in_range),
	        cmocka_unit_test(test_draw_spreads),
	        cmocka_unit_test(test_fleet_inside_window_and_spread),
	        cmocka_unit_test(test_stable_between_wakes),
	        cmocka_unit_test(test_expired_is_past),
	        cmocka_unit_test(test_unknown_expiry_is_now),
	        cmocka_unit_test(test_min_interval),
	        cmocka_unit_test(test_failing_waits_for_retry),
	        cmocka_unit_test(test_never),
	        cmocka_unit_test(test_explicit_jitter),
	        cmocka_unit_test(test_review4_lost_answer_skips_min_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
