/*
 * bench_pg.h - what the benchmarks share when they run on PostgreSQL
 * (`--pg`): the server named by STEWARD_TEST_PG_URL (scripts/pg-cluster.sh
 * run sets it), a schema of their own on it, the server's settings, and the
 * counters read around a timed part: the WAL written (the difference of
 * pg_current_wal_lsn()), and, when the server preloads pg_stat_statements
 * (scripts/pg-cluster.sh with STW_PG_STAT_STATEMENTS=1), the statements run
 * and the transactions committed. Each statement reaches the server on its
 * own (no pipeline), so statements are round trips. Header-only, like
 * bench_util.h, except the hand-written baseline of bench_pm_step
 * (baseline_pg.c).
 *
 * The WAL and the statements are counted over the whole server: they are
 * the benchmark's own only on a cluster nothing else uses, as the
 * benchmarks' (scripts/bench-all.sh) is.
 */
#ifndef BENCH_PG_H
#define BENCH_PG_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <libpq-fe.h>

static inline void bench_pg_quiet(void *ud, const char *message)
{
	(void)ud;
	(void)message;
}

/* The server's URL from STEWARD_TEST_PG_URL; NULL after saying it is missing. */
static inline const char *bench_pg_server(const char *prog)
{
	const char *url = getenv("STEWARD_TEST_PG_URL");
	if (url == NULL || *url == '\0') {
		fprintf(stderr,
			"%s: --pg needs STEWARD_TEST_PG_URL (scripts/pg-cluster.sh run %s --pg)\n",
			prog, prog);
		return NULL;
	}
	return url;
}

/* A connection to url, notices dropped; NULL after printing why. */
static inline PGconn *bench_pg_connect(const char *url, const char *prog)
{
	PGconn *c = PQconnectdb(url);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "%s: connecting to PostgreSQL: %s", prog,
			c ? PQerrorMessage(c) : "out of memory\n");
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, bench_pg_quiet, NULL);
	return c;
}

/* Runs sql (no parameters); 0, or -1 after printing why. */
static inline int bench_pg_exec(PGconn *c, const char *sql, const char *prog)
{
	PGresult *res = PQexec(c, sql);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	PQclear(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "%s: %s: %s", prog, sql, PQerrorMessage(c));
		return -1;
	}
	return 0;
}

/* The one value of a query of one row, copied into out (cap bytes); 0 or -1 (out ""). */
static inline int bench_pg_value(PGconn *c, const char *sql, char *out, size_t cap)
{
	PGresult *res = PQexec(c, sql);
	int ok = res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		 !PQgetisnull(res, 0, 0);
	snprintf(out, cap, "%s", ok ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	return ok ? 0 : -1;
}

/* The same for an integer; -1 when there is none. */
static inline double bench_pg_number(PGconn *c, const char *sql)
{
	char v[64];
	return bench_pg_value(c, sql, v, sizeof v) == 0 ? strtod(v, NULL) : -1;
}

/* Whether the server runs with fsync and synchronous_commit on (1), or not (0). */
static inline int bench_pg_durable(PGconn *c)
{
	char v[32];
	return bench_pg_value(c,
			      "SELECT current_setting('fsync') || ' ' ||"
			      " current_setting('synchronous_commit')",
			      v, sizeof v) == 0 &&
	       strcmp(v, "on on") == 0;
}

/*
 * A new empty schema `name` (a-z, 0-9, _; dropped first if it exists), and
 * the URL of a store kept in it into url (cap bytes): the server's URL with
 * the schema as its search path (the last of its parameters, options, so
 * that more options can be appended, URL-encoded, each after a %20). 0 or -1.
 */
static inline int bench_pg_schema(PGconn *c, const char *server, const char *name, char *url,
				  size_t cap, const char *prog)
{
	char sql[256];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", name, name);
	if (bench_pg_exec(c, sql, prog) != 0)
		return -1;
	int n = snprintf(url, cap, "%s%soptions=-csearch_path%%3D%s", server,
			 strchr(server, '?') ? "&" : "?", name);
	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "%s: the server's URL is too long\n", prog);
		return -1;
	}
	return 0;
}

/* Drops the schema `name` and all in it. */
static inline void bench_pg_drop(PGconn *c, const char *name, const char *prog)
{
	char sql[128];
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", name);
	bench_pg_exec(c, sql, prog);
}

/* The counters at one moment; statements and commits are -1 without pg_stat_statements. */
struct bench_pg_mark {
	char lsn[32];      /* pg_current_wal_lsn() */
	double statements; /* calls counted by pg_stat_statements, but the benchmark's own */
	double commits;    /* of them, COMMIT */
	double cpu;        /* this process's user + system CPU seconds */
};

