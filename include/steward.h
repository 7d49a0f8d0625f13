/*
 * steward.h - the public API of libsteward, a durable process manager engine.
 *
 * Vocabulary (see README.md and docs/ARCHITECTURE.md):
 *   context     a bounded context (Billing, Reports) with an append-only event log;
 *               every event gets the next position in its context (1, 2, 3, ...).
 *   stream      the events of one aggregate inside a context, versioned 1, 2, 3, ...
 *   service     the command handler of a context (a C callback here).
 *   definition  a process manager: source contexts, states, transitions.
 *   instance    one run of a definition, identified by its correlation id.
 *   cursor      per (definition, source context), the last position handled.
 *   outbox      commands produced by steps, waiting for delivery.
 *
 * Conventions: functions return STW_OK (0) or a negative STW_E* code; details of
 * the last failure are in stw_errmsg(). Strings passed in are copied unless a
 * comment says otherwise. JSON values are jansson's json_t; "borrowed" means the
 * callee does not take a reference, "new" means the caller must json_decref().
 *
 * Thread safety: an engine handle is used by one thread at a time. Several
 * engines (threads or processes) may open the same store; the store serialises
 * writers, in their order of arrival for the engines of a process that share
 * a write gate (stw_write_gate_new).
 */
#ifndef STEWARD_H
#define STEWARD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(STW_BUILDING) && defined(__GNUC__)
#define STW_API __attribute__((visibility("default")))
#else
#define STW_API
#endif

#if defined(__GNUC__)
#define STW_WUR __attribute__((warn_unused_result))
#else
#define STW_WUR
#endif

#define STW_VERSION_MAJOR  0
#define STW_VERSION_MINOR  1
#define STW_VERSION_PATCH  0
#define STW_VERSION_STRING "0.1.0"

/*
 * Error codes, as one table: STW_ERRNO_MAP(XX) expands XX(name, value, text)
 * once per error, STW_<name> being `value` and stw_strerror() returning
 * `text`. STW_OK is 0 and is not in the table. Code that must cover every
 * error (the HTTP status of each, the tests) expands the table, so a new code
 * cannot be left out.
 *
 *   STW_EINVAL        an argument is malformed or out of range
 *   STW_ENOMEM        out of memory
 *   STW_ECONFLICT     a stale expected version (stream or instance), or an
 *                     event id stored already with other content
 *   STW_ENOTFOUND     no such instance, definition, context, command or service
 *   STW_ESTORE        the store failed (I/O, corruption)
 *   STW_ESTATE        the operation does not fit the current state, or is
 *                     called from inside a handler or callback of the engine
 *   STW_EREJECTED     a service refused a command (a domain rule)
 *   STW_EEXIST        already registered or defined
 *   STW_EAMBIGUOUS    an instance id matches several definitions
 *   STW_EUNAVAILABLE  a remote service failed or could not be reached: try later
 *   STW_EBUSY         the store is busy: another connection held its write lock
 *                     past the wait, or (PostgreSQL) the connection was lost or the
 *                     server cannot be reached; nothing was done, try again
 */
#define STW_ERRNO_MAP(XX)                                                                          \
	XX(EINVAL, -1, "invalid argument")                                                         \
	XX(ENOMEM, -2, "out of memory")                                                            \
	XX(ECONFLICT, -3, "conflict")                                                              \
	XX(ENOTFOUND, -4, "not found")                                                             \
	XX(ESTORE, -5, "store failure")                                                            \
	XX(ESTATE, -6, "wrong state")                                                              \
	XX(EREJECTED, -7, "rejected")                                                              \
	XX(EEXIST, -8, "already exists")                                                           \
	XX(EAMBIGUOUS, -9, "ambiguous id")                                                         \
	XX(EUNAVAILABLE, -10, "unavailable, try later")                                            \
	XX(EBUSY, -11, "busy, try again")

/* Error codes (see STW_ERRNO_MAP). */
enum stw_error {
	STW_OK = 0,
#define STW__ERRNO_ENUM(name, value, text) STW_##name = (value),
	STW_ERRNO_MAP(STW__ERRNO_ENUM)
#undef STW__ERRNO_ENUM
};

/* Returns a static, human-readable name for an error code. */
STW_API const char *stw_strerror(int code);

/* Returns the version string of the library, e.g. "0.1.0". */
STW_API const char *stw_version(void);

