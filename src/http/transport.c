/*
 * transport.c - the HTTP transport of remote contexts (see transport.h): a
 * batch of commands is POSTed concurrently with libcurl's multi interface,
 * and each answer is classified as delivered, refused or failed.
 */
#include "http/transport.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ANSWER (4 << 20) /* a larger answer body is a failure */

struct stw_http_transport {
	char *url;
	char *auth; /* "Authorization: Bearer ..." or NULL */
	long connect_timeout_ms;
	long timeout_ms;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct stw_http_transport *stw_http_transport_new(const struct stw_http_transport_options *o,
						  char *err, size_t cap)
{
	if (o == NULL || o->url == NULL ||
	    (strncmp(o->url, "http://", 7) != 0 && strncmp(o->url, "https://", 8) != 0)) {
		snprintf(err, cap, "a remote URL must start with http:// or https://");
		return NULL;
	}
	if (o->token != NULL && (strchr(o->token, '\n') || strchr(o->token, '\r'))) {
		snprintf(err, cap, "a token must be one line");
		return NULL;
	}
	if (o->connect_timeout_ms < 0 || o->timeout_ms < 0) {
		snprintf(err, cap, "time-outs must not be negative");
		return NULL;
	}
	pthread_once(&curl_once, curl_init_once);
	struct stw_http_transport *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->url = strdup(o->url)) == NULL)
		goto oom;
	if (o->token != NULL && *o->token != '\0') {
		size_t n = strlen(o->token) + 32;
		if ((t->auth = malloc(n)) == NULL)
			goto oom;
		snprintf(t->auth, n, "Authorization: Bearer %s", o->token);
	}
	t->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 2000;
	t->timeout_ms = o->timeout_ms ? o->timeout_ms : 10000;
	return t;
oom:
	snprintf(err, cap, "out of memory");
	stw_http_transport_free(t);
	return NULL;
}

void stw_http_transport_free(struct stw_http_transport *t)
{
	if (t == NULL)
		return;
	free(t->url);
	free(t->auth);
	free(t);
}

/* One request of a batch. */
struct req {
	CURL *h;
	struct curl_slist *headers;
	char *body;
	char *answer;
	size_t len;
	int too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct req *r = ud;
	size_t add = size * n;
	if (r->len + add > MAX_ANSWER) {
		r->too_big = 1;
		return 0;
	}
	char *grown = realloc(r->answer, r->len + add + 1);
	if (grown == NULL)
		return 0;
	r->answer = grown;
	memcpy(r->answer + r->len, p, add);
	r->len += add;
	r->answer[r->len] = '\0';
	return add;
}

static struct curl_slist *add_header(struct curl_slist *l, const char *name, const char *value,
				     int *oom)
{
	char line[STW_MAX_ID + 64];
	snprintf(line, sizeof(line), "%s: %s", name, value);
	struct curl_slist *n = curl_slist_append(l, line);
	if (n == NULL)
		*oom = 1;
	return n ? n : l;
}

/* Prepares the request of one command; 0 on success. */
static int prepare(struct stw_http_transport *t, struct stw_delivery_attempt *a, struct req *r)
{
	const struct stw_command *c = a->cmd;
	json_t *body =
	    json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:O, s:i}", "id", c->id, "context", c->context,
		      "type", c->type, "correlation_id", c->correlation_id, "causation_id",
		      c->causation_id, "data", c->data, "attempt", a->attempt);
	r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	r->h = curl_easy_init();
	if (r->body == NULL || r->h == NULL)
		return -1;
	int oom = 0;
	char attempt[16];
	snprintf(attempt, sizeof(attempt), "%d", a->attempt);
	r->headers = add_header(r->headers, "Content-Type", "application/json", &oom);
	r->headers = add_header(r->headers, "Accept", "application/json", &oom);
	r->headers = add_header(r->headers, "Idempotency-Key", c->id, &oom);
	if (c->correlation_id != NULL)
		r->headers = add_header(r->headers, "X-Correlation-Id", c->correlation_id, &oom);
	r->headers = add_header(r->headers, "X-Steward-Attempt", attempt, &oom);
	r->headers = add_header(r->headers, "Expect", "", &oom);
	if (t->auth != NULL) {
		struct curl_slist *n = curl_slist_append(r->headers, t->auth);
		if (n == NULL)
			oom = 1;
		else
			r->headers = n;
	}
	if (oom)
		return -1;
	CURL *h = r->h;
	curl_easy_setopt(h, CURLOPT_URL, t->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, t->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "steward/" STW_VERSION_STRING);
	return 0;
}

