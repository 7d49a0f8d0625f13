/*
 * test_iofault.c - what an append that fails on the disk leaves behind, with
 * the fault VFS (faultvfs.h) under the engine: nothing, whether the same
 * engine goes on or the store is closed while the disk still fails and
 * opened again once it works; the engine appends again once the fault
 * clears, and its counters leave out the work a failed commit undid. The
 * voiding workload under every fault is iofault_voiding.c; these are its
 * findings, small.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "faultvfs.h"
#include "fixture.h"

struct world {
	struct fx_world w; /* first: fx_new's world */
	struct faultvfs *fv;
};

/* FULL: every commit syncs the WAL, so a sync can fail under a commit. */
static const struct stw_options full = { .synchronous = 2 };

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct world), "iofault", FX_T0) != 0)
		return -1;
	struct world *t = *state;
	if (fv_install(&t->fv, 1) != 0)
		return -1;
	return fx_world_open(&t->w, &full) == STW_OK ? 0 : -1;
}

static int teardown(void **state)
{
	struct world *t = *state;
	stw_close(t->w.e);
	t->w.e = NULL;
	fv_uninstall(t->fv);
	return fx_teardown(state);
}

static int append(struct stw_engine *e, const char *id)
{
	struct stw_event ev = { .id = id, .type = "Noted", .stream = "note", .correlation_id = id };
	return stw_append(e, "Desk", STW_ANY_VERSION, &ev, 1, NULL);
}

/* Collects the ids of a stream's events, joined by spaces. */
struct ids {
	char s[256];
};

static int collect(const struct stw_event *ev, void *ud)
{
	struct ids *ids = ud;
	size_t n = strlen(ids->s);
	snprintf(ids->s + n, sizeof ids->s - n, "%s%s", n ? " " : "", ev->id);
	return 0;
}

static void assert_stream(struct stw_engine *e, const char *want)
{
	struct ids ids = { "" };
	assert_stw_ok(e, stw_read_stream(e, "Desk", "note", collect, &ids, NULL));
	assert_string_equal(ids.s, want);
}

/*
 * iofault-1: a commit whose sync fails wrote its frames to the WAL before the
 * sync; SQLite answers the error and leaves them past the WAL's last commit.
 * Closed while the disk still fails, the store cannot checkpoint and keeps
 * the WAL; opened again, SQLite's recovery must not find the failed commit
 * there, or an append that answered an error would be stored.
 */
static void test_failed_commit_stays_undone_across_a_restart(void **state)
{
	struct world *t = *state;

	assert_stw_ok(t->w.e, append(t->w.e, "a"));
	fv_arm(t->fv, FV_SYNC, 1, 0, 1);
	assert_int_equal(append(t->w.e, "b"), STW_ESTORE);
	stw_close(t->w.e); /* its checkpoint fails too: the WAL stays */
	t->w.e = NULL;
	assert_true(fv_failed(t->fv) >= 2);
	fv_clear(t->fv);
	assert_stw_ok(NULL, fx_world_open(&t->w, &full));
	assert_stream(t->w.e, "a");
	assert_stw_ok(t->w.e, append(t->w.e, "c"));
	assert_stream(t->w.e, "a c");
}

/*
 * iofault-2: the same engine after a failed commit, its stream cache holding
 * the stream: the failed event is not read back, and the next appends take
 * the versions it would have had.
 */
static void test_engine_goes_on_after_a_failed_commit(void **state)
{
	struct world *t = *state;
	int64_t v = 0;

	assert_stw_ok(t->w.e, append(t->w.e, "a"));
	assert_stream(t->w.e, "a"); /* cached */
	fv_arm(t->fv, FV_SYNC, 1, 0, 0);
	assert_int_equal(append(t->w.e, "b"), STW_ESTORE);
	assert_stream(t->w.e, "a");
	assert_stw_ok(t->w.e, append(t->w.e, "c"));
	assert_stw_ok(t->w.e, stw_stream_version(t->w.e, "Desk", "note", &v));
	assert_int_equal(v, 2);
	assert_stream(t->w.e, "a c");
	assert_stw_ok(NULL, fx_reopen(&t->w, &full));
	assert_stream(t->w.e, "a c");
}

/*
 * iofault-3: a full disk (every write fails until cleared): appends fail and
 * store nothing; once space is back, the engine appends again.
 */
static void test_full_disk_then_space_again(void **state)
{
	struct world *t = *state;

	fv_arm(t->fv, FV_WRITE, 1, SQLITE_FULL, 1);
	assert_int_equal(append(t->w.e, "a"), STW_ESTORE);
	assert_int_equal(append(t->w.e, "b"), STW_ESTORE);
	fv_clear(t->fv);
	assert_stream(t->w.e, "");
	assert_stw_ok(t->w.e, append(t->w.e, "c"));
	assert_stw_ok(NULL, fx_reopen(&t->w, &full));
	assert_stream(t->w.e, "c");
}

/* A process for iofault-4: Noted on Desk starts one that sends Bell.Ring and ends. */
static const struct stw_state_def seen_states[] = {
	{ "Seen", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};
static const struct stw_command_def ring[] = {
	{ "Bell", "Ring", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def seen_transitions[] = {
	{ NULL, "Noted", "Seen", ring, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const desk[] = { "Desk", NULL };
static const struct stw_definition seen = {
	.name = "seen",
	.version = 1,
	.sources = desk,
	.states = seen_states,
	.transitions = seen_transitions,
};

static int bell(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	(void)ud;
	return STW_OK;
}

/*
 * iofault-4: a round whose commit fails (its step and its delivery undone
 * with it) counts neither: stw_get_stats, and /metrics with it, count the
 * work that is stored, once, when the next round does it again.
 */
static void test_failed_round_is_not_counted(void **state)
{
	struct world *t = *state;
	struct stw_stats st;

	assert_stw_ok(t->w.e, stw_register_service(t->w.e, "Bell", bell, NULL));
	assert_stw_ok(t->w.e, stw_define(t->w.e, &seen));
	/* The first round also counts an attempt at the batch (poison inputs), durably. */
	assert_stw_ok(t->w.e, append(t->w.e, "a"));
	assert_stw_ok(t->w.e, stw_run_until_idle(t->w.e));
	assert_stw_ok(t->w.e, append(t->w.e, "b"));
	fv_arm(t->fv, FV_SYNC, 1, 0, 0);
	assert_int_equal(stw_run_once(t->w.e, NULL), STW_ESTORE);
	assert_int_equal(fv_failed(t->fv), 1);
	stw_get_stats(t->w.e, &st);
	assert_int_equal(st.steps, 1);
	assert_int_equal(st.commands_delivered, 1);
	assert_stw_ok(t->w.e, stw_run_until_idle(t->w.e));
	stw_get_stats(t->w.e, &st);
	assert_int_equal(st.steps, 2);
	assert_int_equal(st.commands_delivered, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_failed_commit_stays_undone_across_a_restart,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_goes_on_after_a_failed_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_full_disk_then_space_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_round_is_not_counted, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
