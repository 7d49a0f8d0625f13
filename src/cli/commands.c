/*
 * commands.c - the inspection and operation commands of the steward program
 * (ps, show, ack, cancel, retry, events, send, commands, redeliver, skip,
 * migrate):
 * their table, their help, and running one.
 *
 * Each command works on a store (--store, an SQLite file or a PostgreSQL
 * database; inspection opens it read-only) or on a running daemon through the JSON API of
 * docs/API.md
 * (--url, or STEWARD_URL): backend.c. Both back ends produce the same JSON
 * documents, the ones the API answers, so a command first gets its answer
 * as JSON and then prints it either as a table (table.c) or, with --json,
 * as it is. The commands themselves are in cmd_*.c (see cmd.h), the command
 * line parser in args.c, and the escaper that everything printed from the
 * store or the network goes through in text.c.
 */
#include "commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "config.h"
#include "text.h"

/* The options a command accepts, in the table below. */
#define OPT(o) STW__CLI_BIT(STW__CLI_OPT_##o)

/* The help of --load, for the commands that write to a database. */
#define LOAD_HELP                                                                                  \
	"  --load PLUGIN    with --store: register the definitions and services of PLUGIN\n"       \
	"                   (a plugin of steward serve, see steward_plugin.h; repeatable)\n"       \
	"                   instead of the voiding example's\n"

static const char *const id_arg[] = { "ID", NULL };
static const char *const definition_arg[] = { "DEFINITION", NULL };
static const char *const context_arg[] = { "CONTEXT", NULL };
static const char *const send_args[] = { "CONTEXT", "TYPE", "JSON", NULL };

