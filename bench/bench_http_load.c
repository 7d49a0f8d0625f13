/*
 * bench_http_load.c - the daemon's HTTP API under concurrent writers.
 *
 * Starts `steward demo voiding` (a scratch database, a bearer token) and,
 * for each workload and each number of clients N, drives N clients for a
 * fixed time: each keeps one keep-alive connection and one request in
 * flight, sending the next as soon as the answer came. The workloads:
 *
 *  - commands: POST /api/contexts/Billing/commands, IssueDocument of a new
 *    document: the API's engine executes Billing's command (its event is
 *    appended), and the worker then steps reports-feed over the event and
 *    delivers its command to Reports, on its own engine: both write the
 *    same database at once. Each client's documents go to a customer of its
 *    own, a new one after every BENCH_REPORT_DOCS documents, so that no
 *    report grows past that (Reports folds a report again for each document
 *    it adds: the worker's work per document would grow with the run's
 *    length); with --customers N the documents go to N customers, whose
 *    reports grow long, and the worker's delivery batches then hold the
 *    write lock for seconds;
 *  - events: POST /api/contexts/Billing/events, one DocumentIssued of a new
 *    document each (the same work for the worker).
 *
 * A request's latency runs from its first byte sent (the connect, for a new
 * connection) to the last byte of its answer. Prints, per workload and N,
 * `bench http_<workload>_c<N>_<figure>`: p50, p99 and max in ms, the rate
 * of answers per second, the answers with a 5xx status (those with 500
 * apart), `_conn_errors` (connections refused, reset or closed before
 * their answer, then opened again) and `_pending_max`, the age of the
 * oldest request still unanswered when the run ended (a request that
 * waits longer than the run has no latency of its own). Between two runs
 * the worker is let catch up (its cursor lag back to 0, read from /readyz).
 *
 * Each run also prints `_group_avg`, the requests per commit of the API's
 * group commit during the run, and `_gate_api_held` and `_gate_worker_held`,
 * the share of the run's time the API's engine and the worker held the
 * store's write gate (read from /metrics before and after; on PostgreSQL,
 * which has no gate, 0).
 *
 * The API's figures (issue 18): with 64 clients, one item per request,
 * `bench api_<workload>` (items per second), `_latency_p50` and `_p99` (ms),
 * then, once the daemon has stopped, `bench api_<workload>_engine`, the
 * engine alone making the same items for as long in this process
 * (bench_api_engine.h), and `_vs_engine`, the ratio of the two; and the
 * processor time per item, all threads, from the run's start until the
 * worker has caught up: the daemon's (`_cpu_per_item`) and this process's
 * in the engine's run (`_engine_cpu_per_item`), which a machine shared with
 * other work changes less than the rates.
 *
 * The target (defect 3 of the daemon's hardening): no write fails or waits
 * for long because another engine of the daemon holds the database's write
 * lock: no 5xx, and no request older than 5 s, answered or not
 * (`http_load_meets_target`). Also the daemon's peak memory.
 *
 * usage: bench_http_load [--clients 64,256] [--seconds S] [--customers N]
 *                        [--steward PATH] [--dir DIR] [-- DAEMON OPTION...]
 *
 * What follows `--` is passed to the daemon (--http-threads 16, say).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "bench_api_engine.h"
#include "bench_http.h"
#include "bench_util.h"

static const char *const prog = "bench_http_load";

#define MAX_CLIENTS 4096
#define REQ_CAP     1024
#define IN_CAP      8192

enum state { CONNECTING, SENDING, READING };

struct client {
	int fd;
	enum state state;
	int id;
	long seq;          /* requests this client made */
	char req[REQ_CAP]; /* the request being sent */
	size_t req_len, req_off;
	char in[IN_CAP]; /* the answer being read */
	size_t in_len;
	double started; /* when the request (or its connect) began */
};

struct tally {
	double *lat;               /* ms, one per answer */
	double commits, committed; /* the API's group commits during the run and their requests */
	double gate_api, gate_worker; /* seconds the API and the worker held the write gate in it */
	size_t n, cap;
	long s5xx, s500, other; /* 5xx answers, 500 among them, answers neither 2xx nor 5xx */
	long conn_errors;
	double pending_max;    /* ms: the oldest request still unanswered when the run ended */
	char first_other[160]; /* the first answer neither 2xx nor 5xx, for the reader */
	char first_5xx[160];
};

