/* schedule.c - the daemon's jitter rule: a stable random moment inside each account's window. */
#include "oauthtop/schedule.h"

#include <string.h>

int64_t ot_schedule_jitter(int64_t window)
{
	int64_t j = window / 5;

	if (j > 60)
		j = 60;
	return j < 0 ? 0 : j;
}

/* splitmix64 finaliser: spreads the bits of a weak hash over the whole word. */
static uint64_t schedule_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

double ot_schedule_draw(const char *account, int64_t access_expires_at)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (const unsigned char *p = (const unsigned char *)(account ? account : ""); *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = schedule_mix(h ^ schedule_mix((uint64_t)access_expires_at));
	/* 53 bits: exactly representable, so the result is < 1.0. */
	return (double)(h >> 11) / 9007199254740992.0;
}

static int64_t schedule_max(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/* The jittered moment in the window, in ms; now when the expiry is unknown. */
static int64_t schedule_window_ms(const ot_schedule_in *in)
{
	int64_t window = in->acct->window > 0 ? in->acct->window : 0;
	int64_t jitter = in->jitter < 0 ? ot_schedule_jitter(window) : in->jitter;
	int64_t exp = in->cred ? in->cred->access_expires_at : 0;
	double u;

	if (exp <= 0)
		return in->now * 1000;
	if (jitter > window)
		jitter = window;
	u = ot_schedule_draw(in->acct->name, exp);
	return (exp - window) * 1000 + (int64_t)(u * (double)jitter * 1000.0);
}

/* The stored refresh token is the one a lease had in flight: an answer was lost (the
 * engine's eng_cred_lost_marker rule). */
static int schedule_lost_marker(const ot_credential *c)
{
	return c->lease_host && c->inflight_fp[0] && c->refresh_fp[0] &&
	       strcmp(c->inflight_fp, c->refresh_fp) == 0;
}

int64_t ot_schedule_next_ms(const ot_schedule_in *in)
{
	const ot_credential *c = in->cred;
	int64_t at;

	if (!in->acct->enabled)
		return OT_SCHEDULE_NEVER;
	switch (in->state) {
	case OT_STATE_FAILING:
		at = c && c->next_attempt_at > 0 ? c->next_attempt_at * 1000 : in->now * 1000;
		break;
	case OT_STATE_EXPIRED:
	case OT_STATE_DUE:
	case OT_STATE_OK:
		at = schedule_window_ms(in);
		break;
	default: /* reauth, disabled: never automatically */
		return OT_SCHEDULE_NEVER;
	}
	/* A lost answer is resent at its retry time (grace periods are short), as the engine
	 * does (eng_is_due). */
	if (c && c->last_attempt_at > 0 && in->min_interval > 0 && !schedule_lost_marker(c))
		at = schedule_max(at, (c->last_attempt_at + in->min_interval) * 1000);
	return at;
}