static const struct stw__cli_command commands[] = {
	{ "ps",
	  "[--definition D] [--version N] [--status S] [--state X] [--stuck [--stuck-for "
	  "SECONDS]] [--limit N] [--offset N]",
	  "list process instances, newest first",
	  "Lists process instances, the most recently updated first: id, definition,\n"
	  "the definition's version that created it, state, status, version (its\n"
	  "changes), last update (UTC), uniqueness key and reason.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   only instances of definition D (e.g. voiding)\n"
	  "  --version N      only instances created by version N of their definition\n"
	  "  --status S       only instances with status S: active, completed, failed,\n"
	  "                   acknowledged, rejected or cancelled\n"
	  "  --state X        only instances in state X\n"
	  "  --stuck          only stuck instances: active, with no timer and no command\n"
	  "                   waiting for delivery, and not moved for the daemon's\n"
	  "                   stuck_after (with --store: 600 s)\n"
	  "  --stuck-for SECONDS  with --stuck: not moved for SECONDS\n"
	  "  --limit N        at most N instances, 1 to 1000 (default 50)\n"
	  "  --offset N       skip the first N instances (default 0)\n",
	  NULL,
	  STW__CLI_COMMON | OPT(DEFINITION) | OPT(VERSION) | OPT(STATUS) | OPT(STATE) | OPT(STUCK) |
	      OPT(STUCK_FOR) | OPT(LIMIT) | OPT(OFFSET),
	  stw__cli_cmd_ps },
	{ "show", "ID [--definition D]", "show one instance: data, history, commands, timers",
	  "Shows process instance ID: its state and status, the version of its definition\n"
	  "that created it, its data, its history (every\n"
	  "message it received: time, type, context, transition, outcome, reason), the\n"
	  "commands it sent (type, context, delivery status, error) and its pending\n"
	  "timers (the message each delivers, when it falls due, what armed it).\n"
	  "ID may be the beginning of an id that no other instance's id begins with;\n"
	  "when several do, they are named and nothing is shown.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n",
	  id_arg, STW__CLI_COMMON | OPT(DEFINITION), stw__cli_cmd_show },
	{ "ack", "ID [--definition D] [--note TEXT] [--load PLUGIN]",
	  "acknowledge a failed instance",
	  "Acknowledges the failure of process instance ID: its status becomes\n"
	  "acknowledged (and its state the definition's acknowledgement state), and its\n"
	  "uniqueness key is freed. Only a failed instance can be acknowledged.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded in the history (at most 1000 bytes)\n" LOAD_HELP,
	  id_arg, STW__CLI_COMMON | OPT(DEFINITION) | OPT(NOTE) | OPT(LOAD), stw__cli_cmd_ack },
	{ "cancel", "ID [--definition D] [--note TEXT] [--load PLUGIN]",
	  "cancel an active or failed instance",
	  "Cancels process instance ID: its status becomes cancelled, its uniqueness key is\n"
	  "freed and its timers no longer apply. No command is sent. An instance that has\n"
	  "ended cannot be cancelled.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded as the reason (at most 1000 bytes)\n" LOAD_HELP,
	  id_arg, STW__CLI_COMMON | OPT(DEFINITION) | OPT(NOTE) | OPT(LOAD), stw__cli_cmd_cancel },
	{ "retry", "ID --state STATE [--definition D] [--note TEXT] [--load PLUGIN]",
	  "retry a failed instance from a chosen state",
	  "Retries failed process instance ID from STATE (an active state of its\n"
	  "definition): it becomes active there, and the commands and timers of the first\n"
	  "transition entering STATE are issued again under new ids. With --store, the\n"
	  "definition must be registered in this process: the voiding example's are, a\n"
	  "plugin's need --load.\n"
	  "\n"
	  "options:\n"
	  "  --state STATE    the state to retry from (required)\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded in the history (at most 1000 bytes)\n" LOAD_HELP,
	  id_arg, STW__CLI_COMMON | OPT(DEFINITION) | OPT(NOTE) | OPT(STATE) | OPT(LOAD),
	  stw__cli_cmd_retry },
	{ "events", "CONTEXT [--after N] [--limit N]", "list the events of a context's log",
	  "Lists the events of CONTEXT's log (e.g. Billing or Reports) in order, one per\n"
	  "line: position, type, stream, correlation id and data.\n"
	  "\n"
	  "options:\n"
	  "  --after N        only events after position N (default 0)\n"
	  "  --limit N        at most N events, 1 to 1000 (default 100)\n",
	  context_arg, STW__CLI_COMMON | OPT(AFTER) | OPT(LIMIT), stw__cli_cmd_events },
	{ "send", "CONTEXT TYPE JSON [--id ID] [--correlation-id ID] [--load PLUGIN]",
	  "execute a command against a context's service",
	  "Executes command TYPE with data JSON (an object) against CONTEXT's service now,\n"
	  "and prints the command id and its outcome. A refusal prints the service's reason\n"
	  "and exits 1. A command id that was already handled is not applied again: its\n"
	  "recorded outcome is answered. With --store the voiding example's services (or\n"
	  "with --load, a plugin's) run in this process; a running daemon carries on the\n"
	  "processes the events start.\n"
	  "\n"
	  "example:\n"
	  "  steward send Billing IssueDocument \\\n"
	  "      '{\"document_id\": \"doc-1\", \"customer\": \"acme\", \"amount\": 1234}'\n"
	  "\n"
	  "options:\n"
	  "  --id ID              the command id (default: a new random id)\n"
	  "  --correlation-id ID  the correlation id (default: the command id; a command\n"
	  "                       that starts a process names it)\n" LOAD_HELP,
	  send_args, STW__CLI_COMMON | OPT(ID) | OPT(CORRELATION) | OPT(LOAD), stw__cli_cmd_send },
	{ "commands", "[--status S] [--limit N]", "list commands by status (parked by default)",
	  "Lists the commands of the outbox with a status, newest first: id, context,\n"
	  "type, the instance that sent it, attempts, creation time (UTC) and the last\n"
	  "error. Parked commands are those a remote service failed on until their last\n"
	  "attempt, and those sent to a context with neither a service nor a remote:\n"
	  "'steward redeliver ID' or 'steward skip ID' decides.\n"
	  "\n"
	  "options:\n"
	  "  --status S   pending, delivered, rejected, parked (default) or skipped\n"
	  "  --limit N    at most N commands (1..1000, default 50)\n",
	  NULL, STW__CLI_COMMON | OPT(STATUS) | OPT(LIMIT), stw__cli_cmd_commands },
	{ "redeliver", "ID", "deliver a parked or rejected command again",
	  "Makes a parked or rejected command pending again with its attempts reset: it\n"
	  "is delivered on the next round, under the same id (the service deduplicates\n"
	  "it; an in-process service judges a rejected command again).\n",
	  id_arg, STW__CLI_COMMON, stw__cli_cmd_redeliver },
	{ "skip", "ID [--note TEXT]", "give up a parked command",
	  "Marks a parked command skipped: it is never delivered. The note says why\n"
	  "(for example that the effect was obtained another way).\n"
	  "\n"
	  "options:\n"
	  "  --note TEXT   why (at most 1000 bytes)\n",
	  id_arg, STW__CLI_COMMON | OPT(NOTE), stw__cli_cmd_skip },
	{ "migrate",
	  "DEFINITION --from N --to M [--dry-run] [--instance ID] [--limit N] [--load PLUGIN]",
	  "move running instances to a later version of their definition",
	  "Moves the active and failed instances of version N of DEFINITION to version M,\n"
	  "as version M declares (a state map and a data transform: docs/DEFINITIONS.md),\n"
	  "each in a transaction of its own with a history row 'Migrated N -> M'. An\n"
	  "instance that cannot move (no mapping for its state, a transform that refuses\n"
	  "it) stays on version N and is listed with the reason. A crash in the middle\n"
	  "leaves each instance moved once or not at all: run it again for the rest.\n"
	  "With --dry-run, prints per instance what would change (state, data, timers)\n"
	  "and writes nothing. With --store, both versions come from --load (version M\n"
	  "must be registered; N need not be). Exits 1 when an instance was left.\n"
	  "\n"
	  "options:\n"
	  "  --from N         the version the instances are of (1 or more)\n"
	  "  --to M           the version to move them to (later than N)\n"
	  "  --dry-run        report what would change, write nothing\n"
	  "  --instance ID    only this instance\n"
	  "  --limit N        at most N instances (through a daemon: default 1000)\n" LOAD_HELP,
	  definition_arg,
	  STW__CLI_COMMON | OPT(FROM) | OPT(TO) | OPT(DRY_RUN) | OPT(INSTANCE) | OPT(LIMIT) |
	      OPT(LOAD),
	  stw__cli_cmd_migrate },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct stw__cli_command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int stw__cli_is_command(const char *name)
{
	return name != NULL && find_command(name) != NULL;
}

void stw__cli_summary(FILE *f)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
}

