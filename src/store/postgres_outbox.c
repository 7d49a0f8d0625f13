/*
 * postgres_outbox.c - the outbox (commands waiting for delivery, and their
 * remote attempts) and the receiving side's dedup table on PostgreSQL.
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
/* Outbox                                                                   */

/* Runs an outbox query and hands each row to cb until it says stop; *n counts rows (may be NULL).
 */
static int each_outbox(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		       const char *op, stw__outbox_cb cb, void *ud, int *n)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	if (n != NULL)
		*n = PQntuples(res);
	for (int r = 0; r < PQntuples(res); r++) {
		struct stw__outbox_row row = {
			.seq = stw__pg_col_int(res, r, 0),
			.command_id = stw__pg_col(res, r, 1),
			.context = stw__pg_col(res, r, 2),
			.type = stw__pg_col(res, r, 3),
			.definition = stw__pg_col(res, r, 4),
			.instance_id = stw__pg_col(res, r, 5),
			.correlation_id = stw__pg_col(res, r, 6),
			.causation_id = stw__pg_col(res, r, 7),
			.data = stw__pg_col(res, r, 8),
			.status = stw__pg_col(res, r, 9),
			.error = stw__pg_col(res, r, 10),
			.created_at = stw__pg_col_int(res, r, 11),
			.delivered_at = stw__pg_col_int(res, r, 12),
			.attempts = (int)stw__pg_col_int(res, r, 13),
			.next_at = stw__pg_col_int(res, r, 14),
		};
		if (cb(&row, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

/* A NULL status means "pending". An existing command_id makes this a no-op. */
static int op_outbox_insert(struct stw__store *s, const struct stw__outbox_row *row)
{
	struct stw__pg *h = stw__pg_h(s);
	if (row == NULL || row->command_id == NULL || row->context == NULL || row->type == NULL ||
	    row->data == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "outbox_insert: command_id, context, type and data are "
				     "required");
	PARAMS;
	stw__pg_text(&p, row->command_id);
	stw__pg_text(&p, row->context);
	stw__pg_text(&p, row->type);
	stw__pg_text(&p, row->definition);
	stw__pg_text(&p, row->instance_id);
	stw__pg_text(&p, row->correlation_id);
	stw__pg_text(&p, row->causation_id);
	stw__pg_text(&p, row->data);
	stw__pg_text(&p, row->status ? row->status : "pending");
	stw__pg_text(&p, row->error);
	stw__pg_int(&p, row->created_at);
	stw__pg_int(&p, row->delivered_at);
	stw__pg_int(&p, row->next_at);
	int part = stw__partition(
	    stw__outbox_part_key(row->instance_id, row->correlation_id, row->command_id),
	    h->partitions);
	stw__pg_int(&p, part);
	h->wrote_work |=
	    h->fence == NULL || !h->base.ops->holds(s, part); /* its own: delivered here */
	return stw__pg_change(h, STW__PG_OUTBOX_INSERT, &p, "outbox_insert", NULL);
}

static int op_outbox_pending(struct stw__store *s, const char *context, int limit,
			     stw__outbox_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_limit(&p, limit);
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		return each_outbox(h, STW__PG_PART_OUTBOX_PENDING, &p, "outbox_pending", cb, ud,
				   NULL);
	}
	return each_outbox(h, STW__PG_OUTBOX_PENDING, &p, "outbox_pending", cb, ud, NULL);
}

/* Runs an update of one outbox row by command id: STW_ENOTFOUND when there is none. */
static int outbox_update(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
			 const char *op, const char *command_id)
{
	long n = 0;
	int rc = stw__pg_change(h, id, p, op, &n);
	if (rc == STW_OK && n == 0)
		rc = stw__pg_failf(h, STW_ENOTFOUND, "%s: no command %s", op, command_id);
	return rc;
}

static int op_outbox_mark(struct stw__store *s, const char *command_id, const char *status,
			  const char *error, int64_t delivered_at)
{
	struct stw__pg *h = stw__pg_h(s);
	if (command_id == NULL || status == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "outbox_mark: command_id and status are required");
	PARAMS;
	stw__pg_text(&p, command_id);
	stw__pg_text(&p, status);
	stw__pg_text(&p, error);
	stw__pg_int(&p, delivered_at);
	return outbox_update(h, STW__PG_OUTBOX_MARK, &p, "outbox_mark", command_id);
}

static int op_outbox_for_instance(struct stw__store *s, const char *definition,
				  const char *instance_id, stw__outbox_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, instance_id);
	return each_outbox(stw__pg_h(s), STW__PG_OUTBOX_FOR_INSTANCE, &p, "outbox_for_instance", cb,
			   ud, NULL);
}

static int op_outbox_pending_count(struct stw__store *s, int64_t *count)
{
	return stw__pg_one_int(stw__pg_h(s), STW__PG_OUTBOX_PENDING_COUNT, NULL,
			       "outbox_pending_count", count);
}

static int op_outbox_due(struct stw__store *s, const char *context, int64_t now, int limit,
			 stw__outbox_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_int(&p, now);
	stw__pg_limit(&p, limit);
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		return each_outbox(h, STW__PG_PART_OUTBOX_DUE, &p, "outbox_due", cb, ud, NULL);
	}
	return each_outbox(h, STW__PG_OUTBOX_DUE, &p, "outbox_due", cb, ud, NULL);
}

