/* qr.h - a QR code drawn in the terminal (libqrencode), for the device flow's
 * verification_uri_complete. Private to src/cli. */
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

#endif
