/*
 * test_concurrent.c - two engines on one store that meet on the same work,
 * as two daemons sharing a PostgreSQL store do: the same command executed by
 * both at once is applied once, and the engine that lost the race answers
 * the recorded outcome, counted as a duplicate, instead of an error. On
 * SQLite the second engine waits for the write lock and finds the record;
 * on PostgreSQL (STEWARD_TEST_STORE=pg) both run the handler and the second
 * finds the first's record when it writes its own, and undoes its work.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fixture.h"

/* Shop.Ship: emits Shipped on the command's stream (its id derives from the command's). */
static int ship(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	__atomic_add_fetch((int *)ud, 1, __ATOMIC_SEQ_CST);
	return stw_svc_emit(sc, cmd->id, STW_ANY_VERSION, "Shipped", NULL);
}

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	struct stw_engine *b;
	int calls;
};

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "concurrent", FX_T0) != 0)
		return -1;
	struct fixture *f = *state;
	assert_stw_ok(NULL, fx_world_open(&f->w, NULL));
	assert_stw_ok(NULL, fx_open(&f->w, NULL, NULL, &f->b));
	assert_stw_ok(f->w.e, stw_register_service(f->w.e, "Shop", ship, &f->calls));
	assert_stw_ok(f->b, stw_register_service(f->b, "Shop", ship, &f->calls));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	stw_close(f->b);
	return fx_teardown(state);
}

struct execution {
	struct stw_engine *e;
	int rc;
	char why[256];
};

static void *execute_ship(void *arg)
{
	struct execution *x = arg;
	x->rc = stw_execute(x->e, "Shop", "Ship", NULL, "cmd-1", "order-1", NULL);
	snprintf(x->why, sizeof(x->why), "%s", stw_errmsg(x->e));
	return NULL;
}

static int count(const struct stw_event *ev, void *ud)
{
	(void)ev;
	++*(int *)ud;
	return 0;
}

/*
 * concurrent-1: engine a executes cmd-1 inside its own transaction and holds
 * it; engine b executes cmd-1 meanwhile. Once a commits, b answers STW_OK
 * (the recorded outcome, a duplicate for b), and Shop's log holds one
 * Shipped.
 */
static void test_same_command_at_once(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *a = f->w.e;
	assert_stw_ok(a, stw_begin(a));
	assert_stw_ok(a, stw_execute(a, "Shop", "Ship", NULL, "cmd-1", "order-1", NULL));
	struct execution x = { .e = f->b };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, execute_ship, &x), 0);
	struct timespec pause = { 0, 300 * 1000000L };
	nanosleep(&pause, NULL);
	assert_stw_ok(a, stw_commit(a));
	pthread_join(t, NULL);
	if (x.rc != STW_OK)
		fail_msg("the second engine: %s: %s", stw_strerror(x.rc), x.why);
	int shipped = 0;
	assert_stw_ok(a, stw_read(a, "Shop", 0, 100, count, &shipped, NULL));
	assert_int_equal(shipped, 1);
	struct stw_stats st;
	stw_get_stats(f->b, &st);
	assert_int_equal(st.duplicate_deliveries, 1);
	/* Once more, on either: the recorded outcome, the handler not run. */
	int calls = f->calls;
	assert_stw_ok(f->b, stw_execute(f->b, "Shop", "Ship", NULL, "cmd-1", "order-1", NULL));
	assert_int_equal(f->calls, calls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_command_at_once, setup, teardown),
	};
	return cmocka_run_group_tests_name("concurrent", tests, NULL, NULL);
}
