/*
 * live.c - live updates (live.h): the server-sent events of /api/stream
 * and the change counter they wait on.
 */
#include "http/live.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http/response.h"

#define SSE_MIN_GAP_MS   100
#define SSE_HEARTBEAT_MS 15000

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void stw__http_live_init(struct stw__http_live *l)
{
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->changed, NULL);
	l->seq = 0;
	l->stopping = 0;
}

void stw__http_live_destroy(struct stw__http_live *l)
{
	pthread_cond_destroy(&l->changed);
	pthread_mutex_destroy(&l->lock);
}

struct sse {
	struct stw__http_live *l;
	uint64_t seen;
	int64_t last_sent_ms;
	int started;
};

static void sse_free(void *cls)
{
	free(cls);
}

static void deadline_in(struct timespec *ts, int64_t ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * Produces the event stream: blocks (this connection has its own thread)
 * until a change, a heartbeat, or shutdown.
 */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct sse *s = cls;
	struct stw__http_live *l = s->l;
	if (!s->started) {
		s->started = 1;
		return snprintf(buf, max, "retry: 2000\n\n");
	}
	/* Coalesce bursts: at most one change event per SSE_MIN_GAP_MS. */
	int64_t wait = s->last_sent_ms + SSE_MIN_GAP_MS - mono_ms();
	if (wait > 0) {
		struct timespec ts = { 0, (long)wait * 1000000L };
		nanosleep(&ts, NULL);
	}
	pthread_mutex_lock(&l->lock);
	struct timespec deadline;
	deadline_in(&deadline, SSE_HEARTBEAT_MS);
	int timed_out = 0;
	while (!l->stopping && l->seq == s->seen && !timed_out)
		timed_out = pthread_cond_timedwait(&l->changed, &l->lock, &deadline) == ETIMEDOUT;
	uint64_t seq = l->seq;
	int stopping = l->stopping;
	pthread_mutex_unlock(&l->lock);
	if (stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (seq == s->seen)
		return snprintf(buf, max, ": keep-alive\n\n");
	s->seen = seq;
	s->last_sent_ms = mono_ms();
	return snprintf(buf, max, "event: change\ndata: {\"seq\":%llu}\n\n",
			(unsigned long long)seq);
}

enum MHD_Result stw__http_live_serve(struct stw__http_live *l, struct MHD_Connection *c)
{
	struct sse *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MHD_NO;
	s->l = l;
	pthread_mutex_lock(&l->lock);
	s->seen = l->seq;
	pthread_mutex_unlock(&l->lock);
	struct MHD_Response *resp =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, sse_read, s, sse_free);
	if (resp == NULL) {
		free(s);
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
	pthread_cond_broadcast(&l->changed);
	pthread_mutex_unlock(&l->lock);
}

void stw__http_live_stop(struct stw__http_live *l)
{
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_cond_broadcast(&l->changed);
	pthread_mutex_unlock(&l->lock);
}
