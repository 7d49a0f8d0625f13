/*
 * test_orders.c - scenarios of the restaurant order example, driven through
 * the public API only: each runs on a fresh store (a database in its own
 * temporary directory, or a PostgreSQL schema: STEWARD_TEST_STORE=pg) with
 * a virtual clock that only the test moves, drives the engine with
 * stw_run_until_idle(), moves the clock past due times and runs again, and
 * checks what a user can see (instances, their timers, orders, streams,
 * counters).
 *
 * Scenarios are numbered like SQLite's tests: orders-<group>.<case>. Group 1
 * is the seed's process with its payment deadline, group 2 the domain rules
 * of the services and the views.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "orders.h"

/* The time every scenario starts at, and the due times of the default timeouts. */
#define T0        ((int64_t)1700000000000)
#define PAY_DUE   (T0 + ORDERS_PAYMENT_TIMEOUT_MS)
#define CLOSE_DUE (PAY_DUE + ORDERS_CLOSE_AFTER_MS)

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */

struct fixture {
	struct fx_world w;          /* first: the state is a world too (see fx_new) */
	struct orders_options opts; /* outlives the engine, as orders_register() asks */
	int64_t lateness[16];       /* lateness of every timer fired, as the observer saw it */
	int fired;
};

/* Records the lateness the engine reports for each timer it fires. */
static void observe(const struct stw_activity *a, void *ud)
{
	struct fixture *f = ud;

	if (a->kind != STW_ACTIVITY_TIMERS || a->lateness_ms == NULL)
		return;
	for (int i = 0; i < a->count; i++, f->fired++)
		if (f->fired < 16)
			f->lateness[f->fired] = a->lateness_ms[i];
}

/* Opens the engine on the fixture's database (new or existing) and registers the example. */
static int open_engine(struct fixture *f)
{
	struct stw_options opts = { 0 };

	opts.synchronous = -1;
	opts.observer = observe;
	opts.observer_ud = f;
	if (fx_world_open(&f->w, &opts) != STW_OK)
		return -1;
	return orders_register(f->w.e, &f->opts) == STW_OK ? 0 : -1;
}

/*
 * Opens a fresh engine in a new temporary directory, with a virtual clock at
 * T0 that moves only when a test moves it. The scenario's parameter, when
 * set, is the struct orders_options to register with.
 */
