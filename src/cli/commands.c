/*
 * commands.c - the inspection and operation commands of the steward program:
 * ps, show, ack, cancel, retry, events and send.
 *
 * Each command works on a database file (--db; inspection opens it
 * read-only) or on a running daemon through the JSON API of docs/API.md
 * (--url, or STEWARD_URL). Both back ends produce the same JSON documents,
 * the ones the API answers, so a command first gets its answer as JSON and
 * then prints it either as a table or, with --json, as it is.
 *
 * Everything printed that comes from the store or the network goes through
 * one escaper: control characters, invisible format characters (bidi
 * overrides, zero-width spaces) and bytes that are not UTF-8 are shown as
 * escapes, so that hostile ids or event data cannot drive the terminal.
 */
#include "commands.h"
#include "daemon.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <steward.h>

#include "voiding.h"

#define HTTP_CONNECT_TIMEOUT_MS 5000L
#define HTTP_TIMEOUT_MS         30000L
#define HTTP_MAX_REPLY          ((size_t)64 << 20) /* bytes of one answer we accept */
#define SHOWN_CAP               256                /* buffer for one quoted argument in a message */
#define SHOWN_COLS              60                 /* columns of it (at most 4 bytes per column) */
#define MESSAGE_COLS            400 /* columns of a message from the store or daemon */

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* Growable strings ------------------------------------------------------------ */

/* A NUL-terminated string that grows; `oom` is sticky and makes later appends no-ops. */
struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

/* Appends n bytes of s and keeps the string NUL-terminated; sets b->oom on failure. */
static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = 1;
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		/* Only numbers and short words are formatted this way. */
		b->oom = 1;
		return;
	}
	sb_putn(b, tmp, (size_t)n);
}

/* The string built so far ("" when empty), or NULL if an append ran out of memory. */
static const char *sb_str(const struct sbuf *b)
{
	if (b->oom)
		return NULL;
	return b->p ? b->p : "";
}

/* Escaping for the terminal ------------------------------------------------------ */

/*
 * Decodes one UTF-8 sequence at s (n >= 1 bytes available). Returns its
 * length and the code point in *cp, or 0 when the bytes are not valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1fu;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0fu;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07u;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/*
 * Code points a terminal does not print but obeys or hides: C1 controls,
 * zero-width characters, line separators, bidi embeddings and overrides,
 * and the byte order mark.
 */
static int is_invisible(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/*
 * Reads the display unit of s (n bytes) at *i and writes how to show it into
 * out: the character itself, or an escape (\n, \t, \r, \xNN for a control
 * character or a byte that is not UTF-8, \uNNNN for an invisible
 * character). Advances *i, sets *outlen and returns the unit's width in
 * columns (every character counts as one).
 */
static size_t next_unit(const char *s, size_t n, size_t *i, char out[16], size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	uint32_t cp = 0;
	size_t len = utf8_decode(u, n - *i, &cp);
	int w;
	if (len == 0) {
		w = snprintf(out, 16, "\\x%02x", u[0]);
		len = 1;
	} else if (cp == '\n') {
		w = snprintf(out, 16, "\\n");
	} else if (cp == '\t') {
		w = snprintf(out, 16, "\\t");
	} else if (cp == '\r') {
		w = snprintf(out, 16, "\\r");
	} else if (cp < 0x20 || cp == 0x7f) {
		w = snprintf(out, 16, "\\x%02x", (unsigned)cp);
	} else if (is_invisible(cp)) {
		w = snprintf(out, 16, "\\u%04x", (unsigned)cp);
	} else {
		memcpy(out, u, len);
		*outlen = len;
		*i += len;
		return 1;
	}
	*i += len;
	*outlen = (size_t)w;
	return (size_t)w;
}

/*
 * Appends s to b as it is safe to show in a terminal (see next_unit). When
 * max > 3 and s is wider than max columns, it is cut to max - 3 columns and
 * "..." is appended. Returns the columns appended.
 */
static size_t sb_cell(struct sbuf *b, const char *s, size_t max)
{
	size_t n = strlen(s), i = 0, total = 0, ol = 0, cols = 0;
	char out[16];
	if (max > 3) {
		while (i < n)
			total += next_unit(s, n, &i, out, &ol);
		i = 0;
	}
	size_t limit = max > 3 && total > max ? max - 3 : SIZE_MAX;
	while (i < n) {
		size_t w = next_unit(s, n, &i, out, &ol);
		if (cols + w > limit)
			break;
		sb_putn(b, out, ol);
		cols += w;
	}
	if (limit != SIZE_MAX) {
		sb_puts(b, "...");
		cols += 3;
	}
	return cols;
}

/*
 * Writes s escaped and cut to `cols` columns into buf (cap bytes; at most
 * 4 bytes per column plus 4 are needed) and returns buf. For messages that
 * quote what the user or the daemon said.
 */
static const char *shown_n(char *buf, size_t cap, const char *s, size_t cols)
{
	struct sbuf b = { 0 };
	sb_cell(&b, s ? s : "(null)", cols);
	const char *r = sb_str(&b);
	snprintf(buf, cap, "%s", r ? r : "?");
	free(b.p);
	return buf;
}

#define shown(buf, s) shown_n(buf, sizeof(buf), s, SHOWN_COLS)

static void errorf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Prints "steward: MESSAGE" on stderr. */
static void errorf(const char *fmt, ...)
{
	va_list ap;
	fputs("steward: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints a message that comes from the store or the daemon, escaped, after "steward: ". */
static void error_text(const char *prefix, const char *text, const char *suffix)
{
	struct sbuf b = { 0 };
	sb_cell(&b, text, MESSAGE_COLS);
	const char *s = sb_str(&b);
	errorf("%s%s%s", prefix, s ? s : "out of memory", suffix);
	free(b.p);
}

/*
 * Prints v as JSON on stdout, indented when pretty, followed by a newline.
 * jansson escapes control characters below 0x20; this also escapes DEL and
 * the invisible characters of is_invisible, which stays valid JSON (they
 * can only occur inside strings). Returns 0, or 1 when out of memory.
 */
static int print_json(const json_t *v, int pretty)
{
	char *s = json_dumps(v, JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2) : JSON_COMPACT));
	if (s == NULL) {
		errorf("out of memory");
		return 1;
	}
	size_t n = strlen(s), start = 0, i = 0;
	while (i < n) {
		uint32_t cp = 0;
		size_t len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (len == 0)
			len = 1; /* jansson writes valid UTF-8; be safe anyway */
		if (cp == 0x7f || is_invisible(cp)) {
			fwrite(s + start, 1, i - start, stdout);
			printf("\\u%04x", (unsigned)cp);
			start = i + len;
		}
		i += len;
	}
	fwrite(s + start, 1, n - start, stdout);
	fputc('\n', stdout);
	free(s);
	return 0;
}

/* Tables ------------------------------------------------------------------------- */

#define TABLE_MAX_COLS 8

/* Rows of escaped cells, printed with columns aligned. */
struct table {
	int ncols;               /* at most TABLE_MAX_COLS */
	const char *const *head; /* column titles (ASCII) */
	const size_t *caps;      /* the widest a cell may be, in columns; 0: no limit */
	char **cells;            /* nrows * ncols escaped cells */
	size_t *widths;          /* the width of each cell in columns */
	size_t nrows, caprows;
	int oom;
};

/* Adds a row of ncols values (NULL shows as "-"); sets t->oom on failure. */
static void table_add(struct table *t, const char *const *vals)
{
	if (t->oom)
		return;
	if (t->nrows == t->caprows) {
		size_t cap = t->caprows ? t->caprows * 2 : 16;
		char **cells = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*cells));
		if (cells == NULL) {
			t->oom = 1;
			return;
		}
		t->cells = cells;
		size_t *widths = realloc(t->widths, cap * (size_t)t->ncols * sizeof(*widths));
		if (widths == NULL) {
			t->oom = 1;
			return;
		}
		t->widths = widths;
		t->caprows = cap;
	}
	size_t base = t->nrows * (size_t)t->ncols;
	for (int i = 0; i < t->ncols; i++) {
		struct sbuf b = { 0 };
		t->widths[base + i] = sb_cell(&b, vals[i] ? vals[i] : "-", t->caps[i]);
		if (sb_str(&b) == NULL || (b.p == NULL && (b.p = calloc(1, 1)) == NULL)) {
			free(b.p);
			for (int j = 0; j < i; j++)
				free(t->cells[base + j]);
			t->oom = 1;
			return;
		}
		t->cells[base + i] = b.p;
	}
	t->nrows++;
}

