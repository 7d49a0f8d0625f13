/*
 * test_store.c - opening a store by its URL (src/store/store.c): a bare
 * path and "sqlite:PATH" open SQLite, "?synchronous=" is its one setting,
 * other settings and unknown schemes are refused by name, and a URL is
 * shown without its password; a PostgreSQL URL that fails says why
 * without its password.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include <steward.h>

#include "fixture.h"
#include "store/store.h"

/* Opens url; on success checks that the store works and closes it. */
static int try_open(const char *url, char *err, size_t cap)
{
	struct stw__store *s = (struct stw__store *)1;
	err[0] = '\0';
	int rc = stw__store_open(url, NULL, &s, err, cap);
	if (rc != STW_OK) {
		assert_null(s);
		return rc;
	}
	int64_t head = -1;
	assert_int_equal(STW__S(s, head, "Billing", &head), STW_OK);
	assert_int_equal(head, 0);
	STW__S0(s, close);
	return rc;
}

/* A path, "sqlite:PATH" and "sqlite:PATH?synchronous=..." open the same SQLite file. */
static void test_sqlite_urls(void **state)
{
	struct fx_world *w = *state;
	char url[sizeof(w->db) + 64], err[256];
	assert_int_equal(try_open(w->db, err, sizeof err), STW_OK);
	snprintf(url, sizeof url, "sqlite:%s", w->db);
	assert_int_equal(try_open(url, err, sizeof err), STW_OK);
	static const char *const levels[] = { "off", "normal", "full", "0", "1", "2" };
	for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		snprintf(url, sizeof url, "sqlite:%s?synchronous=%s", w->db, levels[i]);
		assert_int_equal(try_open(url, err, sizeof err), STW_OK);
	}
	assert_int_equal(try_open("sqlite::memory:", err, sizeof err), STW_OK);
	assert_int_equal(try_open(":memory:", err, sizeof err), STW_OK);
	/* A name with a colon but no "//" is a path. */
	snprintf(url, sizeof url, "%s/odd:name.db", w->dir);
	assert_int_equal(try_open(url, err, sizeof err), STW_OK);
}

/* What is not a store URL is refused with STW_EINVAL and a message naming it. */
static void test_refused(void **state)
{
	struct fx_world *w = *state;
	char url[sizeof(w->db) + 64], err[256];
	snprintf(url, sizeof url, "sqlite:%s?synchronous=fast", w->db);
	assert_int_equal(try_open(url, err, sizeof err), STW_EINVAL);
	assert_non_null(strstr(err, "synchronous=fast"));
	snprintf(url, sizeof url, "sqlite:%s?cache=1", w->db);
	assert_int_equal(try_open(url, err, sizeof err), STW_EINVAL);
	assert_non_null(strstr(err, "cache=1"));
	assert_int_equal(try_open("sqlite:", err, sizeof err), STW_EINVAL);
	assert_int_equal(try_open("mysql://host/db", err, sizeof err), STW_EINVAL);
	assert_non_null(strstr(err, "mysql"));
	assert_int_equal(try_open("", err, sizeof err), STW_EINVAL);
	struct stw__store *s = NULL;
	assert_int_equal(stw__store_open(NULL, NULL, &s, NULL, 0), STW_EINVAL);
	assert_int_equal(stw__store_open(w->db, NULL, NULL, NULL, 0), STW_EINVAL);
}

/* stw__store_shown hides passwords, in the user part or as a parameter, and nothing else. */
static void test_shown(void **state)
{
	(void)state;
	static const struct {
		const char *url, *shown;
	} cases[] = {
		{ "postgres://ann:s3cret@db.example/steward",
		  "postgres://ann:***@db.example/steward" },
		{ "postgresql://ann@db/steward", "postgresql://ann@db/steward" },
		{ "postgresql://ann:p@ss@db:5432/x?sslmode=require",
		  "postgresql://ann:***@db:5432/x?sslmode=require" },
		{ "postgresql:///steward?host=/tmp/s&password=hunter2&user=ann",
		  "postgresql:///steward?host=/tmp/s&password=***&user=ann" },
		{ "postgresql://db/x?password=a", "postgresql://db/x?password=***" },
		{ "/var/lib/steward/app.db", "/var/lib/steward/app.db" },
		{ "sqlite:app.db?synchronous=normal", "sqlite:app.db?synchronous=normal" },
		{ "postgresql://db/x?a=b:c@d", "postgresql://db/x?a=b:c@d" },
	};
	char buf[256];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		stw__store_shown(cases[i].url, buf, sizeof buf);
		assert_string_equal(buf, cases[i].shown);
	}
	/* Truncated, never past the buffer. */
	stw__store_shown("postgres://ann:s3cret@db.example/steward", buf, 12);
	assert_string_equal(buf, "postgres://");
	stw__store_shown(NULL, buf, sizeof buf);
	assert_string_equal(buf, "");
}

/*
 * A PostgreSQL URL that cannot connect fails with a message that holds
 * neither the password of its user part nor a password parameter.
 */
static void test_postgres_password_kept(void **state)
{
	(void)state;
	static const char *const urls[] = {
		"postgresql://ann:s3cret@/steward?host=/nonexistent-stw&connect_timeout=2",
		"postgres:///steward?host=/nonexistent-stw&user=ann&password=s3cret",
	};
	char err[512];
	for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
		assert_int_not_equal(try_open(urls[i], err, sizeof err), STW_OK);
		assert_true(strlen(err) > 0);
		assert_null(strstr(err, "s3cret"));
	}
}

static int setup(void **state)
{
	return fx_new(state, sizeof(struct fx_world), "store", FX_T0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sqlite_urls, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, fx_teardown),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_postgres_password_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
