/*
 * cmd_events.c - steward events (a page of a context's log) and steward send
 * (a command executed against a context's service), on a database file or
 * through a daemon.
 */
#include "cmd.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "backend.h"
#include "table.h"
#include "text.h"

#define DEFAULT_LIMIT 100 /* events listed without --limit */

/* events ------------------------------------------------------------------------------ */

struct events_ctx {
	json_t *arr;
	int64_t last;
	int oom;
};

/* Collects one event as the API shows it (docs/API.md). */
static int collect_event(const struct stw_event *ev, void *ud)
{
	struct events_ctx *c = ud;
	json_t *o = stw_event_json(ev);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	c->last = ev->position;
	return 0;
}

/* Reads a page of events from the database into the API's document. Returns 0 or 1. */
static int db_events(struct stw__cli *c, const char *context, long long after, long long limit,
		     json_t **doc)
{
	struct stw_engine *e = NULL;
	int rc = stw__cli_db_open(c, 0, &e);
	if (rc != 0)
		return rc;
	int64_t head = 0;
	struct events_ctx ec = { .arr = json_array(), .last = after };
	int src = stw_head(e, context, &head);
	if (src == STW_OK && ec.arr == NULL)
		src = STW_ENOMEM;
	if (src == STW_OK)
		src = stw_read(e, context, after, (int)limit, collect_event, &ec, NULL);
	if (src == STW_OK && ec.oom)
		src = STW_ENOMEM;
	if (src == STW_OK) {
		*doc =
		    json_pack("{s:s, s:I, s:I, s:o}", "context", context, "head", (json_int_t)head,
			      "next_after", (json_int_t)ec.last, "events", ec.arr);
		ec.arr = NULL;
		if (*doc == NULL)
			src = STW_ENOMEM;
	}
	if (src == STW_ENOMEM) {
		stw__cli_error("out of memory");
		rc = 1;
	} else if (src != STW_OK)
		rc = stw__cli_db_fail(e, src);
	json_decref(ec.arr);
	stw_close(e);
	return rc;
}

/* Prints one line per event: position, type, stream, correlation id, data. */
static int print_events(const json_t *doc)
{
	static const char *const head[] = { "POS", "TYPE", "STREAM", "CORRELATION", "DATA" };
	static const size_t caps[] = { 20, 40, 40, 40, 0 };
	struct stw__cli_table t = { .ncols = 5, .head = head, .caps = caps };
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(doc, "events"), i, ev)
	{
		char pos[32];
		json_t *data = json_object_get(ev, "data");
		char *text = json_dumps(data ? data : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		const char *row[5] = { stw__cli_int_of(pos, ev, "position"),
				       stw__cli_str_of(ev, "type"), stw__cli_str_of(ev, "stream"),
				       stw__cli_str_of(ev, "correlation_id"), text };
		if (text == NULL)
			t.oom = 1;
		stw__cli_table_add(&t, row);
		free(text);
	}
	int rc = 0;
	if (t.oom) {
		stw__cli_error("out of memory");
		rc = 1;
	} else if (t.nrows > 0) {
		stw__cli_table_print(&t, "");
	}
	stw__cli_table_free(&t);
	if (rc == 0) {
		json_int_t hd = json_integer_value(json_object_get(doc, "head"));
		json_int_t next = json_integer_value(json_object_get(doc, "next_after"));
		if (i == 0)
			fprintf(stderr,
				"no events after position %" JSON_INTEGER_FORMAT
				" (head %" JSON_INTEGER_FORMAT ")\n",
				next, hd);
		else if (next < hd)
			fprintf(stderr,
				"%" JSON_INTEGER_FORMAT
				" more; next page: --after %" JSON_INTEGER_FORMAT "\n",
				hd - next, next);
	}
	return rc;
}

/* steward events CONTEXT: a page of a context's log. Returns 0, 1 or 2. */
int stw__cli_cmd_events(struct stw__cli *c)
{
	const char *context = c->pos[0];
	long long after, limit;
	if (stw__cli_check_len(c, "CONTEXT", context, STW_MAX_NAME) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_AFTER, 0, LLONG_MAX, 0, &after) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_LIMIT, 1, STW__CLI_MAX_PAGE, DEFAULT_LIMIT, &limit))
		return 2;
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_puts(&p, "/api/contexts/");
		stw__cli_buf_urlenc(&p, context);
		stw__cli_buf_printf(&p, "/events?after=%lld&limit=%lld", after, limit);
		rc = stw__cli_http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		rc = db_events(c, context, after, limit, &doc);
	}
	if (rc == 0)
		rc = c->val[STW__CLI_OPT_JSON] ? stw__cli_print_json(doc, 1) : print_events(doc);
	json_decref(doc);
	return rc;
}

