/* cmd_token.c - `oauthtop token ACCOUNT [--min-valid S]`: prints a valid access token on
 * stdout (and nothing else), refreshing first when it is due or has less than S seconds
 * left. The fresh-token path reads the store once and never sets up the network. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "oauthtop/engine.h"
#include "oauthtop/health.h"
#include "oauthtop/remedy.h"

static const char token_help[] =
        "usage: oauthtop token ACCOUNT [--min-valid S]\n\n"
        "Prints ACCOUNT's access token on standard output, nothing else, refreshing it first\n"
        "when it is due or has less than S seconds left (--min-valid, default 0). Messages go\n"
        "to standard error. When another keeper is refreshing the account, waits for it.\n\n"
        "exit: 0 printed (also when a refresh failed - transiently or on a store error - but\n"
        "      the token is still valid,\n"
        "      with a warning); 1 no valid token and a transient failure; 2 needs\n"
        "      reauthorization; 3 unknown account, usage, configuration or store error\n";

typedef struct token_ctx {
	ot_cli *cli;
	const ot_account *acct;
	ot_credential cred;
	ot_health h;
	int64_t now;
	int64_t min_valid;
	bool attempted;
	bool store_failed; /* the refresh hit a store error (store_err) */
	char store_err[520];
	ot_result_kind kind;
	char reason[600];
} token_ctx;

static int token_load(token_ctx *t)
{
	ot_err err = {{0}};
	int found;

	ot_credential_clear(&t->cred);
	t->now = ot_cli_now();
	found = ot_store_get(t->cli->store, t->acct->name, 1, &t->cred, &err);
	if (found < 0) {
		ot_cli_error("token: %s", err.msg);
		return -1;
	}
	t->h = ot_health_eval(t->acct, found ? &t->cred : NULL, t->now,
	                      ot_config_settings(t->cli->cfg)->reauth_warning);
	return 0;
}

/* An access token that has not expired (an unknown expiry counts as valid). */
static bool token_valid(const token_ctx *t)
{
	return t->cred.access_token && t->cred.access_token[0] &&
	       (!t->h.access_known || t->h.access_left > 0);
}

static bool token_wants_refresh(const token_ctx *t)
{
	if (!t->acct->enabled || t->h.state == OT_STATE_REAUTH)
		return false;
	if (t->h.state == OT_STATE_DUE || t->h.state == OT_STATE_EXPIRED ||
	    t->h.state == OT_STATE_FAILING)
		return true;
	return t->h.access_known && t->h.access_left < t->min_valid;
}

static void token_on_result(const ot_result *r, void *user)
{
	token_ctx *t = user;

	t->attempted = true;
	t->kind = r->kind;
	snprintf(t->reason, sizeof(t->reason), "%s", r->reason ? r->reason : "");
}

/* Another keeper holds the lease: wait (at most its request's total timeout) until it lets
 * go, so the caller gets the token it is fetching. */
static void token_wait_lease(token_ctx *t)
{
	const ot_settings *s = ot_config_settings(t->cli->cfg);
	int64_t until = ot_cli_now() + s->total_timeout + 5;
	struct timespec ts = {0, 100 * 1000 * 1000};

	while (ot_cli_now() < until) {
		nanosleep(&ts, NULL);
		if (token_load(t) < 0)
			return;
		if (!t->cred.lease_host || t->cred.lease_expires_at <= t->now)
			return;
	}
}

/* Steps the engine until the account is done. A store error does not end it at once: a
 * result whose commit failed (a new refresh token) is retried for up to the total timeout;
 * then the engine reports it (ot_engine_free) and the caller decides with what is stored. */
static void token_run(token_ctx *t, ot_engine *e)
{
	const ot_settings *s = ot_config_settings(t->cli->cfg);
	int64_t until = 0;
	ot_err err = {{0}};

	for (;;) {
		if (ot_engine_step(e, &err) < 0) {
			if (!t->store_failed)
				snprintf(t->store_err, sizeof(t->store_err), "%s", err.msg);
			t->store_failed = true;
			if (!until)
				until = ot_cli_now() + s->total_timeout;
			if (ot_cli_now() >= until)
				return;
		}
		if (ot_engine_pending(e) == 0)
			return;
		ot_engine_wait(e, NULL, 0, 1000);
	}
}

