/* engine_finish.c - from a finished request to a durable result (DESIGN §3 steps 4-6):
 * success, transient failure with backoff, reauth, client rejection, races and lost
 * answers; then one commit transaction for everything finished in a step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/engine_int.h"
#include "oauthtop/health.h"
#include "oauthtop/token.h"

/* The answer may carry a rotation the client never saw: the whole request went out and no
 * complete answer came back, or a 2xx JSON body was cut short (scenario 14). An HTML page
 * or an error answer is complete: it is not a lost answer. */
static bool answer_lost(const ot_http_req *r, const ot_http_result *hr, const ot_verdict *v)
{
	const char *b = hr->body;
	size_t i = 0;

	if (hr->transport_error || hr->body_truncated)
		return ot_http_req_answer_lost(r);
	if (hr->status < 200 || hr->status > 299 || v->answer.kind != OT_ANSWER_MALFORMED)
		return false;
	while (i < hr->body_len && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
		i++;
	return i < hr->body_len && b[i] == '{';
}

/* Fills what every result shares: the credential to commit (the leased one, moved out of
 * the job: the job is done with it), the event, the fingerprints. */
static eng_out *out_begin(ot_engine *e, uint32_t j, ot_result_kind kind, const char *ev_kind,
                          double secs)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = eng_out_new(e, j, kind);

	o->res.seconds = secs;
	eng_fp_copy(o->res.old_fp, job->cred->refresh_fp);
	eng_fp_copy(o->ev.old_fp, job->cred->refresh_fp);
	eng_job_cred_move(job, &o->cred);
	o->commit = true;
	o->ev.account = (char *)job->acct->name;
	o->ev.kind = (char *)ev_kind;
	o->ev.actor = e->actor;
	return o;
}

/* A fixed reason (no printf). */
static void out_reason(eng_out *o, const char *text)
{
	size_t n = strnlen(text, sizeof(o->reason) - 1);

	memcpy(o->reason, text, n);
	o->reason[n] = '\0';
}

static void out_end(eng_out *o, int64_t now)
{
	o->ev.at = now;
	o->ev.reason = o->reason;
	eng_fp_copy(o->ev.new_fp, o->cred.refresh_fp);
	eng_fp_copy(o->res.new_fp, o->cred.refresh_fp);
	o->res.access_expires_at = o->cred.access_expires_at;
	o->res.next_attempt_at = o->cred.next_attempt_at;
	o->cred.updated_at = now;
}

static void finish_ok(ot_engine *e, uint32_t j, ot_verdict *v, double secs, int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = out_begin(e, j, OT_RESULT_REFRESHED, "refreshed", secs);

	o->res.rotated = ot_token_apply(&o->cred, &v->answer, job->sent_at, job->acct->provider);
	if (job->lost_retry)
		out_reason(o, "recovered a lost answer by resending the same refresh token");
	else
		out_reason(o, o->res.rotated ? "rotated refresh token" : "");
	out_end(o, now);
}

/* Transient: keep every token; back off (honouring Retry-After); a lost answer keeps our
 * lease and its in-flight marker so the next attempt, by us or by any keeper once we are
 * gone, resends that same refresh token once (grace periods), soon. */
static void finish_transient(ot_engine *e, uint32_t j, ot_verdict *v, bool lost, double secs,
                             int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = out_begin(e, j, OT_RESULT_FAILED, "failed", secs);
	int64_t delay, next;

	lost = lost && job->acct->grant == OT_GRANT_REFRESH_TOKEN;
	o->cred.failures++;
	o->cred.last_attempt_at = job->sent_at;
	o->cred.last_outcome = OT_OUTCOME_TRANSIENT;
	delay = ot_backoff_delay(o->cred.failures, e->set->backoff_base, e->set->backoff_max,
	                         eng_random(e));
	if (lost && !job->lost_retry && delay > ENG_LOST_RETRY_DELAY)
		delay = ENG_LOST_RETRY_DELAY;
	next = now + delay;
	o->cred.next_attempt_at = v->retry_at > next ? v->retry_at : next;
	snprintf(o->reason, sizeof(o->reason), "%s%s", v->reason,
	         lost ? " (answer lost: the same refresh token will be sent again)" : "");
	ot_credential_set_str(&o->cred.last_error, o->reason);
	o->keep_lease = lost;
	out_end(o, now);
}

