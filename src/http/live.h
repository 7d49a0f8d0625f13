/*
 * live.h - live updates of the page: GET /api/stream, a stream of
 * server-sent events that says "something changed" (at most one event per
 * 100 ms per stream, a heartbeat every 15 s), and the notification that
 * wakes every stream. Thread-safe.
 */
#ifndef STW_HTTP_LIVE_H
#define STW_HTTP_LIVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

/* The change counter streams wait on. */
struct stw__http_live {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* seq moved, or stopping was set */
	uint64_t seq;           /* grows on every change */
	int stopping;           /* the server stops: streams end */
};

void stw__http_live_init(struct stw__http_live *l);
/* Destroys l; every stream must have ended (the server's daemon is stopped). */
void stw__http_live_destroy(struct stw__http_live *l);
/* Tells every stream that something changed. */
void stw__http_live_notify(struct stw__http_live *l);
/* Ends every stream, now and later (before the server's daemon stops). */
void stw__http_live_stop(struct stw__http_live *l);
/*
 * Answers GET /api/stream on c: each connection has its own thread, which
 * waits in the stream until a change, a heartbeat or the stop.
 */
enum MHD_Result stw__http_live_serve(struct stw__http_live *l, struct MHD_Connection *c);

#endif /* STW_HTTP_LIVE_H */
