/*
 * test_booking.c - scenarios of the ticket booking example, driven through
 * the public API only: each runs on a fresh store (a database in its own
 * temporary directory, or a PostgreSQL schema: STEWARD_TEST_STORE=pg) with
 * a virtual clock that only the test moves, drives the engine with
 * stw_run_until_idle() after each move, and checks what a user can see
 * (instances, bookings, seat maps, streams, counters).
 *
 * Scenarios are numbered like SQLite's tests: booking-<group>.<case>. Group 1
 * is the seed's booking process and its periodic expiration process, group 2
 * the race between a payment and an expiry, the domain rules of the
 * services, the views, the options and a crowd of bookings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "booking.h"
#include "fixture.h"

/* The time every scenario starts at: the first millisecond of an expiration period. */
#define T0 ((int64_t)1700000000000)

/* The default period of the expiration process and the price of one seat. */
#define EVERY BOOKING_EXPIRE_EVERY_MS
#define PRICE BOOKING_SEAT_PRICE

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */

struct fixture {
	struct fx_world w;           /* first: the state is a world too (see fx_new) */
	struct booking_options opts; /* outlives the engine, as booking_register() asks */
};

/* Opens the fixture's engine and registers the example with the fixture's options. */
static int open_engine(struct fixture *f)
{
	if (fx_world_open(&f->w, NULL) != STW_OK)
		return -1;
	return booking_register(f->w.e, &f->opts) == STW_OK ? 0 : -1;
}

/*
 * Opens a fresh engine in a new temporary directory, with a virtual clock at
 * T0 that moves only when a test moves it. The scenario's parameter, when not
 * NULL, is the struct booking_options to register with.
 */
