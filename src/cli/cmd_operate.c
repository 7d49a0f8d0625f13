/*
 * cmd_operate.c - a person's operations on an instance: steward ack (a
 * failure acknowledged), cancel and retry (from a chosen state), on a
 * database file or through a daemon; each prints the instance after it.
 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

#include "backend.h"
#include "table.h"
#include "text.h"

/* What ack, cancel and retry do, over HTTP and on the database. */
struct operation {
	const char *path; /* POST /api/instances/ID<path> */
	const char *done; /* printed: "<done> ID: status ..." */
	int (*apply)(struct stw_engine *e, const char *def, const char *id, const char *state,
		     const char *note);
};

static int apply_ack(struct stw_engine *e, const char *def, const char *id, const char *state,
		     const char *note)
{
	(void)state;
	return stw_acknowledge(e, def, id, note);
}

static int apply_cancel(struct stw_engine *e, const char *def, const char *id, const char *state,
			const char *note)
{
	(void)state;
	return stw_cancel(e, def, id, note);
}

static int apply_retry(struct stw_engine *e, const char *def, const char *id, const char *state,
		       const char *note)
{
	return stw_retry(e, def, id, state, note);
}

static const struct operation op_ack = { "/acknowledge", "acknowledged", apply_ack };
static const struct operation op_cancel = { "/cancel", "cancelled", apply_cancel };
static const struct operation op_retry = { "/retry", "retried", apply_retry };

/*
 * steward ack|cancel|retry ID: a person's operation on an instance (POST
 * .../acknowledge|cancel|retry, or the library call on a writable engine);
 * prints the instance after it. Returns 0, 1 or 2.
 */
static int operate(struct stw__cli *c, const struct operation *op)
{
	const char *id = c->pos[0], *def = c->val[STW__CLI_OPT_DEFINITION],
		   *note = c->val[STW__CLI_OPT_NOTE];
	const char *state = op == &op_retry ? c->val[STW__CLI_OPT_STATE] : NULL;
	if (stw__cli_check_len(c, "ID", id, STW_MAX_ID) ||
	    stw__cli_check_len(c, "--definition", def, STW_MAX_NAME) ||
	    stw__cli_check_len(c, "--state", state, STW_MAX_NAME))
		return 2;
	if (stw__cli_check_note(c, note))
		return 2;
	if (op == &op_retry && state == NULL) {
		stw__cli_usage_error(c, "retry needs --state STATE (the state to retry from)");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_instance_path(&p, id, op->path, def);
		rc = stw__cli_http_post(c, &p,
					json_pack("{s:s?, s:s?}", "note", note, "state", state),
					"the note or state", &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = stw__cli_db_open(c, 1, &e)) != 0)
			return rc;
		int src = op->apply(e, def, id, state, note);
		if (src == STW_OK)
			src = stw_get_instance(e, def, id, &doc);
		if (src != STW_OK)
			rc = stw__cli_db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0 && c->val[STW__CLI_OPT_JSON]) {
		rc = stw__cli_print_json(doc, 1);
	} else if (rc == 0) {
		struct stw__cli_buf b = { 0 };
		stw__cli_buf_puts(&b, op->done);
		stw__cli_buf_puts(&b, " ");
		stw__cli_buf_cell(&b, id, 0);
		stw__cli_buf_puts(&b, ": status ");
		stw__cli_buf_cell(
		    &b, stw__cli_str_of(doc, "status") ? stw__cli_str_of(doc, "status") : "-", 40);
		stw__cli_buf_puts(&b, ", state ");
		stw__cli_buf_cell(
		    &b, stw__cli_str_of(doc, "state") ? stw__cli_str_of(doc, "state") : "-", 80);
		if (stw__cli_buf_str(&b) != NULL)
			printf("%s\n", b.p);
		else {
			stw__cli_error("out of memory");
			rc = 1;
		}
		free(b.p);
	}
	json_decref(doc);
	return rc;
}

int stw__cli_cmd_ack(struct stw__cli *c)
{
	return operate(c, &op_ack);
}

int stw__cli_cmd_cancel(struct stw__cli *c)
{
	return operate(c, &op_cancel);
}

int stw__cli_cmd_retry(struct stw__cli *c)
{
	return operate(c, &op_retry);
}
