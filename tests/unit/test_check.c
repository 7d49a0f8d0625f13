/*
 * test_check.c - what stw_define refuses in a state machine beyond its
 * tables (a state no trigger leads to, an active state with no way out), and
 * what stw_check lists: those plus warnings (an active state never left, a
 * transition from a terminal state) and commands to contexts nobody serves.
 * Cases are numbered check-N.M; each is one small definition.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

static const char *const sources[] = { "In", NULL };

#define END                                                                                        \
	{                                                                                          \
		NULL, NULL, NULL, NULL, NULL, NULL                                                 \
	}

/* check-1.1: Orphan is named but nothing leads to it. */
static const struct stw_state_def s_orphan[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ "Orphan", STW_STATE_ACTIVE },
	{ NULL, 0 },
};
static const struct stw_transition_def t_orphan[] = {
	{ NULL, "Start", "Open", NULL, NULL, NULL },
	{ "Open", "Close", "Done", NULL, NULL, NULL },
	{ "Orphan", "Close", "Done", NULL, NULL, NULL },
	END,
};

/* check-1.2: Waiting is active, but nothing leaves it. */
static const struct stw_state_def s_dead_end[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Waiting", STW_STATE_ACTIVE },
	{ NULL, 0 },
};
static const struct stw_transition_def t_dead_end[] = {
	{ NULL, "Start", "Open", NULL, NULL, NULL },
	{ "Open", "Wait", "Waiting", NULL, NULL, NULL },
	END,
};

/* check-1.3: Counting only counts (its transition stays): a warning, not an error. */
static const struct stw_state_def s_self[] = {
	{ "Counting", STW_STATE_ACTIVE },
	{ NULL, 0 },
};
static const struct stw_transition_def t_self[] = {
	{ NULL, "Start", "Counting", NULL, NULL, NULL },
	{ "Counting", "Tick", NULL, NULL, NULL, NULL },
	END,
};

