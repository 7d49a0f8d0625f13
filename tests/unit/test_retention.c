/*
 * test_retention.c - unit tests of retention (src/core/retention.c, the
 * stores' prune_instances, prune_dedup and prune_commands): which ended
 * instances go with their history, timers and outbox rows and what stays,
 * the dedup window (for commands of no instance too),
 * batches of the size asked for and of the time asked for, and a pass that
 * dies in the middle.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/engine_int.h"
#include "fixture.h"

#define DAY ((int64_t)86400000)

/*
 * A payment: Requested sends Bank.Charge and arms a timeout a week away;
 * Charged completes, ChargedReceipt completes sending Mail.Receipt (no
 * service here: it stays pending), Declined (or the timeout) needs a person.
 */
static const struct stw_state_def states[] = {
	{ "Requested", STW_STATE_ACTIVE },
	{ "Charged", STW_STATE_TERMINAL },
	{ "Declined", STW_STATE_MANUAL },
	{ NULL, 0 },
};
static const struct stw_command_def charge[] = {
	{ "Bank", "Charge", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_command_def receipt[] = {
	{ "Mail", "Receipt", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_timer_def timeout[] = {
	{ "ChargeTimedOut", 7 * DAY, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "PaymentRequested", "Requested", charge, NULL, timeout },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ "Requested", "ChargedReceipt", "Charged", receipt, NULL, NULL },
	{ "Requested", "Declined", "Declined", NULL, NULL, NULL },
	{ "Requested", "ChargeTimedOut", "Declined", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", NULL };
static const char *key_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "key");
}
static const struct stw_definition pay = {
	.name = "pay",
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.unique_key = key_of,
};

/* The Bank: applies every command. */
static int bank(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	if (ud != NULL)
		(*(int *)ud)++;
	return STW_OK;
}

/* The engine's options: Mail's commands wait for another engine, pending. */
static const struct stw_options elsewhere = { .delivered_elsewhere = 1 };

static void wire(struct stw_engine *e, int *calls)
{
	assert_stw_ok(e, stw_define(e, &pay));
	assert_stw_ok(e, stw_register_service(e, "Bank", bank, calls));
}

static int setup(void **state)
{
	if (fx_setup(state, "retention", FX_T0, &elsewhere) != 0)
		return -1;
	struct fx_world *f = *state;
	wire(f->e, NULL);
	return 0;
}

static void emit(struct fx_world *f, const char *type, const char *corr, const char *key)
{
	char id[64];
	static int n;
	snprintf(id, sizeof id, "ev-%s-%s-%d", corr, type, n++);
	json_t *data = key != NULL ? json_pack("{s:s}", "key", key) : json_object();
	struct stw_event ev = {
		.id = id, .type = type, .stream = corr, .correlation_id = corr, .data = data
	};
	assert_stw_ok(f->e, stw_append(f->e, "In", STW_ANY_VERSION, &ev, 1, NULL));
	json_decref(data);
}

static void run(struct fx_world *f)
{
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
}

/* Counts the rows a store callback hands on. */
static int count_history(const struct stw__history_row *r, void *ud)
{
	(void)r;
	(*(int64_t *)ud)++;
	return 0;
}
static int count_timers(const struct stw__timer_row *r, void *ud)
{
	(void)r;
	(*(int64_t *)ud)++;
	return 0;
}
static int count_outbox(const struct stw__outbox_row *r, void *ud)
{
	(void)r;
	(*(int64_t *)ud)++;
	return 0;
}

/* The rows an instance has: [0] itself (0 or 1), [1] history, [2] timers, [3] outbox. */
struct rows {
	int64_t n[4];
};

static int found_cb(const struct stw__instance_row *r, void *ud)
{
	(void)r;
	*(int64_t *)ud = 1;
	return 0;
}

static struct rows rows_of(struct stw_engine *e, const char *id)
{
	struct rows r = { { 0 } };
	int rc = STW__S(e->store, instance_get, "pay", id, found_cb, &r.n[0]);
	assert_true(rc == STW_OK || rc == STW_ENOTFOUND);
	assert_int_equal(STW__S(e->store, history_list, "pay", id, count_history, &r.n[1]), STW_OK);
	assert_int_equal(STW__S(e->store, timers_for_instance, "pay", id, count_timers, &r.n[2]),
			 STW_OK);
	assert_int_equal(STW__S(e->store, outbox_for_instance, "pay", id, count_outbox, &r.n[3]),
			 STW_OK);
	return r;
}

static const char *status_of(struct fx_world *f, const char *id, char *buf, size_t cap)
{
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "pay", id, &o));
	snprintf(buf, cap, "%s", json_string_value(json_object_get(o, "status")));
	json_decref(o);
	return buf;
}

/* The command id of an instance's only outbox row. */
static int command_id_cb(const struct stw__outbox_row *r, void *ud)
{
	snprintf(ud, STW_MAX_ID, "%s", r->command_id);
	return 0;
}

/*
 * The cast of the tests, all made at the clock's time: c1 completed, a1
 * acknowledged, x1 cancelled, r1 rejected (its key held by act1), act1
 * active, f1 failed, pend1 completed with Mail.Receipt pending and park1
 * with it parked. Each took the In events it names; the timeouts are not
 * due yet, so every one of them still has its timer row.
 */
static void cast(struct fx_world *f)
{
	emit(f, "PaymentRequested", "c1", NULL);
	emit(f, "Charged", "c1", NULL);
	emit(f, "PaymentRequested", "a1", NULL);
	emit(f, "Declined", "a1", NULL);
	emit(f, "PaymentRequested", "x1", NULL);
	emit(f, "PaymentRequested", "act1", "k");
	emit(f, "PaymentRequested", "r1", "k");
	emit(f, "PaymentRequested", "f1", NULL);
	emit(f, "Declined", "f1", NULL);
	emit(f, "PaymentRequested", "pend1", NULL);
	emit(f, "ChargedReceipt", "pend1", NULL);
	emit(f, "PaymentRequested", "park1", NULL);
	emit(f, "ChargedReceipt", "park1", NULL);
	run(f);
	assert_stw_ok(f->e, stw_acknowledge(f->e, "pay", "a1", "seen"));
	assert_stw_ok(f->e, stw_cancel(f->e, "pay", "x1", "not wanted"));
	/* park1's receipt is the second command it sent: park it. */
	char cmd[STW_MAX_ID] = "";
	assert_int_equal(
	    STW__S(f->e->store, outbox_for_instance, "pay", "park1", command_id_cb, cmd), STW_OK);
	assert_int_equal(STW__S(f->e->store, outbox_mark, cmd, "parked", "a person looks", 0),
			 STW_OK);
	char buf[32];
	assert_string_equal(status_of(f, "c1", buf, sizeof buf), "completed");
	assert_string_equal(status_of(f, "a1", buf, sizeof buf), "acknowledged");
	assert_string_equal(status_of(f, "x1", buf, sizeof buf), "cancelled");
	assert_string_equal(status_of(f, "r1", buf, sizeof buf), "rejected");
	assert_string_equal(status_of(f, "act1", buf, sizeof buf), "active");
	assert_string_equal(status_of(f, "f1", buf, sizeof buf), "failed");
	assert_string_equal(status_of(f, "pend1", buf, sizeof buf), "completed");
	assert_string_equal(status_of(f, "park1", buf, sizeof buf), "completed");
}

static const char *const gone[] = { "c1", "a1", "x1", "r1" };
static const char *const kept[] = { "act1", "f1", "pend1", "park1", "n1" };
#define NGONE (sizeof gone / sizeof gone[0])
#define NKEPT (sizeof kept / sizeof kept[0])

/*
 * retention-1.1: a pass deletes the ended instances older than the limit
 * (completed, acknowledged, cancelled, rejected) with their history, timers
 * and outbox rows, and keeps active and failed instances, an ended one
 * newer than the limit, ended ones with a command pending or parked, every
 * event and the cursors.
 */
static void test_what_goes_what_stays(void **state)
{
	struct fx_world *f = *state;
	cast(f);
	fx_clock_advance(&f->clock, 2 * DAY);
	emit(f, "PaymentRequested", "n1", NULL);
	emit(f, "Charged", "n1", NULL);
	run(f);

	struct rows want = { { 0 } }, before[NKEPT];
	for (size_t i = 0; i < NGONE; i++) {
		struct rows r = rows_of(f->e, gone[i]);
		assert_int_equal(r.n[0], 1);
		assert_true(r.n[1] > 0);
		for (int k = 0; k < 4; k++)
			want.n[k] += r.n[k];
	}
	assert_true(want.n[2] > 0); /* timers of ended instances, void but stored */
	assert_true(want.n[3] > 0); /* their delivered commands */
	for (size_t i = 0; i < NKEPT; i++) {
		before[i] = rows_of(f->e, kept[i]);
		assert_int_equal(before[i].n[0], 1);
	}
	int64_t head = fx_head(f->e, "In"), bank_head = fx_head(f->e, "Bank"), cursor = 0;
	assert_stw_ok(f->e, stw_get_cursor(f->e, "pay", "In", &cursor));
	assert_true(cursor == head);

	struct stw_prune_opts o = { .ended_older_than_ms = DAY };
	struct stw_prune_stats st;
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.instances, NGONE);
	assert_int_equal(st.history, want.n[1]);
	assert_int_equal(st.timers, want.n[2]);
	assert_int_equal(st.outbox, want.n[3]);
	assert_int_equal(st.dedup, 0);
	for (size_t i = 0; i < NGONE; i++) {
		struct rows r = rows_of(f->e, gone[i]);
		for (int k = 0; k < 4; k++)
			assert_int_equal(r.n[k], 0);
		json_t *o2 = NULL;
		assert_int_equal(stw_get_instance(f->e, "pay", gone[i], &o2), STW_ENOTFOUND);
	}
	for (size_t i = 0; i < NKEPT; i++) {
		struct rows r = rows_of(f->e, kept[i]);
		assert_memory_equal(&r, &before[i], sizeof r);
	}
	assert_int_equal(fx_head(f->e, "In"), head);
	assert_int_equal(fx_head(f->e, "Bank"), bank_head);
	struct fx_ev_list l;
	fx_read_all(f->e, "In", &l);
	assert_int_equal(l.n, head);
	int64_t after = 0;
	assert_stw_ok(f->e, stw_get_cursor(f->e, "pay", "In", &after));
	assert_int_equal(after, cursor);

	/* Nothing is left to delete; once the held commands are settled, those go too. */
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.instances, 0);
	assert_int_equal(st.finished, 1);
	char cmd[STW_MAX_ID] = "";
	assert_int_equal(
	    STW__S(f->e->store, outbox_for_instance, "pay", "park1", command_id_cb, cmd), STW_OK);
	assert_int_equal(STW__S(f->e->store, outbox_mark, cmd, "skipped", NULL, 0), STW_OK);
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.instances, 1);
	assert_int_equal(rows_of(f->e, "park1").n[0], 0);
	assert_int_equal(rows_of(f->e, "pend1").n[0], 1);

	/* The engine goes on: a new payment runs as before. */
	emit(f, "PaymentRequested", "c2", NULL);
	run(f);
	char buf[32];
	assert_string_equal(status_of(f, "c2", buf, sizeof buf), "active");
}

