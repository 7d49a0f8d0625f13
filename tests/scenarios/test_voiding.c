/*
 * test_voiding.c - scenarios of the voiding example (seed 000), written with
 * the kit of steward_test.h as a user of Steward writes them: a user issues
 * documents and asks Billing to void one, which starts a voiding process; it
 * asks Reports to mark the document as voided, then completes the voiding in
 * Billing, or aborts it when the customer's report is published already, and
 * waits for a person to acknowledge the failure. Each scenario runs on a
 * fresh store (a database in its own temporary directory, or a PostgreSQL
 * schema: STEWARD_TEST_STORE=pg), some under the kit's faults for several
 * seeds, and checks what a user can see: instances, documents, reports and
 * streams.
 *
 * Scenarios are numbered like SQLite's tests: voiding-<group>.<case>. Group 1
 * is the happy and the unhappy path of the seed, group 2 idempotence, group 3
 * the uniqueness key, group 4 the guards of the engine, group 5 the domain
 * rules of the services.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward_test.h>

#include "fixture.h"
#include "voiding.h"

#define ISSUE(t, doc, customer, amount)                                                            \
	stw_test_when(t, "Billing", "IssueDocument",                                               \
		      "{\"document_id\":\"" doc "\",\"customer\":\"" customer                      \
		      "\",\"amount\":" #amount "}",                                                \
		      NULL)
#define VOID(t, doc, process)                                                                      \
	stw_test_when(t, "Billing", "VoidDocument", "{\"document_id\":\"" doc "\"}", process)
#define PUBLISH(t, customer)                                                                       \
	stw_test_when(t, "Reports", "PublishReport", "{\"customer\":\"" customer "\"}", NULL)

static int setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	return voiding_register(e);
}

/*
 * Runs a scenario `runs` times, each on a fresh store of the fixture's with
 * the seed 1 + i for the faults; fails the test when a run fails.
 */
static void play(int (*scenario)(struct stw_test *t, void *ud), const void *ud,
		 stw_test_setup_fn with, unsigned faults, int runs)
{
	for (int i = 0; i < runs; i++) {
		struct fx_world w;
		assert_int_equal(fx_world_init(&w, "voiding", FX_T0), 0);
		struct stw_test_options o = { .faults = faults,
					      .seed = 1 + (uint64_t)i,
					      .store = w.db };
		int rc = stw_test_run(&o, 1, with, NULL, scenario, (void *)ud);
		assert_int_equal(fx_world_fini(&w), 0);
		assert_int_equal(rc, 0);
	}
}

/* The document as Billing sees it. */
static void expect_document(struct stw_test *t, const char *doc, const char *status, int voidings)
{
	json_t *d = NULL;
	assert_int_equal(voiding_document(stw_test_engine(t), doc, &d), STW_OK);
	assert_string_equal(json_string_value(json_object_get(d, "status")), status);
	assert_int_equal(json_integer_value(json_object_get(d, "voidings")), voidings);
	json_decref(d);
}

/* The customer's report as Reports sees it. */
static void expect_report(struct stw_test *t, const char *customer, long long total, int published)
{
	json_t *r = NULL;
	assert_int_equal(voiding_report(stw_test_engine(t), customer, &r), STW_OK);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), total);
	assert_int_equal(json_is_true(json_object_get(r, "published")), published);
	json_decref(r);
}

/* ------------------------------------------------------------------------ */
/* Group 1: one voiding, to its end                                         */

/* The expected course of one voiding; 1.1 to 1.3 differ only in this row. */
struct void_case {
	int publish_first;      /* publish the report before voiding */
	int at_once;            /* issue and void before the engine has run at all */
	const char *state;      /* final state of the process */
	const char *status;     /* final status of the process */
	const char *second;     /* the command the process sends Billing */
	const char *billing;    /* the document's stream: the last two are the process's */
	const char *reports;    /* the report's stream: the last is the process's */
	const char *doc_status; /* the document afterwards */
	long long total;        /* the report total afterwards (d1 is 1000, d2 250) */
};

