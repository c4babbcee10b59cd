/* test_store.c - the SQLite credential store: files and modes, refusals, round trips, leases,
 * commits, history, keepers, change detection and metadata. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/store_schema.h" /* the connection, to watch what the store's SQL reads */
#include "oauthtop/store.h"

#define HOST "host-a"

typedef struct fixture {
	char dir[64];
	char path[128]; /* dir/state/sub/oauthtop.db: two directories to create */
	ot_store *s;
	ot_holder me;
} fixture;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/ot-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/state/sub/oauthtop.db", f->dir);
	f->me.host = HOST;
	f->me.pid = (int64_t)getpid();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;

	ot_store_close(f->s);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static ot_store *open_ok(const char *path)
{
	ot_err err = {{0}};
	ot_store *s = ot_store_open(path, 0, &err);

	if (!s)
		fail_msg("open %s: %s", path, err.msg);
	return s;
}

static void fill_cred(ot_credential *c, const char *account, const char *at, const char *rt)
{
	memset(c, 0, sizeof(*c));
	c->account = strdup(account);
	c->access_token = at ? strdup(at) : NULL;
	c->refresh_token = rt ? strdup(rt) : NULL;
	c->has_access_token = at != NULL;
	c->has_refresh_token = rt != NULL;
	c->token_type = strdup("Bearer");
	c->scope = strdup("read write");
	c->access_expires_at = 1700003600;
	c->refresh_expires_at = 1702592000;
	c->refresh_issued_at = 1700000000;
	c->last_attempt_at = 1700000001;
	c->last_success_at = 1700000002;
	c->last_outcome = OT_OUTCOME_TRANSIENT;
	c->last_error = strdup("HTTP 503");
	c->failures = 3;
	c->next_attempt_at = 1700000240;
	c->client_fp = strdup("abcd1234");
	c->lease_host = strdup("elsewhere");
	c->lease_pid = 4242;
	c->lease_expires_at = 1700000060;
	snprintf(c->inflight_fp, sizeof(c->inflight_fp), "0badf00d");
	c->updated_at = 1700000003;
}

static void put_ok(ot_store *s, const ot_credential *c)
{
	ot_err err = {{0}};

	if (ot_store_put(s, c, &err) < 0)
		fail_msg("put: %s", err.msg);
}

/* Stores a plain credential (no lease) for account. */
static void put_plain(ot_store *s, const char *account, const char *at, const char *rt)
{
	ot_credential c;

	fill_cred(&c, account, at, rt);
	free(c.lease_host);
	c.lease_host = NULL;
	c.lease_pid = 0;
	c.lease_expires_at = 0;
	c.inflight_fp[0] = '\0';
	put_ok(s, &c);
	ot_credential_clear(&c);
}

static void get_ok(ot_store *s, const char *account, int with_secrets, ot_credential *out)
{
	ot_err err = {{0}};

	assert_int_equal(ot_store_get(s, account, with_secrets, out, &err), 1);
}

static void assert_str_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_cred_equal(const ot_credential *a, const ot_credential *b)
{
	assert_string_equal(a->account, b->account);
	assert_str_or_null(a->access_token, b->access_token);
	assert_str_or_null(a->refresh_token, b->refresh_token);
	assert_str_or_null(a->token_type, b->token_type);
	assert_str_or_null(a->scope, b->scope);
	assert_int_equal(a->access_expires_at, b->access_expires_at);
	assert_int_equal(a->refresh_expires_at, b->refresh_expires_at);
	assert_int_equal(a->refresh_issued_at, b->refresh_issued_at);
	assert_int_equal(a->last_attempt_at, b->last_attempt_at);
	assert_int_equal(a->last_success_at, b->last_success_at);
	assert_int_equal(a->last_outcome, b->last_outcome);
	assert_str_or_null(a->last_error, b->last_error);
	assert_int_equal(a->failures, b->failures);
	assert_int_equal(a->next_attempt_at, b->next_attempt_at);
	assert_str_or_null(a->client_fp, b->client_fp);
	assert_str_or_null(a->lease_host, b->lease_host);
	assert_int_equal(a->lease_pid, b->lease_pid);
	assert_int_equal(a->lease_expires_at, b->lease_expires_at);
	assert_string_equal(a->inflight_fp, b->inflight_fp);
	assert_int_equal(a->updated_at, b->updated_at);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* Reads a whole small file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = malloc(65536);

	assert_non_null(fp);
	assert_non_null(buf);
	*len = fread(buf, 1, 65536, fp);
	fclose(fp);
	return buf;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void expect_open_error(const char *path, const char *want)
{
	ot_err err = {{0}};
	ot_store *s = ot_store_open(path, 0, &err);

	if (s) {
		ot_store_close(s);
		fail_msg("open %s succeeded, expected \"%s\"", path, want);
	}
	if (!strstr(err.msg, want) || !strstr(err.msg, path))
		fail_msg("error \"%s\" lacks \"%s\" or the path", err.msg, want);
}

static int64_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return (int64_t)pid;
}

/* --- files, modes and refusals --- */

static void test_roundtrip_every_field(void **state)
{
	fixture *f = *state;
	ot_credential in, out;

	f->s = open_ok(f->path);
	fill_cred(&in, "acme", "access-token-value-1", "refresh-token-value-1");
	put_ok(f->s, &in);
	ot_store_close(f->s);
	f->s = open_ok(f->path);
	get_ok(f->s, "acme", 1, &out);
	assert_cred_equal(&in, &out);
	assert_int_equal(out.has_access_token, 1);
	assert_int_equal(out.has_refresh_token, 1);
	ot_fingerprint("access-token-value-1", in.access_fp);
	ot_fingerprint("refresh-token-value-1", in.refresh_fp);
	assert_string_equal(out.access_fp, in.access_fp);
	assert_string_equal(out.refresh_fp, in.refresh_fp);
	ot_credential_clear(&out);

	/* an absent record is 0, not an error */
	ot_err err = {{0}};
	assert_int_equal(ot_store_get(f->s, "nosuch", 1, &out, &err), 0);
	ot_credential_clear(&in);
}

static void test_without_secrets(void **state)
{
	fixture *f = *state;
	ot_credential c, *list = NULL;
	size_t n = 0;
	ot_err err = {{0}};
	char fp[OT_FP_LEN];

	f->s = open_ok(f->path);
	put_plain(f->s, "b-account", "AT-secret-value-b", "RT-secret-value-b");
	put_plain(f->s, "a-account", NULL, "RT-secret-value-a");
	get_ok(f->s, "b-account", 0, &c);
	assert_null(c.access_token);
	assert_null(c.refresh_token);
	assert_int_equal(c.has_access_token, 1);
	assert_int_equal(c.has_refresh_token, 1);
	ot_fingerprint("RT-secret-value-b", fp);
	assert_string_equal(c.refresh_fp, fp);
	ot_credential_clear(&c);

	assert_int_equal(ot_store_list(f->s, 0, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].account, "a-account"); /* sorted */
	assert_string_equal(list[1].account, "b-account");
	assert_int_equal(list[0].has_access_token, 0);
	assert_string_equal(list[0].access_fp, "");
	assert_int_equal(list[0].has_refresh_token, 1);
	assert_null(list[0].refresh_token);
	ot_store_list_free(list, n);

	assert_int_equal(ot_store_list(f->s, 1, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].access_token, "AT-secret-value-b");
	ot_store_list_free(list, n);
}

static void test_file_and_dir_modes(void **state)
{
	fixture *f = *state;
	char p[192];
	mode_t old = umask(022);

	f->s = open_ok(f->path);
	umask(old);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	assert_int_equal(file_mode(f->path), 0600);
	snprintf(p, sizeof(p), "%s/state", f->dir);
	assert_int_equal(file_mode(p), 0700);
	snprintf(p, sizeof(p), "%s/state/sub", f->dir);
	assert_int_equal(file_mode(p), 0700);
	snprintf(p, sizeof(p), "%s-wal", f->path);
	assert_int_equal(file_mode(p), 0600);
	snprintf(p, sizeof(p), "%s-shm", f->path);
	assert_int_equal(file_mode(p), 0600);
}

static void test_refuse_open_permissions(void **state)
{
	fixture *f = *state;
	char wal[160];

	f->s = open_ok(f->path);
	ot_store_close(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0644), 0);
	expect_open_error(f->path, "permissions 0644 are too open (must be 0600): chmod 600 ");
	assert_int_equal(chmod(f->path, 0640), 0);
	expect_open_error(f->path, "permissions 0640 are too open");
	assert_int_equal(chmod(f->path, 0600), 0);

	/* the write-ahead log holds the same secrets: a readable one is refused too */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	write_file(wal, "", 0, 0644);
	expect_open_error(f->path, "-wal: permissions 0644 are too open");
	assert_int_equal(chmod(wal, 0600), 0);
	f->s = open_ok(f->path);
}

