/*
 * testkit.c - libsteward_test (include/steward_test.h): scenarios of process
 * definitions on an engine of their own, with a virtual clock, stubbed
 * services, failures that print the instance's history, and faults (events
 * handled twice, sources interleaved, the engine reopened) placed by a seed.
 * The expectations are in expect.c. Public API of libsteward only.
 */
#include "testkit_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_START_MS 1767225600000LL /* 2026-01-01T00:00:00Z */

/* ------------------------------------------------------------------------ */
/* Failures                                                                 */

/* Appends the history of instance id of definition to buf, one row a line. */
static void history_text(struct stw_test *t, const char *definition, const char *id, char *buf,
			 size_t cap)
{
	json_t *inst = NULL;
	size_t len = strlen(buf);
	if (definition == NULL || id == NULL ||
	    stw_get_instance(t->e, definition, id, &inst) != STW_OK) {
		snprintf(buf + len, cap - len, "\n  (no instance %s of %s)", id ? id : "",
			 definition ? definition : "");
		return;
	}
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(inst, "history"), i, row)
	{
		len = strlen(buf);
		const char *from = json_string_value(json_object_get(row, "from"));
		const char *to = json_string_value(json_object_get(row, "to"));
		const char *reason = json_string_value(json_object_get(row, "reason"));
		snprintf(buf + len, cap - len, "\n  %zu. %s: %s -> %s (%s)%s%s", i + 1,
			 json_string_value(json_object_get(row, "message_type")),
			 from ? from : "(start)", to ? to : (from ? from : "-"),
			 json_string_value(json_object_get(row, "outcome")), reason ? ": " : "",
			 reason ? reason : "");
	}
	json_decref(inst);
}

/* Records a failure (why, and the instance's history when id is not NULL); returns -1. */
int stw__test_fail(struct stw_test *t, const char *definition, const char *id, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t->why, sizeof(t->why), fmt, ap);
	va_end(ap);
	if (id != NULL) {
		size_t len = strlen(t->why);
		snprintf(t->why + len, sizeof(t->why) - len, "\nhistory of %s %s:", definition, id);
		history_text(t, definition, id, t->why, sizeof(t->why));
	}
	t->failures++;
	if (!t->o.quiet)
		fprintf(stderr, "steward_test: %s\n", t->why);
	return -1;
}

int stw__test_fail_engine(struct stw_test *t, const char *what, int rc)
{
	return stw__test_fail(t, NULL, NULL, "%s: %s: %s", what, stw_strerror(rc),
			      stw_errmsg(t->e));
}

/* ------------------------------------------------------------------------ */
/* The engine                                                               */

