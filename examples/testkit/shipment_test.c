/*
 * shipment_test.c - the tests of the shipment process (shipment.c), written
 * with the kit of steward_test.h and built out of Steward's tree with
 * pkg-config (see the Makefile next to it and docs/TESTING.md): a path of the
 * process, then the same scenario under every fault for 50 seeds, with its
 * invariants.
 */
#include <stdio.h>

#include <steward_test.h>

#include "shipment.h"

/* Packed, reminded after an hour, paid, shipped by the (stubbed) carrier. */
static int paid_late(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_stub(t, "Carrier", "Ship", "Shipped", NULL);
	stw_test_given(t, "Warehouse", "s1", "Packed", NULL, NULL);
	stw_test_expect_timer(t, "shipment", "s1", "Remind", 1);
	stw_test_advance(t, 3600 * 1000);
	stw_test_expect_state(t, "shipment", "s1", "Reminded", "active");
	stw_test_given(t, "Payments", "pay-s1", "Paid", "s1", "{\"amount\":1200}");
	stw_test_expect_state(t, "shipment", "s1", "Shipped", "completed");
	/* The invariant: one shipment, one Ship command, one Shipped event. */
	stw_test_expect_sent(t, "shipment", "s1", "Carrier", "Ship", NULL, 1);
	return stw_test_count_events(t, "Carrier", "Shipped") == 1 ? 0 : -1;
}

int main(void)
{
	struct stw_test_options plain = { 0 };
	struct stw_test_options faults = { .faults = STW_TEST_ALL_FAULTS, .seed = 1 };
	if (stw_test_run(&plain, 1, shipment_setup, NULL, paid_late, NULL) != 0 ||
	    stw_test_run(&faults, 50, shipment_setup, NULL, paid_late, NULL) != 0)
		return 1;
	printf("shipment: all passed (1 run, 50 with faults)\n");
	return 0;
}
