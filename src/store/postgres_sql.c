/*
 * postgres_sql.c - every SQL statement of the PostgreSQL backend, next to
 * the schema they run on, so that a query is checked against the keys and
 * indexes in one place. Input reaches them only as parameters.
 *
 * Text columns sort bytewise (COLLATE "C"), as SQLite's do, so that every
 * order the store hands on is the same on both backends, whatever the
 * database's locale. Times are int8 milliseconds; JSON is text, stored as
 * it was written (the engine compares JSON values itself).
 */
#include "store/postgres_int.h"

#include <stdio.h>

/* A text column of bytewise order. */
#define T " text COLLATE \"C\""

#define EVENT_COLS                                                                                 \
	"context, position, id, type, stream, stream_version, correlation_id, causation_id, "      \
	"data, metadata, recorded_at"
#define INSTANCE_COLS                                                                              \
	"definition, id, state, status, data, unique_key, reason, version, created_at, "           \
	"updated_at, entered_version, definition_version"
#define HISTORY_COLS                                                                               \
	"definition, instance_id, seq, message_id, message_type, context, from_state, to_state, "  \
	"outcome, reason, at"
#define OUTBOX_COLS                                                                                \
	"seq, command_id, context, type, definition, instance_id, correlation_id, causation_id, "  \
	"data, status, error, created_at, delivered_at, attempts, next_at"
#define OUTBOX_RARE   "status IN ('rejected', 'parked', 'skipped')"
#define UNROUTED_COLS "seq, definition, context, position, event_id, event_type, reason, at"
/* A timestamptz (or an interval) as int8 milliseconds. */
#define MS(x) "(extract(epoch FROM " x ") * 1000)::int8"
#define TIMER_COLS                                                                                 \
	"id, definition, instance_id, message_type, due_at, entered_version, armed_by, created_at"

/* A partition's cursor for worker $4 (see STW__PG_PART_CURSOR_GET), over the parts $3. */
#define PART_CURSOR                                                                                \
	"CASE WHEN pc.owner = $4 THEN pc.position WHEN pc.part IS NULL"                            \
	" THEN coalesce(c.position, 0)"                                                            \
	" ELSE GREATEST(pc.position, coalesce(c.position, 0), coalesce(oc.position, 0)) END"
#define PART_CURSOR_FROM                                                                           \
	"unnest($3::int4[]) m(part) LEFT JOIN stw_part_cursors pc ON pc.definition = $1"           \
	" AND pc.context = $2 AND pc.part = m.part LEFT JOIN stw_cursors c"                        \
	" ON c.definition = $1 AND c.context = $2 LEFT JOIN stw_owner_cursors oc"                  \
	" ON oc.definition = $1 AND oc.context = $2 AND oc.owner = $4"

/*
 * In STW__PG_PART_CURSOR_SET, followed by a partition and ")": whether that
 * partition, at $3 after the step, may follow worker $5's own row from now
 * on: that row is not further on, and $5 still holds the partition (one it
 * gave up stays marked).
 */
#define CAUGHT_UP                                                                                  \
	"$3::int8 >= coalesce((SELECT position FROM o), 0) AND EXISTS (SELECT 1 FROM stw_leases s" \
	" WHERE s.owner = $5::text AND NOT s.released AND s.part = "

