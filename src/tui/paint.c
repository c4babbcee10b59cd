/* paint.c - roles to curses attributes; width-aware UTF-8 text. */
#include "tui/paint.h"

#include <langinfo.h>
#include <string.h>
#include <strings.h>
#include <wchar.h>

typedef struct paint_style {
	attr_t attr;
	short pair;
	bool colored; /* has its own colours (not default/default) */
} paint_style;

#define QR_PAIR ((short)(TUI_ROLE_COUNT + 1)) /* after the roles' pairs */

static paint_style styles[TUI_ROLE_COUNT];
static bool utf8;
static bool color_on;

static const char *const glyphs_utf8[GLYPH_COUNT] = {"…", "─", "▾", ">", "⏎", "↑↓"};
static const char *const glyphs_ascii[GLYPH_COUNT] = {"~", "-", "v", ">", "Enter", "Up/Down"};
static const char *const spin_utf8[] = {"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"};
static const char *const spin_ascii[] = {"|", "/", "-", "\\"};

void paint_init(void)
{
	const char *cs = nl_langinfo(CODESET);

	utf8 = cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

bool paint_utf8(void)
{
	return utf8;
}

const char *paint_glyph_str(paint_glyph g)
{
	return g < GLYPH_COUNT ? (utf8 ? glyphs_utf8 : glyphs_ascii)[g] : "";
}

const char *paint_spinner(unsigned i)
{
	if (utf8)
		return spin_utf8[i % (sizeof(spin_utf8) / sizeof(spin_utf8[0]))];
	return spin_ascii[i % (sizeof(spin_ascii) / sizeof(spin_ascii[0]))];
}

static attr_t attrs_of(unsigned a)
{
	attr_t r = A_NORMAL;

	if (a & THEME_BOLD)
		r |= A_BOLD;
	if (a & THEME_DIM)
		r |= A_DIM;
	if (a & THEME_UNDERLINE)
		r |= A_UNDERLINE;
	if (a & THEME_REVERSE)
		r |= A_REVERSE;
	if (a & THEME_ITALIC)
		r |= A_ITALIC;
	if (a & THEME_BLINK)
		r |= A_BLINK;
	return r;
}

/* A colour the terminal can show: bright colours on an 8-colour terminal become the base
 * colour in bold; anything else out of range becomes the default. */
static short color_fit(short c, attr_t *extra)
{
	if (c < 0 || c < COLORS)
		return c;
	if (c >= 8 && c < 16 && COLORS >= 8) {
		if (extra)
			*extra |= A_BOLD;
		return (short)(c - 8);
	}
	return -1;
}

bool paint_has_color(void)
{
	return has_colors();
}

void paint_apply(const tui_theme *t, bool use_color)
{
	color_on = use_color && has_colors() && !t->monochrome;
	if (color_on)
		init_pair(QR_PAIR, COLORS >= 16 ? 15 : COLOR_WHITE, COLOR_BLACK);
	for (int i = 0; i < TUI_ROLE_COUNT; i++) {
		const tui_style *s = &t->style[i];
		paint_style *p = &styles[i];
		attr_t extra = 0;
		p->attr = attrs_of(s->attrs);
		p->pair = 0;
		p->colored = false;
		if (!color_on)
			continue;
		short fg = color_fit(s->fg, &extra), bg = color_fit(s->bg, NULL);
		if (fg == -1 && bg == -1)
			continue;
		init_pair((short)(i + 1), fg, bg);
		p->pair = (short)(i + 1);
		p->attr |= extra;
		p->colored = true;
	}
}

void paint_qr(WINDOW *w)
{
	wattr_set(w, A_NORMAL, color_on ? QR_PAIR : 0, NULL);
}

void paint_role(WINDOW *w, tui_role role, bool selected)
{
	paint_style s = styles[role < TUI_ROLE_COUNT ? role : 0];

	if (selected) {
		const paint_style *sel = &styles[TUI_ROLE_SELECTED];
		if (sel->colored) {
			s = *sel;
		} else {
			/* Keep the row's colour; reverse toggles so that a reversed role stays
			 * distinguishable when selected (monochrome). */
			s.attr ^= sel->attr & A_REVERSE;
			s.attr |= sel->attr & ~(attr_t)A_REVERSE;
		}
	}
	wattr_set(w, s.attr, s.pair, NULL);
}

/* Decodes one character; returns its byte length (>= 1) and its width in *cols. */
static size_t next_char(const char *s, size_t left, wchar_t *wc, int *cols)
{
	mbstate_t st;
	size_t n;

	memset(&st, 0, sizeof(st));
	n = mbrtowc(wc, s, left, &st);
	if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
		*wc = L'?';
		*cols = 1;
		return 1;
	}
	*cols = wcwidth(*wc);
	if (*cols < 0) { /* control characters never reach the terminal */
		*wc = L'?';
		*cols = 1;
	}
	return n;
}

int paint_width(const char *s)
{
	size_t left = strlen(s);
	int w = 0;

	while (left) {
		wchar_t wc;
		int c;
		size_t n = next_char(s, left, &wc, &c);
		w += c;
		s += n;
		left -= n;
	}
	return w;
}

/* Spaces in the current attributes (whline would use the background's). */
void paint_spaces(WINDOW *w, int n)
{
	while (n-- > 0)
		waddch(w, ' ');
}

int paint_str(WINDOW *w, int y, int x, int width, const char *s, int flags)
{
	size_t left = strlen(s);
	int used = 0, total = paint_width(s);
	int ell = paint_width(paint_glyph_str(GLYPH_ELLIPSIS));
	bool cut = total > width;

	if (width <= 0)
		return 0;
	wmove(w, y, x);
	if ((flags & PAINT_RIGHT) && !cut && total < width) {
		paint_spaces(w, width - total);
		used = width - total;
	}
	while (left) {
		wchar_t wc[2] = {0, 0};
		int c;
		size_t n = next_char(s, left, &wc[0], &c);
		if (cut && used + c > width - ell)
			break;
		if (used + c > width)
			break;
		waddnwstr(w, wc, 1);
		used += c;
		s += n;
		left -= n;
	}
	if (cut && used + ell <= width) {
		waddstr(w, paint_glyph_str(GLYPH_ELLIPSIS));
		used += ell;
	}
	if ((flags & PAINT_PAD) && used < width) {
		paint_spaces(w, width - used);
		used = width;
	}
	return used;
}

void paint_hline(WINDOW *w, int y, int x, int width)
{
	wmove(w, y, x);
	if (utf8) {
		for (int i = 0; i < width; i++)
			waddstr(w, "─");
	} else {
		paint_spaces(w, 0);
		for (int i = 0; i < width; i++)
			waddch(w, '-');
	}
}
