/*
 * test_util.c - unit tests of src/core/util.c: SHA-256, derived and random
 * ids, name and id validation, the bump arena and bounded copies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include <steward.h>

/* Writes the lowercase hex form of a digest into out (65 bytes). */
static void hex32(const uint8_t d[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

/* Hashes len bytes of data and compares the digest with a hex string. */
static void check_sha256(const void *data, size_t len, const char *want)
{
	uint8_t d[32];
	char got[65];
	stw__sha256(data, len, d);
	hex32(d, got);
	assert_string_equal(got, want);
}

/* The one-block and two-block examples of FIPS 180-4 (and its empty message). */
static void test_sha256_fips_vectors(void **state)
{
	(void)state;
	check_sha256("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha256("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 448 bits: the padding no longer fits the first block. */
	const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	assert_int_equal(strlen(m448) * 8, 448);
	check_sha256(m448, strlen(m448),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* 896 bits: two full blocks and a padding block. */
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	assert_int_equal(strlen(m896) * 8, 896);
	check_sha256(m896, strlen(m896),
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a': many blocks, and a bit length that needs more than 16 bits. */
static void test_sha256_million_a(void **state)
{
	(void)state;
	size_t n = 1000000;
	char *m = malloc(n);
	assert_non_null(m);
	memset(m, 'a', n);
	check_sha256(m, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/*
 * Lengths around the padding boundaries (55/56 bytes: one or two final
 * blocks; 63/64; 119/120), against digests computed with Python's hashlib.
 */
static void test_sha256_padding_boundaries(void **state)
{
	(void)state;
	static const struct {
		size_t len;
		const char *hex;
	} cases[] = {
		{ 55, "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072" },
		{ 56, "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e" },
		{ 63, "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2" },
		{ 64, "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c" },
		{ 119, "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c" },
		{ 120, "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98" },
	};
	char buf[128];
	memset(buf, 'x', sizeof(buf));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_sha256(buf, cases[i].len, cases[i].hex);
}

/* 1 if s is exactly n lowercase hex digits. */
static int is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/*
 * Derived ids are deterministic, 32 lowercase hex digits, and follow the
 * documented construction (SHA-256 over each part plus NUL, then the index in
 * decimal; first 128 bits, without an order), so ids stored by one version are
 * found by the next.
 */
static void test_derive_id_deterministic(void **state)
{
	(void)state;
	const char *parts[] = { "ab", "c" };
	char a[33], b[33];
	memset(a, 'Z', sizeof(a));
	memset(b, 'Y', sizeof(b));
	stw__derive_id(a, -1, parts, 2, 0);
	stw__derive_id(b, -1, parts, 2, 0);
	assert_true(is_hex(a, 32));
	assert_string_equal(a, b);
	/* hashlib.sha256(b"ab\0c\0" b"0").hexdigest()[:32] */
	assert_string_equal(a, "25f558889bd7fe8cb0713c107e2b5ae3");
	/* The form a stateless policy uses for its first command (empty instance id). */
	const char *policy[] = { "ShipPolicy", "", "evt-1" };
	stw__derive_id(a, -1, policy, 3, 0);
	assert_string_equal(a, "164ad5103a7b2743b7dd58d0f76d57fb");
}

/* Splitting the same characters differently, the index and the part count all change the id. */
static void test_derive_id_separates_inputs(void **state)
{
	(void)state;
	const char *p1[] = { "ab", "c" };
	const char *p2[] = { "a", "bc" };
	const char *p3[] = { "abc" };
	const char *p4[] = { "abc", "" };
	char a[33], b[33], c[33], d[33], i1[33], i10[33], i1b[33];
	stw__derive_id(a, -1, p1, 2, 0);
	stw__derive_id(b, -1, p2, 2, 0);
	stw__derive_id(c, -1, p3, 1, 0);
	stw__derive_id(d, -1, p4, 2, 0);
	assert_string_not_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(b, c);
	assert_string_not_equal(c, d);
	stw__derive_id(i1, -1, p1, 2, 1);
	stw__derive_id(i10, -1, p1, 2, 10);
	assert_string_not_equal(a, i1);
	assert_string_not_equal(i1, i10);
	/* The index is hashed after the parts' terminators: ("ab","c"),1 is not ("ab","c1"),0. */
	const char *p5[] = { "ab", "c1" };
	stw__derive_id(i1b, -1, p5, 2, 0);
	assert_string_not_equal(i1, i1b);
}

/*
 * An id derived with an order starts with the order's low 48 bits as 12 hex
 * digits, followed by the first 80 bits of the same hash as without one: ids
 * derived from later messages sort after ids derived from earlier ones.
 */
static void test_derive_id_ordered(void **state)
{
	(void)state;
	const char *parts[] = { "ab", "c" };
	char a[33], later[33], big[33];
	stw__derive_id(a, 1700000000000, parts, 2, 0);
	assert_true(is_hex(a, 32));
	/* 1700000000000 = 0x18bcfe56800; the hash part as in test_derive_id_deterministic. */
	assert_string_equal(a, "018bcfe56800"
			       "25f558889bd7fe8cb071");
	assert_int_equal(stw__id_order(a), 1700000000000);
	/* A later order sorts after, whatever the hash says. */
	const char *other[] = { "zz" };
	stw__derive_id(later, 1700000000001, other, 1, 7);
	assert_true(strcmp(a, later) < 0);
	/* Only the low 48 bits are kept. */
	stw__derive_id(big, (int64_t)1 << 48 | 5, parts, 2, 0);
	assert_int_equal(stw__id_order(big), 5);
	assert_string_equal(big + 12, a + 12);
}

/* The order of an id: its first 12 hex digits (dashes skipped), or -1. */
static void test_id_order(void **state)
{
	(void)state;
	assert_int_equal(stw__id_order("018bcfe56800ffffffffffffffffffff"), 1700000000000);
	assert_int_equal(stw__id_order("018bcfe5-6800-7abc-8def-0123456789ab"), 1700000000000);
	assert_int_equal(stw__id_order("000000000000"), 0);
	assert_int_equal(stw__id_order("v123"), -1);
	assert_int_equal(stw__id_order("0123456789a"), -1);
	assert_int_equal(stw__id_order("0123456789aG"), -1);
	assert_int_equal(stw__id_order("-0123456789ab"), -1);
	assert_int_equal(stw__id_order("0123456789AB"), -1);
	assert_int_equal(stw__id_order(""), -1);
	assert_int_equal(stw__id_order(NULL), -1);
}

/* stw_new_id writes a 36-character UUID v7 (version nibble 7, variant 10xx). */
static void check_uuid_v7(const char *s)
{
	assert_int_equal(strlen(s), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			assert_int_equal(s[i], '-');
			continue;
		}
		assert_true((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
	}
	assert_int_equal(s[14], '7');
	assert_non_null(strchr("89ab", s[19]));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Random ids have the UUID v7 shape, start with the time they were made
 * (Unix milliseconds, so ids made later sort after), and do not repeat.
 */
static void test_new_id_uuid_v7(void **state)
{
	(void)state;
	enum { N = 256 };
	static char ids[N][37];
	int64_t before = wall_ms();
	for (int i = 0; i < N; i++) {
		memset(ids[i], 'Q', sizeof(ids[i]));
		stw_new_id(ids[i]);
		check_uuid_v7(ids[i]);
	}
	int64_t after = wall_ms();
	/* Unless the wall clock was stepped back meanwhile (then nothing can be said). */
	for (int i = 0; after >= before && i < N; i++) {
		assert_true(stw__id_order(ids[i]) >= before);
		assert_true(stw__id_order(ids[i]) <= after);
		if (i > 0)
			assert_true(stw__id_order(ids[i - 1]) <= stw__id_order(ids[i]));
	}
	assert_string_not_equal(ids[0], ids[1]);
	qsort(ids, N, sizeof(ids[0]), cmp_str);
	for (int i = 1; i < N; i++)
		assert_string_not_equal(ids[i - 1], ids[i]);
}

/* Fills a buffer with n copies of c (n < cap) and terminates it. */
static char *repeat(char *buf, size_t cap, char c, size_t n)
{
	assert_true(n < cap);
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Names: [A-Za-z0-9_.-], 1..STW_MAX_NAME-1 bytes. Refused: NULL, empty,
 * STW_MAX_NAME bytes, spaces, control characters, other punctuation, non-ASCII.
 */
static void test_valid_name(void **state)
{
	(void)state;
	char buf[STW_MAX_NAME + 8];
	assert_true(stw__valid_name("Billing"));
	assert_true(stw__valid_name("a"));
	assert_true(stw__valid_name("Order-Placed_v2.1"));
	assert_true(stw__valid_name("0123456789"));
	assert_true(stw__valid_name(repeat(buf, sizeof(buf), 'n', STW_MAX_NAME - 1)));

	assert_false(stw__valid_name(NULL));
	assert_false(stw__valid_name(""));
	assert_false(stw__valid_name(repeat(buf, sizeof(buf), 'n', STW_MAX_NAME)));
	assert_false(stw__valid_name(repeat(buf, sizeof(buf), 'n', STW_MAX_NAME + 1)));
	assert_false(stw__valid_name("Order Placed"));
	assert_false(stw__valid_name(" Billing"));
	assert_false(stw__valid_name("Billing "));
	assert_false(stw__valid_name("a\tb"));
	assert_false(stw__valid_name("a\nb"));
	assert_false(stw__valid_name("a\x7f"));
	assert_false(stw__valid_name("a/b"));
	assert_false(stw__valid_name("a:b"));
	assert_false(stw__valid_name("caf\xc3\xa9"));
}

/*
 * Ids: non-empty, < STW_MAX_ID bytes, no control characters; spaces,
 * punctuation and UTF-8 are fine.
 */
static void test_valid_id(void **state)
{
	(void)state;
	char buf[STW_MAX_ID + 8];
	assert_true(stw__valid_id("x"));
	assert_true(stw__valid_id("order 42"));
	assert_true(stw__valid_id("invoice/2024:17#a"));
	assert_true(stw__valid_id("caf\xc3\xa9"));
	assert_true(stw__valid_id("3f1c2a9e-0000-4000-8000-000000000000"));
	assert_true(stw__valid_id(repeat(buf, sizeof(buf), 'i', STW_MAX_ID - 1)));

	assert_false(stw__valid_id(NULL));
	assert_false(stw__valid_id(""));
	assert_false(stw__valid_id(repeat(buf, sizeof(buf), 'i', STW_MAX_ID)));
	assert_false(stw__valid_id(repeat(buf, sizeof(buf), 'i', STW_MAX_ID + 1)));
	assert_false(stw__valid_id("a\nb"));
	assert_false(stw__valid_id("a\tb"));
	assert_false(stw__valid_id("\x01"));
	assert_false(stw__valid_id("ab\x1f"));
	assert_false(stw__valid_id("a\x7f"));
}

/*
 * Many small allocations from one arena: each is 16-byte aligned and none
 * overlaps another (every block keeps its own fill pattern to the end).
 */
static void test_arena_many_aligned(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct stw__arena a;
	stw__arena_init(&a, 1024);
	static unsigned char *blocks[N];
	static size_t sizes[N];
	for (int i = 0; i < N; i++) {
		sizes[i] = (size_t)(i % 97) + 1;
		blocks[i] = stw__arena_alloc(&a, sizes[i]);
		assert_non_null(blocks[i]);
		assert_int_equal((uintptr_t)blocks[i] % 16, 0);
		memset(blocks[i], (unsigned char)i, sizes[i]);
	}
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < sizes[i]; j++)
			assert_int_equal(blocks[i][j], (unsigned char)i);
	stw__arena_free(&a);
	assert_null(a.head);
}

/*
 * An allocation larger than the chunk size gets its own chunk, aligned and
 * fully writable, and ordinary allocations keep working after it.
 */
static void test_arena_big_allocation(void **state)
{
	(void)state;
	struct stw__arena a;
	stw__arena_init(&a, 256);
	unsigned char *small = stw__arena_alloc(&a, 10);
	assert_non_null(small);
	memset(small, 0xAA, 10);
	size_t big_n = 100000;
	unsigned char *big = stw__arena_alloc(&a, big_n);
	assert_non_null(big);
	assert_int_equal((uintptr_t)big % 16, 0);
	memset(big, 0x55, big_n);
	unsigned char *after = stw__arena_alloc(&a, 200);
	assert_non_null(after);
	assert_int_equal((uintptr_t)after % 16, 0);
	memset(after, 0x11, 200);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(small[i], 0xAA);
	for (size_t i = 0; i < big_n; i++)
		assert_int_equal(big[i], 0x55);
	stw__arena_free(&a);
}

/*
 * Rewinding to a mark taken on an empty arena frees every chunk but the
 * first and reuses it from the start, and the arena keeps allocating (small
 * and big) after it; strdup copies and keeps NULL.
 */
static void test_arena_reset_reuse(void **state)
{
	(void)state;
	struct stw__arena a;
	stw__arena_init(&a, 512);
	struct stw__arena_mark empty = stw__arena_mark(&a);
	void *first = stw__arena_alloc(&a, 16);
	assert_non_null(first);
	for (int i = 0; i < 200; i++)
		assert_non_null(stw__arena_alloc(&a, 100));
	assert_non_null(stw__arena_alloc(&a, 4096));
	stw__arena_rewind(&a, empty);
	assert_non_null(a.head);
	void *again = stw__arena_alloc(&a, 16);
	assert_ptr_equal(again, first);

	for (int round = 0; round < 3; round++) {
		int failed = 0;
		char *s = stw__arena_strdup(&a, "hello arena", &failed);
		assert_false(failed);
		assert_non_null(s);
		assert_string_equal(s, "hello arena");
		assert_null(stw__arena_strdup(&a, NULL, &failed));
		assert_false(failed);
		unsigned char *big = stw__arena_alloc(&a, 3000);
		assert_non_null(big);
		memset(big, round, 3000);
		stw__arena_rewind(&a, empty);
	}
	stw__arena_free(&a);
	/* Free on an emptied arena is harmless; rewinding it too. */
	stw__arena_rewind(&a, empty);
	stw__arena_free(&a);
}

/*
 * Marks nest: whoever rewinds to its own mark frees what it allocated after
 * it, chunks made since included, and never what was allocated before it,
 * which keeps its contents (a batch holding rows while something it calls
 * uses the arena too).
 */
static void test_arena_marks_nest(void **state)
{
	(void)state;
	struct stw__arena a;
	stw__arena_init(&a, 256);
	char *outer = stw__arena_alloc(&a, 200);
	assert_non_null(outer);
	memset(outer, 'o', 200);
	struct stw__arena_mark m1 = stw__arena_mark(&a);
	char *mid = stw__arena_alloc(&a, 40);
	assert_non_null(mid);
	memset(mid, 'm', 40);
	struct stw__arena_mark m2 = stw__arena_mark(&a);
	for (int i = 0; i < 50; i++) /* several chunks past m2 */
		memset(stw__arena_alloc(&a, 100), 'x', 100);
	memset(stw__arena_alloc(&a, 5000), 'y', 5000);
	stw__arena_rewind(&a, m2);
	for (int i = 0; i < 200; i++)
		assert_int_equal(outer[i], 'o');
	for (int i = 0; i < 40; i++)
		assert_int_equal(mid[i], 'm');
	/* The next allocations come after the mark, not over what is before it. */
	for (int i = 0; i < 20; i++)
		memset(stw__arena_alloc(&a, 64), 'n', 64);
	for (int i = 0; i < 40; i++)
		assert_int_equal(mid[i], 'm');
	stw__arena_rewind(&a, m1);
	for (int i = 0; i < 200; i++)
		assert_int_equal(outer[i], 'o');
	assert_ptr_equal(stw__arena_alloc(&a, 40), mid);
	stw__arena_free(&a);
}

/* stw__copy truncates to cap-1 bytes, always terminates, and never writes past cap. */
static void test_copy_truncates(void **state)
{
	(void)state;
	char buf[8];

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, 4, "abcdefghij");
	assert_string_equal(buf, "abc");
	for (size_t i = 4; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 'X');

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, 4, "abc");
	assert_string_equal(buf, "abc");

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, 8, "ab");
	assert_string_equal(buf, "ab");

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, 1, "abc");
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'X');

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, 0, "abc");
	assert_int_equal(buf[0], 'X');

	memset(buf, 'X', sizeof(buf));
	stw__copy(buf, sizeof(buf), NULL);
	assert_string_equal(buf, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_fips_vectors),
		cmocka_unit_test(test_sha256_million_a),
		cmocka_unit_test(test_sha256_padding_boundaries),
		cmocka_unit_test(test_derive_id_deterministic),
		cmocka_unit_test(test_derive_id_separates_inputs),
		cmocka_unit_test(test_derive_id_ordered),
		cmocka_unit_test(test_id_order),
		cmocka_unit_test(test_new_id_uuid_v7),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_arena_many_aligned),
		cmocka_unit_test(test_arena_big_allocation),
		cmocka_unit_test(test_arena_reset_reuse),
		cmocka_unit_test(test_arena_marks_nest),
		cmocka_unit_test(test_copy_truncates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