/* Makes pg_stat_statements readable in this database if the server loaded it; 1 if so. */
static inline int bench_pg_statements_on(PGconn *c)
{
	char v[16];
	if (bench_pg_value(c,
			   "SELECT 1 FROM pg_settings WHERE name = 'shared_preload_libraries'"
			   " AND setting LIKE '%pg_stat_statements%'",
			   v, sizeof v) != 0)
		return 0;
	PGresult *res = PQexec(c, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
	int ok = res != NULL && PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok;
}

/* Reads the counters into *m; 0 or -1. */
static inline int bench_pg_mark(PGconn *c, int statements, struct bench_pg_mark *m)
{
	m->statements = m->commits = -1;
	if (statements) {
		/* The benchmark's own queries name pg_stat_statements or the WAL's position. */
		static const char own[] = " FROM pg_stat_statements WHERE query NOT LIKE"
					  " '%pg_stat_statements%' AND query NOT LIKE "
					  "'%pg_current_wal_lsn%'";
		char sql[256];
		snprintf(sql, sizeof sql, "SELECT coalesce(sum(calls), 0)%s", own);
		m->statements = bench_pg_number(c, sql);
		snprintf(sql, sizeof sql,
			 "SELECT coalesce(sum(calls), 0)%s AND upper(query) = 'COMMIT'", own);
		m->commits = bench_pg_number(c, sql);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	m->cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	return bench_pg_value(c, "SELECT pg_current_wal_lsn()", m->lsn, sizeof m->lsn);
}

/* The counters of a timed part, read on a connection of their own. */
struct bench_pg_probe {
	PGconn *c;
	int statements;            /* pg_stat_statements is loaded */
	struct bench_pg_mark a, b; /* before and after */
};

/* Connects a probe to the server; 0, or -1 after printing why. */
static inline int bench_pg_probe_open(struct bench_pg_probe *p, const char *server,
				      const char *prog)
{
	if ((p->c = bench_pg_connect(server, prog)) == NULL)
		return -1;
	p->statements = bench_pg_statements_on(p->c);
	return 0;
}

/*
 * The start of a run with --pg: the server's URL into *server and a probe
 * connected to it. 0, 1 (no connection) or 2 (no server named: usage).
 */
static inline int bench_pg_start(struct bench_pg_probe *p, const char **server, const char *prog)
{
	if ((*server = bench_pg_server(prog)) == NULL)
		return 2;
	return bench_pg_probe_open(p, *server, prog) != 0;
}

/* Marks a probe (ud) before (after = 0) or after (1) the timed part; 0 or -1. */
static inline int bench_pg_probe_mark(void *ud, int after)
{
	struct bench_pg_probe *p = ud;
	return bench_pg_mark(p->c, p->statements, after ? &p->b : &p->a);
}

/*
 * Prints, per unit of work (n of them, `unit` naming one) between marks a
 * and b taken `seconds` apart: WAL bytes, statements and commits (when
 * counted), and this process's CPU time against the time taken (the rest of
 * it the process waited: for the server, the disk, or the other core).
 */
static inline void bench_pg_print(PGconn *c, const char *name, const char *unit, double n,
				  double seconds, const struct bench_pg_mark *a,
				  const struct bench_pg_mark *b)
{
	const char *const v[2] = { b->lsn, a->lsn };
	PGresult *res = PQexecParams(c, "SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)", 2, NULL,
				     v, NULL, NULL, 0);
	if (res != NULL && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
		printf("bench %s_wal_per_%s %.0f bytes\n", name, unit,
		       strtod(PQgetvalue(res, 0, 0), NULL) / n);
	PQclear(res);
	if (a->statements >= 0 && b->statements >= 0) {
		printf("bench %s_statements_per_%s %.2f statements\n", name, unit,
		       (b->statements - a->statements) / n);
		printf("bench %s_commits_per_%s %.4f commits\n", name, unit,
		       (b->commits - a->commits) / n);
	}
	printf("bench %s_client_cpu_per_%s %.1f us\n", name, unit, (b->cpu - a->cpu) * 1e6 / n);
	printf("bench %s_client_cpu_share %.2f fraction\n", name,
	       seconds > 0 ? (b->cpu - a->cpu) / seconds : 0);
}

/*
 * bench_pm_step's hand-written libpq loop (baseline_pg.c): n events with
 * the same durable work per event as the SQLite baseline, in transactions
 * of `batch` events, in a schema of its own on the server `conninfo`
 * (created empty by the caller). event_of(i, ...) gives event i's id,
 * correlation id and type. *seconds receives the time of the loop; `probe`
 * is marked around it. 0, or 1 after printing why.
 */
typedef void (*bench_event_fn)(long i, char *id, size_t idcap, char *corr, size_t corrcap,
			       const char **type);
int bench_pg_baseline(const char *conninfo, long n, int batch, bench_event_fn event_of,
		      struct bench_pg_probe *probe, double *seconds);

#endif /* BENCH_PG_H */
