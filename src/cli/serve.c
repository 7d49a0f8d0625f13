/*
 * serve.c - `steward serve`: runs the definitions of plugins (shared objects,
 * see steward_plugin.h) against remote services over HTTP, with the JSON API
 * and the page, configured by a file (config.h), the environment and flags.
 * The engine's errors are printed through the escaper of text.h.
 */
#include "serve.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <steward.h>
#include <steward_plugin.h>

#include "check.h"
#include "config.h"
#include "daemon.h"
#include "http/transport.h"
#include "plugin.h"
#include "text.h"

/* The longest token file read (a bearer token is far shorter). */
#define SERVE_MAX_TOKEN 4096

struct serve {
	struct stw__cli_serve_config cfg;
	struct stw__cli_plugin *plugins; /* one per cfg.load */
	size_t nplugins;
	char **tokens; /* one per cfg.remotes; NULL: no token */
	int checked;   /* the definitions' findings were printed (stw__cli_check_print) */
	/* The transports of every engine the daemon opened, freed at exit. The
	 * setup runs on several threads (worker, HTTP server, delivery). */
	pthread_mutex_t lock;
	struct stw__http_transport **transports;
	size_t ntransports;
};

static void usage(FILE *f)
{
	fputs("usage: steward serve [options]\n"
	      "\n"
	      "Runs the definitions loaded from plugins, delivering the commands of remote\n"
	      "contexts to their services over HTTP, with the JSON API and the page.\n"
	      "\n"
	      "options (flags override the environment, which overrides the file):\n"
	      "  --config FILE     INI configuration (env STEWARD_CONFIG)\n"
	      "  --listen ADDR     HTTP address, HOST:PORT, :PORT or PORT with an IPv4 HOST\n"
	      "                    (env STEWARD_LISTEN; default 127.0.0.1:8080; off: no server)\n"
	      "  --store STORE     an SQLite file's path (or sqlite:PATH) or a postgresql://\n"
	      "                    URL (env STEWARD_STORE; default " STW__CLI_DEFAULT_DB ", the\n"
	      "                    default of the other commands too; --db: its older name)\n"
	      "  --store-wait DURATION  at start, wait this long (60s, 5m) for a store that\n"
	      "                    cannot be opened yet, a database server starting, before\n"
	      "                    giving up (default: off, give up at once)\n"
	      "  --load PATH       load a plugin (repeatable; adds to the file's; each once)\n"
	      "  --remote NAME=URL the service of context NAME is at URL (repeatable)\n"
	      "  --token-file PATH the API's bearer token\n"
	      "  --stuck-after SECONDS  an instance that nothing will move is stuck after\n"
	      "                    SECONDS without moving (default 600)\n"
	      "  --accept-contexts LIST\n"
	      "                    contexts (A,B or *) that take POSTed events although no\n"
	      "                    definition reads them and no service owns them\n"
	      "  --for SECONDS     stop after SECONDS (default: until SIGINT/SIGTERM)\n"
	      "  --check-config    print the resolved settings, load the plugins, and exit\n"
	      "  --help            this text\n",
	      f);
	stw__cli_config_http_usage(f);
	fputs("\n"
	      "The file's sections: [server] listen, token_file, stuck_after; [store] url,\n"
	      "synchronous (SQLite's: full, normal, off), wait; [definitions] load (several\n"
	      "lines);\n"
	      "[contexts] accept;\n"
	      "[http] threads, max_connections, max_connections_per_ip, read_timeout,\n"
	      "max_streams; [remote NAME] url,\n"
	      "token_file, connect_timeout_ms, timeout_ms, max_attempts, backoff_ms,\n"
	      "backoff_max_ms. See docs/SERVICES.md, and docs/OPERATIONS.md for PostgreSQL.\n",
	      f);
}

/*
 * Reads a token file: its content without the trailing newline. Returns a new
 * string, or NULL with a message in err.
 */
