/* store_vfs.c - the store's VFS: SQLite's default (unix) VFS, every call passed on, except
 * that the write-ahead log's writes are gathered. SQLite writes a WAL frame as two pwrite(2)
 * calls (its 24-byte header, then the page); a refresh commits a few frames, so half of the
 * store's write calls were headers. Here consecutive writes to the WAL stay in a buffer and
 * reach the file in one call (at most 120 KiB at a time), before anything else is done with
 * that file (a read, the sync that makes a commit durable, a truncation, its size, a file
 * control, a close) and before the database's shared-memory index is touched (which is how
 * SQLite publishes a commit to other connections).
 *
 * Durability, failures and what other processes see are unchanged because the WAL gathers
 * only while its database runs with PRAGMA synchronous = FULL (or EXTRA): then every commit
 * syncs the WAL before it is published, and the sync writes the gathered bytes first. A write
 * that fails is reported by the call that flushed it when SQLite checks that call's result,
 * else kept and reported by the WAL's next checked call - the sync of the commit at the
 * latest, which then fails as the write itself would have. With any other synchronous setting
 * the writes go straight through. A process that dies with bytes still gathered loses only
 * frames that no commit had published. (The checkpoint's writes into the database file are
 * not gathered: SQLite publishes a partial checkpoint after a file control whose result it
 * ignores, so a late write error could not stop it.) */
#include "core/store_vfs.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "oauthtop/secret.h"

#define VFS_NAME "oauthtop-unix"

/* At most this many bytes go out in one write: the unix VFS writes at most 128 KiB - 1 per
 * call (it masks the length with 0x1ffff and calls a short write a full disk). A commit of
 * a refresh batch is 5-60 frames of 4 KiB + 24 B: a larger one is written in pieces. */
#define GATHER_MAX (120 * 1024)

typedef struct vfs_file vfs_file;

/* One open file: ours first (SQLite sees this), the default VFS's file right after it. */
struct vfs_file {
	sqlite3_file base;
	sqlite3_file *real;
	/* A main database file: its name pointer as SQLite passed it to xOpen (its WAL's name
	 * leads back to the same pointer), whether synchronous is FULL or EXTRA, and its WAL. */
	const char *db_name;
	bool sync_full;
	vfs_file *wal;
	vfs_file *next; /* the list of open main database files */
	/* A WAL: its database, and the gathered writes (buf[0] goes at file offset off). */
	vfs_file *db;
	bool is_wal;
	int err;            /* a failed write of gathered bytes, until a checked call reports it */
	unsigned char *buf; /* GATHER_MAX bytes */
	size_t len;
	sqlite3_int64 off;
};

static sqlite3_vfs *vfs_real;
static sqlite3_io_methods vfs_io;    /* for files whose own methods are version 3 */
static sqlite3_io_methods vfs_io_v1; /* the same without shared memory and fetch */
static pthread_mutex_t vfs_dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static vfs_file *vfs_dbs; /* open main database files (under vfs_dbs_lock) */

static const sqlite3_io_methods *real_io(const vfs_file *f)
{
	return f->real->pMethods;
}

/* --- gathering --- */

/* Writes the gathered bytes out. A failure (SQLITE_IOERR_WRITE or SQLITE_FULL, as a direct
 * write's) is returned and also kept in err. */
static int gather_flush(vfs_file *f)
{
	int rc;

	if (!f->len)
		return SQLITE_OK;
	rc = real_io(f)->xWrite(f->real, f->buf, (int)f->len, f->off);
	f->len = 0;
	if (rc != SQLITE_OK)
		f->err = rc;
	return rc;
}

/* For a call whose result SQLite always checks: flushes, and reports a kept failure. */
static int gather_settle(vfs_file *f)
{
	int rc;

	gather_flush(f);
	rc = f->err;
	f->err = SQLITE_OK;
	return rc;
}

/* The buffer, allocated on the first gathered write and kept until the file closes. */
static bool gather_room(vfs_file *f)
{
	if (!f->buf)
		f->buf = malloc(GATHER_MAX);
	return f->buf != NULL;
}

static bool gather_on(const vfs_file *f)
{
	return f->is_wal && f->db && f->db->sync_full;
}

/* --- the database's WAL (the list of open main database files) --- */

static void dbs_add(vfs_file *db)
{
	pthread_mutex_lock(&vfs_dbs_lock);
	db->next = vfs_dbs;
	vfs_dbs = db;
	pthread_mutex_unlock(&vfs_dbs_lock);
}

static void dbs_remove(vfs_file *db)
{
	vfs_file **p;

	pthread_mutex_lock(&vfs_dbs_lock);
	for (p = &vfs_dbs; *p && *p != db; p = &(*p)->next)
		;
	if (*p)
		*p = db->next;
	pthread_mutex_unlock(&vfs_dbs_lock);
}

/* Links a WAL to its database: SQLite derives the WAL's name from the database's, and
 * sqlite3_filename_database() gives back the very pointer the database was opened with. */
