/* fault-submit.c: the load of the fault suite. Submits applications to a
 * node through libreferral, one after another, and appends a line
 * "REFERRAL_ID PRIORITY" to OUT for every submission the node
 * acknowledged (ref_submit returned 0: committed and synced). A failure
 * (the node killed, restarting) is not acknowledged and not written; the
 * driver waits a little and goes on. The fault tests then check that every
 * acknowledged referral arrived exactly once.
 *
 *   fault-submit DATA TO COUNT OUT ORDINARY.json GREEN.json URGENT.json
 *                [URGENT_EVERY [GREEN_EVERY [STOP_FILE]]]
 * COUNT 0 means: until STOP_FILE exists. Test-only: never installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "referral.h"
#include "util.h"

static char *slurp(const char *path)
{
	uint8_t *b;
	size_t n;

	if (util_read_file(path, 1 << 20, &b, &n)) {
		fprintf(stderr, "fault-submit: cannot read %s\n", path);
		exit(2);
	}
	return (char *)b;
}

int main(int argc, char **argv)
{
	const char *stop;
	char *apps[3];
	long count, urgent_every, green_every, acked = 0, failed = 0, in_row = 0;
	long pace;
	uint64_t last_ok = util_mono_ms();
	ref_client_t *c = NULL;
	FILE *out;
	struct stat st;

	if (argc < 8) {
		fprintf(stderr, "usage: fault-submit DATA TO COUNT OUT ORDINARY "
			"GREEN URGENT [URGENT_EVERY [GREEN_EVERY [STOP_FILE]]]\n");
		return 2;
	}
	count = atol(argv[3]);
	apps[0] = slurp(argv[5]);
	apps[1] = slurp(argv[6]);
	apps[2] = slurp(argv[7]);
	urgent_every = argc > 8 ? atol(argv[8]) : 0;
	green_every = argc > 9 ? atol(argv[9]) : 0;
	stop = argc > 10 ? argv[10] : NULL;
	/* FAULT_PACE_MS: a pause after each acknowledged submission, so a
	 * long soak's store stays of a size a start checks quickly. */
	pace = getenv("FAULT_PACE_MS") ? atol(getenv("FAULT_PACE_MS")) : 0;
	out = fopen(argv[4], "a");
	if (!out)
		return 2;
	for (long i = 0; count ? i < count : !(stop && stat(stop, &st) == 0);
	     i++) {
		int prio = urgent_every && i % urgent_every == urgent_every - 1 ? 2
			 : green_every && i % green_every == green_every - 1 ? 1
			 : 0;
		char *id = NULL;
		int r;

		/* A node that stays away 30 s (stopped by a fault, not
		 * restarted) ends the load rather than hang the test. */
		if (in_row && util_mono_ms() - last_ok > 30000) {
			fprintf(stderr, "fault-submit: the node has not answered "
				"for 30 s; stopping\n");
			break;
		}
		if (!c && ref_open(argv[1], 2000, &c)) {
			usleep(50000);
			in_row++;
			i--;
			continue;
		}
		r = ref_submit(c, argv[2], apps[prio], NULL, "fault-load", &id);
		if (r) {
			/* Not acknowledged: may or may not have been stored;
			 * never counted. A new client, in case the node is
			 * another process now. */
			failed++;
			in_row++;
			ref_close(&c);
			usleep(50000);
			if (count)
				i--;
			continue;
		}
		in_row = 0;
		last_ok = util_mono_ms();
		fprintf(out, "%s %d\n", id, prio);
		fflush(out);
		free(id);
		acked++;
		if (pace > 0 && count == 0) /* continuous loads only */
			usleep((useconds_t)pace * 1000);
	}
	ref_close(&c);
	fclose(out);
	for (int k = 0; k < 3; k++)
		free(apps[k]);
	printf("fault-submit: %ld acknowledged, %ld not\n", acked, failed);
	return 0;
}
