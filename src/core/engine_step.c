/* engine_step.c - one refresh transaction per account (DESIGN §3): leases in batches, the
 * request, the verdict, the durable commit, races and lost answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_int.h"
#include "oauthtop/health.h"
#include "oauthtop/remedy.h"
#include "oauthtop/token.h"

/* --- leases --- */

/* How many more accounts the engine may hold leases on: the in-flight slots plus one batch
 * ahead, so the next requests start as soon as slots free up while their lease transaction
 * is already behind us. */
static size_t lease_room(const ot_engine *e)
{
	size_t held = e->inflight + e->ready;
	size_t max = e->batch_cap;

	return held >= max ? 0 : max - held;
}

static size_t prov_room(const eng_prov *p)
{
	size_t held = (size_t)p->inflight + p->ready.n + (size_t)p->picked;
	size_t max = (size_t)p->cap * 2;

	return held >= max ? 0 : max - held;
}

/* Picks the batch round-robin over providers with queued work and room. */
static size_t lease_pick(ot_engine *e, size_t want)
{
	size_t n = 0, np = e->n_provs + 1;
	bool progress = true;

	while (n < want && progress) {
		progress = false;
		for (size_t k = 0; k < np && n < want; k++) {
			eng_prov *p = &e->provs[(e->rr + k) % np];
			uint32_t j;
			if (!p->queued.n || !prov_room(p))
				continue;
			j = eng_list_pop(e, &p->queued);
			e->queued--;
			e->jobs[j].state = JOB_READY; /* counted in ready once granted */
			p->picked++;
			e->batch[n++] = j;
			progress = true;
		}
	}
	e->rr = (e->rr + 1) % np;
	for (size_t k = 0; k < np; k++)
		e->provs[k].picked = 0;
	return n;
}

static void reason_countdown(char *out, size_t n, const char *what, int64_t secs)
{
	char cd[64];

	ot_countdown(secs, true, true, cd, sizeof(cd));
	snprintf(out, n, "%s %s", what, cd);
}

/* Why a granted lease should not be used now, or NULL (DESIGN §3.7, §6 refresh --force). */
static const char *lease_skip_reason(ot_engine *e, eng_job *j, const ot_lease *l, int64_t now,
                                     char *buf, size_t n)
{
	const ot_credential *c = &l->cred;
	ot_health h = ot_health_eval(j->acct, c, now, e->set->reauth_warning);
	bool lost = l->lost_answer || j->lost_pending;

	if (h.state == OT_STATE_REAUTH) {
		char hint[400];
		ot_remedy_hint(j->acct->name, c->last_outcome, h.reason, hint, sizeof(hint));
		snprintf(buf, n, "needs reauthorization: %s%s%s", h.reason ? h.reason : "",
		         hint[0] ? " \u2014 " : "", hint);
		return buf;
	}
	if (h.state == OT_STATE_DISABLED)
		return "disabled";
	if (j->acct->grant == OT_GRANT_REFRESH_TOKEN && !c->refresh_token)
		return "no refresh token stored (the access token cannot be renewed)";
	if (j->mode == MODE_FORCED || lost)
		return NULL;
	if (c->next_attempt_at > now) {
		reason_countdown(buf, n, "backing off after a failure: retry in",
		                 c->next_attempt_at - now);
		return buf;
	}
	if (c->last_attempt_at && now - c->last_attempt_at < e->set->min_interval) {
		snprintf(buf, n, "attempted %llds ago (min_interval %llds; --force overrides)",
		         (long long)(now - c->last_attempt_at), (long long)e->set->min_interval);
		return buf;
	}
	if (j->mode == MODE_DUE && h.state == OT_STATE_OK)
		return "no longer due (refreshed meanwhile)";
	return NULL;
}

/* "refresh@host:1234" from the keepers table, else "host:1234". */
static void lease_holder_name(ot_engine *e, const ot_credential *c, char *out, size_t n)
{
	ot_err err;
	const char *kind = NULL;

	if (!e->keepers_loaded && ot_store_keepers(e->st, &e->keepers, &e->n_keepers, &err) == 0)
		e->keepers_loaded = true;
	for (size_t i = 0; i < e->n_keepers; i++)
		if (e->keepers[i].pid == c->lease_pid && c->lease_host &&
		    strcmp(e->keepers[i].host, c->lease_host) == 0)
			kind = e->keepers[i].kind;
	if (kind)
		snprintf(out, n, "held by %s@%s:%lld", kind, c->lease_host,
		         (long long)c->lease_pid);
	else
		snprintf(out, n, "held by %s:%lld", c->lease_host ? c->lease_host : "?",
		         (long long)c->lease_pid);
}