const char *const stw__pg_sql[STW__PG_NSTMT] = {
	[STW__PG_EVENT_GET] = "SELECT " EVENT_COLS " FROM stw_events WHERE id = $1",
	[STW__PG_STREAM_VERSION] = "SELECT coalesce((SELECT version FROM stw_streams "
				   "WHERE context = $1 AND stream = $2), 0)",
	/*
	 * One append, in one round trip. The head of the context and the
	 * version of the stream are rows, taken with an upsert that locks them
	 * until the transaction ends: appenders to one context queue there, so
	 * positions are gap-free and commit in position order (a reader that
	 * has read a position never meets a smaller one later). Unlike a
	 * max() over the log, an upsert that waited for the lock reads the
	 * row as the other transaction left it. A stored id takes nothing
	 * (fresh is empty, no row comes back); an id stored by a transaction
	 * that committed while this one waited comes back with inserted = 0,
	 * and APPEND_UNDO gives the head and version back.
	 */
	[STW__PG_APPEND] =
	    "WITH fresh AS (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM stw_events WHERE id = "
	    "$2::text)),"
	    " h AS (INSERT INTO stw_heads AS t(context, position) SELECT $1::text, 1 FROM fresh"
	    " ON CONFLICT (context) DO UPDATE SET position = t.position + 1 RETURNING position),"
	    " v AS (INSERT INTO stw_streams AS t(context, stream, version)"
	    " SELECT $1::text, $4::text, 1 FROM fresh"
	    " ON CONFLICT (context, stream) DO UPDATE SET version = t.version + 1 RETURNING "
	    "version),"
	    " e AS (INSERT INTO stw_events(" EVENT_COLS ")"
	    " SELECT $1::text, h.position, $2::text, $3::text, $4::text, v.version, $5::text,"
	    " $6::text, $7::text, $8::text, $9::int8 FROM h, v"
	    " ON CONFLICT (id) DO NOTHING RETURNING 1)"
	    " SELECT h.position, v.version, (SELECT count(*) FROM e) FROM h, v",
	[STW__PG_APPEND_UNDO] =
	    "WITH h AS (UPDATE stw_heads SET position = position - 1 WHERE context = $1::text)"
	    " UPDATE stw_streams SET version = version - 1 WHERE context = $1::text"
	    " AND stream = $2::text",
	[STW__PG_READ] =
	    "SELECT " EVENT_COLS " FROM stw_events WHERE context = $1 AND position > $2"
	    " ORDER BY position LIMIT $3::int8",
	[STW__PG_READ_STREAM] = "SELECT " EVENT_COLS " FROM stw_events WHERE context = $1"
				" AND stream = $2 AND stream_version >= $3 ORDER BY stream_version",
	[STW__PG_HEAD] = "SELECT coalesce((SELECT position FROM stw_heads WHERE context = $1), 0)",
	[STW__PG_CURSOR_GET] =
	    "SELECT position FROM stw_cursors WHERE definition = $1 AND context = $2",
	/* Inside a transaction: another engine's step of the same cursor waits. */
	[STW__PG_CURSOR_LOCK] = "SELECT position FROM stw_cursors WHERE definition = $1"
				" AND context = $2 FOR UPDATE",
	/* A cursor never set, created to be locked (stw__pg_lock_row): 0, as if missing. */
	[STW__PG_CURSOR_CREATE] =
	    "INSERT INTO stw_cursors(definition, context, position)"
	    " VALUES ($1, $2, 0) ON CONFLICT (definition, context) DO NOTHING",
	[STW__PG_CURSOR_SET] = "INSERT INTO stw_cursors(definition, context, position)"
			       " VALUES ($1, $2, $3) ON CONFLICT (definition, context)"
			       " DO UPDATE SET position = excluded.position",
	[STW__PG_CURSOR_ATTEMPT] =
	    "INSERT INTO stw_cursors AS c(definition, context, position, attempt_position, "
	    "attempts)"
	    " VALUES ($1, $2, $3, $3, 1) ON CONFLICT (definition, context) DO UPDATE SET"
	    " attempts = CASE WHEN c.attempt_position = excluded.attempt_position"
	    " THEN c.attempts + 1 ELSE 1 END, attempt_position = excluded.attempt_position"
	    " RETURNING attempts",
	[STW__PG_INSTANCE_GET] = "SELECT " INSTANCE_COLS " FROM stw_instances"
				 " WHERE definition = $1 AND id = $2",
	/* An id or a key taken inserts nothing: no row, no error. */
	[STW__PG_INSTANCE_INSERT] =
	    "INSERT INTO stw_instances(" INSTANCE_COLS ", part)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
	    " ON CONFLICT DO NOTHING",
	/*
	 * Compare-and-set on the version, which does not write when the new
	 * key is held by another active or failed instance: (rows updated,
	 * holders of the key).
	 */
	[STW__PG_INSTANCE_UPDATE] =
	    "WITH held AS (SELECT 1 FROM stw_instances WHERE $6::text IS NOT NULL"
	    " AND $4::text IN ('active', 'failed') AND definition = $1::text AND unique_key = "
	    "$6::text"
	    " AND status IN ('active', 'failed') AND id <> $2::text),"
	    " u AS (UPDATE stw_instances SET state = $3::text, status = $4::text, data = $5::text,"
	    " unique_key = $6::text, reason = $7::text, version = $8::int8, updated_at = $9::int8,"
	    " entered_version = $11::int8, definition_version = CASE WHEN $12::int8 > 0"
	    " THEN $12::int8 ELSE definition_version END"
	    " WHERE definition = $1::text AND id = $2::text"
	    " AND version = $10::int8 AND NOT EXISTS (SELECT 1 FROM held) RETURNING 1)"
	    " SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM held)",
	[STW__PG_KEY_HOLDER] = "SELECT id FROM stw_instances WHERE definition = $1"
			       " AND unique_key = $2 AND status IN ('active', 'failed')",
	[STW__PG_HISTORY_HAS] = "SELECT 1 FROM stw_history WHERE definition = $1"
				" AND instance_id = $2 AND message_id = $3",
	[STW__PG_HISTORY_INSERT] =
	    "INSERT INTO stw_history(definition, instance_id, message_id, message_type, context,"
	    " from_state, to_state, outcome, reason, at)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
	/* Any number of rows in one statement: one array per column, in row order. */
	[STW__PG_HISTORY_INSERT_MANY] =
	    "INSERT INTO stw_history(definition, instance_id, message_id, message_type, context,"
	    " from_state, to_state, outcome, reason, at)"
	    " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],"
	    " $6::text[], $7::text[], $8::text[], $9::text[], $10::int8[]) ON CONFLICT DO NOTHING",
	[STW__PG_HISTORY_LIST] = "SELECT " HISTORY_COLS " FROM stw_history"
				 " WHERE definition = $1 AND instance_id = $2 ORDER BY seq",
	[STW__PG_OUTBOX_INSERT] =
	    "INSERT INTO stw_outbox(command_id, context, type, definition, instance_id,"
	    " correlation_id, causation_id, data, status, error, created_at, delivered_at, next_at,"
	    " part) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
	    " ON CONFLICT (command_id) DO NOTHING",
	[STW__PG_OUTBOX_PENDING] = "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE context = $1"
				   " AND status = 'pending' ORDER BY seq LIMIT $2::int8",
	[STW__PG_OUTBOX_MARK] = "UPDATE stw_outbox SET status = $2, error = $3, delivered_at = $4"
				" WHERE command_id = $1",
	[STW__PG_OUTBOX_FOR_INSTANCE] = "SELECT " OUTBOX_COLS " FROM stw_outbox"
					" WHERE definition = $1 AND instance_id = $2 ORDER BY seq",
	[STW__PG_OUTBOX_PENDING_COUNT] = "SELECT count(*) FROM stw_outbox WHERE status = 'pending'",
	[STW__PG_OUTBOX_DUE] =
	    "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE context = $1"
	    " AND status = 'pending' AND next_at <= $2 ORDER BY seq LIMIT $3::int8",
	[STW__PG_OUTBOX_NEXT_DUE] = "SELECT min(next_at) FROM stw_outbox WHERE context = $1"
				    " AND status = 'pending'",
	[STW__PG_OUTBOX_ATTEMPTED] = "UPDATE stw_outbox SET status = $2, error = $3, attempts = $4,"
				     " next_at = $5, delivered_at = $6 WHERE command_id = $1",
	[STW__PG_OUTBOX_GET] = "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE command_id = $1",
	/* The rare statuses, through their partial index. */
	[STW__PG_OUTBOX_BY_STATUS] = "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE status = $1"
				     " AND " OUTBOX_RARE " ORDER BY seq DESC LIMIT $2::int8",
	[STW__PG_OUTBOX_PENDING_ALL] = "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE status = $1"
				       " AND status = 'pending' ORDER BY seq DESC LIMIT $2::int8",
	/* Most rows are delivered: the newest are found walking seq backwards. */
	[STW__PG_OUTBOX_DONE] = "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE status = $1"
				" ORDER BY seq DESC LIMIT $2::int8",
	/* The contexts with pending rows: a seek per context in the pending index. */
	[STW__PG_OUTBOX_PENDING_CONTEXTS] =
	    "WITH RECURSIVE c(context) AS ("
	    "SELECT (SELECT min(context) FROM stw_outbox WHERE status = 'pending')"
	    " UNION ALL SELECT (SELECT min(context) FROM stw_outbox WHERE status = 'pending'"
	    " AND context > c.context) FROM c WHERE c.context IS NOT NULL)"
	    " SELECT context FROM c WHERE context IS NOT NULL",
	[STW__PG_DEDUP_GET] = "SELECT outcome, error FROM stw_dedup WHERE context = $1"
			      " AND command_id = $2",
	[STW__PG_DEDUP_PUT] = "INSERT INTO stw_dedup(context, command_id, outcome, error, at)"
			      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[STW__PG_DEDUP_HIT] = "UPDATE stw_dedup SET duplicates = duplicates + 1"
			      " WHERE context = $1 AND command_id = $2",
	[STW__PG_DEDUP_FORGET_REFUSAL] = "DELETE FROM stw_dedup WHERE context = $1"
					 " AND command_id = $2 AND outcome <> 0",
	[STW__PG_DEDUP_DUPLICATES] = "SELECT coalesce(sum(duplicates), 0)::int8 FROM stw_dedup",
	[STW__PG_UNROUTED_INSERT] = "INSERT INTO stw_unrouted(definition, context, position,"
				    " event_id, event_type, reason, at)"
				    " VALUES ($1, $2, $3, $4, $5, $6, $7)",
	[STW__PG_UNROUTED_LIST] = "SELECT " UNROUTED_COLS " FROM stw_unrouted"
				  " ORDER BY seq DESC LIMIT $1::int8",
	[STW__PG_UNROUTED_LIST_DEFINITION] = "SELECT " UNROUTED_COLS " FROM stw_unrouted"
					     " WHERE definition = $1 ORDER BY seq DESC"
					     " LIMIT $2::int8",
	[STW__PG_TIMER_INSERT] = "INSERT INTO stw_timers(" TIMER_COLS ", part)"
				 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
				 " ON CONFLICT (definition, instance_id, id) DO NOTHING",
	[STW__PG_TIMERS_DUE] = "SELECT " TIMER_COLS " FROM stw_timers WHERE definition = $1"
			       " AND due_at <= $2 ORDER BY due_at, instance_id, id LIMIT $3::int8",
	[STW__PG_TIMER_DELETE] = "DELETE FROM stw_timers WHERE definition = $1"
				 " AND instance_id = $2 AND id = $3",
	[STW__PG_TIMER_NEXT] = "SELECT min(due_at) FROM stw_timers WHERE definition = $1",
	[STW__PG_TIMERS_FOR_INSTANCE] = "SELECT " TIMER_COLS " FROM stw_timers"
					" WHERE definition = $1 AND instance_id = $2"
					" ORDER BY due_at, id",
	[STW__PG_PERIODIC_GET] = "SELECT last_period FROM stw_periodic WHERE name = $1",
	/* Inside a transaction: another engine's run of the same process waits. */
	[STW__PG_PERIODIC_LOCK] = "SELECT last_period FROM stw_periodic WHERE name = $1 FOR UPDATE",
	/* A process never run, created to be locked: period -1 is before every period, and
	 * the row commits only with the run that sets it (periodic.c). */
	[STW__PG_PERIODIC_CREATE] = "INSERT INTO stw_periodic(name, last_period, last_run_at)"
				    " VALUES ($1, -1, 0) ON CONFLICT (name) DO NOTHING",
	[STW__PG_PERIODIC_SET] = "INSERT INTO stw_periodic(name, last_period, last_run_at)"
				 " VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET"
				 " last_period = excluded.last_period,"
				 " last_run_at = excluded.last_run_at",
	/*
	 * Retention (postgres_retention.c): up to $3 ended instances of $1 last
	 * updated before $2, with no command pending or parked, locked (one a
	 * transaction holds is left for the next batch), then their rows, in
	 * one statement: (instances, history rows, timers, outbox rows). The
	 * instances are taken status by status, oldest first, each status a
	 * range of stw_instances_list (definition, status, updated_at); their
	 * commands are looked for, and their outbox rows found, through
	 * stw_outbox_instance (definition, instance_id, seq); the history
	 * through the prefix (definition, instance_id) of stw_history_message;
	 * the timers through their primary key; the instances by id.
	 */
	[STW__PG_PRUNE_INSTANCES] =
	    "WITH v AS (SELECT c.id FROM unnest(ARRAY['completed', 'acknowledged', 'cancelled',"
	    " 'rejected']) s(status) CROSS JOIN LATERAL (SELECT i.id FROM stw_instances i"
	    " WHERE i.definition = $1::text AND i.status = s.status AND i.updated_at < $2::int8"
	    " AND NOT EXISTS (SELECT 1 FROM stw_outbox o WHERE o.definition = $1::text"
	    " AND o.instance_id = i.id AND o.status IN ('pending', 'parked'))"
	    " ORDER BY i.updated_at LIMIT $3::int8 FOR UPDATE OF i SKIP LOCKED) c LIMIT $3::int8),"
	    " h AS (DELETE FROM stw_history WHERE definition = $1::text"
	    " AND instance_id IN (SELECT id FROM v) RETURNING 1),"
	    " t AS (DELETE FROM stw_timers WHERE definition = $1::text"
	    " AND instance_id IN (SELECT id FROM v) RETURNING 1),"
	    " o AS (DELETE FROM stw_outbox WHERE definition = $1::text"
	    " AND instance_id IN (SELECT id FROM v)"
	    " AND status IN ('delivered', 'skipped', 'rejected') RETURNING 1),"
	    " d AS (DELETE FROM stw_instances WHERE definition = $1::text"
	    " AND id IN (SELECT id FROM v) RETURNING 1)"
	    " SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM h), (SELECT count(*) FROM t),"
	    " (SELECT count(*) FROM o)",
	/*
	 * One step of the sweep of the dedup table, through its primary key
	 * (context, command_id) alone: $3 rows from the key ($1, $2) on, those
	 * recorded before $4 deleted; (rows looked at, rows deleted, the key
	 * of the row after the window, NULL at the end of the table).
	 */
	[STW__PG_PRUNE_DEDUP] =
	    "WITH w AS (SELECT context, command_id, at,"
	    " row_number() OVER (ORDER BY context, command_id) AS r FROM (SELECT context,"
	    " command_id, at FROM stw_dedup WHERE (context, command_id) >= ($1::text, $2::text)"
	    " ORDER BY context, command_id LIMIT $3::int8 + 1) s),"
	    " d AS (DELETE FROM stw_dedup x USING w WHERE w.r <= $3::int8 AND w.at < $4::int8"
	    " AND x.context = w.context AND x.command_id = w.command_id RETURNING 1)"
	    " SELECT (SELECT count(*) FROM w WHERE r <= $3::int8), (SELECT count(*) FROM d),"
	    " (SELECT context FROM w WHERE r = $3::int8 + 1),"
	    " (SELECT command_id FROM w WHERE r = $3::int8 + 1)",
	/*
	 * One step of the sweep of the outbox's delivered commands of no
	 * instance, through its primary key seq: $2 rows after $1, those
	 * delivered before $3 deleted; (rows looked at, rows deleted, the last
	 * seq looked at, NULL when none was).
	 */
	[STW__PG_PRUNE_COMMANDS] =
	    "WITH w AS (SELECT seq FROM stw_outbox WHERE seq > $1::int8 ORDER BY seq"
	    " LIMIT $2::int8),"
	    " d AS (DELETE FROM stw_outbox x USING w WHERE x.seq = w.seq AND x.instance_id IS NULL"
	    " AND x.status = 'delivered' AND x.delivered_at < $3::int8 RETURNING 1)"
	    " SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM d), (SELECT max(seq) FROM w)",
	/*
	 * Partitions (cluster mode, postgres_cluster.c): the same statements
	 * limited to the partitions a worker holds, $N an int4[] of them.
	 *
	 * Cursors. A worker moves the partitions it holds together: its own
	 * row (stw_owner_cursors) says where all of them are, one write per
	 * step however many it holds. A partition it took over has a row of
	 * its own, marked with the worker as owner ("lagging"), moved with each
	 * step until it reaches the worker's own row. When a partition changes
	 * hands, stw_acquire writes down where it was under its last holder as
	 * that row, always marked: a transaction of the new holder that began
	 * before it held the partition may still move the holder's own row on
	 * past the partition's events. A partition with no row is where the
	 * context's cursor is (a store stepped by one engine before it joined a
	 * cluster carries on from there), never where the holder's own row is:
	 * it came to the holder when no cursor of the definition was known to
	 * the grant, and the holder's row may have moved past its events since
	 * (STW__PG_PART_CURSOR_SET writes its row at the first step that holds
	 * it). $4 is the worker.
	 */
	[STW__PG_PART_CURSOR_GET] =
	    "SELECT coalesce(min(" PART_CURSOR "), 0) FROM " PART_CURSOR_FROM,
	[STW__PG_PART_CURSORS] = "SELECT m.part, " PART_CURSOR " FROM " PART_CURSOR_FROM,
	/* As CURSOR_ATTEMPT, counted per worker name ($4, without its start's suffix: a row
	 * no cursor reads), so that workers at other positions do not reset each other's count,
	 * while a worker that dies again and again in one batch still counts. */
	[STW__PG_PART_CURSOR_ATTEMPT] =
	    "INSERT INTO stw_owner_cursors AS c(definition, context, owner, position,"
	    " attempt_position, attempts) VALUES ($1, $2, $4, 0, $3, 1)"
	    " ON CONFLICT (definition, context, owner) DO UPDATE SET"
	    " attempts = CASE WHEN c.attempt_position = excluded.attempt_position"
	    " THEN c.attempts + 1 ELSE 1 END, attempt_position = excluded.attempt_position"
	    " RETURNING attempts",
	/*
	 * $3 the position every partition held ($4) reached, $5 the worker. A
	 * partition it gave up while this transaction ran (stw_release wrote
	 * its row, marked as the worker's) moves with it but stays marked: its
	 * next holder starts there. A partition held with no row yet gets one
	 * at $3, marked as the worker's unless it may follow the worker's own
	 * row from now on (CAUGHT_UP).
	 */
	[STW__PG_PART_CURSOR_SET] =
	    "WITH o AS (SELECT position FROM stw_owner_cursors WHERE definition = $1::text"
	    " AND context = $2::text AND owner = $5::text),"
	    " l AS (UPDATE stw_part_cursors pc SET position = GREATEST(pc.position, $3::int8),"
	    " owner = CASE WHEN " CAUGHT_UP "pc.part) THEN NULL ELSE pc.owner END"
	    " WHERE pc.definition = $1::text AND pc.context = $2::text AND pc.owner = $5::text"
	    " AND pc.part = ANY($4::int4[])),"
	    " n AS (INSERT INTO stw_part_cursors(definition, context, part, position, owner)"
	    " SELECT $1::text, $2::text, m.part, $3::int8,"
	    " CASE WHEN " CAUGHT_UP "m.part) THEN NULL ELSE $5::text END"
	    " FROM unnest($4::int4[]) m(part) WHERE NOT EXISTS (SELECT 1 FROM stw_part_cursors x"
	    " WHERE x.definition = $1::text AND x.context = $2::text AND x.part = m.part)"
	    " ON CONFLICT DO NOTHING)"
	    " INSERT INTO stw_owner_cursors AS t(definition, context, owner, position)"
	    " VALUES ($1::text, $2::text, $5::text, $3::int8)"
	    " ON CONFLICT (definition, context, owner)"
	    " DO UPDATE SET position = GREATEST(t.position, excluded.position)",
	[STW__PG_PART_TIMERS_DUE] =
	    "SELECT " TIMER_COLS " FROM stw_timers WHERE definition = $1 AND due_at <= $2"
	    " AND part = ANY($4::int4[]) ORDER BY due_at, instance_id, id LIMIT $3::int8",
	[STW__PG_PART_TIMER_NEXT] = "SELECT min(due_at) FROM stw_timers WHERE definition = $1"
				    " AND part = ANY($2::int4[])",
	[STW__PG_PART_OUTBOX_PENDING] =
	    "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE context = $1 AND status = 'pending'"
	    " AND part = ANY($3::int4[]) ORDER BY seq LIMIT $2::int8",
	[STW__PG_PART_OUTBOX_DUE] =
	    "SELECT " OUTBOX_COLS " FROM stw_outbox WHERE context = $1 AND status = 'pending'"
	    " AND next_at <= $2 AND part = ANY($4::int4[]) ORDER BY seq LIMIT $3::int8",
	[STW__PG_PART_OUTBOX_NEXT_DUE] = "SELECT min(next_at) FROM stw_outbox WHERE context = $1"
					 " AND status = 'pending' AND part = ANY($2::int4[])",
	/* Membership (postgres_cluster.c); times are the server's clock only. */
	[STW__PG_LEASE_JOIN] =
	    "INSERT INTO stw_workers(id, host, pid, address, started_at, heartbeat_at, lease_ms)"
	    " VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp(), $5)"
	    " ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid,"
	    " address = excluded.address, started_at = excluded.started_at,"
	    " heartbeat_at = excluded.heartbeat_at, lease_ms = excluded.lease_ms",
	[STW__PG_LEASE_HEARTBEAT] = "UPDATE stw_workers SET heartbeat_at = clock_timestamp(),"
				    " address = coalesce($2, address) WHERE id = $1",
	/* The leases still held, renewed: (part, epoch); a lease not returned is lost. */
	[STW__PG_LEASE_RENEW] =
	    "UPDATE stw_leases l SET expires_at = clock_timestamp() + $2::int8 * interval '1 ms',"
	    " renewed_at = clock_timestamp() FROM unnest($3::int4[], $4::int8[]) m(part, epoch)"
	    " WHERE l.part = m.part AND l.epoch = m.epoch AND l.owner = $1 AND NOT l.released"
	    " RETURNING l.part, l.epoch",
	/* The workers, with whether each is live: (id, live). */
	[STW__PG_LEASE_WORKERS] =
	    "SELECT id, heartbeat_at > clock_timestamp() - $1::int8 * interval '1 ms'"
	    " FROM stw_workers ORDER BY id",
	/* Every lease: (part, owner or NULL, epoch, taken: held by a lease that still runs,
	 * the ms it still runs). */
	[STW__PG_LEASE_ALL] =
	    "SELECT part, owner, epoch, owner IS NOT NULL AND NOT released"
	    " AND expires_at >= clock_timestamp(), " MS(
		"expires_at - clock_timestamp()") " FROM stw_leases ORDER BY part",
	[STW__PG_LEASE_ACQUIRE] = "SELECT part, epoch FROM stw_acquire($1, $2::int4[], $3::int8)",
	[STW__PG_LEASE_RELEASE] = "SELECT stw_release($1, $2::int4[])",
	[STW__PG_LEASE_LEAVE] = "SELECT stw_release($1, ARRAY(SELECT part FROM stw_leases"
				" WHERE owner = $1 AND NOT released)), stw_forget_worker($1)",
	[STW__PG_LEASE_NOTIFY] = "SELECT pg_notify('stw_cluster', $1)",
	/* Workers gone for long, holding nothing: their rows, unless one is locked. */
	[STW__PG_LEASE_FORGET] =
	    "DELETE FROM stw_workers WHERE id IN (SELECT w.id FROM stw_workers w"
	    " WHERE w.heartbeat_at < clock_timestamp() - $1::int8 * interval '1 ms'"
	    " AND NOT EXISTS (SELECT 1 FROM stw_leases l WHERE l.owner = w.id AND NOT l.released"
	    " AND l.expires_at >= clock_timestamp()) FOR UPDATE SKIP LOCKED)",
	[STW__PG_PARTITIONS] = "SELECT value::int4 FROM stw_meta WHERE key = 'partitions'",
	[STW__PG_ANY_WORKER] = "SELECT count(*) FROM (SELECT 1 FROM stw_workers LIMIT 1) w",
	/*
	 * The view of the cluster (postgres_cluster_view.c), in three
	 * statements: the workers; the leases with their partitions' work,
	 * each counted once per table and grouped by part; the newest grants.
	 * A partition's cursor lag is, over every cursor (definition, source
	 * context), the head of the context less the partition's cursor for
	 * its holder (as STW__PG_PART_CURSORS finds it). The timers are counted whole (there
	 * is no index on their part), the pending commands through their
	 * partial index.
	 */
	[STW__PG_VIEW_WORKERS] = "SELECT id, host, pid, address, " MS("started_at") ", " MS(
	    "heartbeat_at") ","
			    " " MS(
				"clock_timestamp() - heartbeat_at") ", lease_ms,"
								    " heartbeat_at > "
								    "clock_timestamp() - lease_ms "
								    "* interval '1 ms'"
								    " FROM stw_workers ORDER BY id",
	[STW__PG_VIEW_PARTS] =
	    "WITH t AS (SELECT part, count(*) AS n FROM stw_timers GROUP BY part),"
	    " o AS (SELECT part, count(*) AS n FROM stw_outbox WHERE status = 'pending'"
	    " GROUP BY part),"
	    " g AS (SELECT l.part, sum(GREATEST(hd.position - CASE WHEN pc.owner = l.owner"
	    " THEN pc.position WHEN pc.part IS NULL THEN coalesce(c.position, 0)"
	    " ELSE GREATEST(pc.position, coalesce(c.position, 0),"
	    " coalesce(oc.position, 0)) END, 0)) AS n FROM stw_leases l CROSS JOIN"
	    " (SELECT definition, context FROM stw_cursors UNION SELECT definition, context"
	    " FROM stw_owner_cursors) k JOIN stw_heads hd ON hd.context = k.context"
	    " LEFT JOIN stw_cursors c ON c.definition = k.definition AND c.context = k.context"
	    " LEFT JOIN stw_part_cursors pc ON pc.definition = k.definition"
	    " AND pc.context = k.context AND pc.part = l.part LEFT JOIN stw_owner_cursors oc"
	    " ON oc.definition = k.definition AND oc.context = k.context AND oc.owner = l.owner"
	    " WHERE l.part >= 0 GROUP BY l.part)"
	    " SELECT l.part, l.owner, l.epoch, l.owner IS NOT NULL AND NOT l.released"
	    " AND l.expires_at >= clock_timestamp(), " MS(
		"l.expires_at - clock_timestamp()") ","
						    " coalesce(g.n, 0)::int8, coalesce(t.n, 0), "
						    "coalesce(o.n, 0),"
						    " " MS("clock_timestamp()") " FROM stw_leases "
										"l LEFT JOIN g ON "
										"g.part = l.part"
										" LEFT JOIN t ON "
										"t.part = l.part "
										"LEFT JOIN o ON "
										"o.part = l.part "
										"ORDER BY l.part",
	[STW__PG_VIEW_GRANTS] = "SELECT part, epoch, owner, prev_owner, how, " MS(
	    "at") " FROM stw_lease_log"
		  " ORDER BY seq DESC LIMIT $1::int8",
};

