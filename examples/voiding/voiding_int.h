/*
 * voiding_int.h - what the files of the voiding example share and nothing
 * else sees: the two service handlers (registered by process.c) and the
 * validation of the values fed from outside.
 */
#ifndef VOIDING_INT_H
#define VOIDING_INT_H

#include <stddef.h>

#include <steward.h>

/* Caps on the values the example accepts from outside (bytes, without the NUL). */
#define VOIDING_MAX_VALUE 100

/* Room for "document-" or "report-" followed by a capped value, and the NUL. */
#define VOIDING_STREAM_CAP (16 + VOIDING_MAX_VALUE)

/* The Billing service: IssueDocument, VoidDocument, Complete/AbortDocumentVoiding. */
int voiding__billing_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/* The Reports service: AddDocumentToReport, MarkDocumentAsVoided, PublishReport. */
int voiding__reports_handle(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud);

/*
 * Returns non-zero when `s` is a valid document id or customer: a non-empty
 * string of at most VOIDING_MAX_VALUE bytes without control characters (a
 * customer names the stream of its report, whose id cannot hold them). NULL
 * is not valid.
 */
int voiding__valid_value(const char *s);

/*
 * Returns the string field `field` of the JSON object `obj` (borrowed) if it
 * is a valid value in the sense of voiding__valid_value(), else NULL. `obj`
 * may be NULL.
 */
const char *voiding__value(const json_t *obj, const char *field);

/*
 * Writes "<prefix><value>" into buf (cap bytes). Returns STW_OK, or
 * STW_EINVAL if the value is not valid or the result does not fit.
 */
int voiding__stream(char *buf, size_t cap, const char *prefix, const char *value);

#endif /* VOIDING_INT_H */
