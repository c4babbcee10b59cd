/* store.c - the credential store on SQLite (DESIGN §4): credentials, leases (§3 steps 1 and
 * 6), history events, keepers and metadata. Opening and the schema live in store_schema.c. */
#include "oauthtop/store.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "core/store_schema.h"

/* Columns of ot_credential without and with the token values. The values live in their own
 * table (schema 2): a read without secrets never touches it, so the console's list reads small
 * rows and never has SQLite load a value into its memory. */
#define CRED_COLS                                                                                  \
	"account, token_type, scope, access_expires_at, access_fp, refresh_fp, "                   \
	"refresh_expires_at, refresh_issued_at, last_attempt_at, last_success_at, "                \
	"last_outcome, last_error, failures, next_attempt_at, client_fp, lease_host, "             \
	"lease_pid, lease_expires_at, inflight_fp, updated_at, lease_ns, lease_start"
/* What ot_store_each reads, in this order (summary_read). */
#define CRED_SUMMARY_COLS                                                                          \
	"account, access_expires_at, access_fp <> '', refresh_fp <> '', refresh_expires_at, "      \
	"refresh_issued_at, last_attempt_at, last_success_at, last_outcome, last_error, "          \
	"failures, next_attempt_at, client_fp, lease_expires_at"
#define CRED_SECRET_COLS CRED_COLS ", access_token, refresh_token"
#define CRED_SECRET_FROM "credentials LEFT JOIN secrets USING (account)"
#define CRED_NCOLS       22

/* Every field but the lease and the token values, for the two UPDATEs below (?1 is the
 * account; ?5 / ?7 keep the stored fingerprint of a token the record does not carry). */
#define CRED_SET_FIELDS                                                                            \
	"token_type = ?2, scope = ?3, access_expires_at = ?4,"                                     \
	" access_fp = CASE WHEN ?5 THEN access_fp ELSE ?6 END,"                                    \
	" refresh_fp = CASE WHEN ?7 THEN refresh_fp ELSE ?8 END,"                                  \
	" refresh_expires_at = ?9, refresh_issued_at = ?10, last_attempt_at = ?11,"                \
	" last_success_at = ?12, last_outcome = ?13, last_error = ?14, failures = ?15,"            \
	" next_attempt_at = ?16, client_fp = ?17, updated_at = ?18"

/* The row's lease is held by the holder ?H (host), ?P (pid), ?N (pid namespace), ?S (start
 * time); an unknown (0) nonce on either side matches (store.h: ours). */
#define LEASE_HELD_BY(H, P, N, S)                                                                  \
	" lease_host = " H " AND lease_pid = " P " AND (lease_ns = " N " OR lease_ns = 0 OR " N    \
	" = 0) AND (lease_start = " S " OR lease_start = 0 OR " S " = 0)"

/* The lease columns of a commit: kept when ?19, else cleared. */
#define LEASE_CLEAR_UNLESS_19                                                                      \
	" lease_host = CASE WHEN ?19 THEN lease_host END,"                                         \
	" lease_pid = CASE WHEN ?19 THEN lease_pid ELSE 0 END,"                                    \
	" lease_expires_at = CASE WHEN ?19 THEN lease_expires_at ELSE 0 END,"                      \
	" inflight_fp = CASE WHEN ?19 THEN inflight_fp ELSE '' END,"                               \
	" lease_ns = CASE WHEN ?19 THEN lease_ns ELSE 0 END,"                                      \
	" lease_start = CASE WHEN ?19 THEN lease_start ELSE 0 END"

#define EVENT_SELECT "SELECT at, account, kind, reason, old_fp, new_fp, actor FROM events"
#define EVENT_ORDER  " ORDER BY at DESC, id DESC LIMIT ?2"

/* --- cached statements --- */

/* Each statement is prepared once per connection, on first use, and reset after each use:
 * preparing costs more than running most of them (a refresh runs about six). */
typedef enum store_stmt {
	ST_BEGIN,
	ST_COMMIT,
	ST_DATA_VERSION,
	ST_CRED_GET,
	ST_CRED_GET_SECRETS,
	ST_CRED_LIST,
	ST_CRED_LIST_SECRETS,
	ST_CRED_SUMMARY,
	ST_CRED_UPDATE,
	ST_CRED_COMMIT,
	ST_CRED_COMMIT_UNHELD,
	ST_CRED_INSERT_EMPTY,
	ST_CRED_DELETE,
	ST_SECRETS_UPDATE,
	ST_SECRETS_INSERT,
	ST_SECRETS_DELETE,
	ST_LEASE_WRITE,
	ST_LEASE_RELEASE,
	ST_EVENT_INSERT,
	ST_EVENTS_ACCOUNT,
	ST_EVENTS_ALL,
	ST_EVENTS_PRUNE,
	ST_KEEPER_BEAT,
	ST_KEEPER_REMOVE,
	ST_KEEPERS,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT
} store_stmt;

_Static_assert(ST_COUNT <= STORE_STMT_MAX, "raise STORE_STMT_MAX in store_schema.h");