/* The dedup record of a command (STW_OK or STW_ENOTFOUND). */
static int dedup_of(struct stw_engine *e, const char *context, const char *id)
{
	char err[64];
	int outcome = 0;
	return STW__S(e->store, dedup_get, context, id, &outcome, err, sizeof err);
}

/* Opens the world's engine again with the Bank counting its calls in *calls. */
static void reopen_counting(struct fx_world *f, int *calls)
{
	stw_close(f->e);
	f->e = NULL;
	assert_int_equal(fx_world_open(f, &elsewhere), STW_OK);
	wire(f->e, calls);
}

/*
 * retention-1.2: a command executed again inside the dedup window is a
 * duplicate (not applied again); once its record is older than the window
 * and a pass dropped it, the same id is executed again. Ended instances are
 * kept when their age is 0.
 */
static void test_dedup_window(void **state)
{
	struct fx_world *f = *state;
	int calls = 0;
	reopen_counting(f, &calls);
	emit(f, "PaymentRequested", "c1", NULL);
	emit(f, "Charged", "c1", NULL);
	run(f);
	assert_int_equal(calls, 1); /* c1's Charge */
	assert_stw_ok(f->e, stw_execute(f->e, "Bank", "Charge", NULL, "cmd-1", NULL, NULL));
	assert_int_equal(calls, 2);

	struct stw_prune_opts o = { .dedup_older_than_ms = DAY };
	struct stw_prune_stats st;
	fx_clock_advance(&f->clock, DAY / 2);
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.dedup, 0);
	assert_int_equal(st.dedup_looked, 2);
	assert_int_equal(dedup_of(f->e, "Bank", "cmd-1"), STW_OK);
	assert_stw_ok(f->e, stw_execute(f->e, "Bank", "Charge", NULL, "cmd-1", NULL, NULL));
	assert_int_equal(calls, 2); /* inside the window: a duplicate */

	fx_clock_advance(&f->clock, DAY);
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.dedup, 2);
	assert_int_equal(st.instances, 0);
	assert_int_equal(dedup_of(f->e, "Bank", "cmd-1"), STW_ENOTFOUND);
	assert_int_equal(rows_of(f->e, "c1").n[0], 1); /* ended_older_than_ms 0: kept */
	assert_stw_ok(f->e, stw_execute(f->e, "Bank", "Charge", NULL, "cmd-1", NULL, NULL));
	assert_int_equal(calls, 3); /* past the window: executed again */
	assert_int_equal(dedup_of(f->e, "Bank", "cmd-1"), STW_OK);
}