static int setup(void **state)
{
	const struct booking_options *opts = *state;
	struct fixture *f;

	if (fx_new(state, sizeof *f, "booking", T0) != 0)
		return -1;
	f = *state;
	if (opts != NULL)
		f->opts = *opts;
	if (open_engine(f) == 0)
		return 0;
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Helpers: each fails the test on an unexpected error                      */

static void run_engine(struct stw_engine *e)
{
	assert_stw_ok(e, stw_run_until_idle(e));
}

static void run(struct fixture *f)
{
	run_engine(f->w.e);
}

/* Moves the virtual clock to `t` and runs the engine. */
static void run_at(struct fixture *f, int64_t t)
{
	fx_clock_set(&f->w.clock, t);
	run(f);
}

/* Closes the engine and opens it again on the same file, as after a restart. */
static void restart(struct fixture *f)
{
	stw_close(f->w.e);
	f->w.e = NULL;
	if (open_engine(f) != 0)
		fail_msg("reopening %s failed", f->w.db);
}

/* Places a booking of one or two seats (s2 may be NULL). */
static void place(struct fixture *f, const char *id, const char *concert, const char *s1,
		  const char *s2)
{
	const char *seats[] = { s1, s2, NULL };
	int rc = booking_place(f->w.e, id, "ann", concert, seats, NULL);

	if (rc != STW_OK)
		fail_msg("placing %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
}

static void pay(struct fixture *f, const char *id, long long amount)
{
	int rc = booking_pay(f->w.e, id, amount, NULL);

	if (rc != STW_OK)
		fail_msg("paying %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
}

/* A string field of a JSON object, or "" (never NULL, for assert_string_equal). */
static const char *str(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return s != NULL ? s : "";
}

static long long integer(const json_t *obj, const char *field)
{
	return (long long)json_integer_value(json_object_get(obj, field));
}

/* Number of elements of obj[array] whose `field` equals `value`. */
static int count_where(const json_t *obj, const char *array, const char *field, const char *value)
{
	size_t i;
	json_t *row;
	int n = 0;

	json_array_foreach(json_object_get(obj, array), i, row)
	{
		if (strcmp(str(row, field), value) == 0)
			n++;
	}
	return n;
}

/* The booking instance `id` as a new JSON object. */
static json_t *instance(struct fixture *f, const char *id)
{
	json_t *out = NULL;
	int rc = stw_get_instance(f->w.e, "booking", id, &out);

	if (rc != STW_OK)
		fail_msg("instance %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
	return out;
}

/* Checks the state and status of a booking instance. */
static void assert_instance(struct fixture *f, const char *id, const char *state,
			    const char *status)
{
	json_t *p = instance(f, id);

	assert_string_equal(str(p, "state"), state);
	assert_string_equal(str(p, "status"), status);
	json_decref(p);
}

/* The booking `id` as a new JSON object (booking_get). */
static json_t *booking(struct fixture *f, const char *id)
{
	json_t *b = NULL;
	int rc = booking_get(f->w.e, id, &b);

	if (rc != STW_OK)
		fail_msg("booking %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
	return b;
}

static void assert_status(struct fixture *f, const char *id, const char *status)
{
	json_t *b = booking(f, id);

	assert_string_equal(str(b, "status"), status);
	json_decref(b);
}

/* The booking holding `seat` of `concert`, or "" when the seat is free. */
static void assert_seat(struct fixture *f, const char *concert, const char *seat,
			const char *holder)
{
	json_t *map = NULL;

	assert_int_equal(booking_seats(f->w.e, concert, &map), STW_OK);
	assert_string_equal(str(map, seat), holder);
	json_decref(map);
}

/* Number of events of `type` in a stream. */
struct type_count {
	const char *type;
	int n;
};

static int count_type(const struct stw_event *ev, void *ud)
{
	struct type_count *c = ud;

	c->n += strcmp(ev->type, c->type) == 0;
	return 0;
}

static int stream_count(struct fixture *f, const char *context, const char *stream,
			const char *type)
{
	struct type_count c = { type, 0 };
	int64_t version = 0;

	assert_int_equal(stw_read_stream(f->w.e, context, stream, count_type, &c, &version),
			 STW_OK);
	return c.n;
}

static int64_t head(struct fixture *f, const char *context)
{
	int64_t pos = -1;

	assert_int_equal(stw_head(f->w.e, context, &pos), STW_OK);
	return pos;
}

static int64_t pending(struct stw_engine *e)
{
	int64_t n = -1;

	assert_int_equal(stw_pending_commands(e, &n), STW_OK);
	return n;
}

/* ------------------------------------------------------------------------ */
/* Group 1: the booking process and the expiration process                  */

/*
 * booking-1.1: a booking placed, confirmed, paid and settled. BookingPlaced
 * starts the instance, which asks Tickets for the seats; SeatsReserved
 * confirms the booking at two seats' price with a deadline 15 minutes after
 * the reservation was recorded; the client pays that price and the booking
 * is settled. The instance ends in Settled (completed) having sent
 * ReserveSeats, ConfirmBooking and SettleBooking once each, and the seats
 * stay taken by the booking.
 */
static void paid_and_settled(void **state)
{
	struct fixture *f = *state;
	json_t *b, *p;

	place(f, "b1", "c1", "A1", "A2");
	run(f);
	assert_instance(f, "b1", "Confirmed", "active");
	b = booking(f, "b1");
	assert_string_equal(str(b, "status"), "confirmed");
	assert_int_equal(integer(b, "price"), 2 * PRICE);
	assert_int_equal(integer(b, "expires_at"), T0 + BOOKING_PAYMENT_WINDOW_MS);
	json_decref(b);
	assert_seat(f, "c1", "A1", "b1");
	assert_seat(f, "c1", "A2", "b1");

	pay(f, "b1", 2 * PRICE);
	run(f);

	p = instance(f, "b1");
	assert_string_equal(str(p, "state"), "Settled");
	assert_string_equal(str(p, "status"), "completed");
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 3);
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 3);
	assert_int_equal(count_where(p, "commands", "type", "ReserveSeats"), 1);
	assert_int_equal(count_where(p, "commands", "type", "ConfirmBooking"), 1);
	assert_int_equal(count_where(p, "commands", "type", "SettleBooking"), 1);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 3);
	json_decref(p);
	assert_status(f, "b1", "settled");
	assert_seat(f, "c1", "A1", "b1");
	assert_seat(f, "c1", "A2", "b1");
	assert_int_equal(stream_count(f, "Tickets", "concert-c1", "SeatsReleased"), 0);
}

/*
 * booking-1.2: a booking of a seat already taken is denied. b2 asks for A2
 * (b1's) and A3: Tickets answers SeatsReservationFailed naming A2, the
 * instance ends in Denied (completed) after sending DenyBooking, the booking
 * is denied with that reason, no seat of b2's is taken and b1 keeps its own.
 */
static void seats_taken_denied(void **state)
{
	struct fixture *f = *state;
	json_t *b, *p;

	place(f, "b1", "c1", "A1", "A2");
	run(f);
	place(f, "b2", "c1", "A2", "A3");
	run(f);

	p = instance(f, "b2");
	assert_string_equal(str(p, "state"), "Denied");
	assert_string_equal(str(p, "status"), "completed");
	assert_int_equal(count_where(p, "commands", "type", "DenyBooking"), 1);
	assert_int_equal(count_where(p, "commands", "type", "ConfirmBooking"), 0);
	json_decref(p);
	b = booking(f, "b2");
	assert_string_equal(str(b, "status"), "denied");
	assert_non_null(strstr(str(b, "reason"), "A2"));
	assert_true(json_is_null(json_object_get(b, "price")));
	json_decref(b);
	assert_seat(f, "c1", "A2", "b1");
	assert_seat(f, "c1", "A3", "");
	assert_status(f, "b1", "confirmed");
}

/*
 * booking-1.3: a confirmed booking nobody pays for expires, at the first
 * period that starts after its deadline. The booking is placed 3 s into a
 * period, so its deadline falls inside one. A run 1 ms before the deadline
 * sends nothing; the deadline passes within that period and the engine runs
 * again, but the period has had its run, so still nothing; at the start of
 * the next period ExpireBooking is sent, the booking expires, the instance
 * ends in Expired (completed) after ReleaseSeats, and the seats are free: a
 * new booking of the same seats is confirmed.
 */
static void unpaid_expires(void **state)
{
	struct fixture *f = *state;
	const int64_t deadline = T0 + 3000 + BOOKING_PAYMENT_WINDOW_MS;
	json_t *p;

	fx_clock_set(&f->w.clock, T0 + 3000);
	place(f, "b1", "c1", "A1", "A2");
	run(f);
	assert_status(f, "b1", "confirmed");

	run_at(f, deadline - 1);
	assert_int_equal(f->opts.expirations_found, 0);
	assert_int_equal(pending(f->w.e), 0);
	assert_status(f, "b1", "confirmed");

	run_at(f, deadline + 1);
	assert_true(deadline / EVERY == (deadline - 1) / EVERY); /* the same period */
	assert_int_equal(f->opts.expirations_found, 0);
	assert_status(f, "b1", "confirmed");

	run_at(f, (deadline / EVERY + 1) * EVERY);
	assert_int_equal(f->opts.expirations_found, 1);
	assert_status(f, "b1", "expired");
	p = instance(f, "b1");
	assert_string_equal(str(p, "state"), "Expired");
	assert_string_equal(str(p, "status"), "completed");
	assert_int_equal(count_where(p, "commands", "type", "ReleaseSeats"), 1);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 3);
	json_decref(p);
	assert_int_equal(stream_count(f, "Booking", "booking-b1", "BookingExpired"), 1);
	assert_seat(f, "c1", "A1", "");
	assert_seat(f, "c1", "A2", "");

	place(f, "b2", "c1", "A2", "A1");
	run(f);
	assert_instance(f, "b2", "Confirmed", "active");
	assert_seat(f, "c1", "A1", "b2");
	assert_seat(f, "c1", "A2", "b2");
}

/*
 * booking-1.4: a booking paid 1 ms before its deadline is never expired.
 * It is settled at once; then the clock runs on for several periods past the
 * deadline and the expiration process, which runs in each, finds nothing:
 * no ExpireBooking is sent or refused, and the seats stay taken.
 */
static void paid_before_deadline(void **state)
{
	struct fixture *f = *state;
	const int64_t deadline = T0 + BOOKING_PAYMENT_WINDOW_MS;
	struct stw_stats st;
	uint64_t runs;

	place(f, "b1", "c1", "A1", NULL);
	run(f);
	fx_clock_set(&f->w.clock, deadline - 1);
	pay(f, "b1", PRICE);
	run(f);
	assert_status(f, "b1", "settled");

	runs = f->opts.expiration_runs;
	for (int k = 0; k < 4; k++)
		run_at(f, deadline + k * EVERY);
	assert_int_equal(f->opts.expiration_runs, runs + 4);
	assert_int_equal(f->opts.expirations_found, 0);
	assert_status(f, "b1", "settled");
	assert_instance(f, "b1", "Settled", "completed");
	assert_int_equal(stream_count(f, "Booking", "booking-b1", "BookingExpired"), 0);
	assert_seat(f, "c1", "A1", "b1");
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.commands_rejected, 0);
}

