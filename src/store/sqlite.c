/*
 * sqlite.c - the SQLite backend of the store interface (store/store.h).
 *
 * Every statement is prepared once when the store is opened and kept in the
 * handle; an operation binds its parameters, steps, then resets the statement
 * and clears its bindings, so strings bound with SQLITE_STATIC never outlive
 * the call that lent them. All SQL of this backend is in this file and takes
 * input only through bound parameters.
 *
 * Re-entrancy: a callback may call other operations of the same store while
 * an iteration is running. If it calls an operation whose cached statement is
 * the one being iterated, that inner call runs on a fresh copy of the
 * statement (see acquire), so nesting is always safe.
 *
 * Thread safety: a handle is used by one thread at a time (the connection is
 * opened with SQLITE_OPEN_NOMUTEX); several handles, in threads or processes,
 * may share a database file and SQLite serialises their writers.
 *
 * Why one file of about 2,300 lines: it is one module, the backend, whose
 * parts all work on the handle's private state (its connection, its cached
 * statements indexed by one enum, its error buffer). Its statements are one
 * table (sql_text[]) next to the schema they run on, so that a reader checks
 * a query against the table's keys and indexes in one place; the schema and
 * its migrations, the operations (grouped by table, in the order of the
 * interface in store.h) and the background checkpointer follow in sections.
 * Split, each part would export the handle's internals to the others.
 */
#include "store/sqlite.h"

#include <steward.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The schema version this build creates and understands. */
#define STW__SCHEMA_VERSION 7

/* History rows per multi-row INSERT (see op_history_insert_many). */
#define STW__HISTORY_CHUNK 16

/* Bits of a list_instances filter; each combination has its own statement. */
#define STW__LQ_DEFINITION 1
#define STW__LQ_STATUS     2
#define STW__LQ_STATE      4
#define STW__LQ_ID         8
#define STW__LQ_STUCK      16
#define STW__LQ_VARIANTS   32

/*
 * Stuck: active, not updated since ?7, no timer that applies to the state it
 * is in, no command of its own waiting for delivery: nothing will move it.
 */
#define STW__LQ_STUCK_SQL                                                                          \
	" AND status = 'active' AND updated_at < ?7 AND NOT EXISTS (SELECT 1 FROM stw_timers t"    \
	" WHERE t.definition = stw_instances.definition AND t.instance_id = stw_instances.id"      \
	" AND t.entered_version = stw_instances.entered_version) AND NOT EXISTS (SELECT 1 FROM"    \
	" stw_outbox o WHERE o.definition = stw_instances.definition"                              \
	" AND o.instance_id = stw_instances.id AND o.status = 'pending')"

/* Cached statements, indexes into sql_text[] and sqlite_store.st[]. */
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
	STW__NSTMT
};

#define STW__EVENT_COLS                                                                            \
	"context, position, id, type, stream, stream_version, correlation_id, causation_id, "      \
	"data, "                                                                                   \
	"metadata, recorded_at"
#define STW__INSTANCE_COLS                                                                         \
	"definition, id, state, status, data, unique_key, reason, version, created_at, "           \
	"updated_at, "                                                                             \
	"entered_version"
#define STW__HISTORY_COLS                                                                          \
	"definition, instance_id, seq, message_id, message_type, context, from_state, to_state, "  \
	"outcome, reason, at"
#define STW__OUTBOX_COLS                                                                           \
	"seq, command_id, context, type, definition, instance_id, correlation_id, causation_id, "  \
	"data, status, error, created_at, delivered_at, attempts, next_at"
/*
 * The outbox's rare statuses. The predicate is a chain of equalities, not
 * an IN list: SQLite evaluates a partial index's IN list through an
 * ephemeral table built at every write of the table (two zeroed pages and a
 * pager per outbox insert), which cost a fifth of a step.
 */
#define STW__OUTBOX_RARE   "(status = 'rejected' OR status = 'parked' OR status = 'skipped')"
#define STW__UNROUTED_COLS "seq, definition, context, position, event_id, event_type, reason, at"
#define STW__TIMER_COLS                                                                            \
	"id, definition, instance_id, message_type, due_at, entered_version, armed_by, created_at"

static const char *const sql_text[STW__NSTMT] = {
	[STW__BEGIN] = "BEGIN IMMEDIATE",
	[STW__COMMIT] = "COMMIT",
	[STW__ROLLBACK] = "ROLLBACK",
	[STW__SAVEPOINT] = "SAVEPOINT stw_sp",
	[STW__RELEASE] = "RELEASE stw_sp",
	[STW__ROLLBACK_TO] = "ROLLBACK TO stw_sp",
	/* Counts a failed commit, writing over what it left (see overwrite_failed_commit). */
	[STW__OVERWRITE] = "INSERT INTO stw_meta(key, value) VALUES ('failed_commits', 1) "
			   "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
	[STW__EVENT_GET] = "SELECT " STW__EVENT_COLS " FROM stw_events WHERE id = ?1",
	/* The head and a stream's version are read off the log's own keys: one
	 * probe at the end of the primary key or of the stream index. */
	[STW__STREAM_VERSION] = "SELECT coalesce(max(stream_version), 0) FROM stw_events "
				"WHERE context = ?1 AND stream = ?2",
	[STW__EVENT_INSERT] = "INSERT INTO stw_events(" STW__EVENT_COLS ") "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[STW__READ] = "SELECT " STW__EVENT_COLS " FROM stw_events "
		      "WHERE context = ?1 AND position > ?2 ORDER BY position LIMIT ?3",
	[STW__READ_STREAM] = "SELECT " STW__EVENT_COLS " FROM stw_events "
			     "WHERE context = ?1 AND stream = ?2 AND stream_version >= ?3 "
			     "ORDER BY stream_version",
	[STW__HEAD] = "SELECT coalesce(max(position), 0) FROM stw_events WHERE context = ?1",
	[STW__DATA_VERSION] = "PRAGMA data_version",
	[STW__CURSOR_GET] =
	    "SELECT position FROM stw_cursors WHERE definition = ?1 AND context = ?2",
	[STW__CURSOR_SET] = "INSERT INTO stw_cursors(definition, context, position) "
			    "VALUES (?1, ?2, ?3) ON CONFLICT(definition, context) "
			    "DO UPDATE SET position = excluded.position",
	[STW__INSTANCE_GET] = "SELECT " STW__INSTANCE_COLS " FROM stw_instances "
			      "WHERE definition = ?1 AND id = ?2",
	[STW__INSTANCE_INSERT] = "INSERT INTO stw_instances(" STW__INSTANCE_COLS ") "
				 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[STW__INSTANCE_UPDATE] = "UPDATE stw_instances SET state = ?3, status = ?4, data = ?5, "
				 "unique_key = ?6, reason = ?7, version = ?8, updated_at = ?9, "
				 "entered_version = ?11 "
				 "WHERE definition = ?1 AND id = ?2 AND version = ?10",
	[STW__KEY_HOLDER] =
	    "SELECT id FROM stw_instances WHERE definition = ?1 AND unique_key = ?2 "
	    "AND status IN ('active', 'failed')",
	[STW__HISTORY_HAS] = "SELECT 1 FROM stw_history "
			     "WHERE definition = ?1 AND instance_id = ?2 AND message_id = ?3",
	[STW__HISTORY_INSERT] = "INSERT INTO stw_history(definition, instance_id, message_id, "
				"message_type, context, from_state, to_state, outcome, reason, at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[STW__HISTORY_LIST] = "SELECT " STW__HISTORY_COLS " FROM stw_history "
			      "WHERE definition = ?1 AND instance_id = ?2 ORDER BY seq",
	[STW__OUTBOX_INSERT] = "INSERT INTO stw_outbox(command_id, context, type, definition, "
			       "instance_id, correlation_id, causation_id, data, status, error, "
			       "created_at, delivered_at, next_at) "
			       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
			       "ON CONFLICT(command_id) DO NOTHING",
	[STW__OUTBOX_PENDING] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
				"WHERE context = ?1 AND status = 'pending' ORDER BY seq LIMIT ?2",
	[STW__OUTBOX_MARK] = "UPDATE stw_outbox SET status = ?2, error = ?3, delivered_at = ?4 "
			     "WHERE command_id = ?1",
	[STW__OUTBOX_FOR_INSTANCE] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
				     "WHERE definition = ?1 AND instance_id = ?2 ORDER BY seq",
	[STW__OUTBOX_PENDING_COUNT] = "SELECT count(*) FROM stw_outbox WHERE status = 'pending'",
	/* From one context to the next through the pending rows' index. */
	[STW__OUTBOX_PENDING_CONTEXTS] =
	    "WITH RECURSIVE c(context) AS ("
	    "SELECT (SELECT min(context) FROM stw_outbox WHERE status = 'pending') "
	    "UNION ALL SELECT (SELECT min(context) FROM stw_outbox "
	    "WHERE status = 'pending' AND context > c.context) FROM c WHERE c.context IS NOT NULL) "
	    "SELECT context FROM c WHERE context IS NOT NULL",
	[STW__DEDUP_GET] = "SELECT outcome, error FROM stw_dedup "
			   "WHERE context = ?1 AND command_id = ?2",
	[STW__DEDUP_PUT] = "INSERT INTO stw_dedup(context, command_id, outcome, error, at) "
			   "VALUES (?1, ?2, ?3, ?4, ?5)",
	[STW__DEDUP_HIT] = "UPDATE stw_dedup SET duplicates = duplicates + 1 "
			   "WHERE context = ?1 AND command_id = ?2",
	[STW__DEDUP_FORGET_REFUSAL] = "DELETE FROM stw_dedup "
				      "WHERE context = ?1 AND command_id = ?2 AND outcome <> 0",
	[STW__DEDUP_DUPLICATES] = "SELECT coalesce(sum(duplicates), 0) FROM stw_dedup",
	[STW__UNROUTED_INSERT] = "INSERT INTO stw_unrouted(definition, context, position, "
				 "event_id, event_type, reason, at) "
				 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STW__UNROUTED_LIST] = "SELECT " STW__UNROUTED_COLS " FROM stw_unrouted "
			       "ORDER BY seq DESC LIMIT ?2",
	[STW__UNROUTED_LIST_DEFINITION] = "SELECT " STW__UNROUTED_COLS " FROM stw_unrouted "
					  "WHERE definition = ?1 ORDER BY seq DESC LIMIT ?2",
	[STW__TIMER_INSERT] = "INSERT INTO stw_timers(" STW__TIMER_COLS ") "
			      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
			      "ON CONFLICT(definition, instance_id, id) DO NOTHING",
	[STW__TIMERS_DUE] =
	    "SELECT " STW__TIMER_COLS " FROM stw_timers WHERE definition = ?3 AND due_at <= ?1 "
	    "ORDER BY due_at, instance_id, id LIMIT ?2",
	[STW__TIMER_DELETE] =
	    "DELETE FROM stw_timers WHERE definition = ?1 AND instance_id = ?2 AND id = ?3",
	[STW__TIMER_NEXT] = "SELECT min(due_at) FROM stw_timers WHERE definition = ?1",
	[STW__TIMERS_FOR_INSTANCE] = "SELECT " STW__TIMER_COLS " FROM stw_timers "
				     "WHERE definition = ?1 AND instance_id = ?2 "
				     "ORDER BY due_at, id",
	[STW__PERIODIC_GET] = "SELECT last_period FROM stw_periodic WHERE name = ?1",
	[STW__PERIODIC_SET] =
	    "INSERT INTO stw_periodic(name, last_period, last_run_at) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET "
	    "last_period = excluded.last_period, last_run_at = excluded.last_run_at",
	[STW__OUTBOX_DUE] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
			    "WHERE context = ?1 AND status = 'pending' AND next_at <= ?2 "
			    "ORDER BY seq LIMIT ?3",
	[STW__OUTBOX_NEXT_DUE] = "SELECT min(next_at) FROM stw_outbox "
				 "WHERE context = ?1 AND status = 'pending'",
	[STW__OUTBOX_ATTEMPTED] = "UPDATE stw_outbox SET status = ?2, error = ?3, attempts = ?4, "
				  "next_at = ?5, delivered_at = ?6 WHERE command_id = ?1",
	[STW__OUTBOX_GET] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox WHERE command_id = ?1",
	/* The rare statuses, through their partial index (written only when a
	 * command ends up there, so the hot path pays nothing for it). */
	[STW__OUTBOX_BY_STATUS] =
	    "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
	    "WHERE status = ?1 AND " STW__OUTBOX_RARE " ORDER BY seq DESC LIMIT ?2",
	[STW__OUTBOX_PENDING_ALL] =
	    "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
	    "WHERE status = ?1 AND status = 'pending' ORDER BY seq DESC LIMIT ?2",
	/* Most rows are delivered: the newest are found walking seq backwards. */
	[STW__OUTBOX_DONE] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
			     "WHERE status = ?1 ORDER BY seq DESC LIMIT ?2",
	[STW__CURSOR_ATTEMPT] =
	    "INSERT INTO stw_cursors(definition, context, position, attempt_position, attempts) "
	    "VALUES (?1, ?2, ?3, ?3, 1) ON CONFLICT(definition, context) DO UPDATE SET "
	    "attempts = CASE WHEN attempt_position = excluded.attempt_position "
	    "THEN attempts + 1 ELSE 1 END, attempt_position = excluded.attempt_position "
	    "RETURNING attempts",
};

