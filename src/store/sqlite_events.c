/*
 * sqlite_events.c - the logs on SQLite: appending (the head of a context and
 * the version of a stream are read off the log itself, under the write lock),
 * reading, and the cursors of the definitions.
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/* Fills an event row from a statement selecting STW__EVENT_COLS; -1 on OOM. */
static int event_fill(sqlite3_stmt *st, struct stw__event_row *r)
{
	int oom = 0;
	r->context = stw__sqlite_col_text(st, 0, &oom);
	r->position = stw__sqlite_col_int(st, 1);
	r->id = stw__sqlite_col_text(st, 2, &oom);
	r->type = stw__sqlite_col_text(st, 3, &oom);
	r->stream = stw__sqlite_col_text(st, 4, &oom);
	r->stream_version = stw__sqlite_col_int(st, 5);
	r->correlation_id = stw__sqlite_col_text(st, 6, &oom);
	r->causation_id = stw__sqlite_col_text(st, 7, &oom);
	r->data = stw__sqlite_col_text(st, 8, &oom);
	r->metadata = stw__sqlite_col_text(st, 9, &oom);
	r->recorded_at = stw__sqlite_col_int(st, 10);
	return oom ? -1 : 0;
}

/*
 * Steps an event query (bindings made, rc their result) and hands each row
 * to cb until it returns non-zero. Finishes st.
 */
static int each_event(struct sqlite_store *h, sqlite3_stmt *cached, sqlite3_stmt *st, int rc,
		      const char *op, stw__event_cb cb, void *ud)
{
	int code = STW_OK;
	if (rc == SQLITE_OK) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			struct stw__event_row row;
			if (event_fill(st, &row) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
			if (cb(&row, ud) != 0) {
				rc = SQLITE_DONE;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		code = stw__sqlite_fail(h, rc, op);
	stw__sqlite_finish(cached, st);
	return code;
}

struct event_get_ctx {
	stw__event_cb cb;
	void *ud;
	int found;
};

static int event_get_cb(const struct stw__event_row *row, void *ud)
{
	struct event_get_ctx *g = ud;
	g->found = 1;
	return g->cb != NULL ? g->cb(row, g->ud) : 1;
}

static int op_event_get(struct stw__store *s, const char *id, stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__EVENT_GET], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "event_get");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, id);
	struct event_get_ctx g = { cb, ud, 0 };
	rc = each_event(h, c, st, b, "event_get", event_get_cb, &g);
	return rc == STW_OK && !g.found ? STW_ENOTFOUND : rc;
}

