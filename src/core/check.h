/*
 * check.h - checks of a definition's state machine that go beyond its
 * tables (check.c): reachability, ways out, transitions never taken.
 */
#ifndef STW_CHECK_H
#define STW_CHECK_H

#include "core/engine_int.h"

struct stw__def;

enum stw__severity {
	STW__ERROR,   /* the definition cannot work as written: stw_define refuses it */
	STW__WARNING, /* debatable: listed by stw_check and `steward check` only */
};

/*
 * Called once per finding with its severity, the state and transition
 * (message type) it is about (NULL when none) and a message naming the
 * definition. Returns 0 to go on, non-zero to stop.
 */
typedef int (*stw__finding_fn)(enum stw__severity sev, const char *state, const char *on,
			       const char *msg, void *ud);

/*
 * Checks a resolved definition's state machine: every state reachable from
 * a trigger (error), every active state with a way out (error; a warning when
 * its only transitions stay in it), no transition from a terminal state
 * (warning). Returns 0, what cb returned when it stopped, or -1 out of memory.
 */
int stw__check_definition(const struct stw__def *d, stw__finding_fn cb, void *ud);

/* Calls cb with a message formatted from fmt; returns what cb returns. */
int stw__finding(stw__finding_fn cb, void *ud, enum stw__severity sev, const char *state,
		 const char *on, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* STW_OK, or STW_EINVAL with the first error of stw__check_definition as e's message. */
int stw__refuse_bad_definition(struct stw_engine *e, const struct stw__def *d);

#endif /* STW_CHECK_H */
