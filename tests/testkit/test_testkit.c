/*
 * test_testkit.c - the kit of steward_test.h on the shipment process of its
 * example (examples/testkit/shipment.c): started by Packed (Warehouse), sent
 * to Carrier.Ship once Paid (Payments), reminded (a timer) after an hour.
 * It checks that given, when and advance move the engine, that the
 * expectations hold when they should and fail (-1, with the instance's
 * history in stw_test_why) when they should not, that stubs answer and
 * refuse, and that a scenario stays right under every fault, run after run,
 * while a scenario that breaks an invariant is caught with its seed. A
 * scenario also runs on a store it is given: an SQLite file, or a schema of
 * PostgreSQL when STEWARD_TEST_STORE=pg (the fixture's stores).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include <steward_test.h>

#include "fixture.h"
#include "shipment.h"

static struct stw_test *open_quiet(unsigned faults, uint64_t seed)
{
	struct stw_test_options o = { .quiet = 1, .faults = faults, .seed = seed };
	struct stw_test *t = NULL;
	assert_int_equal(stw_test_open(&o, shipment_setup, NULL, &t), 0);
	return t;
}

/* given and advance: the timer fires after an hour, not before. */
static void test_timer(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(0, 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Packed", "active"), 0);
	assert_int_equal(stw_test_expect_timer(t, "shipment", "s1", "Remind", 1), 0);
	assert_int_equal(stw_test_advance(t, 3600 * 1000 - 1), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Packed", NULL), 0);
	assert_int_equal(stw_test_advance(t, 1), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Reminded", NULL), 0);
	assert_int_equal(stw_test_expect_timer(t, "shipment", "s1", "Remind", 0), 0);
	assert_int_equal(stw_test_failures(t), 0);
	stw_test_close(t);
}

/* An expectation that does not hold: -1, counted, and why with the history. */
static void test_failure_says_why(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(0, 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Shipped", NULL), -1);
	assert_int_equal(stw_test_failures(t), 1);
	const char *why = stw_test_why(t);
	assert_non_null(strstr(why, "shipment s1 is Packed (active), not Shipped"));
	assert_non_null(
	    strstr(why, "history of shipment s1:\n  1. Packed: (start) -> Packed (applied)"));
	assert_int_equal(stw_test_expect_sent(t, "shipment", "s1", "Carrier", "Ship", NULL, 1), -1);
	assert_int_equal(stw_test_expect_state(t, "shipment", "nosuch", NULL, NULL), -1);
	assert_int_equal(stw_test_given(t, "Warehouse", "s2", "Packed", NULL, "[1]"), -1);
	assert_non_null(strstr(stw_test_why(t), "not a JSON object"));
	assert_int_equal(stw_test_failures(t), 4);
	stw_test_close(t);
}

/* Stubs: Ship answered with Shipped; refused once the stub says so (a failed call). */
static void test_stubs(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(0, 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL), 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Track", NULL, "no tracking here"), 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL), 0);
	assert_int_equal(stw_test_given(t, "Payments", "pay-s1", "Paid", "s1", "{\"amount\":5}"),
			 0);
	assert_int_equal(stw_test_expect_sent(t, "shipment", "s1", "Carrier", "Ship", NULL, 1), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Shipped", "completed"), 0);
	assert_int_equal(stw_test_count_events(t, "Carrier", "Shipped"), 1);
	assert_int_equal(stw_test_when(t, "Carrier", "Track", NULL, "s1"), -1);
	assert_non_null(strstr(stw_test_why(t), "no tracking here"));
	assert_int_equal(stw_test_when(t, "Carrier", "Drop", NULL, "s1"), -1);
	assert_non_null(strstr(stw_test_why(t), "no stub for Carrier.Drop"));
	stw_test_close(t);
}

/* Pays shipments first, first + 2, ... below 10 (given, so shuffled among themselves). */
static void pay(struct stw_test *t, int first)
{
	for (int i = first; i < 10; i += 2) {
		char id[16], pay[24];
		snprintf(id, sizeof(id), "s%d", i);
		snprintf(pay, sizeof(pay), "pay-%s", id);
		stw_test_given(t, "Payments", pay, "Paid", id, NULL);
	}
}

/* Ten shipments, paid before or after their reminder; the invariants of the process. */
static int shipments(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL);
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		stw_test_given(t, "Warehouse", id, "Packed", NULL, NULL);
	}
	stw_test_advance(t, 0); /* every shipment packed before any is paid */
	pay(t, 0);
	stw_test_advance(t, 3600 * 1000);
	pay(t, 1);
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		stw_test_expect_state(t, "shipment", id, "Shipped", "completed");
		stw_test_expect_sent(t, "shipment", id, "Carrier", "Ship", NULL, 1);
	}
	return stw_test_count_events(t, "Carrier", "Shipped") == 10 ? 0 : -1;
}

/* Every fault, 40 runs: the invariants hold in each. */
static void test_faults_hold(void **state)
{
	(void)state;
	struct stw_test_options o = { .quiet = 1, .faults = STW_TEST_ALL_FAULTS, .seed = 1 };
	assert_int_equal(stw_test_run(&o, 40, shipment_setup, NULL, shipments, NULL), 0);
}

/*
 * Packed and Paid given together: in some runs the shuffle appends Paid
 * (another context) first, which the definition cannot take before Packed,
 * and the scenario's invariant catches it, with the seed.
 */
static int paid_with_packed(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL);
	stw_test_given(t, "Payments", "pay-s1", "Paid", "s1", NULL);
	return stw_test_expect_sent(t, "shipment", "s1", "Carrier", "Ship", NULL, 1);
}

static void test_faults_catch(void **state)
{
	(void)state;
	struct stw_test_options o = { .quiet = 1, .faults = STW_TEST_SHUFFLE, .seed = 1 };
	assert_int_equal(stw_test_run(&o, 20, shipment_setup, NULL, paid_with_packed, NULL), -1);
	o.faults = STW_TEST_DUPLICATES | STW_TEST_REOPEN; /* without the shuffle it holds */
	assert_int_equal(stw_test_run(&o, 20, shipment_setup, NULL, paid_with_packed, NULL), 0);
}

/* The faults happen: the engine reopened, and each event handled again. */
static void test_faults_happen(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(STW_TEST_DUPLICATES | STW_TEST_REOPEN, 3);
	for (int i = 0; i < 12 && stw_test_reopens(t) == 0; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		assert_int_equal(stw_test_given(t, "Warehouse", id, "Packed", NULL, NULL), 0);
	}
	assert_true(stw_test_reopens(t) > 0);
	/* Each event is handled, then recognised once more: seen on a call the engine is not
	 * reopened after (its counters start again when it is). */
	int checked = 0;
	for (int i = 0; i < 12 && !checked; i++) {
		char id[16];
		snprintf(id, sizeof(id), "late%d", i);
		int reopens = stw_test_reopens(t);
		struct stw_stats before, after;
		stw_get_stats(stw_test_engine(t), &before);
		assert_int_equal(stw_test_given(t, "Warehouse", id, "Packed", NULL, NULL), 0);
		stw_get_stats(stw_test_engine(t), &after);
		checked = stw_test_reopens(t) == reopens;
		if (checked)
			assert_int_equal(after.duplicates, before.duplicates + 1);
		assert_int_equal(stw_test_expect_state(t, "shipment", id, "Packed", NULL), 0);
	}
	assert_true(checked);
	assert_int_equal(stw_test_failures(t), 0);
	stw_test_close(t);
}

/*
 * Held, the engine does not run: Packed and Paid are appended, no shipment
 * starts; released, it ships. Then the expectations of the instance's
 * fields, history, commands and of the logs hold and fail as they should,
 * and a replay handles every event again with nothing changed.
 */
static void test_hold_replay(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(0, 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL), 0);
	assert_int_equal(stw_test_hold(t), 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL), 0);
	assert_int_equal(stw_test_given(t, "Payments", "pay-s1", "Paid", "s1", NULL), 0);
	assert_int_equal(stw_test_expect_events(t, "Warehouse", NULL, NULL, "Packed"), 0);
	assert_int_equal(stw_test_count_instances(t, "shipment", NULL), 0);
	assert_int_equal(stw_test_release(t), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Shipped", "completed"), 0);
	assert_int_equal(stw_test_count_instances(t, "shipment", "completed"), 1);
	assert_int_equal(stw_test_count_instances(t, "shipment", "failed"), 0);

	assert_int_equal(stw_test_expect_fields(t, "shipment", "s1", "{\"state\":\"Shipped\"}"), 0);
	assert_int_equal(stw_test_expect_fields(t, "shipment", "s1", "{\"state\":\"Packed\"}"), -1);
	assert_non_null(
	    strstr(stw_test_why(t), "shipment s1 has state \"Shipped\", not \"Packed\""));
	assert_int_equal(stw_test_expect_history(t, "shipment", "s1", NULL, "applied", 3), 0);
	assert_int_equal(stw_test_expect_history(t, "shipment", "s1", "Paid", NULL, 1), 0);
	assert_int_equal(stw_test_expect_history(t, "shipment", "s1", "Remind", NULL, 1), -1);
	assert_int_equal(stw_test_expect_sent(t, "shipment", "s1", NULL, NULL, NULL, 1), 0);
	assert_int_equal(stw_test_expect_sent(t, "shipment", "s1", "Carrier", NULL, NULL, 2), -1);
	assert_int_equal(stw_test_expect_events(t, "Carrier", "s1", "s1", "Shipped"), 0);
	assert_int_equal(stw_test_expect_events(t, "Carrier", NULL, "other", ""), 0);
	assert_int_equal(stw_test_expect_events(t, "Carrier", NULL, NULL, "Shipped  Shipped"), -1);
	assert_non_null(strstr(stw_test_why(t),
			       "the events of Carrier are \"Shipped\", not \"Shipped Shipped\""));
	assert_int_equal(stw_test_count_events(t, "Warehouse", NULL), 1);
	assert_int_equal(stw_test_failures(t), 4);

	struct stw_stats before, after;
	stw_get_stats(stw_test_engine(t), &before);
	assert_int_equal(stw_test_replay(t), 0);
	stw_get_stats(stw_test_engine(t), &after);
	assert_true(after.duplicates >= before.duplicates + 3);
	assert_int_equal(stw_test_expect_history(t, "shipment", "s1", NULL, NULL, 3), 0);
	assert_int_equal(stw_test_count_events(t, "Carrier", NULL), 1);

	assert_int_equal(stw_test_count_unrouted(t, "shipment"), 0);
	assert_int_equal(stw_test_given(t, "Payments", "pay-s9", "Paid", "s9", NULL), 0);
	assert_int_equal(stw_test_count_unrouted(t, "shipment"), 1);
	stw_test_close(t);
}

