/*
 * test_remote.c - commands to remote contexts through a transport: the
 * answer's events appended with the delivery, retries after a backoff with
 * jitter, parking after the last attempt and a person's retry or skip,
 * refusals, answers that cannot be stored, queued commands, and delivery on
 * a separate engine. The transport is a fake that answers from a script; the
 * clock is virtual.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/engine_int.h"
#include "fixture.h"

/* A charge: Requested sends Charge to the remote Bank; Bank's Charged
 * completes it; a refusal of the charge keeps it waiting in Requested (for a
 * person to redeliver the charge, or cancel). */
static const struct stw_state_def states[] = {
	{ "Requested", STW_STATE_ACTIVE },
	{ "Charged", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def charge[] = {
	{ "Bank", "Charge", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "PaymentRequested", "Requested", charge, NULL, NULL },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ "Requested", STW_COMMAND_REJECTED, NULL, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", "Bank", NULL };
static const struct stw_definition payments = {
	.name = "payments",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* What the fake service does on each call. */
enum answer { ANSWER_CHARGED, ANSWER_EMPTY, ANSWER_DOWN, ANSWER_REFUSE, ANSWER_GARBAGE };

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	enum answer answer;
	int calls;     /* commands handed to the transport */
	int max_batch; /* the largest batch seen */
	char last_id[STW_MAX_ID];
	int last_attempt;
	struct stw_remote_def remote;
};

static void fake_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	struct fixture *f = ud;
	if ((int)n > f->max_batch)
		f->max_batch = (int)n;
	for (size_t i = 0; i < n; i++) {
		struct stw_delivery_attempt *a = &batch[i];
		f->calls++;
		snprintf(f->last_id, sizeof(f->last_id), "%s", a->cmd->id);
		f->last_attempt = a->attempt;
		switch (f->answer) {
		case ANSWER_CHARGED:
			a->outcome = STW_OK;
			a->events =
			    json_pack("[{s:s, s:s, s:{s:s}}]", "type", "Charged", "stream",
				      "charge-1", "data", "payment",
				      json_string_value(json_object_get(a->cmd->data, "payment")));
			break;
		case ANSWER_EMPTY:
			a->outcome = STW_OK;
			break;
		case ANSWER_DOWN:
			a->outcome = STW_EUNAVAILABLE;
			snprintf(a->error, sizeof(a->error), "HTTP 503 on attempt %d", a->attempt);
			break;
		case ANSWER_REFUSE:
			a->outcome = STW_EREJECTED;
			snprintf(a->error, sizeof(a->error), "card expired");
			break;
		case ANSWER_GARBAGE:
			a->outcome = STW_OK;
			a->events = json_pack("[{s:i}]", "type", 7);
			break;
		}
	}
}

/* Opens the world's engine (again) with the payments and the remote Bank. */
static int open_engine(struct fixture *f, int separate)
{
	struct stw_options o = { .separate_remote_delivery = separate };
	int rc = fx_world_open(&f->w, &o);
	if (rc == STW_OK)
		rc = stw_define(f->w.e, &payments);
	if (rc == STW_OK)
		rc = stw_register_remote(f->w.e, "Bank", &f->remote);
	return rc;
}

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "remote", 1000000) != 0)
		return -1;
	struct fixture *f = *state;
	f->remote = (struct stw_remote_def){ .send = fake_send,
					     .ud = f,
					     .max_attempts = 4,
					     .backoff_ms = 1000,
					     .backoff_max_ms = 4000 };
	assert_stw_ok(f->w.e, open_engine(f, 0));
	return 0;
}

