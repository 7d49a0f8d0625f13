/*
 * test_cluster_postgres.c - workers of a cluster on one PostgreSQL store
 * (steward_cluster.h): the first worker takes every partition, a second
 * one gets its share a few partitions at a time, each engine steps only
 * the instances of the partitions its worker holds, a transaction of a
 * worker whose lease was taken over is refused inside the store (fencing)
 * and writes nothing, a worker that leaves hands its partitions over at
 * once, and any engine reads the whole cluster (stw_cluster_view). Also:
 * the store's partition function is the engine's, and two workers taking
 * over one dead worker's partitions at once both get them, a dead worker's
 * leases are taken when they run out (and soon after its row is free, when
 * a transaction of it held that up), a worker silent for two renewals is
 * out of the assignment, and a worker's address set after it joined is
 * recorded.
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
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <pthread.h>

#include "fixture.h"
#include "store/store.h"

#define LEASE_MS 3000
#define RENEW_MS 300

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
/* The key of an instance: its event's "key" field, when it has one. */
static const char *key_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return json_string_value(json_object_get(ev->data, "key"));
}
static const struct stw_definition proc = {
	.name = "proc",
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.unique_key = key_of,
};

struct fixture {
	char dir[FX_PATH];
	char url[FX_PATH + 256];
	struct stw_cluster *a, *b;
	struct stw_engine *ea, *eb;
	struct stw_engine *in; /* not a worker's: appends, as the API's engines do */
};

static struct stw_cluster *join(const struct fixture *f, const char *worker)
{
	return fx_cluster_join(f->url, worker, LEASE_MS, RENEW_MS);
}

static struct stw_engine *engine(const struct fixture *f, struct stw_cluster *c)
{
	struct stw_options o = { .cluster = c, .delivered_elsewhere = 1 };
	struct stw_engine *e = NULL;
	assert_int_equal(stw_open(f->url, &o, &e), STW_OK);
	assert_stw_ok(e, stw_define(e, &proc));
	return e;
}

static struct stw_cluster_stats stats(struct stw_cluster *c)
{
	struct stw_cluster_stats s;
	stw_cluster_stats(c, &s);
	return s;
}

