/*
 * test_orders.c - scenarios of the restaurant order example (seed 002),
 * written with the kit of steward_test.h: a customer places an order, the
 * process asks Payments for the money and gives the customer two minutes to
 * pay; paid, the order is dispatched and delivered; not paid in time, it is
 * cancelled, and a payment that comes late is refunded, until the
 * cancellation closes a day later. Each scenario runs on a fresh store (a
 * database in its own temporary directory, or a PostgreSQL schema:
 * STEWARD_TEST_STORE=pg) with the kit's virtual clock, which only the
 * scenario moves, and checks what a user can see: instances and their
 * timers, orders, streams, counters.
 *
 * Scenarios are numbered like SQLite's tests: orders-<group>.<case>. Group 1
 * is the seed's process with its payment deadline, group 2 the domain rules
 * of the services and the views.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward_test.h>

#include "fixture.h"
#include "orders.h"

/* The time every scenario starts at, and the due times of the default timeouts. */
#define T0        ((int64_t)1700000000000)
#define PAY_DUE   (T0 + ORDERS_PAYMENT_TIMEOUT_MS)
#define CLOSE_DUE (PAY_DUE + ORDERS_CLOSE_AFTER_MS)

#define PLACE(t, order)                                                                            \
	stw_test_when(t, "Orders", "PlaceOrder",                                                   \
		      "{\"order_id\":\"" order "\",\"restaurant\":\"luigi\","                      \
		      "\"items\":[\"margherita\",\"tiramisu\"],\"price\":1850}",                   \
		      order)
#define PAY(t, order) stw_test_when(t, "Payments", "Pay", "{\"order_id\":\"" order "\"}", order)
#define DELIVER(t, order)                                                                          \
	stw_test_when(t, "Restaurant", "DeliverOrder", "{\"order_id\":\"" order "\"}", order)

/* The instance's state and status. */
#define EXPECT(t, order, state, status) stw_test_expect_state(t, "orders", order, state, status)

/* The lateness of every timer fired, as the engine's observer saw it. */
struct fired {
	int n;
	int64_t lateness[16];
};

static void observe(const struct stw_activity *a, void *ud)
{
	struct fired *f = ud;
	if (a->kind != STW_ACTIVITY_TIMERS || a->lateness_ms == NULL)
		return;
	for (int i = 0; i < a->count; i++, f->n++)
		if (f->n < 16)
			f->lateness[f->n] = a->lateness_ms[i];
}

/* Registers the example with the options of ud (NULL: the defaults). */
static int setup(struct stw_engine *e, void *ud)
{
	return orders_register(e, ud);
}

/*
 * Runs a scenario once on a fresh store of the fixture's at T0, with the
 * example's options `opts` (NULL: the defaults) and the faults; ud is the
 * scenario's struct fired.
 */
static void play(int (*scenario)(struct stw_test *t, void *ud), const struct orders_options *opts,
		 unsigned faults)
{
	struct fx_world w;
	struct fired fired = { 0 };
	assert_int_equal(fx_world_init(&w, "orders", T0), 0);
	struct stw_test_options o = { .start_ms = T0,
				      .faults = faults,
				      .seed = 1,
				      .store = w.db,
				      .observer = observe,
				      .observer_ud = &fired };
	int rc = stw_test_run(&o, 1, setup, (void *)opts, scenario, &fired);
	assert_int_equal(fx_world_fini(&w), 0);
	assert_int_equal(rc, 0);
}

static struct stw_stats stats(struct stw_test *t)
{
	struct stw_stats st;
	stw_get_stats(stw_test_engine(t), &st);
	return st;
}

/* What the order view says of an order. */
static void expect_order(struct stw_test *t, const char *order, const char *status,
			 const char *payment, const char *delivery)
{
	json_t *o = NULL;
	assert_int_equal(orders_order(stw_test_engine(t), order, &o), STW_OK);
	assert_string_equal(json_string_value(json_object_get(o, "status")), status);
	assert_string_equal(json_string_value(json_object_get(o, "payment")), payment);
	assert_string_equal(json_string_value(json_object_get(o, "delivery")), delivery);
	json_decref(o);
}

