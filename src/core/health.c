/* health.c - the health rules of DESIGN §2: a pure function of account, credential and time,
 * and the countdown words the console and the table print. */
#include "oauthtop/health.h"

#include <stdio.h>
#include <string.h>

#define HEALTH_DEFAULT_WINDOW 300
#define HEALTH_MINUTE         INT64_C(60)
#define HEALTH_HOUR           INT64_C(3600)
#define HEALTH_DAY            INT64_C(86400)

static const char *const state_names[] = {
#define OT_STATE_NAME(id, name) name,
        OT_STATES(OT_STATE_NAME)
#undef OT_STATE_NAME
};

const char *ot_state_name(ot_state s)
{
	return (unsigned)s < OT_STATE_COUNT ? state_names[s] : "?";
}

ot_state ot_state_from_name(const char *name)
{
	for (int i = 0; name && i < OT_STATE_COUNT; i++)
		if (strcmp(state_names[i], name) == 0)
			return (ot_state)i;
	return OT_STATE_COUNT;
}

/* ---- the rules ---------------------------------------------------------------------- */

static int health_has_access(const ot_credential *c)
{
	return c && (c->has_access_token || (c->access_token && *c->access_token));
}

static int health_has_refresh(const ot_credential *c)
{
	return c && (c->has_refresh_token || (c->refresh_token && *c->refresh_token));
}

/* Access and refresh countdowns: the refresh one from the server's declared expiry, else
 * from the configured lifetime counted from when the refresh token was received. */
static void health_times(ot_health *h, const ot_account *a, const ot_credential *c, int64_t now)
{
	int64_t life = a->provider ? a->provider->refresh_token_lifetime : 0;

	h->access_known = health_has_access(c) && c->access_expires_at != 0;
	h->access_left = h->access_known ? c->access_expires_at - now : 0;
	if (a->grant != OT_GRANT_REFRESH_TOKEN || !health_has_refresh(c))
		return;
	if (c->refresh_expires_at != 0) {
		h->refresh_known = true;
		h->refresh_left = c->refresh_expires_at - now;
	} else if (life > 0 && c->refresh_issued_at > 0) {
		h->refresh_known = true;
		h->refresh_left = c->refresh_issued_at + life - now;
	}
}

/* A client rejection stands until the provider's configuration (or secret) changes. */
static int health_client_rejected(const ot_account *a, const ot_credential *c)
{
	if (!c || c->last_outcome != OT_OUTCOME_CLIENT)
		return 0;
	if (c->client_fp && c->client_fp[0] && a->provider &&
	    strcmp(c->client_fp, a->provider->fingerprint) != 0)
		return 0; /* re-armed */
	return 1;
}

static const char *health_error(const ot_credential *c, const char *fallback)
{
	return c && c->last_error && c->last_error[0] ? c->last_error : fallback;
}

static int64_t health_window(const ot_account *a)
{
	return a->window > 0 ? a->window : HEALTH_DEFAULT_WINDOW;
}

/* The reauth rules in DESIGN order; the reason, or NULL when no reauth is needed. */
static const char *health_reauth(const ot_account *a, const ot_credential *c, const ot_health *h,
                                 int64_t now)
{
	if (a->grant != OT_GRANT_REFRESH_TOKEN)
		return health_client_rejected(a, c) ? health_error(c, "client rejected") : NULL;
	if (!health_has_access(c) && !health_has_refresh(c))
		return "not authorized yet";
	if (!health_has_refresh(c) && (!h->access_known || h->access_left <= health_window(a)))
		return "no refresh token";
	if (health_has_refresh(c) && c->refresh_expires_at != 0 && c->refresh_expires_at <= now)
		return "refresh token expired";
	if (c->last_outcome == OT_OUTCOME_PERMANENT)
		return health_error(c, "grant rejected");
	if (health_client_rejected(a, c))
		return health_error(c, "client rejected");
	return NULL;
}

/* Only a refresh expiry still ahead warns; a configured lifetime may already be past (it
 * renews on use at most providers), and then it warns too, never more. */