static const char *const stmt_sql[ST_COUNT] = {
        [ST_BEGIN] = "BEGIN IMMEDIATE",
        [ST_COMMIT] = "COMMIT",
        [ST_DATA_VERSION] = "PRAGMA data_version",
        [ST_CRED_GET] = "SELECT " CRED_COLS " FROM credentials WHERE account = ?1",
        [ST_CRED_GET_SECRETS] =
                "SELECT " CRED_SECRET_COLS " FROM " CRED_SECRET_FROM " WHERE account = ?1",
        [ST_CRED_LIST] = "SELECT " CRED_COLS " FROM credentials ORDER BY account",
        [ST_CRED_LIST_SECRETS] =
                "SELECT " CRED_SECRET_COLS " FROM " CRED_SECRET_FROM " ORDER BY account",
        /* ot_store_each: fewer columns than a list (each costs every row a decode). */
        [ST_CRED_SUMMARY] = "SELECT " CRED_SUMMARY_COLS " FROM credentials ORDER BY account",
        [ST_CRED_UPDATE] = "UPDATE credentials SET " CRED_SET_FIELDS " WHERE account = ?1",
        /* A commit: only where h holds the lease (?20..?23), which it clears unless ?19. */
        [ST_CRED_COMMIT] = "UPDATE credentials SET " CRED_SET_FIELDS "," LEASE_CLEAR_UNLESS_19
                           " WHERE account = ?1 AND" LEASE_HELD_BY("?20", "?21", "?22", "?23"),
        /* A commit whose lease is no longer ours, written while nobody rotated the refresh
         * token it sent (?20); the lease is left (?19) to another live holder. */
        [ST_CRED_COMMIT_UNHELD] =
                "UPDATE credentials SET " CRED_SET_FIELDS "," LEASE_CLEAR_UNLESS_19
                " WHERE account = ?1 AND refresh_fp = ?20",
        [ST_CRED_INSERT_EMPTY] = "INSERT OR IGNORE INTO credentials (account) VALUES (?1)",
        [ST_CRED_DELETE] = "DELETE FROM credentials WHERE account = ?1",
        /* The token values (?2 / ?4: keep the stored one). An unchanged pair is not rewritten:
         * a failed refresh commits the tokens it was leased. */
        [ST_SECRETS_UPDATE] = "UPDATE secrets SET"
                              " access_token = CASE WHEN ?2 THEN access_token ELSE ?3 END,"
                              " refresh_token = CASE WHEN ?4 THEN refresh_token ELSE ?5 END"
                              " WHERE account = ?1 AND ((NOT ?2 AND access_token IS NOT ?3)"
                              " OR (NOT ?4 AND refresh_token IS NOT ?5))",
        [ST_SECRETS_INSERT] = "INSERT OR IGNORE INTO secrets (account, access_token, refresh_token)"
                              " VALUES (?1, ?3, ?5)",
        [ST_SECRETS_DELETE] = "DELETE FROM secrets WHERE account = ?1",
        [ST_LEASE_WRITE] = "UPDATE credentials SET lease_host = ?2, lease_pid = ?3,"
                           " lease_expires_at = ?4, inflight_fp = ?5, lease_ns = ?6,"
                           " lease_start = ?7 WHERE account = ?1",
        [ST_LEASE_RELEASE] =
                "UPDATE credentials SET lease_host = NULL, lease_pid = 0,"
                " lease_expires_at = 0, inflight_fp = '', lease_ns = 0,"
                " lease_start = 0 WHERE account = ?1 AND" LEASE_HELD_BY("?2", "?3", "?4", "?5"),
        [ST_EVENT_INSERT] = "INSERT INTO events (at, account, kind, reason, old_fp, new_fp, actor)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [ST_EVENTS_ACCOUNT] = EVENT_SELECT " WHERE account = ?1" EVENT_ORDER,
        [ST_EVENTS_ALL] = EVENT_SELECT EVENT_ORDER,
        [ST_EVENTS_PRUNE] = "DELETE FROM events WHERE at < ?1",
        [ST_KEEPER_BEAT] = "INSERT INTO keepers (host, pid, kind, started, heartbeat)"
                           " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, pid) DO UPDATE SET"
                           " kind = excluded.kind, started = excluded.started,"
                           " heartbeat = excluded.heartbeat",
        [ST_KEEPER_REMOVE] = "DELETE FROM keepers WHERE host = ?1 AND pid = ?2",
        [ST_KEEPERS] = "SELECT host, pid, kind, started, heartbeat FROM keepers"
                       " ORDER BY host, pid",
        [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
        [ST_META_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
};

/* The statement, prepared on first use; NULL with err set on failure. Hand it back with
 * stmt_done() on every path. */
static sqlite3_stmt *stmt_get(ot_store *s, store_stmt id, ot_err *err)
{
	sqlite3_stmt **slot = &s->stmts[id];
	int rc;

	if (*slot)
		return *slot;
	rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*slot);
		*slot = NULL;
		store_db_error(s, rc, err);
		return NULL;
	}
	return *slot;
}

/* Ends a use: a reset statement holds no read transaction open, and cleared bindings hold no
 * pointer to the caller's strings (they are bound without a copy). */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void stmts_finalize(ot_store *s)
{
	size_t i;

	for (i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(s->stmts[i]);
		s->stmts[i] = NULL;
	}
}

/* Steps a statement that returns no rows, then stmt_done(). */
static int stmt_run(ot_store *s, sqlite3_stmt *st, ot_err *err)
{
	int rc = sqlite3_step(st);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_db_error(s, rc, err);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	return 0;
}

/* Runs a cached statement without parameters or results. */
static int stmt_exec(ot_store *s, store_stmt id, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, id, err);

	return st ? stmt_run(s, st, err) : -1;
}

/* Binds without a copy: v must live until stmt_done(), which every caller reaches before it
 * returns (token values are then never copied into SQLite's heap for a bind). */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	return v ? ot_strdup((const char *)v) : NULL;
}

