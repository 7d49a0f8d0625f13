/*
 * store.h - the storage interface of the engine. All SQL lives behind it, in
 * one backend per kind of store (src/store/sqlite*.c, src/store/postgres*.c);
 * store.c opens the backend a store URL names. The core calls only these
 * operations, and knows what differs between backends only through the
 * capability bits of the handle (STW__CAP_*), never by the backend's name.
 *
 * Conventions:
 *  - Every operation returns STW_OK or a negative STW_E* code; on failure the
 *    backend's message is readable with errmsg(). Messages never hold a
 *    password.
 *  - Strings in rows passed in are borrowed for the call. Rows handed to a
 *    callback are borrowed for the duration of that callback only; a callback
 *    returning non-zero stops the iteration (the operation still returns
 *    STW_OK).
 *  - Nullable text columns are NULL pointers in rows.
 *  - Writes happen inside a transaction opened with begin(); reads may happen
 *    inside or outside one and see the transaction's own writes. Outside
 *    one, a write (append included) commits on its own.
 *  - Timestamps are UTC int64 milliseconds supplied by the caller (the core's
 *    clock); the store never reads the time itself.
 *
 * Codes. The outcomes an operation names below (STW_ENOTFOUND, STW_EEXIST,
 * STW_ECONFLICT, STW_EINVAL for a missing field) are answers: the
 * transaction goes on as if the call had not been made. Any operation may
 * also fail with STW_ENOMEM, STW_ESTORE (the store failed: I/O, a lost
 * connection, a statement refused) or STW_EBUSY (retryable: another
 * connection held a lock past the wait, or a concurrent transaction
 * conflicted with this one, say a deadlock); after one of those the
 * transaction may be unusable (PostgreSQL refuses every statement until the
 * innermost level is undone; SQLite may even end it, see in_transaction), so
 * the caller undoes the innermost level (rollback_to, or rollback) before it
 * writes again, and may retry after STW_EBUSY.
 *
 * Callbacks are re-entrant: a callback may call any operation of the same
 * handle, the one iterating included, and it may write. (SQLite steps a
 * fresh copy of a statement being iterated; PostgreSQL reads a result whole
 * before it calls back.)
 *
 * Concurrency. A handle is one connection, used by one thread at a time.
 * Any number of handles, in threads or processes, may work on one store at
 * once, and every operation may run while other handles run any operation.
 *  - A single-writer store (STW__CAP_SINGLE_WRITER, SQLite) lets one
 *    transaction write at a time: begin() takes its write lock (waiting a
 *    while, then STW_EBUSY), so nothing another handle does changes what a
 *    transaction read.
 *  - Otherwise (PostgreSQL) transactions run side by side, each statement
 *    reading what was committed when it started (and the transaction's own
 *    writes). What the engine relies on is locked: append locks the head of
 *    its context until the transaction ends (so positions are gap-free and
 *    commit in position order: a reader after a position never skips one),
 *    and cursor_get and periodic_get inside a transaction lock the row they
 *    read until it ends, even the first time, when there is no row yet (a
 *    backend creates it to lock it, and it commits with the transaction).
 *    Collisions are answers, never errors: a stale
 *    version is STW_ECONFLICT, a taken key or id STW_EEXIST; an append to a
 *    stream that another transaction appended to meanwhile gets the next
 *    version (the caller compares it with the one it expected).
 *
 * Connections. A backend that talks to a server (PostgreSQL) may lose its
 * connection: the server restarts, the network drops. The operation that
 * finds it lost fails with STW_EBUSY (its transaction is gone: nothing it
 * wrote stays) or, for a commit, STW_ESTORE (the server may have committed
 * before the connection went: the caller reads again what it relies on).
 * The next operation outside a transaction (begin() included) connects
 * again, at most once per backoff (100 ms doubling to 5 s while the server
 * stays away; STW_EBUSY meanwhile); inside a transaction that was open when
 * the connection went, every operation fails with STW_EBUSY until it is
 * rolled back. The handle keeps count in its health (struct stw__store_health).
 */
