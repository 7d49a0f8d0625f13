/*
 * dispatch.c - delivering commands to services. A service handles a command
 * inside a transaction that also records the command id in the receiving
 * side's dedup table, so a command delivered twice is applied once. The
 * dispatcher hands the outbox's pending rows to in-process services in
 * batches (one transaction per batch, one savepoint per command, no more
 * commands than the store's budget of savepoints allows) and marks them
 * delivered in the same transaction; a refused one is marked rejected and
 * its instance told (rejected.c). The pending commands of a context that
 * has neither a service nor a remote here are parked, with that reason,
 * unless the engine leaves them to another (delivered_elsewhere). An engine
 * that holds its commands (hold_commands) neither delivers nor parks any.
 */
#include "core/dispatch.h"
#include "core/events.h"
#include "core/outbox.h"
#include "core/rejected.h"
#include "core/streams.h"
#include "core/txn.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stw_service_ctx {
	struct stw_engine *e;
	const struct stw_command *cmd;
	int emitted;      /* events emitted so far: the index in derived event ids */
	char reason[512]; /* set by stw_reject */
};

STW_API struct stw_engine *stw_svc_engine(struct stw_service_ctx *sc)
{
	return sc ? sc->e : NULL;
}

STW_API int64_t stw_svc_now(const struct stw_service_ctx *sc)
{
	return sc != NULL ? stw__now(sc->e) : 0;
}

STW_API int stw_svc_read_stream(struct stw_service_ctx *sc, const char *stream, stw_event_fn fn,
				void *ud, int64_t *version)
{
	if (sc == NULL)
		return STW_EINVAL;
	return stw__read_stream(sc->e, sc->cmd->context, stream, fn, ud, version);
}

STW_API int stw_svc_emit(struct stw_service_ctx *sc, const char *stream, int64_t expected_version,
			 const char *type, json_t *data)
{
	if (sc == NULL) {
		json_decref(data);
		return STW_EINVAL;
	}
	char id[33];
	const char *parts[3] = { "event", sc->cmd->context, sc->cmd->id };
	stw__derive_id(id, stw__id_order(sc->cmd->id), parts, 3, sc->emitted);
	struct stw_event ev = {
		.id = id,
		.type = type,
		.stream = stream,
		.correlation_id = sc->cmd->correlation_id,
		.causation_id = sc->cmd->id,
		.data = data,
	};
	int rc = stw__append_in_txn(sc->e, sc->cmd->context, expected_version, &ev, 1, NULL, 1);
	json_decref(data);
	if (rc == STW_OK)
		sc->emitted++;
	return rc;
}

STW_API int stw_reject(struct stw_service_ctx *sc, const char *fmt, ...)
{
	if (sc == NULL)
		return STW_EREJECTED;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sc->reason, sizeof(sc->reason), fmt, ap);
	va_end(ap);
	return STW_EREJECTED;
}

/* Transient failures abort a delivery (it is tried again); others are outcomes. */
static int is_transient(int rc)
{
	return rc == STW_ENOMEM || rc == STW_ESTORE || rc == STW_EBUSY;
}

/*
 * Another engine on the store handled the command while this one ran its
 * handler (a store without a single writer: two deliveries of one command
 * at once) and recorded it first: its outcome is the command's, and this
 * delivery counts as a duplicate. The caller's level was undone already.
 */
static int handled_elsewhere(struct stw_engine *e, const struct stw_command *cmd, int *outcome,
			     char *err, size_t errcap)
{
	int rc = STW__S(e->store, dedup_get, cmd->context, cmd->id, outcome, err, errcap);
	if (rc != STW_OK)
		return stw__store_fail(e, rc,
				       "reading the dedup table after a concurrent delivery");
	e->stats.duplicate_deliveries++;
	rc = STW__S(e->store, dedup_hit, cmd->context, cmd->id);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "counting a duplicate");
}

/*
 * Delivers one command to a service inside the caller's transaction. If the
 * command id is in the dedup table, nothing runs and the recorded outcome is
 * returned (a duplicate delivery); `absent` says the caller found it absent
 * under the write lock it still holds, and the table is not read again.
 * Else the handler runs under a savepoint; its events are kept only if it
 * succeeds, and the outcome is recorded. *outcome receives the command's
 * outcome and err its message ("" if none). The return value is STW_OK
 * unless the delivery itself failed (transient).
 */
