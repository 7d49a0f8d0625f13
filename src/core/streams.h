/*
 * streams.h - reading one stream, through the cache of recently read
 * streams (streams.c).
 */
#ifndef STW_STREAMS_H
#define STW_STREAMS_H

#include "core/engine_int.h"

/* The cache, holding up to `budget` bytes of event text (0: none). */
struct stw__streams;
int stw__streams_open(struct stw__streams **out, size_t budget);
void stw__streams_close(struct stw__streams *c);

/*
 * Adds an event just appended (row complete with position and version) to
 * its cached stream. data: the event's data, which the cache may keep (it
 * takes a reference; nobody may change them after), or NULL: row->data is
 * parsed.
 */
void stw__streams_appended(struct stw_engine *e, const struct stw__event_row *row, json_t *data);

/*
 * The version of a stream when the cache knows it for sure (1, *version set):
 * its entry holds the whole stream, no other connection has committed since,
 * and nothing was rolled back. 0: ask the store.
 */
int stw__streams_version(struct stw_engine *e, const char *context, const char *stream,
			 int64_t *version);

/* Reads a stream through the public callback (stw_read_stream, stw_svc_read_stream). */
int stw__read_stream(struct stw_engine *e, const char *context, const char *stream, stw_event_fn fn,
		     void *ud, int64_t *version);

#endif /* STW_STREAMS_H */
