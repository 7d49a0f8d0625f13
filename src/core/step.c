/*
 * step.c - the process-manager step. For one (definition, source context) it
 * reads a batch of events after the cursor, routes each to its instance,
 * applies the transition table and writes, in ONE transaction, the instances
 * (version-checked), their history rows, the outbox rows and the cursor.
 * Transition callbacks are pure: they only see the instance data and the
 * message; all I/O is done here.
 */
#include "core/engine_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char ST_ACTIVE[] = "active";
static const char ST_COMPLETED[] = "completed";
static const char ST_FAILED[] = "failed";
static const char ST_REJECTED[] = "rejected";

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

/* The transition of `def` from state `from` (-1: trigger) on `type`, or -1. */
static int find_transition(const struct stw__def *def, int from, const char *type)
{
	for (int i = 0; i < def->ntransitions; i++)
		if (def->from[i] == from && strcmp(def->d->transitions[i].on, type) == 0)
			return i;
	return -1;
}

static int handles_type(const struct stw__def *def, const char *type)
{
	for (int i = 0; i < def->ntransitions; i++)
		if (strcmp(def->d->transitions[i].on, type) == 0)
			return 1;
	return 0;
}

static const char *state_name(const struct stw__def *def, int i)
{
	return i >= 0 ? def->d->states[i].name : NULL;
}

/*
 * A process instance as the step sees it. The strings live in the engine's
 * arena. The data stays as the stored JSON text until a transition needs it
 * as a value (an update, payload or due-time callback, or a command copying
 * it): most transitions only move the state, and never parse or serialise it.
 */
struct inst {
	const char *id;
	int state; /* index into the definition's states */
	const char *status;
	const char *data_text; /* the stored JSON text while data is not parsed */
	json_t *data;          /* owned; NULL until parsed or built */
	const char *key;
	const char *reason;
	int64_t version;        /* current version; 0 for a new instance not yet saved */
	int64_t stored_version; /* the version in the store; 0 when not stored */
	int64_t created_at;
	int64_t updated_at;
	int64_t entered_version; /* the version at which the current state was entered */
	int dirty;               /* changed since it was loaded: to be written */
};

/*
 * The instances of one batch (events or timers), with the transaction open:
 * each is loaded from the store once, changed in memory by every message of
 * the batch, and written once, version-checked, just before the commit
 * (stw__icache_flush). An open-addressing table of at most `cap` entries (one
 * per message of the batch, so its size is bounded by the batch size); all
 * memory is in the arena except the parsed data, released by cache_close.
 */
struct stw__icache {
	struct inst **slots; /* nslots (a power of two, >= 2 cap); NULL: empty */
	size_t nslots;
	struct inst **list; /* entries in load order */
	int n;
	int cap;
	int careful; /* probe the history before each message (see deliver) */
	/* The batch's history rows, written by cache_flush in a few statements
	 * (the fast path only; a careful pass writes each at once). */
	struct stw__history_row *hist;
	int nhist, hist_cap;
};

/* Internal only: a message is in the history already (a redelivery), found by
 * the history insert of the fast path. The batch is redone carefully. */
#define STW__EDUP (-100)

/* Copies a stored instance into the arena; the row dies with the callback. */
struct load {
	struct stw_engine *e;
	struct inst *in;
	const char *state_name;
	int oom;
};

static int load_cb(const struct stw__instance_row *row, void *ud)
{
	struct load *l = ud;
	struct stw__arena *a = &l->e->arena;
	struct inst *in = l->in;
	in->version = row->version;
	in->stored_version = row->version;
	in->created_at = row->created_at;
	in->updated_at = row->updated_at;
	in->entered_version = row->entered_version;
	l->state_name = stw__arena_strdup(a, row->state, &l->oom);
	in->status = stw__arena_strdup(a, row->status, &l->oom);
	in->data_text = stw__arena_strdup(a, row->data, &l->oom);
	in->key = stw__arena_strdup(a, row->unique_key, &l->oom);
	in->reason = stw__arena_strdup(a, row->reason, &l->oom);
	return 1;
}

/*
 * Loads instance (def, id) from the store into *in (in->id must be set),
 * leaving its data as text. STW_ENOTFOUND when it does not exist.
 */
static int load_instance(struct stw_engine *e, const struct stw__def *def, struct inst *in)
{
	struct load l = { .e = e, .in = in };
	int rc = STW__S(e->store, instance_get, def->d->name, in->id, load_cb, &l);
	if (rc == STW_ENOTFOUND)
		return rc;
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "loading an instance");
	if (l.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	in->state = stw__state_index(def, l.state_name);
	if (in->data_text == NULL || in->state < 0)
		return stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (unknown state %s)",
				 in->id, def->d->name, l.state_name ? l.state_name : "?");
	return STW_OK;
}

