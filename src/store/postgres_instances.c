/*
 * postgres_instances.c - process instances and their history on PostgreSQL:
 * inserts that answer a taken id or key with a row count, the update under a
 * version check, the lists, and the history written many rows to a statement.
 *
 * Each operation runs one prepared statement and reads its whole result
 * before it calls back (rows point into it), so a callback may call the
 * store again.
 */
#include "store/postgres_int.h"

#include <steward.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* Hands each instance row of res to cb until it says stop. */
static void each_instance(const PGresult *res, stw__instance_cb cb, void *ud)
{
	for (int r = 0; r < PQntuples(res); r++) {
		struct stw__instance_row row = {
			.definition = stw__pg_col(res, r, 0),
			.id = stw__pg_col(res, r, 1),
			.state = stw__pg_col(res, r, 2),
			.status = stw__pg_col(res, r, 3),
			.data = stw__pg_col(res, r, 4),
			.unique_key = stw__pg_col(res, r, 5),
			.reason = stw__pg_col(res, r, 6),
			.version = stw__pg_col_int(res, r, 7),
			.created_at = stw__pg_col_int(res, r, 8),
			.updated_at = stw__pg_col_int(res, r, 9),
			.entered_version = stw__pg_col_int(res, r, 10),
			.definition_version = stw__pg_col_int(res, r, 11),
		};
		if (cb(&row, ud) != 0)
			break;
	}
}

static int op_instance_get(struct stw__store *s, const char *definition, const char *id,
			   stw__instance_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, id);
	int rc;
	PGresult *res = stw__pg_run(stw__pg_h(s), STW__PG_INSTANCE_GET, &p, "instance_get", &rc);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) > 0 ? STW_OK : STW_ENOTFOUND;
	each_instance(res, cb, ud);
	PQclear(res);
	return rc;
}

/* Checks the fields an instance row must have. */
static int instance_check(struct stw__pg *h, const struct stw__instance_row *row, const char *op)
{
	if (row == NULL || row->definition == NULL || row->id == NULL || row->state == NULL ||
	    row->status == NULL || row->data == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "%s: definition, id, state, status and data are required", op);
	return STW_OK;
}

/* The columns of an instance, in the order of INSTANCE_COLS. */
static void instance_params(struct stw__pg_params *p, const struct stw__instance_row *row)
{
	stw__pg_text(p, row->definition);
	stw__pg_text(p, row->id);
	stw__pg_text(p, row->state);
	stw__pg_text(p, row->status);
	stw__pg_text(p, row->data);
	stw__pg_text(p, row->unique_key);
	stw__pg_text(p, row->reason);
	stw__pg_int(p, row->version);
	stw__pg_int(p, row->created_at);
	stw__pg_int(p, row->updated_at);
	stw__pg_int(p, row->entered_version);
	stw__pg_int(p, row->definition_version > 0 ? row->definition_version : 1);
}

/* STW_EEXIST when (definition, id) exists or the unique key is held. */
static int op_instance_insert(struct stw__store *s, const struct stw__instance_row *row)
{
	struct stw__pg *h = stw__pg_h(s);
	int rc = instance_check(h, row, "instance_insert");
	if (rc != STW_OK)
		return rc;
	PARAMS;
	instance_params(&p, row);
	stw__pg_int(&p, stw__partition(row->id, h->partitions));
	long n = 0;
	rc = stw__pg_change(h, STW__PG_INSTANCE_INSERT, &p, "instance_insert", &n);
	if (rc == STW_OK && n == 0)
		rc =
		    stw__pg_failf(h, STW_EEXIST, "instance_insert: %s/%s exists or its key is held",
				  row->definition, row->id);
	return rc;
}

/*
 * Compare-and-set on the version. STW_ECONFLICT when no row matched,
 * STW_EEXIST (and nothing written) when the new unique key is held by
 * another active or failed instance.
 */
static int op_instance_update(struct stw__store *s, const struct stw__instance_row *row,
			      int64_t expected_version)
{
	struct stw__pg *h = stw__pg_h(s);
	int rc = instance_check(h, row, "instance_update");
	if (rc != STW_OK)
		return rc;
	/* The columns it sets, then the version it expects ($10) and entered_version ($11). */
	PARAMS;
	stw__pg_text(&p, row->definition);
	stw__pg_text(&p, row->id);
	stw__pg_text(&p, row->state);
	stw__pg_text(&p, row->status);
	stw__pg_text(&p, row->data);
	stw__pg_text(&p, row->unique_key);
	stw__pg_text(&p, row->reason);
	stw__pg_int(&p, row->version);
	stw__pg_int(&p, row->updated_at);
	stw__pg_int(&p, expected_version);
	stw__pg_int(&p, row->entered_version);
	stw__pg_int(&p, row->definition_version);
	PGresult *res = stw__pg_run(h, STW__PG_INSTANCE_UPDATE, &p, "instance_update", &rc);
	if (res == NULL)
		return rc;
	int64_t updated = stw__pg_col_int(res, 0, 0), held = stw__pg_col_int(res, 0, 1);
	PQclear(res);
	if (held > 0)
		return stw__pg_failf(h, STW_EEXIST,
				     "instance_update: key %s of %s is held by another instance",
				     row->unique_key, row->definition);
	if (updated == 0)
		return stw__pg_failf(h, STW_ECONFLICT,
				     "instance_update: %s/%s does not exist or its version is not "
				     "%lld",
				     row->definition, row->id, (long long)expected_version);
	return STW_OK;
}

