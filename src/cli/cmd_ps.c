/*
 * cmd_ps.c - steward ps (a list of instances) and steward show (one instance:
 * its data, history and commands), on a database file or through a daemon.
 */
#include "cmd.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "backend.h"
#include "config.h"
#include "http/codes.h"
#include "table.h"
#include "text.h"

#define DEFAULT_LIMIT 50 /* instances listed without --limit */

/* ps ---------------------------------------------------------------------------------- */

/* Prints {"instances": [...]} as a table. Returns 0, or 1 when out of memory. */
static int print_instances(const json_t *doc)
{
	static const char *const head[] = { "ID",      "DEFINITION", "VER", "STATE", "STATUS",
					    "VERSION", "UPDATED",    "KEY", "REASON" };
	static const size_t caps[] = { 40, 24, 6, 36, 12, 8, 24, 32, 40 };
	struct stw__cli_table t = { .ncols = 9, .head = head, .caps = caps };
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "instances"), i, o)
	{
		char dver[32], ver[32], when[48];
		const char *row[9] = {
			stw__cli_str_of(o, "id"),
			stw__cli_str_of(o, "definition"),
			stw__cli_int_of(dver, o, "definition_version"),
			stw__cli_str_of(o, "state"),
			stw__cli_str_of(o, "status"),
			stw__cli_int_of(ver, o, "version"),
			stw__cli_time_of(when, o, "updated_at", 0),
			stw__cli_str_of(o, "unique_key"),
			stw__cli_str_of(o, "reason"),
		};
		stw__cli_table_add(&t, row);
	}
	int rc = 0;
	if (t.oom) {
		stw__cli_error("out of memory");
		rc = 1;
	} else if (t.nrows == 0) {
		fprintf(stderr, json_object_get(doc, "stuck_for") ? "no stuck instances\n"
								  : "no instances\n");
	} else {
		stw__cli_table_print(&t, "");
	}
	stw__cli_table_free(&t);
	return rc;
}

/* steward ps: lists instances (GET /api/instances, or stw_list_instances). Returns 0, 1 or 2. */
int stw__cli_cmd_ps(struct stw__cli *c)
{
	long long limit = 0, offset = 0, stuck_for = 0, version = 0;
	const char *def = c->val[STW__CLI_OPT_DEFINITION], *status = c->val[STW__CLI_OPT_STATUS],
		   *state = c->val[STW__CLI_OPT_STATE];
	int stuck = c->val[STW__CLI_OPT_STUCK] != NULL;
	if (stw__cli_opt_int(c, STW__CLI_OPT_LIMIT, 1, STW__CLI_MAX_PAGE, DEFAULT_LIMIT, &limit) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_OFFSET, 0, INT_MAX, 0, &offset) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_VERSION, 1, INT_MAX, 0, &version) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_STUCK_FOR, 1, STW__CLI_MAX_STUCK_AFTER_S,
			     STW__CLI_STUCK_AFTER_S, &stuck_for) ||
	    stw__cli_check_len(c, "--definition", def, STW_MAX_NAME) ||
	    stw__cli_check_len(c, "--state", state, STW_MAX_NAME))
		return 2;
	if (status != NULL && !stw__http_is_instance_status(status)) {
		stw__cli_usage_error(
		    c, "--status must be one of active, completed, failed, acknowledged, "
		       "rejected, cancelled");
		return 2;
	}
	if (c->val[STW__CLI_OPT_STUCK_FOR] != NULL && !stuck) {
		stw__cli_usage_error(c, "--stuck-for goes with --stuck");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_printf(&p, "/api/instances?limit=%lld&offset=%lld", limit, offset);
		if (stuck)
			stw__cli_buf_printf(&p, "&stuck=1");
		if (c->val[STW__CLI_OPT_STUCK_FOR] != NULL) /* else the daemon's stuck_after */
			stw__cli_buf_printf(&p, "&stuck_for=%lld", stuck_for);
		stw__cli_buf_query(&p, "definition", def);
		if (version > 0)
			stw__cli_buf_printf(&p, "&version=%lld", version);
		stw__cli_buf_query(&p, "status", status);
		stw__cli_buf_query(&p, "state", state);
		rc = stw__cli_http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = stw__cli_db_open(c, 0, &e)) != 0)
			return rc;
		struct stw_instance_filter f = {
			.definition = def,
			.status = status,
			.state = state,
			.limit = (int)limit,
			.offset = (int)offset,
			.stuck_for_ms = stuck ? stuck_for * 1000 : 0,
			.definition_version = (int)version,
		};
		json_t *arr = NULL;
		int src = stw_list_instances(e, &f, &arr);
		if (src != STW_OK)
			rc = stw__cli_db_fail(e, src);
		else if ((doc = json_pack("{s:o, s:I, s:I}", "instances", arr, "limit",
					  (json_int_t)limit, "offset", (json_int_t)offset)) ==
			     NULL ||
			 (stuck &&
			  json_object_set_new(doc, "stuck_for", json_integer(stuck_for)))) {
			stw__cli_error("out of memory");
			rc = 1;
		}
		stw_close(e);
	}
	if (rc == 0)
		rc = c->val[STW__CLI_OPT_JSON] ? stw__cli_print_json(doc, 1) : print_instances(doc);
	json_decref(doc);
	return rc;
}

