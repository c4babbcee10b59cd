/* cmd_daemon.c - `oauthtop daemon`: keeps refreshing in the foreground (systemd style).
 *
 * Each wake: re-read the wall clock, evaluate every enabled account (health, state-change
 * hooks, next action time by the jitter rule of schedule.h), submit those whose time has come,
 * then drive the engine until the next action time, a result, a backoff end or a signal. The
 * sleep is a relative poll timeout (monotonic) capped at 10 s, so a clock jump or a suspend
 * costs at most one cap before wall-clock expiries are evaluated again. Signals only write a
 * byte to a self-pipe that is one of the engine's extra descriptors. The store is re-read in
 * full only when ot_store_version() moved (at most every DM_RELOAD_MS) or after SIGHUP; an
 * account about to be submitted or just finished is re-read alone. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oauthtop/engine.h"
#include "oauthtop/health.h"
#include "oauthtop/hooks.h"
#include "oauthtop/log.h"
#include "oauthtop/schedule.h"

#define DM_BEAT_MS         10000 /* heartbeat at least this often; also the longest sleep */
#define DM_BEAT_MIN_MS     1000  /* and not more often than this */
#define DM_RELOAD_MS       5000  /* full store re-read at most this often */
#define DM_EVAL_MIN_MS     100   /* full evaluations at most this often: O(N) each */
#define DM_HOLD_LEASED_MS  2000
#define DM_HOLD_SKIPPED_MS 1000
#define DM_HOLD_ERROR_MS   5000
#define DM_HOOK_TIMEOUT_MS 30000

static const char daemon_help[] =
        "usage: oauthtop daemon [--log-format text|json] [--verbose]\n\n"
        "Keeps every enabled account refreshed, in the foreground: refreshes each account at a\n"
        "random moment inside its window, retries failures with backoff, runs the configured\n"
        "hooks on state changes, and writes a heartbeat the console shows. One line per action\n"
        "on stderr (JSON lines with --log-format json); --verbose adds skipped attempts.\n"
        "SIGHUP reloads the configuration (an invalid one is reported and the old one kept);\n"
        "SIGTERM or SIGINT lets requests in flight finish (up to the total timeout) and exits.\n\n"
        "exit: 0 after SIGTERM/SIGINT; 3 configuration or store error at start\n";

typedef struct dm_entry {
	const ot_account *acct; /* of the current configuration */
	ot_credential cred;     /* without secrets; account NULL when nothing is stored */
	ot_state state;
	bool state_known; /* false until first evaluated: no hook for the initial state */
	int64_t next_ms;  /* schedule, Unix ms */
	int64_t hold_ms;  /* no submission before this (leased, skipped, local error) */
} dm_entry;

typedef struct dm {
	ot_cli *cli;
	ot_engine *eng;
	ot_hooks *hooks;
	dm_entry *ent; /* sorted by account name */
	size_t n_ent;
	ot_config *next_cfg; /* a reloaded configuration waiting for the engine to drain */
	int64_t started;
	int64_t seen_version;
	int64_t last_reload_ms;
	bool reload_store;      /* full re-read at the next evaluation */
	int64_t next_eval_ms;   /* wall clock, Unix ms */
	int64_t last_eval_mono; /* monotonic ms: evaluate at least every DM_BEAT_MS */
	int64_t last_beat_mono;
	int64_t last_prune;
	int64_t last_step_err_mono;
	bool force_eval;
	bool json;
	int sig_pipe[2];
	bool stopping;
	int64_t stop_deadline; /* monotonic ms */
} dm;

static int dm_sig_fd = -1;

/* --- clocks and logging --- */

/* The coarse clock is the one time() reads: the engine's decisions (backoff, min_interval) in
 * whole seconds of time() then never disagree with ours a few ms after a second starts. */
static int64_t dm_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t dm_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Text lines name the account in the message ("refreshed billing-api (...)"); JSON lines
 * carry it in their own member as well. */
