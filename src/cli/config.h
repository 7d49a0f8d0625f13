/*
 * config.h - the settings of `steward serve`: an INI file (libinih), then the
 * environment, then flags, each overriding the one before.
 *
 *   [server]       listen = HOST:PORT | :PORT | PORT | off, token_file = PATH,
 *                  stuck_after = SECONDS (an instance nothing moves is stuck
 *                  after that long; default 600)
 *   [store]        url = PATH | sqlite:PATH | postgresql://... (path = ...:
 *                  its older name), synchronous = full | normal | off
 *                  (SQLite's; refused with a PostgreSQL store)
 *   [definitions]  load = PATH   (several lines, each plugin once)
 *   [contexts]     accept = NAME, NAME...  (or *: contexts that take POSTed
 *                  events although no definition reads them and no service
 *                  owns them)
 *   [http]         threads, max_connections, max_connections_per_ip,
 *                  read_timeout (seconds), max_streams: the HTTP server's
 *                  limits (docs/API.md, "Under load"; each also a flag)
 *   [remote NAME]  (or [remote "NAME"]) url = http://..., token_file = PATH,
 *                  connect_timeout_ms, timeout_ms, max_attempts, backoff_ms,
 *                  backoff_max_ms
 *   [retention]    keep_ended = DURATION, keep_dedup = DURATION (off: kept
 *                  for ever, the default), every = DURATION (default 60s),
 *                  batch = N (default 100); a duration is a whole number
 *                  and ms, s, m, h or d ("30d")
 *   [cluster]      enabled = on | off, worker = ID, lease = DURATION (8s),
 *                  renew = DURATION (2s), partitions = N (a new cluster's:
 *                  64), moves = N (8), audit = on | off
 *
 * Relative paths in a file are relative to the file's directory. Every
 * failure is a message naming the file, the line and the key.
 */
#ifndef STW_CLI_CONFIG_H
#define STW_CLI_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * The store of steward serve, and of the other commands when neither
 * --store nor --url is given: the voiding demo's, so that `make run` and then
 * `steward ps` (README) look at the same file.
 */
#define STW__CLI_DEFAULT_DB "steward-voiding.db"

/*
 * 1 when `store` (a path or URL, as stw_open takes it) is an SQLite
 * database, with its path (without "sqlite:" and the URL's settings) in
 * path (cap bytes, truncated); 0 for a "scheme://" URL: a server's store
 * (postgres://, postgresql://) or one stw_open does not know.
 */
int stw__cli_store_file(const char *store, char *path, size_t cap);

/* When an instance that nothing will move counts as stuck: its default and largest, in seconds. */
#define STW__CLI_STUCK_AFTER_S     600
#define STW__CLI_MAX_STUCK_AFTER_S (366LL * 24 * 3600)

/*
 * Parses --stuck-after SECONDS (1 to STW__CLI_MAX_STUCK_AFTER_S): 0, or -1
 * with a message in err.
 */
int stw__cli_config_stuck_after(const char *s, long long *out, char *err, size_t cap);

/*
 * The HTTP server's limits ([http], or a flag each); 0: the server's default
 * (STW_HTTP_* of http/server.h), -1: no cap (a setting of 0 in the file or
 * a flag, for max_connections_per_ip and max_streams).
 */
struct stw__cli_http_limits {
	int threads;
	int max_connections;
	int max_per_ip;
	int read_timeout_s;
	int max_streams;
};

/* The keys of [http], each also a flag. */
enum stw__cli_http_key {
	STW__CLI_HTTP_THREADS,         /* threads, --http-threads */
	STW__CLI_HTTP_MAX_CONNECTIONS, /* max_connections, --max-connections */
	STW__CLI_HTTP_MAX_PER_IP,      /* max_connections_per_ip, --max-connections-per-ip */
	STW__CLI_HTTP_READ_TIMEOUT,    /* read_timeout, --read-timeout */
	STW__CLI_HTTP_MAX_STREAMS,     /* max_streams, --max-streams */
	STW__CLI_HTTP_NKEYS
};

