/*
 * test_store_sqlite.c - what only the SQLite store backend
 * (src/store/sqlite*.c) does, through the operations of store/store.h and
 * its own test hooks: the schema it creates and migrates in place from
 * older versions, opening read-only, waiting for a writer or failing to
 * open, its page cache (the checkpoints: test_sqlite_ckpt.c),
 * writes that build no ephemeral table, heads and versions read off the
 * log's own rows, SQLite's messages, and the nesting of transactions
 * (nested levels, the outer transaction, durable(), savepoint misuse,
 * undos). What every backend must do is the
 * store contract (tests/store/contract*.c), which
 * tests/store/test_contract_sqlite.c runs on this backend.
 *
 * Every test opens a fresh database in its own temporary directory, which
 * the teardown removes. Most tests look at the file with a second, raw
 * SQLite connection to check what is stored, or change it behind the
 * store's back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "rows.h"
#include "sqlite_fixture.h"
#include "store/sqlite.h"

#include <sqlite3.h>
#include <steward.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define raw_int  sqlite_fixture_int
#define raw_exec sqlite_fixture_exec

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */

/* A new database gets every table, WAL mode and schema_version 10. */
static void test_open_creates_schema(void **state)
{
	struct fixture *f = *state;
	static const char *const tables[] = { "stw_meta",      "stw_events",   "stw_cursors",
					      "stw_instances", "stw_history",  "stw_outbox",
					      "stw_dedup",     "stw_unrouted", "stw_timers",
					      "stw_periodic",  "stw_names" };
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		char sql[128];
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'",
			 tables[i]);
		assert_int_equal(raw_int(f->path, sql), 1);
	}
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Reopening keeps the data and the schema: no table is recreated or emptied. */
static void test_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	append_ok(f->s, "Billing", "e1", "inv-1", 1, 1);
	assert_int_equal(STW__S(f->s, cursor_set, "def", "Billing", 1), STW_OK);
	struct stw__instance_row r = inst("def", "i1", "active", "k", 5);
	assert_int_equal(STW__S(f->s, instance_insert, &r), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	int64_t objects = raw_int(f->path, "SELECT count(*) FROM sqlite_master");
	raw_exec(f->path, "INSERT INTO stw_meta(key, value) VALUES ('marker', 'kept')");

	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	int64_t v = 0;
	assert_int_equal(STW__S(f->s, head, "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(f->s, cursor_get, "def", "Billing", &v), STW_OK);
	assert_int_equal(v, 1);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "i1", collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	append_ok(f->s, "Billing", "e2", "inv-1", 2, 2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"), objects);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_meta WHERE key='marker'"), 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_meta"), 2);
}

/*
 * No statement that writes builds an ephemeral table when it runs: an IN
 * list in a partial index's predicate made every outbox insert build one (a
 * fifth of a process-manager step), which schema 6 removed.
 */
static void test_writes_build_no_ephemeral_tables(void **state)
{
	struct fixture *f = *state;
	char first[512] = "";
	int n = stw__sqlite_ephemeral_writes(f->s, first, sizeof first);
	if (n != 0)
		fprintf(stderr, "builds an ephemeral table: %s\n", first);
	assert_int_equal(n, 0);
}

/* A database with a newer schema_version is refused with STW_ESTORE and a message. */
static void test_open_refuses_newer_schema(void **state)
{
	struct fixture *f = *state;
	STW__S0(f->s, close);
	f->s = NULL;
	raw_exec(f->path, "UPDATE stw_meta SET value='11' WHERE key='schema_version'");
	char err[256] = "";
	struct stw__store dummy = { 0 };
	struct stw__store *s = &dummy; /* must be reset to NULL */
	assert_int_equal(stw__sqlite_open(f->path, NULL, &s, err, sizeof err), STW_ESTORE);
	assert_null(s);
	assert_non_null(strstr(err, "schema version 11"));
}

/*
 * Undoes schema 10 on a closed database, keeping its rows: instances keyed
 * by name, the history and the outbox without instance numbers.
 */
static void downgrade_to_9(const char *path)
{
	raw_exec(
	    path,
	    "CREATE TABLE stw_instances_9(definition TEXT NOT NULL, id TEXT NOT NULL,"
	    " state TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, unique_key TEXT,"
	    " reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"
	    " updated_at INTEGER NOT NULL, entered_version INTEGER NOT NULL DEFAULT 0,"
	    " definition_version INTEGER NOT NULL DEFAULT 1,"
	    " PRIMARY KEY(definition, id)) WITHOUT ROWID;"
	    "INSERT INTO stw_instances_9 SELECT definition, id, state, status, data, unique_key,"
	    " reason, version, created_at, updated_at, entered_version, definition_version"
	    " FROM stw_instances;"
	    "DROP TABLE stw_instances; DROP TABLE stw_names;"
	    "ALTER TABLE stw_instances_9 RENAME TO stw_instances;"
	    "CREATE UNIQUE INDEX stw_instances_key ON stw_instances(definition, unique_key)"
	    " WHERE unique_key IS NOT NULL AND status IN ('active', 'failed');"
	    "CREATE INDEX stw_instances_list ON stw_instances(definition, status, updated_at);"
	    "CREATE INDEX stw_instances_id ON stw_instances(id);"
	    "DROP INDEX stw_history_message; ALTER TABLE stw_history DROP COLUMN instance_num;"
	    "CREATE UNIQUE INDEX stw_history_message ON stw_history(definition, instance_id,"
	    " message_id);"
	    "DROP INDEX stw_outbox_instance; ALTER TABLE stw_outbox DROP COLUMN instance_num;"
	    "CREATE INDEX stw_outbox_instance ON stw_outbox(definition, instance_id, seq)"
	    " WHERE instance_id IS NOT NULL;"
	    "UPDATE stw_meta SET value='9' WHERE key='schema_version'");
}

/* Undoes schema 4 on a closed database: what version 3 created. */
static void downgrade_to_3(const char *path)
{
	downgrade_to_9(path);
	raw_exec(path, "DROP INDEX stw_outbox_status");
	raw_exec(path, "ALTER TABLE stw_outbox DROP COLUMN attempts");
	raw_exec(path, "ALTER TABLE stw_outbox DROP COLUMN next_at");
	raw_exec(path, "ALTER TABLE stw_cursors DROP COLUMN attempt_position");
	raw_exec(path, "ALTER TABLE stw_cursors DROP COLUMN attempts");
	raw_exec(path, "UPDATE stw_meta SET value='3' WHERE key='schema_version'");
}

/*
 * A schema 3 database is migrated in place (through 4, remote delivery): its
 * pending command keeps its place and gets the columns of remote delivery (no
 * attempt yet, due at once), and its cursor counts attempts from scratch.
 */
static void test_open_migrates_schema_3_outbox(void **state)
{
	struct fixture *f = *state;
	struct stw__outbox_row o = { .command_id = "c1",
				     .context = "Billing",
				     .type = "Void",
				     .correlation_id = "p1",
				     .data = "{}",
				     .created_at = 7 };
	assert_int_equal(STW__S0(f->s, begin), STW_OK);
	assert_int_equal(STW__S(f->s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S(f->s, cursor_set, "def", "Billing", 9), STW_OK);
	assert_int_equal(STW__S0(f->s, commit), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_3(f->path);
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	assert_int_equal(raw_int(f->path, "SELECT attempts + next_at FROM stw_outbox "
					  "WHERE command_id = 'c1'"),
			 0);
	int64_t at = -1;
	assert_int_equal(STW__S(f->s, outbox_next_due, "Billing", &at), STW_OK);
	assert_int_equal(at, 0);
	int attempts = 0;
	assert_int_equal(STW__S0(f->s, begin), STW_OK);
	assert_int_equal(STW__S(f->s, cursor_attempt, "def", "Billing", 9, &attempts), STW_OK);
	assert_int_equal(attempts, 1);
	assert_int_equal(STW__S(f->s, cursor_attempt, "def", "Billing", 9, &attempts), STW_OK);
	assert_int_equal(attempts, 2);
	assert_int_equal(STW__S(f->s, cursor_attempt, "def", "Billing", 10, &attempts), STW_OK);
	assert_int_equal(attempts, 1);
	assert_int_equal(STW__S0(f->s, commit), STW_OK);
	int64_t pos = 0;
	assert_int_equal(STW__S(f->s, cursor_get, "def", "Billing", &pos), STW_OK);
	assert_int_equal(pos, 9); /* counting attempts never moves the cursor */
}

/* A schema 1 database (no timers) is migrated in place on open, keeping its data. */
static void test_open_migrates_schema_1(void **state)
{
	struct fixture *f = *state;
	struct stw__instance_row r = inst("def", "i1", "active", "k", 5);
	assert_int_equal(STW__S(f->s, instance_insert, &r), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	/* Turn it back into what version 1 created. */
	downgrade_to_3(f->path);
	raw_exec(f->path, "DROP TABLE stw_timers");
	raw_exec(f->path, "DROP TABLE stw_periodic");
	raw_exec(f->path, "ALTER TABLE stw_instances DROP COLUMN entered_version");
	raw_exec(f->path, "UPDATE stw_meta SET value='1' WHERE key='schema_version'");
	char err[256] = "";
	struct stw__sqlite_options ro = { .synchronous = 2, .read_only = 1 };
	struct stw__store *s = NULL;
	assert_int_equal(stw__sqlite_open(f->path, &ro, &s, err, sizeof err), STW_ESTORE);
	assert_non_null(strstr(err, "read-write to upgrade"));
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	assert_int_equal(
	    raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='stw_timers'"), 1);
	assert_int_equal(
	    raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='stw_periodic'"), 1);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "i1", collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
}

/*
 * A schema 4 database (instances with a rowid, timers keyed by id alone) is
 * migrated on open: both tables become clustered on the instance (5; the
 * instances on their number since 10), their rows and the other indexes are
 * kept, the outbox's status index loses its IN list (6), and the store works
 * on them.
 */
static void test_open_migrates_schema_4(void **state)
{
	struct fixture *f = *state;
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_9(f->path);
	/* The version 4 layout of the two tables, with a row in each. */
	raw_exec(f->path,
		 "DROP INDEX stw_outbox_status; CREATE INDEX stw_outbox_status ON "
		 "stw_outbox(status, seq) WHERE status IN ('rejected', 'parked', 'skipped');"
		 "DROP TABLE stw_instances; DROP TABLE stw_timers;"
		 "CREATE TABLE stw_instances(definition TEXT NOT NULL, id TEXT NOT NULL,"
		 " state TEXT NOT NULL, status TEXT NOT NULL, data TEXT NOT NULL, unique_key TEXT,"
		 " reason TEXT, version INTEGER NOT NULL, created_at INTEGER NOT NULL,"
		 " updated_at INTEGER NOT NULL, entered_version INTEGER NOT NULL DEFAULT 0,"
		 " PRIMARY KEY(definition, id));"
		 "CREATE UNIQUE INDEX stw_instances_key ON stw_instances(definition, unique_key)"
		 " WHERE unique_key IS NOT NULL AND status IN ('active', 'failed');"
		 "CREATE INDEX stw_instances_list ON stw_instances(definition, status, updated_at);"
		 "CREATE INDEX stw_instances_id ON stw_instances(id);"
		 "CREATE TABLE stw_timers(id TEXT PRIMARY KEY, definition TEXT NOT NULL,"
		 " instance_id TEXT NOT NULL, message_type TEXT NOT NULL, due_at INTEGER NOT NULL,"
		 " entered_version INTEGER NOT NULL, armed_by TEXT NOT NULL,"
		 " created_at INTEGER NOT NULL) WITHOUT ROWID;"
		 "CREATE INDEX stw_timers_due ON stw_timers(definition, due_at, id);"
		 "CREATE INDEX stw_timers_instance ON stw_timers(definition, instance_id);"
		 "INSERT INTO stw_instances VALUES('def', 'i1', 'Started', 'active', '{\"a\":1}',"
		 " 'k', NULL, 3, 10, 20, 2);"
		 "INSERT INTO stw_timers VALUES('t1', 'def', 'i1', 'Tick', 500, 2, 'e1', 30);"
		 "UPDATE stw_meta SET value='4' WHERE key='schema_version'");
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE sql LIKE "
					  "'%WITHOUT ROWID%' AND name IN ('stw_instances')"),
			 0);
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	/* Instances are keyed by their number since 10. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE sql LIKE "
					  "'%WITHOUT ROWID%' AND name IN ('stw_instances', "
					  "'stw_timers')"),
			 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE type='index' "
					  "AND name IN ('stw_instances_key', 'stw_instances_list',"
					  " 'stw_names_id', 'stw_timers_due')"),
			 4);
	assert_int_equal(
	    raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name='stw_timers_instance'"),
	    0);
	/* Schema 6: the outbox's status index has no IN list. */
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE "
					  "name='stw_outbox_status' AND sql NOT LIKE '% IN (%'"),
			 1);
	assert_int_equal(stw__sqlite_ephemeral_writes(f->s, NULL, 0), 0);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "i1", collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	char holder[16] = "";
	assert_int_equal(STW__S(f->s, key_holder, "def", "k", holder, sizeof holder), STW_OK);
	assert_string_equal(holder, "i1");
	assert_int_equal(raw_int(f->path, "SELECT version * 100 + entered_version FROM "
					  "stw_instances WHERE id = 'i1'"),
			 302);
	struct strings t = { 0 };
	assert_int_equal(STW__S(f->s, timers_due, "def", 500, 10, count_timer, &t), STW_OK);
	assert_int_equal(t.n, 1);
	assert_string_equal(t.v[0], "t1@500");
	assert_int_equal(STW__S0(f->s, begin), STW_OK);
	assert_int_equal(STW__S(f->s, timer_delete, "def", "i1", "t1"), STW_OK);
	assert_int_equal(STW__S0(f->s, commit), STW_OK);
	t.n = 0;
	assert_int_equal(STW__S(f->s, timers_for_instance, "def", "i1", count_timer, &t), STW_OK);
	assert_int_equal(t.n, 0);
}

/*
 * A schema 6 database, which kept heads and stream versions in tables of
 * their own, is migrated on open: the tables go, and appends continue from
 * the log where they left off.
 */
static void test_open_migrates_schema_6(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(STW__S0(f->s, begin), STW_OK);
	append_ok(f->s, "Billing", "e1", "inv-1", 1, 1);
	append_ok(f->s, "Billing", "e2", "inv-1", 2, 2);
	assert_int_equal(STW__S0(f->s, commit), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_9(f->path);
	raw_exec(f->path, "CREATE TABLE stw_contexts(name TEXT PRIMARY KEY, head INTEGER NOT NULL);"
			  "CREATE TABLE stw_streams(context TEXT, stream TEXT, version INTEGER "
			  "NOT NULL, PRIMARY KEY(context, stream)) WITHOUT ROWID;"
			  "INSERT INTO stw_contexts VALUES ('Billing', 2);"
			  "INSERT INTO stw_streams VALUES ('Billing', 'inv-1', 2);"
			  "ALTER TABLE stw_instances DROP COLUMN definition_version;"
			  "UPDATE stw_meta SET value='6' WHERE key='schema_version'");
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master WHERE name IN "
					  "('stw_contexts', 'stw_streams')"),
			 0);
	append_ok(f->s, "Billing", "e3", "inv-1", 3, 3);
	append_ok(f->s, "Billing", "e4", "inv-2", 4, 1);
}

/*
 * A schema 7 database, whose instances did not record the version of their
 * definition, is migrated on open: they are given version 1, and new ones
 * keep the version they are inserted with.
 */
static void test_open_migrates_schema_7(void **state)
{
	struct fixture *f = *state;
	struct stw__instance_row r = inst("def", "i1", "active", "k", 5);
	assert_int_equal(STW__S(f->s, instance_insert, &r), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_9(f->path);
	raw_exec(f->path, "ALTER TABLE stw_instances DROP COLUMN definition_version;"
			  "UPDATE stw_meta SET value='7' WHERE key='schema_version'");
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "i1", collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	assert_int_equal(got.definition_version[0], 1);
	struct stw__instance_row r2 = inst("def", "i2", "active", NULL, 6);
	r2.definition_version = 3;
	assert_int_equal(STW__S(f->s, instance_insert, &r2), STW_OK);
	memset(&got, 0, sizeof got);
	struct stw__instance_query q = { .definition_version = 3, .limit = 10 };
	assert_int_equal(STW__S(f->s, list_instances, &q, collect_instance, &got), STW_OK);
	assert_int_equal(got.n, 1);
	assert_string_equal(got.id[0], "i2");
}

static int count_row(const struct stw__outbox_row *r, void *ud)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

/*
 * A schema 8 database, whose outbox index by instance held every row, is
 * migrated on open: the index holds only the rows that have an instance,
 * and the rows of an instance are still found through it.
 */
static void test_open_migrates_schema_8(void **state)
{
	struct fixture *f = *state;
	struct stw__outbox_row o = { .command_id = "c1",
				     .context = "Billing",
				     .type = "Void",
				     .definition = "def",
				     .instance_id = "i1",
				     .data = "{}",
				     .created_at = 7 };
	struct stw__outbox_row policy = o;
	policy.command_id = "c2";
	policy.instance_id = NULL;
	assert_int_equal(STW__S(f->s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S(f->s, outbox_insert, &policy), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_9(f->path);
	raw_exec(f->path,
		 "DROP INDEX stw_outbox_instance;"
		 "CREATE INDEX stw_outbox_instance ON stw_outbox(definition, instance_id, seq);"
		 "UPDATE stw_meta SET value='8' WHERE key='schema_version'");
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	assert_int_equal(raw_int(f->path,
				 "SELECT count(*) FROM sqlite_master WHERE name = "
				 "'stw_outbox_instance' AND sql LIKE '%WHERE instance_num IS "
				 "NOT NULL'"),
			 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_outbox "
					  "INDEXED BY stw_outbox_instance "
					  "WHERE instance_num IS NOT NULL"),
			 1);
	int n = 0;
	assert_int_equal(STW__S(f->s, outbox_for_instance, "def", "i1", count_row, &n), STW_OK);
	assert_int_equal(n, 1);
}

/*
 * A schema 9 database, whose instances, history and outbox were keyed by
 * name, is migrated on open: every name is numbered, the instances in the
 * order they were created, then the names only the history or the outbox
 * holds; each row carries its instance's number, and the store finds every
 * row through it, and numbers a new instance after them all.
 */
static void test_open_migrates_schema_9(void **state)
{
	struct fixture *f = *state;
	struct stw__instance_row late = inst("def", "late", "active", NULL, 20);
	struct stw__instance_row early = inst("def", "early", "active", NULL, 10);
	struct stw__history_row h[] = { hist("def", "late", "m1"), hist("def", "early", "m2"),
					hist("def", "ghost", "m3") };
	struct stw__outbox_row o = { .command_id = "c1",
				     .context = "Billing",
				     .type = "Void",
				     .definition = "def",
				     .instance_id = "late",
				     .data = "{}" };
	struct stw__outbox_row policy = o;
	policy.command_id = "c2";
	policy.instance_id = NULL;
	assert_int_equal(STW__S(f->s, instance_insert, &late), STW_OK);
	assert_int_equal(STW__S(f->s, instance_insert, &early), STW_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(STW__S(f->s, history_insert, &h[i]), STW_OK);
	assert_int_equal(STW__S(f->s, outbox_insert, &o), STW_OK);
	assert_int_equal(STW__S(f->s, outbox_insert, &policy), STW_OK);
	STW__S0(f->s, close);
	f->s = NULL;
	downgrade_to_9(f->path);
	char err[256] = "";
	assert_int_equal(stw__sqlite_open(f->path, NULL, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT value FROM stw_meta WHERE key='schema_version'"),
			 10);
	assert_int_equal(raw_int(f->path, "SELECT group_concat(id, ',') = 'early,late,ghost' FROM"
					  " (SELECT id FROM stw_names ORDER BY num)"),
			 1);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_instances i JOIN stw_names n"
					  " USING (num) WHERE n.id = i.id"),
			 2);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_history x JOIN stw_names n"
					  " ON n.num = x.instance_num AND n.id = x.instance_id"),
			 3);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_outbox WHERE instance_num ="
					  " (SELECT num FROM stw_names WHERE id = 'late')"),
			 1);
	assert_int_equal(STW__S(f->s, history_has, "def", "late", "m1"), STW_OK);
	assert_int_equal(STW__S(f->s, history_has, "def", "early", "m1"), STW_ENOTFOUND);
	assert_int_equal(STW__S(f->s, history_insert, &h[2]), STW_EEXIST);
	struct strings c = { 0 };
	assert_int_equal(STW__S(f->s, history_list, "def", "ghost", collect_history, &c), STW_OK);
	assert_int_equal(c.n, 1);
	int n = 0;
	assert_int_equal(STW__S(f->s, outbox_for_instance, "def", "late", count_row, &n), STW_OK);
	assert_int_equal(n, 1);
	struct instances got = { 0 };
	assert_int_equal(STW__S(f->s, instance_get, "def", "early", collect_instance, &got),
			 STW_OK);
	assert_int_equal(got.n, 1);
	struct stw__instance_row next = inst("def", "next", "active", NULL, 30);
	assert_int_equal(STW__S(f->s, instance_insert, &next), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT num FROM stw_instances WHERE id = 'next'"), 4);
}

/* Bad arguments and an unopenable path fail cleanly with a message. */
static void test_open_failures(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	struct stw__store *s = NULL;
	assert_int_equal(stw__sqlite_open(NULL, NULL, &s, err, sizeof err), STW_EINVAL);
	assert_null(s);
	struct stw__sqlite_options o = { .synchronous = 3 };
	assert_int_equal(stw__sqlite_open(f->path, &o, &s, err, sizeof err), STW_EINVAL);
	assert_null(s);
	char bad[FX_PATH + 32];
	snprintf(bad, sizeof bad, "%s/no/such/dir/x.db", f->w.dir);
	err[0] = '\0';
	assert_int_equal(stw__sqlite_open(bad, NULL, &s, err, sizeof err), STW_ESTORE);
	assert_null(s);
	assert_true(strlen(err) > 0);
	/* errbuf may be NULL. */
	assert_int_equal(stw__sqlite_open(bad, NULL, &s, NULL, 0), STW_ESTORE);

	/* A file that is not a database. */
	char junk[FX_PATH + 16];
	snprintf(junk, sizeof junk, "%s/junk.db", f->w.dir);
	FILE *fp = fopen(junk, "w");
	assert_non_null(fp);
	for (int i = 0; i < 512; i++)
		fputs("this is not an sqlite database ", fp);
	fclose(fp);
	err[0] = '\0';
	assert_int_equal(stw__sqlite_open(junk, NULL, &s, err, sizeof err), STW_ESTORE);
	assert_null(s);
	assert_true(strlen(err) > 0);
	unlink(junk);
}

/* Commits, 300 ms after it starts, the transaction the connection db holds. */
static void *commit_later(void *db)
{
	struct timespec pause = { 0, 300 * 1000000L };
	nanosleep(&pause, NULL);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

/*
 * An open while another connection writes waits for it (the busy timeout)
 * instead of failing at once: here a new database, not yet in WAL mode as a
 * store is while its first opener turns it to WAL, that a raw connection
 * holds locked for 300 ms.
 */
static void test_open_waits_for_a_writer(void **state)
{
	struct fixture *f = *state;
	char path[FX_PATH + 16];
	snprintf(path, sizeof path, "%s/new.db", f->w.dir);
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, commit_later, db), 0);
	char err[256] = "";
	struct stw__store *s = NULL;
	int rc = stw__sqlite_open(path, NULL, &s, err, sizeof err);
	pthread_join(t, NULL);
	sqlite3_close(db);
	if (rc != STW_OK)
		fail_msg("open: %s: %s", stw_strerror(rc), err);
	STW__S0(s, close);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/*
 * The head of a context and the version of a stream are read off the log
 * itself, so nothing can drift from it: a row planted behind the store's back
 * (position 1 of X, version 1 of stream A) is counted, and the next append
 * goes one past it; other contexts and streams are untouched.
 */
static void test_head_and_version_from_the_log(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	raw_exec(f->path, "INSERT INTO stw_events VALUES ('X', 1, 'planted', 'T', 'A', 1, "
			  "NULL, NULL, '{}', '{}', 0)");
	int64_t v = -1;
	assert_int_equal(STW__S(s, head, "X", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, stream_version, "X", "A", &v), STW_OK);
	assert_int_equal(v, 1);
	assert_int_equal(STW__S(s, stream_version, "X", "B", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S(s, head, "Y", &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "X", "x1", "A", 2, 2);
	append_ok(s, "X", "x2", "B", 3, 1);
	append_ok(s, "Y", "y1", "A", 1, 1);
	/* A failed append (a duplicate id) takes no position. */
	struct stw__event_row r = ev("X", "x1", "A");
	assert_int_equal(STW__S(s, append, &r, NULL, NULL), STW_EEXIST);
	append_ok(s, "X", "x3", "A", 4, 3);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_events"), 5);
}

/*
 * Inside a transaction the head of a context is read once and counted on by
 * the appends that follow; anything rolled back (a level, or the whole
 * transaction) makes the next append read it again, so positions stay
 * gap-free. A stream version the caller gives is taken as it is inside a
 * transaction, and read again outside one.
 */
static void test_head_remembered_in_a_transaction(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "X", "x1", "A", 1, 1);
	append_ok(s, "Y", "y1", "A", 1, 1);
	append_ok(s, "X", "x2", "A", 2, 2);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "X", "x3", "B", 3, 1);
	assert_int_equal(STW__S0(s, rollback_to), STW_OK);
	append_ok(s, "X", "x4", "B", 3, 1);
	assert_int_equal(STW__S0(s, savepoint), STW_OK);
	append_ok(s, "X", "x5", "B", 4, 2);
	assert_int_equal(STW__S0(s, release), STW_OK);
	struct stw__event_row r = ev("X", "x6", "A");
	r.stream_version = 3;
	int64_t pos = 0, ver = 0;
	assert_int_equal(STW__S(s, append, &r, &pos, &ver), STW_OK);
	assert_int_equal(pos, 5);
	assert_int_equal(ver, 3);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(raw_int(f->path, "SELECT count(*) FROM stw_events"), 0);

	/* After a rollback, and after a commit, the head is read again. */
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "X", "x1", "A", 1, 1);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	raw_exec(f->path, "INSERT INTO stw_events VALUES ('X', 2, 'planted', 'T', 'A', 2, "
			  "NULL, NULL, '{}', '{}', 0)");
	assert_int_equal(STW__S0(s, begin), STW_OK);
	append_ok(s, "X", "x2", "A", 3, 3);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	/* Outside a transaction a given version is not taken: the store reads it. */
	r = ev("X", "x3", "A");
	r.stream_version = 1;
	assert_int_equal(STW__S(s, append, &r, &pos, &ver), STW_OK);
	assert_int_equal(pos, 4);
	assert_int_equal(ver, 4);
}

