/*
 * postgres_conn.c - the PostgreSQL handle: its errors, running prepared
 * statements and reading their results, the transaction primitives, and
 * closing.
 */
#include "store/postgres_int.h"

#include <steward.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void stw__pg_text(struct stw__pg_params *p, const char *v)
{
	if (p->n < STW__PG_MAX_PARAMS)
		p->v[p->n++] = v;
}

void stw__pg_int(struct stw__pg_params *p, int64_t v)
{
	if (p->n >= STW__PG_MAX_PARAMS)
		return;
	snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)v);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

void stw__pg_limit(struct stw__pg_params *p, int64_t v)
{
	if (v > 0)
		stw__pg_int(p, v);
	else
		stw__pg_text(p, NULL); /* LIMIT NULL: no limit */
}

int stw__pg_failf(struct stw__pg *h, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(h->err, sizeof h->err, fmt, ap);
	va_end(ap);
	return code;
}

/*
 * The STW_E* code of an SQLSTATE. Conflicts the engine expects never come
 * here (they are row counts); what does is a failed transaction: a
 * deadlock, a serialization failure, a lock or a key taken by a
 * concurrent transaction while this one waited, or a lock time-out, all
 * worth trying again (STW_EBUSY), or a broken store.
 */
static int code_of(const char *state)
{
	static const struct {
		const char *state; /* a whole SQLSTATE, or a class of two characters */
		int code;
	} map[] = {
		{ "40001", STW_EBUSY },  /* serialization_failure */
		{ "40P01", STW_EBUSY },  /* deadlock_detected */
		{ "55P03", STW_EBUSY },  /* lock_not_available (lock_timeout) */
		{ "57014", STW_EBUSY },  /* query_canceled (statement_timeout) */
		{ "23505", STW_EBUSY },  /* unique_violation: only by a concurrent writer */
		{ "53200", STW_ENOMEM }, /* out_of_memory */
		{ "22", STW_EINVAL },    /* data exception: a value the column cannot take */
		{ "23", STW_EINVAL },    /* other integrity violations: a missing value */
		{ "54", STW_EINVAL },    /* program limit exceeded: a value too large */
		{ "25006", STW_ESTORE }, /* read_only_sql_transaction */
	};
	if (state == NULL)
		return STW_ESTORE;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strncmp(state, map[i].state, strlen(map[i].state)) == 0)
			return map[i].code;
	return STW_ESTORE;
}

/* The first wait after a failed attempt to connect again, and the longest. */
#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000

static int64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Records in the health that the connection is found lost, with libpq's reason. */
static void mark_lost(struct stw__pg *h)
{
	struct stw__store_health *hl = &h->base.health;
	const char *msg = PQerrorMessage(h->conn);
	if (hl->down_since_ms == 0) {
		hl->down_since_ms = mono_ms();
		hl->losses++;
	}
	h->set_up = 0;
	h->lost = 1;
	if (msg != NULL && *msg != '\0')
		snprintf(hl->why, sizeof hl->why, "%.*s", (int)strcspn(msg, "\n"), msg);
}

/*
 * Connects again after a loss: libpq's PQreset with the parameters of the
 * first connection, then the session and the statements (h->setup). A
 * failure waits out a backoff that doubles up to BACKOFF_MAX_MS before the
 * next attempt; in between, operations fail at once.
 */
static int reconnect(struct stw__pg *h, const char *op)
{
	struct stw__store_health *hl = &h->base.health;
	int64_t now = mono_ms();
	if (now < h->retry_at_ms)
		return stw__pg_failf(h, STW_EBUSY,
				     "%s: PostgreSQL is unreachable: %s (next attempt in %lld ms)",
				     op, hl->why, (long long)(h->retry_at_ms - now));
	if (h->lost || PQstatus(h->conn) != CONNECTION_OK) {
		PQreset(h->conn);
		h->lost = PQstatus(h->conn) != CONNECTION_OK;
		if (h->lost)
			mark_lost(h);
	}
	int rc = STW_EBUSY;
	if (PQstatus(h->conn) == CONNECTION_OK) {
		h->set_up = 1; /* for the statements of the setup itself */
		rc = h->setup(h);
		if (rc != STW_OK)
			h->set_up = 0;
	}
	if (rc == STW_OK) {
		h->backoff_ms = 0;
		h->retry_at_ms = 0;
		if (hl->down_since_ms != 0)
			hl->reconnects++;
		hl->down_since_ms = 0;
		return STW_OK;
	}
	if (PQstatus(h->conn) == CONNECTION_OK) /* set up failed: keep its message */
		snprintf(hl->why, sizeof hl->why, "%.255s", h->err);
	if (hl->down_since_ms == 0) {
		hl->down_since_ms = now;
		hl->losses++;
	}
	h->backoff_ms = h->backoff_ms == 0 ? BACKOFF_FIRST_MS : h->backoff_ms * 2;
	if (h->backoff_ms > BACKOFF_MAX_MS)
		h->backoff_ms = BACKOFF_MAX_MS;
	h->retry_at_ms = mono_ms() + h->backoff_ms;
	return stw__pg_failf(h, STW_EBUSY,
			     "%s: PostgreSQL is unreachable: %s (next attempt in %lld ms)", op,
			     hl->why, (long long)h->backoff_ms);
}