static int op_outbox_next_due(struct stw__store *s, const char *context, int64_t *at)
{
	PARAMS;
	stw__pg_text(&p, context);
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence != NULL) {
		stw__pg_text(&p, stw__pg_parts(h));
		return stw__pg_min(h, STW__PG_PART_OUTBOX_NEXT_DUE, &p, "outbox_next_due", at);
	}
	return stw__pg_min(h, STW__PG_OUTBOX_NEXT_DUE, &p, "outbox_next_due", at);
}

static int op_outbox_attempted(struct stw__store *s, const char *command_id, const char *status,
			       const char *error, int attempts, int64_t next_at,
			       int64_t delivered_at)
{
	struct stw__pg *h = stw__pg_h(s);
	if (command_id == NULL || status == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "outbox_attempted: command_id and status are required");
	PARAMS;
	stw__pg_text(&p, command_id);
	stw__pg_text(&p, status);
	stw__pg_text(&p, error);
	stw__pg_int(&p, attempts);
	stw__pg_int(&p, next_at);
	stw__pg_int(&p, delivered_at);
	return outbox_update(h, STW__PG_OUTBOX_ATTEMPTED, &p, "outbox_attempted", command_id);
}

static int op_outbox_get(struct stw__store *s, const char *command_id, stw__outbox_cb cb, void *ud)
{
	PARAMS;
	stw__pg_text(&p, command_id);
	int n = 0;
	int rc = each_outbox(stw__pg_h(s), STW__PG_OUTBOX_GET, &p, "outbox_get", cb, ud, &n);
	return rc == STW_OK && n == 0 ? STW_ENOTFOUND : rc;
}

static int op_outbox_by_status(struct stw__store *s, const char *status, int limit,
			       stw__outbox_cb cb, void *ud)
{
	enum stw__pg_sid id = strcmp(status, "pending") == 0     ? STW__PG_OUTBOX_PENDING_ALL
			      : strcmp(status, "delivered") == 0 ? STW__PG_OUTBOX_DONE
								 : STW__PG_OUTBOX_BY_STATUS;
	PARAMS;
	stw__pg_text(&p, status);
	stw__pg_limit(&p, limit);
	return each_outbox(stw__pg_h(s), id, &p, "outbox_by_status", cb, ud, NULL);
}