static int setup(void **state)
{
	if (fx_pg_server() == NULL)
		return 0;
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	assert_int_equal(fx_tmpdir_make(f->dir, sizeof f->dir, "cluster"), 0);
	assert_int_equal(fx_pg_store(f->dir, NULL, f->url, sizeof f->url), 0);
	/* The schema exists once an engine opened it. */
	assert_int_equal(stw_open(f->url, NULL, &f->in), STW_OK);
	f->a = join(f, "worker-a");
	f->ea = engine(f, f->a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		return 0;
	stw_close(f->ea);
	stw_close(f->eb);
	stw_close(f->in);
	stw_cluster_leave(f->a);
	stw_cluster_leave(f->b);
	fx_pg_drop(f->dir);
	fx_tmpdir_remove(f->dir);
	free(f);
	return 0;
}

static long long scalar(const struct fixture *f, const char *sql)
{
	long long v = -1;
	assert_int_equal(fx_pg_scalar(f->url, sql, &v), 0);
	return v;
}

static void open_n(struct stw_engine *e, int from, int n)
{
	for (int i = from; i < from + n; i++) {
		char id[32];
		snprintf(id, sizeof id, "p-%d", i);
		struct stw_event ev = { .type = "Opened", .stream = id, .correlation_id = id };
		assert_stw_ok(e, stw_append(e, "In", STW_ANY_VERSION, &ev, 1, NULL));
	}
}

/* Waits (at most 15 s) until `done` says so. */
static void wait_for(const struct fixture *f, int (*done)(const struct fixture *f),
		     const char *what)
{
	int64_t until = fx_mono_ms() + 15000;
	while (!done(f)) {
		if (fx_mono_ms() > until)
			fail_msg("timed out waiting until %s", what);
		usleep(50 * 1000);
	}
}

static int split(const struct fixture *f)
{
	struct stw_cluster_stats a = stats(f->a), b = stats(f->b);
	return a.held + b.held == a.partitions && a.held > 0 && b.held > 0 &&
	       a.periodic + b.periodic == 1;
}

/* cluster-1: the first worker holds every partition and the periodic singleton. */
static void first_worker_takes_all(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	struct stw_cluster_stats a = stats(f->a);
	assert_int_equal(a.partitions, 64);
	assert_int_equal(a.held, 64);
	assert_int_equal(a.periodic, 1);
	assert_int_equal(stw_cluster_holds_periodic(f->a), 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_leases WHERE owner LIKE 'worker-a#%'"),
			 65);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_lease_log WHERE how = 'free'"), 65);
}

/* cluster-2: the store's stw_partition is the engine's stw__partition. */
static void partition_function_agrees(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	const char *ids[] = { "", "a", "doc-1", "order-42", "h\xc3\xa9llo", "x:y:z", NULL };
	for (int i = 0; ids[i] != NULL; i++)
		for (int n = 1; n <= 1000; n = n * 7 + 1) {
			char sql[256];
			snprintf(sql, sizeof sql, "SELECT stw_partition('%s', %d)", ids[i], n);
			assert_int_equal(scalar(f, sql), stw__partition(ids[i], n));
		}
}

/* Worker b joins, with its engine, and gets its share. */
static void second_worker(struct fixture *f)
{
	f->b = join(f, "worker-b");
	f->eb = engine(f, f->b);
	wait_for(f, split, "the partitions are split");
}

/*
 * cluster-3: a second worker gets its share, a few partitions per renewal,
 * and each engine steps exactly the instances of its worker's partitions:
 * every instance is created once, by the engine that holds it.
 */
static void workers_split_the_instances(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	second_worker(f);
	/* Moved from a live worker: released by a, taken by b. */
	assert_true(scalar(f, "SELECT count(*) FROM stw_lease_log WHERE how = 'released'"
			      " AND owner LIKE 'worker-b#%' AND prev_owner LIKE 'worker-a#%'") > 0);
	open_n(f->in, 0, 200);
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	assert_stw_ok(f->eb, stw_run_until_idle(f->eb));
	struct stw_stats sa, sb;
	stw_get_stats(f->ea, &sa);
	stw_get_stats(f->eb, &sb);
	assert_int_equal(sa.steps + sb.steps, 200);
	assert_true(sa.steps > 0 && sb.steps > 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances"), 200);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_history"), 200);
	/* Each instance is in a partition of the worker whose engine made it. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances i JOIN stw_leases l"
				   " ON l.part = i.part WHERE i.part <> stw_partition(i.id, 64)"
				   " OR l.owner IS NULL"),
			 0);
	/* Closing each moves everything on: both cursors reach the head. */
	for (int i = 0; i < 200; i++) {
		char id[32];
		snprintf(id, sizeof id, "p-%d", i);
		struct stw_event ev = { .type = "Closed", .stream = id, .correlation_id = id };
		assert_stw_ok(f->in, stw_append(f->in, "In", STW_ANY_VERSION, &ev, 1, NULL));
	}
	assert_stw_ok(f->eb, stw_run_until_idle(f->eb));
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances WHERE status = 'completed'"),
			 200);
	/* Every fenced commit was at an epoch its worker held (the audit). */
	assert_true(scalar(f, "SELECT count(*) FROM stw_fence_audit") > 0);
}

static int a_lost_one(const struct fixture *f)
{
	return stats(f->a).held == 63;
}

/*
 * cluster-4: fencing. A lease of worker a is taken over behind its back (as
 * another worker would after a's lease ran out while it was frozen): a's
 * next transaction is refused inside the store and writes nothing; once its
 * membership has seen the loss, a steps its other partitions again, and
 * the instance of the lost partition waits for its new owner.
 */
