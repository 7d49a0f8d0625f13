/*
 * server.h - the HTTP server of the steward daemon: the JSON API of
 * docs/API.md, the web page, live updates (server-sent events), /metrics and
 * /healthz, on libmicrohttpd's event loop (epoll) run by a pool of threads,
 * within limits (docs/API.md, "Under load"): connections in all and per
 * client address, a deadline to read each request, live streams.
 *
 * The server opens its own engine on the store (requests are served one at a
 * time on it, under a mutex); the daemon's worker runs on another engine.
 * Demos add routes under /api/demo/ through a callback.
 */
#ifndef STW_HTTP_SERVER_H
#define STW_HTTP_SERVER_H

#include <stddef.h>

#include <steward.h>

#include "http/api.h"
#include "http/auth.h" /* STW_TOKEN_MIN, STW_TOKEN_MAX: the limits of cfg.token */
#include "http/metrics.h"

#define STW_HTTP_MAX_BODY (1 << 20)

/* The default of stuck_after_ms: ten minutes. */
#define STW_HTTP_STUCK_AFTER_MS (10 * 60 * 1000)

/* The defaults of the limits of struct stw__http_config, and their ranges. */
#define STW_HTTP_THREADS          8 /* threads serving connections */
#define STW_HTTP_THREADS_MAX      256
#define STW_HTTP_MAX_CONNECTIONS  16384 /* connections open at once */
#define STW_HTTP_CONNECTIONS_MAX  1000000
#define STW_HTTP_MAX_PER_IP       256 /* of one client address */
#define STW_HTTP_READ_TIMEOUT_S   20  /* to receive a whole request */
#define STW_HTTP_READ_TIMEOUT_MAX 3600
#define STW_HTTP_MAX_STREAMS      1024 /* live streams open at once */

/* Registers services and definitions on an engine the server opens. */
typedef int (*stw__http_setup_fn)(struct stw_engine *e, void *ud);

struct stw__http_config {
	const char *listen; /* "HOST:PORT", ":PORT" or "PORT"; default 127.0.0.1:8080 */
	const char *store;  /* the store the daemon runs on */
	stw__http_setup_fn setup;
	void *setup_ud;
	stw__http_route_fn route;
	void *route_ud;
	struct stw__http_metrics *metrics;
	void (*kick)(void *ud); /* wakes the worker after the API wrote something */
	void *kick_ud;
	/*
	 * The bearer token the API and page require (docs/API.md,
	 * "Authentication"), copied at start; NULL or "": open to everyone.
	 */
	const char *token;
	/*
	 * Contexts that take POSTed events although no definition reads them and
	 * no service owns them (NULL-terminated, "*": any; NULL: none). Borrowed
	 * for the server's life.
	 */
	const char *const *accept_contexts;
	/*
	 * An active instance with no timer and no pending command that has not
	 * moved for this long is stuck (GET /api/instances?stuck=1, /metrics);
	 * 0: STW_HTTP_STUCK_AFTER_MS.
	 */
	int64_t stuck_after_ms;
	/* The write gate the server's engine shares with the daemon's other engines; NULL: none. */
	struct stw_write_gate *write_gate;
	/* The daemon's membership of a cluster, whose figures /metrics shows; NULL: none. */
	struct stw_cluster *cluster;
	/*
	 * Limits (docs/API.md, "Under load"); 0: the STW_HTTP_* default. The
	 * threads that serve connections; the connections open at once (the
	 * process's open-file limit is raised for them, and the cap lowered to
	 * what that limit allows); those of one client address (-1: no cap);
	 * the seconds a request has to arrive whole, headers and body, however
	 * slowly it trickles in; the live streams open at once (-1: no cap).
	 */
	int threads;
	int max_connections;
	int max_per_ip;
	int read_timeout_s;
	int max_streams;
};

struct stw__http;

/* Starts serving. On failure returns a code and a message in err. */
/*
 * Parses a listen address, "HOST:PORT", ":PORT" or "PORT" (HOST an IPv4
 * address or localhost; 127.0.0.1 when absent), into *sa. STW_EINVAL with a
 * message in err (cap bytes) when it is not one.
 */
struct sockaddr_in;
int stw__http_parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t cap);

int stw__http_start(const struct stw__http_config *cfg, struct stw__http **out, char *err,
		    size_t cap);
/* Tells live-update listeners that something changed. Thread-safe. */
void stw__http_notify(struct stw__http *h);
/* The port the server listens on. */
int stw__http_port(const struct stw__http *h);
/* The limits in force (the defaults filled in, max_connections as lowered). */
void stw__http_limits(const struct stw__http *h, struct stw__http_config *out);
/* Stops the server, ends live-update streams and closes its engine. Accepts NULL. */
void stw__http_stop(struct stw__http *h);

#endif /* STW_HTTP_SERVER_H */