/* Parses the instance's data if it is still text. */
static int need_data(struct stw_engine *e, const struct stw__def *def, struct inst *in)
{
	if (in->data != NULL)
		return STW_OK;
	json_error_t jerr;
	in->data = in->data_text ? json_loads(in->data_text, 0, &jerr) : json_object();
	if (in->data == NULL || !json_is_object(in->data)) {
		json_decref(in->data);
		in->data = NULL;
		return stw__fail(e, STW_ESTORE, "instance %s of %s has malformed data", in->id,
				 def->d->name);
	}
	return STW_OK;
}

/*
 * Writes the instance to the store: inserted when not stored yet, else
 * updated if the stored version is still the one loaded (STW_ECONFLICT if not).
 */
static int write_instance(struct stw_engine *e, const struct stw__def *def, struct inst *in)
{
	char *dumped = NULL;
	if (in->data != NULL && (dumped = json_dumps(in->data, JSON_COMPACT)) == NULL)
		return stw__fail(e, STW_ENOMEM, "cannot serialise instance data");
	struct stw__instance_row row = {
		.definition = def->d->name,
		.id = in->id,
		.state = def->d->states[in->state].name,
		.status = in->status,
		.data = dumped          ? dumped
			: in->data_text ? in->data_text
					: "{}",
		.unique_key = in->key,
		.reason = in->reason,
		.version = in->version,
		.created_at = in->created_at,
		.updated_at = in->updated_at,
		.entered_version = in->entered_version,
	};
	int rc;
	if (in->stored_version == 0)
		rc = STW__S(e->store, instance_insert, &row);
	else
		rc = STW__S(e->store, instance_update, &row, in->stored_version);
	free(dumped);
	if (rc != STW_OK)
		return stw__store_fail(e, rc,
				       in->stored_version == 0 ? "inserting an instance"
							       : "updating an instance");
	in->stored_version = in->version;
	in->dirty = 0;
	return STW_OK;
}

/*
 * Records a change of the instance: a new version, written at the end of the
 * batch (or at once when no batch cache is open, as for a retry).
 */
static int save_instance(struct stw_engine *e, const struct stw__def *def, struct inst *in)
{
	int64_t now = stw__now(e);
	if (in->version == 0)
		in->created_at = now;
	in->updated_at = now;
	in->version++;
	in->dirty = 1;
	return e->icache != NULL ? STW_OK : write_instance(e, def, in);
}

