/*
 * steward_test.h - a kit to test process definitions, for the test suites
 * of their authors. Link with libsteward_test (pkg-config steward-test).
 *
 * A scenario runs on an engine of its own: an SQLite store in a temporary
 * directory (removed at the end), or the store the caller names
 * (stw_test_options.store), and a virtual clock. The setup callback
 * registers what is tested (definitions, services) and runs again whenever
 * the kit opens the engine again. Then:
 *
 *   given    events that happened (appended to their context's log);
 *   when     a command executed by its service;
 *   advance  time moves, and the timers that fall due fire;
 *   expect   what a user would see: an instance's state and status, its
 *            fields, history, the commands it sent and their delivery, its
 *            pending timers, the instances of a definition, the commands
 *            in the outbox, the events of a log or a stream, a command a
 *            service refuses.
 *
 * Each call runs the engine until it is idle before it returns, unless the
 * scenario holds it (stw_test_hold) to make several things happen at once. A call that
 * fails, or an expectation that does not hold, returns -1, prints why on
 * stderr with the instance's history (unless quiet) and keeps the message
 * (stw_test_why); the scenario may go on. Services a test does not want to
 * run for real are stubbed: a command answered with an event, or refused.
 *
 * Faults (stw_test_options.faults): a scenario is run again and again, each
 * time with a seed that decides where the faults land, and fails with the
 * seed printed, so that STEWARD_TEST_SEED=S replays that run exactly:
 *   STW_TEST_DUPLICATES  every event is handled twice: after each call, the
 *                        cursors go back to where they were before it and
 *                        the engine runs again; and every command of when
 *                        or expect_refused is executed twice with its id,
 *                        with the same outcome both times;
 *   STW_TEST_SHUFFLE     the events given between two other calls are
 *                        appended in a random order that keeps the order of
 *                        each stream (the sources of a definition
 *                        interleaved differently), one at a time;
 *   STW_TEST_REOPEN      the engine is closed and opened again (what a crash
 *                        leaves: the store) after a call, at random.
 * The user's scenario states its invariants with the expect and count calls
 * after its steps; they must hold under every run.
 */
#ifndef STEWARD_TEST_H
#define STEWARD_TEST_H

#include <stdint.h>

#include <steward.h>

