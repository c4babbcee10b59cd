/* store_schema.h - private to the store (store.c + store_schema.c, the only files that see
 * SQLite): the connection record, opening with its file checks, and schema migrations. */
#ifndef OAUTHTOP_STORE_SCHEMA_H
#define OAUTHTOP_STORE_SCHEMA_H

#include <sqlite3.h>
#include <stdint.h>

#include "oauthtop/err.h"
#include "oauthtop/store.h"

/* How long a writer waits for another process's lock before giving up. */
#define STORE_BUSY_MS 5000

/* Room for store.c's cached statements (its enum store_stmt, checked at compile time). */
#define STORE_STMT_MAX 32

struct ot_store {
	sqlite3 *db;
	char *path;                 /* as given, for messages */
	int64_t writes;             /* commits by this connection (ot_store_version) */
	int64_t self_ns, self_start; /* this process's holder nonce (0: unknown), read at open */
	int busy_ms;                 /* how long a write waits for another's lock (STORE_BUSY_MS) */
	/* Statements prepared on first use and kept until ot_store_close (store.c): preparing
	 * costs more than running most of them. Always reset after use. */
	sqlite3_stmt *stmts[STORE_STMT_MAX];
};

/* Checks the file at s->path (creating it and its 0700 directory unless READONLY), opens
 * s->db with the store's pragmas and brings the schema to OT_STORE_SCHEMA. On failure s->db
 * may be set; the caller closes it. */
int store_schema_open(ot_store *s, int flags, ot_err *err);

/* Fills err with the store path and SQLite's reason for rc (never a value); returns -1. */
int store_db_error(const ot_store *s, int rc, ot_err *err);

/* Runs one SQL statement without results. */
int store_exec(ot_store *s, const char *sql, ot_err *err);

#endif
