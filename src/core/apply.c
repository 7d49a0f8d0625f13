/*
 * apply.c - one message applied to one instance: the decision and the plan
 * of machine.c made real inside the caller's transaction. The instance's new
 * state and status, its history row, the commands written to the outbox and
 * the timers armed for the state it enters. Shared by the steps of events
 * and timers, by the rejections of commands and by a person's retry.
 */
#include "core/apply.h"
#include "core/machine.h"
#include "core/outbox.h"

#include <stdio.h>
#include <string.h>

/* Writes the planned timers of transition td for the instance's current state epoch. */
static int arm_timers(struct stw_engine *e, const struct stw__def *def,
		      const struct stw_transition_def *td, const struct stw__inst *in,
		      const struct stw_event *ev, const struct stw__plan *p)
{
	int64_t now = stw__now(e);
	for (int i = 0; i < p->ntimers; i++) {
		char id[33];
		const char *parts[4] = { "timer", def->d->name, in->id, ev->id };
		stw__derive_id(id, -1, parts, 4, i);
		struct stw__timer_row row = {
			.id = id,
			.definition = def->d->name,
			.instance_id = in->id,
			.message_type = td->timers[i].message,
			.due_at = p->due[i],
			.entered_version = in->entered_version,
			.armed_by = ev->id,
			.created_at = now,
		};
		int rc = STW__S(e->store, timer_insert, &row);
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "arming a timer");
		e->stats.timers_armed++;
	}
	return STW_OK;
}

/* The step info a transition's callbacks see. */
static struct stw_step_info step_info(const struct stw__def *def, const struct stw__inst *in,
				      int from, int to, const struct stw_event *ev)
{
	return (struct stw_step_info){
		.definition = def->d->name,
		.instance_id = in->id,
		.from = stw__state_name(def, from),
		.to = stw__state_name(def, to),
		.data = in->data,
		.event = ev,
		.ud = def->d->ud,
	};
}

/*
 * A stored instance whose data is not a JSON object cannot take ev: it fails
 * with the reason (its data kept as stored) and ev is recorded, so the batch
 * goes on for every other instance.
 */
static int bad_data(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
		    const struct stw_event *ev)
{
	char why[STW_MAX_NOTE];
	stw__copy(why, sizeof(why), e->errmsg);
	stw__log(e, STW_LOG_ERROR, "%s: %s not delivered to it: %s", def->d->name, ev->type, why);
	const char *cur = stw__state_name(def, in->state);
	stw__inst_fail(e, in, why);
	int rc = stw__history_write(e, def, in->id, ev, cur, cur, STW__O_FAILED, why);
	return rc == STW_OK ? stw__inst_save(e, def, in) : rc;
}

int stw__apply(struct stw_engine *e, const struct stw__def *def, int t, struct stw__inst *in,
	       const struct stw_event *ev)
{
	const struct stw_transition_def *td = &def->d->transitions[t];
	if (stw__uses_data(td)) {
		int rc = stw__inst_data(e, def, in);
		if (rc == STW_ESTORE && in->version > 0)
			return bad_data(e, def, in, ev);
		if (rc != STW_OK)
			return rc;
	}
	int from = in->version == 0 ? -1 : in->state;
	int to = def->to[t] >= 0 ? def->to[t] : from;
	struct stw_step_info si = step_info(def, in, from, to, ev);
	struct stw__plan p;
	int rc = stw__plan(def, t, from, in->status, &si, 1, stw__now(e), &p);
	if (rc != STW_OK) {
		stw__plan_free(&p);
		return stw__fail(e, rc, "out of memory");
	}
	if (p.why[0] != '\0') {
		/* A callback failed: the process cannot go on by itself. */
		if (in->version == 0)
			in->state = to;
		stw__inst_fail(e, in, p.why);
		rc = stw__history_write(e, def, in->id, ev, si.from, si.from ? si.from : si.to,
					STW__O_FAILED, p.why);
	} else {
		rc = stw__outbox_write(e, def, t, &si, in->id, p.payloads, p.ncommands);
		/* Entering a state (not staying) starts a new epoch: the timers of
		 * the state left no longer apply. */
		if (in->version == 0 || to != from)
			in->entered_version = in->version + 1;
		in->state = to;
		if (rc == STW_OK)
			rc = arm_timers(e, def, td, in, ev, &p);
		if (rc == STW_OK) {
			if (p.status == STW__I_FAILED)
				stw__inst_fail(e, in, p.reason);
			else
				in->status = p.status;
			e->stats.steps++;
			rc = stw__history_write(e, def, in->id, ev, si.from, si.to, STW__O_APPLIED,
						NULL);
		}
	}
	stw__plan_free(&p);
	if (rc == STW_OK)
		rc = stw__inst_save(e, def, in);
	return rc;
}

