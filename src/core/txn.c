/*
 * txn.c - the transaction the engine's own transactions run inside of: the
 * host's (stw_begin) or the round's (stw_run_once). Inside one, each step or
 * delivery is a nested level; what it reports to the observer is held until
 * the outer transaction commits (and dropped if it rolls back), and commits
 * are counted once per outer transaction.
 */
#include "core/txn.h"
#include "core/gate.h"
#include "core/stage.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void stw__report(struct stw_engine *e, struct stw_activity *a, int64_t started)
{
	if (e->observer == NULL)
		return;
	if (e->txn == STW__TXN_NONE) {
		a->duration_us = stw__mono_us() - started;
		e->observer(a, e->observer_ud);
		return;
	}
	/* Not durable yet: held until the outer commit, with copies of what it borrows. */
	if (e->nheld == e->held_cap) {
		size_t cap = e->held_cap ? e->held_cap * 2 : 16;
		struct stw__held *h = realloc(e->held, cap * sizeof(*h));
		if (h == NULL) {
			stw__log(e, STW_LOG_WARN, "out of memory: an observation is dropped");
			return;
		}
		e->held = h;
		e->held_cap = cap;
	}
	struct stw__held *h = &e->held[e->nheld];
	h->a = *a;
	h->started = started;
	h->lateness = NULL;
	stw__copy(h->definition, sizeof(h->definition), a->definition ? a->definition : "");
	stw__copy(h->context, sizeof(h->context), a->context ? a->context : "");
	if (a->lateness_ms != NULL && a->count > 0) {
		h->lateness = malloc(sizeof(int64_t) * (size_t)a->count);
		if (h->lateness == NULL) {
			stw__log(e, STW_LOG_WARN, "out of memory: an observation is dropped");
			return;
		}
		memcpy(h->lateness, a->lateness_ms, sizeof(int64_t) * (size_t)a->count);
	}
	e->nheld++;
}

void stw__observe(struct stw_engine *e, enum stw_activity_kind kind, const char *definition,
		  const char *context, int count, int stateful, int64_t started)
{
	struct stw_activity a = {
		.kind = kind,
		.definition = definition,
		.context = context,
		.count = count,
		.stateful = stateful,
	};
	stw__report(e, &a, started);
}

/* Hands the held observations to the observer (commit != 0) or drops them. */
static void release_held(struct stw_engine *e, int commit)
{
	int64_t now = stw__mono_us();
	for (size_t i = 0; i < e->nheld; i++) {
		struct stw__held *h = &e->held[i];
		if (commit && e->observer != NULL) {
			h->a.definition = h->definition[0] ? h->definition : NULL;
			h->a.context = h->context[0] ? h->context : NULL;
			h->a.lateness_ms = h->lateness;
			h->a.duration_us = now - h->started;
			e->observer(&h->a, e->observer_ud);
		}
		free(h->lateness);
	}
	e->nheld = 0;
}

void stw__count_commit(struct stw_engine *e)
{
	if (e->txn == STW__TXN_NONE)
		e->stats.transactions++;
	else
		e->txn_units++;
}

/*
 * Nesting. The engine's transactions nest: a step or a delivery runs the
 * same inside an outer transaction (the host's or the round's) as on its
 * own. Level 1 is the store's transaction; each level above is a savepoint
 * of the store. The outer transaction is lazy: stw__txn_open only marks it,
 * and the first stw__begin opens it, so that an idle round takes no lock;
 * that first level needs no savepoint of its own (nothing was written
 * before it, so undoing it is undoing the transaction, which is then as if
 * never opened). A savepoint is not free: SQLite copies each page the level
 * changes first into a statement journal.
 *
 * A store may end its transaction by itself after an I/O or memory error:
 * then the nesting is forgotten (sync), and a lazy outer transaction undone
 * with its first level opens anew with the next one.
 */

