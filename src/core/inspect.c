/*
 * inspect.c - the read-only views, as JSON: instances (one with its history,
 * commands and timers), the instances that need a person, unrouted
 * messages, definitions, contexts, commands by status, pending counts and
 * cursors. The views of instances read inside a round (from a handler)
 * first write what the round staged (stage.h), so they see its state.
 */
#include "core/definition.h"
#include "core/stage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON array being filled by a store callback; oom is set when it could not grow. */
struct json_list {
	json_t *arr;
	int oom;
};

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
	int bad =
	    set_str(o, "definition", r->definition) | set_str(o, "id", r->id) |
	    set_str(o, "state", r->state) | set_str(o, "status", r->status) |
	    json_object_set_new(o, "version", json_integer(r->version)) |
	    json_object_set_new(o, "definition_version", json_integer(r->definition_version)) |
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
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	struct stw_instance_filter none = { 0 };
	if (f == NULL)
		f = &none;
	if (!check_filter_name(f->definition) || !check_filter_name(f->status) ||
	    !check_filter_name(f->state) || f->limit < 0 || f->limit > STW_MAX_LIST ||
	    f->offset < 0 || f->stuck_for_ms < 0 || f->definition_version < 0)
		return stw__fail(e, STW_EINVAL, "invalid instance filter");
	struct stw__instance_query q = {
		.definition = f->definition,
		.status = f->status,
		.state = f->state,
		.limit = f->limit ? f->limit : 100,
		.offset = f->offset,
		.stuck_before = f->stuck_for_ms > 0 ? stw__now(e) - f->stuck_for_ms : 0,
		.definition_version = f->definition_version,
	};
	struct list_ctx c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (f->stuck_for_ms > 0 && q.stuck_before <= 0) {
		*out = c.arr; /* the clock is younger than the wait: nothing has waited that long */
		return STW_OK;
	}
	int rc = stw__stage_write(e);
	if (rc != STW_OK) {
		json_decref(c.arr);
		return rc;
	}
	rc = STW__S(e->store, list_instances, &q, list_cb, &c);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return rc != STW_OK ? stw__store_fail(e, rc, "listing instances")
				    : stw__fail(e, STW_ENOMEM, "out of memory");
	}
	*out = c.arr;
	return STW_OK;
}

static int count_cb(const struct stw__instance_row *r, void *ud)
{
	(void)r;
	(*(int64_t *)ud)++;
	return 0;
}

