/*
 * steward_cluster.h - many workers on one PostgreSQL store: the membership
 * of one worker (stw_cluster_join), handed to the engines of the worker
 * that step, fire timers, deliver and run periodic processes
 * (stw_options.cluster). docs/OPERATIONS.md, "A cluster", says how it
 * works and how to run one.
 *
 * Instances are split into partitions by a stable hash of their id (the
 * count is the store's: 64 unless the first worker ever to join says
 * otherwise). A worker holds partitions through leases whose times are the
 * database's clock; each holds its share (rendezvous hashing over the live
 * workers), moving at most `moves` partitions from a live worker per
 * renewal. Every transaction an engine of the worker writes begins by
 * checking, inside it, that the worker still holds its partitions at their
 * epochs: a worker that wakes after its leases moved commits nothing. One
 * lease more, the periodic singleton, says which worker runs the periodic
 * processes (and retention).
 *
 * A membership runs a thread of its own, with its own connection: it
 * renews every renew_ms, and wakes at once when another worker joins or
 * leaves (LISTEN/NOTIFY).
 *
 * Part of the public API of libsteward: include <steward.h>, which includes
 * this file (the conventions at its top apply).
 */
#ifndef STEWARD_CLUSTER_H
#define STEWARD_CLUSTER_H

#ifndef STEWARD_H
#error "include <steward.h>, not this file"
#endif

struct stw_cluster;

struct stw_cluster_options {
	const char *store; /* the PostgreSQL store's URL */
	/* This worker's name (letters, digits, ._:@-); NULL: HOST:PID. Its id
	 * in the store is the name, '#' and 8 hex digits of this start's own:
	 * a worker started again is another owner of leases than the one that
	 * stopped. */
	const char *worker;
	const char *address; /* shown to others: where its HTTP API listens; NULL: none */
	/* Partitions, applied only by the first worker ever to join the
	 * store (then fixed); 0: the store's (64 when created). */
	int partitions;
	int64_t lease_ms; /* a lease runs this long after its last renewal; 0: 8000 */
	int64_t renew_ms; /* renewals, and looks at the assignment; 0: 2000 */
	int moves;        /* partitions given up to a live worker per renewal; 0: 8 */
	int audit;        /* 1: record every fenced transaction (stw_fence_audit) */
	stw_log_fn log;   /* NULL: none */
	void *log_ud;
	/* Called on the membership's thread when a commit anywhere in the
	 * cluster wrote an event, a command or a timer, and when the worker
	 * took partitions: wake the engines, so that idle workers need not
	 * poll often. NULL: none. */
	void (*on_work)(void *ud);
	void *work_ud;
};

/*
 * Registers the worker, takes its first leases and starts its thread.
 * STW_OK with *out, or a code with a message in err (cap bytes).
 */
STW_API int stw_cluster_join(const struct stw_cluster_options *o, struct stw_cluster **out,
			     char *err, size_t cap);

/*
 * Records where the worker's HTTP API listens now, shown to the others from
 * its next heartbeat on: the address a server chose (a port 0 asked for) is
 * known only once it listens, after the join. Accepts NULL.
 */
STW_API void stw_cluster_set_address(struct stw_cluster *c, const char *address);

/*
 * Gives every lease up at once (the others take them at once) and frees
 * the membership. Close the engines that use it first. Accepts NULL.
 */
STW_API void stw_cluster_leave(struct stw_cluster *c);

struct stw_cluster_stats {
	char worker[128];
	int partitions;            /* the store's */
	int held;                  /* partitions held now */
	int periodic;              /* 1: holds the periodic singleton */
	uint64_t acquired;         /* leases taken */
	uint64_t takeovers;        /* of those, leases another worker held before */
	uint64_t released;         /* leases given up to a live worker, or at leave */
	uint64_t lost;             /* leases found taken over at a renewal */
	uint64_t fencing_refusals; /* transactions refused: a lease had moved */
	uint64_t renewals;         /* renewals made */
	uint64_t renew_failures;   /* renewals that failed (the store was away) */
	int64_t renew_last_us;     /* the last renewal's time */
	int64_t renew_max_us;      /* the longest */
	int64_t renew_p99_us;      /* of the last 256 */
};

STW_API void stw_cluster_stats(struct stw_cluster *c, struct stw_cluster_stats *out);

/* 1 when the worker holds the periodic singleton now (runs periodic processes, retention). */
STW_API int stw_cluster_holds_periodic(struct stw_cluster *c);

/*
 * The cluster of the engine's store, as a new JSON object (docs/API.md,
 * GET /api/cluster): any engine on the store reads all of it, in a worker
 * or not (reads are not partitioned). {"enabled": false} on a store
 * without clusters (SQLite) or one no worker ever joined; else enabled,
 * partition_count, now (the database's clock, ms since the epoch), workers
 * [{id, host, pid, address, started_at, heartbeat_at, heartbeat_age_ms,
 * lease_ms, live (its heartbeat is younger than its lease), partitions
 * (held now), periodic (holds the singleton), lag (its partitions'
 * cursor_lag added up)}], periodic (the singleton's lease: {part, owner,
 * epoch, held, expires_in_ms}), partitions [the same for each partition,
 * with cursor_lag (over every cursor: the events of its context the
 * partition has not looked at), timers and commands (pending delivery)],
 * and takeovers: the newest 20 grants of a lease, newest first [{part,
 * epoch, owner, prev_owner, how (free, released or expired), at}].
 */
STW_API int stw_cluster_view(struct stw_engine *e, json_t **out) STW_WUR;

#endif /* STEWARD_CLUSTER_H */