/*
 * The holder's id into holder (cap bytes); holder may be NULL (cap 0) to test
 * for a holder only. STW_EINVAL when the id does not fit.
 */
static int op_key_holder(struct stw__store *s, const char *definition, const char *unique_key,
			 char *holder, size_t cap)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, unique_key);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_KEY_HOLDER, &p, "key_holder", &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		rc = STW_ENOTFOUND;
	} else if (holder != NULL) {
		size_t n = (size_t)PQgetlength(res, 0, 0);
		if (n >= cap)
			rc = stw__pg_failf(h, STW_EINVAL, "key_holder: holder id needs %zu bytes",
					   n + 1);
		else
			memcpy(holder, PQgetvalue(res, 0, 0), n + 1);
	}
	PQclear(res);
	return rc;
}

/*
 * Instances matching q (NULL: all), newest first, through the statement of
 * the filter's combination of fields (prepared when first used), so that
 * each can use its index. limit <= 0 means no limit.
 */
static int op_list_instances(struct stw__store *s, const struct stw__instance_query *q,
			     stw__instance_cb cb, void *ud)
{
	struct stw__pg *h = stw__pg_h(s);
	struct stw__instance_query all = { 0 };
	if (q == NULL)
		q = &all;
	unsigned mask = (q->definition ? STW__PG_LQ_DEFINITION : 0u) |
			(q->status ? STW__PG_LQ_STATUS : 0u) | (q->state ? STW__PG_LQ_STATE : 0u) |
			(q->id ? STW__PG_LQ_ID : 0u) |
			(q->stuck_before > 0 ? STW__PG_LQ_STUCK : 0u) |
			(q->definition_version > 0 ? STW__PG_LQ_VERSION : 0u);
	char name[16];
	snprintf(name, sizeof name, "stw_list_%u", mask);
	int rc = stw__pg_ready(h, "list_instances"); /* a new connection has none prepared */
	if (rc != STW_OK)
		return rc;
	if (!(h->list_ready & ((uint64_t)1 << mask))) {
		char sql[2048];
		if (stw__pg_list_sql(mask, sql, sizeof sql) != 0)
			return stw__pg_failf(h, STW_ESTORE, "list_instances: statement too long");
		PGresult *res = PQprepare(h->conn, name, sql, 0, NULL);
		rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK
			 ? STW_OK
			 : stw__pg_fail(h, res, "list_instances");
		PQclear(res);
		if (rc != STW_OK)
			return rc;
		h->list_ready |= (uint64_t)1 << mask;
	}
	PARAMS;
	if (q->definition)
		stw__pg_text(&p, q->definition);
	if (q->status)
		stw__pg_text(&p, q->status);
	if (q->state)
		stw__pg_text(&p, q->state);
	if (q->id)
		stw__pg_text(&p, q->id);
	if (q->definition_version > 0)
		stw__pg_int(&p, q->definition_version);
	stw__pg_limit(&p, q->limit);
	stw__pg_int(&p, q->offset > 0 ? q->offset : 0);
	if (q->stuck_before > 0)
		stw__pg_int(&p, q->stuck_before);
	PGresult *res = stw__pg_run_named(h, name, &p, "list_instances", &rc);
	if (res == NULL)
		return rc;
	each_instance(res, cb, ud);
	PQclear(res);
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

static int op_history_has(struct stw__store *s, const char *definition, const char *instance_id,
			  const char *message_id)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, instance_id);
	stw__pg_text(&p, message_id);
	return stw__pg_exists(stw__pg_h(s), STW__PG_HISTORY_HAS, &p, "history_has");
}

/* The text columns of a history row, in the order of the insert: NULL past them. */
static const char *history_text(const struct stw__history_row *r, int c)
{
	const char *const v[] = { r->definition, r->context,      r->instance_id,
				  r->message_id, r->message_type, r->from_state,
				  r->to_state,   r->outcome,      r->reason };
	/* The insert's order: definition, instance_id, message_id, message_type, context,
	 * from_state, to_state, outcome, reason. */
	static const int order[] = { 0, 2, 3, 4, 1, 5, 6, 7, 8 };
	return c < 9 ? v[order[c]] : NULL;
}

static int history_valid(const struct stw__history_row *r)
{
	return r != NULL && r->definition != NULL && r->instance_id != NULL &&
	       r->message_id != NULL && r->message_type != NULL && r->outcome != NULL;
}

