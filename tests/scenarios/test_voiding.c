/*
 * test_voiding.c - scenarios of the voiding example, driven through the
 * public API only: each runs on a fresh store (a database in its own
 * temporary directory, or a PostgreSQL schema: STEWARD_TEST_STORE=pg),
 * moves the engine with stw_run_until_idle() and checks what a user can see
 * (instances, documents, reports, streams).
 *
 * Scenarios are numbered like SQLite's tests: voiding-<group>.<case>. Group 1
 * is the happy and the unhappy path of the seed, group 2 idempotence, group 3
 * the uniqueness key, group 4 the guards of the engine, group 5 the domain
 * rules of the services.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "fixture.h"
#include "voiding.h"

/* ------------------------------------------------------------------------ */
/* Fixture                                                                  */

struct fixture {
	struct fx_world w; /* first: the state is a world too (see fx_new) */
	const void *param;
};

/*
 * Opens a fresh engine in a new temporary directory and registers the example.
 * Every reading of the virtual clock moves it 1 ms.
 */
static int setup(void **state)
{
	const void *param = *state;
	struct stw_options opts = { 0 };
	struct fixture *f;

	if (fx_new(state, sizeof *f, "voiding", FX_T0 + 1) != 0)
		return -1;
	f = *state;
	f->param = param;
	f->w.clock.tick = 1;
	opts.synchronous = -1;
	if (fx_world_open(&f->w, &opts) == STW_OK && voiding_register(f->w.e) == STW_OK)
		return 0;
	fx_teardown(state); /* cmocka does not tear down after a failed setup */
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Helpers: each fails the test on an unexpected error                      */

static void run(struct fixture *f)
{
	assert_stw_ok(f->w.e, stw_run_until_idle(f->w.e));
}

static void issue(struct fixture *f, const char *doc, const char *customer, long long amount)
{
	int rc = voiding_issue_document(f->w.e, doc, customer, amount, NULL);

	if (rc != STW_OK)
		fail_msg("issuing %s: %s: %s", doc, stw_strerror(rc), stw_errmsg(f->w.e));
}

static void void_doc(struct fixture *f, const char *doc, const char *process_id)
{
	int rc = voiding_void_document(f->w.e, doc, process_id, NULL);

	if (rc != STW_OK)
		fail_msg("voiding %s: %s: %s", doc, stw_strerror(rc), stw_errmsg(f->w.e));
}

static void publish(struct fixture *f, const char *customer)
{
	int rc = voiding_publish_report(f->w.e, customer, NULL);

	if (rc != STW_OK)
		fail_msg("publishing %s: %s: %s", customer, stw_strerror(rc), stw_errmsg(f->w.e));
}

/* The voiding instance `id` as a new JSON object. */
static json_t *instance(struct fixture *f, const char *id)
{
	json_t *out = NULL;
	int rc = stw_get_instance(f->w.e, "voiding", id, &out);

	if (rc != STW_OK)
		fail_msg("instance %s: %s: %s", id, stw_strerror(rc), stw_errmsg(f->w.e));
	return out;
}

/* A string field of a JSON object, or "" (never NULL, for assert_string_equal). */
static const char *str(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return s != NULL ? s : "";
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

/* What a stream holds: its version and the types and correlation ids of its events. */
struct stream_view {
	int64_t version;
	int n;
	char types[16][64];
	char correlations[16][64];
};

static int stream_cb(const struct stw_event *ev, void *ud)
{
	struct stream_view *v = ud;

	if (v->n < 16) {
		snprintf(v->types[v->n], sizeof v->types[0], "%s", ev->type);
		snprintf(v->correlations[v->n], sizeof v->correlations[0], "%s",
			 ev->correlation_id ? ev->correlation_id : "");
	}
	v->n++;
	return 0;
}

static void read_stream(struct fixture *f, const char *context, const char *stream,
			struct stream_view *v)
{
	int rc;

	memset(v, 0, sizeof *v);
	rc = stw_read_stream(f->w.e, context, stream, stream_cb, v, &v->version);
	if (rc != STW_OK)
		fail_msg("reading %s/%s: %s", context, stream, stw_strerror(rc));
	assert_int_equal(v->n, v->version);
}

static int stream_count(const struct stream_view *v, const char *type)
{
	int n = 0;

	for (int i = 0; i < v->n && i < 16; i++)
		n += strcmp(v->types[i], type) == 0;
	return n;
}

static int64_t head(struct fixture *f, const char *context)
{
	int64_t pos = -1;

	assert_int_equal(stw_head(f->w.e, context, &pos), STW_OK);
	return pos;
}

static void assert_document(struct fixture *f, const char *doc, const char *status, int voidings)
{
	json_t *d = NULL;

	assert_int_equal(voiding_document(f->w.e, doc, &d), STW_OK);
	assert_string_equal(str(d, "status"), status);
	assert_int_equal(json_integer_value(json_object_get(d, "voidings")), voidings);
	json_decref(d);
}

static void assert_report(struct fixture *f, const char *customer, long long total, int published)
{
	json_t *r = NULL;

	assert_int_equal(voiding_report(f->w.e, customer, &r), STW_OK);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), total);
	assert_int_equal(json_is_true(json_object_get(r, "published")), published);
	json_decref(r);
}

