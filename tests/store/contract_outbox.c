/*
 * contract_outbox.c - the store contract on the outbox and its remote
 * delivery, and on the dedup table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "contract_int.h"

/* Counts the outbox rows a callback sees, of one context or (NULL) of all. */
struct outbox_count {
	const char *context;
	int64_t n;
};

static int count_outbox(const struct stw__outbox_row *r, void *ud)
{
	struct outbox_count *c = ud;
	if (c->context == NULL || strcmp(r->context, c->context) == 0)
		c->n++;
	return 0;
}

/* The outbox rows of every status, of one context or (NULL) of all. */
static int64_t outbox_rows(struct stw__store *s, const char *context)
{
	static const char *const statuses[] = { "pending", "delivered", "rejected", "parked",
						"skipped" };
	struct outbox_count c = { .context = context };
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		assert_int_equal(STW__S(s, outbox_by_status, statuses[i], 0, count_outbox, &c),
				 STW_OK);
	return c.n;
}

/* outbox_get's callback: the row's delivered_at (ud: int64_t *). */
static int delivered_at_cb(const struct stw__outbox_row *r, void *ud)
{
	*(int64_t *)ud = r->delivered_at;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Outbox                                                                   */

struct stw__outbox_row contract_cmd(const char *id, const char *context, const char *inst_id)
{
	struct stw__outbox_row r = {
		.command_id = id,
		.context = context,
		.type = "Do",
		.definition = inst_id ? "d" : NULL,
		.instance_id = inst_id,
		.data = "{}",
		.status = "pending",
		.created_at = 1,
	};
	return r;
}

/* outbox_pending_contexts' callback: collects the names into a struct strings. */
static int collect_name(const char *name, void *ud)
{
	struct strings *c = ud;
	snprintf(c->v[c->n++], sizeof c->v[0], "%s", name);
	return c->n >= MAXROWS;
}

/*
 * outbox_insert is idempotent on command_id; pending lists one context in seq
 * order; mark takes a row out of pending; for_instance, pending_count and
 * pending_contexts agree.
 */
void contract_test_outbox(void **state)
{
	struct fixture *f = *state;
	struct stw__store *s = f->s;
	struct stw__outbox_row rows[] = {
		contract_cmd("c1", "Billing", "i1"),
		contract_cmd("c2", "Reports", "i1"),
		contract_cmd("c3", "Billing", NULL),
		contract_cmd("c4", "Billing", "i2"),
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		assert_int_equal(STW__S(s, outbox_insert, &rows[i]), STW_OK);
	struct stw__outbox_row again = contract_cmd("c1", "Other", "i9");
	assert_int_equal(STW__S(s, outbox_insert, &again), STW_OK);
	assert_int_equal(outbox_rows(s, NULL), 4);
	assert_int_equal(outbox_rows(s, "Other"), 0);

	int64_t n = -1;
	assert_int_equal(STW__S(s, outbox_pending_count, &n), STW_OK);
	assert_int_equal(n, 4);
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_pending_contexts, collect_name, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "Billing");
	assert_string_equal(c.v[1], "Reports");

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 10, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0], "c1");
	assert_string_equal(c.v[1], "c3");
	assert_string_equal(c.v[2], "c4");
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 2, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 2);

	assert_int_equal(STW__S(s, outbox_mark, "c1", "delivered", NULL, 50), STW_OK);
	assert_int_equal(STW__S(s, outbox_mark, "c3", "rejected", "no", 51), STW_OK);
	assert_int_equal(STW__S(s, outbox_mark, "nope", "delivered", NULL, 52), STW_ENOTFOUND);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending, "Billing", 10, collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "c4");
	assert_int_equal(STW__S(s, outbox_pending_count, &n), STW_OK);
	assert_int_equal(n, 2);
	/* Reports' only row leaves the pending ones: its context is no longer listed. */
	assert_int_equal(STW__S(s, outbox_mark, "c2", "delivered", NULL, 53), STW_OK);
	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_pending_contexts, collect_name, &c), STW_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0], "Billing");
	int64_t at = -1;
	assert_int_equal(STW__S(s, outbox_get, "c3", delivered_at_cb, &at), STW_OK);
	assert_int_equal(at, 51);

	memset(&c, 0, sizeof c);
	assert_int_equal(STW__S(s, outbox_for_instance, "d", "i1", collect_outbox, &c), STW_OK);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.v[0], "c1");
	assert_string_equal(c.v[1], "c2");
	assert_true(c.seq[0] < c.seq[1]);
}

