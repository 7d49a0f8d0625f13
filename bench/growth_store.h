/*
 * growth_store.h - the stores of bench_growth (growth_store.c): built by
 * multiplying a seed store's rows in SQLite, and measured in bytes.
 */
#ifndef STW_BENCH_GROWTH_STORE_H
#define STW_BENCH_GROWTH_STORE_H

#include <sqlite3.h>
#include <stdint.h>

/* Progress while building (printf-like; says nothing when stderr is not a terminal). */
typedef void growth_note_fn(const char *fmt, ...);

/* Runs sql on db; 0, or 1 with the error on stderr. */
int growth_db_exec(sqlite3 *db, const char *sql);

/* Opens the database at path; NULL with the error on stderr. */
sqlite3 *growth_db_open(const char *path);

/* The bytes of pages in use (the freelist left out), after a checkpoint; -1 on failure. */
double growth_used_bytes(const char *path);

/*
 * Multiplies the seed store at `path` (seed processes) to n processes; 0, or
 * 1 with the error on stderr.
 */
int growth_build(const char *path, long seed, long n, growth_note_fn *note);

#endif
