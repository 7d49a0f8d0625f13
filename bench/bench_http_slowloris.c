/*
 * bench_http_slowloris.c - the daemon's HTTP server while many connections
 * hold on to it (defect 2 of the daemon's hardening).
 *
 * Starts `steward demo voiding` (a scratch database, a bearer token) and
 * opens, from many source addresses of 127.0.0.0/8 (at most --per-address
 * connections each, under the daemon's cap per client address):
 *
 *  - idle connections that never send a byte;
 *  - trickling connections: a request line, then one byte of a header
 *    every --trickle-every seconds, never finishing;
 *  - live streams (GET /api/stream with the token), read and discarded.
 *
 * A thread keeps them so, opening again each one the daemon closes (as an
 * attacker would; the read deadline closes idle and trickling ones). Once
 * they are open and --settle seconds have passed (by default long enough
 * for the probes to run while the daemon closes the first ones at their
 * deadline and they come back), the main thread sends --probes requests to
 * /healthz and as many to an authenticated GET /api/instances, one every
 * --probe-gap ms, each on a new connection from 127.0.0.1, and times each
 * from its connect to the end of its answer (a probe without an answer in
 * --probe-timeout seconds, 10 by default, fails).
 *
 * Prints the connections open when the probes began and after them
 * (connected, as the client sees it; streams: answered 200), p50, p99 and
 * max of each probe, the probes that failed, the connections the daemon
 * closed meanwhile (opened again), and the daemon's resident memory
 * (VmRSS) before and under the load and its peak (VmHWM), in MB. The
 * target: p99 under 50 ms for both and no probe failed
 * (`slowloris_meets_target`); the memory, bounded, is judged by a person
 * against the connections held.
 *
 * usage: bench_http_slowloris [--idle N] [--trickle N] [--streams N]
 *                             [--probes N] [--probe-gap MS] [--probe-timeout S] [--settle S]
 *                             [--per-address N] [--trickle-every S]
 *                             [--steward PATH] [--dir DIR] [-- DAEMON OPTION...]
 *
 * What follows `--` is passed to the daemon (--http-threads 16, say).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_http.h"
#include "bench_util.h"

static const char *const prog = "bench_http_slowloris";

enum kind { IDLE, TRICKLE, STREAM };
static const char *const kind_names[] = { "idle", "trickle", "streams" };

/* One held connection. */
struct held {
	int fd;
	enum kind kind;
	int index;        /* decides its source address */
	int connected;    /* the connect completed */
	int live;         /* a stream that got its 200 */
	double next_send; /* trickle: when its next byte goes */
	double reopen_at; /* closed: when to open it again */
};

struct attack {
	const struct bench_daemon *d;
	struct held *h;
	int n;
	int per_address;
	double trickle_every;
	int epfd;
	atomic_int stop;
	atomic_long reopened; /* connections the daemon closed and the thread opened again */
};

/* The source address of connection i: 127.1.X.Y, per_address connections each. */
static void source_of(const struct attack *a, int i, char *out, size_t cap)
{
	int addr = i / a->per_address;
	snprintf(out, cap, "127.1.%d.%d", addr / 250, 1 + addr % 250);
}

/* Opens connection h, or schedules another try; its first bytes go once it is connected. */
static void open_held(struct attack *a, struct held *h)
{
	char src[32];
	source_of(a, h->index, src, sizeof(src));
	h->live = 0;
	h->connected = 0;
	h->fd = bench_connect(src, a->d->port);
	if (h->fd < 0) {
		h->reopen_at = bench_now_s() + 0.2;
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = h };
	epoll_ctl(a->epfd, EPOLL_CTL_ADD, h->fd, &ev);
	h->reopen_at = 0;
}