/* No timer of the instance applies any more. */
static void expect_no_timers(struct stw_test *t, const char *order)
{
	stw_test_expect_timer(t, "orders", order, "PaymentTimedOut", 0);
	stw_test_expect_timer(t, "orders", order, "CancellationClosed", 0);
}

/* ------------------------------------------------------------------------ */
/* Group 1: the order process and its payment deadline                      */

/*
 * orders-1.1: the happy path. An order placed at T0 and paid 30 s later is
 * dispatched and delivered: the instance completes in Delivered after four
 * applied messages, through ProcessPayment and DispatchOrder (both
 * answered), and the order view agrees. The payment timer armed by
 * OrderPlaced never changes anything: when the clock passes its due time it
 * is counted as ignored, not fired, and writes no history, no command, no
 * event.
 */
static int happy_path(struct stw_test *t, void *ud)
{
	(void)ud;
	PLACE(t, "o1");
	EXPECT(t, "o1", "AwaitingPayment", "active");
	assert_int_equal(stw_test_next_timer(t), PAY_DUE);
	expect_order(t, "o1", "placed", "requested", "none");

	stw_test_advance(t, 30000);
	PAY(t, "o1");
	EXPECT(t, "o1", "Dispatched", "active");
	DELIVER(t, "o1");
	EXPECT(t, "o1", "Delivered", "completed");
	stw_test_expect_history(t, "orders", "o1", NULL, NULL, 4);
	stw_test_expect_history(t, "orders", "o1", NULL, "applied", 4);
	stw_test_expect_sent(t, "orders", "o1", NULL, NULL, NULL, 2);
	stw_test_expect_sent(t, "orders", "o1", "Payments", "ProcessPayment", NULL, 1);
	stw_test_expect_sent(t, "orders", "o1", "Restaurant", "DispatchOrder", NULL, 1);
	stw_test_expect_events(t, "Payments", "payment-o1", NULL,
			       "PaymentRequested PaymentCompleted");
	stw_test_expect_events(t, "Restaurant", "delivery-o1", NULL,
			       "OrderDispatched OrderDelivered");
	expect_no_timers(t, "o1");
	expect_order(t, "o1", "placed", "paid", "delivered");
	assert_int_equal(stats(t).timers_armed, 1);
	assert_int_equal(stats(t).timers_fired, 0);

	stw_test_advance(t, PAY_DUE + 1 - stw_test_now(t));
	EXPECT(t, "o1", "Delivered", "completed");
	stw_test_expect_history(t, "orders", "o1", NULL, NULL, 4);
	stw_test_expect_history(t, "orders", "o1", "PaymentTimedOut", NULL, 0);
	stw_test_expect_sent(t, "orders", "o1", NULL, NULL, NULL, 2);
	assert_int_equal(stats(t).timers_fired, 0);
	assert_int_equal(stats(t).timers_ignored, 1);
	assert_int_equal(stw_test_next_timer(t), -1);
	return stw_test_expect_events(t, "Orders", "order-o1", NULL, "OrderPlaced");
}

/*
 * orders-1.2: the payment never arrives. The next timer is the deadline
 * (T0 + 2 minutes) before it fires; 1 ms before it nothing changes; at the
 * deadline PaymentTimedOut fires once, on time (lateness 0): the order is
 * Cancelled (an active state, waiting for a late payment), CancelOrder was
 * delivered and the Orders stream ends with OrderCancelled, correlated to
 * the order. The next timer is then the closing one.
 */
