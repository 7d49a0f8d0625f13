/*
 * host.c - what the host supplies to the engine: the clock, the log and the
 * failpoints of the crash tests; and the monotonic clock for durations.
 */
#include "core/engine_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

int64_t stw__system_now_ms(void *ud)
{
	(void)ud;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t stw__now(struct stw_engine *e)
{
	return e->clock.now_ms(e->clock.ud);
}

int64_t stw__mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void stw__failpoint(struct stw_engine *e, const char *name)
{
	if (e->failpoint != NULL)
		e->failpoint(name, e->failpoint_ud);
}

void stw__log(struct stw_engine *e, enum stw_log_level level, const char *fmt, ...)
{
	if (e->log == NULL)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	e->log(level, buf, e->log_ud);
}