/*
 * The cluster's tables (schema version 3, stw_acquire as of 4 and 5, stw_release as of 5;
 * docs/OPERATIONS.md, "A cluster"):
 * the workers, one lease per partition (and part -1, the periodic
 * processes' singleton), the log of every grant, the audit of fenced
 * commits, the partitions' cursors, and the functions that fence a
 * transaction and take leases. A lease's times are the server's clock.
 *
 * stw_fence runs first in each transaction a worker writes for its
 * partitions: it takes a KEY SHARE lock on the worker's row, then (a new
 * snapshot: a statement of a VOLATILE function sees what committed before
 * it started) counts the pairs (part, epoch) still held. stw_acquire takes
 * a lease from another worker only after locking that worker's row FOR
 * UPDATE, so it waits out, or comes before, every fenced transaction of the
 * old owner: no transaction commits for a partition at an epoch after the
 * next epoch was granted. It waits for that lock a twentieth of the lease
 * at most (10 to 200 ms), then leaves that owner's partitions for its next
 * look (cluster.c looks again soon): long enough for another worker taking
 * the dead owner's other partitions at the same moment (they all lock its
 * row) to commit, short
 * enough that a paused owner's transaction, left open until the server
 * ends it, does not hold up the taker's own renewals. (Skipping the row
 * while locked, as schema 3 did, cost every taker but one a renewal each
 * time two of them took from one owner at once.)
 */
