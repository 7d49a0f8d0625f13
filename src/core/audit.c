/*
 * audit.c - stw_check: what can be known of the registered definitions
 * before they run. The state machine's findings come from check.c; the
 * wiring (a service or a remote for every context a command goes to) is
 * checked here, once the engine has every service and remote.
 */
#include <stdio.h>

#include "core/check.h"
#include "core/definition.h"

/* stw_check's collector: findings as JSON objects. */
struct collect {
	json_t *arr;
	const char *definition;
	int64_t version;
	int several; /* more than one version of the name is registered */
	int oom;
};

static int collect_cb(enum stw__severity sev, const char *state, const char *on, const char *msg,
		      void *ud)
{
	struct collect *c = ud;
	char text[1200];
	if (c->several) /* which of the versions the message is about */
		snprintf(text, sizeof(text), "%s (version %lld)", msg, (long long)c->version);
	json_t *o = json_pack("{s:s, s:s, s:I, s:s?, s:s?, s:s}", "severity",
			      sev == STW__ERROR ? "error" : "warning", "definition", c->definition,
			      "version", (json_int_t)c->version, "state", state, "transition", on,
			      "message", c->several ? text : msg);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	return 0;
}

/* The wiring of definition d: each command's context must have a service or a remote. */
static int check_wiring(struct stw_engine *e, const struct stw__def *d, struct collect *c)
{
	const struct stw_definition *def = d->d;
	for (int t = 0; t < d->ntransitions; t++)
		for (const struct stw_command_def *cmd = def->transitions[t].commands;
		     cmd != NULL && cmd->context != NULL; cmd++) {
			if (stw__find_service(e, cmd->context) != NULL ||
			    stw__find_remote(e, cmd->context) != NULL)
				continue;
			const char *state = stw__state_name(d, d->from[t]);
			if (stw__finding(
				collect_cb, c, STW__ERROR, state, def->transitions[t].on,
				"definition %s: the transition from %s on %s sends %s to context "
				"%s, which has no service and no remote",
				def->name, state ? state : "(start)", def->transitions[t].on,
				cmd->type, cmd->context) != 0)
				return -1;
		}
	return 0;
}

STW_API int stw_check(struct stw_engine *e, json_t **findings)
{
	if (findings != NULL)
		*findings = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (findings == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the findings");
	struct collect c = { .arr = json_array() };
	if (c.arr == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	for (size_t i = 0; i < e->ndefs && !c.oom; i++) {
		int64_t v[STW__MAX_VERSIONS];
		c.definition = e->defs[i].d->name;
		c.version = stw__def_version(&e->defs[i]);
		c.several = stw__versions(e, c.definition, v) > 1;
		if (stw__check_definition(&e->defs[i], collect_cb, &c) < 0 ||
		    check_wiring(e, &e->defs[i], &c) < 0)
			c.oom = 1;
	}
	if (c.oom) {
		json_decref(c.arr);
		return stw__fail(e, STW_ENOMEM, "out of memory");
	}
	*findings = c.arr;
	return STW_OK;
}
