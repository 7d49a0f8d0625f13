/*
 * test_dispatch.c - unit tests of src/core/dispatch.c: delivering outbox
 * commands to in-process services (stw_run_once / stw_run_until_idle),
 * stw_execute, the dedup table, and the service context API (stw_svc_emit,
 * stw_svc_read_stream, stw_reject), against a fresh SQLite database per test.
 *
 * Commands come from a stateless policy: an "Ordered" event appended to the
 * "Sales" context makes it send Shop.Ship. The Shop handler is scripted by a
 * struct svc (emit, reject, fail transiently, re-enter the engine).
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

/* Each test's world is a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	return fx_setup(state, "dispatch", FX_T0, NULL);
}

/* ------------------------------------------------------------------------ */
/* The scripted service                                                      */

/* A copy of a command as the handler saw it. */
struct cmd_copy {
	char id[STW_MAX_ID];
	char context[STW_MAX_NAME];
	char type[STW_MAX_NAME];
	char corr[STW_MAX_ID]; /* "" when NULL (see has_corr) */
	char caus[STW_MAX_ID];
	int has_corr;
	int has_caus;
	char data[256]; /* compact, sorted keys */
};

struct svc {
	int calls;
	int emit;       /* events to emit per command, each after reading the stream */
	int reject;     /* after emitting: refuse with "out of stock for <order>" */
	int transient;  /* calls left that fail with STW_ESTORE (after emitting) */
	int stale_emit; /* emit with a stale version and return its code */
	int reenter;    /* call engine entry points that must refuse from inside */
	int rc_execute, rc_run_once, rc_append;
	int64_t seen_version[4]; /* stream version read before each emit */
	struct cmd_copy last;
};

static void dump_into(char *buf, size_t cap, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	snprintf(buf, cap, "%s", s ? s : "(null)");
	free(s);
}

static int shop_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct svc *s = ud;
	struct cmd_copy *c = &s->last;
	s->calls++;
	snprintf(c->id, sizeof(c->id), "%s", cmd->id);
	snprintf(c->context, sizeof(c->context), "%s", cmd->context);
	snprintf(c->type, sizeof(c->type), "%s", cmd->type);
	c->has_corr = cmd->correlation_id != NULL;
	c->has_caus = cmd->causation_id != NULL;
	snprintf(c->corr, sizeof(c->corr), "%s", cmd->correlation_id ? cmd->correlation_id : "");
	snprintf(c->caus, sizeof(c->caus), "%s", cmd->causation_id ? cmd->causation_id : "");
	dump_into(c->data, sizeof(c->data), cmd->data);

	if (s->reenter) {
		struct stw_engine *e = stw_svc_engine(sc);
		int did = -1;
		struct stw_event ev = { .type = "Inner", .stream = "inner" };
		s->rc_execute = stw_execute(e, "Shop", "Ship", NULL, "inner-cmd", NULL, NULL);
		s->rc_run_once = stw_run_once(e, &did);
		s->rc_append = stw_append(e, "Shop", STW_ANY_VERSION, &ev, 1, NULL);
	}
	const char *order = json_string_value(json_object_get(cmd->data, "order"));
	if (order == NULL)
		order = "none";
	char stream[128];
	snprintf(stream, sizeof(stream), "shipment-%s", order);
	if (s->stale_emit)
		return stw_svc_emit(sc, stream, 7, "Shipped", NULL);
	for (int i = 0; i < s->emit && i < 4; i++) {
		int64_t v = -1;
		int rc = stw_svc_read_stream(sc, stream, NULL, NULL, &v);
		if (rc != STW_OK)
			return rc;
		s->seen_version[i] = v;
		rc = stw_svc_emit(sc, stream, v, "Shipped",
				  json_pack("{s:s, s:i}", "order", order, "n", i));
		if (rc != STW_OK)
			return rc;
	}
	if (s->transient > 0) {
		s->transient--;
		return STW_ESTORE;
	}
	if (s->reject)
		return stw_reject(sc, "out of stock for %s", order);
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* Definitions                                                              */

static const char *const sales_sources[] = { "Sales", NULL };