#define CLUSTER_SCHEMA                                                                             \
	"CREATE OR REPLACE FUNCTION stw_partition(id text, n int4) RETURNS int4 LANGUAGE plpgsql " \
	"IMMUTABLE"                                                                                \
	" STRICT PARALLEL SAFE AS $f$ DECLARE h int8 := 2166136261;"                               \
	" b bytea := convert_to(id, 'UTF8'); BEGIN FOR i IN 0 .. length(b) - 1 LOOP"               \
	" h := ((h # get_byte(b, i)) * 16777619) & 4294967295; END LOOP;"                          \
	" RETURN (h % n)::int4; END $f$;"                                                          \
	""
#define CLUSTER_TABLES                                                                             \
	"CREATE TABLE IF NOT EXISTS stw_workers(id" T                                              \
	" PRIMARY KEY, host text NOT NULL, pid int4 NOT NULL,"                                     \
	" address text, started_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL,"       \
	" lease_ms int8 NOT NULL DEFAULT 8000);"                                                   \
	"CREATE TABLE IF NOT EXISTS stw_leases(part int4 PRIMARY KEY, owner" T                     \
	", epoch int8 NOT NULL DEFAULT 0,"                                                         \
	" released bool NOT NULL DEFAULT false, expires_at timestamptz,"                           \
	" acquired_at timestamptz, renewed_at timestamptz);"                                       \
	"CREATE TABLE IF NOT EXISTS stw_lease_log(seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY "  \
	"KEY,"                                                                                     \
	" part int4 NOT NULL, epoch int8 NOT NULL, owner" T " NOT NULL, at timestamptz NOT NULL,"  \
	" prev_owner" T ", prev_epoch int8 NOT NULL, prev_expires_at timestamptz,"                 \
	" how text NOT NULL);"                                                                     \
	"CREATE INDEX IF NOT EXISTS stw_lease_log_part ON stw_lease_log(part, epoch);"             \
	"CREATE TABLE IF NOT EXISTS stw_fence_audit(seq int8 GENERATED ALWAYS AS IDENTITY "        \
	"PRIMARY KEY,"                                                                             \
	" owner" T " NOT NULL, parts int4[] NOT NULL, epochs int8[] NOT NULL,"                     \
	" at timestamptz NOT NULL);"                                                               \
	"CREATE TABLE IF NOT EXISTS stw_part_cursors(definition" T ", context" T ", part int4,"    \
	" position int8 NOT NULL, owner" T ", PRIMARY KEY(definition, context, part));"            \
	"CREATE TABLE IF NOT EXISTS stw_owner_cursors(definition" T ", context" T ", owner" T ","  \
	" position int8 NOT NULL, attempt_position int8 NOT NULL DEFAULT -1,"                      \
	" attempts int4 NOT NULL DEFAULT 0, PRIMARY KEY(definition, context, owner));"             \
	""
