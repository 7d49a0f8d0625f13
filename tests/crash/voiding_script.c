/*
 * voiding_script.c - the voiding workload's model and script (see
 * voiding_script.h), with the reminder process its last phase sets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "voiding_script.h"

const char *const vw_customers[VW_NCUSTOMERS] = { "acme", "globex", "initech" };

int vw_doc_customer(long i)
{
	return (int)(i % VW_NCUSTOMERS);
}

long long vw_doc_amount(long i)
{
	return 100 + (i * 7919) % 100000;
}

int vw_doc_voided(long i)
{
	return (i / VW_NCUSTOMERS) % 3 != 2;
}

int vw_doc_second(long i)
{
	return vw_doc_voided(i) && i % 4 == 1;
}

int vw_doc_published(long i)
{
	return vw_doc_customer(i) == VW_PUBLISHED;
}

long vw_reminder_count(const struct vw_config *cfg)
{
	return cfg->docs / 2 > 0 ? cfg->docs / 2 : 1;
}

void vw_make_id(char *buf, size_t cap, const char *prefix, long i)
{
	if (prefix[0] != '\0')
		snprintf(buf, cap, "%s-doc-%04ld", prefix, i);
	else
		snprintf(buf, cap, "doc-%04ld", i);
}

void vw_reminder_id(char *buf, size_t cap, long r)
{
	snprintf(buf, cap, "rem-%04ld", r);
}

void vw_note(const struct vw_config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (!cfg->verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "%s: ", cfg->prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int vw_parse_args(int argc, char **argv, struct vw_config *cfg, const char *usage,
		  int (*own)(void *ud, const char *opt, const char *val), void *ud)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		long v;
		int took = 0;

		if (strcmp(a, "--help") == 0 || strcmp(a, "--version") == 0) {
			if (a[2] == 'h')
				fputs(usage, stdout);
			else
				printf("%s %s\n", cfg->prog, stw_version());
			exit(0);
		}
		if (strcmp(a, "--verbose") == 0) {
			cfg->verbose = 1;
			took = 1;
		} else if (val != NULL && strcmp(a, "--docs") == 0) {
			took = fx_parse_long(val, 1, &v) == 0 && v <= 9999 ? 2 : 0;
			cfg->docs = took ? v : cfg->docs;
		} else if (val != NULL && strcmp(a, "--dir") == 0) {
			cfg->dir = val;
			took = 2;
		} else {
			took = own(ud, a, val);
		}
		if (took == 0) {
			fputs(usage, stderr);
			return -1;
		}
		i += took - 1;
	}
	return 0;
}

const char *vw_call_name(enum vw_call call)
{
	static const char *const names[VW_NCALLS] = {
		"issue", "publish", "void", "voidb", "acknowledge", "void2", "remind", "run",
	};
	return call >= 0 && call < VW_NCALLS ? names[call] : "?";
}

/* ------------------------------------------------------------------------ */
/* Reminders: a timer phase                                                 */

/*
 * A test-local process: ReminderSet (appended to context Desk) starts a
 * reminder in Waiting, whose timer Ring is due at once; Ring moves it to Rung
 * and sends Bell.Notify, which the Bell service answers with one Rang event.
 * Neither a kill nor a fault around firing may lose a ring or ring twice.
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

int vw_register(struct stw_engine *e)
{
	int rc = voiding_register(e);

	if (rc == STW_OK)
		rc = stw_register_service(e, "Bell", bell_handle, NULL);
	return rc == STW_OK ? stw_define(e, &reminder_definition) : rc;
}

/* Sets reminder r: an append with a fixed event id, so a replay appends nothing. */
static int reminder_set(struct stw_engine *e, long r)
{
	char id[48];
	vw_reminder_id(id, sizeof id, r);
	struct stw_event ev = {
		.id = id, .type = "ReminderSet", .stream = id, .correlation_id = id
	};
	return stw_append(e, "Desk", STW_ANY_VERSION, &ev, 1, NULL);
}

/* ------------------------------------------------------------------------ */
/* The script                                                               */

/* Tells the client about a call; returns whether the script goes on. */
static int told(const struct vw_client *c, enum vw_call call, long i, int rc)
{
	int done = rc == STW_OK || (call == VW_VOIDB && rc == STW_EREJECTED) ||
		   (call == VW_ACK && rc == STW_ESTATE);

	if (c != NULL && c->called != NULL)
		c->called(c->ud, call, i, rc, done);
	return done;
}

