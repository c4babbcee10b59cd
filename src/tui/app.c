/* app.c - the console's lifecycle and its link to the refresh engine. */
#include "tui/app.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "oauthtop/health.h"
#include "oauthtop/remedy.h"
#include "tui/paint.h"
#include "tui/view_auth.h"
#include "tui/view_details.h"

#define STORE_CHECK_MS 500
#define SPINNER_MS     125

static void app_flash(tui_app *app, tui_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int64_t app_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A newer message of a lower level never hides a live error or warning. */
static void app_flash(tui_app *app, tui_level level, const char *fmt, ...)
{
	tui_level live;
	char text[240];
	va_list ap;

	if (evlog_flash_text(app->log, app->now_ms, &live) && live > level)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	evlog_flash(app->log, app->now_ms, level, "%s", text);
}

static void result_refreshed(tui_app *app, const ot_result *r)
{
	char left[32], rot[48] = "";

	ot_countdown(r->access_expires_at ? r->access_expires_at - app->now : 0,
	             r->access_expires_at != 0, true, left, sizeof(left));
	if (r->rotated)
		snprintf(rot, sizeof(rot), ", new refresh token %s", r->new_fp);
	evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: refreshed, valid %s%s", r->account, left,
	          rot);
	app_flash(app, TUI_LEVEL_INFO, "%s: refreshed, access token valid %s%s", r->account, left,
	          rot);
}

static void result_failed(tui_app *app, const ot_result *r)
{
	char retry[48] = "";

	if (r->next_attempt_at > app->now) {
		char left[32];
		ot_countdown(r->next_attempt_at - app->now, true, true, left, sizeof(left));
		snprintf(retry, sizeof(retry), ", retry in %s", left);
	}
	evlog_add(app->log, app->now, TUI_LEVEL_WARN, "%s: failed: %s%s", r->account,
	          r->reason ? r->reason : "?", retry);
	app_flash(app, TUI_LEVEL_ERROR, "%s: refresh failed: %s%s", r->account,
	          r->reason ? r->reason : "?", retry);
}

static void result_reauth(tui_app *app, const ot_result *r)
{
	char hint[300];
	ot_credential c;
	ot_err err = {{0}};

	memset(&c, 0, sizeof(c));
	hint[0] = '\0';
	if (ot_store_get(app->st, r->account, 0, &c, &err) == 1)
		ot_remedy_hint(r->account, c.last_outcome, c.last_error, hint, sizeof(hint));
	ot_credential_clear(&c);
	evlog_add(app->log, app->now, TUI_LEVEL_ERROR, "%s: needs reauthorization: %s", r->account,
	          r->reason ? r->reason : "?");
	app_flash(app, TUI_LEVEL_ERROR, "%s: %s%s%s", r->account, r->reason ? r->reason : "?",
	          hint[0] ? " - " : "", hint);
}

static void app_on_result(const ot_result *r, void *user)
{
	tui_app *app = user;
	ot_err err = {{0}};
	const char *why = r->reason ? r->reason : "";

	if (model_update_account(app->model, r->account, app->now, &err) < 0)
		app_flash(app, TUI_LEVEL_ERROR, "%s", err.msg);
	switch (r->kind) {
	case OT_RESULT_REFRESHED:
		result_refreshed(app, r);
		break;
	case OT_RESULT_FAILED:
		result_failed(app, r);
		break;
	case OT_RESULT_REAUTH:
		result_reauth(app, r);
		break;
	case OT_RESULT_RACE:
		evlog_add(app->log, app->now, TUI_LEVEL_INFO,
		          "%s: another keeper refreshed it meanwhile", r->account);
		break;
	case OT_RESULT_LEASED:
		evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: another keeper is refreshing it",
		          r->account);
		app_flash(app, TUI_LEVEL_INFO, "%s: another keeper is refreshing it", r->account);
		break;
	case OT_RESULT_SKIPPED:
		evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: skipped: %s", r->account, why);
		app_flash(app, TUI_LEVEL_WARN, "%s: not refreshed: %s", r->account, why);
		break;
	default:
		evlog_add(app->log, app->now, TUI_LEVEL_ERROR, "%s: error: %s", r->account, why);
		app_flash(app, TUI_LEVEL_ERROR, "%s: %s", r->account, why);
		break;
	}
	if (app->details && strcmp(details_account(app), r->account) == 0)
		details_sync(app);
}

