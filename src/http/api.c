/*
 * api.c - the routes of the JSON API under /api/ (api.h, docs/API.md):
 * definitions, contexts, instances and a person's operations on them,
 * interventions, unrouted messages, a context's events and commands, the
 * cluster. The demo's routes and those of remote services (events_in.c)
 * hang off it.
 */
#include "http/api.h"

#include <limits.h>
#include <string.h>

#include "http/codes.h"
#include "http/events_in.h"
#include "http/response.h"

/* The longest wait ?stuck_for takes: a year, in seconds. */
#define STUCK_FOR_MAX_S (366LL * 24 * 3600)

/*
 * GET /api/instances: the filters of docs/API.md; ?stuck=1 keeps the stuck
 * ones (nothing will move them and they have not moved for ?stuck_for
 * seconds, by default the daemon's stuck_after).
 */
static int route_instances(struct stw__http_request *r)
{
	struct stw_instance_filter f = {
		.definition = stw__http_query(r, "definition"),
		.status = stw__http_query(r, "status"),
		.state = stw__http_query(r, "state"),
	};
	if (f.status != NULL && !stw__http_is_instance_status(f.status))
		return stw__http_error(r, 400, "bad_request",
				       "status must be one of active, completed, failed, "
				       "acknowledged, rejected, cancelled");
	long long limit, offset, stuck, stuck_for, version;
	if (stw__http_query_int(r, "limit", 1, 1000, 50, &limit) ||
	    stw__http_query_int(r, "version", 0, INT_MAX, 0, &version) ||
	    stw__http_query_int(r, "offset", 0, INT_MAX, 0, &offset) ||
	    stw__http_query_int(r, "stuck", 0, 1, 0, &stuck) ||
	    stw__http_query_int(r, "stuck_for", 1, STUCK_FOR_MAX_S, r->stuck_after_ms / 1000,
				&stuck_for))
		return 1;
	f.limit = (int)limit;
	f.offset = (int)offset;
	f.definition_version = (int)version;
	if (stuck)
		f.stuck_for_ms = stuck_for * 1000;
	json_t *arr = NULL;
	int rc = stw_list_instances(r->engine, &f, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	json_t *o = json_pack("{s:o, s:I, s:I}", "instances", arr, "limit", (json_int_t)limit,
			      "offset", (json_int_t)offset);
	if (o != NULL && stuck)
		json_object_set_new(o, "stuck_for", json_integer(stuck_for));
	return stw__http_reply(r, 200, o);
}

static int reply_instance(struct stw__http_request *r, const char *def, const char *id)
{
	json_t *o = NULL;
	int rc = stw_get_instance(r->engine, def, id, &o);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, o);
}

/* Reads an optional string field of the body (at most max bytes); -1 (answered) if bad. */
static int body_text(struct stw__http_request *r, const char *key, size_t max, const char **out)
{
	*out = NULL;
	json_t *n = r->body ? json_object_get(r->body, key) : NULL;
	if (n == NULL || json_is_null(n))
		return 0;
	if (!json_is_string(n)) {
		stw__http_error(r, 400, "bad_request", "%s must be a string", key);
		return -1;
	}
	*out = json_string_value(n);
	if (strlen(*out) > max) {
		stw__http_error(r, 400, "bad_request", "%s is longer than %zu bytes", key, max);
		return -1;
	}
	return 0;
}

/* POST /api/instances/{id}/{acknowledge|cancel|retry}: a person's operation. */
static int route_operate(struct stw__http_request *r, const char *id, const char *op)
{
	const char *note, *state = NULL;
	if (body_text(r, "note", 1000, &note) ||
	    (strcmp(op, "retry") == 0 && body_text(r, "state", STW_MAX_NAME, &state)))
		return 1;
	const char *def = stw__http_query(r, "definition");
	int rc;
	if (strcmp(op, "acknowledge") == 0)
		rc = stw_acknowledge(r->engine, def, id, note);
	else if (strcmp(op, "cancel") == 0)
		rc = stw_cancel(r->engine, def, id, note);
	else if (state == NULL)
		return stw__http_error(r, 400, "bad_request", "state is required");
	else
		rc = stw_retry(r->engine, def, id, state, note);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return reply_instance(r, def, id);
}

static int route_interventions(struct stw__http_request *r)
{
	long long limit;
	if (stw__http_query_int(r, "limit", 1, 1000, 100, &limit))
		return 1;
	json_t *arr = NULL;
	int rc = stw_list_interventions(r->engine, (int)limit, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:o}", "instances", arr));
}

