/*
 * sqlite_names.c - the numbers instances are stored under (schema 10).
 *
 * An instance is named by its definition and correlation id, strings in no
 * order. Keyed by them, the rows a step writes (the instance, its history,
 * its commands) land on pages all over a large store, and each write reads
 * and rewrites a page of its own. So each name is given a number, one more
 * than the last, the first time anything is written for it: a row of
 * stw_names, whose unique index (id, definition) is the one place a name is
 * looked up. The instance, its history and its commands are keyed by the
 * number, so they sit in creation order, on the few pages at the end of
 * their tables that the store is writing anyway.
 *
 * A step writes the history and the commands of a new instance before the
 * instance itself (a round writes its instances once, at its end), so the
 * number is given by whichever comes first. Names are not deleted while
 * anything is stored under them (retention deletes the name last), so a
 * number is never reused for another name while a row holds it.
 *
 * The numbers an open transaction met are remembered (the memo), so that a
 * step's writes look a name up once. The table is the truth: a rollback of
 * the transaction, or to a savepoint, voids the memo (a name given in a
 * level that was undone went with the rows that used it).
 */
#include "store/sqlite_int.h"

#include <steward.h>

#include <stdlib.h>
#include <string.h>

/*
 * The names a memo holds at most: a transaction that touches more (a
 * migration of every instance, say) looks the rest up in the table.
 */
#define MEMO_MAX 65536

/* One remembered name: its text at `off` in the memo's bytes ("definition\0id\0"). */
struct entry {
	uint32_t hash; /* 0: a free slot */
	uint32_t off;
	uint32_t len;
	int64_t num;
};

struct num_memo {
	uint64_t txn;   /* the handle's txns when filled */
	uint64_t undos; /* its undos then */
	struct entry *slots;
	size_t cap; /* a power of two, or 0 */
	size_t n;
	char *bytes;
	size_t used, room;
};

/* FNV-1a over the key, never 0 (0 marks a free slot). */
static uint32_t hash_of(const char *key, size_t len)
{
	uint32_t x = 2166136261u;
	for (size_t i = 0; i < len; i++)
		x = (x ^ (unsigned char)key[i]) * 16777619u;
	return x ? x : 1;
}

/* "definition\0id\0" into buf (cap bytes); its length, or 0 when it does not fit. */
static size_t key_of(const char *definition, const char *id, char *buf, size_t cap)
{
	size_t a = strlen(definition) + 1, b = strlen(id) + 1;
	if (a + b > cap)
		return 0;
	memcpy(buf, definition, a);
	memcpy(buf + a, id, b);
	return a + b;
}

/* The memo of the open transaction, emptied if it was another's; NULL outside one. */
static struct num_memo *memo_now(struct sqlite_store *h, int make)
{
	if (sqlite3_get_autocommit(h->db))
		return NULL;
	struct num_memo *m = h->nums;
	if (m == NULL) {
		if (!make || (m = calloc(1, sizeof *m)) == NULL)
			return NULL;
		h->nums = m;
	}
	if (m->txn != h->txns || m->undos != h->undos) {
		if (m->n > 0)
			memset(m->slots, 0, m->cap * sizeof *m->slots);
		m->n = 0;
		m->used = 0;
		m->txn = h->txns;
		m->undos = h->undos;
	}
	return m;
}

static struct entry *find(struct num_memo *m, const char *key, size_t len, uint32_t hash)
{
	if (m->cap == 0)
		return NULL;
	for (size_t i = hash & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct entry *e = &m->slots[i];
		if (e->hash == 0)
			return e;
		if (e->hash == hash && e->len == len && memcmp(m->bytes + e->off, key, len) == 0)
			return e;
	}
}

/* Doubles the slots (at half full); -1 without memory. */
static int grow(struct num_memo *m)
{
	size_t cap = m->cap ? 2 * m->cap : 64;
	struct entry *old = m->slots, *slots = calloc(cap, sizeof *slots);
	if (slots == NULL)
		return -1;
	size_t was = m->cap;
	m->slots = slots;
	m->cap = cap;
	for (size_t i = 0; i < was; i++)
		if (old[i].hash != 0) {
			size_t j = old[i].hash & (cap - 1);
			while (slots[j].hash != 0)
				j = (j + 1) & (cap - 1);
			slots[j] = old[i];
		}
	free(old);
	return 0;
}

/* Adds a name; a memo that is full or cannot grow just remembers less. */
static void add(struct num_memo *m, const char *key, size_t len, uint32_t hash, int64_t num)
{
	if (m->n >= MEMO_MAX || ((m->n + 1) * 2 > m->cap && grow(m) != 0))
		return;
	if (m->used + len > m->room) {
		size_t room = m->room ? 2 * m->room : 4096;
		while (room < m->used + len)
			room *= 2;
		char *b = room <= UINT32_MAX ? realloc(m->bytes, room) : NULL;
		if (b == NULL)
			return;
		m->bytes = b;
		m->room = room;
	}
	struct entry *e = find(m, key, len, hash);
	if (e->hash == 0) {
		memcpy(m->bytes + m->used, key, len);
		*e = (struct entry){ hash, (uint32_t)m->used, (uint32_t)len, num };
		m->used += len;
		m->n++;
	} else {
		e->num = num;
	}
}

void stw__sqlite_num_remember(struct sqlite_store *h, const char *definition, const char *id,
			      int64_t num)
{
	char key[2 * STW_MAX_ID + 2];
	struct num_memo *m = memo_now(h, 1);
	size_t len = m != NULL ? key_of(definition, id, key, sizeof key) : 0;
	if (len > 0)
		add(m, key, len, hash_of(key, len), num);
}

int stw__sqlite_num(struct sqlite_store *h, const char *definition, const char *id, int give,
		    int64_t *num)
{
	char key[2 * STW_MAX_ID + 2];
	struct num_memo *m = memo_now(h, 1);
	size_t len = m != NULL ? key_of(definition, id, key, sizeof key) : 0;
	uint32_t hash = len > 0 ? hash_of(key, len) : 0;
	const struct entry *e = len > 0 ? find(m, key, len, hash) : NULL;
	if (e != NULL && e->hash != 0) {
		*num = e->num;
		return STW_OK;
	}
	int64_t v = 0;
	int rc =
	    stw__sqlite_int_or_zero(h, STW__NAME_GET, definition, id, 2, "instance number", &v);
	if (rc != STW_OK)
		return rc;
	if (v == 0 && !give)
		return STW_ENOTFOUND;
	if (v == 0) {
		sqlite3_stmt *st = h->st[STW__NAME_INSERT];
		int b = SQLITE_OK;
		stw__sqlite_bt(&b, st, 1, definition);
		stw__sqlite_bt(&b, st, 2, id);
		if ((rc = stw__sqlite_run(h, st, b, "instance number", NULL)) != STW_OK)
			return rc;
		v = sqlite3_last_insert_rowid(h->db);
	}
	if (len > 0)
		add(m, key, len, hash, v);
	*num = v;
	return STW_OK;
}

void stw__sqlite_num_forget(struct sqlite_store *h)
{
	if (h->nums != NULL)
		h->nums->txn = 0;
}

void stw__sqlite_nums_free(struct sqlite_store *h)
{
	if (h->nums == NULL)
		return;
	free(h->nums->slots);
	free(h->nums->bytes);
	free(h->nums);
	h->nums = NULL;
}
