/*
 * commands.h - the inspection and operation commands of the steward program
 * (ps, show, ack, cancel, retry, events, send, commands, redeliver, skip) as
 * main.c runs them. Each works on a store (--store) or on a running
 * daemon through its JSON API (--url or STEWARD_URL, see docs/API.md).
 */
#ifndef STW_CLI_COMMANDS_H
#define STW_CLI_COMMANDS_H

#include <stdio.h>

/* Returns 1 if `name` is one of the commands of this module, else 0. */
int stw__cli_is_command(const char *name);

/*
 * Runs a command: argv[0] is its name, the rest its options and arguments.
 * Returns the process exit status: 0 success, 1 failure (not found, refused,
 * store or HTTP error), 2 usage error. Messages go to stderr, results to
 * stdout.
 */
int stw__cli_run(int argc, char **argv);

/*
 * Prints the help of command `name` to f and returns 0; for a name that is
 * not a command, prints an error to stderr and returns 2.
 */
int stw__cli_help(const char *name, FILE *f);

/* Prints one line per command (name and summary), indented, to f. */
void stw__cli_summary(FILE *f);

#endif /* STW_CLI_COMMANDS_H */