#define CLUSTER_FENCE                                                                              \
	"CREATE OR REPLACE FUNCTION stw_fence(me text, parts int4[], epochs int8[], audit bool)"   \
	" RETURNS int4 LANGUAGE plpgsql AS $f$ DECLARE held int4; BEGIN"                           \
	" PERFORM 1 FROM stw_workers WHERE id = me FOR KEY SHARE;"                                 \
	" IF NOT FOUND THEN RETURN -1; END IF;"                                                    \
	" SELECT count(*) INTO held FROM stw_leases l JOIN unnest(parts, epochs) m(part, epoch)"   \
	" ON l.part = m.part AND l.epoch = m.epoch WHERE l.owner = me AND NOT l.released;"         \
	" IF audit AND held = cardinality(parts) THEN INSERT INTO stw_fence_audit(owner, parts,"   \
	" epochs, at) VALUES (me, parts, epochs, clock_timestamp()); END IF;"                      \
	" RETURN held; END $f$;"                                                                   \
	""
#define CLUSTER_ACQUIRE                                                                            \
	"CREATE OR REPLACE FUNCTION stw_acquire(me text, want int4[], lease_ms int8)"              \
	" RETURNS TABLE(part int4, epoch int8) LANGUAGE plpgsql AS $f$ DECLARE r record;"          \
	" locked text[] := '{}'; busy text[] := '{}';"                                             \
	" was text := current_setting('lock_timeout'); BEGIN"                                      \
	" FOR r IN SELECT l.part, l.owner, l.epoch, l.released, l.expires_at FROM stw_leases l"    \
	" WHERE l.part = ANY(want) AND (l.owner IS NULL OR l.released"                             \
	" OR l.expires_at < clock_timestamp()) ORDER BY l.part FOR UPDATE SKIP LOCKED LOOP"        \
	" IF r.owner IS NOT NULL AND NOT r.owner = ANY(locked) THEN"                               \
	" IF r.owner = ANY(busy) THEN CONTINUE; END IF;"                                           \
	" PERFORM set_config('lock_timeout', least(200, greatest(lease_ms / 20, 10)) || 'ms',"     \
	" true);"                                                                                  \
	" BEGIN PERFORM 1 FROM stw_workers w WHERE w.id = r.owner FOR UPDATE;"                     \
	" locked := locked || r.owner;"                                                            \
	" EXCEPTION WHEN lock_not_available THEN busy := busy || r.owner; END;"                    \
	" PERFORM set_config('lock_timeout', was, true);"                                          \
	" IF r.owner = ANY(busy) THEN CONTINUE; END IF; END IF;"                                   \
	" UPDATE stw_leases l SET owner = me, epoch = r.epoch + 1, released = false,"              \
	" expires_at = clock_timestamp() + lease_ms * interval '1 ms',"                            \
	" acquired_at = clock_timestamp(), renewed_at = clock_timestamp() WHERE l.part = r.part;"  \
	" INSERT INTO stw_lease_log(part, epoch, owner, at, prev_owner, prev_epoch,"               \
	" prev_expires_at, how) VALUES (r.part, r.epoch + 1, me, clock_timestamp(), r.owner,"      \
	" r.epoch, r.expires_at, CASE WHEN r.owner IS NULL THEN 'free' WHEN r.released"            \
	" THEN 'released' ELSE 'expired' END);"                                                    \
	" INSERT INTO stw_part_cursors AS t(definition, context, part, position, owner)"           \
	" SELECT k.definition, k.context, r.part, e.at, me"                                        \
	" FROM (SELECT definition, context FROM stw_cursors UNION SELECT definition,"              \
	" context FROM stw_owner_cursors UNION SELECT definition, context FROM stw_part_cursors"   \
	" WHERE stw_part_cursors.part = r.part) k LEFT JOIN stw_part_cursors pc"                   \
	" ON pc.definition = k.definition AND pc.context = k.context AND pc.part = r.part"         \
	" LEFT JOIN stw_cursors c ON c.definition = k.definition AND c.context = k.context"        \
	" LEFT JOIN stw_owner_cursors mw ON mw.definition = k.definition"                          \
	" AND mw.context = k.context AND mw.owner = r.owner"                                       \
	" CROSS JOIN LATERAL (SELECT CASE WHEN pc.owner = r.owner THEN pc.position"                \
	" WHEN pc.part IS NULL THEN coalesce(c.position, 0)"                                       \
	" ELSE GREATEST(pc.position, coalesce(c.position, 0),"                                     \
	" CASE WHEN r.released THEN 0 ELSE coalesce(mw.position, 0) END) END AS at) e"             \
	" WHERE r.part >= 0 ON CONFLICT ON CONSTRAINT "                                            \
	"stw_part_cursors_pkey"                                                                    \
	" DO UPDATE SET position = excluded.position, owner = excluded.owner;"                     \
	" part := r.part; epoch := r.epoch + 1; RETURN NEXT; END LOOP; END $f$;"                   \
	""
