/* cmd_refresh.c - `oauthtop refresh [--all] [--force] [--concurrency N] [ACCOUNT...]`: the
 * seed job. Refreshes what is due, the named accounts, or every enabled one, one line per
 * account acted on and a summary. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "oauthtop/engine.h"
#include "oauthtop/health.h"
#include "oauthtop/remedy.h"

static const char refresh_help[] =
        "usage: oauthtop refresh [--all] [--force] [--concurrency N] [ACCOUNT...]\n\n"
        "Refreshes every enabled account that is due (no ACCOUNT), the named accounts, or with\n"
        "--all every enabled account. Accounts held by another keeper are skipped; accounts that\n"
        "need reauthorization are never attempted.\n\n"
        "  --all            every enabled account\n"
        "  --force          also ignore backoff and min_interval (never another keeper's lease)\n"
        "  --concurrency N  requests in flight at once (default: the configuration's)\n\n"
        "Prints one line per account acted on, then a summary line. On SIGINT or SIGTERM no new\n"
        "account is started and the requests in flight finish first (a second signal ends at\n"
        "once).\n"
        "exit: 0 all fine afterwards or nothing due; 1 a transient failure; 2 an account needs\n"
        "      reauthorization; 3 usage, configuration or store error\n";

typedef struct refresh_tally {
	ot_cli *cli;
	int refreshed, failed, reauth, skipped, errors;
	int worst;
	char lost[512]; /* accounts whose new refresh token could not be stored */
} refresh_tally;

static void tally_lost(refresh_tally *t, const char *account)
{
	size_t n = strlen(t->lost);

	if (n + strlen(account) + 3 < sizeof(t->lost))
		snprintf(t->lost + n, sizeof(t->lost) - n, "%s%s", n ? ", " : "", account);
	else if (n + 5 < sizeof(t->lost) && strcmp(t->lost + n - 3, "...") != 0)
		snprintf(t->lost + n, sizeof(t->lost) - n, ", ...");
}

static void tally_rc(refresh_tally *t, int rc)
{
	if (rc > t->worst)
		t->worst = rc;
}

/* The line of every refreshed account, written piece by piece (no format to parse). */
static void print_refreshed(const ot_result *r, int64_t now)
{
	char cd[64];

	fputs(r->account, stdout);
	if (r->access_expires_at) {
		ot_countdown(r->access_expires_at - now, true, false, cd, sizeof(cd));
		fputs(": refreshed, access token valid ", stdout);
		fputs(cd, stdout);
	} else {
		fputs(": refreshed, access token expiry unknown", stdout);
	}
	if (r->rotated) {
		fputs(", rotated refresh token (", stdout);
		fputs(r->new_fp, stdout);
		putchar(')');
	}
	if (strncmp(r->reason, "recovered", 9) == 0) {
		fputs(" (", stdout);
		fputs(r->reason, stdout);
		putchar(')');
	}
	putchar('\n');
}

static void print_reauth(const char *account, const char *why)
{
	char hint[512];

	ot_remedy_hint(account, OT_OUTCOME_PERMANENT, why, hint, sizeof(hint));
	if (hint[0])
		printf("%s: needs reauthorization: %s \u2014 %s\n", account, why, hint);
	else
		printf("%s: needs reauthorization: %s\n", account, why);
}

/* A skipped account counts by its state afterwards: reauth is 2, failing 1, else 0. */
static void on_skipped(refresh_tally *t, const ot_result *r, int64_t now)
{
	const ot_account *a = ot_config_find_account(t->cli->cfg, r->account);
	ot_credential c;
	ot_err err;
	ot_health h;
	int found;

	memset(&c, 0, sizeof(c));
	found = ot_store_get(t->cli->store, r->account, 0, &c, &err);
	h = ot_health_eval(a, found == 1 ? &c : NULL, now,
	                   ot_config_settings(t->cli->cfg)->reauth_warning);
	if (h.state == OT_STATE_REAUTH) {
		print_reauth(r->account, h.reason ? h.reason : r->reason);
		t->reauth++;
		tally_rc(t, OT_EXIT_REAUTH);
	} else {
		printf("%s: skipped: %s\n", r->account, r->reason);
		t->skipped++;
		if (h.state == OT_STATE_FAILING || h.state == OT_STATE_EXPIRED)
			tally_rc(t, OT_EXIT_WARN);
	}
	ot_credential_clear(&c);
}