static int setup(void **state)
{
	const struct orders_options *opts = *state;
	struct fixture *f;

	if (fx_new(state, sizeof *f, "orders", T0) != 0)
		return -1;
	f = *state;
	if (opts != NULL)
		f->opts = *opts;
	if (open_engine(f) == 0)
		return 0;
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Helpers: each fails the test on an unexpected error                      */

static void run(struct fixture *f)
{
	assert_stw_ok(f->w.e, stw_run_until_idle(f->w.e));
}

/* Moves the virtual clock to `t` and runs until idle. */
static void run_at(struct fixture *f, int64_t t)
{
	fx_clock_set(&f->w.clock, t);
	run(f);
}

static const char *const menu[] = { "margherita", "tiramisu", NULL };

static void place(struct fixture *f, const char *order_id)
{
	int rc = orders_place(f->w.e, order_id, "luigi", menu, 1850, NULL);

	if (rc != STW_OK)
		fail_msg("placing %s: %s: %s", order_id, stw_strerror(rc), stw_errmsg(f->w.e));
}

static void pay(struct fixture *f, const char *order_id)
{
	int rc = orders_pay(f->w.e, order_id, NULL);

	if (rc != STW_OK)
		fail_msg("paying %s: %s: %s", order_id, stw_strerror(rc), stw_errmsg(f->w.e));
}

static void deliver(struct fixture *f, const char *order_id)
{
	int rc = orders_deliver(f->w.e, order_id, NULL);

	if (rc != STW_OK)
		fail_msg("delivering %s: %s: %s", order_id, stw_strerror(rc), stw_errmsg(f->w.e));
}

/* The orders instance `id` as a new JSON object. */
static json_t *instance(struct fixture *f, const char *id)
{
	json_t *out = NULL;
	int rc = stw_get_instance(f->w.e, "orders", id, &out);

	if (rc != STW_OK)
		fail_msg("instance %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
	return out;
}

/* A string field of a JSON object, or "" (never NULL, for assert_string_equal). */
static const char *str(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return s != NULL ? s : "";
}

static int64_t integer(const json_t *obj, const char *field)
{
	return (int64_t)json_integer_value(json_object_get(obj, field));
}

/* Number of elements of obj[array] whose `field` equals `value`. */
static int count_where(const json_t *obj, const char *array, const char *field, const char *value)
{
	size_t i;
	json_t *row;
	int n = 0;

	json_array_foreach(json_object_get(obj, array), i, row)
	{
		if (strcmp(str(row, field), value) == 0)
			n++;
	}
	return n;
}

/* Checks an instance's state and status, and returns it for more checks (new reference). */
static json_t *expect(struct fixture *f, const char *id, const char *state, const char *status)
{
	json_t *p = instance(f, id);

	if (strcmp(str(p, "state"), state) != 0 || strcmp(str(p, "status"), status) != 0)
		fail_msg("instance %s is %s/%s (%s), expected %s/%s", id, str(p, "state"),
			 str(p, "status"), str(p, "reason"), state, status);
	return p;
}

/* The instance's history rows of one message type. */
static int history_of(const json_t *p, const char *message_type)
{
	return count_where(p, "history", "message_type", message_type);
}

/* What a stream holds: its version and the types and correlation ids of its events. */
struct stream_view {
	int64_t version;
	int n;
	char types[16][64];
	char correlations[16][64];
};

static int stream_cb(const struct stw_event *ev, void *ud)
{
	struct stream_view *v = ud;

	if (v->n < 16) {
		snprintf(v->types[v->n], sizeof v->types[0], "%s", ev->type);
		snprintf(v->correlations[v->n], sizeof v->correlations[0], "%s",
			 ev->correlation_id ? ev->correlation_id : "");
	}
	v->n++;
	return 0;
}

static void read_stream(struct fixture *f, const char *context, const char *stream,
			struct stream_view *v)
{
	int rc;

	memset(v, 0, sizeof *v);
	rc = stw_read_stream(f->w.e, context, stream, stream_cb, v, &v->version);
	if (rc != STW_OK)
		fail_msg("reading %s/%s: %s", context, stream, stw_strerror(rc));
	assert_int_equal(v->n, v->version);
}

static int stream_count(const struct stream_view *v, const char *type)
{
	int n = 0;

	for (int i = 0; i < v->n && i < 16; i++)
		n += strcmp(v->types[i], type) == 0;
	return n;
}

static int64_t head(struct fixture *f, const char *context)
{
	int64_t pos = -1;

	assert_int_equal(stw_head(f->w.e, context, &pos), STW_OK);
	return pos;
}

/* The due time of the next pending timer, or -1 when none is pending. */
static int64_t next_timer(struct fixture *f)
{
	int64_t due = 0;
	int rc = stw_next_timer(f->w.e, &due);

	if (rc == STW_ENOTFOUND)
		return -1;
	if (rc != STW_OK)
		fail_msg("stw_next_timer: %s: %s", stw_strerror(rc), stw_errmsg(f->w.e));
	return due;
}

static struct stw_stats stats(struct fixture *f)
{
	struct stw_stats st;

	stw_get_stats(f->w.e, &st);
	return st;
}

/* Checks what the order view says of an order. */
static void assert_order(struct fixture *f, const char *order_id, const char *status,
			 const char *payment, const char *delivery)
{
	json_t *o = NULL;

	assert_int_equal(orders_order(f->w.e, order_id, &o), STW_OK);
	assert_string_equal(str(o, "status"), status);
	assert_string_equal(str(o, "payment"), payment);
	assert_string_equal(str(o, "delivery"), delivery);
	json_decref(o);
}

/* Appends one event by hand, as another system (or a redelivery) would. */
static void append(struct fixture *f, const char *context, const char *stream, const char *id,
		   const char *type, json_t *data)
{
	struct stw_event ev = { .id = id, .type = type, .stream = stream, .data = data };
	int rc;

	assert_non_null(data);
	rc = stw_append(f->w.e, context, STW_ANY_VERSION, &ev, 1, NULL);
	json_decref(data);
	if (rc != STW_OK)
		fail_msg("appending %s: %s: %s", type, stw_strerror(rc), stw_errmsg(f->w.e));
}

/* ------------------------------------------------------------------------ */
/* Group 1: the order process and its payment deadline                      */

/*
 * orders-1.1: the happy path. An order placed at T0 and paid 30 s later is
 * dispatched and delivered: the instance completes in Delivered after four
 * applied messages, through ProcessPayment and DispatchOrder, and the order
 * view agrees. The payment timer armed by OrderPlaced never changes
 * anything: when the clock passes its due time it is counted as ignored, not
 * fired, and writes no history, no command, no event.
 */
static void happy_path(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders;
	struct stw_stats st;
	json_t *p;

	place(f, "o1");
	run(f);
	json_decref(expect(f, "o1", "AwaitingPayment", "active"));
	assert_int_equal(next_timer(f), PAY_DUE);
	assert_order(f, "o1", "placed", "requested", "none");

	fx_clock_set(&f->w.clock, T0 + 30000);
	pay(f, "o1");
	run(f);
	json_decref(expect(f, "o1", "Dispatched", "active"));
	deliver(f, "o1");
	run(f);

	p = expect(f, "o1", "Delivered", "completed");
	assert_int_equal(json_array_size(json_object_get(p, "history")), 4);
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 4);
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 2);
	assert_int_equal(count_where(p, "commands", "type", "ProcessPayment"), 1);
	assert_int_equal(count_where(p, "commands", "type", "DispatchOrder"), 1);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 2);
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);
	assert_order(f, "o1", "placed", "paid", "delivered");
	st = stats(f);
	assert_int_equal(st.timers_armed, 1);
	assert_int_equal(st.timers_fired, 0);

	run_at(f, PAY_DUE + 1);
	p = expect(f, "o1", "Delivered", "completed");
	assert_int_equal(json_array_size(json_object_get(p, "history")), 4);
	assert_int_equal(history_of(p, "PaymentTimedOut"), 0);
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 2);
	json_decref(p);
	st = stats(f);
	assert_int_equal(st.timers_fired, 0);
	assert_int_equal(st.timers_ignored, 1);
	assert_int_equal(next_timer(f), -1);
	read_stream(f, "Orders", "order-o1", &orders);
	assert_int_equal(orders.n, 1);
}

