/*
 * orders.c - the Orders context of the order example: an event-sourced order
 * aggregate (one stream "order-<id>" per order), its command handler, the
 * call that places an order and the order view, which also reads the order's
 * payment and delivery.
 *
 * An order's state is never stored apart from its events: every command
 * folds the stream, decides, and emits at the version it read, so two
 * commands racing on one order cannot both succeed.
 */
#include <stdio.h>
#include <string.h>

#include "orders_int.h"

const char *const orders__order_names[] = { "none", "placed", "cancelled" };

int orders__valid_value(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= ORDERS_MAX_VALUE;
}

const char *orders__value(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return orders__valid_value(s) ? s : NULL;
}

int orders__cents(const json_t *obj, const char *field, long long *cents)
{
	const json_t *v = json_object_get(obj, field);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > ORDERS_MAX_CENTS)
		return 0;
	*cents = (long long)json_integer_value(v);
	return 1;
}

int orders__stream(char *buf, size_t cap, const char *prefix, const char *value)
{
	int n;

	if (!orders__valid_value(value))
		return STW_EINVAL;
	n = snprintf(buf, cap, "%s%s", prefix, value);
	if (n < 0 || (size_t)n >= cap)
		return STW_EINVAL;
	return STW_OK;
}

int orders__execute(struct stw_engine *e, const char *context, const char *type,
		    const char *order_id, json_t *extra, const char *command_id)
{
	json_t *data = json_object();
	int rc;

	/* A missing order id is left out so that the service refuses it with a reason. */
	if (data == NULL ||
	    (order_id != NULL && json_object_set_new(data, "order_id", json_string(order_id))) ||
	    (extra != NULL && json_object_update(data, extra) != 0)) {
		json_decref(data);
		return STW_ENOMEM;
	}
	/* The correlation id must be a valid id: an invalid order id is refused anyway. */
	rc = stw_execute(e, context, type, data, command_id,
			 orders__valid_value(order_id) ? order_id : NULL, NULL);
	json_decref(data);
	return rc;
}

int orders__order_fold(const struct stw_event *ev, void *ud)
{
	struct orders__order *o = ud;

	if (strcmp(ev->type, "OrderPlaced") == 0 && o->status == ORDER_NONE) {
		/* Only the first OrderPlaced counts: a duplicate from outside changes nothing. */
		const char *restaurant = stw_event_str(ev, "restaurant");
		json_t *items = json_object_get(ev->data, "items");

		o->status = ORDER_PLACED;
		snprintf(o->restaurant, sizeof o->restaurant, "%s", restaurant ? restaurant : "");
		if (!orders__cents(ev->data, "price", &o->price))
			o->price = 0;
		json_decref(o->items);
		o->items = json_is_array(items) ? json_deep_copy(items) : json_array();
		o->oom = o->items == NULL;
	} else if (strcmp(ev->type, "OrderCancelled") == 0 && o->status == ORDER_PLACED) {
		o->status = ORDER_CANCELLED;
	}
	return o->oom;
}

void orders__order_release(struct orders__order *o)
{
	json_decref(o->items);
	o->items = NULL;
}

/*
 * Checks the items of a PlaceOrder: a non-empty array of at most
 * ORDERS_MAX_ITEMS valid names. Returns STW_OK or the refusal.
 */
static int check_items(struct stw_service_ctx *sc, const json_t *items)
{
	size_t i;
	json_t *item;

	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > ORDERS_MAX_ITEMS)
		return stw_reject(sc, "PlaceOrder: items must be an array of 1 to %d names",
				  ORDERS_MAX_ITEMS);
	json_array_foreach(items, i, item)
	{
		if (!orders__valid_value(json_string_value(item)))
			return stw_reject(sc,
					  "PlaceOrder: item %zu must be a non-empty string of at "
					  "most %d bytes",
					  i, ORDERS_MAX_VALUE);
	}
	return STW_OK;
}

/*
 * PlaceOrder {order_id, restaurant, items, price}: creates the order and
 * records the timeouts of `opts` in it. It is refused if the order exists or
 * a field is missing or invalid.
 */
static int place(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *order_id,
		 const char *stream, const struct orders__order *o, int64_t version,
		 const struct orders_options *opts)
{
	const char *restaurant = orders__value(cmd->data, "restaurant");
	json_t *items = json_object_get(cmd->data, "items");
	long long price;
	json_t *data;
	int rc;

	if (restaurant == NULL)
		return stw_reject(sc,
				  "PlaceOrder: restaurant must be a non-empty string of at most "
				  "%d bytes",
				  ORDERS_MAX_VALUE);
	rc = check_items(sc, items);
	if (rc != STW_OK)
		return rc;
	if (!orders__cents(cmd->data, "price", &price))
		return stw_reject(sc,
				  "PlaceOrder: price must be an integer number of cents from 0 "
				  "to %lld",
				  ORDERS_MAX_CENTS);
	if (o->status != ORDER_NONE || version != 0)
		return stw_reject(sc, "order %s already exists", order_id);
	data = json_pack(
	    "{s:s, s:s, s:O, s:I, s:I, s:I}", "order_id", order_id, "restaurant", restaurant,
	    "items", items, "price", (json_int_t)price, "payment_timeout_ms",
	    (json_int_t)(opts->payment_timeout_ms > 0 ? opts->payment_timeout_ms
						      : ORDERS_PAYMENT_TIMEOUT_MS),
	    "close_after_ms",
	    (json_int_t)(opts->close_after_ms > 0 ? opts->close_after_ms : ORDERS_CLOSE_AFTER_MS));
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "OrderPlaced", data);
}

