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

#define COOKIE_NAME   "steward_session"
#define MAX_SESSIONS  64
#define SESSION_MS    (12LL * 3600 * 1000) /* a session lasts 12 hours */
#define SESSION_HEX   64                   /* 32 random bytes */
#define REALM         "Bearer realm=\"steward\""
#define REALM_INVALID "Bearer realm=\"steward\", error=\"invalid_token\""

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

/*
 * 1 when the request does not come from another site. Sec-Fetch-Site, which
 * only the browser sets, decides when present: same-origin, or none (the
 * person typed it). Without it (older browsers, scripts), Origin must be
 * absent or name this very host (the Host header) over http or https. Origin
 * alone is not enough for forms: under Referrer-Policy: no-referrer a
 * browser sends "Origin: null" even on a same-origin form post.
 */
static int same_origin(const struct stw__http_auth_request *q)
{
	if (q->fetch_site != NULL)
		return strcasecmp(q->fetch_site, "same-origin") == 0 ||
		       strcasecmp(q->fetch_site, "none") == 0;
	const char *origin = q->origin;
	if (origin == NULL)
		return 1;
	if (q->host == NULL || *q->host == '\0')
		return 0;
	if (strncasecmp(origin, "http://", 7) == 0)
		origin += 7;
	else if (strncasecmp(origin, "https://", 8) == 0)
		origin += 8;
	else
		return 0; /* "null" (a sandboxed or file page) and anything else */
	return strcasecmp(origin, q->host) == 0;
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
	if (s == NULL || s[0] != '/' || s[1] == '/' || strlen(s) >= STW__HTTP_NEXT_MAX)
		return "/";
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/_.~%-", *p) != NULL))
			return "/";
	return s;
}

/* Answers ------------------------------------------------------------------------------- */

/*
 * Sets the answer: status, Content-Type and a copy of buf, with up to two
 * extra headers (NULL name: none; the values are static or in *ans). 1, or
 * -1 when out of memory.
 */
static int answer(struct stw__http_auth_answer *ans, int status, const char *type, const char *buf,
		  size_t len, const char *h1, const char *v1, const char *h2, const char *v2)
{
	ans->status = status;
	ans->type = type;
	ans->header[0] = h1;
	ans->value[0] = v1;
	ans->header[1] = h2;
	ans->value[1] = v2;
	ans->len = len;
	if ((ans->body = malloc(len + 1)) == NULL)
		return -1;
	memcpy(ans->body, buf, len);
	ans->body[len] = '\0';
	return 1;
}

static int send_value(struct stw__http_auth_answer *ans, int status, json_t *v, const char *h1,
		      const char *v1)
{
	char *s = v ? json_dumps(v, JSON_COMPACT) : NULL;
	json_decref(v);
	if (s == NULL)
		return -1;
	int r = answer(ans, status, "application/json", s, strlen(s), h1, v1, NULL, NULL);
	wipe(s, strlen(s)); /* it may hold a CSRF token */
	free(s);
	return r;
}

static int send_error(struct stw__http_auth_answer *ans, int status, const char *code,
		      const char *msg, const char *h1, const char *v1)
{
	return send_value(ans, status, json_pack("{s:s, s:s}", "error", code, "message", msg), h1,
			  v1);
}

/*
 * The login form (no script, no inline style: it lives under the page's
 * Content-Security-Policy). `next` has passed safe_next, so it needs no
 * escaping.
 */
static int send_login(struct stw__http_auth_answer *ans, int status, const char *next, int wrong)
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
		return -1;
	return answer(ans, status, "text/html; charset=utf-8", html, (size_t)n,
		      status == 401 ? "WWW-Authenticate" : NULL, REALM, NULL, NULL);
}