/*
 * orders-1.2: the payment never arrives. stw_next_timer() reports the
 * deadline (T0 + 2 minutes) before it fires; 1 ms before it a run changes
 * nothing; at the deadline PaymentTimedOut fires once, on time (lateness 0):
 * the order is Cancelled (an active state, waiting for a late payment),
 * CancelOrder was delivered and the Orders stream ends with OrderCancelled,
 * correlated to the order. The next timer is then the closing one.
 */
static void payment_never_arrives(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders;
	struct stw_stats st;
	json_t *p, *row;

	place(f, "o2");
	run(f);
	assert_int_equal(next_timer(f), PAY_DUE);

	run_at(f, PAY_DUE - 1);
	p = expect(f, "o2", "AwaitingPayment", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 0);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 0);
	assert_int_equal(next_timer(f), PAY_DUE);
	read_stream(f, "Orders", "order-o2", &orders);
	assert_int_equal(orders.n, 1);

	run_at(f, PAY_DUE);
	p = expect(f, "o2", "Cancelled", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 1);
	row = json_array_get(json_object_get(p, "history"), 1);
	assert_string_equal(str(row, "message_type"), "PaymentTimedOut");
	assert_string_equal(str(row, "from"), "AwaitingPayment");
	assert_string_equal(str(row, "to"), "Cancelled");
	assert_string_equal(str(row, "outcome"), "applied");
	assert_int_equal(count_where(p, "commands", "type", "CancelOrder"), 1);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 2);
	json_decref(p);

	read_stream(f, "Orders", "order-o2", &orders);
	assert_int_equal(orders.n, 2);
	assert_string_equal(orders.types[1], "OrderCancelled");
	assert_string_equal(orders.correlations[1], "o2");
	assert_order(f, "o2", "cancelled", "requested", "none");
	st = stats(f);
	assert_int_equal(st.timers_fired, 1);
	assert_int_equal(st.timers_ignored, 0);
	assert_int_equal(f->fired, 1);
	assert_int_equal(f->lateness[0], 0);
	assert_int_equal(next_timer(f), CLOSE_DUE);
}

/*
 * orders-1.3: a late payment after the cancellation is refunded (the seed's
 * rule). Payments still takes the money a minute after the deadline; the
 * process, in Cancelled, sends RefundPayment and completes in Refunded. The
 * Payments stream reads PaymentRequested, PaymentCompleted, PaymentRefunded;
 * nothing was ever dispatched; the closing timer is ignored when it falls due.
 */