static void col_fp(sqlite3_stmt *st, int i, char out[OT_FP_LEN])
{
	const unsigned char *v = sqlite3_column_text(st, i);
	size_t len = v ? (size_t)sqlite3_column_bytes(st, i) : 0;

	if (len >= OT_FP_LEN)
		len = OT_FP_LEN - 1;
	if (len)
		memcpy(out, v, len);
	out[len] = '\0';
}

/* Grows *arr so that it holds need elements; NULL on out-of-memory (arr unchanged). */
static void *array_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return arr;
	while (ncap < need)
		ncap *= 2;
	p = realloc(arr, ncap * elem);
	if (p)
		*cap = ncap;
	return p;
}

static int tx_begin(ot_store *s, ot_err *err)
{
	return stmt_exec(s, ST_BEGIN, err);
}

static int tx_commit(ot_store *s, ot_err *err)
{
	if (stmt_exec(s, ST_COMMIT, err) < 0)
		return -1;
	s->writes++;
	return 0;
}

static void tx_rollback(ot_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Runs one autocommit write statement (already bound) and counts it. */
static int write_one(ot_store *s, sqlite3_stmt *st, ot_err *err)
{
	if (stmt_run(s, st, err) < 0)
		return -1;
	s->writes++;
	return 0;
}

/* --- the holder nonce --- */

/* The start time of process pid (field 22 of /proc/PID/stat, clock ticks since boot), 0 if
 * unknown. The command name (field 2) may hold spaces and parentheses: fields are counted
 * from its last ')'. */
static int64_t pid_start_time(int64_t pid)
{
	char path[64], buf[1024], *p;
	long long start = 0;
	size_t got;
	FILE *fp;
	int field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	fp = fopen(path, "re");
	if (!fp)
		return 0;
	got = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[got] = '\0';
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; p && field < 22; field++) /* after ")", field 3 starts at the next space */
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lld", &start) != 1 || start < 0)
		return 0;
	return (int64_t)start;
}

static int64_t holder_self_ns(void)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st) < 0)
		return 0;
	return (int64_t)st.st_ino;
}

void ot_holder_init(ot_holder *h, const char *host)
{
	h->host = host;
	h->pid = (int64_t)getpid();
	h->pid_ns = holder_self_ns();
	h->start = pid_start_time(h->pid);
}

/* h as the store uses it: a holder for this process without a nonce gets ours. */
static ot_holder holder_resolve(const ot_store *s, const ot_holder *h)
{
	ot_holder r = *h;

	if (r.pid == (int64_t)getpid() && r.pid_ns == 0 && r.start == 0) {
		r.pid_ns = s->self_ns;
		r.start = s->self_start;
	}
	return r;
}

/* --- open / close --- */

ot_store *ot_store_open(const char *path, int flags, ot_err *err)
{
	ot_store *s;

	if (!path || !*path) {
		ot_err_set(err, "no store path configured");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		ot_err_set(err, "%s: out of memory", path);
		return NULL;
	}
	s->path = ot_strdup(path);
	s->self_ns = holder_self_ns();
	s->self_start = pid_start_time((int64_t)getpid());
	if (store_schema_open(s, flags, err) < 0 || !stmt_get(s, ST_DATA_VERSION, err)) {
		ot_store_close(s);
		return NULL;
	}
	return s;
}

void ot_store_set_busy_ms(ot_store *s, int ms)
{
	if (!s || !s->db || ms < 0)
		return;
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}

void ot_store_close(ot_store *s)
{
	if (!s)
		return;
	stmts_finalize(s);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

/* --- credentials --- */

static ot_outcome outcome_of(int64_t v)
{
	return v >= OT_OUTCOME_NONE && v <= OT_OUTCOME_CLIENT ? (ot_outcome)v : OT_OUTCOME_NONE;
}

static void cred_read(sqlite3_stmt *st, int with_secrets, ot_credential *c)
{
	memset(c, 0, sizeof(*c));
	c->account = col_dup(st, 0);
	c->token_type = col_dup(st, 1);
	c->scope = col_dup(st, 2);
	c->access_expires_at = sqlite3_column_int64(st, 3);
	col_fp(st, 4, c->access_fp);
	col_fp(st, 5, c->refresh_fp);
	c->has_access_token = c->access_fp[0] != '\0';
	c->has_refresh_token = c->refresh_fp[0] != '\0';
	c->refresh_expires_at = sqlite3_column_int64(st, 6);
	c->refresh_issued_at = sqlite3_column_int64(st, 7);
	c->last_attempt_at = sqlite3_column_int64(st, 8);
	c->last_success_at = sqlite3_column_int64(st, 9);
	c->last_outcome = outcome_of(sqlite3_column_int64(st, 10));
	c->last_error = col_dup(st, 11);
	c->failures = (int)sqlite3_column_int64(st, 12);
	c->next_attempt_at = sqlite3_column_int64(st, 13);
	c->client_fp = col_dup(st, 14);
	c->lease_host = col_dup(st, 15);
	c->lease_pid = sqlite3_column_int64(st, 16);
	c->lease_expires_at = sqlite3_column_int64(st, 17);
	col_fp(st, 18, c->inflight_fp);
	c->updated_at = sqlite3_column_int64(st, 19);
	if (with_secrets) {
		c->access_token = col_dup(st, CRED_NCOLS);
		c->refresh_token = col_dup(st, CRED_NCOLS + 1);
	}
}

/* A text column without a copy: valid until the next step or reset of st. */
static char *col_peek(sqlite3_stmt *st, int i)
{
	return (char *)sqlite3_column_text(st, i);
}

/* A row of ST_CRED_SUMMARY (CRED_SUMMARY_COLS), its strings not copied. */
static void summary_read(sqlite3_stmt *st, ot_credential *c)
{
	memset(c, 0, sizeof(*c));
	c->account = col_peek(st, 0);
	c->access_expires_at = sqlite3_column_int64(st, 1);
	c->has_access_token = sqlite3_column_int(st, 2) != 0;
	c->has_refresh_token = sqlite3_column_int(st, 3) != 0;
	c->refresh_expires_at = sqlite3_column_int64(st, 4);
	c->refresh_issued_at = sqlite3_column_int64(st, 5);
	c->last_attempt_at = sqlite3_column_int64(st, 6);
	c->last_success_at = sqlite3_column_int64(st, 7);
	c->last_outcome = outcome_of(sqlite3_column_int64(st, 8));
	c->last_error = col_peek(st, 9);
	c->failures = (int)sqlite3_column_int64(st, 10);
	c->next_attempt_at = sqlite3_column_int64(st, 11);
	c->client_fp = col_peek(st, 12);
	c->lease_expires_at = sqlite3_column_int64(st, 13);
}

/* The lease holder's nonce of a row (columns 20 and 21 of CRED_COLS). */
typedef struct lease_nonce {
	int64_t ns, start;
} lease_nonce;

/* Reads one row (its lease nonce into nonce if not NULL): 1 found, 0 not, -1 error. */
static int cred_load_nonce(ot_store *s, const char *account, int with_secrets, ot_credential *out,
                           lease_nonce *nonce, ot_err *err)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	st = stmt_get(s, with_secrets ? ST_CRED_GET_SECRETS : ST_CRED_GET, err);
	if (!st)
		return -1;
	bind_text(st, 1, account);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		cred_read(st, with_secrets, out);
		if (nonce) {
			nonce->ns = sqlite3_column_int64(st, 20);
			nonce->start = sqlite3_column_int64(st, 21);
		}
	} else if (rc != SQLITE_DONE) {
		store_db_error(s, rc, err);
	}
	stmt_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int cred_load(ot_store *s, const char *account, int with_secrets, ot_credential *out,
                     ot_err *err)
{
	return cred_load_nonce(s, account, with_secrets, out, NULL, err);
}

