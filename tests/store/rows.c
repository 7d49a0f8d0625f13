/*
 * rows.c - rows and collectors for the tests of the store interface (see
 * rows.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include <steward.h>

#include "rows.h"

struct stw__event_row ev(const char *context, const char *id, const char *stream)
{
	struct stw__event_row r = {
		.context = context,
		.id = id,
		.type = "Happened",
		.stream = stream,
		.data = "{\"n\":1}",
		.metadata = "{}",
		.recorded_at = 1000,
	};
	return r;
}

/* event_get's callback: the position of the event found. */
int position_cb(const struct stw__event_row *row, void *ud)
{
	*(int64_t *)ud = row->position;
	return 1;
}

void append_ok(struct stw__store *s, const char *context, const char *id, const char *stream,
	       int64_t want_pos, int64_t want_ver)
{
	struct stw__event_row r = ev(context, id, stream);
	int64_t pos = -1, ver = -1;
	assert_int_equal(STW__S(s, append, &r, &pos, &ver), STW_OK);
	assert_int_equal(pos, want_pos);
	assert_int_equal(ver, want_ver);
}

struct stw__history_row hist(const char *def, const char *id, const char *message_id)
{
	return (struct stw__history_row){ .definition = def,
					  .instance_id = id,
					  .message_id = message_id,
					  .message_type = "T",
					  .outcome = "applied" };
}

struct stw__instance_row inst(const char *def, const char *id, const char *status, const char *key,
			      int64_t updated_at)
{
	struct stw__instance_row r = {
		.definition = def,
		.id = id,
		.state = "Started",
		.status = status,
		.data = "{}",
		.unique_key = key,
		.version = 1,
		.created_at = updated_at,
		.updated_at = updated_at,
	};
	return r;
}

/* ------------------------------------------------------------------------ */
/* Collectors used as callbacks                                             */

int collect_event(const struct stw__event_row *r, void *ud)
{
	struct events *c = ud;
	assert_true(c->n < MAXROWS);
	c->pos[c->n] = r->position;
	c->ver[c->n] = r->stream_version;
	snprintf(c->id[c->n], sizeof c->id[0], "%s", r->id);
	c->null_correlation[c->n] = r->correlation_id == NULL;
	c->n++;
	return c->stop_after > 0 && c->n >= c->stop_after;
}

int collect_instance(const struct stw__instance_row *r, void *ud)
{
	struct instances *c = ud;
	assert_true(c->n < MAXROWS);
	snprintf(c->id[c->n], sizeof c->id[0], "%s", r->id);
	snprintf(c->def[c->n], sizeof c->def[0], "%s", r->definition);
	snprintf(c->status[c->n], sizeof c->status[0], "%s", r->status);
	c->version[c->n] = r->version;
	c->definition_version[c->n] = r->definition_version;
	c->null_key[c->n] = r->unique_key == NULL;
	c->null_reason[c->n] = r->reason == NULL;
	c->n++;
	return 0;
}

int collect_history(const struct stw__history_row *r, void *ud)
{
	struct strings *c = ud;
	assert_true(c->n < MAXROWS);
	c->seq[c->n] = r->seq;
	snprintf(c->v[c->n], sizeof c->v[0], "%s", r->message_id);
	c->n++;
	return 0;
}

int collect_outbox(const struct stw__outbox_row *r, void *ud)
{
	struct strings *c = ud;
	assert_true(c->n < MAXROWS);
	c->seq[c->n] = r->seq;
	snprintf(c->v[c->n], sizeof c->v[0], "%s", r->command_id);
	c->n++;
	return 0;
}

int collect_unrouted(const struct stw__unrouted_row *r, void *ud)
{
	struct strings *c = ud;
	assert_true(c->n < MAXROWS);
	c->seq[c->n] = r->seq;
	snprintf(c->v[c->n], sizeof c->v[0], "%s", r->event_id);
	c->n++;
	return 0;
}

/* timers_due and timers_for_instance's callback: "id@due_at" of each timer. */
int count_timer(const struct stw__timer_row *r, void *ud)
{
	struct strings *c = ud;
	assert_true(c->n < MAXROWS);
	snprintf(c->v[c->n], sizeof c->v[0], "%s@%lld", r->id, (long long)r->due_at);
	c->n++;
	return 0;
}
