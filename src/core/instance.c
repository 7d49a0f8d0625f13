/*
 * instance.c - the process instances of a batch: loaded from the store once,
 * kept in the batch's cache while every message of the batch changes them,
 * written once, version-checked, before the commit (inside a round's
 * transaction, staged for the round's commit: stage.h); and the history
 * rows the batch writes with them.
 */
#include "core/instance.h"
#include "core/stage.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copies a stored instance into the arena; the row dies with the callback. */
struct load {
	struct stw_engine *e;
	struct stw__inst *in;
	const char *state_name;
	int status; /* enum stw__istatus, or -1 for a word it does not know */
	int oom;
};

static int load_cb(const struct stw__instance_row *row, void *ud)
{
	struct load *l = ud;
	struct stw__arena *a = &l->e->arena;
	struct stw__inst *in = l->in;
	in->version = row->version;
	in->stored_version = row->version;
	in->created_at = row->created_at;
	in->updated_at = row->updated_at;
	in->entered_version = row->entered_version;
	in->definition_version = row->definition_version;
	l->state_name = stw__arena_strdup(a, row->state, &l->oom);
	l->status = stw__istatus_parse(row->status);
	in->data_text = stw__arena_strdup(a, row->data, &l->oom);
	in->key = stw__arena_strdup(a, row->unique_key, &l->oom);
	in->reason = stw__arena_strdup(a, row->reason, &l->oom);
	return 1;
}

/*
 * Loads instance (def, id) into *in (in->id must be set), leaving its data
 * as text: as the round staged it (stage.h), else from the store.
 * STW_ENOTFOUND when it does not exist.
 */
int stw__inst_load(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in)
{
	struct load l = { .e = e, .in = in };
	const struct stw__instance_row *staged = stw__stage_find(e, def->d->name, in->id);
	int rc = STW_OK;
	if (staged != NULL)
		load_cb(staged, &l);
	else
		rc = STW__S(e->store, instance_get, def->d->name, in->id, load_cb, &l);
	if (rc == STW_ENOTFOUND)
		return rc;
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "loading an instance");
	if (l.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	const struct stw__def *at = stw__find_def_version(e, def->d->name, in->definition_version);
	in->def = at != NULL ? at : def;
	in->state = stw__state_index(in->def, l.state_name);
	in->status = l.status < 0 ? STW__I_NONE : (enum stw__istatus)l.status;
	in->state_text = l.state_name;
	in->malformed = 1;
	if (at == NULL)
		return stw__fail(
		    e, STW_ESTORE,
		    "instance %s of %s is malformed (version %lld of the definition is "
		    "not registered)",
		    in->id, def->d->name, (long long)in->definition_version);
	if (in->data_text == NULL || in->state < 0)
		return stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (unknown state %s)",
				 in->id, def->d->name, l.state_name ? l.state_name : "?");
	if (l.status < 0)
		return stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (unknown status)",
				 in->id, def->d->name);
	if (!stw__inst_version_ok(in->version))
		return stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (version %lld)",
				 in->id, def->d->name, (long long)in->version);
	in->malformed = 0;
	return STW_OK;
}

int stw__inst_quarantine(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
			 const struct stw_event *ev)
{
	char why[STW_MAX_NOTE];
	stw__copy(why, sizeof(why), e->errmsg);
	stw__log(e, STW_LOG_ERROR, "%s: %s not delivered to it: %s", def->d->name, ev->type, why);
	int rc = STW_OK;
	if (in->status != STW__I_FAILED) {
		int64_t now = stw__now(e);
		struct stw__instance_row row = {
			.definition = def->d->name,
			.id = in->id,
			.state = in->state_text ? in->state_text : "",
			.status = stw__istatus_word(STW__I_FAILED),
			.data = in->data_text ? in->data_text : "{}",
			.unique_key = in->key,
			.reason = why,
			/* A version out of range cannot grow: the check still holds. */
			.version =
			    stw__inst_version_ok(in->version) ? in->version + 1 : in->version,
			.created_at = in->created_at,
			.updated_at = now,
			.entered_version = in->entered_version,
		};
		rc = STW__S(e->store, instance_update, &row, in->stored_version);
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "failing a malformed instance");
		in->status = STW__I_FAILED;
		e->stats.failures++;
	}
	return stw__history_write(e, def, in->id, ev, in->state_text, in->state_text, STW__O_FAILED,
				  why);
}

