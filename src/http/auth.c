/*
 * auth.c - the daemon's request guard (auth.h, docs/API.md "Authentication").
 *
 * Sessions are random ids kept in memory, not values derived from the token:
 * logging out really ends a session, a stolen cookie never reveals the
 * token, and a restart ends every session. Each session has its own random
 * CSRF token, which the page reads from GET /api/session and sends back in
 * X-CSRF-Token on every state-changing request.
 */
#include "http/auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <steward.h>

#include "http/request.h"
#include "http/response.h"

#define COOKIE_NAME    "steward_session"
#define MAX_SESSIONS   64
#define SESSION_MS     (12LL * 3600 * 1000) /* a session lasts 12 hours */
#define SESSION_HEX    64                   /* 32 random bytes */
#define WRONG_DELAY_MS 500                  /* after a wrong token */
#define MAX_FORM       8192                 /* the login form's body */
#define MAX_NEXT       512                  /* the page to return to */
#define REALM          "Bearer realm=\"steward\""
#define REALM_INVALID  "Bearer realm=\"steward\", error=\"invalid_token\""

struct session {
	char id[SESSION_HEX + 1];   /* the cookie's value; "" for a free slot */
	char csrf[SESSION_HEX + 1]; /* what X-CSRF-Token must carry */
	int64_t expires_ms;         /* monotonic */
};

struct stw__http_auth {
	char *token; /* NULL: the server is open */
	size_t token_len;
	pthread_mutex_t lock; /* guards sessions */
	struct session sessions[MAX_SESSIONS];
};

enum via { VIA_NONE, VIA_BEARER, VIA_COOKIE };

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Compares a presented secret with the expected one in time that depends
 * only on the presented length, never on where they differ.
 */
static int ct_equal(const char *given, size_t glen, const char *want, size_t wlen)
{
	volatile unsigned diff = glen != wlen;
	for (size_t i = 0; i < glen; i++)
		diff |= (unsigned char)given[i] ^ (unsigned char)(wlen ? want[i % wlen] : 0);
	return diff == 0;
}

/* Wipes a secret so that the compiler cannot drop the stores. */
static void wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;
	while (n--)
		*v++ = 0;
}

/* Fills out with 64 hex digits of fresh randomness. Returns 0 or -1. */
static int random_hex(char out[SESSION_HEX + 1])
{
	unsigned char b[SESSION_HEX / 2];
	size_t got = 0;
	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < sizeof(b); i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[SESSION_HEX] = '\0';
	wipe(b, sizeof(b));
	return 0;
}

int stw__http_auth_new(const char *token, struct stw__http_auth **out, char *err, size_t cap)
{
	*out = NULL;
	size_t n = token ? strlen(token) : 0;
	for (size_t i = 0; i < n; i++)
		if (token[i] < 0x21 || token[i] > 0x7e) {
			snprintf(err, cap, "the token may hold only visible ASCII characters");
			return -1;
		}
	if (n > 0 && (n < STW_TOKEN_MIN || n > STW_TOKEN_MAX)) {
		snprintf(err, cap, "the token must be %d to %d characters long", STW_TOKEN_MIN,
			 STW_TOKEN_MAX);
		return -1;
	}
	struct stw__http_auth *a = calloc(1, sizeof(*a));
	if (a == NULL || (n > 0 && (a->token = strdup(token)) == NULL)) {
		free(a);
		snprintf(err, cap, "out of memory");
		return -1;
	}
	a->token_len = n;
	pthread_mutex_init(&a->lock, NULL);
	*out = a;
	return 0;
}

void stw__http_auth_free(struct stw__http_auth *a)
{
	if (a == NULL)
		return;
	if (a->token != NULL) {
		wipe(a->token, a->token_len);
		free(a->token);
	}
	wipe(a->sessions, sizeof(a->sessions));
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Sessions ---------------------------------------------------------------------------- */

/*
 * Opens a session: a free or expired slot, else the one closest to its end.
 * Copies its id and CSRF token out. Returns 0, or -1 without randomness.
 */
static int session_open(struct stw__http_auth *a, char id[SESSION_HEX + 1],
			char csrf[SESSION_HEX + 1])
{
	if (random_hex(id) != 0 || random_hex(csrf) != 0)
		return -1;
	int64_t now = mono_ms();
	pthread_mutex_lock(&a->lock);
	int pick = 0;
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		if (s->id[0] == '\0' || s->expires_ms <= now) {
			pick = i;
			break;
		}
		if (s->expires_ms < a->sessions[pick].expires_ms)
			pick = i;
	}
	struct session *s = &a->sessions[pick];
	memcpy(s->id, id, sizeof(s->id));
	memcpy(s->csrf, csrf, sizeof(s->csrf));
	s->expires_ms = now + SESSION_MS;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/*
 * Finds the live session of a cookie value, comparing against every slot in
 * constant time. Copies its CSRF token into csrf (when not NULL); with drop,
 * ends it. Returns 1 when found.
 */
static int session_find(struct stw__http_auth *a, const char *cookie, char csrf[SESSION_HEX + 1],
			int drop)
{
	if (cookie == NULL)
		return 0;
	size_t n = strlen(cookie);
	if (n != SESSION_HEX)
		return 0;
	int64_t now = mono_ms();
	int found = -1;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < MAX_SESSIONS; i++) {
		struct session *s = &a->sessions[i];
		int match = ct_equal(cookie, n, s->id, strlen(s->id));
		if (match && s->expires_ms > now)
			found = i;
	}
	if (found >= 0 && csrf != NULL)
		memcpy(csrf, a->sessions[found].csrf, SESSION_HEX + 1);
	if (found >= 0 && drop)
		wipe(&a->sessions[found], sizeof(a->sessions[found]));
	pthread_mutex_unlock(&a->lock);
	return found >= 0;
}

