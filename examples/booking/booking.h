/*
 * booking.h - the ticket booking example (seed 003): Booking takes a
 * client's booking of seats at a concert, Tickets reserves and releases the
 * seats, Payments takes the client's money, the "booking" process manager
 * confirms or denies each booking, and the periodic process
 * "booking-expiration" expires the confirmed bookings nobody paid for in
 * time. Written on the public API only.
 *
 * Streams: Booking keeps "booking-<id>", Tickets one per concert
 * "concert-<id>" (which seat is taken by which booking), Payments
 * "payment-<booking id>". Every event's data holds the booking_id, which is
 * how the process correlates it. Amounts are integer cents; times are UTC
 * milliseconds of the engine's clock.
 *
 * Booking commands:   PlaceBooking {booking_id, client, concert, seats}
 *                     ConfirmBooking {booking_id, price, expires_at}
 *                     DenyBooking {booking_id, reason}
 *                     SettleBooking {booking_id}
 *                     ExpireBooking {booking_id}
 * Booking events:     BookingPlaced {booking_id, client, concert, seats,
 *                     payment_window_ms}, BookingConfirmed, BookingDenied,
 *                     BookingSettled, BookingExpired
 * Tickets commands:   ReserveSeats {booking_id, concert, seats}
 *                     ReleaseSeats {booking_id, concert}
 * Tickets events:     SeatsReserved {booking_id, concert, seats, price},
 *                     SeatsReservationFailed {booking_id, concert, reason},
 *                     SeatsReleased {booking_id, concert, seats}
 * Payments commands:  PayBooking {booking_id, amount}  (the client pays)
 * Payments events:    PaymentSucceeded {booking_id, amount}
 *
 * The "booking" process (commands in brackets), delivered at least once:
 *
 *   start -- BookingPlaced --> Reserving  [Tickets.ReserveSeats]
 *   Reserving -- SeatsReserved --> Confirmed  [Booking.ConfirmBooking]
 *       (expires_at = the SeatsReserved's recorded_at + the payment window)
 *   Reserving -- SeatsReservationFailed --> Denied (terminal)  [Booking.DenyBooking]
 *   Confirmed -- PaymentSucceeded --> Settled (terminal)  [Booking.SettleBooking]
 *   Confirmed -- BookingExpired --> Expired (terminal)  [Tickets.ReleaseSeats]
 *   Confirmed -- SeatsReserved --> (stays: the same answer again)
 *
 * Any other message in a state that does not expect it fails the instance
 * with a reason, for a person to look at.
 *
 * The "booking-expiration" periodic process is the seed's expiration
 * process: once per period it folds the Booking log into a view of the
 * bookings that are confirmed and neither settled nor expired, and sends
 * Booking.ExpireBooking for each whose expires_at has passed. The command id
 * is derived from the booking id, so a booking found in several periods (its
 * command not yet delivered) is expired once. There is no timer per booking:
 * the deadline is a fact the process mines from the view.
 *
 * A payment and an expiry may race (the client pays a moment before the
 * deadline, the engine steps the payment a moment after). The services
 * decide it in their transactions: Payments refuses to take money for a
 * booking that is not confirmed, and Booking refuses to expire a booking that
 * has a payment. Whichever commits first wins; the other is refused with a
 * reason.
 */
#ifndef BOOKING_H
#define BOOKING_H

#include <stdint.h>

#include <steward.h>

/* The defaults of struct booking_options. */
#define BOOKING_PAYMENT_WINDOW_MS (15 * 60 * 1000) /* from confirmation to the deadline */
#define BOOKING_EXPIRE_EVERY_MS   (10 * 1000)      /* period of the expiration process */

/* The longest window or period accepted (a year), so that times cannot overflow. */
#define BOOKING_MAX_MS ((int64_t)366 * 24 * 60 * 60 * 1000)

/* The price of one seat, in cents. */
#define BOOKING_SEAT_PRICE 4500

/* The most seats one booking may take. */
#define BOOKING_MAX_SEATS 16

/*
 * The options of one engine's booking example. The engine keeps pointers
 * into this struct (the expiration process's definition and its counters),
 * so it must outlive the engine, like a service's ud. Fill the first two
 * fields; booking_register() writes the rest.
 */
struct booking_options {
	int64_t payment_window_ms; /* from SeatsReserved to the deadline; 0: the default */
	int64_t expire_every_ms;   /* period of the expiration process; 0: the default */

	/* Written by booking_register() and the expiration process. */
	struct stw_periodic_def expiration; /* what the engine runs; do not change it */
	uint64_t expiration_runs;           /* calls of its step (rolled back ones included) */
	uint64_t expirations_found;         /* past-deadline bookings found, summed over runs */
};

/* The "booking" process definition. */
extern const struct stw_definition booking_definition;

/*
 * The expiration process with the default period and no counters, for an
 * engine that only expires bookings (another engine runs the services).
 */
extern const struct stw_periodic_def booking_expiration;

/*
 * Registers the Booking, Tickets and Payments services, the "booking"
 * definition and the "booking-expiration" periodic process. `o` may be NULL
 * (the defaults, no counters); else it must outlive the engine (see above).
 * Each booking records the payment window in force when it is placed, so
 * changing the options never moves the deadline of a booking already placed.
 * Returns STW_EINVAL if a window or period is negative or above
 * BOOKING_MAX_MS.
 */
int booking_register(struct stw_engine *e, struct booking_options *o);

/*
 * Places a booking of `seats` (a NULL-terminated list of seat ids) at
 * `concert` for `client`. The booking id is the correlation id of everything
 * that follows. `command_id` may be NULL (random); a fixed one makes the call
 * idempotent. Returns the command's outcome (STW_EREJECTED, with the reason
 * in stw_errmsg(), if the booking exists or a field is invalid).
 */
int booking_place(struct stw_engine *e, const char *booking_id, const char *client,
		  const char *concert, const char *const *seats, const char *command_id);

/*
 * The client pays `amount` cents for a booking (Payments.PayBooking).
 * Refused unless the booking is confirmed, not paid yet, and the amount is
 * its price. `command_id` as above.
 */
int booking_pay(struct stw_engine *e, const char *booking_id, long long amount,
		const char *command_id);

/*
 * A booking as a new JSON object {booking_id, client, concert, seats,
 * status: "placed"|"confirmed"|"denied"|"settled"|"expired", price,
 * expires_at, reason} (price and expires_at are null until confirmed, reason
 * is null unless denied). STW_ENOTFOUND if it was never placed, STW_EINVAL
 * if the id is not valid; *out is NULL on failure.
 */
int booking_get(struct stw_engine *e, const char *booking_id, json_t **out);

/*
 * Which booking holds each seat of a concert, as a new JSON object
 * {seat: booking_id} (empty when no seat is taken). STW_EINVAL if the
 * concert id is not valid.
 */
int booking_seats(struct stw_engine *e, const char *concert, json_t **out);

#endif /* BOOKING_H */
