/*
 * sqlite_outbox.c - the outbox on SQLite (commands waiting for delivery, their
 * attempts and statuses) and the dedup table of the commands handled.
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Outbox                                                                   */

/* Steps an outbox query and hands rows to cb until it returns non-zero. */
static int each_outbox(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int b,
		       const char *op, stw__outbox_cb cb, void *ud)
{
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__outbox_row r;
			int oom = 0;
			r.seq = stw__sqlite_col_int(st, 0);
			r.command_id = stw__sqlite_col_text(st, 1, &oom);
			r.context = stw__sqlite_col_text(st, 2, &oom);
			r.type = stw__sqlite_col_text(st, 3, &oom);
			r.definition = stw__sqlite_col_text(st, 4, &oom);
			r.instance_id = stw__sqlite_col_text(st, 5, &oom);
			r.correlation_id = stw__sqlite_col_text(st, 6, &oom);
			r.causation_id = stw__sqlite_col_text(st, 7, &oom);
			r.data = stw__sqlite_col_text(st, 8, &oom);
			r.status = stw__sqlite_col_text(st, 9, &oom);
			r.error = stw__sqlite_col_text(st, 10, &oom);
			r.created_at = stw__sqlite_col_int(st, 11);
			r.delivered_at = stw__sqlite_col_int(st, 12);
			r.attempts = (int)stw__sqlite_col_int(st, 13);
			r.next_at = stw__sqlite_col_int(st, 14);
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
	int rc = b == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, b, op);
	stw__sqlite_finish(cached, st);
	return rc;
}

/* Counts the rows an outbox_get hands on (there is at most one). */
struct outbox_found {
	stw__outbox_cb cb;
	void *ud;
	int *found;
};

static int outbox_found_cb(const struct stw__outbox_row *row, void *ud)
{
	struct outbox_found *f = ud;
	*f->found = 1;
	return f->cb(row, f->ud);
}

/*
 * row->seq is ignored (assigned). A NULL status means "pending". An existing
 * command_id makes this a no-op that keeps the stored row.
 */
static int op_outbox_insert(struct stw__store *s, const struct stw__outbox_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->command_id == NULL || row->context == NULL || row->type == NULL ||
	    row->data == NULL)
		return stw__sqlite_failf(
		    h, STW_EINVAL,
		    "outbox_insert: command_id, context, type and data are required");
	int64_t num = 0;
	if (row->definition != NULL && row->instance_id != NULL) {
		int rc = stw__sqlite_num(h, row->definition, row->instance_id, 1, &num);
		if (rc != STW_OK)
			return rc;
	}
	sqlite3_stmt *st = h->st[STW__OUTBOX_INSERT];
	int b = SQLITE_OK;
	if (num > 0)
		stw__sqlite_bi(&b, st, 14, num);
	stw__sqlite_bt(&b, st, 1, row->command_id);
	stw__sqlite_bt(&b, st, 2, row->context);
	stw__sqlite_bt(&b, st, 3, row->type);
	stw__sqlite_bt(&b, st, 4, row->definition);
	stw__sqlite_bt(&b, st, 5, row->instance_id);
	stw__sqlite_bt(&b, st, 6, row->correlation_id);
	stw__sqlite_bt(&b, st, 7, row->causation_id);
	stw__sqlite_bt(&b, st, 8, row->data);
	stw__sqlite_bt(&b, st, 9, row->status ? row->status : "pending");
	stw__sqlite_bt(&b, st, 10, row->error);
	stw__sqlite_bi(&b, st, 11, row->created_at);
	stw__sqlite_bi(&b, st, 12, row->delivered_at);
	stw__sqlite_bi(&b, st, 13, row->next_at);
	return stw__sqlite_run(h, st, b, "outbox_insert", NULL);
}

/* limit <= 0 means no limit. */
static int op_outbox_pending(struct stw__store *s, const char *context, int limit,
			     stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_PENDING], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_pending");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bi(&b, st, 2, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_pending", cb, ud);
}

