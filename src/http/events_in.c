/*
 * events_in.c - the API of services that run elsewhere (events_in.h): they
 * post their events (POST /api/contexts/{context}/events), commands to them
 * are queued, and a person sees the commands that could not be delivered and
 * retries or skips them (/api/commands). See docs/API.md.
 */
#include "http/events_in.h"

#include <stdlib.h>
#include <string.h>

#include "http/response.h"

#define MAX_BATCH 1000 /* events per POST */

/* A string member of an event; -1 (answered) when present and not a string. */
static int event_str(struct stw__http_request *r, json_t *o, size_t i, const char *key,
		     int required, const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 0;
		stw__http_error(r, 400, "bad_request", "events[%zu].%s is required", i, key);
		return -1;
	}
	if (!json_is_string(v)) {
		stw__http_error(r, 400, "bad_request", "events[%zu].%s must be a string", i, key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* An object member of an event (NULL when absent); -1 (answered) when not an object. */
static int event_obj(struct stw__http_request *r, json_t *o, size_t i, const char *key,
		     json_t **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_object(v)) {
		stw__http_error(r, 400, "bad_request", "events[%zu].%s must be a JSON object", i,
				key);
		return -1;
	}
	*out = v;
	return 0;
}

/* Reads events[i] into ev and g; -1 (answered) when malformed. */
static int read_event(struct stw__http_request *r, json_t *o, size_t i, struct stw_event *ev,
		      struct stw_append_group *g)
{
	if (!json_is_object(o)) {
		stw__http_error(r, 400, "bad_request", "events[%zu] must be a JSON object", i);
		return -1;
	}
	memset(ev, 0, sizeof(*ev));
	if (event_str(r, o, i, "id", 1, &ev->id) || event_str(r, o, i, "type", 1, &ev->type) ||
	    event_str(r, o, i, "stream", 1, &ev->stream) ||
	    event_str(r, o, i, "correlation_id", 0, &ev->correlation_id) ||
	    event_str(r, o, i, "causation_id", 0, &ev->causation_id) ||
	    event_obj(r, o, i, "data", &ev->data) || event_obj(r, o, i, "metadata", &ev->metadata))
		return -1;
	json_t *xv = json_object_get(o, "expected_version");
	g->expected_version = STW_ANY_VERSION;
	if (xv != NULL && !json_is_null(xv)) {
		if (!json_is_integer(xv) || json_integer_value(xv) < 0) {
			stw__http_error(r, 400, "bad_request",
					"events[%zu].expected_version must be an integer >= 0 "
					"(0: a new stream)",
					i);
			return -1;
		}
		g->expected_version = json_integer_value(xv);
	}
	g->events = ev;
	g->n = 1;
	return 0;
}

/*
 * Whether events may be posted to `context`: one the engine declares (a
 * definition reads it or sends to it, a service owns it) or one the daemon
 * was told to accept. Anything else is most likely a typo, whose events
 * would go into a log that nothing reads.
 */
static int accepted(const struct stw__http_request *r, const char *context)
{
	if (stw_context_declared(r->engine, context) == 1)
		return 1;
	for (const char *const *a = r->accept_contexts; a != NULL && *a != NULL; a++)
		if (strcmp(*a, "*") == 0 || strcmp(*a, context) == 0)
			return 1;
	return 0;
}

int stw__http_append_events(struct stw__http_request *r, const char *context)
{
	if (stw_context_declared(r->engine, context) == STW_EINVAL)
		return stw__http_error(r, 400, "bad_request",
				       "'%s' is not a context name (letters, digits, '_', '.', "
				       "'-', starting with a letter or digit)",
				       context);
	if (!accepted(r, context))
		return stw__http_error(
		    r, 404, "not_found",
		    "no definition reads context %s and no service owns it (a daemon takes "
		    "events for other contexts when told to: [contexts] accept)",
		    context);
	json_t *arr = r->body ? json_object_get(r->body, "events") : NULL;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return stw__http_error(
		    r, 400, "bad_request",
		    "the body must be {\"events\": [...]} with at least one event");
	size_t n = json_array_size(arr);
	if (n > MAX_BATCH)
		return stw__http_error(r, 400, "bad_request", "at most %d events per request",
				       MAX_BATCH);
	struct stw_event *evs = calloc(n, sizeof(*evs));
	struct stw_append_group *groups = calloc(n, sizeof(*groups));
	int64_t *pos = calloc(n, sizeof(*pos));
	if (evs == NULL || groups == NULL || pos == NULL) {
		free(evs);
		free(groups);
		free(pos);
		return stw__http_error(r, 500, "internal", "out of memory");
	}
	int answered = 0;
	for (size_t i = 0; i < n && !answered; i++)
		answered = read_event(r, json_array_get(arr, i), i, &evs[i], &groups[i]) != 0;
	long failed = -1;
	int rc = answered ? STW_OK : stw_append_batch(r->engine, context, groups, n, pos, &failed);
	if (!answered && rc == STW_ECONFLICT && failed >= 0) {
		int64_t v = 0;
		const char *stream = evs[failed].stream;
		json_t *e = json_pack("{s:s, s:s, s:i, s:s, s:I}", "error", "conflict", "message",
				      stw_errmsg(r->engine), "index", (int)failed, "stream", stream,
				      "current_version", (json_int_t)0);
		if (e != NULL && stw_stream_version(r->engine, context, stream, &v) == STW_OK)
			json_object_set_new(e, "current_version", json_integer(v));
		if (e != NULL && evs[failed].id != NULL)
			json_object_set_new(e, "id", json_string(evs[failed].id));
		answered = stw__http_reply(r, 409, e);
	} else if (!answered && rc != STW_OK) {
		if (rc == STW_EINVAL && failed >= 0) {
			answered = stw__http_error(r, 400, "bad_request", "events[%ld]: %s", failed,
						   stw_errmsg(r->engine));
		} else {
			answered = stw__http_engine_error(r, rc);
		}
	} else if (!answered) {
		json_t *positions = json_array();
		for (size_t i = 0; positions != NULL && i < n; i++)
			json_array_append_new(positions, json_integer(pos[i]));
		int64_t head = 0;
		if (stw_head(r->engine, context, &head) != STW_OK)
			head = 0;
		answered =
		    stw__http_reply(r, 200,
				    json_pack("{s:s, s:o, s:I}", "context", context, "positions",
					      positions, "head", (json_int_t)head));
	}
	free(evs);
	free(groups);
	free(pos);
	return answered;
}

int stw__http_queue_command(struct stw__http_request *r, const char *context, const char *type,
			    json_t *data, const char *id, const char *corr)
{
	char cmd_id[STW_MAX_ID];
	int rc = stw_send(r->engine, context, type, data, id, corr, cmd_id);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 202,
			       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cmd_id, "context",
					 context, "type", type, "correlation_id",
					 corr ? corr : cmd_id, "outcome", "queued"));
}

