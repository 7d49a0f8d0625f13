/*
 * sqlite_retention.c - retention on SQLite: ended instances deleted with the
 * rows that went with them, and old records of the dedup table and delivered
 * commands of no instance swept out in the order of their primary keys. The
 * statements, and the index each uses, are in sqlite_sql.c (STW__PRUNE_*,
 * STW__DEDUP_WINDOW, STW__DEDUP_DROP_*, STW__COMMANDS_*).
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <stdlib.h>
#include <string.h>

/* The statuses of an ended instance, each one a range of stw_instances_list. */
static const char *const ended[] = { "completed", "acknowledged", "cancelled", "rejected" };

/* The ids of a batch, copied out before anything is deleted. */
struct batch {
	char **id;
	int n;
};

/* Adds to b the ids of up to limit - b->n ended instances of one status. */
static int collect(struct sqlite_store *h, const char *definition, const char *status,
		   int64_t before, int limit, struct batch *b)
{
	sqlite3_stmt *c = h->st[STW__PRUNE_CANDIDATES], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "prune_instances");
	if (rc != STW_OK)
		return rc;
	int x = SQLITE_OK;
	stw__sqlite_bt(&x, st, 1, definition);
	stw__sqlite_bt(&x, st, 2, status);
	stw__sqlite_bi(&x, st, 3, before);
	stw__sqlite_bi(&x, st, 4, limit - b->n);
	if (x == SQLITE_OK) {
		while ((x = sqlite3_step(st)) == SQLITE_ROW) {
			int oom = 0;
			const char *id = stw__sqlite_col_text(st, 0, &oom);
			if (oom || id == NULL || (b->id[b->n] = strdup(id)) == NULL) {
				x = SQLITE_NOMEM;
				break;
			}
			b->n++;
		}
	}
	rc = x == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, x, "prune_instances");
	stw__sqlite_finish(c, st);
	return rc;
}

/* Runs one of the STW__PRUNE_* deletes for an instance; adds what it deleted to *count, if any. */
static int drop(struct sqlite_store *h, enum sid id, const char *definition,
		const char *instance_id, int64_t *count)
{
	sqlite3_stmt *st = h->st[id];
	int b = SQLITE_OK, changes = 0;
	stw__sqlite_bt(&b, st, 1, definition);
	stw__sqlite_bt(&b, st, 2, instance_id);
	int rc = stw__sqlite_run(h, st, b, "prune_instances", &changes);
	if (rc == STW_OK && count != NULL)
		*count += changes;
	return rc;
}

/*
 * The ids are collected first, status by status, then each instance goes
 * with its rows, one statement per table: the write lock of the caller's
 * transaction keeps what was collected true until the deletes.
 */
static int op_prune_instances(struct stw__store *s, const char *definition, int64_t before,
			      int limit, struct stw__prune_counts *out)
{
	struct sqlite_store *h = handle(s);
	if (definition == NULL || limit <= 0 || out == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "prune_instances: a definition, a limit > 0 and out are "
					 "required");
	struct batch b = { .id = calloc((size_t)limit, sizeof(char *)) };
	if (b.id == NULL)
		return stw__sqlite_failf(h, STW_ENOMEM, "prune_instances: out of memory");
	int rc = STW_OK;
	for (size_t i = 0; rc == STW_OK && i < sizeof ended / sizeof ended[0] && b.n < limit; i++)
		rc = collect(h, definition, ended[i], before, limit, &b);
	for (int i = 0; rc == STW_OK && i < b.n; i++) {
		rc = drop(h, STW__PRUNE_HISTORY, definition, b.id[i], &out->history);
		if (rc == STW_OK)
			rc = drop(h, STW__PRUNE_TIMERS, definition, b.id[i], &out->timers);
		if (rc == STW_OK)
			rc = drop(h, STW__PRUNE_OUTBOX, definition, b.id[i], &out->outbox);
		if (rc == STW_OK)
			rc = drop(h, STW__PRUNE_INSTANCE, definition, b.id[i], &out->instances);
		if (rc == STW_OK)
			rc = drop(h, STW__PRUNE_NAME, definition, b.id[i], NULL);
	}
	stw__sqlite_num_forget(h); /* the names deleted */
	for (int i = 0; i < b.n; i++)
		free(b.id[i]);
	free(b.id);
	return rc;
}

