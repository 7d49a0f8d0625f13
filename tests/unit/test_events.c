/*
 * test_events.c - unit tests of src/core/events.c: appending to and reading
 * from the contexts' event logs (stw_append, stw_read, stw_read_stream,
 * stw_head, stw_event_str) against a fresh store per test (SQLite, or a
 * PostgreSQL schema with STEWARD_TEST_STORE=pg). The cache behind
 * stw_read_stream (src/core/streams.c) has tests of its own: test_streams.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/engine_int.h"
#include "fixture.h"
#include "store/sqlite.h"

/* Each test's world is a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	return fx_setup(state, "events", FX_T0, NULL);
}

static int64_t version_of(struct stw_engine *e, const char *context, const char *stream)
{
	int64_t v = -1;
	assert_int_equal(stw_read_stream(e, context, stream, NULL, NULL, &v), STW_OK);
	return v;
}

/* Appends one event with the given expected version and returns the code. */
static int append1(struct stw_engine *e, const char *context, int64_t expected, const char *type,
		   const char *stream, const char *id, int64_t *pos)
{
	struct stw_event ev = fx_event(type, stream, id);
	return stw_append(e, context, expected, &ev, 1, pos);
}

/*
 * Positions are 1, 2, 3, ... per context, gap-free across the streams of a
 * context, and independent between contexts; a batch gets consecutive
 * positions; stream versions count per stream.
 */
static void test_positions_and_versions(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	int64_t p = 0;
	assert_int_equal(fx_head(e, "Billing"), 0);
	assert_int_equal(append1(e, "Billing", STW_ANY_VERSION, "Opened", "acc-a", NULL, &p),
			 STW_OK);
	assert_int_equal(p, 1);
	assert_int_equal(append1(e, "Billing", STW_ANY_VERSION, "Opened", "acc-b", NULL, &p),
			 STW_OK);
	assert_int_equal(p, 2);
	assert_int_equal(append1(e, "Reports", STW_ANY_VERSION, "Made", "rep-1", NULL, &p), STW_OK);
	assert_int_equal(p, 1);
	assert_int_equal(append1(e, "Billing", STW_ANY_VERSION, "Charged", "acc-a", NULL, &p),
			 STW_OK);
	assert_int_equal(p, 3);

	struct stw_event batch[3] = { fx_event("Charged", "acc-b", NULL),
				      fx_event("Charged", "acc-b", NULL),
				      fx_event("Closed", "acc-b", NULL) };
	int64_t ps[3] = { 0 };
	assert_int_equal(stw_append(e, "Billing", STW_ANY_VERSION, batch, 3, ps), STW_OK);
	assert_int_equal(ps[0], 4);
	assert_int_equal(ps[1], 5);
	assert_int_equal(ps[2], 6);

	assert_int_equal(fx_head(e, "Billing"), 6);
	assert_int_equal(fx_head(e, "Reports"), 1);
	assert_int_equal(version_of(e, "Billing", "acc-a"), 2);
	assert_int_equal(version_of(e, "Billing", "acc-b"), 4);
	assert_int_equal(version_of(e, "Reports", "rep-1"), 1);
	/* The same stream name in another context is another stream. */
	assert_int_equal(version_of(e, "Reports", "acc-a"), 0);

	struct fx_recs rs = { 0 };
	int count = 0;
	assert_int_equal(stw_read(e, "Billing", 0, 100, fx_record_cb, &rs, &count), STW_OK);
	assert_int_equal(count, 6);
	static const int64_t want_sv[6] = { 1, 1, 2, 2, 3, 4 };
	static const char *const want_stream[6] = { "acc-a", "acc-b", "acc-a",
						    "acc-b", "acc-b", "acc-b" };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(rs.r[i].position, i + 1);
		assert_int_equal(rs.r[i].stream_version, want_sv[i]);
		assert_string_equal(rs.r[i].stream, want_stream[i]);
		assert_string_equal(rs.r[i].context, "Billing");
	}
}

/*
 * STW_NO_STREAM accepts only a new stream; an exact expected version accepts
 * only the current version; STW_ANY_VERSION accepts anything.
 */
