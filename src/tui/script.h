/* script.h - script mode for deterministic console tests (in the spirit of tig's TIG_SCRIPT):
 * OAUTHTOP_SCRIPT names a file of steps fed to the console instead of the keyboard, and the
 * screen can be written out as text.
 *
 * One step per line; `#` starts a comment line:
 *   j  r  <Enter>  /crm<Enter>     keys: characters and <Name> (<Esc> <Up> <Down> <PgUp>
 *                                  <PgDn> <Home> <End> <Space> <Tab> <BS> <C-l> <lt>)
 *   :wait MS                       keep running (ticking, refreshing) for MS milliseconds
 *   :wait-idle [MS]                until no refresh is queued or in flight (max MS, 10000)
 *   :wait-for TEXT                 until the screen shows TEXT (max 10 s, else exit 1)
 *   :timeout MS                    the limit of the following :wait-idle and :wait-for
 *   :dump FILE                     write the screen as text (UTF-8, trailing blanks trimmed)
 *   :resize COLS ROWS              resize the virtual screen
 *   :click X Y                     a mouse click at column X, line Y (0-based)
 *   :quit                          quit (also at the end of the script)
 * OAUTHTOP_DUMP=FILE writes the last screen when the console exits. */
#ifndef OAUTHTOP_TUI_SCRIPT_H
#define OAUTHTOP_TUI_SCRIPT_H

#include <stddef.h>

#include "oauthtop/err.h"

typedef enum script_kind {
	SCRIPT_KEY,
	SCRIPT_WAIT,
	SCRIPT_WAIT_IDLE,
	SCRIPT_WAIT_FOR,
	SCRIPT_DUMP,
	SCRIPT_RESIZE,
	SCRIPT_CLICK,
	SCRIPT_QUIT,
} script_kind;

typedef struct script_step {
	script_kind kind;
	int key;
	long ms;
	int a, b;
	const char *text; /* WAIT_FOR text, DUMP path: valid until the next script_next() */
	int line;
} script_step;

typedef struct tui_script tui_script;

/* Reads the script file; NULL with err on failure. */
tui_script *script_open(const char *path, ot_err *err);
void script_free(tui_script *s);

/* The next step; 0, or -1 with err "FILE:LINE: what". The end of the file is SCRIPT_QUIT. */
int script_next(tui_script *s, script_step *out, ot_err *err);
const char *script_path(const tui_script *s);

/* The screen (stdscr) as UTF-8 text, one line per row, trailing blanks trimmed; free() it. */
char *script_screen_text(void);

/* Writes script_screen_text() to path. Returns -1 with err on failure. */
int script_dump(const char *path, ot_err *err);

#endif
