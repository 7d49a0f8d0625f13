/*
 * bench_voiding_e2e.c - complete voiding processes end to end, in process,
 * services included: from the VoidDocument request to the step that applies
 * DocumentVoided to the process (its terminal state).
 *
 * Setup (untimed, synchronous=OFF): N documents are issued (one customer per
 * ten documents) and the reports are built, then the engine is closed. The
 * timed engine reopens the store durable (WAL, synchronous=FULL) and, on one
 * thread, alternates as the daemon's API and worker do: it sends the void
 * requests that are due with voiding_void_document(), committed together
 * between stw_begin() and stw_commit() (group commit: a request counts as
 * sent when its group is durable), and runs rounds with stw_run_once() (one
 * transaction each).
 *
 *  - saturation: a closed loop that keeps `window` processes in flight (a
 *    new request as soon as one completes); the rate is processes completed
 *    per second from the first request to the last completion;
 *  - light: an open loop at a fixed rate (1,000/s): request i is due at
 *    t0 + i / rate, and its latency counts from that due time, so waiting for
 *    a busy round is part of it.
 *
 * Latency of one process = the moment the step transaction that applied its
 * DocumentVoided committed (seen by the observer) - its request time. The
 * observer counts the positions of Billing that the "voiding" definition has
 * stepped; after each round the new DocumentVoided events up to there are
 * read back and matched to their process by correlation id.
 *
 * Baseline, in the same run: the rate of one-row SQLite transactions (WAL,
 * synchronous=FULL) on the same disk, the ceiling of any design in which
 * each request is durable on its own before it is answered (group commit is
 * how Steward goes past it).
 *
 * With --pg, the same on PostgreSQL (the server STEWARD_TEST_PG_URL names,
 * fsync and synchronous_commit on; the setup's session with
 * synchronous_commit off): the store in the schema bench_voiding_e2e, the
 * baseline's one-row transactions in bench_voiding_e2e_baseline, each
 * dropped at the end. The figures are named voiding_e2e_pg_* and
 * commit_baseline_pg_*, with the WAL written, the statements run and the
 * commits per process of each phase (bench_pg.h).
 *
 * usage: bench_voiding_e2e [--saturation N] [--light N] [--rate R]
 *                          [--window W] [--dir DIR | --pg]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <steward.h>
#include <voiding.h>

#include "bench_util.h"
#ifdef STW_HAVE_POSTGRES
#include "bench_pg.h"
#endif

static const char *const prog = "bench_voiding_e2e";

/* A step transaction of "voiding" over Billing: the positions it covered, and when. */
struct segment {
	int64_t end; /* the voiding cursor on Billing after the commit */
	double at;   /* monotonic seconds at the commit */
};

enum { MAX_SEGMENTS = 256 };

struct run {
	struct stw_engine *e;
	int64_t cursor;  /* voiding's cursor on Billing, as the observer counted it */
	int64_t scanned; /* Billing positions already scanned for DocumentVoided */
	struct segment seg[MAX_SEGMENTS];
	int nseg;
	double *start; /* per process: its request time */
	double *done;  /* per process: the commit time of its DocumentVoided step; 0 if not yet */
	long total;    /* processes (and documents) in the store */
	long completed;
	double seg_at; /* the segment being scanned (read callback) */
	int64_t seg_end;
	int bad;                       /* a DocumentVoided that names no known process */
	double in_requests, in_rounds; /* seconds spent in each, in the current phase */
	long groups;                   /* request groups committed, in the current phase */
};

static void observe(const struct stw_activity *a, void *ud)
{
	struct run *r = ud;
	if (a->kind != STW_ACTIVITY_STEP || strcmp(a->definition, "voiding") != 0 ||
	    strcmp(a->context, "Billing") != 0)
		return;
	/* Positions are gap-free: a batch of `count` events moves the cursor by count. */
	r->cursor += a->count;
	/* When full, the last segment is extended: its time is later, so no latency is
	 * understated. */
	if (r->nseg == MAX_SEGMENTS)
		r->nseg--;
	r->seg[r->nseg++] = (struct segment){ r->cursor, bench_now_s() };
}

