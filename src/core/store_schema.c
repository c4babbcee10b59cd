/* store_schema.c - opening the SQLite store: file checks (mode, header), pragmas, schema
 * creation and forward migrations. Nothing here modifies a file that is not ours. */
#include "core/store_schema.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Marker row in meta: a database with our user_version but without it is someone else's. */
#define STORE_MARK_KEY   "oauthtop.store"
#define STORE_MARK_VALUE "oauthtop"

/* The columns of credentials in schema 2, in its order. */
#define V2_CRED_COLS                                                                               \
	"account, access_fp, token_type, scope, access_expires_at, refresh_fp, "                   \
	"refresh_expires_at, refresh_issued_at, last_attempt_at, last_success_at, last_outcome, "  \
	"last_error, failures, next_attempt_at, client_fp, lease_host, lease_pid, "                \
	"lease_expires_at, inflight_fp, updated_at"

/* Migration i takes the schema from version i to i + 1: a NULL-terminated list of SQL
 * statements, run with the PRAGMA user_version update in one transaction. */
static const char *const migrate_0_to_1[] = {
        "CREATE TABLE credentials ("
        " account TEXT PRIMARY KEY NOT NULL,"
        " access_token TEXT, access_fp TEXT NOT NULL DEFAULT '',"
        " token_type TEXT, scope TEXT, access_expires_at INTEGER NOT NULL DEFAULT 0,"
        " refresh_token TEXT, refresh_fp TEXT NOT NULL DEFAULT '',"
        " refresh_expires_at INTEGER NOT NULL DEFAULT 0,"
        " refresh_issued_at INTEGER NOT NULL DEFAULT 0,"
        " last_attempt_at INTEGER NOT NULL DEFAULT 0, last_success_at INTEGER NOT NULL DEFAULT 0,"
        " last_outcome INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,"
        " client_fp TEXT,"
        " lease_host TEXT, lease_pid INTEGER NOT NULL DEFAULT 0,"
        " lease_expires_at INTEGER NOT NULL DEFAULT 0, inflight_fp TEXT NOT NULL DEFAULT '',"
        " updated_at INTEGER NOT NULL DEFAULT 0)",
        "CREATE TABLE events ("
        " id INTEGER PRIMARY KEY, at INTEGER NOT NULL, account TEXT, kind TEXT NOT NULL,"
        " reason TEXT, old_fp TEXT NOT NULL DEFAULT '', new_fp TEXT NOT NULL DEFAULT '',"
        " actor TEXT)",
        "CREATE INDEX events_account_at ON events(account, at)",
        "CREATE INDEX events_at ON events(at)",
        "CREATE TABLE keepers ("
        " host TEXT NOT NULL, pid INTEGER NOT NULL, kind TEXT NOT NULL,"
        " started INTEGER NOT NULL, heartbeat INTEGER NOT NULL, PRIMARY KEY (host, pid))",
        "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)",
        "INSERT INTO meta (key, value) VALUES ('" STORE_MARK_KEY "', '" STORE_MARK_VALUE "')",
        NULL,
};

/* Version 2: the token values move out of credentials into secrets, so that what does not
 * need them (the console's list, the lease UPDATE) reads and writes small rows. credentials is
 * rebuilt rather than altered: DROP COLUMN shrinks its rows in place but leaves each on its
 * own page, and a list would still read the whole file. It is WITHOUT ROWID now (stored in
 * account order: a list reads it in order, a lookup is one search); secrets is not, its 1-4 KB
 * rows would spill a WITHOUT ROWID b-tree into overflow pages. One transaction; the dropped
 * table's pages are overwritten (secure_delete). */
