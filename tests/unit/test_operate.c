/*
 * test_operate.c - what a person does to instances: the list of those that
 * need a person, retrying from a chosen state (commands and timers issued
 * again under new ids), cancelling, and what each refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/engine_int.h"
#include "fixture.h"

/* A payment: Requested sends Charge and arms a timeout; Declined needs a
 * person; Charged completes. */
static const struct stw_state_def states[] = {
	{ "Requested", STW_STATE_ACTIVE },
	{ "Charged", STW_STATE_TERMINAL },
	{ "Declined", STW_STATE_MANUAL },
	{ "Broken", STW_STATE_FAILURE },
	{ NULL, 0 },
};
static const struct stw_command_def charge[] = {
	{ "Bank", "Charge", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_timer_def timeout[] = {
	{ "ChargeTimedOut", 5000, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "PaymentRequested", "Requested", charge, NULL, timeout },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ "Requested", "ChargeDeclined", "Declined", NULL, NULL, NULL },
	{ "Requested", "ChargeTimedOut", "Broken", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", NULL };
static const char *key_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "key");
}
static const struct stw_definition payments = {
	.name = "payments",
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.unique_key = key_of,
};

/* Each test's world: a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	if (fx_setup(state, "operate", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &payments));
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
	assert_int_equal(stw_get_instance(f->e, "payments", id, &o), STW_OK);
	return o;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Declines p1 (needs a person) and breaks p2 (an ordinary failure). */
static void two_failures(struct fx_world *f)
{
	emit(f, "e1", "PaymentRequested", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "PaymentRequested", "p2", json_pack("{s:s}", "key", "k2"));
	emit(f, "e3", "ChargeDeclined", "p1", json_pack("{s:s}", "reason", "card expired"));
	run(f);
	fx_clock_advance(&f->clock, 5000);
	run(f);
}

/* operate-1.1: instances that need a person are listed apart, with the reason. */
static void test_interventions_listed(void **state)
{
	struct fx_world *f = *state;
	two_failures(f);
	json_t *l = NULL;
	assert_int_equal(stw_list_interventions(f->e, 0, &l), STW_OK);
	assert_int_equal(json_array_size(l), 1);
	json_t *p = json_array_get(l, 0);
	assert_string_equal(str(p, "id"), "p1");
	assert_string_equal(str(p, "status"), "failed");
	assert_string_equal(str(p, "reason"), "ChargeDeclined: card expired");
	json_decref(l);
	json_t *o = get(f, "p2");
	assert_string_equal(str(o, "state"), "Broken");
	assert_string_equal(str(o, "status"), "failed");
	json_decref(o);
}

/* operate-1.2: retrying from a chosen state makes the instance active there,
 * sends the state's commands again under new ids, re-arms its timers, and
 * records the retry; the process then goes on normally. */
static void test_retry(void **state)
{
	struct fx_world *f = *state;
	two_failures(f);
	assert_int_equal(stw_retry(f->e, NULL, "p1", "Requested", "card renewed"), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "state"), "Requested");
	assert_string_equal(str(o, "status"), "active");
	assert_true(json_is_null(json_object_get(o, "reason")));
	json_t *cmds = json_object_get(o, "commands");
	assert_int_equal(json_array_size(cmds), 2);
	assert_string_not_equal(str(json_array_get(cmds, 0), "id"),
				str(json_array_get(cmds, 1), "id"));
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 1);
	json_t *h = json_object_get(o, "history");
	json_t *last = json_array_get(h, json_array_size(h) - 1);
	assert_string_equal(str(last, "message_type"), "Retry");
	assert_string_equal(str(last, "outcome"), "retried");
	assert_string_equal(str(last, "from"), "Declined");
	assert_string_equal(str(last, "to"), "Requested");
	assert_string_equal(str(last, "reason"), "card renewed");
	json_decref(o);
	json_t *l = NULL;
	assert_int_equal(stw_list_interventions(f->e, 0, &l), STW_OK);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
	emit(f, "e4", "Charged", "p1", NULL);
	run(f);
	o = get(f, "p1");
	assert_string_equal(str(o, "status"), "completed");
	json_decref(o);
	/* The retried instance's old timer (first visit) never fires. */
	fx_clock_advance(&f->clock, 60000);
	run(f);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.timers_fired, 1); /* p2's only */
}

/* operate-1.3: retry refuses what does not fit. */
static void test_retry_refusals(void **state)
{
	struct fx_world *f = *state;
	two_failures(f);
	emit(f, "e5", "PaymentRequested", "p3", json_pack("{s:s}", "key", "k3"));
	run(f);
	assert_int_equal(stw_retry(f->e, NULL, "p3", "Requested", NULL), STW_ESTATE);
	assert_int_equal(stw_retry(f->e, NULL, "p1", "Charged", NULL), STW_EINVAL);
	assert_int_equal(stw_retry(f->e, NULL, "p1", "Nowhere", NULL), STW_EINVAL);
	assert_int_equal(stw_retry(f->e, NULL, "p1", NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_retry(f->e, NULL, "nope", "Requested", NULL), STW_ENOTFOUND);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "status"), "failed");
	json_decref(o);
}

/* operate-1.4: cancelling ends an active or failed instance, frees its key,
 * voids its timers, records the note; an ended one is refused. */
static void test_cancel(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "PaymentRequested", "p1", json_pack("{s:s}", "key", "k1"));
	run(f);
	assert_int_equal(stw_cancel(f->e, NULL, "p1", "customer left"), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "status"), "cancelled");
	assert_string_equal(str(o, "reason"), "customer left");
	assert_int_equal(json_array_size(json_object_get(o, "timers")), 0);
	json_decref(o);
	assert_int_equal(stw_cancel(f->e, NULL, "p1", NULL), STW_ESTATE);
	emit(f, "e2", "PaymentRequested", "p2", json_pack("{s:s}", "key", "k1"));
	run(f);
	o = get(f, "p2");
	assert_string_equal(str(o, "status"), "active"); /* the key was freed */
	json_decref(o);
	fx_clock_advance(&f->clock, 60000);
	run(f);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.timers_ignored, 1); /* p1's timeout, void */
	struct stw_instance_filter flt = { .status = "cancelled" };
	json_t *l = NULL;
	assert_int_equal(stw_list_instances(f->e, &flt, &l), STW_OK);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	/* Cancelling a failure without a note keeps the failure's reason. */
	emit(f, "e3", "PaymentRequested", "p3", json_pack("{s:s}", "key", "k3"));
	emit(f, "e4", "ChargeDeclined", "p3", json_pack("{s:s}", "reason", "card expired"));
	run(f);
	assert_int_equal(stw_cancel(f->e, NULL, "p3", NULL), STW_OK);
	o = get(f, "p3");
	assert_string_equal(str(o, "status"), "cancelled");
	assert_string_equal(str(o, "reason"), "ChargeDeclined: card expired");
	json_decref(o);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_interventions_listed),
		T(test_retry),
		T(test_retry_refusals),
		T(test_cancel),
	};
#undef T
	return cmocka_run_group_tests_name("operate", tests, NULL, NULL);
}