static uint64_t next_random(struct stw_test *t)
{
	uint64_t z = (t->rng += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t clock_now(void *ud)
{
	return ((struct stw_test *)ud)->now;
}

static int stub_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct stw_test *t = ud;
	for (int i = 0; i < t->nstubs; i++) {
		struct stub *s = &t->stubs[i];
		if (strcmp(s->context, cmd->context) != 0 || strcmp(s->type, cmd->type) != 0)
			continue;
		if (s->answer[0] == '\0')
			return stw_reject(sc, "%s", s->refusal);
		const char *stream = cmd->correlation_id ? cmd->correlation_id : cmd->id;
		return stw_svc_emit(sc, stream, STW_ANY_VERSION, s->answer,
				    json_deep_copy(cmd->data));
	}
	return stw_reject(sc, "no stub for %s.%s", cmd->context, cmd->type);
}

/* Registers the stub service of every stubbed context (once each). */
static int register_stubs(struct stw_test *t)
{
	for (int i = 0; i < t->nstubs; i++) {
		int first = 1;
		for (int j = 0; j < i; j++)
			first &= strcmp(t->stubs[j].context, t->stubs[i].context) != 0;
		int rc = first ? stw_register_service(t->e, t->stubs[i].context, stub_handle, t)
			       : STW_OK;
		if (rc != STW_OK)
			return stw__test_fail_engine(t, "registering a stub", rc);
	}
	return 0;
}

static int engine_open(struct stw_test *t)
{
	struct stw_options o = { .clock = &t->clock,
				 .synchronous = 0,
				 .observer = t->o.observer,
				 .observer_ud = t->o.observer_ud };
	int rc = stw_open(t->db, &o, &t->e);
	if (rc != STW_OK)
		return stw__test_fail(t, NULL, NULL, "opening %s: %s", t->db, stw_strerror(rc));
	rc = t->setup != NULL ? t->setup(t->e, t->ud) : STW_OK;
	if (rc != STW_OK)
		return stw__test_fail_engine(t, "the setup", rc);
	return register_stubs(t);
}

/* The cursors of every source of every definition. Returns their number, or -1. */
static int cursors(struct stw_test *t, struct cursor *out, int cap)
{
	json_t *defs = NULL;
	int rc = stw_list_definitions(t->e, &defs), n = 0;
	size_t i, j;
	json_t *d, *src;
	json_array_foreach(defs, i, d)
	{
		json_array_foreach(json_object_get(d, "sources"), j, src)
		{
			if (rc != STW_OK || n == cap)
				break;
			struct cursor *c = &out[n++];
			snprintf(c->definition, sizeof(c->definition), "%s",
				 json_string_value(json_object_get(d, "name")));
			snprintf(c->context, sizeof(c->context), "%s", json_string_value(src));
			rc = stw_get_cursor(t->e, c->definition, c->context, &c->position);
		}
	}
	json_decref(defs);
	return rc == STW_OK ? n : stw__test_fail_engine(t, "reading the cursors", rc);
}

/*
 * Runs the engine until it is idle, with the faults: the events handled
 * since `before` (the cursors then) are handled again, and the engine is
 * reopened one time in three. Held (stw_test_hold): nothing runs.
 */
static int settle(struct stw_test *t, const struct cursor *before, int nbefore)
{
	if (t->held)
		return 0;
	int rc = stw_run_until_idle(t->e);
	if (rc != STW_OK)
		return stw__test_fail_engine(t, "running", rc);
	if ((t->o.faults & STW_TEST_DUPLICATES) && nbefore > 0) {
		for (int i = 0; i < nbefore; i++)
			if ((rc = stw_set_cursor(t->e, before[i].definition, before[i].context,
						 before[i].position)) != STW_OK)
				return stw__test_fail_engine(t, "moving a cursor back", rc);
		if ((rc = stw_run_until_idle(t->e)) != STW_OK)
			return stw__test_fail_engine(t, "running again", rc);
	}
	if ((t->o.faults & STW_TEST_REOPEN) && next_random(t) % 3 == 0) {
		stw_close(t->e);
		t->e = NULL;
		t->reopens++;
		return engine_open(t);
	}
	return 0;
}

/* Appends one event and runs (with the faults). */
static int append_one(struct stw_test *t, const char *context, const char *stream, const char *type,
		      const char *id, const char *correlation, json_t *data)
{
	struct cursor before[MAX_CURSORS];
	int n =
	    (t->o.faults & STW_TEST_DUPLICATES) && !t->held ? cursors(t, before, MAX_CURSORS) : 0;
	if (n < 0)
		return -1;
	struct stw_event ev = { .id = id,
				.type = type,
				.stream = stream,
				.correlation_id = correlation,
				.data = data };
	int rc = stw_append(t->e, context, STW_ANY_VERSION, &ev, 1, NULL);
	if (rc != STW_OK)
		return stw__test_fail_engine(t, "appending", rc);
	return settle(t, before, n);
}

/* Appends the events STW_TEST_SHUFFLE held back, in a random order that keeps each stream's. */
int stw__test_flush(struct stw_test *t)
{
	int status = 0;
	while (t->nqueued > 0) {
		int pick = (int)(next_random(t) % (uint64_t)t->nqueued);
		/* The first queued event of the picked one's stream goes first. */
		for (int i = 0; i < pick; i++)
			if (strcmp(t->queue[i].context, t->queue[pick].context) == 0 &&
			    strcmp(t->queue[i].stream, t->queue[pick].stream) == 0) {
				pick = i;
				break;
			}
		struct queued q = t->queue[pick];
		memmove(&t->queue[pick], &t->queue[pick + 1],
			(size_t)(t->nqueued - pick - 1) * sizeof(t->queue[0]));
		t->nqueued--;
		if (status == 0)
			status =
			    append_one(t, q.context, q.stream, q.type, q.id, q.correlation, q.data);
		json_decref(q.data);
	}
	return status;
}

/* ------------------------------------------------------------------------ */
/* The calls                                                                */

int stw_test_open(const struct stw_test_options *o, stw_test_setup_fn setup, void *ud,
		  struct stw_test **out)
{
	*out = NULL;
	struct stw_test *t = calloc(1, sizeof(*t));
	if (t == NULL) {
		fprintf(stderr, "steward_test: out of memory\n");
		return -1;
	}
	if (o != NULL)
		t->o = *o;
	t->setup = setup;
	t->ud = ud;
	t->now = t->o.start_ms > 0 ? t->o.start_ms : DEFAULT_START_MS;
	t->clock = (struct stw_clock){ .now_ms = clock_now, .ud = t };
	t->rng = t->o.seed;
	if (t->o.store != NULL) {
		if (strlen(t->o.store) >= sizeof(t->db)) {
			fprintf(stderr, "steward_test: a store of more than %d bytes\n",
				STORE_CAP - 1);
			free(t);
			return -1;
		}
		snprintf(t->db, sizeof(t->db), "%s", t->o.store);
		t->o.store = NULL; /* the caller's string need not outlive the call */
	} else {
		const char *tmp = getenv("TMPDIR");
		snprintf(t->dir, sizeof(t->dir), "%s/steward-test.XXXXXX",
			 tmp && *tmp ? tmp : "/tmp");
		if (mkdtemp(t->dir) == NULL) {
			fprintf(stderr, "steward_test: cannot make a directory under %s\n",
				tmp && *tmp ? tmp : "/tmp");
			free(t);
			return -1;
		}
		snprintf(t->db, sizeof(t->db), "%s/test.db", t->dir);
	}
	if (engine_open(t) != 0) {
		stw_test_close(t);
		return -1;
	}
	*out = t;
	return 0;
}

void stw_test_close(struct stw_test *t)
{
	if (t == NULL)
		return;
	for (int i = 0; i < t->nqueued; i++)
		json_decref(t->queue[i].data);
	stw_close(t->e);
	if (t->dir[0] == '\0') { /* a store of the caller's: kept */
		free(t);
		return;
	}
	static const char *const files[] = { "test.db", "test.db-wal", "test.db-shm" };
	char path[PATH_CAP + 32];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->dir, files[i]);
		unlink(path);
	}
	rmdir(t->dir);
	free(t);
}

