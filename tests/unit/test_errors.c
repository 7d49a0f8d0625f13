/*
 * test_errors.c - the table of error codes (STW_ERRNO_MAP in steward.h) and
 * the tables of statuses and outcomes: every code has its own negative value
 * and a text of its own from stw_strerror; every status and outcome word
 * parses back to itself, and the words the store and the API use are
 * exactly the tables' (src/core/status.c); every code has its HTTP status
 * (src/http/codes.h), a 4xx for what the client can fix, a 5xx otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <steward.h>

#include "core/status.h"
#include "http/codes.h"

struct code {
	const char *name;
	int value;
	const char *text;
};

static const struct code codes[] = {
#define CODE(name, value, text) { #name, STW_##name, text },
	STW_ERRNO_MAP(CODE)
#undef CODE
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* errors-1: every code is negative, distinct, and has its own text. */
static void test_every_code_has_its_text(void **state)
{
	(void)state;
	assert_true(NCODES >= 10);
	assert_string_equal(stw_strerror(STW_OK), "ok");
	for (size_t i = 0; i < NCODES; i++) {
		assert_true(codes[i].value < 0);
		assert_string_equal(stw_strerror(codes[i].value), codes[i].text);
		assert_string_not_equal(codes[i].text, "unknown error");
		for (size_t j = 0; j < i; j++) {
			assert_int_not_equal(codes[i].value, codes[j].value);
			assert_string_not_equal(codes[i].text, codes[j].text);
		}
	}
	assert_string_equal(stw_strerror(STW_EUNAVAILABLE), "unavailable, try later");
	assert_string_equal(stw_strerror(-1000), "unknown error");
	assert_string_equal(stw_strerror(1), "unknown error");
}

/* errors-2: the codes are the ones the library documents, with their values. */
static void test_codes_keep_their_values(void **state)
{
	(void)state;
	assert_int_equal(STW_EINVAL, -1);
	assert_int_equal(STW_ENOMEM, -2);
	assert_int_equal(STW_ECONFLICT, -3);
	assert_int_equal(STW_ENOTFOUND, -4);
	assert_int_equal(STW_ESTORE, -5);
	assert_int_equal(STW_ESTATE, -6);
	assert_int_equal(STW_EREJECTED, -7);
	assert_int_equal(STW_EEXIST, -8);
	assert_int_equal(STW_EAMBIGUOUS, -9);
	assert_int_equal(STW_EUNAVAILABLE, -10);
	assert_int_equal(STW_EBUSY, -11);
	assert_int_equal(NCODES, 11);
}

/* errors-3: each status and outcome word parses to its enum and back; others do not parse. */
static void test_words_round_trip(void **state)
{
	(void)state;
	static const char *const istatus[] = { "active",       "completed", "failed",
					       "acknowledged", "rejected",  "cancelled" };
	static const char *const cstatus[] = { "pending", "delivered", "rejected", "parked",
					       "skipped" };
	static const char *const outcomes[] = { "applied",  "ignored",      "failed",
						"rejected", "acknowledged", "cancelled",
						"retried",  "parked",       "migrated" };
	assert_int_equal(STW__I_COUNT - 1, sizeof(istatus) / sizeof(istatus[0]));
	for (size_t i = 0; i < sizeof(istatus) / sizeof(istatus[0]); i++) {
		int s = stw__istatus_parse(istatus[i]);
		assert_true(s > STW__I_NONE);
		assert_string_equal(stw__istatus_word((enum stw__istatus)s), istatus[i]);
	}
	assert_int_equal(STW__C_COUNT, sizeof(cstatus) / sizeof(cstatus[0]));
	for (size_t i = 0; i < sizeof(cstatus) / sizeof(cstatus[0]); i++) {
		int s = stw__cstatus_parse(cstatus[i]);
		assert_int_equal(s, (int)i);
		assert_string_equal(stw__cstatus_word((enum stw__cstatus)s), cstatus[i]);
	}
	assert_int_equal(STW__O_COUNT, sizeof(outcomes) / sizeof(outcomes[0]));
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++) {
		int s = stw__outcome_parse(outcomes[i]);
		assert_int_equal(s, (int)i);
		assert_string_equal(stw__outcome_word((enum stw__outcome)s), outcomes[i]);
	}
	const char *bad[] = { NULL, "", "Active", "(none)", "pending " };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(stw__istatus_parse(bad[i]), -1);
		assert_int_equal(stw__cstatus_parse(bad[i]), -1);
		assert_int_equal(stw__outcome_parse(bad[i]), -1);
	}
}

/* errors-4: each code answers its HTTP status; none falls through to a default. */
static void test_every_code_has_its_http_status(void **state)
{
	(void)state;
	static const struct {
		int code;
		int status;
		const char *word;
	} want[] = {
		{ STW_EINVAL, 400, "bad_request" },  { STW_ENOMEM, 500, "internal" },
		{ STW_ECONFLICT, 409, "conflict" },  { STW_ENOTFOUND, 404, "not_found" },
		{ STW_ESTORE, 500, "internal" },     { STW_ESTATE, 409, "conflict" },
		{ STW_EREJECTED, 422, "rejected" },  { STW_EEXIST, 409, "conflict" },
		{ STW_EAMBIGUOUS, 409, "conflict" }, { STW_EUNAVAILABLE, 503, "unavailable" },
		{ STW_EBUSY, 503, "unavailable" },
	};
	assert_int_equal(sizeof(want) / sizeof(want[0]), NCODES);
	for (size_t i = 0; i < NCODES; i++) {
		struct stw__http_status st = stw__http_status_of(codes[i].value);
		size_t k = 0;
		while (k < NCODES && want[k].code != codes[i].value)
			k++;
		assert_true(k < NCODES);
		assert_int_equal(st.code, codes[i].value);
		assert_int_equal(st.status, want[k].status);
		assert_string_equal(st.word, want[k].word);
	}
	assert_int_equal(stw__http_status_of(-1000).status, 500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_code_has_its_text),
		cmocka_unit_test(test_codes_keep_their_values),
		cmocka_unit_test(test_words_round_trip),
		cmocka_unit_test(test_every_code_has_its_http_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
