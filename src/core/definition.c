/*
 * definition.c - process definitions: checking a definition's tables when it
 * is registered, resolving its state names to indexes, and the lookups the
 * other modules make in it (a definition by name, a state by name, whether a
 * status and state still take messages).
 */
#include "core/definition.h"

#include "core/check.h"

#include <stdlib.h>
#include <string.h>

void stw__def_free(struct stw__def *d)
{
	free(d->from);
	free(d->to);
	free(d->guards);
}

const struct stw__def *stw__find_def(const struct stw_engine *e, const char *name)
{
	for (size_t i = 0; i < e->ndefs; i++)
		if (e->defs[i].newest && strcmp(e->defs[i].d->name, name) == 0)
			return &e->defs[i];
	return NULL;
}

const struct stw__def *stw__find_def_version(const struct stw_engine *e, const char *name,
					     int64_t version)
{
	for (size_t i = 0; i < e->ndefs; i++)
		if (stw__def_version(&e->defs[i]) == version &&
		    strcmp(e->defs[i].d->name, name) == 0)
			return &e->defs[i];
	return NULL;
}

int stw__versions(const struct stw_engine *e, const char *name, int64_t *v)
{
	int n = 0;
	for (size_t i = 0; i < e->ndefs && n < STW__MAX_VERSIONS; i++) {
		if (strcmp(e->defs[i].d->name, name) != 0)
			continue;
		int64_t x = stw__def_version(&e->defs[i]);
		int k = n++;
		for (; k > 0 && v[k - 1] > x; k--) /* insertion: a handful of versions */
			v[k] = v[k - 1];
		v[k] = x;
	}
	return n;
}

int stw__any_version(const struct stw_engine *e, const struct stw__def *def,
		     int (*pred)(const struct stw__def *d, const char *arg), const char *arg)
{
	if (def->nversions <= 1)
		return pred(def, arg);
	for (size_t i = 0; i < e->ndefs; i++)
		if (strcmp(e->defs[i].d->name, def->d->name) == 0 && pred(&e->defs[i], arg))
			return 1;
	return 0;
}

/* 1 when context is a source of d. */
static int reads(const struct stw__def *d, const char *context)
{
	for (int i = 0; i < d->nsources; i++)
		if (strcmp(d->d->sources[i], context) == 0)
			return 1;
	return 0;
}

/*
 * Versions of one name share its cursors (one per source) and are stepped
 * by one round: they must read the same sources, with the same delivery,
 * and all have states or none. STW_EINVAL naming the difference.
 */
static int check_versions(struct stw_engine *e, const struct stw__def *old,
			  const struct stw__def *d)
{
	const char *name = d->d->name;
	long long v = (long long)stw__def_version(d), w = (long long)stw__def_version(old);
	for (int i = 0; i < d->nsources; i++)
		if (!reads(old, d->d->sources[i]))
			return stw__fail(
			    e, STW_EINVAL,
			    "definition %s version %lld reads %s, which version %lld "
			    "does not (versions of a definition read the same sources)",
			    name, v, d->d->sources[i], w);
	for (int i = 0; i < old->nsources; i++)
		if (!reads(d, old->d->sources[i]))
			return stw__fail(
			    e, STW_EINVAL,
			    "definition %s version %lld does not read %s, which version "
			    "%lld does (versions of a definition read the same sources)",
			    name, v, old->d->sources[i], w);
	if (d->d->delivery != old->d->delivery)
		return stw__fail(
		    e, STW_EINVAL,
		    "definition %s version %lld has another delivery mode than version "
		    "%lld",
		    name, v, w);
	if ((d->nstates == 0) != (old->nstates == 0))
		return stw__fail(e, STW_EINVAL,
				 "definition %s version %lld is %s, version %lld is not", name, v,
				 d->nstates == 0 ? "stateless" : "stateful", w);
	return STW_OK;
}

