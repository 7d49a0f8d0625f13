/*
 * machine.c - the transition table as pure functions: which transition a
 * message takes, what becomes of an instance that has none, and what a
 * transition produces. Nothing here reads or writes the store or the clock;
 * apply.c writes what a plan says.
 */
#include "core/machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int stw__find_transition(const struct stw__def *def, int from, const char *type)
{
	for (int i = 0; i < def->ntransitions; i++)
		if (def->from[i] == from && strcmp(def->d->transitions[i].on, type) == 0)
			return i;
	return -1;
}

int stw__entering_transition(const struct stw__def *def, int state)
{
	for (int i = 0; i < def->ntransitions; i++)
		if (def->to[i] == state)
			return i;
	return -1;
}

int stw__handles_type(const struct stw__def *def, const char *type)
{
	for (int i = 0; i < def->ntransitions; i++)
		if (strcmp(def->d->transitions[i].on, type) == 0)
			return 1;
	return 0;
}

int stw__is_timer_message(const struct stw__def *def, const char *type)
{
	for (int i = 0; def->ntimers > 0 && i < def->ntransitions; i++)
		for (const struct stw_timer_def *tm = def->d->transitions[i].timers;
		     tm != NULL && tm->message != NULL; tm++)
			if (strcmp(tm->message, type) == 0)
				return 1;
	return 0;
}

void stw__judge(const struct stw__def *def, int state, enum stw__istatus status, const char *type,
		struct stw__verdict *v)
{
	const char *cur = stw__state_name(def, state);
	int t = stw__find_transition(def, state, type);
	int failed = status == STW__I_FAILED;
	int halted = failed && !stw__failure_kind(def->d->states[state].kind);
	v->transition = t;
	v->why[0] = '\0';
	if (!failed && status != STW__I_ACTIVE) {
		/* Ended instances keep their state; the message is recorded. */
		v->fate = STW__FATE_IGNORE;
		snprintf(v->why, sizeof(v->why), "instance is %s", stw__istatus_word(status));
	} else if (halted) {
		/* Recorded without a second failure. */
		v->fate = STW__FATE_IGNORE;
		snprintf(v->why, sizeof(v->why), "instance failed in state %s", cur);
	} else if (t < 0) {
		/* A failed instance on its failure path stays failed once; an
		 * active one fails. */
		v->fate = failed ? STW__FATE_IGNORE : STW__FATE_FAIL;
		snprintf(v->why, sizeof(v->why), "%s is not accepted in state %s", type, cur);
	} else {
		v->fate = STW__FATE_APPLY;
	}
}

int stw__uses_data(const struct stw_transition_def *td)
{
	if (td->update != NULL || (td->commands != NULL && td->commands[0].context != NULL))
		return 1;
	for (int i = 0; td->timers != NULL && td->timers[i].message != NULL; i++)
		if (td->timers[i].due != NULL)
			return 1;
	return 0;
}

/* The due times of a transition's timers; sets p->why when a callback fails. */
static void plan_timers(const struct stw_transition_def *td, const struct stw_step_info *si,
			int64_t now, struct stw__plan *p)
{
	for (int i = 0; td->timers != NULL && td->timers[i].message != NULL; i++) {
		const struct stw_timer_def *tm = &td->timers[i];
		p->due[i] = now + tm->delay_ms;
		p->ntimers = i + 1;
		if (tm->due != NULL) {
			int cb = tm->due(si, &p->due[i]);
			if (cb != STW_OK) {
				snprintf(p->why, sizeof(p->why), "due time of timer %s failed (%s)",
					 tm->message, stw_strerror(cb));
				return;
			}
		}
	}
}

/*
 * The serialised payloads of a transition's commands: each command's
 * payload callback, or a copy of the data. Sets p->why when a callback fails
 * or a payload is too large.
 */
static int plan_commands(const struct stw_transition_def *td, struct stw_step_info *si,
			 struct stw__plan *p)
{
	const struct stw_command_def *cmds = td->commands;
	int n = 0;
	while (cmds != NULL && cmds[n].context != NULL)
		n++;
	if (n == 0)
		return STW_OK;
	if ((p->payloads = calloc((size_t)n, sizeof(char *))) == NULL)
		return STW_ENOMEM;
	p->ncommands = n;
	for (int i = 0; i < n; i++) {
		json_t *v = NULL;
		si->command_index = i;
		if (cmds[i].payload != NULL) {
			int cb = cmds[i].payload(si, &v);
			if (cb != STW_OK || !json_is_object(v)) {
				snprintf(p->why, sizeof(p->why), "payload of %s.%s failed (%s)",
					 cmds[i].context, cmds[i].type,
					 cb != STW_OK ? stw_strerror(cb) : "not a JSON object");
				json_decref(v);
				return STW_OK;
			}
		} else if ((v = json_deep_copy(si->data)) == NULL) {
			return STW_ENOMEM;
		}
		p->payloads[i] = json_dumps(v, JSON_COMPACT);
		json_decref(v);
		if (p->payloads[i] == NULL)
			return STW_ENOMEM;
		if (strlen(p->payloads[i]) > STW_MAX_JSON) {
			snprintf(p->why, sizeof(p->why), "payload of %s.%s is larger than %d bytes",
				 cmds[i].context, cmds[i].type, STW_MAX_JSON);
			return STW_OK;
		}
	}
	return STW_OK;
}

/* The status a transition into state `to` leaves, with the reason of a failure. */
static void plan_status(const struct stw__def *def, int to, const struct stw_event *ev,
			struct stw__plan *p)
{
	enum stw_state_kind kind = def->d->states[to].kind;
	if (kind == STW_STATE_TERMINAL && p->status == STW__I_ACTIVE) {
		p->status = STW__I_COMPLETED;
	} else if (stw__failure_kind(kind)) {
		/* The message's own reason, when it has one, says the most. */
		const char *why = stw_event_str(ev, "reason");
		if (why != NULL)
			snprintf(p->reason, sizeof(p->reason), "%s: %.300s", ev->type, why);
		else
			snprintf(p->reason, sizeof(p->reason), "%s led to failure state %s",
				 ev->type, def->d->states[to].name);
		p->status = STW__I_FAILED;
	}
}

int stw__plan(const struct stw__def *def, int t, int from, enum stw__istatus status,
	      struct stw_step_info *si, int run_update, int64_t now, struct stw__plan *p)
{
	const struct stw_transition_def *td = &def->d->transitions[t];
	memset(p, 0, sizeof(*p));
	p->from = from;
	p->to = def->to[t] >= 0 ? def->to[t] : from;
	p->status = status;
	if (run_update && td->update != NULL) {
		int cb = td->update(si);
		if (cb != STW_OK) {
			snprintf(p->why, sizeof(p->why), "update callback on %s failed (%s)",
				 si->event->type, stw_strerror(cb));
			return STW_OK;
		}
	}
	plan_timers(td, si, now, p);
	if (p->why[0] != '\0')
		return STW_OK;
	int rc = plan_commands(td, si, p);
	if (rc != STW_OK || p->why[0] != '\0')
		return rc;
	if (def->nstates > 0 && p->to >= 0)
		plan_status(def, p->to, si->event, p);
	return STW_OK;
}

void stw__plan_free(struct stw__plan *p)
{
	for (int i = 0; i < p->ncommands; i++)
		free(p->payloads[i]);
	free(p->payloads);
	p->payloads = NULL;
	p->ncommands = 0;
}
