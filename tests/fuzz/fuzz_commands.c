/*
 * fuzz_commands.c - the bodies of the API's writing requests (src/http/api.c,
 * events_in.c): a command to a context (POST /api/contexts/{c}/commands,
 * executed by an in-process service or queued for a remote one), a
 * person's operation on an instance (POST /api/instances/{id}/acknowledge,
 * cancel, retry) and a decision on a parked command (POST
 * /api/commands/{id}/retry, skip). The body is parsed as the server parses
 * it (request.c) and routed on the voiding example's engine (api.c), inside
 * a group rolled back after each input.
 *
 * Input: a line with the path (as a client sends it: escapes are decoded),
 * then the body, sent as application/json. The corpus names the voiding
 * example's instances and commands, so that the operations reach them.
 *
 * Proves: no body crashes, leaks or reaches undefined behaviour; every
 * refusal is a 4xx with a JSON body (never a 5xx); nothing stays in the
 * store after the group is rolled back.
 */
#include <jansson.h>

#include "api.h"
#include "fuzz.h"
#include "http/request.h"

#define MAX_SEGMENTS 16 /* as the server */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_input in;
	fz_split(data, size, 1, &in);
	char path[4096];
	char *seg[MAX_SEGMENTS];
	int nseg = 0;
	json_t *query = json_object(), *body = NULL;
	struct stw__http_refusal why;
	FZ_CHECK(query != NULL);
	const char *url = in.line[0] ? in.line[0] : "/api/contexts/Billing/commands";
	int ok = stw__http_split_path(url, path, sizeof(path), seg, MAX_SEGMENTS, &nseg, &why) == 0;
	if (ok && in.len > 0 &&
	    stw__http_read_body("application/json", in.rest, in.len, &body, &why) != 0) {
		FZ_CHECK(body == NULL && why.status == 400);
		ok = 0;
	}
	if (ok && nseg >= 2)
		fz_api_route("POST", seg, nseg, query, body);
	json_decref(body);
	json_decref(query);
	fz_free(&in);
	return 0;
}