/* show -------------------------------------------------------------------------------- */

/* Prints "TITLE:" and the table indented, or "(none)". */
static void print_section(const char *title, const struct stw__cli_table *t)
{
	printf("\n%s:\n", title);
	if (t->nrows > 0)
		stw__cli_table_print(t, "  ");
	else
		printf("  (none)\n");
}

/*
 * Prints an instance (the answer of GET /api/instances/{id}) for a person:
 * its fields, data, history, commands and pending timers.
 */
static int print_instance(const json_t *o)
{
	char dver[32], ver[32], created[48], updated[48];
	int oom =
	    stw__cli_print_field("instance", stw__cli_str_of(o, "id")) |
	    stw__cli_print_field("definition", stw__cli_str_of(o, "definition")) |
	    stw__cli_print_field("def version", stw__cli_int_of(dver, o, "definition_version")) |
	    stw__cli_print_field("state", stw__cli_str_of(o, "state")) |
	    stw__cli_print_field("status", stw__cli_str_of(o, "status")) |
	    stw__cli_print_field("version", stw__cli_int_of(ver, o, "version")) |
	    stw__cli_print_field("key", stw__cli_str_of(o, "unique_key")) |
	    stw__cli_print_field("reason", stw__cli_str_of(o, "reason")) |
	    stw__cli_print_field("created", stw__cli_time_of(created, o, "created_at", 1)) |
	    stw__cli_print_field("updated", stw__cli_time_of(updated, o, "updated_at", 1));
	if (oom) {
		stw__cli_error("out of memory");
		return 1;
	}
	printf("\ndata:\n");
	json_t *data = json_object_get(o, "data");
	if (stw__cli_print_json(data ? data : json_null(), 1))
		return 1;

	static const char *const hhead[] = { "TIME",       "MESSAGE", "CONTEXT",
					     "FROM -> TO", "OUTCOME", "REASON" };
	static const size_t hcaps[] = { 24, 40, 24, 72, 12, 0 };
	struct stw__cli_table h = { .ncols = 6, .head = hhead, .caps = hcaps };
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(o, "history"), i, r)
	{
		char at[48];
		const char *from = stw__cli_str_of(r, "from"), *to = stw__cli_str_of(r, "to");
		struct stw__cli_buf tr = { 0 };
		stw__cli_buf_puts(&tr, from ? from : "(start)");
		stw__cli_buf_puts(&tr, " -> ");
		stw__cli_buf_puts(&tr, to ? to : "(same)");
		const char *row[6] = {
			stw__cli_time_of(at, r, "at", 1), stw__cli_str_of(r, "message_type"),
			stw__cli_str_of(r, "context"),    stw__cli_buf_str(&tr),
			stw__cli_str_of(r, "outcome"),    stw__cli_str_of(r, "reason")
		};
		if (stw__cli_buf_str(&tr) == NULL)
			h.oom = 1;
		stw__cli_table_add(&h, row);
		free(tr.p);
	}
	static const char *const chead[] = { "TYPE", "CONTEXT", "STATUS", "ERROR" };
	static const size_t ccaps[] = { 40, 24, 12, 0 };
	struct stw__cli_table cm = { .ncols = 4, .head = chead, .caps = ccaps };
	json_array_foreach(json_object_get(o, "commands"), i, r)
	{
		const char *row[4] = { stw__cli_str_of(r, "type"), stw__cli_str_of(r, "context"),
				       stw__cli_str_of(r, "status"), stw__cli_str_of(r, "error") };
		stw__cli_table_add(&cm, row);
	}
	static const char *const thead[] = { "MESSAGE", "DUE", "ARMED BY" };
	static const size_t tcaps[] = { 40, 24, 0 };
	struct stw__cli_table tm = { .ncols = 3, .head = thead, .caps = tcaps };
	json_array_foreach(json_object_get(o, "timers"), i, r)
	{
		char due[48];
		const char *row[3] = { stw__cli_str_of(r, "message_type"),
				       stw__cli_time_of(due, r, "due_at", 1),
				       stw__cli_str_of(r, "armed_by") };
		stw__cli_table_add(&tm, row);
	}
	int rc = 0;
	if (h.oom || cm.oom || tm.oom) {
		stw__cli_error("out of memory");
		rc = 1;
	} else {
		print_section("history", &h);
		print_section("commands", &cm);
		print_section("timers", &tm);
	}
	stw__cli_table_free(&h);
	stw__cli_table_free(&cm);
	stw__cli_table_free(&tm);
	return rc;
}

