/*
 * orders.h - the restaurant order example (seed 002): Orders takes orders,
 * Payments asks for and takes the customer's money, Restaurant dispatches and
 * delivers, and the "orders" process manager drives each order through them
 * with a payment deadline (a timer). Written on the public API only.
 *
 * Streams: Orders keeps "order-<id>", Payments "payment-<order id>",
 * Restaurant "delivery-<order id>". Every event's data holds the order_id,
 * which is how the process correlates it. Amounts are integer cents.
 *
 * Orders commands:      PlaceOrder {order_id, restaurant, items, price}
 *                       CancelOrder {order_id, reason}
 * Orders events:        OrderPlaced {order_id, restaurant, items, price,
 *                       payment_timeout_ms, close_after_ms}, OrderCancelled
 * Payments commands:    ProcessPayment {order_id, amount}
 *                       Pay {order_id}  (the customer pays)
 *                       RefundPayment {order_id, amount}
 * Payments events:      PaymentRequested, PaymentCompleted, PaymentRefunded
 * Restaurant commands:  DispatchOrder {order_id, restaurant, items}
 *                       DeliverOrder {order_id}  (the courier delivered)
 * Restaurant events:    OrderDispatched, OrderDelivered
 *
 * The "orders" process (timers in angle brackets, commands in brackets):
 *
 *   start -- OrderPlaced --> AwaitingPayment  [Payments.ProcessPayment]
 *                                             <PaymentTimedOut at the deadline>
 *   AwaitingPayment -- PaymentCompleted --> Paid  [Restaurant.DispatchOrder]
 *   AwaitingPayment -- PaymentTimedOut --> Cancelled  [Orders.CancelOrder]
 *                                             <CancellationClosed>
 *   Paid -- OrderDispatched --> Dispatched
 *   Dispatched -- OrderDelivered --> Delivered (terminal)
 *   Cancelled -- PaymentCompleted --> Refunded (terminal)  [Payments.RefundPayment]
 *   Cancelled -- CancellationClosed --> Closed (terminal)
 *
 * Duplicates are harmless: OrderPlaced again in any state that has not ended,
 * and PaymentCompleted again in Paid or Dispatched, are recorded and change
 * nothing. Any other message in a state that does not expect it fails the
 * instance with a reason, for a person to look at.
 */
#ifndef ORDERS_H
#define ORDERS_H

#include <stdint.h>

#include <steward.h>

/* The defaults of struct orders_options. */
#define ORDERS_PAYMENT_TIMEOUT_MS (2 * 60 * 1000)       /* the seed's two minutes */
#define ORDERS_CLOSE_AFTER_MS     (24 * 60 * 60 * 1000) /* a day for a late payment */

/* The longest timeout accepted (a year), so that due times cannot overflow. */
#define ORDERS_MAX_TIMEOUT_MS ((int64_t)366 * 24 * 60 * 60 * 1000)

/*
 * Timeouts of the orders placed through the Orders service. Each order
 * records its own in its OrderPlaced event, so changing the options never
 * moves the deadline of an order already placed; an OrderPlaced that carries
 * none (appended by another system) gets the defaults.
 */
struct orders_options {
	int64_t payment_timeout_ms; /* from placing to PaymentTimedOut; 0: the default */
	int64_t close_after_ms;     /* from that deadline to CancellationClosed; 0: default */
};

extern const struct stw_definition orders_definition;

/*
 * Registers the Orders, Payments and Restaurant services and the "orders"
 * definition. `o` may be NULL (the defaults); the Orders service reads it on
 * every PlaceOrder, so it must outlive the engine, like a service's ud.
 * Returns STW_EINVAL if a timeout is negative or above ORDERS_MAX_TIMEOUT_MS.
 */
int orders_register(struct stw_engine *e, const struct orders_options *o);

/*
 * Places an order: `items` is a NULL-terminated list of item names, `price`
 * the total in cents. The order id is the correlation id of everything that
 * follows. `command_id` may be NULL (random); a fixed one makes the call
 * idempotent. Returns the command's outcome (STW_EREJECTED, with the reason
 * in stw_errmsg(), if the order exists or a field is invalid).
 */
int orders_place(struct stw_engine *e, const char *order_id, const char *restaurant,
		 const char *const *items, long long price, const char *command_id);

/*
 * The customer pays for an order (Payments.Pay). Refused if no payment was
 * requested for the order or it is already paid. `command_id` as above.
 */
int orders_pay(struct stw_engine *e, const char *order_id, const char *command_id);

/*
 * The courier delivered an order (Restaurant.DeliverOrder). Refused if the
 * order was not dispatched or is already delivered. `command_id` as above.
 */
int orders_deliver(struct stw_engine *e, const char *order_id, const char *command_id);

/*
 * An order as the three contexts know it, as a new JSON object {order_id,
 * restaurant, items, price, status: "placed"|"cancelled", payment:
 * "none"|"requested"|"paid"|"refunded", delivery:
 * "none"|"dispatched"|"delivered"}. STW_ENOTFOUND if it was never placed,
 * STW_EINVAL if the id is not valid; *out is NULL on failure.
 */
int orders_order(struct stw_engine *e, const char *order_id, json_t **out);

#endif /* ORDERS_H */
