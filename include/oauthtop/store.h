/* store.h - the credential store (DESIGN §4). One interface; the SQLite backend implements it
 * (a PostgreSQL backend could follow without touching callers).
 *
 * All functions return 0 on success and -1 with err set on failure unless documented. The
 * store never writes a token value anywhere but its own tables. */
#ifndef OAUTHTOP_STORE_H
#define OAUTHTOP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "oauthtop/credential.h"
#include "oauthtop/err.h"

/* The schema version this binary writes. */
#define OT_STORE_SCHEMA 2

typedef struct ot_store ot_store;

enum {
	OT_STORE_READONLY = 1 << 0, /* never create or migrate; fail if missing */
};

/* Opens (creating, with its 0700 directory, unless READONLY) the store at path. Refuses a
 * group- or world-readable file, a file that is not a SQLite database (left untouched), and a
 * newer schema than OT_STORE_SCHEMA; migrates older ones forward. */
ot_store *ot_store_open(const char *path, int flags, ot_err *err);
void ot_store_close(ot_store *s);

/* How long a write waits for another process's lock before it fails with "database is
 * locked" (default 5000 ms). An interactive caller that must not freeze sets it short: the
 * engine keeps its results and retries (DESIGN §3). */
void ot_store_set_busy_ms(ot_store *s, int ms);

/* Loads one account's credential into out (ot_credential_clear() it after). with_secrets 0
 * leaves access_token / refresh_token NULL (has_* and *_fp still filled): the console never
 * loads token values it does not show. Returns 1 found, 0 not found, -1 error. */
int ot_store_get(ot_store *s, const char *account, int with_secrets, ot_credential *out,
		 ot_err *err);

/* Loads every stored credential (sorted by account name) into a new array *out of *n. */
int ot_store_list(ot_store *s, int with_secrets, ot_credential **out, size_t *n, ot_err *err);
void ot_store_list_free(ot_credential *list, size_t n);

/* Walks every stored credential in account order with what decides its health and what a
 * list shows, and nothing copied: account, the times (access_expires_at, refresh_expires_at,
 * refresh_issued_at, last_attempt_at, last_success_at, next_attempt_at, lease_expires_at),
 * has_access_token, has_refresh_token, last_outcome, last_error, failures and client_fp; the
 * other fields are zero (fingerprints empty, no secrets). The strings belong to the store and
 * are valid only during that call of fn. fn must not use the store; a negative return stops
 * the walk, which then returns -1 (fn sets err). The console reads 100,000 rows this way. */
typedef int (*ot_store_each_fn)(const ot_credential *c, void *user, ot_err *err);
int ot_store_each(ot_store *s, ot_store_each_fn fn, void *user, ot_err *err);

/* Inserts or replaces the credential (all fields, lease included), durably. */
int ot_store_put(ot_store *s, const ot_credential *c, ot_err *err);

/* Removes the account's credential. Not found is not an error. */
int ot_store_delete(ot_store *s, const char *account, ot_err *err);

/* --- leases (DESIGN §3 steps 1 and 6) --- */

typedef struct ot_holder {
	const char *host; /* gethostname() */
	int64_t pid;
	/* The holder nonce: (host, pid) is not unique across PID namespaces (containers with
	 * host networking share the hostname; two containers both run PID 1). 0 = unknown. A
	 * holder whose pid is this process's and whose nonce is 0 gets this process's nonce
	 * from the store (so a zero-filled holder for getpid() still works). */
	int64_t pid_ns; /* inode of /proc/self/ns/pid */
	int64_t start;  /* process start time: field 22 of /proc/self/stat (clock ticks) */
} ot_holder;

/* Fills h for this process: host (kept, not copied), getpid() and the nonce. */
void ot_holder_init(ot_holder *h, const char *host);

typedef struct ot_lease {
	const char *account;   /* in: account to lease */
	bool granted;          /* out: the lease is ours */
	bool no_credential;    /* out: granted, but nothing is stored yet (cred is empty) */
	bool lost_answer;      /* out: a lapsed lease had this same refresh token in flight */
	ot_credential cred;    /* out: with secrets, read inside the lease transaction */
} ot_lease;

/* In one transaction, for each lease: grant it unless a live holder has it; a lease whose
 * holder is dead or that expired lapses. Ours = same host, pid and nonce. Live: on this host
 * and in our PID namespace (or one of them unknown), the pid is alive and, both start times
 * known, started when the holder did (PID reuse); on another host or in another PID
 * namespace (its pids are not ours to check), not expired. A granted lease records holder,
 * now + seconds, and the fingerprint of the refresh token about to be sent (the in-flight
 * marker). lost_answer: the stored in-flight marker (a lapsed holder's, or our own left by
 * an earlier attempt of ours - a failed commit, a reloaded engine) is on the current
 * refresh token. When a credential row does not exist yet (client_credentials), a row is
 * created. Free each cred with ot_credential_clear(). */
int ot_store_lease_take(ot_store *s, const ot_holder *h, ot_lease *leases, size_t n, int64_t now,
			int64_t seconds, ot_err *err);

