/*
 * replay.c - `steward replay`: before a deploy, re-runs the recorded inputs
 * of stored instances through the definitions of new plugins and reports
 * where they would diverge, writing nothing to the store.
 *
 * Each instance is replayed on a scratch engine of its own: an SQLite store
 * in memory, a virtual clock and commands held in its outbox (no service or
 * remote is called), with the new plugins registered. Its history gives the
 * inputs in order: an event is read from the store by its id and appended
 * at the time it was handled; a message without a context (a timer) sets
 * the clock to the time it fired, so that the timers the new definitions
 * armed by then fire. The histories are compared message by message (type,
 * id, from, to, outcome), then the commands the replayed messages sent
 * (id, context, type, data) and, when every input was replayed, the state
 * and status. A person's operation (acknowledged, cancelled, retried) or a
 * message that is not an event (a service's refusal) ends the replay of an
 * instance there: what came before is compared, and the report says so.
 */
#include "replay.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <steward.h>

#include "plugin.h"
#include "text.h"

#define MAX_PLUGINS 32
#define PAGE        1000 /* instances listed per call */

struct replay {
	const char *store;
	const char *definition; /* NULL: every definition */
	const char *instance;   /* NULL: every instance */
	long limit;             /* instances at most; 0: all */
	int quiet;              /* no progress line */
	struct stw__cli_plugin plugins[MAX_PLUGINS];
	int nplugins;
	struct stw_engine *stored; /* read-only, on the store */
	long same, differ, partial, failed;
	char log[512]; /* the library's last error line (why an open failed) */
};

/* Keeps the library's last error: stw_open says why it failed in its log. */
static void on_log(enum stw_log_level level, const char *msg, void *ud)
{
	struct replay *r = ud;
	if (level == STW_LOG_ERROR)
		snprintf(r->log, sizeof(r->log), "%s", msg);
}

/* The virtual clock of a scratch engine: the time of the input replayed. */
struct vclock {
	struct stw_clock clock;
	int64_t now;
};

static int64_t vclock_now(void *ud)
{
	return ((struct vclock *)ud)->now;
}

static void usage(FILE *f)
{
	fputs("usage: steward replay --store STORE --load PLUGIN... [--definition NAME]\n"
	      "                      [--instance ID] [--limit N] [--quiet]\n"
	      "\n"
	      "Re-runs the recorded inputs of the stored instances (their events, in the\n"
	      "order they were handled, and their timers, at the time they fired) through\n"
	      "the definitions of the plugins given, each instance in memory on an engine of\n"
	      "its own whose commands go nowhere, and prints, for each instance that would\n"
	      "take another path (another state, other commands, a message refused), where\n"
	      "it diverges. Nothing is written to the store.\n"
	      "\n"
	      "options:\n"
	      "  --store STORE      the store: a path, sqlite:PATH or postgresql://... (--db too)\n"
	      "  --load PLUGIN      the new definitions (repeatable)\n"
	      "  --definition NAME  only the instances of this definition\n"
	      "  --instance ID      only this instance\n"
	      "  --limit N          at most N instances, newest first\n"
	      "  --quiet            no progress line on a terminal\n"
	      "\n"
	      "exit status: 0 no instance diverges, 1 one does (or the replay failed),\n"
	      "2 a usage error.\n",
	      f);
}

/* ------------------------------------------------------------------------ */
/* One instance                                                             */

/* What the replay of one instance gave. */
struct outcome {
	int differs;
	const char *stopped; /* why the inputs stopped short, or NULL: all replayed */
	struct stw__cli_buf why;
};

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s != NULL ? s : "";
}

/*
 * Appends an event read from the store to the scratch engine's log of its
 * context, recorded at the time it was (the ids of the commands it causes
 * derive from it).
 */
struct feed {
	struct stw_engine *scratch;
	struct vclock *vc;
	const char *context;
	int rc;
};