static int payment_never_arrives(struct stw_test *t, void *ud)
{
	struct fired *fired = ud;
	PLACE(t, "o2");
	assert_int_equal(stw_test_next_timer(t), PAY_DUE);

	stw_test_advance(t, ORDERS_PAYMENT_TIMEOUT_MS - 1);
	EXPECT(t, "o2", "AwaitingPayment", "active");
	stw_test_expect_history(t, "orders", "o2", "PaymentTimedOut", NULL, 0);
	assert_int_equal(stats(t).timers_fired, 0);
	assert_int_equal(stw_test_next_timer(t), PAY_DUE);
	stw_test_expect_events(t, "Orders", "order-o2", NULL, "OrderPlaced");

	stw_test_advance(t, 1);
	EXPECT(t, "o2", "Cancelled", "active");
	stw_test_expect_history(t, "orders", "o2", "PaymentTimedOut", "applied", 1);
	stw_test_expect_sent(t, "orders", "o2", "Orders", "CancelOrder", NULL, 1);
	stw_test_expect_sent(t, "orders", "o2", NULL, NULL, NULL, 2);
	stw_test_expect_events(t, "Payments", "payment-o2", "o2", "PaymentRequested");
	stw_test_expect_events(t, "Orders", "order-o2", NULL, "OrderPlaced OrderCancelled");
	stw_test_expect_events(t, "Orders", "order-o2", "o2", "OrderPlaced OrderCancelled");
	expect_order(t, "o2", "cancelled", "requested", "none");
	assert_int_equal(stats(t).timers_fired, 1);
	assert_int_equal(stats(t).timers_ignored, 0);
	assert_int_equal(fired->n, 1);
	assert_int_equal(fired->lateness[0], 0);
	assert_int_equal(stw_test_next_timer(t), CLOSE_DUE);
	return 0;
}

/*
 * orders-1.3: a late payment after the cancellation is refunded (the seed's
 * rule). Payments still takes the money a minute after the deadline; the
 * process, in Cancelled, sends RefundPayment and completes in Refunded. The
 * Payments stream reads PaymentRequested, PaymentCompleted, PaymentRefunded;
 * nothing was ever dispatched; the closing timer is ignored when it falls due.
 */
static int late_payment_refunded(struct stw_test *t, void *ud)
{
	(void)ud;
	PLACE(t, "o3");
	stw_test_advance(t, ORDERS_PAYMENT_TIMEOUT_MS);
	EXPECT(t, "o3", "Cancelled", "active");

	stw_test_advance(t, 60000);
	PAY(t, "o3");
	EXPECT(t, "o3", "Refunded", "completed");
	stw_test_expect_sent(t, "orders", "o3", NULL, NULL, NULL, 3);
	stw_test_expect_sent(t, "orders", "o3", "Payments", "RefundPayment", NULL, 1);
	stw_test_expect_sent(t, "orders", "o3", "Restaurant", "DispatchOrder", NULL, 0);
	expect_no_timers(t, "o3");
	stw_test_expect_events(t, "Payments", "payment-o3", NULL,
			       "PaymentRequested PaymentCompleted PaymentRefunded");
	stw_test_expect_events(t, "Payments", "payment-o3", "o3",
			       "PaymentRequested PaymentCompleted PaymentRefunded");
	stw_test_expect_events(t, "Orders", "order-o3", NULL, "OrderPlaced OrderCancelled");
	stw_test_expect_events(t, "Restaurant", "delivery-o3", NULL, "");
	expect_order(t, "o3", "cancelled", "refunded", "none");

	stw_test_advance(t, CLOSE_DUE - stw_test_now(t));
	EXPECT(t, "o3", "Refunded", "completed");
	assert_int_equal(stats(t).timers_fired, 1);
	assert_int_equal(stats(t).timers_ignored, 1);
	assert_int_equal(stw_test_next_timer(t), -1);
	return 0;
}

/*
 * orders-1.4: progress cancels the timeout. Paid 1 ms before the deadline,
 * the order moves on; when the clock passes the deadline the timer is void:
 * counted once in timers_ignored, no PaymentTimedOut in the history, no
 * CancelOrder, no OrderCancelled, and nothing is left pending.
 */
