/*
 * stage.c - the instance writes of a round's transaction, staged until it
 * commits: see stage.h.
 */
#include "core/stage.h"

#include <stdlib.h>
#include <string.h>

/* One content of a staged instance, at one level; its strings follow it in one allocation. */
struct node {
	struct node *prev; /* the content at the levels below, or NULL: the store's */
	int level;         /* the level that wrote it */
	int stored;        /* the store holds it already (stw__stage_write) */
	int64_t base;      /* the version in the store under it: 0, none (an insert) */
	struct stw__instance_row row;
};

/* A staged instance: its newest content on top. */
struct slot {
	uint64_t hash; /* of its definition and id */
	struct node *top;
};

struct stw__stage {
	struct slot *slots;
	size_t n, cap;
};

/* The current level of a write: the depth, one more inside a handler's savepoint. */
static int level_now(const struct stw_engine *e)
{
	return e->txn_depth + (e->txn_savepoint ? 1 : 0);
}

int stw__stage_on(const struct stw_engine *e)
{
	return e->txn == STW__TXN_ROUND && e->txn_depth >= 1;
}

static struct slot *find(const struct stw__stage *g, const char *definition, const char *id)
{
	if (g == NULL || g->n == 0)
		return NULL;
	uint64_t h = stw__hash_pair(definition, id);
	for (size_t i = 0; i < g->n; i++) {
		const struct stw__instance_row *r = &g->slots[i].top->row;
		if (g->slots[i].hash == h && strcmp(r->id, id) == 0 &&
		    strcmp(r->definition, definition) == 0)
			return &g->slots[i];
	}
	return NULL;
}

/* A node holding a copy of row, or NULL when out of memory. */
static struct node *node_new(const struct stw__instance_row *row, int level, int64_t base)
{
	size_t size = sizeof(struct node) + stw__block_size(row->definition) +
		      stw__block_size(row->id) + stw__block_size(row->state) +
		      stw__block_size(row->status) + stw__block_size(row->data) +
		      stw__block_size(row->unique_key) + stw__block_size(row->reason);
	struct node *n = malloc(size);
	if (n == NULL)
		return NULL;
	char *at = (char *)(n + 1);
	n->prev = NULL;
	n->level = level;
	n->stored = 0;
	n->base = base;
	n->row = *row;
	n->row.definition = stw__block_put(&at, row->definition);
	n->row.id = stw__block_put(&at, row->id);
	n->row.state = stw__block_put(&at, row->state);
	n->row.status = stw__block_put(&at, row->status);
	n->row.data = stw__block_put(&at, row->data);
	n->row.unique_key = stw__block_put(&at, row->unique_key);
	n->row.reason = stw__block_put(&at, row->reason);
	return n;
}

static void nodes_free(struct node *n)
{
	while (n != NULL) {
		struct node *p = n->prev;
		free(n);
		n = p;
	}
}

/* The version in the store under a new content on top of t. */
static int64_t base_above(const struct node *t)
{
	return t->stored ? t->row.version : t->base;
}

