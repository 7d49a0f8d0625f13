/*
 * test_open.c - stw_open on ":memory:": an in-memory SQLite store private to
 * the engine handle. Events are appended and read back, a round steps a
 * process and delivers its command to a service, two handles do not share
 * their stores, nothing outlives stw_close, and a read-only open is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

/* An order process: OrderPlaced asks Shipping to ship, Shipped completes it. */
static const struct stw_state_def states[] = {
	{ "AwaitingShipment", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def ship[] = { { "Shipping", "Ship", NULL }, { NULL, NULL, NULL } };
static const struct stw_transition_def transitions[] = {
	{ NULL, "OrderPlaced", "AwaitingShipment", ship, NULL, NULL },
	{ "AwaitingShipment", "OrderShipped", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "Orders", "Shipping", NULL };
static const struct stw_definition order = {
	.name = "order",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* Shipping's service: every Ship command emits OrderShipped on the order's stream. */
static int shipping(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)ud;
	char stream[STW_MAX_ID + 16];
	snprintf(stream, sizeof(stream), "shipment-%s", cmd->correlation_id);
	return stw_svc_emit(sc, stream, STW_NO_STREAM, "OrderShipped", NULL);
}

/* A copy of what a read callback saw. */
struct seen {
	int n;
	int64_t position[8];
	int64_t stream_version[8];
	char type[8][STW_MAX_NAME];
	long long amount[8];
};

static int remember(const struct stw_event *ev, void *ud)
{
	struct seen *s = ud;
	if (s->n >= 8)
		return 1;
	s->position[s->n] = ev->position;
	s->stream_version[s->n] = ev->stream_version;
	snprintf(s->type[s->n], sizeof(s->type[0]), "%s", ev->type);
	s->amount[s->n] = json_integer_value(json_object_get(ev->data, "amount"));
	s->n++;
	return 0;
}

/* Appends one event of `type` to Orders, stream `stream`, correlated to `stream`. */
static int append_one(struct stw_engine *e, const char *stream, int64_t expected, const char *type,
		      long long amount)
{
	json_t *data = json_pack("{s:I}", "amount", (json_int_t)amount);
	struct stw_event ev = {
		.type = type, .stream = stream, .correlation_id = stream, .data = data
	};
	int rc = stw_append(e, "Orders", expected, &ev, 1, NULL);
	json_decref(data); /* stw_append borrows the data */
	return rc;
}

/* Events appended to a ":memory:" store are read back in order, with their data. */
static void test_memory_append_and_read(void **state)
{
	(void)state;
	struct stw_engine *e = NULL;
	assert_int_equal(stw_open(":memory:", NULL, &e), STW_OK);
	assert_non_null(e);
	assert_int_equal(append_one(e, "order-1", STW_NO_STREAM, "OrderPlaced", 100), STW_OK);
	assert_int_equal(append_one(e, "order-1", 1, "OrderAmended", 120), STW_OK);
	assert_int_equal(append_one(e, "order-2", STW_NO_STREAM, "OrderPlaced", 7), STW_OK);
	assert_int_equal(append_one(e, "order-1", 1, "OrderAmended", 130), STW_ECONFLICT);

	struct seen s = { 0 };
	int count = 0;
	assert_int_equal(stw_read(e, "Orders", 0, 100, remember, &s, &count), STW_OK);
	assert_int_equal(count, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(s.position[i], i + 1);
	assert_string_equal(s.type[1], "OrderAmended");
	assert_int_equal(s.amount[0], 100);
	assert_int_equal(s.amount[1], 120);
	assert_int_equal(s.amount[2], 7);

	struct seen st = { 0 };
	int64_t version = 0, head = 0;
	assert_int_equal(stw_read_stream(e, "Orders", "order-1", remember, &st, &version), STW_OK);
	assert_int_equal(version, 2);
	assert_int_equal(st.n, 2);
	assert_int_equal(st.stream_version[1], 2);
	assert_int_equal(stw_head(e, "Orders", &head), STW_OK);
	assert_int_equal(head, 3);
	stw_close(e);
}

/* A round on a ":memory:" store steps the process, delivers its command to
 * the service and steps again on the service's event. */
static void test_memory_round(void **state)
{
	(void)state;
	struct stw_engine *e = NULL;
	assert_int_equal(stw_open(":memory:", NULL, &e), STW_OK);
	assert_int_equal(stw_register_service(e, "Shipping", shipping, NULL), STW_OK);
	assert_int_equal(stw_define(e, &order), STW_OK);
	assert_int_equal(append_one(e, "order-1", STW_NO_STREAM, "OrderPlaced", 100), STW_OK);
	assert_int_equal(stw_run_until_idle(e), STW_OK);

	json_t *in = NULL;
	assert_int_equal(stw_get_instance(e, "order", "order-1", &in), STW_OK);
	assert_string_equal(json_string_value(json_object_get(in, "status")), "completed");
	assert_string_equal(json_string_value(json_object_get(in, "state")), "Shipped");
	json_t *history = json_object_get(in, "history");
	assert_int_equal(json_array_size(history), 2);
	json_t *commands = json_object_get(in, "commands");
	assert_int_equal(json_array_size(commands), 1);
	json_t *cmd = json_array_get(commands, 0);
	assert_string_equal(json_string_value(json_object_get(cmd, "type")), "Ship");
	assert_string_equal(json_string_value(json_object_get(cmd, "status")), "delivered");
	json_decref(in);

	struct seen s = { 0 };
	assert_int_equal(stw_read(e, "Shipping", 0, 100, remember, &s, NULL), STW_OK);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.type[0], "OrderShipped");
	int64_t pending = -1;
	assert_int_equal(stw_pending_commands(e, &pending), STW_OK);
	assert_int_equal(pending, 0);
	stw_close(e);
}

/* Each stw_open of ":memory:" (or "sqlite::memory:") has a store of its own,
 * gone at stw_close. */
static void test_memory_is_private_and_ends_at_close(void **state)
{
	(void)state;
	struct stw_engine *a = NULL, *b = NULL;
	int64_t head = -1;
	assert_int_equal(stw_open(":memory:", NULL, &a), STW_OK);
	assert_int_equal(stw_open("sqlite::memory:", NULL, &b), STW_OK);
	assert_int_equal(append_one(a, "order-1", STW_NO_STREAM, "OrderPlaced", 1), STW_OK);
	assert_int_equal(stw_head(a, "Orders", &head), STW_OK);
	assert_int_equal(head, 1);
	assert_int_equal(stw_head(b, "Orders", &head), STW_OK);
	assert_int_equal(head, 0);
	/* The same stream is new in b: its own log, its own versions. */
	assert_int_equal(append_one(b, "order-1", STW_NO_STREAM, "OrderPlaced", 2), STW_OK);
	stw_close(b);

	stw_close(a);
	assert_int_equal(stw_open(":memory:", NULL, &a), STW_OK);
	assert_int_equal(stw_head(a, "Orders", &head), STW_OK);
	assert_int_equal(head, 0);
	stw_close(a);
}

/* A read-only ":memory:" store would be empty: not a steward store. */
static void test_memory_read_only_is_refused(void **state)
{
	(void)state;
	struct stw_engine *e = (struct stw_engine *)&e; /* overwritten with NULL */
	struct stw_options o = { .read_only = 1, .synchronous = -1 };
	assert_int_equal(stw_open(":memory:", &o, &e), STW_ENOTFOUND);
	assert_null(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory_append_and_read),
		cmocka_unit_test(test_memory_round),
		cmocka_unit_test(test_memory_is_private_and_ends_at_close),
		cmocka_unit_test(test_memory_read_only_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
