/*
 * reports.c - the Reports context of the voiding example: one event-sourced
 * report per customer (stream "report-<customer>"), its command handler, the
 * call that publishes a report and the report views.
 *
 * The rule the voiding process exists for lives here: once a report is
 * published, none of its documents may leave it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "voiding.h"
#include "voiding_int.h"

/* A report folded from its stream. */
struct report_state {
	int published;
	json_t *docs;  /* array of {document_id, amount, voided}, in the order added */
	json_t *index; /* object: document_id -> the same entry as in docs */
	int oom;       /* the fold ran out of memory */
};

/* Prepares an empty report; returns STW_ENOMEM on failure (then release it anyway). */
static int report_init(struct report_state *r)
{
	r->published = 0;
	r->oom = 0;
	r->docs = json_array();
	r->index = json_object();
	return r->docs != NULL && r->index != NULL ? STW_OK : STW_ENOMEM;
}

static void report_release(struct report_state *r)
{
	json_decref(r->docs);
	json_decref(r->index);
	r->docs = NULL;
	r->index = NULL;
}

/* Folds one event of a report stream into the struct report_state at ud. */
static int report_fold(const struct stw_event *ev, void *ud)
{
	struct report_state *r = ud;
	const char *document_id = stw_event_str(ev, "document_id");

	if (strcmp(ev->type, "ReportPublished") == 0) {
		r->published = 1;
	} else if (strcmp(ev->type, "DocumentAddedToReport") == 0 && document_id != NULL &&
		   json_object_get(r->index, document_id) == NULL) {
		json_t *amount = json_object_get(ev->data, "amount");
		json_t *entry = json_pack("{s:s, s:I, s:b}", "document_id", document_id, "amount",
					  json_is_integer(amount) ? json_integer_value(amount) : 0,
					  "voided", 0);

		if (entry == NULL || json_array_append(r->docs, entry) != 0 ||
		    json_object_set(r->index, document_id, entry) != 0)
			r->oom = 1;
		json_decref(entry);
	} else if (strcmp(ev->type, "MarkingDocumentAsVoidedSucceeded") == 0 &&
		   document_id != NULL) {
		json_t *entry = json_object_get(r->index, document_id);

		if (entry != NULL && json_object_set_new(entry, "voided", json_true()) != 0)
			r->oom = 1;
	}
	return r->oom;
}

/*
 * Sum of the amounts of the documents not voided. AddDocumentToReport keeps
 * the sum of all of them within a long long, so this one is too; a stored
 * report that passes it anyway (written before that check) shows the
 * largest value rather than a wrapped one.
 */
static long long report_total(const struct report_state *r)
{
	long long total = 0;
	size_t i;
	json_t *entry;

	json_array_foreach(r->docs, i, entry)
	{
		long long amount = (long long)json_integer_value(json_object_get(entry, "amount"));
		if (!json_is_true(json_object_get(entry, "voided")) &&
		    __builtin_add_overflow(total, amount, &total))
			return LLONG_MAX;
	}
	return total;
}

/* 1 if adding `amount` to the report would pass the largest total (voided documents count). */
static int total_would_overflow(const struct report_state *r, long long amount)
{
	long long total = 0;
	size_t i;
	json_t *entry;

	json_array_foreach(r->docs, i, entry)
	{
		long long a = (long long)json_integer_value(json_object_get(entry, "amount"));
		if (__builtin_add_overflow(total, a, &total))
			return 1;
	}
	return __builtin_add_overflow(total, amount, &total);
}

/* Emits MarkingDocumentAsVoidedFailed {document_id, reason} at `version`. */
static int mark_failed(struct stw_service_ctx *sc, const char *stream, int64_t version,
		       const char *document_id, const char *reason)
{
	json_t *data = json_pack("{s:s, s:s}", "document_id", document_id, "reason", reason);

	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "MarkingDocumentAsVoidedFailed", data);
}

/*
 * Decides one command on a folded report. A refusal of MarkDocumentAsVoided is
 * not a rejection but an event: the voiding process waits for an answer
 * either way.
 */
static int decide(struct stw_service_ctx *sc, const struct stw_command *cmd, const char *customer,
		  const char *stream, const struct report_state *r, int64_t version)
{
	const char *document_id = voiding__value(cmd->data, "document_id");
	json_t *entry = document_id != NULL ? json_object_get(r->index, document_id) : NULL;
	json_t *data;

	if (strcmp(cmd->type, "PublishReport") == 0) {
		if (json_array_size(r->docs) == 0)
			return stw_reject(sc, "customer %s has no report", customer);
		if (r->published)
			return stw_reject(sc, "the report of %s is already published", customer);
		data = json_pack("{s:s}", "customer", customer);
		if (data == NULL)
			return STW_ENOMEM;
		return stw_svc_emit(sc, stream, version, "ReportPublished", data);
	}
	if (document_id == NULL)
		return stw_reject(sc,
				  "%s: document_id must be a non-empty string of at most %d bytes",
				  cmd->type, VOIDING_MAX_VALUE);
	if (strcmp(cmd->type, "AddDocumentToReport") == 0) {
		json_t *amount = json_object_get(cmd->data, "amount");

		if (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
		    json_integer_value(amount) > VOIDING_MAX_AMOUNT)
			return stw_reject(sc,
					  "AddDocumentToReport: amount must be an integer "
					  "number of cents from 0 to %lld",
					  VOIDING_MAX_AMOUNT);
		if (entry != NULL)
			return STW_OK; /* already there: adding twice changes nothing */
		if (total_would_overflow(r, (long long)json_integer_value(amount)))
			return stw_reject(sc,
					  "the report of %s cannot hold more: its total "
					  "would pass the largest amount",
					  customer);
		data = json_pack("{s:s, s:s, s:I}", "document_id", document_id, "customer",
				 customer, "amount", json_integer_value(amount));
		if (data == NULL)
			return STW_ENOMEM;
		return stw_svc_emit(sc, stream, version, "DocumentAddedToReport", data);
	}
	/* MarkDocumentAsVoided */
	if (entry == NULL)
		return mark_failed(sc, stream, version, document_id, "document not in report");
	if (r->published)
		return mark_failed(sc, stream, version, document_id, "report already published");
	if (json_is_true(json_object_get(entry, "voided")))
		return mark_failed(sc, stream, version, document_id, "document already voided");
	data = json_pack("{s:s}", "document_id", document_id);
	if (data == NULL)
		return STW_ENOMEM;
	return stw_svc_emit(sc, stream, version, "MarkingDocumentAsVoidedSucceeded", data);
}

