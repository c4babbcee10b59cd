/* view_details.c - the details view of one account. */
#include "tui/view_details.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauthtop/health.h"
#include "oauthtop/remedy.h"
#include "oauthtop/secret.h"
#include "tui/paint.h"

#define DETAILS_EVENTS 100
#define LABEL_W        15

struct tui_details {
	char account[256];
	const ot_account *acct;
	ot_credential cred; /* without token values */
	bool stored;
	char at_mask[64], rt_mask[64];
	char at_fp[OT_FP_LEN], rt_fp[OT_FP_LEN];
	ot_event *events;
	size_t n_events;
	int lines; /* lines of the last frame, for scrolling */
};

/* Masks the account's tokens; the values live only inside this function. */
static int details_mask(tui_app *app, tui_details *d, ot_err *err)
{
	ot_credential c;
	int found;

	memset(&c, 0, sizeof(c));
	found = ot_store_get(app->st, d->account, 1, &c, err);
	if (found < 0)
		return -1;
	ot_mask(found ? c.access_token : NULL, 1, d->at_mask, sizeof(d->at_mask));
	ot_mask(found ? c.refresh_token : NULL, 0, d->rt_mask, sizeof(d->rt_mask));
	snprintf(d->at_fp, sizeof(d->at_fp), "%s", found ? c.access_fp : "");
	snprintf(d->rt_fp, sizeof(d->rt_fp), "%s", found ? c.refresh_fp : "");
	ot_credential_clear(&c); /* wipes the token values */
	return 0;
}

static int details_load_events(tui_app *app, tui_details *d, ot_err *err)
{
	ot_event *ev = NULL;
	size_t n = 0;

	if (ot_store_events(app->st, d->account, DETAILS_EVENTS, &ev, &n, err) < 0)
		return -1;
	ot_store_events_free(d->events, d->n_events);
	d->events = ev;
	d->n_events = n;
	return 0;
}

/* Re-reads the credential (no token values) and its history; masks the tokens again only
 * when their fingerprints changed. */
static int details_read(tui_app *app, tui_details *d, bool first, ot_err *err)
{
	ot_credential c;
	int found;

	memset(&c, 0, sizeof(c));
	found = ot_store_get(app->st, d->account, 0, &c, err);
	if (found < 0)
		return -1;
	if (first || strcmp(c.access_fp, d->at_fp) || strcmp(c.refresh_fp, d->rt_fp))
		if (details_mask(app, d, err) < 0) {
			ot_credential_clear(&c);
			return -1;
		}
	ot_credential_clear(&d->cred);
	d->cred = c;
	d->stored = found == 1;
	return details_load_events(app, d, err);
}

int details_open(tui_app *app)
{
	tui_row *r = model_selected_row(app->model);
	tui_details *d;
	ot_err err = {{0}};

	if (!r)
		return -1;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	snprintf(d->account, sizeof(d->account), "%s", r->acct->name);
	d->acct = r->acct;
	if (details_read(app, d, true, &err) < 0) {
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s", err.msg);
		ot_store_events_free(d->events, d->n_events);
		ot_credential_clear(&d->cred);
		free(d);
		return -1;
	}
	if (app->details)
		details_close(app);
	app->details = d;
	app->mode = TUI_MODE_DETAILS;
	app->scroll = 0;
	return 0;
}

void details_close(tui_app *app)
{
	tui_details *d = app->details;

	if (!d)
		return;
	ot_store_events_free(d->events, d->n_events);
	ot_credential_clear(&d->cred);
	ot_wipe(d, sizeof(*d));
	free(d);
	app->details = NULL;
	if (app->mode == TUI_MODE_DETAILS)
		app->mode = TUI_MODE_TABLE;
}

const char *details_account(const tui_app *app)
{
	return app->details ? app->details->account : NULL;
}

void details_sync(tui_app *app)
{
	ot_err err = {{0}};

	if (app->details && details_read(app, app->details, false, &err) < 0)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s", err.msg);
}