/* Limits on values fed from outside. */
#define STW_MAX_NAME   128       /* context, type, definition and state names */
#define STW_MAX_ID     256       /* event, command, stream, instance and key ids */
#define STW_MAX_JSON   (1 << 20) /* serialised data or metadata of one message */
#define STW_MAX_NOTE   1000      /* bytes of a person's note (acknowledge, cancel, retry, skip) */
#define STW_MAX_LIST   10000     /* rows a list call returns at most (its limit) */
#define STW_MAX_APPEND 10000     /* events of one stw_append or stw_append_batch call */

/* Expected stream versions for stw_append(). Versions start at 1. */
#define STW_ANY_VERSION (-1) /* no check */
#define STW_NO_STREAM   0    /* the stream must not exist yet */

/* ------------------------------------------------------------------------ */
/* Engine                                                                   */

struct stw_engine;

/* A source of wall-clock time in UTC milliseconds. Tests pass a fake one. */
struct stw_clock {
	int64_t (*now_ms)(void *ud);
	void *ud;
};

enum stw_log_level { STW_LOG_ERROR, STW_LOG_WARN, STW_LOG_INFO, STW_LOG_DEBUG };

/* The library never prints; it hands log lines to this callback. */
typedef void (*stw_log_fn)(enum stw_log_level level, const char *msg, void *ud);

/*
 * Called at each named durable boundary (see docs/ARCHITECTURE.md for the
 * list). Tests use it to crash the process at a chosen point; production
 * leaves it NULL.
 */
typedef void (*stw_failpoint_fn)(const char *name, void *ud);

/* What the engine just committed, reported to an observer. */
enum stw_activity_kind {
	STW_ACTIVITY_STEP,     /* a step transaction of one definition and source context */
	STW_ACTIVITY_DELIVERY, /* a batch of commands delivered to one service */
	STW_ACTIVITY_COMMAND,  /* a command executed with stw_execute */
	STW_ACTIVITY_ACK,      /* an instance acknowledged */
	STW_ACTIVITY_APPEND,   /* events appended with stw_append */
	STW_ACTIVITY_TIMERS,   /* due timers fired (or found void) in one transaction */
	STW_ACTIVITY_PERIODIC, /* a periodic process ran (count: commands it sent) */
};

struct stw_activity {
	enum stw_activity_kind kind;
	const char *definition;     /* STEP, ACK; else NULL */
	const char *context;        /* STEP: the source; DELIVERY, COMMAND, APPEND: the target */
	int count;                  /* events read, commands delivered, events appended */
	int stateful;               /* STEP: 1 if the definition has states (not a policy) */
	int64_t duration_us;        /* time spent, transaction included (monotonic clock) */
	const int64_t *lateness_ms; /* TIMERS: per fired timer, now - due (count entries) */
};

/*
 * Called after each commit, outside any transaction, on the thread that runs
 * the engine. It may sleep (a demo slows down this way) but must not call the
 * engine that reports to it.
 */
typedef void (*stw_observer_fn)(const struct stw_activity *a, void *ud);

struct stw_options {
	const struct stw_clock *clock; /* NULL: the system clock; copied */
	stw_log_fn log;                /* NULL: no logging */
	void *log_ud;
	stw_failpoint_fn failpoint; /* NULL: none */
	void *failpoint_ud;
	int batch_size;           /* events per step transaction; 0: default (1024) */
	int synchronous;          /* SQLite: 2 FULL (default), 1 NORMAL, 0 OFF; -1: default */
	int read_only;            /* open an existing store for inspection only; writes fail */
	stw_observer_fn observer; /* NULL: none */
	void *observer_ud;
	/* 1: stw_run_once leaves remote contexts alone; the host calls
	 * stw_deliver_remote on its own thread (and engine) so that a slow service
	 * never holds up the steps. 0 (default): stw_run_once delivers them too. */
	int separate_remote_delivery;
	/* What becomes of a command to a context that has neither a service nor
	 * a remote on this engine. 0 (default): stw_run_once parks it, with the
	 * reason "no service or remote for context X", so that a context left
	 * out (a remote missing from the configuration, a misspelt name) shows
	 * at once instead of a command waiting forever; once the context is
	 * served, a person retries it (stw_retry_command). 1: another engine on
	 * the same store delivers it (this one runs only some processes, or
	 * reads and operates): it waits in the outbox, pending. */
	int delivered_elsewhere;
	/* 1: every command stays in the outbox, pending: no in-process service
	 * or remote is called and none is parked. For an engine that replays
	 * recorded inputs on a scratch store (steward replay) and must not act. */
	int hold_commands;
	/* Attempts at an input event before it is parked (see "Poison messages" in
	 * docs/ARCHITECTURE.md); 0: default (3). */
	int max_input_attempts;
	/* 1: the thread that commits also checkpoints the WAL, as SQLite does by
	 * default. 0 (default): a background thread of the engine, with its own
	 * connection, does it, so that steps never wait for a checkpoint. */
	int inline_checkpoint;
	/* Kilobytes of event text of the streams read last that stw_read_stream
	 * and stw_svc_read_stream keep parsed, so that folding an aggregate
	 * again parses only its new events (parsed, events take about five times
	 * their text: the default 2 MiB, full, about 10 MB of memory); 0: default
	 * (2048), -1: no cache. */
	int stream_cache_kb;
	/* Kilobytes of SQLite's page cache for the engine's connection; 0:
	 * default (16384), -1: SQLite's own default (2 MiB). Pages not in it are
	 * read from the file system at each use. */
	int page_cache_kb;
	/* The write gate this engine shares with the other engines of the
	 * process on the same store (stw_write_gate_new); borrowed, it must
	 * outlive the engine. NULL (default): none, SQLite's busy handler
	 * arbitrates alone. A PostgreSQL store, whose writers do not wait on
	 * one lock, ignores it. */
	struct stw_write_gate *write_gate;
	/* The worker's membership of a cluster (steward_cluster.h); borrowed,
	 * it must outlive the engine. The engine then steps, fires timers,
	 * delivers and runs periodic processes only for what the worker holds,
	 * and fences each of its transactions. NULL (default): the engine is
	 * alone, or shares the store without partitions. */
	struct stw_cluster *cluster;
};