int stw__pg_ready(struct stw__pg *h, const char *op)
{
	if (h->set_up && !h->lost && PQstatus(h->conn) == CONNECTION_OK)
		return STW_OK;
	if (h->open)
		return stw__pg_failf(h, STW_EBUSY,
				     "%s: the connection to PostgreSQL was lost in a transaction, "
				     "which the server rolled back: roll it back and try again",
				     op);
	return reconnect(h, op);
}

/*
 * Whether a failed statement's result says the connection is gone: libpq
 * marks it bad, or the server's last words were a shutdown (57P01-57P03) or
 * a connection exception (class 08), or libpq failed the statement itself
 * (no SQLSTATE: it could not send it or read its answer).
 */
static int conn_gone(const struct stw__pg *h, const PGresult *res)
{
	if (PQstatus(h->conn) != CONNECTION_OK)
		return 1;
	if (res == NULL)
		return 0; /* out of memory */
	const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state == NULL || strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
	       strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

int stw__pg_fail(struct stw__pg *h, const PGresult *res, const char *op)
{
	if (conn_gone(h, res)) {
		/* Nothing of an open transaction stays; a commit is told apart by the caller. */
		mark_lost(h);
		return stw__pg_failf(h, STW_EBUSY, "%s: the connection to PostgreSQL was lost: %s",
				     op, h->base.health.why);
	}
	const char *msg = res != NULL ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	if (msg == NULL)
		msg = PQerrorMessage(h->conn);
	if (msg == NULL || *msg == '\0')
		msg = "out of memory";
	const char *state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int code = res == NULL ? STW_ENOMEM : code_of(state);
	/* libpq's own messages end with a newline. */
	int len = (int)strcspn(msg, "\n");
	snprintf(h->err, sizeof h->err, "%s: %.*s%s%s%s", op, len, msg, state ? " (" : "",
		 state ? state : "", state ? ")" : "");
	return code;
}

/* The prepared name of statement id: "stw_<id>". */
static void name_of(enum stw__pg_sid id, char *buf, size_t cap)
{
	snprintf(buf, cap, "stw_%d", (int)id);
}

PGresult *stw__pg_run_named(struct stw__pg *h, const char *name, const struct stw__pg_params *p,
			    const char *op, int *rc)
{
	if ((*rc = stw__pg_ready(h, op)) != STW_OK)
		return NULL;
	PGresult *res = PQexecPrepared(h->conn, name, p != NULL ? p->n : 0, p != NULL ? p->v : NULL,
				       NULL, NULL, 0);
	ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		*rc = STW_OK;
		return res;
	}
	*rc = stw__pg_fail(h, res, op);
	PQclear(res);
	return NULL;
}

PGresult *stw__pg_run(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		      const char *op, int *rc)
{
	char name[16];
	name_of(id, name, sizeof name);
	return stw__pg_run_named(h, name, p, op, rc);
}

PGresult *stw__pg_lock_row(struct stw__pg *h, enum stw__pg_sid lock, enum stw__pg_sid create,
			   const struct stw__pg_params *p, const char *op, int *rc)
{
	PGresult *res = stw__pg_run(h, lock, p, op, rc);
	if (res == NULL || PQntuples(res) > 0)
		return res;
	PQclear(res);
	if ((*rc = stw__pg_change(h, create, p, op, NULL)) != STW_OK)
		return NULL;
	return stw__pg_run(h, lock, p, op, rc);
}

int stw__pg_change(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		   const char *op, long *changed)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	if (changed != NULL)
		*changed = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return STW_OK;
}

int stw__pg_exec(struct stw__pg *h, const char *sql, const char *op)
{
	int rc = stw__pg_ready(h, op);
	if (rc != STW_OK)
		return rc;
	PGresult *res = PQexec(h->conn, sql);
	ExecStatusType st = res != NULL ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? STW_OK : stw__pg_fail(h, res, op);
	PQclear(res);
	return rc;
}

const char *stw__pg_col(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NULL : PQgetvalue(res, r, c);
}

int64_t stw__pg_col_int(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? 0 : (int64_t)strtoll(PQgetvalue(res, r, c), NULL, 10);
}

int stw__pg_one_int(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		    const char *op, int64_t *out)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	if (out != NULL)
		*out = PQntuples(res) > 0 ? stw__pg_col_int(res, 0, 0) : 0;
	PQclear(res);
	return STW_OK;
}

int stw__pg_min(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		const char *op, int64_t *out)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ? STW_OK : STW_ENOTFOUND;
	if (rc == STW_OK)
		*out = stw__pg_col_int(res, 0, 0);
	PQclear(res);
	return rc;
}

int stw__pg_exists(struct stw__pg *h, enum stw__pg_sid id, const struct stw__pg_params *p,
		   const char *op)
{
	int rc;
	PGresult *res = stw__pg_run(h, id, p, op, &rc);
	if (res == NULL)
		return rc;
	rc = PQntuples(res) > 0 ? STW_OK : STW_ENOTFOUND;
	PQclear(res);
	return rc;
}

