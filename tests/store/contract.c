/*
 * contract.c - the store contract (see contract.h): events (append,
 * event_get, read, read_stream, head, stream_version), cursors, instances
 * (insert, get, update under a version check, key_holder, list), history,
 * the outbox, the dedup table, unrouted messages, and one level of
 * transaction with one savepoint. Each case runs on a fresh store; what
 * another connection sees is read through a second store the opener opens
 * on the same directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "contract.h"
#include "fixture.h"
#include "rows.h"

/* The opener of the backend under test: the initial state of every case. */
struct backend {
	contract_open_fn open;
};

/* A case's store, the directory it is kept in, and the backend's opener. */
struct fixture {
	struct fx_world w; /* first: its directory, no engine (see fx_new) */
	struct stw__store *s;
	contract_open_fn open;
};

static int setup(void **state)
{
	const struct backend *b = *state;
	if (fx_new(state, sizeof(struct fixture), "store", 0) != 0)
		return -1;
	struct fixture *f = *state;
	f->open = b->open;
	if (f->open(f->w.dir, &f->s) == STW_OK)
		return 0;
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* Closes the store and removes its directory with everything in it. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		STW__S0(f->s, close);
	return fx_teardown(state);
}

/*
 * How many events of `context` another connection to the store sees (what
 * was committed), and its head in *head when head is not NULL.
 */
static int seen_elsewhere(struct fixture *f, const char *context, int64_t *head)
{
	struct stw__store *other = NULL;
	assert_int_equal(f->open(f->w.dir, &other), STW_OK);
	struct events c = { 0 };
	assert_int_equal(STW__S(other, read, context, 0, 0, collect_event, &c), STW_OK);
	if (head != NULL)
		assert_int_equal(STW__S(other, head, context, head), STW_OK);
	STW__S0(other, close);
	return c.n;
}

/* Counts the outbox rows a callback sees, of one context or (NULL) of all. */
struct outbox_count {
	const char *context;
	int64_t n;
};

static int count_outbox(const struct stw__outbox_row *r, void *ud)
{
	struct outbox_count *c = ud;
	if (c->context == NULL || strcmp(r->context, c->context) == 0)
		c->n++;
	return 0;
}

/* The outbox rows of every status, of one context or (NULL) of all. */
static int64_t outbox_rows(struct stw__store *s, const char *context)
{
	static const char *const statuses[] = { "pending", "delivered", "rejected", "parked",
						"skipped" };
	struct outbox_count c = { .context = context };
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		assert_int_equal(STW__S(s, outbox_by_status, statuses[i], 0, count_outbox, &c),
				 STW_OK);
	return c.n;
}

/* outbox_get's callback: the row's delivered_at (ud: int64_t *). */
static int delivered_at_cb(const struct stw__outbox_row *r, void *ud)
{
	*(int64_t *)ud = r->delivered_at;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/* Positions are 1, 2, 3... per context and versions 1, 2, 3... per stream. */
static void test_append_gap_free(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "b1", "inv-1", 1, 1);
	append_ok(s, "Billing", "b2", "inv-2", 2, 1);
	append_ok(s, "Reports", "r1", "inv-1", 1, 1); /* same stream name, other context */
	append_ok(s, "Billing", "b3", "inv-1", 3, 2);
	append_ok(s, "Billing", "b4", "inv-1", 4, 3);
	assert_int_equal(STW__S0(s, commit), STW_OK);

	int64_t v = -1;
	assert_int_equal(STW__S(s, head, "Billing", &v), STW_OK);
	assert_int_equal(v, 4);
	assert_int_equal(STW__S(s, head, "Reports", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, head, "Nobody", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, stream_version, "Billing", "inv-1", &v), STW_OK);
	assert_int_equal(v, 3);
	assert_int_equal(STW__S(s, stream_version, "Billing", "inv-2", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, stream_version, "Billing", "none", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, event_get, "b3", position_cb, &v), STW_OK);
	assert_int_equal(v, 3);
	assert_int_equal(STW__S(s, event_get, "zz", position_cb, &v), STW_ENOTFOUND);
}