/*
 * Counters. What a level counted (steps, deliveries, timers fired, ...) is
 * undone with it, so that the statistics, and /metrics with them, count the
 * work that is stored, once: a batch whose commit failed is done again later
 * and counted then. Each level notes the counters when it begins; undoing it
 * puts them back, except those of what happened outside the store all the
 * same (streams read, remote services called) and the commits counted.
 */
static void note_stats(struct stw_engine *e, int depth)
{
	if (depth >= 1 && depth <= STW__TXN_LEVELS)
		e->txn_stats[depth - 1] = e->stats;
}

static void undo_stats(struct stw_engine *e, int depth)
{
	if (depth < 1 || depth > STW__TXN_LEVELS)
		return;
	struct stw_stats now = e->stats;
	e->stats = e->txn_stats[depth - 1];
	e->stats.transactions = now.transactions;
	e->stats.remote_attempts = now.remote_attempts;
	e->stats.remote_failures = now.remote_failures;
	e->stats.stream_reads = now.stream_reads;
	e->stats.stream_events_parsed = now.stream_events_parsed;
	e->stats.stream_store_reads = now.stream_store_reads;
	e->stats.gate_turns = now.gate_turns;
	e->stats.gate_wait_us = now.gate_wait_us;
	e->stats.gate_held_us = now.gate_held_us;
}

/*
 * The write gate (gate.c), when the host gave one: taken before the store's
 * transaction opens, let go once it has ended, whichever way (committed,
 * rolled back, or undone by the store itself). STW_EBUSY when the turn did
 * not come in time (stw__store_fail then says so).
 */
static int gate_enter(struct stw_engine *e)
{
	e->gate_refused = 0;
	if (e->gate == NULL || e->gate_held)
		return STW_OK;
	int64_t asked = stw__mono_us();
	int rc = stw__gate_enter(e->gate);
	e->gate_since = stw__mono_us();
	e->stats.gate_wait_us += (uint64_t)(e->gate_since - asked);
	if (rc != STW_OK) {
		e->gate_refused = 1;
		return STW_EBUSY;
	}
	e->gate_held = 1;
	e->stats.gate_turns++;
	return STW_OK;
}

static void gate_settle(struct stw_engine *e)
{
	if (e->gate_held && !e->gate_keep && !STW__S0(e->store, in_transaction)) {
		e->gate_held = 0;
		e->stats.gate_held_us += (uint64_t)(stw__mono_us() - e->gate_since);
		stw__gate_leave(e->gate);
	}
}

int stw__txn_yield(struct stw_engine *e)
{
	return e->gate_held && stw__gate_waiting(e->gate) > 0;
}

/* Forgets the nesting when the store has rolled the transaction back itself. */
static void sync(struct stw_engine *e)
{
	if (e->txn_depth > 0 && !STW__S0(e->store, in_transaction)) {
		undo_stats(e, 1);
		stw__stage_clear(e);
		e->txn_depth = 0;
		e->txn_flat = 0;
		e->txn_savepoint = 0;
	}
	gate_settle(e);
}

/* Opens the store's transaction behind the gate. */
static int store_begin(struct stw_engine *e)
{
	int rc = gate_enter(e);
	if (rc == STW_OK && (rc = STW__S0(e->store, begin)) != STW_OK)
		gate_settle(e);
	return rc;
}

int stw__begin(struct stw_engine *e)
{
	struct stw__store *s = e->store;
	sync(e);
	int rc;
	if (e->txn_lazy) {
		if ((rc = store_begin(e)) != STW_OK)
			return rc;
		e->txn_lazy = 0;
		e->txn_savepoint = 0;
		e->txn_savepoints = 0;
		e->txn_depth = 2;
		e->txn_flat = 1;
		note_stats(e, 1);
		note_stats(e, 2);
		return STW_OK;
	}
	rc = e->txn_depth == 0 ? store_begin(e) : STW__S0(s, savepoint);
	if (rc != STW_OK)
		return rc;
	if (e->txn_depth == 0) {
		e->txn_savepoint = 0;
		e->txn_savepoints = 0;
	} else {
		e->txn_savepoints++;
	}
	note_stats(e, ++e->txn_depth);
	return STW_OK;
}

