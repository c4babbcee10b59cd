/* health.h - the health rules of DESIGN §2: a pure function of account, credential and time. */
#ifndef OAUTHTOP_HEALTH_H
#define OAUTHTOP_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/credential.h"

/* In severity order: the default sort is by this value, ascending. */
#define OT_STATES(X)                                                                               \
	X(REAUTH, "reauth")                                                                        \
	X(FAILING, "failing")                                                                      \
	X(EXPIRED, "expired")                                                                      \
	X(DUE, "due")                                                                              \
	X(OK, "ok")                                                                                \
	X(DISABLED, "disabled")

typedef enum ot_state {
#define OT_STATE_ENUM(id, name) OT_STATE_##id,
	OT_STATES(OT_STATE_ENUM)
#undef OT_STATE_ENUM
	OT_STATE_COUNT
} ot_state;

typedef struct ot_health {
	ot_state state;
	bool reauth_soon;
	/* Why, for reauth / failing / expired ("no refresh token", "refresh token expired",
	 * "client rejected", the stored last_error...); static or pointing into cred. */
	const char *reason;
	int64_t access_left;  /* access_expires_at - now; meaningful when access_known */
	bool access_known;
	int64_t refresh_left; /* declared, else configured, refresh expiry - now */
	bool refresh_known;
} ot_health;

/* Evaluates DESIGN §2 for acct with credential cred (NULL: none stored yet) at time now.
 * reauth_warning is the reauth_soon horizon in seconds. Never reads the clock. */
ot_health ot_health_eval(const ot_account *acct, const ot_credential *cred, int64_t now,
			 int64_t reauth_warning);

/* "reauth", "due"... */
const char *ot_state_name(ot_state s);
/* OT_STATE_COUNT when unknown. */
ot_state ot_state_from_name(const char *name);

/* Human countdown of secs left: "82d 4h", "2h 03m", "4m 59s", "12s"; when secs <= 0,
 * "expired 3m ago" (long form) or "expired 3m" (short form); unknown gives "?". */
void ot_countdown(int64_t secs, bool known, bool short_form, char *out, size_t outlen);

/* Human age of a past moment: "31m ago", "2d ago", "never" when at == 0. */
void ot_ago(int64_t at, int64_t now, char *out, size_t outlen);

#endif