struct events_ctx {
	json_t *arr;
	int64_t last;
	int oom;
};

static int collect_event(const struct stw_event *ev, void *ud)
{
	struct events_ctx *c = ud;
	json_t *o = stw_event_json(ev);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	c->last = ev->position;
	return 0;
}

static int route_events(struct stw__http_request *r, const char *context)
{
	long long after, limit;
	if (stw__http_query_int(r, "after", 0, LLONG_MAX, 0, &after) ||
	    stw__http_query_int(r, "limit", 1, 1000, 100, &limit))
		return 1;
	int64_t head = 0;
	int rc = stw_head(r->engine, context, &head);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	struct events_ctx c = { .arr = json_array(), .last = after };
	if (c.arr == NULL)
		return stw__http_error(r, 500, "internal", "out of memory");
	rc = stw_read(r->engine, context, after, (int)limit, collect_event, &c, NULL);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return rc != STW_OK ? stw__http_engine_error(r, rc)
				    : stw__http_error(r, 500, "internal", "out of memory");
	}
	return stw__http_reply(r, 200,
			       json_pack("{s:s, s:I, s:I, s:o}", "context", context, "head",
					 (json_int_t)head, "next_after", (json_int_t)c.last,
					 "events", c.arr));
}

/* Reads an optional string field of the body; -1 (answered) if ill-typed. */
static int body_str(struct stw__http_request *r, const char *key, const char **out)
{
	json_t *v = json_object_get(r->body, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		stw__http_error(r, 400, "bad_request", "%s must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int route_command(struct stw__http_request *r, const char *context)
{
	if (r->body == NULL)
		return stw__http_error(r, 400, "bad_request",
				       "a JSON body with a type is required");
	const char *type, *id, *corr;
	if (body_str(r, "type", &type) || body_str(r, "id", &id) ||
	    body_str(r, "correlation_id", &corr))
		return 1;
	if (type == NULL)
		return stw__http_error(r, 400, "bad_request", "type is required");
	json_t *data = json_object_get(r->body, "data");
	if (data != NULL && !json_is_object(data))
		return stw__http_error(r, 400, "bad_request", "data must be a JSON object");
	char cmd_id[STW_MAX_ID];
	int rc = stw_execute(r->engine, context, type, data, id, corr, cmd_id);
	if (rc == STW_ESTATE) /* a remote context: queued for delivery */
		return stw__http_queue_command(r, context, type, data, id, corr);
	if (rc == STW_EREJECTED) {
		json_t *e = stw__http_error_json("rejected", stw_errmsg(r->engine));
		json_object_set_new(e, "id", json_string(cmd_id));
		return stw__http_reply(r, 422, e);
	}
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200,
			       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cmd_id, "context",
					 context, "type", type, "correlation_id",
					 corr ? corr : cmd_id, "outcome", "applied"));
}

static int route_unrouted(struct stw__http_request *r)
{
	long long limit;
	if (stw__http_query_int(r, "limit", 1, 1000, 100, &limit))
		return 1;
	json_t *arr = NULL;
	int rc = stw_list_unrouted(r->engine, stw__http_query(r, "definition"), (int)limit, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:o}", "unrouted", arr));
}

static int route_list(struct stw__http_request *r, const char *key,
		      int (*list)(struct stw_engine *, json_t **))
{
	json_t *arr = NULL;
	int rc = list(r->engine, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:o}", key, arr));
}

/* GET /api/definitions/{name}: its registered versions, each with its live instances. */
static int route_definition(struct stw__http_request *r, const char *name)
{
	json_t *o = NULL;
	int rc = stw_get_definition(r->engine, name, &o);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, o);
}

/* The most instances one POST .../migrate moves (the CLI on a store has no such bound). */
#define MIGRATE_MAX 10000

/* Reads an optional integer field of the body in [lo, hi] (def when absent); -1 (answered) if bad.
 */
static int body_int(struct stw__http_request *r, const char *key, long long lo, long long hi,
		    long long def, long long *out)
{
	json_t *n = r->body ? json_object_get(r->body, key) : NULL;
	*out = def;
	if (n == NULL || json_is_null(n))
		return 0;
	if (!json_is_integer(n) || json_integer_value(n) < lo || json_integer_value(n) > hi) {
		stw__http_error(r, 400, "bad_request", "%s must be an integer from %lld to %lld",
				key, lo, hi);
		return -1;
	}
	*out = json_integer_value(n);
	return 0;
}

/*
 * POST /api/definitions/{name}/migrate {from, to, dry_run, instance, limit}:
 * moves (or with dry_run shows) instances of version `from` to `to`, at most
 * `limit` (default 1000) per request; the report says how many remain.
 */
