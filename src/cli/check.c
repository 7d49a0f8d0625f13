/*
 * check.c - `steward check`: loads plugins on a scratch engine and prints
 * what can be known of their definitions before they run (stw_define's
 * refusals, stw_check's errors and warnings), exiting 1 on an error: for
 * the CI pipelines of users. steward serve prints the same findings at start
 * and refuses to start on an error (stw__cli_check_print).
 */
#include "check.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <steward.h>

#include "config.h"
#include "plugin.h"
#include "text.h"

int stw__cli_check_print(struct stw_engine *e, FILE *f, int *errors)
{
	json_t *arr = NULL;
	*errors = 0;
	if (stw_check(e, &arr) != STW_OK)
		return -1;
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o)
	{
		const char *sev = json_string_value(json_object_get(o, "severity"));
		int error = sev != NULL && strcmp(sev, "error") == 0;
		*errors += error;
		char shown[4 * 600 + 8];
		fprintf(f, "steward: %s: %s\n", error ? "error" : "warning",
			stw__cli_shown_n(shown, sizeof(shown),
					 json_string_value(json_object_get(o, "message")), 600));
	}
	json_decref(arr);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: steward check [--config FILE] [--remote NAME]... PLUGIN...\n"
	      "\n"
	      "Registers the definitions of the plugins (steward_plugin.h) and prints what\n"
	      "can be known of them before they run: the errors that make steward refuse a\n"
	      "definition (a state no trigger leads to, an active state with no way out, two\n"
	      "transitions from one state on one message, a timer whose message has no\n"
	      "transition), commands to contexts with no service and no remote, and\n"
	      "warnings (an active state never left, a transition from a terminal state).\n"
	      "\n"
	      "options:\n"
	      "  --config FILE  steward serve's file: its plugins and its remote contexts\n"
	      "  --remote NAME  context NAME is served remotely (repeatable)\n"
	      "  --help         this text\n"
	      "\n"
	      "exit status: 0 no error (warnings allowed), 1 an error, 2 a usage error.\n",
	      f);
}

/* A transport that is never called: the scratch engine only needs to know the remote. */
static void no_send(struct stw_delivery_attempt *batch, size_t n, void *ud)
{
	(void)batch;
	(void)n;
	(void)ud;
}

/* Registers the plugins and remotes of c on e; returns the number of failures. */
static int register_all(struct stw_engine *e, struct stw__cli_serve_config *c,
			struct stw__cli_plugin *plugins)
{
	int failed = 0;
	for (size_t i = 0; i < c->nload; i++) {
		char err[512];
		if (stw__cli_plugin_load(c->load[i], &plugins[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "steward: error: %s\n", err);
			failed++;
		} else if (stw__cli_plugin_register(&plugins[i], e) != STW_OK) {
			failed++; /* it said why */
		}
	}
	for (size_t i = 0; i < c->nremotes; i++) {
		struct stw_remote_def r = { .send = no_send };
		if (stw_register_remote(e, c->remotes[i].name, &r) != STW_OK) {
			stw__cli_error_text("error:", stw_errmsg(e), "");
			failed++;
		}
	}
	return failed;
}

/* Opens an engine on a database in a new temporary directory (dir receives its path). */
static int scratch_engine(char *dir, size_t cap, struct stw_engine **e)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, cap, "%s/steward-check.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	char path[4096 + 32];
	snprintf(path, sizeof(path), "%s/check.db", dir);
	struct stw_options o = { .synchronous = 0 };
	return stw_open(path, &o, e) == STW_OK ? 0 : -1;
}

static void remove_scratch(const char *dir)
{
	char path[4096 + 32];
	static const char *const files[] = { "check.db", "check.db-wal", "check.db-shm" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int stw__cli_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "remote", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stw__cli_serve_config c;
	stw__cli_config_init(&c);
	char err[512];
	int status = 2, ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			status = 0;
			goto out;
		}
		if (ch == 'c' && stw__cli_config_read_file(&c, optarg, err, sizeof(err)) != 0) {
			fprintf(stderr, "steward: %s\n", err);
			goto out;
		}
		if (ch == 'r') {
			char spec[STW_MAX_NAME + 32];
			snprintf(spec, sizeof(spec), "%s=http://check.invalid/", optarg);
			if (stw__cli_config_remote_flag(&c, spec, err, sizeof(err)) != 0) {
				fprintf(stderr, "steward: --remote %s: not a context name\n",
					optarg);
				goto out;
			}
		}
		if (ch != 'c' && ch != 'r') {
			usage(stderr);
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		if (stw__cli_config_add_load(&c, argv[i], 0) != 0) {
			fprintf(stderr, "steward: out of memory\n");
			goto out;
		}
	if (c.nload == 0) {
		fprintf(stderr, "steward check: no plugin to check (see 'steward check --help')\n");
		goto out;
	}
	struct stw__cli_plugin *plugins = calloc(c.nload, sizeof(*plugins));
	char dir[4096];
	struct stw_engine *e = NULL;
	if (plugins == NULL || scratch_engine(dir, sizeof(dir), &e) != 0) {
		fprintf(stderr, "steward: cannot open a scratch database\n");
		free(plugins);
		status = 1;
		goto out;
	}
	int errors = register_all(e, &c, plugins), found = 0;
	if (stw__cli_check_print(e, stdout, &found) != 0) {
		stw__cli_error_text("", stw_errmsg(e), "");
		errors++;
	}
	errors += found;
	json_t *defs = NULL;
	size_t ndefs = stw_list_definitions(e, &defs) == STW_OK ? json_array_size(defs) : 0;
	json_decref(defs);
	stw_close(e);
	remove_scratch(dir);
	for (size_t i = 0; i < c.nload; i++)
		stw__cli_plugin_unload(&plugins[i]);
	free(plugins);
	if (errors == 0)
		printf("ok: %zu definition%s checked\n", ndefs, ndefs == 1 ? "" : "s");
	status = errors ? 1 : 0;
out:
	stw__cli_config_free(&c);
	return status;
}