static bool health_reauth_soon(const ot_credential *c, const ot_health *h, int64_t reauth_warning)
{
	if (!h->refresh_known)
		return false;
	if (c->refresh_expires_at != 0)
		return h->refresh_left > 0 && h->refresh_left <= reauth_warning;
	return h->refresh_left <= reauth_warning;
}

ot_health ot_health_eval(const ot_account *acct, const ot_credential *cred, int64_t now,
                         int64_t reauth_warning)
{
	ot_health h;
	const char *why;

	memset(&h, 0, sizeof(h));
	health_times(&h, acct, cred, now);
	if (!acct->enabled) {
		h.state = OT_STATE_DISABLED;
		return h;
	}
	h.reauth_soon = health_reauth_soon(cred, &h, reauth_warning);
	if ((why = health_reauth(acct, cred, &h, now))) {
		h.state = OT_STATE_REAUTH;
		h.reason = why;
	} else if (cred && (cred->last_outcome == OT_OUTCOME_TRANSIENT ||
	                    cred->last_outcome == OT_OUTCOME_PERMANENT)) {
		/* PERMANENT here is a client_credentials grant refused (invalid_scope...): a new
		 * grant needs no user, so it is a failure the keeper retries, not a reauth. */
		h.state = OT_STATE_FAILING;
		h.reason = health_error(cred, "refresh failing");
	} else if (!health_has_access(cred)) {
		h.state = acct->grant == OT_GRANT_REFRESH_TOKEN ? OT_STATE_DUE : OT_STATE_EXPIRED;
		h.reason = acct->grant == OT_GRANT_REFRESH_TOKEN ? NULL : "no token yet";
	} else if (h.access_known && h.access_left <= 0) {
		h.state = OT_STATE_EXPIRED;
		h.reason = "access token expired";
	} else if (!h.access_known || h.access_left <= health_window(acct)) {
		h.state = OT_STATE_DUE;
	} else {
		h.state = OT_STATE_OK;
	}
	return h;
}

/* ---- words -------------------------------------------------------------------------- */

/* The largest unit only: "12s", "3m", "2h", "4d". */
static void health_one_unit(int64_t s, char *out, size_t outlen)
{
	if (s < HEALTH_MINUTE)
		snprintf(out, outlen, "%llds", (long long)s);
	else if (s < HEALTH_HOUR)
		snprintf(out, outlen, "%lldm", (long long)(s / HEALTH_MINUTE));
	else if (s < HEALTH_DAY)
		snprintf(out, outlen, "%lldh", (long long)(s / HEALTH_HOUR));
	else
		snprintf(out, outlen, "%lldd", (long long)(s / HEALTH_DAY));
}

void ot_countdown(int64_t secs, bool known, bool short_form, char *out, size_t outlen)
{
	long long s = (long long)secs;
	char unit[32];

	if (!outlen)
		return;
	if (!known) {
		snprintf(out, outlen, "?");
	} else if (s <= 0) {
		health_one_unit(s < -INT64_MAX ? INT64_MAX : -secs, unit, sizeof(unit));
		snprintf(out, outlen, short_form ? "expired %s" : "expired %s ago", unit);
	} else if (s >= HEALTH_DAY) {
		snprintf(out, outlen, "%lldd %lldh", s / HEALTH_DAY, s % HEALTH_DAY / HEALTH_HOUR);
	} else if (s >= HEALTH_HOUR) {
		snprintf(out, outlen, "%lldh %02lldm", s / HEALTH_HOUR,
		         s % HEALTH_HOUR / HEALTH_MINUTE);
	} else if (s >= HEALTH_MINUTE) {
		snprintf(out, outlen, "%lldm %02llds", s / HEALTH_MINUTE, s % HEALTH_MINUTE);
	} else {
		snprintf(out, outlen, "%llds", s);
	}
}

void ot_ago(int64_t at, int64_t now, char *out, size_t outlen)
{
	char unit[32];

	if (!outlen)
		return;
	if (at == 0) {
		snprintf(out, outlen, "never");
		return;
	}
	if (now - at < 5) { /* includes a moment slightly ahead (clock skew between hosts) */
		snprintf(out, outlen, "just now");
		return;
	}
	health_one_unit(now - at, unit, sizeof(unit));
	snprintf(out, outlen, "%s ago", unit);
}
