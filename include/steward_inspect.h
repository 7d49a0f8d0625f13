/*
 * steward_inspect.h - inspection and operation of instances, definitions and
 * cursors (stw_list_instances, stw_get_instance, stw_retry, stw_cancel, ...),
 * and the retention that deletes ended instances and old dedup records
 * (stw_prune).
 * Part of the public API of libsteward: include <steward.h>, which includes
 * this file (the conventions at its top apply).
 */
#ifndef STEWARD_INSPECT_H
#define STEWARD_INSPECT_H

#ifndef STEWARD_H
#error "include <steward.h>, not this file"
#endif

/* ------------------------------------------------------------------------ */
/* Inspection and operation                                                 */

/*
 * The words of the JSON documents, each list as one table that expands
 * XX(NAME, "word") per entry, for code that must know every one (filters,
 * checks, tests).
 *
 * The status of an instance: active (running), completed (reached a terminal
 * state), failed (needs a person, or follows a failure path), acknowledged
 * (a person ended a failure), rejected (refused at its start: its uniqueness
 * key was held), cancelled (a person stopped it).
 */
#define STW_INSTANCE_STATUS_MAP(XX)                                                                \
	XX(ACTIVE, "active")                                                                       \
	XX(COMPLETED, "completed")                                                                 \
	XX(FAILED, "failed")                                                                       \
	XX(ACKNOWLEDGED, "acknowledged")                                                           \
	XX(REJECTED, "rejected")                                                                   \
	XX(CANCELLED, "cancelled")

/*
 * The status of a command in the outbox: pending (waiting for delivery),
 * delivered (applied by its service), rejected (refused by it), parked (its
 * delivery needs a person), skipped (a person decided it is not delivered).
 */
#define STW_COMMAND_STATUS_MAP(XX)                                                                 \
	XX(PENDING, "pending")                                                                     \
	XX(DELIVERED, "delivered")                                                                 \
	XX(REJECTED, "rejected")                                                                   \
	XX(PARKED, "parked")                                                                       \
	XX(SKIPPED, "skipped")

/*
 * What a message did to an instance, in its history: applied (a transition),
 * ignored (the instance had ended or halted), failed (not accepted in its
 * state, or a callback failed), rejected (a trigger whose uniqueness key was
 * held), acknowledged, cancelled and retried (a person's decision), parked
 * (a poison input event, set aside), migrated (moved to another version of
 * its definition: stw_migrate).
 */
#define STW_OUTCOME_MAP(XX)                                                                        \
	XX(APPLIED, "applied")                                                                     \
	XX(IGNORED, "ignored")                                                                     \
	XX(FAILED, "failed")                                                                       \
	XX(REJECTED, "rejected")                                                                   \
	XX(ACKNOWLEDGED, "acknowledged")                                                           \
	XX(CANCELLED, "cancelled")                                                                 \
	XX(RETRIED, "retried")                                                                     \
	XX(PARKED, "parked")                                                                       \
	XX(MIGRATED, "migrated")

/* Filter for stw_list_instances(); NULL fields match everything. */
struct stw_instance_filter {
	const char *definition;
	const char *status; /* a word of STW_INSTANCE_STATUS_MAP */
	const char *state;
	int limit; /* 0: 100 */
	int offset;
	/*
	 * > 0: only stuck instances: active, not updated for this long (the
	 * engine's clock), with no timer that applies to their state and no
	 * command of theirs pending delivery, so that nothing will move them.
	 */
	int64_t stuck_for_ms;
	int definition_version; /* > 0: only instances created by this version of their definition
				 */
};

/*
 * Lists instances, newest first, as a new JSON array of objects
 * {definition, id, state, status, version, definition_version, unique_key,
 * reason, created_at, updated_at}. version counts the instance's changes;
 * definition_version is the version of its definition that created it (or
 * the one it was migrated to: stw_migrate).
 */
STW_API int stw_list_instances(struct stw_engine *e, const struct stw_instance_filter *f,
			       json_t **out) STW_WUR;

/*
 * Counts the stuck instances (as stw_instance_filter.stuck_for_ms, of every
 * definition) into *count: what a monitor watches.
 */
STW_API int stw_count_stuck(struct stw_engine *e, int64_t stuck_for_ms, int64_t *count) STW_WUR;

