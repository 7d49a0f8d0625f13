/*
 * contract.c - the store contract (see contract.h): events (append,
 * event_get, read, read_stream, head, stream_version), cursors and the
 * attempts counted after them, instances (insert, get, update under a
 * version check, key_holder, list), history, the outbox and its remote
 * delivery, the dedup table, unrouted messages, timers, periodic runs, and
 * one level of transaction with one savepoint. Each case runs on a fresh store; what
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
	contract_drop_fn drop;
};

/* A case's store, the directory it is kept in, and the backend's opener. */
struct fixture {
	struct fx_world w; /* first: its directory, no engine (see fx_new) */
	struct stw__store *s;
	contract_open_fn open;
	contract_drop_fn drop;
};

static int setup(void **state)
{
	const struct backend *b = *state;
	if (fx_new(state, sizeof(struct fixture), "store", 0) != 0)
		return -1;
	struct fixture *f = *state;
	f->open = b->open;
	f->drop = b->drop;
	if (f->open(f->w.dir, &f->s) == STW_OK)
		return 0;
	if (f->drop != NULL)
		f->drop(f->w.dir);
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* Closes the store and removes its directory with everything in it. */
static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		STW__S0(f->s, close);
	int dropped = f->drop != NULL ? f->drop(f->w.dir) : 0;
	return fx_teardown(state) != 0 || dropped != 0 ? -1 : 0;
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

/* Whether two texts hold the same JSON value (a backend may store it reformatted). */
static int same_json(const char *a, const char *b)
{
	json_t *x = json_loads(a, JSON_DECODE_ANY, NULL), *y = json_loads(b, JSON_DECODE_ANY, NULL);
	int same = x != NULL && y != NULL && json_equal(x, y);
	json_decref(x);
	json_decref(y);
	return same;
}

/* Whether two nullable strings are both NULL or equal. */
static int same_text(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* What event_get must hand on, and how many times it called back. */
struct expected_event {
	struct stw__event_row want;
	int n;
};

static int check_event(const struct stw__event_row *r, void *ud)
{
	struct expected_event *x = ud;
	x->n++;
	assert_string_equal(r->context, x->want.context);
	assert_string_equal(r->id, x->want.id);
	assert_string_equal(r->type, x->want.type);
	assert_string_equal(r->stream, x->want.stream);
	assert_int_equal(r->position, x->want.position);
	assert_int_equal(r->stream_version, x->want.stream_version);
	assert_true(same_text(r->correlation_id, x->want.correlation_id));
	assert_true(same_text(r->causation_id, x->want.causation_id));
	assert_true(same_json(r->data, x->want.data));
	assert_true(same_json(r->metadata, x->want.metadata));
	assert_int_equal(r->recorded_at, x->want.recorded_at);
	return 0;
}

/*
 * event_get hands on an event once with every field as appended, the
 * position and version the store gave it, and a correlation or causation id
 * appended as NULL as NULL.
 */
static void test_event_get_fields(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct expected_event x = { .want = ev("Billing", "e1", "inv-1") };
	x.want.correlation_id = "corr-1";
	x.want.causation_id = "cause-1";
	x.want.data = "{\"amount\":12,\"lines\":[\"a\",\"b\"]}";
	x.want.metadata = "{\"by\":\"ann\"}";
	x.want.recorded_at = 1234;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e0", "inv-0", 1, 1);
	assert_int_equal(STW__S(s, append, &x.want, NULL, NULL), STW_OK);
	append_ok(s, "Billing", "e2", "inv-1", 3, 2);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	x.want.position = 2;
	x.want.stream_version = 1;
	assert_int_equal(STW__S(s, event_get, "e1", check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);

	x = (struct expected_event){ .want = ev("Billing", "e2", "inv-1") };
	x.want.position = 3;
	x.want.stream_version = 2;
	assert_int_equal(STW__S(s, event_get, "e2", check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);
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

/*
 * cursor_attempt counts the attempts at the batch after a position, per
 * (definition, context), from 1 again when the position is another one, and
 * never moves a cursor that is set.
 */
static void test_cursor_attempt(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	/* Each attempt in turn, and the count it returns. */
	static const struct {
		const char *definition, *context;
		int64_t position;
		int attempts;
	} steps[] = {
		{ "d", "Billing", 9, 1 },     { "d", "Billing", 9, 2 }, { "d", "Reports", 9, 1 },
		{ "other", "Billing", 9, 1 }, { "d", "Billing", 9, 3 }, { "d", "Billing", 10, 1 },
		{ "d", "Billing", 9, 1 },
	};
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, cursor_set, "d", "Billing", 9), STW_OK);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		int attempts = 0;
		assert_int_equal(STW__S(s, cursor_attempt, steps[i].definition, steps[i].context,
					steps[i].position, &attempts),
				 STW_OK);
		assert_int_equal(attempts, steps[i].attempts);
	}
	assert_int_equal(STW__S0(s, commit), STW_OK);
	int64_t v = -1;
	assert_int_equal(STW__S(s, cursor_get, "d", "Billing", &v), STW_OK);
	assert_int_equal(v, 9);
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

/* Writes history rows with history_insert_many in a transaction of their own. */
static void insert_many_committed(struct stw__store *s, const struct stw__history_row *rows,
				  size_t n)
{
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, history_insert_many, rows, n), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
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
	insert_many_committed(s, rows, N);
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

/* What history_list hands on of the rows of one instance, as written. */
struct history_text {
	int n;
	char v[8][10][64]; /* per row: the nine text columns as "NULL" or "=text", then at */
};

static int copy_history_text(const struct stw__history_row *r, void *ud)
{
	struct history_text *h = ud;
	assert_true(h->n < 8);
	const char *cols[9] = { r->definition,   r->instance_id, r->message_id,
				r->message_type, r->context,     r->from_state,
				r->to_state,     r->outcome,     r->reason };
	for (int c = 0; c < 9; c++)
		snprintf(h->v[h->n][c], sizeof h->v[0][0], "%s%s", cols[c] ? "=" : "NULL",
			 cols[c] ? cols[c] : "");
	snprintf(h->v[h->n][9], sizeof h->v[0][0], "%lld", (long long)r->at);
	h->n++;
	return 0;
}

/*
 * Text comes back byte for byte, however it is written to the store: quotes,
 * backslashes, commas, braces, the word NULL, spaces, an empty string,
 * UTF-8, and NULL as NULL, in every column of rows inserted many to a
 * statement (history_insert_many) and of an event.
 */
static void test_awkward_text(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	static const char *const texts[] = {
		"a\"b",
		"back\\slash\\",
		"{x,y}",
		"NULL",
		" padded ",
		"",
		"caf\xc3\xa9 \xe2\x82\xac",
		"'quote'",
		"tab\there",
	};
	enum { N = 5 };
	struct stw__history_row rows[N];
	char ids[N][16];
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof ids[i], "%s%d", texts[i], i);
		rows[i] = (struct stw__history_row){
			.definition = "d",
			.instance_id = "i\"1",
			.message_id = ids[i],
			.message_type = texts[(i + 1) % 9],
			.context = i == 2 ? NULL : texts[(i + 2) % 9],
			.from_state = texts[(i + 3) % 9],
			.to_state = i == 4 ? NULL : texts[(i + 4) % 9],
			.outcome = texts[(i + 5) % 9],
			.reason = i % 2 ? NULL : texts[(i + 6) % 9],
			.at = -i,
		};
	}
	insert_many_committed(s, rows, N);
	struct history_text h = { 0 };
	assert_int_equal(STW__S(s, history_list, "d", "i\"1", copy_history_text, &h), STW_OK);
	assert_int_equal(h.n, N);
	for (int i = 0; i < N; i++) {
		const char *want[9] = { rows[i].definition, rows[i].instance_id,
					rows[i].message_id, rows[i].message_type,
					rows[i].context,    rows[i].from_state,
					rows[i].to_state,   rows[i].outcome,
					rows[i].reason };
		for (int c = 0; c < 9; c++) {
			char w[64];
			snprintf(w, sizeof w, "%s%s", want[c] ? "=" : "NULL",
				 want[c] ? want[c] : "");
			assert_string_equal(h.v[i][c], w);
		}
		char at[16];
		snprintf(at, sizeof at, "%d", -i);
		assert_string_equal(h.v[i][9], at);
	}

	struct expected_event x = { .want = ev("C\"x", "id,{}", "s\\t") };
	x.want.type = "NULL";
	x.want.correlation_id = "";
	x.want.causation_id = "'; DROP TABLE stw_events; --";
	x.want.data = "{\"k\":\"\\\"{,}\\\\\"}";
	assert_int_equal(STW__S(s, append, &x.want, &x.want.position, &x.want.stream_version),
			 STW_OK);
	assert_int_equal(x.want.position, 1);
	assert_int_equal(x.want.stream_version, 1);
	assert_int_equal(STW__S(s, event_get, "id,{}", check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);
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

/* outbox_pending_contexts' callback: collects the names into a struct strings. */
static int collect_name(const char *name, void *ud)
{
	struct strings *c = ud;
	snprintf(c->v[c->n++], sizeof c->v[0], "%s", name);
	return c->n >= MAXROWS;
}

/*
 * outbox_insert is idempotent on command_id; pending lists one context in seq
 * order; mark takes a row out of pending; for_instance, pending_count and
 * pending_contexts agree.
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
	assert_int_equal(STW__S(s, outbox_pending_contexts, collect_name, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "Billing");
	assert_string_equal(c.v[1], "Reports");

	memset(&c, 0, sizeof c);
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
	/* Reports' only row leaves the pending ones: its context is no longer listed. */
	assert_int_equal(STW__S(s, outbox_mark, "c2", "delivered", NULL, 53), STW_OK);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending_contexts, collect_name, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "Billing");
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

/* An outbox row as a callback handed it on, NULL error kept apart. */
struct outbox_copy {
	int n;
	char context[32], status[32], error[32];
	int null_error;
	int attempts;
	int64_t next_at, delivered_at;
};

static int copy_outbox(const struct stw__outbox_row *r, void *ud)
{
	struct outbox_copy *c = ud;
	c->n++;
	snprintf(c->context, sizeof c->context, "%s", r->context);
	snprintf(c->status, sizeof c->status, "%s", r->status);
	c->null_error = r->error == NULL;
	snprintf(c->error, sizeof c->error, "%s", c->null_error ? "" : r->error);
	c->attempts = r->attempts;
	c->next_at = r->next_at;
	c->delivered_at = r->delivered_at;
	return 0;
}

/* The command ids in c, in order, separated by spaces ("" for none). */
static const char *joined(const struct strings *c, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? " " : "", c->v[i]);
	return buf;
}

/* The command ids outbox_due hands on for a context at `now`, at most limit. */
static const char *due_ids(struct stw__store *s, const char *context, int64_t now, int limit,
			   char *buf, size_t cap)
{
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_due, context, now, limit, collect_outbox, &c), STW_OK);
	return joined(&c, buf, cap);
}