static const struct void_case void_succeeds = {
	0,
	0,
	"DocumentVoided",
	"completed",
	"CompleteDocumentVoiding",
	"DocumentIssued DocumentVoidingRequested DocumentVoided",
	"DocumentAddedToReport DocumentAddedToReport MarkingDocumentAsVoidedSucceeded",
	"voided",
	250,
};

static const struct void_case void_fails_published = {
	1,
	0,
	"MarkingDocumentAsVoidedFailed",
	"failed",
	"AbortDocumentVoiding",
	"DocumentIssued DocumentVoidingRequested DocumentVoidingAborted",
	"DocumentAddedToReport DocumentAddedToReport ReportPublished MarkingDocumentAsVoidedFailed",
	"issued",
	1250,
};

static const struct void_case void_at_once = {
	0,
	1,
	"DocumentVoided",
	"completed",
	"CompleteDocumentVoiding",
	"DocumentIssued DocumentVoidingRequested DocumentVoided",
	"DocumentAddedToReport DocumentAddedToReport MarkingDocumentAsVoidedSucceeded",
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
 * reaches its report before the voiding asks Reports to take it out. The
 * answers of both services, correlated to the process, show that both of its
 * commands were delivered. voiding-2.3 runs them again under every fault.
 */
static int void_flow(struct stw_test *t, void *ud)
{
	const struct void_case *c = ud;
	if (c->at_once)
		stw_test_hold(t);
	ISSUE(t, "d1", "c1", 1000);
	ISSUE(t, "d2", "c1", 250);
	if (!c->at_once)
		expect_report(t, "c1", 1250, 0);
	if (c->publish_first)
		PUBLISH(t, "c1");
	VOID(t, "d1", "p1");
	stw_test_release(t);

	stw_test_expect_state(t, "voiding", "p1", c->state, c->status);
	stw_test_expect_fields(t, "voiding", "p1", "{\"unique_key\":\"d1\"}");
	if (strcmp(c->status, "failed") == 0)
		stw_test_expect_fields(
		    t, "voiding", "p1",
		    "{\"reason\":\"MarkingDocumentAsVoidedFailed: report already published\"}");
	stw_test_expect_history(t, "voiding", "p1", NULL, NULL, 3);
	stw_test_expect_history(t, "voiding", "p1", NULL, "applied", 3);
	stw_test_expect_sent(t, "voiding", "p1", NULL, NULL, NULL, 2);
	stw_test_expect_sent(t, "voiding", "p1", "Reports", "MarkDocumentAsVoided",
			     "{\"document_id\":\"d1\"}", 1);
	stw_test_expect_sent(t, "voiding", "p1", "Billing", c->second, NULL, 1);

	expect_document(t, "d1", c->doc_status, 1);
	expect_document(t, "d2", "issued", 0);
	expect_report(t, "c1", c->total, c->publish_first);
	stw_test_expect_events(t, "Billing", "document-d1", NULL, c->billing);
	stw_test_expect_events(t, "Billing", "document-d1", "p1", strchr(c->billing, ' ') + 1);
	stw_test_expect_events(t, "Reports", "report-c1", NULL, c->reports);
	return stw_test_expect_events(t, "Reports", "report-c1", "p1",
				      strrchr(c->reports, ' ') + 1);
}

/*
 * voiding-1.4: with its services in process, a voiding goes from the request
 * to DocumentVoided in one round: the round steps and delivers again while
 * its deliveries append events its steps take, all in one transaction (an
 * idle round commits none).
 */
static int one_round(struct stw_test *t, void *ud)
{
	(void)ud;
	struct stw_stats before, after;
	ISSUE(t, "d1", "c1", 1000);
	stw_test_hold(t);
	VOID(t, "d1", "p1");
	stw_get_stats(stw_test_engine(t), &before);
	stw_test_release(t);
	stw_get_stats(stw_test_engine(t), &after);
	stw_test_expect_state(t, "voiding", "p1", "DocumentVoided", "completed");
	expect_document(t, "d1", "voided", 1);
	/* Three steps and two deliveries for "voiding", the feed's steps over Billing. */
	assert_int_equal(after.commands_delivered - before.commands_delivered, 2);
	assert_int_equal(after.transactions - before.transactions, 1);
	return 0;
}

/*
 * voiding-1.5: Reports stubbed to refuse every marking (a report service
 * down for good, as a user who does not run it for real writes it): the
 * voiding fails in MarkingDocumentAsVoidedFailed and Billing aborts it.
 */
static int setup_billing_only(struct stw_engine *e, void *ud)
{
	(void)ud;
	int rc = voiding_register_billing(e);
	return rc == STW_OK ? voiding_register_processes(e) : rc;
}

static int reports_stubbed(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_stub(t, "Reports", "AddDocumentToReport", "DocumentAddedToReport", NULL);
	stw_test_stub(t, "Reports", "MarkDocumentAsVoided", "MarkingDocumentAsVoidedFailed", NULL);
	ISSUE(t, "d1", "acme", 1000);
	VOID(t, "d1", "v1");
	stw_test_expect_state(t, "voiding", "v1", "MarkingDocumentAsVoidedFailed", "failed");
	stw_test_expect_sent(t, "voiding", "v1", "Billing", "AbortDocumentVoiding", NULL, 1);
	return stw_test_expect_events(t, "Billing", "document-d1", "v1",
				      "DocumentVoidingRequested DocumentVoidingAborted");
}

/* ------------------------------------------------------------------------ */
/* Group 2: idempotence                                                     */

/*
 * voiding-2.1: the same events delivered twice change nothing. After a
 * completed voiding, every cursor goes back to the start and the engine runs
 * again (stw_test_replay): the process sees every message a second time,
 * counts them as duplicates and writes no history, state or command; the
 * feed derives the same command ids, so nothing is delivered again, no log
 * grows and no report gains a document twice.
 */
static int same_event_twice(struct stw_test *t, void *ud)
{
	(void)ud;
	struct stw_stats s0, s1;
	ISSUE(t, "d1", "c1", 1000);
	VOID(t, "d1", "p1");
	stw_test_expect_fields(t, "voiding", "p1", "{\"version\":3}");
	stw_get_stats(stw_test_engine(t), &s0);
	stw_test_replay(t);
	stw_get_stats(stw_test_engine(t), &s1);

	stw_test_expect_state(t, "voiding", "p1", "DocumentVoided", "completed");
	stw_test_expect_fields(t, "voiding", "p1", "{\"version\":3}");
	stw_test_expect_history(t, "voiding", "p1", NULL, NULL, 3);
	stw_test_expect_sent(t, "voiding", "p1", NULL, NULL, NULL, 2);
	stw_test_expect_events(t, "Billing", NULL, NULL,
			       "DocumentIssued DocumentVoidingRequested DocumentVoided");
	stw_test_expect_events(t, "Reports", NULL, NULL,
			       "DocumentAddedToReport MarkingDocumentAsVoidedSucceeded");
	assert_true(s1.duplicates > s0.duplicates);
	assert_int_equal(s1.commands_delivered, s0.commands_delivered);
	expect_report(t, "c1", 0, 0);
	return 0;
}

/*
 * voiding-2.2: a command delivered twice is applied once. Under the kit's
 * duplicates, every IssueDocument and VoidDocument is executed again with
 * its id and must return the recorded outcome (success, or the same
 * refusal); each appends its event once, and only one process starts.
 */
static int command_twice(struct stw_test *t, void *ud)
{
	(void)ud;
	ISSUE(t, "d1", "c1", 1000);
	stw_test_expect_events(t, "Billing", "document-d1", NULL, "DocumentIssued");
	VOID(t, "d1", "p1");
	stw_test_expect_events(t, "Billing", "document-d1", NULL,
			       "DocumentIssued DocumentVoidingRequested DocumentVoided");
	assert_int_equal(stw_test_count_instances(t, "voiding", NULL), 1);
	/* A refused command stays refused, with the same reason. */
	return stw_test_expect_refused(t, "Billing", "VoidDocument", "{\"document_id\":\"d9\"}",
				       "p9", "document d9 does not exist");
}

/* voiding-2.3: 1.1 to 1.3 again, under every fault (reopens, duplicates), for 8 seeds each. */
static void test_under_faults(void **state)
{
	(void)state;
	play(void_flow, &void_succeeds, setup, STW_TEST_ALL_FAULTS, 8);
	play(void_flow, &void_fails_published, setup, STW_TEST_ALL_FAULTS, 8);
	play(void_flow, &void_at_once, setup, STW_TEST_ALL_FAULTS, 8);
}

/* ------------------------------------------------------------------------ */
/* Group 3: one voiding per document                                        */

/*
 * voiding-3.1: a second void request while one is active. Billing accepts
 * both requests; the process manager creates the second instance with status
 * "rejected" and a reason naming the document, sends it nothing, and the
 * first completes alone: one MarkDocumentAsVoided, one voiding in Reports.
 */
static int second_request_rejected(struct stw_test *t, void *ud)
{
	(void)ud;
	ISSUE(t, "d1", "c1", 1000);
	stw_test_hold(t);
	VOID(t, "d1", "p1");
	VOID(t, "d1", "p2");
	stw_test_release(t);

	stw_test_expect_state(t, "voiding", "p2", NULL, "rejected");
	stw_test_expect_fields(t, "voiding", "p2",
			       "{\"reason\":\"key d1 is held by instance p1\"}");
	stw_test_expect_sent(t, "voiding", "p2", NULL, NULL, NULL, 0);
	stw_test_expect_history(t, "voiding", "p2", NULL, "rejected", 1);
	stw_test_expect_state(t, "voiding", "p1", NULL, "completed");
	stw_test_expect_sent(t, "voiding", "p1", "Reports", "MarkDocumentAsVoided", NULL, 1);
	stw_test_expect_events(t, "Reports", "report-c1", NULL,
			       "DocumentAddedToReport MarkingDocumentAsVoidedSucceeded");
	assert_int_equal(stw_test_count_instances(t, "voiding", "rejected"), 1);
	expect_document(t, "d1", "voided", 2);
	return 0;
}

/*
 * voiding-3.2: acknowledging a failure frees the document. While the failed
 * process holds the key a new request is rejected; after a person's
 * stw_acknowledge() the process is "acknowledged" in FailureAcknowledged (a
 * second acknowledgement is STW_ESTATE) and a new void of the same document
 * starts a new instance, which runs (and fails again, the report being
 * published).
 */
static int acknowledge_then_again(struct stw_test *t, void *ud)
{
	(void)ud;
	ISSUE(t, "d1", "c1", 1000);
	PUBLISH(t, "c1");
	VOID(t, "d1", "p1");
	VOID(t, "d1", "p1b");
	stw_test_expect_state(t, "voiding", "p1b", NULL, "rejected");

	struct stw_engine *e = stw_test_engine(t);
	assert_int_equal(stw_acknowledge(e, "voiding", "p1", "told the customer"), STW_OK);
	assert_int_equal(stw_acknowledge(e, "voiding", "p1", NULL), STW_ESTATE);
	stw_test_expect_state(t, "voiding", "p1", "FailureAcknowledged", "acknowledged");
	stw_test_expect_history(t, "voiding", "p1", NULL, "acknowledged", 1);

	VOID(t, "d1", "p2");
	stw_test_expect_state(t, "voiding", "p2", "MarkingDocumentAsVoidedFailed", "failed");
	stw_test_expect_sent(t, "voiding", "p2", "Reports", "MarkDocumentAsVoided", NULL, 1);
	stw_test_expect_sent(t, "voiding", "p2", "Billing", "AbortDocumentVoiding", NULL, 1);
	expect_document(t, "d1", "issued", 3);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Group 4: guards of the engine                                            */

/*
 * voiding-4.1: a stale expected version is refused. With the engine held
 * after a document is issued and voided, appending to its stream with
 * STW_NO_STREAM, or with a version it had before, fails with STW_ECONFLICT
 * and leaves the stream and the log as they were; the current version is
 * accepted. (An append with an expected version is the engine's, not a
 * step of a scenario: made on the engine.)
 */
static int stale_version(struct stw_test *t, void *ud)
{
	(void)ud;
	struct stw_event ev = { .type = "DocumentNoted", .stream = "document-d1" };
	int64_t pos = 0;
	stw_test_hold(t);
	ISSUE(t, "d1", "c1", 1000);
	VOID(t, "d1", "p1");
	stw_test_expect_events(t, "Billing", "document-d1", NULL,
			       "DocumentIssued DocumentVoidingRequested");

	struct stw_engine *e = stw_test_engine(t);
	assert_int_equal(stw_append(e, "Billing", STW_NO_STREAM, &ev, 1, NULL), STW_ECONFLICT);
	assert_int_equal(stw_append(e, "Billing", 1, &ev, 1, NULL), STW_ECONFLICT);
	stw_test_expect_events(t, "Billing", NULL, NULL, "DocumentIssued DocumentVoidingRequested");

	assert_int_equal(stw_append(e, "Billing", 2, &ev, 1, &pos), STW_OK);
	assert_int_equal(pos, 3);
	stw_test_expect_events(t, "Billing", "document-d1", NULL,
			       "DocumentIssued DocumentVoidingRequested DocumentNoted");
	expect_document(t, "d1", "voiding", 1);
	return 0;
}

/*
 * voiding-4.2: a message the state machine does not accept fails the process
 * instead of being dropped. A DocumentVoided given with the process's
 * correlation id, together with the request, reaches it in
 * VoidingRequested: the instance is "failed" with a reason naming the
 * message and the state, its history records the message, and nothing is
 * left unrouted.
 */
static int message_not_accepted(struct stw_test *t, void *ud)
{
	(void)ud;
	ISSUE(t, "d1", "c1", 1000);
	stw_test_hold(t);
	VOID(t, "d1", "p1");
	stw_test_given(t, "Billing", "document-d1", "DocumentVoided", "p1",
		       "{\"document_id\":\"d1\",\"customer\":\"c1\"}");
	stw_test_release(t);

	stw_test_expect_state(t, "voiding", "p1", NULL, "failed");
	stw_test_expect_fields(
	    t, "voiding", "p1",
	    "{\"reason\":\"DocumentVoided is not accepted in state VoidingRequested\"}");
	stw_test_expect_history(t, "voiding", "p1", NULL, "failed", 1);
	stw_test_expect_history(t, "voiding", "p1", "DocumentVoided", "failed", 1);
	return stw_test_count_unrouted(t, "voiding") == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* Group 5: domain rules of the services                                    */

/*
 * voiding-5.1: VoidDocument of an unknown document is refused, with a
 * message naming the document; no event and no process.
 */
static int void_unknown(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_expect_refused(t, "Billing", "VoidDocument", "{\"document_id\":\"nope\"}", NULL,
				"document nope does not exist");
	assert_int_equal(stw_test_count_events(t, "Billing", NULL), 0);
	assert_int_equal(stw_test_count_instances(t, "voiding", NULL), 0);
	return 0;
}

/* One command sent to a service and the piece of its refusal (NULL: accepted). */
struct command_case {
	const char *context;
	const char *type;
	const char *data; /* JSON text */
	const char *refusal;
};

static const struct command_case command_cases[] = {
	{ "Billing", "IssueDocument", "{\"document_id\":\"d2\",\"amount\":5}", "customer" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":-1}",
	  "amount" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":\"5\"}", "amount" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"\",\"customer\":\"c1\",\"amount\":5}",
	  "document_id" },
	/* A control character would make the report's stream id invalid: refused up front. */
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c\\u0001x\",\"amount\":5}", "customer" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d\\u001b[2J\",\"customer\":\"c1\",\"amount\":5}", "document_id" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"d2\",\"customer\":\"c1\",\"amount\":100000000000000001}",
	  "from 0 to 100000000000000000" },
	{ "Billing", "IssueDocument",
	  "{\"document_id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\",\"customer\":\"c1\",\"amount\":1}",
	  "at most 100 bytes" },
	{ "Reports", "AddDocumentToReport",
	  "{\"document_id\":\"d9\",\"customer\":\"c1\",\"amount\":9223372036854775807}", "amount" },
	{ "Billing", "IssueDocument", "{\"document_id\":\"d1\",\"customer\":\"c1\",\"amount\":5}",
	  "already exists" },
	{ "Billing", "VoidDocument", "{\"document_id\":\"d3\"}", "already voided" },
	{ "Billing", "CompleteDocumentVoiding", "{\"document_id\":\"d1\"}",
	  "no voiding in progress" },
	{ "Billing", "AbortDocumentVoiding", "{\"document_id\":\"d1\"}", "no voiding in progress" },
	{ "Billing", "ShredDocument", "{\"document_id\":\"d1\"}", "ShredDocument" },
	{ "Reports", "PublishReport", "{\"customer\":\"c9\"}", "c9" },
	{ "Reports", "PublishReport", "{}", "customer" },
	{ "Reports", "AddDocumentToReport",
	  "{\"document_id\":\"d1\",\"customer\":\"c1\",\"amount\":1000}", NULL },
	{ "Reports", "PublishReport", "{\"customer\":\"c1\"}", NULL },
	{ "Reports", "PublishReport", "{\"customer\":\"c1\"}", "already published" },
};

/*
 * voiding-5.2: the services refuse what their rules forbid, each with a
 * reason: missing, invalid or too long fields, a document issued twice,
 * voiding a voided document, completing or aborting without a voiding, an
 * unknown command, publishing an unknown or published report; a refusal
 * appends nothing. Adding a document already in the report is accepted and
 * changes nothing.
 */
static int rules(struct stw_test *t, void *ud)
{
	(void)ud;
	ISSUE(t, "d1", "c1", 1000);
	ISSUE(t, "d3", "c1", 30);
	VOID(t, "d3", "p3");
	expect_document(t, "d3", "voided", 1);
	long billing = stw_test_count_events(t, "Billing", NULL);

	for (size_t i = 0; i < sizeof command_cases / sizeof command_cases[0]; i++) {
		const struct command_case *c = &command_cases[i];
		int rc = c->refusal == NULL ? stw_test_when(t, c->context, c->type, c->data, NULL)
					    : stw_test_expect_refused(t, c->context, c->type,
								      c->data, NULL, c->refusal);
		if (rc != 0)
			fail_msg("case %zu (%s %s): %s", i, c->type, c->data, stw_test_why(t));
	}
	assert_int_equal(stw_test_count_events(t, "Billing", NULL), billing);
	return stw_test_expect_events(t, "Reports", "report-c1", NULL,
				      "DocumentAddedToReport DocumentAddedToReport "
				      "MarkingDocumentAsVoidedSucceeded ReportPublished");
}

/*
 * voiding-5.3: the views. Customers are listed once each and sorted; an
 * unknown document or report is STW_ENOTFOUND, an invalid id STW_EINVAL; a
 * report lists its documents with the voided ones marked and left out of
 * the total.
 */
static int views(struct stw_test *t, void *ud)
{
	(void)ud;
	json_t *list = NULL, *r = NULL, *docs;
	ISSUE(t, "d1", "c2", 100);
	ISSUE(t, "d2", "c1", 200);
	ISSUE(t, "d3", "c3", 300);
	ISSUE(t, "d4", "c1", 400);
	VOID(t, "d2", NULL);

	struct stw_engine *e = stw_test_engine(t);
	assert_int_equal(voiding_customers(e, &list), STW_OK);
	assert_int_equal(json_array_size(list), 3);
	assert_string_equal(json_string_value(json_array_get(list, 0)), "c1");
	assert_string_equal(json_string_value(json_array_get(list, 1)), "c2");
	assert_string_equal(json_string_value(json_array_get(list, 2)), "c3");
	json_decref(list);

	assert_int_equal(voiding_report(e, "c1", &r), STW_OK);
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 400);
	docs = json_object_get(r, "documents");
	assert_int_equal(json_array_size(docs), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(docs, 0), "document_id")), "d2");
	assert_true(json_is_true(json_object_get(json_array_get(docs, 0), "voided")));
	assert_true(json_is_false(json_object_get(json_array_get(docs, 1), "voided")));
	json_decref(r);

	r = NULL;
	assert_int_equal(voiding_report(e, "c9", &r), STW_ENOTFOUND);
	assert_null(r);
	assert_int_equal(voiding_document(e, "d9", &r), STW_ENOTFOUND);
	assert_int_equal(voiding_document(e, "", &r), STW_EINVAL);
	assert_null(r);
	return 0;
}

