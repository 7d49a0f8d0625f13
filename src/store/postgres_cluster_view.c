/*
 * postgres_cluster_view.c - the cluster as any handle of the PostgreSQL
 * backend reads it (cluster_view, store.h): the workers, the leases with
 * their partitions' work, the newest grants, in three statements
 * (postgres_sql.c). Reads are not partitioned: a fenced handle reads it
 * whole, as an unfenced one does.
 */
#include "store/postgres_int.h"

#include <steward.h>

/* Column c of row r: 1 when it is true. */
static int col_bool(const PGresult *res, int r, int c)
{
	const char *v = stw__pg_col(res, r, c);
	return v != NULL && v[0] == 't';
}

/* Hands row r of a result to the sink; non-zero stops. */
typedef int (*row_fn)(const PGresult *res, int r, const struct stw__cluster_sink *sink);

static int worker_row(const PGresult *res, int r, const struct stw__cluster_sink *sink)
{
	struct stw__view_worker w = {
		.id = stw__pg_col(res, r, 0),
		.host = stw__pg_col(res, r, 1),
		.pid = (int)stw__pg_col_int(res, r, 2),
		.address = stw__pg_col(res, r, 3),
		.started_at = stw__pg_col_int(res, r, 4),
		.heartbeat_at = stw__pg_col_int(res, r, 5),
		.heartbeat_age_ms = stw__pg_col_int(res, r, 6),
		.lease_ms = stw__pg_col_int(res, r, 7),
		.live = col_bool(res, r, 8),
	};
	return sink->worker(&w, sink->ud);
}

static int part_row(const PGresult *res, int r, const struct stw__cluster_sink *sink)
{
	struct stw__view_part p = {
		.part = (int)stw__pg_col_int(res, r, 0),
		.owner = stw__pg_col(res, r, 1),
		.epoch = stw__pg_col_int(res, r, 2),
		.held = col_bool(res, r, 3),
		.expires = stw__pg_col(res, r, 4) != NULL,
		.expires_in_ms = stw__pg_col_int(res, r, 4),
		.cursor_lag = stw__pg_col_int(res, r, 5),
		.timers = stw__pg_col_int(res, r, 6),
		.commands = stw__pg_col_int(res, r, 7),
		.now = stw__pg_col_int(res, r, 8),
	};
	return sink->part(&p, sink->ud);
}

static int grant_row(const PGresult *res, int r, const struct stw__cluster_sink *sink)
{
	struct stw__view_grant g = {
		.part = (int)stw__pg_col_int(res, r, 0),
		.epoch = stw__pg_col_int(res, r, 1),
		.owner = stw__pg_col(res, r, 2),
		.prev_owner = stw__pg_col(res, r, 3),
		.how = stw__pg_col(res, r, 4),
		.at = stw__pg_col_int(res, r, 5),
	};
	return sink->grant(&g, sink->ud);
}

/* Runs a statement of the view and hands each of its rows to the sink. */
static int rows(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p, row_fn one,
		const struct stw__cluster_sink *sink)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, "cluster_view", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res) && one(res, r, sink) == 0; r++)
		;
	PQclear(res);
	return STW_OK;
}

static int op_cluster_view(struct stw__store *s, int grants, const struct stw__cluster_sink *sink)
{
	struct stw__pg *h = stw__pg_h(s);
	struct stw__pg_params none = { .n = 0 };
	PARAMS;
	stw__pg_int(&p, grants);
	int rc = rows(h, STW__PG_VIEW_WORKERS, &none, worker_row, sink);
	if (rc == STW_OK)
		rc = rows(h, STW__PG_VIEW_PARTS, &none, part_row, sink);
	if (rc == STW_OK)
		rc = rows(h, STW__PG_VIEW_GRANTS, &p, grant_row, sink);
	return rc;
}

void stw__pg_ops_cluster_view(struct stw__store_ops *o)
{
	o->cluster_view = op_cluster_view;
}
