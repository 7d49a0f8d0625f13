/*
 * engine.c - the engine handle: opening the store, options, errors, logging,
 * failpoints, registration of definitions and services, and the run loop.
 */
#include "core/engine_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BATCH           1024
#define DEFAULT_STREAM_CACHE_KB 2048  /* see stw_options.stream_cache_kb */
#define DEFAULT_PAGE_CACHE_KB   16384 /* see stw_options.page_cache_kb */
#define DEFAULT_INPUT_ATTEMPTS  3

STW_API const char *stw_strerror(int code)
{
	switch (code) {
	case STW_OK:
		return "ok";
	case STW_EINVAL:
		return "invalid argument";
	case STW_ENOMEM:
		return "out of memory";
	case STW_ECONFLICT:
		return "version conflict";
	case STW_ENOTFOUND:
		return "not found";
	case STW_ESTORE:
		return "store failure";
	case STW_ESTATE:
		return "wrong state";
	case STW_EREJECTED:
		return "rejected";
	case STW_EEXIST:
		return "already exists";
	case STW_EAMBIGUOUS:
		return "ambiguous id";
	default:
		return "unknown error";
	}
}

STW_API const char *stw_version(void)
{
	return STW_VERSION_STRING;
}

int stw__fail(struct stw_engine *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->errmsg, sizeof(e->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

int stw__store_fail(struct stw_engine *e, int code, const char *what)
{
	return stw__fail(e, code, "%s: %s", what, e->store->ops->errmsg(e->store));
}

static int64_t system_now_ms(void *ud)
{
	(void)ud;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t stw__now(struct stw_engine *e)
{
	return e->clock.now_ms(e->clock.ud);
}

int64_t stw__mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void stw__report(struct stw_engine *e, struct stw_activity *a, int64_t started)
{
	if (e->observer == NULL)
		return;
	if (e->txn == STW__TXN_NONE) {
		a->duration_us = stw__mono_us() - started;
		e->observer(a, e->observer_ud);
		return;
	}
	/* Not durable yet: held until the outer commit, with copies of what it borrows. */
	if (e->nheld == e->held_cap) {
		size_t cap = e->held_cap ? e->held_cap * 2 : 16;
		struct stw__held *h = realloc(e->held, cap * sizeof(*h));
		if (h == NULL) {
			stw__log(e, STW_LOG_WARN, "out of memory: an observation is dropped");
			return;
		}
		e->held = h;
		e->held_cap = cap;
	}
	struct stw__held *h = &e->held[e->nheld];
	h->a = *a;
	h->started = started;
	h->lateness = NULL;
	stw__copy(h->definition, sizeof(h->definition), a->definition ? a->definition : "");
	stw__copy(h->context, sizeof(h->context), a->context ? a->context : "");
	if (a->lateness_ms != NULL && a->count > 0) {
		h->lateness = malloc(sizeof(int64_t) * (size_t)a->count);
		if (h->lateness == NULL) {
			stw__log(e, STW_LOG_WARN, "out of memory: an observation is dropped");
			return;
		}
		memcpy(h->lateness, a->lateness_ms, sizeof(int64_t) * (size_t)a->count);
	}
	e->nheld++;
}

void stw__observe(struct stw_engine *e, enum stw_activity_kind kind, const char *definition,
		  const char *context, int count, int stateful, int64_t started)
{
	struct stw_activity a = {
		.kind = kind,
		.definition = definition,
		.context = context,
		.count = count,
		.stateful = stateful,
	};
	stw__report(e, &a, started);
}

/* Hands the held observations to the observer (commit != 0) or drops them. */
static void release_held(struct stw_engine *e, int commit)
{
	int64_t now = stw__mono_us();
	for (size_t i = 0; i < e->nheld; i++) {
		struct stw__held *h = &e->held[i];
		if (commit && e->observer != NULL) {
			h->a.definition = h->definition[0] ? h->definition : NULL;
			h->a.context = h->context[0] ? h->context : NULL;
			h->a.lateness_ms = h->lateness;
			h->a.duration_us = now - h->started;
			e->observer(&h->a, e->observer_ud);
		}
		free(h->lateness);
	}
	e->nheld = 0;
}

void stw__count_commit(struct stw_engine *e)
{
	if (e->txn == STW__TXN_NONE)
		e->stats.transactions++;
	else
		e->txn_units++;
}

int stw__durable(struct stw_engine *e)
{
	int rc = STW__S0(e->store, durable);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "making a write durable");
}

/* Opens the outer transaction of `kind`; the first write takes the lock. */
static int txn_open(struct stw_engine *e, int kind)
{
	int rc = STW__S0(e->store, open_outer);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "opening a transaction");
	e->txn = kind;
	e->txn_units = 0;
	return STW_OK;
}

/*
 * Ends the outer transaction: commits it (commit != 0; rolled back if the
 * commit fails) or rolls it back, then reports what it held to the observer
 * if it committed.
 */
static int txn_close(struct stw_engine *e, int commit)
{
	int wrote = 0;
	int rc = STW__S(e->store, close_outer, commit, &wrote);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, commit ? "committing" : "rolling back");
		STW__S0(e->store, rollback);
		commit = 0;
	}
	if (commit && wrote && e->txn_units > 0)
		e->stats.transactions++;
	e->txn = STW__TXN_NONE;
	e->txn_units = 0;
	release_held(e, commit);
	return rc;
}

