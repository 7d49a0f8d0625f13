/*
 * round.c - the engine's run loop: one round (stw_run_once) runs the due
 * periodic processes, fires the due timers, steps every definition's
 * sources and delivers the commands of in-process services (parking those
 * of contexts nobody here serves), as one transaction while it is small;
 * then delivers to remote services. Also when the next round is due for a
 * timer (stw_next_timer).
 */
#include "core/definition.h"
#include "core/dispatch.h"
#include "core/periodic.h"
#include "core/step.h"
#include "core/timers.h"
#include "core/txn.h"

/* Passes of steps and deliveries in one round (see round_work). */
#define STW__ROUND_PASSES 8

/*
 * The messages and commands a small round's transaction may take: past that
 * a sync more costs little next to the work, and what the round did first
 * would wait for the rest to be durable.
 */
static int round_share(const struct stw_engine *e)
{
	return e->batch_size >= 16 ? e->batch_size / 16 : 1;
}

/*
 * Commits the round's transaction, with the instances it staged (stage.h).
 * A version conflict found as they are written (another writer changed one
 * since the round loaded it: a store with concurrent writers) undoes the
 * whole transaction, as one found in a step undoes the step: the next round
 * does its work again.
 */
static int round_commit(struct stw_engine *e)
{
	int rc = stw__txn_close(e, 1);
	if (rc != STW_ECONFLICT)
		return rc;
	stw__log(e, STW_LOG_INFO, "version conflict at the round's commit, retrying: %s",
		 e->errmsg);
	return STW_OK;
}

/*
 * Called after each part of a round with the work done so far: once the
 * round's transaction has taken its budget (of messages and commands, or
 * half the savepoints the store allows one transaction), or another engine
 * waits for the write lock (stw__txn_yield), it is committed and the parts
 * left commit on their own, with full batches (see stw_run_once).
 */
static int round_grew(struct stw_engine *e, int total)
{
	if (e->txn != STW__TXN_ROUND)
		return STW_OK;
	e->round_budget = round_share(e) - total;
	/* Half the store's savepoints spent: the parts left take theirs afresh. */
	int spent =
	    e->store->max_savepoints > 0 && stw__savepoint_room(e) < e->store->max_savepoints / 2;
	if (e->round_budget > 0 && !spent && !stw__txn_yield(e))
		return STW_OK;
	e->round_budget = 0;
	return round_commit(e);
}

/*
 * Steps, then deliveries; again while the deliveries gave in-process
 * services something to do, since the events they appended are the next
 * steps' input: a process whose services are all in process goes through
 * several hops in one round and one sync. The passes are bounded so that a
 * process and a service answering each other forever still let the round
 * end. *total counts the work.
 */
static int steps_and_deliveries(struct stw_engine *e, int *total)
{
	for (int pass = 0; pass < STW__ROUND_PASSES; pass++) {
		for (size_t i = 0; i < e->ndefs; i++) {
			const struct stw__def *def = &e->defs[i];
			for (int s = 0; def->newest && s < def->nsources; s++) {
				int n = 0;
				int rc = stw__step_batch(e, def, def->d->sources[s], &n);
				if (rc == STW_OK)
					rc = round_grew(e, *total += n);
				if (rc != STW_OK)
					return rc;
			}
		}
		int delivered = 0;
		int rc = stw__dispatch(e, &delivered);
		if (rc == STW_OK)
			rc = round_grew(e, *total += delivered);
		if (rc != STW_OK || delivered == 0)
			return rc;
	}
	return STW_OK;
}

/* The round's work; *total counts it. */
static int round_work(struct stw_engine *e, int *total)
{
	for (size_t i = 0; i < e->nperiodics; i++) {
		int ran = 0;
		int rc = stw__run_periodic(e, &e->periodics[i], &ran);
		if (rc == STW_OK)
			rc = round_grew(e, *total += ran);
		if (rc != STW_OK)
			return rc;
	}
	for (size_t i = 0; i < e->ndefs; i++) {
		int fired = 0;
		if (!e->defs[i].newest)
			continue; /* the newest fires the timers of every version */
		int rc = stw__fire_timers(e, &e->defs[i], &fired);
		if (rc == STW_OK)
			rc = round_grew(e, *total += fired);
		if (rc != STW_OK)
			return rc;
	}
	/* Steps and deliveries; then the commands nobody here can deliver are
	 * parked, in the same transaction as the steps that wrote them. */
	int rc = steps_and_deliveries(e, total);
	int parked = 0;
	if (rc == STW_OK && (rc = stw__park_unserved(e, &parked)) == STW_OK)
		rc = round_grew(e, *total += parked);
	return rc;
}

STW_API int stw_run_once(struct stw_engine *e, int *did_work)
{
	if (did_work != NULL)
		*did_work = 0;
	STW__ENTER(e, STW__CALL_WRITE);
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE,
				 "a transaction is open (stw_begin): commit or roll it back first");
	/*
	 * A small round is one transaction: its steps, timers and deliveries are
	 * nested levels of it and reach the disk with one sync, and a part that
	 * fails undoes only itself. Its batches share a budget of a sixteenth of
	 * batch_size, so that what it did first is not held back long by what
	 * comes after; once the budget is spent, the transaction commits and the
	 * parts left commit on their own. A round that follows a large one is
	 * expected to be large too and runs that way from the start: its syncs
	 * are few for its work, while a nested level costs a copy of every page
	 * it changes (SQLite's statement journal), and its batches are full.
	 */
	int total = 0, rc = STW_OK;
	if (e->last_round_work < round_share(e)) {
		if ((rc = stw__txn_open(e, STW__TXN_ROUND)) != STW_OK)
			return rc;
		e->round_budget = round_share(e);
	}
	rc = round_work(e, &total);
	e->round_budget = 0;
	e->last_round_work = total;
	if (rc != STW_OK) {
		if (e->txn == STW__TXN_ROUND) {
			/* What the other parts did is committed all the same. */
			char why[sizeof(e->errmsg)];
			stw__copy(why, sizeof(why), e->errmsg);
			stw__txn_close(e, 1);
			stw__copy(e->errmsg, sizeof(e->errmsg), why);
		}
		return rc;
	}
	stw__failpoint(e, "round.before_commit");
	if (e->txn == STW__TXN_ROUND && (rc = round_commit(e)) != STW_OK)
		return rc;
	if (!e->separate_remote) {
		/* Outside the round: a slow remote service never holds the write lock. */
		int delivered = 0;
		if ((rc = stw_deliver_remote(e, &delivered)) != STW_OK)
			return rc;
		total += delivered;
	}
	if (did_work != NULL)
		*did_work = total;
	return STW_OK;
}

STW_API int stw_run_until_idle(struct stw_engine *e)
{
	for (;;) {
		int did = 0;
		int rc = stw_run_once(e, &did);
		if (rc != STW_OK)
			return rc;
		if (did == 0)
			return STW_OK;
	}
}

STW_API int stw_next_timer(struct stw_engine *e, int64_t *due_ms)
{
	STW__ENTER(e, STW__CALL_READ);
	if (due_ms == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the time");
	int found = 0;
	for (size_t i = 0; i < e->ndefs; i++) {
		if (!e->defs[i].newest || e->defs[i].name_timers == 0)
			continue;
		int64_t due = 0;
		int rc = STW__S(e->store, timer_next, e->defs[i].d->name, &due);
		if (rc == STW_ENOTFOUND)
			continue;
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "finding the next timer");
		if (!found || due < *due_ms)
			*due_ms = due;
		found = 1;
	}
	return found ? STW_OK : STW_ENOTFOUND;
}
