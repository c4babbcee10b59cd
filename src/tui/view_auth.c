/* view_auth.c - the authorization panel: the device flow stepped from the console's loop. */
#include "tui/view_auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/qr.h"
#include "oauthtop/authorize.h"
#include "oauthtop/health.h"
#include "tui/paint.h"
#include "tui/view_details.h"

#define AUTH_STORE_RETRY_MS  250   /* another keeper holds the account's lease: try again */
#define AUTH_STORE_GIVEUP_MS 15000 /* ... for this long */
#define AUTH_LABEL_W         9
#define AUTH_LINES           12

struct tui_auth {
	char account[256];
	const ot_account *acct;
	ot_auth *x; /* NULL once the flow ended */
	ot_auth_state state;
	char user_code[64];
	char uri[512];
	char uri_complete[1024];
	int64_t expires_at;
	int64_t interval;
	int polls;
	char message[300];
	bool failed; /* ended without a stored grant: the message stays until Esc */
	char **qr;
	int qr_n, qr_cols;
	bool qr_tried;
	int64_t store_since_ms; /* when the grant arrived */
	int64_t store_retry_ms; /* next attempt to store it */
};

bool auth_panel_fits(const ot_account *a)
{
	return a && a->provider && a->provider->device_authorization_url &&
	       a->provider->device_authorization_url[0];
}

static void auth_copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

/* Takes what the flow shows; returns true when any of it changed. */
static bool auth_copy(tui_auth *p)
{
	ot_auth_info i;
	bool changed;

	memset(&i, 0, sizeof(i));
	ot_auth_get_info(p->x, &i);
	changed = i.state != p->state || i.polls != p->polls || i.interval != p->interval ||
	          strcmp(i.message ? i.message : "", p->message) != 0;
	p->state = i.state;
	p->polls = i.polls;
	p->interval = i.interval;
	p->expires_at = i.expires_at;
	auth_copy_str(p->message, sizeof(p->message), i.message);
	auth_copy_str(p->user_code, sizeof(p->user_code), i.user_code);
	auth_copy_str(p->uri, sizeof(p->uri), i.verification_uri);
	auth_copy_str(p->uri_complete, sizeof(p->uri_complete), i.verification_uri_complete);
	if (!p->qr_tried && (p->uri_complete[0] || p->uri[0])) {
		p->qr_tried = true;
		p->qr_n = ot_qr_lines(p->uri_complete[0] ? p->uri_complete : p->uri, &p->qr,
		                      &p->qr_cols);
		if (p->qr_n < 0)
			p->qr_n = 0;
	}
	return changed;
}

int auth_open(tui_app *app, const ot_account *a)
{
	ot_auth_opts o = {OT_FLOW_DEVICE, 0, 0, NULL};
	ot_err err = {{0}};
	tui_auth *p;
	ot_auth *x;

	auth_close(app);
	x = ot_auth_start(a, ot_config_settings(app->cfg), &o, app->now, &err);
	if (!x) {
		evlog_add(app->log, app->now, TUI_LEVEL_ERROR, "%s: cannot authorize: %s", a->name,
		          err.msg);
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s: cannot authorize: %s",
		            a->name, err.msg);
		return -1;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		ot_auth_free(x);
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "out of memory");
		return -1;
	}
	snprintf(p->account, sizeof(p->account), "%s", a->name);
	p->acct = a;
	p->x = x;
	auth_copy(p);
	app->auth = p;
	evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: authorizing (device flow)%s", a->name,
	          paint_glyph_str(GLYPH_ELLIPSIS));
	return 0;
}

void auth_close(tui_app *app)
{
	tui_auth *p = app->auth;

	if (!p)
		return;
	ot_auth_free(p->x);
	ot_qr_lines_free(p->qr, p->qr_n);
	free(p);
	app->auth = NULL;
}