static void dbs_link_wal(vfs_file *wal, const char *wal_name)
{
	const char *db_name = sqlite3_filename_database(wal_name);
	vfs_file *db;

	pthread_mutex_lock(&vfs_dbs_lock);
	for (db = vfs_dbs; db && db->db_name != db_name; db = db->next)
		;
	if (db && !db->wal) {
		db->wal = wal;
		wal->db = db;
	}
	pthread_mutex_unlock(&vfs_dbs_lock);
}

/* Before the database's shared memory is touched: the WAL's gathered bytes go out. A failure
 * is kept for the WAL's next checked call (the shared-memory call itself goes on: an unlock
 * must never be skipped). */
static void db_flush_wal(vfs_file *db)
{
	if (db->wal)
		gather_flush(db->wal);
}

/* PRAGMA synchronous, seen on its way (SQLite offers every pragma to the VFS first). */
static void db_watch_pragma(vfs_file *db, char **arg)
{
	const char *name = arg[1], *value = arg[2];

	if (!name || strcasecmp(name, "synchronous") != 0 || !value)
		return;
	db->sync_full = !strcasecmp(value, "full") || !strcasecmp(value, "extra") ||
	                !strcmp(value, "2") || !strcmp(value, "3");
}

/* --- io methods: passed on, the WAL's writes gathered. A call whose result SQLite always
 * checks (read, write, sync, truncate, size, fetch) reports a failed flush instead of doing
 * its work; the others (locks, file controls, shared memory) flush, keep a failure for the
 * next checked call, and always do their work. --- */

static int io_close(sqlite3_file *file)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f), rc2;

	if (f->is_wal && f->db) {
		pthread_mutex_lock(&vfs_dbs_lock);
		f->db->wal = NULL;
		pthread_mutex_unlock(&vfs_dbs_lock);
	}
	if (f->db_name)
		dbs_remove(f);
	if (f->buf) {
		ot_wipe(f->buf, GATHER_MAX); /* pages of the secrets table passed through it */
		free(f->buf);
	}
	rc2 = real_io(f)->xClose(f->real);
	return rc != SQLITE_OK ? rc : rc2;
}

static int io_read(sqlite3_file *file, void *buf, int amt, sqlite3_int64 off)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f);

	return rc != SQLITE_OK ? rc : real_io(f)->xRead(f->real, buf, amt, off);
}

static int io_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	vfs_file *f = (vfs_file *)file;
	size_t n = (size_t)amt;
	int rc;

	if (!gather_on(f) || amt <= 0)
		goto direct;
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + n > GATHER_MAX)) {
		rc = gather_settle(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if (n > GATHER_MAX || !gather_room(f))
		goto direct;
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return SQLITE_OK;
direct:
	rc = gather_settle(f);
	return rc != SQLITE_OK ? rc : real_io(f)->xWrite(f->real, data, amt, off);
}

static int io_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f);

	return rc != SQLITE_OK ? rc : real_io(f)->xTruncate(f->real, size);
}

static int io_sync(sqlite3_file *file, int flags)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f);

	return rc != SQLITE_OK ? rc : real_io(f)->xSync(f->real, flags);
}

static int io_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f);

	return rc != SQLITE_OK ? rc : real_io(f)->xFileSize(f->real, size);
}

static int io_lock(sqlite3_file *file, int level)
{
	vfs_file *f = (vfs_file *)file;
	gather_flush(f); /* a failure is kept for a checked call */
	return real_io(f)->xLock(f->real, level);
}

static int io_unlock(sqlite3_file *file, int level)
{
	vfs_file *f = (vfs_file *)file;
	gather_flush(f);
	return real_io(f)->xUnlock(f->real, level);
}

static int io_check_reserved(sqlite3_file *file, int *out)
{
	vfs_file *f = (vfs_file *)file;

	return real_io(f)->xCheckReservedLock(f->real, out);
}

/* SQLite ignores the result of some file controls: a failed flush stays kept. */
static int io_file_control(sqlite3_file *file, int op, void *arg)
{
	vfs_file *f = (vfs_file *)file;

	gather_flush(f);
	if (f->db_name && op == SQLITE_FCNTL_PRAGMA)
		db_watch_pragma(f, (char **)arg);
	return real_io(f)->xFileControl(f->real, op, arg);
}

static int io_sector_size(sqlite3_file *file)
{
	vfs_file *f = (vfs_file *)file;

	return real_io(f)->xSectorSize(f->real);
}

static int io_device_characteristics(sqlite3_file *file)
{
	vfs_file *f = (vfs_file *)file;

	return real_io(f)->xDeviceCharacteristics(f->real);
}

static int io_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **pp)
{
	vfs_file *f = (vfs_file *)file;
	db_flush_wal(f);
	return real_io(f)->xShmMap(f->real, pg, pgsz, extend, pp);
}

