/*
 * test_execute.c - unit tests of stw_execute (src/core/dispatch.c): a
 * command run at once by an in-process service, its outcome recorded in the
 * dedup table, input refused, re-entry refused; the registration of
 * services; and groups of calls in one transaction (stw_begin, stw_commit,
 * stw_rollback), against a fresh SQLite database per test.
 *
 * The Shop handler is the fixture's scripted service (struct fx_shop, emit,
 * reject, fail transiently, re-enter the engine); fx_ship_policy sends it
 * Shop.Ship for each "Ordered" event of "Sales".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/engine_int.h"
#include "fixture.h"
#include "fixture_int.h"

/* Each test's world is a fresh database in a temporary directory, with a virtual clock. */
static int setup(void **state)
{
	return fx_setup(state, "execute", FX_T0, NULL);
}

/* ------------------------------------------------------------------------ */
/* stw_execute                                                              */

/*
 * stw_execute returns the outcome, reports the id, defaults the correlation
 * id to the command id, passes the data (NULL: {}), and a second call with
 * the same id does not run the handler again but returns STW_OK again.
 */
static void test_execute_outcome_and_dedup(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	json_t *data = json_pack("{s:s}", "order", "o-9");
	char id[STW_MAX_ID] = "";
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-1", NULL, id), STW_OK);
	assert_string_equal(id, "cmd-1");
	assert_int_equal(s.calls, 1);
	assert_string_equal(s.last.id, "cmd-1");
	assert_string_equal(s.last.context, "Shop");
	assert_string_equal(s.last.type, "Ship");
	assert_true(s.last.has_corr);
	assert_string_equal(s.last.corr, "cmd-1");
	assert_false(s.last.has_caus);
	assert_string_equal(s.last.data, "{\"order\":\"o-9\"}");

	struct fx_ev_list l;
	fx_read_all(e, "Shop", &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.ev[0].corr, "cmd-1");
	assert_string_equal(l.ev[0].caus, "cmd-1");
	char want[33];
	fx_emitted_id(want, "Shop", "cmd-1", 0);
	assert_string_equal(l.ev[0].id, want);

	/* The same id again: recorded outcome, no second application. A client's
	 * retry is answered from the dedup table without writing, so it is not
	 * counted as a redelivery. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 1);
	assert_int_equal(fx_stats(e).duplicate_deliveries, 0);
	assert_int_equal(fx_dedup_duplicates(e), 0);
	json_decref(data);

	/* A generated id (a UUID) is reported and is the default correlation id. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, NULL, NULL, id), STW_OK);
	assert_int_equal(strlen(id), 36);
	assert_int_equal(s.calls, 2);
	assert_string_equal(s.last.id, id);
	assert_string_equal(s.last.corr, id);
	assert_string_equal(s.last.data, "{}");

	/* An explicit correlation id is kept. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-3", "corr-x", NULL), STW_OK);
	assert_int_equal(s.calls, 3);
	assert_string_equal(s.last.corr, "corr-x");
}

/*
 * A refusal is returned as STW_EREJECTED with the reason in stw_errmsg, keeps
 * nothing the handler emitted, and is recorded: the same id again returns
 * STW_EREJECTED with the same message without calling the handler. Another
 * handler error (here a stale version from stw_svc_emit) is recorded the same
 * way with its message.
 */
static void test_execute_rejection_recorded(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1, .reject = 1 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	json_t *data = json_pack("{s:s}", "order", "o-1");
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-r", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-1");
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 0);

	/* Clobber the message, then ask again. */
	assert_int_equal(stw_execute(e, "Nowhere", "Ship", NULL, NULL, NULL, NULL), STW_ENOTFOUND);
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-r", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-1");
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 0);
	int outcome = 0;
	char err[512];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-r", &outcome, err, sizeof(err)),
			 STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	assert_string_equal(err, "out of stock for o-1");

	s.reject = 0;
	s.stale_emit = 1;
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-c", NULL, NULL), STW_ECONFLICT);
	char first[1024];
	snprintf(first, sizeof(first), "%s", stw_errmsg(e));
	assert_non_null(strstr(first, "shipment-o-1"));
	assert_int_equal(s.calls, 2);
	s.stale_emit = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", data, "cmd-c", NULL, NULL), STW_ECONFLICT);
	assert_string_equal(stw_errmsg(e), first);
	assert_int_equal(s.calls, 2);
	assert_int_equal(fx_head(e, "Shop"), 0);
	json_decref(data);
}

/* A transient failure in stw_execute is returned and not recorded: a retry runs the handler. */
static void test_execute_transient_not_recorded(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1, .transient = 1 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-t", NULL, NULL), STW_ESTORE);
	assert_int_equal(s.calls, 1);
	assert_int_equal(fx_head(e, "Shop"), 0);
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-t", &outcome, err, sizeof(err)),
			 STW_ENOTFOUND);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-t", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(fx_head(e, "Shop"), 1);
}