/* The reason in an error answer: its "error" or "message" string, else its start. */
static void answer_reason(const struct req *r, long status, char *out, size_t cap)
{
	json_error_t jerr;
	json_t *v = r->answer ? json_loads(r->answer, 0, &jerr) : NULL;
	const char *why = NULL;
	if (json_is_object(v)) {
		json_t *m = json_object_get(v, "message");
		json_t *e = json_object_get(v, "error");
		why = json_is_string(m)   ? json_string_value(m)
		      : json_is_string(e) ? json_string_value(e)
					  : NULL;
	}
	if (why != NULL)
		snprintf(out, cap, "HTTP %ld: %s", status, why);
	else if (r->answer != NULL && r->len > 0)
		snprintf(out, cap, "HTTP %ld: %.200s", status, r->answer);
	else
		snprintf(out, cap, "HTTP %ld", status);
	json_decref(v);
}

/* Fills the attempt's outcome from a finished request. */
static void classify(struct stw_delivery_attempt *a, struct req *r, CURLcode code)
{
	a->events = NULL;
	if (code != CURLE_OK) {
		a->outcome = STW_EUNAVAILABLE;
		if (r->too_big)
			snprintf(a->error, sizeof(a->error), "the answer is larger than %d bytes",
				 MAX_ANSWER);
		else
			snprintf(a->error, sizeof(a->error), "%s",
				 r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
		return;
	}
	long status = 0;
	curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300) {
		if (r->answer == NULL || r->len == 0) {
			a->outcome = STW_OK;
			return;
		}
		json_error_t jerr;
		json_t *v = json_loads(r->answer, 0, &jerr);
		json_t *events = json_is_object(v) ? json_object_get(v, "events") : NULL;
		if (v == NULL || !json_is_object(v) || (events != NULL && !json_is_array(events))) {
			/* Applied, but the answer is not ours to store: the engine parks it. */
			a->outcome = STW_OK;
			a->events = json_string("the answer is not a JSON object with an "
						"array of events");
			json_decref(v);
			return;
		}
		a->outcome = STW_OK;
		a->events = events ? json_incref(events) : NULL;
		json_decref(v);
		return;
	}
	answer_reason(r, status, a->error, sizeof(a->error));
	int transient = status >= 500 || status == 408 || status == 425 || status == 429 ||
			status < 200 || (status >= 300 && status < 400);
	a->outcome = transient ? STW_EUNAVAILABLE : STW_EREJECTED;
}

void stw_http_transport_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	struct stw_http_transport *t = ud;
	struct req *reqs = calloc(n ? n : 1, sizeof(*reqs));
	CURLM *m = curl_multi_init();
	if (reqs == NULL || m == NULL) {
		for (size_t i = 0; i < n; i++) {
			batch[i].outcome = STW_EUNAVAILABLE;
			snprintf(batch[i].error, sizeof(batch[i].error), "out of memory");
		}
		free(reqs);
		if (m != NULL)
			curl_multi_cleanup(m);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		batch[i].outcome = STW_EUNAVAILABLE;
		if (prepare(t, &batch[i], &reqs[i]) != 0) {
			snprintf(batch[i].error, sizeof(batch[i].error), "out of memory");
			continue;
		}
		curl_easy_setopt(reqs[i].h, CURLOPT_PRIVATE, (char *)&reqs[i]);
		curl_multi_add_handle(m, reqs[i].h);
	}
	int running = 0;
	do {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running > 0)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	} while (running > 0);
	CURLMsg *msg;
	int left = 0;
	while ((msg = curl_multi_info_read(m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *p = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &p);
		struct req *r = (struct req *)p;
		classify(&batch[r - reqs], r, msg->data.result);
	}
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].h != NULL) {
			curl_multi_remove_handle(m, reqs[i].h);
			curl_easy_cleanup(reqs[i].h);
		}
		curl_slist_free_all(reqs[i].headers);
		free(reqs[i].body);
		free(reqs[i].answer);
	}
	curl_multi_cleanup(m);
	free(reqs);
}