/* ---- drawing ---- */

/* Declared by the server, else from the provider's configured lifetime; 0 unknown. */
static int64_t details_refresh_expiry(const tui_details *d)
{
	const ot_provider *p = d->acct ? d->acct->provider : NULL;

	if (!d->stored)
		return 0;
	if (d->cred.refresh_expires_at)
		return d->cred.refresh_expires_at;
	if (p && p->refresh_token_lifetime > 0 && d->cred.refresh_issued_at > 0)
		return d->cred.refresh_issued_at + p->refresh_token_lifetime;
	return 0;
}

/* "2026-11-25 14:05:01 CET · 13:05:01 UTC · in 2m 03s" */
static void fmt_when(int64_t t, int64_t now, char *out, size_t n)
{
	char local[64], utc[32], rel[40];
	time_t tt = (time_t)t;
	struct tm lt, gt;

	if (!t) {
		snprintf(out, n, "unknown");
		return;
	}
	localtime_r(&tt, &lt);
	gmtime_r(&tt, &gt);
	strftime(local, sizeof(local), "%Y-%m-%d %H:%M:%S %Z", &lt);
	strftime(utc, sizeof(utc), "%H:%M:%S UTC", &gt);
	if (t > now) {
		char cd[32];
		ot_countdown(t - now, true, true, cd, sizeof(cd));
		snprintf(rel, sizeof(rel), "in %s", cd);
	} else {
		ot_ago(t, now, rel, sizeof(rel));
	}
	snprintf(out, n, "%s  (%s, %s)", local, utc, rel);
}

typedef struct dctx {
	WINDOW *w;
	int y, top, bottom, skip, width;
} dctx;

/* One output line (after scrolling): label in the label role, value wrapped over lines. */
static void dline(dctx *c, const char *label, const char *value, tui_role role)
{
	int vw = c->width - LABEL_W - 2;
	const char *p = value;

	do {
		char piece[1024];
		size_t len = strlen(p), take = len;
		if (vw > 8 && (int)len > vw) { /* wrap at a space when one is near */
			take = (size_t)vw;
			for (size_t k = take; k > (size_t)vw / 2; k--)
				if (p[k] == ' ') {
					take = k;
					break;
				}
		}
		if (take >= sizeof(piece))
			take = sizeof(piece) - 1;
		memcpy(piece, p, take);
		piece[take] = '\0';
		if (c->skip > 0) {
			c->skip--;
		} else if (c->y < c->bottom) {
			paint_role(c->w, TUI_ROLE_LABEL, false);
			paint_str(c->w, c->y, 1, LABEL_W, p == value ? label : "", PAINT_PAD);
			paint_role(c->w, role, false);
			paint_str(c->w, c->y, LABEL_W + 2, vw, piece, PAINT_PAD);
			c->y++;
		} else {
			c->y++;
		}
		p += take;
		while (*p == ' ')
			p++;
	} while (*p);
}

static void draw_tokens(dctx *c, tui_app *app, const ot_health *h)
{
	tui_details *d = app->details;
	char v[320], when[160];
	const ot_credential *cr = &d->cred;
	int64_t rexp = details_refresh_expiry(d);

	snprintf(v, sizeof(v), "%s%s%s%s", d->at_mask, d->at_fp[0] ? "  (fingerprint " : "",
	         d->at_fp, d->at_fp[0] ? ")" : "");
	dline(c, "access token", v, TUI_ROLE_HEADER);
	fmt_when(cr->access_expires_at, app->now, when, sizeof(when));
	dline(c, "  expires", when,
	      h->state == OT_STATE_OK ? TUI_ROLE_HEADER : TUI_ROLE_COUNTDOWN_WARN);
	snprintf(v, sizeof(v), "%s%s%s%s", d->rt_mask, d->rt_fp[0] ? "  (fingerprint " : "",
	         d->rt_fp, d->rt_fp[0] ? ")" : "");
	dline(c, "refresh token", v, TUI_ROLE_HEADER);
	fmt_when(rexp, app->now, when, sizeof(when));
	snprintf(v, sizeof(v), "%s%s", when,
	         !rexp                    ? " - never treated as expired"
	         : cr->refresh_expires_at ? " - declared by the server"
	                                  : " - from the configured lifetime");
	dline(c, "  expires", v, h->reauth_soon ? TUI_ROLE_COUNTDOWN_WARN : TUI_ROLE_HEADER);
	if (cr->refresh_issued_at) {
		fmt_when(cr->refresh_issued_at, app->now, when, sizeof(when));
		dline(c, "  issued", when, TUI_ROLE_HEADER);
	}
}

