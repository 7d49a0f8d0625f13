/*
 * test_store_postgres.c - what only the PostgreSQL backend (src/store/
 * postgres*.c) does, beyond the store contract: a statement that fails
 * inside a level leaves the transaction refusing everything until the level
 * is undone, after which it goes on; a failed transaction is never
 * committed; a deadlock between two engines is STW_EBUSY for one of them
 * and leaves positions gap-free; the schema's version is checked; a
 * read-only store refuses writes and an empty one is not a store; engines
 * opening a new store at once create it once; a connection the server
 * drops is made again by the next operation outside a transaction (begin
 * included, without a failure), while a transaction it held fails until it
 * is rolled back, loses what it wrote, and counts as undone; a cursor and a
 * periodic record read inside a transaction are locked even before they
 * were ever written (a second engine waits, then reads what the first
 * committed). Each test in a
 * schema of its own on the server STEWARD_TEST_PG_URL names; skipped (77)
 * without it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <steward.h>

#include "fixture.h"
#include "rows.h"
#include "store/postgres_int.h"
#include "store/store.h"

/* A test's directory (named after it: its schema) and the store's URL. */
struct fixture {
	struct fx_world w; /* first: its directory, no engine */
	char url[FX_PATH + 256];
	struct stw__store *s;
};

/* Opens the test's store (read_only or not); prints why on failure. */
static int open_store(struct fixture *f, int read_only, struct stw__store **out)
{
	char err[256] = "";
	struct stw__store_options o = { .read_only = read_only };
	int rc = stw__store_open(f->url, &o, out, err, sizeof err);
	if (rc != STW_OK)
		print_message("opening %s: %s: %s\n", f->url, stw_strerror(rc), err);
	return rc;
}

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "pgstore", FX_T0) != 0)
		return -1;
	struct fixture *f = *state;
	if (fx_pg_store(f->w.dir, NULL, f->url, sizeof f->url) == 0 &&
	    open_store(f, 0, &f->s) == STW_OK)
		return 0;
	fx_pg_drop(f->w.dir);
	fx_teardown(state);
	return -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		STW__S0(f->s, close);
	int dropped = fx_pg_drop(f->w.dir);
	return fx_teardown(state) != 0 || dropped != 0 ? -1 : 0;
}

/* Runs SQL on the test's schema through a connection of its own. */
static void sql(struct fixture *f, const char *text)
{
	PGconn *c = PQconnectdb(f->url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, text);
	assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
	PQclear(res);
	PQfinish(c);
}

/* An event whose data is not UTF-8: the server refuses the statement. */
static struct stw__event_row not_utf8(const char *id)
{
	struct stw__event_row r = ev("Billing", id, "A");
	r.data = "{\"k\":\"\xff\xfe\"}";
	return r;
}

/*
 * A statement that fails inside a savepoint fails the transaction: every
 * operation is refused until rollback_to undoes the level; then what came
 * before the level is kept and the transaction commits.
 */
static void test_failed_level_recovers(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	struct stw__event_row bad = not_utf8("e2");
	assert_int_equal(STW__S(s, append, &bad, NULL, NULL), STW_EINVAL);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 1), STW_ESTORE);
	assert_true(STW__S0(s, in_transaction));
	uint64_t undos = STW__S0(s, undos);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK);
	assert_int_equal(STW__S0(s, undos), undos + 1);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	struct stw__store *other = NULL;
	assert_int_equal(open_store(f, 1, &other), STW_OK);
	int64_t head = 0;
	assert_int_equal(STW__S(other, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 2);
	STW__S0(other, close);
}

/* A transaction in which a statement failed is never committed: commit refuses it. */
static void test_failed_transaction_not_committed(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	struct stw__event_row bad = not_utf8("e2");
	assert_int_equal(STW__S(s, append, &bad, NULL, NULL), STW_EINVAL);
	assert_int_equal(STW__S0(s, commit), STW_ESTORE);
	assert_non_null(strstr(STW__S0(s, errmsg), "roll it back"));
	assert_true(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_false(STW__S0(s, in_transaction));
	int64_t head = -1;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 0);
	append_ok(s, "Billing", "e1", "A", 1, 1); /* outside a transaction: commits on its own */
}

/* An append on a thread of its own (it waits for the other store's head). */
struct crossing {
	struct stw__store *s;
	const char *context, *id;
	int rc;
	int rolled_back; /* rollback's code after a failure */
};

