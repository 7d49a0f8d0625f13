/*
 * engine_int.h - the engine handle, and the base every core module uses:
 * error messages (errors.c), the host's hooks (host.c), the entry check of
 * public calls (entry.c) and the registries of the handle (engine.c).
 *
 * The core's modules and what they call, from the bottom up (no module calls
 * one above it; scripts/check-layers.sh checks it):
 *
 *   util.c status.c gate.c           leaves: arena, ids, hashing; status words; write gate
 *   errors.c host.c entry.c          messages, clock/log/failpoints, entry check
 *   event_row.c definition.c         stored events as values; definitions
 *   stage.c                          instance writes staged until the round commits
 *   txn.c streams.c                  the round's transaction; the stream cache
 *   engine.c                         the handle: open, close, registries
 *   events.c machine.c outbox.c      the logs; the transition table; the outbox
 *   instance.c                       instances of a batch: load, cache, save, history
 *   apply.c                          one message applied to one instance
 *   rejected.c                       a rejected command told to its instance
 *   step.c timers.c dispatch.c       event batches; timer batches; in-process delivery
 *   remote.c periodic.c operate.c    remote delivery; periodic processes; a person's acts
 *   migrate.c                        live instances moved to a later version
 *   round.c inspect.c                the run loop; read-only views
 *   retention.c                      ended instances and old dedup records deleted
 */
#ifndef STW_ENGINE_INT_H
#define STW_ENGINE_INT_H

#include <steward.h>

#include "core/status.h"
#include "core/util.h"
#include "store/store.h"

/* Levels of nested transactions whose counters are kept (see txn.c); deeper ones are not undone. */
#define STW__TXN_LEVELS 8

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

/* A registered definition with its tables resolved (definition.h). */
struct stw__def;

/* The instances of the batch being stepped (instance.c). */
struct stw__icache;

/* The instance writes staged in a round's transaction (stage.c). */
struct stw__stage;

/* A registered periodic process. */
struct stw__periodic {
	const struct stw_periodic_def *d;
};

/* An observation held until the outer transaction commits (txn.c; strings copied). */
struct stw__held {
	struct stw_activity a;
	int64_t started;
	char definition[STW_MAX_NAME];
	char context[STW_MAX_NAME];
	int64_t *lateness; /* malloc'ed copy of a.lateness_ms, or NULL */
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
	int separate_remote;     /* stw_run_once leaves remote delivery to the host */
	int delivered_elsewhere; /* unserved contexts' commands wait for another engine */
	int hold_commands;       /* no command is delivered or parked (stw_options.hold_commands) */
	int max_input_attempts;  /* poison inputs: attempts before parking */
	uint64_t rng;            /* jitter of retry delays */
	struct stw_stats stats;
	/*
	 * Batch-scoped memory. A batch takes a mark when it starts and rewinds
	 * to it when it ends (stw__arena_mark), so it never frees what a batch
	 * below it still holds.
	 */
	struct stw__arena arena;
	int in_handler; /* a handler or callback is running: see entry.c */
	char errmsg[1024];
	/* The running batch's instances (in the arena), or NULL. */
	struct stw__icache *icache;
	/* The instances a round's transaction changed, written at its commit (stage.c); NULL: none
	 * yet. */
	struct stw__stage *stage;
	/*
	 * The transaction the engine's own transactions run inside of: none, the
	 * host's (stw_begin) or the round's (stw_run_once). See txn.c.
	 */
	enum { STW__TXN_NONE, STW__TXN_USER, STW__TXN_ROUND } txn;
	int txn_depth;       /* levels open: 0 none, 1 the store's transaction, more: savepoints */
	int txn_lazy;        /* an outer transaction is wanted and no level has opened it yet */
	int txn_flat;        /* the level at depth 2 opened the outer transaction: no savepoint */
	int txn_savepoint;   /* a handler's savepoint is held (stw__savepoint) */
	int txn_savepoints;  /* savepoints opened in the store's transaction (max_savepoints) */
	int txn_units;       /* step and delivery transactions inside it, counted as one commit */
	int round_budget;    /* messages and commands the round's transaction may still take */
	int last_round_work; /* what the last round did: a large one is not one transaction */
	/*
	 * The counters when each open level began (index: its depth - 1), put
	 * back when the level is undone: stats count stored work only (txn.c).
	 */
	struct stw_stats txn_stats[STW__TXN_LEVELS];
	struct stw__held *held;
	size_t nheld, held_cap;
	struct stw_write_gate *gate; /* shared with the process's other engines; NULL: none */
	/* Cluster mode: the worker's fence (its membership's, cluster.c); NULL: none. */
	struct stw__fence *fence;
	/* During a step's transaction in cluster mode, the cursor of each
	 * partition (-1: not held), by partition; NULL otherwise (step.c). */
	int64_t *part_pos;
	int gate_held;                /* this engine holds the gate (txn.c) */
	int gate_keep;                /* hold it while a transaction is reopened (stw__durable) */
	int64_t gate_since;           /* monotonic us the gate was last granted (txn.c) */
	int gate_refused;             /* the last stw__begin timed out at the gate */
	struct stw__streams *streams; /* recently read streams, parsed (streams.c); NULL: off */
	/* Where a retention pass that stw_prune's max_ms stopped goes on (retention.c). */
	struct {
		int phase;                 /* 0 ended instances, 1 dedup records, 2 commands */
		size_t def;                /* the index in defs whose ended instances are next */
		struct stw__dedup_key key; /* the dedup sweep's next key */
		int64_t seq;               /* the commands' sweep goes on after this outbox seq */
		int size[3];               /* a transaction takes now, per phase; 0: not begun */
	} prune;
};

