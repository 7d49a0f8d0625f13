/*
 * server.c - the daemon's HTTP server (server.h): libmicrohttpd's start and
 * stop with the server's limits, the connection callbacks that check a
 * request once its headers are in (framing, path, token, declared length:
 * refused before the body is read) and read bodies up to their cap, and
 * the dispatch of each request: decoded (request.c), checked (auth.c), then
 * served as the page (assets.c), /healthz, /readyz, /metrics (metrics.c), the live
 * stream (live.c) or the API (api.c), whose writing requests share commits
 * (group.c: suspended until their group's thread has committed them).
 * Connections have a read deadline (conns.c); a connection waiting for
 * something (a live stream, a wrong token's delay) is parked, holding no
 * thread (park.c).
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "http/api.h"
#include "http/assets.h"
#include "http/auth.h"
#include "http/conns.h"
#include "http/group.h"
#include "http/live.h"
#include "http/metrics.h"
#include "http/park.h"
#include "http/request.h"
#include "http/response.h"

#define MAX_SEGMENTS 16

/* A worker that has not looped for this long is not running (SLOW_DOWN sleeps 5 s in a step). */
#define READY_BEAT_MS 30000

/* Seconds without a byte either way after which libmicrohttpd closes a connection. */
#define IDLE_TIMEOUT_S 60

/* Open files kept for other uses than connections (the stores, the pool's event loops). */
#define NOFILE_RESERVE 256

/* A body declared larger than this many times its cap is refused before it is read. */
#define EARLY_413_TIMES 8

struct stw__http {
	struct MHD_Daemon *mhd;
	struct stw__http_config cfg;
	struct stw_engine *engine;    /* the API's engine, used under `lock` */
	pthread_mutex_t lock;         /* the engine's, and the group's */
	struct stw__http_group group; /* the group commit of writing requests (group.c) */
	struct stw__http_live live;   /* the streams of /api/stream (live.c) */
	int port;
	struct stw__http_auth *auth;   /* who may use the API and page (auth.c) */
	struct stw__http_park *park;   /* parked connections (park.c) */
	struct stw__http_conns *conns; /* connections and their read deadline (conns.c) */
};

/* Per-request state: the request body being received, then the answer waiting for its group. */
struct conn {
	char *body;
	size_t len;
	size_t cap; /* the most its body may hold */
	int too_large;
	int refused;                    /* answered before its body (see headers_in) */
	unsigned auth;                  /* STW_HTTP_AUTH_WAITED once a wrong token waited */
	struct stw__http_parked parked; /* while a wrong token waits */
	/* An API request that ran; with `in_group`, it waits for its group's commit. */
	struct stw__http_member member;
	struct stw__http_request r; /* a writing request, while it waits for its group */
	char *path;                 /* the segments r.seg points into, then */
	char *seg[MAX_SEGMENTS];
	int in_group;
	int post;
	int answered;      /* the route answered (else 404 or 405 with `allow`) */
	int status;        /* its answer */
	json_t *reply;     /* owned until sent */
	const char *allow; /* static */
};

/* /metrics, /healthz and /readyz ------------------------------------------------- */

static enum MHD_Result serve_metrics(struct stw__http *h, struct MHD_Connection *c)
{
	size_t len = 0;
	pthread_mutex_lock(&h->lock);
	char *text =
	    stw__http_metrics_text(h->cfg.metrics, h->engine, h->cfg.cluster, h->group.commits,
				   h->group.committed, h->cfg.stuck_after_ms, &len);
	pthread_mutex_unlock(&h->lock);
	if (text == NULL)
		return stw__http_send_error(c, 500, "internal", "out of memory", NULL);
	return stw__http_send_buffer(c, 200, "text/plain; version=0.0.4", text, len, 1, NULL);
}

