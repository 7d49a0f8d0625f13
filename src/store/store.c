/*
 * store.c - opening a store by its URL: the backends register here by
 * scheme, and a URL is shown without its password.
 */
#include "store/store.h"
#include "store/postgres.h"
#include "store/sqlite.h"

#include <steward.h>

#include <stdio.h>
#include <string.h>

/* The longest SQLite path taken from a URL. */
#define STW__STORE_PATH 4096

/* A backend's opener: `url` is the whole URL, `rest` what follows the scheme's ':'. */
typedef int (*open_fn)(const char *url, const char *rest, const struct stw__store_options *o,
		       struct stw__store **out, char *errbuf, size_t errcap);

/* Writes "open: <what>" into errbuf and returns code. */
static int refuse(char *errbuf, size_t errcap, int code, const char *what, const char *arg)
{
	if (errbuf != NULL && errcap > 0)
		snprintf(errbuf, errcap, "open: %s%s", what, arg != NULL ? arg : "");
	return code;
}

/* "off", "normal", "full" or 0..2 as SQLite's synchronous level; -1 if none of them. */
static int sync_level(const char *v, size_t n)
{
	static const char *const words[] = { "off", "normal", "full" };
	for (int i = 0; i < 3; i++)
		if ((n == strlen(words[i]) && strncmp(v, words[i], n) == 0) ||
		    (n == 1 && v[0] == '0' + i))
			return i;
	return -1;
}

/*
 * "sqlite:PATH[?synchronous=LEVEL]": the path, and the level taking the
 * place of the engine's option. A bare path comes here whole (rest == url),
 * with no settings: a '?' in it is part of the file's name.
 */
static int open_sqlite(const char *url, const char *rest, const struct stw__store_options *o,
		       struct stw__store **out, char *errbuf, size_t errcap)
{
	struct stw__sqlite_options so = { .synchronous = -1 };
	if (o != NULL && o->sqlite != NULL)
		so = *o->sqlite;
	if (o != NULL)
		so.read_only = o->read_only;
	const char *q = rest != url ? strchr(rest, '?') : NULL;
	size_t n = q != NULL ? (size_t)(q - rest) : strlen(rest);
	char path[STW__STORE_PATH];
	if (n == 0)
		return refuse(errbuf, errcap, STW_EINVAL, "no SQLite database path in the URL",
			      NULL);
	if (n >= sizeof path)
		return refuse(errbuf, errcap, STW_EINVAL, "the SQLite database path is too long",
			      NULL);
	memcpy(path, rest, n);
	path[n] = '\0';
	while (q != NULL) {
		const char *key = q + 1, *end = strchr(key, '&');
		size_t len = end != NULL ? (size_t)(end - key) : strlen(key);
		const char *eq = memchr(key, '=', len);
		int level = -1;
		if (eq != NULL && (size_t)(eq - key) == strlen("synchronous") &&
		    strncmp(key, "synchronous", (size_t)(eq - key)) == 0)
			level = sync_level(eq + 1, len - (size_t)(eq - key) - 1);
		if (level < 0)
			return refuse(errbuf, errcap, STW_EINVAL,
				      "the SQLite URL takes only synchronous=off|normal|full, not ",
				      key);
		so.synchronous = level;
		q = end;
	}
	return stw__sqlite_open(path, &so, out, errbuf, errcap);
}

#ifdef STW_HAVE_POSTGRES
/* A libpq connection URI, passed on whole (libpq reads both schemes). */
static int open_postgres(const char *url, const char *rest, const struct stw__store_options *o,
			 struct stw__store **out, char *errbuf, size_t errcap)
{
	(void)rest;
	return stw__postgres_open(url, o != NULL && o->read_only, out, errbuf, errcap);
}
#endif

/* The backends, by the scheme of their URLs. */
static const struct backend {
	const char *scheme;
	open_fn open;
} backends[] = {
	{ "sqlite", open_sqlite },
#ifdef STW_HAVE_POSTGRES
	{ "postgres", open_postgres },
	{ "postgresql", open_postgres },
#endif
};

/*
 * The length of the URL's scheme ("x" of "x:..."), when it has one of the
 * form letter (letter | digit | + | - | .)* followed by ':'; else 0.
 */
static size_t scheme_len(const char *url)
{
	size_t n = 0;
	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	while (url[n] != '\0' && url[n] != ':') {
		char c = url[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '-' || c == '.'))
			return 0;
		n++;
	}
	return url[n] == ':' ? n : 0;
}

int stw__store_open(const char *url, const struct stw__store_options *o, struct stw__store **out,
		    char *errbuf, size_t errcap)
{
	if (out != NULL)
		*out = NULL;
	if (url == NULL || *url == '\0' || out == NULL)
		return refuse(errbuf, errcap, STW_EINVAL, "a store URL and out are required", NULL);
	size_t n = scheme_len(url);
	for (size_t i = 0; n > 0 && i < sizeof backends / sizeof backends[0]; i++)
		if (strlen(backends[i].scheme) == n && strncmp(url, backends[i].scheme, n) == 0)
			return backends[i].open(url, url + n + 1, o, out, errbuf, errcap);
	/* "name://" names a kind of store this build does not have; anything else is a path. */
	if (n > 0 && strncmp(url + n, "://", 3) == 0) {
		char scheme[32];
		snprintf(scheme, sizeof scheme, "%.*s", (int)(n < 24 ? n : 24), url);
		if (strcmp(scheme, "postgres") == 0 || strcmp(scheme, "postgresql") == 0)
			return refuse(errbuf, errcap, STW_EINVAL,
				      "this build has no PostgreSQL store", NULL);
		return refuse(errbuf, errcap, STW_EINVAL, "unknown kind of store: ", scheme);
	}
	return open_sqlite(url, url, o, out, errbuf, errcap);
}

/* Appends n bytes of s to buf (cap bytes, *at used), truncating; keeps it terminated. */
static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
	if (*at + 1 >= cap)
		return;
	if (n > cap - 1 - *at)
		n = cap - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

void stw__store_shown(const char *url, char *buf, size_t cap)
{
	if (buf == NULL || cap == 0)
		return;
	buf[0] = '\0';
	if (url == NULL)
		return;
	size_t at = 0;
	const char *p = url;
	const char *auth = strstr(url, "://");
	if (auth != NULL && scheme_len(url) > 0) {
		/* The user part ends at the last '@' before the path or the query. */
		auth += 3;
		size_t alen = strcspn(auth, "/?#");
		const char *at_sign = NULL;
		for (const char *c = auth; c < auth + alen; c++)
			if (*c == '@')
				at_sign = c;
		const char *colon =
		    at_sign != NULL ? memchr(auth, ':', (size_t)(at_sign - auth)) : NULL;
		if (colon != NULL) {
			put(buf, cap, &at, url, (size_t)(colon - url));
			put(buf, cap, &at, ":***", 4);
			p = at_sign;
		}
	}
	/* Parameters named password, in the query of a URI. */
	const char *q = strchr(p, '?');
	if (q == NULL) {
		put(buf, cap, &at, p, strlen(p));
		return;
	}
	put(buf, cap, &at, p, (size_t)(q - p));
	while (*q != '\0') {
		size_t len = 1 + strcspn(q + 1, "&");
		if (strncmp(q + 1, "password=", 9) == 0) {
			put(buf, cap, &at, q, 10);
			put(buf, cap, &at, "***", 3);
		} else {
			put(buf, cap, &at, q, len);
		}
		q += len;
	}
}
