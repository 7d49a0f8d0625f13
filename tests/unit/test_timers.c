/*
 * test_timers.c - alarms: arming in the step transaction, firing through the
 * step path at the due time of a virtual clock, cancellation by leaving the
 * state, firing once after a restart, void timers counted, validation.
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

/* An order waits for payment; a timeout cancels it. Remind stays in the
 * state and re-arms a reminder; Hold leaves and Resume comes back, which
 * must not revive the timers of the first visit. */
static const struct stw_state_def states[] = {
	{ "Awaiting", STW_STATE_ACTIVE },    { "Paid", STW_STATE_TERMINAL },
	{ "Cancelled", STW_STATE_TERMINAL }, { "OnHold", STW_STATE_ACTIVE },
	{ "Stuck", STW_STATE_FAILURE },      { NULL, 0 },
};

static const struct stw_command_def cancel_cmds[] = {
	{ "Shop", "CancelOrder", NULL },
	{ NULL, NULL, NULL },
};

static const struct stw_timer_def timeout[] = {
	{ "PaymentTimedOut", 1000, NULL },
	{ NULL, 0, NULL },
};

static const struct stw_timer_def reminder[] = {
	{ "Reminder", 300, NULL },
	{ NULL, 0, NULL },
};

/* The due time comes from the event: {"at": ms}. */
static int due_from_event(const struct stw_step_info *si, int64_t *due)
{
	json_t *at = json_object_get(si->event->data, "at");
	if (!json_is_integer(at))
		return STW_EINVAL;
	*due = json_integer_value(at);
	return STW_OK;
}

static const struct stw_timer_def at_time[] = {
	{ "PaymentTimedOut", 0, due_from_event },
	{ NULL, 0, NULL },
};

static const struct stw_transition_def transitions[] = {
	{ NULL, "Placed", "Awaiting", NULL, NULL, timeout },
	{ NULL, "PlacedAt", "Awaiting", NULL, NULL, at_time },
	{ "Awaiting", "Paid", "Paid", NULL, NULL, NULL },
	{ "Awaiting", "PaymentTimedOut", "Cancelled", cancel_cmds, NULL, NULL },
	{ "Awaiting", "Remind", NULL, NULL, NULL, reminder },
	{ "Awaiting", "Reminder", NULL, NULL, NULL, NULL },
	{ "Awaiting", "Hold", "OnHold", NULL, NULL, NULL },
	{ "OnHold", "Resume", "Awaiting", NULL, NULL, NULL },
	{ "Awaiting", "Jam", "Stuck", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const char *const sources[] = { "In", NULL };

static const struct stw_definition orders = {
	.name = "orders",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* Opens the world's engine on its database (again, after a restart) and defines the orders. */
static void open_engine(struct fx_world *f)
{
	assert_stw_ok(NULL, fx_world_open(f, NULL));
	assert_stw_ok(f->e, stw_define(f->e, &orders));
}

/* Each test's world: a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	if (fx_setup(state, "timers", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &orders));
	return 0;
}

static void emit(struct fx_world *f, const char *id, const char *type, const char *corr,
		 json_t *data)
{
	struct stw_event ev = {
		.id = id, .type = type, .stream = corr, .correlation_id = corr, .data = data
	};
	assert_int_equal(stw_append(f->e, "In", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(data);
}

static void run(struct fx_world *f)
{
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
}

static json_t *get(struct fx_world *f, const char *id)
{
	json_t *o = NULL;
	assert_int_equal(stw_get_instance(f->e, "orders", id, &o), STW_OK);
	return o;
}

static const char *state_of(struct fx_world *f, const char *id, char *buf, size_t cap)
{
	json_t *o = get(f, id);
	snprintf(buf, cap, "%s", json_string_value(json_object_get(o, "state")));
	json_decref(o);
	return buf;
}

static struct stw_stats stats(struct fx_world *f)
{
	struct stw_stats s;
	stw_get_stats(f->e, &s);
	return s;
}

/* Counts history rows of an instance with a message type. */
static size_t rows_of(struct fx_world *f, const char *id, const char *type)
{
	json_t *o = get(f, id), *h;
	size_t i, n = 0;
	json_array_foreach(json_object_get(o, "history"), i, h) n +=
	    strcmp(json_string_value(json_object_get(h, "message_type")), type) == 0;
	json_decref(o);
	return n;
}

/* timers-1.1: a timer fires at its due time, not before, through the step
 * path: a history row, the transition, its command; then it is gone. */
static void test_fires_at_due_time(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "Placed", "o1", NULL);
	run(f);
	int64_t due = 0;
	assert_int_equal(stw_next_timer(f->e, &due), STW_OK);
	assert_int_equal(due, 1000000 + 1000);
	json_t *o = get(f, "o1");
	json_t *t = json_array_get(json_object_get(o, "timers"), 0);
	assert_string_equal(json_string_value(json_object_get(t, "message_type")),
			    "PaymentTimedOut");
	assert_int_equal(json_integer_value(json_object_get(t, "due_at")), due);
	json_decref(o);
	fx_clock_set(&f->clock, due - 1);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Awaiting");
	fx_clock_set(&f->clock, due);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Cancelled");
	assert_int_equal(rows_of(f, "o1", "PaymentTimedOut"), 1);
	o = get(f, "o1");
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 0);
	json_t *c = json_array_get(json_object_get(o, "commands"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "type")), "CancelOrder");
	json_decref(o);
	assert_int_equal(stats(f).timers_armed, 1);
	assert_int_equal(stats(f).timers_fired, 1);
	assert_int_equal(stw_next_timer(f->e, &due), STW_ENOTFOUND);
}