int ot_store_get(ot_store *s, const char *account, int with_secrets, ot_credential *out,
                 ot_err *err)
{
	return cred_load(s, account, with_secrets, out, err);
}

int ot_store_list(ot_store *s, int with_secrets, ot_credential **out, size_t *n, ot_err *err)
{
	sqlite3_stmt *st;
	ot_credential *list = NULL, *grown;
	size_t cap = 0, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	st = stmt_get(s, with_secrets ? ST_CRED_LIST_SECRETS : ST_CRED_LIST, err);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = array_grow(list, &cap, cnt + 1, sizeof(*list));
		if (!grown) {
			rc = SQLITE_NOMEM;
			break;
		}
		list = grown;
		cred_read(st, with_secrets, &list[cnt++]);
	}
	if (rc != SQLITE_DONE) {
		store_db_error(s, rc, err);
		stmt_done(st);
		ot_store_list_free(list, cnt);
		return -1;
	}
	stmt_done(st);
	*out = list;
	*n = cnt;
	return 0;
}

int ot_store_each(ot_store *s, ot_store_each_fn fn, void *user, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_CRED_SUMMARY, err);
	ot_credential c;
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		summary_read(st, &c);
		if (fn(&c, user, err) < 0) {
			stmt_done(st);
			return -1;
		}
	}
	if (rc != SQLITE_DONE) {
		store_db_error(s, rc, err);
		stmt_done(st);
		return -1;
	}
	stmt_done(st);
	return 0;
}

void ot_store_list_free(ot_credential *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ot_credential_clear(&list[i]);
	free(list);
}

/* Token column values for a write: an empty token is none; a record that says it has a token
 * but carries no value (loaded without secrets) keeps the stored one rather than erasing it. */
typedef struct token_write {
	int keep;
	const char *value;
	char fp[OT_FP_LEN];
} token_write;

static void token_write_init(token_write *t, const char *value, int has, const char *given_fp)
{
	memset(t, 0, sizeof(*t));
	if (value && *value) {
		t->value = value;
		if (given_fp && given_fp[0])
			memcpy(t->fp, given_fp, OT_FP_LEN);
		else
			ot_fingerprint(value, t->fp);
	} else {
		t->keep = !value && has;
	}
}

/* The new values of a credential's token columns; lives until its statements are done. */
typedef struct cred_tokens {
	token_write at, rt;
} cred_tokens;

/* fps_given: c's fingerprints are those of its values (OT_COMMIT_FPS_GIVEN): not hashed. */
static void cred_tokens_init(cred_tokens *t, const ot_credential *c, bool fps_given)
{
	token_write_init(&t->at, c->access_token, c->has_access_token,
	                 fps_given ? c->access_fp : NULL);
	token_write_init(&t->rt, c->refresh_token, c->has_refresh_token,
	                 fps_given ? c->refresh_fp : NULL);
}

/* Binds ?1..?18 of CRED_SET_FIELDS (t must outlive the statement's use). */
static void cred_bind_fields(sqlite3_stmt *st, const ot_credential *c, const cred_tokens *t)
{
	bind_text(st, 1, c->account);
	bind_text(st, 2, c->token_type);
	bind_text(st, 3, c->scope);
	sqlite3_bind_int64(st, 4, c->access_expires_at);
	sqlite3_bind_int(st, 5, t->at.keep);
	bind_text(st, 6, t->at.fp);
	sqlite3_bind_int(st, 7, t->rt.keep);
	bind_text(st, 8, t->rt.fp);
	sqlite3_bind_int64(st, 9, c->refresh_expires_at);
	sqlite3_bind_int64(st, 10, c->refresh_issued_at);
	sqlite3_bind_int64(st, 11, c->last_attempt_at);
	sqlite3_bind_int64(st, 12, c->last_success_at);
	sqlite3_bind_int(st, 13, (int)c->last_outcome);
	bind_text(st, 14, c->last_error);
	sqlite3_bind_int(st, 15, c->failures);
	sqlite3_bind_int64(st, 16, c->next_attempt_at);
	bind_text(st, 17, c->client_fp);
	sqlite3_bind_int64(st, 18, c->updated_at ? c->updated_at : (int64_t)time(NULL));
}

