/* actions.c - what keys and clicks do in each mode. */
#include "tui/actions.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wchar.h>

#include "tui/keymap.h"
#include "tui/paint.h"
#include "tui/view_auth.h"
#include "tui/view_details.h"
#include "tui/view_help.h"
#include "tui/view_table.h"

static void move_selection(tui_app *app, long delta)
{
	size_t n = model_count(app->model), sel = model_selected(app->model);
	long to;

	if (n == 0 || sel == SIZE_MAX)
		return;
	to = (long)sel + delta;
	if (to < 0)
		to = 0;
	if (to >= (long)n)
		to = (long)n - 1;
	model_select(app->model, (size_t)to);
}

/* ---- authorize: the device flow in a panel (view_auth.c); code + PKCE (a browser on this
 * machine) by handing the terminal to `oauthtop authorize NAME` ---- */

static void authorize_exec(tui_app *app, const char *account)
{
	const char *argv[9];
	int n = 0;
	const char *cfg = ot_config_settings(app->cfg)->path;

	argv[n++] = "oauthtop";
	if (cfg) {
		argv[n++] = "--config";
		argv[n++] = cfg;
	}
	if (app->cli->store_path) {
		argv[n++] = "--store";
		argv[n++] = app->cli->store_path;
	}
	argv[n++] = "authorize";
	argv[n++] = account;
	argv[n] = NULL;
	execv("/proc/self/exe", (char *const *)argv);
	fprintf(stderr, "oauthtop: cannot run authorize: %s\n", strerror(errno));
	_exit(127);
}

static void actions_authorize_exec(tui_app *app, const tui_row *r)
{
	char name[256];
	pid_t pid;
	int status = 0;

	snprintf(name, sizeof(name), "%s", r->acct->name);
	def_prog_mode();
	endwin();
	printf("\noauthtop authorize %s\n\n", name);
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		authorize_exec(app, name);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (isatty(STDIN_FILENO)) {
		printf("\n[authorize ended] press Enter to return to the console ");
		fflush(stdout);
		for (int c = getchar(); c != '\n' && c != EOF; c = getchar())
			;
	}
	reset_prog_mode();
	clearok(curscr, TRUE);
	if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_ERROR,
		            "%s: authorization failed (%s %d)", name, pid < 0 ? "fork" : "exit",
		            pid < 0             ? errno
		            : WIFEXITED(status) ? WEXITSTATUS(status)
		                                : -1);
	else
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_INFO, "%s: authorized", name);
	evlog_add(app->log, app->now, TUI_LEVEL_INFO, "%s: authorize ended", name);
	model_update_account(app->model, name, app->now, NULL);
}

static void actions_authorize(tui_app *app)
{
	tui_row *r = model_selected_row(app->model);

	if (!r)
		return;
	if (auth_panel_fits(r->acct))
		auth_open(app, r->acct);
	else
		actions_authorize_exec(app, r);
}

/* ---- filter editing ---- */

static void filter_apply(tui_app *app)
{
	model_set_filter(app->model, app->filter_edit);
	app->top = 0;
}

static void filter_backspace(char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		unsigned char c = (unsigned char)s[--len];
		s[len] = '\0';
		if ((c & 0xC0) != 0x80) /* stop at the first byte of a UTF-8 character */
			break;
	}
}

static void filter_append(char *s, size_t cap, int key)
{
	char mb[MB_LEN_MAX + 1];
	size_t len = strlen(s), n;
	mbstate_t st;

	memset(&st, 0, sizeof(st));
	n = wcrtomb(mb, (wchar_t)(key & ~ACTIONS_WIDE), &st);
	if (n == (size_t)-1 || len + n + 1 > cap)
		return;
	memcpy(s + len, mb, n);
	s[len + n] = '\0';
}

static tui_result filter_key(tui_app *app, int key)
{
	switch (key) {
	case '\n':
	case '\r':
	case KEY_ENTER:
		app->filtering = false;
		return TUI_REDRAW;
	case 27:
		app->filtering = false;
		app->filter_edit[0] = '\0';
		filter_apply(app);
		return TUI_REDRAW;
	case KEY_BACKSPACE:
	case 127:
	case 8:
		filter_backspace(app->filter_edit);
		break;
	case 'u' & 0x1f:
		app->filter_edit[0] = '\0';
		break;
	case KEY_UP:
	case KEY_DOWN:
		return actions_key(app, key == KEY_UP ? 'k' : 'j');
	default:
		if ((key >= 32 && key < 127) || (key & ACTIONS_WIDE))
			filter_append(app->filter_edit, sizeof(app->filter_edit), key);
		else
			return TUI_HANDLED;
	}
	filter_apply(app);
	return TUI_REDRAW;
}

