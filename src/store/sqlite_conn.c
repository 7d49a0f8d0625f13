/*
 * sqlite_conn.c - the SQLite handle: its errors, running cached statements
 * (binding parameters, reading columns, single-value lookups), and the
 * transaction primitives.
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* Maps an (extended) SQLite result code to an STW_E* code. */
int stw__sqlite_code(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STW_OK;
	case SQLITE_NOMEM:
		return STW_ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STW_EBUSY; /* another connection kept the lock past the busy timeout */
	case SQLITE_CONSTRAINT:
		if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
			return STW_EEXIST;
		if (rc == SQLITE_CONSTRAINT_NOTNULL)
			return STW_EINVAL;
		return STW_ESTORE;
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return STW_EINVAL;
	default:
		return STW_ESTORE;
	}
}

/*
 * Records the connection's current message for a failure of `op` with SQLite
 * result `rc` and returns the matching STW_E* code. Call it before resetting
 * the statement, which may replace the message.
 */
int stw__sqlite_fail(struct sqlite_store *h, int rc, const char *op)
{
	const char *msg = (rc & 0xff) == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(h->db);
	snprintf(h->err, sizeof h->err, "%s: %s", op, msg);
	return stw__sqlite_code(rc);
}

/* Records a printf-style message and returns code. */
int stw__sqlite_failf(struct sqlite_store *h, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return code;
}

static const char *op_errmsg(struct stw__store *s)
{
	return handle(s)->err;
}

/* ------------------------------------------------------------------------ */
/* Statements                                                               */

/*
 * Gives the statement to run for `cached` in *st: the cached one itself,
 * or, when an outer iteration is still stepping it (a callback re-entering an
 * operation), a fresh copy of it. Pair every successful call with
 * stw__sqlite_finish().
 */
int stw__sqlite_acquire(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt **st,
			const char *op)
{
	if (!sqlite3_stmt_busy(cached)) {
		*st = cached;
		return STW_OK;
	}
	int rc = sqlite3_prepare_v3(h->db, sqlite3_sql(cached), -1, 0, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return stw__sqlite_fail(h, rc, op);
	}
	return STW_OK;
}

/* Resets a cached statement and clears its bindings, or finalizes a copy. */
void stw__sqlite_finish(sqlite3_stmt *cached, sqlite3_stmt *st)
{
	if (st == cached) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
}

/*
 * Binders that do nothing once *rc holds a failure, so a run of bindings
 * needs a single check. Text is bound SQLITE_STATIC: the statement is always
 * reset and cleared before the caller's strings go away; NULL binds NULL.
 */
void stw__sqlite_bt(int *rc, sqlite3_stmt *st, int i, const char *v)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void stw__sqlite_bi(int *rc, sqlite3_stmt *st, int i, int64_t v)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/*
 * Reads text column i: NULL for SQL NULL. Sets *oom when SQLite could not
 * produce the text of a non-NULL value.
 */
const char *stw__sqlite_col_text(sqlite3_stmt *st, int i, int *oom)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	const unsigned char *p = sqlite3_column_text(st, i);
	if (p == NULL)
		*oom = 1;
	return (const char *)p;
}

int64_t stw__sqlite_col_int(sqlite3_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(st, i);
}

/*
 * Steps a cached statement whose bindings the caller made (rc: their result)
 * to its end; resets it and clears its bindings. *changes (if not NULL) receives
 * the number of rows changed.
 */
