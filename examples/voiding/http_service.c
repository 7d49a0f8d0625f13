/*
 * http_service.c - a context's service as a program of its own (see
 * http_service.h): commands in over HTTP, events out to Steward over HTTP.
 */
#include "http_service.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define MAX_BODY    (1 << 20) /* request bodies */
#define MAX_ANSWER  (1 << 16) /* Steward's answers kept for messages */
#define PUBLISH_MAX 200       /* events per POST to Steward */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct service {
	const struct voiding_service *svc;
	const char *db;
	const char *steward; /* Steward's base URL */
	char *token;         /* bearer token for Steward; NULL: none */
	int quiet;
	struct stw_engine *e; /* the HTTP handlers' engine, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake; /* a command wrote events: publish now */
	int kicked;
	char position_file[4096];
};

/* ------------------------------------------------------------------------ */
/* Events as JSON                                                           */

struct collect {
	json_t *arr;
	const char *causation; /* only events caused by this command; NULL: all */
	int64_t last;
	int oom;
};

/*
 * Adds one event as Steward's events-in endpoint takes it: the stored event
 * plus expected_version (the stream version it was written at, minus one).
 */
static int collect_event(const struct stw_event *ev, void *ud)
{
	struct collect *c = ud;
	c->last = ev->position;
	if (c->causation != NULL &&
	    (ev->causation_id == NULL || strcmp(ev->causation_id, c->causation) != 0))
		return 0;
	json_t *o = stw_event_json(ev);
	if (o == NULL ||
	    json_object_set_new(o, "expected_version", json_integer(ev->stream_version - 1)) ||
	    json_array_append_new(c->arr, o)) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The publisher                                                            */

static int64_t read_position(const struct service *s)
{
	FILE *f = fopen(s->position_file, "r");
	long long v = 0;
	if (f == NULL)
		return 0;
	if (fscanf(f, "%lld", &v) != 1 || v < 0)
		v = 0;
	fclose(f);
	return v;
}

/* Writes the published position: a temporary file, fsync, rename. Returns 0 or -1. */
static int write_position(const struct service *s, int64_t pos)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->position_file);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%lld\n", (long long)pos);
	int ok = write(fd, buf, (size_t)n) == n && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	return ok && rename(tmp, s->position_file) == 0 ? 0 : -1;
}

struct answer {
	char buf[MAX_ANSWER];
	size_t len;
};

static size_t keep_answer(char *ptr, size_t size, size_t n, void *ud)
{
	struct answer *a = ud;
	size_t len = size * n;
	size_t room = sizeof(a->buf) - 1 - a->len;
	memcpy(a->buf + a->len, ptr, len < room ? len : room);
	a->len += len < room ? len : room;
	a->buf[a->len] = '\0';
	return len;
}

/* POSTs one batch to Steward. Returns the HTTP status, or 0 when it could not be reached. */
static long post_events(struct service *s, CURL *curl, const char *body, struct answer *a)
{
	char url[4096], auth[4200];
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (s->token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s->token);
		h = curl_slist_append(h, auth);
	}
	snprintf(url, sizeof(url), "%s/api/contexts/%s/events", s->steward, s->svc->context);
	a->len = 0;
	a->buf[0] = '\0';
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	long status = 0;
	if (curl_easy_perform(curl) == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return status;
}

/* Sleeps up to ms, or until a command kicks the publisher or a stop is requested. */
static void publisher_wait(struct service *s, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->lock);
	while (!stop_requested && !s->kicked)
		if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) == ETIMEDOUT)
			break;
	s->kicked = 0;
	pthread_mutex_unlock(&s->lock);
}

/*
 * Forwards the local log to Steward in order. The position moves only after
 * Steward answered 200, so a crash re-sends at most one batch, which Steward
 * recognises by the event ids.
 */