#ifndef STW_STORE_H
#define STW_STORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct stw__store;

/* One event as stored. data and metadata are JSON text. */
struct stw__event_row {
	const char *context;
	int64_t position;
	const char *id;
	const char *type;
	const char *stream;
	int64_t stream_version;
	const char *correlation_id; /* nullable */
	const char *causation_id;   /* nullable */
	const char *data;           /* JSON object text */
	const char *metadata;       /* JSON object text */
	int64_t recorded_at;
};

/* One process instance. status: a word of STW_INSTANCE_STATUS_MAP (steward.h). */
struct stw__instance_row {
	const char *definition;
	const char *id;
	const char *state;
	const char *status;
	const char *data;       /* JSON object text */
	const char *unique_key; /* nullable */
	const char *reason;     /* nullable: why it failed or was rejected */
	int64_t version;        /* 1 on creation, +1 on every update */
	int64_t created_at;
	int64_t updated_at;
	int64_t entered_version; /* the version at which the current state was entered */
	/* The version of the definition that created it (struct stw_definition's
	 * version, 1 when that says 0), or the one it was migrated to; insert
	 * writes 1 for 0, update keeps it for 0. */
	int64_t definition_version;
};

/* A pending timer: deliver message_type to an instance at due_at. */
struct stw__timer_row {
	const char *id; /* deterministic: derived from the arming message */
	const char *definition;
	const char *instance_id;
	const char *message_type;
	int64_t due_at;
	int64_t entered_version; /* the instance's entered_version when armed */
	const char *armed_by;    /* the message id of the arming transition */
	int64_t created_at;
};

/* One row of an instance's history. outcome: a word of STW_OUTCOME_MAP (steward.h). */
struct stw__history_row {
	const char *definition;
	const char *instance_id;
	int64_t seq; /* assigned by the store on insert; increasing per store */
	const char *message_id;
	const char *message_type;
	const char *context;    /* nullable: the source context of the message */
	const char *from_state; /* nullable */
	const char *to_state;   /* nullable */
	const char *outcome;
	const char *reason; /* nullable */
	int64_t at;
};

/* One outbox row. status: a word of STW_COMMAND_STATUS_MAP (steward.h). */
struct stw__outbox_row {
	int64_t seq; /* assigned by the store on insert; delivery order */
	const char *command_id;
	const char *context;
	const char *type;
	const char *definition;  /* nullable for commands not sent by a process */
	const char *instance_id; /* nullable */
	const char *correlation_id;
	const char *causation_id;
	const char *data; /* JSON object text */
	const char *status;
	const char *error; /* nullable */
	int64_t created_at;
	int64_t delivered_at; /* 0 while pending */
	int attempts;         /* delivery attempts made (remote contexts) */
	int64_t next_at;      /* pending: not delivered before this time (0: at once) */
};

/* A message that no instance took. */
struct stw__unrouted_row {
	int64_t seq; /* assigned by the store */
	const char *definition;
	const char *context;
	int64_t position;
	const char *event_id;
	const char *event_type;
	const char *reason;
	int64_t at;
};

/* What prune_instances deleted: ended instances and the rows that went with them. */
struct stw__prune_counts {
	int64_t instances;
	int64_t history;
	int64_t timers;
	int64_t outbox;
};

/*
 * Where a sweep of the dedup table goes on (prune_dedup): the key of the
 * next row to look at, in primary-key order. Both "" is the start of the
 * table. Contexts and command ids are shorter than STW_MAX_NAME and
 * STW_MAX_ID (steward.h); the room here is twice that.
 */
struct stw__dedup_key {
	char context[256];
	char command_id[512];
};

/* Filter for list_instances; NULL or 0 fields match everything. */
struct stw__instance_query {
	const char *definition;
	const char *status;
	const char *state;
	const char *id; /* exact id (used to find the definitions of an id) */
	int limit;      /* > 0; list_instances also takes <= 0: no limit */
	int offset;
	/*
	 * > 0: only stuck instances, those that are active, were last updated
	 * before this time, and have neither a timer that applies to their state
	 * (entered_version) nor a command of theirs pending delivery.
	 */
	int64_t stuck_before;
	int64_t definition_version; /* > 0: only instances of this definition version */
};

