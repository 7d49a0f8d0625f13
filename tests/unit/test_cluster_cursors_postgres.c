/*
 * test_cluster_cursors_postgres.c - where a partition's cursor is when the
 * partition comes to a worker (stw_part_cursors, stw_acquire in
 * src/store/postgres_sql.c). A worker's own cursor (stw_owner_cursors)
 * moves every partition it holds; a partition it was given has a row of its
 * own until then. Here the grant's transaction looked for the cursors to
 * write down before any existed (the definition had never been stepped), and
 * the worker's first step, begun before its fence had the new partition,
 * moved the worker's cursor past that partition's events: they must still be
 * handled once the worker steps the partition, not skipped (cursors-1). And
 * the migration of a store made before that rule (cursors-2).
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

#include "fixture.h"
#include "store/store.h"

static const struct stw_state_def states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "Opened", "Open", NULL, NULL, NULL },
	{ "Open", "Closed", "Done", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", NULL };
static const struct stw_definition proc = {
	.name = "proc",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

struct fixture {
	char dir[FX_PATH];
	char url[FX_PATH + 256];
	struct stw_cluster *a;
	PGconn *side; /* holds the grant up (see cursors-1) */
	int part;     /* the partition that comes to worker a */
	int fired;    /* the failpoint did its part */
};

/* The first column of the first row of sql on the store at url, which must be an integer. */
static long long at(const char *url, const char *sql)
{
	long long v = -1;
	assert_int_equal(fx_pg_scalar(url, sql, &v), 0);
	return v;
}

static long long scalar(const struct fixture *f, const char *sql)
{
	return at(f->url, sql);
}

static void exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	assert_true(PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK);
	PQclear(res);
}

static int held(const struct fixture *f)
{
	struct stw_cluster_stats s;
	stw_cluster_stats(f->a, &s);
	return s.held;
}

/* Waits (at most 15 s) until worker a holds n partitions. */
static void wait_held(const struct fixture *f, int n)
{
	int64_t until = fx_mono_ms() + 15000;
	while (held(f) != n) {
		if (fx_mono_ms() > until)
			fail_msg("worker a holds %d partitions, not %d", held(f), n);
		usleep(20 * 1000);
	}
}

/* Waits (at most 15 s) until a grant waits for the lock the test holds. */
static void wait_grant_blocked(const struct fixture *f)
{
	char sql[256];
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM pg_stat_activity WHERE %d = ANY(pg_blocking_pids(pid))"
		 " AND query LIKE '%%stw_acquire%%'",
		 PQbackendPID(f->side));
	int64_t until = fx_mono_ms() + 15000;
	while (scalar(f, sql) != 1) {
		if (fx_mono_ms() > until)
			fail_msg("worker a's grant never waited");
		usleep(20 * 1000);
	}
}

/* At the first step's end, fenced without the partition: the grant goes on and commits, and
 * the worker's fence has the partition before the step commits. */
static void failpoint(const char *name, void *ud)
{
	struct fixture *f = ud;
	if (f->fired || strcmp(name, "step.before_commit") != 0)
		return;
	f->fired = 1;
	exec_ok(f->side, "COMMIT");
	wait_held(f, 64);
}

/*
 * cursors-1: worker a lost partition P to "thief" (a worker that is gone).
 * When thief's lease ran out, a's membership took P back; its grant read
 * which cursors to write down for P (none: nothing had been stepped) and
 * then waited (here, for a row the test held locked). Meanwhile a's engine
 * made its first step: its fence without P, it skipped P's event and moved
 * a's cursor past it; the grant committed before that step did. Once a
 * holds P, P's event is handled: every event once, none skipped.
 */
