/*
 * streams.c - reading one stream (stw_read_stream, stw_svc_read_stream), with
 * a bounded cache of the streams read last, parsed.
 *
 * A service folds its aggregate's stream at every command, so the same
 * events are read and parsed from JSON again and again. The cache keeps the
 * events of recently read streams parsed; a read then asks the store only
 * for the events from the last cached version on (the last cached one
 * included, to check that it is still the same event) and parses only the
 * new ones. Events are immutable once committed, so a cached prefix of a
 * stream stays true, with two exceptions the cache watches for:
 *
 *  - what was read inside a transaction that is then rolled back: every
 *    rollback (the store's undos() count) empties the cache;
 *  - a store changed behind the engine's back (restored from a backup): the
 *    last cached event must come back with the same id and position, or
 *    the stream is read again from the start.
 *
 * Other engines appending to the same store are no exception: their events
 * come after the cached ones and are read as new ones.
 *
 * Events this engine appends to a cached stream are added to its entry as
 * they are appended (parsed then, from the text just written). An entry
 * remembers the store's count of other connections' commits when it last
 * held the whole stream; while that count has not moved, and nothing was
 * rolled back, a read asks the store nothing at all.
 *
 * The cache is bounded by the bytes of event text it holds (parsed, events
 * take about five times their text); a stream larger than a quarter of the budget
 * is read directly, as it is with the cache off. The least recently read
 * streams go first.
 */
#include "core/message.h"
#include "core/streams.h"

#include <stdlib.h>
#include <string.h>

/* One cached event: the public struct and its strings in one block. */
struct sevent {
	struct stw_event ev;
	size_t bytes; /* counted against the budget */
	char text[];
};

struct sentry {
	struct sentry *prev, *next; /* recency list, newest first */
	struct sentry *hnext;       /* hash chain */
	uint64_t hash;
	char *context, *stream; /* in one block, context first */
	struct sevent **ev;
	size_t n, cap;
	size_t bytes; /* the entry's own and its events' */
	int big;      /* larger than a quarter of the budget: read directly, events not kept */
	int pinned;   /* folds running over it: not changed nor freed meanwhile */
	int dead;     /* dropped while pinned: freed when the last fold ends */
	int whole;    /* it held the whole stream when other connections' commits were `seen` */
	uint64_t seen;
};

struct stw__streams {
	struct sentry **buckets;
	size_t nbuckets; /* a power of two */
	struct sentry lru;
	size_t bytes, budget;
	uint64_t undos; /* the store's undos() when the cache was last checked */
};

int stw__streams_open(struct stw__streams **out, size_t budget)
{
	*out = NULL;
	if (budget == 0)
		return STW_OK;
	struct stw__streams *c = calloc(1, sizeof *c);
	if (c == NULL)
		return STW_ENOMEM;
	c->nbuckets = 256;
	c->buckets = calloc(c->nbuckets, sizeof *c->buckets);
	if (c->buckets == NULL) {
		free(c);
		return STW_ENOMEM;
	}
	c->lru.prev = c->lru.next = &c->lru;
	c->budget = budget;
	*out = c;
	return STW_OK;
}

static void free_events(struct sentry *en, size_t from)
{
	for (size_t i = from; i < en->n; i++) {
		stw__event_release(&en->ev[i]->ev);
		en->bytes -= en->ev[i]->bytes;
		free(en->ev[i]);
	}
	en->n = from;
}

static void free_entry(struct sentry *en)
{
	free_events(en, 0);
	free(en->ev);
	free(en->context);
	free(en);
}

/* Takes an entry out of the table and the recency list; frees it unless pinned. */
static void drop(struct stw__streams *c, struct sentry *en)
{
	struct sentry **pp = &c->buckets[en->hash & (c->nbuckets - 1)];
	while (*pp != en)
		pp = &(*pp)->hnext;
	*pp = en->hnext;
	en->prev->next = en->next;
	en->next->prev = en->prev;
	c->bytes -= en->bytes;
	if (en->pinned)
		en->dead = 1;
	else
		free_entry(en);
}