int stw__state_index(const struct stw__def *def, const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < def->nstates; i++)
		if (strcmp(def->d->states[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * Checks a definition's tables and resolves state names to indexes into d.
 * Returns STW_EINVAL with a message naming the first problem found.
 */
static int check_definition(struct stw_engine *e, const struct stw_definition *def,
			    struct stw__def *d)
{
	const char *name = def->name;
	if (!stw__valid_name(name))
		return stw__fail(e, STW_EINVAL, "definition name is missing or invalid");
	if (def->sources == NULL || def->sources[0] == NULL)
		return stw__fail(e, STW_EINVAL, "definition %s has no source context", name);
	for (d->nsources = 0; def->sources[d->nsources] != NULL; d->nsources++)
		if (!stw__valid_name(def->sources[d->nsources]))
			return stw__fail(e, STW_EINVAL,
					 "definition %s: invalid source context name", name);
	d->nstates = 0;
	if (def->states != NULL) {
		for (; def->states[d->nstates].name != NULL; d->nstates++) {
			const char *s = def->states[d->nstates].name;
			if (!stw__valid_name(s))
				return stw__fail(e, STW_EINVAL, "definition %s: invalid state name",
						 name);
			if (stw__state_index(d, s) >= 0)
				return stw__fail(e, STW_EINVAL, "definition %s: state %s twice",
						 name, s);
		}
		if (d->nstates == 0)
			return stw__fail(e, STW_EINVAL, "definition %s: empty state list", name);
	}
	if (def->transitions == NULL || def->transitions[0].on == NULL)
		return stw__fail(e, STW_EINVAL, "definition %s has no transition", name);
	int n = 0;
	while (def->transitions[n].on != NULL)
		n++;
	d->ntransitions = n;
	d->from = calloc((size_t)n, sizeof(int));
	d->to = calloc((size_t)n, sizeof(int));
	if (d->from == NULL || d->to == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int triggers = 0;
	for (int i = 0; i < n; i++) {
		const struct stw_transition_def *t = &def->transitions[i];
		if (!stw__valid_name(t->on))
			return stw__fail(e, STW_EINVAL,
					 "definition %s: transition %d has an invalid message type",
					 name, i);
		d->from[i] = -1;
		d->to[i] = -1;
		if (d->nstates == 0) {
			if (t->from != NULL || t->to != NULL)
				return stw__fail(e, STW_EINVAL,
						 "definition %s is stateless: transition on %s "
						 "cannot name states",
						 name, t->on);
		} else {
			if (t->from != NULL && (d->from[i] = stw__state_index(d, t->from)) < 0)
				return stw__fail(e, STW_EINVAL, "definition %s: unknown state %s",
						 name, t->from);
			if (t->to != NULL && (d->to[i] = stw__state_index(d, t->to)) < 0)
				return stw__fail(e, STW_EINVAL, "definition %s: unknown state %s",
						 name, t->to);
			if (t->from == NULL && t->to == NULL)
				return stw__fail(e, STW_EINVAL,
						 "definition %s: trigger %s needs a target state",
						 name, t->on);
		}
		if (t->from == NULL && strcmp(t->on, STW_COMMAND_REJECTED) == 0)
			return stw__fail(e, STW_EINVAL,
					 "definition %s: %s cannot be a trigger (it comes to an "
					 "instance that sent a command)",
					 name, t->on);
		if (t->from == NULL)
			triggers++;
		for (int j = 0; j < i; j++)
			if (d->from[j] == d->from[i] && strcmp(def->transitions[j].on, t->on) == 0)
				return stw__fail(e, STW_EINVAL,
						 "definition %s: two transitions from %s on %s",
						 name, t->from ? t->from : "(start)", t->on);
		int nt = 0;
		for (const struct stw_timer_def *tm = t->timers; tm != NULL && tm->message != NULL;
		     tm++, nt++) {
			if (d->nstates == 0)
				return stw__fail(e, STW_EINVAL,
						 "definition %s is stateless: transition on %s "
						 "cannot arm timers",
						 name, t->on);
			if (!stw__valid_name(tm->message) || tm->delay_ms < 0 ||
			    nt >= STW__MAX_TIMERS)
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: transition on %s has an invalid timer "
				    "(message name, delay >= 0, at most %d)",
				    name, t->on, STW__MAX_TIMERS);
			/* The state the timer belongs to must accept its message. */
			int at = d->to[i] >= 0 ? d->to[i] : d->from[i];
			int ok = 0;
			for (int j = 0; j < n && !ok; j++)
				ok = strcmp(def->transitions[j].on, tm->message) == 0 &&
				     def->transitions[j].from != NULL &&
				     stw__state_index(d, def->transitions[j].from) == at;
			if (!ok)
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: timer %s is armed on entering %s, which "
				    "has no transition on it",
				    name, tm->message, def->states[at].name);
			d->ntimers++;
		}
		for (const struct stw_command_def *c = t->commands; c != NULL && c->context != NULL;
		     c++)
			if (!stw__valid_name(c->context) || !stw__valid_name(c->type))
				return stw__fail(e, STW_EINVAL,
						 "definition %s: transition on %s has a command "
						 "with an invalid context or type",
						 name, t->on);
	}
	if (triggers == 0)
		return stw__fail(e, STW_EINVAL,
				 "definition %s has no trigger (a transition from NULL)", name);
	d->ack_state = -1;
	if (def->ack_state != NULL && (d->ack_state = stw__state_index(d, def->ack_state)) < 0)
		return stw__fail(e, STW_EINVAL, "definition %s: unknown ack state %s", name,
				 def->ack_state);
	if (def->delivery != STW_AT_LEAST_ONCE && def->delivery != STW_AT_MOST_ONCE)
		return stw__fail(e, STW_EINVAL, "definition %s: unknown delivery mode", name);
	d->guards = calloc((size_t)d->nsources + 1, sizeof(*d->guards));
	if (d->guards == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	return STW_OK;
}

/*
 * The migrations a version declares: from earlier versions, each once, each
 * state of the map once and mapped to a state of this version (or NULL).
 */
static int check_migrations(struct stw_engine *e, const struct stw__def *d)
{
	const struct stw_definition *def = d->d;
	const struct stw_migration_def *m = def->migrations;
	int64_t version = stw__def_version(d);
	for (; m != NULL && m->from_version != 0; m++) {
		if (d->nstates == 0)
			return stw__fail(
			    e, STW_EINVAL,
			    "definition %s: a stateless policy has no instances to migrate",
			    def->name);
		if (m->from_version < 1 || m->from_version >= version)
			return stw__fail(e, STW_EINVAL,
					 "definition %s version %lld: a migration from version %d, "
					 "which is not an earlier version",
					 def->name, (long long)version, m->from_version);
		for (const struct stw_migration_def *o = def->migrations; o < m; o++)
			if (o->from_version == m->from_version)
				return stw__fail(e, STW_EINVAL,
						 "definition %s version %lld: two migrations from "
						 "version %d",
						 def->name, (long long)version, m->from_version);
		for (const struct stw_state_map *sm = m->states; sm != NULL && sm->from != NULL;
		     sm++) {
			if (!stw__valid_name(sm->from))
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: the migration from version %d maps "
				    "an invalid state name",
				    def->name, m->from_version);
			if (sm->to != NULL && stw__state_index(d, sm->to) < 0)
				return stw__fail(
				    e, STW_EINVAL,
				    "definition %s: the migration from version %d maps "
				    "%s to %s, which is not a state of version %lld",
				    def->name, m->from_version, sm->from, sm->to,
				    (long long)version);
			for (const struct stw_state_map *o = m->states; o < sm; o++)
				if (strcmp(o->from, sm->from) == 0)
					return stw__fail(
					    e, STW_EINVAL,
					    "definition %s: the migration from version "
					    "%d maps %s twice",
					    def->name, m->from_version, sm->from);
		}
	}
	return STW_OK;
}

/*
 * Marks the newest version of `name` (the highest) and counts on it the
 * versions and the timers they arm.
 */
static void set_newest(struct stw_engine *e, const char *name)
{
	struct stw__def *newest = NULL;
	int n = 0, timers = 0;
	for (size_t i = 0; i < e->ndefs; i++) {
		struct stw__def *d = &e->defs[i];
		if (strcmp(d->d->name, name) != 0)
			continue;
		d->newest = 0;
		n++;
		timers += d->ntimers;
		if (newest == NULL || stw__def_version(d) > stw__def_version(newest))
			newest = d;
	}
	newest->newest = 1;
	newest->nversions = n;
	newest->name_timers = timers;
}

STW_API int stw_define(struct stw_engine *e, const struct stw_definition *def)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (def == NULL)
		return stw__fail(e, STW_EINVAL, "no definition");
	struct stw__def d = { .d = def };
	if (def->name != NULL && stw__find_def_version(e, def->name, stw__def_version(&d)) != NULL)
		return stw__fail(e, STW_EEXIST, "definition %s version %lld is already registered",
				 def->name, (long long)stw__def_version(&d));
	for (size_t i = 0; def->name != NULL && i < e->nperiodics; i++)
		if (strcmp(e->periodics[i].d->name, def->name) == 0)
			return stw__fail(e, STW_EEXIST, "a periodic process is already named %s",
					 def->name);
	int rc = check_definition(e, def, &d);
	if (rc == STW_OK)
		rc = check_migrations(e, &d);
	if (rc == STW_OK)
		rc = stw__refuse_bad_definition(e, &d);
	const struct stw__def *newest = rc == STW_OK ? stw__find_def(e, def->name) : NULL;
	if (newest != NULL && newest->nversions >= STW__MAX_VERSIONS)
		rc = stw__fail(e, STW_EINVAL, "definition %s has %d versions registered already",
			       def->name, STW__MAX_VERSIONS);
	else if (newest != NULL)
		rc = check_versions(e, newest, &d);
	if (rc != STW_OK) {
		stw__def_free(&d);
		return rc;
	}
	struct stw__def *defs = realloc(e->defs, (e->ndefs + 1) * sizeof(*defs));
	if (defs == NULL) {
		stw__def_free(&d);
		return stw__fail(e, STW_ENOMEM, "out of memory");
	}
	e->defs = defs;
	e->defs[e->ndefs++] = d;
	set_newest(e, def->name);
	return STW_OK;
}
int stw__live(const struct stw__def *def, enum stw__istatus status, int state)
{
	if (status == STW__I_ACTIVE)
		return 1;
	return status == STW__I_FAILED && state >= 0 &&
	       stw__failure_kind(def->d->states[state].kind);
}

/* The definitions holding an instance id (resolve_definition's callback). */
struct holders {
	int n;
	char first[STW_MAX_NAME];
};

static int holders_cb(const struct stw__instance_row *r, void *ud)
{
	struct holders *h = ud;
	if (h->n++ == 0)
		stw__copy(h->first, sizeof(h->first), r->definition);
	return 0;
}

int stw__resolve_definition(struct stw_engine *e, const char *definition, const char *id,
			    char *def_out, size_t cap)
{
	if (!stw__valid_id(id))
		return stw__fail(e, STW_EINVAL, "invalid instance id");
	if (definition != NULL) {
		if (!stw__valid_name(definition))
			return stw__fail(e, STW_EINVAL, "invalid definition name");
		stw__copy(def_out, cap, definition);
		return STW_OK;
	}
	struct stw__instance_query q = { .id = id, .limit = 2 };
	struct holders h = { 0, "" };
	int rc = STW__S(e->store, list_instances, &q, holders_cb, &h);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "finding an instance");
	if (h.n == 0)
		return stw__fail(e, STW_ENOTFOUND, "no instance %s", id);
	if (h.n > 1)
		return stw__fail(e, STW_EAMBIGUOUS, "instance id %s exists in several definitions",
				 id);
	stw__copy(def_out, cap, h.first);
	return STW_OK;
}
