/*
 * test_dispatch.c - unit tests of src/core/dispatch.c: delivering outbox
 * commands to in-process services (stw_run_once / stw_run_until_idle), the
 * dedup table, the service context API (stw_svc_emit, stw_svc_read_stream,
 * stw_reject), and the round's one transaction, against a fresh SQLite
 * database per test. stw_execute and stw_begin groups: test_execute.c.
 *
 * Commands come from a stateless policy (fx_ship_policy): an "Ordered" event
 * appended to the "Sales" context makes it send Shop.Ship. The Shop handler
 * is scripted by a struct fx_shop (emit, reject, fail transiently, re-enter
 * the engine); both are the fixture's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/engine_int.h"
#include "fixture.h"
#include "fixture_int.h"

/* Each test's world is a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	return fx_setup(state, "dispatch", FX_T0, NULL);
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* Appends n Sales orders, events evt-1... of orders o-1..., all correlated by "corr". */
static void orders(struct stw_engine *e, int n)
{
	for (int i = 1; i <= n; i++) {
		char evid[16], oid[16];
		snprintf(evid, sizeof(evid), "evt-%d", i);
		snprintf(oid, sizeof(oid), "o-%d", i);
		fx_order(e, evid, "corr", oid);
	}
}

struct found {
	const char *id;
	int64_t recorded_at;
};

static int find_cb(const struct stw_event *ev, void *ud)
{
	struct found *f = ud;
	if (strcmp(ev->id, f->id) != 0)
		return 0;
	f->recorded_at = ev->recorded_at;
	return 1;
}

/*
 * The id the policy `def` gives its command number `index` for Sales event
 * `event_id`: ordered by the time the event was recorded.
 */
static void policy_cmd_id(char out[33], struct stw_engine *e, const char *def, const char *event_id,
			  long index)
{
	struct found f = { event_id, -1 };
	assert_int_equal(stw_read(e, "Sales", 0, 1000, find_cb, &f, NULL), STW_OK);
	assert_true(f.recorded_at >= 0);
	const char *parts[3] = { def, "", event_id };
	stw__derive_id(out, f.recorded_at, parts, 3, index);
}

static int64_t pending(struct stw_engine *e)
{
	int64_t n = -1;
	assert_int_equal(STW__S(e->store, outbox_pending_count, &n), STW_OK);
	return n;
}

/* Puts an outbox row back to pending, as if the "mark delivered" commit was lost. */
static void mark_pending(struct stw_engine *e, const char *cmd_id)
{
	assert_int_equal(STW__S0(e->store, begin), STW_OK);
	assert_int_equal(STW__S(e->store, outbox_mark, cmd_id, "pending", NULL, 0), STW_OK);
	assert_int_equal(STW__S0(e->store, commit), STW_OK);
}

/* What outbox_row copies out of a row. */
struct outbox_copy {
	char *status, *error;
	size_t scap, ecap;
	int64_t delivered_at;
};

static int outbox_copy_cb(const struct stw__outbox_row *r, void *ud)
{
	struct outbox_copy *c = ud;
	snprintf(c->status, c->scap, "%s", r->status);
	snprintf(c->error, c->ecap, "%s", r->error ? r->error : "");
	c->delivered_at = r->delivered_at;
	return 0;
}

/*
 * Reads one outbox row's status, error ("" when NULL) and delivered_at as
 * another connection to the store sees them (what is committed). No API
 * lists a stateless policy's commands (stw_get_instance and
 * outbox_for_instance are per instance), so this asks that connection's
 * store for the row by its command id; it reads only.
 */
static void outbox_row(const char *db, const char *cmd_id, char *status, size_t scap, char *error,
		       size_t ecap, int64_t *delivered_at)
{
	struct stw_engine *o = NULL;
	struct stw_options ro = { .read_only = 1 };
	assert_int_equal(stw_open(db, &ro, &o), STW_OK);
	struct outbox_copy c = { status, error, scap, ecap, 0 };
	assert_int_equal(STW__S(o->store, outbox_get, cmd_id, outbox_copy_cb, &c), STW_OK);
	if (delivered_at != NULL)
		*delivered_at = c.delivered_at;
	stw_close(o);
}

