/*
 * request.c - decoding what a client sends (request.h): percent escapes,
 * UTF-8 checks, the path's segments, the query arguments, the JSON body and
 * typed query parameters.
 */
#include "http/request.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/response.h"

int stw__http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes %XX escapes (and '+' as a space when plus is set) in place.
 * Returns -1 for a malformed escape or an encoded NUL.
 */
static int percent_decode(char *s, int plus)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p == '%') {
			int hi = stw__http_hexval((unsigned char)p[1]),
			    lo = hi < 0 ? -1 : stw__http_hexval((unsigned char)p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			*w++ = (char)(hi * 16 + lo);
			p += 2;
		} else if (plus && *p == '+') {
			*w++ = ' ';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return 0;
}

/* 1 if s is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static int valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p;
		int n = c < 0x80             ? 0
			: (c & 0xe0) == 0xc0 ? 1
			: (c & 0xf0) == 0xe0 ? 2
			: (c & 0xf8) == 0xf0 ? 3
					     : -1;
		if (n < 0 || (n == 1 && c < 0xc2) || (n == 3 && c > 0xf4))
			return 0;
		unsigned cp = n == 0 ? c : c & (0x3f >> n);
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += n + 1;
	}
	return 1;
}

static int refuse(struct stw__http_refusal *why, int status, const char *code, const char *msg)
{
	why->status = status;
	why->code = code;
	snprintf(why->msg, sizeof(why->msg), "%s", msg);
	return -1;
}

int stw__http_split_path(const char *url, char *path, size_t cap, char **seg, int max, int *nseg,
			 struct stw__http_refusal *why)
{
	*nseg = 0;
	if (strlen(url) >= cap) {
		why->status = 414;
		why->code = "too_large";
		snprintf(why->msg, sizeof(why->msg), "the URL is longer than %zu KiB", cap / 1024);
		return -1;
	}
	/* Split the raw path, then decode each segment. */
	snprintf(path, cap, "%s", url);
	int n = 0;
	for (char *p = path; *p;) {
		while (*p == '/')
			*p++ = '\0';
		if (*p == '\0')
			break;
		if (n == max)
			return refuse(why, 404, "not_found", "no such path");
		seg[n++] = p;
		while (*p && *p != '/')
			p++;
	}
	for (int i = 0; i < n; i++) {
		if (percent_decode(seg[i], 0) != 0)
			return refuse(why, 400, "bad_request", "malformed URL escape");
		if (!valid_utf8(seg[i]))
			return refuse(why, 400, "bad_request", "a path segment is not valid UTF-8");
	}
	*nseg = n;
	return 0;
}

int stw__http_query_add(json_t *q, const char *key, const char *value)
{
	char k[256], v[4096];
	if (key == NULL || strlen(key) >= sizeof(k) ||
	    (value != NULL && strlen(value) >= sizeof(v)))
		return -1;
	snprintf(k, sizeof(k), "%s", key);
	snprintf(v, sizeof(v), "%s", value ? value : "");
	if (percent_decode(k, 1) != 0 || percent_decode(v, 1) != 0 || !valid_utf8(k) ||
	    !valid_utf8(v))
		return -1;
	return json_object_set_new(q, k, json_string(v)) == 0 ? 0 : -1;
}

/* Decodes one query argument into the request's table; a malformed one is dropped. */
static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	json_t *q = cls;
	if (stw__http_query_add(q, key, value) != 0)
		json_object_set_new(q, "\001bad", json_true()); /* answered with 400 */
	return MHD_YES;
}

int stw__http_read_query(struct MHD_Connection *c, json_t **out, struct stw__http_refusal *why)
{
	*out = NULL;
	json_t *q = json_object();
	if (q == NULL)
		return STW_ENOMEM;
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_query, q);
	if (json_object_get(q, "\001bad") != NULL) {
		json_decref(q);
		refuse(why, 400, "bad_request",
		       "a query parameter is malformed, too long or not UTF-8");
		return STW_EINVAL;
	}
	*out = q;
	return STW_OK;
}

int stw__http_media_type_is(const char *ct, const char *type)
{
	if (ct == NULL)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	size_t n = strlen(type);
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';'; /* parameters (charset=utf-8) aside */
}

int stw__http_read_body(const char *ct, const char *body, size_t len, json_t **out,
			struct stw__http_refusal *why)
{
	*out = NULL;
	if (!stw__http_media_type_is(ct, "application/json"))
		return refuse(why, 415, "unsupported_media_type",
			      "send the body as application/json");
	if (len > 0 && memchr(body, '\0', len) != NULL)
		return refuse(why, 400, "bad_request", "the body holds a NUL byte");
	json_error_t jerr;
	json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL || !json_is_object(v)) {
		why->status = 400;
		why->code = "bad_request";
		if (v == NULL)
			snprintf(why->msg, sizeof(why->msg),
				 "malformed JSON: %s (line %d, column %d)", jerr.text, jerr.line,
				 jerr.column);
		else
			snprintf(why->msg, sizeof(why->msg), "the body must be a JSON object");
		json_decref(v);
		return -1;
	}
	*out = v;
	return 0;
}

const char *stw__http_framing_refusal(const char *transfer_encoding, const char *content_length)
{
	if (transfer_encoding == NULL)
		return NULL;
	if (content_length != NULL)
		return "a request has a Content-Length or a Transfer-Encoding, not both";
	if (strcasecmp(transfer_encoding, "chunked") != 0)
		return "the only transfer coding taken is chunked";
	return NULL;
}

const char *stw__http_query(struct stw__http_request *r, const char *key)
{
	return json_string_value(json_object_get(r->query, key));
}

int stw__http_query_int(struct stw__http_request *r, const char *key, long long lo, long long hi,
			long long def, long long *out)
{
	const char *v = stw__http_query(r, key);
	*out = def;
	if (v == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
		stw__http_error(r, 400, "bad_request", "%s must be an integer from %lld to %lld",
				key, lo, hi);
		return -1;
	}
	*out = n;
	return 0;
}
