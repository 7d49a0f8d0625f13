/*
 * steward_plugin.h - process definitions written in C, loaded by
 * `steward serve` from shared objects (the [definitions] load setting or
 * --load PATH), so that adding a process does not mean rebuilding Steward.
 * The commands that write to a database file (steward ack, cancel, retry
 * and send with --db) load them too, with --load PATH.
 *
 * A plugin is a shared object linked against libsteward that exports two
 * symbols:
 *
 *   STEWARD_PLUGIN_EXPORT int steward_plugin_abi = STEWARD_PLUGIN_ABI;
 *   STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e);
 *
 * steward serve opens it once (dlopen with RTLD_NOW | RTLD_LOCAL), refuses it
 * when steward_plugin_abi differs from the ABI it was built with, and calls
 * steward_plugin_register on every engine it opens (the worker's, the HTTP
 * server's, the delivery thread's). The function registers definitions
 * (stw_define, stw_define_periodic) and in-process services
 * (stw_register_service) and returns STW_OK or a negative STW_E* code; it
 * must do the same on every call and keep no state of its own, since the
 * engines run on different threads. Everything it passes by pointer
 * (definition tables, user data) must live as long as the plugin is loaded,
 * that is until steward exits: static tables are the natural fit.
 */
#ifndef STEWARD_PLUGIN_H
#define STEWARD_PLUGIN_H

#include <steward.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The plugin interface version this header describes. 2: struct stw_stats
 * counts stream reads (stream_reads, stream_events_parsed,
 * stream_store_reads). 3: struct stw_definition ends with `migrations`.
 */
#define STEWARD_PLUGIN_ABI 3

/* Keeps a plugin's two symbols visible when it is built with hidden visibility. */
#if defined(__GNUC__)
#define STEWARD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define STEWARD_PLUGIN_EXPORT
#endif

/* The names steward serve looks up. */
#define STEWARD_PLUGIN_ABI_SYMBOL      "steward_plugin_abi"
#define STEWARD_PLUGIN_REGISTER_SYMBOL "steward_plugin_register"

/* The type of steward_plugin_register. */
typedef int (*steward_plugin_register_fn)(struct stw_engine *e);

/* What a plugin defines (declared here so that its definitions have a prototype). */
extern STEWARD_PLUGIN_EXPORT int steward_plugin_abi;
STEWARD_PLUGIN_EXPORT int steward_plugin_register(struct stw_engine *e);

#ifdef __cplusplus
}
#endif

#endif /* STEWARD_PLUGIN_H */
