/*
 * test_cluster_takeover_postgres.c - how fast the leases of a worker that
 * died or stalled move to the others (src/core/cluster.c, stw_acquire in
 * src/store/postgres_sql.c): two workers taking over one dead worker's
 * partitions at once both get them, a dead worker's leases are taken when
 * they run out (and soon after its row is free, when a transaction of it
 * held that up), and a worker silent for two renewals is out of the
 * assignment. Each test has a store of its own, set up with SQL: workers
 * gone silent hold leases that run out when the test says.
 *
 * Needs STEWARD_TEST_PG_URL (the ctest fixture `pg`); skipped (77) without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pthread.h>

#include "fixture.h"

struct fixture {
	char dir[FX_PATH];
	char url[FX_PATH + 256];
	struct stw_cluster *b;
	struct stw_engine *in; /* opened the store: its schema */
};

static struct stw_cluster_stats stats(struct stw_cluster *c)
{
	struct stw_cluster_stats s;
	stw_cluster_stats(c, &s);
	return s;
}

/* A statement on its own connection, on a thread of its own: stw_acquire's grants. */
struct taker {
	const char *url, *sql;
	long long got;
	int64_t ms; /* how long it took */
};

static void *take(void *arg)
{
	struct taker *t = arg;
	int64_t t0 = fx_mono_ms();
	assert_int_equal(fx_pg_scalar(t->url, t->sql, &t->got), 0);
	__atomic_store_n(&t->ms, fx_mono_ms() - t0, __ATOMIC_RELEASE);
	return NULL;
}

/* Runs sql on c, which must succeed. */
static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	assert_true(PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK);
	PQclear(res);
}

/*
 * A store of a test's own, with no worker (g->in opened it, making the
 * schema), and a connection to it for the test's own SQL.
 */
static PGconn *own_store(struct fixture *g, const char *tag)
{
	assert_int_equal(fx_tmpdir_make(g->dir, sizeof g->dir, tag), 0);
	assert_int_equal(fx_pg_store(g->dir, NULL, g->url, sizeof g->url), 0);
	assert_int_equal(stw_open(g->url, NULL, &g->in), STW_OK);
	PGconn *c = PQconnectdb(g->url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	return c;
}

static void own_store_done(struct fixture *g, PGconn *c)
{
	PQfinish(c);
	stw_close(g->in);
	stw_cluster_leave(g->b);
	fx_pg_drop(g->dir);
	fx_tmpdir_remove(g->dir);
}

/*
 * cluster-13: two workers taking over a dead worker's partitions at the same
 * moment (each its share; both lock the dead worker's row) both get them in
 * that call: the second waits for the first's commit instead of leaving its
 * share for the next renewal (a renewal per collision made takeovers with 2
 * and 4 workers seconds slower). An old owner whose row stays locked (a
 * paused worker's open transaction) is waited for once per call, a twentieth
 * of the lease, and its partitions are left; the free ones are still taken.
 */
static void takers_of_one_owner_do_not_skip(void **state)
{
	(void)state;
	struct fixture g = { 0 };
	PGconn *a = own_store(&g, "cluster-takers");
	const char *url = g.url;
	exec_ok(a, "INSERT INTO stw_workers(id, host, pid, started_at, heartbeat_at, lease_ms)"
		   " SELECT w, 'h', 1, now(), now() - CASE WHEN w LIKE 'dead%' THEN interval '1 h'"
		   " ELSE interval '0' END, 4000 FROM unnest('{dead#1,dead#2,a#1,b#1}'::text[]) w;"
		   " UPDATE stw_leases SET owner = 'dead#1', epoch = 5, acquired_at = now(),"
		   " expires_at = now() - interval '1 min' WHERE part BETWEEN 0 AND 3;"
		   " UPDATE stw_leases SET owner = 'dead#2', epoch = 5, acquired_at = now(),"
		   " expires_at = now() - interval '1 min' WHERE part BETWEEN 10 AND 17");

	/* a takes 0 and 1 and holds dead#1's row until it commits; b wants 2 and 3. */
	exec_ok(a, "BEGIN; SELECT * FROM stw_acquire('a#1', '{0,1}', 4000)");
	struct taker b = { .url = url,
			   .sql = "SELECT count(*) FROM stw_acquire('b#1', '{2,3}', 4000)" };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, take, &b), 0);
	long long waiting = 0;
	for (int64_t until = fx_mono_ms() + 5000; waiting == 0 && fx_mono_ms() < until;) {
		usleep(5 * 1000);
		assert_int_equal(fx_pg_scalar(url,
					      "SELECT count(*) FROM pg_stat_activity WHERE"
					      " wait_event_type = 'Lock' AND query LIKE"
					      " '%stw_acquire(''b#1'', ''{2,3}''%'",
					      &waiting),
				 0);
		if (__atomic_load_n(&b.ms, __ATOMIC_ACQUIRE) > 0)
			break; /* it did not wait */
	}
	exec_ok(a, "COMMIT");
	pthread_join(t, NULL);
	assert_int_equal(waiting, 1);
	assert_int_equal(b.got, 2);

	/* dead#2's row is held by its open transaction: waited for once, then left. */
	exec_ok(a, "BEGIN; SELECT 1 FROM stw_workers WHERE id = 'dead#2' FOR KEY SHARE");
	struct taker c = { .url = url,
			   .sql = "SELECT count(*) FROM stw_acquire('b#1',"
				  " '{10,11,12,13,14,15,16,17,20}', 4000)" };
	take(&c);
	assert_int_equal(c.got, 1); /* 20, free */
	assert_true(c.ms < 1000);   /* 200 ms once, not per partition */
	exec_ok(a, "COMMIT");
	take(&c);
	assert_int_equal(c.got, 8);
	long long grants = -1;
	assert_int_equal(fx_pg_scalar(url,
				      "SELECT count(*) FROM stw_lease_log WHERE how = 'expired'"
				      " AND owner = 'b#1'",
				      &grants),
			 0);
	assert_int_equal(grants, 10);
	own_store_done(&g, a);
}