/*
 * stw_release gives leases up: once they are marked released (locked, so a
 * takeover of one that also ran out waits), each partition's cursor is
 * written down where the worker has it, marked with the worker, so that a
 * later holder starts there and not where the worker goes on alone.
 */
#define CLUSTER_RELEASE                                                                            \
	"CREATE OR REPLACE FUNCTION stw_release(me text, parts int4[]) RETURNS int4"               \
	" LANGUAGE plpgsql AS $f$ DECLARE gone int4[]; BEGIN"                                      \
	" WITH u AS (UPDATE stw_leases l SET released = true, expires_at = clock_timestamp()"      \
	" WHERE l.owner = me AND NOT l.released AND l.part = ANY(parts) RETURNING l.part)"         \
	" SELECT coalesce(array_agg(u.part), '{}') INTO gone FROM u;"                              \
	" INSERT INTO stw_part_cursors AS t(definition, context, part, position, owner)"           \
	" SELECT k.definition, k.context, m.part, CASE WHEN pc.owner = me THEN pc.position"        \
	" WHEN pc.part IS NULL THEN coalesce(c.position, 0) ELSE GREATEST(pc.position,"            \
	" coalesce(c.position, 0), coalesce(mw.position, 0)) END, me FROM unnest(gone) m(part)"    \
	" CROSS JOIN"                                                                              \
	" (SELECT definition, context FROM stw_cursors UNION SELECT definition, context"           \
	" FROM stw_owner_cursors) k LEFT JOIN stw_part_cursors pc ON pc.definition = k.definition" \
	" AND pc.context = k.context AND pc.part = m.part LEFT JOIN stw_cursors c"                 \
	" ON c.definition = k.definition AND c.context = k.context LEFT JOIN stw_owner_cursors mw" \
	" ON mw.definition = k.definition AND mw.context = k.context AND mw.owner = me WHERE "     \
	"m.part >= 0"                                                                              \
	" ON CONFLICT ON CONSTRAINT stw_part_cursors_pkey"                                         \
	" DO UPDATE SET position = excluded.position, owner = excluded.owner;"                     \
	" RETURN cardinality(gone); END $f$;"                                                      \
	"CREATE OR REPLACE FUNCTION stw_forget_worker(me text) RETURNS void LANGUAGE sql AS"       \
	" $f$ DELETE FROM stw_workers WHERE id = me $f$;"

