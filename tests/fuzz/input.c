/*
 * input.c - inputs cut into lines, and the check that stops a run (fuzz.h).
 */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
	abort();
}

void fz_split(const uint8_t *data, size_t size, int n, struct fz_input *in)
{
	memset(in, 0, sizeof(*in));
	in->buf = malloc(size + 1);
	if (in->buf == NULL)
		fz_fail(__FILE__, __LINE__, "out of memory");
	if (size > 0)
		memcpy(in->buf, data, size);
	in->buf[size] = '\0';
	size_t at = 0;
	for (int i = 0; i < n && i < FZ_MAX_LINES && at < size; i++) {
		in->line[i] = in->buf + at;
		char *nl = memchr(in->buf + at, '\n', size - at);
		if (nl == NULL) {
			at = size;
			break;
		}
		*nl = '\0';
		at = (size_t)(nl - in->buf) + 1;
	}
	in->rest = in->buf + at;
	in->len = size - at;
}

void fz_free(struct fz_input *in)
{
	free(in->buf);
	memset(in, 0, sizeof(*in));
}

const char *fz_header(const struct fz_input *in, int i)
{
	const char *s = in->line[i];
	return s != NULL && *s != '\0' ? s : NULL;
}

char *fz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		fz_fail(__FILE__, __LINE__, "out of memory");
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