static void late_payment_refunded(void **state)
{
	struct fixture *f = *state;
	struct stream_view payments, delivery;
	json_t *p;

	place(f, "o3");
	run(f);
	run_at(f, PAY_DUE);
	json_decref(expect(f, "o3", "Cancelled", "active"));

	fx_clock_set(&f->w.clock, PAY_DUE + 60000);
	pay(f, "o3");
	run(f);
	p = expect(f, "o3", "Refunded", "completed");
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 3);
	assert_int_equal(count_where(p, "commands", "type", "RefundPayment"), 1);
	assert_int_equal(count_where(p, "commands", "type", "DispatchOrder"), 0);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 3);
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);

	read_stream(f, "Payments", "payment-o3", &payments);
	assert_int_equal(payments.n, 3);
	assert_string_equal(payments.types[0], "PaymentRequested");
	assert_string_equal(payments.types[1], "PaymentCompleted");
	assert_string_equal(payments.types[2], "PaymentRefunded");
	assert_string_equal(payments.correlations[2], "o3");
	read_stream(f, "Restaurant", "delivery-o3", &delivery);
	assert_int_equal(delivery.n, 0);
	assert_order(f, "o3", "cancelled", "refunded", "none");

	run_at(f, CLOSE_DUE);
	json_decref(expect(f, "o3", "Refunded", "completed"));
	assert_int_equal(stats(f).timers_fired, 1);
	assert_int_equal(stats(f).timers_ignored, 1);
	assert_int_equal(next_timer(f), -1);
}

/*
 * orders-1.4: progress cancels the timeout. Paid 1 ms before the deadline,
 * the order moves on; when the clock passes the deadline the timer is void:
 * counted once in timers_ignored, no PaymentTimedOut in the history, no
 * CancelOrder, no OrderCancelled, and nothing is left pending.
 */
static void timeout_cancelled_by_progress(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders;
	struct stw_stats st;
	json_t *p;

	place(f, "o4");
	run(f);
	fx_clock_set(&f->w.clock, PAY_DUE - 1);
	pay(f, "o4");
	run(f);
	json_decref(expect(f, "o4", "Dispatched", "active"));

	run_at(f, PAY_DUE);
	run_at(f, PAY_DUE + 10 * 60 * 1000);
	p = expect(f, "o4", "Dispatched", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 0);
	assert_int_equal(count_where(p, "commands", "type", "CancelOrder"), 0);
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);
	st = stats(f);
	assert_int_equal(st.timers_fired, 0);
	assert_int_equal(st.timers_ignored, 1);
	assert_int_equal(next_timer(f), -1);
	read_stream(f, "Orders", "order-o4", &orders);
	assert_int_equal(stream_count(&orders, "OrderCancelled"), 0);
}

/*
 * orders-1.5: duplicates are harmless (the seed's idempotence). An
 * OrderPlaced appended twice with the same event id is stored once; the same
 * order placed again under another event id is recorded as a stay in
 * AwaitingPayment, sends no second ProcessPayment and keeps the payment timer
 * (a stay does not leave the state). A PaymentCompleted appended again, once
 * in Paid and once in Dispatched, stays too: one DispatchOrder, one
 * OrderDispatched, and the instance never fails. An OrderPlaced without
 * timeouts gets the default deadline.
 */
static void duplicates(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders, payments, delivery;
	json_t *p, *timer;

	for (int i = 0; i < 2; i++)
		append(f, "Orders", "order-o5", "placed-o5", "OrderPlaced",
		       json_pack("{s:s, s:s, s:[s], s:i}", "order_id", "o5", "restaurant", "luigi",
				 "items", "calzone", "price", 900));
	read_stream(f, "Orders", "order-o5", &orders);
	assert_int_equal(orders.n, 1);
	run(f);
	append(f, "Orders", "order-o5", "placed-o5-again", "OrderPlaced",
	       json_pack("{s:s, s:s, s:[s], s:i}", "order_id", "o5", "restaurant", "luigi", "items",
			 "calzone", "price", 900));
	run(f);

	p = expect(f, "o5", "AwaitingPayment", "active");
	assert_int_equal(history_of(p, "OrderPlaced"), 2);
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 2);
	assert_int_equal(count_where(p, "commands", "type", "ProcessPayment"), 1);
	assert_int_equal(integer(json_object_get(p, "data"), "payment_due_at"), PAY_DUE);
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 1);
	timer = json_array_get(json_object_get(p, "timers"), 0);
	assert_string_equal(str(timer, "message_type"), "PaymentTimedOut");
	assert_int_equal(integer(timer, "due_at"), PAY_DUE);
	json_decref(p);
	read_stream(f, "Payments", "payment-o5", &payments);
	assert_int_equal(stream_count(&payments, "PaymentRequested"), 1);
	assert_int_equal(stats(f).timers_armed, 1);

	pay(f, "o5");
	append(f, "Payments", "payment-o5", "paid-o5-again", "PaymentCompleted",
	       json_pack("{s:s, s:i}", "order_id", "o5", "amount", 900));
	run(f);
	append(f, "Payments", "payment-o5", "paid-o5-third", "PaymentCompleted",
	       json_pack("{s:s, s:i}", "order_id", "o5", "amount", 900));
	run(f);

	p = expect(f, "o5", "Dispatched", "active");
	assert_int_equal(history_of(p, "PaymentCompleted"), 3);
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 6);
	assert_int_equal(count_where(p, "commands", "type", "DispatchOrder"), 1);
	json_decref(p);
	read_stream(f, "Restaurant", "delivery-o5", &delivery);
	assert_int_equal(delivery.n, 1);
	assert_int_equal(stats(f).failures, 0);

	run_at(f, PAY_DUE);
	json_decref(expect(f, "o5", "Dispatched", "active"));
	assert_int_equal(stats(f).timers_ignored, 1);
}

