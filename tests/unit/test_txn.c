/*
 * test_txn.c - unit tests of src/core/txn.c, the nesting of the engine's
 * transactions on the store's plain ones: levels inside a transaction
 * (savepoints of the store), the lazy outer transaction of a round or of
 * stw_begin whose first level needs no savepoint, durable() inside levels,
 * the handler's one savepoint, and a store that rolled back by itself.
 * What is committed is read through a second engine on the same file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/txn.h"
#include "fixture.h"

/* The world, and a second engine that sees only what is committed. */
struct txn_fx {
	struct fx_world w;
	struct stw_engine *other;
};

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct txn_fx), "txn", FX_T0) != 0)
		return -1;
	struct txn_fx *t = *state;
	if (fx_world_open(&t->w, NULL) != STW_OK || fx_open(&t->w, NULL, NULL, &t->other) != STW_OK)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct txn_fx *t = *state;
	stw_close(t->other);
	return fx_teardown(state);
}

/* Appends event `id` to stream `stream` of Billing through the store, in whatever is open. */
static void append(struct stw_engine *e, const char *id, const char *stream)
{
	struct stw__event_row row = { .context = "Billing",
				      .id = id,
				      .type = "T",
				      .stream = stream,
				      .data = "{}",
				      .metadata = "{}",
				      .recorded_at = 1 };
	int64_t pos = 0, ver = 0;
	assert_int_equal(STW__S(e->store, append, &row, &pos, &ver), STW_OK);
}

/* The committed head of Billing, as the other engine reads it. */
static int64_t committed(struct txn_fx *t)
{
	int64_t head = -1;
	assert_stw_ok(t->other, stw_head(t->other, "Billing", &head));
	return head;
}

static int64_t version_of(struct txn_fx *t, const char *stream)
{
	int64_t v = -1;
	assert_stw_ok(t->other, stw_stream_version(t->other, "Billing", stream, &v));
	return v;
}

/*
 * txn-1: stw__begin inside a transaction opens a nested level: its rollback
 * undoes only what it wrote, its commit keeps it for the outer commit, and
 * durable() commits all that was written while keeping the levels open.
 */
static void test_nested_levels(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	assert_stw_ok(e, stw__begin(e));
	append(e, "e1", "A");
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "B");
	assert_stw_ok(e, stw__rollback(e)); /* the nested level only */
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "C");
	assert_stw_ok(e, stw__commit(e)); /* still inside the transaction */
	assert_int_equal(committed(t), 0);
	assert_stw_ok(e, stw__commit(e));
	assert_int_equal(committed(t), 2);
	assert_int_equal(version_of(t, "B"), 0);
	assert_int_equal(version_of(t, "C"), 1);

	/* durable() at depth 2: another connection sees the write at once... */
	assert_stw_ok(e, stw__begin(e));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e3", "A");
	assert_stw_ok(e, stw__durable(e));
	assert_int_equal(committed(t), 3);
	/* ...and both levels are still open: rolling them back keeps it. */
	append(e, "e4", "A");
	assert_stw_ok(e, stw__rollback(e));
	assert_stw_ok(e, stw__rollback(e));
	assert_int_equal(stw__commit(e), STW_ESTORE);
	assert_int_equal(committed(t), 3);
	assert_stw_ok(e, stw__durable(e)); /* outside a transaction: nothing */
}

/*
 * txn-2: an outer transaction opens nothing until the first level: one with
 * no write takes no lock (another engine writes meanwhile). With writes,
 * they are durable at its commit and undone at its rollback, and closing it
 * with a nested level open is refused (and rolls back).
 */
static void test_outer_transaction(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	assert_stw_ok(e, stw__txn_open(e, STW__TXN_USER));
	assert_int_equal(stw__txn_open(e, STW__TXN_USER), STW_EINVAL);
	struct stw_event ev = { .id = "o1", .type = "T", .stream = "O" };
	assert_stw_ok(t->other, stw_append(t->other, "Other", STW_ANY_VERSION, &ev, 1, NULL));
	uint64_t before = 0;
	struct stw_stats st;
	stw_get_stats(e, &st);
	before = st.transactions;
	assert_stw_ok(e, stw__txn_close(e, 1));
	stw_get_stats(e, &st);
	assert_int_equal(st.transactions, before); /* nothing was written: no commit */

	assert_stw_ok(e, stw__txn_open(e, STW__TXN_USER));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e1", "A");
	assert_stw_ok(e, stw__commit(e));
	stw__count_commit(e);
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, stw__commit(e));
	stw__count_commit(e);
	assert_int_equal(committed(t), 0);
	assert_stw_ok(e, stw__txn_close(e, 1));
	assert_int_equal(committed(t), 2);
	stw_get_stats(e, &st);
	assert_int_equal(st.transactions, before + 1); /* two units, one commit */

	assert_stw_ok(e, stw__txn_open(e, STW__TXN_USER));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e3", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__begin(e)); /* a nested level still open */
	assert_int_equal(stw__txn_close(e, 1), STW_EINVAL);
	assert_int_equal(committed(t), 2);
	/* Nothing is left open: a new transaction works. */
	assert_stw_ok(e, stw__begin(e));
	append(e, "e3", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_int_equal(committed(t), 3);
}

/*
 * txn-3: the level that opens a lazy outer transaction has no savepoint:
 * rolling it back rolls the transaction back and leaves the outer one to
 * open again at the next level. The levels after it are savepoints as
 * usual, and durable() turns it into one.
 */