/* 1 when the outbox has command id, else 0. */
static int64_t in_outbox(struct stw_engine *e, const char *id)
{
	int64_t n = 0;
	int rc = STW__S(e->store, outbox_get, id, count_outbox, &n);
	assert_true(rc == STW_OK || rc == STW_ENOTFOUND);
	return n;
}

/*
 * retention-1.8: a command of no instance (stw_send), once delivered, stays
 * in the outbox for the dedup window: sent again inside it, it is not sent
 * again; a pass after the window deletes it (with its dedup record) and the
 * same id is then sent and delivered again. An instance's delivered command
 * is not this sweep's (it goes with its instance).
 */
static void test_commands_of_no_instance(void **state)
{
	struct fx_world *f = *state;
	int calls = 0;
	reopen_counting(f, &calls);
	emit(f, "PaymentRequested", "c1", NULL);
	assert_stw_ok(f->e, stw_send(f->e, "Bank", "Charge", NULL, "send-1", NULL, NULL));
	run(f);
	assert_int_equal(calls, 2); /* c1's Charge, send-1 */

	struct stw_prune_opts o = { .dedup_older_than_ms = DAY };
	struct stw_prune_stats st;
	fx_clock_advance(&f->clock, DAY / 2);
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.commands, 0);
	assert_int_equal(in_outbox(f->e, "send-1"), 1);
	assert_stw_ok(f->e, stw_send(f->e, "Bank", "Charge", NULL, "send-1", NULL, NULL));
	run(f);
	assert_int_equal(calls, 2); /* inside the window: not sent again */

	fx_clock_advance(&f->clock, DAY);
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.commands, 1);
	assert_int_equal(st.dedup, 2);
	assert_int_equal(in_outbox(f->e, "send-1"), 0);
	assert_int_equal(rows_of(f->e, "c1").n[3], 1); /* the instance's command stays */
	assert_stw_ok(f->e, stw_send(f->e, "Bank", "Charge", NULL, "send-1", NULL, NULL));
	run(f);
	assert_int_equal(calls, 3); /* past the window: sent and delivered again */
	assert_int_equal(in_outbox(f->e, "send-1"), 1);
}