/* Starts payment `id` (the event's correlation id names the instance). */
static void request(struct fixture *f, const char *id)
{
	char eid[64];
	snprintf(eid, sizeof(eid), "req-%s", id);
	struct stw_event ev = { .id = eid,
				.type = "PaymentRequested",
				.stream = id,
				.correlation_id = id,
				.data = json_pack("{s:s}", "payment", id) };
	assert_int_equal(stw_append(f->w.e, "In", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
}

static json_t *instance(struct fixture *f, const char *id)
{
	json_t *o = NULL;
	assert_int_equal(stw_get_instance(f->w.e, "payments", id, &o), STW_OK);
	return o;
}

static const char *field(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The only command of an instance (a new reference). */
static json_t *command_of(struct fixture *f, const char *id)
{
	json_t *o = instance(f, id);
	json_t *cmds = json_object_get(o, "commands");
	assert_int_equal(json_array_size(cmds), 1);
	json_t *c = json_incref(json_array_get(cmds, 0));
	json_decref(o);
	return c;
}

static int count_events(const struct stw_event *ev, void *ud)
{
	(void)ev;
	(*(int *)ud)++;
	return 0;
}

/* event_get's callback: the position of the event found. */
static int position_cb(const struct stw__event_row *row, void *ud)
{
	*(int64_t *)ud = row->position;
	return 1;
}

static int bank_events(struct fixture *f)
{
	int n = 0, read = 0;
	assert_int_equal(stw_read(f->w.e, "Bank", 0, 1000, count_events, &n, &read), STW_OK);
	return n;
}

/* remote-1: the service's answer is appended to its context with the delivery,
 * with an id derived from the command, the command as cause and the process's
 * correlation id; the process completes. */
static void test_answer_events_drive_the_process(void **state)
{
	struct fixture *f = *state;
	request(f, "p1");
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 1);
	assert_int_equal(f->last_attempt, 1);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "state"), "Charged");
	assert_string_equal(field(o, "status"), "completed");
	json_t *c = json_array_get(json_object_get(o, "commands"), 0);
	assert_string_equal(field(c, "status"), "delivered");
	assert_int_equal(json_integer_value(json_object_get(c, "attempts")), 1);
	char cmd_id[STW_MAX_ID];
	snprintf(cmd_id, sizeof(cmd_id), "%s", field(c, "id"));
	json_decref(o);

	char derived[33];
	const char *parts[3] = { "event", "Bank", cmd_id };
	stw__derive_id(derived, stw__id_order(cmd_id), parts, 3, 0);
	int64_t pos = 0;
	assert_int_equal(STW__S(f->w.e->store, event_get, derived, position_cb, &pos), STW_OK);
	assert_int_equal(pos, 1);
	struct stw_stats st;
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.remote_attempts, 1);
	assert_int_equal(st.remote_failures, 0);
}

/* remote-2: an answer that arrives again after a redelivery (a crash between
 * the answer and its record) appends nothing twice. */
static void test_repeated_answer_is_a_no_op(void **state)
{
	struct fixture *f = *state;
	request(f, "p1");
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(bank_events(f), 1);
	/* Put the command back as if its record had been lost. */
	assert_int_equal(STW__S0(f->w.e->store, begin), STW_OK);
	assert_int_equal(
	    STW__S(f->w.e->store, outbox_attempted, f->last_id, "pending", NULL, 1, 0, 0), STW_OK);
	assert_int_equal(STW__S0(f->w.e->store, commit), STW_OK);
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 2);
	assert_int_equal(f->last_attempt, 2);
	assert_int_equal(bank_events(f), 1);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
}

/* remote-2b: an event id derived for a service's answer, posted in advance
 * with other content, is not taken for the answer's event: the command is
 * parked with the conflict named (not "delivered" with its event missing),
 * and the process does not move on a missing event. */
static void test_squatted_answer_id_parks(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_DOWN;
	request(f, "p1");
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 1);
	char derived[33];
	const char *parts[3] = { "event", "Bank", f->last_id };
	stw__derive_id(derived, stw__id_order(f->last_id), parts, 3, 0);
	struct stw_event squat = { .id = derived,
				   .type = "Charged",
				   .stream = "charge-1",
				   .data = json_pack("{s:s}", "payment", "someone-else") };
	assert_int_equal(stw_append(f->w.e, "Bank", STW_ANY_VERSION, &squat, 1, NULL), STW_OK);
	json_decref(squat.data);

	f->answer = ANSWER_CHARGED;
	fx_clock_advance(&f->w.clock, 60000);
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 2);
	json_t *c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "parked");
	assert_non_null(strstr(field(c, "error"), derived));
	json_decref(c);
	assert_int_equal(bank_events(f), 1);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "active");
	json_decref(o);
}

/* remote-3: a failing service is tried again after 1 s, 2 s, 4 s, 4 s (each
 * less a random part of at most half), not before; a round with nothing due
 * is idle; the next attempt time is visible and the next delivery is known. */
