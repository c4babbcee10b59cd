/* view_details.h - one account in full: endpoints, scope, masked tokens, exact expiry times,
 * the last error with its remediation hint, and its history from the store.
 *
 * Token values are read only here, only for the account shown, and only to mask them: the
 * credential is loaded with secrets, masked with ot_mask(), and wiped at once. */
#ifndef OAUTHTOP_TUI_VIEW_DETAILS_H
#define OAUTHTOP_TUI_VIEW_DETAILS_H

#include "tui/app.h"

/* Opens the details of the selected account (mode becomes DETAILS). Returns -1 and flashes
 * the error when the store cannot be read. */
int details_open(tui_app *app);
void details_close(tui_app *app);

/* Re-reads what the store changed (masks only when a token fingerprint changed). */
void details_sync(tui_app *app);

/* The account shown, or NULL when the details are closed. */
const char *details_account(const tui_app *app);

void view_details_draw(tui_app *app);
tui_result view_details_key(tui_app *app, int key);

#endif
