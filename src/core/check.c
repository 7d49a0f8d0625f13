/*
 * check.c - what can be known about a definition before it runs (check.h):
 * states no instance can reach, active states no instance can leave,
 * transitions that are never taken. stw_define refuses a definition with an
 * error; stw_check (audit.c) lists every finding, warnings included.
 */
#include "core/check.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/definition.h"

int stw__finding(stw__finding_fn cb, void *ud, enum stw__severity sev, const char *state,
		 const char *on, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cb(sev, state, on, msg, ud);
}

/* The state an instance is in after transition t (its target, or where it was). */
static int after(const struct stw__def *d, int t)
{
	return d->to[t] >= 0 ? d->to[t] : d->from[t];
}

/*
 * Marks in `reached` the states an instance can be in: the targets of the
 * triggers, what transitions lead to from there, and the acknowledgement
 * state once a failure or manual state is reachable (a person's
 * acknowledgement moves the instance there).
 */
static void reachable(const struct stw__def *d, char *reached)
{
	const struct stw_state_def *st = d->d->states;
	for (int t = 0; t < d->ntransitions; t++)
		if (d->from[t] < 0 && d->to[t] >= 0)
			reached[d->to[t]] = 1;
	for (int changed = 1; changed;) {
		changed = 0;
		for (int t = 0; t < d->ntransitions; t++) {
			int to = d->to[t];
			if (d->from[t] >= 0 && reached[d->from[t]] && to >= 0 && !reached[to])
				reached[to] = changed = 1;
		}
		for (int s = 0; s < d->nstates && d->ack_state >= 0 && !reached[d->ack_state]; s++)
			if (reached[s] && stw__failure_kind(st[s].kind))
				reached[d->ack_state] = changed = 1;
	}
}

/* 1 if the state has a transition out (to another state), or a timer armed on entering it. */
static int way_out(const struct stw__def *d, int s, int *self_only)
{
	int any = 0;
	*self_only = 0;
	for (int t = 0; t < d->ntransitions; t++) {
		if (d->from[t] != s)
			continue;
		any = 1;
		if (d->to[t] >= 0 && d->to[t] != s)
			return 1;
	}
	*self_only = any;
	for (int t = 0; t < d->ntransitions; t++) {
		const struct stw_timer_def *tm = d->d->transitions[t].timers;
		if (tm != NULL && tm->message != NULL && after(d, t) == s)
			return 1; /* its transition leads on: the timer check made sure of it */
	}
	return 0;
}

int stw__check_definition(const struct stw__def *d, stw__finding_fn cb, void *ud)
{
	if (d->nstates == 0)
		return 0; /* a stateless policy: every transition is a trigger */
	const struct stw_state_def *st = d->d->states;
	const char *name = d->d->name;
	char *reached = calloc((size_t)d->nstates, 1);
	if (reached == NULL)
		return -1;
	reachable(d, reached);
	int rc = 0;
	for (int s = 0; s < d->nstates && rc == 0; s++) {
		int self_only;
		if (!reached[s])
			rc =
			    stw__finding(cb, ud, STW__ERROR, st[s].name, NULL,
					 "definition %s: state %s cannot be reached from a trigger",
					 name, st[s].name);
		else if (st[s].kind == STW_STATE_ACTIVE && !way_out(d, s, &self_only))
			rc = stw__finding(
			    cb, ud, self_only ? STW__WARNING : STW__ERROR, st[s].name, NULL,
			    self_only
				? "definition %s: active state %s is never left: its "
				  "transitions stay in it and no timer is armed on entering it"
				: "definition %s: active state %s has no way out (no "
				  "transition from it, no timer armed on entering it); mark it "
				  "terminal, failure or manual if it ends the process",
			    name, st[s].name);
	}
	for (int t = 0; t < d->ntransitions && rc == 0; t++) {
		int from = d->from[t];
		if (from >= 0 && st[from].kind == STW_STATE_TERMINAL)
			rc = stw__finding(
			    cb, ud, STW__WARNING, st[from].name, d->d->transitions[t].on,
			    "definition %s: the transition from %s on %s is never taken: %s "
			    "is terminal",
			    name, st[from].name, d->d->transitions[t].on, st[from].name);
	}
	free(reached);
	return rc;
}

/* stw_define's callback: the first error fails the registration with its message. */
static int first_error(enum stw__severity sev, const char *state, const char *on, const char *msg,
		       void *ud)
{
	(void)state;
	(void)on;
	if (sev != STW__ERROR)
		return 0;
	struct stw_engine *e = ud;
	stw__fail(e, STW_EINVAL, "%s", msg);
	return 1;
}

int stw__refuse_bad_definition(struct stw_engine *e, const struct stw__def *d)
{
	int rc = stw__check_definition(d, first_error, e);
	if (rc < 0)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	return rc == 0 ? STW_OK : STW_EINVAL;
}
