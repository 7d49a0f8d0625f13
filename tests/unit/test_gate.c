/*
 * test_gate.c - unit tests of src/core/gate.c, the write gate the engines of
 * one process share (stw_write_gate_new), and of how the engine takes it
 * (src/core/txn.c): first come, first served with a direct hand-over; a
 * waiter that gives up leaves the queue and fails with STW_EBUSY, nothing
 * written; the engine lets the gate go however its transaction ends; a
 * batch ends early, committing what it did, when another engine waits; and
 * each engine's statistics count its turns and the time it waited and held.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/gate.h"
#include "fixture.h"

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Waits until `n` engines wait at the gate (the tests' threads queue in a known order). */
static void await_waiting(struct stw_write_gate *g, int n)
{
	double end = mono_ms() + 10000;
	while (stw__gate_waiting(g) != n && mono_ms() < end) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(stw__gate_waiting(g), n);
}

/* A thread that waits for the gate, notes its turn, and lets the gate go. */
struct waiter {
	struct stw_write_gate *g;
	atomic_int *turns; /* shared: the count of turns taken */
	int rc;            /* stw__gate_enter's */
	int turn;          /* this waiter's turn (1, 2, ...), 0 if none */
	pthread_t thread;
};

static void *wait_turn(void *arg)
{
	struct waiter *w = arg;
	w->rc = stw__gate_enter(w->g);
	if (w->rc == STW_OK) {
		w->turn = atomic_fetch_add(w->turns, 1) + 1;
		stw__gate_leave(w->g);
	}
	return NULL;
}

static void start_waiter(struct waiter *w, struct stw_write_gate *g, atomic_int *turns)
{
	memset(w, 0, sizeof(*w));
	w->g = g;
	w->turns = turns;
	assert_int_equal(pthread_create(&w->thread, NULL, wait_turn, w), 0);
}

/* gate-1: the constructor refuses what it cannot use; free takes NULL. */
static void test_new_refuses(void **state)
{
	(void)state;
	struct stw_write_gate *g = (struct stw_write_gate *)&g;
	assert_int_equal(stw_write_gate_new(10, NULL), STW_EINVAL);
	assert_int_equal(stw_write_gate_new(-1, &g), STW_EINVAL);
	assert_null(g);
	stw_write_gate_free(NULL);
	assert_int_equal(stw_write_gate_new(0, &g), STW_OK);
	assert_int_equal(stw__gate_wait_ms(g), 0);
	stw_write_gate_free(g);
}

/*
 * gate-2: waiters take their turns in the order they came, each handed the
 * gate by the one before (the holder's leave wakes the first, whose leave
 * wakes the second, ...).
 */
static void test_first_come_first_served(void **state)
{
	(void)state;
	struct stw_write_gate *g = NULL;
	assert_int_equal(stw_write_gate_new(10000, &g), STW_OK);
	atomic_int turns = 0;
	struct waiter w[4];
	assert_int_equal(stw__gate_enter(g), STW_OK);
	for (int i = 0; i < 4; i++) {
		start_waiter(&w[i], g, &turns);
		await_waiting(g, i + 1);
	}
	assert_int_equal(atomic_load(&turns), 0); /* all wait while the gate is held */
	stw__gate_leave(g);
	for (int i = 0; i < 4; i++) {
		pthread_join(w[i].thread, NULL);
		assert_int_equal(w[i].rc, STW_OK);
		assert_int_equal(w[i].turn, i + 1);
	}
	assert_int_equal(stw__gate_waiting(g), 0);
	assert_int_equal(stw__gate_enter(g), STW_OK); /* free again */
	stw__gate_leave(g);
	stw_write_gate_free(g);
}

/*
 * gate-3: a waiter whose turn does not come within wait_ms gives up with
 * STW_EBUSY after that time and leaves the queue; the gate then goes to
 * nobody (free) when its holder lets it go.
 */
static void test_waiter_gives_up(void **state)
{
	(void)state;
	struct stw_write_gate *g = NULL;
	assert_int_equal(stw_write_gate_new(150, &g), STW_OK);
	atomic_int turns = 0;
	assert_int_equal(stw__gate_enter(g), STW_OK);
	double t0 = mono_ms();
	struct waiter w;
	start_waiter(&w, g, &turns);
	pthread_join(w.thread, NULL);
	assert_int_equal(w.rc, STW_EBUSY);
	assert_true(mono_ms() - t0 >= 140);
	assert_int_equal(stw__gate_waiting(g), 0);
	stw__gate_leave(g);
	assert_int_equal(stw__gate_enter(g), STW_OK);
	stw__gate_leave(g);
	assert_int_equal(atomic_load(&turns), 0);
	stw_write_gate_free(g);
}