static void dm_log(const dm *d, ot_log_level lvl, const char *account, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void dm_log(const dm *d, ot_log_level lvl, const char *account, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ot_log(lvl, d->json ? account : NULL, "%s", msg);
}

static const ot_settings *dm_settings(const dm *d)
{
	return ot_config_settings(d->cli->cfg);
}

/* --- signals --- */

static void dm_on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (dm_sig_fd >= 0 && write(dm_sig_fd, &b, 1) < 0) {
		/* pipe full: a wake is already pending */
	}
	errno = saved;
}

static int dm_signals_setup(dm *d)
{
	struct sigaction sa;
	const int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGCHLD};

	if (pipe2(d->sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -1;
	dm_sig_fd = d->sig_pipe[1];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dm_on_signal;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void dm_signals_restore(dm *d)
{
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	dm_sig_fd = -1;
	close(d->sig_pipe[0]);
	close(d->sig_pipe[1]);
}

/* --- accounts and their cached credentials --- */

static int dm_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const dm_entry *)a)->acct->name, ((const dm_entry *)b)->acct->name);
}

static int dm_entry_key_cmp(const void *key, const void *e)
{
	return strcmp(key, ((const dm_entry *)e)->acct->name);
}

static dm_entry *dm_find(const dm *d, const char *name)
{
	if (!d->n_ent)
		return NULL;
	return bsearch(name, d->ent, d->n_ent, sizeof(*d->ent), dm_entry_key_cmp);
}

static void dm_entries_free(dm_entry *ent, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ot_credential_clear(&ent[i].cred);
	free(ent);
}

/* Builds the entries of the current configuration, carrying each known state over by name
 * so a reload does not fire hooks by itself. */
static void dm_entries_build(dm *d)
{
	size_t n = ot_config_account_count(d->cli->cfg);
	dm_entry *ent = calloc(n ? n : 1, sizeof(*ent));

	if (!ent)
		abort();
	for (size_t i = 0; i < n; i++) {
		dm_entry *old;
		ent[i].acct = ot_config_account(d->cli->cfg, i);
		old = dm_find(d, ent[i].acct->name);
		if (old) {
			ent[i].state = old->state;
			ent[i].state_known = old->state_known;
		}
	}
	qsort(ent, n, sizeof(*ent), dm_entry_cmp);
	dm_entries_free(d->ent, d->n_ent);
	d->ent = ent;
	d->n_ent = n;
	d->reload_store = true;
}

/* Re-reads every credential (without secrets). */
static int dm_store_reload(dm *d, int64_t now_ms)
{
	ot_credential *list = NULL;
	size_t n = 0;
	ot_err err = {{0}};
	int64_t version = ot_store_version(d->cli->store);

	if (ot_store_list(d->cli->store, 0, &list, &n, &err) < 0) {
		dm_log(d, OT_LOG_ERROR, NULL, "store: %s", err.msg);
		return -1;
	}
	for (size_t i = 0; i < d->n_ent; i++)
		ot_credential_clear(&d->ent[i].cred);
	for (size_t i = 0; i < n; i++) {
		dm_entry *e = list[i].account ? dm_find(d, list[i].account) : NULL;
		if (!e)
			continue;
		e->cred = list[i]; /* moved: the list keeps a zeroed record */
		memset(&list[i], 0, sizeof(list[i]));
	}
	ot_store_list_free(list, n);
	d->seen_version = version;
	d->last_reload_ms = now_ms;
	d->reload_store = false;
	return 0;
}

/* Re-reads one account's credential. */
static void dm_store_get(dm *d, dm_entry *e)
{
	ot_credential c = {0};
	ot_err err = {{0}};
	int rc = ot_store_get(d->cli->store, e->acct->name, 0, &c, &err);

	if (rc < 0) {
		dm_log(d, OT_LOG_ERROR, e->acct->name, "store: %s", err.msg);
		return;
	}
	ot_credential_clear(&e->cred);
	if (rc > 0)
		e->cred = c;
}