static void test_refuse_garbage(void **state)
{
	fixture *f = *state;
	char path[128], wal[160], buf[8192], *after;
	size_t i, len;
	unsigned x = 12345;

	for (i = 0; i < sizeof(buf); i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (char)(x >> 16);
	}
	snprintf(path, sizeof(path), "%s/garbage.db", f->dir);
	write_file(path, buf, sizeof(buf), 0600);
	expect_open_error(path, "not an oauthtop store (not a SQLite database)");
	after = slurp(path, &len);
	assert_int_equal(len, sizeof(buf));
	assert_memory_equal(after, buf, sizeof(buf));
	free(after);
	assert_int_equal(file_mode(path), 0600);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(access(wal, F_OK), -1);

	/* shorter than a header */
	write_file(path, "SQLite", 6, 0600);
	expect_open_error(path, "not a SQLite database");
}

static void test_refuse_foreign_sqlite(void **state)
{
	fixture *f = *state;
	char path[128], *before, *after;
	size_t blen, alen;
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE notes (x TEXT)", NULL, NULL, NULL), 0);
	sqlite3_close(db);
	assert_int_equal(chmod(path, 0600), 0);
	before = slurp(path, &blen);
	expect_open_error(path, "not an oauthtop store");
	after = slurp(path, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen); /* not even switched to WAL */
	free(before);
	free(after);

	/* a database claiming our version but without our tables */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), 0);
	sqlite3_close(db);
	expect_open_error(path, "not an oauthtop store");
}

static void test_refuse_newer_schema(void **state)
{
	fixture *f = *state;
	sqlite3 *db;
	char want[128];

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	ot_store_close(f->s);
	f->s = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), 0);
	sqlite3_close(db);
	snprintf(want, sizeof(want),
	         "schema version 99 is newer than this oauthtop supports (%d): upgrade oauthtop",
	         OT_STORE_SCHEMA);
	expect_open_error(f->path, want);
}

static void test_empty_file_initialised(void **state)
{
	fixture *f = *state;
	char path[128];
	ot_credential c;
	ot_err err = {{0}};
	sqlite3 *db;
	sqlite3_stmt *st;

	snprintf(path, sizeof(path), "%s/empty.db", f->dir);
	write_file(path, "", 0, 0600);
	f->s = open_ok(path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-1234567890");
	ot_credential_clear(&c);

	/* written with our schema version, in WAL mode */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), OT_STORE_SCHEMA);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), 0);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	/* read-only on a missing store fails and creates nothing */
	snprintf(path, sizeof(path), "%s/missing/x.db", f->dir);
	assert_null(ot_store_open(path, OT_STORE_READONLY, &err));
	assert_non_null(strstr(err.msg, path));
	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_readonly_open(void **state)
{
	fixture *f = *state;
	ot_err err = {{0}};
	ot_credential c;
	ot_store *ro;

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	ot_store_close(f->s);
	f->s = NULL;
	ro = ot_store_open(f->path, OT_STORE_READONLY, &err);
	if (!ro)
		fail_msg("read-only open: %s", err.msg);
	assert_int_equal(ot_store_get(ro, "acme", 0, &c, &err), 1);
	assert_int_equal(c.has_refresh_token, 1);
	ot_credential_clear(&c);
	ot_store_close(ro);
}

static void test_locked_message(void **state)
{
	fixture *f = *state;
	ot_credential c;
	ot_err err = {{0}};
	sqlite3 *db;

	f->s = open_ok(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), 0);
	fill_cred(&c, "acme", "AT-1234567890", "RT-1234567890");
	assert_int_equal(ot_store_put(f->s, &c, &err), -1);
	assert_non_null(strstr(err.msg, "database is locked by another process (waited 5 s)"));
	assert_non_null(strstr(err.msg, f->path));
	assert_null(strstr(err.msg, "RT-1234567890"));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	put_ok(f->s, &c); /* and works once the lock is gone */
	ot_credential_clear(&c);
}

/* --- leases --- */

static void take(ot_store *s, const ot_holder *h, ot_lease *l, size_t n, int64_t now,
                 int64_t seconds)
{
	ot_err err = {{0}};

	if (ot_store_lease_take(s, h, l, n, now, seconds, &err) < 0)
		fail_msg("lease_take: %s", err.msg);
}

static void test_lease_grant_and_relet(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential c;
	char fp[OT_FP_LEN];

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	take(f->s, &f->me, &l, 1, 1000, 60);
	assert_true(l.granted);
	assert_false(l.no_credential);
	assert_false(l.lost_answer);
	assert_string_equal(l.cred.refresh_token, "RT-1234567890");
	ot_fingerprint("RT-1234567890", fp);
	assert_string_equal(l.cred.inflight_fp, fp);
	assert_string_equal(l.cred.lease_host, HOST);
	assert_int_equal(l.cred.lease_expires_at, 1060);
	ot_credential_clear(&l.cred);

	get_ok(f->s, "acme", 0, &c);
	assert_string_equal(c.lease_host, HOST);
	assert_int_equal(c.lease_pid, f->me.pid);
	assert_int_equal(c.lease_expires_at, 1060);
	assert_string_equal(c.inflight_fp, fp);
	ot_credential_clear(&c);

	/* the same holder again: granted; our own in-flight marker on the current token is
	 * reported (an earlier attempt of ours may have lost its answer: the engine that still
	 * knows it never sent it ignores this) */
	take(f->s, &f->me, &l, 1, 1010, 60);
	assert_true(l.granted);
	assert_true(l.lost_answer);
	assert_int_equal(l.cred.lease_expires_at, 1070);
	ot_credential_clear(&l.cred);
}

static void test_lease_no_credential_creates_row(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "machine"};
	ot_credential c;

	f->s = open_ok(f->path);
	take(f->s, &f->me, &l, 1, 1000, 60);
	assert_true(l.granted);
	assert_true(l.no_credential);
	assert_string_equal(l.cred.account, "machine");
	assert_null(l.cred.refresh_token);
	ot_credential_clear(&l.cred);
	get_ok(f->s, "machine", 1, &c);
	assert_int_equal(c.lease_pid, f->me.pid);
	assert_string_equal(c.inflight_fp, "");
	ot_credential_clear(&c);
}

static void test_lease_live_holders_refused(void **state)
{
	fixture *f = *state;
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	ot_holder remote = {.host = "host-b", .pid = 1};
	ot_lease l = {.account = "acme"};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	take(f->s, &parent, &l, 1, 1000, 60);
	assert_true(l.granted);
	ot_credential_clear(&l.cred);

	take(f->s, &f->me, &l, 1, 1030, 60);
	assert_false(l.granted);
	assert_string_equal(l.cred.lease_host, HOST);
	assert_int_equal(l.cred.lease_pid, parent.pid);
	assert_null(l.cred.refresh_token); /* not ours: no secrets handed out */
	ot_credential_clear(&l.cred);

	/* another host is trusted until its lease expires (its pids are not ours to check) */
	put_plain(f->s, "beta", "AT-1234567890", "RT-beta-12345678");
	l.account = "beta";
	take(f->s, &remote, &l, 1, 1000, 60);
	assert_true(l.granted);
	ot_credential_clear(&l.cred);
	take(f->s, &f->me, &l, 1, 1059, 60);
	assert_false(l.granted);
	ot_credential_clear(&l.cred);
}

static void test_lease_dead_holder_lapses(void **state)
{
	fixture *f = *state;
	ot_holder dead = {.host = HOST, .pid = dead_pid()};
	ot_lease l = {.account = "acme"};

	assert_false(ot_pid_alive(dead.pid));
	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	take(f->s, &dead, &l, 1, 1000, 600);
	assert_true(l.granted);
	ot_credential_clear(&l.cred);

	take(f->s, &f->me, &l, 1, 1001, 60);
	assert_true(l.granted);
	assert_true(l.lost_answer); /* the dead keeper had this refresh token in flight */
	assert_int_equal(l.cred.lease_pid, f->me.pid);
	ot_credential_clear(&l.cred);
}

