/*
 * postgres_int.h - the PostgreSQL backend's private parts, shared by its
 * files (each calls only those listed below it):
 *
 *   postgres.c            opening: the connection, its settings, the schema
 *                         and its migrations, preparing the statements, the
 *                         table of operations
 *   postgres_events.c     the logs (append, read, head) and the cursors
 *   postgres_instances.c  instances and their history
 *   postgres_outbox.c     the outbox and the dedup table
 *   postgres_timers.c     timers, periodic processes, unrouted messages
 *   postgres_retention.c  deleting ended instances and old dedup records
 *   postgres_cluster.c    begin() and its fence in cluster mode, the limits to
 *                         the partitions held, the membership's leases
 *   postgres_conn.c       the handle: errors, running statements, reading
 *                         results, the transaction primitives, closing
 *   postgres_sql.c        every SQL statement of the backend, and the schema
 *
 * Every statement is prepared once per connection (PQprepare, named by its
 * index) and run with text parameters; results are read whole before any
 * callback runs, so callbacks may call the store again. Expected conflicts
 * (an id or key taken, a stale version) are row counts of statements that
 * cannot fail on them (ON CONFLICT DO NOTHING, WHERE version = $n), never
 * errors: PostgreSQL aborts the whole transaction on any error.
 */
#ifndef STW_STORE_POSTGRES_INT_H
#define STW_STORE_POSTGRES_INT_H

#include <stdint.h>

#include <libpq-fe.h>

#include "store/store.h"

/* The schema version this build creates and understands (stw_meta.schema_version). */
#define STW__PG_SCHEMA_VERSION 5

/* Savepoints a transaction should open at most (see struct stw__store). */
#define STW__PG_MAX_SAVEPOINTS 64

/* Bits of a list_instances filter; each combination has its own statement. */
#define STW__PG_LQ_DEFINITION 1
#define STW__PG_LQ_STATUS     2
#define STW__PG_LQ_STATE      4
#define STW__PG_LQ_ID         8
#define STW__PG_LQ_STUCK      16
#define STW__PG_LQ_VERSION    32
#define STW__PG_LQ_VARIANTS   64

/* The statements, indexes into stw__pg_sql[] and their prepared names. */
enum stw__pg_sid {
	STW__PG_EVENT_GET,
	STW__PG_STREAM_VERSION,
	STW__PG_APPEND,
	STW__PG_APPEND_UNDO,
	STW__PG_READ,
	STW__PG_READ_STREAM,
	STW__PG_HEAD,
	STW__PG_CURSOR_GET,
	STW__PG_CURSOR_LOCK,
	STW__PG_CURSOR_CREATE,
	STW__PG_CURSOR_SET,
	STW__PG_CURSOR_ATTEMPT,
	STW__PG_INSTANCE_GET,
	STW__PG_INSTANCE_INSERT,
	STW__PG_INSTANCE_UPDATE,
	STW__PG_KEY_HOLDER,
	STW__PG_HISTORY_HAS,
	STW__PG_HISTORY_INSERT,
	STW__PG_HISTORY_INSERT_MANY,
	STW__PG_HISTORY_LIST,
	STW__PG_OUTBOX_INSERT,
	STW__PG_OUTBOX_PENDING,
	STW__PG_OUTBOX_MARK,
	STW__PG_OUTBOX_FOR_INSTANCE,
	STW__PG_OUTBOX_PENDING_COUNT,
	STW__PG_OUTBOX_DUE,
	STW__PG_OUTBOX_NEXT_DUE,
	STW__PG_OUTBOX_ATTEMPTED,
	STW__PG_OUTBOX_GET,
	STW__PG_OUTBOX_BY_STATUS,
	STW__PG_OUTBOX_PENDING_ALL,
	STW__PG_OUTBOX_DONE,
	STW__PG_OUTBOX_PENDING_CONTEXTS,
	STW__PG_DEDUP_GET,
	STW__PG_DEDUP_PUT,
	STW__PG_DEDUP_HIT,
	STW__PG_DEDUP_DUPLICATES,
	STW__PG_DEDUP_FORGET_REFUSAL,
	STW__PG_UNROUTED_INSERT,
	STW__PG_UNROUTED_LIST,
	STW__PG_UNROUTED_LIST_DEFINITION,
	STW__PG_TIMER_INSERT,
	STW__PG_TIMERS_DUE,
	STW__PG_TIMER_DELETE,
	STW__PG_TIMER_NEXT,
	STW__PG_TIMERS_FOR_INSTANCE,
	STW__PG_PERIODIC_GET,
	STW__PG_PERIODIC_LOCK,
	STW__PG_PERIODIC_CREATE,
	STW__PG_PERIODIC_SET,
	STW__PG_PRUNE_INSTANCES,
	STW__PG_PRUNE_DEDUP,
	STW__PG_PRUNE_COMMANDS,
	STW__PG_PART_CURSOR_GET,
	STW__PG_PART_CURSORS,
	STW__PG_PART_CURSOR_SET,
	STW__PG_PART_CURSOR_ATTEMPT,
	STW__PG_PART_TIMERS_DUE,
	STW__PG_PART_TIMER_NEXT,
	STW__PG_PART_OUTBOX_PENDING,
	STW__PG_PART_OUTBOX_DUE,
	STW__PG_PART_OUTBOX_NEXT_DUE,
	STW__PG_LEASE_JOIN,
	STW__PG_LEASE_HEARTBEAT,
	STW__PG_LEASE_RENEW,
	STW__PG_LEASE_WORKERS,
	STW__PG_LEASE_ALL,
	STW__PG_LEASE_ACQUIRE,
	STW__PG_LEASE_RELEASE,
	STW__PG_LEASE_LEAVE,
	STW__PG_LEASE_NOTIFY,
	STW__PG_LEASE_FORGET,
	STW__PG_PARTITIONS,
	STW__PG_ANY_WORKER,
	STW__PG_VIEW_WORKERS,
	STW__PG_VIEW_PARTS,
	STW__PG_VIEW_GRANTS,
	STW__PG_NSTMT
};