/* Appends; on failure rolls back at once, so the other engine's wait ends. */
static void *cross_append(void *arg)
{
	struct crossing *c = arg;
	struct stw__event_row r = ev(c->context, c->id, "A");
	c->rc = STW__S(c->s, append, &r, NULL, NULL);
	if (c->rc != STW_OK)
		c->rolled_back = STW__S0(c->s, rollback);
	return NULL;
}

/*
 * Two engines each append to one context, then to the other's: a deadlock,
 * which PostgreSQL breaks by failing one of them (STW_EBUSY, to be tried
 * again); the other goes on and commits, and the positions stay gap-free.
 */
static void test_deadlock_is_busy(void **state)
{
	struct fixture *f = *state;
	struct stw__store *a = f->s, *b = NULL;
	assert_int_equal(open_store(f, 0, &b), STW_OK);
	assert_int_equal(STW__S0(a, begin), STW_OK);
	assert_int_equal(STW__S0(b, begin), STW_OK);
	append_ok(a, "X", "a1", "A", 1, 1);
	append_ok(b, "Y", "b1", "A", 1, 1);
	struct crossing ca = { a, "Y", "a2", 0, 0 };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, cross_append, &ca), 0);
	struct crossing cb = { b, "X", "b2", 0, 0 };
	cross_append(&cb);
	pthread_join(t, NULL);
	assert_true((ca.rc == STW_EBUSY && cb.rc == STW_OK) ||
		    (ca.rc == STW_OK && cb.rc == STW_EBUSY));
	struct stw__store *lost = ca.rc == STW_EBUSY ? a : b, *won = lost == a ? b : a;
	assert_int_equal(ca.rolled_back | cb.rolled_back, STW_OK);
	assert_non_null(strstr(STW__S0(lost, errmsg), "40P01"));
	assert_int_equal(STW__S0(won, commit), STW_OK);
	/* The winner's two events, at the first position of each context. */
	int64_t head = 0;
	assert_int_equal(STW__S(a, head, "X", &head), STW_OK);
	assert_int_equal(head, 1);
	assert_int_equal(STW__S(a, head, "Y", &head), STW_OK);
	assert_int_equal(head, 1);
	/* The loser tries again: the next position. */
	append_ok(lost, "X", "c1", "B", 2, 1);
	STW__S0(b, close);
}

/* A store of a newer or unreadable schema version is refused; its own version opens. */
static void test_schema_version(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = NULL;
	char err[256];
	sql(f, "UPDATE stw_meta SET value = '99' WHERE key = 'schema_version'");
	assert_int_equal(stw__store_open(f->url, NULL, &s, err, sizeof err), STW_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err, "newer"));
	sql(f, "UPDATE stw_meta SET value = 'one' WHERE key = 'schema_version'");
	assert_int_equal(stw__store_open(f->url, NULL, &s, err, sizeof err), STW_ESTORE);
	assert_non_null(strstr(err, "unreadable"));
	sql(f, "UPDATE stw_meta SET value = '3' WHERE key = 'schema_version'");
	assert_int_equal(open_store(f, 0, &s), STW_OK);
	STW__S0(s, close);
}

/*
 * A schema 1 store, whose instances did not record the version of their
 * definition, is migrated on open: they are given version 1, and the list
 * filters by it; and (2 -> 3) they, their timers and their commands get
 * the partition of their instance, and the cluster's tables are made.
 */
static void test_schema_1_migrates(void **state)
{
	struct fixture *f = *state;
	struct stw__instance_row r = inst("def", "i1", "active", "k", 5);
	assert_int_equal(STW__S(f->s, instance_insert, &r), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	sql(f,
	    "ALTER TABLE stw_instances DROP COLUMN definition_version;"
	    " ALTER TABLE stw_instances DROP COLUMN part; ALTER TABLE stw_timers DROP COLUMN part;"
	    " ALTER TABLE stw_outbox DROP COLUMN part;"
	    " DROP TABLE stw_leases, stw_workers, stw_lease_log, stw_fence_audit,"
	    " stw_part_cursors; DROP FUNCTION stw_fence, stw_acquire, stw_partition;"
	    " DELETE FROM stw_meta WHERE key = 'partitions';"
	    " UPDATE stw_meta SET value = '1' WHERE key = 'schema_version'");
	struct stw__store *ro = NULL;
	char err[256];
	struct stw__store_options o = { .read_only = 1 };
	assert_int_equal(stw__store_open(f->url, &o, &ro, err, sizeof err), STW_ESTORE);
	assert_non_null(strstr(err, "read-write to upgrade"));
	assert_int_equal(open_store(f, 0, &f->s), STW_OK);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "i1", collect_instance, &got), STW_OK);
	assert_int_equal(got.definition_version[0], 1);
	long long part = -1;
	assert_int_equal(
	    fx_pg_scalar(f->url, "SELECT part FROM stw_instances WHERE id = 'i1'", &part), 0);
	assert_int_equal(part, stw__partition("i1", 64));
	assert_int_equal(fx_pg_scalar(f->url, "SELECT count(*) FROM stw_leases", &part), 0);
	assert_int_equal(part, 65);
	r = inst("def", "i2", "active", NULL, 6);
	r.definition_version = 4;
	assert_int_equal(STW__S(f->s, instance_insert, &r), STW_OK);
	struct stw__instance_query q = { .definition_version = 1, .limit = 10 };
	memset(&got, 0, sizeof got);
	assert_int_equal(STW__S(f->s, list_instances, &q, collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.id[0], "i1");
	struct stw__store *again = NULL;
	assert_int_equal(open_store(f, 0, &again), STW_OK); /* at 3 now: nothing to migrate */
	STW__S0(again, close);
}