/*
 * orders-1.6: a message in a wrong state fails the instance instead of being
 * dropped. An OrderDelivered appended by hand while the order awaits payment
 * fails it with a reason naming the message and the state, and a history row
 * says so. The payment timer of a failed instance is ignored: the order is
 * not cancelled behind the back of the person who will look at it.
 */
static void wrong_state_fails(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders;
	json_t *p, *row;

	place(f, "o6");
	run(f);
	append(f, "Restaurant", "delivery-o6", NULL, "OrderDelivered",
	       json_pack("{s:s}", "order_id", "o6"));
	run(f);

	p = expect(f, "o6", "AwaitingPayment", "failed");
	assert_non_null(strstr(str(p, "reason"), "OrderDelivered"));
	assert_non_null(strstr(str(p, "reason"), "AwaitingPayment"));
	row = json_array_get(json_object_get(p, "history"), 1);
	assert_string_equal(str(row, "message_type"), "OrderDelivered");
	assert_string_equal(str(row, "outcome"), "failed");
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);
	assert_int_equal(stats(f).failures, 1);

	run_at(f, PAY_DUE);
	p = expect(f, "o6", "AwaitingPayment", "failed");
	assert_int_equal(count_where(p, "commands", "type", "CancelOrder"), 0);
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 1);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 0);
	assert_int_equal(stats(f).timers_ignored, 1);
	read_stream(f, "Orders", "order-o6", &orders);
	assert_int_equal(orders.n, 1);
}

/*
 * orders-1.7: a timer that fell due while the engine was down fires right
 * after the restart, once. The timer is armed, the engine closed, the clock
 * moved 5 s past the deadline and the same database reopened: the deadline is
 * still pending (stw_next_timer), the first run cancels the order with
 * exactly one PaymentTimedOut row and a lateness of 5 s, and later runs, in
 * this engine or after another restart, add nothing.
 */
static void fires_after_restart(void **state)
{
	struct fixture *f = *state;
	struct stream_view orders;
	json_t *p;

	place(f, "o7");
	run(f);
	assert_int_equal(stats(f).timers_armed, 1);
	stw_close(f->w.e);
	f->w.e = NULL;

	fx_clock_set(&f->w.clock, PAY_DUE + 5000);
	assert_int_equal(open_engine(f), 0);
	assert_int_equal(next_timer(f), PAY_DUE);
	run(f);
	p = expect(f, "o7", "Cancelled", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 1);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 1);
	assert_int_equal(f->fired, 1);
	assert_int_equal(f->lateness[0], 5000);

	run(f);
	p = expect(f, "o7", "Cancelled", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 1);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 1);

	stw_close(f->w.e);
	f->w.e = NULL;
	assert_int_equal(open_engine(f), 0);
	run(f);
	p = expect(f, "o7", "Cancelled", "active");
	assert_int_equal(history_of(p, "PaymentTimedOut"), 1);
	assert_int_equal(count_where(p, "commands", "type", "CancelOrder"), 1);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 0);
	read_stream(f, "Orders", "order-o7", &orders);
	assert_int_equal(stream_count(&orders, "OrderCancelled"), 1);
}

/*
 * orders-1.8: the instance JSON lists the timers that still apply. Two orders
 * are placed at T0: each lists its PaymentTimedOut with the deadline. Once
 * one is paid its list is empty, while the other's is unchanged; when the
 * other is cancelled it lists CancellationClosed instead.
 */