static int feed_event(const struct stw_event *ev, void *ud)
{
	struct feed *f = ud;
	struct stw_event copy = *ev;
	int64_t handled_at = f->vc->now;
	f->vc->now = ev->recorded_at;
	f->rc = stw_append(f->scratch, f->context, STW_ANY_VERSION, &copy, 1, NULL);
	f->vc->now = handled_at;
	return 1;
}

/* Appends text from the store, safe to show on a terminal (cut past 200 columns). */
static void put(struct stw__cli_buf *b, const char *s)
{
	stw__cli_buf_cell(b, s, 200);
}

/* "Requested -> Voided (applied)" for a history row. */
static void step_text(struct stw__cli_buf *b, const json_t *row)
{
	const char *from = str(row, "from"), *to = str(row, "to");
	put(b, *from ? from : "(start)");
	stw__cli_buf_puts(b, " -> ");
	put(b, *to ? to : from);
	stw__cli_buf_puts(b, " (");
	put(b, str(row, "outcome"));
	stw__cli_buf_puts(b, ")");
}

static int same_step(const json_t *a, const json_t *b)
{
	static const char *const keys[] = { "message_id", "message_type", "from", "to", "outcome" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])))
			return 0;
	return 1;
}

/* The commands of inst whose causation is one of the first n messages of history. */
static json_t *commands_of(const json_t *inst, const json_t *history, size_t n)
{
	json_t *out = json_array();
	size_t i, j;
	const json_t *cmd, *row;
	json_array_foreach(json_object_get(inst, "commands"), i, cmd)
	{
		json_array_foreach(history, j, row)
		{
			if (j >= n)
				break;
			if (strcmp(str(cmd, "causation_id"), str(row, "message_id")) == 0) {
				json_array_append_new(
				    out, json_pack("{s:O?, s:O?, s:O?, s:O?}", "id",
						   json_object_get(cmd, "id"), "context",
						   json_object_get(cmd, "context"), "type",
						   json_object_get(cmd, "type"), "data",
						   json_object_get(cmd, "data")));
				break;
			}
		}
	}
	return out;
}

/* 1 if the two arrays hold the same commands, in any order. */
static int same_commands(const json_t *a, const json_t *b)
{
	if (json_array_size(a) != json_array_size(b))
		return 0;
	size_t i, j;
	const json_t *x, *y;
	json_array_foreach(a, i, x)
	{
		int found = 0;
		json_array_foreach(b, j, y) found |= json_equal(x, y);
		if (!found)
			return 0;
	}
	return 1;
}

static void commands_text(struct stw__cli_buf *b, const char *who, const json_t *cmds)
{
	stw__cli_buf_puts(b, "\n  commands ");
	stw__cli_buf_puts(b, who);
	stw__cli_buf_puts(b, ":");
	if (json_array_size(cmds) == 0)
		stw__cli_buf_puts(b, " (none)");
	size_t i;
	const json_t *c;
	json_array_foreach(cmds, i, c)
	{
		char *data = json_dumps(json_object_get(c, "data"), JSON_COMPACT | JSON_SORT_KEYS);
		stw__cli_buf_puts(b, "\n    ");
		put(b, str(c, "context"));
		stw__cli_buf_puts(b, ".");
		put(b, str(c, "type"));
		stw__cli_buf_puts(b, " ");
		put(b, data ? data : "{}");
		free(data);
	}
}

/*
 * Compares the recorded instance rec with its replay rep (NULL: the new
 * definitions made none) over the first n inputs; the difference goes into o.
 */
