/*
 * tickets.c - the Tickets context of the booking example: one event-sourced
 * seat map per concert (stream "concert-<id>"), saying which seat is taken
 * by which booking, its command handler and the seat view.
 *
 * A reservation is all or nothing: either every seat asked for is free (or
 * already the same booking's) and all are taken at once, or none is and the
 * answer is SeatsReservationFailed with the reason. Both answers are events,
 * since the booking process waits for one either way.
 */
#include <stdio.h>
#include <string.h>

#include "booking.h"
#include "booking_int.h"

/* A concert's seat map folded from its stream. */
struct concert_state {
	json_t *taken; /* object: seat -> booking_id */
	int oom;       /* the fold ran out of memory */
};

/* Returns non-zero when `seat` is held by `booking_id`. */
static int holds(const struct concert_state *c, const char *seat, const char *booking_id)
{
	const char *holder = json_string_value(json_object_get(c->taken, seat));

	return holder != NULL && strcmp(holder, booking_id) == 0;
}

/* Folds one event of a concert stream into the struct concert_state at ud. */
static int concert_fold(const struct stw_event *ev, void *ud)
{
	struct concert_state *c = ud;
	const char *booking_id = stw_event_str(ev, "booking_id");
	json_t *seats = json_object_get(ev->data, "seats");
	int reserved = strcmp(ev->type, "SeatsReserved") == 0;
	size_t i;
	json_t *seat;

	if (booking_id == NULL || (!reserved && strcmp(ev->type, "SeatsReleased") != 0))
		return 0;
	json_array_foreach(seats, i, seat)
	{
		const char *s = json_string_value(seat);

		if (s == NULL)
			continue;
		if (reserved && json_object_set_new(c->taken, s, json_string(booking_id)) != 0)
			c->oom = 1;
		/* A release frees only what the booking holds. */
		if (!reserved && holds(c, s, booking_id))
			json_object_del(c->taken, s);
	}
	return c->oom;
}

/* Prepares an empty seat map; returns STW_ENOMEM on failure (then release it anyway). */
static int concert_init(struct concert_state *c)
{
	c->oom = 0;
	c->taken = json_object();
	return c->taken != NULL ? STW_OK : STW_ENOMEM;
}

/*
 * ReserveSeats {booking_id, concert, seats}: SeatsReserved with the price if
 * no seat is held by another booking (seats the booking already holds count
 * as its own, so asking again gets the same answer), else
 * SeatsReservationFailed naming the first seat taken.
 */
static int reserve(struct stw_service_ctx *sc, const struct stw_command *cmd,
		   const char *booking_id, const char *concert, const char *stream,
		   const struct concert_state *c, int64_t version)
{
	json_t *seats = json_object_get(cmd->data, "seats");
	char why[128];
	size_t i;
	json_t *seat;
	json_t *data;

	if (!booking__valid_seats(seats, why, sizeof why))
		return stw_reject(sc, "ReserveSeats: %s", why);
	json_array_foreach(seats, i, seat)
	{
		const char *s = json_string_value(seat);

		if (json_object_get(c->taken, s) != NULL && !holds(c, s, booking_id)) {
			snprintf(why, sizeof why, "seat %s of concert %s is taken", s, concert);
			data = json_pack("{s:s, s:s, s:s}", "booking_id", booking_id, "concert",
					 concert, "reason", why);
			if (data == NULL)
				return STW_ENOMEM;
			return stw_svc_emit(sc, stream, version, "SeatsReservationFailed", data);
		}
	}
	data =
	    json_pack("{s:s, s:s, s:O, s:I}", "booking_id", booking_id, "concert", concert, "seats",
		      seats, "price", (json_int_t)json_array_size(seats) * BOOKING_SEAT_PRICE);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "SeatsReserved", data);
}

/* ReleaseSeats {booking_id, concert}: frees every seat the booking holds there. */
static int release(struct stw_service_ctx *sc, const char *booking_id, const char *concert,
		   const char *stream, const struct concert_state *c, int64_t version)
{
	json_t *seats = json_array();
	json_t *data;
	const char *seat;
	json_t *holder;

	if (seats == NULL)
		return STW_ENOMEM;
	json_object_foreach(c->taken, seat, holder)
	{
		if (strcmp(json_string_value(holder), booking_id) == 0 &&
		    json_array_append_new(seats, json_string(seat)) != 0) {
			json_decref(seats);
			return STW_ENOMEM;
		}
	}
	if (json_array_size(seats) == 0) {
		json_decref(seats);
		return stw_reject(sc, "booking %s holds no seat of concert %s", booking_id,
				  concert);
	}
	data = json_pack("{s:s, s:s, s:o}", "booking_id", booking_id, "concert", concert, "seats",
			 seats);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "SeatsReleased", data);
}

int booking__tickets_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *booking_id, *concert;
	char stream[BOOKING_STREAM_CAP];
	struct concert_state c;
	int64_t version = 0;
	int rc;

	(void)ud;
	if (strcmp(cmd->type, "ReserveSeats") != 0 && strcmp(cmd->type, "ReleaseSeats") != 0)
		return stw_reject(sc, "Tickets does not handle %s", cmd->type);
	booking_id = booking__value(cmd->data, "booking_id");
	concert = booking__value(cmd->data, "concert");
	if (booking_id == NULL || concert == NULL ||
	    booking__stream(stream, sizeof stream, "concert-", concert) != STW_OK)
		return stw_reject(sc, "%s: %s must be a non-empty string of at most %d bytes",
				  cmd->type, booking_id == NULL ? "booking_id" : "concert",
				  BOOKING_MAX_VALUE);
	rc = concert_init(&c);
	if (rc == STW_OK)
		rc = stw_svc_read_stream(sc, stream, concert_fold, &c, &version);
	if (rc == STW_OK && c.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK && strcmp(cmd->type, "ReserveSeats") == 0)
		rc = reserve(sc, cmd, booking_id, concert, stream, &c, version);
	else if (rc == STW_OK)
		rc = release(sc, booking_id, concert, stream, &c, version);
	json_decref(c.taken);
	return rc;
}

int booking_seats(struct stw_engine *e, const char *concert, json_t **out)
{
	char stream[BOOKING_STREAM_CAP];
	struct concert_state c;
	int64_t version = 0;
	int rc;

	*out = NULL;
	rc = booking__stream(stream, sizeof stream, "concert-", concert);
	if (rc != STW_OK)
		return rc;
	rc = concert_init(&c);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Tickets", stream, concert_fold, &c, &version);
	if (rc == STW_OK && c.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK)
		*out = c.taken;
	else
		json_decref(c.taken);
	return rc;
}
