/*
 * test_booking.c - scenarios of the ticket booking example (seed 003),
 * written with the kit of steward_test.h: a client places a booking of seats
 * at a concert; the process has Tickets reserve them and confirms the booking
 * at their price, or denies it when a seat is taken; the client pays before
 * the deadline and the booking is settled, or the expiration process, which
 * looks at the bookings once per period, expires it and the seats are
 * released. Each scenario runs on a fresh store (a database in its own
 * temporary directory, or a PostgreSQL schema: STEWARD_TEST_STORE=pg) with
 * the kit's virtual clock, which only the scenario moves, and checks what a
 * user can see: instances and their commands, bookings, seat maps, streams,
 * the outbox, counters.
 *
 * Scenarios are numbered like SQLite's tests: booking-<group>.<case>. Group 1
 * is the seed's booking process and its periodic expiration process, group 2
 * the race between a payment and an expiry, the domain rules of the
 * services, the views, the options and a crowd of bookings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward_test.h>

#include "booking.h"
#include "fixture.h"

/* The time every scenario starts at (the first millisecond of an expiration period). */
#define T0 ((int64_t)1700000000000)

/* The deadline of a booking confirmed at T0, the default period and the price of a seat. */
#define DEADLINE (T0 + BOOKING_PAYMENT_WINDOW_MS)
#define EVERY    BOOKING_EXPIRE_EVERY_MS
#define PRICE    BOOKING_SEAT_PRICE

/* The instance's state and status. */
#define EXPECT(t, id, state, status) stw_test_expect_state(t, "booking", id, state, status)

/* What a scenario works with: the example's options and counters, and the fixture's store. */
struct booking_run {
	struct booking_options opts; /* outlives the engine, as booking_register() asks */
	struct fx_world *w;
};

static int setup(struct stw_engine *e, void *ud)
{
	return booking_register(e, &((struct booking_run *)ud)->opts);
}

/*
 * Runs a scenario once on a fresh store of the fixture's at T0, with the
 * example's options `opts` (NULL: the defaults); ud is its struct booking_run.
 */
static void play(int (*scenario)(struct stw_test *t, void *ud), const struct booking_options *opts)
{
	struct fx_world w;
	struct booking_run run = { .w = &w };
	if (opts != NULL)
		run.opts = *opts;
	assert_int_equal(fx_world_init(&w, "booking", T0), 0);
	struct stw_test_options o = { .start_ms = T0, .store = w.db };
	int rc = stw_test_run(&o, 1, setup, &run, scenario, &run);
	assert_int_equal(fx_world_fini(&w), 0);
	assert_int_equal(rc, 0);
}

/* The client ann books one or two seats (s2 may be NULL) of a concert. */
static int place(struct stw_test *t, const char *id, const char *concert, const char *s1,
		 const char *s2)
{
	char data[256];
	snprintf(data, sizeof data,
		 "{\"booking_id\":\"%s\",\"client\":\"ann\",\"concert\":\"%s\",\"seats\":[\"%s\"%s%"
		 "s%s]}",
		 id, concert, s1, s2 ? ",\"" : "", s2 ? s2 : "", s2 ? "\"" : "");
	return stw_test_when(t, "Booking", "PlaceBooking", data, id);
}

static int pay(struct stw_test *t, const char *id, long long amount)
{
	char data[128];
	snprintf(data, sizeof data, "{\"booking_id\":\"%s\",\"amount\":%lld}", id, amount);
	return stw_test_when(t, "Payments", "PayBooking", data, id);
}

/* Moves the clock to `at` and runs what falls due (nothing while held). */
static int run_at(struct stw_test *t, int64_t at)
{
	return stw_test_advance(t, at - stw_test_now(t));
}

static struct stw_stats stats(struct stw_test *t)
{
	struct stw_stats st;
	stw_get_stats(stw_test_engine(t), &st);
	return st;
}

/* Fails unless got holds every field of want_json (null: one that is null); exact: no other. */
static void expect_json(const char *what, json_t *got, const char *want_json, int exact)
{
	json_t *want = json_loads(want_json, 0, NULL);
	assert_non_null(want);
	int holds = !exact || json_object_size(got) == json_object_size(want);
	const char *k;
	json_t *v;
	json_object_foreach(want, k, v)
	{
		holds &= json_equal(json_object_get(got, k), v);
	}
	if (!holds)
		fail_msg("%s is %s, not %s", what, json_dumps(got, JSON_COMPACT), want_json);
	json_decref(want);
}

