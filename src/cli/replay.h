/*
 * replay.h - `steward replay`: the recorded inputs of stored instances
 * through new definitions, in memory, and where they would diverge.
 */
#ifndef STW_CLI_REPLAY_H
#define STW_CLI_REPLAY_H

/* steward replay --store STORE --load PLUGIN... [...]: exit status 0, 1 or 2. */
int stw__cli_replay(int argc, char **argv);

#endif /* STW_CLI_REPLAY_H */
