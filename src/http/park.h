/*
 * park.h - parked connections (park.c): connections that have nothing to
 * send yet, suspended from libmicrohttpd's event loop instead of holding
 * one of its threads, and resumed by one thread of the server at a given
 * time, at the next change (live updates), when woken, or when the server
 * stops. A live stream waits this way for its next event, a wrong token for
 * the delay of its answer.
 */
#ifndef STW_HTTP_PARK_H
#define STW_HTTP_PARK_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

struct stw__http_park;

/*
 * One parked connection; owned by whoever parks it (in its per-connection
 * state), and untouched by the park once resumed. Fields are the park's.
 */
struct stw__http_parked {
	struct MHD_Connection *conn;
	int64_t wake_ms; /* monotonic ms: resumed then at the latest */
	int on_change;   /* also resumed at the next change */
	int parked;      /* in the park's list */
	struct stw__http_parked *prev, *next;
};

/*
 * Starts the park's thread. Returns 0, or -1 (out of memory or threads).
 * Free with stw__http_park_stop.
 */
int stw__http_park_start(struct stw__http_park **out);

/*
 * Suspends c (which must be the connection whose callback is running) and
 * parks it until wake_ms (monotonic ms), or the next change too with
 * on_change. Its callback runs again once it is resumed. Returns 0, or -1
 * when the park is stopping: then nothing is suspended and the caller
 * answers at once.
 */
int stw__http_park(struct stw__http_park *p, struct stw__http_parked *e, struct MHD_Connection *c,
		   int64_t wake_ms, int on_change);

/* Resumes e's connection now, if it is still parked. Thread-safe. */
void stw__http_park_wake(struct stw__http_park *p, struct stw__http_parked *e);

/* Resumes the connections parked with on_change. Thread-safe. */
void stw__http_park_change(struct stw__http_park *p);

/*
 * Resumes every parked connection and refuses new ones (stw__http_park
 * fails from then on); called before libmicrohttpd's daemon stops, which
 * must not find a connection suspended. Accepts NULL.
 */
void stw__http_park_close(struct stw__http_park *p);

/* Joins the thread and frees the park (closed first if it is not). Accepts NULL. */
void stw__http_park_stop(struct stw__http_park *p);

/* Monotonic milliseconds, the park's clock. */
int64_t stw__http_mono_ms(void);

/*
 * The server's background threads (the park's, the read deadline's,
 * conns.c): one thread running `fn(arg)`, named `name` (top -H, perf), with
 * a lock and a condition variable on the monotonic clock it sleeps on, and a
 * stop flag under the lock. start returns 0, or -1 with nothing left
 * initialised; stop sets the flag, wakes and joins the thread, and destroys
 * the lock and the condition variable.
 */
struct stw__http_thread {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	int stop;
};
int stw__http_thread_start(struct stw__http_thread *t, void *(*fn)(void *), void *arg,
			   const char *name);
void stw__http_thread_stop(struct stw__http_thread *t);

#endif /* STW_HTTP_PARK_H */
