/*
 * contract.h - the store contract: what every backend of the storage
 * interface (src/store/store.h) must do, as tests that reach a store only
 * through its operations (struct stw__store_ops). A backend's test program
 * runs them against an opener of its own (tests/store/test_contract_sqlite.c
 * for SQLite, test_contract_postgres.c for PostgreSQL).
 *
 * Nothing in the contract knows the backend: no SQL, no file, only the
 * directory handed to the opener. What only one backend does (its schema,
 * its files, its messages) is tested by that backend's own tests. How the
 * engine nests its transactions on the backend's plain ones is the core's
 * (src/core/txn.c, tests/unit/test_txn.c).
 */
#ifndef STW_TEST_CONTRACT_H
#define STW_TEST_CONTRACT_H

#include <stddef.h>

struct stw__store;

/*
 * Opens the backend's store kept in `dir`, an empty directory made for the
 * test: the first call creates it, later calls open the same store again
 * (another connection, as another process would). Returns STW_OK with *out
 * to close with its close operation, or a code (after printing why).
 */
typedef int (*contract_open_fn)(const char *dir, struct stw__store **out);

/*
 * Removes what the opener made outside `dir` for the store kept there (a
 * PostgreSQL schema), after the case closed it. Returns 0 or -1.
 */
typedef int (*contract_drop_fn)(const char *dir);

/* One test of the contract: its name and body. */
struct contract_case {
	const char *name;
	void (*run)(void **state);
};

/* Every test of the contract, in the order they run. */
extern const struct contract_case contract_cases[];
extern const size_t contract_ncases;

/*
 * Runs every case as a cmocka group named `group`, each on a fresh store
 * that `open` opens in a new temporary directory (removed after the case,
 * with what `drop` removes, when it is not NULL). Returns the number of
 * failed cases, as cmocka_run_group_tests does.
 */
int contract_run(const char *group, contract_open_fn open, contract_drop_fn drop);

#endif /* STW_TEST_CONTRACT_H */
