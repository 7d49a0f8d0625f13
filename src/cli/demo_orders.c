/*
 * demo_orders.c - the order demo (seed 002): registering the example, a
 * simulator of customers and couriers, and the routes under
 * /api/demo/orders/ that the page uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "orders.h"

/* The options the Orders service reads on every PlaceOrder (outlives engines). */
static struct orders_options options;

void stw__cli_demo_orders_configure(int64_t payment_timeout_ms)
{
	options.payment_timeout_ms = payment_timeout_ms;
}

int stw__cli_demo_orders_setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	return orders_register(e, &options);
}

/* The simulator remembers the last orders it placed, to pay and deliver them. */
#define RECENT 8
static char recent[RECENT][48];

void stw__cli_demo_orders_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud)
{
	(void)ud;
	static const char *const restaurants[] = { "Pizzeria Roma", "Sushi Ya", "Taqueria" };
	static const char *const menu[] = { "margherita", "ramen", "tacos", "salad", "tiramisu" };
	const char *items[] = { menu[rand_r(rng) % 5], menu[rand_r(rng) % 5], NULL };
	char *id = recent[tick % RECENT];
	snprintf(id, sizeof(recent[0]), "order-%d-%u", tick, (unsigned)rand_r(rng) % 100000);
	long long price = 800 + rand_r(rng) % 4000;
	if (orders_place(e, id, restaurants[rand_r(rng) % 3], items, price, NULL) == STW_OK)
		printf("> PlaceOrder %s, %lld.%02lld\n", id, price / 100, price % 100);
	/* Two customers in three pay the order placed one tick ago; the others
	 * never do, and the payment timeout cancels theirs. */
	const char *prev = tick >= 1 ? recent[(tick - 1) % RECENT] : "";
	if (*prev && rand_r(rng) % 3 != 0 && orders_pay(e, prev, NULL) == STW_OK)
		printf("> Pay %s\n", prev);
	/* Couriers deliver what was dispatched three ticks ago. */
	const char *old = tick >= 3 ? recent[(tick - 3) % RECENT] : "";
	if (*old && orders_deliver(e, old, NULL) == STW_OK)
		printf("> DeliverOrder %s\n", old);
}

/* GET /api/demo/orders/orders: the newest orders with their process. */
static int route_list(struct stw__http_request *r)
{
	return stw__cli_demo_list(r, orders_definition.name, "orders", orders_order);
}

/* POST /api/demo/orders/orders {restaurant, items, price}: places an order. */
static int route_place(struct stw__http_request *r)
{
	json_t *b = r->body;
	json_t *rest = b ? json_object_get(b, "restaurant") : NULL;
	json_t *items = b ? json_object_get(b, "items") : NULL;
	json_t *price = b ? json_object_get(b, "price") : NULL;
	if (!json_is_string(rest))
		return stw__http_error(r, 400, "bad_request", "restaurant must be a string");
	if (!json_is_integer(price) || json_integer_value(price) < 0)
		return stw__http_error(r, 400, "bad_request", "price must be an integer (cents)");
	if (!json_is_array(items) || json_array_size(items) == 0 || json_array_size(items) > 50)
		return stw__http_error(r, 400, "bad_request", "items must be 1 to 50 strings");
	const char *list[51];
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		if (!json_is_string(it))
			return stw__http_error(r, 400, "bad_request", "items must be strings");
		list[i] = json_string_value(it);
	}
	list[json_array_size(items)] = NULL;
	char id[48] = "order-";
	stw_new_id(id + 6);
	int rc = orders_place(r->engine, id, json_string_value(rest), list,
			      json_integer_value(price), NULL);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "order_id", id));
}

static int route_action(struct stw__http_request *r, const char *id, const char *action)
{
	int rc = strcmp(action, "pay") == 0 ? orders_pay(r->engine, id, NULL)
					    : orders_deliver(r->engine, id, NULL);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "order_id", id));
}

int stw__cli_demo_orders_route(struct stw__http_request *r, void *ud)
{
	(void)ud;
	char **s = r->seg;
	int n = r->nseg;
	int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (n == 2)
		return get ? stw__http_reply(r, 200, json_pack("{s:s}", "name", "orders"))
			   : stw__http_wrong_method(r, "GET");
	if (n < 4 || strcmp(s[2], "orders") != 0 || strcmp(s[3], "orders") != 0)
		return 0;
	if (n == 4)
		return get    ? route_list(r)
		       : post ? route_place(r)
			      : stw__http_wrong_method(r, "GET, POST");
	if (n == 6 && (strcmp(s[5], "pay") == 0 || strcmp(s[5], "deliver") == 0))
		return post ? route_action(r, s[4], s[5]) : stw__http_wrong_method(r, "POST");
	return 0;
}