static int deliver_one(struct stw_engine *e, const struct stw__service *svc,
		       const struct stw_command *cmd, int absent, int *outcome, char *err,
		       size_t errcap)
{
	struct stw__store *s = e->store;
	err[0] = '\0';
	int rc = absent ? STW_ENOTFOUND
			: STW__S(s, dedup_get, cmd->context, cmd->id, outcome, err, errcap);
	if (rc == STW_OK) {
		e->stats.duplicate_deliveries++;
		rc = STW__S(s, dedup_hit, cmd->context, cmd->id);
		return rc == STW_OK ? rc : stw__store_fail(e, rc, "counting a duplicate");
	}
	if (rc != STW_ENOTFOUND)
		return stw__store_fail(e, rc, "reading the dedup table");
	if ((rc = stw__savepoint(e)) != STW_OK)
		return stw__store_fail(e, rc, "opening a savepoint");
	struct stw_service_ctx sc = { .e = e, .cmd = cmd };
	e->errmsg[0] = '\0';
	e->in_handler = 1;
	int h = svc->fn(&sc, cmd, svc->ud);
	e->in_handler = 0;
	if (h == STW_EINVAL)
		h = STW_EREJECTED; /* "this command is invalid" is the service refusing it */
	stw__failpoint(e, "service.after_handler");
	if (is_transient(h)) {
		stw__rollback_to(e);
		return stw__fail(e, h, "service %s failed on %s %s: %s", cmd->context, cmd->type,
				 cmd->id, e->errmsg[0] ? e->errmsg : stw_strerror(h));
	}
	if (h == STW_OK) {
		/* Recorded inside the handler's level, so that a race lost undoes its work. */
		rc = STW__S(s, dedup_put, cmd->context, cmd->id, h, NULL, stw__now(e));
		if (rc == STW_EEXIST) {
			if ((rc = stw__rollback_to(e)) == STW_OK)
				return handled_elsewhere(e, cmd, outcome, err, errcap);
		} else if (rc == STW_OK) {
			rc = stw__release(e);
		}
	} else {
		/* Refused: nothing the handler wrote is kept. */
		if (sc.reason[0] == '\0')
			stw__copy(sc.reason, sizeof(sc.reason),
				  e->errmsg[0] ? e->errmsg : stw_strerror(h));
		rc = stw__rollback_to(e);
		stw__copy(err, errcap, sc.reason);
		if (rc == STW_OK)
			rc = STW__S(s, dedup_put, cmd->context, cmd->id, h, err, stw__now(e));
		if (rc == STW_EEXIST)
			return handled_elsewhere(e, cmd, outcome, err, errcap);
	}
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "recording a handled command");
	*outcome = h;
	return STW_OK;
}

/* A pending outbox row copied into the arena, with its outcome. */
struct pending {
	struct stw__outbox_row row;
	int outcome;
	char *error;
};

struct pending_list {
	struct stw_engine *e;
	struct pending *items;
	int n;
	int cap;
	int oom;
};

static int pending_cb(const struct stw__outbox_row *row, void *ud)
{
	struct pending_list *l = ud;
	struct pending *p = &l->items[l->n];
	memset(p, 0, sizeof(*p));
	if (stw__outbox_row_copy(&l->e->arena, &p->row, row) != 0) {
		l->oom = 1;
		return 1;
	}
	l->n++;
	return l->n >= l->cap;
}

/*
 * Cluster mode: keeps the rows, read before the transaction began, whose
 * partition the transaction holds (another worker delivers the others).
 */
static void held_only(struct stw_engine *e, struct pending_list *l)
{
	int kept = 0;
	for (int i = 0; i < l->n; i++)
		if (stw__held_command(e, &l->items[i].row))
			l->items[kept++] = l->items[i];
	l->n = kept;
}

