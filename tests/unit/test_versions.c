/*
 * test_versions.c - versions of one definition side by side, pinned per
 * instance. An instance records the version that created it and is stepped
 * with that version (events, timers, a person's retry) while new instances
 * take the newest; an instance whose version is not registered fails alone,
 * and the cursor moves on. Registering checks what versions must share.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

#define HOUR 3600000

static const char *const sources[] = { "Sales", NULL };
static const struct stw_timer_def remind[] = {
	{ "Remind", HOUR, NULL },
	{ NULL, 0, NULL },
};

/* Both ask Stock to reserve the goods while Open. */
static const struct stw_command_def reserve[] = {
	{ "Stock", "Reserve", NULL },
	{ NULL, NULL, NULL },
};

/* Version 1: Open, shipped at once; a reminder, or a refused reservation, makes it Reminded. */
static const struct stw_state_def v1_states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Reminded", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def v1_transitions[] = {
	{ NULL, "Started", "Open", NULL, NULL, remind },
	{ "Open", "Ship", "Shipped", NULL, NULL, NULL },
	{ "Open", "Remind", "Reminded", NULL, NULL, NULL },
	{ "Open", "Reserve", NULL, reserve, NULL, NULL },
	{ "Open", STW_COMMAND_REJECTED, "Reminded", NULL, NULL, NULL },
	{ "Reminded", "Ship", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Version 2: Open is packed before it ships; a reminder, or a refusal, escalates it. */
static const struct stw_state_def v2_states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Packed", STW_STATE_ACTIVE },
	{ "Escalated", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def v2_transitions[] = {
	{ NULL, "Started", "Open", NULL, NULL, remind },
	{ "Open", "Ship", "Packed", NULL, NULL, NULL },
	{ "Open", "Pack", "Packed", NULL, NULL, NULL },
	{ "Packed", "Ship", "Shipped", NULL, NULL, NULL },
	{ "Open", "Remind", "Escalated", NULL, NULL, NULL },
	{ "Open", "Reserve", NULL, reserve, NULL, NULL },
	{ "Open", STW_COMMAND_REJECTED, "Escalated", NULL, NULL, NULL },
	{ "Escalated", "Ship", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct stw_definition v1 = {
	.name = "order",
	.version = 1,
	.sources = sources,
	.states = v1_states,
	.transitions = v1_transitions,
};
static const struct stw_definition v2 = {
	.name = "order",
	.version = 2,
	.sources = sources,
	.states = v2_states,
	.transitions = v2_transitions,
};

static int setup(void **state)
{
	if (fx_setup(state, "versions", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &v1));
	return 0;
}

static void emit(struct fx_world *f, const char *type, const char *corr)
{
	struct stw_event ev = { .type = type, .stream = corr, .correlation_id = corr };
	assert_stw_ok(f->e, stw_append(f->e, "Sales", STW_ANY_VERSION, &ev, 1, NULL));
}

/* Checks an instance's state, status and definition version. */
static void expect(struct fx_world *f, const char *id, const char *state, const char *status,
		   int version)
{
	fx_expect_instance(f->e, "order", id, state, status, version);
}

/* A restart with the given versions registered, in that order. */
static void deploy(struct fx_world *f, const struct stw_definition *a,
		   const struct stw_definition *b)
{
	fx_redeploy(f, (const struct stw_definition *const[]){ a, b, NULL });
}

/* The live count of one version in stw_get_definition's answer (-1: not listed). */
static json_int_t live_of(const json_t *doc, int version)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(doc, "versions"), i, v)
	{
		if (json_integer_value(json_object_get(v, "version")) == version)
			return json_integer_value(json_object_get(v, "live"));
	}
	return -1;
}

/*
 * versions-2.1: instances created under version 1 keep stepping on version
 * 1 after version 2 is registered beside it (a Ship takes them to Shipped,
 * where version 2 would pack them; a Pack, which only version 2 takes, fails
 * one; its reminder makes it Reminded, not Escalated), while new instances
 * are created with version 2 and step on it.
 */
static void test_instances_keep_their_version(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "A");
	emit(f, "Started", "B");
	emit(f, "Started", "E");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Open", "active", 1);
	deploy(f, &v2, &v1); /* registered out of order: the highest is the newest */

	emit(f, "Started", "C");
	emit(f, "Ship", "A");
	emit(f, "Pack", "B");
	emit(f, "Ship", "C");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Shipped", "completed", 1);
	expect(f, "B", "Open", "failed", 1);
	expect(f, "C", "Packed", "active", 2);

	/* A retry enters a state of the instance's own version. */
	assert_int_equal(stw_retry(f->e, "order", "B", "Packed", NULL), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "version 1"));
	assert_stw_ok(f->e, stw_retry(f->e, "order", "B", "Reminded", "by hand"));
	expect(f, "B", "Reminded", "active", 1);

	emit(f, "Started", "D");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	fx_clock_advance(&f->clock, HOUR + 1);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "E", "Reminded", "active", 1);  /* version 1's reminder */
	expect(f, "D", "Escalated", "active", 2); /* version 2's */

	struct stw_instance_filter q = { .definition = "order", .definition_version = 1 };
	json_t *arr = NULL;
	assert_stw_ok(f->e, stw_list_instances(f->e, &q, &arr));
	assert_int_equal(json_array_size(arr), 3); /* A, B, E */
	json_decref(arr);

	json_t *doc = NULL;
	assert_stw_ok(f->e, stw_get_definition(f->e, "order", &doc));
	assert_int_equal(json_integer_value(json_object_get(doc, "newest")), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "versions")), 2);
	assert_int_equal(live_of(doc, 1), 2); /* B and E: A completed */
	assert_int_equal(live_of(doc, 2), 2); /* C and D */
	json_t *first = json_array_get(json_object_get(doc, "versions"), 0);
	assert_int_equal(json_integer_value(json_object_get(first, "version")), 1);
	assert_int_equal(json_array_size(json_object_get(first, "states")), 3);
	json_decref(doc);

	json_t *defs = NULL;
	assert_stw_ok(f->e, stw_list_definitions(f->e, &defs));
	assert_int_equal(json_array_size(defs), 1);
	json_t *d = json_array_get(defs, 0);
	assert_int_equal(json_integer_value(json_object_get(d, "version")), 2);
	json_t *versions = json_object_get(d, "versions");
	assert_int_equal(json_array_size(versions), 2);
	assert_int_equal(json_integer_value(json_array_get(versions, 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(versions, 1)), 2);
	json_decref(defs);
}