/* Calls cb with each context that has pending rows, in name order. */
static int op_outbox_pending_contexts(struct stw__store *s, stw__name_cb cb, void *ud)
{
	int rc;
	PGresult *res = stw__pg_run(stw__pg_h(s), STW__PG_OUTBOX_PENDING_CONTEXTS, NULL,
				    "outbox_pending_contexts", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++)
		if (cb(stw__pg_col(res, r, 0), ud) != 0)
			break;
	PQclear(res);
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* Dedup                                                                    */

/* The recorded error text is truncated to fit err (cap bytes). */
static int op_dedup_get(struct stw__store *s, const char *context, const char *command_id,
			int *outcome, char *err, size_t cap)
{
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, command_id);
	int rc;
	PGresult *res = stw__pg_run(stw__pg_h(s), STW__PG_DEDUP_GET, &p, "dedup_get", &rc);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return STW_ENOTFOUND;
	}
	if (outcome != NULL)
		*outcome = (int)stw__pg_col_int(res, 0, 0);
	if (err != NULL && cap > 0) {
		const char *e = stw__pg_col(res, 0, 1);
		size_t n = e != NULL ? (size_t)PQgetlength(res, 0, 1) : 0;
		if (n >= cap)
			n = cap - 1;
		if (n > 0)
			memcpy(err, e, n);
		err[n] = '\0';
	}
	PQclear(res);
	return STW_OK;
}

/* STW_EEXIST if recorded already (nothing written). */
static int op_dedup_put(struct stw__store *s, const char *context, const char *command_id,
			int outcome, const char *error, int64_t at)
{
	struct stw__pg *h = stw__pg_h(s);
	if (context == NULL || command_id == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "dedup_put: context and command_id are required");
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, command_id);
	stw__pg_int(&p, outcome);
	stw__pg_text(&p, error);
	stw__pg_int(&p, at);
	long n = 0;
	int rc = stw__pg_change(h, STW__PG_DEDUP_PUT, &p, "dedup_put", &n);
	if (rc == STW_OK && n == 0)
		rc = stw__pg_failf(h, STW_EEXIST, "dedup_put: command %s of %s is recorded already",
				   command_id, context);
	return rc;
}

/* STW_ENOTFOUND when the command was never recorded. */
static int op_dedup_hit(struct stw__store *s, const char *context, const char *command_id)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, command_id);
	long n = 0;
	int rc = stw__pg_change(h, STW__PG_DEDUP_HIT, &p, "dedup_hit", &n);
	if (rc == STW_OK && n == 0)
		rc =
		    stw__pg_failf(h, STW_ENOTFOUND, "dedup_hit: no command %s in %s",
				  command_id ? command_id : "(null)", context ? context : "(null)");
	return rc;
}

/* A command recorded as refused is forgotten; one applied, or not recorded, stays as it is. */
static int op_dedup_forget_refusal(struct stw__store *s, const char *context,
				   const char *command_id)
{
	struct stw__pg *h = stw__pg_h(s);
	if (context == NULL || command_id == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "dedup_forget_refusal: context and command_id are required");
	PARAMS;
	stw__pg_text(&p, context);
	stw__pg_text(&p, command_id);
	return stw__pg_change(h, STW__PG_DEDUP_FORGET_REFUSAL, &p, "dedup_forget_refusal", NULL);
}

static int op_dedup_duplicates(struct stw__store *s, int64_t *count)
{
	return stw__pg_one_int(stw__pg_h(s), STW__PG_DEDUP_DUPLICATES, NULL, "dedup_duplicates",
			       count);
}

void stw__pg_ops_outbox(struct stw__store_ops *o)
{
	o->outbox_insert = op_outbox_insert;
	o->outbox_pending = op_outbox_pending;
	o->outbox_mark = op_outbox_mark;
	o->outbox_for_instance = op_outbox_for_instance;
	o->outbox_pending_count = op_outbox_pending_count;
	o->dedup_get = op_dedup_get;
	o->dedup_put = op_dedup_put;
	o->dedup_hit = op_dedup_hit;
	o->dedup_duplicates = op_dedup_duplicates;
	o->dedup_forget_refusal = op_dedup_forget_refusal;
	o->outbox_pending_contexts = op_outbox_pending_contexts;
	o->outbox_due = op_outbox_due;
	o->outbox_next_due = op_outbox_next_due;
	o->outbox_attempted = op_outbox_attempted;
	o->outbox_get = op_outbox_get;
	o->outbox_by_status = op_outbox_by_status;
}