/* h's connect completed: it sends what its kind sends first (a short write is dropped). */
static int connected(struct attack *a, struct held *h)
{
	int err = 0;
	socklen_t len = sizeof(err);
	if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
		return -1;
	h->connected = 1;
	h->next_send = bench_now_s() + a->trickle_every;
	char req[256];
	int n = 0;
	if (h->kind == TRICKLE)
		n = snprintf(req, sizeof(req), "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ");
	else if (h->kind == STREAM)
		n = snprintf(req, sizeof(req), "GET /api/stream HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n",
			     a->d->auth);
	if (n > 0 && send(h->fd, req, (size_t)n, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
		return -1;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = h };
	return epoll_ctl(a->epfd, EPOLL_CTL_MOD, h->fd, &ev);
}

static void close_held(struct attack *a, struct held *h)
{
	epoll_ctl(a->epfd, EPOLL_CTL_DEL, h->fd, NULL);
	close(h->fd);
	h->fd = -1;
	h->live = 0;
	h->connected = 0;
	h->reopen_at = bench_now_s() + 0.1;
	atomic_fetch_add(&a->reopened, 1);
}

static void *hold(void *arg)
{
	struct attack *a = arg;
	struct epoll_event evs[256];
	char buf[4096];
	while (!atomic_load(&a->stop)) {
		int k = epoll_wait(a->epfd, evs, 256, 50);
		for (int i = 0; i < k; i++) {
			struct held *h = evs[i].data.ptr;
			if (!h->connected) {
				if (connected(a, h) != 0)
					close_held(a, h);
				continue;
			}
			ssize_t n = recv(h->fd, buf, sizeof(buf), 0);
			if (n > 0) {
				if (h->kind == STREAM && !h->live &&
				    strncmp(buf, "HTTP/1.1 200", 12) == 0)
					h->live = 1;
				continue;
			}
			if (n < 0 && errno == EAGAIN)
				continue;
			close_held(a, h);
		}
		double now = bench_now_s();
		for (int i = 0; i < a->n; i++) {
			struct held *h = &a->h[i];
			if (h->fd < 0 && now >= h->reopen_at)
				open_held(a, h);
			else if (h->fd >= 0 && h->connected && h->kind == TRICKLE &&
				 now >= h->next_send) {
				h->next_send = now + a->trickle_every;
				if (send(h->fd, "x", 1, MSG_NOSIGNAL) < 0 && errno != EAGAIN)
					close_held(a, h);
			}
		}
	}
	return NULL;
}

/* Counts the held connections of a kind connected now (streams: those that got their 200). */
static int count_open(const struct attack *a, enum kind k)
{
	int n = 0;
	for (int i = 0; i < a->n; i++)
		n += a->h[i].kind == k && a->h[i].connected && (k != STREAM || a->h[i].live);
	return n;
}

/* Sends `probes` requests `req`, one at a time; fills lat (ms) and returns the failures. */
static long probe(const struct bench_daemon *d, const char *req, int probes, long gap_ms,
		  double timeout_s, double *lat, const char *what)
{
	long failed = 0;
	char buf[16384];
	for (int i = 0; i < probes; i++) {
		const char *why = NULL;
		double t0 = bench_now_s();
		int st = bench_http_once("127.0.0.1", d->port, req, strlen(req), buf, sizeof(buf),
					 timeout_s, &why);
		lat[i] = (bench_now_s() - t0) * 1000.0;
		if (st != 200) {
			if (failed++ == 0)
				fprintf(stderr, "%s: %s probe %d: %s\n", prog, what, i,
					st > 0 ? "not 200" : why);
		}
		bench_sleep_until(t0 + (double)gap_ms / 1000.0);
	}
	return failed;
}

static double max_of(const double *v, int n)
{
	double m = 0;
	for (int i = 0; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static void report(const char *name, double *lat, int n, long failed)
{
	double max = max_of(lat, n);
	printf("bench slowloris_%s_p50 %.2f ms\n", name, bench_percentile(lat, (size_t)n, 50));
	printf("bench slowloris_%s_p99 %.2f ms\n", name, bench_percentile(lat, (size_t)n, 99));
	printf("bench slowloris_%s_max %.2f ms\n", name, max);
	printf("bench slowloris_%s_failed %ld probes\n", name, failed);
}

static int number(const char *s, long *out)
{
	char *end = NULL;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	long counts[3] = { 10000, 1000, 1000 }, probes = 300, per_address = 200, gap_ms = 20;
	double trickle_every = 2, settle = 15, probe_timeout = 10;
	const char *steward = NULL, *dir = NULL;
	const char *const *extra = NULL; /* after "--": the daemon's */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			extra = (const char *const *)argv + i + 1;
			break;
		}
		int bad = i + 1 >= argc;
		if (bad)
			;
		else if (strcmp(argv[i], "--idle") == 0)
			bad = number(argv[++i], &counts[IDLE]);
		else if (strcmp(argv[i], "--trickle") == 0)
			bad = number(argv[++i], &counts[TRICKLE]);
		else if (strcmp(argv[i], "--streams") == 0)
			bad = number(argv[++i], &counts[STREAM]);
		else if (strcmp(argv[i], "--probes") == 0)
			bad = number(argv[++i], &probes) || probes < 1;
		else if (strcmp(argv[i], "--probe-gap") == 0)
			bad = number(argv[++i], &gap_ms);
		else if (strcmp(argv[i], "--probe-timeout") == 0)
			bad = (probe_timeout = strtod(argv[++i], NULL)) <= 0;
		else if (strcmp(argv[i], "--settle") == 0)
			bad = (settle = strtod(argv[++i], NULL)) < 0;
		else if (strcmp(argv[i], "--per-address") == 0)
			bad = number(argv[++i], &per_address) || per_address < 1;
		else if (strcmp(argv[i], "--trickle-every") == 0)
			bad = (trickle_every = strtod(argv[++i], NULL)) <= 0;
		else if (strcmp(argv[i], "--steward") == 0)
			steward = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0)
			dir = argv[++i];
		else
			bad = 1;
		if (bad) {
			fprintf(
			    stderr,
			    "usage: %s [--idle N] [--trickle N] [--streams N] [--probes N] "
			    "[--probe-gap MS] [--probe-timeout S] [--settle S] [--per-address N] "
			    "[--trickle-every S] [--steward PATH] [--dir DIR] [-- DAEMON "
			    "OPTION...]\n",
			    prog);
			return 2;
		}
	}
	long total = counts[IDLE] + counts[TRICKLE] + counts[STREAM];
	long nofile = bench_raise_nofile();
	if (nofile < total + 64) {
		fprintf(stderr, "%s: %ld connections need %ld open files; the limit is %ld\n", prog,
			total, total + 64, nofile);
		return 1;
	}
	char tmp[32], path[4096];
	if ((dir = bench_dir(dir, tmp, prog)) == NULL)
		return 1;
	struct bench_daemon d = { 0 };
	int status = 1;
	struct attack a = { .d = &d,
			    .n = (int)total,
			    .per_address = (int)per_address,
			    .trickle_every = trickle_every };
	double *lat = calloc((size_t)probes, sizeof(double));
	a.h = calloc((size_t)total + 1, sizeof(*a.h));
	a.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (lat == NULL || a.h == NULL || a.epfd < 0)
		goto out;
	if (bench_daemon_start(&d, bench_steward_path(steward, path, sizeof(path)), dir, extra,
			       prog) != 0)
		goto out;
	fprintf(stderr, "%s: daemon pid %d on port %d\n", prog, (int)d.pid, d.port);
	usleep(500 * 1000);
	double rss_before = (double)bench_pid_kb(d.pid, "VmRSS") / 1024.0;

	for (int i = 0, k = 0; k < 3; k++)
		for (long j = 0; j < counts[k]; j++, i++)
			a.h[i] = (struct held){ .fd = -1, .kind = (enum kind)k, .index = i };
	pthread_t t;
	if (pthread_create(&t, NULL, hold, &a) != 0)
		goto out;
	/* Until every one is open (streams answered), or 30 s. */
	double until = bench_now_s() + 30;
	while (bench_now_s() < until &&
	       (count_open(&a, IDLE) < counts[IDLE] || count_open(&a, TRICKLE) < counts[TRICKLE] ||
		count_open(&a, STREAM) < counts[STREAM]))
		usleep(100 * 1000);
	for (int k = 0; k < 3; k++)
		printf("bench slowloris_%s_open %d connections\n", kind_names[k],
		       count_open(&a, (enum kind)k));
	bench_sleep_until(bench_now_s() + settle);

	char health[128], instances[256];
	snprintf(health, sizeof(health), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
	snprintf(instances, sizeof(instances),
		 "GET /api/instances HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n", d.auth);
	long failed_h = probe(&d, health, (int)probes, gap_ms, probe_timeout, lat, "healthz");
	double p99_h = bench_percentile(lat, (size_t)probes, 99);
	report("healthz", lat, (int)probes, failed_h);
	long failed_i = probe(&d, instances, (int)probes, gap_ms, probe_timeout, lat, "instances");
	double p99_i = bench_percentile(lat, (size_t)probes, 99);
	report("instances", lat, (int)probes, failed_i);
	for (int k = 0; k < 3; k++)
		printf("bench slowloris_%s_open_after %d connections\n", kind_names[k],
		       count_open(&a, (enum kind)k));
	printf("bench slowloris_reopened %ld connections\n", atomic_load(&a.reopened));
	printf("bench slowloris_rss_before %.1f MB\n", rss_before);
	printf("bench slowloris_rss_under_load %.1f MB\n",
	       (double)bench_pid_kb(d.pid, "VmRSS") / 1024.0);
	printf("bench slowloris_rss_peak %.1f MB\n", (double)bench_pid_kb(d.pid, "VmHWM") / 1024.0);
	printf("bench slowloris_meets_target %d flag\n",
	       p99_h < 50 && p99_i < 50 && failed_h == 0 && failed_i == 0);
	atomic_store(&a.stop, 1);
	pthread_join(t, NULL);
	for (int i = 0; i < a.n; i++)
		if (a.h[i].fd >= 0)
			close(a.h[i].fd);
	status = bench_daemon_stop(&d) == 0 ? 0 : 1;
	if (status != 0)
		fprintf(stderr, "%s: the daemon did not stop cleanly (%s)\n", prog, d.out);
out:
	if (d.pid > 0)
		bench_daemon_stop(&d);
	if (a.epfd >= 0)
		close(a.epfd);
	free(a.h);
	free(lat);
	if (status == 0)
		bench_rm_dir(dir, tmp, prog);
	return status;
}
