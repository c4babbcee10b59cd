/* main.c - global options and command dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "oauthtop/log.h"
#include "oauthtop/secret.h"

typedef int (*cmd_fn)(ot_cli *cli, int argc, char **argv);

struct command {
	const char *name;
	cmd_fn fn;
	const char *summary;
};

#ifdef OT_LEAN
/* The lean binary: what needs libcurl or curses runs in oauthtop-full (see lean.c). */
#define NET(fn) ot_cli_exec_full
#define TOKEN ot_cmd_token_fast
#else
#define NET(fn) fn
#define TOKEN ot_cmd_token
#endif

static const struct command commands[] = {
	{"tui", NET(ot_cmd_tui), "the console (also: oauthtop with no command)"},
	{"status", ot_cmd_status, "every account's state (table, json, prometheus)"},
	{"refresh", NET(ot_cmd_refresh), "refresh what is due, the named accounts, or --all"},
	{"daemon", NET(ot_cmd_daemon), "keep refreshing in the foreground (systemd, containers)"},
	{"token", TOKEN, "print a valid access token for scripts"},
	{"import", ot_cmd_import, "store a token-response JSON as an account's credential"},
	{"authorize", NET(ot_cmd_authorize),
	 "authorize an account again (device flow, code + PKCE)"},
	{"revoke", NET(ot_cmd_revoke), "revoke an account's refresh token and forget it"},
	{"verify", NET(ot_cmd_verify), "check the access token at the provider"},
	{"history", ot_cmd_history, "an account's refresh history"},
	{"check", ot_cmd_check, "validate the configuration and the store"},
};

static void usage(FILE *f)
{
	fputs("usage: oauthtop [--config FILE] [--store FILE] [COMMAND] [OPTIONS]\n\n"
	      "Keeps outbound OAuth 2.0 credentials alive and shows their health.\n\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fputs("\nglobal options (anywhere on the line, --opt value or --opt=value):\n"
	      "  --config FILE  configuration (else $OAUTHTOP_CONFIG,\n"
	      "                 $XDG_CONFIG_HOME/oauthtop/config.json, /etc/oauthtop/config.json)\n"
	      "  --store FILE   credential store (else the configuration's `store`)\n"
	      "  --help         this text; `oauthtop COMMAND --help` for a command\n"
	      "  --version      print the version\n\n"
	      "exit codes: 0 fine, 1 warning or transient failure, 2 needs reauthorization,\n"
	      "            3 usage, configuration, store or input error\n",
	      f);
}

/* Takes --config/--store out of argv wherever they stand; returns -1 on a missing value. */
static int take_globals(ot_cli *cli, int *argc, char **argv)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		size_t n = 0;
		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strncmp(a, "--config", 8) == 0 && (a[8] == '\0' || a[8] == '='))
			slot = &cli->config_path, n = 8;
		else if (strncmp(a, "--store", 7) == 0 && (a[7] == '\0' || a[7] == '='))
			slot = &cli->store_path, n = 7;
		if (!slot) {
			argv[out++] = argv[i];
			continue;
		}
		if (a[n] == '=') {
			*slot = a + n + 1;
		} else if (i + 1 < *argc) {
			*slot = argv[++i];
		} else {
			ot_cli_error("option %s needs a value", a);
			return -1;
		}
		if (!**slot) { /* `--store "$UNSET"` must not fall back to another store */
			ot_cli_error("option %.*s: the path is empty", (int)n, a);
			return -1;
		}
	}
	*argc = out;
	argv[out] = NULL;
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Index of the command word: the first argument that is not an option, unless it is the
 * value of an option before it (`oauthtop --theme mono` opens the console). 0 if none. */
static int command_index(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *prev = i > 1 ? argv[i - 1] : "";
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (argv[i][0] == '-')
			continue;
		if (find_command(argv[i]) || strcmp(argv[i], "help") == 0)
			return i;
		if (!(prev[0] == '-' && prev[1] == '-' && !strchr(prev, '=')))
			return i; /* an unknown command word */
	}
	return 0;
}

static int has_flag(int argc, char **argv, const char *flag)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], flag) == 0)
			return 1;
	return 0;
}

static int dispatch(ot_cli *cli, int argc, char **argv)
{
	int ci = command_index(argc, argv);
	const struct command *c;

	if (ci == 0 && has_flag(argc, argv, "--version")) {
		puts("oauthtop " OT_VERSION);
		return OT_EXIT_OK;
	}
	if (ci == 0 && (has_flag(argc, argv, "--help") || has_flag(argc, argv, "-h"))) {
		usage(stdout);
		return OT_EXIT_OK;
	}
	if (ci && strcmp(argv[ci], "help") == 0) {
		usage(stdout);
		return OT_EXIT_OK;
	}
	c = find_command(ci ? argv[ci] : "tui");
	if (!c) {
		ot_cli_error("unknown command \"%s\" (see oauthtop --help)", argv[ci]);
		return OT_EXIT_USAGE;
	}
	if (!c->fn) {
		ot_cli_error("%s: not available in this build", c->name);
		return OT_EXIT_USAGE;
	}
	/* The command sees argv[0] = its name, then every other argument in order. */
	if (ci) {
		char *name = argv[ci];
		memmove(&argv[2], &argv[1], (size_t)(ci - 1) * sizeof(char *));
		argv[1] = name;
	} else {
		memmove(&argv[2], &argv[1], (size_t)argc * sizeof(char *));
		argv[1] = (char *)"tui";
		argc++;
	}
	return c->fn(cli, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	ot_cli cli;
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	int rc;

	if (!args)
		return OT_EXIT_USAGE;
	memcpy(args, argv, (size_t)argc * sizeof(char *));
	memset(&cli, 0, sizeof(cli));
#ifdef OT_LEAN
	ot_cli_save_argv(argv);
#else
	ot_cli_store_hook = ot_cli_discover;
#endif
	ot_secret_protect_process();
	ot_log_setup(OT_LOG_TEXT, OT_LOG_INFO);
	if (take_globals(&cli, &argc, args) < 0) {
		free(args);
		return OT_EXIT_USAGE;
	}
	rc = dispatch(&cli, argc, args);
	ot_cli_close(&cli);
	free(args);
	return rc;
}