/* ------------------------------------------------------------------------ */
/* Group 1: one voiding, to its end                                         */

/* The expected course of one voiding; 1.1 and 1.2 differ only in this row. */
struct void_case {
	int publish_first;        /* publish the report before voiding */
	int at_once;              /* void before the engine has run at all */
	const char *state;        /* final state of the process */
	const char *status;       /* final status of the process */
	const char *reply;        /* Reports' answer to MarkDocumentAsVoided */
	const char *second;       /* the command the process sends Billing */
	const char *billing_last; /* the last event of the document's stream */
	const char *doc_status;   /* the document afterwards */
	long long total;          /* the report total afterwards (d1 is 1000, d2 250) */
};

static const struct void_case void_succeeds = {
	0,
	0,
	"DocumentVoided",
	"completed",
	"MarkingDocumentAsVoidedSucceeded",
	"CompleteDocumentVoiding",
	"DocumentVoided",
	"voided",
	250,
};

static const struct void_case void_fails_published = {
	1,
	0,
	"MarkingDocumentAsVoidedFailed",
	"failed",
	"MarkingDocumentAsVoidedFailed",
	"AbortDocumentVoiding",
	"DocumentVoidingAborted",
	"issued",
	1250,
};

static const struct void_case void_at_once = {
	0,
	1,
	"DocumentVoided",
	"completed",
	"MarkingDocumentAsVoidedSucceeded",
	"CompleteDocumentVoiding",
	"DocumentVoided",
	"voided",
	250,
};

/*
 * voiding-1.1 to 1.3: a voiding runs to its end, through both services, and
 * the process id is the correlation id of every message it causes. 1.1 proves
 * that a void of a document in an unpublished report completes, takes the
 * document out of the report total and voids it; 1.2 that a published report
 * makes it fail in MarkingDocumentAsVoidedFailed, AbortDocumentVoiding is
 * delivered and the document is back to issued; 1.3 that a document voided
 * right after it is issued, before the engine ran (as the demo does), still
 * reaches its report before the voiding asks Reports to take it out.
 */
static void void_flow(void **state)
{
	struct fixture *f = *state;
	const struct void_case *c = f->param;
	struct stream_view billing, reports;
	json_t *p;

	issue(f, "d1", "c1", 1000);
	issue(f, "d2", "c1", 250);
	if (!c->at_once) {
		run(f);
		assert_report(f, "c1", 1250, 0);
	}
	if (c->publish_first) {
		publish(f, "c1");
		run(f);
	}
	void_doc(f, "d1", "p1");
	run(f);

	p = instance(f, "p1");
	assert_string_equal(str(p, "state"), c->state);
	assert_string_equal(str(p, "status"), c->status);
	assert_string_equal(str(p, "unique_key"), "d1");
	assert_int_equal(json_array_size(json_object_get(p, "history")), 3);
	assert_int_equal(count_where(p, "history", "outcome", "applied"), 3);
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 2);
	assert_int_equal(count_where(p, "commands", "type", "MarkDocumentAsVoided"), 1);
	assert_int_equal(count_where(p, "commands", "type", c->second), 1);
	assert_int_equal(count_where(p, "commands", "status", "delivered"), 2);
	if (strcmp(c->status, "failed") == 0)
		assert_true(str(p, "reason")[0] != '\0');
	json_decref(p);

	assert_document(f, "d1", c->doc_status, 1);
	assert_document(f, "d2", "issued", 0);
	assert_report(f, "c1", c->total, c->publish_first);

	read_stream(f, "Billing", "document-d1", &billing);
	assert_int_equal(billing.n, 3);
	assert_string_equal(billing.types[0], "DocumentIssued");
	assert_string_equal(billing.types[1], "DocumentVoidingRequested");
	assert_string_equal(billing.types[2], c->billing_last);
	assert_string_equal(billing.correlations[1], "p1");
	assert_string_equal(billing.correlations[2], "p1");

	read_stream(f, "Reports", "report-c1", &reports);
	assert_int_equal(stream_count(&reports, "DocumentAddedToReport"), 2);
	assert_int_equal(stream_count(&reports, c->reply), 1);
	assert_string_equal(reports.types[reports.n - 1], c->reply);
	assert_string_equal(reports.correlations[reports.n - 1], "p1");
}