/* An outbox row as a callback handed it on, NULL error kept apart. */
struct outbox_copy {
	int n;
	char context[32], status[32], error[32];
	int null_error;
	int attempts;
	int64_t next_at, delivered_at;
};

static int copy_outbox(const struct stw__outbox_row *r, void *ud)
{
	struct outbox_copy *c = ud;
	c->n++;
	snprintf(c->context, sizeof c->context, "%s", r->context);
	snprintf(c->status, sizeof c->status, "%s", r->status);
	c->null_error = r->error == NULL;
	snprintf(c->error, sizeof c->error, "%s", c->null_error ? "" : r->error);
	c->attempts = r->attempts;
	c->next_at = r->next_at;
	c->delivered_at = r->delivered_at;
	return 0;
}

/* The command ids in c, in order, separated by spaces ("" for none). */
static const char *joined(const struct strings *c, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (int i = 0; i < c->n && used < cap; i++)
		used += (size_t)snprintf(buf + used, cap - used, "%s%s", i ? " " : "", c->v[i]);
	return buf;
}

/* The command ids outbox_due hands on for a context at `now`, at most limit. */
static const char *due_ids(struct stw__store *s, const char *context, int64_t now, int limit,
			   char *buf, size_t cap)
{
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_due, context, now, limit, collect_outbox, &c), STW_OK);
	return joined(&c, buf, cap);
}

/* The command ids outbox_by_status hands on for a status, at most limit. */
static const char *status_ids(struct stw__store *s, const char *status, int limit, char *buf,
			      size_t cap)
{
	struct strings c = { 0 };
	assert_int_equal(STW__S(s, outbox_by_status, status, limit, collect_outbox, &c), STW_OK);
	return joined(&c, buf, cap);
}

/*
 * Remote delivery: outbox_due lists a context's pending rows due by now (a
 * new row is due at once) in seq order, at most limit; outbox_next_due is
 * the earliest next_at of its pending rows; outbox_attempted records an
 * attempt (status, error, attempts, next_at, delivered_at), which
 * outbox_get shows; outbox_by_status lists a status newest first.
 */
void contract_test_outbox_remote(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	struct stw__outbox_row rows[] = { contract_cmd("c1", "Bank", "i1"),
					  contract_cmd("c2", "Bank", "i2"),
					  contract_cmd("c3", "Other", "i3"),
					  contract_cmd("c4", "Bank", "i4") };
	char ids[64];
	assert_int_equal(STW__S0(s, begin), STW_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(STW__S(s, outbox_insert, &rows[i]), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	int64_t at = -1;
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 0);
	assert_int_equal(STW__S(s, outbox_next_due, "Nowhere", &at), STW_ENOTFOUND);
	assert_string_equal(due_ids(s, "Bank", 0, 10, ids, sizeof ids), "c1 c2");

	/* c1 failed and is tried again at 2000; c2 is parked. */
	assert_int_equal(STW__S0(s, begin), STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c1", "pending", "HTTP 503", 1, 2000, 0),
			 STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c2", "parked", "gave up", 4, 0, 0), STW_OK);
	assert_int_equal(STW__S0(s, commit), STW_OK);
	struct outbox_copy o = { 0 };
	assert_int_equal(STW__S(s, outbox_get, "c1", copy_outbox, &o), STW_OK);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.context, "Bank");
	assert_string_equal(o.status, "pending");
	assert_string_equal(o.error, "HTTP 503");
	assert_int_equal(o.attempts, 1);
	assert_int_equal(o.next_at, 2000);
	assert_int_equal(STW__S(s, outbox_get, "nope", copy_outbox, &o), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 2000);
	assert_string_equal(due_ids(s, "Bank", 1999, 10, ids, sizeof ids), "");
	assert_string_equal(due_ids(s, "Bank", 2000, 10, ids, sizeof ids), "c1");

	/* c4, new, is due at once: at 2000 both are, in seq order, at most limit. */
	assert_int_equal(STW__S(s, outbox_insert, &rows[3]), STW_OK);
	assert_string_equal(due_ids(s, "Bank", 2000, 10, ids, sizeof ids), "c1 c4");
	assert_string_equal(due_ids(s, "Bank", 2000, 1, ids, sizeof ids), "c1");
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_OK);
	assert_int_equal(at, 0);

	/* Delivered at the next attempt: no error, out of the pending rows. */
	assert_int_equal(STW__S(s, outbox_attempted, "c1", "delivered", NULL, 2, 0, 2500), STW_OK);
	assert_int_equal(STW__S(s, outbox_attempted, "c4", "parked", "refused", 1, 0, 0), STW_OK);
	memset(&o, 0, sizeof o);
	assert_int_equal(STW__S(s, outbox_get, "c1", copy_outbox, &o), STW_OK);
	assert_string_equal(o.status, "delivered");
	assert_true(o.null_error);
	assert_int_equal(o.attempts, 2);
	assert_int_equal(o.delivered_at, 2500);
	assert_int_equal(STW__S(s, outbox_next_due, "Bank", &at), STW_ENOTFOUND);
	assert_string_equal(status_ids(s, "parked", 10, ids, sizeof ids), "c4 c2");
	assert_string_equal(status_ids(s, "parked", 1, ids, sizeof ids), "c4");
	assert_string_equal(status_ids(s, "delivered", 10, ids, sizeof ids), "c1");
	assert_string_equal(status_ids(s, "pending", 10, ids, sizeof ids), "c3");
}