/*
 * voiding-5.4: a report's total never overflows: documents of the largest
 * amount are added until the total could not hold another (92 * 10^17 fits
 * in a long long, 93 do not), which is refused with its reason; the total
 * stays the exact sum.
 */
static int total_bounded(struct stw_test *t, void *ud)
{
	(void)ud;
	char data[160];
	for (int i = 0; i <= 92; i++) {
		snprintf(data, sizeof(data),
			 "{\"document_id\":\"big-%d\",\"customer\":\"whale\",\"amount\":%lld}", i,
			 VOIDING_MAX_AMOUNT);
		if (i < 92)
			stw_test_when(t, "Reports", "AddDocumentToReport", data, NULL);
	}
	stw_test_expect_refused(t, "Reports", "AddDocumentToReport", data, NULL,
				"would pass the largest amount");
	expect_report(t, "whale", 92 * VOIDING_MAX_AMOUNT, 0);
	return 0;
}

/* ------------------------------------------------------------------------ */

/* A scenario as cmocka runs it: once, on a fresh store, under its faults. */
struct scenario {
	int (*fn)(struct stw_test *t, void *ud);
	const void *param;
	stw_test_setup_fn setup; /* NULL: voiding_register */
	unsigned faults;
};

static void test_scenario(void **state)
{
	const struct scenario *s = *state;
	play(s->fn, s->param, s->setup ? s->setup : setup, s->faults, 1);
}