static int io_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	vfs_file *f = (vfs_file *)file;
	db_flush_wal(f);
	return real_io(f)->xShmLock(f->real, offset, n, flags);
}

static void io_shm_barrier(sqlite3_file *file)
{
	vfs_file *f = (vfs_file *)file;

	db_flush_wal(f);
	real_io(f)->xShmBarrier(f->real);
}

static int io_shm_unmap(sqlite3_file *file, int delete_flag)
{
	vfs_file *f = (vfs_file *)file;
	db_flush_wal(f);
	return real_io(f)->xShmUnmap(f->real, delete_flag);
}

static int io_fetch(sqlite3_file *file, sqlite3_int64 off, int amt, void **pp)
{
	vfs_file *f = (vfs_file *)file;
	int rc = gather_settle(f);

	return rc != SQLITE_OK ? rc : real_io(f)->xFetch(f->real, off, amt, pp);
}

static int io_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	vfs_file *f = (vfs_file *)file;

	return real_io(f)->xUnfetch(f->real, off, p);
}

/* --- the VFS --- */

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
                    int *out_flags)
{
	vfs_file *f = (vfs_file *)file;
	int rc;

	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	rc = vfs_real->xOpen(vfs_real, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods) {
		f->base.pMethods = NULL; /* SQLite then never calls xClose */
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	f->base.pMethods = f->real->pMethods->iVersion >= 3 ? &vfs_io : &vfs_io_v1;
	(void)vfs;
	if ((flags & SQLITE_OPEN_MAIN_DB) && name) {
		f->db_name = name;
		dbs_add(f);
	} else if ((flags & SQLITE_OPEN_WAL) && name) {
		f->is_wal = true;
		dbs_link_wal(f, name);
	}
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
	(void)vfs;
	return vfs_real->xDelete(vfs_real, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	return vfs_real->xAccess(vfs_real, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	return vfs_real->xFullPathname(vfs_real, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *vfs, const char *name)
{
	(void)vfs;
	return vfs_real->xDlOpen(vfs_real, name);
}

static void vfs_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
	(void)vfs;
	vfs_real->xDlError(vfs_real, n, msg);
}

static void (*vfs_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	(void)vfs;
	return vfs_real->xDlSym(vfs_real, h, sym);
}

static void vfs_dl_close(sqlite3_vfs *vfs, void *h)
{
	(void)vfs;
	vfs_real->xDlClose(vfs_real, h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return vfs_real->xRandomness(vfs_real, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	(void)vfs;
	return vfs_real->xSleep(vfs_real, us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	(void)vfs;
	return vfs_real->xCurrentTime(vfs_real, out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	return vfs_real->xGetLastError ? vfs_real->xGetLastError(vfs_real, n, out) : 0;
}

static int vfs_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	double d = 0;
	int rc;

	(void)vfs;
	if (vfs_real->iVersion >= 2 && vfs_real->xCurrentTimeInt64)
		return vfs_real->xCurrentTimeInt64(vfs_real, out);
	rc = vfs_real->xCurrentTime(vfs_real, &d);
	*out = (sqlite3_int64)(d * 86400000.0);
	return rc;
}

static sqlite3_vfs vfs_ours = {
        .iVersion = 2,
        .zName = VFS_NAME,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dl_open,
        .xDlError = vfs_dl_error,
        .xDlSym = vfs_dl_sym,
        .xDlClose = vfs_dl_close,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time_int64,
};

static const char *vfs_registered;

static void vfs_register(void)
{
	sqlite3_vfs *real = sqlite3_vfs_find(NULL);

	if (!real || real->szOsFile <= 0 || sqlite3_vfs_find(VFS_NAME))
		return;
	vfs_real = real;
	vfs_io = (sqlite3_io_methods){
	        .iVersion = 3,
	        .xClose = io_close,
	        .xRead = io_read,
	        .xWrite = io_write,
	        .xTruncate = io_truncate,
	        .xSync = io_sync,
	        .xFileSize = io_file_size,
	        .xLock = io_lock,
	        .xUnlock = io_unlock,
	        .xCheckReservedLock = io_check_reserved,
	        .xFileControl = io_file_control,
	        .xSectorSize = io_sector_size,
	        .xDeviceCharacteristics = io_device_characteristics,
	        .xShmMap = io_shm_map,
	        .xShmLock = io_shm_lock,
	        .xShmBarrier = io_shm_barrier,
	        .xShmUnmap = io_shm_unmap,
	        .xFetch = io_fetch,
	        .xUnfetch = io_unfetch,
	};
	vfs_io_v1 = vfs_io;
	vfs_io_v1.iVersion = 1;
	vfs_ours.szOsFile = (int)sizeof(vfs_file) + real->szOsFile;
	vfs_ours.mxPathname = real->mxPathname;
	if (sqlite3_vfs_register(&vfs_ours, 0) == SQLITE_OK)
		vfs_registered = VFS_NAME;
}

const char *store_vfs_name(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, vfs_register);
	return vfs_registered;
}
