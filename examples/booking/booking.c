/*
 * booking.c - the Booking context of the booking example: an event-sourced
 * booking aggregate (one stream "booking-<id>" per booking), its command
 * handler, the call that places a booking and the booking view.
 *
 * A booking's state is never stored apart from its events: every command
 * folds the stream, decides, and emits at the version it read, so two
 * commands racing on one booking cannot both succeed.
 */
#include <stdio.h>
#include <string.h>

#include "booking.h"
#include "booking_int.h"

const char *const booking__status_names[] = { "none",   "placed",  "confirmed",
					      "denied", "settled", "expired" };

int booking__valid_value(const char *s)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= BOOKING_MAX_VALUE;
}

const char *booking__value(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return booking__valid_value(s) ? s : NULL;
}

int booking__valid_seats(const json_t *seats, char *why, size_t cap)
{
	size_t n = json_array_size(seats);

	if (!json_is_array(seats) || n == 0 || n > BOOKING_MAX_SEATS) {
		snprintf(why, cap, "seats must be an array of 1 to %d seat ids", BOOKING_MAX_SEATS);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		const char *seat = json_string_value(json_array_get(seats, i));

		if (!booking__valid_value(seat)) {
			snprintf(why, cap,
				 "seat %zu must be a non-empty string of at most %d bytes", i + 1,
				 BOOKING_MAX_VALUE);
			return 0;
		}
		/* Quadratic, but n is at most BOOKING_MAX_SEATS. */
		for (size_t j = 0; j < i; j++) {
			if (strcmp(seat, json_string_value(json_array_get(seats, j))) == 0) {
				snprintf(why, cap, "seat %s is listed twice", seat);
				return 0;
			}
		}
	}
	return 1;
}

int booking__stream(char *buf, size_t cap, const char *prefix, const char *value)
{
	int n;

	if (!booking__valid_value(value))
		return STW_EINVAL;
	n = snprintf(buf, cap, "%s%s", prefix, value);
	if (n < 0 || (size_t)n >= cap)
		return STW_EINVAL;
	return STW_OK;
}

/* Reads the integer field of an event's data, or `fallback` when it is not one. */
static int64_t event_int(const struct stw_event *ev, const char *field, int64_t fallback)
{
	json_t *v = json_object_get(ev->data, field);

	return json_is_integer(v) ? (int64_t)json_integer_value(v) : fallback;
}

int booking__fold(const struct stw_event *ev, void *ud)
{
	struct booking_state *b = ud;

	if (strcmp(ev->type, "BookingPlaced") == 0) {
		const char *client = stw_event_str(ev, "client");
		const char *concert = stw_event_str(ev, "concert");

		b->status = BOOKING_PLACED;
		snprintf(b->client, sizeof b->client, "%s", client ? client : "");
		snprintf(b->concert, sizeof b->concert, "%s", concert ? concert : "");
		json_decref(b->seats);
		b->seats = json_deep_copy(json_object_get(ev->data, "seats"));
		if (b->seats == NULL)
			b->oom = 1;
	} else if (strcmp(ev->type, "BookingConfirmed") == 0) {
		b->status = BOOKING_CONFIRMED;
		b->price = (long long)event_int(ev, "price", 0);
		b->expires_at = event_int(ev, "expires_at", 0);
	} else if (strcmp(ev->type, "BookingDenied") == 0) {
		const char *reason = stw_event_str(ev, "reason");

		b->status = BOOKING_DENIED;
		snprintf(b->reason, sizeof b->reason, "%s", reason ? reason : "");
	} else if (strcmp(ev->type, "BookingSettled") == 0) {
		b->status = BOOKING_SETTLED;
	} else if (strcmp(ev->type, "BookingExpired") == 0) {
		b->status = BOOKING_EXPIRED;
	}
	return b->oom;
}

void booking__state_release(struct booking_state *b)
{
	json_decref(b->seats);
	memset(b, 0, sizeof *b);
}

int booking__read(struct stw_engine *e, const char *booking_id, struct booking_state *b,
		  int64_t *version)
{
	char stream[BOOKING_STREAM_CAP];
	int rc;

	memset(b, 0, sizeof *b);
	*version = 0;
	rc = booking__stream(stream, sizeof stream, "booking-", booking_id);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Booking", stream, booking__fold, b, version);
	if (rc == STW_OK && b->oom)
		rc = STW_ENOMEM;
	return rc;
}

int booking__skip_event(const struct stw_event *ev, void *ud)
{
	(void)ev;
	(void)ud;
	return 0;
}

/*
 * PlaceBooking {booking_id, client, concert, seats}: creates the booking and
 * records the payment window in force. Refused if the booking exists or a
 * field is missing or invalid.
 */
