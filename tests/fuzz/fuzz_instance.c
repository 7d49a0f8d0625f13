/*
 * fuzz_instance.c - a stored process instance as the engine loads it
 * (src/core/instance.c): its row as the store hands it back (state and
 * status words, the data's JSON text, uniqueness key, reason, versions) and
 * an event of its source context (type and data text), written straight
 * into the store as a damaged or hostile database could hold them. Then the
 * engine works on them: a step routes the event to the instance (loading
 * it, parsing its data, running the machine and the definition's callbacks,
 * writing it back), due timers fire, the instance is read (stw_get_instance,
 * stw_list_instances, stw_list_interventions), and a person acknowledges,
 * cancels or retries it. All inside one transaction that is rolled back
 * after each input, on an in-memory store opened once.
 *
 * Input: lines STATE, STATUS, KEY, REASON, "VERSION ENTERED", EVENT TYPE,
 * EVENT DATA, OPERATION ("ack", "cancel", "retry STATE" or anything else:
 * none), NOTE (an empty KEY, REASON or NOTE: none), then the instance's
 * data text.
 *
 * Proves: no stored row crashes the engine, leaks or reaches undefined
 * behaviour; what it cannot read is refused (STW_ESTORE and the like), not
 * trusted; an instance it shows has its data (what is not JSON shows as
 * {}); and the transaction leaves nothing behind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/definition.h"
#include "core/engine_int.h"
#include "core/step.h"
#include "core/txn.h"
#include "core/timers.h"
#include "fuzz.h"

#define FIXED_NOW ((int64_t)1700000000000)
#define SOURCE    "Src"
#define ID        "fz-1"

static int64_t fixed_now(void *ud)
{
	(void)ud;
	return FIXED_NOW;
}

/* An integer of the data, or 0. */
static json_int_t data_int(const json_t *data, const char *key)
{
	return json_integer_value(json_object_get(data, key));
}

/* Step: counts the steps in the data and keeps the event's note; fails on {"fail": true}. */
static int count_update(const struct stw_step_info *si)
{
	if (json_is_true(json_object_get(si->event->data, "fail")))
		return STW_EINVAL;
	json_int_t n = data_int(si->data, "count");
	if (json_object_set_new(si->data, "count", json_integer(n < 1000000 ? n + 1 : 0)) != 0)
		return STW_ENOMEM;
	json_t *note = json_object_get(si->event->data, "note");
	if (json_is_string(note) &&
	    json_object_set_new(si->data, "last", json_deep_copy(note)) != 0)
		return STW_ENOMEM;
	return STW_OK;
}

/* Check {count, key}: from the instance's data. */
static int check_payload(const struct stw_step_info *si, json_t **payload)
{
	*payload = json_pack("{s:I, s:O?}", "count", data_int(si->data, "count"), "key",
			     json_object_get(si->data, "key"));
	return *payload ? STW_OK : STW_ENOMEM;
}

/* The Ring timer: due after the data's due_in (ms, may be anything). */
static int ring_due(const struct stw_step_info *si, int64_t *due_ms)
{
	json_int_t in = data_int(si->data, "due_in");
	if (in < -FIXED_NOW || in > FIXED_NOW)
		return STW_EINVAL;
	*due_ms += in;
	return STW_OK;
}

static const char *key_of(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "key");
}

static int work(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)sc;
	(void)cmd;
	(void)ud;
	return STW_OK;
}

