/*
 * sqlite_sql.c - every statement of the SQLite backend's operations, next to
 * the schema they run on and its migrations, so that a reader checks a query
 * against the table's keys and indexes in one place. Input reaches them only
 * as bound parameters.
 */
#include "store/sqlite_int.h"

#include <stdio.h>

/*
 * Stuck: active, not updated since ?7, no timer that applies to the state it
 * is in, no command of its own waiting for delivery: nothing will move it.
 */
#define STW__LQ_STUCK_SQL                                                                          \
	" AND status = 'active' AND updated_at < ?7 AND NOT EXISTS (SELECT 1 FROM stw_timers t"    \
	" WHERE t.definition = stw_instances.definition AND t.instance_id = stw_instances.id"      \
	" AND t.entered_version = stw_instances.entered_version) AND NOT EXISTS (SELECT 1 FROM"    \
	" stw_outbox o WHERE o.instance_num = stw_instances.num AND o.status = 'pending')"

/* The number of the instance named by definition d and id i (see sqlite_names.c). */
#define STW__NUM_OF(d, i) "SELECT num FROM stw_names WHERE id = " i " AND definition = " d

#define STW__EVENT_COLS                                                                            \
	"context, position, id, type, stream, stream_version, correlation_id, causation_id, "      \
	"data, "                                                                                   \
	"metadata, recorded_at"
/* The columns of instances up to schema 7 (the 4 -> 5 migration copies them). */
#define STW__INSTANCE_COLS_7                                                                       \
	"definition, id, state, status, data, unique_key, reason, version, created_at, "           \
	"updated_at, entered_version"
#define STW__INSTANCE_COLS STW__INSTANCE_COLS_7 ", definition_version"
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

