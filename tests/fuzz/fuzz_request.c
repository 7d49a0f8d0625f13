/*
 * fuzz_request.c - a request as the server decodes it (src/http/request.c),
 * then routed: the framing headers (Transfer-Encoding, Content-Length), the
 * raw path split into percent-decoded UTF-8 segments, the query string's
 * arguments, the integer query parameters, the Content-Type and the JSON
 * body; a request that passes all of them goes through the API's router on
 * the voiding example (api.c).
 *
 * Input: lines METHOD, PATH, QUERY (without '?'), Content-Type,
 * Transfer-Encoding, Content-Length (an empty line: no such header), then
 * the body. The query string is cut at '&' and '=' as libmicrohttpd cuts it
 * (escapes kept: the server decodes them itself).
 *
 * Proves: no input crashes, leaks or reaches undefined behaviour; every
 * refusal is a 4xx with a code and a message; a decoded segment is never
 * empty, holds no NUL and is valid UTF-8 (json_string accepts only that).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "fuzz.h"
#include "http/request.h"
#include "http/response.h"

#define MAX_SEGMENTS 16 /* as the server */

static void check_refusal(const struct stw__http_refusal *why)
{
	FZ_CHECK(why->status >= 400 && why->status < 500);
	FZ_CHECK(why->code != NULL && why->msg[0] != '\0');
}

/* The query string's arguments, decoded into q; 0, or -1 when one is malformed. */
static int read_query(char *qs, json_t *q)
{
	int bad = 0;
	for (char *arg = qs; arg != NULL && *arg != '\0';) {
		char *amp = strchr(arg, '&');
		if (amp != NULL)
			*amp = '\0';
		char *eq = strchr(arg, '=');
		if (eq != NULL)
			*eq = '\0';
		if ((*arg != '\0' || eq != NULL) &&
		    stw__http_query_add(q, arg, eq ? eq + 1 : NULL) != 0)
			bad = 1;
		arg = amp ? amp + 1 : NULL;
	}
	return bad ? -1 : 0;
}

/* The integer parameters the routes read, as they read them. */
static void read_ints(json_t *q)
{
	static const char *const keys[] = { "limit", "offset", "after" };
	struct stw__http_request r = { .method = "GET", .query = q };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long long v = 0;
		if (stw__http_query_int(&r, keys[i], 0, 1000, 7, &v) == 0) {
			FZ_CHECK(v >= 0 && v <= 1000);
			FZ_CHECK(stw__http_query(&r, keys[i]) != NULL || v == 7);
		} else {
			FZ_CHECK(r.status == 400 && r.reply != NULL);
		}
	}
	json_decref(r.reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	fz_split(data, size, 6, &in);
	const char *method = in.line[0] ? in.line[0] : "GET";
	const char *url = in.line[1] ? in.line[1] : "/";
	const char *framing = stw__http_framing_refusal(fz_header(&in, 4), fz_header(&in, 5));
	char path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	struct stw__http_refusal why;
	json_t *q = json_object(), *body = NULL;
	FZ_CHECK(q != NULL);
	char *qs = strdup(in.line[2] ? in.line[2] : "");
	FZ_CHECK(qs != NULL);
	int ok = framing == NULL;
	if (ok && stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why)) {
		check_refusal(&why);
		ok = 0;
	}
	for (int i = 0; ok && i < nseg; i++) {
		FZ_CHECK(seg[i][0] != '\0');
		json_t *s = json_string(seg[i]);
		FZ_CHECK(s != NULL);
		json_decref(s);
	}
	if (ok && read_query(qs, q) != 0)
		ok = 0;
	if (ok)
		read_ints(q);
	if (ok && in.len > 0 &&
	    stw__http_read_body(fz_header(&in, 3), in.rest, in.len, &body, &why) != 0) {
		FZ_CHECK(body == NULL);
		check_refusal(&why);
		ok = 0;
	}
	(void)stw__http_media_type_is(fz_header(&in, 3), "application/x-www-form-urlencoded");
	if (ok && nseg >= 2 && strcmp(seg[0], "api") == 0)
		fz_api_route(strcmp(method, "HEAD") == 0 ? "GET" : method, seg, nseg, q, body);
	json_decref(body);
	json_decref(q);
	free(qs);
	fz_free(&in);
	return 0;
}