static void *publisher(void *ud)
{
	struct service *s = ud;
	struct stw_engine *pe = NULL;
	CURL *curl = curl_easy_init();
	struct answer *a = malloc(sizeof(*a));
	long backoff = 0;
	if (curl == NULL || a == NULL || stw_open(s->db, NULL, &pe) != STW_OK) {
		fprintf(stderr, "%s: the publisher cannot start\n", s->svc->program);
		stop_requested = 1;
		goto out;
	}
	int64_t pos = read_position(s);
	while (!stop_requested) {
		struct collect c = { json_array(), NULL, pos, 0 };
		int count = 0;
		int rc = c.arr ? stw_read(pe, s->svc->context, pos, PUBLISH_MAX, collect_event, &c,
					  &count)
			       : STW_ENOMEM;
		if (rc != STW_OK || c.oom || count == 0) {
			json_decref(c.arr);
			publisher_wait(s, rc == STW_OK && !c.oom ? 100 : 1000);
			continue;
		}
		json_t *body = json_pack("{s:o}", "events", c.arr);
		char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
		json_decref(body);
		long status = text ? post_events(s, curl, text, a) : 0;
		free(text);
		if (status == 200) {
			pos = c.last;
			if (write_position(s, pos) != 0)
				fprintf(stderr, "%s: cannot write %s: %s\n", s->svc->program,
					s->position_file, strerror(errno));
			backoff = 0;
			continue;
		}
		if (!s->quiet)
			fprintf(stderr, "%s: publishing to %s: %s %s (retrying)\n", s->svc->program,
				s->steward, status ? "HTTP status" : "unreachable",
				status ? a->buf : "");
		backoff = backoff == 0 ? 50 : backoff * 2 > 2000 ? 2000 : backoff * 2;
		publisher_wait(s, backoff);
	}
out:
	stw_close(pe);
	free(a);
	curl_easy_cleanup(curl);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* HTTP                                                                     */

struct body {
	char *data;
	size_t len;
	int too_large;
};

static enum MHD_Result reply(struct MHD_Connection *conn, int status, json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (text == NULL) {
		status = 500;
		text = strdup("{\"error\":\"out of memory\"}");
		if (text == NULL)
			return MHD_NO;
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result error(struct MHD_Connection *conn, int status, const char *msg)
{
	return reply(conn, status, json_pack("{s:s}", "error", msg));
}

/* An id from a header or the body: NULL when absent; *bad when present but unfit. */
static const char *id_value(const char *header, json_t *field, int *bad)
{
	const char *v = header;
	if (v == NULL && field != NULL && !json_is_null(field)) {
		v = json_string_value(field);
		if (v == NULL)
			*bad = 1;
	}
	if (v != NULL && (v[0] == '\0' || strlen(v) >= STW_MAX_ID))
		*bad = 1;
	return v;
}

/* POST /commands: see http_service.h. */
static enum MHD_Result post_command(struct service *s, struct MHD_Connection *conn,
				    const struct body *b)
{
	json_error_t jerr;
	json_t *req = b->len ? json_loadb(b->data, b->len, 0, &jerr) : NULL;
	const char *type = json_string_value(json_object_get(req, "type"));
	json_t *data = json_object_get(req, "data");
	const char *context = json_string_value(json_object_get(req, "context"));
	int bad = 0;
	const char *id =
	    id_value(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Idempotency-Key"),
		     json_object_get(req, "id"), &bad);
	const char *corr =
	    id_value(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Correlation-Id"),
		     json_object_get(req, "correlation_id"), &bad);
	enum MHD_Result ret;
	if (!json_is_object(req) || type == NULL || (data != NULL && !json_is_object(data)) ||
	    bad) {
		json_decref(req);
		return error(
		    conn, 400,
		    "the body must be {\"type\": T, \"data\": {...}} and the ids strings of "
		    "1 to 255 bytes");
	}
	if (context != NULL && strcmp(context, s->svc->context) != 0) {
		json_decref(req);
		return error(conn, 400, "this service handles another context");
	}
	char cmd_id[STW_MAX_ID];
	struct collect c = { NULL, cmd_id, 0, 0 };
	int64_t head = 0;
	pthread_mutex_lock(&s->lock);
	int rc = stw_head(s->e, s->svc->context, &head);
	if (rc == STW_OK)
		rc = stw_execute(s->e, s->svc->context, type, data, id, corr, cmd_id);
	if (rc == STW_OK && s->svc->answer_events) {
		/* This engine is the only writer of the store and we hold its lock:
		 * what follows `head` is this command's doing. */
		c.arr = json_array();
		rc = c.arr ? stw_read(s->e, s->svc->context, head, 1000, collect_event, &c, NULL)
			   : STW_ENOMEM;
		if (rc == STW_OK && c.oom)
			rc = STW_ENOMEM;
	}
	char why[512];
	snprintf(why, sizeof(why), "%s", stw_errmsg(s->e));
	s->kicked = 1;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	json_decref(req);
	if (rc == STW_OK && s->svc->answer_events)
		ret = reply(conn, 200, json_pack("{s:o}", "events", c.arr));
	else if (rc == STW_OK)
		ret = reply(conn, 202, json_object());
	else if (rc == STW_EREJECTED)
		ret = error(conn, 422, why);
	else if (rc == STW_EINVAL)
		ret = error(conn, 400, why);
	else
		ret = error(conn, 500, why); /* Steward tries again later */
	if (rc != STW_OK)
		json_decref(c.arr);
	return ret;
}

/* GET /events?after=N&limit=M: the local log. */
static enum MHD_Result get_events(struct service *s, struct MHD_Connection *conn)
{
	const char *after_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "after");
	const char *limit_s = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit");
	char *end = NULL;
	long long after = after_s ? strtoll(after_s, &end, 10) : 0;
	if (after_s != NULL && (*after_s == '\0' || *end != '\0' || after < 0))
		return error(conn, 400, "after must be a position >= 0");
	long long limit = limit_s ? strtoll(limit_s, &end, 10) : 100;
	if (limit_s != NULL && (*limit_s == '\0' || *end != '\0' || limit < 1 || limit > 1000))
		return error(conn, 400, "limit must be 1 to 1000");
	struct collect c = { json_array(), NULL, after, 0 };
	int64_t head = 0;
	pthread_mutex_lock(&s->lock);
	int rc = c.arr ? stw_read(s->e, s->svc->context, after, (int)limit, collect_event, &c, NULL)
		       : STW_ENOMEM;
	if (rc == STW_OK)
		rc = stw_head(s->e, s->svc->context, &head);
	pthread_mutex_unlock(&s->lock);
	if (rc != STW_OK || c.oom) {
		json_decref(c.arr);
		return error(conn, 500, "cannot read the log");
	}
	return reply(conn, 200,
		     json_pack("{s:s, s:I, s:I, s:o}", "context", s->svc->context, "head",
			       (json_int_t)head, "next_after", (json_int_t)c.last, "events",
			       c.arr));
}

static enum MHD_Result get_status(struct service *s, struct MHD_Connection *conn)
{
	int64_t head = 0;
	pthread_mutex_lock(&s->lock);
	int rc = stw_head(s->e, s->svc->context, &head);
	pthread_mutex_unlock(&s->lock);
	if (rc != STW_OK)
		return error(conn, 500, "cannot read the log");
	return reply(conn, 200,
		     json_pack("{s:s, s:I, s:I}", "context", s->svc->context, "head",
			       (json_int_t)head, "published", (json_int_t)read_position(s)));
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct service *s = cls;
	struct body *b = *con_cls;
	(void)version;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!b->too_large && b->len + *upload_size <= MAX_BODY) {
			char *grown = realloc(b->data, b->len + *upload_size);
			if (grown == NULL)
				return MHD_NO;
			memcpy(grown + b->len, upload, *upload_size);
			b->data = grown;
			b->len += *upload_size;
		} else {
			b->too_large = 1;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (b->too_large)
		return error(conn, 413, "the body is larger than 1 MiB");
	int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	if (strcmp(url, "/commands") == 0)
		return post ? post_command(s, conn, b) : error(conn, 405, "POST only");
	if (!get)
		return error(conn,
			     strcmp(url, "/events") == 0 || strcmp(url, "/status") == 0 ? 405 : 404,
			     "no such route");
	if (strcmp(url, "/events") == 0)
		return get_events(s, conn);
	if (strcmp(url, "/status") == 0)
		return get_status(s, conn);
	int status = 404;
	json_t *out = NULL;
	pthread_mutex_lock(&s->lock);
	int handled = s->svc->get(s->e, url, &status, &out);
	pthread_mutex_unlock(&s->lock);
	if (!handled)
		return error(conn, 404, "no such route");
	return reply(conn, status, out);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;
	(void)cls;
	(void)conn;
	(void)toe;
	if (b != NULL)
		free(b->data);
	free(b);
	*con_cls = NULL;
}

/* ------------------------------------------------------------------------ */
/* The program                                                              */

static void usage(const struct voiding_service *svc, FILE *f)
{
	fprintf(f,
		"usage: %s --listen HOST:PORT --db PATH --steward URL [--token-file PATH] "
		"[--quiet]\n"
		"\n"
		"The %s service of the voiding example as a program of its own: commands in\n"
		"(POST /commands), events out to Steward (POST URL/api/contexts/%s/events).\n"
		"GET /events, GET /status and the service's views read it. See docs/SERVICES.md.\n",
		svc->program, svc->context, svc->context);
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end = NULL;
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
		return -1;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host[0] ? host : "127.0.0.1", &sa->sin_addr) == 1 ? 0 : -1;
}

static char *read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[4097];
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

int voiding_service_main(const struct voiding_service *svc, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "steward", required_argument, NULL, 's' },
		{ "token-file", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct service s = { .svc = svc };
	const char *listen = NULL, *token_file = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'd':
			s.db = optarg;
			break;
		case 's':
			s.steward = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'q':
			s.quiet = 1;
			break;
		case 'h':
			usage(svc, stdout);
			return 0;
		default:
			usage(svc, stderr);
			return 2;
		}
	}
	struct sockaddr_in sa;
	if (listen == NULL || s.db == NULL || s.steward == NULL || optind < argc ||
	    parse_listen(listen, &sa) != 0) {
		usage(svc, stderr);
		return 2;
	}
	if (token_file != NULL && (s.token = read_token(token_file)) == NULL) {
		fprintf(stderr, "%s: cannot read a token from %s\n", svc->program, token_file);
		return 2;
	}
	snprintf(s.position_file, sizeof(s.position_file), "%s.published", s.db);
	int status = 1;
	struct MHD_Daemon *d = NULL;
	pthread_t pub;
	int pub_started = 0;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.wake, NULL);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = stw_open(s.db, NULL, &s.e);
	if (rc == STW_OK)
		rc = svc->register_handler(s.e);
	if (rc != STW_OK) {
		fprintf(stderr, "%s: %s: %s\n", svc->program, s.db,
			s.e ? stw_errmsg(s.e) : stw_strerror(rc));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
			     on_request, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
			     MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "%s: cannot listen on %s\n", svc->program, listen);
		goto out;
	}
	if (pthread_create(&pub, NULL, publisher, &s) != 0) {
		fprintf(stderr, "%s: cannot start the publisher\n", svc->program);
		goto out;
	}
	pub_started = 1;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("%s: %s on http://%s:%u/ (store %s, publishing to %s)\n", svc->program, svc->context,
	       inet_ntoa(sa.sin_addr), info ? info->port : ntohs(sa.sin_port), s.db, s.steward);
	fflush(stdout);
	while (!stop_requested) {
		struct timespec tick = { 0, 100000000L };
		nanosleep(&tick, NULL);
	}
	status = 0;
out:
	stop_requested = 1;
	if (d != NULL)
		MHD_stop_daemon(d);
	if (pub_started) {
		pthread_mutex_lock(&s.lock);
		pthread_cond_signal(&s.wake);
		pthread_mutex_unlock(&s.lock);
		pthread_join(pub, NULL);
	}
	stw_close(s.e);
	free(s.token);
	curl_global_cleanup();
	pthread_cond_destroy(&s.wake);
	pthread_mutex_destroy(&s.lock);
	return status;
}