/* Prints the table on stdout, each line after `indent`. The last column is not padded. */
static void table_print(const struct table *t, const char *indent)
{
	size_t w[TABLE_MAX_COLS] = { 0 };
	assert(t->ncols <= TABLE_MAX_COLS);
	for (int c = 0; c < t->ncols; c++) {
		w[c] = strlen(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++)
			if (t->widths[r * (size_t)t->ncols + c] > w[c])
				w[c] = t->widths[r * (size_t)t->ncols + c];
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		fputs(indent, stdout);
		for (int c = 0; c < t->ncols; c++) {
			const char *s =
			    r == 0 ? t->head[c] : t->cells[(r - 1) * (size_t)t->ncols + c];
			size_t sw = r == 0 ? strlen(s) : t->widths[(r - 1) * (size_t)t->ncols + c];
			fputs(s, stdout);
			if (c + 1 < t->ncols)
				printf("%*s", (int)(w[c] - sw + 2), "");
		}
		fputc('\n', stdout);
	}
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
}

/* Field helpers ---------------------------------------------------------------------- */

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* An integer field as text into buf, or "-". */
static const char *int_of(char buf[32], const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return "-";
	snprintf(buf, 32, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	return buf;
}

/* A UTC millisecond timestamp field as ISO-8601 into buf (with milliseconds if ms), or "-". */
static const char *time_of(char buf[48], const json_t *o, const char *key, int ms)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return "-";
	json_int_t t = json_integer_value(v);
	json_int_t secs = t / 1000, milli = t % 1000;
	if (milli < 0) {
		milli += 1000;
		secs--;
	}
	time_t tt = (time_t)secs;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		return "-";
	size_t n = strftime(buf, 48, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0)
		return "-";
	if (ms)
		snprintf(buf + n, 48 - n, ".%03dZ", (int)milli);
	else
		snprintf(buf + n, 48 - n, "Z");
	return buf;
}

/* Options ------------------------------------------------------------------------------ */

enum opt {
	OPT_DB,
	OPT_URL,
	OPT_TOKEN_FILE,
	OPT_JSON,
	OPT_HELP,
	OPT_DEFINITION,
	OPT_STATUS,
	OPT_STATE,
	OPT_LIMIT,
	OPT_OFFSET,
	OPT_AFTER,
	OPT_NOTE,
	OPT_ID,
	OPT_CORRELATION,
	OPT_COUNT
};

static const struct {
	const char *name;
	int has_arg;
} options[OPT_COUNT] = {
	[OPT_DB] = { "db", 1 },
	[OPT_URL] = { "url", 1 },
	[OPT_TOKEN_FILE] = { "token-file", 1 },
	[OPT_JSON] = { "json", 0 },
	[OPT_HELP] = { "help", 0 },
	[OPT_DEFINITION] = { "definition", 1 },
	[OPT_STATUS] = { "status", 1 },
	[OPT_STATE] = { "state", 1 },
	[OPT_LIMIT] = { "limit", 1 },
	[OPT_OFFSET] = { "offset", 1 },
	[OPT_AFTER] = { "after", 1 },
	[OPT_NOTE] = { "note", 1 },
	[OPT_ID] = { "id", 1 },
	[OPT_CORRELATION] = { "correlation-id", 1 },
};

#define BIT(o)  (1u << (o))
#define COMMON  (BIT(OPT_DB) | BIT(OPT_URL) | BIT(OPT_TOKEN_FILE) | BIT(OPT_JSON) | BIT(OPT_HELP))
#define MAX_POS 3

struct command;

/* One run of a command: its options, arguments and where it works. */
struct cli {
	const struct command *cmd;
	const char *val[OPT_COUNT]; /* an option's argument ("" for a flag); NULL: not given */
	char *pos[MAX_POS];         /* positional arguments */
	int npos;
	const char *db; /* the database file, when not working through a daemon */
	char *url;      /* the daemon's base URL without a trailing '/'; owned */
	int url_env;    /* the URL came from STEWARD_URL */
	char *token; /* the bearer token sent to the daemon (--token-file, STEWARD_TOKEN); owned */
	int curl_ready; /* curl_global_init was called */
	char log[512];  /* the last error the library logged */
};

struct command {
	const char *name;
	const char *synopsis; /* what follows the name in the usage line */
	const char *summary;
	const char *help;        /* the text after the usage line, before the common options */
	const char *const *args; /* names of the positional arguments, all required */
	unsigned opts;           /* BIT(OPT_...) the command accepts */
	int (*run)(struct cli *c);
};

static void usage_error(const struct cli *c, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* Prints "steward CMD: MESSAGE (see 'steward CMD --help')" on stderr. */
static void usage_error(const struct cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "steward %s: ", c->cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'steward %s --help')\n", c->cmd->name);
}

/*
 * Parses argv (argv[0] is the command name) into c: "--name value",
 * "--name=value", "-h", "--" to end the options; anything else is a
 * positional argument. Returns 0, or 2 after printing a usage error.
 */
static int parse_args(struct cli *c, int argc, char **argv)
{
	char eb[SHOWN_CAP];
	int only_pos = 0;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (c->npos == MAX_POS) {
				usage_error(c, "unexpected argument '%s'", shown(eb, a));
				return 2;
			}
			c->pos[c->npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		int o = -1;
		const char *inline_val = NULL;
		if (strcmp(a, "-h") == 0) {
			o = OPT_HELP;
		} else if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			for (int k = 0; k < OPT_COUNT; k++)
				if (strlen(options[k].name) == len &&
				    strncmp(options[k].name, name, len) == 0)
					o = k;
			inline_val = eq ? eq + 1 : NULL;
		}
		if (o < 0 || !(c->cmd->opts & BIT(o))) {
			usage_error(c, "unknown option '%s'", shown(eb, a));
			return 2;
		}
		if (!options[o].has_arg) {
			if (inline_val != NULL) {
				usage_error(c, "option '--%s' takes no argument", options[o].name);
				return 2;
			}
			c->val[o] = "";
		} else if (inline_val != NULL) {
			c->val[o] = inline_val;
		} else if (i + 1 < argc) {
			c->val[o] = argv[++i];
		} else {
			usage_error(c, "option '--%s' needs an argument", options[o].name);
			return 2;
		}
	}
	return 0;
}