static int op_stream_version(struct stw__store *s, const char *context, const char *stream,
			     int64_t *version)
{
	return stw__sqlite_int_or_zero(handle(s), STW__STREAM_VERSION, context, stream, 2,
				       "stream_version", version);
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

/*
 * The head of a context for an append in the caller's transaction. The write
 * lock is held from the transaction's begin to its end, and only appends move
 * a head, so the head read once stays known until the transaction ends or
 * anything in it is rolled back (the handle's txns and undos move then): a
 * memo per context, counted on by the appends that follow.
 */
static struct head_memo *head_memo(struct sqlite_store *h, const char *context)
{
	for (int i = 0; i < STW__HEAD_MEMOS; i++) {
		struct head_memo *m = &h->heads[i];
		if (m->txn == h->txns && m->undos == h->undos && strcmp(m->context, context) == 0)
			return m;
	}
	return NULL;
}

static void head_remember(struct sqlite_store *h, const char *context, int64_t head)
{
	if (strlen(context) >= sizeof(h->heads[0].context))
		return;
	struct head_memo *m = head_memo(h, context);
	if (m == NULL) {
		m = &h->heads[h->next_memo++ % STW__HEAD_MEMOS];
		snprintf(m->context, sizeof(m->context), "%s", context);
		m->txn = h->txns;
		m->undos = h->undos;
	}
	m->head = head;
}

static void head_forget(struct sqlite_store *h, const char *context)
{
	struct head_memo *m = head_memo(h, context);
	if (m != NULL)
		m->txn = 0;
}

/*
 * Appends one event. The context head and the stream version are read off
 * the log (the largest position of the context, the largest version of the
 * stream: one probe each at the end of an index; the write lock is held, so
 * nothing can interleave), and the event is inserted one past both. Inside
 * the caller's transaction the head is read once (head_memo), and a stream
 * version the caller gives (row->stream_version, read in this transaction)
 * is taken as it is. Nothing else is written, so an insert refused (an id
 * stored already, caught by its unique index: STW_EEXIST) leaves nothing
 * behind. Outside the caller's transaction the append runs in its own.
 */
static int op_append(struct stw__store *s, const struct stw__event_row *row, int64_t *position,
		     int64_t *stream_version)
{
	struct sqlite_store *h = handle(s);
	if (row == NULL || row->context == NULL || row->id == NULL || row->type == NULL ||
	    row->stream == NULL || row->data == NULL || row->metadata == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "append: context, id, type, stream, data and metadata are "
					 "required");

	int own = sqlite3_get_autocommit(h->db);
	int rc, b;
	int64_t head = 0, ver = 0;
	struct where where = { "", 0 };
	sqlite3_stmt *st;
	const struct head_memo *memo = own ? NULL : head_memo(h, row->context);

	if (own && (rc = stw__sqlite_exec(h, STW__BEGIN, "append")) != STW_OK)
		return rc;

	if (memo != NULL)
		head = memo->head;
	else if ((rc = stw__sqlite_int_or_zero(h, STW__HEAD, row->context, NULL, 1, "append",
					       &head)) != STW_OK)
		goto out;
	if (!own && row->stream_version > 0)
		ver = row->stream_version - 1;
	else if ((rc = stw__sqlite_int_or_zero(h, STW__STREAM_VERSION, row->context, row->stream, 2,
					       "append", &ver)) != STW_OK)
		goto out;

	st = h->st[STW__EVENT_INSERT];
	b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, row->context);
	stw__sqlite_bi(&b, st, 2, head + 1);
	stw__sqlite_bt(&b, st, 3, row->id);
	stw__sqlite_bt(&b, st, 4, row->type);
	stw__sqlite_bt(&b, st, 5, row->stream);
	stw__sqlite_bi(&b, st, 6, ver + 1);
	stw__sqlite_bt(&b, st, 7, row->correlation_id);
	stw__sqlite_bt(&b, st, 8, row->causation_id);
	stw__sqlite_bt(&b, st, 9, row->data);
	stw__sqlite_bt(&b, st, 10, row->metadata);
	stw__sqlite_bi(&b, st, 11, row->recorded_at);
	rc = stw__sqlite_run(h, st, b, "append", NULL);
	/* The id's unique index refused it (the head and version just read leave
	 * no other key taken): name where the stored copy is. */
	if (rc == STW_EEXIST && op_event_get(s, row->id, where_cb, &where) == STW_OK)
		rc = stw__sqlite_failf(h, STW_EEXIST,
				       "append: event id %s is stored already at %s#%lld", row->id,
				       where.context, (long long)where.position);

out:
	if (own) {
		if (rc == STW_OK)
			rc = stw__sqlite_exec(h, STW__COMMIT, "append");
		if (rc != STW_OK && !sqlite3_get_autocommit(h->db))
			(void)stw__sqlite_exec(h, STW__ROLLBACK, "append");
	} else if (rc == STW_OK) {
		head_remember(h, row->context, head + 1);
	} else {
		head_forget(h, row->context);
	}
	if (rc == STW_OK) {
		if (position != NULL)
			*position = head + 1;
		if (stream_version != NULL)
			*stream_version = ver + 1;
	}
	return rc;
}

/* Events of context after `after`, ascending; limit <= 0 means no limit. */
static int op_read(struct stw__store *s, const char *context, int64_t after, int limit,
		   stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__READ], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "read");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bi(&b, st, 2, after);
	stw__sqlite_bi(&b, st, 3, limit > 0 ? limit : -1);
	return each_event(h, c, st, b, "read", cb, ud);
}

static int op_read_stream(struct stw__store *s, const char *context, const char *stream,
			  int64_t from_version, stw__event_cb cb, void *ud)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *c = h->st[STW__READ_STREAM], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "read_stream");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, context);
	stw__sqlite_bt(&b, st, 2, stream);
	stw__sqlite_bi(&b, st, 3, from_version);
	return each_event(h, c, st, b, "read_stream", cb, ud);
}

static int op_head(struct stw__store *s, const char *context, int64_t *position)
{
	return stw__sqlite_int_or_zero(handle(s), STW__HEAD, context, NULL, 1, "head", position);
}

/* ------------------------------------------------------------------------ */
/* Cursors                                                                  */

static int op_cursor_get(struct stw__store *s, const char *definition, const char *context,
			 int64_t *position)
{
	return stw__sqlite_int_or_zero(handle(s), STW__CURSOR_GET, definition, context, 2,
				       "cursor_get", position);
}

static int op_cursor_set(struct stw__store *s, const char *definition, const char *context,
			 int64_t position)
{
	struct sqlite_store *h = handle(s);
	if (definition == NULL || context == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "cursor_set: definition and context are required");
	sqlite3_stmt *st = h->st[STW__CURSOR_SET];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, context);
	stw__sqlite_bi(&b, st, 3, position);
	return stw__sqlite_run(h, st, b, "cursor_set", NULL);
}

static int op_cursor_attempt(struct stw__store *s, const char *definition, const char *context,
			     int64_t position, int *attempts)
{
	struct sqlite_store *h = handle(s);
	sqlite3_stmt *st = h->st[STW__CURSOR_ATTEMPT];
	int b = SQLITE_OK;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, context);
	stw__sqlite_bi(&b, st, 3, position);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	int rc = STW_OK;
	if (b == SQLITE_ROW) {
		*attempts = (int)stw__sqlite_col_int(st, 0);
		b = sqlite3_step(st);
	}
	if (b != SQLITE_DONE)
		rc = stw__sqlite_fail(h, b, "cursor_attempt");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

void stw__sqlite_ops_events(struct stw__store_ops *o)
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
