/*
 * crash_voiding.c - proves that the voiding example survives being killed at
 * any durable boundary: nothing is lost, nothing is done twice, and every
 * process ends where the model says.
 *
 *   crash_voiding [--kills N] [--restarts N] [--docs N] [--seed S] [--dir D] [--verbose]
 *
 * The voiding workload's deterministic script (voiding_script.h: issue every
 * document, publish one customer's report, void two thirds of the documents,
 * some twice, then acknowledge the failed voidings and void those documents
 * again; then set reminders whose timers ring a bell) is run by children
 * forked from this program. Every child replays the script from the
 * start against the same database: fixed command and process ids make the
 * replay idempotent. A child opens its own engine with a failpoint callback
 * that raises SIGKILL at a chosen hit of a chosen boundary; every fourth
 * child is instead killed by the parent at a random moment. When a child
 * finishes the script, its database is verified against the model and a new
 * round starts on a fresh one, so that kills keep landing on work in
 * progress. Once the requested number of kills is reached, the last round
 * runs to its end without kills and is verified too (voiding_verify.h).
 *
 * With STEWARD_TEST_STORE=pg each round's store is a schema of its own on
 * the PostgreSQL server STEWARD_TEST_PG_URL names, and --restarts N also
 * restarts that server N times as a crash would (pg_ctl stop -m immediate,
 * by the command in STEWARD_TEST_PG_RESTART, which `scripts/pg-cluster.sh
 * run` sets) at a random moment of a child's run: the child keeps its
 * engine open through the restart and carries on once the engine has
 * connected again, calling the script again from its start after a call
 * that failed with STW_EBUSY or STW_ESTORE (for at most a minute).
 *
 * The parent never holds an engine or a store connection across fork().
 * It prints one line,
 *   crash kills=<n> restarts=<n> processes=<n> lost=<n> doubled=<n> off_model=<n>
 *   duplicate_deliveries=<n>
 * and exits 0 only if lost, doubled and off_model are 0, every store passes
 * its integrity check (PRAGMA integrity_check; amcheck on PostgreSQL), and
 * the kills and restarts reached the request.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "voiding_verify.h"

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */

struct config {
	struct vw_config vw; /* the workload: documents, verbosity */
	long kills;          /* kills to reach */
	long restarts;       /* restarts of the PostgreSQL server to reach */
	const char *restart; /* the command that restarts it (STEWARD_TEST_PG_RESTART) */
	uint64_t seed;       /* of the kill schedule */
};

/* ------------------------------------------------------------------------ */
/* Failpoints                                                               */

#define NFAILPOINTS 10
static const char *const failpoints[NFAILPOINTS] = {
	"step.after_transition", "step.before_commit",    "step.after_commit",
	"service.after_handler", "service.before_commit", "dispatch.after_delivery",
	"execute.before_commit", "timer.after_fire",      "timer.before_commit",
	"timer.after_commit",
};
#define EXECUTE_FP 6 /* hit once per stw_execute, replayed or not */

/* Shared between the parent and its children; survives a child's SIGKILL. */
struct shared {
	long hits[NFAILPOINTS + 1]; /* hits of each failpoint in the current child; last: others */
	int phase;                  /* the phase of the script the child is in (0: opening) */
};

/* What a child does at the failpoints. */
struct child_plan {
	int target; /* index of the failpoint to kill at, or -1 */
	long hit;   /* the hit of it that kills */
	struct shared *sh;
};

static void on_failpoint(const char *name, void *ud)
{
	struct child_plan *p = ud;
	int i;

	for (i = 0; i < NFAILPOINTS; i++) {
		if (strcmp(name, failpoints[i]) == 0)
			break;
	}
	p->sh->hits[i]++;
	if (i == p->target && p->sh->hits[i] == p->hit)
		raise(SIGKILL);
}

/* ------------------------------------------------------------------------ */
/* The workload (run by children)                                           */

/* Prints why the workload stopped and returns 3, the child's failure status. */
static int workload_error(struct stw_engine *e, const char *what, const char *id, int rc)
{
	fprintf(stderr, "crash_voiding: child: %s %s: %s: %s\n", what, id ? id : "",
		stw_strerror(rc), e ? stw_errmsg(e) : "");
	return 3;
}

/* What the child's script tells it: a call not done is printed, a phase recorded. */
struct child_client {
	struct stw_engine *e;
	struct child_plan *plan;
};