/* Timers as schema 2 created them (the version 1 -> 2 migration). */
#define STW__TIMERS_SCHEMA_2                                                                       \
	"CREATE TABLE stw_timers(id TEXT PRIMARY KEY, definition TEXT NOT NULL,"                   \
	" instance_id TEXT NOT NULL, message_type TEXT NOT NULL, due_at INTEGER NOT NULL,"         \
	" entered_version INTEGER NOT NULL, armed_by TEXT NOT NULL, created_at INTEGER NOT NULL)"  \
	" WITHOUT ROWID;"                                                                          \
	"CREATE INDEX stw_timers_due ON stw_timers(definition, due_at, id);"                       \
	"CREATE INDEX stw_timers_instance ON stw_timers(definition, instance_id);"

/*
 * Instances and timers since schema 4. Both are clustered on the instance
 * (WITHOUT ROWID, keyed by definition and instance id), so that one lookup
 * reaches the row and the timers of neighbouring instances share pages;
 * timers are found by due time through one index, whose ties are in instance
 * order so a burst of timers walks the instances in key order.
 */
#define STW__INSTANCES_SCHEMA(table)                                                               \
	"CREATE TABLE " table "(definition TEXT NOT NULL, id TEXT NOT NULL,"                       \
	" state TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, unique_key TEXT,"         \
	" reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"                     \
	" updated_at INTEGER NOT NULL, entered_version INTEGER NOT NULL DEFAULT 0,"                \
	" PRIMARY KEY(definition, id)) WITHOUT ROWID;"
#define STW__INSTANCES_INDEXES                                                                     \
	"CREATE UNIQUE INDEX stw_instances_key ON stw_instances(definition, unique_key)"           \
	" WHERE unique_key IS NOT NULL AND status IN ('active', 'failed');"                        \
	"CREATE INDEX stw_instances_list ON stw_instances(definition, status, updated_at);"        \
	"CREATE INDEX stw_instances_id ON stw_instances(id);"
#define STW__TIMERS_SCHEMA(table)                                                                  \
	"CREATE TABLE " table "(id TEXT NOT NULL, definition TEXT NOT NULL,"                       \
	" instance_id TEXT NOT NULL, message_type TEXT NOT NULL, due_at INTEGER NOT NULL,"         \
	" entered_version INTEGER NOT NULL, armed_by TEXT NOT NULL, created_at INTEGER NOT NULL,"  \
	" PRIMARY KEY(definition, instance_id, id)) WITHOUT ROWID;"
#define STW__TIMERS_INDEXES                                                                        \
	"CREATE INDEX stw_timers_due ON stw_timers(definition, due_at, instance_id, id);"

#define STW__OUTBOX_STATUS_INDEX                                                                   \
	"CREATE INDEX stw_outbox_status ON stw_outbox(status, seq) WHERE " STW__OUTBOX_RARE ";"

/* Periodic processes: the last period each ran in (so a restart does not rerun it). */
#define STW__PERIODIC_SCHEMA                                                                       \
	"CREATE TABLE stw_periodic(name TEXT PRIMARY KEY, last_period INTEGER NOT NULL,"           \
	" last_run_at INTEGER NOT NULL) WITHOUT ROWID;"

/* The whole schema, created in one transaction on a new database. */
static const char schema[] =
    "CREATE TABLE stw_meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE stw_events(context TEXT NOT NULL, position INTEGER NOT NULL,"
    " id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, stream TEXT NOT NULL,"
    " stream_version INTEGER NOT NULL, correlation_id TEXT, causation_id TEXT,"
    " data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL,"
    " PRIMARY KEY(context, position)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX stw_events_stream ON stw_events(context, stream, stream_version);"
    "CREATE TABLE stw_cursors(definition TEXT, context TEXT, position INTEGER NOT NULL,"
    " attempt_position INTEGER NOT NULL DEFAULT -1, attempts INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(definition, context)) WITHOUT ROWID;" STW__INSTANCES_SCHEMA("stw_instances")
	STW__INSTANCES_INDEXES
    "CREATE TABLE stw_history(seq INTEGER PRIMARY KEY, definition TEXT NOT NULL,"
    " instance_id TEXT NOT NULL, message_id TEXT NOT NULL, message_type TEXT NOT NULL,"
    " context TEXT, from_state TEXT, to_state TEXT, outcome TEXT NOT NULL, reason TEXT,"
    " at INTEGER NOT NULL);"
    "CREATE UNIQUE INDEX stw_history_message ON stw_history(definition, instance_id,"
    " message_id);"
    "CREATE TABLE stw_outbox(seq INTEGER PRIMARY KEY, command_id TEXT NOT NULL UNIQUE,"
    " context TEXT NOT NULL, type TEXT NOT NULL, definition TEXT, instance_id TEXT,"
    " correlation_id TEXT, causation_id TEXT, data TEXT NOT NULL, status TEXT NOT NULL,"
    " error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX stw_outbox_pending ON stw_outbox(context, seq) WHERE status = "
    "'pending';" STW__OUTBOX_STATUS_INDEX
    "CREATE INDEX stw_outbox_instance ON stw_outbox(definition, instance_id, seq);"
    "CREATE TABLE stw_dedup(context TEXT NOT NULL, command_id TEXT NOT NULL,"
    " outcome INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL,"
    " duplicates INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(context, command_id)) WITHOUT ROWID;"
    "CREATE TABLE stw_unrouted(seq INTEGER PRIMARY KEY, definition TEXT NOT NULL,"
    " context TEXT NOT NULL, position INTEGER NOT NULL, event_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);" STW__TIMERS_SCHEMA(
	"stw_timers") STW__TIMERS_INDEXES STW__PERIODIC_SCHEMA
    "INSERT INTO stw_meta(key, value) VALUES ('schema_version', '7');";

/* Version 1 -> 2: timers, and the version at which an instance entered its state. */
static const char migrate_2[] =
    "ALTER TABLE stw_instances ADD COLUMN entered_version INTEGER NOT NULL DEFAULT "
    "0;" STW__TIMERS_SCHEMA_2 "UPDATE stw_meta SET value = '2' WHERE key = 'schema_version';";

/* Version 2 -> 3: periodic processes. */
static const char migrate_3[] =
    STW__PERIODIC_SCHEMA "UPDATE stw_meta SET value = '3' WHERE key = 'schema_version';";

/*
 * Version 3 -> 4: remote delivery (attempts and the time of the next attempt
 * of each command; parked and skipped commands are listed by status) and
 * the durable attempt count of the batch after each cursor (poison inputs).
 */
static const char migrate_4[] =
    "ALTER TABLE stw_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE stw_outbox ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0;" STW__OUTBOX_STATUS_INDEX
    "ALTER TABLE stw_cursors ADD COLUMN attempt_position INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE stw_cursors ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE stw_meta SET value = '4' WHERE key = 'schema_version';";

/* Version 5 -> 6: the outbox's status index without an IN list (see STW__OUTBOX_RARE). */
static const char migrate_6[] = "DROP INDEX stw_outbox_status;" STW__OUTBOX_STATUS_INDEX
				"UPDATE stw_meta SET value = '6' WHERE key = 'schema_version';";

