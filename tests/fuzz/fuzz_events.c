/*
 * fuzz_events.c - the events a service posts: the body of POST
 * /api/contexts/{context}/events (src/http/events_in.c), parsed as the
 * server parses a body (request.c), then checked and appended to the log
 * (stw_append_batch) on the voiding example's engine (api.c), inside a
 * group rolled back after each input.
 *
 * Input: a line with the context as a client writes it in the path
 * (Billing, Reports, Outside, Remote, or anything: escapes are decoded and
 * the name is checked too), then the body, sent as application/json.
 *
 * Proves: no body crashes, leaks or reaches undefined behaviour; every
 * refusal is a 4xx with a JSON body (never a 5xx), and nothing stays in the
 * log after the group is rolled back.
 */
#include <stdio.h>

#include <jansson.h>

#include "api.h"
#include "fuzz.h"
#include "http/request.h"

#define MAX_SEGMENTS 16 /* as the server */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	fz_split(data, size, 1, &in);
	char url[4096], path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	snprintf(url, sizeof(url), "/api/contexts/%s/events", in.line[0] ? in.line[0] : "Billing");
	json_t *body = NULL;
	struct stw__http_refusal why;
	int ok = stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why) == 0;
	if (ok && in.len > 0 &&
	    stw__http_read_body("application/json", in.rest, in.len, &body, &why) != 0) {
		FZ_CHECK(body == NULL && why.status == 400);
		ok = 0;
	}
	if (ok)
		fz_api_route("POST", seg, nseg, NULL, body);
	json_decref(body);
	fz_free(&in);
	return 0;
}
