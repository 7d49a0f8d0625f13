/*
 * operate.c - what a person does to instances and commands: acknowledge a
 * failure, cancel an instance, retry it from a chosen state, retry or skip a
 * parked command, set a cursor. Each is one transaction with its history row
 * or status change.
 */
#include "core/apply.h"
#include "core/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 1 when `state` names an active state of d. */
static int active_state(const struct stw__def *d, const char *state)
{
	int st = stw__state_index(d, state);
	return st >= 0 && d->d->states[st].kind == STW_STATE_ACTIVE;
}

/*
 * Retries failed instance id of def from its active state `state` (of the
 * version that created it), in one transaction of its own (see stw_retry).
 */
static int retry(struct stw_engine *e, const struct stw__def *def, const char *id,
		 const char *state, const char *note)
{
	int64_t started = stw__mono_us();
	int rc = stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning a retry");
	/* The instance's strings live in the arena, from here to the end. */
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	struct stw__inst in = { .id = id };
	json_t *data = NULL;
	rc = stw__inst_load(e, def, &in);
	if (rc == STW_OK)
		rc = stw__inst_data(e, def, &in);
	if (rc == STW_ENOTFOUND)
		stw__fail(e, rc, "no instance %s of %s", id, def->d->name);
	else if (rc == STW_OK && in.status != STW__I_FAILED)
		rc = stw__fail(e, STW_ESTATE, "instance %s is %s, not failed", id,
			       stw__istatus_word(in.status));
	else if (rc == STW_OK && !active_state(in.def, state))
		rc = stw__fail(e, STW_EINVAL, "%s is not an active state of %s version %lld", state,
			       def->d->name, (long long)in.definition_version);
	if (rc != STW_OK)
		goto out;
	/* The retry is a message of its own: its id makes the new command ids. */
	char msg_id[48] = "retry-";
	stw_new_id(msg_id + 6);
	data = json_pack("{s:s, s:s?}", "state", state, "note", note);
	json_t *meta = json_object();
	struct stw_event ev = {
		.id = msg_id,
		.type = "Retry",
		.stream = "",
		.correlation_id = id,
		.data = data,
		.metadata = meta,
		.recorded_at = stw__now(e),
	};
	if (data == NULL || meta == NULL) {
		json_decref(meta);
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
		goto out;
	}
	rc = stw__reenter(e, in.def, &in, stw__state_index(in.def, state), &ev, note);
	json_decref(meta);
	if (rc == STW_OK && (rc = stw__commit(e)) != STW_OK)
		stw__store_fail(e, rc, "committing a retry");
out:
	json_decref(data);
	json_decref(in.data);
	stw__arena_rewind(&e->arena, scope);
	if (rc != STW_OK)
		stw__rollback(e);
	else
		stw__observe(e, STW_ACTIVITY_ACK, def->d->name, NULL, 1, 1, started);
	return rc;
}

/* The definition of instance id (see stw__resolve_definition), and a person's note checked. */
static int resolve(struct stw_engine *e, const char *definition, const char *id, const char *note,
		   char *def, size_t cap)
{
	int rc = stw__resolve_definition(e, definition, id, def, cap);
	if (rc == STW_OK && note != NULL && strlen(note) > STW_MAX_NOTE)
		rc = stw__fail(e, STW_EINVAL, "the note is longer than %d bytes", STW_MAX_NOTE);
	return rc;
}

/* The fields of a stored instance needed to acknowledge it. */
struct ack_ctx {
	struct stw__instance_row row;
	char state[STW_MAX_NAME];
	char status[32];
	char key[STW_MAX_ID];
	char reason[512];
	json_t *json;
	int found;
};

static int ack_cb(const struct stw__instance_row *r, void *ud)
{
	struct ack_ctx *c = ud;
	c->found = 1;
	c->row.version = r->version;
	c->row.created_at = r->created_at;
	c->row.definition_version = r->definition_version;
	stw__copy(c->state, sizeof(c->state), r->state);
	stw__copy(c->status, sizeof(c->status), r->status);
	stw__copy(c->key, sizeof(c->key), r->unique_key ? r->unique_key : "");
	stw__copy(c->reason, sizeof(c->reason), r->reason ? r->reason : "");
	json_error_t jerr;
	c->json = json_loads(r->data, 0, &jerr);
	return 1;
}

/* How an operator ends an instance: acknowledging a failure, or cancelling. */
struct ending {
	int cancel;               /* 0: acknowledge (failed only); 1: cancel (active or failed) */
	enum stw__istatus status; /* the new status */
	const char *message_type;
	enum stw__outcome outcome;
	const char *id_prefix;
};

