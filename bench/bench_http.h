/*
 * bench_http.h - what the benchmarks of the daemon's HTTP server share
 * (bench_http_load.c, bench_http_slowloris.c): the daemon they start
 * (`steward demo voiding` on a scratch database, requiring a token), its
 * memory read from /proc, non-blocking loopback sockets (from a chosen
 * source address of 127.0.0.0/8, so that per-address limits can be met),
 * and the end of one HTTP/1.1 answer in a buffer. Header-only, like
 * bench_util.h; public tools only (no HTTP library).
 */
#ifndef BENCH_HTTP_H
#define BENCH_HTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

/* A daemon started by bench_daemon_start. */
struct bench_daemon {
	pid_t pid;
	int port;
	char token[65]; /* the bearer token it requires */
	char auth[96];  /* "Authorization: Bearer TOKEN" */
	char out[512];  /* the file its output goes to */
	char db[512];   /* its database */
};

/*
 * The steward program: `given` when not NULL, else the one built next to
 * this benchmark (the build directory holds both). Returns buf.
 */
static inline const char *bench_steward_path(const char *given, char *buf, size_t cap)
{
	if (given != NULL) {
		snprintf(buf, cap, "%s", given);
		return buf;
	}
	ssize_t n = readlink("/proc/self/exe", buf, cap - 1);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	char *slash = strrchr(buf, '/');
	if (slash == NULL)
		snprintf(buf, cap, "./steward");
	else
		snprintf(slash + 1, cap - (size_t)(slash + 1 - buf), "steward");
	return buf;
}

/* Raises this process's open-file limit to its hard limit; returns the limit now in force. */
static inline long bench_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	return (long)rl.rlim_cur;
}

/*
 * Starts `STEWARD demo voiding` on DIR/http.db, listening on a free loopback
 * port, requiring a fresh random token (DIR/token), with `extra` (NULL or a
 * NULL-terminated list) after the usual options; its output goes to
 * DIR/daemon.out. Waits for it to say where it listens. Returns 0, or -1
 * after printing why.
 */
static inline int bench_daemon_start(struct bench_daemon *d, const char *steward, const char *dir,
				     const char *const *extra, const char *prog)
{
	memset(d, 0, sizeof(*d));
	char tokfile[512];
	snprintf(tokfile, sizeof(tokfile), "%s/token", dir);
	snprintf(d->out, sizeof(d->out), "%s/daemon.out", dir);
	snprintf(d->db, sizeof(d->db), "%s/http.db", dir);
	unsigned char raw[24];
	FILE *rnd = fopen("/dev/urandom", "r");
	if (rnd == NULL || fread(raw, 1, sizeof(raw), rnd) != sizeof(raw)) {
		fprintf(stderr, "%s: cannot read /dev/urandom\n", prog);
		if (rnd != NULL)
			fclose(rnd);
		return -1;
	}
	fclose(rnd);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(d->token + 2 * i, 3, "%02x", raw[i]);
	snprintf(d->auth, sizeof(d->auth), "Authorization: Bearer %s", d->token);
	FILE *tf = fopen(tokfile, "w");
	if (tf == NULL || fprintf(tf, "%s\n", d->token) < 0 || fclose(tf) != 0) {
		fprintf(stderr, "%s: cannot write %s\n", prog, tokfile);
		return -1;
	}
	chmod(tokfile, 0600);
	const char *argv[64] = { steward, "demo",     "voiding",      "--db",
				 d->db,   "--listen", "127.0.0.1:0",  "--every",
				 "0",     "--quiet",  "--token-file", tokfile };
	int argc = 12;
	for (int i = 0; extra != NULL && extra[i] != NULL && argc < 63; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	unlink(d->out);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(d->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(steward, (char *const *)argv);
		_exit(127);
	}
	d->pid = pid;
	for (int i = 0; i < 400; i++) {
		FILE *f = fopen(d->out, "r");
		char line[512];
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "open http://localhost:%d/", &d->port) == 1)
				break;
		if (f != NULL)
			fclose(f);
		if (d->port > 0)
			return 0;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "%s: %s exited; its output is in %s\n", prog, steward,
				d->out);
			d->pid = 0;
			return -1;
		}
		usleep(50 * 1000);
	}
	fprintf(stderr, "%s: %s did not say where it listens (%s)\n", prog, steward, d->out);
	return -1;
}