/* Reads an integer option in [lo, hi] into *out (def when absent). Returns 0 or 2. */
static int opt_int(const struct cli *c, enum opt o, long long lo, long long hi, long long def,
		   long long *out)
{
	const char *v = c->val[o];
	*out = def;
	if (v == NULL)
		return 0;
	char *end = NULL;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || errno != 0 || n < lo || n > hi) {
		char eb[SHOWN_CAP];
		usage_error(c, "--%s needs an integer from %lld to %lld, not '%s'", options[o].name,
			    lo, hi, shown(eb, v));
		return 2;
	}
	*out = n;
	return 0;
}

/*
 * Checks that a string argument or option fits the engine's limits (not
 * empty, shorter than max bytes). Returns 0 or 2.
 */
static int check_len(const struct cli *c, const char *what, const char *s, size_t max)
{
	if (s == NULL)
		return 0;
	if (*s == '\0') {
		usage_error(c, "%s must not be empty", what);
		return 2;
	}
	if (strlen(s) >= max) {
		usage_error(c, "%s is longer than %zu bytes", what, max - 1);
		return 2;
	}
	return 0;
}

/*
 * Decides where the command works: --url, --db, else STEWARD_URL, else the
 * default database. Returns 0, 1 (out of memory) or 2 (usage error).
 */
static int resolve_target(struct cli *c)
{
	const char *url = c->val[OPT_URL], *db = c->val[OPT_DB];
	char eb[SHOWN_CAP];
	if (url != NULL && db != NULL) {
		usage_error(c, "give either --db or --url, not both");
		return 2;
	}
	if (url == NULL && db == NULL) {
		const char *env = getenv("STEWARD_URL");
		if (env != NULL && *env != '\0') {
			url = env;
			c->url_env = 1;
		}
	}
	if (url == NULL && c->val[OPT_TOKEN_FILE] != NULL) {
		usage_error(c, "--token-file goes with --url (or STEWARD_URL)");
		return 2;
	}
	if (url == NULL) {
		c->db = db ? db : STW_CLI_DEFAULT_DB;
		if (*c->db == '\0') {
			usage_error(c, "--db needs a path");
			return 2;
		}
		return 0;
	}
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
		usage_error(c, "%s must be an http:// or https:// URL, not '%s'",
			    c->url_env ? "STEWARD_URL" : "--url", shown(eb, url));
		return 2;
	}
	c->url = strdup(url);
	if (c->url == NULL) {
		errorf("out of memory");
		return 1;
	}
	size_t n = strlen(c->url);
	while (n > 0 && c->url[n - 1] == '/')
		c->url[--n] = '\0';
	return stw_daemon_token(c->val[OPT_TOKEN_FILE], &c->token);
}

/* The database back end ------------------------------------------------------------------ */

/* The library's log callback: keeps the last error line, for open_reason(). */
static void on_log(enum stw_log_level level, const char *msg, void *ud)
{
	struct cli *c = ud;
	if (level == STW_LOG_ERROR)
		snprintf(c->log, sizeof(c->log), "%s", msg);
}

/* Why the last stw_open failed, from the library's log line ("... : open: WHY"). */
static const char *open_reason(const struct cli *c, int rc)
{
	const char *p = strstr(c->log, ": open: ");
	if (p != NULL)
		return p + 8;
	return stw_strerror(rc);
}

/*
 * Opens c->db: read-only for inspection, or read-write with the voiding
 * example registered (writable) so that commands reach its services. A file
 * that is missing or is not a steward database is refused before anything
 * is written to it: a read-write open would create the schema. Returns 0
 * with *e (close it with stw_close), or 1 after printing why.
 */
static int db_open(struct cli *c, int writable, struct stw_engine **e)
{
	char eb[SHOWN_CAP], rb[SHOWN_CAP * 2];
	const char *path = c->db;
	struct stat st;
	*e = NULL;
	if (strncmp(path, "sqlite:", 7) == 0)
		path += 7;
	if (stat(path, &st) != 0) {
		errorf("cannot open %s: %s", shown(eb, c->db), strerror(errno));
		return 1;
	}
	if (!S_ISREG(st.st_mode)) {
		errorf("cannot open %s: not a regular file", shown(eb, c->db));
		return 1;
	}
	struct stw_options o = { .log = on_log, .log_ud = c, .read_only = 1, .synchronous = -1 };
	int rc = stw_open(c->db, &o, e);
	if (rc == STW_OK && writable) {
		stw_close(*e);
		*e = NULL;
		o.read_only = 0;
		rc = stw_open(c->db, &o, e);
		if (rc == STW_OK && (rc = voiding_register(*e)) != STW_OK) {
			error_text("", stw_errmsg(*e), "");
			stw_close(*e);
			*e = NULL;
			return 1;
		}
	}
	if (rc != STW_OK) {
		errorf("cannot open %s: %s", shown(eb, c->db),
		       rc == STW_ENOTFOUND || strstr(c->log, "not a database") != NULL
			   ? "not a steward database"
			   : shown_n(rb, sizeof(rb), open_reason(c, rc), 100));
		return 1;
	}
	return 0;
}

/* Prints the engine's last failure. Returns 1. */
static int db_fail(struct stw_engine *e, int rc)
{
	const char *m = stw_errmsg(e);
	error_text("", m != NULL && *m != '\0' ? m : stw_strerror(rc), "");
	return 1;
}

/* The HTTP back end ----------------------------------------------------------------------- */

/* An answer of the daemon. */
struct reply {
	long status;
	json_t *json; /* the parsed body, or NULL when it is not JSON */
	struct sbuf body;
	int too_large;
	int token_sent; /* the request carried a bearer token */
};

static void reply_free(struct reply *r)
{
	json_decref(r->json);
	free(r->body.p);
}

/*
 * libcurl's write callback: appends the body to the reply, up to
 * HTTP_MAX_REPLY bytes; past that (or out of memory) it stops the transfer.
 */
static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
	struct reply *r = ud;
	size_t len = size * n;
	if (len > HTTP_MAX_REPLY - r->body.len) {
		r->too_large = 1;
		return 0;
	}
	sb_putn(&r->body, p, len);
	return r->body.oom ? 0 : len;
}

/*
 * Appends s to b as one URL path segment or query value: every byte but
 * ASCII letters, digits, '-', '_' and '~' is percent-encoded ('/' and '.'
 * included, so that an id can never change the path).
 */
static void sb_urlenc(struct sbuf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '~')
			sb_putn(b, (const char *)p, 1);
		else
			sb_printf(b, "%%%02X", *p);
	}
}

/* Appends "&key=value" (or "?key=value" first) when value is not NULL. */
static void sb_query(struct sbuf *b, const char *key, const char *value)
{
	if (value == NULL || b->oom)
		return;
	sb_puts(b, b->p != NULL && strchr(b->p, '?') ? "&" : "?");
	sb_puts(b, key);
	sb_puts(b, "=");
	sb_urlenc(b, value);
}

/*
 * Sends `method` for c->url + path, with `body` (borrowed; NULL: none) as a
 * JSON body, and reads the answer into *r (release it with reply_free),
 * whatever its status. Returns 0 when an answer came, or 1 after printing
 * why none did (unreachable, timed out, too large).
 */