/* Asserts the status and error of an outbox row. */
static void assert_outbox(const char *db, const char *cmd_id, const char *status, const char *error)
{
	char s[32], err[512];
	outbox_row(db, cmd_id, s, sizeof(s), err, sizeof(err), NULL);
	assert_string_equal(s, status);
	assert_string_equal(err, error);
}

/* ------------------------------------------------------------------------ */
/* Delivery through the outbox                                              */

/*
 * An Ordered event makes the policy write a command that reaches the Shop
 * handler once, with the policy's deterministic id, the event's correlation
 * id, causation id = the event id, and the event data as payload; the row is
 * then "delivered" at the clock's time and nothing is left pending.
 */
static void test_command_reaches_handler(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	fx_clock_set(&f->clock, 1700000005000);
	assert_int_equal(stw_run_until_idle(e), STW_OK);

	char want[33];
	policy_cmd_id(want, e, "ShipPolicy", "evt-1", 0);
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.last.id, want);
	/* The event was recorded at 1700000000000 (0x18bcfe56800), which leads the
	 * id; the rest is the hash of test_derive_id_deterministic (test_util.c). */
	assert_string_equal(s.last.id, "018bcfe56800164ad5103a7b2743b7dd");
	assert_string_equal(s.last.context, "Shop");
	assert_string_equal(s.last.type, "Ship");
	assert_true(s.last.has_corr);
	assert_string_equal(s.last.corr, "corr-1");
	assert_true(s.last.has_caus);
	assert_string_equal(s.last.caus, "evt-1");
	assert_string_equal(s.last.data, "{\"order\":\"o-1\"}");

	assert_int_equal(pending(e), 0);
	char st[32], err[512];
	int64_t at = 0;
	outbox_row(f->db, want, st, sizeof(st), err, sizeof(err), &at);
	assert_string_equal(st, "delivered");
	assert_string_equal(err, "");
	assert_int_equal(at, 1700000005000);

	struct stw_stats stats = fx_stats(e);
	assert_int_equal(stats.commands_delivered, 1);
	assert_int_equal(stats.commands_rejected, 0);
	assert_int_equal(stats.duplicate_deliveries, 0);

	/* Nothing more to do: another round neither works nor calls the handler. */
	int did = -1;
	assert_int_equal(stw_run_once(e, &did), STW_OK);
	assert_int_equal(did, 0);
	assert_int_equal(s.calls, 1);
}

/*
 * Events a handler emits carry the command's correlation id, causation id =
 * the command id, and ids derived from the command id and their index; the
 * handler's stream reads see its own emitted events (versions 0 then 1).
 */
static void test_emitted_events(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 2 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	fx_clock_set(&f->clock, 4242);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.seen_version[0], 0);
	assert_int_equal(s.seen_version[1], 1);

	char cmd[33], id0[33], id1[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	fx_emitted_id(id0, "Shop", cmd, 0);
	fx_emitted_id(id1, "Shop", cmd, 1);
	assert_string_not_equal(id0, id1);

	struct fx_ev_list l;
	fx_read_all(e, "Shop", &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.ev[0].id, id0);
	assert_string_equal(l.ev[1].id, id1);
	for (int i = 0; i < 2; i++) {
		assert_string_equal(l.ev[i].type, "Shipped");
		assert_string_equal(l.ev[i].stream, "shipment-o-1");
		assert_int_equal(l.ev[i].stream_version, i + 1);
		assert_string_equal(l.ev[i].corr, "corr-1");
		assert_string_equal(l.ev[i].caus, cmd);
		assert_int_equal(l.ev[i].recorded_at, 4242);
	}
	assert_string_equal(l.ev[0].data, "{\"n\":0,\"order\":\"o-1\"}");
	assert_string_equal(l.ev[1].data, "{\"n\":1,\"order\":\"o-1\"}");
}

