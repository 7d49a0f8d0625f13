/*
 * migrate.c - moving the live instances of one version of a definition to
 * another (stw_migrate): the later version declares how (struct
 * stw_migration_def: a state map and an optional data transform). Each
 * instance moves in a transaction of its own, version-checked, with a
 * history row, so that a crash in the middle of a migration leaves every
 * instance either moved once or not at all, and running it again moves the
 * rest. A dry run reads the same way and writes nothing.
 */
#include "core/instance.h"
#include "core/machine.h"
#include "core/txn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Attempts of one instance that another writer changed in between. */
#define ATTEMPTS 3

/* What one migration run knows. */
struct run {
	struct stw_engine *e;
	const char *name;
	const struct stw__def *to;
	const struct stw_migration_def *m;
	const struct stw_migrate_opts *o;
	char msg_id[48]; /* the history row's message id: migrate-F-T */
	char why[STW_MAX_NOTE];
	json_t *items;
	int64_t migrated, left, changed;
};

/* A stored instance, copied out of the store's callback. */
struct stored {
	struct stw__instance_row row;
	char *state, *status, *data, *key, *reason;
	int found;
};

static int stored_cb(const struct stw__instance_row *r, void *ud)
{
	struct stored *s = ud;
	s->found = 1;
	s->row = *r;
	s->state = strdup(r->state);
	s->status = strdup(r->status);
	s->data = strdup(r->data);
	s->key = r->unique_key ? strdup(r->unique_key) : NULL;
	s->reason = r->reason ? strdup(r->reason) : NULL;
	return s->state && s->status && s->data ? 1 : STW_ENOMEM;
}

static void stored_free(struct stored *s)
{
	free(s->state);
	free(s->status);
	free(s->data);
	free(s->key);
	free(s->reason);
	memset(s, 0, sizeof(*s));
}

/* The pending timers of an instance that apply to its state (its epoch). */
struct timers {
	int64_t epoch;
	char *id[STW__MAX_TIMERS * 4];
	char *type[STW__MAX_TIMERS * 4];
	int n, over;
};

static int timers_cb(const struct stw__timer_row *r, void *ud)
{
	struct timers *t = ud;
	if (r->entered_version != t->epoch)
		return 0; /* void already: armed in a state the instance left */
	if (t->n == (int)(sizeof(t->id) / sizeof(t->id[0]))) {
		t->over = 1;
		return 1;
	}
	t->id[t->n] = strdup(r->id);
	t->type[t->n] = strdup(r->message_type);
	t->n++;
	return t->id[t->n - 1] && t->type[t->n - 1] ? 0 : STW_ENOMEM;
}

static void timers_free(struct timers *t)
{
	for (int i = 0; i < t->n; i++) {
		free(t->id[i]);
		free(t->type[i]);
	}
	t->n = 0;
}

/*
 * The state of the new version that stored state `state` maps to, or -1
 * with r->why saying why the instance cannot move.
 */
static int map_state(struct run *r, const char *state, const char *status)
{
	const char *to = state;
	for (const struct stw_state_map *sm = r->m->states; sm != NULL && sm->from != NULL; sm++)
		if (strcmp(sm->from, state) == 0) {
			if (sm->to == NULL) {
				snprintf(r->why, sizeof(r->why),
					 "the migration leaves instances in %s on version %d",
					 state, r->o->from);
				return -1;
			}
			to = sm->to;
			break;
		}
	int st = stw__state_index(r->to, to);
	if (st < 0) {
		snprintf(r->why, sizeof(r->why), "no mapping for state %s in version %d", state,
			 r->o->to);
		return -1;
	}
	if (strcmp(status, stw__istatus_word(STW__I_ACTIVE)) == 0 &&
	    r->to->d->states[st].kind != STW_STATE_ACTIVE) {
		snprintf(r->why, sizeof(r->why),
			 "an active instance in %s would move to %s, which is not an active state "
			 "of version %d",
			 state, to, r->o->to);
		return -1;
	}
	return st;
}

