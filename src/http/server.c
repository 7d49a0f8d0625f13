/*
 * server.c - the daemon's HTTP server (docs/API.md): routing, JSON bodies
 * with a size cap, errors with fitting status codes, the embedded page,
 * server-sent events, /metrics and /healthz.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "http/auth.h"
#include "http/live.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/response.h"
#include "http/ui_assets.h"

#define MAX_SEGMENTS 16

/* Outcomes of the last groups, by group number modulo this. */
#define GROUP_RING 64

struct stw__http {
	struct MHD_Daemon *mhd;
	struct stw__http_config cfg;
	struct stw_engine *engine; /* the API's engine, used under `lock` */
	pthread_mutex_t lock;
	/*
	 * Group commit of the writing requests (see group_join), under `lock`
	 * but `arriving`: POSTs that will take the lock soon.
	 */
	atomic_int arriving;
	int group_open;               /* stw_begin was called for group `group_seq` */
	uint64_t group_seq;           /* the open group, or the last one */
	uint64_t group_done;          /* groups up to this one are committed or failed */
	int group_rc[GROUP_RING];     /* their outcomes */
	pthread_cond_t group_settled; /* group_done moved */
	uint64_t commits, committed;  /* groups committed and the requests in them */
	struct stw__http_live live;   /* the streams of /api/stream (live.c) */
	int port;
	struct stw__http_auth *auth; /* who may use the API and page (auth.c) */
};

/* Per-connection state: the request body being received. */
struct conn {
	char *body;
	size_t len;
	int too_large;
};

/* Core routes ---------------------------------------------------------------- */