static const struct stw_command_def ship_cmds[] = {
	{ "Shop", "Ship", NULL },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def ship_transitions[] = {
	{ NULL, "Ordered", NULL, ship_cmds, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Stateless: an Ordered event in Sales sends Shop.Ship (payload: the event data). */
static const struct stw_definition ship_policy = {
	.name = "ShipPolicy",
	.version = 1,
	.sources = sales_sources,
	.states = NULL,
	.transitions = ship_transitions,
};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

/* Defines the policy and registers the scripted Shop service. */
static void wire(struct stw_engine *e, const struct stw_definition *def, struct svc *s)
{
	assert_int_equal(stw_define(e, def), STW_OK);
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, s), STW_OK);
}

/* Appends Sales "Ordered" {"order": order} with the given id and correlation id. */
static void order(struct stw_engine *e, const char *event_id, const char *corr,
		  const char *order_id)
{
	char stream[64];
	snprintf(stream, sizeof(stream), "order-%s", order_id);
	struct stw_event ev = {
		.id = event_id,
		.type = "Ordered",
		.stream = stream,
		.correlation_id = corr,
		.data = json_pack("{s:s}", "order", order_id),
	};
	assert_non_null(ev.data);
	assert_int_equal(stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
}

/* Appends n Sales orders, events evt-1... of orders o-1..., all correlated by "corr". */
static void orders(struct stw_engine *e, int n)
{
	for (int i = 1; i <= n; i++) {
		char evid[16], oid[16];
		snprintf(evid, sizeof(evid), "evt-%d", i);
		snprintf(oid, sizeof(oid), "o-%d", i);
		order(e, evid, "corr", oid);
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

/*
 * The id of the index-th event a service of `context` emits for command
 * `cmd_id`: ordered as the command id is.
 */
static void emitted_id(char out[33], const char *context, const char *cmd_id, long index)
{
	const char *parts[3] = { "event", context, cmd_id };
	stw__derive_id(out, stw__id_order(cmd_id), parts, 3, index);
}

static int64_t pending(struct stw_engine *e)
{
	int64_t n = -1;
	assert_int_equal(STW__S(e->store, outbox_pending_count, &n), STW_OK);
	return n;
}

static int64_t dedup_duplicates(struct stw_engine *e)
{
	int64_t n = -1;
	assert_int_equal(STW__S(e->store, dedup_duplicates, &n), STW_OK);
	return n;
}

static int64_t head_of(struct stw_engine *e, const char *context)
{
	int64_t h = -1;
	assert_int_equal(stw_head(e, context, &h), STW_OK);
	return h;
}

static struct stw_stats stats_of(struct stw_engine *e)
{
	struct stw_stats st;
	memset(&st, 0xff, sizeof(st));
	stw_get_stats(e, &st);
	return st;
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

/* A copy of one event read back. */
struct ev_copy {
	int64_t stream_version;
	int64_t recorded_at;
	char id[STW_MAX_ID];
	char type[STW_MAX_NAME];
	char stream[STW_MAX_ID];
	char corr[STW_MAX_ID];
	char caus[STW_MAX_ID];
	char data[256];
};

struct ev_list {
	int n;
	struct ev_copy ev[8];
};

static int collect_cb(const struct stw_event *ev, void *ud)
{
	struct ev_list *l = ud;
	if (l->n < 8) {
		struct ev_copy *c = &l->ev[l->n];
		c->stream_version = ev->stream_version;
		c->recorded_at = ev->recorded_at;
		snprintf(c->id, sizeof(c->id), "%s", ev->id);
		snprintf(c->type, sizeof(c->type), "%s", ev->type);
		snprintf(c->stream, sizeof(c->stream), "%s", ev->stream);
		snprintf(c->corr, sizeof(c->corr), "%s",
			 ev->correlation_id ? ev->correlation_id : "(null)");
		snprintf(c->caus, sizeof(c->caus), "%s",
			 ev->causation_id ? ev->causation_id : "(null)");
		dump_into(c->data, sizeof(c->data), ev->data);
	}
	l->n++;
	return 0;
}

static void read_all(struct stw_engine *e, const char *context, struct ev_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(stw_read(e, context, 0, 100, collect_cb, l, NULL), STW_OK);
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
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
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

	struct stw_stats stats = stats_of(e);
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
	struct svc s = { .emit = 2 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	fx_clock_set(&f->clock, 4242);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.seen_version[0], 0);
	assert_int_equal(s.seen_version[1], 1);

	char cmd[33], id0[33], id1[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	emitted_id(id0, "Shop", cmd, 0);
	emitted_id(id1, "Shop", cmd, 1);
	assert_string_not_equal(id0, id1);

	struct ev_list l;
	read_all(e, "Shop", &l);
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
static void run_scenario(struct stw_engine *e, struct svc *s, struct ev_list *shop)
{
	wire(e, &ship_policy, s);
	order(e, "evt-1", "corr-1", "o-1");
	order(e, "evt-2", "corr-2", "o-2");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s->calls, 2);
	read_all(e, "Shop", shop);
	assert_int_equal(shop->n, 2);
}

/*
 * Command and event ids are deterministic: the same scenario in two fresh
 * databases gives the same emitted event ids (and different ones per order).
 */
static void test_ids_deterministic_across_databases(void **state)
{
	struct fx_world *f = *state;
	struct svc s1 = { .emit = 1 }, s2 = { .emit = 1 };
	struct ev_list a, b;
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
	emitted_id(id, "Shop", cmd, 0);
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
	struct svc s = { .emit = 1, .reject = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	assert_int_equal(head_of(e, "Shop"), 0);
	int64_t v = -1;
	assert_int_equal(stw_read_stream(e, "Shop", "shipment-o-1", NULL, NULL, &v), STW_OK);
	assert_int_equal(v, 0);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "rejected", "out of stock for o-1");

	struct stw_stats stats = stats_of(e);
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
	assert_int_equal(head_of(e, "Shop"), 0);
	assert_int_equal(stats_of(e).duplicate_deliveries, 1);
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
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	char cmd[33], id0[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	emitted_id(id0, "Shop", cmd, 0);
	struct stw_event squat = { .id = id0, .type = "Shipped", .stream = "shipment-o-1" };
	assert_int_equal(stw_append(e, "Shop", STW_ANY_VERSION, &squat, 1, NULL), STW_OK);

	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	char status[32], error[512];
	outbox_row(f->db, cmd, status, sizeof(status), error, sizeof(error), NULL);
	assert_string_equal(status, "rejected");
	assert_non_null(strstr(error, id0));
	assert_int_equal(head_of(e, "Shop"), 1);
	assert_int_equal(stats_of(e).commands_rejected, 1);
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
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 1);
	assert_int_equal(dedup_duplicates(e), 0);

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	mark_pending(e, cmd);
	assert_int_equal(pending(e), 1);
	assert_int_equal(stw_run_until_idle(e), STW_OK);

	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 1);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "delivered", "");
	assert_int_equal(stats_of(e).duplicate_deliveries, 1);
	assert_int_equal(stats_of(e).commands_rejected, 0);
	assert_int_equal(dedup_duplicates(e), 1);
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
	struct svc s = { .emit = 1, .transient = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");

	char cmd[33];
	policy_cmd_id(cmd, e, "ShipPolicy", "evt-1", 0);
	int did = -1;
	assert_int_equal(stw_run_once(e, &did), STW_ESTORE);
	assert_non_null(strstr(stw_errmsg(e), "Shop"));
	assert_int_equal(s.calls, 1);
	assert_int_equal(pending(e), 1);
	assert_int_equal(head_of(e, "Shop"), 0);
	assert_outbox(f->db, cmd, "pending", "");
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", cmd, &outcome, err, sizeof(err)),
			 STW_ENOTFOUND);
	assert_int_equal(stats_of(e).commands_delivered, 0);

	assert_int_equal(stw_run_once(e, &did), STW_OK);
	assert_true(did >= 1);
	assert_int_equal(s.calls, 2);
	assert_int_equal(pending(e), 0);
	assert_outbox(f->db, cmd, "delivered", "");
	struct ev_list l;
	read_all(e, "Shop", &l);
	assert_int_equal(l.n, 1);
	char id0[33];
	emitted_id(id0, "Shop", cmd, 0);
	assert_string_equal(l.ev[0].id, id0);

	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(stats_of(e).commands_delivered, 1);
	assert_int_equal(stats_of(e).duplicate_deliveries, 0);
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
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	orders(e, 5);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 5);
	assert_int_equal(pending(e), 0);
	struct ev_list l;
	read_all(e, "Shop", &l);
	assert_int_equal(l.n, 5);
	for (int i = 0; i < 5; i++) {
		char want[32];
		snprintf(want, sizeof(want), "shipment-o-%d", i + 1);
		assert_string_equal(l.ev[i].stream, want);
	}
	assert_int_equal(stats_of(e).commands_delivered, 5);
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
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	orders(e, 12);
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_int_equal(s.calls, 12);
	assert_int_equal(pending(e), 0);
	assert_int_equal(stats_of(e).commands_delivered, 12);
	assert_true(largest >= 1 && largest <= 5);
}

/* Re-entering the engine from a handler delivered by the dispatcher is refused. */
static void test_reentry_from_dispatched_handler(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .reenter = 1 };
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc_execute, STW_ESTATE);
	assert_int_equal(s.rc_run_once, STW_ESTATE);
	assert_int_equal(s.rc_append, STW_ESTATE);
	assert_int_equal(head_of(e, "Shop"), 0);
	assert_int_equal(pending(e), 0);
}

/* ------------------------------------------------------------------------ */
/* stw_execute                                                              */

/*
 * stw_execute returns the outcome, reports the id, defaults the correlation
 * id to the command id, passes the data (NULL: {}), and a second call with
 * the same id does not run the handler again but returns STW_OK again.
 */
static void test_execute_outcome_and_dedup(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	json_t *data = json_pack("{s:s}", "order", "o-9");
	char id[STW_MAX_ID] = "";
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-1", NULL, id), STW_OK);
	assert_string_equal(id, "cmd-1");
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.last.id, "cmd-1");
	assert_string_equal(s.last.context, "Shop");
	assert_string_equal(s.last.type, "Ship");
	assert_true(s.last.has_corr);
	assert_string_equal(s.last.corr, "cmd-1");
	assert_false(s.last.has_caus);
	assert_string_equal(s.last.data, "{\"order\":\"o-9\"}");

	struct ev_list l;
	read_all(e, "Shop", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0].corr, "cmd-1");
	assert_string_equal(l.ev[0].caus, "cmd-1");
	char want[33];
	emitted_id(want, "Shop", "cmd-1", 0);
	assert_string_equal(l.ev[0].id, want);

	/* The same id again: recorded outcome, no second application. A client's
	 * retry is answered from the dedup table without writing, so it is not
	 * counted as a redelivery. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 1);
	assert_int_equal(stats_of(e).duplicate_deliveries, 0);
	assert_int_equal(dedup_duplicates(e), 0);
	json_decref(data);

	/* A generated id (a UUID) is reported and is the default correlation id. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, NULL, NULL, id), STW_OK);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.last.id, id);
	assert_string_equal(s.last.corr, id);
	assert_string_equal(s.last.data, "{}");

	/* An explicit correlation id is kept. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-3", "corr-x", NULL), STW_OK);
	assert_int_equal(s.calls, 3);
	assert_string_equal(s.last.corr, "corr-x");
}

/*
 * A refusal is returned as STW_EREJECTED with the reason in stw_errmsg, keeps
 * nothing the handler emitted, and is recorded: the same id again returns
 * STW_EREJECTED with the same message without calling the handler. Another
 * handler error (here a stale version from stw_svc_emit) is recorded the same
 * way with its message.
 */