/*
 * versions-2.2: an instance whose version is not registered (version 1 no
 * longer deployed) fails alone with that reason when a message reaches it;
 * the others and the cursor go on.
 */
static void test_unregistered_version_fails_alone(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "A");
	emit(f, "Started", "B");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	deploy(f, &v2, NULL);
	emit(f, "Started", "C");
	emit(f, "Ship", "A");
	emit(f, "Ship", "C");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Open", "failed", 1);
	expect(f, "B", "Open", "active", 1); /* nothing reached it */
	expect(f, "C", "Packed", "active", 2);
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "order", "A", &o));
	assert_non_null(strstr(json_string_value(json_object_get(o, "reason")),
			       "version 1 of the definition is not registered"));
	json_t *h = json_object_get(o, "history");
	json_t *last = json_array_get(h, json_array_size(h) - 1);
	assert_string_equal(json_string_value(json_object_get(last, "message_type")), "Ship");
	assert_string_equal(json_string_value(json_object_get(last, "outcome")), "failed");
	json_decref(o);
	int64_t cursor = 0, head = 0;
	assert_stw_ok(f->e, stw_get_cursor(f->e, "order", "Sales", &cursor));
	assert_stw_ok(f->e, stw_head(f->e, "Sales", &head));
	assert_int_equal(cursor, head);

	/* Its timer falls due: B fails alone too, C's version 2 reminder is void (Packed). */
	fx_clock_advance(&f->clock, HOUR + 1);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "B", "Open", "failed", 1);
	expect(f, "C", "Packed", "active", 2);
}

/* Stock refuses every reservation. */
static int stock_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)cmd;
	(*(int *)ud)++;
	return stw_reject(sc, "out of stock");
}

/*
 * versions-2.3: a refused command is told to each instance through its own
 * version (registered beside a running one, without a restart): the one of
 * version 1 becomes Reminded, the one of version 2 Escalated.
 */
static void test_rejection_follows_the_version(void **state)
{
	struct fx_world *f = *state;
	int calls = 0;
	assert_stw_ok(f->e, stw_register_service(f->e, "Stock", stock_handler, &calls));
	emit(f, "Started", "X");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	assert_stw_ok(f->e, stw_define(f->e, &v2));
	emit(f, "Started", "Y");
	emit(f, "Reserve", "X");
	emit(f, "Reserve", "Y");
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	assert_int_equal(calls, 2);
	expect(f, "X", "Reminded", "active", 1);
	expect(f, "Y", "Escalated", "active", 2);
}

static const char *const other_sources[] = { "Sales", "Stock", NULL };

/*
 * versions-2.4: the same version again is refused as before; a version that
 * reads other sources, or delivers otherwise, is refused with the
 * difference; a version 0 is version 1.
 */
static void test_what_versions_share(void **state)
{
	struct fx_world *f = *state;
	assert_int_equal(stw_define(f->e, &v1), STW_EEXIST);
	struct stw_definition zero = v1;
	zero.version = 0;
	assert_int_equal(stw_define(f->e, &zero), STW_EEXIST);
	struct stw_definition more = v2;
	more.sources = other_sources;
	assert_int_equal(stw_define(f->e, &more), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "version 2 reads Stock"));
	struct stw_definition once = v2;
	once.delivery = STW_AT_MOST_ONCE;
	assert_int_equal(stw_define(f->e, &once), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "delivery"));
	assert_stw_ok(f->e, stw_define(f->e, &v2));
	assert_int_equal(stw_get_definition(f->e, "nothing", &(json_t *){ NULL }), STW_ENOTFOUND);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_instances_keep_their_version),
		T(test_unregistered_version_fails_alone),
		T(test_rejection_follows_the_version),
		T(test_what_versions_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
