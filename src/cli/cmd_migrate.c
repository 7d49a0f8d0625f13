/*
 * cmd_migrate.c - steward migrate: moves the running instances of one
 * version of a definition to a later one (stw_migrate, or POST
 * /api/definitions/{name}/migrate through a daemon), or with --dry-run shows
 * what would move, and prints one line per instance that matters: every
 * instance on a dry run, those left (and changed under it) on a real one.
 */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <steward.h>

#include "backend.h"
#include "table.h"
#include "text.h"

/* Appends the top-level fields of `after` that differ from `before`: +new ~changed -gone. */
static void data_diff(struct stw__cli_buf *b, const json_t *before, const json_t *after)
{
	const char *key;
	json_t *v;
	int any = 0;
	json_object_foreach((json_t *)after, key, v)
	{
		json_t *old = json_object_get(before, key);
		if (old != NULL && json_equal(old, v))
			continue;
		stw__cli_buf_printf(b, "%s%c%s", any++ ? " " : "data ", old ? '~' : '+', key);
	}
	json_object_foreach((json_t *)before, key, v)
	{
		if (json_object_get(after, key) == NULL)
			stw__cli_buf_printf(b, "%s-%s", any++ ? " " : "data ", key);
	}
}

/* Appends "timers WHAT T1,T2" (after "; " when b holds something) for a non-empty list. */
static void timer_list(struct stw__cli_buf *b, const char *what, const json_t *arr)
{
	size_t i;
	json_t *t;
	json_array_foreach(arr, i, t)
	{
		if (i == 0)
			stw__cli_buf_printf(b, "%stimers %s ", b->len > 0 ? "; " : "", what);
		else
			stw__cli_buf_puts(b, ",");
		stw__cli_buf_puts(b, json_string_value(t) ? json_string_value(t) : "?");
	}
}

/* What a line says of an instance: why it was left, or what its move changes. */
static void detail(struct stw__cli_buf *b, const json_t *it)
{
	const char *reason = stw__cli_str_of(it, "reason");
	if (reason != NULL) {
		stw__cli_buf_puts(b, reason);
		return;
	}
	const json_t *data = json_object_get(it, "data");
	if (data != NULL)
		data_diff(b, json_object_get(data, "before"), json_object_get(data, "after"));
	const json_t *timers = json_object_get(it, "timers");
	timer_list(b, "kept", json_object_get(timers, "kept"));
	timer_list(b, "voided", json_object_get(timers, "voided"));
	timer_list(b, "armed", json_object_get(timers, "armed"));
}

/* Prints the report for a person. Returns 0, or 1 when an instance was left or out of memory. */
static int print_report(const json_t *rep)
{
	static const char *const head[] = { "ID", "FROM", "TO", "OUTCOME", "DETAIL" };
	static const size_t caps[] = { 40, 32, 32, 16, 200 };
	int dry = json_is_true(json_object_get(rep, "dry_run"));
	struct stw__cli_table t = { .ncols = 5, .head = head, .caps = caps };
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(rep, "instances"), i, it)
	{
		const char *outcome = stw__cli_str_of(it, "outcome");
		if (!dry && outcome != NULL && strcmp(outcome, "migrated") == 0)
			continue;
		struct stw__cli_buf d = { 0 };
		detail(&d, it);
		const char *row[] = { stw__cli_str_of(it, "id"), stw__cli_str_of(it, "from_state"),
				      stw__cli_str_of(it, "to_state"), outcome,
				      stw__cli_buf_str(&d) ? d.p : "" };
		stw__cli_table_add(&t, row);
		free(d.p);
	}
	if (t.nrows > 0)
		stw__cli_table_print(&t, "");
	int oom = t.oom;
	stw__cli_table_free(&t);
	json_int_t moved = json_integer_value(json_object_get(rep, "migrated")),
		   left = json_integer_value(json_object_get(rep, "left")),
		   changed = json_integer_value(json_object_get(rep, "changed")),
		   remaining = json_integer_value(json_object_get(rep, "remaining"));
	char name[STW__CLI_SHOWN_CAP];
	stw__cli_shown(name, stw__cli_str_of(rep, "definition") ? stw__cli_str_of(rep, "definition")
								: "?");
	printf("%s%lld instance%s of %s %s %lld -> %lld; %lld left", dry ? "dry run: " : "",
	       (long long)moved, moved == 1 ? "" : "s", name, dry ? "would move" : "moved",
	       (long long)json_integer_value(json_object_get(rep, "from")),
	       (long long)json_integer_value(json_object_get(rep, "to")), (long long)left);
	if (changed > 0)
		printf(", %lld changed while migrating (run it again)", (long long)changed);
	if (remaining > 0)
		printf(", %lld not reached (--limit)", (long long)remaining);
	printf("\n");
	if (oom)
		stw__cli_error("out of memory");
	return oom || left > 0 || changed > 0 ? 1 : 0;
}

