/* app.h - the console's state, shared by its views and key handlers, and its lifecycle:
 * configuration, store, model, refresh engine, themes. Private to src/tui. */
#ifndef OAUTHTOP_TUI_APP_H
#define OAUTHTOP_TUI_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/cli.h"
#include "oauthtop/engine.h"
#include "tui/evlog.h"
#include "tui/model.h"
#include "tui/theme.h"

typedef enum tui_mode { TUI_MODE_TABLE, TUI_MODE_DETAILS, TUI_MODE_HELP } tui_mode;

/* What a key handler asks of the loop (handlers never draw). */
typedef enum tui_result { TUI_HANDLED, TUI_REDRAW, TUI_QUIT } tui_result;

typedef struct tui_details tui_details;
typedef struct tui_auth tui_auth;

typedef struct tui_app {
	ot_cli *cli;
	const ot_config *cfg;
	ot_store *st;
	ot_engine *engine; /* NULL: read-only (the engine could not start) */
	tui_model *model;
	tui_evlog *log;
	tui_theme theme;
	bool use_color; /* false under NO_COLOR */
	tui_mode mode;
	/* filter being typed (the model holds the filter in force) */
	bool filtering;
	char filter_edit[128];
	char filter_before[128];
	/* table geometry of the last frame, for scrolling and mouse clicks */
	size_t top;
	int table_y, table_h;
	tui_details *details;
	tui_auth *auth; /* the authorization panel (over any mode), NULL when closed */
	int scroll;     /* details / help */
	unsigned spin;
	int64_t now;    /* Unix seconds of this frame */
	int64_t now_ms; /* milliseconds of this frame */
	int64_t store_checked_ms;
	int64_t reload_ms;     /* how long the last full re-read took (spaces re-reads out) */
	bool external_changed; /* another process changed the store: re-read at the next check */
	char config_name[128];
} tui_app;

typedef struct tui_app_opts {
	const char *theme; /* NULL: the configuration's */
	bool no_engine;    /* benchmarks: the console without refreshing */
} tui_app_opts;

/* Opens everything the console needs from an ot_cli whose configuration and store are open.
 * Returns -1 with err on failure. */
int app_open(tui_app *app, ot_cli *cli, const tui_app_opts *o, ot_err *err);
void app_close(tui_app *app);

/* Sets the clock of the coming frame. */
void app_set_clock(tui_app *app, int64_t now_ms);

/* Once per loop pass: advances the model to now, re-reads the store when another process
 * changed it (at most every 500 ms), advances the engine. Returns true if the screen
 * changed. */
bool app_update(tui_app *app);

/* Switches theme by name; on error flashes it (file and line) and uses the default. */
void app_set_theme(tui_app *app, const char *name);
void app_next_theme(tui_app *app);

/* Asks the engine to refresh an account (forced) / every due account. */
void app_refresh(tui_app *app, const char *account);
void app_refresh_due(tui_app *app);

/* Milliseconds the loop may sleep: next whole second, engine timers, the authorization
 * panel's flow, flash expiry, spinner. */
int app_timeout_ms(tui_app *app);

#endif