/*
 * Version 6 -> 7: the heads of contexts and the versions of streams are read
 * from stw_events (the largest position, the largest stream version), so the
 * tables that kept them, written at every append, go.
 */
static const char migrate_7[] =
    "DROP TABLE IF EXISTS stw_contexts; DROP TABLE IF EXISTS stw_streams;"
    "UPDATE stw_meta SET value = '7' WHERE key = 'schema_version';";

/*
 * The background checkpointer: a thread with its own connection that copies
 * the WAL back into the database when the committing connection's WAL hook
 * says it has grown past STW__CKPT_PAGES, so that the steps never wait for
 * a checkpoint (copying pages and syncing the database file). If it falls
 * far behind (STW__CKPT_INLINE_PAGES, say a long reader keeps it from
 * finishing), the committing thread checkpoints itself, as SQLite would.
 */
#define STW__CKPT_PAGES        1000
#define STW__CKPT_INLINE_PAGES 16000
struct ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wanted; /* a checkpoint was asked for (under mu) */
	int stop;   /* the thread is to end (under mu) */
	sqlite3 *db;
	int next;   /* the WAL size that asks for the next checkpoint (WAL hook only) */
	int seen;   /* the WAL size at the last commit (WAL hook only) */
	long asked; /* checkpoints asked for (WAL hook only; read by tests) */
};

/* PRAGMA synchronous by level (0..2), for every connection of a store. */
static const char *const sync_sql[] = {
	"PRAGMA synchronous = OFF",
	"PRAGMA synchronous = NORMAL",
	"PRAGMA synchronous = FULL",
};

/* The handle. */
struct sqlite_store {
	struct stw__store base; /* first: the handle is a struct stw__store */
	sqlite3 *db;            /* the connection */
	struct ckpt *ckpt;      /* NULL: SQLite's own automatic checkpoints */
	int wal;                /* the journal mode is WAL (not "memory") */
	uint64_t undos;         /* rollbacks of transactions (SQLite's own too) and of levels */
	sqlite3_stmt *st[STW__NSTMT];         /* cached statements, see enum sid */
	sqlite3_stmt *list[STW__LQ_VARIANTS]; /* list_instances, by STW__LQ_* mask */
	sqlite3_stmt *history_chunk;          /* STW__HISTORY_CHUNK rows in one INSERT */
	char err[512];                        /* the last failure's message */
};

/*
 * Version 4 -> 5: instances and timers clustered on the instance (see
 * STW__INSTANCES_SCHEMA). Both tables are rebuilt: SQLite cannot change a
 * table to WITHOUT ROWID in place. The timer's own id index goes: a timer is
 * deleted by its full key, and its id is derived from its definition and
 * instance, so the key is unique whenever the id is.
 */
static int migrate_5(struct sqlite_store *h);

static struct sqlite_store *handle(struct stw__store *s)
{
	return (struct sqlite_store *)s;
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */

/* Maps an (extended) SQLite result code to an STW_E* code. */
static int code(int rc)
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
static int fail(struct sqlite_store *h, int rc, const char *op)
{
	const char *msg = (rc & 0xff) == SQLITE_NOMEM ? "out of memory" : sqlite3_errmsg(h->db);
	snprintf(h->err, sizeof h->err, "%s: %s", op, msg);
	return code(rc);
}

#if defined(__GNUC__)
#define STW__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STW__PRINTF(f, a)
#endif

/* Records a printf-style message and returns code. */
static int failf(struct sqlite_store *h, int code, const char *fmt, ...) STW__PRINTF(3, 4);

static int failf(struct sqlite_store *h, int code, const char *fmt, ...)
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
 * finish().
 */
static int acquire(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt **st, const char *op)
{
	if (!sqlite3_stmt_busy(cached)) {
		*st = cached;
		return STW_OK;
	}
	int rc = sqlite3_prepare_v3(h->db, sqlite3_sql(cached), -1, 0, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return fail(h, rc, op);
	}
	return STW_OK;
}

/* Resets a cached statement and clears its bindings, or finalizes a copy. */
static void finish(sqlite3_stmt *cached, sqlite3_stmt *st)
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
static void bt(int *rc, sqlite3_stmt *st, int i, const char *v)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

static void bi(int *rc, sqlite3_stmt *st, int i, int64_t v)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/*
 * Reads text column i: NULL for SQL NULL. Sets *oom when SQLite could not
 * produce the text of a non-NULL value.
 */
static const char *col_text(sqlite3_stmt *st, int i, int *oom)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	const unsigned char *p = sqlite3_column_text(st, i);
	if (p == NULL)
		*oom = 1;
	return (const char *)p;
}

static int64_t col_int(sqlite3_stmt *st, int i)
{
	return (int64_t)sqlite3_column_int64(st, i);
}

/*
 * Steps a cached statement whose bindings the caller made (rc: their result)
 * to its end; resets it and clears its bindings. *changes (if not NULL) receives
 * the number of rows changed.
 */
static int run(struct sqlite_store *h, sqlite3_stmt *st, int rc, const char *op, int *changes)
{
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	int code = STW_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		code = fail(h, rc, op);
	else if (changes != NULL)
		*changes = sqlite3_changes(h->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return code;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */

/* Runs one of the argument-less cached statements. */
static int exec(struct sqlite_store *h, enum sid id, const char *op)
{
	return run(h, h->st[id], SQLITE_OK, op, NULL);
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
		return failf(h, STW_EINVAL, "begin: a transaction is open");
	return exec(h, STW__BEGIN, "begin");
}

/*
 * Runs statement id inside the open transaction; `code` and "op: why" when
 * there is none (never opened, or rolled back by SQLite after an error).
 */
static int in_txn(struct sqlite_store *h, enum sid id, const char *op, int code, const char *why)
{
	if (sqlite3_get_autocommit(h->db))
		return failf(h, code, "%s: %s", op, why);
	return exec(h, id, op);
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
	if (exec(h, STW__BEGIN, "overwrite") == STW_OK &&
	    exec(h, STW__OVERWRITE, "overwrite") == STW_OK)
		(void)exec(h, STW__COMMIT, "overwrite");
	if (!sqlite3_get_autocommit(h->db))
		(void)exec(h, STW__ROLLBACK, "overwrite");
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
	return exec(h, STW__ROLLBACK, "rollback");
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
		return failf(h, STW_ESTORE, "rollback_to: the transaction was rolled back");
	h->undos++;
	int rc = exec(h, STW__ROLLBACK_TO, "rollback_to");
	if (rc == STW_OK)
		rc = exec(h, STW__RELEASE, "rollback_to");
	return rc;
}

static int op_in_transaction(struct stw__store *s)
{
	return !sqlite3_get_autocommit(handle(s)->db);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/* Fills an event row from a statement selecting STW__EVENT_COLS; -1 on OOM. */
static int event_fill(sqlite3_stmt *st, struct stw__event_row *r)
{
	int oom = 0;
	r->context = col_text(st, 0, &oom);
	r->position = col_int(st, 1);
	r->id = col_text(st, 2, &oom);
	r->type = col_text(st, 3, &oom);
	r->stream = col_text(st, 4, &oom);
	r->stream_version = col_int(st, 5);
	r->correlation_id = col_text(st, 6, &oom);
	r->causation_id = col_text(st, 7, &oom);
	r->data = col_text(st, 8, &oom);
	r->metadata = col_text(st, 9, &oom);
	r->recorded_at = col_int(st, 10);
	return oom ? -1 : 0;
}

/*
 * Steps an event query (bindings made, rc their result) and hands each row
 * to cb until it returns non-zero. Finishes st.
 */
static int each_event(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int rc,
		      const char *op, stw__event_cb cb, void *ud)
{
	int code = STW_OK;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__event_row row;
			if (event_fill(st, &row) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
			if (cb(&row, ud) != 0) {
				rc = SQLITE_DONE;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		code = fail(h, rc, op);
	finish(cached, st);
	return code;
}

struct event_get_ctx {
	stw__event_cb cb;
	void *ud;
	int found;
};

static int event_get_cb(const struct stw__event_row *row, void *ud)
{
	struct event_get_ctx *g = ud;
	g->found = 1;
	return g->cb != NULL ? g->cb(row, g->ud) : 1;
}

static int op_event_get(struct stw__store *s, const char *id, stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__EVENT_GET], *st;
	int rc = acquire(h, c, &st, "event_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, id);
	struct event_get_ctx g = { cb, ud, 0 };
	rc = each_event(h, c, st, b, "event_get", event_get_cb, &g);
	return rc == STW_OK && !g.found ? STW_ENOTFOUND : rc;
}

/*
 * Runs a single-integer lookup whose missing row means 0 (head, cursors,
 * counts): cached statement id with its first nparams (0..2) text
 * parameters bound to a and b2.
 */
static int int_or_zero(struct sqlite_store *h, enum sid id, const char *a, const char *b2,
		       int nparams, const char *op, int64_t *out)
{
	sqlite3_stmt *c = h->st[id], *st;
	int rc = acquire(h, c, &st, op);
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (nparams > 0)
		bt(&b, st, 1, a);
	if (nparams > 1)
		bt(&b, st, 2, b2);
	int64_t v = 0;
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		v = col_int(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_OK;
	} else {
		rc = fail(h, b, op);
	}
	finish(c, st);
	if (rc == STW_OK && out != NULL)
		*out = v;
	return rc;
}

/*
 * Runs a cached "SELECT min(...) ... WHERE x = ?1" statement: STW_OK with
 * *out, or STW_ENOTFOUND when min() is NULL (no row).
 */
static int min_or_none(struct sqlite_store *h, enum sid id, const char *a, const char *op,
		       int64_t *out)
{
	sqlite3_stmt *c = h->st[id], *st;
	int rc = acquire(h, c, &st, op);
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, a);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*out = col_int(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_ROW || b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = fail(h, b, op);
	}
	finish(c, st);
	return rc;
}

static int op_stream_version(struct stw__store *s, const char *context, const char *stream,
			     int64_t *version)
{
	return int_or_zero(handle(s), STW__STREAM_VERSION, context, stream, 2, "stream_version",
			   version);
}

/* Where a stored event is: its context and position. */
struct where {
	char context[STW_MAX_NAME];
	int64_t position;
};

static int where_cb(const struct stw__event_row *row, void *ud)
{
	struct where *w = ud;
	snprintf(w->context, sizeof(w->context), "%s", row->context);
	w->position = row->position;
	return 1;
}

/*
 * Appends one event. The context head and the stream version are read off
 * the log (the largest position of the context, the largest version of the
 * stream: one probe each at the end of an index; the write lock is held, so
 * nothing can interleave), and the event is inserted one past both. Nothing
 * else is written, so an insert refused (an id stored already, caught by its
 * unique index: STW_EEXIST) leaves nothing behind. Outside the caller's
 * transaction the append runs in its own.
 */
static int op_append(struct stw__store *s, const struct stw__event_row *row, int64_t *position,
		     int64_t *stream_version)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->context == NULL || row->id == NULL || row->type == NULL ||
	    row->stream == NULL || row->data == NULL || row->metadata == NULL)
		return failf(h, STW_EINVAL,
			     "append: context, id, type, stream, data and metadata are "
			     "required");

	int own = sqlite3_get_autocommit(h->db);
	int rc, b;
	int64_t head = 0, ver = 0;
	struct where where = { "", 0 };
	sqlite3_stmt *st;

	if (own && (rc = exec(h, STW__BEGIN, "append")) != STW_OK)
		return rc;

	if ((rc = int_or_zero(h, STW__HEAD, row->context, NULL, 1, "append", &head)) != STW_OK)
		goto out;
	if ((rc = int_or_zero(h, STW__STREAM_VERSION, row->context, row->stream, 2, "append",
			      &ver)) != STW_OK)
		goto out;

	st = h->st[STW__EVENT_INSERT];
	b = SQLITE_OK;
	bt(&b, st, 1, row->context);
	bi(&b, st, 2, head + 1);
	bt(&b, st, 3, row->id);
	bt(&b, st, 4, row->type);
	bt(&b, st, 5, row->stream);
	bi(&b, st, 6, ver + 1);
	bt(&b, st, 7, row->correlation_id);
	bt(&b, st, 8, row->causation_id);
	bt(&b, st, 9, row->data);
	bt(&b, st, 10, row->metadata);
	bi(&b, st, 11, row->recorded_at);
	rc = run(h, st, b, "append", NULL);
	/* The id's unique index refused it (the head and version just read leave
	 * no other key taken): name where the stored copy is. */
	if (rc == STW_EEXIST && op_event_get(s, row->id, where_cb, &where) == STW_OK)
		rc = failf(h, STW_EEXIST, "append: event id %s is stored already at %s#%lld",
			   row->id, where.context, (long long)where.position);

out:
	if (own) {
		if (rc == STW_OK)
			rc = exec(h, STW__COMMIT, "append");
		if (rc != STW_OK && !sqlite3_get_autocommit(h->db))
			(void)exec(h, STW__ROLLBACK, "append");
	}
	if (rc == STW_OK) {
		if (position != NULL)
			*position = head + 1;
		if (stream_version != NULL)
			*stream_version = ver + 1;
	}
	return rc;
}

/* Events of context after `after`, ascending; limit <= 0 means no limit. */
static int op_read(struct stw__store *s, const char *context, int64_t after, int limit,
		   stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__READ], *st;
	int rc = acquire(h, c, &st, "read");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bi(&b, st, 2, after);
	bi(&b, st, 3, limit > 0 ? limit : -1);
	return each_event(h, c, st, b, "read", cb, ud);
}

static int op_read_stream(struct stw__store *s, const char *context, const char *stream,
			  int64_t from_version, stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__READ_STREAM], *st;
	int rc = acquire(h, c, &st, "read_stream");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bt(&b, st, 2, stream);
	bi(&b, st, 3, from_version);
	return each_event(h, c, st, b, "read_stream", cb, ud);
}