static int timeout_cancelled_by_progress(struct stw_test *t, void *ud)
{
	(void)ud;
	PLACE(t, "o4");
	stw_test_advance(t, ORDERS_PAYMENT_TIMEOUT_MS - 1);
	PAY(t, "o4");
	EXPECT(t, "o4", "Dispatched", "active");

	stw_test_advance(t, 1);
	stw_test_advance(t, 10 * 60 * 1000);
	EXPECT(t, "o4", "Dispatched", "active");
	stw_test_expect_history(t, "orders", "o4", "PaymentTimedOut", NULL, 0);
	stw_test_expect_sent(t, "orders", "o4", "Orders", "CancelOrder", NULL, 0);
	expect_no_timers(t, "o4");
	assert_int_equal(stats(t).timers_fired, 0);
	assert_int_equal(stats(t).timers_ignored, 1);
	assert_int_equal(stw_test_next_timer(t), -1);
	return stw_test_expect_events(t, "Orders", "order-o4", NULL, "OrderPlaced");
}

/* Appends an event with its id, as another system (or a redelivery) would. */
static void append(struct stw_test *t, const char *context, const char *stream, const char *id,
		   const char *type, const char *data)
{
	struct stw_event ev = { .id = id, .type = type, .stream = stream };
	assert_non_null(ev.data = json_loads(data, 0, NULL));
	int rc = stw_append(stw_test_engine(t), context, STW_ANY_VERSION, &ev, 1, NULL);
	json_decref(ev.data);
	assert_int_equal(rc, STW_OK);
}

#define PLACED_O5                                                                                  \
	"{\"order_id\":\"o5\",\"restaurant\":\"luigi\",\"items\":[\"calzone\"],\"price\":900}"
#define PAID_O5 "{\"order_id\":\"o5\",\"amount\":900}"

/*
 * orders-1.5: duplicates are harmless (the seed's idempotence). An
 * OrderPlaced appended twice with the same event id is stored once (an
 * append with an id is the engine's: made on it); the same order placed
 * again under another event id is recorded as a stay in AwaitingPayment,
 * sends no second ProcessPayment and keeps the payment timer (a stay does
 * not leave the state). A PaymentCompleted given again, once in Paid and
 * once in Dispatched, stays too: one DispatchOrder, one OrderDispatched, and
 * the instance never fails. An OrderPlaced without timeouts gets the
 * default deadline.
 */
static int duplicates(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_hold(t);
	append(t, "Orders", "order-o5", "placed-o5", "OrderPlaced", PLACED_O5);
	append(t, "Orders", "order-o5", "placed-o5", "OrderPlaced", PLACED_O5);
	stw_test_expect_events(t, "Orders", "order-o5", NULL, "OrderPlaced");
	stw_test_release(t);
	stw_test_given(t, "Orders", "order-o5", "OrderPlaced", "o5", PLACED_O5);

	EXPECT(t, "o5", "AwaitingPayment", "active");
	stw_test_expect_history(t, "orders", "o5", "OrderPlaced", NULL, 2);
	stw_test_expect_history(t, "orders", "o5", NULL, "applied", 2);
	stw_test_expect_sent(t, "orders", "o5", "Payments", "ProcessPayment", NULL, 1);
	stw_test_expect_fields(t, "orders", "o5", "{\"data\":{\"payment_due_at\":1700000120000}}");
	stw_test_expect_timer_at(t, "orders", "o5", "PaymentTimedOut", PAY_DUE);
	stw_test_expect_timer(t, "orders", "o5", "CancellationClosed", 0);
	stw_test_expect_events(t, "Payments", "payment-o5", NULL, "PaymentRequested");
	assert_int_equal(stats(t).timers_armed, 1);

	stw_test_hold(t);
	PAY(t, "o5");
	stw_test_given(t, "Payments", "payment-o5", "PaymentCompleted", "o5", PAID_O5);
	stw_test_release(t);
	stw_test_given(t, "Payments", "payment-o5", "PaymentCompleted", "o5", PAID_O5);

	EXPECT(t, "o5", "Dispatched", "active");
	stw_test_expect_history(t, "orders", "o5", "PaymentCompleted", NULL, 3);
	stw_test_expect_history(t, "orders", "o5", NULL, "applied", 6);
	stw_test_expect_sent(t, "orders", "o5", "Restaurant", "DispatchOrder", NULL, 1);
	stw_test_expect_events(t, "Restaurant", "delivery-o5", NULL, "OrderDispatched");
	assert_int_equal(stats(t).failures, 0);

	stw_test_advance(t, ORDERS_PAYMENT_TIMEOUT_MS);
	EXPECT(t, "o5", "Dispatched", "active");
	assert_int_equal(stats(t).timers_ignored, 1);
	return 0;
}