static const struct ending acknowledging = { 0, STW__I_ACKNOWLEDGED, "AcknowledgeProcessFailure",
					     STW__O_ACKNOWLEDGED, "ack-" };
static const struct ending cancelling = { 1, STW__I_CANCELLED, "CancelProcess", STW__O_CANCELLED,
					  "cancel-" };

/*
 * Ends an instance as an operator asked: checks its status, moves it to the
 * new status (acknowledging also moves it to the ack state), frees its key
 * (kept on the row for display), voids its timers (a new state epoch), and
 * records a history row with the note, in one transaction.
 */
static int end_instance(struct stw_engine *e, const char *definition, const char *id,
			const char *note, const struct ending *how)
{
	char def[STW_MAX_NAME];
	int rc = resolve(e, definition, id, note, def, sizeof(def));
	if (rc != STW_OK)
		return rc;
	struct stw__store *s = e->store;
	int64_t started = stw__mono_us();
	if ((rc = stw__begin(e)) != STW_OK)
		return stw__store_fail(e, rc, "beginning to end an instance");
	struct ack_ctx c = { 0 };
	rc = STW__S(s, instance_get, def, id, ack_cb, &c);
	char *data = NULL;
	if (rc == STW_ENOTFOUND) {
		stw__fail(e, rc, "no instance %s of %s", id, def);
		goto out;
	}
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "reading an instance");
		goto out;
	}
	if (!stw__inst_version_ok(c.row.version)) {
		rc = stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (version %lld)", id,
			       def, (long long)c.row.version);
		goto out;
	}
	int failed = strcmp(c.status, stw__istatus_word(STW__I_FAILED)) == 0;
	int active = strcmp(c.status, stw__istatus_word(STW__I_ACTIVE)) == 0;
	if (how->cancel ? !failed && !active : !failed) {
		rc = stw__fail(e, STW_ESTATE, "instance %s is %s, not %s", id, c.status,
			       how->cancel ? "active or failed" : "failed");
		goto out;
	}
	data = c.json ? json_dumps(c.json, JSON_COMPACT) : NULL;
	if (data == NULL) {
		rc = stw__fail(e, STW_ENOMEM, "cannot serialise instance data");
		goto out;
	}
	const char *to = c.state;
	/* The ack state of the version that created it. */
	const struct stw__def *d = stw__find_def_version(e, def, c.row.definition_version);
	if (!how->cancel && d != NULL && d->ack_state >= 0)
		to = d->d->states[d->ack_state].name;
	int64_t now = stw__now(e);
	char msg_id[64];
	snprintf(msg_id, sizeof(msg_id), "%s", how->id_prefix);
	stw_new_id(msg_id + strlen(msg_id));
	struct stw__history_row h = {
		.definition = def,
		.instance_id = id,
		.message_id = msg_id,
		.message_type = how->message_type,
		.from_state = c.state,
		.to_state = to,
		.outcome = stw__outcome_word(how->outcome),
		.reason = note,
		.at = now,
	};
	struct stw__instance_row row = {
		.definition = def,
		.id = id,
		.state = to,
		.status = stw__istatus_word(how->status),
		.data = data,
		/* Kept for display: the unique index covers active and failed only. */
		.unique_key = c.key[0] ? c.key : NULL,
		/* A cancel keeps the failure's reason unless the note says why. */
		.reason = !how->cancel  ? NULL
			  : note        ? note
			  : c.reason[0] ? c.reason
					: NULL,
		.version = c.row.version + 1,
		.created_at = c.row.created_at,
		.updated_at = now,
		.entered_version = c.row.version + 1, /* a new epoch: its timers are void */
	};
	rc = STW__S(s, history_insert, &h);
	if (rc == STW_OK)
		rc = STW__S(s, instance_update, &row, c.row.version);
	if (rc == STW_OK)
		rc = stw__commit(e);
	if (rc != STW_OK)
		stw__store_fail(e, rc, "ending an instance");
out:
	free(data);
	json_decref(c.json);
	if (rc != STW_OK)
		stw__rollback(e);
	else
		stw__observe(e, STW_ACTIVITY_ACK, def, NULL, 1, 1, started);
	return rc;
}

STW_API int stw_acknowledge(struct stw_engine *e, const char *definition, const char *id,
			    const char *note)
{
	STW__ENTER(e, STW__CALL_WRITE);
	return end_instance(e, definition, id, note, &acknowledging);
}

STW_API int stw_cancel(struct stw_engine *e, const char *definition, const char *id,
		       const char *note)
{
	STW__ENTER(e, STW__CALL_WRITE);
	return end_instance(e, definition, id, note, &cancelling);
}

