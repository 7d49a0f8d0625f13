/*
 * test_contract_sqlite.c - the store contract (tests/store/contract*.c) on
 * the SQLite backend (src/store/sqlite*.c): each case on a fresh database,
 * store.db in the case's temporary directory, with synchronous=NORMAL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include <steward.h>

#include "contract.h"
#include "fixture.h"
#include "store/sqlite.h"

/* Opens dir/store.db, creating it at the first call. */
static int open_sqlite(const char *dir, struct stw__store **out)
{
	char path[FX_PATH + 16];
	char err[256] = "";
	struct stw__sqlite_options o = { .synchronous = 1 };
	snprintf(path, sizeof path, "%s/store.db", dir);
	int rc = stw__sqlite_open(path, &o, out, err, sizeof err);
	if (rc != STW_OK)
		print_error("opening %s: %s: %s\n", path, stw_strerror(rc), err);
	return rc;
}

int main(void)
{
	return contract_run("store contract: sqlite", open_sqlite, NULL);
}
