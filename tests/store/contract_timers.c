/*
 * contract_timers.c - the store contract on unrouted messages, timers and
 * periodic runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "contract_int.h"

/* ------------------------------------------------------------------------ */
/* Unrouted                                                                 */

/* unrouted rows list newest first, optionally for one definition, up to limit. */
void contract_test_unrouted(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	const char *defs[] = { "d1", "d2", "d1" };
	const char *ids[] = { "e1", "e2", "e3" };
	for (int i = 0; i < 3; i++) {
		struct stw__unrouted_row r = {
			.definition = defs[i],
			.context = "Billing",
			.position = i + 1,
			.event_id = ids[i],
			.event_type = "T",
			.reason = "no instance",
			.at = 5,
		};
		assert_int_equal(STW__S(s, unrouted_insert, &r), STW_OK);
	}
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, unrouted_list, NULL, 10, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "e3");
	assert_string_equal(c.v[2], "e1");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, unrouted_list, "d1", 10, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "e3");
	assert_string_equal(c.v[1], "e1");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, unrouted_list, NULL, 1, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "e3");
}

/* ------------------------------------------------------------------------ */
/* Timers and periodic processes                                            */

/* A Tick timer of an instance, armed at version 1 by message m1. */
static struct stw__timer_row timer(const char *def, const char *instance_id, const char *id,
				   int64_t due_at)
{
	struct stw__timer_row r = {
		.id = id,
		.definition = def,
		.instance_id = instance_id,
		.message_type = "Tick",
		.due_at = due_at,
		.entered_version = 1,
		.armed_by = "m1",
		.created_at = 1,
	};
	return r;
}

/*
 * timer_insert keeps the timer it has under a key (definition, instance,
 * id); timers_due lists a definition's timers due by now, earliest first,
 * then by instance id, then by id, at most limit; timer_next is the earliest
 * due_at; timer_delete removes one (and ignores one it does not have);
 * timers_for_instance lists one instance's, earliest first.
 */
void contract_test_timers(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int64_t at = -1;
	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_ENOTFOUND);
	struct stw__timer_row rows[] = {
		timer("d", "i2", "t1", 300), timer("d", "i1", "t2", 300),
		timer("d", "i1", "t3", 100), timer("d", "i1", "t0", 300),
		timer("d", "i3", "t9", 900), timer("e", "i1", "t3", 10),
		timer("d", "i1", "t3", 50), /* t3 again: kept as it was */
	};
	assert_int_equal(STW__S0(s, begin), STW_OK);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, timer_insert, &rows[i]), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);

	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_OK);
	assert_int_equal(at, 100);
	assert_int_equal(STW__S(s, timer_next, "e", &at), STW_OK);
	assert_int_equal(at, 10);
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, timers_due, "d", 99, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(STW__S(s, timers_due, "d", 300, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.v[0], "t3@100");
	assert_string_equal(c.v[1], "t0@300");
	assert_string_equal(c.v[2], "t2@300");
	assert_string_equal(c.v[3], "t1@300");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_due, "d", 1000, 2, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[1], "t0@300");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_for_instance, "d", "i1", count_timer, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "t3@100");

	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i1", "t3"), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i1", "t3"), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i9", "none"), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_OK);
	assert_int_equal(at, 300);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_for_instance, "d", "i1", count_timer, &c), STW_OK);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_due, "e", 1000, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "t3@10");
}

/* periodic_get finds no period for a process that never ran, then the last one set. */
void contract_test_periodic(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int64_t period = -1;
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_ENOTFOUND);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "sweep", 100, 1000000), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "other", 7, 70), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_OK);
	assert_int_equal(period, 100);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "sweep", 101, 1010000), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_OK);
	assert_int_equal(period, 101);
	assert_int_equal(STW__S(s, periodic_get, "other", &period), STW_OK);
	assert_int_equal(period, 7);
}
