/* view_table.c - header, accounts table, event log and status line. */
#include "tui/view_table.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oauthtop/health.h"
#include "tui/paint.h"

#define KEEPER_STALE_SECONDS 90

enum col_id {
	COL_ACCOUNT,
	COL_PROVIDER,
	COL_STATE,
	COL_ACCESS,
	COL_REFRESH,
	COL_LAST,
	COL_FAIL,
	COL_ERROR,
	COL_COUNT
};

static const struct {
	const char *title;
	int flags;
} col_defs[COL_COUNT] = {
        {"ACCOUNT", 0}, {"PROVIDER", 0},     {"STATE", 0},          {"ACCESS", 0},
        {"REFRESH", 0}, {"LAST REFRESH", 0}, {"FAIL", PAINT_RIGHT}, {"LAST ERROR", 0},
};

/* Columns are kept in this order as the terminal narrows. */
static const enum col_id col_priority[COL_COUNT] = {COL_ACCOUNT, COL_STATE,    COL_ACCESS,
                                                    COL_REFRESH, COL_PROVIDER, COL_ERROR,
                                                    COL_FAIL,    COL_LAST};

/* The column each sort orders by (its title carries the sort mark). */
static const enum col_id sort_col[TUI_SORT_COUNT] = {
        COL_STATE, COL_ACCOUNT, COL_PROVIDER, COL_ACCESS, COL_REFRESH, COL_LAST, COL_FAIL};

typedef struct layout {
	bool on[COL_COUNT];
	int x[COL_COUNT], w[COL_COUNT];
	int log_lines, table_y, table_h, sep_y, log_y, status_y;
} layout;

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void layout_columns(const tui_app *app, layout *L)
{
	int want[COL_COUNT] = {clampi((int)model_name_width(app->model), 10, 28),
	                       clampi((int)model_provider_width(app->model), 8, 16),
	                       9,
	                       12,
	                       12,
	                       13,
	                       4,
	                       12};
	int used = 1, x = 1; /* column 0 holds the selection mark */

	memset(L->on, 0, sizeof(L->on));
	for (int i = 0; i < COL_COUNT; i++) {
		enum col_id c = col_priority[i];
		if (used + want[c] + 1 <= COLS) {
			L->on[c] = true;
			used += want[c] + 1;
		}
	}
	if (L->on[COL_ERROR])
		want[COL_ERROR] += COLS - used;
	for (int c = 0; c < COL_COUNT; c++) {
		L->x[c] = x;
		L->w[c] = want[c];
		if (L->on[c])
			x += want[c] + 1;
	}
}

static void layout_rows(tui_app *app, layout *L)
{
	L->log_lines = LINES >= 40 ? 5 : LINES >= 30 ? 3 : 1;
	L->table_y = 3;
	L->status_y = LINES - 1;
	L->log_y = L->status_y - L->log_lines;
	L->sep_y = L->log_y - 1;
	L->table_h = L->sep_y - L->table_y;
	if (L->table_h < 1)
		L->table_h = 1;
	app->table_y = L->table_y;
	app->table_h = L->table_h;
}

/* ---- header ---- */

static bool keeper_alive(const tui_app *app, const ot_keeper *k)
{
	if (k->host && strcmp(k->host, app->cli->host) == 0 && !ot_pid_alive(k->pid))
		return false;
	return app->now - k->heartbeat <= KEEPER_STALE_SECONDS;
}

/* The keeper worth showing: a live daemon, else any live keeper, else the latest one. */
static const ot_keeper *keeper_pick(const tui_app *app, bool *alive)
{
	size_t n;
	const ot_keeper *k = model_keepers(app->model, &n), *best = NULL;
	int best_rank = -1;

	for (size_t i = 0; i < n; i++) {
		bool me = k[i].pid == (int64_t)getpid() && k[i].host &&
		          strcmp(k[i].host, app->cli->host) == 0;
		bool live = keeper_alive(app, &k[i]);
		int rank = live ? (k[i].kind && strcmp(k[i].kind, "daemon") == 0 ? 3 : 2) : 1;
		if (me)
			continue;
		if (rank > best_rank || (rank == best_rank && k[i].heartbeat > best->heartbeat)) {
			best = &k[i];
			best_rank = rank;
		}
	}
	*alive = best_rank >= 2;
	return best;
}

