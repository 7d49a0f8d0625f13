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

/* ------------------------------------------------------------------------ */
/* Services: command handlers of contexts                                   */

/* A command as a service sees it. Everything is borrowed for the call. */
struct stw_command {
	const char *id; /* deterministic: the same command always has the same id */
	const char *context;
	const char *type;
	const char *correlation_id; /* may be NULL */
	const char *causation_id;   /* the input message that produced it; may be NULL */
	json_t *data;               /* a JSON object */
};

/* The handle a service handler uses to read and write its context. */
struct stw_service_ctx;

/*
 * A command handler. It reads streams and emits events through `sc`; all of
 * it commits in one transaction together with a record of the command id, so
 * a command delivered twice is applied once. Return STW_OK to commit, or
 * stw_reject() to refuse the command (nothing it emitted is kept; the refusal
 * is recorded). STW_EINVAL counts as a refusal too. STW_ENOMEM, STW_ESTORE and
 * STW_EBUSY abort the delivery, which is tried again later; any other code (say
 * STW_ECONFLICT from a stale emit) is recorded as the command's outcome.
 *
 * Inside a handler (and inside a periodic process's handler or a
 * definition's callbacks) the engine may be read (stw_read, stw_head,
 * stw_get_instance, the stw_list_* calls, ...), never written, run or
 * reconfigured: every such call (stw_append, stw_execute, stw_send,
 * stw_run_once, stw_retry, stw_acknowledge, stw_cancel, stw_set_cursor,
 * stw_retry_command, stw_begin, stw_define, ...) returns STW_ESTATE, since it
 * would commit or undo the work the handler is part of. Write through `sc`.
 */