/*
 * Gets one instance as a new JSON object: the fields of the list plus data,
 * history (array of {seq, at, message_id, message_type, context, from, to,
 * outcome, reason}), commands (the commands it sent, as objects of
 * stw_list_commands) and timers (the pending ones that still apply: array
 * of {id, message_type, due_at, created_at, armed_by}).
 * `definition` may be NULL when the id is unambiguous (else STW_EAMBIGUOUS).
 */
STW_API int stw_get_instance(struct stw_engine *e, const char *definition, const char *id,
			     json_t **out) STW_WUR;

/*
 * Acknowledges a failed instance: its status becomes "acknowledged" (and its
 * state the definition's ack_state, if any), its uniqueness key is freed (the
 * key stays on the instance for display but no longer blocks), and
 * a history row records `note` (may be NULL). STW_ESTATE if it is not failed.
 */
STW_API int stw_acknowledge(struct stw_engine *e, const char *definition, const char *id,
			    const char *note) STW_WUR;

/*
 * The registered definitions, the newest version of each name, as a new
 * JSON array of objects {name, version (1 for a definition that says 0),
 * versions (every registered version, ascending), stateless, sources,
 * delivery: "at-least-once"|"at-most-once", unique_key (bool), ack_state,
 * states: [{name, kind: "active"|"terminal"|"failure"|"manual"}],
 * transitions: [{from, on, to, commands: [{context, type}], timers:
 * [{message, delay_ms, computed (bool: the due time comes from a
 * callback)}]}]} (docs/API.md).
 */
STW_API int stw_list_definitions(struct stw_engine *e, json_t **out) STW_WUR;

/*
 * The registered versions of one definition as a new JSON object {name,
 * newest (its version), versions: [...]}, ascending, each an object of
 * stw_list_definitions without "versions" plus live: the number of its
 * instances that are active or failed, and migrations: the migrations it
 * declares, [{from, states: {old state: new state or null}, transform
 * (bool)}] (stw_migrate). STW_ENOTFOUND when no version of
 * `name` is registered.
 */
STW_API int stw_get_definition(struct stw_engine *e, const char *name, json_t **out) STW_WUR;

/*
 * Every context a registered definition reads or sends to, a service handles
 * or that is declared remote, as a new JSON array of {name, head, service
 * (bool: an in-process service handles it), remote (bool: declared with
 * stw_register_remote)}, sorted by name.
 */
STW_API int stw_list_contexts(struct stw_engine *e, json_t **out) STW_WUR;

/*
 * 1 when `context` is one the engine knows: a registered definition reads it
 * or sends commands to it, an in-process service handles it, or it is
 * declared remote (the contexts stw_list_contexts lists); 0 otherwise;
 * STW_EINVAL when it is not a valid context name (letters, digits, '_', '.'
 * and '-', starting with a letter or digit). A host that takes events from
 * outside refuses the others (docs/API.md).
 */
STW_API int stw_context_declared(const struct stw_engine *e, const char *context);

/* The number of commands in the outbox waiting for delivery. */
STW_API int stw_pending_commands(struct stw_engine *e, int64_t *count) STW_WUR;

/*
 * Instances that need a person: failed in a STW_STATE_MANUAL state, as a new
 * JSON array of list objects (newest first), at most `limit` (0: 100) per
 * definition.
 */
STW_API int stw_list_interventions(struct stw_engine *e, int limit, json_t **out) STW_WUR;

/*
 * Retries a failed instance from a chosen state: the instance becomes active
 * in `state` (an active state of its definition) with a new state epoch, and
 * the commands and timers of the first transition of the table that enters
 * `state` are issued again, under new ids derived from this retry. Their
 * payload callbacks see a message of type "Retry" with data {state, note}.
 * A history row records it. STW_ESTATE if the instance is not failed,
 * STW_EINVAL for an unknown or non-active state; the definition must be
 * registered.
 */
STW_API int stw_retry(struct stw_engine *e, const char *definition, const char *id,
		      const char *state, const char *note) STW_WUR;

/*
 * Cancels an active or failed instance: its status becomes "cancelled", its
 * uniqueness key is freed, its timers become void, and a history row records
 * `note` (also its reason; without a note a failure's reason stays). No
 * command is sent. STW_ESTATE if the instance has ended.
 */
STW_API int stw_cancel(struct stw_engine *e, const char *definition, const char *id,
		       const char *note) STW_WUR;

/* Messages that could not be routed to an instance, as a new JSON array. */
STW_API int stw_list_unrouted(struct stw_engine *e, const char *definition, int limit,
			      json_t **out) STW_WUR;