static void test_lease_expired_lapses_and_lost_answer(void **state)
{
	fixture *f = *state;
	ot_holder remote = {.host = "host-b", .pid = 77};
	ot_lease l = {.account = "acme"};
	ot_credential c;

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	take(f->s, &remote, &l, 1, 1000, 60);
	ot_credential_clear(&l.cred);
	take(f->s, &f->me, &l, 1, 1060, 60); /* expires_at == now: expired */
	assert_true(l.granted);
	assert_true(l.lost_answer);
	ot_credential_clear(&l.cred);

	/* the lapsed holder's token was rotated meanwhile: nothing was lost */
	fill_cred(&c, "acme", "AT-1234567890", "RT-rotated-12345");
	free(c.lease_host);
	c.lease_host = strdup("host-b");
	c.lease_pid = 77;
	c.lease_expires_at = 1100;
	ot_fingerprint("RT-1234567890", c.inflight_fp);
	put_ok(f->s, &c);
	ot_credential_clear(&c);
	take(f->s, &f->me, &l, 1, 1200, 60);
	assert_true(l.granted);
	assert_false(l.lost_answer);
	assert_string_equal(l.cred.refresh_token, "RT-rotated-12345");
	ot_credential_clear(&l.cred);
}

static void test_lease_batch_and_release(void **state)
{
	fixture *f = *state;
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	ot_lease l[3] = {{.account = "a"}, {.account = "b"}, {.account = "c"}};
	const char *names[] = {"a", "b"};
	ot_err err = {{0}};
	ot_credential c;
	size_t i;

	f->s = open_ok(f->path);
	put_plain(f->s, "a", "AT-1234567890", "RT-a-1234567890");
	put_plain(f->s, "b", "AT-1234567890", "RT-b-1234567890");
	take(f->s, &parent, &l[1], 1, 1000, 60);
	ot_credential_clear(&l[1].cred);
	take(f->s, &f->me, l, 3, 1001, 60);
	assert_true(l[0].granted);
	assert_false(l[1].granted);
	assert_true(l[2].granted);
	assert_true(l[2].no_credential);
	for (i = 0; i < 3; i++)
		ot_credential_clear(&l[i].cred);

	/* release only clears our own leases */
	assert_int_equal(ot_store_lease_release(f->s, &f->me, names, 2, &err), 0);
	get_ok(f->s, "a", 0, &c);
	assert_null(c.lease_host);
	assert_int_equal(c.lease_expires_at, 0);
	assert_string_equal(c.inflight_fp, "");
	assert_int_equal(c.has_refresh_token, 1);
	ot_credential_clear(&c);
	get_ok(f->s, "b", 0, &c);
	assert_int_equal(c.lease_pid, parent.pid);
	ot_credential_clear(&c);
}

/* A batch over leases of several holders on this host: each row is judged by its own holder
 * (the liveness check is remembered per pid, never carried over to another pid). */
static void test_lease_batch_mixed_holders(void **state)
{
	fixture *f = *state;
	ot_holder dead = {.host = HOST, .pid = dead_pid()};
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	const ot_holder *by[4] = {&dead, &parent, &dead, &parent};
	ot_lease l[4] = {{.account = "a"}, {.account = "b"}, {.account = "c"}, {.account = "d"}};
	size_t i;

	f->s = open_ok(f->path);
	for (i = 0; i < 4; i++) {
		put_plain(f->s, l[i].account, "AT-1234567890", "RT-1234567890");
		take(f->s, by[i], &l[i], 1, 1000, 600);
		assert_true(l[i].granted);
		ot_credential_clear(&l[i].cred);
	}
	take(f->s, &f->me, l, 4, 1001, 60);
	for (i = 0; i < 4; i++) {
		assert_int_equal(l[i].granted, by[i] == &dead);
		assert_int_equal(l[i].cred.lease_pid, l[i].granted ? f->me.pid : parent.pid);
		ot_credential_clear(&l[i].cred);
	}
}

/* --- commits --- */

static void test_commit_by_holder(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential next, c;
	ot_event ev = {0}, *evs = NULL;
	ot_commit cm = {&next, &ev, false, NULL};
	size_t skipped = 99, n = 0;
	ot_err err = {{0}};
	char fp[OT_FP_LEN];

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	take(f->s, &f->me, &l, 1, 1000, 60);
	ot_credential_copy(&next, &l.cred);
	ot_credential_set_str(&next.access_token, "AT-new-1234567890");
	ot_credential_set_str(&next.refresh_token, "RT-new-1234567890");
	next.last_outcome = OT_OUTCOME_OK;
	next.failures = 0;
	ev.at = 1001;
	ev.account = (char *)"acme";
	ev.kind = (char *)"refreshed";
	ev.reason = (char *)"ok RT-new-1234567890"; /* a careless caller */
	ev.actor = (char *)"refresh@host-a:1";
	snprintf(ev.old_fp, sizeof(ev.old_fp), "%s", l.cred.refresh_fp);
	ot_fingerprint("RT-new-1234567890", ev.new_fp);
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, &skipped, &err), 0);
	assert_int_equal(skipped, 0);

	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_string_equal(c.access_token, "AT-new-1234567890");
	ot_fingerprint("RT-new-1234567890", fp);
	assert_string_equal(c.refresh_fp, fp); /* computed at write time */
	assert_int_equal(c.last_outcome, OT_OUTCOME_OK);
	assert_null(c.lease_host);
	assert_int_equal(c.lease_expires_at, 0);
	assert_string_equal(c.inflight_fp, "");
	ot_credential_clear(&c);

	assert_int_equal(ot_store_events(f->s, "acme", 0, &evs, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(evs[0].kind, "refreshed");
	assert_string_equal(evs[0].new_fp, fp);
	assert_null(strstr(evs[0].reason, "RT-new"));
	ot_store_events_free(evs, n);
	ot_credential_clear(&next);
	ot_credential_clear(&l.cred);
}

static void test_commit_by_non_holder_skipped(void **state)
{
	fixture *f = *state;
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	ot_lease l = {.account = "acme"};
	ot_credential next, c;
	ot_event ev = {.at = 5, .kind = (char *)"refreshed"};
	ot_commit cm = {&next, &ev, false, NULL};
	ot_event *evs = NULL;
	size_t skipped = 0, n = 0;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	take(f->s, &parent, &l, 1, 1000, 60);
	ot_credential_clear(&l.cred);
	fill_cred(&next, "acme", "AT-mine-1234567890", "RT-mine-1234567890");
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, &skipped, &err), 0);
	assert_int_equal(skipped, 1);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	assert_int_equal(c.lease_pid, parent.pid);
	ot_credential_clear(&c);
	assert_int_equal(ot_store_events(f->s, NULL, 0, &evs, &n, &err), 0);
	assert_int_equal(n, 0);
	ot_store_events_free(evs, n);

	/* no row at all: skipped too */
	ot_credential_set_str(&next.account, "ghost");
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, &skipped, &err), 0);
	assert_int_equal(skipped, 1);
	assert_int_equal(ot_store_get(f->s, "ghost", 0, &c, &err), 0);
	ot_credential_clear(&next);
}

static void test_commit_keep_lease_and_token_guard(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential next, c;
	ot_commit cm = {&next, NULL, true, NULL};
	ot_err err = {{0}};
	char fp[OT_FP_LEN];

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	take(f->s, &f->me, &l, 1, 1000, 60);
	/* a record without token values but saying it has them keeps the stored ones */
	get_ok(f->s, "acme", 0, &next);
	next.failures = 7;
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	get_ok(f->s, "acme", 1, &c);
	assert_int_equal(c.failures, 7);
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	assert_string_equal(c.access_token, "AT-old-1234567890");
	assert_int_equal(c.lease_pid, f->me.pid); /* kept: abandoned request */
	ot_fingerprint("RT-old-1234567890", fp);
	assert_string_equal(c.inflight_fp, fp);
	ot_credential_clear(&c);

	/* has_access_token 0 and no value: the access token is removed */
	next.has_access_token = 0;
	cm.keep_lease = false;
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	get_ok(f->s, "acme", 1, &c);
	assert_null(c.access_token);
	assert_int_equal(c.has_access_token, 0);
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	assert_null(c.lease_host);
	ot_credential_clear(&c);
	ot_credential_clear(&next);
	ot_credential_clear(&l.cred);
}

