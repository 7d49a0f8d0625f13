/*
 * bench_stream_read.c - folding one stream again and again, as a service
 * loading its aggregate at every command does: stw_read_stream() of a
 * stream of L events, R times, the fold summing a field of each event's
 * data; then one event appended between reads (the stream grows as the
 * aggregate takes commands).
 *
 * Baseline, in the same run: the same reads with the engine's stream cache
 * off (stw_options.stream_cache_kb = -1), every event read from the store
 * and parsed from JSON at every read, as before the cache.
 *
 * The store is durable (WAL, synchronous=FULL) but the reads write nothing;
 * the appends of the growing phase commit one by one.
 *
 * usage: bench_stream_read [--lengths L1,L2,...] [--reads R] [--dir DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <steward.h>

#include "bench_util.h"

static const char *const prog = "bench_stream_read";

static int fold(const struct stw_event *ev, void *ud)
{
	*(long long *)ud += json_integer_value(json_object_get(ev->data, "amount"));
	return 0;
}

static int append_one(struct stw_engine *e, const char *stream, long i)
{
	struct stw_event ev = { .type = "DocumentAddedToReport", .stream = stream };
	ev.data = json_pack("{s:s, s:s, s:I}", "document_id", "d-000000", "customer", "c-0001",
			    "amount", (json_int_t)i);
	int rc = ev.data ? stw_append(e, "Reports", STW_ANY_VERSION, &ev, 1, NULL) : STW_ENOMEM;
	json_decref(ev.data);
	return rc;
}

/*
 * Opens a store with one stream of `len` events and reads it `reads` times
 * (then `reads` times more, one event appended before each); returns the
 * microseconds per read of both phases in us[0] and us[1], or -1 on failure.
 */
static int measure(const char *dir, int cache_kb, long len, long reads, double us[2])
{
	char path[512];
	snprintf(path, sizeof path, "%s/stream_read.db", dir);
	unlink(path);
	struct stw_options o = { .synchronous = 2, .stream_cache_kb = cache_kb };
	struct stw_engine *e = NULL;
	if (stw_open(path, &o, &e) != STW_OK) {
		fprintf(stderr, "%s: open %s: %s\n", prog, path, stw_errmsg(e));
		stw_close(e);
		return -1;
	}
	int rc = stw_begin(e);
	for (long i = 0; i < len && rc == STW_OK; i++)
		rc = append_one(e, "report-c1", i);
	if (rc == STW_OK)
		rc = stw_commit(e);
	long long sum = 0, want = 0;
	int64_t version = 0;
	for (int phase = 0; phase < 2 && rc == STW_OK; phase++) {
		double t = 0;
		for (long r = 0; r < reads && rc == STW_OK; r++) {
			if (phase == 1)
				rc = append_one(e, "report-c1", len + r);
			double t0 = bench_now_s();
			sum = 0;
			if (rc == STW_OK)
				rc = stw_read_stream(e, "Reports", "report-c1", fold, &sum,
						     &version);
			t += bench_now_s() - t0;
		}
		us[phase] = t * 1e6 / (double)reads;
	}
	long n = len + reads;
	want = (long long)n * (n - 1) / 2;
	if (rc == STW_OK && (version != n || sum != want)) {
		fprintf(stderr, "%s: read %lld (version %lld), want %lld (version %ld)\n", prog,
			sum, (long long)version, want, n);
		rc = STW_ESTORE;
	} else if (rc != STW_OK) {
		fprintf(stderr, "%s: %s\n", prog, stw_errmsg(e));
	}
	stw_close(e);
	unlink(path);
	return rc == STW_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
	const char *lengths = "10,100,1000";
	long reads = 2000;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lengths") == 0 && i + 1 < argc)
			lengths = argv[++i];
		else if (strcmp(argv[i], "--reads") == 0 && i + 1 < argc)
			reads = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--lengths L1,L2,...] [--reads R] [--dir DIR]\n",
				prog);
			return 2;
		}
	}
	if (reads <= 0) {
		fprintf(stderr, "%s: --reads must be > 0\n", prog);
		return 2;
	}
	char tmp[] = "/tmp/stw-bench-stream-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
		perror(prog);
		return 1;
	}
	printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");
	int status = 0;
	for (const char *p = lengths; *p != '\0' && status == 0;) {
		char *end;
		long len = strtol(p, &end, 10);
		if (end == p || len <= 0 || (*end != ',' && *end != '\0')) {
			fprintf(stderr, "%s: --lengths: positive numbers separated by commas\n",
				prog);
			status = 2;
			break;
		}
		p = *end == ',' ? end + 1 : end;
		double cached[2], direct[2];
		if (measure(dir, 0, len, reads, cached) != 0 ||
		    measure(dir, -1, len, reads, direct) != 0) {
			status = 1;
			break;
		}
		printf("bench stream_read_%ld_cached %.2f us\n", len, cached[0]);
		printf("bench stream_read_%ld_uncached %.2f us\n", len, direct[0]);
		printf("bench stream_read_%ld_cached_vs_uncached %.2f x\n", len,
		       direct[0] / cached[0]);
		printf("bench stream_read_%ld_growing_cached %.2f us\n", len, cached[1]);
		printf("bench stream_read_%ld_growing_uncached %.2f us\n", len, direct[1]);
		printf("bench stream_read_%ld_growing_cached_vs_uncached %.2f x\n", len,
		       direct[1] / cached[1]);
	}
	if (dir == tmp)
		rmdir(tmp);
	return status;
}