static int http_call(struct cli *c, const char *method, const char *path, const json_t *body,
		     struct reply *r)
{
	char eb[SHOWN_CAP], ub[SHOWN_CAP];
	memset(r, 0, sizeof(*r));
	r->token_sent = c->token != NULL;
	if (!c->curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			errorf("cannot initialise libcurl");
			return 1;
		}
		c->curl_ready = 1;
	}
	struct sbuf url = { 0 };
	sb_puts(&url, c->url);
	sb_puts(&url, path);
	char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
	CURL *h = curl_easy_init();
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	if (hdr != NULL && c->token != NULL) {
		/* libcurl copies the line; ours is wiped at once. */
		char line[STW_TOKEN_MAX + 32];
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->token);
		struct curl_slist *t = curl_slist_append(hdr, line);
		explicit_bzero(line, sizeof(line));
		if (t == NULL) {
			curl_slist_free_all(hdr);
			hdr = NULL;
		}
	}
	if (hdr != NULL && body != NULL) {
		struct curl_slist *t = curl_slist_append(hdr, "Content-Type: application/json");
		if (t != NULL)
			t = curl_slist_append(t, "Expect:");
		if (t == NULL) {
			curl_slist_free_all(hdr);
			hdr = NULL;
		}
	}
	int rc = 1;
	if (h == NULL || hdr == NULL || sb_str(&url) == NULL || (body != NULL && payload == NULL)) {
		errorf("out of memory");
		goto out;
	}
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(h, CURLOPT_URL, url.p);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "steward/" STW_VERSION_STRING);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, HTTP_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload ? payload : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)(payload ? strlen(payload) : 0));
	}
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (r->too_large)
			errorf("the answer of %s is larger than %zu MiB", shown(ub, url.p),
			       HTTP_MAX_REPLY >> 20);
		else
			errorf("cannot reach %s: %s", shown(ub, url.p),
			       shown(eb, err[0] ? err : curl_easy_strerror(cc)));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->body.len > 0) {
		json_error_t jerr;
		r->json = json_loadb(r->body.p, r->body.len, 0, &jerr);
	}
	rc = 0;
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	free(payload);
	free(url.p);
	return rc;
}

/* Prints why the daemon's answer is a failure: its JSON message, or the status. */
static void report_http_error(const struct reply *r)
{
	const char *msg = str_of(r->json, "message");
	const char *code = str_of(r->json, "error");
	char suffix[SHOWN_CAP + 32], cb[SHOWN_CAP];
	if (msg != NULL) {
		snprintf(suffix, sizeof(suffix), " (HTTP %ld%s%s)", r->status, code ? " " : "",
			 code ? shown(cb, code) : "");
		error_text("", msg, suffix);
	} else if (r->status >= 200 && r->status < 300) {
		errorf("the daemon's answer is not a JSON object (HTTP %ld)", r->status);
	} else {
		snprintf(suffix, sizeof(suffix), "the daemon answered HTTP %ld: ", r->status);
		error_text(suffix, r->body.len ? r->body.p : "(no body)", "");
	}
	if (r->status == 401 && r->token_sent)
		errorf("the daemon refused the token of --token-file or STEWARD_TOKEN");
	else if (r->status == 401)
		errorf("the daemon requires a token: give --token-file PATH or set STEWARD_TOKEN");
}

/*
 * Asks the daemon and expects a JSON object with a 2xx status. Returns 0
 * with *out (new), or 1 after printing the daemon's error message.
 */
static int http_json(struct cli *c, const char *method, const struct sbuf *path, const json_t *body,
		     json_t **out)
{
	struct reply r;
	*out = NULL;
	if (sb_str(path) == NULL) {
		errorf("out of memory");
		return 1;
	}
	if (http_call(c, method, path->p, body, &r) != 0)
		return 1;
	int rc = 1;
	if (r.status >= 200 && r.status < 300 && json_is_object(r.json)) {
		*out = r.json;
		r.json = NULL;
		rc = 0;
	} else {
		report_http_error(&r);
	}
	reply_free(&r);
	return rc;
}

/* ps ---------------------------------------------------------------------------------------- */

static int is_status(const char *s)
{
	static const char *const ok[] = { "active", "completed", "failed", "acknowledged",
					  "rejected" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return 1;
	return 0;
}

/* Prints {"instances": [...]} as a table. Returns 0, or 1 when out of memory. */
static int print_instances(const json_t *doc)
{
	static const char *const head[] = { "ID",      "DEFINITION", "STATE", "STATUS",
					    "VERSION", "UPDATED",    "KEY",   "REASON" };
	static const size_t caps[] = { 40, 24, 36, 12, 8, 24, 32, 40 };
	struct table t = { .ncols = 8, .head = head, .caps = caps };
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "instances"), i, o)
	{
		char ver[32], when[48];
		const char *row[8] = {
			str_of(o, "id"),           str_of(o, "definition"),
			str_of(o, "state"),        str_of(o, "status"),
			int_of(ver, o, "version"), time_of(when, o, "updated_at", 0),
			str_of(o, "unique_key"),   str_of(o, "reason"),
		};
		table_add(&t, row);
	}
	int rc = 0;
	if (t.oom) {
		errorf("out of memory");
		rc = 1;
	} else if (t.nrows == 0) {
		fprintf(stderr, "no instances\n");
	} else {
		table_print(&t, "");
	}
	table_free(&t);
	return rc;
}

/* steward ps: lists instances (GET /api/instances, or stw_list_instances). Returns 0, 1 or 2. */
static int cmd_ps(struct cli *c)
{
	long long limit, offset;
	const char *def = c->val[OPT_DEFINITION], *status = c->val[OPT_STATUS],
		   *state = c->val[OPT_STATE];
	if (opt_int(c, OPT_LIMIT, 1, 1000, 50, &limit) ||
	    opt_int(c, OPT_OFFSET, 0, INT_MAX, 0, &offset) ||
	    check_len(c, "--definition", def, STW_MAX_NAME) ||
	    check_len(c, "--state", state, STW_MAX_NAME))
		return 2;
	if (status != NULL && !is_status(status)) {
		usage_error(c, "--status must be one of active, completed, failed, acknowledged, "
			       "rejected");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		sb_printf(&p, "/api/instances?limit=%lld&offset=%lld", limit, offset);
		sb_query(&p, "definition", def);
		sb_query(&p, "status", status);
		sb_query(&p, "state", state);
		rc = http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = db_open(c, 0, &e)) != 0)
			return rc;
		struct stw_instance_filter f = {
			.definition = def,
			.status = status,
			.state = state,
			.limit = (int)limit,
			.offset = (int)offset,
		};
		json_t *arr = NULL;
		int src = stw_list_instances(e, &f, &arr);
		if (src != STW_OK)
			rc = db_fail(e, src);
		else if ((doc = json_pack("{s:o, s:I, s:I}", "instances", arr, "limit",
					  (json_int_t)limit, "offset", (json_int_t)offset)) ==
			 NULL) {
			errorf("out of memory");
			rc = 1;
		}
		stw_close(e);
	}
	if (rc == 0)
		rc = c->val[OPT_JSON] ? print_json(doc, 1) : print_instances(doc);
	json_decref(doc);
	return rc;
}

/* show and ack ---------------------------------------------------------------------------- */

/* Prints "  key        value" with the value escaped. Returns 0, or 1 when out of memory. */
static int print_field(const char *key, const char *value)
{
	struct sbuf b = { 0 };
	sb_cell(&b, value ? value : "-", 0);
	const char *s = sb_str(&b);
	if (s != NULL)
		printf("%-11s %s\n", key, s);
	free(b.p);
	return s == NULL;
}

