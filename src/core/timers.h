/*
 * timers.h - firing due timers (timers.c).
 */
#ifndef STW_TIMERS_H
#define STW_TIMERS_H

#include "core/definition.h"

/* Fires the due timers of one definition (one transaction per batch); *fired counts them. */
int stw__fire_timers(struct stw_engine *e, const struct stw__def *def, int *fired);

#endif /* STW_TIMERS_H */
