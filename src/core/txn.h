/*
 * txn.h - the transaction the engine's own transactions run inside of, and
 * what waits for its commit (txn.c).
 */
#ifndef STW_TXN_H
#define STW_TXN_H

#include "core/engine_int.h"

/* Opens the outer transaction of `kind` (STW__TXN_USER or _ROUND); the first write takes the lock.
 */
int stw__txn_open(struct stw_engine *e, int kind);

/*
 * Ends the outer transaction: commits it (commit != 0; rolled back if the
 * commit fails) or rolls it back, then reports what it held to the observer
 * if it committed.
 */
int stw__txn_close(struct stw_engine *e, int commit);

/* Reports a commit to the observer, if any; started is stw__mono_us() at the start. */
void stw__observe(struct stw_engine *e, enum stw_activity_kind kind, const char *definition,
		  const char *context, int count, int stateful, int64_t started);

/* Reports `a` (duration_us filled here) now, or at the outer commit inside one. */
void stw__report(struct stw_engine *e, struct stw_activity *a, int64_t started);

/* The most a batch may take now: batch_size, or less inside a round's transaction. */
int stw__batch_cap(const struct stw_engine *e);

/*
 * The savepoints a part may still open in the store's transaction after the
 * one its own level takes (the whole budget when its level opens the
 * transaction): the store's max_savepoints less those open already, 0 when
 * spent; INT_MAX for a store without a budget.
 */
int stw__savepoint_room(const struct stw_engine *e);

/* Counts a committed step or delivery transaction (once per outer transaction). */
void stw__count_commit(struct stw_engine *e);

/*
 * The engine's transactions, which nest (see txn.c): stw__begin opens the
 * store's transaction, or inside one a nested level; stw__commit and
 * stw__rollback end the innermost level. A step or a delivery runs the same
 * inside the round's transaction as on its own. On failure they return the
 * store's code with its message readable through stw__store_fail; on a
 * failed commit the level stays open and the caller rolls it back.
 * stw__rollback with nothing open is a no-op (the store rolled back by
 * itself after an error).
 */
int stw__begin(struct stw_engine *e);
int stw__commit(struct stw_engine *e);
int stw__rollback(struct stw_engine *e);

/*
 * The one savepoint of a handler inside a level: what a service handler or
 * a remote answer writes is kept (stw__release) or undone (stw__rollback_to)
 * without undoing the batch around it. STW_EINVAL outside a transaction or
 * when one is held; these set the engine's message.
 */
int stw__savepoint(struct stw_engine *e);
int stw__release(struct stw_engine *e);
int stw__rollback_to(struct stw_engine *e);

/*
 * 1 when another engine of the process waits for the write gate this engine
 * holds (stw_options.write_gate): long work (a round's transaction, a batch)
 * then ends early, at the next message or command, and commits what it did,
 * so that the other's wait is one message long, not one batch.
 */
int stw__txn_yield(struct stw_engine *e);

/*
 * Makes what the current transaction wrote durable before going on (an
 * at-most-once cursor, an attempt count): commits the store's transaction,
 * outer one included, and opens the same nesting again.
 */
int stw__durable(struct stw_engine *e);

#endif /* STW_TXN_H */