static const char *outcome_name(ot_outcome o)
{
	static const char *const names[] = {"none", "ok", "transient failure", "grant rejected",
	                                    "client rejected"};
	return (unsigned)o < 5 ? names[o] : "?";
}

static void draw_attempts(dctx *c, tui_app *app, const ot_health *h)
{
	const ot_credential *cr = &app->details->cred;
	char v[600], when[160];
	const char *err = cr->last_error && *cr->last_error ? cr->last_error : h->reason;

	fmt_when(cr->last_success_at, app->now, when, sizeof(when));
	dline(c, "last refresh", cr->last_success_at ? when : "never", TUI_ROLE_HEADER);
	fmt_when(cr->last_attempt_at, app->now, when, sizeof(when));
	snprintf(v, sizeof(v), "%s - %s", cr->last_attempt_at ? when : "never",
	         outcome_name(cr->last_outcome));
	dline(c, "last attempt", v, TUI_ROLE_HEADER);
	if (cr->failures || cr->next_attempt_at) {
		fmt_when(cr->next_attempt_at, app->now, when, sizeof(when));
		snprintf(v, sizeof(v), "%d in a row%s%s", cr->failures,
		         cr->next_attempt_at ? "; next attempt " : "",
		         cr->next_attempt_at ? when : "");
		dline(c, "failures", v, TUI_ROLE_STATUS_WARN);
	}
	if (err && *err) {
		char hint[400];
		dline(c, "last error", err, TUI_ROLE_STATUS_ERROR);
		ot_remedy_hint(app->details->account, cr->last_outcome, err, hint, sizeof(hint));
		if (hint[0])
			dline(c, "what to do", hint, TUI_ROLE_STATUS_WARN);
	}
	if (cr->lease_expires_at > app->now) {
		fmt_when(cr->lease_expires_at, app->now, when, sizeof(when));
		snprintf(v, sizeof(v), "%s:%lld until %s%s%s",
		         cr->lease_host ? cr->lease_host : "?", (long long)cr->lease_pid, when,
		         cr->inflight_fp[0] ? ", in flight: " : "", cr->inflight_fp);
		dline(c, "lease", v, TUI_ROLE_HEADER);
	}
}

static void draw_history(dctx *c, tui_app *app)
{
	tui_details *d = app->details;

	dline(c, "", "", TUI_ROLE_HEADER);
	dline(c, "history", d->n_events ? "newest first" : "no events stored", TUI_ROLE_COLUMN);
	for (size_t i = 0; i < d->n_events; i++) {
		const ot_event *e = &d->events[i];
		char when[40], v[700];
		time_t t = (time_t)e->at;
		struct tm lt;
		localtime_r(&t, &lt);
		strftime(when, sizeof(when), "%m-%d %H:%M:%S", &lt);
		snprintf(v, sizeof(v), "%-10s %s%s%s  %s  %s", e->kind ? e->kind : "?", e->old_fp,
		         e->new_fp[0] && strcmp(e->old_fp, e->new_fp) ? " -> " : "",
		         e->new_fp[0] && strcmp(e->old_fp, e->new_fp) ? e->new_fp : "",
		         e->actor ? e->actor : "", e->reason ? e->reason : "");
		dline(c, when, v,
		      e->kind && (strcmp(e->kind, "failed") == 0 || strcmp(e->kind, "reauth") == 0)
		              ? TUI_ROLE_STATUS_WARN
		              : TUI_ROLE_LOG);
	}
}

