/*
 * crash_voiding.c - proves that the voiding example survives being killed at
 * any durable boundary: nothing is lost, nothing is done twice, and every
 * process ends where the model says.
 *
 *   crash_voiding [--kills N] [--docs N] [--seed S] [--dir D] [--verbose]
 *
 * A deterministic workload script (issue every document, publish one
 * customer's report, void two thirds of the documents, some twice, then
 * acknowledge the failed voidings and void those documents again; then set
 * reminders whose timers ring a bell) is run by
 * children forked from this program. Every child replays the script from the
 * start against the same database: fixed command and process ids make the
 * replay idempotent. A child opens its own engine with a failpoint callback
 * that raises SIGKILL at a chosen hit of a chosen boundary; every fourth
 * child is instead killed by the parent at a random moment. When a child
 * finishes the script, its database is verified against the model and a new
 * round starts on a fresh one, so that kills keep landing on work in
 * progress. Once the requested number of kills is reached, the last round
 * runs to its end without kills and is verified too.
 *
 * The parent never holds an engine or an SQLite connection across fork().
 * It prints one line,
 *   crash kills=<n> processes=<n> lost=<n> doubled=<n> off_model=<n> duplicate_deliveries=<n>
 * and exits 0 only if lost, doubled and off_model are 0, every database
 * passes PRAGMA integrity_check, and the kills reached the request.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fixture.h"
#include "voiding.h"

/* ------------------------------------------------------------------------ */
/* Configuration and the model                                              */

struct config {
	long kills;    /* kills to reach */
	long docs;     /* documents in the workload */
	uint64_t seed; /* of the kill schedule */
	const char *dir;
	int verbose;
};

#define NCUSTOMERS 3
static const char *const customers[NCUSTOMERS] = { "acme", "globex", "initech" };
#define PUBLISHED 0 /* the index of the customer whose report is published */

/* What the script does with document i. */
static int doc_customer(long i)
{
	return (int)(i % NCUSTOMERS);
}

static long long doc_amount(long i)
{
	return 100 + (i * 7919) % 100000;
}

/* About two thirds of the documents are voided, spread over all customers. */
static int doc_voided(long i)
{
	return (i / NCUSTOMERS) % 3 != 2;
}

/* A quarter of the voided ones also get a second request right after the first. */
static int doc_second(long i)
{
	return doc_voided(i) && i % 4 == 1;
}

static int doc_published(long i)
{
	return doc_customer(i) == PUBLISHED;
}

/* Formats an id such as "void-doc-0042" into buf. */
static void make_id(char *buf, size_t cap, const char *prefix, long i)
{
	if (prefix[0] != '\0')
		snprintf(buf, cap, "%s-doc-%04ld", prefix, i);
	else
		snprintf(buf, cap, "doc-%04ld", i);
}

/* ------------------------------------------------------------------------ */
/* Failpoints                                                               */

#define NFAILPOINTS 10
static const char *const failpoints[NFAILPOINTS] = {
	"step.after_transition", "step.before_commit",    "step.after_commit",
	"service.after_handler", "service.before_commit", "dispatch.after_delivery",
	"execute.before_commit", "timer.after_fire",      "timer.before_commit",
	"timer.after_commit",
};
#define EXECUTE_FP 6 /* hit once per stw_execute, replayed or not */

/* Shared between the parent and its children; survives a child's SIGKILL. */
struct shared {
	long hits[NFAILPOINTS + 1]; /* hits of each failpoint in the current child; last: others */
	int phase;                  /* the phase of the script the child is in (0: opening) */
};

/* What a child does at the failpoints. */
struct child_plan {
	int target; /* index of the failpoint to kill at, or -1 */
	long hit;   /* the hit of it that kills */
	struct shared *sh;
};

static void on_failpoint(const char *name, void *ud)
{
	struct child_plan *p = ud;
	int i;

	for (i = 0; i < NFAILPOINTS; i++) {
		if (strcmp(name, failpoints[i]) == 0)
			break;
	}
	p->sh->hits[i]++;
	if (i == p->target && p->sh->hits[i] == p->hit)
		raise(SIGKILL);
}

/* ------------------------------------------------------------------------ */
/* Reminders: a timer phase                                                 */

/*
 * A test-local process: ReminderSet (appended to context Desk) starts a
 * reminder in Waiting, whose timer Ring is due at once; Ring moves it to Rung
 * and sends Bell.Notify, which the Bell service answers with one Rang event.
 * Kills around firing must neither lose a ring nor ring twice.
 */
