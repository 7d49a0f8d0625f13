/*
 * sqlite_fixture.h - the fixture of the SQLite backend's own tests
 * (tests/unit/test_store_sqlite.c, test_sqlite_ckpt.c): a fresh database in
 * a temporary directory of its own, open through stw__sqlite_open
 * (synchronous=NORMAL, the checkpointer on its thread), closed and removed
 * by the teardown.
 */
#ifndef STW_TEST_SQLITE_FIXTURE_H
#define STW_TEST_SQLITE_FIXTURE_H

#include <stdint.h>

#include "fixture.h"
#include "store/store.h"

struct fixture {
	struct fx_world w;    /* first: its directory, no engine (see fx_new) */
	const char *path;     /* the database: w.db */
	struct stw__store *s; /* open on path */
};

/* cmocka's setup and teardown, with a struct fixture in *state. */
int sqlite_fixture_setup(void **state);
int sqlite_fixture_teardown(void **state);

/*
 * On a raw connection of its own, beside the store's: the one integer a
 * query returns, and statements run (either fails the test on an error).
 */
int64_t sqlite_fixture_int(const char *path, const char *sql);
void sqlite_fixture_exec(const char *path, const char *sql);

#endif