static void append_one(struct stw_engine *e, const char *id, int *rc)
{
	struct stw_event ev = { .id = id, .type = "T", .stream = id };
	*rc = stw_append(e, "Billing", STW_ANY_VERSION, &ev, 1, NULL);
}

/* Opens *a and *b on the world's store behind a new gate whose waiters give up after 100 ms. */
static struct stw_write_gate *two_engines(struct fx_world *w, struct stw_engine **a,
					  struct stw_engine **b)
{
	struct stw_write_gate *g = NULL;
	assert_int_equal(stw_write_gate_new(100, &g), STW_OK);
	struct stw_options o = { .write_gate = g };
	assert_stw_ok(*a, fx_open(w, NULL, &o, a));
	assert_stw_ok(*b, fx_open(w, NULL, &o, b));
	return g;
}

/*
 * gate-4: two engines of one process behind a gate: while one holds a
 * transaction that wrote, the other's write waits for its turn (here 100
 * ms) and fails with STW_EBUSY, its message saying why, nothing written;
 * once the first commits, the second writes.
 */
static void test_engines_queue(void **state)
{
	struct stw_engine *a = NULL, *b = NULL;
	struct stw_write_gate *g = two_engines(*state, &a, &b);
	int rc = 0;
	assert_stw_ok(a, stw_begin(a));
	append_one(a, "a-1", &rc);
	assert_stw_ok(a, rc);
	double t0 = mono_ms();
	append_one(b, "b-1", &rc);
	assert_int_equal(rc, STW_EBUSY);
	assert_true(mono_ms() - t0 >= 90);
	assert_non_null(strstr(stw_errmsg(b), "other engines of this process"));
	assert_stw_ok(a, stw_commit(a));
	int64_t head = 0;
	assert_stw_ok(b, stw_head(b, "Billing", &head));
	assert_int_equal(head, 1); /* a-1 only */
	append_one(b, "b-1", &rc);
	assert_stw_ok(b, rc);
	stw_close(a);
	stw_close(b);
	stw_write_gate_free(g);
}

/*
 * gate-5: the engine lets the gate go however its transaction ends: a
 * commit, a rollback, a write that failed, and closing the engine with a
 * transaction open. A gate that waits 0 ms tells: entering it succeeds
 * only when nobody holds it.
 */
static void test_engine_lets_go(void **state)
{
	struct fx_world *w = *state;
	struct stw_write_gate *g = NULL;
	assert_int_equal(stw_write_gate_new(0, &g), STW_OK);
	struct stw_options o = { .write_gate = g };
	struct stw_engine *e = NULL;
	assert_stw_ok(e, fx_open(w, NULL, &o, &e));
	int rc = 0;

	append_one(e, "one", &rc); /* its own transaction */
	assert_stw_ok(e, rc);
	assert_int_equal(stw__gate_enter(g), STW_OK);
	append_one(e, "two", &rc); /* the gate is taken: refused at once */
	assert_int_equal(rc, STW_EBUSY);
	stw__gate_leave(g);

	assert_stw_ok(e, stw_begin(e));
	append_one(e, "three", &rc);
	assert_stw_ok(e, rc);
	assert_int_equal(stw__gate_enter(g), STW_EBUSY); /* held by the transaction */
	assert_stw_ok(e, stw_rollback(e));
	assert_int_equal(stw__gate_enter(g), STW_OK);
	stw__gate_leave(g);

	struct stw_event ev = { .id = "one", .type = "Other", .stream = "one" };
	assert_int_equal(stw_append(e, "Billing", STW_ANY_VERSION, &ev, 1, NULL), STW_ECONFLICT);
	assert_int_equal(stw__gate_enter(g), STW_OK); /* a refused append let it go */
	stw__gate_leave(g);

	assert_stw_ok(e, stw_begin(e));
	append_one(e, "four", &rc);
	assert_stw_ok(e, rc);
	stw_close(e);
	assert_int_equal(stw__gate_enter(g), STW_OK);
	stw__gate_leave(g);
	stw_write_gate_free(g);
}

/* gate-6's world: a policy whose payload callback, at the 3rd event, queues a waiter. */
struct yield_fx {
	struct stw_write_gate *g;
	atomic_int turns;
	struct waiter w;
	int seen;    /* events the policy handled */
	int started; /* the waiter was started */
};

