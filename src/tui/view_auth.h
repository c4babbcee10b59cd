/* view_auth.h - the authorization panel: `a` on an account whose provider has a device
 * authorization endpoint runs the device flow (RFC 8628) inside the console. A centered panel
 * over the table or details shows the verification URL, the user code, a QR code of the
 * complete URL (half blocks), the device code's countdown and the polling state. The flow is
 * stepped from the console's loop (never blocking); on success the grant is stored under a
 * lease, the panel closes and the row turns ok; a denial or expiry stays shown until Esc.
 * Providers with only an authorization endpoint (code + PKCE) are handed to
 * `oauthtop authorize` in the terminal instead (see actions.c). */
#ifndef OAUTHTOP_TUI_VIEW_AUTH_H
#define OAUTHTOP_TUI_VIEW_AUTH_H

#include <stdbool.h>

#include "tui/app.h"

/* true when the account's provider can run the device flow in the panel. */
bool auth_panel_fits(const ot_account *a);

/* Starts the device flow for the account and opens the panel (app->auth). Returns -1 and
 * flashes the error when the flow cannot start. */
int auth_open(tui_app *app, const ot_account *a);

/* Abandons the flow (if any) and closes the panel. */
void auth_close(tui_app *app);

/* Once per loop pass: steps the flow; stores a grant when it arrives. Returns true when the
 * panel changed. */
bool auth_update(tui_app *app);

/* Milliseconds until auth_update() has something to do; -1 when nothing. */
long auth_timeout_ms(const tui_app *app);

void view_auth_draw(tui_app *app);
tui_result view_auth_key(tui_app *app, int key);

#endif