/*
 * Cluster mode (PostgreSQL): instances are split into partitions by
 * stw__partition of their id, and a worker holds some of them through
 * leases, each at an epoch; part STW__PART_PERIODIC is the lease of the
 * periodic processes, held by one worker at a time.
 */
#define STW__MAX_PARTITIONS 1024
#define STW__PART_PERIODIC  (-1)

/*
 * What a worker holds, shared by its membership (core/cluster.c, which
 * changes it under `lock`) and the store handles of its engines that
 * write for partitions (set_fence): each of their transactions is fenced
 * on it, and their timers, outbox and cursors are limited to it.
 */
struct stw__fence {
	pthread_mutex_t lock;
	char owner[128]; /* the worker's id */
	int partitions;  /* P, the store's */
	int64_t lease_ms;
	int audit;           /* record each fenced transaction (stw_fence_audit) */
	uint64_t generation; /* bumped on every change of the pairs */
	int n;               /* pairs held */
	int parts[STW__MAX_PARTITIONS + 1];
	int64_t epochs[STW__MAX_PARTITIONS + 1];
	uint64_t refusals; /* transactions refused: a pair was no longer held */
	int recheck;       /* set on a refusal: the membership looks again at once */
};

/* The partition (0 .. n-1) of an id: FNV-1a of its bytes, mod n (the store's stw_partition). */
int stw__partition(const char *id, int n);

/* The id an outbox row is partitioned by: its instance's, else its correlation's, else its own. */
const char *stw__outbox_part_key(const char *instance_id, const char *correlation_id,
				 const char *command_id);

/* One worker or one lease as the membership sees them (lease_look). */
struct stw__worker_row {
	const char *id;
	const char *host;
	int pid;
	const char *address; /* nullable: where its HTTP API listens */
	int64_t lease_ms;    /* its lease (lease_join records it) */
	int live;            /* its heartbeat is younger than the lease */
};
struct stw__lease_row {
	int part;
	const char *owner; /* nullable: never held */
	int64_t epoch;
	int taken;             /* held by a lease that still runs */
	int64_t expires_in_ms; /* when taken: how long it still runs, by the database's clock */
};

/*
 * The cluster as any handle reads it (cluster_view, for stw_cluster_view):
 * times in ms, those of the database's clock.
 */
struct stw__view_worker {
	const char *id;
	const char *host;
	int pid;
	const char *address; /* nullable */
	int64_t started_at;  /* ms since the epoch */
	int64_t heartbeat_at;
	int64_t heartbeat_age_ms;
	int64_t lease_ms; /* the worker's lease, as it joined */
	int live;         /* its heartbeat is younger than its lease */
};
/* A lease (part STW__PART_PERIODIC too) with its partition's work. */
struct stw__view_part {
	int part;
	const char *owner; /* nullable: never held */
	int64_t epoch;
	int held;              /* by a lease that still runs */
	int expires;           /* 0: the lease was never granted (expires_in_ms unset) */
	int64_t expires_in_ms; /* negative: ran out, or released, that long ago */
	int64_t cursor_lag;    /* over every cursor: the head less the partition's cursor */
	int64_t timers;        /* timers of the partition's instances */
	int64_t commands;      /* commands pending delivery */
	int64_t now;           /* the database's clock at the read */
};
/* A grant of the lease log. */
struct stw__view_grant {
	int part;
	int64_t epoch;
	const char *owner;
	const char *prev_owner; /* nullable */
	const char *how;        /* free, released or expired */
	int64_t at;
};
/* Where cluster_view hands its rows (a callback returning non-zero stops its kind). */
struct stw__cluster_sink {
	int (*worker)(const struct stw__view_worker *w, void *ud);
	int (*part)(const struct stw__view_part *p, void *ud);
	int (*grant)(const struct stw__view_grant *g, void *ud);
	void *ud;
};

