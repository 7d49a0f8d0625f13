/*
 * contract.c - the store contract (see contract.h): its table of cases and
 * the runner that gives each case a fresh store (contract_int.h lists the
 * files of the cases).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include <steward.h>

#include "contract_int.h"

/* The opener of the backend under test: the initial state of every case. */
struct backend {
	contract_open_fn open;
	contract_drop_fn drop;
};

static int setup(void **state)
{
	const struct backend *b = *state;
	if (fx_new(state, sizeof(struct fixture), "store", 0) != 0)
		return -1;
	struct fixture *f = *state;
	f->open = b->open;
	f->drop = b->drop;
	if (f->open(f->w.dir, &f->s) == STW_OK)
		return 0;
	if (f->drop != NULL)
		f->drop(f->w.dir);
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* Closes the store and removes its directory with everything in it. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		STW__S0(f->s, close);
	int dropped = f->drop != NULL ? f->drop(f->w.dir) : 0;
	return fx_teardown(state) != 0 || dropped != 0 ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* The table and its runner                                                 */

/* A case named as its function was before the contract_ prefix. */
#define CASE(fn)                                                                                   \
	{                                                                                          \
		.name = #fn, .run = contract_##fn                                                  \
	}

const struct contract_case contract_cases[] = {
	CASE(test_history_insert_many),
	CASE(test_awkward_text),
	CASE(test_append_gap_free),
	CASE(test_append_duplicate_id),
	CASE(test_append_autocommit_and_invalid),
	CASE(test_read_after_limit),
	CASE(test_read_stream),
	CASE(test_reentrant_callback),
	CASE(test_cursors),
	CASE(test_instance_insert_get_update),
	CASE(test_key_holder),
	CASE(test_list_instances),
	CASE(test_definition_version),
	CASE(test_history),
	CASE(test_outbox),
	CASE(test_dedup),
	CASE(test_dedup_forget_refusal),
	CASE(test_unrouted),
	CASE(test_savepoint),
	CASE(test_rollback),
	CASE(test_transaction_primitives),
	CASE(test_event_get_fields),
	CASE(test_cursor_attempt),
	CASE(test_outbox_remote),
	CASE(test_timers),
	CASE(test_periodic),
	CASE(test_prune_instances),
	CASE(test_prune_dedup),
	CASE(test_prune_commands),
};
#undef CASE

const size_t contract_ncases = sizeof contract_cases / sizeof contract_cases[0];

int contract_run(const char *group, contract_open_fn open, contract_drop_fn drop)
{
	struct backend b = { open, drop };
	struct CMUnitTest *tests = calloc(contract_ncases, sizeof *tests);
	if (tests == NULL)
		return -1;
	for (size_t i = 0; i < contract_ncases; i++)
		tests[i] = (struct CMUnitTest){ .name = contract_cases[i].name,
						.test_func = contract_cases[i].run,
						.setup_func = setup,
						.teardown_func = teardown,
						.initial_state = &b };
	/* What cmocka_run_group_tests expands to, for a table built at run time. */
	int failed = _cmocka_run_group_tests(group, tests, contract_ncases, NULL, NULL);
	free(tests);
	return failed;
}
