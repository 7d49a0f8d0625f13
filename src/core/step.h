/*
 * step.h - the step of one (definition, source context) batch (step.c).
 */
#ifndef STW_STEP_H
#define STW_STEP_H

#include "core/definition.h"

/* Steps one batch of (definition, context); *handled counts messages handled. */
int stw__step_batch(struct stw_engine *e, const struct stw__def *def, const char *context,
		    int *handled);

#endif /* STW_STEP_H */