struct run {
	const struct bench_daemon *d;
	const char *workload; /* "commands" or "events" */
	int tag;              /* makes ids unique across runs */
	int customers;        /* customers the documents go to; 0: one per client */
	int epfd;
	struct tally t;
};

/* Builds the client's next request into c->req. */
static void build(struct run *r, struct client *c)
{
	char body[512];
	int blen;
	long n = c->seq++;
	char customer[48];
	if (r->customers > 0)
		snprintf(customer, sizeof(customer), "t%dc%d", r->tag, c->id % r->customers);
	else
		snprintf(customer, sizeof(customer), "t%dc%d-%ld", r->tag, c->id,
			 n / BENCH_REPORT_DOCS);
	if (strcmp(r->workload, "commands") == 0)
		blen = snprintf(body, sizeof(body),
				"{\"type\":\"IssueDocument\",\"id\":\"lc%d-%d-%ld\",\"data\":"
				"{\"document_id\":\"lc%d-%d-%ld\",\"customer\":\"%s\","
				"\"amount\":100}}",
				r->tag, c->id, n, r->tag, c->id, n, customer);
	else
		blen = snprintf(body, sizeof(body),
				"{\"events\":[{\"id\":\"le%d-%d-%ld\",\"type\":\"DocumentIssued\","
				"\"stream\":\"document-le%d-%d-%ld\",\"data\":{\"document_id\":"
				"\"le%d-%d-%ld\",\"customer\":\"%s\",\"amount\":100}}]}",
				r->tag, c->id, n, r->tag, c->id, n, r->tag, c->id, n, customer);
	c->req_len = (size_t)snprintf(c->req, sizeof(c->req),
				      "POST /api/contexts/Billing/%s HTTP/1.1\r\n"
				      "Host: 127.0.0.1\r\n%s\r\n"
				      "Content-Type: application/json\r\n"
				      "Content-Length: %d\r\n\r\n%s",
				      r->workload, r->d->auth, blen, body);
	c->req_off = 0;
	c->in_len = 0;
}

static int watch(struct run *r, struct client *c, int op, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	return epoll_ctl(r->epfd, op, c->fd, &ev);
}

/* (Re)opens the client's connection and queues its next request. */
static void open_client(struct run *r, struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = bench_connect(NULL, r->d->port);
	c->started = bench_now_s();
	build(r, c);
	c->state = CONNECTING;
	if (c->fd < 0 || watch(r, c, EPOLL_CTL_ADD, EPOLLOUT) != 0) {
		r->t.conn_errors++;
		if (c->fd >= 0)
			close(c->fd);
		c->fd = -1;
	}
}

static void record(struct tally *t, double ms, int status, const char *answer)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		double *p = realloc(t->lat, cap * sizeof(*p));
		if (p == NULL)
			return;
		t->lat = p;
		t->cap = cap;
	}
	t->lat[t->n++] = ms;
	char *keep = NULL;
	if (status >= 500) {
		t->s5xx++;
		t->s500 += status == 500;
		keep = t->first_5xx;
	} else if (status < 200 || status >= 300) {
		t->other++;
		keep = t->first_other;
	}
	if (keep != NULL && keep[0] == '\0') {
		const char *body = strstr(answer, "\r\n\r\n");
		snprintf(keep, 160, "%d %.150s", status, body ? body + 4 : "");
	}
}

/* The connection failed (refused, reset, closed before its answer): counted, and opened again. */
static void reopen(struct run *r, struct client *c)
{
	r->t.conn_errors++;
	open_client(r, c);
}