/* 1 if the stored refresh token is no longer the one we sent (another keeper rotated it),
 * 0 if unchanged, -1 on a store error (then the rejection stands). */
static int refresh_token_changed(ot_engine *e, const eng_job *job)
{
	ot_credential cur;
	ot_err err;
	int found, changed;

	memset(&cur, 0, sizeof(cur));
	found = ot_store_get(e->st, job->acct->name, 1, &cur, &err);
	if (found < 0)
		return -1;
	changed = found && cur.refresh_token && job->cred->refresh_token &&
	          strcmp(cur.refresh_token, job->cred->refresh_token) != 0;
	ot_credential_clear(&cur);
	return changed;
}

static void finish_race(ot_engine *e, uint32_t j, const ot_verdict *v, double secs, int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = eng_out_new(e, j, OT_RESULT_RACE);

	snprintf(o->reason, sizeof(o->reason),
	         "another keeper rotated the refresh token meanwhile (%s); its newer token is kept",
	         v->reason);
	o->res.seconds = secs;
	eng_fp_copy(o->res.old_fp, job->cred->refresh_fp);
	o->release = true;
	o->event_only = true;
	o->ev.at = now;
	o->ev.account = (char *)job->acct->name;
	o->ev.kind = (char *)"race";
	o->ev.reason = o->reason;
	o->ev.actor = e->actor;
	eng_fp_copy(o->ev.old_fp, job->cred->refresh_fp);
}

/* The grant was rejected: reauth, never retried automatically. A client_credentials grant
 * needs no user, so there it is a failure retried with backoff (health calls it failing). */
static void finish_permanent(ot_engine *e, uint32_t j, ot_verdict *v, double secs, int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o;

	if (job->acct->grant == OT_GRANT_CLIENT_CREDENTIALS) {
		finish_transient(e, j, v, false, secs, now);
		return;
	}
	if (refresh_token_changed(e, job) == 1) {
		finish_race(e, j, v, secs, now);
		return;
	}
	o = out_begin(e, j, OT_RESULT_REAUTH, job->lost_retry ? "lost" : "reauth", secs);
	if (job->lost_retry)
		snprintf(o->reason, sizeof(o->reason), "answer lost during rotation: %s",
		         v->reason);
	else
		snprintf(o->reason, sizeof(o->reason), "%s", v->reason);
	o->cred.failures++;
	o->cred.last_attempt_at = job->sent_at;
	o->cred.last_outcome = OT_OUTCOME_PERMANENT;
	o->cred.next_attempt_at = 0;
	ot_credential_set_str(&o->cred.last_error, o->reason);
	out_end(o, now);
}

/* The client was rejected: the operator fixes the configuration; re-armed when the
 * provider's fingerprint changes. */
static void finish_client(ot_engine *e, uint32_t j, ot_verdict *v, double secs, int64_t now)
{
	eng_job *job = &e->jobs[j];
	eng_out *o = out_begin(e, j, OT_RESULT_REAUTH, "reauth", secs);

	snprintf(o->reason, sizeof(o->reason), "%s", v->reason);
	o->cred.failures++;
	o->cred.last_attempt_at = job->sent_at;
	o->cred.last_outcome = OT_OUTCOME_CLIENT;
	o->cred.next_attempt_at = 0;
	ot_credential_set_str(&o->cred.last_error, o->reason);
	ot_credential_set_str(&o->cred.client_fp, job->acct->provider->fingerprint);
	out_end(o, now);
}