/* Runs the Ordered -> Ship -> Shipped scenario on a fresh engine; ids receives the Shop ids. */
static void run_scenario(struct stw_engine *e, struct fx_shop *s, struct fx_ev_list *shop)
{
	fx_shop_wire(e, &fx_ship_policy, s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	fx_order(e, "evt-2", "corr-2", "o-2");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s->calls, 2);
	fx_read_all(e, "Shop", shop);
	assert_int_equal(shop->n, 2);
}

/*
 * Command and event ids are deterministic: the same scenario in two fresh
 * databases gives the same emitted event ids (and different ones per order).
 */
static void test_ids_deterministic_across_databases(void **state)
{
	struct fx_world *f = *state;
	struct fx_shop s1 = { .emit = 1 }, s2 = { .emit = 1 };
	struct fx_ev_list a, b;
	run_scenario(f->e, &s1, &a);

	struct stw_engine *e2 = NULL;
	assert_stw_ok(NULL, fx_open(f, "b.db", NULL, &e2));
	run_scenario(e2, &s2, &b);
	stw_close(e2);

	for (int i = 0; i < 2; i++) {
		assert_string_equal(a.ev[i].id, b.ev[i].id);
		assert_string_equal(a.ev[i].caus, b.ev[i].caus);
	}
	assert_string_not_equal(a.ev[0].id, a.ev[1].id);
	char cmd[33], id[33];
	policy_cmd_id(cmd, f->e, "ShipPolicy", "evt-2", 0);
	fx_emitted_id(id, "Shop", cmd, 0);
	assert_string_equal(a.ev[1].id, id);
	assert_string_equal(s1.last.id, s2.last.id);
}

/*
 * A rejection keeps none of the handler's events, marks the row "rejected"
 * with the reason, counts commands_rejected, and records the outcome in the
 * dedup table; a redelivery of the rejected command keeps it rejected without
 * calling the handler.
 */
static void test_rejection(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1, .reject = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	assert_int_equal(fx_head(e, "Shop"), 0);
	int64_t v = -1;
	assert_int_equal(stw_read_stream(e, "Shop", "shipment-o-1", NULL, NULL, &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "rejected", "out of stock for o-1");

	struct stw_stats stats = fx_stats(e);
	assert_int_equal(stats.commands_delivered, 1);
	assert_int_equal(stats.commands_rejected, 1);

	int outcome = 0;
	char err[512] = "";
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", cmd, &outcome, err, sizeof(err)),
			 STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	assert_string_equal(err, "out of stock for o-1");

	mark_pending(e, cmd);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_outbox(f->db, cmd, "rejected", "out of stock for o-1");
	assert_int_equal(fx_head(e, "Shop"), 0);
	assert_int_equal(fx_stats(e).duplicate_deliveries, 1);
}

/*
 * An event id a service will derive, posted in advance by someone else with
 * other content, is not taken for the service's event: the emit is refused
 * with STW_ECONFLICT naming the id, the command ends rejected with that
 * reason (not "delivered" with its event missing), and the log keeps only
 * the event posted first.
 */
static void test_squatted_derived_id(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	char cmd[33], id0[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	fx_emitted_id(id0, "Shop", cmd, 0);
	struct stw_event squat = { .id = id0, .type = "Shipped", .stream = "shipment-o-1" };
	assert_int_equal(stw_append(e, "Shop", STW_ANY_VERSION, &squat, 1, NULL), STW_OK);

	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	char status[32], error[512];
	outbox_row(f->db, cmd, status, sizeof(status), error, sizeof(error), NULL);
	assert_string_equal(status, "rejected");
	assert_non_null(strstr(error, id0));
	assert_int_equal(fx_head(e, "Shop"), 1);
	assert_int_equal(fx_stats(e).commands_rejected, 1);
}

/*
 * A command delivered a second time (its row back to pending, as after a
 * crash before the "delivered" mark committed) is recognised by the dedup
 * table: the handler is not called again, no event is added, and the
 * duplicate is counted in the stats and in the store.
 */
static void test_duplicate_delivery(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 1);
	assert_int_equal(fx_dedup_duplicates(e), 0);

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	mark_pending(e, cmd);
	assert_int_equal(pending(e), 1);
	assert_int_equal(stw_run_until_idle(e), STW_OK);

	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 1);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "delivered", "");
	assert_int_equal(fx_stats(e).duplicate_deliveries, 1);
	assert_int_equal(fx_stats(e).commands_rejected, 0);
	assert_int_equal(fx_dedup_duplicates(e), 1);
}