/*
 * A timer's message is recorded at its due time, not when it fired: the
 * commands it sends lead their ids with the due time, so a timer fired late,
 * or again after a crash before the commit, derives the same ids.
 */
static void test_message_recorded_at_due_time(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Placed", "o1", NULL);
	run(f);
	int64_t due = 0;
	assert_int_equal(stw_next_timer(f->e, &due), STW_OK);
	fx_clock_set(&f->clock, due + 777);
	run(f);
	json_t *o = get(f, "o1");
	json_t *c = json_array_get(json_object_get(o, "commands"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "type")), "CancelOrder");
	assert_int_equal(stw__id_order(json_string_value(json_object_get(c, "id"))), due);
	json_decref(o);
}

/* timers-1.2: progress cancels the timer: after leaving the state, its due
 * time passes without effect and the void timer is counted. */
static void test_cancelled_by_progress(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "Placed", "o1", NULL);
	run(f);
	fx_clock_advance(&f->clock, 999);
	emit(f, "e2", "Paid", "o1", NULL);
	run(f);
	json_t *o = get(f, "o1");
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 0);
	json_decref(o);
	fx_clock_advance(&f->clock, 10000);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Paid");
	assert_int_equal(rows_of(f, "o1", "PaymentTimedOut"), 0);
	assert_int_equal(stats(f).timers_fired, 0);
	assert_int_equal(stats(f).timers_ignored, 1);
	int64_t due = 0;
	assert_int_equal(stw_next_timer(f->e, &due), STW_ENOTFOUND);
}

/* timers-1.3: a timer that fell due while the engine was down fires right
 * after the restart, once. */
static void test_fires_once_after_restart(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "Placed", "o1", NULL);
	run(f);
	stw_close(f->e);
	fx_clock_advance(&f->clock, 60000); /* down for a minute, past the due time */
	open_engine(f);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Cancelled");
	run(f);
	stw_close(f->e);
	open_engine(f);
	run(f);
	assert_int_equal(rows_of(f, "o1", "PaymentTimedOut"), 1);
	json_t *o = get(f, "o1");
	assert_int_equal(json_array_size(json_object_get(o, "commands")), 1);
	json_decref(o);
}

/* timers-1.4: staying in the state keeps its timers; a stay transition can
 * arm more; leaving and coming back does not revive the first visit's timer. */