#define SCENARIO(name, fn, param, faults)                                                          \
	{                                                                                          \
		name, test_scenario, NULL, NULL, (void *)&(const struct scenario)                  \
		{                                                                                  \
			fn, param, NULL, faults                                                    \
		}                                                                                  \
	}

int main(void)
{
	const struct CMUnitTest scenarios[] = {
		SCENARIO("voiding-1.1 void succeeds", void_flow, &void_succeeds, 0),
		SCENARIO("voiding-1.2 void fails when the report is published", void_flow,
			 &void_fails_published, 0),
		SCENARIO("voiding-1.3 a document voided as soon as it is issued", void_flow,
			 &void_at_once, 0),
		SCENARIO("voiding-1.4 a voiding takes one round and one commit", one_round, NULL,
			 0),
		{ "voiding-1.5 Reports stubbed to refuse every marking", test_scenario, NULL, NULL,
		  (void *)&(const struct scenario){ reports_stubbed, NULL, setup_billing_only,
						    0 } },
		SCENARIO("voiding-2.1 the same event delivered twice changes nothing",
			 same_event_twice, NULL, 0),
		SCENARIO("voiding-2.2 a command delivered twice is applied once", command_twice,
			 NULL, STW_TEST_DUPLICATES),
		{ "voiding-2.3 1.1 to 1.3 under every fault", test_under_faults, NULL, NULL, NULL },
		SCENARIO("voiding-3.1 a second void request while one is active is rejected",
			 second_request_rejected, NULL, 0),
		SCENARIO("voiding-3.2 acknowledge, then void again", acknowledge_then_again, NULL,
			 0),
		SCENARIO("voiding-4.1 a stale expected version conflicts", stale_version, NULL, 0),
		SCENARIO(
		    "voiding-4.2 a message the state machine does not accept fails the process",
		    message_not_accepted, NULL, 0),
		SCENARIO("voiding-5.1 voiding an unknown document is rejected", void_unknown, NULL,
			 0),
		SCENARIO("voiding-5.2 the services refuse what their rules forbid", rules, NULL, 0),
		SCENARIO("voiding-5.3 documents, reports and customers views", views, NULL, 0),
		SCENARIO("voiding-5.4 a report's total never overflows", total_bounded, NULL, 0),
	};

	return cmocka_run_group_tests_name("voiding", scenarios, NULL, NULL);
}
