/* cli.c - option parsing, configuration and store loading shared by every command. */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int (*ot_cli_store_hook)(ot_cli *cli);

/* One line, whatever it quotes: an account name or option from argv, a path, a server's
 * words may hold control characters (a newline, an ESC sequence for the terminal) or be
 * huge. Control characters become '?', and the line ends at 600 bytes with "...". */
void ot_cli_error(const char *fmt, ...)
{
	char line[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		line[0] = '\0';
	else if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	fprintf(stderr, "oauthtop: %s\n", line);
}

int ot_cli_number(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int64_t ot_cli_now(void)
{
	return (int64_t)time(NULL);
}

static const ot_opt *opt_find(const ot_opt *opts, const char *name, size_t len)
{
	for (; opts && opts->name; opts++)
		if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
			return opts;
	return NULL;
}

/* Handles one "--name[=value]" at argv[*i]; returns -1 on a usage error. */
static int parse_long(const char *cmd, int argc, char **argv, int *i, const ot_opt *opts,
		      bool *help)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const ot_opt *o = opt_find(opts, arg, len);

	if (!o && help && len == 4 && strncmp(arg, "help", 4) == 0) {
		*help = true;
		return 0;
	}
	if (!o) {
		ot_cli_error("%s: unknown option --%.*s (see oauthtop %s --help)", cmd, (int)len,
			     arg, cmd);
		return -1;
	}
	if (!o->has_arg) {
		if (eq) {
			ot_cli_error("%s: option --%s takes no value", cmd, o->name);
			return -1;
		}
		*o->flag = true;
		return 0;
	}
	if (eq) {
		*o->value = eq + 1;
		return 0;
	}
	if (*i + 1 >= argc) {
		ot_cli_error("%s: option --%s needs a value", cmd, o->name);
		return -1;
	}
	*o->value = argv[++*i];
	return 0;
}

int ot_cli_parse(const char *cmd, int argc, char **argv, const ot_opt *opts, const char **pos,
		 int max_pos, int *n_pos, bool *help)
{
	bool only_pos = false;

	*n_pos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_pos && strcmp(a, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && help && strcmp(a, "-h") == 0) {
			*help = true;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] == '-') {
			if (parse_long(cmd, argc, argv, &i, opts, help) < 0)
				return -1;
			continue;
		}
		if (!only_pos && a[0] == '-' && a[1] != '\0') {
			ot_cli_error("%s: unknown option %s (see oauthtop %s --help)", cmd, a, cmd);
			return -1;
		}
		if (*n_pos >= max_pos) {
			ot_cli_error("%s: unexpected argument \"%s\" (see oauthtop %s --help)", cmd,
				     a, cmd);
			return -1;
		}
		pos[(*n_pos)++] = a;
	}
	return 0;
}

int ot_cli_load(ot_cli *cli)
{
	char path[4096];
	ot_err err = {{0}};

	if (cli->cfg)
		return 0;
	if (ot_config_locate(cli->config_path, path, sizeof(path), &err) < 0) {
		ot_cli_error("%s", err.msg);
		return -1;
	}
	cli->cfg = ot_config_load(path, &err);
	if (!cli->cfg) {
		ot_cli_error("%s", err.msg);
		return -1;
	}
	if (cli->store_path)
		ot_config_set_store_path(cli->cfg, cli->store_path);
	if (gethostname(cli->host, sizeof(cli->host) - 1) < 0)
		snprintf(cli->host, sizeof(cli->host), "localhost");
	ot_holder_init(&cli->holder, cli->host);
	return 0;
}

int ot_cli_open_store(ot_cli *cli, bool readonly)
{
	ot_err err = {{0}};

	if (cli->store)
		return 0;
	if (ot_cli_load(cli) < 0)
		return -1;
	cli->store = ot_store_open(ot_config_settings(cli->cfg)->store_path,
				   readonly ? OT_STORE_READONLY : 0, &err);
	if (!cli->store) {
		ot_cli_error("%s", err.msg);
		return -1;
	}
	return ot_cli_store_hook ? ot_cli_store_hook(cli) : 0;
}

const ot_account *ot_cli_account(ot_cli *cli, const char *name)
{
	const ot_account *a = ot_config_find_account(cli->cfg, name);

	if (!a)
		ot_cli_error("unknown account \"%s\" (not in %s)", name,
			     ot_config_settings(cli->cfg)->path);
	return a;
}

void ot_cli_close(ot_cli *cli)
{
	ot_store_close(cli->store);
	ot_config_free(cli->cfg);
	cli->store = NULL;
	cli->cfg = NULL;
}