/* Counts every rollback of a transaction, SQLite's own after an error included. */
static void on_rollback(void *ud)
{
	struct sqlite_store *h = ud;
	h->undos++;
}

static uint64_t op_undos(struct stw__store *s)
{
	return handle(s)->undos;
}

/* SQLite's data_version: it moves when another connection commits, not for our own commits. */
static int op_foreign_commits(struct stw__store *s, uint64_t *count)
{
	struct sqlite_store *h = handle(s);
	int64_t v = 0;
	int rc = int_or_zero(h, STW__DATA_VERSION, NULL, NULL, 0, "foreign_commits", &v);
	*count = (uint64_t)v;
	return rc;
}

static int op_head(struct stw__store *s, const char *context, int64_t *position)
{
	return int_or_zero(handle(s), STW__HEAD, context, NULL, 1, "head", position);
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                  */

static int op_cursor_get(struct stw__store *s, const char *definition, const char *context,
			 int64_t *position)
{
	return int_or_zero(handle(s), STW__CURSOR_GET, definition, context, 2, "cursor_get",
			   position);
}

static int op_cursor_set(struct stw__store *s, const char *definition, const char *context,
			 int64_t position)
{
	struct sqlite_store *h = handle(s);
	if (definition == NULL || context == NULL)
		return failf(h, STW_EINVAL, "cursor_set: definition and context are required");
	sqlite3_stmt *st = h->st[STW__CURSOR_SET];
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, context);
	bi(&b, st, 3, position);
	return run(h, st, b, "cursor_set", NULL);
}

static int op_cursor_attempt(struct stw__store *s, const char *definition, const char *context,
			     int64_t position, int *attempts)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__CURSOR_ATTEMPT];
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, context);
	bi(&b, st, 3, position);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	int rc = STW_OK;
	if (b == SQLITE_ROW) {
		*attempts = (int)col_int(st, 0);
		b = sqlite3_step(st);
	}
	if (b != SQLITE_DONE)
		rc = fail(h, b, "cursor_attempt");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* Fills an instance row from a statement selecting STW__INSTANCE_COLS; -1 on OOM. */
static int instance_fill(sqlite3_stmt *st, struct stw__instance_row *r)
{
	int oom = 0;
	r->definition = col_text(st, 0, &oom);
	r->id = col_text(st, 1, &oom);
	r->state = col_text(st, 2, &oom);
	r->status = col_text(st, 3, &oom);
	r->data = col_text(st, 4, &oom);
	r->unique_key = col_text(st, 5, &oom);
	r->reason = col_text(st, 6, &oom);
	r->version = col_int(st, 7);
	r->created_at = col_int(st, 8);
	r->updated_at = col_int(st, 9);
	r->entered_version = col_int(st, 10);
	return oom ? -1 : 0;
}

/*
 * Steps an instance query and hands rows to cb until it returns non-zero.
 * *n (if not NULL) receives the number of rows handed. Finishes st.
 */
static int each_instance(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int rc,
			 const char *op, stw__instance_cb cb, void *ud, int *n)
{
	int code = STW_OK, count = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__instance_row row;
			if (instance_fill(st, &row) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
			count++;
			if (cb(&row, ud) != 0) {
				rc = SQLITE_DONE;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		code = fail(h, rc, op);
	finish(cached, st);
	if (n != NULL)
		*n = count;
	return code;
}

static int op_instance_get(struct stw__store *s, const char *definition, const char *id,
			   stw__instance_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__INSTANCE_GET], *st;
	int rc = acquire(h, c, &st, "instance_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK, n = 0;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, id);
	rc = each_instance(h, c, st, b, "instance_get", cb, ud, &n);
	if (rc == STW_OK && n == 0)
		rc = STW_ENOTFOUND;
	return rc;
}

/* Checks the fields an instance row must have. */
static int instance_check(struct sqlite_store *h, const struct stw__instance_row *row,
			  const char *op)
{
	if (row == NULL || row->definition == NULL || row->id == NULL || row->state == NULL ||
	    row->status == NULL || row->data == NULL)
		return failf(h, STW_EINVAL,
			     "%s: definition, id, state, status and data are required", op);
	return STW_OK;
}

/* STW_EEXIST when (definition, id) exists or the unique key is held. */
static int op_instance_insert(struct stw__store *s, const struct stw__instance_row *row)
{
	struct sqlite_store *h = handle(s);
	int rc = instance_check(h, row, "instance_insert");
	if (rc != STW_OK)
		return rc;
	sqlite3_stmt *st = h->st[STW__INSTANCE_INSERT];
	int b = SQLITE_OK;
	bt(&b, st, 1, row->definition);
	bt(&b, st, 2, row->id);
	bt(&b, st, 3, row->state);
	bt(&b, st, 4, row->status);
	bt(&b, st, 5, row->data);
	bt(&b, st, 6, row->unique_key);
	bt(&b, st, 7, row->reason);
	bi(&b, st, 8, row->version);
	bi(&b, st, 9, row->created_at);
	bi(&b, st, 10, row->updated_at);
	bi(&b, st, 11, row->entered_version);
	return run(h, st, b, "instance_insert", NULL);
}

/*
 * Compare-and-set on the version: writes row->version (the caller's new
 * version) when the stored one is expected_version. STW_ECONFLICT when no row
 * matched, STW_EEXIST when the new unique key is held by another instance.
 */
static int op_instance_update(struct stw__store *s, const struct stw__instance_row *row,
			      int64_t expected_version)
{
	struct sqlite_store *h = handle(s);
	int rc = instance_check(h, row, "instance_update");
	if (rc != STW_OK)
		return rc;
	sqlite3_stmt *st = h->st[STW__INSTANCE_UPDATE];
	int b = SQLITE_OK, changes = 0;
	bt(&b, st, 1, row->definition);
	bt(&b, st, 2, row->id);
	bt(&b, st, 3, row->state);
	bt(&b, st, 4, row->status);
	bt(&b, st, 5, row->data);
	bt(&b, st, 6, row->unique_key);
	bt(&b, st, 7, row->reason);
	bi(&b, st, 8, row->version);
	bi(&b, st, 9, row->updated_at);
	bi(&b, st, 10, expected_version);
	bi(&b, st, 11, row->entered_version);
	rc = run(h, st, b, "instance_update", &changes);
	if (rc == STW_OK && changes == 0)
		rc = failf(h, STW_ECONFLICT,
			   "instance_update: %s/%s does not exist or its version is not %lld",
			   row->definition, row->id, (long long)expected_version);
	return rc;
}

/*
 * Copies src (n bytes) with a terminator into dst of cap bytes. Returns -1,
 * leaving dst untouched, if it does not fit.
 */
static int copy_text(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/*
 * The holder's id into holder (cap bytes); holder may be NULL (cap 0) to test
 * for a holder only. STW_EINVAL when the id does not fit.
 */
static int op_key_holder(struct stw__store *s, const char *definition, const char *unique_key,
			 char *holder, size_t cap)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__KEY_HOLDER], *st;
	int rc = acquire(h, c, &st, "key_holder");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, unique_key);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		int oom = 0;
		const char *id = col_text(st, 0, &oom);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (oom || id == NULL)
			rc = failf(h, STW_ENOMEM, "key_holder: out of memory");
		else if (holder != NULL && copy_text(holder, cap, id, n) != 0)
			rc = failf(h, STW_EINVAL, "key_holder: holder id needs %zu bytes", n + 1);
		else
			rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = fail(h, b, "key_holder");
	}
	finish(c, st);
	return rc;
}

