/*
 * fixture_int.h - what the unit tests share that reaches inside the library:
 * they link its static build and have src/ on their include path. Header
 * only (static inline), so that the fixture's library (fixture.c) stays
 * linked to no build of the library.
 */
#ifndef STW_TEST_FIXTURE_INT_H
#define STW_TEST_FIXTURE_INT_H

#include "core/engine_int.h"
#include "core/util.h"

/*
 * The id of the index-th event a service of `context` emits for command
 * `cmd_id`: ordered as the command id is.
 */
static inline void fx_emitted_id(char out[33], const char *context, const char *cmd_id, long index)
{
	const char *parts[3] = { "event", context, cmd_id };
	stw__derive_id(out, stw__id_order(cmd_id), parts, 3, index);
}

/*
 * How many commands the dedup table has counted as delivered again (the
 * store's dedup_duplicates), failing the test when it cannot be read.
 */
static inline int64_t fx_dedup_duplicates(struct stw_engine *e)
{
	int64_t n = -1;
	assert_int_equal(STW__S(e->store, dedup_duplicates, &n), STW_OK);
	return n;
}

#endif /* STW_TEST_FIXTURE_INT_H */