/* Prints an instance (the answer of GET /api/instances/{id}) for a person. */
static int print_instance(const json_t *o)
{
	char ver[32], created[48], updated[48];
	int oom = print_field("instance", str_of(o, "id")) |
		  print_field("definition", str_of(o, "definition")) |
		  print_field("state", str_of(o, "state")) |
		  print_field("status", str_of(o, "status")) |
		  print_field("version", int_of(ver, o, "version")) |
		  print_field("key", str_of(o, "unique_key")) |
		  print_field("reason", str_of(o, "reason")) |
		  print_field("created", time_of(created, o, "created_at", 1)) |
		  print_field("updated", time_of(updated, o, "updated_at", 1));
	if (oom) {
		errorf("out of memory");
		return 1;
	}
	printf("\ndata:\n");
	json_t *data = json_object_get(o, "data");
	if (print_json(data ? data : json_null(), 1))
		return 1;

	static const char *const hhead[] = { "TIME",       "MESSAGE", "CONTEXT",
					     "FROM -> TO", "OUTCOME", "REASON" };
	static const size_t hcaps[] = { 24, 40, 24, 72, 12, 0 };
	struct table h = { .ncols = 6, .head = hhead, .caps = hcaps };
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(o, "history"), i, r)
	{
		char at[48];
		const char *from = str_of(r, "from"), *to = str_of(r, "to");
		struct sbuf tr = { 0 };
		sb_puts(&tr, from ? from : "(start)");
		sb_puts(&tr, " -> ");
		sb_puts(&tr, to ? to : "(same)");
		const char *row[6] = { time_of(at, r, "at", 1), str_of(r, "message_type"),
				       str_of(r, "context"),    sb_str(&tr),
				       str_of(r, "outcome"),    str_of(r, "reason") };
		if (sb_str(&tr) == NULL)
			h.oom = 1;
		table_add(&h, row);
		free(tr.p);
	}
	static const char *const chead[] = { "TYPE", "CONTEXT", "STATUS", "ERROR" };
	static const size_t ccaps[] = { 40, 24, 12, 0 };
	struct table cm = { .ncols = 4, .head = chead, .caps = ccaps };
	json_array_foreach(json_object_get(o, "commands"), i, r)
	{
		const char *row[4] = { str_of(r, "type"), str_of(r, "context"), str_of(r, "status"),
				       str_of(r, "error") };
		table_add(&cm, row);
	}
	int rc = 0;
	if (h.oom || cm.oom) {
		errorf("out of memory");
		rc = 1;
	} else {
		printf("\nhistory:\n");
		if (h.nrows > 0)
			table_print(&h, "  ");
		else
			printf("  (none)\n");
		printf("\ncommands:\n");
		if (cm.nrows > 0)
			table_print(&cm, "  ");
		else
			printf("  (none)\n");
	}
	table_free(&h);
	table_free(&cm);
	return rc;
}

/* The path of an instance: /api/instances/{id}{suffix}?definition=D. */
static void instance_path(struct sbuf *p, const char *id, const char *suffix, const char *def)
{
	sb_puts(p, "/api/instances/");
	sb_urlenc(p, id);
	sb_puts(p, suffix);
	sb_query(p, "definition", def);
}

/* steward show ID: one instance (GET /api/instances/{id}, or stw_get_instance). 0, 1 or 2. */
static int cmd_show(struct cli *c)
{
	const char *id = c->pos[0], *def = c->val[OPT_DEFINITION];
	if (check_len(c, "ID", id, STW_MAX_ID) || check_len(c, "--definition", def, STW_MAX_NAME))
		return 2;
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		instance_path(&p, id, "", def);
		rc = http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = db_open(c, 0, &e)) != 0)
			return rc;
		int src = stw_get_instance(e, def, id, &doc);
		if (src != STW_OK)
			rc = db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0)
		rc = c->val[OPT_JSON] ? print_json(doc, 1) : print_instance(doc);
	json_decref(doc);
	return rc;
}

/* What ack, cancel and retry do, over HTTP and on the database. */
struct operation {
	const char *path; /* POST /api/instances/ID<path> */
	const char *done; /* printed: "<done> ID: status ..." */
	int (*apply)(struct stw_engine *e, const char *def, const char *id, const char *state,
		     const char *note);
};

static int apply_ack(struct stw_engine *e, const char *def, const char *id, const char *state,
		     const char *note)
{
	(void)state;
	return stw_acknowledge(e, def, id, note);
}

static int apply_cancel(struct stw_engine *e, const char *def, const char *id, const char *state,
			const char *note)
{
	(void)state;
	return stw_cancel(e, def, id, note);
}

static int apply_retry(struct stw_engine *e, const char *def, const char *id, const char *state,
		       const char *note)
{
	return stw_retry(e, def, id, state, note);
}

static const struct operation op_ack = { "/acknowledge", "acknowledged", apply_ack };
static const struct operation op_cancel = { "/cancel", "cancelled", apply_cancel };
static const struct operation op_retry = { "/retry", "retried", apply_retry };

/*
 * steward ack|cancel|retry ID: a person's operation on an instance (POST
 * .../acknowledge|cancel|retry, or the library call on a writable engine);
 * prints the instance after it. Returns 0, 1 or 2.
 */
static int operate(struct cli *c, const struct operation *op)
{
	const char *id = c->pos[0], *def = c->val[OPT_DEFINITION], *note = c->val[OPT_NOTE];
	const char *state = op == &op_retry ? c->val[OPT_STATE] : NULL;
	if (check_len(c, "ID", id, STW_MAX_ID) || check_len(c, "--definition", def, STW_MAX_NAME) ||
	    check_len(c, "--state", state, STW_MAX_NAME))
		return 2;
	if (note != NULL && strlen(note) > 1000) {
		usage_error(c, "--note is longer than 1000 bytes");
		return 2;
	}
	if (op == &op_retry && state == NULL) {
		usage_error(c, "retry needs --state STATE (the state to retry from)");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		instance_path(&p, id, op->path, def);
		json_t *body = json_pack("{s:s?, s:s?}", "note", note, "state", state);
		if (body == NULL) {
			errorf("the note or state is not valid UTF-8, or out of memory");
			rc = 1;
		} else {
			rc = http_json(c, "POST", &p, body, &doc);
		}
		json_decref(body);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = db_open(c, 1, &e)) != 0)
			return rc;
		int src = op->apply(e, def, id, state, note);
		if (src == STW_OK)
			src = stw_get_instance(e, def, id, &doc);
		if (src != STW_OK)
			rc = db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0 && c->val[OPT_JSON]) {
		rc = print_json(doc, 1);
	} else if (rc == 0) {
		struct sbuf b = { 0 };
		sb_puts(&b, op->done);
		sb_puts(&b, " ");
		sb_cell(&b, id, 0);
		sb_puts(&b, ": status ");
		sb_cell(&b, str_of(doc, "status") ? str_of(doc, "status") : "-", 40);
		sb_puts(&b, ", state ");
		sb_cell(&b, str_of(doc, "state") ? str_of(doc, "state") : "-", 80);
		if (sb_str(&b) != NULL)
			printf("%s\n", b.p);
		else {
			errorf("out of memory");
			rc = 1;
		}
		free(b.p);
	}
	json_decref(doc);
	return rc;
}

static int cmd_ack(struct cli *c)
{
	return operate(c, &op_ack);
}

static int cmd_cancel(struct cli *c)
{
	return operate(c, &op_cancel);
}

