/*
 * fuzz_escaper.c - the CLI's terminal escaper (src/cli/text.c), which every
 * id, message and value from the store or the network goes through before
 * it reaches a terminal: table cells cut to a width, padded cells, values
 * quoted in messages (cut between words), and JSON output.
 *
 * Input: a byte for the width, then the text. The text is also parsed as
 * JSON (anything jansson takes, NUL escapes included) and, when it is JSON,
 * printed as the CLI prints it.
 *
 * Proves: no input crashes, leaks or reaches undefined behaviour; what the
 * escaper writes is valid UTF-8 without a control character (C0, DEL, C1)
 * or an invisible one (zero-width, bidi, line separators, BOM), so that
 * nothing from outside drives or hides in the terminal; a cell is no wider
 * than its width and its width is the columns it reports; a padded cell is
 * at least as wide as asked; a quoted value fits the buffer whose size the
 * contract gives; printed JSON is still JSON, equal to what was printed.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "text.h"

/*
 * 1 if s (n bytes) holds the UTF-8 form of a character the terminal must
 * never get raw (a newline aside when `lines`).
 */
static int has_hidden(const char *s, size_t n, int lines)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && !(lines && p[i] == '\n')) || p[i] == 0x7f)
			return 1;
		if (i + 1 < n && p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return 1; /* C1 controls */
		if (i + 2 < n && p[i] == 0xe2 && p[i + 1] == 0x80 &&
		    ((p[i + 2] >= 0x8b && p[i + 2] <= 0x8f) ||
		     (p[i + 2] >= 0xa8 && p[i + 2] <= 0xae)))
			return 1; /* U+200B..U+200F, U+2028..U+202E */
		if (i + 2 < n && p[i] == 0xe2 && p[i + 1] == 0x81 && p[i + 2] >= 0xa0 &&
		    p[i + 2] <= 0xa9)
			return 1; /* U+2060..U+2069 */
		if (i + 2 < n && p[i] == 0xef && p[i + 1] == 0xbb && p[i + 2] == 0xbf)
			return 1; /* U+FEFF */
	}
	return 0;
}

/* 1 if s (n bytes) is valid UTF-8: jansson takes only that as a string. */
static int is_utf8(const char *s, size_t n)
{
	json_t *v = json_stringn(s, n);
	json_decref(v);
	return v != NULL;
}

/* The characters of valid UTF-8 text (n bytes): one column each. */
static size_t columns(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	return cols;
}

/* Checks what the escaper wrote: n bytes at s. */
static void check_shown(const char *s, size_t n)
{
	FZ_CHECK(is_utf8(s, n));
	FZ_CHECK(!has_hidden(s, n, 0));
}

static void cells(const char *text, size_t width)
{
	struct stw__cli_buf b = { 0 };
	stw__cli_buf_puts(&b, "|");
	size_t cols = stw__cli_buf_cell(&b, text, width);
	FZ_CHECK(!b.oom);
	check_shown(b.p + 1, b.len - 1);
	FZ_CHECK(cols == columns(b.p + 1, b.len - 1));
	if (width > 3)
		FZ_CHECK(cols <= width);
	size_t at = b.len;
	stw__cli_buf_padded(&b, text, width);
	FZ_CHECK(!b.oom && columns(b.p + at, b.len - at) >= width);
	check_shown(b.p + at, b.len - at);
	free(b.p);
}

static void quoted(const char *text, size_t cols)
{
	/* At most 4 bytes per column plus 4 (text.h), and the NUL. */
	size_t cap = 4 * cols + 5;
	char *buf = malloc(cap);
	FZ_CHECK(buf != NULL);
	const char *s = stw__cli_shown_n(buf, cap, text, cols);
	FZ_CHECK(s == buf && strlen(s) < cap);
	check_shown(s, strlen(s));
	FZ_CHECK(columns(s, strlen(s)) <= cols);
	free(buf);
	char small[STW__CLI_SHOWN_CAP];
	s = stw__cli_shown(small, text);
	check_shown(s, strlen(s));
}

static void as_json(const char *text, size_t len)
{
	json_t *v = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
	if (v == NULL)
		return;
	for (int pretty = 0; pretty < 2; pretty++) {
		struct stw__cli_buf b = { 0 };
		if (stw__cli_json_text(&b, v, pretty) != 0) {
			free(b.p);
			continue; /* jansson cannot print it (a NaN cannot come from text) */
		}
		FZ_CHECK(is_utf8(b.p, b.len));
		FZ_CHECK(!has_hidden(b.p, b.len, pretty));
		json_t *back = json_loadb(b.p, b.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		FZ_CHECK(back != NULL && json_equal(v, back));
		json_decref(back);
		free(b.p);
	}
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t width = data[0];
	char *text = fz_string(data + 1, size - 1);
	cells(text, width);
	quoted(text, width < 5 ? 5 : width);
	as_json((const char *)data + 1, size - 1);
	free(text);
	return 0;
}
