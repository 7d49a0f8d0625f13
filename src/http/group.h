/*
 * group.h - the group commit of the API's writing requests (group.c).
 *
 * A POST does not run on the thread that read it: its connection is
 * suspended and the request queued for the group's own thread, which takes
 * every request queued (at most STW_HTTP_GROUP_MAX), runs them on the API's
 * engine in one transaction (stw_begin) under the server's lock, commits,
 * and resumes their connections, whose callbacks then answer. Requests that
 * arrive while a group runs and syncs queue for the next one, so a group
 * holds what came during the last commit: the busier the server, the
 * larger its groups. Each request answers only after its group's commit: an
 * answer always means durable. The threads that serve connections never
 * wait for a commit. Requests that only read take the server's lock, which
 * the group's thread holds from its first request to its commit, so they
 * never see what is not durable.
 */
#ifndef STW_HTTP_GROUP_H
#define STW_HTTP_GROUP_H

#include <stdint.h>

#include <microhttpd.h>
#include <pthread.h>
#include <steward.h>

#include "http/park.h"

/* A group holds at most this many requests, so that it never keeps the write lock for long. */
#define STW_HTTP_GROUP_MAX 64

/* A writing request's part in a group; its fields are the group's. */
struct stw__http_member {
	struct MHD_Connection *conn;   /* suspended while it is queued */
	int rc;                        /* its group's outcome, once resumed */
	struct stw__http_member *next; /* the queue */
};

/*
 * Runs m's request on the engine, inside the group's transaction and under
 * the server's lock; returns 1 when it wrote (the route answered 2xx).
 */
typedef int (*stw__http_group_run_fn)(void *ud, struct stw__http_member *m);

/* Called once after a group that wrote has committed (the worker woken, streams told). */
typedef void (*stw__http_group_wrote_fn)(void *ud);

struct stw__http_group {
	struct stw_engine *engine;      /* the API's; borrowed */
	pthread_mutex_t *engine_lock;   /* the server's lock, which guards the engine; borrowed */
	stw__http_group_run_fn run;     /* the server's */
	stw__http_group_wrote_fn wrote; /* the server's */
	void *ud;                       /* theirs */
	struct stw__http_thread t;      /* the group's thread; its lock guards the queue */
	int started;                    /* the thread runs (until stop) */
	int idle;                       /* the thread waits for a request */
	int busy;                       /* a group runs (on the thread, or alone: see submit) */
	struct stw__http_member *head, *tail; /* the queue, in order of arrival */
	uint64_t commits, committed; /* groups committed and the requests in them (engine_lock) */
};

/*
 * Starts the group's thread for the API's engine, guarded by engine_lock.
 * Returns 0, or -1 (out of threads). Stop with stw__http_group_stop.
 */
int stw__http_group_start(struct stw__http_group *g, struct stw_engine *engine,
			  pthread_mutex_t *engine_lock, stw__http_group_run_fn run,
			  stw__http_group_wrote_fn wrote, void *ud);

/*
 * Suspends c (which must be the connection whose callback is running) and
 * queues m for the next group; c's callback runs again once the group has
 * committed, with the outcome in m->rc. Returns 0. When no group runs and
 * none is queued, m runs in a group of its own at once, on the calling
 * thread, and 1 is returned with the outcome in m->rc (nothing suspended).
 * Returns -1 when the group's thread has stopped: nothing is run or
 * suspended, and the caller runs the request with stw__http_group_alone.
 */
int stw__http_group_submit(struct stw__http_group *g, struct stw__http_member *m,
			   struct MHD_Connection *c);

/*
 * Runs m's request in a group of its own on the calling thread (which must
 * not hold the server's lock) and commits it; returns the outcome. For a
 * request that comes once the group's thread has stopped.
 */
int stw__http_group_alone(struct stw__http_group *g, struct stw__http_member *m);

/*
 * Runs and commits what is queued, resuming those connections, then joins
 * the thread; later requests are refused by submit. Called before
 * libmicrohttpd's daemon stops, which must not find a connection
 * suspended. Does nothing for a group that was never started.
 */
void stw__http_group_stop(struct stw__http_group *g);

/* Stops the group if it runs and frees what it holds; once no thread may submit any more. */
void stw__http_group_destroy(struct stw__http_group *g);

#endif /* STW_HTTP_GROUP_H */
