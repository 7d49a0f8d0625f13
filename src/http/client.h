/*
 * client.h - one HTTP request made with libcurl, the way Steward makes them
 * both to a daemon's API (the steward program's --url commands) and to the
 * services of remote contexts (transport.c): http and https only, no
 * redirects, time-outs, no signals, the answer's body kept up to a size cap,
 * and one text for a failure.
 *
 * A call is set up with stw__http_call_init, given headers and a body, then
 * performed on its own (stw__http_call_perform) or added to a libcurl multi
 * handle (its `easy` handle), and released with stw__http_call_cleanup. A
 * call belongs to one thread at a time; calls on different threads are
 * independent (libcurl is initialised once for the process).
 */
#ifndef STW_HTTP_CLIENT_H
#define STW_HTTP_CLIENT_H

#include <stddef.h>

#include <curl/curl.h>

struct stw__http_call_options {
	const char *url;         /* required; copied by libcurl */
	long connect_timeout_ms; /* the connection's time-out */
	long timeout_ms;         /* the whole request's time-out */
	size_t max_answer;       /* bytes of body accepted; a larger one stops the transfer */
	int path_as_is;          /* send the URL's path as it is (no "/../" squashing) */
};

struct stw__http_call {
	CURL *easy;                 /* the libcurl handle (for a multi handle, CURLOPT_PRIVATE) */
	struct curl_slist *headers; /* request headers, owned */
	char *answer;               /* the body received, NUL-terminated; NULL while empty; owned */
	size_t len;                 /* its length */
	size_t max_answer;
	int too_large;                /* the answer passed max_answer and was cut off */
	char errbuf[CURL_ERROR_SIZE]; /* libcurl's message about a failure */
};

/*
 * Initialises libcurl for the process, once (thread-safe). Returns 0, or -1
 * when libcurl cannot be initialised.
 */
int stw__http_global_init(void);

/*
 * Sets up a call of o->url (stw__http_global_init must have succeeded).
 * libcurl keeps pointers into *c, so the call must stay where it is until
 * it is cleaned up. Returns 0, or -1 when out of memory; either way release
 * it with stw__http_call_cleanup.
 */
int stw__http_call_init(struct stw__http_call *c, const struct stw__http_call_options *o);

/*
 * Adds the header "name: value" (copied; the copy this makes is wiped, as
 * a value may be a token). Returns 0, or -1 when out of memory.
 */
int stw__http_call_header(struct stw__http_call *c, const char *name, const char *value);

/* Adds "Authorization: Bearer TOKEN" (copied, wiped as above). Returns 0 or -1. */
int stw__http_call_bearer(struct stw__http_call *c, const char *token);

/* Makes the call a POST of body (len bytes; borrowed: it must outlive the transfer). */
void stw__http_call_post(struct stw__http_call *c, const char *body, size_t len);

/* Performs the call on its own. Returns libcurl's code (CURLE_OK: an answer came). */
CURLcode stw__http_call_perform(struct stw__http_call *c);

/* The status of the answer (0 before one came). */
long stw__http_call_status(const struct stw__http_call *c);

/*
 * Why a call whose code is not CURLE_OK failed: libcurl's message, whole,
 * or the text of the code. Valid until the call is cleaned up.
 */
const char *stw__http_call_error(const struct stw__http_call *c, CURLcode code);

/* Releases what the call holds (not the struct). Accepts a call that failed to initialise. */
void stw__http_call_cleanup(struct stw__http_call *c);

#endif /* STW_HTTP_CLIENT_H */
