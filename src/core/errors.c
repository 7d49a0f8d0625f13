/*
 * errors.c - error codes and messages: the text of each code (from the one
 * table, STW_ERRNO_MAP in steward.h) and the engine's message of the last
 * failure.
 */
#include "core/engine_int.h"
#include "core/gate.h"

#include <stdarg.h>
#include <stdio.h>

STW_API const char *stw_strerror(int code)
{
	switch (code) {
	case STW_OK:
		return "ok";
#define STW__ERRNO_TEXT(name, value, text)                                                         \
	case STW_##name:                                                                           \
		return text;
		STW_ERRNO_MAP(STW__ERRNO_TEXT)
#undef STW__ERRNO_TEXT
	default:
		return "unknown error";
	}
}

int stw__fail(struct stw_engine *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->errmsg, sizeof(e->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

int stw__store_fail(struct stw_engine *e, int code, const char *what)
{
	if (e->gate_refused && code == STW_EBUSY) {
		/* The store was not asked: the write gate said no (txn.c). */
		e->gate_refused = 0;
		return stw__fail(e, code,
				 "%s: busy: other engines of this process kept the write lock "
				 "for more than %lld ms",
				 what, (long long)stw__gate_wait_ms(e->gate));
	}
	return stw__fail(e, code, "%s: %s", what, e->store->ops->errmsg(e->store));
}

STW_API const char *stw_errmsg(const struct stw_engine *e)
{
	if (e == NULL)
		return "no engine";
	return e->errmsg;
}