static int place(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *booking_id,
		 const char *stream, const struct booking_state *b, int64_t version,
		 const struct booking_options *o)
{
	const char *client = booking__value(cmd->data, "client");
	const char *concert = booking__value(cmd->data, "concert");
	json_t *seats = json_object_get(cmd->data, "seats");
	int64_t window_ms;
	char why[128];
	json_t *data;

	if (client == NULL || concert == NULL)
		return stw_reject(sc,
				  "PlaceBooking: %s must be a non-empty string of at most %d bytes",
				  client == NULL ? "client" : "concert", BOOKING_MAX_VALUE);
	if (!booking__valid_seats(seats, why, sizeof why))
		return stw_reject(sc, "PlaceBooking: %s", why);
	if (b->status != BOOKING_NONE || version != 0)
		return stw_reject(sc, "booking %s already exists", booking_id);
	window_ms = o->payment_window_ms > 0 ? o->payment_window_ms : BOOKING_PAYMENT_WINDOW_MS;
	data = json_pack("{s:s, s:s, s:s, s:O, s:I}", "booking_id", booking_id, "client", client,
			 "concert", concert, "seats", seats, "payment_window_ms",
			 (json_int_t)window_ms);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "BookingPlaced", data);
}

/* ConfirmBooking {booking_id, price, expires_at}: only a placed booking is confirmed. */
static int confirm(struct stw_service_ctx *sc, const struct stw_command *cmd,
		   const char *booking_id, const char *stream, const struct booking_state *b,
		   int64_t version)
{
	json_t *price = json_object_get(cmd->data, "price");
	json_t *expires_at = json_object_get(cmd->data, "expires_at");
	json_t *data;

	if (!json_is_integer(price) || json_integer_value(price) < 0)
		return stw_reject(sc, "ConfirmBooking: price must be an integer number of cents "
				      ">= 0");
	if (!json_is_integer(expires_at) || json_integer_value(expires_at) <= 0)
		return stw_reject(sc, "ConfirmBooking: expires_at must be a time in UTC "
				      "milliseconds");
	if (b->status != BOOKING_PLACED)
		return stw_reject(sc, "booking %s cannot be confirmed: it is %s", booking_id,
				  booking__status_names[b->status]);
	data = json_pack("{s:s, s:I, s:I}", "booking_id", booking_id, "price",
			 json_integer_value(price), "expires_at", json_integer_value(expires_at));
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "BookingConfirmed", data);
}

/* DenyBooking {booking_id, reason}: only a placed booking is denied. */
static int deny(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *booking_id,
		const char *stream, const struct booking_state *b, int64_t version)
{
	const char *reason = json_string_value(json_object_get(cmd->data, "reason"));
	json_t *data;

	if (reason == NULL || reason[0] == '\0' || strlen(reason) > BOOKING_MAX_REASON)
		return stw_reject(sc,
				  "DenyBooking: reason must be a non-empty string of at most %d "
				  "bytes",
				  BOOKING_MAX_REASON);
	if (b->status != BOOKING_PLACED)
		return stw_reject(sc, "booking %s cannot be denied: it is %s", booking_id,
				  booking__status_names[b->status]);
	data = json_pack("{s:s, s:s}", "booking_id", booking_id, "reason", reason);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "BookingDenied", data);
}

/*
 * ExpireBooking {booking_id}: only a confirmed booking expires, and not one
 * the client has paid for. The payment is looked up in the Payments log in
 * this transaction: a payment recorded before it wins the race with the
 * expiry, even if the process has not settled the booking yet.
 */
static int expire(struct stw_service_ctx *sc, const char *booking_id, const char *stream,
		  const struct booking_state *b, int64_t version)
{
	char payment[BOOKING_STREAM_CAP];
	int64_t payment_version = 0;
	json_t *data;
	int rc;

	if (b->status != BOOKING_CONFIRMED)
		return stw_reject(sc, "booking %s cannot expire: it is %s", booking_id,
				  booking__status_names[b->status]);
	rc = booking__stream(payment, sizeof payment, "payment-", booking_id);
	if (rc == STW_OK)
		rc = stw_read_stream(stw_svc_engine(sc), "Payments", payment, booking__skip_event,
				     NULL, &payment_version);
	if (rc != STW_OK)
		return rc;
	if (payment_version > 0)
		return stw_reject(sc,
				  "booking %s cannot expire: it is paid, its settlement is "
				  "on the way",
				  booking_id);
	data = json_pack("{s:s}", "booking_id", booking_id);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "BookingExpired", data);
}