/* The booking view of id holds the fields of want_json. */
static void expect_booking(struct stw_test *t, const char *id, const char *want_json)
{
	json_t *b = NULL;
	assert_int_equal(booking_get(stw_test_engine(t), id, &b), STW_OK);
	expect_json(id, b, want_json, 0);
	json_decref(b);
}

/* The seat map of a concert is want_json ({seat: booking}), no more. */
static void expect_seats(struct stw_test *t, const char *concert, const char *want_json)
{
	json_t *map = NULL;
	assert_int_equal(booking_seats(stw_test_engine(t), concert, &map), STW_OK);
	expect_json(concert, map, want_json, 1);
	json_decref(map);
}

/* ------------------------------------------------------------------------ */
/* Group 1: the booking process and the expiration process                  */

/*
 * booking-1.1: a booking placed, confirmed, paid and settled. BookingPlaced
 * starts the instance, which asks Tickets for the seats; SeatsReserved
 * confirms the booking at two seats' price with a deadline 15 minutes after
 * the reservation was recorded; the client pays that price and the booking
 * is settled. The instance ends in Settled (completed) having sent
 * ReserveSeats, ConfirmBooking and SettleBooking once each, all delivered,
 * and the seats stay taken by the booking.
 */
static int paid_and_settled(struct stw_test *t, void *ud)
{
	(void)ud;
	place(t, "b1", "c1", "A1", "A2");
	EXPECT(t, "b1", "Confirmed", "active");
	expect_booking(t, "b1",
		       "{\"status\":\"confirmed\",\"price\":9000,\"expires_at\":1700000900000}");
	expect_seats(t, "c1", "{\"A1\":\"b1\",\"A2\":\"b1\"}");

	pay(t, "b1", 2 * PRICE);
	EXPECT(t, "b1", "Settled", "completed");
	stw_test_expect_history(t, "booking", "b1", NULL, "applied", 3);
	stw_test_expect_sent(t, "booking", "b1", NULL, NULL, NULL, 3);
	stw_test_expect_sent(t, "booking", "b1", "Tickets", "ReserveSeats", NULL, 1);
	stw_test_expect_sent(t, "booking", "b1", "Booking", "ConfirmBooking", "{\"price\":9000}",
			     1);
	stw_test_expect_sent(t, "booking", "b1", "Booking", "SettleBooking", NULL, 1);
	stw_test_expect_commands(t, "booking", "b1", "delivered", 3);
	expect_booking(t, "b1", "{\"status\":\"settled\"}");
	expect_seats(t, "c1", "{\"A1\":\"b1\",\"A2\":\"b1\"}");
	stw_test_expect_events(t, "Booking", "booking-b1", NULL,
			       "BookingPlaced BookingConfirmed BookingSettled");
	return stw_test_expect_events(t, "Tickets", "concert-c1", NULL, "SeatsReserved");
}

/*
 * booking-1.2: a booking of a seat already taken is denied. b2 asks for A2
 * (b1's) and A3: Tickets answers SeatsReservationFailed naming A2, the
 * instance ends in Denied (completed) after sending DenyBooking, the booking
 * is denied with that reason, no seat of b2's is taken and b1 keeps its own.
 */
