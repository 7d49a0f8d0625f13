/*
 * periodic.c - periodic processes: steps that run once per period of the
 * clock, look at the world through the engine, and send commands. A run and
 * its commands commit with the record of its period, so a restart never runs
 * it twice in one period.
 */
#include "core/definition.h"
#include "core/periodic.h"
#include "core/txn.h"

#include <stdlib.h>
#include <string.h>

struct stw_periodic_ctx {
	struct stw_engine *e;
	const struct stw_periodic_def *d;
	int64_t now;
	int64_t period;
	int sent;
};

STW_API struct stw_engine *stw_periodic_engine(struct stw_periodic_ctx *pc)
{
	return pc ? pc->e : NULL;
}

STW_API int64_t stw_periodic_now(const struct stw_periodic_ctx *pc)
{
	return pc ? pc->now : 0;
}

STW_API int64_t stw_periodic_period(const struct stw_periodic_ctx *pc)
{
	return pc ? pc->period : 0;
}

STW_API int stw_periodic_send(struct stw_periodic_ctx *pc, const char *context, const char *type,
			      json_t *data, const char *key, const char *correlation_id)
{
	if (pc == NULL) {
		json_decref(data);
		return STW_EINVAL;
	}
	struct stw_engine *e = pc->e;
	int rc = STW_OK;
	char *text = NULL;
	if (!stw__valid_name(context) || !stw__valid_name(type) || !stw__valid_id(key) ||
	    (correlation_id != NULL && !stw__valid_id(correlation_id)))
		rc = stw__fail(e, STW_EINVAL, "invalid context, type, key or correlation id");
	else if (data != NULL && !json_is_object(data))
		rc = stw__fail(e, STW_EINVAL, "command data must be a JSON object");
	else if (data == NULL && (data = json_object()) == NULL)
		rc = stw__fail(e, STW_ENOMEM, "out of memory");
	else if ((text = json_dumps(data, JSON_COMPACT)) == NULL)
		rc = stw__fail(e, STW_ENOMEM, "cannot serialise command data");
	json_decref(data);
	if (rc != STW_OK)
		return rc;
	/* The same command about the same thing has the same id, whatever the period. */
	char id[33], causation[64];
	const char *parts[4] = { "periodic", pc->d->name, key, type };
	stw__derive_id(id, -1, parts, 4, 0);
	snprintf(causation, sizeof(causation), "period-%lld", (long long)pc->period);
	struct stw__outbox_row row = {
		.command_id = id,
		.context = context,
		.type = type,
		.definition = pc->d->name,
		.correlation_id = correlation_id,
		.causation_id = causation,
		.data = text,
		.status = "pending",
		.created_at = pc->now,
	};
	rc = STW__S(e->store, outbox_insert, &row);
	free(text);
	if (rc != STW_OK)
		return stw__store_fail(e, rc, "writing the outbox");
	pc->sent++;
	return STW_OK;
}

STW_API int stw_define_periodic(struct stw_engine *e, const struct stw_periodic_def *def)
{
	STW__ENTER(e, STW__CALL_WRITE);
	if (def == NULL || !stw__valid_name(def->name) || def->every_ms <= 0 || def->run == NULL)
		return stw__fail(
		    e, STW_EINVAL,
		    "a periodic process needs a valid name, every_ms > 0 and a run callback");
	for (size_t i = 0; i < e->nperiodics; i++)
		if (strcmp(e->periodics[i].d->name, def->name) == 0)
			return stw__fail(e, STW_EEXIST, "periodic process %s is already registered",
					 def->name);
	if (stw__find_def(e, def->name) != NULL)
		return stw__fail(e, STW_EEXIST, "a definition is already named %s", def->name);
	struct stw__periodic *p = realloc(e->periodics, (e->nperiodics + 1) * sizeof(*p));
	if (p == NULL)
		return stw__fail(e, STW_ENOMEM, "out of memory");
	e->periodics = p;
	e->periodics[e->nperiodics++] = (struct stw__periodic){ .d = def };
	return STW_OK;
}

/* The period of a time: floor(now / every), also for times before 1970. */
static int64_t period_of(int64_t now, int64_t every)
{
	int64_t q = now / every;
	return (now % every != 0 && now < 0) ? q - 1 : q;
}

int stw__run_periodic(struct stw_engine *e, const struct stw__periodic *p, int *ran)
{
	struct stw__store *s = e->store;
	const char *name = p->d->name;
	*ran = 0;
	if (!stw__held(e, STW__PART_PERIODIC))
		return STW_OK; /* another worker of the cluster runs them */
	int64_t now = stw__now(e), period = period_of(now, p->d->every_ms), last = 0;
	int rc = STW__S(s, periodic_get, name, &last);
	if (rc == STW_OK && last >= period)
		return STW_OK; /* ran in this period already: no lock taken */
	if (rc != STW_OK && rc != STW_ENOTFOUND)
		return stw__store_fail(e, rc, "reading a periodic record");
	int64_t started = stw__mono_us();
	if ((rc = stw__begin(e)) != STW_OK)
		return stw__store_fail(e, rc, "beginning a periodic run");
	/* Re-read under the write lock: another engine may have run it. */
	rc = STW__S(s, periodic_get, name, &last);
	if ((rc == STW_OK && last >= period) || !stw__held(e, STW__PART_PERIODIC)) {
		stw__rollback(e);
		return STW_OK;
	}
	struct stw_periodic_ctx pc = { .e = e, .d = p->d, .now = now, .period = period };
	e->errmsg[0] = '\0'; /* what the run says, not what came before */
	e->in_handler = 1;   /* reads only: no nested transaction */
	int cb = p->d->run(&pc, p->d->ud);
	e->in_handler = 0;
	if (cb != STW_OK) {
		stw__rollback(e);
		stw__log(e, STW_LOG_ERROR, "periodic %s failed (%s)%s%s; tried again next round",
			 name, stw_strerror(cb), e->errmsg[0] ? ": " : "", e->errmsg);
		return STW_OK;
	}
	rc = STW__S(s, periodic_set, name, period, now);
	if (rc == STW_OK) {
		stw__failpoint(e, "periodic.before_commit");
		rc = stw__commit(e);
	}
	if (rc != STW_OK) {
		stw__store_fail(e, rc, "committing a periodic run");
		stw__rollback(e);
		return rc;
	}
	stw__count_commit(e);
	e->stats.periodic_runs++;
	*ran = 1;
	stw__observe(e, STW_ACTIVITY_PERIODIC, name, NULL, pc.sent, 0, started);
	return STW_OK;
}