/* postgres_sql.c ----------------------------------------------------------- */

/* The text of each statement, by enum stw__pg_sid. */
extern const char *const stw__pg_sql[STW__PG_NSTMT];

/* The statements of the schema of version STW__PG_SCHEMA_VERSION, NULL-terminated. */
extern const char *const stw__pg_schema[];

/*
 * The in-place migrations: stw__pg_migrations[v - 1], a NULL-terminated
 * list of statements, takes a store of
 * schema version v to v + 1 (setting the version itself), for v from 1 to
 * STW__PG_SCHEMA_VERSION - 1; NULL-terminated.
 */
extern const char *const *const stw__pg_migrations[];

/*
 * Writes the list_instances statement of filter `mask` (STW__PG_LQ_*) into
 * buf (cap bytes). Returns 0, or -1 when it does not fit.
 */
int stw__pg_list_sql(unsigned mask, char *buf, size_t cap);

/* postgres_conn.c ---------------------------------------------------------- */

/* The handle. */
struct stw__pg {
	struct stw__store base;    /* first: the handle is a struct stw__store */
	struct stw__store_ops ops; /* base.ops points here (see postgres.c) */
	PGconn *conn;
	/* Sets a new connection's session up and prepares its statements (postgres.c). */
	int (*setup)(struct stw__pg *h);
	int read_only; /* the session refuses writes; nothing is locked by reads */
	int open;      /* a transaction began and has not ended (begin to commit or rollback) */
	int set_up;    /* the connection's session is set up (setup() succeeded on it) */
	int lost;      /* the connection was found lost and not made again */
	int64_t backoff_ms;  /* the wait after the last failed attempt to connect again (0: none) */
	int64_t retry_at_ms; /* monotonic ms before which no attempt is made */
	uint64_t undos;      /* rollbacks of transactions and of levels */
	uint64_t list_ready; /* the list_instances variants prepared, by mask */
	char err[512];       /* the last failure's message */
	int partitions;      /* the store's partition count (stw_meta) */
	/* Cluster mode (postgres_cluster.c): the worker's fence, and what the
	 * handle holds of it (taken at each begin, and outside a transaction
	 * at each operation limited to it). NULL: not fenced. */
	struct stw__fence *fence;
	struct stw__pg_owned *owned;
	int listening; /* LISTEN stw_cluster was sent on this connection */
	/* Workers of a cluster use the store: a transaction that appended an
	 * event, or wrote a command or a timer of a partition the handle does
	 * not hold, wakes them at its commit (NOTIFY stw_work), so that an
	 * idle worker need not poll often. */
	int notify_work;
	int wrote_work; /* the open transaction did */
};

/* A handle's copy of its fence's pairs. */
struct stw__pg_owned {
	uint64_t generation;
	int n; /* pairs */
	int parts[STW__MAX_PARTITIONS + 1];
	int64_t epochs[STW__MAX_PARTITIONS + 1];
	unsigned char held[STW__MAX_PARTITIONS + 1]; /* by part + 1 */
	int nparts; /* partitions held (the singleton not counted) */
	char parts_text[STW__MAX_PARTITIONS * 6 + 8]; /* the partitions: "{0,5,...}" */
};

/* The text parameters of one statement; NULL is SQL NULL. */
#define STW__PG_MAX_PARAMS 16
struct stw__pg_params {
	const char *v[STW__PG_MAX_PARAMS];
	char num[STW__PG_MAX_PARAMS][24]; /* integers, formatted */
	int n;
};

/* A statement's parameters, empty, as `p`. */
#define PARAMS struct stw__pg_params p = { .n = 0 }