/*
 * Instances matching q (NULL: all), newest first. Runs the statement prepared
 * for the filter's combination of fields so that each can use its index.
 * limit <= 0 means no limit.
 */
static int op_list_instances(struct stw__store *s, const struct stw__instance_query *q,
			     stw__instance_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	struct stw__instance_query all = { 0 };
	if (q == NULL)
		q = &all;
	int mask = (q->definition ? STW__LQ_DEFINITION : 0) | (q->status ? STW__LQ_STATUS : 0) |
		   (q->state ? STW__LQ_STATE : 0) | (q->id ? STW__LQ_ID : 0) |
		   (q->stuck_before > 0 ? STW__LQ_STUCK : 0);
	sqlite3_stmt *c = h->list[mask], *st;
	int rc = acquire(h, c, &st, "list_instances");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (q->definition)
		bt(&b, st, 1, q->definition);
	if (q->status)
		bt(&b, st, 2, q->status);
	if (q->state)
		bt(&b, st, 3, q->state);
	if (q->id)
		bt(&b, st, 4, q->id);
	bi(&b, st, 5, q->limit > 0 ? q->limit : -1);
	bi(&b, st, 6, q->offset > 0 ? q->offset : 0);
	if (q->stuck_before > 0)
		bi(&b, st, 7, q->stuck_before);
	return each_instance(h, c, st, b, "list_instances", cb, ud, NULL);
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

static int op_history_has(struct stw__store *s, const char *definition, const char *instance_id,
			  const char *message_id)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__HISTORY_HAS], *st;
	int rc = acquire(h, c, &st, "history_has");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, instance_id);
	bt(&b, st, 3, message_id);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW)
		rc = STW_OK;
	else if (b == SQLITE_DONE)
		rc = STW_ENOTFOUND;
	else
		rc = fail(h, b, "history_has");
	finish(c, st);
	return rc;
}

/* row->seq is ignored (assigned). STW_EEXIST if the message has a row already. */
/* Binds a history row to parameters p+1..p+10; 0 if a required field is missing. */
static int bind_history(int *b, sqlite3_stmt *st, int p, const struct stw__history_row *row)
{
	if (row == NULL || row->definition == NULL || row->instance_id == NULL ||
	    row->message_id == NULL || row->message_type == NULL || row->outcome == NULL)
		return 0;
	bt(b, st, p + 1, row->definition);
	bt(b, st, p + 2, row->instance_id);
	bt(b, st, p + 3, row->message_id);
	bt(b, st, p + 4, row->message_type);
	bt(b, st, p + 5, row->context);
	bt(b, st, p + 6, row->from_state);
	bt(b, st, p + 7, row->to_state);
	bt(b, st, p + 8, row->outcome);
	bt(b, st, p + 9, row->reason);
	bi(b, st, p + 10, row->at);
	return 1;
}

static int history_invalid(struct sqlite_store *h)
{
	return failf(h, STW_EINVAL,
		     "history_insert: definition, instance_id, message_id, "
		     "message_type and outcome are required");
}

static int op_history_insert(struct stw__store *s, const struct stw__history_row *row)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__HISTORY_INSERT];
	int b = SQLITE_OK;
	if (!bind_history(&b, st, 0, row))
		return history_invalid(h);
	return run(h, st, b, "history_insert", NULL);
}

/*
 * Inserts n history rows, STW__HISTORY_CHUNK to a statement (the rest one
 * by one): a statement's fixed cost (opening its cursors, seeking, halting)
 * is most of a small row's. A row whose message is in the history already
 * fails the call with STW_EEXIST, as history_insert does; the caller rolls
 * back.
 */
static int op_history_insert_many(struct stw__store *s, const struct stw__history_row *rows,
				  size_t n)
{
	struct sqlite_store *h = handle(s);
	size_t i = 0;
	for (; i + STW__HISTORY_CHUNK <= n; i += STW__HISTORY_CHUNK) {
		sqlite3_stmt *st = h->history_chunk;
		int b = SQLITE_OK;
		for (int r = 0; r < STW__HISTORY_CHUNK; r++)
			if (!bind_history(&b, st, r * 10, &rows[i + (size_t)r])) {
				sqlite3_clear_bindings(st);
				return history_invalid(h);
			}
		int rc = run(h, st, b, "history_insert", NULL);
		if (rc != STW_OK)
			return rc;
	}
	for (; i < n; i++) {
		int rc = op_history_insert(s, &rows[i]);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

static int op_history_list(struct stw__store *s, const char *definition, const char *instance_id,
			   stw__history_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__HISTORY_LIST], *st;
	int rc = acquire(h, c, &st, "history_list");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, instance_id);
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__history_row r;
			int oom = 0;
			r.definition = col_text(st, 0, &oom);
			r.instance_id = col_text(st, 1, &oom);
			r.seq = col_int(st, 2);
			r.message_id = col_text(st, 3, &oom);
			r.message_type = col_text(st, 4, &oom);
			r.context = col_text(st, 5, &oom);
			r.from_state = col_text(st, 6, &oom);
			r.to_state = col_text(st, 7, &oom);
			r.outcome = col_text(st, 8, &oom);
			r.reason = col_text(st, 9, &oom);
			r.at = col_int(st, 10);
			if (oom) {
				b = SQLITE_NOMEM;
				break;
			}
			if (cb(&r, ud) != 0) {
				b = SQLITE_DONE;
				break;
			}
		}
	}
	rc = b == SQLITE_DONE ? STW_OK : fail(h, b, "history_list");
	finish(c, st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Outbox                                                                   */

/* Steps an outbox query and hands rows to cb until it returns non-zero. */
static int each_outbox(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int b,
		       const char *op, stw__outbox_cb cb, void *ud)
{
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__outbox_row r;
			int oom = 0;
			r.seq = col_int(st, 0);
			r.command_id = col_text(st, 1, &oom);
			r.context = col_text(st, 2, &oom);
			r.type = col_text(st, 3, &oom);
			r.definition = col_text(st, 4, &oom);
			r.instance_id = col_text(st, 5, &oom);
			r.correlation_id = col_text(st, 6, &oom);
			r.causation_id = col_text(st, 7, &oom);
			r.data = col_text(st, 8, &oom);
			r.status = col_text(st, 9, &oom);
			r.error = col_text(st, 10, &oom);
			r.created_at = col_int(st, 11);
			r.delivered_at = col_int(st, 12);
			r.attempts = (int)col_int(st, 13);
			r.next_at = col_int(st, 14);
			if (oom) {
				b = SQLITE_NOMEM;
				break;
			}
			if (cb(&r, ud) != 0) {
				b = SQLITE_DONE;
				break;
			}
		}
	}
	int rc = b == SQLITE_DONE ? STW_OK : fail(h, b, op);
	finish(cached, st);
	return rc;
}

/* Counts the rows an outbox_get hands on (there is at most one). */
struct outbox_found {
	stw__outbox_cb cb;
	void *ud;
	int *found;
};

static int outbox_found_cb(const struct stw__outbox_row *row, void *ud)
{
	struct outbox_found *f = ud;
	*f->found = 1;
	return f->cb(row, f->ud);
}

/*
 * row->seq is ignored (assigned). A NULL status means "pending". An existing
 * command_id makes this a no-op that keeps the stored row.
 */
static int op_outbox_insert(struct stw__store *s, const struct stw__outbox_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->command_id == NULL || row->context == NULL || row->type == NULL ||
	    row->data == NULL)
		return failf(h, STW_EINVAL,
			     "outbox_insert: command_id, context, type and data are required");
	sqlite3_stmt *st = h->st[STW__OUTBOX_INSERT];
	int b = SQLITE_OK;
	bt(&b, st, 1, row->command_id);
	bt(&b, st, 2, row->context);
	bt(&b, st, 3, row->type);
	bt(&b, st, 4, row->definition);
	bt(&b, st, 5, row->instance_id);
	bt(&b, st, 6, row->correlation_id);
	bt(&b, st, 7, row->causation_id);
	bt(&b, st, 8, row->data);
	bt(&b, st, 9, row->status ? row->status : "pending");
	bt(&b, st, 10, row->error);
	bi(&b, st, 11, row->created_at);
	bi(&b, st, 12, row->delivered_at);
	bi(&b, st, 13, row->next_at);
	return run(h, st, b, "outbox_insert", NULL);
}

/* limit <= 0 means no limit. */
static int op_outbox_pending(struct stw__store *s, const char *context, int limit,
			     stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_PENDING], *st;
	int rc = acquire(h, c, &st, "outbox_pending");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bi(&b, st, 2, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_pending", cb, ud);
}

/* STW_ENOTFOUND when no row has the command id. */
static int op_outbox_mark(struct stw__store *s, const char *command_id, const char *status,
			  const char *error, int64_t delivered_at)
{
	struct sqlite_store *h = handle(s);
	if (command_id == NULL || status == NULL)
		return failf(h, STW_EINVAL, "outbox_mark: command_id and status are required");
	sqlite3_stmt *st = h->st[STW__OUTBOX_MARK];
	int b = SQLITE_OK, changes = 0;
	bt(&b, st, 1, command_id);
	bt(&b, st, 2, status);
	bt(&b, st, 3, error);
	bi(&b, st, 4, delivered_at);
	int rc = run(h, st, b, "outbox_mark", &changes);
	if (rc == STW_OK && changes == 0)
		rc = failf(h, STW_ENOTFOUND, "outbox_mark: no command %s", command_id);
	return rc;
}

