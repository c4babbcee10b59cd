/* schedule.h - when a keeper should next attempt an account (the daemon's jitter rule).
 *
 * Pure: time is passed in, nothing is read or written. An account is refreshed at a moment
 * inside its window chosen by a stable per-token draw u in [0,1):
 *     expiry - window + u * jitter,  jitter = min(60 s, window / 5) by default,
 * so a fleet issued together does not refresh together, and never before its window. */
#ifndef OAUTHTOP_SCHEDULE_H
#define OAUTHTOP_SCHEDULE_H

#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/credential.h"
#include "oauthtop/health.h"

/* "Never" (reauth, disabled): later than any real moment. */
#define OT_SCHEDULE_NEVER INT64_MAX

/* The default jitter for a window, in seconds: min(60, window / 5), at least 0. */
int64_t ot_schedule_jitter(int64_t window);

/* A stable draw in [0,1) from the account name and the access expiry: the same token gives
 * the same moment on every wake and in every keeper; a new token gives a new draw. */
double ot_schedule_draw(const char *account, int64_t access_expires_at);

typedef struct ot_schedule_in {
	const ot_account *acct;    /* name, window, enabled */
	const ot_credential *cred; /* NULL: nothing stored */
	ot_state state;            /* ot_health_eval() of acct/cred at now */
	int64_t min_interval;      /* seconds (DESIGN §3 step 7) */
	int64_t jitter;            /* seconds; < 0: ot_schedule_jitter(window) */
	int64_t now;               /* Unix seconds */
} ot_schedule_in;

/* The earliest moment (Unix milliseconds) at which the account should be attempted, without
 * forcing: the jittered moment in its window, a failing account's retry time, never sooner
 * than last attempt + min_interval. OT_SCHEDULE_NEVER for disabled and reauth accounts. A
 * moment already past means "now"; callers compare with their own clock. */
int64_t ot_schedule_next_ms(const ot_schedule_in *in);

#endif
