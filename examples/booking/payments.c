/*
 * payments.c - the Payments context of the booking example: one payment
 * stream per booking ("payment-<booking id>"), its command handler and the
 * call a client pays with.
 *
 * Payments reads the booking from the Booking log inside its own
 * transaction, so it never takes money for a booking that is not confirmed,
 * has already expired or is past its payment deadline (even before the
 * expiration process has run), or for another amount than its price.
 */
#include <string.h>

#include "booking.h"
#include "booking_int.h"

/*
 * PayBooking {booking_id, amount}: PaymentSucceeded {booking_id, amount}
 * once per booking, if the booking is confirmed and the amount is its price.
 */
static int pay(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *booking_id,
	       const char *stream)
{
	json_t *amount = json_object_get(cmd->data, "amount");
	struct booking_state b;
	int64_t booking_version = 0, version = 0;
	json_t *data;
	int rc;

	if (!json_is_integer(amount) || json_integer_value(amount) <= 0)
		return stw_reject(sc, "PayBooking: amount must be an integer number of cents > 0");
	rc = stw_svc_read_stream(sc, stream, booking__skip_event, NULL, &version);
	if (rc != STW_OK)
		return rc;
	if (version != 0)
		return stw_reject(sc, "booking %s is already paid", booking_id);
	rc = booking__read(stw_svc_engine(sc), booking_id, &b, &booking_version);
	if (rc == STW_OK && b.status == BOOKING_NONE)
		rc = stw_reject(sc, "booking %s does not exist", booking_id);
	else if (rc == STW_OK && b.status != BOOKING_CONFIRMED)
		rc = stw_reject(sc, "booking %s cannot be paid: it is %s", booking_id,
				booking__status_names[b.status]);
	else if (rc == STW_OK && b.expires_at > 0 && stw_svc_now(sc) >= b.expires_at)
		/* The expiration process may not have run yet: the deadline is the rule. */
		rc = stw_reject(sc, "booking %s is past its payment deadline", booking_id);
	else if (rc == STW_OK && json_integer_value(amount) != b.price)
		rc = stw_reject(sc, "booking %s costs %lld cents, not %lld", booking_id, b.price,
				(long long)json_integer_value(amount));
	booking__state_release(&b);
	if (rc != STW_OK)
		return rc;
	data =
	    json_pack("{s:s, s:I}", "booking_id", booking_id, "amount", json_integer_value(amount));
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "PaymentSucceeded", data);
}

int booking__payments_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *booking_id;
	char stream[BOOKING_STREAM_CAP];

	(void)ud;
	if (strcmp(cmd->type, "PayBooking") != 0)
		return stw_reject(sc, "Payments does not handle %s", cmd->type);
	booking_id = booking__value(cmd->data, "booking_id");
	if (booking_id == NULL ||
	    booking__stream(stream, sizeof stream, "payment-", booking_id) != STW_OK)
		return stw_reject(sc,
				  "PayBooking: booking_id must be a non-empty string of at most %d "
				  "bytes",
				  BOOKING_MAX_VALUE);
	return pay(sc, cmd, booking_id, stream);
}

int booking_pay(struct stw_engine *e, const char *booking_id, long long amount,
		const char *command_id)
{
	json_t *data = json_object();
	int rc;

	/* A missing id is left out so that the service refuses it with a reason. */
	if (data == NULL ||
	    (booking_id != NULL &&
	     json_object_set_new(data, "booking_id", json_string(booking_id)) != 0) ||
	    json_object_set_new(data, "amount", json_integer(amount)) != 0) {
		json_decref(data);
		return STW_ENOMEM;
	}
	rc = stw_execute(e, "Payments", "PayBooking", data, command_id,
			 booking__valid_value(booking_id) ? booking_id : NULL, NULL);
	json_decref(data);
	return rc;
}