#ifdef __cplusplus
extern "C" {
#endif

struct stw_test;

/* Registers what is tested on e; returns STW_OK. Runs at each (re)opening. */
typedef int (*stw_test_setup_fn)(struct stw_engine *e, void *ud);

#define STW_TEST_DUPLICATES 1u
#define STW_TEST_SHUFFLE    2u
#define STW_TEST_REOPEN     4u
#define STW_TEST_ALL_FAULTS (STW_TEST_DUPLICATES | STW_TEST_SHUFFLE | STW_TEST_REOPEN)

struct stw_test_options {
	int64_t start_ms; /* the virtual clock's start (UTC ms); 0: 2026-01-01T00:00:00Z */
	unsigned faults;  /* STW_TEST_* */
	uint64_t seed;    /* where the faults land */
	int quiet;        /* 1: failures are not printed (stw_test_why has them) */
	/*
	 * The store, as stw_open takes it: an SQLite file's path or a postgresql://
	 * URL (say a schema the caller made fresh), which the kit opens again
	 * after a reopen and does not remove; the string is copied. NULL: a fresh
	 * SQLite file in a temporary directory, removed at stw_test_close.
	 * stw_test_run opens every run on it: a store given is for one run, or for
	 * a scenario that expects what the runs before it left.
	 */
	const char *store;
	stw_observer_fn observer; /* the engine's observer (stw_options.observer); NULL: none */
	void *observer_ud;
};

/*
 * Opens a scenario: the store, the engine, then setup(e, ud). Returns 0 with
 * *out (close it with stw_test_close), or -1 after printing why.
 */
int stw_test_open(const struct stw_test_options *o, stw_test_setup_fn setup, void *ud,
		  struct stw_test **out);

/* Closes the engine and removes the store (one the caller gave is kept). Accepts NULL. */
void stw_test_close(struct stw_test *t);

/* The engine (another after the kit reopened it: do not keep it across calls). */
struct stw_engine *stw_test_engine(struct stw_test *t);

/* The virtual clock (UTC ms). */
int64_t stw_test_now(const struct stw_test *t);

/* Why the last failed call or expectation failed ("" if none). */
const char *stw_test_why(const struct stw_test *t);

/* How many times the kit reopened the engine (STW_TEST_REOPEN). */
int stw_test_reopens(const struct stw_test *t);

/* How many calls and expectations failed since the scenario opened. */
int stw_test_failures(const struct stw_test *t);

/*
 * An event of `type` on `stream` of `context`, with a correlation id (NULL:
 * the stream) and data (JSON object text; NULL: {}). Its id is the kit's
 * ("given-1", ...). Appended, then handled.
 */
int stw_test_given(struct stw_test *t, const char *context, const char *stream, const char *type,
		   const char *correlation_id, const char *data_json);

/*
 * A command `type` for `context`, executed by its service (stw_execute),
 * with data (JSON object text; NULL: {}) and a correlation id (may be
 * NULL); then what follows is handled. A refusal by the service is a
 * failure of the call.
 */
int stw_test_when(struct stw_test *t, const char *context, const char *type, const char *data_json,
		  const char *correlation_id);

/* Moves the clock by ms and handles what falls due (timers, periodic runs). */
int stw_test_advance(struct stw_test *t, int64_t ms);

/*
 * Holds the engine: the calls that follow append their events and execute
 * their commands without running it, until stw_test_release runs it (with
 * the faults) until it is idle: what arrives together, before the engine
 * has looked. The events given before are handled first. 0, or -1.
 */
int stw_test_hold(struct stw_test *t);
int stw_test_release(struct stw_test *t);

/*
 * A restart: closes the engine, moves the clock by down_ms while it is down,
 * and opens it again on its store (the setup runs again; its counters start
 * from zero); then runs it, unless held (see stw_test_hold), so that what a
 * restart finds can be looked at before it runs. 0, or -1.
 */
int stw_test_restart(struct stw_test *t, int64_t down_ms);

/*
 * Moves every cursor of every definition back to the start of its log and
 * runs the engine: each event is handled again, as when a store's cursors
 * are restored from an older copy. What the instances did must not change.
 */
int stw_test_replay(struct stw_test *t);

/*
 * Stubs the service of `context` (registered by the kit: the setup must not
 * register one for it): a command of `command_type` is answered with an
 * event of `answer_type` on a stream named after the command's correlation
 * id, whose data is the command's, or, with answer_type NULL, refused with
 * `refusal`. A command type without a stub is refused.
 */
int stw_test_stub(struct stw_test *t, const char *context, const char *command_type,
		  const char *answer_type, const char *refusal);

/*
 * The service of `context` refuses the command `type` with data (JSON
 * object text; NULL: {}) and a correlation id (may be NULL): STW_EREJECTED,
 * with a message that holds `reason` (NULL: any), and nothing appended to
 * the context's log. 0 when it holds, else -1.
 */
int stw_test_expect_refused(struct stw_test *t, const char *context, const char *type,
			    const char *data_json, const char *correlation_id, const char *reason);

/*
 * The instance `id` of `definition` is in `state` (NULL: any) with `status`
 * (a word of STW_INSTANCE_STATUS_MAP; NULL: any). 0 when it holds, else -1.
 */
int stw_test_expect_state(struct stw_test *t, const char *definition, const char *id,
			  const char *state, const char *status);

/*
 * The instance's view (as stw_get_instance gives it: unique_key, reason,
 * version, data, ...) holds every field of fields_json (a JSON object text)
 * with the same value, or for an object (data, say) one that holds the
 * fields given for it. 0 when it holds, else -1.
 */
int stw_test_expect_fields(struct stw_test *t, const char *definition, const char *id,
			   const char *fields_json);

/*
 * The instance's history has exactly `times` rows of `message_type` (NULL:
 * any) with `outcome` (applied, rejected, failed, ...; NULL: any). 0 when it
 * holds, else -1.
 */
int stw_test_expect_history(struct stw_test *t, const char *definition, const char *id,
			    const char *message_type, const char *outcome, int times);

/*
 * The instance sent exactly `times` commands of `type` (NULL: any) to
 * `context` (NULL: any) whose data holds every field of fields_json (a JSON
 * object text; NULL: any data). 0 when it holds, else -1.
 */
int stw_test_expect_sent(struct stw_test *t, const char *definition, const char *id,
			 const char *context, const char *type, const char *fields_json, int times);

/*
 * The instance's commands whose delivery is at `status` (a word of
 * STW_COMMAND_STATUS_MAP: pending, delivered, rejected, parked, skipped;
 * NULL: any) are exactly `times`. 0 when it holds, else -1.
 */
int stw_test_expect_commands(struct stw_test *t, const char *definition, const char *id,
			     const char *status, int times);

/* The instance has a pending timer for `message_type` (pending = 1) or none (0). */
int stw_test_expect_timer(struct stw_test *t, const char *definition, const char *id,
			  const char *message_type, int pending);

/* The instance has a pending timer for `message_type` due at due_ms (UTC ms). */
int stw_test_expect_timer_at(struct stw_test *t, const char *definition, const char *id,
			     const char *message_type, int64_t due_ms);

/* When the next pending timer of any instance falls due (UTC ms; stw_next_timer), or -1 for none.
 */
int64_t stw_test_next_timer(struct stw_test *t);

/* The events of `type` (NULL: all) in `context`'s log, or -1 (why in stw_test_why). */
long stw_test_count_events(struct stw_test *t, const char *context, const char *type);

/*
 * The events of `stream` of `context` (NULL: its whole log) whose
 * correlation id is correlation_id (NULL: any) are of `types` (their types
 * in order, separated by blanks; "" for none), no more. 0 when it holds,
 * else -1.
 */
int stw_test_expect_events(struct stw_test *t, const char *context, const char *stream,
			   const char *correlation_id, const char *types);

/*
 * The commands waiting in the outbox for delivery (stw_pending_commands),
 * those of every instance and periodic process, sent by this engine or by
 * another on the same store; or -1 (why in stw_test_why).
 */
long stw_test_count_pending(struct stw_test *t);

/* The instances of `definition` with `status` (NULL: any), or -1 (why in stw_test_why). */
long stw_test_count_instances(struct stw_test *t, const char *definition, const char *status);

/* The messages `definition` could not route to an instance (up to 1000), or -1. */
long stw_test_count_unrouted(struct stw_test *t, const char *definition);

/*
 * Runs scenario(t, ud) `runs` times, each on a scenario of its own opened
 * with o (and setup, setup_ud) and the seed o->seed + i (or the one in
 * STEWARD_TEST_SEED, once). A run fails when the scenario returns non-zero
 * or a call or expectation of it failed; the first failed run stops the
 * loop, printing its seed. Returns 0 when every run passed, else -1.
 */
int stw_test_run(const struct stw_test_options *o, int runs, stw_test_setup_fn setup,
		 void *setup_ud, int (*scenario)(struct stw_test *t, void *ud), void *ud);

#ifdef __cplusplus
}
#endif

#endif /* STEWARD_TEST_H */