static int cmd_retry(struct cli *c)
{
	return operate(c, &op_retry);
}

/* events ------------------------------------------------------------------------------------- */

struct events_ctx {
	json_t *arr;
	int64_t last;
	int oom;
};

/* Collects one event as the API shows it (docs/API.md). */
static int collect_event(const struct stw_event *ev, void *ud)
{
	struct events_ctx *c = ud;
	json_t *o = stw_event_json(ev);
	if (o == NULL || json_array_append_new(c->arr, o) != 0) {
		c->oom = 1;
		return 1;
	}
	c->last = ev->position;
	return 0;
}

/* Reads a page of events from the database into the API's document. Returns 0 or 1. */
static int db_events(struct cli *c, const char *context, long long after, long long limit,
		     json_t **doc)
{
	struct stw_engine *e = NULL;
	int rc = db_open(c, 0, &e);
	if (rc != 0)
		return rc;
	int64_t head = 0;
	struct events_ctx ec = { .arr = json_array(), .last = after };
	int src = stw_head(e, context, &head);
	if (src == STW_OK && ec.arr == NULL)
		src = STW_ENOMEM;
	if (src == STW_OK)
		src = stw_read(e, context, after, (int)limit, collect_event, &ec, NULL);
	if (src == STW_OK && ec.oom)
		src = STW_ENOMEM;
	if (src == STW_OK) {
		*doc =
		    json_pack("{s:s, s:I, s:I, s:o}", "context", context, "head", (json_int_t)head,
			      "next_after", (json_int_t)ec.last, "events", ec.arr);
		ec.arr = NULL;
		if (*doc == NULL)
			src = STW_ENOMEM;
	}
	if (src == STW_ENOMEM) {
		errorf("out of memory");
		rc = 1;
	} else if (src != STW_OK)
		rc = db_fail(e, src);
	json_decref(ec.arr);
	stw_close(e);
	return rc;
}

/* Prints one line per event: position, type, stream, correlation id, data. */
static int print_events(const json_t *doc)
{
	static const char *const head[] = { "POS", "TYPE", "STREAM", "CORRELATION", "DATA" };
	static const size_t caps[] = { 20, 40, 40, 40, 0 };
	struct table t = { .ncols = 5, .head = head, .caps = caps };
	size_t i;
	json_t *ev;
	json_array_foreach(json_object_get(doc, "events"), i, ev)
	{
		char pos[32];
		json_t *data = json_object_get(ev, "data");
		char *text = json_dumps(data ? data : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		const char *row[5] = { int_of(pos, ev, "position"), str_of(ev, "type"),
				       str_of(ev, "stream"), str_of(ev, "correlation_id"), text };
		if (text == NULL)
			t.oom = 1;
		table_add(&t, row);
		free(text);
	}
	int rc = 0;
	if (t.oom) {
		errorf("out of memory");
		rc = 1;
	} else if (t.nrows > 0) {
		table_print(&t, "");
	}
	table_free(&t);
	if (rc == 0) {
		json_int_t hd = json_integer_value(json_object_get(doc, "head"));
		json_int_t next = json_integer_value(json_object_get(doc, "next_after"));
		if (i == 0)
			fprintf(stderr,
				"no events after position %" JSON_INTEGER_FORMAT
				" (head %" JSON_INTEGER_FORMAT ")\n",
				next, hd);
		else if (next < hd)
			fprintf(stderr,
				"%" JSON_INTEGER_FORMAT
				" more; next page: --after %" JSON_INTEGER_FORMAT "\n",
				hd - next, next);
	}
	return rc;
}

/* steward events CONTEXT: a page of a context's log. Returns 0, 1 or 2. */
static int cmd_events(struct cli *c)
{
	const char *context = c->pos[0];
	long long after, limit;
	if (check_len(c, "CONTEXT", context, STW_MAX_NAME) ||
	    opt_int(c, OPT_AFTER, 0, LLONG_MAX, 0, &after) ||
	    opt_int(c, OPT_LIMIT, 1, 1000, 100, &limit))
		return 2;
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		sb_puts(&p, "/api/contexts/");
		sb_urlenc(&p, context);
		sb_printf(&p, "/events?after=%lld&limit=%lld", after, limit);
		rc = http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		rc = db_events(c, context, after, limit, &doc);
	}
	if (rc == 0)
		rc = c->val[OPT_JSON] ? print_json(doc, 1) : print_events(doc);
	json_decref(doc);
	return rc;
}

/* send ---------------------------------------------------------------------------------------- */

/* Prints the outcome of a command that was applied. */
static int print_applied(const struct cli *c, const json_t *doc)
{
	if (c->val[OPT_JSON])
		return print_json(doc, 1);
	return print_field("command", str_of(doc, "id")) |
	       print_field("correlation", str_of(doc, "correlation_id")) |
	       print_field("outcome", str_of(doc, "outcome"));
}

/* Prints a refusal (stderr, and the error document on stdout with --json). Returns 1. */
static int print_rejected(const struct cli *c, const char *id, const char *reason)
{
	char ib[SHOWN_CAP], pre[SHOWN_CAP + 32];
	if (c->val[OPT_JSON]) {
		json_t *doc = json_pack("{s:s, s:s, s:s?}", "error", "rejected", "message",
					reason ? reason : "", "id", id);
		if (doc != NULL)
			print_json(doc, 1);
		json_decref(doc);
	}
	snprintf(pre, sizeof(pre), "command %s rejected: ", id ? shown(ib, id) : "?");
	error_text(pre, reason ? reason : "(no reason given)", "");
	return 1;
}

/*
 * steward send CONTEXT TYPE JSON: executes a command (POST .../commands, or
 * stw_execute with the voiding services registered). The JSON argument must
 * be an object (else 2). Returns 0 applied, 1 refused or failed, 2 usage.
 */
static int cmd_send(struct cli *c)
{
	const char *context = c->pos[0], *type = c->pos[1], *arg = c->pos[2];
	const char *id = c->val[OPT_ID], *corr = c->val[OPT_CORRELATION];
	char eb[SHOWN_CAP];
	if (check_len(c, "CONTEXT", context, STW_MAX_NAME) ||
	    check_len(c, "TYPE", type, STW_MAX_NAME) || check_len(c, "--id", id, STW_MAX_ID) ||
	    check_len(c, "--correlation-id", corr, STW_MAX_ID))
		return 2;
	json_error_t jerr;
	json_t *data = json_loads(arg, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (data == NULL) {
		char tb[SHOWN_CAP];
		errorf("JSON argument is not an object: malformed JSON at column %d (%s): '%s'",
		       jerr.column, shown(tb, jerr.text), shown(eb, arg));
		return 2;
	}
	if (!json_is_object(data)) {
		errorf("JSON argument is not an object: '%s'", shown(eb, arg));
		json_decref(data);
		return 2;
	}
	int rc = 1;
	json_t *doc = NULL;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		sb_puts(&p, "/api/contexts/");
		sb_urlenc(&p, context);
		sb_puts(&p, "/commands");
		json_t *body = json_pack("{s:s, s:O, s:s?, s:s?}", "type", type, "data", data, "id",
					 id, "correlation_id", corr);
		struct reply r;
		if (body == NULL || sb_str(&p) == NULL) {
			errorf("an argument is not valid UTF-8, or out of memory");
		} else if (http_call(c, "POST", p.p, body, &r) == 0) {
			if (r.status == 422 && json_is_object(r.json))
				rc = print_rejected(c, str_of(r.json, "id"),
						    str_of(r.json, "message"));
			else if (r.status == 200 && json_is_object(r.json))
				rc = print_applied(c, r.json);
			else
				report_http_error(&r);
			reply_free(&r);
		}
		json_decref(body);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if (db_open(c, 1, &e) == 0) {
			char cmd_id[STW_MAX_ID] = "";
			int src = stw_execute(e, context, type, data, id, corr, cmd_id);
			if (src == STW_EREJECTED) {
				rc = print_rejected(c, cmd_id, stw_errmsg(e));
			} else if (src != STW_OK) {
				rc = db_fail(e, src);
			} else {
				doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", cmd_id,
						"context", context, "type", type, "correlation_id",
						corr ? corr : cmd_id, "outcome", "applied");
				if (doc == NULL)
					errorf("out of memory");
				else
					rc = print_applied(c, doc);
			}
			stw_close(e);
		}
	}
	json_decref(doc);
	json_decref(data);
	return rc;
}

