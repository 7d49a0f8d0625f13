/*
 * events.c - appending to and reading from the contexts' event logs.
 */
#include "core/events.h"
#include "core/message.h"
#include "core/streams.h"
#include "core/txn.h"

#include <stdlib.h>
#include <string.h>

/*
 * Serialises a JSON object (NULL: {}) into a malloc'd compact string and
 * checks its size. *out is NULL on failure.
 */
static int dump_object(struct stw_engine *e, json_t *v, const char *what, char **out)
{
	*out = NULL;
	if (v != NULL && !json_is_object(v))
		return stw__fail(e, STW_EINVAL, "%s must be a JSON object", what);
	if (v == NULL) {
		*out = strdup("{}");
		return *out ? STW_OK : stw__fail(e, STW_ENOMEM, "out of memory");
	}
	*out = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (*out == NULL)
		return stw__fail(e, STW_ENOMEM, "cannot serialise %s", what);
	if (strlen(*out) > STW_MAX_JSON) {
		free(*out);
		*out = NULL;
		return stw__fail(e, STW_EINVAL, "%s is larger than %d bytes", what, STW_MAX_JSON);
	}
	return STW_OK;
}

/* Checks the caller-supplied fields of one event. */
static int check_event(struct stw_engine *e, const struct stw_event *ev, const char *stream)
{
	if (!stw__valid_name(ev->type))
		return stw__fail(e, STW_EINVAL, "event type is missing or invalid");
	if (!stw__valid_id(ev->stream))
		return stw__fail(e, STW_EINVAL, "event stream is missing or invalid");
	if (strcmp(ev->stream, stream) != 0)
		return stw__fail(e, STW_EINVAL, "the events of one append must share a stream");
	if (ev->id != NULL && !stw__valid_id(ev->id))
		return stw__fail(e, STW_EINVAL, "invalid event id");
	if (ev->correlation_id != NULL && !stw__valid_id(ev->correlation_id))
		return stw__fail(e, STW_EINVAL, "invalid correlation id");
	if (ev->causation_id != NULL && !stw__valid_id(ev->causation_id))
		return stw__fail(e, STW_EINVAL, "invalid causation id");
	return STW_OK;
}

/*
 * Whether stored JSON text holds the same value as v (NULL: {}). `text` is
 * v serialised, when the caller has it: equal text needs no parse. -1 when
 * the stored text cannot be parsed.
 */
static int same_json(const char *stored, const char *text, json_t *v)
{
	if (stored == NULL)
		stored = "{}";
	if (text != NULL && strcmp(stored, text) == 0)
		return 1;
	json_t *parsed = json_loads(stored, 0, NULL);
	if (parsed == NULL)
		return -1;
	int eq = v != NULL ? json_equal(parsed, v)
			   : json_is_object(parsed) && json_object_size(parsed) == 0;
	json_decref(parsed);
	return eq;
}

/* An event being appended, compared with the stored event of the same id. */
struct match {
	const char *context;
	const char *stream;
	const struct stw_event *ev;
	const char *data, *meta; /* ev's data and metadata serialised, or NULL */
	int same;                /* 1 same content, 0 other content, -1 unreadable */
	int64_t position;
	char where[STW_MAX_NAME + 24];
};

static int match_cb(const struct stw__event_row *row, void *ud)
{
	struct match *m = ud;
	m->position = row->position;
	snprintf(m->where, sizeof(m->where), "%s#%lld", row->context, (long long)row->position);
	m->same = strcmp(row->context, m->context) == 0 && strcmp(row->stream, m->stream) == 0 &&
		  strcmp(row->type, m->ev->type) == 0;
	if (m->same)
		m->same = same_json(row->data, m->data, m->ev->data);
	if (m->same == 1)
		m->same = same_json(row->metadata, m->meta, m->ev->metadata);
	return 1;
}

/*
 * Looks up the stored event with ev's id. STW_ENOTFOUND when there is none;
 * STW_OK with its position when it holds the same content (context, stream,
 * type, data and metadata compared as JSON values: a repeat of the same
 * append); STW_ECONFLICT naming the id when it holds other content. The ids
 * of events are unique across contexts, so a second event under one id
 * cannot be stored, and taking it for the first would lose it silently.
 */
static int match_stored(struct stw_engine *e, const char *context, const char *stream,
			const struct stw_event *ev, const char *id, const char *data,
			const char *meta, int64_t *position)
{
	struct match m = { context, stream, ev, data, meta, 0, 0, "" };
	int rc = STW__S(e->store, event_get, id, match_cb, &m);
	if (rc == STW_ENOTFOUND)
		return rc;
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "looking up an event id");
	if (m.same < 0)
		return stw__fail(e, STW_ESTORE, "stored event %s has malformed JSON", id);
	if (!m.same)
		return stw__fail(e, STW_ECONFLICT,
				 "event id %s is stored already (%s) with other content", id,
				 m.where);
	if (position != NULL)
		*position = m.position;
	return STW_OK;
}

