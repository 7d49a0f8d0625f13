/*
 * bench_peers_steward.c - Steward's side of the peers benchmark
 * (bench/peers/run.sh runs it next to pg-boss and DBOS on PostgreSQL, and Restate).
 *
 * Workload: N instances of a three-step process, event -> command -> event
 * -> command -> event -> command. A trigger event (Started) creates the
 * instance and sends Do1; the in-process service answers each command with
 * the next event (Do1 -> Done1, Do2 -> Done2, Do3 -> Done3); Done1 moves the
 * instance to S2 and sends Do2, Done2 moves it to S3 (terminal) and sends
 * Do3. Done3 ends the exchange: no transition takes it.
 *
 * A step is one durable transition: the new state recorded and the next
 * command enqueued in the same transaction (here the step transaction:
 * instance, history row, outbox row, cursor). Three steps per instance.
 * Each command's delivery commits the service's answer with the dedup
 * record of the command id. The store is durable: SQLite in WAL mode with
 * synchronous=FULL, the default.
 *
 * Timed: from appending the N trigger events (one append, on one stream) until the engine
 * is idle, that is every instance is in S3 and every command is delivered.
 * Prints `bench peers_steward <steps/s> steps/s`.
 *
 * With --pg, the same on PostgreSQL (the server STEWARD_TEST_PG_URL names;
 * bench/peers/run.sh gives it the server pg-boss and DBOS run on), the
 * store in the schema bench_peers_steward, dropped at the end: `bench
 * peers_steward_pg <steps/s> steps/s`, with the WAL written, the
 * statements run and the commits per step (bench_pg.h).
 *
 * With --rate R --starters C, the latency run instead (run_latency): P
 * processes (--processes; default two seconds' worth at R, at least 20)
 * started open loop at R per second by C concurrent starters, on SQLite.
 *
 * usage: bench_peers_steward [--instances N] [--dir DIR | --pg]
 *        [--rate R --starters C [--processes P]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

#include "bench_util.h"

#ifdef STW_HAVE_POSTGRES
#include "bench_pg.h"
#endif

static const struct stw_state_def states[] = {
	{ "S1", STW_STATE_ACTIVE },
	{ "S2", STW_STATE_ACTIVE },
	{ "S3", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def do1[] = { { "Svc", "Do1", NULL }, { NULL, NULL, NULL } };
static const struct stw_command_def do2[] = { { "Svc", "Do2", NULL }, { NULL, NULL, NULL } };
static const struct stw_command_def do3[] = { { "Svc", "Do3", NULL }, { NULL, NULL, NULL } };
static const struct stw_transition_def transitions[] = {
	{ NULL, "Started", "S1", do1, NULL, NULL },
	{ "S1", "Done1", "S2", do2, NULL, NULL },
	{ "S2", "Done2", "S3", do3, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "Svc", NULL };
static const struct stw_definition def = {
	.name = "three_steps",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* The simulated service: answers DoK with DoneK on the instance's stream. */
static int service(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)ud;
	const char *answer = strcmp(cmd->type, "Do1") == 0   ? "Done1"
			     : strcmp(cmd->type, "Do2") == 0 ? "Done2"
							     : "Done3";
	char stream[STW_MAX_ID + 4];
	snprintf(stream, sizeof(stream), "p-%s", cmd->correlation_id ? cmd->correlation_id : "");
	return stw_svc_emit(sc, stream, STW_ANY_VERSION, answer, NULL);
}

/*
 * The check after a run of n processes, rc being how it went: every step and
 * command done once (3 n each), none rejected or failed, no instance left
 * active. Says what is wrong on stderr and returns 1, else 0.
 */
static int check(struct stw_engine *e, int rc, long n)
{
	struct stw_stats st = { 0 };
	json_t *active = NULL;
	if (rc == STW_OK) {
		stw_get_stats(e, &st);
		rc = stw_list_instances(e, &(struct stw_instance_filter){ .status = "active" },
					&active);
	}
	int ok = rc == STW_OK && st.steps == (uint64_t)(3 * n) &&
		 st.commands_delivered == (uint64_t)(3 * n) && st.commands_rejected == 0 &&
		 st.failures == 0 && json_array_size(active) == 0;
	if (!ok)
		fprintf(stderr,
			"bench_peers_steward: %s (%s); %llu steps, %llu commands delivered, "
			"%zu active instances, expected %ld steps and commands\n",
			stw_strerror(rc), e ? stw_errmsg(e) : "", (unsigned long long)st.steps,
			(unsigned long long)st.commands_delivered, json_array_size(active), 3 * n);
	json_decref(active);
	return ok ? 0 : 1;
}

