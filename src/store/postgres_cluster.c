/*
 * postgres_cluster.c - the PostgreSQL backend in cluster mode: fencing a
 * handle's transactions on the partitions its worker holds, limiting its
 * timers, outbox and cursors to them, and the membership's operations on
 * the leases (the statements and functions are in postgres_sql.c, which
 * says why the fence is sound).
 */
#include "store/postgres_int.h"

#include <steward.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>

/* ------------------------------------------------------------------------ */
/* The handle's copy of its fence                                           */

/* Copies the fence's pairs when they changed since the last copy. */
static void refresh(struct stw__pg *h)
{
	struct stw__fence *f = h->fence;
	struct stw__pg_owned *o = h->owned;
	pthread_mutex_lock(&f->lock);
	if (o->generation == f->generation && o->generation != 0) {
		pthread_mutex_unlock(&f->lock);
		return;
	}
	o->generation = f->generation;
	o->n = f->n;
	memcpy(o->parts, f->parts, sizeof(int) * (size_t)f->n);
	memcpy(o->epochs, f->epochs, sizeof(int64_t) * (size_t)f->n);
	pthread_mutex_unlock(&f->lock);
	memset(o->held, 0, sizeof o->held);
	size_t len = 0, cap = sizeof o->parts_text;
	o->nparts = 0;
	len += (size_t)snprintf(o->parts_text, cap, "{");
	for (int i = 0; i < o->n; i++) {
		o->held[o->parts[i] + 1] = 1;
		if (o->parts[i] < 0)
			continue;
		len += (size_t)snprintf(o->parts_text + len, cap - len, "%s%d",
					o->nparts++ > 0 ? "," : "", o->parts[i]);
	}
	snprintf(o->parts_text + len, cap - len, "}");
}

const char *stw__pg_parts(struct stw__pg *h)
{
	if (!h->open)
		refresh(h);
	return h->owned->parts_text;
}

/* Appends "{a,b,...}" of n integers to buf at *len (cap bytes). */
static void int_array(char *buf, size_t cap, size_t *len, const int *i32, const int64_t *i64, int n)
{
	*len += (size_t)snprintf(buf + *len, cap - *len, "'{");
	for (int i = 0; i < n && *len < cap; i++)
		*len += (size_t)snprintf(buf + *len, cap - *len, "%s%lld", i > 0 ? "," : "",
					 i32 ? (long long)i32[i] : (long long)i64[i]);
	if (*len < cap)
		*len += (size_t)snprintf(buf + *len, cap - *len, "}'");
}

/*
 * BEGIN and stw_fence in one round trip (the owner is a checked id, the
 * arrays numbers: no quoting can go wrong). A refusal rolls back, counts,
 * and asks the membership to look again at once.
 */
static int fenced_begin(struct stw__pg *h)
{
	int rc = stw__pg_ready(h, "begin");
	if (rc != STW_OK)
		return rc;
	refresh(h);
	struct stw__pg_owned *o = h->owned;
	if (o->n == 0)
		return stw__pg_exec(h, "BEGIN", "begin");
	size_t cap = 64 + sizeof h->fence->owner + (size_t)o->n * 28, len = 0;
	char *sql = malloc(cap);
	if (sql == NULL)
		return stw__pg_failf(h, STW_ENOMEM, "begin: out of memory");
	len += (size_t)snprintf(sql, cap, "BEGIN; SELECT stw_fence('%s', ", h->fence->owner);
	int_array(sql, cap, &len, o->parts, NULL, o->n);
	len += (size_t)snprintf(sql + len, cap - len, "::int4[], ");
	int_array(sql, cap, &len, NULL, o->epochs, o->n);
	snprintf(sql + len, cap - len, "::int8[], %s)", h->fence->audit ? "true" : "false");
	PGresult *res = PQexec(h->conn, sql);
	free(sql);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK) {
		rc = stw__pg_fail(h, res, "begin");
	} else if (stw__pg_col_int(res, 0, 0) != o->n) {
		pthread_mutex_lock(&h->fence->lock);
		h->fence->refusals++;
		h->fence->recheck = 1;
		pthread_mutex_unlock(&h->fence->lock);
		rc = stw__pg_failf(h, STW_EBUSY,
				   "begin: fenced: worker %s no longer holds all of its %d leases "
				   "at their epochs (another worker took some over)",
				   h->fence->owner, o->n);
	}
	PQclear(res);
	if (rc != STW_OK && stw__pg_in_txn(h))
		PQclear(PQexec(h->conn, "ROLLBACK"));
	return rc;
}

/*
 * The store's begin(): BEGIN, and for a fenced handle the fence with it
 * (the transaction primitives of postgres_conn.c say how transactions go).
 */
