/*
 * process.c - the "orders" process definition of the order example and the
 * registration of everything with an engine.
 *
 * An instance's id is the order id, read from every event's data by the
 * correlate callback, so messages find their order whoever sent them. The
 * instance data is the order: {order_id, restaurant, items, price,
 * payment_timeout_ms, close_after_ms, placed_at, payment_due_at}.
 *
 * Time: the payment deadline counts from when the order was placed (the
 * OrderPlaced event's recorded_at), not from when the process saw it, so an
 * engine that was down does not grant extra time. The closing of a cancelled
 * order counts from that deadline. Both timeouts come from the OrderPlaced
 * event; when it has none, the defaults of orders.h apply.
 */
#include <stddef.h>
#include <string.h>

#include "orders_int.h"

/*
 * Reads the timeout obj[field] into *ms: `fallback` when absent, STW_EINVAL
 * unless it is an integer in (0, ORDERS_MAX_TIMEOUT_MS].
 */
static int timeout_of(const json_t *obj, const char *field, int64_t fallback, int64_t *ms)
{
	const json_t *v = json_object_get(obj, field);

	if (v == NULL) {
		*ms = fallback;
		return STW_OK;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    json_integer_value(v) > ORDERS_MAX_TIMEOUT_MS)
		return STW_EINVAL;
	*ms = (int64_t)json_integer_value(v);
	return STW_OK;
}

/* Reads the integer obj[field] into *out; STW_EINVAL when it is not one. */
static int integer_of(const json_t *obj, const char *field, int64_t *out)
{
	const json_t *v = json_object_get(obj, field);

	if (!json_is_integer(v))
		return STW_EINVAL;
	*out = (int64_t)json_integer_value(v);
	return STW_OK;
}

/* The payment deadline of the order placed by `ev`, its OrderPlaced. */
static int payment_deadline(const struct stw_event *ev, int64_t *due_ms)
{
	int64_t timeout;
	int rc = timeout_of(ev->data, "payment_timeout_ms", ORDERS_PAYMENT_TIMEOUT_MS, &timeout);

	if (rc == STW_OK)
		*due_ms = ev->recorded_at + timeout;
	return rc;
}

/*
 * Builds a payload holding copies of the named fields of `src` (a list ended
 * by NULL). Every field must be present: an order whose data lacks one is a
 * bug worth failing on, not a command to send half-empty.
 */
static int copy_fields(const json_t *src, json_t **payload, const char *const *fields)
{
	json_t *p = json_object();

	*payload = NULL;
	if (p == NULL)
		return STW_ENOMEM;
	for (; *fields != NULL; fields++) {
		json_t *v = json_object_get(src, *fields);

		if (v == NULL) {
			json_decref(p);
			return STW_EINVAL;
		}
		if (json_object_set_new(p, *fields, json_deep_copy(v)) != 0) {
			json_decref(p);
			return STW_ENOMEM;
		}
	}
	*payload = p;
	return STW_OK;
}

static const char *const order_fields[] = { "order_id", "restaurant", "items", "price", NULL };
static const char *const dispatch_fields[] = { "order_id", "restaurant", "items", NULL };

/*
 * OrderPlaced creates the instance: its data is the order, with the timeouts
 * the order asked for (or the defaults) and its payment deadline.
 */
static int placed_update(const struct stw_step_info *si)
{
	const json_t *ev = si->event->data;
	json_t *order = NULL;
	int64_t payment_timeout, close_after, due;
	int rc = timeout_of(ev, "payment_timeout_ms", ORDERS_PAYMENT_TIMEOUT_MS, &payment_timeout);

	if (rc == STW_OK)
		rc = timeout_of(ev, "close_after_ms", ORDERS_CLOSE_AFTER_MS, &close_after);
	if (rc == STW_OK)
		rc = payment_deadline(si->event, &due);
	if (rc == STW_OK)
		rc = copy_fields(ev, &order, order_fields);
	if (rc == STW_OK &&
	    (json_object_update(si->data, order) != 0 ||
	     json_object_set_new(si->data, "payment_timeout_ms", json_integer(payment_timeout)) ||
	     json_object_set_new(si->data, "close_after_ms", json_integer(close_after)) ||
	     json_object_set_new(si->data, "placed_at", json_integer(si->event->recorded_at)) ||
	     json_object_set_new(si->data, "payment_due_at", json_integer(due))))
		rc = STW_ENOMEM;
	json_decref(order);
	return rc;
}

/*
 * PaymentTimedOut falls due at the order's payment deadline. When a person
 * retries the process from AwaitingPayment, the customer gets a new payment
 * window from now (*due_ms holds now when the engine calls this).
 */
static int payment_due(const struct stw_step_info *si, int64_t *due_ms)
{
	if (strcmp(si->event->type, "Retry") == 0) {
		int64_t timeout;
		int rc =
		    timeout_of(si->data, "payment_timeout_ms", ORDERS_PAYMENT_TIMEOUT_MS, &timeout);
		if (rc == STW_OK)
			*due_ms += timeout;
		return rc;
	}
	return payment_deadline(si->event, due_ms);
}

