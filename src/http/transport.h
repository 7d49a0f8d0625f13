/*
 * transport.h - delivering commands to remote services over HTTP (libcurl):
 * the stw_transport_fn of a remote context (see stw_register_remote).
 *
 * Each command is POSTed as JSON {id, context, type, correlation_id,
 * causation_id, data} to the service's URL, with the headers
 * `Idempotency-Key: <command id>`, `X-Correlation-Id` and, when a token is
 * set, `Authorization: Bearer <token>`. A batch is sent concurrently.
 *
 * The answer: 2xx is delivered (a body {"events": [...]} carries the
 * resulting events; an empty body or {} means the service posts them
 * later); 409 and 422, and any 4xx whose body is {"error": "rejected", ...},
 * are a refusal (a domain rule), with the body's "message" (or "error") as
 * the reason. Everything else fails the attempt, retried then parked: 5xx,
 * 408, 425, 429, time-outs and connection failures (the service is not
 * there now) and the other 3xx and 4xx (404: a wrong URL; 401, 403: a
 * missing or wrong token), which name the setting to check.
 */
#ifndef STW_HTTP_TRANSPORT_H
#define STW_HTTP_TRANSPORT_H

#include <steward.h>

struct stw__http_transport_options {
	const char *url;         /* required: http:// or https:// */
	const char *token;       /* NULL: no Authorization header; copied */
	long connect_timeout_ms; /* 0: 2000 */
	long timeout_ms;         /* the whole request; 0: 10000 */
};

struct stw__http_transport;

/* Creates a transport (copies the options); NULL with a message in err on failure. */
struct stw__http_transport *stw__http_transport_new(const struct stw__http_transport_options *o,
						    char *err, size_t cap);
void stw__http_transport_free(struct stw__http_transport *t);

/* The stw_transport_fn: `ud` is a struct stw__http_transport. */
void stw__http_transport_send(struct stw_delivery_attempt *batch, size_t n, void *ud);

#endif /* STW_HTTP_TRANSPORT_H */