/* The command ids outbox_by_status hands on for a status, at most limit. */
static const char *status_ids(struct stw__store *s, const char *status, int limit, char *buf,
			      size_t cap)
{
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_by_status, status, limit, collect_outbox, &c), STW_OK);
	return joined(&c, buf, cap);
}

/*
 * Remote delivery: outbox_due lists a context's pending rows due by now (a
 * new row is due at once) in seq order, at most limit; outbox_next_due is
 * the earliest next_at of its pending rows; outbox_attempted records an
 * attempt (status, error, attempts, next_at, delivered_at), which
 * outbox_get shows; outbox_by_status lists a status newest first.
 */
static void test_outbox_remote(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct stw__outbox_row rows[] = { cmd("c1", "Bank", "i1"), cmd("c2", "Bank", "i2"),
					  cmd("c3", "Other", "i3"), cmd("c4", "Bank", "i4") };
	char ids[64];
	assert_int_equal(STW__S0(s, begin), STW_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(STW__S(s, outbox_insert, &rows[i]), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	int64_t at = -1;
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 0);
	assert_int_equal(STW__S(s, outbox_next_due, "Nowhere", &at), STW_ENOTFOUND);
	assert_string_equal(due_ids(s, "Bank", 0, 10, ids, sizeof ids), "c1 c2");

	/* c1 failed and is tried again at 2000; c2 is parked. */
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c1", "pending", "HTTP 503", 1, 2000, 0),
			 STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c2", "parked", "gave up", 4, 0, 0), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	struct outbox_copy o = { 0 };
	assert_int_equal(STW__S(s, outbox_get, "c1", copy_outbox, &o), STW_OK);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.context, "Bank");
	assert_string_equal(o.status, "pending");
	assert_string_equal(o.error, "HTTP 503");
	assert_int_equal(o.attempts, 1);
	assert_int_equal(o.next_at, 2000);
	assert_int_equal(STW__S(s, outbox_get, "nope", copy_outbox, &o), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 2000);
	assert_string_equal(due_ids(s, "Bank", 1999, 10, ids, sizeof ids), "");
	assert_string_equal(due_ids(s, "Bank", 2000, 10, ids, sizeof ids), "c1");

	/* c4, new, is due at once: at 2000 both are, in seq order, at most limit. */
	assert_int_equal(STW__S(s, outbox_insert, &rows[3]), STW_OK);
	assert_string_equal(due_ids(s, "Bank", 2000, 10, ids, sizeof ids), "c1 c4");
	assert_string_equal(due_ids(s, "Bank", 2000, 1, ids, sizeof ids), "c1");
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 0);

	/* Delivered at the next attempt: no error, out of the pending rows. */
	assert_int_equal(STW__S(s, outbox_attempted, "c1", "delivered", NULL, 2, 0, 2500), STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c4", "parked", "refused", 1, 0, 0), STW_OK);
	memset(&o, 0, sizeof o);
	assert_int_equal(STW__S(s, outbox_get, "c1", copy_outbox, &o), STW_OK);
	assert_string_equal(o.status, "delivered");
	assert_true(o.null_error);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(o.delivered_at, 2500);
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_ENOTFOUND);
	assert_string_equal(status_ids(s, "parked", 10, ids, sizeof ids), "c4 c2");
	assert_string_equal(status_ids(s, "parked", 1, ids, sizeof ids), "c4");
	assert_string_equal(status_ids(s, "delivered", 10, ids, sizeof ids), "c1");
	assert_string_equal(status_ids(s, "pending", 10, ids, sizeof ids), "c3");
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