/* The cluster's part of the schema, each statement within C's limit on a string's length. */
#define CLUSTER_STATEMENTS                                                                         \
	CLUSTER_SCHEMA, CLUSTER_TABLES, CLUSTER_FENCE, CLUSTER_ACQUIRE, CLUSTER_RELEASE,           \
	    CLUSTER_ROWS

#define CLUSTER_ROWS                                                                               \
	"INSERT INTO stw_leases(part) SELECT generate_series(-1, 63) ON CONFLICT DO NOTHING;"      \
	"INSERT INTO stw_meta(key, value) VALUES ('partitions', '64') ON CONFLICT DO NOTHING;"

/*
 * The schema, version 5 (what each version changed: the migrations below).
 * The heads of contexts and the versions of streams are rows of their own
 * (the append's locks, see STW__PG_APPEND); the rest has the keys and
 * indexes of the SQLite schema.
 */
const char *const stw__pg_schema[] = {
	"CREATE TABLE stw_meta(key" T " PRIMARY KEY, value text);",
	"CREATE TABLE stw_heads(context" T " PRIMARY KEY, position int8 NOT NULL);",
	"CREATE TABLE stw_streams(context" T " NOT NULL, stream" T " NOT NULL,"
	" version int8 NOT NULL, PRIMARY KEY(context, stream));",
	"CREATE TABLE stw_events(context" T " NOT NULL, position int8 NOT NULL,"
	" id" T " NOT NULL UNIQUE, type" T " NOT NULL, stream" T " NOT NULL,"
	" stream_version int8 NOT NULL, correlation_id" T ", causation_id" T ","
	" data text NOT NULL, metadata text NOT NULL, recorded_at int8 NOT NULL,"
	" PRIMARY KEY(context, position));",
	"CREATE UNIQUE INDEX stw_events_stream ON stw_events(context, stream, stream_version);",
	"CREATE TABLE stw_cursors(definition" T ", context" T ", position int8 NOT NULL,"
	" attempt_position int8 NOT NULL DEFAULT -1, attempts int4 NOT NULL DEFAULT 0,"
	" PRIMARY KEY(definition, context));",
	"CREATE TABLE stw_instances(definition" T " NOT NULL, id" T " NOT NULL,"
	" state" T " NOT NULL, status" T " NOT NULL, data text NOT NULL, unique_key" T ","
	" reason text, version int8 NOT NULL, created_at int8 NOT NULL,"
	" updated_at int8 NOT NULL, entered_version int8 NOT NULL DEFAULT 0,"
	" definition_version int8 NOT NULL DEFAULT 1, part int4 NOT NULL DEFAULT 0,"
	" PRIMARY KEY(definition, id));",
	"CREATE UNIQUE INDEX stw_instances_key ON stw_instances(definition, unique_key)"
	" WHERE unique_key IS NOT NULL AND status IN ('active', 'failed');",
	"CREATE INDEX stw_instances_list ON stw_instances(definition, status, updated_at);",
	"CREATE INDEX stw_instances_updated ON stw_instances(updated_at, id);",
	"CREATE INDEX stw_instances_id ON stw_instances(id);",
	"CREATE TABLE stw_history(seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" definition" T " NOT NULL, instance_id" T " NOT NULL, message_id" T " NOT NULL,"
	" message_type" T " NOT NULL, context" T ", from_state" T ", to_state" T ","
	" outcome" T " NOT NULL, reason text, at int8 NOT NULL);",
	"CREATE UNIQUE INDEX stw_history_message ON stw_history(definition, instance_id,"
	" message_id);",
	"CREATE TABLE stw_outbox(seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" command_id" T " NOT NULL UNIQUE, context" T " NOT NULL, type" T " NOT NULL,"
	" definition" T ", instance_id" T ", correlation_id" T ", causation_id" T ","
	" data text NOT NULL, status" T " NOT NULL, error text, created_at int8 NOT NULL,"
	" delivered_at int8 NOT NULL DEFAULT 0, attempts int4 NOT NULL DEFAULT 0,"
	" next_at int8 NOT NULL DEFAULT 0, part int4 NOT NULL DEFAULT 0);",
	"CREATE INDEX stw_outbox_pending ON stw_outbox(context, seq) WHERE status = 'pending';",
	"CREATE INDEX stw_outbox_status ON stw_outbox(status, seq) WHERE " OUTBOX_RARE ";",
	"CREATE INDEX stw_outbox_instance ON stw_outbox(definition, instance_id, seq);",
	"CREATE TABLE stw_dedup(context" T " NOT NULL, command_id" T " NOT NULL,"
	" outcome int4 NOT NULL, error text, at int8 NOT NULL,"
	" duplicates int8 NOT NULL DEFAULT 0, PRIMARY KEY(context, command_id));",
	"CREATE TABLE stw_unrouted(seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" definition" T " NOT NULL, context" T " NOT NULL, position int8 NOT NULL,"
	" event_id" T " NOT NULL, event_type" T " NOT NULL, reason text NOT NULL,"
	" at int8 NOT NULL);",
	"CREATE INDEX stw_unrouted_definition ON stw_unrouted(definition, seq);",
	"CREATE TABLE stw_timers(id" T " NOT NULL, definition" T " NOT NULL,"
	" instance_id" T " NOT NULL, message_type" T " NOT NULL, due_at int8 NOT NULL,"
	" entered_version int8 NOT NULL, armed_by" T " NOT NULL, created_at int8 NOT NULL,"
	" part int4 NOT NULL DEFAULT 0, PRIMARY KEY(definition, instance_id, id));",
	"CREATE INDEX stw_timers_due ON stw_timers(definition, due_at, instance_id, id);",
	"CREATE TABLE stw_periodic(name" T " PRIMARY KEY, last_period int8 NOT NULL,"
	" last_run_at int8 NOT NULL);",
	CLUSTER_STATEMENTS,
	"INSERT INTO stw_meta(key, value) VALUES ('schema_version', '5');",
	NULL,
};