/*
 * Stops the daemon: SIGTERM, then SIGKILL after two minutes (the worker ends
 * its round first, and after a load it may have a long backlog to step).
 * Returns its exit status, or -1.
 */
static inline int bench_daemon_stop(struct bench_daemon *d)
{
	if (d->pid <= 0)
		return -1;
	kill(d->pid, SIGTERM);
	int st = 0;
	for (int i = 0; i < 2400; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		}
		usleep(50 * 1000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
	d->pid = 0;
	return -1;
}

/*
 * A non-blocking TCP socket connecting to 127.0.0.1:port, from source
 * address `src` (NULL: the kernel's choice). Returns the descriptor (the
 * connection may still be under way), or -1.
 */
static inline int bench_connect(const char *src, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src != NULL) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		inet_pton(AF_INET, src, &sa.sin_addr);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Whether buf (len bytes) holds a whole HTTP/1.1 answer with a
 * Content-Length: its length (the status in *status, *close set when the
 * server closes the connection after it), 0 when more is to come, -1 when
 * it is not one (no Content-Length, or not HTTP).
 */
static inline long bench_http_answer(const char *buf, size_t len, int *status, int *close_after)
{
	const char *end = NULL;
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r') {
			end = buf + i + 1;
			break;
		}
	if (end == NULL)
		return len > 65536 ? -1 : 0;
	if (len < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	*status = (int)strtol(buf + 9, NULL, 10);
	*close_after = 0;
	long body = -1;
	for (const char *p = buf; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			break;
		if (strncasecmp(p, "Content-Length:", 15) == 0)
			body = strtol(p + 15, NULL, 10);
		else if (strncasecmp(p, "Connection:", 11) == 0 && strstr(p, "close") != NULL &&
			 strstr(p, "close") < nl)
			*close_after = 1;
		p = nl + 1;
	}
	if (body < 0)
		return -1;
	size_t total = (size_t)(end - buf) + (size_t)body;
	return len >= total ? (long)total : 0;
}

/*
 * One request on a new connection from `src` (NULL: any): sends req (len
 * bytes) and reads the answer into buf (cap bytes, NUL-terminated) within
 * timeout_s seconds. Returns the answer's status, or -1 (refused, closed,
 * timed out: *why says which).
 */
static inline int bench_http_once(const char *src, int port, const char *req, size_t len, char *buf,
				  size_t cap, double timeout_s, const char **why)
{
	double end = bench_now_s() + timeout_s;
	*why = "cannot connect";
	int fd = bench_connect(src, port);
	if (fd < 0)
		return -1;
	size_t off = 0, got = 0;
	int status = -1, close_after = 0;
	*why = "timed out";
	while (bench_now_s() < end) {
		struct pollfd p = { .fd = fd, .events = off < len ? POLLOUT : POLLIN };
		int ms = (int)((end - bench_now_s()) * 1000) + 1;
		if (poll(&p, 1, ms) <= 0)
			continue;
		if (off < len) {
			ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN) {
				*why = "refused or reset";
				break;
			}
			off += n > 0 ? (size_t)n : 0;
			continue;
		}
		ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			*why = n == 0 ? "closed before an answer" : "reset";
			break;
		}
		got += n > 0 ? (size_t)n : 0;
		buf[got] = '\0';
		long whole = bench_http_answer(buf, got, &status, &close_after);
		if (whole > 0) {
			close(fd);
			return status;
		}
		if (whole < 0 || got + 1 >= cap) {
			*why = "not an HTTP answer with a length";
			break;
		}
	}
	close(fd);
	return -1;
}

#endif /* BENCH_HTTP_H */