static const char *const migrate_1_to_2[] = {
        "CREATE TABLE secrets ("
        " account TEXT PRIMARY KEY NOT NULL, access_token TEXT, refresh_token TEXT)",
        "INSERT INTO secrets (account, access_token, refresh_token)"
        " SELECT account, access_token, refresh_token FROM credentials"
        " WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL",
        "CREATE TABLE credentials_v2 ("
        " account TEXT PRIMARY KEY NOT NULL,"
        " access_fp TEXT NOT NULL DEFAULT '',"
        " token_type TEXT, scope TEXT, access_expires_at INTEGER NOT NULL DEFAULT 0,"
        " refresh_fp TEXT NOT NULL DEFAULT '',"
        " refresh_expires_at INTEGER NOT NULL DEFAULT 0,"
        " refresh_issued_at INTEGER NOT NULL DEFAULT 0,"
        " last_attempt_at INTEGER NOT NULL DEFAULT 0, last_success_at INTEGER NOT NULL DEFAULT 0,"
        " last_outcome INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
        " failures INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL DEFAULT 0,"
        " client_fp TEXT,"
        " lease_host TEXT, lease_pid INTEGER NOT NULL DEFAULT 0,"
        " lease_expires_at INTEGER NOT NULL DEFAULT 0, inflight_fp TEXT NOT NULL DEFAULT '',"
        " updated_at INTEGER NOT NULL DEFAULT 0,"
        /* The lease holder's nonce (store.h ot_holder): 0 = unknown. */
        " lease_ns INTEGER NOT NULL DEFAULT 0, lease_start INTEGER NOT NULL DEFAULT 0)"
        " WITHOUT ROWID",
        "INSERT INTO credentials_v2 (" V2_CRED_COLS ") SELECT " V2_CRED_COLS " FROM credentials",
        "DROP TABLE credentials",
        "ALTER TABLE credentials_v2 RENAME TO credentials",
        NULL,
};

static const char *const *const store_migrations[OT_STORE_SCHEMA] = {
        migrate_0_to_1,
        migrate_1_to_2,
};

int store_db_error(const ot_store *s, int rc, ot_err *err)
{
	int primary = rc & 0xff;

	if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && s->busy_ms % 1000)
		return ot_err_set(err, "%s: database is locked by another process (waited %d ms)",
		                  s->path, s->busy_ms);
	if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
		return ot_err_set(err, "%s: database is locked by another process (waited %d s)",
		                  s->path, s->busy_ms / 1000);
	if (primary == SQLITE_NOTADB)
		return ot_err_set(err, "%s: not an oauthtop store (not a SQLite database)",
		                  s->path);
	return ot_err_set(err, "%s: %s", s->path,
	                  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
}

int store_exec(ot_store *s, const char *sql, ot_err *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_db_error(s, rc, err);
}

/* --- the file --- */

/* Creates the directories leading to path (mode 0700 for the ones it creates). */
static int dir_make_parents(const ot_store *s, ot_err *err)
{
	char *buf = ot_strdup(s->path);
	char *p;
	int rc = 0;

	for (p = buf + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			rc = ot_err_set(err, "%s: cannot create directory %s: %s", s->path, buf,
			                strerror(errno));
		*p = '/';
	}
	free(buf);
	return rc;
}

static int file_create(const ot_store *s, ot_err *err)
{
	int fd;

	if (dir_make_parents(s, err) < 0)
		return -1;
	fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST) /* EEXIST: another process just created it */
		return ot_err_set(err, "%s: cannot create: %s", s->path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return 0;
}

static int file_check_mode(const char *file, const struct stat *st, ot_err *err)
{
	if (S_ISLNK(st->st_mode))
		return ot_err_set(err, "%s: is a symbolic link (give the real file)", file);
	if (!S_ISREG(st->st_mode))
		return ot_err_set(err, "%s: not a regular file", file);
	if (st->st_mode & 077)
		return ot_err_set(err,
		                  "%s: permissions %04o are too open (must be 0600): chmod 600 %s",
		                  file, (unsigned)(st->st_mode & 07777), file);
	return 0;
}

/* The -wal, -shm and -journal files hold the same secrets as the store. */
static int file_check_companions(const ot_store *s, ot_err *err)
{
	static const char *const suffix[] = {"-wal", "-shm", "-journal"};
	char name[4096];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (snprintf(name, sizeof(name), "%s%s", s->path, suffix[i]) >= (int)sizeof(name))
			return ot_err_set(err, "%s: path too long", s->path);
		if (lstat(name, &st) == 0 && file_check_mode(name, &st, err) < 0)
			return -1;
	}
	return 0;
}