/*
 * voiding-1.4: with its services in process, a voiding goes from the request
 * to DocumentVoided in one round: the round steps and delivers again while
 * its deliveries append events its steps take, all in one transaction.
 */
static void one_round(void **state)
{
	struct fixture *f = *state;
	struct stw_stats before, after;
	int did = 0;
	json_t *p;

	issue(f, "d1", "c1", 1000);
	run(f);
	void_doc(f, "d1", "p1");
	stw_get_stats(f->w.e, &before);
	assert_int_equal(stw_run_once(f->w.e, &did), STW_OK);
	stw_get_stats(f->w.e, &after);
	p = instance(f, "p1");
	assert_string_equal(str(p, "state"), "DocumentVoided");
	assert_string_equal(str(p, "status"), "completed");
	json_decref(p);
	assert_document(f, "d1", "voided", 1);
	/* Three steps and two deliveries for "voiding", the feed's steps over Billing. */
	assert_int_equal(after.commands_delivered - before.commands_delivered, 2);
	assert_int_equal(after.transactions - before.transactions, 1);
	assert_int_equal(stw_run_once(f->w.e, &did), STW_OK);
	assert_int_equal(did, 0);
}

/* ------------------------------------------------------------------------ */
/* Group 2: idempotence                                                     */

/* What must not change when old messages come again. */
struct snapshot {
	int64_t billing_head, reports_head, version;
	size_t history, commands;
	char state[64];
};

static void take_snapshot(struct fixture *f, const char *id, struct snapshot *s)
{
	json_t *p = instance(f, id);

	s->billing_head = head(f, "Billing");
	s->reports_head = head(f, "Reports");
	s->version = json_integer_value(json_object_get(p, "version"));
	s->history = json_array_size(json_object_get(p, "history"));
	s->commands = json_array_size(json_object_get(p, "commands"));
	snprintf(s->state, sizeof s->state, "%s", str(p, "state"));
	json_decref(p);
}

/*
 * voiding-2.1: the same events delivered twice change nothing. After a
 * completed voiding, both definitions' cursors are set back to 0 and the
 * engine runs again: the process sees every message a second time, counts
 * them as duplicates and writes no history, state or command; the feed
 * derives the same command ids, so nothing is delivered again and no report
 * gains a document twice.
 */
static void same_event_twice(void **state)
{
	struct fixture *f = *state;
	struct snapshot before, after;
	struct stw_stats s0, s1;
	struct stream_view reports;

	issue(f, "d1", "c1", 1000);
	run(f);
	void_doc(f, "d1", "p1");
	run(f);
	take_snapshot(f, "p1", &before);
	stw_get_stats(f->w.e, &s0);

	assert_int_equal(stw_set_cursor(f->w.e, "voiding", "Billing", 0), STW_OK);
	assert_int_equal(stw_set_cursor(f->w.e, "voiding", "Reports", 0), STW_OK);
	assert_int_equal(stw_set_cursor(f->w.e, "reports-feed", "Billing", 0), STW_OK);
	run(f);

	take_snapshot(f, "p1", &after);
	stw_get_stats(f->w.e, &s1);
	assert_int_equal(after.billing_head, before.billing_head);
	assert_int_equal(after.reports_head, before.reports_head);
	assert_int_equal(after.version, before.version);
	assert_int_equal(after.history, before.history);
	assert_int_equal(after.commands, before.commands);
	assert_string_equal(after.state, before.state);
	assert_true(s1.duplicates > s0.duplicates);
	assert_int_equal(s1.commands_delivered, s0.commands_delivered);
	read_stream(f, "Reports", "report-c1", &reports);
	assert_int_equal(stream_count(&reports, "DocumentAddedToReport"), 1);
	assert_report(f, "c1", 0, 0);
}