typedef int (*stw__event_cb)(const struct stw__event_row *row, void *ud);
typedef int (*stw__instance_cb)(const struct stw__instance_row *row, void *ud);
typedef int (*stw__history_cb)(const struct stw__history_row *row, void *ud);
typedef int (*stw__outbox_cb)(const struct stw__outbox_row *row, void *ud);
typedef int (*stw__unrouted_cb)(const struct stw__unrouted_row *row, void *ud);
typedef int (*stw__timer_cb)(const struct stw__timer_row *row, void *ud);
typedef int (*stw__name_cb)(const char *name, void *ud);

struct stw__store_ops {
	void (*close)(struct stw__store *s);
	const char *(*errmsg)(struct stw__store *s);

	/*
	 * Transactions, one at a time per handle. begin() opens one (on a
	 * single-writer store it takes the write lock at once: SQLite's BEGIN
	 * IMMEDIATE), STW_EINVAL if one is open; commit() and rollback() end it (a failed commit
	 * leaves it open). Inside it, savepoint() opens a nested level; release() keeps and
	 * rollback_to() undoes, then releases, the innermost one. Levels stack. How the engine
	 * nests its own transactions (a round's transaction holding its steps as levels) is the
	 * core's, built on these (src/core/txn.c).
	 *
	 * A backend may end a transaction by itself after an error (SQLite
	 * does after an I/O error or when out of memory): in_transaction()
	 * tells whether one is still open, rollback() with none open is a
	 * no-op, and undos() counts it. rollback_to() also makes a
	 * transaction usable again after a failure inside the level it undoes.
	 */
	int (*begin)(struct stw__store *s);
	int (*commit)(struct stw__store *s);
	int (*rollback)(struct stw__store *s);
	int (*savepoint)(struct stw__store *s);
	int (*release)(struct stw__store *s);
	int (*rollback_to)(struct stw__store *s);
	int (*in_transaction)(struct stw__store *s);

	/* Events. */
	/* Calls cb once with the event stored under this id, or returns STW_ENOTFOUND. */
	int (*event_get)(struct stw__store *s, const char *id, stw__event_cb cb, void *ud);
	/* Current version of a stream (0 if it has no events). */
	int (*stream_version)(struct stw__store *s, const char *context, const char *stream,
			      int64_t *version);
	/*
	 * Inserts an event at the next position of its context and the next
	 * version of its stream (both gap-free, assigned here; row->position is
	 * ignored) and returns them. Inside the caller's transaction, a
	 * row->stream_version above 0 is the version the caller found the
	 * event's stream at in this transaction, plus one: a single-writer store
	 * may take it instead of reading the version again (nothing else writes
	 * meanwhile); 0 always has the store read it. Ids are unique across
	 * the store: a duplicate id fails with STW_EEXIST (the message names
	 * where the stored copy is). Locks the context's head until the
	 * transaction ends: positions commit in order.
	 */
	int (*append)(struct stw__store *s, const struct stw__event_row *row, int64_t *position,
		      int64_t *stream_version);
	/* Events of context with position > after, ascending, at most limit. */
	int (*read)(struct stw__store *s, const char *context, int64_t after, int limit,
		    stw__event_cb cb, void *ud);
	/* Events of one stream with stream_version >= from_version (1: all), ascending. */
	int (*read_stream)(struct stw__store *s, const char *context, const char *stream,
			   int64_t from_version, stw__event_cb cb, void *ud);
	/*
	 * How many times written work was undone since the store opened: a
	 * rollback of a transaction (one the backend did on its own after an
	 * error included) or of a nested level. What was read inside a
	 * transaction may be gone once it changed.
	 */
	uint64_t (*undos)(struct stw__store *s);
	/*
	 * A number that changes whenever another connection commits to the
	 * store (never for this connection's own commits). While it stays the
	 * same, only this connection changed what it reads. NULL unless the
	 * store has STW__CAP_FOREIGN_COMMITS; may fail: then anything may have
	 * changed.
	 */
	int (*foreign_commits)(struct stw__store *s, uint64_t *count);
	/* Last position of a context (0 if none). */
	int (*head)(struct stw__store *s, const char *context, int64_t *position);

