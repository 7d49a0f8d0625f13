/*
 * message.c - a message as a value: a stored event row parsed into a struct
 * stw_event (events of the logs and the messages of timers share it), handed
 * to a public callback, and its JSON and fields for users.
 */
#include "core/message.h"

#include <string.h>

/*
 * Parses stored JSON text (NULL: {}). The empty object, which most events'
 * metadata is, is made without the parser: the same value.
 */
static json_t *load_object(const char *text, json_error_t *jerr)
{
	if (text == NULL || strcmp(text, "{}") == 0)
		return json_object();
	return json_loads(text, 0, jerr);
}

int stw__event_from_row(struct stw_engine *e, const struct stw__event_row *row,
			struct stw_event *ev)
{
	json_error_t jerr;
	*ev = (struct stw_event){
		.context = row->context,
		.position = row->position,
		.id = row->id,
		.type = row->type,
		.stream = row->stream,
		.stream_version = row->stream_version,
		.correlation_id = row->correlation_id,
		.causation_id = row->causation_id,
		.recorded_at = row->recorded_at,
	};
	ev->data = load_object(row->data, &jerr);
	ev->metadata = load_object(row->metadata, &jerr);
	if (ev->data == NULL || ev->metadata == NULL) {
		stw__event_release(ev);
		return stw__fail(e, STW_ESTORE, "stored event %s has malformed JSON", row->id);
	}
	return STW_OK;
}

void stw__event_release(struct stw_event *ev)
{
	json_decref(ev->data);
	json_decref(ev->metadata);
	ev->data = NULL;
	ev->metadata = NULL;
}

int stw__read_cb(const struct stw__event_row *row, void *ud)
{
	struct stw__read_ctx *rc = ud;
	struct stw_event ev;
	rc->rc = stw__event_from_row(rc->e, row, &ev);
	if (rc->rc != STW_OK)
		return 1;
	rc->count++;
	rc->last_version = row->stream_version;
	rc->stopped = rc->fn ? rc->fn(&ev, rc->ud) : 0;
	stw__event_release(&ev);
	return rc->stopped;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

STW_API json_t *stw_event_json(const struct stw_event *ev)
{
	if (ev == NULL)
		return NULL;
	/* Copies: the event's objects may be shared with the stream cache. */
	return json_pack("{s:I, s:s, s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:I}", "position",
			 (json_int_t)ev->position, "id", ev->id, "type", ev->type, "stream",
			 ev->stream, "stream_version", (json_int_t)ev->stream_version,
			 "correlation_id", str_or_null(ev->correlation_id), "causation_id",
			 str_or_null(ev->causation_id), "data", json_deep_copy(ev->data),
			 "metadata", json_deep_copy(ev->metadata), "recorded_at",
			 (json_int_t)ev->recorded_at);
}

STW_API const char *stw_event_str(const struct stw_event *ev, const char *field)
{
	if (ev == NULL || field == NULL)
		return NULL;
	return json_string_value(json_object_get(ev->data, field));
}