/* Makes n completed payments "b0".."b<n-1>". */
static void completed(struct fx_world *f, int n)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof id, "b%d", i);
		emit(f, "PaymentRequested", id, NULL);
		emit(f, "Charged", id, NULL);
	}
	run(f);
}

static int count_instance(const struct stw__instance_row *r, void *ud)
{
	(void)r;
	(*(int *)ud)++;
	return 0;
}

/* The ended instances of pay in the store (of every ended status), read outside any transaction. */
static int ended_left(struct stw__store *s)
{
	static const char *const ended[] = { "completed", "acknowledged", "cancelled", "rejected" };
	int n = 0;
	for (size_t i = 0; i < sizeof ended / sizeof ended[0]; i++) {
		struct stw__instance_query q = { .definition = "pay", .status = ended[i] };
		assert_int_equal(STW__S(s, list_instances, &q, count_instance, &n), STW_OK);
	}
	return n;
}

/* What the failpoints saw: the ended instances left after each commit. */
struct batches {
	struct stw_engine *e;
	int n;
	int left[16];
};

static void after_commit(const char *name, void *ud)
{
	struct batches *b = ud;
	if (strcmp(name, "prune.after_commit") == 0 && b->e != NULL && b->n < 16)
		b->left[b->n++] = ended_left(b->e->store);
}

