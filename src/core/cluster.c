/*
 * cluster.c - a worker's membership of a cluster (steward_cluster.h): its
 * thread registers the worker, renews its leases, works out which
 * partitions are its share, gives up those that are another live worker's
 * (a few per renewal) and takes those of its share that are free,
 * released or expired. What it holds is the fence (store.h) that the
 * store handles of the worker's engines check each transaction against.
 *
 * The assignment is rendezvous hashing: partition p belongs to the live
 * worker w with the highest hash of (w, p), so that a worker joining or
 * leaving moves only the partitions it gains or loses. Every worker
 * computes it alike from the same rows; while their views differ (a
 * worker just joined, one just died) a partition may wait a renewal for
 * its owner, never have two: a lease is taken only when free, released or
 * expired by the database's clock.
 */
#include "core/engine_int.h"

#include "store/store.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_LEASE_MS 8000
#define DEFAULT_RENEW_MS 2000
#define DEFAULT_MOVES    8
#define FORGET_EVERY     30 /* renewals between sweeps of workers long gone */
#define RENEW_SAMPLES    256
#define EXPIRY_MARGIN_MS 20 /* after a lease's end, by the database's clock, before taking it */
#define AGAIN_MS         50 /* before looking again for leases wanted and not got */

struct stw_cluster {
	struct stw__fence fence; /* what the worker holds, under fence.lock */
	struct stw__store *store;
	char id[128];
	char address[256]; /* where its HTTP API listens, shown to others; "": none (fence.lock) */
	int64_t lease_ms, renew_ms;
	int moves;
	stw_log_fn log;
	void *log_ud;
	void (*on_work)(void *ud);
	void *work_ud;
	pthread_t thread;
	int started;
	int stop; /* under fence.lock */
	/* Until when (monotonic ms) the leases held are surely still the
	 * worker's: the start of the last renewal that worked, plus the lease,
	 * less a margin. Past it, the worker gives them up by itself. */
	int64_t valid_until;
	/* The ms until the first lease another worker holds runs out, at the last look
	 * (-1: none): a dead worker's partitions are taken when they run out, not at the
	 * next renewal after. */
	int64_t soonest_ms;
	/* The last look wanted leases it did not get (another taker held the old owner's
	 * row, or took them first): look again soon, not a renewal later. */
	int again_soon;
	int ticks;
	struct stw_cluster_stats stats; /* under fence.lock */
	int64_t samples[RENEW_SAMPLES];
	int nsamples;
	/* One look at the store: live workers and every lease. */
	char (*live)[128];
	int nlive, live_cap;
	struct stw__lease_row *leases; /* owner copied into owners */
	char (*owners)[128];
	int nleases;
};

/* Monotonic milliseconds, from the engine's clock of durations. */
static int64_t mono_ms(void)
{
	return stw__mono_us() / 1000;
}