static void drop_all(struct stw__streams *c)
{
	while (c->lru.next != &c->lru)
		drop(c, c->lru.next);
}

void stw__streams_close(struct stw__streams *c)
{
	if (c == NULL)
		return;
	drop_all(c);
	free(c->buckets);
	free(c);
}

static struct sentry *find(struct stw__streams *c, uint64_t hash, const char *context,
			   const char *stream)
{
	for (struct sentry *en = c->buckets[hash & (c->nbuckets - 1)]; en; en = en->hnext)
		if (en->hash == hash && strcmp(en->stream, stream) == 0 &&
		    strcmp(en->context, context) == 0)
			return en;
	return NULL;
}

/* Moves an entry to the front of the recency list. */
static void touch(struct stw__streams *c, struct sentry *en)
{
	en->prev->next = en->next;
	en->next->prev = en->prev;
	en->next = c->lru.next;
	en->prev = &c->lru;
	c->lru.next->prev = en;
	c->lru.next = en;
}

static struct sentry *insert(struct stw__streams *c, uint64_t hash, const char *context,
			     const char *stream)
{
	size_t lc = strlen(context) + 1, ls = strlen(stream) + 1;
	struct sentry *en = calloc(1, sizeof *en);
	char *key = malloc(lc + ls);
	if (en == NULL || key == NULL) {
		free(en);
		free(key);
		return NULL;
	}
	memcpy(key, context, lc);
	memcpy(key + lc, stream, ls);
	en->context = key;
	en->stream = key + lc;
	en->hash = hash;
	en->bytes = sizeof *en + lc + ls;
	struct sentry **b = &c->buckets[hash & (c->nbuckets - 1)];
	en->hnext = *b;
	*b = en;
	en->prev = en->next = en;
	touch(c, en);
	return en;
}

/*
 * A cached copy of a stored event, parsed (data: its data already parsed, a
 * reference taken; NULL: parsed from the row); NULL with *rc set on failure.
 */
static struct sevent *copy_row(struct stw_engine *e, const struct stw__event_row *row, json_t *data,
			       int *rc)
{
	size_t n = stw__block_size(row->context) + stw__block_size(row->id) +
		   stw__block_size(row->type) + stw__block_size(row->stream) +
		   stw__block_size(row->correlation_id) + stw__block_size(row->causation_id);
	struct sevent *se = malloc(sizeof *se + n);
	if (se == NULL) {
		*rc = stw__fail(e, STW_ENOMEM, "out of memory");
		return NULL;
	}
	struct stw__event_row parse = *row;
	if (data != NULL)
		parse.data = NULL; /* the empty object, for nothing */
	if ((*rc = stw__event_from_row(e, &parse, &se->ev)) != STW_OK) {
		free(se);
		return NULL;
	}
	if (data != NULL) {
		json_decref(se->ev.data);
		se->ev.data = json_incref(data);
	}
	char *at = se->text;
	se->ev.context = stw__block_put(&at, row->context);
	se->ev.id = stw__block_put(&at, row->id);
	se->ev.type = stw__block_put(&at, row->type);
	se->ev.stream = stw__block_put(&at, row->stream);
	se->ev.correlation_id = stw__block_put(&at, row->correlation_id);
	se->ev.causation_id = stw__block_put(&at, row->causation_id);
	se->bytes = sizeof *se + n + stw__block_size(row->data) + stw__block_size(row->metadata);
	return se;
}

/* Makes room for more events in an entry. */
static int grow(struct sentry *en)
{
	size_t cap = en->cap ? en->cap * 2 : 8;
	struct sevent **ev = realloc(en->ev, cap * sizeof *ev);
	if (ev == NULL)
		return STW_ENOMEM;
	en->ev = ev;
	en->cap = cap;
	return STW_OK;
}

/* Reading the rows from the last cached version on into an entry. */
struct fill {
	struct stw_engine *e;
	struct sentry *en;
	size_t limit; /* bytes a stream may take */
	int64_t from; /* the last cached version (0: none) */
	int checked;  /* the row at `from` came back as cached */
	int stale;    /* it did not: read the stream again from the start */
	int too_big;  /* past the limit: read directly */
	int rc;
};