/*
 * Reopens the engine with failpoint fp (ud: b), makes 25 completed payments
 * and moves the clock two days on; b then watches the store.
 */
static void old_payments(struct fx_world *f, stw_failpoint_fn fp, struct batches *b)
{
	struct stw_options o = elsewhere;
	o.failpoint = fp;
	o.failpoint_ud = b;
	assert_int_equal(fx_reopen(f, &o), STW_OK);
	wire(f->e, NULL);
	completed(f, 25);
	b->e = f->e;
	fx_clock_advance(&f->clock, 2 * DAY);
}

/*
 * retention-1.3: a pass deletes at most batch instances per transaction,
 * starting at 8 and doubling while the statements take less than half of
 * batch_ms (a minute here, never reached): 25 in batches of at most 10
 * commit 8, 10 and 7 (the last one short, so the definition is done), the
 * dedup sweep 25 records in batches of 8, 10, 7 three more, and the sweep
 * of commands of no instance one (an empty outbox: the Charges went with
 * their instances).
 */
static void test_batches(void **state)
{
	struct fx_world *f = *state;
	struct batches b = { 0 };
	old_payments(f, after_commit, &b);
	struct stw_prune_opts po = { .ended_older_than_ms = DAY, .batch = 10, .batch_ms = 60000 };
	struct stw_prune_stats st;
	assert_stw_ok(f->e, stw_prune(f->e, &po, &st));
	assert_int_equal(st.instances, 25);
	assert_int_equal(st.batches, 3);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.left[0], 17);
	assert_int_equal(b.left[1], 7);
	assert_int_equal(b.left[2], 0);

	/* 25 dedup records (the Charges) in windows of 8, 10, then the last 7; the outbox's. */
	b.n = 0;
	po = (struct stw_prune_opts){ .dedup_older_than_ms = DAY, .batch = 10, .batch_ms = 60000 };
	assert_stw_ok(f->e, stw_prune(f->e, &po, &st));
	assert_int_equal(st.dedup, 25);
	assert_int_equal(st.dedup_looked, 25);
	assert_int_equal(st.commands, 0);
	assert_int_equal(st.batches, 4);
	assert_int_equal(st.finished, 1);
	b.e = NULL;
}

