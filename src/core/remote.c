/*
 * remote.c - commands to services that run elsewhere. A remote context's
 * commands wait in the outbox like any other; the engine hands the due ones
 * to the context's transport (HTTP in the daemon) outside any transaction,
 * then records each outcome in one transaction: delivered (with the events
 * the service answered, appended to the context's log), refused (and the
 * instance that sent it told, rejected.c), or failed.
 * A failed command is tried again after an exponential backoff with jitter
 * and, after its last attempt, parked for a person to retry or skip.
 *
 * Delivery is at least once: a crash between the service's answer and the
 * record sends the command again under the same id, which the service
 * deduplicates (the Idempotency-Key of the HTTP transport).
 */
#include "core/events.h"
#include "core/outbox.h"
#include "core/rejected.h"
#include "core/txn.h"

#include <stdlib.h>
#include <string.h>

/* xorshift64*: the jitter of retry delays needs spread, not secrecy. */
static uint64_t next_random(struct stw_engine *e)
{
	uint64_t x = e->rng ? e->rng : 0x2545f4914f6cdd1du;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	e->rng = x;
	return x * 0x2545f4914f6cdd1du;
}

/*
 * The delay before attempt `attempts + 1`: backoff * 2^(attempts - 1),
 * capped, of which a random half is taken off ("equal jitter") so that
 * commands that failed together do not come back together.
 */
static int64_t retry_delay(struct stw_engine *e, const struct stw_remote_def *d, int attempts)
{
	int64_t delay = d->backoff_ms;
	for (int i = 1; i < attempts && delay < d->backoff_max_ms; i++)
		delay *= 2;
	if (delay > d->backoff_max_ms)
		delay = d->backoff_max_ms;
	int64_t half = delay / 2;
	return delay - half + (half > 0 ? (int64_t)(next_random(e) % (uint64_t)(half + 1)) : 0);
}

/* A due outbox row copied into the arena, and its command. */
struct due {
	struct stw__outbox_row row;
	struct stw_command cmd;
};

struct due_list {
	struct stw_engine *e;
	struct due *items;
	int n;
	int cap;
	int oom;
};

static int due_cb(const struct stw__outbox_row *row, void *ud)
{
	struct due_list *l = ud;
	struct due *p = &l->items[l->n];
	memset(p, 0, sizeof(*p));
	if (stw__outbox_row_copy(&l->e->arena, &p->row, row) != 0) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return l->n >= l->cap;
}

/* A string member of an answered event, NULL when absent; *bad when not a string. */
static const char *member_str(json_t *o, const char *key, int *bad)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		*bad = 1;
	return json_string_value(v);
}

/*
 * Appends the events a service answered with, inside the caller's
 * transaction. Ids missing from the answer are derived from the command id
 * and the index, as stw_svc_emit derives them.
 */