/*
 * A write gate: one queue for the write lock of a store, shared by the
 * engines of one process that open it (a daemon's worker and its API, say;
 * pass it in stw_options.write_gate). SQLite lets one connection write at a
 * time and makes the others sleep and retry, in no order: an engine that
 * writes again and again can starve another until that one's wait runs
 * out. Behind a gate the engines take turns in the order they asked, each
 * handing the lock straight to the next, and an engine that holds it for
 * long work (a round, a batch) lets it go early, between two messages or
 * commands, when another waits. An engine whose turn does not come within
 * wait_ms fails with STW_EBUSY, having done nothing. Other processes still
 * meet SQLite's busy timeout. Thread-safe; free it after every engine using
 * it is closed.
 */
struct stw_write_gate;

/* Creates a gate whose waiters give up after wait_ms (>= 0). STW_EINVAL, STW_ENOMEM. */
STW_API int stw_write_gate_new(int64_t wait_ms, struct stw_write_gate **out) STW_WUR;

/* Frees a gate no engine uses any more. Accepts NULL. */
STW_API void stw_write_gate_free(struct stw_write_gate *g);

/*
 * Opens an engine on a store, named by a URL: a path to an SQLite database
 * file (created if missing), or "sqlite:PATH" with optionally
 * "?synchronous=off|normal|full" (which takes the place of
 * opts->synchronous); or "postgres://..." / "postgresql://..." (a libpq
 * connection URI: the password from the URI, PGPASSWORD or PGPASSFILE; the
 * tables are made in, and found through, its search path, so
 * "?options=-csearch_path%3DNAME" keeps a store in schema NAME). Any other
 * "scheme://" is STW_EINVAL. `opts` may be
 * NULL. On success *out owns the engine; release it with stw_close(). On
 * failure *out is NULL and the code says why; the log line names the store
 * without a password.
 *
 * ":memory:" (or "sqlite::memory:") opens an in-memory SQLite database
 * instead, for tests and trials: everything works as on a file (appends,
 * reads, rounds, delivery), but nothing is durable. Each such open has a
 * database of its own, which no other engine handle can open and which
 * stw_close() discards. With read_only it fails with STW_ENOTFOUND (an
 * empty database is not a steward store).
 */
STW_API int stw_open(const char *store, const struct stw_options *opts,
		     struct stw_engine **out) STW_WUR;

/*
 * Writes `store` (a store URL or path, as stw_open takes it) into buf (cap
 * bytes) as it may be shown in logs and messages: a password in it, in the
 * user part of a URL or as a password= parameter, replaced by "***".
 * Truncated to fit; buf is terminated whenever cap > 0.
 */
STW_API void stw_store_shown(const char *store, char *buf, size_t cap);

/* Closes the engine and its store. Accepts NULL. */
STW_API void stw_close(struct stw_engine *e);

