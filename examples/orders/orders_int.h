/*
 * orders_int.h - what the files of the order example share and nothing else
 * sees: the three service handlers (registered by process.c), the aggregates
 * folded from their streams (the order view reads all three) and the
 * validation of the values fed from outside.
 */
#ifndef ORDERS_INT_H
#define ORDERS_INT_H

#include <stddef.h>

#include "orders.h"

/* Caps on the values the example accepts from outside (bytes, without the NUL). */
#define ORDERS_MAX_VALUE 100
#define ORDERS_MAX_ITEMS 50

/* The largest price or amount accepted, in cents (ten billion units). */
#define ORDERS_MAX_CENTS 1000000000000LL

/* Room for "payment-" or "delivery-" followed by a capped value, and the NUL. */
#define ORDERS_STREAM_CAP (16 + ORDERS_MAX_VALUE)

/* An order folded from its Orders stream. */
enum orders__order_status {
	ORDER_NONE = 0, /* no OrderPlaced yet */
	ORDER_PLACED,
	ORDER_CANCELLED,
};

struct orders__order {
	enum orders__order_status status;
	char restaurant[ORDERS_MAX_VALUE + 1];
	long long price; /* cents */
	json_t *items;   /* owned: the array of OrderPlaced, or NULL */
	int oom;         /* the fold ran out of memory */
};

/* A payment folded from its Payments stream. */
enum orders__payment_status {
	PAYMENT_NONE = 0, /* no PaymentRequested yet */
	PAYMENT_REQUESTED,
	PAYMENT_PAID,
	PAYMENT_REFUNDED,
};

struct orders__payment {
	enum orders__payment_status status;
	long long amount; /* cents, as requested */
};

/* A delivery folded from its Restaurant stream. */
enum orders__delivery_status {
	DELIVERY_NONE = 0, /* not dispatched yet */
	DELIVERY_DISPATCHED,
	DELIVERY_DELIVERED,
};

struct orders__delivery {
	enum orders__delivery_status status;
};

/* Names of the statuses above, for messages and views. */
extern const char *const orders__order_names[];
extern const char *const orders__payment_names[];
extern const char *const orders__delivery_names[];

/* Folds one event of an Orders, Payments or Restaurant stream into the struct at ud. */
int orders__order_fold(const struct stw_event *ev, void *ud);
int orders__payment_fold(const struct stw_event *ev, void *ud);
int orders__delivery_fold(const struct stw_event *ev, void *ud);

/* Releases what an order fold holds (not the struct). */
void orders__order_release(struct orders__order *o);

/* The service of Orders (ud: the struct orders_options, never NULL). */
int orders__orders_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/* The services of Payments and Restaurant (ud unused). */
int orders__payments_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);
int orders__restaurant_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/*
 * Returns non-zero when `s` is a valid order id, restaurant or item name: a
 * non-empty string of at most ORDERS_MAX_VALUE bytes. NULL is not valid.
 */
int orders__valid_value(const char *s);

/*
 * Returns the string field `field` of the JSON object `obj` (borrowed) if it
 * is a valid value in the sense of orders__valid_value(), else NULL. `obj`
 * may be NULL.
 */
const char *orders__value(const json_t *obj, const char *field);

/*
 * Returns non-zero when obj[field] is an integer number of cents in
 * [0, ORDERS_MAX_CENTS] and stores it in *cents.
 */
int orders__cents(const json_t *obj, const char *field, long long *cents);

/*
 * Writes "<prefix><value>" into buf (cap bytes). Returns STW_OK, or
 * STW_EINVAL if the value is not valid or the result does not fit.
 */
int orders__stream(char *buf, size_t cap, const char *prefix, const char *value);

/*
 * Runs `type` on `context` with data {order_id} plus, when `extra` is not
 * NULL, its fields (borrowed). The order id is the correlation id.
 */
int orders__execute(struct stw_engine *e, const char *context, const char *type,
		    const char *order_id, json_t *extra, const char *command_id);

#endif /* ORDERS_INT_H */
