/*
 * postgres_timers.c - timers, periodic processes and unrouted messages on
 * PostgreSQL.
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
/* Unrouted                                                                 */

static int op_unrouted_insert(struct stw__store *s, const struct stw__unrouted_row *row)
{
	struct stw__pg *h = stw__pg_h(s);
	if (row == NULL || row->definition == NULL || row->context == NULL ||
	    row->event_id == NULL || row->event_type == NULL || row->reason == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "unrouted_insert: definition, context, event_id, event_type "
				     "and reason are required");
	PARAMS;
	stw__pg_text(&p, row->definition);
	stw__pg_text(&p, row->context);
	stw__pg_int(&p, row->position);
	stw__pg_text(&p, row->event_id);
	stw__pg_text(&p, row->event_type);
	stw__pg_text(&p, row->reason);
	stw__pg_int(&p, row->at);
	return stw__pg_change(h, STW__PG_UNROUTED_INSERT, &p, "unrouted_insert", NULL);
}

/* Newest first; definition NULL lists all; limit <= 0 means no limit. */
static int op_unrouted_list(struct stw__store *s, const char *definition, int limit,
			    stw__unrouted_cb cb, void *ud)
{
	PARAMS;
	if (definition != NULL)
		stw__pg_text(&p, definition);
	stw__pg_limit(&p, limit);
	int rc;
	PGresult *res = stw__pg_run(
	    stw__pg_h(s), definition ? STW__PG_UNROUTED_LIST_DEFINITION : STW__PG_UNROUTED_LIST, &p,
	    "unrouted_list", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		struct stw__unrouted_row row = {
			.seq = stw__pg_col_int(res, r, 0),
			.definition = stw__pg_col(res, r, 1),
			.context = stw__pg_col(res, r, 2),
			.position = stw__pg_col_int(res, r, 3),
			.event_id = stw__pg_col(res, r, 4),
			.event_type = stw__pg_col(res, r, 5),
			.reason = stw__pg_col(res, r, 6),
			.at = stw__pg_col_int(res, r, 7),
		};
		if (cb(&row, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* Timers and periodic processes                                            */

static int op_timer_insert(struct stw__store *s, const struct stw__timer_row *row)
{
	struct stw__pg *h = stw__pg_h(s);
	if (row == NULL || row->id == NULL || row->definition == NULL || row->instance_id == NULL ||
	    row->message_type == NULL || row->armed_by == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "timer_insert: id, definition, instance_id, message_type and "
				     "armed_by are required");
	PARAMS;
	stw__pg_text(&p, row->id);
	stw__pg_text(&p, row->definition);
	stw__pg_text(&p, row->instance_id);
	stw__pg_text(&p, row->message_type);
	stw__pg_int(&p, row->due_at);
	stw__pg_int(&p, row->entered_version);
	stw__pg_text(&p, row->armed_by);
	stw__pg_int(&p, row->created_at);
	int part = stw__partition(row->instance_id, h->partitions);
	stw__pg_int(&p, part);
	h->wrote_work |= h->fence == NULL || !h->base.ops->holds(s, part); /* its own: fired here */
	return stw__pg_change(h, STW__PG_TIMER_INSERT, &p, "timer_insert", NULL);
}

/* Runs a timer query and hands each row to cb until it says stop. */
static int each_timer(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		      const char *op, stw__timer_cb cb, void *ud)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		struct stw__timer_row row = {
			.id = stw__pg_col(res, r, 0),
			.definition = stw__pg_col(res, r, 1),
			.instance_id = stw__pg_col(res, r, 2),
			.message_type = stw__pg_col(res, r, 3),
			.due_at = stw__pg_col_int(res, r, 4),
			.entered_version = stw__pg_col_int(res, r, 5),
			.armed_by = stw__pg_col(res, r, 6),
			.created_at = stw__pg_col_int(res, r, 7),
		};
		if (cb(&row, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

static int op_timers_due(struct stw__store *s, const char *definition, int64_t now, int limit,
			 stw__timer_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_int(&p, now);
	stw__pg_limit(&p, limit);
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		return each_timer(h, STW__PG_PART_TIMERS_DUE, &p, "timers_due", cb, ud);
	}
	return each_timer(h, STW__PG_TIMERS_DUE, &p, "timers_due", cb, ud);
}

static int op_timer_delete(struct stw__store *s, const char *definition, const char *instance_id,
			   const char *id)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, instance_id);
	stw__pg_text(&p, id);
	return stw__pg_change(stw__pg_h(s), STW__PG_TIMER_DELETE, &p, "timer_delete", NULL);
}

static int op_timer_next(struct stw__store *s, const char *definition, int64_t *due_at)
{
	PARAMS;
	stw__pg_text(&p, definition);
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		return stw__pg_min(h, STW__PG_PART_TIMER_NEXT, &p, "timer_next", due_at);
	}
	return stw__pg_min(h, STW__PG_TIMER_NEXT, &p, "timer_next", due_at);
}

static int op_timers_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__timer_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, instance_id);
	return each_timer(stw__pg_h(s), STW__PG_TIMERS_FOR_INSTANCE, &p, "timers_for_instance", cb,
			  ud);
}

/*
 * Inside a writable transaction the process's row is locked until it ends,
 * created first when the process never ran (a placeholder at period -1,
 * before every period, that commits only with the run that sets it).
 */
static int op_periodic_get(struct stw__store *s, const char *name, int64_t *period)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, name);
	int lock = !h->read_only && stw__pg_in_txn(h), rc;
	PGresult *res = lock ? stw__pg_lock_row(h, STW__PG_PERIODIC_LOCK, STW__PG_PERIODIC_CREATE,
						&p, "periodic_get", &rc)
			     : stw__pg_run(h, STW__PG_PERIODIC_GET, &p, "periodic_get", &rc);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) > 0 ? STW_OK : STW_ENOTFOUND;
	if (rc == STW_OK)
		*period = stw__pg_col_int(res, 0, 0);
	PQclear(res);
	return rc;
}

static int op_periodic_set(struct stw__store *s, const char *name, int64_t period, int64_t at)
{
	PARAMS;
	stw__pg_text(&p, name);
	stw__pg_int(&p, period);
	stw__pg_int(&p, at);
	return stw__pg_change(stw__pg_h(s), STW__PG_PERIODIC_SET, &p, "periodic_set", NULL);
}

void stw__pg_ops_timers(struct stw__store_ops *o)
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