STW_API int stw_count_stuck(struct stw_engine *e, int64_t stuck_for_ms, int64_t *count)
{
	STW__ENTER(e, STW__CALL_READ);
	if (count == NULL || stuck_for_ms <= 0)
		return stw__fail(e, STW_EINVAL, "stw_count_stuck needs a wait > 0 and a count");
	*count = 0;
	struct stw__instance_query q = { .limit = -1, .stuck_before = stw__now(e) - stuck_for_ms };
	if (q.stuck_before <= 0)
		return STW_OK;
	int rc = stw__stage_write(e);
	if (rc != STW_OK)
		return rc;
	rc = STW__S(e->store, list_instances, &q, count_cb, count);
	return rc != STW_OK ? stw__store_fail(e, rc, "counting stuck instances") : STW_OK;
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
	struct json_list *c = ud;
	json_t *o = json_object();
	if (o == NULL ||
	    (json_object_set_new(o, "seq", json_integer(r->seq)) |
	     json_object_set_new(o, "at", json_integer(r->at)) |
	     set_str(o, "message_id", r->message_id) | set_str(o, "message_type", r->message_type) |
	     set_str(o, "context", r->context) | set_str(o, "from", r->from_state) |
	     set_str(o, "to", r->to_state) | set_str(o, "outcome", r->outcome) |
	     set_str(o, "reason", r->reason)) != 0) {
		json_decref(o); /* a field that is not UTF-8 (a damaged row) fails as memory does */
		c->oom = 1;
		return 1;
	}
	if (json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

/* An outbox row as the JSON object of stw_list_commands (NULL when out of memory). */
static json_t *outbox_json(const struct stw__outbox_row *r)
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

/* Appends outbox_json(row) to the struct json_list in ud. */
static int command_cb(const struct stw__outbox_row *r, void *ud)
{
	struct json_list *c = ud;
	json_t *o = outbox_json(r);
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
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	char def[STW_MAX_NAME];
	int rc = stw__stage_write(e);
	if (rc == STW_OK)
		rc = stw__resolve_definition(e, definition, id, def, sizeof(def));
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
	struct json_list h = { .arr = json_array() }, c = { .arr = json_array() };
	struct timers_ctx t = { .arr = json_array(), .entered_version = g.entered_version };
	if (h.arr == NULL || c.arr == NULL || t.arr == NULL)
		rc = STW_ENOMEM;
	if (rc == STW_OK)
		rc = STW__S(e->store, history_list, def, id, history_cb, &h);
	if (rc == STW_OK)
		rc = STW__S(e->store, outbox_for_instance, def, id, command_cb, &c);
	/* Only an instance that can still receive them has pending timers (the
	 * rule that firing applies). */
	int status = stw__istatus_parse(json_string_value(json_object_get(o, "status")));
	const struct stw__def *d = stw__find_def_version(
	    e, def, json_integer_value(json_object_get(o, "definition_version")));
	int live =
	    status >= 0 &&
	    (d != NULL
		 ? stw__live(d, (enum stw__istatus)status,
			     stw__state_index(d, json_string_value(json_object_get(o, "state"))))
		 : status == STW__I_ACTIVE);
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

STW_API int stw_list_interventions(struct stw_engine *e, int limit, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (limit < 0 || limit > STW_MAX_LIST)
		return stw__fail(e, STW_EINVAL, "invalid limit");
	json_t *all = json_array();
	int rc = all ? STW_OK : stw__fail(e, STW_ENOMEM, "out of memory");
	for (size_t i = 0; rc == STW_OK && i < e->ndefs; i++) {
		const struct stw__def *d = &e->defs[i];
		for (int k = 0; rc == STW_OK && k < d->nstates; k++) {
			if (d->d->states[k].kind != STW_STATE_MANUAL)
				continue;
			/* Each version lists its own instances in its manual states. */
			struct stw_instance_filter f = {
				.definition = d->d->name,
				.status = stw__istatus_word(STW__I_FAILED),
				.state = d->d->states[k].name,
				.limit = limit,
				.definition_version = (int)stw__def_version(d),
			};
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
	struct json_list *c = ud;
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
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (!check_filter_name(definition) || limit < 0 || limit > STW_MAX_LIST)
		return stw__fail(e, STW_EINVAL, "invalid definition or limit");
	struct json_list c = { .arr = json_array() };
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
		      json_object_set_new(o, "version", json_integer(stw__def_version(def))) |
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
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < e->ndefs; i++) {
		if (!e->defs[i].newest)
			continue;
		int64_t v[STW__MAX_VERSIONS];
		int n = stw__versions(e, e->defs[i].d->name, v);
		json_t *d = definition_json(&e->defs[i]), *versions = json_array();
		for (int k = 0; versions != NULL && k < n; k++)
			if (json_array_append_new(versions, json_integer(v[k])) != 0) {
				json_decref(versions);
				versions = NULL;
			}
		if (d == NULL || versions == NULL ||
		    json_object_set_new(d, "versions", json_incref(versions)) != 0 ||
		    json_array_append_new(arr, json_incref(d)) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		json_decref(versions);
		json_decref(d);
	}
	if (arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	*out = arr;
	return STW_OK;
}

/* Counts the instances of one version that are active or failed into *n. */
static int count_live(struct stw_engine *e, const struct stw__def *d, int64_t *n)
{
	*n = 0;
	int rc = stw__stage_write(e);
	if (rc != STW_OK)
		return rc;
	const char *live[] = { stw__istatus_word(STW__I_ACTIVE), stw__istatus_word(STW__I_FAILED) };
	for (int i = 0; i < 2; i++) {
		struct stw__instance_query q = { .definition = d->d->name,
						 .status = live[i],
						 .definition_version = stw__def_version(d),
						 .limit = -1 };
		rc = STW__S(e->store, list_instances, &q, count_cb, n);
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "counting live instances");
	}
	return STW_OK;
}

/* The migrations a version declares, as [{from, states: {old: new or null}, transform}]. */
static json_t *migrations_json(const struct stw__def *def)
{
	json_t *a = json_array();
	for (const struct stw_migration_def *m = def->d->migrations;
	     a != NULL && m != NULL && m->from_version != 0; m++) {
		json_t *map = json_object();
		for (const struct stw_state_map *sm = m->states;
		     map != NULL && sm != NULL && sm->from != NULL; sm++)
			json_object_set_new(map, sm->from,
					    sm->to ? json_string(sm->to) : json_null());
		json_t *o = map ? json_pack("{s:i, s:o, s:b}", "from", m->from_version, "states",
					    map, "transform", m->transform != NULL)
				: NULL;
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

STW_API int stw_get_definition(struct stw_engine *e, const char *name, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL || !stw__valid_name(name))
		return stw__fail(e, STW_EINVAL,
				 "invalid definition name, or no place for the result");
	const struct stw__def *newest = stw__find_def(e, name);
	if (newest == NULL)
		return stw__fail(e, STW_ENOTFOUND, "definition %s is not registered", name);
	int64_t v[STW__MAX_VERSIONS];
	int n = stw__versions(e, name, v);
	json_t *versions = json_array();
	int rc = versions != NULL ? STW_OK : STW_ENOMEM;
	for (int k = 0; rc == STW_OK && k < n; k++) {
		const struct stw__def *d = stw__find_def_version(e, name, v[k]);
		int64_t live = 0;
		json_t *o = NULL;
		if ((rc = count_live(e, d, &live)) != STW_OK)
			break;
		if ((o = definition_json(d)) == NULL ||
		    json_object_set_new(o, "live", json_integer(live)) != 0 ||
		    json_object_set_new(o, "migrations", migrations_json(d)) != 0 ||
		    json_array_append_new(versions, o) != 0)
			rc = STW_ENOMEM;
	}
	json_t *doc = rc == STW_OK
			  ? json_pack("{s:s, s:I, s:O}", "name", name, "newest",
				      (json_int_t)stw__def_version(newest), "versions", versions)
			  : NULL;
	json_decref(versions);
	if (rc != STW_OK && rc != STW_ENOMEM)
		return rc; /* the store's failure, told by count_live */
	if (doc == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	*out = doc;
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
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
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
	STW__ENTER(e, STW__CALL_READ);
	if (count == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	int rc = STW__S(e->store, outbox_pending_count, count);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "counting pending commands");
}

STW_API int stw_list_commands(struct stw_engine *e, const char *status, int limit, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (status == NULL)
		status = stw__cstatus_word(STW__C_PARKED);
	if (stw__cstatus_parse(status) < 0)
		return stw__fail(e, STW_EINVAL, "unknown command status %s", status);
	if (limit < 0 || limit > STW_MAX_LIST)
		return stw__fail(e, STW_EINVAL, "limit must be between 0 and %d", STW_MAX_LIST);
	struct json_list c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(e->store, outbox_by_status, status, limit ? limit : 100, command_cb, &c);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return c.oom ? stw__fail(e, STW_ENOMEM, "out of memory")
			     : stw__store_fail(e, rc, "listing commands");
	}
	*out = c.arr;
	return STW_OK;
}

STW_API int stw_get_command(struct stw_engine *e, const char *id, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (!stw__valid_id(id))
		return stw__fail(e, STW_EINVAL, "invalid command id");
	struct json_list c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(e->store, outbox_get, id, command_cb, &c);
	if (rc == STW_OK && !c.oom)
		*out = json_incref(json_array_get(c.arr, 0));
	json_decref(c.arr);
	if (rc == STW_ENOTFOUND)
		return stw__fail(e, rc, "no command %s", id);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading a command");
	return c.oom ? stw__fail(e, STW_ENOMEM, "out of memory") : STW_OK;
}

STW_API int stw_get_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t *position)
{
	STW__ENTER(e, STW__CALL_READ);
	if (position == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (!stw__valid_name(definition) || !stw__valid_name(context))
		return stw__fail(e, STW_EINVAL, "invalid definition or context name");
	int rc = STW__S(e->store, cursor_get, definition, context, position);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "reading a cursor");
}