/* commands, redeliver, skip ------------------------------------------------------------------ */

static int is_command_status(const char *s)
{
	static const char *const ok[] = { "pending", "delivered", "rejected", "parked", "skipped" };
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcmp(s, ok[i]) == 0)
			return 1;
	return 0;
}

/* Prints {"commands": [...]} as a table. Returns 0, or 1 when out of memory. */
static int print_commands(const json_t *doc, const char *status)
{
	static const char *const head[] = { "ID",       "CONTEXT", "TYPE", "INSTANCE",
					    "ATTEMPTS", "CREATED", "ERROR" };
	static const size_t caps[] = { 36, 24, 32, 36, 8, 24, 0 };
	struct table t = { .ncols = 7, .head = head, .caps = caps };
	size_t i;
	json_t *o;
	json_array_foreach(json_object_get(doc, "commands"), i, o)
	{
		char n[32], when[48];
		const char *row[7] = { str_of(o, "id"),          str_of(o, "context"),
				       str_of(o, "type"),        str_of(o, "instance_id"),
				       int_of(n, o, "attempts"), time_of(when, o, "created_at", 0),
				       str_of(o, "error") };
		table_add(&t, row);
	}
	int rc = 0;
	if (t.oom) {
		errorf("out of memory");
		rc = 1;
	} else if (t.nrows == 0) {
		fprintf(stderr, "no %s commands\n", status);
	} else {
		table_print(&t, "");
	}
	table_free(&t);
	return rc;
}

/*
 * steward commands: commands by status, parked by default (GET /api/commands,
 * or stw_list_commands). Returns 0, 1 or 2.
 */
static int cmd_commands(struct cli *c)
{
	long long limit;
	const char *status = c->val[OPT_STATUS] ? c->val[OPT_STATUS] : "parked";
	if (opt_int(c, OPT_LIMIT, 1, 1000, 50, &limit))
		return 2;
	if (!is_command_status(status)) {
		usage_error(c, "--status must be one of pending, delivered, rejected, parked, "
			       "skipped");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		sb_printf(&p, "/api/commands?limit=%lld", limit);
		sb_query(&p, "status", status);
		rc = http_json(c, "GET", &p, NULL, &doc);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = db_open(c, 0, &e)) != 0)
			return rc;
		json_t *arr = NULL;
		int src = stw_list_commands(e, status, (int)limit, &arr);
		if (src != STW_OK)
			rc = db_fail(e, src);
		else if ((doc = json_pack("{s:o}", "commands", arr)) == NULL) {
			errorf("out of memory");
			rc = 1;
		}
		stw_close(e);
	}
	if (rc == 0)
		rc = c->val[OPT_JSON] ? print_json(doc, 1) : print_commands(doc, status);
	json_decref(doc);
	return rc;
}

/*
 * steward redeliver|skip ID: a person's decision on a parked command (POST
 * /api/commands/{id}/retry|skip, or the library call). Returns 0, 1 or 2.
 */
static int decide_command(struct cli *c, int skip)
{
	const char *id = c->pos[0], *note = skip ? c->val[OPT_NOTE] : NULL;
	if (check_len(c, "ID", id, STW_MAX_ID))
		return 2;
	if (note != NULL && strlen(note) > 1000) {
		usage_error(c, "--note is longer than 1000 bytes");
		return 2;
	}
	json_t *doc = NULL;
	int rc;
	if (c->url != NULL) {
		struct sbuf p = { 0 };
		sb_puts(&p, "/api/commands/");
		sb_urlenc(&p, id);
		sb_puts(&p, skip ? "/skip" : "/retry");
		json_t *body = json_pack("{s:s?}", "note", note);
		if (body == NULL) {
			errorf("the note is not valid UTF-8, or out of memory");
			rc = 1;
		} else {
			rc = http_json(c, "POST", &p, body, &doc);
		}
		json_decref(body);
		free(p.p);
	} else {
		struct stw_engine *e = NULL;
		if ((rc = db_open(c, 1, &e)) != 0)
			return rc;
		int src = skip ? stw_skip_command(e, id, note) : stw_retry_command(e, id);
		if (src == STW_OK)
			src = stw_get_command(e, id, &doc);
		if (src != STW_OK)
			rc = db_fail(e, src);
		stw_close(e);
	}
	if (rc == 0 && c->val[OPT_JSON]) {
		rc = print_json(doc, 1);
	} else if (rc == 0) {
		char ib[SHOWN_CAP];
		printf("command %s: %s\n", shown(ib, id),
		       skip ? "skipped" : "pending again (delivered on the next round)");
	}
	json_decref(doc);
	return rc;
}

static int cmd_redeliver(struct cli *c)
{
	return decide_command(c, 0);
}

static int cmd_skip(struct cli *c)
{
	return decide_command(c, 1);
}

/* The table of commands ------------------------------------------------------------------------ */

static const char *const id_arg[] = { "ID", NULL };
static const char *const context_arg[] = { "CONTEXT", NULL };
static const char *const send_args[] = { "CONTEXT", "TYPE", "JSON", NULL };

