/*
 * fuzz_config.c - the settings of `steward serve` (src/cli/config.c): an INI
 * file read as libinih reads it through config.c's line reader (line
 * lengths, sections, [remote NAME] names, numbers and their ranges, URLs,
 * listen addresses, paths relative to the file, [contexts] accept lists,
 * duplicate plugins), then checked and printed as --check-config prints it.
 * Each line of the input is also given, on its own, to the parsers of the
 * flags and environment variables: --remote NAME=URL, --listen,
 * synchronous, --accept-contexts and --stuck-after.
 *
 * Input: the file. It is read from memory as /fuzz/steward.conf, so its
 * relative paths point into a directory that does not exist.
 *
 * Proves: no file or flag crashes, leaks or reaches undefined behaviour; a
 * refusal says where ("/fuzz/steward.conf:LINE: ..." or the flag's message),
 * and a file that is taken holds what the settings promise (a remote has a
 * context name, every number is in its range).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz.h"

#define PATH "/fuzz/steward.conf"

/* What a file that was taken must hold. */
static void check_taken(const struct stw__cli_serve_config *c)
{
	FZ_CHECK(c->file != NULL && strcmp(c->file, PATH) == 0);
	for (size_t i = 0; i < c->nremotes; i++) {
		const struct stw__cli_serve_remote *r = &c->remotes[i];
		FZ_CHECK(r->name != NULL && r->name[0] != '\0');
		FZ_CHECK(r->connect_timeout_ms >= 0 && r->timeout_ms >= 0);
		FZ_CHECK(r->max_attempts >= 0 && r->backoff_ms >= 0 && r->backoff_max_ms >= 0);
	}
	for (size_t i = 0; i < c->nload; i++)
		FZ_CHECK(c->load[i][0] == '/' && c->load_line[i] > 0);
	FZ_CHECK(c->synchronous >= -1 && c->synchronous <= 2);
	FZ_CHECK(c->stuck_after_s >= 0 && c->stuck_after_s <= STW__CLI_MAX_STUCK_AFTER_S);
}

/* One line as a flag or an environment variable would give it. */
static void flags(const char *line)
{
	struct stw__cli_serve_config c;
	char err[512] = "";
	int sync = -1;
	stw__cli_config_init(&c);
	if (stw__cli_config_remote_flag(&c, line, err, sizeof(err)) != 0)
		FZ_CHECK(err[0] != '\0');
	if (stw__cli_config_listen(line, err, sizeof(err)) == 0)
		FZ_CHECK(strcmp(line, "off") == 0 || line[0] != '\0');
	if (stw__cli_config_synchronous(line, &sync) == 0)
		FZ_CHECK(sync >= 0 && sync <= 2);
	long long stuck = 0;
	if (stw__cli_config_stuck_after(line, &stuck, err, sizeof(err)) == 0)
		FZ_CHECK(stuck >= 1 && stuck <= STW__CLI_MAX_STUCK_AFTER_S);
	err[0] = '\0';
	if (stw__cli_config_accept(&c, line, err, sizeof(err)) != 0)
		FZ_CHECK(err[0] != '\0');
	stw__cli_config_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fz_string(data, size);
	/* The copy holds every byte, NULs included; an empty file is one NUL byte. */
	FILE *f = fmemopen(text, size > 0 ? size : 1, "r");
	FZ_CHECK(f != NULL);
	struct stw__cli_serve_config c;
	char err[1024] = "";
	stw__cli_config_init(&c);
	if (stw__cli_config_read_stream(&c, f, PATH, err, sizeof(err)) == 0) {
		check_taken(&c);
		char *out = NULL;
		size_t len = 0;
		FILE *mem = open_memstream(&out, &len);
		FZ_CHECK(mem != NULL);
		if (stw__cli_config_validate(&c, err, sizeof(err)) != 0)
			FZ_CHECK(err[0] != '\0');
		stw__cli_config_print(&c, mem);
		fclose(mem);
		free(out);
	} else {
		FZ_CHECK(strncmp(err, PATH, strlen(PATH)) == 0);
	}
	fclose(f);
	stw__cli_config_free(&c);
	for (char *line = text, *nl; line != NULL; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl = '\0';
		flags(line);
	}
	free(text);
	return 0;
}
