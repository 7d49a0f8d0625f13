/*
 * cluster_view.c - the cluster as any engine on the store sees it
 * (stw_cluster_view, steward_cluster.h): the workers with what each holds
 * and how far behind its partitions are, every partition's lease and work,
 * and the newest grants of the lease log. Reads are not partitioned: an
 * engine of any worker, or of none, sees all of it. The store reads the
 * rows (cluster_view); this file puts them together.
 */
#include "core/engine_int.h"

#include <string.h>

/* Grants of the lease log the view shows, newest first. */
#define VIEW_GRANTS 20

struct view {
	json_t *workers;    /* array of objects, by id */
	json_t *partitions; /* array of objects, by part */
	json_t *periodic;   /* the singleton's lease, or NULL */
	json_t *takeovers;
	int64_t now;
	int granted; /* a lease was ever granted */
	int oom;
};

/* Appends o (taken) to arr; sets v->oom when it cannot. Returns v->oom. */
static int add(struct view *v, json_t *arr, json_t *o)
{
	if (o == NULL || json_array_append_new(arr, o) != 0)
		v->oom = 1;
	return v->oom;
}

static int on_worker(const struct stw__view_worker *w, void *ud)
{
	struct view *v = ud;
	return add(v, v->workers,
		   json_pack("{s:s, s:s?, s:i, s:s?, s:I, s:I, s:I, s:I, s:b, s:i, s:b, s:I}", "id",
			     w->id, "host", w->host, "pid", w->pid, "address", w->address,
			     "started_at", (json_int_t)w->started_at, "heartbeat_at",
			     (json_int_t)w->heartbeat_at, "heartbeat_age_ms",
			     (json_int_t)w->heartbeat_age_ms, "lease_ms", (json_int_t)w->lease_ms,
			     "live", w->live, "partitions", 0, "periodic", 0, "lag",
			     (json_int_t)0));
}

static int on_part(const struct stw__view_part *p, void *ud)
{
	struct view *v = ud;
	v->now = p->now;
	v->granted |= p->epoch > 0;
	json_t *o =
	    json_pack("{s:i, s:s?, s:I, s:b, s:o, s:I, s:I, s:I}", "part", p->part, "owner",
		      p->owner, "epoch", (json_int_t)p->epoch, "held", p->held, "expires_in_ms",
		      p->expires ? json_integer(p->expires_in_ms) : json_null(), "cursor_lag",
		      (json_int_t)p->cursor_lag, "timers", (json_int_t)p->timers, "commands",
		      (json_int_t)p->commands);
	if (o == NULL || p->part != STW__PART_PERIODIC)
		return add(v, v->partitions, o);
	/* The singleton's lease partitions no instance: the lease alone. */
	json_object_del(o, "cursor_lag");
	json_object_del(o, "timers");
	json_object_del(o, "commands");
	json_decref(v->periodic);
	v->periodic = o;
	return 0;
}

static int on_grant(const struct stw__view_grant *g, void *ud)
{
	struct view *v = ud;
	return add(v, v->takeovers,
		   json_pack("{s:i, s:I, s:s?, s:s?, s:s?, s:I}", "part", g->part, "epoch",
			     (json_int_t)g->epoch, "owner", g->owner, "prev_owner", g->prev_owner,
			     "how", g->how, "at", (json_int_t)g->at));
}

/* The worker object of an id, or NULL (a lease of a worker forgotten since). */
static json_t *worker_of(const struct view *v, const char *id)
{
	size_t i;
	json_t *w;
	json_array_foreach(v->workers, i, w)
	{
		if (strcmp(json_string_value(json_object_get(w, "id")), id) == 0)
			return w;
	}
	return NULL;
}

/* Adds what each worker holds now, and its partitions' lag, to its object. */
static int sum_up(struct view *v)
{
	size_t i;
	json_t *p;
	json_array_foreach(v->partitions, i, p)
	{
		json_t *owner = json_object_get(p, "owner");
		json_t *w = json_is_true(json_object_get(p, "held")) && json_is_string(owner)
				? worker_of(v, json_string_value(owner))
				: NULL;
		if (w == NULL)
			continue;
		json_int_t held = json_integer_value(json_object_get(w, "partitions"));
		json_int_t lag = json_integer_value(json_object_get(w, "lag")) +
				 json_integer_value(json_object_get(p, "cursor_lag"));
		if (json_object_set_new(w, "partitions", json_integer(held + 1)) |
		    json_object_set_new(w, "lag", json_integer(lag)))
			return -1;
	}
	json_t *owner = v->periodic ? json_object_get(v->periodic, "owner") : NULL;
	json_t *w = json_is_true(json_object_get(v->periodic, "held")) && json_is_string(owner)
			? worker_of(v, json_string_value(owner))
			: NULL;
	return w != NULL ? json_object_set_new(w, "periodic", json_true()) : 0;
}

STW_API int stw_cluster_view(struct stw_engine *e, json_t **out)
{
	if (out != NULL)
		*out = NULL;
	STW__ENTER(e, STW__CALL_READ);
	if (out == NULL)
		return stw__fail(e, STW_EINVAL, "no place for the result");
	json_t *disabled = json_pack("{s:b}", "enabled", 0);
	if (e->store->ops->cluster_view == NULL) {
		if (disabled == NULL)
			return stw__fail(e, STW_ENOMEM, "out of memory");
		*out = disabled;
		return STW_OK;
	}
	struct view v = {
		.workers = json_array(),
		.partitions = json_array(),
		.takeovers = json_array(),
	};
	struct stw__cluster_sink sink = {
		.worker = on_worker, .part = on_part, .grant = on_grant, .ud = &v
	};
	int rc = disabled && v.workers && v.partitions && v.takeovers ? STW_OK : STW_ENOMEM;
	if (rc == STW_OK)
		rc = STW__S(e->store, cluster_view, VIEW_GRANTS, &sink);
	if (rc != STW_OK && rc != STW_ENOMEM)
		rc = stw__store_fail(e, rc, "cluster view");
	if (rc == STW_OK && (v.oom || sum_up(&v) != 0))
		rc = STW_ENOMEM;
	json_t *o = NULL;
	if (rc == STW_OK && json_array_size(v.workers) == 0 && !v.granted) {
		o = disabled; /* a store no worker ever joined */
		disabled = NULL;
	} else if (rc == STW_OK) {
		o = json_pack("{s:b, s:I, s:I, s:O, s:O?, s:O, s:O}", "enabled", 1,
			      "partition_count", (json_int_t)json_array_size(v.partitions), "now",
			      (json_int_t)v.now, "workers", v.workers, "periodic", v.periodic,
			      "partitions", v.partitions, "takeovers", v.takeovers);
		if (o == NULL)
			rc = STW_ENOMEM;
	}
	json_decref(disabled);
	json_decref(v.workers);
	json_decref(v.partitions);
	json_decref(v.periodic);
	json_decref(v.takeovers);
	if (rc != STW_OK)
		return rc == STW_ENOMEM ? stw__fail(e, rc, "out of memory") : rc;
	*out = o;
	return STW_OK;
}