void app_set_clock(tui_app *app, int64_t now_ms)
{
	app->now_ms = now_ms;
	app->now = now_ms / 1000;
}

static void app_config_name(tui_app *app)
{
	const char *path = ot_config_settings(app->cfg)->path;
	const char *base = path ? strrchr(path, '/') : NULL;

	snprintf(app->config_name, sizeof(app->config_name), "%s",
	         base   ? base + 1
	         : path ? path
	                : "");
}

/* Before the first read of the store, so that the engine's first heartbeat is not taken for
 * another process's change. */
static void app_start_engine(tui_app *app)
{
	ot_engine_opts eo = {0, "console", app_on_result, app};
	ot_err eerr = {{0}};

	app->engine = ot_engine_new(app->cfg, app->st, &eo, &eerr);
	if (!app->engine)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "refreshing is off: %s",
		            eerr.msg);
}

int app_open(tui_app *app, ot_cli *cli, const tui_app_opts *o, ot_err *err)
{
	const char *no_color = getenv("NO_COLOR");
	const char *theme = o && o->theme ? o->theme : ot_config_settings(cli->cfg)->theme;

	app->cli = cli;
	app->cfg = cli->cfg;
	app->st = cli->store;
	app->mode = TUI_MODE_TABLE;
	app->use_color = !(no_color && *no_color);
	app_config_name(app);
	app->log = evlog_new(256);
	app->model = model_new(app->cfg, app->st);
	if (!app->log || !app->model)
		return ot_err_set(err, "out of memory");
	if (!(o && o->no_engine))
		app_start_engine(app);
	if (model_load(app->model, app->now, err) < 0)
		return -1;
	if (!app->use_color && !(o && o->theme))
		theme = "mono";
	app_set_theme(app, theme);
	return 0;
}

void app_close(tui_app *app)
{
	auth_close(app);
	if (app->details)
		details_close(app);
	ot_engine_free(app->engine);
	model_free(app->model);
	evlog_free(app->log);
	app->engine = NULL;
	app->model = NULL;
	app->log = NULL;
}

void app_set_theme(tui_app *app, const char *name)
{
	ot_err err = {{0}};

	if (theme_load(name, &app->theme, &err) < 0)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s; using the default theme",
		            err.msg);
	if (app->use_color && !paint_has_color() && !app->theme.monochrome)
		theme_builtin("mono", &app->theme); /* no colours: attributes carry the states */
	paint_apply(&app->theme, app->use_color);
}

void app_next_theme(tui_app *app)
{
	char **names = NULL;
	size_t n = 0, next = 0;

	if (theme_list(&names, &n) < 0 || n == 0) {
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "no themes found");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], app->theme.name) == 0)
			next = (i + 1) % n;
	app_set_theme(app, names[next]);
	if (!evlog_flash_text(app->log, app->now_ms, NULL))
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_INFO, "theme: %s", app->theme.name);
	theme_list_free(names, n);
}

void app_refresh(tui_app *app, const char *account)
{
	ot_err err = {{0}};

	if (!app->engine) {
		app_flash(app, TUI_LEVEL_ERROR, "refreshing is off in this console");
		return;
	}
	if (ot_engine_submit(app->engine, account, true, &err) < 0) {
		app_flash(app, TUI_LEVEL_ERROR, "%s: %s", account, err.msg);
		return;
	}
	evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: refreshing%s", account,
	          paint_glyph_str(GLYPH_ELLIPSIS));
	evlog_flash_clear(app->log);
}