/* Writes every field but the lease and the token values into an existing row. */
static int cred_write_fields(ot_store *s, const ot_credential *c, const cred_tokens *t, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_CRED_UPDATE, err);

	if (!st)
		return -1;
	cred_bind_fields(st, c, t);
	return stmt_run(s, st, err);
}

static int delete_one(ot_store *s, store_stmt id, const char *account, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, id, err);

	if (!st)
		return -1;
	bind_text(st, 1, account);
	return stmt_run(s, st, err);
}

/* Runs ST_SECRETS_UPDATE or ST_SECRETS_INSERT with t's values: 1 a row changed, 0 none. */
static int secrets_run(ot_store *s, store_stmt id, const char *account, const cred_tokens *t,
                       ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, id, err);

	if (!st)
		return -1;
	bind_text(st, 1, account);
	sqlite3_bind_int(st, 2, t->at.keep);
	bind_text(st, 3, t->at.value);
	sqlite3_bind_int(st, 4, t->rt.keep);
	bind_text(st, 5, t->rt.value);
	if (stmt_run(s, st, err) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

/* Brings the secrets row in line with t: nothing to do when both stored values are kept, no
 * row when neither token remains, else an UPDATE that leaves an unchanged pair unwritten (a
 * row is inserted when there was none). */
static int secrets_write(ot_store *s, const char *account, const cred_tokens *t, ot_err *err)
{
	int changed;

	if (t->at.keep && t->rt.keep)
		return 0;
	if (!t->at.keep && !t->at.value && !t->rt.keep && !t->rt.value)
		return delete_one(s, ST_SECRETS_DELETE, account, err);
	changed = secrets_run(s, ST_SECRETS_UPDATE, account, t, err);
	if (changed != 0)
		return changed < 0 ? -1 : 0;
	return secrets_run(s, ST_SECRETS_INSERT, account, t, err) < 0 ? -1 : 0;
}

static int lease_write(ot_store *s, const char *account, const ot_holder *h, int64_t expires,
                       const char *inflight, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_LEASE_WRITE, err);

	if (!st)
		return -1;
	bind_text(st, 1, account);
	bind_text(st, 2, h->host);
	sqlite3_bind_int64(st, 3, h->pid);
	sqlite3_bind_int64(st, 4, expires);
	bind_text(st, 5, inflight ? inflight : "");
	sqlite3_bind_int64(st, 6, h->pid_ns);
	sqlite3_bind_int64(st, 7, h->start);
	return stmt_run(s, st, err);
}

static int cred_insert_empty(ot_store *s, const char *account, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_CRED_INSERT_EMPTY, err);

	if (!st)
		return -1;
	bind_text(st, 1, account);
	return stmt_run(s, st, err);
}

int ot_store_put(ot_store *s, const ot_credential *c, ot_err *err)
{
	cred_tokens t;
	ot_holder lh = {c->lease_host, c->lease_pid, 0, 0}; /* a credential carries no nonce */

	if (!c->account || !*c->account)
		return ot_err_set(err, "%s: a credential without an account name", s->path);
	cred_tokens_init(&t, c, false);
	if (tx_begin(s, err) < 0)
		return -1;
	if (cred_insert_empty(s, c->account, err) < 0 || cred_write_fields(s, c, &t, err) < 0 ||
	    lease_write(s, c->account, &lh, c->lease_expires_at, c->inflight_fp, err) < 0 ||
	    secrets_write(s, c->account, &t, err) < 0 || tx_commit(s, err) < 0) {
		tx_rollback(s);
		return -1;
	}
	return 0;
}

int ot_store_delete(ot_store *s, const char *account, ot_err *err)
{
	if (tx_begin(s, err) < 0)
		return -1;
	if (delete_one(s, ST_SECRETS_DELETE, account, err) < 0 ||
	    delete_one(s, ST_CRED_DELETE, account, err) < 0 || tx_commit(s, err) < 0) {
		tx_rollback(s);
		return -1;
	}
	return 0;
}

/* --- leases --- */

typedef enum lease_state {
	LEASE_FREE,   /* no lease recorded */
	LEASE_OURS,   /* held by this holder and not expired */
	LEASE_OTHER,  /* held by a live keeper */
	LEASE_LAPSED, /* expired, or its holder on this host is gone */
} lease_state;