/* dedup_forget_refusal forgets a refused command only: an applied one stays recorded. */
static void test_dedup_forget_refusal(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int outcome = 1;
	assert_int_equal(STW__S(s, dedup_put, "Billing", "ok", STW_OK, NULL, 10), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "no", STW_EREJECTED, "too late", 11),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Reports", "no", STW_EREJECTED, "closed", 12),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "ok"), STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "no"), STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "never"), STW_OK);
	assert_int_equal(STW__S(s, dedup_get, "Billing", "ok", &outcome, NULL, 0), STW_OK);
	assert_int_equal(outcome, STW_OK);
	assert_int_equal(STW__S(s, dedup_get, "Billing", "no", &outcome, NULL, 0), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_get, "Reports", "no", &outcome, NULL, 0), STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	/* Handled again, it is recorded again. */
	assert_int_equal(STW__S(s, dedup_put, "Billing", "no", STW_OK, NULL, 13), STW_OK);
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
/* Timers and periodic processes                                            */

/* A Tick timer of an instance, armed at version 1 by message m1. */
static struct stw__timer_row timer(const char *def, const char *instance_id, const char *id,
				   int64_t due_at)
{
	struct stw__timer_row r = {
		.id = id,
		.definition = def,
		.instance_id = instance_id,
		.message_type = "Tick",
		.due_at = due_at,
		.entered_version = 1,
		.armed_by = "m1",
		.created_at = 1,
	};
	return r;
}

/*
 * timer_insert keeps the timer it has under a key (definition, instance,
 * id); timers_due lists a definition's timers due by now, earliest first,
 * then by instance id, then by id, at most limit; timer_next is the earliest
 * due_at; timer_delete removes one (and ignores one it does not have);
 * timers_for_instance lists one instance's, earliest first.
 */
static void test_timers(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int64_t at = -1;
	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_ENOTFOUND);
	struct stw__timer_row rows[] = {
		timer("d", "i2", "t1", 300), timer("d", "i1", "t2", 300),
		timer("d", "i1", "t3", 100), timer("d", "i1", "t0", 300),
		timer("d", "i3", "t9", 900), timer("e", "i1", "t3", 10),
		timer("d", "i1", "t3", 50), /* t3 again: kept as it was */
	};
	assert_int_equal(STW__S0(s, begin), STW_OK);
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, timer_insert, &rows[i]), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);

	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_OK);
	assert_int_equal(at, 100);
	assert_int_equal(STW__S(s, timer_next, "e", &at), STW_OK);
	assert_int_equal(at, 10);
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, timers_due, "d", 99, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(STW__S(s, timers_due, "d", 300, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 4);
	assert_string_equal(c.v[0], "t3@100");
	assert_string_equal(c.v[1], "t0@300");
	assert_string_equal(c.v[2], "t2@300");
	assert_string_equal(c.v[3], "t1@300");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_due, "d", 1000, 2, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[1], "t0@300");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_for_instance, "d", "i1", count_timer, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "t3@100");

	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i1", "t3"), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i1", "t3"), STW_OK);
	assert_int_equal(STW__S(s, timer_delete, "d", "i9", "none"), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, timer_next, "d", &at), STW_OK);
	assert_int_equal(at, 300);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_for_instance, "d", "i1", count_timer, &c), STW_OK);
	assert_int_equal(c.n, 2);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, timers_due, "e", 1000, 10, count_timer, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "t3@10");
}