static int seats_taken_denied(struct stw_test *t, void *ud)
{
	(void)ud;
	place(t, "b1", "c1", "A1", "A2");
	place(t, "b2", "c1", "A2", "A3");
	EXPECT(t, "b2", "Denied", "completed");
	stw_test_expect_sent(t, "booking", "b2", "Booking", "DenyBooking", NULL, 1);
	stw_test_expect_sent(t, "booking", "b2", "Booking", "ConfirmBooking", NULL, 0);
	expect_booking(t, "b2",
		       "{\"status\":\"denied\",\"reason\":\"seat A2 of concert c1 is taken\","
		       "\"price\":null}");
	expect_seats(t, "c1", "{\"A1\":\"b1\",\"A2\":\"b1\"}");
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");
	return stw_test_expect_events(t, "Tickets", "concert-c1", NULL,
				      "SeatsReserved SeatsReservationFailed");
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
static int unpaid_expires(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	const int64_t deadline = T0 + 3000 + BOOKING_PAYMENT_WINDOW_MS;
	stw_test_advance(t, 3000);
	place(t, "b1", "c1", "A1", "A2");
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");

	run_at(t, deadline - 1);
	assert_int_equal(r->opts.expirations_found, 0);
	assert_int_equal(stw_test_count_pending(t), 0);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");

	run_at(t, deadline + 1);
	assert_true(deadline / EVERY == (deadline - 1) / EVERY); /* the same period */
	assert_int_equal(r->opts.expirations_found, 0);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");

	run_at(t, (deadline / EVERY + 1) * EVERY);
	assert_int_equal(r->opts.expirations_found, 1);
	expect_booking(t, "b1", "{\"status\":\"expired\"}");
	EXPECT(t, "b1", "Expired", "completed");
	stw_test_expect_sent(t, "booking", "b1", "Tickets", "ReleaseSeats", NULL, 1);
	stw_test_expect_commands(t, "booking", "b1", "delivered", 3);
	stw_test_expect_events(t, "Booking", "booking-b1", NULL,
			       "BookingPlaced BookingConfirmed BookingExpired");
	expect_seats(t, "c1", "{}");

	place(t, "b2", "c1", "A2", "A1");
	EXPECT(t, "b2", "Confirmed", "active");
	expect_seats(t, "c1", "{\"A1\":\"b2\",\"A2\":\"b2\"}");
	return 0;
}

/*
 * booking-1.4: a booking paid 1 ms before its deadline is never expired.
 * It is settled at once; then the clock runs on for several periods past the
 * deadline and the expiration process, which runs in each, finds nothing:
 * no ExpireBooking is sent or refused, and the seats stay taken.
 */
static int paid_before_deadline(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	place(t, "b1", "c1", "A1", NULL);
	run_at(t, DEADLINE - 1);
	pay(t, "b1", PRICE);
	expect_booking(t, "b1", "{\"status\":\"settled\"}");

	uint64_t runs = r->opts.expiration_runs;
	for (int k = 0; k < 4; k++)
		run_at(t, DEADLINE + k * EVERY);
	assert_int_equal(r->opts.expiration_runs, runs + 4);
	assert_int_equal(r->opts.expirations_found, 0);
	expect_booking(t, "b1", "{\"status\":\"settled\"}");
	EXPECT(t, "b1", "Settled", "completed");
	stw_test_expect_events(t, "Booking", "booking-b1", NULL,
			       "BookingPlaced BookingConfirmed BookingSettled");
	expect_seats(t, "c1", "{\"A1\":\"b1\"}");
	assert_int_equal(stats(t).commands_rejected, 0);
	return 0;
}

/*
 * booking-1.5: the expiration process runs once per period. Running the
 * engine again and again within a period, with the clock moving inside it,
 * does not run it again; neither does a restart (the engine closed and
 * opened again on its store) within the period; the next period runs it
 * once; a jump of nine periods runs it once, not once per missed period.
 */
static int once_per_period(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	place(t, "b1", "c1", "A1", NULL);
	assert_int_equal(r->opts.expiration_runs, 1);
	stw_test_advance(t, 0);
	stw_test_advance(t, 0);
	run_at(t, T0 + 5000);
	run_at(t, T0 + EVERY - 1);
	assert_int_equal(r->opts.expiration_runs, 1);

	stw_test_restart(t, 0);
	assert_int_equal(r->opts.expiration_runs, 1);

	run_at(t, T0 + EVERY);
	assert_int_equal(r->opts.expiration_runs, 2);
	stw_test_advance(t, 0);
	stw_test_restart(t, 0);
	assert_int_equal(r->opts.expiration_runs, 2);

	run_at(t, T0 + 10 * EVERY + 1);
	stw_test_advance(t, 0);
	assert_int_equal(r->opts.expiration_runs, 3);
	assert_int_equal(r->opts.expirations_found, 0);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");
	return 0;
}

/*
 * booking-1.6: an expiry found in two consecutive periods is sent once.
 * Another engine on the same store runs only the expiration process (it has
 * no services and leaves the delivery to the scenario's engine: its
 * commands wait in the outbox, delivered_elsewhere): it finds b1 past its
 * deadline in one period and again in the next, and the outbox still holds
 * one ExpireBooking (the command id comes from the booking id). The
 * scenario's engine, in that second period, does not run the process again
 * (the period is recorded in the store) and delivers the one command: b1
 * expires once, no second ExpireBooking is refused.
 */
static int found_twice_sent_once(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	const struct stw_options elsewhere = { .delivered_elsewhere = 1 };
	struct stw_engine *expirer = NULL;
	place(t, "b1", "c1", "A1", NULL);
	assert_int_equal(r->opts.expiration_runs, 1);
	assert_int_equal(fx_open(r->w, NULL, &elsewhere, &expirer), STW_OK);
	assert_int_equal(stw_define_periodic(expirer, &booking_expiration), STW_OK);

	fx_clock_set(&r->w->clock, DEADLINE);
	assert_stw_ok(expirer, stw_run_until_idle(expirer));
	assert_int_equal(stw_test_count_pending(t), 1);
	fx_clock_set(&r->w->clock, DEADLINE + EVERY);
	assert_stw_ok(expirer, stw_run_until_idle(expirer));
	assert_int_equal(stw_test_count_pending(t), 1);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");
	stw_close(expirer);

	struct stw_stats before = stats(t);
	run_at(t, DEADLINE + EVERY);
	assert_int_equal(r->opts.expiration_runs, 1);
	expect_booking(t, "b1", "{\"status\":\"expired\"}");
	EXPECT(t, "b1", "Expired", "completed");
	stw_test_expect_events(t, "Booking", "booking-b1", NULL,
			       "BookingPlaced BookingConfirmed BookingExpired");
	stw_test_expect_sent(t, "booking", "b1", "Tickets", "ReleaseSeats", NULL, 1);
	/* ExpireBooking and ReleaseSeats. */
	assert_int_equal(stats(t).commands_delivered - before.commands_delivered, 2);
	assert_int_equal(stats(t).commands_rejected, before.commands_rejected);
	assert_int_equal(stw_test_count_pending(t), 0);
	expect_seats(t, "c1", "{}");
	return 0;
}

/*
 * booking-1.7: a message the state machine does not accept fails the
 * instance instead of being dropped. A PaymentSucceeded appended by hand
 * (another payment system, say) reaches b1 while it is Reserving: the
 * instance is "failed" with a reason naming the message and the state, its
 * history records the message as failed, the SeatsReserved that follows is
 * recorded as ignored, and the booking is never confirmed.
 */
static int wrong_state_fails(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_hold(t);
	place(t, "b1", "c1", "A1", NULL);
	stw_test_given(t, "Payments", "payment-b1", "PaymentSucceeded", "b1",
		       "{\"booking_id\":\"b1\",\"amount\":4500}");
	stw_test_release(t);

	EXPECT(t, "b1", "Reserving", "failed");
	stw_test_expect_fields(
	    t, "booking", "b1",
	    "{\"reason\":\"PaymentSucceeded is not accepted in state Reserving\"}");
	stw_test_expect_history(t, "booking", "b1", NULL, "failed", 1);
	stw_test_expect_history(t, "booking", "b1", "PaymentSucceeded", NULL, 1);
	stw_test_expect_history(t, "booking", "b1", NULL, "ignored", 1);
	stw_test_expect_history(t, "booking", "b1", "SeatsReserved", "ignored", 1);
	stw_test_expect_sent(t, "booking", "b1", "Booking", "ConfirmBooking", NULL, 0);
	expect_booking(t, "b1", "{\"status\":\"placed\"}");
	assert_int_equal(stats(t).failures, 1);
	return 0;
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
static int payment_races_expiry(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	place(t, "b1", "c1", "A1", NULL);
	place(t, "b2", "c1", "A2", NULL);
	stw_test_hold(t);
	run_at(t, DEADLINE - 1);
	pay(t, "b1", PRICE);
	run_at(t, DEADLINE + 2 * EVERY);
	stw_test_release(t);

	assert_int_equal(r->opts.expirations_found, 2);
	expect_booking(t, "b1", "{\"status\":\"settled\"}");
	EXPECT(t, "b1", "Settled", "completed");
	stw_test_expect_events(t, "Booking", "booking-b1", NULL,
			       "BookingPlaced BookingConfirmed BookingSettled");
	expect_seats(t, "c1", "{\"A1\":\"b1\"}");
	assert_int_equal(stats(t).commands_rejected, 1);
	assert_int_equal(stats(t).failures, 0);

	expect_booking(t, "b2", "{\"status\":\"expired\"}");
	stw_test_expect_refused(t, "Payments", "PayBooking",
				"{\"booking_id\":\"b2\",\"amount\":4500}", NULL, "expired");
	return stw_test_expect_events(t, "Payments", NULL, NULL, "PaymentSucceeded");
}

/* One command sent to a service and the piece of its refusal (NULL: accepted). */
struct command_case {
	const char *context;
	const char *type;
	const char *data; /* JSON text */
	const char *refusal;
};

static const struct command_case command_cases[] = {
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}", "client" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[]}",
	  "seats must be" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\",\"Z1\"]}",
	  "Z1 is listed twice" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b5\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\",7]}",
	  "seat 2" },
	{ "Booking", "PlaceBooking",
	  "{\"booking_id\":\"b1\",\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}",
	  "already exists" },
	{ "Booking", "PlaceBooking", "{\"client\":\"ann\",\"concert\":\"c1\",\"seats\":[\"Z1\"]}",
	  "booking_id" },
	{ "Booking", "ConfirmBooking",
	  "{\"booking_id\":\"b1\",\"price\":4500,\"expires_at\":1700000900000}",
	  "cannot be confirmed: it is confirmed" },
	{ "Booking", "ConfirmBooking", "{\"booking_id\":\"b4\",\"price\":-1,\"expires_at\":1}",
	  "price" },
	{ "Booking", "DenyBooking", "{\"booking_id\":\"b1\",\"reason\":\"no\"}",
	  "cannot be denied: it is confirmed" },
	{ "Booking", "DenyBooking", "{\"booking_id\":\"b4\"}", "reason" },
	{ "Booking", "SettleBooking", "{\"booking_id\":\"b9\"}", "does not exist" },
	{ "Booking", "SettleBooking", "{\"booking_id\":\"b4\"}",
	  "cannot be settled: it is placed" },
	{ "Booking", "ExpireBooking", "{\"booking_id\":\"b4\"}", "cannot expire: it is placed" },
	{ "Booking", "CancelBooking", "{\"booking_id\":\"b1\"}", "CancelBooking" },
	{ "Tickets", "ReleaseSeats", "{\"booking_id\":\"b9\",\"concert\":\"c1\"}",
	  "holds no seat" },
	{ "Tickets", "ReserveSeats", "{\"booking_id\":\"b9\",\"seats\":[\"Z1\"]}", "concert" },
	{ "Tickets", "ReserveSeats", "{\"booking_id\":\"b9\",\"concert\":\"c1\",\"seats\":\"Z1\"}",
	  "seats must be" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":100}",
	  "costs 4500 cents, not 100" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":0}", "amount" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b4\",\"amount\":4500}",
	  "cannot be paid: it is placed" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b9\",\"amount\":4500}", "does not exist" },
	{ "Payments", "RefundBooking", "{\"booking_id\":\"b1\"}", "RefundBooking" },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":4500}", NULL },
	{ "Payments", "PayBooking", "{\"booking_id\":\"b1\",\"amount\":4500}", "already paid" },
	{ "Booking", "ExpireBooking", "{\"booking_id\":\"b1\"}", "it is paid" },
};

