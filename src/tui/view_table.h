/* view_table.h - the main screen: header (counts, keeper, window, clock), the accounts table
 * (only the visible rows are evaluated and drawn), the event log and the status line. */
#ifndef OAUTHTOP_TUI_VIEW_TABLE_H
#define OAUTHTOP_TUI_VIEW_TABLE_H

#include "tui/app.h"

void view_table_draw(tui_app *app);

/* The list position shown at screen line y in the last frame, or -1. */
long view_table_row_at(const tui_app *app, int y);

#endif
