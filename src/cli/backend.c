/*
 * backend.c - the store and the daemon's HTTP API as the commands
 * use them (see backend.h).
 */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "http/client.h"
#include "http/http.h"
#include "table.h"
#include "voiding.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TIMEOUT_MS         30000L
#define HTTP_MAX_REPLY          ((size_t)64 << 20) /* bytes of one answer we accept */
#define REASON_COLS             200                /* columns of why a database cannot be opened */
#define STORE_COLS              200                /* columns of a store named in a message */

/* The database back end ------------------------------------------------------------------ */

/* The library's log callback: keeps the last error line, for stw__cli_open_reason(). */
static void on_log(enum stw_log_level level, const char *msg, void *ud)
{
	struct stw__cli *c = ud;
	if (level == STW_LOG_ERROR)
		snprintf(c->log, sizeof(c->log), "%s", msg);
}

/*
 * Registers on e the definitions and services of the plugins of --load, or
 * without any, those of the voiding example. Returns 0, or 1 after printing
 * why not.
 */
static int register_definitions(struct stw__cli *c, struct stw_engine *e)
{
	if (c->nload == 0) {
		if (voiding_register(e) == STW_OK)
			return 0;
		stw__cli_error_text("", stw_errmsg(e), "");
		return 1;
	}
	for (; c->nplugins < c->nload; c->nplugins++) {
		char err[PATH_MAX + 512];
		if (stw__cli_plugin_load(c->load[c->nplugins], &c->plugins[c->nplugins], err,
					 sizeof(err)) != 0) {
			stw__cli_error_text("", err, "");
			return 1;
		}
	}
	for (int i = 0; i < c->nplugins; i++)
		if (stw__cli_plugin_register(&c->plugins[i], e) != STW_OK)
			return 1;
	return 0;
}

const char *stw__cli_open_reason(const char *log, int rc)
{
	const char *p = strstr(log, ": open: ");
	if (p != NULL)
		return p + 8;
	return stw_strerror(rc);
}

const char *stw__cli_store_shown(char buf[STW__CLI_STORE_SHOWN_CAP], const char *store)
{
	char hidden[STW__CLI_STORE_SHOWN_CAP];
	stw_store_shown(store, hidden, sizeof hidden);
	return stw__cli_shown_n(buf, STW__CLI_STORE_SHOWN_CAP, hidden, STORE_COLS);
}

int stw__cli_db_open(struct stw__cli *c, int writable, struct stw_engine **e)
{
	char eb[STW__CLI_STORE_SHOWN_CAP], rb[STW__CLI_SHOWN_CAP * 2], path[PATH_MAX];
	struct stat st;
	*e = NULL;
	stw__cli_store_shown(eb, c->db);
	/* A file is looked at first: a missing one is not created, a directory not opened. */
	if (stw__cli_store_file(c->db, path, sizeof path)) {
		if (stat(path, &st) != 0) {
			stw__cli_error("cannot open %s: %s", eb, strerror(errno));
			return 1;
		}
		if (!S_ISREG(st.st_mode)) {
			stw__cli_error("cannot open %s: not a regular file", eb);
			return 1;
		}
	}
	/* Read-only first, also to write: a store without steward's schema is refused
	 * (STW_ENOTFOUND) before a read-write open would create it. */
	struct stw_options o = { .log = on_log, .log_ud = c, .read_only = 1, .synchronous = -1 };
	int rc = stw_open(c->db, &o, e);
	if (rc == STW_OK && writable) {
		stw_close(*e);
		*e = NULL;
		o.read_only = 0;
		rc = stw_open(c->db, &o, e);
		if (rc == STW_OK && register_definitions(c, *e) != 0) {
			stw_close(*e);
			*e = NULL;
			return 1;
		}
	}
	if (rc != STW_OK) {
		stw__cli_error("cannot open %s: %s", eb,
			       rc == STW_ENOTFOUND || strstr(c->log, "not a database") != NULL
				   ? "not a steward database"
				   : stw__cli_shown_n(rb, sizeof(rb),
						      stw__cli_open_reason(c->log, rc),
						      REASON_COLS));
		return 1;
	}
	return 0;
}

int stw__cli_db_fail(struct stw_engine *e, int rc)
{
	const char *m = stw_errmsg(e);
	stw__cli_error_text("", m != NULL && *m != '\0' ? m : stw_strerror(rc), "");
	return 1;
}

/* The HTTP back end ----------------------------------------------------------------------- */

void stw__cli_reply_free(struct stw__cli_reply *r)
{
	json_decref(r->json);
	free(r->body);
}

int stw__cli_http_post(struct stw__cli *c, const struct stw__cli_buf *path, json_t *body,
		       const char *what, json_t **out)
{
	*out = NULL;
	if (body == NULL) {
		stw__cli_error("%s is not valid UTF-8, or out of memory", what);
		return 1;
	}
	int rc = stw__cli_http_json(c, "POST", path, body, out);
	json_decref(body);
	return rc;
}

void stw__cli_buf_urlenc(struct stw__cli_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '~')
			stw__cli_buf_putn(b, (const char *)p, 1);
		else
			stw__cli_buf_printf(b, "%%%02X", *p);
	}
}

void stw__cli_buf_query(struct stw__cli_buf *b, const char *key, const char *value)
{
	if (value == NULL || b->oom)
		return;
	stw__cli_buf_puts(b, b->p != NULL && strchr(b->p, '?') ? "&" : "?");
	stw__cli_buf_puts(b, key);
	stw__cli_buf_puts(b, "=");
	stw__cli_buf_urlenc(b, value);
}