/* Instances found by the beginning of their id ------------------------------------ */

/* The candidates named when a prefix is ambiguous; the search stops past them. */
#define MAX_CANDIDATES 10

/* A search for the instances whose id begins with `prefix`. */
struct prefix_search {
	const char *prefix;
	const char *definition; /* NULL: every definition */
	json_t *found;          /* array of {"id", "definition"}, each once */
};

/*
 * Reads the page of the instance list (of s->definition) at offset into
 * *page (a new array). Returns 0, or 1 after printing why it cannot.
 */
typedef int (*page_fn)(struct stw__cli *c, void *ud, const struct prefix_search *s,
		       long long offset, json_t **page);

/* A page of the list, from the database (ud: the engine). */
static int db_page(struct stw__cli *c, void *ud, const struct prefix_search *s, long long offset,
		   json_t **page)
{
	struct stw_engine *e = ud;
	struct stw_instance_filter f = {
		.definition = s->definition,
		.limit = STW__CLI_MAX_PAGE,
		.offset = (int)offset,
	};
	int rc = stw_list_instances(e, &f, page);
	return rc == STW_OK ? 0 : stw__cli_db_fail(e, rc);
}

/* A page of the list, from the daemon (GET /api/instances). */
static int http_page(struct stw__cli *c, void *ud, const struct prefix_search *s, long long offset,
		     json_t **page)
{
	struct stw__cli_buf p = { 0 };
	json_t *doc = NULL;
	stw__cli_buf_printf(&p, "/api/instances?limit=%d&offset=%lld", STW__CLI_MAX_PAGE, offset);
	stw__cli_buf_query(&p, "definition", s->definition);
	int rc = stw__cli_http_json(c, "GET", &p, NULL, &doc);
	free(p.p);
	*page = json_incref(json_object_get(doc, "instances"));
	json_decref(doc);
	if (rc == 0 && !json_is_array(*page)) {
		stw__cli_error("the daemon's list of instances has no array of instances");
		rc = 1;
	}
	return rc;
}

/* 1 if s->found holds the instance id of definition def. */
static int found_already(const struct prefix_search *s, const char *id, const char *def)
{
	size_t i;
	json_t *f;
	json_array_foreach(s->found, i, f)
	{
		if (strcmp(stw__cli_str_of(f, "id"), id) == 0 &&
		    strcmp(stw__cli_str_of(f, "definition"), def) == 0)
			return 1;
	}
	return 0;
}

/* Adds the instances of a page whose id begins with the prefix. Returns 0, or 1 (out of memory). */
static int match_page(struct prefix_search *s, const json_t *page)
{
	size_t n = strlen(s->prefix), i;
	json_t *o;
	json_array_foreach(page, i, o)
	{
		const char *id = stw__cli_str_of(o, "id"), *def = stw__cli_str_of(o, "definition");
		/* The list may shift while it is read page by page: each instance once. */
		if (id == NULL || def == NULL || strncmp(id, s->prefix, n) != 0 ||
		    found_already(s, id, def))
			continue;
		if (json_array_append_new(
			s->found, json_pack("{s:s, s:s}", "id", id, "definition", def)) != 0)
			return 1;
	}
	return 0;
}

/*
 * Finds the instances whose id begins with s->prefix, reading the whole list
 * a page at a time (and stopping once more than MAX_CANDIDATES are found).
 * Returns 0, or 1 after printing why it cannot.
 */
static int find_prefix(struct stw__cli *c, page_fn read_page, void *ud, struct prefix_search *s)
{
	if ((s->found = json_array()) == NULL) {
		stw__cli_error("out of memory");
		return 1;
	}
	for (long long offset = 0; offset <= INT_MAX - STW__CLI_MAX_PAGE;
	     offset += STW__CLI_MAX_PAGE) {
		json_t *page = NULL;
		if (read_page(c, ud, s, offset, &page) != 0)
			return 1;
		size_t n = json_array_size(page);
		int oom = match_page(s, page);
		json_decref(page);
		if (oom) {
			stw__cli_error("out of memory");
			return 1;
		}
		if (n < STW__CLI_MAX_PAGE || json_array_size(s->found) > MAX_CANDIDATES)
			break;
	}
	return 0;
}

/*
 * Decides what a search found: 0 with *id and *def (borrowed from s) when it
 * found one instance, 1 when it found none (the caller says so), or 2 after
 * printing the candidates of an ambiguous prefix.
 */