/* Reads the 16-byte header ourselves so that a foreign file is never handed to SQLite. */
static int file_check_header(const ot_store *s, ot_err *err)
{
	static const char magic[16] = "SQLite format 3";
	char buf[16];
	ssize_t got;
	int fd = open(s->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return ot_err_set(err, "%s: cannot open: %s", s->path, strerror(errno));
	got = read(fd, buf, sizeof(buf));
	close(fd);
	if (got != (ssize_t)sizeof(buf) || memcmp(buf, magic, sizeof(buf)) != 0)
		return ot_err_set(err, "%s: not an oauthtop store (not a SQLite database)",
		                  s->path);
	return 0;
}

/* The directory the store lives in: one anyone may write to (and that lacks the sticky
 * bit, as /tmp has) lets anyone delete or replace the store and its -wal: refused, as a
 * configuration file writable by anyone is. */
static int file_check_dir(const ot_store *s, ot_err *err)
{
	char *dir = ot_strdup(s->path), *slash = strrchr(dir, '/');
	struct stat st;
	int rc = 0;

	if (!slash)
		snprintf(dir, strlen(dir) + 1, ".");
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
		rc = ot_err_set(err,
		                "%s: its directory %s is writable by anyone (mode %04o): anyone "
		                "could replace the store: chmod o-w %s",
		                s->path, dir, (unsigned)(st.st_mode & 07777), dir);
	free(dir);
	return rc;
}

static int file_check(const ot_store *s, int flags, ot_err *err)
{
	struct stat st;

	if (file_check_dir(s, err) < 0)
		return -1;
	if (lstat(s->path, &st) < 0) {
		if (errno != ENOENT)
			return ot_err_set(err, "%s: %s", s->path, strerror(errno));
		if (flags & OT_STORE_READONLY)
			return ot_err_set(err, "%s: no store yet (nothing imported or refreshed)",
			                  s->path);
		if (file_create(s, err) < 0)
			return -1;
		if (lstat(s->path, &st) < 0)
			return ot_err_set(err, "%s: %s", s->path, strerror(errno));
	}
	if (file_check_mode(s->path, &st, err) < 0 || file_check_companions(s, err) < 0)
		return -1;
	if (st.st_size > 0 && file_check_header(s, err) < 0)
		return -1;
	return 0;
}

/* --- schema --- */

static int query_int(ot_store *s, const char *sql, int64_t *out, ot_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*out = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : store_db_error(s, rc, err);
}

/* 1 if the meta marker is there, 0 if not (or no meta table). */
static int schema_has_mark(ot_store *s)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = '" STORE_MARK_KEY "'", -1,
	                       &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *v = sqlite3_column_text(st, 0);
		found = v && strcmp((const char *)v, STORE_MARK_VALUE) == 0;
	}
	sqlite3_finalize(st);
	return found;
}

/* Reads and validates the schema version without writing anything. */
static int schema_check(ot_store *s, int64_t *version, ot_err *err)
{
	int64_t tables = 0;

	if (query_int(s, "PRAGMA user_version", version, err) < 0)
		return -1;
	if (*version > OT_STORE_SCHEMA)
		return ot_err_set(err,
		                  "%s: schema version %lld is newer than this oauthtop supports "
		                  "(%d): upgrade oauthtop",
		                  s->path, (long long)*version, OT_STORE_SCHEMA);
	if (*version == 0) {
		if (query_int(s, "SELECT count(*) FROM sqlite_master", &tables, err) < 0)
			return -1;
		if (tables > 0)
			return ot_err_set(err,
			                  "%s: not an oauthtop store (a SQLite database with "
			                  "other tables)",
			                  s->path);
		return 0;
	}
	if (!schema_has_mark(s))
		return ot_err_set(err,
		                  "%s: not an oauthtop store (a SQLite database with "
		                  "other tables)",
		                  s->path);
	return 0;
}

static int schema_run_steps(ot_store *s, int64_t from, ot_err *err)
{
	char sql[64];
	int64_t v;
	size_t i;

	for (v = from; v < OT_STORE_SCHEMA; v++)
		for (i = 0; store_migrations[v][i]; i++)
			if (store_exec(s, store_migrations[v][i], err) < 0)
				return -1;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", OT_STORE_SCHEMA);
	return store_exec(s, sql, err);
}

/* After migrating a store that held data: a migration that rebuilt a table left its old pages
 * free (zeroed), as large as the table was; VACUUM gives them back, and the WAL that copied
 * them is truncated. Best effort: a store that stays larger is still correct. */