/* A read-only store reads and refuses writes; an empty schema is not a store. */
static void test_read_only(void **state)
{
	struct fixture *f = *state;
	append_ok(f->s, "Billing", "e1", "A", 1, 1);
	struct stw__store *ro = NULL;
	assert_int_equal(open_store(f, 1, &ro), STW_OK);
	int64_t head = 0;
	assert_int_equal(STW__S(ro, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 1);
	struct stw__event_row r = ev("Billing", "e2", "A");
	assert_int_equal(STW__S(ro, append, &r, NULL, NULL), STW_ESTORE);
	assert_int_equal(STW__S0(ro, begin), STW_OK);
	assert_int_equal(STW__S(ro, cursor_get, "d", "Billing", &head), STW_OK); /* no lock */
	assert_int_equal(STW__S0(ro, rollback), STW_OK);
	STW__S0(ro, close);

	char url[sizeof f->url], err[256];
	assert_int_equal(fx_pg_store(f->w.dir, "empty", url, sizeof url), 0);
	struct stw__store_options o = { .read_only = 1 };
	assert_int_equal(stw__store_open(url, &o, &ro, err, sizeof err), STW_ENOTFOUND);
	assert_null(ro);
}

struct opener {
	const char *url;
	int rc;
};

static void *open_one(void *arg)
{
	struct opener *o = arg;
	struct stw__store *s = NULL;
	o->rc = stw__store_open(o->url, NULL, &s, NULL, 0);
	if (s != NULL)
		STW__S0(s, close);
	return NULL;
}

/* Four engines opening a new store at once all open it: the schema is made once. */
static void test_concurrent_create(void **state)
{
	struct fixture *f = *state;
	char url[sizeof f->url];
	assert_int_equal(fx_pg_store(f->w.dir, "fresh", url, sizeof url), 0);
	enum { N = 4 };
	struct opener o[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		o[i] = (struct opener){ url, -100 };
		assert_int_equal(pthread_create(&t[i], NULL, open_one, &o[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(o[i].rc, STW_OK);
	}
}

/*
 * Ends the server process behind store s's connection from a connection of
 * its own, as a restart or a dropped network would, and waits until it is gone.
 */
static void drop_connection(struct fixture *f, struct stw__store *s)
{
	char q[96];
	snprintf(q, sizeof q, "SELECT pg_terminate_backend(%d, 5000)",
		 PQbackendPID(stw__pg_h(s)->conn));
	PGconn *c = PQconnectdb(f->url);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PGresult *res = PQexec(c, q);
	assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
	assert_string_equal(PQgetvalue(res, 0, 0), "t");
	PQclear(res);
	PQfinish(c);
}

static int count_one(const struct stw__instance_row *r, void *ud)
{
	(void)r;
	++*(int *)ud;
	return 0;
}

/* The instances list_instances gives for no filter (a statement prepared on first use). */
static int list_all(struct stw__store *s, int *n)
{
	*n = 0;
	return STW__S(s, list_instances, NULL, count_one, n);
}

/*
 * Outside a transaction, the operation that finds the connection dropped
 * fails with STW_EBUSY and the health says so; the next one connects again,
 * with the session and every statement (those prepared on first use too).
 */
static void test_lost_connection_outside_transaction(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	int n = -1;
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(list_all(s, &n), STW_OK);
	drop_connection(f, s);
	int64_t head = 0;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_EBUSY);
	assert_non_null(strstr(STW__S0(s, errmsg), "connection to PostgreSQL was lost"));
	assert_int_equal(s->health.losses, 1);
	assert_true(s->health.down_since_ms > 0);
	assert_true(s->health.why[0] != '\0');
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 1);
	assert_int_equal(s->health.reconnects, 1);
	assert_int_equal(s->health.down_since_ms, 0);
	assert_int_equal(list_all(s, &n), STW_OK);
	assert_int_equal(n, 0);
	append_ok(s, "Billing", "e2", "A", 2, 2);
}

/* begin() on a dropped connection connects again and begins, without a failure. */
static void test_begin_reconnects(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	drop_connection(f, s);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(s->health.losses, 1);
	assert_int_equal(s->health.reconnects, 1);
}

/*
 * A transaction whose connection drops is gone: every operation fails
 * (STW_EBUSY) without connecting again, commit included, until rollback,
 * which counts an undo; then the store works again and nothing the
 * transaction wrote was kept.
 */
static void test_lost_in_transaction(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	drop_connection(f, s);
	struct stw__event_row r = ev("Billing", "e2", "A");
	assert_int_equal(STW__S(s, append, &r, NULL, NULL), STW_EBUSY);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 1), STW_EBUSY);
	assert_non_null(strstr(STW__S0(s, errmsg), "lost in a transaction"));
	assert_int_equal(STW__S0(s, commit), STW_EBUSY);
	assert_int_equal(s->health.reconnects, 0);
	uint64_t undos = STW__S0(s, undos);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(STW__S0(s, undos), undos + 1);
	assert_false(STW__S0(s, in_transaction));
	int64_t head = -1;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 0);
	assert_int_equal(s->health.reconnects, 1);
	append_ok(s, "Billing", "e1", "A", 1, 1);
}

