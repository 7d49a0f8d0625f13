/*
 * test_sqlite_ckpt.c - the SQLite store's checkpoints (src/store/sqlite_ckpt.c):
 * on a thread of their own, named stw-checkpoint, once the WAL passes 1,000
 * pages; not asked again at every small commit while a reader keeps the WAL
 * from emptying; inline on the committing connection when asked to.
 *
 * Every test opens a fresh database in its own temporary directory, which
 * the teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fixture.h"
#include "rows.h"
#include "sqlite_fixture.h"
#include "store/sqlite.h"

#include <sqlite3.h>
#include <steward.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Appends `n` events of 2 KiB each in commits of 50. */
static void append_big(struct stw__store *s, int n)
{
	/* {"pad":"xxx...x"} with 2,048 x */
	static char data[2048 + 16];
	size_t head = (size_t)snprintf(data, sizeof data, "{\"pad\":\"");
	memset(data + head, 'x', 2048);
	snprintf(data + head + 2048, sizeof data - head - 2048, "\"}");
	for (int i = 0; i < n; i++) {
		if (i % 50 == 0)
			assert_int_equal(STW__S0(s, begin), STW_OK);
		char id[32];
		snprintf(id, sizeof id, "big%d", i);
		struct stw__event_row r = ev("Big", id, "s");
		r.data = data;
		int64_t pos = 0, ver = 0;
		assert_int_equal(STW__S(s, append, &r, &pos, &ver), STW_OK);
		if (i % 50 == 49 || i == n - 1)
			assert_int_equal(STW__S0(s, commit), STW_OK);
	}
}

static long file_size(const char *path)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	long n = ftell(fp);
	fclose(fp);
	return n;
}

/* The threads of this process (Linux). */
static int thread_count(void)
{
	FILE *fp = fopen("/proc/self/status", "r");
	assert_non_null(fp);
	char line[256];
	int n = -1;
	while (fgets(line, sizeof line, fp) != NULL)
		if (strncmp(line, "Threads:", 8) == 0)
			n = (int)strtol(line + 8, NULL, 10);
	fclose(fp);
	return n;
}

/* The threads of this process named `name` (Linux: /proc/self/task/TID/comm). */
static int threads_named(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	assert_non_null(d);
	int n = 0;
	for (struct dirent *t; (t = readdir(d)) != NULL;) {
		char path[300], comm[64] = "";
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", t->d_name);
		FILE *fp = t->d_name[0] == '.' ? NULL : fopen(path, "r");
		if (fp != NULL && fgets(comm, sizeof comm, fp) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
			n += strcmp(comm, name) == 0;
		}
		if (fp != NULL)
			fclose(fp);
	}
	closedir(d);
	return n;
}

/*
 * The WAL is checkpointed by the store's background thread, named
 * stw-checkpoint: once the WAL passes 1,000 pages its pages reach the
 * database file, and the committing connection, whose own automatic
 * checkpoints are replaced, keeps going. Closing joins the thread (ASan and
 * valgrind see it end).
 */
static void test_background_checkpoint(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(thread_count(), 2); /* this one and the checkpointer */
	/* The checkpointer is named, for top -H and perf. */
	assert_int_equal(threads_named("stw-checkpoint"), 1);
	long before = file_size(f->path);
	append_big(f->s, 2500); /* about 2,500 pages of WAL */
	/* The checkpoint runs on the other thread: wait for it (at most 10 s). */
	long after = before;
	for (int i = 0; i < 1000 && after < before + 1000L * 4096; i++) {
		usleep(10000);
		after = file_size(f->path);
	}
	assert_true(after >= before + 1000L * 4096);
}

/*
 * A WAL that cannot be emptied (a reader holds an old snapshot) stays past
 * the checkpoint size: the next checkpoint is asked for once another 1,000
 * pages are written, not at each of the small commits that follow.
 */
static void test_checkpoint_not_at_every_commit(void **state)
{
	struct fixture *f = *state;
	sqlite3 *reader = NULL;
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(reader, "SELECT count(*) FROM stw_events", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW); /* the snapshot is taken */
	append_big(f->s, 1100);                         /* past 1,000 pages of WAL */
	long asked = stw__sqlite_checkpoints_asked(f->s);
	assert_true(asked >= 1);
	for (int i = 0; i < 200; i++) {
		char id[32];
		snprintf(id, sizeof id, "small%d", i);
		struct stw__event_row r = ev("Small", id, "s");
		int64_t pos = 0, ver = 0;
		assert_int_equal(STW__S(f->s, append, &r, &pos, &ver), STW_OK);
	}
	/* 200 commits of a few pages each: at most one more checkpoint. */
	assert_true(stw__sqlite_checkpoints_asked(f->s) <= asked + 1);
	sqlite3_finalize(st);
	sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(reader);
}

/* With inline_checkpoint the committing connection checkpoints, as SQLite does. */
static void test_inline_checkpoint(void **state)
{
	struct fixture *f = *state;
	STW__S0(f->s, close);
	char err[256] = "";
	struct stw__sqlite_options o = { .synchronous = 1, .inline_checkpoint = 1 };
	assert_int_equal(stw__sqlite_open(f->path, &o, &f->s, err, sizeof err), STW_OK);
	assert_int_equal(thread_count(), 1);
	long before = file_size(f->path);
	append_big(f->s, 2500);
	/* SQLite checkpointed on the committing thread: no waiting needed. */
	assert_true(file_size(f->path) >= before + 1000L * 4096);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, sqlite_fixture_setup, sqlite_fixture_teardown)
		T(test_background_checkpoint),
		T(test_inline_checkpoint),
		T(test_checkpoint_not_at_every_commit),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