static void stale_worker_commits_nothing(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	/* Worker a again, renewing only every 10 s: nothing but the refusal makes
	 * it look at its leases within this test. */
	stw_close(f->ea);
	stw_cluster_leave(f->a);
	f->a = fx_cluster_join(f->url, "worker-a", 30000, 10000);
	f->ea = engine(f, f->a);
	/* The partition of p-1000, taken by a worker "thief" at the next epoch. */
	int part = stw__partition("p-1000", 64);
	char sql[512];
	snprintf(sql, sizeof sql,
		 "UPDATE stw_leases SET owner = 'thief', epoch = epoch + 1,"
		 " expires_at = clock_timestamp() + interval '1 hour' WHERE part = %d"
		 " RETURNING epoch",
		 part);
	assert_true(scalar(f, sql) > 1);
	open_n(f->in, 1000, 1);
	int rc = stw_run_once(f->ea, NULL);
	assert_int_equal(rc, STW_EBUSY);
	assert_non_null(strstr(stw_errmsg(f->ea), "fenced"));
	assert_int_equal(stats(f->a).fencing_refusals, 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances WHERE id = 'p-1000'"), 0);
	wait_for(f, a_lost_one, "worker a sees its lease gone");
	assert_int_equal(stats(f->a).lost, 1);
	open_n(f->in, 1001, 40);
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances WHERE id = 'p-1000'"), 0);
	snprintf(sql, sizeof sql,
		 "SELECT count(*) FROM stw_instances WHERE id LIKE 'p-10%%' AND part <> %d", part);
	assert_true(scalar(f, sql) > 0);
}

static int b_has_all(const struct fixture *f)
{
	struct stw_cluster_stats b = stats(f->b);
	return b.held == b.partitions && b.periodic == 1;
}

/* cluster-5: a worker that leaves hands its partitions over at once (within 2 s). */
static void leaving_hands_over_at_once(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	second_worker(f);
	stw_close(f->ea);
	f->ea = NULL;
	int64_t t0 = fx_mono_ms();
	stw_cluster_leave(f->a);
	f->a = NULL;
	wait_for(f, b_has_all, "worker b holds everything");
	int64_t took = fx_mono_ms() - t0;
	print_message("takeover after a graceful leave: %lld ms\n", (long long)took);
	assert_true(took < 2000);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_workers"), 1);
	/* No grant ever came before the lease it replaced had ended. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_lease_log WHERE at < prev_expires_at"),
			 0);
}

/*
 * cluster-6: partitions taken over behind the new holder. Worker b steps
 * while a does not, then a leaves: a's partitions come to b where a left
 * them, behind b's own progress, and b catches them up (each event handled
 * once, none skipped), after which they move with b's own cursor again.
 */
static void takeover_behind_catches_up(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	second_worker(f);
	open_n(f->in, 0, 120);
	assert_stw_ok(f->eb, stw_run_until_idle(f->eb));
	long long by_b = scalar(f, "SELECT count(*) FROM stw_instances");
	assert_true(by_b > 0 && by_b < 120);
	stw_close(f->ea);
	f->ea = NULL;
	stw_cluster_leave(f->a);
	f->a = NULL;
	wait_for(f, b_has_all, "worker b holds everything");
	assert_true(
	    scalar(f, "SELECT count(*) FROM stw_part_cursors WHERE owner LIKE 'worker-b#%'") > 0);
	assert_stw_ok(f->eb, stw_run_until_idle(f->eb));
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances"), 120);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_history"), 120);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_part_cursors WHERE owner IS NOT NULL"),
			 0);
	open_n(f->in, 120, 10);
	assert_stw_ok(f->eb, stw_run_until_idle(f->eb));
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_history"), 130);
}

struct holder {
	PGconn *c;
	int64_t commit_after_ms;
};

static void *commit_later(void *arg)
{
	struct holder *hd = arg;
	usleep((useconds_t)hd->commit_after_ms * 1000);
	PQclear(PQexec(hd->c, "COMMIT"));
	return NULL;
}

/*
 * cluster-7: a uniqueness key taken by another worker's transaction after
 * this worker found it free (instances of two partitions, one key): the
 * insert waits for that transaction and finds the key taken; the step is
 * a conflict, tried again at the next round, which rejects the instance
 * as holding a taken key, never an error of the worker.
 */
