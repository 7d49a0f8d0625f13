/*
 * http.h - the HTTP layer as the steward program (src/cli) uses it: the
 * server (server.h), the counters its worker feeds (metrics.h), and what the
 * demos' routes under /api/demo/ read and answer with (request.h,
 * response.h). It declares nothing itself.
 */
#ifndef STW_HTTP_H
#define STW_HTTP_H

#include "http/metrics.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server.h"

#endif /* STW_HTTP_H */
