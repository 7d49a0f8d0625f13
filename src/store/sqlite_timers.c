/*
 * sqlite_timers.c - unrouted messages, timers and periodic processes on
 * SQLite.
 */
#include "store/sqlite_int.h"

#include <steward.h>

/* ------------------------------------------------------------------------ */
/* Unrouted                                                                 */

/* row->seq is ignored (assigned). */
static int op_unrouted_insert(struct stw__store *s, const struct stw__unrouted_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->definition == NULL || row->context == NULL ||
	    row->event_id == NULL || row->event_type == NULL || row->reason == NULL)
		return stw__sqlite_failf(
		    h, STW_EINVAL,
		    "unrouted_insert: definition, context, event_id, event_type "
		    "and reason are required");
	sqlite3_stmt *st = h->st[STW__UNROUTED_INSERT];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, row->definition);
	stw__sqlite_bt(&b, st, 2, row->context);
	stw__sqlite_bi(&b, st, 3, row->position);
	stw__sqlite_bt(&b, st, 4, row->event_id);
	stw__sqlite_bt(&b, st, 5, row->event_type);
	stw__sqlite_bt(&b, st, 6, row->reason);
	stw__sqlite_bi(&b, st, 7, row->at);
	return stw__sqlite_run(h, st, b, "unrouted_insert", NULL);
}

/* Newest first; definition NULL lists all; limit <= 0 means no limit. */
static int op_unrouted_list(struct stw__store *s, const char *definition, int limit,
			    stw__unrouted_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[definition ? STW__UNROUTED_LIST_DEFINITION : STW__UNROUTED_LIST];
	sqlite3_stmt *st;
	int rc = stw__sqlite_acquire(h, c, &st, "unrouted_list");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	if (definition)
		stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bi(&b, st, 2, limit > 0 ? limit : -1);
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__unrouted_row r;
			int oom = 0;
			r.seq = stw__sqlite_col_int(st, 0);
			r.definition = stw__sqlite_col_text(st, 1, &oom);
			r.context = stw__sqlite_col_text(st, 2, &oom);
			r.position = stw__sqlite_col_int(st, 3);
			r.event_id = stw__sqlite_col_text(st, 4, &oom);
			r.event_type = stw__sqlite_col_text(st, 5, &oom);
			r.reason = stw__sqlite_col_text(st, 6, &oom);
			r.at = stw__sqlite_col_int(st, 7);
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
	rc = b == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, b, "unrouted_list");
	stw__sqlite_finish(c, st);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Timers                                                                   */

static int op_timer_insert(struct stw__store *s, const struct stw__timer_row *row)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->id == NULL || row->definition == NULL || row->instance_id == NULL ||
	    row->message_type == NULL || row->armed_by == NULL)
		return stw__sqlite_failf(
		    h, STW_EINVAL,
		    "timer_insert: id, definition, instance_id, message_type and "
		    "armed_by are required");
	sqlite3_stmt *st = h->st[STW__TIMER_INSERT];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, row->id);
	stw__sqlite_bt(&b, st, 2, row->definition);
	stw__sqlite_bt(&b, st, 3, row->instance_id);
	stw__sqlite_bt(&b, st, 4, row->message_type);
	stw__sqlite_bi(&b, st, 5, row->due_at);
	stw__sqlite_bi(&b, st, 6, row->entered_version);
	stw__sqlite_bt(&b, st, 7, row->armed_by);
	stw__sqlite_bi(&b, st, 8, row->created_at);
	return stw__sqlite_run(h, st, b, "timer_insert", NULL);
}

/* Steps a timer query (bound already, b its bind status) into cb. Finishes st. */
static int each_timer(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int b,
		      const char *op, stw__timer_cb cb, void *ud)
{
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__timer_row r;
			int oom = 0;
			r.id = stw__sqlite_col_text(st, 0, &oom);
			r.definition = stw__sqlite_col_text(st, 1, &oom);
			r.instance_id = stw__sqlite_col_text(st, 2, &oom);
			r.message_type = stw__sqlite_col_text(st, 3, &oom);
			r.due_at = stw__sqlite_col_int(st, 4);
			r.entered_version = stw__sqlite_col_int(st, 5);
			r.armed_by = stw__sqlite_col_text(st, 6, &oom);
			r.created_at = stw__sqlite_col_int(st, 7);
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

static int op_timers_due(struct stw__store *s, const char *definition, int64_t now, int limit,
			 stw__timer_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__TIMERS_DUE], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "timers_due");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bi(&b, st, 1, now);
	stw__sqlite_bi(&b, st, 2, limit > 0 ? limit : -1);
	stw__sqlite_bt(&b, st, 3, definition);
	return each_timer(h, c, st, b, "timers_due", cb, ud);
}

static int op_timer_delete(struct stw__store *s, const char *definition, const char *instance_id,
			   const char *id)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__TIMER_DELETE];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, instance_id);
	stw__sqlite_bt(&b, st, 3, id);
	return stw__sqlite_run(h, st, b, "timer_delete", NULL);
}

/* min() over the (definition, due_at) index: one index probe, not a scan. */
static int op_timer_next(struct stw__store *s, const char *definition, int64_t *due_at)
{
	return stw__sqlite_min_or_none(handle(s), STW__TIMER_NEXT, definition, "timer_next",
				       due_at);
}

static int op_timers_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__timer_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__TIMERS_FOR_INSTANCE], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "timers_for_instance");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, instance_id);
	return each_timer(h, c, st, b, "timers_for_instance", cb, ud);
}

/* ------------------------------------------------------------------------ */
/* Periodic processes                                                       */

static int op_periodic_get(struct stw__store *s, const char *name, int64_t *period)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__PERIODIC_GET], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "periodic_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, name);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_ROW) {
		*period = sqlite3_column_int64(st, 0);
		rc = STW_OK;
	} else if (b == SQLITE_DONE) {
		rc = STW_ENOTFOUND;
	} else {
		rc = stw__sqlite_fail(h, b, "periodic_get");
	}
	stw__sqlite_finish(c, st);
	return rc;
}

static int op_periodic_set(struct stw__store *s, const char *name, int64_t period, int64_t at)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__PERIODIC_SET];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, name);
	stw__sqlite_bi(&b, st, 2, period);
	stw__sqlite_bi(&b, st, 3, at);
	return stw__sqlite_run(h, st, b, "periodic_set", NULL);
}

void stw__sqlite_ops_timers(struct stw__store_ops *o)
{
	o->unrouted_insert = op_unrouted_insert;
	o->unrouted_list = op_unrouted_list;
	o->timer_insert = op_timer_insert;
	o->timers_due = op_timers_due;
	o->timer_delete = op_timer_delete;
	o->timer_next = op_timer_next;
	o->timers_for_instance = op_timers_for_instance;
	o->periodic_get = op_periodic_get;
	o->periodic_set = op_periodic_set;
}
