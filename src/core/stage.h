/*
 * stage.h - the instance writes of a round's transaction, staged until it
 * commits (stage.c).
 */
#ifndef STW_STAGE_H
#define STW_STAGE_H

#include "core/engine_int.h"

/*
 * Staging. A process whose services answer within the round goes through
 * several steps in it (voiding: three), each a part of the round's
 * transaction with a nested level of its own. Instead of writing the
 * instance at the end of each part, the part stages it here, and the round
 * writes every instance it changed once, version-checked, just before its
 * commit (stw__commit of the store's transaction, stw__durable): the
 * instance, its history, outbox and cursor still commit together. A part
 * that loads an instance the round staged gets the staged content, as if it
 * had been written.
 *
 * What is staged follows the levels of the transaction (txn.c), as the
 * store's rows do: a part's level that is undone undoes what it staged, one
 * that commits hands it to the level below, and the end of the store's
 * transaction, either way, forgets everything. Each staged instance is a
 * stack of its contents, one per level that changed it. The level of a
 * write is the transaction's depth, one more inside a handler's savepoint.
 *
 * Reads of instances that do not load through the batch (the public views,
 * from a handler inside the round) first write what is staged
 * (stw__stage_write), at their level, so that they see the round's state.
 */

/* 1 when instance writes are staged: inside a round's transaction. */
int stw__stage_on(const struct stw_engine *e);

/*
 * Stages row as the newest content of its instance, at the current level.
 * `loaded` is the version the caller's copy was loaded at (0: a new
 * instance); STW_ECONFLICT when it is not the staged one. Copies the
 * strings. STW_ENOMEM.
 */
int stw__stage_put(struct stw_engine *e, const struct stw__instance_row *row, int64_t loaded);

/* The staged content of (definition, id), or NULL; valid until the stage changes. */
const struct stw__instance_row *stw__stage_find(const struct stw_engine *e, const char *definition,
						const char *id);

/* The number of staged instances, and the content of the i-th (0 <= i < count). */
size_t stw__stage_count(const struct stw_engine *e);
const struct stw__instance_row *stw__stage_row(const struct stw_engine *e, size_t i);

/*
 * Writes to the store what is staged and not written yet: updates first
 * (they only release uniqueness keys), then inserts. The content written is
 * kept, marked as stored at the current level. STW_ECONFLICT when another
 * writer changed an instance since it was loaded; the engine's message says
 * why on any failure.
 */
int stw__stage_write(struct stw_engine *e);

/* Level `level` ended: committed into the level below (commit != 0), or undone. */
void stw__stage_level_end(struct stw_engine *e, int level, int commit);

/* Forgets everything staged: the store's transaction ended. */
void stw__stage_clear(struct stw_engine *e);

/* Releases the stage's memory (at the engine's close). */
void stw__stage_free(struct stw_engine *e);

#endif /* STW_STAGE_H */