static void keeper_text(const tui_app *app, char *out, size_t n, tui_role *role)
{
	bool alive;
	const ot_keeper *k = keeper_pick(app, &alive);
	char ago[32];

	if (!k) {
		snprintf(out, n, "no keeper");
		*role = TUI_ROLE_STATUS_WARN;
		return;
	}
	ot_ago(k->heartbeat, app->now, ago, sizeof(ago));
	snprintf(out, n, "keeper: %s@%s%s (beat %s)", k->kind ? k->kind : "?",
	         k->host ? k->host : "?", alive ? "" : " gone", ago);
	*role = alive ? TUI_ROLE_TITLE : TUI_ROLE_STATUS_WARN;
}

static void draw_title(tui_app *app)
{
	char left[200], keeper[200], win[32], clock[16];
	time_t t = (time_t)app->now;
	struct tm lt;
	tui_role krole;
	int kw, right, lw;

	localtime_r(&t, &lt);
	strftime(clock, sizeof(clock), "%H:%M:%S", &lt);
	snprintf(left, sizeof(left), " oauthtop %s  %s", OT_VERSION, app->config_name);
	snprintf(win, sizeof(win), "window %llds", (long long)ot_config_settings(app->cfg)->window);
	keeper_text(app, keeper, sizeof(keeper), &krole);
	paint_role(stdscr, TUI_ROLE_TITLE, false);
	paint_str(stdscr, 0, 0, COLS, "", PAINT_PAD);
	right = COLS - 9; /* the clock, with a space before it */
	/* the name is cut (with its mark) before the clock, never under it */
	lw = paint_width(left) < right - 1 ? paint_width(left) : right - 1;
	if (lw > 0)
		paint_str(stdscr, 0, 0, lw, left, 0);
	paint_str(stdscr, 0, right, 9, clock, 0);
	kw = paint_width(keeper);
	if (kw > right - lw - 4)
		kw = right - lw - 4;
	if (kw < 9)
		return;
	right -= kw + 3;
	paint_role(stdscr, krole, false);
	paint_str(stdscr, 0, right, kw, keeper, 0);
	/* the window label only with two blanks on its left */
	if (right - 3 - (int)strlen(win) >= lw + 2) {
		paint_role(stdscr, TUI_ROLE_TITLE, false);
		paint_str(stdscr, 0, right - (int)strlen(win) - 3, (int)strlen(win), win, 0);
	}
}

static void draw_counts(tui_app *app)
{
	static const ot_state shown[] = {OT_STATE_OK,      OT_STATE_DUE,    OT_STATE_EXPIRED,
	                                 OT_STATE_FAILING, OT_STATE_REAUTH, OT_STATE_DISABLED};
	char buf[64];
	int x = 1;
	size_t soon = model_reauth_soon(app->model);

	paint_role(stdscr, TUI_ROLE_HEADER, false);
	paint_str(stdscr, 1, 0, COLS, "", PAINT_PAD);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++) {
		size_t n = model_state_count(app->model, shown[i]);
		snprintf(buf, sizeof(buf), "%s %zu", ot_state_name(shown[i]), n);
		paint_role(stdscr, n ? theme_role_for_state(shown[i]) : TUI_ROLE_DIM, false);
		if (x + (int)strlen(buf) >= COLS)
			break;
		x += paint_str(stdscr, 1, x, (int)strlen(buf), buf, 0) + 3;
	}
	snprintf(buf, sizeof(buf), "refresh token < %lldd: %zu",
	         (long long)(ot_config_settings(app->cfg)->reauth_warning / 86400), soon);
	if (x + (int)strlen(buf) + 1 < COLS) {
		paint_role(stdscr, soon ? TUI_ROLE_COUNTDOWN_WARN : TUI_ROLE_DIM, false);
		paint_str(stdscr, 1, COLS - (int)strlen(buf) - 1, (int)strlen(buf), buf, 0);
	}
}

