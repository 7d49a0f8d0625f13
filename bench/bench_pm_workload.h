/*
 * bench_pm_workload.h - the workload of bench_pm_step, shared with
 * bench_growth: a three-state definition (Start -> A, sending one command;
 * Next -> B; Done -> C, terminal) fed by the context "In", event i going to
 * instance i / 3 (Start, Next, Done in order). Header-only (static inline)
 * so that each benchmark stays one program.
 */
#ifndef BENCH_PM_WORKLOAD_H
#define BENCH_PM_WORKLOAD_H

#include <stdio.h>

#include <steward.h>

#include "bench_util.h"

static const struct stw_state_def pm_states[] = {
	{ "A", STW_STATE_ACTIVE },
	{ "B", STW_STATE_ACTIVE },
	{ "C", STW_STATE_TERMINAL },
	{ NULL, 0 },
};
static const struct stw_command_def pm_start_cmds[] = {
	{ "Work", "Do", NULL },
	{ NULL, NULL, NULL },
};
static const struct stw_transition_def pm_transitions[] = {
	{ NULL, "Start", "A", pm_start_cmds, NULL, NULL },
	{ "A", "Next", "B", NULL, NULL, NULL },
	{ "B", "Done", "C", NULL, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};
static const char *const pm_sources[] = { "In", NULL };
static const struct stw_definition pm_def = {
	.name = "three",
	.sources = pm_sources,
	.states = pm_states,
	.transitions = pm_transitions,
};

/* Event i: instance i / 3 gets Start, Next, Done in order. */
static inline void pm_event_of(long i, char *id, size_t idcap, char *corr, size_t corrcap,
			       const char **type)
{
	static const char *const types[3] = { "Start", "Next", "Done" };
	snprintf(id, idcap, "e%ld", i);
	snprintf(corr, corrcap, "p%ld", i / 3);
	*type = types[i % 3];
}

/*
 * Appends events [first, first + n) of the workload to "In", 1,000 to a
 * transaction. first must be a multiple of 3. Returns 0, or 1 with a message
 * naming prog.
 */
static inline int pm_append(struct stw_engine *e, long first, long n, const char *prog)
{
	enum { CHUNK = 1000 };
	static struct stw_event evs[CHUNK];
	static char ids[CHUNK][24], corrs[CHUNK][24];
	for (long done = 0; done < n;) {
		int k = n - done < CHUNK ? (int)(n - done) : CHUNK;
		for (int i = 0; i < k; i++) {
			const char *type;
			pm_event_of(first + done + i, ids[i], sizeof(ids[i]), corrs[i],
				    sizeof(corrs[i]), &type);
			evs[i] = (struct stw_event){ .id = ids[i],
						     .type = type,
						     .stream = "s",
						     .correlation_id = corrs[i] };
		}
		if (stw_append(e, "In", STW_ANY_VERSION, evs, (size_t)k, NULL) != STW_OK) {
			fprintf(stderr, "%s: append: %s\n", prog, stw_errmsg(e));
			return 1;
		}
		done += k;
	}
	return 0;
}

/*
 * Steps everything appended, one round (stw_run_once, one transaction) at a
 * time, writing each round's duration in milliseconds to round_ms (room for
 * cap rounds; the last is overwritten past that) and their number to
 * *rounds. Returns 0, or 1 with a message naming prog.
 */
static inline int pm_run_rounds(struct stw_engine *e, double *round_ms, size_t cap, size_t *rounds,
				const char *prog)
{
	*rounds = 0;
	for (;;) {
		int did = 0;
		double t0 = bench_now_s();
		if (stw_run_once(e, &did) != STW_OK) {
			fprintf(stderr, "%s: round: %s\n", prog, stw_errmsg(e));
			return 1;
		}
		if (did == 0)
			return 0;
		if (*rounds == cap)
			(*rounds)--;
		round_ms[(*rounds)++] = (bench_now_s() - t0) * 1e3;
	}
}

#endif /* BENCH_PM_WORKLOAD_H */