int stw__pg_begin(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	if (h->open || stw__pg_in_txn(h))
		return stw__pg_failf(h, STW_EINVAL, "begin: a transaction is open");
	int rc = h->fence ? fenced_begin(h) : stw__pg_exec(h, "BEGIN", "begin");
	/* A connection found lost by BEGIN had done nothing yet: connect again once. */
	if (rc == STW_EBUSY && h->lost)
		rc = h->fence ? fenced_begin(h) : stw__pg_exec(h, "BEGIN", "begin");
	h->open = rc == STW_OK;
	return rc;
}

int stw__pg_fence_session(struct stw__pg *h)
{
	if (h->fence == NULL)
		return STW_OK;
	char sql[96];
	snprintf(sql, sizeof sql, "SET idle_in_transaction_session_timeout = %lld",
		 (long long)h->fence->lease_ms);
	return stw__pg_exec(h, sql, "fence: session");
}

static int op_set_fence(struct stw__store *s, struct stw__fence *f)
{
	struct stw__pg *h = stw__pg_h(s);
	if (h->open)
		return stw__pg_failf(h, STW_EINVAL, "set_fence: a transaction is open");
	if (f != NULL && h->owned == NULL && (h->owned = calloc(1, sizeof *h->owned)) == NULL)
		return stw__pg_failf(h, STW_ENOMEM, "set_fence: out of memory");
	if (f != NULL && f->partitions != h->partitions)
		return stw__pg_failf(h, STW_EINVAL,
				     "set_fence: the store has %d partitions, the worker %d",
				     h->partitions, f->partitions);
	h->fence = f;
	h->notify_work |= f != NULL;
	if (h->owned != NULL)
		h->owned->generation = 0;
	return f != NULL ? stw__pg_fence_session(h)
			 : stw__pg_exec(h, "SET idle_in_transaction_session_timeout = 0",
					"set_fence: session");
}

static int op_holds(struct stw__store *s, int part)
{
	struct stw__pg *h = stw__pg_h(s);
	if (h->fence == NULL)
		return 1;
	if (part < -1 || part >= STW__MAX_PARTITIONS)
		return 0;
	if (!h->open)
		refresh(h);
	return h->owned->held[part + 1];
}

static int op_cursor_parts(struct stw__store *s, const char *definition, const char *context,
			   int64_t *pos)
{
	struct stw__pg *h = stw__pg_h(s);
	for (int i = 0; i < h->partitions; i++)
		pos[i] = -1;
	if (h->fence == NULL)
		return stw__pg_failf(h, STW_EINVAL, "cursor_parts: the handle is not fenced");
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_text(&p, context);
	stw__pg_text(&p, stw__pg_parts(h));
	stw__pg_text(&p, h->fence->owner);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_PART_CURSORS, &p, "cursor_parts", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t part = stw__pg_col_int(res, r, 0);
		if (part >= 0 && part < h->partitions)
			pos[part] = stw__pg_col_int(res, r, 1);
	}
	PQclear(res);
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* The membership                                                           */

/* "{...}" of n integers, malloc'd (free it); NULL when out of memory. */
static char *array_text(const int *i32, const int64_t *i64, int n)
{
	size_t cap = 8 + (size_t)n * 21, len = 0;
	char *t = malloc(cap);
	if (t == NULL)
		return NULL;
	int_array(t, cap, &len, i32, i64, n);
	/* int_array quotes for SQL text; a parameter takes it bare. */
	memmove(t, t + 1, len - 2);
	t[len - 2] = '\0';
	return t;
}

