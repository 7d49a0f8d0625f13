/*
 * sqlite_instances.c - instances on SQLite (inserted, updated against their
 * version, found by their uniqueness key, listed through a statement per
 * filter) and their history.
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Instances                                                                */

/* Fills an instance row from a statement selecting STW__INSTANCE_COLS; -1 on OOM. */
static int instance_fill(sqlite3_stmt *st, struct stw__instance_row *r)
{
	int oom = 0;
	r->definition = stw__sqlite_col_text(st, 0, &oom);
	r->id = stw__sqlite_col_text(st, 1, &oom);
	r->state = stw__sqlite_col_text(st, 2, &oom);
	r->status = stw__sqlite_col_text(st, 3, &oom);
	r->data = stw__sqlite_col_text(st, 4, &oom);
	r->unique_key = stw__sqlite_col_text(st, 5, &oom);
	r->reason = stw__sqlite_col_text(st, 6, &oom);
	r->version = stw__sqlite_col_int(st, 7);
	r->created_at = stw__sqlite_col_int(st, 8);
	r->updated_at = stw__sqlite_col_int(st, 9);
	r->entered_version = stw__sqlite_col_int(st, 10);
	r->definition_version = stw__sqlite_col_int(st, 11);
	return oom ? -1 : 0;
}

/*
 * Steps an instance query and hands rows to cb until it returns non-zero.
 * *n (if not NULL) receives the number of rows handed. With `num`, the
 * statement also selects the instance's number (column 12), remembered for
 * the open transaction. Finishes st.
 */
static int each_instance(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int rc,
			 const char *op, stw__instance_cb cb, void *ud, int *n, int num)
{
	int code = STW_OK, count = 0;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__instance_row row;
			if (instance_fill(st, &row) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
			count++;
			if (num)
				stw__sqlite_num_remember(h, row.definition, row.id,
							 stw__sqlite_col_int(st, 12));
			if (cb(&row, ud) != 0) {
				rc = SQLITE_DONE;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		code = stw__sqlite_fail(h, rc, op);
	stw__sqlite_finish(cached, st);
	if (n != NULL)
		*n = count;
	return code;
}

static int op_instance_get(struct stw__store *s, const char *definition, const char *id,
			   stw__instance_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__INSTANCE_GET], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "instance_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK, n = 0;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, id);
	rc = each_instance(h, c, st, b, "instance_get", cb, ud, &n, 1);
	if (rc == STW_OK && n == 0)
		rc = STW_ENOTFOUND;
	return rc;
}

/* Checks the fields an instance row must have. */
static int instance_check(struct sqlite_store *h, const struct stw__instance_row *row,
			  const char *op)
{
	if (row == NULL || row->definition == NULL || row->id == NULL || row->state == NULL ||
	    row->status == NULL || row->data == NULL)
		return stw__sqlite_failf(
		    h, STW_EINVAL, "%s: definition, id, state, status and data are required", op);
	return STW_OK;
}

/* STW_EEXIST when (definition, id) exists or the unique key is held. */
static int op_instance_insert(struct stw__store *s, const struct stw__instance_row *row)
{
	struct sqlite_store *h = handle(s);
	int rc = instance_check(h, row, "instance_insert");
	if (rc != STW_OK)
		return rc;
	int64_t num = 0;
	if ((rc = stw__sqlite_num(h, row->definition, row->id, 1, &num)) != STW_OK)
		return rc;
	sqlite3_stmt *st = h->st[STW__INSTANCE_INSERT];
	int b = SQLITE_OK;
	stw__sqlite_bi(&b, st, 13, num);
	stw__sqlite_bt(&b, st, 1, row->definition);
	stw__sqlite_bt(&b, st, 2, row->id);
	stw__sqlite_bt(&b, st, 3, row->state);
	stw__sqlite_bt(&b, st, 4, row->status);
	stw__sqlite_bt(&b, st, 5, row->data);
	stw__sqlite_bt(&b, st, 6, row->unique_key);
	stw__sqlite_bt(&b, st, 7, row->reason);
	stw__sqlite_bi(&b, st, 8, row->version);
	stw__sqlite_bi(&b, st, 9, row->created_at);
	stw__sqlite_bi(&b, st, 10, row->updated_at);
	stw__sqlite_bi(&b, st, 11, row->entered_version);
	stw__sqlite_bi(&b, st, 12, row->definition_version > 0 ? row->definition_version : 1);
	return stw__sqlite_run(h, st, b, "instance_insert", NULL);
}

/*
 * Compare-and-set on the version: writes row->version (the caller's new
 * version) when the stored one is expected_version. STW_ECONFLICT when no row
 * matched, STW_EEXIST when the new unique key is held by another instance.
 */
static int op_instance_update(struct stw__store *s, const struct stw__instance_row *row,
			      int64_t expected_version)
{
	struct sqlite_store *h = handle(s);
	int rc = instance_check(h, row, "instance_update");
	if (rc != STW_OK)
		return rc;
	int64_t num = 0;
	rc = stw__sqlite_num(h, row->definition, row->id, 0, &num);
	if (rc != STW_OK && rc != STW_ENOTFOUND)
		return rc;
	sqlite3_stmt *st = h->st[STW__INSTANCE_UPDATE];
	int b = SQLITE_OK, changes = 0;
	stw__sqlite_bi(&b, st, 13, num); /* 0 when it has none: no row */
	stw__sqlite_bt(&b, st, 1, row->definition);
	stw__sqlite_bt(&b, st, 2, row->id);
	stw__sqlite_bt(&b, st, 3, row->state);
	stw__sqlite_bt(&b, st, 4, row->status);
	stw__sqlite_bt(&b, st, 5, row->data);
	stw__sqlite_bt(&b, st, 6, row->unique_key);
	stw__sqlite_bt(&b, st, 7, row->reason);
	stw__sqlite_bi(&b, st, 8, row->version);
	stw__sqlite_bi(&b, st, 9, row->updated_at);
	stw__sqlite_bi(&b, st, 10, expected_version);
	stw__sqlite_bi(&b, st, 11, row->entered_version);
	stw__sqlite_bi(&b, st, 12, row->definition_version);
	rc = stw__sqlite_run(h, st, b, "instance_update", &changes);
	if (rc == STW_OK && changes == 0)
		rc = stw__sqlite_failf(
		    h, STW_ECONFLICT,
		    "instance_update: %s/%s does not exist or its version is not %lld",
		    row->definition, row->id, (long long)expected_version);
	return rc;
}

/*
 * Copies src (n bytes) with a terminator into dst of cap bytes. Returns -1,
 * leaving dst untouched, if it does not fit.
 */
static int copy_text(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/*
 * The holder's id into holder (cap bytes); holder may be NULL (cap 0) to test
 * for a holder only. STW_EINVAL when the id does not fit.
 */
static int op_key_holder(struct stw__store *s, const char *definition, const char *unique_key,
			 char *holder, size_t cap)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__KEY_HOLDER], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "key_holder");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, unique_key);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		int oom = 0;
		const char *id = stw__sqlite_col_text(st, 0, &oom);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		if (oom || id == NULL)
			rc = stw__sqlite_failf(h, STW_ENOMEM, "key_holder: out of memory");
		else if (holder != NULL && copy_text(holder, cap, id, n) != 0)
			rc = stw__sqlite_failf(h, STW_EINVAL,
					       "key_holder: holder id needs %zu bytes", n + 1);
		else
			rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = stw__sqlite_fail(h, b, "key_holder");
	}
	stw__sqlite_finish(c, st);
	return rc;
}

