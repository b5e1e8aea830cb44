/* referrald.c: the node daemon. `referrald --data DIR` runs one county's
 * node in the foreground, logging to stderr. SIGHUP reloads the directory;
 * SIGTERM and SIGINT stop it cleanly: the turn in hand is committed, and
 * sockets linger at most [daemon] linger_ms. Exit status: 0 after a clean
 * stop, 1 when it cannot start (the reason is logged), 2 for bad usage,
 * 3 after a fatal store error. */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "log.h"
#include "node.h"

static volatile sig_atomic_t stop_flag, reload_flag;

static void on_stop(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: referrald --data DIR\n"
		   "  Runs this county's referral node from DIR (made by "
		   "refctl init).\n"
		   "  DIR may also come from REFERRAL_DATA.\n"
		   "usage: referrald --settings\n"
		   "  Prints every setting of referrald.conf with its default "
		   "and bounds.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "settings", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *data = getenv("REFERRAL_DATA");
	struct sigaction sa;
	char err[1024];
	node_t *n = NULL;
	int c, r;

	/* Two malloc arenas, not one per thread: the crypto threads share
	 * them with the loop and libzmq's I/O thread. Each arena of its own
	 * kept about 0.4 MB at the node's peak (docs/PERFORMANCE.md). */
	mallopt(M_ARENA_MAX, 2);

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			data = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 's':
			config_print_table(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!data || !*data || optind != argc) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	/* No SA_RESTART: the poll must wake up to see the flag. */
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = node_new(data, &n, err, sizeof(err));
	if (r) {
		log_msg(LOG_ERROR, "node", "cannot start: %s", err);
		return 1;
	}
	r = node_run(n, &stop_flag, &reload_flag);
	node_free(&n);
	return r ? 3 : 0;
}