static int token_refresh(token_ctx *t)
{
	ot_engine_opts o;
	ot_engine *e;
	ot_err err = {{0}};

	memset(&o, 0, sizeof(o));
	o.concurrency = 1;
	o.actor_kind = "token";
	o.on_result = token_on_result;
	o.user = t;
	e = ot_engine_new(t->cli->cfg, t->cli->store, &o, &err);
	if (!e) {
		ot_cli_error("token: %s", err.msg);
		return -1;
	}
	if (ot_engine_submit(e, t->acct->name, false, &err) < 0) {
		ot_engine_free(e);
		ot_cli_error("token: %s: %s", t->acct->name, err.msg);
		return -1;
	}
	token_run(t, e);
	ot_engine_free(e);
	if (t->store_failed && !(t->attempted && t->kind == OT_RESULT_ERROR)) {
		t->attempted = true;
		t->kind = OT_RESULT_ERROR;
		snprintf(t->reason, sizeof(t->reason), "%s", t->store_err);
	}
	if (t->attempted && t->kind == OT_RESULT_LEASED)
		token_wait_lease(t);
	return token_load(t);
}

static int token_reauth(const token_ctx *t)
{
	char hint[512];
	const char *why = t->h.reason ? t->h.reason : t->reason;

	ot_remedy_hint(t->acct->name, t->cred.last_outcome, why, hint, sizeof(hint));
	ot_cli_error("token: %s needs reauthorization: %s%s%s", t->acct->name, why,
	             hint[0] ? " \u2014 " : "", hint);
	return OT_EXIT_REAUTH;
}

/* Prints the token, warning when the refresh the caller needed did not happen. */
static int token_print(const token_ctx *t, bool wanted)
{
	char cd[64];

	ot_countdown(t->h.access_left, t->h.access_known, false, cd, sizeof(cd));
	if (wanted && t->attempted &&
	    (t->kind == OT_RESULT_FAILED || t->kind == OT_RESULT_ERROR))
		ot_cli_error("token: warning: %s: refresh failed (%s); the access token is still "
		             "valid for %s",
		             t->acct->name, t->reason, cd);
	else if (t->h.access_known && t->h.access_left < t->min_valid)
		ot_cli_error("token: warning: %s: the access token is valid for %s only, less "
		             "than --min-valid %lld s%s%s",
		             t->acct->name, cd, (long long)t->min_valid,
		             t->attempted && t->reason[0] ? ": " : "",
		             t->attempted ? t->reason : "");
	fputs(t->cred.access_token, stdout);
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? OT_EXIT_OK : OT_EXIT_USAGE;
}

static int token_serve(token_ctx *t)
{
	bool wanted;

	if (token_load(t) < 0)
		return OT_EXIT_USAGE;
	wanted = token_wants_refresh(t);
	if (wanted && token_refresh(t) < 0)
		return OT_EXIT_USAGE;
	if (t->h.state == OT_STATE_REAUTH)
		return token_reauth(t);
	if (token_valid(t))
		return token_print(t, wanted);
	if (!t->acct->enabled)
		ot_cli_error("token: %s is disabled and has no valid access token", t->acct->name);
	else if (t->attempted && t->kind == OT_RESULT_ERROR)
		ot_cli_error("token: %s: %s", t->acct->name, t->reason);
	else
		ot_cli_error("token: %s: no valid access token%s%s", t->acct->name,
		             t->attempted && t->reason[0] ? ": " : "",
		             t->attempted ? t->reason : "");
	return t->attempted && t->kind == OT_RESULT_ERROR ? OT_EXIT_USAGE : OT_EXIT_WARN;
}

static int parse_min_valid(const char *s, int64_t *out)
{
	long long v;

	if (!s)
		return 0;
	if (ot_cli_number(s, 0, LLONG_MAX, &v) < 0) {
		ot_cli_error("token: --min-valid wants seconds (0 or more), not \"%s\"", s);
		return -1;
	}
	*out = (int64_t)v;
	return 0;
}

int ot_cmd_token(ot_cli *cli, int argc, char **argv)
{
	bool help = false;
	const char *min_s = NULL;
	const ot_opt opts[] = {
	        {"min-valid", 1, NULL, &min_s},
	        {NULL, 0, NULL, NULL},
	};
	const char *pos[1];
	int n = 0, rc;
	token_ctx t;

	memset(&t, 0, sizeof(t));
	t.cli = cli;
	if (ot_cli_parse("token", argc, argv, opts, pos, 1, &n, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(token_help, stdout);
		return OT_EXIT_OK;
	}
	if (n != 1) {
		ot_cli_error(
		        "token: which account? (usage: oauthtop token ACCOUNT [--min-valid S])");
		return OT_EXIT_USAGE;
	}
	if (parse_min_valid(min_s, &t.min_valid) < 0 || ot_cli_load(cli) < 0 ||
	    !(t.acct = ot_cli_account(cli, pos[0])) || ot_cli_open_store(cli, false) < 0)
		return OT_EXIT_USAGE;
	rc = token_serve(&t);
	ot_credential_clear(&t.cred);
	return rc;
}
