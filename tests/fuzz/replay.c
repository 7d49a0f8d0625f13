/*
 * replay.c - a main for the fuzz targets outside libFuzzer: feeds each file
 * named on the command line, and each file of each directory named (in name
 * order), to LLVMFuzzerTestOneInput once, in a buffer of exactly its size
 * (so that the sanitizers see a read past its end). A crash, a sanitizer's
 * report or a failed check (fz_fail) ends the run; otherwise it prints how
 * many inputs it ran and exits 0.
 *
 * The gcc builds (dev, asan-ubsan) link every target with it, and ctest runs
 * each over its corpus (tests/fuzz/corpus/<target>/, label fuzz): the corpus
 * is the regression test of what the fuzzers found.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* The largest input replayed; a corpus file is small. */
#define REPLAY_MAX (4 << 20)

/* Runs one file. Returns 0, or -1 (with a message) when it cannot be read. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = malloc(REPLAY_MAX);
	size_t n = buf ? fread(buf, 1, REPLAY_MAX, f) : 0;
	int bad = buf == NULL || ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "replay: %s: cannot read it (or it is larger than %d bytes)\n",
			path, REPLAY_MAX);
		free(buf);
		return -1;
	}
	/* Exactly its size: a read past the end is caught. */
	uint8_t *exact = malloc(n ? n : 1);
	if (exact == NULL) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	printf("%s\n", path); /* which input a finding came from */
	fflush(stdout);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

/* Keeps the names that are not "." or "..". */
static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* Runs every file of a directory, in name order; *count counts them. */
static int run_dir(const char *dir, long *count)
{
	struct dirent **names = NULL;
	int n = scandir(dir, &names, not_dots, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			rc = run_file(path);
			*count += rc == 0;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	long count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) : run_file(argv[i]);
		count += rc == 0 && !S_ISDIR(st.st_mode);
		if (rc != 0)
			return 1;
	}
	printf("replay: %ld inputs, no finding\n", count);
	return 0;
}
