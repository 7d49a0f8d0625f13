/*
 * bench_pm_step.c - durable process-manager steps per second, against the
 * physical limit of the store measured in the same run.
 *
 * Workload: N events into one context for a three-state definition
 * (Start -> A, sending one command; Next -> B; Done -> C, terminal), N/3
 * instances. The engine's steps are timed with the default batching (the
 * events are appended first, untimed, in 1,000-event transactions).
 *
 * Baseline: a minimal hand-written C loop on SQLite doing the same durable
 * work per event with the same batch size: insert the event, read the state
 * row, upsert it with a version check, insert an outbox row (for Start).
 * Both use WAL with synchronous=FULL, on the same disk, one after the other.
 *
 * Prints `bench <name> <value> <unit>` lines, and the ratio as
 * `bench pm_step_vs_baseline <r> x`.
 *
 * With --pg, the same on PostgreSQL (the server STEWARD_TEST_PG_URL names,
 * fsync and synchronous_commit on): the engine on a store in the schema
 * bench_pm_step, and the same loop written with libpq (baseline_pg.c) in
 * the schema bench_pm_step_baseline, each schema dropped at the end. The
 * figures are named pm_step_pg*, with the WAL written, the statements run
 * and the commits per step of each side (bench_pg.h), and the CPU time of
 * this process per step, against the time taken.
 *
 * With --cluster (PostgreSQL), the cost of fencing instead: the engine
 * alone against the engine as the one worker of a cluster, whose every
 * transaction is fenced on its leases (`bench cluster_fencing_cost <p> %`,
 * the time fencing adds, in small transactions).
 *
 * usage: bench_pm_step [--events N] [--dir DIR | --pg [--cluster]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <steward.h>

#include "bench_pm_workload.h"

#ifdef STW_HAVE_POSTGRES
#include "bench_pg.h"
#endif

#define BATCH 1024 /* the engine's default batch size */

/* Called just before (after = 0) and just after (1) the timed steps; may be NULL. */
typedef int (*mark_fn)(void *ud, int after);

/* cluster: the engine is a worker's (NULL: alone); batch: its batch size (0: the default). */
static int run_engine(const char *path, long n, struct stw_cluster *cluster, int batch,
		      mark_fn mark, void *ud, double *seconds)
{
	struct stw_options o = { .synchronous = 2, .cluster = cluster, .batch_size = batch };
	struct stw_engine *e = NULL;
	if (stw_open(path, &o, &e) != STW_OK || stw_define(e, &pm_def) != STW_OK) {
		fprintf(stderr, "bench_pm_step: engine: %s\n", stw_errmsg(e));
		stw_close(e);
		return 1;
	}
	if (pm_append(e, 0, n, "bench_pm_step") != 0) {
		stw_close(e);
		return 1;
	}
	if (mark != NULL && mark(ud, 0) != 0) {
		stw_close(e);
		return 1;
	}
	double t0 = bench_now_s();
	int rc = stw_run_until_idle(e);
	*seconds = bench_now_s() - t0;
	if (mark != NULL && mark(ud, 1) != 0) {
		stw_close(e);
		return 1;
	}
	struct stw_stats st;
	stw_get_stats(e, &st);
	if (rc != STW_OK || (long)st.steps != n) {
		fprintf(stderr, "bench_pm_step: %llu steps of %ld: %s\n",
			(unsigned long long)st.steps, n, stw_errmsg(e));
		stw_close(e);
		return 1;
	}
	stw_close(e);
	return 0;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "bench_pm_step: baseline: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return 1;
	}
	return 0;
}

