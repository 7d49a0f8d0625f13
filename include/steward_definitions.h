/*
 * steward_definitions.h - process definitions (states, transitions, commands, timers)
 * and periodic processes (stw_define, stw_define_periodic, ...).
 * Part of the public API of libsteward: include <steward.h>, which includes
 * this file (the conventions at its top apply).
 */
#ifndef STEWARD_DEFINITIONS_H
#define STEWARD_DEFINITIONS_H

#ifndef STEWARD_H
#error "include <steward.h>, not this file"
#endif

/* ------------------------------------------------------------------------ */
/* Process definitions                                                      */

enum stw_state_kind {
	STW_STATE_ACTIVE = 0, /* waiting for messages */
	STW_STATE_TERMINAL,   /* the process completed */
	STW_STATE_FAILURE,    /* the process failed; a person acknowledges it */
	STW_STATE_MANUAL,     /* a failure that needs a person: listed apart, to be
				 acknowledged, retried from a chosen state or cancelled */
};

struct stw_state_def {
	const char *name; /* NULL ends the list */
	enum stw_state_kind kind;
};

/* What a transition callback sees. Everything is borrowed for the call. */
struct stw_step_info {
	const char *definition;
	const char *instance_id;
	const char *from; /* NULL when the transition creates the instance */
	const char *to;
	json_t *data; /* the instance data; the callback may change it */
	const struct stw_event *event;
	int command_index; /* for payload callbacks */
	void *ud;          /* the definition's ud */
};

/*
 * Builds the payload of a command sent by a transition. *payload receives a
 * new JSON object. When NULL, the payload is a copy of the instance data.
 */
typedef int (*stw_payload_fn)(const struct stw_step_info *si, json_t **payload);

/* Updates the instance data from the message. NULL: no change (creation: see below). */
typedef int (*stw_update_fn)(const struct stw_step_info *si);

/* Returns a borrowed id derived from an event (correlation or uniqueness key), or NULL. */
typedef const char *(*stw_key_fn)(const struct stw_event *ev, void *ud);

struct stw_command_def {
	const char *context; /* NULL ends the list */
	const char *type;
	stw_payload_fn payload;
};

/*
 * Computes when a timer falls due (UTC milliseconds) from the step. *due_ms
 * holds now + delay_ms (the engine's clock) when it is called.
 */
typedef int (*stw_due_fn)(const struct stw_step_info *si, int64_t *due_ms);

/*
 * A timer (alarm) armed by a transition: deliver message `message` to the
 * instance after `delay_ms` (or at the time `due` computes). Timers are
 * written in the step's transaction, so they are as durable as the state.
 * A timer belongs to the state the transition enters: leaving that state
 * cancels it (a timer that falls due after the instance moved on, ended or
 * failed is ignored and counted). Firing goes through the same path as
 * events: the state machine must accept `message` in that state; the message
 * has the timer's id, data {due_at, armed_by} and recorded_at = due_at. A
 * timer's message type is reserved: an event of that type in a source context is
 * recorded as unrouted, so it cannot impersonate the timer.
 */
struct stw_timer_def {
	const char *message; /* NULL ends the list */
	int64_t delay_ms;    /* >= 0; ignored when `due` is set */
	stw_due_fn due;
};

/* The type of the message that tells an instance a command it sent was rejected. */
#define STW_COMMAND_REJECTED "CommandRejected"

/*
 * One row of the transition table. `from` == NULL makes `on` a trigger: an
 * event of that type for which no instance exists creates one in state `to`.
 * `to` == NULL keeps the state (the message is accepted and recorded).
 */
struct stw_transition_def {
	const char *from;
	const char *on; /* message (event or timer) type; NULL ends the list */
	const char *to;
	const struct stw_command_def *commands; /* NULL or a list ended by {NULL} */
	stw_update_fn update;                   /* runs before the payloads are built */
	const struct stw_timer_def *timers;     /* NULL or a list ended by {NULL} */
};

/*
 * What a migration's data transform sees (struct stw_migration_def). Everything is borrowed for the
 * call.
 */
struct stw_migration_info {
	const char *definition;
	const char *instance_id;
	int from_version, to_version;
	const char *from_state; /* the stored state, of from_version */
	const char *to_state;   /* the state of to_version it moves to */
	const char *status;     /* "active" or "failed" */
	json_t *data;           /* the instance data: the transform may change it in place */
	const char *reason;     /* out: why the transform refuses (a static string), or NULL */
	void *ud;               /* the definition's ud (of to_version) */
};

/*
 * Changes the data of an instance that migrates (mi->data); any non-zero
 * return refuses the migration of that instance, which stays on its
 * version and is listed with mi->reason. It must be deterministic: a dry run
 * and the real migration call it alike.
 */