static void key_taken_meanwhile_is_a_conflict(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	struct holder hd = { .c = PQconnectdb(f->url), .commit_after_ms = 300 };
	assert_int_equal(PQstatus(hd.c), CONNECTION_OK);
	PGresult *res =
	    PQexec(hd.c, "BEGIN; INSERT INTO stw_instances(definition, id, state, status,"
			 " data, unique_key, version, created_at, updated_at)"
			 " VALUES ('proc', 'other', 'Open', 'active', '{}', 'k', 1, 0, 0)");
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	json_t *data = json_pack("{s:s}", "key", "k");
	struct stw_event ev = {
		.type = "Opened", .stream = "mine", .correlation_id = "mine", .data = data
	};
	assert_stw_ok(f->in, stw_append(f->in, "In", STW_ANY_VERSION, &ev, 1, NULL));
	json_decref(data);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, commit_later, &hd), 0);
	/* The key looks free; the insert waits for the other transaction's commit. */
	assert_stw_ok(f->ea, stw_run_once(f->ea, NULL));
	pthread_join(t, NULL);
	PQfinish(hd.c);
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances WHERE id = 'mine'"), 0);
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	assert_int_equal(scalar(f, "SELECT count(*) FROM stw_instances WHERE id = 'mine'"
				   " AND status = 'rejected'"),
			 1);
}

static int a_gave_some_up(const struct fixture *f)
{
	return stats(f->a).held < 64;
}

/*
 * cluster-11: a partition given up keeps the cursor it had then. Worker a
 * sees another worker, "other", and gives it its share (8 partitions a
 * renewal), and goes on stepping its others; when "other"
 * takes one later, it starts where a left it, not where a's own cursor
 * went since: the partition's events in between are not skipped.
 */
static void given_up(struct fixture *f, int stepped_before)
{
	if (stepped_before) {
		open_n(f->in, 0, 10);
		assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	}
	/* A worker that looks alive for the whole test and never takes anything itself. */
	assert_int_equal(scalar(f, "WITH w AS (INSERT INTO stw_workers(id, host, pid, started_at,"
				   " heartbeat_at) VALUES ('other', 'far', 1, clock_timestamp(),"
				   " clock_timestamp() + interval '1 hour') RETURNING 1)"
				   " SELECT count(*) FROM w"),
			 1);
	wait_for(f, a_gave_some_up, "worker a gives other its share");
	long long part = scalar(f, "SELECT min(part) FROM stw_leases WHERE owner LIKE 'worker-a#%'"
				   " AND released AND part >= 0");
	assert_true(part >= 0);
	char id[32] = "";
	for (int i = 1000; i < 100000 && id[0] == '\0'; i++) {
		char c[32];
		snprintf(c, sizeof c, "p-%d", i);
		if (stw__partition(c, 64) == part)
			snprintf(id, sizeof id, "%s", c);
	}
	struct stw_event ev = { .type = "Opened", .stream = id, .correlation_id = id };
	assert_stw_ok(f->in, stw_append(f->in, "In", STW_ANY_VERSION, &ev, 1, NULL));
	open_n(f->in, 10, 10);
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	assert_int_equal(
	    scalar(f, "SELECT position FROM stw_owner_cursors WHERE owner LIKE 'worker-a#%'"),
	    stepped_before ? 21 : 11);
	char sql[512];
	snprintf(sql, sizeof sql, "SELECT count(*) FROM stw_acquire('other', ARRAY[%lld], 60000)",
		 part);
	assert_int_equal(scalar(f, sql), 1);
	/* "other" starts where a gave the partition up (10, or 0: a had no cursor yet), not
	 * where a went on to. */
	snprintf(sql, sizeof sql,
		 "SELECT position FROM stw_part_cursors WHERE definition = 'proc'"
		 " AND context = 'In' AND part = %lld",
		 part);
	assert_int_equal(scalar(f, sql), stepped_before ? 10 : 0);
}