static void say(struct stw_cluster *c, enum stw_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void say(struct stw_cluster *c, enum stw_log_level level, const char *fmt, ...)
{
	if (c->log == NULL)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->log(level, msg, c->log_ud);
}

/*
 * The rendezvous score of (worker, part): FNV-1a of the id mixed with the
 * partition, through the finaliser of splitmix64, so that ids that differ
 * in one character still rank partitions independently.
 */
static uint64_t score(const char *worker, int part)
{
	uint64_t h = 14695981039346656037u;
	/* The worker's name, not its start's suffix: started again, it gets its share back. */
	for (const unsigned char *p = (const unsigned char *)worker; *p != '\0' && *p != '#'; p++)
		h = (h ^ *p) * 1099511628211u;
	h ^= (uint64_t)(part + 2) * 0x9e3779b97f4a7c15u;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
	return h ^ (h >> 31);
}

/* The live worker whose share `part` is (index into c->live), or -1. */
static int owner_of(const struct stw_cluster *c, int part)
{
	int best = -1;
	uint64_t top = 0;
	for (int i = 0; i < c->nlive; i++) {
		uint64_t s = score(c->live[i], part);
		if (best < 0 || s > top || (s == top && strcmp(c->live[i], c->live[best]) < 0)) {
			best = i;
			top = s;
		}
	}
	return best;
}

static int mine(const struct stw_cluster *c, int part)
{
	int o = owner_of(c, part);
	return o >= 0 && strcmp(c->live[o], c->id) == 0;
}

/* Index of part among the pairs held, or -1. Under fence.lock. */
static int held_at(const struct stw__fence *f, int part)
{
	for (int i = 0; i < f->n; i++)
		if (f->parts[i] == part)
			return i;
	return -1;
}

/* Sets the pairs held (under fence.lock), and the counts that follow from them. */
static void hold(struct stw_cluster *c, const int *parts, const int64_t *epochs, int n)
{
	struct stw__fence *f = &c->fence;
	pthread_mutex_lock(&f->lock);
	int same = n == f->n;
	for (int i = 0; same && i < n; i++)
		same = f->parts[i] == parts[i] && f->epochs[i] == epochs[i];
	if (!same && n > 0) { /* nothing held: parts and epochs may be NULL */
		memmove(f->parts, parts, sizeof(int) * (size_t)n);
		memmove(f->epochs, epochs, sizeof(int64_t) * (size_t)n);
	}
	if (!same) {
		f->n = n;
		f->generation++;
	}
	c->stats.held = 0;
	c->stats.periodic = 0;
	for (int i = 0; i < n; i++) {
		if (parts[i] == STW__PART_PERIODIC)
			c->stats.periodic = 1;
		else
			c->stats.held++;
	}
	pthread_mutex_unlock(&f->lock);
}

/* Drops everything held (the store is away past the lease, or the worker is forgotten). */
static void drop_all(struct stw_cluster *c, const char *why)
{
	if (c->fence.n > 0)
		say(c, STW_LOG_WARN, "cluster: %s gives up its %d leases: %s", c->id, c->fence.n,
		    why);
	hold(c, NULL, NULL, 0);
}

static int worker_cb(const struct stw__worker_row *w, void *ud)
{
	struct stw_cluster *c = ud;
	if (!w->live)
		return 0;
	if (c->nlive == c->live_cap) {
		int cap = c->live_cap ? c->live_cap * 2 : 16;
		void *p = realloc(c->live, sizeof(*c->live) * (size_t)cap);
		if (p == NULL)
			return 1;
		c->live = p;
		c->live_cap = cap;
	}
	snprintf(c->live[c->nlive++], sizeof(c->live[0]), "%s", w->id);
	return 0;
}

static int lease_cb(const struct stw__lease_row *l, void *ud)
{
	struct stw_cluster *c = ud;
	if (c->nleases > STW__MAX_PARTITIONS)
		return 1;
	c->leases[c->nleases] = *l;
	snprintf(c->owners[c->nleases], sizeof(c->owners[0]), "%s", l->owner ? l->owner : "");
	c->leases[c->nleases].owner = c->owners[c->nleases];
	c->nleases++;
	return 0;
}

static void note_renewal(struct stw_cluster *c, int64_t us)
{
	c->samples[c->nsamples++ % RENEW_SAMPLES] = us;
	int n = c->nsamples < RENEW_SAMPLES ? c->nsamples : RENEW_SAMPLES;
	int64_t sorted[RENEW_SAMPLES];
	memcpy(sorted, c->samples, sizeof(int64_t) * (size_t)n);
	for (int i = 1; i < n; i++) /* small: insertion sort */
		for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			int64_t t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	pthread_mutex_lock(&c->fence.lock);
	c->stats.renewals++;
	c->stats.renew_last_us = us;
	if (us > c->stats.renew_max_us)
		c->stats.renew_max_us = us;
	c->stats.renew_p99_us = sorted[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1];
	pthread_mutex_unlock(&c->fence.lock);
}

/* Registers the worker again (a row forgotten while it was away). */
static int join_row(struct stw_cluster *c, int want, int *partitions)
{
	char host[128] = "", address[sizeof c->address];
	gethostname(host, sizeof host - 1);
	pthread_mutex_lock(&c->fence.lock);
	memcpy(address, c->address, sizeof address);
	pthread_mutex_unlock(&c->fence.lock);
	struct stw__worker_row w = { .id = c->id,
				     .host = host,
				     .pid = (int)getpid(),
				     .address = address[0] != '\0' ? address : NULL,
				     .lease_ms = c->lease_ms };
	return STW__S(c->store, lease_join, &w, want, partitions);
}

/*
 * How recent a worker's heartbeat must be for it to count as live: two
 * renewals (at most the lease). A worker's heartbeat comes each renewal, so
 * a live one is seldom older; one that stopped drops out of the assignment
 * a renewal after its next heartbeat was due, not a lease after, which
 * matters for a start of a worker that died holding nothing (started again
 * and killed again, say): while it counted as live its name's share waited
 * for it. Counting a slow worker out for a moment costs nothing: what it
 * holds is taken only when its leases run out, and it counts again at its
 * next heartbeat. Workers of a cluster are to share their settings.
 */
static int64_t live_ms(const struct stw_cluster *c)
{
	return 2 * c->renew_ms < c->lease_ms ? 2 * c->renew_ms : c->lease_ms;
}

/* One renewal: heartbeat, renew, look, give up, take. */
static int tick(struct stw_cluster *c)
{
	struct stw__store *s = c->store;
	struct stw__fence *f = &c->fence;
	int64_t started = mono_ms(), t0 = stw__mono_us();
	char address[sizeof c->address];
	pthread_mutex_lock(&f->lock);
	memcpy(address, c->address, sizeof address);
	pthread_mutex_unlock(&f->lock);
	int rc = STW__S(s, lease_heartbeat, c->id, address[0] != '\0' ? address : NULL);
	if (rc == STW_ENOTFOUND) {
		drop_all(c, "its registration was forgotten");
		int p = 0;
		rc = join_row(c, 0, &p);
	}
	if (rc != STW_OK)
		return rc;
	/* Renew what is held; what does not come back was taken over. */
	int n = f->n; /* only this thread changes the pairs */
	int parts[STW__MAX_PARTITIONS + 1], kept[STW__MAX_PARTITIONS + 1], nkept = 0;
	int64_t epochs[STW__MAX_PARTITIONS + 1], kept_epochs[STW__MAX_PARTITIONS + 1];
	pthread_mutex_lock(&f->lock);
	memcpy(parts, f->parts, sizeof(int) * (size_t)n);
	memcpy(epochs, f->epochs, sizeof(int64_t) * (size_t)n);
	f->recheck = 0;
	pthread_mutex_unlock(&f->lock);
	rc =
	    STW__S(s, lease_renew, c->id, c->lease_ms, parts, epochs, n, kept, kept_epochs, &nkept);
	if (rc != STW_OK)
		return rc;
	note_renewal(c, stw__mono_us() - t0);
	c->valid_until = started + c->lease_ms - c->lease_ms / 4;
	if (nkept < n) {
		say(c, STW_LOG_WARN, "cluster: %s lost %d leases to other workers", c->id,
		    n - nkept);
		pthread_mutex_lock(&f->lock);
		c->stats.lost += (uint64_t)(n - nkept);
		pthread_mutex_unlock(&f->lock);
	}
	hold(c, kept, kept_epochs, nkept);

	/* Look at the workers and the leases. */
	c->nlive = 0;
	c->nleases = 0;
	if ((rc = STW__S(s, lease_look, live_ms(c), worker_cb, lease_cb, c)) != STW_OK)
		return rc;
	c->soonest_ms = -1;
	c->again_soon = 0;
	for (int i = 0; i < c->nleases; i++) {
		const struct stw__lease_row *l = &c->leases[i];
		if (l->taken && strcmp(l->owner, c->id) != 0 &&
		    (c->soonest_ms < 0 || l->expires_in_ms < c->soonest_ms))
			c->soonest_ms = l->expires_in_ms > 0 ? l->expires_in_ms : 0;
	}
	int me_live = 0;
	for (int i = 0; i < c->nlive; i++)
		me_live |= strcmp(c->live[i], c->id) == 0;
	if (!me_live && worker_cb(&(struct stw__worker_row){ .id = c->id, .live = 1 }, c) != 0)
		return STW_ENOMEM;

	/* Give up, a few at a time, what is another live worker's share. */
	int give[STW__MAX_PARTITIONS + 1], ngive = 0;
	for (int i = 0; i < nkept && ngive < c->moves; i++)
		if (!mine(c, kept[i]))
			give[ngive++] = kept[i];
	if (ngive > 0) {
		int left[STW__MAX_PARTITIONS + 1], nleft = 0;
		int64_t left_epochs[STW__MAX_PARTITIONS + 1];
		for (int i = 0; i < nkept; i++) {
			int going = 0;
			for (int j = 0; j < ngive; j++)
				going |= give[j] == kept[i];
			if (!going) {
				left[nleft] = kept[i];
				left_epochs[nleft++] = kept_epochs[i];
			}
		}
		/*
		 * Released in the store first, their cursors written down where
		 * the worker's are now; only then out of the fence. A transaction
		 * of the worker that began before still holds them, and only moves
		 * on from there (what it does again, the new holder does again:
		 * at least once); one that begins between is refused by the fence.
		 * The other order would let a transaction that no longer held them
		 * move the worker's cursor past their events before they were
		 * written down: the new holder would skip those.
		 */
		rc = STW__S(s, lease_release, c->id, give, ngive);
		if (rc != STW_OK)
			return rc;
		hold(c, left, left_epochs, nleft);
		if ((rc = STW__S0(s, lease_notify)) != STW_OK)
			return rc;
		pthread_mutex_lock(&f->lock);
		c->stats.released += (uint64_t)ngive;
		pthread_mutex_unlock(&f->lock);
		say(c, STW_LOG_INFO, "cluster: %s gave up %d partitions to other workers", c->id,
		    ngive);
	}

	/* Take what is this worker's share and free, released or expired. */
	int want[STW__MAX_PARTITIONS + 1], nwant = 0;
	for (int i = 0; i < c->nleases; i++) {
		const struct stw__lease_row *l = &c->leases[i];
		if (!l->taken && mine(c, l->part) && held_at(f, l->part) < 0)
			want[nwant++] = l->part;
	}
	if (nwant == 0)
		return STW_OK;
	int got[STW__MAX_PARTITIONS + 1], ngot = 0;
	int64_t got_epochs[STW__MAX_PARTITIONS + 1];
	rc = STW__S(s, lease_acquire, c->id, c->lease_ms, want, nwant, got, got_epochs, &ngot);
	c->again_soon = rc == STW_OK && ngot < nwant;
	if (rc != STW_OK || ngot == 0)
		return rc;
	int all[STW__MAX_PARTITIONS + 1], nall = 0;
	int64_t all_epochs[STW__MAX_PARTITIONS + 1];
	pthread_mutex_lock(&f->lock);
	for (int i = 0; i < f->n; i++) {
		all[nall] = f->parts[i];
		all_epochs[nall++] = f->epochs[i];
	}
	c->stats.acquired += (uint64_t)ngot;
	for (int i = 0; i < ngot; i++)
		if (got_epochs[i] > 1)
			c->stats.takeovers++;
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < ngot && nall <= STW__MAX_PARTITIONS; i++) {
		all[nall] = got[i];
		all_epochs[nall++] = got_epochs[i];
	}
	hold(c, all, all_epochs, nall);
	say(c, STW_LOG_INFO, "cluster: %s took %d partitions (holds %d)", c->id, ngot, nall);
	if (c->on_work != NULL)
		c->on_work(c->work_ud); /* what their last owner left is this worker's now */
	return STW_OK;
}