static void test_expected_versions(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", NULL, NULL),
			 STW_ECONFLICT);
	assert_int_equal(append1(e, "Sales", 1, "Paid", "o-1", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", 2, "Shipped", "o-1", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, "Noted", "o-1", NULL, NULL), STW_OK);
	assert_int_equal(version_of(e, "Sales", "o-1"), 4);
	/* An exact version of a stream that does not exist yet is stale too. */
	assert_int_equal(append1(e, "Sales", 1, "Ordered", "o-2", NULL, NULL), STW_ECONFLICT);
	/* A version below STW_ANY_VERSION is malformed, not a conflict. */
	assert_int_equal(append1(e, "Sales", -2, "Ordered", "o-2", NULL, NULL), STW_EINVAL);
	assert_int_equal(fx_head(e, "Sales"), 4);
}

/*
 * A stale expected version fails with STW_ECONFLICT, stores nothing of the
 * batch (head and stream version unchanged), and the message names the stream.
 */
static void test_stale_version_conflicts(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event two[2] = { fx_event("Ordered", "order-77", NULL),
				    fx_event("Paid", "order-77", NULL) };
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, two, 2, NULL), STW_OK);

	struct stw_event more[2] = { fx_event("Shipped", "order-77", "ship-1"),
				     fx_event("Closed", "order-77", "close-1") };
	int64_t ps[2] = { -1, -1 };
	assert_int_equal(stw_append(e, "Sales", 1, more, 2, ps), STW_ECONFLICT);
	assert_non_null(strstr(stw_errmsg(e), "order-77"));
	assert_int_equal(fx_head(e, "Sales"), 2);
	assert_int_equal(version_of(e, "Sales", "order-77"), 2);
	/* Neither id was stored: appending them now with the right version works. */
	assert_int_equal(stw_append(e, "Sales", 2, more, 2, ps), STW_OK);
	assert_int_equal(ps[0], 3);
	assert_int_equal(ps[1], 4);
}

/*
 * Appending an event whose id is stored is a no-op that reports the stored
 * position, with or without a positions array, whatever the expected version.
 */
static void test_idempotent_append(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	int64_t p = 0;
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", "evt-1", &p), STW_OK);
	assert_int_equal(p, 1);
	assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, "Paid", "o-1", "evt-2", &p), STW_OK);
	assert_int_equal(p, 2);

	p = 0;
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", "evt-1", &p), STW_OK);
	assert_int_equal(p, 1);
	assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, "Ordered", "o-1", "evt-1", NULL),
			 STW_OK);
	assert_int_equal(fx_head(e, "Sales"), 2);
	assert_int_equal(version_of(e, "Sales", "o-1"), 2);

	/* Ids are unique across contexts: the same id in another context is another
	 * event under a taken id, refused (not taken for the stored one). */
	p = 0;
	assert_int_equal(append1(e, "Billing", STW_ANY_VERSION, "Ordered", "o-1", "evt-1", &p),
			 STW_ECONFLICT);
	assert_non_null(strstr(stw_errmsg(e), "evt-1"));
	assert_int_equal(fx_head(e, "Billing"), 0);

	struct fx_recs rs = { 0 };
	assert_int_equal(stw_read(e, "Sales", 0, 10, fx_record_cb, &rs, NULL), STW_OK);
	assert_int_equal(rs.n, 2);
	assert_string_equal(rs.r[0].id, "evt-1");
	assert_string_equal(rs.r[0].type, "Ordered");
	assert_string_equal(rs.r[1].id, "evt-2");
}

/*
 * A replayed batch whose events are all stored succeeds even with a stale
 * expected version; a batch mixing stored and new events is version-checked
 * and stores only the new ones.
 */
static void test_replayed_batch(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event b1[2] = { fx_event("Ordered", "o-1", "e1"),
				   fx_event("Paid", "o-1", "e2") };
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, b1, 2, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", 2, "Shipped", "o-1", "e3", NULL), STW_OK);

	int64_t ps[2] = { 0, 0 };
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, b1, 2, ps), STW_OK);
	assert_int_equal(ps[0], 1);
	assert_int_equal(ps[1], 2);
	assert_int_equal(stw_append(e, "Sales", 1, b1, 2, NULL), STW_OK);
	assert_int_equal(fx_head(e, "Sales"), 3);

	struct stw_event mixed[2] = { fx_event("Paid", "o-1", "e2"),
				      fx_event("Closed", "o-1", "e4") };
	assert_int_equal(stw_append(e, "Sales", 2, mixed, 2, ps), STW_ECONFLICT);
	assert_int_equal(fx_head(e, "Sales"), 3);
	ps[0] = ps[1] = 0;
	assert_int_equal(stw_append(e, "Sales", 3, mixed, 2, ps), STW_OK);
	assert_int_equal(ps[0], 2);
	assert_int_equal(ps[1], 4);
	assert_int_equal(fx_head(e, "Sales"), 4);
	assert_int_equal(version_of(e, "Sales", "o-1"), 4);
}