/*
 * voiding-2.2: a command delivered twice is applied once. Executing the same
 * IssueDocument and VoidDocument ids again returns the recorded outcome
 * (success, or the same refusal) and appends nothing; only one process starts.
 */
static void command_twice(void **state)
{
	struct fixture *f = *state;
	struct stream_view billing;
	json_t *list = NULL;
	struct stw_instance_filter all = { .definition = "voiding" };

	assert_int_equal(voiding_issue_document(f->w.e, "d1", "c1", 1000, "issue-1"), STW_OK);
	assert_int_equal(voiding_issue_document(f->w.e, "d1", "c1", 1000, "issue-1"), STW_OK);
	read_stream(f, "Billing", "document-d1", &billing);
	assert_int_equal(billing.version, 1);
	run(f);

	assert_int_equal(voiding_void_document(f->w.e, "d1", "p1", NULL), STW_OK);
	assert_int_equal(voiding_void_document(f->w.e, "d1", "p1", NULL), STW_OK);
	read_stream(f, "Billing", "document-d1", &billing);
	assert_int_equal(billing.version, 2);
	run(f);
	assert_int_equal(stw_list_instances(f->w.e, &all, &list), STW_OK);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);

	/* A refused command stays refused, with the same reason. */
	assert_int_equal(voiding_void_document(f->w.e, "d9", "p9", NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "d9"));
	assert_int_equal(voiding_void_document(f->w.e, "d9", "p9", NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "d9"));
}

/* ------------------------------------------------------------------------ */
/* Group 3: one voiding per document                                        */

/*
 * voiding-3.1: a second void request while one is active. Billing accepts
 * both requests; the process manager creates the second instance with status
 * "rejected" and a reason naming the document, sends it nothing, and the
 * first completes alone: one MarkDocumentAsVoided, one voiding in Reports.
 */
static void second_request_rejected(void **state)
{
	struct fixture *f = *state;
	struct stream_view reports;
	struct stw_stats st;
	json_t *p;

	issue(f, "d1", "c1", 1000);
	run(f);
	void_doc(f, "d1", "p1");
	void_doc(f, "d1", "p2");
	run(f);

	p = instance(f, "p2");
	assert_string_equal(str(p, "status"), "rejected");
	assert_non_null(strstr(str(p, "reason"), "d1"));
	assert_int_equal(json_array_size(json_object_get(p, "commands")), 0);
	assert_int_equal(count_where(p, "history", "outcome", "rejected"), 1);
	json_decref(p);

	p = instance(f, "p1");
	assert_string_equal(str(p, "status"), "completed");
	assert_int_equal(count_where(p, "commands", "type", "MarkDocumentAsVoided"), 1);
	json_decref(p);

	read_stream(f, "Reports", "report-c1", &reports);
	assert_int_equal(stream_count(&reports, "MarkingDocumentAsVoidedSucceeded"), 1);
	assert_int_equal(stream_count(&reports, "MarkingDocumentAsVoidedFailed"), 0);
	stw_get_stats(f->w.e, &st);
	assert_int_equal(st.rejected, 1);
	assert_document(f, "d1", "voided", 2);
}

/*
 * voiding-3.2: acknowledging a failure frees the document. While the failed
 * process holds the key a new request is rejected; after stw_acknowledge()
 * the process is "acknowledged" in FailureAcknowledged (a second
 * acknowledgement is STW_ESTATE) and a new void of the same document starts a
 * new instance, which runs (and fails again, the report being published).
 */
