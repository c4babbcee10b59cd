/* theme.h - colour roles and theme files. A theme maps each role of the console to a
 * foreground, a background and attributes; it never mentions curses, so parsing is pure.
 *
 * File format (one line per role, `#` starts a comment, roles not listed keep the default
 * theme's value):
 *     color ROLE FOREGROUND BACKGROUND [ATTRIBUTE...]
 * colours: default black red green yellow blue magenta cyan white, bright-NAME (8-15),
 * color0..color255 or a number; attributes: normal bold dim underline reverse italic blink. */
#ifndef OAUTHTOP_TUI_THEME_H
#define OAUTHTOP_TUI_THEME_H

#include <stdbool.h>
#include <stddef.h>

#include "oauthtop/err.h"
#include "oauthtop/health.h"

/* Every role, with its name in theme files. */
#define TUI_ROLES(X)                                                                               \
	X(TITLE, "title")                                                                          \
	X(HEADER, "header")                                                                        \
	X(COLUMN, "column")                                                                        \
	X(ROW_OK, "row.ok")                                                                        \
	X(ROW_DUE, "row.due")                                                                      \
	X(ROW_EXPIRED, "row.expired")                                                              \
	X(ROW_FAILING, "row.failing")                                                              \
	X(ROW_REAUTH, "row.reauth")                                                                \
	X(ROW_DISABLED, "row.disabled")                                                            \
	X(SELECTED, "selected")                                                                    \
	X(COUNTDOWN_WARN, "countdown.warn")                                                        \
	X(DIM, "dim")                                                                              \
	X(SPINNER, "spinner")                                                                      \
	X(SEPARATOR, "separator")                                                                  \
	X(LOG, "log")                                                                              \
	X(KEYS, "keys")                                                                            \
	X(FILTER, "filter")                                                                        \
	X(STATUS_INFO, "status.info")                                                              \
	X(STATUS_WARN, "status.warn")                                                              \
	X(STATUS_ERROR, "status.error")                                                            \
	X(LABEL, "label")

typedef enum tui_role {
#define TUI_ROLE_ENUM(id, name) TUI_ROLE_##id,
	TUI_ROLES(TUI_ROLE_ENUM)
#undef TUI_ROLE_ENUM
	        TUI_ROLE_COUNT
} tui_role;

enum {
	THEME_BOLD = 1 << 0,
	THEME_DIM = 1 << 1,
	THEME_UNDERLINE = 1 << 2,
	THEME_REVERSE = 1 << 3,
	THEME_ITALIC = 1 << 4,
	THEME_BLINK = 1 << 5,
};

#define THEME_DEFAULT_COLOR (-1)

typedef struct tui_style {
	short fg, bg; /* THEME_DEFAULT_COLOR or 0..255 */
	unsigned attrs;
} tui_style;

typedef struct tui_theme {
	char name[64];
	bool monochrome; /* uses no colour at all */
	tui_style style[TUI_ROLE_COUNT];
} tui_theme;

const char *theme_role_name(tui_role r);
/* The row role of a health state. */
tui_role theme_role_for_state(ot_state s);

/* The compiled-in themes: "default" and "mono" (NO_COLOR, terminals without colour). */
void theme_builtin(const char *name, tui_theme *out);

/* Parses theme text over the default theme. On error returns -1 and err says
 * "PATH:LINE: what" (out is then the default theme). */
int theme_parse(const char *text, const char *path, const char *name, tui_theme *out, ot_err *err);

/* Finds and loads the theme called name (or a path when name contains '/'): searches
 * $OAUTHTOP_THEME_DIR, $XDG_CONFIG_HOME/oauthtop/themes, themes/ next to the executable or
 * its parent (source tree, build directories), ../share/oauthtop/themes from the
 * executable, and the installed share directory (OT_DATADIR). "default" and "mono" fall back to the
 * compiled-in ones. On error returns -1, err set, out = default theme. */
int theme_load(const char *name, tui_theme *out, ot_err *err);

/* Sorted, de-duplicated names of every theme found (always "default" and "mono"); free
 * with theme_list_free(). */
int theme_list(char ***names, size_t *n);
void theme_list_free(char **names, size_t n);

#endif
