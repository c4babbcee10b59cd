/* tui.c - `oauthtop` / `oauthtop tui`: terminal setup, signals, and the one wait for
 * everything (keys, signals, the engine's network descriptors, timers). */
#include "tui/tui.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <term.h>
#include <time.h>
#include <unistd.h>

#include "oauthtop/log.h"
#include "tui/actions.h"
#include "tui/paint.h"
#include "tui/script.h"
#include "tui/view_auth.h"
#include "tui/view_details.h"
#include "tui/view_help.h"
#include "tui/view_table.h"

/* How long a store write may hold up the screen (ms). */
#define TUI_STORE_BUSY_MS 200

#define SCRIPT_POLL_MS 50

static const char tui_help[] =
        "usage: oauthtop [tui] [--theme NAME] [--config FILE] [--store FILE]\n\n"
        "The console: every account's health, live, with refresh at a key press.\n"
        "Press ? inside for the keys.\n\n"
        "  --theme NAME  colour theme (themes/NAME.theme; default, light, high-contrast, mono)\n\n"
        "environment: NO_COLOR (monochrome), OAUTHTOP_THEME_DIR (more themes),\n"
        "  OAUTHTOP_SCRIPT=FILE (feed keys from FILE, for tests), OAUTHTOP_DUMP=FILE (write the\n"
        "  last screen as text)\n"
        "exit: 0; 3 configuration, store or terminal error\n";

static volatile sig_atomic_t got_winch, got_quit;
/* Resizes, and every signal that would end the console with the terminal left raw (Ctrl-\
 * is SIGQUIT): each ends it cleanly instead. */
static const int tui_sigs[] = {SIGWINCH, SIGTERM, SIGINT, SIGHUP, SIGQUIT};
static int sig_fds[2] = {-1, -1};
static SCREEN *screen;

static void on_signal(int sig)
{
	int saved = errno;

	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_quit = 1;
	if (sig_fds[1] >= 0) {
		ssize_t r = write(sig_fds[1], "s", 1);
		(void)r;
	}
	errno = saved;
}

static int signals_install(void)
{
	struct sigaction sa;

	if (pipe2(sig_fds, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(tui_sigs) / sizeof(tui_sigs[0]); i++)
		sigaction(tui_sigs[i], &sa, NULL);
	return 0;
}

static void signals_remove(void)
{
	for (size_t i = 0; i < sizeof(tui_sigs) / sizeof(tui_sigs[0]); i++)
		signal(tui_sigs[i], SIG_DFL);
	for (int i = 0; i < 2; i++) {
		if (sig_fds[i] >= 0)
			close(sig_fds[i]);
		sig_fds[i] = -1;
	}
}

static int64_t clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- terminal ---- */

/* Refuses terminals the console cannot drive, with a message; returns -1 (exit 3). */
static int term_check(bool headless, const char *term)
{
	int err = 0;
	const char *cup;

	if (!headless && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		ot_cli_error("the console needs a terminal on stdin and stdout "
		             "(for scripts and pipes: oauthtop status)");
		return -1;
	}
	if (!term || !*term) {
		ot_cli_error("TERM is not set: the console needs to know the terminal type");
		return -1;
	}
	if (setupterm(term, STDOUT_FILENO, &err) != OK) {
		ot_cli_error("unknown terminal type \"%s\" (no terminfo entry)", term);
		return -1;
	}
	cup = tigetstr("cup");
	if (!cup || cup == (const char *)-1) {
		del_curterm(cur_term);
		ot_cli_error("terminal \"%s\" cannot address the cursor, which the console needs "
		             "(try TERM=xterm-256color, or oauthtop status)",
		             term);
		return -1;
	}
	del_curterm(cur_term);
	return 0;
}

int tui_term_open(FILE *out, FILE *in, const char *term)
{
	screen = newterm(term, out, in);
	if (!screen)
		return -1;
	set_term(screen);
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
	}
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	paint_init();
	return 0;
}

void tui_term_close(void)
{
	if (!screen)
		return;
	endwin();
	delscreen(screen);
	screen = NULL;
}

void tui_draw(tui_app *app)
{
	if (COLS < 40 || LINES < 8) {
		werase(stdscr);
		paint_role(stdscr, TUI_ROLE_STATUS_WARN, false);
		paint_str(stdscr, 0, 0, COLS,
		          "terminal too small: the console needs 40x8 (80x24 "
		          "is comfortable)",
		          0);
	} else if (app->mode == TUI_MODE_DETAILS && app->details) {
		view_details_draw(app);
	} else if (app->mode == TUI_MODE_HELP) {
		view_help_draw(app);
	} else {
		app->mode = TUI_MODE_TABLE;
		view_table_draw(app);
	}
	if (app->auth && COLS >= 40 && LINES >= 8)
		view_auth_draw(app);
	wnoutrefresh(stdscr);
	doupdate();
}

