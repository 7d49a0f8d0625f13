/*
 * retention.c - retention: the ended instances of the engine's definitions
 * deleted with their rows, and old records of the dedup table and old
 * delivered commands of no instance dropped (stw_prune), a batch per
 * transaction. What is deleted and how each table is reached is the store's
 * (prune_instances, prune_dedup, prune_commands in store.h); this
 * file walks the definitions, keeps the pass's place between calls (the
 * engine's prune field), its time limit and the size of its batches, which
 * follows the time their statements take (a writer waiting for the write
 * lock waits for one batch).
 */
#include "core/definition.h"
#include "core/engine_int.h"
#include "core/txn.h"

#include <string.h>

/* Instances or records per transaction at most, when the options say 0. */
#define STW__PRUNE_BATCH 100
/* The first batches of a pass (of its instances, of its dedup records). */
#define STW__PRUNE_FIRST 8
/* The work of a transaction, when the options say 0. */
#define STW__PRUNE_BATCH_MS 2

/* The phases of a pass (the engine's prune.phase), in order; each its batches' size. */
enum { INSTANCES, DEDUP, COMMANDS };

/* 1 when definition i is stateless or shares its name with an earlier one (another version). */
static int skip_def(const struct stw_engine *e, size_t i)
{
	if (e->defs[i].nstates == 0)
		return 1;
	for (size_t k = 0; k < i; k++)
		if (strcmp(e->defs[k].d->name, e->defs[i].d->name) == 0)
			return 1;
	return 0;
}

/* The size of the next batch of kind k (INSTANCES, DEDUP, COMMANDS), at most batch. */
static int batch_size(struct stw_engine *e, int k, int batch)
{
	int *n = &e->prune.size[k];
	if (*n == 0 || *n > batch)
		*n = batch < STW__PRUNE_FIRST ? batch : STW__PRUNE_FIRST;
	return *n;
}

/*
 * After a batch of kind k whose statements took `took` us: the next one
 * takes half as many when it took longer than budget_us, twice as many (up
 * to batch) when it was full and took less than half.
 */
static void adapt(struct stw_engine *e, int k, int64_t took, int64_t budget_us, int full, int batch)
{
	int *n = &e->prune.size[k];
	if (took > budget_us)
		*n = *n > 1 ? *n / 2 : 1;
	else if (full && 2 * took < budget_us)
		*n = *n > batch / 2 ? batch : 2 * *n;
}

/*
 * Commits the batch's transaction, or rolls it back after rc; failpoints
 * around the commit. *took: the time from `begun` (stw__mono_us) to the
 * commit.
 */
static int end_batch(struct stw_engine *e, int rc, const char *what, int64_t begun, int64_t *took,
		     struct stw_prune_stats *out)
{
	if (rc == STW_OK) {
		stw__failpoint(e, "prune.before_commit");
		*took = stw__mono_us() - begun;
		rc = stw__commit(e);
	}
	if (rc != STW_OK) {
		stw__store_fail(e, rc, what);
		stw__rollback(e);
		return rc;
	}
	out->batches++;
	stw__failpoint(e, "prune.after_commit");
	return STW_OK;
}

/* Begins a batch's transaction; *begun: when its statements start (stw__mono_us). */
static int begin_batch(struct stw_engine *e, int64_t *begun)
{
	int rc = stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning a retention batch");
	stw__failpoint(e, "prune.begun");
	*begun = stw__mono_us();
	return STW_OK;
}

/* One batch of ended instances of definition `name`; *more is 1 when it was full. */
static int instances_batch(struct stw_engine *e, const char *name, int64_t before, int batch,
			   int64_t *took, struct stw_prune_stats *out, int *more)
{
	int64_t begun = 0;
	int rc = begin_batch(e, &begun);
	if (rc != STW_OK)
		return rc;
	struct stw__prune_counts c = { 0 };
	rc = STW__S(e->store, prune_instances, name, before, batch, &c);
	if ((rc = end_batch(e, rc, "deleting ended instances", begun, took, out)) != STW_OK)
		return rc;
	out->instances += c.instances;
	out->history += c.history;
	out->timers += c.timers;
	out->outbox += c.outbox;
	*more = c.instances >= batch;
	return STW_OK;
}