static void test_backoff_doubles_with_jitter_up_to_the_ceiling(void **state)
{
	struct fixture *f = *state;
	f->remote.max_attempts = 10;
	stw_close(f->w.e);
	assert_int_equal(open_engine(f, 0), STW_OK);
	f->answer = ANSWER_DOWN;
	request(f, "p1");
	const int64_t ceilings[] = { 1000, 2000, 4000, 4000, 4000 };
	for (int i = 0; i < 5; i++) {
		assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
		assert_int_equal(f->calls, i + 1);
		json_t *c = command_of(f, "p1");
		assert_string_equal(field(c, "status"), "pending");
		assert_int_equal(json_integer_value(json_object_get(c, "attempts")), i + 1);
		char want[64];
		snprintf(want, sizeof(want), "HTTP 503 on attempt %d", i + 1);
		assert_string_equal(field(c, "error"), want);
		int64_t next = json_integer_value(json_object_get(c, "next_attempt_at"));
		json_decref(c);
		assert_true(next - f->w.clock.now >= ceilings[i] / 2);
		assert_true(next - f->w.clock.now <= ceilings[i]);
		int64_t due = 0;
		assert_int_equal(stw_next_delivery(f->w.e, &due), STW_OK);
		assert_int_equal(due, next);
		/* Not due yet: nothing is sent. */
		fx_clock_set(&f->w.clock, next - 1);
		int did = -1;
		assert_int_equal(stw_run_once(f->w.e, &did), STW_OK);
		assert_int_equal(did, 0);
		assert_int_equal(f->calls, i + 1);
		fx_clock_set(&f->w.clock, next);
	}
	f->answer = ANSWER_CHARGED;
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
	struct stw_stats st;
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.remote_attempts, 6);
	assert_int_equal(st.remote_failures, 5);
}

/* Moves the clock past every retry delay and runs until nothing is due. */
static void run_through_retries(struct fixture *f)
{
	for (int i = 0; i < 20; i++) {
		assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
		fx_clock_advance(&f->w.clock, 5000);
	}
}

/* remote-4: after its last attempt a command is parked with the last error and
 * is not tried again; a person's retry starts its attempts afresh and, once
 * the service is back, the process completes. */
static void test_parked_then_retried_by_a_person(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_DOWN;
	request(f, "p1");
	run_through_retries(f);
	assert_int_equal(f->calls, 4);
	json_t *c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "parked");
	assert_string_equal(field(c, "error"), "HTTP 503 on attempt 4");
	char id[STW_MAX_ID];
	snprintf(id, sizeof(id), "%s", field(c, "id"));
	json_decref(c);
	int64_t due = 0;
	assert_int_equal(stw_next_delivery(f->w.e, &due), STW_ENOTFOUND);
	json_t *parked = NULL;
	assert_int_equal(stw_list_commands(f->w.e, NULL, 0, &parked), STW_OK);
	assert_int_equal(json_array_size(parked), 1);
	assert_string_equal(field(json_array_get(parked, 0), "id"), id);
	assert_string_equal(field(json_array_get(parked, 0), "instance_id"), "p1");
	json_decref(parked);
	struct stw_stats st;
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.commands_parked, 1);

	f->answer = ANSWER_CHARGED;
	assert_int_equal(stw_retry_command(f->w.e, id), STW_OK);
	assert_int_equal(stw_retry_command(f->w.e, id), STW_ESTATE); /* pending now */
	assert_non_null(strstr(stw_errmsg(f->w.e), "not parked"));
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 5);
	assert_int_equal(f->last_attempt, 1);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
	assert_int_equal(stw_list_commands(f->w.e, "parked", 10, &parked), STW_OK);
	assert_int_equal(json_array_size(parked), 0);
	json_decref(parked);
}

/* remote-5: a person may skip a parked command: it is never delivered and the
 * note is its error; skipping or retrying it again is refused. */
static void test_skip_a_parked_command(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_DOWN;
	request(f, "p1");
	run_through_retries(f);
	json_t *c = command_of(f, "p1");
	char id[STW_MAX_ID];
	snprintf(id, sizeof(id), "%s", field(c, "id"));
	json_decref(c);
	assert_int_equal(stw_skip_command(f->w.e, id, "charged by phone"), STW_OK);
	assert_int_equal(stw_skip_command(f->w.e, id, NULL), STW_ESTATE);
	assert_int_equal(stw_retry_command(f->w.e, id), STW_ESTATE);
	f->answer = ANSWER_CHARGED;
	run_through_retries(f);
	assert_int_equal(f->calls, 4);
	json_t *cmd = NULL;
	assert_int_equal(stw_get_command(f->w.e, id, &cmd), STW_OK);
	assert_string_equal(field(cmd, "status"), "skipped");
	assert_string_equal(field(cmd, "error"), "charged by phone");
	json_decref(cmd);
	assert_int_equal(stw_get_command(f->w.e, "nope", &cmd), STW_ENOTFOUND);
	assert_int_equal(stw_retry_command(f->w.e, "nope"), STW_ENOTFOUND);
	assert_int_equal(stw_retry_command(f->w.e, "bad\nid"), STW_EINVAL);
	assert_int_equal(stw_list_commands(f->w.e, "lost", 0, &cmd), STW_EINVAL);
}