/* CancellationClosed falls due close_after_ms after the payment deadline. */
static int close_due(const struct stw_step_info *si, int64_t *due_ms)
{
	int64_t deadline, close_after;
	int rc = integer_of(si->data, "payment_due_at", &deadline);

	if (rc == STW_OK)
		rc = timeout_of(si->data, "close_after_ms", ORDERS_CLOSE_AFTER_MS, &close_after);
	if (rc == STW_OK)
		*due_ms = deadline + close_after;
	return rc;
}

/* ProcessPayment and RefundPayment {order_id, amount}: the amount is the price. */
static int payment_payload(const struct stw_step_info *si, json_t **payload)
{
	json_t *order_id = json_object_get(si->data, "order_id");
	json_t *price = json_object_get(si->data, "price");

	*payload = NULL;
	if (order_id == NULL || price == NULL)
		return STW_EINVAL;
	*payload = json_pack("{s:O, s:O}", "order_id", order_id, "amount", price);
	return *payload != NULL ? STW_OK : STW_ENOMEM;
}

/* DispatchOrder {order_id, restaurant, items}. */
static int dispatch_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, dispatch_fields);
}

/* CancelOrder {order_id, reason}. */
static int cancel_payload(const struct stw_step_info *si, json_t **payload)
{
	json_t *order_id = json_object_get(si->data, "order_id");

	*payload = NULL;
	if (order_id == NULL)
		return STW_EINVAL;
	*payload = json_pack("{s:O, s:s}", "order_id", order_id, "reason",
			     "the payment did not arrive in time");
	return *payload != NULL ? STW_OK : STW_ENOMEM;
}

/* The instance of an event: the order it is about. */
static const char *order_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "order_id");
}

static const char *const sources[] = { "Orders", "Payments", "Restaurant", NULL };

static const struct stw_state_def states[] = {
	{ "AwaitingPayment", STW_STATE_ACTIVE },
	{ "Paid", STW_STATE_ACTIVE },
	{ "Dispatched", STW_STATE_ACTIVE },
	{ "Cancelled", STW_STATE_ACTIVE }, /* waits for a late payment, then closes */
	{ "Delivered", STW_STATE_TERMINAL },
	{ "Refunded", STW_STATE_TERMINAL },
	{ "Closed", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};

static const struct stw_command_def process_payment[] = {
	{ "Payments", "ProcessPayment", payment_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def dispatch_order[] = {
	{ "Restaurant", "DispatchOrder", dispatch_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def cancel_order[] = {
	{ "Orders", "CancelOrder", cancel_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def refund_payment[] = {
	{ "Payments", "RefundPayment", payment_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_timer_def payment_timer[] = {
	{ "PaymentTimedOut", 0, payment_due },
	{ NULL, 0, NULL },
};

static const struct stw_timer_def close_timer[] = {
	{ "CancellationClosed", 0, close_due },
	{ NULL, 0, NULL },
};

static const struct stw_transition_def transitions[] = {
	{ NULL, "OrderPlaced", "AwaitingPayment", process_payment, placed_update, payment_timer },
	{ "AwaitingPayment", "PaymentCompleted", "Paid", dispatch_order, NULL, NULL },
	{ "AwaitingPayment", "PaymentTimedOut", "Cancelled", cancel_order, NULL, close_timer },
	{ "Paid", "OrderDispatched", "Dispatched", NULL, NULL, NULL },
	{ "Dispatched", "OrderDelivered", "Delivered", NULL, NULL, NULL },
	/* The seed's late payment: the order is cancelled, so the money goes back. */
	{ "Cancelled", "PaymentCompleted", "Refunded", refund_payment, NULL, NULL },
	{ "Cancelled", "CancellationClosed", "Closed", NULL, NULL, NULL },
	/* Idempotence: the same message again is recorded and changes nothing. */
	{ "AwaitingPayment", "OrderPlaced", NULL, NULL, NULL, NULL },
	{ "Paid", "OrderPlaced", NULL, NULL, NULL, NULL },
	{ "Dispatched", "OrderPlaced", NULL, NULL, NULL, NULL },
	{ "Cancelled", "OrderPlaced", NULL, NULL, NULL, NULL },
	{ "Paid", "PaymentCompleted", NULL, NULL, NULL, NULL },
	{ "Dispatched", "PaymentCompleted", NULL, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct stw_definition orders_definition = {
	.name = "orders",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.ack_state = NULL,
	.correlate = order_of,
	.unique_key = NULL, /* the order id is the instance id: one process per order */
	.delivery = STW_AT_LEAST_ONCE,
};

/* The options of an engine registered without any. */
static const struct orders_options defaults = { ORDERS_PAYMENT_TIMEOUT_MS, ORDERS_CLOSE_AFTER_MS };

static int valid_timeout(int64_t ms)
{
	return ms >= 0 && ms <= ORDERS_MAX_TIMEOUT_MS;
}

int orders_register(struct stw_engine *e, const struct orders_options *o)
{
	int rc;

	if (o == NULL)
		o = &defaults;
	if (!valid_timeout(o->payment_timeout_ms) || !valid_timeout(o->close_after_ms))
		return STW_EINVAL;
	/* The handler only reads the options; the cast drops the const for the ud. */
	rc = stw_register_service(e, "Orders", orders__orders_handle, (void *)o);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Payments", orders__payments_handle, NULL);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Restaurant", orders__restaurant_handle, NULL);
	if (rc == STW_OK)
		rc = stw_define(e, &orders_definition);
	return rc;
}