static const struct stw_state_def reminder_states[] = {
	{ "Waiting", STW_STATE_ACTIVE },
	{ "Rung", STW_STATE_TERMINAL },
	{ NULL, STW_STATE_ACTIVE },
};
static const struct stw_timer_def ring_now[] = {
	{ "Ring", 0, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_command_def notify[] = {
	{ "Bell", "Notify", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def reminder_transitions[] = {
	{ NULL, "ReminderSet", "Waiting", NULL, NULL, ring_now },
	{ "Waiting", "Ring", "Rung", notify, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const desk[] = { "Desk", NULL };
static const struct stw_definition reminder_definition = {
	.name = "reminder",
	.version = 1,
	.sources = desk,
	.states = reminder_states,
	.transitions = reminder_transitions,
};

/* Bell.Notify: one Rang event on the reminder's own stream (any version, so a
 * second application would show as a second event). */
static int bell_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	char stream[STW_MAX_ID];
	(void)ud;
	snprintf(stream, sizeof stream, "bell-%s", cmd->correlation_id);
	return stw_svc_emit(sc, stream, STW_ANY_VERSION, "Rang", NULL);
}

static int reminders_register(struct stw_engine *e)
{
	int rc = stw_register_service(e, "Bell", bell_handle, NULL);

	return rc == STW_OK ? stw_define(e, &reminder_definition) : rc;
}

static long reminder_count(const struct config *cfg);

/* Sets every reminder: appends with fixed event ids, so a replay appends nothing. */
static int reminders_set(struct stw_engine *e, const struct config *cfg)
{
	for (long r = 0; r < reminder_count(cfg); r++) {
		char id[48];
		snprintf(id, sizeof id, "rem-%04ld", r);
		struct stw_event ev = {
			.id = id, .type = "ReminderSet", .stream = id, .correlation_id = id
		};
		int rc = stw_append(e, "Desk", STW_ANY_VERSION, &ev, 1, NULL);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

/* ------------------------------------------------------------------------ */
/* The workload (run by children)                                           */

/* Prints why the workload stopped and returns 3, the child's failure status. */
static int workload_error(struct stw_engine *e, const char *what, const char *id, int rc)
{
	fprintf(stderr, "crash_voiding: child: %s %s: %s: %s\n", what, id ? id : "",
		stw_strerror(rc), e ? stw_errmsg(e) : "");
	return 3;
}

static int run_idle(struct stw_engine *e)
{
	int rc = stw_run_until_idle(e);

	return rc == STW_OK ? 0 : workload_error(e, "running", NULL, rc);
}

/*
 * Runs the whole script against db from its start. A step already done is
 * recognised by its id and not done again. Returns 0 when the script is
 * complete, else a failure status for the child.
 */
static int workload(const struct config *cfg, const char *db, struct child_plan *plan)
{
	struct stw_options opts = { 0 };
	struct stw_engine *e = NULL;
	char doc[32], id[48], customer_cmd[48];
	long i;
	int rc, status = 0;

	opts.failpoint = on_failpoint;
	opts.failpoint_ud = plan;
	opts.batch_size = 8; /* many small transactions: many durable boundaries */
	/*
	 * NORMAL, not FULL: a SIGKILL loses no write() already made, so a commit
	 * is as safe against a killed process without the fsync, which only
	 * matters when the machine itself stops. It keeps the run time bounded
	 * by the CPU rather than by the disk.
	 */
	opts.synchronous = 1;
	rc = stw_open(db, &opts, &e);
	if (rc != STW_OK)
		return workload_error(NULL, "opening", db, rc);
	rc = voiding_register(e);
	if (rc == STW_OK)
		rc = reminders_register(e);
	if (rc != STW_OK)
		status = workload_error(e, "registering", NULL, rc);

	plan->sh->phase = 1;
	/* Phase 1: issue every document. */
	for (i = 0; status == 0 && i < cfg->docs; i++) {
		make_id(doc, sizeof doc, "", i);
		make_id(id, sizeof id, "issue", i);
		rc = voiding_issue_document(e, doc, customers[doc_customer(i)], doc_amount(i), id);
		if (rc != STW_OK)
			status = workload_error(e, "issuing", doc, rc);
	}
	if (status == 0)
		status = run_idle(e);

	plan->sh->phase = 2;
	/* Phase 2: publish one customer's report. */
	if (status == 0) {
		snprintf(customer_cmd, sizeof customer_cmd, "publish-%s", customers[PUBLISHED]);
		rc = voiding_publish_report(e, customers[PUBLISHED], customer_cmd);
		if (rc != STW_OK)
			status = workload_error(e, "publishing", customers[PUBLISHED], rc);
	}
	if (status == 0)
		status = run_idle(e);

	plan->sh->phase = 3;
	/* Phase 3: void two thirds, some twice in a row. */
	for (i = 0; status == 0 && i < cfg->docs; i++) {
		if (!doc_voided(i))
			continue;
		make_id(doc, sizeof doc, "", i);
		make_id(id, sizeof id, "void", i);
		rc = voiding_void_document(e, doc, id, NULL);
		if (rc != STW_OK) {
			status = workload_error(e, "voiding", id, rc);
			break;
		}
		if (!doc_second(i))
			continue;
		/* Billing refuses it if, in an earlier child, the first voiding completed. */
		make_id(id, sizeof id, "voidb", i);
		rc = voiding_void_document(e, doc, id, NULL);
		if (rc != STW_OK && rc != STW_EREJECTED)
			status = workload_error(e, "voiding", id, rc);
	}
	if (status == 0)
		status = run_idle(e);

	plan->sh->phase = 4;
	/* Phase 4: acknowledge the failed voidings and void those documents again. */
	for (i = 0; status == 0 && i < cfg->docs; i++) {
		if (!doc_voided(i) || !doc_published(i))
			continue;
		make_id(doc, sizeof doc, "", i);
		make_id(id, sizeof id, "void", i);
		rc = stw_acknowledge(e, "voiding", id, "crash test: phase 4");
		if (rc != STW_OK && rc != STW_ESTATE) { /* ESTATE: acknowledged before */
			status = workload_error(e, "acknowledging", id, rc);
			break;
		}
		make_id(id, sizeof id, "void2", i);
		rc = voiding_void_document(e, doc, id, NULL);
		if (rc != STW_OK)
			status = workload_error(e, "voiding", id, rc);
	}
	if (status == 0)
		status = run_idle(e);

	plan->sh->phase = 5;
	/* Phase 5: set reminders; their timers fire and ring the bell. */
	if (status == 0 && (rc = reminders_set(e, cfg)) != STW_OK)
		status = workload_error(e, "setting reminders", NULL, rc);
	if (status == 0)
		status = run_idle(e);
	stw_close(e);
	return status;
}

/* ------------------------------------------------------------------------ */
/* Verification (run by the parent, with no child alive)                    */

struct tally {
	long processes;
	long lost;
	long doubled;
	long off_model;
	long duplicate_deliveries;
	int integrity_failed;
};

enum { KIND_VOID, KIND_VOIDB, KIND_VOID2, KIND_OTHER, NKINDS };
static const char *const kind_prefix[NKINDS - 1] = { "void", "voidb", "void2" };

/* Facts about one document gathered from both logs. */
struct doc_facts {
	int issued, voided;
	int requested[NKINDS], aborted[NKINDS];
	int added;
	int succeeded[NKINDS], failed[NKINDS];
	int64_t billing_version; /* last stream version seen */
};

struct facts {
	const struct config *cfg;
	struct doc_facts *docs;
	int published[NCUSTOMERS];
	int64_t report_version[NCUSTOMERS];
	int64_t expect_position; /* next position of the context being read */
	long strays;             /* events that belong to nothing in the model */
	long gaps, repeats;      /* positions or stream versions skipped or repeated */
};

/* The index of document id s ("doc-0042"), or -1. */
static long doc_index(const struct config *cfg, const char *s)
{
	char *end;
	long i;

	if (s == NULL || strncmp(s, "doc-", 4) != 0)
		return -1;
	errno = 0;
	i = strtol(s + 4, &end, 10);
	if (errno != 0 || *end != '\0' || end == s + 4 || i < 0 || i >= cfg->docs)
		return -1;
	return i;
}

/* Which of the script's processes a correlation id names, for document i. */
static int kind_of(const char *correlation, long i)
{
	char id[48];

	for (int k = 0; correlation != NULL && k < NKINDS - 1; k++) {
		make_id(id, sizeof id, kind_prefix[k], i);
		if (strcmp(correlation, id) == 0)
			return k;
	}
	return KIND_OTHER;
}

/* Checks that positions run 1, 2, 3, ... and stream versions step by one. */
static void check_sequence(struct facts *f, const struct stw_event *ev, int64_t *stream_version)
{
	if (ev->position != f->expect_position) {
		if (ev->position > f->expect_position)
			f->gaps += ev->position - f->expect_position;
		else
			f->repeats++;
	}
	f->expect_position = ev->position + 1;
	if (ev->stream_version != *stream_version + 1) {
		if (ev->stream_version > *stream_version + 1)
			f->gaps += ev->stream_version - *stream_version - 1;
		else
			f->repeats++;
	}
	*stream_version = ev->stream_version;
}

static int billing_fact(const struct stw_event *ev, void *ud)
{
	struct facts *f = ud;
	long i = doc_index(f->cfg, stw_event_str(ev, "document_id"));
	struct doc_facts *d;
	char stream[48];
	int64_t ignored = ev->stream_version - 1;

	if (i < 0) {
		f->strays++;
		check_sequence(f, ev, &ignored);
		return 0;
	}
	d = &f->docs[i];
	check_sequence(f, ev, &d->billing_version);
	make_id(stream, sizeof stream, "document", i);
	if (strcmp(ev->stream, stream) != 0)
		f->strays++;
	else if (strcmp(ev->type, "DocumentIssued") == 0)
		d->issued++;
	else if (strcmp(ev->type, "DocumentVoidingRequested") == 0)
		d->requested[kind_of(ev->correlation_id, i)]++;
	else if (strcmp(ev->type, "DocumentVoidingAborted") == 0)
		d->aborted[kind_of(ev->correlation_id, i)]++;
	else if (strcmp(ev->type, "DocumentVoided") == 0)
		d->voided++;
	else
		f->strays++;
	return 0;
}

static int reports_fact(const struct stw_event *ev, void *ud)
{
	struct facts *f = ud;
	int c = -1;
	long i;
	int64_t ignored = ev->stream_version - 1;

	for (int k = 0; k < NCUSTOMERS; k++) {
		if (strncmp(ev->stream, "report-", 7) == 0 &&
		    strcmp(ev->stream + 7, customers[k]) == 0)
			c = k;
	}
	check_sequence(f, ev, c >= 0 ? &f->report_version[c] : &ignored);
	if (c < 0) {
		f->strays++;
		return 0;
	}
	if (strcmp(ev->type, "ReportPublished") == 0) {
		f->published[c]++;
		return 0;
	}
	i = doc_index(f->cfg, stw_event_str(ev, "document_id"));
	if (i < 0 || doc_customer(i) != c)
		f->strays++;
	else if (strcmp(ev->type, "DocumentAddedToReport") == 0)
		f->docs[i].added++;
	else if (strcmp(ev->type, "MarkingDocumentAsVoidedSucceeded") == 0)
		f->docs[i].succeeded[kind_of(ev->correlation_id, i)]++;
	else if (strcmp(ev->type, "MarkingDocumentAsVoidedFailed") == 0)
		f->docs[i].failed[kind_of(ev->correlation_id, i)]++;
	else
		f->strays++;
	return 0;
}

/* Reads a whole context log into the facts; returns STW_OK or the error. */
static int read_log(struct stw_engine *e, const char *context, stw_event_fn fn, struct facts *f,
		    struct tally *t)
{
	int64_t head = 0, after = 0;
	int count = 0, rc;

	rc = stw_head(e, context, &head);
	f->expect_position = 1;
	/* A page at a time; positions only grow, so each page starts after the last. */
	while (rc == STW_OK) {
		rc = stw_read(e, context, after, 1000, fn, f, &count);
		if (rc != STW_OK || count < 1000)
			break;
		after = f->expect_position - 1;
	}
	/* Positions missing at the end are lost too. */
	if (rc == STW_OK && f->expect_position <= head)
		t->lost += head - f->expect_position + 1;
	return rc;
}

/* Counts a difference between what is and what the model expects. */
static void expect_count(struct tally *t, long actual, long expected)
{
	if (actual < expected)
		t->lost += expected - actual;
	else if (actual > expected)
		t->doubled += actual - expected;
}

/* Prints a verbose note about a difference from the model. */
static void note(const struct config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void note(const struct config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (!cfg->verbose)
		return;
	va_start(ap, fmt);
	fputs("crash_voiding: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Number of elements of obj[array] whose `field` equals `value`. */
static long count_where(const json_t *obj, const char *array, const char *field, const char *value)
{
	size_t i;
	json_t *row;
	long n = 0;

	json_array_foreach(json_object_get(obj, array), i, row)
	{
		const char *s = json_string_value(json_object_get(row, field));

		if (s != NULL && strcmp(s, value) == 0)
			n++;
	}
	return n;
}

/* The expected end of one process of the script. */
struct expected_process {
	const char *state;
	const char *status;
	const char *second; /* the command sent to Billing, or NULL for none at all */
	long history;       /* rows of history */
};

/*
 * Checks one process against its expectation (NULL: it must not exist). A
 * wrong state, status or history is off the model; a command missing or not
 * delivered is lost, one too many doubled.
 */
static int check_process(struct stw_engine *e, const struct config *cfg, struct tally *t,
			 const char *id, const struct expected_process *x)
{
	json_t *p = NULL;
	const char *state, *status;
	int rc = stw_get_instance(e, "voiding", id, &p);

	if (rc == STW_ENOTFOUND) {
		if (x != NULL) {
			note(cfg, "%s: missing", id);
			t->off_model++;
		}
		return STW_OK;
	}
	if (rc != STW_OK)
		return rc;
	if (x == NULL) {
		note(cfg, "%s: exists but should not", id);
		t->off_model++;
		json_decref(p);
		return STW_OK;
	}
	state = json_string_value(json_object_get(p, "state"));
	status = json_string_value(json_object_get(p, "status"));
	if (state == NULL || status == NULL || strcmp(status, x->status) != 0 ||
	    (x->state != NULL && strcmp(state, x->state) != 0) ||
	    (long)json_array_size(json_object_get(p, "history")) != x->history) {
		note(cfg, "%s: %s/%s with %zu history rows, expected %s/%s with %ld", id,
		     state ? state : "?", status ? status : "?",
		     json_array_size(json_object_get(p, "history")), x->state ? x->state : "*",
		     x->status, x->history);
		t->off_model++;
	}
	if (x->second != NULL) {
		expect_count(t, count_where(p, "commands", "type", "MarkDocumentAsVoided"), 1);
		expect_count(t, count_where(p, "commands", "type", x->second), 1);
		expect_count(t, (long)json_array_size(json_object_get(p, "commands")), 2);
		expect_count(t, count_where(p, "commands", "status", "delivered"), 2);
	} else {
		expect_count(t, (long)json_array_size(json_object_get(p, "commands")), 0);
	}
	json_decref(p);
	return STW_OK;
}

static const struct expected_process want_completed = { "DocumentVoided", "completed",
							"CompleteDocumentVoiding", 3 };
static const struct expected_process want_acknowledged = { "FailureAcknowledged", "acknowledged",
							   "AbortDocumentVoiding", 4 };
static const struct expected_process want_failed = { "MarkingDocumentAsVoidedFailed", "failed",
						     "AbortDocumentVoiding", 3 };
static const struct expected_process want_rejected = { NULL, "rejected", NULL, 1 };

/* Compares the facts of document i with the model. */
static void check_doc_facts(const struct config *cfg, struct tally *t, long i,
			    const struct doc_facts *d)
{
	int voided = doc_voided(i), pub = doc_published(i);
	long before_lost = t->lost, before_doubled = t->doubled;

	expect_count(t, d->issued, 1);
	expect_count(t, d->added, 1);
	expect_count(t, d->requested[KIND_VOID], voided);
	expect_count(t, d->requested[KIND_VOID2], voided && pub);
	expect_count(t, d->requested[KIND_OTHER], 0);
	/* The second request: always accepted for a published customer (the
	 * document is never voided); for the others, only if it came first. */
	if (doc_second(i) && pub)
		expect_count(t, d->requested[KIND_VOIDB], 1);
	else if (doc_second(i))
		expect_count(t, d->requested[KIND_VOIDB], d->requested[KIND_VOIDB] > 0);
	else
		expect_count(t, d->requested[KIND_VOIDB], 0);
	expect_count(t, d->voided, voided && !pub);
	expect_count(t, d->succeeded[KIND_VOID], voided && !pub);
	expect_count(t, d->failed[KIND_VOID], voided && pub);
	expect_count(t, d->aborted[KIND_VOID], voided && pub);
	expect_count(t, d->failed[KIND_VOID2], voided && pub);
	expect_count(t, d->aborted[KIND_VOID2], voided && pub);
	for (int k = 0; k < NKINDS; k++) {
		if (k != KIND_VOID)
			expect_count(t, d->succeeded[k], 0);
		if (k != KIND_VOID && k != KIND_VOID2) {
			expect_count(t, d->failed[k], 0);
			expect_count(t, d->aborted[k], 0);
		}
	}
	if (t->lost != before_lost || t->doubled != before_doubled)
		note(cfg, "doc-%04ld: events differ from the model (lost %ld, doubled %ld)", i,
		     t->lost - before_lost, t->doubled - before_doubled);
}

/* Checks the processes, the document view and the report views against the model. */
static int check_views(struct stw_engine *e, const struct config *cfg, struct tally *t,
		       const struct facts *f)
{
	long long totals[NCUSTOMERS] = { 0 };
	long expected_processes = 0;
	char doc[32], id[48];
	int rc = STW_OK;

	for (long i = 0; rc == STW_OK && i < cfg->docs; i++) {
		int voided = doc_voided(i), pub = doc_published(i);
		const char *want = voided && !pub ? "voided" : "issued";
		json_t *d = NULL;

		make_id(doc, sizeof doc, "", i);
		rc = voiding_document(e, doc, &d);
		if (rc == STW_ENOTFOUND) {
			t->off_model++;
			rc = STW_OK;
		} else if (rc == STW_OK) {
			const char *s = json_string_value(json_object_get(d, "status"));

			if (s == NULL || strcmp(s, want) != 0) {
				note(cfg, "%s: %s, expected %s", doc, s ? s : "?", want);
				t->off_model++;
			}
			json_decref(d);
		}
		if (!(voided && !pub))
			totals[doc_customer(i)] += doc_amount(i);
		if (rc != STW_OK || !voided)
			continue;
		make_id(id, sizeof id, "void", i);
		rc = check_process(e, cfg, t, id, pub ? &want_acknowledged : &want_completed);
		expected_processes++;
		if (rc == STW_OK) {
			make_id(id, sizeof id, "void2", i);
			rc = check_process(e, cfg, t, id, pub ? &want_failed : NULL);
			expected_processes += pub;
		}
		if (rc == STW_OK) {
			int b = f->docs[i].requested[KIND_VOIDB] > 0;

			make_id(id, sizeof id, "voidb", i);
			rc = check_process(e, cfg, t, id, b ? &want_rejected : NULL);
			expected_processes += b;
		}
	}
	for (int c = 0; rc == STW_OK && c < NCUSTOMERS; c++) {
		json_t *r = NULL;

		expect_count(t, f->published[c], c == PUBLISHED);
		rc = voiding_report(e, customers[c], &r);
		if (rc == STW_OK) {
			if (json_integer_value(json_object_get(r, "total")) != totals[c] ||
			    json_is_true(json_object_get(r, "published")) != (c == PUBLISHED)) {
				note(cfg, "report %s: total %lld, expected %lld", customers[c],
				     (long long)json_integer_value(json_object_get(r, "total")),
				     totals[c]);
				t->off_model++;
			}
			json_decref(r);
		} else if (rc == STW_ENOTFOUND) {
			if (cfg->docs > c) {
				note(cfg, "report %s: missing", customers[c]);
				t->off_model++;
			}
			rc = STW_OK;
		}
	}
	/* Every process: the count the model predicts, none more. */
	for (int offset = 0; rc == STW_OK;) {
		struct stw_instance_filter all = { .definition = "voiding",
						   .limit = 1000,
						   .offset = offset };
		json_t *list = NULL;
		size_t n;

		rc = stw_list_instances(e, &all, &list);
		n = json_array_size(list);
		json_decref(list);
		t->processes += (long)n;
		offset += (int)n;
		if (rc != STW_OK || n < 1000) {
			if (rc == STW_OK && offset != expected_processes) {
				note(cfg, "%d processes, expected %ld", offset, expected_processes);
				t->off_model += labs(offset - expected_processes);
			}
			break;
		}
	}
	return rc;
}

/* Checks that nothing was left unrouted and every cursor reached its head. */
static int check_engine(struct stw_engine *e, const struct config *cfg, struct tally *t)
{
	static const char *const defs[] = { "voiding", "reports-feed" };
	static const char *const contexts[] = { "Billing", "Reports" };
	int rc = STW_OK;

	for (int d = 0; rc == STW_OK && d < 2; d++) {
		json_t *unrouted = NULL;

		rc = stw_list_unrouted(e, defs[d], 100, &unrouted);
		if (json_array_size(unrouted) > 0) {
			note(cfg, "%s: %zu unrouted messages", defs[d], json_array_size(unrouted));
			t->off_model += (long)json_array_size(unrouted);
		}
		json_decref(unrouted);
		for (int c = 0; rc == STW_OK && c < 2 - d; c++) {
			int64_t cursor = 0, head = 0;

			rc = stw_get_cursor(e, defs[d], contexts[c], &cursor);
			if (rc == STW_OK)
				rc = stw_head(e, contexts[c], &head);
			if (rc == STW_OK && cursor != head) {
				note(cfg, "cursor %s/%s at %" PRId64 ", head %" PRId64, defs[d],
				     contexts[c], cursor, head);
				t->off_model++;
			}
		}
	}
	return rc;
}

static long reminder_count(const struct config *cfg)
{
	return cfg->docs / 2 > 0 ? cfg->docs / 2 : 1;
}

static int count_event(const struct stw_event *ev, void *ud)
{
	(void)ev;
	(*(long *)ud)++;
	return 0;
}

/*
 * Every reminder rang exactly once: its instance is Rung with one Ring row in
 * its history, its bell stream holds one Rang, and no timer is left pending.
 */
static int check_reminders(struct stw_engine *e, const struct config *cfg, struct tally *t)
{
	int rc = STW_OK;

	for (long r = 0; rc == STW_OK && r < reminder_count(cfg); r++) {
		char id[48], stream[64];
		json_t *o = NULL;
		long rangs = 0;

		snprintf(id, sizeof id, "rem-%04ld", r);
		snprintf(stream, sizeof stream, "bell-%s", id);
		t->processes++;
		rc = stw_get_instance(e, "reminder", id, &o);
		if (rc == STW_ENOTFOUND) {
			note(cfg, "reminder %s: no instance", id);
			t->lost++;
			rc = STW_OK;
			continue;
		}
		if (rc != STW_OK)
			break;
		const char *state = json_string_value(json_object_get(o, "state"));
		long rings = count_where(o, "history", "message_type", "Ring");
		if (state == NULL || strcmp(state, "Rung") != 0) {
			note(cfg, "reminder %s: state %s", id, state ? state : "?");
			t->off_model++;
		}
		expect_count(t, rings, 1);
		json_decref(o);
		rc = stw_read_stream(e, "Bell", stream, count_event, &rangs, NULL);
		if (rc == STW_OK) {
			if (rangs != 1)
				note(cfg, "reminder %s: %ld Rang events", id, rangs);
			expect_count(t, rangs, 1);
		}
	}
	int64_t due = 0;
	if (rc == STW_OK && stw_next_timer(e, &due) == STW_OK) {
		note(cfg, "a timer is still pending");
		t->lost++;
	}
	return rc;
}

/* PRAGMA integrity_check and the dedup table's duplicate count, with sqlite3 directly. */
static int check_sqlite(const char *db, struct tally *t)
{
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		const char *answer = sqlite3_step(st) == SQLITE_ROW
					 ? (const char *)sqlite3_column_text(st, 0)
					 : NULL;

		if (answer == NULL || strcmp(answer, "ok") != 0) {
			fprintf(stderr, "crash_voiding: %s: integrity_check: %s\n", db,
				answer ? answer : sqlite3_errmsg(s));
			t->integrity_failed = 1;
		}
		sqlite3_finalize(st);
		st = NULL;
		rc = sqlite3_prepare_v2(s, "SELECT sum(duplicates) FROM stw_dedup", -1, &st, NULL);
	}
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		t->duplicate_deliveries += (long)sqlite3_column_int64(st, 0);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "crash_voiding: %s: %s\n", db, sqlite3_errmsg(s));
		t->integrity_failed = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(s);
	return rc == SQLITE_OK ? 0 : -1;
}

/*
 * Verifies a finished round's database against the model and adds what it
 * finds to *t. Returns 0 if it matches the model, 1 if it differs, or -1 if
 * the database could not be read at all.
 */
static int verify_round(const struct config *cfg, const char *db, struct tally *t)
{
	struct facts f = { .cfg = cfg };
	struct stw_engine *e = NULL;
	long lost0 = t->lost, doubled0 = t->doubled, off0 = t->off_model;
	int integrity0 = t->integrity_failed;
	int rc;

	f.docs = calloc((size_t)cfg->docs, sizeof *f.docs);
	if (f.docs == NULL)
		return -1;
	rc = stw_open(db, NULL, &e);
	if (rc == STW_OK)
		rc = voiding_register(e);
	if (rc == STW_OK)
		rc = reminders_register(e);
	if (rc == STW_OK)
		rc = read_log(e, "Billing", billing_fact, &f, t);
	if (rc == STW_OK)
		rc = read_log(e, "Reports", reports_fact, &f, t);
	if (rc == STW_OK) {
		t->lost += f.gaps;
		t->doubled += f.repeats;
		t->off_model += f.strays;
		for (long i = 0; i < cfg->docs; i++)
			check_doc_facts(cfg, t, i, &f.docs[i]);
		rc = check_views(e, cfg, t, &f);
	}
	if (rc == STW_OK)
		rc = check_engine(e, cfg, t);
	if (rc == STW_OK)
		rc = check_reminders(e, cfg, t);
	if (rc != STW_OK)
		fprintf(stderr, "crash_voiding: verifying %s: %s: %s\n", db, stw_strerror(rc),
			e ? stw_errmsg(e) : "");
	stw_close(e);
	free(f.docs);
	if (rc == STW_OK)
		rc = check_sqlite(db, t);
	note(cfg, "verified %s: lost %ld, doubled %ld, off model %ld", db, t->lost - lost0,
	     t->doubled - doubled0, t->off_model - off0);
	if (rc != STW_OK)
		return -1;
	return t->lost != lost0 || t->doubled != doubled0 || t->off_model != off0 ||
	       t->integrity_failed != integrity0;
}

/* ------------------------------------------------------------------------ */
/* The parent                                                               */

/* splitmix64: a small deterministic generator for the kill schedule. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
static long random_between(uint64_t *s, long lo, long hi)
{
	return lo + (long)(next_random(s) % (uint64_t)(hi - lo + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* How a child ended. */
enum child_end { CHILD_DONE, CHILD_KILLED, CHILD_FAILED };

/*
 * Forks a child that runs the workload on db with the plan, and waits for it.
 * With kill_after_ms > 0 the parent kills it after that long instead.
 */
static enum child_end run_child(const struct config *cfg, const char *db, struct child_plan *plan,
				long kill_after_ms)
{
	pid_t pid;
	int ws = 0;

	memset(plan->sh, 0, sizeof *plan->sh);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("crash_voiding: fork");
		return CHILD_FAILED;
	}
	if (pid == 0)
		_exit(workload(cfg, db, plan));
	if (kill_after_ms > 0) {
		sleep_ms(kill_after_ms);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			perror("crash_voiding: waitpid");
			return CHILD_FAILED;
		}
	}
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return CHILD_DONE;
	if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL)
		return CHILD_KILLED;
	fprintf(stderr, "crash_voiding: child ended with %s %d\n",
		WIFEXITED(ws) ? "status" : "signal",
		WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
	return CHILD_FAILED;
}

/* Removes a round's database files. */
static void remove_db(const char *db)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(p, sizeof p, "%s%s", db, suffixes[i]);
		unlink(p);
	}
}

static int parse_long(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *out)
{
	fputs("usage: crash_voiding [--kills N] [--docs N] [--seed S] [--dir D] [--verbose]\n"
	      "Kills the voiding workload N times (default 200) at the engine's durable\n"
	      "boundaries and at random moments, over N documents (default 300), and checks\n"
	      "that nothing is lost or doubled. --dir keeps the databases in D.\n",
	      out);
}

static int parse_args(int argc, char **argv, struct config *cfg)
{
	long v;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--verbose") == 0) {
			cfg->verbose = 1;
		} else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("crash_voiding %s\n", stw_version());
			exit(0);
		} else if (val != NULL && strcmp(a, "--kills") == 0 &&
			   parse_long(val, 0, &v) == 0) {
			cfg->kills = v;
			i++;
		} else if (val != NULL && strcmp(a, "--docs") == 0 && parse_long(val, 1, &v) == 0 &&
			   v <= 9999) {
			cfg->docs = v;
			i++;
		} else if (val != NULL && strcmp(a, "--seed") == 0 && parse_long(val, 0, &v) == 0) {
			cfg->seed = (uint64_t)v;
			i++;
		} else if (val != NULL && strcmp(a, "--dir") == 0) {
			cfg->dir = val;
			i++;
		} else {
			usage(stderr);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config cfg = { .kills = 200, .docs = 300, .seed = 1 };
	struct tally t = { 0 };
	struct shared *sh;
	struct child_plan plan = { -1, 0, NULL };
	char dir[PATH_MAX], db[PATH_MAX + 32];
	long total[NFAILPOINTS + 1] = { 0 }, span[NFAILPOINTS];
	long kills = 0, iteration = 0, executes = 0, round = 0, verified = 0;
	long kills_at[NFAILPOINTS + 1] = { 0 }; /* last: random moments */
	uint64_t rng;
	int made_dir = 0, failed = 0;
	enum child_end end;
	struct timespec t0, t1;

	if (parse_args(argc, argv, &cfg) != 0)
		return 2;
	rng = cfg.seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (cfg.dir != NULL) {
		snprintf(dir, sizeof dir, "%s", cfg.dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			perror("crash_voiding: mkdir");
			return 2;
		}
	} else {
		if (fx_tmpdir_make(dir, sizeof dir, "crash_voiding") != 0) {
			perror("crash_voiding: mkdtemp");
			return 2;
		}
		made_dir = 1;
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("crash_voiding: mmap");
		return 2;
	}
	plan.sh = sh;

	/*
	 * Round 0 runs without kills: it measures how often each failpoint is
	 * hit by a whole workload, so that the hits chosen below spread the
	 * kills over all of it, and it is verified like every other round.
	 */
	snprintf(db, sizeof db, "%s/round-000.db", dir);
	end = run_child(&cfg, db, &plan, 0);
	memcpy(total, sh->hits, sizeof total);
	if (end != CHILD_DONE || verify_round(&cfg, db, &t) != 0)
		failed = 1;
	else
		remove_db(db);
	verified += end == CHILD_DONE;
	for (int i = 0; i < NFAILPOINTS; i++) {
		/* About 2 * kills / 16 kills per round: some 8 rounds whatever is asked. */
		long per_round = cfg.kills / 16 > 1 ? cfg.kills / 16 : 1;

		span[i] = total[i] / per_round > 1 ? total[i] / per_round : 1;
		note(&cfg, "failpoint %s: %ld hits per workload, kill within %ld", failpoints[i],
		     total[i], span[i]);
		if (total[i] == 0) {
			/* A boundary the workload never reaches cannot be proven safe. */
			fprintf(stderr, "crash_voiding: the engine never reached failpoint %s\n",
				failpoints[i]);
			failed = 1;
		}
	}

	round = 1;
	snprintf(db, sizeof db, "%s/round-%03ld.db", dir, round);
	while (!failed) {
		long kill_after = 0;
		int last = kills >= cfg.kills;

		plan.target = -1;
		if (!last && iteration % 4 == 3) {
			kill_after = random_between(&rng, 1, 40);
		} else if (!last) {
			plan.target = (int)((iteration - iteration / 4) % NFAILPOINTS);
			plan.hit = random_between(&rng, 1, span[plan.target]);
			/* Every child replays the executes already done: aim past them. */
			if (plan.target == EXECUTE_FP)
				plan.hit += executes;
		}
		iteration++;
		end = run_child(&cfg, db, &plan, kill_after);
		if (sh->hits[EXECUTE_FP] > executes)
			executes = sh->hits[EXECUTE_FP];
		if (end == CHILD_FAILED) {
			failed = 1;
		} else if (end == CHILD_KILLED) {
			kills++;
			kills_at[plan.target >= 0 ? plan.target : NFAILPOINTS]++;
			if (cfg.verbose) {
				if (plan.target >= 0)
					note(&cfg, "kill %ld (round %ld, phase %d): %s hit %ld",
					     kills, round, sh->phase, failpoints[plan.target],
					     plan.hit);
				else
					note(&cfg,
					     "kill %ld (round %ld, phase %d): random at %ld ms",
					     kills, round, sh->phase, kill_after);
			}
		} else {
			note(&cfg, "round %ld finished (%ld children so far)", round, iteration);
			if (verify_round(&cfg, db, &t) != 0)
				failed = 1;
			else
				remove_db(db);
			verified++;
			if (last)
				break;
			round++;
			executes = 0;
			snprintf(db, sizeof db, "%s/round-%03ld.db", dir, round);
		}
	}
	munmap(sh, sizeof *sh);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("crash kills=%ld processes=%ld lost=%ld doubled=%ld off_model=%ld "
	       "duplicate_deliveries=%ld\n",
	       kills, t.processes, t.lost, t.doubled, t.off_model, t.duplicate_deliveries);
	for (int i = 0; i <= NFAILPOINTS; i++)
		note(&cfg, "%ld kills at %s", kills_at[i],
		     i < NFAILPOINTS ? failpoints[i] : "random moments");
	note(&cfg, "%ld rounds verified, %ld children, %.1f s", verified, iteration + 1,
	     (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (failed || t.lost || t.doubled || t.off_model || t.integrity_failed ||
	    kills < cfg.kills) {
		fprintf(stderr, "crash_voiding: FAILED; databases kept in %s\n", dir);
		return 1;
	}
	if (made_dir)
		fx_tmpdir_remove(dir);
	return 0;
}
