/*
 * voiding_script.h - the voiding workload that the crash test and the I/O
 * fault test run: a deterministic script over the voiding example and a
 * reminder process of its own, and the model of what the script does to
 * each document (which the checks of voiding_verify.h compare a store with).
 *
 * The script issues every document, publishes one customer's report, voids
 * two thirds of the documents (a quarter of those twice in a row), then
 * acknowledges the voidings that failed (the published customer's) and voids
 * those documents again, and last sets reminders whose timers ring a bell.
 * Every call has a fixed id, so running the script again from its start
 * against the same store repeats nothing: it is how a test carries on after
 * a crash or a fault.
 *
 * Test code only: it may print and is used between fork() and _exit().
 */
#ifndef VOIDING_SCRIPT_H
#define VOIDING_SCRIPT_H

#include <stddef.h>
#include <stdio.h>

#include <steward.h>

#include "voiding.h"

/* What a test sets; the rest of the model follows from it. */
struct vw_config {
	long docs;        /* documents in the workload (at most 9999) */
	int verbose;      /* vw_note prints */
	const char *prog; /* the program's name, which starts its messages */
	const char *dir;  /* where the databases go (--dir); NULL: a temporary directory */
};

/*
 * Parses a workload program's arguments: --docs N (1 to 9999), --dir D and
 * --verbose into cfg, --help and --version (printed, then exit 0); any other
 * option goes to `own` with the argument after it (NULL at the end), which
 * returns how many arguments it took (1 or 2), or 0 when the option is not
 * its own. On an unknown or bad option prints `usage` to stderr and returns
 * -1; else 0.
 */
int vw_parse_args(int argc, char **argv, struct vw_config *cfg, const char *usage,
		  int (*own)(void *ud, const char *opt, const char *val), void *ud);

#define VW_NCUSTOMERS 3
extern const char *const vw_customers[VW_NCUSTOMERS];
#define VW_PUBLISHED 0 /* the index of the customer whose report is published */

/* The model: what the script does with document i. */
int vw_doc_customer(long i);
long long vw_doc_amount(long i);
int vw_doc_voided(long i);    /* about two thirds, spread over all customers */
int vw_doc_second(long i);    /* a quarter of the voided: a second request right after */
int vw_doc_published(long i); /* its customer's report is published */

/* Reminders the script sets ("rem-0000", ...): half the documents, at least one. */
long vw_reminder_count(const struct vw_config *cfg);

/* Formats an id such as "void-doc-0042" (prefix "void"; "" gives "doc-0042") into buf. */
void vw_make_id(char *buf, size_t cap, const char *prefix, long i);

/* Formats reminder r's id, "rem-0003", into buf. */
void vw_reminder_id(char *buf, size_t cap, long r);

/* Prints a note prefixed by the program's name when cfg->verbose is set. */
void vw_note(const struct vw_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers the voiding example and the reminder process with its Bell service. */
int vw_register(struct stw_engine *e);

/* The calls of the script, as its client sees them. */
enum vw_call {
	VW_ISSUE,   /* phase 1: issue document i */
	VW_PUBLISH, /* phase 2: publish customer i's report */
	VW_VOID,    /* phase 3: void document i (process "void-doc-i") */
	VW_VOIDB,   /* phase 3: the second request ("voidb-doc-i") */
	VW_ACK,     /* phase 4: acknowledge the failed "void-doc-i" */
	VW_VOID2,   /* phase 4: void document i again ("void2-doc-i") */
	VW_REMIND,  /* phase 5: set reminder i */
	VW_RUN,     /* stw_run_until_idle at the end of phase i */
	VW_NCALLS
};

/* The call's name for messages ("issue", "void", ...). */
const char *vw_call_name(enum vw_call call);

/* What the script tells the test running it. */
struct vw_client {
	/*
	 * After each call: what it was (call, i as in enum vw_call), its code,
	 * and whether the script counts it as done: STW_OK, or the refusal a
	 * run of the script again is answered (VW_VOIDB refused because the
	 * first voiding completed, VW_ACK refused because it was acknowledged).
	 * May be NULL.
	 */
	void (*called)(void *ud, enum vw_call call, long i, int rc, int done);
	void (*phase)(void *ud, int phase); /* the script enters phase 1..5; may be NULL */
	void *ud;
};

/*
 * Runs the script from its start on e (vw_register'ed). A step done before is
 * recognised by its id and not done again. Stops at the first call not done
 * and returns its code; STW_OK when the script is complete. c may be NULL.
 */
int vw_script(struct stw_engine *e, const struct vw_config *cfg, const struct vw_client *c);

#endif /* VOIDING_SCRIPT_H */
