/* paint.h - drawing primitives of the console: theme roles as curses attributes, and text
 * drawn by display width (UTF-8, truncated with an ellipsis). The one header that includes
 * curses for the rest of src/tui. */
#ifndef OAUTHTOP_TUI_PAINT_H
#define OAUTHTOP_TUI_PAINT_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stdbool.h>

#include "tui/theme.h"

enum {
	PAINT_PAD = 1 << 0,   /* fill the rest of the width with spaces */
	PAINT_RIGHT = 1 << 1, /* right-align within the width */
};

typedef enum paint_glyph {
	GLYPH_ELLIPSIS,
	GLYPH_HLINE,
	GLYPH_SORT,
	GLYPH_MARK, /* the selected row's marker */
	GLYPH_ENTER,
	GLYPH_UPDOWN,
	GLYPH_COUNT
} paint_glyph;

/* Decides once whether the locale speaks UTF-8 (else glyphs fall back to ASCII). */
void paint_init(void);
bool paint_utf8(void);
const char *paint_glyph_str(paint_glyph g);
/* The spinner frame for tick number i. */
const char *paint_spinner(unsigned i);

/* Applies theme (colour pairs and attributes for every role). With use_color false, or a
 * terminal without colours, only attributes are used. */
void paint_apply(const tui_theme *t, bool use_color);
bool paint_has_color(void);

/* Sets the window's attributes for a QR code from ot_qr_lines(): white on black whatever the
 * theme (it draws the light modules); plain attributes without colours. */
void paint_qr(WINDOW *w);

/* Sets the window's attributes to role's (combined with the selection when selected). */
void paint_role(WINDOW *w, tui_role role, bool selected);

/* Draws s at (y, x) within width columns; returns the columns drawn (with padding). */
int paint_str(WINDOW *w, int y, int x, int width, const char *s, int flags);

/* Display width of a UTF-8 string (invalid bytes count one column each). */
int paint_width(const char *s);

/* Writes n spaces at the cursor in the current attributes. */
void paint_spaces(WINDOW *w, int n);

/* Fills width columns at (y, x) with a horizontal line. */
void paint_hline(WINDOW *w, int y, int x, int width);

#endif
