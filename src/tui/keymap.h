/* keymap.h - what each key does: one table of actions (with the words the help view shows)
 * and the keys bound to them; key names for scripts ("j", "<Enter>", "<PgDn>"). */
#ifndef OAUTHTOP_TUI_KEYMAP_H
#define OAUTHTOP_TUI_KEYMAP_H

#include <stddef.h>

/* id, keys as shown in help, what it does. */
#define TUI_ACTIONS(X)                                                                             \
	X(NONE, "", "")                                                                            \
	X(UP, "Up k", "select the previous account")                                               \
	X(DOWN, "Down j", "select the next account")                                               \
	X(PAGE_UP, "PgUp", "one screen up")                                                        \
	X(PAGE_DOWN, "PgDn Space", "one screen down")                                              \
	X(HOME, "Home g", "first account")                                                         \
	X(END, "End G", "last account")                                                            \
	X(REFRESH, "r", "refresh the selected account now (ignores backoff)")                      \
	X(REFRESH_DUE, "R", "refresh every due, expired or retry-ready account")                   \
	X(AUTHORIZE, "a",                                                                          \
	  "authorize the selected account (device flow: URL, code, QR in a panel)")                \
	X(DETAILS, "Enter", "details: endpoint, scope, masked tokens, expiries, history")          \
	X(FILTER, "/", "filter by name, provider or state as you type (Esc clears)")               \
	X(SORT, "s", "sort by the next column (urgency, name, provider, access...)")               \
	X(THEME, "t", "next colour theme")                                                         \
	X(HELP, "?", "this help")                                                                  \
	X(BACK, "Esc", "close details or help; clear the filter")                                  \
	X(REDRAW, "Ctrl-L", "redraw the screen")                                                   \
	X(QUIT, "q", "quit")

typedef enum tui_action {
#define TUI_ACTION_ENUM(id, keys, what) TUI_ACTION_##id,
	TUI_ACTIONS(TUI_ACTION_ENUM)
#undef TUI_ACTION_ENUM
	        TUI_ACTION_COUNT
} tui_action;

/* The action bound to a curses key code (NONE if unbound). */
tui_action keymap_action(int key);

const char *keymap_keys(tui_action a);
const char *keymap_what(tui_action a);

/* Parses one key from a script line at *p ("j", "<Enter>", "<C-l>", "<lt>"); advances *p.
 * Returns the curses key code, or -1 for an unknown name. */
int keymap_parse(const char **p);

#endif
