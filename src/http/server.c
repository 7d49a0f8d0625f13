/*
 * server.c - the daemon's HTTP server (server.h): libmicrohttpd's start and
 * stop, the connection callbacks that read bodies up to their cap, and the
 * dispatch of each request: decoded (request.c), checked (auth.c), then
 * served as the page (assets.c), /healthz, /readyz, /metrics (metrics.c), the live
 * stream (live.c) or the API (api.c), whose writing requests share commits
 * (group commit, below).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/live.h"
#include "http/metrics.h"
#include "http/request.h"
#include "http/response.h"

#define MAX_SEGMENTS 16

/* Outcomes of the last groups, by group number modulo this. */
#define GROUP_RING 64

/* A worker that has not looped for this long is not running (SLOW_DOWN sleeps 5 s in a step). */
#define READY_BEAT_MS 30000

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
	int refused; /* answered before its body (see unframed) */
};

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

/* /metrics, /healthz and /readyz ------------------------------------------------- */

static enum MHD_Result serve_metrics(struct stw__http *h, struct MHD_Connection *c)
{
	size_t len = 0;
	pthread_mutex_lock(&h->lock);
	group_flush(h);
	char *text = stw__http_metrics_text(h->cfg.metrics, h->engine, h->commits, h->committed,
					    h->cfg.stuck_after_ms, &len);
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
	if (age > READY_BEAT_MS)
		return stw__http_send_error(c, 503, "unavailable", "the worker is not running",
					    NULL);
	return stw__http_send_json(c, 200, json_pack("{s:s}", "status", "ok"), NULL);
}

static void add_lag(const char *definition, const char *context, int64_t lag, void *ud)
{
	(void)definition;
	(void)context;
	*(int64_t *)ud += lag;
}

/* The events the definitions have still to read, all sources (under lock); -1: no answer. */
static int64_t cursor_lag(struct stw__http *h)
{
	int64_t lag = 0;
	return stw__http_cursor_lags(h->engine, add_lag, &lag) == STW_OK ? lag : -1;
}

/*
 * /readyz: whether the daemon does its work, not only whether it runs. Not
 * ready (503) while the store does not answer, the worker has stopped
 * looping, its rounds fail (a full disk, a read-only or locked database, a
 * store error it retries forever), or the API's writes fail; the body says
 * which, with the last error and how far the definitions lag behind the logs.
 */
static enum MHD_Result serve_ready(struct stw__http *h, struct MHD_Connection *c)
{
	struct stw__http_health hl;
	stw__http_metrics_health(h->cfg.metrics, &hl);
	pthread_mutex_lock(&h->lock);
	group_flush(h);
	int64_t lag = cursor_lag(h);
	pthread_mutex_unlock(&h->lock);
	json_t *reasons = json_array();
	if (lag < 0)
		json_array_append_new(reasons, json_string("the store does not answer"));
	if (hl.beat_age_ms > READY_BEAT_MS)
		json_array_append_new(reasons, json_string("the worker is not running"));
	if (hl.failing_for_ms > 0)
		json_array_append_new(reasons, json_string("the worker's rounds fail"));
	if (hl.write_failing_ms > 0)
		json_array_append_new(reasons, json_string("the API's writes fail"));
	int ready = json_array_size(reasons) == 0;
	json_t *v =
	    json_pack("{s:s, s:o, s:{s:b, s:I, s:I, s:I, s:s?}, s:{s:b, s:b, s:s?}, s:I}", "status",
		      ready ? "ready" : "not_ready", "reasons", reasons, "worker", "running",
		      hl.beat_age_ms <= READY_BEAT_MS, "last_loop_ms_ago",
		      (json_int_t)hl.beat_age_ms, "failing_for_ms", (json_int_t)hl.failing_for_ms,
		      "failed_rounds", (json_int_t)hl.round_failures, "last_error",
		      hl.round_error[0] ? hl.round_error : NULL, "store", "answers", lag >= 0,
		      "writable", hl.write_failing_ms == 0 && hl.failing_for_ms == 0, "last_error",
		      hl.write_error[0] ? hl.write_error : NULL, "cursor_lag",
		      (json_int_t)(lag < 0 ? 0 : lag));
	return stw__http_send_json(c, ready ? 200 : 503, v, NULL);
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
		return stw__http_serve_asset(c, "index.html");
	}
	if (strcmp(seg[0], "static") == 0 && nseg == 2) {
		if (!get)
			return stw__http_send_error(c, 405, "method_not_allowed", "use GET", "GET");
		return stw__http_serve_asset(c, seg[1]);
	}
	if (nseg == 1 && (strcmp(seg[0], "healthz") == 0 || strcmp(seg[0], "readyz") == 0 ||
			  strcmp(seg[0], "metrics") == 0)) {
		if (!get)
			return stw__http_send_error(c, 405, "method_not_allowed", "use GET", "GET");
		return seg[0][0] == 'h'   ? serve_health(h, c)
		       : seg[0][0] == 'r' ? serve_ready(h, c)
					  : serve_metrics(h, c);
	}
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
		.accept_contexts = h->cfg.accept_contexts,
		.stuck_after_ms = h->cfg.stuck_after_ms,
	};
	int rc = stw__http_read_query(c, &r.query, &why);
	if (rc == STW_ENOMEM)
		return MHD_NO;
	if (rc != STW_OK)
		return refuse(c, &why);
	if (cn->len > 0 &&
	    stw__http_read_body(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
				cn->body, cn->len, &r.body, &why) != 0) {
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
	int answered = stw__http_route_api(&r, h->cfg.route, h->cfg.route_ud, &allow);
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
	if (answered && post && h->cfg.metrics != NULL && (wrote || r.status >= 500))
		stw__http_metrics_write(h->cfg.metrics, wrote ? STW_OK : STW_ESTORE,
					json_string_value(json_object_get(r.reply, "message")));
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

/* Why the request's framing is refused, or NULL (request.h). */
static const char *unframed(struct MHD_Connection *c)
{
	return stw__http_framing_refusal(
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"),
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length"));
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
		/* Framing the server does not take is refused before any body is read. */
		const char *why = unframed(c);
		if (why != NULL) {
			cn->refused = 1;
			return stw__http_send_error(c, 400, "bad_request", why, NULL);
		}
		return MHD_YES;
	}
	if (cn->refused) {
		*upload_size = 0; /* the answer is queued: what comes is dropped */
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

int stw__http_parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t cap)
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
	int rc =
	    stw__http_parse_listen(cfg->listen ? cfg->listen : "127.0.0.1:8080", &sa, err, cap);
	if (rc != STW_OK)
		return rc;
	struct stw__http *h = calloc(1, sizeof(*h));
	if (h == NULL) {
		snprintf(err, cap, "out of memory");
		return STW_ENOMEM;
	}
	h->cfg = *cfg;
	if (h->cfg.stuck_after_ms <= 0)
		h->cfg.stuck_after_ms = STW_HTTP_STUCK_AFTER_MS;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->group_settled, NULL);
	stw__http_live_init(&h->live);
	h->cfg.token = NULL; /* the guard keeps its own copy */
	if (stw__http_auth_new(cfg->token, &h->auth, err, cap) != 0) {
		stw__http_stop(h);
		return STW_EINVAL;
	}
	struct stw_options o = { .synchronous = -1, .write_gate = cfg->write_gate };
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