STW_API int stw_begin(struct stw_engine *e)
{
	if (e == NULL)
		return STW_EINVAL;
	if (e->in_handler)
		return stw__fail(e, STW_ESTATE, "cannot open a transaction inside a handler");
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE, "a transaction is open already");
	return txn_open(e, STW__TXN_USER);
}

STW_API int stw_commit(struct stw_engine *e)
{
	if (e == NULL)
		return STW_EINVAL;
	if (e->txn != STW__TXN_USER || e->in_handler)
		return stw__fail(e, STW_ESTATE, "no transaction is open (stw_begin)");
	return txn_close(e, 1);
}

STW_API int stw_rollback(struct stw_engine *e)
{
	if (e == NULL)
		return STW_EINVAL;
	if (e->txn != STW__TXN_USER || e->in_handler)
		return stw__fail(e, STW_ESTATE, "no transaction is open (stw_begin)");
	return txn_close(e, 0);
}

void stw__failpoint(struct stw_engine *e, const char *name)
{
	if (e->failpoint != NULL)
		e->failpoint(name, e->failpoint_ud);
}

void stw__log(struct stw_engine *e, enum stw_log_level level, const char *fmt, ...)
{
	if (e->log == NULL)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->log(level, buf, e->log_ud);
}

STW_API int stw_open(const char *store, const struct stw_options *opts, struct stw_engine **out)
{
	if (out == NULL)
		return STW_EINVAL;
	*out = NULL;
	if (store == NULL || *store == '\0')
		return STW_EINVAL;
	if (strncmp(store, "sqlite:", 7) == 0)
		store += 7;
	struct stw_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return STW_ENOMEM;
	e->clock.now_ms = system_now_ms;
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
		e->max_input_attempts = opts->max_input_attempts;
		inline_checkpoint = opts->inline_checkpoint != 0;
		stream_cache_kb = opts->stream_cache_kb;
		page_cache_kb = opts->page_cache_kb;
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
	struct stw__sqlite_options so = { .synchronous = sync,
					  .read_only = read_only,
					  .inline_checkpoint = inline_checkpoint,
					  .cache_kb = page_cache_kb > 0 ? page_cache_kb : 0 };
	int rc = stw__streams_open(&e->streams,
				   stream_cache_kb > 0 ? (size_t)stream_cache_kb * 1024 : 0);
	if (rc == STW_OK)
		rc = stw__sqlite_open(store, &so, &e->store, e->errmsg, sizeof(e->errmsg));
	else
		snprintf(e->errmsg, sizeof e->errmsg, "out of memory");
	if (rc != STW_OK) {
		stw__log(e, STW_LOG_ERROR, "cannot open store %s: %s", store, e->errmsg);
		stw__streams_close(e->streams);
		stw__arena_free(&e->arena);
		free(e);
		return rc;
	}
	*out = e;
	return STW_OK;
}

