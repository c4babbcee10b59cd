/* engine.h - the refresh engine (DESIGN §3): leases, concurrent requests, classification,
 * durable commits, backoff, races and lost answers.
 *
 * Non-blocking: the caller submits work, then loops on ot_engine_wait() + ot_engine_step();
 * results arrive through the callback, account by account. The headless commands call
 * ot_engine_run(); the console drives the same functions from its own loop. */
#ifndef OAUTHTOP_ENGINE_H
#define OAUTHTOP_ENGINE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/config.h"
#include "oauthtop/credential.h"
#include "oauthtop/err.h"
#include "oauthtop/secret.h"
#include "oauthtop/store.h"

typedef enum ot_result_kind {
	OT_RESULT_REFRESHED = 0, /* new access token stored */
	OT_RESULT_FAILED,        /* transient failure; retry scheduled, tokens kept */
	OT_RESULT_REAUTH,        /* grant or client rejected; tokens kept, never retried */
	OT_RESULT_RACE,          /* another keeper rotated the token meanwhile; nothing lost */
	OT_RESULT_LEASED,        /* another live keeper holds the lease: skipped, not a failure */
	OT_RESULT_SKIPPED,       /* not attempted: backoff, min_interval or state (reason says) */
	OT_RESULT_ERROR,         /* local error (store, configuration); reason says */
} ot_result_kind;

typedef struct ot_result {
	const char *account;
	ot_result_kind kind;
	const char *reason;       /* one line, no secrets */
	bool rotated;             /* a new refresh token was stored */
	char old_fp[OT_FP_LEN];   /* refresh token fingerprints */
	char new_fp[OT_FP_LEN];
	int64_t access_expires_at; /* after the attempt; 0 unknown */
	int64_t next_attempt_at;   /* when a retry is allowed (FAILED); 0 none */
	double seconds;            /* request duration */
} ot_result;

typedef void (*ot_result_cb)(const ot_result *r, void *user);

typedef struct ot_engine_opts {
	int concurrency;        /* 0: the configuration's */
	const char *actor_kind; /* "refresh", "daemon", "console", "token" (history, keepers) */
	ot_result_cb on_result;
	void *user;
} ot_engine_opts;

typedef struct ot_engine ot_engine;

/* The engine borrows cfg and st; both must outlive it. */
ot_engine *ot_engine_new(const ot_config *cfg, ot_store *st, const ot_engine_opts *o,
			 ot_err *err);

/* Frees the engine. Requests still in flight are abandoned: their leases keep the in-flight
 * marker (DESIGN §3 step 6); queued work is dropped; results that could not be written are
 * reported through the callback as errors (loudly when a new refresh token is lost). */
void ot_engine_free(ot_engine *e);

/* Queues one account. force ignores backoff and min_interval, never a live lease nor a
 * reauth state. Returns 0, or -1 with err for an unknown or disabled account. Queuing an
 * account already queued or in flight does nothing. */
int ot_engine_submit(ot_engine *e, const char *account, bool force, ot_err *err);

/* Queues every enabled account that is due at now (due, expired, or failing with its retry
 * time reached) and not inside min_interval. Returns how many were queued, -1 on error. */
int ot_engine_submit_due(ot_engine *e, int64_t now, ot_err *err);

/* Queued plus in-flight accounts, plus finished results not yet written to the store (a
 * failed commit is retried on every step before any callback). */
size_t ot_engine_pending(const ot_engine *e);

/* true while account is queued or in flight (the console's spinner). */
bool ot_engine_busy(const ot_engine *e, const char *account);

/* Advances everything without blocking: takes leases for queued work in batches, starts
 * requests up to the concurrency limits, finishes completed ones (commit + callback).
 * Returns 0, or -1 on a store error (err). */
int ot_engine_step(ot_engine *e, ot_err *err);

/* Waits at most timeout_ms for network activity or for one of the caller's extra
 * descriptors (revents filled). Returns the number of extra descriptors ready. */
int ot_engine_wait(ot_engine *e, struct pollfd *extra, unsigned n_extra, int timeout_ms);

/* Milliseconds until the engine next needs ot_engine_step() for timers; -1 none. */
long ot_engine_timeout_ms(ot_engine *e);

/* Wakes a concurrent ot_engine_wait() (async-signal-safe). */
void ot_engine_wakeup(ot_engine *e);

/* Runs until nothing is queued or in flight. Returns 0, or -1 with err on a store error. */
int ot_engine_run(ot_engine *e, ot_err *err);

/* Stop taking queued work; requests in flight continue (daemon shutdown). */
void ot_engine_stop_queue(ot_engine *e);

#endif
