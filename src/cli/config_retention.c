/*
 * config_retention.c - the [retention] section of steward serve's settings
 * (config.h): how long ended instances and dedup records are kept, and how
 * often the worker runs a pass (stw_prune), read as durations ("30d").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest duration taken: ten years, in milliseconds. */
#define MAX_DURATION_MS (3660LL * 24 * 3600 * 1000)

/* The largest batch taken. */
#define MAX_BATCH 10000

int stw__cli_config_duration(const char *s, int64_t *ms)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 },
		      { "s", 1000 },
		      { "m", 60 * 1000 },
		      { "h", 3600 * 1000 },
		      { "d", 24 * 3600 * 1000 } };
	char buf[64];
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') { /* a quoted value, as in "30d" */
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (strcmp(buf, "off") == 0 || strcmp(buf, "0") == 0) {
		*ms = 0;
		return 0;
	}
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno != 0 || end == buf)
		return -1;
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (strcmp(end, units[i].unit) == 0) {
			if (v <= 0 || v > MAX_DURATION_MS / units[i].ms)
				return -1;
			*ms = v * units[i].ms;
			return 0;
		}
	return -1;
}

int stw__cli_config_retention(struct stw__cli_retention *r, const char *key, const char *value,
			      char *err, size_t cap)
{
	int64_t *field = strcmp(key, "keep_ended") == 0   ? &r->keep_ended_ms
			 : strcmp(key, "keep_dedup") == 0 ? &r->keep_dedup_ms
			 : strcmp(key, "every") == 0      ? &r->every_ms
							  : NULL;
	if (field != NULL) {
		int64_t ms = 0;
		if (stw__cli_config_duration(value, &ms) != 0 ||
		    (field == &r->every_ms && ms == 0)) {
			snprintf(err, cap,
				 "'%s' is not a duration (a whole number and ms, s, m, h or d, as "
				 "30d%s)",
				 value, field == &r->every_ms ? "" : "; off: kept for ever");
			return -1;
		}
		*field = ms;
		return 0;
	}
	if (strcmp(key, "batch") == 0) {
		char *end = NULL;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || errno != 0 || v < 1 || v > MAX_BATCH) {
			snprintf(err, cap, "'%s' is not a whole number from 1 to %d", value,
				 MAX_BATCH);
			return -1;
		}
		r->batch = (int)v;
		return 0;
	}
	snprintf(err, cap, "[retention] has no key '%s' (keep_ended, keep_dedup, every, batch)",
		 key);
	return -2;
}

/* A duration as the settings print it: the largest unit that divides it; 0 (or less): off. */
void stw__cli_config_print_duration(FILE *f, int64_t ms)
{
	if (ms <= 0) {
		fprintf(f, "off");
		return;
	}
	static const struct {
		const char *unit;
		long long ms;
	} units[] = {
		{ "d", 24 * 3600 * 1000 }, { "h", 3600 * 1000 }, { "m", 60 * 1000 }, { "s", 1000 }
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ms % units[i].ms == 0) {
			fprintf(f, "%lld%s", (long long)(ms / units[i].ms), units[i].unit);
			return;
		}
	fprintf(f, "%lldms", (long long)ms);
}

void stw__cli_config_retention_print(const struct stw__cli_retention *r, FILE *f)
{
	if (!stw__cli_retention_on(r)) {
		fprintf(f, "retention    off\n");
		return;
	}
	fprintf(f, "retention    keep_ended=");
	stw__cli_config_print_duration(f, r->keep_ended_ms);
	fprintf(f, " keep_dedup=");
	stw__cli_config_print_duration(f, r->keep_dedup_ms);
	fprintf(f, " every=");
	stw__cli_config_print_duration(f,
				       r->every_ms > 0 ? r->every_ms : STW__CLI_RETENTION_EVERY_MS);
	fprintf(f, " batch=%d\n", r->batch > 0 ? r->batch : STW__CLI_RETENTION_BATCH);
}
