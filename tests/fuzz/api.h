/*
 * api.h - the engine the HTTP targets route requests to (api.c): the
 * voiding example on an in-memory store, as `steward demo voiding` serves
 * it, and the routing of one decoded request as the server does it.
 */
#ifndef STW_FUZZ_API_H
#define STW_FUZZ_API_H

#include <jansson.h>

/*
 * Routes one decoded request through the API (stw__http_route_api, the
 * demo's routes left out) on the shared engine, opened at the first call:
 * the voiding example's Billing and Reports services and processes, a
 * remote context "Remote" (its commands are queued, never delivered), and
 * "Outside", a context the daemon accepts events for. Before the first
 * request, voiding void-doc-1 completes, void-doc-2 fails (its report was
 * published) and the remote command ping-parked is parked, so that reads
 * and a person's operations find something. The request runs inside a group (stw_begin) that is
 * rolled back after it: every input meets the same store.
 *
 * query and body are borrowed (body may be NULL). Checks what the server
 * relies on: an answer has a JSON body and a status from 200 to 499 (a
 * client's input is never the server's error, 5xx), or the route did not
 * answer and says which methods the path takes, if any; and nothing of the
 * request stays in the store.
 */
void fz_api_route(const char *method, char **seg, int nseg, json_t *query, json_t *body);

#endif /* STW_FUZZ_API_H */
