/*
 * postgres.h - the PostgreSQL backend's opener (postgres.c), called by
 * store.c for postgres:// and postgresql:// URLs.
 */
#ifndef STW_STORE_POSTGRES_H
#define STW_STORE_POSTGRES_H

#include <stddef.h>

#include "store/store.h"

/*
 * Connects to the database a libpq connection URI names (the password from
 * the URI, PGPASSWORD or PGPASSFILE) and creates or checks the schema in
 * the first schema of its search path. On failure returns a code and, if
 * errbuf is not NULL, a message in it (never the password); *out is NULL.
 */
int stw__postgres_open(const char *url, int read_only, struct stw__store **out, char *errbuf,
		       size_t errcap);

#endif /* STW_STORE_POSTGRES_H */
