/*
 * periodic.h - running periodic processes (periodic.c).
 */
#ifndef STW_PERIODIC_H
#define STW_PERIODIC_H

#include "core/engine_int.h"

/* Runs a periodic process if its period came; *ran is 1 if it ran. */
int stw__run_periodic(struct stw_engine *e, const struct stw__periodic *p, int *ran);

#endif /* STW_PERIODIC_H */