static void free_def(struct stw__def *d)
{
	free(d->from);
	free(d->to);
	free(d->guards);
}

STW_API void stw_close(struct stw_engine *e)
{
	if (e == NULL)
		return;
	if (e->store != NULL && e->txn != STW__TXN_NONE)
		txn_close(e, 0); /* an open stw_begin transaction is rolled back */
	if (e->store != NULL)
		e->store->ops->close(e->store);
	free(e->held);
	for (size_t i = 0; i < e->nservices; i++)
		free(e->services[i].context);
	free(e->services);
	for (size_t i = 0; i < e->nremotes; i++)
		free(e->remotes[i].context);
	free(e->remotes);
	for (size_t i = 0; i < e->ndefs; i++)
		free_def(&e->defs[i]);
	free(e->defs);
	free(e->periodics);
	stw__streams_close(e->streams);
	stw__arena_free(&e->arena);
	free(e);
}

STW_API const char *stw_errmsg(const struct stw_engine *e)
{
	if (e == NULL)
		return "no engine";
	return e->errmsg;
}

STW_API void stw_get_stats(const struct stw_engine *e, struct stw_stats *out)
{
	if (e != NULL && out != NULL)
		*out = e->stats;
}

const struct stw__def *stw__find_def(const struct stw_engine *e, const char *name)
{
	for (size_t i = 0; i < e->ndefs; i++)
		if (strcmp(e->defs[i].d->name, name) == 0)
			return &e->defs[i];
	return NULL;
}

const struct stw__service *stw__find_service(const struct stw_engine *e, const char *context)
{
	for (size_t i = 0; i < e->nservices; i++)
		if (strcmp(e->services[i].context, context) == 0)
			return &e->services[i];
	return NULL;
}

int stw__state_index(const struct stw__def *def, const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < def->nstates; i++)
		if (strcmp(def->d->states[i].name, name) == 0)
			return i;
	return -1;
}