int booking__booking_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const struct booking_options *o = ud;
	const char *booking_id;
	char stream[BOOKING_STREAM_CAP];
	struct booking_state b;
	int64_t version = 0;
	json_t *data;
	int rc;

	if (strcmp(cmd->type, "PlaceBooking") != 0 && strcmp(cmd->type, "ConfirmBooking") != 0 &&
	    strcmp(cmd->type, "DenyBooking") != 0 && strcmp(cmd->type, "SettleBooking") != 0 &&
	    strcmp(cmd->type, "ExpireBooking") != 0)
		return stw_reject(sc, "Booking does not handle %s", cmd->type);
	booking_id = booking__value(cmd->data, "booking_id");
	if (booking_id == NULL ||
	    booking__stream(stream, sizeof stream, "booking-", booking_id) != STW_OK)
		return stw_reject(sc,
				  "%s: booking_id must be a non-empty string of at most %d bytes",
				  cmd->type, BOOKING_MAX_VALUE);
	memset(&b, 0, sizeof b);
	rc = stw_svc_read_stream(sc, stream, booking__fold, &b, &version);
	if (rc == STW_OK && b.oom)
		rc = STW_ENOMEM;
	if (rc != STW_OK) {
		booking__state_release(&b);
		return rc;
	}

	if (strcmp(cmd->type, "PlaceBooking") == 0)
		rc = place(sc, cmd, booking_id, stream, &b, version, o);
	else if (b.status == BOOKING_NONE)
		rc = stw_reject(sc, "booking %s does not exist", booking_id);
	else if (strcmp(cmd->type, "ConfirmBooking") == 0)
		rc = confirm(sc, cmd, booking_id, stream, &b, version);
	else if (strcmp(cmd->type, "DenyBooking") == 0)
		rc = deny(sc, cmd, booking_id, stream, &b, version);
	else if (strcmp(cmd->type, "ExpireBooking") == 0)
		rc = expire(sc, booking_id, stream, &b, version);
	else if (b.status != BOOKING_CONFIRMED)
		rc = stw_reject(sc, "booking %s cannot be settled: it is %s", booking_id,
				booking__status_names[b.status]);
	else if ((data = json_pack("{s:s}", "booking_id", booking_id)) == NULL)
		rc = STW_ENOMEM;
	else
		rc = stw_svc_emit(sc, stream, version, "BookingSettled", data);
	booking__state_release(&b);
	return rc;
}

int booking_place(struct stw_engine *e, const char *booking_id, const char *client,
		  const char *concert, const char *const *seats, const char *command_id)
{
	json_t *data = json_object();
	json_t *list = json_array();
	int rc = data != NULL && list != NULL ? STW_OK : STW_ENOMEM;

	/* Missing fields are left out so that the service refuses them with a reason. */
	if (rc == STW_OK && booking_id != NULL &&
	    json_object_set_new(data, "booking_id", json_string(booking_id)) != 0)
		rc = STW_ENOMEM;
	if (rc == STW_OK && client != NULL &&
	    json_object_set_new(data, "client", json_string(client)) != 0)
		rc = STW_ENOMEM;
	if (rc == STW_OK && concert != NULL &&
	    json_object_set_new(data, "concert", json_string(concert)) != 0)
		rc = STW_ENOMEM;
	for (; rc == STW_OK && seats != NULL && *seats != NULL; seats++) {
		if (json_array_append_new(list, json_string(*seats)) != 0)
			rc = STW_ENOMEM;
	}
	if (rc == STW_OK && json_object_set(data, "seats", list) != 0)
		rc = STW_ENOMEM;
	/* The booking id is the correlation id of all that follows. */
	if (rc == STW_OK)
		rc = stw_execute(e, "Booking", "PlaceBooking", data, command_id,
				 booking__valid_value(booking_id) ? booking_id : NULL, NULL);
	json_decref(list);
	json_decref(data);
	return rc;
}

int booking_get(struct stw_engine *e, const char *booking_id, json_t **out)
{
	struct booking_state b;
	int64_t version = 0;
	int rc;

	*out = NULL;
	rc = booking__read(e, booking_id, &b, &version);
	if (rc == STW_OK && b.status == BOOKING_NONE)
		rc = STW_ENOTFOUND;
	if (rc == STW_OK) {
		int confirmed = b.status == BOOKING_CONFIRMED || b.status == BOOKING_SETTLED ||
				b.status == BOOKING_EXPIRED;

		*out = json_pack("{s:s, s:s, s:s, s:O, s:s, s:o, s:o, s:o}", "booking_id",
				 booking_id, "client", b.client, "concert", b.concert, "seats",
				 b.seats != NULL ? b.seats : json_null(), "status",
				 booking__status_names[b.status], "price",
				 confirmed ? json_integer(b.price) : json_null(), "expires_at",
				 confirmed ? json_integer(b.expires_at) : json_null(), "reason",
				 b.status == BOOKING_DENIED ? json_string(b.reason) : json_null());
		if (*out == NULL)
			rc = STW_ENOMEM;
	}
	booking__state_release(&b);
	return rc;
}