int stw__savepoint_room(const struct stw_engine *e)
{
	int max = e->store->max_savepoints;
	if (max <= 0)
		return INT_MAX;
	/* A level that opens the store's transaction takes no savepoint. */
	if (e->txn_depth == 0)
		return max;
	int room = max - e->txn_savepoints - 1; /* the level's own savepoint first */
	return room > 0 ? room : 0;
}

int stw__commit(struct stw_engine *e)
{
	sync(e);
	if (e->txn_depth == 0)
		return stw__fail(e, STW_ESTORE, "commit: the transaction was rolled back");
	if (e->txn_depth == 2 && e->txn_flat) {
		e->txn_depth = 1; /* the outer transaction goes on */
		e->txn_flat = 0;
		stw__stage_level_end(e, 2, 1);
		return STW_OK;
	}
	int nested = e->txn_depth > 1;
	/* The instances staged in the transaction are written before it commits. */
	int rc = nested ? STW__S0(e->store, release) : stw__stage_write(e);
	if (!nested && rc == STW_OK)
		rc = STW__S0(e->store, commit);
	if (rc == STW_OK) {
		if (nested)
			stw__stage_level_end(e, e->txn_depth, 1);
		else
			stw__stage_clear(e);
		e->txn_depth--;
		if (!nested)
			e->txn_savepoint = 0;
	}
	gate_settle(e);
	return rc;
}

int stw__rollback(struct stw_engine *e)
{
	struct stw__store *s = e->store;
	int was_flat = e->txn_flat && e->txn_depth == 2;
	sync(e);
	e->txn_savepoint = 0;
	if (e->txn_depth == 0) {
		/* The store undid a lazy outer transaction with its first level: open it again. */
		e->txn_lazy |= was_flat;
		return STW_OK;
	}
	if (e->txn_depth == 1 || (e->txn_depth == 2 && e->txn_flat)) {
		/* The transaction, or the level that opened it: the outer one opens anew. */
		undo_stats(e, 1);
		stw__stage_clear(e);
		e->txn_lazy = e->txn_depth == 2;
		e->txn_depth = 0;
		e->txn_flat = 0;
		int rc = STW__S0(s, rollback);
		gate_settle(e);
		return rc;
	}
	int rc = STW__S0(s, rollback_to);
	if (rc == STW_OK) {
		stw__stage_level_end(e, e->txn_depth, 0);
		undo_stats(e, e->txn_depth--);
	}
	return rc;
}

int stw__durable(struct stw_engine *e)
{
	sync(e);
	int depth = e->txn_depth, rc = STW_OK;
	if (depth == 0)
		return STW_OK;
	/* The commit releases the open savepoints with the transaction; the
	 * levels open again, as real savepoints from then on. The gate stays
	 * held in between: the transaction goes on. The staged instances are
	 * written first, and are the store's from then on. */
	if ((rc = stw__stage_write(e)) != STW_OK)
		return rc;
	if ((rc = STW__S0(e->store, commit)) != STW_OK)
		return stw__store_fail(e, rc, "making a write durable");
	stw__stage_clear(e);
	e->txn_depth = 0;
	e->txn_flat = 0;
	e->txn_savepoint = 0;
	e->gate_keep = 1;
	for (int i = 0; i < depth && rc == STW_OK; i++)
		rc = stw__begin(e);
	e->gate_keep = 0;
	gate_settle(e);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "making a write durable");
}

int stw__savepoint(struct stw_engine *e)
{
	sync(e);
	if (e->txn_depth == 0)
		return stw__fail(e, STW_EINVAL, "savepoint: no transaction is open");
	if (e->txn_savepoint)
		return stw__fail(e, STW_EINVAL, "savepoint: a savepoint is held already");
	int rc = STW__S0(e->store, savepoint);
	if (rc == STW_OK) {
		e->txn_savepoint = 1;
		e->txn_savepoints++;
	}
	return rc;
}