STW_API int stw_retry(struct stw_engine *e, const char *definition, const char *id,
		      const char *state, const char *note)
{
	STW__ENTER(e, STW__CALL_WRITE);
	char def[STW_MAX_NAME];
	int rc = resolve(e, definition, id, note, def, sizeof(def));
	if (rc != STW_OK)
		return rc;
	const struct stw__def *d = stw__find_def(e, def);
	if (d == NULL || d->nstates == 0)
		return stw__fail(e, STW_ENOTFOUND, "definition %s is not registered here", def);
	/* An active state of some version; retry checks the instance's. */
	if (state == NULL || !stw__any_version(e, d, active_state, state))
		return stw__fail(e, STW_EINVAL, "%s is not an active state of %s",
				 state ? state : "(none)", def);
	return retry(e, d, id, state, note);
}

STW_API int stw_set_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t position)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (!stw__valid_name(definition) || !stw__valid_name(context) || position < 0)
		return stw__fail(e, STW_EINVAL, "invalid definition, context or position");
	int rc = stw__begin(e);
	if (rc == STW_OK)
		rc = STW__S(e->store, cursor_set, definition, context, position);
	if (rc == STW_OK)
		rc = stw__commit(e);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "setting a cursor");
		stw__rollback(e);
	}
	return rc;
}

/* The status, context and attempts of one command (decide's callback). */
struct status_of {
	char status[16];
	char context[STW_MAX_NAME];
	int attempts;
};

static int status_cb(const struct stw__outbox_row *row, void *ud)
{
	struct status_of *st = ud;
	stw__copy(st->status, sizeof(st->status), row->status);
	stw__copy(st->context, sizeof(st->context), row->context);
	st->attempts = row->attempts;
	return 0;
}

/*
 * Moves a command to `status` in one transaction: a parked one to pending
 * (retry) or skipped, a rejected one to pending. A refusal of an in-process
 * service is forgotten by its dedup table then, so that the handler judges
 * the command again (a refusal wrote nothing, so nothing can be doubled).
 */
static int decide(struct stw_engine *e, const char *id, enum stw__cstatus status, const char *note)
{
	if (!stw__valid_id(id))
		return stw__fail(e, STW_EINVAL, "invalid command id");
	if (note != NULL && strlen(note) > STW_MAX_NOTE)
		return stw__fail(e, STW_EINVAL, "the note is longer than %d bytes", STW_MAX_NOTE);
	struct stw__store *s = e->store;
	struct status_of st = { { 0 }, { 0 }, 0 };
	int rc = stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning a decision");
	rc = STW__S(s, outbox_get, id, status_cb, &st);
	enum stw__cstatus was = rc == STW_OK ? stw__cstatus_parse(st.status) : STW__C_PENDING;
	int retry = status == STW__C_PENDING;
	if (rc == STW_ENOTFOUND) {
		stw__fail(e, rc, "no command %s", id);
	} else if (rc != STW_OK) {
		stw__store_fail(e, rc, "reading a command");
	} else if (was != STW__C_PARKED && !(retry && was == STW__C_REJECTED)) {
		rc = stw__fail(e, STW_ESTATE, "command %s is %s, not parked%s", id, st.status,
			       retry ? " or rejected" : "");
	} else if (retry) {
		/* A fresh start: all attempts again, the first one now. */
		rc = STW__S(s, outbox_attempted, id, stw__cstatus_word(status), NULL, 0, 0, 0);
		if (rc == STW_OK && was == STW__C_REJECTED)
			rc = STW__S(s, dedup_forget_refusal, st.context, id);
	} else {
		rc = STW__S(s, outbox_attempted, id, stw__cstatus_word(status),
			    note ? note : "skipped by a person", st.attempts, 0, 0);
	}
	if (rc == STW_OK && (rc = stw__commit(e)) != STW_OK)
		stw__store_fail(e, rc, "committing a decision");
	if (rc != STW_OK) {
		stw__rollback(e);
		return rc;
	}
	stw__observe(e, STW_ACTIVITY_COMMAND, NULL, NULL, 1, 0, stw__mono_us());
	return STW_OK;
}

STW_API int stw_retry_command(struct stw_engine *e, const char *id)
{
	STW__ENTER(e, STW__CALL_WRITE);
	return decide(e, id, STW__C_PENDING, NULL);
}

STW_API int stw_skip_command(struct stw_engine *e, const char *id, const char *note)
{
	STW__ENTER(e, STW__CALL_WRITE);
	return decide(e, id, STW__C_SKIPPED, note);
}
