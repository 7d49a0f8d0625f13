/*
 * test_streams.c - unit tests of src/core/streams.c: the cache of parsed
 * streams behind stw_read_stream (what it parses again, what it asks the
 * store, what it forgets and evicts), against a fresh store per test
 * (SQLite, or a PostgreSQL schema with STEWARD_TEST_STORE=pg).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/engine_int.h"
#include "fixture.h"

/* Each test's world is a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	return fx_setup(state, "streams", FX_T0, NULL);
}

/* Events parsed from the store by stream reads so far (stw_stats). */
static uint64_t parsed(struct stw_engine *e)
{
	struct stw_stats st;
	stw_get_stats(e, &st);
	return st.stream_events_parsed;
}

/* Stream reads so far that asked the store (stw_stats). */
static uint64_t store_reads(struct stw_engine *e)
{
	struct stw_stats st;
	stw_get_stats(e, &st);
	return st.stream_store_reads;
}

/* Reads a stream into rs (cleared first); returns its version. */
static int64_t read_all(struct stw_engine *e, const char *stream, struct fx_recs *rs)
{
	int64_t v = -1;
	memset(rs, 0, sizeof(*rs));
	assert_int_equal(stw_read_stream(e, "Sales", stream, fx_record_cb, rs, &v), STW_OK);
	assert_int_equal(rs->n, (int)v);
	for (int i = 0; i < rs->n && i < 32; i++)
		assert_int_equal(rs->r[i].stream_version, i + 1);
	return v;
}

/* Appends one event of type `type` (and id, NULL: generated) to stream s of Sales, {"n": n}. */
static void append_id_n(struct stw_engine *e, const char *s, const char *type, const char *id,
			int n)
{
	struct stw_event ev = fx_event(type, s, id);
	ev.data = json_pack("{s:i}", "n", n);
	assert_int_equal(stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
}

static void append_n_to(struct stw_engine *e, const char *s, const char *type, int n)
{
	append_id_n(e, s, type, NULL, n);
}

/*
 * The stream cache: reading a stream again parses only the events appended
 * since, and hands the same events (data included) as a read from the store.
 */
static void test_stream_cache_parses_new_events_only(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	for (int i = 1; i <= 5; i++)
		append_n_to(f->e, "a", "Added", i);
	struct fx_recs first, again;
	uint64_t p0 = parsed(e);
	assert_int_equal(read_all(e, "a", &first), 5);
	assert_int_equal(parsed(e) - p0, 5);
	assert_int_equal(read_all(e, "a", &again), 5);
	assert_int_equal(parsed(e) - p0, 5); /* nothing parsed again */
	assert_memory_equal(&first, &again, sizeof(first));
	append_n_to(e, "a", "Added", 6);
	append_n_to(e, "a", "Removed", 7);
	assert_int_equal(read_all(e, "a", &again), 7);
	assert_int_equal(parsed(e) - p0, 7); /* the two new ones */
	assert_memory_equal(&first.r[0], &again.r[0], 5 * sizeof(first.r[0]));
	assert_string_equal(again.r[6].type, "Removed");
	assert_string_equal(again.r[6].data, "{\"n\":7}");

	/* An early stop still reports the true version, from the cache too. */
	memset(&again, 0, sizeof(again));
	again.stop_at = 2;
	int64_t v = 0;
	assert_int_equal(stw_read_stream(e, "Sales", "a", fx_record_cb, &again, &v), STW_OK);
	assert_int_equal(again.n, 2);
	assert_int_equal(v, 7);
}

/*
 * What a stream read saw inside a transaction that is rolled back is not
 * served afterwards: the events are gone, and an event appended at the same
 * version later is the one read, also when it has the same id (as the
 * derived ids of a service's events do when a command is handled again)
 * and the same position.
 */
static void test_stream_cache_forgets_rolled_back_events(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	append_n_to(e, "a", "Added", 1);
	struct fx_recs rs;
	assert_int_equal(read_all(e, "a", &rs), 1);
	assert_int_equal(stw_begin(e), STW_OK);
	append_n_to(e, "a", "Added", 2);
	assert_int_equal(read_all(e, "a", &rs), 2);
	assert_int_equal(stw_rollback(e), STW_OK);
	assert_int_equal(read_all(e, "a", &rs), 1);
	append_n_to(e, "a", "Changed", 3);
	assert_int_equal(read_all(e, "a", &rs), 2);
	assert_string_equal(rs.r[1].type, "Changed");
	assert_string_equal(rs.r[1].data, "{\"n\":3}");

	/* The same id at the same version and position, with other data. */
	assert_int_equal(stw_begin(e), STW_OK);
	append_id_n(e, "a", "Decided", "derived-1", 4);
	assert_int_equal(read_all(e, "a", &rs), 3);
	assert_int_equal(stw_rollback(e), STW_OK);
	append_id_n(e, "a", "Decided", "derived-1", 5);
	assert_int_equal(read_all(e, "a", &rs), 3);
	assert_string_equal(rs.r[2].id, "derived-1");
	assert_string_equal(rs.r[2].data, "{\"n\":5}");
}

/*
 * 1 when the engine's store cannot tell that another connection committed
 * (no STW__CAP_FOREIGN_COMMITS: PostgreSQL): then every read of a cached
 * stream asks the store for what came after the cached events.
 */
static uint64_t asks_always(const struct stw_engine *e)
{
	return (e->store->caps & STW__CAP_FOREIGN_COMMITS) == 0;
}

/*
 * Events another engine appends to the same store are read after the cached
 * ones: its commit sends the next read to the store, whichever stream it
 * wrote.
 */
static void test_stream_cache_sees_other_engines(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(f, NULL, NULL, &other));
	append_n_to(f->e, "a", "Added", 1);
	struct fx_recs rs;
	assert_int_equal(read_all(f->e, "a", &rs), 1);
	assert_int_equal(read_all(other, "a", &rs), 1);
	append_n_to(other, "a", "Added", 2);
	uint64_t q0 = store_reads(f->e);
	assert_int_equal(read_all(f->e, "a", &rs), 2);
	assert_int_equal(store_reads(f->e) - q0, 1);
	assert_string_equal(rs.r[1].data, "{\"n\":2}");
	/* A commit to another stream: the store is asked, and a has nothing new. */
	append_n_to(other, "b", "Added", 1);
	assert_int_equal(read_all(f->e, "a", &rs), 2);
	assert_int_equal(store_reads(f->e) - q0, 2);
	assert_int_equal(read_all(f->e, "a", &rs), 2);
	assert_int_equal(store_reads(f->e) - q0, 2 + asks_always(f->e));
	stw_close(other);
}

