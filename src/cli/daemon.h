/*
 * daemon.h - the long-running steward process: a worker that steps the
 * engine, the HTTP server, and (for demos) a simulator that feeds it.
 */
#ifndef STW_DAEMON_H
#define STW_DAEMON_H

#include "config.h"
#include "http/http.h"

struct stw__cli_daemon_options {
	const char *store;  /* a path or URL, as stw_open takes it */
	const char *listen; /* NULL: 127.0.0.1:8080; "" or "off": no HTTP server */
	int slow;           /* SLOW_DOWN: wait 5 s per process step, 250 ms per command */
	int quiet;          /* do not narrate events on stdout */
	double run_for;     /* seconds; 0: until SIGINT/SIGTERM */
	/* At start, how long to wait for a store that cannot be opened yet (ms); 0: not. */
	int64_t store_wait_ms;
	/* Registers the services and definitions on each engine opened. */
	stw__http_setup_fn setup;
	void *setup_ud;
	/* Extra routes under /api/demo/. */
	stw__http_route_fn route;
	void *route_ud;
	/* Called every `every` seconds on the worker's engine (0: never). */
	void (*simulate)(struct stw_engine *e, unsigned *rng, int tick, void *ud);
	void *simulate_ud;
	double every;
	unsigned seed;
	const char *const *narrate; /* contexts whose events are printed; NULL-terminated */
	int synchronous;            /* SQLite synchronous + 1 (1 off ... 3 full); 0: default */
	/*
	 * A file holding the bearer token the API and page require (docs/API.md,
	 * "Authentication"); NULL: the STEWARD_TOKEN environment variable, and
	 * without it everything is open.
	 */
	const char *token_file;
	/* Contexts that take POSTed events although undeclared (NULL-terminated, "*": any). */
	const char *const *accept_contexts;
	/* An instance nothing moves is stuck after this long (ms); 0: the server's default. */
	int64_t stuck_after_ms;
	/* The HTTP server's limits (docs/API.md, "Under load"); 0: its defaults. */
	struct stw__cli_http_limits http;
	/* Retention passes of the worker, a batch between rounds; all 0: off. */
	struct stw__cli_retention retention;
	/* The store's cluster this worker joins ([cluster]); enabled 0: none. */
	struct stw__cli_cluster cluster;
};

/*
 * Reads the bearer token of `file` (one line; a final newline is dropped),
 * or of STEWARD_TOKEN when file is NULL. Returns 0 with *out (free it after
 * wiping it; NULL: no token), or 1 after printing why the token cannot be
 * used. The daemon and the CLI's --url commands share it.
 */
int stw__cli_daemon_token(const char *file, char **out);

/* Runs until a signal (or run_for). Returns the process exit status. */
int stw__cli_daemon_run(const struct stw__cli_daemon_options *o);

/*
 * Answers {key: [...]} with the views of the 100 newest instances of
 * `definition` (an instance's id is its view's id, as the order and booking
 * examples make it), each with a "process" object {id, state, status,
 * reason}. Instances without a view are skipped (they show on /instances).
 */
int stw__cli_demo_list(struct stw__http_request *r, const char *definition, const char *key,
		       int (*view)(struct stw_engine *e, const char *id, json_t **out));

/* Demo routes and setup of the voiding example (demo_voiding.c). */
int stw__cli_demo_voiding_setup(struct stw_engine *e, void *ud);
int stw__cli_demo_voiding_route(struct stw__http_request *r, void *ud);
void stw__cli_demo_voiding_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud);

/* The order demo (demo_orders.c). */
void stw__cli_demo_orders_configure(int64_t payment_timeout_ms);
int stw__cli_demo_orders_setup(struct stw_engine *e, void *ud);
int stw__cli_demo_orders_route(struct stw__http_request *r, void *ud);
void stw__cli_demo_orders_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud);

/* The ticket booking demo (demo_booking.c). */
void stw__cli_demo_booking_configure(int64_t payment_window_ms, int64_t expire_every_ms);
int stw__cli_demo_booking_setup(struct stw_engine *e, void *ud);
int stw__cli_demo_booking_route(struct stw__http_request *r, void *ud);
void stw__cli_demo_booking_simulate(struct stw_engine *e, unsigned *rng, int tick, void *ud);

#endif /* STW_DAEMON_H */