/* The flow ended without a stored grant: say why, in the panel and the status line. */
static void auth_fail(tui_app *app, const char *why)
{
	tui_auth *p = app->auth;
	char text[sizeof(p->message)];

	snprintf(text, sizeof(text), "%s", why && *why ? why : "authorization failed");
	memcpy(p->message, text, sizeof(p->message));
	p->failed = true;
	ot_auth_free(p->x);
	p->x = NULL;
	evlog_add(app->log, app->now, TUI_LEVEL_ERROR, "%s: not authorized: %s", p->account,
	          p->message);
	evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s: not authorized: %s", p->account,
	            p->message);
}

static void auth_stored(tui_app *app)
{
	tui_auth *p = app->auth;
	ot_auth_info i;
	ot_err err = {{0}};
	char name[256];

	memset(&i, 0, sizeof(i));
	ot_auth_get_info(p->x, &i);
	snprintf(name, sizeof(name), "%s", p->account);
	evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: authorized (device flow)", name);
	if (i.no_refresh_token)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_WARN,
		            "%s: authorized, but without a refresh token: authorize again when the "
		            "access token expires",
		            name);
	else
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_INFO, "%s: authorized", name);
	auth_close(app);
	if (model_update_account(app->model, name, app->now, &err) < 0)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR, "%s", err.msg);
	if (app->details && strcmp(details_account(app), name) == 0)
		details_sync(app);
}

/* Stores the grant under the account's lease; retries while another keeper holds it. */
static void auth_store(tui_app *app)
{
	tui_auth *p = app->auth;
	char actor[320];
	ot_err err = {{0}};
	int rc;

	snprintf(actor, sizeof(actor), "console@%s:%lld", app->cli->host,
	         (long long)app->cli->holder.pid);
	rc = ot_auth_store(p->x, app->st, &app->cli->holder, actor, app->now, &err);
	if (rc == 0) {
		auth_stored(app);
		return;
	}
	if (rc < 0) {
		char why[600];
		snprintf(why, sizeof(why), "the new grant could not be stored: %s", err.msg);
		auth_fail(app, why);
		return;
	}
	if (app->now_ms - p->store_since_ms >= AUTH_STORE_GIVEUP_MS) {
		auth_fail(app,
		          "the new grant could not be stored: another keeper holds the account");
		return;
	}
	snprintf(p->message, sizeof(p->message),
	         "approved; another keeper holds the account, "
	         "storing when it lets go");
	p->store_retry_ms = app->now_ms + AUTH_STORE_RETRY_MS;
}

bool auth_update(tui_app *app)
{
	tui_auth *p = app->auth;
	ot_auth_state st;
	bool changed;

	if (!p || !p->x)
		return false;
	if (p->state == OT_AUTH_DONE) {
		if (app->now_ms < p->store_retry_ms)
			return false;
		auth_store(app);
		return true;
	}
	st = ot_auth_step(p->x, app->now);
	changed = auth_copy(p);
	if (st == OT_AUTH_DONE) {
		p->store_since_ms = app->now_ms;
		auth_store(app);
		return true;
	}
	if (ot_auth_final(st)) {
		auth_fail(app, p->message);
		return true;
	}
	return changed;
}

long auth_timeout_ms(const tui_app *app)
{
	const tui_auth *p = app->auth;
	long t;

	if (!p || !p->x)
		return -1;
	if (p->state == OT_AUTH_DONE) {
		t = (long)(p->store_retry_ms - app->now_ms);
		return t < 0 ? 0 : t;
	}
	return ot_auth_timeout_ms(p->x, app->now);
}

/* ---- drawing ---- */

typedef struct auth_line {
	const char *label;
	tui_role role;
	bool bold;
	char text[1100];
} auth_line;

typedef struct auth_text {
	auth_line l[AUTH_LINES];
	int n;
} auth_text;

