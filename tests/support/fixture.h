/*
 * fixture.h - what the C tests share: a temporary directory per test, a
 * virtual clock that only the test moves, engines opened on a database in
 * that directory with that clock, input events and a read callback that
 * copies what it is handed, a scripted service, and an assertion that names
 * the engine's error message when a call fails.
 *
 * Test code only: it prints through cmocka and may be used from a child
 * process between fork() and _exit().
 */
#ifndef STW_TEST_FIXTURE_H
#define STW_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <steward.h>

/* 14 November 2023, 22:13:20 UTC: the time most fixtures start at. */
#define FX_T0 ((int64_t)1700000000000)

/* Room for a temporary directory's path (fx_tmpdir_make fails past it). */
#define FX_PATH 512

/* ------------------------------------------------------------------------ */
/* Temporary directories                                                    */

/*
 * Creates a new directory "$TMPDIR/stw-<tag>-XXXXXX" (/tmp when TMPDIR is
 * unset or empty) with mkdtemp and writes its path into dir (cap bytes).
 * Returns 0, or -1 with errno set (ENAMETOOLONG when cap is too small).
 */
int fx_tmpdir_make(char *dir, size_t cap, const char *tag);

/*
 * Removes a directory made by fx_tmpdir_make and everything in it (nftw,
 * depth first, links not followed). Refuses (-1, EINVAL) a path whose last
 * component does not start with "stw-", so that a wrong path cannot remove
 * anything else. Returns 0 or -1 with errno set.
 */
int fx_tmpdir_remove(const char *dir);

/*
 * For test programs that keep databases in a directory: the one named
 * `given`, made if missing and kept, or when `given` is NULL a new one of
 * fx_tmpdir_make with `tag` (*made set to 1: the caller removes it with
 * fx_tmpdir_remove when all went well). Its path goes into dir (cap bytes).
 * Returns 0, or -1 with errno set.
 */
int fx_dir_open(char *dir, size_t cap, const char *given, const char *tag, int *made);

/* Removes an SQLite database file and its -wal, -shm and -journal files; missing ones are fine. */
void fx_remove_db(const char *db);

/* A test program's numeric argument: a whole decimal number of at least min. Returns 0 or -1. */
int fx_parse_long(const char *s, long min, long *out);

/* ------------------------------------------------------------------------ */
/* PostgreSQL stores                                                        */

/*
 * The tests run on SQLite, or on PostgreSQL when STEWARD_TEST_STORE is "pg":
 * then STEWARD_TEST_PG_URL names the server (a libpq URI; the cluster of
 * scripts/pg-cluster.sh), and each store is a schema of its own in it.
 */

/* 1 when the tests run on PostgreSQL (STEWARD_TEST_STORE=pg), else 0. */
int fx_on_pg(void);

/* STEWARD_TEST_PG_URL, or NULL when it is unset or empty. */
const char *fx_pg_server(void);

/*
 * Makes (if missing) the schema of the store of a test directory (`name`
 * NULL: its main store, else another one, say "b.db") on the server, and
 * writes the store's URL into url (cap bytes): the server's with that schema
 * first in its search path. Returns 0, or -1 after printing why.
 */
int fx_pg_store(const char *dir, const char *name, char *url, size_t cap);

/*
 * Runs one statement through a connection of its own to url (a store's URL
 * from fx_pg_store) and puts the first column of its first row, as an
 * integer (0 for none or NULL), into *out (may be NULL). Returns 0, or -1
 * after printing why.
 */
int fx_pg_scalar(const char *url, const char *sql, long long *out);

/* Drops the schemas fx_pg_store made for a test directory. Returns 0 or -1. */
int fx_pg_drop(const char *dir);

/* Milliseconds of the monotonic clock. */
int64_t fx_mono_ms(void);

struct stw_cluster;
/*
 * Joins `worker` to the cluster of the store at `url` (lease and renewal in
 * ms, the fence audit on; its log on stderr with STEWARD_TEST_VERBOSE set);
 * fails the test when it cannot.
 */
struct stw_cluster *fx_cluster_join(const char *url, const char *worker, int64_t lease_ms,
				    int64_t renew_ms);

/* ------------------------------------------------------------------------ */
/* The virtual clock                                                        */

/*
 * A clock for stw_options.clock: its readings are `now`, which moves only
 * when the test moves it, plus `tick` ms after each reading (0: never), for
 * tests that want every reading to differ. Pass &clock->stw to the engine;
 * the engine copies that struct, which keeps pointing at this clock, so the
 * clock must outlive the engines that use it.
 */
struct fx_clock {
	struct stw_clock stw; /* now_ms and ud, as the engine wants them */
	int64_t now;          /* the next reading */
	int64_t tick;         /* how far each reading moves now */
};