/* The child's failpoint: dies before the second batch commits. */
static void die_at_second(const char *name, void *ud)
{
	int *seen = ud;
	if (strcmp(name, "prune.before_commit") == 0 && ++*seen == 2)
		_exit(0);
}

/*
 * retention-1.4: a pass that dies in its second batch (before it commits)
 * loses nothing that should stay: the first batch is gone, the second's
 * instances are all there with their rows, every kept instance has every
 * row, and the next pass finishes the job.
 */
static void test_crash_mid_pass(void **state)
{
	struct fx_world *f = *state;
	cast(f);
	completed(f, 25);
	fx_clock_advance(&f->clock, 2 * DAY);
	emit(f, "PaymentRequested", "n1", NULL);
	emit(f, "Charged", "n1", NULL);
	run(f);
	struct rows before[NKEPT];
	for (size_t i = 0; i < NKEPT; i++)
		before[i] = rows_of(f->e, kept[i]);
	int64_t head = fx_head(f->e, "In");
	stw_close(f->e);
	f->e = NULL;

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int seen = 0;
		struct stw_engine *e = NULL;
		struct stw_options o = elsewhere;
		o.failpoint = die_at_second;
		o.failpoint_ud = &seen;
		if (fx_open(f, NULL, &o, &e) != STW_OK || stw_define(e, &pay) != STW_OK)
			_exit(3);
		struct stw_prune_opts po = { .ended_older_than_ms = DAY, .batch = 10 };
		struct stw_prune_stats st;
		if (stw_prune(e, &po, &st) != STW_OK)
			_exit(5);
		_exit(4);
	}
	fx_expect_exit(pid, 0);

	assert_int_equal(fx_world_open(f, &elsewhere), STW_OK);
	wire(f->e, NULL);
	/* 25 + c1, a1, x1, r1 ended and old, n1 new, pend1 and park1 held: 8 went in the first
	 * batch (a pass's first). */
	assert_int_equal(ended_left(f->e->store), 25 + NGONE + 3 - 8);
	for (size_t i = 0; i < NKEPT; i++) {
		struct rows r = rows_of(f->e, kept[i]);
		assert_memory_equal(&r, &before[i], sizeof r);
	}
	assert_int_equal(fx_head(f->e, "In"), head);

	struct stw_prune_opts po = { .ended_older_than_ms = DAY, .batch = 10 };
	struct stw_prune_stats st;
	assert_stw_ok(f->e, stw_prune(f->e, &po, &st));
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.instances, 25 + NGONE - 8);
	assert_int_equal(ended_left(f->e->store), 3); /* n1, pend1, park1 */
	for (size_t i = 0; i < NKEPT; i++) {
		struct rows r = rows_of(f->e, kept[i]);
		assert_memory_equal(&r, &before[i], sizeof r);
	}
	for (size_t i = 0; i < NGONE; i++)
		assert_int_equal(rows_of(f->e, gone[i]).n[0], 0);
}

/* The failpoint of test_resume: each batch lasts past max_ms. */
static void slow_batch(const char *name, void *ud)
{
	(void)ud;
	if (strcmp(name, "prune.after_commit") == 0)
		usleep(3000);
}

/*
 * retention-1.6: max_ms stops a pass after a batch (finished 0), and the next
 * call goes on where it stopped, the dedup sweep from its key: records kept
 * at the start of the table are looked at once, not at every call.
 */
