/*
 * contract_retention.c - the store contract on retention: ended instances
 * deleted with their rows (prune_instances), the sweep of the dedup table
 * (prune_dedup) and that of the delivered commands of no instance
 * (prune_commands).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "contract_int.h"

/* An instance of d with one history row, one timer and one command of status cmd_status. */
static void instance_with_rows(struct stw__store *s, const char *id, const char *status,
			       int64_t updated_at, const char *cmd_status)
{
	struct stw__instance_row r = inst("d", id, status, NULL, updated_at);
	assert_int_equal(STW__S(s, instance_insert, &r), STW_OK);
	struct stw__history_row h = { .definition = "d",
				      .instance_id = id,
				      .message_id = "m1",
				      .message_type = "T",
				      .outcome = "applied",
				      .at = updated_at };
	assert_int_equal(STW__S(s, history_insert, &h), STW_OK);
	struct stw__timer_row t = { .id = "t1",
				    .definition = "d",
				    .instance_id = id,
				    .message_type = "Tick",
				    .due_at = updated_at + 1000,
				    .entered_version = 1,
				    .armed_by = "m1",
				    .created_at = updated_at };
	assert_int_equal(STW__S(s, timer_insert, &t), STW_OK);
	char cmd[32];
	snprintf(cmd, sizeof cmd, "cmd-%s", id);
	struct stw__outbox_row o = contract_cmd(cmd, "Bank", id);
	o.status = cmd_status;
	assert_int_equal(STW__S(s, outbox_insert, &o), STW_OK);
}

/* The rows of instance d/id: itself, history, timers, outbox. */
static int rows_of(struct stw__store *s, const char *id)
{
	struct instances in = { 0 };
	struct strings h = { 0 }, t = { 0 }, o = { 0 };
	int rc = STW__S(s, instance_get, "d", id, collect_instance, &in);
	assert_true(rc == STW_OK || rc == STW_ENOTFOUND);
	assert_int_equal(STW__S(s, history_list, "d", id, collect_history, &h), STW_OK);
	assert_int_equal(STW__S(s, timers_for_instance, "d", id, count_timer, &t), STW_OK);
	assert_int_equal(STW__S(s, outbox_for_instance, "d", id, collect_outbox, &o), STW_OK);
	return in.n + h.n + t.n + o.n;
}

/*
 * prune_instances deletes, in the caller's transaction, at most limit ended
 * instances of one definition updated before the time, each with its
 * history, timers and final outbox rows; active and failed ones, newer
 * ones, those of another definition and those with a command pending or
 * parked stay whole. A rollback undoes it.
 */
void contract_test_prune_instances(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	static const char *const old[] = { "c", "a", "x", "r", "c2" };
	static const char *const status[] = { "completed", "acknowledged", "cancelled", "rejected",
					      "completed" };
	static const char *const cmd[] = { "delivered", "skipped", "rejected", "delivered",
					   "delivered" };
	for (int i = 0; i < 5; i++)
		instance_with_rows(s, old[i], status[i], 100, cmd[i]);
	instance_with_rows(s, "act", "active", 100, "delivered");
	instance_with_rows(s, "fail", "failed", 100, "delivered");
	instance_with_rows(s, "new", "completed", 500, "delivered");
	instance_with_rows(s, "pend", "completed", 100, "pending");
	instance_with_rows(s, "park", "completed", 100, "parked");
	struct stw__instance_row other = inst("e", "c", "completed", NULL, 100);
	assert_int_equal(STW__S(s, instance_insert, &other), STW_OK);

	/* Rolled back: nothing changes. */
	struct stw__prune_counts n = { 0 };
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, prune_instances, "d", 200, 10, &n), STW_OK);
	assert_int_equal(n.instances, 5);
	assert_int_equal(STW__S0(s, rollback), STW_OK);
	assert_int_equal(rows_of(s, "c"), 4);

	/* At most limit a call: 3, then the 2 left, then none. */
	memset(&n, 0, sizeof n);
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, prune_instances, "d", 200, 3, &n), STW_OK);
	assert_int_equal(n.instances, 3);
	assert_int_equal(STW__S(s, prune_instances, "d", 200, 3, &n), STW_OK);
	assert_int_equal(n.instances, 5);
	assert_int_equal(STW__S(s, prune_instances, "d", 200, 3, &n), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(n.instances, 5);
	assert_int_equal(n.history, 5);
	assert_int_equal(n.timers, 5);
	assert_int_equal(n.outbox, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rows_of(s, old[i]), 0);
	static const char *const kept[] = { "act", "fail", "new", "pend", "park" };
	for (int i = 0; i < 5; i++)
		assert_int_equal(rows_of(s, kept[i]), 4);
	struct instances in = { 0 };
	assert_int_equal(STW__S(s, instance_get, "e", "c", collect_instance, &in), STW_OK);
	assert_int_equal(in.n, 1);
	assert_int_equal(STW__S(s, prune_instances, "d", 200, 0, &n), STW_EINVAL);
}

/* Records n dedup rows of context ctx, "k0".."k<n-1>", the even ones at 100, the odd at 900. */
static void dedup_rows(struct stw__store *s, const char *ctx, int n)
{
	for (int i = 0; i < n; i++) {
		char id[16];
		snprintf(id, sizeof id, "k%d", i);
		assert_int_equal(STW__S(s, dedup_put, ctx, id, 0, NULL, i % 2 ? 900 : 100), STW_OK);
	}
}

