/*
 * api.h - the routes of the JSON API under /api/ (docs/API.md), which a
 * request reaches once the server has decoded and authorised it.
 */
#ifndef STW_HTTP_API_H
#define STW_HTTP_API_H

#include "http/request.h"

/*
 * Handles a request under /api/demo/; returns 1 if it answered (even with an
 * error), 0 for "no such route".
 */
typedef int (*stw__http_route_fn)(struct stw__http_request *r, void *ud);

/*
 * Routes an /api/... request on r->engine (held by the caller), passing
 * /api/demo/... to demo (with demo_ud) when it is not NULL. Returns 1 when
 * it answered (the answer is in r); else 0, with *allow set to the methods
 * of a path that exists with other methods.
 */
/*
 * 1 for a POST that must not join the group commit (server.c) because it
 * commits many transactions of its own: a migration
 * (POST /api/definitions/{name}/migrate), which commits each instance apart.
 */
int stw__http_api_alone(const struct stw__http_request *r);

int stw__http_route_api(struct stw__http_request *r, stw__http_route_fn demo, void *demo_ud,
			const char **allow);

#endif /* STW_HTTP_API_H */