static void released_partition_keeps_its_cursor(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	given_up(f, 1);
}

/*
 * cluster-12: the same, given up before the worker had stepped at all (no
 * cursor of the definition anywhere yet): the new holder starts at the
 * beginning of the log, not where the giver's cursor went since.
 */
static void released_before_any_cursor(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	given_up(f, 0);
}

/* cluster-8: a cluster needs PostgreSQL: an SQLite store is refused with the reason. */
static void sqlite_is_refused(void **state)
{
	(void)state;
	char dir[FX_PATH], db[FX_PATH + 16];
	assert_int_equal(fx_tmpdir_make(dir, sizeof dir, "cluster-sqlite"), 0);
	snprintf(db, sizeof db, "%s/c.db", dir);
	struct stw_cluster_options o = { .store = db };
	struct stw_cluster *c = NULL;
	char err[256] = "";
	assert_int_equal(stw_cluster_join(&o, &c, err, sizeof err), STW_EINVAL);
	assert_null(c);
	assert_string_equal(err, "a cluster needs a PostgreSQL store");
	fx_tmpdir_remove(dir);
}

/* The member `key` of the object of `arr` whose `by` is the string `value`, or NULL. */
/* The first object of arr whose `by` is value, or a worker's id of that name ("value#..."). */
static json_t *find(json_t *arr, const char *by, const char *value)
{
	size_t i, n = strlen(value);
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		const char *v = json_string_value(json_object_get(o, by));
		if (v != NULL && strncmp(v, value, n) == 0 && (v[n] == '\0' || v[n] == '#'))
			return o;
	}
	return NULL;
}

/* Whether a worker's id is of that name. */
static int named(const char *id, const char *name)
{
	size_t n = strlen(name);
	return id != NULL && strncmp(id, name, n) == 0 && id[n] == '#';
}

static json_int_t int_of(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return json_integer_value(v);
}

/* Checks a worker of the view against its membership's figures. */
static void check_worker(json_t *view, struct stw_cluster *c, const char *id)
{
	json_t *w = find(json_object_get(view, "workers"), "id", id);
	assert_non_null(w);
	struct stw_cluster_stats st = stats(c);
	assert_int_equal(int_of(w, "partitions"), st.held);
	assert_int_equal(json_is_true(json_object_get(w, "periodic")), st.periodic);
	assert_int_equal(int_of(w, "pid"), getpid());
	assert_int_equal(int_of(w, "lease_ms"), LEASE_MS);
	assert_true(json_is_true(json_object_get(w, "live")));
	assert_true(int_of(w, "heartbeat_age_ms") >= 0);
	assert_true(int_of(w, "heartbeat_age_ms") < LEASE_MS);
	assert_true(int_of(w, "heartbeat_at") >= int_of(w, "started_at"));
	assert_true(json_string_length(json_object_get(w, "host")) > 0);
}

/*
 * cluster-9: the view of the cluster (stw_cluster_view), read by an engine
 * of no worker and by a worker's engine alike: two workers with what each
 * holds, every partition with its owner, epoch, lease, cursor lag, timers
 * and pending commands, and the newest grants. Worker b's engine has not
 * stepped: each of its partitions lags by the 30 events appended, a's by
 * none; a cursor kept before the cluster, at 10, adds 20 to every one.
 */