/* A worker gone silent an hour ago that holds partitions 0 to 7, leases ending at `ends` from now.
 */
static void silent_owner(PGconn *c, const char *id, const char *ends)
{
	char sql[512];
	snprintf(sql, sizeof sql,
		 "INSERT INTO stw_workers(id, host, pid, started_at, heartbeat_at, lease_ms)"
		 " VALUES ('%s', 'h', 1, now(), now() - interval '1 h', 2000);"
		 " UPDATE stw_leases SET owner = '%s', epoch = 1, acquired_at = now(),"
		 " expires_at = clock_timestamp() + interval '%s' WHERE part BETWEEN 0 AND 7",
		 id, id, ends);
	exec_ok(c, sql);
}

/* Fails unless worker b holds every partition within `ms` of t0. */
static void b_holds_all_within(struct fixture *g, int64_t t0, int64_t ms, const char *what)
{
	while (stats(g->b).held < stats(g->b).partitions) {
		if (fx_mono_ms() - t0 > ms)
			fail_msg("%s not taken within %lld ms (held %d of %d)", what, (long long)ms,
				 stats(g->b).held, stats(g->b).partitions);
		usleep(20 * 1000);
	}
}

/*
 * cluster-15: a worker takes a dead worker's partitions when their leases
 * run out, not at its next renewal after: with a renewal every 10 s, the
 * leases of a worker gone silent that run out 1 s after the join are taken
 * within 5 s (before, at the renewal 10 s later).
 */
static void taken_when_they_run_out(void **state)
{
	(void)state;
	struct fixture g = { 0 };
	PGconn *c = own_store(&g, "cluster-expiry");
	silent_owner(c, "gone#1", "1 s");
	int64_t t0 = fx_mono_ms();
	g.b = fx_cluster_join(g.url, "worker-b", 20000, 10000);
	assert_true(stats(g.b).held < stats(g.b).partitions); /* gone#1's still run */
	b_holds_all_within(&g, t0, 5000, "gone#1's partitions");
	own_store_done(&g, c);
}

/*
 * cluster-16: a worker that wanted leases and did not get them (the old
 * owner's row held by its transaction still open, as a paused worker's is
 * until the server ends it) looks again soon, not at its next renewal: with
 * a renewal every 10 s, it holds them within 3 s of that transaction's end.
 */
static void busy_owner_tried_again_soon(void **state)
{
	(void)state;
	struct fixture g = { 0 };
	PGconn *c = own_store(&g, "cluster-again");
	silent_owner(c, "paused#1", "-1 s");
	exec_ok(c, "BEGIN; SELECT 1 FROM stw_workers WHERE id = 'paused#1' FOR KEY SHARE");
	g.b = fx_cluster_join(g.url, "worker-b", 20000, 10000);
	usleep(300 * 1000);
	assert_int_equal(stats(g.b).held, stats(g.b).partitions - 8);
	exec_ok(c, "COMMIT");
	b_holds_all_within(&g, fx_mono_ms(), 3000, "paused#1's partitions, once its row was free,");
	own_store_done(&g, c);
}

/*
 * cluster-17: a start of a worker whose heartbeat stopped two renewals ago
 * (killed before it took anything; its lease would count it live for
 * 3 s) is out of the assignment: a worker that joins then takes every
 * partition at once, its name's share too.
 */
static void silent_start_counts_out(void **state)
{
	(void)state;
	struct fixture g = { 0 };
	PGconn *c = own_store(&g, "cluster-silent");
	exec_ok(c, "INSERT INTO stw_workers(id, host, pid, started_at, heartbeat_at, lease_ms)"
		   " VALUES ('ghost#1', 'h', 1, now(), now() - interval '900 ms', 3000)");
	g.b = fx_cluster_join(g.url, "worker-b", 3000, 300);
	assert_int_equal(stats(g.b).held, stats(g.b).partitions);
	own_store_done(&g, c);
}

int main(void)
{
	if (fx_pg_server() == NULL) {
		fprintf(
		    stderr,
		    "test_cluster_takeover_postgres: STEWARD_TEST_PG_URL is not set: skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(takers_of_one_owner_do_not_skip),
		cmocka_unit_test(taken_when_they_run_out),
		cmocka_unit_test(busy_owner_tried_again_soon),
		cmocka_unit_test(silent_start_counts_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