/* A duplicate id (even in another context) fails with STW_EEXIST and stores nothing. */
static void test_append_duplicate_id(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "inv-1", 1, 1);
	struct stw__event_row dup = ev("Billing", "e1", "inv-1");
	int64_t pos = 77, ver = 77;
	assert_int_equal(STW__S(s, append, &dup, &pos, &ver), STW_EEXIST);
	assert_int_equal(pos, 77); /* untouched on failure */
	assert_non_null(strstr(STW__S0(s, errmsg), "e1"));
	dup = ev("Reports", "e1", "other");
	assert_int_equal(STW__S(s, append, &dup, &pos, &ver), STW_EEXIST);
	/* The message names where the stored copy is, not where the append went. */
	assert_non_null(strstr(STW__S0(s, errmsg), "Billing#1"));
	/* The next append is still gap-free. */
	append_ok(s, "Billing", "e2", "inv-1", 2, 2);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(seen_elsewhere(f, "Billing", NULL), 2);
	assert_int_equal(seen_elsewhere(f, "Reports", NULL), 0);
	int64_t head = 0;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 2);
}

/* Outside a transaction append runs in its own; missing fields are STW_EINVAL. */
static void test_append_autocommit_and_invalid(void **state)
{
	struct fixture *f = *state;
	append_ok(f->s, "Billing", "e1", "inv-1", 1, 1);
	assert_int_equal(seen_elsewhere(f, "Billing", NULL), 1);
	struct stw__event_row r = ev("Billing", "e2", "inv-1");
	r.data = NULL;
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_EINVAL);
	r = ev("Billing", "e2", NULL);
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_EINVAL);
	r = ev("Billing", "e2", "inv-1");
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_OK); /* NULL outs allowed */
	int64_t head = 0;
	assert_int_equal(seen_elsewhere(f, "Billing", &head), 2);
	assert_int_equal(head, 2);
}

/* read returns position > after in order, at most limit, and stops when the callback says. */
static void test_read_after_limit(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	char id[16];
	assert_int_equal(STW__S0(s, begin), STW_OK);
	for (int i = 1; i <= 6; i++) {
		snprintf(id, sizeof id, "e%d", i);
		append_ok(s, "Billing", id, "inv", i, i);
	}
	struct stw__event_row r = ev("Reports", "x1", "inv");
	r.correlation_id = "corr";
	assert_int_equal(STW__S(s, append, &r, NULL, NULL), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);

	struct events c = { 0 };
	assert_int_equal(STW__S(s, read, "Billing", 2, 3, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.pos[0], 3);
	assert_int_equal(c.pos[2], 5);
	assert_string_equal(c.id[0], "e3");
	assert_true(c.null_correlation[0]);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read, "Billing", 0, 0, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 6); /* limit 0: all */

	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	assert_int_equal(STW__S(s, read, "Billing", 0, 100, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 2);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read, "Billing", 6, 10, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 0);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read, "Reports", 0, 10, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_false(c.null_correlation[0]);
}

/* read_stream returns one stream's events in version order, and nothing else. */
static void test_read_stream(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "a1", "A", 1, 1);
	append_ok(s, "Billing", "b1", "B", 2, 1);
	append_ok(s, "Billing", "a2", "A", 3, 2);
	append_ok(s, "Reports", "a3", "A", 1, 1);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	struct events c = { 0 };
	assert_int_equal(STW__S(s, read_stream, "Billing", "A", 1, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "a1");
	assert_int_equal(c.ver[1], 2);
	assert_int_equal(c.pos[1], 3);
	/* From a version on: that version and the later ones. */
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read_stream, "Billing", "A", 2, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "a2");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read_stream, "Billing", "A", 3, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 0);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, read_stream, "Billing", "none", 1, collect_event, &c), STW_OK);
	assert_int_equal(c.n, 0);
}

struct nested {
	struct stw__store *s;
	int outer;
	int inner;
};

static int count_event(const struct stw__event_row *r, void *ud)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

static int nested_read(const struct stw__event_row *r, void *ud)
{
	struct nested *n = ud;
	(void)r;
	n->outer++;
	/* Re-enter the very operation being iterated. */
	assert_int_equal(STW__S(n->s, read, "Billing", 0, 0, count_event, &n->inner), STW_OK);
	return 0;
}

