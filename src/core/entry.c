/*
 * entry.c - the check at the entry of every public call that takes an
 * engine. A service handler, a periodic process's handler and a definition's
 * callbacks run inside the engine's own work: its transaction is open and
 * its batch holds rows in the engine's memory. From there the engine may be
 * read, never written, run or reconfigured: such a call would commit or roll
 * back the caller's work, or free the memory the caller is using. One check,
 * here, says so for every call.
 */
#include "core/engine_int.h"

int stw__enter(struct stw_engine *e, enum stw__call kind, const char *call)
{
	if (e == NULL)
		return STW_EINVAL;
	if (e->in_handler && kind != STW__CALL_READ)
		return stw__fail(e, STW_ESTATE,
				 "%s cannot be called from inside a handler or callback of the "
				 "engine (use the handler's context: stw_svc_emit, "
				 "stw_periodic_send)",
				 call);
	return STW_OK;
}