/* periodic_get finds no period for a process that never ran, then the last one set. */
static void test_periodic(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int64_t period = -1;
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_ENOTFOUND);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "sweep", 100, 1000000), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "other", 7, 70), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_OK);
	assert_int_equal(period, 100);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, periodic_set, "sweep", 101, 1010000), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S(s, periodic_get, "sweep", &period), STW_OK);
	assert_int_equal(period, 101);
	assert_int_equal(STW__S(s, periodic_get, "other", &period), STW_OK);
	assert_int_equal(period, 7);
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

/*
 * The transaction primitives the engine nests its own transactions on
 * (src/core/txn.c): begin() while one is open is refused; savepoints stack,
 * rollback_to() undoes and releases the innermost, release() keeps it;
 * in_transaction() tells; rollback() with none open is a no-op, commit()
 * and savepoint() with none are errors; undos() counts rollbacks.
 */
static void test_transaction_primitives(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	uint64_t u0 = STW__S0(s, undos);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, savepoint), STW_EINVAL);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_not_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_true(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, begin), STW_EINVAL);
	assert_true(STW__S0(s, in_transaction));
	append_ok(s, "Billing", "e1", "A", 1, 1);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "Billing", "e2", "A", 2, 2);
	assert_int_equal(STW__S0(s, savepoint), STW_OK); /* a second level on the first */
	append_ok(s, "Billing", "e3", "A", 3, 3);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK); /* the inner one: e3 goes */
	assert_int_equal(STW__S0(s, undos), u0 + 1);
	append_ok(s, "Billing", "e3", "B", 3, 1);
	assert_int_equal(STW__S0(s, release), STW_OK); /* the outer one: e2 and e3 stay */
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(STW__S0(s, undos), u0 + 1);
	int64_t head = 0;
	assert_int_equal(seen_elsewhere(f, "Billing", &head), 3);
	assert_int_equal(head, 3);

	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "Billing", "e4", "A", 4, 3);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(STW__S0(s, undos), u0 + 2);
	assert_false(STW__S0(s, in_transaction));
	assert_int_equal(seen_elsewhere(f, "Billing", &head), 3);
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
	CASE(test_awkward_text),
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
	CASE(test_dedup_forget_refusal),
	CASE(test_unrouted),
	CASE(test_savepoint),
	CASE(test_rollback),
	CASE(test_transaction_primitives),
	CASE(test_event_get_fields),
	CASE(test_cursor_attempt),
	CASE(test_outbox_remote),
	CASE(test_timers),
	CASE(test_periodic),
};
#undef CASE

const size_t contract_ncases = sizeof contract_cases / sizeof contract_cases[0];

int contract_run(const char *group, contract_open_fn open, contract_drop_fn drop)
{
	struct backend b = { open, drop };
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