static int route_migrate(struct stw__http_request *r, const char *name)
{
	long long from, to, limit;
	const char *instance;
	json_t *dry = r->body ? json_object_get(r->body, "dry_run") : NULL;
	if (body_int(r, "from", 0, INT_MAX, 0, &from) || body_int(r, "to", 0, INT_MAX, 0, &to) ||
	    body_int(r, "limit", 1, MIGRATE_MAX, 1000, &limit) ||
	    body_text(r, "instance", STW_MAX_ID, &instance))
		return 1;
	if (from == 0 || to == 0)
		return stw__http_error(r, 400, "bad_request",
				       "from and to (versions) are required");
	if (dry != NULL && !json_is_boolean(dry) && !json_is_null(dry))
		return stw__http_error(r, 400, "bad_request", "dry_run must be true or false");
	struct stw_migrate_opts o = {
		.from = (int)from,
		.to = (int)to,
		.instance = instance,
		.dry_run = json_is_true(dry),
		.limit = limit,
	};
	json_t *rep = NULL;
	int rc = stw_migrate(r->engine, name, &o, &rep);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, rep);
}

/* GET /api/cluster: the workers, partitions and recent takeovers (stw_cluster_view). */
static int route_cluster(struct stw__http_request *r)
{
	json_t *o = NULL;
	int rc = stw_cluster_view(r->engine, &o);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, o);
}

static int method_is(const struct stw__http_request *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

int stw__http_api_alone(const struct stw__http_request *r)
{
	return method_is(r, "POST") && r->nseg == 4 && strcmp(r->seg[1], "definitions") == 0 &&
	       strcmp(r->seg[3], "migrate") == 0;
}

int stw__http_route_api(struct stw__http_request *r, stw__http_route_fn demo, void *demo_ud,
			const char **allow)
{
	char **s = r->seg;
	int n = r->nseg;
	int get = method_is(r, "GET"), post = method_is(r, "POST");
	*allow = NULL;
	if (n == 2 && strcmp(s[1], "definitions") == 0) {
		*allow = "GET";
		return get ? route_list(r, "definitions", stw_list_definitions) : 0;
	}
	if (n == 3 && strcmp(s[1], "definitions") == 0) {
		*allow = "GET";
		return get ? route_definition(r, s[2]) : 0;
	}
	if (n == 4 && strcmp(s[1], "definitions") == 0 && strcmp(s[3], "migrate") == 0) {
		*allow = "POST";
		return post ? route_migrate(r, s[2]) : 0;
	}
	if (n == 2 && strcmp(s[1], "contexts") == 0) {
		*allow = "GET";
		return get ? route_list(r, "contexts", stw_list_contexts) : 0;
	}
	if (n == 2 && strcmp(s[1], "instances") == 0) {
		*allow = "GET";
		return get ? route_instances(r) : 0;
	}
	if (n == 3 && strcmp(s[1], "instances") == 0) {
		*allow = "GET";
		return get ? reply_instance(r, stw__http_query(r, "definition"), s[2]) : 0;
	}
	if (n == 4 && strcmp(s[1], "instances") == 0 &&
	    (strcmp(s[3], "acknowledge") == 0 || strcmp(s[3], "cancel") == 0 ||
	     strcmp(s[3], "retry") == 0)) {
		*allow = "POST";
		return post ? route_operate(r, s[2], s[3]) : 0;
	}
	if (n == 2 && strcmp(s[1], "cluster") == 0) {
		*allow = "GET";
		return get ? route_cluster(r) : 0;
	}
	if (n == 2 && strcmp(s[1], "interventions") == 0) {
		*allow = "GET";
		return get ? route_interventions(r) : 0;
	}
	if (n == 2 && strcmp(s[1], "unrouted") == 0) {
		*allow = "GET";
		return get ? route_unrouted(r) : 0;
	}
	if (n == 4 && strcmp(s[1], "contexts") == 0 && strcmp(s[3], "events") == 0) {
		*allow = "GET, POST";
		return get ? route_events(r, s[2]) : post ? stw__http_append_events(r, s[2]) : 0;
	}
	if (n == 4 && strcmp(s[1], "contexts") == 0 && strcmp(s[3], "commands") == 0) {
		*allow = "POST";
		return post ? route_command(r, s[2]) : 0;
	}
	if (n >= 2 && strcmp(s[1], "demo") == 0 && demo != NULL)
		return demo(r, demo_ud);
	return stw__http_route_commands(r, allow);
}
