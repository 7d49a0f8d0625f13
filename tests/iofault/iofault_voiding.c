/*
 * iofault_voiding.c - proves that the voiding example survives the disk
 * failing under it: an I/O error or a full disk at any read, write, sync or
 * truncation of the store loses nothing a call acknowledged, stores nothing
 * a call did not acknowledge (nor a process produce), corrupts nothing, and
 * the engine carries on once the fault clears.
 *
 *   iofault_voiding [--docs N] [--runs N | --all] [--dir D] [--verbose]
 *
 * The SQLite VFS of faultvfs.h is installed as the default, so the engine
 * opened with stw_open does its I/O through it. A first run of the voiding
 * workload (voiding_script.h, as the crash test runs it, from stw_open to
 * stw_close) without a fault counts the operations T of each kind. Then for
 * each kind and each N from 1 to T (--all), or for N spread evenly over 1..T
 * (about --runs runs in all, 200 by default, an equal share for each kind), a
 * run on a fresh database fails the N-th operation of that kind. Runs take turns between five ways
 * a fault comes and goes (struct variant): it fails once or stays until cleared (writes then fail
 * with SQLITE_FULL, a full disk); once cleared, the same engine carries on, or it is closed and
 * opened again, or it was closed while still failing (a restart on a bad disk) and is opened again.
 * --all runs every N in each of the five ways.
 *
 * The client of the script stops at its first call that fails, and records
 * every call that returned STW_OK. Once the fault is cleared:
 *  - PRAGMA integrity_check must be ok (corrupt);
 *  - every acknowledged call's effect must be stored (acked_lost): the
 *    document issued, the voiding requested, the report published, the
 *    voiding acknowledged, the reminder set;
 *  - no such effect may be stored without its acknowledgement
 *    (unacked_stored): the call that failed, like those never made, must
 *    have left nothing, since the engine promises an error only for work it
 *    did not commit;
 *  - the engine runs until idle, every process it started must have ended,
 *    every cursor reached its head; then the script runs again from its
 *    start (fixed ids: what was done is not done again) and the store must
 *    match the crash test's model exactly (stuck counts what differs);
 *  - when the engine that ran into the fault carried on, its counters
 *    (stw_get_stats) must count what its store holds, once;
 *  - PRAGMA integrity_check again after the engine closes.
 *
 * It prints one line,
 *   iofault runs=<n> corrupt=<n> acked_lost=<n> unacked_stored=<n> stuck=<n>
 * and exits 0 only if the four counts are 0, every run's fault was hit and
 * no engine miscounted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "faultvfs.h"
#include "fixture.h"
#include "voiding_verify.h"

struct config {
	struct vw_config vw;
	long runs; /* the sample's size */
	int all;   /* every N of every kind, in every variant */
};

/* What happens to the engine when the fault clears (see the file's comment). */
enum after { AFTER_CONTINUE, AFTER_REOPEN, AFTER_RESTART_FAILING };

struct variant {
	int persistent;
	enum after after;
	const char *name;
};

#define NVARIANTS 5
static const struct variant variants[NVARIANTS] = {
	{ 0, AFTER_CONTINUE, "once, same engine" },
	{ 1, AFTER_REOPEN, "until cleared, reopened" },
	{ 0, AFTER_REOPEN, "once, reopened" },
	{ 1, AFTER_CONTINUE, "until cleared, same engine" },
	{ 1, AFTER_RESTART_FAILING, "until cleared, closed while failing" },
};

/* The counts of the summary line. */
struct totals {
	long runs, corrupt, acked_lost, unacked_stored, stuck;
	long missed;     /* runs whose fault was never hit */
	long miscounted; /* runs whose engine's counters disagree with its store */
};

/* What the script's client saw in one run. */
struct journal {
	const struct config *cfg;
	struct stw_engine *e;
	char *acked[VW_NCALLS]; /* [call][i]: the call returned STW_OK */
	long slots;             /* entries of each row */
	int failed;             /* a call failed: the one below */
	enum vw_call call;
	long i;
	int rc;
	char msg[256];
};

