/*
 * postgres_retention.c - retention on PostgreSQL: ended instances deleted
 * with the rows that went with them, and old records of the dedup table and
 * delivered commands of no instance swept out in the order of their primary
 * keys. Each is one statement, one round trip (STW__PG_PRUNE_INSTANCES,
 * STW__PG_PRUNE_DEDUP, STW__PG_PRUNE_COMMANDS in postgres_sql.c, which say
 * the index each part uses).
 */
#include "store/postgres_int.h"

#include <steward.h>

#include <stdio.h>
#include <string.h>

static int op_prune_instances(struct stw__store *s, const char *definition, int64_t before,
			      int limit, struct stw__prune_counts *out)
{
	struct stw__pg *h = stw__pg_h(s);
	if (definition == NULL || limit <= 0 || out == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "prune_instances: a definition, a limit > 0 and out are "
				     "required");
	PARAMS;
	stw__pg_text(&p, definition);
	stw__pg_int(&p, before);
	stw__pg_int(&p, limit);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_PRUNE_INSTANCES, &p, "prune_instances", &rc);
	if (res == NULL)
		return rc;
	out->instances += stw__pg_col_int(res, 0, 0);
	out->history += stw__pg_col_int(res, 0, 1);
	out->timers += stw__pg_col_int(res, 0, 2);
	out->outbox += stw__pg_col_int(res, 0, 3);
	PQclear(res);
	return STW_OK;
}

static int op_prune_dedup(struct stw__store *s, int64_t before, int limit,
			  struct stw__dedup_key *key, int64_t *looked, int64_t *deleted)
{
	struct stw__pg *h = stw__pg_h(s);
	if (limit <= 0 || key == NULL || looked == NULL || deleted == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "prune_dedup: a limit > 0, a key and counts are required");
	PARAMS;
	stw__pg_text(&p, key->context);
	stw__pg_text(&p, key->command_id);
	stw__pg_int(&p, limit);
	stw__pg_int(&p, before);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_PRUNE_DEDUP, &p, "prune_dedup", &rc);
	if (res == NULL)
		return rc;
	const char *context = stw__pg_col(res, 0, 2), *command_id = stw__pg_col(res, 0, 3);
	struct stw__dedup_key next = { "", "" };
	if (context != NULL && command_id != NULL &&
	    (strlen(context) >= sizeof next.context ||
	     strlen(command_id) >= sizeof next.command_id)) {
		PQclear(res);
		return stw__pg_failf(h, STW_EINVAL, "prune_dedup: a key too long to resume from");
	}
	if (context != NULL && command_id != NULL) {
		snprintf(next.context, sizeof next.context, "%s", context);
		snprintf(next.command_id, sizeof next.command_id, "%s", command_id);
	}
	*looked = stw__pg_col_int(res, 0, 0);
	*deleted = stw__pg_col_int(res, 0, 1);
	*key = next;
	PQclear(res);
	return STW_OK;
}

static int op_prune_commands(struct stw__store *s, int64_t before, int limit, int64_t *after,
			     int64_t *looked, int64_t *deleted)
{
	struct stw__pg *h = stw__pg_h(s);
	if (limit <= 0 || after == NULL || looked == NULL || deleted == NULL)
		return stw__pg_failf(h, STW_EINVAL,
				     "prune_commands: a limit > 0, a seq and counts are required");
	PARAMS;
	stw__pg_int(&p, *after);
	stw__pg_int(&p, limit);
	stw__pg_int(&p, before);
	int rc;
	PGresult *res = stw__pg_run(h, STW__PG_PRUNE_COMMANDS, &p, "prune_commands", &rc);
	if (res == NULL)
		return rc;
	*looked = stw__pg_col_int(res, 0, 0);
	*deleted = stw__pg_col_int(res, 0, 1);
	*after = *looked < limit ? 0 : stw__pg_col_int(res, 0, 2);
	PQclear(res);
	return STW_OK;
}

void stw__pg_ops_retention(struct stw__store_ops *o)
{
	o->prune_instances = op_prune_instances;
	o->prune_dedup = op_prune_dedup;
	o->prune_commands = op_prune_commands;
}
