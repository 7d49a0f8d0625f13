/*
 * test_machine.c - unit tests of src/core/machine.c, the transition table as
 * pure functions, without an engine or a store: which transition a message
 * takes, what becomes of a message an instance's state does not accept or
 * an ended instance receives (stw__judge), and what a transition produces
 * (stw__plan): the new state and status, the command payloads and the
 * timers' due times from the definition's callbacks, or why a callback
 * failed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/machine.h"

/* An order: Placed -> Paid (sends Kitchen.Cook) -> Delivered, with a payment
 * timeout and a failure path. */
static const char *const sources[] = { "Orders", NULL };

static const struct stw_state_def states[] = {
	{ "Placed", STW_STATE_ACTIVE },      /* 0 */
	{ "Paid", STW_STATE_ACTIVE },        /* 1 */
	{ "Delivered", STW_STATE_TERMINAL }, /* 2 */
	{ "Refunding", STW_STATE_FAILURE },  /* 3 */
	{ NULL, 0 },
};

static int fail_update(const struct stw_step_info *si)
{
	(void)si;
	return STW_ESTATE;
}

static int add_paid(const struct stw_step_info *si)
{
	return json_object_set_new(si->data, "paid", json_true()) == 0 ? STW_OK : STW_ENOMEM;
}

static int cook_payload(const struct stw_step_info *si, json_t **out)
{
	*out = json_pack("{s:s, s:i}", "order", si->instance_id, "index", si->command_index);
	return *out ? STW_OK : STW_ENOMEM;
}

static int array_payload(const struct stw_step_info *si, json_t **out)
{
	(void)si;
	*out = json_array();
	return STW_OK;
}

static int due_in_an_hour(const struct stw_step_info *si, int64_t *due)
{
	(void)si;
	*due += 3600000;
	return STW_OK;
}

static int due_fails(const struct stw_step_info *si, int64_t *due)
{
	(void)si;
	(void)due;
	return STW_EINVAL;
}

