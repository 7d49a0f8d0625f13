/*
 * step.c - the process-manager step. For one (definition, source context) it
 * reads a batch of events after the cursor, routes each to its instance
 * (creating it on a trigger, refusing a held uniqueness key), applies it
 * (apply.c) and writes, in ONE transaction, the instances (version-checked),
 * their history rows, the outbox rows and the cursor. Also the poison guard
 * of at-least-once inputs.
 */
#include "core/step.h"
#include "core/apply.h"
#include "core/machine.h"
#include "core/message.h"
#include "core/outbox.h"
#include "core/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Events of one batch, copied into the arena. */
struct batch {
	struct stw_engine *e;
	struct stw__event_row *rows;
	int n;
	int cap;
	int oom;
};

static int collect_cb(const struct stw__event_row *row, void *ud)
{
	struct batch *b = ud;
	struct stw__arena *a = &b->e->arena;
	struct stw__event_row *r = &b->rows[b->n];
	int oom = 0;
	*r = *row;
	r->context = stw__arena_strdup(a, row->context, &oom);
	r->id = stw__arena_strdup(a, row->id, &oom);
	r->type = stw__arena_strdup(a, row->type, &oom);
	r->stream = stw__arena_strdup(a, row->stream, &oom);
	r->correlation_id = stw__arena_strdup(a, row->correlation_id, &oom);
	r->causation_id = stw__arena_strdup(a, row->causation_id, &oom);
	r->data = stw__arena_strdup(a, row->data, &oom);
	r->metadata = stw__arena_strdup(a, row->metadata, &oom);
	if (oom) {
		b->oom = 1;
		return 1;
	}
	b->n++;
	return b->n >= b->cap;
}

static int write_unrouted(struct stw_engine *e, const struct stw__def *def,
			  const struct stw_event *ev, const char *reason)
{
	struct stw__unrouted_row row = {
		.definition = def->d->name,
		.context = ev->context,
		.position = ev->position,
		.event_id = ev->id,
		.event_type = ev->type,
		.reason = reason,
		.at = stw__now(e),
	};
	e->stats.unrouted++;
	stw__log(e, STW_LOG_WARN, "%s: %s %s at %s:%lld not routed: %s", def->d->name, ev->type,
		 ev->id, ev->context, (long long)ev->position, reason);
	int rc = STW__S(e->store, unrouted_insert, &row);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "recording an unrouted message");
}

/*
 * Cluster mode: whether this engine handles the event at `position` for
 * `key` (its instance's id, or for an event with none, its own id): the
 * key's partition is held and its cursor is before the event (a partition
 * taken over behind the others has its own cursor).
 */
static int ours(const struct stw_engine *e, const char *key, int64_t position)
{
	if (e->part_pos == NULL)
		return 1;
	int64_t at = e->part_pos[stw__partition(key, e->fence->partitions)];
	return at >= 0 && position > at;
}

/* Handles one event for a stateless policy: commands only. */
static int handle_policy(struct stw_engine *e, const struct stw__def *def,
			 const struct stw_event *ev)
{
	int t = stw__find_transition(def, -1, ev->type);
	struct stw_step_info si = {
		.definition = def->d->name,
		.data = ev->data,
		.event = ev,
		.ud = def->d->ud,
	};
	struct stw__plan p;
	int rc = stw__plan(def, t, -1, STW__I_NONE, &si, 0, stw__now(e), &p);
	if (rc != STW_OK)
		rc = stw__fail(e, rc, "out of memory");
	else if (p.why[0] != '\0')
		rc = write_unrouted(e, def, ev, p.why);
	else if ((rc = stw__outbox_write(e, def, t, &si, ev->correlation_id, p.payloads,
					 p.ncommands)) == STW_OK)
		e->stats.steps++;
	stw__plan_free(&p);
	return rc;
}

/* Validates a key returned by a callback; NULL stays NULL. */
static const char *checked_key(const char *k, int *bad)
{
	if (k != NULL && !stw__valid_id(k))
		*bad = 1;
	return k;
}

