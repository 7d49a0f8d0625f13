/*
 * table.h - what the commands print for a person: tables whose columns are
 * aligned, "key  value" lines, and the fields of the API's JSON documents as
 * cell text. Every cell goes through the escaper of text.h.
 */
#ifndef STW_CLI_TABLE_H
#define STW_CLI_TABLE_H

#include <stddef.h>

#include <jansson.h>

/* The most columns a table has. */
#define STW__CLI_TABLE_MAX_COLS 9

/*
 * Rows of escaped cells, printed with columns aligned. Fill ncols, head and
 * caps, zero the rest; release it with stw__cli_table_free.
 */
struct stw__cli_table {
	int ncols;               /* at most STW__CLI_TABLE_MAX_COLS */
	const char *const *head; /* column titles (ASCII) */
	const size_t *caps;      /* the widest a cell may be, in columns; 0: no limit */
	char **cells;            /* nrows * ncols escaped cells */
	size_t *widths;          /* the width of each cell in columns */
	size_t nrows, caprows;
	int oom; /* a row could not be added (sticky) */
};

/* Adds a row of ncols values (copied; NULL shows as "-"); sets t->oom on failure. */
void stw__cli_table_add(struct stw__cli_table *t, const char *const *vals);

/* Prints the table on stdout, each line after `indent`. The last column is not padded. */
void stw__cli_table_print(const struct stw__cli_table *t, const char *indent);

/* Releases the rows (not the struct itself). */
void stw__cli_table_free(struct stw__cli_table *t);

/* Prints "key        value" with the value escaped. Returns 0, or 1 when out of memory. */
int stw__cli_print_field(const char *key, const char *value);

/* A string field of o (borrowed), or NULL. */
const char *stw__cli_str_of(const json_t *o, const char *key);

/* An integer field as text into buf, or "-". */
const char *stw__cli_int_of(char buf[32], const json_t *o, const char *key);

/* A UTC millisecond timestamp field as ISO-8601 into buf (with milliseconds if ms), or "-". */
const char *stw__cli_time_of(char buf[48], const json_t *o, const char *key, int ms);

#endif /* STW_CLI_TABLE_H */