/* STW_ENOTFOUND when no row has the command id. */
static int op_outbox_mark(struct stw__store *s, const char *command_id, const char *status,
			  const char *error, int64_t delivered_at)
{
	struct sqlite_store *h = handle(s);
	if (command_id == NULL || status == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "outbox_mark: command_id and status are required");
	sqlite3_stmt *st = h->st[STW__OUTBOX_MARK];
	int b = SQLITE_OK, changes = 0;
	stw__sqlite_bt(&b, st, 1, command_id);
	stw__sqlite_bt(&b, st, 2, status);
	stw__sqlite_bt(&b, st, 3, error);
	stw__sqlite_bi(&b, st, 4, delivered_at);
	int rc = stw__sqlite_run(h, st, b, "outbox_mark", &changes);
	if (rc == STW_OK && changes == 0)
		rc = stw__sqlite_failf(h, STW_ENOTFOUND, "outbox_mark: no command %s", command_id);
	return rc;
}

static int op_outbox_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_FOR_INSTANCE], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_for_instance");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, instance_id);
	return each_outbox(h, c, st, b, "outbox_for_instance", cb, ud);
}

/* limit <= 0 means no limit. */
static int op_outbox_due(struct stw__store *s, const char *context, int64_t now, int limit,
			 stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_DUE], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_due");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bi(&b, st, 2, now);
	stw__sqlite_bi(&b, st, 3, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_due", cb, ud);
}

static int op_outbox_next_due(struct stw__store *s, const char *context, int64_t *at)
{
	return stw__sqlite_min_or_none(handle(s), STW__OUTBOX_NEXT_DUE, context, "outbox_next_due",
				       at);
}

/* STW_ENOTFOUND when no row has the command id. */
static int op_outbox_attempted(struct stw__store *s, const char *command_id, const char *status,
			       const char *error, int attempts, int64_t next_at,
			       int64_t delivered_at)
{
	struct sqlite_store *h = handle(s);
	if (command_id == NULL || status == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "outbox_attempted: command_id and status are required");
	sqlite3_stmt *st = h->st[STW__OUTBOX_ATTEMPTED];
	int b = SQLITE_OK, changes = 0;
	stw__sqlite_bt(&b, st, 1, command_id);
	stw__sqlite_bt(&b, st, 2, status);
	stw__sqlite_bt(&b, st, 3, error);
	stw__sqlite_bi(&b, st, 4, attempts);
	stw__sqlite_bi(&b, st, 5, next_at);
	stw__sqlite_bi(&b, st, 6, delivered_at);
	int rc = stw__sqlite_run(h, st, b, "outbox_attempted", &changes);
	if (rc == STW_OK && changes == 0)
		rc = stw__sqlite_failf(h, STW_ENOTFOUND, "outbox_attempted: no command %s",
				       command_id);
	return rc;
}

/* Calls cb once with the row, or STW_ENOTFOUND. */
static int op_outbox_get(struct stw__store *s, const char *command_id, stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_GET], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK, found = 0;
	stw__sqlite_bt(&b, st, 1, command_id);
	struct outbox_found f = { cb, ud, &found };
	rc = each_outbox(h, c, st, b, "outbox_get", outbox_found_cb, &f);
	return rc == STW_OK && !found ? STW_ENOTFOUND : rc;
}

static int op_outbox_by_status(struct stw__store *s, const char *status, int limit,
			       stw__outbox_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	enum sid id = strcmp(status, "pending") == 0     ? STW__OUTBOX_PENDING_ALL
		      : strcmp(status, "delivered") == 0 ? STW__OUTBOX_DONE
							 : STW__OUTBOX_BY_STATUS;
	sqlite3_stmt *c = h->st[id], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_by_status");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, status);
	stw__sqlite_bi(&b, st, 2, limit > 0 ? limit : -1);
	return each_outbox(h, c, st, b, "outbox_by_status", cb, ud);
}

static int op_outbox_pending_count(struct stw__store *s, int64_t *count)
{
	return stw__sqlite_int_or_zero(handle(s), STW__OUTBOX_PENDING_COUNT, NULL, NULL, 0,
				       "outbox_pending_count", count);
}

