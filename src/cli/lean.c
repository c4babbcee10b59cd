/* lean.c - the lean `oauthtop` binary's own parts: running the full binary for the commands
 * that need libcurl or curses, and the token fast path.
 *
 * Why two binaries: loading libcurl's and ncurses' dependency tree costs several
 * milliseconds before main(), about three times a sqlite3 query of the same row, and
 * `oauthtop token` runs in every script call. BENCHMARKS.md has the figures. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oauthtop/health.h"

#ifndef OT_LIBEXECDIR
#define OT_LIBEXECDIR "/usr/local/libexec/oauthtop"
#endif

static char **saved_argv;

void ot_cli_save_argv(char **argv)
{
	saved_argv = argv;
}

/* The full binary: beside this one (a build tree, or a private install), else libexec. */
static int full_path(char *out, size_t outlen)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, outlen, "%s/oauthtop-full", self);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	snprintf(out, outlen, "%s/oauthtop-full", OT_LIBEXECDIR);
	return access(out, X_OK) == 0 ? 0 : -1;
}

int ot_cli_exec_full(ot_cli *cli, int argc, char **argv)
{
	char path[PATH_MAX + 32];

	(void)argc;
	(void)argv;
	ot_cli_close(cli);
	if (full_path(path, sizeof(path)) < 0) {
		ot_cli_error("cannot find oauthtop-full (looked beside this program and in %s)",
			     OT_LIBEXECDIR);
		return OT_EXIT_USAGE;
	}
	fflush(NULL);
	execv(path, saved_argv);
	ot_cli_error("cannot run %s: %s", path, strerror(errno));
	return OT_EXIT_USAGE;
}

/* A token that needs no refresh: enabled, state ok, at least min_valid seconds left. */
static int token_fresh(ot_cli *cli, const ot_account *a, int64_t min_valid)
{
	ot_credential c = {0};
	ot_err err = {{0}};
	ot_health h;
	int found, printed = 0;
	int64_t now = ot_cli_now();

	found = ot_store_get(cli->store, a->name, 1, &c, &err);
	if (found < 0) {
		ot_cli_error("token: %s", err.msg);
		return -1;
	}
	h = ot_health_eval(a, found ? &c : NULL, now, ot_config_settings(cli->cfg)->reauth_warning);
	if (found && a->enabled && h.state == OT_STATE_OK && c.access_token && c.access_token[0] &&
	    h.access_known && h.access_left >= min_valid) {
		printf("%s\n", c.access_token);
		printed = fflush(stdout) == 0 ? 1 : -1;
	}
	ot_credential_clear(&c);
	return printed;
}

int ot_cmd_token_fast(ot_cli *cli, int argc, char **argv)
{
	const char *pos[1], *min_s = "0";
	bool help = false;
	int npos, rc;
	long long min_valid;
	const ot_account *a;
	ot_opt opts[] = {{"min-valid", 1, NULL, &min_s}, {0}};

	if (ot_cli_parse("token", argc, argv, opts, pos, 1, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	/* Anything unusual (help, bad input, unknown account) gets the full binary's answer. */
	if (help || npos != 1 || ot_cli_number(min_s, 0, LLONG_MAX, &min_valid) < 0)
		return ot_cli_exec_full(cli, argc, argv);
	if (ot_cli_load(cli) < 0)
		return OT_EXIT_USAGE;
	if (!(a = ot_config_find_account(cli->cfg, pos[0])))
		return ot_cli_exec_full(cli, argc, argv);
	if (ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	rc = token_fresh(cli, a, (int64_t)min_valid);
	if (rc < 0)
		return OT_EXIT_USAGE;
	return rc ? OT_EXIT_OK : ot_cli_exec_full(cli, argc, argv);
}
