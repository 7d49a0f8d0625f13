/*
 * test_voiding_kit.c - the seed's voiding scenarios written with the kit of
 * steward_test.h, as a user of Steward writes them, and run again under
 * every fault (events handled twice, the engine reopened between steps)
 * for 30 seeds, with the process's invariants checked at the end of each.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <steward_test.h>

#include "voiding.h"

static int setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	return voiding_register(e);
}

#define DOC(id, customer)                                                                          \
	"{\"document_id\":\"" id "\",\"customer\":\"" customer "\",\"amount\":1000}"

/* A document of a report not yet published is voided: marked in the report, then voided. */
static int voided(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_when(t, "Billing", "IssueDocument", DOC("d1", "acme"), NULL);
	stw_test_when(t, "Billing", "VoidDocument", "{\"document_id\":\"d1\"}", "v1");
	stw_test_expect_state(t, "voiding", "v1", "DocumentVoided", "completed");
	stw_test_expect_sent(t, "voiding", "v1", "Reports", "MarkDocumentAsVoided",
			     "{\"document_id\":\"d1\"}", 1);
	stw_test_expect_sent(t, "voiding", "v1", "Billing", "CompleteDocumentVoiding", NULL, 1);
	return stw_test_count_events(t, "Billing", "DocumentVoided") == 1 ? 0 : -1;
}

/* The report is published: the marking fails, Billing aborts, the process waits for a person. */
static int aborted(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_when(t, "Billing", "IssueDocument", DOC("d1", "acme"), NULL);
	stw_test_when(t, "Reports", "PublishReport", "{\"customer\":\"acme\"}", NULL);
	stw_test_when(t, "Billing", "VoidDocument", "{\"document_id\":\"d1\"}", "v1");
	stw_test_expect_state(t, "voiding", "v1", "MarkingDocumentAsVoidedFailed", "failed");
	stw_test_expect_sent(t, "voiding", "v1", "Billing", "AbortDocumentVoiding", NULL, 1);
	stw_test_expect_sent(t, "voiding", "v1", "Billing", "CompleteDocumentVoiding", NULL, 0);
	if (stw_test_count_events(t, "Billing", "DocumentVoidingAborted") != 1 ||
	    stw_test_count_events(t, "Billing", "DocumentVoided") != 0)
		return -1;
	return 0;
}

/* Reports stubbed: it refuses every marking (a report service that is down for good). */
static int stubbed(struct stw_test *t, void *ud)
{
	(void)ud;
	stw_test_when(t, "Billing", "IssueDocument", DOC("d1", "acme"), NULL);
	stw_test_when(t, "Billing", "VoidDocument", "{\"document_id\":\"d1\"}", "v1");
	return stw_test_expect_state(t, "voiding", "v1", "MarkingDocumentAsVoidedFailed", "failed");
}

static int setup_billing_only(struct stw_engine *e, void *ud)
{
	(void)ud;
	int rc = voiding_register_billing(e);
	return rc == STW_OK ? voiding_register_processes(e) : rc;
}

static int stub_reports(struct stw_test *t, void *ud)
{
	stw_test_stub(t, "Reports", "AddDocumentToReport", "DocumentAddedToReport", NULL);
	stw_test_stub(t, "Reports", "MarkDocumentAsVoided", "MarkingDocumentAsVoidedFailed", NULL);
	return stubbed(t, ud);
}

static void test_voided(void **state)
{
	(void)state;
	struct stw_test_options o = { 0 };
	assert_int_equal(stw_test_run(&o, 1, setup, NULL, voided, NULL), 0);
}

static void test_aborted(void **state)
{
	(void)state;
	struct stw_test_options o = { 0 };
	assert_int_equal(stw_test_run(&o, 1, setup, NULL, aborted, NULL), 0);
}

static void test_stubbed(void **state)
{
	(void)state;
	struct stw_test_options o = { 0 };
	assert_int_equal(stw_test_run(&o, 1, setup_billing_only, NULL, stub_reports, NULL), 0);
}

static void test_under_faults(void **state)
{
	(void)state;
	struct stw_test_options o = { .faults = STW_TEST_ALL_FAULTS, .seed = 1000 };
	assert_int_equal(stw_test_run(&o, 30, setup, NULL, voided, NULL), 0);
	assert_int_equal(stw_test_run(&o, 30, setup, NULL, aborted, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_voided),
		cmocka_unit_test(test_aborted),
		cmocka_unit_test(test_stubbed),
		cmocka_unit_test(test_under_faults),
	};
	return cmocka_run_group_tests_name("voiding with the kit", tests, NULL, NULL);
}