static size_t hash_id(const char *s)
{
	size_t h = 1469598103934665603u; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Opens the batch's instance cache for at most cap messages. */
static int cache_open(struct stw_engine *e, int cap, int careful)
{
	struct stw__icache *c = stw__arena_alloc(&e->arena, sizeof(*c));
	size_t nslots = 16;
	while (nslots < 2 * (size_t)cap)
		nslots *= 2;
	if (c == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	c->slots = stw__arena_alloc(&e->arena, nslots * sizeof(*c->slots));
	c->list = stw__arena_alloc(&e->arena, (size_t)cap * sizeof(*c->list));
	if (c->slots == NULL || c->list == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	memset(c->slots, 0, nslots * sizeof(*c->slots));
	c->nslots = nslots;
	c->n = 0;
	c->cap = cap;
	c->careful = careful;
	c->hist = NULL;
	c->nhist = c->hist_cap = 0;
	e->icache = c;
	return STW_OK;
}

/* Releases the parsed data of the cached instances and closes the cache. */
static void cache_close(struct stw_engine *e)
{
	struct stw__icache *c = e->icache;
	if (c == NULL)
		return;
	for (int i = 0; i < c->n; i++)
		json_decref(c->list[i]->data);
	e->icache = NULL;
}

/* The slot of id in the cache: its entry, or the empty slot where it goes. */
static struct inst **cache_slot(struct stw__icache *c, const char *id)
{
	size_t i = hash_id(id) & (c->nslots - 1);
	while (c->slots[i] != NULL && strcmp(c->slots[i]->id, id) != 0)
		i = (i + 1) & (c->nslots - 1);
	return &c->slots[i];
}

/*
 * The batch's instance (def, id) in *out: from the cache, else loaded from
 * the store and cached, else (STW_ENOTFOUND) a new entry with version 0 that
 * the caller fills (status NULL until then). id must outlive the batch.
 */
static int cache_get(struct stw_engine *e, const struct stw__def *def, const char *id,
		     struct inst **out)
{
	struct stw__icache *c = e->icache;
	struct inst **slot = cache_slot(c, id);
	if (*slot != NULL && (*slot)->status != NULL) {
		*out = *slot;
		return STW_OK;
	}
	struct inst *in = *slot;
	if (in == NULL) {
		if (c->n >= c->cap)
			return stw__fail(e, STW_ESTORE, "instance cache full (%d)", c->cap);
		if ((in = stw__arena_alloc(&e->arena, sizeof(*in))) == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		int oom = 0;
		*in = (struct inst){ .id = stw__arena_strdup(&e->arena, id, &oom) };
		if (oom)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		*slot = in;
		c->list[c->n++] = in;
	}
	*out = in;
	int rc = load_instance(e, def, in);
	if (rc != STW_OK) {
		/* Not stored (or unreadable): an empty entry, ready for a trigger. */
		*in = (struct inst){ .id = in->id };
	}
	return rc;
}

/*
 * The id of the active or failed instance holding a uniqueness key, as the
 * batch sees it: a cached instance is authoritative (its changes are not
 * written yet), the store answers for the others. STW_ENOTFOUND if none.
 */
static int key_holder(struct stw_engine *e, const struct stw__def *def, const char *key,
		      char *holder, size_t cap)
{
	struct stw__icache *c = e->icache;
	for (int i = 0; c != NULL && i < c->n; i++) {
		const struct inst *in = c->list[i];
		if (in->status != NULL && in->key != NULL && strcmp(in->key, key) == 0 &&
		    (strcmp(in->status, ST_ACTIVE) == 0 || strcmp(in->status, ST_FAILED) == 0)) {
			stw__copy(holder, cap, in->id);
			return STW_OK;
		}
	}
	int rc = STW__S(e->store, key_holder, def->d->name, key, holder, cap);
	if (rc == STW_OK && c != NULL) {
		const struct inst *in = *cache_slot(c, holder);
		if (in != NULL && in->status != NULL)
			return STW_ENOTFOUND; /* it let the key go in this batch */
	}
	if (rc != STW_OK && rc != STW_ENOTFOUND)
		return stw__store_fail(e, rc, "checking a uniqueness key");
	return rc;
}

static int flush_history(struct stw_engine *e, struct stw__icache *c);

/*
 * Writes the batch's history rows, then its changed instances: updates
 * first (they only release uniqueness keys), then inserts (which may take a
 * released key).
 */
static int cache_flush(struct stw_engine *e, const struct stw__def *def)
{
	struct stw__icache *c = e->icache;
	int rc = flush_history(e, c);
	if (rc != STW_OK)
		return rc;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < c->n; i++) {
			struct inst *in = c->list[i];
			if (!in->dirty || (in->stored_version == 0) != (pass == 1))
				continue;
			rc = write_instance(e, def, in);
			if (rc != STW_OK)
				return rc;
		}
	return STW_OK;
}

/* Keeps a history row (and copies of its strings) in the arena until cache_flush. */
static int defer_history(struct stw_engine *e, struct stw__icache *c,
			 const struct stw__history_row *row)
{
	struct stw__arena *a = &e->arena;
	if (c->nhist == c->hist_cap) {
		int cap = c->hist_cap ? 2 * c->hist_cap : c->cap + 16;
		struct stw__history_row *h = stw__arena_alloc(a, (size_t)cap * sizeof(*h));
		if (h == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		if (c->nhist > 0)
			memcpy(h, c->hist, (size_t)c->nhist * sizeof(*h));
		c->hist = h;
		c->hist_cap = cap;
	}
	int oom = 0;
	struct stw__history_row *r = &c->hist[c->nhist];
	*r = *row;
	r->instance_id = stw__arena_strdup(a, row->instance_id, &oom);
	r->message_id = stw__arena_strdup(a, row->message_id, &oom);
	r->message_type = stw__arena_strdup(a, row->message_type, &oom);
	r->context = row->context ? stw__arena_strdup(a, row->context, &oom) : NULL;
	r->from_state = row->from_state ? stw__arena_strdup(a, row->from_state, &oom) : NULL;
	r->to_state = row->to_state ? stw__arena_strdup(a, row->to_state, &oom) : NULL;
	r->reason = row->reason ? stw__arena_strdup(a, row->reason, &oom) : NULL;
	if (oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	c->nhist++;
	return STW_OK;
}

static int write_history(struct stw_engine *e, const struct stw__def *def, const char *inst_id,
			 const struct stw_event *ev, const char *from, const char *to,
			 const char *outcome, const char *reason)
{
	struct stw__history_row row = {
		.definition = def->d->name,
		.instance_id = inst_id,
		.message_id = ev->id,
		.message_type = ev->type,
		.context = ev->context,
		.from_state = from,
		.to_state = to,
		.outcome = outcome,
		.reason = reason,
		.at = stw__now(e),
	};
	struct stw__icache *c = e->icache;
	if (c != NULL && !c->careful)
		return defer_history(e, c, &row);
	int rc = STW__S(e->store, history_insert, &row);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "writing history");
}

/*
 * Writes the batch's deferred history rows. The fast path did not probe the
 * history: a row already there (STW_EEXIST) means a redelivered message, and
 * the batch is redone carefully (STW__EDUP).
 */
static int flush_history(struct stw_engine *e, struct stw__icache *c)
{
	if (c->nhist == 0)
		return STW_OK;
	int rc = STW__S(e->store, history_insert_many, c->hist, (size_t)c->nhist);
	c->nhist = 0;
	if (rc == STW_EEXIST)
		return stw__fail(e, STW__EDUP, "a message of the batch is in the history already");
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "writing history");
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
 * Builds the payloads of transition t's commands and writes them to the
 * outbox. All payloads are built before anything is written, so a failing
 * callback leaves no partial commands. Returns STW_OK, a store/memory error,
 * or STW_EINVAL with *why set when a callback failed.
 */
static int send_commands(struct stw_engine *e, const struct stw__def *def, int t,
			 struct stw_step_info *si, const char *correlation, char *why,
			 size_t whycap)
{
	const struct stw_command_def *cmds = def->d->transitions[t].commands;
	if (cmds == NULL || cmds[0].context == NULL)
		return STW_OK;
	int n = 0;
	while (cmds[n].context != NULL)
		n++;
	char **payloads = calloc((size_t)n, sizeof(char *));
	if (payloads == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW_OK;
	for (int i = 0; i < n && rc == STW_OK; i++) {
		json_t *p = NULL;
		si->command_index = i;
		if (cmds[i].payload != NULL) {
			int cb = cmds[i].payload(si, &p);
			if (cb != STW_OK || !json_is_object(p)) {
				snprintf(why, whycap, "payload of %s.%s failed (%s)",
					 cmds[i].context, cmds[i].type,
					 cb != STW_OK ? stw_strerror(cb) : "not a JSON object");
				json_decref(p);
				rc = STW_EINVAL;
				break;
			}
		} else if ((p = json_deep_copy(si->data)) == NULL) {
			rc = stw__fail(e, STW_ENOMEM, "out of memory");
			break;
		}
		payloads[i] = json_dumps(p, JSON_COMPACT);
		json_decref(p);
		if (payloads[i] == NULL)
			rc = stw__fail(e, STW_ENOMEM, "cannot serialise a payload");
		else if (strlen(payloads[i]) > STW_MAX_JSON) {
			snprintf(why, whycap, "payload of %s.%s is larger than %d bytes",
				 cmds[i].context, cmds[i].type, STW_MAX_JSON);
			rc = STW_EINVAL;
		}
	}
	int64_t now = stw__now(e);
	for (int i = 0; i < n && rc == STW_OK; i++) {
		char id[33];
		const char *parts[3] = { def->d->name, si->instance_id ? si->instance_id : "",
					 si->event->id };
		stw__derive_id(id, si->event->recorded_at, parts, 3, i);
		struct stw__outbox_row row = {
			.command_id = id,
			.context = cmds[i].context,
			.type = cmds[i].type,
			.definition = def->d->name,
			.instance_id = si->instance_id,
			.correlation_id = correlation,
			.causation_id = si->event->id,
			.data = payloads[i],
			.status = "pending",
			.created_at = now,
		};
		rc = STW__S(e->store, outbox_insert, &row);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "writing the outbox");
	}
	for (int i = 0; i < n; i++)
		free(payloads[i]);
	free(payloads);
	return rc;
}

/* Marks an instance failed with a reason (the first reason stays). */
static void set_failed(struct stw_engine *e, struct inst *in, const char *reason)
{
	if (strcmp(in->status, ST_FAILED) != 0) {
		e->stats.failures++;
		int oom = 0;
		in->reason = stw__arena_strdup(&e->arena, reason, &oom);
	}
	in->status = ST_FAILED;
}

/*
 * Computes the due times of a transition's timers into due[] (before anything
 * is written, so a failing callback leaves nothing). Sets why on failure.
 */
static void timer_due_times(struct stw_engine *e, const struct stw_transition_def *td,
			    const struct stw_step_info *si, int64_t *due, char *why, size_t cap)
{
	int64_t now = stw__now(e);
	for (int i = 0; td->timers != NULL && td->timers[i].message != NULL; i++) {
		const struct stw_timer_def *tm = &td->timers[i];
		due[i] = now + tm->delay_ms;
		if (tm->due != NULL) {
			int cb = tm->due(si, &due[i]);
			if (cb != STW_OK) {
				snprintf(why, cap, "due time of timer %s failed (%s)", tm->message,
					 stw_strerror(cb));
				return;
			}
		}
	}
}

/* Writes the timers of transition td for the instance's current state epoch. */
static int arm_timers(struct stw_engine *e, const struct stw__def *def,
		      const struct stw_transition_def *td, const struct inst *in,
		      const struct stw_event *ev, const int64_t *due)
{
	int64_t now = stw__now(e);
	for (int i = 0; td->timers != NULL && td->timers[i].message != NULL; i++) {
		char id[33];
		const char *parts[4] = { "timer", def->d->name, in->id, ev->id };
		stw__derive_id(id, -1, parts, 4, i);
		struct stw__timer_row row = {
			.id = id,
			.definition = def->d->name,
			.instance_id = in->id,
			.message_type = td->timers[i].message,
			.due_at = due[i],
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

/* 1 if a transition hands the instance data to a callback or copies it into a command. */
static int uses_data(const struct stw_transition_def *td)
{
	if (td->update != NULL || (td->commands != NULL && td->commands[0].context != NULL))
		return 1;
	for (int i = 0; td->timers != NULL && td->timers[i].message != NULL; i++)
		if (td->timers[i].due != NULL)
			return 1;
	return 0;
}

/*
 * Applies transition t to instance in (already loaded or new) for message
 * ev: update callback, commands, timers, new state and status, history row,
 * save.
 */
static int apply(struct stw_engine *e, const struct stw__def *def, int t, struct inst *in,
		 const struct stw_event *ev)
{
	const struct stw_transition_def *td = &def->d->transitions[t];
	if (uses_data(td)) {
		int rc = need_data(e, def, in);
		if (rc != STW_OK)
			return rc;
	}
	int from = in->version == 0 ? -1 : in->state;
	int to = def->to[t] >= 0 ? def->to[t] : from;
	struct stw_step_info si = {
		.definition = def->d->name,
		.instance_id = in->id,
		.from = state_name(def, from),
		.to = state_name(def, to),
		.data = in->data,
		.event = ev,
		.ud = def->d->ud,
	};
	char why[512] = "";
	int rc = STW_OK;
	int64_t due[STW__MAX_TIMERS];
	if (td->update != NULL) {
		int cb = td->update(&si);
		if (cb != STW_OK)
			snprintf(why, sizeof(why), "update callback on %s failed (%s)", ev->type,
				 stw_strerror(cb));
	}
	if (why[0] == '\0')
		timer_due_times(e, td, &si, due, why, sizeof(why));
	if (why[0] == '\0') {
		rc = send_commands(e, def, t, &si, in->id, why, sizeof(why));
		if (rc != STW_OK && rc != STW_EINVAL)
			return rc;
	}
	if (why[0] != '\0') {
		/* A callback failed: the process cannot go on by itself. */
		if (in->version == 0)
			in->state = to;
		set_failed(e, in, why);
		rc = write_history(e, def, in->id, ev, si.from, si.from ? si.from : si.to, "failed",
				   why);
	} else {
		/* Entering a state (not staying) starts a new epoch: the timers of
		 * the state left no longer apply. */
		if (in->version == 0 || to != from)
			in->entered_version = in->version + 1;
		in->state = to;
		rc = arm_timers(e, def, td, in, ev, due);
		if (rc != STW_OK)
			return rc;
		enum stw_state_kind kind = def->d->states[to].kind;
		if (kind == STW_STATE_TERMINAL && strcmp(in->status, ST_ACTIVE) == 0)
			in->status = ST_COMPLETED;
		else if (stw__failure_kind(kind)) {
			/* The message's own reason, when it has one, says the most. */
			const char *why_msg = stw_event_str(ev, "reason");
			char reason[512];
			if (why_msg != NULL)
				snprintf(reason, sizeof(reason), "%s: %.300s", ev->type, why_msg);
			else
				snprintf(reason, sizeof(reason), "%s led to failure state %s",
					 ev->type, si.to);
			set_failed(e, in, reason);
		}
		e->stats.steps++;
		rc = write_history(e, def, in->id, ev, si.from, si.to, "applied", NULL);
	}
	if (rc == STW_OK)
		rc = save_instance(e, def, in);
	return rc;
}

/* Handles one event for a stateless policy: commands only. */
static int handle_policy(struct stw_engine *e, const struct stw__def *def,
			 const struct stw_event *ev)
{
	int t = find_transition(def, -1, ev->type);
	struct stw_step_info si = {
		.definition = def->d->name,
		.data = ev->data,
		.event = ev,
		.ud = def->d->ud,
	};
	char why[512] = "";
	int rc = send_commands(e, def, t, &si, ev->correlation_id, why, sizeof(why));
	if (rc == STW_EINVAL)
		return write_unrouted(e, def, ev, why);
	if (rc == STW_OK)
		e->stats.steps++;
	return rc;
}

/* Validates a key returned by a callback; NULL stays NULL. */
static const char *checked_key(const char *k, int *bad)
{
	if (k != NULL && !stw__valid_id(k))
		*bad = 1;
	return k;
}

/*
 * Delivers a message to a loaded instance: skips a message it already
 * handled, records what an ended or halted instance ignores, fails the
 * instance on a message its state does not accept, else applies the
 * transition. Shared by events and timers.
 */
static int deliver(struct stw_engine *e, const struct stw__def *def, struct inst *in,
		   const struct stw_event *ev)
{
	const struct stw_definition *d = def->d;
	const char *id = in->id;
	int rc;
	/* The history's unique index recognises a message handled before when its
	 * row is inserted (write_history): the batch is then redone carefully,
	 * with this probe before each message. Redeliveries are rare (a cursor
	 * set back by a person), so the common path spends no statement on it. */
	if (e->icache == NULL || e->icache->careful) {
		rc = STW__S(e->store, history_has, d->name, id, ev->id);
		if (rc == STW_OK) {
			e->stats.duplicates++;
			return STW_OK;
		}
		if (rc != STW_ENOTFOUND)
			return stw__store_fail(e, rc, "checking history");
	}
	const char *cur = state_name(def, in->state);
	int t = find_transition(def, in->state, ev->type);
	int failed = strcmp(in->status, ST_FAILED) == 0;
	/* A failure state is a designed path and keeps following the table; an
	 * instance that failed anywhere else (an unexpected message, a failing
	 * callback) halts until a person acknowledges it. */
	int halted = failed && !stw__failure_kind(def->d->states[in->state].kind);
	if (!failed && strcmp(in->status, ST_ACTIVE) != 0) {
		/* Ended instances keep their state; the message is recorded. */
		char why[128];
		snprintf(why, sizeof(why), "instance is %s", in->status);
		rc = write_history(e, def, id, ev, cur, cur, "ignored", why);
	} else if (halted || (failed && t < 0)) {
		/* Recorded without a second failure. */
		char why[2 * STW_MAX_NAME + 64];
		if (halted)
			snprintf(why, sizeof(why), "instance failed in state %s", cur);
		else
			snprintf(why, sizeof(why), "%s is not accepted in state %s", ev->type, cur);
		rc = write_history(e, def, id, ev, cur, cur, "ignored", why);
	} else if (t < 0) {
		char why[2 * STW_MAX_NAME + 64];
		snprintf(why, sizeof(why), "%s is not accepted in state %s", ev->type, cur);
		set_failed(e, in, why);
		rc = write_history(e, def, id, ev, cur, cur, "failed", why);
		if (rc == STW_OK)
			rc = save_instance(e, def, in);
	} else {
		rc = apply(e, def, t, in, ev);
	}
	return rc;
}

/* Routes one event of a stateful definition to its instance and applies it. */
static int handle_event(struct stw_engine *e, const struct stw__def *def,
			const struct stw_event *ev)
{
	const struct stw_definition *d = def->d;
	int bad = 0;
	const char *id =
	    checked_key(d->correlate ? d->correlate(ev, d->ud) : ev->correlation_id, &bad);
	if (id == NULL || bad)
		return write_unrouted(e, def, ev,
				      bad ? "invalid correlation id" : "no correlation id");
	struct inst *in = NULL;
	int rc = cache_get(e, def, id, &in);
	if (rc == STW_ENOTFOUND) {
		int t = find_transition(def, -1, ev->type);
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
			rc = key_holder(e, def, key, holder, sizeof(holder));
			if (rc == STW_OK) {
				char why[2 * STW_MAX_ID + 64];
				snprintf(why, sizeof(why), "key %s is held by instance %s", key,
					 holder);
				if ((in->data = json_deep_copy(ev->data)) == NULL)
					return stw__fail(e, STW_ENOMEM, "out of memory");
				in->key = k;
				in->status = ST_REJECTED;
				in->state = def->to[t];
				in->reason = stw__arena_strdup(&e->arena, why, &oom);
				if (oom)
					return stw__fail(e, STW_ENOMEM, "out of memory");
				e->stats.rejected++;
				rc = write_history(e, def, in->id, ev, NULL, NULL, "rejected", why);
				if (rc == STW_OK)
					rc = save_instance(e, def, in);
				return rc;
			}
			if (rc != STW_ENOTFOUND)
				return rc;
		}
		in->data = d->transitions[t].update ? json_object() : json_deep_copy(ev->data);
		if (in->data == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		in->key = k;
		in->status = ST_ACTIVE;
		in->state = def->to[t];
		return apply(e, def, t, in, ev);
	}
	if (rc != STW_OK)
		return rc;
	return deliver(e, def, in, ev);
}

int stw__live(const struct stw__def *def, const char *status, int state)
{
	if (strcmp(status, ST_ACTIVE) == 0)
		return 1;
	return strcmp(status, ST_FAILED) == 0 && state >= 0 &&
	       stw__failure_kind(def->d->states[state].kind);
}

/* 1 if `type` is the message of a timer the definition arms. */
static int is_timer_message(const struct stw__def *def, const char *type)
{
	for (int i = 0; def->ntimers > 0 && i < def->ntransitions; i++)
		for (const struct stw_timer_def *tm = def->d->transitions[i].timers;
		     tm != NULL && tm->message != NULL; tm++)
			if (strcmp(tm->message, type) == 0)
				return 1;
	return 0;
}

/* Handles one stored event for a definition (skipping types it does not take). */
static int handle_row(struct stw_engine *e, const struct stw__def *def,
		      const struct stw__event_row *row)
{
	if (!handles_type(def, row->type))
		return STW_OK;
	struct stw_event ev;
	int rc = stw__event_from_row(e, row, &ev);
	if (rc != STW_OK)
		return rc;
	if (is_timer_message(def, ev.type)) {
		/* A timer's message comes from the engine only: an event cannot
		 * impersonate it. */
		rc = write_unrouted(e, def, &ev, "the type is a timer message of the definition");
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
	int rc = STW__S0(s, begin);
	if (rc == STW_OK)
		rc = STW__S(s, cursor_attempt, def->d->name, context, cursor, attempts);
	if (rc == STW_OK)
		rc = STW__S0(s, commit);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "counting an attempt");
		STW__S0(s, rollback);
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
	struct inst in = { .id = id };
	rc = id != NULL && !bad ? load_instance(e, def, &in) : STW_ENOTFOUND;
	if (rc == STW_OK) {
		const char *cur = state_name(def, in.state);
		int live = strcmp(in.status, ST_ACTIVE) == 0;
		if (live)
			set_failed(e, &in, why);
		rc = write_history(e, def, id, &ev, cur, cur, "parked", why);
		if (rc == STW_OK && live)
			rc = save_instance(e, def, &in);
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
 * cache (cache_close) whatever the outcome.
 */
static int handle_rows(struct stw_engine *e, const struct stw__def *def, const struct batch *b,
		       int careful)
{
	int rc = cache_open(e, b->n, careful);
	for (int i = 0; rc == STW_OK && i < b->n; i++)
		rc = handle_row(e, def, &b->rows[i]);
	return rc == STW_OK ? cache_flush(e, def) : rc;
}

int stw__step_batch(struct stw_engine *e, const struct stw__def *def, const char *context,
		    int *handled)
{
	struct stw__store *s = e->store;
	const char *name = def->d->name;
	int at_most_once = def->d->delivery == STW_AT_MOST_ONCE;
	int64_t cursor = 0, head = 0;
	int64_t started = stw__mono_us();
	*handled = 0;
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

	stw__arena_reset(&e->arena);
	struct batch b = { .e = e, .cap = cap };
	b.rows = stw__arena_alloc(&e->arena, sizeof(*b.rows) * (size_t)b.cap);
	if (b.rows == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if ((rc = STW__S0(s, begin)) != STW_OK)
		return stw__store_fail(e, rc, "beginning a step");
	/* Re-read the cursor under the write lock: another engine may have moved it. */
	rc = STW__S(s, cursor_get, name, context, &cursor);
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
		STW__S0(s, rollback);
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
	struct stw_stats before = e->stats;
	if (cap == 1 && attempts > e->max_input_attempts) {
		/* This event stopped the worker every time: park it. */
		rc = park_input(e, def, &b.rows[0], attempts);
	} else {
		rc = handle_rows(e, def, &b, 0);
	}
	if (rc == STW__EDUP) {
		/* A redelivered message: undo the batch and redo it with a history
		 * probe before each message. */
		cache_close(e);
		e->stats = before;
		STW__S0(s, rollback);
		if ((rc = STW__S0(s, begin)) != STW_OK)
			return stw__store_fail(e, rc, "beginning a step");
		int64_t again = cursor;
		if (!at_most_once &&
		    (rc = STW__S(s, cursor_get, name, context, &again)) != STW_OK) {
			stw__store_fail(e, rc, "reading a cursor");
			goto fail;
		}
		if (again != cursor) {
			/* Another engine took the batch meanwhile: nothing left to do. */
			STW__S0(s, rollback);
			*handled = 1;
			return STW_OK;
		}
		rc = handle_rows(e, def, &b, 1);
	}
	if (rc != STW_OK)
		goto fail;
	if (!at_most_once && (rc = STW__S(s, cursor_set, name, context, last)) != STW_OK) {
		stw__store_fail(e, rc, "saving a cursor");
		goto fail;
	}
	stw__failpoint(e, "step.before_commit");
	if ((rc = STW__S0(s, commit)) != STW_OK) {
		stw__store_fail(e, rc, "committing a step");
		goto fail;
	}
	cache_close(e);
	stw__count_commit(e);
	stw__failpoint(e, "step.after_commit");
	*handled = b.n;
	stw__observe(e, STW_ACTIVITY_STEP, name, context, b.n, def->nstates > 0, started);
	return STW_OK;
fail:
	cache_close(e);
	STW__S0(s, rollback);
	if (rc == STW_ECONFLICT) {
		/* Another worker changed an instance: retry the batch on the next round. */
		stw__log(e, STW_LOG_INFO, "%s: version conflict, retrying: %s", name, e->errmsg);
		*handled = 1;
		return STW_OK;
	}
	stw__log(e, STW_LOG_ERROR, "%s: step on %s failed: %s", name, context, e->errmsg);
	return rc;
}

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
	struct inst *in = NULL;
	*fired = 0;
	int rc = cache_get(e, def, t->instance_id, &in);
	if (rc != STW_OK && rc != STW_ENOTFOUND)
		return rc;
	int live = rc == STW_OK && in->entered_version == t->entered_version &&
		   stw__live(def, in->status, in->state);
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
		else
			rc = deliver(e, def, in, &ev);
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

int stw__fire_timers(struct stw_engine *e, const struct stw__def *def, int *fired)
{
	struct stw__store *s = e->store;
	const char *name = def->d->name;
	*fired = 0;
	if (def->ntimers == 0)
		return STW_OK;
	int64_t now = stw__now(e), next = 0;
	int rc = STW__S(s, timer_next, name, &next);
	if (rc == STW_ENOTFOUND || (rc == STW_OK && next > now))
		return STW_OK; /* nothing due: no lock taken */
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "finding the next timer");
	int64_t started = stw__mono_us();
	stw__arena_reset(&e->arena);
	struct due_list l = { .e = e, .cap = stw__batch_cap(e) };
	l.rows = stw__arena_alloc(&e->arena, sizeof(*l.rows) * (size_t)l.cap);
	int64_t *lateness = stw__arena_alloc(&e->arena, sizeof(int64_t) * (size_t)l.cap);
	if (l.rows == NULL || lateness == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	struct stw_stats before = e->stats;
	int nfired = 0;
	/* The first pass does not probe the history; a message found there by
	 * the history insert (STW__EDUP) makes a second, careful pass. */
	for (int careful = 0; careful < 2; careful++) {
		if ((rc = STW__S0(s, begin)) != STW_OK)
			return stw__store_fail(e, rc, "beginning to fire timers");
		l.n = 0;
		nfired = 0;
		rc = STW__S(s, timers_due, name, now, l.cap, due_cb, &l);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "reading due timers");
		else if (l.oom)
			rc = stw__fail(e, STW_ENOMEM, "out of memory");
		if (rc == STW_OK)
			rc = cache_open(e, l.n, careful);
		for (int i = 0; rc == STW_OK && i < l.n; i++) {
			int f = 0;
			rc = fire_one(e, def, &l.rows[i], now, &f);
			if (f)
				lateness[nfired++] = now - l.rows[i].due_at;
			if (rc == STW_OK)
				stw__failpoint(e, "timer.after_fire");
		}
		if (rc == STW_OK)
			rc = cache_flush(e, def);
		cache_close(e);
		if (rc != STW__EDUP)
			break;
		e->stats = before;
		STW__S0(s, rollback);
	}
	if (rc == STW_OK) {
		stw__failpoint(e, "timer.before_commit");
		if ((rc = STW__S0(s, commit)) != STW_OK)
			stw__store_fail(e, rc, "committing fired timers");
	}
	if (rc != STW_OK) {
		STW__S0(s, rollback);
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

int stw__retry(struct stw_engine *e, const struct stw__def *def, const char *id, int state,
	       const char *note)
{
	struct stw__store *s = e->store;
	int64_t started = stw__mono_us();
	stw__arena_reset(&e->arena);
	int rc = STW__S0(s, begin);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning a retry");
	struct inst in = { .id = id };
	json_t *data = NULL;
	rc = load_instance(e, def, &in);
	if (rc == STW_OK)
		rc = need_data(e, def, &in);
	if (rc == STW_ENOTFOUND)
		stw__fail(e, rc, "no instance %s of %s", id, def->d->name);
	else if (rc == STW_OK && strcmp(in.status, ST_FAILED) != 0)
		rc = stw__fail(e, STW_ESTATE, "instance %s is %s, not failed", id, in.status);
	if (rc != STW_OK)
		goto out;
	/* The retry is a message of its own: its id makes the new command ids. */
	char msg_id[48] = "retry-";
	stw_new_id(msg_id + 6);
	data = json_pack("{s:s, s:s?}", "state", def->d->states[state].name, "note", note);
	json_t *meta = json_object();
	struct stw_event ev = {
		.id = msg_id,
		.type = "Retry",
		.stream = "",
		.correlation_id = id,
		.data = data,
		.metadata = meta,
		.recorded_at = stw__now(e),
	};
	if (data == NULL || meta == NULL) {
		json_decref(meta);
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
		goto out;
	}
	/* The first transition of the table that enters the state: its commands
	 * and timers are the state's work, done again. */
	int t = -1;
	for (int i = 0; i < def->ntransitions && t < 0; i++)
		if (def->to[i] == state)
			t = i;
	int from = in.state;
	struct stw_step_info si = {
		.definition = def->d->name,
		.instance_id = id,
		.from = state_name(def, from),
		.to = state_name(def, state),
		.data = in.data,
		.event = &ev,
		.ud = def->d->ud,
	};
	char why[512] = "";
	int64_t due[STW__MAX_TIMERS];
	if (t >= 0) {
		timer_due_times(e, &def->d->transitions[t], &si, due, why, sizeof(why));
		if (why[0] == '\0')
			rc = send_commands(e, def, t, &si, id, why, sizeof(why));
	}
	if (rc == STW_OK && why[0] != '\0')
		rc = stw__fail(e, STW_EINVAL, "cannot retry %s from %s: %s", id, si.to, why);
	if (rc == STW_OK) {
		in.status = ST_ACTIVE;
		in.reason = NULL;
		in.state = state;
		in.entered_version = in.version + 1; /* a new epoch: old timers are void */
		if (t >= 0)
			rc = arm_timers(e, def, &def->d->transitions[t], &in, &ev, due);
	}
	if (rc == STW_OK)
		rc = write_history(e, def, id, &ev, si.from, si.to, "retried", note);
	if (rc == STW_OK)
		rc = save_instance(e, def, &in);
	json_decref(meta);
	if (rc == STW_OK && (rc = STW__S0(s, commit)) != STW_OK)
		stw__store_fail(e, rc, "committing a retry");
out:
	json_decref(data);
	json_decref(in.data);
	if (rc != STW_OK)
		STW__S0(s, rollback);
	else
		stw__observe(e, STW_ACTIVITY_ACK, def->d->name, NULL, 1, 1, started);
	return rc;
}