/* The page cache is SQLite's default (2,000 KiB) unless cache_kb sets it. */
static void test_cache_kb(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(stw__sqlite_cache_kb(f->s), 2000);
	struct stw__store *s = NULL;
	char err[256] = "";
	struct stw__sqlite_options o = { .synchronous = 1, .cache_kb = 4096 };
	assert_int_equal(stw__sqlite_open(f->path, &o, &s, err, sizeof err), STW_OK);
	assert_int_equal(stw__sqlite_cache_kb(s), 4096);
	STW__S0(s, close);
}

/* ------------------------------------------------------------------------ */
/* Transactions: nested levels, the outer transaction, misuse               */

/* A failure leaves the operation's name and SQLite's reason in errmsg. */
static void test_errmsg_on_failure(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	assert_string_equal(STW__S0(s, errmsg), "");
	struct stw__instance_row r = inst("d", "i", "active", NULL, 1);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_OK);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_EEXIST);
	const char *m = STW__S0(s, errmsg);
	assert_non_null(strstr(m, "instance_insert"));
	assert_non_null(strstr(m, "UNIQUE constraint failed"));
	assert_int_equal(STW__S(s, dedup_put, "C", "c", 0, NULL, 1), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "C", "c", 0, NULL, 1), STW_EEXIST);
	assert_non_null(strstr(STW__S0(s, errmsg), "dedup_put"));
	assert_int_equal(STW__S0(s, commit), STW_ESTORE);
	assert_non_null(strstr(STW__S0(s, errmsg), "commit: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, sqlite_fixture_setup, sqlite_fixture_teardown)
		T(test_open_creates_schema),
		T(test_reopen_keeps_everything),
		T(test_open_refuses_newer_schema),
		T(test_writes_build_no_ephemeral_tables),
		T(test_open_migrates_schema_1),
		T(test_open_migrates_schema_3_outbox),
		T(test_open_migrates_schema_4),
		T(test_open_migrates_schema_6),
		T(test_open_migrates_schema_7),
		T(test_open_migrates_schema_8),
		T(test_open_migrates_schema_9),
		T(test_open_failures),
		T(test_open_waits_for_a_writer),
		T(test_head_and_version_from_the_log),
		T(test_head_remembered_in_a_transaction),
		T(test_cache_kb),
		T(test_errmsg_on_failure),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