/*
 * Instances matching q (NULL: all), newest first. Runs the statement prepared
 * for the filter's combination of fields so that each can use its index.
 * limit <= 0 means no limit.
 */
static int op_list_instances(struct stw__store *s, const struct stw__instance_query *q,
			     stw__instance_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	struct stw__instance_query all = { 0 };
	if (q == NULL)
		q = &all;
	int mask = (q->definition ? STW__LQ_DEFINITION : 0) | (q->status ? STW__LQ_STATUS : 0) |
		   (q->state ? STW__LQ_STATE : 0) | (q->id ? STW__LQ_ID : 0) |
		   (q->stuck_before > 0 ? STW__LQ_STUCK : 0) |
		   (q->definition_version > 0 ? STW__LQ_VERSION : 0);
	sqlite3_stmt *c = h->list[mask], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "list_instances");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (q->definition)
		stw__sqlite_bt(&b, st, 1, q->definition);
	if (q->status)
		stw__sqlite_bt(&b, st, 2, q->status);
	if (q->state)
		stw__sqlite_bt(&b, st, 3, q->state);
	if (q->id)
		stw__sqlite_bt(&b, st, 4, q->id);
	stw__sqlite_bi(&b, st, 5, q->limit > 0 ? q->limit : -1);
	stw__sqlite_bi(&b, st, 6, q->offset > 0 ? q->offset : 0);
	if (q->stuck_before > 0)
		stw__sqlite_bi(&b, st, 7, q->stuck_before);
	if (q->definition_version > 0)
		stw__sqlite_bi(&b, st, 8, q->definition_version);
	return each_instance(h, c, st, b, "list_instances", cb, ud, NULL, 0);
}

/* ------------------------------------------------------------------------ */
/* History                                                                  */

static int op_history_has(struct stw__store *s, const char *definition, const char *instance_id,
			  const char *message_id)
{
	struct sqlite_store *h = handle(s);
	int64_t num = 0;
	if (definition == NULL || instance_id == NULL)
		return STW_ENOTFOUND;
	int rc = stw__sqlite_num(h, definition, instance_id, 0, &num);
	if (rc != STW_OK)
		return rc; /* STW_ENOTFOUND: nothing is stored under the name */
	sqlite3_stmt *c = h->st[STW__HISTORY_HAS], *st;
	if ((rc = stw__sqlite_acquire(h, c, &st, "history_has")) != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bi(&b, st, 1, num);
	stw__sqlite_bt(&b, st, 2, message_id);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW)
		rc = STW_OK;
	else if (b == SQLITE_DONE)
		rc = STW_ENOTFOUND;
	else
		rc = stw__sqlite_fail(h, b, "history_has");
	stw__sqlite_finish(c, st);
	return rc;
}

