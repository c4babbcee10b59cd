/* qr.h - a QR code drawn in the terminal (libqrencode), for the device flow's
 * verification_uri_complete. Private to src/cli (and
 * the console, linked into the same binary). */
#ifndef OAUTHTOP_CLI_QR_H
#define OAUTHTOP_CLI_QR_H

#include <stdio.h>

/* Draws text as a QR code on f when f is a terminal wide enough for it: two modules per
 * character cell with half blocks in a UTF-8 locale, else two cells per module; explicit black
 * on white so it scans on dark and light themes alike. Returns 0 drawn, -1 not drawn (not a
 * terminal, TERM=dumb, too narrow, or the text does not fit a QR code). */
int ot_qr_print(FILE *f, const char *text);

/* Same, unconditionally, into f; utf8 chooses half blocks. For tests. */
int ot_qr_render(FILE *f, const char *text, int utf8);

/* The QR code of text as lines for a screen to draw (the console): UTF-8 half blocks, two
 * module rows per line, one column per module, light border included, LIGHT modules drawn
 * (full block both light, upper half upper light, lower half lower light, space both dark),
 * so draw them light on dark. Returns the number of lines with *lines (free with
 * ot_qr_lines_free()) and *cols their width in columns; -1 when the text does not fit a QR
 * code or memory runs out. */
int ot_qr_lines(const char *text, char ***lines, int *cols);
void ot_qr_lines_free(char **lines, int n);

#endif
