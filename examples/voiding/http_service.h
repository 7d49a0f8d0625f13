/*
 * http_service.h - what billing_service and reports_service share: a
 * context's service as a separate program that speaks to `steward serve`
 * only over HTTP (the protocol of docs/SERVICES.md).
 *
 * The program keeps its context's events in its own store (a local
 * libsteward engine with the example's in-process handler registered on it)
 * and
 *   - serves POST /commands: executes the command locally under the
 *     Idempotency-Key header as its command id (a redelivered command is
 *     applied once) and X-Correlation-Id; answers 200 {"events": [...]} with
 *     the events it produced (answer_events) or 202 {} (they are published
 *     later), 422 {"error"} when refused, 400 for bad input;
 *   - serves GET /events?after=N&limit=M (its local log), GET /status
 *     ({context, head, published}) and the views of `get`;
 *   - runs a publisher thread that forwards the local log, in order, to
 *     Steward's POST /api/contexts/{context}/events (ids kept, expected
 *     version = stream version - 1), remembering how far it got in the file
 *     "<db>.published" (written atomically), and retrying with a backoff
 *     while Steward cannot be reached.
 */
#ifndef VOIDING_HTTP_SERVICE_H
#define VOIDING_HTTP_SERVICE_H

#include <steward.h>

struct voiding_service {
	const char *program; /* for messages and --help */
	const char *context; /* "Billing" or "Reports" */
	/* Registers the context's in-process handler on the local engine. */
	int (*register_handler)(struct stw_engine *e);
	/* 1: answer a command with the events it produced; 0: answer 202 {}. */
	int answer_events;
	/*
	 * Answers GET requests of the program's own views: path is the request
	 * path ("/documents/doc-1"). Sets *status and *out (a new JSON value)
	 * and returns 1, or returns 0 for "no such path". Called with the
	 * engine's lock held.
	 */
	int (*get)(struct stw_engine *e, const char *path, int *status, json_t **out);
};

/* Runs the program: parses argv, serves until SIGINT/SIGTERM. Returns the exit status. */
int voiding_service_main(const struct voiding_service *svc, int argc, char **argv);

#endif /* VOIDING_HTTP_SERVICE_H */
