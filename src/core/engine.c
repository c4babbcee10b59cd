/* engine.c - the refresh engine (DESIGN §3): jobs, per-provider queues, submission, and the
 * non-blocking loop. Leases, requests and commits are in engine_step.c. */
#include "oauthtop/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/engine_int.h"
#include "oauthtop/health.h"

int64_t eng_now(void)
{
	return (int64_t)time(NULL);
}

static void *eng_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	return p;
}

/* --- lists of job indices (intrusive, FIFO) --- */

void eng_list_push(ot_engine *e, eng_list *l, uint32_t j)
{
	e->jobs[j].next = ENG_NONE;
	if (l->n == 0)
		l->head = j;
	else
		e->jobs[l->tail].next = j;
	l->tail = j;
	l->n++;
}

uint32_t eng_list_pop(ot_engine *e, eng_list *l)
{
	uint32_t j;

	if (l->n == 0)
		return ENG_NONE;
	j = l->head;
	l->head = e->jobs[j].next;
	l->n--;
	e->jobs[j].next = ENG_NONE;
	return j;
}

/* xorshift64*: jitter only, no secrecy needed. */
double eng_random(ot_engine *e)
{
	uint64_t x = e->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return (double)((x * UINT64_C(2685821657736338717)) >> 11) / 9007199254740992.0;
}

bool eng_cred_lost_marker(const ot_credential *c)
{
	return c && c->lease_host && c->inflight_fp[0] && c->refresh_fp[0] &&
	       strcmp(c->inflight_fp, c->refresh_fp) == 0;
}

/* --- a job's credential --- */

void eng_job_cred_take(eng_job *job, ot_credential *c)
{
	eng_job_cred_drop(job);
	job->cred = malloc(sizeof(*job->cred));
	if (!job->cred) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	*job->cred = *c; /* moved */
	memset(c, 0, sizeof(*c));
}

void eng_job_cred_drop(eng_job *job)
{
	if (!job->cred)
		return;
	ot_credential_clear(job->cred);
	free(job->cred);
	job->cred = NULL;
}

void eng_job_cred_move(eng_job *job, ot_credential *dst)
{
	if (!job->cred) {
		memset(dst, 0, sizeof(*dst));
		return;
	}
	*dst = *job->cred; /* moved: the secrets now belong to dst */
	free(job->cred);
	job->cred = NULL;
}