/* A callback may call the same operation again while it iterates. */
static void test_reentrant_callback(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	append_ok(s, "Billing", "e1", "A", 1, 1);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	struct nested n = { .s = s };
	assert_int_equal(STW__S(s, read, "Billing", 0, 0, nested_read, &n), STW_OK);
	assert_int_equal(n.outer, 2);
	assert_int_equal(n.inner, 4);
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                  */

/* A cursor reads 0 until set, then the last value set, per (definition, context). */
static void test_cursors(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int64_t v = -1;
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 7), STW_OK);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 9), STW_OK);
	assert_int_equal(STW__S(s, cursor_set, "d", "Reports", 2), STW_OK);
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 9);
	assert_int_equal(STW__S(s, cursor_get, "d", "Reports", &v), STW_OK);
	assert_int_equal(v, 2);
	assert_int_equal(STW__S(s, cursor_get, "other", "Billing", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 3), STW_OK); /* back */
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 3);
}

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* Insert, get (NULL columns as NULL), duplicate insert, and update under a version check. */
static void test_instance_insert_get_update(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct instances c = { 0 };
	assert_int_equal(STW__S(s, instance_get, "d", "i1", collect_instance, &c), STW_ENOTFOUND);
	assert_int_equal(c.n, 0);

	struct stw__instance_row r = inst("d", "i1", "active", NULL, 10);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_EEXIST);
	assert_int_equal(STW__S(s, instance_get, "d", "i1", collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.version[0], 1);
	assert_true(c.null_key[0]);
	assert_true(c.null_reason[0]);

	r.state = "Done";
	r.status = "failed";
	r.reason = "boom";
	r.version = 2;
	r.updated_at = 20;
	assert_int_equal(STW__S(s, instance_update, &r, 1), STW_OK);
	/* The same expected version again is stale now. */
	r.version = 2;
	assert_int_equal(STW__S(s, instance_update, &r, 1), STW_ECONFLICT);
	assert_true(strlen(STW__S0(s, errmsg)) > 0);
	/* A missing instance is a conflict too. */
	struct stw__instance_row m = inst("d", "nope", "active", NULL, 1);
	m.version = 2;
	assert_int_equal(STW__S(s, instance_update, &m, 1), STW_ECONFLICT);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, instance_get, "d", "i1", collect_instance, &c), STW_OK);
	assert_int_equal(c.version[0], 2);
	assert_string_equal(c.status[0], "failed");
	assert_false(c.null_reason[0]);

	r.data = NULL;
	assert_int_equal(STW__S(s, instance_insert, &r), STW_EINVAL);
}

/*
 * key_holder sees active and failed holders only; acknowledged, completed and
 * rejected free the key; the unique index refuses a second active holder.
 */
static void test_key_holder(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	char holder[64];
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_ENOTFOUND);

	struct stw__instance_row a = inst("d", "a", "active", "k", 1);
	assert_int_equal(STW__S(s, instance_insert, &a), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_OK);
	assert_string_equal(holder, "a");
	assert_int_equal(STW__S(s, key_holder, "other", "k", holder, sizeof holder), STW_ENOTFOUND);
	char tiny[1];
	assert_int_equal(STW__S(s, key_holder, "d", "k", tiny, sizeof tiny), STW_EINVAL);
	assert_int_equal(STW__S(s, key_holder, "d", "k", NULL, 0), STW_OK);

	/* A second active or failed holder is refused by the index. */
	struct stw__instance_row b = inst("d", "b", "active", "k", 2);
	assert_int_equal(STW__S(s, instance_insert, &b), STW_EEXIST);
	b.status = "failed";
	assert_int_equal(STW__S(s, instance_insert, &b), STW_EEXIST);
	/* A rejected instance with the key does not hold it. */
	b.status = "rejected";
	assert_int_equal(STW__S(s, instance_insert, &b), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_OK);
	assert_string_equal(holder, "a");
	/* Updating it back to active would make a second holder. */
	b.status = "active";
	b.version = 2;
	assert_int_equal(STW__S(s, instance_update, &b, 1), STW_EEXIST);

	/* failed still holds the key. */
	a.status = "failed";
	a.version = 2;
	assert_int_equal(STW__S(s, instance_update, &a, 1), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_OK);
	assert_string_equal(holder, "a");
	/* acknowledged frees it. */
	a.status = "acknowledged";
	a.version = 3;
	assert_int_equal(STW__S(s, instance_update, &a, 2), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_ENOTFOUND);

	/* Now b can take it; completed frees it again. */
	assert_int_equal(STW__S(s, instance_update, &b, 1), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_OK);
	assert_string_equal(holder, "b");
	b.status = "completed";
	b.version = 3;
	assert_int_equal(STW__S(s, instance_update, &b, 2), STW_OK);
	assert_int_equal(STW__S(s, key_holder, "d", "k", holder, sizeof holder), STW_ENOTFOUND);
}