static void draw_columns(tui_app *app, const layout *L)
{
	enum col_id sorted = sort_col[model_sort(app->model)];

	paint_role(stdscr, TUI_ROLE_COLUMN, false);
	paint_str(stdscr, 2, 0, COLS, "", PAINT_PAD);
	for (int c = 0; c < COL_COUNT; c++) {
		char title[48];
		if (!L->on[c])
			continue;
		snprintf(title, sizeof(title), "%s%s", col_defs[c].title,
		         c == (int)sorted ? paint_glyph_str(GLYPH_SORT) : "");
		paint_str(stdscr, 2, L->x[c], L->w[c], title, col_defs[c].flags);
	}
}

/* ---- rows ---- */

typedef struct cell_ctx {
	const layout *L;
	int y;
	bool sel;
	tui_role role;
} cell_ctx;

static void cell(const cell_ctx *cx, enum col_id c, const char *text)
{
	if (!cx->L->on[c])
		return;
	paint_str(stdscr, cx->y, cx->L->x[c], cx->L->w[c], text, col_defs[c].flags | PAINT_PAD);
}

static void cell_state(const cell_ctx *cx, const ot_health *h, bool busy, unsigned spin)
{
	char st[16];
	int x = cx->L->x[COL_STATE];

	if (!cx->L->on[COL_STATE])
		return;
	snprintf(st, sizeof(st), "%s", ot_state_name(h->state));
	for (char *p = st; *p; p++)
		*p = (char)(*p - ('a' <= *p && *p <= 'z' ? 32 : 0));
	paint_str(stdscr, cx->y, x, cx->L->w[COL_STATE], st, PAINT_PAD);
	if (busy) {
		paint_role(stdscr, cx->sel ? cx->role : TUI_ROLE_SPINNER, cx->sel);
		paint_str(stdscr, cx->y, x + cx->L->w[COL_STATE] - 1, 1, paint_spinner(spin), 0);
		paint_role(stdscr, cx->role, cx->sel);
	}
}

static void cell_refresh(const cell_ctx *cx, const ot_health *h)
{
	char cd[32];
	int w;

	if (!cx->L->on[COL_REFRESH])
		return;
	ot_countdown(h->refresh_left, h->refresh_known, true, cd, sizeof(cd));
	w = paint_str(stdscr, cx->y, cx->L->x[COL_REFRESH], cx->L->w[COL_REFRESH], cd, PAINT_PAD);
	if (h->reauth_soon && paint_width(cd) + 2 <= w) {
		paint_role(stdscr, cx->sel ? cx->role : TUI_ROLE_COUNTDOWN_WARN, cx->sel);
		paint_str(stdscr, cx->y, cx->L->x[COL_REFRESH] + paint_width(cd) + 1, 1, "!", 0);
		paint_role(stdscr, cx->role, cx->sel);
	}
}

static const char *row_error(const tui_row *r, const ot_health *h)
{
	const tui_cred *c = model_cred(r);

	if (c->last_error && *c->last_error)
		return c->last_error;
	if (h->reason && (h->state == OT_STATE_REAUTH || h->state == OT_STATE_FAILING))
		return h->reason;
	return "";
}