/* Two events with the same id in one call are stored once; both report its position. */
static void test_same_id_twice_in_one_call(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event b[3] = { fx_event("Ordered", "o-1", "dup"),
				  fx_event("Ordered", "o-1", "dup"),
				  fx_event("Paid", "o-1", "other") };
	int64_t ps[3] = { 0, 0, 0 };
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, b, 3, ps), STW_OK);
	assert_int_equal(ps[0], 1);
	assert_int_equal(ps[1], 1);
	assert_int_equal(ps[2], 2);
	assert_int_equal(fx_head(e, "Sales"), 2);
	assert_int_equal(version_of(e, "Sales", "o-1"), 2);

	/* Without a positions array too. */
	struct stw_event c[2] = { fx_event("Ordered", "o-2", "dup2"),
				  fx_event("Ordered", "o-2", "dup2") };
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, c, 2, NULL), STW_OK);
	assert_int_equal(fx_head(e, "Sales"), 3);
	assert_int_equal(version_of(e, "Sales", "o-2"), 1);

	struct fx_recs rs = { 0 };
	assert_int_equal(stw_read(e, "Sales", 0, 10, fx_record_cb, &rs, NULL), STW_OK);
	assert_int_equal(rs.n, 3);
	assert_string_equal(rs.r[0].id, "dup");
	assert_string_equal(rs.r[1].id, "other");
	assert_int_equal(rs.r[1].stream_version, 2);
	assert_string_equal(rs.r[2].id, "dup2");
}

/* Appends one event with data and metadata; returns the code. */
static int append_full(struct stw_engine *e, const char *context, int64_t expected,
		       const char *type, const char *stream, const char *id, json_t *data,
		       json_t *meta, int64_t *pos)
{
	struct stw_event ev = fx_event(type, stream, id);
	ev.data = data;
	ev.metadata = meta;
	int rc = stw_append(e, context, expected, &ev, 1, pos);
	json_decref(data);
	json_decref(meta);
	return rc;
}

/*
 * The same id with other content is refused with STW_ECONFLICT naming the id,
 * whatever differs (context, stream, type, data or metadata), with or without
 * an expected version, and nothing is stored; a repeat with the same content
 * (data with its keys in another order included) answers the stored position.
 */