/* list_instances filters by each field, orders newest first, and pages. */
static void test_list_instances(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct stw__instance_row rows[] = {
		inst("d1", "a", "active", NULL, 10),    inst("d1", "b", "active", NULL, 30),
		inst("d1", "c", "completed", NULL, 20), inst("d2", "a", "active", NULL, 30),
		inst("d2", "z", "failed", NULL, 5),
	};
	rows[2].state = "Done";
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, instance_insert, &rows[i]), STW_OK);

	struct instances c = { 0 };
	assert_int_equal(STW__S(s, list_instances, NULL, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 5);
	/* updated_at 30 twice: id DESC breaks the tie, then definition order does not matter. */
	assert_string_equal(c.id[0], "b");
	assert_string_equal(c.id[1], "a");
	assert_string_equal(c.id[2], "c");
	assert_string_equal(c.id[3], "a");
	assert_string_equal(c.id[4], "z");

	struct stw__instance_query q = { .definition = "d1", .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.id[0], "b");
	assert_string_equal(c.id[2], "a");

	q = (struct stw__instance_query){ .definition = "d1", .status = "active", .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 2);

	q = (struct stw__instance_query){ .state = "Done", .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "c");

	q = (struct stw__instance_query){ .id = "a", .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_not_equal(c.def[0], c.def[1]);

	q = (struct stw__instance_query){ .status = "active", .limit = 1, .offset = 1 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "a");
	assert_string_equal(c.def[0], "d2"); /* order: d1/b (30), d2/a (30), d1/a (10) */

	q = (struct stw__instance_query){
		.definition = "d2", .status = "failed", .state = "Started", .id = "z", .limit = 5
	};
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

/* history_has answers per message; rows come back in insertion (seq) order. */
static void test_history(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	assert_int_equal(STW__S(s, history_has, "d", "i", "m1"), STW_ENOTFOUND);
	const char *ids[] = { "m3", "m1", "m2" };
	for (int i = 0; i < 3; i++) {
		struct stw__history_row r = {
			.definition = "d",
			.instance_id = "i",
			.message_id = ids[i],
			.message_type = "T",
			.outcome = "applied",
			.at = 100 + i,
		};
		assert_int_equal(STW__S(s, history_insert, &r), STW_OK);
	}
	struct stw__history_row other = { .definition = "d",
					  .instance_id = "j",
					  .message_id = "m1",
					  .message_type = "T",
					  .context = "Billing",
					  .from_state = "A",
					  .to_state = "B",
					  .outcome = "applied" };
	assert_int_equal(STW__S(s, history_insert, &other), STW_OK);
	assert_int_equal(STW__S(s, history_insert, &other), STW_EEXIST);
	assert_int_equal(STW__S(s, history_has, "d", "i", "m1"), STW_OK);
	assert_int_equal(STW__S(s, history_has, "d", "j", "m2"), STW_ENOTFOUND);

	struct strings c = { 0 };
	assert_int_equal(STW__S(s, history_list, "d", "i", collect_history, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "m3");
	assert_string_equal(c.v[1], "m1");
	assert_string_equal(c.v[2], "m2");
	assert_true(c.seq[0] < c.seq[1] && c.seq[1] < c.seq[2]);
}

/*
 * history_insert_many writes 40 rows (in SQLite: two statements of 16 and 8
 * single inserts) in order, as history_insert would; a message already there fails
 * the call with STW_EEXIST, and rolling back leaves the history as it was.
 */
static void test_history_insert_many(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	enum { N = 40 };
	static char ids[N][8];
	struct stw__history_row rows[N];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "m%02d", N - i); /* not in key order */
		rows[i] = (struct stw__history_row){ .definition = "d",
						     .instance_id = "i",
						     .message_id = ids[i],
						     .message_type = "T",
						     .to_state = i % 2 ? "B" : NULL,
						     .outcome = "applied",
						     .at = i };
	}
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert_many, rows, N), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, history_list, "d", "i", collect_history, &c), STW_OK);
	assert_int_equal(c.n, N);
	for (int i = 0; i < N; i++)
		assert_string_equal(c.v[i], ids[i]);

	/* A batch with one message seen before (in the first chunk). */
	struct stw__history_row again[20];
	static char more[20][8];
	for (int i = 0; i < 20; i++) {
		snprintf(more[i], sizeof more[i], "n%02d", i);
		again[i] = rows[0];
		again[i].message_id = i == 5 ? "m30" : more[i];
	}
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert_many, again, 20), STW_EEXIST);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(STW__S(s, history_has, "d", "i", "n00"), STW_ENOTFOUND);

	/* A row without its required fields is refused by name. */
	again[3].message_type = NULL;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert_many, again, 16), STW_EINVAL);
	assert_non_null(strstr(STW__S0(s, errmsg), "message_type"));
	assert_int_equal(STW__S0(s, rollback), STW_OK);
}