/*
 * booking-2.2: the services refuse what their rules forbid, each with a
 * reason: missing or invalid fields, a booking placed twice, a confirmation,
 * denial, settlement or expiry that does not fit the booking's status, an
 * unknown command, a release of seats not held, a payment of the wrong
 * amount, of a booking not confirmed or unknown, or paid twice, and the
 * expiry of a paid booking. A refusal appends nothing: only the one valid
 * payment does. The example's booking_place() checks the number of seats
 * and the length of the id before a command is made.
 */
static int rules(struct stw_test *t, void *ud)
{
	(void)ud;
	const char *many[BOOKING_MAX_SEATS + 2];
	char seat_names[BOOKING_MAX_SEATS + 1][8];
	char long_id[102]; /* one byte over the 100-byte cap on ids */
	place(t, "b1", "c1", "A1", NULL);
	stw_test_hold(t); /* b4 is left placed, the payment of b1 not settled */
	place(t, "b4", "c1", "A4", NULL);

	struct stw_engine *e = stw_test_engine(t);
	for (int i = 0; i <= BOOKING_MAX_SEATS; i++) {
		snprintf(seat_names[i], sizeof seat_names[i], "S%d", i);
		many[i] = seat_names[i];
	}
	many[BOOKING_MAX_SEATS + 1] = NULL;
	assert_int_equal(booking_place(e, "b6", "ann", "c1", many, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(e), "1 to 16 seat ids"));
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_int_equal(booking_place(e, long_id, "ann", "c1", many + 1, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(e), "at most 100 bytes"));
	long booking = stw_test_count_events(t, "Booking", NULL);
	long tickets = stw_test_count_events(t, "Tickets", NULL);

	for (size_t i = 0; i < sizeof command_cases / sizeof command_cases[0]; i++) {
		const struct command_case *c = &command_cases[i];
		int rc = c->refusal == NULL ? stw_test_when(t, c->context, c->type, c->data, NULL)
					    : stw_test_expect_refused(t, c->context, c->type,
								      c->data, NULL, c->refusal);
		if (rc != 0)
			fail_msg("case %zu (%s %s): %s", i, c->type, c->data, stw_test_why(t));
	}
	assert_int_equal(stw_test_count_events(t, "Booking", NULL), booking);
	assert_int_equal(stw_test_count_events(t, "Tickets", NULL), tickets);
	return stw_test_expect_events(t, "Payments", NULL, NULL, "PaymentSucceeded");
}