int ot_pid_alive(int64_t pid)
{
	if (pid <= 0 || pid > INT_MAX)
		return 0;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* The last pid checked in a batch: leases lapsed or held by others are mostly one process's,
 * so a batch asks the kernel once per holder rather than once per row. */
typedef struct pid_memo {
	int64_t pid;
	int alive;
	int64_t start; /* its start time, 0 unknown (read once) */
} pid_memo;

static void pid_memo_check(pid_memo *m, int64_t pid)
{
	if (pid != m->pid) {
		m->pid = pid;
		m->alive = ot_pid_alive(pid);
		m->start = m->alive ? pid_start_time(pid) : 0;
	}
}

/* Two nonce values agree, or one is unknown. */
static bool nonce_match(int64_t a, int64_t b)
{
	return a == 0 || b == 0 || a == b;
}

/* The lease holder of a row on our host and in our PID namespace is alive: its pid runs and,
 * both start times known, is the process that took the lease (not a reused pid). */
static bool lease_holder_alive(const ot_credential *row, const lease_nonce *rn, pid_memo *memo)
{
	pid_memo_check(memo, row->lease_pid);
	return memo->alive && nonce_match(rn->start, memo->start);
}

static lease_state lease_classify(const ot_credential *row, const lease_nonce *rn,
                                  const ot_holder *h, int64_t now, pid_memo *memo)
{
	bool same_host, same_ns;

	if (!row->lease_host || row->lease_expires_at == 0)
		return LEASE_FREE;
	if (row->lease_expires_at <= now)
		return LEASE_LAPSED;
	same_host = strcmp(row->lease_host, h->host) == 0;
	if (!same_host)
		return LEASE_OTHER;
	same_ns = nonce_match(rn->ns, h->pid_ns);
	if (same_ns && row->lease_pid == h->pid && nonce_match(rn->start, h->start))
		return LEASE_OURS;
	/* Another PID namespace: its pids mean nothing here; trusted until it expires. */
	if (!same_ns)
		return LEASE_OTHER;
	return lease_holder_alive(row, rn, memo) ? LEASE_OTHER : LEASE_LAPSED;
}

static void cred_drop_secrets(ot_credential *c)
{
	ot_secret_free(c->access_token);
	ot_secret_free(c->refresh_token);
	c->access_token = NULL;
	c->refresh_token = NULL;
}

static int lease_take_one(ot_store *s, const ot_holder *h, ot_lease *l, int64_t now,
                          int64_t seconds, pid_memo *memo, ot_err *err)
{
	lease_state state;
	lease_nonce rn = {0, 0};
	int found = cred_load_nonce(s, l->account, 1, &l->cred, &rn, err);

	if (found < 0)
		return -1;
	if (!found) {
		if (cred_insert_empty(s, l->account, err) < 0)
			return -1;
		l->cred.account = ot_strdup(l->account);
	}
	state = lease_classify(&l->cred, &rn, h, now, memo);
	if (state == LEASE_OTHER) {
		cred_drop_secrets(&l->cred); /* not ours to use */
		return 0;
	}
	l->granted = true;
	l->no_credential = !l->cred.has_access_token && !l->cred.has_refresh_token;
	/* A marker on the current token, a lapsed holder's or our own (an earlier attempt of
	 * ours whose answer was lost, a failed commit, a reloaded engine): that token may have
	 * been rotated on the server. */
	l->lost_answer =
	        l->cred.inflight_fp[0] && strcmp(l->cred.inflight_fp, l->cred.refresh_fp) == 0;
	if (lease_write(s, l->account, h, now + seconds, l->cred.refresh_fp, err) < 0)
		return -1;
	ot_credential_set_str(&l->cred.lease_host, h->host);
	l->cred.lease_pid = h->pid;
	l->cred.lease_expires_at = now + seconds;
	memcpy(l->cred.inflight_fp, l->cred.refresh_fp, OT_FP_LEN);
	return 0;
}

/* The out fields of leases before a take (their cred may hold anything: not freed). */
static void leases_init(ot_lease *leases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		leases[i].granted = leases[i].no_credential = leases[i].lost_answer = false;
		memset(&leases[i].cred, 0, sizeof(leases[i].cred));
	}
}

/* After a failed take: nothing granted, nothing held. */
static void leases_clear(ot_lease *leases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ot_credential_clear(&leases[i].cred);
		leases[i].granted = leases[i].no_credential = leases[i].lost_answer = false;
	}
}

/* Takes the leases inside the caller's transaction (me resolved). */
static int leases_take(ot_store *s, const ot_holder *me, ot_lease *leases, size_t n, int64_t now,
                       int64_t seconds, ot_err *err)
{
	pid_memo memo = {0, 0, 0}; /* pid 0 is never alive */

	for (size_t i = 0; i < n; i++)
		if (lease_take_one(s, me, &leases[i], now, seconds, &memo, err) < 0)
			return -1;
	return 0;
}

int ot_store_lease_take(ot_store *s, const ot_holder *h, ot_lease *leases, size_t n, int64_t now,
                        int64_t seconds, ot_err *err)
{
	ot_holder me = holder_resolve(s, h);

	leases_init(leases, n);
	if (tx_begin(s, err) < 0)
		return -1;
	if (leases_take(s, &me, leases, n, now, seconds, err) < 0 || tx_commit(s, err) < 0) {
		tx_rollback(s);
		leases_clear(leases, n);
		return -1;
	}
	return 0;
}

