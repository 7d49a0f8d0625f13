/*
 * contract_instances.c - the store contract on instances (insert, get, update
 * under a version check, key_holder, list) and their history.
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

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* Insert, get (NULL columns as NULL), duplicate insert, and update under a version check. */
void contract_test_instance_insert_get_update(void **state)
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
void contract_test_key_holder(void **state)
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
void contract_test_list_instances(void **state)
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

/*
 * An instance keeps the version of the definition that created it: insert
 * writes it (1 for 0), update leaves it, get and list read it, and
 * list_instances filters by it (alone and with the other fields).
 */
void contract_test_definition_version(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct stw__instance_row rows[] = {
		inst("d", "a", "active", NULL, 10),
		inst("d", "b", "active", NULL, 20),
		inst("d", "c", "completed", NULL, 30),
		inst("e", "a", "active", NULL, 40),
	};
	rows[0].definition_version = 0; /* a definition that gave no version: 1 */
	rows[1].definition_version = 2;
	rows[2].definition_version = 2;
	rows[3].definition_version = 7;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, instance_insert, &rows[i]), STW_OK);

	struct instances c = { 0 };
	assert_int_equal(STW__S(s, instance_get, "d", "a", collect_instance, &c), STW_OK);
	assert_int_equal(c.definition_version[0], 1);
	/* An update (which does not name it) keeps it. */
	rows[1].status = "failed";
	rows[1].version = 2;
	rows[1].definition_version = 0;
	assert_int_equal(STW__S(s, instance_update, &rows[1], 1), STW_OK);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, instance_get, "d", "b", collect_instance, &c), STW_OK);
	assert_int_equal(c.definition_version[0], 2);
	assert_string_equal(c.status[0], "failed");

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, NULL, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 4);
	assert_int_equal(c.definition_version[0], 7); /* e/a, updated last */
	assert_int_equal(c.definition_version[3], 1); /* d/a */

	struct stw__instance_query q = { .definition_version = 2, .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.id[0], "c");
	assert_string_equal(c.id[1], "b");

	q = (struct stw__instance_query){
		.definition = "d", .status = "failed", .definition_version = 2, .limit = 10
	};
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "b");

	q = (struct stw__instance_query){ .definition = "d", .definition_version = 7, .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 0);

	/* With the stuck filter (its own parameter) and paging. */
	q = (struct stw__instance_query){ .definition_version = 1,
					  .stuck_before = 1000,
					  .limit = 10 };
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, list_instances, &q, collect_instance, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.id[0], "a");
	assert_string_equal(c.def[0], "d");
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

/* history_has answers per message; rows come back in insertion (seq) order. */
void contract_test_history(void **state)
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
void contract_test_history_insert_many(void **state)
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
void contract_test_awkward_text(void **state)
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
	assert_int_equal(STW__S(s, event_get, "id,{}", contract_check_event, &x), STW_OK);
	assert_int_equal(x.n, 1);
}