static int op_outbox_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_FOR_INSTANCE], *st;
	int rc = acquire(h, c, &st, "outbox_for_instance");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, instance_id);
	return each_outbox(h, c, st, b, "outbox_for_instance", cb, ud);
}

/* limit <= 0 means no limit. */
static int op_outbox_due(struct stw__store *s, const char *context, int64_t now, int limit,
			 stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_DUE], *st;
	int rc = acquire(h, c, &st, "outbox_due");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bi(&b, st, 2, now);
	bi(&b, st, 3, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_due", cb, ud);
}

static int op_outbox_next_due(struct stw__store *s, const char *context, int64_t *at)
{
	return min_or_none(handle(s), STW__OUTBOX_NEXT_DUE, context, "outbox_next_due", at);
}

/* STW_ENOTFOUND when no row has the command id. */
static int op_outbox_attempted(struct stw__store *s, const char *command_id, const char *status,
			       const char *error, int attempts, int64_t next_at,
			       int64_t delivered_at)
{
	struct sqlite_store *h = handle(s);
	if (command_id == NULL || status == NULL)
		return failf(h, STW_EINVAL, "outbox_attempted: command_id and status are required");
	sqlite3_stmt *st = h->st[STW__OUTBOX_ATTEMPTED];
	int b = SQLITE_OK, changes = 0;
	bt(&b, st, 1, command_id);
	bt(&b, st, 2, status);
	bt(&b, st, 3, error);
	bi(&b, st, 4, attempts);
	bi(&b, st, 5, next_at);
	bi(&b, st, 6, delivered_at);
	int rc = run(h, st, b, "outbox_attempted", &changes);
	if (rc == STW_OK && changes == 0)
		rc = failf(h, STW_ENOTFOUND, "outbox_attempted: no command %s", command_id);
	return rc;
}

/* Calls cb once with the row, or STW_ENOTFOUND. */
static int op_outbox_get(struct stw__store *s, const char *command_id, stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_GET], *st;
	int rc = acquire(h, c, &st, "outbox_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK, found = 0;
	bt(&b, st, 1, command_id);
	struct outbox_found f = { cb, ud, &found };
	rc = each_outbox(h, c, st, b, "outbox_get", outbox_found_cb, &f);
	return rc == STW_OK && !found ? STW_ENOTFOUND : rc;
}

static int op_outbox_by_status(struct stw__store *s, const char *status, int limit,
			       stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	enum sid id = strcmp(status, "pending") == 0     ? STW__OUTBOX_PENDING_ALL
		      : strcmp(status, "delivered") == 0 ? STW__OUTBOX_DONE
							 : STW__OUTBOX_BY_STATUS;
	sqlite3_stmt *c = h->st[id], *st;
	int rc = acquire(h, c, &st, "outbox_by_status");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, status);
	bi(&b, st, 2, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_by_status", cb, ud);
}

static int op_outbox_pending_count(struct stw__store *s, int64_t *count)
{
	return int_or_zero(handle(s), STW__OUTBOX_PENDING_COUNT, NULL, NULL, 0,
			   "outbox_pending_count", count);
}

static int op_outbox_pending_contexts(struct stw__store *s, stw__name_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_PENDING_CONTEXTS], *st;
	int rc = acquire(h, c, &st, "outbox_pending_contexts");
	if (rc != STW_OK)
		return rc;
	int b;
	while ((b = sqlite3_step(st)) == SQLITE_ROW) {
		int oom = 0;
		const char *name = col_text(st, 0, &oom);
		if (oom) {
			b = SQLITE_NOMEM;
			break;
		}
		if (cb(name, ud) != 0) {
			b = SQLITE_DONE;
			break;
		}
	}
	rc = b == SQLITE_DONE ? STW_OK : fail(h, b, "outbox_pending_contexts");
	finish(c, st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Dedup                                                                    */

/* The recorded error text is truncated to fit err (cap bytes). */
static int op_dedup_get(struct stw__store *s, const char *context, const char *command_id,
			int *outcome, char *err, size_t cap)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__DEDUP_GET], *st;
	int rc = acquire(h, c, &st, "dedup_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bt(&b, st, 2, command_id);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		int oom = 0;
		if (outcome != NULL)
			*outcome = sqlite3_column_int(st, 0);
		const char *e = col_text(st, 1, &oom);
		if (oom) {
			rc = failf(h, STW_ENOMEM, "dedup_get: out of memory");
		} else {
			rc = STW_OK;
			if (err != NULL && cap > 0) {
				size_t n = e ? (size_t)sqlite3_column_bytes(st, 1) : 0;
				if (n >= cap)
					n = cap - 1;
				if (n > 0)
					memcpy(err, e, n);
				err[n] = '\0';
			}
		}
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = fail(h, b, "dedup_get");
	}
	finish(c, st);
	return rc;
}

static int op_dedup_put(struct stw__store *s, const char *context, const char *command_id,
			int outcome, const char *error, int64_t at)
{
	struct sqlite_store *h = handle(s);
	if (context == NULL || command_id == NULL)
		return failf(h, STW_EINVAL, "dedup_put: context and command_id are required");
	sqlite3_stmt *st = h->st[STW__DEDUP_PUT];
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bt(&b, st, 2, command_id);
	bi(&b, st, 3, outcome);
	bt(&b, st, 4, error);
	bi(&b, st, 5, at);
	return run(h, st, b, "dedup_put", NULL);
}

/* STW_ENOTFOUND when the command was never recorded. */
static int op_dedup_hit(struct stw__store *s, const char *context, const char *command_id)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__DEDUP_HIT];
	int b = SQLITE_OK, changes = 0;
	bt(&b, st, 1, context);
	bt(&b, st, 2, command_id);
	int rc = run(h, st, b, "dedup_hit", &changes);
	if (rc == STW_OK && changes == 0)
		rc = failf(h, STW_ENOTFOUND, "dedup_hit: no command %s in %s",
			   command_id ? command_id : "(null)", context ? context : "(null)");
	return rc;
}

static int op_dedup_forget_refusal(struct stw__store *s, const char *context,
				   const char *command_id)
{
	struct sqlite_store *h = handle(s);
	if (context == NULL || command_id == NULL)
		return failf(h, STW_EINVAL,
			     "dedup_forget_refusal: context and command_id are required");
	sqlite3_stmt *st = h->st[STW__DEDUP_FORGET_REFUSAL];
	int b = SQLITE_OK;
	bt(&b, st, 1, context);
	bt(&b, st, 2, command_id);
	return run(h, st, b, "dedup_forget_refusal", NULL);
}

/* A sum over the table: meant for inspection, not for every step. */
static int op_dedup_duplicates(struct stw__store *s, int64_t *count)
{
	return int_or_zero(handle(s), STW__DEDUP_DUPLICATES, NULL, NULL, 0, "dedup_duplicates",
			   count);
}

/* ------------------------------------------------------------------------ */
/* Unrouted                                                                 */

/* row->seq is ignored (assigned). */
static int op_unrouted_insert(struct stw__store *s, const struct stw__unrouted_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->definition == NULL || row->context == NULL ||
	    row->event_id == NULL || row->event_type == NULL || row->reason == NULL)
		return failf(h, STW_EINVAL,
			     "unrouted_insert: definition, context, event_id, event_type "
			     "and reason are required");
	sqlite3_stmt *st = h->st[STW__UNROUTED_INSERT];
	int b = SQLITE_OK;
	bt(&b, st, 1, row->definition);
	bt(&b, st, 2, row->context);
	bi(&b, st, 3, row->position);
	bt(&b, st, 4, row->event_id);
	bt(&b, st, 5, row->event_type);
	bt(&b, st, 6, row->reason);
	bi(&b, st, 7, row->at);
	return run(h, st, b, "unrouted_insert", NULL);
}

/* Newest first; definition NULL lists all; limit <= 0 means no limit. */
static int op_unrouted_list(struct stw__store *s, const char *definition, int limit,
			    stw__unrouted_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[definition ? STW__UNROUTED_LIST_DEFINITION : STW__UNROUTED_LIST];
	sqlite3_stmt *st;
	int rc = acquire(h, c, &st, "unrouted_list");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (definition)
		bt(&b, st, 1, definition);
	bi(&b, st, 2, limit > 0 ? limit : -1);
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__unrouted_row r;
			int oom = 0;
			r.seq = col_int(st, 0);
			r.definition = col_text(st, 1, &oom);
			r.context = col_text(st, 2, &oom);
			r.position = col_int(st, 3);
			r.event_id = col_text(st, 4, &oom);
			r.event_type = col_text(st, 5, &oom);
			r.reason = col_text(st, 6, &oom);
			r.at = col_int(st, 7);
			if (oom) {
				b = SQLITE_NOMEM;
				break;
			}
			if (cb(&r, ud) != 0) {
				b = SQLITE_DONE;
				break;
			}
		}
	}
	rc = b == SQLITE_DONE ? STW_OK : fail(h, b, "unrouted_list");
	finish(c, st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */

static int op_timer_insert(struct stw__store *s, const struct stw__timer_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->id == NULL || row->definition == NULL || row->instance_id == NULL ||
	    row->message_type == NULL || row->armed_by == NULL)
		return failf(h, STW_EINVAL,
			     "timer_insert: id, definition, instance_id, message_type and "
			     "armed_by are required");
	sqlite3_stmt *st = h->st[STW__TIMER_INSERT];
	int b = SQLITE_OK;
	bt(&b, st, 1, row->id);
	bt(&b, st, 2, row->definition);
	bt(&b, st, 3, row->instance_id);
	bt(&b, st, 4, row->message_type);
	bi(&b, st, 5, row->due_at);
	bi(&b, st, 6, row->entered_version);
	bt(&b, st, 7, row->armed_by);
	bi(&b, st, 8, row->created_at);
	return run(h, st, b, "timer_insert", NULL);
}

