/*
 * booking_int.h - what the files of the booking example share and nothing
 * else sees: the service handlers and the expiration step (registered by
 * process.c), the booking aggregate's fold (Booking decides with it, Payments
 * and the view read with it) and the validation of values fed from outside.
 */
#ifndef BOOKING_INT_H
#define BOOKING_INT_H

#include <stddef.h>
#include <stdint.h>

#include <steward.h>

/* Caps on the values the example accepts from outside (bytes, without the NUL). */
#define BOOKING_MAX_VALUE  100 /* ids: booking, client, concert, seat */
#define BOOKING_MAX_REASON 200 /* why a booking was denied */

/* Room for "booking-", "concert-" or "payment-" followed by a capped value, and the NUL. */
#define BOOKING_STREAM_CAP (16 + BOOKING_MAX_VALUE)

enum booking_status {
	BOOKING_NONE = 0, /* no BookingPlaced yet */
	BOOKING_PLACED,
	BOOKING_CONFIRMED,
	BOOKING_DENIED,
	BOOKING_SETTLED,
	BOOKING_EXPIRED,
};

/* The names of enum booking_status, indexed by it ("none" is never shown). */
extern const char *const booking__status_names[];

/* A booking folded from its stream. */
struct booking_state {
	enum booking_status status;
	char client[BOOKING_MAX_VALUE + 1];
	char concert[BOOKING_MAX_VALUE + 1];
	json_t *seats;                       /* array of seat ids (a new reference), or NULL */
	long long price;                     /* cents; set by BookingConfirmed */
	int64_t expires_at;                  /* set by BookingConfirmed */
	char reason[BOOKING_MAX_REASON + 1]; /* set by BookingDenied */
	int oom;                             /* the fold ran out of memory */
};

/*
 * Folds one event of a booking stream into the struct booking_state at ud,
 * which starts zeroed. Returns non-zero (stop) when out of memory.
 */
int booking__fold(const struct stw_event *ev, void *ud);

/* Reads nothing from an event: for a stream whose version alone matters. */
int booking__skip_event(const struct stw_event *ev, void *ud);

/*
 * Reads the stream of booking `booking_id` through `e` (which may be a
 * service's engine, inside its transaction) into *b, which starts empty;
 * *version receives the stream version (0: none). Release *b with
 * booking__state_release() whatever the result. STW_EINVAL if the id is not
 * valid.
 */
int booking__read(struct stw_engine *e, const char *booking_id, struct booking_state *b,
		  int64_t *version);

/* Releases what a fold allocated; *b is empty afterwards. */
void booking__state_release(struct booking_state *b);

/* The Booking service: PlaceBooking, ConfirmBooking, DenyBooking, SettleBooking, ExpireBooking. */
int booking__booking_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/* The Tickets service: ReserveSeats, ReleaseSeats. */
int booking__tickets_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/* The Payments service: PayBooking. */
int booking__payments_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/*
 * The step of the expiration process. `ud` is the struct booking_options
 * whose counters it bumps, or NULL.
 */
int booking__expire_due(struct stw_periodic_ctx *pc, void *ud);

/*
 * Returns non-zero when `s` is a valid id (booking, client, concert, seat):
 * a non-empty string of at most BOOKING_MAX_VALUE bytes. NULL is not valid.
 */
int booking__valid_value(const char *s);

/*
 * Returns the string field `field` of the JSON object `obj` (borrowed) if it
 * is a valid value in the sense of booking__valid_value(), else NULL. `obj`
 * may be NULL.
 */
const char *booking__value(const json_t *obj, const char *field);

/*
 * Returns non-zero when `seats` is an array of 1 to BOOKING_MAX_SEATS valid,
 * distinct seat ids. Else writes why into why[cap].
 */
int booking__valid_seats(const json_t *seats, char *why, size_t cap);

/*
 * Writes "<prefix><value>" into buf (cap bytes). Returns STW_OK, or
 * STW_EINVAL if the value is not valid or the result does not fit.
 */
int booking__stream(char *buf, size_t cap, const char *prefix, const char *value);

#endif /* BOOKING_INT_H */