/*
 * booking-1.5: the expiration process runs once per period. Running the
 * engine again and again within a period, with the clock moving inside it,
 * does not run it again; neither does a restart (stw_close and stw_open on
 * the same file) within the period; the next period runs it once; a jump of
 * nine periods runs it once, not once per missed period.
 */
static void once_per_period(void **state)
{
	struct fixture *f = *state;

	place(f, "b1", "c1", "A1", NULL);
	run(f);
	assert_int_equal(f->opts.expiration_runs, 1);
	run(f);
	run(f);
	run_at(f, T0 + 5000);
	run_at(f, T0 + EVERY - 1);
	assert_int_equal(f->opts.expiration_runs, 1);

	restart(f);
	run(f);
	assert_int_equal(f->opts.expiration_runs, 1);

	run_at(f, T0 + EVERY);
	assert_int_equal(f->opts.expiration_runs, 2);
	run(f);
	restart(f);
	run(f);
	assert_int_equal(f->opts.expiration_runs, 2);

	run_at(f, T0 + 10 * EVERY + 1);
	run(f);
	assert_int_equal(f->opts.expiration_runs, 3);
	assert_int_equal(f->opts.expirations_found, 0);
	assert_status(f, "b1", "confirmed");
}

/*
 * booking-1.6: an expiry found in two consecutive periods is sent once.
 * Another engine on the same store runs only the expiration process (it has
 * no services and leaves the delivery to the first engine: its commands
 * wait in the outbox, delivered_elsewhere): it finds b1 past its
 * deadline in one period and again in the next, and the outbox still holds
 * one ExpireBooking (the command id comes from the booking id). The first
 * engine, in that second period, does not run the process again (the period
 * is recorded in the store) and delivers the one command: b1 expires once,
 * no second ExpireBooking is refused.
 */
