/*
 * process.c - the "booking" process definition (the seed's booking
 * confirmation process, carried to the end of the booking), the
 * "booking-expiration" periodic process's definition, and the registration
 * of everything with an engine. The state machine is drawn in booking.h.
 *
 * The instance id is the booking id, read from every event's data: the
 * Booking, Tickets and Payments events of one booking meet in one instance
 * whatever their correlation ids. Delivery is at least once (the seed's
 * default): the cursor commits with the step, and the commands carry
 * deterministic ids, so a step replayed after a crash sends nothing twice.
 * At most once would suit a notification, not a booking.
 */
#include <stddef.h>

#include "booking.h"
#include "booking_int.h"

/*
 * Builds a payload holding copies of the named fields of `src` (a list ended
 * by NULL). Every field must be present: a process whose data lacks one is a
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

static const char *const reserve_fields[] = { "booking_id", "concert", "seats", NULL };
static const char *const confirm_fields[] = { "booking_id", "price", "expires_at", NULL };
static const char *const deny_fields[] = { "booking_id", "reason", NULL };
static const char *const release_fields[] = { "booking_id", "concert", NULL };
static const char *const id_fields[] = { "booking_id", NULL };

/* ReserveSeats {booking_id, concert, seats} from the instance data (the BookingPlaced). */
static int reserve_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, reserve_fields);
}

/* ConfirmBooking {booking_id, price, expires_at}, written by reserved_update(). */
static int confirm_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, confirm_fields);
}

/* DenyBooking {booking_id, reason}, written by failed_update(). */
static int deny_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, deny_fields);
}

/* ReleaseSeats {booking_id, concert}. */
static int release_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, release_fields);
}

/* SettleBooking {booking_id}. */
static int settle_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, id_fields);
}

/*
 * SeatsReserved: keeps the price and sets the deadline to the answer's
 * recorded time plus the payment window the booking was placed with (the
 * default for a BookingPlaced that carries none). A price or window that is
 * not a sane integer fails the instance rather than confirm a wrong booking.
 */
static int reserved_update(const struct stw_step_info *si)
{
	json_t *price = json_object_get(si->event->data, "price");
	json_t *window = json_object_get(si->data, "payment_window_ms");
	int64_t window_ms = BOOKING_PAYMENT_WINDOW_MS;

	if (!json_is_integer(price) || json_integer_value(price) < 0)
		return STW_EINVAL;
	if (window != NULL) {
		if (!json_is_integer(window) || json_integer_value(window) <= 0 ||
		    json_integer_value(window) > BOOKING_MAX_MS)
			return STW_EINVAL;
		window_ms = (int64_t)json_integer_value(window);
	}
	if (json_object_set(si->data, "price", price) != 0 ||
	    json_object_set_new(si->data, "expires_at",
				json_integer(si->event->recorded_at + window_ms)) != 0)
		return STW_ENOMEM;
	return STW_OK;
}

/* SeatsReservationFailed: keeps Tickets' reason, which the denial carries to the booking. */
static int failed_update(const struct stw_step_info *si)
{
	const char *reason = stw_event_str(si->event, "reason");
	json_t *r = json_string(
	    reason != NULL && reason[0] != '\0' ? reason : "the seats could not be reserved");

	if (r == NULL || json_object_set_new(si->data, "reason", r) != 0)
		return STW_ENOMEM;
	return STW_OK;
}

/* The instance of a message: the booking its data names. */
static const char *booking_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "booking_id");
}

static const char *const sources[] = { "Booking", "Tickets", "Payments", NULL };

static const struct stw_state_def states[] = {
	{ "Reserving", STW_STATE_ACTIVE }, { "Confirmed", STW_STATE_ACTIVE },
	{ "Denied", STW_STATE_TERMINAL },  { "Settled", STW_STATE_TERMINAL },
	{ "Expired", STW_STATE_TERMINAL }, { NULL, STW_STATE_ACTIVE },
};

static const struct stw_command_def reserve_seats[] = {
	{ "Tickets", "ReserveSeats", reserve_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def confirm_booking[] = {
	{ "Booking", "ConfirmBooking", confirm_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def deny_booking[] = {
	{ "Booking", "DenyBooking", deny_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def settle_booking[] = {
	{ "Booking", "SettleBooking", settle_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def release_seats[] = {
	{ "Tickets", "ReleaseSeats", release_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def transitions[] = {
	{ NULL, "BookingPlaced", "Reserving", reserve_seats, NULL, NULL },
	{ "Reserving", "SeatsReserved", "Confirmed", confirm_booking, reserved_update, NULL },
	{ "Reserving", "SeatsReservationFailed", "Denied", deny_booking, failed_update, NULL },
	/* Tickets answers a repeated ReserveSeats (a retry) the same way: nothing to do. */
	{ "Confirmed", "SeatsReserved", NULL, NULL, NULL, NULL },
	{ "Confirmed", "PaymentSucceeded", "Settled", settle_booking, NULL, NULL },
	{ "Confirmed", "BookingExpired", "Expired", release_seats, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct stw_definition booking_definition = {
	.name = "booking",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.correlate = booking_of,
	.unique_key = NULL, /* the booking id is the instance id: one process per booking */
	.delivery = STW_AT_LEAST_ONCE,
};

const struct stw_periodic_def booking_expiration = {
	.name = "booking-expiration",
	.every_ms = BOOKING_EXPIRE_EVERY_MS,
	.run = booking__expire_due,
	.ud = NULL,
};

/* The options of an engine registered without any; the services only read them. */
static const struct booking_options defaults = {
	.payment_window_ms = BOOKING_PAYMENT_WINDOW_MS,
	.expire_every_ms = BOOKING_EXPIRE_EVERY_MS,
};

static int valid_ms(int64_t ms)
{
	return ms >= 0 && ms <= BOOKING_MAX_MS;
}

int booking_register(struct stw_engine *e, struct booking_options *o)
{
	const struct stw_periodic_def *expiration = &booking_expiration;
	const struct booking_options *svc = &defaults;
	int rc;

	if (o != NULL) {
		if (!valid_ms(o->payment_window_ms) || !valid_ms(o->expire_every_ms))
			return STW_EINVAL;
		o->expiration = booking_expiration;
		if (o->expire_every_ms > 0)
			o->expiration.every_ms = o->expire_every_ms;
		o->expiration.ud = o;
		expiration = &o->expiration;
		svc = o;
	}
	/* The handler only reads the options; the cast drops the const for the ud. */
	rc = stw_register_service(e, "Booking", booking__booking_handle, (void *)svc);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Tickets", booking__tickets_handle, NULL);
	if (rc == STW_OK)
		rc = stw_register_service(e, "Payments", booking__payments_handle, NULL);
	if (rc == STW_OK)
		rc = stw_define(e, &booking_definition);
	if (rc == STW_OK)
		rc = stw_define_periodic(e, expiration);
	return rc;
}
