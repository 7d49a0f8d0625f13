/*
 * test_stage.c - unit tests of src/core/stage.c, the instance writes a
 * round's transaction stages until it commits: a process that goes through
 * three steps in one round is written once (one insert, no update) and read
 * from the store once; a part of the round that fails undoes what it staged
 * and keeps what the parts before it did; a handler that reads the instance
 * inside the round sees the state the round gave it; on PostgreSQL, a row
 * another writer changed before the round's commit undoes the round, and the
 * next one does its work again. The store's instance operations are counted
 * (and failed on demand) through a copy of its operations table.
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

/*
 * An order: Ordered (in Orders) asks Shop to ship, Shipped (which Shop emits)
 * asks it to bill, Billed completes it. Shop answers both in process, so one
 * round takes an order from its trigger to its end.
 */
static const struct stw_state_def states[] = {
	{ "Shipping", STW_STATE_ACTIVE },
	{ "Billing", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def ship[] = { { "Shop", "Ship", NULL }, { NULL, NULL, NULL } };
static const struct stw_command_def bill[] = { { "Shop", "Bill", NULL }, { NULL, NULL, NULL } };
static const struct stw_transition_def transitions[] = {
	{ NULL, "Ordered", "Shipping", ship, NULL, NULL },
	{ "Shipping", "Shipped", "Billing", bill, NULL, NULL },
	{ "Billing", "Billed", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "Orders", "Shop", NULL };
static const struct stw_definition order = {
	.name = "order",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* The store's operations as the engine had them, and the counting copy it gets. */
static const struct stw__store_ops *real;
static struct stw__store_ops counted;
static int inserts, updates, gets, fail_shop_cursor;

static int count_insert(struct stw__store *s, const struct stw__instance_row *row)
{
	inserts++;
	return real->instance_insert(s, row);
}

static int count_update(struct stw__store *s, const struct stw__instance_row *row, int64_t v)
{
	updates++;
	return real->instance_update(s, row, v);
}

static int count_get(struct stw__store *s, const char *definition, const char *id,
		     stw__instance_cb cb, void *ud)
{
	gets++;
	return real->instance_get(s, definition, id, cb, ud);
}

/* Fails the cursor of Shop once when fail_shop_cursor is set. */
static int maybe_fail_cursor(struct stw__store *s, const char *definition, const char *context,
			     int64_t position)
{
	if (fail_shop_cursor && strcmp(context, "Shop") == 0) {
		fail_shop_cursor = 0;
		return STW_ESTORE;
	}
	return real->cursor_set(s, definition, context, position);
}

/* What the Shop handler saw of the order when it billed it (read_back set). */
struct shop {
	int read_back;
	char state[STW_MAX_NAME];
	long long version;
	int rc;
};

static int shop(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct shop *s = ud;
	int billing = strcmp(cmd->type, "Bill") == 0;
	if (billing && s->read_back) {
		json_t *o = NULL;
		s->rc = stw_get_instance(stw_svc_engine(sc), "order", cmd->correlation_id, &o);
		if (s->rc == STW_OK) {
			snprintf(s->state, sizeof(s->state), "%s",
				 json_string_value(json_object_get(o, "state")));
			s->version = (long long)json_integer_value(json_object_get(o, "version"));
		}
		json_decref(o);
	}
	return stw_svc_emit(sc, cmd->id, STW_NO_STREAM, billing ? "Billed" : "Shipped", NULL);
}

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	struct shop shop;
	const char *bump; /* SQL run at the next round.before_commit (another writer), or NULL */
	int bumped;
};

static void on_failpoint(const char *name, void *ud)
{
	struct fixture *f = ud;
	if (f->bump != NULL && strcmp(name, "round.before_commit") == 0) {
		long long n = 0;
		f->bumped = fx_pg_scalar(f->w.db, f->bump, &n) == 0 && n == 1;
		f->bump = NULL;
	}
}

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "stage", FX_T0) != 0)
		return -1;
	struct fixture *f = *state;
	struct stw_options o = { .failpoint = on_failpoint, .failpoint_ud = f };
	assert_stw_ok(NULL, fx_world_open(&f->w, &o));
	struct stw_engine *e = f->w.e;
	assert_stw_ok(e, stw_define(e, &order));
	assert_stw_ok(e, stw_register_service(e, "Shop", shop, &f->shop));
	real = e->store->ops;
	counted = *real;
	counted.instance_insert = count_insert;
	counted.instance_update = count_update;
	counted.instance_get = count_get;
	counted.cursor_set = maybe_fail_cursor;
	e->store->ops = &counted;
	inserts = updates = gets = fail_shop_cursor = 0;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->w.e != NULL)
		f->w.e->store->ops = real;
	return fx_teardown(state);
}