/* stw_execute refuses an unknown context (STW_ENOTFOUND) and malformed input (STW_EINVAL). */
static void test_execute_bad_input(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { 0 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	char id[STW_MAX_ID];

	assert_int_equal(stw_execute(e, "Billing", "Ship", NULL, NULL, NULL, id), STW_ENOTFOUND);
	assert_non_null(strstr(stw_errmsg(e), "Billing"));
	json_t *arr = json_array();
	assert_int_equal(stw_execute(e, "Shop", "Ship", arr, NULL, NULL, NULL), STW_EINVAL);
	json_decref(arr);
	json_t *str = json_string("x");
	assert_int_equal(stw_execute(e, "Shop", "Ship", str, NULL, NULL, NULL), STW_EINVAL);
	json_decref(str);
	assert_int_equal(stw_execute(e, "Sh op", "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, NULL, "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", NULL, NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "a\nb", NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "", NULL, NULL), STW_EINVAL);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, NULL, "c\x01", NULL), STW_EINVAL);
	assert_int_equal(stw_execute(NULL, "Shop", "Ship", NULL, NULL, NULL, NULL), STW_EINVAL);
	assert_int_equal(s.calls, 0);
}

/*
 * stw_execute, stw_run_once and stw_append called from inside a handler fail
 * with STW_ESTATE (the inner command is not run), and the engine accepts
 * calls again once the handler has returned.
 */
static void test_execute_reentry_refused(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .reenter = 1, .emit = 1 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "outer", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.rc_execute, STW_ESTATE);
	assert_int_equal(s.rc_run_once, STW_ESTATE);
	assert_int_equal(s.rc_append, STW_ESTATE);
	int outcome = 0;
	char err[64];
	assert_int_equal(
	    STW__S(e->store, dedup_get, "Shop", "inner-cmd", &outcome, err, sizeof(err)),
	    STW_ENOTFOUND);
	assert_int_equal(fx_head(e, "Shop"), 1);

	s.reenter = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "after", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	int did = -1;
	assert_int_equal(stw_run_once(e, &did), STW_OK);
	struct stw_event ev = { .type = "Outer", .stream = "outer" };
	assert_int_equal(stw_append(e, "Shop", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
}

/* One service per context; a service needs a valid context name and a handler. */
static void test_register_service_rules(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { 0 };
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_OK);
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, &s), STW_EEXIST);
	assert_int_equal(stw_register_service(e, "Sh op", fx_shop_handler, &s), STW_EINVAL);
	assert_int_equal(stw_register_service(e, "Other", NULL, &s), STW_EINVAL);
	assert_int_equal(stw_register_service(NULL, "Other", fx_shop_handler, &s), STW_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Group commit (stw_begin)                                                 */

/* Events of `context` as a separate connection sees them: only what is committed. */
static int64_t committed_events(const char *db, const char *context)
{
	struct stw_engine *o = NULL;
	struct stw_options ro = { .read_only = 1 };
	assert_int_equal(stw_open(db, &ro, &o), STW_OK);
	int64_t head = -1; /* positions are gap-free: the head counts the events */
	assert_stw_ok(o, stw_head(o, context, &head));
	stw_close(o);
	return head;
}

/* Registers the scripted Shop service and counts what the engine reports into *seen. */
static void shop_watched(struct stw_engine *e, struct fx_shop *s, struct fx_seen *seen)
{
	e->observer = fx_count_activity;
	e->observer_ud = seen;
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, s), STW_OK);
}

/*
 * Between stw_begin and stw_commit, each stw_execute answers its own outcome
 * at once (a refusal undoes only itself) but nothing is committed, and the
 * observer hears nothing; stw_commit makes all of it durable and reports it.
 */
static void test_group_commit(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	struct fx_seen seen = { 0 };
	shop_watched(e, &s, &seen);
	json_t *a = json_pack("{s:s}", "order", "o-a");
	json_t *b = json_pack("{s:s}", "order", "o-b");
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", a, "cmd-a", NULL, NULL), STW_OK);
	s.reject = 1;
	assert_int_equal(stw_execute(e, "Shop", "Ship", b, "cmd-b", NULL, NULL), STW_EREJECTED);
	assert_string_equal(stw_errmsg(e), "out of stock for o-b");
	s.reject = 0;
	assert_int_equal(stw_execute(e, "Shop", "Ship", b, "cmd-c", NULL, NULL), STW_OK);
	/* The same id again inside the group: the recorded outcome, no second run. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", a, "cmd-a", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 3);
	assert_int_equal(fx_head(e, "Shop"), 2); /* this connection sees its own writes */
	assert_int_equal(committed_events(f->db, "Shop"), 0);
	assert_int_equal(seen.total, 0);
	assert_int_equal(stw_commit(e), STW_OK);
	assert_int_equal(committed_events(f->db, "Shop"), 2);
	assert_int_equal(seen.n[STW_ACTIVITY_COMMAND], 3);
	int outcome = 0;
	char err[64];
	assert_int_equal(STW__S(e->store, dedup_get, "Shop", "cmd-b", &outcome, err, sizeof(err)),
			 STW_OK);
	assert_int_equal(outcome, STW_EREJECTED);
	json_decref(a);
	json_decref(b);
}

/*
 * The events a service emits join the stream cache with the data it gave
 * (not parsed from the text written): a read through the cache hands the
 * same events as a read from the store by an engine without the cache.
 */
static void test_emitted_events_cached_as_stored(void **state)
{
	struct fx_world *f = *state;
	struct fx_shop s = { .emit = 2 };
	assert_int_equal(stw_register_service(f->e, "Shop", fx_shop_handler, &s), STW_OK);
	json_t *a = json_pack("{s:s}", "order", "o-a");
	assert_int_equal(stw_execute(f->e, "Shop", "Ship", a, "cmd-a", NULL, NULL), STW_OK);
	assert_int_equal(stw_execute(f->e, "Shop", "Ship", a, "cmd-b", NULL, NULL), STW_OK);
	json_decref(a);
	struct fx_recs cached = { 0 }, fresh = { 0 };
	int64_t v = 0;
	assert_int_equal(stw_read_stream(f->e, "Shop", "shipment-o-a", fx_record_cb, &cached, &v),
			 STW_OK);
	assert_int_equal(v, 4);
	struct stw_options o = { .stream_cache_kb = -1 };
	struct stw_engine *other = NULL;
	assert_stw_ok(NULL, fx_open(f, NULL, &o, &other));
	assert_int_equal(stw_read_stream(other, "Shop", "shipment-o-a", fx_record_cb, &fresh, &v),
			 STW_OK);
	assert_int_equal(fresh.n, 4);
	assert_memory_equal(&cached, &fresh, sizeof(cached));
	stw_close(other);
}

/* stw_rollback (and stw_close with a group open) undoes every call of the group. */
static void test_group_rollback(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	struct fx_seen seen = { 0 };
	shop_watched(e, &s, &seen);
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(stw_rollback(e), STW_OK);
	assert_int_equal(fx_head(e, "Shop"), 0);
	assert_int_equal(seen.total, 0);
	/* Not recorded either: the same id runs the handler again. */
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-1", NULL, NULL), STW_OK);
	assert_int_equal(s.calls, 2);
	assert_int_equal(seen.total, 1);

	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_execute(e, "Shop", "Ship", NULL, "cmd-2", NULL, NULL), STW_OK);
	assert_stw_ok(NULL, fx_reopen(f, NULL));
	assert_int_equal(fx_head(f->e, "Shop"), 1);
}