static void schema_compact(ot_store *s)
{
	sqlite3_exec(s->db, "VACUUM", NULL, NULL, NULL);
	sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
}

/* Brings the schema forward in one transaction; re-checks under the write lock because
 * another process may have migrated meanwhile. */
static int schema_migrate(ot_store *s, ot_err *err)
{
	int64_t version = 0;

	if (store_exec(s, "BEGIN IMMEDIATE", err) < 0)
		return -1;
	if (schema_check(s, &version, err) < 0 ||
	    (version < OT_STORE_SCHEMA && schema_run_steps(s, version, err) < 0) ||
	    store_exec(s, "COMMIT", err) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (version > 0 && version < OT_STORE_SCHEMA)
		schema_compact(s);
	return 0;
}

static int db_set_wal(ot_store *s, ot_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	int wal = 0;

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(st, 0);
			wal = m && strcmp((const char *)m, "wal") == 0;
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_db_error(s, rc, err);
	if (!wal)
		return ot_err_set(err, "%s: cannot switch the journal to WAL", s->path);
	return 0;
}

static int db_open(ot_store *s, int flags, ot_err *err)
{
	/* One connection per ot_store, which (its kept statements, its counters) is never shared
	 * between threads: SQLite's per-call connection mutex would only cost (two locks on
	 * every column read, 14% of a 100,000-row list). */
	int oflags = SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX;
	mode_t old_mask;
	int rc;

	oflags |= (flags & OT_STORE_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	old_mask = umask(077); /* -wal and -shm are created later, but keep them private too */
	rc = sqlite3_open_v2(s->path, &s->db, oflags, NULL);
	umask(old_mask);
	if (rc != SQLITE_OK)
		return store_db_error(s, rc, err);
	sqlite3_extended_result_codes(s->db, 1);
	s->busy_ms = STORE_BUSY_MS;
	sqlite3_busy_timeout(s->db, s->busy_ms);
	return 0;
}

static int db_setup(ot_store *s, int flags, int64_t version, ot_err *err)
{
	mode_t old_mask;
	int rc = 0;

	if (store_exec(s, "PRAGMA synchronous = FULL", err) < 0 ||
	    store_exec(s, "PRAGMA secure_delete = ON", err) < 0)
		return -1;
	if (flags & OT_STORE_READONLY) {
		if (version < OT_STORE_SCHEMA)
			return ot_err_set(err,
			                  "%s: schema version %lld needs migrating to %d: open it "
			                  "once without read-only",
			                  s->path, (long long)version, OT_STORE_SCHEMA);
		return 0;
	}
	old_mask = umask(077);
	if (db_set_wal(s, err) < 0 || (version < OT_STORE_SCHEMA && schema_migrate(s, err) < 0))
		rc = -1;
	umask(old_mask);
	return rc;
}

/* Validate before any pragma that writes, so a foreign database is left untouched. One
 * read transaction: another process creating the store meanwhile must not be seen half way
 * (its tables but not yet its version). */
static int schema_open_once(ot_store *s, int flags, ot_err *err)
{
	int64_t version = 0;

	if (store_exec(s, "BEGIN", err) < 0)
		return -1;
	if (schema_check(s, &version, err) < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	if (store_exec(s, "COMMIT", err) < 0)
		return -1;
	return db_setup(s, flags, version, err);
}

/* SQLite answers SQLITE_BUSY at once, without the busy handler, where waiting could
 * deadlock (two processes switching a new store to WAL together): retry the whole setup. */
static bool busy_now(ot_store *s)
{
	int rc = sqlite3_errcode(s->db) & 0xff;

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int store_schema_open(ot_store *s, int flags, ot_err *err)
{
	struct timespec pause = {0, 0};

	if (file_check(s, flags, err) < 0 || db_open(s, flags, err) < 0)
		return -1;
	for (int attempt = 0;; attempt++) {
		if (schema_open_once(s, flags, err) == 0)
			return 0;
		if (!busy_now(s) || attempt >= 100)
			return -1;
		pause.tv_nsec = (10 + (long)(rand() % 40)) * 1000000L;
		nanosleep(&pause, NULL);
	}
}