/* Copies column i of st into dst (cap bytes); -1 when it does not fit or SQLite had no memory. */
static int key_part(sqlite3_stmt *st, int i, char *dst, size_t cap)
{
	int oom = 0;
	const char *v = stw__sqlite_col_text(st, i, &oom);
	size_t n = v != NULL ? (size_t)sqlite3_column_bytes(st, i) : 0;
	if (oom || n >= cap)
		return -1;
	if (n > 0)
		memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/*
 * The window is read first (limit rows, and the key of the one after them),
 * then its old rows go in one delete over that range of the primary key.
 */
static int op_prune_dedup(struct stw__store *s, int64_t before, int limit,
			  struct stw__dedup_key *key, int64_t *looked, int64_t *deleted)
{
	struct sqlite_store *h = handle(s);
	if (limit <= 0 || key == NULL || looked == NULL || deleted == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "prune_dedup: a limit > 0, a key and counts are required");
	sqlite3_stmt *c = h->st[STW__DEDUP_WINDOW], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "prune_dedup");
	if (rc != STW_OK)
		return rc;
	struct stw__dedup_key next = { "", "" };
	int b = SQLITE_OK, n = 0, more = 0, too_long = 0;
	stw__sqlite_bt(&b, st, 1, key->context);
	stw__sqlite_bt(&b, st, 2, key->command_id);
	stw__sqlite_bi(&b, st, 3, (int64_t)limit + 1);
	if (b == SQLITE_OK) {
		while ((b = sqlite3_step(st)) == SQLITE_ROW) {
			if (n < limit) {
				n++;
				continue;
			}
			if (key_part(st, 0, next.context, sizeof next.context) != 0 ||
			    key_part(st, 1, next.command_id, sizeof next.command_id) != 0) {
				too_long = 1;
				b = SQLITE_DONE;
				break;
			}
			more = 1;
		}
	}
	rc = b != SQLITE_DONE ? stw__sqlite_fail(h, b, "prune_dedup")
	     : too_long
		 ? stw__sqlite_failf(h, STW_EINVAL, "prune_dedup: a key too long to resume from")
		 : STW_OK;
	stw__sqlite_finish(c, st);
	if (rc != STW_OK)
		return rc;
	int changes = 0;
	b = SQLITE_OK;
	if (more) {
		st = h->st[STW__DEDUP_DROP_RANGE];
		stw__sqlite_bt(&b, st, 1, key->context);
		stw__sqlite_bt(&b, st, 2, key->command_id);
		stw__sqlite_bt(&b, st, 3, next.context);
		stw__sqlite_bt(&b, st, 4, next.command_id);
		stw__sqlite_bi(&b, st, 5, before);
	} else {
		st = h->st[STW__DEDUP_DROP_TAIL];
		stw__sqlite_bt(&b, st, 1, key->context);
		stw__sqlite_bt(&b, st, 2, key->command_id);
		stw__sqlite_bi(&b, st, 3, before);
	}
	rc = stw__sqlite_run(h, st, b, "prune_dedup", &changes);
	if (rc != STW_OK)
		return rc;
	*looked = n;
	*deleted = changes;
	*key = next;
	return STW_OK;
}

/* The window is read first (its last seq and its rows), then its old commands go in one delete. */
static int op_prune_commands(struct stw__store *s, int64_t before, int limit, int64_t *after,
			     int64_t *looked, int64_t *deleted)
{
	struct sqlite_store *h = handle(s);
	if (limit <= 0 || after == NULL || looked == NULL || deleted == NULL)
		return stw__sqlite_failf(h, STW_EINVAL,
					 "prune_commands: a limit > 0, a seq and counts are "
					 "required");
	sqlite3_stmt *c = h->st[STW__COMMANDS_WINDOW], *st;
	int rc = stw__sqlite_acquire(h, c, &st, "prune_commands");
	if (rc != STW_OK)
		return rc;
	int b = SQLITE_OK;
	int64_t last = 0, n = 0;
	stw__sqlite_bi(&b, st, 1, *after);
	stw__sqlite_bi(&b, st, 2, limit);
	if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		n = sqlite3_column_int64(st, 1);
		b = SQLITE_DONE;
	}
	rc = b == SQLITE_DONE ? STW_OK : stw__sqlite_fail(h, b, "prune_commands");
	stw__sqlite_finish(c, st);
	int changes = 0;
	if (rc == STW_OK && n > 0) {
		b = SQLITE_OK;
		st = h->st[STW__COMMANDS_DROP];
		stw__sqlite_bi(&b, st, 1, *after);
		stw__sqlite_bi(&b, st, 2, last);
		stw__sqlite_bi(&b, st, 3, before);
		rc = stw__sqlite_run(h, st, b, "prune_commands", &changes);
	}
	if (rc != STW_OK)
		return rc;
	*looked = n;
	*deleted = changes;
	*after = n < limit ? 0 : last;
	return STW_OK;
}

void stw__sqlite_ops_retention(struct stw__store_ops *o)
{
	o->prune_instances = op_prune_instances;
	o->prune_dedup = op_prune_dedup;
	o->prune_commands = op_prune_commands;
}
