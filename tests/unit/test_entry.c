/*
 * test_entry.c - unit tests of src/core/entry.c, the check at the entry of
 * every public call: from inside a service handler, a periodic process's
 * handler and a definition's callbacks, every call that writes, runs or
 * reconfigures the engine is refused with STW_ESTATE (its message naming the
 * call), reads are allowed, and the batch that runs the handler goes on with
 * its own memory intact.
 *
 * entry-1 is the crash this check closes: a dispatcher holds a batch of
 * commands of about 2 KB each in the engine's arena while a handler called
 * stw_retry (or ack, cancel, ...), whose batch reset that arena; under
 * AddressSanitizer the next command's data was read from freed memory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "fixture.h"

#define ORDERS   120  /* commands in one delivery batch: several arena chunks */
#define BIG_DATA 2000 /* bytes of each instance's data */

/* What the handler saw and what the calls it made returned. */
struct probe {
	struct stw_engine *e;
	int calls;
	int data_intact; /* every command's data arrived whole */
	int reentered;   /* the write calls were made (once) */
	int rc_read;     /* a read from inside: allowed */
	int rc[32];      /* the write calls, refused */
	const char *name[32];
	int n;
	char msg[512]; /* the message of the first refusal */
};

static const char *const sources[] = { "Sales", NULL };

static const struct stw_state_def states[] = {
	{ "Shipping", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};

static const struct stw_command_def ship[] = {
	{ "Shop", "Ship", NULL },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def transitions[] = {
	{ NULL, "Ordered", "Shipping", ship, NULL, NULL },
	{ "Shipping", "Shipped", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct stw_definition orders = {
	.name = "Orders",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

static int noop_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	(void)ud;
	return STW_OK;
}

static void noop_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)batch;
	(void)n;
	(void)ud;
}

static int noop_periodic(struct stw_periodic_ctx *pc, void *ud)
{
	(void)pc;
	(void)ud;
	return STW_OK;
}

static const struct stw_periodic_def other_periodic = { "Other", 1000, noop_periodic, NULL };
static const struct stw_definition other_definition = {
	.name = "Other",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

#define TRY(p, call)                                                                               \
	do {                                                                                       \
		(p)->name[(p)->n] = #call;                                                         \
		(p)->rc[(p)->n++] = (call);                                                        \
		if ((p)->msg[0] == '\0')                                                           \
			snprintf((p)->msg, sizeof((p)->msg), "%s", stw_errmsg((p)->e));            \
	} while (0)

/* Every public call that writes, runs or reconfigures the engine, made from inside. */
static void reenter(struct probe *p)
{
	struct stw_engine *e = p->e;
	struct stw_event ev = { .type = "Inner", .stream = "inner" };
	struct stw_append_group g = { STW_ANY_VERSION, &ev, 1 };
	struct stw_remote_def remote = { .send = noop_send };
	char id[STW_MAX_ID];
	int did = 0;
	TRY(p, stw_retry(e, "Orders", "order-1", "Shipping", NULL));
	TRY(p, stw_acknowledge(e, "Orders", "order-1", NULL));
	TRY(p, stw_cancel(e, "Orders", "order-1", NULL));
	TRY(p, stw_set_cursor(e, "Orders", "Sales", 0));
	TRY(p, stw_retry_command(e, "some-command"));
	TRY(p, stw_skip_command(e, "some-command", NULL));
	TRY(p, stw_send(e, "Shop", "Ship", NULL, NULL, NULL, id));
	TRY(p, stw_execute(e, "Shop", "Ship", NULL, "inner-cmd", NULL, NULL));
	TRY(p, stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL));
	TRY(p, stw_append_batch(e, "Sales", &g, 1, NULL, NULL));
	TRY(p, stw_run_once(e, &did));
	TRY(p, stw_run_until_idle(e));
	TRY(p, stw_deliver_remote(e, &did));
	TRY(p, stw_begin(e));
	TRY(p, stw_commit(e));
	TRY(p, stw_rollback(e));
	TRY(p, stw_define(e, &other_definition));
	TRY(p, stw_define_periodic(e, &other_periodic));
	TRY(p, stw_register_service(e, "Elsewhere", noop_handler, NULL));
	TRY(p, stw_register_remote(e, "Remote", &remote));
	json_t *o = NULL;
	p->rc_read = stw_get_instance(e, "Orders", "order-1", &o);
	json_decref(o);
	p->reentered = 1;
}

/* 1 if the command's data is the order's 2 KB as the trigger carried it. */
static int data_intact(const struct stw_command *cmd)
{
	const char *big = json_string_value(json_object_get(cmd->data, "big"));
	const char *order = json_string_value(json_object_get(cmd->data, "order"));
	if (big == NULL || order == NULL || strlen(big) != BIG_DATA)
		return 0;
	for (size_t i = 0; i < BIG_DATA; i++)
		if (big[i] != order[strlen(order) - 1])
			return 0;
	return 1;
}

static int shop_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	struct probe *p = ud;
	p->calls++;
	if (!data_intact(cmd))
		p->data_intact = 0;
	if (!p->reentered)
		reenter(p);
	/* The data of the command being handled is still whole after the calls. */
	if (!data_intact(cmd))
		p->data_intact = 0;
	return STW_OK;
}

/* Appends order i: 2 KB of one digit, the digit its number's last. */
static void order(struct stw_engine *e, int i)
{
	char id[32], big[BIG_DATA + 1];
	snprintf(id, sizeof(id), "order-%d", i);
	memset(big, id[strlen(id) - 1], BIG_DATA);
	big[BIG_DATA] = '\0';
	struct stw_event ev = {
		.type = "Ordered",
		.stream = id,
		.correlation_id = id,
		.data = json_pack("{s:s, s:s}", "order", id, "big", big),
	};
	assert_stw_ok(e, stw_append(e, "Sales", STW_NO_STREAM, &ev, 1, NULL));
	json_decref(ev.data);
}

static void assert_all_refused(const struct probe *p)
{
	assert_true(p->reentered);
	for (int i = 0; i < p->n; i++) {
		if (p->rc[i] != STW_ESTATE)
			fail_msg("%s returned %s inside a handler", p->name[i],
				 stw_strerror(p->rc[i]));
	}
	assert_int_equal(p->n, 20);
	assert_non_null(strstr(p->msg, "stw_retry"));
	assert_non_null(strstr(p->msg, "inside a handler"));
}

/*
 * entry-1: a service handler making every write call, in the first of a
 * batch of 120 commands of 2 KB each: each is refused with STW_ESTATE, a
 * read is allowed, every command of the batch arrives whole and is
 * delivered, and nothing the refused calls would have done happened.
 */
static void test_writes_refused_inside_a_service_handler(void **state)
{
	struct fx_world *w = *state;
	struct stw_engine *e = w->e;
	struct probe p = { .e = e, .data_intact = 1 };
	assert_stw_ok(e, stw_define(e, &orders));
	assert_stw_ok(e, stw_register_service(e, "Shop", shop_handler, &p));
	for (int i = 1; i <= ORDERS; i++)
		order(e, i);
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_int_equal(p.calls, ORDERS);
	assert_true(p.data_intact);
	assert_all_refused(&p);
	assert_int_equal(p.rc_read, STW_OK);

	int64_t pending = -1, head = -1, cursor = -1;
	assert_stw_ok(e, stw_pending_commands(e, &pending));
	assert_int_equal(pending, 0);
	assert_stw_ok(e, stw_head(e, "Sales", &head));
	assert_int_equal(head, ORDERS); /* no event appended from inside */
	assert_stw_ok(e, stw_get_cursor(e, "Orders", "Sales", &cursor));
	assert_int_equal(cursor, ORDERS); /* the cursor was not set back */
	json_t *o = NULL;
	assert_stw_ok(e, stw_get_instance(e, "Orders", "order-1", &o));
	assert_string_equal(json_string_value(json_object_get(o, "status")), "active");
	json_decref(o);
	/* Outside a handler the same calls work again. */
	struct stw_event ev = { .type = "Outer", .stream = "outer" };
	assert_stw_ok(e, stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL));
}