static enum MHD_Result serve_health(struct stw__http *h, struct MHD_Connection *c)
{
	int64_t age = stw__http_metrics_beat_age_ms(h->cfg.metrics);
	pthread_mutex_lock(&h->lock);
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

/* 413: the body is (or says it is) larger than its cap. */
static enum MHD_Result send_too_large(struct MHD_Connection *c, const struct conn *cn)
{
	return stw__http_send_error(c, 413, "too_large",
				    cn->cap == STW_HTTP_MAX_FORM
					? "the login form is larger than 8 KiB"
					: "the body is larger than 1 MiB",
				    NULL);
}

/*
 * A wrong token: its answer (401) waits STW_HTTP_WRONG_DELAY_MS, the
 * connection parked meanwhile; the request's callback then runs again and
 * the guard answers. Closed at once when the server stops.
 */
static enum MHD_Result delay_wrong_token(struct stw__http *h, struct MHD_Connection *c,
					 struct conn *cn)
{
	cn->auth |= STW_HTTP_AUTH_WAITED;
	stw__http_conns_serving(h->conns, c); /* no read deadline while it waits */
	if (stw__http_park(h->park, &cn->parked, c, stw__http_mono_ms() + STW_HTTP_WRONG_DELAY_MS,
			   0) != 0)
		return MHD_NO;
	return MHD_YES;
}

/*
 * The answer of an API request whose group has settled with rc (STW_OK for
 * one that ran in none): the writes' bookkeeping, the worker woken (with
 * `kick`: its group woke it otherwise), the answer sent.
 */
static enum MHD_Result api_settled(struct stw__http *h, struct MHD_Connection *c, struct conn *cn,
				   int rc, int kick)
{
	if (rc != STW_OK) {
		/* Nothing of the group was kept, whatever the route answered. */
		json_decref(cn->reply);
		cn->reply =
		    stw__http_error_json("unavailable", "the store could not commit the request; "
							"nothing of it was kept");
		cn->status = 503;
		cn->answered = 1;
	}
	int wrote = cn->answered && cn->post && cn->status < 300;
	if (cn->answered && cn->post && h->cfg.metrics != NULL && (wrote || cn->status >= 500))
		stw__http_metrics_write(h->cfg.metrics, wrote ? STW_OK : STW_ESTORE,
					json_string_value(json_object_get(cn->reply, "message")));
	if (wrote && kick) {
		stw__http_notify(h);
		if (h->cfg.kick != NULL)
			h->cfg.kick(h->cfg.kick_ud);
	}
	json_t *reply = cn->reply;
	cn->reply = NULL;
	if (cn->answered)
		return stw__http_send_json(c, cn->status, reply,
					   cn->status == 405 ? cn->allow : NULL);
	json_decref(reply);
	if (cn->allow != NULL)
		return stw__http_send_error(c, 405, "method_not_allowed",
					    "this path takes another method", cn->allow);
	return stw__http_send_error(c, 404, "not_found", "no such path", NULL);
}

/*
 * Runs a request on the engine (under the lock): the route's answer into
 * cn. Returns 1 when it wrote (a POST answered 2xx).
 */
static int route(struct stw__http *h, struct conn *cn, struct stw__http_request *r)
{
	r->engine = h->engine;
	const char *allow = NULL;
	cn->answered = stw__http_route_api(r, h->cfg.route, h->cfg.route_ud, &allow);
	cn->status = r->status;
	cn->reply = r->reply;
	cn->allow = cn->answered ? r->allow : allow;
	json_decref(r->body);
	json_decref(r->query);
	r->body = r->query = NULL;
	return cn->answered && cn->post && cn->status < 300;
}

/* Runs a queued request for the group's thread (group.h). */
static int run_member(void *ud, struct stw__http_member *m)
{
	struct conn *cn = (struct conn *)(void *)((char *)m - offsetof(struct conn, member));
	return route(ud, cn, &cn->r);
}

/* After a group that wrote: streams told, the worker woken, once for the whole group. */
static void group_wrote(void *ud)
{
	struct stw__http *h = ud;
	stw__http_notify(h);
	if (h->cfg.kick != NULL)
		h->cfg.kick(h->cfg.kick_ud);
}

/*
 * Keeps r in cn for the group's thread, its segments copied off the
 * handler's stack (path, where r->seg points). Returns 0, or -1 when out of
 * memory.
 */
static int keep(struct conn *cn, const struct stw__http_request *r, const char *path)
{
	const char *last = r->seg[r->nseg - 1];
	size_t len = (size_t)(last - path) + strlen(last) + 1;
	cn->path = malloc(len);
	if (cn->path == NULL)
		return -1;
	memcpy(cn->path, path, len);
	cn->r = *r;
	for (int i = 0; i < r->nseg; i++)
		cn->seg[i] = cn->path + (r->seg[i] - path);
	cn->r.seg = cn->seg;
	return 0;
}

/*
 * Runs an API request: a POST is queued for its group (group.c) and its
 * connection suspended until the group commits, when api_resumed answers
 * (or, when no group runs, it runs in one of its own at once); anything
 * else runs here under the lock.
 */
static enum MHD_Result api(struct stw__http *h, struct MHD_Connection *c, struct conn *cn,
			   struct stw__http_request *r, const char *path)
{
	cn->post = strcmp(r->method, "POST") == 0;
	/* A migration commits each instance apart: it runs alone, not in a group. */
	if (cn->post && !stw__http_api_alone(r) && keep(cn, r, path) == 0) {
		switch (stw__http_group_submit(&h->group, &cn->member, c)) {
		case 0:
			cn->in_group = 1;
			return MHD_YES;
		case 1: /* it ran at once */
			return api_settled(h, c, cn, cn->member.rc, 0);
		default: /* the server stops: a group of its own */
			return api_settled(h, c, cn, stw__http_group_alone(&h->group, &cn->member),
					   0);
		}
	}
	pthread_mutex_lock(&h->lock);
	int wrote = route(h, cn, r);
	pthread_mutex_unlock(&h->lock);
	return api_settled(h, c, cn, STW_OK, wrote);
}

/* A POST resumed once its group committed: its answer. */
static enum MHD_Result api_resumed(struct stw__http *h, struct MHD_Connection *c, struct conn *cn)
{
	cn->in_group = 0;
	return api_settled(h, c, cn, cn->member.rc, 0);
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
	if (cn->too_large)
		return send_too_large(c, cn);
	enum MHD_Result authed;
	switch (stw__http_auth_check(h->auth, c, method, url, seg, nseg, cn->body, cn->len,
				     cn->auth, &authed)) {
	case 0:
		break;
	case 2:
		return delay_wrong_token(h, c, cn);
	default:
		return authed;
	}
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
	return api(h, c, cn, &r, path);
}

/* Why the request's framing is refused, or NULL (request.h). */
static const char *unframed(struct MHD_Connection *c)
{
	return stw__http_framing_refusal(
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Transfer-Encoding"),
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length"));
}

/*
 * The checks made once a request's headers are in, before its body is
 * read: what is refused here is answered at once and its body never read
 * (libmicrohttpd drops it and closes the connection). The framing, the
 * path, the token (a request that is not allowed never gets to send its
 * body) and a declared length past the body's cap.
 */
static enum MHD_Result headers_in(struct stw__http *h, struct MHD_Connection *c, const char *url,
				  const char *method, struct conn *cn)
{
	const char *unframed_why = unframed(c);
	if (unframed_why != NULL) {
		cn->refused = 1;
		return stw__http_send_error(c, 400, "bad_request", unframed_why, NULL);
	}
	char path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	struct stw__http_refusal why;
	if (stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why) != 0) {
		cn->refused = 1;
		return refuse(c, &why);
	}
	enum MHD_Result authed;
	switch (stw__http_auth_check(h->auth, c, method, url, seg, nseg, NULL, 0,
				     STW_HTTP_AUTH_HEADERS, &authed)) {
	case 0:
		break;
	case 2:
		return delay_wrong_token(h, c, cn);
	default:
		cn->refused = 1;
		return authed;
	}
	/*
	 * A body declared far past its cap is refused now. One a little past it
	 * is read and dropped, then answered 413 (handle): a client that sends
	 * its whole body before reading would otherwise find the connection
	 * reset under it, the answer lost.
	 */
	cn->cap = nseg == 1 && strcmp(seg[0], "login") == 0 ? STW_HTTP_MAX_FORM : STW_HTTP_MAX_BODY;
	const char *declared = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
	if (declared != NULL && strtoull(declared, NULL, 10) > EARLY_413_TIMES * cn->cap) {
		cn->refused = 1;
		return send_too_large(c, cn);
	}
	return MHD_YES;
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
		return headers_in(h, c, url, method, cn);
	}
	if (cn->refused) {
		*upload_size = 0; /* the answer is queued: what comes is dropped */
		return MHD_YES;
	}
	if (cn->in_group)
		return api_resumed(h, c, cn);
	if (*upload_size > 0) {
		/* A body still trickling in past the read deadline: the connection is closed. */
		if (stw__http_conns_late(h->conns, c))
			return MHD_NO;
		/* Keep reading a too-large body (to answer 413) without storing it. */
		if (!cn->too_large && cn->len + *upload_size > cn->cap) {
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
	stw__http_conns_serving(h->conns, c);
	return handle(h, c, url, method, cn);
}

static void completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)toe;
	struct stw__http *h = cls;
	stw__http_conns_waiting(h->conns, c); /* the next request's deadline, if one comes */
	struct conn *cn = *con_cls;
	if (cn != NULL) {
		free(cn->body);
		free(cn->path);
		json_decref(cn->reply);
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

/* A limit of the configuration: `v`, or `def` for 0, and 0 (no cap) for a negative one. */
static int limit(int v, int def)
{
	return v == 0 ? def : v < 0 ? 0 : v;
}

/*
 * Raises the process's open-file limit (up to its hard limit) for `conns`
 * connections and the server's other files; returns the connections it
 * allows (conns, or fewer when the hard limit is lower).
 */
static int raise_nofile(int conns)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return conns;
	rlim_t need = (rlim_t)conns + NOFILE_RESERVE;
	if (rl.rlim_cur < need) {
		rl.rlim_cur =
		    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return conns;
	return rl.rlim_cur > 2 * NOFILE_RESERVE ? (int)(rl.rlim_cur - NOFILE_RESERVE)
						: (int)(rl.rlim_cur / 2);
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
	h->cfg.threads = limit(cfg->threads, STW_HTTP_THREADS);
	h->cfg.max_connections =
	    raise_nofile(limit(cfg->max_connections, STW_HTTP_MAX_CONNECTIONS));
	h->cfg.max_per_ip = limit(cfg->max_per_ip, STW_HTTP_MAX_PER_IP);
	h->cfg.read_timeout_s = limit(cfg->read_timeout_s, STW_HTTP_READ_TIMEOUT_S);
	h->cfg.max_streams = limit(cfg->max_streams, STW_HTTP_MAX_STREAMS);
	pthread_mutex_init(&h->lock, NULL);
	if (stw__http_park_start(&h->park) != 0 ||
	    stw__http_conns_start((int64_t)h->cfg.read_timeout_s * 1000, &h->conns) != 0) {
		snprintf(err, cap, "out of memory or threads");
		stw__http_park_stop(h->park);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return STW_ENOMEM;
	}
	stw__http_live_init(&h->live, h->park, h->cfg.max_streams);
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
	else if (rc != STW_OK) {
		char shown[1024]; /* the store as logs may show it: no password */
		stw_store_shown(cfg->store, shown, sizeof(shown));
		snprintf(err, cap, "cannot open %s: %s", shown, stw_strerror(rc));
	}
	if (rc != STW_OK) {
		stw__http_stop(h);
		return rc;
	}
	if (stw__http_group_start(&h->group, h->engine, &h->lock, run_member, group_wrote, h) !=
	    0) {
		snprintf(err, cap, "out of memory or threads");
		stw__http_stop(h);
		return STW_ENOMEM;
	}
	/*
	 * An event loop (epoll) per thread of the pool, each serving its share
	 * of the connections; a handler that waits (the API's lock, a group's
	 * commit) holds its thread's other connections meanwhile, so the pool
	 * is larger than the cores. Parked connections hold none.
	 */
	h->mhd = MHD_start_daemon(
	    MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME, 0, NULL, NULL, access_cb, h,
	    MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)h->cfg.threads,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h, MHD_OPTION_NOTIFY_CONNECTION,
	    stw__http_conns_notify, h->conns, MHD_OPTION_UNESCAPE_CALLBACK, keep_escapes, h,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->cfg.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->cfg.max_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
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

void stw__http_limits(const struct stw__http *h, struct stw__http_config *out)
{
	*out = h->cfg;
}

void stw__http_stop(struct stw__http *h)
{
	if (h == NULL)
		return;
	/* Streams end and parked connections are resumed: libmicrohttpd must find none suspended.
	 */
	stw__http_live_stop(&h->live);
	stw__http_park_close(h->park);
	stw__http_group_stop(&h->group); /* what is queued commits, its connections resumed */
	if (h->mhd != NULL)
		MHD_stop_daemon(h->mhd);
	stw__http_park_stop(h->park);
	stw__http_conns_stop(h->conns);
	stw__http_group_destroy(&h->group);
	stw_close(h->engine);
	stw__http_auth_free(h->auth);
	stw__http_live_destroy(&h->live);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