static void found_twice_sent_once(void **state)
{
	struct fixture *f = *state;
	const int64_t deadline = T0 + BOOKING_PAYMENT_WINDOW_MS;
	struct stw_engine *expirer = NULL;
	struct stw_stats before, after;

	place(f, "b1", "c1", "A1", NULL);
	run(f);
	assert_int_equal(f->opts.expiration_runs, 1);
	const struct stw_options elsewhere = { .delivered_elsewhere = 1 };
	assert_int_equal(fx_open(&f->w, NULL, &elsewhere, &expirer), STW_OK);
	assert_int_equal(stw_define_periodic(expirer, &booking_expiration), STW_OK);

	fx_clock_set(&f->w.clock, deadline);
	run_engine(expirer);
	assert_int_equal(pending(expirer), 1);
	fx_clock_set(&f->w.clock, deadline + EVERY);
	run_engine(expirer);
	assert_int_equal(pending(expirer), 1);
	assert_status(f, "b1", "confirmed");
	stw_close(expirer);

	stw_get_stats(f->w.e, &before);
	run(f);
	stw_get_stats(f->w.e, &after);
	assert_int_equal(f->opts.expiration_runs, 1);
	assert_status(f, "b1", "expired");
	assert_instance(f, "b1", "Expired", "completed");
	assert_int_equal(stream_count(f, "Booking", "booking-b1", "BookingExpired"), 1);
	assert_int_equal(after.commands_delivered - before.commands_delivered, 2); /* + Release */
	assert_int_equal(after.commands_rejected, before.commands_rejected);
	assert_int_equal(pending(f->w.e), 0);
	assert_seat(f, "c1", "A1", "");
}

/*
 * booking-1.7: a message the state machine does not accept fails the
 * instance instead of being dropped. A PaymentSucceeded appended by hand
 * (another payment system, say) reaches b1 while it is Reserving: the
 * instance is "failed" with a reason naming the message and the state, its
 * history records the message as failed, the SeatsReserved that follows is
 * recorded as ignored, and the booking is never confirmed.
 */