typedef int (*stw_migrate_fn)(struct stw_migration_info *mi);

/* One state of the earlier version and the state of this version it moves to. */
struct stw_state_map {
	const char *from; /* NULL ends the list */
	const char *to;   /* a state of this version; NULL: instances in `from` do not migrate */
};

/*
 * How instances of an earlier version move to the version that declares it
 * (stw_migrate). A stored state listed in `states` moves as the map says; a
 * state the map does not list moves to the state of the same name if this
 * version has one, else the instance stays on its version and is listed
 * ("no mapping"). An active instance moves only to an active state.
 */
struct stw_migration_def {
	int from_version;                   /* an earlier version; 0 ends the list */
	const struct stw_state_map *states; /* NULL or a list ended by {NULL} */
	stw_migrate_fn transform;           /* NULL: the data stays as it is */
};

enum stw_delivery {
	STW_AT_LEAST_ONCE = 0, /* the cursor commits with the step (default) */
	STW_AT_MOST_ONCE,      /* the cursor commits before the step */
};

/*
 * A process definition. The engine keeps a pointer to it (and to every table
 * it points to): it must outlive the engine, as static tables do.
 *
 * Routing: an event of a source context whose type appears in a transition is
 * correlated to an instance id by `correlate` (NULL: the event's correlation
 * id). A trigger creates the instance; its data starts as a copy of the
 * trigger's data unless the trigger transition has an update callback, which
 * then starts from {}. A definition without states is a stateless policy:
 * every transition is a trigger, no instance is stored, and only the commands
 * are written.
 *
 * Uniqueness: when `unique_key` is set, at most one active or failed instance
 * holds a given key; a trigger whose key is held creates an instance with
 * status "rejected" and the reason, and nothing else happens.
 *
 * Failure: entering a STW_STATE_FAILURE state (the reason is the message's
 * type and, if its data has a "reason" string, that reason), or receiving a message
 * that no transition accepts in the current state, sets status "failed" with a
 * reason;
 * stw_acknowledge() ends it and frees its key. In a failure state the table
 * still applies (compensation messages such as an abort confirmation); an
 * instance that failed in any other state (an unexpected message, a failing
 * callback) halts: later messages are recorded as "ignored".
 *
 * Rejected commands: when the service of a command a transition sent
 * rejects it (stw_reject, a remote service's refusal; not a failure to
 * deliver, which is retried and parked), the instance receives a message of
 * type STW_COMMAND_REJECTED with data {command_id, command_type, context,
 * reason}, in the transaction that records the refusal. A transition on it
 * (from the states where the answer is awaited) lets the process compensate
 * or enter a failure state; without one the instance fails with the reason
 * ("<type> <command id> to <context> was rejected: <reason>"). An ended
 * instance records it as ignored. It cannot be a trigger, and an event of
 * that type in a source context is recorded as unrouted. The instance is
 * told only by an engine its definition is registered on: register the
 * definitions on every engine that delivers commands (steward serve and the
 * demos do).
 */
struct stw_definition {
	const char *name;
	int version;
	const char *const *sources;                   /* context names, NULL-terminated */
	const struct stw_state_def *states;           /* NULL-name-terminated; NULL: stateless */
	const struct stw_transition_def *transitions; /* NULL-on-terminated */
	const char *ack_state;                        /* optional state reached by acknowledging */
	stw_key_fn correlate;                         /* NULL: the event's correlation id */
	stw_key_fn unique_key;                        /* NULL: no uniqueness */
	enum stw_delivery delivery;
	void *ud; /* passed to the callbacks */
	/* NULL or a list ended by {0}: how instances of earlier versions move to this one. */
	const struct stw_migration_def *migrations;
};

/*
 * Registers a definition. Fails with STW_EINVAL and a message naming the
 * definition, state and transition when it is inconsistent: an unknown state,
 * two transitions from one state on one message, a timer whose message has
 * no transition from the state that arms it, a state no trigger leads to, an
 * active state with no way out (no transition to another state and no timer:
 * mark it terminal, failure or manual if the process ends there).
 *
 * Several versions of one name may be registered (`version`, 1 when 0): new
 * instances take the newest (the highest), an instance keeps the version that
 * created it, and one whose version is not registered fails alone when a
 * message reaches it. Versions must read the same sources, deliver alike and
 * all have states or none (else STW_EINVAL); the same version twice is
 * STW_EEXIST. See docs/DEFINITIONS.md, "Versions side by side".
 */
STW_API int stw_define(struct stw_engine *e, const struct stw_definition *def) STW_WUR;

