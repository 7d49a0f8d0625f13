/*
 * test_periodic.c - periodic processes: one run per period of the clock,
 * never twice in a period across restarts, commands written with the run,
 * deterministic command ids across periods, failures retried.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/engine_int.h"
#include "fixture.h"

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	int runs;          /* runs of the periodic process seen by its callback */
	int fail_next;     /* make the next run fail */
	int delivered;     /* Expire commands the service saw */
	long items;        /* how many things the run "finds" */
};

/* Finds `items` things (keys i0, i1, ...) and sends Expire for each. */
static int sweep(struct stw_periodic_ctx *pc, void *ud)
{
	struct fixture *f = ud;
	f->runs++;
	if (f->fail_next) {
		f->fail_next = 0;
		return STW_EINVAL;
	}
	for (long i = 0; i < f->items; i++) {
		char key[32];
		snprintf(key, sizeof(key), "i%ld", i);
		int rc = stw_periodic_send(pc, "Things", "Expire", json_pack("{s:s}", "key", key),
					   key, NULL);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

static int things(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	((struct fixture *)ud)->delivered++;
	return STW_OK;
}

static struct stw_periodic_def sweeper = { .name = "sweeper", .every_ms = 10000, .run = sweep };

/* Opens the world's engine (again, after a restart) with the sweeper and the Things service. */
static void open_engine(struct fixture *f)
{
	sweeper.ud = f;
	assert_stw_ok(NULL, fx_world_open(&f->w, NULL));
	assert_stw_ok(f->w.e, stw_define_periodic(f->w.e, &sweeper));
	assert_stw_ok(f->w.e, stw_register_service(f->w.e, "Things", things, f));
}

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "periodic", 1000000) != 0) /* period 100 */
		return -1;
	open_engine(*state);
	return 0;
}

static void run(struct fixture *f)
{
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
}

/* periodic-1.1: one run per period however often the engine runs; the next
 * period runs it again. */
static void test_once_per_period(void **state)
{
	struct fixture *f = *state;
	run(f);
	run(f);
	fx_clock_advance(&f->w.clock, 9999); /* still period 100 */
	run(f);
	assert_int_equal(f->runs, 1);
	fx_clock_advance(&f->w.clock, 1); /* period 101 */
	run(f);
	assert_int_equal(f->runs, 2);
	struct stw_stats st;
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.periodic_runs, 2);
}

/* periodic-1.2: a restart within the period does not run it again. */
static void test_restart_same_period(void **state)
{
	struct fixture *f = *state;
	run(f);
	stw_close(f->w.e);
	open_engine(f);
	fx_clock_advance(&f->w.clock, 5000);
	run(f);
	assert_int_equal(f->runs, 1);
	stw_close(f->w.e);
	fx_clock_advance(&f->w.clock, 5000); /* the next period, across a restart */
	open_engine(f);
	run(f);
	assert_int_equal(f->runs, 2);
}

/* periodic-1.3: its commands go through the outbox and are delivered; the
 * same thing found in two periods is sent once (deterministic ids). */
static void test_commands_once(void **state)
{
	struct fixture *f = *state;
	f->items = 3;
	run(f);
	assert_int_equal(f->delivered, 3);
	fx_clock_advance(&f->w.clock, 10000);
	run(f);
	assert_int_equal(f->runs, 2);
	assert_int_equal(f->delivered, 3);
	int64_t pending = -1;
	assert_int_equal(stw_pending_commands(f->w.e, &pending), STW_OK);
	assert_int_equal(pending, 0);
}

/* periodic-1.4: a failing run commits nothing and is tried again next round. */
static void test_failure_retried(void **state)
{
	struct fixture *f = *state;
	f->items = 2;
	f->fail_next = 1;
	int did = 0;
	assert_int_equal(stw_run_once(f->w.e, &did), STW_OK);
	assert_int_equal(f->delivered, 0);
	run(f);
	assert_int_equal(f->runs, 2);
	assert_int_equal(f->delivered, 2);
}

/* Dies at the failpoint before the run commits. */
static void die_cb(const char *name, void *ud)
{
	(void)ud;
	if (strcmp(name, "periodic.before_commit") == 0)
		_exit(0);
}

/* periodic-1.5: dying before the run commits leaves no record and no command:
 * the restarted engine runs it in the same period, once. */
static void test_crash_before_commit(void **state)
{
	struct fixture *f = *state;
	f->items = 2;
	stw_close(f->w.e);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stw_engine *e = NULL;
		struct stw_options o = { .failpoint = die_cb };
		if (fx_open(&f->w, NULL, &o, &e) != STW_OK ||
		    stw_define_periodic(e, &sweeper) != STW_OK)
			_exit(3);
		if (stw_run_until_idle(e) != STW_OK)
			_exit(5);
		_exit(4);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	open_engine(f);
	int64_t pending = -1;
	assert_int_equal(stw_pending_commands(f->w.e, &pending), STW_OK);
	assert_int_equal(pending, 0);
	f->runs = 0;
	run(f);
	assert_int_equal(f->runs, 1);
	assert_int_equal(f->delivered, 2);
}

/* Sends one Expire without data. */
static int bare(struct stw_periodic_ctx *pc, void *ud)
{
	(void)ud;
	return stw_periodic_send(pc, "Things", "Expire", NULL, "bare", NULL);
}

/* periodic-1.6: a command sent without data carries {}, and the {} made for
 * it is released (the AddressSanitizer and valgrind runs of this test see a
 * leak otherwise). */
static void test_send_without_data(void **state)
{
	struct fixture *f = *state;
	static const struct stw_periodic_def bare_def = { .name = "bare",
							  .every_ms = 10000,
							  .run = bare };
	assert_stw_ok(f->w.e, stw_define_periodic(f->w.e, &bare_def));
	run(f);
	assert_int_equal(f->delivered, 1);
	json_t *l = NULL;
	assert_stw_ok(f->w.e, stw_list_commands(f->w.e, "delivered", 10, &l));
	assert_int_equal(json_array_size(l), 1);
	json_t *d = json_object_get(json_array_get(l, 0), "data");
	assert_true(json_is_object(d));
	assert_int_equal(json_object_size(d), 0);
	json_decref(l);
}

/* periodic-2.1: bad definitions and name clashes are refused. */
static void test_validation(void **state)
{
	struct fixture *f = *state;
	struct stw_periodic_def bad = { .name = "x", .every_ms = 0, .run = sweep };
	assert_int_equal(stw_define_periodic(f->w.e, &bad), STW_EINVAL);
	bad.every_ms = 10;
	bad.run = NULL;
	assert_int_equal(stw_define_periodic(f->w.e, &bad), STW_EINVAL);
	assert_int_equal(stw_define_periodic(f->w.e, &sweeper), STW_EEXIST);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_once_per_period), T(test_restart_same_period), T(test_commands_once),
		T(test_failure_retried), T(test_crash_before_commit), T(test_send_without_data),
		T(test_validation),
	};
#undef T
	return cmocka_run_group_tests_name("periodic", tests, NULL, NULL);
}
