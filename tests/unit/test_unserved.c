/*
 * test_unserved.c - commands to a context that has neither a service nor a
 * remote, at run time (stw_check names the definitions' before anything
 * runs; see test_check.c): a round parks them with the reason (they do not
 * hold back the other contexts' nor keep the engine busy), and a person's
 * retry delivers them once the context is served; an engine opened with
 * delivered_elsewhere leaves them pending for the engine that serves it; one
 * opened with hold_commands (steward replay's) neither delivers nor parks
 * any, served or not. Also stw_get_event, which that replay reads events with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"

/* A policy: an "Ordered" event of Sales sends Nowhere.Notify, then Shop.Ship. */
static const char *const sources[] = { "Sales", NULL };
static const struct stw_command_def notify_then_ship[] = {
	{ "Nowhere", "Notify", NULL },
	{ "Shop", "Ship", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "Ordered", NULL, notify_then_ship, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition policy = {
	.name = "NotifyThenShip",
	.sources = sources,
	.transitions = transitions,
};

/* A periodic process that sends Nowhere.Audit every second. */
static int audit(struct stw_periodic_ctx *pc, void *ud)
{
	(void)ud;
	return stw_periodic_send(pc, "Nowhere", "Audit", NULL, "books", NULL);
}
static const struct stw_periodic_def auditor = { .name = "auditor",
						 .every_ms = 1000,
						 .run = audit };

/* A service that counts the commands it is handed. */
struct counter {
	int calls;
	char last_type[STW_MAX_NAME];
};

static int count(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	struct counter *c = ud;
	c->calls++;
	snprintf(c->last_type, sizeof(c->last_type), "%s", cmd->type);
	return STW_OK;
}

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	struct counter shop, nowhere;
	char log[512]; /* the last warning logged */
};

static void on_log(enum stw_log_level level, const char *msg, void *ud)
{
	struct fixture *f = ud;
	if (level == STW_LOG_WARN)
		snprintf(f->log, sizeof(f->log), "%s", msg);
}

/* Opens the world's engine with the policy and the Shop service (elsewhere: 1
 * delivered_elsewhere, 2 hold_commands). */
static int setup_with(void **state, int elsewhere)
{
	if (fx_new(state, sizeof(struct fixture), "unserved", FX_T0) != 0)
		return -1;
	struct fixture *f = *state;
	struct stw_options o = { .log = on_log,
				 .log_ud = f,
				 .delivered_elsewhere = elsewhere == 1,
				 .hold_commands = elsewhere == 2 };
	assert_stw_ok(NULL, fx_world_open(&f->w, &o));
	assert_stw_ok(f->w.e, stw_define(f->w.e, &policy));
	assert_stw_ok(f->w.e, stw_register_service(f->w.e, "Shop", count, &f->shop));
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, 0);
}

static int setup_elsewhere(void **state)
{
	return setup_with(state, 1);
}

static int setup_held(void **state)
{
	return setup_with(state, 2);
}

static void order(struct stw_engine *e, const char *id)
{
	struct stw_event ev = { .id = id, .type = "Ordered", .stream = id, .correlation_id = id };
	assert_stw_ok(e, stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL));
}