/*
 * orders-1.6: a message in a wrong state fails the instance instead of being
 * dropped. An OrderDelivered given while the order awaits payment fails it
 * with a reason naming the message and the state, and a history row says so.
 * The payment timer of a failed instance is ignored: the order is not
 * cancelled behind the back of the person who will look at it.
 */
static int wrong_state_fails(struct stw_test *t, void *ud)
{
	(void)ud;
	PLACE(t, "o6");
	stw_test_given(t, "Restaurant", "delivery-o6", "OrderDelivered", "o6",
		       "{\"order_id\":\"o6\"}");
	EXPECT(t, "o6", "AwaitingPayment", "failed");
	stw_test_expect_fields(
	    t, "orders", "o6",
	    "{\"reason\":\"OrderDelivered is not accepted in state AwaitingPayment\"}");
	stw_test_expect_history(t, "orders", "o6", "OrderDelivered", "failed", 1);
	expect_no_timers(t, "o6");
	assert_int_equal(stats(t).failures, 1);

	stw_test_advance(t, ORDERS_PAYMENT_TIMEOUT_MS);
	EXPECT(t, "o6", "AwaitingPayment", "failed");
	stw_test_expect_sent(t, "orders", "o6", "Orders", "CancelOrder", NULL, 0);
	stw_test_expect_history(t, "orders", "o6", NULL, "applied", 1);
	assert_int_equal(stats(t).timers_fired, 0);
	assert_int_equal(stats(t).timers_ignored, 1);
	return stw_test_expect_events(t, "Orders", "order-o6", NULL, "OrderPlaced");
}

/*
 * orders-1.7: a timer that fell due while the engine was down fires right
 * after the restart, once. The timer is armed, the engine restarted 5 s past
 * the deadline: the deadline is still pending, the first run cancels the
 * order with exactly one PaymentTimedOut row and a lateness of 5 s, and
 * later runs, in this engine or after another restart, add nothing.
 */
static int fires_after_restart(struct stw_test *t, void *ud)
{
	struct fired *fired = ud;
	PLACE(t, "o7");
	assert_int_equal(stats(t).timers_armed, 1);
	stw_test_hold(t);
	stw_test_restart(t, ORDERS_PAYMENT_TIMEOUT_MS + 5000);
	assert_int_equal(stw_test_next_timer(t), PAY_DUE);
	stw_test_release(t);
	EXPECT(t, "o7", "Cancelled", "active");
	stw_test_expect_history(t, "orders", "o7", "PaymentTimedOut", NULL, 1);
	assert_int_equal(stats(t).timers_fired, 1);
	assert_int_equal(fired->n, 1);
	assert_int_equal(fired->lateness[0], 5000);

	stw_test_advance(t, 0);
	stw_test_expect_history(t, "orders", "o7", "PaymentTimedOut", NULL, 1);
	assert_int_equal(stats(t).timers_fired, 1);

	stw_test_restart(t, 0);
	EXPECT(t, "o7", "Cancelled", "active");
	stw_test_expect_history(t, "orders", "o7", "PaymentTimedOut", NULL, 1);
	stw_test_expect_sent(t, "orders", "o7", "Orders", "CancelOrder", NULL, 1);
	assert_int_equal(stats(t).timers_fired, 0);
	return stw_test_expect_events(t, "Orders", "order-o7", NULL, "OrderPlaced OrderCancelled");
}

