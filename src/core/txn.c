/*
 * txn.c - the transaction the engine's own transactions run inside of: the
 * host's (stw_begin) or the round's (stw_run_once). Inside one, each step or
 * delivery is a nested level; what it reports to the observer is held until
 * the outer transaction commits (and dropped if it rolls back), and commits
 * are counted once per outer transaction.
 */
#include "core/txn.h"

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

int stw__durable(struct stw_engine *e)
{
	int rc = STW__S0(e->store, durable);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "making a write durable");
}

int stw__txn_open(struct stw_engine *e, int kind)
{
	int rc = STW__S0(e->store, open_outer);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "opening a transaction");
	e->txn = kind;
	e->txn_units = 0;
	return STW_OK;
}

int stw__txn_close(struct stw_engine *e, int commit)
{
	int wrote = 0;
	int rc = STW__S(e->store, close_outer, commit, &wrote);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, commit ? "committing" : "rolling back");
		STW__S0(e->store, rollback);
		commit = 0;
	}
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
