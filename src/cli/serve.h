/*
 * serve.h - `steward serve`: the definitions of plugins against remote
 * services, configured by a file, the environment and flags (serve.c).
 */
#ifndef STW_CLI_SERVE_H
#define STW_CLI_SERVE_H

/*
 * Runs `steward serve`; argv[0] is "serve". Returns the exit status: 0, 1
 * (the daemon failed), or 2 (bad flags, configuration, plugin or token file).
 */
int stw__cli_serve(int argc, char **argv);

#endif /* STW_CLI_SERVE_H */
