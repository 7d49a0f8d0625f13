/*
 * expect.c - the expectations of libsteward_test (include/steward_test.h):
 * what a user would see of an instance (its state, the commands it sent
 * and their delivery, its timers, its history, its fields), of the
 * instances of a definition, of the outbox and of the logs. Each one that
 * does not hold records why, with the instance's history.
 */
#include "testkit_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The instance as a new JSON object, or NULL after recording why. */
static json_t *instance(struct stw_test *t, const char *definition, const char *id)
{
	json_t *inst = NULL;
	if (stw__test_flush(t) != 0)
		return NULL;
	int rc = stw_get_instance(t->e, definition, id, &inst);
	if (rc != STW_OK)
		stw__test_fail(t, NULL, NULL, "no instance %s of %s: %s", id, definition,
			       stw_errmsg(t->e));
	return inst;
}

static const char *field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

int stw_test_expect_state(struct stw_test *t, const char *definition, const char *id,
			  const char *state, const char *status)
{
	json_t *inst = instance(t, definition, id);
	if (inst == NULL)
		return -1;
	int ok = (state == NULL || strcmp(field(inst, "state"), state) == 0) &&
		 (status == NULL || strcmp(field(inst, "status"), status) == 0);
	int rc = ok ? 0
		    : stw__test_fail(t, definition, id, "%s %s is %s (%s), not %s (%s)", definition,
				     id, field(inst, "state"), field(inst, "status"),
				     state ? state : "any state", status ? status : "any status");
	json_decref(inst);
	return rc;
}

/* 1 if every field of want is in data with the same value (an object: holding its fields). */
static int holds_fields(const json_t *data, const json_t *want)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)want, k, v)
	{
		json_t *got = json_object_get(data, k);
		if (json_is_object(v) ? !json_is_object(got) || !holds_fields(got, v)
				      : !json_equal(got, v))
			return 0;
	}
	return 1;
}

int stw_test_expect_sent(struct stw_test *t, const char *definition, const char *id,
			 const char *context, const char *type, const char *fields_json, int times)
{
	json_t *want = NULL;
	if (fields_json != NULL && stw__test_parse(t, "a command", fields_json, &want) != 0)
		return -1;
	json_t *inst = instance(t, definition, id);
	int n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(inst, "commands"), i, c)
	{
		n += (context == NULL || strcmp(field(c, "context"), context) == 0) &&
		     (type == NULL || strcmp(field(c, "type"), type) == 0) &&
		     (want == NULL || holds_fields(json_object_get(c, "data"), want));
	}
	int rc = inst == NULL ? -1
		 : n == times
		     ? 0
		     : stw__test_fail(t, definition, id, "%s %s sent %s.%s%s%s %d times, not %d",
				      definition, id, context ? context : "any context",
				      type ? type : "any command", fields_json ? " with " : "",
				      fields_json ? fields_json : "", n, times);
	json_decref(want);
	json_decref(inst);
	return rc;
}

int stw_test_expect_commands(struct stw_test *t, const char *definition, const char *id,
			     const char *status, int times)
{
	json_t *inst = instance(t, definition, id);
	int n = 0;
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(inst, "commands"), i, c)
	{
		n += status == NULL || strcmp(field(c, "status"), status) == 0;
	}
	int rc = inst == NULL ? -1
		 : n == times
		     ? 0
		     : stw__test_fail(t, definition, id, "%s %s has %d commands %s, not %d",
				      definition, id, n, status ? status : "(any status)", times);
	json_decref(inst);
	return rc;
}

/* The instance's pending timers for message_type due at due_ms (< 0: any time). */
static int count_timers(const json_t *inst, const char *message_type, int64_t due_ms)
{
	int n = 0;
	size_t i;
	json_t *tm;
	json_array_foreach(json_object_get(inst, "timers"), i, tm)
	{
		n += strcmp(field(tm, "message_type"), message_type) == 0 &&
		     (due_ms < 0 || json_integer_value(json_object_get(tm, "due_at")) == due_ms);
	}
	return n;
}