/* ------------------------------------------------------------------------ */
/* Outbox                                                                   */

static struct stw__outbox_row cmd(const char *id, const char *context, const char *inst_id)
{
	struct stw__outbox_row r = {
		.command_id = id,
		.context = context,
		.type = "Do",
		.definition = inst_id ? "d" : NULL,
		.instance_id = inst_id,
		.data = "{}",
		.status = "pending",
		.created_at = 1,
	};
	return r;
}

/*
 * outbox_insert is idempotent on command_id; pending lists one context in seq
 * order; mark takes a row out of pending; for_instance and pending_count agree.
 */
static void test_outbox(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__outbox_row rows[] = {
		cmd("c1", "Billing", "i1"),
		cmd("c2", "Reports", "i1"),
		cmd("c3", "Billing", NULL),
		cmd("c4", "Billing", "i2"),
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, outbox_insert, &rows[i]), STW_OK);
	struct stw__outbox_row again = cmd("c1", "Other", "i9");
	assert_int_equal(STW__S(s, outbox_insert, &again), STW_OK);
	assert_int_equal(outbox_rows(s, NULL), 4);
	assert_int_equal(outbox_rows(s, "Other"), 0);

	int64_t n = -1;
	assert_int_equal(STW__S(s, outbox_pending_count, &n), STW_OK);
	assert_int_equal(n, 4);

	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 10, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "c1");
	assert_string_equal(c.v[1], "c3");
	assert_string_equal(c.v[2], "c4");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 2, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 2);

	assert_int_equal(STW__S(s, outbox_mark, "c1", "delivered", NULL, 50), STW_OK);
	assert_int_equal(STW__S(s, outbox_mark, "c3", "rejected", "no", 51), STW_OK);
	assert_int_equal(STW__S(s, outbox_mark, "nope", "delivered", NULL, 52), STW_ENOTFOUND);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 10, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "c4");
	assert_int_equal(STW__S(s, outbox_pending_count, &n), STW_OK);
	assert_int_equal(n, 2);
	int64_t at = -1;
	assert_int_equal(STW__S(s, outbox_get, "c3", delivered_at_cb, &at), STW_OK);
	assert_int_equal(at, 51);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_for_instance, "d", "i1", collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "c1");
	assert_string_equal(c.v[1], "c2");
	assert_true(c.seq[0] < c.seq[1]);
}

/* ------------------------------------------------------------------------ */
/* Dedup                                                                    */

/* dedup_put records once; get returns outcome and error; hit counts duplicates. */
static void test_dedup(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int outcome = 1;
	char err[8] = "x";
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c1", &outcome, err, sizeof err),
			 STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c1", STW_OK, NULL, 10), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c1", STW_OK, NULL, 11), STW_EEXIST);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c2", STW_EREJECTED, "too late!", 12),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Reports", "c1", STW_OK, NULL, 13), STW_OK);

	assert_int_equal(STW__S(s, dedup_get, "Billing", "c1", &outcome, err, sizeof err), STW_OK);
	assert_int_equal(outcome, STW_OK);
	assert_string_equal(err, "");
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c2", &outcome, err, sizeof err), STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	assert_string_equal(err, "too lat"); /* truncated to the buffer */

	int64_t n = -1;
	assert_int_equal(STW__S(s, dedup_duplicates, &n), STW_OK);
	assert_int_equal(n, 0);
	assert_int_equal(STW__S(s, dedup_hit, "Billing", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Billing", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Reports", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Reports", "none"), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_duplicates, &n), STW_OK);
	assert_int_equal(n, 3);
}

/* ------------------------------------------------------------------------ */
/* Unrouted                                                                 */

/* unrouted rows list newest first, optionally for one definition, up to limit. */
static void test_unrouted(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	const char *defs[] = { "d1", "d2", "d1" };
	const char *ids[] = { "e1", "e2", "e3" };
	for (int i = 0; i < 3; i++) {
		struct stw__unrouted_row r = {
			.definition = defs[i],
			.context = "Billing",
			.position = i + 1,
			.event_id = ids[i],
			.event_type = "T",
			.reason = "no instance",
			.at = 5,
		};
		assert_int_equal(STW__S(s, unrouted_insert, &r), STW_OK);
	}
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, unrouted_list, NULL, 10, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "e3");
	assert_string_equal(c.v[2], "e1");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, unrouted_list, "d1", 10, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "e3");
	assert_string_equal(c.v[1], "e1");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, unrouted_list, NULL, 1, collect_unrouted, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "e3");
}

