/*
 * fixture.c - the tests' temporary directories, virtual clock, engine
 * openers, events, scripted Shop service and assertion (see fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef STW_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

#include "fixture.h"

#include <steward_cluster.h>

/* ------------------------------------------------------------------------ */
/* Temporary directories                                                    */

int fx_tmpdir_make(char *dir, size_t cap, const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, cap, "%s/stw-%s-XXXXXX", tmp != NULL && *tmp ? tmp : "/tmp", tag);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return remove(path);
}

int fx_tmpdir_remove(const char *dir)
{
	const char *last = strrchr(dir, '/');
	if (strncmp(last != NULL ? last + 1 : dir, "stw-", 4) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* Depth first, so that each directory is empty when its turn comes. */
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int fx_dir_open(char *dir, size_t cap, const char *given, const char *tag, int *made)
{
	*made = 0;
	if (given == NULL) {
		if (fx_tmpdir_make(dir, cap, tag) != 0)
			return -1;
		*made = 1;
		return 0;
	}
	int n = snprintf(dir, cap, "%s", given);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -1;
}

void fx_remove_db(const char *db)
{
	static const char *const suffixes[] = { "", "-wal", "-shm", "-journal" };
	char p[FX_PATH + 64];

	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		int n = snprintf(p, sizeof p, "%s%s", db, suffixes[i]);
		if (n > 0 && (size_t)n < sizeof p)
			unlink(p);
	}
}

int fx_parse_long(const char *s, long min, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		return -1;
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* PostgreSQL stores                                                        */

int fx_on_pg(void)
{
	const char *store = getenv("STEWARD_TEST_STORE");
	return store != NULL && strcmp(store, "pg") == 0;
}

const char *fx_pg_server(void)
{
	const char *url = getenv("STEWARD_TEST_PG_URL");
	return url != NULL && *url ? url : NULL;
}

#ifdef STW_HAVE_POSTGRES
/*
 * The schema of a test directory's store: "stw_" and the directory's name
 * (its mkdtemp suffix makes it unique), then "_" and `name` when not NULL,
 * lowercased, with anything but letters and digits as "_".
 */
static void schema_of(const char *dir, const char *name, char *out, size_t cap)
{
	const char *base = strrchr(dir, '/');
	base = base != NULL ? base + 1 : dir;
	size_t n = (size_t)snprintf(out, cap, "%s%s%s", base, name ? "_" : "", name ? name : "");
	for (size_t i = 0; i < n && i < cap; i++)
		out[i] =
		    isalnum((unsigned char)out[i]) ? (char)tolower((unsigned char)out[i]) : '_';
}

static void quiet(void *ud, const char *message)
{
	(void)ud;
	(void)message;
}

/* Connects to the server (url NULL) or to a store's URL; NULL after printing why. */
static PGconn *pg_connect_to(const char *url)
{
	const char *server = url != NULL ? url : fx_pg_server();
	if (server == NULL) {
		print_error("STEWARD_TEST_STORE=pg needs STEWARD_TEST_PG_URL\n");
		return NULL;
	}
	PGconn *c = PQconnectdb(server);
	if (c == NULL || PQstatus(c) != CONNECTION_OK) {
		print_error("connecting to %s: %s", server,
			    c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, quiet, NULL); /* "drop cascades to ..." */
	return c;
}

static PGconn *pg_connect(void)
{
	return pg_connect_to(NULL);
}

/* Runs one statement with up to one parameter; 0, or -1 after printing why. */
static int pg_run(PGconn *c, const char *sql, const char *param, PGresult **out)
{
	PGresult *res = PQexecParams(c, sql, param ? 1 : 0, NULL, &param, NULL, NULL, 0);
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		print_error("%s: %s", sql, PQerrorMessage(c));
		PQclear(res);
		return -1;
	}
	if (out != NULL)
		*out = res;
	else
		PQclear(res);
	return 0;
}

int fx_pg_store(const char *dir, const char *name, char *url, size_t cap)
{
	char schema[FX_PATH + 64];
	schema_of(dir, name, schema, sizeof schema);
	PGconn *c = pg_connect();
	if (c == NULL)
		return -1;
	char *quoted = PQescapeIdentifier(c, schema, strlen(schema));
	char sql[sizeof schema * 2 + 64];
	snprintf(sql, sizeof sql, "CREATE SCHEMA IF NOT EXISTS %s", quoted ? quoted : "\"\"");
	PQfreemem(quoted);
	int rc = pg_run(c, sql, NULL, NULL);
	PQfinish(c);
	if (rc != 0)
		return -1;
	const char *server = fx_pg_server();
	int n = snprintf(url, cap, "%s%soptions=-csearch_path%%3D%s", server,
			 strchr(server, '?') ? "&" : "?", schema);
	if (n < 0 || (size_t)n >= cap) {
		print_error("fx_pg_store: the URL is too long\n");
		return -1;
	}
	return 0;
}

int fx_pg_scalar(const char *url, const char *sql, long long *out)
{
	PGconn *c = pg_connect_to(url);
	PGresult *res = NULL;
	int rc = c != NULL ? pg_run(c, sql, NULL, &res) : -1;
	if (rc == 0 && out != NULL)
		*out = PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)
			   ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
			   : 0;
	PQclear(res);
	PQfinish(c);
	return rc;
}

int fx_pg_drop(const char *dir)
{
	char schema[FX_PATH + 64];
	schema_of(dir, NULL, schema, sizeof schema);
	PGconn *c = pg_connect();
	if (c == NULL)
		return -1;
	PGresult *res = NULL;
	int rc = pg_run(c,
			"SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname::text = $1"
			" OR starts_with(nspname::text, $1 || '_')",
			schema, &res);
	for (int i = 0; rc == 0 && i < PQntuples(res); i++) {
		char sql[FX_PATH + 128];
		snprintf(sql, sizeof sql, "DROP SCHEMA %s CASCADE", PQgetvalue(res, i, 0));
		rc = pg_run(c, sql, NULL, NULL);
	}
	PQclear(res);
	PQfinish(c);
	return rc;
}
#else
int fx_pg_store(const char *dir, const char *name, char *url, size_t cap)
{
	(void)dir;
	(void)name;
	(void)url;
	(void)cap;
	print_error("this build has no PostgreSQL store\n");
	return -1;
}

int fx_pg_scalar(const char *url, const char *sql, long long *out)
{
	(void)url;
	(void)sql;
	(void)out;
	print_error("this build has no PostgreSQL store\n");
	return -1;
}

int fx_pg_drop(const char *dir)
{
	(void)dir;
	return -1;
}
#endif

/* ------------------------------------------------------------------------ */
/* Workers of a cluster                                                     */

int64_t fx_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void cluster_say(enum stw_log_level level, const char *msg, void *ud)
{
	(void)ud;
	if (level <= STW_LOG_INFO && getenv("STEWARD_TEST_VERBOSE") != NULL)
		fprintf(stderr, "%s\n", msg);
}

struct stw_cluster *fx_cluster_join(const char *url, const char *worker, int64_t lease_ms,
				    int64_t renew_ms)
{
	struct stw_cluster_options o = {
		.store = url,
		.worker = worker,
		.lease_ms = lease_ms,
		.renew_ms = renew_ms,
		.audit = 1,
		.log = cluster_say,
	};
	struct stw_cluster *c = NULL;
	char err[512] = "";
	if (stw_cluster_join(&o, &c, err, sizeof err) != STW_OK)
		fail_msg("join %s: %s", worker, err);
	return c;
}

/* ------------------------------------------------------------------------ */
/* The virtual clock                                                        */

static int64_t clock_read(void *ud)
{
	struct fx_clock *c = ud;
	int64_t now = c->now;
	c->now += c->tick;
	return now;
}

void fx_clock_init(struct fx_clock *c, int64_t now)
{
	*c = (struct fx_clock){ .stw = { .now_ms = clock_read, .ud = c }, .now = now };
}

void fx_clock_set(struct fx_clock *c, int64_t now)
{
	c->now = now;
}

void fx_clock_advance(struct fx_clock *c, int64_t ms)
{
	c->now += ms;
}

/* ------------------------------------------------------------------------ */
/* The world                                                                */

int fx_world_init(struct fx_world *w, const char *tag, int64_t now)
{
	*w = (struct fx_world){ 0 };
	if (fx_tmpdir_make(w->dir, sizeof(w->dir), tag) != 0) {
		print_error("fx_world_init: mkdtemp under $TMPDIR: %s\n", strerror(errno));
		w->dir[0] = '\0';
		return -1;
	}
	snprintf(w->db, sizeof(w->db), "%s/test.db", w->dir);
	if (fx_on_pg() && fx_pg_store(w->dir, NULL, w->db, sizeof(w->db)) != 0) {
		fx_tmpdir_remove(w->dir);
		w->dir[0] = '\0';
		return -1;
	}
	fx_clock_init(&w->clock, now);
	return 0;
}

static struct stw_options options(struct fx_world *w, const struct stw_options *o)
{
	struct stw_options copy = { 0 };
	if (o != NULL)
		copy = *o;
	if (copy.clock == NULL)
		copy.clock = &w->clock.stw;
	return copy;
}

int fx_open(struct fx_world *w, const char *name, const struct stw_options *o,
	    struct stw_engine **out)
{
	char path[sizeof(w->db)];
	if (name != NULL && fx_on_pg()) {
		if (fx_pg_store(w->dir, name, path, sizeof(path)) != 0)
			return STW_ESTORE;
	} else if (name != NULL) {
		snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	}
	struct stw_options opts = options(w, o);
	return stw_open(name != NULL ? path : w->db, &opts, out);
}

int fx_world_open(struct fx_world *w, const struct stw_options *o)
{
	return fx_open(w, NULL, o, &w->e);
}

int fx_reopen(struct fx_world *w, const struct stw_options *o)
{
	stw_close(w->e);
	w->e = NULL;
	return fx_world_open(w, o);
}

int fx_world_fini(struct fx_world *w)
{
	stw_close(w->e);
	w->e = NULL;
	if (w->dir[0] == '\0')
		return 0;
	if (fx_on_pg() && fx_pg_drop(w->dir) != 0)
		return -1;
	if (fx_tmpdir_remove(w->dir) != 0) {
		print_error("fx_world_fini: removing %s: %s\n", w->dir, strerror(errno));
		return -1;
	}
	w->dir[0] = '\0';
	return 0;
}

int fx_new(void **state, size_t size, const char *tag, int64_t now)
{
	struct fx_world *w = calloc(1, size > sizeof(*w) ? size : sizeof(*w));
	if (w == NULL) {
		print_error("fx_new: out of memory\n");
		return -1;
	}
	if (fx_world_init(w, tag, now) != 0) {
		free(w);
		return -1;
	}
	*state = w;
	return 0;
}

int fx_setup(void **state, const char *tag, int64_t now, const struct stw_options *o)
{
	if (fx_new(state, sizeof(struct fx_world), tag, now) != 0)
		return -1;
	struct fx_world *w = *state;
	int rc = fx_world_open(w, o);
	if (rc != STW_OK) {
		print_error("fx_setup: opening %s: %s\n", w->db, stw_strerror(rc));
		fx_teardown(state);
		return -1;
	}
	return 0;
}

int fx_teardown(void **state)
{
	struct fx_world *w = *state;
	int rc = fx_world_fini(w);
	free(w);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */

void fx_json_dump(char *buf, size_t cap, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	snprintf(buf, cap, "%s", s ? s : "(null)");
	free(s);
}

struct stw_event fx_event(const char *type, const char *stream, const char *id)
{
	return (struct stw_event){ .type = type, .stream = stream, .id = id };
}

int64_t fx_head(struct stw_engine *e, const char *context)
{
	int64_t h = -1;
	assert_int_equal(stw_head(e, context, &h), STW_OK);
	return h;
}

int fx_record_cb(const struct stw_event *ev, void *ud)
{
	struct fx_recs *rs = ud;
	if (rs->n < (int)(sizeof(rs->r) / sizeof(rs->r[0]))) {
		struct fx_rec *r = &rs->r[rs->n];
		r->position = ev->position;
		r->stream_version = ev->stream_version;
		r->recorded_at = ev->recorded_at;
		snprintf(r->context, sizeof(r->context), "%s", ev->context);
		snprintf(r->id, sizeof(r->id), "%s", ev->id);
		snprintf(r->type, sizeof(r->type), "%s", ev->type);
		snprintf(r->stream, sizeof(r->stream), "%s", ev->stream);
		r->has_corr = ev->correlation_id != NULL;
		r->has_caus = ev->causation_id != NULL;
		snprintf(r->corr, sizeof(r->corr), "%s",
			 ev->correlation_id ? ev->correlation_id : "");
		snprintf(r->caus, sizeof(r->caus), "%s", ev->causation_id ? ev->causation_id : "");
		fx_json_dump(r->data, sizeof(r->data), ev->data);
		fx_json_dump(r->meta, sizeof(r->meta), ev->metadata);
	}
	rs->n++;
	return rs->stop_at > 0 && rs->n >= rs->stop_at;
}

/* ------------------------------------------------------------------------ */
/* A scripted service                                                       */

int fx_shop_handler(struct stw_service_ctx *sc, const struct stw_command *cmd, void *ud)
{
	struct fx_shop *s = ud;
	struct fx_cmd_copy *c = &s->last;
	s->calls++;
	snprintf(c->id, sizeof(c->id), "%s", cmd->id);
	snprintf(c->context, sizeof(c->context), "%s", cmd->context);
	snprintf(c->type, sizeof(c->type), "%s", cmd->type);
	c->has_corr = cmd->correlation_id != NULL;
	c->has_caus = cmd->causation_id != NULL;
	snprintf(c->corr, sizeof(c->corr), "%s", cmd->correlation_id ? cmd->correlation_id : "");
	snprintf(c->caus, sizeof(c->caus), "%s", cmd->causation_id ? cmd->causation_id : "");
	fx_json_dump(c->data, sizeof(c->data), cmd->data);

	if (s->reenter) {
		struct stw_engine *e = stw_svc_engine(sc);
		int did = -1;
		struct stw_event ev = { .type = "Inner", .stream = "inner" };
		s->rc_execute = stw_execute(e, "Shop", "Ship", NULL, "inner-cmd", NULL, NULL);
		s->rc_run_once = stw_run_once(e, &did);
		s->rc_append = stw_append(e, "Shop", STW_ANY_VERSION, &ev, 1, NULL);
	}
	const char *order = json_string_value(json_object_get(cmd->data, "order"));
	if (order == NULL)
		order = "none";
	char stream[128];
	snprintf(stream, sizeof(stream), "shipment-%s", order);
	if (s->stale_emit)
		return stw_svc_emit(sc, stream, 7, "Shipped", NULL);
	for (int i = 0; i < s->emit && i < 4; i++) {
		int64_t v = -1;
		int rc = stw_svc_read_stream(sc, stream, NULL, NULL, &v);
		if (rc != STW_OK)
			return rc;
		s->seen_version[i] = v;
		rc = stw_svc_emit(sc, stream, v, "Shipped",
				  json_pack("{s:s, s:i}", "order", order, "n", i));
		if (rc != STW_OK)
			return rc;
	}
	if (s->transient > 0) {
		s->transient--;
		return STW_ESTORE;
	}
	if (s->reject)
		return stw_reject(sc, "out of stock for %s", order);
	return STW_OK;
}

static const char *const sales_sources[] = { "Sales", NULL };

static const struct stw_command_def ship_cmds[] = {
	{ "Shop", "Ship", NULL },
	{ NULL, NULL, NULL },
};

static const struct stw_transition_def ship_transitions[] = {
	{ NULL, "Ordered", NULL, ship_cmds, NULL, NULL },
	{ NULL, NULL, NULL, NULL, NULL, NULL },
};

/* Stateless: an Ordered event in Sales sends Shop.Ship (payload: the event data). */
const struct stw_definition fx_ship_policy = {
	.name = "ShipPolicy",
	.version = 1,
	.sources = sales_sources,
	.states = NULL,
	.transitions = ship_transitions,
};

void fx_shop_wire(struct stw_engine *e, const struct stw_definition *def, struct fx_shop *s)
{
	assert_int_equal(stw_define(e, def), STW_OK);
	assert_int_equal(stw_register_service(e, "Shop", fx_shop_handler, s), STW_OK);
}

void fx_order(struct stw_engine *e, const char *event_id, const char *corr, const char *order_id)
{
	char stream[64];
	snprintf(stream, sizeof(stream), "order-%s", order_id);
	struct stw_event ev = {
		.id = event_id,
		.type = "Ordered",
		.stream = stream,
		.correlation_id = corr,
		.data = json_pack("{s:s}", "order", order_id),
	};
	assert_non_null(ev.data);
	assert_int_equal(stw_append(e, "Sales", STW_ANY_VERSION, &ev, 1, NULL), STW_OK);
	json_decref(ev.data);
}

struct stw_stats fx_stats(struct stw_engine *e)
{
	struct stw_stats st;
	memset(&st, 0xff, sizeof(st));
	stw_get_stats(e, &st);
	return st;
}

int fx_collect_cb(const struct stw_event *ev, void *ud)
{
	struct fx_ev_list *l = ud;
	if (l->n < 8) {
		struct fx_ev_copy *c = &l->ev[l->n];
		c->stream_version = ev->stream_version;
		c->recorded_at = ev->recorded_at;
		snprintf(c->id, sizeof(c->id), "%s", ev->id);
		snprintf(c->type, sizeof(c->type), "%s", ev->type);
		snprintf(c->stream, sizeof(c->stream), "%s", ev->stream);
		snprintf(c->corr, sizeof(c->corr), "%s",
			 ev->correlation_id ? ev->correlation_id : "(null)");
		snprintf(c->caus, sizeof(c->caus), "%s",
			 ev->causation_id ? ev->causation_id : "(null)");
		fx_json_dump(c->data, sizeof(c->data), ev->data);
	}
	l->n++;
	return 0;
}

void fx_read_all(struct stw_engine *e, const char *context, struct fx_ev_list *l)
{
	memset(l, 0, sizeof(*l));
	assert_int_equal(stw_read(e, context, 0, 100, fx_collect_cb, l, NULL), STW_OK);
}

void fx_count_activity(const struct stw_activity *a, void *ud)
{
	struct fx_seen *s = ud;
	s->n[a->kind]++;
	s->total++;
}

/* ------------------------------------------------------------------------ */
/* Assertions                                                               */

void fx_expect_exit(pid_t pid, int code)
{
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), code);
}

void fx_check_ok(const struct stw_engine *e, int rc, const char *expr, const char *file, int line)
{
	if (rc == STW_OK)
		return;
	print_error("%s: %s (%d): %s\n", expr, stw_strerror(rc), rc, stw_errmsg(e));
	_fail(file, line);
}

void fx_expect_instance(struct stw_engine *e, const char *definition, const char *id,
			const char *state, const char *status, int version)
{
	json_t *o = NULL;
	assert_stw_ok(e, stw_get_instance(e, definition, id, &o));
	assert_string_equal(json_string_value(json_object_get(o, "state")), state);
	assert_string_equal(json_string_value(json_object_get(o, "status")), status);
	assert_int_equal(json_integer_value(json_object_get(o, "definition_version")), version);
	json_decref(o);
}

void fx_redeploy(struct fx_world *w, const struct stw_definition *const *defs)
{
	stw_close(w->e);
	w->e = NULL;
	assert_int_equal(fx_world_open(w, NULL), STW_OK);
	for (; *defs != NULL; defs++)
		assert_stw_ok(w->e, stw_define(w->e, *defs));
}