static void test_reused_id_with_other_content(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	int64_t p = 0;
	assert_int_equal(append_full(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", "evt-1",
				     json_pack("{s:s, s:i}", "sku", "A", "qty", 2),
				     json_pack("{s:s}", "by", "web"), &p),
			 STW_OK);
	assert_int_equal(p, 1);

	struct {
		const char *context, *type, *stream;
		json_t *data, *meta;
		int64_t expected;
	} other[] = {
		{ "Billing", "Ordered", "o-1", json_pack("{s:s, s:i}", "sku", "A", "qty", 2),
		  json_pack("{s:s}", "by", "web"), STW_ANY_VERSION },
		{ "Sales", "Ordered", "o-2", json_pack("{s:s, s:i}", "sku", "A", "qty", 2),
		  json_pack("{s:s}", "by", "web"), STW_ANY_VERSION },
		{ "Sales", "Paid", "o-1", json_pack("{s:s, s:i}", "sku", "A", "qty", 2),
		  json_pack("{s:s}", "by", "web"), STW_ANY_VERSION },
		{ "Sales", "Ordered", "o-1", json_pack("{s:s, s:i}", "sku", "A", "qty", 3),
		  json_pack("{s:s}", "by", "web"), STW_ANY_VERSION },
		{ "Sales", "Ordered", "o-1", json_pack("{s:s, s:i}", "sku", "A", "qty", 2), NULL,
		  STW_ANY_VERSION },
		/* A stale version with other content is no replay either. */
		{ "Sales", "Ordered", "o-1", json_pack("{s:s, s:i}", "sku", "B", "qty", 2),
		  json_pack("{s:s}", "by", "web"), STW_NO_STREAM },
	};
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		p = -7;
		assert_int_equal(append_full(e, other[i].context, other[i].expected, other[i].type,
					     other[i].stream, "evt-1", other[i].data, other[i].meta,
					     &p),
				 STW_ECONFLICT);
		assert_non_null(strstr(stw_errmsg(e), "evt-1"));
		assert_non_null(strstr(stw_errmsg(e), "Sales#1"));
	}
	assert_int_equal(fx_head(e, "Sales"), 1);
	assert_int_equal(fx_head(e, "Billing"), 0);
	assert_int_equal(version_of(e, "Sales", "o-2"), 0);

	/* The same content, keys in another order, stale version: the stored position. */
	p = 0;
	assert_int_equal(append_full(e, "Sales", STW_NO_STREAM, "Ordered", "o-1", "evt-1",
				     json_pack("{s:i, s:s}", "qty", 2, "sku", "A"),
				     json_pack("{s:s}", "by", "web"), &p),
			 STW_OK);
	assert_int_equal(p, 1);
	struct fx_recs rs = { 0 };
	assert_int_equal(stw_read(e, "Sales", 0, 10, fx_record_cb, &rs, NULL), STW_OK);
	assert_int_equal(rs.n, 1);
	assert_string_equal(rs.r[0].data, "{\"qty\":2,\"sku\":\"A\"}");
	assert_string_equal(rs.r[0].meta, "{\"by\":\"web\"}");
}

/* One call holding two events under one id with other content stores nothing. */
static void test_reused_id_within_one_call(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event b[3] = { fx_event("Ordered", "o-1", "x"), fx_event("Paid", "o-1", "y"),
				  fx_event("Paid", "o-1", "x") };
	int64_t ps[3] = { 0 };
	assert_int_equal(stw_append(e, "Sales", STW_ANY_VERSION, b, 3, ps), STW_ECONFLICT);
	assert_non_null(strstr(stw_errmsg(e), "x"));
	assert_int_equal(fx_head(e, "Sales"), 0);

	struct stw_append_group g[2] = {
		{ .expected_version = STW_ANY_VERSION, .events = b, .n = 2 },
		{ .expected_version = STW_ANY_VERSION, .events = b + 2, .n = 1 }
	};
	long failed = -1;
	assert_int_equal(stw_append_batch(e, "Sales", g, 2, NULL, &failed), STW_ECONFLICT);
	assert_int_equal(failed, 1);
	assert_int_equal(fx_head(e, "Sales"), 0);
}

/* Appends a batch expecting STW_EINVAL, then checks that Sales is still empty. */
static void expect_einval(struct stw_engine *e, const char *context, const struct stw_event *evs,
			  size_t n)
{
	int64_t ps[4] = { 0 };
	assert_true(n <= 4);
	assert_int_equal(stw_append(e, context, STW_ANY_VERSION, evs, n, ps), STW_EINVAL);
	assert_true(stw_errmsg(e)[0] != '\0');
	assert_int_equal(fx_head(e, "Sales"), 0);
}

/*
 * Malformed input fails with STW_EINVAL and stores nothing, even when the bad
 * event comes after good ones in the same call.
 */