/* Adds a text parameter (NULL: SQL NULL), an integer, or an integer or NULL when <= 0. */
void stw__pg_text(struct stw__pg_params *p, const char *v);
void stw__pg_int(struct stw__pg_params *p, int64_t v);
void stw__pg_limit(struct stw__pg_params *p, int64_t v);

/*
 * Makes sure the connection works before an operation `op`: a lost one is
 * made again (and set up) when no transaction is open and the backoff
 * allows; STW_EBUSY with the reason otherwise (see store.h, Connections).
 */
int stw__pg_ready(struct stw__pg *h, const char *op);

/* Records a printf-style message and returns code. */
int stw__pg_failf(struct stw__pg *h, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/*
 * Records the message of a failed result (or of the connection when res
 * is NULL) for operation `op`, and returns the STW_E* code of its SQLSTATE.
 */
int stw__pg_fail(struct stw__pg *h, const PGresult *res, const char *op);

/*
 * Runs prepared statement `id` with the parameters p. Returns its result
 * (PQclear it) and STW_OK in *rc, or NULL with the failure's code in *rc.
 */
PGresult *stw__pg_run(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		      const char *op, int *rc);

/*
 * Runs `lock` (a SELECT ... FOR UPDATE of one row) as stw__pg_run does;
 * when it finds no row, runs `create` (an INSERT of that row with a
 * placeholder, ON CONFLICT DO NOTHING: an engine creating it at the same
 * time makes this one wait for its commit) and `lock` again, so that the
 * row is locked even the first time: a lock on a missing row locks nothing.
 * Both take the parameters p.
 */
PGresult *stw__pg_lock_row(struct stw__pg *h, enum stw__pg_sid lock, enum stw__pg_sid create,
			   const struct stw__pg_params *p, const char *op, int *rc);

/* Runs statement `name` (prepared already) as stw__pg_run does. */
PGresult *stw__pg_run_named(struct stw__pg *h, const char *name, const struct stw__pg_params *p,
			    const char *op, int *rc);

/* Runs statement id for its row count only: STW_OK with *changed (may be NULL), or a code. */
int stw__pg_change(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		   const char *op, long *changed);

/* Runs SQL without parameters (several statements allowed); STW_OK or a code. */
int stw__pg_exec(struct stw__pg *h, const char *sql, const char *op);

/* Column c of row r: its text, or NULL for SQL NULL. */
const char *stw__pg_col(const PGresult *res, int r, int c);

/* Column c of row r as an integer (0 for SQL NULL). */
int64_t stw__pg_col_int(const PGresult *res, int r, int c);

/* The handle of a store of this backend. */
static inline struct stw__pg *stw__pg_h(struct stw__store *s)
{
	return (struct stw__pg *)s;
}

/*
 * Runs a query whose one row holds one integer: STW_OK with it in *out (if
 * not NULL); 0 when there is no row or it is NULL (a missing head, cursor or
 * count is 0).
 */
int stw__pg_one_int(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		    const char *op, int64_t *out);

/* Runs a "SELECT min(...)" query: STW_OK with *out, or STW_ENOTFOUND when it is NULL. */
int stw__pg_min(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		const char *op, int64_t *out);

/* Runs a query that finds a row or not: STW_OK or STW_ENOTFOUND. */
int stw__pg_exists(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		   const char *op);

/* Whether a transaction is open on the connection (failed or not). */
int stw__pg_in_txn(const struct stw__pg *h);

/* The transaction primitives, close and errmsg of the operations table. */
void stw__pg_close(struct stw__store *s);
const char *stw__pg_errmsg(struct stw__store *s);
int stw__pg_begin(struct stw__store *s);
int stw__pg_commit(struct stw__store *s);
int stw__pg_rollback(struct stw__store *s);
int stw__pg_savepoint(struct stw__store *s);
int stw__pg_release(struct stw__store *s);
int stw__pg_rollback_to(struct stw__store *s);
int stw__pg_in_transaction(struct stw__store *s);
uint64_t stw__pg_undos(struct stw__store *s);

/* The operations of each file, set into a handle's table (postgres.c). */
void stw__pg_ops_events(struct stw__store_ops *o);
void stw__pg_ops_instances(struct stw__store_ops *o);
void stw__pg_ops_outbox(struct stw__store_ops *o);
void stw__pg_ops_timers(struct stw__store_ops *o);
void stw__pg_ops_retention(struct stw__store_ops *o);
void stw__pg_ops_cluster(struct stw__store_ops *o);
void stw__pg_ops_cluster_view(struct stw__store_ops *o);

/* postgres_cluster.c ------------------------------------------------------- */

/*
 * The partitions the handle holds, as an int4[] parameter: as its open
 * transaction was fenced, else as its fence says now.
 */
const char *stw__pg_parts(struct stw__pg *h);

/* A new connection's session setting of a fenced handle. */
int stw__pg_fence_session(struct stw__pg *h);

#endif /* STW_STORE_POSTGRES_INT_H */
