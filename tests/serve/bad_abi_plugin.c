/*
 * bad_abi_plugin.c - a plugin built for another plugin ABI, which
 * `steward serve` must refuse to load (tests/serve/config.sh).
 */
#include <steward_plugin.h>

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI + 41;

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	(void)e;
	return STW_OK;
}
