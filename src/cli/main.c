/*
 * main.c - the steward program: `steward demo NAME` runs an example as a
 * daemon with its web page and JSON API, `steward serve` runs plugins
 * (serve.c), and the commands (ps, show, ack, ...; commands.c) inspect and
 * operate a database or a running daemon.
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

#include "check.h"
#include "replay.h"
#include "commands.h"
#include "config.h"
#include "daemon.h"
#include "serve.h"

#define MAX_PAYMENT_TIMEOUT_S 86400 /* demo orders: a day */
#define HTTP_OPT              1000  /* getopt_long's val of the HTTP limits: this + the key */

static void usage(FILE *f)
{
	fputs("usage: steward [--help] [--version] <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  serve          run the definitions of plugins against remote services\n"
	      "                 (--config FILE; see steward serve --help)\n"
	      "  check PLUGIN   check the definitions of plugins before they run (exit 1 on\n"
	      "                 an error; see steward check --help)\n"
	      "  replay         re-run stored instances through new definitions, in memory,\n"
	      "                 and show where they would diverge (see steward replay --help)\n"
	      "  demo voiding   run the document voiding example (seed 000) with its web page\n"
	      "  demo orders    run the restaurant order example (seed 002) with its web page\n"
	      "  demo booking   run the ticket booking example (seed 003) with its web page\n",
	      f);
	stw__cli_summary(f);
	fprintf(f,
		"  help COMMAND   show the options of a command\n"
		"\n"
		"The other commands work on a store (--store STORE, default %s,\n"
		"as for serve and demo voiding) or on a running daemon (--url URL, or\n"
		"STEWARD_URL); --json prints the JSON document of the HTTP API.\n"
		"See steward COMMAND --help.\n",
		STW__CLI_DEFAULT_DB);
	fputs(
	    "\n"
	    "demo options (voiding, orders, booking):\n"
	    "  --store STORE    the store: an SQLite file's path (or sqlite:PATH) or a\n"
	    "                   postgresql:// URL (default steward-NAME.db; --db: its\n"
	    "                   older name)\n"
	    "  --listen ADDR    HTTP address, HOST:PORT, :PORT or PORT with an IPv4 HOST\n"
	    "                   (default 127.0.0.1:8080; off: no server)\n"
	    "  --token-file PATH  require the bearer token in PATH for the API and page\n"
	    "                   (default: $STEWARD_TOKEN; neither: open to everyone)\n"
	    "  --stuck-after SECONDS  an instance that nothing will move is stuck after\n"
	    "                   SECONDS without moving (default 600)\n"
	    "  --accept-contexts LIST  contexts (A,B or *) that take POSTed events although\n"
	    "                   no definition reads them and no service owns them\n"
	    "  --every SECONDS  simulate a document, order or booking every SECONDS\n"
	    "                   (default 5; 0: never)\n"
	    "  --seed N         random seed of the simulator (default: time)\n"
	    "  --for SECONDS    stop after SECONDS (default: until SIGINT/SIGTERM)\n"
	    "  --quiet          do not print events\n"
	    "  --payment-timeout SECONDS  orders: cancel an unpaid order after SECONDS\n"
	    "                   (default 120, the seed's two minutes)\n"
	    "  --payment-window SECONDS  booking: time to pay a confirmed booking (default 60)\n"
	    "  --expire-every SECONDS    booking: period of the expiration process (default 10)\n",
	    f);
	stw__cli_config_http_usage(f);
	fputs("\n"
	      "environment: SLOW_DOWN=1 makes each process step wait 5 s and each service\n"
	      "command 250 ms so a person can watch the states change.\n"
	      "STEWARD_TOKEN=TOKEN requires TOKEN (16 to 1024 visible ASCII characters) like\n"
	      "--token-file.\n",
	      f);
}

static int parse_seconds(const char *opt, const char *arg, double *out)
{
	char *end = NULL;
	double v = strtod(arg, &end);
	if (*arg == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "steward: %s needs a number of seconds >= 0\n", opt);
		return -1;
	}
	*out = v;
	return 0;
}

/* The demos: what each runs, and the store it uses by default (an SQLite file). */
struct demo {
	const char *name;
	const char *store;
	stw__http_setup_fn setup;
	stw__http_route_fn route;
	void (*simulate)(struct stw_engine *e, unsigned *rng, int tick, void *ud);
	const char *const *narrate;
};

static const char *const voiding_contexts[] = { "Billing", "Reports", NULL };
static const char *const orders_contexts[] = { "Orders", "Payments", "Restaurant", NULL };
static const char *const booking_contexts[] = { "Booking", "Tickets", "Payments", NULL };

static const struct demo demos[] = {
	{ "voiding", STW__CLI_DEFAULT_DB, stw__cli_demo_voiding_setup, stw__cli_demo_voiding_route,
	  stw__cli_demo_voiding_simulate, voiding_contexts },
	{ "orders", "steward-orders.db", stw__cli_demo_orders_setup, stw__cli_demo_orders_route,
	  stw__cli_demo_orders_simulate, orders_contexts },
	{ "booking", "steward-booking.db", stw__cli_demo_booking_setup, stw__cli_demo_booking_route,
	  stw__cli_demo_booking_simulate, booking_contexts },
};

/*
 * Reads a demo's flags into *o (and the contexts of --accept-contexts into
 * *acc). Returns -1 to run the demo, or the exit status (--help, a usage error).
 */
