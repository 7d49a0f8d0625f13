/*
 * sqlite_ckpt.c - the background checkpointer: a thread with its own
 * connection that copies the WAL back into the database when the committing
 * connection's WAL hook says it has grown past STW__CKPT_PAGES, so that the
 * steps never wait for a checkpoint (copying pages and syncing the database
 * file). If it falls far behind (STW__CKPT_INLINE_PAGES, say a long reader
 * keeps it from finishing), the committing thread checkpoints itself, as
 * SQLite would.
 */
#include "store/sqlite.h"
#include "store/sqlite_int.h"

#include <steward.h>

#include <pthread.h>
#include <stdlib.h>

#define STW__CKPT_PAGES        1000
#define STW__CKPT_INLINE_PAGES 16000
struct ckpt {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wanted; /* a checkpoint was asked for (under mu) */
	int stop;   /* the thread is to end (under mu) */
	sqlite3 *db;
	int next;   /* the WAL size that asks for the next checkpoint (WAL hook only) */
	int seen;   /* the WAL size at the last commit (WAL hook only) */
	long asked; /* checkpoints asked for (WAL hook only; read by tests) */
};

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->wanted && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->wanted = 0;
		pthread_mutex_unlock(&c->mu);
		/* PASSIVE: never waits for readers or writers; what it cannot copy
		 * now is copied at the next request. */
		(void)sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&c->mu);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* The committing connection's WAL hook: `frames` is the WAL's size after a commit. */
static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
	struct ckpt *c = ud;
	/*
	 * A WAL that a checkpoint could not empty (commits kept coming while it
	 * copied) is not restarted, so its size stays past STW__CKPT_PAGES. The
	 * next checkpoint is asked for once another STW__CKPT_PAGES have been
	 * written, not at every commit: each checkpoint syncs the database file,
	 * and one per commit doubled the syncs of a light load.
	 */
	if (frames < c->seen)
		c->next = STW__CKPT_PAGES; /* the WAL restarted from its beginning */
	c->seen = frames;
	if (frames >= STW__CKPT_INLINE_PAGES) {
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (frames >= c->next) {
		c->next = frames + STW__CKPT_PAGES;
		c->asked++;
		pthread_mutex_lock(&c->mu);
		c->wanted = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

/* Stops and joins the checkpointer and closes its connection. Accepts NULL. */
void stw__sqlite_ckpt_stop(struct ckpt *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	sqlite3_close_v2(c->db);
	free(c);
}

/*
 * Starts the checkpointer on a second connection to `path` (same
 * synchronous setting, so that a checkpoint syncs the database file as the
 * committing connection would) and hands the WAL hook to it. Without a
 * thread the connection keeps SQLite's automatic checkpoints.
 */
int stw__sqlite_ckpt_start(struct sqlite_store *h, const char *path, int synchronous)
{
	struct ckpt *c = calloc(1, sizeof *c);
	if (c == NULL)
		return stw__sqlite_failf(h, STW_ENOMEM, "open: out of memory");
	int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db, stw__sqlite_sync_sql[synchronous], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int code = stw__sqlite_failf(h, STW_ESTORE, "open: checkpointer: %s",
					     c->db ? sqlite3_errmsg(c->db) : "out of memory");
		sqlite3_close_v2(c->db);
		free(c);
		return code;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	if (pthread_create(&c->thread, NULL, ckpt_main, c) != 0) {
		pthread_cond_destroy(&c->cv);
		pthread_mutex_destroy(&c->mu);
		sqlite3_close_v2(c->db);
		free(c);
		return stw__sqlite_failf(h, STW_ESTORE,
					 "open: cannot start the checkpointer thread");
	}
	/* Named here, not by the thread itself, so that it is named once stw_open returns. */
	pthread_setname_np(c->thread, "stw-checkpoint");
	c->next = STW__CKPT_PAGES;
	h->ckpt = c;
	sqlite3_wal_hook(h->db, wal_hook, c);
	return STW_OK;
}

long stw__sqlite_checkpoints_asked(struct stw__store *s)
{
	struct sqlite_store *h = handle(s);
	return h->ckpt != NULL ? h->ckpt->asked : -1;
}