int stw__deliver(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
		 const struct stw_event *ev, const char *unaccepted)
{
	const struct stw_definition *d = def->d;
	const char *id = in->id;
	int rc;
	/* The history's unique index recognises a message handled before when its
	 * row is inserted (stw__history_write): the batch is then redone
	 * carefully, with this probe before each message. Redeliveries are rare
	 * (a cursor set back by a person), so the common path spends no
	 * statement on it. */
	if (e->icache == NULL || e->icache->careful) {
		rc = STW__S(e->store, history_has, d->name, id, ev->id);
		if (rc == STW_OK) {
			e->stats.duplicates++;
			return STW_OK;
		}
		if (rc != STW_ENOTFOUND)
			return stw__store_fail(e, rc, "checking history");
	}
	const char *cur = stw__state_name(def, in->state);
	struct stw__verdict v;
	stw__judge(def, in->state, in->status, ev->type, &v);
	switch (v.fate) {
	case STW__FATE_IGNORE:
		return stw__history_write(e, def, id, ev, cur, cur, STW__O_IGNORED, v.why);
	case STW__FATE_FAIL: {
		const char *why = unaccepted != NULL ? unaccepted : v.why;
		stw__inst_fail(e, in, why);
		rc = stw__history_write(e, def, id, ev, cur, cur, STW__O_FAILED, why);
		return rc == STW_OK ? stw__inst_save(e, def, in) : rc;
	}
	case STW__FATE_APPLY:
	default:
		return stw__apply(e, def, v.transition, in, ev);
	}
}

int stw__reenter(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in, int state,
		 const struct stw_event *ev, const char *note)
{
	int rc = stw__inst_data(e, def, in);
	if (rc != STW_OK)
		return rc;
	/* The state's work (the first transition entering it), done again. */
	int t = stw__entering_transition(def, state);
	int from = in->state;
	struct stw_step_info si = step_info(def, in, from, state, ev);
	struct stw__plan p = { .ntimers = 0 };
	if (t >= 0 &&
	    (rc = stw__plan(def, t, from, STW__I_ACTIVE, &si, 0, stw__now(e), &p)) != STW_OK) {
		stw__plan_free(&p);
		return stw__fail(e, rc, "out of memory");
	}
	if (p.why[0] != '\0')
		rc = stw__fail(e, STW_EINVAL, "cannot retry %s from %s: %s", in->id, si.to, p.why);
	if (rc == STW_OK && t >= 0)
		rc = stw__outbox_write(e, def, t, &si, in->id, p.payloads, p.ncommands);
	if (rc == STW_OK) {
		in->status = STW__I_ACTIVE;
		in->reason = NULL;
		in->state = state;
		in->entered_version = in->version + 1; /* a new epoch: old timers are void */
		if (t >= 0)
			rc = arm_timers(e, def, &def->d->transitions[t], in, ev, &p);
	}
	stw__plan_free(&p);
	if (rc == STW_OK)
		rc = stw__history_write(e, def, in->id, ev, si.from, si.to, STW__O_RETRIED, note);
	if (rc == STW_OK)
		rc = stw__inst_save(e, def, in);
	return rc;
}