static const struct command commands[] = {
	{ "ps", "[--definition D] [--status S] [--state X] [--limit N] [--offset N]",
	  "list process instances, newest first",
	  "Lists process instances, the most recently updated first: id, definition,\n"
	  "state, status, version, last update (UTC), uniqueness key and reason.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   only instances of definition D (e.g. voiding)\n"
	  "  --status S       only instances with status S: active, completed, failed,\n"
	  "                   acknowledged or rejected\n"
	  "  --state X        only instances in state X\n"
	  "  --limit N        at most N instances, 1 to 1000 (default 50)\n"
	  "  --offset N       skip the first N instances (default 0)\n",
	  NULL,
	  COMMON | BIT(OPT_DEFINITION) | BIT(OPT_STATUS) | BIT(OPT_STATE) | BIT(OPT_LIMIT) |
	      BIT(OPT_OFFSET),
	  cmd_ps },
	{ "show", "ID [--definition D]", "show one instance: data, history and commands",
	  "Shows process instance ID: its state and status, its data, its history (every\n"
	  "message it received: time, type, context, transition, outcome, reason) and the\n"
	  "commands it sent (type, context, delivery status, error).\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n",
	  id_arg, COMMON | BIT(OPT_DEFINITION), cmd_show },
	{ "ack", "ID [--definition D] [--note TEXT]", "acknowledge a failed instance",
	  "Acknowledges the failure of process instance ID: its status becomes\n"
	  "acknowledged (and its state the definition's acknowledgement state), and its\n"
	  "uniqueness key is freed. Only a failed instance can be acknowledged.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded in the history (at most 1000 bytes)\n",
	  id_arg, COMMON | BIT(OPT_DEFINITION) | BIT(OPT_NOTE), cmd_ack },
	{ "cancel", "ID [--definition D] [--note TEXT]", "cancel an active or failed instance",
	  "Cancels process instance ID: its status becomes cancelled, its uniqueness key is\n"
	  "freed and its timers no longer apply. No command is sent. An instance that has\n"
	  "ended cannot be cancelled.\n"
	  "\n"
	  "options:\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded as the reason (at most 1000 bytes)\n",
	  id_arg, COMMON | BIT(OPT_DEFINITION) | BIT(OPT_NOTE), cmd_cancel },
	{ "retry", "ID --state STATE [--definition D] [--note TEXT]",
	  "retry a failed instance from a chosen state",
	  "Retries failed process instance ID from STATE (an active state of its\n"
	  "definition): it becomes active there, and the commands and timers of the first\n"
	  "transition entering STATE are issued again under new ids.\n"
	  "\n"
	  "options:\n"
	  "  --state STATE    the state to retry from (required)\n"
	  "  --definition D   the definition of the instance, when the id exists in several\n"
	  "  --note TEXT      a note recorded in the history (at most 1000 bytes)\n",
	  id_arg, COMMON | BIT(OPT_DEFINITION) | BIT(OPT_NOTE) | BIT(OPT_STATE), cmd_retry },
	{ "events", "CONTEXT [--after N] [--limit N]", "list the events of a context's log",
	  "Lists the events of CONTEXT's log (e.g. Billing or Reports) in order, one per\n"
	  "line: position, type, stream, correlation id and data.\n"
	  "\n"
	  "options:\n"
	  "  --after N        only events after position N (default 0)\n"
	  "  --limit N        at most N events, 1 to 1000 (default 100)\n",
	  context_arg, COMMON | BIT(OPT_AFTER) | BIT(OPT_LIMIT), cmd_events },
	{ "send", "CONTEXT TYPE JSON [--id ID] [--correlation-id ID]",
	  "execute a command against a context's service",
	  "Executes command TYPE with data JSON (an object) against CONTEXT's service now,\n"
	  "and prints the command id and its outcome. A refusal prints the service's reason\n"
	  "and exits 1. A command id that was already handled is not applied again: its\n"
	  "recorded outcome is answered. With --db the voiding example's services run in\n"
	  "this process; a running daemon carries on the processes the events start.\n"
	  "\n"
	  "example:\n"
	  "  steward send Billing IssueDocument \\\n"
	  "      '{\"document_id\": \"doc-1\", \"customer\": \"acme\", \"amount\": 1234}'\n"
	  "\n"
	  "options:\n"
	  "  --id ID              the command id (default: a new random id)\n"
	  "  --correlation-id ID  the correlation id (default: the command id; a command\n"
	  "                       that starts a process names it)\n",
	  send_args, COMMON | BIT(OPT_ID) | BIT(OPT_CORRELATION), cmd_send },
	{ "commands", "[--status S] [--limit N]", "list commands by status (parked by default)",
	  "Lists the commands of the outbox with a status, newest first: id, context,\n"
	  "type, the instance that sent it, attempts, creation time (UTC) and the last\n"
	  "error. Parked commands are those a remote service failed on until their last\n"
	  "attempt: 'steward redeliver ID' or 'steward skip ID' decides.\n"
	  "\n"
	  "options:\n"
	  "  --status S   pending, delivered, rejected, parked (default) or skipped\n"
	  "  --limit N    at most N commands (1..1000, default 50)\n",
	  NULL, COMMON | BIT(OPT_STATUS) | BIT(OPT_LIMIT), cmd_commands },
	{ "redeliver", "ID", "deliver a parked command again",
	  "Makes a parked command pending again with its attempts reset: it is delivered\n"
	  "on the next round, under the same id (the service deduplicates it).\n",
	  id_arg, COMMON, cmd_redeliver },
	{ "skip", "ID [--note TEXT]", "give up a parked command",
	  "Marks a parked command skipped: it is never delivered. The note says why\n"
	  "(for example that the effect was obtained another way).\n"
	  "\n"
	  "options:\n"
	  "  --note TEXT   why (at most 1000 bytes)\n",
	  id_arg, COMMON | BIT(OPT_NOTE), cmd_skip },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int stw_cli_is_command(const char *name)
{
	return name != NULL && find_command(name) != NULL;
}

void stw_cli_summary(FILE *f)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
}

/* Prints a command's usage line, its own help and the options every command takes. */
static void print_help(const struct command *cmd, FILE *f)
{
	fprintf(f,
		"usage: steward %s %s\n       [--db PATH | --url URL [--token-file PATH]] "
		"[--json]\n\n%s",
		cmd->name, cmd->synopsis, cmd->help);
	fputs("\ncommon options:\n"
	      "  --db PATH        work on this database file (default " STW_CLI_DEFAULT_DB ");\n"
	      "                   ps, show and events open it read-only\n"
	      "  --url URL        work through a running daemon's HTTP API instead\n"
	      "                   (default: $STEWARD_URL, e.g. http://127.0.0.1:8080)\n"
	      "  --token-file PATH  with --url: send the bearer token in PATH (default:\n"
	      "                   $STEWARD_TOKEN) to a daemon that requires one\n"
	      "  --json           print the JSON document the HTTP API answers\n"
	      "  -h, --help       show this help\n"
	      "\n"
	      "exit status: 0 success, 1 failure (not found, refused, store or HTTP error),\n"
	      "2 usage error.\n",
	      f);
}

int stw_cli_help(const char *name, FILE *f)
{
	const struct command *cmd = find_command(name);
	if (cmd == NULL) {
		char eb[SHOWN_CAP];
		errorf("no help for unknown command '%s' (see steward --help)", shown(eb, name));
		return 2;
	}
	print_help(cmd, f);
	return 0;
}

int stw_cli_run(int argc, char **argv)
{
	struct cli c = { .cmd = argc > 0 ? find_command(argv[0]) : NULL };
	if (c.cmd == NULL) {
		char eb[SHOWN_CAP];
		errorf("unknown command '%s' (see steward --help)",
		       shown(eb, argc > 0 ? argv[0] : ""));
		return 2;
	}
	int rc = parse_args(&c, argc, argv);
	if (rc != 0)
		return rc;
	if (c.val[OPT_HELP]) {
		print_help(c.cmd, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	int need = 0;
	while (c.cmd->args != NULL && c.cmd->args[need] != NULL)
		need++;
	if (c.npos < need) {
		usage_error(&c, "missing %s", c.cmd->args[c.npos]);
		return 2;
	}
	if (c.npos > need) {
		char eb[SHOWN_CAP];
		usage_error(&c, "unexpected argument '%s'", shown(eb, c.pos[need]));
		return 2;
	}
	rc = resolve_target(&c);
	if (rc == 0)
		rc = c.cmd->run(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		errorf("cannot write the output: %s", strerror(errno));
		if (rc == 0)
			rc = 1;
	}
	free(c.url);
	if (c.token != NULL) {
		explicit_bzero(c.token, strlen(c.token));
		free(c.token);
	}
	if (c.curl_ready)
		curl_global_cleanup();
	return rc;
}