static int on_billing_event(const struct stw_event *ev, void *ud)
{
	struct run *r = ud;
	if (ev->position > r->seg_end)
		return 1;
	if (strcmp(ev->type, "DocumentVoided") != 0)
		return 0;
	const char *c = ev->correlation_id;
	char *end = NULL;
	long i = c != NULL && c[0] == 'v' ? strtol(c + 1, &end, 10) : -1;
	if (i < 0 || i >= r->total || end == NULL || *end != '\0' || r->done[i] != 0) {
		r->bad = 1;
		return 1;
	}
	r->done[i] = r->seg_at;
	r->completed++;
	return 0;
}

/* Matches the DocumentVoided events stepped during the last round to their processes. */
static int collect(struct run *r)
{
	for (int s = 0; s < r->nseg; s++) {
		r->seg_at = r->seg[s].at;
		r->seg_end = r->seg[s].end;
		while (r->scanned < r->seg_end) {
			int count = 0;
			int64_t want = r->seg_end - r->scanned;
			int limit = want > 1000 ? 1000 : (int)want;
			if (stw_read(r->e, "Billing", r->scanned, limit, on_billing_event, r,
				     &count) != STW_OK)
				return 1;
			if (r->bad || count == 0) {
				fprintf(stderr, "%s: unexpected Billing events after %lld\n", prog,
					(long long)r->scanned);
				return 1;
			}
			r->scanned += count;
		}
	}
	r->nseg = 0;
	return 0;
}

static int void_one(struct run *r, long i)
{
	char doc[32], pid[32];
	snprintf(doc, sizeof(doc), "d%ld", i);
	snprintf(pid, sizeof(pid), "v%ld", i);
	if (voiding_void_document(r->e, doc, pid, NULL) != STW_OK) {
		fprintf(stderr, "%s: void %s: %s\n", prog, doc, stw_errmsg(r->e));
		return 1;
	}
	return 0;
}

/*
 * Runs processes [first, first + n): open loop at `rate` per second when rate
 * > 0, else closed loop with `window` in flight. *elapsed receives the time
 * from the start to the last completion.
 */
static int run_phase(struct run *r, long first, long n, double rate, long window, double *elapsed)
{
	long next = first, end = first + n, before = r->completed;
	int idle = 0;
	double t0 = bench_now_s();
	r->in_requests = r->in_rounds = 0;
	r->groups = 0;
	while (r->completed - before < n) {
		/* The requests due now are committed as a group, as an API server
		 * answering concurrent clients does (stw_begin / stw_commit). */
		long group = next;
		double a = bench_now_s();
		if (stw_begin(r->e) != STW_OK) {
			fprintf(stderr, "%s: begin: %s\n", prog, stw_errmsg(r->e));
			return 1;
		}
		while (next < end) {
			double t = bench_now_s();
			if (rate > 0) {
				double due = t0 + (double)(next - first) / rate;
				if (due > t)
					break;
				r->start[next] = due;
			} else {
				if (next - first - (r->completed - before) >= window)
					break;
				r->start[next] = t;
			}
			if (void_one(r, next) != 0)
				return 1;
			next++;
		}
		if (stw_commit(r->e) != STW_OK) {
			fprintf(stderr, "%s: commit: %s\n", prog, stw_errmsg(r->e));
			return 1;
		}
		r->in_requests += bench_now_s() - a;
		r->groups += next > group;
		int did = 0;
		a = bench_now_s();
		if (stw_run_once(r->e, &did) != STW_OK) {
			fprintf(stderr, "%s: round: %s\n", prog, stw_errmsg(r->e));
			return 1;
		}
		r->in_rounds += bench_now_s() - a;
		if (collect(r) != 0)
			return 1;
		if (did > 0) {
			idle = 0;
		} else if (rate > 0 && next < end) {
			bench_sleep_until(t0 + (double)(next - first) / rate);
		} else if (++idle > 100) {
			/* Nothing to do for 100 rounds with processes in flight: they are stuck. */
			fprintf(stderr, "%s: %ld of %ld processes never completed\n", prog,
				n - (r->completed - before), n);
			return 1;
		}
	}
	double last = t0;
	for (long i = first; i < end; i++)
		if (r->done[i] > last)
			last = r->done[i];
	*elapsed = last - t0;
	return 0;
}