STW_API int stw_register_service(struct stw_engine *e, const char *context, stw_handler_fn fn,
				 void *ud)
{
	if (e == NULL)
		return STW_EINVAL;
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

/*
 * Checks a definition's tables and resolves state names to indexes into d.
 * Returns STW_EINVAL with a message naming the first problem found.
 */
static int check_definition(struct stw_engine *e, const struct stw_definition *def,
			    struct stw__def *d)
{
	const char *name = def->name;
	if (!stw__valid_name(name))
		return stw__fail(e, STW_EINVAL, "definition name is missing or invalid");
	if (def->sources == NULL || def->sources[0] == NULL)
		return stw__fail(e, STW_EINVAL, "definition %s has no source context", name);
	for (d->nsources = 0; def->sources[d->nsources] != NULL; d->nsources++)
		if (!stw__valid_name(def->sources[d->nsources]))
			return stw__fail(e, STW_EINVAL,
					 "definition %s: invalid source context name", name);
	d->nstates = 0;
	if (def->states != NULL) {
		for (; def->states[d->nstates].name != NULL; d->nstates++) {
			const char *s = def->states[d->nstates].name;
			if (!stw__valid_name(s))
				return stw__fail(e, STW_EINVAL, "definition %s: invalid state name",
						 name);
			if (stw__state_index(d, s) >= 0)
				return stw__fail(e, STW_EINVAL, "definition %s: state %s twice",
						 name, s);
		}
		if (d->nstates == 0)
			return stw__fail(e, STW_EINVAL, "definition %s: empty state list", name);
	}
	if (def->transitions == NULL || def->transitions[0].on == NULL)
		return stw__fail(e, STW_EINVAL, "definition %s has no transition", name);
	int n = 0;
	while (def->transitions[n].on != NULL)
		n++;
	d->ntransitions = n;
	d->from = calloc((size_t)n, sizeof(int));
	d->to = calloc((size_t)n, sizeof(int));
	if (d->from == NULL || d->to == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int triggers = 0;
	for (int i = 0; i < n; i++) {
		const struct stw_transition_def *t = &def->transitions[i];
		if (!stw__valid_name(t->on))
			return stw__fail(e, STW_EINVAL,
					 "definition %s: transition %d has an invalid message type",
					 name, i);
		d->from[i] = -1;
		d->to[i] = -1;
		if (d->nstates == 0) {
			if (t->from != NULL || t->to != NULL)
				return stw__fail(e, STW_EINVAL,
						 "definition %s is stateless: transition on %s "
						 "cannot name states",
						 name, t->on);
		} else {
			if (t->from != NULL && (d->from[i] = stw__state_index(d, t->from)) < 0)
				return stw__fail(e, STW_EINVAL, "definition %s: unknown state %s",
						 name, t->from);
			if (t->to != NULL && (d->to[i] = stw__state_index(d, t->to)) < 0)
				return stw__fail(e, STW_EINVAL, "definition %s: unknown state %s",
						 name, t->to);
			if (t->from == NULL && t->to == NULL)
				return stw__fail(e, STW_EINVAL,
						 "definition %s: trigger %s needs a target state",
						 name, t->on);
		}
		if (t->from == NULL)
			triggers++;
		for (int j = 0; j < i; j++)
			if (d->from[j] == d->from[i] && strcmp(def->transitions[j].on, t->on) == 0)
				return stw__fail(e, STW_EINVAL,
						 "definition %s: two transitions from %s on %s",
						 name, t->from ? t->from : "(start)", t->on);
		int nt = 0;
		for (const struct stw_timer_def *tm = t->timers; tm != NULL && tm->message != NULL;
		     tm++, nt++) {
			if (d->nstates == 0)
				return stw__fail(e, STW_EINVAL,
						 "definition %s is stateless: transition on %s "
						 "cannot arm timers",
						 name, t->on);
			if (!stw__valid_name(tm->message) || tm->delay_ms < 0 ||
			    nt >= STW__MAX_TIMERS)
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: transition on %s has an invalid timer "
				    "(message name, delay >= 0, at most %d)",
				    name, t->on, STW__MAX_TIMERS);
			/* The state the timer belongs to must accept its message. */
			int at = d->to[i] >= 0 ? d->to[i] : d->from[i];
			int ok = 0;
			for (int j = 0; j < n && !ok; j++)
				ok = strcmp(def->transitions[j].on, tm->message) == 0 &&
				     def->transitions[j].from != NULL &&
				     stw__state_index(d, def->transitions[j].from) == at;
			if (!ok)
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: timer %s is armed on entering %s, which "
				    "has no transition on it",
				    name, tm->message, def->states[at].name);
			d->ntimers++;
		}
		for (const struct stw_command_def *c = t->commands; c != NULL && c->context != NULL;
		     c++)
			if (!stw__valid_name(c->context) || !stw__valid_name(c->type))
				return stw__fail(e, STW_EINVAL,
						 "definition %s: transition on %s has a command "
						 "with an invalid context or type",
						 name, t->on);
	}
	if (triggers == 0)
		return stw__fail(e, STW_EINVAL,
				 "definition %s has no trigger (a transition from NULL)", name);
	d->ack_state = -1;
	if (def->ack_state != NULL && (d->ack_state = stw__state_index(d, def->ack_state)) < 0)
		return stw__fail(e, STW_EINVAL, "definition %s: unknown ack state %s", name,
				 def->ack_state);
	if (def->delivery != STW_AT_LEAST_ONCE && def->delivery != STW_AT_MOST_ONCE)
		return stw__fail(e, STW_EINVAL, "definition %s: unknown delivery mode", name);
	d->guards = calloc((size_t)d->nsources + 1, sizeof(*d->guards));
	if (d->guards == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	return STW_OK;
}

STW_API int stw_define(struct stw_engine *e, const struct stw_definition *def)
{
	if (e == NULL)
		return STW_EINVAL;
	if (def == NULL)
		return stw__fail(e, STW_EINVAL, "no definition");
	if (def->name != NULL && stw__find_def(e, def->name) != NULL)
		return stw__fail(e, STW_EEXIST, "definition %s is already registered", def->name);
	for (size_t i = 0; def->name != NULL && i < e->nperiodics; i++)
		if (strcmp(e->periodics[i].d->name, def->name) == 0)
			return stw__fail(e, STW_EEXIST, "a periodic process is already named %s",
					 def->name);
	struct stw__def d = { .d = def };
	int rc = check_definition(e, def, &d);
	if (rc != STW_OK) {
		free_def(&d);
		return rc;
	}
	struct stw__def *defs = realloc(e->defs, (e->ndefs + 1) * sizeof(*defs));
	if (defs == NULL) {
		free_def(&d);
		return stw__fail(e, STW_ENOMEM, "out of memory");
	}
	e->defs = defs;
	e->defs[e->ndefs++] = d;
	return STW_OK;
}

/* Passes of steps and deliveries in one round (see round_work). */
#define STW__ROUND_PASSES 8

/*
 * The messages and commands a small round's transaction may take: past that
 * a sync more costs little next to the work, and what the round did first
 * would wait for the rest to be durable.
 */
static int round_share(const struct stw_engine *e)
{
	return e->batch_size >= 16 ? e->batch_size / 16 : 1;
}

/*
 * Called after each part of a round with the work done so far: once the
 * round's transaction has taken its budget, it is committed and the parts
 * left commit on their own, with full batches (see stw_run_once).
 */
static int round_grew(struct stw_engine *e, int total)
{
	if (e->txn != STW__TXN_ROUND)
		return STW_OK;
	e->round_budget = round_share(e) - total;
	if (e->round_budget > 0)
		return STW_OK;
	e->round_budget = 0;
	return txn_close(e, 1);
}

int stw__batch_cap(const struct stw_engine *e)
{
	return e->round_budget > 0 && e->round_budget < e->batch_size ? e->round_budget
								      : e->batch_size;
}

/* The round's work; *total counts it. */
static int round_work(struct stw_engine *e, int *total)
{
	for (size_t i = 0; i < e->nperiodics; i++) {
		int ran = 0;
		int rc = stw__run_periodic(e, &e->periodics[i], &ran);
		if (rc == STW_OK)
			rc = round_grew(e, *total += ran);
		if (rc != STW_OK)
			return rc;
	}
	for (size_t i = 0; i < e->ndefs; i++) {
		int fired = 0;
		int rc = stw__fire_timers(e, &e->defs[i], &fired);
		if (rc == STW_OK)
			rc = round_grew(e, *total += fired);
		if (rc != STW_OK)
			return rc;
	}
	/*
	 * Steps, then deliveries; again while the deliveries gave in-process
	 * services something to do, since the events they appended are the next
	 * steps' input: a process whose services are all in process goes
	 * through several hops in one round and one sync. The passes are
	 * bounded so that a process and a service answering each other forever
	 * still let the round end.
	 */
	for (int pass = 0; pass < STW__ROUND_PASSES; pass++) {
		for (size_t i = 0; i < e->ndefs; i++) {
			const struct stw__def *def = &e->defs[i];
			for (int s = 0; s < def->nsources; s++) {
				int n = 0;
				int rc = stw__step_batch(e, def, def->d->sources[s], &n);
				if (rc == STW_OK)
					rc = round_grew(e, *total += n);
				if (rc != STW_OK)
					return rc;
			}
		}
		int delivered = 0;
		int rc = stw__dispatch(e, &delivered);
		if (rc == STW_OK)
			rc = round_grew(e, *total += delivered);
		if (rc != STW_OK || delivered == 0)
			return rc;
	}
	return STW_OK;
}

STW_API int stw_run_once(struct stw_engine *e, int *did_work)
{
	if (did_work != NULL)
		*did_work = 0;
	if (e == NULL)
		return STW_EINVAL;
	if (e->in_handler)
		return stw__fail(e, STW_ESTATE,
				 "cannot run the engine from inside a service handler");
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE,
				 "a transaction is open (stw_begin): commit or roll it back first");
	/*
	 * A small round is one transaction: its steps, timers and deliveries are
	 * nested levels of it and reach the disk with one sync, and a part that
	 * fails undoes only itself. Its batches share a budget of a sixteenth of
	 * batch_size, so that what it did first is not held back long by what
	 * comes after; once the budget is spent, the transaction commits and the
	 * parts left commit on their own. A round that follows a large one is
	 * expected to be large too and runs that way from the start: its syncs
	 * are few for its work, while a nested level costs a copy of every page
	 * it changes (SQLite's statement journal), and its batches are full.
	 */
	int total = 0, rc = STW_OK;
	if (e->last_round_work < round_share(e)) {
		if ((rc = txn_open(e, STW__TXN_ROUND)) != STW_OK)
			return rc;
		e->round_budget = round_share(e);
	}
	rc = round_work(e, &total);
	e->round_budget = 0;
	e->last_round_work = total;
	if (rc != STW_OK) {
		if (e->txn == STW__TXN_ROUND) {
			/* What the other parts did is committed all the same. */
			char why[sizeof(e->errmsg)];
			stw__copy(why, sizeof(why), e->errmsg);
			txn_close(e, 1);
			stw__copy(e->errmsg, sizeof(e->errmsg), why);
		}
		return rc;
	}
	stw__failpoint(e, "round.before_commit");
	if (e->txn == STW__TXN_ROUND && (rc = txn_close(e, 1)) != STW_OK)
		return rc;
	if (!e->separate_remote) {
		/* Outside the round: a slow remote service never holds the write lock. */
		int delivered = 0;
		if ((rc = stw_deliver_remote(e, &delivered)) != STW_OK)
			return rc;
		total += delivered;
	}
	if (did_work != NULL)
		*did_work = total;
	return STW_OK;
}