int ot_store_lease_release(ot_store *s, const ot_holder *h, const char *const *accounts, size_t n,
                           ot_err *err)
{
	sqlite3_stmt *st;
	ot_holder me = holder_resolve(s, h);
	size_t i;

	if (tx_begin(s, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		st = stmt_get(s, ST_LEASE_RELEASE, err);
		if (!st)
			break;
		bind_text(st, 1, accounts[i]);
		bind_text(st, 2, me.host);
		sqlite3_bind_int64(st, 3, me.pid);
		sqlite3_bind_int64(st, 4, me.pid_ns);
		sqlite3_bind_int64(st, 5, me.start);
		if (stmt_run(s, st, err) < 0)
			break;
	}
	if (i < n || tx_commit(s, err) < 0) {
		tx_rollback(s);
		return -1;
	}
	return 0;
}

/* --- history --- */

/* A reason that quotes one of the tokens being committed is withheld (history never holds a
 * token value, even by a caller's mistake). */
static const char *event_safe_reason(const char *reason, const ot_credential *c)
{
	const char *tokens[2];
	size_t i;

	if (!reason || !c)
		return reason;
	tokens[0] = c->access_token;
	tokens[1] = c->refresh_token;
	for (i = 0; i < 2; i++)
		if (tokens[i] && strlen(tokens[i]) >= 8 && strstr(reason, tokens[i]))
			return "(reason withheld: it contained a token value)";
	return reason;
}

static int event_insert(ot_store *s, const ot_event *e, const ot_credential *c, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_EVENT_INSERT, err);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, e->at ? e->at : (int64_t)time(NULL));
	bind_text(st, 2, e->account ? e->account : (c ? c->account : NULL));
	bind_text(st, 3, e->kind ? e->kind : "");
	bind_text(st, 4, event_safe_reason(e->reason, c));
	bind_text(st, 5, e->old_fp);
	bind_text(st, 6, e->new_fp);
	bind_text(st, 7, e->actor);
	return stmt_run(s, st, err);
}

int ot_store_event_add(ot_store *s, const ot_event *e, ot_err *err)
{
	if (event_insert(s, e, NULL, err) < 0)
		return -1;
	s->writes++;
	return 0;
}

/* Writes the new state where h holds the lease, clearing it unless keep_lease, in one
 * statement (the token values aside): 1 written, 0 not held (or no row), -1 error. */
static int cred_commit_write(ot_store *s, const ot_holder *h, const ot_commit *c,
                             const cred_tokens *t, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_CRED_COMMIT, err);

	if (!st)
		return -1;
	cred_bind_fields(st, c->cred, t);
	sqlite3_bind_int(st, 19, c->keep_lease);
	bind_text(st, 20, h->host);
	sqlite3_bind_int64(st, 21, h->pid);
	sqlite3_bind_int64(st, 22, h->pid_ns);
	sqlite3_bind_int64(st, 23, h->start);
	if (stmt_run(s, st, err) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

/* A result whose lease is no longer ours: written while the stored refresh token is still the
 * one it sent (nobody rotated it: its new token must not be lost). Another live holder keeps
 * its lease (its request will be refused and see the race); a lapsed one is cleared. 1
 * written, 0 not, -1 error. */
static int cred_commit_unheld(ot_store *s, const ot_holder *h, const ot_commit *c,
                              const cred_tokens *t, ot_err *err)
{
	ot_credential row;
	lease_nonce rn = {0, 0};
	pid_memo memo = {0, 0, 0};
	sqlite3_stmt *st;
	bool other;
	int found;

	if (!c->sent_fp || !c->sent_fp[0])
		return 0;
	found = cred_load_nonce(s, c->cred->account, 0, &row, &rn, err);
	if (found <= 0)
		return found;
	other = strcmp(row.refresh_fp, c->sent_fp) == 0 &&
	        lease_classify(&row, &rn, h, (int64_t)time(NULL), &memo) == LEASE_OTHER;
	ot_credential_clear(&row);
	st = stmt_get(s, ST_CRED_COMMIT_UNHELD, err);
	if (!st)
		return -1;
	cred_bind_fields(st, c->cred, t);
	sqlite3_bind_int(st, 19, other || c->keep_lease);
	bind_text(st, 20, c->sent_fp);
	if (stmt_run(s, st, err) < 0)
		return -1;
	return sqlite3_changes(s->db) > 0;
}

static int commit_one(ot_store *s, const ot_holder *h, const ot_commit *c, int flags,
                      size_t *skipped, ot_err *err)
{
	cred_tokens t;
	int held;

	if (!c->cred || !c->cred->account)
		return ot_err_set(err, "%s: a commit without a credential", s->path);
	cred_tokens_init(&t, c->cred, (flags & OT_COMMIT_FPS_GIVEN) != 0);
	held = cred_commit_write(s, h, c, &t, err);
	if (held == 0)
		held = cred_commit_unheld(s, h, c, &t, err);
	if (held <= 0) {
		*skipped += held == 0;
		return held;
	}
	if (secrets_write(s, c->cred->account, &t, err) < 0)
		return -1;
	return c->event ? event_insert(s, c->event, c->cred, err) : 0;
}

/* Writes the commits inside the caller's transaction (me resolved); *skip counts the ones
 * skipped. */
static int commits_write(ot_store *s, const ot_holder *me, const ot_commit *c, size_t n, int flags,
                         size_t *skip, ot_err *err)
{
	for (size_t i = 0; i < n; i++)
		if (commit_one(s, me, &c[i], flags, skip, err) < 0)
			return -1;
	return 0;
}

int ot_store_commit_flags(ot_store *s, const ot_holder *h, const ot_commit *c, size_t n, int flags,
                          size_t *skipped, ot_err *err)
{
	size_t skip = 0;
	ot_holder me = holder_resolve(s, h);

	if (skipped)
		*skipped = 0;
	if (tx_begin(s, err) < 0)
		return -1;
	if (commits_write(s, &me, c, n, flags, &skip, err) < 0 || tx_commit(s, err) < 0) {
		tx_rollback(s);
		return -1;
	}
	if (skipped)
		*skipped = skip;
	return 0;
}

int ot_store_commit_lease(ot_store *s, const ot_holder *h, ot_store_batch *b, ot_err *err)
{
	size_t skip = 0;
	ot_holder me = holder_resolve(s, h);

	b->skipped = 0;
	leases_init(b->leases, b->n_leases);
	if (tx_begin(s, err) < 0)
		return -1;
	if (commits_write(s, &me, b->commits, b->n_commits, b->flags, &skip, err) < 0 ||
	    leases_take(s, &me, b->leases, b->n_leases, b->now, b->seconds, err) < 0 ||
	    tx_commit(s, err) < 0) {
		tx_rollback(s);
		leases_clear(b->leases, b->n_leases);
		return -1;
	}
	b->skipped = skip;
	return 0;
}

int ot_store_commit(ot_store *s, const ot_holder *h, const ot_commit *c, size_t n, size_t *skipped,
                    ot_err *err)
{
	return ot_store_commit_flags(s, h, c, n, 0, skipped, err);
}

static void event_read(sqlite3_stmt *st, ot_event *e)
{
	memset(e, 0, sizeof(*e));
	e->at = sqlite3_column_int64(st, 0);
	e->account = col_dup(st, 1);
	e->kind = col_dup(st, 2);
	e->reason = col_dup(st, 3);
	col_fp(st, 4, e->old_fp);
	col_fp(st, 5, e->new_fp);
	e->actor = col_dup(st, 6);
}

int ot_store_events(ot_store *s, const char *account, size_t limit, ot_event **out, size_t *n,
                    ot_err *err)
{
	sqlite3_stmt *st;
	ot_event *list = NULL, *grown;
	size_t cap = 0, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	st = stmt_get(s, account ? ST_EVENTS_ACCOUNT : ST_EVENTS_ALL, err);
	if (!st)
		return -1;
	if (account)
		bind_text(st, 1, account);
	sqlite3_bind_int64(st, 2, limit && limit <= (size_t)INT64_MAX ? (int64_t)limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = array_grow(list, &cap, cnt + 1, sizeof(*list));
		if (!grown) {
			rc = SQLITE_NOMEM;
			break;
		}
		list = grown;
		event_read(st, &list[cnt++]);
	}
	if (rc != SQLITE_DONE) {
		store_db_error(s, rc, err);
		stmt_done(st);
		ot_store_events_free(list, cnt);
		return -1;
	}
	stmt_done(st);
	*out = list;
	*n = cnt;
	return 0;
}

void ot_store_events_free(ot_event *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].account);
		free(list[i].kind);
		free(list[i].reason);
		free(list[i].actor);
	}
	free(list);
}