static void draw_row(tui_app *app, const layout *L, int y, const tui_row *r, bool sel)
{
	ot_credential view;
	ot_health h = ot_health_eval(r->acct, model_cred_view(r, &view), app->now,
	                             ot_config_settings(app->cfg)->reauth_warning);
	cell_ctx cx = {L, y, sel, theme_role_for_state(h.state)};
	bool busy = app->engine && ot_engine_busy(app->engine, r->acct->name);
	char buf[64];

	paint_role(stdscr, cx.role, sel);
	paint_str(stdscr, y, 0, 1, sel ? paint_glyph_str(GLYPH_MARK) : " ", PAINT_PAD);
	cell(&cx, COL_ACCOUNT, r->acct->name);
	cell(&cx, COL_PROVIDER, r->acct->provider ? r->acct->provider->name : "?");
	cell_state(&cx, &h, busy, app->spin);
	ot_countdown(h.access_left, h.access_known, true, buf, sizeof(buf));
	cell(&cx, COL_ACCESS, buf);
	cell_refresh(&cx, &h);
	ot_ago(model_cred(r)->last_success_at, app->now, buf, sizeof(buf));
	cell(&cx, COL_LAST, buf);
	snprintf(buf, sizeof(buf), "%d", model_cred(r)->failures);
	cell(&cx, COL_FAIL, buf);
	cell(&cx, COL_ERROR, row_error(r, &h));
	/* gaps between columns and the tail keep the row's colour */
	for (int c = 0; c < COL_COUNT; c++)
		if (L->on[c])
			paint_str(stdscr, y, L->x[c] + L->w[c], 1, " ", PAINT_PAD);
}

static void scroll_to_selection(tui_app *app, size_t h)
{
	size_t n = model_count(app->model), sel = model_selected(app->model);

	if (sel != SIZE_MAX) {
		if (sel < app->top)
			app->top = sel;
		if (sel >= app->top + h)
			app->top = sel - h + 1;
	}
	if (app->top + h > n)
		app->top = n > h ? n - h : 0;
}

static void draw_table(tui_app *app, const layout *L)
{
	size_t n = model_count(app->model), sel = model_selected(app->model);

	scroll_to_selection(app, (size_t)L->table_h);
	for (int i = 0; i < L->table_h; i++) {
		size_t k = app->top + (size_t)i;
		if (k >= n)
			break;
		draw_row(app, L, L->table_y + i, model_row(app->model, k), k == sel);
	}
	if (n == 0) {
		char msg[200];
		if (model_filter(app->model)[0])
			snprintf(msg, sizeof(msg),
			         "no account matches \"%s\" (Esc clears the filter)",
			         model_filter(app->model));
		else
			snprintf(msg, sizeof(msg), "no accounts in %s", app->config_name);
		paint_role(stdscr, TUI_ROLE_DIM, false);
		paint_str(stdscr, L->table_y + 1, 2, COLS - 3, msg, 0);
	}
}

/* ---- footer ---- */

static tui_role level_role(tui_level l)
{
	return l == TUI_LEVEL_ERROR  ? TUI_ROLE_STATUS_ERROR
	       : l == TUI_LEVEL_WARN ? TUI_ROLE_STATUS_WARN
	                             : TUI_ROLE_LOG;
}

static void event_text(const tui_event *e, char *out, size_t n)
{
	char clock[16];
	time_t t = (time_t)e->at;
	struct tm lt;

	localtime_r(&t, &lt);
	strftime(clock, sizeof(clock), "%H:%M:%S", &lt);
	snprintf(out, n, "%s %s", clock, e->text);
}

static void draw_log(tui_app *app, const layout *L)
{
	size_t n = evlog_count(app->log);
	char text[300];

	paint_role(stdscr, TUI_ROLE_SEPARATOR, false);
	paint_hline(stdscr, L->sep_y, 0, COLS);
	for (int i = 0; i < L->log_lines; i++) {
		paint_role(stdscr, TUI_ROLE_LOG, false);
		paint_str(stdscr, L->log_y + i, 0, COLS, "", PAINT_PAD);
	}
	if (n == 0) {
		paint_role(stdscr, TUI_ROLE_DIM, false);
		paint_str(stdscr, L->log_y, 1, COLS - 2, "no refresh in this session yet", 0);
		return;
	}
	if (L->log_lines > 1) {
		for (int i = 0; i < L->log_lines && (size_t)i < n; i++) {
			const tui_event *e = evlog_get(app->log, (size_t)i);
			event_text(e, text, sizeof(text));
			paint_role(stdscr, level_role(e->level), false);
			paint_str(stdscr, L->log_y + i, 1, COLS - 2, text, PAINT_PAD);
		}
		return;
	}
	int x = 1; /* one line: newest first, each in its level's colour */
	for (size_t i = 0; i < n && x < COLS - 4; i++) {
		const tui_event *e = evlog_get(app->log, i);
		event_text(e, text, sizeof(text));
		paint_role(stdscr, level_role(e->level), false);
		x += paint_str(stdscr, L->log_y, x, COLS - 1 - x, text, 0) + 3;
	}
}