int stw__stage_put(struct stw_engine *e, const struct stw__instance_row *row, int64_t loaded)
{
	struct stw__stage *g = e->stage;
	if (g == NULL && (g = e->stage = calloc(1, sizeof(*g))) == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	int level = level_now(e);
	struct slot *s = find(g, row->definition, row->id);
	if (s != NULL && s->top->row.version != loaded)
		return stw__fail(e, STW_ECONFLICT,
				 "instance %s/%s: changed at version %lld in this round, "
				 "not at %lld",
				 row->definition, row->id, (long long)s->top->row.version,
				 (long long)loaded);
	struct node *n = node_new(row, level, s != NULL ? base_above(s->top) : loaded);
	if (n == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	if (s != NULL) {
		/* A level holds one content: a second write replaces its first. */
		struct node *t = s->top;
		if (t->level == level) {
			n->prev = t->prev;
			free(t);
		} else {
			n->prev = t;
		}
		s->top = n;
		return STW_OK;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 16;
		struct slot *slots = realloc(g->slots, cap * sizeof(*slots));
		if (slots == NULL) {
			free(n);
			return stw__fail(e, STW_ENOMEM, "out of memory");
		}
		g->slots = slots;
		g->cap = cap;
	}
	g->slots[g->n++] =
	    (struct slot){ .hash = stw__hash_pair(row->definition, row->id), .top = n };
	return STW_OK;
}

const struct stw__instance_row *stw__stage_find(const struct stw_engine *e, const char *definition,
						const char *id)
{
	const struct slot *s = find(e->stage, definition, id);
	return s != NULL ? &s->top->row : NULL;
}

size_t stw__stage_count(const struct stw_engine *e)
{
	return e->stage != NULL ? e->stage->n : 0;
}

const struct stw__instance_row *stw__stage_row(const struct stw_engine *e, size_t i)
{
	return &e->stage->slots[i].top->row;
}

/* Marks the top of s as stored at `level`: in place, or a copy on top of it. */
static int mark_stored(struct slot *s, int level)
{
	struct node *t = s->top;
	if (t->level != level) {
		struct node *n = node_new(&t->row, level, t->base);
		if (n == NULL)
			return STW_ENOMEM;
		n->prev = t;
		s->top = t = n;
	}
	t->stored = 1;
	return STW_OK;
}

int stw__stage_write(struct stw_engine *e)
{
	struct stw__stage *g = e->stage;
	int level = level_now(e);
	for (int pass = 0; g != NULL && pass < 2; pass++)
		for (size_t i = 0; i < g->n; i++) {
			struct slot *s = &g->slots[i];
			const struct node *t = s->top;
			if (t->stored || (t->base == 0) != (pass == 1))
				continue;
			int rc = t->base == 0 ? STW__S(e->store, instance_insert, &t->row)
					      : STW__S(e->store, instance_update, &t->row, t->base);
			/* Not there, or taken, when the round loaded it: another engine
			 * wrote it since (a store with concurrent writers). */
			if (rc == STW_EEXIST)
				return stw__fail(e, STW_ECONFLICT, "instance %s/%s: %s",
						 t->row.definition, t->row.id,
						 STW__S0(e->store, errmsg));
			if (rc != STW_OK)
				return stw__store_fail(e, rc,
						       t->base == 0 ? "inserting an instance"
								    : "updating an instance");
			if (mark_stored(s, level) != STW_OK)
				return stw__fail(e, STW_ENOMEM, "out of memory");
		}
	return STW_OK;
}

void stw__stage_level_end(struct stw_engine *e, int level, int commit)
{
	struct stw__stage *g = e->stage;
	for (size_t i = 0; g != NULL && i < g->n;) {
		struct slot *s = &g->slots[i];
		struct node *t = s->top;
		if (commit) {
			for (struct node *n = t; n != NULL && n->level >= level; n = n->prev)
				n->level = level - 1;
			/* One content per level: the newest stays. */
			while (t->prev != NULL && t->prev->level == t->level) {
				struct node *p = t->prev;
				t->prev = p->prev;
				free(p);
			}
			i++;
			continue;
		}
		while (t != NULL && t->level >= level) {
			struct node *p = t->prev;
			free(t);
			t = p;
		}
		s->top = t;
		if (t != NULL)
			i++;
		else
			g->slots[i] = g->slots[--g->n]; /* staged by the undone levels only */
	}
}

void stw__stage_clear(struct stw_engine *e)
{
	struct stw__stage *g = e->stage;
	for (size_t i = 0; g != NULL && i < g->n; i++)
		nodes_free(g->slots[i].top);
	if (g != NULL)
		g->n = 0;
}

void stw__stage_free(struct stw_engine *e)
{
	stw__stage_clear(e);
	if (e->stage != NULL)
		free(e->stage->slots);
	free(e->stage);
	e->stage = NULL;
}