/* The progress line of a long migration on a terminal. */
static void progress(int64_t done, int64_t total, void *ud)
{
	(void)ud;
	if (done % 64 == 0 || done == total) {
		fprintf(stderr, "\rmigrating %lld/%lld", (long long)done, (long long)total);
		if (done == total)
			fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

int stw__cli_cmd_migrate(struct stw__cli *c)
{
	const char *def = c->pos[0], *instance = c->val[STW__CLI_OPT_INSTANCE];
	long long from, to, limit;
	if (stw__cli_check_len(c, "DEFINITION", def, STW_MAX_NAME) ||
	    stw__cli_check_len(c, "--instance", instance, STW_MAX_ID) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_FROM, 1, 1000000, 0, &from) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_TO, 1, 1000000, 0, &to) ||
	    stw__cli_opt_int(c, STW__CLI_OPT_LIMIT, 1, 1000000000, 0, &limit))
		return 2;
	if (from == 0 || to == 0) {
		stw__cli_usage_error(c, "migrate needs --from N and --to M (the versions)");
		return 2;
	}
	if (to <= from) {
		stw__cli_usage_error(c, "--to (%lld) must be a later version than --from (%lld)",
				     to, from);
		return 2;
	}
	int dry = c->val[STW__CLI_OPT_DRY_RUN] != NULL;
	json_t *rep = NULL;
	int rc;
	if (c->url != NULL) {
		struct stw__cli_buf p = { 0 };
		stw__cli_buf_puts(&p, "/api/definitions/");
		stw__cli_buf_urlenc(&p, def);
		stw__cli_buf_puts(&p, "/migrate");
		json_t *body = json_pack("{s:I, s:I, s:b, s:s?}", "from", (json_int_t)from, "to",
					 (json_int_t)to, "dry_run", dry, "instance", instance);
		if (body != NULL && limit > 0)
			json_object_set_new(body, "limit", json_integer(limit));
		rc = stw__cli_http_post(c, &p, body, "the instance id", &rep);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = stw__cli_db_open(c, 1, &e)) != 0)
			return rc;
		struct stw_migrate_opts o = {
			.from = (int)from,
			.to = (int)to,
			.instance = instance,
			.dry_run = dry,
			.limit = limit,
			.progress = isatty(STDERR_FILENO) ? progress : NULL,
		};
		int src = stw_migrate(e, def, &o, &rep);
		if (src != STW_OK)
			rc = stw__cli_db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0 && c->val[STW__CLI_OPT_JSON]) {
		rc = stw__cli_print_json(rep, 1);
		if (rc == 0 && (json_integer_value(json_object_get(rep, "left")) > 0 ||
				json_integer_value(json_object_get(rep, "changed")) > 0))
			rc = 1;
	} else if (rc == 0) {
		rc = print_report(rep);
	}
	json_decref(rep);
	return rc;
}
