/*
 * appenders.c - concurrent appenders and a reader on one context: every
 * committed event is read exactly once, in position order, with no gap and
 * nothing skipped, and nothing rolled back is ever read.
 *
 * Eight threads, each with an engine of its own on the same store, append
 * to the context "Log" in transactions (stw_begin) of 1 to 32 events, held
 * open for a random 0 to 50 ms (part before the append, part after it,
 * while the context's head is taken), and roll back one in ten. A reader
 * thread with its own engine reads after its cursor (stw_read) as they go.
 * It is the case where positions taken from a sequence commit out of order
 * and a reader that moved past a position not yet committed skips it for
 * good; a position must also never be left empty by a rollback.
 *
 * Runs on the store of the test fixture: SQLite, or PostgreSQL with
 * STEWARD_TEST_STORE=pg. Prints one line of figures; exits 0 when every
 * count of a fault is 0.
 *
 * usage: appenders [--events N] [--long] [--hold MS] [--contexts N]
 *   --events: committed events to reach (default 20,000; --long: 200,000)
 *   --hold: the longest a transaction stays open, in ms (default 50)
 *   --contexts: 1 (default) to 4 contexts; with more than one, half the
 *     transactions append to two of them in either order (their heads taken
 *     in that order: deadlocks on PostgreSQL, each answered STW_EBUSY to one
 *     transaction, which counts as busy), and the reader reads each
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <steward.h>

#include "fixture.h"

#define APPENDERS 8
#define MAX_BATCH 32
#define MAX_HOLD  50        /* ms a transaction stays open at most */
#define ROLLBACKS 10        /* percent of transactions rolled back */
#define MAX_TXNS  (1 << 20) /* transactions one appender may commit (its id space) */
#define MAX_CTX   4         /* contexts at most (--contexts) */

/* The contexts: Log, then Log1, Log2, Log3. */
static const char *const contexts[MAX_CTX] = { "Log", "Log1", "Log2", "Log3" };

/* What everyone shares. */
struct run {
	struct fx_world w;
	long target;        /* committed events to reach */
	uint32_t hold;      /* ms a transaction stays open at most */
	int ncontexts;      /* contexts appended to (--contexts) */
	pthread_mutex_t mu; /* guards the counts below and the committed marks */
	long committed;     /* events committed so far */
	long txns, rolled_back, failed;
	int appenders_done; /* all appenders have ended (under mu) */
	int error;          /* a call failed in a way the test does not expect */
	char why[512];
	/*
	 * Per appender, per event number: 1 committed, 2 read (by the reader),
	 * 3 read but rolled back or never committed (a phantom).
	 */
	unsigned char *marks[APPENDERS];
	long next[APPENDERS]; /* event numbers used */
	/* The reader's findings. */
	long read, gaps, doubled, phantoms, bad_order;
};

/* A constant clock: stw_options.clock wants one, and the fixture's is not for threads. */
static int64_t fixed_now(void *ud)
{
	(void)ud;
	return FX_T0;
}
static const struct stw_clock clock_fixed = { fixed_now, NULL };

/* A random number in [0, n) from a thread's own state (xorshift). */
static uint32_t rnd(uint64_t *s, uint32_t n)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s % n);
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Records the first unexpected failure. */
static void fault(struct run *r, const char *what, struct stw_engine *e, int rc)
{
	pthread_mutex_lock(&r->mu);
	if (!r->error)
		snprintf(r->why, sizeof r->why, "%s: %s: %s", what, stw_strerror(rc),
			 e ? stw_errmsg(e) : "");
	r->error = 1;
	pthread_mutex_unlock(&r->mu);
}

static int open_engine(struct run *r, struct stw_engine **e)
{
	struct stw_options o = { .clock = &clock_fixed, .synchronous = -1 };
	int rc = fx_open(&r->w, NULL, &o, e);
	if (rc != STW_OK)
		fault(r, "opening an engine", NULL, rc);
	return rc;
}

struct appender {
	struct run *r;
	int index;
	uint64_t rng;
};