int ot_store_events_prune(ot_store *s, int64_t before, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_EVENTS_PRUNE, err);

	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	return write_one(s, st, err);
}

/* --- keepers --- */

int ot_store_keeper_beat(ot_store *s, const ot_holder *h, const char *kind, int64_t started,
                         int64_t now, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_KEEPER_BEAT, err);

	if (!st)
		return -1;
	bind_text(st, 1, h->host);
	sqlite3_bind_int64(st, 2, h->pid);
	bind_text(st, 3, kind ? kind : "");
	sqlite3_bind_int64(st, 4, started);
	sqlite3_bind_int64(st, 5, now);
	return write_one(s, st, err);
}

int ot_store_keeper_remove(ot_store *s, const ot_holder *h, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_KEEPER_REMOVE, err);

	if (!st)
		return -1;
	bind_text(st, 1, h->host);
	sqlite3_bind_int64(st, 2, h->pid);
	return write_one(s, st, err);
}

int ot_store_keepers(ot_store *s, ot_keeper **out, size_t *n, ot_err *err)
{
	sqlite3_stmt *st;
	ot_keeper *list = NULL, *grown;
	size_t cap = 0, cnt = 0;
	int rc;

	*out = NULL;
	*n = 0;
	st = stmt_get(s, ST_KEEPERS, err);
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = array_grow(list, &cap, cnt + 1, sizeof(*list));
		if (!grown) {
			rc = SQLITE_NOMEM;
			break;
		}
		list = grown;
		list[cnt].host = col_dup(st, 0);
		list[cnt].pid = sqlite3_column_int64(st, 1);
		list[cnt].kind = col_dup(st, 2);
		list[cnt].started = sqlite3_column_int64(st, 3);
		list[cnt].heartbeat = sqlite3_column_int64(st, 4);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		store_db_error(s, rc, err);
		stmt_done(st);
		ot_store_keepers_free(list, cnt);
		return -1;
	}
	stmt_done(st);
	*out = list;
	*n = cnt;
	return 0;
}

void ot_store_keepers_free(ot_keeper *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(list[i].host);
		free(list[i].kind);
	}
	free(list);
}

/* --- change detection and metadata --- */

int64_t ot_store_version(ot_store *s)
{
	sqlite3_stmt *st = s->stmts[ST_DATA_VERSION]; /* prepared by ot_store_open */
	int64_t dv = 0;

	if (sqlite3_step(st) == SQLITE_ROW)
		dv = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	/* Both terms only grow, so any commit, ours or another process's, changes the sum. */
	return dv + s->writes;
}

int ot_store_meta_get(ot_store *s, const char *key, char **value, ot_err *err)
{
	sqlite3_stmt *st;
	int rc;

	*value = NULL;
	st = stmt_get(s, ST_META_GET, err);
	if (!st)
		return -1;
	bind_text(st, 1, key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*value = col_dup(st, 0);
	else if (rc != SQLITE_DONE)
		store_db_error(s, rc, err);
	stmt_done(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int ot_store_meta_set(ot_store *s, const char *key, const char *value, ot_err *err)
{
	sqlite3_stmt *st = stmt_get(s, ST_META_SET, err);

	if (!st)
		return -1;
	bind_text(st, 1, key);
	bind_text(st, 2, value ? value : "");
	return write_one(s, st, err);
}