/* The keys that matter, longest first: the first that fits is shown. */
static const char *const key_hints[] = {
        " r refresh  R refresh due  a authorize  %s details  / filter  s sort  t theme  ? help  "
        "q quit",
        " r refresh  R all due  %s details  / filter  s sort  t theme  ? help  q quit",
        " r refresh  R all due  %s details  / filter  ? help  q quit",
};

static void draw_status(tui_app *app, const layout *L)
{
	char buf[300];
	tui_level lvl;
	const char *flash = evlog_flash_text(app->log, app->now_ms, &lvl);
	const char *filter = model_filter(app->model);

	if (app->filtering) {
		snprintf(buf, sizeof(buf), "/%s", app->filter_edit);
		paint_role(stdscr, TUI_ROLE_FILTER, false);
		paint_str(stdscr, L->status_y, 0, COLS, buf, PAINT_PAD);
		snprintf(buf, sizeof(buf), "%zu of %zu  Enter keep  Esc clear",
		         model_count(app->model), model_total(app->model));
		if (paint_width(app->filter_edit) + (int)strlen(buf) + 4 < COLS)
			paint_str(stdscr, L->status_y, COLS - (int)strlen(buf) - 1,
			          (int)strlen(buf), buf, 0);
		curs_set(1);
		wmove(stdscr, L->status_y, 1 + paint_width(app->filter_edit));
		return;
	}
	curs_set(0);
	if (flash) {
		paint_role(stdscr,
		           level_role(lvl) == TUI_ROLE_LOG ? TUI_ROLE_STATUS_INFO : level_role(lvl),
		           false);
		snprintf(buf, sizeof(buf), " %s", flash);
		paint_str(stdscr, L->status_y, 0, COLS, buf, PAINT_PAD);
		return;
	}
	paint_role(stdscr, TUI_ROLE_KEYS, false);
	for (size_t i = 0; i < sizeof(key_hints) / sizeof(key_hints[0]); i++) {
		snprintf(buf, sizeof(buf), key_hints[i], paint_glyph_str(GLYPH_ENTER));
		if (paint_width(buf) <= COLS)
			break;
	}
	paint_str(stdscr, L->status_y, 0, COLS, buf, PAINT_PAD);
	if (filter[0]) {
		snprintf(buf, sizeof(buf), " filter \"%s\": %zu of %zu ", filter,
		         model_count(app->model), model_total(app->model));
		paint_role(stdscr, TUI_ROLE_FILTER, false);
		int w = paint_width(buf) < COLS / 2 ? paint_width(buf) : COLS / 2;
		paint_str(stdscr, L->status_y, COLS - w, w, buf, 0);
	}
}

void view_table_draw(tui_app *app)
{
	layout L;

	layout_rows(app, &L);
	layout_columns(app, &L);
	draw_title(app);
	draw_counts(app);
	draw_columns(app, &L);
	for (int i = 0; i < L.table_h; i++) {
		paint_role(stdscr, TUI_ROLE_HEADER, false);
		paint_str(stdscr, L.table_y + i, 0, COLS, "", PAINT_PAD);
	}
	draw_table(app, &L);
	draw_log(app, &L);
	draw_status(app, &L);
}

long view_table_row_at(const tui_app *app, int y)
{
	size_t k;

	if (y < app->table_y || y >= app->table_y + app->table_h)
		return -1;
	k = app->top + (size_t)(y - app->table_y);
	return k < model_count(app->model) ? (long)k : -1;
}
