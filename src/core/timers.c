/*
 * timers.c - firing due timers. For one definition, a batch of its timers
 * due by now is read in one transaction; each one's message is delivered to
 * its instance (apply.c) if the instance is still in the state epoch that
 * armed it, else the timer is void; either way the timer is deleted in the
 * same transaction, so it fires once.
 */
#include "core/timers.h"
#include "core/apply.h"
#include "core/txn.h"

/* Due timers of one batch, copied into the arena. */
struct due_list {
	struct stw_engine *e;
	struct stw__timer_row *rows;
	int n;
	int cap;
	int oom;
};

static int due_cb(const struct stw__timer_row *row, void *ud)
{
	struct due_list *l = ud;
	struct stw__arena *a = &l->e->arena;
	struct stw__timer_row *r = &l->rows[l->n];
	int oom = 0;
	*r = *row;
	r->id = stw__arena_strdup(a, row->id, &oom);
	r->definition = stw__arena_strdup(a, row->definition, &oom);
	r->instance_id = stw__arena_strdup(a, row->instance_id, &oom);
	r->message_type = stw__arena_strdup(a, row->message_type, &oom);
	r->armed_by = stw__arena_strdup(a, row->armed_by, &oom);
	if (oom) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return l->n >= l->cap;
}

/*
 * Fires one due timer inside the caller's transaction: delivers its message
 * to the instance if the instance is still in the state epoch that armed it
 * (else the timer is void: counted as ignored), then deletes the timer. The
 * delete commits with the effects, so a timer fires once.
 */
static int fire_one(struct stw_engine *e, const struct stw__def *def,
		    const struct stw__timer_row *t, int64_t now, int *fired)
{
	struct stw__inst *in = NULL;
	*fired = 0;
	int rc = stw__icache_get(e, def, t->instance_id, &in);
	int malformed = rc == STW_ESTORE && in != NULL && in->malformed;
	if (rc != STW_OK && rc != STW_ENOTFOUND && !malformed)
		return rc;
	int live = malformed || (rc == STW_OK && in->entered_version == t->entered_version &&
				 stw__live(in->def, in->status, in->state));
	rc = STW_OK;
	if (live) {
		struct stw_event ev = {
			.id = t->id,
			.type = t->message_type,
			.stream = "",
			.correlation_id = t->instance_id,
			.causation_id = t->armed_by,
			.data = json_pack("{s:I, s:s}", "due_at", (json_int_t)t->due_at, "armed_by",
					  t->armed_by),
			.metadata = json_object(),
			/* The message happened when it fell due: a timer fired again
			 * after a crash is the same message, and derives the same ids. */
			.recorded_at = t->due_at,
		};
		if (ev.data == NULL || ev.metadata == NULL)
			rc = stw__fail(e, STW_ENOMEM, "out of memory");
		else if (malformed) /* its instance fails, the other timers fire */
			rc = stw__inst_quarantine(e, def, in, &ev);
		else
			rc = stw__deliver(e, in->def, in, &ev, NULL);
		json_decref(ev.data);
		json_decref(ev.metadata);
		if (rc == STW_OK) {
			e->stats.timers_fired++;
			*fired = 1;
		}
	} else {
		e->stats.timers_ignored++;
	}
	if (rc == STW_OK &&
	    (rc = STW__S(e->store, timer_delete, t->definition, t->instance_id, t->id)) != STW_OK)
		stw__store_fail(e, rc, "deleting a fired timer");
	return rc;
}

/* stw__fire_timers, inside the arena scope it owns. */
static int fire_timers(struct stw_engine *e, const struct stw__def *def, int *fired)
{
	struct stw__store *s = e->store;
	const char *name = def->d->name;
	*fired = 0;
	if (def->name_timers == 0)
		return STW_OK;
	int64_t now = stw__now(e), next = 0;
	int rc = STW__S(s, timer_next, name, &next);
	if (rc == STW_ENOTFOUND || (rc == STW_OK && next > now))
		return STW_OK; /* nothing due: no lock taken */
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "finding the next timer");
	int64_t started = stw__mono_us();
	struct due_list l = { .e = e, .cap = stw__batch_cap(e) };
	l.rows = stw__arena_alloc(&e->arena, sizeof(*l.rows) * (size_t)l.cap);
	int64_t *lateness = stw__arena_alloc(&e->arena, sizeof(int64_t) * (size_t)l.cap);
	if (l.rows == NULL || lateness == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int nfired = 0;
	/* The first pass does not probe the history; a message found there by
	 * the history insert (STW__EDUP) makes a second, careful pass. */
	for (int careful = 0; careful < 2; careful++) {
		if ((rc = stw__begin(e)) != STW_OK)
			return stw__store_fail(e, rc, "beginning to fire timers");
		l.n = 0;
		nfired = 0;
		rc = STW__S(s, timers_due, name, now, l.cap, due_cb, &l);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "reading due timers");
		else if (l.oom)
			rc = stw__fail(e, STW_ENOMEM, "out of memory");
		if (rc == STW_OK)
			rc = stw__icache_open(e, l.n, careful);
		/* The definition's callbacks run in here: the engine is theirs to read only. */
		int was = e->in_handler;
		e->in_handler = 1;
		for (int i = 0; rc == STW_OK && i < l.n; i++) {
			int f = 0;
			rc = fire_one(e, def, &l.rows[i], now, &f);
			if (f)
				lateness[nfired++] = now - l.rows[i].due_at;
			if (rc == STW_OK)
				stw__failpoint(e, "timer.after_fire");
		}
		e->in_handler = was;
		if (rc == STW_OK)
			rc = stw__icache_flush(e, def);
		stw__icache_close(e);
		if (rc != STW__EDUP)
			break;
		stw__rollback(e); /* its counters too */
	}
	if (rc == STW_OK) {
		stw__failpoint(e, "timer.before_commit");
		if ((rc = stw__commit(e)) != STW_OK)
			stw__store_fail(e, rc, "committing fired timers");
	}
	if (rc != STW_OK) {
		stw__rollback(e);
		if (rc == STW_ECONFLICT) {
			stw__log(e, STW_LOG_INFO, "%s: version conflict firing timers, retrying",
				 name);
			*fired = 1;
			return STW_OK;
		}
		stw__log(e, STW_LOG_ERROR, "%s: firing timers failed: %s", name, e->errmsg);
		return rc;
	}
	stw__count_commit(e);
	stw__failpoint(e, "timer.after_commit");
	*fired = l.n;
	struct stw_activity a = {
		.kind = STW_ACTIVITY_TIMERS,
		.definition = name,
		.count = nfired,
		.stateful = 1,
		.lateness_ms = lateness,
	};
	stw__report(e, &a, started);
	return STW_OK;
}

int stw__fire_timers(struct stw_engine *e, const struct stw__def *def, int *fired)
{
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	int rc = fire_timers(e, def, fired);
	stw__arena_rewind(&e->arena, scope);
	return rc;
}
