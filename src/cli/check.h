/*
 * check.h - what can be known of loaded definitions before they run:
 * `steward check` and the findings steward serve prints at start.
 */
#ifndef STW_CLI_CHECK_H
#define STW_CLI_CHECK_H

#include <stdio.h>

struct stw_engine;

/*
 * Prints stw_check's findings of e on f, one "steward: error: ..." or
 * "steward: warning: ..." line each, and counts the errors into *errors.
 * Returns 0, or -1 when stw_check fails (its message is e's).
 */
int stw__cli_check_print(struct stw_engine *e, FILE *f, int *errors);

/* steward check [--config FILE] [--remote NAME]... PLUGIN...: exit status 0, 1 or 2. */
int stw__cli_check(int argc, char **argv);

#endif /* STW_CLI_CHECK_H */