/* The hand-written loop: the same durable work with the same batch size. */
static int run_baseline(const char *path, long n, double *seconds)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *ins_ev = NULL, *get = NULL, *put = NULL, *outbox = NULL;
	int failed = sqlite3_open(path, &db) != SQLITE_OK ||
		     exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			      "CREATE TABLE events(position INTEGER PRIMARY KEY, id TEXT UNIQUE,"
			      " type TEXT, corr TEXT, data TEXT);"
			      "CREATE TABLE state(id TEXT PRIMARY KEY, state TEXT, version INTEGER,"
			      " data TEXT);"
			      "CREATE TABLE outbox(seq INTEGER PRIMARY KEY, id TEXT UNIQUE,"
			      " data TEXT);");
	failed =
	    failed ||
	    sqlite3_prepare_v2(db, "INSERT INTO events(id, type, corr, data) VALUES(?,?,?,'{}')",
			       -1, &ins_ev, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT state, version FROM state WHERE id = ?", -1, &get,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO state(id, state, version, data) VALUES(?1,?2,1,'{}') "
			       "ON CONFLICT(id) DO UPDATE SET state = ?2, version = version + 1 "
			       "WHERE version = ?3",
			       -1, &put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO outbox(id, data) VALUES(?, '{}')", -1, &outbox,
			       NULL) != SQLITE_OK;
	static const char *const next_state[3] = { "A", "B", "C" };
	double t0 = bench_now_s();
	for (long i = 0; !failed && i < n; i++) {
		if (i % BATCH == 0 && exec(db, "BEGIN IMMEDIATE"))
			failed = 1;
		char id[24], corr[24];
		const char *type;
		pm_event_of(i, id, sizeof(id), corr, sizeof(corr), &type);
		sqlite3_bind_text(ins_ev, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_ev, 2, type, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins_ev, 3, corr, -1, SQLITE_STATIC);
		failed |= sqlite3_step(ins_ev) != SQLITE_DONE;
		sqlite3_reset(ins_ev);
		sqlite3_bind_text(get, 1, corr, -1, SQLITE_STATIC);
		int64_t version =
		    sqlite3_step(get) == SQLITE_ROW ? sqlite3_column_int64(get, 1) : 0;
		sqlite3_reset(get);
		sqlite3_bind_text(put, 1, corr, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 2, next_state[i % 3], -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 3, version);
		failed |= sqlite3_step(put) != SQLITE_DONE || sqlite3_changes(db) != 1;
		sqlite3_reset(put);
		if (i % 3 == 0) {
			sqlite3_bind_text(outbox, 1, id, -1, SQLITE_STATIC);
			failed |= sqlite3_step(outbox) != SQLITE_DONE;
			sqlite3_reset(outbox);
		}
		if ((i % BATCH == BATCH - 1 || i == n - 1) && exec(db, "COMMIT"))
			failed = 1;
	}
	*seconds = bench_now_s() - t0;
	sqlite3_finalize(ins_ev);
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	sqlite3_finalize(outbox);
	sqlite3_close(db);
	if (failed)
		fprintf(stderr, "bench_pm_step: the baseline loop failed\n");
	return failed;
}

#ifdef STW_HAVE_POSTGRES
/* The engine and the libpq loop on the server STEWARD_TEST_PG_URL names. */
static int run_pg(long n)
{
	const char *server;
	struct bench_pg_probe probe;
	int rc = bench_pg_start(&probe, &server, "bench_pm_step");
	if (rc != 0)
		return rc;
	/* The baseline's marks, on the same connection. */
	struct bench_pg_probe base = { .c = probe.c, .statements = probe.statements };
	int durable = bench_pg_durable(probe.c);
	char engine_url[1024], base_url[1024];
	double te = 0, tb = 0;
	int failed = bench_pg_schema(probe.c, server, "bench_pm_step", engine_url,
				     sizeof engine_url, "bench_pm_step") != 0 ||
		     bench_pg_schema(probe.c, server, "bench_pm_step_baseline", base_url,
				     sizeof base_url, "bench_pm_step") != 0 ||
		     run_engine(engine_url, n, NULL, 0, bench_pg_probe_mark, &probe, &te) != 0 ||
		     bench_pg_baseline(base_url, n, BATCH, pm_event_of, &base, &tb) != 0;
	if (!failed) {
		printf("bench durable_postgresql_fsync_synchronous_commit %d flag\n", durable);
		printf("bench pm_step_pg_events %ld events\n", n);
		printf("bench pm_step_pg %.0f steps/s\n", (double)n / te);
		bench_pg_print(probe.c, "pm_step_pg", "step", (double)n, te, &probe.a, &probe.b);
		printf("bench pm_step_pg_baseline %.0f steps/s\n", (double)n / tb);
		bench_pg_print(probe.c, "pm_step_pg_baseline", "step", (double)n, tb, &base.a,
			       &base.b);
		printf("bench pm_step_pg_vs_baseline %.3f x\n", tb / te);
		printf("bench pm_step_pg_meets_target %d flag\n",
		       (double)n / te >= 20000 && tb / te >= 0.5);
	}
	bench_pg_drop(probe.c, "bench_pm_step", "bench_pm_step");
	bench_pg_drop(probe.c, "bench_pm_step_baseline", "bench_pm_step");
	PQfinish(probe.c);
	return failed;
}