/* ------------------------------------------------------------------------ */
/* Transactions: one level, one savepoint                                   */

/* rollback_to discards only the writes made after savepoint; release keeps them. */
static void test_savepoint(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 1), STW_OK);

	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 2), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c", STW_OK, NULL, 1), STW_OK);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK);

	/* The inner writes are gone, the outer ones kept; positions stay gap-free. */
	int64_t v = -1;
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, event_get, "e2", position_cb, &v), STW_ENOTFOUND);
	int outcome;
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c", &outcome, NULL, 0), STW_ENOTFOUND);
	append_ok(s, "Billing", "e3", "A", 2, 2);

	/* The level is free again: a released savepoint keeps its writes. */
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e4", "B", 3, 1);
	assert_int_equal(STW__S0(s, release), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	int64_t head = 0;
	assert_int_equal(seen_elsewhere(f, "Billing", &head), 3);
	assert_int_equal(head, 3);
}

/* rollback discards every write of the transaction, savepoint or not. */
static void test_rollback(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	append_ok(s, "Billing", "e0", "A", 1, 1);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e1", "A", 2, 2);
	struct stw__instance_row r = inst("d", "i", "active", "k", 1);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_OK);
	struct stw__outbox_row o = cmd("c1", "Billing", "i");
	assert_int_equal(STW__S(s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 2), STW_OK);
	assert_int_equal(STW__S0(s, release), STW_OK);
	assert_int_equal(STW__S0(s, rollback), STW_OK);

	int64_t v = -1;
	assert_int_equal(STW__S(s, head, "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, stream_version, "Billing", "A", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, outbox_pending_count, &v), STW_OK);
	assert_int_equal(v, 0);
	struct instances c = { 0 };
	assert_int_equal(STW__S(s, instance_get, "d", "i", collect_instance, &c), STW_ENOTFOUND);
	assert_int_equal(seen_elsewhere(f, "Billing", NULL), 1);
	append_ok(s, "Billing", "e1", "A", 2, 2);
}

/* ------------------------------------------------------------------------ */
/* The table and its runner                                                 */

#define CASE(fn)                                                                                   \
	{                                                                                          \
		.name = #fn, .run = fn                                                             \
	}

const struct contract_case contract_cases[] = {
	CASE(test_history_insert_many),
	CASE(test_append_gap_free),
	CASE(test_append_duplicate_id),
	CASE(test_append_autocommit_and_invalid),
	CASE(test_read_after_limit),
	CASE(test_read_stream),
	CASE(test_reentrant_callback),
	CASE(test_cursors),
	CASE(test_instance_insert_get_update),
	CASE(test_key_holder),
	CASE(test_list_instances),
	CASE(test_history),
	CASE(test_outbox),
	CASE(test_dedup),
	CASE(test_unrouted),
	CASE(test_savepoint),
	CASE(test_rollback),
};
#undef CASE

const size_t contract_ncases = sizeof contract_cases / sizeof contract_cases[0];

int contract_run(const char *group, contract_open_fn open)
{
	struct backend b = { open };
	struct CMUnitTest *tests = calloc(contract_ncases, sizeof *tests);
	if (tests == NULL)
		return -1;
	for (size_t i = 0; i < contract_ncases; i++)
		tests[i] = (struct CMUnitTest){ .name = contract_cases[i].name,
						.test_func = contract_cases[i].run,
						.setup_func = setup,
						.teardown_func = teardown,
						.initial_state = &b };
	/* What cmocka_run_group_tests expands to, for a table built at run time. */
	int failed = _cmocka_run_group_tests(group, tests, contract_ncases, NULL, NULL);
	free(tests);
	return failed;
}
