/*
 * apply.h - one message applied to one instance, inside the caller's
 * transaction (apply.c).
 */
#ifndef STW_APPLY_H
#define STW_APPLY_H

#include "core/instance.h"

/*
 * Applies transition t to instance in (loaded, or new with its status set)
 * for message ev: the plan of machine.c (callbacks), then the commands, the
 * timers, the new state and status, the history row and the save. A failing
 * callback fails the instance instead, with nothing else written.
 */
int stw__apply(struct stw_engine *e, const struct stw__def *def, int t, struct stw__inst *in,
	       const struct stw_event *ev);

/*
 * Delivers a message to a loaded instance: skips a message it handled
 * before (on a careful pass), records what an ended or halted instance
 * ignores, fails the instance on a message its state does not accept (with
 * `unaccepted` as the reason, or NULL: "X is not accepted in state S"), else
 * applies the transition. Shared by events, timers and rejected commands.
 */
int stw__deliver(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
		 const struct stw_event *ev, const char *unaccepted);

/*
 * A person's retry: makes the failed instance in active in `state` with a
 * new state epoch, doing the state's work again (the commands and timers of
 * the first transition entering it), for message ev; the history row keeps
 * `note`. STW_EINVAL when a callback fails (nothing written).
 */
int stw__reenter(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in, int state,
		 const struct stw_event *ev, const char *note);

#endif /* STW_APPLY_H */
