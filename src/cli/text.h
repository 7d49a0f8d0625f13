/*
 * text.h - text the steward program shows a person: a growable string, the
 * escaper everything from the store or the network goes through, messages
 * on stderr and JSON documents on stdout.
 *
 * The escaper shows control characters, invisible format characters (bidi
 * overrides, zero-width spaces, line separators) and bytes that are not
 * UTF-8 as escapes (\n, \t, \r, \xNN, \uNNNN), so that hostile ids or event
 * data cannot drive the terminal. Every character counts as one column.
 */
#ifndef STW_CLI_TEXT_H
#define STW_CLI_TEXT_H

#include <stddef.h>

#include <jansson.h>

#if defined(__GNUC__)
#define STW__CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define STW__CLI_PRINTF(f, a)
#endif

/* The buffer of one value quoted in a message (stw__cli_shown). */
#define STW__CLI_SHOWN_CAP 256

/*
 * A NUL-terminated string that grows; `oom` is sticky and makes later
 * appends no-ops. Zero-initialise it; free `p` when done.
 */
struct stw__cli_buf {
	char *p; /* the string, or NULL while empty */
	size_t len, cap;
	int oom; /* an append ran out of memory */
};

/* Appends n bytes of s and keeps the string NUL-terminated; sets b->oom on failure. */
void stw__cli_buf_putn(struct stw__cli_buf *b, const char *s, size_t n);
void stw__cli_buf_puts(struct stw__cli_buf *b, const char *s);

/* Appends a formatted number or short word (at most 127 bytes; longer sets b->oom). */
void stw__cli_buf_printf(struct stw__cli_buf *b, const char *fmt, ...) STW__CLI_PRINTF(2, 3);

/* The string built so far ("" when empty), or NULL if an append ran out of memory. */
const char *stw__cli_buf_str(const struct stw__cli_buf *b);

/*
 * Appends s to b as it is safe to show in a terminal, as a table cell: when
 * max > 3 and s is wider than max columns, it is cut to max - 3 columns
 * (after any character, never inside one or its escape) and "..." is
 * appended; max 0 never cuts. Returns the columns appended.
 */
size_t stw__cli_buf_cell(struct stw__cli_buf *b, const char *s, size_t max);

/* Appends s escaped (never cut), then spaces up to `width` columns. */
void stw__cli_buf_padded(struct stw__cli_buf *b, const char *s, size_t width);

/*
 * Writes s escaped into buf (cap bytes; at most 4 bytes per column plus 4
 * are needed) and returns buf; NULL shows as "(null)". For messages that
 * quote what the user or the daemon said: when s is wider than `cols`
 * columns it is cut between words where it has a space to cut at, and
 * " ..." is appended.
 */
const char *stw__cli_shown_n(char *buf, size_t cap, const char *s, size_t cols);

/* stw__cli_shown_n into a buffer of STW__CLI_SHOWN_CAP bytes, cut to 60 columns. */
const char *stw__cli_shown(char buf[STW__CLI_SHOWN_CAP], const char *s);

/* Prints "steward: MESSAGE" on stderr. */
void stw__cli_error(const char *fmt, ...) STW__CLI_PRINTF(1, 2);

/*
 * Prints "steward: PREFIX TEXT SUFFIX" on stderr, with TEXT (a message from
 * the store or the daemon) escaped, and past 400 columns cut between words
 * as stw__cli_shown_n cuts. PREFIX and SUFFIX are printed as they are.
 */
void stw__cli_error_text(const char *prefix, const char *text, const char *suffix);

/*
 * Appends v to b as JSON, indented when pretty. jansson escapes control
 * characters below 0x20; this also escapes DEL and the invisible
 * characters, which stays valid JSON (they can only occur inside strings).
 * Returns 0, or -1 when out of memory.
 */
int stw__cli_json_text(struct stw__cli_buf *b, const json_t *v, int pretty);

/*
 * Prints v on stdout as stw__cli_json_text writes it, followed by a
 * newline. Returns 0, or 1 when out of memory.
 */
int stw__cli_print_json(const json_t *v, int pretty);

#endif /* STW_CLI_TEXT_H */
