/*
 * sqlite_int.h - the SQLite backend's private parts, shared by its files
 * (each calls only those listed below it):
 *
 *   sqlite.c            opening and closing: the connection and its pragmas,
 *                       the schema (created, checked or migrated), preparing
 *                       the statements, the table of operations, the hooks
 *                       of the tests
 *   sqlite_events.c     the logs (append, read, head) and the cursors
 *   sqlite_instances.c  instances and their history
 *   sqlite_outbox.c     the outbox and the dedup table
 *   sqlite_timers.c     unrouted messages, timers, periodic processes
 *   sqlite_retention.c  deleting ended instances and old dedup records
 *   sqlite_names.c      the numbers instances are stored under, and the memo
 *                       of those an open transaction met
 *   sqlite_ckpt.c       the background checkpointer
 *   sqlite_conn.c       the handle: errors, running cached statements (binding
 *                       parameters, reading columns), the transaction
 *                       primitives
 *   sqlite_sql.c        every statement of the operations, the schema and its
 *                       migrations
 *
 * Every statement is prepared once when the store is opened and kept in the
 * handle; an operation binds its parameters, steps, then resets the statement
 * and clears its bindings, so strings bound with SQLITE_STATIC never outlive
 * the call that lent them. All SQL of the backend takes input only through
 * bound parameters.
 *
 * Re-entrancy: a callback may call other operations of the same store while
 * an iteration is running. If it calls an operation whose cached statement is
 * the one being iterated, that inner call runs on a fresh copy of the
 * statement (see stw__sqlite_acquire), so nesting is always safe.
 */
#ifndef STW_STORE_SQLITE_INT_H
#define STW_STORE_SQLITE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <steward.h>

#include "store/store.h"

/* The schema version this build creates and understands. */
#define STW__SCHEMA_VERSION 10

/* History rows per multi-row INSERT (see op_history_insert_many). */
#define STW__HISTORY_CHUNK 16

/* Bits of a list_instances filter; each combination has its own statement. */
#define STW__LQ_DEFINITION 1
#define STW__LQ_STATUS     2
#define STW__LQ_STATE      4
#define STW__LQ_ID         8
#define STW__LQ_STUCK      16
#define STW__LQ_VERSION    32
#define STW__LQ_VARIANTS   64

/* Cached statements, indexes into stw__sqlite_sql[] and sqlite_store.st[]. */
enum sid {
	STW__BEGIN,
	STW__COMMIT,
	STW__ROLLBACK,
	STW__SAVEPOINT,
	STW__RELEASE,
	STW__ROLLBACK_TO,
	STW__OVERWRITE,
	STW__EVENT_GET,
	STW__STREAM_VERSION,
	STW__EVENT_INSERT,
	STW__READ,
	STW__READ_STREAM,
	STW__HEAD,
	STW__DATA_VERSION,
	STW__CURSOR_GET,
	STW__CURSOR_SET,
	STW__NAME_GET,
	STW__NAME_INSERT,
	STW__INSTANCE_GET,
	STW__INSTANCE_INSERT,
	STW__INSTANCE_UPDATE,
	STW__KEY_HOLDER,
	STW__HISTORY_HAS,
	STW__HISTORY_INSERT,
	STW__HISTORY_LIST,
	STW__OUTBOX_INSERT,
	STW__OUTBOX_PENDING,
	STW__OUTBOX_MARK,
	STW__OUTBOX_FOR_INSTANCE,
	STW__OUTBOX_PENDING_COUNT,
	STW__OUTBOX_PENDING_CONTEXTS,
	STW__DEDUP_GET,
	STW__DEDUP_PUT,
	STW__DEDUP_HIT,
	STW__DEDUP_FORGET_REFUSAL,
	STW__DEDUP_DUPLICATES,
	STW__UNROUTED_INSERT,
	STW__UNROUTED_LIST,
	STW__UNROUTED_LIST_DEFINITION,
	STW__TIMER_INSERT,
	STW__TIMERS_DUE,
	STW__TIMER_DELETE,
	STW__TIMER_NEXT,
	STW__TIMERS_FOR_INSTANCE,
	STW__PERIODIC_GET,
	STW__PERIODIC_SET,
	STW__OUTBOX_DUE,
	STW__OUTBOX_NEXT_DUE,
	STW__OUTBOX_ATTEMPTED,
	STW__OUTBOX_GET,
	STW__OUTBOX_BY_STATUS,
	STW__OUTBOX_PENDING_ALL,
	STW__OUTBOX_DONE,
	STW__CURSOR_ATTEMPT,
	STW__PRUNE_CANDIDATES,
	STW__PRUNE_HISTORY,
	STW__PRUNE_TIMERS,
	STW__PRUNE_OUTBOX,
	STW__PRUNE_INSTANCE,
	STW__PRUNE_NAME,
	STW__DEDUP_WINDOW,
	STW__DEDUP_DROP_RANGE,
	STW__DEDUP_DROP_TAIL,
	STW__COMMANDS_WINDOW,
	STW__COMMANDS_DROP,
	STW__NSTMT
};