/* Appends until the run has its committed events, then ends. */
static void *appender_main(void *arg)
{
	struct appender *a = arg;
	struct run *r = a->r;
	struct stw_engine *e = NULL;
	if (open_engine(r, &e) != STW_OK)
		return NULL;
	char stream[16], ids[MAX_BATCH][32];
	snprintf(stream, sizeof stream, "s%d", a->index);
	for (;;) {
		pthread_mutex_lock(&r->mu);
		int stop = r->committed >= r->target || r->error;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		uint32_t n = 1 + rnd(&a->rng, MAX_BATCH), hold = rnd(&a->rng, r->hold + 1);
		uint32_t before = hold > 0 ? rnd(&a->rng, hold + 1) : 0;
		int roll = rnd(&a->rng, 100) < ROLLBACKS;
		long first = r->next[a->index];
		if (first + (long)n > MAX_TXNS) {
			fault(r, "an appender ran out of ids", NULL, STW_EINVAL);
			break;
		}
		r->next[a->index] += n;
		struct stw_event ev[MAX_BATCH];
		for (uint32_t i = 0; i < n; i++) {
			snprintf(ids[i], sizeof ids[i], "a%d-%ld", a->index, first + (long)i);
			ev[i] =
			    (struct stw_event){ .id = ids[i], .type = "Logged", .stream = stream };
		}
		int rc = stw_begin(e);
		if (rc != STW_OK) {
			fault(r, "stw_begin", e, rc);
			break;
		}
		sleep_ms(before);
		/* With several contexts, half the transactions append to two of them,
		 * in either order: their heads are taken in that order. */
		uint32_t k1 = rnd(&a->rng, (uint32_t)r->ncontexts), split = n;
		uint32_t k2 =
		    (k1 + 1 + rnd(&a->rng, (uint32_t)r->ncontexts)) % (uint32_t)r->ncontexts;
		if (r->ncontexts > 1 && n > 1 && k2 != k1 && rnd(&a->rng, 2))
			split = 1 + rnd(&a->rng, n - 1);
		rc = stw_append(e, contexts[k1], STW_ANY_VERSION, ev, split, NULL);
		if (rc == STW_OK && split < n)
			rc = stw_append(e, contexts[k2], STW_ANY_VERSION, ev + split, n - split,
					NULL);
		if (rc == STW_OK)
			sleep_ms(hold - before); /* the contexts' heads are held meanwhile */
		if (rc == STW_OK && !roll) {
			rc = stw_commit(e); /* a failed commit rolls back */
		} else {
			int undone = stw_rollback(e);
			if (undone != STW_OK) {
				fault(r, "stw_rollback", e, undone);
				break;
			}
		}
		pthread_mutex_lock(&r->mu);
		r->txns++;
		if (rc == STW_OK && !roll) {
			r->committed += n;
			for (uint32_t i = 0; i < n; i++)
				r->marks[a->index][first + (long)i] |= 1;
		} else if (rc == STW_OK) {
			r->rolled_back++;
		} else {
			r->failed++; /* STW_EBUSY: tried again with new events */
		}
		pthread_mutex_unlock(&r->mu);
		if (rc != STW_OK && rc != STW_EBUSY) {
			fault(r, "appending", e, rc);
			break;
		}
	}
	stw_close(e);
	return NULL;
}

/* The reader's state: a cursor per context, the context being read, and the run. */
struct reader {
	struct run *r;
	int64_t cursor[MAX_CTX];
	int k;
};

/* Checks one event read: the next position, an event committed and not read before. */
static int read_cb(const struct stw_event *ev, void *ud)
{
	struct reader *rd = ud;
	struct run *r = rd->r;
	int64_t *cursor = &rd->cursor[rd->k];
	if (ev->position != *cursor + 1) {
		if (ev->position > *cursor + 1)
			r->gaps += ev->position - *cursor - 1;
		else
			r->bad_order++;
	}
	*cursor = ev->position;
	r->read++;
	int who = -1;
	long num = -1;
	if (sscanf(ev->id, "a%d-%ld", &who, &num) != 2 || who < 0 || who >= APPENDERS || num < 0 ||
	    num >= MAX_TXNS) {
		r->phantoms++;
		return 0;
	}
	pthread_mutex_lock(&r->mu);
	unsigned char *m = &r->marks[who][num];
	if (*m & 2)
		r->doubled++;
	*m |= 2;
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* Reads after its cursor until the appenders ended and nothing is left. */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct run *r = rd->r;
	struct stw_engine *e = NULL;
	if (open_engine(r, &e) != STW_OK)
		return NULL;
	for (;;) {
		pthread_mutex_lock(&r->mu);
		int done = r->appenders_done || r->error;
		pthread_mutex_unlock(&r->mu);
		int count = 0, rc = STW_OK;
		for (rd->k = 0; rd->k < r->ncontexts && rc == STW_OK; rd->k++) {
			int got = 0;
			rc = stw_read(e, contexts[rd->k], rd->cursor[rd->k], 1000, read_cb, rd,
				      &got);
			count += got;
		}
		if (rc != STW_OK) {
			fault(r, "reading", e, rc);
			break;
		}
		if (count == 0 && done)
			break; /* read after the last commit: nothing is left */
		if (count == 0)
			sleep_ms(1);
	}
	stw_close(e);
	return NULL;
}