/* Sets the clock to `now`, with no tick. */
void fx_clock_init(struct fx_clock *c, int64_t now);

/* Moves the clock to `now` (back in time too). */
void fx_clock_set(struct fx_clock *c, int64_t now);

/* Moves the clock `ms` forward. */
void fx_clock_advance(struct fx_clock *c, int64_t ms);

/* ------------------------------------------------------------------------ */
/* A test's world: a directory, a database file, a clock and an engine       */

struct fx_world {
	char dir[FX_PATH];      /* the temporary directory ("" before fx_world_init) */
	char db[FX_PATH + 256]; /* the engine's store: dir/test.db, or a PostgreSQL URL */
	struct fx_clock clock;  /* every engine the world opens reads it */
	struct stw_engine *e;   /* the engine of fx_world_open; NULL before */
};

/*
 * Makes the world's temporary directory (see fx_tmpdir_make), names its
 * store (dir/test.db, or on PostgreSQL a schema of its own) and starts its
 * clock at `now`; no engine is open yet. Returns 0, or -1 with nothing made.
 */
int fx_world_init(struct fx_world *w, const char *tag, int64_t now);

/*
 * The world's engines are opened with a copy of *o, or with options all zero
 * when o is NULL, and with the world's clock when o->clock is NULL. All zero
 * means synchronous=0 (OFF): nobody pulls the plug in these tests, and fsyncs
 * would only slow them.
 */

/*
 * Opens w->e on the world's database with the options o: a fresh engine
 * the first time, the same store again after the test closed w->e (as after
 * a restart). An engine still in w->e is overwritten, not closed. Returns
 * stw_open's code; w->e is NULL on failure.
 */
int fx_world_open(struct fx_world *w, const struct stw_options *o);

/* Closes w->e and opens it again on the same file (fx_world_open): a restart. */
int fx_reopen(struct fx_world *w, const struct stw_options *o);

/*
 * Opens another engine with the options o on the world's database when
 * name is NULL (a second engine on the same store), else on the file `name`
 * in the world's directory (on PostgreSQL, a schema of that name). The
 * caller closes *out. Returns stw_open's code.
 */
int fx_open(struct fx_world *w, const char *name, const struct stw_options *o,
	    struct stw_engine **out);

/*
 * Closes w->e (open or NULL: a test that closes it for good sets it NULL) and
 * removes the directory with everything in it (on PostgreSQL, its schemas).
 * Returns 0 or -1.
 */
int fx_world_fini(struct fx_world *w);

/*
 * cmocka setups and teardown. A test's state is a world, or a struct of the
 * test's own whose first member is its world (so that a pointer to it is a
 * pointer to the world).
 *
 * fx_new allocates `size` zeroed bytes (at least a world) into *state and
 * makes the world's directory and clock (fx_world_init), with no engine open.
 * fx_setup allocates a world alone the same way and opens w->e
 * (fx_world_open with o). fx_teardown closes the engine, removes the
 * directory and frees the state. Each returns 0, or -1 after printing why
 * (fx_new and fx_setup then leave nothing behind).
 */
int fx_new(void **state, size_t size, const char *tag, int64_t now);
int fx_setup(void **state, const char *tag, int64_t now, const struct stw_options *o);
int fx_teardown(void **state);

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

/*
 * Writes v as compact JSON with its keys sorted into buf (cap bytes, cut to
 * fit), "(null)" when v is NULL or cannot be written.
 */
void fx_json_dump(char *buf, size_t cap, json_t *v);

/* An input event with just the required fields (and an id, NULL to generate). */
struct stw_event fx_event(const char *type, const char *stream, const char *id);

/* The head of a context (stw_head), failing the test when it cannot be read. */
int64_t fx_head(struct stw_engine *e, const char *context);

/* A copy of one event seen by a read callback (fx_record_cb). */
struct fx_rec {
	int64_t position;
	int64_t stream_version;
	int64_t recorded_at;
	char context[STW_MAX_NAME];
	char id[STW_MAX_ID];
	char type[STW_MAX_NAME];
	char stream[STW_MAX_ID];
	char corr[STW_MAX_ID]; /* "" when NULL (see has_corr) */
	char caus[STW_MAX_ID];
	int has_corr;
	int has_caus;
	char data[256]; /* compact, sorted keys */
	char meta[256];
};

/* Events collected by fx_record_cb; stops after stop_at events when stop_at > 0. */
struct fx_recs {
	int n;
	int stop_at;
	struct fx_rec r[32];
};

/*
 * A read callback (stw_read, stw_read_stream) with a struct fx_recs as ud:
 * copies the event into the next of its 32 records (counting past them
 * without copying) and asks to stop once stop_at events are counted.
 */
int fx_record_cb(const struct stw_event *ev, void *ud);