/* What one instance's migration does, worked out before anything is written. */
struct move {
	int state;    /* the new state, or -1: left (r->why says why) */
	json_t *data; /* the data after the transform (owned) */
	int changed;  /* the transform changed the data */
	struct timers timers;
	int keep[STW__MAX_TIMERS * 4]; /* per pending timer: kept (1) or voided (0) */
	const struct stw_timer_def *arm[STW__MAX_TIMERS];
	int64_t due[STW__MAX_TIMERS];
	int narm;
};

/* The timers the new state's first incoming transition arms, that the instance lacks. */
static int plan_arming(struct run *r, const struct stored *s, struct move *mv)
{
	const struct stw__def *d = r->to;
	int t = stw__entering_transition(d, mv->state);
	if (t < 0 || strcmp(s->status, stw__istatus_word(STW__I_ACTIVE)) != 0)
		return STW_OK;
	const struct stw_transition_def *td = &d->d->transitions[t];
	struct stw_event ev = { .id = r->msg_id,
				.type = "Migrate",
				.stream = "",
				.correlation_id = s->row.id,
				.recorded_at = stw__now(r->e) };
	struct stw_step_info si = {
		.definition = r->name,
		.instance_id = s->row.id,
		.from = d->d->states[mv->state].name,
		.to = d->d->states[mv->state].name,
		.data = mv->data,
		.event = &ev,
		.ud = d->d->ud,
	};
	for (const struct stw_timer_def *tm = td->timers; tm != NULL && tm->message != NULL; tm++) {
		int pending = 0;
		for (int i = 0; i < mv->timers.n; i++)
			pending |= mv->keep[i] && strcmp(mv->timers.type[i], tm->message) == 0;
		if (pending || mv->narm == STW__MAX_TIMERS)
			continue;
		int64_t due = stw__now(r->e) + tm->delay_ms;
		if (tm->due != NULL && tm->due(&si, &due) != 0) {
			snprintf(r->why, sizeof(r->why), "the due time of timer %s failed",
				 tm->message);
			return STW_EINVAL;
		}
		mv->arm[mv->narm] = tm;
		mv->due[mv->narm++] = due;
	}
	return STW_OK;
}

/*
 * Works out the move of stored instance s: its new state, its data through
 * the transform, its timers kept, voided and armed. STW_OK with mv->state
 * -1 when it cannot move (r->why), STW_ENOMEM or a store error.
 */