static auth_line *text_add(auth_text *t, const char *label, tui_role role, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static auth_line *text_add(auth_text *t, const char *label, tui_role role, const char *fmt, ...)
{
	auth_line *l;
	va_list ap;

	if (t->n >= AUTH_LINES)
		return NULL;
	l = &t->l[t->n++];
	l->label = label;
	l->role = role;
	l->bold = false;
	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
	return l;
}

static void auth_state_text(const tui_app *app, const tui_auth *p, auth_text *t)
{
	char left[32];

	if (p->failed) {
		text_add(t, "failed", TUI_ROLE_STATUS_ERROR, "%s", p->message);
		return;
	}
	if (p->state == OT_AUTH_STARTING) {
		text_add(t, "", TUI_ROLE_HEADER, "requesting a device code%s",
		         paint_glyph_str(GLYPH_ELLIPSIS));
		return;
	}
	ot_countdown(p->expires_at - app->now, p->expires_at != 0, false, left, sizeof(left));
	text_add(t, "expires",
	         p->expires_at - app->now < 60 ? TUI_ROLE_COUNTDOWN_WARN : TUI_ROLE_HEADER, "%s%s",
	         p->expires_at > app->now ? "in " : "", left);
	text_add(t, "polling", TUI_ROLE_HEADER, "every %llds, %d poll%s: %s",
	         (long long)p->interval, p->polls, p->polls == 1 ? "" : "s", p->message);
}

/* The lines around the QR code: before (URL, code) and after (countdown, state). */
static void auth_texts(const tui_app *app, const tui_auth *p, auth_text *before, auth_text *after)
{
	auth_line *l;

	memset(before, 0, sizeof(*before));
	memset(after, 0, sizeof(*after));
	if (p->user_code[0]) {
		text_add(before, "open", TUI_ROLE_HEADER, "%s", p->uri);
		l = text_add(before, "code", TUI_ROLE_HEADER, "%s", p->user_code);
		if (l)
			l->bold = true;
		if (p->uri_complete[0])
			text_add(before, "or open", TUI_ROLE_HEADER, "%s", p->uri_complete);
	}
	auth_state_text(app, p, after);
}

static int text_width(const auth_text *t)
{
	int w = 0;

	for (int i = 0; i < t->n; i++) {
		int lw = AUTH_LABEL_W + paint_width(t->l[i].text);
		if (lw > w)
			w = lw;
	}
	return w;
}

typedef struct auth_box {
	int y, x, h, w; /* outer */
	bool qr;        /* the QR code is drawn */
	bool enlarge;   /* it exists but does not fit */
} auth_box;

static void auth_layout(const tui_auth *p, const auth_text *before, const auth_text *after,
                        auth_box *b)
{
	int inner = text_width(before), wa = text_width(after), keys = 1;
	int body = before->n + after->n + keys + 1; /* + blank line before the keys */
	int max_h = LINES - 2, max_w = COLS - 2;

	if (wa > inner)
		inner = wa;
	if (inner < 40)
		inner = 40;
	b->qr = p->qr_n > 0;
	b->enlarge = false;
	if (b->qr && (body + p->qr_n + 2 + 2 > max_h || p->qr_cols + 4 > max_w)) {
		b->qr = false;
		b->enlarge = true;
	}
	if (b->qr) {
		body += p->qr_n + 2;
		if (p->qr_cols > inner)
			inner = p->qr_cols;
	} else if (b->enlarge) {
		body += 1;
	}
	b->w = inner + 4 > max_w ? max_w : inner + 4;
	b->h = body + 2 > max_h ? max_h : body + 2;
	b->x = (COLS - b->w) / 2;
	b->y = 1 + (max_h - b->h) / 2;
}

static void draw_frame(const auth_box *b, const char *title)
{
	bool u = paint_utf8();
	const char *h = u ? "─" : "-", *v = u ? "│" : "|";

	paint_role(stdscr, TUI_ROLE_SEPARATOR, false);
	for (int y = b->y; y < b->y + b->h; y++) {
		bool top = y == b->y, bottom = y == b->y + b->h - 1;
		wmove(stdscr, y, b->x);
		if (top || bottom) {
			waddstr(stdscr, top ? (u ? "┌" : "+") : (u ? "└" : "+"));
			for (int i = 0; i < b->w - 2; i++)
				waddstr(stdscr, h);
			waddstr(stdscr, top ? (u ? "┐" : "+") : (u ? "┘" : "+"));
			continue;
		}
		waddstr(stdscr, v);
		paint_role(stdscr, TUI_ROLE_HEADER, false);
		paint_spaces(stdscr, b->w - 2);
		paint_role(stdscr, TUI_ROLE_SEPARATOR, false);
		waddstr(stdscr, v);
	}
	paint_role(stdscr, TUI_ROLE_TITLE, false);
	paint_str(stdscr, b->y, b->x + 2, b->w - 4, title, 0);
}

/* The first row below the body: the keys line. */
static int body_end(const auth_box *b)
{
	return b->y + b->h - 2;
}

/* Draws the lines of t from row *y, as many as fit. */
static void draw_text(const auth_box *b, const auth_text *t, int *y)
{
	int x = b->x + 2, w = b->w - 4;

	for (int i = 0; i < t->n && *y < body_end(b); i++, (*y)++) {
		const auth_line *l = &t->l[i];
		paint_role(stdscr, TUI_ROLE_LABEL, false);
		paint_str(stdscr, *y, x, AUTH_LABEL_W, l->label, PAINT_PAD);
		paint_role(stdscr, l->role, false);
		if (l->bold)
			wattron(stdscr, A_BOLD);
		paint_str(stdscr, *y, x + AUTH_LABEL_W, w - AUTH_LABEL_W, l->text, 0);
	}
}

static void draw_qr(const tui_auth *p, const auth_box *b, int *y)
{
	int x = b->x + (b->w - p->qr_cols) / 2;

	(*y)++;
	paint_qr(stdscr);
	for (int i = 0; i < p->qr_n && *y < body_end(b); i++, (*y)++)
		paint_str(stdscr, *y, x, p->qr_cols, p->qr[i], 0);
	(*y)++;
}

void view_auth_draw(tui_app *app)
{
	const tui_auth *p = app->auth;
	auth_text before, after;
	auth_box b;
	char title[300];
	int y;

	if (!p)
		return;
	auth_texts(app, p, &before, &after);
	auth_layout(p, &before, &after, &b);
	snprintf(title, sizeof(title), " authorize %s (device flow) ", p->account);
	draw_frame(&b, title);
	y = b.y + 1;
	draw_text(&b, &before, &y);
	if (b.qr) {
		draw_qr(p, &b, &y);
	} else if (b.enlarge && y < body_end(&b)) {
		paint_role(stdscr, TUI_ROLE_DIM, false);
		paint_str(stdscr, y++, b.x + 2, b.w - 4, "enlarge the terminal for a QR code", 0);
	}
	draw_text(&b, &after, &y);
	paint_role(stdscr, TUI_ROLE_KEYS, false);
	paint_str(stdscr, body_end(&b), b.x + 2, b.w - 4,
	          p->failed ? " Esc close  a try again " : " Esc cancel ", 0);
}

tui_result view_auth_key(tui_app *app, int key)
{
	tui_auth *p = app->auth;
	const ot_account *a = p->acct;

	switch (key) {
	case 27:
	case 'q':
	case KEY_BACKSPACE:
		if (!p->failed) {
			evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: authorization cancelled",
			          p->account);
			evlog_flash(app->log, app->now_ms, TUI_LEVEL_INFO,
			            "%s: authorization cancelled", p->account);
		}
		auth_close(app);
		return TUI_REDRAW;
	case 'a':
		if (!p->failed)
			return TUI_HANDLED;
		evlog_flash_clear(app->log);
		auth_open(app, a);
		return TUI_REDRAW;
	case 'l' & 0x1f:
		clearok(curscr, TRUE);
		return TUI_REDRAW;
	default:
		return TUI_HANDLED;
	}
}
