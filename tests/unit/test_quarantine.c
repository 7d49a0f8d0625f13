/*
 * test_quarantine.c - one bad instance stays one bad instance. A stored
 * instance the engine cannot interpret (a state the definition no longer has,
 * data that is not a JSON object) fails alone, with the reason and the
 * message in its history, while the cursor, the timers and every other
 * instance go on. Before, every later event of the source context failed the
 * round with STW_ESTORE and the cursor stayed put.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>

#include "fixture.h"

#define HOUR 3600000

static const char *const sources[] = { "Shipping", NULL };
static const struct stw_timer_def remind[] = {
	{ "Reminder", HOUR, NULL },
	{ NULL, 0, NULL },
};

/* Version 1: Started -> Waiting (a reminder in an hour -> Late); Shipped -> Done. */
static const struct stw_state_def v1_states[] = {
	{ "Waiting", STW_STATE_ACTIVE },
	{ "Late", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def v1_transitions[] = {
	{ NULL, "Started", "Waiting", NULL, NULL, remind },
	{ "Waiting", "Reminder", "Late", NULL, NULL, NULL },
	{ "Waiting", "Shipped", "Done", NULL, NULL, NULL },
	{ "Late", "Shipped", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/*
 * Version 1 again, deployed over live instances with Waiting renamed Pending
 * and its version number not raised (a new number would run beside version
 * 1 if both are registered, or fail the instances of version 1 for want of
 * it: see test_versions.c).
 */
static const struct stw_state_def v2_states[] = {
	{ "Pending", STW_STATE_ACTIVE },
	{ "Late", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def v2_transitions[] = {
	{ NULL, "Started", "Pending", NULL, NULL, remind },
	{ "Pending", "Reminder", "Late", NULL, NULL, NULL },
	{ "Pending", "Shipped", "Done", NULL, NULL, NULL },
	{ "Late", "Shipped", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct stw_definition v1 = {
	.name = "shipment",
	.version = 1,
	.sources = sources,
	.states = v1_states,
	.transitions = v1_transitions,
};
static const struct stw_definition v2 = {
	.name = "shipment",
	.version = 1,
	.sources = sources,
	.states = v2_states,
	.transitions = v2_transitions,
};

static int setup(void **state)
{
	if (fx_setup(state, "quarantine", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &v1));
	return 0;
}

static void emit(struct fx_world *f, const char *type, const char *corr)
{
	struct stw_event ev = { .type = type, .stream = corr, .correlation_id = corr };
	assert_stw_ok(f->e, stw_append(f->e, "Shipping", STW_ANY_VERSION, &ev, 1, NULL));
}

/* The instance's field `key` as a string ("" when absent). */
static void field(struct fx_world *f, const char *id, const char *key, char *out, size_t cap)
{
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "shipment", id, &o));
	const char *v = json_string_value(json_object_get(o, key));
	snprintf(out, cap, "%s", v ? v : "");
	json_decref(o);
}

/* The last history row of the instance: "TYPE OUTCOME". */
static void last_history(struct fx_world *f, const char *id, char *out, size_t cap)
{
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "shipment", id, &o));
	json_t *h = json_object_get(o, "history");
	json_t *last = json_array_get(h, json_array_size(h) - 1);
	snprintf(out, cap, "%s %s", json_string_value(json_object_get(last, "message_type")),
		 json_string_value(json_object_get(last, "outcome")));
	json_decref(o);
}

/* Restarts the engine with version 2 of the definition. */
static void deploy_v2(struct fx_world *f)
{
	stw_close(f->e);
	f->e = NULL;
	assert_int_equal(fx_world_open(f, NULL), STW_OK);
	assert_stw_ok(f->e, stw_define(f->e, &v2));
}

/*
 * quarantine-1.1: after Waiting is renamed, an event for an instance still
 * in Waiting fails that instance (reason: the unknown state; the event in
 * its history), and a new instance's trigger in the same batch goes on.
 */
static void test_renamed_state_fails_one_instance(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "V-1");
	emit(f, "Started", "V-2");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	deploy_v2(f);
	emit(f, "Shipped", "V-1");
	emit(f, "Started", "V-3");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	char buf[512];
	field(f, "V-1", "status", buf, sizeof(buf));
	assert_string_equal(buf, "failed");
	field(f, "V-1", "state", buf, sizeof(buf));
	assert_string_equal(buf, "Waiting"); /* kept as stored, for a person to see */
	field(f, "V-1", "reason", buf, sizeof(buf));
	assert_non_null(strstr(buf, "unknown state Waiting"));
	last_history(f, "V-1", buf, sizeof(buf));
	assert_string_equal(buf, "Shipped failed");
	field(f, "V-3", "state", buf, sizeof(buf));
	assert_string_equal(buf, "Pending");
	int64_t cursor = 0, head = 0;
	assert_stw_ok(f->e, stw_get_cursor(f->e, "shipment", "Shipping", &cursor));
	assert_stw_ok(f->e, stw_head(f->e, "Shipping", &head));
	assert_int_equal(cursor, head);

	/* A later event for it is recorded too; it stays failed, nothing else stops. */
	emit(f, "Shipped", "V-1");
	emit(f, "Shipped", "V-3");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	field(f, "V-3", "status", buf, sizeof(buf));
	assert_string_equal(buf, "completed");
	field(f, "V-1", "status", buf, sizeof(buf));
	assert_string_equal(buf, "failed");
}

/*
 * quarantine-1.2: the reminder of an instance in the renamed state fails that
 * instance when it falls due; the reminders of the others still fire.
 */
static void test_timer_of_a_bad_instance(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "V-1");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	deploy_v2(f);
	emit(f, "Started", "V-2");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	fx_clock_advance(&f->clock, HOUR + 1);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	char buf[512];
	field(f, "V-1", "status", buf, sizeof(buf));
	assert_string_equal(buf, "failed");
	last_history(f, "V-1", buf, sizeof(buf));
	assert_string_equal(buf, "Reminder failed");
	field(f, "V-2", "state", buf, sizeof(buf));
	assert_string_equal(buf, "Late");
}

/*
 * quarantine-1.3: data that is not a JSON object (written by hand into the
 * store) fails its instance alone when a transition needs the data.
 */
static int keep_count(const struct stw_step_info *si)
{
	return json_object_set_new(si->data, "n", json_integer(1)) == 0 ? STW_OK : STW_ENOMEM;
}

static const struct stw_transition_def counting_transitions[] = {
	{ NULL, "Started", "Pending", NULL, NULL, NULL },
	{ "Pending", "Shipped", "Done", NULL, keep_count, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_state_def counting_states[] = {
	{ "Pending", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_definition counting = {
	.name = "counting",
	.sources = sources,
	.states = counting_states,
	.transitions = counting_transitions,
};

static void test_bad_data_fails_one_instance(void **state)
{
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &counting));
	emit(f, "Started", "C-1");
	emit(f, "Started", "C-2");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "UPDATE stw_instances SET data = '[1, 2]' WHERE "
				      "definition = 'counting' AND id = 'C-1'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	emit(f, "Shipped", "C-1");
	emit(f, "Shipped", "C-2");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "counting", "C-1", &o));
	assert_string_equal(json_string_value(json_object_get(o, "status")), "failed");
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")), "malformed data"));
	json_decref(o);
	assert_stw_ok(f->e, stw_get_instance(f->e, "counting", "C-2", &o));
	assert_string_equal(json_string_value(json_object_get(o, "status")), "completed");
	json_decref(o);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_renamed_state_fails_one_instance),
		T(test_timer_of_a_bad_instance),
		T(test_bad_data_fails_one_instance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
