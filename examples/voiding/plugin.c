/*
 * plugin.c - the voiding process as a plugin for `steward serve`
 * (voiding_process.so): the "reports-feed" policy and the "voiding" state
 * machine, with Billing and Reports left to remote services (billing_service
 * and reports_service, or any program speaking the protocol of
 * docs/SERVICES.md) named in the [remote ...] sections of the configuration.
 */
#include <steward_plugin.h>

#include "voiding.h"

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	return voiding_register_processes(e);
}
