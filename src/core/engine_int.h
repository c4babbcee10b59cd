/* engine_int.h - the refresh engine's internals, shared by engine.c (jobs, queues, the public
 * loop), engine_step.c (leases, requests) and engine_finish.c (verdicts, commits). Private to
 * src/core.
 *
 * Flow per account: QUEUED -> leased in a batch (one transaction, up to one batch ahead of
 * the free slots) -> READY -> request started (FLIGHT) -> verdict -> committed with every
 * other attempt finished in the same step (one transaction) -> callback.
 *
 * Lost answers (DESIGN §3.6). An attempt whose whole request went out but whose answer never
 * arrived whole (transport error after sending, a resend libcurl wanted to make, a 2xx JSON
 * body cut short) may have rotated the refresh token on the server. It is committed as a
 * transient failure with keep_lease: our lease stays in the store with its in-flight marker
 * (the fingerprint of the refresh token we sent). The next attempt resends that same token
 * once - from this process (lost_pending, the lease is still ours) or from any keeper once
 * we are gone or the lease expired (the store reports lost_answer) - soon
 * (ENG_LOST_RETRY_DELAY, min_interval does not apply). If that resend gets invalid_grant,
 * the account needs reauthorization with "answer lost during rotation" (event "lost"); a
 * success clears everything. An abandoned request (ot_engine_free) keeps its marker the
 * same way. */
#ifndef OAUTHTOP_CORE_ENGINE_INT_H
#define OAUTHTOP_CORE_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/http.h"
#include "oauthtop/engine.h"

#define ENG_NONE UINT32_MAX

/* A lost answer is retried this soon (seconds), grace periods being short (Okta 30 s). */
#define ENG_LOST_RETRY_DELAY 5
/* A request starts only with this much of its lease left beyond the total timeout (seconds);
 * else the lease is renewed first. */
#define ENG_LEASE_MARGIN 10
/* Keeper heartbeat period (seconds). */
#define ENG_BEAT_EVERY 30

typedef enum eng_job_state {
	JOB_IDLE = 0,
	JOB_QUEUED, /* waiting for a lease */
	JOB_READY,  /* leased, request not started yet */
	JOB_FLIGHT, /* request in flight */
} eng_job_state;

/* Why a job was queued; a later, stronger submit upgrades it. */
typedef enum eng_mode {
	MODE_DUE = 0, /* ot_engine_submit_due: skip it if it is no longer due */
	MODE_NAMED,   /* ot_engine_submit: honour backoff and min_interval */
	MODE_FORCED,  /* ot_engine_submit force: ignore backoff and min_interval */
} eng_mode;

/* One per configured account (100,000 of them in the console): small. Only the accounts
 * leased (READY / FLIGHT) hold a credential. */
typedef struct eng_job {
	const ot_account *acct;
	ot_credential *cred; /* the leased credential (with secrets) while READY / FLIGHT, else
	                      * NULL (eng_job_cred_take / _drop / _move) */
	ot_http_req *req;
	int64_t sent_at;
	uint32_t prov;
	uint32_t next; /* link in its provider's queued or ready list */
	uint8_t state;
	uint8_t mode;
	bool lost_pending; /* our last attempt lost its answer; we still hold the lease */
	bool lost_retry;   /* the attempt in progress resends a token whose answer was lost */
} eng_job;

typedef struct eng_list {
	uint32_t head, tail;
	size_t n;
} eng_list;

typedef struct eng_prov {
	int cap; /* min(max_concurrency, concurrency) */
	int inflight;
	int picked; /* while a lease batch is being picked */
	eng_list queued;
	eng_list ready;
} eng_prov;

/* One result on its way to the store and the callback. */
typedef struct eng_out {
	uint32_t job;
	ot_result res;
	bool commit;     /* write cred + event with ot_store_commit */
	bool keep_lease; /* (commit) keep our lease: the in-flight marker of a lost answer */
	bool release;    /* release our lease without writing */
	bool event_only; /* (release) add ev on its own */
	ot_credential cred;
	ot_event ev;
	char reason[600];
} eng_out;