/* A cursor or periodic record read inside a transaction of its own, on a thread. */
struct first_read {
	struct stw__store *s;
	int periodic; /* 0: cursor d/Billing, 1: periodic record p */
	int64_t value;
	int rc;
	volatile int done;
};

static void *read_in_transaction(void *arg)
{
	struct first_read *r = arg;
	r->rc = STW__S0(r->s, begin);
	if (r->rc == STW_OK)
		r->rc = r->periodic ? STW__S(r->s, periodic_get, "p", &r->value)
				    : STW__S(r->s, cursor_get, "d", "Billing", &r->value);
	if (r->rc == STW_OK)
		r->rc = STW__S0(r->s, commit);
	else
		STW__S0(r->s, rollback);
	r->done = 1;
	return NULL;
}

/*
 * Two engines read a cursor, then a periodic record, that were never
 * written, each inside its transaction: the second waits for the first to
 * commit and reads what it wrote (a lock on a missing row would lock
 * nothing, and both would take the same events, or run the process twice).
 */
static void test_first_lock_waits(void **state)
{
	struct fixture *f = *state;
	struct stw__store *a = f->s, *b = NULL;
	assert_int_equal(open_store(f, 0, &b), STW_OK);
	for (int periodic = 0; periodic <= 1; periodic++) {
		int64_t v = 99;
		assert_int_equal(STW__S0(a, begin), STW_OK);
		int rc = periodic ? STW__S(a, periodic_get, "p", &v)
				  : STW__S(a, cursor_get, "d", "Billing", &v);
		assert_true(rc == STW_OK || (periodic && rc == STW_ENOTFOUND));
		assert_true(v <= 0);
		struct first_read r = { .s = b, .periodic = periodic };
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, read_in_transaction, &r), 0);
		struct timespec pause = { 0, 300 * 1000000L };
		nanosleep(&pause, NULL);
		assert_false(r.done); /* it waits for a's transaction */
		rc = periodic ? STW__S(a, periodic_set, "p", 7, 1000)
			      : STW__S(a, cursor_set, "d", "Billing", 5);
		assert_int_equal(rc, STW_OK);
		assert_int_equal(STW__S0(a, commit), STW_OK);
		pthread_join(t, NULL);
		assert_int_equal(r.rc, STW_OK);
		assert_int_equal(r.value, periodic ? 7 : 5);
	}
	STW__S0(b, close);
}

int main(void)
{
	if (fx_pg_server() == NULL) {
		fprintf(stderr, "STEWARD_TEST_PG_URL is not set: skipped\n");
		return 77;
	}
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_failed_level_recovers), T(test_failed_transaction_not_committed),
		T(test_deadlock_is_busy),      T(test_schema_version),
		T(test_schema_1_migrates),     T(test_read_only),
		T(test_concurrent_create),     T(test_lost_connection_outside_transaction),
		T(test_begin_reconnects),      T(test_lost_in_transaction),
		T(test_first_lock_waits),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
