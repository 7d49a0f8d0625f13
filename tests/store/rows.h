/*
 * rows.h - rows and collectors for the tests of the store interface
 * (src/store/store.h): the store contract (tests/store/contract*.c) and the
 * SQLite backend's own tests (tests/unit/test_store_sqlite.c). Rows handed
 * out are built from literals; collectors copy what a callback sees and fail
 * the test past MAXROWS rows.
 */
#ifndef STW_TEST_ROWS_H
#define STW_TEST_ROWS_H

#include <stdint.h>

#include "store/store.h"

#define MAXROWS 64

/* An event of type Happened, data {"n":1}, recorded at 1000. */
struct stw__event_row ev(const char *context, const char *id, const char *stream);

/* Appends ev(context, id, stream) and checks the position and version given to it. */
void append_ok(struct stw__store *s, const char *context, const char *id, const char *stream,
	       int64_t want_pos, int64_t want_ver);

/* A version 1 instance in state Started with data {}, created and updated at updated_at. */
struct stw__instance_row inst(const char *def, const char *id, const char *status, const char *key,
			      int64_t updated_at);

/* A history row of def/id for message_id: type T, outcome applied, at 0. */
struct stw__history_row hist(const char *def, const char *id, const char *message_id);

/* Events a read hands on, up to MAXROWS; stops after stop_after when it is > 0. */
struct events {
	int n;
	int stop_after; /* 0: never stop */
	int64_t pos[MAXROWS];
	int64_t ver[MAXROWS];
	char id[MAXROWS][32];
	int null_correlation[MAXROWS];
};

/* Instances a get or a list hands on. */
struct instances {
	int n;
	char id[MAXROWS][32];
	char def[MAXROWS][32];
	int64_t version[MAXROWS];
	int64_t definition_version[MAXROWS];
	char status[MAXROWS][32];
	int null_key[MAXROWS];
	int null_reason[MAXROWS];
};

/* One string (and seq) per row: message ids, command ids, event ids or "id@due_at". */
struct strings {
	int n;
	int64_t seq[MAXROWS];
	char v[MAXROWS][32];
};

/* event_get's callback: the position of the event found (ud: int64_t *). */
int position_cb(const struct stw__event_row *row, void *ud);

/* Callbacks that collect into ud: struct events, instances, or strings. */
int collect_event(const struct stw__event_row *r, void *ud);
int collect_instance(const struct stw__instance_row *r, void *ud);
int collect_history(const struct stw__history_row *r, void *ud);
int collect_outbox(const struct stw__outbox_row *r, void *ud);
int collect_unrouted(const struct stw__unrouted_row *r, void *ud);
int count_timer(const struct stw__timer_row *r, void *ud);

#endif /* STW_TEST_ROWS_H */
