/*
 * group.h - the group commit of the API's writing requests (group.c).
 *
 * Every POST runs inside a group (stw_begin on the API's engine). A request
 * that finds other POSTs arriving leaves the group open for them and parks
 * its connection (park.h), holding no thread; the last one in commits for
 * all and resumes them, so requests that come together share one sync. Each
 * answers only after its group's commit: an answer always means durable.
 * Requests that only read commit an open group before reading (flush), so
 * they never see what is not durable.
 *
 * Every function but arrive is called under the server's lock, which also
 * guards the engine.
 */
#ifndef STW_HTTP_GROUP_H
#define STW_HTTP_GROUP_H

#include <stdatomic.h>
#include <stdint.h>

#include <steward.h>

#include "http/park.h"

/* Outcomes of the last groups, by group number modulo this. */
#define STW_HTTP_GROUP_RING 64

/* A writing request's part in a group; zeroed before it joins. */
struct stw__http_member {
	uint64_t group;                 /* the group joined; 0: none (it wrote alone) */
	int waiting;                    /* parked, in the group's list */
	struct stw__http_parked parked; /* its connection, while it waits */
	struct stw__http_member *next;  /* the group's list of waiting members */
};

struct stw__http_group {
	struct stw_engine *engine;        /* the API's; borrowed */
	struct stw__http_park *park;      /* where members wait; borrowed */
	atomic_int arriving;              /* POSTs that will take the server's lock soon */
	int open;                         /* stw_begin was called for group `seq` */
	int members;                      /* requests in the open group */
	uint64_t seq;                     /* the open group, or the last one */
	uint64_t done;                    /* groups up to this one are committed or failed */
	int rc[STW_HTTP_GROUP_RING];      /* their outcomes */
	uint64_t commits, committed;      /* groups committed and the requests in them */
	struct stw__http_member *waiting; /* parked members of the open group */
};

/* Sets up g for the API's engine; members wait in `park`. */
void stw__http_group_init(struct stw__http_group *g, struct stw_engine *engine,
			  struct stw__http_park *park);

/* A POST is about to take the server's lock (before it does: arrive(g, 1); after: arrive(g, -1)).
 */
void stw__http_group_arrive(struct stw__http_group *g, int delta);

/* Commits the open group, if any, and resumes its waiting members. */
void stw__http_group_flush(struct stw__http_group *g);

/* Joins m to the open group or opens one (m->group stays 0 when none could be opened). */
void stw__http_group_join(struct stw__http_group *g, struct stw__http_member *m);

/*
 * Ends m's part once its request ran: commits the group when no other POST
 * is arriving (or the group is large), else parks c until a later member
 * commits. Returns 1 with the group's outcome in *rc (STW_OK for a request
 * that wrote alone), or 0 when c was parked: its callback runs again once
 * the group is settled, and calls stw__http_group_resumed.
 */
int stw__http_group_finish(struct stw__http_group *g, struct stw__http_member *m,
			   struct MHD_Connection *c, int *rc);

/*
 * The outcome of m's group, for a member whose connection was resumed (its
 * group committed; or the server stops, or the wait ran long, and then the
 * member commits the group itself).
 */
int stw__http_group_resumed(struct stw__http_group *g, struct stw__http_member *m);

#endif /* STW_HTTP_GROUP_H */
