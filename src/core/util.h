/*
 * util.h - small internal helpers: a bump arena for batch-scoped memory,
 * SHA-256 for deterministic ids, random ids, and name/id validation.
 */
#ifndef STW_UTIL_H
#define STW_UTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * A bump allocator. Everything allocated from it lives until the arena is
 * rewound to a mark taken before it (stw__arena_rewind), reset or freed.
 * Allocation failure returns NULL.
 */
struct stw__arena {
	struct stw__arena_chunk *head; /* newest chunk first */
	size_t chunk_size;             /* size of ordinary chunks */
};

void stw__arena_init(struct stw__arena *a, size_t chunk_size);
void *stw__arena_alloc(struct stw__arena *a, size_t n);
/* Copies a string (NULL stays NULL; *failed is set when out of memory). */
char *stw__arena_strdup(struct stw__arena *a, const char *s, int *failed);
/*
 * A point in an arena to come back to. Whoever takes a mark owns what is
 * allocated after it and rewinds to it when done; what was allocated before
 * the mark (a caller's memory) is never touched, however the marks nest.
 */
struct stw__arena_mark {
	struct stw__arena_chunk *chunk; /* the newest chunk at the mark, or NULL */
	size_t used;                    /* its bytes in use at the mark */
};

struct stw__arena_mark stw__arena_mark(const struct stw__arena *a);
/* Frees what was allocated since mark m (chunks made since then included). */
void stw__arena_rewind(struct stw__arena *a, struct stw__arena_mark m);
void stw__arena_free(struct stw__arena *a);

/* Copies src into dst (cap bytes), truncating; always NUL-terminates when cap > 0. */
void stw__copy(char *dst, size_t cap, const char *src);

/*
 * Strings kept in one block behind a struct: stw__block_size is the room s
 * takes (strlen + 1, 0 for NULL), stw__block_put copies s to *at and moves
 * *at past it (NULL stays NULL).
 */
size_t stw__block_size(const char *s);
const char *stw__block_put(char **at, const char *s);

/* FNV-1a of the pair of strings (a, b), for hash tables keyed by two names. */
uint64_t stw__hash_pair(const char *a, const char *b);

/* SHA-256 of a buffer. */
void stw__sha256(const void *data, size_t len, uint8_t out[32]);

/*
 * Writes a deterministic id into out (33 bytes: 32 hex digits and NUL), from
 * SHA-256 over the parts, each followed by a NUL byte, so that ("ab", "c")
 * and ("a", "bc") differ; `index` is appended as decimal.
 *
 * With `order` >= 0 (a time in milliseconds taken from what the id derives
 * from, never the clock), the first 12 digits are order's low 48 bits and the
 * other 20 the hash's first 80 bits: ids derived in time order sort in time
 * order, so the indexes they key grow at one end instead of taking a random
 * page per row. With `order` < 0 all 32 digits are the hash's first 128 bits.
 */
void stw__derive_id(char out[33], int64_t order, const char *const *parts, size_t nparts,
		    long index);

/*
 * The order an id carries: the value of its first 12 hex digits, dashes
 * skipped (the time of a UUID v7, the order of a derived id), or -1 when it
 * does not start with 12 hex digits.
 */
int64_t stw__id_order(const char *id);

/* Fills buf with n random bytes (getrandom, falling back to /dev/urandom). */
int stw__random_bytes(void *buf, size_t n);

/*
 * 1 if s is a valid context, type, definition or state name: [A-Za-z0-9_.-],
 * 1..STW_MAX_NAME-1 bytes, starting with a letter or digit.
 */
int stw__valid_name(const char *s);
/* 1 if s is a valid id: non-empty, < STW_MAX_ID bytes, no control characters. */
int stw__valid_id(const char *s);

#endif /* STW_UTIL_H */
