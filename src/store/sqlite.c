/*
 * sqlite.c - opening and closing an SQLite store: the connection and its
 * pragmas, the schema (created, checked or migrated in one transaction),
 * the cached statements, the table of operations, and the hooks of the tests
 * (sqlite_int.h lists the backend's files).
 *
 * Thread safety: a handle is used by one thread at a time (the connection is
 * opened with SQLITE_OPEN_NOMUTEX); several handles, in threads or processes,
 * may share a database file and SQLite serialises their writers.
 */
#include "store/sqlite.h"
#include "store/sqlite_int.h"

#include <steward.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counts every rollback of a transaction, SQLite's own after an error included. */
static void on_rollback(void *ud)
{
	struct sqlite_store *h = ud;
	h->undos++;
}

/* Finalizes every statement and closes the connection. Accepts NULL. */
static void op_close(struct stw__store *s)
{
	if (s == NULL)
		return;
	struct sqlite_store *h = handle(s);
	if (h->ckpt != NULL) {
		sqlite3_wal_hook(h->db, NULL, NULL);
		stw__sqlite_ckpt_stop(h->ckpt);
		h->ckpt = NULL;
	}
	for (int i = 0; i < STW__NSTMT; i++)
		sqlite3_finalize(h->st[i]);
	for (int i = 0; i < STW__LQ_VARIANTS; i++)
		sqlite3_finalize(h->list[i]);
	sqlite3_finalize(h->history_chunk);
	sqlite3_close_v2(h->db);
	stw__sqlite_nums_free(h);
	free(h);
}

/* Runs static SQL (no input) through sqlite3_exec. */
static int exec_sql(struct sqlite_store *h, const char *sql, const char *op)
{
	int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? STW_OK : stw__sqlite_fail(h, rc, op);
}

/*
 * Sets the busy timeout, then the journal mode to WAL, checking that it took
 * (an in-memory database keeps "memory"), then synchronous (0..2), foreign
 * keys and, when cache_kb > 0, the page cache size. The timeout comes first:
 * setting the journal mode takes a lock (the write lock while a new database
 * turns to WAL), and without it an open while another connection writes
 * would fail at once with a busy store instead of waiting.
 */
static int pragmas(struct sqlite_store *h, int synchronous, int read_only, int cache_kb)
{
	sqlite3_stmt *st = NULL;
	sqlite3_busy_timeout(h->db, 5000);
	/* A read-only connection cannot change the journal mode, only report it. */
	int rc = sqlite3_prepare_v2(
	    h->db, read_only ? "PRAGMA journal_mode" : "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = stw__sqlite_fail(h, rc, "open: journal_mode");
		sqlite3_finalize(st);
		return rc;
	}
	const char *mode = (const char *)sqlite3_column_text(st, 0);
	int ok = read_only ||
		 (mode != NULL && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0));
	h->wal = mode != NULL && strcmp(mode, "wal") == 0;
	if (!ok)
		rc = stw__sqlite_failf(h, STW_ESTORE,
				       "open: cannot use WAL mode (journal mode is %s)",
				       mode ? mode : "unknown");
	sqlite3_finalize(st);
	if (!ok)
		return rc;
	rc = exec_sql(h, stw__sqlite_sync_sql[synchronous], "open: synchronous");
	if (rc == STW_OK)
		rc = exec_sql(h, "PRAGMA foreign_keys = OFF", "open: foreign_keys");
	if (rc == STW_OK && cache_kb > 0) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA cache_size = -%d", cache_kb);
		rc = exec_sql(h, sql, "open: cache_size");
	}
	return rc;
}

/* Runs inside the opening transaction: a failure leaves version 4 as it was. */
static int migrate_5(struct sqlite_store *h)
{
	return exec_sql(h, stw__sqlite_migrate_5, "open: migrate to schema 5");
}

/*
 * Creates the schema on a new database or checks the version of an existing
 * one, in one IMMEDIATE transaction so that concurrent openers create it
 * once.
 */
