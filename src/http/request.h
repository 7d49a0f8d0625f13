/*
 * request.h - a request as the routes see it, and the decoding of what a
 * client sends: the path split into percent-decoded UTF-8 segments, the
 * query arguments, the JSON body, and typed query parameters.
 *
 * Everything here is read from outside, so every piece has a size cap and
 * is checked before a route sees it.
 */
#ifndef STW_HTTP_REQUEST_H
#define STW_HTTP_REQUEST_H

#include <stddef.h>

#include <steward.h>

struct MHD_Connection;

/* A request as route callbacks see it. */
struct stw__http_request {
	const char *method;
	char **seg; /* decoded path segments ("/api/x/y" -> "api", "x", "y") */
	int nseg;
	struct MHD_Connection *conn;
	json_t *body;  /* the parsed JSON object, or NULL when there was no body */
	json_t *query; /* decoded query arguments: {name: value} */
	struct stw_engine *engine;
	/*
	 * Contexts that take events from outside although the engine does not
	 * declare them (NULL-terminated; "*" any; NULL none): the daemon's
	 * [contexts] accept.
	 */
	const char *const *accept_contexts;
	/* How long an instance waits with nothing to move it before it is stuck (?stuck=1). */
	int64_t stuck_after_ms;
	/* The answer: set with stw__http_reply / stw__http_error (response.h). */
	int status;
	json_t *reply;
	const char *allow; /* the methods a 405 answer lists (static string) */
};

/* Why a request is refused before it reaches a route. */
struct stw__http_refusal {
	int status;       /* the HTTP status of the answer */
	const char *code; /* its "error" (a static string) */
	char msg[256];    /* its "message" */
};

/* The value of the hexadecimal digit c, or -1. */
int stw__http_hexval(int c);

/*
 * Copies url (a raw path, escapes still in it) into path (cap bytes), splits
 * it at '/' into at most max segments and percent-decodes each in place; seg
 * and *nseg then point into path. Returns 0, or -1 with the refusal in *why:
 * 414 for a URL that does not fit, 404 for more than max segments, 400 for a
 * malformed escape, an encoded NUL or a segment that is not UTF-8.
 */
int stw__http_split_path(const char *url, char *path, size_t cap, char **seg, int max, int *nseg,
			 struct stw__http_refusal *why);

/*
 * Decodes one query argument as the client sent it (escapes and '+' still
 * in it; value NULL for a bare key) and sets it in q as {name: value}.
 * Returns 0, or -1 when it is malformed, too long or not UTF-8 (or q could
 * not take it).
 */
int stw__http_query_add(json_t *q, const char *key, const char *value);

/*
 * Decodes the query arguments of c into a new object {name: value} in *out,
 * which the caller owns. Returns STW_OK; STW_EINVAL with the refusal (400)
 * in *why when an argument is malformed, too long or not UTF-8; STW_ENOMEM.
 * *out is NULL on failure.
 */
int stw__http_read_query(struct MHD_Connection *c, json_t **out, struct stw__http_refusal *why);

/*
 * 1 if a Content-Type header names the media type `type` (case aside, with or
 * without parameters such as charset=utf-8), 0 otherwise (NULL included):
 * application/jsonp is not application/json.
 */
int stw__http_media_type_is(const char *ct, const char *type);

/*
 * Parses a request body of len bytes (len > 0), which must be sent as
 * application/json (ct: its Content-Type header, NULL when absent) and hold
 * a JSON object, into *out (owned by the caller). Returns 0, or -1 with *out
 * NULL and the refusal in *why (415 for another content type, 400 for
 * malformed JSON, a NUL byte or a value that is not an object).
 */
int stw__http_read_body(const char *ct, const char *body, size_t len, json_t **out,
			struct stw__http_refusal *why);

/*
 * Why a request's framing is refused, or NULL, from its Transfer-Encoding
 * and Content-Length headers (NULL when absent): a body is sent with a
 * Content-Length or chunked, never with another transfer coding (gzip,
 * which nothing here decodes) nor with both (two lengths that may disagree:
 * how requests are smuggled past a proxy).
 */
const char *stw__http_framing_refusal(const char *transfer_encoding, const char *content_length);

/* The value of a query parameter, or NULL. */
const char *stw__http_query(struct stw__http_request *r, const char *key);

/*
 * Reads an optional integer query parameter in [lo, hi] (def when absent).
 * Returns -1 after answering 400 when it is malformed, else 0.
 */
int stw__http_query_int(struct stw__http_request *r, const char *key, long long lo, long long hi,
			long long def, long long *out);

#endif /* STW_HTTP_REQUEST_H */