const char *const stw__sqlite_sql[STW__NSTMT] = {
	[STW__BEGIN] = "BEGIN IMMEDIATE",
	[STW__COMMIT] = "COMMIT",
	[STW__ROLLBACK] = "ROLLBACK",
	[STW__SAVEPOINT] = "SAVEPOINT stw_sp",
	[STW__RELEASE] = "RELEASE stw_sp",
	[STW__ROLLBACK_TO] = "ROLLBACK TO stw_sp",
	/* Counts a failed commit, writing over what it left (see overwrite_failed_commit in
	   sqlite_conn.c). */
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
	/* Instance numbers (sqlite_names.c), through stw_names_id (id, definition). */
	[STW__NAME_GET] = STW__NUM_OF("?1", "?2"),
	[STW__NAME_INSERT] = "INSERT INTO stw_names(definition, id) VALUES (?1, ?2)",
	/* An instance through its name's number, which it also selects. */
	[STW__INSTANCE_GET] = "SELECT " STW__INSTANCE_COLS ", num FROM stw_instances "
			      "WHERE num = (" STW__NUM_OF("?1", "?2") ")",
	[STW__INSTANCE_INSERT] = "INSERT INTO stw_instances(" STW__INSTANCE_COLS ", num) "
				 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
	[STW__INSTANCE_UPDATE] =
	    "UPDATE stw_instances SET state = ?3, status = ?4, data = ?5, "
	    "unique_key = ?6, reason = ?7, version = ?8, updated_at = ?9, "
	    "entered_version = ?11, definition_version = CASE WHEN ?12 > 0 "
	    "THEN ?12 ELSE definition_version END "
	    "WHERE num = ?13 AND definition = ?1 AND id = ?2 AND version = ?10",
	[STW__KEY_HOLDER] =
	    "SELECT id FROM stw_instances WHERE definition = ?1 AND unique_key = ?2 "
	    "AND status IN ('active', 'failed')",
	[STW__HISTORY_HAS] =
	    "SELECT 1 FROM stw_history WHERE instance_num = ?1 AND message_id = ?2",
	[STW__HISTORY_INSERT] =
	    "INSERT INTO stw_history(definition, instance_id, message_id, "
	    "message_type, context, from_state, to_state, outcome, reason, at, "
	    "instance_num) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[STW__HISTORY_LIST] = "SELECT " STW__HISTORY_COLS " FROM stw_history "
			      "WHERE instance_num = (" STW__NUM_OF("?1", "?2") ") ORDER BY seq",
	[STW__OUTBOX_INSERT] =
	    "INSERT INTO stw_outbox(command_id, context, type, definition, "
	    "instance_id, correlation_id, causation_id, data, status, error, "
	    "created_at, delivered_at, next_at, instance_num) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
	    "ON CONFLICT(command_id) DO NOTHING",
	[STW__OUTBOX_PENDING] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox "
				"WHERE context = ?1 AND status = 'pending' ORDER BY seq LIMIT ?2",
	[STW__OUTBOX_MARK] = "UPDATE stw_outbox SET status = ?2, error = ?3, delivered_at = ?4 "
			     "WHERE command_id = ?1",
	[STW__OUTBOX_FOR_INSTANCE] = "SELECT " STW__OUTBOX_COLS " FROM stw_outbox WHERE "
				     "instance_num = (" STW__NUM_OF("?1", "?2") ") ORDER BY seq",
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
	/*
	 * Retention (sqlite_retention.c). The ended instances of one status
	 * last updated before ?3, oldest first, through stw_instances_list
	 * (definition, status, updated_at); the commands still waiting are
	 * looked for through stw_outbox_instance (instance_num, seq).
	 */
	[STW__PRUNE_CANDIDATES] =
	    "SELECT id FROM stw_instances WHERE definition = ?1 AND status = ?2 AND updated_at < "
	    "?3 "
	    "AND NOT EXISTS (SELECT 1 FROM stw_outbox o WHERE o.instance_num = stw_instances.num "
	    "AND (o.status = 'pending' OR o.status = 'parked')) "
	    "ORDER BY updated_at LIMIT ?4",
	/* Through the prefix (instance_num) of stw_history_message. */
	[STW__PRUNE_HISTORY] =
	    "DELETE FROM stw_history WHERE instance_num = (" STW__NUM_OF("?1", "?2") ")",
	/* Through the timers' primary key (definition, instance_id, id). */
	[STW__PRUNE_TIMERS] = "DELETE FROM stw_timers WHERE definition = ?1 AND instance_id = ?2",
	/* Through stw_outbox_instance (instance_num, seq); final rows only. */
	[STW__PRUNE_OUTBOX] =
	    "DELETE FROM stw_outbox WHERE (status = 'delivered' OR status = 'skipped' OR "
	    "status = 'rejected') AND instance_num = (" STW__NUM_OF("?1", "?2") ")",
	/* Through the instances' primary key (num). */
	[STW__PRUNE_INSTANCE] =
	    "DELETE FROM stw_instances WHERE num = (" STW__NUM_OF("?1", "?2") ")",
	/* The name goes last: the deletes above find the rows through it. */
	[STW__PRUNE_NAME] = "DELETE FROM stw_names WHERE id = ?2 AND definition = ?1",
	/*
	 * A window of the dedup table from a key on, through its primary key
	 * (context, command_id): the rows to look at and the first of the next
	 * window (?3 is one more than the rows looked at).
	 */
	[STW__DEDUP_WINDOW] =
	    "SELECT context, command_id, at FROM stw_dedup WHERE (context, command_id) >= (?1, ?2) "
	    "ORDER BY context, command_id LIMIT ?3",
	/* The old rows of a window, a range of the primary key. */
	[STW__DEDUP_DROP_RANGE] = "DELETE FROM stw_dedup WHERE (context, command_id) >= (?1, ?2) "
				  "AND (context, command_id) < (?3, ?4) AND at < ?5",
	/* The old rows of the last window, from its first key to the end of the table. */
	[STW__DEDUP_DROP_TAIL] =
	    "DELETE FROM stw_dedup WHERE (context, command_id) >= (?1, ?2) AND at < ?3",
	/* A window of the outbox after a seq, through its primary key: (its last seq, its rows). */
	[STW__COMMANDS_WINDOW] = "SELECT max(seq), count(*) FROM (SELECT seq FROM stw_outbox"
				 " WHERE seq > ?1 ORDER BY seq LIMIT ?2)",
	/* The delivered commands of no instance of a window (?1, ?2], delivered before ?3. */
	[STW__COMMANDS_DROP] =
	    "DELETE FROM stw_outbox WHERE seq > ?1 AND seq <= ?2"
	    " AND instance_id IS NULL AND status = 'delivered' AND delivered_at < ?3",
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
#define STW__INSTANCES_SCHEMA_COLS(extra)                                                          \
	"(definition TEXT NOT NULL, id TEXT NOT NULL,"                                             \
	" state TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, unique_key TEXT,"         \
	" reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"                     \
	" updated_at INTEGER NOT NULL, entered_version INTEGER NOT NULL DEFAULT 0," extra          \
	" PRIMARY KEY(definition, id)) WITHOUT ROWID;"
/* As schemas 5 to 7 had it (the 4 -> 5 migration builds it). */
#define STW__INSTANCES_SCHEMA_7(table) "CREATE TABLE " table STW__INSTANCES_SCHEMA_COLS("")
/* The indexes of instances as schemas 5 to 9 had them (the 4 -> 5 migration builds them). */
#define STW__INSTANCES_INDEXES                                                                     \
	STW__INSTANCES_INDEXES_10 "CREATE INDEX stw_instances_id ON stw_instances(id);"
/*
 * Since schema 10 (see sqlite_names.c): each instance's name (definition,
 * id) has a number, given in creation order in stw_names, and the instance
 * row is keyed by it, so that the rows a store writes are at the end of the
 * table. Instances are found by name through stw_names_id, whose (id,
 * definition) order also serves a lookup by id alone.
 */
#define STW__NAMES_SCHEMA                                                                          \
	"CREATE TABLE stw_names(num INTEGER PRIMARY KEY, definition TEXT NOT NULL,"                \
	" id TEXT NOT NULL);"                                                                      \
	"CREATE UNIQUE INDEX stw_names_id ON stw_names(id, definition);"
#define STW__INSTANCES_SCHEMA(table)                                                               \
	"CREATE TABLE " table "(num INTEGER PRIMARY KEY, definition TEXT NOT NULL,"                \
	" id TEXT NOT NULL, state TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL,"        \
	" unique_key TEXT, reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"    \
	" updated_at INTEGER NOT NULL, entered_version INTEGER NOT NULL DEFAULT 0,"                \
	" definition_version INTEGER NOT NULL DEFAULT 1);"
#define STW__INSTANCES_INDEXES_10                                                                  \
	"CREATE UNIQUE INDEX stw_instances_key ON stw_instances(definition, unique_key)"           \
	" WHERE unique_key IS NOT NULL AND status IN ('active', 'failed');"                        \
	"CREATE INDEX stw_instances_list ON stw_instances(definition, status, updated_at);"
#define STW__TIMERS_SCHEMA(table)                                                                  \
	"CREATE TABLE " table "(id TEXT NOT NULL, definition TEXT NOT NULL,"                       \
	" instance_id TEXT NOT NULL, message_type TEXT NOT NULL, due_at INTEGER NOT NULL,"         \
	" entered_version INTEGER NOT NULL, armed_by TEXT NOT NULL, created_at INTEGER NOT NULL,"  \
	" PRIMARY KEY(definition, instance_id, id)) WITHOUT ROWID;"
#define STW__TIMERS_INDEXES                                                                        \
	"CREATE INDEX stw_timers_due ON stw_timers(definition, due_at, instance_id, id);"

#define STW__OUTBOX_STATUS_INDEX                                                                   \
	"CREATE INDEX stw_outbox_status ON stw_outbox(status, seq) WHERE " STW__OUTBOX_RARE ";"

/*
 * The outbox rows of an instance, for inspection and retention. Since
 * schema 9 only the rows that have an instance: a stateless policy's
 * commands (a third of a voiding process's rows) are never looked up by
 * instance, and every query through it binds an instance, which SQLite
 * takes as implying that it is not NULL. Schema 9's was by name; since 10 it
 * is by the instance's number.
 */
#define STW__OUTBOX_INSTANCE_INDEX_9                                                               \
	"CREATE INDEX stw_outbox_instance ON stw_outbox(definition, instance_id, seq)"             \
	" WHERE instance_id IS NOT NULL;"
#define STW__OUTBOX_INSTANCE_INDEX                                                                 \
	"CREATE INDEX stw_outbox_instance ON stw_outbox(instance_num, seq)"                        \
	" WHERE instance_num IS NOT NULL;"
/* A message handled by an instance, once (schema 10: by the instance's number). */
#define STW__HISTORY_MESSAGE_INDEX                                                                 \
	"CREATE UNIQUE INDEX stw_history_message ON stw_history(instance_num, message_id);"

/* Periodic processes: the last period each ran in (so a restart does not rerun it). */
#define STW__PERIODIC_SCHEMA                                                                       \
	"CREATE TABLE stw_periodic(name TEXT PRIMARY KEY, last_period INTEGER NOT NULL,"           \
	" last_run_at INTEGER NOT NULL) WITHOUT ROWID;"

/* The whole schema, created in one transaction on a new database. */
const char stw__sqlite_schema[] =
    "CREATE TABLE stw_meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE stw_events(context TEXT NOT NULL, position INTEGER NOT NULL,"
    " id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, stream TEXT NOT NULL,"
    " stream_version INTEGER NOT NULL, correlation_id TEXT, causation_id TEXT,"
    " data TEXT NOT NULL, metadata TEXT NOT NULL, recorded_at INTEGER NOT NULL,"
    " PRIMARY KEY(context, position)) WITHOUT ROWID;"
    "CREATE UNIQUE INDEX stw_events_stream ON stw_events(context, stream, stream_version);"
    "CREATE TABLE stw_cursors(definition TEXT, context TEXT, position INTEGER NOT NULL,"
    " attempt_position INTEGER NOT NULL DEFAULT -1, attempts INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(definition, context)) WITHOUT ROWID;" STW__NAMES_SCHEMA STW__INSTANCES_SCHEMA(
	"stw_instances") STW__INSTANCES_INDEXES_10
    "CREATE TABLE stw_history(seq INTEGER PRIMARY KEY, definition TEXT NOT NULL,"
    " instance_id TEXT NOT NULL, message_id TEXT NOT NULL, message_type TEXT NOT NULL,"
    " context TEXT, from_state TEXT, to_state TEXT, outcome TEXT NOT NULL, reason TEXT,"
    " at INTEGER NOT NULL, instance_num INTEGER);" STW__HISTORY_MESSAGE_INDEX
    "CREATE TABLE stw_outbox(seq INTEGER PRIMARY KEY, command_id TEXT NOT NULL UNIQUE,"
    " context TEXT NOT NULL, type TEXT NOT NULL, definition TEXT, instance_id TEXT,"
    " correlation_id TEXT, causation_id TEXT, data TEXT NOT NULL, status TEXT NOT NULL,"
    " error TEXT, created_at INTEGER NOT NULL, delivered_at INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0,"
    " instance_num INTEGER);"
    "CREATE INDEX stw_outbox_pending ON stw_outbox(context, seq) WHERE status = "
    "'pending';" STW__OUTBOX_STATUS_INDEX STW__OUTBOX_INSTANCE_INDEX
    "CREATE TABLE stw_dedup(context TEXT NOT NULL, command_id TEXT NOT NULL,"
    " outcome INTEGER NOT NULL, error TEXT, at INTEGER NOT NULL,"
    " duplicates INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(context, command_id)) WITHOUT ROWID;"
    "CREATE TABLE stw_unrouted(seq INTEGER PRIMARY KEY, definition TEXT NOT NULL,"
    " context TEXT NOT NULL, position INTEGER NOT NULL, event_id TEXT NOT NULL,"
    " event_type TEXT NOT NULL, reason TEXT NOT NULL, at INTEGER NOT NULL);" STW__TIMERS_SCHEMA(
	"stw_timers") STW__TIMERS_INDEXES STW__PERIODIC_SCHEMA
    "INSERT INTO stw_meta(key, value) VALUES ('schema_version', '10');";

/* Version 1 -> 2: timers, and the version at which an instance entered its state. */
const char stw__sqlite_migrate_2[] =
    "ALTER TABLE stw_instances ADD COLUMN entered_version INTEGER NOT NULL DEFAULT "
    "0;" STW__TIMERS_SCHEMA_2 "UPDATE stw_meta SET value = '2' WHERE key = 'schema_version';";

/* Version 2 -> 3: periodic processes. */
const char stw__sqlite_migrate_3[] =
    STW__PERIODIC_SCHEMA "UPDATE stw_meta SET value = '3' WHERE key = 'schema_version';";

/*
 * Version 3 -> 4: remote delivery (attempts and the time of the next attempt
 * of each command; parked and skipped commands are listed by status) and
 * the durable attempt count of the batch after each cursor (poison inputs).
 */
const char stw__sqlite_migrate_4[] =
    "ALTER TABLE stw_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE stw_outbox ADD COLUMN next_at INTEGER NOT NULL DEFAULT 0;" STW__OUTBOX_STATUS_INDEX
    "ALTER TABLE stw_cursors ADD COLUMN attempt_position INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE stw_cursors ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"
    "UPDATE stw_meta SET value = '4' WHERE key = 'schema_version';";

/*
 * Version 4 -> 5: instances and timers clustered on the instance (see
 * STW__INSTANCES_SCHEMA). Both tables are rebuilt: SQLite cannot change a
 * table to WITHOUT ROWID in place. The timer's own id index goes: a timer is
 * deleted by its full key, and its id is derived from its definition and
 * instance, so the key is unique whenever the id is.
 */
const char stw__sqlite_migrate_5[] = STW__INSTANCES_SCHEMA_7(
    "stw_instances_5") "INSERT INTO stw_instances_5(" STW__INSTANCE_COLS_7 ") "
		       "SELECT " STW__INSTANCE_COLS_7 " FROM stw_instances;"
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

/* Version 5 -> 6: the outbox's status index without an IN list (see STW__OUTBOX_RARE). */
const char stw__sqlite_migrate_6[] =
    "DROP INDEX stw_outbox_status;" STW__OUTBOX_STATUS_INDEX
    "UPDATE stw_meta SET value = '6' WHERE key = 'schema_version';";

/*
 * Version 6 -> 7: the heads of contexts and the versions of streams are read
 * from stw_events (the largest position, the largest stream version), so the
 * tables that kept them, written at every append, go.
 */
const char stw__sqlite_migrate_7[] =
    "DROP TABLE IF EXISTS stw_contexts; DROP TABLE IF EXISTS stw_streams;"
    "UPDATE stw_meta SET value = '7' WHERE key = 'schema_version';";

/*
 * Version 7 -> 8: instances record the version of the definition that
 * created them. The store cannot know which version made the instances it
 * holds; until now one version of a definition was registered at a time and
 * the engine treated every version alike, so they are given 1, the version
 * every definition starts at (and the one a definition saying 0 is taken
 * as).
 */
const char stw__sqlite_migrate_8[] =
    "ALTER TABLE stw_instances ADD COLUMN definition_version INTEGER NOT NULL DEFAULT 1;"
    "UPDATE stw_meta SET value = '8' WHERE key = 'schema_version';";

/*
 * Version 8 -> 9: the index of the outbox rows by instance leaves out the
 * rows that have none (see STW__OUTBOX_INSTANCE_INDEX_9).
 */
const char stw__sqlite_migrate_9[] =
    "DROP INDEX stw_outbox_instance;" STW__OUTBOX_INSTANCE_INDEX_9
    "UPDATE stw_meta SET value = '9' WHERE key = 'schema_version';";

/* The number of the instance a row of history or of the outbox names (migration 10). */
#define STW__NUM_OF_ROW(t) STW__NUM_OF(t ".definition", t ".instance_id")

/*
 * Version 9 -> 10: instances numbered in creation order (see
 * STW__NAMES_SCHEMA and sqlite_names.c). Every instance is given a number,
 * in the order they were created; so is any other name the history or the
 * outbox holds. The instances are rebuilt keyed by it (a WITHOUT ROWID table
 * cannot become a rowid one in place), and the history and the outbox gain
 * the number, with their indexes by instance on it.
 */
#define STW__NUM_OF_INSTANCE STW__NUM_OF("stw_instances.definition", "stw_instances.id")
#define STW__NUM_OF_HISTORY  STW__NUM_OF_ROW("stw_history")
#define STW__NUM_OF_OUTBOX   STW__NUM_OF_ROW("stw_outbox")
#define STW__MIGRATE_10_NAMES                                                                      \
	STW__NAMES_SCHEMA                                                                          \
	"INSERT INTO stw_names(definition, id) SELECT definition, id FROM stw_instances"           \
	" ORDER BY created_at, definition, id;"                                                    \
	"INSERT OR IGNORE INTO stw_names(definition, id) SELECT definition, instance_id"           \
	" FROM stw_history ORDER BY seq;"                                                          \
	"INSERT OR IGNORE INTO stw_names(definition, id) SELECT definition, instance_id"           \
	" FROM stw_outbox WHERE definition IS NOT NULL AND instance_id IS NOT NULL ORDER BY seq;"
#define STW__MIGRATE_10_INSTANCES                                                                  \
	"INSERT INTO stw_instances_10(num, " STW__INSTANCE_COLS ") SELECT (" STW__NUM_OF_INSTANCE  \
	"), " STW__INSTANCE_COLS " FROM stw_instances ORDER BY 1; DROP TABLE stw_instances;"       \
	"ALTER TABLE stw_instances_10 RENAME TO stw_instances;"
#define STW__MIGRATE_10_ROWS                                                                       \
	"ALTER TABLE stw_history ADD COLUMN instance_num INTEGER;"                                 \
	"UPDATE stw_history SET instance_num = (" STW__NUM_OF_HISTORY ");"                         \
	"DROP INDEX stw_history_message;"                                                          \
	"ALTER TABLE stw_outbox ADD COLUMN instance_num INTEGER;"                                  \
	"UPDATE stw_outbox SET instance_num = (" STW__NUM_OF_OUTBOX ")"                            \
	" WHERE instance_id IS NOT NULL; DROP INDEX stw_outbox_instance;"
const char stw__sqlite_migrate_10[] =
    STW__MIGRATE_10_NAMES STW__INSTANCES_SCHEMA("stw_instances_10")
	STW__MIGRATE_10_INSTANCES STW__INSTANCES_INDEXES_10 STW__MIGRATE_10_ROWS
	    STW__HISTORY_MESSAGE_INDEX STW__OUTBOX_INSTANCE_INDEX
    "UPDATE stw_meta SET value = '10' WHERE key = 'schema_version';";

/* PRAGMA synchronous by level (0..2), for every connection of a store. */
const char *const stw__sqlite_sync_sql[] = {
	"PRAGMA synchronous = OFF",
	"PRAGMA synchronous = NORMAL",
	"PRAGMA synchronous = FULL",
};

int stw__sqlite_list_sql(int m, char *sql, size_t cap)
{
	int n = snprintf(sql, cap,
			 "SELECT " STW__INSTANCE_COLS " FROM stw_instances WHERE 1%s%s%s%s%s%s "
			 "ORDER BY updated_at DESC, id DESC LIMIT ?5 OFFSET ?6",
			 (m & STW__LQ_DEFINITION) ? " AND definition = ?1" : "",
			 (m & STW__LQ_STATUS) ? " AND status = ?2" : "",
			 (m & STW__LQ_STATE) ? " AND state = ?3" : "",
			 (m & STW__LQ_ID) ? " AND num IN (SELECT num FROM stw_names WHERE id = ?4)"
					  : "",
			 (m & STW__LQ_VERSION) ? " AND definition_version = ?8" : "",
			 (m & STW__LQ_STUCK) ? STW__LQ_STUCK_SQL : "");
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}
