/*
 * text.c - the growable string, the terminal escaper and the printing of
 * messages and JSON (see text.h).
 */
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_COLS   60  /* columns of a value quoted in a message (stw__cli_shown) */
#define MESSAGE_COLS 400 /* columns of a message from the store or daemon */
#define UNIT_MAX     16  /* bytes of one shown unit: a character or its escape */

/* Growable strings ------------------------------------------------------------ */

void stw__cli_buf_putn(struct stw__cli_buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void stw__cli_buf_puts(struct stw__cli_buf *b, const char *s)
{
	stw__cli_buf_putn(b, s, strlen(s));
}

void stw__cli_buf_printf(struct stw__cli_buf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		/* Only numbers and short words are formatted this way. */
		b->oom = 1;
		return;
	}
	stw__cli_buf_putn(b, tmp, (size_t)n);
}

const char *stw__cli_buf_str(const struct stw__cli_buf *b)
{
	if (b->oom)
		return NULL;
	return b->p ? b->p : "";
}

/* Escaping for the terminal ------------------------------------------------------ */

/*
 * Decodes one UTF-8 sequence at s (n >= 1 bytes available). Returns its
 * length and the code point in *cp, or 0 when the bytes are not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1fu;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0fu;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Code points a terminal does not print but obeys or hides: C1 controls,
 * zero-width characters, line separators, bidi embeddings and overrides,
 * and the byte order mark.
 */
static int is_invisible(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/*
 * Reads the display unit of s (n bytes) at *i and writes how to show it into
 * out: the character itself, or an escape (\n, \t, \r, \xNN for a control
 * character or a byte that is not UTF-8, \uNNNN for an invisible
 * character). Advances *i, sets *outlen and returns the unit's width in
 * columns (every character counts as one).
 */
static size_t next_unit(const char *s, size_t n, size_t *i, char out[UNIT_MAX], size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	uint32_t cp = 0;
	size_t len = utf8_decode(u, n - *i, &cp);
	int w;
	if (len == 0) {
		w = snprintf(out, UNIT_MAX, "\\x%02x", u[0]);
		len = 1;
	} else if (cp == '\n') {
		w = snprintf(out, UNIT_MAX, "\\n");
	} else if (cp == '\t') {
		w = snprintf(out, UNIT_MAX, "\\t");
	} else if (cp == '\r') {
		w = snprintf(out, UNIT_MAX, "\\r");
	} else if (cp < 0x20 || cp == 0x7f) {
		w = snprintf(out, UNIT_MAX, "\\x%02x", (unsigned)cp);
	} else if (is_invisible(cp)) {
		w = snprintf(out, UNIT_MAX, "\\u%04x", (unsigned)cp);
	} else {
		memcpy(out, u, len);
		*outlen = len;
		*i += len;
		return 1;
	}
	*i += len;
	*outlen = (size_t)w;
	return (size_t)w;
}

/*
 * Appends s escaped to b, cut to max columns when max > 4 and s is wider.
 * A cell (words 0) is cut after any character and ends with "..."; a
 * message (words 1) is cut between words when it has a space to cut at,
 * and ends with " ...". A character or its escape is never cut. Returns
 * the columns appended.
 */
static size_t escape(struct stw__cli_buf *b, const char *s, size_t max, int words)
{
	size_t n = strlen(s), i = 0, total = 0, ol = 0, cols = 0, start = b->len;
	size_t more = words ? 4 : 3; /* the columns of " ..." or "..." */
	char out[UNIT_MAX];
	if (max > more) {
		while (i < n)
			total += next_unit(s, n, &i, out, &ol);
		i = 0;
	}
	size_t limit = max > more && total > max ? max - more : SIZE_MAX;
	size_t word_len = 0, word_cols = 0; /* what is kept when cut before the last space */
	int at_space = 0;                   /* the unit that did not fit is a space */
	while (i < n) {
		int space = s[i] == ' ';
		size_t w = next_unit(s, n, &i, out, &ol);
		if (cols + w > limit) {
			at_space = space;
			break;
		}
		if (space && cols > 0) {
			word_len = b->len - start;
			word_cols = cols;
		}
		stw__cli_buf_putn(b, out, ol);
		cols += w;
	}
	if (limit == SIZE_MAX)
		return cols;
	const char *tail = "...";
	if (words && (at_space || word_cols > 0)) {
		if (!at_space && !b->oom) {
			b->len = start + word_len;
			b->p[b->len] = '\0';
			cols = word_cols;
		}
		tail = " ...";
	}
	stw__cli_buf_puts(b, tail);
	return cols + strlen(tail);
}

size_t stw__cli_buf_cell(struct stw__cli_buf *b, const char *s, size_t max)
{
	return escape(b, s, max, 0);
}

void stw__cli_buf_padded(struct stw__cli_buf *b, const char *s, size_t width)
{
	for (size_t cols = stw__cli_buf_cell(b, s, 0); cols < width; cols++)
		stw__cli_buf_putn(b, " ", 1);
}

const char *stw__cli_shown_n(char *buf, size_t cap, const char *s, size_t cols)
{
	struct stw__cli_buf b = { 0 };
	escape(&b, s ? s : "(null)", cols, 1);
	const char *r = stw__cli_buf_str(&b);
	snprintf(buf, cap, "%s", r ? r : "?");
	free(b.p);
	return buf;
}

const char *stw__cli_shown(char buf[STW__CLI_SHOWN_CAP], const char *s)
{
	return stw__cli_shown_n(buf, STW__CLI_SHOWN_CAP, s, SHOWN_COLS);
}

/* Printing ---------------------------------------------------------------------- */

void stw__cli_error(const char *fmt, ...)
{
	va_list ap;
	fputs("steward: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void stw__cli_error_text(const char *prefix, const char *text, const char *suffix)
{
	struct stw__cli_buf b = { 0 };
	escape(&b, text, MESSAGE_COLS, 1);
	const char *s = stw__cli_buf_str(&b);
	stw__cli_error("%s%s%s", prefix, s ? s : "out of memory", suffix);
	free(b.p);
}

int stw__cli_json_text(struct stw__cli_buf *b, const json_t *v, int pretty)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	if (s == NULL)
		return -1;
	size_t n = strlen(s), start = 0, i = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (len == 0)
			len = 1; /* jansson writes valid UTF-8; be safe anyway */
		if (cp == 0x7f || is_invisible(cp)) {
			stw__cli_buf_putn(b, s + start, i - start);
			stw__cli_buf_printf(b, "\\u%04x", (unsigned)cp);
			start = i + len;
		}
		i += len;
	}
	stw__cli_buf_putn(b, s + start, n - start);
	free(s);
	return b->oom ? -1 : 0;
}

int stw__cli_print_json(const json_t *v, int pretty)
{
	struct stw__cli_buf b = { 0 };
	const char *s = stw__cli_json_text(&b, v, pretty) == 0 ? stw__cli_buf_str(&b) : NULL;
	if (s == NULL) {
		free(b.p);
		stw__cli_error("out of memory");
		return 1;
	}
	fwrite(s, 1, b.len, stdout);
	fputc('\n', stdout);
	free(b.p);
	return 0;
}
