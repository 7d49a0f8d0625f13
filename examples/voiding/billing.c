/*
 * billing.c - the Billing context of the voiding example: an event-sourced
 * document aggregate (one stream "document-<id>" per document), its command
 * handler, the calls that send it commands and the document view.
 *
 * A document's state is never stored apart from its events: every command
 * folds the stream, decides, and emits at the version it read, so two
 * commands racing on one document cannot both succeed.
 */
#include <stdio.h>
#include <string.h>

#include "voiding.h"
#include "voiding_int.h"

enum doc_status {
	DOC_NONE = 0, /* no DocumentIssued yet */
	DOC_ISSUED,
	DOC_VOIDING, /* a voiding was requested and neither completed nor aborted */
	DOC_VOIDED,
};

/* A document folded from its stream. */
struct doc_state {
	enum doc_status status;
	char customer[VOIDING_MAX_VALUE + 1];
	long long amount;         /* cents */
	int voidings;             /* DocumentVoidingRequested events seen */
	char process[STW_MAX_ID]; /* the voiding in progress: its request's correlation id */
};

static const char *const doc_status_names[] = { "none", "issued", "voiding", "voided" };

int voiding__valid_value(const char *s)
{
	if (s == NULL || s[0] == '\0' || strlen(s) > VOIDING_MAX_VALUE)
		return 0;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

const char *voiding__value(const json_t *obj, const char *field)
{
	const char *s = json_string_value(json_object_get(obj, field));

	return voiding__valid_value(s) ? s : NULL;
}

int voiding__stream(char *buf, size_t cap, const char *prefix, const char *value)
{
	int n;

	if (!voiding__valid_value(value))
		return STW_EINVAL;
	n = snprintf(buf, cap, "%s%s", prefix, value);
	if (n < 0 || (size_t)n >= cap)
		return STW_EINVAL;
	return STW_OK;
}

/* Folds one event of a document stream into the struct doc_state at ud. */
static int doc_fold(const struct stw_event *ev, void *ud)
{
	struct doc_state *d = ud;

	if (strcmp(ev->type, "DocumentIssued") == 0) {
		const char *customer = stw_event_str(ev, "customer");
		json_t *amount = json_object_get(ev->data, "amount");

		d->status = DOC_ISSUED;
		snprintf(d->customer, sizeof d->customer, "%s", customer ? customer : "");
		d->amount = json_is_integer(amount) ? (long long)json_integer_value(amount) : 0;
	} else if (strcmp(ev->type, "DocumentVoidingRequested") == 0) {
		if (d->status != DOC_VOIDING) /* the first request of a voiding names it */
			snprintf(d->process, sizeof d->process, "%s",
				 ev->correlation_id ? ev->correlation_id : "");
		d->status = DOC_VOIDING;
		d->voidings++;
	} else if (strcmp(ev->type, "DocumentVoided") == 0) {
		d->status = DOC_VOIDED;
	} else if (strcmp(ev->type, "DocumentVoidingAborted") == 0) {
		d->status = DOC_ISSUED;
	}
	return 0;
}

/* Emits `type` {document_id, customer} at `version`; consumes nothing it does not create. */
static int emit_doc_event(struct stw_service_ctx *sc, const char *stream, int64_t version,
			  const char *type, const char *document_id, const char *customer)
{
	json_t *data = json_pack("{s:s, s:s}", "document_id", document_id, "customer", customer);

	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, type, data);
}

/*
 * IssueDocument {document_id, customer, amount}: creates the document. It is
 * refused if the document exists or a field is missing or invalid.
 */
static int issue(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *document_id,
		 const char *stream, const struct doc_state *d, int64_t version)
{
	const char *customer = voiding__value(cmd->data, "customer");
	json_t *amount = json_object_get(cmd->data, "amount");
	json_t *data;

	if (customer == NULL)
		return stw_reject(sc,
				  "IssueDocument: customer must be a non-empty string of at most "
				  "%d bytes",
				  VOIDING_MAX_VALUE);
	if (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
	    json_integer_value(amount) > VOIDING_MAX_AMOUNT)
		return stw_reject(sc,
				  "IssueDocument: amount must be an integer number of cents "
				  "from 0 to %lld",
				  VOIDING_MAX_AMOUNT);
	if (d->status != DOC_NONE || version != 0)
		return stw_reject(sc, "document %s already exists", document_id);
	data = json_pack("{s:s, s:s, s:I}", "document_id", document_id, "customer", customer,
			 "amount", json_integer_value(amount));
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "DocumentIssued", data);
}