/* What cannot run inside a group, and the calls that need one. */
static void test_group_misuse(void **state)
{
	struct fx_world *f = *state;
	struct stw_engine *e = f->e;
	struct fx_shop s = { .emit = 1 };
	fx_shop_wire(e, &fx_ship_policy, &s);
	int did = -1;
	assert_int_equal(stw_commit(e), STW_ESTATE);
	assert_int_equal(stw_rollback(e), STW_ESTATE);
	assert_int_equal(stw_begin(e), STW_OK);
	assert_int_equal(stw_begin(e), STW_ESTATE);
	fx_order(e, "evt-1", "corr-1", "o-1");
	assert_int_equal(stw_run_once(e, &did), STW_ESTATE);
	assert_non_null(strstr(stw_errmsg(e), "stw_begin"));
	assert_int_equal(stw_run_until_idle(e), STW_ESTATE);
	assert_int_equal(stw_deliver_remote(e, &did), STW_ESTATE);
	assert_int_equal(stw_commit(e), STW_OK);
	assert_int_equal(committed_events(f->db, "Sales"), 1);
	assert_int_equal(stw_run_until_idle(e), STW_OK);
	assert_int_equal(s.calls, 1);
	assert_int_equal(stw_begin(NULL), STW_EINVAL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_execute_outcome_and_dedup),
		T(test_execute_rejection_recorded),
		T(test_execute_transient_not_recorded),
		T(test_execute_bad_input),
		T(test_execute_reentry_refused),
		T(test_register_service_rules),
		T(test_group_commit),
		T(test_emitted_events_cached_as_stored),
		T(test_group_rollback),
		T(test_group_misuse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
