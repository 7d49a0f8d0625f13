/*
 * engine.c - the engine handle: opening the store with the options, closing
 * it, the statistics, and the registries of services and remote contexts.
 */
#include "core/definition.h"
#include "core/gate.h"
#include "core/stage.h"
#include "core/streams.h"
#include "core/txn.h"
#include "store/sqlite.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH           1024
#define DEFAULT_STREAM_CACHE_KB 2048  /* see stw_options.stream_cache_kb */
#define DEFAULT_PAGE_CACHE_KB   16384 /* see stw_options.page_cache_kb */
#define DEFAULT_INPUT_ATTEMPTS  3

/* Defaults and limits of a remote context (see struct stw_remote_def). */
#define DEFAULT_REMOTE_ATTEMPTS   8
#define DEFAULT_REMOTE_BACKOFF    500
#define DEFAULT_REMOTE_BACKOFF_MX 60000
#define DEFAULT_REMOTE_BATCH      32
#define MAX_REMOTE_BATCH          1024

STW_API const char *stw_version(void)
{
	return STW_VERSION_STRING;
}

STW_API int stw_open(const char *store, const struct stw_options *opts, struct stw_engine **out)
{
	if (out == NULL)
		return STW_EINVAL;
	*out = NULL;
	if (store == NULL || *store == '\0')
		return STW_EINVAL;
	struct stw_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return STW_ENOMEM;
	e->clock.now_ms = stw__system_now_ms;
	int sync = 2;
	int read_only = 0, inline_checkpoint = 0, stream_cache_kb = 0, page_cache_kb = 0;
	if (opts != NULL) {
		if (opts->clock != NULL && opts->clock->now_ms != NULL)
			e->clock = *opts->clock;
		e->log = opts->log;
		e->log_ud = opts->log_ud;
		e->failpoint = opts->failpoint;
		e->failpoint_ud = opts->failpoint_ud;
		e->observer = opts->observer;
		e->observer_ud = opts->observer_ud;
		read_only = opts->read_only != 0;
		e->batch_size = opts->batch_size;
		if (opts->synchronous >= 0 && opts->synchronous <= 2)
			sync = opts->synchronous;
		e->separate_remote = opts->separate_remote_delivery != 0;
		e->delivered_elsewhere = opts->delivered_elsewhere != 0;
		e->hold_commands = opts->hold_commands != 0;
		e->max_input_attempts = opts->max_input_attempts;
		inline_checkpoint = opts->inline_checkpoint != 0;
		stream_cache_kb = opts->stream_cache_kb;
		page_cache_kb = opts->page_cache_kb;
		e->gate = opts->write_gate;
	}
	if (page_cache_kb == 0)
		page_cache_kb = DEFAULT_PAGE_CACHE_KB;
	if (stream_cache_kb == 0)
		stream_cache_kb = DEFAULT_STREAM_CACHE_KB;
	if (e->max_input_attempts <= 0)
		e->max_input_attempts = DEFAULT_INPUT_ATTEMPTS;
	e->rng = (uint64_t)stw__mono_us() ^ ((uint64_t)(uintptr_t)e << 16) ^ 0x9e3779b97f4a7c15u;
	if (e->batch_size <= 0)
		e->batch_size = DEFAULT_BATCH;
	if (e->batch_size > 100000)
		e->batch_size = 100000;
	stw__arena_init(&e->arena, 256 * 1024);
	/* The SQLite backend's settings; the URL's own, and other backends, go first. */
	struct stw__sqlite_options so = { .synchronous = sync,
					  .inline_checkpoint = inline_checkpoint,
					  .cache_kb = page_cache_kb > 0 ? page_cache_kb : 0 };
	struct stw__store_options o = { .read_only = read_only, .sqlite = &so };
	int rc = stw__streams_open(&e->streams,
				   stream_cache_kb > 0 ? (size_t)stream_cache_kb * 1024 : 0);
	if (rc == STW_OK)
		rc = stw__store_open(store, &o, &e->store, e->errmsg, sizeof(e->errmsg));
	else
		snprintf(e->errmsg, sizeof e->errmsg, "out of memory");
	if (rc != STW_OK) {
		char shown[512];
		stw__store_shown(store, shown, sizeof shown);
		stw__log(e, STW_LOG_ERROR, "cannot open store %s: %s", shown, e->errmsg);
		stw__streams_close(e->streams);
		stw__arena_free(&e->arena);
		free(e);
		return rc;
	}
	if (opts != NULL && opts->cluster != NULL) {
		e->fence = stw__cluster_fence(opts->cluster);
		rc = e->store->ops->set_fence == NULL ? STW_EINVAL
						      : STW__S(e->store, set_fence, e->fence);
		if (rc != STW_OK) {
			stw__log(e, STW_LOG_ERROR, "cannot join the cluster: %s",
				 e->store->ops->set_fence == NULL
				     ? "a cluster needs a PostgreSQL store"
				     : STW__S0(e->store, errmsg));
			e->store->ops->close(e->store);
			stw__streams_close(e->streams);
			stw__arena_free(&e->arena);
			free(e);
			return rc;
		}
	}
	/* A store whose writers do not wait on one lock (PostgreSQL) needs no queue for it. */
	if (!(e->store->caps & STW__CAP_SINGLE_WRITER))
		e->gate = NULL;
	*out = e;
	return STW_OK;
}

STW_API void stw_store_shown(const char *store, char *buf, size_t cap)
{
	stw__store_shown(store, buf, cap);
}