static void test_execute_rejection_recorded(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1, .reject = 1 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	json_t *data = json_pack("{s:s}", "order", "o-1");
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-r", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-1");
	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 0);

	/* Clobber the message, then ask again. */
	assert_int_equal(stw_execute(e, "Nowhere", "Ship", NULL, NULL, NULL, NULL), STW_ENOTFOUND);
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-r", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-1");
	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 0);
	int outcome = 0;
	char err[512];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-r", &outcome, err, sizeof(err)),
			 STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	assert_string_equal(err, "out of stock for o-1");

	s.reject = 0;
	s.stale_emit = 1;
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-c", NULL, NULL), STW_ECONFLICT);
	char first[1024];
	snprintf(first, sizeof(first), "%s", stw_errmsg(e));
	assert_non_null(strstr(first, "shipment-o-1"));
	assert_int_equal(s.calls, 2);
	s.stale_emit = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-c", NULL, NULL), STW_ECONFLICT);
	assert_string_equal(stw_errmsg(e), first);
	assert_int_equal(s.calls, 2);
	assert_int_equal(head_of(e, "Shop"), 0);
	json_decref(data);
}

/* A transient failure in stw_execute is returned and not recorded: a retry runs the handler. */
static void test_execute_transient_not_recorded(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1, .transient = 1 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-t", NULL, NULL), STW_ESTORE);
	assert_int_equal(s.calls, 1);
	assert_int_equal(head_of(e, "Shop"), 0);
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-t", &outcome, err, sizeof(err)),
			 STW_ENOTFOUND);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-t", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(head_of(e, "Shop"), 1);
}

