/*
 * postgres.c - opening a PostgreSQL store: the connection and its session
 * settings, the schema (created, checked or migrated in one transaction),
 * the prepared statements, and the table of operations (postgres_int.h
 * lists the backend's files).
 *
 * Thread safety: a handle is one connection, used by one thread at a time;
 * any number of handles, in threads or processes, may share a database.
 */
#include "store/postgres.h"
#include "store/postgres_int.h"

#include <steward.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The session: READ COMMITTED (each statement sees what was committed when
 * it started; what must not change under a transaction is locked, see
 * store.h), a wait for a lock of at most 5 s (then STW_EBUSY, as SQLite's
 * busy time-out), UTF-8, and no notices.
 */
static const char session_sql[] =
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED;"
    "SET lock_timeout = '5s'; SET client_encoding = 'UTF8';"
    "SET client_min_messages = warning";

/* Any number, the same for every opener: serialises the creation of a schema. */
#define STW__PG_SCHEMA_LOCK "SELECT pg_advisory_xact_lock(7715873612)"

/* The library never prints: PostgreSQL's notices are dropped. */
static void quiet(void *ud, const char *message)
{
	(void)ud;
	(void)message;
}

/* Runs a query of one text value: STW_OK with it copied into out (cap bytes; "" for NULL). */
static int one_text(struct stw__pg *h, const char *sql, const char *op, char *out, size_t cap)
{
	PGresult *res = PQexec(h->conn, sql);
	int rc = STW_OK;
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
		rc = stw__pg_fail(h, res, op);
	else if (PQntuples(res) == 0 || PQgetisnull(res, 0, 0))
		out[0] = '\0';
	else
		snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

/* Checks the schema version of an existing store and migrates an older one in place. */
static int schema_check(struct stw__pg *h)
{
	char text[32];
	int rc = one_text(h, "SELECT value FROM stw_meta WHERE key = 'schema_version'",
			  "open: schema", text, sizeof text);
	if (rc != STW_OK)
		return rc;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || v < 1)
		return stw__pg_failf(h, STW_ESTORE, "open: unreadable schema_version '%s'", text);
	if (v > STW__PG_SCHEMA_VERSION)
		return stw__pg_failf(h, STW_ESTORE,
				     "open: the store has schema version %lld, newer than the %d "
				     "this build supports; upgrade steward",
				     v, STW__PG_SCHEMA_VERSION);
	if (v < STW__PG_SCHEMA_VERSION && h->read_only)
		return stw__pg_failf(h, STW_ESTORE,
				     "open: the store has schema version %lld; open it once "
				     "read-write to upgrade it",
				     v);
	for (; v < STW__PG_SCHEMA_VERSION && rc == STW_OK; v++)
		for (int i = 0; rc == STW_OK && stw__pg_migrations[v - 1][i] != NULL; i++)
			rc = stw__pg_exec(h, stw__pg_migrations[v - 1][i],
					  "open: migrate the schema");
	return rc;
}

/*
 * Creates the schema in a new store or checks (and migrates) an existing
 * one, in one transaction; concurrent openers take an advisory lock first,
 * so the schema is created once.
 */
static int schema_init(struct stw__pg *h)
{
	int rc = stw__pg_exec(h, "BEGIN", "open: begin");
	if (rc != STW_OK)
		return rc;
	if (!h->read_only)
		rc = stw__pg_exec(h, STW__PG_SCHEMA_LOCK, "open: schema lock");
	char found[8] = "";
	if (rc == STW_OK)
		rc = one_text(h, "SELECT to_regclass('stw_meta') IS NOT NULL", "open: schema",
			      found, sizeof found);
	if (rc == STW_OK && strcmp(found, "t") == 0)
		rc = schema_check(h);
	else if (rc == STW_OK && h->read_only)
		rc = stw__pg_failf(h, STW_ENOTFOUND, "open: not a steward store (no schema)");
	/* A new store: every table in this transaction. */
	for (int i = 0; rc == STW_OK && strcmp(found, "f") == 0 && stw__pg_schema[i] != NULL; i++)
		rc = stw__pg_exec(h, stw__pg_schema[i], "open: create the schema");
	if (rc == STW_OK)
		rc = stw__pg_exec(h, "COMMIT", "open: commit");
	if (rc != STW_OK && stw__pg_in_txn(h))
		PQclear(PQexec(h->conn, "ROLLBACK"));
	return rc;
}