static void draw_config(dctx *c, const tui_details *d)
{
	const ot_provider *p = d->acct->provider;
	char v[600];

	snprintf(v, sizeof(v), "%s%s%s", p ? p->name : "?", p && p->issuer ? "  issuer " : "",
	         p && p->issuer ? p->issuer : "");
	dline(c, "provider", v, TUI_ROLE_HEADER);
	dline(c, "token URL", p && p->token_url ? p->token_url : "(from discovery)",
	      TUI_ROLE_HEADER);
	snprintf(v, sizeof(v), "%s, %s", p && p->client_id ? p->client_id : "?",
	         p ? ot_auth_method_name(p->auth_method) : "?");
	dline(c, "client", v, TUI_ROLE_HEADER);
	dline(c, "grant", ot_grant_name(d->acct->grant), TUI_ROLE_HEADER);
	dline(c, "scope (config)", d->acct->scope ? d->acct->scope : "(none sent)",
	      TUI_ROLE_HEADER);
	dline(c, "scope (granted)", d->cred.scope ? d->cred.scope : "(not stated)",
	      TUI_ROLE_HEADER);
	snprintf(v, sizeof(v), "%lld s", (long long)d->acct->window);
	dline(c, "window", v, TUI_ROLE_HEADER);
}

void view_details_draw(tui_app *app)
{
	WINDOW *w = stdscr;
	const tui_details *d = app->details;
	dctx c = {w, 2, 2, LINES - 1, app->scroll, COLS};
	ot_health h;
	char title[400], state[16];

	werase(w);
	paint_role(w, TUI_ROLE_TITLE, false);
	if (!d->acct) {
		paint_str(w, 0, 1, COLS - 2, "the account is no longer configured", PAINT_PAD);
		return;
	}
	h = ot_health_eval(d->acct, d->stored ? &d->cred : NULL, app->now,
	                   ot_config_settings(app->cfg)->reauth_warning);
	snprintf(state, sizeof(state), "%s", ot_state_name(h.state));
	for (char *p = state; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	snprintf(title, sizeof(title), "%s  %s%s%s", d->account, state,
	         h.reauth_soon ? "  (refresh token expires soon)" : "",
	         app->engine && ot_engine_busy(app->engine, d->account) ? "  refreshing" : "");
	paint_role(w, theme_role_for_state(h.state), false);
	paint_str(w, 0, 0, COLS, " ", 0);
	paint_str(w, 0, 1, COLS - 1, title, PAINT_PAD);
	draw_config(&c, d);
	draw_tokens(&c, app, &h);
	draw_attempts(&c, app, &h);
	draw_history(&c, app);
	app->details->lines = c.y - c.top + app->scroll;
	paint_role(w, TUI_ROLE_KEYS, false);
	paint_str(w, LINES - 1, 0, COLS, " Esc back  j/k scroll  r refresh  a authorize  q quit",
	          PAINT_PAD);
}

tui_result view_details_key(tui_app *app, int key)
{
	int page = LINES - 3, max = app->details ? app->details->lines - page : 0;

	switch (key) {
	case 'j':
	case KEY_DOWN:
		app->scroll++;
		break;
	case 'k':
	case KEY_UP:
		app->scroll--;
		break;
	case ' ':
	case KEY_NPAGE:
		app->scroll += page;
		break;
	case KEY_PPAGE:
		app->scroll -= page;
		break;
	case 'g':
	case KEY_HOME:
		app->scroll = 0;
		break;
	case 'G':
	case KEY_END:
		app->scroll = max;
		break;
	default:
		return TUI_HANDLED;
	}
	if (app->scroll > max)
		app->scroll = max;
	if (app->scroll < 0)
		app->scroll = 0;
	return TUI_REDRAW;
}