/* Prints p50 / p99 / max of the phase's latencies in milliseconds; returns p99. */
static double print_latency(struct run *r, const char *name, long first, long n)
{
	double *lat = malloc(sizeof(double) * (size_t)n);
	if (lat == NULL)
		return -1;
	for (long i = 0; i < n; i++)
		lat[i] = (r->done[first + i] - r->start[first + i]) * 1e3;
	double p50 = bench_percentile(lat, (size_t)n, 50);
	double p99 = bench_percentile(lat, (size_t)n, 99);
	printf("bench %s_latency_p50 %.2f ms\n", name, p50);
	printf("bench %s_latency_p99 %.2f ms\n", name, p99);
	printf("bench %s_latency_max %.2f ms\n", name, lat[n - 1]);
	free(lat);
	return p99;
}

/* Prints where a phase of n processes spent its time, and its commits per process. */
static void print_breakdown(const struct run *r, const char *name, long n,
			    const struct stw_stats *st0, const struct stw_stats *st1)
{
	printf("bench %s_transactions_per_process %.2f tx\n", name,
	       (double)(st1->transactions - st0->transactions + (uint64_t)r->groups) / (double)n);
	printf("bench %s_request_time_per_process %.3f ms\n", name,
	       r->in_requests * 1e3 / (double)n);
	printf("bench %s_round_time_per_process %.3f ms\n", name, r->in_rounds * 1e3 / (double)n);
	printf("bench %s_stream_reads_per_process %.2f reads\n", name,
	       (double)(st1->stream_reads - st0->stream_reads) / (double)n);
	printf("bench %s_stream_store_reads_per_process %.2f reads\n", name,
	       (double)(st1->stream_store_reads - st0->stream_store_reads) / (double)n);
}

/*
 * The baseline: n transactions of one INSERT each in a fresh database (WAL,
 * synchronous=FULL). Returns commits per second, or -1.
 */
static double commit_baseline(const char *dir, long n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/baseline.db", dir);
	unlink(path);
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL;
	double rate = -1;
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE requests(id INTEGER PRIMARY KEY, body TEXT NOT NULL);",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO requests(body) VALUES (?)", -1, &ins, NULL) !=
		SQLITE_OK)
		goto out;
	double t0 = bench_now_s();
	for (long i = 0; i < n; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"document_id\": \"d%ld\"}", i);
		sqlite3_bind_text(ins, 1, body, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE)
			goto out;
		sqlite3_reset(ins);
	}
	rate = (double)n / (bench_now_s() - t0);
out:
	if (rate < 0)
		fprintf(stderr, "%s: baseline: %s\n", prog, db ? sqlite3_errmsg(db) : path);
	sqlite3_finalize(ins);
	sqlite3_close(db);
	return rate;
}

/*
 * Issues every document and builds the reports, with synchronous=OFF
 * (untimed; on PostgreSQL, the URL sets synchronous_commit off).
 */
static int setup(const char *path, long total)
{
	struct stw_options o = { .synchronous = 0 };
	struct stw_engine *e = NULL;
	if (stw_open(path, &o, &e) != STW_OK || voiding_register(e) != STW_OK) {
		fprintf(stderr, "%s: setup: %s\n", prog, e ? stw_errmsg(e) : path);
		stw_close(e);
		return 1;
	}
	for (long i = 0; i < total; i++) {
		char doc[32], customer[32], cmd[40];
		snprintf(doc, sizeof(doc), "d%ld", i);
		snprintf(customer, sizeof(customer), "c%ld", i / 10);
		snprintf(cmd, sizeof(cmd), "issue-%ld", i);
		if (voiding_issue_document(e, doc, customer, 100 + i % 900, cmd) != STW_OK) {
			fprintf(stderr, "%s: issue %s: %s\n", prog, doc, stw_errmsg(e));
			stw_close(e);
			return 1;
		}
	}
	int rc = stw_run_until_idle(e);
	if (rc != STW_OK)
		fprintf(stderr, "%s: building the reports: %s\n", prog, stw_errmsg(e));
	stw_close(e);
	return rc != STW_OK;
}

/*
 * Where a run keeps its store and how its figures are named: SQLite in a
 * scratch directory, or (--pg) schemas on PostgreSQL.
 */
struct where {
	char store[1024]; /* the timed engine's: a path, or a URL */
	char setup[1100]; /* the setup's: the same, or the URL with synchronous_commit off */
	const char *name; /* the prefix of the figures: voiding_e2e or voiding_e2e_pg */
	const char *base; /* the baseline's: commit_baseline or commit_baseline_pg */
	const char *dir;  /* SQLite: the directory */
#ifdef STW_HAVE_POSTGRES
	struct bench_pg_probe probe; /* the counters of a phase */
	PGconn *pg;                  /* its connection (NULL on SQLite) */
	char base_url[1024];         /* the baseline's schema */
#endif
};