/*
 * The cost of fencing (--pg --cluster): the engine alone, and as the one
 * worker of a cluster (holding all 64 partitions, each transaction
 * fenced), in batches of CLUSTER_BATCH events, so that transactions are as
 * small as a loaded daemon's rounds; in alternating pairs on fresh
 * schemas, the best of each side.
 */
#define CLUSTER_BATCH 64
#define CLUSTER_PAIRS 3

static int run_side(PGconn *c, const char *server, long n, int fenced, double *seconds)
{
	char url[1024];
	const char *schema = fenced ? "bench_pm_step_fenced" : "bench_pm_step_alone";
	if (bench_pg_schema(c, server, schema, url, sizeof url, "bench_pm_step") != 0)
		return 1;
	struct stw_cluster *cl = NULL;
	if (fenced) {
		struct stw_engine *e = NULL; /* the schema first */
		int rc = stw_open(url, NULL, &e);
		stw_close(e);
		char err[256] = "";
		struct stw_cluster_options co = { .store = url, .worker = "bench" };
		if (rc != STW_OK || stw_cluster_join(&co, &cl, err, sizeof err) != STW_OK) {
			fprintf(stderr, "bench_pm_step: cluster: %s\n", err);
			return 1;
		}
	}
	int failed = run_engine(url, n, cl, CLUSTER_BATCH, NULL, NULL, seconds);
	stw_cluster_leave(cl);
	bench_pg_drop(c, schema, "bench_pm_step");
	return failed;
}

static int run_pg_cluster(long n)
{
	const char *server;
	struct bench_pg_probe probe;
	int rc = bench_pg_start(&probe, &server, "bench_pm_step");
	if (rc != 0)
		return rc;
	double alone = 0, fenced = 0;
	int failed = 0;
	for (int i = 0; i < CLUSTER_PAIRS && !failed; i++) {
		double a = 0, f = 0;
		failed = run_side(probe.c, server, n, 0, &a) || run_side(probe.c, server, n, 1, &f);
		if (!failed && (alone == 0 || a < alone))
			alone = a;
		if (!failed && (fenced == 0 || f < fenced))
			fenced = f;
	}
	if (!failed) {
		printf("bench pm_step_pg_alone_batch%d %.0f steps/s\n", CLUSTER_BATCH,
		       (double)n / alone);
		printf("bench pm_step_pg_fenced_batch%d %.0f steps/s\n", CLUSTER_BATCH,
		       (double)n / fenced);
		printf("bench cluster_fencing_cost %.1f %%\n", 100.0 * (1.0 - alone / fenced));
	}
	PQfinish(probe.c);
	return failed;
}
#else
static int run_pg(long n)
{
	(void)n;
	fprintf(stderr, "bench_pm_step: this build has no PostgreSQL store\n");
	return 2;
}

static int run_pg_cluster(long n)
{
	return run_pg(n);
}
#endif

int main(int argc, char **argv)
{
	long n = 200000;
	const char *dir = NULL;
	int pg = 0, cluster = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--pg") == 0)
			pg = 1;
		else if (strcmp(argv[i], "--cluster") == 0)
			cluster = pg = 1;
		else {
			fprintf(stderr, "usage: bench_pm_step [--events N] [--dir DIR | --pg"
					" [--cluster]]\n");
			return 2;
		}
	}
	if (n < 3) {
		fprintf(stderr, "bench_pm_step: --events needs at least 3\n");
		return 2;
	}
	n -= n % 3;
	if (cluster)
		return run_pg_cluster(n);
	if (pg)
		return run_pg(n);
	char tmp[] = "/tmp/stw-bench-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char engine_db[512], base_db[512];
	snprintf(engine_db, sizeof(engine_db), "%s/pm_step.db", dir);
	snprintf(base_db, sizeof(base_db), "%s/baseline.db", dir);
	unlink(engine_db);
	unlink(base_db);
	double te = 0, tb = 0;
	if (run_engine(engine_db, n, NULL, 0, NULL, NULL, &te) || run_baseline(base_db, n, &tb))
		return 1;
	printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");
	printf("bench pm_step_events %ld events\n", n);
	printf("bench pm_step %.0f steps/s\n", (double)n / te);
	printf("bench pm_step_baseline %.0f steps/s\n", (double)n / tb);
	printf("bench pm_step_vs_baseline %.3f x\n", tb / te);
	if (dir == tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_pm_step: could not remove %s\n", dir);
	}
	return 0;
}
