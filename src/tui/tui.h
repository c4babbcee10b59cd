/* tui.h - the console's terminal and event loop (`oauthtop` / `oauthtop tui` is
 * ot_cmd_tui() in src/cli/cli.h). Exposed for the console benchmark. */
#ifndef OAUTHTOP_TUI_TUI_H
#define OAUTHTOP_TUI_TUI_H

#include <stdio.h>

#include "tui/app.h"

/* Starts curses on out/in with terminal type term (NULL: $TERM). Returns -1 on failure. */
int tui_term_open(FILE *out, FILE *in, const char *term);
void tui_term_close(void);

/* Draws the current view and updates the terminal. */
void tui_draw(tui_app *app);

#endif