static void test_invalid_input(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event good = fx_event("Ordered", "o-1", NULL);

	/* Context names. */
	expect_einval(e, NULL, &good, 1);
	expect_einval(e, "", &good, 1);
	expect_einval(e, "Sales Dept", &good, 1);
	expect_einval(e, "Sa\nles", &good, 1);
	/* Names start with a letter or digit: no "..", "." or "-rf". */
	expect_einval(e, "..", &good, 1);
	expect_einval(e, ".", &good, 1);
	expect_einval(e, "-rf", &good, 1);
	expect_einval(e, "_Sales", &good, 1);
	/* Nothing to append. */
	expect_einval(e, "Sales", NULL, 1);
	expect_einval(e, "Sales", &good, 0);

	/* Missing or bad type, missing stream. */
	struct stw_event no_type[2] = { good, fx_event(NULL, "o-1", NULL) };
	expect_einval(e, "Sales", no_type, 2);
	struct stw_event bad_type = fx_event("Order placed", "o-1", NULL);
	expect_einval(e, "Sales", &bad_type, 1);
	struct stw_event no_stream = fx_event("Ordered", NULL, NULL);
	expect_einval(e, "Sales", &no_stream, 1);

	/* Events of different streams in one call. */
	struct stw_event two_streams[2] = { good, fx_event("Ordered", "o-2", NULL) };
	expect_einval(e, "Sales", two_streams, 2);

	/* Ids with control characters. */
	struct stw_event bad_id[2] = { good, fx_event("Ordered", "o-1", "evt\n1") };
	expect_einval(e, "Sales", bad_id, 2);
	struct stw_event bad_corr = good;
	bad_corr.correlation_id = "c\x01";
	expect_einval(e, "Sales", &bad_corr, 1);
	struct stw_event bad_caus = good;
	bad_caus.causation_id = "";
	expect_einval(e, "Sales", &bad_caus, 1);

	/* Data and metadata that are not objects. */
	json_t *arr = json_array();
	json_t *str = json_string("text");
	struct stw_event arr_data[2] = { good, good };
	arr_data[1].data = arr;
	expect_einval(e, "Sales", arr_data, 2);
	struct stw_event str_meta = good;
	str_meta.metadata = str;
	expect_einval(e, "Sales", &str_meta, 1);
	json_decref(arr);
	json_decref(str);

	/* Data larger than STW_MAX_JSON once serialised. */
	char *big = malloc(STW_MAX_JSON + 1);
	assert_non_null(big);
	memset(big, 'x', STW_MAX_JSON);
	big[STW_MAX_JSON] = '\0';
	json_t *huge = json_pack("{s:s}", "blob", big);
	free(big);
	assert_non_null(huge);
	struct stw_event huge_data[2] = { good, good };
	huge_data[1].data = huge;
	expect_einval(e, "Sales", huge_data, 2);
	struct stw_event huge_meta = good;
	huge_meta.metadata = huge;
	expect_einval(e, "Sales", &huge_meta, 1);
	json_decref(huge);

	/* After all that, a good append still starts at position 1. */
	int64_t p = 0;
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, &good, 1, &p), STW_OK);
	assert_int_equal(p, 1);
}

/*
 * Every field a caller gives survives the round trip through the store and
 * stw_read: id, type, stream, correlation and causation ids (NULL stays NULL),
 * data and metadata (NULL becomes {}); a NULL id is replaced by a UUID.
 */
static void test_round_trip(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	json_t *data = json_pack("{s:s, s:i, s:{s:[i,i]}, s:b, s:n}", "sku", "A-1", "qty", 3,
				 "nested", "list", 1, 2, "gift", 1, "note");
	json_t *meta = json_pack("{s:s}", "user", "z\xc3\xbcrich");
	assert_non_null(data);
	assert_non_null(meta);
	struct stw_event evs[2] = {
		{ .id = "evt-1",
		  .type = "Ordered",
		  .stream = "order 1",
		  .correlation_id = "corr-1",
		  .causation_id = "cause-1",
		  .data = data,
		  .metadata = meta },
		{ .type = "Paid", .stream = "order 1" },
	};
	assert_int_equal(stw_append(e, "Sales", STW_NO_STREAM, evs, 2, NULL), STW_OK);
	json_decref(data);
	json_decref(meta);

	struct fx_recs rs = { 0 };
	assert_int_equal(stw_read(e, "Sales", 0, 10, fx_record_cb, &rs, NULL), STW_OK);
	assert_int_equal(rs.n, 2);
	struct fx_rec *a = &rs.r[0], *b = &rs.r[1];
	assert_string_equal(a->context, "Sales");
	assert_string_equal(a->id, "evt-1");
	assert_string_equal(a->type, "Ordered");
	assert_string_equal(a->stream, "order 1");
	assert_true(a->has_corr);
	assert_string_equal(a->corr, "corr-1");
	assert_true(a->has_caus);
	assert_string_equal(a->caus, "cause-1");
	assert_string_equal(a->data, "{\"gift\":true,\"nested\":{\"list\":[1,2]},\"note\":null,"
				     "\"qty\":3,\"sku\":\"A-1\"}");
	assert_string_equal(a->meta, "{\"user\":\"z\xc3\xbcrich\"}");

	assert_false(b->has_corr);
	assert_false(b->has_caus);
	assert_string_equal(b->data, "{}");
	assert_string_equal(b->meta, "{}");
	assert_int_equal(strlen(b->id), 36);
	assert_int_equal(b->id[14], '7'); /* a UUID v7 */
}