/*
 * booking-2.3: a payment at or past the deadline is refused, though the
 * expiration process has not run yet and the booking is still confirmed;
 * 1 ms before, it is taken.
 */
static int payment_past_deadline(struct stw_test *t, void *ud)
{
	(void)ud;
	place(t, "b1", "c1", "A1", NULL);
	place(t, "b2", "c1", "A2", NULL);
	stw_test_hold(t);
	run_at(t, DEADLINE - 1);
	pay(t, "b2", PRICE);
	stw_test_expect_events(t, "Payments", NULL, NULL, "PaymentSucceeded");

	run_at(t, DEADLINE);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");
	stw_test_expect_refused(t, "Payments", "PayBooking",
				"{\"booking_id\":\"b1\",\"amount\":4500}", NULL,
				"past its payment deadline");
	run_at(t, DEADLINE + 1);
	stw_test_expect_refused(t, "Payments", "PayBooking",
				"{\"booking_id\":\"b1\",\"amount\":4500}", NULL,
				"past its payment deadline");
	stw_test_expect_events(t, "Payments", NULL, NULL, "PaymentSucceeded");
	stw_test_release(t);

	run_at(t, DEADLINE + EVERY);
	expect_booking(t, "b1", "{\"status\":\"expired\"}");
	expect_booking(t, "b2", "{\"status\":\"settled\"}");
	return 0;
}

