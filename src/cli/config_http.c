/*
 * config_http.c - the [http] section of steward serve's settings (config.h):
 * the HTTP server's limits, each also a flag (--http-threads, ...), their
 * ranges and defaults (http/server.h), and how the settings print them.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http/server.h"

/* The keys of [http]: names, ranges, defaults (http/server.h) and where each goes. */
static const struct http_key {
	const char *key, *flag;
	long long min, max;
	int zero_no_cap; /* a setting of 0 means no cap (stored as -1) */
	int def;
	size_t at; /* offsetof the field in struct stw__cli_http_limits */
} http_keys[STW__CLI_HTTP_NKEYS] = {
	[STW__CLI_HTTP_THREADS] = { "threads", "http-threads", 1, STW_HTTP_THREADS_MAX, 0,
				    STW_HTTP_THREADS,
				    offsetof(struct stw__cli_http_limits, threads) },
	[STW__CLI_HTTP_MAX_CONNECTIONS] = { "max_connections", "max-connections", 1,
					    STW_HTTP_CONNECTIONS_MAX, 0, STW_HTTP_MAX_CONNECTIONS,
					    offsetof(struct stw__cli_http_limits,
						     max_connections) },
	[STW__CLI_HTTP_MAX_PER_IP] = { "max_connections_per_ip", "max-connections-per-ip", 0,
				       STW_HTTP_CONNECTIONS_MAX, 1, STW_HTTP_MAX_PER_IP,
				       offsetof(struct stw__cli_http_limits, max_per_ip) },
	[STW__CLI_HTTP_READ_TIMEOUT] = { "read_timeout", "read-timeout", 1,
					 STW_HTTP_READ_TIMEOUT_MAX, 0, STW_HTTP_READ_TIMEOUT_S,
					 offsetof(struct stw__cli_http_limits, read_timeout_s) },
	[STW__CLI_HTTP_MAX_STREAMS] = { "max_streams", "max-streams", 0, STW_HTTP_CONNECTIONS_MAX,
					1, STW_HTTP_MAX_STREAMS,
					offsetof(struct stw__cli_http_limits, max_streams) },
};

/* Limit k of *l. */
static int *http_field(struct stw__cli_http_limits *l, int k)
{
	return (int *)((char *)l + http_keys[k].at);
}

int stw__cli_config_http_key(const char *name)
{
	for (int k = 0; k < STW__CLI_HTTP_NKEYS; k++)
		if (strcmp(http_keys[k].key, name) == 0)
			return k;
	return -1;
}

const char *stw__cli_config_http_name(enum stw__cli_http_key k, int flag)
{
	return flag ? http_keys[k].flag : http_keys[k].key;
}

int stw__cli_config_http(struct stw__cli_http_limits *l, enum stw__cli_http_key k,
			 const char *value, char *err, size_t cap)
{
	const struct http_key *d = &http_keys[k];
	long long v = 0;
	if (stw__cli_config_number(value, d->min, d->max, &v) != 0) {
		snprintf(err, cap, "'%s' is not a whole number from %lld to %lld%s", value, d->min,
			 d->max, d->zero_no_cap ? " (0: no cap)" : "");
		return -1;
	}
	*http_field(l, k) = v == 0 && d->zero_no_cap ? -1 : (int)v;
	return 0;
}

int stw__cli_config_http_flag(struct stw__cli_http_limits *l, int opt, int base, const char *value)
{
	char err[256];
	enum stw__cli_http_key k = (enum stw__cli_http_key)(opt - base);
	if (stw__cli_config_http(l, k, value, err, sizeof(err)) != 0) {
		fprintf(stderr, "steward: --%s: %s\n", http_keys[k].flag, err);
		return -1;
	}
	return 0;
}

void stw__cli_config_http_over(struct stw__cli_http_limits *l,
			       const struct stw__cli_http_limits *over)
{
	struct stw__cli_http_limits o = *over;
	for (int k = 0; k < STW__CLI_HTTP_NKEYS; k++)
		if (*http_field(&o, k) != 0)
			*http_field(l, k) = *http_field(&o, k);
}

void stw__cli_config_http_usage(FILE *f)
{
	fprintf(f,
		"  --http-threads N  threads serving HTTP connections (default %d)\n"
		"  --max-connections N  HTTP connections open at once (default %d)\n"
		"  --max-connections-per-ip N  of one client address (default %d; 0: no cap)\n"
		"  --read-timeout SECONDS  time a request has to arrive whole, headers and body\n"
		"                    (default %d)\n"
		"  --max-streams N   live streams (/api/stream) open at once (default %d; 0: no\n"
		"                    cap)\n",
		STW_HTTP_THREADS, STW_HTTP_MAX_CONNECTIONS, STW_HTTP_MAX_PER_IP,
		STW_HTTP_READ_TIMEOUT_S, STW_HTTP_MAX_STREAMS);
}

void stw__cli_config_http_print(const struct stw__cli_http_limits *l, FILE *f)
{
	struct stw__cli_http_limits copy = *l;
	for (int k = 0; k < STW__CLI_HTTP_NKEYS; k++) {
		int v = *http_field(&copy, k);
		if (v < 0)
			fprintf(f, "%-23s no cap\n", http_keys[k].key);
		else
			fprintf(f, "%-23s %d\n", http_keys[k].key, v ? v : http_keys[k].def);
	}
}
