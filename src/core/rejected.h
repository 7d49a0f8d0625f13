/*
 * rejected.h - a rejected command told to the instance that sent it
 * (rejected.c).
 */
#ifndef STW_REJECTED_H
#define STW_REJECTED_H

#include "core/definition.h"

/*
 * Tells the instance that sent the command of outbox row `row` that its
 * service rejected it for `reason`, inside the caller's transaction (the
 * one that records the rejection): a message of type STW_COMMAND_REJECTED
 * with data {command_id, command_type, context, reason} is delivered to
 * the instance as events and timers are (apply.c). Its id derives from the
 * command id, so a rejection told again (a redelivered command rejected
 * again) is a duplicate and changes nothing. Without a transition for it in
 * the instance's state, the instance fails with the reason; an ended
 * instance records it as ignored. A command no instance sent (a policy's, a
 * periodic process's, a host's) has no one to tell, and neither has one whose
 * definition is not registered on this engine (logged). STW_OK, or the
 * store's or memory's failure.
 */
int stw__tell_rejection(struct stw_engine *e, const struct stw__outbox_row *row,
			const char *reason);

#endif /* STW_REJECTED_H */