void app_refresh_due(tui_app *app)
{
	ot_err err = {{0}};
	int n;

	if (!app->engine) {
		app_flash(app, TUI_LEVEL_ERROR, "refreshing is off in this console");
		return;
	}
	n = ot_engine_submit_due(app->engine, app->now, &err);
	evlog_flash_clear(app->log);
	if (n < 0)
		app_flash(app, TUI_LEVEL_ERROR, "%s", err.msg);
	else if (n == 0)
		app_flash(app, TUI_LEVEL_INFO, "nothing is due");
	else
		evlog_add(app->log, app->now, TUI_LEVEL_INFO, "refreshing %d due account%s%s", n,
		          n == 1 ? "" : "s", paint_glyph_str(GLYPH_ELLIPSIS));
}

/* When the store may be looked at next: every 500 ms, but a re-read costs about 4 ms per
 * 1,000 accounts, so never spend more than a tenth of the time on it whatever the other
 * keepers write. */
static int64_t app_store_due(const tui_app *app)
{
	int64_t gap = 10 * app->reload_ms > STORE_CHECK_MS ? 10 * app->reload_ms : STORE_CHECK_MS;

	return app->store_checked_ms + gap;
}

static bool app_check_store(tui_app *app)
{
	ot_err err = {{0}};
	int64_t t0;

	if (app->now_ms < app_store_due(app))
		return false;
	app->store_checked_ms = app->now_ms;
	if (!model_store_changed(app->model))
		return false;
	t0 = app_clock_ms();
	if (model_load(app->model, app->now, &err) < 0) {
		app_flash(app, TUI_LEVEL_ERROR, "%s", err.msg);
		return true;
	}
	app->reload_ms = app_clock_ms() - t0;
	app->external_changed = false;
	if (app->details)
		details_sync(app);
	return true;
}

bool app_update(tui_app *app)
{
	bool changed = false;
	int64_t before = model_now(app->model);

	if (app->engine) {
		ot_err err = {{0}};
		size_t pending = ot_engine_pending(app->engine);
		/* Our own engine's writes (leases, commits, heartbeats) must not cost a full
		 * re-read: their results come through app_on_result(). A change seen before the
		 * step is another process's; one that lands during the step is taken as ours
		 * (the next change of any other keeper - a daemon beats every 30 s - re-reads). */
		if (!app->external_changed && model_store_changed(app->model))
			app->external_changed = true;
		changed |= auth_update(app); /* its store write is ours too */
		if (ot_engine_step(app->engine, &err) < 0)
			app_flash(app, TUI_LEVEL_ERROR, "%s", err.msg);
		if (!app->external_changed)
			model_store_ack(app->model);
		if (pending || ot_engine_pending(app->engine)) {
			unsigned spin = (unsigned)(app->now_ms / SPINNER_MS);
			changed |= spin != app->spin;
			app->spin = spin;
		}
	} else {
		changed |= auth_update(app);
	}
	changed |= model_tick(app->model, app->now);
	changed |= before != model_now(app->model);
	changed |= app_check_store(app);
	return changed;
}

int app_timeout_ms(tui_app *app)
{
	long t = 1000 - (long)(app->now_ms % 1000), e, f;

	if (app->engine) {
		e = ot_engine_timeout_ms(app->engine);
		if (e >= 0 && e < t)
			t = e;
		if (ot_engine_pending(app->engine) && SPINNER_MS - app->now_ms % SPINNER_MS < t)
			t = (long)(SPINNER_MS - app->now_ms % SPINNER_MS);
	}
	e = auth_timeout_ms(app);
	if (e >= 0 && e < t)
		t = e;
	f = evlog_flash_left(app->log, app->now_ms);
	if (f >= 0 && f < t)
		t = f;
	if (app_store_due(app) - app->now_ms < t)
		t = (long)(app_store_due(app) - app->now_ms);
	if (t < 0)
		t = 0;
	return t < 0 ? 0 : (int)t;
}