/*
 * booking-2.4: the views. A confirmed booking shows its client, concert,
 * seats, price and deadline (no reason); a denied one its reason (no price
 * nor deadline); an unknown booking is STW_ENOTFOUND, an invalid id
 * STW_EINVAL, with *out NULL. A concert's seat map names the holder of each
 * taken seat; an unknown concert has an empty map, an invalid one is
 * STW_EINVAL.
 */
static int views(struct stw_test *t, void *ud)
{
	(void)ud;
	json_t *b = NULL, *map = NULL;
	place(t, "b1", "c1", "A1", "A2");
	place(t, "b2", "c1", "A1", NULL);

	struct stw_engine *e = stw_test_engine(t);
	assert_int_equal(booking_get(e, "b1", &b), STW_OK);
	expect_json("b1", b,
		    "{\"booking_id\":\"b1\",\"client\":\"ann\",\"concert\":\"c1\","
		    "\"seats\":[\"A1\",\"A2\"],\"status\":\"confirmed\",\"price\":9000,"
		    "\"expires_at\":1700000900000,\"reason\":null}",
		    1);
	json_decref(b);
	expect_booking(t, "b2",
		       "{\"status\":\"denied\",\"reason\":\"seat A1 of concert c1 is taken\","
		       "\"price\":null,\"expires_at\":null}");

	b = NULL;
	assert_int_equal(booking_get(e, "b9", &b), STW_ENOTFOUND);
	assert_null(b);
	assert_int_equal(booking_get(e, "", &b), STW_EINVAL);
	assert_null(b);

	expect_seats(t, "c1", "{\"A1\":\"b1\",\"A2\":\"b1\"}");
	expect_seats(t, "c9", "{}");
	assert_int_equal(booking_seats(e, NULL, &map), STW_EINVAL);
	assert_null(map);
	return 0;
}