/* ------------------------------------------------------------------------ */
/* Dedup                                                                    */

/* dedup_put records once; get returns outcome and error; hit counts duplicates. */
void contract_test_dedup(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int outcome = 1;
	char err[8] = "x";
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c1", &outcome, err, sizeof err),
			 STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c1", STW_OK, NULL, 10), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c1", STW_OK, NULL, 11), STW_EEXIST);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "c2", STW_EREJECTED, "too late!", 12),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Reports", "c1", STW_OK, NULL, 13), STW_OK);

	assert_int_equal(STW__S(s, dedup_get, "Billing", "c1", &outcome, err, sizeof err), STW_OK);
	assert_int_equal(outcome, STW_OK);
	assert_string_equal(err, "");
	assert_int_equal(STW__S(s, dedup_get, "Billing", "c2", &outcome, err, sizeof err), STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	assert_string_equal(err, "too lat"); /* truncated to the buffer */

	int64_t n = -1;
	assert_int_equal(STW__S(s, dedup_duplicates, &n), STW_OK);
	assert_int_equal(n, 0);
	assert_int_equal(STW__S(s, dedup_hit, "Billing", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Billing", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Reports", "c1"), STW_OK);
	assert_int_equal(STW__S(s, dedup_hit, "Reports", "none"), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_duplicates, &n), STW_OK);
	assert_int_equal(n, 3);
}

/* dedup_forget_refusal forgets a refused command only: an applied one stays recorded. */
void contract_test_dedup_forget_refusal(void **state)
{
	struct stw__store *s = ((struct fixture *)*state)->s;
	int outcome = 1;
	assert_int_equal(STW__S(s, dedup_put, "Billing", "ok", STW_OK, NULL, 10), STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Billing", "no", STW_EREJECTED, "too late", 11),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_put, "Reports", "no", STW_EREJECTED, "closed", 12),
			 STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "ok"), STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "no"), STW_OK);
	assert_int_equal(STW__S(s, dedup_forget_refusal, "Billing", "never"), STW_OK);
	assert_int_equal(STW__S(s, dedup_get, "Billing", "ok", &outcome, NULL, 0), STW_OK);
	assert_int_equal(outcome, STW_OK);
	assert_int_equal(STW__S(s, dedup_get, "Billing", "no", &outcome, NULL, 0), STW_ENOTFOUND);
	assert_int_equal(STW__S(s, dedup_get, "Reports", "no", &outcome, NULL, 0), STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	/* Handled again, it is recorded again. */
	assert_int_equal(STW__S(s, dedup_put, "Billing", "no", STW_OK, NULL, 13), STW_OK);
}