/* What stw_migrate is asked to do. */
struct stw_migrate_opts {
	int from, to; /* versions of the definition; `to` declares a migration from `from` */
	const char *instance; /* NULL: every active or failed instance of `from` */
	int dry_run;          /* 1: report what would change, write nothing */
	int64_t limit;        /* instances at most; 0: all */
	/* Called after each instance (done of total), for a progress line; may be NULL. */
	void (*progress)(int64_t done, int64_t total, void *ud);
	void *ud;
};

/*
 * Moves the active and failed instances of version o->from of `definition`
 * to version o->to, as o->to's migration from o->from declares (struct
 * stw_migration_def), both versions' states known from the store and
 * o->to's registration (o->from need not be registered any more). Each
 * instance migrates in a transaction of its own: its state mapped, its data
 * transformed, its version of the definition changed, a history row
 * (outcome "migrated", message type "Migrate", reason "Migrated F -> T"),
 * its pending timers kept when the new state accepts their message and
 * voided when not, and the timers the new version arms on entering the
 * state (its first transition into it) armed from now when the instance is
 * active and has none of that message. No command is sent. An instance that
 * cannot move (no mapping, a refusing transform, an active state mapped to
 * one that is not active) stays as it was.
 *
 * *report receives a new JSON object {definition, from, to, dry_run,
 * migrated, left, changed (instances that moved on while being migrated and
 * were left), remaining (instances of `from` beyond o->limit), instances:
 * [{id, status, from_state, to_state (null when left), outcome: "migrated"|"would
 * migrate"|"left"|"changed", reason, data: {before, after} (only when the transform changed it),
 * timers: {kept, voided, armed} (message types)}]}. A dry run writes nothing and reports "would
 * migrate". Returns STW_OK when the report is made (even if some instances were left), STW_EINVAL
 * when the versions or the instance id are not valid, STW_ENOTFOUND when `to` is not registered or
 * declares no migration from `from`, or when o->instance is not an instance of `from`.
 */
STW_API int stw_migrate(struct stw_engine *e, const char *definition,
			const struct stw_migrate_opts *o, json_t **report) STW_WUR;

/*
 * Lists what can be known of the registered definitions before they run, as
 * a new JSON array of {severity ("error" or "warning"), definition, version,
 * state, transition (the message type, or null), message (which ends with
 * "(version N)" when several versions of the definition are registered)}:
 * errors are commands to
 * contexts with no service and no remote (call it once every service and
 * remote is registered); warnings are debatable designs (an active state
 * whose transitions all stay in it, a transition from a terminal state).
 */
STW_API int stw_check(struct stw_engine *e, json_t **findings) STW_WUR;

/* ------------------------------------------------------------------------ */
/* Periodic processes                                                       */

/* The handle a periodic step uses while it runs. */
struct stw_periodic_ctx;

/*
 * A periodic step: every `every_ms` it looks at the world (reads contexts and
 * views through the engine) and sends commands. Return STW_OK to commit the
 * run; any other code rolls back its commands and the run is tried again on
 * the next round.
 */
typedef int (*stw_periodic_fn)(struct stw_periodic_ctx *pc, void *ud);

struct stw_periodic_def {
	const char *name; /* unique among definitions and periodic processes */
	int64_t every_ms; /* > 0: periods are [k * every_ms, (k + 1) * every_ms) of the clock */
	stw_periodic_fn run;
	void *ud; /* passed to run */
};

/*
 * Registers a periodic process (the pointer is kept, as for definitions).
 * Each round, when the clock has entered a period it has not run in, the
 * engine runs it once, in one transaction that also records the period: a
 * restart never runs it twice in the same period, and its commands are
 * written with the record.
 */
STW_API int stw_define_periodic(struct stw_engine *e, const struct stw_periodic_def *def) STW_WUR;

/* The engine (for reads: stw_read, stw_read_stream, ...) and the run's time. */
STW_API struct stw_engine *stw_periodic_engine(struct stw_periodic_ctx *pc);
STW_API int64_t stw_periodic_now(const struct stw_periodic_ctx *pc);
/* The number of the period being run: now / every_ms. */
STW_API int64_t stw_periodic_period(const struct stw_periodic_ctx *pc);

/*
 * Sends a command from a periodic run through the outbox. `data` is stolen.
 * `key` names what the command is about (a booking id): the command id is
 * derived from (name, key, type), so the same command about the same thing
 * is sent once even if several periods find it. `correlation_id` may be
 * NULL.
 */
STW_API int stw_periodic_send(struct stw_periodic_ctx *pc, const char *context, const char *type,
			      json_t *data, const char *key, const char *correlation_id) STW_WUR;

#endif /* STEWARD_DEFINITIONS_H */