static int schema_init(struct sqlite_store *h, int read_only)
{
	int rc = exec_sql(h, read_only ? "BEGIN" : "BEGIN IMMEDIATE", "open: begin");
	if (rc != STW_OK)
		return rc;
	sqlite3_stmt *st = NULL;
	int b = sqlite3_prepare_v2(h->db,
				   "SELECT count(*) FROM sqlite_master "
				   "WHERE type = 'table' AND name = 'stw_meta'",
				   -1, &st, NULL);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b != SQLITE_ROW) {
		rc = stw__sqlite_fail(h, b, "open: schema");
		goto out;
	}
	int exists = sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	st = NULL;

	if (!exists && read_only) {
		rc =
		    stw__sqlite_failf(h, STW_ENOTFOUND, "open: not a steward database (no schema)");
		goto out;
	}
	if (!exists) {
		rc = exec_sql(h, stw__sqlite_schema, "open: create schema");
		goto out;
	}

	b = sqlite3_prepare_v2(h->db, "SELECT value FROM stw_meta WHERE key = 'schema_version'", -1,
			       &st, NULL);
	if (b == SQLITE_OK)
		b = sqlite3_step(st);
	if (b == SQLITE_DONE) {
		rc = stw__sqlite_failf(h, STW_ESTORE, "open: the database has no schema_version");
		goto out;
	}
	if (b != SQLITE_ROW) {
		rc = stw__sqlite_fail(h, b, "open: schema");
		goto out;
	}
	const char *text = (const char *)sqlite3_column_text(st, 0);
	char *end = NULL;
	errno = 0;
	long long v = text ? strtoll(text, &end, 10) : 0;
	if (text == NULL || end == text || *end != '\0' || errno != 0 || v < 1) {
		rc = stw__sqlite_failf(h, STW_ESTORE, "open: unreadable schema_version '%s'",
				       text ? text : "NULL");
	} else if (v > STW__SCHEMA_VERSION) {
		rc = stw__sqlite_failf(
		    h, STW_ESTORE,
		    "open: the database has schema version %lld, newer than the %d "
		    "this build supports; upgrade steward",
		    v, STW__SCHEMA_VERSION);
	} else if (v < STW__SCHEMA_VERSION) {
		/* Older databases are migrated in place, in this transaction. */
		sqlite3_finalize(st);
		st = NULL;
		if (read_only)
			rc = stw__sqlite_failf(
			    h, STW_ESTORE,
			    "open: the database has schema version %lld; open it once "
			    "read-write to upgrade it",
			    v);
		else {
			if (v == 1)
				rc =
				    exec_sql(h, stw__sqlite_migrate_2, "open: migrate to schema 2");
			if (rc == STW_OK && v <= 2)
				rc =
				    exec_sql(h, stw__sqlite_migrate_3, "open: migrate to schema 3");
			if (rc == STW_OK && v <= 3)
				rc =
				    exec_sql(h, stw__sqlite_migrate_4, "open: migrate to schema 4");
			if (rc == STW_OK && v <= 4)
				rc = migrate_5(h);
			if (rc == STW_OK && v <= 5)
				rc =
				    exec_sql(h, stw__sqlite_migrate_6, "open: migrate to schema 6");
			if (rc == STW_OK && v <= 6)
				rc =
				    exec_sql(h, stw__sqlite_migrate_7, "open: migrate to schema 7");
			if (rc == STW_OK && v <= 7)
				rc =
				    exec_sql(h, stw__sqlite_migrate_8, "open: migrate to schema 8");
			if (rc == STW_OK && v <= 8)
				rc =
				    exec_sql(h, stw__sqlite_migrate_9, "open: migrate to schema 9");
			if (rc == STW_OK && v <= 9)
				rc = exec_sql(h, stw__sqlite_migrate_10,
					      "open: migrate to schema 10");
		}
	}
out:
	sqlite3_finalize(st);
	if (rc == STW_OK)
		rc = exec_sql(h, "COMMIT", "open: commit");
	if (rc != STW_OK && !sqlite3_get_autocommit(h->db))
		(void)sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* Prepares every statement, including the list_instances variants. */
static int prepare_all(struct sqlite_store *h)
{
	for (int i = 0; i < STW__NSTMT; i++) {
		int rc = sqlite3_prepare_v3(h->db, stw__sqlite_sql[i], -1,
					    SQLITE_PREPARE_PERSISTENT, &h->st[i], NULL);
		if (rc != SQLITE_OK)
			return stw__sqlite_fail(h, rc, "open: prepare");
	}
	for (int m = 0; m < STW__LQ_VARIANTS; m++) {
		char sql[1024];
		if (stw__sqlite_list_sql(m, sql, sizeof sql) != 0)
			return stw__sqlite_failf(h, STW_ESTORE, "open: list statement too long");
		int rc = sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->list[m],
					    NULL);
		if (rc != SQLITE_OK)
			return stw__sqlite_fail(h, rc, "open: prepare");
	}
	/* The single-row history insert, with its VALUES repeated. */
	const char *one = stw__sqlite_sql[STW__HISTORY_INSERT];
	const char *values = strstr(one, "VALUES ");
	size_t head = (size_t)(values - one) + strlen("VALUES ");
	char sql[STW__HISTORY_CHUNK * 48 + 256];
	size_t n = (size_t)snprintf(sql, sizeof sql, "%.*s", (int)head, one);
	for (int r = 0; r < STW__HISTORY_CHUNK; r++)
		n += (size_t)snprintf(sql + n, sizeof sql - n, "%s(?,?,?,?,?,?,?,?,?,?,?)",
				      r ? "," : "");
	int rc =
	    sqlite3_prepare_v3(h->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &h->history_chunk, NULL);
	return rc == SQLITE_OK ? STW_OK : stw__sqlite_fail(h, rc, "open: prepare");
}

/*
 * For the tests: how many of the cached statements that write (INSERT,
 * UPDATE, DELETE) build an ephemeral table when they run, as an IN list in
 * a partial index's predicate makes every write of its table do. RETURNING
 * is left out: it buffers its rows in one by design, and the one statement
 * with it runs once per engine start. Puts the first such statement's text
 * in `first` (may be NULL). -1 on failure.
 */
