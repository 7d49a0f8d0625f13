/*
 * util.c - arena, SHA-256 (FIPS 180-4), random ids, validation.
 */
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

struct stw__arena_chunk {
	struct stw__arena_chunk *next;
	size_t size; /* usable bytes in mem */
	size_t used;
	_Alignas(16) unsigned char mem[];
};

void stw__arena_init(struct stw__arena *a, size_t chunk_size)
{
	a->head = NULL;
	a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
}

void *stw__arena_alloc(struct stw__arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct stw__arena_chunk *c = a->head;
	if (c == NULL || c->size - c->used < n) {
		size_t size = n > a->chunk_size ? n : a->chunk_size;
		c = malloc(sizeof(*c) + size);
		if (c == NULL)
			return NULL;
		c->size = size;
		c->used = 0;
		c->next = a->head;
		a->head = c;
	}
	void *p = c->mem + c->used;
	c->used += n;
	return p;
}

char *stw__arena_strdup(struct stw__arena *a, const char *s, int *failed)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *p = stw__arena_alloc(a, n);
	if (p == NULL) {
		*failed = 1;
		return NULL;
	}
	memcpy(p, s, n);
	return p;
}

/* Keeps the first chunk for reuse and frees the others. */
static void arena_reset(struct stw__arena *a)
{
	struct stw__arena_chunk *c = a->head;
	if (c == NULL)
		return;
	/* Keep the oldest chunk (the ordinary-sized one made first). */
	while (c->next != NULL) {
		struct stw__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	c->used = 0;
	a->head = c;
}

struct stw__arena_mark stw__arena_mark(const struct stw__arena *a)
{
	struct stw__arena_mark m = { a->head, a->head != NULL ? a->head->used : 0 };
	return m;
}

void stw__arena_rewind(struct stw__arena *a, struct stw__arena_mark m)
{
	if (m.chunk == NULL) {
		arena_reset(a);
		return;
	}
	while (a->head != m.chunk) {
		struct stw__arena_chunk *c = a->head;
		a->head = c->next;
		free(c);
	}
	m.chunk->used = m.used;
}

void stw__arena_free(struct stw__arena *a)
{
	struct stw__arena_chunk *c = a->head;
	while (c != NULL) {
		struct stw__arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
}

void stw__copy(char *dst, size_t cap, const char *src)
{
	if (cap == 0)
		return;
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

size_t stw__block_size(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 0;
}

const char *stw__block_put(char **at, const char *s)
{
	if (s == NULL)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = memcpy(*at, s, n);
	*at += n;
	return d;
}

uint64_t stw__hash_pair(const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = a; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0xffu) * 1099511628211ull; /* a byte no name has: ("ab", "c") is not ("a", "bc") */
	for (const char *p = b; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/* SHA-256 ------------------------------------------------------------- */

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64];
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t s1 = ror(e, 6) ^ ror(e, 11) ^ ror(e, 25);
		uint32_t ch = (e & f) ^ (~e & g);
		uint32_t t1 = hh + s1 + ch + K[i] + w[i];
		uint32_t s0 = ror(a, 2) ^ ror(a, 13) ^ ror(a, 22);
		uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
		uint32_t t2 = s0 + maj;
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void stw__sha256(const void *data, size_t len, uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
			  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const uint8_t *p = data;
	size_t left = len;
	while (left >= 64) {
		sha256_block(h, p);
		p += 64;
		left -= 64;
	}
	uint8_t tail[128] = { 0 };
	memcpy(tail, p, left);
	tail[left] = 0x80;
	size_t tlen = left + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = (uint64_t)len * 8;
	for (int i = 0; i < 8; i++)
		tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
	sha256_block(h, tail);
	if (tlen == 128)
		sha256_block(h, tail + 64);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}

void stw__derive_id(char out[33], int64_t order, const char *const *parts, size_t nparts,
		    long index)
{
	/* Ids are bounded (STW_MAX_ID), so the input fits a fixed buffer. */
	char buf[8 * STW_MAX_ID + 32];
	size_t n = 0;
	for (size_t i = 0; i < nparts; i++) {
		size_t l = parts[i] ? strlen(parts[i]) : 0;
		if (l > STW_MAX_ID)
			l = STW_MAX_ID;
		if (n + l + 1 > sizeof(buf) - 24)
			break;
		memcpy(buf + n, parts[i] ? parts[i] : "", l);
		n += l;
		buf[n++] = '\0';
	}
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%ld", index);
	uint8_t d[32];
	stw__sha256(buf, n, d);
	static const char hex[] = "0123456789abcdef";
	int o = 0;
	if (order >= 0)
		for (; o < 12; o++)
			out[o] = hex[((uint64_t)order >> (44 - 4 * o)) & 15];
	for (int i = 0; o < 32; i++) {
		out[o++] = hex[d[i] >> 4];
		out[o++] = hex[d[i] & 15];
	}
	out[32] = '\0';
}

int64_t stw__id_order(const char *id)
{
	int64_t v = 0;
	int digits = 0;
	for (const char *p = id; p != NULL && *p != '\0' && digits < 12; p++) {
		int x;
		if (*p >= '0' && *p <= '9')
			x = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			x = *p - 'a' + 10;
		else if (*p == '-' && digits > 0)
			continue;
		else
			return -1;
		v = v << 4 | x;
		digits++;
	}
	return digits == 12 ? v : -1;
}

int stw__random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += r;
		n -= (size_t)r;
	}
	if (n == 0)
		return STW_OK;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return STW_ESTORE;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r <= 0) {
			close(fd);
			return STW_ESTORE;
		}
		p += r;
		n -= (size_t)r;
	}
	close(fd);
	return STW_OK;
}

STW_API void stw_new_id(char buf[37])
{
	uint8_t b[16] = { 0 };
	if (stw__random_bytes(b, sizeof(b)) != STW_OK) {
		/* No entropy source at all: degrade to a time-and-address mix rather than fail. */
		uintptr_t x = (uintptr_t)buf ^ (uintptr_t)&b;
		for (int i = 0; i < 16; i++)
			b[i] = (uint8_t)(x >> (i % 8));
	}
	/* UUID v7: 48 bits of Unix time in milliseconds, then random bits, so
	 * that new ids sort, and index, in the order they were made. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x70);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	static const char hex[] = "0123456789abcdef";
	int j = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[j++] = '-';
		buf[j++] = hex[b[i] >> 4];
		buf[j++] = hex[b[i] & 15];
	}
	buf[j] = '\0';
}

static int ascii_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int stw__valid_name(const char *s)
{
	/* A letter or digit first: no ".", ".." or "-x" (names appear in paths and flags). */
	if (s == NULL || !ascii_alnum(*s))
		return 0;
	size_t n = 0;
	for (const char *p = s; *p; p++, n++) {
		char c = *p;
		if (!(ascii_alnum(c) || c == '_' || c == '.' || c == '-') || n + 1 >= STW_MAX_NAME)
			return 0;
	}
	return 1;
}

int stw__valid_id(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++)
		if (*p < 0x20 || *p == 0x7f || n + 1 >= STW_MAX_ID)
			return 0;
	return 1;
}