static void lease_forget_keepers(ot_engine *e)
{
	ot_store_keepers_free(e->keepers, e->n_keepers);
	e->keepers = NULL;
	e->n_keepers = 0;
	e->keepers_loaded = false;
}

static void lease_sort_one(ot_engine *e, ot_lease *l, uint32_t j, int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o;
	const char *why;
	char buf[600];

	if (!l->granted) {
		o = eng_out_new(e, j, OT_RESULT_LEASED);
		lease_holder_name(e, &l->cred, o->reason, sizeof(o->reason));
		job->state = JOB_IDLE;
		return;
	}
	why = lease_skip_reason(e, job, l, now, buf, sizeof(buf));
	if (why) {
		o = eng_out_new(e, j, OT_RESULT_SKIPPED);
		snprintf(o->reason, sizeof(o->reason), "%s", why);
		o->res.access_expires_at = l->cred.access_expires_at;
		o->res.next_attempt_at = l->cred.next_attempt_at;
		eng_fp_copy(o->res.old_fp, l->cred.refresh_fp);
		job->state = JOB_IDLE;
		/* A lost answer's marker stays ours: skipping must not erase it. */
		o->release = !job->lost_pending;
		return;
	}
	job->lost_retry = l->lost_answer || job->lost_pending;
	eng_job_cred_take(job, &l->cred);
	eng_list_push(e, &e->provs[job->prov].ready, j);
	e->ready++;
}

/* How many accounts to lease now, 0 for none yet. Small batches cost one transaction each:
 * wait for a bigger one while work is ready. */
static size_t lease_want(const ot_engine *e)
{
	size_t room = lease_room(e), want;

	want = e->queued < room ? e->queued : room;
	if (!want || (e->ready > 0 && want < (size_t)(e->conc + 1) / 2 && want < e->queued))
		return 0;
	return want;
}

/* Picks up to want queued jobs into e->batch, their leases ready to ask for. */
static size_t lease_prepare(ot_engine *e, size_t want)
{
	size_t n = lease_pick(e, want);

	for (size_t i = 0; i < n; i++) {
		memset(&e->leases[i], 0, sizeof(e->leases[i]));
		e->leases[i].account = e->jobs[e->batch[i]].acct->name;
	}
	return n;
}

/* Sorts the answered leases of the batch into ready jobs and results. */
static void lease_sort_batch(ot_engine *e, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		lease_sort_one(e, &e->leases[i], e->batch[i], now);
		ot_credential_clear(&e->leases[i].cred);
	}
	lease_forget_keepers(e);
}

int eng_lease_batch(ot_engine *e, int64_t now, ot_err *err)
{
	size_t want = lease_want(e), n;

	if (!want)
		return 0;
	n = lease_prepare(e, want);
	if (!n)
		return 0;
	if (ot_store_lease_take(e->st, &e->holder, e->leases, n, now, e->set->lease_seconds, err) <
	    0) {
		for (size_t i = 0; i < n; i++) {
			eng_out *o = eng_out_new(e, e->batch[i], OT_RESULT_ERROR);
			snprintf(o->reason, sizeof(o->reason), "%s", err->msg);
			e->jobs[e->batch[i]].state = JOB_IDLE;
		}
		return -1;
	}
	lease_sort_batch(e, n, now);
	return 0;
}

size_t eng_lease_pick_with_commit(ot_engine *e)
{
	size_t want;

	if (e->commit_failing || e->resort || !e->queued)
		return 0;
	want = lease_want(e);
	return want ? lease_prepare(e, want) : 0;
}

void eng_lease_granted(ot_engine *e, size_t n, int64_t now)
{
	lease_sort_batch(e, n, now);
}

/* The picked jobs go back to the head of their queues in their order, as if never picked. */
void eng_lease_unpick(ot_engine *e, size_t n)
{
	size_t np = e->n_provs + 1;

	for (size_t i = n; i-- > 0;) {
		uint32_t j = e->batch[i];
		eng_list *l = &e->provs[e->jobs[j].prov].queued;
		e->jobs[j].next = l->n ? l->head : ENG_NONE;
		l->head = j;
		if (!l->n)
			l->tail = j;
		l->n++;
		e->jobs[j].state = JOB_QUEUED;
		e->queued++;
	}
	if (n)
		e->rr = (e->rr + np - 1) % np; /* lease_pick moved it on */
}

