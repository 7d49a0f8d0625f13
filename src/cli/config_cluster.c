/*
 * config_cluster.c - the [cluster] section of steward serve's settings
 * (config.h): whether the worker joins the store's cluster, its id, the
 * lease and renewal times, the partitions of a new cluster, how many
 * partitions move per renewal, and the audit of fenced commits
 * (docs/OPERATIONS.md, "A cluster").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A switch: on, off, true, false, yes, no, 1, 0. Returns 0 with *out, or -1. */
static int parse_switch(const char *v, int *out)
{
	static const char *const on[] = { "on", "true", "yes", "1" };
	static const char *const off[] = { "off", "false", "no", "0" };
	for (size_t i = 0; i < sizeof on / sizeof on[0]; i++) {
		if (strcmp(v, on[i]) == 0)
			return *out = 1, 0;
		if (strcmp(v, off[i]) == 0)
			return *out = 0, 0;
	}
	return -1;
}

/* A whole number from lo to hi. Returns 0 with *out, or -1. */
static int parse_int(const char *v, long lo, long hi, int *out)
{
	char *end = NULL;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

int stw__cli_config_cluster(struct stw__cli_cluster *c, const char *key, const char *value,
			    char *err, size_t cap)
{
	if (strcmp(key, "enabled") == 0 || strcmp(key, "audit") == 0) {
		if (parse_switch(value, strcmp(key, "audit") == 0 ? &c->audit : &c->enabled) == 0)
			return 0;
		snprintf(err, cap, "'%s' is not on or off", value);
		return -1;
	}
	if (strcmp(key, "worker") == 0) {
		size_t n = strlen(value);
		int ok = n > 0 && n <= 100;
		for (const char *p = value; ok && *p; p++)
			ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("._:@-", *p) != NULL;
		if (!ok) {
			snprintf(err, cap,
				 "'%.100s' is not a worker id (1 to 100 letters, digits or ._:@-)",
				 value);
			return -1;
		}
		snprintf(c->worker, sizeof c->worker, "%s", value);
		return 0;
	}
	if (strcmp(key, "lease") == 0 || strcmp(key, "renew") == 0) {
		int64_t *field = strcmp(key, "lease") == 0 ? &c->lease_ms : &c->renew_ms;
		if (stw__cli_config_duration(value, field) == 0 && *field >= 100 &&
		    *field <= 3600 * 1000)
			return 0;
		snprintf(err, cap, "'%s' is not a duration from 100ms to 1h (as 8s)", value);
		return -1;
	}
	if (strcmp(key, "partitions") == 0 || strcmp(key, "moves") == 0) {
		int hi = 1024;
		if (parse_int(value, 1, hi,
			      strcmp(key, "partitions") == 0 ? &c->partitions : &c->moves) == 0)
			return 0;
		snprintf(err, cap, "'%s' is not a whole number from 1 to %d", value, hi);
		return -1;
	}
	snprintf(err, cap,
		 "[cluster] has no key '%s' (enabled, worker, lease, renew, partitions, moves, "
		 "audit)",
		 key);
	return -2;
}

void stw__cli_config_cluster_print(const struct stw__cli_cluster *c, FILE *f)
{
	if (!c->enabled) {
		fprintf(f, "cluster      off\n");
		return;
	}
	fprintf(f, "cluster      worker=%s lease=", c->worker[0] ? c->worker : "(host:pid)");
	stw__cli_config_print_duration(f, c->lease_ms > 0 ? c->lease_ms : 8000);
	fprintf(f, " renew=");
	stw__cli_config_print_duration(f, c->renew_ms > 0 ? c->renew_ms : 2000);
	fprintf(f, " partitions=");
	if (c->partitions > 0)
		fprintf(f, "%d", c->partitions);
	else
		fprintf(f, "(the store's)");
	fprintf(f, " moves=%d audit=%s\n", c->moves > 0 ? c->moves : 8, c->audit ? "on" : "off");
}
