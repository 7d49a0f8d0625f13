/*
 * cmd_commands.c - the outbox: steward commands (commands by status, parked
 * by default), and a person's decision on a parked command, steward
 * redeliver and steward skip; on a database file or through a daemon.
 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "backend.h"
#include "http/codes.h"
#include "table.h"
#include "text.h"

#define DEFAULT_LIMIT 50 /* commands listed without --limit */

/* Prints {"commands": [...]} as a table. Returns 0, or 1 when out of memory. */
static int print_commands(const json_t *doc, const char *status)
{
	static const char *const head[] = { "ID",       "CONTEXT", "TYPE", "INSTANCE",
					    "ATTEMPTS", "CREATED", "ERROR" };
	static const size_t caps[] = { 36, 24, 32, 36, 8, 24, 0 };
	struct stw__cli_table t = { .ncols = 7, .head = head, .caps = caps };
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "commands"), i, o)
	{
		char n[32], when[48];
		const char *row[7] = { stw__cli_str_of(o, "id"),
				       stw__cli_str_of(o, "context"),
				       stw__cli_str_of(o, "type"),
				       stw__cli_str_of(o, "instance_id"),
				       stw__cli_int_of(n, o, "attempts"),
				       stw__cli_time_of(when, o, "created_at", 0),
				       stw__cli_str_of(o, "error") };
		stw__cli_table_add(&t, row);
	}
	int rc = 0;
	if (t.oom) {
		stw__cli_error("out of memory");
		rc = 1;
	} else if (t.nrows == 0) {
		fprintf(stderr, "no %s commands\n", status);
	} else {
		stw__cli_table_print(&t, "");
	}
	stw__cli_table_free(&t);
	return rc;
}

/*
 * steward commands: commands by status, parked by default (GET /api/commands,
 * or stw_list_commands). Returns 0, 1 or 2.
 */
int stw__cli_cmd_commands(struct stw__cli *c)
{
	long long limit;
	const char *status = c->val[STW__CLI_OPT_STATUS] ? c->val[STW__CLI_OPT_STATUS] : "parked";
	if (stw__cli_opt_int(c, STW__CLI_OPT_LIMIT, 1, STW__CLI_MAX_PAGE, DEFAULT_LIMIT, &limit))
		return 2;
	if (!stw__http_is_command_status(status)) {
		stw__cli_usage_error(
		    c, "--status must be one of pending, delivered, rejected, parked, "
		       "skipped");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_printf(&p, "/api/commands?limit=%lld", limit);
		stw__cli_buf_query(&p, "status", status);
		rc = stw__cli_http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = stw__cli_db_open(c, 0, &e)) != 0)
			return rc;
		json_t *arr = NULL;
		int src = stw_list_commands(e, status, (int)limit, &arr);
		if (src != STW_OK)
			rc = stw__cli_db_fail(e, src);
		else if ((doc = json_pack("{s:o}", "commands", arr)) == NULL) {
			stw__cli_error("out of memory");
			rc = 1;
		}
		stw_close(e);
	}
	if (rc == 0)
		rc = c->val[STW__CLI_OPT_JSON] ? stw__cli_print_json(doc, 1)
					       : print_commands(doc, status);
	json_decref(doc);
	return rc;
}

/*
 * steward redeliver|skip ID: a person's decision on a parked command (POST
 * /api/commands/{id}/retry|skip, or the library call). Returns 0, 1 or 2.
 */
static int decide_command(struct stw__cli *c, int skip)
{
	const char *id = c->pos[0], *note = skip ? c->val[STW__CLI_OPT_NOTE] : NULL;
	if (stw__cli_check_len(c, "ID", id, STW_MAX_ID))
		return 2;
	if (stw__cli_check_note(c, note))
		return 2;
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_puts(&p, "/api/commands/");
		stw__cli_buf_urlenc(&p, id);
		stw__cli_buf_puts(&p, skip ? "/skip" : "/retry");
		rc = stw__cli_http_post(c, &p, json_pack("{s:s?}", "note", note), "the note", &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = stw__cli_db_open(c, 1, &e)) != 0)
			return rc;
		int src = skip ? stw_skip_command(e, id, note) : stw_retry_command(e, id);
		if (src == STW_OK)
			src = stw_get_command(e, id, &doc);
		if (src != STW_OK)
			rc = stw__cli_db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0 && c->val[STW__CLI_OPT_JSON]) {
		rc = stw__cli_print_json(doc, 1);
	} else if (rc == 0) {
		char ib[STW__CLI_SHOWN_CAP];
		printf("command %s: %s\n", stw__cli_shown(ib, id),
		       skip ? "skipped" : "pending again (delivered on the next round)");
	}
	json_decref(doc);
	return rc;
}

int stw__cli_cmd_redeliver(struct stw__cli *c)
{
	return decide_command(c, 0);
}

int stw__cli_cmd_skip(struct stw__cli *c)
{
	return decide_command(c, 1);
}
