/*
 * backend.h - the two places a command works: a store (--store, an SQLite
 * file or a PostgreSQL database, opened through the public API) or a
 * running daemon (--url, its JSON API of docs/API.md). Both answer the same
 * JSON documents, the ones the API answers, so a command gets its answer as
 * JSON and then prints it.
 */
#ifndef STW_CLI_BACKEND_H
#define STW_CLI_BACKEND_H

#include <steward.h>

#include "args.h"
#include "text.h"

/* The buffer of a store named in a message (stw__cli_store_shown). */
#define STW__CLI_STORE_SHOWN_CAP 1024

/*
 * Writes the store (a path or URL, as stw_open takes it) into buf as a
 * message may show it: without its password (stw_store_shown), escaped and
 * cut as stw__cli_shown_n does. Returns buf.
 */
const char *stw__cli_store_shown(char buf[STW__CLI_STORE_SHOWN_CAP], const char *store);

/*
 * Why stw_open failed, from the last error line the library logged (`log`,
 * "cannot open store S: open: WHY"): WHY, or the code's text when the line
 * does not say. The result points into log, or is static.
 */
const char *stw__cli_open_reason(const char *log, int rc);

/*
 * Opens c->db, an SQLite file or a PostgreSQL store: read-only for
 * inspection, or read-write (writable) with the definitions and services
 * of the plugins of --load registered, or without any, those of the voiding
 * example, so that commands reach them. A file that is missing, or a store
 * that is not a steward store (an empty file, a schema without steward's
 * tables), is refused before anything is written to it: a read-write open
 * would create the schema. Returns 0 with *e (close it with stw_close), or
 * 1 after printing why, naming the store without its password.
 */
int stw__cli_db_open(struct stw__cli *c, int writable, struct stw_engine **e);

/* Prints the engine's last failure. Returns 1. */
int stw__cli_db_fail(struct stw_engine *e, int rc);

/* An answer of the daemon. Release it with stw__cli_reply_free. */
struct stw__cli_reply {
	long status;
	json_t *json;   /* the parsed body, or NULL when it is not JSON */
	char *body;     /* the body, NUL-terminated; NULL when empty */
	size_t len;     /* its length */
	int token_sent; /* the request carried a bearer token */
};

void stw__cli_reply_free(struct stw__cli_reply *r);

/*
 * Sends `method` for c->url + path, with `body` (borrowed; NULL: none) as a
 * JSON body, and reads the answer into *r (release it with
 * stw__cli_reply_free), whatever its status. Returns 0 when an answer came,
 * or 1 after printing why none did (unreachable, timed out, too large).
 */
int stw__cli_http_call(struct stw__cli *c, const char *method, const char *path, const json_t *body,
		       struct stw__cli_reply *r);

/* Prints why the daemon's answer is a failure: its JSON message, or the status. */
void stw__cli_report_http_error(const struct stw__cli_reply *r);

/*
 * Asks the daemon and expects a JSON object with a 2xx status. Returns 0
 * with *out (new), or 1 after printing the daemon's error message.
 */
int stw__cli_http_json(struct stw__cli *c, const char *method, const struct stw__cli_buf *path,
		       const json_t *body, json_t **out);

/*
 * POSTs body (stolen) to path and expects what stw__cli_http_json expects.
 * A NULL body is one that could not be built: `what` it carries is not
 * valid UTF-8 or memory ran out, which is reported (1).
 */
int stw__cli_http_post(struct stw__cli *c, const struct stw__cli_buf *path, json_t *body,
		       const char *what, json_t **out);

/*
 * Appends s to b as one URL path segment or query value: every byte but
 * ASCII letters, digits, '-', '_' and '~' is percent-encoded ('/' and '.'
 * included, so that an id can never change the path).
 */
void stw__cli_buf_urlenc(struct stw__cli_buf *b, const char *s);

/* Appends "&key=value" (or "?key=value" first) when value is not NULL. */
void stw__cli_buf_query(struct stw__cli_buf *b, const char *key, const char *value);

/* Appends the path of an instance: /api/instances/{id}{suffix}?definition=D. */
void stw__cli_instance_path(struct stw__cli_buf *p, const char *id, const char *suffix,
			    const char *def);

#endif /* STW_CLI_BACKEND_H */