/* recorded_at is the engine clock's time at the append, not the wall clock's. */
static void test_recorded_at_from_clock(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	fx_clock_set(&f->clock, 1234567);
	assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, "Ordered", "o-1", NULL, NULL),
			 STW_OK);
	fx_clock_set(&f->clock, 7654321);
	assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, "Paid", "o-1", NULL, NULL), STW_OK);
	struct fx_recs rs = { 0 };
	assert_int_equal(stw_read(e, "Sales", 0, 10, fx_record_cb, &rs, NULL), STW_OK);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.r[0].recorded_at, 1234567);
	assert_int_equal(rs.r[1].recorded_at, 7654321);
}

/* Appends n events with types T1..Tn to one stream of Sales. */
static void append_n(struct stw_engine *e, int n)
{
	for (int i = 1; i <= n; i++) {
		char type[16];
		snprintf(type, sizeof(type), "T%d", i);
		assert_int_equal(append1(e, "Sales", STW_ANY_VERSION, type, "s", NULL, NULL),
				 STW_OK);
	}
}

/*
 * stw_read honours `after` and `limit`, reports the count, stops early when
 * the callback says so, accepts a NULL callback, and refuses bad arguments.
 */
static void test_read_after_limit_stop(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	append_n(e, 5);
	struct fx_recs rs = { 0 };
	int count = -1;
	assert_int_equal(stw_read(e, "Sales", 2, 2, fx_record_cb, &rs, &count), STW_OK);
	assert_int_equal(count, 2);
	assert_int_equal(rs.n, 2);
	assert_int_equal(rs.r[0].position, 3);
	assert_string_equal(rs.r[0].type, "T3");
	assert_int_equal(rs.r[1].position, 4);

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(stw_read(e, "Sales", 3, 100, fx_record_cb, &rs, &count), STW_OK);
	assert_int_equal(count, 2);
	assert_int_equal(rs.r[1].position, 5);

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(stw_read(e, "Sales", 5, 100, fx_record_cb, &rs, &count), STW_OK);
	assert_int_equal(count, 0);
	assert_int_equal(rs.n, 0);

	/* Early stop: the callback asks to stop at the second event. */
	memset(&rs, 0, sizeof(rs));
	rs.stop_at = 2;
	assert_int_equal(stw_read(e, "Sales", 0, 100, fx_record_cb, &rs, &count), STW_OK);
	assert_int_equal(rs.n, 2);
	assert_int_equal(count, 2);

	/* No callback: just count. An unknown context is empty. */
	assert_int_equal(stw_read(e, "Sales", 0, 100, NULL, NULL, &count), STW_OK);
	assert_int_equal(count, 5);
	assert_int_equal(stw_read(e, "Nowhere", 0, 100, NULL, NULL, &count), STW_OK);
	assert_int_equal(count, 0);

	assert_int_equal(stw_read(e, "Sales", 0, 0, NULL, NULL, &count), STW_EINVAL);
	assert_int_equal(count, 0);
	assert_int_equal(stw_read(e, "Sales", -1, 10, NULL, NULL, &count), STW_EINVAL);
	assert_int_equal(stw_read(e, "bad name", 0, 10, NULL, NULL, &count), STW_EINVAL);
	assert_int_equal(stw_read(NULL, "Sales", 0, 10, NULL, NULL, &count), STW_EINVAL);
}

/*
 * stw_read_stream returns exactly one stream's events in version order with
 * its version; an unknown stream has version 0; an early stop still reports
 * the stream's true version.
 */
