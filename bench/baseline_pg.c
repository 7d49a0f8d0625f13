/*
 * baseline_pg.c - bench_pm_step's hand-written loop on PostgreSQL: the
 * minimum of the engine's durable work per event, as the SQLite baseline of
 * bench_pm_step.c does it, with libpq: insert the event, read the state
 * row, upsert it with a version check, insert an outbox row (for Start),
 * each a prepared statement in its own round trip, `batch` events to a
 * transaction. Text columns sort bytewise, as the store's do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pg.h"
#include "bench_util.h"

static const char *const prog = "bench_pm_step";

static const char schema[] =
    "CREATE TABLE events(position int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " id text COLLATE \"C\" UNIQUE, type text COLLATE \"C\", corr text COLLATE \"C\","
    " data text);"
    "CREATE TABLE state(id text COLLATE \"C\" PRIMARY KEY, state text COLLATE \"C\","
    " version int8, data text);"
    "CREATE TABLE outbox(seq int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " id text COLLATE \"C\" UNIQUE, data text);";

/* The statements, prepared as "b0" to "b3". */
static const char *const statements[] = {
	"INSERT INTO events(id, type, corr, data) VALUES ($1, $2, $3, '{}')",
	"SELECT state, version FROM state WHERE id = $1",
	"INSERT INTO state AS s(id, state, version, data) VALUES ($1, $2, 1, '{}')"
	" ON CONFLICT (id) DO UPDATE SET state = $2, version = s.version + 1"
	" WHERE s.version = $3::int8",
	"INSERT INTO outbox(id, data) VALUES ($1, '{}')",
};
enum { INS_EVENT, GET, PUT, OUTBOX };

/*
 * Runs prepared statement k; *rows receives the rows changed, or for GET
 * the version read (0 when there is no row). 0 or -1.
 */
static int run(PGconn *c, int k, int nparams, const char *const *v, long *rows)
{
	char name[8];
	snprintf(name, sizeof name, "b%d", k);
	PGresult *res = PQexecPrepared(c, name, nparams, v, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "%s: baseline: %s: %s", prog, statements[k], PQerrorMessage(c));
	else if (k == GET)
		*rows = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 1), NULL, 10) : 0;
	else
		*rows = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return ok ? 0 : -1;
}

int bench_pg_baseline(const char *conninfo, long n, int batch, bench_event_fn event_of,
		      struct bench_pg_probe *probe, double *seconds)
{
	PGconn *c = bench_pg_connect(conninfo, prog);
	if (c == NULL)
		return 1;
	int failed = bench_pg_exec(c, schema, prog) != 0;
	for (int k = 0; !failed && k < (int)(sizeof statements / sizeof statements[0]); k++) {
		char name[8];
		snprintf(name, sizeof name, "b%d", k);
		PGresult *res = PQprepare(c, name, statements[k], 0, NULL);
		failed = res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK;
		if (failed)
			fprintf(stderr, "%s: baseline: prepare: %s", prog, PQerrorMessage(c));
		PQclear(res);
	}
	static const char *const next_state[3] = { "A", "B", "C" };
	failed = failed || bench_pg_probe_mark(probe, 0) != 0;
	double t0 = bench_now_s();
	for (long i = 0; !failed && i < n; i++) {
		if (i % batch == 0 && bench_pg_exec(c, "BEGIN", prog) != 0)
			failed = 1;
		char id[24], corr[24], version[24];
		const char *type;
		event_of(i, id, sizeof(id), corr, sizeof(corr), &type);
		long rows = 0, v = 0;
		const char *ev[3] = { id, type, corr };
		failed = failed || run(c, INS_EVENT, 3, ev, &rows) != 0;
		const char *get[1] = { corr };
		failed = failed || run(c, GET, 1, get, &v) != 0;
		snprintf(version, sizeof version, "%ld", v);
		const char *put[3] = { corr, next_state[i % 3], version };
		failed = failed || run(c, PUT, 3, put, &rows) != 0 || rows != 1;
		if (!failed && i % 3 == 0) {
			const char *out[1] = { id };
			failed = run(c, OUTBOX, 1, out, &rows) != 0;
		}
		if ((i % batch == batch - 1 || i == n - 1) && bench_pg_exec(c, "COMMIT", prog) != 0)
			failed = 1;
	}
	*seconds = bench_now_s() - t0;
	failed = failed || bench_pg_probe_mark(probe, 1) != 0;
	PQfinish(c);
	if (failed)
		fprintf(stderr, "%s: the PostgreSQL baseline loop failed\n", prog);
	return failed;
}