/* remote-6: a refusal is recorded once with the service's reason and not
 * retried, and the instance hears of it (here it keeps waiting); a person may
 * redeliver it: it goes out again under the same id, as a first attempt, and
 * this time the service applies it. */
static void test_refusal_is_not_retried(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_REFUSE;
	request(f, "p1");
	run_through_retries(f);
	assert_int_equal(f->calls, 1);
	json_t *c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "rejected");
	assert_string_equal(field(c, "error"), "card expired");
	char id[STW_MAX_ID];
	snprintf(id, sizeof(id), "%s", field(c, "id"));
	json_decref(c);
	struct stw_stats st;
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.commands_rejected, 1);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "active");
	json_t *h = json_object_get(o, "history");
	json_t *told = json_array_get(h, json_array_size(h) - 1);
	assert_string_equal(field(told, "message_type"), STW_COMMAND_REJECTED);
	assert_string_equal(field(told, "outcome"), "applied");
	json_decref(o);

	f->answer = ANSWER_CHARGED;
	assert_stw_ok(f->w.e, stw_retry_command(f->w.e, id));
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 2);
	assert_string_equal(f->last_id, id);
	assert_int_equal(f->last_attempt, 1);
	c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "delivered");
	json_decref(c);
	o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
}

/* remote-7: an answer whose events cannot be stored parks the command at once
 * (the service acted; a person must look) and stores none of them. */
static void test_unstorable_answer_parks(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_GARBAGE;
	request(f, "p1");
	run_through_retries(f);
	assert_int_equal(f->calls, 1);
	json_t *c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "parked");
	assert_non_null(strstr(field(c, "error"), "answer cannot be stored"));
	json_decref(c);
	assert_int_equal(bank_events(f), 0);
}

/* remote-8: an empty answer delivers the command; the events come later (posted
 * by the service), and the process moves then. */
static void test_events_posted_later(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_EMPTY;
	request(f, "p1");
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	json_t *c = command_of(f, "p1");
	assert_string_equal(field(c, "status"), "delivered");
	json_decref(c);
	json_t *o = instance(f, "p1");
	assert_string_equal(field(o, "state"), "Requested");
	json_decref(o);
	struct stw_event ev = {
		.id = "charged-1", .type = "Charged", .stream = "charge-1", .correlation_id = "p1"
	};
	const struct stw_append_group g = { STW_NO_STREAM, &ev, 1 };
	assert_int_equal(stw_append_batch(f->w.e, "Bank", &g, 1, NULL, NULL), STW_OK);
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	o = instance(f, "p1");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
}

/* remote-9: stw_send queues a command for a remote context with the given ids;
 * a second send with the same id is a no-op; unknown contexts are refused. */
static void test_send_queues_for_delivery(void **state)
{
	struct fixture *f = *state;
	f->answer = ANSWER_EMPTY;
	json_t *d = json_pack("{s:s}", "payment", "x");
	char id[STW_MAX_ID];
	assert_int_equal(stw_send(f->w.e, "Bank", "Refund", d, "refund-1", "corr-1", id), STW_OK);
	assert_string_equal(id, "refund-1");
	assert_int_equal(stw_send(f->w.e, "Bank", "Refund", d, "refund-1", NULL, NULL), STW_OK);
	assert_int_equal(stw_send(f->w.e, "Nowhere", "Refund", d, NULL, NULL, NULL), STW_ENOTFOUND);
	assert_int_equal(stw_send(f->w.e, "Bank", "bad type", d, NULL, NULL, NULL), STW_EINVAL);
	json_decref(d);
	int64_t pending = 0;
	assert_int_equal(stw_pending_commands(f->w.e, &pending), STW_OK);
	assert_int_equal(pending, 1);
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 1);
	assert_string_equal(f->last_id, "refund-1");
	json_t *c = NULL;
	assert_int_equal(stw_get_command(f->w.e, "refund-1", &c), STW_OK);
	assert_string_equal(field(c, "status"), "delivered");
	assert_string_equal(field(c, "correlation_id"), "corr-1");
	json_decref(c);
}