static const ot_credential *dm_cred(const dm_entry *e)
{
	return e->cred.account ? &e->cred : NULL;
}

/* --- state changes and hooks --- */

static void dm_state_changed(dm *d, dm_entry *e, ot_state old, const ot_health *h)
{
	ot_hook_event ev = ot_hook_event_for(old, h->state);
	ot_hook_info info = {.account = e->acct->name,
	                     .provider = e->acct->provider->name,
	                     .old_state = old,
	                     .new_state = h->state,
	                     .reason = h->reason};
	ot_err err = {{0}};
	int rc;

	if (ev == OT_HOOK_NONE) {
		dm_log(d, OT_LOG_DEBUG, e->acct->name, "%s: %s -> %s", e->acct->name,
		       ot_state_name(old), ot_state_name(h->state));
		return;
	}
	rc = ot_hooks_fire(d->hooks, ev, &info, &err);
	if (rc < 0)
		dm_log(d, OT_LOG_WARN, e->acct->name, "hook: %s", err.msg);
	dm_log(d, OT_LOG_INFO, e->acct->name, "%s %s: %s -> %s%s", ot_hook_event_name(ev),
	       e->acct->name, ot_state_name(old), ot_state_name(h->state),
	       rc > 0 ? " (hook started)" : "");
}

static void dm_on_hook_done(const ot_hook_done *hd, void *user)
{
	const dm *d = user;
	const char *ev = ot_hook_event_name(hd->event);

	if (hd->timed_out)
		dm_log(d, OT_LOG_WARN, hd->account,
		       "%s hook for %s killed after %.0fs (time limit)", ev, hd->account,
		       hd->seconds);
	else if (hd->signal)
		dm_log(d, OT_LOG_WARN, hd->account, "%s hook for %s killed by signal %d", ev,
		       hd->account, hd->signal);
	else if (hd->exit_code != 0)
		dm_log(d, OT_LOG_WARN, hd->account, "%s hook for %s exited %d", ev, hd->account,
		       hd->exit_code);
	else
		dm_log(d, OT_LOG_INFO, hd->account, "%s hook for %s done (%.1fs)", ev, hd->account,
		       hd->seconds);
}

/* Health at now (firing hooks on a change) and the next action time. */
static void dm_entry_eval(dm *d, dm_entry *e, int64_t now)
{
	const ot_settings *s = dm_settings(d);
	ot_health h = ot_health_eval(e->acct, dm_cred(e), now, s->reauth_warning);
	ot_schedule_in in = {.acct = e->acct,
	                     .cred = dm_cred(e),
	                     .state = h.state,
	                     .min_interval = s->min_interval,
	                     .jitter = -1,
	                     .now = now};

	if (e->state_known && e->state != h.state)
		dm_state_changed(d, e, e->state, &h);
	e->state = h.state;
	e->state_known = true;
	e->next_ms = ot_schedule_next_ms(&in);
}

/* Makes the next evaluation no later than the entry's next moment (a future one). */
static void dm_plan(dm *d, const dm_entry *e, int64_t now_ms)
{
	int64_t at = e->next_ms > e->hold_ms ? e->next_ms : e->hold_ms;

	if (at > now_ms && at < d->next_eval_ms)
		d->next_eval_ms = at;
}

/* --- results --- */

static void dm_log_refreshed(const dm *d, const ot_result *r, int64_t now)
{
	char left[32];

	if (!r->access_expires_at) {
		dm_log(d, OT_LOG_INFO, r->account, "refreshed %s (access expiry unknown%s%s)",
		       r->account, r->rotated ? ", rotated " : "", r->rotated ? r->new_fp : "");
		return;
	}
	ot_countdown(r->access_expires_at - now, true, false, left, sizeof(left));
	dm_log(d, OT_LOG_INFO, r->account, "refreshed %s (access valid %s%s%s)", r->account, left,
	       r->rotated ? ", rotated " : "", r->rotated ? r->new_fp : "");
}