static void acknowledge_then_again(void **state)
{
	struct fixture *f = *state;
	json_t *p;

	issue(f, "d1", "c1", 1000);
	run(f);
	publish(f, "c1");
	run(f);
	void_doc(f, "d1", "p1");
	run(f);
	void_doc(f, "d1", "p1b");
	run(f);
	p = instance(f, "p1b");
	assert_string_equal(str(p, "status"), "rejected");
	json_decref(p);

	assert_int_equal(stw_acknowledge(f->w.e, "voiding", "p1", "told the customer"), STW_OK);
	assert_int_equal(stw_acknowledge(f->w.e, "voiding", "p1", NULL), STW_ESTATE);
	p = instance(f, "p1");
	assert_string_equal(str(p, "status"), "acknowledged");
	assert_string_equal(str(p, "state"), "FailureAcknowledged");
	assert_int_equal(count_where(p, "history", "outcome", "acknowledged"), 1);
	json_decref(p);

	void_doc(f, "d1", "p2");
	run(f);
	p = instance(f, "p2");
	assert_string_equal(str(p, "status"), "failed");
	assert_string_equal(str(p, "state"), "MarkingDocumentAsVoidedFailed");
	assert_int_equal(count_where(p, "commands", "type", "MarkDocumentAsVoided"), 1);
	assert_int_equal(count_where(p, "commands", "type", "AbortDocumentVoiding"), 1);
	json_decref(p);
	assert_document(f, "d1", "issued", 3);
}

/* ------------------------------------------------------------------------ */
/* Group 4: guards of the engine                                            */

/*
 * voiding-4.1: a stale expected version is refused. Appending to a document
 * stream with STW_NO_STREAM, or with a version it had before, fails with
 * STW_ECONFLICT and leaves the stream and the log as they were; the current
 * version is accepted.
 */
static void stale_version(void **state)
{
	struct fixture *f = *state;
	struct stream_view v;
	struct stw_event ev = { .type = "DocumentNoted", .stream = "document-d1" };
	int64_t pos = 0;

	issue(f, "d1", "c1", 1000);
	void_doc(f, "d1", "p1");
	read_stream(f, "Billing", "document-d1", &v);
	assert_int_equal(v.version, 2);

	assert_int_equal(stw_append(f->w.e, "Billing", STW_NO_STREAM, &ev, 1, NULL), STW_ECONFLICT);
	assert_int_equal(stw_append(f->w.e, "Billing", 1, &ev, 1, NULL), STW_ECONFLICT);
	read_stream(f, "Billing", "document-d1", &v);
	assert_int_equal(v.version, 2);
	assert_int_equal(head(f, "Billing"), 2);

	assert_int_equal(stw_append(f->w.e, "Billing", 2, &ev, 1, &pos), STW_OK);
	assert_int_equal(pos, 3);
	read_stream(f, "Billing", "document-d1", &v);
	assert_int_equal(v.version, 3);
	assert_document(f, "d1", "voiding", 1);
}

/*
 * voiding-4.2: a message the state machine does not accept fails the process
 * instead of being dropped. A DocumentVoided appended by hand with the
 * process's correlation id reaches it in VoidingRequested: the instance is
 * "failed" with a reason naming the message and the state, its history
 * records the message, and nothing is left unrouted.
 */