/* POST /login: checks the token of the form and opens a session. */
static int login(struct stw__http_auth *a, const struct stw__http_auth_request *q,
		 struct stw__http_auth_answer *ans)
{
	if (!same_origin(q))
		return send_error(ans, 403, "forbidden", "a login from another site is refused",
				  NULL, NULL);
	if (!stw__http_media_type_is(q->content_type, "application/x-www-form-urlencoded"))
		return send_error(ans, 415, "unsupported_media_type",
				  "send the login form as application/x-www-form-urlencoded", NULL,
				  NULL);
	if (q->headers_only)
		return 0; /* the form is still to come */
	if (q->len > STW_HTTP_MAX_FORM)
		return send_error(ans, 413, "too_large", "the login form is too large", NULL, NULL);
	char token[STW_TOKEN_MAX + 1], next[STW__HTTP_NEXT_MAX];
	if (form_field(q->body, q->len, "next", next, sizeof(next)) != 1)
		snprintf(next, sizeof(next), "/");
	int got = form_field(q->body, q->len, "token", token, sizeof(token));
	int right = got == 1 && ct_equal(token, strlen(token), a->token, a->token_len);
	wipe(token, sizeof(token));
	if (!right) {
		ans->delay_ms = STW_HTTP_WRONG_DELAY_MS;
		return send_login(ans, 401, next, 1);
	}
	char id[SESSION_HEX + 1], csrf[SESSION_HEX + 1];
	if (session_open(a, id, csrf) != 0)
		return send_error(ans, 500, "internal", "no randomness for a session", NULL, NULL);
	snprintf(ans->cookie, sizeof(ans->cookie),
		 COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld", id,
		 SESSION_MS / 1000);
	snprintf(ans->location, sizeof(ans->location), "%s", safe_next(next));
	wipe(id, sizeof(id));
	wipe(csrf, sizeof(csrf));
	static const char moved[] = "logged in\n";
	return answer(ans, 303, "text/plain; charset=utf-8", moved, sizeof(moved) - 1, "Location",
		      ans->location, "Set-Cookie", ans->cookie);
}

/* The session's CSRF checks of a state-changing request. Returns NULL or why it fails. */
static const char *csrf_refusal(const struct stw__http_auth_request *q, const char *csrf)
{
	if (!same_origin(q))
		return "a state-changing request from another site is refused";
	if (q->csrf == NULL)
		return "X-CSRF-Token is missing (GET /api/session gives it)";
	if (!ct_equal(q->csrf, strlen(q->csrf), csrf, strlen(csrf)))
		return "X-CSRF-Token does not match this session";
	return NULL;
}

static const char clear_cookie[] = COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0";

/* POST /logout: ends the cookie's session (after the same checks as any change). */
static int logout(struct stw__http_auth *a, const struct stw__http_auth_request *q,
		  struct stw__http_auth_answer *ans)
{
	char csrf[SESSION_HEX + 1];
	if (session_find(a, q->cookie, csrf, 0)) {
		const char *why = csrf_refusal(q, csrf);
		wipe(csrf, sizeof(csrf));
		if (why != NULL)
			return send_error(ans, 403, "forbidden", why, NULL, NULL);
		session_find(a, q->cookie, NULL, 1);
	}
	return send_value(ans, 200, json_pack("{s:s}", "status", "logged_out"), "Set-Cookie",
			  clear_cookie);
}

/* GET /api/session: how this request is authenticated, and the CSRF token of a session. */
static int session_info(struct stw__http_auth *a, struct stw__http_auth_answer *ans, enum via via,
			const char *csrf)
{
	json_t *v;
	if (a->token == NULL)
		v = json_pack("{s:s, s:n, s:n}", "auth", "off", "via", "csrf_token");
	else if (via == VIA_COOKIE)
		v = json_pack("{s:s, s:s, s:s}", "auth", "token", "via", "cookie", "csrf_token",
			      csrf);
	else
		v = json_pack("{s:s, s:s, s:n}", "auth", "token", "via", "bearer", "csrf_token");
	return send_value(ans, 200, v, NULL, NULL);
}

