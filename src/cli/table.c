/*
 * table.c - tables, field lines and JSON fields as text (see table.h).
 */
#include "table.h"
#include "text.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void stw__cli_table_add(struct stw__cli_table *t, const char *const *vals)
{
	if (t->oom)
		return;
	if (t->nrows == t->caprows) {
		size_t cap = t->caprows ? t->caprows * 2 : 16;
		char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*cells));
		if (cells == NULL) {
			t->oom = 1;
			return;
		}
		t->cells = cells;
		size_t *widths = realloc(t->widths, cap * (size_t)t->ncols * sizeof(*widths));
		if (widths == NULL) {
			t->oom = 1;
			return;
		}
		t->widths = widths;
		t->caprows = cap;
	}
	size_t base = t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		struct stw__cli_buf b = { 0 };
		t->widths[base + i] = stw__cli_buf_cell(&b, vals[i] ? vals[i] : "-", t->caps[i]);
		if (stw__cli_buf_str(&b) == NULL || (b.p == NULL && (b.p = calloc(1, 1)) == NULL)) {
			free(b.p);
			for (int j = 0; j < i; j++)
				free(t->cells[base + j]);
			t->oom = 1;
			return;
		}
		t->cells[base + i] = b.p;
	}
	t->nrows++;
}

void stw__cli_table_print(const struct stw__cli_table *t, const char *indent)
{
	size_t w[STW__CLI_TABLE_MAX_COLS] = { 0 };
	assert(t->ncols <= STW__CLI_TABLE_MAX_COLS);
	for (int c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++)
			if (t->widths[r * (size_t)t->ncols + c] > w[c])
				w[c] = t->widths[r * (size_t)t->ncols + c];
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		fputs(indent, stdout);
		for (int c = 0; c < t->ncols; c++) {
			const char *s =
			    r == 0 ? t->head[c] : t->cells[(r - 1) * (size_t)t->ncols + c];
			size_t sw = r == 0 ? strlen(s) : t->widths[(r - 1) * (size_t)t->ncols + c];
			fputs(s, stdout);
			if (c + 1 < t->ncols)
				printf("%*s", (int)(w[c] - sw + 2), "");
		}
		fputc('\n', stdout);
	}
}

void stw__cli_table_free(struct stw__cli_table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
}

int stw__cli_print_field(const char *key, const char *value)
{
	struct stw__cli_buf b = { 0 };
	stw__cli_buf_cell(&b, value ? value : "-", 0);
	const char *s = stw__cli_buf_str(&b);
	if (s != NULL)
		printf("%-11s %s\n", key, s);
	free(b.p);
	return s == NULL;
}

/* Fields of JSON documents ---------------------------------------------------------- */

const char *stw__cli_str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *stw__cli_int_of(char buf[32], const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return "-";
	snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

const char *stw__cli_time_of(char buf[48], const json_t *o, const char *key, int ms)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return "-";
	json_int_t t = json_integer_value(v);
	json_int_t secs = t / 1000, milli = t % 1000;
	if (milli < 0) {
		milli += 1000;
		secs--;
	}
	time_t tt = (time_t)secs;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		return "-";
	size_t n = strftime(buf, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return "-";
	if (ms)
		snprintf(buf + n, 48 - n, ".%03dZ", (int)milli);
	else
		snprintf(buf + n, 48 - n, "Z");
	return buf;
}