int main(int argc, char **argv)
{
	long target = 20000, hold = MAX_HOLD, ncontexts = 1;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			target = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--long") == 0)
			target = 200000;
		else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
			hold = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--contexts") == 0 && i + 1 < argc)
			ncontexts = strtol(argv[++i], NULL, 10);
		else {
			fprintf(stderr,
				"usage: %s [--events N] [--long] [--hold MS] [--contexts N]\n",
				argv[0]);
			return 2;
		}
	}
	if (ncontexts < 1 || ncontexts > MAX_CTX) {
		fprintf(stderr, "appenders: --contexts must be between 1 and %d\n", MAX_CTX);
		return 2;
	}
	if (hold < 0 || hold > 10000) {
		fprintf(stderr, "appenders: --hold must be between 0 and 10000\n");
		return 2;
	}
	if (target <= 0 || target > (long)APPENDERS * (MAX_TXNS / 2)) {
		fprintf(stderr, "appenders: --events must be between 1 and %ld\n",
			(long)APPENDERS * (MAX_TXNS / 2));
		return 2;
	}
	static struct run r;
	r.target = target;
	r.hold = (uint32_t)hold;
	r.ncontexts = (int)ncontexts;
	pthread_mutex_init(&r.mu, NULL);
	if (fx_world_init(&r.w, "appenders", FX_T0) != 0)
		return 1;
	for (int i = 0; i < APPENDERS; i++)
		if ((r.marks[i] = calloc(MAX_TXNS, 1)) == NULL) {
			fprintf(stderr, "appenders: out of memory\n");
			return 1;
		}
	/* The store's schema, made once before the threads start. */
	struct stw_engine *first = NULL;
	if (open_engine(&r, &first) != STW_OK) {
		fprintf(stderr, "appenders: %s\n", r.why);
		fx_world_fini(&r.w);
		return 1;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	struct reader rd = { .r = &r };
	pthread_t reader, threads[APPENDERS];
	struct appender app[APPENDERS];
	pthread_create(&reader, NULL, reader_main, &rd);
	for (int i = 0; i < APPENDERS; i++) {
		app[i] = (struct appender){ &r, i, 0x9e3779b97f4a7c15u * (uint64_t)(i + 1) };
		pthread_create(&threads[i], NULL, appender_main, &app[i]);
	}
	for (int i = 0; i < APPENDERS; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_lock(&r.mu);
	r.appenders_done = 1;
	pthread_mutex_unlock(&r.mu);
	pthread_join(reader, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* Every committed event read once; nothing read that was not committed. */
	long skipped = 0, head_expected = r.committed;
	for (int i = 0; i < APPENDERS; i++)
		for (long n = 0; n < r.next[i]; n++) {
			if (r.marks[i][n] == 1)
				skipped++;
			if (r.marks[i][n] == 2)
				r.phantoms++;
		}
	int64_t head = 0; /* the heads of the contexts, summed: the events, when gap-free */
	for (int k = 0; k < r.ncontexts; k++) {
		int64_t h = -1;
		int rc = stw_head(first, contexts[k], &h);
		if (rc != STW_OK)
			fault(&r, "stw_head", first, rc);
		head += h;
	}
	stw_close(first);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("appenders: store=%s appenders=%d readers=1 contexts=%d hold_ms=0..%u events=%ld "
	       "read=%ld "
	       "head=%lld "
	       "transactions=%ld rolled_back=%ld busy=%ld gaps=%ld skipped=%ld doubled=%ld "
	       "phantoms=%ld out_of_order=%ld seconds=%.1f\n",
	       fx_on_pg() ? "postgresql" : "sqlite", APPENDERS, r.ncontexts, r.hold, r.committed,
	       r.read, (long long)head, r.txns, r.rolled_back, r.failed, r.gaps, skipped, r.doubled,
	       r.phantoms, r.bad_order, secs);
	int ok = !r.error && r.gaps == 0 && skipped == 0 && r.doubled == 0 && r.phantoms == 0 &&
		 r.bad_order == 0 && r.read == r.committed && head == head_expected;
	if (r.error)
		fprintf(stderr, "appenders: %s\n", r.why);
	for (int i = 0; i < APPENDERS; i++)
		free(r.marks[i]);
	pthread_mutex_destroy(&r.mu);
	if (fx_world_fini(&r.w) != 0)
		ok = 0;
	return ok ? 0 : 1;
}
