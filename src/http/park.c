/*
 * park.c - parked connections (park.h). libmicrohttpd serves connections
 * on a few threads of an event loop; a callback that waits would hold one
 * of them and every connection it serves. A connection with nothing to
 * send yet is suspended instead (MHD_suspend_connection, from its own
 * callback) and listed here with when it must be resumed; one thread sleeps
 * until the earliest such time, a change, or the stop, and resumes those
 * due (MHD_resume_connection is safe from any thread), and their callback
 * runs again.
 *
 * The park's lock is held while a connection is suspended and listed, and
 * while the thread resumes and unlists it: a connection is never resumed
 * before it is suspended, and once unlisted the park never touches its
 * entry again (its owner may free it when the connection ends). A
 * suspended connection never ends on its own: libmicrohttpd neither reads
 * nor times it out until it is resumed.
 */
#include "http/park.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct stw__http_park {
	struct stw__http_thread t;     /* woken by a change, a new earlier time, or the close */
	struct stw__http_parked *head; /* the parked connections, in no order */
	int listening;                 /* of them, those parked with on_change */
	int changed;                   /* a change came since the thread last looked */
	int closed;                    /* everything resumed; no more parking */
};

int64_t stw__http_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Unlists e and resumes its connection (under the lock). */
static void resume(struct stw__http_park *p, struct stw__http_parked *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		p->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->parked = 0;
	p->listening -= e->on_change != 0;
	MHD_resume_connection(e->conn);
}

static void *run(void *arg)
{
	struct stw__http_park *p = arg;
	pthread_mutex_lock(&p->t.lock);
	while (!p->t.stop) {
		int64_t now = stw__http_mono_ms(), next = now + 60000;
		int changed = p->changed;
		p->changed = 0;
		for (struct stw__http_parked *e = p->head, *n; e != NULL; e = n) {
			n = e->next;
			if (e->wake_ms <= now || (changed && e->on_change))
				resume(p, e);
			else if (e->wake_ms < next)
				next = e->wake_ms;
		}
		if (p->changed || p->t.stop)
			continue;
		struct timespec ts = { .tv_sec = (time_t)(next / 1000),
				       .tv_nsec = (long)(next % 1000) * 1000000L };
		pthread_cond_timedwait(&p->t.wake, &p->t.lock, &ts);
	}
	pthread_mutex_unlock(&p->t.lock);
	return NULL;
}

int stw__http_thread_start(struct stw__http_thread *t, void *(*fn)(void *), void *arg,
			   const char *name)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->wake, &attr);
	pthread_condattr_destroy(&attr);
	t->stop = 0;
	if (pthread_create(&t->thread, NULL, fn, arg) != 0) {
		pthread_cond_destroy(&t->wake);
		pthread_mutex_destroy(&t->lock);
		return -1;
	}
	pthread_setname_np(t->thread, name);
	return 0;
}

void stw__http_thread_stop(struct stw__http_thread *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->wake);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->wake);
	pthread_mutex_destroy(&t->lock);
}

int stw__http_park_start(struct stw__http_park **out)
{
	*out = NULL;
	struct stw__http_park *p = calloc(1, sizeof(*p));
	if (p == NULL || stw__http_thread_start(&p->t, run, p, "stw-park") != 0) {
		free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int stw__http_park(struct stw__http_park *p, struct stw__http_parked *e, struct MHD_Connection *c,
		   int64_t wake_ms, int on_change)
{
	pthread_mutex_lock(&p->t.lock);
	if (p->closed) {
		pthread_mutex_unlock(&p->t.lock);
		return -1;
	}
	MHD_suspend_connection(c);
	e->conn = c;
	e->wake_ms = wake_ms;
	e->on_change = on_change;
	e->parked = 1;
	p->listening += on_change != 0;
	e->prev = NULL;
	e->next = p->head;
	if (p->head != NULL)
		p->head->prev = e;
	p->head = e;
	pthread_cond_signal(&p->t.wake); /* it may be the earliest */
	pthread_mutex_unlock(&p->t.lock);
	return 0;
}

void stw__http_park_wake(struct stw__http_park *p, struct stw__http_parked *e)
{
	pthread_mutex_lock(&p->t.lock);
	if (e->parked)
		resume(p, e);
	pthread_mutex_unlock(&p->t.lock);
}

/*
 * A change that no parked connection waits for wakes nobody: the API's
 * groups and the worker's commits tell of one after every commit, mostly
 * with no live stream open, and waking the thread for nothing cost a
 * futex hand-off each. A connection that parks for the next change after
 * this one has seen it already (live.c reads its counter and parks under
 * its own lock, which the change's counter is moved under first).
 */
void stw__http_park_change(struct stw__http_park *p)
{
	pthread_mutex_lock(&p->t.lock);
	if (p->listening > 0) {
		p->changed = 1;
		pthread_cond_signal(&p->t.wake);
	}
	pthread_mutex_unlock(&p->t.lock);
}

void stw__http_park_close(struct stw__http_park *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->t.lock);
	p->closed = 1;
	while (p->head != NULL)
		resume(p, p->head);
	pthread_mutex_unlock(&p->t.lock);
}

void stw__http_park_stop(struct stw__http_park *p)
{
	if (p == NULL)
		return;
	stw__http_park_close(p);
	stw__http_thread_stop(&p->t);
	free(p);
}