/* Routes one event of a stateful definition to its instance and applies it. */
static int handle_event(struct stw_engine *e, const struct stw__def *def,
			const struct stw_event *ev)
{
	const struct stw_definition *d = def->d;
	int bad = 0;
	const char *id =
	    checked_key(d->correlate ? d->correlate(ev, d->ud) : ev->correlation_id, &bad);
	if (!ours(e, id != NULL && !bad ? id : ev->id, ev->position))
		return STW_OK; /* another worker's partition */
	if (id == NULL || bad)
		return write_unrouted(e, def, ev,
				      bad ? "invalid correlation id" : "no correlation id");
	struct stw__inst *in = NULL;
	int rc = stw__icache_get(e, def, id, &in);
	if (rc == STW_ENOTFOUND) {
		int t = stw__find_transition(def, -1, ev->type);
		if (t < 0) {
			char why[STW_MAX_ID + 128];
			snprintf(why, sizeof(why), "no instance %s, and %s is not a trigger", id,
				 ev->type);
			return write_unrouted(e, def, ev, why);
		}
		const char *key =
		    checked_key(d->unique_key ? d->unique_key(ev, d->ud) : NULL, &bad);
		if (bad)
			return write_unrouted(e, def, ev, "invalid uniqueness key");
		int oom = 0;
		const char *k = stw__arena_strdup(&e->arena, key, &oom);
		if (oom)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		if (key != NULL) {
			char holder[STW_MAX_ID];
			rc = stw__key_holder(e, def, key, holder, sizeof(holder));
			if (rc == STW_OK) {
				char why[2 * STW_MAX_ID + 64];
				snprintf(why, sizeof(why), "key %s is held by instance %s", key,
					 holder);
				if ((in->data = json_deep_copy(ev->data)) == NULL)
					return stw__fail(e, STW_ENOMEM, "out of memory");
				in->key = k;
				in->status = STW__I_REJECTED;
				in->state = def->to[t];
				in->reason = stw__arena_strdup(&e->arena, why, &oom);
				if (oom)
					return stw__fail(e, STW_ENOMEM, "out of memory");
				e->stats.rejected++;
				rc = stw__history_write(e, def, in->id, ev, NULL, NULL,
							STW__O_REJECTED, why);
				if (rc == STW_OK)
					rc = stw__inst_save(e, def, in);
				return rc;
			}
			if (rc != STW_ENOTFOUND)
				return rc;
		}
		in->data = d->transitions[t].update ? json_object() : json_deep_copy(ev->data);
		if (in->data == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		in->key = k;
		in->status = STW__I_ACTIVE;
		in->state = def->to[t];
		return stw__apply(e, def, t, in, ev);
	}
	if (rc == STW_ESTORE && in != NULL && in->malformed)
		return stw__inst_quarantine(e, def, in, ev);
	if (rc != STW_OK)
		return rc;
	return stw__deliver(e, in->def, in, ev, NULL);
}

/* Handles one stored event for a definition (skipping types it does not take). */
static int handle_row(struct stw_engine *e, const struct stw__def *def,
		      const struct stw__event_row *row)
{
	if (!stw__any_version(e, def, stw__handles_type, row->type))
		return STW_OK;
	struct stw_event ev;
	int rc = stw__event_from_row(e, row, &ev);
	if (rc != STW_OK)
		return rc;
	const char *reserved = stw__any_version(e, def, stw__is_timer_message, ev.type)
				   ? "the type is a timer message of the definition"
			       : strcmp(ev.type, STW_COMMAND_REJECTED) == 0
				   ? "the type is the engine's message about a rejected command"
				   : NULL;
	if ((reserved != NULL || def->nstates == 0) && !ours(e, ev.id, ev.position)) {
		stw__event_release(&ev);
		return STW_OK; /* another worker's partition */
	}
	if (reserved != NULL) {
		/* A timer's message, or a rejection, comes from the engine only: an
		 * event cannot impersonate it. */
		rc = write_unrouted(e, def, &ev, reserved);
		stw__event_release(&ev);
		return rc;
	}
	if (def->nstates == 0)
		rc = handle_policy(e, def, &ev);
	else
		rc = handle_event(e, def, &ev);
	stw__event_release(&ev);
	if (rc == STW_OK)
		stw__failpoint(e, "step.after_transition");
	return rc;
}

/*
 * Poison inputs. An event whose handling kills the worker (a crash in a
 * callback) would be read again after every restart, forever. So before the
 * first batch of each engine, the attempt at the batch after the cursor is
 * counted durably (cursor_attempt, its own transaction). A count of 2 or more
 * means the last worker died in that batch: the events up to a batch's
 * length are then handled one per transaction, each counted before it is
 * handled, until the one that kills the worker is found. When an event's
 * count passes the limit it is parked instead of handled: its instance fails
 * with the reason (history outcome "parked") and every other instance keeps
 * moving. Only at-least-once definitions need this: at most once commits the
 * cursor before handling.
 */
static int source_index(const struct stw__def *def, const char *context)
{
	for (int i = 0; i < def->nsources; i++)
		if (strcmp(def->d->sources[i], context) == 0)
			return i;
	return -1;
}

/* Counts an attempt at the batch after `cursor`, durably, before the batch runs. */
static int count_attempt(struct stw_engine *e, const struct stw__def *def, const char *context,
			 int64_t cursor, int *attempts)
{
	struct stw__store *s = e->store;
	int rc = stw__begin(e);
	if (rc == STW_OK)
		rc = STW__S(s, cursor_attempt, def->d->name, context, cursor, attempts);
	if (rc == STW_OK)
		rc = stw__commit(e);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "counting an attempt");
		stw__rollback(e);
		return rc;
	}
	/* The count must survive the crash it is there to detect, round or not. */
	return stw__durable(e);
}

