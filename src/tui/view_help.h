/* view_help.h - every key (from the keymap table), the marks of the table and the theme. */
#ifndef OAUTHTOP_TUI_VIEW_HELP_H
#define OAUTHTOP_TUI_VIEW_HELP_H

#include "tui/app.h"

void view_help_draw(tui_app *app);
tui_result view_help_key(tui_app *app, int key);

#endif