static int stopping(struct stw_cluster *c)
{
	pthread_mutex_lock(&c->fence.lock);
	int stop = c->stop;
	pthread_mutex_unlock(&c->fence.lock);
	return stop;
}

static int recheck(struct stw_cluster *c)
{
	pthread_mutex_lock(&c->fence.lock);
	int r = c->fence.recheck;
	pthread_mutex_unlock(&c->fence.lock);
	return r;
}

static void *run(void *ud)
{
	struct stw_cluster *c = ud;
	while (!stopping(c)) {
		int rc = tick(c);
		if (rc != STW_OK) {
			pthread_mutex_lock(&c->fence.lock);
			c->stats.renew_failures++;
			pthread_mutex_unlock(&c->fence.lock);
			say(c, STW_LOG_WARN, "cluster: renewal of %s failed: %s", c->id,
			    STW__S0(c->store, errmsg));
			if (mono_ms() >= c->valid_until)
				drop_all(c, "its leases may have run out");
		}
		if (++c->ticks % FORGET_EVERY == 0)
			STW__S(c->store, lease_forget, 10 * c->lease_ms);
		/*
		 * Until the next renewal, or just after the first lease of another
		 * worker runs out (a live one renews it before: its leases run a
		 * lease, renewed every renew <= lease / 2), woken early by another
		 * worker's news.
		 */
		int64_t wait = rc == STW_OK ? c->renew_ms : c->renew_ms / 4 + 1;
		if (rc == STW_OK && c->soonest_ms >= 0 && c->soonest_ms + EXPIRY_MARGIN_MS < wait)
			wait = c->soonest_ms + EXPIRY_MARGIN_MS;
		if (rc == STW_OK && c->again_soon && AGAIN_MS < wait)
			wait = AGAIN_MS;
		int64_t until = mono_ms() + wait;
		while (!stopping(c) && !recheck(c)) {
			int64_t left = until - mono_ms();
			if (left <= 0)
				break;
			int got = STW__S(c->store, lease_wait, left < 200 ? left : 200);
			if (got > 0 && (got & 2) && c->on_work != NULL)
				c->on_work(c->work_ud);
			if (got > 0 && (got & 1))
				break;
			if (got < 0) {
				usleep(200 * 1000);
			}
			if (mono_ms() >= c->valid_until && c->fence.n > 0)
				break;
		}
	}
	return NULL;
}

