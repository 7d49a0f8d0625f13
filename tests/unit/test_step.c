/*
 * test_step.c - the router and the step: instance creation on triggers,
 * transitions, failure, duplicates, uniqueness keys, acknowledgement,
 * unrouted messages, stateless policies, batching and delivery modes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/engine_int.h"
#include "fixture.h"

/* A small process: Begin starts it, Ping keeps it, Finish completes it,
 * Break fails it; Begin's command goes to context Work. */
static int payload_with_index(const struct stw_step_info *si, json_t **out)
{
	*out = json_pack("{s:s, s:O?}", "instance", si->instance_id, "key",
			 json_object_get(si->data, "key"));
	return *out ? STW_OK : STW_ENOMEM;
}

static int payload_fails(const struct stw_step_info *si, json_t **out)
{
	(void)si;
	*out = NULL;
	return STW_EINVAL;
}

static const char *key_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "key");
}

static const struct stw_state_def states[] = {
	{ "Started", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL },
	{ "Broken", STW_STATE_FAILURE },
	{ "Acked", STW_STATE_TERMINAL },
	{ NULL, 0 },
};

static const struct stw_command_def begin_cmds[] = {
	{ "Work", "DoIt", payload_with_index },
	{ "Work", "Log", NULL },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def bad_cmds[] = {
	{ "Work", "Never", payload_fails },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def transitions[] = {
	{ NULL, "Begin", "Started", begin_cmds, NULL, NULL },
	{ "Started", "Ping", NULL, NULL, NULL, NULL },
	{ "Started", "Finish", "Done", NULL, NULL, NULL },
	{ "Started", "Break", "Broken", NULL, NULL, NULL },
	{ "Started", "Poison", "Done", bad_cmds, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

static const char *const sources[] = { "In", NULL };

static const struct stw_definition proc = {
	.name = "proc",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.ack_state = "Acked",
	.unique_key = key_of,
};

/* A stateless policy on the same source. */
static const struct stw_command_def notify_cmds[] = {
	{ "Mail", "Notify", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def policy_transitions[] = {
	{ NULL, "Finish", NULL, notify_cmds, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition policy = {
	.name = "notify",
	.sources = sources,
	.transitions = policy_transitions,
};

/*
 * Each test's world: a fresh database in a temporary directory, with a
 * virtual clock that moves 1 ms at each reading, and the process defined.
 */
/* The step is tested here, not the delivery: no services, and the commands
 * the steps write wait for another engine instead of being parked. */
static const struct stw_options stepping = { .delivered_elsewhere = 1 };

static int setup(void **state)
{
	if (fx_setup(state, "step", 1000, &stepping) != 0)
		return -1;
	struct fx_world *f = *state;
	f->clock.tick = 1;
	assert_stw_ok(f->e, stw_define(f->e, &proc));
	return 0;
}

/* Appends one event to context In with a correlation id and data. */
static void emit(struct fx_world *f, const char *id, const char *type, const char *corr,
		 json_t *data)
{
	struct stw_event ev = {
		.id = id, .type = type, .stream = "s", .correlation_id = corr, .data = data
	};
	assert_int_equal(stw_append(f->e, "In", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(data);
}

static json_t *get(struct fx_world *f, const char *id)
{
	json_t *o = NULL;
	int rc = stw_get_instance(f->e, "proc", id, &o);
	assert_int_equal(rc, STW_OK);
	return o;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t pending_commands(struct fx_world *f)
{
	int64_t n = -1;
	assert_int_equal(STW__S(f->e->store, outbox_pending_count, &n), STW_OK);
	return n;
}

/* step-1.1: a trigger creates the instance in the trigger's state, version 1,
 * with a history row and its commands in the outbox under deterministic ids. */
static void test_trigger_creates_instance(void **state)
{
	struct fx_world *f = *state;
	int64_t t0 = f->clock.now;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	int64_t t1 = f->clock.now;
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "state"), "Started");
	assert_string_equal(str(o, "status"), "active");
	assert_string_equal(str(o, "unique_key"), "k1");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
	assert_string_equal(str(json_object_get(o, "data"), "key"), "k1");
	json_t *h = json_object_get(o, "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(str(json_array_get(h, 0), "outcome"), "applied");
	assert_true(json_is_null(json_object_get(json_array_get(h, 0), "from")));
	assert_string_equal(str(json_array_get(h, 0), "to"), "Started");
	json_t *c = json_object_get(o, "commands");
	assert_int_equal(json_array_size(c), 2);
	char expect[33];
	const char *parts[3] = { "proc", "p1", "e1" };
	/* Led by the time the trigger was recorded (12 hex digits), then the hash. */
	int64_t at = stw__id_order(str(json_array_get(c, 0), "id"));
	assert_true(at >= t0 && at < t1);
	stw__derive_id(expect, at, parts, 3, 0);
	assert_string_equal(str(json_array_get(c, 0), "id"), expect);
	assert_string_equal(str(json_array_get(c, 0), "type"), "DoIt");
	json_t *d = json_object_get(json_array_get(c, 0), "data");
	assert_string_equal(str(d, "instance"), "p1");
	/* A command without a payload callback carries a copy of the instance data. */
	assert_string_equal(str(json_object_get(json_array_get(c, 1), "data"), "key"), "k1");
	assert_string_equal(str(json_array_get(c, 1), "status"), "pending");
	json_decref(o);
}

/* step-1.2: a terminal state completes the instance; staying transitions keep the state. */
static void test_transitions_to_completion(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Ping", "p1", NULL);
	emit(f, "e3", "Finish", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "state"), "Done");
	assert_string_equal(str(o, "status"), "completed");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 3);
	json_t *h = json_object_get(o, "history");
	assert_int_equal(json_array_size(h), 3);
	assert_string_equal(str(json_array_get(h, 1), "from"), "Started");
	assert_string_equal(str(json_array_get(h, 1), "to"), "Started");
	assert_string_equal(str(json_array_get(h, 2), "to"), "Done");
	json_decref(o);
	/* A message for a completed instance is recorded, not applied. */
	emit(f, "e4", "Ping", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	o = get(f, "p1");
	h = json_object_get(o, "history");
	assert_int_equal(json_array_size(h), 4);
	assert_string_equal(str(json_array_get(h, 3), "outcome"), "ignored");
	assert_string_equal(str(o, "status"), "completed");
	json_decref(o);
}

/* step-1.3: a message the state machine does not accept fails the instance
 * with a reason; later unaccepted messages are recorded without a new failure. */
static void test_unaccepted_message_fails(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e3", "Begin", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "status"), "failed");
	assert_string_equal(str(o, "state"), "Started");
	assert_non_null(strstr(str(o, "reason"), "Begin is not accepted in state Started"));
	json_t *h = json_object_get(o, "history");
	assert_int_equal(json_array_size(h), 3);
	assert_string_equal(str(json_array_get(h, 1), "outcome"), "failed");
	assert_string_equal(str(json_array_get(h, 2), "outcome"), "ignored");
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.failures, 1);
	json_decref(o);
}

/* step-1.4: a failure state fails the instance; acknowledging ends it, moves it
 * to the ack state and frees its key so that a new instance can take it. */
static void test_failure_state_and_acknowledge(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Break", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "state"), "Broken");
	assert_string_equal(str(o, "status"), "failed");
	json_decref(o);
	/* While failed, the key is held: a new trigger is rejected. */
	emit(f, "e3", "Begin", "p2", json_pack("{s:s}", "key", "k1"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	o = get(f, "p2");
	assert_string_equal(str(o, "status"), "rejected");
	assert_non_null(strstr(str(o, "reason"), "held by instance p1"));
	json_decref(o);
	assert_int_equal(stw_acknowledge(f->e, NULL, "p2", NULL), STW_ESTATE);
	assert_int_equal(stw_acknowledge(f->e, NULL, "p1", "seen by ops"), STW_OK);
	assert_int_equal(stw_acknowledge(f->e, NULL, "p1", NULL), STW_ESTATE);
	o = get(f, "p1");
	assert_string_equal(str(o, "status"), "acknowledged");
	assert_string_equal(str(o, "state"), "Acked");
	json_t *h = json_object_get(o, "history");
	json_t *last = json_array_get(h, json_array_size(h) - 1);
	assert_string_equal(str(last, "outcome"), "acknowledged");
	assert_string_equal(str(last, "reason"), "seen by ops");
	json_decref(o);
	emit(f, "e4", "Begin", "p3", json_pack("{s:s}", "key", "k1"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	o = get(f, "p3");
	assert_string_equal(str(o, "status"), "active");
	json_decref(o);
	assert_int_equal(stw_acknowledge(f->e, NULL, "nope", NULL), STW_ENOTFOUND);
}

/* step-1.5: two triggers with the same key in ONE batch: the second is rejected. */
static void test_unique_key_in_one_batch(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "doc"));
	emit(f, "e2", "Begin", "p2", json_pack("{s:s}", "key", "doc"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p2");
	assert_string_equal(str(o, "status"), "rejected");
	assert_int_equal(json_array_size(json_object_get(o, "commands")), 0);
	json_decref(o);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.rejected, 1);
}

/* step-1.6: re-reading the same events (cursor rewound, as after a crash
 * before the cursor save) changes nothing: duplicates are recognised. */
static void test_redelivered_events_are_duplicates(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Ping", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	int64_t before = pending_commands(f);
	assert_int_equal(stw_set_cursor(f->e, "proc", "In", 0), STW_OK);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(o, "history")), 2);
	json_decref(o);
	assert_int_equal(pending_commands(f), before);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.duplicates, 2);
	int64_t cur = 0;
	assert_int_equal(stw_get_cursor(f->e, "proc", "In", &cur), STW_OK);
	assert_int_equal(cur, 2);
}

/* step-1.7: messages that reach no instance are recorded as unrouted; types
 * the definition does not take are skipped and the cursor still advances. */
static void test_unrouted_and_skipped(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Ping", "ghost", NULL);
	emit(f, "e2", "Begin", NULL, json_pack("{s:s}", "key", "k"));
	emit(f, "e3", "SomethingElse", "x", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *u = NULL;
	assert_int_equal(stw_list_unrouted(f->e, "proc", 0, &u), STW_OK);
	assert_int_equal(json_array_size(u), 2);
	/* newest first */
	assert_non_null(strstr(str(json_array_get(u, 0), "reason"), "no correlation id"));
	assert_non_null(strstr(str(json_array_get(u, 1), "reason"), "no instance ghost"));
	json_decref(u);
	int64_t cur = 0;
	assert_int_equal(stw_get_cursor(f->e, "proc", "In", &cur), STW_OK);
	assert_int_equal(cur, 3);
	json_t *l = NULL;
	assert_int_equal(stw_list_instances(f->e, NULL, &l), STW_OK);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
}

/* step-1.8: a failing payload callback writes no command and fails the instance. */
static void test_payload_failure(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Poison", "p1", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "status"), "failed");
	assert_string_equal(str(o, "state"), "Started");
	assert_non_null(strstr(str(o, "reason"), "payload of Work.Never failed"));
	assert_int_equal(json_array_size(json_object_get(o, "commands")), 2);
	json_decref(o);
}

/* step-1.9: a stateless policy writes commands only; re-reading does not
 * duplicate them (the command id is derived from the event). */
static void test_stateless_policy(void **state)
{
	struct fx_world *f = *state;
	assert_int_equal(stw_define(f->e, &policy), STW_OK);
	emit(f, "e1", "Finish", "c1", NULL);
	emit(f, "e2", "Finish", "c2", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	assert_int_equal(pending_commands(f), 2);
	assert_int_equal(stw_set_cursor(f->e, "notify", "In", 0), STW_OK);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	assert_int_equal(pending_commands(f), 2);
	json_t *l = NULL;
	assert_int_equal(
	    stw_list_instances(f->e, &(struct stw_instance_filter){ .definition = "notify" }, &l),
	    STW_OK);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
}

/*
 * step-1.10: many events share a transaction: 1000 triggers with batch 100
 * commit in 11. The first round after opening is a small round's transaction,
 * whose batches share a sixteenth of batch_size (6); the rounds after a large
 * one take full batches.
 */
static void test_batching(void **state)
{
	struct fx_world *f = *state;
	struct stw_options batch = { .batch_size = 100, .delivered_elsewhere = 1 };
	assert_stw_ok(NULL, fx_reopen(f, &batch));
	assert_int_equal(stw_define(f->e, &proc), STW_OK);
	for (int i = 0; i < 1000; i++) {
		char id[32], corr[32];
		snprintf(id, sizeof(id), "e%d", i);
		snprintf(corr, sizeof(corr), "p%d", i);
		emit(f, id, "Begin", corr, json_pack("{s:s}", "key", corr));
	}
	int did = 0;
	assert_int_equal(stw_run_once(f->e, &did), STW_OK);
	assert_int_equal(did, 6);
	for (int i = 0; i < 9; i++) {
		/* Without services the dispatcher has nothing to do: each round is one step batch.
		 */
		assert_int_equal(stw_run_once(f->e, &did), STW_OK);
		assert_int_equal(did, 100);
	}
	assert_int_equal(stw_run_once(f->e, &did), STW_OK);
	assert_int_equal(did, 94);
	assert_int_equal(stw_run_once(f->e, &did), STW_OK);
	assert_int_equal(did, 0);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.transactions, 11);
	assert_int_equal(st.steps, 1000);
	json_t *l = NULL;
	assert_int_equal(
	    stw_list_instances(
		f->e, &(struct stw_instance_filter){ .status = "active", .limit = 2000 }, &l),
	    STW_OK);
	assert_int_equal(json_array_size(l), 1000);
	json_decref(l);
}

/* Child of the delivery-mode tests: steps until the failpoint, then dies. */
static const char *die_at;
static void die_cb(const char *name, void *ud)
{
	(void)ud;
	if (die_at != NULL && strcmp(name, die_at) == 0)
		_exit(0);
}

static void crash_child(struct fx_world *f, const struct stw_definition *def, const char *point)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct stw_engine *e = NULL;
		die_at = point;
		struct stw_options o = { .failpoint = die_cb, .delivered_elsewhere = 1 };
		if (fx_open(f, NULL, &o, &e) != STW_OK || stw_define(e, def) != STW_OK)
			_exit(3);
		if (stw_run_until_idle(e) != STW_OK)
			_exit(5);
		_exit(4); /* the failpoint was not reached */
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* step-2.1: at-least-once: dying before the step commits loses nothing; the
 * restarted engine handles the event. */
static void test_at_least_once_survives_crash(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	stw_close(f->e);
	crash_child(f, &proc, "step.before_commit");
	assert_stw_ok(NULL, fx_world_open(f, &stepping));
	assert_int_equal(stw_define(f->e, &proc), STW_OK);
	int64_t cur = -1;
	assert_int_equal(stw_get_cursor(f->e, "proc", "In", &cur), STW_OK);
	assert_int_equal(cur, 0);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p1");
	assert_string_equal(str(o, "state"), "Started");
	json_decref(o);
}

/* step-2.2: at-most-once: the cursor is saved first, so dying after it loses
 * the event for this definition (by design: notifications). */
static void test_at_most_once_loses_on_crash(void **state)
{
	struct fx_world *f = *state;
	struct stw_definition amo = proc;
	amo.delivery = STW_AT_MOST_ONCE;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	stw_close(f->e);
	crash_child(f, &amo, "step.after_cursor");
	assert_stw_ok(NULL, fx_world_open(f, &stepping));
	assert_int_equal(stw_define(f->e, &amo), STW_OK);
	int64_t cur = -1;
	assert_int_equal(stw_get_cursor(f->e, "proc", "In", &cur), STW_OK);
	assert_int_equal(cur, 1);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = NULL;
	assert_int_equal(stw_get_instance(f->e, "proc", "p1", &o), STW_ENOTFOUND);
}

/* step-3.1: inconsistent definitions are refused with a message naming the problem. */
static void test_define_validation(void **state)
{
	struct fx_world *f = *state;
	static const struct stw_transition_def unknown_state[] = {
		{ NULL, "Begin", "Nowhere", NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL }
	};
	static const struct stw_transition_def twice[] = {
		{ NULL, "Begin", "Started", NULL, NULL, NULL },
		{ "Started", "Ping", NULL, NULL, NULL, NULL },
		{ "Started", "Ping", "Done", NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	static const struct stw_transition_def no_trigger[] = {
		{ "Started", "Ping", NULL, NULL, NULL, NULL },
		{ NULL, NULL, NULL, NULL, NULL, NULL }
	};
	struct stw_definition d = proc;
	d.name = "d1";
	d.transitions = unknown_state;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "unknown state Nowhere"));
	d.transitions = twice;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "two transitions"));
	d.transitions = no_trigger;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "no trigger"));
	d = proc;
	d.name = "bad name!";
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_int_equal(stw_define(f->e, &proc), STW_EEXIST);
	d = proc;
	d.name = "d2";
	d.ack_state = "Nope";
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
}

/* step-3.2: instance lookup by id alone works when unambiguous and says so when not. */
static void test_lookup_by_id(void **state)
{
	struct fx_world *f = *state;
	struct stw_definition other = proc;
	other.name = "proc2";
	assert_int_equal(stw_define(f->e, &other), STW_OK);
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = NULL;
	assert_int_equal(stw_get_instance(f->e, NULL, "p1", &o), STW_EAMBIGUOUS);
	assert_null(o);
	assert_int_equal(stw_get_instance(f->e, "proc2", "p1", &o), STW_OK);
	json_decref(o);
	assert_int_equal(stw_get_instance(f->e, NULL, "missing", &o), STW_ENOTFOUND);
	assert_int_equal(stw_get_instance(f->e, NULL, "", &o), STW_EINVAL);
}

/* step-1.15: one batch sees its own changes to uniqueness keys: an instance
 * that completes in the batch releases its key to a trigger later in the same
 * batch, whether the key was taken in an earlier batch or in this one. */
static void test_key_released_and_taken_in_one_batch(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "doc"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	/* The key is held in the store; the batch completes p1, then p2 takes it. */
	emit(f, "e2", "Finish", "p1", NULL);
	emit(f, "e3", "Begin", "p2", json_pack("{s:s}", "key", "doc"));
	/* Taken and released within this batch, then taken again. */
	emit(f, "e4", "Begin", "p3", json_pack("{s:s}", "key", "other"));
	emit(f, "e5", "Finish", "p3", NULL);
	emit(f, "e6", "Begin", "p4", json_pack("{s:s}", "key", "other"));
	emit(f, "e7", "Begin", "p5", json_pack("{s:s}", "key", "other"));
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	static const struct {
		const char *id, *status;
		int version;
	} want[] = {
		{ "p1", "completed", 2 }, { "p2", "active", 1 },   { "p3", "completed", 2 },
		{ "p4", "active", 1 },    { "p5", "rejected", 1 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		json_t *o = get(f, want[i].id);
		assert_string_equal(str(o, "status"), want[i].status);
		assert_int_equal(json_integer_value(json_object_get(o, "version")),
				 want[i].version);
		json_decref(o);
	}
	json_t *o = get(f, "p5");
	assert_non_null(strstr(str(o, "reason"), "held by instance p4"));
	json_decref(o);
	struct stw_stats st;
	stw_get_stats(f->e, &st);
	assert_int_equal(st.rejected, 1);
}

/* step-1.16: a redelivered message found in the middle of a batch (after a new
 * one) is a duplicate, and the new message is applied exactly once: the
 * statistics count one step and one duplicate, the data is kept. */
static void test_duplicate_after_new_message_in_one_batch(void **state)
{
	struct fx_world *f = *state;
	emit(f, "e1", "Begin", "p1", json_pack("{s:s}", "key", "k1"));
	emit(f, "e2", "Begin", "p2", json_pack("{s:s, s:i}", "key", "k2", "n", 7));
	assert_int_equal(stw_set_cursor(f->e, "proc", "In", 1), STW_OK);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	struct stw_stats st0, st1;
	stw_get_stats(f->e, &st0);
	assert_int_equal(st0.steps, 1);
	assert_int_equal(stw_set_cursor(f->e, "proc", "In", 0), STW_OK);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	stw_get_stats(f->e, &st1);
	assert_int_equal(st1.steps, 2);
	assert_int_equal(st1.duplicates, 1);
	for (int i = 1; i <= 2; i++) {
		char id[8];
		snprintf(id, sizeof(id), "p%d", i);
		json_t *o = get(f, id);
		assert_int_equal(json_integer_value(json_object_get(o, "version")), 1);
		assert_int_equal(json_array_size(json_object_get(o, "history")), 1);
		json_decref(o);
	}
	assert_int_equal(pending_commands(f), 4);
	/* A transition that does not touch the data keeps it as it was. */
	emit(f, "e3", "Ping", "p2", NULL);
	assert_int_equal(stw_run_until_idle(f->e), STW_OK);
	json_t *o = get(f, "p2");
	assert_int_equal(json_integer_value(json_object_get(o, "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "data"), "n")), 7);
	assert_string_equal(str(json_object_get(o, "data"), "key"), "k2");
	json_decref(o);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_trigger_creates_instance),
		T(test_transitions_to_completion),
		T(test_unaccepted_message_fails),
		T(test_failure_state_and_acknowledge),
		T(test_unique_key_in_one_batch),
		T(test_redelivered_events_are_duplicates),
		T(test_unrouted_and_skipped),
		T(test_payload_failure),
		T(test_stateless_policy),
		T(test_batching),
		T(test_at_least_once_survives_crash),
		T(test_at_most_once_loses_on_crash),
		T(test_define_validation),
		T(test_lookup_by_id),
		T(test_key_released_and_taken_in_one_batch),
		T(test_duplicate_after_new_message_in_one_batch),
	};
#undef T
	return cmocka_run_group_tests_name("step", tests, NULL, NULL);
}