/* The background checkpointer (sqlite_ckpt.c). */
struct ckpt;

/* The instance numbers an open transaction met (sqlite_names.c). */
struct num_memo;

/*
 * The head of a context as the open transaction left it (see op_append in
 * sqlite_events.c): read once per transaction, then counted on.
 */
struct head_memo {
	uint64_t txn;   /* the handle's txns when read; 0: empty */
	uint64_t undos; /* the handle's undos then: a rollback since voids it */
	int64_t head;
	char context[STW_MAX_NAME];
};

/* Heads remembered at once: the contexts one round appends to. */
#define STW__HEAD_MEMOS 4

/* The handle. */
struct sqlite_store {
	struct stw__store base;    /* first: the handle is a struct stw__store */
	struct stw__store_ops ops; /* base.ops points here (see stw__sqlite_open) */
	sqlite3 *db;               /* the connection */
	struct ckpt *ckpt;         /* NULL: SQLite's own automatic checkpoints */
	int wal;                   /* the journal mode is WAL (not "memory") */
	uint64_t undos;            /* rollbacks of transactions (SQLite's own too) and of levels */
	uint64_t txns;             /* transactions begun and ended through the ops */
	uint64_t data_version_txn; /* txns when data_version was read in a transaction */
	int64_t data_version;      /* what it read (op_foreign_commits) */
	struct head_memo heads[STW__HEAD_MEMOS]; /* heads known to the open transaction */
	unsigned next_memo;                      /* the memo a new context takes */
	struct num_memo *nums;                   /* NULL until a transaction needs it */
	sqlite3_stmt *st[STW__NSTMT];            /* cached statements, see enum sid */
	sqlite3_stmt *list[STW__LQ_VARIANTS];    /* list_instances, by STW__LQ_* mask */
	sqlite3_stmt *history_chunk;             /* STW__HISTORY_CHUNK rows in one INSERT */
	char err[512];                           /* the last failure's message */
};

/* The handle of a store of this backend. */
static inline struct sqlite_store *handle(struct stw__store *s)
{
	return (struct sqlite_store *)s;
}

/* sqlite_sql.c ------------------------------------------------------------- */

/* The text of each cached statement, by enum sid. */
extern const char *const stw__sqlite_sql[STW__NSTMT];

/* The whole schema of version STW__SCHEMA_VERSION, for a new database. */
extern const char stw__sqlite_schema[];

/* The in-place migrations: stw__sqlite_migrate_N takes schema version N - 1 to N. */
extern const char stw__sqlite_migrate_2[];
extern const char stw__sqlite_migrate_3[];
extern const char stw__sqlite_migrate_4[];
extern const char stw__sqlite_migrate_5[];
extern const char stw__sqlite_migrate_6[];
extern const char stw__sqlite_migrate_7[];
extern const char stw__sqlite_migrate_8[];
extern const char stw__sqlite_migrate_9[];
extern const char stw__sqlite_migrate_10[];

/* PRAGMA synchronous by level (0..2), for every connection of a store. */
extern const char *const stw__sqlite_sync_sql[];

