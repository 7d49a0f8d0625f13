/*
 * plugin.h - loading the plugins of steward_plugin.h (shared objects that
 * register definitions and in-process services), for steward serve and for
 * the commands that write to a database (--load).
 */
#ifndef STW_CLI_PLUGIN_H
#define STW_CLI_PLUGIN_H

#include <stddef.h>

#include <steward_plugin.h>

/* A loaded plugin. */
struct stw__cli_plugin {
	const char *path;               /* as given; borrowed */
	void *dl;                       /* the dlopen handle; NULL: not loaded */
	steward_plugin_register_fn reg; /* its steward_plugin_register */
};

/*
 * Loads the plugin at path (dlopen with RTLD_NOW | RTLD_LOCAL) and checks
 * its ABI. Returns 0 with *p (release it with stw__cli_plugin_unload once
 * every engine it registered on is closed), or -1 with a message naming
 * the path in err.
 */
int stw__cli_plugin_load(const char *path, struct stw__cli_plugin *p, char *err, size_t cap);

/*
 * Registers the plugin's definitions and services on e. Returns STW_OK, or
 * the plugin's code after printing "PATH: steward_plugin_register failed".
 */
int stw__cli_plugin_register(const struct stw__cli_plugin *p, struct stw_engine *e);

/* Unloads a plugin (one that failed to load or was never loaded too). */
void stw__cli_plugin_unload(struct stw__cli_plugin *p);

/* 1 if paths a and b name the same file (the same path, or one file by two paths), else 0. */
int stw__cli_same_file(const char *a, const char *b);

#endif /* STW_CLI_PLUGIN_H */
