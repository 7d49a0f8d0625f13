/*
 * bench_timers.c - pending timers at scale: arms N timers through the engine
 * (N trigger events, each creating an instance whose state arms a timer),
 * then reports the time to arm them, the process's resident memory with
 * them pending, the time to find the next due one, and the rate at which a
 * burst of them fires. Durable: SQLite WAL with synchronous=FULL.
 *
 * Prints one figure per line: `bench <name> <value> <unit>`.
 *
 * usage: bench_timers [--timers N] [--dir DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

static const struct stw_state_def states[] = {
	{ "Waiting", STW_STATE_ACTIVE },
	{ "TimedOut", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_timer_def timeout[] = {
	{ "Timeout", 3600 * 1000, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "Started", "Waiting", NULL, NULL, timeout },
	{ "Waiting", "Timeout", "TimedOut", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const sources[] = { "In", NULL };
static const struct stw_definition def = {
	.name = "waiter",
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

static int64_t virtual_ms;

static int64_t virtual_now(void *ud)
{
	(void)ud;
	return virtual_ms;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A line of /proc/self/status in kB (VmRSS, VmHWM), or -1. */
static long status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(key);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	if (f != NULL)
		fclose(f);
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int fail(struct stw_engine *e, const char *what)
{
	fprintf(stderr, "bench_timers: %s: %s\n", what, stw_errmsg(e));
	return 1;
}

int main(int argc, char **argv)
{
	long n = 1000000;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timers") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: bench_timers [--timers N] [--dir DIR]\n");
			return 2;
		}
	}
	if (n < 1) {
		fprintf(stderr, "bench_timers: --timers needs a positive count\n");
		return 2;
	}
	char tmp[] = "/tmp/stw-bench-XXXXXX";
	if (dir == NULL && (dir = mkdtemp(tmp)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/timers.db", dir);
	unlink(path);
	virtual_ms = 1700000000000LL;
	struct stw_clock clock = { virtual_now, NULL };
	struct stw_options o = { .clock = &clock, .synchronous = 2, .batch_size = 1000 };
	struct stw_engine *e = NULL;
	if (stw_open(path, &o, &e) != STW_OK) {
		fprintf(stderr, "bench_timers: cannot open %s\n", path);
		return 1;
	}
	if (stw_define(e, &def) != STW_OK)
		return fail(e, "define");
	printf("bench store sqlite-wal-synchronous-full 1 flag\n");

	/* Append the triggers 1000 to a transaction (not timed: not the subject). */
	enum { CHUNK = 1000 };
	static struct stw_event evs[CHUNK];
	static char ids[CHUNK][32];
	for (long done = 0; done < n;) {
		int k = n - done < CHUNK ? (int)(n - done) : CHUNK;
		for (int i = 0; i < k; i++) {
			snprintf(ids[i], sizeof(ids[i]), "w%ld", done + i);
			evs[i] = (struct stw_event){ .id = ids[i],
						     .type = "Started",
						     .stream = "waiters",
						     .correlation_id = ids[i] };
		}
		if (stw_append(e, "In", STW_ANY_VERSION, evs, (size_t)k, NULL) != STW_OK)
			return fail(e, "append");
		done += k;
	}

	double t0 = now_s();
	if (stw_run_until_idle(e) != STW_OK)
		return fail(e, "arming");
	double arm = now_s() - t0;
	struct stw_stats st;
	stw_get_stats(e, &st);
	if ((long)st.timers_armed != n) {
		fprintf(stderr, "bench_timers: armed %llu timers, expected %ld\n",
			(unsigned long long)st.timers_armed, n);
		return 1;
	}
	printf("bench timers_pending %ld timers\n", n);
	printf("bench timers_arm_seconds %.3f s\n", arm);
	printf("bench timers_arm_rate %.0f timers/s\n", (double)n / arm);
	printf("bench timers_rss_pending %.1f MB\n", (double)status_kb("VmRSS") / 1024.0);
	printf("bench timers_rss_peak %.1f MB\n", (double)status_kb("VmHWM") / 1024.0);

	/* The next due timer, from the index. */
	enum { LOOKUPS = 10000 };
	static double lat[LOOKUPS];
	int64_t due = 0;
	for (int i = 0; i < LOOKUPS; i++) {
		double a = now_s();
		if (stw_next_timer(e, &due) != STW_OK)
			return fail(e, "next timer");
		lat[i] = (now_s() - a) * 1e6;
	}
	qsort(lat, LOOKUPS, sizeof(lat[0]), cmp_double);
	printf("bench timers_next_due_p50 %.2f us\n", lat[LOOKUPS / 2]);
	printf("bench timers_next_due_p99 %.2f us\n", lat[LOOKUPS * 99 / 100]);

	/* All of them fall due at once: the drain rate of the burst. */
	virtual_ms = due + 1;
	t0 = now_s();
	if (stw_run_until_idle(e) != STW_OK)
		return fail(e, "firing");
	double drain = now_s() - t0;
	stw_get_stats(e, &st);
	if ((long)st.timers_fired != n) {
		fprintf(stderr, "bench_timers: fired %llu timers, expected %ld\n",
			(unsigned long long)st.timers_fired, n);
		return 1;
	}
	printf("bench timers_burst_drain_rate %.0f timers/s\n", (double)n / drain);
	printf("bench timers_rss_after %.1f MB\n", (double)status_kb("VmRSS") / 1024.0);
	stw_close(e);
	if (dir == tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_timers: could not remove %s\n", dir);
	}
	return 0;
}