static int op_lease_join(struct stw__store *s, const struct stw__worker_row *w, int want,
			 int *partitions)
{
	struct stw__pg *h = stw__pg_h(s);
	int rc = stw__pg_exec(h, "BEGIN", "lease_join");
	if (rc != STW_OK)
		return rc;
	/* The partition count changes under the schema's lock, before any lease was granted. */
	if (want > 0 && want != h->partitions) {
		int64_t granted = 0;
		PGresult *res = NULL;
		rc = stw__pg_exec(h, "SELECT pg_advisory_xact_lock(7715873612)", "lease_join");
		if (rc == STW_OK) {
			res = PQexec(h->conn, "SELECT max(epoch) FROM stw_leases");
			if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
				rc = stw__pg_fail(h, res, "lease_join");
			else
				granted = stw__pg_col_int(res, 0, 0);
			PQclear(res);
		}
		if (rc == STW_OK && granted > 0)
			rc = stw__pg_failf(h, STW_EINVAL,
					   "the store has %d partitions, fixed since a worker took "
					   "a lease; partitions = %d cannot apply",
					   h->partitions, want);
		if (rc == STW_OK) {
			char sql[1024];
			snprintf(sql, sizeof sql,
				 "UPDATE stw_meta SET value = '%d' WHERE key = 'partitions';"
				 " DELETE FROM stw_leases;"
				 " INSERT INTO stw_leases(part) SELECT generate_series(-1, %d);"
				 " UPDATE stw_instances SET part = stw_partition(id, %d);"
				 " UPDATE stw_timers SET part = stw_partition(instance_id, %d);"
				 " UPDATE stw_outbox SET part = stw_partition(coalesce(instance_id,"
				 " correlation_id, command_id), %d)",
				 want, want - 1, want, want, want);
			rc = stw__pg_exec(h, sql, "lease_join: partitions");
		}
		if (rc == STW_OK)
			h->partitions = want;
	}
	PARAMS;
	stw__pg_text(&p, w->id);
	stw__pg_text(&p, w->host);
	stw__pg_int(&p, w->pid);
	stw__pg_text(&p, w->address);
	stw__pg_int(&p, w->lease_ms);
	if (rc == STW_OK)
		rc = stw__pg_change(h, STW__PG_LEASE_JOIN, &p, "lease_join", NULL);
	if (rc == STW_OK)
		rc = stw__pg_exec(h, "COMMIT", "lease_join");
	if (rc != STW_OK && stw__pg_in_txn(h))
		PQclear(PQexec(h->conn, "ROLLBACK"));
	*partitions = h->partitions;
	return rc;
}

static int op_lease_heartbeat(struct stw__store *s, const char *id, const char *address)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, id);
	stw__pg_text(&p, address);
	long n = 0;
	int rc = stw__pg_change(h, STW__PG_LEASE_HEARTBEAT, &p, "lease_heartbeat", &n);
	if (rc == STW_OK && n == 0)
		rc = stw__pg_failf(h, STW_ENOTFOUND, "lease_heartbeat: worker %s is not registered",
				   id);
	return rc;
}

/* Runs a statement that returns pairs (part, epoch) into out_*. */
static int pairs(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		 const char *op, int *out_parts, int64_t *out_epochs, int *nout)
{
	int rc;
	*nout = 0;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res) && r <= STW__MAX_PARTITIONS; r++) {
		out_parts[*nout] = (int)stw__pg_col_int(res, r, 0);
		out_epochs[(*nout)++] = stw__pg_col_int(res, r, 1);
	}
	PQclear(res);
	return STW_OK;
}

static int op_lease_renew(struct stw__store *s, const char *id, int64_t lease_ms, const int *parts,
			  const int64_t *epochs, int n, int *out_parts, int64_t *out_epochs,
			  int *nout)
{
	struct stw__pg *h = stw__pg_h(s);
	*nout = 0;
	if (n == 0)
		return STW_OK;
	char *pt = array_text(parts, NULL, n), *et = array_text(NULL, epochs, n);
	int rc = STW_ENOMEM;
	if (pt != NULL && et != NULL) {
		PARAMS;
		stw__pg_text(&p, id);
		stw__pg_int(&p, lease_ms);
		stw__pg_text(&p, pt);
		stw__pg_text(&p, et);
		rc = pairs(h, STW__PG_LEASE_RENEW, &p, "lease_renew", out_parts, out_epochs, nout);
	}
	free(pt);
	free(et);
	return rc == STW_ENOMEM ? stw__pg_failf(h, rc, "lease_renew: out of memory") : rc;
}

static int op_lease_look(struct stw__store *s, int64_t live_ms,
			 int (*worker)(const struct stw__worker_row *w, void *ud),
			 int (*lease)(const struct stw__lease_row *l, void *ud), void *ud)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_int(&p, live_ms);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_LEASE_WORKERS, &p, "lease_look", &rc);
	if (res == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *live = stw__pg_col(res, r, 1);
		struct stw__worker_row w = { .id = stw__pg_col(res, r, 0),
					     .live = live != NULL && live[0] == 't' };
		if (worker(&w, ud) != 0)
			break;
	}
	PQclear(res);
	struct stw__pg_params none = { .n = 0 };
	if ((res = stw__pg_run(h, STW__PG_LEASE_ALL, &none, "lease_look", &rc)) == NULL)
		return rc;
	for (int r = 0; r < PQntuples(res); r++) {
		const char *taken = stw__pg_col(res, r, 3);
		struct stw__lease_row l = {
			.part = (int)stw__pg_col_int(res, r, 0),
			.owner = stw__pg_col(res, r, 1),
			.epoch = stw__pg_col_int(res, r, 2),
			.taken = taken != NULL && taken[0] == 't',
			.expires_in_ms = stw__pg_col_int(res, r, 4),
		};
		if (lease(&l, ud) != 0)
			break;
	}
	PQclear(res);
	return STW_OK;
}