/* Steps a timer query (bound already, b its bind status) into cb. Finishes st. */
static int each_timer(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int b,
		      const char *op, stw__timer_cb cb, void *ud)
{
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__timer_row r;
			int oom = 0;
			r.id = col_text(st, 0, &oom);
			r.definition = col_text(st, 1, &oom);
			r.instance_id = col_text(st, 2, &oom);
			r.message_type = col_text(st, 3, &oom);
			r.due_at = col_int(st, 4);
			r.entered_version = col_int(st, 5);
			r.armed_by = col_text(st, 6, &oom);
			r.created_at = col_int(st, 7);
			if (oom) {
				b = SQLITE_NOMEM;
				break;
			}
			if (cb(&r, ud) != 0) {
				b = SQLITE_DONE;
				break;
			}
		}
	}
	int rc = b == SQLITE_DONE ? STW_OK : fail(h, b, op);
	finish(cached, st);
	return rc;
}

static int op_timers_due(struct stw__store *s, const char *definition, int64_t now, int limit,
			 stw__timer_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__TIMERS_DUE], *st;
	int rc = acquire(h, c, &st, "timers_due");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bi(&b, st, 1, now);
	bi(&b, st, 2, limit > 0 ? limit : -1);
	bt(&b, st, 3, definition);
	return each_timer(h, c, st, b, "timers_due", cb, ud);
}

static int op_timer_delete(struct stw__store *s, const char *definition, const char *instance_id,
			   const char *id)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__TIMER_DELETE];
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, instance_id);
	bt(&b, st, 3, id);
	return run(h, st, b, "timer_delete", NULL);
}

/* min() over the (definition, due_at) index: one index probe, not a scan. */
static int op_timer_next(struct stw__store *s, const char *definition, int64_t *due_at)
{
	return min_or_none(handle(s), STW__TIMER_NEXT, definition, "timer_next", due_at);
}

static int op_timers_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__timer_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__TIMERS_FOR_INSTANCE], *st;
	int rc = acquire(h, c, &st, "timers_for_instance");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, definition);
	bt(&b, st, 2, instance_id);
	return each_timer(h, c, st, b, "timers_for_instance", cb, ud);
}

/* ------------------------------------------------------------------------ */
/* Periodic processes                                                       */

static int op_periodic_get(struct stw__store *s, const char *name, int64_t *period)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__PERIODIC_GET], *st;
	int rc = acquire(h, c, &st, "periodic_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	bt(&b, st, 1, name);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		*period = sqlite3_column_int64(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = fail(h, b, "periodic_get");
	}
	finish(c, st);
	return rc;
}

static int op_periodic_set(struct stw__store *s, const char *name, int64_t period, int64_t at)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__PERIODIC_SET];
	int b = SQLITE_OK;
	bt(&b, st, 1, name);
	bi(&b, st, 2, period);
	bi(&b, st, 3, at);
	return run(h, st, b, "periodic_set", NULL);
}

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                      */

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wanted && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->wanted = 0;
		pthread_mutex_unlock(&c->mu);
		/* PASSIVE: never waits for readers or writers; what it cannot copy
		 * now is copied at the next request. */
		(void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The committing connection's WAL hook: `frames` is the WAL's size after a commit. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
	struct ckpt *c = ud;
	/*
	 * A WAL that a checkpoint could not empty (commits kept coming while it
	 * copied) is not restarted, so its size stays past STW__CKPT_PAGES. The
	 * next checkpoint is asked for once another STW__CKPT_PAGES have been
	 * written, not at every commit: each checkpoint syncs the database file,
	 * and one per commit doubled the syncs of a light load.
	 */
	if (frames < c->seen)
		c->next = STW__CKPT_PAGES; /* the WAL restarted from its beginning */
	c->seen = frames;
	if (frames >= STW__CKPT_INLINE_PAGES) {
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (frames >= c->next) {
		c->next = frames + STW__CKPT_PAGES;
		c->asked++;
		pthread_mutex_lock(&c->mu);
		c->wanted = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/* Stops and joins the checkpointer and closes its connection. Accepts NULL. */
static void ckpt_stop(struct ckpt *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close_v2(c->db);
	free(c);
}

/*
 * Starts the checkpointer on a second connection to `path` (same
 * synchronous setting, so that a checkpoint syncs the database file as the
 * committing connection would) and hands the WAL hook to it. Without a
 * thread the connection keeps SQLite's automatic checkpoints.
 */
static int ckpt_start(struct sqlite_store *h, const char *path, int synchronous)
{
	struct ckpt *c = calloc(1, sizeof *c);
	if (c == NULL)
		return failf(h, STW_ENOMEM, "open: out of memory");
	int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, sync_sql[synchronous], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int code = failf(h, STW_ESTORE, "open: checkpointer: %s",
				 c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close_v2(c->db);
		free(c);
		return code;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close_v2(c->db);
		free(c);
		return failf(h, STW_ESTORE, "open: cannot start the checkpointer thread");
	}
	c->next = STW__CKPT_PAGES;
	h->ckpt = c;
	sqlite3_wal_hook(h->db, wal_hook, c);
	return STW_OK;
}

/* Finalizes every statement and closes the connection. Accepts NULL. */
static void op_close(struct stw__store *s)
{
	if (s == NULL)
		return;
	struct sqlite_store *h = handle(s);
	if (h->ckpt != NULL) {
		sqlite3_wal_hook(h->db, NULL, NULL);
		ckpt_stop(h->ckpt);
		h->ckpt = NULL;
	}
	for (int i = 0; i < STW__NSTMT; i++)
		sqlite3_finalize(h->st[i]);
	for (int i = 0; i < STW__LQ_VARIANTS; i++)
		sqlite3_finalize(h->list[i]);
	sqlite3_finalize(h->history_chunk);
	sqlite3_close_v2(h->db);
	free(h);
}

static const struct stw__store_ops sqlite_ops = {
	.close = op_close,
	.errmsg = op_errmsg,
	.begin = op_begin,
	.commit = op_commit,
	.rollback = op_rollback,
	.savepoint = op_savepoint,
	.release = op_release,
	.rollback_to = op_rollback_to,
	.in_transaction = op_in_transaction,
	.event_get = op_event_get,
	.stream_version = op_stream_version,
	.append = op_append,
	.read = op_read,
	.read_stream = op_read_stream,
	.undos = op_undos,
	.foreign_commits = op_foreign_commits,
	.head = op_head,
	.cursor_get = op_cursor_get,
	.cursor_set = op_cursor_set,
	.instance_get = op_instance_get,
	.instance_insert = op_instance_insert,
	.instance_update = op_instance_update,
	.key_holder = op_key_holder,
	.list_instances = op_list_instances,
	.history_has = op_history_has,
	.history_insert = op_history_insert,
	.history_insert_many = op_history_insert_many,
	.history_list = op_history_list,
	.outbox_insert = op_outbox_insert,
	.outbox_pending = op_outbox_pending,
	.outbox_mark = op_outbox_mark,
	.outbox_for_instance = op_outbox_for_instance,
	.outbox_pending_count = op_outbox_pending_count,
	.outbox_pending_contexts = op_outbox_pending_contexts,
	.dedup_get = op_dedup_get,
	.dedup_put = op_dedup_put,
	.dedup_hit = op_dedup_hit,
	.dedup_forget_refusal = op_dedup_forget_refusal,
	.dedup_duplicates = op_dedup_duplicates,
	.unrouted_insert = op_unrouted_insert,
	.unrouted_list = op_unrouted_list,
	.timer_insert = op_timer_insert,
	.timers_due = op_timers_due,
	.timer_delete = op_timer_delete,
	.timer_next = op_timer_next,
	.timers_for_instance = op_timers_for_instance,
	.periodic_get = op_periodic_get,
	.periodic_set = op_periodic_set,
	.outbox_due = op_outbox_due,
	.outbox_next_due = op_outbox_next_due,
	.outbox_attempted = op_outbox_attempted,
	.outbox_get = op_outbox_get,
	.outbox_by_status = op_outbox_by_status,
	.cursor_attempt = op_cursor_attempt,
};

/* Runs static SQL (no input) through sqlite3_exec. */
static int exec_sql(struct sqlite_store *h, const char *sql, const char *op)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? STW_OK : fail(h, rc, op);
}

/*
 * Sets the journal mode to WAL, checking that it took (an in-memory database
 * keeps "memory"), then synchronous (0..2), busy timeout, foreign keys and,
 * when cache_kb > 0, the page cache size.
 */
static int pragmas(struct sqlite_store *h, int synchronous, int read_only, int cache_kb)
{
	sqlite3_stmt *st = NULL;
	/* A read-only connection cannot change the journal mode, only report it. */
	int rc = sqlite3_prepare_v2(
	    h->db, read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = fail(h, rc, "open: journal_mode");
		sqlite3_finalize(st);
		return rc;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	int ok = read_only ||
		 (mode != NULL && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0));
	h->wal = mode != NULL && strcmp(mode, "wal") == 0;
	if (!ok)
		rc = failf(h, STW_ESTORE, "open: cannot use WAL mode (journal mode is %s)",
			   mode ? mode : "unknown");
	sqlite3_finalize(st);
	if (!ok)
		return rc;
	sqlite3_busy_timeout(h->db, 5000);
	rc = exec_sql(h, sync_sql[synchronous], "open: synchronous");
	if (rc == STW_OK)
		rc = exec_sql(h, "PRAGMA foreign_keys = OFF", "open: foreign_keys");
	if (rc == STW_OK && cache_kb > 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", cache_kb);
		rc = exec_sql(h, sql, "open: cache_size");
	}
	return rc;
}

/*
 * Creates the schema on a new database or checks the version of an existing
 * one, in one IMMEDIATE transaction so that concurrent openers create it
 * once.
 */
static int schema_init(struct sqlite_store *h, int read_only)
{
	int rc = exec_sql(h, read_only ? "BEGIN" : "BEGIN IMMEDIATE", "open: begin");
	if (rc != STW_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	int b = sqlite3_prepare_v2(h->db,
				   "SELECT count(*) FROM sqlite_master "
				   "WHERE type = 'table' AND name = 'stw_meta'",
				   -1, &st, NULL);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b != SQLITE_ROW) {
		rc = fail(h, b, "open: schema");
		goto out;
	}
	int exists = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	st = NULL;

	if (!exists && read_only) {
		rc = failf(h, STW_ENOTFOUND, "open: not a steward database (no schema)");
		goto out;
	}
	if (!exists) {
		rc = exec_sql(h, schema, "open: create schema");
		goto out;
	}

	b = sqlite3_prepare_v2(h->db, "SELECT value FROM stw_meta WHERE key = 'schema_version'", -1,
			       &st, NULL);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_DONE) {
		rc = failf(h, STW_ESTORE, "open: the database has no schema_version");
		goto out;
	}
	if (b != SQLITE_ROW) {
		rc = fail(h, b, "open: schema");
		goto out;
	}
	const char *text = (const char *)sqlite3_column_text(st, 0);
	char *end = NULL;
	errno = 0;
	long long v = text ? strtoll(text, &end, 10) : 0;
	if (text == NULL || end == text || *end != '\0' || errno != 0 || v < 1) {
		rc = failf(h, STW_ESTORE, "open: unreadable schema_version '%s'",
			   text ? text : "NULL");
	} else if (v > STW__SCHEMA_VERSION) {
		rc = failf(h, STW_ESTORE,
			   "open: the database has schema version %lld, newer than the %d "
			   "this build supports; upgrade steward",
			   v, STW__SCHEMA_VERSION);
	} else if (v < STW__SCHEMA_VERSION) {
		/* Older databases are migrated in place, in this transaction. */
		sqlite3_finalize(st);
		st = NULL;
		if (read_only)
			rc = failf(h, STW_ESTORE,
				   "open: the database has schema version %lld; open it once "
				   "read-write to upgrade it",
				   v);
		else {
			if (v == 1)
				rc = exec_sql(h, migrate_2, "open: migrate to schema 2");
			if (rc == STW_OK && v <= 2)
				rc = exec_sql(h, migrate_3, "open: migrate to schema 3");
			if (rc == STW_OK && v <= 3)
				rc = exec_sql(h, migrate_4, "open: migrate to schema 4");
			if (rc == STW_OK && v <= 4)
				rc = migrate_5(h);
			if (rc == STW_OK && v <= 5)
				rc = exec_sql(h, migrate_6, "open: migrate to schema 6");
			if (rc == STW_OK && v <= 6)
				rc = exec_sql(h, migrate_7, "open: migrate to schema 7");
		}
	}
out:
	sqlite3_finalize(st);
	if (rc == STW_OK)
		rc = exec_sql(h, "COMMIT", "open: commit");
	if (rc != STW_OK && !sqlite3_get_autocommit(h->db))
		(void)sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Schema 4 -> 5                                                            */

static const char migrate_5_sql[] = STW__INSTANCES_SCHEMA(
    "stw_instances_5") "INSERT INTO stw_instances_5(" STW__INSTANCE_COLS ") "
		       "SELECT " STW__INSTANCE_COLS " FROM stw_instances;"
		       "DROP TABLE stw_instances;"
		       "ALTER TABLE stw_instances_5 RENAME TO stw_instances;" STW__INSTANCES_INDEXES
			   STW__TIMERS_SCHEMA(
			       "stw_timers_5") "INSERT INTO stw_timers_5(" STW__TIMER_COLS ") "
					       "SELECT " STW__TIMER_COLS " FROM stw_timers;"
					       "DROP TABLE stw_timers;"
					       "ALTER TABLE stw_timers_5 RENAME TO "
					       "stw_timers;" STW__TIMERS_INDEXES
					       "UPDATE stw_meta SET value = '5' WHERE key = "
					       "'schema_version';";

/* Runs inside the opening transaction: a failure leaves version 4 as it was. */
static int migrate_5(struct sqlite_store *h)
{
	return exec_sql(h, migrate_5_sql, "open: migrate to schema 5");
}

/* Prepares every statement, including the list_instances variants. */
static int prepare_all(struct sqlite_store *h)
{
	for (int i = 0; i < STW__NSTMT; i++) {
		int rc = sqlite3_prepare_v3(h->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT,
					    &h->st[i], NULL);
		if (rc != SQLITE_OK)
			return fail(h, rc, "open: prepare");
	}
	for (int m = 0; m < STW__LQ_VARIANTS; m++) {
		char sql[1024];
		int n =
		    snprintf(sql, sizeof sql,
			     "SELECT " STW__INSTANCE_COLS " FROM stw_instances WHERE 1%s%s%s%s%s "
			     "ORDER BY updated_at DESC, id DESC LIMIT ?5 OFFSET ?6",
			     (m & STW__LQ_DEFINITION) ? " AND definition = ?1" : "",
			     (m & STW__LQ_STATUS) ? " AND status = ?2" : "",
			     (m & STW__LQ_STATE) ? " AND state = ?3" : "",
			     (m & STW__LQ_ID) ? " AND id = ?4" : "",
			     (m & STW__LQ_STUCK) ? STW__LQ_STUCK_SQL : "");
		if (n < 0 || (size_t)n >= sizeof sql)
			return failf(h, STW_ESTORE, "open: list statement too long");
		int rc = sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->list[m],
					    NULL);
		if (rc != SQLITE_OK)
			return fail(h, rc, "open: prepare");
	}
	/* The single-row history insert, with its VALUES repeated. */
	const char *one = sql_text[STW__HISTORY_INSERT];
	const char *values = strstr(one, "VALUES ");
	size_t head = (size_t)(values - one) + strlen("VALUES ");
	char sql[STW__HISTORY_CHUNK * 48 + 256];
	size_t n = (size_t)snprintf(sql, sizeof sql, "%.*s", (int)head, one);
	for (int r = 0; r < STW__HISTORY_CHUNK; r++)
		n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(?,?,?,?,?,?,?,?,?,?)",
				      r ? "," : "");
	int rc =
	    sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->history_chunk, NULL);
	return rc == SQLITE_OK ? STW_OK : fail(h, rc, "open: prepare");
}

