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

/*
 * Checks one request before it is routed: `seg` are its decoded path
 * segments, `url` its raw path, `body` the request body (len bytes, not
 * NUL-terminated). Returns 0 when the request may go on to the router, or 1
 * when the guard answered it itself (401, 403, the login form, /login,
 * /logout, /api/session), with the result of queueing the answer in *result.
 * Thread-safe.
 */
int stw__http_auth_check(struct stw__http_auth *a, struct MHD_Connection *c, const char *method,
			 const char *url, char **seg, int nseg, const char *body, size_t len,
			 enum MHD_Result *result);

#endif /* STW_HTTP_AUTH_H */