static void wrong_state_fails(void **state)
{
	struct fixture *f = *state;
	struct stw_event ev = { .type = "PaymentSucceeded", .stream = "payment-b1" };
	struct stw_stats st;
	json_t *p;

	place(f, "b1", "c1", "A1", NULL);
	ev.data = json_pack("{s:s, s:i}", "booking_id", "b1", "amount", PRICE);
	assert_int_equal(stw_append(f->w.e, "Payments", STW_NO_STREAM, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
	run(f);

	p = instance(f, "b1");
	assert_string_equal(str(p, "status"), "failed");
	assert_string_equal(str(p, "state"), "Reserving");
	assert_non_null(strstr(str(p, "reason"), "PaymentSucceeded"));
	assert_non_null(strstr(str(p, "reason"), "Reserving"));
	assert_int_equal(count_where(p, "history", "outcome", "failed"), 1);
	assert_int_equal(count_where(p, "history", "message_type", "PaymentSucceeded"), 1);
	assert_int_equal(count_where(p, "history", "outcome", "ignored"), 1);
	assert_int_equal(count_where(p, "commands", "type", "ConfirmBooking"), 0);
	json_decref(p);
	assert_status(f, "b1", "placed");
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.failures, 1);
}

/* ------------------------------------------------------------------------ */
/* Group 2: races, rules, views, options                                    */

/*
 * booking-2.1: a payment and an expiry race, and the payment wins. The
 * client pays 1 ms before the deadline, but the engine only runs two periods
 * later: the expiration process still sees b1 confirmed and sends
 * ExpireBooking, while the process steps the payment and sends
 * SettleBooking. Booking refuses the expiry (b1 is paid) and settles: the
 * instance completes in Settled, the seats stay taken. Once expired, a
 * booking cannot be paid for.
 */
static void payment_races_expiry(void **state)
{
	struct fixture *f = *state;
	const int64_t deadline = T0 + BOOKING_PAYMENT_WINDOW_MS;
	struct stw_stats st;

	place(f, "b1", "c1", "A1", NULL);
	place(f, "b2", "c1", "A2", NULL);
	run(f);
	fx_clock_set(&f->w.clock, deadline - 1);
	pay(f, "b1", PRICE);
	run_at(f, deadline + 2 * EVERY);

	assert_int_equal(f->opts.expirations_found, 2);
	assert_status(f, "b1", "settled");
	assert_instance(f, "b1", "Settled", "completed");
	assert_int_equal(stream_count(f, "Booking", "booking-b1", "BookingExpired"), 0);
	assert_seat(f, "c1", "A1", "b1");
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.commands_rejected, 1);
	assert_int_equal(st.failures, 0);

	assert_status(f, "b2", "expired");
	assert_int_equal(booking_pay(f->w.e, "b2", PRICE, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "expired"));
	assert_int_equal(head(f, "Payments"), 1);
}

/*
 * booking-2.3: a payment at or past the deadline is refused, though the
 * expiration process has not run yet and the booking is still confirmed;
 * 1 ms before, it is taken.
 */
static void payment_past_deadline(void **state)
{
	struct fixture *f = *state;
	const int64_t deadline = T0 + BOOKING_PAYMENT_WINDOW_MS;

	place(f, "b1", "c1", "A1", NULL);
	place(f, "b2", "c1", "A2", NULL);
	run(f);
	fx_clock_set(&f->w.clock, deadline);
	assert_status(f, "b1", "confirmed");
	assert_int_equal(booking_pay(f->w.e, "b1", PRICE, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "past its payment deadline"));
	fx_clock_set(&f->w.clock, deadline + 1);
	assert_int_equal(booking_pay(f->w.e, "b1", PRICE, NULL), STW_EREJECTED);
	assert_int_equal(head(f, "Payments"), 0);
	fx_clock_set(&f->w.clock, deadline - 1);
	pay(f, "b2", PRICE);
	assert_int_equal(head(f, "Payments"), 1);
	run_at(f, deadline + EVERY);
	assert_status(f, "b1", "expired");
	assert_status(f, "b2", "settled");
}

/* One command sent to a service and what must come back. */
struct command_case {
	const char *context;
	const char *type;
	const char *data; /* JSON text */
	int rc;
	const char *message; /* a piece of stw_errmsg() when refused */
};