/*
 * Makes the id this start's own: "ID#" and 8 hex digits of randomness. A
 * worker started again under the same name is another owner of leases and
 * cursors than the one that died (its cursor moved only with the
 * partitions that one held, which the others take over from where it left
 * them), and two processes given one name by mistake never pass each
 * other's fence. Returns 0 when it does not fit.
 */
static int incarnation(char *id, size_t cap)
{
	uint32_t r = 0;
	FILE *f = fopen("/dev/urandom", "rb");
	if (f == NULL || fread(&r, sizeof r, 1, f) != 1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		r = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)ts.tv_sec;
	}
	if (f != NULL)
		fclose(f);
	size_t n = strlen(id);
	return snprintf(id + n, cap - n, "#%08x", r) < (int)(cap - n);
}

static int valid_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 100)
		return 0;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._:@-", *p) != NULL))
			return 0;
	return 1;
}

STW_API int stw_cluster_join(const struct stw_cluster_options *o, struct stw_cluster **out,
			     char *err, size_t cap)
{
	if (out != NULL)
		*out = NULL;
	if (o == NULL || o->store == NULL || out == NULL) {
		snprintf(err, cap, "a store and a place for the membership are required");
		return STW_EINVAL;
	}
	struct stw_cluster *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(err, cap, "out of memory");
		return STW_ENOMEM;
	}
	c->leases = calloc(STW__MAX_PARTITIONS + 1, sizeof *c->leases);
	c->owners = calloc(STW__MAX_PARTITIONS + 1, sizeof *c->owners);
	pthread_mutex_init(&c->fence.lock, NULL);
	c->lease_ms = o->lease_ms > 0 ? o->lease_ms : DEFAULT_LEASE_MS;
	c->renew_ms = o->renew_ms > 0 ? o->renew_ms : DEFAULT_RENEW_MS;
	c->moves = o->moves > 0 ? o->moves : DEFAULT_MOVES;
	c->log = o->log;
	c->log_ud = o->log_ud;
	c->on_work = o->on_work;
	c->work_ud = o->work_ud;
	if (o->address != NULL)
		snprintf(c->address, sizeof c->address, "%s", o->address);
	if (o->worker != NULL) {
		snprintf(c->id, sizeof c->id, "%s", o->worker);
	} else {
		char host[96] = "";
		gethostname(host, sizeof host - 1);
		snprintf(c->id, sizeof c->id, "%s:%d", host, (int)getpid());
	}
	int rc = STW_OK;
	if (c->leases == NULL || c->owners == NULL) {
		snprintf(err, cap, "out of memory");
		rc = STW_ENOMEM;
	} else if (!valid_id(c->id) || !incarnation(c->id, sizeof c->id)) {
		snprintf(err, cap,
			 "worker id '%.100s' must be 1 to 100 letters, digits or ._:@- characters",
			 c->id);
		rc = STW_EINVAL;
	} else if (c->renew_ms * 2 > c->lease_ms) {
		snprintf(err, cap,
			 "the renewal interval (%lld ms) must be at most half the lease (%lld ms)",
			 (long long)c->renew_ms, (long long)c->lease_ms);
		rc = STW_EINVAL;
	} else if (o->partitions < 0 || o->partitions > STW__MAX_PARTITIONS) {
		snprintf(err, cap, "partitions must be 1 to %d", STW__MAX_PARTITIONS);
		rc = STW_EINVAL;
	}
	struct stw__store_options so = { 0 };
	if (rc == STW_OK)
		rc = stw__store_open(o->store, &so, &c->store, err, cap);
	if (rc == STW_OK && c->store->ops->lease_join == NULL) {
		snprintf(err, cap, "a cluster needs a PostgreSQL store");
		rc = STW_EINVAL;
	}
	int partitions = 0;
	if (rc == STW_OK && (rc = join_row(c, o->partitions, &partitions)) != STW_OK)
		snprintf(err, cap, "%s", STW__S0(c->store, errmsg));
	if (rc == STW_OK) {
		snprintf(c->fence.owner, sizeof c->fence.owner, "%s", c->id);
		c->fence.partitions = partitions;
		c->fence.lease_ms = c->lease_ms;
		c->fence.audit = o->audit != 0;
		snprintf(c->stats.worker, sizeof c->stats.worker, "%s", c->id);
		c->stats.partitions = partitions;
		/* The others look again at once; then the first leases. */
		STW__S0(c->store, lease_notify);
		if (tick(c) != STW_OK)
			say(c, STW_LOG_WARN, "cluster: first renewal of %s failed: %s", c->id,
			    STW__S0(c->store, errmsg));
		if (pthread_create(&c->thread, NULL, run, c) != 0) {
			snprintf(err, cap, "cannot start the membership's thread");
			rc = STW_ENOMEM;
		} else {
			pthread_setname_np(c->thread, "stw-cluster");
			c->started = 1;
		}
	}
	if (rc != STW_OK) {
		stw_cluster_leave(c);
		return rc;
	}
	*out = c;
	return STW_OK;
}