static void the_view(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	second_worker(f);
	open_n(f->in, 0, 30);
	assert_stw_ok(f->ea, stw_run_until_idle(f->ea));
	/* Work of two partitions, written as the engines write it. */
	assert_int_equal(
	    scalar(f, "WITH i AS (INSERT INTO stw_timers(id, definition, instance_id,"
		      " message_type, due_at, entered_version, armed_by, created_at,"
		      " part) SELECT 't' || n, 'proc', 'x', 'Tick', 9e15, 0, 'm', 0, 5"
		      " FROM generate_series(1, 3) n RETURNING 1) SELECT count(*) FROM i"),
	    3);
	assert_int_equal(scalar(f, "WITH i AS (INSERT INTO stw_outbox(command_id, context, type,"
				   " data, status, created_at, part) SELECT s || n, 'Far', 'Do',"
				   " '{}', s, 0, 7 FROM generate_series(1, 4) n, unnest(ARRAY["
				   "'pending', 'delivered']) s(s) WHERE s = 'pending' OR n = 1"
				   " RETURNING 1) SELECT count(*) FROM i"),
			 5);
	/* A cursor a single engine kept before the cluster: 10 of the 30 events read, in
	 * every partition (none has a cursor of its own for it). */
	assert_int_equal(scalar(f, "WITH i AS (INSERT INTO stw_cursors(definition, context,"
				   " position) VALUES ('before', 'In', 10) RETURNING 1)"
				   " SELECT count(*) FROM i"),
			 1);
	/* A worker silent for longer than its lease (not yet forgotten). */
	assert_int_equal(scalar(f, "WITH i AS (INSERT INTO stw_workers(id, host, pid, started_at,"
				   " heartbeat_at, lease_ms) VALUES ('ghost', 'far', 1,"
				   " clock_timestamp() - interval '20 s', clock_timestamp()"
				   " - interval '10 s', 3000) RETURNING 1) SELECT count(*) FROM i"),
			 1);
	json_t *view = NULL;
	assert_stw_ok(f->in, stw_cluster_view(f->in, &view));
	assert_true(json_is_true(json_object_get(view, "enabled")));
	assert_int_equal(int_of(view, "partition_count"), 64);
	long long db_now = scalar(f, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::int8");
	assert_true(int_of(view, "now") <= db_now && int_of(view, "now") > db_now - 5000);

	json_t *workers = json_object_get(view, "workers");
	assert_int_equal(json_array_size(workers), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(workers, 0), "id")),
			    "ghost");
	check_worker(view, f->a, "worker-a");
	check_worker(view, f->b, "worker-b");
	json_t *ghost = find(workers, "id", "ghost");
	assert_true(json_is_false(json_object_get(ghost, "live")));
	assert_true(int_of(ghost, "heartbeat_age_ms") >= 10000);
	assert_int_equal(int_of(ghost, "partitions"), 0);

	/* Every partition held, by a or b, at its epoch, its lease running. */
	json_t *parts = json_object_get(view, "partitions");
	assert_int_equal(json_array_size(parts), 64);
	long long lag_a = 0, lag_b = 0;
	for (int i = 0; i < 64; i++) {
		json_t *p = json_array_get(parts, (size_t)i);
		assert_int_equal(int_of(p, "part"), i);
		assert_true(json_is_true(json_object_get(p, "held")));
		assert_true(int_of(p, "epoch") >= 1);
		assert_true(int_of(p, "expires_in_ms") > 0 &&
			    int_of(p, "expires_in_ms") <= LEASE_MS);
		const char *owner = json_string_value(json_object_get(p, "owner"));
		char sql[160];
		snprintf(sql, sizeof sql,
			 "SELECT epoch FROM stw_leases WHERE part = %d AND owner = '%s'", i, owner);
		assert_int_equal(int_of(p, "epoch"), scalar(f, sql));
		int of_a = named(owner, "worker-a");
		assert_int_equal(int_of(p, "cursor_lag"), (of_a ? 0 : 30) + 20);
		*(of_a ? &lag_a : &lag_b) += int_of(p, "cursor_lag");
		assert_int_equal(int_of(p, "timers"), i == 5 ? 3 : 0);
		assert_int_equal(int_of(p, "commands"), i == 7 ? 4 : 0);
	}
	assert_int_equal(int_of(find(workers, "id", "worker-a"), "lag"), lag_a);
	assert_int_equal(int_of(find(workers, "id", "worker-b"), "lag"), lag_b);
	assert_int_equal(lag_b, 50 * stats(f->b).held);
	json_t *periodic = json_object_get(view, "periodic");
	assert_int_equal(int_of(periodic, "part"), -1);
	assert_true(json_is_true(json_object_get(periodic, "held")));

	/* The newest 20 grants, newest first; some moved from a to b. */
	json_t *grants = json_object_get(view, "takeovers");
	assert_int_equal(json_array_size(grants), 20);
	json_t *g0 = json_array_get(grants, 0);
	assert_int_equal(int_of(g0, "part"),
			 scalar(f, "SELECT part FROM stw_lease_log ORDER BY seq DESC LIMIT 1"));
	assert_int_equal(int_of(g0, "at"),
			 scalar(f, "SELECT (extract(epoch FROM at) * 1000)::int8 FROM stw_lease_log"
				   " ORDER BY seq DESC LIMIT 1"));
	json_t *moved = find(grants, "how", "released");
	assert_non_null(moved);
	assert_true(named(json_string_value(json_object_get(moved, "owner")), "worker-b"));
	assert_true(named(json_string_value(json_object_get(moved, "prev_owner")), "worker-a"));
	for (size_t i = 1; i < json_array_size(grants); i++)
		assert_true(int_of(json_array_get(grants, i), "at") <=
			    int_of(json_array_get(grants, i - 1), "at"));

	/* A worker's engine reads the same whole cluster. */
	json_t *from_a = NULL;
	assert_stw_ok(f->ea, stw_cluster_view(f->ea, &from_a));
	assert_int_equal(json_array_size(json_object_get(from_a, "partitions")), 64);
	assert_int_equal(json_array_size(json_object_get(from_a, "workers")), 3);
	json_decref(from_a);
	json_decref(view);
}