/* ------------------------------------------------------------------------ */
/* A scripted service                                                       */

/*
 * The Shop service of the dispatch tests: a handler for the context "Shop"
 * whose behaviour a struct fx_shop scripts (emit, refuse, fail transiently,
 * re-enter the engine), and a stateless policy that sends it Shop.Ship for
 * every "Ordered" event of "Sales".
 */

/* A copy of a command as the handler saw it. */
struct fx_cmd_copy {
	char id[STW_MAX_ID];
	char context[STW_MAX_NAME];
	char type[STW_MAX_NAME];
	char corr[STW_MAX_ID]; /* "" when NULL (see has_corr) */
	char caus[STW_MAX_ID];
	int has_corr;
	int has_caus;
	char data[256]; /* compact, sorted keys */
};

/* What fx_shop_handler does, set by the test, and what it saw. */
struct fx_shop {
	int calls;
	int emit;       /* events to emit per command, each after reading the stream */
	int reject;     /* after emitting: refuse with "out of stock for <order>" */
	int transient;  /* calls left that fail with STW_ESTORE (after emitting) */
	int stale_emit; /* emit with a stale version and return its code */
	int reenter;    /* call engine entry points that must refuse from inside */
	int rc_execute, rc_run_once, rc_append;
	int64_t seen_version[4]; /* stream version read before each emit */
	struct fx_cmd_copy last;
};

/*
 * The Shop handler (ud: a struct fx_shop). Copies the command into last,
 * then does what the struct says: emits to stream "shipment-<order>" (the
 * command's data's "order", "none" without one), each event {"order", "n"}
 * at the version it just read, and answers STW_OK, STW_ESTORE, a refusal or
 * the stale emit's code.
 */
int fx_shop_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/* Stateless: an Ordered event in Sales sends Shop.Ship (payload: the event data). */
extern const struct stw_definition fx_ship_policy;

/* Defines the policy and registers the scripted Shop service. */
void fx_shop_wire(struct stw_engine *e, const struct stw_definition *def, struct fx_shop *s);

/* Appends Sales "Ordered" {"order": order} with the given id and correlation id. */
void fx_order(struct stw_engine *e, const char *event_id, const char *corr, const char *order_id);

/* The engine's counters (stw_get_stats); all bits set where it writes nothing. */
struct stw_stats fx_stats(struct stw_engine *e);

/* A copy of one event read back by fx_collect_cb ("(null)" for a NULL correlation or causation). */
struct fx_ev_copy {
	int64_t stream_version;
	int64_t recorded_at;
	char id[STW_MAX_ID];
	char type[STW_MAX_NAME];
	char stream[STW_MAX_ID];
	char corr[STW_MAX_ID];
	char caus[STW_MAX_ID];
	char data[256];
};

/* The first 8 events read, and how many were read. */
struct fx_ev_list {
	int n;
	struct fx_ev_copy ev[8];
};

/* A read callback with a struct fx_ev_list as ud: copies each event, never stops. */
int fx_collect_cb(const struct stw_event *ev, void *ud);

/* Reads up to 100 events of a context from the start into *l (cleared first). */
void fx_read_all(struct stw_engine *e, const char *context, struct fx_ev_list *l);

/* Observations counted by kind (fx_count_activity, an observer with ud a struct fx_seen). */
struct fx_seen {
	int n[8];
	int total;
};

void fx_count_activity(const struct stw_activity *a, void *ud);

/* ------------------------------------------------------------------------ */
/* Assertions                                                               */

/*
 * Fails the test unless `expr` is STW_OK, printing the expression, the
 * code's name and stw_errmsg(e) (e may be NULL). `expr` is evaluated once,
 * before e.
 */
#define assert_stw_ok(e, expr)                                                                     \
	do {                                                                                       \
		int fx_rc_ = (expr);                                                               \
		fx_check_ok((e), fx_rc_, #expr, __FILE__, __LINE__);                               \
	} while (0)

/* Waits for the child process pid and fails the test unless it exited with `code`. */
void fx_expect_exit(pid_t pid, int code);

/* The body of assert_stw_ok: fails the test at file:line unless rc is STW_OK. */
void fx_check_ok(const struct stw_engine *e, int rc, const char *expr, const char *file, int line);

/*
 * Fails the test unless instance id of `definition` is in `state` with
 * `status`, of definition version `version` (the one that created it, or
 * the one it was migrated to).
 */
void fx_expect_instance(struct stw_engine *e, const char *definition, const char *id,
			const char *state, const char *status, int version);

/*
 * A deploy: closes the world's engine and opens it again with the
 * definitions of the NULL-ended list `defs` registered in that order.
 */
void fx_redeploy(struct fx_world *w, const struct stw_definition *const *defs);

#endif /* STW_TEST_FIXTURE_H */
