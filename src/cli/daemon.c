/*
 * daemon.c - the worker loop of `steward demo ...` and `steward serve`: opens
 * the store, starts the HTTP server, steps the engine until stopped, wakes up
 * when the API wrote something, and reports each commit to the metrics and
 * to the page. What it prints that comes from the store or the network (the
 * narrated events, the engine's errors) goes through the escaper of text.h.
 */
#include "daemon.h"
#include "backend.h"
#include "text.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define POLL_MS         100  /* idle wait: the poll for work other processes wrote */
#define RETRY_MS        1000 /* wait after a failed round or delivery */
#define CLUSTER_POLL_MS 5000 /* the same in a cluster, whose commits wake its members */
#define SLOW_STEP_MS    5000 /* SLOW_DOWN: per process step */
#define SLOW_COMMAND_MS 250  /* SLOW_DOWN: per command delivered */
#define STOP_CHECK_MS   100  /* how often a wait looks whether SIGTERM came */
#define MAX_NARRATED    8    /* contexts whose events are printed */
#define NARRATE_PAGE    100  /* events read at a time for printing */
#define DEMO_LIST_MAX   100  /* instances a demo's list shows */
/*
 * How long an engine of the daemon waits for its turn at the write lock
 * (the write gate its worker, API and courier share) before it gives up:
 * the API answers 503 with Retry-After, the worker retries its round.
 */
#define GATE_WAIT_MS 5000

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/*
 * The courier: delivers commands to remote services on its own thread and
 * engine, so a slow or dead service never holds up the steps.
 */
struct courier {
	struct stw_engine *e;
	struct worker *w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int kicked;
	int stop;
};

struct worker {
	struct stw_engine *e;
	/* The last error line the worker's engine logged (why its store did not
	 * open); locked, as the engine may log from a thread of its own. */
	pthread_mutex_t log_lock;
	char log[STW__CLI_MAX_LOG];
	struct stw_write_gate *gate; /* the queue of the daemon's engines for the write lock */
	struct courier *courier;     /* NULL when no context is remote */
	struct stw_cluster *cluster; /* the worker's membership ([cluster]); NULL: none */
	int cluster_refused;         /* [cluster] cannot work: said already */
	struct stw__http *http;
	struct stw__http_metrics metrics;
	const struct stw__cli_daemon_options *o;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int kicked;
};

/* The worker's engine's log callback: keeps its last error line. */
static void worker_log(enum stw_log_level level, const char *msg, void *ud)
{
	struct worker *w = ud;
	if (level != STW_LOG_ERROR)
		return;
	pthread_mutex_lock(&w->log_lock);
	snprintf(w->log, sizeof(w->log), "%s", msg);
	pthread_mutex_unlock(&w->log_lock);
}

/*
 * Waits up to ms (or until kicked, with kick). The signal handler cannot
 * wake the condition variable, so the wait looks at stop_requested at least
 * every STOP_CHECK_MS: SIGTERM never waits out a SLOW_DOWN step.
 */
static void worker_wait(struct worker *w, int64_t ms, int kick)
{
	struct timespec end, ts;
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&w->lock);
	while (!stop_requested && !(kick && w->kicked)) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (ts.tv_sec > end.tv_sec ||
		    (ts.tv_sec == end.tv_sec && ts.tv_nsec >= end.tv_nsec))
			break;
		ts.tv_nsec += STOP_CHECK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (ts.tv_sec > end.tv_sec || (ts.tv_sec == end.tv_sec && ts.tv_nsec > end.tv_nsec))
			ts = end;
		pthread_cond_timedwait(&w->wake, &w->lock, &ts);
	}
	if (kick)
		w->kicked = 0;
	pthread_mutex_unlock(&w->lock);
}

static void kick_courier(struct courier *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->kicked = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
}

static void kick_worker(struct worker *w)
{
	pthread_mutex_lock(&w->lock);
	w->kicked = 1;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
}

/* The API wrote something: events to step, or a command to deliver. */
static void kick(void *ud)
{
	struct worker *w = ud;
	kick_worker(w);
	kick_courier(w->courier);
}

