/*
 * events_in.h - the API of services that run elsewhere: the events they
 * post, the commands queued to them, and a person's view of the commands
 * that could not be delivered (docs/API.md, "Remote services").
 */
#ifndef STW_HTTP_EVENTS_IN_H
#define STW_HTTP_EVENTS_IN_H

#include "http/request.h"

/* POST /api/contexts/{context}/events: appends a batch of events atomically. Returns 1. */
int stw__http_append_events(struct stw__http_request *r, const char *context);

/* Queues a command to a remote context and answers 202. Returns 1. */
int stw__http_queue_command(struct stw__http_request *r, const char *context, const char *type,
			    json_t *data, const char *id, const char *corr);

/*
 * The command routes of remote services: commands by status, with a
 * person's retry and skip (/api/commands...). Returns 1 if it answered; sets
 * *allow for a known path taken with another method.
 */
int stw__http_route_commands(struct stw__http_request *r, const char **allow);

#endif /* STW_HTTP_EVENTS_IN_H */