static void test_epochs(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "Placed", "o1", NULL);
	emit(f, "e2", "Remind", "o1", NULL);
	run(f);
	json_t *o = get(f, "o1");
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 2);
	json_decref(o);
	fx_clock_advance(&f->clock, 300);
	run(f);
	assert_int_equal(rows_of(f, "o1", "Reminder"), 1); /* the stay timer fired */
	emit(f, "e3", "Hold", "o1", NULL);
	emit(f, "e4", "Resume", "o1", NULL);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Awaiting");
	fx_clock_advance(&f->clock, 5000); /* the first visit's timeout is due, but void */
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Awaiting");
	assert_int_equal(stats(f).timers_ignored, 1);
	assert_int_equal(rows_of(f, "o1", "PaymentTimedOut"), 0);
}

/* timers-1.5: a timer arriving after the instance ended is ignored by
 * construction, and one in a failure state that a person acknowledged too. */
static void test_late_after_end_and_ack(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Placed", "o1", NULL);
	emit(f, "e2", "Placed", "o2", NULL);
	emit(f, "e3", "Jam", "o2", NULL);
	run(f);
	assert_int_equal(stw_acknowledge(f->e, "orders", "o2", NULL), STW_OK);
	emit(f, "e4", "Paid", "o1", NULL);
	run(f);
	fx_clock_advance(&f->clock, 2000);
	run(f);
	assert_int_equal(stats(f).timers_fired, 0);
	assert_int_equal(stats(f).timers_ignored, 2);
}

/* timers-1.6: a due-time callback sets the time; a failing one fails the
 * instance and arms nothing. */
static void test_due_callback(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "PlacedAt", "o1", json_pack("{s:I}", "at", (json_int_t)(f->clock.now + 7)));
	emit(f, "e2", "PlacedAt", "o2", json_pack("{s:s}", "at", "soon"));
	run(f);
	int64_t due = 0;
	assert_int_equal(stw_next_timer(f->e, &due), STW_OK);
	assert_int_equal(due, f->clock.now + 7);
	json_t *o = get(f, "o2");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")),
			       "due time of timer PaymentTimedOut failed"));
	json_decref(o);
	fx_clock_advance(&f->clock, 7);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Cancelled");
	assert_int_equal(stats(f).timers_armed, 1);
}

/* timers-1.7: many timers due at once fire in batches, each once. */
static void test_burst(void **state)
{
	struct fx_world *f = *state;
	for (int i = 0; i < 600; i++) {
		char id[32], corr[32];
		snprintf(id, sizeof(id), "e%d", i);
		snprintf(corr, sizeof(corr), "o%d", i);
		emit(f, id, "Placed", corr, NULL);
	}
	run(f);
	fx_clock_advance(&f->clock, 1000);
	run(f);
	assert_int_equal(stats(f).timers_fired, 600);
	json_t *l = NULL;
	struct stw_instance_filter flt = { .state = "Cancelled", .limit = 1000 };
	assert_int_equal(stw_list_instances(f->e, &flt, &l), STW_OK);
	assert_int_equal(json_array_size(l), 600);
	json_decref(l);
}

/* Child of the crash test: fires until the failpoint, then dies. */
static const char *die_at;
static void die_cb(const char *name, void *ud)
{
	(void)ud;
	if (die_at != NULL && strcmp(name, die_at) == 0)
		_exit(0);
}

/* timers-1.8: dying before or after the firing transaction commits neither
 * loses the timer nor fires it twice. */