typedef int (*stw_handler_fn)(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/*
 * Registers the in-process service of `context`. One per context and engine;
 * `ud` is passed to the handler and must outlive the engine.
 */
STW_API int stw_register_service(struct stw_engine *e, const char *context, stw_handler_fn fn,
				 void *ud) STW_WUR;

/*
 * The engine's clock (UTC milliseconds) as the handler runs: what a service
 * compares its deadlines with, so that a test's clock moves them too.
 */
STW_API int64_t stw_svc_now(const struct stw_service_ctx *sc);

/* Reads a stream of the service's context (including events emitted in this call). */
STW_API int stw_svc_read_stream(struct stw_service_ctx *sc, const char *stream, stw_event_fn fn,
				void *ud, int64_t *version) STW_WUR;

/*
 * Emits one event to a stream of the service's context, checked against
 * `expected_version`. `data` is stolen (may be NULL for {}). The event's id is
 * derived from the command id, its correlation id is the command's, and its
 * causation id is the command id.
 */
STW_API int stw_svc_emit(struct stw_service_ctx *sc, const char *stream, int64_t expected_version,
			 const char *type, json_t *data) STW_WUR;

/* Records why the command is refused and returns STW_EREJECTED. printf-style. */
STW_API int stw_reject(struct stw_service_ctx *sc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The engine behind a service context (to read other contexts, say). */
STW_API struct stw_engine *stw_svc_engine(struct stw_service_ctx *sc);

/*
 * Executes a command now against `context`'s service and returns its outcome:
 * STW_OK, STW_EREJECTED (the reason is in stw_errmsg()), or another failure.
 * `id` may be NULL (a random id is generated); a command whose id was already
 * handled is not applied again and returns the recorded outcome (without
 * writing anything). STW_ESTATE for a remote context (use stw_send).
 * `correlation_id` NULL means the command id (a command that starts a process
 * names it). `data` is borrowed (NULL: {}). When `id_out` is not NULL
 * it receives the command id (a buffer of at least STW_MAX_ID bytes).
 */
STW_API int stw_execute(struct stw_engine *e, const char *context, const char *type, json_t *data,
			const char *id, const char *correlation_id, char *id_out) STW_WUR;

/*
 * Group commit. Between stw_begin and stw_commit, the writes of stw_execute,
 * stw_send, stw_append and the operations of inspection share one
 * transaction and reach the disk with one sync at stw_commit. Each call
 * still answers its own outcome at once (a refused command undoes only
 * itself), but nothing is durable before stw_commit returns STW_OK: a host
 * that answers requests (an HTTP API, say) answers them after it. A failed
 * commit, stw_rollback or stw_close undoes them all. The write lock is taken
 * by the first write and held until the end, so keep the group short.
 * While a transaction is open, stw_run_once, stw_run_until_idle and
 * stw_deliver_remote return STW_ESTATE, and the observer hears of the calls
 * at the commit. STW_ESTATE for stw_begin inside a transaction or a handler,
 * and for stw_commit or stw_rollback without one.
 */
STW_API int stw_begin(struct stw_engine *e) STW_WUR;
STW_API int stw_commit(struct stw_engine *e) STW_WUR;
STW_API int stw_rollback(struct stw_engine *e) STW_WUR;

/*
 * Queues a command for delivery through the outbox instead of executing it
 * now (the way to send a command to a remote context; it works for
 * in-process services too). `id` as for stw_execute (NULL: random; a known
 * id is a no-op). `data` is borrowed (NULL: {}). STW_ENOTFOUND if the context
 * has neither a service nor a remote.
 */
STW_API int stw_send(struct stw_engine *e, const char *context, const char *type, json_t *data,
		     const char *id, const char *correlation_id, char *id_out) STW_WUR;

/* ------------------------------------------------------------------------ */
/* Remote services                                                          */

/*
 * One delivery attempt of a command to a remote service. The engine fills
 * `cmd` and `attempt`; the transport fills the rest.
 */
struct stw_delivery_attempt {
	const struct stw_command *cmd; /* borrowed for the call */
	int attempt;                   /* 1 for the first attempt */
	/*
	 * STW_OK: the service applied the command (or had applied it: services
	 * deduplicate by command id). STW_EREJECTED: the service refused it (a
	 * domain rule; not retried). STW_EUNAVAILABLE: it failed, could not be
	 * reached (a time-out, a 5xx) or could not judge the command because the
	 * remote is set up wrong (a wrong URL, a wrong token): tried again after
	 * a backoff, then parked until a person retries it.
	 */
	int outcome;
	/*
	 * STW_OK only: the events the service answered with (a new JSON array,
	 * or NULL), appended to the context's log with the delivery. Each is
	 * {"type", "stream", "data"?, "metadata"?, "id"?, "expected_version"?,
	 * "correlation_id"?}; a missing id is derived from the command id and
	 * the index, so an answer repeated after a redelivery is a no-op. A
	 * JSON string instead says why the answer is malformed: the command
	 * was applied but its answer cannot be stored, so it is parked.
	 */
	json_t *events;
	char error[512]; /* why it failed or was refused */
};

/*
 * Sends a batch of commands (to one remote context) and fills each
 * delivery's outcome. Called outside any transaction, on the thread that
 * runs the engine; it may take as long as its time-outs allow.
 */
typedef void (*stw_transport_fn)(struct stw_delivery_attempt *batch, size_t n, void *ud);

struct stw_remote_def {
	stw_transport_fn send;
	void *ud;               /* passed to send; must outlive the engine */
	int max_attempts;       /* attempts before the command is parked; 0: 8 */
	int64_t backoff_ms;     /* delay after the first failure, doubled each time; 0: 500 */
	int64_t backoff_max_ms; /* ceiling of the delay; 0: 60000 */
	int batch;              /* commands per call of send; 0: 32 */
};

/*
 * Declares `context` remote: its commands are delivered from the outbox by
 * `def->send`. A failed attempt is retried after an exponential backoff with
 * jitter; after max_attempts the command is parked (status "parked", with
 * the last error) until a person retries or skips it. One service or remote
 * per context.
 */
STW_API int stw_register_remote(struct stw_engine *e, const char *context,
				const struct stw_remote_def *def) STW_WUR;

/*
 * Delivers the due commands of every remote context (one batch each).
 * *delivered (if not NULL) counts the attempts made. stw_run_once calls it
 * unless the engine was opened with separate_remote_delivery.
 */
STW_API int stw_deliver_remote(struct stw_engine *e, int *delivered) STW_WUR;

/* When the next remote delivery attempt is due (UTC ms), or STW_ENOTFOUND. */
STW_API int stw_next_delivery(struct stw_engine *e, int64_t *due_ms) STW_WUR;

/*
 * Commands by status (a word of STW_COMMAND_STATUS_MAP; NULL: parked), newest first, as a new JSON
 * array of {id, context, type, correlation_id, causation_id, definition, instance_id, data, status,
 * error, attempts, next_attempt_at, created_at, delivered_at}.
 */
STW_API int stw_list_commands(struct stw_engine *e, const char *status, int limit,
			      json_t **out) STW_WUR;

/* One command by id, as an object of stw_list_commands, or STW_ENOTFOUND. */
STW_API int stw_get_command(struct stw_engine *e, const char *id, json_t **out) STW_WUR;

/*
 * A person's decision on a parked command: retry it now (it becomes pending
 * with its attempts reset) or skip it (status "skipped": never delivered).
 * Retry also takes a rejected command, which is delivered again under the
 * same id: an in-process service's recorded refusal is forgotten, so its
 * handler judges the command again (a refusal kept nothing, so nothing can be
 * applied twice); a remote service gets it as attempt 1 with the same
 * Idempotency-Key (one that keeps its refusals by that key refuses it
 * again). STW_ESTATE for any other status (skip: unless parked).
 */
STW_API int stw_retry_command(struct stw_engine *e, const char *id) STW_WUR;
STW_API int stw_skip_command(struct stw_engine *e, const char *id, const char *note) STW_WUR;

/*
 * Writes a new random id into buf (at least 37 bytes): a UUID v7, whose first
 * 48 bits are the Unix time in milliseconds, so ids made later sort after.
 */
STW_API void stw_new_id(char buf[37]);

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

/*
 * Lists what can be known of the registered definitions before they run, as
 * a new JSON array of {severity ("error" or "warning"), definition, state,
 * transition (the message type, or null), message}: errors are commands to
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
 * (a poison input event, set aside).
 */
#define STW_OUTCOME_MAP(XX)                                                                        \
	XX(APPLIED, "applied")                                                                     \
	XX(IGNORED, "ignored")                                                                     \
	XX(FAILED, "failed")                                                                       \
	XX(REJECTED, "rejected")                                                                   \
	XX(ACKNOWLEDGED, "acknowledged")                                                           \
	XX(CANCELLED, "cancelled")                                                                 \
	XX(RETRIED, "retried")                                                                     \
	XX(PARKED, "parked")

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
 * definition_version is the version of its definition that created it.
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
 * instances that are active or failed. STW_ENOTFOUND when no version of
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

#ifdef __cplusplus
}
#endif
#endif /* STEWARD_H */