/*
 * A refusal expected: it holds with the reason, fails with another reason
 * or when the command is accepted. Under the duplicates each command is
 * executed a second time with its id, which the engine answers from its
 * dedup table with the same outcome: one Shipped, the same refusal.
 */
static void test_refused(void **state)
{
	(void)state;
	struct stw_test *t = open_quiet(STW_TEST_DUPLICATES, 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL), 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Track", NULL, "no tracking here"), 0);
	assert_int_equal(stw_test_expect_refused(t, "Carrier", "Track", NULL, "s1", "tracking"), 0);
	assert_int_equal(stw_test_when(t, "Carrier", "Ship", "{\"n\":1}", "s1"), 0);
	assert_int_equal(stw_test_count_events(t, "Carrier", "Shipped"), 1);

	assert_int_equal(stw_test_expect_refused(t, "Carrier", "Track", NULL, "s1", "parcel"), -1);
	assert_non_null(
	    strstr(stw_test_why(t), "refused with \"no tracking here\", not \"parcel\""));
	assert_int_equal(stw_test_expect_refused(t, "Carrier", "Ship", NULL, "s2", NULL), -1);
	assert_non_null(strstr(stw_test_why(t), "Carrier.Ship was accepted, not refused"));
	assert_int_equal(stw_test_count_events(t, "Carrier", "Shipped"), 2);
	assert_int_equal(stw_test_failures(t), 2);
	stw_test_close(t);
}

