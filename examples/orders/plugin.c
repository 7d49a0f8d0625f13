/*
 * plugin.c - the order process as a plugin for `steward serve`
 * (orders_process.so): the "orders" state machine with its Orders, Payments
 * and Restaurant services in process, so that their commands run on the
 * daemon's own store. Orders take the default timeouts of orders.h unless
 * their OrderPlaced event carries its own (payment_timeout_ms,
 * close_after_ms), as the orders posted by tests/cluster/chaos.mjs do.
 */
#include <steward_plugin.h>

#include "orders.h"

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	return orders_register(e, NULL);
}