static void dm_log_result(const dm *d, const ot_result *r, int64_t now)
{
	const char *why = r->reason ? r->reason : "";
	char retry[32];

	switch (r->kind) {
	case OT_RESULT_REFRESHED:
		dm_log_refreshed(d, r, now);
		break;
	case OT_RESULT_FAILED:
		if (r->next_attempt_at > now)
			ot_countdown(r->next_attempt_at - now, true, false, retry, sizeof(retry));
		else
			snprintf(retry, sizeof(retry), "now");
		dm_log(d, OT_LOG_WARN, r->account, "failed %s: %s, retry in %s", r->account, why,
		       retry);
		break;
	case OT_RESULT_REAUTH:
		dm_log(d, OT_LOG_ERROR, r->account, "reauth %s: %s", r->account, why);
		break;
	case OT_RESULT_RACE:
		dm_log(d, OT_LOG_INFO, r->account, "race %s: %s", r->account, why);
		break;
	case OT_RESULT_LEASED:
	case OT_RESULT_SKIPPED:
		dm_log(d, OT_LOG_DEBUG, r->account, "skipped %s: %s", r->account, why);
		break;
	default:
		dm_log(d, OT_LOG_ERROR, r->account, "error %s: %s", r->account, why);
		break;
	}
}

static int64_t dm_hold_for(ot_result_kind kind)
{
	switch (kind) {
	case OT_RESULT_LEASED:
		return DM_HOLD_LEASED_MS;
	case OT_RESULT_ERROR:
		return DM_HOLD_ERROR_MS;
	default:
		return DM_HOLD_SKIPPED_MS; /* never the same account twice within a second */
	}
}

static void dm_on_result(const ot_result *r, void *user)
{
	dm *d = user;
	int64_t now_ms = dm_wall_ms();
	dm_entry *e = dm_find(d, r->account);

	dm_log_result(d, r, now_ms / 1000);
	if (!e)
		return;
	e->hold_ms = now_ms + dm_hold_for(r->kind);
	dm_store_get(d, e);
	dm_entry_eval(d, e, now_ms / 1000);
	dm_plan(d, e, now_ms);
}

/* --- heartbeat and evaluation --- */

/* Our own keeper row is not news: the version it bumps is taken as seen. */
static void dm_beat(dm *d)
{
	ot_err err = {{0}};
	int64_t before = ot_store_version(d->cli->store);

	d->last_beat_mono = dm_mono_ms();
	if (ot_store_keeper_beat(d->cli->store, &d->cli->holder, "daemon", d->started,
	                         dm_wall_ms() / 1000, &err) < 0) {
		dm_log(d, OT_LOG_WARN, NULL, "heartbeat: %s", err.msg);
		return;
	}
	if (before == d->seen_version)
		d->seen_version = ot_store_version(d->cli->store);
}

/* Once a day: drop history older than history_days. */
static void dm_prune(dm *d, int64_t now)
{
	const ot_settings *s = dm_settings(d);
	ot_err err = {{0}};

	if (now - d->last_prune < 86400 || s->history_days <= 0)
		return;
	d->last_prune = now;
	if (ot_store_events_prune(d->cli->store, now - s->history_days * 86400, &err) < 0)
		dm_log(d, OT_LOG_WARN, NULL, "history: %s", err.msg);
}

static bool dm_can_submit(const dm *d)
{
	return !d->stopping && !d->next_cfg;
}

/* Submits the entry if its moment has come; stale cached data is re-read first. */
static bool dm_try_submit(dm *d, dm_entry *e, int64_t now_ms, bool stale)
{
	ot_err err = {{0}};

	if (!dm_can_submit(d) || e->next_ms > now_ms || e->hold_ms > now_ms ||
	    ot_engine_busy(d->eng, e->acct->name))
		return false;
	if (stale) {
		dm_store_get(d, e);
		dm_entry_eval(d, e, now_ms / 1000);
		if (e->next_ms > now_ms)
			return false;
	}
	if (ot_engine_submit(d->eng, e->acct->name, false, &err) < 0) {
		dm_log(d, OT_LOG_ERROR, e->acct->name, "cannot queue %s: %s", e->acct->name,
		       err.msg);
		e->hold_ms = now_ms + DM_HOLD_ERROR_MS;
		return false;
	}
	return true;
}

