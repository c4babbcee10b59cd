/* cmd_check.c - `oauthtop check`: validates the configuration and the store and warns about
 * settings that will not work as intended. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

/* A cron job or timer that runs every minute starts up to this late. */
#define OT_SCHEDULING_JITTER 60

static const char check_help[] =
	"usage: oauthtop check\n\n"
	"Loads the configuration and opens the store, then warns about accounts whose window is\n"
	"shorter than typical scheduling jitter (60 s) or not shorter than their tokens live,\n"
	"clients without a secret, and stored credentials of accounts no longer configured.\n"
	"exit: 0 fine; 1 warnings; 3 the configuration or the store is unusable\n";

static int warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int warn(const char *fmt, ...)
{
	va_list ap;

	fputs("warning: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return 1;
}

/* How long this account's access tokens live: observed, else the provider's default. */
static int64_t token_lifetime(const ot_account *a, const ot_credential *c)
{
	if (c && c->access_expires_at && c->last_success_at &&
	    c->access_expires_at > c->last_success_at)
		return c->access_expires_at - c->last_success_at;
	return a->provider->default_expires_in;
}

static int check_account(const ot_account *a, const ot_credential *c)
{
	int64_t life = token_lifetime(a, c);
	int n = 0;

	if (a->window < OT_SCHEDULING_JITTER)
		n += warn("%s: window %llds is shorter than typical scheduling jitter (%llds): a "
			  "keeper that runs every minute may find the token already expired",
			  a->name, (long long)a->window, (long long)OT_SCHEDULING_JITTER);
	if (life > 0 && a->window >= life)
		n += warn("%s: window %llds is not shorter than its access tokens live (%llds): "
			  "every run will refresh it",
			  a->name, (long long)a->window, (long long)life);
	if (a->provider->auth_method != OT_AUTH_NONE && !a->provider->client_secret)
		n += warn("%s: provider has no client secret but authenticates with a secret "
			  "(%s)",
			  a->name, ot_auth_method_name(a->provider->auth_method));
	return n;
}

static int check_all(ot_cli *cli)
{
	ot_credential *creds = NULL;
	size_t n_creds = 0, n_acc = ot_config_account_count(cli->cfg);
	ot_err err = {{0}};
	int warnings = 0;

	if (ot_store_list(cli->store, 0, &creds, &n_creds, &err) < 0) {
		ot_cli_error("%s", err.msg);
		return -1;
	}
	printf("configuration %s: %zu providers, %zu accounts\n",
	       ot_config_settings(cli->cfg)->path, ot_config_provider_count(cli->cfg), n_acc);
	printf("store %s: %zu credentials\n", ot_config_settings(cli->cfg)->store_path, n_creds);
	for (size_t i = 0; i < n_acc; i++) {
		const ot_account *a = ot_config_account(cli->cfg, i);
		const ot_credential *c = NULL;
		for (size_t j = 0; j < n_creds && !c; j++)
			if (strcmp(creds[j].account, a->name) == 0)
				c = &creds[j];
		warnings += check_account(a, c);
	}
	for (size_t j = 0; j < n_creds; j++)
		if (!ot_config_find_account(cli->cfg, creds[j].account))
			warnings += warn("%s: the store holds a credential for an account that is "
					 "not configured",
					 creds[j].account);
	ot_store_list_free(creds, n_creds);
	return warnings;
}

int ot_cmd_check(ot_cli *cli, int argc, char **argv)
{
	const char *pos[1];
	bool help = false;
	int npos, warnings;

	if (ot_cli_parse("check", argc, argv, NULL, pos, 0, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(check_help, stdout);
		return OT_EXIT_OK;
	}
	if (ot_cli_load(cli) < 0 || ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	warnings = check_all(cli);
	if (warnings < 0)
		return OT_EXIT_USAGE;
	if (warnings)
		printf("check: %d warning%s\n", warnings, warnings == 1 ? "" : "s");
	else
		printf("check: ok\n");
	return warnings ? OT_EXIT_WARN : OT_EXIT_OK;
}