static int plan_move(struct run *r, const struct stored *s, struct move *mv)
{
	struct stw_engine *e = r->e;
	mv->state = map_state(r, s->state, s->status);
	if (mv->state < 0)
		return STW_OK;
	json_error_t jerr;
	mv->data = json_loads(s->data, 0, &jerr);
	if (!json_is_object(mv->data)) {
		snprintf(r->why, sizeof(r->why), "its data is not a JSON object");
		mv->state = -1;
		return STW_OK;
	}
	if (r->m->transform != NULL) {
		json_t *before = json_deep_copy(mv->data);
		if (before == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		struct stw_migration_info mi = {
			.definition = r->name,
			.instance_id = s->row.id,
			.from_version = r->o->from,
			.to_version = r->o->to,
			.from_state = s->state,
			.to_state = r->to->d->states[mv->state].name,
			.status = s->status,
			.data = mv->data,
			.ud = r->to->d->ud,
		};
		int rc = r->m->transform(&mi);
		mv->changed = !json_equal(before, mv->data);
		json_decref(before);
		if (rc != 0 || !json_is_object(mv->data)) {
			snprintf(r->why, sizeof(r->why), "the data transform refused it: %s",
				 rc == 0     ? "its data is no longer a JSON object"
				 : mi.reason ? mi.reason
					     : "no reason given");
			mv->state = -1;
			return STW_OK;
		}
	}
	mv->timers.epoch = s->row.entered_version;
	int rc = STW__S(e->store, timers_for_instance, r->name, s->row.id, timers_cb, &mv->timers);
	if (rc != STW_OK)
		return rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory")
					: stw__store_fail(e, rc, "reading an instance's timers");
	if (mv->timers.over) {
		snprintf(r->why, sizeof(r->why),
			 "it has more pending timers than a migration moves");
		mv->state = -1;
		return STW_OK;
	}
	for (int i = 0; i < mv->timers.n; i++)
		mv->keep[i] = stw__find_transition(r->to, mv->state, mv->timers.type[i]) >= 0;
	if (plan_arming(r, s, mv) != STW_OK)
		mv->state = -1;
	return STW_OK;
}

static void move_free(struct move *mv)
{
	json_decref(mv->data);
	timers_free(&mv->timers);
}

/* Writes the move, in the open transaction. */
static int write_move(struct run *r, const struct stored *s, const struct move *mv)
{
	struct stw_engine *e = r->e;
	struct stw__store *st = e->store;
	int64_t now = stw__now(e);
	int rc = STW_OK;
	for (int i = 0; i < mv->timers.n && rc == STW_OK; i++)
		if (!mv->keep[i])
			rc = STW__S(st, timer_delete, r->name, s->row.id, mv->timers.id[i]);
	for (int i = 0; i < mv->narm && rc == STW_OK; i++) {
		char id[33];
		const char *parts[4] = { "timer", r->name, s->row.id, r->msg_id };
		stw__derive_id(id, -1, parts, 4, i);
		struct stw__timer_row t = {
			.id = id,
			.definition = r->name,
			.instance_id = s->row.id,
			.message_type = mv->arm[i]->message,
			.due_at = mv->due[i],
			.entered_version = s->row.entered_version,
			.armed_by = r->msg_id,
			.created_at = now,
		};
		rc = STW__S(st, timer_insert, &t);
	}
	char reason[64];
	snprintf(reason, sizeof(reason), "Migrated %d -> %d", r->o->from, r->o->to);
	const char *to = r->to->d->states[mv->state].name;
	struct stw__history_row h = {
		.definition = r->name,
		.instance_id = s->row.id,
		.message_id = r->msg_id,
		.message_type = "Migrate",
		.from_state = s->state,
		.to_state = to,
		.outcome = stw__outcome_word(STW__O_MIGRATED),
		.reason = reason,
		.at = now,
	};
	char *data = json_dumps(mv->data, JSON_COMPACT);
	if (data == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	struct stw__instance_row row = {
		.definition = r->name,
		.id = s->row.id,
		.state = to,
		.status = s->status,
		.data = data,
		.unique_key = s->key,
		.reason = s->reason,
		.version = s->row.version + 1,
		.created_at = s->row.created_at,
		.updated_at = now,
		.entered_version = s->row.entered_version, /* the timers kept still apply */
		.definition_version = r->o->to,
	};
	/* The version check first: a writer that moved the instance meanwhile
	 * (a step, another migration) makes it STW_ECONFLICT, read again. */
	if (rc == STW_OK)
		rc = STW__S(st, instance_update, &row, s->row.version);
	free(data);
	if (rc == STW_OK)
		rc = STW__S(st, history_insert, &h);
	return rc == STW_EEXIST ? STW_ECONFLICT : rc;
}

/* The report of one instance (o: its outcome word). */
static int report_item(struct run *r, const struct stored *s, const struct move *mv,
		       const char *outcome, json_t *before)
{
	int moved = mv->state >= 0;
	json_t *it = json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?}", "id", s->row.id, "status",
			       s->status, "from_state", s->state, "to_state",
			       moved ? r->to->d->states[mv->state].name : NULL, "outcome", outcome,
			       "reason", moved ? NULL : r->why);
	if (it == NULL)
		return stw__fail(r->e, STW_ENOMEM, "out of memory");
	if (!moved)
		json_object_set_new(it, "to_state", json_null());
	if (moved && mv->changed && before != NULL)
		json_object_set_new(it, "data",
				    json_pack("{s:O, s:O}", "before", before, "after", mv->data));
	if (moved) {
		json_t *kept = json_array(), *voided = json_array(), *armed = json_array();
		for (int i = 0; i < mv->timers.n; i++)
			json_array_append_new(mv->keep[i] ? kept : voided,
					      json_string(mv->timers.type[i]));
		for (int i = 0; i < mv->narm; i++)
			json_array_append_new(armed, json_string(mv->arm[i]->message));
		json_object_set_new(
		    it, "timers",
		    json_pack("{s:o, s:o, s:o}", "kept", kept, "voided", voided, "armed", armed));
	}
	return json_array_append_new(r->items, it) == 0
		   ? STW_OK
		   : stw__fail(r->e, STW_ENOMEM, "out of memory");
}