static void on_result(const ot_result *r, void *user)
{
	refresh_tally *t = user;
	int64_t now = ot_cli_now();
	char cd[64];

	switch (r->kind) {
	case OT_RESULT_REFRESHED:
		print_refreshed(r, now);
		t->refreshed++;
		break;
	case OT_RESULT_FAILED:
		ot_countdown(r->next_attempt_at - now, true, false, cd, sizeof(cd));
		printf("%s: failed: %s, retry in %s\n", r->account, r->reason, cd);
		t->failed++;
		tally_rc(t, OT_EXIT_WARN);
		break;
	case OT_RESULT_REAUTH:
		print_reauth(r->account, r->reason);
		t->reauth++;
		tally_rc(t, OT_EXIT_REAUTH);
		break;
	case OT_RESULT_RACE:
		printf("%s: refreshed by another keeper meanwhile; its newer token is kept\n",
		       r->account);
		t->skipped++;
		break;
	case OT_RESULT_LEASED:
		printf("%s: skipped: %s\n", r->account, r->reason);
		t->skipped++;
		break;
	case OT_RESULT_SKIPPED:
		on_skipped(t, r, now);
		break;
	case OT_RESULT_ERROR:
	default:
		if (r->rotated)
			tally_lost(t, r->account);
		printf("%s: error: %s\n", r->account, r->reason);
		t->errors++;
		tally_rc(t, OT_EXIT_USAGE);
		break;
	}
	/* No fflush here: refresh_loop flushes once per engine step (see there). */
}

