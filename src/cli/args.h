/*
 * args.h - the command line of the inspection and operation commands: the
 * options they share, one run of a command (struct stw__cli), the parser,
 * the option helpers and usage errors (exit status 2).
 */
#ifndef STW_CLI_ARGS_H
#define STW_CLI_ARGS_H

#include <stddef.h>

#include "plugin.h"
#include "text.h"

/* The options of every command; a command accepts those of its `opts`. */
enum stw__cli_opt {
	STW__CLI_OPT_STORE,
	STW__CLI_OPT_DB, /* the older name of --store */
	STW__CLI_OPT_URL,
	STW__CLI_OPT_TOKEN_FILE,
	STW__CLI_OPT_JSON,
	STW__CLI_OPT_HELP,
	STW__CLI_OPT_DEFINITION,
	STW__CLI_OPT_STATUS,
	STW__CLI_OPT_STATE,
	STW__CLI_OPT_LIMIT,
	STW__CLI_OPT_OFFSET,
	STW__CLI_OPT_AFTER,
	STW__CLI_OPT_NOTE,
	STW__CLI_OPT_ID,
	STW__CLI_OPT_CORRELATION,
	STW__CLI_OPT_LOAD,
	STW__CLI_OPT_STUCK,
	STW__CLI_OPT_STUCK_FOR,
	STW__CLI_OPT_VERSION,
	STW__CLI_OPT_FROM,
	STW__CLI_OPT_TO,
	STW__CLI_OPT_DRY_RUN,
	STW__CLI_OPT_INSTANCE,
	STW__CLI_OPT_COUNT
};

#define STW__CLI_BIT(o) (1u << (o))
/* The options every command takes. */
#define STW__CLI_COMMON                                                                            \
	(STW__CLI_BIT(STW__CLI_OPT_STORE) | STW__CLI_BIT(STW__CLI_OPT_DB) |                        \
	 STW__CLI_BIT(STW__CLI_OPT_URL) | STW__CLI_BIT(STW__CLI_OPT_TOKEN_FILE) |                  \
	 STW__CLI_BIT(STW__CLI_OPT_JSON) | STW__CLI_BIT(STW__CLI_OPT_HELP))

#define STW__CLI_MAX_POS  3            /* positional arguments of a command */
#define STW__CLI_MAX_NOTE STW_MAX_NOTE /* bytes of a --note (the engine's limit) */
#define STW__CLI_MAX_PAGE 1000         /* the largest --limit (the API's) */
#define STW__CLI_MAX_LOG  512          /* bytes kept of the library's last error line */
#define STW__CLI_MAX_LOAD 16           /* plugins one command loads (--load) */

struct stw__cli;

/* A command of the table in commands.c. */
struct stw__cli_command {
	const char *name;
	const char *synopsis; /* what follows the name in the usage line */
	const char *summary;
	const char *help;        /* the text after the usage line, before the common options */
	const char *const *args; /* names of the positional arguments, all required */
	unsigned opts;           /* STW__CLI_BIT(STW__CLI_OPT_...) the command accepts */
	int (*run)(struct stw__cli *c);
};

/* One run of a command: its options, arguments and where it works. */
struct stw__cli {
	const struct stw__cli_command *cmd;
	const char
	    *val[STW__CLI_OPT_COUNT]; /* an option's argument ("" for a flag); NULL: not given */
	char *pos[STW__CLI_MAX_POS];  /* positional arguments */
	int npos;
	const char
	    *db;   /* the store (a path or URL, see stw_open), when not working through a daemon */
	char *url; /* the daemon's base URL without a trailing '/'; owned */
	int url_env; /* the URL came from STEWARD_URL */
	char *token; /* the bearer token sent to the daemon (--token-file, STEWARD_TOKEN); owned */
	char log[STW__CLI_MAX_LOG];          /* the last error the library logged */
	const char *load[STW__CLI_MAX_LOAD]; /* the plugins of --load, in order */
	int nload;
	/* The plugins loaded (by stw__cli_db_open), unloaded when the command ends. */
	struct stw__cli_plugin plugins[STW__CLI_MAX_LOAD];
	int nplugins;
};

/* Prints "steward CMD: MESSAGE (see 'steward CMD --help')" on stderr. */
void stw__cli_usage_error(const struct stw__cli *c, const char *fmt, ...) STW__CLI_PRINTF(2, 3);

/*
 * Parses argv (argv[0] is the command name) into c: "--name value",
 * "--name=value", "-h", "--" to end the options; anything else is a
 * positional argument. Returns 0, or 2 after printing a usage error.
 */
int stw__cli_parse_args(struct stw__cli *c, int argc, char **argv);

/* Reads an integer option in [lo, hi] into *out (def when absent). Returns 0 or 2. */
int stw__cli_opt_int(const struct stw__cli *c, enum stw__cli_opt o, long long lo, long long hi,
		     long long def, long long *out);

/*
 * Checks that a string argument or option fits the engine's limits (not
 * empty, shorter than max bytes; NULL passes). Returns 0 or 2.
 */
int stw__cli_check_len(const struct stw__cli *c, const char *what, const char *s, size_t max);

/* Checks that a --note (NULL passes) has at most STW__CLI_MAX_NOTE bytes. Returns 0 or 2. */
int stw__cli_check_note(const struct stw__cli *c, const char *note);

/*
 * Decides where the command works: --url, --store (or its older name --db),
 * else STEWARD_URL, else the default database; reads the token to send to a daemon, checks that the
 * plugins of --load go with a database and are given once. Returns 0, 1
 * (out of memory, unreadable token) or 2 (usage error).
 */
int stw__cli_resolve_target(struct stw__cli *c);

#endif /* STW_CLI_ARGS_H */
