/*
 * main.c - the steward program. For now: `steward demo voiding`, which runs
 * the document voiding example on an SQLite file and narrates it in the
 * terminal. The daemon, the web page and the inspection commands build on it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <steward.h>

#include "voiding.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fputs("usage: steward [--help] [--version] <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  demo voiding   run the document voiding example (seed 000) and narrate it\n"
	      "\n"
	      "demo voiding options:\n"
	      "  --db PATH        SQLite database (default steward-voiding.db)\n"
	      "  --every SECONDS  issue a document every SECONDS (default 5; 0: never)\n"
	      "  --seed N         random seed of the simulator (default: time)\n"
	      "  --for SECONDS    stop after SECONDS (default: until SIGINT/SIGTERM)\n"
	      "\n"
	      "environment: SLOW_DOWN=1 slows each step so a person can follow it.\n",
	      f);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested)
		;
}

/* Prints every event appended to a context since *seen. */
struct narrate {
	const char *context;
	int64_t seen;
};

static int print_event(const struct stw_event *ev, void *ud)
{
	struct narrate *n = ud;
	char *data = json_dumps(ev->data, JSON_COMPACT);
	printf("  %-8s #%-5lld %-34s %s  (process %s)\n", ev->context, (long long)ev->position,
	       ev->type, data ? data : "{}", ev->correlation_id ? ev->correlation_id : "-");
	free(data);
	n->seen = ev->position;
	return 0;
}

static int narrate(struct stw_engine *e, struct narrate *n)
{
	int count = 0;
	do {
		int rc = stw_read(e, n->context, n->seen, 100, print_event, n, &count);
		if (rc != STW_OK)
			return rc;
	} while (count == 100);
	return STW_OK;
}

/* One tick of the simulator: issue a document, sometimes void or publish. */
static void simulate(struct stw_engine *e, unsigned *rng, int tick)
{
	static const char *customers[] = { "acme", "globex", "initech" };
	char doc[64];
	snprintf(doc, sizeof(doc), "doc-%d-%u", tick, (unsigned)rand_r(rng) % 100000);
	const char *customer = customers[rand_r(rng) % 3];
	long long amount = 100 + rand_r(rng) % 99900;
	if (voiding_issue_document(e, doc, customer, amount, NULL) != STW_OK)
		fprintf(stderr, "issue %s: %s\n", doc, stw_errmsg(e));
	else
		printf("> IssueDocument %s for %s, %lld.%02lld\n", doc, customer, amount / 100,
		       amount % 100);
	if (tick % 2 == 1) {
		char id[STW_MAX_ID];
		if (voiding_void_document(e, doc, NULL, id) == STW_OK)
			printf("> VoidDocument %s (process %s)\n", doc, id);
	}
	if (tick % 7 == 6) {
		if (voiding_publish_report(e, customer, NULL) == STW_OK)
			printf("> PublishReport %s\n", customer);
	}
}

static int demo_voiding(int argc, char **argv)
{
	const char *db = "steward-voiding.db";
	double every = 5;
	double run_for = 0;
	unsigned seed = (unsigned)time(NULL);
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },   { "every", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' }, { "for", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },       { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'e':
			every = strtod(optarg, &end);
			if (*end || every < 0) {
				fprintf(stderr,
					"steward: --every needs a number of seconds >= 0\n");
				return 2;
			}
			break;
		case 'f':
			run_for = strtod(optarg, &end);
			if (*end || run_for < 0) {
				fprintf(stderr, "steward: --for needs a number of seconds >= 0\n");
				return 2;
			}
			break;
		case 's':
			seed = (unsigned)strtoul(optarg, &end, 10);
			if (*end) {
				fprintf(stderr, "steward: --seed needs an integer\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	int slow = getenv("SLOW_DOWN") && strcmp(getenv("SLOW_DOWN"), "0") != 0;
	struct stw_engine *e = NULL;
	struct stw_options o = { .synchronous = -1 };
	int rc = stw_open(db, &o, &e);
	if (rc != STW_OK) {
		fprintf(stderr, "steward: cannot open %s: %s\n", db, stw_strerror(rc));
		return 1;
	}
	if ((rc = voiding_register(e)) != STW_OK) {
		fprintf(stderr, "steward: %s\n", stw_errmsg(e));
		stw_close(e);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("steward %s: voiding demo on %s (Ctrl-C stops; restarting carries on)\n",
	       stw_version(), db);
	struct narrate billing = { "Billing", 0 }, reports = { "Reports", 0 };
	if (stw_head(e, "Billing", &billing.seen) != STW_OK ||
	    stw_head(e, "Reports", &reports.seen) != STW_OK)
		fprintf(stderr, "steward: %s\n", stw_errmsg(e));
	fflush(stdout);
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	double next_issue = 0;
	int tick = 0;
	while (!stop_requested) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		double t =
		    (double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (run_for > 0 && t >= run_for)
			break;
		if (every > 0 && t >= next_issue) {
			simulate(e, &seed, tick++);
			next_issue = t + every;
		}
		int did = 0;
		rc = stw_run_once(e, &did);
		if (rc != STW_OK) {
			fprintf(stderr, "steward: %s\n", stw_errmsg(e));
			break;
		}
		if (narrate(e, &billing) != STW_OK || narrate(e, &reports) != STW_OK)
			fprintf(stderr, "steward: %s\n", stw_errmsg(e));
		fflush(stdout);
		sleep_ms(did ? (slow ? 1000 : 0) : 100);
	}
	stw_close(e);
	printf("steward: stopped\n");
	return rc == STW_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("steward %s\n", stw_version());
		return 0;
	}
	if (strcmp(argv[1], "demo") == 0) {
		if (argc >= 3 && strcmp(argv[2], "voiding") == 0)
			return demo_voiding(argc - 2, argv + 2);
		fprintf(stderr, "steward: demo needs an example name: voiding\n");
		return 2;
	}
	fprintf(stderr, "steward: unknown command '%s' (see steward --help)\n", argv[1]);
	return 2;
}