/*
 * A transient failure (the handler returns STW_ESTORE) rolls back what the
 * handler emitted, leaves the row pending and unrecorded, and makes
 * stw_run_once return the error; the next round delivers the command once.
 */
static void test_transient_failure(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1, .transient = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	int did = -1;
	assert_int_equal(stw_run_once(e, &did), STW_ESTORE);
	assert_non_null(strstr(stw_errmsg(e), "Shop"));
	assert_int_equal(s.calls, 1);
	assert_int_equal(pending(e), 1);
	assert_int_equal(fx_head(e, "Shop"), 0);
	assert_outbox(f->db, cmd, "pending", "");
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", cmd, &outcome, err, sizeof(err)),
			 STW_ENOTFOUND);
	assert_int_equal(fx_stats(e).commands_delivered, 0);

	assert_int_equal(stw_run_once(e, &did), STW_OK);
	assert_true(did >= 1);
	assert_int_equal(s.calls, 2);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "delivered", "");
	struct fx_ev_list l;
	fx_read_all(e, "Shop", &l);
	assert_int_equal(l.n, 1);
	char id0[33];
	fx_emitted_id(id0, "Shop", cmd, 0);
	assert_string_equal(l.ev[0].id, id0);

	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(fx_stats(e).commands_delivered, 1);
	assert_int_equal(fx_stats(e).duplicate_deliveries, 0);
}

/*
 * With a batch size of 2, five commands are delivered over several rounds,
 * each exactly once and in the order the outbox received them.
 */
static void test_batches_deliver_in_order(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = NULL;
	struct stw_options o = { .batch_size = 2 };
	assert_stw_ok(NULL, fx_open(f, "batch.db", &o, &e));
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	orders(e, 5);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 5);
	assert_int_equal(pending(e), 0);
	struct fx_ev_list l;
	fx_read_all(e, "Shop", &l);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof(want), "shipment-o-%d", i + 1);
		assert_string_equal(l.ev[i].stream, want);
	}
	assert_int_equal(fx_stats(e).commands_delivered, 5);
	stw_close(e);
}

/* An observer that keeps the largest batch of commands delivered in one transaction. */
static void largest_delivery(const struct stw_activity *a, void *ud)
{
	int *largest = ud;
	if (a->kind == STW_ACTIVITY_DELIVERY && a->count > *largest)
		*largest = a->count;
}

/*
 * A store that wants at most 5 savepoints per transaction (PostgreSQL wants
 * 64) gets delivery batches of at most 5 commands, each taking one: twelve
 * commands are delivered in several transactions, each exactly once.
 */
static void test_savepoint_budget(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	e->store->max_savepoints = 5;
	int largest = 0;
	e->observer = largest_delivery;
	e->observer_ud = &largest;
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	orders(e, 12);
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_int_equal(s.calls, 12);
	assert_int_equal(pending(e), 0);
	assert_int_equal(fx_stats(e).commands_delivered, 12);
	assert_true(largest >= 1 && largest <= 5);
}