static int queue_waiter(const struct stw_step_info *si, json_t **out)
{
	struct yield_fx *y = si->ud;
	if (++y->seen == 3 && !y->started) {
		y->started = 1;
		start_waiter(&y->w, y->g, &y->turns);
		await_waiting(y->g, 1);
	}
	*out = json_object();
	return *out ? STW_OK : STW_ENOMEM;
}

/*
 * gate-6: a round's batch ends early when another engine waits for the
 * gate: the 3rd of 10 events queues a waiter, so the round commits the
 * first 3 (the cursor is at 3), the waiter gets the gate, and the next
 * round handles the rest. Without a waiter the batch takes all 10.
 */
static void test_batch_yields(void **state)
{
	struct fx_world *w = *state;
	struct yield_fx y = { 0 };
	assert_int_equal(stw_write_gate_new(10000, &y.g), STW_OK);
	static const struct stw_command_def cmds[] = { { "Out", "Note", queue_waiter },
						       { NULL, NULL, NULL } };
	static const struct stw_transition_def tr[] = { { NULL, "Tick", NULL, cmds, NULL, NULL },
							{ NULL, NULL, NULL, NULL, NULL, NULL } };
	static const char *const sources[] = { "In", NULL };
	struct stw_definition def = {
		.name = "ticks", .version = 1, .sources = sources, .transitions = tr, .ud = &y
	};
	struct stw_options o = { .write_gate = y.g };
	struct stw_engine *e = NULL;
	assert_stw_ok(e, fx_open(w, NULL, &o, &e));
	assert_stw_ok(e, stw_define(e, &def));
	struct stw_event evs[10];
	char ids[10][16];
	for (int i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof(ids[i]), "t-%d", i);
		evs[i] = (struct stw_event){ .id = ids[i], .type = "Tick", .stream = "ticks" };
	}
	assert_stw_ok(e, stw_append(e, "In", STW_ANY_VERSION, evs, 10, NULL));
	int did = 0;
	assert_stw_ok(e, stw_run_once(e, &did));
	int64_t cursor = 0;
	assert_stw_ok(e, stw_get_cursor(e, "ticks", "In", &cursor));
	assert_int_equal(cursor, 3);
	pthread_join(y.w.thread, NULL);
	assert_int_equal(y.w.rc, STW_OK);
	assert_int_equal(y.w.turn, 1);
	assert_stw_ok(e, stw_run_once(e, &did));
	assert_stw_ok(e, stw_get_cursor(e, "ticks", "In", &cursor));
	assert_int_equal(cursor, 10);
	assert_int_equal(y.seen, 10);
	stw_close(e);
	stw_write_gate_free(y.g);
}

static int setup(void **state)
{
	return fx_new(state, sizeof(struct fx_world), "gate", FX_T0);
}

/*
 * gate-7: stw_stats counts an engine's turns at the gate, the time it waited
 * for them (a wait that ran out included) and the time it held the gate,
 * from its turn to its transaction's end, a rollback's included: none of
 * it is undone with the transaction.
 */
static void test_stats(void **state)
{
	struct stw_engine *a = NULL, *b = NULL;
	struct stw_write_gate *g = two_engines(*state, &a, &b);
	struct stw_stats sa, sb;
	stw_get_stats(a, &sa);
	assert_int_equal(sa.gate_turns, 0);
	assert_int_equal(sa.gate_held_us, 0);
	int rc = 0;
	assert_stw_ok(a, stw_begin(a));
	append_one(a, "a-1", &rc);
	assert_stw_ok(a, rc);
	append_one(b, "b-1", &rc); /* waits 100 ms for a, then gives up */
	assert_int_equal(rc, STW_EBUSY);
	stw_get_stats(b, &sb);
	assert_int_equal(sb.gate_turns, 0);
	assert_true(sb.gate_wait_us >= 90000);
	assert_stw_ok(a, stw_rollback(a));
	stw_get_stats(a, &sa);
	assert_int_equal(sa.gate_turns, 1);
	assert_true(sa.gate_held_us >= 90000); /* b's wait was inside a's turn */
	assert_true(sa.gate_wait_us < 90000);  /* a found the gate free */
	append_one(b, "b-1", &rc);
	assert_stw_ok(b, rc);
	stw_get_stats(b, &sb);
	assert_int_equal(sb.gate_turns, 1);
	stw_close(a);
	stw_close(b);
	stw_write_gate_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_refuses),
		cmocka_unit_test(test_first_come_first_served),
		cmocka_unit_test(test_waiter_gives_up),
		cmocka_unit_test_setup_teardown(test_engines_queue, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_engine_lets_go, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_yields, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_stats, setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
