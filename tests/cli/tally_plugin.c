/*
 * tally_plugin.c - a plugin for the CLI tests (tests/cli/run.sh): a context
 * Tally whose in-process service turns the commands Open and Break into the
 * events Opened and Broken, and a process "tally" that a Broken tally fails.
 * It is neither the voiding example nor built into steward, so the commands
 * that open a database for writing need --load to reach its service and
 * its definition.
 */
#include <stdio.h>
#include <string.h>

#include <steward_plugin.h>

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;

/* Open -> Opened, Break -> Broken, on the stream tally-ID; anything else is refused. */
static int tally_service(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)ud;
	const char *id = json_string_value(json_object_get(cmd->data, "tally"));
	const char *event = strcmp(cmd->type, "Open") == 0    ? "Opened"
			    : strcmp(cmd->type, "Break") == 0 ? "Broken"
							      : NULL;
	if (id == NULL || event == NULL)
		return stw_reject(sc, "Tally takes Open and Break with a tally id");
	char stream[STW_MAX_ID];
	snprintf(stream, sizeof(stream), "tally-%s", id);
	return stw_svc_emit(sc, stream, STW_ANY_VERSION, event, json_pack("{s:s}", "tally", id));
}

static const char *const sources[] = { "Tally", NULL };
static const struct stw_state_def states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Broken", STW_STATE_FAILURE },
	{ "Dismissed", STW_STATE_TERMINAL },
	{ NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "Opened", "Open", NULL, NULL, NULL },
	{ "Open", "Broken", "Broken", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition tally = {
	.name = "tally",
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.ack_state = "Dismissed",
};

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	int rc = stw_register_service(e, "Tally", tally_service, NULL);
	return rc == STW_OK ? stw_define(e, &tally) : rc;
}
