/*
 * transport.c - the HTTP transport of remote contexts (see transport.h): a
 * batch of commands is POSTed concurrently with libcurl's multi interface,
 * each request made by the client of client.h, and each answer is
 * classified as delivered, refused or failed.
 */
#include "http/transport.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/client.h"

#define MAX_ANSWER                 (4 << 20) /* a larger answer body is a failure */
#define DEFAULT_CONNECT_TIMEOUT_MS 2000L
#define DEFAULT_TIMEOUT_MS         10000L

struct stw__http_transport {
	char *url;
	char *token; /* the bearer token sent, or NULL */
	long connect_timeout_ms;
	long timeout_ms;
};

struct stw__http_transport *stw__http_transport_new(const struct stw__http_transport_options *o,
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
	/* A failure shows later, as requests that cannot be made. */
	(void)stw__http_global_init();
	struct stw__http_transport *t = calloc(1, sizeof(*t));
	if (t == NULL || (t->url = strdup(o->url)) == NULL)
		goto oom;
	if (o->token != NULL && *o->token != '\0' && (t->token = strdup(o->token)) == NULL)
		goto oom;
	t->connect_timeout_ms =
	    o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	t->timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	return t;
oom:
	snprintf(err, cap, "out of memory");
	stw__http_transport_free(t);
	return NULL;
}

void stw__http_transport_free(struct stw__http_transport *t)
{
	if (t == NULL)
		return;
	free(t->url);
	free(t->token);
	free(t);
}

/* One request of a batch. */
struct req {
	struct stw__http_call call;
	char *body;
};

/* Prepares the request of one command; 0 on success. */
static int prepare(struct stw__http_transport *t, struct stw_delivery_attempt *a, struct req *r)
{
	const struct stw_command *c = a->cmd;
	json_t *body =
	    json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:O, s:i}", "id", c->id, "context", c->context,
		      "type", c->type, "correlation_id", c->correlation_id, "causation_id",
		      c->causation_id, "data", c->data, "attempt", a->attempt);
	r->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	struct stw__http_call_options o = {
		.url = t->url,
		.connect_timeout_ms = t->connect_timeout_ms,
		.timeout_ms = t->timeout_ms,
		.max_answer = MAX_ANSWER,
	};
	if (stw__http_call_init(&r->call, &o) != 0 || r->body == NULL)
		return -1;
	struct stw__http_call *h = &r->call;
	char attempt[16];
	snprintf(attempt, sizeof(attempt), "%d", a->attempt);
	int oom = stw__http_call_header(h, "Content-Type", "application/json") |
		  stw__http_call_header(h, "Accept", "application/json") |
		  stw__http_call_header(h, "Idempotency-Key", c->id);
	if (c->correlation_id != NULL)
		oom |= stw__http_call_header(h, "X-Correlation-Id", c->correlation_id);
	oom |= stw__http_call_header(h, "X-Steward-Attempt", attempt) |
	       stw__http_call_header(h, "Expect", "");
	if (t->token != NULL)
		oom |= stw__http_call_bearer(h, t->token);
	if (oom)
		return -1;
	stw__http_call_post(h, r->body, strlen(r->body));
	return 0;
}

/* The answer's body as a JSON object (a new reference), or NULL. */
static json_t *answer_object(const struct req *r)
{
	json_error_t jerr;
	json_t *v = r->call.answer ? json_loads(r->call.answer, 0, &jerr) : NULL;
	if (json_is_object(v))
		return v;
	json_decref(v);
	return NULL;
}

/* The reason in an error answer: its "message" or "error" string, else its start. */
static void answer_reason(const struct req *r, json_t *body, long status, char *out, size_t cap)
{
	json_t *m = json_object_get(body, "message");
	json_t *e = json_object_get(body, "error");
	const char *why = json_is_string(m)   ? json_string_value(m)
			  : json_is_string(e) ? json_string_value(e)
					      : NULL;
	if (why != NULL)
		snprintf(out, cap, "HTTP %ld: %s", status, why);
	else if (r->call.answer != NULL && r->call.len > 0)
		snprintf(out, cap, "HTTP %ld: %.200s", status, r->call.answer);
	else
		snprintf(out, cap, "HTTP %ld", status);
}

/*
 * Whether an error answer refuses the command by a domain rule: 409 and 422,
 * or any 4xx whose body says {"error": "rejected"} (as Steward's own API
 * answers a refusal). Any other answer says that the command did not reach
 * a service able to judge it: a 404 (no such route: a wrong URL), a 401 or
 * 403 (a missing or wrong token), another 4xx (a request the service does
 * not take), a 3xx (redirects are not followed), a 5xx or a 408, 425 or 429
 * (try later). Those are faults of the configuration or of the moment:
 * retried, then parked until a person fixes them and redelivers.
 */
static int refuses(json_t *body, long status)
{
	if (status == 409 || status == 422)
		return 1;
	json_t *e = json_object_get(body, "error");
	return status >= 400 && status < 500 && json_is_string(e) &&
	       strcmp(json_string_value(e), "rejected") == 0;
}

/* What a person should look at after an answer that is a fault of the configuration. */
static const char *setting_to_check(long status)
{
	if (status == 404 || (status >= 300 && status < 400))
		return "url";
	if (status == 401 || status == 403)
		return "token_file";
	return NULL;
}

/* Fills the attempt's outcome from a finished request. */
static void classify(struct stw_delivery_attempt *a, struct req *r, CURLcode code)
{
	a->events = NULL;
	if (code != CURLE_OK) {
		a->outcome = STW_EUNAVAILABLE;
		if (r->call.too_large)
			snprintf(a->error, sizeof(a->error), "the answer is larger than %d bytes",
				 MAX_ANSWER);
		else
			snprintf(a->error, sizeof(a->error), "%s",
				 stw__http_call_error(&r->call, code));
		return;
	}
	long status = stw__http_call_status(&r->call);
	if (status >= 200 && status < 300) {
		if (r->call.answer == NULL || r->call.len == 0) {
			a->outcome = STW_OK;
			return;
		}
		json_error_t jerr;
		json_t *v = json_loads(r->call.answer, 0, &jerr);
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
	json_t *body = answer_object(r);
	answer_reason(r, body, status, a->error, sizeof(a->error));
	a->outcome = refuses(body, status) ? STW_EREJECTED : STW_EUNAVAILABLE;
	json_decref(body);
	const char *check = a->outcome == STW_EUNAVAILABLE ? setting_to_check(status) : NULL;
	size_t len = strlen(a->error);
	if (check != NULL && len < sizeof(a->error))
		snprintf(a->error + len, sizeof(a->error) - len, " (check the %s of remote %s)",
			 check, a->cmd->context);
}

void stw__http_transport_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	struct stw__http_transport *t = ud;
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
		curl_easy_setopt(reqs[i].call.easy, CURLOPT_PRIVATE, (char *)&reqs[i]);
		curl_multi_add_handle(m, reqs[i].call.easy);
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
		if (reqs[i].call.easy != NULL)
			curl_multi_remove_handle(m, reqs[i].call.easy);
		stw__http_call_cleanup(&reqs[i].call);
		free(reqs[i].body);
	}
	curl_multi_cleanup(m);
	free(reqs);
}
