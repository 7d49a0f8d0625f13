/*
 * live.h - live updates of the page: GET /api/stream, a stream of
 * server-sent events that says "something changed" (at most one event per
 * 100 ms per stream, a heartbeat every 15 s), the notification that wakes
 * every stream, and the cap on streams open at once. A stream holds no
 * thread while it waits (park.h). Thread-safe.
 */
#ifndef STW_HTTP_LIVE_H
#define STW_HTTP_LIVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "http/park.h"

/* The change counter streams follow, and the streams open. */
struct stw__http_live {
	pthread_mutex_t lock;
	uint64_t seq;                /* grows on every change */
	int stopping;                /* the server stops: streams end */
	int open;                    /* streams open now */
	int max_streams;             /* more are refused (503); 0: no cap */
	struct stw__http_park *park; /* where waiting streams are parked; borrowed */
};

/* Initialises l: streams wait in `park`; at most max_streams at once (0: no cap). */
void stw__http_live_init(struct stw__http_live *l, struct stw__http_park *park, int max_streams);
/* Destroys l; every stream must have ended (the server's daemon is stopped). */
void stw__http_live_destroy(struct stw__http_live *l);
/* Tells every stream that something changed. */
void stw__http_live_notify(struct stw__http_live *l);
/*
 * Ends every stream, now and later: each ends at its next call, which the
 * park's close (stw__http_park_close) brings about for the waiting ones.
 */
void stw__http_live_stop(struct stw__http_live *l);
/*
 * Answers GET /api/stream on c: the stream, or 503 with Retry-After when
 * max_streams are open already.
 */
enum MHD_Result stw__http_live_serve(struct stw__http_live *l, struct MHD_Connection *c);
/* The streams open now. */
int stw__http_live_open(struct stw__http_live *l);

#endif /* STW_HTTP_LIVE_H */