static const struct stw_command_def cook[] = {
	{ "Kitchen", "Cook", cook_payload },
	{ "Billing", "Record", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_command_def bad_cook[] = {
	{ "Kitchen", "Cook", array_payload },
	{ NULL, NULL, NULL },
};
static const struct stw_timer_def payment_timeout[] = {
	{ "PaymentTimedOut", 120000, NULL },
	{ "Reminder", 0, due_in_an_hour },
	{ NULL, 0, NULL },
};
static const struct stw_timer_def failing_timer[] = {
	{ "PaymentTimedOut", 1000, due_fails },
	{ NULL, 0, NULL },
};

static const struct stw_transition_def transitions[] = {
	/* 0 */ { NULL, "OrderPlaced", "Placed", NULL, NULL, payment_timeout },
	/* 1 */ { "Placed", "PaymentReceived", "Paid", cook, add_paid, NULL },
	/* 2 */ { "Placed", "PaymentTimedOut", "Refunding", NULL, NULL, NULL },
	/* 3 */ { "Placed", "Reminder", NULL, NULL, NULL, NULL },
	/* 4 */ { "Paid", "Delivered", "Delivered", NULL, NULL, NULL },
	/* 5 */ { "Paid", "Broken", "Paid", NULL, fail_update, NULL },
	/* 6 */ { "Paid", "Odd", "Paid", bad_cook, NULL, NULL },
	/* 7 */ { "Refunding", "Refunded", "Refunding", NULL, NULL, NULL },
	/* 8 */ { "Paid", "Late", "Paid", NULL, NULL, failing_timer },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct stw_definition orders = {
	.name = "Order",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* The tables resolved as stw_define resolves them (definition.c), by hand. */
static int from[] = { -1, 0, 0, 0, 1, 1, 1, 3, 1 };
static int to[] = { 0, 1, 3, -1, 2, 1, 1, 3, 1 };
static const struct stw__def def = {
	.d = &orders,
	.nstates = 4,
	.ntransitions = 9,
	.from = from,
	.to = to,
	.ack_state = -1,
	.nsources = 1,
	.ntimers = 3,
};

/* machine-1: transitions are found by state and type; timer messages are known. */
static void test_lookups(void **state)
{
	(void)state;
	assert_int_equal(stw__find_transition(&def, -1, "OrderPlaced"), 0);
	assert_int_equal(stw__find_transition(&def, 0, "PaymentReceived"), 1);
	assert_int_equal(stw__find_transition(&def, 1, "PaymentReceived"), -1);
	assert_int_equal(stw__find_transition(&def, -1, "PaymentReceived"), -1);
	assert_true(stw__handles_type(&def, "Delivered"));
	assert_false(stw__handles_type(&def, "Unknown"));
	assert_true(stw__is_timer_message(&def, "PaymentTimedOut"));
	assert_true(stw__is_timer_message(&def, "Reminder"));
	assert_false(stw__is_timer_message(&def, "OrderPlaced"));
}

/* machine-2: what a message does at an instance, by state and status (a table). */
static void test_judge(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int state;
		enum stw__istatus status;
		const char *type;
		enum stw__fate fate;
		int transition;
		const char *why;
	} cases[] = {
		{ "2.1 accepted", 0, STW__I_ACTIVE, "PaymentReceived", STW__FATE_APPLY, 1, "" },
		{ "2.2 not accepted", 1, STW__I_ACTIVE, "PaymentReceived", STW__FATE_FAIL, -1,
		  "PaymentReceived is not accepted in state Paid" },
		{ "2.3 failure path goes on", 3, STW__I_FAILED, "Refunded", STW__FATE_APPLY, 7,
		  "" },
		{ "2.4 failure path, not accepted", 3, STW__I_FAILED, "Delivered", STW__FATE_IGNORE,
		  -1, "Delivered is not accepted in state Refunding" },
		{ "2.5 halted", 1, STW__I_FAILED, "Delivered", STW__FATE_IGNORE, 4,
		  "instance failed in state Paid" },
		{ "2.6 completed", 2, STW__I_COMPLETED, "Delivered", STW__FATE_IGNORE, -1,
		  "instance is completed" },
		{ "2.7 cancelled", 0, STW__I_CANCELLED, "PaymentReceived", STW__FATE_IGNORE, 1,
		  "instance is cancelled" },
		{ "2.8 acknowledged", 3, STW__I_ACKNOWLEDGED, "Refunded", STW__FATE_IGNORE, 7,
		  "instance is acknowledged" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct stw__verdict v;
		stw__judge(&def, cases[i].state, cases[i].status, cases[i].type, &v);
		if (v.fate != cases[i].fate || strcmp(v.why, cases[i].why) != 0 ||
		    (v.fate == STW__FATE_APPLY && v.transition != cases[i].transition))
			fail_msg("%s: fate %d transition %d why '%s'", cases[i].name, v.fate,
				 v.transition, v.why);
	}
}

/* A message of `type` with data, as a step would hand it. */
static struct stw_event message(const char *type, json_t *data)
{
	return (struct stw_event){ .id = "m-1", .type = type, .data = data, .recorded_at = 5 };
}

static struct stw_step_info info(json_t *data, const struct stw_event *ev)
{
	return (struct stw_step_info){
		.definition = "Order", .instance_id = "o-1", .data = data, .event = ev
	};
}

/*
 * machine-3: a trigger plans its state and timers: a delay from now, and a
 * due callback that moves it; a transition plans its update, its payloads
 * (a callback's, or a copy of the data) and its state.
 */
static void test_plan_produces(void **state)
{
	(void)state;
	json_t *data = json_object();
	struct stw_event ev = message("OrderPlaced", json_object());
	struct stw_step_info si = info(data, &ev);
	struct stw__plan p;
	assert_int_equal(stw__plan(&def, 0, -1, STW__I_ACTIVE, &si, 1, 1000, &p), STW_OK);
	assert_string_equal(p.why, "");
	assert_int_equal(p.from, -1);
	assert_int_equal(p.to, 0);
	assert_int_equal(p.status, STW__I_ACTIVE);
	assert_int_equal(p.ncommands, 0);
	assert_int_equal(p.ntimers, 2);
	assert_int_equal(p.due[0], 121000);
	assert_int_equal(p.due[1], 1000 + 3600000);
	stw__plan_free(&p);
	json_decref(ev.data);

	ev = message("PaymentReceived", json_object());
	assert_int_equal(stw__plan(&def, 1, 0, STW__I_ACTIVE, &si, 1, 1000, &p), STW_OK);
	assert_string_equal(p.why, "");
	assert_int_equal(p.to, 1);
	assert_true(json_is_true(json_object_get(data, "paid")));
	assert_int_equal(p.ncommands, 2);
	assert_string_equal(p.payloads[0], "{\"order\":\"o-1\",\"index\":0}");
	assert_string_equal(p.payloads[1], "{\"paid\":true}");
	assert_int_equal(p.status, STW__I_ACTIVE);
	stw__plan_free(&p);
	assert_null(p.payloads);

	/* Without running the update (a person's retry), the data stays. */
	json_object_del(data, "paid");
	assert_int_equal(stw__plan(&def, 1, 0, STW__I_ACTIVE, &si, 0, 1000, &p), STW_OK);
	assert_null(json_object_get(data, "paid"));
	assert_string_equal(p.payloads[1], "{}");
	stw__plan_free(&p);
	json_decref(ev.data);
	json_decref(data);
}

/* machine-4: a terminal state completes, a failure state fails with the message's reason. */
static void test_plan_status(void **state)
{
	(void)state;
	json_t *data = json_object();
	struct stw_event ev = message("Delivered", json_object());
	struct stw_step_info si = info(data, &ev);
	struct stw__plan p;
	assert_int_equal(stw__plan(&def, 4, 1, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_int_equal(p.status, STW__I_COMPLETED);
	stw__plan_free(&p);
	json_decref(ev.data);

	ev = message("PaymentTimedOut", json_pack("{s:s}", "reason", "no payment in time"));
	assert_int_equal(stw__plan(&def, 2, 0, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_int_equal(p.status, STW__I_FAILED);
	assert_string_equal(p.reason, "PaymentTimedOut: no payment in time");
	stw__plan_free(&p);
	json_decref(ev.data);

	ev = message("PaymentTimedOut", json_object());
	assert_int_equal(stw__plan(&def, 2, 0, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_string_equal(p.reason, "PaymentTimedOut led to failure state Refunding");
	stw__plan_free(&p);
	json_decref(ev.data);

	/* Staying in a state keeps it (to = NULL in the table). */
	ev = message("Reminder", json_object());
	assert_int_equal(stw__plan(&def, 3, 0, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_int_equal(p.from, 0);
	assert_int_equal(p.to, 0);
	assert_int_equal(p.status, STW__I_ACTIVE);
	stw__plan_free(&p);
	json_decref(ev.data);
	json_decref(data);
}

/* machine-5: a failing callback says which, and the plan holds nothing else. */
static void test_plan_callback_fails(void **state)
{
	(void)state;
	json_t *data = json_object();
	struct stw_event ev = message("Broken", json_object());
	struct stw_step_info si = info(data, &ev);
	struct stw__plan p;
	assert_int_equal(stw__plan(&def, 5, 1, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_string_equal(p.why, "update callback on Broken failed (wrong state)");
	assert_int_equal(p.ncommands, 0);
	stw__plan_free(&p);

	assert_int_equal(stw__plan(&def, 6, 1, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_string_equal(p.why, "payload of Kitchen.Cook failed (not a JSON object)");
	stw__plan_free(&p);

	assert_int_equal(stw__plan(&def, 8, 1, STW__I_ACTIVE, &si, 1, 0, &p), STW_OK);
	assert_string_equal(p.why, "due time of timer PaymentTimedOut failed (invalid argument)");
	stw__plan_free(&p);
	json_decref(ev.data);
	json_decref(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_plan_produces),
		cmocka_unit_test(test_plan_status),
		cmocka_unit_test(test_plan_callback_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