	/* Cursors: 0 when never set. Inside a transaction cursor_get locks the cursor. */
	int (*cursor_get)(struct stw__store *s, const char *definition, const char *context,
			  int64_t *position);
	int (*cursor_set)(struct stw__store *s, const char *definition, const char *context,
			  int64_t position);

	/* Instances. */
	/* Calls cb once with the instance, or returns STW_ENOTFOUND. */
	int (*instance_get)(struct stw__store *s, const char *definition, const char *id,
			    stw__instance_cb cb, void *ud);
	/* Inserts a new instance; STW_EEXIST if (definition, id) exists. */
	int (*instance_insert)(struct stw__store *s, const struct stw__instance_row *row);
	/*
	 * Overwrites state, status, data, unique_key, reason, version,
	 * updated_at, entered_version and, when row->definition_version > 0,
	 * definition_version (a migration) of (definition, id) if its stored
	 * version is `expected_version`; else STW_ECONFLICT (also when it does
	 * not exist).
	 */
	int (*instance_update)(struct stw__store *s, const struct stw__instance_row *row,
			       int64_t expected_version);
	/*
	 * The id of the active or failed instance of `definition` holding
	 * `unique_key`, copied into holder (cap bytes), or STW_ENOTFOUND.
	 */
	int (*key_holder)(struct stw__store *s, const char *definition, const char *unique_key,
			  char *holder, size_t cap);
	/* Instances matching q, newest (updated_at, then id) first. */
	int (*list_instances)(struct stw__store *s, const struct stw__instance_query *q,
			      stw__instance_cb cb, void *ud);

	/* History. */
	/* STW_OK if (definition, instance, message_id) has a row, else STW_ENOTFOUND. */
	int (*history_has)(struct stw__store *s, const char *definition, const char *instance_id,
			   const char *message_id);
	int (*history_insert)(struct stw__store *s, const struct stw__history_row *row);
	/* Inserts n rows as history_insert would, in fewer statements; any
	 * duplicate fails the call with STW_EEXIST (roll back). */
	int (*history_insert_many)(struct stw__store *s, const struct stw__history_row *rows,
				   size_t n);
	/* Rows of one instance in seq order. */
	int (*history_list)(struct stw__store *s, const char *definition, const char *instance_id,
			    stw__history_cb cb, void *ud);

	/* Outbox. */
	/* Inserts a row unless its command_id exists (then a no-op, STW_OK). */
	int (*outbox_insert)(struct stw__store *s, const struct stw__outbox_row *row);
	/* Pending rows of one context in seq order, at most limit. */
	int (*outbox_pending)(struct stw__store *s, const char *context, int limit,
			      stw__outbox_cb cb, void *ud);
	/* Sets status, error and delivered_at of a row by command id. */
	int (*outbox_mark)(struct stw__store *s, const char *command_id, const char *status,
			   const char *error, int64_t delivered_at);
	/* Rows sent by one instance in seq order. */
	int (*outbox_for_instance)(struct stw__store *s, const char *definition,
				   const char *instance_id, stw__outbox_cb cb, void *ud);
	/* Number of pending rows of all contexts. */
	int (*outbox_pending_count)(struct stw__store *s, int64_t *count);
	/*
	 * Calls cb once per context that has pending rows, in name order (a
	 * seek per context, not a scan of the rows).
	 */
	int (*outbox_pending_contexts)(struct stw__store *s, stw__name_cb cb, void *ud);

