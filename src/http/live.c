/*
 * live.c - live updates (live.h): the server-sent events of /api/stream,
 * the change counter they follow, and the cap on open streams.
 *
 * A stream holds no thread: when it has nothing to send, its content
 * callback parks the connection (park.c) until its next event may go (100
 * ms after the last), its heartbeat is due, or the next change, and
 * returns nothing; libmicrohttpd calls it again once resumed.
 */
#include "http/live.h"

#include <stdio.h>
#include <stdlib.h>

#include "http/response.h"

#define SSE_MIN_GAP_MS   100
#define SSE_HEARTBEAT_MS 15000

void stw__http_live_init(struct stw__http_live *l, struct stw__http_park *park, int max_streams)
{
	pthread_mutex_init(&l->lock, NULL);
	l->seq = 0;
	l->stopping = 0;
	l->open = 0;
	l->max_streams = max_streams;
	l->park = park;
}

void stw__http_live_destroy(struct stw__http_live *l)
{
	pthread_mutex_destroy(&l->lock);
}

/* One stream. */
struct sse {
	struct stw__http_live *l;
	struct MHD_Connection *conn;
	uint64_t seen;         /* the change counter when the last event was sent */
	int64_t last_event_ms; /* when the last change event was sent */
	int64_t last_write_ms; /* when anything was last sent (heartbeats) */
	int started;           /* the retry line was sent */
	struct stw__http_parked parked;
};

static void sse_free(void *cls)
{
	struct sse *s = cls;
	struct stw__http_live *l = s->l;
	pthread_mutex_lock(&l->lock);
	l->open--;
	pthread_mutex_unlock(&l->lock);
	free(s);
}

/*
 * Produces the event stream: the retry line, then a change event at most
 * every SSE_MIN_GAP_MS while changes come, a comment every SSE_HEARTBEAT_MS
 * otherwise; the end when the server stops. With nothing to send, parks
 * the connection and returns 0 (called again once resumed).
 */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct sse *s = cls;
	struct stw__http_live *l = s->l;
	int64_t now = stw__http_mono_ms();
	ssize_t n = 0;
	pthread_mutex_lock(&l->lock);
	if (l->stopping) {
		n = MHD_CONTENT_READER_END_OF_STREAM;
	} else if (!s->started) {
		s->started = 1;
		n = snprintf(buf, max, "retry: 2000\n\n");
	} else if (l->seq != s->seen && now >= s->last_event_ms + SSE_MIN_GAP_MS) {
		s->seen = l->seq;
		s->last_event_ms = now;
		n = snprintf(buf, max, "event: change\ndata: {\"seq\":%llu}\n\n",
			     (unsigned long long)s->seen);
	} else if (now >= s->last_write_ms + SSE_HEARTBEAT_MS) {
		n = snprintf(buf, max, ": keep-alive\n\n");
	} else {
		/* A change waits for its gap; without one, wait for a change or the heartbeat. */
		int waiting = l->seq != s->seen;
		int64_t wake = waiting ? s->last_event_ms + SSE_MIN_GAP_MS
				       : s->last_write_ms + SSE_HEARTBEAT_MS;
		if (stw__http_park(l->park, &s->parked, s->conn, wake, !waiting) != 0)
			n = MHD_CONTENT_READER_END_OF_STREAM; /* the server stops */
	}
	pthread_mutex_unlock(&l->lock);
	if (n > 0)
		s->last_write_ms = now;
	return n;
}

enum MHD_Result stw__http_live_serve(struct stw__http_live *l, struct MHD_Connection *c)
{
	struct sse *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MHD_NO;
	s->l = l;
	s->conn = c;
	s->last_write_ms = stw__http_mono_ms();
	pthread_mutex_lock(&l->lock);
	int full = l->max_streams > 0 && l->open >= l->max_streams;
	if (!full)
		l->open++;
	s->seen = l->seq;
	pthread_mutex_unlock(&l->lock);
	if (full) {
		free(s);
		return stw__http_send_error(
		    c, 503, "unavailable", "too many live streams are open; try again later", NULL);
	}
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read, s, sse_free);
	if (resp == NULL) {
		sse_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	stw__http_security_headers(resp);
	enum MHD_Result r = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return r;
}

void stw__http_live_notify(struct stw__http_live *l)
{
	pthread_mutex_lock(&l->lock);
	l->seq++;
	pthread_mutex_unlock(&l->lock);
	stw__http_park_change(l->park);
}

void stw__http_live_stop(struct stw__http_live *l)
{
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_mutex_unlock(&l->lock);
}

int stw__http_live_open(struct stw__http_live *l)
{
	pthread_mutex_lock(&l->lock);
	int n = l->open;
	pthread_mutex_unlock(&l->lock);
	return n;
}