STW_API void stw_cluster_set_address(struct stw_cluster *c, const char *address)
{
	if (c == NULL || address == NULL)
		return;
	pthread_mutex_lock(&c->fence.lock);
	snprintf(c->address, sizeof c->address, "%s", address);
	pthread_mutex_unlock(&c->fence.lock);
}

STW_API void stw_cluster_leave(struct stw_cluster *c)
{
	if (c == NULL)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->fence.lock);
		c->stop = 1;
		pthread_mutex_unlock(&c->fence.lock);
		pthread_join(c->thread, NULL);
	}
	if (c->store != NULL && c->stats.worker[0] != '\0') {
		int n = c->fence.n;
		hold(c, NULL, NULL, 0);
		if (STW__S(c->store, lease_leave, c->id) == STW_OK) {
			STW__S0(c->store, lease_notify);
			c->stats.released += (uint64_t)n;
			say(c, STW_LOG_INFO, "cluster: %s left, giving up %d leases", c->id, n);
		} else {
			say(c, STW_LOG_WARN, "cluster: %s could not give its leases up: %s", c->id,
			    STW__S0(c->store, errmsg));
		}
	}
	if (c->store != NULL)
		STW__S0(c->store, close);
	pthread_mutex_destroy(&c->fence.lock);
	free(c->live);
	free(c->leases);
	free(c->owners);
	free(c);
}