/* Requests ----------------------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/*
 * 1 when the request does not come from another site. Sec-Fetch-Site, which
 * only the browser sets, decides when present: same-origin, or none (the
 * person typed it). Without it (older browsers, scripts), Origin must be
 * absent or name this very host (the Host header) over http or https. Origin
 * alone is not enough for forms: under Referrer-Policy: no-referrer a
 * browser sends "Origin: null" even on a same-origin form post.
 */
static int same_origin(struct MHD_Connection *c)
{
	const char *site = header(c, "Sec-Fetch-Site");
	if (site != NULL)
		return strcasecmp(site, "same-origin") == 0 || strcasecmp(site, "none") == 0;
	const char *origin = header(c, "Origin");
	if (origin == NULL)
		return 1;
	const char *host = header(c, "Host");
	if (host == NULL || *host == '\0')
		return 0;
	if (strncasecmp(origin, "http://", 7) == 0)
		origin += 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		origin += 8;
	else
		return 0; /* "null" (a sandboxed or file page) and anything else */
	return strcasecmp(origin, host) == 0;
}

/* 1 when the method may change something (anything but GET, HEAD and OPTIONS). */
static int changes_state(const char *method)
{
	return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
	       strcmp(method, "OPTIONS") != 0;
}

/*
 * Reads field `name` of an application/x-www-form-urlencoded body into out
 * (decoded, NUL-terminated). Returns 1 when found and it fits, 0 when absent,
 * -1 when malformed or longer than cap - 1 bytes.
 */
static int form_field(const char *body, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	size_t i = 0;
	while (i < len) {
		size_t end = i;
		while (end < len && body[end] != '&')
			end++;
		if (end - i > nlen && memcmp(body + i, name, nlen) == 0 && body[i + nlen] == '=') {
			size_t w = 0;
			for (size_t p = i + nlen + 1; p < end; p++) {
				int ch = (unsigned char)body[p];
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					int hi = p + 2 < end
						     ? stw__http_hexval((unsigned char)body[p + 1])
						     : -1;
					int lo = hi < 0
						     ? -1
						     : stw__http_hexval((unsigned char)body[p + 2]);
					if (hi < 0 || lo < 0)
						return -1;
					ch = hi * 16 + lo;
					p += 2;
				}
				if (ch == 0 || w + 1 >= cap)
					return -1;
				out[w++] = (char)ch;
			}
			out[w] = '\0';
			return 1;
		}
		i = end + 1;
	}
	return 0;
}

/*
 * Where to go after logging in: a local path of plain characters, never
 * another site ("//host", "/\host"); anything else is "/".
 */
static const char *safe_next(const char *s)
{
	if (s == NULL || s[0] != '/' || s[1] == '/' || strlen(s) >= MAX_NEXT)
		return "/";
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_.~%-", *p) != NULL))
			return "/";
	return s;
}

/* Answers ------------------------------------------------------------------------------- */

/*
 * Queues an answer with the server's security headers and up to two extra
 * headers (NULL name: none). buf is copied.
 */
static enum MHD_Result answer(struct MHD_Connection *c, int status, const char *type,
			      const char *buf, size_t len, const char *h1, const char *v1,
			      const char *h2, const char *v2)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(len, (void *)buf, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	if (h1 != NULL)
		MHD_add_response_header(resp, h1, v1);
	if (h2 != NULL)
		MHD_add_response_header(resp, h2, v2);
	stw__http_security_headers(resp);
	enum MHD_Result r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result send_value(struct MHD_Connection *c, int status, json_t *v, const char *h1,
				  const char *v1, const char *h2, const char *v2)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (s == NULL)
		return MHD_NO;
	enum MHD_Result r = answer(c, status, "application/json", s, strlen(s), h1, v1, h2, v2);
	wipe(s, strlen(s)); /* it may hold a CSRF token */
	free(s);
	return r;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *code,
				  const char *msg, const char *h1, const char *v1)
{
	return send_value(c, status, json_pack("{s:s, s:s}", "error", code, "message", msg), h1, v1,
			  NULL, NULL);
}

