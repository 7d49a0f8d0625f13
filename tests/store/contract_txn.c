/*
 * contract_txn.c - the store contract on transactions: one level, one
 * savepoint, and what another connection sees of them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <steward.h>

#include "contract_int.h"

/* ------------------------------------------------------------------------ */
/* Transactions: one level, one savepoint                                   */

/* rollback_to discards only the writes made after savepoint; release keeps them. */
void contract_test_savepoint(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 1), STW_OK);

	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 2), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c", STW_OK, NULL, 1), STW_OK);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK);

	/* The inner writes are gone, the outer ones kept; positions stay gap-free. */
	int64_t v = -1;
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, event_get, "e2", position_cb, &v), STW_ENOTFOUND);
	int outcome;
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c", &outcome, NULL, 0), STW_ENOTFOUND);
	append_ok(s, "Billing", "e3", "A", 2, 2);

	/* The level is free again: a released savepoint keeps its writes. */
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e4", "B", 3, 1);
	assert_int_equal(STW__S0(s, release), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	int64_t head = 0;
	assert_int_equal(contract_seen_elsewhere(f, "Billing", &head), 3);
	assert_int_equal(head, 3);
}

/*
 * The transaction primitives the engine nests its own transactions on
 * (src/core/txn.c): begin() while one is open is refused; savepoints stack,
 * rollback_to() undoes and releases the innermost, release() keeps it;
 * in_transaction() tells; rollback() with none open is a no-op, commit()
 * and savepoint() with none are errors; undos() counts rollbacks.
 */
void contract_test_transaction_primitives(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	uint64_t u0 = STW__S0(s, undos);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, savepoint), STW_EINVAL);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_not_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_true(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, begin), STW_EINVAL);
	assert_true(STW__S0(s, in_transaction));
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	assert_int_equal(STW__S0(s, savepoint), STW_OK); /* a second level on the first */
	append_ok(s, "Billing", "e3", "A", 3, 3);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK); /* the inner one: e3 goes */
	assert_int_equal(STW__S0(s, undos), u0 + 1);
	append_ok(s, "Billing", "e3", "B", 3, 1);
	assert_int_equal(STW__S0(s, release), STW_OK); /* the outer one: e2 and e3 stay */
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, undos), u0 + 1);
	int64_t head = 0;
	assert_int_equal(contract_seen_elsewhere(f, "Billing", &head), 3);
	assert_int_equal(head, 3);

	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e4", "A", 4, 3);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(STW__S0(s, undos), u0 + 2);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(contract_seen_elsewhere(f, "Billing", &head), 3);
}

/* rollback discards every write of the transaction, savepoint or not. */
void contract_test_rollback(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	append_ok(s, "Billing", "e0", "A", 1, 1);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 2, 2);
	struct stw__instance_row r = inst("d", "i", "active", "k", 1);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_OK);
	struct stw__outbox_row o = contract_cmd("c1", "Billing", "i");
	assert_int_equal(STW__S(s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 2), STW_OK);
	assert_int_equal(STW__S0(s, release), STW_OK);
	assert_int_equal(STW__S0(s, rollback), STW_OK);

	int64_t v = -1;
	assert_int_equal(STW__S(s, head, "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, stream_version, "Billing", "A", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, outbox_pending_count, &v), STW_OK);
	assert_int_equal(v, 0);
	struct instances c = { 0 };
	assert_int_equal(STW__S(s, instance_get, "d", "i", collect_instance, &c), STW_ENOTFOUND);
	assert_int_equal(contract_seen_elsewhere(f, "Billing", NULL), 1);
	append_ok(s, "Billing", "e1", "A", 2, 2);
}
