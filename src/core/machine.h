/*
 * machine.h - the transition table as pure functions (machine.c): what a
 * message does to an instance in a state, and what a transition produces
 * (the new state and status, the payloads of its commands, the due times of
 * its timers), with the definition's callbacks run on values in memory. No
 * store, no clock: the caller gives the time and writes the results.
 */
#ifndef STW_MACHINE_H
#define STW_MACHINE_H

#include "core/definition.h"

/* The transition of `def` from state `from` (-1: a trigger) on `type`, or -1. */
int stw__find_transition(const struct stw__def *def, int from, const char *type);

/*
 * The first transition of `def`'s table that enters state index `state`
 * (its commands and timers are the state's work: a retry and a migration
 * do them again), or -1.
 */
int stw__entering_transition(const struct stw__def *def, int state);

/* 1 if some transition of `def` is on `type`. */
int stw__handles_type(const struct stw__def *def, const char *type);

/* 1 if `type` is the message of a timer the definition arms. */
int stw__is_timer_message(const struct stw__def *def, const char *type);

/* 1 if a transition hands the instance data to a callback or copies it into a command. */
int stw__uses_data(const struct stw_transition_def *td);

/* What a message does at an instance. */
enum stw__fate {
	STW__FATE_APPLY,  /* transition `transition` applies */
	STW__FATE_IGNORE, /* recorded and ignored: the instance ended, or halted after a failure */
	STW__FATE_FAIL,   /* not accepted in its state: the instance fails */
};

struct stw__verdict {
	enum stw__fate fate;
	int transition;                  /* STW__FATE_APPLY: the transition's index */
	char why[2 * STW_MAX_NAME + 64]; /* IGNORE and FAIL: the reason recorded */
};

/*
 * Judges message `type` at an existing instance in state `state` with
 * `status`. A failure state is a designed path and keeps following the
 * table; an instance that failed anywhere else (an unexpected message, a
 * failing callback) halts until a person acts.
 */
void stw__judge(const struct stw__def *def, int state, enum stw__istatus status, const char *type,
		struct stw__verdict *v);

/* What a transition produces, before anything is written. */
struct stw__plan {
	int from, to; /* state indexes (from -1: a new instance; both -1 for a policy) */
	/* Non-empty: a callback failed; nothing below applies. */
	char why[512];
	int ncommands;
	char **payloads; /* ncommands serialised command payloads (malloc'ed) */
	int ntimers;
	int64_t due[STW__MAX_TIMERS]; /* due times of the transition's timers */
	enum stw__istatus status;     /* the status after it */
	char reason[512];             /* when the status becomes failed here: why */
};

/*
 * Plans transition t for the instance or message in si (si->data is the
 * instance's data, or the event's for a policy; si->event the message),
 * from state `from` with `status`, at time `now`: runs the update callback
 * (when run_update), the timers' due-time callbacks and the commands'
 * payload callbacks, all before anything is written, so that a failing
 * callback leaves nothing behind. STW_OK (with p->why set if a callback
 * failed) or STW_ENOMEM. Release with stw__plan_free.
 */
int stw__plan(const struct stw__def *def, int t, int from, enum stw__istatus status,
	      struct stw_step_info *si, int run_update, int64_t now, struct stw__plan *p);
void stw__plan_free(struct stw__plan *p);

#endif /* STW_MACHINE_H */