/* Called just before (after = 0) and just after (1) the timed part; may be NULL. */
typedef int (*mark_fn)(void *ud, int after);

/* Runs the workload on a new store at `path`; *seconds receives the timed part. */
static int run(const char *path, long n, mark_fn mark, void *ud, double *seconds)
{
	struct stw_options o = { .synchronous = 2 };
	struct stw_engine *e = NULL;
	struct stw_event *evs = calloc((size_t)n, sizeof(*evs));
	char(*ids)[24] = calloc((size_t)n, sizeof(*ids));
	int rc = evs && ids ? STW_OK : STW_ENOMEM;
	if (rc == STW_OK)
		rc = stw_open(path, &o, &e);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Svc", service, NULL);
	if (rc == STW_OK)
		rc = stw_define(e, &def);
	for (long i = 0; rc == STW_OK && i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "p%ld", i);
		evs[i] = (struct stw_event){ .id = ids[i],
					     .type = "Started",
					     .stream = "triggers",
					     .correlation_id = ids[i] };
	}
	if (rc == STW_OK && mark != NULL && mark(ud, 0) != 0)
		rc = STW_ESTORE;
	double t0 = bench_now_s();
	if (rc == STW_OK)
		rc = stw_append(e, "Svc", STW_ANY_VERSION, evs, (size_t)n, NULL);
	if (rc == STW_OK)
		rc = stw_run_until_idle(e);
	*seconds = bench_now_s() - t0;
	if (rc == STW_OK && mark != NULL && mark(ud, 1) != 0)
		rc = STW_ESTORE;
	int failed = check(e, rc, n);
	stw_close(e);
	free(evs);
	free(ids);
	return failed;
}

/*
 * The latency run (--rate R --starters C [--processes P]): P processes
 * started open loop at R per second by C starter threads, each with its own
 * engine on the store (the engines of the process share a write gate, as
 * the daemon's do), while a worker thread runs the rounds on one more
 * engine, waking when a starter has appended (or every 100 ms, the daemon's
 * poll). Process i is due at t0 + i / R and goes to starter i mod C, which
 * sleeps until then (or goes at once when it is behind) and appends its
 * trigger event, a transaction of its own. The process is complete when the
 * round in which the service answered its Do3 has returned (committed); its
 * latency is that time less its due time. Prints
 * `bench peers_steward_c<C>_latency_p50 <ms> ms` and p99, after the checks
 * of run().
 */
struct latency {
	const char *path;            /* the store, new */
	long processes;              /* P */
	double rate;                 /* R, processes per second */
	int starters;                /* C */
	double t0;                   /* when process 0 is due (bench_now_s) */
	double *done;                /* per process, when seen complete; 0 until then */
	long *seen;                  /* processes whose Do3 the service answered this round */
	long nseen;                  /* entries of seen */
	struct stw_write_gate *gate; /* shared by the worker's and the starters' engines */
	pthread_mutex_t lock;        /* guards appended and failed */
	pthread_cond_t wake;         /* a starter appended */
	long appended;               /* trigger events appended, under lock */
	int failed;                  /* a starter failed, under lock */
};

/* The service of the latency run: run()'s, also noting whose Do3 it answered. */
static int latency_service(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct latency *l = ud;
	long i = -1;
	if (strcmp(cmd->type, "Do3") == 0 && cmd->correlation_id != NULL &&
	    sscanf(cmd->correlation_id, "p%ld", &i) == 1 && i >= 0 && i < l->processes &&
	    l->nseen < l->processes)
		l->seen[l->nseen++] = i;
	return service(sc, cmd, NULL);
}

/* A starter thread: its processes i = j, j + C, ..., each appended when due. */
struct starter {
	struct latency *l;
	int j;
	struct stw_engine *e; /* its own, opened before the run (opens at once would be busy) */
};