static void compare(const json_t *rec, const json_t *rep, size_t n, struct outcome *o)
{
	const json_t *rh = json_object_get(rec, "history");
	const json_t *ph = rep ? json_object_get(rep, "history") : NULL;
	if (rep == NULL) {
		o->differs = 1;
		stw__cli_buf_puts(&o->why, "\n  the new definitions start no instance on its first "
					   "message, ");
		put(&o->why, str(json_array_get(rh, 0), "message_type"));
		return;
	}
	size_t np = json_array_size(ph);
	for (size_t i = 0; i < n || i < np; i++) {
		const json_t *a = i < n ? json_array_get(rh, i) : NULL;
		const json_t *b = json_array_get(ph, i);
		if (a != NULL && b != NULL && same_step(a, b))
			continue;
		const json_t *m = a ? a : b;
		o->differs = 1;
		stw__cli_buf_printf(&o->why, "\n  at message %zu, ", i + 1);
		put(&o->why, str(m, "message_type"));
		stw__cli_buf_puts(&o->why, " (");
		put(&o->why, str(m, "message_id"));
		stw__cli_buf_puts(&o->why, "):\n    recorded  ");
		if (a != NULL)
			step_text(&o->why, a);
		else
			stw__cli_buf_puts(&o->why, "(nothing)");
		stw__cli_buf_puts(&o->why, "\n    replayed  ");
		if (b != NULL)
			step_text(&o->why, b);
		else
			stw__cli_buf_puts(&o->why, "(nothing)");
		break;
	}
	json_t *rc = commands_of(rec, rh, n), *pc = commands_of(rep, ph, np);
	if (!same_commands(rc, pc)) {
		o->differs = 1;
		commands_text(&o->why, "recorded", rc);
		commands_text(&o->why, "replayed", pc);
	}
	json_decref(rc);
	json_decref(pc);
	if (o->stopped == NULL && (strcmp(str(rec, "state"), str(rep, "state")) != 0 ||
				   strcmp(str(rec, "status"), str(rep, "status")) != 0)) {
		o->differs = 1;
		stw__cli_buf_puts(&o->why, "\n  ends recorded ");
		put(&o->why, str(rec, "state"));
		stw__cli_buf_puts(&o->why, " (");
		put(&o->why, str(rec, "status"));
		stw__cli_buf_puts(&o->why, "), replayed ");
		put(&o->why, str(rep, "state"));
		stw__cli_buf_puts(&o->why, " (");
		put(&o->why, str(rep, "status"));
		stw__cli_buf_puts(&o->why, ")");
	}
}

/* Opens a scratch engine in memory with the new plugins registered. */
static int scratch_open(struct replay *r, struct vclock *vc, struct stw_engine **e)
{
	vc->clock.now_ms = vclock_now;
	vc->clock.ud = vc;
	struct stw_options o = {
		.clock = &vc->clock, .hold_commands = 1, .synchronous = 0, .stream_cache_kb = -1
	};
	int rc = stw_open(":memory:", &o, e);
	for (int i = 0; rc == STW_OK && i < r->nplugins; i++)
		rc = stw__cli_plugin_register(&r->plugins[i], *e);
	return rc;
}

/*
 * Feeds the inputs of history to the scratch engine, in order. Returns
 * STW_OK with the number replayed in *n (o->stopped set when they stopped
 * short), or the scratch engine's failure.
 */
static int feed_inputs(struct replay *r, struct stw_engine *s, struct vclock *vc,
		       const json_t *history, size_t *n, struct outcome *o)
{
	size_t i;
	const json_t *row;
	*n = 0;
	json_array_foreach(history, i, row)
	{
		const char *outcome = str(row, "outcome"), *context = str(row, "context");
		if (strcmp(outcome, "acknowledged") == 0 || strcmp(outcome, "cancelled") == 0 ||
		    strcmp(outcome, "retried") == 0) {
			o->stopped = "a person's operation";
			break;
		}
		vc->now = (int64_t)json_integer_value(json_object_get(row, "at"));
		if (*context != '\0') {
			struct feed f = { s, vc, context, STW_OK };
			int rc = stw_get_event(r->stored, str(row, "message_id"), feed_event, &f);
			if (rc == STW_ENOTFOUND) {
				o->stopped = "a message that is not an event (a service's refusal)";
				break;
			}
			if (rc != STW_OK)
				return rc;
			if (f.rc != STW_OK)
				return f.rc;
		}
		int rc = stw_run_until_idle(s);
		if (rc != STW_OK)
			return rc;
		(*n)++;
	}
	return STW_OK;
}