	/* The receiving side's dedup table: one row per (context, command id). */
	/*
	 * If the command was handled, STW_OK with *outcome (STW_OK or the
	 * recorded error code) and its error text copied into err (cap bytes,
	 * "" if none); else STW_ENOTFOUND.
	 */
	int (*dedup_get)(struct stw__store *s, const char *context, const char *command_id,
			 int *outcome, char *err, size_t cap);
	/* Records a handled command; STW_EEXIST if recorded already. */
	int (*dedup_put)(struct stw__store *s, const char *context, const char *command_id,
			 int outcome, const char *error, int64_t at);
	/* Counts one more duplicate delivery of a recorded command. */
	int (*dedup_hit)(struct stw__store *s, const char *context, const char *command_id);
	/*
	 * Forgets the record of a command that was refused (an outcome other
	 * than STW_OK), so that it is handled again; a command recorded as
	 * applied, or not recorded, is left as it is (STW_OK either way).
	 */
	int (*dedup_forget_refusal)(struct stw__store *s, const char *context,
				    const char *command_id);
	/* Sum of duplicate deliveries ever counted. */
	int (*dedup_duplicates)(struct stw__store *s, int64_t *count);

	/* Unrouted messages. */
	int (*unrouted_insert)(struct stw__store *s, const struct stw__unrouted_row *row);
	/* Newest first; definition may be NULL. */
	int (*unrouted_list)(struct stw__store *s, const char *definition, int limit,
			     stw__unrouted_cb cb, void *ud);

	/* Timers. */
	/* Inserts a timer unless it exists (same definition, instance and id: a no-op, STW_OK). */
	int (*timer_insert)(struct stw__store *s, const struct stw__timer_row *row);
	/*
	 * Timers of a definition with due_at <= now, earliest first (then by
	 * instance id, then by id), at most limit.
	 */
	int (*timers_due)(struct stw__store *s, const char *definition, int64_t now, int limit,
			  stw__timer_cb cb, void *ud);
	/* Deletes a timer by its key (a no-op when absent). */
	int (*timer_delete)(struct stw__store *s, const char *definition, const char *instance_id,
			    const char *id);
	/* The earliest due_at of a definition's timers (from the index), or STW_ENOTFOUND. */
	int (*timer_next)(struct stw__store *s, const char *definition, int64_t *due_at);
	/* Periodic processes: the last period each one ran in. */
	/* STW_OK with *period, or STW_ENOTFOUND if it never ran; locks it inside a
	 * transaction, where a process that never ran may also read as a period
	 * below every period (-1: the row a backend created to lock it). */
	int (*periodic_get)(struct stw__store *s, const char *name, int64_t *period);
	int (*periodic_set)(struct stw__store *s, const char *name, int64_t period, int64_t at);

	/* Timers of one instance, earliest first. */
	int (*timers_for_instance)(struct stw__store *s, const char *definition,
				   const char *instance_id, stw__timer_cb cb, void *ud);

	/* Remote delivery. */
	/* Pending rows of a context with next_at <= now, in seq order, at most limit. */
	int (*outbox_due)(struct stw__store *s, const char *context, int64_t now, int limit,
			  stw__outbox_cb cb, void *ud);
	/* The earliest next_at of a context's pending rows, or STW_ENOTFOUND. */
	int (*outbox_next_due)(struct stw__store *s, const char *context, int64_t *at);
	/* Records an attempt: sets status, error, attempts, next_at and delivered_at. */
	int (*outbox_attempted)(struct stw__store *s, const char *command_id, const char *status,
				const char *error, int attempts, int64_t next_at,
				int64_t delivered_at);
	/* Calls cb once with the row of a command id, or returns STW_ENOTFOUND. */
	int (*outbox_get)(struct stw__store *s, const char *command_id, stw__outbox_cb cb,
			  void *ud);
	/* Rows with a status, newest (highest seq) first, at most limit. */
	int (*outbox_by_status)(struct stw__store *s, const char *status, int limit,
				stw__outbox_cb cb, void *ud);

	/*
	 * Poison inputs: counts one more attempt at the batch after cursor
	 * `position` of (definition, context) and returns the count (1 when the
	 * last count was for another position). Commit it before handling.
	 */
	int (*cursor_attempt)(struct stw__store *s, const char *definition, const char *context,
			      int64_t position, int *attempts);

