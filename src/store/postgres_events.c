/*
 * postgres_events.c - the logs on PostgreSQL: appending (the head of a context
 * and the version of a stream are rows, locked until the transaction ends:
 * see STW__PG_APPEND), reading, and the cursors of the definitions.
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
/* Events                                                                   */

static void event_fill(const PGresult *res, int r, struct stw__event_row *e)
{
	e->context = stw__pg_col(res, r, 0);
	e->position = stw__pg_col_int(res, r, 1);
	e->id = stw__pg_col(res, r, 2);
	e->type = stw__pg_col(res, r, 3);
	e->stream = stw__pg_col(res, r, 4);
	e->stream_version = stw__pg_col_int(res, r, 5);
	e->correlation_id = stw__pg_col(res, r, 6);
	e->causation_id = stw__pg_col(res, r, 7);
	e->data = stw__pg_col(res, r, 8);
	e->metadata = stw__pg_col(res, r, 9);
	e->recorded_at = stw__pg_col_int(res, r, 10);
}

/* Runs an event query and hands each row to cb until it says stop; *n counts rows (may be NULL). */
static int each_event(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		      const char *op, stw__event_cb cb, void *ud, int *n)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	int rows = PQntuples(res);
	if (n != NULL)
		*n = rows;
	for (int r = 0; r < rows; r++) {
		struct stw__event_row row;
		event_fill(res, r, &row);
		if (cb(&row, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

static int op_event_get(struct stw__store *s, const char *id, stw__event_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, id);
	int n = 0;
	int rc = each_event(stw__pg_h(s), STW__PG_EVENT_GET, &p, "event_get", cb, ud, &n);
	return rc == STW_OK && n == 0 ? STW_ENOTFOUND : rc;
}

static int op_stream_version(struct stw__store *s, const char *context, const char *stream,
			     int64_t *version)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, stream);
	return stw__pg_one_int(stw__pg_h(s), STW__PG_STREAM_VERSION, &p, "stream_version", version);
}

/* Where a stored event is: its context and position. */
struct where {
	char context[STW_MAX_NAME];
	int64_t position;
};

static int where_cb(const struct stw__event_row *row, void *ud)
{
	struct where *w = ud;
	snprintf(w->context, sizeof(w->context), "%s", row->context);
	w->position = row->position;
	return 1;
}

/* STW_EEXIST for an id stored already, naming where it is. */
static int taken(struct stw__store *s, const char *id)
{
	struct where w = { "", 0 };
	if (op_event_get(s, id, where_cb, &w) != STW_OK)
		return stw__pg_failf(stw__pg_h(s), STW_EEXIST,
				     "append: event id %s is stored already", id);
	return stw__pg_failf(stw__pg_h(s), STW_EEXIST,
			     "append: event id %s is stored already at %s#%lld", id, w.context,
			     (long long)w.position);
}

/*
 * Appends one event in one statement (STW__PG_APPEND): locks the context's
 * head and the stream's version until the transaction ends and takes the
 * next of each. Outside the caller's transaction it runs in its own.
 */
static int append_one(struct stw__store *s, const struct stw__event_row *row, int64_t *position,
		      int64_t *stream_version)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, row->context);
	stw__pg_text(&p, row->id);
	stw__pg_text(&p, row->type);
	stw__pg_text(&p, row->stream);
	stw__pg_text(&p, row->correlation_id);
	stw__pg_text(&p, row->causation_id);
	stw__pg_text(&p, row->data);
	stw__pg_text(&p, row->metadata);
	stw__pg_int(&p, row->recorded_at);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_APPEND, &p, "append", &rc);
	if (res == NULL)
		return rc;
	int fresh = PQntuples(res) > 0, inserted = fresh && stw__pg_col_int(res, 0, 2) > 0;
	int64_t pos = fresh ? stw__pg_col_int(res, 0, 0) : 0;
	int64_t ver = fresh ? stw__pg_col_int(res, 0, 1) : 0;
	PQclear(res);
	if (fresh && !inserted) {
		/* The id was stored meanwhile by another transaction: give back what was taken. */
		struct stw__pg_params u = { .n = 0 };
		stw__pg_text(&u, row->context);
		stw__pg_text(&u, row->stream);
		if ((rc = stw__pg_change(h, STW__PG_APPEND_UNDO, &u, "append", NULL)) != STW_OK)
			return rc;
	}
	if (!inserted)
		return taken(s, row->id);
	*position = pos;
	*stream_version = ver;
	return STW_OK;
}

