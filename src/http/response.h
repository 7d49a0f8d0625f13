/*
 * response.h - the server's answers: JSON bodies and errors queued on a
 * connection with the security headers every answer carries, the answer a
 * route sets on its request, and the HTTP status of an engine error.
 */
#ifndef STW_HTTP_RESPONSE_H
#define STW_HTTP_RESPONSE_H

#include <microhttpd.h>
#include <stddef.h>

#include "http/request.h"

/* Adds the security headers every answer of the server carries. */
void stw__http_security_headers(struct MHD_Response *resp);

/*
 * Queues an answer of len bytes with its Content-Type, the security headers
 * and, when allow is not NULL, an Allow header. With must_free the response
 * takes buf (malloc'd; freed even on failure); else buf must outlive it (a
 * static or embedded buffer).
 */
enum MHD_Result stw__http_send_buffer(struct MHD_Connection *c, int status, const char *type,
				      char *buf, size_t len, int must_free, const char *allow);

/* Queues a JSON answer; takes v (NULL or unprintable: a 500). */
enum MHD_Result stw__http_send_json(struct MHD_Connection *c, int status, json_t *v,
				    const char *allow);

/* Queues an error answer {error: code, message: msg}. */
enum MHD_Result stw__http_send_error(struct MHD_Connection *c, int status, const char *code,
				     const char *msg, const char *allow);

/* A new error body {error: code, message: msg}, owned by the caller (NULL without memory). */
json_t *stw__http_error_json(const char *code, const char *msg);

/* Answers status with a JSON value (stolen). Returns 1 (handled). */
int stw__http_reply(struct stw__http_request *r, int status, json_t *v);
/* Answers an error {error, message}. Returns 1 (handled). */
int stw__http_error(struct stw__http_request *r, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Answers 405 with an Allow header listing `allow` (a static string). Returns 1. */
int stw__http_wrong_method(struct stw__http_request *r, const char *allow);

/* Answers an engine failure with the status of its code (http/codes.h). Returns 1. */
int stw__http_engine_error(struct stw__http_request *r, int rc);

#endif /* STW_HTTP_RESPONSE_H */
