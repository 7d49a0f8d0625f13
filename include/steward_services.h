/*
 * steward_services.h - command handlers of contexts, in-process and remote, and
 * the commands they are given (stw_register_service, stw_register_remote, ...).
 * Part of the public API of libsteward: include <steward.h>, which includes
 * this file (the conventions at its top apply).
 */
#ifndef STEWARD_SERVICES_H
#define STEWARD_SERVICES_H

#ifndef STEWARD_H
#error "include <steward.h>, not this file"
#endif

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
 * `expected_version`. `data` is stolen (may be NULL for {}): the engine may
 * keep it as the event's data (the stream cache), so nothing changes it
 * after the call. The event's id is derived from the command id, its
 * correlation id is the command's, and its causation id is the command id.
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

#endif /* STEWARD_SERVICES_H */
