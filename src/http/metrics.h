/*
 * metrics.h - the counters of the daemon that /metrics prints: the worker
 * feeds them through its observer (steps, timers, the engines' stats) and
 * marks itself alive; the server adds gauges read from the store when it
 * prints them. Thread-safe: the counters are under their own lock.
 */
#ifndef STW_HTTP_METRICS_H
#define STW_HTTP_METRICS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <steward.h>

#define STW_HTTP_MAX_LABELS 32
#define STW_HTTP_BUCKETS    13

struct stw__http_metrics {
	pthread_mutex_t lock;
	struct {
		char name[STW_MAX_NAME];
		uint64_t steps;
		uint64_t batches;
	} defs[STW_HTTP_MAX_LABELS];
	int ndefs;
	struct {
		char name[STW_MAX_NAME];
		uint64_t delivered;
		uint64_t rejected;
	} contexts[STW_HTTP_MAX_LABELS];
	int ncontexts;
	uint64_t buckets[STW_HTTP_BUCKETS]; /* step duration histogram, cumulative at print */
	double duration_sum;
	uint64_t duration_count;
	uint64_t late_buckets[STW_HTTP_BUCKETS]; /* timer lateness histogram */
	double late_sum;
	uint64_t late_count;
	struct stw_stats stats;        /* the worker engine's counters, copied after each commit */
	struct stw_stats remote_stats; /* the remote delivery engine's counters */
	int64_t last_beat_ms;          /* monotonic ms of the worker's last loop */
	/* Readiness (see struct stw__http_health): what the last writes did. */
	int64_t
	    failing_since_ms; /* monotonic ms the worker's rounds began to fail; 0: they succeed */
	uint64_t round_failures;  /* rounds that failed, ever */
	char round_error[512];    /* the last failed round's message */
	int64_t write_failing_ms; /* monotonic ms the API's writes began to fail; 0: they succeed */
	char write_error[512];    /* the last failed write's message */
	/* The store connections of the worker and of the delivery engine (the API's is read). */
	struct stw_store_status store[2];
	unsigned store_seen; /* bits (1 << enum stw__http_engine) of the engines that reported */
	/* The worker's retention (stw_prune), added up since the daemon started. */
	struct stw_prune_stats retention; /* its finished field unused */
	uint64_t retention_passes;        /* passes finished */
};

/* The engines whose store connection the daemon reports (stw__http_metrics_store). */
enum stw__http_engine { STW__HTTP_WORKER, STW__HTTP_DELIVERY };

/* What the daemon knows of its own health, at one moment (stw__http_metrics_health). */
struct stw__http_health {
	int64_t beat_age_ms;      /* since the worker's last loop */
	int64_t failing_for_ms;   /* how long its rounds have failed, 0: they succeed */
	uint64_t round_failures;  /* rounds that failed, ever */
	char round_error[512];    /* the last failed round's message ("" if none) */
	int64_t write_failing_ms; /* how long the API's writes have failed, 0: they succeed */
	char write_error[512];    /* the last failed write's message ("" if none) */
};

void stw__http_metrics_init(struct stw__http_metrics *m);
void stw__http_metrics_destroy(struct stw__http_metrics *m);
/* Records one committed activity (called by the worker's observer). */
void stw__http_metrics_record(struct stw__http_metrics *m, const struct stw_activity *a,
			      const struct stw_stats *stats);
/* Copies the counters of the remote delivery engine. */
void stw__http_metrics_remote(struct stw__http_metrics *m, const struct stw_stats *stats);
/* Marks the worker alive. */
void stw__http_metrics_beat(struct stw__http_metrics *m);
/*
 * Marks the worker alive after a round and records how it went: rc from
 * stw_run_once, with the engine's message when it failed.
 */
void stw__http_metrics_round(struct stw__http_metrics *m, int rc, const char *msg);
/* Adds what one call of stw_prune on the worker's engine did. */
void stw__http_metrics_retention(struct stw__http_metrics *m, const struct stw_prune_stats *s);

/* Copies how an engine's store connection fares (stw_store_status), after its round. */
void stw__http_metrics_store(struct stw__http_metrics *m, enum stw__http_engine which,
			     const struct stw_engine *e);
/* Records how a write of the API went (rc, and the message when it failed). */
void stw__http_metrics_write(struct stw__http_metrics *m, int rc, const char *msg);
/* A snapshot of the health the worker and the API recorded. */
void stw__http_metrics_health(struct stw__http_metrics *m, struct stw__http_health *out);
/* Milliseconds since the worker was last marked alive. */
int64_t stw__http_metrics_beat_age_ms(struct stw__http_metrics *m);

/*
 * Calls fn for every source of every registered definition with the events
 * of it the definition has not handled yet (the head less the cursor), read
 * from engine e now (the caller holds e). Returns the first failure's code.
 */
typedef void (*stw__http_lag_fn)(const char *definition, const char *context, int64_t lag,
				 void *ud);
int stw__http_cursor_lags(struct stw_engine *e, stw__http_lag_fn fn, void *ud);

/*
 * The /metrics text: m's counters, gauges read from engine e now (the
 * caller holds e), the figures of the daemon's membership of a cluster
 * (NULL: none), and the API's group commits (commits that held committed
 * requests), the stuck instances (stuck_after_ms, see server.h). Returns a
 * malloc'd string of *len bytes the caller frees, or NULL without memory.
 */
char *stw__http_metrics_text(struct stw__http_metrics *m, struct stw_engine *e,
			     struct stw_cluster *cluster, uint64_t commits, uint64_t committed,
			     int64_t stuck_after_ms, size_t *len);

#endif /* STW_HTTP_METRICS_H */