/* The getopt_long entries of the flags; an entry's val is base + its key. */
#define STW__CLI_HTTP_OPTIONS(base)                                                                \
	{ "http-threads", required_argument, NULL, (base) + STW__CLI_HTTP_THREADS },               \
	    { "max-connections", required_argument, NULL,                                          \
	      (base) + STW__CLI_HTTP_MAX_CONNECTIONS },                                            \
	    { "max-connections-per-ip", required_argument, NULL,                                   \
	      (base) + STW__CLI_HTTP_MAX_PER_IP },                                                 \
	    { "read-timeout", required_argument, NULL, (base) + STW__CLI_HTTP_READ_TIMEOUT },      \
	{                                                                                          \
		"max-streams", required_argument, NULL, (base) + STW__CLI_HTTP_MAX_STREAMS         \
	}

/* Parses a decimal integer in [min, max] into *out: 0, or -1. */
int stw__cli_config_number(const char *s, long long min, long long max, long long *out);

/* The key of [http] named `name`, or -1. */
int stw__cli_config_http_key(const char *name);

/* The name of key k in the file (flag 0) or as a flag without "--" (flag 1). */
const char *stw__cli_config_http_name(enum stw__cli_http_key k, int flag);

/*
 * Sets limit k of *l from its text. Returns 0, or -1 with a message in err
 * naming the range.
 */
int stw__cli_config_http(struct stw__cli_http_limits *l, enum stw__cli_http_key k,
			 const char *value, char *err, size_t cap);

/*
 * Applies a flag of the HTTP limits: getopt_long's val `opt` (base + key)
 * and its argument. Returns 0, or -1 after printing "steward: --FLAG: why".
 */
int stw__cli_config_http_flag(struct stw__cli_http_limits *l, int opt, int base, const char *value);

/* Sets each limit that `over` gives (not 0) in *l: the flags over the file. */
void stw__cli_config_http_over(struct stw__cli_http_limits *l,
			       const struct stw__cli_http_limits *over);

/* Prints the usage lines of the limits' flags (steward serve --help, steward demo --help). */
void stw__cli_config_http_usage(FILE *f);

/* Prints the limits, one per line, with their defaults filled in (for --check-config). */
void stw__cli_config_http_print(const struct stw__cli_http_limits *l, FILE *f);

/* Retention ([retention], config_retention.c): all 0 is off. */
struct stw__cli_retention {
	int64_t keep_ended_ms; /* ended instances older than this are deleted; 0: kept */
	int64_t keep_dedup_ms; /* dedup records older than this are dropped; 0: kept */
	int64_t every_ms;      /* between the starts of passes; 0: STW__CLI_RETENTION_EVERY_MS */
	int batch; /* instances or records per transaction; 0: STW__CLI_RETENTION_BATCH */
};

#define STW__CLI_RETENTION_EVERY_MS 60000
#define STW__CLI_RETENTION_BATCH    100

/* 1 when retention deletes anything. */
static inline int stw__cli_retention_on(const struct stw__cli_retention *r)
{
	return r->keep_ended_ms > 0 || r->keep_dedup_ms > 0;
}

/*
 * Parses a duration: a whole number followed by ms, s, m, h or d ("30d",
 * quotes allowed around it), or off or 0 (0 ms). Returns 0 with *ms, or -1.
 */
int stw__cli_config_duration(const char *s, int64_t *ms);

/* Prints a duration in the largest unit that divides it ("30d", "1500ms"); 0 (or less): off. */
void stw__cli_config_print_duration(FILE *f, int64_t ms);

/*
 * Sets key of [retention] from its text. Returns 0, or -1 with a message in
 * err about the value, or -2 with one naming the keys when key is not one.
 */
int stw__cli_config_retention(struct stw__cli_retention *r, const char *key, const char *value,
			      char *err, size_t cap);

/* Prints the retention settings on one line (for --check-config). */
void stw__cli_config_retention_print(const struct stw__cli_retention *r, FILE *f);

/* The cluster ([cluster], config_cluster.c); 0 fields take the library's defaults. */
struct stw__cli_cluster {
	int enabled;      /* join the store's cluster (PostgreSQL) */
	char worker[128]; /* the worker's id; "": HOST:PID */
	int64_t lease_ms;
	int64_t renew_ms;
	int partitions; /* for the first worker ever to join */
	int moves;
	int audit;
};

/*
 * Sets key of [cluster] from its text. Returns 0, or -1 with a message in
 * err about the value, or -2 with one naming the keys when key is not one.
 */
int stw__cli_config_cluster(struct stw__cli_cluster *c, const char *key, const char *value,
			    char *err, size_t cap);

/* Prints the cluster settings on one line (for --check-config). */
void stw__cli_config_cluster_print(const struct stw__cli_cluster *c, FILE *f);