/*
 * An append's expected version is taken from the cache only while the cache
 * holds the whole stream: after another engine's commit to it, the version
 * read before is refused (a cache that vouched for it would have the store
 * refuse the event's version instead, as an unknown duplicate).
 */
static void test_stream_cache_and_expected_version(void **state)
{
	struct fx_world *f = *state;
	struct stw_event ev = fx_event("Added", "a", NULL);
	struct stw_engine *other = NULL;
	struct fx_recs rs;
	assert_stw_ok(NULL, fx_open(f, NULL, NULL, &other));
	assert_int_equal(stw_append(f->e, "Sales", 0, &ev, 1, NULL), STW_OK);
	assert_int_equal(read_all(f->e, "a", &rs), 1);
	assert_int_equal(stw_append(other, "Sales", 1, &ev, 1, NULL), STW_OK);
	/* Cached at version 1, the stream is at 2. */
	assert_int_equal(stw_append(f->e, "Sales", 1, &ev, 1, NULL), STW_ECONFLICT);
	assert_int_equal(stw_append(f->e, "Sales", 2, &ev, 1, NULL), STW_OK);
	/* Cached whole at version 3, its own append included. */
	assert_int_equal(read_all(f->e, "a", &rs), 3);
	assert_int_equal(stw_append(f->e, "Sales", 2, &ev, 1, NULL), STW_ECONFLICT);
	assert_int_equal(stw_append(f->e, "Sales", 3, &ev, 1, NULL), STW_OK);
	assert_int_equal(read_all(other, "a", &rs), 4);
	stw_close(other);
}

/*
 * Events this engine appends to a cached stream join its entry as they are
 * appended: while no other connection commits, reading the stream asks the
 * store nothing (on a store that can tell), and hands the same events as a
 * read from the store does.
 */
static void test_stream_cache_keeps_own_appends(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	append_n_to(e, "a", "Added", 1);
	struct fx_recs rs, fresh;
	uint64_t q0 = store_reads(e);
	assert_int_equal(read_all(e, "a", &rs), 1);
	assert_int_equal(store_reads(e) - q0, 1);
	assert_int_equal(read_all(e, "a", &rs), 1);
	append_n_to(e, "a", "Added", 2);
	assert_int_equal(stw_begin(e), STW_OK);
	append_n_to(e, "a", "Removed", 3);
	assert_int_equal(read_all(e, "a", &rs), 3);
	assert_int_equal(stw_commit(e), STW_OK);
	assert_int_equal(read_all(e, "a", &rs), 3);
	/* The first read only, where the store tells other engines' commits. */
	assert_int_equal(store_reads(e) - q0, 1 + 3 * asks_always(e));
	assert_string_equal(rs.r[2].type, "Removed");
	assert_string_equal(rs.r[2].data, "{\"n\":3}");
	/* The same events as another engine reads from the store. */
	struct stw_options o = { .stream_cache_kb = -1 };
	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(f, NULL, &o, &other));
	assert_int_equal(read_all(other, "a", &fresh), 3);
	assert_memory_equal(&rs, &fresh, sizeof(rs));
	stw_close(other);
}