void stw__cli_instance_path(struct stw__cli_buf *p, const char *id, const char *suffix,
			    const char *def)
{
	stw__cli_buf_puts(p, "/api/instances/");
	stw__cli_buf_urlenc(p, id);
	stw__cli_buf_puts(p, suffix);
	stw__cli_buf_query(p, "definition", def);
}

/* Prints "cannot reach URL: WHY" with both whole (escaped): libcurl's error is never cut. */
static void unreachable(const char *url, const char *why)
{
	struct stw__cli_buf b = { 0 };
	stw__cli_buf_cell(&b, url, 0);
	stw__cli_buf_puts(&b, ": ");
	stw__cli_buf_cell(&b, why, 0);
	const char *s = stw__cli_buf_str(&b);
	stw__cli_error("cannot reach %s", s ? s : "the daemon (out of memory)");
	free(b.p);
}

int stw__cli_http_call(struct stw__cli *c, const char *method, const char *path, const json_t *body,
		       struct stw__cli_reply *r)
{
	char ub[STW__CLI_SHOWN_CAP];
	memset(r, 0, sizeof(*r));
	r->token_sent = c->token != NULL;
	if (stw__http_global_init() != 0) {
		stw__cli_error("cannot initialise libcurl");
		return 1;
	}
	struct stw__cli_buf url = { 0 };
	stw__cli_buf_puts(&url, c->url);
	stw__cli_buf_puts(&url, path);
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct stw__http_call h = { 0 };
	struct stw__http_call_options o = {
		.url = stw__cli_buf_str(&url),
		.connect_timeout_ms = HTTP_CONNECT_TIMEOUT_MS,
		.timeout_ms = HTTP_TIMEOUT_MS,
		.max_answer = HTTP_MAX_REPLY,
		.path_as_is = 1,
	};
	int rc = 1;
	if (o.url == NULL || (body != NULL && payload == NULL) ||
	    stw__http_call_init(&h, &o) != 0 ||
	    stw__http_call_header(&h, "Accept", "application/json") != 0 ||
	    (c->token != NULL && stw__http_call_bearer(&h, c->token) != 0) ||
	    (body != NULL && (stw__http_call_header(&h, "Content-Type", "application/json") != 0 ||
			      stw__http_call_header(&h, "Expect", "") != 0))) {
		stw__cli_error("out of memory");
		goto out;
	}
	if (strcmp(method, "POST") == 0)
		stw__http_call_post(&h, payload ? payload : "", payload ? strlen(payload) : 0);
	CURLcode cc = stw__http_call_perform(&h);
	if (cc != CURLE_OK) {
		if (h.too_large)
			stw__cli_error("the answer of %s is larger than %zu MiB",
				       stw__cli_shown(ub, url.p), HTTP_MAX_REPLY >> 20);
		else
			unreachable(url.p, stw__http_call_error(&h, cc));
		goto out;
	}
	r->status = stw__http_call_status(&h);
	r->body = h.answer;
	r->len = h.len;
	h.answer = NULL;
	if (r->len > 0) {
		json_error_t jerr;
		r->json = json_loadb(r->body, r->len, 0, &jerr);
	}
	rc = 0;
out:
	stw__http_call_cleanup(&h);
	free(payload);
	free(url.p);
	return rc;
}

void stw__cli_report_http_error(const struct stw__cli_reply *r)
{
	const char *msg = stw__cli_str_of(r->json, "message");
	const char *code = stw__cli_str_of(r->json, "error");
	char suffix[STW__CLI_SHOWN_CAP + 32], cb[STW__CLI_SHOWN_CAP];
	if (msg != NULL) {
		snprintf(suffix, sizeof(suffix), " (HTTP %ld%s%s)", r->status, code ? " " : "",
			 code ? stw__cli_shown(cb, code) : "");
		stw__cli_error_text("", msg, suffix);
	} else if (r->status >= 200 && r->status < 300) {
		stw__cli_error("the daemon's answer is not a JSON object (HTTP %ld)", r->status);
	} else {
		snprintf(suffix, sizeof(suffix), "the daemon answered HTTP %ld: ", r->status);
		stw__cli_error_text(suffix, r->len ? r->body : "(no body)", "");
	}
	if (r->status == 401 && r->token_sent)
		stw__cli_error("the daemon refused the token of --token-file or STEWARD_TOKEN");
	else if (r->status == 401)
		stw__cli_error(
		    "the daemon requires a token: give --token-file PATH or set STEWARD_TOKEN");
}

int stw__cli_http_json(struct stw__cli *c, const char *method, const struct stw__cli_buf *path,
		       const json_t *body, json_t **out)
{
	struct stw__cli_reply r;
	*out = NULL;
	if (stw__cli_buf_str(path) == NULL) {
		stw__cli_error("out of memory");
		return 1;
	}
	if (stw__cli_http_call(c, method, path->p, body, &r) != 0)
		return 1;
	int rc = 1;
	if (r.status >= 200 && r.status < 300 && json_is_object(r.json)) {
		*out = r.json;
		r.json = NULL;
		rc = 0;
	} else {
		stw__cli_report_http_error(&r);
	}
	stw__cli_reply_free(&r);
	return rc;
}