static void message_not_accepted(void **state)
{
	struct fixture *f = *state;
	struct stw_event ev = {
		.type = "DocumentVoided",
		.stream = "document-d1",
		.correlation_id = "p1",
	};
	json_t *p, *unrouted = NULL;
	json_t *first;

	issue(f, "d1", "c1", 1000);
	run(f);
	void_doc(f, "d1", "p1");
	ev.data = json_pack("{s:s, s:s}", "document_id", "d1", "customer", "c1");
	assert_int_equal(stw_append(f->w.e, "Billing", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
	run(f);

	p = instance(f, "p1");
	assert_string_equal(str(p, "status"), "failed");
	assert_non_null(strstr(str(p, "reason"), "DocumentVoided"));
	assert_non_null(strstr(str(p, "reason"), "VoidingRequested"));
	assert_int_equal(count_where(p, "history", "outcome", "failed"), 1);
	first = json_array_get(json_object_get(p, "history"), 1);
	assert_string_equal(str(first, "message_type"), "DocumentVoided");
	assert_string_equal(str(first, "outcome"), "failed");
	json_decref(p);

	assert_int_equal(stw_list_unrouted(f->w.e, "voiding", 10, &unrouted), STW_OK);
	assert_int_equal(json_array_size(unrouted), 0);
	json_decref(unrouted);
}

/* ------------------------------------------------------------------------ */
/* Group 5: domain rules of the services                                    */

/*
 * voiding-5.1: VoidDocument of an unknown document is refused: STW_EREJECTED,
 * a message naming the document through stw_errmsg(), no event and no
 * process.
 */
static void void_unknown(void **state)
{
	struct fixture *f = *state;
	char id[STW_MAX_ID];
	json_t *p = NULL;

	assert_int_equal(voiding_void_document(f->w.e, "nope", NULL, id), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "nope"));
	assert_non_null(strstr(stw_errmsg(f->w.e), "does not exist"));
	assert_int_equal(head(f, "Billing"), 0);
	run(f);
	assert_int_equal(stw_get_instance(f->w.e, "voiding", id, &p), STW_ENOTFOUND);
	assert_null(p);
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
	{ "Billing", "IssueDocument", "{\"document_id\":\"d2\",\"amount\":5}", STW_EREJECTED,
	  "customer" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":-1}",
	  STW_EREJECTED, "amount" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":\"5\"}", STW_EREJECTED,
	  "amount" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"\",\"customer\":\"c1\",\"amount\":5}",
	  STW_EREJECTED, "document_id" },
	/* A control character would make the report's stream id invalid: refused up front. */
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c\\u0001x\",\"amount\":5}", STW_EREJECTED,
	  "customer" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d\\u001b[2J\",\"customer\":\"c1\",\"amount\":5}", STW_EREJECTED,
	  "document_id" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":100000000000000001}",
	  STW_EREJECTED, "from 0 to 100000000000000000" },
	{ "Reports", "AddDocumentToReport",
	  "{\"document_id\":\"d9\",\"customer\":\"c1\",\"amount\":9223372036854775807}",
	  STW_EREJECTED, "amount" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"d1\",\"customer\":\"c1\",\"amount\":5}",
	  STW_EREJECTED, "already exists" },
	{ "Billing", "VoidDocument", "{\"document_id\":\"d3\"}", STW_EREJECTED, "already voided" },
	{ "Billing", "CompleteDocumentVoiding", "{\"document_id\":\"d1\"}", STW_EREJECTED,
	  "no voiding in progress" },
	{ "Billing", "AbortDocumentVoiding", "{\"document_id\":\"d1\"}", STW_EREJECTED,
	  "no voiding in progress" },
	{ "Billing", "ShredDocument", "{\"document_id\":\"d1\"}", STW_EREJECTED, "ShredDocument" },
	{ "Reports", "PublishReport", "{\"customer\":\"c9\"}", STW_EREJECTED, "c9" },
	{ "Reports", "PublishReport", "{}", STW_EREJECTED, "customer" },
	{ "Reports", "AddDocumentToReport",
	  "{\"document_id\":\"d1\",\"customer\":\"c1\",\"amount\":1000}", STW_OK, NULL },
	{ "Reports", "PublishReport", "{\"customer\":\"c1\"}", STW_OK, NULL },
	{ "Reports", "PublishReport", "{\"customer\":\"c1\"}", STW_EREJECTED, "already published" },
};

/*
 * voiding-5.2: the services refuse what their rules forbid, each with a
 * reason: missing or invalid fields, a document issued twice, voiding a
 * voided document, completing or aborting without a voiding, an unknown
 * command, publishing an unknown or published report. Adding a document
 * already in the report is accepted and changes nothing. A refusal appends
 * nothing.
 */
static void rules(void **state)
{
	struct fixture *f = *state;
	char long_id[102];
	struct stream_view reports;
	int64_t billing_head;

	issue(f, "d1", "c1", 1000);
	issue(f, "d3", "c1", 30);
	run(f);
	void_doc(f, "d3", "p3");
	run(f);
	assert_document(f, "d3", "voided", 1);
	memset(long_id, 'x', 101);
	long_id[101] = '\0';
	assert_int_equal(voiding_issue_document(f->w.e, long_id, "c1", 1, NULL), STW_EREJECTED);
	assert_non_null(strstr(stw_errmsg(f->w.e), "at most 100 bytes"));
	billing_head = head(f, "Billing");

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
	assert_int_equal(head(f, "Billing"), billing_head);
	read_stream(f, "Reports", "report-c1", &reports);
	assert_int_equal(stream_count(&reports, "DocumentAddedToReport"), 2);
	assert_int_equal(stream_count(&reports, "ReportPublished"), 1);
}

/*
 * voiding-5.4: a report's total never overflows: documents of the largest
 * amount are added until the total could not hold another, which is
 * refused with its reason; the total stays the exact sum.
 */
static void total_bounded(void **state)
{
	struct fixture *f = *state;
	long long sum = 0;
	int added = 0;
	for (int i = 0; i < 100; i++) {
		char data[160];
		snprintf(data, sizeof(data),
			 "{\"document_id\":\"big-%d\",\"customer\":\"whale\",\"amount\":%lld}", i,
			 VOIDING_MAX_AMOUNT);
		json_t *d = json_loads(data, 0, NULL);
		assert_non_null(d);
		int rc = stw_execute(f->w.e, "Reports", "AddDocumentToReport", d, NULL, NULL, NULL);
		json_decref(d);
		if (rc == STW_EREJECTED) {
			assert_non_null(
			    strstr(stw_errmsg(f->w.e), "would pass the largest amount"));
			break;
		}
		assert_stw_ok(f->w.e, rc);
		sum += VOIDING_MAX_AMOUNT;
		added++;
	}
	assert_int_equal(added, 92); /* 92 * 10^17 fits in a long long, 93 do not */
	assert_report(f, "whale", sum, 0);
}

/*
 * voiding-5.3: the views. Customers are listed once each and sorted; an
 * unknown document or report is STW_ENOTFOUND, an invalid id STW_EINVAL; a
 * report lists its documents with the voided ones marked and left out of
 * the total.
 */
static void views(void **state)
{
	struct fixture *f = *state;
	json_t *list = NULL, *r = NULL, *docs;

	issue(f, "d1", "c2", 100);
	issue(f, "d2", "c1", 200);
	issue(f, "d3", "c3", 300);
	issue(f, "d4", "c1", 400);
	run(f);
	void_doc(f, "d2", NULL);
	run(f);

	assert_int_equal(voiding_customers(f->w.e, &list), STW_OK);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "c1");
	assert_string_equal(json_string_value(json_array_get(list, 1)), "c2");
	assert_string_equal(json_string_value(json_array_get(list, 2)), "c3");
	json_decref(list);

	assert_int_equal(voiding_report(f->w.e, "c1", &r), STW_OK);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 400);
	docs = json_object_get(r, "documents");
	assert_int_equal(json_array_size(docs), 2);
	assert_string_equal(str(json_array_get(docs, 0), "document_id"), "d2");
	assert_true(json_is_true(json_object_get(json_array_get(docs, 0), "voided")));
	assert_true(json_is_false(json_object_get(json_array_get(docs, 1), "voided")));
	json_decref(r);

	r = NULL;
	assert_int_equal(voiding_report(f->w.e, "c9", &r), STW_ENOTFOUND);
	assert_null(r);
	assert_int_equal(voiding_document(f->w.e, "d9", &r), STW_ENOTFOUND);
	assert_int_equal(voiding_document(f->w.e, "", &r), STW_EINVAL);
	assert_null(r);
}