static int is_status(const char *s)
{
	static const char *const ok[] = { "active",       "completed", "failed",
					  "acknowledged", "rejected",  "cancelled" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return 1;
	return 0;
}

static int route_instances(struct stw__http_request *r)
{
	struct stw_instance_filter f = {
		.definition = stw__http_query(r, "definition"),
		.status = stw__http_query(r, "status"),
		.state = stw__http_query(r, "state"),
	};
	if (f.status != NULL && !is_status(f.status))
		return stw__http_error(r, 400, "bad_request",
				       "status must be one of active, completed, failed, "
				       "acknowledged, rejected, cancelled");
	long long limit, offset;
	if (stw__http_query_int(r, "limit", 1, 1000, 50, &limit) ||
	    stw__http_query_int(r, "offset", 0, INT_MAX, 0, &offset))
		return 1;
	f.limit = (int)limit;
	f.offset = (int)offset;
	json_t *arr = NULL;
	int rc = stw_list_instances(r->engine, &f, &arr);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200,
			       json_pack("{s:o, s:I, s:I}", "instances", arr, "limit",
					 (json_int_t)limit, "offset", (json_int_t)offset));
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

static int method_is(struct stw__http_request *r, const char *m)
{
	return strcmp(r->method, m) == 0;
}

/*
 * Routes /api/... requests. Returns 1 when answered; sets *allow for a path
 * that exists with other methods.
 */
static int route_api(struct stw__http *h, struct stw__http_request *r, const char **allow)
{
	char **s = r->seg;
	int n = r->nseg;
	int get = method_is(r, "GET"), post = method_is(r, "POST");
	*allow = NULL;
	if (n == 2 && strcmp(s[1], "definitions") == 0) {
		*allow = "GET";
		return get ? route_list(r, "definitions", stw_list_definitions) : 0;
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
	if (n >= 2 && strcmp(s[1], "demo") == 0 && h->cfg.route != NULL)
		return h->cfg.route(r, h->cfg.route_ud);
	return stw__http_route_remote(r, allow);
}

/*
 * Group commit. Every POST runs inside a group (stw_begin on the API's
 * engine). A request that finds other POSTs arriving leaves the group open
 * for them and waits; the last one in commits for all, so requests that come
 * together share one sync. Each waits for its group before it answers: an
 * answer always means durable. Requests that only read commit an open group
 * before reading (group_flush), so they never see what is not durable.
 */

/* Commits the open group and wakes its members (under lock). */
static int group_commit(struct stw__http *h)
{
	int rc = stw_commit(h->engine);
	h->group_open = 0;
	h->group_done = h->group_seq;
	h->group_rc[h->group_seq % GROUP_RING] = rc;
	if (rc == STW_OK)
		h->commits++;
	pthread_cond_broadcast(&h->group_settled);
	return rc;
}

static void group_flush(struct stw__http *h)
{
	if (h->group_open)
		(void)group_commit(h);
}

/* Joins the open group or opens one; 0 when none could be opened (writes commit alone). */
static uint64_t group_join(struct stw__http *h)
{
	if (!h->group_open) {
		if (stw_begin(h->engine) != STW_OK)
			return 0;
		h->group_open = 1;
		h->group_seq++;
	}
	return h->group_seq;
}

/* Ends a member's part: commits the group or waits for a later member to. */
static int group_finish(struct stw__http *h, uint64_t group)
{
	if (group == 0)
		return STW_OK;
	if (h->group_open && h->group_seq == group && atomic_load(&h->arriving) == 0)
		return group_commit(h);
	while (h->group_done < group)
		pthread_cond_wait(&h->group_settled, &h->lock);
	/* Older than the ring: only possible after GROUP_RING groups committed meanwhile. */
	return h->group_seq - group < GROUP_RING ? h->group_rc[group % GROUP_RING] : STW_OK;
}

/* /metrics and /healthz --------------------------------------------------------- */

static enum MHD_Result serve_metrics(struct stw__http *h, struct MHD_Connection *c)
{
	size_t len = 0;
	pthread_mutex_lock(&h->lock);
	group_flush(h);
	char *text =
	    stw__http_metrics_text(h->cfg.metrics, h->engine, h->commits, h->committed, &len);
	pthread_mutex_unlock(&h->lock);
	if (text == NULL)
		return stw__http_send_error(c, 500, "internal", "out of memory", NULL);
	return stw__http_send_buffer(c, 200, "text/plain; version=0.0.4", text, len, 1, NULL);
}

static enum MHD_Result serve_health(struct stw__http *h, struct MHD_Connection *c)
{
	int64_t age = stw__http_metrics_beat_age_ms(h->cfg.metrics);
	pthread_mutex_lock(&h->lock);
	group_flush(h);
	int64_t pending = 0;
	int rc = stw_pending_commands(h->engine, &pending);
	pthread_mutex_unlock(&h->lock);
	/* The worker may sleep on purpose (SLOW_DOWN waits 5 s per step). */
	if (rc != STW_OK)
		return stw__http_send_error(c, 503, "unavailable", "the store does not answer",
					    NULL);
	if (age > 30000)
		return stw__http_send_error(c, 503, "unavailable", "the worker is not running",
					    NULL);
	return stw__http_send_json(c, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

/* Pages -------------------------------------------------------------------------- */

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = { { ".html", "text/html; charset=utf-8" },
		      { ".js", "text/javascript; charset=utf-8" },
		      { ".css", "text/css; charset=utf-8" } };
	for (const struct stw__ui_asset *a = stw__ui_assets; a->name != NULL; a++) {
		if (strcmp(a->name, name) != 0)
			continue;
		const char *type = "application/octet-stream";
		const char *dot = strrchr(a->name, '.');
		for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
			if (strcmp(dot, types[i].ext) == 0)
				type = types[i].type;
		return stw__http_send_buffer(c, 200, type, (char *)a->data, a->len, 0, NULL);
	}
	return stw__http_send_error(c, 404, "not_found", "no such file", NULL);
}

/* The request handler ------------------------------------------------------------- */

static enum MHD_Result refuse(struct MHD_Connection *c, const struct stw__http_refusal *why)
{
	return stw__http_send_error(c, why->status, why->code, why->msg, NULL);
}

static enum MHD_Result handle(struct stw__http *h, struct MHD_Connection *c, const char *url,
			      const char *method, struct conn *cn)
{
	char path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	struct stw__http_refusal why;
	if (stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why) != 0)
		return refuse(c, &why);
	enum MHD_Result authed;
	if (stw__http_auth_check(h->auth, c, method, url, seg, nseg, cn->body, cn->len, &authed))
		return authed;
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;

	if (nseg == 0 || strcmp(seg[0], "instances") == 0) {
		if (nseg > 2)
			return stw__http_send_error(c, 404, "not_found", "no such page", NULL);
		if (!get)
			return stw__http_send_error(c, 405, "method_not_allowed", "use GET", "GET");
		return serve_asset(c, "index.html");
	}
	if (strcmp(seg[0], "static") == 0 && nseg == 2) {
		if (!get)
			return stw__http_send_error(c, 405, "method_not_allowed", "use GET", "GET");
		return serve_asset(c, seg[1]);
	}
	if (nseg == 1 && strcmp(seg[0], "healthz") == 0)
		return serve_health(h, c);
	if (nseg == 1 && strcmp(seg[0], "metrics") == 0)
		return serve_metrics(h, c);
	if (strcmp(seg[0], "api") != 0 || nseg < 2)
		return stw__http_send_error(c, 404, "not_found", "no such path", NULL);
	if (nseg == 2 && strcmp(seg[1], "stream") == 0) {
		if (!get)
			return stw__http_send_error(c, 405, "method_not_allowed", "use GET", "GET");
		return stw__http_live_serve(&h->live, c);
	}

	if (cn->too_large)
		return stw__http_send_error(c, 413, "too_large", "the body is larger than 1 MiB",
					    NULL);
	struct stw__http_request r = {
		.method = strcmp(method, "HEAD") == 0 ? "GET" : method,
		.seg = seg,
		.nseg = nseg,
		.conn = c,
	};
	int rc = stw__http_read_query(c, &r.query, &why);
	if (rc == STW_ENOMEM)
		return MHD_NO;
	if (rc != STW_OK)
		return refuse(c, &why);
	if (cn->len > 0 && stw__http_read_body(c, cn->body, cn->len, &r.body, &why) != 0) {
		json_decref(r.query);
		return refuse(c, &why);
	}
	const char *allow = NULL;
	int post = strcmp(r.method, "POST") == 0;
	if (post)
		atomic_fetch_add(&h->arriving, 1);
	pthread_mutex_lock(&h->lock);
	uint64_t group = 0;
	if (post) {
		atomic_fetch_sub(&h->arriving, 1);
		group = group_join(h);
	} else {
		group_flush(h);
	}
	r.engine = h->engine;
	int answered = route_api(h, &r, &allow);
	if (group_finish(h, group) != STW_OK) {
		/* Nothing of the group was kept, whatever the route answered. */
		json_decref(r.reply);
		r.reply =
		    stw__http_error_json("unavailable", "the store could not commit the request; "
							"nothing of it was kept");
		r.status = 503;
		answered = 1;
	} else if (group != 0) {
		h->committed++;
	}
	int wrote = answered && post && r.status < 300;
	pthread_mutex_unlock(&h->lock);
	json_decref(r.body);
	json_decref(r.query);
	if (wrote) {
		stw__http_notify(h);
		if (h->cfg.kick != NULL)
			h->cfg.kick(h->cfg.kick_ud);
	}
	if (answered)
		return stw__http_send_json(c, r.status, r.reply, r.status == 405 ? r.allow : NULL);
	json_decref(r.reply);
	if (allow != NULL)
		return stw__http_send_error(c, 405, "method_not_allowed",
					    "this path takes another method", allow);
	return stw__http_send_error(c, 404, "not_found", "no such path", NULL);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	(void)version;
	struct stw__http *h = cls;
	struct conn *cn = *con_cls;
	if (cn == NULL) {
		cn = calloc(1, sizeof(*cn));
		if (cn == NULL)
			return MHD_NO;
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Keep reading a too-large body (to answer 413) without storing it. */
		if (!cn->too_large && cn->len + *upload_size > STW_HTTP_MAX_BODY) {
			cn->too_large = 1;
			free(cn->body);
			cn->body = NULL;
			cn->len = 0;
		}
		if (!cn->too_large) {
			char *p = realloc(cn->body, cn->len + *upload_size + 1);
			if (p == NULL)
				return MHD_NO;
			memcpy(p + cn->len, upload, *upload_size);
			cn->body = p;
			cn->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return handle(h, c, url, method, cn);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct conn *cn = *con_cls;
	if (cn != NULL) {
		free(cn->body);
		free(cn);
	}
	*con_cls = NULL;
}

/* Start and stop ---------------------------------------------------------------------- */

/* MHD must not decode the path: segments are split first, then decoded (request.c). */
static size_t keep_escapes(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* Parses "HOST:PORT", ":PORT" or "PORT" into an IPv4 address. */
static int parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t cap)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	char host[256] = "127.0.0.1";
	const char *colon = strrchr(s, ':');
	const char *port = s;
	if (colon != NULL) {
		size_t n = (size_t)(colon - s);
		if (n >= sizeof(host)) {
			snprintf(err, cap, "listen address too long");
			return STW_EINVAL;
		}
		if (n > 0) {
			memcpy(host, s, n);
			host[n] = '\0';
		}
		port = colon + 1;
	}
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	char *end = NULL;
	long p = strtol(port, &end, 10);
	if (*port == '\0' || *end != '\0' || p < 0 || p > 65535) {
		snprintf(err, cap, "bad port in listen address '%s'", s);
		return STW_EINVAL;
	}
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		snprintf(err, cap, "bad IPv4 address in listen address '%s'", s);
		return STW_EINVAL;
	}
	sa->sin_port = htons((uint16_t)p);
	return STW_OK;
}

int stw__http_start(const struct stw__http_config *cfg, struct stw__http **out, char *err,
		    size_t cap)
{
	*out = NULL;
	struct sockaddr_in sa;
	int rc = parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &sa, err, cap);
	if (rc != STW_OK)
		return rc;
	struct stw__http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, cap, "out of memory");
		return STW_ENOMEM;
	}
	h->cfg = *cfg;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->group_settled, NULL);
	stw__http_live_init(&h->live);
	h->cfg.token = NULL; /* the guard keeps its own copy */
	if (stw__http_auth_new(cfg->token, &h->auth, err, cap) != 0) {
		stw__http_stop(h);
		return STW_EINVAL;
	}
	struct stw_options o = { .synchronous = -1 };
	rc = stw_open(cfg->store, &o, &h->engine);
	if (rc == STW_OK && cfg->setup != NULL &&
	    (rc = cfg->setup(h->engine, cfg->setup_ud)) != STW_OK)
		snprintf(err, cap, "%s", stw_errmsg(h->engine));
	else if (rc != STW_OK)
		snprintf(err, cap, "cannot open %s: %s", cfg->store, stw_strerror(rc));
	if (rc != STW_OK) {
		stw__http_stop(h);
		return rc;
	}
	h->mhd = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL,
	    access_cb, h, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
	    MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, h, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)128, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_END);
	if (h->mhd == NULL) {
		snprintf(err, cap, "cannot listen on %s (in use, or not allowed)",
			 cfg->listen ? cfg->listen : "127.0.0.1:8080");
		stw__http_stop(h);
		return STW_EINVAL;
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : ntohs(sa.sin_port);
	*out = h;
	return STW_OK;
}

void stw__http_notify(struct stw__http *h)
{
	if (h != NULL)
		stw__http_live_notify(&h->live);
}

int stw__http_port(const struct stw__http *h)
{
	return h ? h->port : 0;
}

void stw__http_stop(struct stw__http *h)
{
	if (h == NULL)
		return;
	stw__http_live_stop(&h->live);
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	group_flush(h); /* none is left open: the last member commits */
	stw_close(h->engine);
	stw__http_auth_free(h->auth);
	stw__http_live_destroy(&h->live);
	pthread_cond_destroy(&h->group_settled);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