	/* Retention. */
	/*
	 * Deletes, in the caller's transaction, up to `limit` (> 0) ended
	 * instances of `definition` (status completed, acknowledged, cancelled
	 * or rejected) last updated before `before`, with their history rows,
	 * their timers and their outbox rows (all final then: delivered,
	 * skipped or rejected). An instance with a command still pending or
	 * parked in the outbox stays, with all its rows: that command may
	 * still be delivered or rejected and told to it. Adds what it deleted
	 * to *out; fewer instances than limit means none is left to delete.
	 */
	int (*prune_instances)(struct stw__store *s, const char *definition, int64_t before,
			       int limit, struct stw__prune_counts *out);
	/*
	 * One step of a sweep of the dedup table in primary-key order, in the
	 * caller's transaction: looks at up to `limit` (> 0) rows from *key on
	 * (keyset: no index besides the key, which every command's record
	 * pays for already) and deletes those recorded before `before`.
	 * Returns the rows looked at and deleted in *looked and *deleted, and
	 * sets *key to the next row to look at, or to the start ("", "") when
	 * the sweep reached the end of the table.
	 */
	int (*prune_dedup)(struct stw__store *s, int64_t before, int limit,
			   struct stw__dedup_key *key, int64_t *looked, int64_t *deleted);
	/*
	 * One step of a sweep of the outbox in seq order, in the caller's
	 * transaction: looks at up to `limit` (> 0) rows after *after (through
	 * the primary key) and deletes those of commands that belong to no
	 * instance, delivered before `before`. Returns the rows looked at and
	 * deleted in *looked and *deleted, and sets *after to the last seq
	 * looked at, or to 0 (the start) when fewer than limit were left.
	 */
	int (*prune_commands)(struct stw__store *s, int64_t before, int limit, int64_t *after,
			      int64_t *looked, int64_t *deleted);

	/*
	 * Cluster mode: NULL in a backend without it (SQLite, one machine).
	 * set_fence(f) makes every transaction of the handle begin by checking,
	 * inside it, that f's worker still holds f's pairs (part, epoch)
	 * (begin() fails with STW_EBUSY, f->refusals counted, when one moved),
	 * and limits timers_due, timer_next, outbox_pending, outbox_due,
	 * outbox_next_due and the cursors to the partitions held (the cursor of
	 * a context is then the lowest of theirs; cursor_set sets them all).
	 * Its sessions also end a transaction left idle for f->lease_ms, so
	 * that a worker frozen inside one lets its leases go. NULL: none.
	 */
	int (*set_fence)(struct stw__store *s, struct stw__fence *f);
	/*
	 * Whether the handle holds `part`: as its open transaction was fenced,
	 * else as its fence says now; 1 without a fence.
	 */
	int (*holds)(struct stw__store *s, int part);
	/*
	 * The cursor of each partition held, in pos[part] (f->partitions
	 * entries), -1 for those not held.
	 */
	int (*cursor_parts)(struct stw__store *s, const char *definition, const char *context,
			    int64_t *pos);

