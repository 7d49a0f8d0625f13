/*
 * args.c - parsing the command line of the inspection and operation
 * commands, and deciding where they work (see args.h).
 */
#include "args.h"
#include "config.h"
#include "daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int has_arg;
} options[STW__CLI_OPT_COUNT] = {
	[STW__CLI_OPT_STORE] = { "store", 1 },
	[STW__CLI_OPT_DB] = { "db", 1 },
	[STW__CLI_OPT_URL] = { "url", 1 },
	[STW__CLI_OPT_TOKEN_FILE] = { "token-file", 1 },
	[STW__CLI_OPT_JSON] = { "json", 0 },
	[STW__CLI_OPT_HELP] = { "help", 0 },
	[STW__CLI_OPT_DEFINITION] = { "definition", 1 },
	[STW__CLI_OPT_STATUS] = { "status", 1 },
	[STW__CLI_OPT_STATE] = { "state", 1 },
	[STW__CLI_OPT_LIMIT] = { "limit", 1 },
	[STW__CLI_OPT_OFFSET] = { "offset", 1 },
	[STW__CLI_OPT_AFTER] = { "after", 1 },
	[STW__CLI_OPT_NOTE] = { "note", 1 },
	[STW__CLI_OPT_ID] = { "id", 1 },
	[STW__CLI_OPT_CORRELATION] = { "correlation-id", 1 },
	[STW__CLI_OPT_LOAD] = { "load", 1 },
	[STW__CLI_OPT_STUCK] = { "stuck", 0 },
	[STW__CLI_OPT_STUCK_FOR] = { "stuck-for", 1 },
	[STW__CLI_OPT_VERSION] = { "version", 1 },
	[STW__CLI_OPT_FROM] = { "from", 1 },
	[STW__CLI_OPT_TO] = { "to", 1 },
	[STW__CLI_OPT_DRY_RUN] = { "dry-run", 0 },
	[STW__CLI_OPT_INSTANCE] = { "instance", 1 },
};

void stw__cli_usage_error(const struct stw__cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "steward %s: ", c->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'steward %s --help')\n", c->cmd->name);
}

int stw__cli_parse_args(struct stw__cli *c, int argc, char **argv)
{
	char eb[STW__CLI_SHOWN_CAP];
	int only_pos = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (c->npos == STW__CLI_MAX_POS) {
				stw__cli_usage_error(c, "unexpected argument '%s'",
						     stw__cli_shown(eb, a));
				return 2;
			}
			c->pos[c->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		int o = -1;
		const char *inline_val = NULL;
		if (strcmp(a, "-h") == 0) {
			o = STW__CLI_OPT_HELP;
		} else if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			for (int k = 0; k < STW__CLI_OPT_COUNT; k++)
				if (strlen(options[k].name) == len &&
				    strncmp(options[k].name, name, len) == 0)
					o = k;
			inline_val = eq ? eq + 1 : NULL;
		}
		if (o < 0 || !(c->cmd->opts & STW__CLI_BIT(o))) {
			stw__cli_usage_error(c, "unknown option '%s'", stw__cli_shown(eb, a));
			return 2;
		}
		if (!options[o].has_arg) {
			if (inline_val != NULL) {
				stw__cli_usage_error(c, "option '--%s' takes no argument",
						     options[o].name);
				return 2;
			}
			c->val[o] = "";
		} else if (inline_val != NULL) {
			c->val[o] = inline_val;
		} else if (i + 1 < argc) {
			c->val[o] = argv[++i];
		} else {
			stw__cli_usage_error(c, "option '--%s' needs an argument", options[o].name);
			return 2;
		}
		if (o == STW__CLI_OPT_LOAD && c->nload == STW__CLI_MAX_LOAD) {
			stw__cli_usage_error(c, "at most %d plugins (--load)", STW__CLI_MAX_LOAD);
			return 2;
		}
		if (o == STW__CLI_OPT_LOAD)
			c->load[c->nload++] = c->val[o];
	}
	return 0;
}

int stw__cli_opt_int(const struct stw__cli *c, enum stw__cli_opt o, long long lo, long long hi,
		     long long def, long long *out)
{
	const char *v = c->val[o];
	*out = def;
	if (v == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
		char eb[STW__CLI_SHOWN_CAP];
		stw__cli_usage_error(c, "--%s needs an integer from %lld to %lld, not '%s'",
				     options[o].name, lo, hi, stw__cli_shown(eb, v));
		return 2;
	}
	*out = n;
	return 0;
}

int stw__cli_check_len(const struct stw__cli *c, const char *what, const char *s, size_t max)
{
	if (s == NULL)
		return 0;
	if (*s == '\0') {
		stw__cli_usage_error(c, "%s must not be empty", what);
		return 2;
	}
	if (strlen(s) >= max) {
		stw__cli_usage_error(c, "%s is longer than %zu bytes", what, max - 1);
		return 2;
	}
	return 0;
}

int stw__cli_check_note(const struct stw__cli *c, const char *note)
{
	if (note != NULL && strlen(note) > STW__CLI_MAX_NOTE) {
		stw__cli_usage_error(c, "--note is longer than %d bytes", STW__CLI_MAX_NOTE);
		return 2;
	}
	return 0;
}

int stw__cli_resolve_target(struct stw__cli *c)
{
	const char *url = c->val[STW__CLI_OPT_URL], *db = c->val[STW__CLI_OPT_STORE];
	const char *db_opt = "--store";
	char eb[STW__CLI_SHOWN_CAP];
	if (db != NULL && c->val[STW__CLI_OPT_DB] != NULL) {
		stw__cli_usage_error(c, "give --store or --db (its older name), not both");
		return 2;
	}
	if (db == NULL && (db = c->val[STW__CLI_OPT_DB]) != NULL)
		db_opt = "--db";
	if (url != NULL && db != NULL) {
		stw__cli_usage_error(c, "give either %s or --url, not both", db_opt);
		return 2;
	}
	if (url == NULL && db == NULL) {
		const char *env = getenv("STEWARD_URL");
		if (env != NULL && *env != '\0') {
			url = env;
			c->url_env = 1;
		}
	}
	if (url == NULL && c->val[STW__CLI_OPT_TOKEN_FILE] != NULL) {
		stw__cli_usage_error(c, "--token-file goes with --url (or STEWARD_URL)");
		return 2;
	}
	if (url != NULL && c->nload > 0) {
		stw__cli_usage_error(c, "--load goes with --store (a daemon has its own plugins)");
		return 2;
	}
	for (int i = 0; i < c->nload; i++)
		for (int j = 0; j < i; j++)
			if (stw__cli_same_file(c->load[j], c->load[i])) {
				stw__cli_usage_error(c, "--load %s: the plugin is listed twice",
						     stw__cli_shown(eb, c->load[i]));
				return 2;
			}
	if (url == NULL) {
		c->db = db ? db : STW__CLI_DEFAULT_DB;
		if (*c->db == '\0') {
			stw__cli_usage_error(c, "%s needs a path or URL", db_opt);
			return 2;
		}
		return 0;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		stw__cli_usage_error(c, "%s must be an http:// or https:// URL, not '%s'",
				     c->url_env ? "STEWARD_URL" : "--url", stw__cli_shown(eb, url));
		return 2;
	}
	c->url = strdup(url);
	if (c->url == NULL) {
		stw__cli_error("out of memory");
		return 1;
	}
	size_t n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	return stw__cli_daemon_token(c->val[STW__CLI_OPT_TOKEN_FILE], &c->token);
}