/*
 * orders-1.8: the instance lists the timers that still apply. Two orders
 * are placed at T0: each lists its PaymentTimedOut with the deadline. Once
 * one is paid it lists none, while the other's is unchanged; when the other
 * is cancelled it lists CancellationClosed instead.
 */
static int instance_lists_timers(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_hold(t);
	PLACE(t, "o8");
	PLACE(t, "o8b");
	stw_test_release(t);
	stw_test_expect_timer_at(t, "orders", "o8", "PaymentTimedOut", PAY_DUE);
	stw_test_expect_timer(t, "orders", "o8", "CancellationClosed", 0);

	stw_test_advance(t, 1000);
	PAY(t, "o8");
	EXPECT(t, "o8", "Dispatched", "active");
	expect_no_timers(t, "o8");
	EXPECT(t, "o8b", "AwaitingPayment", "active");
	stw_test_expect_timer_at(t, "orders", "o8b", "PaymentTimedOut", PAY_DUE);

	stw_test_advance(t, PAY_DUE - stw_test_now(t));
	EXPECT(t, "o8b", "Cancelled", "active");
	stw_test_expect_timer(t, "orders", "o8b", "PaymentTimedOut", 0);
	return stw_test_expect_timer_at(t, "orders", "o8b", "CancellationClosed", CLOSE_DUE);
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
static int closing_timer(struct stw_test *t, void *ud)
{
	(void)ud;
	PLACE(t, "o9");
	EXPECT(t, "o9", "AwaitingPayment", "active");
	stw_test_expect_fields(
	    t, "orders", "o9",
	    "{\"data\":{\"payment_timeout_ms\":30000,\"close_after_ms\":3600000}}");
	assert_int_equal(stw_test_next_timer(t), T0 + 30000);

	stw_test_advance(t, 30000);
	EXPECT(t, "o9", "Cancelled", "active");
	assert_int_equal(stw_test_next_timer(t), T0 + 30000 + 3600000);
	stw_test_advance(t, 3600000 - 1);
	EXPECT(t, "o9", "Cancelled", "active");

	stw_test_advance(t, 1);
	EXPECT(t, "o9", "Closed", "completed");
	stw_test_expect_history(t, "orders", "o9", "CancellationClosed", NULL, 1);
	expect_no_timers(t, "o9");
	assert_int_equal(stats(t).timers_fired, 2);
	assert_int_equal(stw_test_next_timer(t), -1);

	PAY(t, "o9");
	EXPECT(t, "o9", "Closed", "completed");
	stw_test_expect_history(t, "orders", "o9", "PaymentCompleted", "ignored", 1);
	stw_test_expect_sent(t, "orders", "o9", "Payments", "RefundPayment", NULL, 0);
	expect_order(t, "o9", "cancelled", "paid", "none");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Group 2: domain rules of the services, and the views                     */

/* One command sent to a service and the piece of its refusal (NULL: accepted). */
struct command_case {
	const char *context;
	const char *type;
	const char *data; /* JSON text */
	const char *refusal;
};

static const struct command_case command_cases[] = {
	{ "Orders", "PlaceOrder", "{\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":5}",
	  "order_id" },
	{ "Orders", "PlaceOrder", "{\"order_id\":\"o2\",\"items\":[\"a\"],\"price\":5}",
	  "restaurant" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[],\"price\":5}", "items" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":\"pizza\",\"price\":5}", "items" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\",\"\"],\"price\":5}",
	  "item 1" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":-1}", "price" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o2\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":\"5\"}", "price" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":"
	  "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":1}",
	  "at most 100 bytes" },
	{ "Orders", "PlaceOrder",
	  "{\"order_id\":\"o1\",\"restaurant\":\"r\",\"items\":[\"a\"],\"price\":5}",
	  "already exists" },
	{ "Orders", "CancelOrder", "{\"order_id\":\"o9\"}", "does not exist" },
	{ "Orders", "CancelOrder", "{\"order_id\":\"o1\",\"reason\":5}", "reason" },
	{ "Orders", "ShipOrder", "{\"order_id\":\"o1\"}", "ShipOrder" },
	{ "Payments", "Pay", "{\"order_id\":\"o9\"}", "no payment was requested" },
	{ "Payments", "Pay", "{}", "order_id" },
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o1\",\"amount\":5}", "already requested" },
	/* The same request again (a retry from AwaitingPayment): it stands, nothing is appended. */
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o1\",\"amount\":1850}", NULL },
	{ "Payments", "ProcessPayment", "{\"order_id\":\"o2\",\"amount\":-5}", "amount" },
	{ "Payments", "RefundPayment", "{\"order_id\":\"o1\",\"amount\":1850}",
	  "no payment to refund" },
	{ "Payments", "Pay", "{\"order_id\":\"o1\"}", NULL },
	{ "Payments", "Pay", "{\"order_id\":\"o1\"}", "already paid" },
	{ "Payments", "RefundPayment", "{\"order_id\":\"o1\",\"amount\":1}", "does not match" },
	{ "Restaurant", "DeliverOrder", "{\"order_id\":\"o1\"}", "not dispatched" },
	{ "Restaurant", "DispatchOrder", "{\"order_id\":\"o1\",\"items\":[\"a\"]}", "restaurant" },
	{ "Restaurant", "DispatchOrder", "{\"order_id\":\"o1\",\"restaurant\":\"r\"}", "items" },
	{ "Restaurant", "Cook", "{\"order_id\":\"o1\"}", "Cook" },
};