/* Releases our leases on these accounts without changing anything else. */
int ot_store_lease_release(ot_store *s, const ot_holder *h, const char *const *accounts,
			   size_t n, ot_err *err);

/* --- history --- */

typedef struct ot_event {
	int64_t at;
	char *account;
	char *kind;   /* "refreshed", "failed", "reauth", "imported", "lost", "race", ... */
	char *reason; /* one line, never a token */
	char old_fp[OT_FP_LEN]; /* fingerprints of the refresh token before / after */
	char new_fp[OT_FP_LEN];
	char *actor;  /* "refresh@host:pid", "console@host:pid", "daemon@host:pid" */
} ot_event;

/* Result of one finished attempt, committed with others in one transaction. */
typedef struct ot_commit {
	const ot_credential *cred; /* full new state (tokens included); lease is cleared */
	const ot_event *event;     /* may be NULL */
	bool keep_lease;           /* true: do not clear the lease (abandoned request) */
	/* Fingerprint of the refresh token the attempt sent (NULL: none). A result whose lease
	 * is no longer ours is still written while the stored refresh_fp is this one (nobody
	 * rotated meanwhile: the new token must not be lost). */
	const char *sent_fp;
} ot_commit;

/* Durably commits n results in one transaction, for leases held by h, and for a lease no
 * longer ours when sent_fp matches the stored refresh token (then the lease columns are left
 * to another live holder, else cleared). The others are skipped and counted in *skipped if
 * not NULL (a result counts only when nothing of it was written). */
int ot_store_commit(ot_store *s, const ot_holder *h, const ot_commit *c, size_t n,
		    size_t *skipped, ot_err *err);

enum {
	/* Every record's access_fp / refresh_fp is the fingerprint of the access_token /
	 * refresh_token value it carries (as the store's reads and ot_token_apply() leave them):
	 * the store writes them as given instead of hashing each token again. A value whose
	 * fingerprint is empty is still hashed. Without it the store computes every
	 * fingerprint from the values. */
	OT_COMMIT_FPS_GIVEN = 1 << 0,
};

/* ot_store_commit() with flags (OT_COMMIT_*); ot_store_commit() is flags 0. */
int ot_store_commit_flags(ot_store *s, const ot_holder *h, const ot_commit *c, size_t n,
			  int flags, size_t *skipped, ot_err *err);

/* A keeper that stores finished results and leases its next batch at the same moment: the
 * commits (as ot_store_commit_flags) and then the leases (as ot_store_lease_take) in one
 * transaction, made durable by one sync instead of two. All or nothing: on failure nothing
 * of it is written and no lease is granted (as a failed ot_store_lease_take leaves them). */
typedef struct ot_store_batch {
	const ot_commit *commits; /* in: as ot_store_commit_flags()'s c, n and flags */
	size_t n_commits;
	int flags;
	size_t skipped;           /* out: as ot_store_commit_flags()'s *skipped */
	ot_lease *leases;         /* in/out: as ot_store_lease_take()'s leases, n, now, seconds */
	size_t n_leases;
	int64_t now;
	int64_t seconds;
} ot_store_batch;

int ot_store_commit_lease(ot_store *s, const ot_holder *h, ot_store_batch *b, ot_err *err);

int ot_store_event_add(ot_store *s, const ot_event *e, ot_err *err);
/* Newest first, at most limit (0 = all); account NULL = every account. */
int ot_store_events(ot_store *s, const char *account, size_t limit, ot_event **out, size_t *n,
		    ot_err *err);
void ot_store_events_free(ot_event *list, size_t n);
/* Deletes events older than before. */
int ot_store_events_prune(ot_store *s, int64_t before, ot_err *err);

/* --- keepers --- */

typedef struct ot_keeper {
	char *host;
	int64_t pid;
	char *kind; /* "daemon", "console", "refresh" */
	int64_t started;
	int64_t heartbeat;
} ot_keeper;

/* Inserts or updates this keeper's row. */
int ot_store_keeper_beat(ot_store *s, const ot_holder *h, const char *kind, int64_t started,
			 int64_t now, ot_err *err);
int ot_store_keeper_remove(ot_store *s, const ot_holder *h, ot_err *err);
int ot_store_keepers(ot_store *s, ot_keeper **out, size_t *n, ot_err *err);
void ot_store_keepers_free(ot_keeper *list, size_t n);

/* --- change detection and metadata --- */

/* A number that changes whenever another connection commits (PRAGMA data_version) or this
 * connection writes; cheap to call every tick. */
int64_t ot_store_version(ot_store *s);

/* Small key/value cache (discovery documents...). get returns 1 found (*value malloc'd),
 * 0 not found, -1 error. */
int ot_store_meta_get(ot_store *s, const char *key, char **value, ot_err *err);
int ot_store_meta_set(ot_store *s, const char *key, const char *value, ot_err *err);

/* 1 if the process pid on this host is alive. */
int ot_pid_alive(int64_t pid);

#endif
