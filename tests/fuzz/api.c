/*
 * api.c - the engine of the HTTP targets and the routing of one request
 * (api.h). Public API and the HTTP layer only.
 */
#include "api.h"

#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "fuzz.h"
#include "http/api.h"
#include "http/server.h"
#include "voiding.h"

/* 14 November 2023, 22:13:20 UTC: the engine's clock never moves. */
#define FIXED_NOW ((int64_t)1700000000000)

static int64_t fixed_now(void *ud)
{
	(void)ud;
	return FIXED_NOW;
}

/* The remote context's transport: never called, since nothing delivers. */
static void no_transport(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < n; i++)
		batch[i].outcome = STW_EUNAVAILABLE;
}

static const struct stw_clock clock_def = { fixed_now, NULL };
/* One attempt, then parked: the world has a parked command for a person to decide on. */
static const struct stw_remote_def remote_def = { .send = no_transport, .max_attempts = 1 };
static const char *const accept_contexts[] = { "Outside", NULL };

/* The shared engine, opened once (the one state the runs share); closed at exit. */
static struct stw_engine *engine;

static void close_engine(void)
{
	stw_close(engine);
	engine = NULL;
}

static struct stw_engine *open_engine(void)
{
	struct stw_options o = { .clock = &clock_def, .synchronous = 0 };
	struct stw_engine *e = NULL;
	char id[STW_MAX_ID];
	FZ_CHECK(stw_open(":memory:", &o, &e) == STW_OK);
	FZ_CHECK(voiding_register(e) == STW_OK);
	FZ_CHECK(stw_register_remote(e, "Remote", &remote_def) == STW_OK);
	/* A voiding that completes, void-doc-1, */
	FZ_CHECK(voiding_issue_document(e, "doc-1", "ACME", 1250, "issue-doc-1") == STW_OK);
	FZ_CHECK(voiding_void_document(e, "doc-1", "void-doc-1", id) == STW_OK);
	FZ_CHECK(stw_run_until_idle(e) == STW_OK);
	/* one that fails on a published report, void-doc-2, */
	FZ_CHECK(voiding_issue_document(e, "doc-2", "BETA", 700, "issue-doc-2") == STW_OK);
	FZ_CHECK(stw_run_until_idle(e) == STW_OK);
	FZ_CHECK(voiding_publish_report(e, "BETA", "publish-beta") == STW_OK);
	FZ_CHECK(voiding_void_document(e, "doc-2", "void-doc-2", id) == STW_OK);
	FZ_CHECK(stw_run_until_idle(e) == STW_OK);
	/* and a command to the remote context, parked after its one attempt: ping-parked. */
	FZ_CHECK(stw_send(e, "Remote", "Ping", NULL, "ping-parked", NULL, id) == STW_OK);
	FZ_CHECK(stw_deliver_remote(e, NULL) == STW_OK);
	atexit(close_engine);
	return e;
}

void fz_api_route(const char *method, char **seg, int nseg, json_t *query, json_t *body)
{
	if (engine == NULL)
		engine = open_engine();
	int64_t head = 0, after = 0;
	FZ_CHECK(stw_head(engine, "Billing", &head) == STW_OK);
	struct stw__http_request r = {
		.method = method,
		.seg = seg,
		.nseg = nseg,
		.body = body,
		.query = query,
		.engine = engine,
		.accept_contexts = accept_contexts,
		.stuck_after_ms = STW_HTTP_STUCK_AFTER_MS,
	};
	const char *allow = NULL;
	FZ_CHECK(stw_begin(engine) == STW_OK);
	int answered = stw__http_route_api(&r, NULL, NULL, &allow);
	FZ_CHECK(stw_rollback(engine) == STW_OK);
	if (answered) {
		FZ_CHECK(r.reply != NULL);
		FZ_CHECK(r.status >= 200 && r.status < 500);
	} else {
		FZ_CHECK(r.reply == NULL);
	}
	json_decref(r.reply);
	FZ_CHECK(stw_head(engine, "Billing", &after) == STW_OK && after == head);
}
