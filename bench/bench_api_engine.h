/*
 * bench_api_engine.h - the work of bench_http_load's API runs without HTTP:
 * the same items through the public C API, in this process, so that the
 * HTTP figure has the engine's beside it (`bench api_<workload>_engine`).
 *
 * As in the daemon (`steward demo voiding`): two engines on one SQLite
 * store (WAL, synchronous=FULL, the default), behind one write gate (waits
 * of at most 5 s), with the voiding example registered on both. One thread
 * is the API: it makes the items as the daemon's handler does for one
 * request each (an event: the context's check, stw_append_batch of one
 * DocumentIssued and stw_head; a command: stw_execute of IssueDocument), 64
 * to a commit, the most a group can hold when 64 clients each have one
 * request in flight, and wakes the worker after each commit. The other is
 * the worker: stw_run_once in a loop, sleeping up to 100 ms when it found
 * nothing to do. The documents go to customers as in the HTTP run: item n
 * is client n % 64's, whose customer changes every BENCH_REPORT_DOCS of its
 * items. Header-only, like bench_util.h.
 */
#ifndef BENCH_API_ENGINE_H
#define BENCH_API_ENGINE_H

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>
#include <voiding.h>

#include "bench_util.h"

#define BENCH_API_GROUP 64 /* items per commit, and clients */

/* A client's documents per customer: Reports' work per document grows with the report. */
#define BENCH_REPORT_DOCS 256

struct bench_api_engine {
	struct stw_write_gate *gate;
	struct stw_engine *api, *worker;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int kicked, stop, idle; /* idle: the worker's last round found nothing to do */
	long failed_rounds;
	char error[160]; /* the worker's first failure */
};

static void *bench_api_engine_worker(void *arg)
{
	struct bench_api_engine *b = arg;
	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		pthread_mutex_unlock(&b->lock);
		int did = 0;
		int rc = stw_run_once(b->worker, &did);
		pthread_mutex_lock(&b->lock);
		if (rc != STW_OK && b->failed_rounds++ == 0)
			snprintf(b->error, sizeof(b->error), "%s", stw_errmsg(b->worker));
		b->idle = rc == STW_OK && !did;
		if (!b->idle || b->kicked || b->stop) {
			b->kicked = 0;
			continue;
		}
		struct timespec ts = bench_realtime_in(100);
		pthread_cond_timedwait(&b->wake, &b->lock, &ts);
		b->kicked = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

/* Opens both engines on `db` and starts the worker. Returns 0, or -1 after printing why. */
static inline int bench_api_engine_start(struct bench_api_engine *b, const char *db,
					 const char *prog)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->wake, NULL);
	if (stw_write_gate_new(5000, &b->gate) != STW_OK)
		return -1;
	struct stw_options o = { .synchronous = -1, .write_gate = b->gate };
	int rc = stw_open(db, &o, &b->api);
	if (rc == STW_OK)
		rc = voiding_register(b->api);
	if (rc == STW_OK)
		rc = stw_open(db, &o, &b->worker);
	if (rc == STW_OK)
		rc = voiding_register(b->worker);
	if (rc == STW_OK && pthread_create(&b->thread, NULL, bench_api_engine_worker, b) != 0)
		rc = STW_ENOMEM;
	if (rc != STW_OK) {
		fprintf(stderr, "%s: the engine alone: %s\n", prog, stw_strerror(rc));
		stw_close(b->worker);
		stw_close(b->api);
		b->worker = b->api = NULL;
		return -1;
	}
	return 0;
}