static int append_answer(struct stw_engine *e, const struct stw_command *cmd, json_t *events)
{
	if (events == NULL)
		return STW_OK;
	if (json_is_string(events)) /* a transport's word on a malformed answer */
		return stw__fail(e, STW_EINVAL, "%s", json_string_value(events));
	if (!json_is_array(events))
		return stw__fail(e, STW_EINVAL, "the answer's events are not an array");
	size_t i;
	json_t *o;
	json_array_foreach(events, i, o)
	{
		if (!json_is_object(o))
			return stw__fail(e, STW_EINVAL, "answered event %zu is not an object", i);
		int bad = 0;
		char id[33];
		struct stw_event ev = {
			.id = member_str(o, "id", &bad),
			.type = member_str(o, "type", &bad),
			.stream = member_str(o, "stream", &bad),
			.correlation_id = member_str(o, "correlation_id", &bad),
			.causation_id = cmd->id,
			.data = json_object_get(o, "data"),
			.metadata = json_object_get(o, "metadata"),
		};
		json_t *xv = json_object_get(o, "expected_version");
		int64_t expected = STW_ANY_VERSION;
		if (xv != NULL && !json_is_null(xv)) {
			if (!json_is_integer(xv) || json_integer_value(xv) < 0)
				return stw__fail(e, STW_EINVAL,
						 "answered event %zu: expected_version is not a "
						 "version",
						 i);
			expected = json_integer_value(xv);
		}
		if (bad)
			return stw__fail(e, STW_EINVAL, "answered event %zu has a non-string field",
					 i);
		if (ev.id == NULL) {
			const char *parts[3] = { "event", cmd->context, cmd->id };
			stw__derive_id(id, stw__id_order(cmd->id), parts, 3, (long)i);
			ev.id = id;
		}
		if (ev.correlation_id == NULL)
			ev.correlation_id = cmd->correlation_id;
		int rc = stw__append_in_txn(e, cmd->context, expected, &ev, 1, NULL, 0);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

/* Sets a command's status after an attempt (see outbox_attempted). */
static int mark(struct stw_engine *e, const char *id, const char *status, const char *error,
		int attempts, int64_t next_at, int64_t at)
{
	int rc = STW__S(e->store, outbox_attempted, id, status, error, attempts, next_at, at);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "recording a delivery");
}

/*
 * Records the outcome of one attempt inside the caller's transaction;
 * *appended counts the events the answers appended.
 */
static int record(struct stw_engine *e, const struct stw__remote *r, struct due *p,
		  struct stw_delivery_attempt *a, int64_t now, int *appended)
{
	int attempts = p->row.attempts + 1;
	const char *id = p->row.command_id;
	int rc;
	e->stats.remote_attempts++;
	if (a->outcome == STW_OK) {
		if ((rc = stw__savepoint(e)) != STW_OK)
			return stw__store_fail(e, rc, "opening a savepoint");
		e->errmsg[0] = '\0';
		rc = append_answer(e, &p->cmd, a->events);
		if (rc == STW_OK) {
			if ((rc = stw__release(e)) != STW_OK)
				return stw__store_fail(e, rc, "releasing a savepoint");
			*appended += a->events ? (int)json_array_size(a->events) : 0;
			e->stats.commands_delivered++;
			return mark(e, id, "delivered", NULL, attempts, 0, now);
		}
		if (rc == STW_ENOMEM || rc == STW_ESTORE || rc == STW_EBUSY) {
			stw__rollback_to(e); /* the message of rc stays */
			return rc;
		}
		/* The service applied the command but its answer cannot be stored:
		 * a person must look. */
		char why[1100];
		snprintf(why, sizeof(why), "the service's answer cannot be stored: %s", e->errmsg);
		if ((rc = stw__rollback_to(e)) != STW_OK)
			return stw__store_fail(e, rc, "rolling back an answer");
		e->stats.commands_parked++;
		stw__log(e, STW_LOG_WARN, "command %s to %s parked: %s", id, r->context, why);
		return mark(e, id, "parked", why, attempts, 0, 0);
	}
	if (a->outcome == STW_EREJECTED || a->outcome == STW_EINVAL) {
		e->stats.commands_delivered++;
		e->stats.commands_rejected++;
		const char *why = a->error[0] ? a->error : "refused by the service";
		rc = mark(e, id, "rejected", why, attempts, 0, now);
		return rc == STW_OK ? stw__tell_rejection(e, &p->row, why) : rc;
	}
	e->stats.remote_failures++;
	const char *err = a->error[0] ? a->error : stw_strerror(a->outcome);
	if (attempts >= r->def.max_attempts) {
		e->stats.commands_parked++;
		stw__log(e, STW_LOG_WARN, "command %s to %s parked after %d attempts: %s", id,
			 r->context, attempts, err);
		return mark(e, id, "parked", err, attempts, 0, 0);
	}
	int64_t next = now + retry_delay(e, &r->def, attempts);
	return mark(e, id, "pending", err, attempts, next, 0);
}

/* One batch of one remote context; *n counts the attempts made. */
static int deliver_batch(struct stw_engine *e, const struct stw__remote *r, int *n)
{
	struct stw__store *s = e->store;
	int64_t started = stw__mono_us();
	*n = 0;
	struct due_list l = { .e = e, .cap = r->def.batch };
	l.items = stw__arena_alloc(&e->arena, sizeof(*l.items) * (size_t)l.cap);
	struct stw_delivery_attempt *att =
	    stw__arena_alloc(&e->arena, sizeof(*att) * (size_t)l.cap);
	if (l.items == NULL || att == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(s, outbox_due, r->context, stw__now(e), l.cap, due_cb, &l);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading the outbox");
	if (l.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (l.n == 0)
		return STW_OK;
	rc = STW_OK;
	for (int i = 0; i < l.n; i++) {
		struct due *p = &l.items[i];
		json_error_t jerr;
		json_t *data = json_loads(p->row.data, 0, &jerr);
		if (data == NULL) {
			for (int j = 0; j < i; j++)
				json_decref(l.items[j].cmd.data);
			return stw__fail(e, STW_ESTORE, "outbox row %s has malformed JSON",
					 p->row.command_id);
		}
		p->cmd = (struct stw_command){
			.id = p->row.command_id,
			.context = p->row.context,
			.type = p->row.type,
			.correlation_id = p->row.correlation_id,
			.causation_id = p->row.causation_id,
			.data = data,
		};
		att[i] = (struct stw_delivery_attempt){
			.cmd = &p->cmd,
			.attempt = p->row.attempts + 1,
			.outcome = STW_EUNAVAILABLE,
		};
	}
	r->def.send(att, (size_t)l.n, r->def.ud);
	stw__failpoint(e, "remote.after_send");

	int appended = 0;
	if ((rc = stw__begin(e)) != STW_OK) {
		stw__store_fail(e, rc, "beginning to record deliveries");
	} else {
		int64_t now = stw__now(e);
		for (int i = 0; i < l.n && rc == STW_OK; i++) {
			/* A partition taken over since the send: its new owner sends
			 * again, under the same id, and records that. */
			if (stw__held_command(e, &l.items[i].row))
				rc = record(e, r, &l.items[i], &att[i], now, &appended);
		}
		if (rc == STW_OK && (rc = stw__commit(e)) != STW_OK)
			stw__store_fail(e, rc, "committing deliveries");
		if (rc != STW_OK)
			stw__rollback(e);
	}
	for (int i = 0; i < l.n; i++) {
		json_decref(l.items[i].cmd.data);
		json_decref(att[i].events);
	}
	if (rc != STW_OK) {
		/* Nothing recorded: the commands are sent again, under the same ids. */
		stw__log(e, STW_LOG_ERROR, "delivery to %s failed: %s", r->context, e->errmsg);
		return rc;
	}
	stw__count_commit(e);
	stw__failpoint(e, "remote.after_record");
	*n = l.n;
	stw__observe(e, STW_ACTIVITY_DELIVERY, NULL, r->context, l.n, 0, started);
	if (appended > 0)
		stw__observe(e, STW_ACTIVITY_APPEND, NULL, r->context, appended, 0, started);
	return STW_OK;
}

/* deliver_batch, inside the arena scope it owns. */
static int deliver_batch_scoped(struct stw_engine *e, const struct stw__remote *r, int *n)
{
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	int rc = deliver_batch(e, r, n);
	stw__arena_rewind(&e->arena, scope);
	return rc;
}

STW_API int stw_deliver_remote(struct stw_engine *e, int *delivered)
{
	if (delivered != NULL)
		*delivered = 0;
	STW__ENTER(e, STW__CALL_WRITE);
	if (e->txn != STW__TXN_NONE)
		return stw__fail(e, STW_ESTATE,
				 "a transaction is open (stw_begin): commit or roll it back first");
	for (size_t i = 0; !e->hold_commands && i < e->nremotes; i++) {
		int n = 0;
		int rc = deliver_batch_scoped(e, &e->remotes[i], &n);
		if (rc != STW_OK)
			return rc;
		if (delivered != NULL)
			*delivered += n;
	}
	return STW_OK;
}

STW_API int stw_next_delivery(struct stw_engine *e, int64_t *due_ms)
{
	STW__ENTER(e, STW__CALL_READ);
	if (due_ms == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	int found = 0;
	for (size_t i = 0; i < e->nremotes; i++) {
		int64_t at = 0;
		int rc = STW__S(e->store, outbox_next_due, e->remotes[i].context, &at);
		if (rc == STW_ENOTFOUND)
			continue;
		if (rc != STW_OK)
			return stw__store_fail(e, rc, "finding the next delivery");
		if (!found || at < *due_ms)
			*due_ms = at;
		found = 1;
	}
	return found ? STW_OK : STW_ENOTFOUND;
}

/* ------------------------------------------------------------------------ */
/* Inspection and a person's decisions                                      */