int voiding__reports_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	const char *customer;
	char stream[VOIDING_STREAM_CAP];
	struct report_state r;
	int64_t version = 0;
	int rc;

	(void)ud;
	if (strcmp(cmd->type, "AddDocumentToReport") != 0 &&
	    strcmp(cmd->type, "MarkDocumentAsVoided") != 0 &&
	    strcmp(cmd->type, "PublishReport") != 0)
		return stw_reject(sc, "Reports does not handle %s", cmd->type);
	customer = voiding__value(cmd->data, "customer");
	if (customer == NULL ||
	    voiding__stream(stream, sizeof stream, "report-", customer) != STW_OK)
		return stw_reject(sc, "%s: customer must be a non-empty string of at most %d bytes",
				  cmd->type, VOIDING_MAX_VALUE);
	rc = report_init(&r);
	if (rc == STW_OK)
		rc = stw_svc_read_stream(sc, stream, report_fold, &r, &version);
	if (rc == STW_OK && r.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK)
		rc = decide(sc, cmd, customer, stream, &r, version);
	report_release(&r);
	return rc;
}

int voiding_publish_report(struct stw_engine *e, const char *customer, const char *command_id)
{
	json_t *data = json_object();
	int rc;

	if (data == NULL ||
	    (customer != NULL && json_object_set_new(data, "customer", json_string(customer)))) {
		json_decref(data);
		return STW_ENOMEM;
	}
	rc = stw_execute(e, "Reports", "PublishReport", data, command_id, NULL, NULL);
	json_decref(data);
	return rc;
}

int voiding_report(struct stw_engine *e, const char *customer, json_t **out)
{
	char stream[VOIDING_STREAM_CAP];
	struct report_state r;
	int64_t version = 0;
	int rc;

	*out = NULL;
	rc = voiding__stream(stream, sizeof stream, "report-", customer);
	if (rc != STW_OK)
		return rc;
	rc = report_init(&r);
	if (rc == STW_OK)
		rc = stw_read_stream(e, "Reports", stream, report_fold, &r, &version);
	if (rc == STW_OK && r.oom)
		rc = STW_ENOMEM;
	if (rc == STW_OK && json_array_size(r.docs) == 0)
		rc = STW_ENOTFOUND;
	if (rc == STW_OK) {
		*out = json_pack("{s:s, s:b, s:I, s:O}", "customer", customer, "published",
				 r.published, "total", (json_int_t)report_total(&r), "documents",
				 r.docs);
		if (*out == NULL)
			rc = STW_ENOMEM;
	}
	report_release(&r);
	return rc;
}

/* Collects the customers of DocumentAddedToReport events into a set. */
struct customer_scan {
	json_t *set;      /* object used as a set of customers */
	int64_t position; /* last position read */
	int oom;
};

static int collect_customer(const struct stw_event *ev, void *ud)
{
	struct customer_scan *cs = ud;
	const char *customer = stw_event_str(ev, "customer");

	cs->position = ev->position;
	if (strcmp(ev->type, "DocumentAddedToReport") == 0 && customer != NULL &&
	    json_object_set_new(cs->set, customer, json_true()) != 0)
		cs->oom = 1;
	return cs->oom;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int voiding_customers(struct stw_engine *e, json_t **out)
{
	enum { PAGE = 512 };
	struct customer_scan cs = { json_object(), 0, 0 };
	const char **keys = NULL;
	const char *key;
	json_t *value;
	json_t *list = NULL;
	size_t n = 0, i;
	int count = 0;
	int rc = cs.set != NULL ? STW_OK : STW_ENOMEM;

	*out = NULL;
	/* The Reports log is read a page at a time so that memory stays bounded by the answer. */
	while (rc == STW_OK) {
		rc = stw_read(e, "Reports", cs.position, PAGE, collect_customer, &cs, &count);
		if (rc == STW_OK && cs.oom)
			rc = STW_ENOMEM;
		if (count < PAGE)
			break;
	}
	if (rc == STW_OK) {
		keys = malloc((json_object_size(cs.set) + 1) * sizeof *keys);
		list = json_array();
		if (keys == NULL || list == NULL)
			rc = STW_ENOMEM;
	}
	if (rc == STW_OK) {
		json_object_foreach(cs.set, key, value) keys[n++] = key;
		qsort(keys, n, sizeof *keys, compare_strings);
		for (i = 0; i < n && rc == STW_OK; i++) {
			if (json_array_append_new(list, json_string(keys[i])) != 0)
				rc = STW_ENOMEM;
		}
	}
	if (rc == STW_OK) {
		*out = list;
		list = NULL;
	}
	json_decref(list);
	free(keys);
	json_decref(cs.set);
	return rc;
}
