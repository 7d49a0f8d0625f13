/*
 * test_inspect.c - what the engine tells about its instances beyond their
 * rows: which are stuck (active, untouched for a while, and with nothing
 * that would move them: no timer that applies to their state, no command of
 * theirs waiting for delivery).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

#define MINUTE 60000

/*
 * Started -> Waiting (waits for Resumed, nothing else moves it), Timed (a
 * timer in an hour), Asked (a command to the remote Far, which never
 * answers with Answered), Done (terminal).
 */
static const struct stw_state_def states[] = {
	{ "Waiting", STW_STATE_ACTIVE },
	{ "Timed", STW_STATE_ACTIVE },
	{ "Asked", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def ask[] = {
	{ "Far", "Ask", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_timer_def in_an_hour[] = {
	{ "HourPassed", 60 * MINUTE, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "StartWaiting", "Waiting", NULL, NULL, NULL },
	{ NULL, "StartTimed", "Timed", NULL, NULL, in_an_hour },
	{ NULL, "StartAsked", "Asked", ask, NULL, NULL },
	{ NULL, "StartDone", "Done", NULL, NULL, NULL },
	{ "Waiting", "Resumed", "Done", NULL, NULL, NULL },
	{ "Timed", "HourPassed", "Done", NULL, NULL, NULL },
	{ "Asked", "Answered", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", NULL };
static const struct stw_definition flow = {
	.name = "flow",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* The remote Far: every attempt fails as unreachable, so its commands stay pending. */
static void unreachable(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < n; i++) {
		batch[i].outcome = STW_EUNAVAILABLE;
		snprintf(batch[i].error, sizeof(batch[i].error), "connection refused");
	}
}

static int setup(void **state)
{
	if (fx_setup(state, "inspect", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	struct stw_remote_def far = { .send = unreachable, .max_attempts = 1000 };
	assert_stw_ok(f->e, stw_define(f->e, &flow));
	assert_stw_ok(f->e, stw_register_remote(f->e, "Far", &far));
	return 0;
}

static void emit(struct fx_world *f, const char *type, const char *corr)
{
	struct stw_event ev = { .type = type, .stream = corr, .correlation_id = corr };
	assert_stw_ok(f->e, stw_append(f->e, "In", STW_ANY_VERSION, &ev, 1, NULL));
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
}

/* The ids of the stuck instances (not updated for `for_ms`), in list order, joined by ','. */
static void stuck_ids(struct fx_world *f, int64_t for_ms, char *buf, size_t cap)
{
	struct stw_instance_filter q = { .stuck_for_ms = for_ms };
	json_t *l = NULL;
	assert_stw_ok(f->e, stw_list_instances(f->e, &q, &l));
	buf[0] = '\0';
	size_t i;
	json_t *o;
	json_array_foreach(l, i, o)
	{
		size_t len = strlen(buf);
		snprintf(buf + len, cap - len, "%s%s", len ? "," : "",
			 json_string_value(json_object_get(o, "id")));
	}
	json_decref(l);
}

static int64_t count(struct fx_world *f, int64_t for_ms)
{
	int64_t n = -1;
	assert_stw_ok(f->e, stw_count_stuck(f->e, for_ms, &n));
	return n;
}

/*
 * inspect-1.1: of four instances left for ten minutes, only the one that
 * waits with no timer and no pending command is stuck; an instance younger
 * than the wait is not; once it moves on, it no longer is.
 */
static void test_stuck_instances(void **state)
{
	struct fx_world *f = *state;
	emit(f, "StartWaiting", "w1");
	emit(f, "StartTimed", "t1");
	emit(f, "StartAsked", "a1");
	emit(f, "StartDone", "d1");
	char ids[256];
	stuck_ids(f, 5 * MINUTE, ids, sizeof(ids));
	assert_string_equal(ids, ""); /* nobody has waited five minutes yet */
	assert_int_equal(count(f, 5 * MINUTE), 0);

	fx_clock_advance(&f->clock, 10 * MINUTE);
	emit(f, "StartWaiting", "w2"); /* waiting too, but only just */
	stuck_ids(f, 5 * MINUTE, ids, sizeof(ids));
	assert_string_equal(ids, "w1");
	assert_int_equal(count(f, 5 * MINUTE), 1);
	stuck_ids(f, 20 * MINUTE, ids, sizeof(ids));
	assert_string_equal(ids, "");

	/* With the other filters: w1 is a flow instance in Waiting. */
	struct stw_instance_filter q = { .definition = "flow",
					 .state = "Waiting",
					 .stuck_for_ms = 5 * MINUTE };
	json_t *l = NULL;
	assert_stw_ok(f->e, stw_list_instances(f->e, &q, &l));
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);

	emit(f, "Resumed", "w1");
	assert_int_equal(count(f, 5 * MINUTE), 0);
}

/* inspect-1.2: a timer that no longer applies does not keep an instance from being stuck. */
static void test_stale_timer_does_not_count(void **state)
{
	struct fx_world *f = *state;
	emit(f, "StartTimed", "t1");
	fx_clock_advance(&f->clock, 61 * MINUTE); /* the timer fires: t1 is Done */
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	emit(f, "StartWaiting", "w1");
	fx_clock_advance(&f->clock, 10 * MINUTE);
	char ids[256];
	stuck_ids(f, 5 * MINUTE, ids, sizeof(ids));
	assert_string_equal(ids, "w1");
}

/* inspect-1.3: a negative wait is refused; a wait longer than the clock's age finds nothing. */
static void test_stuck_arguments(void **state)
{
	struct fx_world *f = *state;
	struct stw_instance_filter q = { .stuck_for_ms = -1 };
	json_t *l = NULL;
	assert_int_equal(stw_list_instances(f->e, &q, &l), STW_EINVAL);
	assert_null(l);
	int64_t n = 0;
	assert_int_equal(stw_count_stuck(f->e, 0, &n), STW_EINVAL);
	assert_int_equal(stw_count_stuck(f->e, 5, NULL), STW_EINVAL);
	emit(f, "StartWaiting", "w1");
	assert_int_equal(count(f, INT64_MAX), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stuck_instances),
		T(test_stale_timer_does_not_count),
		T(test_stuck_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