static int fill_cb(const struct stw__event_row *row, void *ud)
{
	struct fill *f = ud;
	struct sentry *en = f->en;
	if (f->from > 0 && !f->checked) {
		const struct stw_event *last = &en->ev[en->n - 1]->ev;
		if (row->stream_version != f->from || row->position != last->position ||
		    strcmp(row->id, last->id) != 0) {
			f->stale = 1;
			return 1;
		}
		f->checked = 1;
		return 0;
	}
	if (en->n == en->cap && grow(en) != STW_OK) {
		f->rc = stw__fail(f->e, STW_ENOMEM, "out of memory");
		return 1;
	}
	struct sevent *se = copy_row(f->e, row, NULL, &f->rc);
	if (se == NULL)
		return 1;
	en->ev[en->n++] = se;
	en->bytes += se->bytes;
	if (en->bytes > f->limit) {
		f->too_big = 1;
		return 1;
	}
	return 0;
}

/* Reads a stream from the store into the callback, parsing every event. */
static int read_direct(struct stw_engine *e, const char *context, const char *stream,
		       stw_event_fn fn, void *ud, int64_t *version)
{
	struct stw__read_ctx d = { .e = e, .fn = fn, .ud = ud };
	e->stats.stream_store_reads++;
	int r = STW__S(e->store, read_stream, context, stream, 1, stw__read_cb, &d);
	e->stats.stream_events_parsed += (uint64_t)d.count;
	if (r != STW_OK)
		return stw__store_fail(e, r, "reading a stream");
	if (d.rc != STW_OK)
		return d.rc;
	if (version != NULL) {
		*version = d.last_version;
		/* A callback that stopped early did not see the end: ask for the true version. */
		if (d.stopped &&
		    (r = STW__S(e->store, stream_version, context, stream, version)) != STW_OK)
			return stw__store_fail(e, r, "reading a stream version");
	}
	return STW_OK;
}

/* Empties the cache when the store undid anything since it last looked. */
static void forget_undone(struct stw_engine *e)
{
	struct stw__streams *c = e->streams;
	uint64_t undos = STW__S0(e->store, undos);
	if (undos != c->undos) {
		drop_all(c);
		c->undos = undos;
	}
}

/* The least recently read go first; `keep` stays. */
static void evict(struct stw__streams *c, struct sentry *keep)
{
	while (c->bytes > c->budget && c->lru.prev != keep)
		drop(c, c->lru.prev);
}

void stw__streams_appended(struct stw_engine *e, const struct stw__event_row *row, json_t *data)
{
	struct stw__streams *c = e->streams;
	if (c == NULL)
		return;
	forget_undone(e);
	struct sentry *en =
	    find(c, stw__hash_pair(row->context, row->stream), row->context, row->stream);
	if (en == NULL || en->big || en->n == 0)
		return;
	if (en->pinned || !en->whole ||
	    en->ev[en->n - 1]->ev.stream_version + 1 != row->stream_version) {
		en->whole = 0; /* the next read asks the store what it lacks */
		return;
	}
	int rc = STW_OK;
	struct sevent *se = NULL;
	if (en->bytes + sizeof *se + strlen(row->data) + strlen(row->metadata) > c->budget / 4 ||
	    (en->n == en->cap && grow(en) != STW_OK) ||
	    (se = copy_row(e, row, data, &rc)) == NULL) {
		drop(c, en); /* read again, and found too big, the next time */
		return;
	}
	en->ev[en->n++] = se;
	en->bytes += se->bytes;
	c->bytes += se->bytes;
	e->stats.stream_events_parsed++;
	evict(c, en);
}

int stw__streams_version(struct stw_engine *e, const char *context, const char *stream,
			 int64_t *version)
{
	struct stw__streams *c = e->streams;
	if (c == NULL || (e->store->caps & STW__CAP_FOREIGN_COMMITS) == 0)
		return 0;
	forget_undone(e);
	struct sentry *en = find(c, stw__hash_pair(context, stream), context, stream);
	if (en == NULL || en->big || en->n == 0 || !en->whole)
		return 0;
	uint64_t seen = 0;
	if (STW__S(e->store, foreign_commits, &seen) != STW_OK || seen != en->seen)
		return 0;
	*version = en->ev[en->n - 1]->ev.stream_version;
	return 1;
}