#ifdef STW_HAVE_POSTGRES
/* The schemas of a run on the server STEWARD_TEST_PG_URL names; 0, 1 or 2 (usage). */
static int where_pg(struct where *w)
{
	const char *server;
	int rc = bench_pg_start(&w->probe, &server, prog);
	if (rc != 0)
		return rc;
	w->pg = w->probe.c;
	w->name = "voiding_e2e_pg";
	w->base = "commit_baseline_pg";
	if (bench_pg_schema(w->pg, server, "bench_voiding_e2e", w->store, sizeof w->store, prog) !=
		0 ||
	    bench_pg_schema(w->pg, server, "bench_voiding_e2e_baseline", w->base_url,
			    sizeof w->base_url, prog) != 0)
		return 1;
	snprintf(w->setup, sizeof w->setup, "%s%%20-csynchronous_commit%%3Doff", w->store);
	return 0;
}

/*
 * The baseline on PostgreSQL: n transactions of one INSERT each (a
 * prepared statement, autocommit). Returns commits per second, or -1.
 */
static double commit_baseline_pg(const char *url, long n)
{
	PGconn *c = bench_pg_connect(url, prog);
	if (c == NULL)
		return -1;
	double rate = -1;
	PGresult *res = NULL;
	if (bench_pg_exec(c,
			  "CREATE TABLE requests(id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
			  " body text NOT NULL)",
			  prog) != 0)
		goto out;
	res = PQprepare(c, "ins", "INSERT INTO requests(body) VALUES ($1)", 0, NULL);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
		goto out;
	double t0 = bench_now_s();
	for (long i = 0; i < n; i++) {
		char body[64];
		snprintf(body, sizeof(body), "{\"document_id\": \"d%ld\"}", i);
		const char *v[1] = { body };
		PQclear(res);
		res = PQexecPrepared(c, "ins", 1, v, NULL, NULL, 0);
		if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
			goto out;
	}
	rate = (double)n / (bench_now_s() - t0);
out:
	if (rate < 0)
		fprintf(stderr, "%s: baseline: %s", prog, PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
	return rate;
}

/* The counters at the start of a phase. */
static int phase_start(struct where *w)
{
	return w->pg != NULL && bench_pg_probe_mark(&w->probe, 0) != 0;
}

/* The counters at its end, printed per process. */
static int phase_end(struct where *w, const char *name, long n, double seconds)
{
	if (w->pg == NULL)
		return 0;
	if (bench_pg_probe_mark(&w->probe, 1) != 0)
		return 1;
	bench_pg_print(w->pg, name, "process", (double)n, seconds, &w->probe.a, &w->probe.b);
	return 0;
}

static double baseline(struct where *w, long n)
{
	return w->pg != NULL ? commit_baseline_pg(w->base_url, n) : commit_baseline(w->dir, n);
}

static void where_close(struct where *w)
{
	if (w->pg == NULL)
		return;
	bench_pg_drop(w->pg, "bench_voiding_e2e", prog);
	bench_pg_drop(w->pg, "bench_voiding_e2e_baseline", prog);
	PQfinish(w->pg);
}
#else
static int where_pg(struct where *w)
{
	(void)w;
	fprintf(stderr, "%s: this build has no PostgreSQL store\n", prog);
	return 2;
}

static int phase_start(struct where *w)
{
	(void)w;
	return 0;
}

static int phase_end(struct where *w, const char *name, long n, double seconds)
{
	(void)w;
	(void)name;
	(void)n;
	(void)seconds;
	return 0;
}

static double baseline(struct where *w, long n)
{
	return commit_baseline(w->dir, n);
}

static void where_close(struct where *w)
{
	(void)w;
}
#endif

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as soon as it is known */
	long nsat = 20000, nlight = 10000, window = 256;
	double rate = 1000;
	const char *dir = NULL;
	int pg = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--saturation") == 0 && i + 1 < argc)
			nsat = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--light") == 0 && i + 1 < argc)
			nlight = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc)
			rate = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
			window = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--pg") == 0)
			pg = 1;
		else {
			fprintf(stderr,
				"usage: %s [--saturation N] [--light N] [--rate R] "
				"[--window W] [--dir DIR | --pg]\n",
				prog);
			return 2;
		}
	}
	if (nsat < 1 || nlight < 1 || rate <= 0 || window < 1) {
		fprintf(stderr, "%s: counts, rate and window must be positive\n", prog);
		return 2;
	}
	struct where w = { .name = "voiding_e2e", .base = "commit_baseline" };
	char tmp[32];
	if (pg) {
		int rc = where_pg(&w);
		if (rc != 0) {
			where_close(&w);
			return rc;
		}
	} else {
		if ((dir = w.dir = bench_dir(dir, tmp, prog)) == NULL)
			return 1;
		snprintf(w.store, sizeof(w.store), "%s/voiding.db", dir);
		unlink(w.store);
		snprintf(w.setup, sizeof(w.setup), "%s", w.store);
	}

	struct run r = { .total = nsat + nlight };
	r.start = calloc((size_t)r.total, sizeof(double));
	r.done = calloc((size_t)r.total, sizeof(double));
	int status = 1;
	if (r.start == NULL || r.done == NULL || setup(w.setup, r.total) != 0)
		goto out;

	struct stw_options o = { .synchronous = 2, .observer = observe, .observer_ud = &r };
	if (stw_open(w.store, &o, &r.e) != STW_OK || voiding_register(r.e) != STW_OK ||
	    stw_get_cursor(r.e, "voiding", "Billing", &r.cursor) != STW_OK) {
		fprintf(stderr, "%s: open: %s\n", prog, r.e ? stw_errmsg(r.e) : w.store);
		goto out;
	}
	r.scanned = r.cursor;
