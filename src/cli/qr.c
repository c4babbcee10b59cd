/* qr.c - QR codes in the terminal with libqrencode (pkg-config libqrencode, linked into the
 * command line only). */
#include "cli/qr.h"

#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define QR_BORDER 2 /* light modules around the code */

/* ANSI colours: explicit black and white so the code scans whatever the theme. */
#define FG_DARK  "30"
#define FG_LIGHT "97"
#define BG_DARK  "40"
#define BG_LIGHT "107"

static int qr_dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return 0;
	return q->data[y * q->width + x] & 1;
}

/* Two rows of modules per line with the upper half block: foreground = upper module,
 * background = lower module. Without colour, full blocks draw the light modules. */
static void qr_render_utf8(FILE *f, const QRcode *q, int color)
{
	for (int y = -QR_BORDER; y < q->width + QR_BORDER; y += 2) {
		for (int x = -QR_BORDER; x < q->width + QR_BORDER; x++) {
			int top = qr_dark(q, x, y), bottom = qr_dark(q, x, y + 1);
			if (color)
				fprintf(f, "\033[%s;%sm\xe2\x96\x80", top ? FG_DARK : FG_LIGHT,
				        bottom ? BG_DARK : BG_LIGHT);
			else
				fputs(top && bottom    ? " "
				      : top && !bottom ? "\xe2\x96\x84"
				      : !top && bottom ? "\xe2\x96\x80"
				                       : "\xe2\x96\x88",
				      f);
		}
		fputs(color ? "\033[0m\n" : "\n", f);
	}
}

/* Two character cells per module. */
static void qr_render_ascii(FILE *f, const QRcode *q, int color)
{
	for (int y = -QR_BORDER; y < q->width + QR_BORDER; y++) {
		for (int x = -QR_BORDER; x < q->width + QR_BORDER; x++) {
			int dark = qr_dark(q, x, y);
			if (color)
				fprintf(f, "\033[%sm  ", dark ? BG_DARK : BG_LIGHT);
			else
				fputs(dark ? "  " : "##", f);
		}
		fputs(color ? "\033[0m\n" : "\n", f);
	}
}

static QRcode *qr_encode(const char *text)
{
	if (!text || !*text)
		return NULL;
	return QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
}

void ot_qr_lines_free(char **lines, int n)
{
	if (!lines)
		return;
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* One line of half blocks for module rows y and y + 1, light modules drawn; NULL on OOM. */
static char *qr_line(const QRcode *q, int y)
{
	size_t cols = (size_t)(q->width + 2 * QR_BORDER), len = 0;
	char *s = malloc(cols * 3 + 1);

	if (!s)
		return NULL;
	for (int x = -QR_BORDER; x < q->width + QR_BORDER; x++) {
		int top = qr_dark(q, x, y), bottom = qr_dark(q, x, y + 1);
		const char *c = top && bottom    ? " "
		                : top && !bottom ? "\xe2\x96\x84"
		                : !top && bottom ? "\xe2\x96\x80"
		                                 : "\xe2\x96\x88";
		size_t n = strlen(c);
		memcpy(s + len, c, n);
		len += n;
	}
	s[len] = '\0';
	return s;
}

int ot_qr_lines(const char *text, char ***lines, int *cols)
{
	QRcode *q = qr_encode(text);
	int n, i;
	char **out;

	*lines = NULL;
	*cols = 0;
	if (!q)
		return -1;
	n = (q->width + 2 * QR_BORDER + 1) / 2;
	out = calloc((size_t)n, sizeof(*out));
	for (i = 0; out && i < n; i++)
		if (!(out[i] = qr_line(q, -QR_BORDER + 2 * i)))
			break;
	if (!out || i < n) {
		ot_qr_lines_free(out, n);
		QRcode_free(q);
		return -1;
	}
	*lines = out;
	*cols = q->width + 2 * QR_BORDER;
	QRcode_free(q);
	return n;
}

int ot_qr_render(FILE *f, const char *text, int utf8)
{
	QRcode *q = qr_encode(text);

	if (!q)
		return -1;
	if (utf8)
		qr_render_utf8(f, q, !getenv("NO_COLOR"));
	else
		qr_render_ascii(f, q, !getenv("NO_COLOR"));
	QRcode_free(q);
	return 0;
}

static int qr_utf8_locale(void)
{
	const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v)
			return strstr(v, "UTF-8") || strstr(v, "utf8") || strstr(v, "UTF8") ||
			       strstr(v, "utf-8");
	}
	return 0;
}

int ot_qr_print(FILE *f, const char *text)
{
	const char *term = getenv("TERM");
	struct winsize ws;
	QRcode *q;
	int utf8 = qr_utf8_locale(), cols, rc;

	if (!isatty(fileno(f)) || !term || strcmp(term, "dumb") == 0)
		return -1;
	q = qr_encode(text);
	if (!q)
		return -1;
	cols = (q->width + 2 * QR_BORDER) * (utf8 ? 1 : 2);
	rc = ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_col < cols ? -1 : 0;
	QRcode_free(q);
	if (rc == 0) {
		fflush(f);
		rc = ot_qr_render(f, text, utf8);
	}
	return rc;
}