struct stw_engine *stw_test_engine(struct stw_test *t)
{
	stw__test_flush(t);
	return t->e;
}

int64_t stw_test_now(const struct stw_test *t)
{
	return t->now;
}

const char *stw_test_why(const struct stw_test *t)
{
	return t->why;
}

int stw_test_reopens(const struct stw_test *t)
{
	return t->reopens;
}

int stw_test_failures(const struct stw_test *t)
{
	return t->failures;
}

/* Parses data_json (NULL: an empty object) into *out; -1 after recording why. */
int stw__test_parse(struct stw_test *t, const char *what, const char *data_json, json_t **out)
{
	json_error_t err;
	*out = data_json != NULL ? json_loads(data_json, 0, &err) : json_object();
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return stw__test_fail(t, NULL, NULL, "%s: the data is not a JSON object: %s", what,
				      data_json ? data_json : "");
	}
	return 0;
}

int stw_test_given(struct stw_test *t, const char *context, const char *stream, const char *type,
		   const char *correlation_id, const char *data_json)
{
	json_t *data = NULL;
	if (stw__test_parse(t, type, data_json, &data) != 0)
		return -1;
	char id[32];
	snprintf(id, sizeof(id), "given-%ld", ++t->next_id);
	const char *corr = correlation_id ? correlation_id : stream;
	if (!(t->o.faults & STW_TEST_SHUFFLE)) {
		int rc = append_one(t, context, stream, type, id, corr, data);
		json_decref(data);
		return rc;
	}
	if (t->nqueued == MAX_QUEUED && stw__test_flush(t) != 0) {
		json_decref(data);
		return -1;
	}
	struct queued *q = &t->queue[t->nqueued++];
	snprintf(q->context, sizeof(q->context), "%s", context);
	snprintf(q->stream, sizeof(q->stream), "%s", stream);
	snprintf(q->type, sizeof(q->type), "%s", type);
	snprintf(q->id, sizeof(q->id), "%s", id);
	snprintf(q->correlation, sizeof(q->correlation), "%s", corr);
	q->data = data;
	return 0;
}

