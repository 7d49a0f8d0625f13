/*
 * test_migrate.c - moving live instances from one version of a definition
 * to a later one (stw_migrate). A dry run reports and writes nothing; a
 * migration maps states, transforms data, keeps, voids and arms timers,
 * records a history row and changes the instance's version, after which it
 * steps with the new version; an instance that cannot move stays and is
 * listed; a second run finds nothing to do. Runs on both stores.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fixture.h"

#define HOUR 3600000

static const char *const sources[] = { "Sales", NULL };
static const struct stw_timer_def remind[] = {
	{ "Remind", HOUR, NULL },
	{ NULL, 0, NULL },
};
static const struct stw_timer_def expire[] = {
	{ "Expire", 2 * HOUR, NULL },
	{ NULL, 0, NULL },
};

/* Version 1: Open until shipped; a reminder makes it Reminded. */
static const struct stw_state_def v1_states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Reminded", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ "Lost", STW_STATE_FAILURE },
	{ NULL, 0 },
};
static const struct stw_transition_def v1_transitions[] = {
	{ NULL, "Started", "Open", NULL, NULL, remind },
	{ "Open", "Ship", "Shipped", NULL, NULL, NULL },
	{ "Open", "Remind", "Reminded", NULL, NULL, NULL },
	{ "Open", "Lose", "Lost", NULL, NULL, NULL },
	{ "Reminded", "Ship", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Version 2: Reminded is now Escalated, and Open is packed before it ships. */
static const struct stw_state_def v2_states[] = {
	{ "Open", STW_STATE_ACTIVE },      { "Packed", STW_STATE_ACTIVE },
	{ "Escalated", STW_STATE_ACTIVE }, { "Shipped", STW_STATE_TERMINAL },
	{ "Lost", STW_STATE_FAILURE },     { NULL, 0 },
};
static const struct stw_transition_def v2_transitions[] = {
	{ NULL, "Started", "Open", NULL, NULL, remind },
	{ "Open", "Ship", "Packed", NULL, NULL, NULL },
	{ "Packed", "Ship", "Shipped", NULL, NULL, NULL },
	{ "Open", "Remind", "Escalated", NULL, NULL, NULL },
	{ "Open", "Lose", "Lost", NULL, NULL, NULL },
	{ "Escalated", "Ship", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Adds the field v2 reads; refuses an instance whose data says so. */
static int to_v2(struct stw_migration_info *mi)
{
	if (json_is_true(json_object_get(mi->data, "refuse"))) {
		mi->reason = "asked to stay";
		return -1;
	}
	json_object_set_new(mi->data, "priority", json_string("normal"));
	return 0;
}

static const struct stw_state_map v1_to_v2[] = {
	{ "Reminded", "Escalated" },
	{ NULL, NULL },
};
static const struct stw_migration_def v2_migrations[] = {
	{ 1, v1_to_v2, to_v2 },
	{ 0, NULL, NULL },
};

/* Version 3: an order expires after two hours instead of being reminded. */
static const struct stw_state_def v3_states[] = {
	{ "Open", STW_STATE_ACTIVE },
	{ "Expired", STW_STATE_TERMINAL },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_transition_def v3_transitions[] = {
	{ NULL, "Started", "Open", NULL, NULL, expire },
	{ "Open", "Ship", "Shipped", NULL, NULL, NULL },
	{ "Open", "Expire", "Expired", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_state_map v1_to_v3[] = {
	{ "Reminded", NULL }, /* a reminded order stays on version 1 */
	{ NULL, NULL },
};
static const struct stw_migration_def v3_migrations[] = {
	{ 1, v1_to_v3, NULL },
	{ 0, NULL, NULL },
};

static const struct stw_definition v1 = {
	.name = "order",
	.version = 1,
	.sources = sources,
	.states = v1_states,
	.transitions = v1_transitions,
};
static const struct stw_definition v2 = {
	.name = "order",
	.version = 2,
	.sources = sources,
	.states = v2_states,
	.transitions = v2_transitions,
	.migrations = v2_migrations,
};
static const struct stw_definition v3 = {
	.name = "order",
	.version = 3,
	.sources = sources,
	.states = v3_states,
	.transitions = v3_transitions,
	.migrations = v3_migrations,
};

static int setup(void **state)
{
	if (fx_setup(state, "migrate", 1000000, NULL) != 0)
		return -1;
	struct fx_world *f = *state;
	assert_stw_ok(f->e, stw_define(f->e, &v1));
	return 0;
}

/* Appends one event of order `corr` with data (stolen; NULL: {}). */
static void emit(struct fx_world *f, const char *type, const char *corr, json_t *data)
{
	struct stw_event ev = {
		.type = type, .stream = corr, .correlation_id = corr, .data = data
	};
	assert_stw_ok(f->e, stw_append(f->e, "Sales", STW_ANY_VERSION, &ev, 1, NULL));
	json_decref(data);
}

/* The instance's JSON (new). */
static json_t *instance(struct fx_world *f, const char *id)
{
	json_t *o = NULL;
	assert_stw_ok(f->e, stw_get_instance(f->e, "order", id, &o));
	return o;
}

/* Checks an instance's state, status and definition version. */
static void expect(struct fx_world *f, const char *id, const char *state, const char *status,
		   int version)
{
	fx_expect_instance(f->e, "order", id, state, status, version);
}

/* The number of history rows of instance id with outcome "migrated". */
static int migrated_rows(struct fx_world *f, const char *id)
{
	json_t *o = instance(f, id);
	size_t i;
	json_t *h;
	int n = 0;
	json_array_foreach(json_object_get(o, "history"), i, h)
	{
		if (strcmp(json_string_value(json_object_get(h, "outcome")), "migrated") == 0) {
			assert_string_equal(json_string_value(json_object_get(h, "message_type")),
					    "Migrate");
			n++;
		}
	}
	json_decref(o);
	return n;
}

/* The pending timers of instance id, as "Type,Type" in due order. */
static void timers_of(struct fx_world *f, const char *id, char *out, size_t cap)
{
	json_t *o = instance(f, id);
	size_t i;
	json_t *t;
	out[0] = '\0';
	json_array_foreach(json_object_get(o, "timers"), i, t)
	{
		if (out[0] != '\0')
			strncat(out, ",", cap - strlen(out) - 1);
		strncat(out, json_string_value(json_object_get(t, "message_type")),
			cap - strlen(out) - 1);
	}
	json_decref(o);
}

/* The report's entry of instance id (borrowed), or NULL. */
static json_t *item(json_t *report, const char *id)
{
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(report, "instances"), i, it)
	{
		if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
			return it;
	}
	return NULL;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* A restart with these versions registered. */
static void deploy(struct fx_world *f, const struct stw_definition *a,
		   const struct stw_definition *b)
{
	fx_redeploy(f, (const struct stw_definition *const[]){ a, b, NULL });
}

/* Orders of version 1: A and S shipped, B Reminded, A2 and R (whose data refuses) Open. */
static void four_orders(struct fx_world *f)
{
	emit(f, "Started", "A", NULL);
	emit(f, "Started", "B", NULL);
	emit(f, "Started", "S", NULL);
	emit(f, "Ship", "S", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	fx_clock_advance(&f->clock, HOUR + 1); /* B and A are reminded */
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	emit(f, "Started", "R", json_pack("{s:b}", "refuse", 1));
	emit(f, "Started", "A2", NULL);
	emit(f, "Ship", "A", NULL); /* A is shipped from Reminded, A2 stays Open */
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
}

/*
 * migrate-3.1: a dry run reports per instance what would change (state,
 * data before and after, timers) and writes nothing; the migration then
 * moves each live instance of version 1 in a step of its own: Open stays
 * Open (same name), Reminded becomes Escalated (the map), the data gains
 * the field, the reminder timer is kept where Open still takes it, and a
 * history row says "Migrated 1 -> 2". An ended instance is not touched, the
 * one whose transform refuses is left and listed, and the moved ones then
 * step with version 2. A second run finds nothing more to move.
 */
static void test_dry_run_then_migrate(void **state)
{
	struct fx_world *f = *state;
	four_orders(f);
	expect(f, "B", "Reminded", "active", 1);
	deploy(f, &v1, &v2);
	json_t *doc = NULL;
	assert_stw_ok(f->e, stw_get_definition(f->e, "order", &doc));
	json_t *m = json_array_get(
	    json_object_get(json_array_get(json_object_get(doc, "versions"), 1), "migrations"), 0);
	assert_int_equal(json_integer_value(json_object_get(m, "from")), 1);
	assert_string_equal(str(json_object_get(m, "states"), "Reminded"), "Escalated");
	assert_true(json_is_true(json_object_get(m, "transform")));
	json_decref(doc);

	struct stw_migrate_opts o = { .from = 1, .to = 2, .dry_run = 1 };
	json_t *rep = NULL;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	assert_int_equal(json_integer_value(json_object_get(rep, "migrated")), 2); /* A2, B */
	assert_int_equal(json_integer_value(json_object_get(rep, "left")), 1);     /* R */
	assert_true(json_is_true(json_object_get(rep, "dry_run")));
	json_t *b = item(rep, "B");
	assert_string_equal(str(b, "outcome"), "would migrate");
	assert_string_equal(str(b, "from_state"), "Reminded");
	assert_string_equal(str(b, "to_state"), "Escalated");
	json_t *after = json_object_get(json_object_get(b, "data"), "after");
	assert_string_equal(str(after, "priority"), "normal");
	json_t *a2 = item(rep, "A2");
	assert_string_equal(str(a2, "to_state"), "Open");
	json_t *kept = json_object_get(json_object_get(a2, "timers"), "kept");
	assert_int_equal(json_array_size(kept), 1);
	assert_string_equal(json_string_value(json_array_get(kept, 0)), "Remind");
	json_t *r = item(rep, "R");
	assert_string_equal(str(r, "outcome"), "left");
	assert_non_null(strstr(str(r, "reason"), "asked to stay"));
	assert_null(item(rep, "A")); /* shipped: not live */
	assert_null(item(rep, "S"));
	json_decref(rep);
	expect(f, "B", "Reminded", "active", 1); /* nothing written */
	assert_int_equal(migrated_rows(f, "B"), 0);

	o.dry_run = 0;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	assert_int_equal(json_integer_value(json_object_get(rep, "migrated")), 2);
	assert_string_equal(str(item(rep, "B"), "outcome"), "migrated");
	json_decref(rep);
	expect(f, "B", "Escalated", "active", 2);
	expect(f, "A2", "Open", "active", 2);
	expect(f, "R", "Open", "active", 1);
	expect(f, "A", "Shipped", "completed", 1);
	assert_int_equal(migrated_rows(f, "B"), 1);
	json_t *inst = instance(f, "B");
	assert_string_equal(str(json_object_get(inst, "data"), "priority"), "normal");
	json_t *last = json_array_get(json_object_get(inst, "history"),
				      json_array_size(json_object_get(inst, "history")) - 1);
	assert_string_equal(str(last, "reason"), "Migrated 1 -> 2");
	assert_string_equal(str(last, "from"), "Reminded");
	assert_string_equal(str(last, "to"), "Escalated");
	json_decref(inst);
	char timers[128];
	timers_of(f, "A2", timers, sizeof(timers));
	assert_string_equal(timers, "Remind");

	/* Version 2 now steps A2 (a Ship packs it); R, left, ships on version 1. */
	emit(f, "Ship", "A2", NULL);
	emit(f, "Ship", "R", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A2", "Packed", "active", 2);
	expect(f, "R", "Shipped", "completed", 1);

	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	assert_int_equal(json_integer_value(json_object_get(rep, "migrated")), 0);
	assert_int_equal(json_array_size(json_object_get(rep, "instances")), 0);
	json_decref(rep);
	assert_int_equal(migrated_rows(f, "B"), 1);
}

/*
 * migrate-3.2: the timers follow the new version. Version 3 no longer
 * reminds but expires an order after two hours: migrating an Open order
 * voids its pending reminder (Open no longer takes it) and arms the expiry
 * from the migration; the reminder's time passes without effect, the
 * expiry then ends it. A Reminded order has no place in version 3 (the map
 * leaves it) and stays on version 1, listed with the reason.
 */
static void test_timers_voided_and_armed(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "B", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	fx_clock_advance(&f->clock, HOUR + 1);
	assert_stw_ok(f->e, stw_run_until_idle(f->e)); /* B is reminded */
	emit(f, "Started", "A", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	deploy(f, &v1, &v3);

	struct stw_migrate_opts o = { .from = 1, .to = 3 };
	json_t *rep = NULL;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	json_t *a = item(rep, "A");
	json_t *t = json_object_get(a, "timers");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "voided"), 0)),
			    "Remind");
	assert_string_equal(json_string_value(json_array_get(json_object_get(t, "armed"), 0)),
			    "Expire");
	json_t *b = item(rep, "B");
	assert_string_equal(str(b, "outcome"), "left");
	assert_non_null(strstr(str(b, "reason"), "leaves instances in Reminded"));
	json_decref(rep);
	char timers[128];
	timers_of(f, "A", timers, sizeof(timers));
	assert_string_equal(timers, "Expire");

	fx_clock_advance(&f->clock, HOUR + 1); /* the reminder's time: void */
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Open", "active", 3);
	fx_clock_advance(&f->clock, HOUR);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Expired", "completed", 3);
	expect(f, "B", "Reminded", "active", 1);
}

/*
 * migrate-3.3: one instance (--instance) moves alone; a failed instance
 * moves with its status and reason; and instances of a version no longer
 * registered, failed alone when a message reached them, are rescued by a
 * migration to one that is, then retried by a person on the new version.
 */
static void test_one_instance_and_the_unregistered(void **state)
{
	struct fx_world *f = *state;
	emit(f, "Started", "A", NULL);
	emit(f, "Started", "C", NULL);
	emit(f, "Started", "L", NULL);
	emit(f, "Lose", "L", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "L", "Lost", "failed", 1);
	deploy(f, &v2, NULL); /* version 1 is gone */
	emit(f, "Ship", "A", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	expect(f, "A", "Open", "failed", 1); /* failed alone: its version is not here */

	struct stw_migrate_opts o = { .from = 1, .to = 2, .instance = "C" };
	json_t *rep = NULL;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	assert_int_equal(json_array_size(json_object_get(rep, "instances")), 1);
	json_decref(rep);
	expect(f, "C", "Open", "active", 2);
	expect(f, "L", "Lost", "failed", 1);

	o.instance = NULL;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &o, &rep));
	assert_int_equal(json_integer_value(json_object_get(rep, "migrated")), 2); /* A, L */
	json_decref(rep);
	expect(f, "L", "Lost", "failed", 2);
	expect(f, "A", "Open", "failed", 2);
	assert_stw_ok(f->e, stw_retry(f->e, "order", "A", "Packed", "after the migration"));
	expect(f, "A", "Packed", "active", 2);

	o.instance = "C"; /* of version 2 now */
	assert_int_equal(stw_migrate(f->e, "order", &o, &rep), STW_ENOTFOUND);
	assert_null(rep);
}

/* At the failpoint before the first instance's write, another engine migrates that instance. */
struct race {
	struct stw_engine *other;
	int fired;
	int rc;
	json_t *report;
};

static void migrate_meanwhile(const char *name, void *ud)
{
	struct race *r = ud;
	if (strcmp(name, "migrate:before-commit") != 0 || r->fired++)
		return;
	struct stw_migrate_opts o = { .from = 1, .to = 2, .instance = "A" };
	r->rc = stw_migrate(r->other, "order", &o, &r->report);
}

/*
 * migrate-3.4: two migrations of one instance at once. Engine 1 reads
 * instance A; before it writes, engine 2 migrates A and commits. Engine 1's
 * version-checked write then fails, it reads A again, finds it of version 2
 * and reports it "changed": A is migrated once, with one history row.
 * PostgreSQL only: on SQLite a migration holds the write lock from its
 * first read, so the other engine cannot come in between.
 */
static void test_two_migrations_at_once(void **state)
{
	struct fx_world *f = *state;
	if (!fx_on_pg())
		skip(); /* PostgreSQL's */
	emit(f, "Started", "A", NULL);
	assert_stw_ok(f->e, stw_run_until_idle(f->e));
	struct race race = { 0 };
	struct stw_options o = { .failpoint = migrate_meanwhile, .failpoint_ud = &race };
	stw_close(f->e);
	f->e = NULL;
	assert_int_equal(fx_world_open(f, &o), STW_OK);
	assert_stw_ok(f->e, stw_define(f->e, &v1));
	assert_stw_ok(f->e, stw_define(f->e, &v2));
	assert_int_equal(fx_open(f, NULL, NULL, &race.other), STW_OK);
	assert_stw_ok(race.other, stw_define(race.other, &v1));
	assert_stw_ok(race.other, stw_define(race.other, &v2));

	struct stw_migrate_opts mo = { .from = 1, .to = 2 };
	json_t *rep = NULL;
	assert_stw_ok(f->e, stw_migrate(f->e, "order", &mo, &rep));
	assert_int_equal(race.fired, 1); /* its second read finds A moved: nothing to write */
	assert_stw_ok(race.other, race.rc);
	assert_int_equal(json_integer_value(json_object_get(race.report, "migrated")), 1);
	assert_int_equal(json_integer_value(json_object_get(rep, "migrated")), 0);
	assert_int_equal(json_integer_value(json_object_get(rep, "changed")), 1);
	assert_string_equal(str(item(rep, "A"), "outcome"), "changed");
	json_decref(rep);
	json_decref(race.report);
	stw_close(race.other);
	expect(f, "A", "Open", "active", 2);
	assert_int_equal(migrated_rows(f, "A"), 1);
}

static const struct stw_state_map bad_target[] = {
	{ "Reminded", "Nowhere" },
	{ NULL, NULL },
};
static const struct stw_state_map twice[] = {
	{ "Reminded", "Open" },
	{ "Reminded", "Escalated" },
	{ NULL, NULL },
};

/*
 * migrate-3.5: what registration and stw_migrate refuse: a migration from a
 * version that is not earlier, two from one version, a map to a state the
 * version does not have or of one state twice; versions in the wrong
 * order, a version not registered, one that declares no migration from the
 * version asked, an invalid instance id.
 */
static void test_refusals(void **state)
{
	struct fx_world *f = *state;
	struct stw_definition d = v2;
	struct stw_migration_def m[3] = { { 2, NULL, NULL }, { 0, NULL, NULL }, { 0, NULL, NULL } };
	d.migrations = m;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "not an earlier version"));
	m[0] = (struct stw_migration_def){ 1, NULL, NULL };
	m[1] = (struct stw_migration_def){ 1, NULL, NULL };
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "two migrations from version 1"));
	m[1] = (struct stw_migration_def){ 0, NULL, NULL };
	m[0].states = bad_target;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "Nowhere, which is not a state of version 2"));
	m[0].states = twice;
	assert_int_equal(stw_define(f->e, &d), STW_EINVAL);
	assert_non_null(strstr(stw_errmsg(f->e), "maps Reminded twice"));

	json_t *rep = NULL;
	struct stw_migrate_opts o = { .from = 2, .to = 1 };
	assert_int_equal(stw_migrate(f->e, "order", &o, &rep), STW_EINVAL);
	o = (struct stw_migrate_opts){ .from = 1, .to = 2 };
	assert_int_equal(stw_migrate(f->e, "order", &o, &rep), STW_ENOTFOUND);
	assert_non_null(strstr(stw_errmsg(f->e), "version 2 of order is not registered"));
	assert_stw_ok(f->e, stw_define(f->e, &v2));
	assert_int_equal(stw_migrate(f->e, "nothing", &o, &rep), STW_ENOTFOUND);
	o.instance = "bad\x01id";
	assert_int_equal(stw_migrate(f->e, "order", &o, &rep), STW_EINVAL);
	deploy(f, &v1, &v3);
	o = (struct stw_migrate_opts){ .from = 2, .to = 3 };
	assert_int_equal(stw_migrate(f->e, "order", &o, &rep), STW_ENOTFOUND);
	assert_non_null(strstr(stw_errmsg(f->e), "declares no migration from version 2"));
	assert_null(rep);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dry_run_then_migrate),
		T(test_timers_voided_and_armed),
		T(test_one_instance_and_the_unregistered),
		T(test_two_migrations_at_once),
		T(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