/*
 * One attempt at instance id: reads it, works out its move and, unless a
 * dry run, writes it in a transaction of its own. *done receives 1 unless
 * another writer changed the instance after it was read (the caller tries
 * again).
 */
static int attempt(struct run *r, const char *id, int last, int *done)
{
	struct stw_engine *e = r->e;
	int dry = r->o->dry_run;
	*done = 1;
	int rc = dry ? STW_OK : stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning a migration");
	struct stored s = { 0 };
	struct move mv = { .state = -1 };
	json_t *before = NULL;
	rc = STW__S(e->store, instance_get, r->name, id, stored_cb, &s);
	if (rc == STW_ENOMEM || (rc != STW_OK && rc != STW_ENOTFOUND)) {
		rc = rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory")
				      : stw__store_fail(e, rc, "reading an instance");
		goto out;
	}
	int live = s.found && (strcmp(s.status, stw__istatus_word(STW__I_ACTIVE)) == 0 ||
			       strcmp(s.status, stw__istatus_word(STW__I_FAILED)) == 0);
	if (!live || s.row.definition_version != r->o->from ||
	    !stw__inst_version_ok(s.row.version)) {
		/* Moved on since it was listed: ended, migrated by another. */
		r->changed++;
		snprintf(r->why, sizeof(r->why), "it changed since it was listed: %s",
			 !s.found ? "it no longer exists"
			 : !live  ? "it is no longer active or failed"
				  : "it is no longer of this version");
		struct stored gone = { .row = { .id = id }, .status = s.status, .state = s.state };
		rc = report_item(r, &gone, &mv, "changed", NULL);
		goto out;
	}
	s.row.id = id;
	if ((rc = plan_move(r, &s, &mv)) != STW_OK)
		goto out;
	if (mv.state < 0) {
		r->left++;
		rc = report_item(r, &s, &mv, "left", NULL);
		goto out;
	}
	if (mv.changed) {
		json_error_t jerr;
		before = json_loads(s.data, 0, &jerr);
	}
	if (!dry) {
		stw__failpoint(e, "migrate:before-commit");
		rc = write_move(r, &s, &mv);
		if (rc == STW_OK)
			rc = stw__commit(e);
		if (rc == STW_ECONFLICT && !last) {
			*done = 0; /* another writer moved it in between: read it again */
			rc = STW_OK;
			goto out;
		}
		if (rc != STW_OK) {
			stw__store_fail(e, rc, "migrating an instance");
			goto out;
		}
		stw__failpoint(e, "migrate:after-commit");
	}
	r->migrated++;
	rc = report_item(r, &s, &mv, dry ? "would migrate" : "migrated", before);
out:
	if (!dry && (rc != STW_OK || !*done || mv.state < 0 || !s.found))
		stw__rollback(e);
	json_decref(before);
	move_free(&mv);
	stored_free(&s);
	return rc;
}

/* The ids to migrate, collected before any moves (a move takes one out of the listing). */
struct ids {
	char **v;
	size_t n, cap;
};

static int ids_cb(const struct stw__instance_row *row, void *ud)
{
	struct ids *l = ud;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 256;
		char **v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			return STW_ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	return (l->v[l->n++] = strdup(row->id)) != NULL ? 0 : STW_ENOMEM;
}