/* ------------------------------------------------------------------------ */

#define SCENARIO(name, fn, param)                                                                  \
	{                                                                                          \
		name, fn, setup, fx_teardown, (void *)(param)                                      \
	}

int main(void)
{
	static const struct CMUnitTest scenarios[] = {
		SCENARIO("voiding-1.1 void succeeds", void_flow, &void_succeeds),
		SCENARIO("voiding-1.2 void fails when the report is published", void_flow,
			 &void_fails_published),
		SCENARIO("voiding-1.3 a document voided as soon as it is issued", void_flow,
			 &void_at_once),
		SCENARIO("voiding-1.4 a voiding takes one round and one commit", one_round, NULL),
		SCENARIO("voiding-2.1 the same event delivered twice changes nothing",
			 same_event_twice, NULL),
		SCENARIO("voiding-2.2 a command delivered twice is applied once", command_twice,
			 NULL),
		SCENARIO("voiding-3.1 a second void request while one is active is rejected",
			 second_request_rejected, NULL),
		SCENARIO("voiding-3.2 acknowledge, then void again", acknowledge_then_again, NULL),
		SCENARIO("voiding-4.1 a stale expected version conflicts", stale_version, NULL),
		SCENARIO(
		    "voiding-4.2 a message the state machine does not accept fails the process",
		    message_not_accepted, NULL),
		SCENARIO("voiding-5.1 voiding an unknown document is rejected", void_unknown, NULL),
		SCENARIO("voiding-5.2 the services refuse what their rules forbid", rules, NULL),
		SCENARIO("voiding-5.3 documents, reports and customers views", views, NULL),
		SCENARIO("voiding-5.4 a report's total never overflows", total_bounded, NULL),
	};

	return cmocka_run_group_tests_name("voiding", scenarios, NULL, NULL);
}