/*
 * STW_OK with their positions when every event has an id and is stored
 * already with the same content, STW_ENOTFOUND when one is not stored,
 * STW_ECONFLICT when one is stored with other content, or a store error.
 */
static int all_stored(struct stw_engine *e, const char *context, const char *stream,
		      const struct stw_event *events, size_t n, int64_t *positions)
{
	for (size_t i = 0; i < n; i++) {
		if (events[i].id == NULL)
			return STW_ENOTFOUND;
		int rc = match_stored(e, context, stream, &events[i], events[i].id, NULL, NULL,
				      positions != NULL ? &positions[i] : NULL);
		if (rc != STW_OK)
			return rc;
	}
	return STW_OK;
}

int stw__append_in_txn(struct stw_engine *e, const char *context, int64_t expected_version,
		       const struct stw_event *events, size_t n, int64_t *positions, int given)
{
	struct stw__store *s = e->store;
	if (!stw__valid_name(context))
		return stw__fail(e, STW_EINVAL, "invalid context name");
	if (events == NULL || n == 0)
		return stw__fail(e, STW_EINVAL, "nothing to append");
	if (n > STW_MAX_APPEND)
		return stw__fail(e, STW_EINVAL, "at most %d events per append", STW_MAX_APPEND);
	if (expected_version < STW_ANY_VERSION)
		return stw__fail(e, STW_EINVAL, "invalid expected version");
	const char *stream = events[0].stream ? events[0].stream : "";
	int rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = check_event(e, &events[i], stream)) != STW_OK)
			return rc;
	if (expected_version != STW_ANY_VERSION) {
		/* A service emits after folding the stream: the cache knows its version. */
		int64_t v = 0;
		if ((!stw__streams_version(e, context, stream, &v) || v != expected_version) &&
		    (rc = STW__S(s, stream_version, context, stream, &v)) != STW_OK)
			return stw__store_fail(e, rc, "reading a stream version");
		if (v != expected_version) {
			/* A replay of events stored already succeeds whatever the version. */
			rc = all_stored(e, context, stream, events, n, positions);
			if (rc != STW_ENOTFOUND)
				return rc;
			return stw__fail(e, STW_ECONFLICT,
					 "stream %s of %s is at version %lld, not %lld", stream,
					 context, (long long)v, (long long)expected_version);
		}
	}
	/* An event stored already is refused by the id's unique index and then
	 * compared with the stored copy (no lookup first: the common append is
	 * of new events). */
	int64_t now = stw__now(e), added = 0;
	for (size_t i = 0; i < n; i++) {
		const struct stw_event *ev = &events[i];
		char gen[37];
		const char *id = ev->id;
		if (id == NULL) {
			stw_new_id(gen);
			id = gen;
		}
		char *data = NULL, *meta = NULL;
		rc = dump_object(e, ev->data, "event data", &data);
		if (rc == STW_OK)
			rc = dump_object(e, ev->metadata, "event metadata", &meta);
		if (rc != STW_OK) {
			free(data);
			return rc;
		}
		struct stw__event_row row = {
			.context = context,
			.id = id,
			.type = ev->type,
			.stream = stream,
			.correlation_id = ev->correlation_id,
			.causation_id = ev->causation_id,
			.data = data,
			.metadata = meta,
			.recorded_at = now,
			/* The version read above, under the write lock (see the store's append). */
			.stream_version =
			    expected_version != STW_ANY_VERSION ? expected_version + added + 1 : 0,
		};
		int64_t pos = 0, sv = 0;
		rc = STW__S(s, append, &row, &pos, &sv);
		if (rc == STW_OK && expected_version != STW_ANY_VERSION &&
		    sv != expected_version + ++added) {
			/* Another engine appended to the stream after the version was
			 * read, and this append waited for it (a store without a single
			 * writer): the expected version is stale after all. */
			rc = stw__fail(
			    e, STW_ECONFLICT,
			    "stream %s of %s moved on while appending: version %lld, not "
			    "%lld",
			    stream, context, (long long)sv, (long long)(expected_version + added));
		} else if (rc == STW_OK) {
			row.position = pos;
			row.stream_version = sv;
			stw__streams_appended(e, &row, given ? ev->data : NULL);
		} else if (rc == STW_EEXIST) {
			/* Stored before, or earlier in this call: a repeat of the same
			 * event stands for it, other content under its id is refused. */
			rc = match_stored(e, context, stream, ev, id, data, meta, &pos);
			if (rc == STW_ENOTFOUND)
				rc = stw__fail(e, STW_ESTORE, "event id %s refused but not found",
					       id);
		} else {
			rc = stw__store_fail(e, rc, "appending an event");
		}
		free(data);
		free(meta);
		if (rc != STW_OK)
			return rc;
		if (positions != NULL)
			positions[i] = pos;
	}
	return STW_OK;
}