/* An event appended to a stream while a fold over it runs is read the next time. */
struct grow_fold {
	struct stw_engine *e;
	int seen;
};

static int grow_cb(const struct stw_event *ev, void *ud)
{
	struct grow_fold *g = ud;
	(void)ev;
	if (g->seen++ == 0)
		append_n_to(g->e, "a", "Added", 9);
	return 0;
}

static void test_stream_cache_append_during_fold(void **state)
{
	struct fx_world *f = *state;
	append_n_to(f->e, "a", "Added", 1);
	append_n_to(f->e, "a", "Added", 2);
	struct fx_recs rs;
	assert_int_equal(read_all(f->e, "a", &rs), 2);
	struct grow_fold g = { .e = f->e };
	int64_t v = 0;
	assert_int_equal(stw_read_stream(f->e, "Sales", "a", grow_cb, &g, &v), STW_OK);
	assert_int_equal(g.seen, 2);
	assert_int_equal(v, 2);
	assert_int_equal(read_all(f->e, "a", &rs), 3);
	assert_string_equal(rs.r[2].data, "{\"n\":9}");
}

/* A fold that reads streams itself (the same one too) sees each whole. */
struct nested_fold {
	struct stw_engine *e;
	int outer, inner_ok;
};

static int nested_cb(const struct stw_event *ev, void *ud)
{
	struct nested_fold *nf = ud;
	(void)ev;
	struct fx_recs rs;
	nf->outer++;
	if (read_all(nf->e, "a", &rs) == 3 && read_all(nf->e, "b", &rs) == 1)
		nf->inner_ok++;
	append_n_to(nf->e, "b", "More", nf->outer); /* b grows while a is folded */
	return 0;
}

static void test_stream_cache_nested_reads(void **state)
{
	struct fx_world *f = *state;
	for (int i = 1; i <= 3; i++)
		append_n_to(f->e, "a", "Added", i);
	append_n_to(f->e, "b", "Added", 1);
	struct nested_fold nf = { .e = f->e };
	struct fx_recs rs;
	assert_int_equal(read_all(f->e, "b", &rs), 1);
	int64_t v = 0;
	assert_int_equal(stw_read_stream(f->e, "Sales", "a", nested_cb, &nf, &v), STW_OK);
	assert_int_equal(v, 3);
	assert_int_equal(nf.outer, 3);
	assert_int_equal(nf.inner_ok, 1); /* b had 1 event only at the first */
	assert_int_equal(read_all(f->e, "b", &rs), 4);
	assert_string_equal(rs.r[3].data, "{\"n\":3}");
}

/*
 * With the cache off every read parses the whole stream; with a budget too
 * small for a stream, it is read directly, and streams read less recently
 * are evicted for newer ones: the events are the same either way.
 */
static void test_stream_cache_off_and_small(void **state)
{
	struct fx_world *f = *state;
	for (int i = 1; i <= 20; i++)
		append_n_to(f->e, "long", "Added", i);
	for (int i = 1; i <= 3; i++) {
		char s[16];
		snprintf(s, sizeof(s), "s%d", i);
		append_n_to(f->e, s, "Added", i);
	}
	stw_close(f->e);

	struct stw_options o = { .stream_cache_kb = -1 };
	assert_stw_ok(NULL, fx_world_open(f, &o));
	struct fx_recs rs;
	uint64_t p0 = parsed(f->e);
	assert_int_equal(read_all(f->e, "long", &rs), 20);
	assert_int_equal(read_all(f->e, "long", &rs), 20);
	assert_int_equal(parsed(f->e) - p0, 40);
	stw_close(f->e);

	/* 1 KiB: a stream may take 256 bytes, about one event here. */
	o.stream_cache_kb = 1;
	assert_stw_ok(NULL, fx_world_open(f, &o));
	p0 = parsed(f->e);
	assert_int_equal(read_all(f->e, "long", &rs), 20);
	assert_int_equal(read_all(f->e, "long", &rs), 20);
	assert_string_equal(rs.r[19].data, "{\"n\":20}");
	assert_true(parsed(f->e) - p0 >= 40);
	for (int round = 0; round < 2; round++)
		for (int i = 1; i <= 3; i++) {
			char s[16];
			snprintf(s, sizeof(s), "s%d", i);
			assert_int_equal(read_all(f->e, s, &rs), 1);
			assert_int_equal(rs.r[0].data[5], '0' + i);
		}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_stream_cache_parses_new_events_only),
		T(test_stream_cache_forgets_rolled_back_events),
		T(test_stream_cache_sees_other_engines),
		T(test_stream_cache_and_expected_version),
		T(test_stream_cache_keeps_own_appends),
		T(test_stream_cache_append_during_fold),
		T(test_stream_cache_nested_reads),
		T(test_stream_cache_off_and_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