static char *read_token(const char *path, char *err, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, cap, "%s: cannot open the token file: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(SERVE_MAX_TOKEN + 1);
	size_t n = buf ? fread(buf, 1, SERVE_MAX_TOKEN + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (buf == NULL || bad || n > SERVE_MAX_TOKEN) {
		snprintf(err, cap, "%s: %s", path,
			 buf == NULL ? "out of memory"
			 : bad       ? "cannot read the token file"
				     : "the token file is longer than 4096 bytes");
		free(buf);
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\n', n) != NULL || strlen(buf) != n) {
		snprintf(err, cap, "%s: the token file must hold one non-empty line", path);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Registers the plugins' definitions and the remotes on an engine the daemon opened. */
static int setup(struct stw_engine *e, void *ud)
{
	struct serve *s = ud;
	for (size_t i = 0; i < s->nplugins; i++) {
		int rc = stw__cli_plugin_register(&s->plugins[i], e);
		if (rc != STW_OK)
			return rc;
	}
	for (size_t i = 0; i < s->cfg.nremotes; i++) {
		const struct stw__cli_serve_remote *r = &s->cfg.remotes[i];
		char err[512];
		struct stw__http_transport *t = stw__http_transport_new(
		    &(struct stw__http_transport_options){
			.url = r->url,
			.token = s->tokens[i],
			.connect_timeout_ms = r->connect_timeout_ms,
			.timeout_ms = r->timeout_ms,
		    },
		    err, sizeof(err));
		if (t == NULL) {
			fprintf(stderr, "steward: remote %s: %s\n", r->name, err);
			return STW_EINVAL;
		}
		pthread_mutex_lock(&s->lock);
		struct stw__http_transport **grown =
		    realloc(s->transports, (s->ntransports + 1) * sizeof(*grown));
		if (grown != NULL) {
			s->transports = grown;
			s->transports[s->ntransports++] = t;
		}
		pthread_mutex_unlock(&s->lock);
		if (grown == NULL) {
			stw__http_transport_free(t);
			return STW_ENOMEM;
		}
		int rc = stw_register_remote(e, r->name,
					     &(struct stw_remote_def){
						 .send = stw__http_transport_send,
						 .ud = t,
						 .max_attempts = r->max_attempts,
						 .backoff_ms = r->backoff_ms,
						 .backoff_max_ms = r->backoff_max_ms,
					     });
		if (rc != STW_OK) {
			char pre[STW_MAX_NAME + 16];
			snprintf(pre, sizeof(pre), "remote %s: ", r->name);
			stw__cli_error_text(pre, stw_errmsg(e), "");
			return rc;
		}
	}
	/* The findings once, on the first engine (every engine gets the same). */
	if (s->checked)
		return STW_OK;
	int errors = 0;
	s->checked = 1;
	if (stw__cli_check_print(e, stderr, &errors) != 0)
		return STW_ENOMEM;
	if (errors > 0) {
		fprintf(stderr,
			"steward: %d error%s in the definitions: not starting (see steward "
			"check)\n",
			errors, errors == 1 ? "" : "s");
		return STW_EINVAL;
	}
	return STW_OK;
}

static void serve_free(struct serve *s)
{
	for (size_t i = 0; i < s->ntransports; i++)
		stw__http_transport_free(s->transports[i]);
	free(s->transports);
	for (size_t i = 0; s->tokens != NULL && i < s->cfg.nremotes; i++)
		free(s->tokens[i]);
	free(s->tokens);
	for (size_t i = 0; i < s->nplugins; i++)
		stw__cli_plugin_unload(&s->plugins[i]);
	free(s->plugins);
	stw__cli_config_free(&s->cfg);
	pthread_mutex_destroy(&s->lock);
}

/* Flags kept until the file and the environment are read. */
struct flags {
	const char *config, *listen, *store, *token_file;
	unsigned store_flags; /* 1: --store given, 2: --db (its older name) given */
	const char **load;
	size_t nload;
	const char **remote;
	size_t nremote;
	const char *accept;
	const char *stuck_after;
	const char *store_wait;
	struct stw__cli_http_limits http; /* the flags given; 0: not given */
	double run_for;
	int check;
};

/* getopt_long's val of the HTTP limits' flags: HTTP_OPT + the key. */
#define HTTP_OPT 1000

/* Parses the flags: 0, 1 (--help printed), or 2 (a usage error, reported). */
static int parse_flags(int argc, char **argv, struct flags *fl)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "store", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "load", required_argument, NULL, 'L' },
		{ "remote", required_argument, NULL, 'r' },
		{ "token-file", required_argument, NULL, 't' },
		{ "accept-contexts", required_argument, NULL, 'a' },
		{ "stuck-after", required_argument, NULL, 'S' },
		{ "store-wait", required_argument, NULL, 'W' },
		{ "for", required_argument, NULL, 'f' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		STW__CLI_HTTP_OPTIONS(HTTP_OPT),
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* Every argument is at most one flag's value, so argc bounds both lists. */
	fl->load = calloc((size_t)argc, sizeof(*fl->load));
	fl->remote = calloc((size_t)argc, sizeof(*fl->remote));
	if (fl->load == NULL || fl->remote == NULL) {
		fprintf(stderr, "steward: out of memory\n");
		return 2;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'c':
			fl->config = optarg;
			break;
		case 'l':
			fl->listen = optarg;
			break;
		case 's':
		case 'd':
			fl->store = optarg;
			fl->store_flags |= c == 's' ? 1 : 2;
			break;
		case 'L':
			fl->load[fl->nload++] = optarg;
			break;
		case 'r':
			fl->remote[fl->nremote++] = optarg;
			break;
		case 't':
			fl->token_file = optarg;
			break;
		case 'a':
			fl->accept = optarg;
			break;
		case 'S':
			fl->stuck_after = optarg;
			break;
		case 'W':
			fl->store_wait = optarg;
			break;
		case 'f':
			fl->run_for = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || fl->run_for < 0) {
				fprintf(stderr, "steward: --for needs a number of seconds >= 0\n");
				return 2;
			}
			break;
		case 'C':
			fl->check = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			if (c >= HTTP_OPT && c < HTTP_OPT + STW__CLI_HTTP_NKEYS) {
				if (stw__cli_config_http_flag(&fl->http, c, HTTP_OPT, optarg) != 0)
					return 2;
				break;
			}
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "steward: serve: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (fl->store_flags == 3) {
		fprintf(stderr,
			"steward: serve: give --store or --db (its older name), not both\n");
		return 2;
	}
	return 0;
}

/* A non-empty environment variable, or NULL. */
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Resolves the settings: the file, then the environment, then the flags.
 * Returns 0, or -1 with a message in err.
 */
static int resolve(struct stw__cli_serve_config *c, const struct flags *fl, char *err, size_t cap)
{
	const char *file = fl->config ? fl->config : env("STEWARD_CONFIG");
	char why[256];
	if (file != NULL && stw__cli_config_read_file(c, file, err, cap) != 0)
		return -1;
	const char *listen = fl->listen ? fl->listen : env("STEWARD_LISTEN");
	const char *store = fl->store ? fl->store : env("STEWARD_STORE");
	if ((listen && stw__cli_config_set(&c->listen, listen) != 0) ||
	    (store && stw__cli_config_set(&c->store, store) != 0) ||
	    (fl->token_file && stw__cli_config_set(&c->token_file, fl->token_file) != 0)) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	if (listen != NULL && *listen != '\0' && stw__cli_config_listen(listen, why, sizeof(why))) {
		snprintf(err, cap, "%s: %s", fl->listen ? "--listen" : "STEWARD_LISTEN", why);
		return -1;
	}
	for (size_t i = 0; i < fl->nload; i++) {
		long twice = stw__cli_config_find_load(c, fl->load[i]);
		if (twice >= 0 && c->load_line[twice] > 0) {
			snprintf(err, cap, "--load %s: the plugin is listed twice (%s:%d)",
				 fl->load[i], c->file, c->load_line[twice]);
			return -1;
		}
		if (twice >= 0) {
			snprintf(err, cap, "--load %s: the plugin is listed twice", fl->load[i]);
			return -1;
		}
		if (stw__cli_config_add_load(c, fl->load[i], 0) != 0) {
			snprintf(err, cap, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < fl->nremote; i++)
		if (stw__cli_config_remote_flag(c, fl->remote[i], err, cap) != 0)
			return -1;
	if (fl->stuck_after != NULL &&
	    stw__cli_config_stuck_after(fl->stuck_after, &c->stuck_after_s, why, sizeof(why)) !=
		0) {
		snprintf(err, cap, "--stuck-after: %s", why);
		return -1;
	}
	if (fl->store_wait != NULL &&
	    stw__cli_config_duration(fl->store_wait, &c->store_wait_ms) != 0) {
		snprintf(err, cap, "--store-wait: '%s' is not a duration (60s, 5m, ...)",
			 fl->store_wait);
		return -1;
	}
	if (fl->accept != NULL && stw__cli_config_accept(c, fl->accept, why, sizeof(why)) != 0) {
		snprintf(err, cap, "--accept-contexts: %s", why);
		return -1;
	}
	stw__cli_config_http_over(&c->http, &fl->http);
	return stw__cli_config_validate(c, err, cap);
}

/* Loads the plugins and reads the remotes' tokens. Returns 0, or -1 with a message. */
static int prepare(struct serve *s, char *err, size_t cap)
{
	s->plugins = calloc(s->cfg.nload + 1, sizeof(*s->plugins));
	s->tokens = calloc(s->cfg.nremotes + 1, sizeof(*s->tokens));
	if (s->plugins == NULL || s->tokens == NULL) {
		snprintf(err, cap, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < s->cfg.nload; i++) {
		if (stw__cli_plugin_load(s->cfg.load[i], &s->plugins[i], err, cap) != 0)
			return -1;
		s->nplugins++;
	}
	for (size_t i = 0; i < s->cfg.nremotes; i++) {
		const char *tf = s->cfg.remotes[i].token_file;
		if (tf != NULL && (s->tokens[i] = read_token(tf, err, cap)) == NULL)
			return -1;
	}
	if (s->cfg.token_file != NULL) {
		char *t = read_token(s->cfg.token_file, err, cap);
		if (t == NULL)
			return -1;
		free(t); /* checked here; the daemon reads it itself */
	}
	return 0;
}

int stw__cli_serve(int argc, char **argv)
{
	struct flags fl = { 0 };
	struct serve s = { 0 };
	char err[1024];
	int status = 2;
	stw__cli_config_init(&s.cfg);
	pthread_mutex_init(&s.lock, NULL);
	int rc = parse_flags(argc, argv, &fl);
	if (rc != 0) {
		status = rc == 1 ? 0 : 2;
		goto out;
	}
	if (resolve(&s.cfg, &fl, err, sizeof(err)) != 0 || prepare(&s, err, sizeof(err)) != 0) {
		fprintf(stderr, "steward: %s\n", err);
		goto out;
	}
	if (fl.check) {
		stw__cli_config_print(&s.cfg, stdout);
		printf("ok\n");
		status = 0;
		goto out;
	}
	if (s.cfg.nload == 0)
		fprintf(stderr, "steward: no plugin loaded: no definition will run\n");
	struct stw__cli_daemon_options o = {
		.store = s.cfg.store ? s.cfg.store : STW__CLI_DEFAULT_DB,
		.listen = s.cfg.listen,
		.token_file = s.cfg.token_file,
		.accept_contexts = (const char *const *)s.cfg.accept,
		.stuck_after_ms = s.cfg.stuck_after_s * 1000,
		.store_wait_ms = s.cfg.store_wait_ms,
		.http = s.cfg.http,
		.retention = s.cfg.retention,
		.cluster = s.cfg.cluster,
		.synchronous = s.cfg.synchronous + 1,
		.quiet = 1,
		.run_for = fl.run_for,
		.setup = setup,
		.setup_ud = &s,
	};
	status = stw__cli_daemon_run(&o);
out:
	free(fl.load);
	free(fl.remote);
	serve_free(&s);
	return status;
}
