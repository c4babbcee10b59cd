/* store_vfs.h - private to the store: the SQLite VFS the store opens its file with. It is the
 * default (unix) VFS with one change: the write-ahead log's writes are gathered, so that a
 * transaction's frames reach the file in one pwrite(2) instead of two per page (a frame is a
 * 24-byte header and the page, written by SQLite one after the other). */
#ifndef OAUTHTOP_STORE_VFS_H
#define OAUTHTOP_STORE_VFS_H

/* The VFS's name for sqlite3_open_v2(), registered (not as the default) on the first call;
 * NULL if it could not be (then the default VFS is the one to use). */
const char *store_vfs_name(void);

#endif