/* A failure the child waits out on PostgreSQL: the server away, or a commit cut short. */
static int transient(int rc)
{
	return fx_on_pg() && (rc == STW_EBUSY || rc == STW_ESTORE);
}

static void child_called(void *ud, enum vw_call call, long i, int rc, int done)
{
	struct child_client *c = ud;
	char what[48];

	if (done || transient(rc))
		return;
	snprintf(what, sizeof what, "%s %ld", vw_call_name(call), i);
	workload_error(c->e, what, NULL, rc);
}

static void child_phase(void *ud, int phase)
{
	struct child_client *c = ud;

	c->plan->sh->phase = phase;
}

/*
 * Runs the whole script against db from its start (vw_script). Returns 0 when
 * the script is complete, else a failure status for the child.
 */
static int workload(const struct config *cfg, const char *db, struct child_plan *plan)
{
	struct stw_options opts = { 0 };
	struct child_client client = { NULL, plan };
	struct vw_client c = { child_called, child_phase, &client };
	int rc, status = 0, registered = 0;

	opts.failpoint = on_failpoint;
	opts.failpoint_ud = plan;
	opts.batch_size = 8; /* many small transactions: many durable boundaries */
	/*
	 * NORMAL, not FULL: a SIGKILL loses no write() already made, so a commit
	 * is as safe against a killed process without the fsync, which only
	 * matters when the machine itself stops. It keeps the run time bounded
	 * by the CPU rather than by the disk.
	 */
	opts.synchronous = 1;
	/* Through a restart of the server: the same engine, the script again. */
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		rc = client.e == NULL ? stw_open(db, &opts, &client.e) : STW_OK;
		if (rc == STW_OK && !registered) {
			rc = vw_register(client.e);
			registered = rc == STW_OK;
		}
		if (rc == STW_OK)
			rc = vw_script(client.e, &cfg->vw, &c);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (rc == STW_OK || !transient(rc) || t.tv_sec - t0.tv_sec > 60)
			break;
		struct timespec pause = { 0, 50 * 1000000L };
		nanosleep(&pause, NULL);
	}
	if (rc != STW_OK && client.e == NULL)
		status = workload_error(NULL, "opening", db, rc);
	else if (rc != STW_OK && !registered)
		status = workload_error(client.e, "registering", NULL, rc);
	else if (rc != STW_OK)
		status =
		    transient(rc) ? workload_error(client.e, "waiting for the store", NULL, rc) : 3;
	stw_close(client.e);
	return status;
}

/* ------------------------------------------------------------------------ */
/* The parent                                                               */

/* splitmix64: a small deterministic generator for the kill schedule. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number in [lo, hi]. */
static long random_between(uint64_t *s, long lo, long hi)
{
	return lo + (long)(next_random(s) % (uint64_t)(hi - lo + 1));
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* How a child ended. */
enum child_end { CHILD_DONE, CHILD_KILLED, CHILD_FAILED };

/*
 * Forks a child that runs the workload on db with the plan, and waits for it.
 * With kill_after_ms > 0 the parent kills it after that long instead; with
 * restart_after_ms > 0 it restarts the PostgreSQL server after that long
 * (*restarted set to 1 when it did), and the child carries on.
 */
static enum child_end run_child(const struct config *cfg, const char *db, struct child_plan *plan,
				long kill_after_ms, long restart_after_ms, int *restarted)
{
	pid_t pid;
	int ws = 0;

	memset(plan->sh, 0, sizeof *plan->sh);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("crash_voiding: fork");
		return CHILD_FAILED;
	}
	if (pid == 0)
		_exit(workload(cfg, db, plan));
	if (kill_after_ms > 0) {
		sleep_ms(kill_after_ms);
		kill(pid, SIGKILL);
	}
	if (restart_after_ms > 0) {
		sleep_ms(restart_after_ms);
		int ws_restart = system(cfg->restart);
		*restarted = WIFEXITED(ws_restart) && WEXITSTATUS(ws_restart) == 0;
		if (!*restarted)
			fprintf(stderr, "crash_voiding: '%s' failed\n", cfg->restart);
	}
	while (waitpid(pid, &ws, 0) < 0) {
		if (errno != EINTR) {
			perror("crash_voiding: waitpid");
			return CHILD_FAILED;
		}
	}
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
		return CHILD_DONE;
	if (WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL)
		return CHILD_KILLED;
	fprintf(stderr, "crash_voiding: child ended with %s %d\n",
		WIFEXITED(ws) ? "status" : "signal",
		WIFEXITED(ws) ? WEXITSTATUS(ws) : WTERMSIG(ws));
	return CHILD_FAILED;
}