STW_API void stw_cluster_stats(struct stw_cluster *c, struct stw_cluster_stats *out)
{
	memset(out, 0, sizeof *out);
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->fence.lock);
	*out = c->stats;
	out->fencing_refusals = c->fence.refusals;
	pthread_mutex_unlock(&c->fence.lock);
}

STW_API int stw_cluster_holds_periodic(struct stw_cluster *c)
{
	if (c == NULL)
		return 1;
	pthread_mutex_lock(&c->fence.lock);
	int p = held_at(&c->fence, STW__PART_PERIODIC) >= 0;
	pthread_mutex_unlock(&c->fence.lock);
	return p;
}

struct stw__fence *stw__cluster_fence(struct stw_cluster *c)
{
	return c != NULL ? &c->fence : NULL;
}

/* ------------------------------------------------------------------------ */
/* What an engine of the worker holds                                       */

int stw__held(struct stw_engine *e, int part)
{
	return e->fence == NULL || STW__S(e->store, holds, part);
}

int stw__held_id(struct stw_engine *e, const char *id)
{
	return e->fence == NULL ||
	       STW__S(e->store, holds, stw__partition(id, e->fence->partitions));
}

int stw__held_command(struct stw_engine *e, const struct stw__outbox_row *row)
{
	return e->fence == NULL ||
	       stw__held_id(
		   e, stw__outbox_part_key(row->instance_id, row->correlation_id, row->command_id));
}

int stw__held_none(struct stw_engine *e)
{
	if (e->fence == NULL)
		return 0;
	pthread_mutex_lock(&e->fence->lock);
	int none = 1;
	for (int i = 0; none && i < e->fence->n; i++)
		none = e->fence->parts[i] == STW__PART_PERIODIC;
	pthread_mutex_unlock(&e->fence->lock);
	return none;
}