/* Replays one stored instance; prints it when it differs. 0, or -1 when it could not. */
static int replay_one(struct replay *r, const char *definition, const char *id)
{
	json_t *rec = NULL, *rep = NULL;
	struct stw_engine *s = NULL;
	struct vclock vc = { .now = 0 };
	struct outcome o = { 0 };
	size_t n = 0;
	const char *what = "reading it";
	int rc = stw_get_instance(r->stored, definition, id, &rec);
	if (rc == STW_OK) {
		what = "opening an engine in memory";
		rc = scratch_open(r, &vc, &s);
	}
	if (rc == STW_OK) {
		what = "replaying it";
		rc = feed_inputs(r, s, &vc, json_object_get(rec, "history"), &n, &o);
	}
	if (rc == STW_OK) {
		rc = stw_get_instance(s, definition, id, &rep);
		if (rc == STW_ENOTFOUND)
			rc = STW_OK;
	}
	if (rc != STW_OK) {
		char shown[STW__CLI_SHOWN_CAP];
		stw__cli_error("%s %s: %s: %s", definition, stw__cli_shown(shown, id), what,
			       stw_errmsg(s != NULL && rec != NULL ? s : r->stored));
		r->failed++;
	} else {
		compare(rec, rep, n, &o);
		if (o.differs) {
			char shown[STW__CLI_SHOWN_CAP];
			const char *why = stw__cli_buf_str(&o.why);
			r->differ++;
			printf("%s %s differs%s%s%s:%s\n", definition, stw__cli_shown(shown, id),
			       o.stopped ? " (compared up to " : "", o.stopped ? o.stopped : "",
			       o.stopped ? ")" : "", why ? why : " (out of memory)");
		} else if (o.stopped != NULL) {
			r->partial++;
		} else {
			r->same++;
		}
	}
	free(o.why.p);
	json_decref(rec);
	json_decref(rep);
	stw_close(s);
	return rc == STW_OK ? 0 : -1;
}

/* ------------------------------------------------------------------------ */
/* The command                                                              */

/* The (definition, id) pairs to replay, newest first, as a new JSON array. */
static int targets(struct replay *r, json_t **out)
{
	*out = json_array();
	if (r->instance != NULL) {
		json_t *inst = NULL;
		int rc = stw_get_instance(r->stored, r->definition, r->instance, &inst);
		if (rc == STW_OK)
			json_array_append_new(*out, json_pack("{s:s, s:s}", "definition",
							      str(inst, "definition"), "id",
							      r->instance));
		json_decref(inst);
		return rc;
	}
	for (int offset = 0;; offset += PAGE) {
		long left = r->limit > 0 ? r->limit - (long)json_array_size(*out) : PAGE;
		if (left <= 0)
			return STW_OK;
		struct stw_instance_filter f = { .definition = r->definition,
						 .limit = left < PAGE ? (int)left : PAGE,
						 .offset = offset };
		json_t *page = NULL;
		int rc = stw_list_instances(r->stored, &f, &page);
		if (rc != STW_OK)
			return rc;
		size_t got = json_array_size(page);
		json_array_extend(*out, page);
		json_decref(page);
		if (got < (size_t)f.limit)
			return STW_OK;
	}
}

