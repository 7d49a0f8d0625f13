/*
 * growth_store.c - the stores of bench_growth: a seed store multiplied to N
 * completed voiding processes directly in SQLite (see bench_growth.c for
 * how), and the bytes a store's pages take.
 */
#include "growth_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const prog = "bench_growth";

int growth_db_exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, sql, err ? err : sqlite3_errmsg(db));
		sqlite3_free(err);
		return 1;
	}
	return 0;
}

sqlite3 *growth_db_open(const char *path)
{
	sqlite3 *db = NULL;
	if (sqlite3_open(path, &db) != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, db ? sqlite3_errmsg(db) : "no memory");
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

static int64_t db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The bytes of pages in use (the freelist left out), after a checkpoint; -1 on failure. */
double growth_used_bytes(const char *path)
{
	sqlite3 *db = growth_db_open(path);
	if (db == NULL || growth_db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") != 0) {
		sqlite3_close(db);
		return -1;
	}
	int64_t pages = db_int(db, "PRAGMA page_count"), free = db_int(db, "PRAGMA freelist_count"),
		size = db_int(db, "PRAGMA page_size");
	sqlite3_close(db);
	return (double)(pages - free) * (double)size;
}

/*
 * The copies' INSERT ... SELECT, one per table, in which `{x}` stands for
 * copy number j of the id in column x: a 32-hex id keeps its first 24
 * digits and ends in "g" and j in 7 hex digits (never a seed id, whose
 * digits are all hex); any other name gets ".j". Both endings are made once
 * per copy (k.hex, k.dot), not once per id.
 *
 * `k CROSS JOIN` keeps the copy numbers the outer loop and each seed table
 * is read in its own order, so the rows come in the order each table's
 * key wants them without a sort: copy j of an event goes after copy j - 1
 * in its context (positions stay gap-free and every context's log grows at
 * its end), and the history's and the outbox's rowids follow j. So do the
 * instances' numbers (k.top is the seed's largest; copy j's numbers are the
 * seed's plus j times it), as the store gives them in creation order.
 */
static const char *const copy_sql[] = {
	"INSERT INTO stw_events(context, position, id, type, stream, stream_version,"
	" correlation_id, causation_id, data, metadata, recorded_at)"
	" SELECT e.context, e.position + k.j * e.head, {e.id}, e.type, {e.stream},"
	" e.stream_version, {e.correlation_id}, {e.causation_id}, e.data, e.metadata,"
	" e.recorded_at FROM k CROSS JOIN growth_events e",
	"INSERT INTO stw_names(num, definition, id)"
	" SELECT n.num + k.j * k.top, n.definition, {n.id} FROM k CROSS JOIN growth_names n",
	"INSERT INTO stw_instances(num, definition, id, state, status, data, unique_key, reason,"
	" version, created_at, updated_at, entered_version, definition_version)"
	" SELECT i.num + k.j * k.top, i.definition, {i.id}, i.state, i.status, i.data,"
	" {i.unique_key}, i.reason, i.version, i.created_at, i.updated_at, i.entered_version,"
	" i.definition_version FROM k CROSS JOIN growth_instances i",
	"INSERT INTO stw_history(definition, instance_id, message_id, message_type, context,"
	" from_state, to_state, outcome, reason, at, instance_num)"
	" SELECT x.definition, {x.instance_id}, {x.message_id}, x.message_type, x.context,"
	" x.from_state, x.to_state, x.outcome, x.reason, x.at, x.instance_num + k.j * k.top"
	" FROM k CROSS JOIN growth_history x",
	"INSERT INTO stw_outbox(command_id, context, type, definition, instance_id,"
	" correlation_id, causation_id, data, status, error, created_at, delivered_at,"
	" attempts, next_at, instance_num)"
	" SELECT {o.command_id}, o.context, o.type, o.definition, {o.instance_id},"
	" {o.correlation_id}, {o.causation_id}, o.data, o.status, o.error, o.created_at,"
	" o.delivered_at, o.attempts, o.next_at, o.instance_num + k.j * k.top"
	" FROM k CROSS JOIN growth_outbox o",
	"INSERT INTO stw_dedup(context, command_id, outcome, error, at, duplicates)"
	" SELECT d.context, {d.command_id}, d.outcome, d.error, d.at, d.duplicates"
	" FROM k CROSS JOIN growth_dedup d",
};

/* Writes template t into out (cap bytes) with each {x} expanded; 0, or 1 when it does not fit. */
static int expand(const char *t, char *out, size_t cap)
{
	size_t n = 0;
	while (*t != '\0') {
		const char *close = *t == '{' ? strchr(t, '}') : NULL;
		int w = 1;
		if (close == NULL) {
			if (n + 1 < cap)
				out[n] = *t;
			t++;
		} else {
			int len = (int)(close - t - 1);
			const char *x = t + 1;
			w = snprintf(out + n, cap - n,
				     "CASE WHEN %.*s IS NULL THEN NULL WHEN length(%.*s) = 32 THEN"
				     " substr(%.*s, 1, 24) || k.hex ELSE %.*s || k.dot END",
				     len, x, len, x, len, x, len, x);
			t = close + 1;
		}
		if (w < 0 || (size_t)w >= cap - n)
			return 1;
		n += (size_t)w;
	}
	out[n] = '\0';
	return 0;
}

/* The copies [a, b) of every row, one INSERT ... SELECT per table, in one transaction. */
static int multiply(sqlite3 *db, long a, long b)
{
	char sql[8192];
	int n = snprintf(
	    sql, sizeof(sql),
	    "WITH RECURSIVE n(j) AS (SELECT %ld UNION ALL SELECT j + 1 FROM n WHERE j + 1 < %ld),"
	    " k(j, hex, dot, top) AS MATERIALIZED (SELECT j, 'g' || printf('%%07x', j), '.' || j,"
	    " (SELECT max(num) FROM growth_names) FROM n) ",
	    a, b);
	if (growth_db_exec(db, "BEGIN") != 0)
		return 1;
	for (size_t i = 0; i < sizeof(copy_sql) / sizeof(copy_sql[0]); i++) {
		if (expand(copy_sql[i], sql + n, sizeof(sql) - (size_t)n) != 0) {
			fprintf(stderr, "%s: the copies' SQL is too long\n", prog);
			return 1;
		}
		if (growth_db_exec(db, sql) != 0)
			return 1;
	}
	return growth_db_exec(db, "COMMIT");
}

/* The seed's rows, kept aside as the source of every copy. */
static const char seed_tables[] =
    "CREATE TEMP TABLE growth_heads AS SELECT context, max(position) AS head FROM stw_events"
    " GROUP BY context;"
    "CREATE TEMP TABLE growth_events AS SELECT e.*, h.head FROM stw_events e"
    " JOIN growth_heads h USING (context) ORDER BY e.context, e.position;"
    "CREATE TEMP TABLE growth_names AS SELECT * FROM stw_names;"
    "CREATE TEMP TABLE growth_instances AS SELECT * FROM stw_instances;"
    "CREATE TEMP TABLE growth_history AS SELECT * FROM stw_history;"
    "CREATE TEMP TABLE growth_outbox AS SELECT * FROM stw_outbox;"
    "CREATE TEMP TABLE growth_dedup AS SELECT * FROM stw_dedup;";

/* Every cursor of the seed at its context's head: the copies are stepped as they are. */
static int seed_idle(sqlite3 *db)
{
	int64_t behind = db_int(db, "SELECT count(*) FROM stw_cursors c JOIN growth_heads h"
				    " USING (context) WHERE c.position <> h.head");
	if (behind != 0)
		fprintf(stderr, "%s: %lld cursors of the seed are not at their heads\n", prog,
			(long long)behind);
	return behind != 0;
}

/*
 * Multiplies the seed store at `path` (seed processes) to n processes: the
 * secondary indexes are dropped, the copies inserted in transactions of
 * about 100,000 processes, the indexes built again, the cursors moved to the
 * new heads.
 */
int growth_build(const char *path, long seed, long n, growth_note_fn *note)
{
	sqlite3 *db = growth_db_open(path);
	if (db == NULL)
		return 1;
	long m = n / seed;
	int failed = growth_db_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
					"PRAGMA cache_size=-2000000; PRAGMA temp_store=MEMORY;") ||
		     growth_db_exec(db, seed_tables) || seed_idle(db) ||
		     growth_db_exec(db, "CREATE TEMP TABLE growth_indexes AS SELECT name, sql FROM"
					" sqlite_schema WHERE type = 'index' AND sql IS NOT NULL");
	sqlite3_stmt *st = NULL;
	failed = failed ||
		 sqlite3_prepare_v2(db, "SELECT name, sql FROM growth_indexes", -1, &st, NULL) != 0;
	char **create = calloc(64, sizeof(char *)), **name = calloc(64, sizeof(char *));
	int nidx = 0;
	failed = failed || create == NULL || name == NULL;
	while (!failed && nidx < 64 && sqlite3_step(st) == SQLITE_ROW) {
		name[nidx] = strdup((const char *)sqlite3_column_text(st, 0));
		create[nidx++] = strdup((const char *)sqlite3_column_text(st, 1));
	}
	sqlite3_finalize(st);
	for (int i = 0; i < nidx; i++) {
		char drop[256];
		snprintf(drop, sizeof(drop), "DROP INDEX \"%s\"", name[i]);
		failed = failed || growth_db_exec(db, drop);
		free(name[i]);
	}
	free(name);
	long chunk = 100000 / seed < 1 ? 1 : 100000 / seed;
	for (long a = 1; !failed && a < m; a += chunk) {
		note("%ld: building, %ld processes", n, a * seed);
		failed = multiply(db, a, a + chunk < m ? a + chunk : m);
	}
	for (int i = 0; i < nidx; i++) {
		note("%ld: building the indexes, %d to go", n, nidx - i);
		failed = failed || growth_db_exec(db, create[i]);
		free(create[i]);
	}
	free(create);
	failed = failed ||
		 growth_db_exec(db, "UPDATE stw_cursors SET position = (SELECT max(position) FROM"
				    " stw_events e WHERE e.context = stw_cursors.context)"
				    " WHERE position = (SELECT head FROM growth_heads h"
				    " WHERE h.context = stw_cursors.context);"
				    "PRAGMA journal_mode=WAL;");
	sqlite3_close(db);
	return failed;
}