int stw__http_auth_decide(struct stw__http_auth *a, const struct stw__http_auth_request *q,
			  struct stw__http_auth_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	char **seg = q->seg;
	int nseg = q->nseg;
	int get = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0;
	int post = strcmp(q->method, "POST") == 0;
	int session_path =
	    nseg == 2 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "session") == 0;
	if (session_path && !get)
		return send_error(ans, 405, "method_not_allowed", "use GET", "Allow", "GET");
	if (a->token == NULL)
		return session_path ? session_info(a, ans, VIA_NONE, NULL) : 0;
	if (nseg == 1 && (strcmp(seg[0], "healthz") == 0 || strcmp(seg[0], "readyz") == 0))
		return 0;
	if (nseg >= 1 && strcmp(seg[0], "static") == 0)
		return 0; /* the page's code and style: public, and the login form needs them */
	if (nseg == 1 && strcmp(seg[0], "login") == 0) {
		if (post)
			return login(a, q, ans);
		if (get)
			return send_login(ans, 200, q->next, 0);
		return send_error(ans, 405, "method_not_allowed", "use GET or POST", "Allow",
				  "GET, POST");
	}
	if (nseg == 1 && strcmp(seg[0], "logout") == 0)
		return post ? logout(a, q, ans)
			    : send_error(ans, 405, "method_not_allowed", "use POST", "Allow",
					 "POST");

	enum via via = VIA_NONE;
	char csrf[SESSION_HEX + 1] = "";
	if (q->authorization != NULL) {
		const char *t = q->authorization;
		int bearer = strncasecmp(t, "Bearer ", 7) == 0;
		if (bearer) {
			t += 7;
			while (*t == ' ')
				t++;
		}
		if (!bearer || !ct_equal(t, strlen(t), a->token, a->token_len)) {
			ans->delay_ms = STW_HTTP_WRONG_DELAY_MS;
			return send_error(ans, 401, "unauthorized", "the bearer token is not right",
					  "WWW-Authenticate", REALM_INVALID);
		}
		via = VIA_BEARER;
	} else if (session_find(a, q->cookie, csrf, 0)) {
		via = VIA_COOKIE;
	}

	int r = 0;
	const char *why;
	if (via == VIA_NONE) {
		int page = nseg == 0 || (strcmp(seg[0], "instances") == 0 && nseg <= 2);
		if (page && get)
			r = send_login(ans, 401, q->url, 0);
		else
			r = send_error(ans, 401, "unauthorized",
				       "log in: send Authorization: Bearer TOKEN, or use the "
				       "page's login form",
				       "WWW-Authenticate", REALM);
	} else if (via == VIA_COOKIE && changes_state(q->method) &&
		   (why = csrf_refusal(q, csrf)) != NULL) {
		r = send_error(ans, 403, "forbidden", why, NULL, NULL);
	} else if (session_path) {
		r = session_info(a, ans, via, csrf);
	}
	wipe(csrf, sizeof(csrf));
	return r;
}

void stw__http_auth_answer_free(struct stw__http_auth_answer *ans)
{
	if (ans->body != NULL) {
		wipe(ans->body, ans->len); /* it may hold a CSRF token */
		free(ans->body);
	}
	wipe(ans, sizeof(*ans)); /* the cookie holds a session id */
}

/* The connection ---------------------------------------------------------------------- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* Queues the guard's answer with the server's security headers. */
static enum MHD_Result queue(struct MHD_Connection *c, const struct stw__http_auth_answer *ans)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(ans->len, ans->body, MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ans->type);
	for (int i = 0; i < 2; i++)
		if (ans->header[i] != NULL)
			MHD_add_response_header(resp, ans->header[i], ans->value[i]);
	stw__http_security_headers(resp);
	enum MHD_Result r = MHD_queue_response(c, (unsigned)ans->status, resp);
	MHD_destroy_response(resp);
	return r;
}

int stw__http_auth_check(struct stw__http_auth *a, struct MHD_Connection *c, const char *method,
			 const char *url, char **seg, int nseg, const char *body, size_t len,
			 unsigned phase, enum MHD_Result *result)
{
	const struct stw__http_auth_request q = {
		.method = method,
		.url = url,
		.seg = seg,
		.nseg = nseg,
		.body = body,
		.len = len,
		.authorization = header(c, "Authorization"),
		.cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE_NAME),
		.content_type = header(c, "Content-Type"),
		.fetch_site = header(c, "Sec-Fetch-Site"),
		.origin = header(c, "Origin"),
		.host = header(c, "Host"),
		.csrf = header(c, "X-CSRF-Token"),
		.next = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "next"),
		.headers_only = (phase & STW_HTTP_AUTH_HEADERS) != 0,
	};
	struct stw__http_auth_answer ans;
	int r = stw__http_auth_decide(a, &q, &ans);
	if (r == 0)
		return 0;
	if (r > 0 && ans.delay_ms > 0 && !(phase & STW_HTTP_AUTH_WAITED)) {
		/* The caller lets the delay pass, holding no thread, and asks again. */
		stw__http_auth_answer_free(&ans);
		return 2;
	}
	*result = r > 0 ? queue(c, &ans) : MHD_NO;
	stw__http_auth_answer_free(&ans);
	return 1;
}