static int parse(struct replay *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 's' },
		{ "load", required_argument, NULL, 'l' },
		{ "definition", required_argument, NULL, 'd' },
		{ "instance", required_argument, NULL, 'i' },
		{ "limit", required_argument, NULL, 'n' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		switch (ch) {
		case 's':
			if (r->store != NULL) {
				stw__cli_error("replay: give the store once");
				return 2;
			}
			r->store = optarg;
			break;
		case 'l':
			if (r->nplugins == MAX_PLUGINS) {
				stw__cli_error("replay: at most %d plugins", MAX_PLUGINS);
				return 2;
			}
			r->plugins[r->nplugins++].path = optarg;
			break;
		case 'd':
			r->definition = optarg;
			break;
		case 'i':
			r->instance = optarg;
			break;
		case 'n':
			r->limit = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || r->limit <= 0) {
				stw__cli_error("replay: --limit needs a number above 0, not '%s'",
					       optarg);
				return 2;
			}
			break;
		case 'q':
			r->quiet = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || r->store == NULL || r->nplugins == 0) {
		stw__cli_error("replay: %s (see 'steward replay --help')",
			       optind < argc      ? "unexpected argument"
			       : r->store == NULL ? "--store names the store to replay"
						  : "--load names the plugins to replay with");
		return 2;
	}
	return -1;
}

/* Loads the plugins and opens the store read-only with them registered. 0, or 1. */
static int open_all(struct replay *r)
{
	for (int i = 0; i < r->nplugins; i++) {
		char err[512];
		const char *path = r->plugins[i].path;
		if (stw__cli_plugin_load(path, &r->plugins[i], err, sizeof(err)) != 0) {
			r->plugins[i].path = path;
			stw__cli_error("%s", err);
			return 1;
		}
	}
	struct stw_options o = {
		.read_only = 1, .delivered_elsewhere = 1, .log = on_log, .log_ud = r
	};
	int rc = stw_open(r->store, &o, &r->stored);
	char shown[512], why[STW__CLI_SHOWN_CAP * 2];
	stw_store_shown(r->store, shown, sizeof(shown));
	if (rc != STW_OK) {
		const char *p = strstr(r->log, ": open: ");
		stw__cli_error("replay: cannot open %s: %s", shown,
			       rc == STW_ENOTFOUND ? "not a steward store"
			       : p != NULL         ? stw__cli_shown_n(why, sizeof(why), p + 8, 200)
						   : stw_strerror(rc));
		return 1;
	}
	for (int i = 0; rc == STW_OK && i < r->nplugins; i++)
		rc = stw__cli_plugin_register(&r->plugins[i], r->stored);
	if (rc != STW_OK) {
		stw__cli_error("replay: %s: %s", shown, stw_errmsg(r->stored));
		return 1;
	}
	return 0;
}

static int run(struct replay *r)
{
	json_t *list = NULL;
	if (open_all(r) != 0)
		return 1;
	int rc = targets(r, &list);
	if (rc != STW_OK) {
		stw__cli_error("replay: listing the instances: %s", stw_errmsg(r->stored));
		json_decref(list);
		return 1;
	}
	int progress = !r->quiet && isatty(STDERR_FILENO);
	size_t i, n = json_array_size(list);
	const json_t *t;
	json_array_foreach(list, i, t)
	{
		if (progress && (i % 16 == 0 || i + 1 == n)) {
			fprintf(stderr, "\rreplaying %zu/%zu", i + 1, n);
			fflush(stderr);
		}
		replay_one(r, str(t, "definition"), str(t, "id"));
	}
	if (progress && n > 0)
		fputs("\r\033[K", stderr);
	json_decref(list);
	printf("replayed %zu instance%s: %ld the same, %ld differ", n, n == 1 ? "" : "s", r->same,
	       r->differ);
	if (r->partial > 0)
		printf(", %ld the same up to a person's operation or a refusal", r->partial);
	if (r->failed > 0)
		printf(", %ld could not be replayed", r->failed);
	printf("\n");
	return r->differ > 0 || r->failed > 0 ? 1 : 0;
}

int stw__cli_replay(int argc, char **argv)
{
	struct replay r = { 0 };
	int status = parse(&r, argc, argv);
	if (status < 0)
		status = run(&r);
	stw_close(r.stored); /* before the plugins whose callbacks it holds */
	for (int i = 0; i < r.nplugins; i++)
		stw__cli_plugin_unload(&r.plugins[i]);
	return status;
}