static int op_append(struct stw__store *s, const struct stw__event_row *row, int64_t *position,
		     int64_t *stream_version)
{
	struct stw__pg *h = stw__pg_h(s);
	h->wrote_work = 1;
	if (row == NULL || row->context == NULL || row->id == NULL || row->type == NULL ||
	    row->stream == NULL || row->data == NULL || row->metadata == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "append: context, id, type, stream, data and metadata are "
				     "required");
	int own = !stw__pg_in_txn(h);
	int64_t pos = 0, ver = 0;
	int rc = own ? stw__pg_begin(s) : STW_OK;
	if (rc != STW_OK)
		return rc;
	rc = append_one(s, row, &pos, &ver);
	if (own) {
		if (rc == STW_OK)
			rc = stw__pg_commit(s);
		if (rc != STW_OK) {
			char why[sizeof h->err];
			snprintf(why, sizeof why, "%s", h->err);
			stw__pg_rollback(s);
			snprintf(h->err, sizeof h->err, "%s", why);
		}
	}
	if (rc == STW_OK) {
		if (position != NULL)
			*position = pos;
		if (stream_version != NULL)
			*stream_version = ver;
	}
	return rc;
}

/* limit <= 0 means no limit. */
static int op_read(struct stw__store *s, const char *context, int64_t after, int limit,
		   stw__event_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_int(&p, after);
	stw__pg_limit(&p, limit);
	return each_event(stw__pg_h(s), STW__PG_READ, &p, "read", cb, ud, NULL);
}

static int op_read_stream(struct stw__store *s, const char *context, const char *stream,
			  int64_t from_version, stw__event_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, stream);
	stw__pg_int(&p, from_version);
	return each_event(stw__pg_h(s), STW__PG_READ_STREAM, &p, "read_stream", cb, ud, NULL);
}

static int op_head(struct stw__store *s, const char *context, int64_t *position)
{
	PARAMS;
	stw__pg_text(&p, context);
	return stw__pg_one_int(stw__pg_h(s), STW__PG_HEAD, &p, "head", position);
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                  */

/*
 * Inside a writable transaction the cursor's row is locked until it ends,
 * created first when the cursor was never set (a placeholder at 0 that
 * commits only with the step that sets it).
 */
static int op_cursor_get(struct stw__store *s, const char *definition, const char *context,
			 int64_t *position)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, context);
	if (h->fence != NULL) {
		/* A worker's partitions are its own: their cursors need no lock. */
		stw__pg_text(&p, stw__pg_parts(h));
		stw__pg_text(&p, h->fence->owner);
		return stw__pg_one_int(h, STW__PG_PART_CURSOR_GET, &p, "cursor_get", position);
	}
	if (h->read_only || !stw__pg_in_txn(h))
		return stw__pg_one_int(h, STW__PG_CURSOR_GET, &p, "cursor_get", position);
	int rc;
	PGresult *res =
	    stw__pg_lock_row(h, STW__PG_CURSOR_LOCK, STW__PG_CURSOR_CREATE, &p, "cursor_get", &rc);
	if (res == NULL)
		return rc;
	*position = PQntuples(res) > 0 ? stw__pg_col_int(res, 0, 0) : 0;
	PQclear(res);
	return STW_OK;
}

static int op_cursor_set(struct stw__store *s, const char *definition, const char *context,
			 int64_t position)
{
	struct stw__pg *h = stw__pg_h(s);
	if (definition == NULL || context == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "cursor_set: definition and context are required");
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, context);
	stw__pg_int(&p, position);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		stw__pg_text(&p, h->fence->owner);
		return stw__pg_change(h, STW__PG_PART_CURSOR_SET, &p, "cursor_set", NULL);
	}
	return stw__pg_change(h, STW__PG_CURSOR_SET, &p, "cursor_set", NULL);
}

static int op_cursor_attempt(struct stw__store *s, const char *definition, const char *context,
			     int64_t position, int *attempts)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, context);
	stw__pg_int(&p, position);
	int64_t n = 0;
	struct stw__pg *h = stw__pg_h(s);
	char name[sizeof h->fence->owner];
	if (h->fence != NULL) { /* the worker's name: its id up to its start's suffix */
		snprintf(name, sizeof name, "%s", h->fence->owner);
		name[strcspn(name, "#")] = '\0';
		stw__pg_text(&p, name);
	}
	int rc = stw__pg_one_int(h, h->fence ? STW__PG_PART_CURSOR_ATTEMPT : STW__PG_CURSOR_ATTEMPT,
				 &p, "cursor_attempt", &n);
	if (rc == STW_OK)
		*attempts = (int)n;
	return rc;
}

void stw__pg_ops_events(struct stw__store_ops *o)
{
	o->event_get = op_event_get;
	o->stream_version = op_stream_version;
	o->append = op_append;
	o->read = op_read;
	o->read_stream = op_read_stream;
	o->head = op_head;
	o->cursor_get = op_cursor_get;
	o->cursor_set = op_cursor_set;
	o->cursor_attempt = op_cursor_attempt;
}