static void test_resume(void **state)
{
	struct fx_world *f = *state;
	struct stw_options o = elsewhere;
	o.failpoint = slow_batch;
	assert_int_equal(fx_reopen(f, &o), STW_OK);
	wire(f->e, NULL);
	completed(f, 25);
	fx_clock_advance(&f->clock, 2 * DAY);
	/* Ten records newer than the limit, first in key order ('!' sorts before the derived ids).
	 */
	for (int i = 0; i < 10; i++) {
		char id[16];
		snprintf(id, sizeof id, "!new-%d", i);
		assert_stw_ok(f->e, stw_execute(f->e, "Bank", "Charge", NULL, id, NULL, NULL));
	}
	struct stw_prune_opts po = { .ended_older_than_ms = DAY,
				     .dedup_older_than_ms = DAY,
				     .batch = 10,
				     .max_ms = 1,
				     .batch_ms = 60000 };
	struct stw_prune_stats st, sum = { 0 };
	int calls = 0;
	do {
		assert_stw_ok(f->e, stw_prune(f->e, &po, &st));
		assert_int_equal(st.batches, 1);
		sum.instances += st.instances;
		sum.dedup += st.dedup;
		sum.dedup_looked += st.dedup_looked;
		calls++;
	} while (!st.finished && calls < 20);
	assert_int_equal(st.finished, 1);
	/* instances 8, 10, 7; dedup windows 8, 10, 10, 7; the (empty) outbox's */
	assert_int_equal(calls, 3 + 4 + 1);
	assert_int_equal(sum.instances, 25);
	assert_int_equal(sum.dedup, 25);
	assert_int_equal(sum.dedup_looked, 35);
	assert_int_equal(dedup_of(f->e, "Bank", "!new-0"), STW_OK);
}

/* The failpoint of test_batch_time: each batch's statements take 3 ms, past batch_ms. */
static void slow_statements(const char *name, void *ud)
{
	if (strcmp(name, "prune.before_commit") == 0)
		usleep(3000);
	after_commit(name, ud);
}

/*
 * retention-1.7: a batch whose statements took longer than batch_ms (2 ms
 * by default) makes the next one half as large, down to 1, whatever batch
 * allows: 25 instances go 8, 4, 2, then one by one (11 batches of 1, and
 * one that finds none).
 */
static void test_batch_time(void **state)
{
	struct fx_world *f = *state;
	struct batches b = { 0 };
	old_payments(f, slow_statements, &b);
	struct stw_prune_opts po = { .ended_older_than_ms = DAY };
	struct stw_prune_stats st;
	assert_stw_ok(f->e, stw_prune(f->e, &po, &st));
	assert_int_equal(st.instances, 25);
	assert_int_equal(st.finished, 1);
	assert_int_equal(st.batches, 3 + 11 + 1);
	assert_int_equal(b.n, 15);
	static const int left[] = { 17, 13, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0 };
	for (int i = 0; i < 15; i++)
		assert_int_equal(b.left[i], left[i]);
	b.e = NULL;
}

/* retention-1.5: stw_prune refuses bad options and a call inside stw_begin. */
static void test_refusals(void **state)
{
	struct fx_world *f = *state;
	struct stw_prune_stats st;
	struct stw_prune_opts bad = { .ended_older_than_ms = -1 };
	assert_int_equal(stw_prune(f->e, &bad, &st), STW_EINVAL);
	bad = (struct stw_prune_opts){ .ended_older_than_ms = DAY, .batch = STW_MAX_LIST + 1 };
	assert_int_equal(stw_prune(f->e, &bad, &st), STW_EINVAL);
	bad = (struct stw_prune_opts){ .ended_older_than_ms = DAY, .batch_ms = -1 };
	assert_int_equal(stw_prune(f->e, &bad, &st), STW_EINVAL);
	assert_int_equal(stw_prune(f->e, NULL, &st), STW_EINVAL);
	struct stw_prune_opts o = { .ended_older_than_ms = DAY };
	assert_int_equal(stw_prune(f->e, &o, NULL), STW_EINVAL);
	assert_stw_ok(f->e, stw_begin(f->e));
	assert_int_equal(stw_prune(f->e, &o, &st), STW_ESTATE);
	assert_stw_ok(f->e, stw_commit(f->e));
	assert_stw_ok(f->e, stw_prune(f->e, &o, &st));
	assert_int_equal(st.finished, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_what_goes_what_stays, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_dedup_window, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batches, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_crash_mid_pass, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch_time, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_commands_of_no_instance, setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
