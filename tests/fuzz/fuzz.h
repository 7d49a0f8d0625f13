/*
 * fuzz.h - what the fuzz targets share: the entry point that libFuzzer (or
 * replay.c) calls with each input, an input cut into fields, and a check
 * that stops the run when a property of the code under test does not hold.
 *
 * Test code only. A target keeps what it opens once (an engine) in a static
 * of its own and closes it at exit; everything an input allocates is freed
 * before the call returns, so that a leak is the code's, not the target's.
 */
#ifndef STW_FUZZ_H
#define STW_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Called once per input: data is size bytes, not NUL-terminated. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The most lines an input is cut into (fz_split). */
#define FZ_MAX_LINES 16

/*
 * An input cut into lines and a rest. Each of the first n lines ends at
 * '\n' (or at the end of the input) and is a NUL-terminated string, cut at
 * its first NUL byte if it holds one; lines past the end of the input are
 * NULL. The rest is what follows the n-th line, as it is (NUL bytes and
 * newlines included), NUL-terminated, len bytes.
 */
struct fz_input {
	char *buf; /* the copy the lines and the rest point into */
	const char *line[FZ_MAX_LINES];
	const char *rest;
	size_t len;
};

/* Cuts data (size bytes) into n <= FZ_MAX_LINES lines and a rest. Aborts when out of memory. */
void fz_split(const uint8_t *data, size_t size, int n, struct fz_input *in);

/* Frees what fz_split allocated. */
void fz_free(struct fz_input *in);

/* A header of the input: line i, or NULL when it is absent or empty. */
const char *fz_header(const struct fz_input *in, int i);

/* A copy of data as a NUL-terminated string (cut at its first NUL byte); free it. */
char *fz_string(const uint8_t *data, size_t size);

/* Prints where and what failed on stderr and aborts: a finding. */
void fz_fail(const char *file, int line, const char *what);

#define FZ_CHECK(cond)                                                                             \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fz_fail(__FILE__, __LINE__, #cond);                                        \
	} while (0)

#endif /* STW_FUZZ_H */
