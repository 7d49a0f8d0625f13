/*
 * bench_recovery.c - restart time and resident memory with a large store.
 *
 * Build (timed apart, in a child process so that its memory is not counted,
 * synchronous=OFF): an order process ("OrderPlaced" creates an instance that
 * sends Warehouse.Ship and waits for "OrderShipped") receives N orders
 * through the engine. The first N - P are stepped and their Ship commands
 * delivered to the Warehouse service; the last P are stepped with no
 * Warehouse service registered (by an engine that leaves delivery to
 * another: delivered_elsewhere), so P commands stay pending in the outbox.
 * The store then holds N instances and P pending outbox rows.
 *
 * Recovery: one new order is appended (by another engine, as if it arrived
 * while the worker was down), the store's pages are dropped from the page
 * cache (posix_fadvise, this file only: "cold"), then the clock runs from
 * stw_open() through registering the definition and the service to the
 * commit of the first step (seen by the observer), with the default
 * durable options (WAL, synchronous=FULL). Measured again at once with a
 * second new order ("warm": the pages are cached).
 *
 * Memory: the resident memory of that engine after the first step, then
 * after it has delivered the P pending commands, listed instances (ten
 * pages, newest first, and the active ones), read 1,000 instances in full
 * and stepped 10,000 new orders: VmRSS and VmHWM of /proc/self/status.
 *
 * usage: bench_recovery [--instances N] [--pending P] [--dir DIR]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

#include "bench_util.h"

static const char *const prog = "bench_recovery";

static const char *const sources[] = { "Orders", "Warehouse", NULL };
static const struct stw_state_def states[] = {
	{ "AwaitingShipment", STW_STATE_ACTIVE },
	{ "Shipped", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def ship[] = {
	{ "Warehouse", "Ship", NULL }, /* the payload: a copy of the instance data */
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def transitions[] = {
	{ NULL, "OrderPlaced", "AwaitingShipment", ship, NULL, NULL },
	{ "AwaitingShipment", "OrderShipped", "Shipped", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const struct stw_definition order_def = {
	.name = "order",
	.version = 1,
	.sources = sources,
	.states = states,
	.transitions = transitions,
};

/* The Warehouse service: accepts every Ship (its record is the dedup row). */
static int warehouse(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	(void)ud;
	if (strcmp(cmd->type, "Ship") != 0)
		return stw_reject(sc, "Warehouse does not handle %s", cmd->type);
	return STW_OK;
}

/* Appends orders [first, first + n), 1,000 to a transaction. */
static int append_orders(struct stw_engine *e, long first, long n)
{
	enum { CHUNK = 1000 };
	static struct stw_event evs[CHUNK];
	static char ids[CHUNK][32];
	for (long done = 0; done < n;) {
		int k = n - done < CHUNK ? (int)(n - done) : CHUNK, rc = STW_OK;
		for (int i = 0; i < k; i++) {
			long o = first + done + i;
			snprintf(ids[i], sizeof(ids[i]), "order-%ld", o);
			evs[i] = (struct stw_event){
				.id = ids[i],
				.type = "OrderPlaced",
				.stream = "orders", /* one stream: appended 1,000 at a time */
				.correlation_id = ids[i],
				.data = json_pack("{s:s, s:s, s:I, s:[{s:s, s:i}]}", "order_id",
						  ids[i], "customer", "customer-42", "amount",
						  (json_int_t)(1000 + o % 9000), "items", "sku",
						  "sku-7", "quantity", (int)(1 + o % 3)),
			};
			if (evs[i].data == NULL)
				rc = STW_ENOMEM;
		}
		if (rc == STW_OK)
			rc = stw_append(e, "Orders", STW_ANY_VERSION, evs, (size_t)k, NULL);
		for (int i = 0; i < k; i++)
			json_decref(evs[i].data);
		if (rc != STW_OK) {
			fprintf(stderr, "%s: append: %s\n", prog, stw_errmsg(e));
			return 1;
		}
		done += k;
	}
	return 0;
}

/* Opens an engine with the order definition (and the service when asked). */
static struct stw_engine *open_engine(const char *path, const struct stw_options *o,
				      int with_service)
{
	struct stw_engine *e = NULL;
	if (stw_open(path, o, &e) != STW_OK || stw_define(e, &order_def) != STW_OK ||
	    (with_service && stw_register_service(e, "Warehouse", warehouse, NULL) != STW_OK)) {
		fprintf(stderr, "%s: open: %s\n", prog, e ? stw_errmsg(e) : path);
		stw_close(e);
		return NULL;
	}
	return e;
}

/* Builds the store: n instances, `pending` Ship commands left in the outbox. */
static int build(const char *path, long n, long pending)
{
	struct stw_options o = { .synchronous = 0, .batch_size = 1000 };
	struct stw_engine *e = open_engine(path, &o, 1);
	int rc = e != NULL ? append_orders(e, 0, n - pending) : 1;
	if (rc == 0 && stw_run_until_idle(e) != STW_OK) {
		fprintf(stderr, "%s: build: %s\n", prog, stw_errmsg(e));
		rc = 1;
	}
	stw_close(e);
	o.delivered_elsewhere = 1; /* the worker that serves Warehouse is down */
	if (rc != 0 || (e = open_engine(path, &o, 0)) == NULL)
		return 1;
	rc = append_orders(e, n - pending, pending);
	if (rc == 0 && stw_run_until_idle(e) != STW_OK) {
		fprintf(stderr, "%s: build: %s\n", prog, stw_errmsg(e));
		rc = 1;
	}
	int64_t left = 0;
	if (rc == 0 && (stw_pending_commands(e, &left) != STW_OK || left != pending)) {
		fprintf(stderr, "%s: %lld commands pending, expected %ld\n", prog, (long long)left,
			pending);
		rc = 1;
	}
	stw_close(e);
	return rc;
}

/* Appends one more order with an engine of its own (no definition, no worker). */
static int append_one(const char *path, long order)
{
	struct stw_engine *e = NULL;
	int rc = stw_open(path, NULL, &e) == STW_OK ? append_orders(e, order, 1) : 1;
	stw_close(e);
	return rc;
}

/* Drops the pages of the store's files from the page cache (after writing them back). */
static void drop_cache(const char *path)
{
	const char *suffix[] = { "", "-wal" };
	for (int i = 0; i < 2; i++) {
		char p[600];
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		int fd = open(p, O_RDONLY);
		if (fd < 0)
			continue;
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
}

/* The observer: the time of the first step of "order" that handled something. */
struct first_step {
	double at; /* monotonic seconds; 0 until seen */
};

static void observe(const struct stw_activity *a, void *ud)
{
	struct first_step *f = ud;
	if (f->at == 0 && a->kind == STW_ACTIVITY_STEP && a->count > 0 &&
	    strcmp(a->definition, "order") == 0)
		f->at = bench_now_s();
}

/*
 * Opens the store as a restarting worker does and runs rounds until the
 * first step; *seconds receives the time from before stw_open to its commit.
 * The engine is left open in *out.
 */
static int recover(const char *path, struct first_step *f, double *seconds, struct stw_engine **out)
{
	struct stw_options o = { .synchronous = 2, .observer = observe, .observer_ud = f };
	f->at = 0;
	double t0 = bench_now_s();
	struct stw_engine *e = open_engine(path, &o, 1);
	*out = e;
	if (e == NULL)
		return 1;
	while (f->at == 0) {
		int did = 0;
		if (stw_run_once(e, &did) != STW_OK || did == 0) {
			fprintf(stderr, "%s: no step after the restart: %s\n", prog, stw_errmsg(e));
			return 1;
		}
	}
	*seconds = f->at - t0;
	return 0;
}

/* Lists and reads instances as an operator's page would, then steps new orders. */
static int exercise(struct stw_engine *e, long n, long first_new, long nnew)
{
	for (int page = 0; page < 10; page++) {
		struct stw_instance_filter f = { .definition = "order",
						 .limit = 100,
						 .offset = page * 100 };
		json_t *list = NULL;
		if (stw_list_instances(e, &f, &list) != STW_OK || json_array_size(list) != 100) {
			fprintf(stderr, "%s: list: %s\n", prog, stw_errmsg(e));
			json_decref(list);
			return 1;
		}
		json_decref(list);
	}
	struct stw_instance_filter active = { .definition = "order", .status = "active" };
	json_t *list = NULL;
	if (stw_list_instances(e, &active, &list) != STW_OK) {
		fprintf(stderr, "%s: list active: %s\n", prog, stw_errmsg(e));
		return 1;
	}
	json_decref(list);
	unsigned x = 12345;
	for (int i = 0; i < 1000; i++) {
		char id[32];
		x = x * 1103515245u + 12345u;
		snprintf(id, sizeof(id), "order-%ld", (long)(x % (unsigned)n));
		json_t *inst = NULL;
		if (stw_get_instance(e, "order", id, &inst) != STW_OK) {
			fprintf(stderr, "%s: get %s: %s\n", prog, id, stw_errmsg(e));
			return 1;
		}
		json_decref(inst);
	}
	if (append_orders(e, first_new, nnew) != 0)
		return 1;
	if (stw_run_until_idle(e) != STW_OK) {
		fprintf(stderr, "%s: stepping: %s\n", prog, stw_errmsg(e));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0); /* each figure as soon as it is known */
	long n = 1000000, pending = 100000;
	const char *dir = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--instances") == 0 && i + 1 < argc)
			n = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--pending") == 0 && i + 1 < argc)
			pending = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "usage: %s [--instances N] [--pending P] [--dir DIR]\n",
				prog);
			return 2;
		}
	}
	if (n < 1000 || pending < 1 || pending >= n) {
		fprintf(stderr, "%s: needs --instances >= 1000 and 0 < --pending < instances\n",
			prog);
		return 2;
	}
	char tmp[32];
	if ((dir = bench_dir(dir, tmp, prog)) == NULL)
		return 1;
	char path[512];
	snprintf(path, sizeof(path), "%s/recovery.db", dir);
	unlink(path);
	printf("bench durable_sqlite_wal_synchronous_full 1 flag\n");
	fflush(stdout);

	/* The build runs in a child so that its memory is not this process's. */
	double t0 = bench_now_s();
	pid_t child = fork();
	if (child == 0)
		_exit(build(path, n, pending));
	int ws = 0;
	if (child < 0 || waitpid(child, &ws, 0) != child || !WIFEXITED(ws) ||
	    WEXITSTATUS(ws) != 0) {
		fprintf(stderr, "%s: building the store failed\n", prog);
		bench_rm_dir(dir, tmp, prog);
		return 1;
	}
	printf("bench recovery_instances %ld instances\n", n);
	printf("bench recovery_pending_commands %ld commands\n", pending);
	printf("bench recovery_build_seconds %.1f s\n", bench_now_s() - t0);

	int status = 1;
	struct stw_engine *e = NULL;
	struct first_step f = { 0 };
	double cold = 0, warm = 0;
	if (append_one(path, n) != 0)
		goto out;
	drop_cache(path);
	if (recover(path, &f, &cold, &e) != 0)
		goto out;
	printf("bench recovery_cold_first_step %.1f ms\n", cold * 1e3);
	double rss_first = bench_status_mb("VmRSS");
	/* The warm restart: the same again, with the store's pages cached. */
	stw_close(e);
	e = NULL;
	if (append_one(path, n + 1) != 0 || recover(path, &f, &warm, &e) != 0)
		goto out;
	printf("bench recovery_warm_first_step %.1f ms\n", warm * 1e3);

	printf("bench memory_rss_first_step %.1f MB\n", rss_first);
	if (exercise(e, n, n + 2, n / 100) != 0)
		goto out;
	int64_t left = -1;
	if (stw_pending_commands(e, &left) != STW_OK || left != 0) {
		fprintf(stderr, "%s: %lld commands still pending\n", prog, (long long)left);
		goto out;
	}
	double rss = bench_status_mb("VmRSS"), hwm = bench_status_mb("VmHWM");
	printf("bench memory_rss %.1f MB\n", rss);
	printf("bench memory_rss_peak %.1f MB\n", hwm);
	if (n >= 1000000 && pending >= 100000) {
		printf("bench recovery_meets_target %d flag\n", cold <= 1.0);
		printf("bench memory_meets_target %d flag\n", hwm <= 100.0);
	}
	status = 0;
out:
	stw_close(e);
	bench_rm_dir(dir, tmp, prog);
	return status;
}