static void term_resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
}

/* ---- the loop ---- */

typedef struct tui_loop {
	tui_app *app;
	tui_script *script;
	bool headless;
	bool waiting;
	script_step step;
	int64_t wait_until;
	bool dirty;
	int exit_code;
} tui_loop;

static bool handle_result(tui_loop *L, tui_result r)
{
	if (r == TUI_QUIT)
		return true;
	if (r == TUI_REDRAW)
		L->dirty = true;
	return false;
}

static bool handle_mouse(tui_loop *L)
{
	MEVENT ev;

	if (getmouse(&ev) != OK)
		return false;
	if (ev.bstate & BUTTON4_PRESSED)
		return handle_result(L, actions_wheel(L->app, -3));
	if (ev.bstate & BUTTON5_PRESSED)
		return handle_result(L, actions_wheel(L->app, 3));
	if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
		return handle_result(L, actions_click(L->app, ev.x, ev.y));
	return false;
}

/* Reads every pending key; returns true to quit. */
static bool read_keys(tui_loop *L)
{
	wint_t wc;
	int rc;

	while ((rc = wget_wch(stdscr, &wc)) != ERR) {
		int key = rc == KEY_CODE_YES ? (int)wc
		          : wc < 128         ? (int)wc
		                             : (int)(ACTIONS_WIDE | wc);
		bool quit;
		if (key == KEY_MOUSE)
			quit = handle_mouse(L);
		else
			quit = handle_result(L, actions_key(L->app, key));
		if (quit)
			return true;
	}
	return false;
}

static bool script_wait_done(tui_loop *L)
{
	tui_app *app = L->app;
	char *screen_text;
	bool found;

	switch (L->step.kind) {
	case SCRIPT_WAIT_IDLE:
		if (!app->engine || ot_engine_pending(app->engine) == 0)
			return true;
		break;
	case SCRIPT_WAIT_FOR:
		screen_text = script_screen_text();
		found = screen_text && strstr(screen_text, L->step.text);
		free(screen_text);
		if (found)
			return true;
		if (app->now_ms >= L->wait_until) {
			ot_cli_error("%s:%d: timed out waiting for \"%s\"", script_path(L->script),
			             L->step.line, L->step.text);
			L->exit_code = 1;
			got_quit = 1;
		}
		return false;
	default:
		break;
	}
	return app->now_ms >= L->wait_until;
}

/* Runs script steps until one waits; returns true to quit. */
static bool script_run(tui_loop *L)
{
	ot_err err = {{0}};

	if (L->waiting && !script_wait_done(L))
		return got_quit != 0;
	L->waiting = false;
	if (script_next(L->script, &L->step, &err) < 0) {
		ot_cli_error("%s", err.msg);
		L->exit_code = OT_EXIT_USAGE;
		return true;
	}
	switch (L->step.kind) {
	case SCRIPT_KEY:
		return handle_result(L, actions_key(L->app, L->step.key));
	case SCRIPT_WAIT:
	case SCRIPT_WAIT_IDLE:
	case SCRIPT_WAIT_FOR:
		L->waiting = true;
		L->wait_until = L->app->now_ms + L->step.ms;
		return false;
	case SCRIPT_DUMP:
		if (script_dump(L->step.text, &err) < 0) {
			ot_cli_error("%s", err.msg);
			L->exit_code = OT_EXIT_USAGE;
			return true;
		}
		return false;
	case SCRIPT_RESIZE:
		resizeterm(L->step.b, L->step.a);
		L->dirty = true;
		return false;
	case SCRIPT_CLICK:
		return handle_result(L, actions_click(L->app, L->step.a, L->step.b));
	default:
		return true;
	}
}

static int loop_timeout(tui_loop *L)
{
	int t = app_timeout_ms(L->app);

	if (L->script && !L->waiting)
		return 0;
	if (L->script && L->waiting) {
		int64_t left = L->wait_until - L->app->now_ms;
		if (L->step.kind != SCRIPT_WAIT && left > SCRIPT_POLL_MS)
			left = SCRIPT_POLL_MS;
		if (left < t)
			t = left < 0 ? 0 : (int)left;
	}
	return t;
}