/* One remote context. Numbers left 0 take the transport's or engine's default. */
struct stw__cli_serve_remote {
	char *name;              /* the context */
	char *url;               /* where its commands are POSTed */
	char *token_file;        /* the bearer token sent to it; NULL: none */
	long connect_timeout_ms; /* 0: the transport's default */
	long timeout_ms;         /* 0: the transport's default */
	int max_attempts;        /* 0: the engine's default */
	int64_t backoff_ms;      /* 0: the engine's default */
	int64_t backoff_max_ms;  /* 0: the engine's default */
};

struct stw__cli_serve_config {
	char *file;              /* the file read, or NULL */
	char *listen;            /* NULL: the daemon's default */
	char *token_file;        /* the daemon's API token; NULL: none */
	long long stuck_after_s; /* 0: STW__CLI_STUCK_AFTER_S */
	char *store;             /* a path or URL (stw_open); NULL: STW__CLI_DEFAULT_DB */
	int synchronous;         /* -1: default (full); 0 off, 1 normal, 2 full */
	int64_t store_wait_ms;   /* [store] wait: how long the start waits for the store; 0: not */
	char **load;             /* plugins, in order */
	int *load_line;          /* the file's line that lists each plugin; 0: a flag */
	size_t nload;
	struct stw__cli_serve_remote *remotes;
	size_t nremotes;
	char **accept; /* [contexts] accept, NULL-terminated ("*": any); NULL: none */
	size_t naccept;
	struct stw__cli_http_limits http;    /* [http] */
	struct stw__cli_retention retention; /* [retention] */
	struct stw__cli_cluster cluster;     /* [cluster] */
};

/* Fills *c with empty settings. */
void stw__cli_config_init(struct stw__cli_serve_config *c);

/* Releases what *c owns. */
void stw__cli_config_free(struct stw__cli_serve_config *c);

/*
 * Reads an INI file into *c (keys it sets override earlier values; load
 * lines add). Returns 0, or -1 with "FILE:LINE: ..." in err.
 */
int stw__cli_config_read_file(struct stw__cli_serve_config *c, const char *path, char *err,
			      size_t cap);

/*
 * Reads an INI file from f, open for reading, as stw__cli_config_read_file
 * reads the file `path` (which names it in messages and in c->file, and
 * whose directory relative paths are taken from). f stays open.
 */
int stw__cli_config_read_stream(struct stw__cli_serve_config *c, FILE *f, const char *path,
				char *err, size_t cap);

/* Sets one string setting (copying the value): 0, or -1 when out of memory. */
int stw__cli_config_set(char **field, const char *value);

/* Adds a plugin path listed at `line` of the file (0: a flag): 0, or -1 when out of memory. */
int stw__cli_config_add_load(struct stw__cli_serve_config *c, const char *path, int line);

/*
 * The index of the plugin that `path` names in c->load (the same path, or
 * the same file by another path), or -1 when it is not listed.
 */
long stw__cli_config_find_load(const struct stw__cli_serve_config *c, const char *path);

/*
 * Checks an address to listen on as the HTTP server takes it: HOST:PORT,
 * :PORT or PORT (HOST an IPv4 address or localhost, PORT 0 to 65535), or
 * off. Returns 0, or -1 with a message in err.
 */
int stw__cli_config_listen(const char *s, char *err, size_t cap);

/*
 * Applies a --remote NAME=URL flag: sets the URL of NAME (declaring it when
 * the file did not). Returns 0, or -1 with a message in err.
 */
int stw__cli_config_remote_flag(struct stw__cli_serve_config *c, const char *spec, char *err,
				size_t cap);

/*
 * Adds the contexts of a list ("A, B" or "*") to c->accept. Returns 0, or -1
 * with a message in err naming a name that is not a context name.
 */
int stw__cli_config_accept(struct stw__cli_serve_config *c, const char *list, char *err,
			   size_t cap);

/* Parses a synchronous level ("full", "normal", "off"): 0, or -1. */
int stw__cli_config_synchronous(const char *s, int *out);

/*
 * Checks what the file, environment and flags cannot check alone (every
 * remote has a URL). Returns 0, or -1 with a message in err.
 */
int stw__cli_config_validate(const struct stw__cli_serve_config *c, char *err, size_t cap);

/* Prints the resolved settings, one per line; never a token, only where it is read from. */
void stw__cli_config_print(const struct stw__cli_serve_config *c, FILE *f);

#endif /* STW_CLI_CONFIG_H */
