/* sqlite_fixture.c - the fixture of the SQLite backend's own tests (sqlite_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>

#include "sqlite_fixture.h"
#include "store/sqlite.h"

#include <sqlite3.h>

int sqlite_fixture_setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "store", 0) != 0)
		return -1;
	struct fixture *f = *state;
	f->path = f->w.db;
	char err[256] = "";
	struct stw__sqlite_options o = { .synchronous = 1 };
	assert_int_equal(stw__sqlite_open(f->path, &o, &f->s, err, sizeof err), STW_OK);
	assert_non_null(f->s);
	return 0;
}

/* Closes the store and removes the directory with everything in it. */
int sqlite_fixture_teardown(void **state)
{
	struct fixture *f = *state;
	if (f->s != NULL)
		STW__S0(f->s, close);
	return fx_teardown(state);
}

int64_t sqlite_fixture_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

void sqlite_fixture_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	if (rc != SQLITE_OK)
		fprintf(stderr, "%s: %s\n", sql, err ? err : "");
	sqlite3_free(err);
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_close(db);
}
