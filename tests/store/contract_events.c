/*
 * contract_events.c - the store contract on events (append, event_get, read,
 * read_stream, head, stream_version), cursors and the attempts counted after
 * them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "contract_int.h"

/*
 * How many events of `context` another connection to the store sees (what
 * was committed), and its head in *head when head is not NULL.
 */
int contract_seen_elsewhere(struct fixture *f, const char *context, int64_t *head)
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

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/* Positions are 1, 2, 3... per context and versions 1, 2, 3... per stream. */
void contract_test_append_gap_free(void **state)
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
void contract_test_append_duplicate_id(void **state)
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
	assert_int_equal(contract_seen_elsewhere(f, "Billing", NULL), 2);
	assert_int_equal(contract_seen_elsewhere(f, "Reports", NULL), 0);
	int64_t head = 0;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 2);
}

/* Outside a transaction append runs in its own; missing fields are STW_EINVAL. */
void contract_test_append_autocommit_and_invalid(void **state)
{
	struct fixture *f = *state;
	append_ok(f->s, "Billing", "e1", "inv-1", 1, 1);
	assert_int_equal(contract_seen_elsewhere(f, "Billing", NULL), 1);
	struct stw__event_row r = ev("Billing", "e2", "inv-1");
	r.data = NULL;
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_EINVAL);
	r = ev("Billing", "e2", NULL);
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_EINVAL);
	r = ev("Billing", "e2", "inv-1");
	assert_int_equal(STW__S(f->s, append, &r, NULL, NULL), STW_OK); /* NULL outs allowed */
	int64_t head = 0;
	assert_int_equal(contract_seen_elsewhere(f, "Billing", &head), 2);
	assert_int_equal(head, 2);
}

/* read returns position > after in order, at most limit, and stops when the callback says. */
void contract_test_read_after_limit(void **state)
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
void contract_test_read_stream(void **state)
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
void contract_test_reentrant_callback(void **state)
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

int contract_check_event(const struct stw__event_row *r, void *ud)
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
void contract_test_event_get_fields(void **state)
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
	assert_int_equal(STW__S(s, event_get, "e1", contract_check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);

	x = (struct expected_event){ .want = ev("Billing", "e2", "inv-1") };
	x.want.position = 3;
	x.want.stream_version = 2;
	assert_int_equal(STW__S(s, event_get, "e2", contract_check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                  */

/* A cursor reads 0 until set, then the last value set, per (definition, context). */
void contract_test_cursors(void **state)
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
void contract_test_cursor_attempt(void **state)
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
