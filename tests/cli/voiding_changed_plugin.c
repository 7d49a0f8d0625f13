/*
 * voiding_changed_plugin.c - the voiding process with one path changed, for
 * the test of steward replay (tests/cli/replay.sh): when Reports refuses to
 * mark a document as voided, the process fails without asking Billing to
 * abort the voiding (the example sends AbortDocumentVoiding). Every other
 * transition, and the reports feed, are the example's. It is version 2 of
 * the voiding definition, so that it also runs beside the example's plugin
 * (version 1) in one daemon (tests/cli/versions.sh): the feed, which the
 * example registers too, is then left as the first plugin registered it.
 * It declares a migration from version 1 (tests/cli/migrate.sh): every state
 * keeps its name, except that a failed marking stays on version 1 (its
 * abort was asked for by version 1's rules), and the data records
 * "migrated_from": 1.
 */
#include <string.h>

#include <steward_plugin.h>

#include "voiding.h"

STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;

#define MAX_TRANSITIONS 16

static struct stw_transition_def transitions[MAX_TRANSITIONS];

static int record_origin(struct stw_migration_info *mi)
{
	return json_object_set_new(mi->data, "migrated_from", json_integer(mi->from_version));
}

static const struct stw_state_map from_v1[] = {
	{ "MarkingDocumentAsVoidedFailed", NULL },
	{ NULL, NULL },
};
static const struct stw_migration_def migrations[] = {
	{ 1, from_v1, record_origin },
	{ 0, NULL, NULL },
};
static struct stw_definition changed;

STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e)
{
	changed = voiding_definition;
	int n = 0;
	for (; voiding_definition.transitions[n].on != NULL && n < MAX_TRANSITIONS - 1; n++) {
		transitions[n] = voiding_definition.transitions[n];
		if (transitions[n].from != NULL &&
		    strcmp(transitions[n].from, "VoidingRequested") == 0 &&
		    strcmp(transitions[n].on, "MarkingDocumentAsVoidedFailed") == 0)
			transitions[n].commands = NULL;
	}
	transitions[n] = (struct stw_transition_def){ 0 };
	changed.transitions = transitions;
	changed.version = 2;
	changed.migrations = migrations;
	int rc = stw_define(e, &voiding_reports_feed);
	return rc == STW_OK || rc == STW_EEXIST ? stw_define(e, &changed) : rc;
}
