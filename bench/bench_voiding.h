/*
 * bench_voiding.h - voiding processes run end to end in process, as
 * bench_voiding_e2e runs them, shared with bench_growth: the documents
 * issued beforehand, the void requests committed in groups between rounds,
 * and each process's latency from its request to the commit of the step that
 * applied its DocumentVoided. Document i is "d<i>", its voiding process
 * "v<i>". Header-only (static inline) so that each benchmark stays one
 * program.
 */
#ifndef BENCH_VOIDING_H
#define BENCH_VOIDING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>
#include <voiding.h>

#include "bench_util.h"

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
	const char *prog; /* the benchmark, for its messages */
	double seg_at;    /* the segment being scanned (read callback) */
	int64_t seg_end;
	int bad;                       /* a DocumentVoided that names no known process */
	double in_requests, in_rounds; /* seconds spent in each, in the current phase */
	long groups;                   /* request groups committed, in the current phase */
};

static inline void observe(const struct stw_activity *a, void *ud)
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

static inline int on_billing_event(const struct stw_event *ev, void *ud)
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
static inline int collect(struct run *r)
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
				fprintf(stderr, "%s: unexpected Billing events after %lld\n",
					r->prog, (long long)r->scanned);
				return 1;
			}
			r->scanned += count;
		}
	}
	r->nseg = 0;
	return 0;
}

static inline int void_one(struct run *r, long i)
{
	char doc[32], pid[32];
	snprintf(doc, sizeof(doc), "d%ld", i);
	snprintf(pid, sizeof(pid), "v%ld", i);
	if (voiding_void_document(r->e, doc, pid, NULL) != STW_OK) {
		fprintf(stderr, "%s: void %s: %s\n", r->prog, doc, stw_errmsg(r->e));
		return 1;
	}
	return 0;
}

/*
 * Runs processes [first, first + n): open loop at `rate` per second when rate
 * > 0, else closed loop with `window` in flight. *elapsed receives the time
 * from the start to the last completion.
 */
static inline int run_phase(struct run *r, long first, long n, double rate, long window,
			    double *elapsed)
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
			fprintf(stderr, "%s: begin: %s\n", r->prog, stw_errmsg(r->e));
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
			fprintf(stderr, "%s: commit: %s\n", r->prog, stw_errmsg(r->e));
			return 1;
		}
		r->in_requests += bench_now_s() - a;
		r->groups += next > group;
		int did = 0;
		a = bench_now_s();
		if (stw_run_once(r->e, &did) != STW_OK) {
			fprintf(stderr, "%s: round: %s\n", r->prog, stw_errmsg(r->e));
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
			fprintf(stderr, "%s: %ld of %ld processes never completed\n", r->prog,
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

/*
 * The p50, p99 and largest latency in milliseconds of processes [first, first + n),
 * all complete. Returns 0, or 1 when out of memory.
 */
static inline int voiding_latency(const struct run *r, long first, long n, double *p50, double *p99,
				  double *max)
{
	double *lat = malloc(sizeof(double) * (size_t)n);
	if (lat == NULL)
		return 1;
	for (long i = 0; i < n; i++)
		lat[i] = (r->done[first + i] - r->start[first + i]) * 1e3;
	*p50 = bench_percentile(lat, (size_t)n, 50);
	*p99 = bench_percentile(lat, (size_t)n, 99);
	*max = lat[n - 1];
	free(lat);
	return 0;
}

/*
 * Issues documents [first, first + count) (customer i / 10 for document i)
 * and builds the reports, with synchronous=OFF
 * (untimed; on PostgreSQL, the URL sets synchronous_commit off).
 */
static inline int voiding_setup(const char *path, long first, long count, const char *prog)
{
	struct stw_options o = { .synchronous = 0 };
	struct stw_engine *e = NULL;
	if (stw_open(path, &o, &e) != STW_OK || voiding_register(e) != STW_OK) {
		fprintf(stderr, "%s: setup: %s\n", prog, e ? stw_errmsg(e) : path);
		stw_close(e);
		return 1;
	}
	for (long i = first; i < first + count; i++) {
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

#endif /* BENCH_VOIDING_H */