static void taken_during_the_first_step(void **state)
{
	(void)state;
	struct fixture f = { 0 };
	assert_int_equal(fx_tmpdir_make(f.dir, sizeof f.dir, "cluster-cursors"), 0);
	assert_int_equal(fx_pg_store(f.dir, NULL, f.url, sizeof f.url), 0);
	struct stw_engine *in = NULL;
	assert_int_equal(stw_open(f.url, NULL, &in), STW_OK);
	f.a = fx_cluster_join(f.url, "worker-a", 3000, 300);
	wait_held(&f, 64);
	f.part = stw__partition("late", 64);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "UPDATE stw_leases SET owner = 'thief', epoch = epoch + 1,"
		 " expires_at = clock_timestamp() + interval '1 hour' WHERE part = %d"
		 " RETURNING epoch",
		 f.part);
	assert_true(scalar(&f, sql) > 1);
	wait_held(&f, 63);

	/* A cursor of another definition in P, which the test keeps locked: a grant of P
	 * waits there, after it read which cursors there are. */
	snprintf(sql, sizeof sql,
		 "INSERT INTO stw_part_cursors(definition, context, part, position)"
		 " VALUES ('other', 'In', %d, 0) RETURNING 1",
		 f.part);
	assert_int_equal(scalar(&f, sql), 1);
	f.side = PQconnectdb(f.url);
	assert_int_equal(PQstatus(f.side), CONNECTION_OK);
	exec_ok(f.side, "BEGIN; SELECT 1 FROM stw_part_cursors WHERE definition = 'other'"
			" FOR UPDATE");

	const char *ids[] = { "late", "p-1", "p-2", "p-3", "p-4", "p-5", "p-6", "p-7" };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		struct stw_event ev = { .type = "Opened",
					.stream = ids[i],
					.correlation_id = ids[i] };
		assert_stw_ok(in, stw_append(in, "In", STW_ANY_VERSION, &ev, 1, NULL));
	}
	assert_int_equal(scalar(&f, "SELECT count(*) FROM stw_owner_cursors"), 0);
	snprintf(sql, sizeof sql,
		 "UPDATE stw_leases SET expires_at = clock_timestamp() - interval '1 ms'"
		 " WHERE part = %d RETURNING 1",
		 f.part);
	assert_int_equal(scalar(&f, sql), 1);
	wait_grant_blocked(&f);

	struct stw_options o = {
		.cluster = f.a, .delivered_elsewhere = 1, .failpoint = failpoint, .failpoint_ud = &f
	};
	struct stw_engine *ea = NULL;
	assert_int_equal(stw_open(f.url, &o, &ea), STW_OK);
	assert_stw_ok(ea, stw_define(ea, &proc));
	assert_stw_ok(ea, stw_run_until_idle(ea));
	assert_true(f.fired);
	assert_int_equal(held(&f), 64);
	assert_stw_ok(ea, stw_run_until_idle(ea));
	assert_int_equal(scalar(&f, "SELECT count(*) FROM stw_instances WHERE id = 'late'"), 1);
	assert_int_equal(scalar(&f, "SELECT count(*) FROM stw_instances"), 8);
	assert_int_equal(scalar(&f, "SELECT count(*) FROM stw_history"), 8);

	stw_close(ea);
	stw_close(in);
	PQfinish(f.side);
	stw_cluster_leave(f.a);
	fx_pg_drop(f.dir);
	fx_tmpdir_remove(f.dir);
}

/*
 * cursors-2: a store of schema 4, where a partition with no cursor row was
 * where its holder's own row is, is migrated on open: each held partition
 * (its lease running or run out) without a row gets one where its holder
 * has it; a released or free one gets none (it is where the context's
 * cursor is, as before); a row already there is kept; stw_acquire and
 * stw_release are replaced.
 */
static void schema_4_migrates(void **state)
{
	(void)state;
	char dir[FX_PATH], url[FX_PATH + 256];
	assert_int_equal(fx_tmpdir_make(dir, sizeof dir, "cluster-cursors-5"), 0);
	assert_int_equal(fx_pg_store(dir, NULL, url, sizeof url), 0);
	struct stw_engine *e = NULL;
	assert_int_equal(stw_open(url, NULL, &e), STW_OK);
	stw_close(e);
	PGconn *c = PQconnectdb(url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	exec_ok(c,
		"UPDATE stw_leases SET owner = 'w#1', epoch = 1, expires_at = now()"
		" + interval '1 hour' WHERE part IN (3, 4, 7);"
		" UPDATE stw_leases SET released = true WHERE part = 4;"
		" UPDATE stw_leases SET owner = 'w#1', epoch = 1, expires_at = now()"
		" - interval '1 hour' WHERE part = 6;"
		" INSERT INTO stw_owner_cursors(definition, context, owner, position)"
		" VALUES ('proc', 'In', 'w#1', 42);"
		" INSERT INTO stw_cursors(definition, context, position) VALUES ('proc', 'In', 5);"
		" INSERT INTO stw_part_cursors(definition, context, part, position, owner)"
		" VALUES ('proc', 'In', 7, 9, 'w#1');"
		" CREATE OR REPLACE FUNCTION stw_release(me text, parts int4[]) RETURNS int4"
		" LANGUAGE sql AS $f$ SELECT 0 $f$;"
		" UPDATE stw_meta SET value = '4' WHERE key = 'schema_version'");
	PQfinish(c);
	assert_int_equal(stw_open(url, NULL, &e), STW_OK);
	stw_close(e);
	assert_int_equal(at(url, "SELECT value::int8 FROM stw_meta WHERE key = 'schema_version'"),
			 5);
	const char *rows = "SELECT count(*) FROM stw_part_cursors WHERE definition = 'proc'";
	assert_int_equal(at(url, rows), 3);
	assert_int_equal(at(url, "SELECT position FROM stw_part_cursors WHERE part = 3"
				 " AND owner IS NULL"),
			 42);
	assert_int_equal(at(url, "SELECT position FROM stw_part_cursors WHERE part = 6"
				 " AND owner IS NULL"),
			 42);
	assert_int_equal(at(url, "SELECT position FROM stw_part_cursors WHERE part = 7"
				 " AND owner = 'w#1'"),
			 9);
	assert_int_equal(at(url, "SELECT count(*) FROM pg_proc WHERE proname = 'stw_release'"
				 " AND pronamespace = to_regnamespace(current_schema())"
				 " AND prosrc LIKE '%pc.part IS NULL%'"),
			 1);
	fx_pg_drop(dir);
	fx_tmpdir_remove(dir);
}

int main(void)
{
	if (fx_pg_server() == NULL) {
		fprintf(stderr,
			"test_cluster_cursors_postgres: STEWARD_TEST_PG_URL is not set: skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(taken_during_the_first_step),
		cmocka_unit_test(schema_4_migrates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