/* One item made as the daemon's handler makes it for one request; item n of client n % 64. */
static inline int bench_api_engine_item(struct bench_api_engine *b, const char *workload, int tag,
					long n)
{
	char id[64], customer[48];
	snprintf(id, sizeof(id), "ee%d-%ld", tag, n);
	snprintf(customer, sizeof(customer), "e%dc%ld-%ld", tag, n % BENCH_API_GROUP,
		 n / BENCH_API_GROUP / BENCH_REPORT_DOCS);
	json_t *data =
	    json_pack("{s:s, s:s, s:i}", "document_id", id, "customer", customer, "amount", 100);
	if (data == NULL)
		return STW_ENOMEM;
	int rc;
	if (strcmp(workload, "commands") == 0) {
		char cmd[STW_MAX_ID];
		rc = stw_execute(b->api, "Billing", "IssueDocument", data, id, NULL, cmd);
	} else {
		char stream[80];
		snprintf(stream, sizeof(stream), "document-%s", id);
		struct stw_event ev = {
			.id = id, .type = "DocumentIssued", .stream = stream, .data = data
		};
		struct stw_append_group g = { .expected_version = STW_ANY_VERSION,
					      .events = &ev,
					      .n = 1 };
		int64_t pos = 0, head = 0;
		long failed = -1;
		rc = stw_context_declared(b->api, "Billing") == 1 ? STW_OK : STW_EINVAL;
		if (rc == STW_OK)
			rc = stw_append_batch(b->api, "Billing", &g, 1, &pos, &failed);
		if (rc == STW_OK)
			rc = stw_head(b->api, "Billing", &head);
	}
	json_decref(data);
	return rc;
}

/* Waits (up to a minute) until the worker finds nothing left to do. */
static inline void bench_api_engine_settle(struct bench_api_engine *b)
{
	for (double end = bench_now_s() + 60; bench_now_s() < end;) {
		pthread_mutex_lock(&b->lock);
		int idle = b->idle;
		pthread_mutex_unlock(&b->lock);
		if (idle)
			return;
		usleep(20 * 1000);
	}
}

/*
 * Makes items of `workload` for `seconds`, BENCH_API_GROUP to a commit, the
 * worker stepping meanwhile. Returns the items made per second, or -1 after
 * printing why; *cpu_s is the processor time this process used per item, in
 * seconds, both threads, from the start until the worker has caught up.
 */
static inline double bench_api_engine_run(struct bench_api_engine *b, const char *workload, int tag,
					  double seconds, double *cpu_s, const char *prog)
{
	long n = 0;
	double cpu0 = bench_pid_cpu_s(0);
	double t0 = bench_now_s(), end = t0 + seconds, now = t0;
	while (now < end) {
		int rc = stw_begin(b->api), begun = rc == STW_OK;
		for (int i = 0; rc == STW_OK && i < BENCH_API_GROUP; i++)
			rc = bench_api_engine_item(b, workload, tag, n + i);
		int ended = !begun ? rc : rc == STW_OK ? stw_commit(b->api) : stw_rollback(b->api);
		rc = rc == STW_OK ? ended : rc;
		if (rc != STW_OK) {
			fprintf(stderr, "%s: the engine alone, %s: %s\n", prog, workload,
				stw_errmsg(b->api));
			return -1;
		}
		n += BENCH_API_GROUP;
		pthread_mutex_lock(&b->lock);
		b->kicked = 1;
		b->idle = 0;
		pthread_cond_signal(&b->wake);
		pthread_mutex_unlock(&b->lock);
		now = bench_now_s();
	}
	double rate = (double)n / (now - t0);
	bench_api_engine_settle(b);
	*cpu_s = (bench_pid_cpu_s(0) - cpu0) / (double)n;
	return rate;
}

/* Stops the worker and closes both engines. Returns the worker's failed rounds. */
static inline long bench_api_engine_stop(struct bench_api_engine *b, const char *prog)
{
	if (b->api == NULL)
		return 0;
	pthread_mutex_lock(&b->lock);
	b->stop = 1;
	pthread_cond_signal(&b->wake);
	pthread_mutex_unlock(&b->lock);
	pthread_join(b->thread, NULL);
	if (b->failed_rounds > 0)
		fprintf(stderr,
			"%s: the engine alone: %ld rounds of the worker failed, the first: %s\n",
			prog, b->failed_rounds, b->error);
	stw_close(b->worker);
	stw_close(b->api);
	stw_write_gate_free(b->gate);
	pthread_cond_destroy(&b->wake);
	pthread_mutex_destroy(&b->lock);
	return b->failed_rounds;
}

#endif /* BENCH_API_ENGINE_H */