	/*
	 * The membership's operations (core/cluster.c), each its own
	 * transaction, times from the server's clock. lease_join registers
	 * the worker (w->id, host, pid, address, lease_ms) and returns the store's
	 * partition count in *partitions; a wanted count > 0 that differs is
	 * applied when no lease was ever granted (the partitions of stored
	 * rows computed again), else refused (STW_EINVAL).
	 */
	int (*lease_join)(struct stw__store *s, const struct stw__worker_row *w, int want,
			  int *partitions);
	/* The worker's heartbeat; address, when not NULL, is recorded as where it listens now. */
	int (*lease_heartbeat)(struct stw__store *s, const char *id, const char *address);
	/* Renews the pairs held; those still held come back in out_parts/out_epochs. */
	int (*lease_renew)(struct stw__store *s, const char *id, int64_t lease_ms, const int *parts,
			   const int64_t *epochs, int n, int *out_parts, int64_t *out_epochs,
			   int *nout);
	/* The workers (live: a heartbeat within live_ms) and every lease. */
	int (*lease_look)(struct stw__store *s, int64_t live_ms,
			  int (*worker)(const struct stw__worker_row *w, void *ud),
			  int (*lease)(const struct stw__lease_row *l, void *ud), void *ud);
	/* Takes what it can of `want` (free, released or expired); granted pairs in out_*. */
	int (*lease_acquire)(struct stw__store *s, const char *id, int64_t lease_ms,
			     const int *want, int n, int *out_parts, int64_t *out_epochs,
			     int *nout);
	int (*lease_release)(struct stw__store *s, const char *id, const int *parts, int n);
	/* Releases everything and forgets the worker. */
	int (*lease_leave)(struct stw__store *s, const char *id);
	/* Wakes the members waiting in lease_wait. */
	int (*lease_notify)(struct stw__store *s);
	/*
	 * Waits up to timeout_ms for lease_notify (1) or for a commit that
	 * wrote work, an event, a command or a timer (2): the bits that came,
	 * 0 for none, or a code.
	 */
	int (*lease_wait)(struct stw__store *s, int64_t timeout_ms);
	/* Forgets workers silent for longer than `after_ms` that hold nothing. */
	int (*lease_forget)(struct stw__store *s, int64_t after_ms);
	/*
	 * The cluster for any handle, fenced or not (reads are not
	 * partitioned): every worker by id, every lease by part (the periodic
	 * singleton's first) with its partition's cursor lag, timers and
	 * pending commands, then the newest `grants` grants of the lease log,
	 * newest first. A few statements, none per partition.
	 */
	int (*cluster_view)(struct stw__store *s, int grants, const struct stw__cluster_sink *sink);
};

/* Capability bits of a store (struct stw__store.caps). */
/* One transaction writes at a time: begin() takes the store's write lock. */
#define STW__CAP_SINGLE_WRITER 1u
/* foreign_commits() tells when another connection committed. */
#define STW__CAP_FOREIGN_COMMITS 2u

/* Every backend's handle starts with this. */
/*
 * How a handle's connection has fared (all 0 for a store without one): the
 * backend updates it as its operations find the connection lost and make it
 * again.
 */
struct stw__store_health {
	uint64_t losses;       /* connections found lost */
	uint64_t reconnects;   /* connections made again */
	int64_t down_since_ms; /* monotonic ms the connection was found lost; 0: it works */
	char why[256];         /* why the last loss or failed attempt happened ("" if none) */
};

struct stw__store {
	const struct stw__store_ops *ops;
	unsigned caps; /* STW__CAP_* */
	/*
	 * Savepoints one transaction should open at most (0: no limit): past
	 * them each costs more (PostgreSQL keeps 64 subtransactions per
	 * backend in shared memory; past that every snapshot taken while the
	 * transaction is open looks subtransactions up on disk).
	 */
	int max_savepoints;
	struct stw__store_health health; /* kept by the backend */
};

struct stw__sqlite_options; /* store/sqlite.h */

/* What the engine's options say about the store it opens. */
struct stw__store_options {
	int read_only; /* open an existing store for reading only */
	/* The SQLite backend's settings (NULL: its defaults); other backends
	 * take theirs from the URL. */
	const struct stw__sqlite_options *sqlite;
};

/*
 * Opens the store a URL names, with the backend registered for its scheme
 * (store.c): "postgres://..." and "postgresql://..." (a libpq connection
 * URI), "sqlite:PATH[?synchronous=off|normal|full]", or a bare path (SQLite).
 * Creates or checks the schema. On failure returns a code and, if errbuf is
 * not NULL, a message in it (never the password); *out is NULL.
 */
int stw__store_open(const char *url, const struct stw__store_options *o, struct stw__store **out,
		    char *errbuf, size_t errcap);

/*
 * Writes the URL as it may be shown (logs, messages) into buf (cap bytes):
 * a password in it, in the user part or as a parameter, replaced by "***".
 * Truncated to fit.
 */
void stw__store_shown(const char *url, char *buf, size_t cap);

/* Shorthands for calling through the ops table. */
#define STW__S(s, op, ...) ((s)->ops->op((s), __VA_ARGS__))
#define STW__S0(s, op)     ((s)->ops->op((s)))

#endif /* STW_STORE_H */
