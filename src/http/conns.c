/*
 * conns.c - the server's connections and their read deadline (conns.h).
 *
 * libmicrohttpd tells when a connection opens and closes
 * (MHD_OPTION_NOTIFY_CONNECTION); each gets a record, in one list, holding
 * its socket and the start of the wait for its request. Twice a second a
 * thread walks the list and shuts down the socket of every connection still
 * waiting past its deadline: libmicrohttpd then sees the connection end and
 * closes it on its own thread. The list's lock is held while a socket is
 * shut down and while libmicrohttpd's close removes the record, which comes
 * before it closes the socket: the thread never shuts down a descriptor
 * that was closed and reused.
 */
#include "http/conns.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http/park.h"

#define SWEEP_MS    500 /* how often deadlines are checked */
#define SWEEP_BATCH 64  /* sockets shut down per hold of the lock, which connections wait for */

/* One connection. */
struct track {
	struct track *prev, *next;
	int fd;
	int waiting;      /* its request is awaited: the deadline runs */
	int64_t since_ms; /* since when (monotonic) */
};

struct stw__http_conns {
	struct stw__http_thread t; /* the sweep; its lock guards the list */
	struct track *head;
	int64_t timeout_ms;
	long open, timed_out;
};

static void *sweep(void *arg)
{
	struct stw__http_conns *t = arg;
	pthread_mutex_lock(&t->t.lock);
	while (!t->t.stop) {
		int64_t now = stw__http_mono_ms();
		for (int more = 1; more && !t->t.stop;) {
			int done = 0;
			for (struct track *k = t->head; k != NULL && done < SWEEP_BATCH;
			     k = k->next) {
				if (!k->waiting || now - k->since_ms <= t->timeout_ms)
					continue;
				shutdown(k->fd, SHUT_RDWR);
				k->waiting = 0; /* once: libmicrohttpd closes it next */
				t->timed_out++;
				done++;
			}
			/* Many at once (a crowd opened together): let the connections that wait for
			 * the lock in, then walk again (the list may have changed meanwhile). */
			more = done == SWEEP_BATCH;
			if (more) {
				pthread_mutex_unlock(&t->t.lock);
				sched_yield();
				pthread_mutex_lock(&t->t.lock);
			}
		}
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += SWEEP_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&t->t.wake, &t->t.lock, &ts);
	}
	pthread_mutex_unlock(&t->t.lock);
	return NULL;
}

int stw__http_conns_start(int64_t read_timeout_ms, struct stw__http_conns **out)
{
	*out = NULL;
	struct stw__http_conns *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -1;
	t->timeout_ms = read_timeout_ms;
	if (stw__http_thread_start(&t->t, sweep, t, "stw-conn-sweep") != 0) {
		free(t);
		return -1;
	}
	*out = t;
	return 0;
}

void stw__http_conns_stop(struct stw__http_conns *t)
{
	if (t == NULL)
		return;
	stw__http_thread_stop(&t->t);
	while (t->head != NULL) { /* none: libmicrohttpd closed every connection */
		struct track *k = t->head;
		t->head = k->next;
		free(k);
	}
	free(t);
}

void stw__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode code)
{
	struct stw__http_conns *t = cls;
	struct track *k = *socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k = calloc(1, sizeof(*k));
		if (k == NULL || fd == NULL) {
			free(k); /* untracked: libmicrohttpd's own timeout still applies */
			return;
		}
		k->fd = fd->connect_fd;
		k->waiting = 1;
		k->since_ms = stw__http_mono_ms();
		pthread_mutex_lock(&t->t.lock);
		k->next = t->head;
		if (t->head != NULL)
			t->head->prev = k;
		t->head = k;
		t->open++;
		pthread_mutex_unlock(&t->t.lock);
		*socket_context = k;
		return;
	}
	if (k == NULL)
		return;
	pthread_mutex_lock(&t->t.lock);
	if (k->prev != NULL)
		k->prev->next = k->next;
	else
		t->head = k->next;
	if (k->next != NULL)
		k->next->prev = k->prev;
	t->open--;
	pthread_mutex_unlock(&t->t.lock);
	free(k);
	*socket_context = NULL;
}

/* The record of c, or NULL when untracked. */
static struct track *track_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return i != NULL ? i->socket_context : NULL;
}

/* Sets whether c's request is awaited (from now on). */
static void set_waiting(struct stw__http_conns *t, struct MHD_Connection *c, int waiting)
{
	struct track *k = track_of(c);
	if (k == NULL)
		return;
	pthread_mutex_lock(&t->t.lock);
	k->waiting = waiting;
	k->since_ms = stw__http_mono_ms();
	pthread_mutex_unlock(&t->t.lock);
}

void stw__http_conns_serving(struct stw__http_conns *t, struct MHD_Connection *c)
{
	set_waiting(t, c, 0);
}

void stw__http_conns_waiting(struct stw__http_conns *t, struct MHD_Connection *c)
{
	set_waiting(t, c, 1);
}

int stw__http_conns_late(struct stw__http_conns *t, struct MHD_Connection *c)
{
	struct track *k = track_of(c);
	if (k == NULL)
		return 0;
	pthread_mutex_lock(&t->t.lock);
	int late = k->waiting && stw__http_mono_ms() - k->since_ms > t->timeout_ms;
	pthread_mutex_unlock(&t->t.lock);
	return late;
}

long stw__http_conns_open(struct stw__http_conns *t)
{
	pthread_mutex_lock(&t->t.lock);
	long n = t->open;
	pthread_mutex_unlock(&t->t.lock);
	return n;
}

long stw__http_conns_timed_out(struct stw__http_conns *t)
{
	pthread_mutex_lock(&t->t.lock);
	long n = t->timed_out;
	pthread_mutex_unlock(&t->t.lock);
	return n;
}
