/*
 * voiding_verify.c - the checks of a store against the voiding workload's
 * model (see voiding_verify.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "fixture.h"
#include "voiding_verify.h"

static const char *const kind_prefix[VW_NKINDS - 1] = { "void", "voidb", "void2" };

/* The index of document id s ("doc-0042"), or -1. */
static long doc_index(const struct vw_config *cfg, const char *s)
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

	for (int k = 0; correlation != NULL && k < VW_NKINDS - 1; k++) {
		vw_make_id(id, sizeof id, kind_prefix[k], i);
		if (strcmp(correlation, id) == 0)
			return k;
	}
	return VW_KIND_OTHER;
}

/* Checks that positions run 1, 2, 3, ... and stream versions step by one. */
static void check_sequence(struct vw_facts *f, const struct stw_event *ev, int64_t *stream_version)
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
	struct vw_facts *f = ud;
	long i = doc_index(f->cfg, stw_event_str(ev, "document_id"));
	struct vw_doc_facts *d;
	char stream[48];
	int64_t ignored = ev->stream_version - 1;

	if (i < 0) {
		f->strays++;
		check_sequence(f, ev, &ignored);
		return 0;
	}
	d = &f->docs[i];
	check_sequence(f, ev, &d->billing_version);
	vw_make_id(stream, sizeof stream, "document", i);
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
	struct vw_facts *f = ud;
	int c = -1;
	long i;
	int64_t ignored = ev->stream_version - 1;

	for (int k = 0; k < VW_NCUSTOMERS; k++) {
		if (strncmp(ev->stream, "report-", 7) == 0 &&
		    strcmp(ev->stream + 7, vw_customers[k]) == 0)
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
	if (i < 0 || vw_doc_customer(i) != c)
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
static int read_log(struct stw_engine *e, const char *context, stw_event_fn fn, struct vw_facts *f,
		    struct vw_tally *t)
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
static void expect_count(struct vw_tally *t, long actual, long expected)
{
	if (actual < expected)
		t->lost += expected - actual;
	else if (actual > expected)
		t->doubled += actual - expected;
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
static int check_process(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t,
			 const char *id, const struct expected_process *x)
{
	json_t *p = NULL;
	const char *state, *status;
	int rc = stw_get_instance(e, "voiding", id, &p);

	if (rc == STW_ENOTFOUND) {
		if (x != NULL) {
			vw_note(cfg, "%s: missing", id);
			t->off_model++;
		}
		return STW_OK;
	}
	if (rc != STW_OK)
		return rc;
	if (x == NULL) {
		vw_note(cfg, "%s: exists but should not", id);
		t->off_model++;
		json_decref(p);
		return STW_OK;
	}
	state = json_string_value(json_object_get(p, "state"));
	status = json_string_value(json_object_get(p, "status"));
	if (state == NULL || status == NULL || strcmp(status, x->status) != 0 ||
	    (x->state != NULL && strcmp(state, x->state) != 0) ||
	    (long)json_array_size(json_object_get(p, "history")) != x->history) {
		vw_note(cfg, "%s: %s/%s with %zu history rows, expected %s/%s with %ld", id,
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
static void check_doc_facts(const struct vw_config *cfg, struct vw_tally *t, long i,
			    const struct vw_doc_facts *d)
{
	int voided = vw_doc_voided(i), pub = vw_doc_published(i);
	long before_lost = t->lost, before_doubled = t->doubled;

	expect_count(t, d->issued, 1);
	expect_count(t, d->added, 1);
	expect_count(t, d->requested[VW_KIND_VOID], voided);
	expect_count(t, d->requested[VW_KIND_VOID2], voided && pub);
	expect_count(t, d->requested[VW_KIND_OTHER], 0);
	/* The second request: always accepted for a published customer (the
	 * document is never voided); for the others, only if it came first. */
	if (vw_doc_second(i) && pub)
		expect_count(t, d->requested[VW_KIND_VOIDB], 1);
	else if (vw_doc_second(i))
		expect_count(t, d->requested[VW_KIND_VOIDB], d->requested[VW_KIND_VOIDB] > 0);
	else
		expect_count(t, d->requested[VW_KIND_VOIDB], 0);
	expect_count(t, d->voided, voided && !pub);
	expect_count(t, d->succeeded[VW_KIND_VOID], voided && !pub);
	expect_count(t, d->failed[VW_KIND_VOID], voided && pub);
	expect_count(t, d->aborted[VW_KIND_VOID], voided && pub);
	expect_count(t, d->failed[VW_KIND_VOID2], voided && pub);
	expect_count(t, d->aborted[VW_KIND_VOID2], voided && pub);
	for (int k = 0; k < VW_NKINDS; k++) {
		if (k != VW_KIND_VOID)
			expect_count(t, d->succeeded[k], 0);
		if (k != VW_KIND_VOID && k != VW_KIND_VOID2) {
			expect_count(t, d->failed[k], 0);
			expect_count(t, d->aborted[k], 0);
		}
	}
	if (t->lost != before_lost || t->doubled != before_doubled)
		vw_note(cfg, "doc-%04ld: events differ from the model (lost %ld, doubled %ld)", i,
			t->lost - before_lost, t->doubled - before_doubled);
}

/* Checks the processes, the document view and the report views against the model. */
static int check_views(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t,
		       const struct vw_facts *f)
{
	long long totals[VW_NCUSTOMERS] = { 0 };
	long expected_processes = 0;
	char doc[32], id[48];
	int rc = STW_OK;

	for (long i = 0; rc == STW_OK && i < cfg->docs; i++) {
		int voided = vw_doc_voided(i), pub = vw_doc_published(i);
		const char *want = voided && !pub ? "voided" : "issued";
		json_t *d = NULL;

		vw_make_id(doc, sizeof doc, "", i);
		rc = voiding_document(e, doc, &d);
		if (rc == STW_ENOTFOUND) {
			t->off_model++;
			rc = STW_OK;
		} else if (rc == STW_OK) {
			const char *s = json_string_value(json_object_get(d, "status"));

			if (s == NULL || strcmp(s, want) != 0) {
				vw_note(cfg, "%s: %s, expected %s", doc, s ? s : "?", want);
				t->off_model++;
			}
			json_decref(d);
		}
		if (!(voided && !pub))
			totals[vw_doc_customer(i)] += vw_doc_amount(i);
		if (rc != STW_OK || !voided)
			continue;
		vw_make_id(id, sizeof id, "void", i);
		rc = check_process(e, cfg, t, id, pub ? &want_acknowledged : &want_completed);
		expected_processes++;
		if (rc == STW_OK) {
			vw_make_id(id, sizeof id, "void2", i);
			rc = check_process(e, cfg, t, id, pub ? &want_failed : NULL);
			expected_processes += pub;
		}
		if (rc == STW_OK) {
			int b = f->docs[i].requested[VW_KIND_VOIDB] > 0;

			vw_make_id(id, sizeof id, "voidb", i);
			rc = check_process(e, cfg, t, id, b ? &want_rejected : NULL);
			expected_processes += b;
		}
	}
	for (int c = 0; rc == STW_OK && c < VW_NCUSTOMERS; c++) {
		json_t *r = NULL;

		expect_count(t, f->published[c], c == VW_PUBLISHED);
		rc = voiding_report(e, vw_customers[c], &r);
		if (rc == STW_OK) {
			if (json_integer_value(json_object_get(r, "total")) != totals[c] ||
			    json_is_true(json_object_get(r, "published")) != (c == VW_PUBLISHED)) {
				vw_note(cfg, "report %s: total %lld, expected %lld",
					vw_customers[c],
					(long long)json_integer_value(json_object_get(r, "total")),
					totals[c]);
				t->off_model++;
			}
			json_decref(r);
		} else if (rc == STW_ENOTFOUND) {
			if (cfg->docs > c) {
				vw_note(cfg, "report %s: missing", vw_customers[c]);
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
				vw_note(cfg, "%d processes, expected %ld", offset,
					expected_processes);
				t->off_model += labs(offset - expected_processes);
			}
			break;
		}
	}
	return rc;
}

/* Checks that nothing was left unrouted and every cursor reached its head. */
int vw_check_engine(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t)
{
	static const char *const defs[] = { "voiding", "reports-feed" };
	static const char *const contexts[] = { "Billing", "Reports" };
	int rc = STW_OK;

	for (int d = 0; rc == STW_OK && d < 2; d++) {
		json_t *unrouted = NULL;

		rc = stw_list_unrouted(e, defs[d], 100, &unrouted);
		if (json_array_size(unrouted) > 0) {
			vw_note(cfg, "%s: %zu unrouted messages", defs[d],
				json_array_size(unrouted));
			t->off_model += (long)json_array_size(unrouted);
		}
		json_decref(unrouted);
		for (int c = 0; rc == STW_OK && c < 2 - d; c++) {
			int64_t cursor = 0, head = 0;

			rc = stw_get_cursor(e, defs[d], contexts[c], &cursor);
			if (rc == STW_OK)
				rc = stw_head(e, contexts[c], &head);
			if (rc == STW_OK && cursor != head) {
				vw_note(cfg, "cursor %s/%s at %" PRId64 ", head %" PRId64, defs[d],
					contexts[c], cursor, head);
				t->off_model++;
			}
		}
	}
	return rc;
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
static int check_reminders(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t)
{
	int rc = STW_OK;

	for (long r = 0; rc == STW_OK && r < vw_reminder_count(cfg); r++) {
		char id[48], stream[64];
		json_t *o = NULL;
		long rangs = 0;

		vw_reminder_id(id, sizeof id, r);
		snprintf(stream, sizeof stream, "bell-%s", id);
		t->processes++;
		rc = stw_get_instance(e, "reminder", id, &o);
		if (rc == STW_ENOTFOUND) {
			vw_note(cfg, "reminder %s: no instance", id);
			t->lost++;
			rc = STW_OK;
			continue;
		}
		if (rc != STW_OK)
			break;
		const char *state = json_string_value(json_object_get(o, "state"));
		long rings = count_where(o, "history", "message_type", "Ring");
		if (state == NULL || strcmp(state, "Rung") != 0) {
			vw_note(cfg, "reminder %s: state %s", id, state ? state : "?");
			t->off_model++;
		}
		expect_count(t, rings, 1);
		json_decref(o);
		rc = stw_read_stream(e, "Bell", stream, count_event, &rangs, NULL);
		if (rc == STW_OK) {
			if (rangs != 1)
				vw_note(cfg, "reminder %s: %ld Rang events", id, rangs);
			expect_count(t, rangs, 1);
		}
	}
	int64_t due = 0;
	if (rc == STW_OK && stw_next_timer(e, &due) == STW_OK) {
		vw_note(cfg, "a timer is still pending");
		t->lost++;
	}
	return rc;
}

/* PRAGMA integrity_check on connection s: 0 if "ok", else 1 (printed). */
static int integrity_check(const struct vw_config *cfg, sqlite3 *s, const char *db)
{
	sqlite3_stmt *st = NULL;
	const char *answer = NULL;

	if (sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		answer = (const char *)sqlite3_column_text(st, 0);
	int bad = answer == NULL || strcmp(answer, "ok") != 0;
	if (bad)
		fprintf(stderr, "%s: %s: integrity_check: %s\n", cfg->prog, db,
			answer ? answer : sqlite3_errmsg(s));
	sqlite3_finalize(st);
	return bad;
}

int vw_integrity(const struct vw_config *cfg, const char *db)
{
	sqlite3 *s = NULL;
	int bad = sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK;

	if (bad)
		fprintf(stderr, "%s: %s: %s\n", cfg->prog, db, s ? sqlite3_errmsg(s) : "no memory");
	else
		bad = integrity_check(cfg, s, db);
	sqlite3_close(s);
	return bad;
}

/* 1 when db is a PostgreSQL store's URL. */
static int on_postgres(const char *db)
{
	return strncmp(db, "postgres://", 11) == 0 || strncmp(db, "postgresql://", 13) == 0;
}

/*
 * A PostgreSQL store's counterpart of integrity_check: amcheck's
 * bt_index_check on every B-tree index of the store's schema, with
 * heapallindexed (every row of the table is found in the index), and the
 * dedup table's duplicate count.
 */
static int check_postgres(const struct vw_config *cfg, const char *db, struct vw_tally *t)
{
	long long checked = 0, dups = 0;
	int rc = fx_pg_scalar(db, "CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public", NULL);
	if (rc == 0)
		rc = fx_pg_scalar(db,
				  "SELECT count(*) FROM (SELECT public.bt_index_check(c.oid, true)"
				  " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
				  " JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'btree'"
				  " AND c.relnamespace = current_schema()::regnamespace) AS checks",
				  &checked);
	if (rc == 0)
		rc = fx_pg_scalar(db, "SELECT sum(duplicates) FROM stw_dedup", &dups);
	if (rc == 0 && checked == 0) {
		fprintf(stderr, "%s: %s: no index to check\n", cfg->prog, db);
		rc = -1;
	}
	if (rc != 0)
		t->integrity_failed = 1;
	t->duplicate_deliveries += (long)dups;
	return rc;
}

int vw_check_store(const struct vw_config *cfg, const char *db, struct vw_tally *t)
{
	if (on_postgres(db))
		return check_postgres(cfg, db, t);
	sqlite3 *s = NULL;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_open_v2(db, &s, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK) {
		t->integrity_failed |= integrity_check(cfg, s, db);
		rc = sqlite3_prepare_v2(s, "SELECT sum(duplicates) FROM stw_dedup", -1, &st, NULL);
	}
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		t->duplicate_deliveries += (long)sqlite3_column_int64(st, 0);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "%s: %s: %s\n", cfg->prog, db, sqlite3_errmsg(s));
		t->integrity_failed = 1;
	}
	sqlite3_finalize(st);
	sqlite3_close(s);
	return rc == SQLITE_OK ? 0 : -1;
}

int vw_read_facts(struct stw_engine *e, const struct vw_config *cfg, struct vw_facts *f,
		  struct vw_tally *t)
{
	int rc;

	*f = (struct vw_facts){ .cfg = cfg };
	f->docs = calloc((size_t)cfg->docs, sizeof *f->docs);
	if (f->docs == NULL)
		return STW_ENOMEM;
	rc = read_log(e, "Billing", billing_fact, f, t);
	if (rc == STW_OK)
		rc = read_log(e, "Reports", reports_fact, f, t);
	return rc;
}

void vw_facts_free(struct vw_facts *f)
{
	free(f->docs);
	f->docs = NULL;
}

int vw_verify_engine(struct stw_engine *e, const struct vw_config *cfg, struct vw_tally *t)
{
	struct vw_facts f;
	int rc = vw_read_facts(e, cfg, &f, t);

	if (rc == STW_OK) {
		t->lost += f.gaps;
		t->doubled += f.repeats;
		t->off_model += f.strays;
		for (long i = 0; i < cfg->docs; i++)
			check_doc_facts(cfg, t, i, &f.docs[i]);
		rc = check_views(e, cfg, t, &f);
	}
	if (rc == STW_OK)
		rc = vw_check_engine(e, cfg, t);
	if (rc == STW_OK)
		rc = check_reminders(e, cfg, t);
	vw_facts_free(&f);
	return rc;
}

int vw_verify(const struct vw_config *cfg, const char *db, struct vw_tally *t)
{
	struct stw_engine *e = NULL;
	long lost0 = t->lost, doubled0 = t->doubled, off0 = t->off_model;
	int integrity0 = t->integrity_failed;
	int rc;

	rc = stw_open(db, NULL, &e);
	if (rc == STW_OK)
		rc = vw_register(e);
	if (rc == STW_OK)
		rc = vw_verify_engine(e, cfg, t);
	if (rc != STW_OK)
		fprintf(stderr, "%s: verifying %s: %s: %s\n", cfg->prog, db, stw_strerror(rc),
			e ? stw_errmsg(e) : "");
	stw_close(e);
	if (rc == STW_OK)
		rc = vw_check_store(cfg, db, t);
	vw_note(cfg, "verified %s: lost %ld, doubled %ld, off model %ld", db, t->lost - lost0,
		t->doubled - doubled0, t->off_model - off0);
	if (rc != STW_OK)
		return -1;
	return t->lost != lost0 || t->doubled != doubled0 || t->off_model != off0 ||
	       t->integrity_failed != integrity0;
}