static void ids_free(struct ids *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* The active, then the failed, instances of version `from` (or the one asked for). */
static int list_ids(struct run *r, struct ids *l)
{
	struct stw_engine *e = r->e;
	const char *status[] = { "active", "failed" };
	for (int i = 0; i < 2; i++) {
		struct stw__instance_query q = {
			.definition = r->name,
			.status = status[i],
			.id = r->o->instance,
			.limit = 0,
			.definition_version = r->o->from,
		};
		int rc = STW__S(e->store, list_instances, &q, ids_cb, l);
		if (rc != STW_OK)
			return rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory")
						: stw__store_fail(e, rc, "listing instances");
	}
	if (r->o->instance != NULL && l->n == 0)
		return stw__fail(e, STW_ENOTFOUND,
				 "%s is not an active or failed instance of %s version %d",
				 r->o->instance, r->name, r->o->from);
	return STW_OK;
}

/* The migration version o->to of def's name declares from o->from, checked. */
static int find_migration(struct run *r)
{
	struct stw_engine *e = r->e;
	const struct stw_migrate_opts *o = r->o;
	if (!stw__valid_name(r->name))
		return stw__fail(e, STW_EINVAL, "invalid definition name");
	if (o->from < 1 || o->to <= o->from)
		return stw__fail(e, STW_EINVAL,
				 "a migration goes from a version (1 or more) to a later one, not "
				 "%d to %d",
				 o->from, o->to);
	if (o->instance != NULL && !stw__valid_id(o->instance))
		return stw__fail(e, STW_EINVAL, "invalid instance id");
	if (o->limit < 0)
		return stw__fail(e, STW_EINVAL, "a negative limit");
	r->to = stw__find_def_version(e, r->name, o->to);
	if (r->to == NULL)
		return stw__fail(e, STW_ENOTFOUND, "version %d of %s is not registered here", o->to,
				 r->name);
	for (r->m = r->to->d->migrations; r->m != NULL && r->m->from_version != 0; r->m++)
		if (r->m->from_version == o->from)
			return STW_OK;
	return stw__fail(e, STW_ENOTFOUND, "version %d of %s declares no migration from version %d",
			 o->to, r->name, o->from);
}

STW_API int stw_migrate(struct stw_engine *e, const char *definition,
			const struct stw_migrate_opts *o, json_t **report)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (o == NULL || report == NULL)
		return stw__fail(e, STW_EINVAL, "no options or no report");
	*report = NULL;
	struct run r = { .e = e, .name = definition, .o = o };
	int rc = find_migration(&r);
	if (rc != STW_OK)
		return rc;
	snprintf(r.msg_id, sizeof(r.msg_id), "migrate-%d-%d", o->from, o->to);
	struct ids l = { 0 };
	if ((rc = list_ids(&r, &l)) != STW_OK) {
		ids_free(&l);
		return rc;
	}
	size_t total = o->limit > 0 && (size_t)o->limit < l.n ? (size_t)o->limit : l.n;
	if ((r.items = json_array()) == NULL) {
		ids_free(&l);
		return stw__fail(e, STW_ENOMEM, "out of memory");
	}
	int64_t started = stw__mono_us();
	for (size_t i = 0; i < total && rc == STW_OK; i++) {
		int done = 0;
		for (int a = 1; rc == STW_OK && !done; a++)
			rc = attempt(&r, l.v[i], a == ATTEMPTS, &done);
		if (o->progress != NULL)
			o->progress((int64_t)i + 1, (int64_t)total, o->ud);
	}
	size_t ntotal = l.n;
	ids_free(&l);
	if (rc == STW_OK)
		*report = json_pack("{s:s, s:i, s:i, s:b, s:I, s:I, s:I, s:I, s:o}", "definition",
				    definition, "from", o->from, "to", o->to, "dry_run", o->dry_run,
				    "migrated", (json_int_t)r.migrated, "left", (json_int_t)r.left,
				    "changed", (json_int_t)r.changed, "remaining",
				    (json_int_t)(ntotal - total), "instances", r.items);
	else
		json_decref(r.items);
	if (rc == STW_OK && *report == NULL)
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
	if (rc == STW_OK && !o->dry_run && r.migrated > 0)
		stw__observe(e, STW_ACTIVITY_ACK, definition, NULL, (int)r.migrated, 1, started);
	return rc;
}
