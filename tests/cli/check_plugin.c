/*
 * check_plugin.c - a plugin for the CLI tests of `steward check` and of the
 * findings steward serve prints at start (tests/cli/run.sh): "courier"
 * sends Ship to the context Warehouse, which it does not serve (an error
 * unless Warehouse is declared remote), and its Moving state only counts
 * (a warning). With STEWARD_TEST_LOST set it also registers "lost", whose
 * state Nowhere no trigger leads to, which stw_define refuses.
 */
#include <stdlib.h>

#include <steward_plugin.h>

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;

static const char *const sources[] = { "Orders", NULL };

static const struct stw_state_def courier_states[] = {
	{ "Moving", STW_STATE_ACTIVE },
	{ NULL, 0 },
};
static const struct stw_command_def ship[] = {
	{ "Warehouse", "Ship", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def courier_transitions[] = {
	{ NULL, "Ordered", "Moving", ship, NULL, NULL },
	{ "Moving", "Moved", NULL, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition courier = {
	.name = "courier",
	.sources = sources,
	.states = courier_states,
	.transitions = courier_transitions,
};

static const struct stw_state_def lost_states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ "Nowhere", STW_STATE_ACTIVE },
	{ NULL, 0 },
};
static const struct stw_transition_def lost_transitions[] = {
	{ NULL, "Ordered", "Open", NULL, NULL, NULL },
	{ "Open", "Delivered", "Done", NULL, NULL, NULL },
	{ "Nowhere", "Delivered", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition lost = {
	.name = "lost",
	.sources = sources,
	.states = lost_states,
	.transitions = lost_transitions,
};

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	int rc = stw_define(e, &courier);
	if (rc == STW_OK && getenv("STEWARD_TEST_LOST") != NULL)
		rc = stw_define(e, &lost);
	return rc;
}