/* Appends Orders "Ordered" for order id. */
static void place(struct stw_engine *e, const char *id)
{
	struct stw_event ev = { .type = "Ordered", .stream = id, .correlation_id = id };
	assert_stw_ok(e, stw_append(e, "Orders", STW_NO_STREAM, &ev, 1, NULL));
}

/* Checks the stored order's state, status, version and history length. */
static void expect_order(struct stw_engine *e, const char *id, const char *state,
			 const char *status, int version, int history)
{
	json_t *o = NULL;
	assert_stw_ok(e, stw_get_instance(e, "order", id, &o));
	assert_string_equal(json_string_value(json_object_get(o, "state")), state);
	assert_string_equal(json_string_value(json_object_get(o, "status")), status);
	assert_int_equal(json_integer_value(json_object_get(o, "version")), version);
	assert_int_equal(json_array_size(json_object_get(o, "history")), history);
	json_decref(o);
}

/*
 * stage-1: one round takes an order through its three steps and writes its
 * instance once, an insert, having asked the store for it once (the
 * trigger's look: not there); the stored instance is the third version.
 * (A first order before it: the first batch of each source makes its
 * attempt count durable, and the instances staged before it with it.)
 */
static void test_written_once_per_round(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	place(e, "o0");
	assert_stw_ok(e, stw_run_until_idle(e));
	inserts = updates = gets = 0;
	place(e, "o1");
	int did = 0;
	assert_stw_ok(e, stw_run_once(e, &did));
	assert_int_equal(inserts, 1);
	assert_int_equal(updates, 0);
	assert_int_equal(gets, 1);
	expect_order(e, "o1", "Done", "completed", 3, 3);
}

/*
 * Places order id and runs a round whose step of Shipped fails after it
 * staged the order's second version (its cursor cannot be saved): the round
 * ends with the error, and what it commits is the first version, from the
 * part before.
 */
static void stop_at_shipping(struct stw_engine *e, const char *id)
{
	place(e, id);
	fail_shop_cursor = 1;
	int did = 0;
	assert_int_not_equal(stw_run_once(e, &did), STW_OK);
	assert_int_equal(fail_shop_cursor, 0);
	expect_order(e, id, "Shipping", "active", 1, 1);
}

/*
 * stage-2: a part that fails drops what it staged (stop_at_shipping); the
 * next round steps Shipped again from the first version and completes the
 * order, each message once in its history.
 */
static void test_failed_part_undoes_its_stage(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	stop_at_shipping(e, "o2");
	assert_stw_ok(e, stw_run_until_idle(e));
	expect_order(e, "o2", "Done", "completed", 3, 3);
}

/*
 * stage-3: Shop reads the order (stw_get_instance) while it bills it, inside
 * the round that staged it: it sees the second version, in Billing, though
 * the round has not written it yet; the order still completes.
 */
static void test_handler_reads_the_round_state(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	f->shop.read_back = 1;
	place(e, "o3");
	int did = 0;
	assert_stw_ok(e, stw_run_once(e, &did));
	assert_stw_ok(e, f->shop.rc);
	assert_string_equal(f->shop.state, "Billing");
	assert_int_equal(f->shop.version, 2);
	expect_order(e, "o3", "Done", "completed", 3, 3);
}

/*
 * stage-4 (PostgreSQL): the order is stored at version 1 (Shipping, as in
 * stage-2); the next round steps it to its end, and before its commit
 * another writer moves the stored row to version 11. The round's write of
 * the order finds the version changed: the round is undone (stw_run_once
 * answers STW_OK, the row stays as the other writer left it, its history
 * has one row), and the next rounds step Shipped and Billed on version 11.
 */
static void test_conflict_at_commit_undoes_the_round(void **state)
{
	if (!fx_on_pg())
		skip(); /* SQLite: no other writer commits while the round holds the lock */
	struct fixture *f = *state;
	struct stw_engine *e = f->w.e;
	stop_at_shipping(e, "o4");
	int did = 0;
	f->bump = "WITH u AS (UPDATE stw_instances SET version = 11 WHERE id = 'o4'"
		  " RETURNING 1) SELECT count(*) FROM u";
	assert_stw_ok(e, stw_run_once(e, &did));
	assert_true(f->bumped);
	assert_true(did > 0);
	expect_order(e, "o4", "Shipping", "active", 11, 1);
	assert_stw_ok(e, stw_run_until_idle(e));
	expect_order(e, "o4", "Done", "completed", 13, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_once_per_round, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_part_undoes_its_stage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_handler_reads_the_round_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_conflict_at_commit_undoes_the_round, setup,
						teardown),
	};
	return cmocka_run_group_tests_name("stage", tests, NULL, NULL);
}
