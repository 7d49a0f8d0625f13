/*
 * client.c - one HTTP request with libcurl (see client.h).
 */
#include "http/client.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_code = CURLE_FAILED_INIT;

static void global_init(void)
{
	global_code = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int stw__http_global_init(void)
{
	pthread_once(&global_once, global_init);
	return global_code == CURLE_OK ? 0 : -1;
}

/*
 * libcurl's write callback: appends to the answer, up to max_answer bytes;
 * past that (or out of memory) it stops the transfer.
 */
static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct stw__http_call *c = ud;
	size_t add = size * n;
	if (add > c->max_answer - c->len) {
		c->too_large = 1;
		return 0;
	}
	char *grown = realloc(c->answer, c->len + add + 1);
	if (grown == NULL)
		return 0;
	c->answer = grown;
	memcpy(c->answer + c->len, p, add);
	c->len += add;
	c->answer[c->len] = '\0';
	return add;
}

int stw__http_call_init(struct stw__http_call *c, const struct stw__http_call_options *o)
{
	memset(c, 0, sizeof(*c));
	c->max_answer = o->max_answer;
	CURL *h = c->easy = curl_easy_init();
	if (h == NULL)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, o->url);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_USERAGENT, "steward/" STW_VERSION_STRING);
	if (o->path_as_is)
		curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	return 0;
}

/* Adds "<name>: <prefix><value>"; libcurl copies the line and ours is wiped. */
static int add_header(struct stw__http_call *c, const char *name, const char *prefix,
		      const char *value)
{
	size_t cap = strlen(name) + strlen(prefix) + strlen(value) + 3;
	char *line = malloc(cap);
	if (line == NULL)
		return -1;
	snprintf(line, cap, "%s: %s%s", name, prefix, value);
	struct curl_slist *l = curl_slist_append(c->headers, line);
	explicit_bzero(line, cap);
	free(line);
	if (l == NULL)
		return -1;
	c->headers = l;
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	return 0;
}

int stw__http_call_header(struct stw__http_call *c, const char *name, const char *value)
{
	return add_header(c, name, "", value);
}

int stw__http_call_bearer(struct stw__http_call *c, const char *token)
{
	return add_header(c, "Authorization", "Bearer ", token);
}

void stw__http_call_post(struct stw__http_call *c, const char *body, size_t len)
{
	curl_easy_setopt(c->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)len);
}

CURLcode stw__http_call_perform(struct stw__http_call *c)
{
	return curl_easy_perform(c->easy);
}

long stw__http_call_status(const struct stw__http_call *c)
{
	long status = 0;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

const char *stw__http_call_error(const struct stw__http_call *c, CURLcode code)
{
	return c->errbuf[0] ? c->errbuf : curl_easy_strerror(code);
}

void stw__http_call_cleanup(struct stw__http_call *c)
{
	curl_slist_free_all(c->headers);
	curl_easy_cleanup(c->easy);
	free(c->answer);
	memset(c, 0, sizeof(*c));
}
