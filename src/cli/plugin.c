/*
 * plugin.c - loading plugins (see plugin.h).
 */
#include "plugin.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "text.h"

int stw__cli_plugin_load(const char *path, struct stw__cli_plugin *p, char *err, size_t cap)
{
	memset(p, 0, sizeof(*p));
	dlerror();
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (dl == NULL) {
		const char *why = dlerror();
		snprintf(err, cap, "%s: cannot load the plugin: %s", path, why ? why : "unknown");
		return -1;
	}
	dlerror();
	const int *abi = dlsym(dl, STEWARD_PLUGIN_ABI_SYMBOL);
	void *reg = abi ? dlsym(dl, STEWARD_PLUGIN_REGISTER_SYMBOL) : NULL;
	if (abi == NULL || reg == NULL) {
		snprintf(err, cap, "%s: not a steward plugin (it does not export %s)", path,
			 abi == NULL ? STEWARD_PLUGIN_ABI_SYMBOL : STEWARD_PLUGIN_REGISTER_SYMBOL);
		dlclose(dl);
		return -1;
	}
	if (*abi != STEWARD_PLUGIN_ABI) {
		snprintf(err, cap, "%s: plugin ABI %d, but this steward loads ABI %d", path, *abi,
			 STEWARD_PLUGIN_ABI);
		dlclose(dl);
		return -1;
	}
	p->path = path;
	p->dl = dl;
	/* POSIX guarantees that a function's address survives this conversion. */
	memcpy(&p->reg, &reg, sizeof(p->reg));
	return 0;
}

int stw__cli_plugin_register(const struct stw__cli_plugin *p, struct stw_engine *e)
{
	int rc = p->reg(e);
	if (rc != STW_OK) {
		char pre[PATH_MAX + 96];
		snprintf(pre, sizeof(pre), "%s: steward_plugin_register failed: %s (", p->path,
			 stw_strerror(rc));
		stw__cli_error_text(pre, stw_errmsg(e), ")");
	}
	return rc;
}

void stw__cli_plugin_unload(struct stw__cli_plugin *p)
{
	if (p->dl != NULL)
		dlclose(p->dl);
	memset(p, 0, sizeof(*p));
}

int stw__cli_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
				     sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}