/*
 * Brings the cached entry of a stream up to date. NULL: the stream is empty
 * (*rc STW_OK, *empty 1), to be read directly (*rc STW_OK), or the read failed.
 */
static struct sentry *refresh(struct stw_engine *e, const char *context, const char *stream,
			      int *rc, int *empty)
{
	struct stw__streams *c = e->streams;
	*rc = STW_OK;
	*empty = 0;
	forget_undone(e);
	uint64_t hash = stw__hash_pair(context, stream);
	struct sentry *en = find(c, hash, context, stream);
	if (en != NULL && (en->pinned || en->big)) {
		if (en->big)
			touch(c, en);
		return NULL; /* too big, or a fold over it is running: leave it as it is */
	}
	/* Asked before the store is read, so a commit in between counts as unseen. */
	uint64_t seen = 0;
	int known = (e->store->caps & STW__CAP_FOREIGN_COMMITS) != 0 &&
		    STW__S(e->store, foreign_commits, &seen) == STW_OK;
	if (en != NULL && known && en->whole && en->seen == seen) {
		touch(c, en); /* only this engine wrote since: the entry is the stream */
		return en;
	}
	if (en == NULL && (en = insert(c, hash, context, stream)) == NULL)
		return NULL; /* no memory for the cache: the direct path may still work */
	c->bytes -= en->bytes;
	struct fill f = { .e = e,
			  .en = en,
			  .limit = c->budget / 4,
			  .from = en->n ? en->ev[en->n - 1]->ev.stream_version : 0 };
	size_t had = en->n;
	e->stats.stream_store_reads++;
	int r =
	    STW__S(e->store, read_stream, context, stream, f.from > 0 ? f.from : 1, fill_cb, &f);
	int ok = r == STW_OK && f.rc == STW_OK;
	if (ok && f.from > 0 && !f.checked && !f.stale)
		f.stale = 1; /* the last cached event is gone */
	if (ok)
		e->stats.stream_events_parsed += en->n - had;
	else
		free_events(en, had);
	if (ok && f.too_big) {
		/* Remembered as too big (it only grows), at the cost of its key. */
		free_events(en, 0);
		en->big = 1;
	}
	c->bytes += en->bytes;
	if (en->big) {
		touch(c, en);
		return NULL;
	}
	if (!ok || f.stale || en->n == 0) {
		drop(c, en);
		if (r != STW_OK)
			*rc = stw__store_fail(e, r, "reading a stream");
		else if (f.rc != STW_OK)
			*rc = f.rc;
		else if (f.stale)
			return refresh(e, context, stream, rc, empty);
		else
			*empty = 1;
		return NULL;
	}
	en->whole = known;
	en->seen = seen;
	touch(c, en);
	evict(c, en);
	return en;
}

int stw__read_stream(struct stw_engine *e, const char *context, const char *stream, stw_event_fn fn,
		     void *ud, int64_t *version)
{
	if (version != NULL)
		*version = 0;
	if (!stw__valid_name(context) || !stw__valid_id(stream))
		return stw__fail(e, STW_EINVAL, "invalid context or stream name");
	e->stats.stream_reads++;
	struct sentry *en = NULL;
	if (e->streams != NULL) {
		int rc, empty;
		en = refresh(e, context, stream, &rc, &empty);
		if (rc != STW_OK || empty)
			return rc;
	}
	if (en == NULL)
		return read_direct(e, context, stream, fn, ud, version);
	/* The fold may read streams too: this entry stays as it is until it ends. */
	en->pinned++;
	for (size_t i = 0; fn != NULL && i < en->n; i++)
		if (fn(&en->ev[i]->ev, ud) != 0)
			break;
	if (version != NULL)
		*version = en->ev[en->n - 1]->ev.stream_version;
	if (--en->pinned == 0 && en->dead)
		free_entry(en);
	return STW_OK;
}