static void instance_lists_timers(void **state)
{
	struct fixture *f = *state;
	json_t *p, *timers;

	place(f, "o8");
	place(f, "o8b");
	run(f);
	p = expect(f, "o8", "AwaitingPayment", "active");
	timers = json_object_get(p, "timers");
	assert_int_equal(json_array_size(timers), 1);
	assert_string_equal(str(json_array_get(timers, 0), "message_type"), "PaymentTimedOut");
	assert_int_equal(integer(json_array_get(timers, 0), "due_at"), PAY_DUE);
	json_decref(p);

	fx_clock_set(&f->w.clock, T0 + 1000);
	pay(f, "o8");
	run(f);
	p = expect(f, "o8", "Dispatched", "active");
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);
	p = expect(f, "o8b", "AwaitingPayment", "active");
	timers = json_object_get(p, "timers");
	assert_int_equal(json_array_size(timers), 1);
	assert_int_equal(integer(json_array_get(timers, 0), "due_at"), PAY_DUE);
	json_decref(p);

	run_at(f, PAY_DUE);
	p = expect(f, "o8b", "Cancelled", "active");
	timers = json_object_get(p, "timers");
	assert_int_equal(json_array_size(timers), 1);
	assert_string_equal(str(json_array_get(timers, 0), "message_type"), "CancellationClosed");
	assert_int_equal(integer(json_array_get(timers, 0), "due_at"), CLOSE_DUE);
	json_decref(p);
}

/* orders-1.9 runs with its own timeouts: 30 s to pay, then an hour for a late payment. */
static const struct orders_options short_timeouts = { 30000, 3600000 };

/*
 * orders-1.9: the closing timer ends a cancelled order, with timeouts set by
 * orders_register(). The order records its timeouts in OrderPlaced; it is
 * cancelled 30 s after being placed and closed an hour after that (not 1 ms
 * sooner), completing in Closed. A payment after the close is taken by
 * Payments but the ended process only records it as ignored: refunding it is
 * left to a person (the seed's manual intervention).
 */
static void closing_timer(void **state)
{
	struct fixture *f = *state;
	int64_t pay_due = T0 + 30000, close_due = T0 + 30000 + 3600000;
	json_t *p, *row, *o = NULL;

	place(f, "o9");
	run(f);
	p = expect(f, "o9", "AwaitingPayment", "active");
	assert_int_equal(integer(json_object_get(p, "data"), "payment_timeout_ms"), 30000);
	assert_int_equal(integer(json_object_get(p, "data"), "close_after_ms"), 3600000);
	json_decref(p);
	assert_int_equal(next_timer(f), pay_due);

	run_at(f, pay_due);
	json_decref(expect(f, "o9", "Cancelled", "active"));
	assert_int_equal(next_timer(f), close_due);
	run_at(f, close_due - 1);
	json_decref(expect(f, "o9", "Cancelled", "active"));

	run_at(f, close_due);
	p = expect(f, "o9", "Closed", "completed");
	assert_int_equal(history_of(p, "CancellationClosed"), 1);
	assert_int_equal(json_array_size(json_object_get(p, "timers")), 0);
	json_decref(p);
	assert_int_equal(stats(f).timers_fired, 2);
	assert_int_equal(next_timer(f), -1);

	pay(f, "o9");
	run(f);
	p = expect(f, "o9", "Closed", "completed");
	row = json_array_get(json_object_get(p, "history"),
			     json_array_size(json_object_get(p, "history")) - 1);
	assert_string_equal(str(row, "message_type"), "PaymentCompleted");
	assert_string_equal(str(row, "outcome"), "ignored");
	assert_int_equal(count_where(p, "commands", "type", "RefundPayment"), 0);
	json_decref(p);
	assert_int_equal(orders_order(f->w.e, "o9", &o), STW_OK);
	assert_string_equal(str(o, "payment"), "paid");
	json_decref(o);
}

/* ------------------------------------------------------------------------ */
/* Group 2: domain rules of the services, and the views                     */

/* One command sent to a service and what must come back. */
struct command_case {
	const char *context;
	const char *type;
	const char *data; /* JSON text */
	int rc;
	const char *message; /* a piece of stw_errmsg() when refused */
};

