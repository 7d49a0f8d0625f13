/* sqlite_fixture.c - the fixture of the SQLite backend's own tests (sqlite_fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite_fixture.h"
#include "store/sqlite.h"

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