/* A definition callback that tries to write. */
static struct probe *callback_probe;

static int update_reenters(const struct stw_step_info *si)
{
	(void)si;
	if (!callback_probe->reentered)
		reenter(callback_probe);
	return STW_OK;
}

static const struct stw_transition_def reentering_transitions[] = {
	{ NULL, "Ordered", "Shipping", NULL, update_reenters, NULL },
	{ "Shipping", "Shipped", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const struct stw_definition reentering = {
	.name = "Orders",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = reentering_transitions,
};

/* entry-2: a definition's update callback is refused every write call too. */
static void test_writes_refused_inside_a_definition_callback(void **state)
{
	struct fx_world *w = *state;
	struct stw_engine *e = w->e;
	struct probe p = { .e = e, .data_intact = 1 };
	callback_probe = &p;
	assert_stw_ok(e, stw_define(e, &reentering));
	assert_stw_ok(e, stw_register_service(e, "Shop", noop_handler, NULL));
	order(e, 1);
	order(e, 2);
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_all_refused(&p);
	int64_t cursor = -1;
	assert_stw_ok(e, stw_get_cursor(e, "Orders", "Sales", &cursor));
	assert_int_equal(cursor, 2);
	callback_probe = NULL;
}

static int periodic_reenters(struct stw_periodic_ctx *pc, void *ud)
{
	struct probe *p = ud;
	(void)pc;
	if (!p->reentered)
		reenter(p);
	return STW_OK;
}

/* entry-3: a periodic process's handler is refused every write call too. */
static void test_writes_refused_inside_a_periodic_handler(void **state)
{
	struct fx_world *w = *state;
	struct stw_engine *e = w->e;
	struct probe p = { .e = e, .data_intact = 1 };
	struct stw_periodic_def def = { "Sweep", 1000, periodic_reenters, &p };
	assert_stw_ok(e, stw_define(e, &orders));
	assert_stw_ok(e, stw_register_service(e, "Shop", noop_handler, NULL));
	assert_stw_ok(e, stw_define_periodic(e, &def));
	fx_clock_set(&w->clock, FX_T0 + 5000);
	assert_stw_ok(e, stw_run_until_idle(e));
	assert_all_refused(&p);
}

static int setup(void **state)
{
	return fx_setup(state, "entry", FX_T0, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_writes_refused_inside_a_service_handler, setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_writes_refused_inside_a_definition_callback,
						setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_writes_refused_inside_a_periodic_handler,
						setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
