/*
 * bench_peers_steward.c - Steward's side of the peers benchmark
 * (bench/peers/run.sh runs it next to pg-boss and DBOS on PostgreSQL).
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
 * usage: bench_peers_steward [--instances N] [--dir DIR | --pg]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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
	double t0 = now_s();
	if (rc == STW_OK)
		rc = stw_append(e, "Svc", STW_ANY_VERSION, evs, (size_t)n, NULL);
	if (rc == STW_OK)
		rc = stw_run_until_idle(e);
	*seconds = now_s() - t0;
	if (rc == STW_OK && mark != NULL && mark(ud, 1) != 0)
		rc = STW_ESTORE;
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
	stw_close(e);
	free(evs);
	free(ids);
	return ok ? 0 : 1;
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
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instances") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--pg") == 0)
			pg = 1;
		else {
			fprintf(stderr,
				"usage: bench_peers_steward [--instances N] [--dir DIR | --pg]\n");
			return 2;
		}
	}
	if (n < 1 || n > 10000000) {
		fprintf(stderr, "bench_peers_steward: --instances must be 1 to 10,000,000\n");
		return 2;
	}
	if (pg)
		return run_pg(n);
	char tmp[] = "/tmp/stw-bench-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char db[512];
	snprintf(db, sizeof(db), "%s/peers.db", dir);
	unlink(db);
	double seconds = 0;
	int failed = run(db, n, NULL, NULL, &seconds);
	if (!failed) {
		printf("bench peers_steward_instances %ld instances\n", n);
		printf("bench peers_steward %.0f steps/s\n", (double)(3 * n) / seconds);
	}
	if (dir == tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_peers_steward: could not remove %s\n", dir);
	}
	return failed;
}
