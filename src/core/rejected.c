/*
 * rejected.c - a rejected command told to the instance that sent it. A
 * service's refusal (stw_reject in process, a 409 or 422 from a remote
 * service) is a fact the process must act on: it comes back to the instance
 * as a message of type STW_COMMAND_REJECTED, in the transaction that records
 * the refusal, through the path of events and timers (stw__deliver), so a
 * definition handles it with a transition like any other message, and one
 * without a transition for it fails with the refusal as its reason.
 */
#include "core/rejected.h"
#include "core/apply.h"

#include <stdio.h>

/* The message of the refusal: its id derives from the command id. */
static int tell(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
		const struct stw__outbox_row *row, const char *reason)
{
	char id[33];
	const char *parts[2] = { STW_COMMAND_REJECTED, row->command_id };
	stw__derive_id(id, stw__id_order(row->command_id), parts, 2, 0);
	struct stw_event ev = {
		.context = row->context,
		.id = id,
		.type = STW_COMMAND_REJECTED,
		.stream = "",
		.correlation_id = in->id,
		.causation_id = row->command_id,
		.data =
		    json_pack("{s:s, s:s, s:s, s:s}", "command_id", row->command_id, "command_type",
			      row->type, "context", row->context, "reason", reason),
		.metadata = json_object(),
		.recorded_at = stw__now(e),
	};
	int rc = STW_OK;
	if (ev.data == NULL || ev.metadata == NULL) {
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
	} else {
		char why[1024];
		snprintf(why, sizeof(why), "%s %s to %s was rejected: %s", row->type,
			 row->command_id, row->context, reason);
		/* The definition's callbacks run in here: the engine is theirs to read only. */
		int was = e->in_handler;
		e->in_handler = 1;
		rc = in->malformed ? stw__inst_quarantine(e, def, in, &ev)
				   : stw__deliver(e, in->def, in, &ev, why);
		e->in_handler = was;
	}
	json_decref(ev.data);
	json_decref(ev.metadata);
	return rc;
}

int stw__tell_rejection(struct stw_engine *e, const struct stw__outbox_row *row, const char *reason)
{
	if (row->definition == NULL || row->instance_id == NULL)
		return STW_OK;
	const struct stw__def *def = stw__find_def(e, row->definition);
	if (def == NULL) {
		stw__log(
		    e, STW_LOG_WARN,
		    "command %s to %s was rejected, but instance %s is not told: definition %s "
		    "is not registered on the engine that delivered it",
		    row->command_id, row->context, row->instance_id, row->definition);
		return STW_OK;
	}
	if (def->nstates == 0)
		return STW_OK;
	/* The instance's strings live in the arena, from here to the end. */
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	struct stw__inst in = { .id = row->instance_id };
	int rc = stw__inst_load(e, def, &in);
	if (rc == STW_OK || (rc == STW_ESTORE && in.malformed))
		rc = tell(e, def, &in, row, reason);
	else if (rc == STW_ENOTFOUND)
		rc = STW_OK; /* never stored: nothing waits for the answer */
	json_decref(in.data);
	stw__arena_rewind(&e->arena, scope);
	return rc;
}