/* After each commit of the worker's engine: metrics, live update, pacing. */
static void observe(const struct stw_activity *a, void *ud)
{
	struct worker *w = ud;
	struct stw_stats st;
	stw_get_stats(w->e, &st);
	stw__http_metrics_record(&w->metrics, a, &st);
	stw__http_notify(w->http);
	if (a->kind == STW_ACTIVITY_STEP || a->kind == STW_ACTIVITY_TIMERS ||
	    a->kind == STW_ACTIVITY_PERIODIC)
		kick_courier(w->courier); /* it may have written commands */
	if (!w->o->slow)
		return;
	if (a->kind == STW_ACTIVITY_STEP && a->stateful)
		worker_wait(w, (int64_t)SLOW_STEP_MS * a->count, 0);
	else if (a->kind == STW_ACTIVITY_DELIVERY)
		worker_wait(w, (int64_t)SLOW_COMMAND_MS * a->count, 0);
}

static void courier_observe(const struct stw_activity *a, void *ud)
{
	struct courier *c = ud;
	struct stw_stats st;
	stw_get_stats(c->e, &st);
	stw__http_metrics_remote(&c->w->metrics, &st);
	stw__http_notify(c->w->http);
	if (a->kind == STW_ACTIVITY_APPEND)
		kick_worker(c->w); /* a service answered with events */
}

static int64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void *courier_run(void *ud)
{
	struct courier *c = ud;
	while (!stop_requested) {
		pthread_mutex_lock(&c->lock);
		int stop = c->stop;
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;
		int n = 0;
		/* The poll for commands other processes wrote (a cluster's members are woken). */
		int64_t wait = c->w->cluster ? CLUSTER_POLL_MS : POLL_MS;
		int rc = stw_deliver_remote(c->e, &n);
		stw__http_metrics_store(&c->w->metrics, STW__HTTP_DELIVERY, c->e);
		if (rc != STW_OK) {
			stw__cli_error_text("", stw_errmsg(c->e), " (retrying)");
			wait = RETRY_MS;
		} else if (n > 0) {
			continue;
		} else {
			int64_t due = 0;
			if (stw_next_delivery(c->e, &due) == STW_OK && due - wall_ms() < wait)
				wait = due - wall_ms();
		}
		if (wait <= 0)
			continue;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&c->lock);
		while (!c->kicked && !c->stop && !stop_requested)
			if (pthread_cond_timedwait(&c->wake, &c->lock, &ts) == ETIMEDOUT)
				break;
		c->kicked = 0;
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/* 1 if a context of the engine is remote. */
static int has_remote(struct stw_engine *e)
{
	json_t *ctx = NULL;
	int found = 0;
	if (stw_list_contexts(e, &ctx) == STW_OK) {
		size_t i;
		json_t *c;
		json_array_foreach(ctx, i, c) found |= json_is_true(json_object_get(c, "remote"));
	}
	json_decref(ctx);
	return found;
}

/* Starts the courier if a context is remote; 0 on success (also when none is). */
static int courier_start(struct worker *w, const struct stw__cli_daemon_options *o)
{
	if (!has_remote(w->e))
		return 0;
	struct courier *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -1;
	c->w = w;
	struct stw_options eo = {
		.synchronous = o->synchronous > 0 ? o->synchronous - 1 : -1,
		.observer = courier_observe,
		.observer_ud = c,
		.write_gate = w->gate,
		.cluster = w->cluster,
	};
	int rc = stw_open(o->store, &eo, &c->e);
	if (rc == STW_OK && o->setup != NULL)
		rc = o->setup(c->e, o->setup_ud);
	if (rc != STW_OK) {
		stw__cli_error_text("remote delivery: ", c->e ? stw_errmsg(c->e) : stw_strerror(rc),
				    "");
		stw_close(c->e);
		free(c);
		return -1;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, courier_run, c) != 0) {
		pthread_cond_destroy(&c->wake);
		pthread_mutex_destroy(&c->lock);
		stw_close(c->e);
		free(c);
		return -1;
	}
	pthread_setname_np(c->thread, "stw-delivery");
	w->courier = c;
	return 0;
}