/* Delivers one batch of a service's pending commands; *n counts them. */
static int dispatch_service(struct stw_engine *e, const struct stw__service *svc, int *n)
{
	struct stw__store *s = e->store;
	int64_t started = stw__mono_us();
	*n = 0;
	/* One savepoint per command: a batch stays within the store's budget of them. */
	int room = stw__savepoint_room(e);
	struct pending_list l = { .e = e, .cap = stw__batch_cap(e) };
	if (l.cap > room)
		l.cap = room > 0 ? room : 1;
	l.items = stw__arena_alloc(&e->arena, sizeof(*l.items) * (size_t)l.cap);
	if (l.items == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(s, outbox_pending, svc->context, l.cap, pending_cb, &l);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading the outbox");
	if (l.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (l.n == 0)
		return STW_OK;

	if ((rc = stw__begin(e)) != STW_OK)
		return stw__store_fail(e, rc, "beginning a delivery");
	held_only(e, &l);
	for (int i = 0; i < l.n; i++) {
		struct pending *p = &l.items[i];
		json_error_t jerr;
		json_t *data = json_loads(p->row.data, 0, &jerr);
		if (data == NULL) {
			rc = stw__fail(e, STW_ESTORE, "outbox row %s has malformed JSON",
				       p->row.command_id);
			break;
		}
		struct stw_command cmd = {
			.id = p->row.command_id,
			.context = p->row.context,
			.type = p->row.type,
			.correlation_id = p->row.correlation_id,
			.causation_id = p->row.causation_id,
			.data = data,
		};
		char err[512];
		rc = deliver_one(e, svc, &cmd, 0, &p->outcome, err, sizeof(err));
		json_decref(data);
		if (rc != STW_OK)
			break;
		int oom = 0;
		p->error = err[0] ? stw__arena_strdup(&e->arena, err, &oom) : NULL;
		/* Another engine waits for the write lock: the rest is the next batch's. */
		if (i + 1 < l.n && stw__txn_yield(e))
			l.n = i + 1;
	}
	/* The outbox rows are marked in the same transaction: a command's
	 * effects, its dedup row and its "delivered" commit together, and so do a
	 * refusal and the message that tells the instance of it. */
	int64_t now = stw__now(e);
	for (int i = 0; i < l.n && rc == STW_OK; i++) {
		struct pending *p = &l.items[i];
		int ok = p->outcome == STW_OK;
		rc = STW__S(s, outbox_mark, p->row.command_id, ok ? "delivered" : "rejected",
			    p->error, now);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "marking deliveries");
		else if (!ok)
			rc = stw__tell_rejection(e, &p->row,
						 p->error ? p->error : stw_strerror(p->outcome));
	}
	if (rc == STW_OK) {
		stw__failpoint(e, "service.before_commit");
		if ((rc = stw__commit(e)) != STW_OK)
			stw__store_fail(e, rc, "committing a delivery");
	}
	if (rc != STW_OK) {
		stw__rollback(e);
		stw__log(e, STW_LOG_ERROR, "delivery to %s failed: %s", svc->context, e->errmsg);
		return rc;
	}
	stw__count_commit(e);
	for (int i = 0; i < l.n; i++) {
		e->stats.commands_delivered++;
		if (l.items[i].outcome != STW_OK)
			e->stats.commands_rejected++;
	}
	stw__failpoint(e, "dispatch.after_delivery");
	*n = l.n;
	stw__observe(e, STW_ACTIVITY_DELIVERY, NULL, svc->context, l.n, 0, started);
	return STW_OK;
}

/* dispatch_service, inside the arena scope it owns. */
static int dispatch_service_scoped(struct stw_engine *e, const struct stw__service *svc, int *n)
{
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	int rc = dispatch_service(e, svc, n);
	stw__arena_rewind(&e->arena, scope);
	return rc;
}

/* Contexts with pending commands that this engine does not serve, for park_unserved. */
#define UNSERVED_MAX 64

struct unserved {
	struct stw_engine *e;
	const char *names[UNSERVED_MAX];
	int n;
	int oom;
};

static int unserved_cb(const char *name, void *ud)
{
	struct unserved *u = ud;
	if (stw__find_service(u->e, name) != NULL || stw__find_remote(u->e, name) != NULL)
		return 0;
	int oom = 0;
	u->names[u->n] = stw__arena_strdup(&u->e->arena, name, &oom);
	if (oom) {
		u->oom = 1;
		return 1;
	}
	return ++u->n >= UNSERVED_MAX;
}

/* Parks a batch of the pending commands of `context`, in one transaction; *n counts them. */
static int park_context(struct stw_engine *e, const char *context, int *n)
{
	struct stw__store *s = e->store;
	struct pending_list l = { .e = e, .cap = stw__batch_cap(e) };
	l.items = stw__arena_alloc(&e->arena, sizeof(*l.items) * (size_t)l.cap);
	if (l.items == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int rc = STW__S(s, outbox_pending, context, l.cap, pending_cb, &l);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading the outbox");
	if (l.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	char why[STW_MAX_NAME + 48];
	snprintf(why, sizeof(why), "no service or remote for context %s", context);
	if ((rc = stw__begin(e)) != STW_OK)
		return stw__store_fail(e, rc, "beginning to park commands");
	held_only(e, &l);
	for (int i = 0; i < l.n && rc == STW_OK; i++)
		rc = STW__S(s, outbox_attempted, l.items[i].row.command_id,
			    stw__cstatus_word(STW__C_PARKED), why, l.items[i].row.attempts, 0, 0);
	if (rc == STW_OK)
		rc = stw__commit(e);
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "parking commands");
		stw__rollback(e);
		return rc;
	}
	stw__count_commit(e);
	e->stats.commands_parked += (uint64_t)l.n;
	stw__log(e, STW_LOG_WARN, "%d command%s parked: %s", l.n, l.n == 1 ? "" : "s", why);
	*n = l.n;
	return STW_OK;
}

/* stw__park_unserved, inside the arena scope it owns. */
static int park_unserved(struct stw_engine *e, int *parked)
{
	struct unserved u = { .e = e };
	int rc = STW__S(e->store, outbox_pending_contexts, unserved_cb, &u);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "reading the outbox");
	if (u.oom)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	for (int i = 0; i < u.n; i++) {
		int n = 0;
		if ((rc = park_context(e, u.names[i], &n)) != STW_OK)
			return rc;
		*parked += n;
	}
	return STW_OK;
}

