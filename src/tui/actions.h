/* actions.h - key and mouse handlers: they change the console's state and say what the loop
 * should do (TUI_HANDLED, TUI_REDRAW, TUI_QUIT); they never draw. */
#ifndef OAUTHTOP_TUI_ACTIONS_H
#define OAUTHTOP_TUI_ACTIONS_H

#include "tui/app.h"

/* Keys: curses codes; a typed character outside ASCII is ACTIONS_WIDE | its code point. */
#define ACTIONS_WIDE 0x40000000

tui_result actions_key(tui_app *app, int key);

/* A click (button 1) or wheel at screen position x, y. */
tui_result actions_click(tui_app *app, int x, int y);
tui_result actions_wheel(tui_app *app, int delta);

#endif