static void called(void *ud, enum vw_call call, long i, int rc, int done)
{
	struct journal *j = ud;

	if (rc == STW_OK && i >= 0 && i < j->slots)
		j->acked[call][i] = 1;
	if (!done && !j->failed) {
		j->failed = 1;
		j->call = call;
		j->i = i;
		j->rc = rc;
		snprintf(j->msg, sizeof j->msg, "%s", stw_errmsg(j->e));
	}
}

/*
 * Opens an engine on db with the crash test's small batches (many
 * transactions), FULL syncs (every commit syncs the WAL: syncs to fail) and
 * a small page cache (pages are read from the file again: reads to fail),
 * and registers the workload's processes.
 */
static int open_engine(const char *db, struct stw_engine **e)
{
	struct stw_options o = { .batch_size = 8, .synchronous = 2, .page_cache_kb = 40 };
	int rc = stw_open(db, &o, e);

	if (rc == STW_OK && (rc = vw_register(*e)) != STW_OK) {
		stw_close(*e);
		*e = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Checks once the fault cleared                                            */

/* Counts one effect: acknowledged and not stored, or stored and not acknowledged. */
static void judge(const struct journal *j, struct totals *t, enum vw_call call, long i, int stored)
{
	int acked = j->acked[call][i];
	int the_failed = j->failed && j->call == call && j->i == i;

	if (acked && !stored) {
		t->acked_lost++;
		vw_note(&j->cfg->vw, "%s %ld: acknowledged, not stored", vw_call_name(call), i);
	} else if (!acked && stored) {
		t->unacked_stored++;
		vw_note(&j->cfg->vw, "%s %ld: stored, not acknowledged%s%s", vw_call_name(call), i,
			the_failed ? ": the call failed with " : "",
			the_failed ? stw_strerror(j->rc) : "");
	}
}

static int count_event(const struct stw_event *ev, void *ud)
{
	(void)ev;
	(*(long *)ud)++;
	return 0;
}

/* Whether voiding process `id` is acknowledged; -1 when it cannot be read. */
static int acknowledged(struct stw_engine *e, const char *id)
{
	json_t *o = NULL;
	int rc = stw_get_instance(e, "voiding", id, &o);
	const char *status;
	int yes;

	if (rc == STW_ENOTFOUND)
		return 0;
	if (rc != STW_OK)
		return -1;
	status = json_string_value(json_object_get(o, "status"));
	yes = status != NULL && strcmp(status, "acknowledged") == 0;
	json_decref(o);
	return yes;
}

/*
 * Compares what the client was told with what the store holds, before the
 * engine does anything more. Returns STW_OK or the error reading it.
 */
static int check_acks(struct stw_engine *e, const struct journal *j, struct totals *t)
{
	const struct config *cfg = j->cfg;
	struct vw_tally ignored = { 0 };
	struct vw_facts f;
	char id[48];
	int rc = vw_read_facts(e, &cfg->vw, &f, &ignored);

	for (long i = 0; rc == STW_OK && i < cfg->vw.docs; i++) {
		const struct vw_doc_facts *d = &f.docs[i];
		int ack;

		judge(j, t, VW_ISSUE, i, d->issued > 0);
		judge(j, t, VW_VOID, i, d->requested[VW_KIND_VOID] > 0);
		judge(j, t, VW_VOIDB, i, d->requested[VW_KIND_VOIDB] > 0);
		judge(j, t, VW_VOID2, i, d->requested[VW_KIND_VOID2] > 0);
		vw_make_id(id, sizeof id, "void", i);
		if ((ack = acknowledged(e, id)) < 0)
			rc = STW_ESTORE;
		else
			judge(j, t, VW_ACK, i, ack);
	}
	for (int c = 0; rc == STW_OK && c < VW_NCUSTOMERS; c++)
		judge(j, t, VW_PUBLISH, c, f.published[c] > 0);
	for (long r = 0; rc == STW_OK && r < vw_reminder_count(&cfg->vw); r++) {
		long n = 0;

		vw_reminder_id(id, sizeof id, r);
		rc = stw_read_stream(e, "Desk", id, count_event, &n, NULL);
		if (rc == STW_OK)
			judge(j, t, VW_REMIND, r, n > 0);
	}
	vw_facts_free(&f);
	return rc;
}

/* Instances of `definition` still active. */
static long active(struct stw_engine *e, const char *definition)
{
	struct stw_instance_filter filter = { .definition = definition,
					      .status = "active",
					      .limit = 1000 };
	json_t *list = NULL;
	long n;

	if (stw_list_instances(e, &filter, &list) != STW_OK)
		return 1;
	n = (long)json_array_size(list);
	json_decref(list);
	return n;
}

/*
 * The engine carries on: it runs until idle and ends every process it
 * started, then the script runs again and the store must be the model's.
 * Adds what is stuck or off the model to t->stuck.
 */
static void carry_on(struct stw_engine *e, const struct config *cfg, struct totals *t)
{
	struct vw_tally v = { 0 };
	long was = t->stuck, n;
	int rc = stw_run_until_idle(e);

	if (rc != STW_OK) {
		vw_note(&cfg->vw, "running after the fault: %s: %s", stw_strerror(rc),
			stw_errmsg(e));
		t->stuck++;
	}
	if ((n = active(e, "voiding") + active(e, "reminder")) > 0) {
		vw_note(&cfg->vw, "%ld processes still active once idle", n);
		t->stuck += n;
	}
	if (vw_check_engine(e, &cfg->vw, &v) != STW_OK || v.off_model > 0)
		t->stuck += v.off_model > 0 ? v.off_model : 1;
	v = (struct vw_tally){ 0 };
	if ((rc = vw_script(e, &cfg->vw, NULL)) != STW_OK) {
		vw_note(&cfg->vw, "the script again: %s: %s", stw_strerror(rc), stw_errmsg(e));
		t->stuck++;
	} else if (vw_verify_engine(e, &cfg->vw, &v) != STW_OK) {
		t->stuck++;
	}
	t->stuck += v.lost + v.doubled + v.off_model;
	if (t->stuck != was)
		vw_note(&cfg->vw, "after the fault: lost %ld, doubled %ld, off model %ld", v.lost,
			v.doubled, v.off_model);
}

/* Commands of the store with status `status` (at most 1000). */
static long commands(struct stw_engine *e, const char *status)
{
	json_t *list = NULL;
	long n =
	    stw_list_commands(e, status, 1000, &list) == STW_OK ? (long)json_array_size(list) : -1;

	json_decref(list);
	return n;
}

/*
 * An engine that did all the work of a store, faults and all, counts what the
 * store holds: every command delivered once, every reminder's timer fired
 * once (stw_get_stats, which /metrics shows). Returns 1 if it does not.
 */
static int miscounted(struct stw_engine *e, const struct config *cfg)
{
	struct stw_stats st;
	long delivered = commands(e, "delivered") + commands(e, "rejected");

	stw_get_stats(e, &st);
	if ((long)st.commands_delivered == delivered &&
	    (long)st.timers_fired == vw_reminder_count(&cfg->vw))
		return 0;
	vw_note(&cfg->vw,
		"counted %llu commands delivered and %llu timers fired; the store: %ld, %ld",
		(unsigned long long)st.commands_delivered, (unsigned long long)st.timers_fired,
		delivered, vw_reminder_count(&cfg->vw));
	return 1;
}

/* ------------------------------------------------------------------------ */
/* One run                                                                  */

/*
 * Runs the workload on a fresh db with the n-th operation of kind k failing
 * (n 0: none) in variant v, then checks what the file says. Adds to *t. With
 * `counted`, the operations from stw_open to the fault's clearing are written
 * there.
 */
static void run(const struct config *cfg, struct faultvfs *fv, const char *db, int k, long n,
		const struct variant *v, struct totals *t, long counted[FV_NOPS])
{
	struct journal j = { .cfg = cfg, .slots = cfg->vw.docs + VW_NCUSTOMERS };
	struct vw_client client = { called, NULL, &j };
	/* A write failing until cleared is a full disk; the rest fail with their own I/O error. */
	int code = (1u << k) == FV_WRITE && v->persistent ? SQLITE_FULL : 0;
	int rc, corrupt;
	long before_lost = t->acked_lost, before_unacked = t->unacked_stored;
	long before_stuck = t->stuck;

	for (int c = 0; c < VW_NCALLS; c++)
		j.acked[c] = calloc((size_t)j.slots, 1);
	fx_remove_db(db);
	fv_reset(fv);
	if (n > 0)
		fv_arm(fv, 1u << k, n, code, v->persistent);
	if ((rc = open_engine(db, &j.e)) == STW_OK)
		rc = vw_script(j.e, &cfg->vw, &client);
	else
		snprintf(j.msg, sizeof j.msg, "opening: %s", stw_strerror(rc));
	/* A complete script is closed before the fault clears: it may land in the close. */
	if (j.e != NULL && (rc == STW_OK || v->after == AFTER_RESTART_FAILING)) {
		stw_close(j.e);
		j.e = NULL;
	}
	if (n > 0 && fv_failed(fv) == 0)
		t->missed++;
	if (counted != NULL)
		fv_counts(fv, counted);
	fv_clear(fv);
	if (j.e != NULL && v->after == AFTER_REOPEN) {
		stw_close(j.e);
		j.e = NULL;
	}
	t->runs++;
	corrupt = vw_integrity(&cfg->vw, db);
	int same = j.e != NULL; /* the engine that ran into the fault goes on */
	if (j.e == NULL && (rc = open_engine(db, &j.e)) != STW_OK) {
		vw_note(&cfg->vw, "cannot open the store once the fault cleared: %s",
			stw_strerror(rc));
		t->stuck++;
	}
	if (j.e != NULL) {
		if (check_acks(j.e, &j, t) != STW_OK)
			t->stuck++;
		carry_on(j.e, cfg, t);
		if (same && miscounted(j.e, cfg))
			t->miscounted++;
		stw_close(j.e);
	}
	corrupt |= vw_integrity(&cfg->vw, db);
	t->corrupt += corrupt;
	if (corrupt || t->acked_lost != before_lost || t->unacked_stored != before_unacked ||
	    t->stuck != before_stuck)
		fprintf(stderr,
			"iofault_voiding: %s %ld (%s): first failure %s %ld: %s; corrupt %d, "
			"acked_lost %ld, unacked_stored %ld, stuck %ld\n",
			fv_op_name(k), n, v->name, j.failed ? vw_call_name(j.call) : "-",
			j.failed ? j.i : 0, j.msg, corrupt, t->acked_lost - before_lost,
			t->unacked_stored - before_unacked, t->stuck - before_stuck);
	for (int c = 0; c < VW_NCALLS; c++)
		free(j.acked[c]);
}

/* ------------------------------------------------------------------------ */
/* Arguments and the sweep                                                  */

static const char usage[] =
    "usage: iofault_voiding [--docs N] [--runs N | --all] [--dir D] [--verbose]\n"
    "Runs the voiding workload over N documents (default 10) with one read, write,\n"
    "sync or truncation of the store failing: about --runs runs (default 200) spread\n"
    "over the operations of each kind, or with --all every operation in each of the\n"
    "five ways a fault comes and goes. Checks that nothing acknowledged is lost,\n"
    "nothing unacknowledged is stored, the store is intact and the engine goes on.\n";

/* The options of this program (see vw_parse_args). */
static int own_arg(void *ud, const char *opt, const char *val)
{
	struct config *cfg = ud;

	if (strcmp(opt, "--all") == 0) {
		cfg->all = 1;
		return 1;
	}
	if (val != NULL && strcmp(opt, "--runs") == 0 && fx_parse_long(val, 1, &cfg->runs) == 0)
		return 2;
	return 0;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Runs the sweep over the operations counted in `total`: every N in every
 * variant (cfg->all), or about cfg->runs runs, each kind of operation an
 * equal share of them (what a kind with fewer operations leaves goes to the
 * others), its N spread evenly over 1..T, taking the variants in turn. An
 * equal share, not one in proportion: the syncs are few, and each is the end
 * of a commit.
 */
static void sweep(const struct config *cfg, struct faultvfs *fv, const char *db,
		  const long total[FV_NOPS], struct totals *t)
{
	int order[FV_NOPS], kinds = 0;
	long left = cfg->runs, turn = 0;

	/* The kinds with operations, fewest first. */
	for (int k = 0; k < FV_NOPS; k++) {
		int at = kinds++;
		while (at > 0 && total[order[at - 1]] > total[k]) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = k;
	}
	for (int o = 0; o < kinds; o++) {
		int k = order[o];
		long share = left / (kinds - o) > 0 ? left / (kinds - o) : 1;
		long step = cfg->all || share >= total[k] ? 1 : (total[k] + share - 1) / share;

		for (long n = 1; n <= total[k]; n += step, left--) {
			if (cfg->all) {
				for (int v = 0; v < NVARIANTS; v++)
					run(cfg, fv, db, k, n, &variants[v], t, NULL);
			} else {
				run(cfg, fv, db, k, n, &variants[turn++ % NVARIANTS], t, NULL);
			}
		}
	}
}

int main(int argc, char **argv)
{
	struct config cfg = { .vw = { .docs = 10, .prog = "iofault_voiding" }, .runs = 200 };
	struct totals t = { 0 };
	struct faultvfs *fv = NULL;
	char dir[FX_PATH], db[FX_PATH + 16];
	long total[FV_NOPS];
	int made_dir = 0, failed;
	struct timespec t0;

	if (vw_parse_args(argc, argv, &cfg.vw, usage, own_arg, &cfg) != 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fx_dir_open(dir, sizeof dir, cfg.vw.dir, "iofault", &made_dir) != 0) {
		perror("iofault_voiding: a directory for the databases");
		return 2;
	}
	snprintf(db, sizeof db, "%s/run.db", dir);
	/* Free syncs: the machine never stops here, and SQLite still asks for each one. */
	if (fv_install(&fv, 1) != 0) {
		fprintf(stderr, "iofault_voiding: cannot install the fault VFS\n");
		return 2;
	}

	/* The run without a fault: it counts the operations, and must match the model too. */
	run(&cfg, fv, db, 0, 0, &variants[0], &t, total);
	for (int k = 0; k < FV_NOPS; k++)
		vw_note(&cfg.vw, "%ld %ss in a run", total[k], fv_op_name(k));
	sweep(&cfg, fv, db, total, &t);
	fv_uninstall(fv);

	printf("iofault runs=%ld corrupt=%ld acked_lost=%ld unacked_stored=%ld stuck=%ld\n", t.runs,
	       t.corrupt, t.acked_lost, t.unacked_stored, t.stuck);
	vw_note(&cfg.vw, "%.1f s", seconds_since(&t0));
	if (t.missed > 0)
		fprintf(stderr, "iofault_voiding: %ld runs whose fault was never hit\n", t.missed);
	if (t.miscounted > 0)
		fprintf(stderr,
			"iofault_voiding: %ld runs whose engine counted work its store lacks\n",
			t.miscounted);
	failed =
	    t.corrupt || t.acked_lost || t.unacked_stored || t.stuck || t.missed || t.miscounted;
	if (failed) {
		fprintf(stderr, "iofault_voiding: FAILED; the last database is kept in %s\n", dir);
		return 1;
	}
	if (made_dir)
		fx_tmpdir_remove(dir);
	return 0;
}