struct ot_engine {
	const ot_config *cfg;
	ot_store *st;
	const ot_settings *set;
	ot_engine_opts opts;
	ot_holder holder;
	char host[256];
	char actor[320];
	ot_http *http;
	eng_job *jobs;
	size_t n_jobs;
	uint32_t *hash; /* account name -> job index, open addressing */
	size_t hash_cap;
	eng_prov *provs;
	size_t n_provs;
	size_t rr; /* round-robin start over providers */
	int conc;
	size_t queued, ready, inflight;
	bool stopped;
	bool resort; /* jobs queued since the last lease batch: put lost answers first */
	uint64_t rng;
	int64_t started, last_beat;
	ot_lease *leases; /* lease batch buffer */
	uint32_t *batch;
	size_t batch_cap;
	ot_keeper *keepers; /* keepers table, read once per lease batch when a lease is held */
	size_t n_keepers;
	bool keepers_loaded;
	eng_out *outs; /* results not yet delivered: this step's, and those whose commit or
	                * release failed (kept, retried every step before any callback) */
	size_t n_outs, outs_cap;
	bool commit_failing; /* the last commit failed: no new lease, no new request */
	char store_err[520]; /* why */
};

/* engine.c */
void eng_list_push(ot_engine *e, eng_list *l, uint32_t j);
uint32_t eng_list_pop(ot_engine *e, eng_list *l);
double eng_random(ot_engine *e);
int64_t eng_now(void);
eng_out *eng_out_new(ot_engine *e, uint32_t job, ot_result_kind kind);
void eng_outs_reset(ot_engine *e);
/* true when the stored credential carries a lapsed or kept in-flight marker on its current
 * refresh token (a lost answer). */
bool eng_cred_lost_marker(const ot_credential *c);
/* The job's leased credential: take moves *c in (*c is zeroed), drop wipes and frees it,
 * move hands it over to *dst (no copy, nothing left to wipe). NULL-safe where none is held. */
void eng_job_cred_take(eng_job *job, ot_credential *c);
void eng_job_cred_drop(eng_job *job);
void eng_job_cred_move(eng_job *job, ot_credential *dst);
/* Copies a fingerprint (always NUL-terminated, at most OT_FP_LEN - 1 characters). */
void eng_fp_copy(char dst[OT_FP_LEN], const char *src);

/* engine_step.c */
/* Takes leases for queued work (one transaction), sorting jobs into ready / results. */
int eng_lease_batch(ot_engine *e, int64_t now, ot_err *err);
/* The lease batch that goes with a commit (one transaction, ot_store_commit_lease): picks
 * it when the step would lease one now (nothing failing, no resort pending), returning how
 * many jobs are in e->batch / e->leases (0: none); then either eng_lease_granted() sorts
 * the answered leases, or eng_lease_unpick() puts the jobs back where they were. */
size_t eng_lease_pick_with_commit(ot_engine *e);
void eng_lease_granted(ot_engine *e, size_t n, int64_t now);
void eng_lease_unpick(ot_engine *e, size_t n);
/* Starts ready jobs up to the concurrency limits. */
void eng_start_ready(ot_engine *e, int64_t now);
/* Releases the leases of every READY job (never sent) and requeues nothing. */
void eng_release_ready(ot_engine *e);

/* engine_finish.c */
/* Collects finished requests and turns each verdict into a result to commit. */
void eng_finish_done(ot_engine *e, int64_t now);
/* Writes the pending results: commits in one transaction (with the next lease batch when
 * one is due: eng_lease_pick_with_commit), lease releases in another. */
int eng_flush(ot_engine *e, int64_t now, ot_err *err);
/* Delivers the results that are fully written to the callback and drops them; results
 * whose commit or release is still to be done stay. */
void eng_deliver(ot_engine *e);
/* Cuts the token values we hold out of a reason (a server that echoes them). */
void eng_reason_scrub(char *reason, size_t n, const ot_credential *c, const char *secret);

#endif