static void test_crash_around_firing(void **state)
{
	struct fx_world *f = *state;
	static const char *const points[] = { "timer.after_fire", "timer.before_commit",
					      "timer.after_commit" };
	emit(f, "e1", "Placed", "o1", NULL);
	emit(f, "e2", "Placed", "o2", NULL);
	emit(f, "e3", "Placed", "o3", NULL);
	run(f);
	stw_close(f->e);
	fx_clock_advance(&f->clock, 1000);
	for (size_t i = 0; i < 3; i++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct stw_engine *e = NULL;
			struct stw_options o = { .failpoint = die_cb, .batch_size = 1 };
			die_at = points[i];
			if (fx_open(f, NULL, &o, &e) != STW_OK || stw_define(e, &orders) != STW_OK)
				_exit(3);
			if (stw_run_until_idle(e) != STW_OK)
				_exit(5);
			_exit(4);
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	open_engine(f);
	run(f);
	const char *ids[] = { "o1", "o2", "o3" };
	char buf[64];
	for (int i = 0; i < 3; i++) {
		assert_string_equal(state_of(f, ids[i], buf, sizeof(buf)), "Cancelled");
		assert_int_equal(rows_of(f, ids[i], "PaymentTimedOut"), 1);
	}
}

/* timers-1.9: an event whose type is a timer's message cannot impersonate
 * the timer: it is recorded as unrouted and the instance does not move. */
static void test_no_impersonation(void **state)
{
	struct fx_world *f = *state;
	char buf[64];
	emit(f, "e1", "Placed", "o1", NULL);
	emit(f, "e2", "PaymentTimedOut", "o1", NULL);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Awaiting");
	json_t *u = NULL;
	assert_int_equal(stw_list_unrouted(f->e, "orders", 0, &u), STW_OK);
	assert_int_equal(json_array_size(u), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(u, 0), "event_type")),
			    "PaymentTimedOut");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(u, 0), "reason")),
			       "timer message"));
	json_decref(u);
	/* The real timer still fires at its time. */
	fx_clock_advance(&f->clock, 1000);
	run(f);
	assert_string_equal(state_of(f, "o1", buf, sizeof(buf)), "Cancelled");
}

/* timers-1.10: an instance that failed outside a failure state lists no
 * pending timer, and its timer is void when it falls due. */
static void test_halted_instance_has_no_timers(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Placed", "o1", NULL);
	emit(f, "e2", "Resume", "o1", NULL); /* not accepted in Awaiting: fails */
	run(f);
	json_t *o = get(f, "o1");
	assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 0);
	json_decref(o);
	fx_clock_advance(&f->clock, 1000);
	run(f);
	assert_int_equal(stats(f).timers_fired, 0);
	assert_int_equal(stats(f).timers_ignored, 1);
}

/* timers-2.1: a timer whose message its state does not accept, or a timer on
 * a stateless policy, is refused at definition time. */
static void test_validation(void **state)
{
	struct fx_world *f = *state;
	static const struct stw_timer_def nowhere[] = { { "Nobody", 10, NULL }, { NULL, 0, NULL } };
	static const struct stw_transition_def bad[] = {
		{ NULL, "Placed", "Awaiting", NULL, NULL, nowhere },
		{ "Awaiting", "Paid", "Paid", NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	struct stw_definition d = orders;
	d.name = "bad";
	d.transitions = bad;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "timer Nobody"));
	static const struct stw_timer_def negative[] = { { "Paid", -1, NULL }, { NULL, 0, NULL } };
	static const struct stw_transition_def neg[] = {
		{ NULL, "Placed", "Awaiting", NULL, NULL, negative },
		{ "Awaiting", "Paid", "Paid", NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	d.transitions = neg;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	static const struct stw_transition_def policy[] = {
		{ NULL, "Placed", NULL, NULL, NULL, timeout },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	struct stw_definition p = { .name = "p", .sources = sources, .transitions = policy };
	assert_int_equal(stw_define(f->e, &p), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "stateless"));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_fires_at_due_time),
		T(test_message_recorded_at_due_time),
		T(test_cancelled_by_progress),
		T(test_fires_once_after_restart),
		T(test_epochs),
		T(test_late_after_end_and_ack),
		T(test_due_callback),
		T(test_burst),
		T(test_crash_around_firing),
		T(test_no_impersonation),
		T(test_halted_instance_has_no_timers),
		T(test_validation),
	};
#undef T
	return cmocka_run_group_tests_name("timers", tests, NULL, NULL);
}
