/*
 * voiding_verify.h - the checks of a store the voiding workload ran on
 * (voiding_script.h) against its model: no event missing or doubled, every
 * process where the model says, the views' totals, the cursors at their
 * heads, every reminder rung once, and the store's integrity check.
 *
 * Test code only: it prints what differs (through vw_note) and is used by
 * the parent of forked children, never across a fork.
 */
#ifndef VOIDING_VERIFY_H
#define VOIDING_VERIFY_H

#include <stdint.h>

#include "voiding_script.h"

/* What the checks found, added up over the stores a test verifies. */
struct vw_tally {
	long processes;            /* processes seen */
	long lost;                 /* events, commands, rings the model wants and the store lacks */
	long doubled;              /* the same, present more often than the model says */
	long off_model;            /* states, statuses, views or cursors other than the model's */
	long duplicate_deliveries; /* the dedup table's count */
	int integrity_failed;      /* some PRAGMA integrity_check was not "ok" */
};

/* The voiding processes of one document, by the prefix of their id. */
enum { VW_KIND_VOID, VW_KIND_VOIDB, VW_KIND_VOID2, VW_KIND_OTHER, VW_NKINDS };

/* Facts about one document gathered from both logs. */
struct vw_doc_facts {
	int issued, voided;
	int requested[VW_NKINDS], aborted[VW_NKINDS];
	int added;
	int succeeded[VW_NKINDS], failed[VW_NKINDS];
	int64_t billing_version; /* last stream version seen */
};

/* Facts about a whole store, from its Billing and Reports logs. */
struct vw_facts {
	const struct vw_config *cfg;
	struct vw_doc_facts *docs; /* cfg->docs of them */
	int published[VW_NCUSTOMERS];
	int64_t report_version[VW_NCUSTOMERS];
	int64_t expect_position; /* next position of the context being read */
	long strays;             /* events that belong to nothing in the model */
	long gaps, repeats;      /* positions or stream versions skipped or repeated */
};

/*
 * Reads the Billing and Reports logs into *f (zeroed here; f->docs allocated,
 * freed by vw_facts_free). Positions missing at the end of a log count as
 * lost in *t. Returns STW_OK or the engine's error.
 */
int vw_read_facts(struct stw_engine *e, const struct vw_config *cfg, struct vw_facts *f,
		  struct vw_tally *t);
void vw_facts_free(struct vw_facts *f);

/* Checks that nothing was left unrouted and every cursor reached its head. */
int vw_check_engine(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t);

/*
 * Verifies the store of e, on which the whole script ran, against the model
 * and adds what differs to *t. Returns STW_OK or the error that kept it from
 * reading the store.
 */
int vw_verify_engine(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t);

/*
 * The store's own integrity check and the dedup table's duplicate count,
 * through a connection of its own: PRAGMA integrity_check on an SQLite
 * file, amcheck's bt_index_check of every index on a PostgreSQL store's URL.
 * Returns 0, or -1 when it could not read them or found the store damaged
 * (t->integrity_failed is then set too).
 */
int vw_check_store(const struct vw_config *cfg, const char *db, struct vw_tally *t);

/* PRAGMA integrity_check on the file db, through a connection of its own: 0 if "ok", else 1. */
int vw_integrity(const struct vw_config *cfg, const char *db);

/*
 * Opens an engine on db, verifies it (vw_verify_engine), closes it and checks
 * the store (vw_check_store). Returns 0 if it matches the model, 1 if it
 * differs, or -1 if the database could not be read at all.
 */
int vw_verify(const struct vw_config *cfg, const char *db, struct vw_tally *t);

#endif /* VOIDING_VERIFY_H */