/*
 * Parks one input event inside the step's transaction: fails its instance
 * (when it can be found without the callbacks that may be the culprit: the
 * correlate callback runs only on the first parking attempt) and records the
 * event, else records it as unrouted.
 */
static int park_input(struct stw_engine *e, const struct stw__def *def,
		      const struct stw__event_row *row, int attempts)
{
	struct stw_event ev;
	int rc = stw__event_from_row(e, row, &ev);
	if (rc != STW_OK)
		return rc;
	char why[STW_MAX_ID + 160];
	snprintf(why, sizeof(why), "parked: the worker stopped %d times while handling %s %s",
		 attempts - 1, ev.type, ev.id);
	stw__log(e, STW_LOG_ERROR, "%s: %s at %s:%lld", def->d->name, why, ev.context,
		 (long long)ev.position);
	e->stats.inputs_parked++;
	const char *id = NULL;
	int bad = 0;
	if (def->nstates > 0 && attempts == e->max_input_attempts + 1)
		id = checked_key(def->d->correlate ? def->d->correlate(&ev, def->d->ud)
						   : ev.correlation_id,
				 &bad);
	if (!ours(e, id != NULL && !bad ? id : ev.id, ev.position)) {
		stw__event_release(&ev);
		return STW_OK; /* another worker's partition */
	}
	struct stw__inst in = { .id = id };
	rc = id != NULL && !bad ? stw__inst_load(e, def, &in) : STW_ENOTFOUND;
	if (rc == STW_OK) {
		const char *cur = stw__state_name(in.def, in.state);
		int live = in.status == STW__I_ACTIVE;
		if (live)
			stw__inst_fail(e, &in, why);
		rc = stw__history_write(e, def, id, &ev, cur, cur, STW__O_PARKED, why);
		if (rc == STW_OK && live)
			rc = stw__inst_save(e, in.def, &in);
		json_decref(in.data);
	} else if (rc == STW_ENOTFOUND) {
		rc = write_unrouted(e, def, &ev, why);
	}
	stw__event_release(&ev);
	return rc;
}

/*
 * Handles the rows of a batch in the open transaction through a fresh
 * instance cache, and writes the changed instances. The caller closes the
 * cache (cache_close) whatever the outcome. With may_yield, the batch ends
 * early when another engine waits for the write lock (stw__txn_yield):
 * b->n is cut to the rows handled, the rest is the next batch's.
 */
static int handle_rows(struct stw_engine *e, const struct stw__def *def, struct batch *b,
		       int careful, int may_yield)
{
	int rc = stw__icache_open(e, b->n, careful);
	/* The definition's callbacks run in here: the engine is theirs to read only. */
	int was = e->in_handler;
	e->in_handler = 1;
	for (int i = 0; rc == STW_OK && i < b->n; i++) {
		rc = handle_row(e, def, &b->rows[i]);
		if (rc == STW_OK && may_yield && i + 1 < b->n && stw__txn_yield(e))
			b->n = i + 1;
	}
	e->in_handler = was;
	return rc == STW_OK ? stw__icache_flush(e, def) : rc;
}

/*
 * Cluster mode: the cursors of the partitions the step's transaction holds
 * (e->part_pos, in the arena), after each begin.
 */