/*
 * 1 -> 2: instances record the version of the definition that created
 * them. Those stored before are given 1, the version every definition
 * starts at (the store cannot know which version made them; one was
 * registered at a time and every version was treated alike).
 */
static const char *const to_2[] = {
	"ALTER TABLE stw_instances ADD COLUMN definition_version int8 NOT NULL DEFAULT 1;"
	" UPDATE stw_meta SET value = '2' WHERE key = 'schema_version';",
	NULL,
};

/*
 * 2 -> 3: partitions. Instances, timers and outbox rows get the partition
 * of their instance (an outbox row without one: of its correlation id,
 * else of its command id), and the cluster's tables.
 */
static const char *const to_3[] = {
	CLUSTER_STATEMENTS,
	"ALTER TABLE stw_instances ADD COLUMN IF NOT EXISTS part int4 NOT NULL"
	" DEFAULT 0; ALTER TABLE stw_timers ADD COLUMN IF NOT EXISTS part int4 NOT NULL DEFAULT 0;"
	" ALTER TABLE stw_outbox ADD COLUMN IF NOT EXISTS part int4 NOT NULL DEFAULT 0;"
	" UPDATE stw_instances SET part = stw_partition(id, 64);"
	" UPDATE stw_timers SET part = stw_partition(instance_id, 64);"
	" UPDATE stw_outbox SET part = stw_partition(coalesce(instance_id, correlation_id,"
	" command_id), 64);"
	" UPDATE stw_meta SET value = '3' WHERE key = 'schema_version';",
	NULL,
};

/* 3 -> 4: stw_acquire waits a little for an old owner's row instead of skipping it. */
static const char *const to_4[] = {
	CLUSTER_ACQUIRE,
	"UPDATE stw_meta SET value = '4' WHERE key = 'schema_version';",
	NULL,
};

/*
 * 4 -> 5: a partition with no cursor row of its own is where the context's
 * cursor is, no longer where its holder's own row is (STW__PG_PART_CURSOR_GET):
 * each held partition without one gets its row where its holder has it now.
 */
static const char *const to_5[] = {
	CLUSTER_ACQUIRE,
	CLUSTER_RELEASE,
	"INSERT INTO stw_part_cursors(definition, context, part, position)"
	" SELECT k.definition, k.context, l.part, GREATEST(coalesce(c.position, 0),"
	" coalesce(oc.position, 0)) FROM stw_leases l CROSS JOIN (SELECT definition, context"
	" FROM stw_cursors UNION SELECT definition, context FROM stw_owner_cursors) k"
	" LEFT JOIN stw_cursors c ON c.definition = k.definition AND c.context = k.context"
	" LEFT JOIN stw_owner_cursors oc ON oc.definition = k.definition"
	" AND oc.context = k.context AND oc.owner = l.owner"
	" WHERE l.part >= 0 AND l.owner IS NOT NULL AND NOT l.released ON CONFLICT DO NOTHING;"
	" UPDATE stw_meta SET value = '5' WHERE key = 'schema_version';",
	NULL,
};

const char *const *const stw__pg_migrations[] = { to_2, to_3, to_4, to_5, NULL };

/*
 * Stuck: active, not updated since the bound, no timer that applies to the
 * state it is in, no command of its own waiting for delivery.
 */
#define STUCK_SQL                                                                                  \
	" AND status = 'active' AND updated_at < $%d AND NOT EXISTS (SELECT 1 FROM stw_timers t"   \
	" WHERE t.definition = stw_instances.definition AND t.instance_id = stw_instances.id"      \
	" AND t.entered_version = stw_instances.entered_version) AND NOT EXISTS (SELECT 1 FROM"    \
	" stw_outbox o WHERE o.definition = stw_instances.definition"                              \
	" AND o.instance_id = stw_instances.id AND o.status = 'pending')"

int stw__pg_list_sql(unsigned mask, char *buf, size_t cap)
{
	static const struct {
		unsigned bit;
		const char *column;
	} filters[] = {
		{ STW__PG_LQ_DEFINITION, "definition" },
		{ STW__PG_LQ_STATUS, "status" },
		{ STW__PG_LQ_STATE, "state" },
		{ STW__PG_LQ_ID, "id" },
		{ STW__PG_LQ_VERSION, "definition_version" },
	};
	/* Parameters are numbered in this order: the filters present, limit, offset, stuck. */
	int p = 1;
	size_t n =
	    (size_t)snprintf(buf, cap, "SELECT " INSTANCE_COLS " FROM stw_instances WHERE true");
	for (size_t i = 0; i < sizeof filters / sizeof filters[0] && n < cap; i++)
		if (mask & filters[i].bit)
			n += (size_t)snprintf(buf + n, cap - n, " AND %s = $%d", filters[i].column,
					      p++);
	if ((mask & STW__PG_LQ_STUCK) && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, STUCK_SQL, p + 2);
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n,
				      " ORDER BY updated_at DESC, id DESC LIMIT $%d::int8"
				      " OFFSET $%d::int8",
				      p, p + 1);
	return n < cap ? 0 : -1;
}