static int reply_command(struct stw__http_request *r, const char *id)
{
	json_t *c = NULL;
	int rc = stw_get_command(r->engine, id, &c);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, c);
}

static int list_commands(struct stw__http_request *r)
{
	long long limit;
	if (stw__http_query_int(r, "limit", 1, 1000, 100, &limit))
		return 1;
	json_t *arr = NULL;
	int rc = stw_list_commands(r->engine, stw__http_query(r, "status"), (int)limit, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:o}", "commands", arr));
}

/* POST /api/commands/{id}/{retry|skip}: a person's decision on a parked (or rejected) command. */
static int decide(struct stw__http_request *r, const char *id, const char *op)
{
	const char *note = NULL;
	json_t *v = r->body ? json_object_get(r->body, "note") : NULL;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return stw__http_error(r, 400, "bad_request", "note must be a string");
		note = json_string_value(v);
		if (strlen(note) > STW_MAX_NOTE)
			return stw__http_error(r, 400, "bad_request",
					       "note is longer than %d bytes", STW_MAX_NOTE);
	}
	int rc = strcmp(op, "retry") == 0 ? stw_retry_command(r->engine, id)
					  : stw_skip_command(r->engine, id, note);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return reply_command(r, id);
}

int stw__http_route_commands(struct stw__http_request *r, const char **allow)
{
	char **s = r->seg;
	int n = r->nseg;
	int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (n < 2 || strcmp(s[1], "commands") != 0)
		return 0;
	if (n == 2) {
		*allow = "GET";
		return get ? list_commands(r) : 0;
	}
	if (n == 3) {
		*allow = "GET";
		return get ? reply_command(r, s[2]) : 0;
	}
	if (n == 4 && (strcmp(s[3], "retry") == 0 || strcmp(s[3], "skip") == 0)) {
		*allow = "POST";
		return post ? decide(r, s[2], s[3]) : 0;
	}
	return 0;
}