static const char usage[] =
    "usage: crash_voiding [--kills N] [--restarts N] [--docs N] [--seed S] [--dir D] [--verbose]\n"
    "Kills the voiding workload N times (default 200) at the engine's durable\n"
    "boundaries and at random moments, over N documents (default 300), and checks\n"
    "that nothing is lost or doubled. --dir keeps the databases in D. On PostgreSQL\n"
    "(STEWARD_TEST_STORE=pg), --restarts also restarts the server N times as a\n"
    "crash would (STEWARD_TEST_PG_RESTART, set by scripts/pg-cluster.sh run).\n";

/* The options of this program (see vw_parse_args). */
static int own_arg(void *ud, const char *opt, const char *val)
{
	struct config *cfg = ud;
	long v;

	if (val == NULL || fx_parse_long(val, 0, &v) != 0)
		return 0;
	if (strcmp(opt, "--kills") == 0)
		cfg->kills = v;
	else if (strcmp(opt, "--restarts") == 0)
		cfg->restarts = v;
	else if (strcmp(opt, "--seed") == 0)
		cfg->seed = (uint64_t)v;
	else
		return 0;
	return 2;
}

/*
 * The store of round r into db (cap bytes): dir/round-NNN.db, or on
 * PostgreSQL a schema of its own. Returns 0, or -1 after printing why.
 */
static int round_store(const char *dir, long r, char *db, size_t cap)
{
	char name[32];
	if (!fx_on_pg()) {
		snprintf(db, cap, "%s/round-%03ld.db", dir, r);
		return 0;
	}
	snprintf(name, sizeof name, "round_%03ld", r);
	return fx_pg_store(dir, name, db, cap);
}

/* Removes a verified round's store (a schema stays until the end: fx_pg_drop). */
static void round_remove(const char *db)
{
	if (!fx_on_pg())
		fx_remove_db(db);
}

