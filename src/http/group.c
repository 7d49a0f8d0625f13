/*
 * group.c - the group commit of the API's writing requests (group.h).
 *
 * Members used to wait for their group on a condition variable, each on
 * the thread of its connection. Served by a pool of a few threads, that
 * would hold a thread, and all its other connections, per waiting member,
 * and cap a group at the pool's size. A member that waits parks its
 * connection instead; the commit resumes the group's members, whose
 * callbacks then answer. A group also commits once it holds
 * GROUP_MAX_MEMBERS requests, so that a stream of writers never keeps the
 * write lock from the worker for long.
 */
#include "http/group.h"

#include <string.h>

/* A group this large commits without waiting for the POSTs still arriving. */
#define GROUP_MAX_MEMBERS 64

/* A member not resumed by its group after this long commits the group itself. */
#define MEMBER_WAIT_MS 60000

void stw__http_group_init(struct stw__http_group *g, struct stw_engine *engine,
			  struct stw__http_park *park)
{
	memset(g, 0, sizeof(*g));
	g->engine = engine;
	g->park = park;
	atomic_init(&g->arriving, 0);
}

void stw__http_group_arrive(struct stw__http_group *g, int delta)
{
	atomic_fetch_add(&g->arriving, delta);
}

/* Commits the open group and resumes its waiting members. */
static int commit(struct stw__http_group *g)
{
	int rc = stw_commit(g->engine);
	g->open = 0;
	g->members = 0;
	g->done = g->seq;
	g->rc[g->seq % STW_HTTP_GROUP_RING] = rc;
	if (rc == STW_OK)
		g->commits++;
	for (struct stw__http_member *m = g->waiting, *next; m != NULL; m = next) {
		next = m->next;
		m->next = NULL;
		m->waiting = 0;
		stw__http_park_wake(g->park, &m->parked);
	}
	g->waiting = NULL;
	return rc;
}

void stw__http_group_flush(struct stw__http_group *g)
{
	if (g->open)
		(void)commit(g);
}

void stw__http_group_join(struct stw__http_group *g, struct stw__http_member *m)
{
	m->group = 0;
	if (!g->open) {
		if (stw_begin(g->engine) != STW_OK)
			return;
		g->open = 1;
		g->seq++;
	}
	g->members++;
	m->group = g->seq;
}

/* The outcome of a settled group; older than the ring only after that many commits meanwhile. */
static int outcome(struct stw__http_group *g, uint64_t group)
{
	int rc = g->seq - group < STW_HTTP_GROUP_RING ? g->rc[group % STW_HTTP_GROUP_RING] : STW_OK;
	if (rc == STW_OK)
		g->committed++;
	return rc;
}

int stw__http_group_finish(struct stw__http_group *g, struct stw__http_member *m,
			   struct MHD_Connection *c, int *rc)
{
	*rc = STW_OK;
	if (m->group == 0)
		return 1;
	int last = atomic_load(&g->arriving) == 0 || g->members >= GROUP_MAX_MEMBERS;
	if (g->open && g->seq == m->group && last)
		(void)commit(g);
	if (g->done >= m->group) {
		*rc = outcome(g, m->group);
		return 1;
	}
	if (stw__http_park(g->park, &m->parked, c, stw__http_mono_ms() + MEMBER_WAIT_MS, 0) != 0) {
		/* The server stops: nobody may come to commit. */
		(void)commit(g);
		*rc = outcome(g, m->group);
		return 1;
	}
	m->waiting = 1;
	m->next = g->waiting;
	g->waiting = m;
	return 0;
}

int stw__http_group_resumed(struct stw__http_group *g, struct stw__http_member *m)
{
	if (m->waiting) { /* resumed by the wait's end, not by the commit */
		struct stw__http_member **p = &g->waiting;
		while (*p != m)
			p = &(*p)->next;
		*p = m->next;
		m->next = NULL;
		m->waiting = 0;
	}
	if (g->done < m->group && g->open && g->seq == m->group)
		(void)commit(g);
	return outcome(g, m->group);
}