/* remote-10: with separate_remote_delivery, stepping never calls the transport;
 * stw_deliver_remote (another thread's engine) does, in batches. */
static void test_separate_delivery(void **state)
{
	struct fixture *f = *state;
	stw_close(f->w.e);
	f->remote.batch = 2;
	assert_int_equal(open_engine(f, 1), STW_OK);
	for (int i = 0; i < 5; i++) {
		char id[16];
		snprintf(id, sizeof(id), "p%d", i);
		request(f, id);
	}
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	assert_int_equal(f->calls, 0);
	int n = 0, total = 0;
	do {
		assert_int_equal(stw_deliver_remote(f->w.e, &n), STW_OK);
		total += n;
	} while (n > 0);
	assert_int_equal(total, 5);
	assert_int_equal(f->max_batch, 2);
	assert_int_equal(stw_run_until_idle(f->w.e), STW_OK);
	json_t *o = instance(f, "p4");
	assert_string_equal(field(o, "status"), "completed");
	json_decref(o);
}

/* remote-11: registration is checked: no transport, a taken context, bad settings. */
static void test_register_checks(void **state)
{
	struct fixture *f = *state;
	struct stw_remote_def r = { .send = fake_send };
	assert_int_equal(stw_register_remote(f->w.e, "Bank", &r), STW_EEXIST);
	assert_int_equal(stw_register_remote(f->w.e, "Other", &(struct stw_remote_def){ 0 }),
			 STW_EINVAL);
	r.backoff_ms = -1;
	assert_int_equal(stw_register_remote(f->w.e, "Other", &r), STW_EINVAL);
	r.backoff_ms = 0;
	assert_int_equal(stw_register_remote(f->w.e, "bad name", &r), STW_EINVAL);
	assert_int_equal(stw_register_remote(f->w.e, "Other", &r), STW_OK);
	json_t *ctx = NULL;
	assert_int_equal(stw_list_contexts(f->w.e, &ctx), STW_OK);
	size_t i;
	json_t *c;
	int remotes = 0;
	json_array_foreach(ctx, i, c) remotes += json_is_true(json_object_get(c, "remote"));
	assert_int_equal(remotes, 2);
	json_decref(ctx);
}

/* remote-12: a batch append spans streams atomically: a stale version in the
 * second group stores nothing of the first and names the group at fault. */
static void test_append_batch_is_atomic(void **state)
{
	struct fixture *f = *state;
	struct stw_event a = { .id = "a1", .type = "Charged", .stream = "s-a" };
	struct stw_event b = { .id = "b1", .type = "Charged", .stream = "s-b" };
	struct stw_append_group g[2] = { { STW_NO_STREAM, &a, 1 }, { 3, &b, 1 } };
	long failed = -2;
	assert_int_equal(stw_append_batch(f->w.e, "Bank", g, 2, NULL, &failed), STW_ECONFLICT);
	assert_int_equal(failed, 1);
	assert_int_equal(bank_events(f), 0);
	g[1].expected_version = STW_NO_STREAM;
	int64_t pos[2] = { 0, 0 };
	assert_int_equal(stw_append_batch(f->w.e, "Bank", g, 2, pos, &failed), STW_OK);
	assert_int_equal(failed, -1);
	assert_int_equal(pos[0], 1);
	assert_int_equal(pos[1], 2);
	/* The same ids again: a no-op that answers their positions. */
	g[0].expected_version = 7;
	pos[0] = pos[1] = 0;
	assert_int_equal(stw_append_batch(f->w.e, "Bank", g, 2, pos, NULL), STW_OK);
	assert_int_equal(pos[1], 2);
	assert_int_equal(bank_events(f), 2);
	int64_t v = 0;
	assert_int_equal(stw_stream_version(f->w.e, "Bank", "s-b", &v), STW_OK);
	assert_int_equal(v, 1);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_answer_events_drive_the_process),
		T(test_repeated_answer_is_a_no_op),
		T(test_squatted_answer_id_parks),
		T(test_backoff_doubles_with_jitter_up_to_the_ceiling),
		T(test_parked_then_retried_by_a_person),
		T(test_skip_a_parked_command),
		T(test_refusal_is_not_retried),
		T(test_unstorable_answer_parks),
		T(test_events_posted_later),
		T(test_send_queues_for_delivery),
		T(test_separate_delivery),
		T(test_register_checks),
		T(test_append_batch_is_atomic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