/* One cycle: every account's health (hooks), schedule and submission; the heartbeat. */
static void dm_evaluate(dm *d, int64_t now_ms)
{
	bool stale = ot_store_version(d->cli->store) != d->seen_version;
	size_t queued = 0;

	if (d->reload_store || (stale && now_ms - d->last_reload_ms >= DM_RELOAD_MS))
		if (dm_store_reload(d, now_ms) == 0)
			stale = false;
	d->next_eval_ms = now_ms + DM_BEAT_MS;
	d->last_eval_mono = dm_mono_ms();
	for (size_t i = 0; i < d->n_ent; i++) {
		dm_entry *e = &d->ent[i];
		dm_entry_eval(d, e, now_ms / 1000);
		if (dm_try_submit(d, e, now_ms, stale))
			queued++;
		else if (!ot_engine_busy(d->eng, e->acct->name))
			dm_plan(d, e, now_ms);
	}
	if (queued)
		dm_log(d, OT_LOG_DEBUG, NULL, "cycle: %zu queued", queued);
	if (dm_mono_ms() - d->last_beat_mono >= DM_BEAT_MIN_MS)
		dm_beat(d);
	dm_prune(d, now_ms / 1000);
}

/* --- configuration reload (SIGHUP) --- */

static ot_engine *dm_engine_new(dm *d, const ot_config *cfg, ot_err *err)
{
	ot_engine_opts o = {
	        .concurrency = 0, .actor_kind = "daemon", .on_result = dm_on_result, .user = d};

	return ot_engine_new(cfg, d->cli->store, &o, err);
}

/* Loads the configuration again; it takes over once the engine has drained. */
static void dm_reload_config(dm *d)
{
	char path[4096];
	ot_err err = {{0}};
	ot_config *cfg = NULL;
	const char *store = dm_settings(d)->store_path;

	if (ot_config_locate(d->cli->config_path, path, sizeof(path), &err) == 0)
		cfg = ot_config_load(path, &err);
	if (!cfg) {
		dm_log(d, OT_LOG_ERROR, NULL,
		       "reload failed, keeping the running configuration: %s", err.msg);
		return;
	}
	if (!d->cli->store_path && strcmp(ot_config_settings(cfg)->store_path, store) != 0)
		dm_log(d, OT_LOG_WARN, NULL,
		       "reload: the store moved to %s; still using %s until "
		       "restarted",
		       ot_config_settings(cfg)->store_path, store);
	ot_config_set_store_path(cfg, store);
	ot_config_free(d->next_cfg);
	d->next_cfg = cfg;
	dm_log(d, OT_LOG_INFO, NULL, "reload: %s read, %zu accounts%s", path,
	       ot_config_account_count(cfg),
	       ot_engine_pending(d->eng) ? "; taking over once requests in flight finish" : "");
}

/* The engine has drained: the new configuration takes over. */
static void dm_swap_config(dm *d)
{
	ot_err err = {{0}};
	ot_engine *eng = dm_engine_new(d, d->next_cfg, &err);
	ot_config *old = d->cli->cfg;
	const ot_settings *s;

	if (!eng) {
		dm_log(d, OT_LOG_ERROR, NULL,
		       "reload failed, keeping the running configuration: %s", err.msg);
		ot_config_free(d->next_cfg);
		d->next_cfg = NULL;
		return;
	}
	ot_engine_free(d->eng); /* also drops our keeper row: written again below */
	d->eng = eng;
	d->cli->cfg = d->next_cfg;
	d->next_cfg = NULL;
	dm_entries_build(d); /* reads the old entries' names: before the old config goes */
	ot_config_free(old);
	s = dm_settings(d);
	ot_hooks_set_commands(d->hooks, s->hook_reauth, s->hook_failing, s->hook_recovered);
	d->force_eval = true;
	dm_beat(d);
	dm_log(d, OT_LOG_INFO, NULL, "configuration reloaded (%zu accounts)", d->n_ent);
}