#ifdef STW_HAVE_POSTGRES
	if (pg)
		printf("bench durable_postgresql_fsync_synchronous_commit %d flag\n",
		       bench_pg_durable(w.pg));
	else
#endif
		printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");

	char name[64];
	struct stw_stats st0, st1;
	double elapsed = 0;
	stw_get_stats(r.e, &st0);
	if (phase_start(&w) != 0 || run_phase(&r, 0, nsat, 0, window, &elapsed) != 0)
		goto out;
	stw_get_stats(r.e, &st1);
	double sat = (double)nsat / elapsed;
	printf("bench %s_saturation_processes %ld processes\n", w.name, nsat);
	printf("bench %s_saturation_window %ld processes\n", w.name, window);
	printf("bench %s_saturation_rate %.0f processes/s\n", w.name, sat);
	snprintf(name, sizeof(name), "%s_saturation", w.name);
	print_latency(&r, name, 0, nsat);
	print_breakdown(&r, name, nsat, &st0, &st1);
	if (phase_end(&w, name, nsat, elapsed) != 0)
		goto out;
	double base = baseline(&w, nsat < 5000 ? nsat : 5000);
	if (base <= 0)
		goto out;
	printf("bench %s_rate %.0f commits/s\n", w.base, base);
	printf("bench %s_saturation_vs_%s %.3f x\n", w.name, w.base, sat / base);

	stw_get_stats(r.e, &st0);
	if (phase_start(&w) != 0 || run_phase(&r, nsat, nlight, rate, 0, &elapsed) != 0)
		goto out;
	stw_get_stats(r.e, &st1);
	printf("bench %s_light_processes %ld processes\n", w.name, nlight);
	printf("bench %s_light_offered %.0f processes/s\n", w.name, rate);
	printf("bench %s_light_rate %.0f processes/s\n", w.name, (double)nlight / elapsed);
	snprintf(name, sizeof(name), "%s_light", w.name);
	double p99 = print_latency(&r, name, nsat, nlight);
	print_breakdown(&r, name, nlight, &st0, &st1);
	if (phase_end(&w, name, nlight, elapsed) != 0)
		goto out;

	/* The targets: issue 6 on SQLite; issue 16 on PostgreSQL (p99 only). */
	if (!pg)
		printf("bench voiding_e2e_saturation_meets_target %d flag\n", sat >= 20000);
	printf("bench %s_light_p99_meets_target %d flag\n", w.name,
	       p99 >= 0 && p99 <= (pg ? 20.0 : 5.0));
	status = 0;
out:
	stw_close(r.e);
	free(r.start);
	free(r.done);
	where_close(&w);
	if (!pg)
		bench_rm_dir(dir, tmp, prog);
	return status;
}