static void test_read_stream(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "A1", "a", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", STW_NO_STREAM, "B1", "b", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", 1, "A2", "a", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Other", STW_NO_STREAM, "X1", "a", NULL, NULL), STW_OK);
	assert_int_equal(append1(e, "Sales", 2, "A3", "a", NULL, NULL), STW_OK);

	struct fx_recs rs = { 0 };
	int64_t v = -1;
	assert_int_equal(stw_read_stream(e, "Sales", "a", fx_record_cb, &rs, &v), STW_OK);
	assert_int_equal(v, 3);
	assert_int_equal(rs.n, 3);
	static const char *const types[3] = { "A1", "A2", "A3" };
	static const int64_t positions[3] = { 1, 3, 4 };
	for (int i = 0; i < 3; i++) {
		assert_string_equal(rs.r[i].type, types[i]);
		assert_int_equal(rs.r[i].stream_version, i + 1);
		assert_int_equal(rs.r[i].position, positions[i]);
		assert_string_equal(rs.r[i].context, "Sales");
	}

	memset(&rs, 0, sizeof(rs));
	rs.stop_at = 1;
	assert_int_equal(stw_read_stream(e, "Sales", "a", fx_record_cb, &rs, &v), STW_OK);
	assert_int_equal(rs.n, 1);
	assert_int_equal(v, 3);

	memset(&rs, 0, sizeof(rs));
	assert_int_equal(stw_read_stream(e, "Sales", "nope", fx_record_cb, &rs, &v), STW_OK);
	assert_int_equal(rs.n, 0);
	assert_int_equal(v, 0);

	assert_int_equal(stw_read_stream(e, "Sales", "", NULL, NULL, &v), STW_EINVAL);
	assert_int_equal(stw_read_stream(e, "Sa les", "a", NULL, NULL, &v), STW_EINVAL);
	assert_int_equal(stw_read_stream(NULL, "Sales", "a", NULL, NULL, &v), STW_EINVAL);
}

/* The engine's connection has a 16 MiB page cache by default; -1 keeps SQLite's 2,000 KiB. */
static void test_page_cache_option(void **state)
{
	struct fx_world *f = *state;
	if (fx_on_pg())
		skip(); /* SQLite's */
	assert_int_equal(stw__sqlite_cache_kb(f->e->store), 16384);
	stw_close(f->e);
	struct stw_options o = { .page_cache_kb = -1 };
	assert_stw_ok(NULL, fx_world_open(f, &o));
	assert_int_equal(stw__sqlite_cache_kb(f->e->store), 2000);
	stw_close(f->e);
	o.page_cache_kb = 1024;
	assert_stw_ok(NULL, fx_world_open(f, &o));
	assert_int_equal(stw__sqlite_cache_kb(f->e->store), 1024);
}

/* stw_head is 0 for an empty context, follows appends, and refuses bad arguments. */
static void test_head(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	int64_t h = -1;
	assert_int_equal(stw_head(e, "Sales", &h), STW_OK);
	assert_int_equal(h, 0);
	append_n(e, 3);
	assert_int_equal(stw_head(e, "Sales", &h), STW_OK);
	assert_int_equal(h, 3);
	assert_int_equal(stw_head(e, "Sales", NULL), STW_EINVAL);
	assert_int_equal(stw_head(e, "", &h), STW_EINVAL);
	assert_int_equal(stw_head(NULL, "Sales", &h), STW_EINVAL);
}

/* stw_event_str returns string fields of the data and NULL for anything else. */
static void test_event_str(void **state)
{
	(void)state;
	json_t *data =
	    json_pack("{s:s, s:i, s:n, s:{s:s}}", "sku", "A-1", "qty", 3, "none", "obj", "k", "v");
	assert_non_null(data);
	struct stw_event ev = { .type = "T", .stream = "s", .data = data };
	assert_string_equal(stw_event_str(&ev, "sku"), "A-1");
	assert_null(stw_event_str(&ev, "qty"));
	assert_null(stw_event_str(&ev, "none"));
	assert_null(stw_event_str(&ev, "obj"));
	assert_null(stw_event_str(&ev, "missing"));
	assert_null(stw_event_str(&ev, NULL));
	assert_null(stw_event_str(NULL, "sku"));
	json_decref(data);
	struct stw_event no_data = { .type = "T", .stream = "s" };
	assert_null(stw_event_str(&no_data, "sku"));
}

/* stw_event_str works on events handed to a read callback (their data is parsed). */
static int str_cb(const struct stw_event *ev, void *ud)
{
	const char *s = stw_event_str(ev, "sku");
	snprintf(ud, 32, "%s", s ? s : "(null)");
	return 0;
}