static const struct command_case command_cases[] = {
	{ "Orders", "PlaceOrder", "{\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":5}",
	  STW_EREJECTED, "order_id" },
	{ "Orders", "PlaceOrder", "{\"order_id\":\"o2\",\"items\":[\"a\"],\"price\":5}",
	  STW_EREJECTED, "restaurant" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[],\"price\":5}", STW_EREJECTED,
	  "items" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":\"pizza\",\"price\":5}",
	  STW_EREJECTED, "items" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\",\"\"],\"price\":5}",
	  STW_EREJECTED, "item 1" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":-1}",
	  STW_EREJECTED, "price" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":\"5\"}",
	  STW_EREJECTED, "price" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o1\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":5}", STW_EREJECTED,
	  "already exists" },
	{ "Orders", "CancelOrder", "{\"order_id\":\"o9\"}", STW_EREJECTED, "does not exist" },
	{ "Orders", "CancelOrder", "{\"order_id\":\"o1\",\"reason\":5}", STW_EREJECTED, "reason" },
	{ "Orders", "ShipOrder", "{\"order_id\":\"o1\"}", STW_EREJECTED, "ShipOrder" },
	{ "Payments", "Pay", "{\"order_id\":\"o9\"}", STW_EREJECTED, "no payment was requested" },
	{ "Payments", "Pay", "{}", STW_EREJECTED, "order_id" },
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o1\",\"amount\":5}", STW_EREJECTED,
	  "already requested" },
	/* The same request again (a retry from AwaitingPayment): it stands, nothing is appended. */
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o1\",\"amount\":1850}", STW_OK, NULL },
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o2\",\"amount\":-5}", STW_EREJECTED,
	  "amount" },
	{ "Payments", "RefundPayment", "{\"order_id\":\"o1\",\"amount\":1850}", STW_EREJECTED,
	  "no payment to refund" },
	{ "Payments", "Pay", "{\"order_id\":\"o1\"}", STW_OK, NULL },
	{ "Payments", "Pay", "{\"order_id\":\"o1\"}", STW_EREJECTED, "already paid" },
	{ "Payments", "RefundPayment", "{\"order_id\":\"o1\",\"amount\":1}", STW_EREJECTED,
	  "does not match" },
	{ "Restaurant", "DeliverOrder", "{\"order_id\":\"o1\"}", STW_EREJECTED, "not dispatched" },
	{ "Restaurant", "DispatchOrder", "{\"order_id\":\"o1\",\"items\":[\"a\"]}", STW_EREJECTED,
	  "restaurant" },
	{ "Restaurant", "DispatchOrder", "{\"order_id\":\"o1\",\"restaurant\":\"r\"}",
	  STW_EREJECTED, "items" },
	{ "Restaurant", "Cook", "{\"order_id\":\"o1\"}", STW_EREJECTED, "Cook" },
};

/*
 * orders-2.1: the services refuse what their rules forbid, each with a
 * reason: missing or invalid fields, an order placed twice, cancelling an
 * unknown order, paying without a request or twice, a second payment
 * request of another amount (the same request again stands, appending
 * nothing), refunding what was not paid or another amount, delivering what
 * was not dispatched, an unknown command, an id over the cap. A refusal
 * appends nothing (only the one accepted Pay does).
 */
static void rules(void **state)
{
	struct fixture *f = *state;
	char long_id[102];
	int64_t orders_head, payments_head, restaurant_head;

	place(f, "o1");
	run(f);
	memset(long_id, 'x', 101);
	long_id[101] = '\0';
	assert_int_equal(orders_place(f->w.e, long_id, "luigi", menu, 1, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "at most 100 bytes"));
	assert_int_equal(orders_place(f->w.e, "o2", "luigi", NULL, 1, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "items"));
	assert_int_equal(orders_pay(f->w.e, long_id, NULL), STW_EREJECTED);
	assert_int_equal(orders_deliver(f->w.e, NULL, NULL), STW_EREJECTED);
	orders_head = head(f, "Orders");
	payments_head = head(f, "Payments");
	restaurant_head = head(f, "Restaurant");

	for (size_t i = 0; i < sizeof command_cases / sizeof command_cases[0]; i++) {
		const struct command_case *c = &command_cases[i];
		json_t *data = json_loads(c->data, 0, NULL);
		int rc;

		assert_non_null(data);
		rc = stw_execute(f->w.e, c->context, c->type, data, NULL, NULL, NULL);
		json_decref(data);
		if (rc != c->rc)
			fail_msg("case %zu (%s %s): %s, expected %s: %s", i, c->type, c->data,
				 stw_strerror(rc), stw_strerror(c->rc), stw_errmsg(f->w.e));
		if (c->message != NULL && strstr(stw_errmsg(f->w.e), c->message) == NULL)
			fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, c->type,
				 stw_errmsg(f->w.e), c->message);
	}
	assert_int_equal(head(f, "Orders"), orders_head);
	assert_int_equal(head(f, "Payments"), payments_head + 1);
	assert_int_equal(head(f, "Restaurant"), restaurant_head);
}