static const struct command_case command_cases[] = {
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}", STW_EREJECTED,
	  "client" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[]}",
	  STW_EREJECTED, "seats must be" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\",\"Z1\"]}",
	  STW_EREJECTED, "Z1 is listed twice" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\",7]}",
	  STW_EREJECTED, "seat 2" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b1\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}",
	  STW_EREJECTED, "already exists" },
	{ "Booking", "PlaceBooking", "{\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}",
	  STW_EREJECTED, "booking_id" },
	{ "Booking", "ConfirmBooking",
	  "{\"booking_id\":\"b1\",\"price\":4500,\"expires_at\":1700000900000}", STW_EREJECTED,
	  "cannot be confirmed: it is confirmed" },
	{ "Booking", "ConfirmBooking", "{\"booking_id\":\"b4\",\"price\":-1,\"expires_at\":1}",
	  STW_EREJECTED, "price" },
	{ "Booking", "DenyBooking", "{\"booking_id\":\"b1\",\"reason\":\"no\"}", STW_EREJECTED,
	  "cannot be denied: it is confirmed" },
	{ "Booking", "DenyBooking", "{\"booking_id\":\"b4\"}", STW_EREJECTED, "reason" },
	{ "Booking", "SettleBooking", "{\"booking_id\":\"b9\"}", STW_EREJECTED, "does not exist" },
	{ "Booking", "SettleBooking", "{\"booking_id\":\"b4\"}", STW_EREJECTED,
	  "cannot be settled: it is placed" },
	{ "Booking", "ExpireBooking", "{\"booking_id\":\"b4\"}", STW_EREJECTED,
	  "cannot expire: it is placed" },
	{ "Booking", "CancelBooking", "{\"booking_id\":\"b1\"}", STW_EREJECTED, "CancelBooking" },
	{ "Tickets", "ReleaseSeats", "{\"booking_id\":\"b9\",\"concert\":\"c1\"}", STW_EREJECTED,
	  "holds no seat" },
	{ "Tickets", "ReserveSeats", "{\"booking_id\":\"b9\",\"seats\":[\"Z1\"]}", STW_EREJECTED,
	  "concert" },
	{ "Tickets", "ReserveSeats", "{\"booking_id\":\"b9\",\"concert\":\"c1\",\"seats\":\"Z1\"}",
	  STW_EREJECTED, "seats must be" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":100}", STW_EREJECTED,
	  "costs 4500 cents, not 100" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":0}", STW_EREJECTED,
	  "amount" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b4\",\"amount\":4500}", STW_EREJECTED,
	  "cannot be paid: it is placed" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b9\",\"amount\":4500}", STW_EREJECTED,
	  "does not exist" },
	{ "Payments", "RefundBooking", "{\"booking_id\":\"b1\"}", STW_EREJECTED, "RefundBooking" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":4500}", STW_OK, NULL },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":4500}", STW_EREJECTED,
	  "already paid" },
	{ "Booking", "ExpireBooking", "{\"booking_id\":\"b1\"}", STW_EREJECTED, "it is paid" },
};

/*
 * booking-2.2: the services refuse what their rules forbid, each with a
 * reason: missing or invalid fields, a booking placed twice, a confirmation,
 * denial, settlement or expiry that does not fit the booking's status, an
 * unknown command, a release of seats not held, a payment of the wrong
 * amount, of a booking not confirmed or unknown, or paid twice, and the
 * expiry of a paid booking. Only the one valid payment appends an event.
 */