int stw__pg_in_txn(const struct stw__pg *h)
{
	PGTransactionStatusType t = PQtransactionStatus(h->conn);
	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

/* ------------------------------------------------------------------------ */
/* Transactions                                                             */

/*
 * The transaction primitives; the engine builds its nesting on them
 * (src/core/txn.c). Transactions are READ COMMITTED (set for the session at
 * open): each statement reads what was committed when it started, and what
 * must not change under a transaction is locked by the statements that
 * read it (see store.h).
 */

/*
 * PostgreSQL ends the transaction whatever COMMIT does: a transaction that
 * failed earlier is rolled back by it (its tag says ROLLBACK), so that is
 * refused here and left to the caller's rollback; a COMMIT that fails
 * leaves no transaction open, so rollback() is then a no-op.
 */
int stw__pg_commit(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	PGTransactionStatusType t = PQtransactionStatus(h->conn);
	if (t == PQTRANS_IDLE)
		return stw__pg_failf(h, STW_ESTORE, "commit: no transaction is open (rolled back)");
	if (t == PQTRANS_INERROR)
		return stw__pg_failf(h, STW_ESTORE,
				     "commit: a statement of the transaction failed: roll it back");
	if (t == PQTRANS_UNKNOWN) /* lost before: the server rolled it back */
		return stw__pg_ready(h, "commit");
	PGresult *res = PQexec(h->conn, h->notify_work && h->wrote_work
					    ? "SELECT pg_notify('stw_work', ''); COMMIT"
					    : "COMMIT");
	int rc = STW_OK;
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = stw__pg_fail(h, res, "commit");
	else if (strcmp(PQcmdStatus(res), "COMMIT") != 0)
		rc = stw__pg_failf(h, STW_ESTORE, "commit: the transaction was rolled back");
	PQclear(res);
	if (rc != STW_OK && h->lost)
		/* The COMMIT may have reached the server before the connection went. */
		rc =
		    stw__pg_failf(h, STW_ESTORE,
				  "commit: the connection to PostgreSQL was lost while committing, "
				  "so the transaction may or may not have committed: %s",
				  h->base.health.why);
	if (rc == STW_OK || !stw__pg_in_txn(h)) {
		if (rc != STW_OK)
			h->undos++;
		h->open = 0;
		h->wrote_work = 0;
	}
	return rc;
}

/* A no-op when no transaction is open (a failed COMMIT ended it). */
int stw__pg_rollback(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	int was_open = h->open;
	h->open = 0;
	h->wrote_work = 0;
	if (!stw__pg_in_txn(h)) {
		if (was_open) /* lost with its connection: the server undid it */
			h->undos++;
		return STW_OK;
	}
	h->undos++;
	return stw__pg_exec(h, "ROLLBACK", "rollback");
}

/* Runs a savepoint statement inside the open transaction; `code` and "op: why" outside one. */
static int in_txn(struct stw__pg *h, const char *sql, const char *op, int code, const char *why)
{
	if (!stw__pg_in_txn(h))
		return stw__pg_failf(h, code, "%s: %s", op, why);
	return stw__pg_exec(h, sql, op);
}

/*
 * Savepoints share one name: PostgreSQL, like SQLite, hides an older
 * savepoint behind a newer one of the same name, so the levels stack.
 */
int stw__pg_savepoint(struct stw__store *s)
{
	return in_txn(stw__pg_h(s), "SAVEPOINT stw_sp", "savepoint", STW_EINVAL,
		      "no transaction is open");
}

int stw__pg_release(struct stw__store *s)
{
	return in_txn(stw__pg_h(s), "RELEASE SAVEPOINT stw_sp", "release", STW_ESTORE,
		      "the transaction was rolled back");
}

/* Undoes the level and releases it; a transaction that failed inside it works again. */
int stw__pg_rollback_to(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	if (!stw__pg_in_txn(h))
		return stw__pg_failf(h, STW_ESTORE, "rollback_to: the transaction was rolled back");
	h->undos++;
	return stw__pg_exec(h, "ROLLBACK TO SAVEPOINT stw_sp; RELEASE SAVEPOINT stw_sp",
			    "rollback_to");
}

/*
 * A transaction whose connection was lost counts as open until it is
 * rolled back, so that the caller undoes its levels rather than write on
 * a new connection as if nothing had happened.
 */
int stw__pg_in_transaction(struct stw__store *s)
{
	struct stw__pg *h = stw__pg_h(s);
	return h->open || stw__pg_in_txn(h);
}

uint64_t stw__pg_undos(struct stw__store *s)
{
	return stw__pg_h(s)->undos;
}

const char *stw__pg_errmsg(struct stw__store *s)
{
	return stw__pg_h(s)->err;
}

/* Closes the connection (its prepared statements go with it). Accepts NULL. */
void stw__pg_close(struct stw__store *s)
{
	if (s == NULL)
		return;
	struct stw__pg *h = stw__pg_h(s);
	PQfinish(h->conn);
	free(h->owned);
	free(h);
}
