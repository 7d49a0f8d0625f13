/*
 * auth.h - who may use the daemon's API and page (docs/API.md,
 * "Authentication"): a bearer token, browser sessions opened with it through
 * a login form, and the cross-site request checks of cookie sessions.
 *
 * Off (NULL token) everything is open, as before. On, every request but
 * /healthz, /static/ and the login form needs `Authorization: Bearer TOKEN`
 * or a session cookie; a state-changing request on a cookie also needs the
 * session's X-CSRF-Token and must not come from another site. The token and
 * the session ids are never printed.
 */
#ifndef STW_HTTP_AUTH_H
#define STW_HTTP_AUTH_H

#include <microhttpd.h>
#include <stddef.h>

/* Limits of a bearer token: visible ASCII (no space), this many bytes. */
#define STW_TOKEN_MIN 16
#define STW_TOKEN_MAX 1024

/* The login form's body, at most (POST /login; 413 past it). */
#define STW_HTTP_MAX_FORM 8192

/* How long a wrong token waits for its answer (brute force gets slow). */
#define STW_HTTP_WRONG_DELAY_MS 500

/* What stw__http_auth_check knows of the request (flags). */
#define STW_HTTP_AUTH_HEADERS 1u /* its headers only: the body is not read yet */
#define STW_HTTP_AUTH_WAITED  2u /* a wrong token waited its delay already */

struct stw__http_auth;

/*
 * Creates the request guard. token NULL (or "") leaves the server open; else
 * it is copied and must hold STW_TOKEN_MIN..STW_TOKEN_MAX visible ASCII
 * characters. Returns 0, or -1 with the reason in err. Free with
 * stw__http_auth_free.
 */
int stw__http_auth_new(const char *token, struct stw__http_auth **out, char *err, size_t cap);
/* Frees the guard and forgets every session (the token is wiped). Accepts NULL. */
void stw__http_auth_free(struct stw__http_auth *a);

/* The longest page a login returns to (the form's or the query's `next`), NUL included. */
#define STW__HTTP_NEXT_MAX 512

/* What the guard reads of a request. A header it did not send is NULL. */
struct stw__http_auth_request {
	const char *method;
	const char *url; /* the raw path */
	char **seg;      /* its decoded segments */
	int nseg;
	const char *body; /* len bytes, not NUL-terminated */
	size_t len;
	const char *authorization; /* Authorization */
	const char *cookie;        /* the value of the session cookie */
	const char *content_type;  /* Content-Type */
	const char *fetch_site;    /* Sec-Fetch-Site */
	const char *origin;        /* Origin */
	const char *host;          /* Host */
	const char *csrf;          /* X-CSRF-Token */
	const char *next;          /* the query argument `next`, escapes still in it */
	/* Only the headers have arrived (body NULL): a login form goes on to its body. */
	int headers_only;
};

/* The guard's own answer to a request. */
struct stw__http_auth_answer {
	int status;
	const char *type; /* its Content-Type (a static string) */
	char *body;       /* len bytes (NUL-terminated), owned */
	size_t len;
	/* Up to two more headers (NULL name: none); the values are static or below. */
	const char *header[2], *value[2];
	char cookie[160];                  /* the Set-Cookie of a login */
	char location[STW__HTTP_NEXT_MAX]; /* the Location of a login */
	long delay_ms;                     /* wait this long before answering (a wrong token) */
};

/*
 * Decides on one request before it is routed, from what it sent (no
 * connection, no waiting: a wrong token only sets ans->delay_ms). Returns 0
 * when the request may go on to the router (*ans then holds nothing), 1
 * when the guard answers it itself (401, 403, the login form, /login,
 * /logout, /api/session) with the answer in *ans, -1 when out of memory.
 * Free *ans with stw__http_auth_answer_free whatever the result.
 * Thread-safe.
 */
int stw__http_auth_decide(struct stw__http_auth *a, const struct stw__http_auth_request *q,
			  struct stw__http_auth_answer *ans);

/* Releases an answer of stw__http_auth_decide, wiping it (it may hold a session id). */
void stw__http_auth_answer_free(struct stw__http_auth_answer *ans);

/*
 * Checks one request of connection c before it is routed: reads what
 * stw__http_auth_decide needs from c (`seg` are the decoded path segments,
 * `url` the raw path, `body` the request body, len bytes, not
 * NUL-terminated) and queues the guard's answer. It is called twice: once
 * the headers have arrived (phase STW_HTTP_AUTH_HEADERS, body NULL), so that
 * a request that is not allowed is refused before its body is read, and
 * again with the body. Returns 0 when the request may go on (to its body,
 * or to the router), 1 when the guard answered it, with the result of
 * queueing the answer in *result, or 2 for a wrong token: the caller lets
 * STW_HTTP_WRONG_DELAY_MS pass, holding no thread, and calls again with
 * STW_HTTP_AUTH_WAITED, which answers 401. Thread-safe.
 */
int stw__http_auth_check(struct stw__http_auth *a, struct MHD_Connection *c, const char *method,
			 const char *url, char **seg, int nseg, const char *body, size_t len,
			 unsigned phase, enum MHD_Result *result);

#endif /* STW_HTTP_AUTH_H */