/* ---- modes ---- */

static tui_result table_action(tui_app *app, tui_action a)
{
	tui_row *r = model_selected_row(app->model);
	long page = app->table_h > 1 ? app->table_h - 1 : 1;

	switch (a) {
	case TUI_ACTION_UP:
		move_selection(app, -1);
		break;
	case TUI_ACTION_DOWN:
		move_selection(app, 1);
		break;
	case TUI_ACTION_PAGE_UP:
		move_selection(app, -page);
		break;
	case TUI_ACTION_PAGE_DOWN:
		move_selection(app, page);
		break;
	case TUI_ACTION_HOME:
		move_selection(app, -(long)model_count(app->model));
		break;
	case TUI_ACTION_END:
		move_selection(app, (long)model_count(app->model));
		break;
	case TUI_ACTION_REFRESH:
		if (r)
			app_refresh(app, r->acct->name);
		break;
	case TUI_ACTION_REFRESH_DUE:
		app_refresh_due(app);
		break;
	case TUI_ACTION_AUTHORIZE:
		actions_authorize(app);
		break;
	case TUI_ACTION_DETAILS:
		details_open(app);
		break;
	case TUI_ACTION_FILTER:
		app->filtering = true;
		snprintf(app->filter_edit, sizeof(app->filter_edit), "%s",
		         model_filter(app->model));
		break;
	case TUI_ACTION_SORT:
		model_set_sort(app->model,
		               (tui_sort)((model_sort(app->model) + 1) % TUI_SORT_COUNT));
		evlog_flash(app->log, app->now_ms, TUI_LEVEL_INFO, "sorted by %s",
		            model_sort_name(model_sort(app->model)));
		break;
	case TUI_ACTION_THEME:
		app_next_theme(app);
		break;
	case TUI_ACTION_HELP:
		app->mode = TUI_MODE_HELP;
		app->scroll = 0;
		break;
	case TUI_ACTION_BACK:
		app->filter_edit[0] = '\0';
		filter_apply(app);
		evlog_flash_clear(app->log);
		break;
	case TUI_ACTION_REDRAW:
		clearok(curscr, TRUE);
		break;
	case TUI_ACTION_QUIT:
		return TUI_QUIT;
	default:
		return TUI_HANDLED;
	}
	return TUI_REDRAW;
}

static tui_result details_key(tui_app *app, int key)
{
	tui_row *r;

	switch (keymap_action(key)) {
	case TUI_ACTION_BACK:
	case TUI_ACTION_DETAILS:
	case TUI_ACTION_QUIT:
		details_close(app);
		return TUI_REDRAW;
	case TUI_ACTION_REFRESH:
		r = model_selected_row(app->model);
		if (r)
			app_refresh(app, r->acct->name);
		return TUI_REDRAW;
	case TUI_ACTION_AUTHORIZE:
		actions_authorize(app);
		details_sync(app);
		return TUI_REDRAW;
	case TUI_ACTION_THEME:
		app_next_theme(app);
		return TUI_REDRAW;
	case TUI_ACTION_REDRAW:
		clearok(curscr, TRUE);
		return TUI_REDRAW;
	default:
		return view_details_key(app, key);
	}
}

tui_result actions_key(tui_app *app, int key)
{
	if (key == KEY_RESIZE)
		return TUI_REDRAW;
	if (app->auth)
		return view_auth_key(app, key);
	if (app->mode == TUI_MODE_HELP)
		return view_help_key(app, key);
	if (app->mode == TUI_MODE_DETAILS)
		return details_key(app, key);
	if (app->filtering)
		return filter_key(app, key);
	return table_action(app, keymap_action(key));
}

tui_result actions_click(tui_app *app, int x, int y)
{
	long k;

	(void)x;
	if (app->mode != TUI_MODE_TABLE || app->auth)
		return TUI_HANDLED;
	k = view_table_row_at(app, y);
	if (k < 0)
		return TUI_HANDLED;
	model_select(app->model, (size_t)k);
	return TUI_REDRAW;
}

tui_result actions_wheel(tui_app *app, int delta)
{
	if (app->mode == TUI_MODE_TABLE) {
		move_selection(app, delta);
		return TUI_REDRAW;
	}
	return actions_key(app, delta < 0 ? KEY_UP : KEY_DOWN);
}
