/*
 * process.c - the two process definitions of the voiding example and the
 * registration of everything with an engine.
 *
 * "reports-feed" is a stateless policy: every DocumentIssued of Billing
 * becomes an AddDocumentToReport for Reports.
 *
 * "voiding" is the seed's state machine. Its instance id is the correlation
 * id of the VoidDocument command that started it (the process id), and its
 * uniqueness key, the document id, keeps at most one voiding per document
 * active or failed at a time.
 *
 * The state machine (commands sent on each arrow in brackets):
 *
 *   start -- DocumentVoidingRequested --> VoidingRequested
 *       [Reports.MarkDocumentAsVoided]
 *   VoidingRequested -- MarkingDocumentAsVoidedSucceeded -->
 *       MarkingDocumentAsVoidedSucceeded  [Billing.CompleteDocumentVoiding]
 *   VoidingRequested -- MarkingDocumentAsVoidedFailed -->
 *       MarkingDocumentAsVoidedFailed (failure)  [Billing.AbortDocumentVoiding]
 *   MarkingDocumentAsVoidedSucceeded -- DocumentVoided --> DocumentVoided (terminal)
 *   MarkingDocumentAsVoidedFailed -- DocumentVoidingAborted --> (stays)
 *   acknowledging the failure --> FailureAcknowledged (terminal)
 */
#include <stddef.h>

#include "voiding.h"
#include "voiding_int.h"

/*
 * Builds a payload holding copies of the named fields of `src` (a list ended
 * by NULL). Every field must be present: a process whose data lacks one is a
 * bug worth failing on, not a command to send half-empty.
 */
static int copy_fields(const json_t *src, json_t **payload, const char *const *fields)
{
	json_t *p = json_object();

	*payload = NULL;
	if (p == NULL)
		return STW_ENOMEM;
	for (; *fields != NULL; fields++) {
		json_t *v = json_object_get(src, *fields);

		if (v == NULL) {
			json_decref(p);
			return STW_EINVAL;
		}
		if (json_object_set_new(p, *fields, json_deep_copy(v)) != 0) {
			json_decref(p);
			return STW_ENOMEM;
		}
	}
	*payload = p;
	return STW_OK;
}

static const char *const issued_fields[] = { "document_id", "customer", "amount", NULL };
static const char *const document_fields[] = { "document_id", "customer", NULL };
static const char *const id_fields[] = { "document_id", NULL };

/* AddDocumentToReport from the DocumentIssued event (the policy keeps no data). */
static int feed_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->event->data, payload, issued_fields);
}

/* MarkDocumentAsVoided {document_id, customer} from the instance data. */
static int mark_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, document_fields);
}

/* Complete/AbortDocumentVoiding {document_id} from the instance data. */
static int document_payload(const struct stw_step_info *si, json_t **payload)
{
	return copy_fields(si->data, payload, id_fields);
}

/* The uniqueness key of a voiding: the document it voids. */
static const char *voiding_key(const struct stw_event *ev, void *ud)
{
	(void)ud;
	return stw_event_str(ev, "document_id");
}

static const char *const billing_source[] = { "Billing", NULL };
static const char *const both_sources[] = { "Billing", "Reports", NULL };

static const struct stw_command_def feed_commands[] = {
	{ "Reports", "AddDocumentToReport", feed_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def feed_transitions[] = {
	{ NULL, "DocumentIssued", NULL, feed_commands, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct stw_definition voiding_reports_feed = {
	.name = "reports-feed",
	.version = 1,
	.sources = billing_source,
	.states = NULL,
	.transitions = feed_transitions,
	.delivery = STW_AT_LEAST_ONCE,
};

static const struct stw_state_def voiding_states[] = {
	{ "VoidingRequested", STW_STATE_ACTIVE },
	{ "MarkingDocumentAsVoidedSucceeded", STW_STATE_ACTIVE },
	{ "MarkingDocumentAsVoidedFailed", STW_STATE_FAILURE },
	{ "DocumentVoided", STW_STATE_TERMINAL },
	{ "FailureAcknowledged", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};

static const struct stw_command_def mark_commands[] = {
	{ "Reports", "MarkDocumentAsVoided", mark_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def complete_commands[] = {
	{ "Billing", "CompleteDocumentVoiding", document_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_command_def abort_commands[] = {
	{ "Billing", "AbortDocumentVoiding", document_payload },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def voiding_transitions[] = {
	{ NULL, "DocumentVoidingRequested", "VoidingRequested", mark_commands, NULL, NULL },
	{ "VoidingRequested", "MarkingDocumentAsVoidedSucceeded",
	  "MarkingDocumentAsVoidedSucceeded", complete_commands, NULL, NULL },
	{ "VoidingRequested", "MarkingDocumentAsVoidedFailed", "MarkingDocumentAsVoidedFailed",
	  abort_commands, NULL, NULL },
	{ "MarkingDocumentAsVoidedSucceeded", "DocumentVoided", "DocumentVoided", NULL, NULL,
	  NULL },
	{ "MarkingDocumentAsVoidedFailed", "DocumentVoidingAborted", NULL, NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

const struct stw_definition voiding_definition = {
	.name = "voiding",
	.version = 1,
	.sources = both_sources,
	.states = voiding_states,
	.transitions = voiding_transitions,
	.ack_state = "FailureAcknowledged",
	.correlate = NULL, /* the event's correlation id: the process id */
	.unique_key = voiding_key,
	.delivery = STW_AT_LEAST_ONCE,
};

int voiding_register_billing(struct stw_engine *e)
{
	return stw_register_service(e, "Billing", voiding__billing_handle, NULL);
}

int voiding_register_reports(struct stw_engine *e)
{
	return stw_register_service(e, "Reports", voiding__reports_handle, NULL);
}

int voiding_register_processes(struct stw_engine *e)
{
	/*
	 * The feed is defined first so that, in a round where a document is
	 * issued and voided at once, its AddDocumentToReport is queued before
	 * the voiding's MarkDocumentAsVoided.
	 */
	int rc = stw_define(e, &voiding_reports_feed);

	if (rc == STW_OK)
		rc = stw_define(e, &voiding_definition);
	return rc;
}

int voiding_register(struct stw_engine *e)
{
	int rc = voiding_register_billing(e);

	if (rc == STW_OK)
		rc = voiding_register_reports(e);
	if (rc == STW_OK)
		rc = voiding_register_processes(e);
	return rc;
}
