/*
 * events.h - appending to the logs inside a transaction the caller holds
 * (events.c).
 */
#ifndef STW_EVENTS_H
#define STW_EVENTS_H

#include "core/engine_int.h"

/*
 * Appends events inside the caller's transaction (see stw_append for the
 * rules). The caller begins and commits. `given`: the events' data are the
 * engine's from now on (a service's emit: nobody changes them after), so the
 * stream cache may keep them as they are instead of parsing their text.
 */
int stw__append_in_txn(struct stw_engine *e, const char *context, int64_t expected_version,
		       const struct stw_event *events, size_t n, int64_t *positions, int given);

#endif /* STW_EVENTS_H */
