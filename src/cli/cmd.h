/*
 * cmd.h - the inspection and operation commands, one file per command or
 * small group, as the table of commands.c runs them. Each returns the
 * process exit status: 0 success, 1 failure, 2 usage error.
 *
 *   cmd_ps.c        ps, show                    instances
 *   cmd_operate.c   ack, cancel, retry          a person's operation on an instance
 *   cmd_events.c    events, send                a context's log; executing a command
 *   cmd_commands.c  commands, redeliver, skip   the outbox and its parked commands
 *   cmd_migrate.c   migrate                     instances moved to a later version
 */
#ifndef STW_CLI_CMD_H
#define STW_CLI_CMD_H

#include "args.h"

int stw__cli_cmd_ps(struct stw__cli *c);
int stw__cli_cmd_show(struct stw__cli *c);
int stw__cli_cmd_ack(struct stw__cli *c);
int stw__cli_cmd_cancel(struct stw__cli *c);
int stw__cli_cmd_retry(struct stw__cli *c);
int stw__cli_cmd_events(struct stw__cli *c);
int stw__cli_cmd_send(struct stw__cli *c);
int stw__cli_cmd_commands(struct stw__cli *c);
int stw__cli_cmd_redeliver(struct stw__cli *c);
int stw__cli_cmd_skip(struct stw__cli *c);
int stw__cli_cmd_migrate(struct stw__cli *c);

#endif /* STW_CLI_CMD_H */