/* 0 if a history row misses a required field. */
static int history_valid(const struct stw__history_row *row)
{
	return row != NULL && row->definition != NULL && row->instance_id != NULL &&
	       row->message_id != NULL && row->message_type != NULL && row->outcome != NULL;
}

/*
 * Binds a valid history row to parameters p+1..p+11, the instance's number
 * (given if the name has none) last.
 */
static int bind_history(struct sqlite_store *h, int *b, sqlite3_stmt *st, int p,
			const struct stw__history_row *row)
{
	int64_t num = 0;
	int rc = stw__sqlite_num(h, row->definition, row->instance_id, 1, &num);
	if (rc != STW_OK)
		return rc;
	stw__sqlite_bi(b, st, p + 11, num);
	stw__sqlite_bt(b, st, p + 1, row->definition);
	stw__sqlite_bt(b, st, p + 2, row->instance_id);
	stw__sqlite_bt(b, st, p + 3, row->message_id);
	stw__sqlite_bt(b, st, p + 4, row->message_type);
	stw__sqlite_bt(b, st, p + 5, row->context);
	stw__sqlite_bt(b, st, p + 6, row->from_state);
	stw__sqlite_bt(b, st, p + 7, row->to_state);
	stw__sqlite_bt(b, st, p + 8, row->outcome);
	stw__sqlite_bt(b, st, p + 9, row->reason);
	stw__sqlite_bi(b, st, p + 10, row->at);
	return STW_OK;
}

static int history_invalid(struct sqlite_store *h)
{
	return stw__sqlite_failf(h, STW_EINVAL,
				 "history_insert: definition, instance_id, message_id, "
				 "message_type and outcome are required");
}

/* row->seq is ignored (assigned). STW_EEXIST if the message has a row already. */
static int op_history_insert(struct stw__store *s, const struct stw__history_row *row)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__HISTORY_INSERT];
	int b = SQLITE_OK;
	if (!history_valid(row))
		return history_invalid(h);
	int rc = bind_history(h, &b, st, 0, row);
	if (rc != STW_OK) {
		sqlite3_clear_bindings(st);
		return rc;
	}
	return stw__sqlite_run(h, st, b, "history_insert", NULL);
}

/*
 * Inserts n history rows, STW__HISTORY_CHUNK to a statement (the rest one
 * by one): a statement's fixed cost (opening its cursors, seeking, halting)
 * is most of a small row's. A row whose message is in the history already
 * fails the call with STW_EEXIST, as history_insert does; the caller rolls
 * back.
 */
static int op_history_insert_many(struct stw__store *s, const struct stw__history_row *rows,
				  size_t n)
{
	struct sqlite_store *h = handle(s);
	size_t i = 0;
	for (; i + STW__HISTORY_CHUNK <= n; i += STW__HISTORY_CHUNK) {
		sqlite3_stmt *st = h->history_chunk;
		int b = SQLITE_OK, rc = STW_OK;
		for (int r = 0; r < STW__HISTORY_CHUNK && rc == STW_OK; r++)
			rc = history_valid(&rows[i + (size_t)r])
				 ? bind_history(h, &b, st, r * 11, &rows[i + (size_t)r])
				 : history_invalid(h);
		if (rc != STW_OK) {
			sqlite3_clear_bindings(st);
			return rc;
		}
		rc = stw__sqlite_run(h, st, b, "history_insert", NULL);
		if (rc != STW_OK)
			return rc;
	}
	for (; i < n; i++) {
		int rc = op_history_insert(s, &rows[i]);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

static int op_history_list(struct stw__store *s, const char *definition, const char *instance_id,
			   stw__history_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__HISTORY_LIST], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "history_list");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, instance_id);
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__history_row r;
			int oom = 0;
			r.definition = stw__sqlite_col_text(st, 0, &oom);
			r.instance_id = stw__sqlite_col_text(st, 1, &oom);
			r.seq = stw__sqlite_col_int(st, 2);
			r.message_id = stw__sqlite_col_text(st, 3, &oom);
			r.message_type = stw__sqlite_col_text(st, 4, &oom);
			r.context = stw__sqlite_col_text(st, 5, &oom);
			r.from_state = stw__sqlite_col_text(st, 6, &oom);
			r.to_state = stw__sqlite_col_text(st, 7, &oom);
			r.outcome = stw__sqlite_col_text(st, 8, &oom);
			r.reason = stw__sqlite_col_text(st, 9, &oom);
			r.at = stw__sqlite_col_int(st, 10);
			if (oom) {
				b = SQLITE_NOMEM;
				break;
			}
			if (cb(&r, ud) != 0) {
				b = SQLITE_DONE;
				break;
			}
		}
	}
	rc = b == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, b, "history_list");
	stw__sqlite_finish(c, st);
	return rc;
}

void stw__sqlite_ops_instances(struct stw__store_ops *o)
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