static int one_found(const struct prefix_search *s, const char **id, const char **def)
{
	size_t n = json_array_size(s->found), i;
	json_t *f;
	if (n == 1) {
		*id = stw__cli_str_of(json_array_get(s->found, 0), "id");
		*def = stw__cli_str_of(json_array_get(s->found, 0), "definition");
		return 0;
	}
	if (n == 0)
		return 1;
	struct stw__cli_buf b = { 0 };
	json_array_foreach(s->found, i, f)
	{
		if (i == MAX_CANDIDATES) {
			stw__cli_buf_puts(&b, ", and more");
			break;
		}
		stw__cli_buf_puts(&b, i ? ", " : "");
		stw__cli_buf_cell(&b, stw__cli_str_of(f, "id"), 0);
		stw__cli_buf_puts(&b, " (");
		stw__cli_buf_cell(&b, stw__cli_str_of(f, "definition"), 0);
		stw__cli_buf_puts(&b, ")");
	}
	char pb[STW__CLI_SHOWN_CAP];
	const char *list = stw__cli_buf_str(&b);
	stw__cli_error("several instances have an id that begins with %s: %s",
		       stw__cli_shown(pb, s->prefix), list ? list : "(out of memory)");
	free(b.p);
	return 2;
}

/*
 * The instance named by id, or else by the beginning of its id, from the
 * database. Returns 0 with *doc (new), or 1 after printing why not.
 */
static int show_db(struct stw__cli *c, const char *id, const char *def, json_t **doc)
{
	struct stw_engine *e = NULL;
	int rc = stw__cli_db_open(c, 0, &e);
	if (rc != 0)
		return rc;
	int src = stw_get_instance(e, def, id, doc);
	if (src == STW_ENOTFOUND) {
		char why[STW__CLI_MAX_LOG];
		snprintf(why, sizeof(why), "%s", stw_errmsg(e));
		struct prefix_search s = { .prefix = id, .definition = def };
		const char *fid = NULL, *fdef = NULL;
		rc = find_prefix(c, db_page, e, &s);
		if (rc == 0 && (rc = one_found(&s, &fid, &fdef)) == 0)
			src = stw_get_instance(e, fdef, fid, doc);
		else if (rc == 1)
			stw__cli_error_text("", why, "");
		json_decref(s.found);
		if (rc != 0) {
			stw_close(e);
			return 1;
		}
	}
	if (src != STW_OK)
		rc = stw__cli_db_fail(e, src);
	stw_close(e);
	return rc;
}

/* The same through the daemon (GET /api/instances/{id}, then the list). */
static int show_http(struct stw__cli *c, const char *id, const char *def, json_t **doc)
{
	struct stw__cli_buf p = { 0 };
	struct stw__cli_reply r;
	stw__cli_instance_path(&p, id, "", def);
	if (stw__cli_buf_str(&p) == NULL) {
		stw__cli_error("out of memory");
		return 1;
	}
	int rc = stw__cli_http_call(c, "GET", p.p, NULL, &r);
	free(p.p);
	if (rc != 0)
		return rc;
	if (r.status == 404) {
		struct prefix_search s = { .prefix = id, .definition = def };
		const char *fid = NULL, *fdef = NULL;
		rc = find_prefix(c, http_page, NULL, &s);
		if (rc == 0 && (rc = one_found(&s, &fid, &fdef)) == 0) {
			struct stw__cli_buf q = { 0 };
			stw__cli_instance_path(&q, fid, "", fdef);
			rc = stw__cli_http_json(c, "GET", &q, NULL, doc);
			free(q.p);
		} else if (rc == 1) {
			stw__cli_report_http_error(&r);
		}
		json_decref(s.found);
	} else if (r.status >= 200 && r.status < 300 && json_is_object(r.json)) {
		*doc = r.json;
		r.json = NULL;
	} else {
		stw__cli_report_http_error(&r);
		rc = 1;
	}
	stw__cli_reply_free(&r);
	return rc != 0;
}

/*
 * steward show ID: one instance (GET /api/instances/{id}, or stw_get_instance),
 * or the only one whose id begins with ID. Returns 0, 1 or 2.
 */
int stw__cli_cmd_show(struct stw__cli *c)
{
	const char *id = c->pos[0], *def = c->val[STW__CLI_OPT_DEFINITION];
	if (stw__cli_check_len(c, "ID", id, STW_MAX_ID) ||
	    stw__cli_check_len(c, "--definition", def, STW_MAX_NAME))
		return 2;
	json_t *doc = NULL;
	int rc = c->url != NULL ? show_http(c, id, def, &doc) : show_db(c, id, def, &doc);
	if (rc == 0)
		rc = c->val[STW__CLI_OPT_JSON] ? stw__cli_print_json(doc, 1) : print_instance(doc);
	json_decref(doc);
	return rc;
}