static const char *const sources[] = { SOURCE, NULL };
static const struct stw_state_def states[] = {
	{ "Open", STW_STATE_ACTIVE },   { "Waiting", STW_STATE_ACTIVE },
	{ "Done", STW_STATE_TERMINAL }, { "Broken", STW_STATE_FAILURE },
	{ "Stuck", STW_STATE_MANUAL },  { "Acked", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};
static const struct stw_command_def work_commands[] = {
	{ "Work", "Do", NULL }, /* a copy of the data */
	{ "Work", "Check", check_payload },
	{ NULL, NULL, NULL },
};
static const struct stw_timer_def ring[] = { { "Ring", 0, ring_due }, { NULL, 0, NULL } };
static const struct stw_transition_def transitions[] = {
	{ NULL, "Opened", "Open", NULL, NULL, NULL },
	{ "Open", "Step", "Waiting", work_commands, count_update, ring },
	{ "Open", "Fail", "Broken", NULL, NULL, NULL },
	{ "Waiting", "Ring", "Stuck", NULL, NULL, NULL },
	{ "Waiting", "Finish", "Done", NULL, NULL, NULL },
	{ "Waiting", "Fail", "Broken", NULL, NULL, NULL },
	{ "Broken", "Compensated", NULL, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition definition = {
	.name = "fz",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
	.ack_state = "Acked",
	.unique_key = key_of,
};

static const struct stw_clock clock_def = { fixed_now, NULL };

/* The engine, opened once; closed at exit. */
static struct stw_engine *engine;
static int64_t warm_head; /* the source's head after the warm-up */

static void close_engine(void)
{
	stw_close(engine);
	engine = NULL;
}

/*
 * Opens the engine and steps one instance ("warm") through the source
 * once, so that the step's first-batch bookkeeping (the durable attempt
 * count) is behind it and every later step stays inside the transaction.
 */
static void open_engine(void)
{
	struct stw_options o = { .clock = &clock_def, .synchronous = 0 };
	FZ_CHECK(stw_open(":memory:", &o, &engine) == STW_OK);
	FZ_CHECK(stw_register_service(engine, "Work", work, NULL) == STW_OK);
	FZ_CHECK(stw_define(engine, &definition) == STW_OK);
	json_t *data = json_pack("{s:s}", "key", "warm-key"), *meta = json_object();
	struct stw_event ev = { .id = "warm-opened",
				.type = "Opened",
				.stream = "warm",
				.correlation_id = "warm",
				.data = data,
				.metadata = meta };
	FZ_CHECK(stw_append(engine, SOURCE, 0, &ev, 1, NULL) == STW_OK);
	json_decref(data);
	json_decref(meta);
	FZ_CHECK(stw_run_until_idle(engine) == STW_OK);
	FZ_CHECK(stw_head(engine, SOURCE, &warm_head) == STW_OK);
	atexit(close_engine);
}

/* Reads the instance back as a person would; checks it shows its data. */
static void inspect(struct stw_engine *e)
{
	json_t *o = NULL;
	if (stw_get_instance(e, "fz", ID, &o) == STW_OK)
		FZ_CHECK(json_object_get(o, "data") != NULL);
	json_decref(o);
	struct stw_instance_filter f = { .definition = "fz" };
	o = NULL;
	if (stw_list_instances(e, &f, &o) == STW_OK)
		FZ_CHECK(json_is_array(o));
	json_decref(o);
	o = NULL;
	if (stw_list_interventions(e, 10, &o) == STW_OK)
		FZ_CHECK(json_is_array(o));
	json_decref(o);
}

/* A person's operation on the instance, as line OPERATION asks. */
static void operate(struct stw_engine *e, const char *op, const char *note)
{
	if (op == NULL)
		return;
	int rc = STW_OK;
	if (strcmp(op, "ack") == 0)
		rc = stw_acknowledge(e, "fz", ID, note);
	else if (strcmp(op, "cancel") == 0)
		rc = stw_cancel(e, "fz", ID, note);
	else if (strncmp(op, "retry ", 6) == 0)
		rc = stw_retry(e, "fz", ID, op + 6, note);
	FZ_CHECK(rc <= 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (engine == NULL)
		open_engine();
	struct fz_input in;
	fz_split(data, size, 9, &in);
	struct stw_engine *e = engine;
	struct stw__store *s = e->store;
	long long version = 1, entered = 1;
	if (in.line[4] != NULL)
		sscanf(in.line[4], "%lld %lld", &version, &entered);
	struct stw__instance_row row = {
		.definition = "fz",
		.id = ID,
		.state = in.line[0] ? in.line[0] : "Open",
		.status = in.line[1] ? in.line[1] : "active",
		.data = in.rest,
		.unique_key = fz_header(&in, 2),
		.reason = fz_header(&in, 3),
		.version = version,
		.created_at = FIXED_NOW,
		.updated_at = FIXED_NOW,
		.entered_version = entered,
	};
	struct stw__event_row ev = {
		.context = SOURCE,
		.id = "fz-event",
		.type = in.line[5] ? in.line[5] : "Step",
		.stream = "fz",
		.correlation_id = ID,
		.data = in.line[6] ? in.line[6] : "{}",
		.metadata = "{}",
		.recorded_at = FIXED_NOW,
	};
	int64_t pos = 0, sv = 0, head = 0;
	FZ_CHECK(stw_begin(e) == STW_OK);
	FZ_CHECK(stw__begin(e) == STW_OK); /* the store's transaction: every write goes in it */
	if (STW__S(s, instance_insert, &row) == STW_OK &&
	    STW__S(s, append, &ev, &pos, &sv) == STW_OK) {
		int n = 0, fired = 0;
		(void)stw__step_batch(e, stw__find_def(e, "fz"), SOURCE, &n);
		(void)stw__fire_timers(e, stw__find_def(e, "fz"), &fired);
		inspect(e);
		operate(e, fz_header(&in, 7), fz_header(&in, 8));
		inspect(e);
	}
	FZ_CHECK(stw__rollback(e) == STW_OK);
	FZ_CHECK(stw_rollback(e) == STW_OK);
	FZ_CHECK(!STW__S0(s, in_transaction));
	FZ_CHECK(stw_head(e, SOURCE, &head) == STW_OK && head == warm_head);
	fz_free(&in);
	return 0;
}
