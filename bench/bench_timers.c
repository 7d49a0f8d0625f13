/*
 * bench_timers.c - pending timers at scale: arms N timers through the engine
 * (N trigger events, each creating an instance whose state arms a timer),
 * then reports the time to arm them, the process's resident memory with
 * them pending, the time to find the next due one, and the rate at which a
 * burst of them fires with a virtual clock. Durable: SQLite WAL with
 * synchronous=FULL.
 *
 * Then, on a real clock, in a second store: a burst of B timers falling due
 * at the same instant (drain rate, lateness p50 / p99 / max), and S timers
 * spread evenly over a window of seconds, fired by a worker that sleeps
 * until stw_next_timer() as the daemon does (lateness p50 / p99 / max).
 * Lateness is the engine's own figure (the observer's lateness_ms: fire time
 * - due time, in milliseconds of the engine's clock). The real clock is the
 * system clock shifted by an offset, so that the timers, armed an hour ahead,
 * fall due at a chosen instant while time then runs at its real pace.
 *
 * Prints one figure per line: `bench <name> <value> <unit>`.
 *
 * usage: bench_timers [--timers N] [--burst B] [--spread S]
 *                     [--spread-seconds W] [--dir DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

#include "bench_util.h"

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

/* The real-clock parts: timers due at the instant in their trigger's data. */
static int due_from_data(const struct stw_step_info *si, int64_t *due_ms)
{
	json_t *due = json_object_get(si->event->data, "due");
	if (!json_is_integer(due))
		return STW_EINVAL;
	*due_ms = (int64_t)json_integer_value(due);
	return STW_OK;
}
static const struct stw_timer_def alarm_timer[] = {
	{ "Ring", 0, due_from_data },
	{ NULL, 0, NULL },
};
static const struct stw_state_def alarm_states[] = {
	{ "Set", STW_STATE_ACTIVE },
	{ "Rang", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def alarm_transitions[] = {
	{ NULL, "AlarmSet", "Set", NULL, NULL, alarm_timer },
	{ "Set", "Ring", "Rang", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition alarm_def = {
	.name = "alarm",
	.sources = sources,
	.states = alarm_states,
	.transitions = alarm_transitions,
};

static int64_t virtual_ms;

/* The shifted real clock: the system clock plus shift_ms. */
static int64_t shift_ms;

static int64_t shifted_now(void *ud)
{
	(void)ud;
	return (int64_t)bench_wall_ms() + shift_ms;
}

/* What the observer collects in the real-clock parts. */
struct lateness {
	double *ms; /* per fired timer */
	long n, cap;
	double last_fire; /* monotonic seconds of the last timers commit */
	int oom;
};

static void observe_timers(const struct stw_activity *a, void *ud)
{
	struct lateness *l = ud;
	if (a->kind != STW_ACTIVITY_TIMERS)
		return;
	l->last_fire = bench_now_s();
	for (int i = 0; i < a->count; i++) {
		if (l->n == l->cap) {
			long cap = l->cap ? 2 * l->cap : 4096;
			double *ms = realloc(l->ms, sizeof(double) * (size_t)cap);
			if (ms == NULL) {
				l->oom = 1;
				return;
			}
			l->ms = ms;
			l->cap = cap;
		}
		l->ms[l->n++] = (double)a->lateness_ms[i];
	}
}

static int64_t virtual_now(void *ud)
{
	(void)ud;
	return virtual_ms;
}

static int fail(struct stw_engine *e, const char *what)
{
	fprintf(stderr, "bench_timers: %s: %s\n", what, stw_errmsg(e));
	return 1;
}

/*
 * Appends n AlarmSet triggers, the i-th due at first + i * step_ms, 1,000 to a
 * transaction, and runs the engine until they are armed (not timed).
 */
static int arm_alarms(struct stw_engine *e, char prefix, long n, int64_t first, double step_ms)
{
	enum { CHUNK = 1000 };
	static struct stw_event evs[CHUNK];
	static char ids[CHUNK][32];
	for (long done = 0; done < n;) {
		int k = n - done < CHUNK ? (int)(n - done) : CHUNK, rc = STW_OK;
		for (int i = 0; i < k; i++) {
			int64_t due = first + (int64_t)((double)(done + i) * step_ms);
			snprintf(ids[i], sizeof(ids[i]), "%c%ld", prefix, done + i);
			evs[i] = (struct stw_event){ .id = ids[i],
						     .type = "AlarmSet",
						     .stream = "alarms",
						     .correlation_id = ids[i],
						     .data = json_pack("{s:I}", "due",
								       (json_int_t)due) };
			if (evs[i].data == NULL)
				rc = STW_ENOMEM;
		}
		if (rc == STW_OK)
			rc = stw_append(e, "In", STW_ANY_VERSION, evs, (size_t)k, NULL);
		for (int i = 0; i < k; i++)
			json_decref(evs[i].data);
		if (rc != STW_OK)
			return fail(e, "append");
		done += k;
	}
	if (stw_run_until_idle(e) != STW_OK)
		return fail(e, "arming");
	return 0;
}

/* Prints lateness p50 / p99 / max (ms) of what the observer collected; returns p99. */
static double print_lateness(struct lateness *l, const char *name)
{
	double p50 = bench_percentile(l->ms, (size_t)l->n, 50);
	double p99 = bench_percentile(l->ms, (size_t)l->n, 99);
	printf("bench %s_lateness_p50 %.0f ms\n", name, p50);
	printf("bench %s_lateness_p99 %.0f ms\n", name, p99);
	printf("bench %s_lateness_max %.0f ms\n", name, l->n ? l->ms[l->n - 1] : 0.0);
	return p99;
}

/*
 * Checks that `total` timers fired since the engine opened, and that the
 * observer saw the lateness of `seen` of them in this part.
 */
static int check_fired(struct stw_engine *e, const struct lateness *l, long total, long seen)
{
	struct stw_stats st;
	stw_get_stats(e, &st);
	if ((long)st.timers_fired != total || l->n != seen || l->oom) {
		fprintf(stderr,
			"bench_timers: fired %llu timers (%ld observed), expected %ld (%ld)\n",
			(unsigned long long)st.timers_fired, l->n, total, seen);
		return 1;
	}
	return 0;
}

/*
 * The real-clock parts, in their own store: a burst of `burst` timers due at
 * one instant, then `spread` timers over `window_s` seconds fired by a worker
 * that sleeps until the next one as the daemon does.
 */
static int real_clock(const char *dir, long burst, long spread, double window_s)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/realclock.db", dir);
	unlink(path);
	struct lateness l = { 0 };
	struct stw_clock clock = { shifted_now, NULL };
	struct stw_options o = {
		.clock = &clock, .synchronous = 2, .observer = observe_timers, .observer_ud = &l
	};
	struct stw_engine *e = NULL;
	int status = 1;
	shift_ms = 0;
	if (stw_open(path, &o, &e) != STW_OK || stw_define(e, &alarm_def) != STW_OK) {
		fprintf(stderr, "bench_timers: real clock: %s\n", e ? stw_errmsg(e) : path);
		goto out;
	}

	/* The burst: armed an hour ahead, then the clock is shifted onto their instant. */
	int64_t due = shifted_now(NULL) + 3600 * 1000;
	if (arm_alarms(e, 'b', burst, due, 0) != 0)
		goto out;
	l.n = 0;
	shift_ms += due - shifted_now(NULL);
	double t0 = bench_now_s();
	if (stw_run_until_idle(e) != STW_OK) {
		fail(e, "burst");
		goto out;
	}
	if (check_fired(e, &l, burst, burst) != 0)
		goto out;
	double drain = (double)burst / (l.last_fire - t0);
	printf("bench timers_burst_real %ld timers\n", burst);
	printf("bench timers_burst_real_drain_rate %.0f timers/s\n", drain);
	print_lateness(&l, "timers_burst_real");

	/* Spread: the first due 200 ms after the shift, the others evenly over the window. */
	int64_t start = shifted_now(NULL) + 3600 * 1000;
	double step = window_s * 1000.0 / (double)spread;
	if (arm_alarms(e, 's', spread, start + 200, step) != 0)
		goto out;
	l.n = 0;
	shift_ms += start - shifted_now(NULL);
	struct stw_stats st;
	double deadline = bench_now_s() + window_s + 120;
	do {
		int did = 0;
		if (stw_run_once(e, &did) != STW_OK) {
			fail(e, "spread");
			goto out;
		}
		if (did == 0) {
			/* As the daemon: sleep until the next timer, at most 100 ms. */
			int64_t wait = 100, next = 0, now = shifted_now(NULL);
			if (stw_next_timer(e, &next) == STW_OK && next - now < wait)
				wait = next - now > 0 ? next - now : 0;
			if (wait > 0)
				bench_sleep_until(bench_now_s() + (double)wait / 1000.0);
		}
		stw_get_stats(e, &st);
	} while ((long)st.timers_fired < burst + spread && bench_now_s() < deadline);
	if (check_fired(e, &l, burst + spread, spread) != 0)
		goto out;
	printf("bench timers_spread %ld timers\n", spread);
	printf("bench timers_spread_window %.1f s\n", window_s);
	print_lateness(&l, "timers_spread");
	if (burst >= 100000)
		printf("bench timers_burst_real_drain_meets_target %d flag\n", drain >= 100000);
	status = 0;
out:
	stw_close(e);
	free(l.ms);
	return status;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as soon as it is known */
	long n = 1000000, burst = 100000, spread = 20000;
	double window_s = 10;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--timers") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--burst") == 0 && i + 1 < argc)
			burst = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--spread") == 0 && i + 1 < argc)
			spread = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--spread-seconds") == 0 && i + 1 < argc)
			window_s = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: bench_timers [--timers N] [--burst B] [--spread S] "
					"[--spread-seconds W] [--dir DIR]\n");
			return 2;
		}
	}
	if (n < 1 || burst < 1 || spread < 1 || window_s <= 0) {
		fprintf(stderr, "bench_timers: counts and the window must be positive\n");
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
	printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");

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

	double t0 = bench_now_s();
	if (stw_run_until_idle(e) != STW_OK)
		return fail(e, "arming");
	double arm = bench_now_s() - t0;
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
	printf("bench timers_rss_pending %.1f MB\n", (double)bench_status_kb("VmRSS") / 1024.0);
	printf("bench timers_rss_peak %.1f MB\n", (double)bench_status_kb("VmHWM") / 1024.0);

	/* The next due timer, from the index. */
	enum { LOOKUPS = 10000 };
	static double lat[LOOKUPS];
	int64_t due = 0;
	for (int i = 0; i < LOOKUPS; i++) {
		double a = bench_now_s();
		if (stw_next_timer(e, &due) != STW_OK)
			return fail(e, "next timer");
		lat[i] = (bench_now_s() - a) * 1e6;
	}
	qsort(lat, LOOKUPS, sizeof(lat[0]), bench_cmp_double);
	printf("bench timers_next_due_p50 %.2f us\n", lat[LOOKUPS / 2]);
	printf("bench timers_next_due_p99 %.2f us\n", lat[LOOKUPS * 99 / 100]);

	/* All of them fall due at once: the drain rate of the burst. */
	virtual_ms = due + 1;
	t0 = bench_now_s();
	if (stw_run_until_idle(e) != STW_OK)
		return fail(e, "firing");
	double drain = bench_now_s() - t0;
	stw_get_stats(e, &st);
	if ((long)st.timers_fired != n) {
		fprintf(stderr, "bench_timers: fired %llu timers, expected %ld\n",
			(unsigned long long)st.timers_fired, n);
		return 1;
	}
	printf("bench timers_burst_drain_rate %.0f timers/s\n", (double)n / drain);
	printf("bench timers_rss_after %.1f MB\n", (double)bench_status_kb("VmRSS") / 1024.0);
	if (n >= 1000000)
		printf("bench timers_rss_meets_target %d flag\n",
		       bench_status_kb("VmHWM") <= 150L * 1024);
	stw_close(e);
	if (real_clock(dir, burst, spread, window_s) != 0)
		return 1;
	if (dir == tmp) {
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench_timers: could not remove %s\n", dir);
	}
	return 0;
}