int voiding__billing_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *document_id;
	char stream[VOIDING_STREAM_CAP];
	struct doc_state d = { 0 };
	int64_t version = 0;
	int rc;

	(void)ud;
	if (strcmp(cmd->type, "IssueDocument") != 0 && strcmp(cmd->type, "VoidDocument") != 0 &&
	    strcmp(cmd->type, "CompleteDocumentVoiding") != 0 &&
	    strcmp(cmd->type, "AbortDocumentVoiding") != 0)
		return stw_reject(sc, "Billing does not handle %s", cmd->type);
	document_id = voiding__value(cmd->data, "document_id");
	if (document_id == NULL)
		return stw_reject(sc,
				  "%s: document_id must be a non-empty string of at most %d bytes",
				  cmd->type, VOIDING_MAX_VALUE);
	rc = voiding__stream(stream, sizeof stream, "document-", document_id);
	if (rc != STW_OK)
		return stw_reject(sc, "%s: invalid document_id", cmd->type);
	rc = stw_svc_read_stream(sc, stream, doc_fold, &d, &version);
	if (rc != STW_OK)
		return rc;

	if (strcmp(cmd->type, "IssueDocument") == 0)
		return issue(sc, cmd, document_id, stream, &d, version);
	if (d.status == DOC_NONE)
		return stw_reject(sc, "document %s does not exist", document_id);
	if (strcmp(cmd->type, "VoidDocument") == 0) {
		/*
		 * A request while another voiding is in progress is accepted on
		 * purpose: the voiding process's uniqueness key is what refuses
		 * the second process, and it says so where a person looks.
		 */
		if (d.status == DOC_VOIDED)
			return stw_reject(sc, "document %s is already voided", document_id);
		return emit_doc_event(sc, stream, version, "DocumentVoidingRequested", document_id,
				      d.customer);
	}
	if (d.status != DOC_VOIDING)
		return stw_reject(sc, "document %s has no voiding in progress (it is %s)",
				  document_id, doc_status_names[d.status]);
	if (strcmp(cmd->type, "CompleteDocumentVoiding") == 0)
		return emit_doc_event(sc, stream, version, "DocumentVoided", document_id,
				      d.customer);
	return emit_doc_event(sc, stream, version, "DocumentVoidingAborted", document_id,
			      d.customer);
}

/* Sets obj[field] to the string s when s is not NULL; returns non-zero on failure. */
static int set_str(json_t *obj, const char *field, const char *s)
{
	return s != NULL && json_object_set_new(obj, field, json_string(s)) != 0;
}

int voiding_issue_document(struct stw_engine *e, const char *document_id, const char *customer,
			   long long amount, const char *command_id)
{
	json_t *data = json_object();
	int rc;

	/* Missing fields are left out so that the service refuses them with a reason. */
	if (data == NULL || set_str(data, "document_id", document_id) ||
	    set_str(data, "customer", customer) ||
	    json_object_set_new(data, "amount", json_integer(amount)) != 0) {
		json_decref(data);
		return STW_ENOMEM;
	}
	rc = stw_execute(e, "Billing", "IssueDocument", data, command_id, NULL, NULL);
	json_decref(data);
	return rc;
}

int voiding_void_document(struct stw_engine *e, const char *document_id, const char *process_id,
			  char *id_out)
{
	char fresh[37];
	json_t *data = json_object();
	int rc;

	if (data == NULL || set_str(data, "document_id", document_id)) {
		json_decref(data);
		return STW_ENOMEM;
	}
	if (process_id == NULL) {
		stw_new_id(fresh);
		process_id = fresh;
	}
	/* The command id is the process id, and so is the correlation id of all that follows. */
	rc = stw_execute(e, "Billing", "VoidDocument", data, process_id, process_id, NULL);
	json_decref(data);
	if (id_out != NULL)
		snprintf(id_out, STW_MAX_ID, "%s", process_id);
	return rc;
}

int voiding_document(struct stw_engine *e, const char *document_id, json_t **out)
{
	char stream[VOIDING_STREAM_CAP];
	struct doc_state d = { 0 };
	int64_t version = 0;
	int rc;

	*out = NULL;
	rc = voiding__stream(stream, sizeof stream, "document-", document_id);
	if (rc != STW_OK)
		return rc;
	rc = stw_read_stream(e, "Billing", stream, doc_fold, &d, &version);
	if (rc != STW_OK)
		return rc;
	if (d.status == DOC_NONE)
		return STW_ENOTFOUND;
	*out = json_pack("{s:s, s:s, s:I, s:s, s:i, s:s?}", "document_id", document_id, "customer",
			 d.customer, "amount", (json_int_t)d.amount, "status",
			 doc_status_names[d.status], "voidings", d.voidings, "voiding_process",
			 d.status == DOC_VOIDING && d.process[0] ? d.process : NULL);
	return *out != NULL ? STW_OK : STW_ENOMEM;
}
