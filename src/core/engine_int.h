/*
 * engine_int.h - the engine handle and what the core modules share.
 */
#ifndef STW_ENGINE_INT_H
#define STW_ENGINE_INT_H

#include <steward.h>

#include "core/util.h"
#include "store/store.h"

/* Timers one transition may arm. */
#define STW__MAX_TIMERS 16

/* A registered in-process service. */
struct stw__service {
	char *context;
	stw_handler_fn fn;
	void *ud;
};

/* A remote context: its commands go out through a transport. */
struct stw__remote {
	char *context;
	struct stw_remote_def def; /* with the defaults filled in */
};

/* Per source of a definition: what the poison guard knows (see step.c). */
struct stw__guard {
	int started;           /* an attempt was counted at this engine's first batch */
	int64_t isolate_until; /* handle one event at a time while the cursor is below */
};

/* A registered definition with its tables resolved to indexes. */
struct stw__def {
	const struct stw_definition *d;
	int nstates; /* 0 for a stateless policy */
	int ntransitions;
	int *from;     /* per transition: state index, -1 for a trigger */
	int *to;       /* per transition: state index, -1 to stay */
	int ack_state; /* state index or -1 */
	int nsources;
	int ntimers;               /* timers armed by all transitions: 0 skips timer work */
	struct stw__guard *guards; /* one per source */
};

/* The instances of the batch being stepped (defined in step.c). */
struct stw__icache;

/* A registered periodic process. */
struct stw__periodic {
	const struct stw_periodic_def *d;
};

struct stw_engine {
	struct stw__store *store;
	struct stw_clock clock;
	stw_log_fn log;
	void *log_ud;
	stw_failpoint_fn failpoint;
	void *failpoint_ud;
	stw_observer_fn observer;
	void *observer_ud;
	int batch_size;
	struct stw__service *services;
	size_t nservices;
	struct stw__def *defs;
	size_t ndefs;
	struct stw__periodic *periodics;
	size_t nperiodics;
	struct stw__remote *remotes;
	size_t nremotes;
	int separate_remote;    /* stw_run_once leaves remote delivery to the host */
	int max_input_attempts; /* poison inputs: attempts before parking */
	uint64_t rng;           /* jitter of retry delays */
	struct stw_stats stats;
	struct stw__arena arena; /* batch-scoped memory, reset by each batch */
	int in_handler;          /* a service handler is running: no re-entry */
	char errmsg[1024];
	/* The running batch's instances (in the arena), or NULL. */
	struct stw__icache *icache;
	/*
	 * The transaction the engine's own transactions run inside of: none, the
	 * host's (stw_begin) or the round's (stw_run_once). Inside one, each
	 * step or delivery is a nested level, and what it reports to the
	 * observer waits in `held` for the outer commit.
	 */
	enum { STW__TXN_NONE, STW__TXN_USER, STW__TXN_ROUND } txn;
	int txn_units;       /* step and delivery transactions inside it, counted as one commit */
	int round_budget;    /* messages and commands the round's transaction may still take */
	int last_round_work; /* what the last round did: a large one is not one transaction */
	struct stw__held *held;
	size_t nheld, held_cap;
	struct stw__streams *streams; /* recently read streams, parsed (streams.c); NULL: off */
};

/* An observation held until the outer transaction commits (strings copied). */
struct stw__held {
	struct stw_activity a;
	int64_t started;
	char definition[STW_MAX_NAME];
	char context[STW_MAX_NAME];
	int64_t *lateness; /* malloc'ed copy of a.lateness_ms, or NULL */
};

