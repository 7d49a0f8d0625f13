/*
 * outbox.h - commands written to the outbox, and outbox rows copied for
 * delivery (outbox.c).
 */
#ifndef STW_OUTBOX_H
#define STW_OUTBOX_H

#include "core/definition.h"

/*
 * Writes the n commands of transition t (payloads serialised) to the
 * outbox, inside the caller's transaction. Their ids are derived from the
 * definition, the instance, the message si->event and the index, ordered by
 * the message's time; a row whose id is stored already is kept as it is.
 */
int stw__outbox_write(struct stw_engine *e, const struct stw__def *def, int t,
		      const struct stw_step_info *si, const char *correlation,
		      char *const *payloads, int n);

/*
 * Copies an outbox row (seq, attempts and the strings of the command and of
 * the instance that sent it) into the arena; -1 when out of memory.
 */
int stw__outbox_row_copy(struct stw__arena *a, struct stw__outbox_row *dst,
			 const struct stw__outbox_row *src);

/*
 * Checks the arguments of a command a host sends or executes (stw_send,
 * stw_execute): names, ids, data an object or NULL. STW_EINVAL with a
 * message, or STW_OK.
 */
int stw__check_command(struct stw_engine *e, const char *context, const char *type, json_t *data,
		       const char *id, const char *correlation_id);

#endif /* STW_OUTBOX_H */