/* The message of the engine's last failure; valid until the next call. */
STW_API const char *stw_errmsg(const struct stw_engine *e);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/*
 * An event. On input to stw_append() the caller fills id (NULL: generated),
 * type, stream, and optionally correlation_id, causation_id, data and
 * metadata (NULL: {}); position, stream_version and recorded_at are set by the
 * store. In callbacks every field is set and everything is borrowed: valid
 * only during the callback. data and metadata are read-only there: a stream
 * read hands the same parsed objects to every fold of that stream (see
 * stw_options.stream_cache_kb); copy them (json_deep_copy) to change them.
 */
struct stw_event {
	const char *context;
	int64_t position;
	const char *id;
	const char *type;
	const char *stream;
	int64_t stream_version;
	const char *correlation_id; /* may be NULL */
	const char *causation_id;   /* may be NULL */
	json_t *data;               /* a JSON object */
	json_t *metadata;           /* a JSON object */
	int64_t recorded_at;        /* UTC milliseconds */
};

/*
 * Appends `n` events to `context`'s log in one transaction. All events of one
 * call must belong to the same stream. `expected_version` is the version the
 * caller believes the stream has (STW_NO_STREAM, a version, or
 * STW_ANY_VERSION); a stale one fails with STW_ECONFLICT and stores nothing.
 * Event ids are unique across all contexts. An event whose id is already
 * stored with the same content (context, stream, type, data and metadata,
 * compared as JSON values) is a repeat and is skipped (idempotent append); a
 * call whose events are all stored already succeeds without checking the
 * version. The same id with other content fails the call with STW_ECONFLICT
 * naming the id, and nothing is stored. If `positions` is not NULL it
 * receives each event's position (that of the stored copy for a skipped
 * one). `events`, their strings, data and metadata are borrowed for the
 * call: the engine keeps no reference, and the caller still releases the
 * data it made (unlike stw_svc_emit, which steals its data).
 */
STW_API int stw_append(struct stw_engine *e, const char *context, int64_t expected_version,
		       const struct stw_event *events, size_t n, int64_t *positions) STW_WUR;

/* Called for each event read; return non-zero to stop early. */
typedef int (*stw_event_fn)(const struct stw_event *ev, void *ud);

/*
 * Reads up to `limit` events of `context` with position > `after`, in order,
 * and calls `fn` for each. *count (if not NULL) receives the number read.
 */
STW_API int stw_read(struct stw_engine *e, const char *context, int64_t after, int limit,
		     stw_event_fn fn, void *ud, int *count) STW_WUR;

/*
 * Reads the stored event with this id (ids are unique across contexts) and
 * calls fn with it; STW_ENOTFOUND when there is none.
 */
STW_API int stw_get_event(struct stw_engine *e, const char *id, stw_event_fn fn, void *ud) STW_WUR;

/* Reads every event of one stream in order. *version receives its version (0: none). */
STW_API int stw_read_stream(struct stw_engine *e, const char *context, const char *stream,
			    stw_event_fn fn, void *ud, int64_t *version) STW_WUR;

/* The position of the last event of `context` (0 when empty). */
STW_API int stw_head(struct stw_engine *e, const char *context, int64_t *position) STW_WUR;

/* The version of one stream (0 when it has no events). */
STW_API int stw_stream_version(struct stw_engine *e, const char *context, const char *stream,
			       int64_t *version) STW_WUR;

/* One stream's part of stw_append_batch: events appended after a version check. */
struct stw_append_group {
	int64_t expected_version; /* as for stw_append */
	const struct stw_event *events;
	size_t n;
};

/*
 * Appends groups of events, possibly of several streams of one context, in
 * one transaction: all are stored or none. Each group follows the rules of
 * stw_append (its events share a stream; repeats of stored events are skipped
 * and stored ids with other content refused; its
 * expected version is checked against the stream as the earlier groups left
 * it). On failure *failed (if not NULL) receives the index of the group at
 * fault, or -1 when no group is. `positions`, when not NULL, receives the
 * position of every event, groups in order.
 */
STW_API int stw_append_batch(struct stw_engine *e, const char *context,
			     const struct stw_append_group *groups, size_t ngroups,
			     int64_t *positions, long *failed) STW_WUR;

/*
 * The event as a new JSON object {position, id, type, stream, stream_version,
 * correlation_id, causation_id, data, metadata, recorded_at} (the shape of
 * docs/API.md), or NULL when out of memory.
 */
STW_API json_t *stw_event_json(const struct stw_event *ev);

/* Returns a borrowed string field of an event's data, or NULL. */
STW_API const char *stw_event_str(const struct stw_event *ev, const char *field);

#include <steward_services.h>
#include <steward_definitions.h>

/* ------------------------------------------------------------------------ */
/* Running                                                                  */

