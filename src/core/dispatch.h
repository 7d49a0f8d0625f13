/*
 * dispatch.h - delivering commands to in-process services (dispatch.c).
 */
#ifndef STW_DISPATCH_H
#define STW_DISPATCH_H

#include "core/engine_int.h"

/* Delivers pending commands to in-process services; *delivered counts them. */
int stw__dispatch(struct stw_engine *e, int *delivered);

/*
 * Parks the pending commands of every context that has neither an
 * in-process service nor a remote on this engine, with the reason "no
 * service or remote for context X" (a batch per context and call, one
 * transaction each; a warning logged); *parked counts them. Nothing when
 * the engine was opened with delivered_elsewhere.
 */
int stw__park_unserved(struct stw_engine *e, int *parked);

#endif /* STW_DISPATCH_H */