/* --- stopping (SIGTERM, SIGINT) --- */

static void dm_stop(dm *d)
{
	int64_t grace = dm_settings(d)->total_timeout * 1000 + 500;

	if (d->stopping) {
		dm_log(d, OT_LOG_WARN, NULL, "second signal: stopping now");
		d->stop_deadline = dm_mono_ms();
		return;
	}
	d->stopping = true;
	d->stop_deadline = dm_mono_ms() + grace;
	ot_engine_stop_queue(d->eng);
	ot_config_free(d->next_cfg);
	d->next_cfg = NULL;
	dm_log(d, OT_LOG_INFO, NULL, "stopping: %zu requests to finish (up to %llds)",
	       ot_engine_pending(d->eng), (long long)(grace / 1000));
}

static bool dm_drained(const dm *d)
{
	return ot_engine_pending(d->eng) == 0 && ot_hooks_running(d->hooks) == 0;
}

static void dm_signals_read(dm *d)
{
	unsigned char buf[64];
	bool hup = false, term = false;
	ssize_t n;

	while ((n = read(d->sig_pipe[0], buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++) {
			hup |= buf[i] == SIGHUP;
			term |= buf[i] == SIGTERM || buf[i] == SIGINT;
		}
	if (term)
		dm_stop(d);
	else if (hup && !d->stopping)
		dm_reload_config(d);
}

/* --- the loop --- */

static int64_t dm_min(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int dm_timeout(dm *d)
{
	int64_t mono = dm_mono_ms(), t = d->last_beat_mono + DM_BEAT_MS - mono;
	long et = ot_engine_timeout_ms(d->eng), ht = ot_hooks_timeout_ms(d->hooks);

	if (d->stopping) {
		t = dm_min(t, d->stop_deadline - mono);
	} else {
		int64_t ev = d->next_eval_ms - dm_wall_ms();
		if (ev < d->last_eval_mono + DM_EVAL_MIN_MS - mono)
			ev = d->last_eval_mono + DM_EVAL_MIN_MS - mono;
		t = dm_min(t, ev);
		t = dm_min(t, d->last_eval_mono + DM_BEAT_MS - mono);
	}
	if (et >= 0)
		t = dm_min(t, et);
	if (ht >= 0)
		t = dm_min(t, ht);
	return (int)(t < 0 ? 0 : t > DM_BEAT_MS ? DM_BEAT_MS : t);
}

static void dm_step(dm *d)
{
	ot_err err = {{0}};

	if (ot_engine_step(d->eng, &err) == 0)
		return;
	/* a broken store fails every step: say so every 10 s, not every wake */
	if (dm_mono_ms() - d->last_step_err_mono >= DM_BEAT_MS) {
		dm_log(d, OT_LOG_ERROR, NULL, "%s", err.msg);
		d->last_step_err_mono = dm_mono_ms();
	}
}

/* Forced (start, reload), an account's moment (wakes closer than DM_EVAL_MIN_MS are merged:
 * a fleet spread over the jitter costs at most 10 scans a second), or the periodic one. */
static bool dm_eval_due(const dm *d, int64_t now_ms, int64_t mono)
{
	if (d->force_eval || mono - d->last_eval_mono >= DM_BEAT_MS)
		return true;
	return now_ms >= d->next_eval_ms && mono - d->last_eval_mono >= DM_EVAL_MIN_MS;
}

static void dm_run(dm *d)
{
	for (;;) {
		struct pollfd pfd = {.fd = d->sig_pipe[0], .events = POLLIN};
		int64_t now_ms = dm_wall_ms(), mono = dm_mono_ms();

		dm_signals_read(d);
		if (d->next_cfg && ot_engine_pending(d->eng) == 0)
			dm_swap_config(d);
		if (!d->stopping && dm_eval_due(d, now_ms, mono)) {
			d->force_eval = false;
			dm_evaluate(d, now_ms);
		}
		if (dm_mono_ms() - d->last_beat_mono >= DM_BEAT_MS)
			dm_beat(d);
		dm_step(d);
		ot_hooks_poll(d->hooks);
		if (d->stopping && (dm_drained(d) || dm_mono_ms() >= d->stop_deadline))
			break;
		ot_engine_wait(d->eng, &pfd, 1, dm_timeout(d));
	}
}

/* --- the command --- */

static int dm_start(dm *d, ot_cli *cli)
{
	const ot_settings *s;
	ot_err err = {{0}};
	ot_hooks_opts ho = {
	        .timeout_ms = DM_HOOK_TIMEOUT_MS, .on_done = dm_on_hook_done, .user = d};

	if (ot_cli_open_store(cli, false) < 0)
		return -1;
	s = ot_config_settings(cli->cfg);
	d->cli = cli;
	d->started = ot_cli_now();
	d->eng = dm_engine_new(d, cli->cfg, &err);
	if (!d->eng) {
		ot_cli_error("daemon: %s", err.msg);
		return -1;
	}
	if (dm_signals_setup(d) < 0) {
		ot_cli_error("daemon: signals: %s", strerror(errno));
		return -1;
	}
	ho.reauth = s->hook_reauth;
	ho.failing = s->hook_failing;
	ho.recovered = s->hook_recovered;
	d->hooks = ot_hooks_new(&ho);
	dm_entries_build(d);
	d->force_eval = true;
	dm_beat(d);
	dm_log(d, OT_LOG_INFO, NULL, "started: pid %lld, %zu accounts, store %s",
	       (long long)cli->holder.pid, d->n_ent, s->store_path);
	return 0;
}

static void dm_finish(dm *d)
{
	ot_err err = {{0}};
	size_t left = d->eng ? ot_engine_pending(d->eng) : 0;

	if (left)
		dm_log(d, OT_LOG_WARN, NULL, "abandoning %zu requests (in-flight markers kept)",
		       left);
	ot_engine_free(d->eng);
	ot_hooks_free(d->hooks);
	dm_entries_free(d->ent, d->n_ent);
	if (ot_store_keeper_remove(d->cli->store, &d->cli->holder, &err) < 0)
		dm_log(d, OT_LOG_WARN, NULL, "heartbeat: %s", err.msg);
	dm_signals_restore(d);
	dm_log(d, OT_LOG_INFO, NULL, "stopped");
}

int ot_cmd_daemon(ot_cli *cli, int argc, char **argv)
{
	const char *format = "text", *pos[1];
	bool help = false, verbose = false;
	int npos;
	ot_opt opts[] = {{"log-format", 1, NULL, &format}, {"verbose", 0, &verbose, NULL}, {0}};
	dm d;

	if (ot_cli_parse("daemon", argc, argv, opts, pos, 0, &npos, &help) < 0)
		return OT_EXIT_USAGE;
	if (help) {
		fputs(daemon_help, stdout);
		return OT_EXIT_OK;
	}
	if (strcmp(format, "text") != 0 && strcmp(format, "json") != 0) {
		ot_cli_error("daemon: --log-format must be text or json, not \"%s\"", format);
		return OT_EXIT_USAGE;
	}
	memset(&d, 0, sizeof(d));
	d.json = strcmp(format, "json") == 0;
	ot_log_setup(d.json ? OT_LOG_JSON : OT_LOG_TEXT, verbose ? OT_LOG_DEBUG : OT_LOG_INFO);
	if (dm_start(&d, cli) < 0) {
		if (d.eng)
			ot_engine_free(d.eng);
		return OT_EXIT_USAGE;
	}
	dm_run(&d);
	dm_finish(&d);
	return OT_EXIT_OK;
}
