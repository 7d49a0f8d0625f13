/*
 * test_contract_postgres.c - the store contract (tests/store/contract*.c) on
 * the PostgreSQL backend (src/store/postgres*.c): each case on a fresh
 * store, a schema of its own on the server STEWARD_TEST_PG_URL names (the
 * cluster of scripts/pg-cluster.sh), dropped after the case. Skipped (77)
 * when the variable is unset.
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
#include "store/store.h"

/* Opens the store of schema "<dir's name>", creating the schema at the first call. */
static int open_postgres(const char *dir, struct stw__store **out)
{
	char url[FX_PATH + 256];
	char err[256] = "";
	if (fx_pg_store(dir, NULL, url, sizeof url) != 0)
		return STW_ESTORE;
	int rc = stw__store_open(url, NULL, out, err, sizeof err);
	if (rc != STW_OK)
		print_error("opening %s: %s: %s\n", url, stw_strerror(rc), err);
	return rc;
}

int main(void)
{
	if (fx_pg_server() == NULL) {
		fprintf(stderr, "STEWARD_TEST_PG_URL is not set: skipped\n");
		return 77;
	}
	return contract_run("store contract: postgres", open_postgres, fx_pg_drop);
}
