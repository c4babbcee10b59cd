/* view_help.c - the help screen, generated from the keymap's action table. */
#include "tui/view_help.h"

#include <stdio.h>

#include "tui/keymap.h"
#include "tui/paint.h"

static void help_line(int *y, int skip, const char *keys, const char *what, tui_role role)
{
	int row = *y - skip;

	(*y)++;
	if (row < 2 || row >= LINES - 1)
		return;
	paint_role(stdscr, TUI_ROLE_LABEL, false);
	paint_str(stdscr, row, 2, 14, keys, PAINT_PAD);
	paint_role(stdscr, role, false);
	paint_str(stdscr, row, 17, COLS - 18, what, PAINT_PAD);
}

void view_help_draw(tui_app *app)
{
	char line[200];
	int y = 2;
	const ot_settings *s = ot_config_settings(app->cfg);

	werase(stdscr);
	paint_role(stdscr, TUI_ROLE_TITLE, false);
	paint_str(stdscr, 0, 1, COLS - 2, "oauthtop " OT_VERSION " - keys", PAINT_PAD);
	for (int a = TUI_ACTION_NONE + 1; a < TUI_ACTION_COUNT; a++)
		help_line(&y, app->scroll, keymap_keys((tui_action)a), keymap_what((tui_action)a),
		          TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "click", "select the row under the mouse", TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "", "", TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "marks", "", TUI_ROLE_COLUMN);
	help_line(&y, app->scroll, paint_spinner(0), "a refresh is in flight", TUI_ROLE_SPINNER);
	help_line(&y, app->scroll, "!",
	          "the refresh token expires within the reauth warning (reauth_soon)",
	          TUI_ROLE_COUNTDOWN_WARN);
	help_line(&y, app->scroll, "?", "unknown (never treated as expired)", TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "", "", TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "states", "most urgent first", TUI_ROLE_COLUMN);
	help_line(&y, app->scroll, "reauth", "authorize again, or fix the client configuration",
	          TUI_ROLE_ROW_REAUTH);
	help_line(&y, app->scroll, "failing", "last refresh failed; retried with backoff",
	          TUI_ROLE_ROW_FAILING);
	help_line(&y, app->scroll, "expired", "access token expired; refresh now",
	          TUI_ROLE_ROW_EXPIRED);
	snprintf(line, sizeof(line), "access token expires within the window (%llds)",
	         (long long)s->window);
	help_line(&y, app->scroll, "due", line, TUI_ROLE_ROW_DUE);
	help_line(&y, app->scroll, "ok", "nothing to do", TUI_ROLE_ROW_OK);
	help_line(&y, app->scroll, "disabled", "not refreshed", TUI_ROLE_ROW_DISABLED);
	help_line(&y, app->scroll, "", "", TUI_ROLE_HEADER);
	snprintf(line, sizeof(line), "%s (t cycles; --theme NAME or the theme key)",
	         app->theme.name);
	help_line(&y, app->scroll, "theme", line, TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "config", s->path ? s->path : "?", TUI_ROLE_HEADER);
	help_line(&y, app->scroll, "store", s->store_path ? s->store_path : "?", TUI_ROLE_HEADER);
	/* j went past the end (or the window grew): the last page, not a blank one */
	if (app->scroll > 0 && y - app->scroll < LINES - 1) {
		int max = y - (LINES - 1);
		app->scroll = max > 0 ? max : 0;
		view_help_draw(app);
		return;
	}
	paint_role(stdscr, TUI_ROLE_KEYS, false);
	paint_str(stdscr, LINES - 1, 0, COLS, " Esc/q/? back  j/k scroll", PAINT_PAD);
}

tui_result view_help_key(tui_app *app, int key)
{
	switch (key) {
	case 'j':
	case KEY_DOWN:
		app->scroll++;
		return TUI_REDRAW;
	case 'k':
	case KEY_UP:
		if (app->scroll > 0)
			app->scroll--;
		return TUI_REDRAW;
	case 'g':
	case KEY_HOME:
		app->scroll = 0;
		return TUI_REDRAW;
	default:
		app->mode = TUI_MODE_TABLE;
		app->scroll = 0;
		return TUI_REDRAW;
	}
}
