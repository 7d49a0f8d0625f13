/*
 * definition.h - registered process definitions, their tables resolved to
 * indexes (definition.c).
 */
#ifndef STW_DEFINITION_H
#define STW_DEFINITION_H

#include "core/engine_int.h"

/* Per source of a definition: what the poison guard knows (see step.c). */
struct stw__guard {
	int started;           /* an attempt was counted at this engine's first batch */
	int64_t isolate_until; /* handle one event at a time while the cursor is below */
};

/*
 * A registered definition with its tables resolved to indexes. Several
 * versions of one name may be registered (struct stw_definition.version):
 * each is an entry of its own, and the one with the highest version is the
 * newest, the one the rounds step (its cursors, its timers, its guards)
 * and new instances are created with.
 */
struct stw__def {
	const struct stw_definition *d;
	int nstates; /* 0 for a stateless policy */
	int ntransitions;
	int *from;     /* per transition: state index, -1 for a trigger */
	int *to;       /* per transition: state index, -1 to stay */
	int ack_state; /* state index or -1 */
	int nsources;
	int ntimers;               /* timers armed by all transitions */
	struct stw__guard *guards; /* one per source (the rounds use the newest's) */
	int newest;                /* the newest registered version of its name */
	int nversions;             /* versions of its name registered (on the newest) */
	int name_timers; /* timers armed by every version of its name (on the newest): 0 skips
			    timer work */
};

/* The version a definition's instances record: its version, 1 when it says 0 (or less). */
static inline int64_t stw__def_version(const struct stw__def *def)
{
	return def->d->version > 0 ? def->d->version : 1;
}

/* Frees what a definition's resolution allocated (not the definition). */
void stw__def_free(struct stw__def *d);

/* The newest registered version of the definition named `name`, or NULL. */
const struct stw__def *stw__find_def(const struct stw_engine *e, const char *name);

/* The most versions of one name registered at once. */
#define STW__MAX_VERSIONS 64

/* The registered versions of `name` into v (STW__MAX_VERSIONS), ascending; returns their number. */
int stw__versions(const struct stw_engine *e, const char *name, int64_t *v);

/* The registered version `version` (as stw__def_version counts) of `name`, or NULL. */
const struct stw__def *stw__find_def_version(const struct stw_engine *e, const char *name,
					     int64_t version);

/*
 * 1 when pred(d, arg) holds for a registered version d of def's name (def
 * itself when it is the only one): what a round asks of a message type, as
 * instances of every version read the name's sources.
 */
int stw__any_version(const struct stw_engine *e, const struct stw__def *def,
		     int (*pred)(const struct stw__def *d, const char *arg), const char *arg);

/* Index of a state by name in a definition, or -1. */
int stw__state_index(const struct stw__def *def, const char *name);

/* The name of state index i, or NULL for -1 (before the first state). */
static inline const char *stw__state_name(const struct stw__def *def, int i)
{
	return i >= 0 ? def->d->states[i].name : NULL;
}

/* 1 for the kinds of state in which a failed instance follows the table
 * (a designed failure path): STW_STATE_FAILURE and STW_STATE_MANUAL. */
static inline int stw__failure_kind(enum stw_state_kind k)
{
	return k == STW_STATE_FAILURE || k == STW_STATE_MANUAL;
}

/* 1 if an instance with `status` in state `state` can still take messages. */
int stw__live(const struct stw__def *def, enum stw__istatus status, int state);

/*
 * Resolves the definition of instance `id`: the given one, or the only one
 * that has an instance with that id (STW_ENOTFOUND for none, STW_EAMBIGUOUS
 * for several). def_out receives a registered or stored definition name
 * (cap bytes).
 */
int stw__resolve_definition(struct stw_engine *e, const char *definition, const char *id,
			    char *def_out, size_t cap);

#endif /* STW_DEFINITION_H */