static void test_event_str_in_callback(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct stw_event ev = fx_event("Ordered", "o-1", NULL);
	ev.data = json_pack("{s:s}", "sku", "B-2");
	assert_int_equal(stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
	char got[32] = "";
	assert_int_equal(stw_read(e, "Sales", 0, 1, str_cb, got, NULL), STW_OK);
	assert_string_equal(got, "B-2");
}

/* A service that applies everything (stw_context_declared only looks at it). */
static int accept_all(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	(void)ud;
	return STW_OK;
}

static const char *const declared_sources[] = { "Sales", NULL };
static const struct stw_command_def declared_cmds[] = {
	{ "Shop", "Ship", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def declared_transitions[] = {
	{ NULL, "Ordered", NULL, declared_cmds, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition declared_policy = {
	.name = "Declared",
	.version = 1,
	.sources = declared_sources,
	.transitions = declared_transitions,
};

/*
 * stw_context_declared knows the contexts a definition reads (Sales) or sends
 * to (Shop) and those a service owns (Billing), refuses names that are not
 * context names, and nothing else: the daemon refuses events for the others.
 */
static void test_context_declared(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	assert_int_equal(stw_context_declared(e, "Sales"), 0);
	assert_int_equal(stw_define(e, &declared_policy), STW_OK);
	assert_int_equal(stw_register_service(e, "Billing", accept_all, NULL), STW_OK);
	assert_int_equal(stw_context_declared(e, "Sales"), 1);
	assert_int_equal(stw_context_declared(e, "Shop"), 1);
	assert_int_equal(stw_context_declared(e, "Billing"), 1);
	assert_int_equal(stw_context_declared(e, "Warehose"), 0);
	assert_int_equal(stw_context_declared(e, "sales"), 0);
	assert_int_equal(stw_context_declared(e, ".."), STW_EINVAL);
	assert_int_equal(stw_context_declared(e, ""), STW_EINVAL);
	assert_int_equal(stw_context_declared(e, NULL), STW_EINVAL);
	assert_int_equal(stw_context_declared(NULL, "Sales"), STW_EINVAL);
}

/* Another engine's append, run on a thread of its own (it waits for the first engine). */
struct racer {
	struct stw_engine *e;
	int rc;
};

static void *race_append(void *arg)
{
	struct racer *r = arg;
	struct stw_event ev = { .id = "second", .type = "Added", .stream = "x" };
	r->rc = stw_append(r->e, "Sales", STW_NO_STREAM, &ev, 1, NULL);
	return NULL;
}

/*
 * Two engines append to a new stream at once, each expecting it to be new:
 * the one that waited for the other's commit is refused (STW_ECONFLICT),
 * though the stream was new when it looked. (On a store without a single
 * writer, PostgreSQL, its append gets the stream's next version after the
 * wait: the engine compares it with the one expected.)
 */
static void test_concurrent_expected_versions(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(f, NULL, NULL, &other));
	assert_stw_ok(f->e, stw_begin(f->e));
	struct stw_event ev = { .id = "first", .type = "Added", .stream = "x" };
	assert_stw_ok(f->e, stw_append(f->e, "Sales", STW_NO_STREAM, &ev, 1, NULL));
	struct racer r = { other, STW_OK };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, race_append, &r), 0);
	struct timespec pause = { 0, 200 * 1000000L }; /* the other append is waiting by then */
	nanosleep(&pause, NULL);
	assert_stw_ok(f->e, stw_commit(f->e));
	pthread_join(t, NULL);
	assert_int_equal(r.rc, STW_ECONFLICT);
	int64_t v = -1;
	assert_stw_ok(f->e, stw_stream_version(f->e, "Sales", "x", &v));
	assert_int_equal(v, 1);
	assert_stw_ok(f->e, stw_head(f->e, "Sales", &v));
	assert_int_equal(v, 1);
	stw_close(other);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_positions_and_versions),
		T(test_expected_versions),
		T(test_stale_version_conflicts),
		T(test_concurrent_expected_versions),
		T(test_idempotent_append),
		T(test_replayed_batch),
		T(test_same_id_twice_in_one_call),
		T(test_reused_id_with_other_content),
		T(test_reused_id_within_one_call),
		T(test_invalid_input),
		T(test_round_trip),
		T(test_recorded_at_from_clock),
		T(test_read_after_limit_stop),
		T(test_read_stream),
		T(test_page_cache_option),
		T(test_head),
		T(test_context_declared),
		cmocka_unit_test(test_event_str),
		T(test_event_str_in_callback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
