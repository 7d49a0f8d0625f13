/*
 * demo_voiding.c - the voiding demo's part of the daemon: registering the
 * example, the simulator, and the routes under /api/demo/voiding/ that the
 * page uses (documents, reports, processes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "voiding.h"

int stw__cli_demo_voiding_setup(struct stw_engine *e, void *ud)
{
	(void)ud;
	return voiding_register(e);
}

void stw__cli_demo_voiding_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud)
{
	(void)ud;
	static const char *const customers[] = { "acme", "globex", "initech" };
	char doc[64];
	snprintf(doc, sizeof(doc), "doc-%d-%u", tick, (unsigned)rand_r(rng) % 100000);
	const char *customer = customers[rand_r(rng) % 3];
	long long amount = 100 + rand_r(rng) % 99900;
	if (voiding_issue_document(e, doc, customer, amount, NULL) != STW_OK)
		fprintf(stderr, "steward: issue %s: %s\n", doc, stw_errmsg(e));
	else
		printf("> IssueDocument %s for %s, %lld.%02lld\n", doc, customer, amount / 100,
		       amount % 100);
}

/* The active or failed voiding processes, newest first, into arr. */
static int open_processes(struct stw_engine *e, json_t *arr)
{
	static const char *const statuses[] = { "failed", "active" };
	for (int i = 0; i < 2; i++) {
		struct stw_instance_filter f = { .definition = voiding_definition.name,
						 .status = statuses[i],
						 .limit = 1000 };
		json_t *l = NULL;
		int rc = stw_list_instances(e, &f, &l);
		if (rc != STW_OK)
			return rc;
		json_array_extend(arr, l);
		json_decref(l);
	}
	return STW_OK;
}

/*
 * The voiding process Billing recorded for each document the reports r1 list
 * as not voided, into requested (document id -> process id).
 */
static int requested_voidings(struct stw_engine *e, const json_t *r1, json_t *requested)
{
	size_t i, j;
	json_t *rep, *d;
	json_array_foreach(r1, i, rep)
	{
		json_array_foreach(json_object_get(rep, "documents"), j, d)
		{
			const char *doc = json_string_value(json_object_get(d, "document_id"));
			json_t *billing = NULL;
			if (doc == NULL || json_is_true(json_object_get(d, "voided")) ||
			    voiding_document(e, doc, &billing) != STW_OK)
				continue;
			json_t *p = json_object_get(billing, "voiding_process");
			if (json_is_string(p))
				json_object_set(requested, doc, p);
			json_decref(billing);
		}
	}
	return STW_OK;
}

/* Every customer's report, as voiding_report gives them, into a new array *out. */
static int all_reports(struct stw_engine *e, json_t **out)
{
	json_t *customers = NULL, *c;
	*out = json_array();
	int rc = *out ? voiding_customers(e, &customers) : STW_ENOMEM;
	size_t i;
	json_array_foreach(customers, i, c)
	{
		json_t *rep = NULL;
		if (rc != STW_OK || (rc = voiding_report(e, json_string_value(c), &rep)) != STW_OK)
			break;
		json_array_append_new(*out, rep);
	}
	json_decref(customers);
	return rc;
}

/*
 * GET /api/demo/voiding/reports. Its reads are separate statements, so a
 * voiding may move on between them; they are made in the order that keeps
 * the answer true for a void answered before the request: Billing's
 * requested voidings first, then the processes, then the reports again. A
 * voiding that ended before that last read shows as voided (Reports marks
 * the document before the process completes); one that had not has its
 * process, or its request.
 */
static int route_reports(struct stw__http_request *r)
{
	json_t *procs = json_array(), *by_doc = json_object(), *requested = json_object();
	json_t *first = NULL, *reports = NULL;
	int rc = procs && by_doc && requested ? all_reports(r->engine, &first) : STW_ENOMEM;
	if (rc == STW_OK)
		rc = requested_voidings(r->engine, first, requested);
	if (rc == STW_OK)
		rc = open_processes(r->engine, procs);
	if (rc == STW_OK)
		rc = all_reports(r->engine, &reports);
	size_t i;
	json_t *p, *rep;
	json_array_foreach(procs, i, p)
	{
		const char *key = json_string_value(json_object_get(p, "unique_key"));
		if (key != NULL && json_object_get(by_doc, key) == NULL)
			json_object_set(by_doc, key, p);
	}
	json_array_foreach(rc == STW_OK ? reports : NULL, i, rep)
	{
		size_t j;
		json_t *d;
		json_array_foreach(json_object_get(rep, "documents"), j, d)
		{
			const char *doc = json_string_value(json_object_get(d, "document_id"));
			json_t *proc = doc ? json_object_get(by_doc, doc) : NULL;
			/* Billing took the void but the worker has not started its process
			 * yet: shown as requested, so that nobody voids it again meanwhile. */
			const char *req = proc == NULL && doc != NULL &&
						  !json_is_true(json_object_get(d, "voided"))
					      ? json_string_value(json_object_get(requested, doc))
					      : NULL;
			json_object_set_new(
			    d, "process",
			    proc  ? json_pack("{s:O, s:O, s:O}", "id", json_object_get(proc, "id"),
					      "state", json_object_get(proc, "state"), "status",
					      json_object_get(proc, "status"))
			    : req ? json_pack("{s:s, s:n, s:s}", "id", req, "state", "status",
					      "requested")
				  : json_null());
		}
	}
	json_decref(procs);
	json_decref(by_doc);
	json_decref(requested);
	json_decref(first);
	if (rc != STW_OK) {
		json_decref(reports);
		return stw__http_engine_error(r, rc);
	}
	return stw__http_reply(r, 200, json_pack("{s:o}", "reports", reports));
}