/*
 * Runs one round of work: runs the periodic processes whose period came,
 * fires the timers that are due (one batch per definition), steps every
 * definition over its source contexts (one batch each), in the order the
 * definitions were registered and their sources listed, then delivers
 * pending commands to in-process services, each service's commands in the
 * order they were written. While the deliveries did something (the events
 * in-process services appended are the steps' next input), the steps and
 * deliveries run again, up to 8 passes, so a process whose services are in
 * process goes through several hops in one round. Then the pending commands
 * of contexts with neither a service nor a remote here are parked (see
 * stw_options.delivered_elsewhere). A round is one transaction, committed
 * with one sync, while small: its batches share a sixteenth of batch_size,
 * then the batches left commit on their own, and a round after a large one
 * runs that way from the start. Each batch is a nested level of the round's
 * transaction, so a batch that fails or conflicts undoes only itself. Remote
 * services are called after the commit, outside it. *did_work (if not NULL)
 * receives the number of messages handled and commands delivered or parked.
 */
STW_API int stw_run_once(struct stw_engine *e, int *did_work) STW_WUR;

/*
 * Runs rounds until one does no work. Timers not yet due do not count as
 * work: with a virtual clock, move the clock and call it again.
 */
STW_API int stw_run_until_idle(struct stw_engine *e) STW_WUR;

/*
 * The time (UTC milliseconds, the engine's clock) the next pending timer
 * falls due, from an index (no scan), or STW_ENOTFOUND when none is pending.
 * A worker sleeps until then (or until woken).
 */
STW_API int stw_next_timer(struct stw_engine *e, int64_t *due_ms) STW_WUR;

/*
 * Counters since the engine was opened, of committed work: what a transaction
 * that failed to commit or was rolled back counted is taken back (but for the
 * streams read and the calls to remote services, made all the same).
 */
struct stw_stats {
	uint64_t steps;                /* messages applied to instances */
	uint64_t duplicates;           /* messages already handled, ignored */
	uint64_t failures;             /* instances that went to failed status */
	uint64_t rejected;             /* triggers refused by a uniqueness key */
	uint64_t unrouted;             /* messages with no instance, recorded */
	uint64_t commands_delivered;   /* outbox rows delivered (duplicates included) */
	uint64_t commands_rejected;    /* ... of which the service refused */
	uint64_t duplicate_deliveries; /* deliveries recognised by the dedup table */
	uint64_t transactions;         /* transactions committed by rounds and deliveries */
	uint64_t timers_armed;         /* timers written by transitions */
	uint64_t timers_fired;         /* timers delivered to their instance */
	uint64_t timers_ignored;       /* timers that fell due after their state was left */
	uint64_t periodic_runs;        /* periodic process runs committed */
	uint64_t remote_attempts;      /* delivery attempts to remote services */
	uint64_t remote_failures;      /* ... that failed (retried later or parked) */
	uint64_t commands_parked;      /* ... parked: after their last attempt, or unserved */
	uint64_t inputs_parked;        /* input events parked as poison */
	uint64_t stream_reads;         /* stw_read_stream and stw_svc_read_stream calls */
	uint64_t
	    stream_events_parsed; /* ... events parsed for them (not found parsed in the cache) */
	uint64_t
	    stream_store_reads; /* ... reads that asked the store (the rest: the cache alone) */
	/* The write gate (stw_options.write_gate): turns this engine took, and the
	 * microseconds it waited for them and held them (until its transaction ended). */
	uint64_t gate_turns;
	uint64_t gate_wait_us;
	uint64_t gate_held_us;
};

STW_API void stw_get_stats(const struct stw_engine *e, struct stw_stats *out);

/*
 * How the engine's connection to its store fares, as its operations found
 * it. A PostgreSQL store whose server restarts or whose connection drops
 * fails the operation that finds it so (STW_EBUSY; a commit STW_ESTORE, as
 * it may have committed), and the next operation outside a transaction
 * connects again, at most once per backoff of 100 ms doubling to 5 s.
 * An SQLite store has no connection to lose: always up.
 */
struct stw_store_status {
	int up;              /* 1 unless the connection was found lost and not made again */
	int64_t down_ms;     /* how long it has been lost (0 when up) */
	uint64_t losses;     /* connections found lost since the engine opened */
	uint64_t reconnects; /* connections made again */
	char why[256];       /* the reason of the last loss or failed attempt ("" if none) */
};

STW_API void stw_store_status(const struct stw_engine *e, struct stw_store_status *out);

#include <steward_inspect.h>
#include <steward_cluster.h>

#ifdef __cplusplus
}
#endif
#endif /* STEWARD_H */