/*
 * orders-2.1: the services refuse what their rules forbid, each with a
 * reason: missing or invalid fields, an order placed twice, cancelling an
 * unknown order, paying without a request or twice, a second payment
 * request of another amount (the same request again stands, appending
 * nothing), refunding what was not paid or another amount, delivering what
 * was not dispatched, an unknown command, an id over the cap. A refusal
 * appends nothing (only the one accepted Pay does). The example's calls
 * check their own input before a command is made.
 */
static int rules(struct stw_test *t, void *ud)
{
	(void)ud;
	static const char *const menu[] = { "margherita", NULL };
	char long_id[102];
	PLACE(t, "o1");
	stw_test_hold(t); /* the accepted Pay dispatches nothing while the rules are checked */
	struct stw_engine *e = stw_test_engine(t);
	memset(long_id, 'x', 101);
	long_id[101] = '\0';
	assert_int_equal(orders_place(e, "o2", "luigi", NULL, 1, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(e), "items"));
	assert_int_equal(orders_place(e, long_id, "luigi", menu, 1, NULL), STW_EREJECTED);
	assert_int_equal(orders_pay(e, long_id, NULL), STW_EREJECTED);
	assert_int_equal(orders_deliver(e, NULL, NULL), STW_EREJECTED);
	long orders = stw_test_count_events(t, "Orders", NULL);
	long restaurant = stw_test_count_events(t, "Restaurant", NULL);
	long payments = stw_test_count_events(t, "Payments", NULL);

	for (size_t i = 0; i < sizeof command_cases / sizeof command_cases[0]; i++) {
		const struct command_case *c = &command_cases[i];
		int rc = c->refusal == NULL ? stw_test_when(t, c->context, c->type, c->data, NULL)
					    : stw_test_expect_refused(t, c->context, c->type,
								      c->data, NULL, c->refusal);
		if (rc != 0)
			fail_msg("case %zu (%s %s): %s", i, c->type, c->data, stw_test_why(t));
	}
	assert_int_equal(stw_test_count_events(t, "Orders", NULL), orders);
	assert_int_equal(stw_test_count_events(t, "Payments", NULL), payments + 1);
	assert_int_equal(stw_test_count_events(t, "Restaurant", NULL), restaurant);
	return 0;
}

/*
 * orders-2.2: commands sent twice under the same id are applied once (the
 * kit's duplicates execute each again with its id: the recorded success,
 * nothing appended), and the views and the registration check their input:
 * the order view says what the three contexts know; an unknown order is
 * STW_ENOTFOUND, an invalid id STW_EINVAL; a negative or too long timeout is
 * refused by orders_register().
 */