STW_API int stw_append(struct stw_engine *e, const char *context, int64_t expected_version,
		       const struct stw_event *events, size_t n, int64_t *positions)
{
	STW__ENTER(e, STW__CALL_WRITE);
	int64_t started = stw__mono_us();
	int rc = stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning an append");
	rc = stw__append_in_txn(e, context, expected_version, events, n, positions, 0);
	if (rc == STW_OK) {
		rc = stw__commit(e);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "committing an append");
	}
	if (rc != STW_OK)
		stw__rollback(e);
	else
		stw__observe(e, STW_ACTIVITY_APPEND, NULL, context, (int)n, 0, started);
	return rc;
}

STW_API int stw_read(struct stw_engine *e, const char *context, int64_t after, int limit,
		     stw_event_fn fn, void *ud, int *count)
{
	if (count != NULL)
		*count = 0;
	STW__ENTER(e, STW__CALL_READ);
	if (!stw__valid_name(context) || after < 0 || limit <= 0)
		return stw__fail(e, STW_EINVAL, "invalid context, position or limit");
	struct stw__read_ctx rc = { .e = e, .fn = fn, .ud = ud };
	int r = STW__S(e->store, read, context, after, limit, stw__read_cb, &rc);
	if (r != STW_OK)
		return stw__store_fail(e, r, "reading events");
	if (count != NULL)
		*count = rc.count;
	return rc.rc;
}

STW_API int stw_get_event(struct stw_engine *e, const char *id, stw_event_fn fn, void *ud)
{
	STW__ENTER(e, STW__CALL_READ);
	if (id == NULL || *id == '\0' || strlen(id) >= STW_MAX_ID || fn == NULL)
		return stw__fail(e, STW_EINVAL, "invalid event id or callback");
	struct stw__read_ctx rc = { .e = e, .fn = fn, .ud = ud };
	int r = STW__S(e->store, event_get, id, stw__read_cb, &rc);
	if (r == STW_ENOTFOUND)
		return stw__fail(e, r, "no event has the id %s", id);
	if (r != STW_OK)
		return stw__store_fail(e, r, "reading an event");
	return rc.rc;
}

STW_API int stw_read_stream(struct stw_engine *e, const char *context, const char *stream,
			    stw_event_fn fn, void *ud, int64_t *version)
{
	STW__ENTER(e, STW__CALL_READ);
	return stw__read_stream(e, context, stream, fn, ud, version);
}

STW_API int stw_head(struct stw_engine *e, const char *context, int64_t *position)
{
	STW__ENTER(e, STW__CALL_READ);
	if (position == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (!stw__valid_name(context))
		return stw__fail(e, STW_EINVAL, "invalid context name");
	int rc = STW__S(e->store, head, context, position);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "reading a context head");
}

STW_API int stw_stream_version(struct stw_engine *e, const char *context, const char *stream,
			       int64_t *version)
{
	STW__ENTER(e, STW__CALL_READ);
	if (version == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	if (!stw__valid_name(context) || !stw__valid_id(stream))
		return stw__fail(e, STW_EINVAL, "invalid context or stream");
	int rc = STW__S(e->store, stream_version, context, stream, version);
	return rc == STW_OK ? rc : stw__store_fail(e, rc, "reading a stream version");
}

STW_API int stw_append_batch(struct stw_engine *e, const char *context,
			     const struct stw_append_group *groups, size_t ngroups,
			     int64_t *positions, long *failed)
{
	if (failed != NULL)
		*failed = -1;
	STW__ENTER(e, STW__CALL_WRITE);
	if (groups == NULL || ngroups == 0)
		return stw__fail(e, STW_EINVAL, "nothing to append");
	size_t total = 0;
	for (size_t g = 0; g < ngroups; g++)
		total += groups[g].n;
	if (total > STW_MAX_APPEND)
		return stw__fail(e, STW_EINVAL, "at most %d events per append", STW_MAX_APPEND);
	int64_t started = stw__mono_us();
	int rc = stw__begin(e);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "beginning an append");
	size_t at = 0;
	for (size_t g = 0; g < ngroups && rc == STW_OK; g++) {
		rc = stw__append_in_txn(e, context, groups[g].expected_version, groups[g].events,
					groups[g].n, positions ? positions + at : NULL, 0);
		if (rc != STW_OK && failed != NULL && rc != STW_ESTORE && rc != STW_EBUSY &&
		    rc != STW_ENOMEM)
			*failed = (long)g;
		at += groups[g].n;
	}
	if (rc == STW_OK) {
		rc = stw__commit(e);
		if (rc != STW_OK)
			stw__store_fail(e, rc, "committing an append");
	}
	if (rc != STW_OK) {
		stw__rollback(e);
		return rc;
	}
	stw__observe(e, STW_ACTIVITY_APPEND, NULL, context, (int)total, 0, started);
	return STW_OK;
}