static void courier_stop(struct worker *w)
{
	struct courier *c = w->courier;
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = 1;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	w->courier = NULL;
	stw_close(c->e);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

struct narration {
	const char *context;
	int64_t seen;
};

static int print_event(const struct stw_event *ev, void *ud)
{
	struct narration *n = ud;
	char *data = json_dumps(ev->data, JSON_COMPACT);
	struct stw__cli_buf b = { 0 };
	stw__cli_buf_puts(&b, "  ");
	stw__cli_buf_padded(&b, ev->context, 8);
	stw__cli_buf_printf(&b, " #%-5lld ", (long long)ev->position);
	stw__cli_buf_padded(&b, ev->type, 34);
	stw__cli_buf_puts(&b, " ");
	stw__cli_buf_cell(&b, data ? data : "{}", 0);
	stw__cli_buf_puts(&b, "  (correlation ");
	stw__cli_buf_cell(&b, ev->correlation_id ? ev->correlation_id : "-", 0);
	stw__cli_buf_puts(&b, ")");
	const char *line = stw__cli_buf_str(&b);
	printf("%s\n", line ? line : "  (an event: out of memory)");
	free(b.p);
	free(data);
	n->seen = ev->position;
	return 0;
}

static void narrate(struct stw_engine *e, struct narration *n, int count)
{
	for (int i = 0; i < count; i++) {
		int read = 0;
		do {
			if (stw_read(e, n[i].context, n[i].seen, NARRATE_PAGE, print_event, &n[i],
				     &read) != STW_OK)
				break;
		} while (read == NARRATE_PAGE);
	}
	fflush(stdout);
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int stw__cli_daemon_token(const char *file, char **out)
{
	*out = NULL;
	if (file == NULL) {
		const char *env = getenv("STEWARD_TOKEN");
		if (env != NULL && *env != '\0' && (*out = strdup(env)) == NULL) {
			fprintf(stderr, "steward: out of memory\n");
			return 1;
		}
		return 0;
	}
	FILE *f = fopen(file, "r");
	if (f == NULL) {
		fprintf(stderr, "steward: cannot read the token file %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0)
		fprintf(stderr, "steward: warning: the token file %s is readable by other users\n",
			file);
	char buf[STW_TOKEN_MAX + 3];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	int bad = ferror(f);
	fclose(f);
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	if (bad || n == 0 || strlen(buf) != n) {
		fprintf(stderr, "steward: the token file %s is %s\n", file,
			bad ? "unreadable" : "empty or holds a NUL byte");
		return 1;
	}
	*out = strdup(buf);
	explicit_bzero(buf, sizeof(buf));
	if (*out == NULL) {
		fprintf(stderr, "steward: out of memory\n");
		return 1;
	}
	return 0;
}

/* The worker's retention (o->retention): whether a pass is under way, and when the next starts. */
struct pruning {
	int active;
	double next; /* seconds since the worker started */
};

/*
 * Between two rounds: runs a batch of the retention pass under way, or
 * starts a pass when one is due (t: seconds since the worker started).
 * stw_prune with max_ms 1 returns after its first batch (or a few that
 * found nothing), so a step waits for one batch at most; the next call goes
 * on where it stopped. Returns 1 while a pass is under way: the worker does
 * not sleep then.
 */
static int retention_step(struct worker *w, struct pruning *p, double t)
{
	const struct stw__cli_retention *r = &w->o->retention;
	if (!stw__cli_retention_on(r) || (!p->active && t < p->next))
		return 0;
	/* In a cluster, the worker that runs the periodic processes prunes. */
	if (!stw_cluster_holds_periodic(w->cluster))
		return 0;
	p->active = 1;
	struct stw_prune_opts po = { .ended_older_than_ms = r->keep_ended_ms,
				     .dedup_older_than_ms = r->keep_dedup_ms,
				     .batch = r->batch,
				     .max_ms = 1 };
	struct stw_prune_stats st;
	int rc = stw_prune(w->e, &po, &st);
	stw__http_metrics_retention(&w->metrics, &st);
	if (rc != STW_OK)
		stw__cli_error_text("retention: ", stw_errmsg(w->e), " (again at the next pass)");
	if (rc != STW_OK || st.finished) {
		int64_t every = r->every_ms > 0 ? r->every_ms : STW__CLI_RETENTION_EVERY_MS;
		p->active = 0;
		p->next = t + (double)every / 1000;
	}
	return p->active;
}

/* The membership's log: what moves between workers, on stderr. */
static void cluster_log(enum stw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= STW_LOG_INFO)
		fprintf(stderr, "steward: %s\n", msg);
}

/*
 * Says so when this daemon, in no cluster, opens a store that workers of a
 * cluster are working on: it reads every event with cursors of its own, so
 * it does their work again beside them (safely: version checks, the history
 * and the command ids keep it from doing anything twice, but for nothing).
 */
static void warn_if_cluster_live(struct worker *w, const struct stw__cli_daemon_options *o)
{
	json_t *view = NULL;
	if (o->cluster.enabled || stw_cluster_view(w->e, &view) != STW_OK)
		return;
	size_t i, live = 0;
	json_t *x;
	json_array_foreach(json_object_get(view, "workers"), i, x) live +=
	    json_is_true(json_object_get(x, "live"));
	if (live > 0)
		fprintf(
		    stderr,
		    "steward: warning: %zu workers of a cluster are live on this store, and "
		    "this daemon is in no cluster ([cluster] enabled is off): it will do their "
		    "work again beside them; give it [cluster] enabled = on to share the work\n",
		    live);
	json_decref(view);
}

/*
 * Records, for the other workers, the address the server listens on now:
 * the configured host with the port it has (the one it chose, for port 0).
 */
static void record_address(struct worker *w, const struct stw__cli_daemon_options *o)
{
	if (w->cluster == NULL)
		return;
	const char *listen = o->listen != NULL ? o->listen : "127.0.0.1:8080";
	const char *colon = strrchr(listen, ':');
	int host_len = colon != NULL ? (int)(colon - listen) : 0;
	char address[300];
	snprintf(address, sizeof address, "%.*s:%d", host_len, listen, stw__http_port(w->http));
	stw_cluster_set_address(w->cluster, address);
}

/*
 * Joins the store's cluster when [cluster] says so (once). STW_EINVAL
 * after saying why for a setting that cannot work; another code leaves
 * the message in w->log, as a store that does not open yet does.
 */
static int join_cluster(struct worker *w, const struct stw__cli_daemon_options *o)
{
	const struct stw__cli_cluster *c = &o->cluster;
	if (!c->enabled || w->cluster != NULL)
		return STW_OK;
	/* Where its API listens, as configured (none without a server). */
	const char *address = o->listen;
	if (address != NULL && (strcmp(address, "") == 0 || strcmp(address, "off") == 0))
		address = NULL;
	struct stw_cluster_options co = {
		.store = o->store,
		.worker = c->worker[0] ? c->worker : NULL,
		.address = address,
		.partitions = c->partitions,
		.lease_ms = c->lease_ms,
		.renew_ms = c->renew_ms,
		.moves = c->moves,
		.audit = c->audit,
		.log = cluster_log,
		.on_work = kick,
		.work_ud = w,
	};
	char err[STW__CLI_MAX_LOG];
	int rc = stw_cluster_join(&co, &w->cluster, err, sizeof err);
	if (rc == STW_EINVAL) {
		stw__cli_error("[cluster]: %s", err);
		w->cluster_refused = 1;
	} else if (rc != STW_OK) {
		pthread_mutex_lock(&w->log_lock);
		snprintf(w->log, sizeof(w->log), "%s", err);
		pthread_mutex_unlock(&w->log_lock);
	}
	return rc;
}

/*
 * Opens the worker's engine. A store that cannot be opened yet (a database
 * server starting, or not reachable yet) is tried again for up to
 * o->store_wait_ms, every 250 ms doubling to 5 s, each failure said on
 * stderr; SIGINT or SIGTERM ends the wait. Returns stw_open's last code.
 */
static int open_store(struct worker *w, const struct stw__cli_daemon_options *o,
		      const struct stw_options *eo, const char *shown)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int64_t pause = 250;
	struct stw_options with = *eo;
	for (;;) {
		int rc = join_cluster(w, o);
		if (rc == STW_EINVAL)
			return rc; /* a setting is wrong: said already, no wait helps */
		with.cluster = w->cluster;
		if (rc == STW_OK)
			rc = stw_open(o->store, &with, &w->e);
		double waited = seconds_since(&start) * 1000;
		if (rc == STW_OK || stop_requested ||
		    waited + (double)pause > (double)o->store_wait_ms)
			return rc;
		char why[STW__CLI_MAX_LOG];
		fprintf(stderr, "steward: waiting for %s (%.0f s of %lld): %s\n", shown,
			waited / 1000, (long long)(o->store_wait_ms / 1000),
			stw__cli_shown_n(why, sizeof(why), stw__cli_open_reason(w->log, rc),
					 STW__CLI_MAX_LOG / 2));
		worker_wait(w, pause, 0);
		if (stop_requested)
			return rc;
		pause = pause * 2 > 5000 ? 5000 : pause * 2;
	}
}

int stw__cli_daemon_run(const struct stw__cli_daemon_options *o)
{
	struct worker w = { .o = o };
	stw__http_metrics_init(&w.metrics);
	pthread_mutex_init(&w.lock, NULL);
	pthread_mutex_init(&w.log_lock, NULL);
	pthread_cond_init(&w.wake, NULL);
	int status = 1;
	char *token = NULL;
	if (stw_write_gate_new(GATE_WAIT_MS, &w.gate) != STW_OK) {
		fprintf(stderr, "steward: out of memory\n");
		goto out;
	}
	struct stw_options eo = {
		.synchronous = o->synchronous > 0 ? o->synchronous - 1 : -1,
		.log = worker_log,
		.log_ud = &w,
		.observer = observe,
		.observer_ud = &w,
		.batch_size = o->slow ? 1 : 0,
		.separate_remote_delivery = 1,
		.write_gate = w.gate,
	};
	char shown[STW__CLI_STORE_SHOWN_CAP]; /* the store without its password */
	stw__cli_store_shown(shown, o->store);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	int rc = open_store(&w, o, &eo, shown);
	if (rc != STW_OK && w.cluster_refused)
		goto out;
	if (rc != STW_OK) {
		char why[STW__CLI_MAX_LOG];
		stw__cli_error("cannot open %s: %s", shown,
			       stw__cli_shown_n(why, sizeof(why), stw__cli_open_reason(w.log, rc),
						STW__CLI_MAX_LOG / 2));
		goto out;
	}
	warn_if_cluster_live(&w, o);
	if (o->setup != NULL && (rc = o->setup(w.e, o->setup_ud)) != STW_OK) {
		if (stw_errmsg(w.e)[0] != '\0') /* else the setup said why */
			stw__cli_error_text("", stw_errmsg(w.e), "");
		goto out;
	}
	int web =
	    o->listen == NULL || (strcmp(o->listen, "") != 0 && strcmp(o->listen, "off") != 0);
	if (web && stw__cli_daemon_token(o->token_file, &token) != 0)
		goto out;
	if (web) {
		struct stw__http_config hc = {
			.listen = o->listen,
			.store = o->store,
			.setup = o->setup,
			.setup_ud = o->setup_ud,
			.route = o->route,
			.route_ud = o->route_ud,
			.metrics = &w.metrics,
			.kick = kick,
			.kick_ud = &w,
			.token = token,
			.accept_contexts = o->accept_contexts,
			.stuck_after_ms = o->stuck_after_ms,
			.write_gate = w.gate,
			.cluster = w.cluster,
			.threads = o->http.threads,
			.max_connections = o->http.max_connections,
			.max_per_ip = o->http.max_per_ip,
			.read_timeout_s = o->http.read_timeout_s,
			.max_streams = o->http.max_streams,
		};
		char err[512];
		if (stw__http_start(&hc, &w.http, err, sizeof(err)) != STW_OK) {
			stw__cli_error_text("", err, ""); /* may quote the engine's error */
			goto out;
		}
		record_address(&w, o);
		struct stw__http_config in_force;
		stw__http_limits(w.http, &in_force);
		if (o->http.max_connections > in_force.max_connections)
			fprintf(stderr,
				"steward: warning: max_connections is %d, not %d: the open-file "
				"limit (ulimit -Hn) allows no more\n",
				in_force.max_connections, o->http.max_connections);
	}
	signal(SIGPIPE, SIG_IGN);
	if (courier_start(&w, o) != 0) {
		status = 1;
		goto out;
	}
	printf("steward %s on %s%s\n", stw_version(), shown, o->slow ? " (SLOW_DOWN)" : "");
	if (w.http != NULL)
		printf("open http://localhost:%d/ (Ctrl-C stops; restarting carries on)%s\n",
		       stw__http_port(w.http), token ? "; a token is required" : "");
	fflush(stdout);

	struct narration n[MAX_NARRATED];
	int nn = 0;
	for (int i = 0; !o->quiet && o->narrate && o->narrate[i] && nn < MAX_NARRATED; i++, nn++) {
		n[nn].context = o->narrate[i];
		if (stw_head(w.e, n[nn].context, &n[nn].seen) != STW_OK)
			n[nn].seen = 0;
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	unsigned rng = o->seed;
	double next_tick = 0;
	int tick = 0;
	struct pruning pruning = { 0 };
	status = 0;
	while (!stop_requested) {
		double t = seconds_since(&start);
		if (o->run_for > 0 && t >= o->run_for)
			break;
		if (o->simulate != NULL && o->every > 0 && t >= next_tick) {
			o->simulate(w.e, &rng, tick++, o->simulate_ud);
			next_tick = t + o->every;
		}
		int did = 0;
		rc = stw_run_once(w.e, &did);
		stw__http_metrics_round(&w.metrics, rc, rc == STW_OK ? NULL : stw_errmsg(w.e));
		stw__http_metrics_store(&w.metrics, STW__HTTP_WORKER, w.e);
		if (rc != STW_OK) {
			stw__cli_error_text("", stw_errmsg(w.e), " (retrying)");
			worker_wait(&w, RETRY_MS, 0);
			continue;
		}
		narrate(w.e, n, nn);
		int pruning_on = retention_step(&w, &pruning, t);
		if (did == 0 && !pruning_on) {
			/* Idle: sleep until the next timer falls due (at most 100 ms, the
			 * poll for events appended by other processes), or until the API
			 * wakes us. */
			int64_t wait = w.cluster ? CLUSTER_POLL_MS : POLL_MS, due = 0;
			struct timespec wall;
			clock_gettime(CLOCK_REALTIME, &wall);
			int64_t now = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
			if (stw_next_timer(w.e, &due) == STW_OK && due - now < wait)
				wait = due - now > 0 ? due - now : 0;
			if (wait > 0)
				worker_wait(&w, wait, 1);
		}
	}
	printf("steward: stopped\n");
out:
	courier_stop(&w);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	stw__http_stop(w.http);
	stw_close(w.e);
	stw_cluster_leave(w.cluster); /* after the engines it fences: its partitions go at once */
	stw_write_gate_free(w.gate);  /* after every engine that used it */
	pthread_cond_destroy(&w.wake);
	pthread_mutex_destroy(&w.lock);
	pthread_mutex_destroy(&w.log_lock);
	stw__http_metrics_destroy(&w.metrics);
	return status;
}

int stw__cli_demo_list(struct stw__http_request *r, const char *definition, const char *key,
		       int (*view)(struct stw_engine *e, const char *id, json_t **out))
{
	struct stw_instance_filter f = { .definition = definition, .limit = DEMO_LIST_MAX };
	json_t *procs = NULL, *out = json_array();
	int rc = out ? stw_list_instances(r->engine, &f, &procs) : STW_ENOMEM;
	size_t i;
	json_t *p;
	json_array_foreach(procs, i, p)
	{
		if (rc != STW_OK)
			break;
		json_t *o = NULL;
		if (view(r->engine, json_string_value(json_object_get(p, "id")), &o) != STW_OK)
			continue;
		json_object_set_new(
		    o, "process",
		    json_pack("{s:O, s:O, s:O, s:O}", "id", json_object_get(p, "id"), "state",
			      json_object_get(p, "state"), "status", json_object_get(p, "status"),
			      "reason", json_object_get(p, "reason")));
		json_array_append_new(out, o);
	}
	json_decref(procs);
	if (rc != STW_OK) {
		json_decref(out);
		return stw__http_engine_error(r, rc);
	}
	return stw__http_reply(r, 200, json_pack("{s:o}", key, out));
}