static int idempotent_calls_and_views(struct stw_test *t, void *ud)
{
	(void)ud;
	struct orders_options bad = { -1, 0 };
	char long_id[102];
	json_t *o = NULL;
	PLACE(t, "o1");
	stw_test_expect_events(t, "Orders", NULL, NULL, "OrderPlaced");
	PAY(t, "o1");
	stw_test_expect_events(t, "Payments", NULL, NULL, "PaymentRequested PaymentCompleted");

	struct stw_engine *e = stw_test_engine(t);
	assert_int_equal(orders_order(e, "o1", &o), STW_OK);
	json_t *want =
	    json_pack("{s:s, s:s, s:i, s:[s,s], s:s, s:s, s:s}", "order_id", "o1", "restaurant",
		      "luigi", "price", 1850, "items", "margherita", "tiramisu", "status", "placed",
		      "payment", "paid", "delivery", "dispatched");
	assert_true(json_equal(o, want));
	json_decref(want);
	json_decref(o);

	o = NULL;
	memset(long_id, 'x', 101);
	long_id[101] = '\0';
	assert_int_equal(orders_order(e, "o404", &o), STW_ENOTFOUND);
	assert_null(o);
	assert_int_equal(orders_order(e, "", &o), STW_EINVAL);
	assert_int_equal(orders_order(e, NULL, &o), STW_EINVAL);
	assert_int_equal(orders_order(e, long_id, &o), STW_EINVAL);
	assert_null(o);

	assert_int_equal(orders_register(e, &bad), STW_EINVAL);
	bad.payment_timeout_ms = 0;
	bad.close_after_ms = ORDERS_MAX_TIMEOUT_MS + 1;
	assert_int_equal(orders_register(e, &bad), STW_EINVAL);
	return 0;
}

/* ------------------------------------------------------------------------ */

/* A scenario as cmocka runs it. */
struct scenario {
	int (*fn)(struct stw_test *t, void *ud);
	const struct orders_options *opts; /* NULL: the defaults */
	unsigned faults;
};

static void test_scenario(void **state)
{
	const struct scenario *s = *state;
	play(s->fn, s->opts, s->faults);
}

#define SCENARIO(name, fn, opts, faults)                                                           \
	{                                                                                          \
		name, test_scenario, NULL, NULL, (void *)&(const struct scenario)                  \
		{                                                                                  \
			fn, opts, faults                                                           \
		}                                                                                  \
	}

int main(void)
{
	const struct CMUnitTest scenarios[] = {
		SCENARIO("orders-1.1 placed, paid in time, dispatched, delivered", happy_path, NULL,
			 0),
		SCENARIO("orders-1.2 the payment never arrives: cancelled at the deadline",
			 payment_never_arrives, NULL, 0),
		SCENARIO("orders-1.3 a late payment after the cancellation is refunded",
			 late_payment_refunded, NULL, 0),
		SCENARIO("orders-1.4 a payment 1 ms before the deadline voids the timeout",
			 timeout_cancelled_by_progress, NULL, 0),
		SCENARIO("orders-1.5 duplicate OrderPlaced and PaymentCompleted are harmless",
			 duplicates, NULL, 0),
		SCENARIO("orders-1.6 a message in a wrong state fails the instance",
			 wrong_state_fails, NULL, 0),
		SCENARIO(
		    "orders-1.7 a timer due while the engine was down fires once after restart",
		    fires_after_restart, NULL, 0),
		SCENARIO("orders-1.8 the instance lists the timers that still apply",
			 instance_lists_timers, NULL, 0),
		SCENARIO("orders-1.9 the closing timer ends a cancelled order", closing_timer,
			 &short_timeouts, 0),
		SCENARIO("orders-2.1 the services refuse what their rules forbid", rules, NULL, 0),
		SCENARIO("orders-2.2 idempotent calls, views and options",
			 idempotent_calls_and_views, NULL, STW_TEST_DUPLICATES),
	};

	return cmocka_run_group_tests_name("orders", scenarios, NULL, NULL);
}
