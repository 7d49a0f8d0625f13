/*
 * group.c - the group commit of the API's writing requests (group.h).
 *
 * Members used to run their request on the thread of their connection and
 * then either commit the open group (when no other POST was about to take
 * the server's lock) or park until a later member committed. The sync ran
 * on a thread of the server's pool, under the server's lock, so every other
 * POST of the pool waited for it on that lock, holding its thread and that
 * thread's other connections, and a group held only the few POSTs that
 * happened to be taking the lock at that moment: about 10 of 64 clients,
 * each paying its share of a sync of several milliseconds. Now one thread
 * runs the groups: while it syncs, the pool goes on reading requests and
 * queueing them, and the next group takes them all.
 */
#include "http/group.h"

#include <string.h>

/* Runs the members of list (under engine_lock) in one transaction; returns the commit's outcome. */
static int commit_group(struct stw__http_group *g, struct stw__http_member *list, int *wrote)
{
	pthread_mutex_lock(g->engine_lock);
	/* When the group cannot open (the write gate's wait ran out), each runs alone. */
	int began = stw_begin(g->engine) == STW_OK, n = 0, rc = STW_OK;
	*wrote = 0;
	for (struct stw__http_member *m = list; m != NULL; m = m->next, n++)
		*wrote |= g->run(g->ud, m);
	if (began)
		rc = stw_commit(g->engine);
	if (began && rc == STW_OK) {
		g->commits++;
		g->committed += (uint64_t)n;
	}
	pthread_mutex_unlock(g->engine_lock);
	if (*wrote && rc == STW_OK)
		g->wrote(g->ud);
	return rc;
}

/* Runs a group of the queue's first members and resumes their connections. */
static void run_group(struct stw__http_group *g, struct stw__http_member *list)
{
	int wrote;
	int rc = commit_group(g, list, &wrote);
	for (struct stw__http_member *m = list, *next; m != NULL; m = next) {
		next = m->next; /* m may be gone once its connection is resumed */
		m->next = NULL;
		m->rc = rc;
		MHD_resume_connection(m->conn);
	}
}

static void *run(void *arg)
{
	struct stw__http_group *g = arg;
	pthread_mutex_lock(&g->t.lock);
	for (;;) {
		while (g->head == NULL && !g->t.stop) {
			g->idle = 1;
			pthread_cond_wait(&g->t.wake, &g->t.lock);
			g->idle = 0;
		}
		if (g->head == NULL)
			break; /* stopped, and nothing is left */
		struct stw__http_member *list = g->head, *last = list;
		for (int n = 1; n < STW_HTTP_GROUP_MAX && last->next != NULL; n++)
			last = last->next;
		g->head = last->next;
		if (g->head == NULL)
			g->tail = NULL;
		last->next = NULL;
		g->busy = 1;
		pthread_mutex_unlock(&g->t.lock);
		run_group(g, list);
		pthread_mutex_lock(&g->t.lock);
		g->busy = 0;
	}
	pthread_mutex_unlock(&g->t.lock);
	return NULL;
}

int stw__http_group_start(struct stw__http_group *g, struct stw_engine *engine,
			  pthread_mutex_t *engine_lock, stw__http_group_run_fn run_fn,
			  stw__http_group_wrote_fn wrote, void *ud)
{
	memset(g, 0, sizeof(*g));
	g->engine = engine;
	g->engine_lock = engine_lock;
	g->run = run_fn;
	g->wrote = wrote;
	g->ud = ud;
	if (stw__http_thread_start(&g->t, run, g, "stw-api-group") != 0)
		return -1;
	g->started = 1;
	return 0;
}

int stw__http_group_submit(struct stw__http_group *g, struct stw__http_member *m,
			   struct MHD_Connection *c)
{
	if (!g->started)
		return -1;
	pthread_mutex_lock(&g->t.lock);
	if (g->t.stop) {
		pthread_mutex_unlock(&g->t.lock);
		return -1;
	}
	if (!g->busy && g->head == NULL) {
		/* Nothing runs or waits: no hand-over to the thread, which would only add its
		 * wake-up. */
		g->busy = 1;
		pthread_mutex_unlock(&g->t.lock);
		int wrote;
		m->next = NULL;
		m->rc = commit_group(g, m, &wrote);
		pthread_mutex_lock(&g->t.lock);
		g->busy = 0;
		if (g->head != NULL && g->idle) /* queued meanwhile */
			pthread_cond_signal(&g->t.wake);
		pthread_mutex_unlock(&g->t.lock);
		return 1;
	}
	MHD_suspend_connection(c);
	m->conn = c;
	m->next = NULL;
	if (g->tail != NULL)
		g->tail->next = m;
	else
		g->head = m;
	g->tail = m;
	if (g->idle && !g->busy) /* else it takes the queue once the group running is done */
		pthread_cond_signal(&g->t.wake);
	pthread_mutex_unlock(&g->t.lock);
	return 0;
}

int stw__http_group_alone(struct stw__http_group *g, struct stw__http_member *m)
{
	int wrote;
	m->next = NULL;
	return commit_group(g, m, &wrote);
}

void stw__http_group_stop(struct stw__http_group *g)
{
	if (!g->started)
		return;
	pthread_mutex_lock(&g->t.lock);
	int stopped = g->t.stop;
	g->t.stop = 1;
	pthread_cond_signal(&g->t.wake);
	pthread_mutex_unlock(&g->t.lock);
	if (!stopped)
		pthread_join(g->t.thread, NULL); /* the thread empties the queue first */
}

void stw__http_group_destroy(struct stw__http_group *g)
{
	if (!g->started)
		return;
	stw__http_group_stop(g);
	pthread_cond_destroy(&g->t.wake);
	pthread_mutex_destroy(&g->t.lock);
	g->started = 0;
}