int stw_test_expect_timer(struct stw_test *t, const char *definition, const char *id,
			  const char *message_type, int pending)
{
	json_t *inst = instance(t, definition, id);
	int n = inst != NULL ? count_timers(inst, message_type, -1) : 0;
	int rc = inst == NULL ? -1
		 : (n > 0) == (pending != 0)
		     ? 0
		     : stw__test_fail(t, definition, id, "%s %s has %s timer for %s", definition,
				      id, n > 0 ? "a" : "no", message_type);
	json_decref(inst);
	return rc;
}

int stw_test_expect_timer_at(struct stw_test *t, const char *definition, const char *id,
			     const char *message_type, int64_t due_ms)
{
	json_t *inst = instance(t, definition, id);
	int rc = inst == NULL ? -1
		 : count_timers(inst, message_type, due_ms) > 0
		     ? 0
		     : stw__test_fail(t, definition, id, "%s %s has no timer for %s due at %lld",
				      definition, id, message_type, (long long)due_ms);
	json_decref(inst);
	return rc;
}

struct counting {
	const char *type;
	long n;
	int64_t last;
};

static int count_cb(const struct stw_event *ev, void *ud)
{
	struct counting *c = ud;
	c->n += c->type == NULL || strcmp(ev->type, c->type) == 0;
	c->last = ev->position;
	return 0;
}

long stw_test_count_events(struct stw_test *t, const char *context, const char *type)
{
	if (stw__test_flush(t) != 0)
		return -1;
	struct counting c = { type, 0, 0 };
	for (;;) {
		int got = 0;
		int rc = stw_read(t->e, context, c.last, 1000, count_cb, &c, &got);
		if (rc != STW_OK)
			return stw__test_fail_engine(t, "reading a log", rc);
		if (got < 1000)
			return c.n;
	}
}

int stw_test_expect_history(struct stw_test *t, const char *definition, const char *id,
			    const char *message_type, const char *outcome, int times)
{
	json_t *inst = instance(t, definition, id);
	int n = 0;
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(inst, "history"), i, row)
	{
		n += (message_type == NULL ||
		      strcmp(field(row, "message_type"), message_type) == 0) &&
		     (outcome == NULL || strcmp(field(row, "outcome"), outcome) == 0);
	}
	int rc =
	    inst == NULL ? -1
	    : n == times
		? 0
		: stw__test_fail(t, definition, id, "%s %s has %d history rows of %s %s, not %d",
				 definition, id, n, message_type ? message_type : "any message",
				 outcome ? outcome : "(any outcome)", times);
	json_decref(inst);
	return rc;
}

int stw_test_expect_fields(struct stw_test *t, const char *definition, const char *id,
			   const char *fields_json)
{
	json_t *want = NULL;
	if (stw__test_parse(t, "the fields", fields_json, &want) != 0)
		return -1;
	json_t *inst = instance(t, definition, id);
	const char *k;
	json_t *v;
	int rc = inst == NULL ? -1 : 0;
	json_object_foreach(want, k, v)
	{
		if (rc != 0)
			break;
		json_t *one = json_pack("{sO}", k, v);
		int holds = one != NULL && holds_fields(inst, one);
		json_decref(one);
		if (holds)
			continue;
		char *got = json_dumps(json_object_get(inst, k), JSON_ENCODE_ANY | JSON_COMPACT);
		char *exp = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		rc = stw__test_fail(t, definition, id, "%s %s has %s %s, not %s", definition, id, k,
				    got ? got : "nothing", exp ? exp : "?");
		free(got);
		free(exp);
	}
	json_decref(want);
	json_decref(inst);
	return rc;
}