STW_API int stw_run_until_idle(struct stw_engine *e)
{
	for (;;) {
		int did = 0;
		int rc = stw_run_once(e, &did);
		if (rc != STW_OK)
			return rc;
		if (did == 0)
			return STW_OK;
	}
}

STW_API int stw_next_timer(struct stw_engine *e, int64_t *due_ms)
{
	if (e == NULL || due_ms == NULL)
		return STW_EINVAL;
	int found = 0;
	for (size_t i = 0; i < e->ndefs; i++) {
		if (e->defs[i].ntimers == 0)
			continue;
		int64_t due = 0;
		int rc = STW__S(e->store, timer_next, e->defs[i].d->name, &due);
		if (rc == STW_ENOTFOUND)
			continue;
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "finding the next timer");
		if (!found || due < *due_ms)
			*due_ms = due;
		found = 1;
	}
	return found ? STW_OK : STW_ENOTFOUND;
}

STW_API int stw_get_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t *position)
{
	if (e == NULL || position == NULL)
		return STW_EINVAL;
	if (!stw__valid_name(definition) || !stw__valid_name(context))
		return stw__fail(e, STW_EINVAL, "invalid definition or context name");
	int rc = STW__S(e->store, cursor_get, definition, context, position);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "reading a cursor");
}

STW_API int stw_set_cursor(struct stw_engine *e, const char *definition, const char *context,
			   int64_t position)
{
	if (e == NULL)
		return STW_EINVAL;
	if (!stw__valid_name(definition) || !stw__valid_name(context) || position < 0)
		return stw__fail(e, STW_EINVAL, "invalid definition, context or position");
	int rc = STW__S0(e->store, begin);
	if (rc == STW_OK)
		rc = STW__S(e->store, cursor_set, definition, context, position);
	if (rc == STW_OK)
		rc = STW__S0(e->store, commit);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "setting a cursor");
		STW__S0(e->store, rollback);
	}
	return rc;
}