static void rules(void **state)
{
	struct fixture *f = *state;
	const char *many[BOOKING_MAX_SEATS + 2];
	char seat_names[BOOKING_MAX_SEATS + 1][8];
	char long_id[102]; /* one byte over the 100-byte cap on ids */
	int64_t booking_head, tickets_head;

	place(f, "b1", "c1", "A1", NULL);
	run(f);
	place(f, "b4", "c1", "A4", NULL); /* left placed: the engine does not run again */

	for (int i = 0; i <= BOOKING_MAX_SEATS; i++) {
		snprintf(seat_names[i], sizeof seat_names[i], "S%d", i);
		many[i] = seat_names[i];
	}
	many[BOOKING_MAX_SEATS + 1] = NULL;
	assert_int_equal(booking_place(f->w.e, "b6", "ann", "c1", many, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "1 to 16 seat ids"));
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_int_equal(booking_place(f->w.e, long_id, "ann", "c1", many + 1, NULL),
			 STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "at most 100 bytes"));
	booking_head = head(f, "Booking");
	tickets_head = head(f, "Tickets");

	for (size_t i = 0; i < sizeof command_cases / sizeof command_cases[0]; i++) {
		const struct command_case *c = &command_cases[i];
		json_t *data = json_loads(c->data, 0, NULL);
		int rc;

		assert_non_null(data);
		rc = stw_execute(f->w.e, c->context, c->type, data, NULL, NULL, NULL);
		json_decref(data);
		if (rc != c->rc)
			fail_msg("case %zu (%s %s): %s, expected %s: %s", i, c->type, c->data,
				 stw_strerror(rc), stw_strerror(c->rc), stw_errmsg(f->w.e));
		if (c->message != NULL && strstr(stw_errmsg(f->w.e), c->message) == NULL)
			fail_msg("case %zu (%s): message \"%s\" lacks \"%s\"", i, c->type,
				 stw_errmsg(f->w.e), c->message);
	}
	assert_int_equal(head(f, "Booking"), booking_head);
	assert_int_equal(head(f, "Tickets"), tickets_head);
	assert_int_equal(head(f, "Payments"), 1);
}

/*
 * booking-2.3: the views. A confirmed booking shows its client, concert,
 * seats, price and deadline (no reason); a denied one its reason (no price
 * nor deadline); an unknown booking is STW_ENOTFOUND, an invalid id
 * STW_EINVAL, with *out NULL. A concert's seat map names the holder of each
 * taken seat; an unknown concert has an empty map, an invalid one is
 * STW_EINVAL.
 */
static void views(void **state)
{
	struct fixture *f = *state;
	json_t *b, *map = NULL;

	place(f, "b1", "c1", "A1", "A2");
	run(f);
	place(f, "b2", "c1", "A1", NULL);
	run(f);

	b = booking(f, "b1");
	assert_string_equal(str(b, "booking_id"), "b1");
	assert_string_equal(str(b, "client"), "ann");
	assert_string_equal(str(b, "concert"), "c1");
	assert_string_equal(str(b, "status"), "confirmed");
	assert_int_equal(json_array_size(json_object_get(b, "seats")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(b, "seats"), 1)),
			    "A2");
	assert_int_equal(integer(b, "price"), 2 * PRICE);
	assert_int_equal(integer(b, "expires_at"), T0 + BOOKING_PAYMENT_WINDOW_MS);
	assert_true(json_is_null(json_object_get(b, "reason")));
	json_decref(b);

	b = booking(f, "b2");
	assert_string_equal(str(b, "status"), "denied");
	assert_string_equal(str(b, "reason"), "seat A1 of concert c1 is taken");
	assert_true(json_is_null(json_object_get(b, "price")));
	assert_true(json_is_null(json_object_get(b, "expires_at")));
	json_decref(b);

	b = NULL;
	assert_int_equal(booking_get(f->w.e, "b9", &b), STW_ENOTFOUND);
	assert_null(b);
	assert_int_equal(booking_get(f->w.e, "", &b), STW_EINVAL);
	assert_null(b);

	assert_int_equal(booking_seats(f->w.e, "c1", &map), STW_OK);
	assert_int_equal(json_object_size(map), 2);
	assert_string_equal(str(map, "A1"), "b1");
	json_decref(map);
	assert_int_equal(booking_seats(f->w.e, "c9", &map), STW_OK);
	assert_int_equal(json_object_size(map), 0);
	json_decref(map);
	map = NULL;
	assert_int_equal(booking_seats(f->w.e, NULL, &map), STW_EINVAL);
	assert_null(map);
}

/* A one-minute payment window checked every second. */
static const struct booking_options quick = { .payment_window_ms = 60 * 1000,
					      .expire_every_ms = 1000 };

/*
 * booking-2.4: the options. With a one-minute window checked every second,
 * a booking placed at T0 is due at T0 + 60 s and expired by the run of that
 * very second; the expiration process ran once per second moved. A window
 * or period out of range is STW_EINVAL.
 */
