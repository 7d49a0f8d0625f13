/*
 * metrics.c - the counters the worker feeds (metrics.h) and the /metrics
 * text made of them, in the Prometheus text exposition format.
 */
#include "http/metrics.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const double bucket_bounds[STW_HTTP_BUCKETS - 1] = { 0.0005, 0.001, 0.0025, 0.005,
							    0.01,   0.025, 0.05,   0.1,
							    0.25,   0.5,   1,      2.5 };

void stw__http_metrics_init(struct stw__http_metrics *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->last_beat_ms = mono_ms();
	m->store[STW__HTTP_WORKER].up = 1; /* until it finds otherwise */
	m->store_seen = 1u << STW__HTTP_WORKER;
}

void stw__http_metrics_destroy(struct stw__http_metrics *m)
{
	pthread_mutex_destroy(&m->lock);
}

void stw__http_metrics_beat(struct stw__http_metrics *m)
{
	pthread_mutex_lock(&m->lock);
	m->last_beat_ms = mono_ms();
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_round(struct stw__http_metrics *m, int rc, const char *msg)
{
	pthread_mutex_lock(&m->lock);
	int64_t now = mono_ms();
	m->last_beat_ms = now;
	if (rc == STW_OK) {
		m->failing_since_ms = 0;
	} else {
		if (m->failing_since_ms == 0)
			m->failing_since_ms = now;
		m->round_failures++;
		snprintf(m->round_error, sizeof(m->round_error), "%s",
			 msg ? msg : stw_strerror(rc));
	}
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_retention(struct stw__http_metrics *m, const struct stw_prune_stats *s)
{
	pthread_mutex_lock(&m->lock);
	m->retention.instances += s->instances;
	m->retention.history += s->history;
	m->retention.timers += s->timers;
	m->retention.outbox += s->outbox;
	m->retention.dedup += s->dedup;
	m->retention.commands += s->commands;
	m->retention.batches += s->batches;
	m->retention_passes += s->finished ? 1 : 0;
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_write(struct stw__http_metrics *m, int rc, const char *msg)
{
	pthread_mutex_lock(&m->lock);
	if (rc == STW_OK) {
		m->write_failing_ms = 0;
	} else {
		if (m->write_failing_ms == 0)
			m->write_failing_ms = mono_ms();
		snprintf(m->write_error, sizeof(m->write_error), "%s",
			 msg ? msg : stw_strerror(rc));
	}
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_health(struct stw__http_metrics *m, struct stw__http_health *out)
{
	pthread_mutex_lock(&m->lock);
	int64_t now = mono_ms();
	out->beat_age_ms = now - m->last_beat_ms;
	out->failing_for_ms = m->failing_since_ms ? now - m->failing_since_ms + 1 : 0;
	out->round_failures = m->round_failures;
	snprintf(out->round_error, sizeof(out->round_error), "%s", m->round_error);
	out->write_failing_ms = m->write_failing_ms ? now - m->write_failing_ms + 1 : 0;
	snprintf(out->write_error, sizeof(out->write_error), "%s", m->write_error);
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_store(struct stw__http_metrics *m, enum stw__http_engine which,
			     const struct stw_engine *e)
{
	struct stw_store_status st;
	stw_store_status(e, &st);
	pthread_mutex_lock(&m->lock);
	m->store[which] = st;
	m->store_seen |= 1u << which;
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_remote(struct stw__http_metrics *m, const struct stw_stats *stats)
{
	pthread_mutex_lock(&m->lock);
	m->remote_stats = *stats;
	pthread_mutex_unlock(&m->lock);
}

void stw__http_metrics_record(struct stw__http_metrics *m, const struct stw_activity *a,
			      const struct stw_stats *stats)
{
	pthread_mutex_lock(&m->lock);
	if (stats != NULL)
		m->stats = *stats;
	m->last_beat_ms = mono_ms();
	for (int k = 0; a->kind == STW_ACTIVITY_TIMERS && a->lateness_ms && k < a->count; k++) {
		double late = (double)a->lateness_ms[k] / 1e3;
		int b = 0;
		while (b < STW_HTTP_BUCKETS - 1 && late > bucket_bounds[b])
			b++;
		m->late_buckets[b]++;
		m->late_sum += late;
		m->late_count++;
	}
	if (a->kind == STW_ACTIVITY_STEP && a->definition != NULL) {
		int i = 0;
		while (i < m->ndefs && strcmp(m->defs[i].name, a->definition) != 0)
			i++;
		if (i == m->ndefs && i < STW_HTTP_MAX_LABELS) {
			snprintf(m->defs[i].name, sizeof(m->defs[i].name), "%s", a->definition);
			m->ndefs++;
		}
		if (i < m->ndefs) {
			m->defs[i].steps += (uint64_t)a->count;
			m->defs[i].batches++;
		}
		double s = (double)a->duration_us / 1e6;
		int b = 0;
		while (b < STW_HTTP_BUCKETS - 1 && s > bucket_bounds[b])
			b++;
		m->buckets[b]++;
		m->duration_sum += s;
		m->duration_count++;
	}
	pthread_mutex_unlock(&m->lock);
}

int64_t stw__http_metrics_beat_age_ms(struct stw__http_metrics *m)
{
	pthread_mutex_lock(&m->lock);
	int64_t age = mono_ms() - m->last_beat_ms;
	pthread_mutex_unlock(&m->lock);
	return age;
}

/* The text ---------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void bprintf(struct buf *b, const char *fmt, ...)
{
	if (b->oom)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

/* Prints one histogram with the shared bucket bounds (seconds). */
static void histogram(struct buf *b, const char *name, const char *help, const uint64_t *buckets,
		      double sum, uint64_t count)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t cum = 0;
	for (int i = 0; i < STW_HTTP_BUCKETS - 1; i++) {
		cum += buckets[i];
		bprintf(b, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_bounds[i],
			(unsigned long long)cum);
	}
	cum += buckets[STW_HTTP_BUCKETS - 1];
	bprintf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n", name,
		(unsigned long long)cum, name, sum, name, (unsigned long long)count);
}

int stw__http_cursor_lags(struct stw_engine *e, stw__http_lag_fn fn, void *ud)
{
	json_t *defs = NULL;
	int rc = stw_list_definitions(e, &defs);
	size_t i, j;
	json_t *d, *src;
	json_array_foreach(defs, i, d)
	{
		const char *name = json_string_value(json_object_get(d, "name"));
		json_array_foreach(json_object_get(d, "sources"), j, src)
		{
			const char *ctx = json_string_value(src);
			int64_t head = 0, cursor = 0;
			if (rc == STW_OK && (rc = stw_head(e, ctx, &head)) == STW_OK &&
			    (rc = stw_get_cursor(e, name, ctx, &cursor)) == STW_OK)
				fn(name, ctx, head > cursor ? head - cursor : 0, ud);
		}
	}
	json_decref(defs);
	return rc;
}

static void print_lag(const char *definition, const char *context, int64_t lag, void *ud)
{
	bprintf(ud, "steward_cursor_lag{definition=\"%s\",context=\"%s\"} %lld\n", definition,
		context, (long long)lag);
}

/* The `engine` label of the daemon's engines, in the order of the store and gate figures. */
static const char *const engine_names[3] = { "worker", "delivery", "api" };

/* The engines of engine_names that report: those seen (store_seen) and the API's. */
static unsigned engines_seen(const struct stw__http_metrics *snap)
{
	return snap->store_seen | 1u << 2;
}

/*
 * The store connections of the worker, the delivery engine (when remote
 * services have one) and the API's engine e (a store without a connection,
 * SQLite, is always up).
 */
static void store_text(struct buf *b, const struct stw__http_metrics *snap, struct stw_engine *e)
{
	struct stw_store_status st[3] = { snap->store[STW__HTTP_WORKER],
					  snap->store[STW__HTTP_DELIVERY] };
	unsigned seen = engines_seen(snap);
	stw_store_status(e, &st[2]);
	bprintf(b, "# HELP steward_store_up 1 while an engine's connection to the store works, "
		   "0 from when it is found lost until it is made again.\n"
		   "# TYPE steward_store_up gauge\n");
	for (int i = 0; i < 3; i++)
		if (seen & 1u << i)
			bprintf(b, "steward_store_up{engine=\"%s\"} %d\n", engine_names[i],
				st[i].up);
	bprintf(b, "# HELP steward_store_connection_losses_total Store connections found lost.\n"
		   "# TYPE steward_store_connection_losses_total counter\n");
	for (int i = 0; i < 3; i++)
		if (seen & 1u << i)
			bprintf(b, "steward_store_connection_losses_total{engine=\"%s\"} %llu\n",
				engine_names[i], (unsigned long long)st[i].losses);
	bprintf(b, "# HELP steward_store_reconnects_total Store connections made again.\n"
		   "# TYPE steward_store_reconnects_total counter\n");
	for (int i = 0; i < 3; i++)
		if (seen & 1u << i)
			bprintf(b, "steward_store_reconnects_total{engine=\"%s\"} %llu\n",
				engine_names[i], (unsigned long long)st[i].reconnects);
}

/* One counter family of the write gate, by engine (those of engines_seen). */
static void gate_family(struct buf *b, const char *name, const char *help, const double v[3],
			unsigned seen, int decimals)
{
	bprintf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help, name);
	for (int i = 0; i < 3; i++)
		if (seen & 1u << i)
			bprintf(b, "%s{engine=\"%s\"} %.*f\n", name, engine_names[i], decimals,
				v[i]);
}

/*
 * The write gate the daemon's engines share (stw_stats' gate_*): how often
 * each took the write lock, how long it waited for it and held it. The
 * worker's and the delivery engine's counters are those of their last
 * commit; the API's engine (e, under the server's lock) is read now.
 */
static void gate_text(struct buf *b, const struct stw__http_metrics *snap, struct stw_engine *e)
{
	struct stw_stats api;
	stw_get_stats(e, &api);
	const struct stw_stats *by[3] = { &snap->stats, &snap->remote_stats, &api };
	unsigned seen = engines_seen(snap);
	double turns[3], wait[3], held[3];
	for (int i = 0; i < 3; i++) {
		turns[i] = (double)by[i]->gate_turns;
		wait[i] = (double)by[i]->gate_wait_us / 1e6;
		held[i] = (double)by[i]->gate_held_us / 1e6;
	}
	gate_family(b, "steward_write_gate_turns_total",
		    "Turns of the daemon's engines at the store's write lock.", turns, seen, 0);
	gate_family(b, "steward_write_gate_wait_seconds_total", "Time they waited for their turns.",
		    wait, seen, 6);
	gate_family(b, "steward_write_gate_held_seconds_total",
		    "Time they held the write lock, from their turn to their transaction's end.",
		    held, seen, 6);
}

/* Label values are names ([A-Za-z0-9_.-]) by construction: no escaping needed. */
static void metrics_text(struct stw__http_metrics *m, struct stw_engine *e, uint64_t commits,
			 uint64_t committed, struct buf *b)
{
	struct stw__http_metrics snap;
	pthread_mutex_lock(&m->lock);
	memcpy(&snap, m, sizeof(snap));
	pthread_mutex_unlock(&m->lock);
	bprintf(b, "# HELP steward_steps_total Messages handled by process steps.\n"
		   "# TYPE steward_steps_total counter\n");
	for (int i = 0; i < snap.ndefs; i++)
		bprintf(b, "steward_steps_total{definition=\"%s\"} %llu\n", snap.defs[i].name,
			(unsigned long long)snap.defs[i].steps);
	bprintf(b, "# HELP steward_step_batches_total Step batches committed.\n"
		   "# TYPE steward_step_batches_total counter\n");
	for (int i = 0; i < snap.ndefs; i++)
		bprintf(b, "steward_step_batches_total{definition=\"%s\"} %llu\n",
			snap.defs[i].name, (unsigned long long)snap.defs[i].batches);
	const struct stw_stats *st = &snap.stats;
	bprintf(
	    b,
	    "# HELP steward_duplicates_total Messages recognised as already handled.\n"
	    "# TYPE steward_duplicates_total counter\nsteward_duplicates_total %llu\n"
	    "# HELP steward_failures_total Instances that went to failed status.\n"
	    "# TYPE steward_failures_total counter\nsteward_failures_total %llu\n"
	    "# HELP steward_unrouted_total Messages that reached no instance.\n"
	    "# TYPE steward_unrouted_total counter\nsteward_unrouted_total %llu\n"
	    "# HELP steward_rejected_total Triggers refused by a uniqueness key.\n"
	    "# TYPE steward_rejected_total counter\nsteward_rejected_total %llu\n"
	    "# HELP steward_commands_delivered_total Outbox commands delivered to services.\n"
	    "# TYPE steward_commands_delivered_total counter\n"
	    "steward_commands_delivered_total %llu\n"
	    "# HELP steward_commands_rejected_total Delivered commands the service refused.\n"
	    "# TYPE steward_commands_rejected_total counter\n"
	    "steward_commands_rejected_total %llu\n"
	    "# HELP steward_duplicate_deliveries_total Redeliveries absorbed by the dedup table.\n"
	    "# TYPE steward_duplicate_deliveries_total counter\n"
	    "steward_duplicate_deliveries_total %llu\n",
	    (unsigned long long)st->duplicates, (unsigned long long)st->failures,
	    (unsigned long long)st->unrouted, (unsigned long long)st->rejected,
	    (unsigned long long)st->commands_delivered, (unsigned long long)st->commands_rejected,
	    (unsigned long long)st->duplicate_deliveries);
	histogram(b, "steward_step_duration_seconds", "Duration of one step transaction.",
		  snap.buckets, snap.duration_sum, snap.duration_count);
	histogram(b, "steward_timer_lateness_seconds",
		  "How late timers fired after their due time.", snap.late_buckets, snap.late_sum,
		  snap.late_count);
	bprintf(b,
		"# HELP steward_timers_fired_total Timers delivered to their instance.\n"
		"# TYPE steward_timers_fired_total counter\nsteward_timers_fired_total %llu\n"
		"# HELP steward_timers_ignored_total Timers void because their state was left.\n"
		"# TYPE steward_timers_ignored_total counter\nsteward_timers_ignored_total %llu\n",
		(unsigned long long)st->timers_fired, (unsigned long long)st->timers_ignored);
	const struct stw_stats *rs = &snap.remote_stats;
	bprintf(b,
		"# HELP steward_remote_attempts_total Delivery attempts to remote services.\n"
		"# TYPE steward_remote_attempts_total counter\nsteward_remote_attempts_total %llu\n"
		"# HELP steward_remote_failures_total Attempts that failed (retried or parked).\n"
		"# TYPE steward_remote_failures_total counter\nsteward_remote_failures_total %llu\n"
		"# HELP steward_commands_parked_total Commands parked after their last attempt, "
		"or for want of a service or remote.\n"
		"# TYPE steward_commands_parked_total counter\nsteward_commands_parked_total %llu\n"
		"# HELP steward_inputs_parked_total Input events parked as poison.\n"
		"# TYPE steward_inputs_parked_total counter\nsteward_inputs_parked_total %llu\n",
		(unsigned long long)rs->remote_attempts, (unsigned long long)rs->remote_failures,
		(unsigned long long)(rs->commands_parked + st->commands_parked),
		(unsigned long long)st->inputs_parked);

	/* Gauges read from the store now. */
	int64_t pending = 0;
	if (stw_pending_commands(e, &pending) == STW_OK)
		bprintf(b,
			"# HELP steward_outbox_pending Commands waiting for delivery.\n"
			"# TYPE steward_outbox_pending gauge\nsteward_outbox_pending %lld\n",
			(long long)pending);
	bprintf(b, "# HELP steward_cursor_lag Events of a source not yet handled.\n"
		   "# TYPE steward_cursor_lag gauge\n");
	(void)stw__http_cursor_lags(e, print_lag, b);
	bprintf(b,
		"# HELP steward_worker_failing 1 while the worker's rounds fail (see /readyz).\n"
		"# TYPE steward_worker_failing gauge\nsteward_worker_failing %d\n"
		"# HELP steward_worker_round_failures_total Rounds of the worker that failed.\n"
		"# TYPE steward_worker_round_failures_total counter\n"
		"steward_worker_round_failures_total %llu\n"
		"# HELP steward_api_writes_failing 1 while the API's writes fail (see /readyz).\n"
		"# TYPE steward_api_writes_failing gauge\nsteward_api_writes_failing %d\n",
		snap.failing_since_ms != 0, (unsigned long long)snap.round_failures,
		snap.write_failing_ms != 0);
	store_text(b, &snap, e);
	const struct stw_prune_stats *r = &snap.retention;
	bprintf(
	    b,
	    "# HELP steward_retention_deleted_total Rows deleted by retention: ended "
	    "instances with their history, timers and outbox rows, dedup records, and "
	    "delivered commands of no instance.\n"
	    "# TYPE steward_retention_deleted_total counter\n"
	    "steward_retention_deleted_total{what=\"instances\"} %lld\n"
	    "steward_retention_deleted_total{what=\"history\"} %lld\n"
	    "steward_retention_deleted_total{what=\"timers\"} %lld\n"
	    "steward_retention_deleted_total{what=\"outbox\"} %lld\n"
	    "steward_retention_deleted_total{what=\"dedup\"} %lld\n"
	    "steward_retention_deleted_total{what=\"commands\"} %lld\n"
	    "# HELP steward_retention_batches_total Transactions of retention committed.\n"
	    "# TYPE steward_retention_batches_total counter\n"
	    "steward_retention_batches_total %lld\n"
	    "# HELP steward_retention_passes_total Retention passes finished.\n"
	    "# TYPE steward_retention_passes_total counter\nsteward_retention_passes_total %llu\n",
	    (long long)r->instances, (long long)r->history, (long long)r->timers,
	    (long long)r->outbox, (long long)r->dedup, (long long)r->commands,
	    (long long)r->batches, (unsigned long long)snap.retention_passes);
	bprintf(b,
		"# HELP steward_api_commits_total Commits of the API's writing requests "
		"(requests that arrive together share one).\n"
		"# TYPE steward_api_commits_total counter\nsteward_api_commits_total %llu\n"
		"# HELP steward_api_committed_requests_total Writing requests in those commits.\n"
		"# TYPE steward_api_committed_requests_total counter\n"
		"steward_api_committed_requests_total %llu\n",
		(unsigned long long)commits, (unsigned long long)committed);
	gate_text(b, &snap, e);
}

/*
 * The daemon's membership of a cluster (stw_cluster_stats): what it holds
 * now, what moved, the fence's refusals and how its renewals go. The
 * worker's id is a name ([A-Za-z0-9._:@-]): no escaping needed.
 */
static void cluster_text(struct buf *b, struct stw_cluster *c)
{
	struct stw_cluster_stats s;
	stw_cluster_stats(c, &s);
	bprintf(b,
		"# HELP steward_cluster_worker This worker's id in the cluster.\n"
		"# TYPE steward_cluster_worker gauge\nsteward_cluster_worker{worker=\"%s\"} 1\n"
		"# HELP steward_cluster_partitions The store's partitions.\n"
		"# TYPE steward_cluster_partitions gauge\nsteward_cluster_partitions %d\n"
		"# HELP steward_cluster_partitions_held Partitions this worker holds now.\n"
		"# TYPE steward_cluster_partitions_held gauge\n"
		"steward_cluster_partitions_held %d\n"
		"# HELP steward_cluster_periodic_held 1 while this worker holds the periodic "
		"singleton (runs the periodic processes and retention).\n"
		"# TYPE steward_cluster_periodic_held gauge\nsteward_cluster_periodic_held %d\n",
		s.worker, s.partitions, s.held, s.periodic);
	static const struct {
		const char *name, *help;
		size_t at;
	} counters[] = {
		{ "leases_acquired", "Leases this worker took.",
		  offsetof(struct stw_cluster_stats, acquired) },
		{ "takeovers", "Leases taken that another worker held before.",
		  offsetof(struct stw_cluster_stats, takeovers) },
		{ "leases_released", "Leases given up to a live worker, or at leave.",
		  offsetof(struct stw_cluster_stats, released) },
		{ "leases_lost", "Leases found taken over at a renewal.",
		  offsetof(struct stw_cluster_stats, lost) },
		{ "fencing_refusals", "Transactions refused because a lease had moved.",
		  offsetof(struct stw_cluster_stats, fencing_refusals) },
		{ "renewals", "Lease renewals made.",
		  offsetof(struct stw_cluster_stats, renewals) },
		{ "renew_failures", "Lease renewals that failed (the store was away).",
		  offsetof(struct stw_cluster_stats, renew_failures) },
	};
	for (size_t i = 0; i < sizeof counters / sizeof counters[0]; i++) {
		uint64_t v;
		memcpy(&v, (const char *)&s + counters[i].at, sizeof v);
		bprintf(b,
			"# HELP steward_cluster_%s_total %s\n"
			"# TYPE steward_cluster_%s_total counter\nsteward_cluster_%s_total %llu\n",
			counters[i].name, counters[i].help, counters[i].name, counters[i].name,
			(unsigned long long)v);
	}
	bprintf(b,
		"# HELP steward_cluster_renew_seconds How long lease renewals take: the last, "
		"the longest, and the 99th percentile of the last 256.\n"
		"# TYPE steward_cluster_renew_seconds gauge\n"
		"steward_cluster_renew_seconds{which=\"last\"} %.6f\n"
		"steward_cluster_renew_seconds{which=\"max\"} %.6f\n"
		"steward_cluster_renew_seconds{which=\"p99\"} %.6f\n",
		(double)s.renew_last_us / 1e6, (double)s.renew_max_us / 1e6,
		(double)s.renew_p99_us / 1e6);
}

char *stw__http_metrics_text(struct stw__http_metrics *m, struct stw_engine *e,
			     struct stw_cluster *cluster, uint64_t commits, uint64_t committed,
			     int64_t stuck_after_ms, size_t *len)
{
	struct buf b = { 0 };
	metrics_text(m, e, commits, committed, &b);
	if (cluster != NULL)
		cluster_text(&b, cluster);
	int64_t stuck = 0;
	if (stw_count_stuck(e, stuck_after_ms, &stuck) == STW_OK)
		bprintf(&b,
			"# HELP steward_instances_stuck Active instances with no timer and no "
			"pending command that have not moved for %lld s.\n"
			"# TYPE steward_instances_stuck gauge\nsteward_instances_stuck %lld\n",
			(long long)(stuck_after_ms / 1000), (long long)stuck);
	if (b.oom || b.p == NULL) {
		free(b.p);
		*len = 0;
		return NULL;
	}
	*len = b.len;
	return b.p;
}