/* Moves one client on after an epoll event. */
static void step(struct run *r, struct client *c, unsigned events)
{
	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof(err);
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			reopen(r, c);
			return;
		}
		c->state = SENDING;
	}
	if (c->state == SENDING) {
		ssize_t n = send(c->fd, c->req + c->req_off, c->req_len - c->req_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			reopen(r, c);
			return;
		}
		c->req_off += (size_t)n;
		if (c->req_off < c->req_len)
			return;
		c->state = READING;
		watch(r, c, EPOLL_CTL_MOD, EPOLLIN);
		return;
	}
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		reopen(r, c);
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = '\0';
	int status = 0, close_after = 0;
	long whole = bench_http_answer(c->in, c->in_len, &status, &close_after);
	if (whole == 0 && c->in_len + 1 < sizeof(c->in))
		return;
	if (whole <= 0) {
		reopen(r, c);
		return;
	}
	record(&r->t, (bench_now_s() - c->started) * 1000.0, status, c->in);
	if (close_after) {
		open_client(r, c);
		return;
	}
	c->started = bench_now_s();
	build(r, c);
	c->state = SENDING;
	watch(r, c, EPOLL_CTL_MOD, EPOLLOUT);
}

/* Drives `n` clients for `seconds`; the answers are tallied in r->t. */
static int drive(struct run *r, int n, double seconds)
{
	struct client *cs = calloc((size_t)n, sizeof(*cs));
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (cs == NULL || r->epfd < 0) {
		free(cs);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		cs[i].fd = -1;
		cs[i].id = i;
		open_client(r, &cs[i]);
	}
	double end = bench_now_s() + seconds;
	struct epoll_event evs[256];
	for (double now = bench_now_s(); now < end; now = bench_now_s()) {
		int ms = (int)((end - now) * 1000) + 1;
		int k = epoll_wait(r->epfd, evs, 256, ms > 100 ? 100 : ms);
		for (int i = 0; i < k; i++)
			step(r, evs[i].data.ptr, evs[i].events);
		for (int i = 0; i < n; i++) /* a connect that failed at once is tried again */
			if (cs[i].fd < 0)
				open_client(r, &cs[i]);
	}
	for (int i = 0; i < n; i++) {
		double age = (bench_now_s() - cs[i].started) * 1000.0;
		if (cs[i].fd >= 0 && age > r->t.pending_max)
			r->t.pending_max = age;
		if (cs[i].fd >= 0)
			close(cs[i].fd);
	}
	close(r->epfd);
	free(cs);
	return 0;
}