/* cluster-10: no cluster, no view: SQLite, and a PostgreSQL store no worker joined. */
static void no_cluster_no_view(void **state)
{
	(void)state;
	char dir[FX_PATH], url[FX_PATH + 256];
	assert_int_equal(fx_tmpdir_make(dir, sizeof dir, "cluster-view"), 0);
	snprintf(url, sizeof url, "%s/c.db", dir);
	json_t *off = json_pack("{s:b}", "enabled", 0);
	for (int pg = 0; pg < 2; pg++) {
		if (pg)
			assert_int_equal(fx_pg_store(dir, NULL, url, sizeof url), 0);
		struct stw_engine *e = NULL;
		assert_int_equal(stw_open(url, NULL, &e), STW_OK);
		json_t *view = NULL;
		assert_stw_ok(e, stw_cluster_view(e, &view));
		assert_true(json_equal(view, off));
		json_decref(view);
		stw_close(e);
	}
	json_decref(off);
	fx_pg_drop(dir);
	fx_tmpdir_remove(dir);
}

static int address_recorded(const struct fixture *f)
{
	return scalar(f, "SELECT count(*) FROM stw_workers WHERE id LIKE 'worker-a#%'"
			 " AND address = '127.0.0.1:4321'") == 1;
}

/*
 * cluster-14: the address a worker listens on, known only once its server
 * chose a port (port 0 asked for), is recorded at its next heartbeat.
 */
static void address_set_after_join(void **state)
{
	struct fixture *f = *state;
	if (f == NULL)
		skip();
	stw_cluster_set_address(f->a, "127.0.0.1:4321");
	wait_for(f, address_recorded, "the address is recorded");
}

int main(void)
{
	if (fx_pg_server() == NULL) {
		fprintf(stderr, "test_cluster_postgres: STEWARD_TEST_PG_URL is not set: skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(first_worker_takes_all, setup, teardown),
		cmocka_unit_test_setup_teardown(partition_function_agrees, setup, teardown),
		cmocka_unit_test_setup_teardown(workers_split_the_instances, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_worker_commits_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(leaving_hands_over_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(takeover_behind_catches_up, setup, teardown),
		cmocka_unit_test_setup_teardown(key_taken_meanwhile_is_a_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(released_partition_keeps_its_cursor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(released_before_any_cursor, setup, teardown),
		cmocka_unit_test(sqlite_is_refused),
		cmocka_unit_test_setup_teardown(the_view, setup, teardown),
		cmocka_unit_test(no_cluster_no_view),
		cmocka_unit_test_setup_teardown(address_set_after_join, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