static void finish_one(ot_engine *e, ot_http_req *r, int64_t now)
{
	eng_job *job = ot_http_req_user(r);
	uint32_t j = (uint32_t)(job - e->jobs);
	ot_http_result hr;
	ot_verdict v;
	double secs = ot_http_req_seconds(r);

	ot_http_req_result(r, &hr);
	ot_token_classify(&hr, now, &v);
	/* A server may echo the token we sent in its error text: never let it reach any output,
	 * the store or a hook. */
	eng_reason_scrub(v.reason, sizeof(v.reason), job->cred,
	                 job->acct->provider->client_secret);
	switch (v.outcome) {
	case OT_OUTCOME_OK:
		finish_ok(e, j, &v, secs, now);
		break;
	case OT_OUTCOME_PERMANENT:
		finish_permanent(e, j, &v, secs, now);
		break;
	case OT_OUTCOME_CLIENT:
		finish_client(e, j, &v, secs, now);
		break;
	case OT_OUTCOME_TRANSIENT:
	default:
		finish_transient(e, j, &v, answer_lost(r, &hr, &v), secs, now);
		break;
	}
	ot_token_answer_free(&v.answer);
	job->lost_pending = e->outs[e->n_outs - 1].keep_lease;
	ot_http_req_free(r);
	job->req = NULL;
	eng_job_cred_drop(job); /* none left unless the result did not take it (a race) */
	job->state = JOB_IDLE;
	job->lost_retry = false;
	e->provs[job->prov].inflight--;
	e->inflight--;
}

void eng_finish_done(ot_engine *e, int64_t now)
{
	ot_http_req *r;

	while ((r = ot_http_next_done(e->http)))
		finish_one(e, r, now);
}

/* --- writing results --- */

/* After a commit that skipped some results (our lease had lapsed and another keeper took
 * it), finds which ones did not land and reports them as errors. */
static void flush_check_skipped(ot_engine *e)
{
	for (size_t i = 0; i < e->n_outs; i++) {
		eng_out *o = &e->outs[i];
		ot_credential cur;
		ot_err err;
		memset(&cur, 0, sizeof(cur));
		if (!o->commit || ot_store_get(e->st, o->res.account, 0, &cur, &err) != 1)
			continue;
		if (cur.updated_at != o->cred.updated_at ||
		    cur.last_outcome != o->cred.last_outcome ||
		    strcmp(cur.refresh_fp, o->cred.refresh_fp) != 0 ||
		    strcmp(cur.access_fp, o->cred.access_fp) != 0) {
			o->res.kind = OT_RESULT_ERROR;
			snprintf(o->reason, sizeof(o->reason),
			         "result not stored: our lease lapsed and another keeper took it");
		}
		ot_credential_clear(&cur);
	}
}

/* The commits and the lease batch picked to go with them, in one transaction (one sync
 * instead of two): 0 when both are written, -1 with err when nothing is. */
static int flush_commit_lease(ot_engine *e, const ot_commit *c, size_t n, size_t nl, int64_t now,
                              size_t *skipped, ot_err *err)
{
	ot_store_batch b;

	memset(&b, 0, sizeof(b));
	b.commits = c;
	b.n_commits = n;
	b.flags = OT_COMMIT_FPS_GIVEN;
	b.leases = e->leases;
	b.n_leases = nl;
	b.now = now;
	b.seconds = e->set->lease_seconds;
	if (ot_store_commit_lease(e->st, &e->holder, &b, err) < 0)
		return -1;
	*skipped = b.skipped;
	return 0;
}

/* Every record's fingerprints are those of its token values: the leased credential comes from
 * the store's read with its stored fingerprints, and the only change to a token value,
 * ot_token_apply(), sets the fingerprint with it (access_fp always, refresh_fp with each new
 * refresh token). So the store need not hash them again (OT_COMMIT_FPS_GIVEN).
 *
 * The step's next lease batch, when one is due now (eng_lease_pick_with_commit: nothing
 * failing, no resort pending), goes in the same transaction as the commits. The jobs it picks
 * are queued ones, never one of these results (those finished in this very pass; a result
 * kept from a failed commit is retried alone). If the transaction fails, nothing of it was
 * written: the jobs go back to their queues, and it is a failed commit like any other (kept,
 * retried alone on the next step, no lease meanwhile) - not tried again alone at once, which
 * would double the wait on a locked store. */