/*
 * Executes a command (an id of the kit's) and, under STW_TEST_DUPLICATES,
 * again with the same id, which must have the same outcome. Returns 0 with
 * its code in *rc and the service's message in msg, or -1 after recording
 * why when the second outcome differs.
 */
static int execute(struct stw_test *t, const char *context, const char *type, json_t *data,
		   const char *correlation_id, int *rc, char *msg, size_t cap)
{
	char id[32];
	snprintf(id, sizeof(id), "when-%ld", ++t->next_id);
	*rc = stw_execute(t->e, context, type, data, id, correlation_id, NULL);
	snprintf(msg, cap, "%s", *rc == STW_OK ? "" : stw_errmsg(t->e));
	if (!(t->o.faults & STW_TEST_DUPLICATES))
		return 0;
	int again = stw_execute(t->e, context, type, data, id, correlation_id, NULL);
	const char *msg2 = again == STW_OK ? "" : stw_errmsg(t->e);
	if (again == *rc && strcmp(msg, msg2) == 0)
		return 0;
	return stw__test_fail(t, NULL, NULL,
			      "%s.%s executed again with its id: %s (%s), not %s (%s) as the first "
			      "time",
			      context, type, stw_strerror(again), msg2, stw_strerror(*rc), msg);
}

int stw_test_when(struct stw_test *t, const char *context, const char *type, const char *data_json,
		  const char *correlation_id)
{
	json_t *data = NULL;
	if (stw__test_flush(t) != 0 || stw__test_parse(t, type, data_json, &data) != 0)
		return -1;
	struct cursor before[MAX_CURSORS];
	int n =
	    (t->o.faults & STW_TEST_DUPLICATES) && !t->held ? cursors(t, before, MAX_CURSORS) : 0;
	char msg[512];
	int rc = STW_OK;
	int status =
	    n < 0 ? -1 : execute(t, context, type, data, correlation_id, &rc, msg, sizeof(msg));
	json_decref(data);
	if (status != 0)
		return -1;
	if (rc != STW_OK)
		return stw__test_fail(t, NULL, NULL, "%s.%s: %s: %s", context, type,
				      stw_strerror(rc), msg);
	return settle(t, before, n);
}

int stw_test_expect_refused(struct stw_test *t, const char *context, const char *type,
			    const char *data_json, const char *correlation_id, const char *reason)
{
	json_t *data = NULL;
	if (stw__test_flush(t) != 0 || stw__test_parse(t, type, data_json, &data) != 0)
		return -1;
	int64_t head = 0, after = 0;
	int rc = stw_head(t->e, context, &head);
	if (rc != STW_OK) {
		json_decref(data);
		return stw__test_fail_engine(t, "reading a head", rc);
	}
	char msg[512];
	int status = execute(t, context, type, data, correlation_id, &rc, msg, sizeof(msg));
	json_decref(data);
	if (status != 0)
		return -1;
	if (rc != STW_EREJECTED)
		return stw__test_fail(t, NULL, NULL, "%s.%s was %s, not refused%s%s", context, type,
				      rc == STW_OK ? "accepted" : stw_strerror(rc),
				      rc == STW_OK ? "" : ": ", msg);
	if (reason != NULL && strstr(msg, reason) == NULL)
		return stw__test_fail(t, NULL, NULL, "%s.%s was refused with \"%s\", not \"%s\"",
				      context, type, msg, reason);
	if ((rc = stw_head(t->e, context, &after)) != STW_OK)
		return stw__test_fail_engine(t, "reading a head", rc);
	if (after != head)
		return stw__test_fail(t, NULL, NULL,
				      "%s.%s was refused, yet %s's log moved from "
				      "%lld to %lld",
				      context, type, context, (long long)head, (long long)after);
	return 0;
}