/* Checks that the handler's savepoint is held, for release and rollback_to. */
static int check_savepoint(struct stw_engine *e, const char *op)
{
	int held = e->txn_savepoint;
	sync(e);
	if (e->txn_depth == 0)
		return held ? stw__fail(e, STW_ESTORE, "%s: the transaction was rolled back", op)
			    : stw__fail(e, STW_EINVAL, "%s: no transaction is open", op);
	if (!e->txn_savepoint)
		return stw__fail(e, STW_EINVAL, "%s: no savepoint is held", op);
	return STW_OK;
}

int stw__release(struct stw_engine *e)
{
	int rc = check_savepoint(e, "release");
	if (rc == STW_OK && (rc = STW__S0(e->store, release)) == STW_OK) {
		stw__stage_level_end(e, e->txn_depth + 1, 1);
		e->txn_savepoint = 0;
	}
	return rc;
}

int stw__rollback_to(struct stw_engine *e)
{
	int rc = check_savepoint(e, "rollback_to");
	if (rc == STW_OK && (rc = STW__S0(e->store, rollback_to)) == STW_OK) {
		stw__stage_level_end(e, e->txn_depth + 1, 0);
		e->txn_savepoint = 0;
	}
	return rc;
}

int stw__txn_open(struct stw_engine *e, int kind)
{
	sync(e);
	if (e->txn_depth != 0 || e->txn_lazy)
		return stw__fail(e, STW_EINVAL, "a transaction is open already");
	e->txn_lazy = 1;
	e->txn = kind;
	e->txn_units = 0;
	return STW_OK;
}

int stw__txn_close(struct stw_engine *e, int commit)
{
	sync(e);
	int wrote = !e->txn_lazy, rc = STW_OK;
	e->txn_lazy = 0;
	if (wrote && e->txn_depth > 1)
		rc = stw__fail(e, STW_EINVAL, "%d nested levels are open", e->txn_depth - 1);
	else if (wrote && e->txn_depth == 0)
		rc = commit ? stw__fail(e, STW_ESTORE, "commit: the transaction was rolled back")
			    : STW_OK;
	else if (wrote && (rc = commit ? stw__commit(e) : stw__rollback(e)) != STW_OK)
		stw__store_fail(e, rc, commit ? "committing" : "rolling back");
	if (rc != STW_OK) {
		/* Every level goes: nothing of a transaction that failed to close stays open. */
		while (e->txn_depth > 0 && stw__rollback(e) == STW_OK)
			;
		if (e->txn_depth > 0) {
			STW__S0(e->store, rollback);
			undo_stats(e, 1);
			stw__stage_clear(e);
			e->txn_depth = 0;
			e->txn_flat = 0;
			e->txn_savepoint = 0;
		}
		e->txn_lazy = 0;
		commit = 0;
	}
	gate_settle(e);
	if (commit && wrote && e->txn_units > 0)
		e->stats.transactions++;
	e->txn = STW__TXN_NONE;
	e->txn_units = 0;
	release_held(e, commit);
	return rc;
}

STW_API int stw_begin(struct stw_engine *e)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE, "a transaction is open already");
	return stw__txn_open(e, STW__TXN_USER);
}

STW_API int stw_commit(struct stw_engine *e)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (e->txn != STW__TXN_USER)
		return stw__fail(e, STW_ESTATE, "no transaction is open (stw_begin)");
	return stw__txn_close(e, 1);
}

STW_API int stw_rollback(struct stw_engine *e)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (e->txn != STW__TXN_USER)
		return stw__fail(e, STW_ESTATE, "no transaction is open (stw_begin)");
	return stw__txn_close(e, 0);
}

int stw__batch_cap(const struct stw_engine *e)
{
	return e->round_budget > 0 && e->round_budget < e->batch_size ? e->round_budget
								      : e->batch_size;
}