void eng_release_ready(ot_engine *e)
{
	const char **names;
	size_t n = 0;
	ot_err err;

	if (!e->ready)
		return;
	names = calloc(e->ready, sizeof(*names));
	if (!names) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	for (size_t p = 0; p <= e->n_provs; p++) {
		uint32_t j;
		while ((j = eng_list_pop(e, &e->provs[p].ready)) != ENG_NONE) {
			eng_job *job = &e->jobs[j];
			if (!job->lost_pending)
				names[n++] = job->acct->name;
			eng_job_cred_drop(job);
			job->state = JOB_IDLE;
			e->ready--;
		}
	}
	if (n)
		ot_store_lease_release(e->st, &e->holder, names, n, &err);
	free(names);
}

/* --- requests --- */

static void start_fail(ot_engine *e, uint32_t j, const char *why)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = eng_out_new(e, j, OT_RESULT_ERROR);

	snprintf(o->reason, sizeof(o->reason), "%s", why);
	o->release = !job->lost_pending;
	eng_job_cred_drop(job);
	job->state = JOB_IDLE;
}

static void start_one(ot_engine *e, uint32_t j, int64_t now)
{
	eng_job *job = &e->jobs[j];
	ot_http_spec spec;
	ot_err err = {{0}};

	memset(&spec, 0, sizeof(spec));
	if (ot_http_token_spec(job->acct, job->cred->refresh_token, e->set->connect_timeout,
	                       e->set->total_timeout, &spec, &err) < 0) {
		ot_http_spec_clear(&spec);
		start_fail(e, j, err.msg);
		return;
	}
	job->req = ot_http_start(e->http, &spec, job, &err);
	ot_http_spec_clear(&spec);
	if (!job->req) {
		start_fail(e, j, err.msg);
		return;
	}
	job->sent_at = now;
	job->state = JOB_FLIGHT;
	e->provs[job->prov].inflight++;
	e->inflight++;
}

/* A lease taken one batch ahead may have waited for a slot (or behind a failing commit):
 * a request starts only while its lease outlives it (total timeout + margin), else the
 * lease is renewed first - the store grants our own lease again to us - and the job is
 * sorted again like a new lease (skipped, held by another keeper meanwhile, or back in the
 * ready list). Returns true when the job can start now. */
static bool start_lease_fresh(ot_engine *e, uint32_t j, int64_t now)
{
	eng_job *job = &e->jobs[j];
	ot_lease l;
	ot_err err = {{0}};
	char fp[OT_FP_LEN];
	bool lost = job->lost_retry;
	int64_t need = e->set->total_timeout + ENG_LEASE_MARGIN;

	if (need > e->set->lease_seconds) /* a configuration that skipped the check */
		need = e->set->lease_seconds;
	if (job->cred->lease_expires_at - now >= need)
		return true;
	memset(&l, 0, sizeof(l));
	l.account = job->acct->name;
	if (ot_store_lease_take(e->st, &e->holder, &l, 1, now, e->set->lease_seconds, &err) < 0) {
		char why[600];
		snprintf(why, sizeof(why), "could not renew the lease before sending: %.500s",
		         err.msg);
		start_fail(e, j, why);
		return false;
	}
	eng_fp_copy(fp, job->cred->refresh_fp);
	eng_job_cred_drop(job);
	lease_sort_one(e, &l, j, now);
	ot_credential_clear(&l.cred);
	lease_forget_keepers(e);
	/* Our own lease, lapsed while we waited, looks like a lost answer to the store: it
	 * is not one unless it was before. */
	if (job->state == JOB_READY && strcmp(job->cred->refresh_fp, fp) == 0)
		job->lost_retry = lost || job->lost_pending;
	return false;
}

void eng_start_ready(ot_engine *e, int64_t now)
{
	size_t np = e->n_provs + 1;
	bool progress = true;

	while (progress && e->inflight < (size_t)e->conc && e->ready) {
		progress = false;
		for (size_t k = 0; k < np && e->inflight < (size_t)e->conc; k++) {
			eng_prov *p = &e->provs[k];
			uint32_t j;
			if (!p->ready.n || p->inflight >= p->cap)
				continue;
			j = eng_list_pop(e, &p->ready);
			e->ready--;
			if (start_lease_fresh(e, j, now))
				start_one(e, j, now);
			progress = true;
		}
	}
}
