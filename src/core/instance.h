/*
 * instance.h - process instances as a batch sees them, the batch's cache of
 * them and its history rows (instance.c).
 */
#ifndef STW_INSTANCE_H
#define STW_INSTANCE_H

#include "core/definition.h"

/*
 * A process instance as the step sees it. The strings live in the engine's
 * arena. The data stays as the stored JSON text until a transition needs it
 * as a value (an update, payload or due-time callback, or a command copying
 * it): most transitions only move the state, and never parse or serialise it.
 */
struct stw__inst {
	const char *id;
	/* The version of its definition it steps with: the one that created it
	 * (definition_version), or the newest for a new one. */
	const struct stw__def *def;
	int state;                /* index into the definition's states */
	enum stw__istatus status; /* STW__I_NONE: a new instance, not filled yet */
	const char *data_text;    /* the stored JSON text while data is not parsed */
	json_t *data;             /* owned; NULL until parsed or built */
	const char *key;
	const char *reason;
	int64_t version;        /* current version; 0 for a new instance not yet saved */
	int64_t stored_version; /* the version in the store; 0 when not stored */
	int64_t created_at;
	int64_t updated_at;
	int64_t entered_version;    /* the version at which the current state was entered */
	int64_t definition_version; /* the version of the definition that created it */
	int dirty;                  /* changed since it was loaded: to be written */
	/*
	 * Set by stw__inst_load when the stored row cannot be interpreted (a state
	 * or status the definition does not know, a version out of range):
	 * state_text is then the stored state's name. See stw__inst_quarantine.
	 */
	int malformed;
	const char *state_text;
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
	struct stw__inst **slots; /* nslots (a power of two, >= 2 cap); NULL: empty */
	size_t nslots;
	struct stw__inst **list; /* entries in load order */
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

/*
 * Loads instance (def, id) into *in (in->id must be set), as the round
 * staged it (stage.h) or else from the store, leaving its data as text;
 * in->def becomes the registered version of def's name that created it.
 * STW_ENOTFOUND when it does not exist, STW_ESTORE when that version is not
 * registered, its state or status is not one the version knows or its
 * version cannot be one (stw__inst_version_ok).
 */
int stw__inst_load(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in);

/*
 * 1 when a stored instance's version can be the base of a change: from 1
 * (the first) to below INT64_MAX (one more must fit). A row outside that
 * range is malformed, as one with an unknown state.
 */
int stw__inst_version_ok(int64_t version);

/* Parses the instance's data if it is still text. */
int stw__inst_data(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in);

/*
 * Records a change of the instance: a new version, written at the end of the
 * batch (or at once when no batch cache is open, as for a retry).
 */
int stw__inst_save(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in);

/*
 * One bad instance stays one bad instance. Called instead of delivering
 * message ev to an instance that stw__inst_load found malformed (the
 * engine's message says why): fails the stored row as it is (its state,
 * data and key untouched, status failed with the reason, next version),
 * unless it failed already, and records ev in its history as failed. The
 * caller then goes on with the other messages, so the cursor, timers and
 * every other instance keep moving; a person cancels or repairs it.
 */
int stw__inst_quarantine(struct stw_engine *e, const struct stw__def *def, struct stw__inst *in,
			 const struct stw_event *ev);

/* Marks an instance failed with a reason (the first reason stays). */
void stw__inst_fail(struct stw_engine *e, struct stw__inst *in, const char *reason);

/* Opens the batch's instance cache for at most cap messages (careful: probe the history). */
int stw__icache_open(struct stw_engine *e, int cap, int careful);

/* Releases the parsed data of the cached instances and closes the cache. */
void stw__icache_close(struct stw_engine *e);

/*
 * The batch's instance (def, id) in *out: from the cache, else loaded from
 * the store and cached, else (STW_ENOTFOUND) a new entry with version 0 that
 * the caller fills (status STW__I_NONE until then). id must outlive the batch.
 */
int stw__icache_get(struct stw_engine *e, const struct stw__def *def, const char *id,
		    struct stw__inst **out);

/*
 * Writes the batch's history rows, then its changed instances: updates
 * first (they only release uniqueness keys), then inserts (which may take a
 * released key). STW__EDUP when a message was in the history already.
 */
int stw__icache_flush(struct stw_engine *e, const struct stw__def *def);

/*
 * The id of the active or failed instance holding a uniqueness key, as the
 * batch sees it: a cached instance is authoritative (its changes are not
 * written yet), then one the round staged, and the store answers for the
 * others. STW_ENOTFOUND if none.
 */
int stw__key_holder(struct stw_engine *e, const struct stw__def *def, const char *key, char *holder,
		    size_t cap);

/*
 * Records what message ev did to instance inst_id: kept for the batch's
 * flush on its fast path, else written at once.
 */
int stw__history_write(struct stw_engine *e, const struct stw__def *def, const char *inst_id,
		       const struct stw_event *ev, const char *from, const char *to,
		       enum stw__outcome outcome, const char *reason);

#endif /* STW_INSTANCE_H */
