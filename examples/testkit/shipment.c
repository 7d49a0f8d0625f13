/*
 * shipment.c - the process of the kit's example (docs/TESTING.md): a shipment
 * starts when the Warehouse packs it, asks the Carrier to ship it once
 * Payments says it is paid, and is reminded after an hour while it waits.
 */
#include "shipment.h"

static const char *const sources[] = { "Warehouse", "Payments", "Carrier", NULL };
static const struct stw_state_def states[] = {
	{ "Packed", STW_STATE_ACTIVE },   { "Reminded", STW_STATE_ACTIVE },
	{ "Shipping", STW_STATE_ACTIVE }, { "Shipped", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};
static const struct stw_timer_def remind[] = { { "Remind", 3600 * 1000, NULL }, { NULL, 0, NULL } };
static const struct stw_command_def ship[] = { { "Carrier", "Ship", NULL }, { NULL, NULL, NULL } };
static const struct stw_transition_def transitions[] = {
	{ NULL, "Packed", "Packed", NULL, NULL, remind },
	{ "Packed", "Remind", "Reminded", NULL, NULL, NULL },
	{ "Packed", "Paid", "Shipping", ship, NULL, NULL },
	{ "Reminded", "Paid", "Shipping", ship, NULL, NULL },
	{ "Shipping", "Shipped", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition shipment = {
	.name = "shipment",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

int shipment_setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	return stw_define(e, &shipment);
}