/* Sets the engine's message (printf-style) and returns code. */
int stw__fail(struct stw_engine *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Sets the message to "what: <store message>" and returns code. */
int stw__store_fail(struct stw_engine *e, int code, const char *what);

/* The current time in UTC milliseconds from the engine's clock. */
int64_t stw__now(struct stw_engine *e);

/* Calls the failpoint hook, if any, with a boundary name. */
void stw__failpoint(struct stw_engine *e, const char *name);

/* Microseconds of the monotonic clock, for measuring durations. */
int64_t stw__mono_us(void);

/* Reports a commit to the observer, if any; started is stw__mono_us() at the start. */
void stw__observe(struct stw_engine *e, enum stw_activity_kind kind, const char *definition,
		  const char *context, int count, int stateful, int64_t started);

/* Reports `a` (duration_us filled here) now, or at the outer commit inside one. */
void stw__report(struct stw_engine *e, struct stw_activity *a, int64_t started);

/* The most a batch may take now: batch_size, or less inside a round's transaction. */
int stw__batch_cap(const struct stw_engine *e);

/* Counts a committed step or delivery transaction (once per outer transaction). */
void stw__count_commit(struct stw_engine *e);

/*
 * Makes what the current transaction wrote durable before going on (an
 * at-most-once cursor, an attempt count): inside an outer transaction that
 * commits it too.
 */
int stw__durable(struct stw_engine *e);

/* Logs through the host's callback (printf-style). */
void stw__log(struct stw_engine *e, enum stw_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The registered definition named `name`, or NULL. */
const struct stw__def *stw__find_def(const struct stw_engine *e, const char *name);
/* The service of `context`, or NULL. */
const struct stw__service *stw__find_service(const struct stw_engine *e, const char *context);
/* The remote of `context`, or NULL. */
const struct stw__remote *stw__find_remote(const struct stw_engine *e, const char *context);
/* An outbox row as the JSON object of stw_list_commands (NULL when out of memory). */
json_t *stw__outbox_json(const struct stw__outbox_row *r);

/* A JSON array being filled by a store callback; oom is set when it could not grow. */
struct stw__json_list {
	json_t *arr;
	int oom;
};

/* Appends stw__outbox_json(row) to the struct stw__json_list in ud. */
int stw__outbox_list_cb(const struct stw__outbox_row *row, void *ud);

/*
 * Copies an outbox row (seq, attempts and its strings) into the arena; -1
 * when out of memory.
 */
int stw__outbox_row_copy(struct stw__arena *a, struct stw__outbox_row *dst,
			 const struct stw__outbox_row *src);
/* 1 for the kinds of state in which a failed instance follows the table
 * (a designed failure path): STW_STATE_FAILURE and STW_STATE_MANUAL. */
static inline int stw__failure_kind(enum stw_state_kind k)
{
	return k == STW_STATE_FAILURE || k == STW_STATE_MANUAL;
}

/* 1 if a failed or active instance in state `state` can still take messages. */
int stw__live(const struct stw__def *def, const char *status, int state);

/* Index of a state by name in a definition, or -1. */
int stw__state_index(const struct stw__def *def, const char *name);

/*
 * Appends events inside the caller's transaction (see stw_append for the
 * rules). The caller begins and commits.
 */
int stw__append_in_txn(struct stw_engine *e, const char *context, int64_t expected_version,
		       const struct stw_event *events, size_t n, int64_t *positions);

/*
 * Fills ev from a stored row, parsing data and metadata (new references the
 * caller releases with stw__event_release). STW_ESTORE if stored JSON is bad.
 */
int stw__event_from_row(struct stw_engine *e, const struct stw__event_row *row,
			struct stw_event *ev);
void stw__event_release(struct stw_event *ev);

/* Hands stored rows to a public callback, parsing their JSON (stw__read_cb's ud). */
struct stw__read_ctx {
	struct stw_engine *e;
	stw_event_fn fn; /* may be NULL */
	void *ud;
	int count;            /* rows handed */
	int64_t last_version; /* stream version of the last one */
	int stopped;          /* fn asked to stop */
	int rc;               /* STW_OK, or why the last row could not be handed */
};
int stw__read_cb(const struct stw__event_row *row, void *ud);

/* Reads a stream through the public callback (stw_read_stream, stw_svc_read_stream). */
int stw__read_stream(struct stw_engine *e, const char *context, const char *stream, stw_event_fn fn,
		     void *ud, int64_t *version);

/* The cache of stw__read_stream, holding up to `budget` bytes of event text (0: none). */
struct stw__streams;
int stw__streams_open(struct stw__streams **out, size_t budget);
void stw__streams_close(struct stw__streams *c);
/* Adds an event just appended (row complete with position and version) to its cached stream. */
void stw__streams_appended(struct stw_engine *e, const struct stw__event_row *row);

/* Steps one batch of (definition, context); *handled counts messages handled. */
int stw__step_batch(struct stw_engine *e, const struct stw__def *def, const char *context,
		    int *handled);

/* Fires the due timers of one definition (one transaction per batch); *fired counts them. */
int stw__fire_timers(struct stw_engine *e, const struct stw__def *def, int *fired);

/* Runs a periodic process if its period came; *ran is 1 if it ran. */
int stw__run_periodic(struct stw_engine *e, const struct stw__periodic *p, int *ran);

/* Retries a failed instance from state index `state` (see stw_retry). */
int stw__retry(struct stw_engine *e, const struct stw__def *def, const char *id, int state,
	       const char *note);

/* Delivers pending commands to in-process services; *delivered counts them. */
int stw__dispatch(struct stw_engine *e, int *delivered);

#endif /* STW_ENGINE_INT_H */
