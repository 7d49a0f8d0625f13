/*
 * dispatch.h - delivering commands to in-process services (dispatch.c).
 */
#ifndef STW_DISPATCH_H
#define STW_DISPATCH_H

#include "core/engine_int.h"

/* Delivers pending commands to in-process services; *delivered counts them. */
int stw__dispatch(struct stw_engine *e, int *delivered);

#endif /* STW_DISPATCH_H */