int main(int argc, char **argv)
{
	struct config cfg = { .vw = { .docs = 300, .prog = "crash_voiding" },
			      .kills = 200,
			      .seed = 1 };
	struct vw_tally t = { 0 };
	struct shared *sh;
	struct child_plan plan = { -1, 0, NULL };
	char dir[FX_PATH], db[FX_PATH + 512];
	long total[NFAILPOINTS + 1] = { 0 }, span[NFAILPOINTS];
	long kills = 0, restarts = 0, iteration = 0, executes = 0, round = 0, verified = 0;
	double round_ms = 0;                    /* how long the first round took */
	long kills_at[NFAILPOINTS + 1] = { 0 }; /* last: random moments */
	uint64_t rng;
	int made_dir = 0, failed = 0;
	enum child_end end;
	struct timespec t0, t1;

	if (vw_parse_args(argc, argv, &cfg.vw, usage, own_arg, &cfg) != 0)
		return 2;
	cfg.restart = getenv("STEWARD_TEST_PG_RESTART");
	if (cfg.restarts > 0 && (!fx_on_pg() || cfg.restart == NULL || *cfg.restart == '\0')) {
		fprintf(stderr, "crash_voiding: --restarts needs STEWARD_TEST_STORE=pg and "
				"STEWARD_TEST_PG_RESTART (scripts/pg-cluster.sh run sets it)\n");
		return 2;
	}
	rng = cfg.seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fx_dir_open(dir, sizeof dir, cfg.vw.dir, "crash_voiding", &made_dir) != 0) {
		perror("crash_voiding: a directory for the databases");
		return 2;
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("crash_voiding: mmap");
		return 2;
	}
	plan.sh = sh;

	/*
	 * Round 0 runs without kills: it measures how often each failpoint is
	 * hit by a whole workload, so that the hits chosen below spread the
	 * kills over all of it, and it is verified like every other round.
	 */
	if (round_store(dir, 0, db, sizeof db) != 0)
		return 2;
	end = run_child(&cfg, db, &plan, 0, 0, NULL);
	memcpy(total, sh->hits, sizeof total);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	round_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (end != CHILD_DONE || vw_verify(&cfg.vw, db, &t) != 0)
		failed = 1;
	else
		round_remove(db);
	verified += end == CHILD_DONE;
	for (int i = 0; i < NFAILPOINTS; i++) {
		/* About 2 * kills / 16 kills per round: some 8 rounds whatever is asked. */
		long per_round = cfg.kills / 16 > 1 ? cfg.kills / 16 : 1;

		span[i] = total[i] / per_round > 1 ? total[i] / per_round : 1;
		vw_note(&cfg.vw, "failpoint %s: %ld hits per workload, kill within %ld",
			failpoints[i], total[i], span[i]);
		if (total[i] == 0) {
			/* A boundary the workload never reaches cannot be proven safe. */
			fprintf(stderr, "crash_voiding: the engine never reached failpoint %s\n",
				failpoints[i]);
			failed = 1;
		}
	}

	round = 1;
	if (round_store(dir, round, db, sizeof db) != 0)
		failed = 1;
	while (!failed) {
		long kill_after = 0, restart_after = 0;
		int last = kills >= cfg.kills && restarts >= cfg.restarts, restarted = 0;

		plan.target = -1;
		if (!last && restarts < cfg.restarts &&
		    (iteration % 8 == 5 || kills >= cfg.kills)) {
			/* Within the first half of a whole round's time, so that it lands on work.
			 */
			restart_after =
			    random_between(&rng, 1, round_ms > 20 ? (long)round_ms / 2 : 10);
		} else if (!last && iteration % 4 == 3) {
			kill_after = random_between(&rng, 1, 40);
		} else if (!last) {
			plan.target = (int)((iteration - iteration / 4) % NFAILPOINTS);
			plan.hit = random_between(&rng, 1, span[plan.target]);
			/* Every child replays the executes already done: aim past them. */
			if (plan.target == EXECUTE_FP)
				plan.hit += executes;
		}
		iteration++;
		end = run_child(&cfg, db, &plan, kill_after, restart_after, &restarted);
		if (restart_after > 0 && !restarted)
			failed = 1;
		restarts += restarted;
		if (restarted)
			vw_note(&cfg.vw, "restart %ld of the server (round %ld) at %ld ms",
				restarts, round, restart_after);
		if (sh->hits[EXECUTE_FP] > executes)
			executes = sh->hits[EXECUTE_FP];
		if (end == CHILD_FAILED) {
			failed = 1;
		} else if (end == CHILD_KILLED) {
			kills++;
			kills_at[plan.target >= 0 ? plan.target : NFAILPOINTS]++;
			if (cfg.vw.verbose) {
				if (plan.target >= 0)
					vw_note(&cfg.vw,
						"kill %ld (round %ld, phase %d): %s hit %ld", kills,
						round, sh->phase, failpoints[plan.target],
						plan.hit);
				else
					vw_note(&cfg.vw,
						"kill %ld (round %ld, phase %d): random at %ld ms",
						kills, round, sh->phase, kill_after);
			}
		} else {
			vw_note(&cfg.vw, "round %ld finished (%ld children so far)", round,
				iteration);
			if (vw_verify(&cfg.vw, db, &t) != 0)
				failed = 1;
			else
				round_remove(db);
			verified++;
			if (last)
				break;
			round++;
			executes = 0;
			if (round_store(dir, round, db, sizeof db) != 0)
				failed = 1;
		}
	}
	munmap(sh, sizeof *sh);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("crash store=%s kills=%ld restarts=%ld processes=%ld lost=%ld doubled=%ld "
	       "off_model=%ld duplicate_deliveries=%ld\n",
	       fx_on_pg() ? "postgresql" : "sqlite", kills, restarts, t.processes, t.lost,
	       t.doubled, t.off_model, t.duplicate_deliveries);
	for (int i = 0; i <= NFAILPOINTS; i++)
		vw_note(&cfg.vw, "%ld kills at %s", kills_at[i],
			i < NFAILPOINTS ? failpoints[i] : "random moments");
	vw_note(&cfg.vw, "%ld rounds verified, %ld children, %.1f s", verified, iteration + 1,
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (failed || t.lost || t.doubled || t.off_model || t.integrity_failed ||
	    kills < cfg.kills || restarts < cfg.restarts) {
		fprintf(stderr, "crash_voiding: FAILED; %s kept in %s\n",
			fx_on_pg() ? "schemas named after" : "databases", dir);
		return 1;
	}
	if (fx_on_pg() && fx_pg_drop(dir) != 0)
		return 1;
	if (made_dir)
		fx_tmpdir_remove(dir);
	return 0;
}