/*
 * For the tests: how many of the cached statements that write (INSERT,
 * UPDATE, DELETE) build an ephemeral table when they run, as an IN list in
 * a partial index's predicate makes every write of its table do. RETURNING
 * is left out: it buffers its rows in one by design, and the one statement
 * with it runs once per engine start. Puts the first such statement's text
 * in `first` (may be NULL). -1 on failure.
 */
int stw__sqlite_ephemeral_writes(struct stw__store *s, char *first, size_t cap)
{
	struct sqlite_store *h = handle(s);
	int n = 0;
	for (int i = 0; i < STW__NSTMT && n >= 0; i++) {
		const char *sql = sqlite3_sql(h->st[i]);
		if (sql == NULL || strstr(sql, " RETURNING ") != NULL ||
		    (strncmp(sql, "INSERT", 6) != 0 && strncmp(sql, "UPDATE", 6) != 0 &&
		     strncmp(sql, "DELETE", 6) != 0))
			continue;
		char *explain = sqlite3_mprintf("EXPLAIN %s", sql);
		sqlite3_stmt *st = NULL;
		if (explain == NULL ||
		    sqlite3_prepare_v2(h->db, explain, -1, &st, NULL) != SQLITE_OK) {
			n = -1;
		} else {
			int found = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *op = (const char *)sqlite3_column_text(st, 1);
				found |= op != NULL && strcmp(op, "OpenEphemeral") == 0;
			}
			if (found && n++ == 0 && first != NULL && cap > 0)
				snprintf(first, cap, "%s", sql);
		}
		sqlite3_finalize(st);
		sqlite3_free(explain);
	}
	return n;
}

/*
 * Process-wide settings, made once, if SQLite is not yet initialised in the
 * process (sqlite3_config refuses, harmlessly, after that):
 *  - SQLite's memory statistics cost a global mutex and two counters on
 *    every allocation, and Debian's build has no lookaside, so a step pays
 *    them a few dozen times. They are turned off; sqlite3_memory_used()
 *    then reports 0.
 *  - Statement journals stay in memory: a nested level (a savepoint) copies
 *    the pages it changes into one, and past 64 KiB SQLite would write it
 *    to a temporary file, doubling the writes of a round.
 */
static void sqlite_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
}

int stw__sqlite_open(const char *path, const struct stw__sqlite_options *opts,
		     struct stw__store **out, char *errbuf, size_t errcap)
{
	static pthread_once_t config_once = PTHREAD_ONCE_INIT;
	pthread_once(&config_once, sqlite_config);
	int synchronous = opts ? opts->synchronous : 2;
	if (synchronous < 0)
		synchronous = 2;
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || synchronous > 2) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: %s",
				 synchronous > 2 ? "synchronous must be 0, 1 or 2"
						 : "path and out are required");
		return STW_EINVAL;
	}

	struct sqlite_store *h = calloc(1, sizeof *h);
	if (h == NULL) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: out of memory");
		return STW_ENOMEM;
	}
	h->base.ops = &sqlite_ops;
	h->base.caps = STW__CAP_SINGLE_WRITER | STW__CAP_FOREIGN_COMMITS;

	int rc;
	int read_only = opts ? opts->read_only : 0;
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int b = sqlite3_open_v2(path, &h->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (b != SQLITE_OK) {
		if (h->db == NULL)
			rc = failf(h, STW_ENOMEM, "open: out of memory");
		else
			rc = failf(h, code(sqlite3_extended_errcode(h->db)), "open: %s: %s", path,
				   sqlite3_errmsg(h->db));
		goto fail;
	}
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_rollback_hook(h->db, on_rollback, h);

	if ((rc = pragmas(h, synchronous, read_only, opts ? opts->cache_kb : 0)) != STW_OK)
		goto fail;
	if ((rc = schema_init(h, read_only)) != STW_OK)
		goto fail;
	if ((rc = prepare_all(h)) != STW_OK)
		goto fail;
	if (!read_only && !(opts && opts->inline_checkpoint) && h->wal &&
	    (rc = ckpt_start(h, path, synchronous)) != STW_OK)
		goto fail;
	*out = &h->base;
	return STW_OK;

fail:
	if (errbuf != NULL && errcap > 0)
		snprintf(errbuf, errcap, "%s", h->err);
	op_close(&h->base);
	return rc;
}

long stw__sqlite_checkpoints_asked(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	return h->ckpt != NULL ? h->ckpt->asked : -1;
}

long stw__sqlite_cache_kb(struct stw__store *s)
{
	sqlite3_stmt *st = NULL;
	long kb = -1;
	/* Negative: KiB, as SQLite's default and pragmas set it. */
	if (sqlite3_prepare_v2(handle(s)->db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) < 0)
		kb = (long)-sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return kb;
}
