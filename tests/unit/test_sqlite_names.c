/*
 * test_sqlite_names.c - the numbers the SQLite store keeps instances under
 * (src/store/sqlite_names.c, schema 10): given in the order names are first
 * written, shared by an instance, its history and its commands whichever is
 * written first, kept right across rollbacks to a savepoint and of whole
 * transactions, and deleted with the instance by retention. What every
 * store must do with the same calls is the store contract
 * (tests/store/contract*.c); these tests look at the file itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rows.h"
#include "sqlite_fixture.h"

#include <steward.h>

#include <stdio.h>

/* The number stw_names holds for d/id (0: none). */
static int64_t num_of(struct fixture *f, const char *id)
{
	char sql[128];
	snprintf(sql, sizeof sql,
		 "SELECT coalesce((SELECT num FROM stw_names WHERE definition = 'd' AND id = '%s'),"
		 " 0)",
		 id);
	return sqlite_fixture_int(f->path, sql);
}

/* How many rows of table t (history or outbox) carry d/id's number. */
static int64_t rows_numbered(struct fixture *f, const char *t, const char *id)
{
	char sql[192];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM %s WHERE instance_num = (SELECT num FROM stw_names"
		 " WHERE definition = 'd' AND id = '%s')",
		 t, id);
	return sqlite_fixture_int(f->path, sql);
}

/*
 * As a round writes them: the history and the command of a new instance
 * first, the instance at the end. They share one number, given at the first
 * write, and the numbers follow the order in which names were first written,
 * not the ids' order.
 */
static void test_rows_written_before_the_instance_share_its_number(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__history_row h = hist("d", "zz", "m1");
	struct stw__outbox_row o = { .command_id = "c1",
				     .context = "Billing",
				     .type = "Void",
				     .definition = "d",
				     .instance_id = "zz",
				     .data = "{}" };
	struct stw__instance_row zz = inst("d", "zz", "active", NULL, 1);
	struct stw__instance_row aa = inst("d", "aa", "active", NULL, 2);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &h), STW_OK);
	assert_int_equal(STW__S(s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &aa), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &zz), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(num_of(f, "zz"), 1);
	assert_int_equal(num_of(f, "aa"), 2);
	assert_int_equal(
	    sqlite_fixture_int(f->path, "SELECT num FROM stw_instances WHERE id = 'zz'"), 1);
	assert_int_equal(rows_numbered(f, "stw_history", "zz"), 1);
	assert_int_equal(rows_numbered(f, "stw_outbox", "zz"), 1);
	/* An update, a redelivered message and a listing go through the number. */
	zz.version = 2;
	zz.state = "Done";
	assert_int_equal(STW__S(s, instance_update, &zz, 1), STW_OK);
	assert_int_equal(STW__S(s, history_has, "d", "zz", "m1"), STW_OK);
	assert_int_equal(STW__S(s, history_has, "d", "aa", "m1"), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, history_has, "d", "nobody", "m1"), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, history_insert, &h), STW_EEXIST);
	struct stw__instance_row ghost = inst("d", "ghost", "active", NULL, 1);
	assert_int_equal(STW__S(s, instance_update, &ghost, 1), STW_ECONFLICT);
	struct stw__instance_query q = { .id = "zz", .limit = 10 };
	struct instances got = { 0 };
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.version[0], 2);
}

/*
 * A name given in the transaction's outer level stays right when a later
 * level is rolled back: the instance written after the rollback gets the
 * number its history was written with; a name given in the level undone
 * goes with it.
 */
static void test_numbers_kept_across_a_rollback_to_a_savepoint(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__history_row hx = hist("d", "x", "m1"), hy = hist("d", "y", "m2");
	struct stw__instance_row x = inst("d", "x", "active", NULL, 1);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &hx), STW_OK);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &hy), STW_OK);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &x), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &hy), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(num_of(f, "x"), 1);
	assert_int_equal(num_of(f, "y"), 2);
	assert_int_equal(
	    sqlite_fixture_int(f->path, "SELECT num FROM stw_instances WHERE id = 'x'"), 1);
	assert_int_equal(rows_numbered(f, "stw_history", "x"), 1);
	assert_int_equal(rows_numbered(f, "stw_history", "y"), 1);
	assert_int_equal(sqlite_fixture_int(f->path, "SELECT count(*) FROM stw_names"), 2);
}

/*
 * A number remembered by a transaction that was rolled back is not used by
 * the next one: its name is gone, and the next transaction gives the name
 * the next free number again.
 */
static void test_numbers_forgotten_with_a_rolled_back_transaction(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__history_row hq = hist("d", "q", "m1");
	struct stw__instance_row q = inst("d", "q", "active", NULL, 1);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &hq), STW_OK);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(num_of(f, "q"), 0);
	struct stw__instance_row first = inst("d", "first", "active", NULL, 1);
	assert_int_equal(STW__S(s, instance_insert, &first), STW_OK);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &q), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &hq), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(num_of(f, "first"), 1);
	assert_int_equal(num_of(f, "q"), 2);
	assert_int_equal(rows_numbered(f, "stw_history", "q"), 1);
}

/* Retention deletes an ended instance's name with its rows; the other names stay. */
static void test_retention_deletes_the_name(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__instance_row old = inst("d", "old", "completed", NULL, 10);
	struct stw__instance_row live = inst("d", "live", "active", NULL, 10);
	struct stw__history_row h = hist("d", "old", "m1");
	assert_int_equal(STW__S(s, instance_insert, &old), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &live), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &h), STW_OK);
	struct stw__prune_counts n = { 0 };
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, prune_instances, "d", 100, 10, &n), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(n.instances, 1);
	assert_int_equal(n.history, 1);
	assert_int_equal(num_of(f, "old"), 0);
	assert_int_equal(num_of(f, "live"), 2);
	assert_int_equal(sqlite_fixture_int(f->path, "SELECT count(*) FROM stw_history"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, sqlite_fixture_setup, sqlite_fixture_teardown)
		T(test_rows_written_before_the_instance_share_its_number),
		T(test_numbers_kept_across_a_rollback_to_a_savepoint),
		T(test_numbers_forgotten_with_a_rolled_back_transaction),
		T(test_retention_deletes_the_name),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