int stw__park_unserved(struct stw_engine *e, int *parked)
{
	*parked = 0;
	if (e->delivered_elsewhere || e->hold_commands)
		return STW_OK;
	struct stw__arena_mark scope = stw__arena_mark(&e->arena);
	int rc = park_unserved(e, parked);
	stw__arena_rewind(&e->arena, scope);
	return rc;
}

int stw__dispatch(struct stw_engine *e, int *delivered)
{
	*delivered = 0;
	if (e->hold_commands)
		return STW_OK;
	for (size_t i = 0; i < e->nservices; i++) {
		int n = 0;
		int rc = dispatch_service_scoped(e, &e->services[i], &n);
		if (rc != STW_OK)
			return rc;
		*delivered += n;
	}
	return STW_OK;
}

STW_API int stw_execute(struct stw_engine *e, const char *context, const char *type, json_t *data,
			const char *id, const char *correlation_id, char *id_out)
{
	STW__ENTER(e, STW__CALL_WRITE);
	int rc = stw__check_command(e, context, type, data, id, correlation_id);
	if (rc != STW_OK)
		return rc;
	const struct stw__service *svc = stw__find_service(e, context);
	if (svc == NULL && stw__find_remote(e, context) != NULL)
		return stw__fail(e, STW_ESTATE,
				 "context %s is remote: its commands are queued (stw_send), not "
				 "executed here",
				 context);
	if (svc == NULL)
		return stw__fail(e, STW_ENOTFOUND, "no service for context %s", context);
	char gen[37];
	if (id == NULL) {
		stw_new_id(gen);
		id = gen;
	}
	if (id_out != NULL)
		stw__copy(id_out, STW_MAX_ID, id);
	json_t *empty = NULL;
	if (data == NULL && (data = empty = json_object()) == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	struct stw_command cmd = {
		.id = id,
		.context = context,
		.type = type,
		.correlation_id = correlation_id ? correlation_id : id,
		.data = data,
	};
	int outcome = STW_OK;
	char err[512];
	int64_t started = stw__mono_us();
	/* A command handled already answers its recorded outcome without writing:
	 * a client's retry is not a redelivery. */
	rc = STW__S(e->store, dedup_get, context, id, &outcome, err, sizeof(err));
	/* Inside a group's transaction on a single-writer store, the write lock
	 * is held already: what the lookup found stands for the delivery. */
	int absent = rc == STW_ENOTFOUND && (e->store->caps & STW__CAP_SINGLE_WRITER) != 0 &&
		     STW__S0(e->store, in_transaction);
	if (rc == STW_OK) {
		json_decref(empty);
		if (outcome != STW_OK)
			return stw__fail(e, outcome, "%s", err[0] ? err : stw_strerror(outcome));
		return STW_OK;
	}
	if (rc != STW_ENOTFOUND) {
		json_decref(empty);
		return stw__store_fail(e, rc, "reading the dedup table");
	}
	rc = stw__begin(e);
	if (rc != STW_OK) {
		json_decref(empty);
		return stw__store_fail(e, rc, "beginning a command");
	}
	rc = deliver_one(e, svc, &cmd, absent, &outcome, err, sizeof(err));
	json_decref(empty);
	if (rc == STW_OK) {
		stw__failpoint(e, "execute.before_commit");
		if ((rc = stw__commit(e)) != STW_OK)
			stw__store_fail(e, rc, "committing a command");
	}
	if (rc != STW_OK) {
		stw__rollback(e);
		return rc;
	}
	stw__observe(e, STW_ACTIVITY_COMMAND, NULL, context, 1, 0, started);
	if (outcome != STW_OK)
		return stw__fail(e, outcome, "%s", err[0] ? err : stw_strerror(outcome));
	return STW_OK;
}