/*
 * orders-2.2: commands sent twice under the same id are applied once, and
 * the views and the registration check their input. Placing or paying again
 * with the same command id returns the recorded success and appends nothing;
 * the order view says what the three contexts know; an unknown order is
 * STW_ENOTFOUND, an invalid id STW_EINVAL; a negative or too long timeout is
 * refused by orders_register().
 */
static void idempotent_calls_and_views(void **state)
{
	struct fixture *f = *state;
	struct orders_options bad = { -1, 0 };
	char long_id[102];
	json_t *o = NULL;

	assert_int_equal(orders_place(f->w.e, "o1", "luigi", menu, 1850, "place-1"), STW_OK);
	assert_int_equal(orders_place(f->w.e, "o1", "luigi", menu, 1850, "place-1"), STW_OK);
	assert_int_equal(head(f, "Orders"), 1);
	run(f);
	assert_int_equal(orders_pay(f->w.e, "o1", "pay-1"), STW_OK);
	assert_int_equal(orders_pay(f->w.e, "o1", "pay-1"), STW_OK);
	assert_int_equal(head(f, "Payments"), 2);
	run(f);

	assert_int_equal(orders_order(f->w.e, "o1", &o), STW_OK);
	assert_string_equal(str(o, "order_id"), "o1");
	assert_string_equal(str(o, "restaurant"), "luigi");
	assert_int_equal(integer(o, "price"), 1850);
	assert_int_equal(json_array_size(json_object_get(o, "items")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(o, "items"), 1)),
			    "tiramisu");
	assert_string_equal(str(o, "status"), "placed");
	assert_string_equal(str(o, "payment"), "paid");
	assert_string_equal(str(o, "delivery"), "dispatched");
	json_decref(o);

	o = NULL;
	memset(long_id, 'x', 101);
	long_id[101] = '\0';
	assert_int_equal(orders_order(f->w.e, "o404", &o), STW_ENOTFOUND);
	assert_null(o);
	assert_int_equal(orders_order(f->w.e, "", &o), STW_EINVAL);
	assert_int_equal(orders_order(f->w.e, NULL, &o), STW_EINVAL);
	assert_int_equal(orders_order(f->w.e, long_id, &o), STW_EINVAL);
	assert_null(o);

	assert_int_equal(orders_register(f->w.e, &bad), STW_EINVAL);
	bad.payment_timeout_ms = 0;
	bad.close_after_ms = ORDERS_MAX_TIMEOUT_MS + 1;
	assert_int_equal(orders_register(f->w.e, &bad), STW_EINVAL);
}

/* ------------------------------------------------------------------------ */

#define SCENARIO(name, fn, param)                                                                  \
	{                                                                                          \
		name, fn, setup, fx_teardown, (void *)(param)                                      \
	}

int main(void)
{
	static const struct CMUnitTest scenarios[] = {
		SCENARIO("orders-1.1 placed, paid in time, dispatched, delivered", happy_path,
			 NULL),
		SCENARIO("orders-1.2 the payment never arrives: cancelled at the deadline",
			 payment_never_arrives, NULL),
		SCENARIO("orders-1.3 a late payment after the cancellation is refunded",
			 late_payment_refunded, NULL),
		SCENARIO("orders-1.4 a payment 1 ms before the deadline voids the timeout",
			 timeout_cancelled_by_progress, NULL),
		SCENARIO("orders-1.5 duplicate OrderPlaced and PaymentCompleted are harmless",
			 duplicates, NULL),
		SCENARIO("orders-1.6 a message in a wrong state fails the instance",
			 wrong_state_fails, NULL),
		SCENARIO(
		    "orders-1.7 a timer due while the engine was down fires once after restart",
		    fires_after_restart, NULL),
		SCENARIO("orders-1.8 the instance lists the timers that still apply",
			 instance_lists_timers, NULL),
		SCENARIO("orders-1.9 the closing timer ends a cancelled order", closing_timer,
			 &short_timeouts),
		SCENARIO("orders-2.1 the services refuse what their rules forbid", rules, NULL),
		SCENARIO("orders-2.2 idempotent calls, views and options",
			 idempotent_calls_and_views, NULL),
	};

	return cmocka_run_group_tests_name("orders", scenarios, NULL, NULL);
}