static int parse_concurrency(const char *s, int *out)
{
	long long v;

	if (!s)
		return 0;
	if (ot_cli_number(s, 1, 100000, &v) < 0) {
		ot_cli_error("refresh: --concurrency wants a number from 1 to 100000, not \"%s\"",
		             s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* Queues the named accounts (checked beforehand), every enabled one, or what is due. */
static int refresh_submit(ot_cli *cli, refresh_tally *t, ot_engine *e, const char **names, int n,
                          bool all, bool force, ot_err *err)
{
	if (n == 0 && !all)
		return ot_engine_submit_due(e, ot_cli_now(), err) < 0 ? -1 : 0;
	if (all) {
		for (size_t i = 0; i < ot_config_account_count(cli->cfg); i++) {
			const ot_account *a = ot_config_account(cli->cfg, i);
			if (a->enabled && ot_engine_submit(e, a->name, force, err) < 0)
				return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		const ot_account *a = ot_config_find_account(cli->cfg, names[i]);
		if (!a->enabled) {
			printf("%s: skipped: disabled in the configuration\n", a->name);
			t->skipped++;
			continue;
		}
		if (ot_engine_submit(e, a->name, force, err) < 0)
			return -1;
	}
	return 0;
}

/* SIGINT / SIGTERM: take no new work, let the requests in flight finish and be stored (an
 * abandoned request would leave a lost answer behind); a second signal ends at once. */
static volatile sig_atomic_t refresh_stop;
static ot_engine *refresh_engine;

static void refresh_on_signal(int sig)
{
	refresh_stop = 1;
	signal(sig, SIG_DFL);
	if (refresh_engine)
		ot_engine_wakeup(refresh_engine);
}

/* After a step error (the store): no new account is started, the accounts still queued
 * get their line now, and the engine keeps stepping - the requests in flight are harvested,
 * the results whose commit failed are retried every second - until nothing is pending or
 * the store stayed unavailable for lease_seconds. */
static void refresh_drop_queued(ot_cli *cli, refresh_tally *t, ot_engine *e, const char *why)
{
	size_t n = ot_config_account_count(cli->cfg);
	bool *busy = calloc(n ? n : 1, sizeof(*busy));

	if (!busy) {
		ot_engine_stop_queue(e);
		return;
	}
	for (size_t i = 0; i < n; i++)
		busy[i] = ot_engine_busy(e, ot_config_account(cli->cfg, i)->name);
	ot_engine_stop_queue(e);
	for (size_t i = 0; i < n; i++) {
		const char *name = ot_config_account(cli->cfg, i)->name;
		if (!busy[i] || ot_engine_busy(e, name))
			continue;
		printf("%s: error: not attempted: %s\n", name, why);
		t->errors++;
		tally_rc(t, OT_EXIT_USAGE);
	}
	fflush(stdout);
	free(busy);
}

static void refresh_signals(ot_engine *e)
{
	refresh_engine = e;
	signal(SIGINT, e ? refresh_on_signal : SIG_DFL);
	signal(SIGTERM, e ? refresh_on_signal : SIG_DFL);
}

static int refresh_loop(ot_cli *cli, refresh_tally *t, ot_engine *e, ot_err *err)
{
	int64_t limit = ot_config_settings(cli->cfg)->lease_seconds, failing_since = 0;
	bool stopping = false, store_failed = false;

	refresh_stop = 0;
	refresh_signals(e);
	for (;;) {
		int64_t now = ot_cli_now();
		int step = ot_engine_step(e, err);
		/* The lines of the results this step delivered leave now, in one write: at once
		 * for a reader of a pipe or file (tail -f, a supervisor), not one write(2) per
		 * account (a terminal is line-buffered anyway); before any message on stderr. */
		fflush(stdout);
		if (step < 0) {
			if (!store_failed)
				refresh_drop_queued(cli, t, e, err->msg);
			if (!failing_since && ot_engine_pending(e))
				ot_cli_error("refresh: %s: store unavailable, retrying for up to "
				             "%llds (%zu pending)",
				             err->msg, (long long)limit, ot_engine_pending(e));
			else if (!failing_since)
				ot_cli_error("refresh: %s", err->msg);
			if (!failing_since)
				failing_since = now;
			store_failed = true;
			if (now - failing_since >= limit)
				break; /* give up: ot_engine_free reports what is unwritten */
		} else if (failing_since) {
			ot_cli_error("refresh: the store is available again");
			failing_since = 0;
		}
		if (refresh_stop && !stopping) {
			stopping = true;
			ot_engine_stop_queue(e);
			if (ot_engine_pending(e))
				ot_cli_error(
				        "refresh: stopping: waiting for %zu request(s) in flight",
				        ot_engine_pending(e));
		}
		if (ot_engine_pending(e) == 0) { /* every account has its line */
			refresh_signals(NULL);
			return 0;
		}
		ot_engine_wait(e, NULL, 0, 1000);
	}
	refresh_signals(NULL);
	return -1;
}

static int refresh_run(ot_cli *cli, const char **names, int n, bool all, bool force, int conc)
{
	refresh_tally t;
	ot_engine_opts o;
	ot_engine *e;
	ot_err err = {{0}};
	int rc;

	memset(&t, 0, sizeof(t));
	memset(&o, 0, sizeof(o));
	t.cli = cli;
	o.concurrency = conc;
	o.actor_kind = "refresh";
	o.on_result = on_result;
	o.user = &t;
	e = ot_engine_new(cli->cfg, cli->store, &o, &err);
	if (!e) {
		ot_cli_error("refresh: %s", err.msg);
		return OT_EXIT_USAGE;
	}
	rc = refresh_submit(cli, &t, e, names, n, all, force, &err);
	if (rc == 0)
		rc = refresh_loop(cli, &t, e, &err);
	ot_engine_free(e); /* reports, as errors, results that could not be stored */
	fflush(stdout);    /* those lines before the messages on stderr below */
	if (rc < 0) {
		ot_cli_error("refresh: %s", err.msg);
		tally_rc(&t, OT_EXIT_USAGE);
	}
	if (t.lost[0])
		ot_cli_error("refresh: GAVE UP: the new refresh token of %s could not be stored "
		             "(the server has rotated it); the in-flight marker is kept: the next "
		             "refresh resends the old token once, which works only inside the "
		             "server's grace period",
		             t.lost);
	printf("refresh: %d refreshed, %d failed, %d needs reauthorization, %d skipped",
	       t.refreshed, t.failed, t.reauth, t.skipped);
	if (t.errors)
		printf(", %d errors", t.errors);
	if (refresh_stop) {
		printf(", interrupted");
		tally_rc(&t, OT_EXIT_WARN);
	}
	putchar('\n');
	return t.worst;
}

int ot_cmd_refresh(ot_cli *cli, int argc, char **argv)
{
	bool all = false, force = false, help = false;
	const char *conc_s = NULL;
	const ot_opt opts[] = {
	        {"all", 0, &all, NULL},
	        {"force", 0, &force, NULL},
	        {"concurrency", 1, NULL, &conc_s},
	        {NULL, 0, NULL, NULL},
	};
	const char **names = calloc((size_t)argc + 1, sizeof(*names));
	int n = 0, conc = 0, rc = OT_EXIT_USAGE;

	if (!names)
		return OT_EXIT_USAGE;
	if (ot_cli_parse("refresh", argc, argv, opts, names, argc, &n, &help) < 0)
		goto out;
	if (help) {
		fputs(refresh_help, stdout);
		rc = OT_EXIT_OK;
		goto out;
	}
	if (parse_concurrency(conc_s, &conc) < 0 || ot_cli_load(cli) < 0)
		goto out;
	for (int i = 0; i < n; i++)
		if (!ot_cli_account(cli, names[i]))
			goto out;
	if (ot_cli_open_store(cli, false) < 0)
		goto out;
	rc = refresh_run(cli, names, n, all, force, conc);
out:
	free(names);
	return rc;
}