/* Waits for keys, signals, network and timers; returns true to quit. */
static bool loop_wait(tui_loop *L)
{
	struct pollfd pf[2] = {{sig_fds[0], POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
	unsigned n = L->headless ? 1 : 2;
	int timeout = loop_timeout(L);
	char drain[64];

	if (L->app->engine)
		ot_engine_wait(L->app->engine, pf, n, timeout);
	else
		poll(pf, n, timeout);
	if (pf[0].revents & POLLIN)
		while (read(sig_fds[0], drain, sizeof(drain)) > 0)
			;
	if (n > 1 && (pf[1].revents & (POLLHUP | POLLERR)) && !(pf[1].revents & POLLIN))
		return true; /* the terminal went away */
	if (n > 1 && (pf[1].revents & POLLIN))
		return read_keys(L);
	return false;
}

static int tui_run(tui_loop *L)
{
	for (;;) {
		app_set_clock(L->app, clock_ms());
		if (got_quit)
			break;
		if (got_winch) {
			got_winch = 0;
			term_resize();
			L->dirty = true;
		}
		L->dirty |= app_update(L->app);
		if (L->dirty) {
			tui_draw(L->app);
			L->dirty = false;
		}
		if (L->script && script_run(L))
			break;
		if (L->dirty)
			continue;
		if (loop_wait(L))
			break;
	}
	return L->exit_code;
}

/* ---- entry ---- */

static void dump_at_exit(void)
{
	const char *path = getenv("OAUTHTOP_DUMP");
	ot_err err = {{0}};

	if (path && *path && script_dump(path, &err) < 0)
		ot_cli_error("%s", err.msg);
}

static int tui_session(ot_cli *cli, const char *theme, tui_script *script, bool headless,
                       const char *term)
{
	tui_app app;
	tui_app_opts o = {theme, false};
	tui_loop L;
	ot_err err = {{0}};
	FILE *in = headless ? fopen("/dev/null", "r") : stdin;
	int rc;

	memset(&app, 0, sizeof(app));
	memset(&L, 0, sizeof(L));
	if (!in || signals_install() < 0 || tui_term_open(stdout, in, term) < 0) {
		ot_cli_error("cannot start the terminal: %s", strerror(errno));
		if (in && in != stdin)
			fclose(in);
		signals_remove();
		return OT_EXIT_USAGE;
	}
	app_set_clock(&app, clock_ms());
	if (app_open(&app, cli, &o, &err) < 0) {
		tui_term_close();
		app_close(&app);
		signals_remove();
		if (in != stdin)
			fclose(in);
		ot_cli_error("%s", err.msg);
		return OT_EXIT_USAGE;
	}
	L.app = &app;
	L.script = script;
	L.headless = headless;
	L.dirty = true;
	rc = tui_run(&L);
	tui_draw(&app);
	dump_at_exit();
	tui_term_close();
	app_close(&app);
	signals_remove();
	if (in != stdin)
		fclose(in);
	return rc;
}

int ot_cmd_tui(ot_cli *cli, int argc, char **argv)
{
	const char *theme = NULL, *script_file = getenv("OAUTHTOP_SCRIPT"), *pos[1];
	const char *term = getenv("TERM");
	bool help = false, headless;
	ot_opt opts[] = {{"theme", 1, NULL, &theme}, {NULL, 0, NULL, NULL}};
	tui_script *script = NULL;
	ot_err err = {{0}};
	int n_pos, rc;

	if (ot_cli_parse("tui", argc, argv, opts, pos, 0, &n_pos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(tui_help, stdout);
		return OT_EXIT_OK;
	}
	setlocale(LC_ALL, "");
	if (ot_cli_load(cli) < 0 || ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	/* the screen never freezes (DESIGN §7): a write waits 200 ms for another keeper's lock,
	 * not 5 s; a lease that fails says so, a commit that fails is retried each second */
	ot_store_set_busy_ms(cli->store, TUI_STORE_BUSY_MS);
	if (script_file && *script_file) {
		script = script_open(script_file, &err);
		if (!script) {
			ot_cli_error("%s", err.msg);
			return OT_EXIT_USAGE;
		}
	}
	headless = script && !isatty(STDOUT_FILENO);
	if (headless && (!term || !*term))
		term = "xterm-256color";
	if (term_check(headless, term) < 0) {
		script_free(script);
		return OT_EXIT_USAGE;
	}
	/* Log lines on stderr would tear the screen; results go to the event log instead. */
	ot_log_setup(OT_LOG_TEXT, (ot_log_level)(OT_LOG_ERROR + 1));
	rc = tui_session(cli, theme, script, headless, term);
	script_free(script);
	return rc;
}