/* stw_execute refuses an unknown context (STW_ENOTFOUND) and malformed input (STW_EINVAL). */
static void test_execute_bad_input(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { 0 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	char id[STW_MAX_ID];

	assert_int_equal(stw_execute(e, "Billing", "Ship", NULL, NULL, NULL, id), STW_ENOTFOUND);
	assert_non_null(strstr(stw_errmsg(e), "Billing"));
	json_t *arr = json_array();
	assert_int_equal(stw_execute(e, "Shop", "Ship", arr, NULL, NULL, NULL), STW_EINVAL);
	json_decref(arr);
	json_t *str = json_string("x");
	assert_int_equal(stw_execute(e, "Shop", "Ship", str, NULL, NULL, NULL), STW_EINVAL);
	json_decref(str);
	assert_int_equal(stw_execute(e, "Sh op", "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, NULL, "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", NULL, NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "a\nb", NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "", NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, NULL, "c\x01", NULL), STW_EINVAL);
	assert_int_equal(stw_execute(NULL, "Shop", "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(s.calls, 0);
}

/*
 * stw_execute, stw_run_once and stw_append called from inside a handler fail
 * with STW_ESTATE (the inner command is not run), and the engine accepts
 * calls again once the handler has returned.
 */
static void test_execute_reentry_refused(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .reenter = 1, .emit = 1 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "outer", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc_execute, STW_ESTATE);
	assert_int_equal(s.rc_run_once, STW_ESTATE);
	assert_int_equal(s.rc_append, STW_ESTATE);
	int outcome = 0;
	char err[64];
	assert_int_equal(
	    STW__S(e->store, dedup_get, "Shop", "inner-cmd", &outcome, err, sizeof(err)),
	    STW_ENOTFOUND);
	assert_int_equal(head_of(e, "Shop"), 1);

	s.reenter = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "after", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	int did = -1;
	assert_int_equal(stw_run_once(e, &did), STW_OK);
	struct stw_event ev = { .type = "Outer", .stream = "outer" };
	assert_int_equal(stw_append(e, "Shop", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
}

/* One service per context; a service needs a valid context name and a handler. */
static void test_register_service_rules(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { 0 };
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_OK);
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, &s), STW_EEXIST);
	assert_int_equal(stw_register_service(e, "Sh op", shop_handler, &s), STW_EINVAL);
	assert_int_equal(stw_register_service(e, "Other", NULL, &s), STW_EINVAL);
	assert_int_equal(stw_register_service(NULL, "Other", shop_handler, &s), STW_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Group commit (stw_begin) and the round's transaction                      */

/* Events of `context` as a separate connection sees them: only what is committed. */
static int64_t committed_events(const char *db, const char *context)
{
	struct stw_engine *o = NULL;
	struct stw_options ro = { .read_only = 1 };
	assert_int_equal(stw_open(db, &ro, &o), STW_OK);
	int64_t head = -1; /* positions are gap-free: the head counts the events */
	assert_stw_ok(o, stw_head(o, context, &head));
	stw_close(o);
	return head;
}

/* Counts observations by kind. */
struct seen {
	int n[8];
	int total;
};

static void count_activity(const struct stw_activity *a, void *ud)
{
	struct seen *s = ud;
	s->n[a->kind]++;
	s->total++;
}

/* Registers the scripted Shop service and counts what the engine reports into *seen. */
static void shop_watched(struct stw_engine *e, struct svc *s, struct seen *seen)
{
	e->observer = count_activity;
	e->observer_ud = seen;
	assert_int_equal(stw_register_service(e, "Shop", shop_handler, s), STW_OK);
}

/*
 * Between stw_begin and stw_commit, each stw_execute answers its own outcome
 * at once (a refusal undoes only itself) but nothing is committed, and the
 * observer hears nothing; stw_commit makes all of it durable and reports it.
 */
static void test_group_commit(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1 };
	struct seen seen = { 0 };
	shop_watched(e, &s, &seen);
	json_t *a = json_pack("{s:s}", "order", "o-a");
	json_t *b = json_pack("{s:s}", "order", "o-b");
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", a, "cmd-a", NULL, NULL), STW_OK);
	s.reject = 1;
	assert_int_equal(stw_execute(e, "Shop", "Ship", b, "cmd-b", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-b");
	s.reject = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", b, "cmd-c", NULL, NULL), STW_OK);
	/* The same id again inside the group: the recorded outcome, no second run. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", a, "cmd-a", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 3);
	assert_int_equal(head_of(e, "Shop"), 2); /* this connection sees its own writes */
	assert_int_equal(committed_events(f->db, "Shop"), 0);
	assert_int_equal(seen.total, 0);
	assert_int_equal(stw_commit(e), STW_OK);
	assert_int_equal(committed_events(f->db, "Shop"), 2);
	assert_int_equal(seen.n[STW_ACTIVITY_COMMAND], 3);
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-b", &outcome, err, sizeof(err)),
			 STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	json_decref(a);
	json_decref(b);
}

/* stw_rollback (and stw_close with a group open) undoes every call of the group. */
static void test_group_rollback(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1 };
	struct seen seen = { 0 };
	shop_watched(e, &s, &seen);
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(stw_rollback(e), STW_OK);
	assert_int_equal(head_of(e, "Shop"), 0);
	assert_int_equal(seen.total, 0);
	/* Not recorded either: the same id runs the handler again. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(seen.total, 1);

	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-2", NULL, NULL), STW_OK);
	assert_stw_ok(NULL, fx_reopen(f, NULL));
	assert_int_equal(head_of(f->e, "Shop"), 1);
}

/* What cannot run inside a group, and the calls that need one. */
static void test_group_misuse(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct svc s = { .emit = 1 };
	wire(e, &ship_policy, &s);
	int did = -1;
	assert_int_equal(stw_commit(e), STW_ESTATE);
	assert_int_equal(stw_rollback(e), STW_ESTATE);
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_begin(e), STW_ESTATE);
	order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_once(e, &did), STW_ESTATE);
	assert_non_null(strstr(stw_errmsg(e), "stw_begin"));
	assert_int_equal(stw_run_until_idle(e), STW_ESTATE);
	assert_int_equal(stw_deliver_remote(e, &did), STW_ESTATE);
	assert_int_equal(stw_commit(e), STW_OK);
	assert_int_equal(committed_events(f->db, "Sales"), 1);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(stw_begin(NULL), STW_EINVAL);
}

/* Dies at a chosen failpoint; records whether the observer had heard anything by then. */
struct round_probe {
	const char *die_at;
	struct seen seen;
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
	struct svc s = { .emit = 1 };
	struct round_probe p = { 0 };
	e->observer = count_activity;
	e->observer_ud = &p.seen;
	e->failpoint = probe_failpoint;
	e->failpoint_ud = &p;
	wire(e, &ship_policy, &s);
	order(e, "evt-1", "corr-1", "o-1");
	uint64_t before = stats_of(e).transactions;
	int heard = p.seen.total; /* the append */
	int did = 0;
	assert_int_equal(stw_run_once(e, &did), STW_OK);
	assert_int_equal(did, 2); /* one event stepped, one command delivered */
	assert_int_equal(s.calls, 1);
	assert_int_equal(stats_of(e).transactions, before + 1);
	assert_int_equal(p.seen_at_step_commit, heard);
	assert_int_equal(p.seen.n[STW_ACTIVITY_STEP], 1);
	assert_int_equal(p.seen.n[STW_ACTIVITY_DELIVERY], 1);

	/* A crash before the round's commit: nothing of it is stored. */
	order(e, "evt-2", "corr-2", "o-2");
	stw_close(e);
	f->e = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stw_engine *c = NULL;
		struct svc cs = { .emit = 1 };
		struct round_probe cp = { .die_at = "round.before_commit" };
		struct stw_options o = { .failpoint = probe_failpoint, .failpoint_ud = &cp };
		if (fx_open(f, NULL, &o, &c) != STW_OK || stw_define(c, &ship_policy) != STW_OK ||
		    stw_register_service(c, "Shop", shop_handler, &cs) != STW_OK)
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
	wire(e, &ship_policy, &s);
	int64_t cursor = -1;
	assert_int_equal(stw_get_cursor(e, "ShipPolicy", "Sales", &cursor), STW_OK);
	assert_int_equal(cursor, 1);
	assert_int_equal(head_of(e, "Shop"), 1);
	assert_int_equal(pending(e), 0);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(head_of(e, "Shop"), 2);
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
		T(test_execute_outcome_and_dedup),
		T(test_execute_rejection_recorded),
		T(test_execute_transient_not_recorded),
		T(test_execute_bad_input),
		T(test_execute_reentry_refused),
		T(test_register_service_rules),
		T(test_group_commit),
		T(test_group_rollback),
		T(test_group_misuse),
		T(test_round_is_one_transaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
