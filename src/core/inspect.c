/*
 * inspect.c - listing and reading instances as JSON, acknowledging failures,
 * and listing unrouted messages.
 */
#include "core/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets key to a string or null. */
static int set_str(json_t *o, const char *key, const char *v)
{
	return json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static json_t *instance_json(const struct stw__instance_row *r, int with_data)
{
	json_t *o = json_object();
	if (o == NULL)
		return NULL;
	int bad = set_str(o, "definition", r->definition) | set_str(o, "id", r->id) |
		  set_str(o, "state", r->state) | set_str(o, "status", r->status) |
		  json_object_set_new(o, "version", json_integer(r->version)) |
		  set_str(o, "unique_key", r->unique_key) | set_str(o, "reason", r->reason) |
		  json_object_set_new(o, "created_at", json_integer(r->created_at)) |
		  json_object_set_new(o, "updated_at", json_integer(r->updated_at));
	if (with_data) {
		json_error_t jerr;
		json_t *d = json_loads(r->data, 0, &jerr);
		bad |= json_object_set_new(o, "data", d ? d : json_object());
	}
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

struct list_ctx {
	json_t *arr;
	int with_data;
	int oom;
};

static int list_cb(const struct stw__instance_row *r, void *ud)
{
	struct list_ctx *c = ud;
	json_t *o = instance_json(r, c->with_data);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

static int check_filter_name(const char *s)
{
	return s == NULL || stw__valid_name(s);
}

STW_API int stw_list_instances(struct stw_engine *e, const struct stw_instance_filter *f,
			       json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	struct stw_instance_filter none = { 0 };
	if (f == NULL)
		f = &none;
	if (!check_filter_name(f->definition) || !check_filter_name(f->status) ||
	    !check_filter_name(f->state) || f->limit < 0 || f->limit > 10000 || f->offset < 0)
		return stw__fail(e, STW_EINVAL, "invalid instance filter");
	struct stw__instance_query q = {
		.definition = f->definition,
		.status = f->status,
		.state = f->state,
		.limit = f->limit ? f->limit : 100,
		.offset = f->offset,
	};
	struct list_ctx c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(e->store, list_instances, &q, list_cb, &c);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return rc != STW_OK ? stw__store_fail(e, rc, "listing instances")
				    : stw__fail(e, STW_ENOMEM, "out of memory");
	}
	*out = c.arr;
	return STW_OK;
}

/*
 * Resolves the definition of instance `id`: the given one, or the only one
 * that has an instance with that id. def_out receives a registered or stored
 * definition name (cap bytes).
 */
static int resolve_definition(struct stw_engine *e, const char *definition, const char *id,
			      char *def_out, size_t cap)
{
	if (!stw__valid_id(id))
		return stw__fail(e, STW_EINVAL, "invalid instance id");
	if (definition != NULL) {
		if (!stw__valid_name(definition))
			return stw__fail(e, STW_EINVAL, "invalid definition name");
		stw__copy(def_out, cap, definition);
		return STW_OK;
	}
	struct stw__instance_query q = { .id = id, .limit = 2 };
	struct list_ctx c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(e->store, list_instances, &q, list_cb, &c);
	if (rc != STW_OK) {
		json_decref(c.arr);
		return stw__store_fail(e, rc, "finding an instance");
	}
	size_t n = json_array_size(c.arr);
	if (n == 1)
		snprintf(
		    def_out, cap, "%s",
		    json_string_value(json_object_get(json_array_get(c.arr, 0), "definition")));
	json_decref(c.arr);
	if (c.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (n == 0)
		return stw__fail(e, STW_ENOTFOUND, "no instance %s", id);
	if (n > 1)
		return stw__fail(e, STW_EAMBIGUOUS, "instance id %s exists in several definitions",
				 id);
	return STW_OK;
}

struct get_ctx {
	json_t *o;
	int64_t entered_version;
};

static int get_cb(const struct stw__instance_row *r, void *ud)
{
	struct get_ctx *g = ud;
	g->o = instance_json(r, 1);
	g->entered_version = r->entered_version;
	return 1;
}

/* Pending timers that still apply to the instance's current state. */
struct timers_ctx {
	json_t *arr;
	int64_t entered_version;
	int oom;
};

static int timer_cb(const struct stw__timer_row *r, void *ud)
{
	struct timers_ctx *c = ud;
	if (r->entered_version != c->entered_version)
		return 0; /* armed by a state the instance has left: void */
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s}", "id", r->id, "message_type",
			      r->message_type, "due_at", (json_int_t)r->due_at, "created_at",
			      (json_int_t)r->created_at, "armed_by", r->armed_by);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

static int history_cb(const struct stw__history_row *r, void *ud)
{
	struct stw__json_list *c = ud;
	json_t *o = json_object();
	if (o == NULL ||
	    (json_object_set_new(o, "seq", json_integer(r->seq)) |
	     json_object_set_new(o, "at", json_integer(r->at)) |
	     set_str(o, "message_id", r->message_id) | set_str(o, "message_type", r->message_type) |
	     set_str(o, "context", r->context) | set_str(o, "from", r->from_state) |
	     set_str(o, "to", r->to_state) | set_str(o, "outcome", r->outcome) |
	     set_str(o, "reason", r->reason)) != 0 ||
	    json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

json_t *stw__outbox_json(const struct stw__outbox_row *r)
{
	json_error_t jerr;
	json_t *d = json_loads(r->data, 0, &jerr);
	json_t *o = json_object();
	if (o == NULL ||
	    (set_str(o, "id", r->command_id) | set_str(o, "context", r->context) |
	     set_str(o, "type", r->type) | json_object_set_new(o, "data", d ? d : json_object()) |
	     set_str(o, "correlation_id", r->correlation_id) |
	     set_str(o, "causation_id", r->causation_id) | set_str(o, "definition", r->definition) |
	     set_str(o, "instance_id", r->instance_id) | set_str(o, "status", r->status) |
	     set_str(o, "error", r->error) |
	     json_object_set_new(o, "attempts", json_integer(r->attempts)) |
	     json_object_set_new(o, "next_attempt_at", json_integer(r->next_at)) |
	     json_object_set_new(o, "created_at", json_integer(r->created_at)) |
	     json_object_set_new(o, "delivered_at", json_integer(r->delivered_at))) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int stw__outbox_list_cb(const struct stw__outbox_row *r, void *ud)
{
	struct stw__json_list *c = ud;
	json_t *o = stw__outbox_json(r);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

STW_API int stw_get_instance(struct stw_engine *e, const char *definition, const char *id,
			     json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	char def[STW_MAX_NAME];
	int rc = resolve_definition(e, definition, id, def, sizeof(def));
	if (rc != STW_OK)
		return rc;
	struct get_ctx g = { 0 };
	rc = STW__S(e->store, instance_get, def, id, get_cb, &g);
	json_t *o = g.o;
	if (rc == STW_ENOTFOUND)
		return stw__fail(e, rc, "no instance %s of %s", id, def);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading an instance");
	if (o == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	struct stw__json_list h = { .arr = json_array() }, c = { .arr = json_array() };
	struct timers_ctx t = { .arr = json_array(), .entered_version = g.entered_version };
	if (h.arr == NULL || c.arr == NULL || t.arr == NULL)
		rc = STW_ENOMEM;
	if (rc == STW_OK)
		rc = STW__S(e->store, history_list, def, id, history_cb, &h);
	if (rc == STW_OK)
		rc = STW__S(e->store, outbox_for_instance, def, id, stw__outbox_list_cb, &c);
	/* Only an instance that can still receive them has pending timers (the
	 * rule that firing applies). */
	const char *status = json_string_value(json_object_get(o, "status"));
	const struct stw__def *d = stw__find_def(e, def);
	int live =
	    status != NULL &&
	    (d != NULL
		 ? stw__live(d, status,
			     stw__state_index(d, json_string_value(json_object_get(o, "state"))))
		 : strcmp(status, "active") == 0);
	if (rc == STW_OK && live)
		rc = STW__S(e->store, timers_for_instance, def, id, timer_cb, &t);
	if (rc == STW_OK && (h.oom || c.oom || t.oom))
		rc = STW_ENOMEM;
	if (rc == STW_OK) {
		json_object_set_new(o, "history", h.arr);
		json_object_set_new(o, "commands", c.arr);
		json_object_set_new(o, "timers", t.arr);
		*out = o;
		return STW_OK;
	}
	json_decref(h.arr);
	json_decref(c.arr);
	json_decref(t.arr);
	json_decref(o);
	return rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory")
				: stw__store_fail(e, rc, "reading an instance");
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
	int cancel;         /* 0: acknowledge (failed only); 1: cancel (active or failed) */
	const char *status; /* the new status */
	const char *message_type;
	const char *outcome;
	const char *id_prefix;
};

static const struct ending acknowledging = { 0, "acknowledged", "AcknowledgeProcessFailure",
					     "acknowledged", "ack-" };
static const struct ending cancelling = { 1, "cancelled", "CancelProcess", "cancelled", "cancel-" };

/*
 * Ends an instance as an operator asked: checks its status, moves it to the
 * new status (acknowledging also moves it to the ack state), frees its key
 * (kept on the row for display), voids its timers (a new state epoch), and
 * records a history row with the note, in one transaction.
 */
static int end_instance(struct stw_engine *e, const char *definition, const char *id,
			const char *note, const struct ending *how)
{
	if (e == NULL)
		return STW_EINVAL;
	char def[STW_MAX_NAME];
	int rc = resolve_definition(e, definition, id, def, sizeof(def));
	if (rc != STW_OK)
		return rc;
	if (note != NULL && strlen(note) > 1000)
		return stw__fail(e, STW_EINVAL, "the note is longer than 1000 bytes");
	const struct stw__def *d = stw__find_def(e, def);
	struct stw__store *s = e->store;
	int64_t started = stw__mono_us();
	if ((rc = STW__S0(s, begin)) != STW_OK)
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
	int failed = strcmp(c.status, "failed") == 0;
	if (how->cancel ? !failed && strcmp(c.status, "active") != 0 : !failed) {
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
		.outcome = how->outcome,
		.reason = note,
		.at = now,
	};
	struct stw__instance_row row = {
		.definition = def,
		.id = id,
		.state = to,
		.status = how->status,
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
		rc = STW__S0(s, commit);
	if (rc != STW_OK)
		stw__store_fail(e, rc, "ending an instance");
out:
	free(data);
	json_decref(c.json);
	if (rc != STW_OK)
		STW__S0(s, rollback);
	else
		stw__observe(e, STW_ACTIVITY_ACK, def, NULL, 1, 1, started);
	return rc;
}

STW_API int stw_acknowledge(struct stw_engine *e, const char *definition, const char *id,
			    const char *note)
{
	return end_instance(e, definition, id, note, &acknowledging);
}

STW_API int stw_cancel(struct stw_engine *e, const char *definition, const char *id,
		       const char *note)
{
	return end_instance(e, definition, id, note, &cancelling);
}

STW_API int stw_retry(struct stw_engine *e, const char *definition, const char *id,
		      const char *state, const char *note)
{
	if (e == NULL)
		return STW_EINVAL;
	char def[STW_MAX_NAME];
	int rc = resolve_definition(e, definition, id, def, sizeof(def));
	if (rc != STW_OK)
		return rc;
	if (note != NULL && strlen(note) > 1000)
		return stw__fail(e, STW_EINVAL, "the note is longer than 1000 bytes");
	const struct stw__def *d = stw__find_def(e, def);
	if (d == NULL || d->nstates == 0)
		return stw__fail(e, STW_ENOTFOUND, "definition %s is not registered here", def);
	int st = state != NULL ? stw__state_index(d, state) : -1;
	if (st < 0 || d->d->states[st].kind != STW_STATE_ACTIVE)
		return stw__fail(e, STW_EINVAL, "%s is not an active state of %s",
				 state ? state : "(none)", def);
	return stw__retry(e, d, id, st, note);
}

STW_API int stw_list_interventions(struct stw_engine *e, int limit, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	if (limit < 0 || limit > 10000)
		return stw__fail(e, STW_EINVAL, "invalid limit");
	json_t *all = json_array();
	int rc = all ? STW_OK : stw__fail(e, STW_ENOMEM, "out of memory");
	for (size_t i = 0; rc == STW_OK && i < e->ndefs; i++) {
		const struct stw__def *d = &e->defs[i];
		for (int k = 0; rc == STW_OK && k < d->nstates; k++) {
			if (d->d->states[k].kind != STW_STATE_MANUAL)
				continue;
			struct stw_instance_filter f = { .definition = d->d->name,
							 .status = "failed",
							 .state = d->d->states[k].name,
							 .limit = limit };
			json_t *l = NULL;
			rc = stw_list_instances(e, &f, &l);
			if (rc == STW_OK && json_array_extend(all, l) != 0)
				rc = stw__fail(e, STW_ENOMEM, "out of memory");
			json_decref(l);
		}
	}
	if (rc != STW_OK) {
		json_decref(all);
		return rc;
	}
	*out = all;
	return STW_OK;
}

static int unrouted_cb(const struct stw__unrouted_row *r, void *ud)
{
	struct stw__json_list *c = ud;
	json_t *o = json_object();
	if (o == NULL ||
	    (json_object_set_new(o, "seq", json_integer(r->seq)) |
	     set_str(o, "definition", r->definition) | set_str(o, "context", r->context) |
	     json_object_set_new(o, "position", json_integer(r->position)) |
	     set_str(o, "event_id", r->event_id) | set_str(o, "event_type", r->event_type) |
	     set_str(o, "reason", r->reason) | json_object_set_new(o, "at", json_integer(r->at))) !=
		0 ||
	    json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

STW_API int stw_list_unrouted(struct stw_engine *e, const char *definition, int limit, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	if (!check_filter_name(definition) || limit < 0 || limit > 10000)
		return stw__fail(e, STW_EINVAL, "invalid definition or limit");
	struct stw__json_list c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(e->store, unrouted_list, definition, limit ? limit : 100, unrouted_cb, &c);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return rc != STW_OK ? stw__store_fail(e, rc, "listing unrouted messages")
				    : stw__fail(e, STW_ENOMEM, "out of memory");
	}
	*out = c.arr;
	return STW_OK;
}

static const char *kind_name(enum stw_state_kind k)
{
	switch (k) {
	case STW_STATE_TERMINAL:
		return "terminal";
	case STW_STATE_FAILURE:
		return "failure";
	case STW_STATE_MANUAL:
		return "manual";
	default:
		return "active";
	}
}

/* One definition as JSON (docs/API.md), or NULL when out of memory. */
static json_t *definition_json(const struct stw__def *def)
{
	const struct stw_definition *d = def->d;
	json_t *o = json_object(), *sources = json_array(), *states = json_array(),
	       *transitions = json_array();
	int bad = o == NULL || sources == NULL || states == NULL || transitions == NULL;
	for (int i = 0; !bad && i < def->nsources; i++)
		bad |= json_array_append_new(sources, json_string(d->sources[i]));
	for (int i = 0; !bad && i < def->nstates; i++)
		bad |=
		    json_array_append_new(states, json_pack("{s:s, s:s}", "name", d->states[i].name,
							    "kind", kind_name(d->states[i].kind)));
	for (int i = 0; !bad && i < def->ntransitions; i++) {
		const struct stw_transition_def *t = &d->transitions[i];
		json_t *cmds = json_array();
		for (const struct stw_command_def *c = t->commands; cmds && c && c->context; c++)
			bad |= json_array_append_new(
			    cmds, json_pack("{s:s, s:s}", "context", c->context, "type", c->type));
		json_t *timers = json_array();
		for (const struct stw_timer_def *tm = t->timers; timers && tm && tm->message; tm++)
			bad |= json_array_append_new(
			    timers,
			    json_pack("{s:s, s:I, s:b}", "message", tm->message, "delay_ms",
				      (json_int_t)tm->delay_ms, "computed", tm->due != NULL));
		json_t *tj = json_pack("{s:s?, s:s, s:s?, s:o, s:o}", "from", t->from, "on", t->on,
				       "to", t->to, "commands", cmds, "timers", timers);
		bad |= tj == NULL || json_array_append_new(transitions, tj);
	}
	if (!bad)
		bad = json_object_set_new(o, "name", json_string(d->name)) |
		      json_object_set_new(o, "version", json_integer(d->version)) |
		      json_object_set_new(o, "stateless", json_boolean(def->nstates == 0)) |
		      json_object_set_new(o, "delivery",
					  json_string(d->delivery == STW_AT_MOST_ONCE
							  ? "at-most-once"
							  : "at-least-once")) |
		      json_object_set_new(o, "unique_key", json_boolean(d->unique_key != NULL)) |
		      set_str(o, "ack_state", d->ack_state) |
		      json_object_set(o, "sources", sources) |
		      json_object_set(o, "states", states) |
		      json_object_set(o, "transitions", transitions);
	json_decref(sources);
	json_decref(states);
	json_decref(transitions);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

STW_API int stw_list_definitions(struct stw_engine *e, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < e->ndefs; i++) {
		json_t *d = definition_json(&e->defs[i]);
		if (d == NULL || json_array_append_new(arr, d) != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	if (arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	*out = arr;
	return STW_OK;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

STW_API int stw_list_contexts(struct stw_engine *e, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (e == NULL || out == NULL)
		return STW_EINVAL;
	/* Collect the names (borrowed from definitions and services), sort, dedupe. */
	size_t cap = e->nservices + e->nremotes, n = 0;
	for (size_t i = 0; i < e->ndefs; i++) {
		cap += (size_t)e->defs[i].nsources;
		for (int t = 0; t < e->defs[i].ntransitions; t++)
			for (const struct stw_command_def *c =
				 e->defs[i].d->transitions[t].commands;
			     c && c->context; c++)
				cap++;
	}
	const char **names = malloc((cap ? cap : 1) * sizeof(*names));
	if (names == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->nservices; i++)
		names[n++] = e->services[i].context;
	for (size_t i = 0; i < e->nremotes; i++)
		names[n++] = e->remotes[i].context;
	for (size_t i = 0; i < e->ndefs; i++) {
		for (int k = 0; k < e->defs[i].nsources; k++)
			names[n++] = e->defs[i].d->sources[k];
		for (int t = 0; t < e->defs[i].ntransitions; t++)
			for (const struct stw_command_def *c =
				 e->defs[i].d->transitions[t].commands;
			     c && c->context; c++)
				names[n++] = c->context;
	}
	qsort(names, n, sizeof(*names), by_name);
	json_t *arr = json_array();
	int rc = arr ? STW_OK : STW_ENOMEM;
	for (size_t i = 0; rc == STW_OK && i < n; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		int64_t head = 0;
		if ((rc = stw_head(e, names[i], &head)) != STW_OK)
			break;
		json_t *o =
		    json_pack("{s:s, s:I, s:b, s:b}", "name", names[i], "head", (json_int_t)head,
			      "service", stw__find_service(e, names[i]) != NULL, "remote",
			      stw__find_remote(e, names[i]) != NULL);
		if (o == NULL || json_array_append_new(arr, o) != 0)
			rc = stw__fail(e, STW_ENOMEM, "out of memory");
	}
	free(names);
	if (rc != STW_OK) {
		json_decref(arr);
		return rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory") : rc;
	}
	*out = arr;
	return STW_OK;
}

STW_API int stw_pending_commands(struct stw_engine *e, int64_t *count)
{
	if (e == NULL || count == NULL)
		return STW_EINVAL;
	int rc = STW__S(e->store, outbox_pending_count, count);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "counting pending commands");
}