int stw__sqlite_ephemeral_writes(struct stw__store *s, char *first, size_t cap)
{
	struct sqlite_store *h = handle(s);
	int n = 0;
	for (int i = 0; i < STW__NSTMT && n >= 0; i++) {
		const char *sql = sqlite3_sql(h->st[i]);
		if (sql == NULL || strstr(sql, " RETURNING ") != NULL ||
		    (strncmp(sql, "INSERT", 6) != 0 && strncmp(sql, "UPDATE", 6) != 0 &&
		     strncmp(sql, "DELETE", 6) != 0))
			continue;
		char *explain = sqlite3_mprintf("EXPLAIN %s", sql);
		sqlite3_stmt *st = NULL;
		if (explain == NULL ||
		    sqlite3_prepare_v2(h->db, explain, -1, &st, NULL) != SQLITE_OK) {
			n = -1;
		} else {
			int found = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				const char *op = (const char *)sqlite3_column_text(st, 1);
				found |= op != NULL && strcmp(op, "OpenEphemeral") == 0;
			}
			if (found && n++ == 0 && first != NULL && cap > 0)
				snprintf(first, cap, "%s", sql);
		}
		sqlite3_finalize(st);
		sqlite3_free(explain);
	}
	return n;
}

/*
 * Process-wide settings, made once, if SQLite is not yet initialised in the
 * process (sqlite3_config refuses, harmlessly, after that):
 *  - SQLite's memory statistics cost a global mutex and two counters on
 *    every allocation, and Debian's build has no lookaside, so a step pays
 *    them a few dozen times. They are turned off; sqlite3_memory_used()
 *    then reports 0.
 *  - Statement journals stay in memory: a nested level (a savepoint) copies
 *    the pages it changes into one, and past 64 KiB SQLite would write it
 *    to a temporary file, doubling the writes of a round.
 */
static void sqlite_config(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	(void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, -1);
}

int stw__sqlite_open(const char *path, const struct stw__sqlite_options *opts,
		     struct stw__store **out, char *errbuf, size_t errcap)
{
	static pthread_once_t config_once = PTHREAD_ONCE_INIT;
	pthread_once(&config_once, sqlite_config);
	int synchronous = opts ? opts->synchronous : 2;
	if (synchronous < 0)
		synchronous = 2;
	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL || synchronous > 2) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: %s",
				 synchronous > 2 ? "synchronous must be 0, 1 or 2"
						 : "path and out are required");
		return STW_EINVAL;
	}

	struct sqlite_store *h = calloc(1, sizeof *h);
	if (h == NULL) {
		if (errbuf != NULL && errcap > 0)
			snprintf(errbuf, errcap, "open: out of memory");
		return STW_ENOMEM;
	}
	h->ops.close = op_close;
	stw__sqlite_ops_conn(&h->ops);
	stw__sqlite_ops_events(&h->ops);
	stw__sqlite_ops_instances(&h->ops);
	stw__sqlite_ops_outbox(&h->ops);
	stw__sqlite_ops_timers(&h->ops);
	stw__sqlite_ops_retention(&h->ops);
	h->base.ops = &h->ops;
	h->base.caps = STW__CAP_SINGLE_WRITER | STW__CAP_FOREIGN_COMMITS;

	int rc;
	int read_only = opts ? opts->read_only : 0;
	int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int b = sqlite3_open_v2(path, &h->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (b != SQLITE_OK) {
		if (h->db == NULL)
			rc = stw__sqlite_failf(h, STW_ENOMEM, "open: out of memory");
		else
			rc = stw__sqlite_failf(h, stw__sqlite_code(sqlite3_extended_errcode(h->db)),
					       "open: %s: %s", path, sqlite3_errmsg(h->db));
		goto fail;
	}
	sqlite3_extended_result_codes(h->db, 1);
	sqlite3_rollback_hook(h->db, on_rollback, h);

	if ((rc = pragmas(h, synchronous, read_only, opts ? opts->cache_kb : 0)) != STW_OK)
		goto fail;
	if ((rc = schema_init(h, read_only)) != STW_OK)
		goto fail;
	if ((rc = prepare_all(h)) != STW_OK)
		goto fail;
	if (!read_only && !(opts && opts->inline_checkpoint) && h->wal &&
	    (rc = stw__sqlite_ckpt_start(h, path, synchronous)) != STW_OK)
		goto fail;
	*out = &h->base;
	return STW_OK;

fail:
	if (errbuf != NULL && errcap > 0)
		snprintf(errbuf, errcap, "%s", h->err);
	op_close(&h->base);
	return rc;
}

long stw__sqlite_cache_kb(struct stw__store *s)
{
	sqlite3_stmt *st = NULL;
	long kb = -1;
	/* Negative: KiB, as SQLite's default and pragmas set it. */
	if (sqlite3_prepare_v2(handle(s)->db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) < 0)
		kb = (long)-sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return kb;
}
