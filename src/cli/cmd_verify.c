/* cmd_verify.c - `oauthtop verify ACCOUNT`: asks the provider whether the stored access token
 * is still good: introspection (RFC 7662), else one GET to the account's endpoint. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "oauthtop/discovery.h"
#include "oauthtop/revoke.h"
#include "oauthtop/secret.h"

static const char verify_help[] =
        "usage: oauthtop verify ACCOUNT [--introspect|--endpoint] [--refresh-token]\n\n"
        "Checks ACCOUNT's current access token at the provider's introspection endpoint\n"
        "(RFC 7662), else with one GET to the account's `endpoint` (Authorization: Bearer),\n"
        "and reports the answer. Never refreshes.\n\n"
        "  --introspect      use the introspection endpoint\n"
        "  --endpoint        use the account's endpoint even when the provider can introspect\n"
        "  --refresh-token   introspect the refresh token instead of the access token\n"
        "exit: 0 accepted / active; 1 rejected, inactive or no answer; 2 nothing stored\n"
        "      (authorize first); 3 usage or configuration error (nowhere to ask)\n";

typedef struct verify_opts {
	bool introspect, endpoint, refresh;
} verify_opts;

static void verify_when(int64_t t, int64_t now, char *out, size_t n)
{
	if (t == 0)
		snprintf(out, n, "unknown");
	else if (t > now)
		snprintf(out, n, "in %lld s", (long long)(t - now));
	else
		snprintf(out, n, "%lld s ago", (long long)(now - t));
}

static int verify_introspect(ot_cli *cli, const ot_account *a, const ot_credential *c, bool refresh)
{
	const char *what = refresh ? "refresh token" : "access token";
	ot_introspection in;
	ot_err err = {{0}};
	char exp[64];
	int64_t now = ot_cli_now();

	if (ot_introspect(a->provider, ot_config_settings(cli->cfg),
	                  refresh ? c->refresh_token : c->access_token,
	                  refresh ? "refresh_token" : "access_token", &in, &err) < 0) {
		ot_cli_error("verify: %s: %s", a->name, err.msg);
		return OT_EXIT_WARN;
	}
	if (!in.active) {
		printf("%s: %s NOT active (introspection at %s)\n", a->name, what,
		       a->provider->introspection_url);
		if (!refresh && c->has_refresh_token)
			printf("  `oauthtop refresh --force %s` gets a new access token\n",
			       a->name);
		else
			printf("  `oauthtop authorize %s` gets a new grant\n", a->name);
		return OT_EXIT_WARN;
	}
	verify_when(in.exp, now, exp, sizeof(exp));
	printf("%s: %s active (introspection at %s)\n", a->name, what,
	       a->provider->introspection_url);
	printf("  expires: %s\n", exp);
	if (in.scope[0])
		printf("  scope: %s\n", in.scope);
	if (in.client_id[0])
		printf("  client_id: %s\n", in.client_id);
	if (in.sub[0] || in.username[0])
		printf("  subject: %s\n", in.username[0] ? in.username : in.sub);
	if (in.token_type[0])
		printf("  token_type: %s\n", in.token_type);
	return OT_EXIT_OK;
}

static int verify_endpoint(ot_cli *cli, const ot_account *a, const ot_credential *c)
{
	ot_probe pr;
	ot_err err = {{0}};

	if (ot_probe_endpoint(a->provider, ot_config_settings(cli->cfg), a->endpoint,
	                      c->access_token, &pr, &err) < 0) {
		ot_cli_error("verify: %s: %s", a->name, err.msg);
		return OT_EXIT_USAGE;
	}
	printf("%s: GET %s: %s (%.2f s)\n", a->name, a->endpoint, pr.reason, pr.seconds);
	if (pr.status >= 200 && pr.status < 300)
		return OT_EXIT_OK;
	if (pr.status == 401 || pr.status == 403)
		printf("  the access token was refused: `oauthtop refresh --force %s`%s\n", a->name,
		       c->has_refresh_token ? "" : " or `oauthtop authorize`");
	return OT_EXIT_WARN;
}

/* Picks where to ask; prints why when nowhere. 1 endpoint, 0 introspection, -1 none. */
static int verify_pick(const ot_account *a, const verify_opts *vo)
{
	bool can_get = a->endpoint && !vo->refresh;
	bool can_ask = a->provider->introspection_url != NULL;

	if (vo->endpoint) {
		if (can_get)
			return 1;
		ot_cli_error("verify: %s has no endpoint to GET", a->name);
		return -1;
	}
	if (can_ask)
		return 0;
	if (can_get && !vo->introspect)
		return 1;
	if (vo->introspect || vo->refresh)
		ot_cli_error("verify: provider %s has no introspection_url", a->provider->name);
	else
		ot_cli_error("verify: %s: nowhere to ask: the account has no endpoint and "
		             "provider %s no introspection_url",
		             a->name, a->provider->name);
	return -1;
}

static int verify_account(ot_cli *cli, const ot_account *a, const verify_opts *vo)
{
	ot_credential c = {0};
	ot_err err = {{0}};
	int found, how, rc;

	if (vo->introspect && vo->endpoint) {
		ot_cli_error("verify: --introspect and --endpoint exclude each other");
		return OT_EXIT_USAGE;
	}
	if (ot_discovery_apply(cli->cfg, a->provider->name, cli->store, ot_cli_now(), 0, &err) <
	    0) {
		ot_cli_error("verify: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	if ((how = verify_pick(a, vo)) < 0)
		return OT_EXIT_USAGE;
	found = ot_store_get(cli->store, a->name, 1, &c, &err);
	if (found < 0) {
		ot_cli_error("verify: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	if (!found || !(vo->refresh ? c.refresh_token : c.access_token)) {
		ot_cli_error("verify: %s: no %s stored (`oauthtop authorize %s` first)", a->name,
		             vo->refresh ? "refresh token" : "access token", a->name);
		ot_credential_clear(&c);
		return OT_EXIT_REAUTH;
	}
	rc = how ? verify_endpoint(cli, a, &c) : verify_introspect(cli, a, &c, vo->refresh);
	ot_credential_clear(&c);
	return rc;
}

/* Dispatched by main.c; cli.h has no prototype for it yet. */
int ot_cmd_verify(ot_cli *cli, int argc, char **argv);

int ot_cmd_verify(ot_cli *cli, int argc, char **argv)
{
	verify_opts vo = {0};
	bool help = false;
	const ot_opt opts[] = {
	        {"introspect", 0, &vo.introspect, NULL},
	        {"endpoint", 0, &vo.endpoint, NULL},
	        {"refresh-token", 0, &vo.refresh, NULL},
	        {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int npos;
	const ot_account *a;

	if (ot_cli_parse("verify", argc, argv, opts, pos, 1, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(verify_help, stdout);
		return OT_EXIT_OK;
	}
	if (npos < 1) {
		ot_cli_error("verify: which account? (usage: oauthtop verify ACCOUNT)");
		return OT_EXIT_USAGE;
	}
	if (ot_cli_load(cli) < 0 || !(a = ot_cli_account(cli, pos[0])) ||
	    ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	return verify_account(cli, a, &vo);
}