/* errors.c ----------------------------------------------------------------- */

/* Sets the engine's message (printf-style) and returns code. */
int stw__fail(struct stw_engine *e, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Sets the message to "what: <store message>" and returns code. */
int stw__store_fail(struct stw_engine *e, int code, const char *what);

/* host.c ------------------------------------------------------------------- */

/* The system's UTC clock in milliseconds: the clock when the host gives none. */
int64_t stw__system_now_ms(void *ud);

/* The current time in UTC milliseconds from the engine's clock. */
int64_t stw__now(struct stw_engine *e);

/* Microseconds of the monotonic clock, for measuring durations. */
int64_t stw__mono_us(void);

/* Calls the failpoint hook, if any, with a boundary name. */
void stw__failpoint(struct stw_engine *e, const char *name);

/* Logs through the host's callback (printf-style). */
void stw__log(struct stw_engine *e, enum stw_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* entry.c ------------------------------------------------------------------ */

/* What a public call does, for the entry check. */
enum stw__call {
	STW__CALL_READ,  /* reads only: allowed from inside a handler or callback */
	STW__CALL_WRITE, /* writes, runs or reconfigures the engine: refused there */
};

/*
 * The check at the entry of a public call: STW_EINVAL without an engine,
 * STW_ESTATE (with a message naming `call`) for a call that is not a read
 * from inside a handler or callback, else STW_OK.
 */
int stw__enter(struct stw_engine *e, enum stw__call kind, const char *call);

/* Returns from the calling public function unless stw__enter allows the call. */
#define STW__ENTER(e, kind)                                                                        \
	do {                                                                                       \
		int stw__entered_ = stw__enter((e), (kind), __func__);                             \
		if (stw__entered_ != STW_OK)                                                       \
			return stw__entered_;                                                      \
	} while (0)

/* engine.c ----------------------------------------------------------------- */

/* The service of `context`, or NULL. */
const struct stw__service *stw__find_service(const struct stw_engine *e, const char *context);
/* The remote of `context`, or NULL. */
const struct stw__remote *stw__find_remote(const struct stw_engine *e, const char *context);

/* The fence of a membership (cluster.c). */
struct stw__fence *stw__cluster_fence(struct stw_cluster *c);

/*
 * Cluster mode (cluster.c): whether the engine holds a partition (-1: the
 * periodic singleton), the partition of an id, the partition of a
 * command; inside a transaction as it was fenced, else as the worker
 * holds now. All 1 without a cluster. held_none: 1 when the worker holds
 * no partition now (0 without a cluster).
 */
int stw__held(struct stw_engine *e, int part);
int stw__held_id(struct stw_engine *e, const char *id);
int stw__held_command(struct stw_engine *e, const struct stw__outbox_row *row);
int stw__held_none(struct stw_engine *e);

#endif /* STW_ENGINE_INT_H */