int stw__inst_version_ok(int64_t version)
{
	return version >= 1 && version < INT64_MAX;
}

/* Parses the instance's data if it is still text. */
int stw__inst_data(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in)
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
 * Inside a round's transaction it is staged instead, and written with the
 * round's other changes before the commit (stage.h).
 */
static int write_instance(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in)
{
	char *dumped = NULL;
	if (in->data != NULL && (dumped = json_dumps(in->data, JSON_COMPACT)) == NULL)
		return stw__fail(e, STW_ENOMEM, "cannot serialise instance data");
	const struct stw__def *at = in->def != NULL ? in->def : def;
	struct stw__instance_row row = {
		.definition = def->d->name,
		.id = in->id,
		.state = at->d->states[in->state].name,
		.status = stw__istatus_word(in->status),
		.data = dumped          ? dumped
			: in->data_text ? in->data_text
					: "{}",
		.unique_key = in->key,
		.reason = in->reason,
		.version = in->version,
		.created_at = in->created_at,
		.updated_at = in->updated_at,
		.entered_version = in->entered_version,
		.definition_version = in->definition_version,
	};
	int rc;
	if (stw__stage_on(e)) {
		rc = stw__stage_put(e, &row, in->stored_version);
		free(dumped);
		if (rc != STW_OK)
			return rc;
		in->stored_version = in->version;
		in->dirty = 0;
		return STW_OK;
	}
	if (in->stored_version == 0)
		rc = STW__S(e->store, instance_insert, &row);
	else
		rc = STW__S(e->store, instance_update, &row, in->stored_version);
	free(dumped);
	/* Found free when this transaction looked, the id or the key was taken
	 * by another engine's commit since (a store with concurrent writers):
	 * a conflict, and the step is tried again, finding the one there now. */
	if (rc == STW_EEXIST && in->stored_version == 0)
		return stw__fail(e, STW_ECONFLICT, "instance %s/%s: %s", def->d->name, in->id,
				 STW__S0(e->store, errmsg));
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
int stw__inst_save(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in)
{
	int64_t now = stw__now(e);
	if (in->version == 0) {
		in->created_at = now;
		in->definition_version = stw__def_version(def);
	}
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
int stw__icache_open(struct stw_engine *e, int cap, int careful)
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
void stw__icache_close(struct stw_engine *e)
{
	struct stw__icache *c = e->icache;
	if (c == NULL)
		return;
	for (int i = 0; i < c->n; i++)
		json_decref(c->list[i]->data);
	e->icache = NULL;
}

/* The slot of id in the cache: its entry, or the empty slot where it goes. */
static struct stw__inst **cache_slot(struct stw__icache *c, const char *id)
{
	size_t i = hash_id(id) & (c->nslots - 1);
	while (c->slots[i] != NULL && strcmp(c->slots[i]->id, id) != 0)
		i = (i + 1) & (c->nslots - 1);
	return &c->slots[i];
}

/*
 * The batch's instance (def, id) in *out: from the cache, else loaded from
 * the store and cached, else (STW_ENOTFOUND) a new entry with version 0 that
 * the caller fills (status STW__I_NONE until then). id must outlive the batch.
 */
int stw__icache_get(struct stw_engine *e, const struct stw__def *def, const char *id,
		    struct stw__inst **out)
{
	struct stw__icache *c = e->icache;
	struct stw__inst **slot = cache_slot(c, id);
	if (*slot != NULL && (*slot)->malformed) {
		*out = *slot; /* failed once in this batch (stw__inst_quarantine) */
		return stw__fail(e, STW_ESTORE, "instance %s of %s is malformed (state %s)", id,
				 def->d->name, (*slot)->state_text ? (*slot)->state_text : "?");
	}
	if (*slot != NULL && (*slot)->status != STW__I_NONE) {
		*out = *slot;
		return STW_OK;
	}
	struct stw__inst *in = *slot;
	if (in == NULL) {
		if (c->n >= c->cap)
			return stw__fail(e, STW_ESTORE, "instance cache full (%d)", c->cap);
		if ((in = stw__arena_alloc(&e->arena, sizeof(*in))) == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		int oom = 0;
		*in =
		    (struct stw__inst){ .id = stw__arena_strdup(&e->arena, id, &oom), .def = def };
		if (oom)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		*slot = in;
		c->list[c->n++] = in;
	}
	*out = in;
	int rc = stw__inst_load(e, def, in);
	if (rc != STW_OK && !in->malformed) {
		/* Not stored (or unreadable): an empty entry, ready for a trigger of
		 * the newest version. */
		*in = (struct stw__inst){ .id = in->id, .def = def };
	}
	return rc;
}

/* 1 when the batch's cache holds instance id (filled: its changes are the newest). */
static int in_batch(struct stw__icache *c, const char *id)
{
	const struct stw__inst *in = c != NULL ? *cache_slot(c, id) : NULL;
	return in != NULL && in->status != STW__I_NONE;
}

/*
 * The id of the active or failed instance holding a uniqueness key, as the
 * batch sees it: a cached instance is authoritative (its changes are not
 * written yet), then one the round staged, and the store answers for the
 * others. STW_ENOTFOUND if none.
 */
int stw__key_holder(struct stw_engine *e, const struct stw__def *def, const char *key, char *holder,
		    size_t cap)
{
	struct stw__icache *c = e->icache;
	for (int i = 0; c != NULL && i < c->n; i++) {
		const struct stw__inst *in = c->list[i];
		if (in->key != NULL && strcmp(in->key, key) == 0 &&
		    (in->status == STW__I_ACTIVE || in->status == STW__I_FAILED)) {
			stw__copy(holder, cap, in->id);
			return STW_OK;
		}
	}
	for (size_t i = 0; i < stw__stage_count(e); i++) {
		const struct stw__instance_row *r = stw__stage_row(e, i);
		int status = stw__istatus_parse(r->status);
		if (r->unique_key != NULL && strcmp(r->unique_key, key) == 0 &&
		    strcmp(r->definition, def->d->name) == 0 &&
		    (status == STW__I_ACTIVE || status == STW__I_FAILED) && !in_batch(c, r->id)) {
			stw__copy(holder, cap, r->id);
			return STW_OK;
		}
	}
	int rc = STW__S(e->store, key_holder, def->d->name, key, holder, cap);
	/* Changed in this batch or this round: it let the key go. */
	if (rc == STW_OK &&
	    (in_batch(c, holder) || stw__stage_find(e, def->d->name, holder) != NULL))
		return STW_ENOTFOUND;
	if (rc != STW_OK && rc != STW_ENOTFOUND)
		return stw__store_fail(e, rc, "checking a uniqueness key");
	return rc;
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

/*
 * Writes the batch's history rows, then its changed instances: updates
 * first (they only release uniqueness keys), then inserts (which may take a
 * released key).
 */
int stw__icache_flush(struct stw_engine *e, const struct stw__def *def)
{
	struct stw__icache *c = e->icache;
	int rc = flush_history(e, c);
	if (rc != STW_OK)
		return rc;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < c->n; i++) {
			struct stw__inst *in = c->list[i];
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

int stw__history_write(struct stw_engine *e, const struct stw__def *def, const char *inst_id,
		       const struct stw_event *ev, const char *from, const char *to,
		       enum stw__outcome outcome, const char *reason)
{
	struct stw__history_row row = {
		.definition = def->d->name,
		.instance_id = inst_id,
		.message_id = ev->id,
		.message_type = ev->type,
		.context = ev->context,
		.from_state = from,
		.to_state = to,
		.outcome = stw__outcome_word(outcome),
		.reason = reason,
		.at = stw__now(e),
	};
	struct stw__icache *c = e->icache;
	if (c != NULL && !c->careful)
		return defer_history(e, c, &row);
	int rc = STW__S(e->store, history_insert, &row);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "writing history");
}

/* Marks an instance failed with a reason (the first reason stays). */
void stw__inst_fail(struct stw_engine *e, struct stw__inst *in, const char *reason)
{
	if (in->status != STW__I_FAILED) {
		e->stats.failures++;
		int oom = 0;
		in->reason = stw__arena_strdup(&e->arena, reason, &oom);
	}
	in->status = STW__I_FAILED;
}