static void test_outer_first_level(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e1", "A");
	assert_stw_ok(e, stw__rollback(e));
	assert_stw_ok(e, stw__begin(e)); /* opens the outer transaction again */
	append(e, "e1", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, stw__rollback(e)); /* a savepoint: e1 stays */
	assert_int_equal(committed(t), 0);
	assert_stw_ok(e, stw__txn_close(e, 1));
	assert_int_equal(committed(t), 1);

	/* A first level rolled back and nothing after it: nothing to commit. */
	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, stw__rollback(e));
	assert_stw_ok(e, stw__txn_close(e, 1));
	assert_int_equal(committed(t), 1);

	/* durable() in the first level: committed, and the level is a savepoint now. */
	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, stw__durable(e));
	append(e, "e3", "A");
	assert_stw_ok(e, stw__rollback(e));
	assert_stw_ok(e, stw__txn_close(e, 1));
	assert_int_equal(committed(t), 2);

	/* The outer transaction rolled back undoes every level. */
	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e3", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__txn_close(e, 0));
	assert_int_equal(committed(t), 2);
}

/*
 * txn-4: the handler's savepoint needs a transaction and is one level;
 * rollback_to undoes what was written after it, release keeps it.
 */
static void test_handler_savepoint(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	assert_int_equal(stw__savepoint(e), STW_EINVAL);
	assert_int_equal(stw__release(e), STW_EINVAL);
	assert_stw_ok(e, stw__begin(e));
	assert_int_equal(stw__release(e), STW_EINVAL);
	assert_int_equal(stw__rollback_to(e), STW_EINVAL);
	append(e, "e1", "A");
	assert_stw_ok(e, stw__savepoint(e));
	assert_int_equal(stw__savepoint(e), STW_EINVAL);
	append(e, "e2", "A");
	assert_stw_ok(e, stw__rollback_to(e));
	assert_stw_ok(e, stw__savepoint(e)); /* free again */
	append(e, "e2", "B");
	assert_stw_ok(e, stw__release(e));
	assert_stw_ok(e, stw__commit(e));
	assert_int_equal(committed(t), 2);
	assert_int_equal(version_of(t, "A"), 1);
	assert_int_equal(version_of(t, "B"), 1);
	/* Rolling back with nothing open is harmless; committing is an error. */
	assert_stw_ok(e, stw__rollback(e));
	assert_int_equal(stw__commit(e), STW_ESTORE);
}

/*
 * txn-5: undos() counts what undoes writes: a rollback of the transaction,
 * of a nested level, of the handler's savepoint, and the outer
 * transaction's rollback; commits and releases leave it alone.
 */
static void test_undos(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	struct stw__store *s = e->store;
	uint64_t u0 = STW__S0(s, undos);
	assert_stw_ok(e, stw__begin(e));
	assert_stw_ok(e, stw__begin(e));
	append(e, "u1", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__savepoint(e));
	assert_stw_ok(e, stw__release(e));
	assert_stw_ok(e, stw__commit(e));
	assert_int_equal(STW__S0(s, undos), u0);

	assert_stw_ok(e, stw__begin(e));
	assert_stw_ok(e, stw__begin(e));
	assert_stw_ok(e, stw__rollback(e)); /* a nested level */
	assert_int_equal(STW__S0(s, undos), u0 + 1);
	assert_stw_ok(e, stw__savepoint(e));
	assert_stw_ok(e, stw__rollback_to(e));
	assert_int_equal(STW__S0(s, undos), u0 + 2);
	assert_stw_ok(e, stw__rollback(e)); /* the transaction */
	assert_int_equal(STW__S0(s, undos), u0 + 3);

	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "u2", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__txn_close(e, 0));
	assert_true(STW__S0(s, undos) > u0 + 3);
	assert_int_equal(committed(t), 1);
}

/*
 * txn-6: a store that ended the transaction by itself (as SQLite does after
 * an I/O error): the engine forgets its levels, a commit reports the loss,
 * a rollback is a no-op, a held savepoint is reported lost, and a lazy
 * outer transaction undone with its first level opens again.
 */
static void test_store_rolled_back_by_itself(void **state)
{
	struct txn_fx *t = *state;
	struct stw_engine *e = t->w.e;
	struct stw__store *s = e->store;
	assert_stw_ok(e, stw__begin(e));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e1", "A");
	assert_stw_ok(e, stw__savepoint(e));
	assert_stw_ok(e, STW__S0(s, rollback)); /* behind the engine's back */
	assert_int_equal(stw__release(e), STW_ESTORE);
	assert_int_equal(stw__commit(e), STW_ESTORE);
	assert_stw_ok(e, stw__rollback(e));
	assert_stw_ok(e, stw__begin(e)); /* the nesting starts afresh */
	append(e, "e1", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_int_equal(committed(t), 1);

	assert_stw_ok(e, stw__txn_open(e, STW__TXN_ROUND));
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, STW__S0(s, rollback));
	assert_stw_ok(e, stw__rollback(e)); /* the first level: the outer one opens anew */
	assert_stw_ok(e, stw__begin(e));
	append(e, "e2", "A");
	assert_stw_ok(e, stw__commit(e));
	assert_stw_ok(e, stw__txn_close(e, 1));
	assert_int_equal(committed(t), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_nested_levels),
		T(test_outer_transaction),
		T(test_outer_first_level),
		T(test_handler_savepoint),
		T(test_undos),
		T(test_store_rolled_back_by_itself),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