/* send -------------------------------------------------------------------------------- */

/* Prints the outcome of a command that was applied. */
static int print_applied(const struct stw__cli *c, const json_t *doc)
{
	if (c->val[STW__CLI_OPT_JSON])
		return stw__cli_print_json(doc, 1);
	return stw__cli_print_field("command", stw__cli_str_of(doc, "id")) |
	       stw__cli_print_field("correlation", stw__cli_str_of(doc, "correlation_id")) |
	       stw__cli_print_field("outcome", stw__cli_str_of(doc, "outcome"));
}

/* Prints a refusal (stderr, and the error document on stdout with --json). Returns 1. */
static int print_rejected(const struct stw__cli *c, const char *id, const char *reason)
{
	char ib[STW__CLI_SHOWN_CAP], pre[STW__CLI_SHOWN_CAP + 32];
	if (c->val[STW__CLI_OPT_JSON]) {
		json_t *doc = json_pack("{s:s, s:s, s:s?}", "error", "rejected", "message",
					reason ? reason : "", "id", id);
		if (doc != NULL)
			stw__cli_print_json(doc, 1);
		json_decref(doc);
	}
	snprintf(pre, sizeof(pre), "command %s rejected: ", id ? stw__cli_shown(ib, id) : "?");
	stw__cli_error_text(pre, reason ? reason : "(no reason given)", "");
	return 1;
}

/*
 * steward send CONTEXT TYPE JSON: executes a command (POST .../commands, or
 * stw_execute with the voiding services registered). The JSON argument must
 * be an object (else 2). Returns 0 applied, 1 refused or failed, 2 usage.
 */
int stw__cli_cmd_send(struct stw__cli *c)
{
	const char *context = c->pos[0], *type = c->pos[1], *arg = c->pos[2];
	const char *id = c->val[STW__CLI_OPT_ID], *corr = c->val[STW__CLI_OPT_CORRELATION];
	char eb[STW__CLI_SHOWN_CAP];
	if (stw__cli_check_len(c, "CONTEXT", context, STW_MAX_NAME) ||
	    stw__cli_check_len(c, "TYPE", type, STW_MAX_NAME) ||
	    stw__cli_check_len(c, "--id", id, STW_MAX_ID) ||
	    stw__cli_check_len(c, "--correlation-id", corr, STW_MAX_ID))
		return 2;
	json_error_t jerr;
	json_t *data = json_loads(arg, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (data == NULL) {
		char tb[STW__CLI_SHOWN_CAP];
		stw__cli_error(
		    "JSON argument is not an object: malformed JSON at column %d (%s): '%s'",
		    jerr.column, stw__cli_shown(tb, jerr.text), stw__cli_shown(eb, arg));
		return 2;
	}
	if (!json_is_object(data)) {
		stw__cli_error("JSON argument is not an object: '%s'", stw__cli_shown(eb, arg));
		json_decref(data);
		return 2;
	}
	int rc = 1;
	json_t *doc = NULL;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_puts(&p, "/api/contexts/");
		stw__cli_buf_urlenc(&p, context);
		stw__cli_buf_puts(&p, "/commands");
		json_t *body = json_pack("{s:s, s:O, s:s?, s:s?}", "type", type, "data", data, "id",
					 id, "correlation_id", corr);
		struct stw__cli_reply r;
		if (body == NULL || stw__cli_buf_str(&p) == NULL) {
			stw__cli_error("an argument is not valid UTF-8, or out of memory");
		} else if (stw__cli_http_call(c, "POST", p.p, body, &r) == 0) {
			if (r.status == 422 && json_is_object(r.json))
				rc = print_rejected(c, stw__cli_str_of(r.json, "id"),
						    stw__cli_str_of(r.json, "message"));
			else if (r.status == 200 && json_is_object(r.json))
				rc = print_applied(c, r.json);
			else
				stw__cli_report_http_error(&r);
			stw__cli_reply_free(&r);
		}
		json_decref(body);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if (stw__cli_db_open(c, 1, &e) == 0) {
			char cmd_id[STW_MAX_ID] = "";
			int src = stw_execute(e, context, type, data, id, corr, cmd_id);
			if (src == STW_EREJECTED) {
				rc = print_rejected(c, cmd_id, stw_errmsg(e));
			} else if (src != STW_OK) {
				rc = stw__cli_db_fail(e, src);
			} else {
				doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cmd_id,
						"context", context, "type", type, "correlation_id",
						corr ? corr : cmd_id, "outcome", "applied");
				if (doc == NULL)
					stw__cli_error("out of memory");
				else
					rc = print_applied(c, doc);
			}
			stw_close(e);
		}
	}
	json_decref(doc);
	json_decref(data);
	return rc;
}