long stw_test_count_instances(struct stw_test *t, const char *definition, const char *status)
{
	if (stw__test_flush(t) != 0)
		return -1;
	struct stw_instance_filter f = { .definition = definition, .status = status, .limit = 100 };
	for (long n = 0;; f.offset += f.limit) {
		json_t *page = NULL;
		int rc = stw_list_instances(t->e, &f, &page);
		if (rc != STW_OK)
			return stw__test_fail_engine(t, "listing the instances", rc);
		size_t got = json_array_size(page);
		json_decref(page);
		n += (long)got;
		if (got < (size_t)f.limit)
			return n;
	}
}

long stw_test_count_unrouted(struct stw_test *t, const char *definition)
{
	json_t *list = NULL;
	int rc =
	    stw__test_flush(t) != 0 ? STW_OK : stw_list_unrouted(t->e, definition, 1000, &list);
	if (rc != STW_OK)
		return stw__test_fail_engine(t, "listing the unrouted messages", rc);
	if (list == NULL)
		return -1;
	long n = (long)json_array_size(list);
	json_decref(list);
	return n;
}

/* The types of the events read, those of one correlation id (or all), space-separated. */
struct typelist {
	const char *correlation;
	int64_t last; /* the position of the last event read */
	char text[4096];
	int cut;
};

static int typelist_cb(const struct stw_event *ev, void *ud)
{
	struct typelist *l = ud;
	l->last = ev->position;
	if (l->correlation != NULL &&
	    (ev->correlation_id == NULL || strcmp(ev->correlation_id, l->correlation) != 0))
		return 0;
	size_t len = strlen(l->text);
	int n = snprintf(l->text + len, sizeof(l->text) - len, "%s%s", len ? " " : "", ev->type);
	l->cut |= n < 0 || (size_t)n >= sizeof(l->text) - len;
	return 0;
}

int stw_test_expect_events(struct stw_test *t, const char *context, const char *stream,
			   const char *correlation_id, const char *types)
{
	if (stw__test_flush(t) != 0)
		return -1;
	struct typelist l = { .correlation = correlation_id };
	int rc = STW_OK;
	if (stream != NULL) {
		int64_t version = 0;
		rc = stw_read_stream(t->e, context, stream, typelist_cb, &l, &version);
	} else {
		for (;;) {
			int got = 0;
			rc = stw_read(t->e, context, l.last, 1000, typelist_cb, &l, &got);
			if (rc != STW_OK || got < 1000)
				break;
		}
	}
	if (rc != STW_OK)
		return stw__test_fail_engine(t, "reading events", rc);
	/* The expected list with its blanks made single, to compare. */
	char want[4096] = "";
	for (const char *p = types ? types : ""; *p != '\0';) {
		size_t n = strcspn(p, " \t\n");
		if (n > 0) {
			size_t len = strlen(want);
			snprintf(want + len, sizeof(want) - len, "%s%.*s", len ? " " : "", (int)n,
				 p);
		}
		p += n + strspn(p + n, " \t\n");
	}
	if (!l.cut && strcmp(l.text, want) == 0)
		return 0;
	return stw__test_fail(
	    t, NULL, NULL, "the events of %s%s%s%s%s are \"%s\"%s, not \"%s\"", context,
	    stream ? "/" : "", stream ? stream : "", correlation_id ? " correlated to " : "",
	    correlation_id ? correlation_id : "", l.text, l.cut ? "..." : "", want);
}

int64_t stw_test_next_timer(struct stw_test *t)
{
	int64_t due = 0;
	int rc = stw__test_flush(t) != 0 ? STW_EINVAL : stw_next_timer(t->e, &due);
	if (rc == STW_ENOTFOUND)
		return -1;
	if (rc != STW_OK) {
		stw__test_fail_engine(t, "reading the next timer", rc);
		return -1;
	}
	return due;
}

long stw_test_count_pending(struct stw_test *t)
{
	int64_t n = 0;
	if (stw__test_flush(t) != 0)
		return -1;
	int rc = stw_pending_commands(t->e, &n);
	return rc == STW_OK ? (long)n
			    : stw__test_fail_engine(t, "counting the pending commands", rc);
}