/*
 * Writes the list_instances statement of filter `m` (STW__LQ_* bits) into
 * sql (cap bytes). Returns 0, or -1 when it does not fit.
 */
int stw__sqlite_list_sql(int m, char *sql, size_t cap);

/* sqlite_conn.c ------------------------------------------------------------ */

/* Maps an (extended) SQLite result code to an STW_E* code. */
int stw__sqlite_code(int rc);

/* Records the connection's message for a failure of `op` with SQLite result rc. */
int stw__sqlite_fail(struct sqlite_store *h, int rc, const char *op);

/* Records a printf-style message and returns code. */
int stw__sqlite_failf(struct sqlite_store *h, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The statement to run for `cached` (itself or a fresh copy); pair with stw__sqlite_finish. */
int stw__sqlite_acquire(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt **st,
			const char *op);

/* Resets a cached statement and clears its bindings, or finalizes a copy. */
void stw__sqlite_finish(sqlite3_stmt *cached, sqlite3_stmt *st);

/* Bind text (NULL: SQL NULL) or an integer to parameter i, unless *rc is a failure. */
void stw__sqlite_bt(int *rc, sqlite3_stmt *st, int i, const char *v);
void stw__sqlite_bi(int *rc, sqlite3_stmt *st, int i, int64_t v);

/* Column i as text (NULL for SQL NULL; *oom set when SQLite had no memory) or integer. */
const char *stw__sqlite_col_text(sqlite3_stmt *st, int i, int *oom);
int64_t stw__sqlite_col_int(sqlite3_stmt *st, int i);

/* Steps a bound cached statement to its end, then resets it; *changes gets the rows changed. */
int stw__sqlite_run(struct sqlite_store *h, sqlite3_stmt *st, int rc, const char *op, int *changes);

/* Runs one of the argument-less cached statements. */
int stw__sqlite_exec(struct sqlite_store *h, enum sid id, const char *op);

/* A single-integer lookup whose missing row means 0, with up to two text parameters. */
int stw__sqlite_int_or_zero(struct sqlite_store *h, enum sid id, const char *a, const char *b2,
			    int nparams, const char *op, int64_t *out);

/* A "SELECT min(...) ... WHERE x = ?1": STW_OK with *out, or STW_ENOTFOUND. */
int stw__sqlite_min_or_none(struct sqlite_store *h, enum sid id, const char *a, const char *op,
			    int64_t *out);

/* sqlite_names.c ----------------------------------------------------------- */

/*
 * The number of the instance named (definition, id): STW_OK with *num. When
 * the name has none, STW_ENOTFOUND, or with `give` a new number, one more
 * than the last (a row of stw_names, written in the caller's transaction).
 */
int stw__sqlite_num(struct sqlite_store *h, const char *definition, const char *id, int give,
		    int64_t *num);

/* Remembers, for the open transaction, the number an instance was read with. */
void stw__sqlite_num_remember(struct sqlite_store *h, const char *definition, const char *id,
			      int64_t num);

/* Forgets every number remembered (names were deleted). */
void stw__sqlite_num_forget(struct sqlite_store *h);

/* Frees the memo. Accepts a handle without one. */
void stw__sqlite_nums_free(struct sqlite_store *h);

/* sqlite_ckpt.c ------------------------------------------------------------ */

/* Starts the checkpointer on a second connection to path and hands it the WAL hook. */
int stw__sqlite_ckpt_start(struct sqlite_store *h, const char *path, int synchronous);

/* Stops and joins the checkpointer and closes its connection. Accepts NULL. */
void stw__sqlite_ckpt_stop(struct ckpt *c);

/* The operations of each file, set into a handle's table (sqlite.c). ------- */

void stw__sqlite_ops_conn(struct stw__store_ops *o);
void stw__sqlite_ops_events(struct stw__store_ops *o);
void stw__sqlite_ops_instances(struct stw__store_ops *o);
void stw__sqlite_ops_outbox(struct stw__store_ops *o);
void stw__sqlite_ops_timers(struct stw__store_ops *o);
void stw__sqlite_ops_retention(struct stw__store_ops *o);

#endif /* STW_STORE_SQLITE_INT_H */