static int op_lease_acquire(struct stw__store *s, const char *id, int64_t lease_ms, const int *want,
			    int n, int *out_parts, int64_t *out_epochs, int *nout)
{
	struct stw__pg *h = stw__pg_h(s);
	*nout = 0;
	if (n == 0)
		return STW_OK;
	char *wt = array_text(want, NULL, n);
	if (wt == NULL)
		return stw__pg_failf(h, STW_ENOMEM, "lease_acquire: out of memory");
	PARAMS;
	stw__pg_text(&p, id);
	stw__pg_text(&p, wt);
	stw__pg_int(&p, lease_ms);
	int rc = pairs(h, STW__PG_LEASE_ACQUIRE, &p, "lease_acquire", out_parts, out_epochs, nout);
	free(wt);
	return rc;
}

static int op_lease_release(struct stw__store *s, const char *id, const int *parts, int n)
{
	struct stw__pg *h = stw__pg_h(s);
	if (n == 0)
		return STW_OK;
	char *pt = array_text(parts, NULL, n);
	if (pt == NULL)
		return stw__pg_failf(h, STW_ENOMEM, "lease_release: out of memory");
	PARAMS;
	stw__pg_text(&p, id);
	stw__pg_text(&p, pt);
	int rc = stw__pg_change(h, STW__PG_LEASE_RELEASE, &p, "lease_release", NULL);
	free(pt);
	return rc;
}

static int op_lease_leave(struct stw__store *s, const char *id)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, id);
	return stw__pg_change(h, STW__PG_LEASE_LEAVE, &p, "lease_leave", NULL);
}

static int op_lease_notify(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_text(&p, "");
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_LEASE_NOTIFY, &p, "lease_notify", &rc);
	PQclear(res);
	return rc;
}

/* Drains the notifications received: 1 for stw_cluster, 2 for stw_work, or'ed. */
static int drain(struct stw__pg *h)
{
	int got = 0;
	PGnotify *n;
	while ((n = PQnotifies(h->conn)) != NULL) {
		got |= strcmp(n->relname, "stw_work") == 0 ? 2 : 1;
		PQfreemem(n);
	}
	return got;
}

static int op_lease_wait(struct stw__store *s, int64_t timeout_ms)
{
	struct stw__pg *h = stw__pg_h(s);
	int rc = stw__pg_ready(h, "lease_wait");
	if (rc != STW_OK)
		return rc;
	if (!h->listening) {
		if ((rc = stw__pg_exec(h, "LISTEN stw_cluster; LISTEN stw_work", "lease_wait")) !=
		    STW_OK)
			return rc;
		h->listening = 1;
	}
	if (drain(h))
		return 1;
	int fd = PQsocket(h->conn);
	if (fd < 0)
		return stw__pg_failf(h, STW_EBUSY, "lease_wait: no connection");
	fd_set in;
	FD_ZERO(&in);
	FD_SET(fd, &in);
	struct timeval tv = { .tv_sec = (time_t)(timeout_ms / 1000),
			      .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
	int ready = select(fd + 1, &in, NULL, NULL, &tv);
	if (ready < 0)
		return errno == EINTR ? 0
				      : stw__pg_failf(h, STW_ESTORE, "lease_wait: select failed");
	if (ready == 0)
		return 0;
	if (!PQconsumeInput(h->conn))
		return stw__pg_fail(h, NULL, "lease_wait");
	return drain(h);
}

static int op_lease_forget(struct stw__store *s, int64_t after_ms)
{
	struct stw__pg *h = stw__pg_h(s);
	PARAMS;
	stw__pg_int(&p, after_ms);
	return stw__pg_change(h, STW__PG_LEASE_FORGET, &p, "lease_forget", NULL);
}

void stw__pg_ops_cluster(struct stw__store_ops *o)
{
	o->set_fence = op_set_fence;
	o->holds = op_holds;
	o->cursor_parts = op_cursor_parts;
	o->lease_join = op_lease_join;
	o->lease_heartbeat = op_lease_heartbeat;
	o->lease_renew = op_lease_renew;
	o->lease_look = op_lease_look;
	o->lease_acquire = op_lease_acquire;
	o->lease_release = op_lease_release;
	o->lease_leave = op_lease_leave;
	o->lease_notify = op_lease_notify;
	o->lease_wait = op_lease_wait;
	o->lease_forget = op_lease_forget;
}
