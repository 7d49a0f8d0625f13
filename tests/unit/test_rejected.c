/*
 * test_rejected.c - a rejected command told to the instance that sent it
 * (src/core/rejected.c): the STW_COMMAND_REJECTED message, delivered in the
 * transaction that records the refusal, from in-process services and remote
 * ones; a definition without a transition for it fails with the reason, one
 * with a transition follows it; an ended instance only records it; a
 * person's redelivery has the service judge it again, and a refusal told
 * again changes nothing; an engine without the definition
 * cannot tell (and says so); the type cannot be a trigger nor come from a
 * source context.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"

/* ------------------------------------------------------------------------ */
/* Definitions                                                              */

static const struct stw_state_def states[] = {
	{ "Requested", STW_STATE_ACTIVE },
	{ "Charged", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const char *const sources[] = { "In", NULL };

/* "strict": sends Bank.Charge and has no transition for a refusal. */
static const struct stw_command_def charge[] = {
	{ "Bank", "Charge", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def strict_transitions[] = {
	{ NULL, "StrictRequested", "Requested", charge, NULL, NULL },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition strict = {
	.name = "strict",
	.sources = sources,
	.states = states,
	.transitions = strict_transitions,
};

/* "careful": a refusal of its charge leads to Refused, keeping what it was told. */
static const struct stw_state_def careful_states[] = {
	{ "Requested", STW_STATE_ACTIVE },
	{ "Charged", STW_STATE_TERMINAL },
	{ "Refused", STW_STATE_FAILURE },
	{ NULL, 0 },
};
static int keep_refusal(const struct stw_step_info *si)
{
	return json_object_set(si->data, "refusal", si->event->data) == 0 ? STW_OK : STW_ENOMEM;
}
static const struct stw_transition_def careful_transitions[] = {
	{ NULL, "CarefulRequested", "Requested", charge, NULL, NULL },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ "Requested", STW_COMMAND_REJECTED, "Refused", NULL, keep_refusal, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition careful = {
	.name = "careful",
	.sources = sources,
	.states = careful_states,
	.transitions = careful_transitions,
};

/* "wired": sends its charge to the remote context Wire; no transition for a refusal. */
static const struct stw_command_def wire_charge[] = {
	{ "Wire", "Charge", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def wired_transitions[] = {
	{ NULL, "WiredRequested", "Requested", wire_charge, NULL, NULL },
	{ "Requested", "Charged", "Charged", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition wired = {
	.name = "wired",
	.sources = sources,
	.states = states,
	.transitions = wired_transitions,
};

/* ------------------------------------------------------------------------ */
/* Services and helpers                                                     */

/* The in-process Bank: refuses every charge while closed. */
struct bank {
	int open;
	int calls;
	char last_id[STW_MAX_ID];
};

static int bank_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct bank *b = ud;
	b->calls++;
	snprintf(b->last_id, sizeof(b->last_id), "%s", cmd->id);
	return b->open ? STW_OK : stw_reject(sc, "the bank is closed");
}

/* The remote Wire: refuses every charge. */
static void wire_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)ud;
	for (size_t i = 0; i < n; i++) {
		batch[i].outcome = STW_EREJECTED;
		snprintf(batch[i].error, sizeof(batch[i].error), "HTTP 422: account frozen");
	}
}

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	struct bank bank;
	char log[1024]; /* the last warning logged */
};

static void on_log(enum stw_log_level level, const char *msg, void *ud)
{
	if (level == STW_LOG_WARN)
		snprintf(((struct fixture *)ud)->log, sizeof(((struct fixture *)ud)->log), "%s",
			 msg);
}

static int setup(void **state)
{
	if (fx_new(state, sizeof(struct fixture), "rejected", FX_T0) != 0)
		return -1;
	struct fixture *f = *state;
	struct stw_options o = { .log = on_log, .log_ud = f };
	struct stw_remote_def wire = { .send = wire_send };
	assert_stw_ok(NULL, fx_world_open(&f->w, &o));
	struct stw_engine *e = f->w.e;
	assert_stw_ok(e, stw_define(e, &strict));
	assert_stw_ok(e, stw_define(e, &careful));
	assert_stw_ok(e, stw_define(e, &wired));
	assert_stw_ok(e, stw_register_service(e, "Bank", bank_handler, &f->bank));
	assert_stw_ok(e, stw_register_remote(e, "Wire", &wire));
	return 0;
}

static void append(struct stw_engine *e, const char *id, const char *type, const char *corr)
{
	struct stw_event ev = { .id = id, .type = type, .stream = corr, .correlation_id = corr };
	assert_stw_ok(e, stw_append(e, "In", STW_ANY_VERSION, &ev, 1, NULL));
}

static void run(struct stw_engine *e)
{
	assert_stw_ok(e, stw_run_until_idle(e));
}

static json_t *instance(struct fixture *f, const char *def, const char *id)
{
	json_t *o = NULL;
	assert_stw_ok(f->w.e, stw_get_instance(f->w.e, def, id, &o));
	return o;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The last row of an instance's history (borrowed from o). */
static json_t *last_history(json_t *o)
{
	json_t *h = json_object_get(o, "history");
	return json_array_get(h, json_array_size(h) - 1);
}

/* The number of history rows of o about a rejected command. */
static int told(json_t *o)
{
	size_t i;
	json_t *row;
	int n = 0;
	json_array_foreach(json_object_get(o, "history"), i, row) n +=
	    strcmp(str(row, "message_type"), STW_COMMAND_REJECTED) == 0;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                    */

/* rejected-1: an in-process refusal fails an instance that has no transition
 * for it, with the refusal as the reason, in its history as in its row. */
static void test_refusal_fails_the_instance(void **state)
{
	struct fixture *f = *state;
	append(f->w.e, "e1", "StrictRequested", "p1");
	run(f->w.e);
	assert_int_equal(f->bank.calls, 1);
	char want[512];
	snprintf(want, sizeof(want), "Charge %s to Bank was rejected: the bank is closed",
		 f->bank.last_id);
	json_t *o = instance(f, "strict", "p1");
	assert_string_equal(str(o, "status"), "failed");
	assert_string_equal(str(o, "state"), "Requested");
	assert_string_equal(str(o, "reason"), want);
	json_t *h = last_history(o);
	assert_string_equal(str(h, "message_type"), STW_COMMAND_REJECTED);
	assert_string_equal(str(h, "context"), "Bank");
	assert_string_equal(str(h, "outcome"), "failed");
	assert_string_equal(str(h, "reason"), want);
	json_t *c = json_array_get(json_object_get(o, "commands"), 0);
	assert_string_equal(str(c, "status"), "rejected");
	assert_string_equal(str(c, "error"), "the bank is closed");
	json_decref(o);
}

/* rejected-2: a definition with a transition for it follows the transition;
 * the message carries the command's id, type, context and the reason. */
static void test_refusal_takes_a_transition(void **state)
{
	struct fixture *f = *state;
	append(f->w.e, "e1", "CarefulRequested", "p1");
	run(f->w.e);
	json_t *o = instance(f, "careful", "p1");
	assert_string_equal(str(o, "state"), "Refused");
	assert_string_equal(str(o, "status"), "failed");
	assert_string_equal(str(o, "reason"), "CommandRejected: the bank is closed");
	json_t *r = json_object_get(json_object_get(o, "data"), "refusal");
	assert_string_equal(str(r, "command_id"), f->bank.last_id);
	assert_string_equal(str(r, "command_type"), "Charge");
	assert_string_equal(str(r, "context"), "Bank");
	assert_string_equal(str(r, "reason"), "the bank is closed");
	assert_string_equal(str(last_history(o), "outcome"), "applied");
	json_decref(o);
}

/* rejected-3: an instance that ended before the refusal came stays as it is;
 * its history records the refusal as ignored. */
static void test_ended_instance_only_records(void **state)
{
	struct fixture *f = *state;
	append(f->w.e, "e1", "StrictRequested", "p1");
	append(f->w.e, "e2", "Charged", "p1");
	run(f->w.e);
	json_t *o = instance(f, "strict", "p1");
	assert_string_equal(str(o, "status"), "completed");
	json_t *h = last_history(o);
	assert_string_equal(str(h, "message_type"), STW_COMMAND_REJECTED);
	assert_string_equal(str(h, "outcome"), "ignored");
	json_decref(o);
}

/* rejected-4: a remote service's refusal is told the same way. */
static void test_remote_refusal(void **state)
{
	struct fixture *f = *state;
	append(f->w.e, "e1", "WiredRequested", "p1");
	run(f->w.e);
	json_t *o = instance(f, "wired", "p1");
	assert_string_equal(str(o, "status"), "failed");
	assert_non_null(
	    strstr(str(o, "reason"), " to Wire was rejected: HTTP 422: account frozen"));
	assert_string_equal(str(last_history(o), "context"), "Wire");
	json_decref(o);
}

/* rejected-5: a person may redeliver a rejected command: it is pending again
 * under its own id and the in-process service's dedup table forgets the
 * refusal, so the handler judges it again. Refused again, it is not told
 * twice: the instance keeps its first reason and one history row. Applied
 * the next time, it is delivered. Only a parked or rejected command is
 * redelivered, and a rejected one is not skipped. */
static void test_redelivered_and_told_once(void **state)
{
	struct fixture *f = *state;
	append(f->w.e, "e1", "StrictRequested", "p1");
	run(f->w.e);
	json_t *o = instance(f, "strict", "p1");
	char reason[512];
	snprintf(reason, sizeof(reason), "%s", str(o, "reason"));
	json_decref(o);
	char id[STW_MAX_ID];
	snprintf(id, sizeof(id), "%s", f->bank.last_id);
	assert_int_equal(stw_skip_command(f->w.e, id, NULL), STW_ESTATE);
	struct stw_stats before, after;
	stw_get_stats(f->w.e, &before);
	assert_stw_ok(f->w.e, stw_retry_command(f->w.e, id));
	json_t *c = NULL;
	assert_stw_ok(f->w.e, stw_get_command(f->w.e, id, &c));
	assert_string_equal(str(c, "status"), "pending");
	assert_true(json_is_null(json_object_get(c, "error")));
	json_decref(c);
	run(f->w.e);
	assert_int_equal(f->bank.calls, 2);
	assert_string_equal(f->bank.last_id, id);
	stw_get_stats(f->w.e, &after);
	assert_int_equal(after.duplicates, before.duplicates + 1);
	assert_int_equal(after.failures, before.failures);
	o = instance(f, "strict", "p1");
	assert_string_equal(str(o, "reason"), reason);
	assert_int_equal(told(o), 1);
	json_decref(o);

	f->bank.open = 1;
	assert_stw_ok(f->w.e, stw_retry_command(f->w.e, id));
	run(f->w.e);
	assert_int_equal(f->bank.calls, 3);
	assert_stw_ok(f->w.e, stw_get_command(f->w.e, id, &c));
	assert_string_equal(str(c, "status"), "delivered");
	json_decref(c);
	assert_int_equal(stw_retry_command(f->w.e, id), STW_ESTATE);
	assert_non_null(strstr(stw_errmsg(f->w.e), "is delivered, not parked or rejected"));
}

/* rejected-6: an engine that delivers a command without the definition that
 * sent it registered cannot tell the instance: it records the refusal and
 * logs why the instance was not told. */
static void test_unregistered_definition_is_logged(void **state)
{
	struct fixture *f = *state;
	struct stw_engine *writer = NULL, *bank = NULL;
	struct bank closed = { 0 };
	struct stw_options o = { .log = on_log, .log_ud = f };
	const struct stw_options elsewhere = { .delivered_elsewhere = 1 };
	assert_stw_ok(NULL, fx_open(&f->w, "split.db", &elsewhere, &writer));
	assert_stw_ok(writer, stw_define(writer, &strict));
	append(writer, "e1", "StrictRequested", "p1");
	run(writer);
	assert_stw_ok(NULL, fx_open(&f->w, "split.db", &o, &bank));
	assert_stw_ok(bank, stw_register_service(bank, "Bank", bank_handler, &closed));
	run(bank);
	assert_int_equal(closed.calls, 1);
	assert_non_null(strstr(f->log, "instance p1 is not told: definition strict"));
	json_t *i = NULL;
	assert_stw_ok(writer, stw_get_instance(writer, "strict", "p1", &i));
	assert_string_equal(str(i, "status"), "active");
	assert_int_equal(told(i), 0);
	json_decref(i);
	stw_close(bank);
	stw_close(writer);
}

/* rejected-7: the type is the engine's: a definition cannot be started by it,
 * and an event of that type in a source context does not reach the instance. */
static void test_type_is_reserved(void **state)
{
	struct fixture *f = *state;
	static const struct stw_transition_def bad_transitions[] = {
		{ NULL, STW_COMMAND_REJECTED, "Requested", NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	static const struct stw_definition bad = {
		.name = "bad",
		.sources = sources,
		.states = states,
		.transitions = bad_transitions,
	};
	assert_int_equal(stw_define(f->w.e, &bad), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->w.e), "CommandRejected cannot be a trigger"));

	f->bank.open = 1;
	append(f->w.e, "e1", "CarefulRequested", "p1");
	append(f->w.e, "e2", STW_COMMAND_REJECTED, "p1");
	run(f->w.e);
	json_t *o = instance(f, "careful", "p1");
	assert_string_equal(str(o, "status"), "active");
	assert_int_equal(told(o), 0);
	json_decref(o);
	json_t *u = NULL;
	assert_stw_ok(f->w.e, stw_list_unrouted(f->w.e, "careful", 0, &u));
	assert_int_equal(json_array_size(u), 1);
	assert_non_null(strstr(str(json_array_get(u, 0), "reason"), "rejected command"));
	json_decref(u);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_refusal_fails_the_instance),
		T(test_refusal_takes_a_transition),
		T(test_ended_instance_only_records),
		T(test_remote_refusal),
		T(test_redelivered_and_told_once),
		T(test_unregistered_definition_is_logged),
		T(test_type_is_reserved),
	};
#undef T
	return cmocka_run_group_tests_name("rejected", tests, NULL, NULL);
}