static int op_outbox_pending_contexts(struct stw__store *s, stw__name_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__OUTBOX_PENDING_CONTEXTS], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "outbox_pending_contexts");
	if (rc != STW_OK)
		return rc;
	int b;
	while ((b = sqlite3_step(st)) == SQLITE_ROW) {
		int oom = 0;
		const char *name = stw__sqlite_col_text(st, 0, &oom);
		if (oom) {
			b = SQLITE_NOMEM;
			break;
		}
		if (cb(name, ud) != 0) {
			b = SQLITE_DONE;
			break;
		}
	}
	rc = b == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, b, "outbox_pending_contexts");
	stw__sqlite_finish(c, st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Dedup                                                                    */

/* The recorded error text is truncated to fit err (cap bytes). */
static int op_dedup_get(struct stw__store *s, const char *context, const char *command_id,
			int *outcome, char *err, size_t cap)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__DEDUP_GET], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "dedup_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bt(&b, st, 2, command_id);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		int oom = 0;
		if (outcome != NULL)
			*outcome = sqlite3_column_int(st, 0);
		const char *e = stw__sqlite_col_text(st, 1, &oom);
		if (oom) {
			rc = stw__sqlite_failf(h, STW_ENOMEM, "dedup_get: out of memory");
		} else {
			rc = STW_OK;
			if (err != NULL && cap > 0) {
				size_t n = e ? (size_t)sqlite3_column_bytes(st, 1) : 0;
				if (n >= cap)
					n = cap - 1;
				if (n > 0)
					memcpy(err, e, n);
				err[n] = '\0';
			}
		}
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = stw__sqlite_fail(h, b, "dedup_get");
	}
	stw__sqlite_finish(c, st);
	return rc;
}

static int op_dedup_put(struct stw__store *s, const char *context, const char *command_id,
			int outcome, const char *error, int64_t at)
{
	struct sqlite_store *h = handle(s);
	if (context == NULL || command_id == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "dedup_put: context and command_id are required");
	sqlite3_stmt *st = h->st[STW__DEDUP_PUT];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bt(&b, st, 2, command_id);
	stw__sqlite_bi(&b, st, 3, outcome);
	stw__sqlite_bt(&b, st, 4, error);
	stw__sqlite_bi(&b, st, 5, at);
	return stw__sqlite_run(h, st, b, "dedup_put", NULL);
}

/* STW_ENOTFOUND when the command was never recorded. */
static int op_dedup_hit(struct stw__store *s, const char *context, const char *command_id)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__DEDUP_HIT];
	int b = SQLITE_OK, changes = 0;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bt(&b, st, 2, command_id);
	int rc = stw__sqlite_run(h, st, b, "dedup_hit", &changes);
	if (rc == STW_OK && changes == 0)
		rc = stw__sqlite_failf(h, STW_ENOTFOUND, "dedup_hit: no command %s in %s",
				       command_id ? command_id : "(null)",
				       context ? context : "(null)");
	return rc;
}

static int op_dedup_forget_refusal(struct stw__store *s, const char *context,
				   const char *command_id)
{
	struct sqlite_store *h = handle(s);
	if (context == NULL || command_id == NULL)
		return stw__sqlite_failf(
		    h, STW_EINVAL, "dedup_forget_refusal: context and command_id are required");
	sqlite3_stmt *st = h->st[STW__DEDUP_FORGET_REFUSAL];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bt(&b, st, 2, command_id);
	return stw__sqlite_run(h, st, b, "dedup_forget_refusal", NULL);
}

/* A sum over the table: meant for inspection, not for every step. */
static int op_dedup_duplicates(struct stw__store *s, int64_t *count)
{
	return stw__sqlite_int_or_zero(handle(s), STW__DEDUP_DUPLICATES, NULL, NULL, 0,
				       "dedup_duplicates", count);
}

void stw__sqlite_ops_outbox(struct stw__store_ops *o)
{
	o->outbox_insert = op_outbox_insert;
	o->outbox_pending = op_outbox_pending;
	o->outbox_mark = op_outbox_mark;
	o->outbox_for_instance = op_outbox_for_instance;
	o->outbox_pending_count = op_outbox_pending_count;
	o->outbox_pending_contexts = op_outbox_pending_contexts;
	o->outbox_due = op_outbox_due;
	o->outbox_next_due = op_outbox_next_due;
	o->outbox_attempted = op_outbox_attempted;
	o->outbox_get = op_outbox_get;
	o->outbox_by_status = op_outbox_by_status;
	o->dedup_get = op_dedup_get;
	o->dedup_put = op_dedup_put;
	o->dedup_hit = op_dedup_hit;
	o->dedup_forget_refusal = op_dedup_forget_refusal;
	o->dedup_duplicates = op_dedup_duplicates;
}