/* check-1.4: a transition from the terminal Done is never taken: a warning. */
static const struct stw_state_def s_terminal[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def t_terminal[] = {
	{ NULL, "Start", "Open", NULL, NULL, NULL },
	{ "Open", "Close", "Done", NULL, NULL, NULL },
	{ "Done", "Reopen", "Open", NULL, NULL, NULL },
	END,
};

/*
 * check-1.5: fine: Acked is reached by a person's acknowledgement of
 * Broken, Late only through a timer, Failed ends the process.
 */
static const struct stw_state_def s_fine[] = {
	{ "Open", STW_STATE_ACTIVE },   { "Late", STW_STATE_ACTIVE },
	{ "Broken", STW_STATE_MANUAL }, { "Acked", STW_STATE_TERMINAL },
	{ "Done", STW_STATE_TERMINAL }, { NULL, 0 },
};
static const struct stw_timer_def after_a_day[] = {
	{ "DayPassed", 86400000, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_command_def ask[] = {
	{ "Far", "Ask", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def t_fine[] = {
	{ NULL, "Start", "Open", ask, NULL, after_a_day },
	{ "Open", "DayPassed", "Late", NULL, NULL, NULL },
	{ "Open", "Answered", "Done", NULL, NULL, NULL },
	{ "Late", "Answered", "Done", NULL, NULL, NULL },
	{ "Late", "GaveUp", "Broken", NULL, NULL, NULL },
	END,
};

#define DEF(n, s, t)                                                                               \
	{                                                                                          \
		.name = n, .sources = sources, .states = s, .transitions = t, .ack_state = NULL    \
	}

static int setup(void **state)
{
	return fx_setup(state, "check", 1000000, NULL);
}

/* Defines def and expects it refused with a message holding each of the words. */
static void refused(struct stw_engine *e, const struct stw_definition *def, const char *w1,
		    const char *w2)
{
	assert_int_equal(stw_define(e, def), STW_EINVAL);
	const char *msg = stw_errmsg(e);
	if (strstr(msg, def->name) == NULL || strstr(msg, w1) == NULL || strstr(msg, w2) == NULL)
		fail_msg("message '%s' does not name %s, '%s' and '%s'", msg, def->name, w1, w2);
}

/* The findings of stw_check as "severity state transition: message" lines. */
static void findings(struct stw_engine *e, char *buf, size_t cap)
{
	json_t *arr = NULL;
	assert_stw_ok(e, stw_check(e, &arr));
	buf[0] = '\0';
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		size_t len = strlen(buf);
		json_t *st = json_object_get(o, "state"), *tr = json_object_get(o, "transition");
		snprintf(buf + len, cap - len, "%s %s %s: %s\n",
			 json_string_value(json_object_get(o, "severity")),
			 json_is_string(st) ? json_string_value(st) : "-",
			 json_is_string(tr) ? json_string_value(tr) : "-",
			 json_string_value(json_object_get(o, "message")));
	}
	json_decref(arr);
}

/* check-1.1, 1.2: errors refuse the definition, naming it, the state and why. */
static void test_errors_refused(void **state)
{
	struct fx_world *f = *state;
	const struct stw_definition orphan = DEF("orphan", s_orphan, t_orphan);
	const struct stw_definition dead_end = DEF("dead_end", s_dead_end, t_dead_end);
	refused(f->e, &orphan, "Orphan", "cannot be reached");
	refused(f->e, &dead_end, "Waiting", "no way out");
	/* Neither was registered. */
	json_t *defs = NULL;
	assert_stw_ok(f->e, stw_list_definitions(f->e, &defs));
	assert_int_equal(json_array_size(defs), 0);
	json_decref(defs);
}

/* 1 when the line that `at` points into ends with `suffix`. */
static int line_ends(const char *at, const char *suffix)
{
	const char *eol = strchr(at, '\n');
	size_t n = strlen(suffix);
	return eol != NULL && (size_t)(eol - at) >= n && strncmp(eol - n, suffix, n) == 0;
}

/* check-1.3, 1.4: warnings register the definition and are listed by stw_check. */
static void test_warnings_listed(void **state)
{
	struct fx_world *f = *state;
	const struct stw_definition self = DEF("self", s_self, t_self);
	const struct stw_definition terminal = DEF("terminal", s_terminal, t_terminal);
	assert_stw_ok(f->e, stw_define(f->e, &self));
	assert_stw_ok(f->e, stw_define(f->e, &terminal));
	char buf[2048];
	findings(f->e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "warning Counting -: definition self: active state Counting is "
				    "never left"));
	assert_non_null(strstr(buf, "warning Done Reopen: definition terminal: the transition "
				    "from Done on Reopen is never taken"));
	assert_null(strstr(buf, "error"));
	assert_null(strstr(buf, "(version"));

	/* With a second version registered, each finding says which version it is about. */
	struct stw_definition self2 = self;
	self2.version = 2;
	assert_stw_ok(f->e, stw_define(f->e, &self2));
	findings(f->e, buf, sizeof(buf));
	const char *v1 = strstr(buf, "definition self: active state Counting is never left");
	const char *v2 =
	    v1 ? strstr(v1 + 1, "definition self: active state Counting is never left") : NULL;
	assert_non_null(v2);
	assert_true(line_ends(v1, " (version 1)"));
	assert_true(line_ends(v2, " (version 2)"));
	const char *t = strstr(buf, "definition terminal: the transition from Done on Reopen");
	assert_non_null(t);
	assert_false(line_ends(t, ")")); /* one version: no tag */
}

/*
 * check-1.5: a sound definition has no finding once its command's context
 * has a remote; before, stw_check names the context as an error.
 */
static void noop_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < n; i++)
		batch[i].outcome = STW_OK;
}

static void test_sound_and_wired(void **state)
{
	struct fx_world *f = *state;
	struct stw_definition fine = DEF("fine", s_fine, t_fine);
	fine.ack_state = "Acked";
	assert_stw_ok(f->e, stw_define(f->e, &fine));
	char buf[2048];
	findings(f->e, buf, sizeof(buf));
	assert_string_equal(buf, "error - Start: definition fine: the transition from (start) on "
				 "Start sends Ask to context Far, which has no service and no "
				 "remote\n");
	struct stw_remote_def far = { .send = noop_send };
	assert_stw_ok(f->e, stw_register_remote(f->e, "Far", &far));
	findings(f->e, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

/* check-1.6: an acknowledgement state is reachable only through a failure or manual state. */
static const struct stw_state_def s_ack[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ "Acked", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def t_ack[] = {
	{ NULL, "Start", "Open", NULL, NULL, NULL },
	{ "Open", "Close", "Done", NULL, NULL, NULL },
	END,
};

static void test_ack_state_needs_a_failure(void **state)
{
	struct fx_world *f = *state;
	struct stw_definition ack = DEF("ack", s_ack, t_ack);
	ack.ack_state = "Acked";
	refused(f->e, &ack, "Acked", "cannot be reached");
}

/* check-1.7: two transitions from Open on Close; check-1.8: a timer nobody listens to. */
static const struct stw_transition_def t_twice[] = {
	{ NULL, "Start", "Open", NULL, NULL, NULL },
	{ "Open", "Close", "Done", NULL, NULL, NULL },
	{ "Open", "Close", "Open", NULL, NULL, NULL },
	END,
};
static const struct stw_timer_def deaf_timer[] = {
	{ "Nudge", 1000, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_transition_def t_deaf[] = {
	{ NULL, "Start", "Open", NULL, NULL, deaf_timer },
	{ "Open", "Close", "Done", NULL, NULL, NULL },
	END,
};

static void test_table_errors_refused(void **state)
{
	struct fx_world *f = *state;
	const struct stw_definition twice = DEF("twice", s_terminal, t_twice);
	const struct stw_definition deaf = DEF("deaf", s_terminal, t_deaf);
	refused(f->e, &twice, "two transitions from Open", "Close");
	refused(f->e, &deaf, "timer Nudge", "Open");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_errors_refused),       T(test_warnings_listed),
		T(test_sound_and_wired),      T(test_ack_state_needs_a_failure),
		T(test_table_errors_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
