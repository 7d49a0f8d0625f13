/*
 * config.c - reading the settings of `steward serve` (see config.h). The INI
 * syntax is libinih's; the lines are fed to it by our own reader so that we
 * know the line of every key (Debian's libinih does not pass it) and can cap
 * their length.
 */
#include "config.h"

#include <netinet/in.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>
#include <steward.h>

#include "http/server.h"
#include "plugin.h"

/* The longest line a configuration file may have, newline included. */
#define CONFIG_MAX_LINE 4096

/* The ranges of a remote's numbers. */
#define MAX_TIMEOUT_MS 3600000  /* connect_timeout_ms, timeout_ms: an hour */
#define MAX_ATTEMPTS   1000000  /* max_attempts */
#define MAX_BACKOFF_MS 86400000 /* backoff_ms, backoff_max_ms: a day */

/* What a remote gets when its file leaves a number out (transport.c, the engine). */
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_TIMEOUT_MS         10000
#define DEFAULT_MAX_ATTEMPTS       8
#define DEFAULT_BACKOFF_MS         500
#define DEFAULT_BACKOFF_MAX_MS     60000

void stw__cli_config_init(struct stw__cli_serve_config *c)
{
	memset(c, 0, sizeof(*c));
	c->synchronous = -1;
}

void stw__cli_config_free(struct stw__cli_serve_config *c)
{
	free(c->file);
	free(c->listen);
	free(c->token_file);
	free(c->store);
	for (size_t i = 0; i < c->nload; i++)
		free(c->load[i]);
	free(c->load);
	free(c->load_line);
	for (size_t i = 0; i < c->nremotes; i++) {
		free(c->remotes[i].name);
		free(c->remotes[i].url);
		free(c->remotes[i].token_file);
	}
	free(c->remotes);
	for (size_t i = 0; i < c->naccept; i++)
		free(c->accept[i]);
	free(c->accept);
	stw__cli_config_init(c);
}

