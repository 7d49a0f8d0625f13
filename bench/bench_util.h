/*
 * bench_util.h - small helpers shared by the benchmarks: the monotonic clock,
 * a process's resident memory, percentiles, and a scratch directory.
 * Header-only (static inline) so that each benchmark stays one program.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds on the monotonic clock. */
static inline double bench_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps until the monotonic clock reads `t` seconds (returns at once if past). */
static inline void bench_sleep_until(double t)
{
	struct timespec ts;
	ts.tv_sec = (time_t)t;
	ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_nsec = 999999999L;
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* The system clock in UTC milliseconds (the engine's default clock). */
static inline long long bench_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The system clock `ms` from now, as pthread_cond_timedwait takes it by default. */
static inline struct timespec bench_realtime_in(long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long ns = ts.tv_nsec + (ms % 1000) * 1000000LL;
	ts.tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	return ts;
}

/* A line of /proc/PID/status (pid 0: this process's) in kB (VmRSS, VmHWM), or -1. */
static inline long bench_pid_kb(int pid, const char *key)
{
	char path[64];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/status", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	FILE *f = fopen(path, "r");
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

/*
 * The processor time a process (pid 0: this one) has used so far, user and
 * system, all its threads, in seconds (from /proc/PID/stat), or -1.
 */
static inline double bench_pid_cpu_s(int pid)
{
	char path[64], buf[1024];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/stat");
	FILE *f = fopen(path, "r");
	size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	const char *p = strrchr(buf, ')'); /* the name may hold spaces */
	unsigned long long utime, stime;
	if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&utime, &stime) != 2)
		return -1;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* A line of /proc/self/status in kB (VmRSS, VmHWM), or -1. */
static inline long bench_status_kb(const char *key)
{
	return bench_pid_kb(0, key);
}

/* The same in MB, for printing. */
static inline double bench_status_mb(const char *key)
{
	return (double)bench_status_kb(key) / 1024.0;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/*
 * The p-th percentile (0 < p <= 100) of n values by the nearest-rank method:
 * the smallest value with at least p% of the values at or below it. Sorts
 * `v` in place. Returns 0 for n == 0.
 */
static inline double bench_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(v[0]), bench_cmp_double);
	size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

/*
 * A scratch directory: `dir` when not NULL, else a new one under /tmp whose
 * name is written to tmp (at least 32 bytes). Returns NULL on failure.
 */
static inline const char *bench_dir(const char *dir, char *tmp, const char *prog)
{
	if (dir != NULL)
		return dir;
	snprintf(tmp, 32, "/tmp/stw-bench-XXXXXX");
	const char *d = mkdtemp(tmp);
	if (d == NULL)
		fprintf(stderr, "%s: cannot create a directory under /tmp\n", prog);
	return d;
}

/* Removes a directory made by bench_dir (not one the user named). */
static inline void bench_rm_dir(const char *dir, const char *tmp, const char *prog)
{
	if (dir != tmp)
		return;
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "%s: could not remove %s\n", prog, dir);
}

#endif /* BENCH_UTIL_H */