/*
 * Sets the cursor of (definition, context) back or forward. For operators
 * (replay) and tests; steps already recorded are recognised as duplicates.
 */
STW_API int stw_set_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t position) STW_WUR;

/* Reads the cursor of (definition, context). */
STW_API int stw_get_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t *position) STW_WUR;

/* ------------------------------------------------------------------------ */
/* Retention                                                                */

/*
 * What a retention pass deletes (stw_prune). Ages are measured back from
 * the engine's clock.
 */
struct stw_prune_opts {
	/*
	 * Ended instances (completed, acknowledged, cancelled, rejected) last
	 * updated longer ago than this are deleted with their history, timers
	 * and outbox rows; 0: ended instances are kept.
	 */
	int64_t ended_older_than_ms;
	/*
	 * Records of the commands services handled (the dedup table) older
	 * than this are dropped, and so are the outbox rows of commands that
	 * belong to no instance (sent by a host, stw_send, or by a stateless
	 * definition) delivered longer ago; 0: both are kept. This is the
	 * window in which a command delivered or sent again is recognised as a
	 * duplicate: once its record or row is dropped, the same command id is
	 * executed or sent again.
	 */
	int64_t dedup_older_than_ms;
	int batch; /* instances or dedup records per transaction (at most STW_MAX_LIST); 0: 100 */
	int64_t max_ms; /* stop after about this long (at a batch's end); 0: when done */
	/*
	 * The work a transaction does, about: a pass's first transactions
	 * take 8 instances or dedup records (batch if less), and after each
	 * one the next takes half as many (down to 1) when its statements
	 * took longer than this, twice as many (up to batch) when they took
	 * less than half of it. A writer waiting for the write lock waits
	 * for about this long, and the commit. 0: 2 ms.
	 */
	int64_t batch_ms;
};

/* What a call to stw_prune did. */
struct stw_prune_stats {
	int64_t instances;    /* ended instances deleted */
	int64_t history;      /* ... their history rows */
	int64_t timers;       /* ... their timers */
	int64_t outbox;       /* ... their outbox rows */
	int64_t dedup;        /* dedup records dropped */
	int64_t dedup_looked; /* dedup records looked at */
	int64_t commands;     /* delivered commands of no instance deleted from the outbox */
	int64_t batches;      /* transactions committed */
	int finished;         /* 1: the pass is done; 0: max_ms stopped it */
};

/*
 * Runs a retention pass: deletes the ended instances of every stateful
 * definition registered on the engine (their status completed,
 * acknowledged, cancelled or rejected; last updated before the engine's
 * clock less o->ended_older_than_ms) with their history rows, timers and
 * outbox rows, then sweeps the dedup table once through, dropping the
 * records older than o->dedup_older_than_ms, and the outbox once through,
 * deleting the commands that belong to no instance delivered longer ago than
 * that. Each batch (at most o->batch instances, records or outbox rows, as
 * many as take about o->batch_ms) is a short
 * transaction of its own, so another writer never waits for more than one
 * batch. Kept: active and failed
 * instances, an ended instance with a command still pending or parked in
 * the outbox (until that command is delivered, rejected or skipped), every
 * event (the contexts' logs), cursors, unrouted messages, and the outbox
 * rows of commands that belong to no instance and are pending, parked,
 * rejected or skipped (a person may still look at those).
 *
 * With o->max_ms > 0 the pass stops once a batch ends after about that long
 * (out->finished 0), and the next call on the engine goes on where it
 * stopped; out->finished is 1 when a call finishes the pass.
 *
 * The dedup window: a command id delivered again (stw_execute, a service's
 * command re-delivered) while its record is kept is recognised as a
 * duplicate; once the record is dropped, it is executed again. A command id
 * of no instance sent again (stw_send, a stateless definition's step
 * replayed) while its outbox row is kept is recognised as a duplicate; once
 * the row is deleted, it is sent again. Keep records longer than a command
 * can be delivered late. A deleted instance is gone
 * for good too: an event replayed after its cursor was set back
 * (stw_set_cursor) that triggers one starts a new instance.
 *
 * STW_EINVAL for a negative age, max_ms or batch_ms or a batch past STW_MAX_LIST; STW_ESTATE inside
 * stw_begin. On a store failure the batch is rolled back and what earlier
 * batches deleted stays deleted (out counts it).
 */
STW_API int stw_prune(struct stw_engine *e, const struct stw_prune_opts *o,
		      struct stw_prune_stats *out) STW_WUR;

#endif /* STEWARD_INSPECT_H */