/* One commit batch: ours with the lease cleared, another holder's skipped, ours keeping it. */
static void test_commit_batch_mixed(void **state)
{
	fixture *f = *state;
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	ot_lease l = {.account = "a"};
	ot_credential next[3], c;
	ot_event ev[3] = {{.at = 7, .kind = (char *)"refreshed"},
	                  {.at = 8, .kind = (char *)"refreshed"},
	                  {.at = 9, .kind = (char *)"failed"}};
	ot_commit cm[3] = {{&next[0], &ev[0], false, NULL},
	                   {&next[1], &ev[1], false, NULL},
	                   {&next[2], &ev[2], true, NULL}};
	const char *names[3] = {"a", "b", "c"};
	ot_event *evs = NULL;
	size_t skipped = 0, n = 0, i;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	for (i = 0; i < 3; i++) {
		put_plain(f->s, names[i], "AT-old-1234567890", "RT-old-1234567890");
		l.account = names[i];
		take(f->s, i == 1 ? &parent : &f->me, &l, 1, 1000, 60);
		ot_credential_clear(&l.cred);
		fill_cred(&next[i], names[i], "AT-new-1234567890", "RT-new-1234567890");
		ev[i].account = (char *)names[i];
	}
	assert_int_equal(ot_store_commit(f->s, &f->me, cm, 3, &skipped, &err), 0);
	assert_int_equal(skipped, 1);

	get_ok(f->s, "a", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_null(c.lease_host);
	assert_int_equal(c.lease_pid, 0);
	assert_int_equal(c.lease_expires_at, 0);
	assert_string_equal(c.inflight_fp, "");
	ot_credential_clear(&c);
	get_ok(f->s, "b", 1, &c);
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	assert_int_equal(c.lease_pid, parent.pid);
	assert_int_equal(c.lease_expires_at, 1060);
	ot_credential_clear(&c);
	get_ok(f->s, "c", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_string_equal(c.lease_host, HOST);
	assert_int_equal(c.lease_pid, f->me.pid);
	assert_int_equal(c.lease_expires_at, 1060);
	ot_credential_clear(&c);

	assert_int_equal(ot_store_events(f->s, NULL, 0, &evs, &n, &err), 0);
	assert_int_equal(n, 2); /* newest first: c then a, nothing for the skipped b */
	assert_string_equal(evs[0].account, "c");
	assert_string_equal(evs[1].account, "a");
	ot_store_events_free(evs, n);
	for (i = 0; i < 3; i++)
		ot_credential_clear(&next[i]);
}

/* --- history, keepers, versions, meta --- */

static void add_event(ot_store *s, int64_t at, const char *account, const char *kind)
{
	ot_event e = {0};
	ot_err err = {{0}};

	e.at = at;
	e.account = (char *)account;
	e.kind = (char *)kind;
	e.reason = (char *)"why";
	snprintf(e.old_fp, sizeof(e.old_fp), "11111111");
	snprintf(e.new_fp, sizeof(e.new_fp), "22222222");
	e.actor = (char *)"test@h:1";
	assert_int_equal(ot_store_event_add(s, &e, &err), 0);
}

static void test_events_order_limit_prune(void **state)
{
	fixture *f = *state;
	ot_event *evs = NULL;
	size_t n = 0;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	add_event(f->s, 100, "a", "first");
	add_event(f->s, 300, "b", "third");
	add_event(f->s, 200, "a", "second");
	add_event(f->s, 300, "a", "fourth"); /* same time: later insert is newer */
	assert_int_equal(ot_store_events(f->s, NULL, 0, &evs, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(evs[0].kind, "fourth");
	assert_string_equal(evs[1].kind, "third");
	assert_string_equal(evs[2].kind, "second");
	assert_string_equal(evs[3].kind, "first");
	assert_string_equal(evs[0].old_fp, "11111111");
	assert_string_equal(evs[0].actor, "test@h:1");
	ot_store_events_free(evs, n);

	assert_int_equal(ot_store_events(f->s, "a", 2, &evs, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(evs[0].kind, "fourth");
	assert_string_equal(evs[1].kind, "second");
	ot_store_events_free(evs, n);

	assert_int_equal(ot_store_events_prune(f->s, 200, &err), 0);
	assert_int_equal(ot_store_events(f->s, "a", 0, &evs, &n, &err), 0);
	assert_int_equal(n, 2); /* "first" (100) gone, 200 kept */
	assert_string_equal(evs[1].kind, "second");
	ot_store_events_free(evs, n);
}

static void test_keepers(void **state)
{
	fixture *f = *state;
	ot_holder other = {.host = "host-b", .pid = 5};
	ot_keeper *k = NULL;
	size_t n = 0;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	assert_int_equal(ot_store_keeper_beat(f->s, &f->me, "daemon", 100, 100, &err), 0);
	assert_int_equal(ot_store_keeper_beat(f->s, &other, "console", 50, 90, &err), 0);
	assert_int_equal(ot_store_keeper_beat(f->s, &f->me, "daemon", 100, 130, &err), 0);
	assert_int_equal(ot_store_keepers(f->s, &k, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(k[0].host, HOST);
	assert_int_equal(k[0].pid, f->me.pid);
	assert_string_equal(k[0].kind, "daemon");
	assert_int_equal(k[0].started, 100);
	assert_int_equal(k[0].heartbeat, 130);
	assert_string_equal(k[1].kind, "console");
	ot_store_keepers_free(k, n);

	assert_int_equal(ot_store_keeper_remove(f->s, &f->me, &err), 0);
	assert_int_equal(ot_store_keepers(f->s, &k, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(k[0].host, "host-b");
	ot_store_keepers_free(k, n);
}

static void test_version_changes(void **state)
{
	fixture *f = *state;
	ot_store *other;
	int64_t v0, v1, v2;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	other = open_ok(f->path);
	v0 = ot_store_version(f->s);
	assert_int_equal(ot_store_version(f->s), v0); /* nothing happened */
	assert_int_equal(ot_store_meta_set(other, "k", "v", &err), 0);
	v1 = ot_store_version(f->s);
	assert_true(v1 != v0);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	v2 = ot_store_version(f->s);
	assert_true(v2 != v1);
	assert_int_equal(ot_store_version(f->s), v2);
	ot_store_close(other);
}

/* Statements are kept between calls: each call starts afresh (its own parameters, no rows
 * left over) and sees what another connection committed in between. */
static void test_repeated_reads_see_writes(void **state)
{
	fixture *f = *state;
	ot_store *other;
	ot_credential c, *list = NULL;
	char *v = NULL;
	size_t n = 0, i;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	other = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-acme-1234567890");
	put_plain(f->s, "beta", "AT-1234567890", "RT-beta-1234567890");
	for (i = 0; i < 3; i++) {
		get_ok(f->s, i % 2 ? "beta" : "acme", 1, &c);
		assert_string_equal(c.account, i % 2 ? "beta" : "acme");
		ot_credential_clear(&c);
		assert_int_equal(ot_store_get(f->s, "gamma", 0, &c, &err), 0);
		assert_int_equal(ot_store_meta_get(f->s, "k", &v, &err), i > 0);
		free(v);
		v = NULL;
		assert_int_equal(ot_store_meta_set(other, "k", "v", &err), 0);
	}
	put_plain(other, "acme", "AT-1234567890", "RT-acme-rotated-123");
	put_plain(other, "gamma", "AT-1234567890", "RT-gamma-1234567890");
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-acme-rotated-123");
	ot_credential_clear(&c);
	get_ok(f->s, "gamma", 0, &c);
	ot_credential_clear(&c);
	assert_int_equal(ot_store_list(f->s, 0, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[2].account, "gamma");
	ot_store_list_free(list, n);
	ot_store_close(other);
}

static void test_meta(void **state)
{
	fixture *f = *state;
	char *v = NULL;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	assert_int_equal(ot_store_meta_get(f->s, "discovery:acme", &v, &err), 0);
	assert_null(v);
	assert_int_equal(ot_store_meta_set(f->s, "discovery:acme", "{\"a\":1}", &err), 0);
	assert_int_equal(ot_store_meta_set(f->s, "discovery:acme", "{\"a\":2}", &err), 0);
	assert_int_equal(ot_store_meta_get(f->s, "discovery:acme", &v, &err), 1);
	assert_string_equal(v, "{\"a\":2}");
	free(v);
}

static void test_pid_alive(void **state)
{
	(void)state;
	assert_true(ot_pid_alive((int64_t)getpid()));
	assert_true(ot_pid_alive(1)); /* EPERM or ours: alive either way */
	assert_false(ot_pid_alive(dead_pid()));
	assert_false(ot_pid_alive(0));
	assert_false(ot_pid_alive(-5));
}

static void test_delete(void **state)
{
	fixture *f = *state;
	ot_credential c;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	assert_int_equal(ot_store_delete(f->s, "acme", &err), 0);
	assert_int_equal(ot_store_get(f->s, "acme", 0, &c, &err), 0);
	assert_int_equal(ot_store_delete(f->s, "acme", &err), 0); /* not found is fine */
}

/* --- schema 2: token values apart --- */

/* Schema 1 exactly as oauthtop 1 wrote it (frozen: a v1 store never changes shape). */
static const char *const v1_ddl[] = {
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
        "INSERT INTO meta (key, value) VALUES ('oauthtop.store', 'oauthtop')",
        "PRAGMA user_version = 1",
        NULL,
};

/* A token of len characters, unique to tag: long enough to spill into an overflow page. */
static char *long_token(const char *tag, size_t len)
{
	char *t = malloc(len + 1);
	size_t i, n;

	assert_non_null(t);
	n = (size_t)snprintf(t, len + 1, "%s-", tag);
	for (i = n; i < len; i++)
		t[i] = "0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + len) % 36];
	t[len] = '\0';
	return t;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* Inserts one v1 row: tokens may be NULL; the lease is someone else's. */
static void v1_insert(sqlite3 *db, const char *account, const char *at, const char *rt)
{
	sqlite3_stmt *st;
	char afp[OT_FP_LEN] = "", rfp[OT_FP_LEN] = "";

	if (at)
		ot_fingerprint(at, afp);
	if (rt)
		ot_fingerprint(rt, rfp);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO credentials (account, access_token,"
	                                    " access_fp, token_type, scope, access_expires_at,"
	                                    " refresh_token, refresh_fp, failures, last_error,"
	                                    " lease_host, lease_pid, lease_expires_at, inflight_fp,"
	                                    " updated_at) VALUES (?1, ?2, ?3, 'Bearer', 'read',"
	                                    " 1700003600, ?4, ?5, 2, 'HTTP 503', 'elsewhere', 4242,"
	                                    " 1700000060, ?5, 1700000003)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, at, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, afp, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rt, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, rfp, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

/* Creates f->path as a schema-1 store (0700 directories, 0600 file, WAL) of three accounts. */
static void v1_store_make(const fixture *f, const char *at, const char *rt)
{
	char dir[160];
	sqlite3 *db;
	size_t i;

	snprintf(dir, sizeof(dir), "%s/state", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/state/sub", f->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(f->path, "", 0, 0600);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA journal_mode = WAL");
	exec_ok(db, "BEGIN");
	for (i = 0; v1_ddl[i]; i++)
		exec_ok(db, v1_ddl[i]);
	v1_insert(db, "both", at, rt);
	v1_insert(db, "rt-only", NULL, "RT-only-1234567890");
	v1_insert(db, "machine", NULL, NULL);
	exec_ok(db, "COMMIT");
	sqlite3_close(db);
}

static int64_t db_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* How many times needle occurs in the file (0 if there is no file). */
static size_t file_count(const char *path, const char *needle)
{
	FILE *fp = fopen(path, "rb");
	size_t len = strlen(needle), cnt = 0, got;
	char *buf;
	long size;

	if (!fp)
		return 0;
	fseek(fp, 0, SEEK_END);
	size = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	got = fread(buf, 1, (size_t)size, fp);
	fclose(fp);
	for (size_t i = 0; i + len <= got; i++)
		cnt += memcmp(buf + i, needle, len) == 0;
	free(buf);
	return cnt;
}

static void test_migrate_v1_keeps_every_token(void **state)
{
	fixture *f = *state;
	char *at = long_token("AT-v1", 1500), *rt = long_token("RT-v1", 1800);
	char fp[OT_FP_LEN], wal[160];
	ot_credential c, *list = NULL;
	size_t n = 0;
	ot_err err = {{0}};
	sqlite3 *db;
	sqlite3_stmt *st;

	v1_store_make(f, at, rt);
	f->s = open_ok(f->path);
	get_ok(f->s, "both", 1, &c);
	assert_string_equal(c.access_token, at);
	assert_string_equal(c.refresh_token, rt);
	ot_fingerprint(rt, fp);
	assert_string_equal(c.refresh_fp, fp);
	assert_string_equal(c.inflight_fp, fp);
	assert_string_equal(c.lease_host, "elsewhere");
	assert_int_equal(c.lease_pid, 4242);
	assert_int_equal(c.failures, 2);
	assert_string_equal(c.last_error, "HTTP 503");
	assert_int_equal(c.access_expires_at, 1700003600);
	assert_int_equal(c.updated_at, 1700000003);
	ot_credential_clear(&c);
	get_ok(f->s, "rt-only", 1, &c);
	assert_null(c.access_token);
	assert_int_equal(c.has_access_token, 0);
	assert_string_equal(c.refresh_token, "RT-only-1234567890");
	ot_credential_clear(&c);
	get_ok(f->s, "machine", 1, &c);
	assert_null(c.refresh_token);
	assert_int_equal(c.has_refresh_token, 0);
	ot_credential_clear(&c);
	assert_int_equal(ot_store_list(f->s, 1, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].account, "both");
	assert_string_equal(list[0].refresh_token, rt);
	ot_store_list_free(list, n);
	ot_store_close(f->s);
	f->s = NULL;

	/* schema 2: no value left in credentials, the old copies gone from the file */
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 2);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM secrets"), 2);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_not_equal(
	        sqlite3_prepare_v2(db, "SELECT refresh_token FROM credentials", -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(file_count(f->path, rt), 1);
	assert_int_equal(file_count(f->path, at), 1);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(file_count(wal, rt), 0);
	free(at);
	free(rt);
}

/* A migration that fails half way leaves the v1 store as it was. */
static void test_migrate_failure_leaves_v1(void **state)
{
	fixture *f = *state;
	sqlite3 *db;

	v1_store_make(f, "AT-v1-1234567890", "RT-v1-1234567890");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	exec_ok(db, "CREATE TABLE secrets (x)"); /* in the way of the migration */
	sqlite3_close(db);
	expect_open_error(f->path, "secrets");
	assert_int_equal(db_int(f->path, "PRAGMA user_version"), 1);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM credentials"
	                                 " WHERE refresh_token = 'RT-v1-1234567890'"),
	                 1);
}

/* ot_store_each: what it saw, copied (its strings live only during each call). */
typedef struct each_seen {
	ot_credential c[4];
	size_t n, stop_at;
} each_seen;

static int each_keep(const ot_credential *c, void *user, ot_err *err)
{
	each_seen *w = user;

	if (w->n == w->stop_at)
		return ot_err_set(err, "stopped at %zu", w->n);
	assert_true(w->n < 4);
	ot_credential_copy(&w->c[w->n++], c);
	return 0;
}

static void each_clear(each_seen *w)
{
	for (size_t i = 0; i < w->n; i++)
		ot_credential_clear(&w->c[i]);
	memset(w, 0, sizeof(*w));
	w->stop_at = SIZE_MAX;
}

/* Denies this connection any use of the secrets table. */
static int deny_secrets(void *arg, int action, const char *a1, const char *a2, const char *db,
                        const char *trigger)
{
	(void)action;
	(void)a2;
	(void)db;
	(void)trigger;
	if (a1 && strcmp(a1, "secrets") == 0) {
		(*(int *)arg)++;
		return SQLITE_DENY;
	}
	return SQLITE_OK;
}

static void test_without_secrets_never_reads_secrets(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential c, *list = NULL;
	ot_commit cm = {&c, NULL, false, NULL};
	size_t n = 0;
	ot_err err = {{0}};
	int denied = 0;

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	put_plain(f->s, "beta", "AT-b-1234567890", "RT-b-1234567890");
	get_ok(f->s, "acme", 1, &c); /* the kept statements, prepared before the watch */
	ot_credential_clear(&c);
	assert_int_equal(ot_store_list(f->s, 0, &list, &n, &err), 0);
	ot_store_list_free(list, n);
	take(f->s, &f->me, &l, 1, 1000, 60);
	ot_credential_clear(&l.cred);

	sqlite3_set_authorizer(f->s->db, deny_secrets, &denied); /* re-prepares them all */
	get_ok(f->s, "acme", 0, &c);
	assert_int_equal(c.has_refresh_token, 1);
	assert_null(c.refresh_token);
	/* a commit of a record loaded without secrets, tokens kept, lease released */
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	ot_credential_clear(&c);
	assert_int_equal(ot_store_list(f->s, 0, &list, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[1].has_access_token, 1);
	ot_store_list_free(list, n);
	{
		each_seen w = {.stop_at = SIZE_MAX};
		assert_int_equal(ot_store_each(f->s, each_keep, &w, &err), 0);
		assert_int_equal(w.n, 2);
		assert_int_equal(w.c[0].has_refresh_token, 1);
		each_clear(&w);
	}
	assert_int_equal(denied, 0);

	/* the watch bites: a read with secrets is refused */
	assert_int_equal(ot_store_get(f->s, "acme", 1, &c, &err), -1);
	assert_true(denied > 0);
	sqlite3_set_authorizer(f->s->db, NULL, NULL);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-1234567890");
	assert_null(c.lease_host);
	ot_credential_clear(&c);
}

/* A commit rewrites the secrets row only when a value changed. */
static void test_commit_unchanged_tokens_not_rewritten(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential next, c;
	ot_commit cm = {&next, NULL, true, NULL};
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	exec_ok(f->s->db, "CREATE TEMP TABLE writes (n INTEGER)");
	exec_ok(f->s->db, "INSERT INTO temp.writes VALUES (0)");
	exec_ok(f->s->db, "CREATE TEMP TRIGGER secrets_written AFTER UPDATE ON main.secrets"
	                  " BEGIN UPDATE writes SET n = n + 1; END");
	take(f->s, &f->me, &l, 1, 1000, 60);
	ot_credential_copy(&next, &l.cred); /* with the same values: a failed attempt */
	next.failures = 1;
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	assert_int_equal(db_int(f->path, "SELECT failures FROM credentials"), 1);
	get_ok(f->s, "acme", 1, &c);
	assert_int_equal(c.failures, 1);
	ot_credential_clear(&c);
	{
		sqlite3_stmt *st;
		assert_int_equal(
		        sqlite3_prepare_v2(f->s->db, "SELECT n FROM temp.writes", -1, &st, NULL),
		        SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 0);
		sqlite3_finalize(st);
	}
	/* a new access token is written, the refresh token kept */
	ot_credential_set_str(&next.access_token, "AT-new-1234567890");
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.access_token, "AT-new-1234567890");
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	ot_credential_clear(&c);
	{
		sqlite3_stmt *st;
		assert_int_equal(
		        sqlite3_prepare_v2(f->s->db, "SELECT n FROM temp.writes", -1, &st, NULL),
		        SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 1);
		sqlite3_finalize(st);
	}
	ot_credential_clear(&next);
	ot_credential_clear(&l.cred);
}

/* Deleting an account removes its token values too. */
static void test_delete_removes_secrets(void **state)
{
	fixture *f = *state;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");
	put_plain(f->s, "keep", "AT-k-1234567890", "RT-k-1234567890");
	assert_int_equal(ot_store_delete(f->s, "acme", &err), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM secrets WHERE account = 'acme'"), 0);
	assert_int_equal(db_int(f->path, "SELECT count(*) FROM secrets"), 1);
}

/* One integer from the store's own connection. */
static int64_t db_int_s(ot_store *s, const char *sql)
{
	sqlite3_stmt *st;
	int64_t v;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(s->db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* --- a lapsed lease's result, our own marker, the holder nonce --- */

/* Commits next (new tokens RT-new) for account as h with sent_fp; returns *skipped. */
static size_t commit_sent(ot_store *s, const ot_holder *h, const char *account, const char *sent)
{
	ot_credential next;
	ot_event ev = {.at = 9, .kind = (char *)"refreshed"};
	ot_commit cm = {&next, &ev, false, NULL};
	char fp[OT_FP_LEN];
	size_t skipped = 99;
	ot_err err = {{0}};

	fill_cred(&next, account, "AT-new-1234567890", "RT-new-1234567890");
	ev.account = (char *)account;
	if (sent) {
		ot_fingerprint(sent, fp);
		cm.sent_fp = fp;
	}
	if (ot_store_commit(s, h, &cm, 1, &skipped, &err) < 0)
		fail_msg("commit: %s", err.msg);
	ot_credential_clear(&next);
	return skipped;
}

static void test_commit_lapsed_unrotated_written(void **state)
{
	fixture *f = *state;
	ot_holder parent = {.host = HOST, .pid = (int64_t)getppid()};
	ot_lease l = {.account = "acme"};
	int64_t now = (int64_t)time(NULL);
	ot_credential c;
	ot_event *evs = NULL;
	size_t n = 0;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	take(f->s, &f->me, &l, 1, now - 200, 60); /* A's lease, lapsed */
	ot_credential_clear(&l.cred);
	take(f->s, &parent, &l, 1, now, 600); /* B, alive, has it now */
	assert_true(l.granted);
	assert_true(l.lost_answer);
	ot_credential_clear(&l.cred);

	/* A's answer with a refresh token B never rotated: a different one is skipped... */
	assert_int_equal(commit_sent(f->s, &f->me, "acme", "RT-other-1234567890"), 1);
	assert_int_equal(commit_sent(f->s, &f->me, "acme", NULL), 1);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-old-1234567890");
	ot_credential_clear(&c);
	/* ...the one it sent, still stored, is written; B keeps its lease (it will see a race) */
	assert_int_equal(commit_sent(f->s, &f->me, "acme", "RT-old-1234567890"), 0);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_string_equal(c.access_token, "AT-new-1234567890");
	assert_string_equal(c.lease_host, HOST);
	assert_int_equal(c.lease_pid, parent.pid);
	assert_int_equal(c.lease_expires_at, now + 600);
	ot_credential_clear(&c);
	assert_int_equal(ot_store_events(f->s, "acme", 0, &evs, &n, &err), 0);
	assert_int_equal(n, 1);
	ot_store_events_free(evs, n);
	/* now rotated: the same old answer again is skipped, the new token stays */
	assert_int_equal(commit_sent(f->s, &f->me, "acme", "RT-old-1234567890"), 1);

	/* lapsed and nobody took it: written and the lease cleared */
	put_plain(f->s, "beta", "AT-old-1234567890", "RT-old-1234567890");
	l.account = "beta";
	take(f->s, &f->me, &l, 1, now - 200, 60);
	ot_credential_clear(&l.cred);
	take(f->s, &parent, &l, 1, now - 100, 60); /* B's lapsed too */
	ot_credential_clear(&l.cred);
	assert_int_equal(commit_sent(f->s, &f->me, "beta", "RT-old-1234567890"), 0);
	get_ok(f->s, "beta", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_null(c.lease_host);
	assert_int_equal(c.lease_expires_at, 0);
	assert_string_equal(c.inflight_fp, "");
	ot_credential_clear(&c);
}

/* Our own in-flight marker (a failed commit, a reloaded engine with the same holder) is a
 * lost answer too; once committed or released it is not. */
static void test_lease_own_marker_lost_answer(void **state)
{
	fixture *f = *state;
	ot_lease l = {.account = "acme"};
	ot_credential next;
	ot_commit cm = {&next, NULL, true, NULL};
	const char *names[] = {"acme"};
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	take(f->s, &f->me, &l, 1, 1000, 600);
	assert_false(l.lost_answer);
	ot_credential_copy(&next, &l.cred);
	ot_credential_clear(&l.cred);
	/* the answer was lost: committed keeping the lease and its marker */
	next.failures = 1;
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	take(f->s, &f->me, &l, 1, 1010, 600); /* still ours, not expired */
	assert_true(l.granted);
	assert_true(l.lost_answer);
	ot_credential_clear(&l.cred);
	/* a plain failure clears the lease: no marker, nothing lost */
	cm.keep_lease = false;
	assert_int_equal(ot_store_commit(f->s, &f->me, &cm, 1, NULL, &err), 0);
	take(f->s, &f->me, &l, 1, 1020, 600);
	assert_false(l.lost_answer);
	ot_credential_clear(&l.cred);
	assert_int_equal(ot_store_lease_release(f->s, &f->me, names, 1, &err), 0);
	take(f->s, &f->me, &l, 1, 1030, 600);
	assert_false(l.lost_answer);
	ot_credential_clear(&l.cred);
	ot_credential_clear(&next);
}

/* Field 22 of /proc/PID/stat, 0 if unreadable. */
static int64_t proc_start(int64_t pid)
{
	char path[64], buf[1024], *p;
	long long v = 0;
	size_t got;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%lld/stat", (long long)pid);
	fp = fopen(path, "r");
	if (!fp)
		return 0;
	got = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[got] = '\0';
	p = strrchr(buf, ')');
	for (int i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lld", &v) != 1)
		return 0;
	return (int64_t)v;
}

/* Writes a lease straight into the row, as another process (maybe in another PID namespace)
 * would have; the marker is on the current token. */
static void lease_raw(ot_store *s, const char *account, const char *host, int64_t pid, int64_t ns,
                      int64_t start, int64_t expires)
{
	sqlite3_stmt *st;

	assert_int_equal(
	        sqlite3_prepare_v2(s->db,
	                           "UPDATE credentials SET lease_host = ?2, lease_pid = ?3,"
	                           " lease_ns = ?4, lease_start = ?5, lease_expires_at = ?6,"
	                           " inflight_fp = refresh_fp WHERE account = ?1",
	                           -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, pid);
	sqlite3_bind_int64(st, 4, ns);
	sqlite3_bind_int64(st, 5, start);
	sqlite3_bind_int64(st, 6, expires);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(s->db), 1);
	sqlite3_finalize(st);
}

static bool take_granted(ot_store *s, const ot_holder *h, const char *account, int64_t now)
{
	ot_lease l = {.account = account};
	bool granted;

	take(s, h, &l, 1, now, 60);
	granted = l.granted;
	ot_credential_clear(&l.cred);
	return granted;
}

static void test_holder_nonce(void **state)
{
	fixture *f = *state;
	ot_holder me, zero = {.host = HOST, .pid = (int64_t)getpid()};
	int64_t ppid = (int64_t)getppid(), pstart = proc_start(ppid), self;
	ot_lease l = {.account = "acme"};
	ot_credential c;

	ot_holder_init(&me, HOST);
	assert_int_equal(me.pid, (int64_t)getpid());
	if (me.pid_ns == 0 || me.start == 0 || pstart == 0)
		skip(); /* no /proc here */
	assert_int_equal(me.start, proc_start(me.pid));
	self = me.start;
	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-1234567890", "RT-1234567890");

	/* a holder with this pid but no nonce is this process: it writes ours */
	take(f->s, &zero, &l, 1, 1000, 60);
	assert_true(l.granted);
	ot_credential_clear(&l.cred);
	assert_int_equal(db_int_s(f->s, "SELECT lease_ns FROM credentials"), me.pid_ns);
	assert_int_equal(db_int_s(f->s, "SELECT lease_start FROM credentials"), self);
	assert_true(take_granted(f->s, &me, "acme", 1001));

	/* same host, same pid, another PID namespace (two containers, both this pid): not ours,
	 * trusted until it expires - even a pid dead here, whose pids mean nothing here */
	lease_raw(f->s, "acme", HOST, me.pid, me.pid_ns + 1, self, 1100);
	assert_false(take_granted(f->s, &me, "acme", 1050));
	assert_int_equal(commit_sent(f->s, &me, "acme", NULL), 1); /* not ours to commit */
	lease_raw(f->s, "acme", HOST, dead_pid(), me.pid_ns + 1, 5, 1100);
	assert_false(take_granted(f->s, &me, "acme", 1050));
	l.account = "acme";
	take(f->s, &me, &l, 1, 1100, 60); /* expired */
	assert_true(l.granted);
	assert_true(l.lost_answer);
	ot_credential_clear(&l.cred);

	/* our namespace: a live pid that started when the holder did holds it... */
	lease_raw(f->s, "acme", HOST, ppid, me.pid_ns, pstart, 2000);
	assert_false(take_granted(f->s, &me, "acme", 1200));
	/* ...a live pid that started later is a reused pid: the holder is gone */
	lease_raw(f->s, "acme", HOST, ppid, me.pid_ns, pstart - 1, 2000);
	assert_true(take_granted(f->s, &me, "acme", 1200));
	/* our own pid with another start time: a previous process, not us, and gone */
	lease_raw(f->s, "acme", HOST, me.pid, me.pid_ns, self - 1, 2000);
	assert_int_equal(commit_sent(f->s, &me, "acme", NULL), 1);
	l.account = "acme";
	take(f->s, &me, &l, 1, 1200, 60);
	assert_true(l.granted);
	assert_true(l.lost_answer);
	ot_credential_clear(&l.cred);
	/* unknown nonce (0): judged by host and pid as before */
	lease_raw(f->s, "acme", HOST, ppid, 0, 0, 2000);
	assert_false(take_granted(f->s, &me, "acme", 1200));
	lease_raw(f->s, "acme", HOST, dead_pid(), 0, 0, 2000);
	assert_true(take_granted(f->s, &me, "acme", 1200));

	/* release and commit only touch our exact lease */
	lease_raw(f->s, "acme", HOST, me.pid, me.pid_ns + 1, self, 2000);
	{
		const char *names[] = {"acme"};
		ot_err err = {{0}};
		assert_int_equal(ot_store_lease_release(f->s, &me, names, 1, &err), 0);
	}
	get_ok(f->s, "acme", 0, &c);
	assert_int_equal(c.lease_expires_at, 2000);
	ot_credential_clear(&c);
	lease_raw(f->s, "acme", HOST, me.pid, me.pid_ns, self, 2000);
	assert_int_equal(commit_sent(f->s, &me, "acme", NULL), 0);
	get_ok(f->s, "acme", 1, &c);
	assert_null(c.lease_host);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	ot_credential_clear(&c);
	assert_int_equal(db_int_s(f->s, "SELECT lease_ns + lease_start FROM credentials"), 0);
}

/* The summary walk: account order, the health fields as a list reads them, nothing else (no
 * token, no fingerprint, no lease holder), and a stop that ends the walk. */
static void test_each_summary(void **state)
{
	fixture *f = *state;
	ot_credential c, *list = NULL;
	each_seen w = {.stop_at = SIZE_MAX};
	size_t n = 0;
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	fill_cred(&c, "m-leased", "AT-m-1234567890", "RT-m-1234567890");
	put_ok(f->s, &c); /* with a lease and an in-flight marker */
	ot_credential_clear(&c);
	put_plain(f->s, "z-plain", NULL, "RT-z-1234567890");
	fill_cred(&c, "a-bare", NULL, NULL);
	free(c.last_error);
	free(c.client_fp);
	c.last_error = c.client_fp = NULL;
	c.last_outcome = OT_OUTCOME_PERMANENT;
	c.failures = 0;
	put_ok(f->s, &c);
	ot_credential_clear(&c);

	assert_int_equal(ot_store_each(f->s, each_keep, &w, &err), 0);
	assert_int_equal(ot_store_list(f->s, 0, &list, &n, &err), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		const ot_credential *a = &w.c[i], *b = &list[i];
		assert_string_equal(a->account, b->account);
		assert_int_equal(a->access_expires_at, b->access_expires_at);
		assert_int_equal(a->has_access_token, b->has_access_token);
		assert_int_equal(a->has_refresh_token, b->has_refresh_token);
		assert_int_equal(a->refresh_expires_at, b->refresh_expires_at);
		assert_int_equal(a->refresh_issued_at, b->refresh_issued_at);
		assert_int_equal(a->last_attempt_at, b->last_attempt_at);
		assert_int_equal(a->last_success_at, b->last_success_at);
		assert_int_equal(a->last_outcome, b->last_outcome);
		assert_str_or_null(a->last_error, b->last_error);
		assert_int_equal(a->failures, b->failures);
		assert_int_equal(a->next_attempt_at, b->next_attempt_at);
		assert_str_or_null(a->client_fp, b->client_fp);
		assert_int_equal(a->lease_expires_at, b->lease_expires_at);
		/* the rest is left out */
		assert_null(a->access_token);
		assert_null(a->refresh_token);
		assert_null(a->token_type);
		assert_null(a->lease_host);
		assert_int_equal(a->lease_pid, 0);
		assert_string_equal(a->access_fp, "");
		assert_string_equal(a->inflight_fp, "");
	}
	assert_string_equal(w.c[0].account, "a-bare");
	assert_int_equal(w.c[0].has_access_token, 0);
	assert_int_equal(w.c[0].has_refresh_token, 0);
	assert_null(w.c[0].last_error);
	assert_int_equal(w.c[0].last_outcome, OT_OUTCOME_PERMANENT);
	assert_string_equal(w.c[1].account, "m-leased");
	assert_int_equal(w.c[1].lease_expires_at, 1700000060);
	assert_string_equal(w.c[1].last_error, "HTTP 503");
	assert_string_equal(w.c[1].client_fp, "abcd1234");
	assert_string_equal(w.c[2].account, "z-plain");
	assert_int_equal(w.c[2].has_access_token, 0);
	assert_int_equal(w.c[2].has_refresh_token, 1);
	ot_store_list_free(list, n);

	/* a stop ends the walk with the callback's error; the statement is reset (a write from
	 * another connection is seen by the next walk) */
	each_clear(&w);
	w.stop_at = 1;
	assert_int_equal(ot_store_each(f->s, each_keep, &w, &err), -1);
	assert_string_equal(err.msg, "stopped at 1");
	assert_int_equal(w.n, 1);
	each_clear(&w);
	{
		ot_store *other = open_ok(f->path);
		put_plain(other, "b-new", "AT-b-1234567890", "RT-b-1234567890");
		ot_store_close(other);
	}
	assert_int_equal(ot_store_each(f->s, each_keep, &w, &err), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.c[1].account, "b-new");
	assert_int_equal(w.c[1].has_access_token, 1);
	each_clear(&w);
}

/* Commits acme's new tokens under a fresh lease with the given flags and fingerprints. */
static void commit_tokens(fixture *f, int flags, const char *at, const char *afp, const char *rt,
                          const char *rfp)
{
	ot_lease l = {.account = "acme"};
	ot_credential next;
	ot_commit cm = {.cred = &next};
	size_t skipped = 99;
	ot_err err = {{0}};

	take(f->s, &f->me, &l, 1, 1000, 60);
	ot_credential_copy(&next, &l.cred);
	ot_credential_set_str(&next.access_token, at);
	ot_credential_set_str(&next.refresh_token, rt);
	snprintf(next.access_fp, sizeof(next.access_fp), "%s", afp);
	snprintf(next.refresh_fp, sizeof(next.refresh_fp), "%s", rfp);
	assert_int_equal(ot_store_commit_flags(f->s, &f->me, &cm, 1, flags, &skipped, &err), 0);
	assert_int_equal(skipped, 0);
	ot_credential_clear(&next);
	ot_credential_clear(&l.cred);
}

/* OT_COMMIT_FPS_GIVEN: the record's fingerprints are written as given (the caller vouches
 * for them: here a marker proves no hash was taken); an empty one is still computed. Without
 * the flag every fingerprint comes from the values. */
static void test_commit_fps_given(void **state)
{
	fixture *f = *state;
	char afp[OT_FP_LEN], rfp[OT_FP_LEN];
	ot_credential c;

	f->s = open_ok(f->path);
	put_plain(f->s, "acme", "AT-old-1234567890", "RT-old-1234567890");
	commit_tokens(f, OT_COMMIT_FPS_GIVEN, "AT-new-1234567890", "", "RT-new-1234567890",
	              "0000beef");
	ot_fingerprint("AT-new-1234567890", afp);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.refresh_token, "RT-new-1234567890");
	assert_string_equal(c.refresh_fp, "0000beef");
	assert_string_equal(c.access_fp, afp);
	ot_credential_clear(&c);

	commit_tokens(f, 0, "AT-3-1234567890", "0000beef", "RT-3-1234567890", "0000beef");
	ot_fingerprint("AT-3-1234567890", afp);
	ot_fingerprint("RT-3-1234567890", rfp);
	get_ok(f->s, "acme", 1, &c);
	assert_string_equal(c.access_fp, afp);
	assert_string_equal(c.refresh_fp, rfp);
	ot_credential_clear(&c);
}

/* A commit and the next lease batch in one transaction: the result is stored and its lease
 * cleared, the new lease granted with the secrets and its in-flight marker, one commit. */
static void test_commit_lease_one_transaction(void **state)
{
	fixture *f = *state;
	ot_lease la = {.account = "a"}, lb[2] = {{.account = "b"}, {.account = "c"}};
	ot_credential next, c;
	ot_commit cm = {.cred = &next};
	ot_store_batch b = {.commits = &cm,
	                    .n_commits = 1,
	                    .leases = lb,
	                    .n_leases = 2,
	                    .now = 1000,
	                    .seconds = 60};
	ot_err err = {{0}};
	int64_t writes;

	f->s = open_ok(f->path);
	put_plain(f->s, "a", "AT-a-1234567890", "RT-a-1234567890");
	put_plain(f->s, "b", "AT-b-1234567890", "RT-b-1234567890");
	take(f->s, &f->me, &la, 1, 1000, 60);
	ot_credential_copy(&next, &la.cred);
	ot_credential_set_str(&next.refresh_token, "RT-a-new-1234567890");
	writes = f->s->writes;
	assert_int_equal(ot_store_commit_lease(f->s, &f->me, &b, &err), 0);
	assert_int_equal(f->s->writes, writes + 1);
	assert_int_equal(b.skipped, 0);

	get_ok(f->s, "a", 1, &c);
	assert_string_equal(c.refresh_token, "RT-a-new-1234567890");
	assert_int_equal(c.lease_expires_at, 0);
	ot_credential_clear(&c);
	assert_true(lb[0].granted);
	assert_false(lb[0].no_credential);
	assert_string_equal(lb[0].cred.refresh_token, "RT-b-1234567890");
	assert_true(lb[1].granted && lb[1].no_credential); /* c: a row is created */
	get_ok(f->s, "b", 0, &c);
	assert_string_equal(c.lease_host, HOST);
	assert_int_equal(c.lease_expires_at, 1060);
	assert_string_equal(c.inflight_fp, c.refresh_fp);
	ot_credential_clear(&c);
	ot_credential_clear(&next);
	ot_credential_clear(&la.cred);
	ot_credential_clear(&lb[0].cred);
	ot_credential_clear(&lb[1].cred);
}

/* All or nothing: a lease that fails (here a trigger refuses b's lease write) undoes the
 * commit made before it in the same call, and grants nothing. */
static void test_commit_lease_all_or_nothing(void **state)
{
	fixture *f = *state;
	ot_lease la = {.account = "a"}, lb[2] = {{.account = "c"}, {.account = "b"}};
	ot_credential next, c;
	ot_commit cm = {.cred = &next};
	ot_store_batch b = {.commits = &cm,
	                    .n_commits = 1,
	                    .leases = lb,
	                    .n_leases = 2,
	                    .now = 1000,
	                    .seconds = 60};
	ot_err err = {{0}};

	f->s = open_ok(f->path);
	put_plain(f->s, "a", "AT-a-1234567890", "RT-a-1234567890");
	put_plain(f->s, "b", "AT-b-1234567890", "RT-b-1234567890");
	put_plain(f->s, "c", "AT-c-1234567890", "RT-c-1234567890");
	take(f->s, &f->me, &la, 1, 1000, 60);
	ot_credential_copy(&next, &la.cred);
	ot_credential_set_str(&next.refresh_token, "RT-a-new-1234567890");
	assert_int_equal(
	        sqlite3_exec(f->s->db,
	                     "CREATE TEMP TRIGGER refuse_b BEFORE UPDATE OF lease_expires_at"
	                     " ON credentials WHEN NEW.account = 'b'"
	                     " BEGIN SELECT RAISE(ABORT, 'injected'); END",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	assert_int_equal(ot_store_commit_lease(f->s, &f->me, &b, &err), -1);
	assert_non_null(strstr(err.msg, "injected"));
	assert_false(lb[0].granted); /* c was leased before b failed: undone too */
	assert_null(lb[0].cred.refresh_token);
	assert_false(lb[1].granted);

	get_ok(f->s, "a", 1, &c);
	assert_string_equal(c.refresh_token, "RT-a-1234567890"); /* the commit was undone */
	assert_int_equal(c.lease_expires_at, 1060);              /* and the lease is still ours */
	ot_credential_clear(&c);
	get_ok(f->s, "c", 0, &c);
	assert_null(c.lease_host);
	ot_credential_clear(&c);
	ot_credential_clear(&next);
	ot_credential_clear(&la.cred);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	        T(test_roundtrip_every_field),
	        T(test_without_secrets),
	        T(test_file_and_dir_modes),
	        T(test_refuse_open_permissions),
	        T(test_refuse_garbage),
	        T(test_refuse_foreign_sqlite),
	        T(test_refuse_newer_schema),
	        T(test_empty_file_initialised),
	        T(test_readonly_open),
	        T(test_locked_message),
	        T(test_lease_grant_and_relet),
	        T(test_lease_no_credential_creates_row),
	        T(test_lease_live_holders_refused),
	        T(test_lease_dead_holder_lapses),
	        T(test_lease_expired_lapses_and_lost_answer),
	        T(test_lease_batch_and_release),
	        T(test_lease_batch_mixed_holders),
	        T(test_commit_by_holder),
	        T(test_commit_by_non_holder_skipped),
	        T(test_commit_keep_lease_and_token_guard),
	        T(test_commit_batch_mixed),
	        T(test_events_order_limit_prune),
	        T(test_keepers),
	        T(test_version_changes),
	        T(test_repeated_reads_see_writes),
	        T(test_meta),
	        T(test_pid_alive),
	        T(test_delete),
	        T(test_migrate_v1_keeps_every_token),
	        T(test_migrate_failure_leaves_v1),
	        T(test_without_secrets_never_reads_secrets),
	        T(test_commit_unchanged_tokens_not_rewritten),
	        T(test_delete_removes_secrets),
	        T(test_commit_lapsed_unrotated_written),
	        T(test_lease_own_marker_lost_answer),
	        T(test_holder_nonce),
	        T(test_each_summary),
	        T(test_commit_fps_given),
	        T(test_commit_lease_one_transaction),
	        T(test_commit_lease_all_or_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