/* Re-entering the engine from a handler delivered by the dispatcher is refused. */
static void test_reentry_from_dispatched_handler(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .reenter = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc_execute, STW_ESTATE);
	assert_int_equal(s.rc_run_once, STW_ESTATE);
	assert_int_equal(s.rc_append, STW_ESTATE);
	assert_int_equal(fx_head(e, "Shop"), 0);
	assert_int_equal(pending(e), 0);
}

/* Dies at a chosen failpoint; records whether the observer had heard anything by then. */
struct round_probe {
	const char *die_at;
	struct fx_seen seen;
	int seen_at_step_commit;
};

static void probe_failpoint(const char *name, void *ud)
{
	struct round_probe *p = ud;
	if (strcmp(name, "step.after_commit") == 0)
		p->seen_at_step_commit = p->seen.total;
	if (p->die_at != NULL && strcmp(name, p->die_at) == 0)
		_exit(0);
}

/*
 * A round is one transaction: the step that writes the command and the
 * delivery that runs it commit together (one commit counted), the observer
 * hears of both only after that commit, and a crash just before it leaves
 * nothing of the round behind; the next round does all of it once.
 */
static void test_round_is_one_transaction(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	struct round_probe p = { 0 };
	e->observer = fx_count_activity;
	e->observer_ud = &p.seen;
	e->failpoint = probe_failpoint;
	e->failpoint_ud = &p;
	fx_shop_wire(e, &fx_ship_policy, &s);
	fx_order(e, "evt-1", "corr-1", "o-1");
	uint64_t before = fx_stats(e).transactions;
	int heard = p.seen.total; /* the append */
	int did = 0;
	assert_int_equal(stw_run_once(e, &did), STW_OK);
	assert_int_equal(did, 2); /* one event stepped, one command delivered */
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_stats(e).transactions, before + 1);
	assert_int_equal(p.seen_at_step_commit, heard);
	assert_int_equal(p.seen.n[STW_ACTIVITY_STEP], 1);
	assert_int_equal(p.seen.n[STW_ACTIVITY_DELIVERY], 1);

	/* A crash before the round's commit: nothing of it is stored. */
	fx_order(e, "evt-2", "corr-2", "o-2");
	stw_close(e);
	f->e = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stw_engine *c = NULL;
		struct fx_shop cs = { .emit = 1 };
		struct round_probe cp = { .die_at = "round.before_commit" };
		struct stw_options o = { .failpoint = probe_failpoint, .failpoint_ud = &cp };
		if (fx_open(f, NULL, &o, &c) != STW_OK ||
		    stw_define(c, &fx_ship_policy) != STW_OK ||
		    stw_register_service(c, "Shop", fx_shop_handler, &cs) != STW_OK)
			_exit(3);
		int d = 0;
		if (stw_run_once(c, &d) != STW_OK)
			_exit(5);
		_exit(4); /* the failpoint was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_stw_ok(NULL, fx_world_open(f, NULL));
	e = f->e;
	fx_shop_wire(e, &fx_ship_policy, &s);
	int64_t cursor = -1;
	assert_int_equal(stw_get_cursor(e, "ShipPolicy", "Sales", &cursor), STW_OK);
	assert_int_equal(cursor, 1);
	assert_int_equal(fx_head(e, "Shop"), 1);
	assert_int_equal(pending(e), 0);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(fx_head(e, "Shop"), 2);
	assert_int_equal(stw_get_cursor(e, "ShipPolicy", "Sales", &cursor), STW_OK);
	assert_int_equal(cursor, 2);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_command_reaches_handler),
		T(test_emitted_events),
		T(test_ids_deterministic_across_databases),
		T(test_rejection),
		T(test_squatted_derived_id),
		T(test_duplicate_delivery),
		T(test_transient_failure),
		T(test_batches_deliver_in_order),
		T(test_savepoint_budget),
		T(test_reentry_from_dispatched_handler),
		T(test_round_is_one_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