/* CancelOrder {order_id, reason}: cancels a placed order; the reason is optional. */
static int cancel(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *order_id,
		  const char *stream, const struct orders__order *o, int64_t version)
{
	json_t *reason = json_object_get(cmd->data, "reason");
	json_t *data;

	if (reason != NULL && orders__value(cmd->data, "reason") == NULL)
		return stw_reject(sc,
				  "CancelOrder: reason must be a non-empty string of at most %d "
				  "bytes",
				  ORDERS_MAX_VALUE);
	if (o->status == ORDER_NONE)
		return stw_reject(sc, "order %s does not exist", order_id);
	if (o->status == ORDER_CANCELLED)
		return stw_reject(sc, "order %s is already cancelled", order_id);
	data = json_pack("{s:s, s:s}", "order_id", order_id, "reason",
			 reason != NULL ? json_string_value(reason) : "cancelled");
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "OrderCancelled", data);
}

int orders__orders_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const struct orders_options *opts = ud;
	const char *order_id;
	char stream[ORDERS_STREAM_CAP];
	struct orders__order o = { 0 };
	int64_t version = 0;
	int rc;

	if (strcmp(cmd->type, "PlaceOrder") != 0 && strcmp(cmd->type, "CancelOrder") != 0)
		return stw_reject(sc, "Orders does not handle %s", cmd->type);
	order_id = orders__value(cmd->data, "order_id");
	if (order_id == NULL || orders__stream(stream, sizeof stream, "order-", order_id) != STW_OK)
		return stw_reject(sc, "%s: order_id must be a non-empty string of at most %d bytes",
				  cmd->type, ORDERS_MAX_VALUE);
	rc = stw_svc_read_stream(sc, stream, orders__order_fold, &o, &version);
	if (rc == STW_OK && o.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK && strcmp(cmd->type, "PlaceOrder") == 0)
		rc = place(sc, cmd, order_id, stream, &o, version, opts);
	else if (rc == STW_OK)
		rc = cancel(sc, cmd, order_id, stream, &o, version);
	orders__order_release(&o);
	return rc;
}

int orders_place(struct stw_engine *e, const char *order_id, const char *restaurant,
		 const char *const *items, long long price, const char *command_id)
{
	json_t *extra = json_object();
	json_t *list = json_array();
	int rc = extra != NULL && list != NULL ? STW_OK : STW_ENOMEM;

	/* Missing fields are left out so that the service refuses them with a reason. */
	for (; rc == STW_OK && items != NULL && *items != NULL; items++)
		if (json_array_append_new(list, json_string(*items)) != 0)
			rc = STW_ENOMEM;
	if (rc == STW_OK &&
	    ((restaurant != NULL &&
	      json_object_set_new(extra, "restaurant", json_string(restaurant)) != 0) ||
	     json_object_set(extra, "items", list) != 0 ||
	     json_object_set_new(extra, "price", json_integer(price)) != 0))
		rc = STW_ENOMEM;
	if (rc == STW_OK)
		rc = orders__execute(e, "Orders", "PlaceOrder", order_id, extra, command_id);
	json_decref(list);
	json_decref(extra);
	return rc;
}

int orders_order(struct stw_engine *e, const char *order_id, json_t **out)
{
	char stream[ORDERS_STREAM_CAP];
	struct orders__order o = { 0 };
	struct orders__payment p = { 0 };
	struct orders__delivery d = { 0 };
	int64_t version = 0;
	int rc;

	*out = NULL;
	rc = orders__stream(stream, sizeof stream, "order-", order_id);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Orders", stream, orders__order_fold, &o, &version);
	if (rc == STW_OK && o.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK && o.status == ORDER_NONE)
		rc = STW_ENOTFOUND;
	if (rc == STW_OK)
		rc = orders__stream(stream, sizeof stream, "payment-", order_id);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Payments", stream, orders__payment_fold, &p, &version);
	if (rc == STW_OK)
		rc = orders__stream(stream, sizeof stream, "delivery-", order_id);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Restaurant", stream, orders__delivery_fold, &d, &version);
	if (rc == STW_OK) {
		*out = json_pack("{s:s, s:s, s:O, s:I, s:s, s:s, s:s}", "order_id", order_id,
				 "restaurant", o.restaurant, "items", o.items, "price",
				 (json_int_t)o.price, "status", orders__order_names[o.status],
				 "payment", orders__payment_names[p.status], "delivery",
				 orders__delivery_names[d.status]);
		if (*out == NULL)
			rc = STW_ENOMEM;
	}
	orders__order_release(&o);
	return rc;
}
