/*
 * outbox.c - writing commands to the outbox: the commands of a transition
 * (their ids derived from the message that caused them, so a step done
 * again writes the same rows) and commands queued by a host (stw_send); and
 * copies of outbox rows for the batches that deliver them.
 */
#include "core/outbox.h"
#include "core/txn.h"

#include <stdlib.h>
#include <string.h>

int stw__outbox_write(struct stw_engine *e, const struct stw__def *def, int t,
		      const struct stw_step_info *si, const char *correlation,
		      char *const *payloads, int n)
{
	const struct stw_command_def *cmds = def->d->transitions[t].commands;
	int64_t now = stw__now(e);
	for (int i = 0; i < n; i++) {
		char id[33];
		const char *parts[3] = { def->d->name, si->instance_id ? si->instance_id : "",
					 si->event->id };
		stw__derive_id(id, si->event->recorded_at, parts, 3, i);
		struct stw__outbox_row row = {
			.command_id = id,
			.context = cmds[i].context,
			.type = cmds[i].type,
			.definition = def->d->name,
			.instance_id = si->instance_id,
			.correlation_id = correlation,
			.causation_id = si->event->id,
			.data = payloads[i],
			.status = stw__cstatus_word(STW__C_PENDING),
			.created_at = now,
		};
		int rc = STW__S(e->store, outbox_insert, &row);
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "writing the outbox");
	}
	return STW_OK;
}

int stw__outbox_row_copy(struct stw__arena *a, struct stw__outbox_row *dst,
			 const struct stw__outbox_row *src)
{
	int oom = 0;
	memset(dst, 0, sizeof(*dst));
	dst->seq = src->seq;
	dst->attempts = src->attempts;
	dst->command_id = stw__arena_strdup(a, src->command_id, &oom);
	dst->context = stw__arena_strdup(a, src->context, &oom);
	dst->type = stw__arena_strdup(a, src->type, &oom);
	dst->definition = stw__arena_strdup(a, src->definition, &oom);
	dst->instance_id = stw__arena_strdup(a, src->instance_id, &oom);
	dst->correlation_id = stw__arena_strdup(a, src->correlation_id, &oom);
	dst->causation_id = stw__arena_strdup(a, src->causation_id, &oom);
	dst->data = stw__arena_strdup(a, src->data, &oom);
	return oom ? -1 : 0;
}

int stw__check_command(struct stw_engine *e, const char *context, const char *type, json_t *data,
		       const char *id, const char *correlation_id)
{
	if (!stw__valid_name(context) || !stw__valid_name(type))
		return stw__fail(e, STW_EINVAL, "invalid context or command type");
	if (id != NULL && !stw__valid_id(id))
		return stw__fail(e, STW_EINVAL, "invalid command id");
	if (correlation_id != NULL && !stw__valid_id(correlation_id))
		return stw__fail(e, STW_EINVAL, "invalid correlation id");
	if (data != NULL && !json_is_object(data))
		return stw__fail(e, STW_EINVAL, "command data must be a JSON object");
	return STW_OK;
}

STW_API int stw_send(struct stw_engine *e, const char *context, const char *type, json_t *data,
		     const char *id, const char *correlation_id, char *id_out)
{
	STW__ENTER(e, STW__CALL_WRITE);
	int rc = stw__check_command(e, context, type, data, id, correlation_id);
	if (rc != STW_OK)
		return rc;
	if (stw__find_service(e, context) == NULL && stw__find_remote(e, context) == NULL)
		return stw__fail(e, STW_ENOTFOUND, "no service for context %s", context);
	char gen[37];
	if (id == NULL) {
		stw_new_id(gen);
		id = gen;
	}
	if (id_out != NULL)
		stw__copy(id_out, STW_MAX_ID, id);
	char *text = data ? json_dumps(data, JSON_COMPACT) : strdup("{}");
	if (text == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (strlen(text) > STW_MAX_JSON) {
		free(text);
		return stw__fail(e, STW_EINVAL, "command data is larger than %d bytes",
				 STW_MAX_JSON);
	}
	int64_t started = stw__mono_us();
	struct stw__outbox_row row = {
		.command_id = id,
		.context = context,
		.type = type,
		.correlation_id = correlation_id ? correlation_id : id,
		.data = text,
		.created_at = stw__now(e),
	};
	rc = stw__begin(e);
	if (rc == STW_OK)
		rc = STW__S(e->store, outbox_insert, &row);
	if (rc == STW_OK)
		rc = stw__commit(e);
	free(text);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "queueing a command");
		stw__rollback(e);
		return rc;
	}
	stw__observe(e, STW_ACTIVITY_COMMAND, NULL, context, 1, 0, started);
	return STW_OK;
}
