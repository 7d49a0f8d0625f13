/*
 * message.h - stored event rows as struct stw_event values (message.c).
 */
#ifndef STW_MESSAGE_H
#define STW_MESSAGE_H

#include "core/engine_int.h"

/*
 * Fills ev from a stored row, parsing data and metadata (new references the
 * caller releases with stw__event_release). STW_ESTORE if stored JSON is bad.
 */
int stw__event_from_row(struct stw_engine *e, const struct stw__event_row *row,
			struct stw_event *ev);
void stw__event_release(struct stw_event *ev);

/* Hands stored rows to a public callback, parsing their JSON (stw__read_cb's ud). */
struct stw__read_ctx {
	struct stw_engine *e;
	stw_event_fn fn; /* may be NULL */
	void *ud;
	int count;            /* rows handed */
	int64_t last_version; /* stream version of the last one */
	int stopped;          /* fn asked to stop */
	int rc;               /* STW_OK, or why the last row could not be handed */
};
int stw__read_cb(const struct stw__event_row *row, void *ud);

#endif /* STW_MESSAGE_H */