/* One batch of the dedup sweep from the engine's key; *more is 0 when it reached the end. */
static int dedup_batch(struct stw_engine *e, int64_t before, int batch, int64_t *took,
		       struct stw_prune_stats *out, int *more)
{
	int64_t begun = 0;
	int rc = begin_batch(e, &begun);
	if (rc != STW_OK)
		return rc;
	struct stw__dedup_key key = e->prune.key;
	int64_t looked = 0, deleted = 0;
	rc = STW__S(e->store, prune_dedup, before, batch, &key, &looked, &deleted);
	if ((rc = end_batch(e, rc, "dropping dedup records", begun, took, out)) != STW_OK)
		return rc;
	e->prune.key = key;
	out->dedup += deleted;
	out->dedup_looked += looked;
	*more = key.context[0] != '\0' || key.command_id[0] != '\0';
	return STW_OK;
}

/* One batch of the sweep of commands of no instance; *more is 0 when it reached the end. */
static int commands_batch(struct stw_engine *e, int64_t before, int batch, int64_t *took,
			  struct stw_prune_stats *out, int *more)
{
	int64_t begun = 0;
	int rc = begin_batch(e, &begun);
	if (rc != STW_OK)
		return rc;
	int64_t after = e->prune.seq, looked = 0, deleted = 0;
	rc = STW__S(e->store, prune_commands, before, batch, &after, &looked, &deleted);
	if ((rc = end_batch(e, rc, "deleting delivered commands", begun, took, out)) != STW_OK)
		return rc;
	e->prune.seq = after;
	out->commands += deleted;
	*more = after != 0;
	return STW_OK;
}

/* 1 once max_ms (> 0) has passed since started (stw__mono_us). */
static int time_up(const struct stw_prune_opts *o, int64_t started)
{
	return o->max_ms > 0 && stw__mono_us() - started >= o->max_ms * 1000;
}

STW_API int stw_prune(struct stw_engine *e, const struct stw_prune_opts *o,
		      struct stw_prune_stats *out)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (o == NULL || out == NULL)
		return stw__fail(e, STW_EINVAL, "stw_prune: no options or no stats");
	memset(out, 0, sizeof(*out));
	if (o->ended_older_than_ms < 0 || o->dedup_older_than_ms < 0 || o->batch < 0 ||
	    o->batch > STW_MAX_LIST || o->max_ms < 0 || o->batch_ms < 0)
		return stw__fail(e, STW_EINVAL,
				 "stw_prune: a negative age, max_ms or batch_ms, or a batch not "
				 "from 0 to %d",
				 STW_MAX_LIST);
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE,
				 "stw_prune: each batch is a transaction of its own, not a part of "
				 "one begun with stw_begin");
	int batch = o->batch > 0 ? o->batch : STW__PRUNE_BATCH;
	int64_t budget = o->batch_ms == 0                 ? STW__PRUNE_BATCH_MS * 1000
			 : o->batch_ms < INT64_MAX / 1000 ? o->batch_ms * 1000
							  : INT64_MAX;
	int64_t now = stw__now(e), started = stw__mono_us(), took = 0;
	int more = 0, rc = STW_OK;
	while (e->prune.phase == INSTANCES && e->prune.def < e->ndefs) {
		size_t i = e->prune.def;
		if (o->ended_older_than_ms == 0 || skip_def(e, i)) {
			e->prune.def++;
			continue;
		}
		int n = batch_size(e, INSTANCES, batch);
		rc = instances_batch(e, e->defs[i].d->name, now - o->ended_older_than_ms, n, &took,
				     out, &more);
		if (rc != STW_OK)
			return rc;
		adapt(e, INSTANCES, took, budget, more, batch);
		if (!more)
			e->prune.def++;
		if (time_up(o, started))
			return STW_OK;
	}
	if (e->prune.phase == INSTANCES)
		e->prune.phase = DEDUP;
	/* The dedup table, then the commands of no instance, over one window: an id executed or
	 * sent again is recognised while its record or its outbox row is kept. */
	while (o->dedup_older_than_ms > 0 && e->prune.phase <= COMMANDS) {
		int k = e->prune.phase, n = batch_size(e, k, batch);
		int64_t before = now - o->dedup_older_than_ms;
		rc = k == DEDUP ? dedup_batch(e, before, n, &took, out, &more)
				: commands_batch(e, before, n, &took, out, &more);
		if (rc != STW_OK)
			return rc;
		adapt(e, k, took, budget, more, batch);
		if (!more)
			e->prune.phase++;
		if (e->prune.phase <= COMMANDS && time_up(o, started))
			return STW_OK;
	}
	memset(&e->prune, 0, sizeof(e->prune));
	out->finished = 1;
	return STW_OK;
}