static int part_cursors(struct stw_engine *e, const char *name, const char *context)
{
	if (e->fence == NULL)
		return STW_OK;
	e->part_pos = stw__arena_alloc(&e->arena, sizeof(int64_t) * (size_t)e->fence->partitions);
	if (e->part_pos == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	return STW__S(e->store, cursor_parts, name, context, e->part_pos);
}

/* stw__step_batch, inside the arena scope it owns. */
static int step_batch(struct stw_engine *e, const struct stw__def *def, const char *context,
		      int *handled)
{
	struct stw__store *s = e->store;
	const char *name = def->d->name;
	int at_most_once = def->d->delivery == STW_AT_MOST_ONCE;
	int64_t cursor = 0, head = 0;
	int64_t started = stw__mono_us();
	*handled = 0;
	if (stw__held_none(e))
		return STW_OK; /* a worker of a cluster that holds no partition */
	/* Cheap check outside a transaction: nothing new, nothing to lock. */
	int rc = STW__S(s, cursor_get, name, context, &cursor);
	if (rc == STW_OK)
		rc = STW__S(s, head, context, &head);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading a cursor");
	if (head <= cursor)
		return STW_OK;

	int cap = stw__batch_cap(e), attempts = 0, src = source_index(def, context);
	struct stw__guard *g = src >= 0 && !at_most_once ? &def->guards[src] : NULL;
	if (g != NULL && (!g->started || cursor < g->isolate_until)) {
		if ((rc = count_attempt(e, def, context, cursor, &attempts)) != STW_OK)
			return rc;
		if (!g->started && attempts >= 2) {
			stw__log(e, STW_LOG_WARN,
				 "%s: the last worker stopped in the batch after %s:%lld; "
				 "handling it one event at a time",
				 name, context, (long long)cursor);
			g->isolate_until = cursor + e->batch_size;
		}
		g->started = 1;
	}
	if (g != NULL && cursor < g->isolate_until)
		cap = 1;

	struct batch b = { .e = e, .cap = cap };
	b.rows = stw__arena_alloc(&e->arena, sizeof(*b.rows) * (size_t)b.cap);
	if (b.rows == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if ((rc = stw__begin(e)) != STW_OK)
		return stw__store_fail(e, rc, "beginning a step");
	/* Re-read the cursor under the write lock: another engine may have moved it. */
	rc = STW__S(s, cursor_get, name, context, &cursor);
	if (rc == STW_OK)
		rc = part_cursors(e, name, context);
	if (rc == STW_OK)
		rc = STW__S(s, read, context, cursor, b.cap, collect_cb, &b);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "reading a batch");
		goto fail;
	}
	if (b.oom) {
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
		goto fail;
	}
	if (b.n == 0) {
		stw__rollback(e);
		return STW_OK;
	}
	int64_t last = b.rows[b.n - 1].position;
	if (at_most_once) {
		/* At most once: the cursor is durable before any effect exists. */
		rc = STW__S(s, cursor_set, name, context, last);
		if (rc != STW_OK) {
			stw__store_fail(e, rc, "saving an at-most-once cursor");
			goto fail;
		}
		if ((rc = stw__durable(e)) != STW_OK)
			goto fail;
		stw__failpoint(e, "step.after_cursor");
	}
	if (cap == 1 && attempts > e->max_input_attempts) {
		/* This event stopped the worker every time: park it. */
		rc = park_input(e, def, &b.rows[0], attempts);
	} else {
		/* At most once, the cursor is past the whole batch already. */
		rc = handle_rows(e, def, &b, 0, !at_most_once);
	}
	if (rc == STW__EDUP) {
		/* A redelivered message: undo the batch and redo it with a history
		 * probe before each message. */
		stw__icache_close(e);
		stw__rollback(e); /* its counters too */
		if ((rc = stw__begin(e)) != STW_OK)
			return stw__store_fail(e, rc, "beginning a step");
		int64_t again = cursor;
		if ((!at_most_once &&
		     (rc = STW__S(s, cursor_get, name, context, &again)) != STW_OK) ||
		    (rc = part_cursors(e, name, context)) != STW_OK) {
			stw__store_fail(e, rc, "reading a cursor");
			goto fail;
		}
		if (again != cursor) {
			/* Another engine took the batch meanwhile: nothing left to do. */
			stw__rollback(e);
			*handled = 1;
			return STW_OK;
		}
		rc = handle_rows(e, def, &b, 1, !at_most_once);
	}
	if (rc != STW_OK)
		goto fail;
	last = b.rows[b.n - 1].position; /* the batch may have ended early */
	if (!at_most_once && (rc = STW__S(s, cursor_set, name, context, last)) != STW_OK) {
		stw__store_fail(e, rc, "saving a cursor");
		goto fail;
	}
	stw__failpoint(e, "step.before_commit");
	if ((rc = stw__commit(e)) != STW_OK) {
		stw__store_fail(e, rc, "committing a step");
		goto fail;
	}
	stw__icache_close(e);
	stw__count_commit(e);
	stw__failpoint(e, "step.after_commit");
	*handled = b.n;
	stw__observe(e, STW_ACTIVITY_STEP, name, context, b.n, def->nstates > 0, started);
	return STW_OK;
fail:
	stw__icache_close(e);
	stw__rollback(e);
	if (rc == STW_ECONFLICT) {
		/* Another worker changed an instance: retry the batch on the next round. */
		stw__log(e, STW_LOG_INFO, "%s: version conflict, retrying: %s", name, e->errmsg);
		*handled = 1;
		return STW_OK;
	}
	stw__log(e, STW_LOG_ERROR, "%s: step on %s failed: %s", name, context, e->errmsg);
	return rc;
}

int stw__step_batch(struct stw_engine *e, const struct stw__def *def, const char *context,
		    int *handled)
{
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	int rc = step_batch(e, def, context, handled);
	e->part_pos = NULL;
	stw__arena_rewind(&e->arena, scope);
	return rc;
}