static int route_processes(struct stw__http_request *r)
{
	json_t *arr = json_array();
	int rc = arr ? open_processes(r->engine, arr) : STW_ENOMEM;
	if (rc != STW_OK) {
		json_decref(arr);
		return stw__http_engine_error(r, rc);
	}
	return stw__http_reply(r, 200, json_pack("{s:o}", "instances", arr));
}

static int route_issue(struct stw__http_request *r)
{
	if (r->body == NULL)
		return stw__http_error(r, 400, "bad_request", "a JSON body is required");
	json_t *cust = json_object_get(r->body, "customer");
	json_t *amount = json_object_get(r->body, "amount");
	json_t *id = json_object_get(r->body, "document_id");
	if (!json_is_string(cust))
		return stw__http_error(r, 400, "bad_request", "customer must be a string");
	if (!json_is_integer(amount) || json_integer_value(amount) < 0)
		return stw__http_error(r, 400, "bad_request",
				       "amount must be a non-negative integer (cents)");
	if (id != NULL && !json_is_null(id) && !json_is_string(id))
		return stw__http_error(r, 400, "bad_request", "document_id must be a string");
	char gen[37];
	const char *doc = json_string_value(id);
	if (doc == NULL) {
		stw_new_id(gen);
		doc = gen;
	}
	int rc = voiding_issue_document(r->engine, doc, json_string_value(cust),
					json_integer_value(amount), NULL);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "document_id", doc));
}

/*
 * The voiding process that keeps document `doc` from another: the one Billing
 * has in progress, else a failed one nobody acknowledged yet (it holds the
 * process's uniqueness key). *holder is "" when there is none.
 */
static int voiding_holder(struct stw_engine *e, const char *doc, char *holder, size_t cap)
{
	json_t *d = NULL, *list = NULL;
	holder[0] = '\0';
	int rc = voiding_document(e, doc, &d);
	if (rc != STW_OK)
		return rc == STW_ENOTFOUND ? STW_OK : rc; /* Billing refuses it with its reason */
	const char *p = json_string_value(json_object_get(d, "voiding_process"));
	if (p != NULL)
		snprintf(holder, cap, "%s", p);
	json_decref(d);
	if (holder[0] != '\0')
		return STW_OK;
	struct stw_instance_filter f = { .definition = voiding_definition.name,
					 .status = "failed",
					 .limit = STW_MAX_LIST };
	if ((rc = stw_list_instances(e, &f, &list)) != STW_OK)
		return rc;
	size_t i;
	json_t *inst;
	json_array_foreach(list, i, inst)
	{
		const char *key = json_string_value(json_object_get(inst, "unique_key"));
		if (key != NULL && strcmp(key, doc) == 0) {
			snprintf(holder, cap, "%s", json_string_value(json_object_get(inst, "id")));
			break;
		}
	}
	json_decref(list);
	return STW_OK;
}

/*
 * POST /api/demo/voiding/documents/{doc}/void: starts a voiding process, or
 * answers 409 with the id of the process that holds the document, without
 * asking Billing for a second voiding (which the process's uniqueness key
 * would refuse, leaving Billing's second request without an end).
 */
static int route_void(struct stw__http_request *r, const char *doc)
{
	char id[STW_MAX_ID], holder[STW_MAX_ID];
	int rc = voiding_holder(r->engine, doc, holder, sizeof holder);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	if (holder[0] != '\0')
		return stw__http_reply(r, 409,
				       json_pack("{s:s, s:s, s:s}", "error", "conflict", "message",
						 "the document has a voiding process already",
						 "process_id", holder));
	rc = voiding_void_document(r->engine, doc, NULL, id);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "process_id", id));
}

static int route_publish(struct stw__http_request *r, const char *customer)
{
	int rc = voiding_publish_report(r->engine, customer, NULL);
	if (rc != STW_OK)
		return stw__http_engine_error(r, rc);
	return stw__http_reply(r, 200, json_pack("{s:s}", "customer", customer));
}

int stw__cli_demo_voiding_route(struct stw__http_request *r, void *ud)
{
	(void)ud;
	char **s = r->seg;
	int n = r->nseg;
	int get = strcmp(r->method, "GET") == 0, post = strcmp(r->method, "POST") == 0;
	if (n == 2)
		return get ? stw__http_reply(r, 200, json_pack("{s:s}", "name", "voiding"))
			   : stw__http_wrong_method(r, "GET");
	if (n < 3 || strcmp(s[2], "voiding") != 0)
		return 0;
	if (n == 4 && strcmp(s[3], "reports") == 0)
		return get ? route_reports(r) : stw__http_wrong_method(r, "GET");
	if (n == 4 && strcmp(s[3], "processes") == 0)
		return get ? route_processes(r) : stw__http_wrong_method(r, "GET");
	if (n == 4 && strcmp(s[3], "documents") == 0)
		return post ? route_issue(r) : stw__http_wrong_method(r, "POST");
	if (n == 6 && strcmp(s[3], "documents") == 0 && strcmp(s[5], "void") == 0)
		return post ? route_void(r, s[4]) : stw__http_wrong_method(r, "POST");
	if (n == 6 && strcmp(s[3], "reports") == 0 && strcmp(s[5], "publish") == 0)
		return post ? route_publish(r, s[4]) : stw__http_wrong_method(r, "POST");
	return 0;
}