static void *starter_main(void *arg)
{
	const struct starter *s = arg;
	struct latency *l = s->l;
	struct stw_engine *e = s->e;
	int rc = STW_OK, stop = 0;
	for (long i = s->j; rc == STW_OK && !stop && i < l->processes; i += l->starters) {
		char id[24];
		snprintf(id, sizeof(id), "p%ld", i);
		struct stw_event ev = {
			.id = id, .type = "Started", .stream = "triggers", .correlation_id = id
		};
		bench_sleep_until(l->t0 + (double)i / l->rate);
		rc = stw_append(e, "Svc", STW_ANY_VERSION, &ev, 1, NULL);
		pthread_mutex_lock(&l->lock);
		l->appended++;
		stop = l->failed;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
	}
	if (rc != STW_OK) {
		fprintf(stderr, "bench_peers_steward: a starter: %s (%s)\n", stw_strerror(rc),
			stw_errmsg(e));
		pthread_mutex_lock(&l->lock);
		l->failed = 1;
		pthread_cond_signal(&l->wake);
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

/*
 * The worker: rounds until every process is complete; 0 when they all are, 1
 * when a round or a starter failed or when, every trigger appended, rounds
 * found nothing to do for 5 s with processes still incomplete.
 */
static int latency_work(struct latency *l, struct stw_engine *e)
{
	long complete = 0, handled = 0;
	int idle = 0; /* idle waits in a row once every trigger is appended */
	while (complete < l->processes) {
		int did = 0;
		int rc = stw_run_once(e, &did);
		if (rc != STW_OK) {
			fprintf(stderr, "bench_peers_steward: a round: %s (%s)\n", stw_strerror(rc),
				stw_errmsg(e));
			return 1;
		}
		double t = bench_now_s();
		for (long k = 0; k < l->nseen; k++)
			if (l->done[l->seen[k]] == 0) {
				l->done[l->seen[k]] = t;
				complete++;
			}
		l->nseen = 0;
		if (did)
			continue;
		pthread_mutex_lock(&l->lock);
		if (l->appended == handled && !l->failed) {
			struct timespec ts = bench_realtime_in(100);
			pthread_cond_timedwait(&l->wake, &l->lock, &ts);
		}
		idle = handled == l->appended && handled == l->processes ? idle + 1 : 0;
		handled = l->appended;
		int failed = l->failed;
		pthread_mutex_unlock(&l->lock);
		if (failed)
			return 1;
		if (idle > 50) {
			fprintf(stderr,
				"bench_peers_steward: %ld of %ld processes complete, "
				"and nothing left to do\n",
				complete, l->processes);
			return 1;
		}
	}
	return 0;
}

static int run_latency(struct latency *l)
{
	struct stw_engine *e = NULL;
	pthread_t *threads = calloc((size_t)l->starters, sizeof(*threads));
	struct starter *starters = calloc((size_t)l->starters, sizeof(*starters));
	l->done = calloc((size_t)l->processes, sizeof(*l->done));
	l->seen = calloc((size_t)l->processes, sizeof(*l->seen));
	int rc = threads && starters && l->done && l->seen ? STW_OK : STW_ENOMEM;
	if (rc == STW_OK)
		rc = stw_write_gate_new(10000, &l->gate);
	struct stw_options o = { .synchronous = 2, .write_gate = l->gate };
	if (rc == STW_OK)
		rc = stw_open(l->path, &o, &e);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Svc", latency_service, l);
	if (rc == STW_OK)
		rc = stw_define(e, &def);
	struct stw_options so = { .synchronous = 2, .page_cache_kb = -1, .write_gate = l->gate };
	for (int j = 0; rc == STW_OK && j < l->starters; j++) {
		starters[j] = (struct starter){ .l = l, .j = j };
		rc = stw_open(l->path, &so, &starters[j].e);
	}
	int started = 0, failed = rc != STW_OK;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	l->t0 = bench_now_s() + 0.02;
	for (int j = 0; !failed && j < l->starters; j++) {
		failed = pthread_create(&threads[j], NULL, starter_main, &starters[j]) != 0;
		started += !failed;
	}
	if (!failed)
		failed = latency_work(l, e);
	if (failed) {
		pthread_mutex_lock(&l->lock);
		l->failed = 1;
		pthread_mutex_unlock(&l->lock);
	}
	for (int j = 0; j < started; j++)
		pthread_join(threads[j], NULL);
	failed |= l->failed;
	if (!failed)
		failed = check(e, rc, l->processes);
	else if (rc != STW_OK)
		fprintf(stderr, "bench_peers_steward: %s (%s)\n", stw_strerror(rc),
			e ? stw_errmsg(e) : "");
	if (!failed) {
		double *ms = l->done; /* reused: latencies in ms */
		for (long i = 0; i < l->processes; i++)
			ms[i] = (l->done[i] - (l->t0 + (double)i / l->rate)) * 1000.0;
		size_t n = (size_t)l->processes;
		printf("bench peers_steward_c%d_latency_p50 %.2f ms\n", l->starters,
		       bench_percentile(ms, n, 50));
		printf("bench peers_steward_c%d_latency_p99 %.2f ms\n", l->starters,
		       bench_percentile(ms, n, 99));
	}
	stw_close(e);
	for (int j = 0; starters != NULL && j < l->starters; j++)
		stw_close(starters[j].e);
	stw_write_gate_free(l->gate);
	pthread_cond_destroy(&l->wake);
	pthread_mutex_destroy(&l->lock);
	free(l->done);
	free(l->seen);
	free(threads);
	free(starters);
	return failed;
}

#ifdef STW_HAVE_POSTGRES
/* The workload on the server STEWARD_TEST_PG_URL names. */
static int run_pg(long n)
{
	const char *server;
	struct bench_pg_probe probe;
	int rc = bench_pg_start(&probe, &server, "bench_peers_steward");
	if (rc != 0)
		return rc;
	char url[1024];
	double seconds = 0;
	int failed = bench_pg_schema(probe.c, server, "bench_peers_steward", url, sizeof url,
				     "bench_peers_steward") != 0 ||
		     run(url, n, bench_pg_probe_mark, &probe, &seconds) != 0;
	if (!failed) {
		printf("bench peers_steward_pg_instances %ld instances\n", n);
		printf("bench peers_steward_pg %.0f steps/s\n", (double)(3 * n) / seconds);
		bench_pg_print(probe.c, "peers_steward_pg", "step", (double)(3 * n), seconds,
			       &probe.a, &probe.b);
	}
	bench_pg_drop(probe.c, "bench_peers_steward", "bench_peers_steward");
	PQfinish(probe.c);
	return failed;
}
#else
static int run_pg(long n)
{
	(void)n;
	fprintf(stderr, "bench_peers_steward: this build has no PostgreSQL store\n");
	return 2;
}
#endif

int main(int argc, char **argv)
{
	long n = 2000;
	const char *dir = NULL;
	int pg = 0;
	struct latency l = { .starters = 1 };
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instances") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			l.rate = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--starters") == 0 && i + 1 < argc)
			l.starters = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--processes") == 0 && i + 1 < argc)
			l.processes = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--pg") == 0)
			pg = 1;
		else {
			fprintf(stderr,
				"usage: bench_peers_steward [--instances N] [--dir DIR | --pg]\n"
				"       [--rate R --starters C [--processes P]]\n");
			return 2;
		}
	}
	if (n < 1 || n > 10000000) {
		fprintf(stderr, "bench_peers_steward: --instances must be 1 to 10,000,000\n");
		return 2;
	}
	if (l.processes == 0)
		l.processes = l.rate * 2 > 20 ? (long)(l.rate * 2) : 20;
	if (l.rate < 0 || l.starters < 1 || l.starters > 1000 || l.processes < 1 ||
	    l.processes > 10000000 || (l.rate > 0 && pg)) {
		fprintf(stderr, "bench_peers_steward: --rate needs a positive rate, 1 to 1,000 "
				"starters and 1 to 10,000,000 processes, on SQLite\n");
		return 2;
	}
	if (pg)
		return run_pg(n);
	char tmp[32];
	if ((dir = bench_dir(dir, tmp, "bench_peers_steward")) == NULL)
		return 1;
	char db[512];
	snprintf(db, sizeof(db), "%s/peers.db", dir);
	unlink(db);
	double seconds = 0;
	int failed;
	if (l.rate > 0) {
		l.path = db;
		failed = run_latency(&l);
	} else if ((failed = run(db, n, NULL, NULL, &seconds)) == 0) {
		printf("bench peers_steward_instances %ld instances\n", n);
		printf("bench peers_steward %.0f steps/s\n", (double)(3 * n) / seconds);
	}
	bench_rm_dir(dir, tmp, "bench_peers_steward");
	return failed;
}