STW_API void stw_close(struct stw_engine *e)
{
	if (e == NULL)
		return;
	if (stw__enter(e, STW__CALL_WRITE, "stw_close") != STW_OK) {
		/* Closing under a running handler would free what it runs on. */
		stw__log(e, STW_LOG_ERROR, "%s", e->errmsg);
		return;
	}
	if (e->store != NULL && e->txn != STW__TXN_NONE)
		stw__txn_close(e, 0); /* an open stw_begin transaction is rolled back */
	if (e->store != NULL)
		e->store->ops->close(e->store);
	if (e->gate_held)
		stw__gate_leave(e->gate); /* closing rolled back what was left open */
	free(e->held);
	for (size_t i = 0; i < e->nservices; i++)
		free(e->services[i].context);
	free(e->services);
	for (size_t i = 0; i < e->nremotes; i++)
		free(e->remotes[i].context);
	free(e->remotes);
	for (size_t i = 0; i < e->ndefs; i++)
		stw__def_free(&e->defs[i]);
	free(e->defs);
	free(e->periodics);
	stw__streams_close(e->streams);
	stw__stage_free(e);
	stw__arena_free(&e->arena);
	free(e);
}

STW_API void stw_get_stats(const struct stw_engine *e, struct stw_stats *out)
{
	if (e != NULL && out != NULL)
		*out = e->stats;
}

STW_API void stw_store_status(const struct stw_engine *e, struct stw_store_status *out)
{
	if (out == NULL)
		return;
	memset(out, 0, sizeof *out);
	out->up = 1;
	if (e == NULL || e->store == NULL)
		return;
	const struct stw__store_health *h = &e->store->health;
	out->losses = h->losses;
	out->reconnects = h->reconnects;
	snprintf(out->why, sizeof out->why, "%s", h->why);
	if (h->down_since_ms != 0) {
		struct timespec t;
		clock_gettime(CLOCK_MONOTONIC, &t);
		out->up = 0;
		out->down_ms = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000 - h->down_since_ms;
	}
}

const struct stw__service *stw__find_service(const struct stw_engine *e, const char *context)
{
	for (size_t i = 0; i < e->nservices; i++)
		if (strcmp(e->services[i].context, context) == 0)
			return &e->services[i];
	return NULL;
}

STW_API int stw_register_service(struct stw_engine *e, const char *context, stw_handler_fn fn,
				 void *ud)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (!stw__valid_name(context) || fn == NULL)
		return stw__fail(e, STW_EINVAL,
				 "a service needs a valid context name and a handler");
	if (stw__find_service(e, context) != NULL || stw__find_remote(e, context) != NULL)
		return stw__fail(e, STW_EEXIST, "context %s already has a service", context);
	struct stw__service *s = realloc(e->services, (e->nservices + 1) * sizeof(*s));
	if (s == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	e->services = s;
	char *name = strdup(context);
	if (name == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	e->services[e->nservices++] = (struct stw__service){ .context = name, .fn = fn, .ud = ud };
	return STW_OK;
}

const struct stw__remote *stw__find_remote(const struct stw_engine *e, const char *context)
{
	for (size_t i = 0; i < e->nremotes; i++)
		if (strcmp(e->remotes[i].context, context) == 0)
			return &e->remotes[i];
	return NULL;
}

STW_API int stw_context_declared(const struct stw_engine *e, const char *context)
{
	if (e == NULL || !stw__valid_name(context))
		return STW_EINVAL;
	if (stw__find_service(e, context) != NULL || stw__find_remote(e, context) != NULL)
		return 1;
	for (size_t i = 0; i < e->ndefs; i++) {
		const struct stw_definition *d = e->defs[i].d;
		for (int k = 0; k < e->defs[i].nsources; k++)
			if (strcmp(d->sources[k], context) == 0)
				return 1;
		for (int t = 0; t < e->defs[i].ntransitions; t++)
			for (const struct stw_command_def *c = d->transitions[t].commands;
			     c && c->context; c++)
				if (strcmp(c->context, context) == 0)
					return 1;
	}
	return 0;
}

STW_API int stw_register_remote(struct stw_engine *e, const char *context,
				const struct stw_remote_def *def)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (!stw__valid_name(context) || def == NULL || def->send == NULL)
		return stw__fail(e, STW_EINVAL,
				 "a remote needs a valid context name and a transport");
	if (def->max_attempts < 0 || def->backoff_ms < 0 || def->backoff_max_ms < 0 ||
	    def->batch < 0 || def->batch > MAX_REMOTE_BATCH)
		return stw__fail(e, STW_EINVAL, "remote %s: negative or too large a setting",
				 context);
	if (stw__find_service(e, context) != NULL || stw__find_remote(e, context) != NULL)
		return stw__fail(e, STW_EEXIST, "context %s already has a service", context);
	struct stw__remote *r = realloc(e->remotes, (e->nremotes + 1) * sizeof(*r));
	if (r == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	e->remotes = r;
	char *name = strdup(context);
	if (name == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	struct stw_remote_def d = *def;
	if (d.max_attempts == 0)
		d.max_attempts = DEFAULT_REMOTE_ATTEMPTS;
	if (d.backoff_ms == 0)
		d.backoff_ms = DEFAULT_REMOTE_BACKOFF;
	if (d.backoff_max_ms == 0)
		d.backoff_max_ms = DEFAULT_REMOTE_BACKOFF_MX;
	if (d.backoff_max_ms < d.backoff_ms)
		d.backoff_max_ms = d.backoff_ms;
	if (d.batch == 0)
		d.batch = DEFAULT_REMOTE_BATCH;
	e->remotes[e->nremotes++] = (struct stw__remote){ .context = name, .def = d };
	return STW_OK;
}