/* The one command of `status` (a new reference). */
static json_t *only(struct stw_engine *e, const char *status)
{
	json_t *l = NULL;
	assert_stw_ok(e, stw_list_commands(e, status, 10, &l));
	assert_int_equal(json_array_size(l), 1);
	json_t *c = json_incref(json_array_get(l, 0));
	json_decref(l);
	return c;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Orders o1 and runs until idle: Shop gets its Ship, and the Notify command,
 * returned (a new reference), has `status`. */
static json_t *order_and_run(struct fixture *f, const char *status)
{
	order(f->w.e, "o1");
	assert_stw_ok(f->w.e, stw_run_until_idle(f->w.e));
	assert_int_equal(f->shop.calls, 1);
	json_t *c = only(f->w.e, status);
	assert_string_equal(str(c, "type"), "Notify");
	return c;
}

/* unserved-1: a round parks a command to a context nobody serves, with the
 * reason and a warning, without holding back the command to Shop written
 * after it; stw_run_until_idle ends. Once the context is served, a person's
 * retry delivers it. */
static void test_parked_then_redelivered(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	json_t *c = order_and_run(f, "parked");
	assert_string_equal(str(c, "error"), "no service or remote for context Nowhere");
	char id[STW_MAX_ID];
	snprintf(id, sizeof(id), "%s", str(c, "id"));
	json_decref(c);
	assert_string_equal(f->log, "1 command parked: no service or remote for context Nowhere");
	int64_t pending = -1;
	assert_stw_ok(e, stw_pending_commands(e, &pending));
	assert_int_equal(pending, 0);
	struct stw_stats st;
	stw_get_stats(e, &st);
	assert_int_equal(st.commands_parked, 1);

	assert_stw_ok(e, stw_register_service(e, "Nowhere", count, &f->nowhere));
	assert_stw_ok(e, stw_retry_command(e, id));
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_int_equal(f->nowhere.calls, 1);
	assert_string_equal(f->nowhere.last_type, "Notify");
	assert_stw_ok(e, stw_get_command(e, id, &c));
	assert_string_equal(str(c, "status"), "delivered");
	json_decref(c);
}

/* unserved-2: a periodic process's commands cannot be known before they are
 * sent: parked the same way at run time. */
static void test_periodic_command_parked(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	assert_stw_ok(e, stw_define_periodic(e, &auditor));
	assert_stw_ok(e, stw_run_until_idle(e));
	json_t *c = only(e, "parked");
	assert_string_equal(str(c, "type"), "Audit");
	assert_string_equal(str(c, "error"), "no service or remote for context Nowhere");
	json_decref(c);
}

/* unserved-3: with delivered_elsewhere, the command waits, pending, without
 * keeping stw_run_until_idle busy; another engine on the store that serves
 * the context delivers it. */
static void test_delivered_elsewhere(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	json_decref(order_and_run(f, "pending"));
	assert_string_equal(f->log, "");

	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(&f->w, NULL, NULL, &other));
	assert_stw_ok(other, stw_register_service(other, "Nowhere", count, &f->nowhere));
	assert_stw_ok(other, stw_run_until_idle(other));
	assert_int_equal(f->nowhere.calls, 1);
	stw_close(other);
	int64_t pending = -1;
	assert_stw_ok(e, stw_pending_commands(e, &pending));
	assert_int_equal(pending, 0);
}

/* unserved-4: with hold_commands, neither Ship (served) nor Notify (not
 * served) goes anywhere: both wait, pending, nothing is parked or logged, and
 * stw_run_until_idle ends. */
static void test_held(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	order(e, "o1");
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_int_equal(f->shop.calls, 0);
	int64_t pending = -1;
	assert_stw_ok(e, stw_pending_commands(e, &pending));
	assert_int_equal(pending, 2);
	json_t *l = NULL;
	assert_stw_ok(e, stw_list_commands(e, NULL, 10, &l));
	assert_int_equal(json_array_size(l), 0); /* none parked */
	json_decref(l);
	assert_string_equal(f->log, "");
}

/* The event stw_get_event gives for an id, when stw_read gave it. */
static int keep_event(const struct stw_event *ev, void *ud)
{
	json_t **out = ud;
	*out = stw_event_json(ev);
	return 0;
}

/* unserved-5: stw_get_event finds an event by its id alone, as stw_read gives
 * it; an unknown id is STW_ENOTFOUND, an empty one STW_EINVAL. */
static void test_get_event(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	order(e, "o1");
	order(e, "o2");
	json_t *got = NULL, *read = NULL;
	assert_stw_ok(e, stw_get_event(e, "o2", keep_event, &got));
	assert_stw_ok(e, stw_read(e, "Sales", 1, 1, keep_event, &read, NULL));
	assert_non_null(got);
	assert_true(json_equal(got, read));
	assert_string_equal(str(got, "type"), "Ordered");
	json_decref(got);
	json_decref(read);
	assert_int_equal(stw_get_event(e, "o3", keep_event, &got), STW_ENOTFOUND);
	assert_int_equal(stw_get_event(e, "", keep_event, &got), STW_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parked_then_redelivered, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_periodic_command_parked, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_delivered_elsewhere, setup_elsewhere,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_held, setup_held, fx_teardown),
		cmocka_unit_test_setup_teardown(test_get_event, setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("unserved", tests, NULL, NULL);
}