/*
 * The login form (no script, no inline style: it lives under the page's
 * Content-Security-Policy). `next` has passed safe_next, so it needs no
 * escaping.
 */
static enum MHD_Result send_login(struct MHD_Connection *c, int status, const char *next, int wrong)
{
	char html[4096];
	int n = snprintf(
	    html, sizeof(html),
	    "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>Log in \xc2\xb7 Steward</title>\n<link rel=\"icon\" href=\"data:,\">\n"
	    "<link rel=\"stylesheet\" href=\"/static/style.css\">\n</head>\n<body>\n"
	    "<header class=\"top\"><a class=\"brand\" href=\"/\">Steward</a></header>\n"
	    "<main id=\"main\" class=\"login\">\n<h1>Log in</h1>\n"
	    "<p>This daemon asks for its access token (the one it was started with).</p>\n"
	    "%s"
	    "<form class=\"login-form\" method=\"post\" action=\"/login\">\n"
	    "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
	    "<div class=\"field\"><label for=\"token\">Token</label>\n"
	    "<input id=\"token\" name=\"token\" type=\"password\" "
	    "autocomplete=\"current-password\" "
	    "required autofocus></div>\n"
	    "<button type=\"submit\">Log in</button>\n</form>\n</main>\n</body>\n</html>\n",
	    wrong ? "<p class=\"login-error\" role=\"alert\">That token is not right.</p>\n" : "",
	    safe_next(next));
	if (n < 0 || (size_t)n >= sizeof(html))
		return MHD_NO;
	return answer(c, status, "text/html; charset=utf-8", html, (size_t)n,
		      status == 401 ? "WWW-Authenticate" : NULL, REALM, NULL, NULL);
}

/* POST /login: checks the token of the form and opens a session. */
static enum MHD_Result login(struct stw__http_auth *a, struct MHD_Connection *c, const char *body,
			     size_t len)
{
	if (!same_origin(c))
		return send_error(c, 403, "forbidden", "a login from another site is refused", NULL,
				  NULL);
	const char *ct = header(c, "Content-Type");
	if (!stw__http_media_type_is(ct, "application/x-www-form-urlencoded"))
		return send_error(c, 415, "unsupported_media_type",
				  "send the login form as application/x-www-form-urlencoded", NULL,
				  NULL);
	if (len > MAX_FORM)
		return send_error(c, 413, "too_large", "the login form is too large", NULL, NULL);
	char token[STW_TOKEN_MAX + 1], next[MAX_NEXT];
	if (form_field(body, len, "next", next, sizeof(next)) != 1)
		snprintf(next, sizeof(next), "/");
	int got = form_field(body, len, "token", token, sizeof(token));
	int right = got == 1 && ct_equal(token, strlen(token), a->token, a->token_len);
	wipe(token, sizeof(token));
	if (!right) {
		sleep_ms(WRONG_DELAY_MS);
		return send_login(c, 401, next, 1);
	}
	char id[SESSION_HEX + 1], csrf[SESSION_HEX + 1];
	if (session_open(a, id, csrf) != 0)
		return send_error(c, 500, "internal", "no randomness for a session", NULL, NULL);
	char cookie[160];
	snprintf(cookie, sizeof(cookie),
		 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld", id,
		 SESSION_MS / 1000);
	wipe(id, sizeof(id));
	wipe(csrf, sizeof(csrf));
	static const char moved[] = "logged in\n";
	enum MHD_Result r = answer(c, 303, "text/plain; charset=utf-8", moved, sizeof(moved) - 1,
				   "Location", safe_next(next), "Set-Cookie", cookie);
	wipe(cookie, sizeof(cookie));
	return r;
}

/* The session's CSRF checks of a state-changing request. Returns NULL or why it fails. */
static const char *csrf_refusal(struct MHD_Connection *c, const char *csrf)
{
	if (!same_origin(c))
		return "a state-changing request from another site is refused";
	const char *sent = header(c, "X-CSRF-Token");
	if (sent == NULL)
		return "X-CSRF-Token is missing (GET /api/session gives it)";
	if (!ct_equal(sent, strlen(sent), csrf, strlen(csrf)))
		return "X-CSRF-Token does not match this session";
	return NULL;
}

static const char clear_cookie[] = COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";