int stw__cli_config_set(char **field, const char *value)
{
	char *copy = strdup(value);
	if (copy == NULL)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

int stw__cli_config_add_load(struct stw__cli_serve_config *c, const char *path, int line)
{
	char **grown = realloc(c->load, (c->nload + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	c->load = grown;
	int *lines = realloc(c->load_line, (c->nload + 1) * sizeof(*lines));
	if (lines == NULL)
		return -1;
	c->load_line = lines;
	if ((c->load[c->nload] = strdup(path)) == NULL)
		return -1;
	c->load_line[c->nload] = line;
	c->nload++;
	return 0;
}

long stw__cli_config_find_load(const struct stw__cli_serve_config *c, const char *path)
{
	for (size_t i = 0; i < c->nload; i++)
		if (stw__cli_same_file(c->load[i], path))
			return (long)i;
	return -1;
}

int stw__cli_config_listen(const char *s, char *err, size_t cap)
{
	if (strcmp(s, "off") == 0)
		return 0;
	/* The server's own parser: what is accepted here is what it listens on. */
	struct sockaddr_in sa;
	char why[128];
	int ok = stw__http_parse_listen(s, &sa, why, sizeof(why)) == STW_OK;
	if (!ok)
		snprintf(err, cap,
			 "'%s' is not an address to listen on (HOST:PORT, :PORT or PORT, HOST an "
			 "IPv4 address or localhost; or off)",
			 s);
	return ok ? 0 : -1;
}

/* The remote named `name`, declared when missing; NULL when out of memory. */
static struct stw__cli_serve_remote *remote(struct stw__cli_serve_config *c, const char *name)
{
	for (size_t i = 0; i < c->nremotes; i++)
		if (strcmp(c->remotes[i].name, name) == 0)
			return &c->remotes[i];
	struct stw__cli_serve_remote *grown =
	    realloc(c->remotes, (c->nremotes + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	c->remotes = grown;
	struct stw__cli_serve_remote *r = &c->remotes[c->nremotes];
	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(name)) == NULL)
		return NULL;
	c->nremotes++;
	return r;
}

/*
 * A context name as the engine accepts it (stw_context_declared): letters,
 * digits, '_', '.' and '-', starting with a letter or digit,
 * 1..STW_MAX_NAME-1 bytes.
 */
static int valid_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n >= STW_MAX_NAME || strchr("_.-", *s) != NULL)
		return 0;
	for (; *s; s++) {
		char ch = *s;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

int stw__cli_config_accept(struct stw__cli_serve_config *c, const char *list, char *err, size_t cap)
{
	const char *p = list;
	while (*p != '\0') {
		size_t len = strcspn(p, ", \t");
		if (len == 0) {
			p++;
			continue;
		}
		char name[STW_MAX_NAME + 1];
		snprintf(name, sizeof(name), "%.*s", (int)(len < STW_MAX_NAME ? len : STW_MAX_NAME),
			 p);
		p += len;
		if (strcmp(name, "*") != 0 && (len >= STW_MAX_NAME || !valid_name(name))) {
			snprintf(err, cap,
				 "'%s' is not a context name (letters, digits, '_', '.', '-', "
				 "starting with a letter or digit; or * for any)",
				 name);
			return -1;
		}
		char **grown = realloc(c->accept, (c->naccept + 2) * sizeof(*grown));
		if (grown == NULL) {
			snprintf(err, cap, "out of memory");
			return -1;
		}
		c->accept = grown;
		if ((c->accept[c->naccept] = strdup(name)) == NULL) {
			snprintf(err, cap, "out of memory");
			return -1;
		}
		c->accept[++c->naccept] = NULL;
	}
	return 0;
}

static int valid_url(const char *s)
{
	return (strncmp(s, "http://", 7) == 0 && s[7] != '\0') ||
	       (strncmp(s, "https://", 8) == 0 && s[8] != '\0');
}

int stw__cli_config_synchronous(const char *s, int *out)
{
	static const char *const names[] = { "off", "normal", "full" };
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

int stw__cli_store_file(const char *store, char *path, size_t cap)
{
	const char *p = store;
	size_t n = 0;
	path[0] = '\0';
	if (strncmp(store, "sqlite:", 7) == 0) {
		p = store + 7;
		n = strcspn(p, "?");
	} else {
		/* "scheme://": a server's store (postgres://, postgresql://) or an unknown kind. */
		size_t s = strspn(
		    store, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
		if (s > 0 && strncmp(store + s, "://", 3) == 0)
			return 0;
		n = strlen(store);
	}
	snprintf(path, cap, "%.*s", (int)n, p);
	return 1;
}

int stw__cli_config_number(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int stw__cli_config_stuck_after(const char *s, long long *out, char *err, size_t cap)
{
	if (stw__cli_config_number(s, 1, STW__CLI_MAX_STUCK_AFTER_S, out) != 0) {
		snprintf(err, cap, "'%s' is not a whole number of seconds from 1 to %lld", s,
			 STW__CLI_MAX_STUCK_AFTER_S);
		return -1;
	}
	return 0;
}

int stw__cli_config_remote_flag(struct stw__cli_serve_config *c, const char *spec, char *err,
				size_t cap)
{
	const char *eq = strchr(spec, '=');
	char name[STW_MAX_NAME];
	if (eq == NULL || (size_t)(eq - spec) >= sizeof(name)) {
		snprintf(err, cap, "--remote needs NAME=URL, not '%s'", spec);
		return -1;
	}
	memcpy(name, spec, (size_t)(eq - spec));
	name[eq - spec] = '\0';
	if (!valid_name(name)) {
		snprintf(err, cap, "--remote %s: '%s' is not a context name", spec, name);
		return -1;
	}
	if (!valid_url(eq + 1)) {
		snprintf(err, cap, "--remote %s: the URL must start with http:// or https://",
			 name);
		return -1;
	}
	struct stw__cli_serve_remote *r = remote(c, name);
	if (r == NULL || stw__cli_config_set(&r->url, eq + 1) != 0) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	return 0;
}

int stw__cli_config_validate(const struct stw__cli_serve_config *c, char *err, size_t cap)
{
	for (size_t i = 0; i < c->nremotes; i++)
		if (c->remotes[i].url == NULL) {
			snprintf(err, cap, "%s%sremote %s has no url", c->file ? c->file : "",
				 c->file ? ": " : "", c->remotes[i].name);
			return -1;
		}
	char path[8];
	if (c->synchronous >= 0 && c->store != NULL &&
	    !stw__cli_store_file(c->store, path, sizeof path)) {
		snprintf(
		    err, cap,
		    "%s%s[store] synchronous is SQLite's setting, and the store is not an "
		    "SQLite file: on PostgreSQL the server's synchronous_commit decides when a "
		    "commit is durable (see docs/OPERATIONS.md)",
		    c->file ? c->file : "", c->file ? ": " : "");
		return -1;
	}
	if (c->listen != NULL && c->listen[0] == '\0') {
		snprintf(err, cap, "the listen address is empty (use off for no HTTP server)");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* The file                                                                 */

struct parse {
	struct stw__cli_serve_config *c;
	FILE *f;
	const char *path;
	char dir[PATH_MAX];    /* the file's directory, for relative paths */
	int line;              /* the line just read */
	int error_line;        /* the first failure's line, 0: none */
	int long_line;         /* the line just read did not fit */
	const char *store_key; /* "url" or "path", the key of [store] that named the store */
	int store_line;        /* its line */
	char error[512];
};

/* Records the first failure (the handler goes on: inih reports the first line). */
static int fail(struct parse *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int fail(struct parse *p, const char *fmt, ...)
{
	if (p->error_line != 0)
		return 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->error_line = p->line;
	return 0;
}

/*
 * inih's line reader: counts lines, and swallows the rest of a line longer
 * than the buffer (recording the failure) so that counting stays right.
 */
static char *read_line(char *buf, int size, void *stream)
{
	struct parse *p = stream;
	if (fgets(buf, size, p->f) == NULL)
		return NULL;
	p->line++;
	size_t n = strlen(buf);
	if (n > 0 && buf[n - 1] != '\n' && !feof(p->f)) {
		int ch;
		while ((ch = fgetc(p->f)) != EOF && ch != '\n')
			;
		fail(p, "the line is longer than %d bytes", size - 1);
		buf[0] = '\0'; /* an empty line: inih moves on */
	}
	return buf;
}

/* Copies a path of the file into *field, relative ones taken from the file's directory. */
static int set_path(struct parse *p, char **field, const char *key, const char *value)
{
	char joined[PATH_MAX];
	if (value[0] == '\0')
		return fail(p, "%s is empty", key);
	if (value[0] != '/' && strcmp(p->dir, ".") != 0) {
		int n = snprintf(joined, sizeof(joined), "%s/%s", p->dir, value);
		if (n < 0 || (size_t)n >= sizeof(joined))
			return fail(p, "%s: the path is too long", key);
		value = joined;
	}
	if (field == NULL) {
		long twice = stw__cli_config_find_load(p->c, value);
		if (twice >= 0)
			return fail(p, "[definitions] load: %s is listed twice (line %d)", value,
				    p->c->load_line[twice]);
		return stw__cli_config_add_load(p->c, value, p->line) == 0
			   ? 1
			   : fail(p, "out of memory");
	}
	return stw__cli_config_set(field, value) == 0 ? 1 : fail(p, "out of memory");
}

/*
 * [store] url (or path): a path or "sqlite:PATH..." has its path taken from
 * the file's directory when relative; a server's URL is kept as it is.
 */
static int set_store(struct parse *p, const char *key, const char *value)
{
	char path[PATH_MAX], joined[PATH_MAX + 16];
	if (value[0] == '\0')
		return fail(p, "[store] %s is empty", key);
	int file = stw__cli_store_file(value, path, sizeof path);
	if (file && strncmp(value, "sqlite:", 7) != 0)
		return set_path(p, &p->c->store, key, value);
	if (file && path[0] != '/' && strcmp(path, ":memory:") != 0 && strcmp(p->dir, ".") != 0) {
		int n = snprintf(joined, sizeof(joined), "sqlite:%s/%s", p->dir, value + 7);
		if (n < 0 || (size_t)n >= sizeof(joined))
			return fail(p, "[store] %s: the path is too long", key);
		value = joined;
	}
	return stw__cli_config_set(&p->c->store, value) == 0 ? 1 : fail(p, "out of memory");
}

/* A number key of a remote section. */
static int set_number(struct parse *p, const char *section, const char *key, const char *value,
		      long long min, long long max, long long *out)
{
	if (stw__cli_config_number(value, min, max, out) != 0)
		return fail(p, "[%s] %s: '%s' is not a whole number from %lld to %lld", section,
			    key, value, min, max);
	return 1;
}

/*
 * The section name of a remote ("remote Billing" or "remote \"Billing\"")
 * written into name; 0 if the section is not a remote, -1 if it is one with a
 * bad name.
 */
static int remote_section(const char *section, char *name, size_t cap)
{
	if (strncmp(section, "remote", 6) != 0 || (section[6] != ' ' && section[6] != '\t'))
		return 0;
	const char *s = section + 6;
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= cap)
		return -1;
	memcpy(name, s, n);
	name[n] = '\0';
	return valid_name(name) ? 1 : -1;
}

static int on_remote_key(struct parse *p, const char *section, const char *name, const char *key,
			 const char *value)
{
	struct stw__cli_serve_remote *r = remote(p->c, name);
	long long v = 0;
	int ok;
	if (r == NULL)
		return fail(p, "out of memory");
	if (strcmp(key, "url") == 0) {
		if (!valid_url(value))
			return fail(p, "[%s] url: '%s' does not start with http:// or https://",
				    section, value);
		return stw__cli_config_set(&r->url, value) == 0 ? 1 : fail(p, "out of memory");
	}
	if (strcmp(key, "token_file") == 0)
		return set_path(p, &r->token_file, "token_file", value);
	if (strcmp(key, "connect_timeout_ms") == 0) {
		if ((ok = set_number(p, section, key, value, 1, MAX_TIMEOUT_MS, &v)) == 1)
			r->connect_timeout_ms = (long)v;
		return ok;
	}
	if (strcmp(key, "timeout_ms") == 0) {
		if ((ok = set_number(p, section, key, value, 1, MAX_TIMEOUT_MS, &v)) == 1)
			r->timeout_ms = (long)v;
		return ok;
	}
	if (strcmp(key, "max_attempts") == 0) {
		if ((ok = set_number(p, section, key, value, 1, MAX_ATTEMPTS, &v)) == 1)
			r->max_attempts = (int)v;
		return ok;
	}
	if (strcmp(key, "backoff_ms") == 0) {
		if ((ok = set_number(p, section, key, value, 1, MAX_BACKOFF_MS, &v)) == 1)
			r->backoff_ms = v;
		return ok;
	}
	if (strcmp(key, "backoff_max_ms") == 0) {
		if ((ok = set_number(p, section, key, value, 1, MAX_BACKOFF_MS, &v)) == 1)
			r->backoff_max_ms = v;
		return ok;
	}
	return fail(p,
		    "[%s] has no key '%s' (url, token_file, connect_timeout_ms, timeout_ms, "
		    "max_attempts, backoff_ms, backoff_max_ms)",
		    section, key);
}

/* inih's handler: one key = value of one section. Returns 1, or 0 on failure. */
static int on_key(void *ud, const char *section, const char *key, const char *value)
{
	struct parse *p = ud;
	char name[STW_MAX_NAME];
	if (strcmp(section, "server") == 0) {
		if (strcmp(key, "listen") == 0) {
			char why[256];
			if (value[0] == '\0')
				return fail(p, "[server] listen is empty (off: no HTTP server)");
			if (stw__cli_config_listen(value, why, sizeof(why)) != 0)
				return fail(p, "[server] listen: %s", why);
			return stw__cli_config_set(&p->c->listen, value) == 0
				   ? 1
				   : fail(p, "out of memory");
		}
		if (strcmp(key, "token_file") == 0)
			return set_path(p, &p->c->token_file, "token_file", value);
		if (strcmp(key, "stuck_after") == 0) {
			long long v = 0;
			int ok =
			    set_number(p, section, key, value, 1, STW__CLI_MAX_STUCK_AFTER_S, &v);
			if (ok == 1)
				p->c->stuck_after_s = v;
			return ok;
		}
		return fail(p, "[server] has no key '%s' (listen, token_file, stuck_after)", key);
	}
	if (strcmp(section, "store") == 0) {
		if (strcmp(key, "url") == 0 || strcmp(key, "path") == 0) {
			const char *k = key[0] == 'u' ? "url" : "path";
			if (p->store_key != NULL && strcmp(p->store_key, k) != 0)
				return fail(p,
					    "[store] %s and %s (line %d) are both set: give url "
					    "only (path is its older name)",
					    k, p->store_key, p->store_line);
			p->store_key = k;
			p->store_line = p->line;
			return set_store(p, k, value);
		}
		if (strcmp(key, "synchronous") == 0) {
			if (stw__cli_config_synchronous(value, &p->c->synchronous) != 0)
				return fail(p,
					    "[store] synchronous: '%s' is not full, normal or off",
					    value);
			return 1;
		}
		if (strcmp(key, "wait") == 0) {
			if (stw__cli_config_duration(value, &p->c->store_wait_ms) != 0)
				return fail(
				    p,
				    "[store] wait: '%s' is not a duration (a whole number and "
				    "ms, s, m, h or d, as 60s; or off)",
				    value);
			return 1;
		}
		return fail(
		    p,
		    "[store] has no key '%s' (url, synchronous, wait; path: the older name of url)",
		    key);
	}
	if (strcmp(section, "contexts") == 0) {
		char why[256];
		if (strcmp(key, "accept") != 0)
			return fail(p, "[contexts] has no key '%s' (accept)", key);
		if (stw__cli_config_accept(p->c, value, why, sizeof(why)) != 0)
			return fail(p, "[contexts] accept: %s", why);
		return 1;
	}
	if (strcmp(section, "definitions") == 0) {
		if (strcmp(key, "load") == 0)
			return set_path(p, NULL, "load", value);
		return fail(p, "[definitions] has no key '%s' (load)", key);
	}
	if (strcmp(section, "http") == 0) {
		char why[256];
		int k = stw__cli_config_http_key(key);
		if (k < 0)
			return fail(p,
				    "[http] has no key '%s' (threads, max_connections, "
				    "max_connections_per_ip, read_timeout, max_streams)",
				    key);
		if (stw__cli_config_http(&p->c->http, (enum stw__cli_http_key)k, value, why,
					 sizeof(why)) != 0)
			return fail(p, "[http] %s: %s", key, why);
		return 1;
	}
	if (strcmp(section, "retention") == 0) {
		char why[256];
		int rc = stw__cli_config_retention(&p->c->retention, key, value, why, sizeof(why));
		if (rc == -2)
			return fail(p, "%s", why);
		return rc == 0 ? 1 : fail(p, "[retention] %s: %s", key, why);
	}
	if (strcmp(section, "cluster") == 0) {
		char why[256];
		int rc = stw__cli_config_cluster(&p->c->cluster, key, value, why, sizeof(why));
		if (rc == -2)
			return fail(p, "%s", why);
		return rc == 0 ? 1 : fail(p, "[cluster] %s: %s", key, why);
	}
	switch (remote_section(section, name, sizeof(name))) {
	case 1:
		return on_remote_key(p, section, name, key, value);
	case -1:
		return fail(p, "[%s]: the remote's name is not a context name", section);
	default:
		if (section[0] == '\0')
			return fail(p, "'%s' is outside any section", key);
		return fail(p,
			    "unknown section [%s] (server, store, definitions, contexts, http, "
			    "retention, cluster, remote NAME)",
			    section);
	}
}

int stw__cli_config_read_stream(struct stw__cli_serve_config *c, FILE *f, const char *path,
				char *err, size_t cap)
{
	struct parse p = { .c = c, .f = f, .path = path };
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		snprintf(p.dir, sizeof(p.dir), ".");
	else if (slash == path)
		snprintf(p.dir, sizeof(p.dir), "/");
	else
		snprintf(p.dir, sizeof(p.dir), "%.*s", (int)(slash - path), path);
	int rc = ini_parse_stream(read_line, &p, on_key, &p);
	if (ferror(f)) {
		snprintf(err, cap, "%s: cannot read", path);
		return -1;
	}
	if (rc > 0 && (p.error_line == 0 || rc < p.error_line)) {
		snprintf(err, cap, "%s:%d: syntax error (expected [section] or key = value)", path,
			 rc);
		return -1;
	}
	if (p.error_line != 0) {
		snprintf(err, cap, "%s:%d: %s", path, p.error_line, p.error);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, cap, "%s: cannot parse (out of memory)", path);
		return -1;
	}
	if (stw__cli_config_set(&c->file, path) != 0) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	return 0;
}

int stw__cli_config_read_file(struct stw__cli_serve_config *c, const char *path, char *err,
			      size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, cap, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	int rc = stw__cli_config_read_stream(c, f, path, err, cap);
	fclose(f);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Printing                                                                 */

/* Prints a URL without the password of its user part, if it has one. */
static void print_url(FILE *f, const char *url)
{
	const char *rest = strstr(url, "://");
	const char *at = rest ? strchr(rest + 3, '@') : NULL;
	const char *slash = rest ? strchr(rest + 3, '/') : NULL;
	if (at == NULL || (slash != NULL && slash < at)) {
		fputs(url, f);
		return;
	}
	fprintf(f, "%.*s***@%s", (int)(rest + 3 - url), url, at + 1);
}

void stw__cli_config_print(const struct stw__cli_serve_config *c, FILE *f)
{
	static const char *const sync_names[] = { "off", "normal", "full" };
	fprintf(f, "config       %s\n", c->file ? c->file : "(none)");
	fprintf(f, "listen       %s\n", c->listen ? c->listen : "127.0.0.1:8080");
	fprintf(f, "token_file   %s\n", c->token_file ? c->token_file : "(none: no token)");
	fprintf(f, "stuck_after  %lld s\n",
		c->stuck_after_s ? c->stuck_after_s : STW__CLI_STUCK_AFTER_S);
	char store[1024];
	stw_store_shown(c->store ? c->store : STW__CLI_DEFAULT_DB, store, sizeof store);
	fprintf(f, "store        %s\n", store);
	char path[8];
	const char *st = c->store ? c->store : STW__CLI_DEFAULT_DB;
	if (!stw__cli_store_file(st, path, sizeof path))
		fprintf(f, "synchronous  (SQLite's; the server's synchronous_commit applies)\n");
	else if (strncmp(st, "sqlite:", 7) == 0 && strstr(st, "synchronous=") != NULL)
		fprintf(f, "synchronous  (the store URL's)\n");
	else
		fprintf(f, "synchronous  %s\n",
			c->synchronous >= 0 ? sync_names[c->synchronous] : "full");
	fprintf(f, "store_wait   ");
	stw__cli_config_print_duration(f, c->store_wait_ms);
	fprintf(f, "\n");
	for (size_t i = 0; i < c->nload; i++)
		fprintf(f, "load         %s\n", c->load[i]);
	for (size_t i = 0; i < c->naccept; i++)
		fprintf(f, "accept       %s\n", c->accept[i]);
	stw__cli_config_http_print(&c->http, f);
	stw__cli_config_retention_print(&c->retention, f);
	stw__cli_config_cluster_print(&c->cluster, f);
	for (size_t i = 0; i < c->nremotes; i++) {
		const struct stw__cli_serve_remote *r = &c->remotes[i];
		fprintf(f, "remote       %s ", r->name);
		print_url(f, r->url ? r->url : "(no url)");
		fprintf(f, " token_file=%s", r->token_file ? r->token_file : "(none)");
		fprintf(f, " connect_timeout_ms=%ld timeout_ms=%ld max_attempts=%d",
			r->connect_timeout_ms ? r->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS,
			r->timeout_ms ? r->timeout_ms : DEFAULT_TIMEOUT_MS,
			r->max_attempts ? r->max_attempts : DEFAULT_MAX_ATTEMPTS);
		fprintf(
		    f, " backoff_ms=%lld backoff_max_ms=%lld\n",
		    (long long)(r->backoff_ms ? r->backoff_ms : DEFAULT_BACKOFF_MS),
		    (long long)(r->backoff_max_ms ? r->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS));
	}
}
