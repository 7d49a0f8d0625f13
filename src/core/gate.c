/*
 * gate.c - the write gate (gate.h, stw_write_gate_new in steward.h): a
 * first-come, first-served lock for the store's write transactions of the
 * engines of one process.
 *
 * SQLite lets one connection write at a time; the others wait in its busy
 * handler, which sleeps (up to 100 ms at a time) and tries again. That is no
 * queue: a connection that writes again and again, as the daemon's worker
 * does, takes the lock back each time it lets it go, and another one (the
 * API's) may sleep through every gap until its busy timeout, then fail. A
 * gate queues the engines of one process instead: each waits for its turn in
 * the order it asked, and the one that lets the lock go hands it straight to
 * the next (no gap another can take). SQLite's busy handler then arbitrates
 * only between processes.
 *
 * Each waiter has its own condition variable, on the monotonic clock, so
 * that the hand-over wakes exactly the next one and a waiter that gives up
 * leaves the queue without disturbing the order of the others.
 */
#include "core/gate.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* One engine waiting for its turn (on its thread's stack). */
struct waiter {
	pthread_cond_t turn;
	int granted; /* the gate was handed to this waiter */
	struct waiter *next;
};

struct stw_write_gate {
	pthread_mutex_t lock;
	int held;                   /* an engine holds the gate */
	struct waiter *head, *tail; /* the queue, in order of arrival */
	atomic_int waiting;         /* the queue's length, read without the lock */
	int64_t wait_ms;            /* how long a waiter waits before it gives up */
};

STW_API int stw_write_gate_new(int64_t wait_ms, struct stw_write_gate **out)
{
	if (out == NULL)
		return STW_EINVAL;
	*out = NULL;
	if (wait_ms < 0)
		return STW_EINVAL;
	struct stw_write_gate *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return STW_ENOMEM;
	if (pthread_mutex_init(&g->lock, NULL) != 0) {
		free(g);
		return STW_ENOMEM;
	}
	atomic_init(&g->waiting, 0);
	g->wait_ms = wait_ms;
	*out = g;
	return STW_OK;
}

STW_API void stw_write_gate_free(struct stw_write_gate *g)
{
	if (g == NULL)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* Removes w from the queue (under the lock); it must be in it. */
static void unlink_waiter(struct stw_write_gate *g, struct waiter *w)
{
	struct waiter **p = &g->head, *prev = NULL;
	while (*p != w) {
		prev = *p;
		p = &(*p)->next;
	}
	*p = w->next;
	if (g->tail == w)
		g->tail = prev;
	atomic_fetch_sub(&g->waiting, 1);
}

int stw__gate_enter(struct stw_write_gate *g)
{
	pthread_mutex_lock(&g->lock);
	if (!g->held && g->head == NULL) {
		g->held = 1;
		pthread_mutex_unlock(&g->lock);
		return STW_OK;
	}
	struct waiter w = { .granted = 0, .next = NULL };
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int init = pthread_cond_init(&w.turn, &attr);
	pthread_condattr_destroy(&attr);
	if (init != 0) {
		pthread_mutex_unlock(&g->lock);
		return STW_ENOMEM;
	}
	if (g->tail != NULL)
		g->tail->next = &w;
	else
		g->head = &w;
	g->tail = &w;
	atomic_fetch_add(&g->waiting, 1);
	struct timespec end;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)(g->wait_ms / 1000);
	end.tv_nsec += (long)(g->wait_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	while (!w.granted && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w.turn, &g->lock, &end);
	if (!w.granted)
		unlink_waiter(g, &w);
	pthread_mutex_unlock(&g->lock);
	pthread_cond_destroy(&w.turn);
	return w.granted ? STW_OK : STW_EBUSY;
}

void stw__gate_leave(struct stw_write_gate *g)
{
	pthread_mutex_lock(&g->lock);
	struct waiter *next = g->head;
	if (next != NULL) {
		/* Handed over: the gate stays held, by the next in line. */
		unlink_waiter(g, next);
		next->granted = 1;
		pthread_cond_signal(&next->turn);
	} else {
		g->held = 0;
	}
	pthread_mutex_unlock(&g->lock);
}

int stw__gate_waiting(struct stw_write_gate *g)
{
	return atomic_load_explicit(&g->waiting, memory_order_relaxed);
}

int64_t stw__gate_wait_ms(const struct stw_write_gate *g)
{
	return g->wait_ms;
}