/*
 * prune_dedup sweeps the table in key order, limit rows a call, from the
 * key it is given to the next one, deleting those recorded before the time;
 * the key comes back empty when the sweep reached the end.
 */
void contract_test_prune_dedup(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	dedup_rows(s, "A", 5);
	dedup_rows(s, "B", 2);
	struct stw__dedup_key key = { "", "" };
	int64_t looked = 0, deleted = 0, total_looked = 0, total_deleted = 0;
	int calls = 0;
	do {
		assert_int_equal(STW__S(s, prune_dedup, 500, 3, &key, &looked, &deleted), STW_OK);
		assert_true(looked <= 3);
		total_looked += looked;
		total_deleted += deleted;
		calls++;
		if (calls == 1) {
			/* A/k0 A/k1 A/k2 looked at: the next is A/k3. */
			assert_string_equal(key.context, "A");
			assert_string_equal(key.command_id, "k3");
			assert_int_equal(deleted, 2);
		}
	} while (key.context[0] != '\0' && calls < 10);
	assert_int_equal(calls, 3);
	assert_int_equal(total_looked, 7);
	assert_int_equal(total_deleted, 4); /* A/k0 A/k2 A/k4 B/k0 */
	int outcome = 0;
	char err[16];
	assert_int_equal(STW__S(s, dedup_get, "A", "k0", &outcome, err, sizeof err), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_get, "A", "k1", &outcome, err, sizeof err), STW_OK);
	assert_int_equal(STW__S(s, dedup_get, "B", "k0", &outcome, err, sizeof err), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_get, "B", "k1", &outcome, err, sizeof err), STW_OK);

	/* A sweep of an empty window ends at once. */
	struct stw__dedup_key end = { "Z", "" };
	assert_int_equal(STW__S(s, prune_dedup, 500, 3, &end, &looked, &deleted), STW_OK);
	assert_int_equal(looked, 0);
	assert_string_equal(end.context, "");
	assert_int_equal(STW__S(s, prune_dedup, 500, 0, &key, &looked, &deleted), STW_EINVAL);
}

/* outbox_get's callback: counts the rows. */
static int count_row(const struct stw__outbox_row *r, void *ud)
{
	(void)r;
	++*(int *)ud;
	return 0;
}

/* 1 when the outbox has command id. */
static int has_command(struct stw__store *s, const char *id)
{
	int n = 0;
	int rc = STW__S(s, outbox_get, id, count_row, &n);
	assert_true(rc == STW_OK || rc == STW_ENOTFOUND);
	return n;
}

/*
 * prune_commands sweeps the outbox in seq order, limit rows a call, from
 * the seq it is given on, deleting the commands of no instance delivered
 * before the time: not one of an instance, a newer one, nor one pending,
 * parked, rejected or skipped. The seq comes back 0 at the end.
 */
void contract_test_prune_commands(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	static const struct {
		const char *id, *instance, *status;
		int64_t delivered_at;
		int goes;
	} rows[] = {
		{ "old1", NULL, "delivered", 100, 1 }, { "inst", "i1", "delivered", 100, 0 },
		{ "new", NULL, "delivered", 900, 0 },  { "pend", NULL, "pending", 0, 0 },
		{ "park", NULL, "parked", 100, 0 },    { "rej", NULL, "rejected", 100, 0 },
		{ "skip", NULL, "skipped", 100, 0 },   { "old2", NULL, "delivered", 200, 1 },
	};
	size_t n = sizeof rows / sizeof rows[0];
	for (size_t i = 0; i < n; i++) {
		struct stw__outbox_row o = contract_cmd(rows[i].id, "Bank", rows[i].instance);
		o.status = rows[i].status;
		o.delivered_at = rows[i].delivered_at;
		assert_int_equal(STW__S(s, outbox_insert, &o), STW_OK);
	}
	int64_t after = 0, looked = 0, deleted = 0, total_looked = 0, total_deleted = 0;
	int calls = 0;
	assert_int_equal(STW__S0(s, begin), STW_OK);
	do {
		assert_int_equal(STW__S(s, prune_commands, 500, 3, &after, &looked, &deleted),
				 STW_OK);
		assert_true(looked <= 3);
		if (++calls == 1) {
			assert_true(after > 0); /* the third row's seq */
			assert_int_equal(deleted, 1);
		}
		total_looked += looked;
		total_deleted += deleted;
	} while (after != 0 && calls < 10);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	assert_int_equal(calls, 3);
	assert_int_equal(total_looked, (int64_t)n);
	assert_int_equal(total_deleted, 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(has_command(s, rows[i].id), !rows[i].goes);

	/* A sweep past the last row ends at once. */
	after = 1000000;
	assert_int_equal(STW__S(s, prune_commands, 500, 3, &after, &looked, &deleted), STW_OK);
	assert_int_equal(looked, 0);
	assert_int_equal(after, 0);
	assert_int_equal(STW__S(s, prune_commands, 500, 0, &after, &looked, &deleted), STW_EINVAL);
}