/* Waits (up to a minute) until the worker has read every event written, as /readyz says. */
static void settle(const struct bench_daemon *d)
{
	char req[256], buf[8192];
	int len = snprintf(req, sizeof(req), "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	double end = bench_now_s() + 60;
	while (bench_now_s() < end) {
		const char *why;
		int st =
		    bench_http_once(NULL, d->port, req, (size_t)len, buf, sizeof(buf), 5, &why);
		if (st > 0 && strstr(buf, "\"cursor_lag\":0") != NULL)
			return;
		usleep(200 * 1000);
	}
	fprintf(stderr, "%s: the worker did not catch up within a minute\n", prog);
}

/* What the daemon's /metrics says of the API's commits and of the write gate, so far. */
struct counters {
	double commits, committed;    /* the API's group commits and the requests in them */
	double gate_api, gate_worker; /* seconds the API's engine and the worker held the gate */
};

/* Reads the counters from /metrics; each 0 when it does not answer or lacks it. */
static void counters(const struct bench_daemon *d, struct counters *c)
{
	static char buf[65536];
	char req[256];
	int len = snprintf(req, sizeof(req),
			   "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n\r\n", d->auth);
	const char *why;
	static const char *const names[] = {
		"\nsteward_api_commits_total ", "\nsteward_api_committed_requests_total ",
		"\nsteward_write_gate_held_seconds_total{engine=\"api\"} ",
		"\nsteward_write_gate_held_seconds_total{engine=\"worker\"} "
	};
	double *out[] = { &c->commits, &c->committed, &c->gate_api, &c->gate_worker };
	memset(c, 0, sizeof(*c));
	if (bench_http_once(NULL, d->port, req, (size_t)len, buf, sizeof(buf), 5, &why) != 200)
		return;
	for (int i = 0; i < 4; i++) {
		const char *p = strstr(buf, names[i]);
		if (p != NULL)
			*out[i] = strtod(p + strlen(names[i]), NULL);
	}
}

static void report(const char *workload, int n, struct tally *t, double seconds)
{
	char name[64];
	snprintf(name, sizeof(name), "http_%s_c%d", workload, n);
	size_t count = t->n;
	double max = 0;
	for (size_t i = 0; i < count; i++)
		if (t->lat[i] > max)
			max = t->lat[i];
	double p50 = bench_percentile(t->lat, count, 50);
	double p99 = bench_percentile(t->lat, count, 99);
	printf("bench %s_p50 %.2f ms\n", name, p50);
	printf("bench %s_p99 %.2f ms\n", name, p99);
	printf("bench %s_max %.2f ms\n", name, max);
	printf("bench %s_rps %.0f requests/s\n", name, (double)count / seconds);
	printf("bench %s_5xx %ld answers\n", name, t->s5xx);
	printf("bench %s_500 %ld answers\n", name, t->s500);
	printf("bench %s_conn_errors %ld connections\n", name, t->conn_errors);
	printf("bench %s_pending_max %.2f ms\n", name, t->pending_max);
	printf("bench %s_group_avg %.1f requests\n", name,
	       t->commits > 0 ? t->committed / t->commits : 0);
	/* The worker's figure is as of its last commit, which may come after the run. */
	printf("bench %s_gate_api_held %.1f %%\n", name, 100.0 * t->gate_api / seconds);
	printf("bench %s_gate_worker_held %.1f %%\n", name, 100.0 * t->gate_worker / seconds);
	if (t->other > 0)
		fprintf(stderr, "%s: %s: %ld answers neither 2xx nor 5xx, the first: %s\n", prog,
			name, t->other, t->first_other);
	if (t->s5xx > 0)
		fprintf(stderr, "%s: %s: the first 5xx: %s\n", prog, name, t->first_5xx);
}

/* The clients of the API's figures: one item per request, 64 at once. */
#define API_CLIENTS 64

/* A workload's figures with API_CLIENTS clients. */
struct api_figures {
	int kept;
	double rate, p50, p99; /* answers per second; ms */
	double cpu_s;          /* the daemon's processor time per answer (see api_report) */
};

static void api_keep(struct api_figures *a, struct tally *t, double seconds, double cpu_s)
{
	a->kept = 1;
	a->cpu_s = t->n > 0 ? cpu_s / (double)t->n : 0;
	a->rate = (double)t->n / seconds;
	a->p50 = bench_percentile(t->lat, t->n, 50);
	a->p99 = bench_percentile(t->lat, t->n, 99);
}

/*
 * Prints the API's lines: each workload's rate and latency with 64
 * clients, the rate of the engine alone making the same items for as long
 * (bench_api_engine.h, on DIR/engine.db, once the daemon has stopped), and
 * the ratio of the two. Returns 0, or -1 when the engine alone failed.
 */
static int api_report(const struct api_figures *api, const char *const *workloads, double seconds,
		      const char *dir)
{
	char db[512];
	snprintf(db, sizeof(db), "%s/engine.db", dir);
	struct bench_api_engine b;
	if (bench_api_engine_start(&b, db, prog) != 0)
		return -1;
	int status = 0;
	for (int w = 0; w < 2; w++) {
		if (!api[w].kept)
			continue;
		bench_api_engine_settle(&b);
		double cpu = 0;
		double rate = bench_api_engine_run(&b, workloads[w], w, seconds, &cpu, prog);
		if (rate <= 0) {
			status = -1;
			continue;
		}
		const char *x = workloads[w];
		printf("bench api_%s %.0f %s/s\n", x, api[w].rate, x);
		printf("bench api_%s_latency_p50 %.2f ms\n", x, api[w].p50);
		printf("bench api_%s_latency_p99 %.2f ms\n", x, api[w].p99);
		printf("bench api_%s_engine %.0f %s/s\n", x, rate, x);
		printf("bench api_%s_vs_engine %.3f x\n", x, api[w].rate / rate);
		printf("bench api_%s_cpu_per_item %.1f us\n", x, api[w].cpu_s * 1e6);
		printf("bench api_%s_engine_cpu_per_item %.1f us\n", x, cpu * 1e6);
	}
	if (bench_api_engine_stop(&b, prog) != 0)
		status = -1;
	return status;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *clients = "64,256", *steward = NULL, *dir = NULL;
	double seconds = 10;
	int customers = 0;
	const char *const *extra = NULL; /* after "--": the daemon's */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			extra = (const char *const *)argv + i + 1;
			break;
		}
		if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc)
			clients = argv[++i];
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			seconds = strtod(argv[++i], NULL);
		else if (strcmp(argv[i], "--customers") == 0 && i + 1 < argc)
			customers = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--steward") == 0 && i + 1 < argc)
			steward = argv[++i];
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr,
				"usage: %s [--clients N,N...] [--seconds S] [--customers N] "
				"[--steward PATH] [--dir DIR] [-- DAEMON OPTION...]\n",
				prog);
			return 2;
		}
	}
	int ns[16], nn = 0;
	for (const char *p = clients; *p && nn < 16;) {
		char *end = NULL;
		long v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > MAX_CLIENTS) {
			fprintf(stderr, "%s: --clients takes numbers from 1 to %d\n", prog,
				MAX_CLIENTS);
			return 2;
		}
		ns[nn++] = (int)v;
		p = *end == ',' ? end + 1 : end;
	}
	if (nn == 0 || seconds <= 0 || customers < 0) {
		fprintf(stderr, "%s: give at least one number of clients and seconds > 0\n", prog);
		return 2;
	}
	bench_raise_nofile();
	char tmp[32], path[4096];
	if ((dir = bench_dir(dir, tmp, prog)) == NULL)
		return 1;
	struct bench_daemon d;
	int status = 1;
	if (bench_daemon_start(&d, bench_steward_path(steward, path, sizeof(path)), dir, extra,
			       prog) != 0)
		goto out;
	fprintf(stderr, "%s: daemon pid %d on port %d\n", prog, (int)d.pid, d.port);
	printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");
	static const char *const workloads[] = { "commands", "events" };
	struct api_figures api[2] = { { 0 } };
	int tag = 0;
	long s5xx = 0;
	double longest = 0; /* ms, answered or not */
	status = 0;
	for (int w = 0; w < 2; w++)
		for (int i = 0; i < nn; i++) {
			struct run r = { .d = &d,
					 .workload = workloads[w],
					 .tag = tag++,
					 .customers = customers };
			settle(&d);
			struct counters c0, c1;
			counters(&d, &c0);
			double cpu0 = bench_pid_cpu_s((int)d.pid);
			if (drive(&r, ns[i], seconds) != 0) {
				fprintf(stderr, "%s: out of memory or descriptors\n", prog);
				status = 1;
			}
			counters(&d, &c1);
			if (ns[i] == API_CLIENTS)
				settle(&d);
			double cpu = bench_pid_cpu_s((int)d.pid) - cpu0;
			r.t.commits = c1.commits - c0.commits;
			r.t.committed = c1.committed - c0.committed;
			r.t.gate_api = c1.gate_api - c0.gate_api;
			r.t.gate_worker = c1.gate_worker - c0.gate_worker;
			report(workloads[w], ns[i], &r.t, seconds);
			if (ns[i] == API_CLIENTS)
				api_keep(&api[w], &r.t, seconds, cpu);
			s5xx += r.t.s5xx;
			for (size_t k = 0; k < r.t.n; k++)
				longest = r.t.lat[k] > longest ? r.t.lat[k] : longest;
			longest = r.t.pending_max > longest ? r.t.pending_max : longest;
			free(r.t.lat);
		}
	printf("bench http_load_meets_target %d flag\n", s5xx == 0 && longest <= 5000);
	printf("bench http_load_daemon_rss_peak %.1f MB\n",
	       (double)bench_pid_kb(d.pid, "VmHWM") / 1024.0);
	if (bench_daemon_stop(&d) != 0) {
		fprintf(stderr, "%s: the daemon did not stop cleanly (%s)\n", prog, d.out);
		status = 1;
	}
	if (api_report(api, workloads, seconds, dir) != 0)
		status = 1;
out:
	if (d.pid > 0)
		bench_daemon_stop(&d);
	if (status != 0)
		fprintf(stderr, "%s: the daemon's output is in %s\n", prog, d.out);
	else
		bench_rm_dir(dir, tmp, prog);
	return status;
}