/* Prepares every statement of stw__pg_sql[] under the name stw__pg_run gives it. */
static int prepare_all(struct stw__pg *h)
{
	for (int i = 0; i < STW__PG_NSTMT; i++) {
		char name[16];
		snprintf(name, sizeof name, "stw_%d", i);
		PGresult *res = PQprepare(h->conn, name, stw__pg_sql[i], 0, NULL);
		int rc = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK
			     ? STW_OK
			     : stw__pg_fail(h, res, "open: prepare");
		PQclear(res);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

/* The settings of a new connection's session. */
static int session(struct stw__pg *h)
{
	int rc = stw__pg_exec(h, session_sql, "open: session");
	if (rc == STW_OK && h->read_only)
		rc = stw__pg_exec(h, "SET default_transaction_read_only = on", "open: session");
	return rc;
}

/* A connection made again after a loss (postgres_conn.c): its session and statements. */
static int setup_again(struct stw__pg *h)
{
	h->list_ready = 0;
	h->listening = 0;
	int rc = session(h);
	if (rc == STW_OK)
		rc = stw__pg_fence_session(h);
	return rc == STW_OK ? prepare_all(h) : rc;
}

/*
 * Connects and sets the session up; the first line of libpq's message on
 * failure. Unless the URL says otherwise, a connection attempt gives up
 * after 10 s and TCP keepalives find a dead peer within about 30 s (a
 * server that vanished without closing its connections), so that a lost
 * server shows as an error, never as a wait without end.
 */
static int connect_to(struct stw__pg *h, const char *url)
{
	/* expand_dbname: the URI is parsed as a whole connection string, and
	 * its parameters override the defaults listed before it. */
	const char *const keys[] = { "connect_timeout",
				     "keepalives_idle",
				     "keepalives_interval",
				     "keepalives_count",
				     "dbname",
				     "fallback_application_name",
				     NULL };
	const char *const values[] = { "10", "15", "5", "3", url, "steward", NULL };
	h->conn = PQconnectdbParams(keys, values, 1);
	if (h->conn == NULL)
		return stw__pg_failf(h, STW_ENOMEM, "open: out of memory");
	if (PQstatus(h->conn) != CONNECTION_OK) {
		const char *msg = PQerrorMessage(h->conn);
		return stw__pg_failf(h, STW_ESTORE, "open: cannot connect: %.*s",
				     (int)strcspn(msg, "\n"), msg);
	}
	PQsetNoticeProcessor(h->conn, quiet, NULL);
	h->set_up = 1;
	return session(h);
}

int stw__postgres_open(const char *url, int read_only, struct stw__store **out, char *errbuf,
		       size_t errcap)
{
	if (out != NULL)
		*out = NULL;
	if (url == NULL || out == NULL) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: url and out are required");
		return STW_EINVAL;
	}
	struct stw__pg *h = calloc(1, sizeof *h);
	if (h == NULL) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: out of memory");
		return STW_ENOMEM;
	}
	h->ops.close = stw__pg_close;
	h->ops.errmsg = stw__pg_errmsg;
	h->ops.begin = stw__pg_begin;
	h->ops.commit = stw__pg_commit;
	h->ops.rollback = stw__pg_rollback;
	h->ops.savepoint = stw__pg_savepoint;
	h->ops.release = stw__pg_release;
	h->ops.rollback_to = stw__pg_rollback_to;
	h->ops.in_transaction = stw__pg_in_transaction;
	h->ops.undos = stw__pg_undos;
	h->ops.foreign_commits = NULL; /* PostgreSQL has no such number */
	stw__pg_ops_events(&h->ops);
	stw__pg_ops_instances(&h->ops);
	stw__pg_ops_outbox(&h->ops);
	stw__pg_ops_timers(&h->ops);
	stw__pg_ops_retention(&h->ops);
	stw__pg_ops_cluster(&h->ops);
	stw__pg_ops_cluster_view(&h->ops);
	h->base.ops = &h->ops;
	h->base.caps = 0;
	h->base.max_savepoints = STW__PG_MAX_SAVEPOINTS;
	h->read_only = read_only != 0;
	h->setup = setup_again;

	int rc = connect_to(h, url);
	if (rc == STW_OK)
		rc = schema_init(h);
	if (rc == STW_OK)
		rc = prepare_all(h);
	int64_t parts = 0;
	struct stw__pg_params none = { .n = 0 };
	if (rc == STW_OK &&
	    (rc = stw__pg_one_int(h, STW__PG_PARTITIONS, &none, "open: partitions", &parts)) ==
		STW_OK &&
	    (parts < 1 || parts > STW__MAX_PARTITIONS))
		rc = stw__pg_failf(h, STW_ESTORE, "open: the store has %lld partitions",
				   (long long)parts);
	h->partitions = (int)parts;
	int64_t workers = 0;
	if (rc == STW_OK && (rc = stw__pg_one_int(h, STW__PG_ANY_WORKER, &none, "open: workers",
						  &workers)) == STW_OK)
		h->notify_work = workers > 0;
	if (rc != STW_OK) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "%s", h->err);
		stw__pg_close(&h->base);
		return rc;
	}
	*out = &h->base;
	return STW_OK;
}
