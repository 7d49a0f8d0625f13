/*
 * response.c - the server's answers (response.h): JSON and error bodies,
 * the security headers, and the mapping of engine errors to HTTP statuses.
 */
#include "http/response.h"
#include "http/codes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stw__http_security_headers(struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; style-src 'self'; "
				"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
				"base-uri 'none'; form-action 'self'");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
}

enum MHD_Result stw__http_send_buffer(struct MHD_Connection *c, int status, const char *type,
				      char *buf, size_t len, int must_free, const char *allow)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len, buf, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (must_free)
			free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", type);
	if (allow != NULL)
		MHD_add_response_header(resp, "Allow", allow);
	if (status == 503)
		MHD_add_response_header(resp, "Retry-After",
					"1"); /* a busy store, a failed commit */
	stw__http_security_headers(resp);
	enum MHD_Result r = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result stw__http_send_json(struct MHD_Connection *c, int status, json_t *v,
				    const char *allow)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	json_decref(v);
	if (s == NULL) {
		static char oom[] = "{\"error\":\"internal\",\"message\":\"out of memory\"}";
		return stw__http_send_buffer(c, 500, "application/json", oom, sizeof(oom) - 1, 0,
					     NULL);
	}
	return stw__http_send_buffer(c, status, "application/json", s, strlen(s), 1, allow);
}

/*
 * Copies s into out (cap bytes) with every byte that does not belong to a
 * whole UTF-8 character (a parser's message may quote a cut one) replaced
 * by '?', so that it can be a JSON string.
 */
static void clean_utf8(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)s;
	while (*p != '\0' && o + 5 < cap) {
		size_t n = *p < 0x80             ? 1
			   : (*p & 0xe0) == 0xc0 ? 2
			   : (*p & 0xf0) == 0xe0 ? 3
			   : (*p & 0xf8) == 0xf0 ? 4
						 : 0;
		size_t k = 1;
		while (n > 1 && k < n && (p[k] & 0xc0) == 0x80)
			k++;
		if (n == 0 || k < n) {
			out[o++] = '?';
			p++;
			continue;
		}
		memcpy(out + o, p, n);
		o += n;
		p += n;
	}
	out[o] = '\0';
}

json_t *stw__http_error_json(const char *code, const char *msg)
{
	json_t *v = json_pack("{s:s, s:s}", "error", code, "message", msg);
	if (v == NULL) {
		/* Not UTF-8: said again without the bytes that are not. */
		char clean[1024];
		clean_utf8(msg, clean, sizeof(clean));
		v = json_pack("{s:s, s:s}", "error", code, "message", clean);
	}
	return v;
}

enum MHD_Result stw__http_send_error(struct MHD_Connection *c, int status, const char *code,
				     const char *msg, const char *allow)
{
	return stw__http_send_json(c, status, stw__http_error_json(code, msg), allow);
}

int stw__http_reply(struct stw__http_request *r, int status, json_t *v)
{
	json_decref(r->reply);
	r->status = status;
	r->reply = v;
	return 1;
}

int stw__http_error(struct stw__http_request *r, int status, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return stw__http_reply(r, status, stw__http_error_json(code, msg));
}

int stw__http_wrong_method(struct stw__http_request *r, const char *allow)
{
	r->allow = allow;
	return stw__http_error(r, 405, "method_not_allowed", "this path takes %s", allow);
}

int stw__http_engine_error(struct stw__http_request *r, int rc)
{
	const char *msg = stw_errmsg(r->engine);
	if (msg == NULL || *msg == '\0')
		msg = stw_strerror(rc);
	struct stw__http_status st = stw__http_status_of(rc);
	return stw__http_error(r, st.status, st.word, "%s", msg);
}