int stw_test_hold(struct stw_test *t)
{
	if (stw__test_flush(t) != 0)
		return -1;
	if (t->held)
		return 0;
	int n = (t->o.faults & STW_TEST_DUPLICATES) ? cursors(t, t->held_at, MAX_CURSORS) : 0;
	if (n < 0)
		return -1;
	t->nheld_at = n;
	t->held = 1;
	return 0;
}

int stw_test_release(struct stw_test *t)
{
	if (stw__test_flush(t) != 0)
		return -1;
	if (!t->held)
		return 0;
	t->held = 0;
	return settle(t, t->held_at, t->nheld_at);
}

int stw_test_restart(struct stw_test *t, int64_t down_ms)
{
	if (stw__test_flush(t) != 0)
		return -1;
	stw_close(t->e);
	t->e = NULL;
	t->now += down_ms;
	if (engine_open(t) != 0)
		return -1;
	return settle(t, NULL, 0);
}

int stw_test_replay(struct stw_test *t)
{
	struct cursor all[MAX_CURSORS];
	int n = stw__test_flush(t) != 0 ? -1 : cursors(t, all, MAX_CURSORS);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		int rc = stw_set_cursor(t->e, all[i].definition, all[i].context, 0);
		if (rc != STW_OK)
			return stw__test_fail_engine(t, "moving a cursor to the start", rc);
	}
	return settle(t, NULL, 0);
}

int stw_test_advance(struct stw_test *t, int64_t ms)
{
	if (stw__test_flush(t) != 0)
		return -1;
	t->now += ms;
	return settle(t, NULL, 0);
}

int stw_test_stub(struct stw_test *t, const char *context, const char *command_type,
		  const char *answer_type, const char *refusal)
{
	int known = 0;
	for (int i = 0; i < t->nstubs; i++)
		known |= strcmp(t->stubs[i].context, context) == 0;
	if (t->nstubs == MAX_STUBS)
		return stw__test_fail(t, NULL, NULL, "more than %d stubs", MAX_STUBS);
	struct stub *s = &t->stubs[t->nstubs++];
	snprintf(s->context, sizeof(s->context), "%s", context);
	snprintf(s->type, sizeof(s->type), "%s", command_type);
	snprintf(s->answer, sizeof(s->answer), "%s", answer_type ? answer_type : "");
	snprintf(s->refusal, sizeof(s->refusal), "%s", refusal ? refusal : "refused");
	int rc = known ? STW_OK : stw_register_service(t->e, context, stub_handle, t);
	return rc == STW_OK ? 0 : stw__test_fail_engine(t, "registering a stub", rc);
}

int stw_test_run(const struct stw_test_options *o, int runs, stw_test_setup_fn setup,
		 void *setup_ud, int (*scenario)(struct stw_test *t, void *ud), void *ud)
{
	struct stw_test_options ro = o != NULL ? *o : (struct stw_test_options){ 0 };
	const char *env = getenv("STEWARD_TEST_SEED");
	if (env != NULL && *env != '\0') {
		ro.seed = strtoull(env, NULL, 10);
		runs = 1;
	}
	uint64_t first = ro.seed;
	for (int i = 0; i < runs; i++) {
		struct stw_test *t = NULL;
		ro.seed = first + (uint64_t)i;
		int failed = stw_test_open(&ro, setup, setup_ud, &t) != 0;
		if (!failed)
			failed = scenario(t, ud) != 0 || t->failures > 0;
		stw_test_close(t);
		if (failed) {
			fprintf(
			    stderr,
			    "steward_test: run %d of %d failed with seed %llu (faults:%s%s%s%s); "
			    "STEWARD_TEST_SEED=%llu runs it again\n",
			    i + 1, runs, (unsigned long long)ro.seed,
			    ro.faults & STW_TEST_DUPLICATES ? " duplicates" : "",
			    ro.faults & STW_TEST_SHUFFLE ? " shuffle" : "",
			    ro.faults & STW_TEST_REOPEN ? " reopen" : "",
			    ro.faults & STW_TEST_ALL_FAULTS ? "" : " none",
			    (unsigned long long)ro.seed);
			return -1;
		}
	}
	return 0;
}