static void options(void **state)
{
	struct fixture *f = *state;
	struct booking_options bad = { .payment_window_ms = -1 };
	json_t *b;

	place(f, "b1", "c1", "A1", NULL);
	run(f);
	b = booking(f, "b1");
	assert_int_equal(integer(b, "expires_at"), T0 + 60 * 1000);
	json_decref(b);
	run_at(f, T0 + 59 * 1000);
	assert_status(f, "b1", "confirmed");
	run_at(f, T0 + 60 * 1000);
	assert_status(f, "b1", "expired");
	assert_int_equal(f->opts.expiration_runs, 3);

	assert_int_equal(booking_register(f->w.e, &bad), STW_EINVAL);
	bad.payment_window_ms = 0;
	bad.expire_every_ms = BOOKING_MAX_MS + 1;
	assert_int_equal(booking_register(f->w.e, &bad), STW_EINVAL);
}

/* Whether booking i of the crowd is paid: every other row of seats of each concert. */
static int paid(int i)
{
	return i / 8 % 2 == 0;
}

/*
 * booking-2.5: a crowd. 400 bookings over 8 concerts (one seat each); half of
 * each concert's are paid. One run after the deadline expires the 200 unpaid ones, and only
 * those, in one period; every seat of theirs is free again, every seat of
 * the paid ones still taken.
 */
static void crowd(void **state)
{
	struct fixture *f = *state;
	enum { N = 400, CONCERTS = 8 };
	char id[16], concert[16], seat[16];
	json_t *map;

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		snprintf(concert, sizeof concert, "c%d", i % CONCERTS);
		snprintf(seat, sizeof seat, "S%d", i / CONCERTS);
		place(f, id, concert, seat, NULL);
	}
	run(f);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		if (paid(i))
			pay(f, id, PRICE);
	}
	run(f);
	run_at(f, T0 + BOOKING_PAYMENT_WINDOW_MS);
	assert_int_equal(f->opts.expirations_found, N / 2);
	run_at(f, T0 + BOOKING_PAYMENT_WINDOW_MS + EVERY);
	assert_int_equal(f->opts.expirations_found, N / 2);

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		assert_status(f, id, paid(i) ? "settled" : "expired");
	}
	for (int c = 0; c < CONCERTS; c++) {
		snprintf(concert, sizeof concert, "c%d", c);
		assert_int_equal(booking_seats(f->w.e, concert, &map), STW_OK);
		assert_int_equal(json_object_size(map), N / CONCERTS / 2);
		json_decref(map);
	}
}

/* ------------------------------------------------------------------------ */

#define SCENARIO(name, fn, param)                                                                  \
	{                                                                                          \
		name, fn, setup, fx_teardown, (void *)(param)                                      \
	}

int main(void)
{
	static const struct CMUnitTest scenarios[] = {
		SCENARIO("booking-1.1 placed, confirmed, paid, settled", paid_and_settled, NULL),
		SCENARIO("booking-1.2 seats already taken: denied", seats_taken_denied, NULL),
		SCENARIO("booking-1.3 unpaid: expired at the first period after the deadline",
			 unpaid_expires, NULL),
		SCENARIO("booking-1.4 paid 1 ms before the deadline: never expired",
			 paid_before_deadline, NULL),
		SCENARIO("booking-1.5 the expiration process runs once per period", once_per_period,
			 NULL),
		SCENARIO("booking-1.6 an expiry found in two periods is sent once",
			 found_twice_sent_once, NULL),
		SCENARIO("booking-1.7 a message in a wrong state fails the instance",
			 wrong_state_fails, NULL),
		SCENARIO("booking-2.1 a payment racing an expiry wins", payment_races_expiry, NULL),
		SCENARIO("booking-2.2 the services refuse what their rules forbid", rules, NULL),
		SCENARIO("booking-2.3 a payment at or past the deadline is refused",
			 payment_past_deadline, NULL),
		SCENARIO("booking-2.3 booking and seat views", views, NULL),
		SCENARIO("booking-2.4 the payment window and the period are options", options,
			 &quick),
		SCENARIO("booking-2.5 400 bookings, half of them expired in one run", crowd, NULL),
	};

	return cmocka_run_group_tests_name("booking", scenarios, NULL, NULL);
}
