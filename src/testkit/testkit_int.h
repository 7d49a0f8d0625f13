/*
 * testkit_int.h - what the files of libsteward_test share: the scenario's
 * handle, and the failures and reads its calls (testkit.c) and its
 * expectations (expect.c) both use. Not installed.
 */
#ifndef STW_TESTKIT_INT_H
#define STW_TESTKIT_INT_H

#include <steward_test.h>

#define STW__TEST_HIDDEN __attribute__((visibility("hidden")))

#define MAX_STUBS   64
#define MAX_QUEUED  256
#define MAX_CURSORS 128
#define PATH_CAP    512
#define STORE_CAP   2048

struct stub {
	char context[STW_MAX_NAME], type[STW_MAX_NAME], answer[STW_MAX_NAME], refusal[256];
};

/* An event given while STW_TEST_SHUFFLE holds events back. */
struct queued {
	char context[STW_MAX_NAME], stream[STW_MAX_ID], type[STW_MAX_NAME];
	char id[32], correlation[STW_MAX_ID];
	json_t *data;
};

struct cursor {
	char definition[STW_MAX_NAME], context[STW_MAX_NAME];
	int64_t position;
};

struct stw_test {
	struct stw_test_options o;
	stw_test_setup_fn setup;
	void *ud;
	struct stw_clock clock;
	int64_t now;
	char dir[PATH_CAP]; /* the temporary directory of the kit's own store; "" for a given one */
	char db[STORE_CAP]; /* what stw_open opens: dir/test.db, or stw_test_options.store */
	struct stw_engine *e;
	long next_id;
	uint64_t rng;
	struct stub stubs[MAX_STUBS];
	int nstubs;
	struct queued queue[MAX_QUEUED];
	int nqueued;
	int held;                           /* stw_test_hold: the engine does not run */
	struct cursor held_at[MAX_CURSORS]; /* the cursors at stw_test_hold (STW_TEST_DUPLICATES) */
	int nheld_at;
	int failures;
	int reopens;
	char why[4096];
};

/*
 * Records a failure (why, and the history of instance id of definition when
 * id is not NULL), prints it unless quiet; returns -1.
 */
STW__TEST_HIDDEN int stw__test_fail(struct stw_test *t, const char *definition, const char *id,
				    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A failure of the engine's call `what` with code rc and the engine's message; returns -1. */
STW__TEST_HIDDEN int stw__test_fail_engine(struct stw_test *t, const char *what, int rc);

/* Appends the events STW_TEST_SHUFFLE held back; 0, or -1 after recording why. */
STW__TEST_HIDDEN int stw__test_flush(struct stw_test *t);

/* Parses data_json (NULL: an empty object) into *out; -1 after recording why. */
STW__TEST_HIDDEN int stw__test_parse(struct stw_test *t, const char *what, const char *data_json,
				     json_t **out);

#endif /* STW_TESTKIT_INT_H */