static void enter(const struct vw_client *c, int phase)
{
	if (c != NULL && c->phase != NULL)
		c->phase(c->ud, phase);
}

/* The end of each phase: runs the engine until it is idle. */
static int run_idle(struct stw_engine *e, const struct vw_client *c, int phase)
{
	int rc = stw_run_until_idle(e);

	return told(c, VW_RUN, phase, rc) ? STW_OK : rc;
}

/* Phase 3: void two thirds, some twice in a row. */
static int void_documents(struct stw_engine *e, const struct vw_config *cfg,
			  const struct vw_client *c)
{
	char doc[32], id[48];
	int rc;

	for (long i = 0; i < cfg->docs; i++) {
		if (!vw_doc_voided(i))
			continue;
		vw_make_id(doc, sizeof doc, "", i);
		vw_make_id(id, sizeof id, "void", i);
		if (!told(c, VW_VOID, i, rc = voiding_void_document(e, doc, id, NULL)))
			return rc;
		if (!vw_doc_second(i))
			continue;
		/* Billing refuses it if, in an earlier run, the first voiding completed. */
		vw_make_id(id, sizeof id, "voidb", i);
		if (!told(c, VW_VOIDB, i, rc = voiding_void_document(e, doc, id, NULL)))
			return rc;
	}
	return STW_OK;
}

/* Phase 4: acknowledge the failed voidings and void those documents again. */
static int void_again(struct stw_engine *e, const struct vw_config *cfg, const struct vw_client *c)
{
	char doc[32], id[48];
	int rc;

	for (long i = 0; i < cfg->docs; i++) {
		if (!vw_doc_voided(i) || !vw_doc_published(i))
			continue;
		vw_make_id(doc, sizeof doc, "", i);
		vw_make_id(id, sizeof id, "void", i);
		rc = stw_acknowledge(e, "voiding", id, "voiding workload: phase 4");
		if (!told(c, VW_ACK, i, rc)) /* ESTATE: acknowledged before */
			return rc;
		vw_make_id(id, sizeof id, "void2", i);
		if (!told(c, VW_VOID2, i, rc = voiding_void_document(e, doc, id, NULL)))
			return rc;
	}
	return STW_OK;
}

int vw_script(struct stw_engine *e, const struct vw_config *cfg, const struct vw_client *c)
{
	char doc[32], id[48];
	int rc = STW_OK;

	/* Phase 1: issue every document. */
	enter(c, 1);
	for (long i = 0; rc == STW_OK && i < cfg->docs; i++) {
		vw_make_id(doc, sizeof doc, "", i);
		vw_make_id(id, sizeof id, "issue", i);
		rc = voiding_issue_document(e, doc, vw_customers[vw_doc_customer(i)],
					    vw_doc_amount(i), id);
		if (told(c, VW_ISSUE, i, rc))
			rc = STW_OK;
	}
	if (rc == STW_OK)
		rc = run_idle(e, c, 1);

	/* Phase 2: publish one customer's report. */
	if (rc == STW_OK) {
		enter(c, 2);
		snprintf(id, sizeof id, "publish-%s", vw_customers[VW_PUBLISHED]);
		rc = voiding_publish_report(e, vw_customers[VW_PUBLISHED], id);
		if (told(c, VW_PUBLISH, VW_PUBLISHED, rc))
			rc = run_idle(e, c, 2);
	}

	if (rc == STW_OK) {
		enter(c, 3);
		if ((rc = void_documents(e, cfg, c)) == STW_OK)
			rc = run_idle(e, c, 3);
	}
	if (rc == STW_OK) {
		enter(c, 4);
		if ((rc = void_again(e, cfg, c)) == STW_OK)
			rc = run_idle(e, c, 4);
	}

	/* Phase 5: set reminders; their timers fire and ring the bell. */
	if (rc == STW_OK)
		enter(c, 5);
	for (long r = 0; rc == STW_OK && r < vw_reminder_count(cfg); r++)
		if (told(c, VW_REMIND, r, rc = reminder_set(e, r)))
			rc = STW_OK;
	if (rc == STW_OK)
		rc = run_idle(e, c, 5);
	return rc;
}
