/*
 * demo_booking.c - the ticket booking demo (seed 003): registering the
 * example with its periodic expiration process, a simulator of clients, and
 * the routes under /api/demo/booking/ that the page uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "booking.h"
#include "daemon.h"

/* One options struct per engine the daemon opens (the worker's and the API's). */
static struct booking_options options[2];
static int nopened;
static int64_t window_ms = 60 * 1000, every_ms = 10 * 1000;

void stw__cli_demo_booking_configure(int64_t payment_window_ms, int64_t expire_every_ms)
{
	window_ms = payment_window_ms;
	every_ms = expire_every_ms;
}

int stw__cli_demo_booking_setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	if (nopened >= 2)
		return STW_ENOMEM;
	struct booking_options *o = &options[nopened++];
	o->payment_window_ms = window_ms;
	o->expire_every_ms = every_ms;
	return booking_register(e, o);
}

#define RECENT 8
static char recent[RECENT][48];

void stw__cli_demo_booking_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud)
{
	(void)ud;
	static const char *const clients[] = { "ada", "bob", "cy" };
	static const char *const concerts[] = { "opera", "jazz" };
	char seat_ids[3][8];
	const char *seats[4] = { NULL };
	int n = 1 + rand_r(rng) % 3;
	for (int i = 0; i < n; i++) {
		snprintf(seat_ids[i], sizeof(seat_ids[i]), "%c%d", 'A' + rand_r(rng) % 4,
			 1 + rand_r(rng) % 8);
		seats[i] = seat_ids[i];
	}
	char *id = recent[tick % RECENT];
	snprintf(id, sizeof(recent[0]), "booking-%d-%u", tick, (unsigned)rand_r(rng) % 100000);
	if (booking_place(e, id, clients[rand_r(rng) % 3], concerts[rand_r(rng) % 2], seats,
			  NULL) == STW_OK)
		printf("> PlaceBooking %s (%d seats)\n", id, n);
	/* Half the clients pay the booking placed a tick ago, once confirmed. */
	const char *prev = tick >= 1 ? recent[(tick - 1) % RECENT] : "";
	json_t *b = NULL;
	if (*prev && rand_r(rng) % 2 == 0 && booking_get(e, prev, &b) == STW_OK) {
		json_t *price = json_object_get(b, "price");
		if (json_is_integer(price) &&
		    booking_pay(e, prev, json_integer_value(price), NULL) == STW_OK)
			printf("> PayBooking %s\n", prev);
	}
	json_decref(b);
}

/* GET /api/demo/booking/bookings: the newest bookings with their process. */
static int route_list(struct stw__http_request *r)
{
	return stw__cli_demo_list(r, booking_definition.name, "bookings", booking_get);
}

/* POST /api/demo/booking/bookings {client, concert, seats}: places a booking. */
static int route_place(struct stw__http_request *r)
{
	json_t *b = r->body;
	json_t *client = b ? json_object_get(b, "client") : NULL;
	json_t *concert = b ? json_object_get(b, "concert") : NULL;
	json_t *seats = b ? json_object_get(b, "seats") : NULL;
	if (!json_is_string(client) || !json_is_string(concert))
		return stw__http_error(r, 400, "bad_request", "client and concert must be strings");
	if (!json_is_array(seats) || json_array_size(seats) == 0 ||
	    json_array_size(seats) > BOOKING_MAX_SEATS)
		return stw__http_error(r, 400, "bad_request", "seats must be 1 to %d strings",
				       BOOKING_MAX_SEATS);
	const char *list[BOOKING_MAX_SEATS + 1];
	size_t i;
	json_t *s;
	json_array_foreach(seats, i, s)
	{
		if (!json_is_string(s))
			return stw__http_error(r, 400, "bad_request", "seats must be strings");
		list[i] = json_string_value(s);
	}
	list[json_array_size(seats)] = NULL;
	char id[48] = "booking-";
	stw_new_id(id + 8);
	int rc = booking_place(r->engine, id, json_string_value(client), json_string_value(concert),
			       list, NULL);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "booking_id", id));
}

/* POST /api/demo/booking/bookings/{id}/pay: pays the booking's price. */
static int route_pay(struct stw__http_request *r, const char *id)
{
	json_t *b = NULL;
	int rc = booking_get(r->engine, id, &b);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	json_t *price = json_object_get(b, "price");
	if (!json_is_integer(price)) {
		json_decref(b);
		return stw__http_error(r, 422, "rejected", "booking %s is not confirmed yet", id);
	}
	rc = booking_pay(r->engine, id, json_integer_value(price), NULL);
	json_decref(b);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "booking_id", id));
}

static int route_seats(struct stw__http_request *r, const char *concert)
{
	json_t *seats = NULL;
	int rc = booking_seats(r->engine, concert, &seats);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s, s:o}", "concert", concert, "seats", seats));
}

int stw__cli_demo_booking_route(struct stw__http_request *r, void *ud)
{
	(void)ud;
	char **s = r->seg;
	int n = r->nseg;
	int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (n == 2)
		return get ? stw__http_reply(r, 200, json_pack("{s:s}", "name", "booking"))
			   : stw__http_wrong_method(r, "GET");
	if (n < 4 || strcmp(s[2], "booking") != 0)
		return 0;
	if (n == 4 && strcmp(s[3], "bookings") == 0)
		return get    ? route_list(r)
		       : post ? route_place(r)
			      : stw__http_wrong_method(r, "GET, POST");
	if (n == 6 && strcmp(s[3], "bookings") == 0 && strcmp(s[5], "pay") == 0)
		return post ? route_pay(r, s[4]) : stw__http_wrong_method(r, "POST");
	if (n == 6 && strcmp(s[3], "concerts") == 0 && strcmp(s[5], "seats") == 0)
		return get ? route_seats(r, s[4]) : stw__http_wrong_method(r, "GET");
	return 0;
}