/* Prints a command's usage line, its own help and the options every command takes. */
static void print_help(const struct stw__cli_command *cmd, FILE *f)
{
	fprintf(f,
		"usage: steward %s %s\n       [--store STORE | --url URL [--token-file PATH]] "
		"[--json]\n\n%s",
		cmd->name, cmd->synopsis, cmd->help);
	fputs("\ncommon options:\n"
	      "  --store STORE    work on this store: an SQLite file's path (or sqlite:PATH)\n"
	      "                   or a postgresql:// URL (default " STW__CLI_DEFAULT_DB ");\n"
	      "                   ps, show and events open it read-only; --db: its older name\n"
	      "  --url URL        work through a running daemon's HTTP API instead\n"
	      "                   (default: $STEWARD_URL, e.g. http://127.0.0.1:8080)\n"
	      "  --token-file PATH  with --url: send the bearer token in PATH (default:\n"
	      "                   $STEWARD_TOKEN) to a daemon that requires one\n"
	      "  --json           print the JSON document the HTTP API answers\n"
	      "  -h, --help       show this help\n"
	      "\n"
	      "exit status: 0 success, 1 failure (not found, refused, store or HTTP error),\n"
	      "2 usage error.\n",
	      f);
}

int stw__cli_help(const char *name, FILE *f)
{
	const struct stw__cli_command *cmd = find_command(name);
	if (cmd == NULL) {
		char eb[STW__CLI_SHOWN_CAP];
		stw__cli_error("no help for unknown command '%s' (see steward --help)",
			       stw__cli_shown(eb, name));
		return 2;
	}
	print_help(cmd, f);
	return 0;
}

int stw__cli_run(int argc, char **argv)
{
	struct stw__cli c = { .cmd = argc > 0 ? find_command(argv[0]) : NULL };
	if (c.cmd == NULL) {
		char eb[STW__CLI_SHOWN_CAP];
		stw__cli_error("unknown command '%s' (see steward --help)",
			       stw__cli_shown(eb, argc > 0 ? argv[0] : ""));
		return 2;
	}
	int rc = stw__cli_parse_args(&c, argc, argv);
	if (rc != 0)
		return rc;
	if (c.val[STW__CLI_OPT_HELP]) {
		print_help(c.cmd, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	int need = 0;
	while (c.cmd->args != NULL && c.cmd->args[need] != NULL)
		need++;
	if (c.npos < need) {
		stw__cli_usage_error(&c, "missing %s", c.cmd->args[c.npos]);
		return 2;
	}
	if (c.npos > need) {
		char eb[STW__CLI_SHOWN_CAP];
		stw__cli_usage_error(&c, "unexpected argument '%s'",
				     stw__cli_shown(eb, c.pos[need]));
		return 2;
	}
	rc = stw__cli_resolve_target(&c);
	if (rc == 0)
		rc = c.cmd->run(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		stw__cli_error("cannot write the output: %s", strerror(errno));
		if (rc == 0)
			rc = 1;
	}
	free(c.url);
	/* After every engine closed: definitions live in the plugins' memory. */
	for (int i = 0; i < c.nplugins; i++)
		stw__cli_plugin_unload(&c.plugins[i]);
	if (c.token != NULL) {
		explicit_bzero(c.token, strlen(c.token));
		free(c.token);
	}
	return rc;
}