static int demo_options(const struct demo *d, int argc, char **argv,
			struct stw__cli_daemon_options *o, struct stw__cli_serve_config *acc)
{
	double payment_timeout = 120, payment_window = 60, expire_every = 10;
	char err[256];
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 'D' },
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "accept-contexts", required_argument, NULL, 'a' },
		{ "stuck-after", required_argument, NULL, 'S' },
		{ "every", required_argument, NULL, 'e' },
		{ "seed", required_argument, NULL, 's' },
		{ "for", required_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "payment-timeout", required_argument, NULL, 'p' },
		{ "payment-window", required_argument, NULL, 'w' },
		{ "expire-every", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		STW__CLI_HTTP_OPTIONS(HTTP_OPT),
		{ NULL, 0, NULL, 0 },
	};
	int c;
	unsigned store_flags = 0; /* 1: --store given, 2: --db (its older name) given */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'D':
		case 'd':
			o->store = optarg;
			store_flags |= c == 'D' ? 1 : 2;
			break;
		case 'l':
			/* "" runs without a server too, like off. */
			if (*optarg != '\0' &&
			    stw__cli_config_listen(optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "steward: --listen: %s\n", err);
				return 2;
			}
			o->listen = optarg;
			break;
		case 'T':
			o->token_file = optarg;
			break;
		case 'a':
			if (stw__cli_config_accept(acc, optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "steward: --accept-contexts: %s\n", err);
				return 2;
			}
			o->accept_contexts = (const char *const *)acc->accept;
			break;
		case 'S': {
			long long s;
			if (stw__cli_config_stuck_after(optarg, &s, err, sizeof(err)) != 0) {
				fprintf(stderr, "steward: --stuck-after: %s\n", err);
				return 2;
			}
			o->stuck_after_ms = s * 1000;
			break;
		}
		case 'e':
			if (parse_seconds("--every", optarg, &o->every))
				return 2;
			break;
		case 'f':
			if (parse_seconds("--for", optarg, &o->run_for))
				return 2;
			break;
		case 's':
			o->seed = (unsigned)strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end) {
				fprintf(stderr, "steward: --seed needs an integer\n");
				return 2;
			}
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'w':
		case 'x':
			if (strcmp(d->name, "booking") != 0) {
				fprintf(stderr, "steward: --%s is an option of demo booking\n",
					c == 'w' ? "payment-window" : "expire-every");
				return 2;
			}
			if (parse_seconds(c == 'w' ? "--payment-window" : "--expire-every", optarg,
					  c == 'w' ? &payment_window : &expire_every))
				return 2;
			if ((c == 'w' ? payment_window : expire_every) < 1) {
				fprintf(stderr, "steward: --%s takes at least 1 second\n",
					c == 'w' ? "payment-window" : "expire-every");
				return 2;
			}
			break;
		case 'p':
			if (strcmp(d->name, "orders") != 0) {
				fprintf(stderr,
					"steward: --payment-timeout is an option of demo orders\n");
				return 2;
			}
			if (parse_seconds("--payment-timeout", optarg, &payment_timeout))
				return 2;
			if (payment_timeout < 1 || payment_timeout > MAX_PAYMENT_TIMEOUT_S) {
				fprintf(stderr,
					"steward: --payment-timeout takes 1 to 86400 seconds\n");
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			if (c >= HTTP_OPT && c < HTTP_OPT + STW__CLI_HTTP_NKEYS) {
				if (stw__cli_config_http_flag(&o->http, c, HTTP_OPT, optarg) != 0)
					return 2;
				break;
			}
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "steward: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (store_flags == 3) {
		fprintf(stderr, "steward: give --store or --db (its older name), not both\n");
		return 2;
	}
	stw__cli_demo_orders_configure((int64_t)(payment_timeout * 1000));
	stw__cli_demo_booking_configure((int64_t)(payment_window * 1000),
					(int64_t)(expire_every * 1000));
	const char *slow = getenv("SLOW_DOWN");
	o->slow = slow != NULL && *slow != '\0' && strcmp(slow, "0") != 0;
	return -1;
}

static int run_demo(const struct demo *d, int argc, char **argv)
{
	struct stw__cli_daemon_options o = {
		.store = d->store,
		.setup = d->setup,
		.route = d->route,
		.simulate = d->simulate,
		.every = 5,
		.seed = (unsigned)time(NULL),
		.narrate = d->narrate,
	};
	struct stw__cli_serve_config acc;
	stw__cli_config_init(&acc);
	int rc = demo_options(d, argc, argv, &o, &acc);
	if (rc < 0)
		rc = stw__cli_daemon_run(&o);
	stw__cli_config_free(&acc);
	return rc;
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
	if (strcmp(argv[1], "help") == 0) {
		if (argc == 2 || strcmp(argv[2], "demo") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[2], "serve") == 0 || strcmp(argv[2], "check") == 0 ||
		    strcmp(argv[2], "replay") == 0) {
			char *help[] = { argv[2], (char *)"--help", NULL };
			return argv[2][0] == 's'   ? stw__cli_serve(2, help)
			       : argv[2][0] == 'c' ? stw__cli_check(2, help)
						   : stw__cli_replay(2, help);
		}
		return stw__cli_help(argv[2], stdout);
	}
	if (stw__cli_is_command(argv[1]))
		return stw__cli_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "serve") == 0)
		return stw__cli_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return stw__cli_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "replay") == 0)
		return stw__cli_replay(argc - 1, argv + 1);
	if (strcmp(argv[1], "demo") == 0) {
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			usage(stdout);
			return 0;
		}
		for (size_t i = 0; argc >= 3 && i < sizeof(demos) / sizeof(demos[0]); i++)
			if (strcmp(argv[2], demos[i].name) == 0)
				return run_demo(&demos[i], argc - 2, argv + 2);
		fprintf(stderr,
			"steward: demo needs an example name: voiding, orders or booking\n");
		return 2;
	}
	/* Reports the unknown command, with control characters escaped. */
	return stw__cli_run(argc - 1, argv + 1);
}