static void count_lateness(const struct stw_activity *a, void *ud)
{
	int64_t *lateness = ud;
	if (a->kind == STW_ACTIVITY_TIMERS && a->lateness_ms != NULL)
		for (int i = 0; i < a->count; i++)
			*lateness += a->lateness_ms[i];
}

/*
 * A restart 5 ms past the reminder, held: the timer is still pending, and
 * fires when released, 5 ms late as the observer of the options sees it.
 * The timer expectations name its due time; nested fields hold or fail.
 */
static void test_restart_timers(void **state)
{
	(void)state;
	int64_t lateness = 0, start = 1767225600000LL;
	struct stw_test_options o = { .quiet = 1,
				      .observer = count_lateness,
				      .observer_ud = &lateness };
	struct stw_test *t = NULL;
	assert_int_equal(stw_test_open(&o, shipment_setup, NULL, &t), 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s1", "Packed", NULL, "{\"n\":1}"), 0);
	assert_int_equal(stw_test_expect_timer_at(t, "shipment", "s1", "Remind", start + 3600000),
			 0);
	assert_int_equal(stw_test_expect_timer_at(t, "shipment", "s1", "Remind", start + 3600001),
			 -1);
	assert_int_equal(stw_test_next_timer(t), start + 3600000);
	assert_int_equal(stw_test_expect_fields(t, "shipment", "s1", "{\"data\":{}}"), 0);
	assert_int_equal(stw_test_expect_fields(t, "shipment", "s1", "{\"data\":{\"n\":2}}"), -1);

	assert_int_equal(stw_test_hold(t), 0);
	assert_int_equal(stw_test_restart(t, 3600000 + 5), 0);
	assert_int_equal(stw_test_now(t), start + 3600005);
	assert_int_equal(stw_test_next_timer(t), start + 3600000);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Packed", NULL), 0);
	assert_int_equal(stw_test_release(t), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Reminded", NULL), 0);
	assert_int_equal(lateness, 5);
	assert_int_equal(stw_test_restart(t, 0), 0);
	assert_int_equal(stw_test_next_timer(t), -1);
	assert_int_equal(stw_test_failures(t), 2);
	stw_test_close(t);
}

/*
 * A store given (the fixture's: an SQLite file, or a fresh PostgreSQL schema):
 * the scenario runs on it through reopens, and the kit leaves it, shipment
 * and all, for an engine of the caller's to open.
 */
static void test_given_store(void **state)
{
	(void)state;
	struct fx_world w;
	assert_int_equal(fx_world_init(&w, "testkit", FX_T0), 0);
	struct stw_test_options o = {
		.quiet = 1, .faults = STW_TEST_REOPEN, .seed = 3, .store = w.db
	};
	struct stw_test *t = NULL;
	assert_int_equal(stw_test_open(&o, shipment_setup, NULL, &t), 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL), 0);
	for (int i = 0; i < 12 && stw_test_reopens(t) == 0; i++) {
		char id[16];
		snprintf(id, sizeof(id), "s%d", i);
		assert_int_equal(stw_test_given(t, "Warehouse", id, "Packed", NULL, NULL), 0);
	}
	assert_true(stw_test_reopens(t) > 0);
	assert_int_equal(stw_test_given(t, "Payments", "pay-s0", "Paid", "s0", NULL), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s0", "Shipped", "completed"), 0);
	assert_int_equal(stw_test_failures(t), 0);
	stw_test_close(t);

	assert_stw_ok(NULL, fx_world_open(&w, NULL));
	assert_stw_ok(w.e, shipment_setup(w.e, NULL));
	fx_expect_instance(w.e, "shipment", "s0", "Shipped", "completed", 1);
	assert_int_equal(fx_world_fini(&w), 0);
}

/*
 * The outbox and the delivery of commands: another engine on the store, which
 * leaves delivery to the kit's (delivered_elsewhere), steps s1 to its Ship;
 * the kit sees one command pending, and its own run delivers it (a stub).
 * Ship to a context nobody serves is parked.
 */
static void test_pending_delivery(void **state)
{
	(void)state;
	struct fx_world w;
	assert_int_equal(fx_world_init(&w, "testkit", FX_T0), 0);
	struct stw_test_options o = { .quiet = 1, .store = w.db };
	struct stw_test *t = NULL;
	assert_int_equal(stw_test_open(&o, shipment_setup, NULL, &t), 0);
	assert_int_equal(stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL), 0);
	assert_int_equal(stw_test_count_pending(t), 0);

	const struct stw_options elsewhere = { .delivered_elsewhere = 1 };
	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(&w, NULL, &elsewhere, &other));
	assert_stw_ok(other, shipment_setup(other, NULL));
	json_t *none = json_object();
	struct stw_event packed = { .type = "Packed", .stream = "s1", .correlation_id = "s1" };
	struct stw_event paid = { .type = "Paid", .stream = "pay-s1", .correlation_id = "s1" };
	packed.data = paid.data = none;
	assert_stw_ok(other, stw_append(other, "Warehouse", STW_ANY_VERSION, &packed, 1, NULL));
	assert_stw_ok(other, stw_append(other, "Payments", STW_ANY_VERSION, &paid, 1, NULL));
	json_decref(none);
	assert_stw_ok(other, stw_run_until_idle(other));
	stw_close(other);

	assert_int_equal(stw_test_count_pending(t), 1);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s1", "pending", 1), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s1", "delivered", 1), -1);
	assert_non_null(strstr(stw_test_why(t), "shipment s1 has 0 commands delivered, not 1"));
	assert_int_equal(stw_test_advance(t, 0), 0);
	assert_int_equal(stw_test_count_pending(t), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s1", "delivered", 1), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s1", NULL, 1), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s1", "pending", 0), 0);
	assert_int_equal(stw_test_expect_state(t, "shipment", "s1", "Shipped", "completed"), 0);
	assert_int_equal(stw_test_failures(t), 1);
	stw_test_close(t);
	assert_int_equal(fx_world_fini(&w), 0);

	t = open_quiet(0, 0);
	assert_int_equal(stw_test_given(t, "Warehouse", "s2", "Packed", NULL, NULL), 0);
	assert_int_equal(stw_test_given(t, "Payments", "pay-s2", "Paid", "s2", NULL), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s2", "parked", 1), 0);
	assert_int_equal(stw_test_expect_commands(t, "shipment", "s2", "delivered", 0), 0);
	assert_int_equal(stw_test_count_pending(t), 0);
	assert_int_equal(stw_test_failures(t), 0);
	stw_test_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_failure_says_why),
		cmocka_unit_test(test_stubs),
		cmocka_unit_test(test_faults_hold),
		cmocka_unit_test(test_faults_catch),
		cmocka_unit_test(test_faults_happen),
		cmocka_unit_test(test_hold_replay),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_restart_timers),
		cmocka_unit_test(test_given_store),
		cmocka_unit_test(test_pending_delivery),
	};
	return cmocka_run_group_tests_name("testkit", tests, NULL, NULL);
}