static int flush_commits(ot_engine *e, int64_t now, ot_err *err)
{
	ot_commit *c;
	size_t n = 0, skipped = 0, nl;
	int rc;

	for (size_t i = 0; i < e->n_outs; i++)
		n += e->outs[i].commit;
	if (!n)
		return 0;
	c = calloc(n, sizeof(*c));
	if (!c) {
		fputs("oauthtop: out of memory\n", stderr);
		abort();
	}
	n = 0;
	for (size_t i = 0; i < e->n_outs; i++) {
		eng_out *o = &e->outs[i];
		if (!o->commit)
			continue;
		o->ev.reason = o->reason;
		c[n].cred = &o->cred;
		c[n].event = &o->ev;
		c[n].keep_lease = o->keep_lease;
		/* the refresh token this request sent: a new one is stored even if our lease
		 * lapsed, as long as nobody rotated it meanwhile */
		if (o->res.kind == OT_RESULT_REFRESHED && o->ev.old_fp[0])
			c[n].sent_fp = o->ev.old_fp;
		n++;
	}
	nl = eng_lease_pick_with_commit(e);
	if (nl)
		rc = flush_commit_lease(e, c, n, nl, now, &skipped, err);
	else
		rc = ot_store_commit_flags(e->st, &e->holder, c, n, OT_COMMIT_FPS_GIVEN, &skipped,
		                           err);
	if (rc < 0) {
		/* Every result stays, new refresh tokens first of all: retried on every step
		 * before any callback, nothing new starts meanwhile. */
		e->commit_failing = true;
		snprintf(e->store_err, sizeof(e->store_err), "%s", err->msg);
		eng_lease_unpick(e, nl);
		nl = 0;
	} else {
		e->commit_failing = false;
		e->store_err[0] = '\0';
		if (skipped)
			flush_check_skipped(e);
		for (size_t i = 0; i < e->n_outs; i++)
			e->outs[i].commit = false;
	}
	free(c);
	if (nl) /* after the commits: sorting the leases adds results (e->outs may move) */
		eng_lease_granted(e, nl, now);
	return rc < 0 ? -1 : 0;
}

static int flush_releases(ot_engine *e, ot_err *err)
{
	const char **names;
	size_t n = 0;
	int rc = 0;

	for (size_t i = 0; i < e->n_outs; i++)
		n += e->outs[i].release;
	if (n) {
		names = calloc(n, sizeof(*names));
		if (!names) {
			fputs("oauthtop: out of memory\n", stderr);
			abort();
		}
		n = 0;
		for (size_t i = 0; i < e->n_outs; i++)
			if (e->outs[i].release)
				names[n++] = e->outs[i].res.account;
		rc = ot_store_lease_release(e->st, &e->holder, names, n, err);
		free(names);
		for (size_t i = 0; rc == 0 && i < e->n_outs; i++)
			e->outs[i].release = false;
	}
	for (size_t i = 0; rc == 0 && i < e->n_outs; i++) {
		if (!e->outs[i].event_only || e->outs[i].release)
			continue;
		e->outs[i].ev.reason = e->outs[i].reason; /* outs may have moved */
		rc = ot_store_event_add(e->st, &e->outs[i].ev, err);
		e->outs[i].event_only = rc < 0;
	}
	return rc;
}

/* Releases of a result whose commit is still to be done wait for it (one order per
 * account: the state first). Failed writes stay flagged and are retried next step. */
int eng_flush(ot_engine *e, int64_t now, ot_err *err)
{
	int rc = flush_commits(e, now, err);

	if (rc == 0 && flush_releases(e, err) < 0)
		rc = -1;
	return rc;
}