/* A one-minute payment window checked every second. */
static const struct booking_options quick = { .payment_window_ms = 60 * 1000,
					      .expire_every_ms = 1000 };

/*
 * booking-2.5: the options. With a one-minute window checked every second,
 * a booking placed at T0 is due at T0 + 60 s and expired by the run of that
 * very second; the expiration process ran once per second moved. A window
 * or period out of range is STW_EINVAL.
 */
static int options(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	struct booking_options bad = { .payment_window_ms = -1 };
	place(t, "b1", "c1", "A1", NULL);
	expect_booking(t, "b1", "{\"expires_at\":1700000060000}");
	run_at(t, T0 + 59 * 1000);
	expect_booking(t, "b1", "{\"status\":\"confirmed\"}");
	run_at(t, T0 + 60 * 1000);
	expect_booking(t, "b1", "{\"status\":\"expired\"}");
	assert_int_equal(r->opts.expiration_runs, 3);

	assert_int_equal(booking_register(stw_test_engine(t), &bad), STW_EINVAL);
	bad.payment_window_ms = 0;
	bad.expire_every_ms = BOOKING_MAX_MS + 1;
	assert_int_equal(booking_register(stw_test_engine(t), &bad), STW_EINVAL);
	return 0;
}

/* Whether booking i of the crowd is paid: every other row of seats of each concert. */
static int paid(int i)
{
	return i / 8 % 2 == 0;
}

/*
 * booking-2.6: a crowd. 400 bookings over 8 concerts (one seat each), placed
 * together; half of each concert's are paid. One run after the deadline
 * expires the 200 unpaid ones, and only those, in one period; every seat of
 * theirs is free again, every seat of the paid ones still taken.
 */
static int crowd(struct stw_test *t, void *ud)
{
	struct booking_run *r = ud;
	enum { N = 400, CONCERTS = 8 };
	char id[16], concert[16], seat[16];
	json_t *map = NULL;

	stw_test_hold(t);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		snprintf(concert, sizeof concert, "c%d", i % CONCERTS);
		snprintf(seat, sizeof seat, "S%d", i / CONCERTS);
		place(t, id, concert, seat, NULL);
	}
	stw_test_release(t);
	stw_test_hold(t);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		if (paid(i))
			pay(t, id, PRICE);
	}
	stw_test_release(t);
	run_at(t, DEADLINE);
	assert_int_equal(r->opts.expirations_found, N / 2);
	run_at(t, DEADLINE + EVERY);
	assert_int_equal(r->opts.expirations_found, N / 2);

	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof id, "b%d", i);
		expect_booking(t, id,
			       paid(i) ? "{\"status\":\"settled\"}" : "{\"status\":\"expired\"}");
	}
	for (int c = 0; c < CONCERTS; c++) {
		snprintf(concert, sizeof concert, "c%d", c);
		assert_int_equal(booking_seats(stw_test_engine(t), concert, &map), STW_OK);
		assert_int_equal(json_object_size(map), N / CONCERTS / 2);
		json_decref(map);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */

/* A scenario as cmocka runs it. */
struct scenario {
	int (*fn)(struct stw_test *t, void *ud);
	const struct booking_options *opts; /* NULL: the defaults */
};

static void test_scenario(void **state)
{
	const struct scenario *s = *state;
	play(s->fn, s->opts);
}

#define SCENARIO(name, fn, opts)                                                                   \
	{                                                                                          \
		name, test_scenario, NULL, NULL, (void *)&(const struct scenario)                  \
		{                                                                                  \
			fn, opts                                                                   \
		}                                                                                  \
	}

int main(void)
{
	const struct CMUnitTest scenarios[] = {
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
		SCENARIO("booking-2.4 booking and seat views", views, NULL),
		SCENARIO("booking-2.5 the payment window and the period are options", options,
			 &quick),
		SCENARIO("booking-2.6 400 bookings, half of them expired in one run", crowd, NULL),
	};

	return cmocka_run_group_tests_name("booking", scenarios, NULL, NULL);
}