static int history_invalid(struct stw__pg *h)
{
	return stw__pg_failf(h, STW_EINVAL,
			     "history_insert: definition, instance_id, message_id, "
			     "message_type and outcome are required");
}

/* STW_EEXIST if the message has a row already (nothing written). */
static int op_history_insert(struct stw__store *s, const struct stw__history_row *row)
{
	struct stw__pg *h = stw__pg_h(s);
	if (!history_valid(row))
		return history_invalid(h);
	PARAMS;
	for (int c = 0; c < 9; c++)
		stw__pg_text(&p, history_text(row, c));
	stw__pg_int(&p, row->at);
	long n = 0;
	int rc = stw__pg_change(h, STW__PG_HISTORY_INSERT, &p, "history_insert", &n);
	if (rc == STW_OK && n == 0)
		rc = stw__pg_failf(h, STW_EEXIST, "history_insert: %s/%s has message %s already",
				   row->definition, row->instance_id, row->message_id);
	return rc;
}

/* A growing text buffer; oom once an allocation failed. */
struct text {
	char *p;
	size_t n, cap;
	int oom;
};

static void put(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->n + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->n + n + 1)
			cap *= 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->oom = 1;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->n, s, n);
	t->n += n;
	t->p[t->n] = '\0';
}

/* Appends v to an array literal: NULL bare, text quoted with " and \ escaped. */
static void put_element(struct text *t, const char *v)
{
	if (v == NULL) {
		put(t, "NULL", 4);
		return;
	}
	put(t, "\"", 1);
	for (const char *c = v; *c; c++) {
		size_t run = strcspn(c, "\"\\");
		put(t, c, run);
		c += run;
		if (*c == '\0')
			break;
		put(t, "\\", 1);
		put(t, c, 1);
	}
	put(t, "\"", 1);
}

/*
 * Inserts n history rows in one statement, a text[] (int8[] for at) per
 * column unnested into rows. A message in the history already fails the
 * call with STW_EEXIST, as history_insert does; the others are written,
 * and the caller rolls back.
 */
static int op_history_insert_many(struct stw__store *s, const struct stw__history_row *rows,
				  size_t n)
{
	struct stw__pg *h = stw__pg_h(s);
	for (size_t i = 0; i < n; i++)
		if (!history_valid(&rows[i]))
			return history_invalid(h);
	if (n == 0)
		return STW_OK;
	struct text cols[10] = { { 0 } };
	for (int c = 0; c < 10; c++) {
		put(&cols[c], "{", 1);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				put(&cols[c], ",", 1);
			if (c < 9) {
				put_element(&cols[c], history_text(&rows[i], c));
			} else {
				char num[24];
				int len = snprintf(num, sizeof num, "%lld", (long long)rows[i].at);
				put(&cols[c], num, (size_t)len);
			}
		}
		put(&cols[c], "}", 1);
	}
	PARAMS;
	int rc = STW_OK;
	for (int c = 0; c < 10; c++) {
		if (cols[c].oom)
			rc = stw__pg_failf(h, STW_ENOMEM, "history_insert: out of memory");
		stw__pg_text(&p, cols[c].p);
	}
	long inserted = 0;
	if (rc == STW_OK)
		rc =
		    stw__pg_change(h, STW__PG_HISTORY_INSERT_MANY, &p, "history_insert", &inserted);
	for (int c = 0; c < 10; c++)
		free(cols[c].p);
	if (rc == STW_OK && (size_t)inserted != n)
		rc = stw__pg_failf(h, STW_EEXIST,
				   "history_insert: %zu of %zu messages have a row already",
				   n - (size_t)inserted, n);
	return rc;
}

static int op_history_list(struct stw__store *s, const char *definition, const char *instance_id,
			   stw__history_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, instance_id);
	int rc;
	PGresult *res = stw__pg_run(stw__pg_h(s), STW__PG_HISTORY_LIST, &p, "history_list", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		struct stw__history_row row = {
			.definition = stw__pg_col(res, r, 0),
			.instance_id = stw__pg_col(res, r, 1),
			.seq = stw__pg_col_int(res, r, 2),
			.message_id = stw__pg_col(res, r, 3),
			.message_type = stw__pg_col(res, r, 4),
			.context = stw__pg_col(res, r, 5),
			.from_state = stw__pg_col(res, r, 6),
			.to_state = stw__pg_col(res, r, 7),
			.outcome = stw__pg_col(res, r, 8),
			.reason = stw__pg_col(res, r, 9),
			.at = stw__pg_col_int(res, r, 10),
		};
		if (cb(&row, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

void stw__pg_ops_instances(struct stw__store_ops *o)
{
	o->instance_get = op_instance_get;
	o->instance_insert = op_instance_insert;
	o->instance_update = op_instance_update;
	o->key_holder = op_key_holder;
	o->list_instances = op_list_instances;
	o->history_has = op_history_has;
	o->history_insert = op_history_insert;
	o->history_insert_many = op_history_insert_many;
	o->history_list = op_history_list;
}
