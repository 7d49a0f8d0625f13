/*
 * sqlite.h - the SQLite backend's own settings and test hooks. The store is
 * opened through store.h (stw__store_open); only store.c, the engine's
 * plumbing of its SQLite options (engine.c) and the backend's own tests
 * include this.
 */
#ifndef STW_STORE_SQLITE_H
#define STW_STORE_SQLITE_H

#include <stddef.h>

#include "store/store.h"

struct stw__sqlite_options {
	int synchronous; /* 0 OFF, 1 NORMAL, 2 FULL; -1: FULL */
	int read_only;   /* open an existing database for reading only */
	/* 1: the committing connection checkpoints the WAL itself (SQLite's
	 * default); 0: a background thread does (see sqlite_ckpt.c). */
	int inline_checkpoint;
	/* SQLite's page cache of the connection, in KiB; 0: SQLite's default (2 MiB). */
	int cache_kb;
};

/*
 * Opens (creating if needed) an SQLite store at path in WAL mode and
 * creates or checks the schema. On failure returns a code and, if errbuf is
 * not NULL, a message in it; *out is NULL.
 */
int stw__sqlite_open(const char *path, const struct stw__sqlite_options *opts,
		     struct stw__store **out, char *errbuf, size_t errcap);

/*
 * For the tests: the number of cached writing statements that build an
 * ephemeral table at each run (the first one's SQL in `first`); -1 on failure.
 */
int stw__sqlite_ephemeral_writes(struct stw__store *s, char *first, size_t cap);

/* For the tests: the checkpoints the WAL hook has asked the checkpointer for; -1 without one. */
long stw__sqlite_checkpoints_asked(struct stw__store *s);

/* For the tests: the connection's page cache size in KiB (PRAGMA cache_size); -1 on failure. */
long stw__sqlite_cache_kb(struct stw__store *s);

#endif /* STW_STORE_SQLITE_H */