void eng_fp_copy(char dst[OT_FP_LEN], const char *src)
{
	size_t n = strnlen(src, OT_FP_LEN - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* --- results --- */

eng_out *eng_out_new(ot_engine *e, uint32_t job, ot_result_kind kind)
{
	eng_out *o;

	if (e->n_outs == e->outs_cap) {
		size_t cap = e->outs_cap ? e->outs_cap * 2 : 64;
		eng_out *n = realloc(e->outs, cap * sizeof(*n));
		if (!n) {
			fputs("oauthtop: out of memory\n", stderr);
			abort();
		}
		e->outs = n;
		e->outs_cap = cap;
	}
	o = &e->outs[e->n_outs++];
	memset(o, 0, sizeof(*o));
	o->job = job;
	o->res.account = e->jobs[job].acct->name;
	o->res.kind = kind;
	o->res.reason = o->reason;
	return o;
}

void eng_outs_reset(ot_engine *e)
{
	for (size_t i = 0; i < e->n_outs; i++)
		ot_credential_clear(&e->outs[i].cred);
	e->n_outs = 0;
}

static bool eng_out_written(const eng_out *o)
{
	return !o->commit && !o->release && !o->event_only;
}

void eng_deliver(ot_engine *e)
{
	size_t keep = 0;

	for (size_t i = 0; i < e->n_outs; i++) {
		eng_out *o = &e->outs[i];
		if (!eng_out_written(o)) {
			if (keep != i)
				e->outs[keep] = *o; /* moved: its credential goes with it */
			e->outs[keep].res.reason = e->outs[keep].reason;
			e->outs[keep].ev.reason = e->outs[keep].reason;
			keep++;
			continue;
		}
		o->res.reason = o->reason; /* outs may have moved while growing */
		if (e->opts.on_result)
			e->opts.on_result(&o->res, e->opts.user);
		ot_credential_clear(&o->cred);
	}
	e->n_outs = keep;
}

/* Gives up on the results still unwritten (ot_engine_free): each becomes an error, loudly
 * when a new refresh token is lost with it. Our lease keeps its in-flight marker (the
 * refresh token we sent), so the next keeper resends it once (a grace period may save it). */
static void eng_abandon_outs(ot_engine *e)
{
	for (size_t i = 0; i < e->n_outs; i++) {
		eng_out *o = &e->outs[i];
		const char *why = e->store_err[0] ? e->store_err : "?";
		if (o->commit) {
			o->res.kind = OT_RESULT_ERROR;
			if (o->res.rotated)
				snprintf(
				        o->reason, sizeof(o->reason),
				        "the new refresh token was NOT stored (%.300s); the server "
				        "has rotated it: the next attempt resends the old one "
				        "once, "
				        "which works only inside the server's grace period",
				        why);
			else
				snprintf(o->reason, sizeof(o->reason), "result not stored: %.300s",
				         why);
		}
		o->commit = o->release = o->event_only = false;
	}
	eng_deliver(e);
}

void eng_reason_scrub(char *reason, size_t n, const ot_credential *c, const char *secret)
{
	ot_redact(reason, n, secret, 0);
	if (!c)
		return;
	ot_redact(reason, n, c->refresh_token, 0);
	ot_redact(reason, n, c->access_token, 0);
}

/* --- account lookup --- */

static uint64_t eng_hash_name(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
	return h;
}

static void eng_hash_build(ot_engine *e)
{
	size_t cap = 16;

	while (cap < e->n_jobs * 2)
		cap *= 2;
	e->hash_cap = cap;
	e->hash = eng_calloc(cap, sizeof(*e->hash));
	for (size_t i = 0; i < cap; i++)
		e->hash[i] = ENG_NONE;
	for (size_t j = 0; j < e->n_jobs; j++) {
		size_t k = eng_hash_name(e->jobs[j].acct->name) & (cap - 1);
		while (e->hash[k] != ENG_NONE)
			k = (k + 1) & (cap - 1);
		e->hash[k] = (uint32_t)j;
	}
}

static uint32_t eng_find(const ot_engine *e, const char *name)
{
	size_t k = eng_hash_name(name) & (e->hash_cap - 1);

	for (; e->hash[k] != ENG_NONE; k = (k + 1) & (e->hash_cap - 1))
		if (strcmp(e->jobs[e->hash[k]].acct->name, name) == 0)
			return e->hash[k];
	return ENG_NONE;
}

/* --- life cycle --- */

static void eng_setup_providers(ot_engine *e)
{
	e->n_provs = ot_config_provider_count(e->cfg);
	e->provs = eng_calloc(e->n_provs + 1, sizeof(*e->provs));
	for (size_t i = 0; i <= e->n_provs; i++) {
		const ot_provider *p = i < e->n_provs ? ot_config_provider(e->cfg, i) : NULL;
		int cap = p && p->max_concurrency > 0 ? p->max_concurrency : 8;
		e->provs[i].cap = cap < e->conc ? cap : e->conc;
	}
}

static uint32_t eng_provider_index(const ot_engine *e, const ot_provider *p)
{
	for (size_t i = 0; i < e->n_provs; i++)
		if (ot_config_provider(e->cfg, i) == p)
			return (uint32_t)i;
	return (uint32_t)e->n_provs; /* unlisted provider: its own slot */
}

static void eng_setup_jobs(ot_engine *e)
{
	e->n_jobs = ot_config_account_count(e->cfg);
	e->jobs = eng_calloc(e->n_jobs, sizeof(*e->jobs));
	for (size_t j = 0; j < e->n_jobs; j++) {
		e->jobs[j].acct = ot_config_account(e->cfg, j);
		e->jobs[j].prov = eng_provider_index(e, e->jobs[j].acct->provider);
		e->jobs[j].next = ENG_NONE;
	}
	eng_hash_build(e);
}

static void eng_beat(ot_engine *e, int64_t now)
{
	ot_err err;

	if (ot_store_keeper_beat(e->st, &e->holder, e->opts.actor_kind, e->started, now, &err) == 0)
		e->last_beat = now;
}

ot_engine *ot_engine_new(const ot_config *cfg, ot_store *st, const ot_engine_opts *o, ot_err *err)
{
	ot_engine *e = eng_calloc(1, sizeof(*e));
	const ot_settings *set = ot_config_settings(cfg);

	e->cfg = cfg;
	e->st = st;
	e->set = set;
	if (o)
		e->opts = *o;
	if (!e->opts.actor_kind)
		e->opts.actor_kind = "refresh";
	e->conc = e->opts.concurrency > 0 ? e->opts.concurrency : set->concurrency;
	if (e->conc < 1)
		e->conc = 1;
	if (gethostname(e->host, sizeof(e->host) - 1) < 0 || !e->host[0])
		snprintf(e->host, sizeof(e->host), "localhost");
	e->holder.host = e->host;
	e->holder.pid = (int64_t)getpid();
	snprintf(e->actor, sizeof(e->actor), "%s@%s:%lld", e->opts.actor_kind, e->host,
	         (long long)e->holder.pid);
	e->http = ot_http_new(e->conc, err);
	if (!e->http) {
		free(e);
		return NULL;
	}
	eng_setup_providers(e);
	eng_setup_jobs(e);
	e->batch_cap = (size_t)e->conc * 2;
	e->leases = eng_calloc(e->batch_cap, sizeof(*e->leases));
	e->batch = eng_calloc(e->batch_cap, sizeof(*e->batch));
	e->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)e;
	if (!e->rng)
		e->rng = 88172645463325252ULL;
	e->started = eng_now();
	eng_beat(e, e->started);
	return e;
}

void ot_engine_free(ot_engine *e)
{
	ot_err err;

	if (!e)
		return;
	eng_release_ready(e);
	/* In-flight requests are abandoned: their leases keep the in-flight marker, so the next
	 * keeper knows the answer was lost (DESIGN §3 step 6). Results that could not be
	 * written are reported as errors (their leases keep the marker the same way). */
	for (size_t j = 0; j < e->n_jobs; j++)
		eng_job_cred_drop(&e->jobs[j]);
	ot_http_free(e->http);
	eng_abandon_outs(e);
	eng_outs_reset(e);
	ot_store_keeper_remove(e->st, &e->holder, &err);
	free(e->outs);
	free(e->leases);
	free(e->batch);
	free(e->hash);
	free(e->jobs);
	free(e->provs);
	free(e);
}

/* --- submission --- */

static void eng_enqueue(ot_engine *e, uint32_t j, eng_mode mode)
{
	eng_job *job = &e->jobs[j];

	if (job->state == JOB_QUEUED && mode > job->mode)
		job->mode = (uint8_t)mode;
	if (job->state != JOB_IDLE)
		return;
	job->state = JOB_QUEUED;
	job->mode = (uint8_t)mode;
	eng_list_push(e, &e->provs[job->prov].queued, j);
	e->queued++;
	e->resort = true;
}

/* Moves queued jobs whose stored credential carries a lapsed in-flight marker (a lost
 * answer) to the head of their provider's queue: a grace period is running for them. */
static void eng_queue_lost_first(ot_engine *e)
{
	ot_credential *list = NULL;
	size_t n = 0;
	ot_err err;
	bool *lost;
	bool any = false;

	e->resort = false;
	if (ot_store_list(e->st, 0, &list, &n, &err) < 0)
		return;
	lost = eng_calloc(e->n_jobs ? e->n_jobs : 1, sizeof(*lost));
	for (size_t i = 0; i < n; i++) {
		uint32_t j = list[i].account ? eng_find(e, list[i].account) : ENG_NONE;
		if (j != ENG_NONE && e->jobs[j].state == JOB_QUEUED &&
		    eng_cred_lost_marker(&list[i]))
			any = lost[j] = true;
	}
	ot_store_list_free(list, n);
	for (size_t p = 0; any && p <= e->n_provs; p++) {
		eng_list first = {ENG_NONE, ENG_NONE, 0}, rest = {ENG_NONE, ENG_NONE, 0};
		uint32_t j;
		while ((j = eng_list_pop(e, &e->provs[p].queued)) != ENG_NONE)
			eng_list_push(e, lost[j] ? &first : &rest, j);
		while ((j = eng_list_pop(e, &first)) != ENG_NONE)
			eng_list_push(e, &e->provs[p].queued, j);
		while ((j = eng_list_pop(e, &rest)) != ENG_NONE)
			eng_list_push(e, &e->provs[p].queued, j);
	}
	free(lost);
}

int ot_engine_submit(ot_engine *e, const char *account, bool force, ot_err *err)
{
	uint32_t j = eng_find(e, account);

	if (j == ENG_NONE)
		return ot_err_set(err, "unknown account \"%s\"", account);
	if (!e->jobs[j].acct->enabled)
		return ot_err_set(err, "account \"%s\" is disabled", account);
	if (!e->stopped)
		eng_enqueue(e, j, force ? MODE_FORCED : MODE_NAMED);
	return 0;
}

/* DESIGN §3.7 and §2: due, expired, or failing with its retry time reached; never within
 * min_interval of the last attempt (a lost answer excepted: grace periods are short). */
static bool eng_is_due(const ot_engine *e, const ot_account *a, const ot_credential *c, int64_t now)
{
	ot_health h = ot_health_eval(a, c, now, e->set->reauth_warning);
	bool lost = eng_cred_lost_marker(c);

	if (h.state != OT_STATE_DUE && h.state != OT_STATE_EXPIRED && h.state != OT_STATE_FAILING)
		return false;
	if (c && c->next_attempt_at > now)
		return false;
	if (!lost && c && c->last_attempt_at && now - c->last_attempt_at < e->set->min_interval)
		return false;
	return true;
}

/* Queues the due jobs: lost only (1), the others only (0) or all (-1). */
static int eng_submit_due_pass(ot_engine *e, const ot_credential **by_job, int64_t now, int lost)
{
	int count = 0;

	for (size_t j = 0; j < e->n_jobs; j++) {
		const eng_job *job = &e->jobs[j];
		if (job->state != JOB_IDLE || !job->acct->enabled)
			continue;
		if (lost >= 0 && eng_cred_lost_marker(by_job[j]) != (lost == 1))
			continue;
		if (!eng_is_due(e, job->acct, by_job[j], now))
			continue;
		eng_enqueue(e, (uint32_t)j, MODE_DUE);
		count++;
	}
	return count;
}

int ot_engine_submit_due(ot_engine *e, int64_t now, ot_err *err)
{
	ot_credential *list = NULL;
	const ot_credential **by_job;
	size_t n = 0;
	int count = 0;

	if (e->stopped)
		return 0;
	if (ot_store_list(e->st, 0, &list, &n, err) < 0)
		return -1;
	by_job = eng_calloc(e->n_jobs, sizeof(*by_job));
	for (size_t i = 0; i < n; i++) {
		uint32_t j = list[i].account ? eng_find(e, list[i].account) : ENG_NONE;
		if (j != ENG_NONE)
			by_job[j] = &list[i];
	}
	if (e->queued == 0) {
		/* Lost answers first, then the others, both in job order: what
		 * eng_queue_lost_first() would make of this queue, from the list just read, so
		 * it need not read the store again. */
		count = eng_submit_due_pass(e, by_job, now, 1);
		count += eng_submit_due_pass(e, by_job, now, 0);
		if (count)
			e->resort = false;
	} else {
		count = eng_submit_due_pass(e, by_job, now, -1);
	}
	free(by_job);
	ot_store_list_free(list, n);
	return count;
}

size_t ot_engine_pending(const ot_engine *e)
{
	return e->queued + e->ready + e->inflight + e->n_outs;
}

bool ot_engine_busy(const ot_engine *e, const char *account)
{
	uint32_t j = eng_find(e, account);

	return j != ENG_NONE && e->jobs[j].state != JOB_IDLE;
}

void ot_engine_stop_queue(ot_engine *e)
{
	e->stopped = true;
	for (size_t p = 0; p <= e->n_provs; p++) {
		uint32_t j;
		while ((j = eng_list_pop(e, &e->provs[p].queued)) != ENG_NONE) {
			e->jobs[j].state = JOB_IDLE;
			e->queued--;
		}
	}
	eng_release_ready(e);
}

/* --- the loop --- */

/* Writes what is unwritten (this step's results and any whose commit failed before) and
 * delivers what got written. -1 when a write failed (err). */
static int eng_write(ot_engine *e, int64_t now, ot_err *err)
{
	int rc = 0;

	if (e->n_outs && eng_flush(e, now, err) < 0)
		rc = -1;
	eng_deliver(e);
	return rc;
}

/* Refills the slots of the transfers that just finished, before their answers are parsed
 * and committed, so the next wave is on the wire while this one is stored. Only while the
 * last commit succeeded (nothing new starts while one is failing); only jobs already leased
 * (READY), which are other accounts than the finished ones: an account's new refresh token
 * is still committed before its callback, its output and any further lease of it. */
static void eng_start_early(ot_engine *e, int64_t now)
{
	const ot_http_req *r;
	size_t before = e->inflight;

	if (e->commit_failing || !e->ready || !ot_http_collect(e->http))
		return;
	/* the finished transfers free their slots (the counts come back before they are
	 * finished, where eng_finish_done() takes them off for good) */
	for (r = ot_http_collected(e->http, NULL); r; r = ot_http_collected(e->http, r)) {
		const eng_job *job = ot_http_req_user(r);
		e->provs[job->prov].inflight--;
		e->inflight--;
	}
	eng_start_ready(e, now);
	for (r = ot_http_collected(e->http, NULL); r; r = ot_http_collected(e->http, r)) {
		const eng_job *job = ot_http_req_user(r);
		e->provs[job->prov].inflight++;
		e->inflight++;
	}
	if (e->inflight > before) /* put the new requests on the wire */
		ot_http_perform(e->http);
}

/* Collects what finished and stores it (before any callback: a rotated refresh token first
 * of all), the freed slots refilled from the leased-ahead pool first (eng_start_early);
 * again while the performs themselves finished more transfers. Nothing new starts while a
 * commit is failing. */
static int eng_harvest(ot_engine *e, int64_t now, ot_err *err)
{
	int rc = 0;

	for (int pass = 0; pass < 16; pass++) {
		eng_start_early(e, now);
		if (ot_http_finished_waiting(e->http))
			eng_finish_done(e, now);
		if (e->n_outs && eng_write(e, now, rc < 0 ? &(ot_err){{0}} : err) < 0)
			rc = -1;
		if (e->commit_failing)
			break;
		eng_start_ready(e, now);
		ot_http_perform(e->http);
		if (!ot_http_finished_waiting(e->http))
			break;
	}
	return rc;
}

int ot_engine_step(ot_engine *e, ot_err *err)
{
	int64_t now = eng_now();
	int rc = 0;

	ot_http_perform(e->http);
	/* Results kept from an earlier step (a failed commit) are retried first. */
	if (eng_harvest(e, now, err) < 0)
		rc = -1;
	if (rc == 0 && !e->commit_failing && e->queued && e->resort)
		eng_queue_lost_first(e);
	if (rc == 0 && !e->commit_failing && e->queued && eng_lease_batch(e, now, err) < 0)
		rc = -1;
	if (!e->commit_failing)
		eng_start_ready(e, now);
	if (rc == 0 && e->n_outs && eng_write(e, now, err) < 0) /* the lease batch's releases */
		rc = -1;
	else if (rc < 0)
		eng_deliver(e); /* the errors of a failed lease batch; nothing written again */
	/* Transfers finishing in this perform make ot_engine_timeout_ms() 0: the next step
	 * comes at once. */
	ot_http_perform(e->http);
	if (now - e->last_beat >= ENG_BEAT_EVERY)
		eng_beat(e, now);
	return rc;
}

/* true when a step would make progress without waiting for the network. */
static bool eng_can_progress(const ot_engine *e)
{
	if (ot_http_finished_waiting(e->http))
		return true;
	if (e->inflight >= (size_t)e->conc)
		return false;
	for (size_t p = 0; p <= e->n_provs; p++) {
		const eng_prov *pv = &e->provs[p];
		if (pv->ready.n && pv->inflight < pv->cap)
			return true;
	}
	return e->queued > 0 && e->ready == 0;
}

long ot_engine_timeout_ms(ot_engine *e)
{
	long t;

	if (e->commit_failing) { /* retry the commit every second; start nothing */
		if (ot_http_finished_waiting(e->http))
			return 0;
		t = ot_http_timeout_ms(e->http);
		return t >= 0 && t < 1000 ? t : 1000;
	}
	if (eng_can_progress(e))
		return 0;
	return ot_http_timeout_ms(e->http);
}

int ot_engine_wait(ot_engine *e, struct pollfd *extra, unsigned n_extra, int timeout_ms)
{
	long t = ot_engine_timeout_ms(e);

	if (t >= 0 && (timeout_ms < 0 || t < timeout_ms))
		timeout_ms = (int)t;
	if (timeout_ms == 0 && n_extra == 0)
		return 0;
	return ot_http_wait(e->http, extra, n_extra, timeout_ms < 0 ? 1000 : timeout_ms);
}

void ot_engine_wakeup(ot_engine *e)
{
	ot_http_wakeup(e->http);
}

int ot_engine_run(ot_engine *e, ot_err *err)
{
	for (;;) {
		if (ot_engine_step(e, err) < 0)
			return -1;
		if (ot_engine_pending(e) == 0)
			return 0;
		ot_engine_wait(e, NULL, 0, 1000);
	}
}