/* POST /logout: ends the cookie's session (after the same checks as any change). */
static enum MHD_Result logout(struct stw__http_auth *a, struct MHD_Connection *c)
{
	const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME);
	char csrf[SESSION_HEX + 1];
	if (session_find(a, cookie, csrf, 0)) {
		const char *why = csrf_refusal(c, csrf);
		wipe(csrf, sizeof(csrf));
		if (why != NULL)
			return send_error(c, 403, "forbidden", why, NULL, NULL);
		session_find(a, cookie, NULL, 1);
	}
	return send_value(c, 200, json_pack("{s:s}", "status", "logged_out"), "Set-Cookie",
			  clear_cookie, NULL, NULL);
}

/* GET /api/session: how this request is authenticated, and the CSRF token of a session. */
static enum MHD_Result session_info(struct stw__http_auth *a, struct MHD_Connection *c,
				    enum via via, const char *csrf)
{
	json_t *v;
	if (a->token == NULL)
		v = json_pack("{s:s, s:n, s:n}", "auth", "off", "via", "csrf_token");
	else if (via == VIA_COOKIE)
		v = json_pack("{s:s, s:s, s:s}", "auth", "token", "via", "cookie", "csrf_token",
			      csrf);
	else
		v = json_pack("{s:s, s:s, s:n}", "auth", "token", "via", "bearer", "csrf_token");
	return send_value(c, 200, v, NULL, NULL, NULL, NULL);
}

int stw__http_auth_check(struct stw__http_auth *a, struct MHD_Connection *c, const char *method,
			 const char *url, char **seg, int nseg, const char *body, size_t len,
			 enum MHD_Result *result)
{
	int get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	int session_path =
	    nseg == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "session") == 0;
	if (session_path && !get) {
		*result = send_error(c, 405, "method_not_allowed", "use GET", "Allow", "GET");
		return 1;
	}
	if (a->token == NULL) {
		if (!session_path)
			return 0;
		*result = session_info(a, c, VIA_NONE, NULL);
		return 1;
	}
	if (nseg == 1 && (strcmp(seg[0], "healthz") == 0 || strcmp(seg[0], "readyz") == 0))
		return 0;
	if (nseg >= 1 && strcmp(seg[0], "static") == 0)
		return 0; /* the page's code and style: public, and the login form needs them */
	if (nseg == 1 && strcmp(seg[0], "login") == 0) {
		if (strcmp(method, "POST") == 0)
			*result = login(a, c, body, len);
		else if (get)
			*result = send_login(
			    c, 200, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "next"),
			    0);
		else
			*result = send_error(c, 405, "method_not_allowed", "use GET or POST",
					     "Allow", "GET, POST");
		return 1;
	}
	if (nseg == 1 && strcmp(seg[0], "logout") == 0) {
		*result = strcmp(method, "POST") == 0 ? logout(a, c)
						      : send_error(c, 405, "method_not_allowed",
								   "use POST", "Allow", "POST");
		return 1;
	}

	enum via via = VIA_NONE;
	char csrf[SESSION_HEX + 1] = "";
	const char *authz = header(c, "Authorization");
	if (authz != NULL) {
		const char *t = authz;
		int bearer = strncasecmp(t, "Bearer ", 7) == 0;
		if (bearer) {
			t += 7;
			while (*t == ' ')
				t++;
		}
		if (!bearer || !ct_equal(t, strlen(t), a->token, a->token_len)) {
			sleep_ms(WRONG_DELAY_MS);
			*result =
			    send_error(c, 401, "unauthorized", "the bearer token is not right",
				       "WWW-Authenticate", REALM_INVALID);
			return 1;
		}
		via = VIA_BEARER;
	} else if (session_find(a, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME),
				csrf, 0)) {
		via = VIA_COOKIE;
	}

	if (via == VIA_NONE) {
		int page = nseg == 0 || (strcmp(seg[0], "instances") == 0 && nseg <= 2);
		if (page && get)
			*result = send_login(c, 401, url, 0);
		else
			*result = send_error(c, 401, "unauthorized",
					     "log in: send Authorization: Bearer TOKEN, or use the "
					     "page's login form",
					     "WWW-Authenticate", REALM);
		return 1;
	}
	if (via == VIA_COOKIE && changes_state(method)) {
		const char *why = csrf_refusal(c, csrf);
		if (why != NULL) {
			wipe(csrf, sizeof(csrf));
			*result = send_error(c, 403, "forbidden", why, NULL, NULL);
			return 1;
		}
	}
	if (session_path) {
		*result = session_info(a, c, via, csrf);
		wipe(csrf, sizeof(csrf));
		return 1;
	}
	wipe(csrf, sizeof(csrf));
	return 0;
}
