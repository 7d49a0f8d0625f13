/*
 * restaurant.c - the Restaurant context of the order example: one
 * event-sourced delivery per order (stream "delivery-<order id>"), its
 * command handler and the call by which the courier reports a delivery.
 */
#include <string.h>

#include "orders_int.h"

const char *const orders__delivery_names[] = { "none", "dispatched", "delivered" };

int orders__delivery_fold(const struct stw_event *ev, void *ud)
{
	struct orders__delivery *d = ud;

	if (strcmp(ev->type, "OrderDispatched") == 0 && d->status == DELIVERY_NONE)
		d->status = DELIVERY_DISPATCHED;
	else if (strcmp(ev->type, "OrderDelivered") == 0 && d->status == DELIVERY_DISPATCHED)
		d->status = DELIVERY_DELIVERED;
	return 0;
}

/*
 * DispatchOrder {order_id, restaurant, items}: hands a paid order to the
 * kitchen and the courier. Refused if it was dispatched already or a field
 * is invalid.
 */
static int dispatch(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *order_id,
		    const char *stream, const struct orders__delivery *d, int64_t version)
{
	const char *restaurant = orders__value(cmd->data, "restaurant");
	json_t *items = json_object_get(cmd->data, "items");
	json_t *data;

	if (restaurant == NULL)
		return stw_reject(sc,
				  "DispatchOrder: restaurant must be a non-empty string of at most "
				  "%d bytes",
				  ORDERS_MAX_VALUE);
	if (!json_is_array(items) || json_array_size(items) == 0 ||
	    json_array_size(items) > ORDERS_MAX_ITEMS)
		return stw_reject(sc, "DispatchOrder: items must be an array of 1 to %d names",
				  ORDERS_MAX_ITEMS);
	if (d->status != DELIVERY_NONE || version != 0)
		return stw_reject(sc, "order %s is already %s", order_id,
				  orders__delivery_names[d->status]);
	data = json_pack("{s:s, s:s, s:O}", "order_id", order_id, "restaurant", restaurant, "items",
			 items);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "OrderDispatched", data);
}

int orders__restaurant_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *order_id;
	char stream[ORDERS_STREAM_CAP];
	struct orders__delivery d = { 0 };
	int64_t version = 0;
	json_t *data;
	int rc;

	(void)ud;
	if (strcmp(cmd->type, "DispatchOrder") != 0 && strcmp(cmd->type, "DeliverOrder") != 0)
		return stw_reject(sc, "Restaurant does not handle %s", cmd->type);
	order_id = orders__value(cmd->data, "order_id");
	if (order_id == NULL ||
	    orders__stream(stream, sizeof stream, "delivery-", order_id) != STW_OK)
		return stw_reject(sc, "%s: order_id must be a non-empty string of at most %d bytes",
				  cmd->type, ORDERS_MAX_VALUE);
	rc = stw_svc_read_stream(sc, stream, orders__delivery_fold, &d, &version);
	if (rc != STW_OK)
		return rc;
	if (strcmp(cmd->type, "DispatchOrder") == 0)
		return dispatch(sc, cmd, order_id, stream, &d, version);
	/* DeliverOrder */
	if (d.status != DELIVERY_DISPATCHED)
		return stw_reject(sc, "order %s cannot be delivered: it is %s", order_id,
				  d.status == DELIVERY_NONE ? "not dispatched"
							    : "already delivered");
	data = json_pack("{s:s}", "order_id", order_id);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "OrderDelivered", data);
}

int orders_deliver(struct stw_engine *e, const char *order_id, const char *command_id)
{
	return orders__execute(e, "Restaurant", "DeliverOrder", order_id, NULL, command_id);
}
