/* cli.h - what every command shares: parsed global options, configuration and store loading,
 * option parsing, exit codes. Private to src/cli and src/tui. */
#ifndef OAUTHTOP_CLI_H
#define OAUTHTOP_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/err.h"
#include "oauthtop/store.h"

/* Exit codes (DESIGN §6, monitoring-plugin convention). */
enum {
	OT_EXIT_OK = 0,
	OT_EXIT_WARN = 1,   /* warning / transient failure */
	OT_EXIT_REAUTH = 2, /* needs reauthorization (or authorization denied) */
	OT_EXIT_USAGE = 3,  /* usage, configuration, store or input error (UNKNOWN) */
};

typedef struct ot_cli {
	const char *config_path; /* --config, NULL: lookup order */
	const char *store_path;  /* --store, NULL: configuration's */
	ot_config *cfg;          /* after ot_cli_load() */
	ot_store *store;         /* after ot_cli_open_store() */
	ot_holder holder;        /* this process: host + pid */
	char host[256];
} ot_cli;

/* One option of a command. has_arg: 0 flag, 1 takes a value. For a flag, *flag is set to
 * true; for a value, *value points into argv. */
typedef struct ot_opt {
	const char *name; /* without "--" */
	int has_arg;
	bool *flag;
	const char **value;
} ot_opt;

/* Parses argv (argv[0] is the command name) against opts; options may stand anywhere, as
 * `--opt value` or `--opt=value`; "--" ends options. Positional arguments are gathered into
 * pos (at most max_pos; more is a usage error). Prints a one-line usage error on stderr and
 * returns -1 on a bad option. `--help` sets *help if help is not NULL. */
int ot_cli_parse(const char *cmd, int argc, char **argv, const ot_opt *opts, const char **pos,
		 int max_pos, int *n_pos, bool *help);

/* Loads the configuration (lookup order, --config) and applies --store. Prints the error and
 * returns -1 on failure (exit OT_EXIT_USAGE). */
int ot_cli_load(ot_cli *cli);

/* Opens the store (creating it unless readonly). Prints the error and returns -1 on failure. */
int ot_cli_open_store(ot_cli *cli, bool readonly);

/* Run by ot_cli_open_store() once the store is open (the full binary sets it to provider
 * discovery, which needs the network); NULL in the lean binary. Returns 0 or -1. */
extern int (*ot_cli_store_hook)(ot_cli *cli);

/* Provider discovery from issuers, cached in the store: the full binary's store hook. */
int ot_cli_discover(ot_cli *cli);

/* The lean binary (`oauthtop`: no libcurl, no curses, fast to start) runs the commands that
 * need the network or the terminal by executing the full one (`oauthtop-full`, beside it or
 * in OT_LIBEXECDIR) with the original arguments. Saves those arguments... */
void ot_cli_save_argv(char **argv);
/* ...and replaces this process with the full binary; returns OT_EXIT_USAGE if it cannot. */
int ot_cli_exec_full(ot_cli *cli, int argc, char **argv);
/* The lean `token`: prints a fresh token straight from the store, else runs the full one. */
int ot_cmd_token_fast(ot_cli *cli, int argc, char **argv);

/* Resolves an account name; prints "oauthtop: unknown account \"x\"" and returns NULL. */
const ot_account *ot_cli_account(ot_cli *cli, const char *name);

/* Frees configuration and store. */
void ot_cli_close(ot_cli *cli);

/* Current Unix time (the only place the CLI reads the wall clock). */
int64_t ot_cli_now(void);

/* s as a whole decimal number from lo to hi: 0 with *out; -1 for anything else (empty,
 * trailing text, out of range). Prints nothing: the caller's message names the option. */
int ot_cli_number(const char *s, long long lo, long long hi, long long *out);

/* Prints "oauthtop: <msg>" on stderr. */
void ot_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Commands: each returns an exit code. argv[0] is the command name. */
int ot_cmd_status(ot_cli *cli, int argc, char **argv);
int ot_cmd_import(ot_cli *cli, int argc, char **argv);
int ot_cmd_history(ot_cli *cli, int argc, char **argv);
int ot_cmd_check(ot_cli *cli, int argc, char **argv);
int ot_cmd_refresh(ot_cli *cli, int argc, char **argv);
int ot_cmd_token(ot_cli *cli, int argc, char **argv);
int ot_cmd_daemon(ot_cli *cli, int argc, char **argv);
int ot_cmd_tui(ot_cli *cli, int argc, char **argv);
int ot_cmd_authorize(ot_cli *cli, int argc, char **argv);
int ot_cmd_revoke(ot_cli *cli, int argc, char **argv);
int ot_cmd_verify(ot_cli *cli, int argc, char **argv);

#endif
