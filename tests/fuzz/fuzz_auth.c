/*
 * fuzz_auth.c - the request guard (src/http/auth.c): the Authorization
 * header, the session cookie, the login form (application/x-www-form-
 * urlencoded) and its `next` page, the Origin, Host and Sec-Fetch-Site
 * checks and the X-CSRF-Token of cookie sessions, decided by
 * stw__http_auth_decide as the server decides them.
 *
 * Input: lines MODE, METHOD, PATH, Authorization, Cookie (the session
 * cookie's value), Content-Type, Sec-Fetch-Site, Origin, Host, X-CSRF-Token,
 * next (an empty line: no such header), then the body. MODE "open" runs the
 * guard without a token; "session" logs in with the right token first
 * (POST /login) and reads the session's CSRF token (GET /api/session), and
 * then a Cookie or X-CSRF-Token line "=" stands for that session's; any
 * other mode runs the guard with a token and no session. Every input has a
 * guard of its own, so no session outlives it.
 *
 * Proves: no input crashes, leaks or reaches undefined behaviour; an answer
 * has a known status and a body; the token never appears in an answer; a
 * login sends the person to a page of this site only (Location: one '/',
 * then plain characters), and only a login (POST /login) opens a session.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "http/auth.h"
#include "http/request.h"

/* '!' is a visible character that no answer reflects (safe_next refuses it). */
#define TOKEN        "fuzz!token!0123456789abcdef"
#define MAX_SEGMENTS 16 /* as the server */

/* Decides one request and checks the answer (the caller frees it). */
static int decide(struct stw__http_auth *a, const struct stw__http_auth_request *q,
		  struct stw__http_auth_answer *ans)
{
	int r = stw__http_auth_decide(a, q, ans);
	FZ_CHECK(r >= -1 && r <= 1);
	if (r != 1)
		return r;
	static const int known[] = { 200, 303, 401, 403, 405, 413, 415, 500 };
	int is_known = 0;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		is_known |= ans->status == known[i];
	FZ_CHECK(is_known);
	FZ_CHECK(ans->type != NULL && ans->body != NULL && strlen(ans->body) == ans->len);
	FZ_CHECK(strstr(ans->body, TOKEN) == NULL);
	for (int i = 0; i < 2; i++) {
		if (ans->header[i] == NULL)
			continue;
		FZ_CHECK(ans->value[i] != NULL && strstr(ans->value[i], TOKEN) == NULL);
		if (strcmp(ans->header[i], "Location") == 0) {
			const char *l = ans->value[i];
			FZ_CHECK(l[0] == '/' && l[1] != '/' && strchr(l, '\\') == NULL);
			FZ_CHECK(strspn(l, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789/_.~%-") == strlen(l));
		}
		if (strcmp(ans->header[i], "Set-Cookie") == 0 && ans->status == 303)
			FZ_CHECK(strncmp(ans->value[i], "steward_session=", 16) == 0);
	}
	return r;
}

/* The session of a right login: its id into id, its CSRF token into csrf. */
static void open_session(struct stw__http_auth *a, char *id, size_t idcap, char *csrf,
			 size_t csrfcap)
{
	char login[] = "login", api[] = "api", session[] = "session";
	char *login_seg[] = { login };
	static const char form[] = "next=%2Finstances&token=" TOKEN;
	struct stw__http_auth_request q = {
		.method = "POST",
		.url = "/login",
		.seg = login_seg,
		.nseg = 1,
		.body = form,
		.len = sizeof(form) - 1,
		.content_type = "application/x-www-form-urlencoded",
	};
	struct stw__http_auth_answer ans;
	FZ_CHECK(decide(a, &q, &ans) == 1 && ans.status == 303);
	const char *v = ans.cookie + strlen("steward_session=");
	snprintf(id, idcap, "%.*s", (int)strcspn(v, ";"), v);
	stw__http_auth_answer_free(&ans);
	char *session_seg[] = { api, session };
	q = (struct stw__http_auth_request){
		.method = "GET", .url = "/api/session", .seg = session_seg, .nseg = 2, .cookie = id
	};
	FZ_CHECK(decide(a, &q, &ans) == 1 && ans.status == 200);
	json_t *v2 = json_loads(ans.body, 0, NULL);
	const char *t = json_string_value(json_object_get(v2, "csrf_token"));
	FZ_CHECK(t != NULL);
	snprintf(csrf, csrfcap, "%s", t);
	json_decref(v2);
	stw__http_auth_answer_free(&ans);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	fz_split(data, size, 11, &in);
	const char *mode = in.line[0] ? in.line[0] : "";
	struct stw__http_auth *a = NULL;
	char err[256];
	FZ_CHECK(stw__http_auth_new(strcmp(mode, "open") == 0 ? NULL : TOKEN, &a, err,
				    sizeof(err)) == 0);
	char id[128] = "", csrf[128] = "";
	if (strcmp(mode, "session") == 0)
		open_session(a, id, sizeof(id), csrf, sizeof(csrf));

	char path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	struct stw__http_refusal why;
	const char *url = in.line[2] ? in.line[2] : "/";
	if (stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why) == 0) {
		const char *cookie = fz_header(&in, 4), *token = fz_header(&in, 9);
		struct stw__http_auth_request q = {
			.method = in.line[1] ? in.line[1] : "GET",
			.url = url,
			.seg = seg,
			.nseg = nseg,
			.body = in.rest,
			.len = in.len,
			.authorization = fz_header(&in, 3),
			.cookie = cookie && id[0] && strcmp(cookie, "=") == 0 ? id : cookie,
			.content_type = fz_header(&in, 5),
			.fetch_site = fz_header(&in, 6),
			.origin = fz_header(&in, 7),
			.host = fz_header(&in, 8),
			.csrf = token && csrf[0] && strcmp(token, "=") == 0 ? csrf : token,
			.next = fz_header(&in, 10),
		};
		struct stw__http_auth_answer ans;
		int r = decide(a, &q, &ans);
		int login = nseg == 1 && strcmp(seg[0], "login") == 0;
		if (r == 1 && ans.status == 303)
			FZ_CHECK(login && strcmp(q.method, "POST") == 0);
		stw__http_auth_answer_free(&ans);
	}
	stw__http_auth_free(a);
	fz_free(&in);
	return 0;
}