int stw__sqlite_run(struct sqlite_store *h, sqlite3_stmt *st, int rc, const char *op, int *changes)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STW_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		code = stw__sqlite_fail(h, rc, op);
	else if (changes != NULL)
		*changes = sqlite3_changes(h->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return code;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */

/* Runs one of the argument-less cached statements. */
int stw__sqlite_exec(struct sqlite_store *h, enum sid id, const char *op)
{
	return stw__sqlite_run(h, h->st[id], SQLITE_OK, op, NULL);
}

/*
 * The transaction primitives; the engine builds its nesting on them
 * (src/core/txn.c). BEGIN IMMEDIATE takes the write lock at once, so that a
 * transaction never fails later for a lock another connection took first.
 */
static int op_begin(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	if (!sqlite3_get_autocommit(h->db))
		return stw__sqlite_failf(h, STW_EINVAL, "begin: a transaction is open");
	h->txns++; /* what an earlier transaction remembered is void */
	return stw__sqlite_exec(h, STW__BEGIN, "begin");
}

/*
 * Runs statement id inside the open transaction; `code` and "op: why" when
 * there is none (never opened, or rolled back by SQLite after an error).
 */
static int in_txn(struct sqlite_store *h, enum sid id, const char *op, int code, const char *why)
{
	if (sqlite3_get_autocommit(h->db))
		return stw__sqlite_failf(h, code, "%s: %s", op, why);
	return stw__sqlite_exec(h, id, op);
}

/*
 * Writes over what a failed commit left in the WAL. A commit writes its
 * pages to the WAL, then syncs it, then marks them committed in the WAL's
 * index; when the sync (or a write) fails, SQLite answers the error and rolls
 * back, but the frames stay in the file past the last commit the index
 * knows. SQLite ignores them while the store is open; the recovery of the
 * next open, though, reads the WAL itself, and after a close that could not
 * checkpoint (the disk still failing) or a process that died, it would find
 * a complete commit there and bring back a transaction that answered an
 * error. The next commit lands on the same frames, and each frame's checksum
 * chains to the one before, so one transaction made at once cuts them off:
 * it counts the failed commit in stw_meta ("failed_commits"; a row written
 * as it was would write no page). Its own outcome does not matter and is not
 * reported: the message stays the failed commit's.
 */
static void overwrite_failed_commit(struct sqlite_store *h)
{
	char why[sizeof h->err];
	memcpy(why, h->err, sizeof why);
	if (stw__sqlite_exec(h, STW__BEGIN, "overwrite") == STW_OK &&
	    stw__sqlite_exec(h, STW__OVERWRITE, "overwrite") == STW_OK)
		(void)stw__sqlite_exec(h, STW__COMMIT, "overwrite");
	if (!sqlite3_get_autocommit(h->db))
		(void)stw__sqlite_exec(h, STW__ROLLBACK, "overwrite");
	memcpy(h->err, why, sizeof why);
}

/*
 * On failure the transaction stays open (the caller rolls it back), unless
 * SQLite rolled it back itself (an I/O error, a full disk): then what the
 * commit wrote is overwritten, so that it stays undone across a restart.
 */
static int op_commit(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	h->txns++;
	int rc =
	    in_txn(h, STW__COMMIT, "commit", STW_ESTORE, "no transaction is open (rolled back)");
	if (rc != STW_OK && h->wal && sqlite3_get_autocommit(h->db))
		overwrite_failed_commit(h);
	return rc;
}

/* A no-op when SQLite has rolled the transaction back already (I/O or memory error). */
static int op_rollback(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	if (sqlite3_get_autocommit(h->db))
		return STW_OK;
	h->txns++;
	return stw__sqlite_exec(h, STW__ROLLBACK, "rollback");
}

static int op_savepoint(struct stw__store *s)
{
	return in_txn(handle(s), STW__SAVEPOINT, "savepoint", STW_EINVAL, "no transaction is open");
}

static int op_release(struct stw__store *s)
{
	return in_txn(handle(s), STW__RELEASE, "release", STW_ESTORE,
		      "the transaction was rolled back");
}

/* Undoes the writes made since the innermost savepoint and releases it. */
static int op_rollback_to(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	if (sqlite3_get_autocommit(h->db))
		return stw__sqlite_failf(h, STW_ESTORE,
					 "rollback_to: the transaction was rolled back");
	h->undos++;
	int rc = stw__sqlite_exec(h, STW__ROLLBACK_TO, "rollback_to");
	if (rc == STW_OK)
		rc = stw__sqlite_exec(h, STW__RELEASE, "rollback_to");
	return rc;
}

static int op_in_transaction(struct stw__store *s)
{
	return !sqlite3_get_autocommit(handle(s)->db);
}

/* ------------------------------------------------------------------------ */
/* Lookups of one value                                                     */

/*
 * Runs a single-integer lookup whose missing row means 0 (head, cursors,
 * counts): cached statement id with its first nparams (0..2) text
 * parameters bound to a and b2.
 */
int stw__sqlite_int_or_zero(struct sqlite_store *h, enum sid id, const char *a, const char *b2,
			    int nparams, const char *op, int64_t *out)
{
	sqlite3_stmt *c = h->st[id], *st;
	int rc = stw__sqlite_acquire(h, c, &st, op);
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (nparams > 0)
		stw__sqlite_bt(&b, st, 1, a);
	if (nparams > 1)
		stw__sqlite_bt(&b, st, 2, b2);
	int64_t v = 0;
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		v = stw__sqlite_col_int(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_OK;
	} else {
		rc = stw__sqlite_fail(h, b, op);
	}
	stw__sqlite_finish(c, st);
	if (rc == STW_OK && out != NULL)
		*out = v;
	return rc;
}

/*
 * Runs a cached "SELECT min(...) ... WHERE x = ?1" statement: STW_OK with
 * *out, or STW_ENOTFOUND when min() is NULL (no row).
 */
int stw__sqlite_min_or_none(struct sqlite_store *h, enum sid id, const char *a, const char *op,
			    int64_t *out)
{
	sqlite3_stmt *c = h->st[id], *st;
	int rc = stw__sqlite_acquire(h, c, &st, op);
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, a);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = stw__sqlite_col_int(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_ROW || b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = stw__sqlite_fail(h, b, op);
	}
	stw__sqlite_finish(c, st);
	return rc;
}

static uint64_t op_undos(struct stw__store *s)
{
	return handle(s)->undos;
}

/*
 * SQLite's data_version: it moves when another connection commits, not for
 * our own commits. Inside a transaction this connection holds the write lock
 * (BEGIN IMMEDIATE), so no other connection commits until it ends: it is
 * read once per transaction.
 */
static int op_foreign_commits(struct stw__store *s, uint64_t *count)
{
	struct sqlite_store *h = handle(s);
	int open = !sqlite3_get_autocommit(h->db);
	if (open && h->txns != 0 && h->data_version_txn == h->txns) {
		*count = (uint64_t)h->data_version;
		return STW_OK;
	}
	int64_t v = 0;
	int rc =
	    stw__sqlite_int_or_zero(h, STW__DATA_VERSION, NULL, NULL, 0, "foreign_commits", &v);
	*count = (uint64_t)v;
	if (rc == STW_OK && open) {
		h->data_version_txn = h->txns;
		h->data_version = v;
	}
	return rc;
}

void stw__sqlite_ops_conn(struct stw__store_ops *o)
{
	o->errmsg = op_errmsg;
	o->begin = op_begin;
	o->commit = op_commit;
	o->rollback = op_rollback;
	o->savepoint = op_savepoint;
	o->release = op_release;
	o->rollback_to = op_rollback_to;
	o->in_transaction = op_in_transaction;
	o->undos = op_undos;
	o->foreign_commits = op_foreign_commits;
}
