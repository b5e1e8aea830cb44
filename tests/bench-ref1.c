/* bench-ref1.c: REF-1's driver (scripts/bench.sh, docs/PERFORMANCE.md).
 *
 *   bench-ref1 DATA_DIR TO_CODE COUNT [WINDOW [RATE [IDS_FILE]]]
 *
 * Submits COUNT copies of the sample application (about 1 KiB) to the node
 * in DATA_DIR, for TO_CODE, through libreferral's pipe: at most WINDOW
 * (default 1000) submitted and not yet acknowledged, each acknowledged
 * after the node's synced commit. RATE 0 (the default) submits as fast as
 * the window allows; RATE N paces the submissions at N a second, open
 * loop: each is due at its own time from the start, and one that falls
 * late goes at once, so every one is counted. IDS_FILE, if given, gets one
 * line per submission, "REFERRAL_ID SEND_MS" (the wall clock, in ms with
 * a fraction), which bench.sh joins with the node's receipts.
 *
 * Prints one line: how many were acknowledged, in how long, and how many
 * were refused (with the first refusal's reason). Exit 0 only if every
 * submission was acknowledged. Asserts nothing about time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "application.h"
#include "referral.h"
#include "util.h"

static double wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

struct run {
	double *sent;    /* wall ms, by tag */
	char (*ids)[48]; /* the referral id, by tag */
	long ok, refused;
	char first_refusal[600];
};

static void take(struct run *run, const ref_pipe_done_t *d)
{
	if (d->code) {
		if (!run->refused++)
			snprintf(run->first_refusal, sizeof(run->first_refusal),
				 "%s (%s)", d->error, ref_strerror(d->code));
		return;
	}
	run->ok++;
	snprintf(run->ids[d->tag], sizeof(run->ids[0]), "%s", d->referral_id);
}

int main(int argc, char **argv)
{
	ref_client_t *c = NULL;
	ref_pipe_t *p = NULL;
	ref_pipe_done_t d;
	struct run run = { 0 };
	uint8_t *body = NULL;
	size_t blen;
	long count, window, rate;
	double t0, t1;

	if (argc < 4) {
		fprintf(stderr, "usage: bench-ref1 DATA_DIR TO_CODE COUNT "
			"[WINDOW [RATE [IDS_FILE]]]\n");
		return 2;
	}
	count = atol(argv[3]);
	window = argc > 4 ? atol(argv[4]) : 1000;
	rate = argc > 5 ? atol(argv[5]) : 0;
	if (count < 1 || window < 1 || window > 100000 || rate < 0) {
		fprintf(stderr, "bench-ref1: COUNT >= 1, WINDOW 1 to 100000, "
			"RATE >= 0\n");
		return 2;
	}
	run.sent = calloc((size_t)count, sizeof(*run.sent));
	run.ids = calloc((size_t)count, sizeof(*run.ids));
	if (!run.sent || !run.ids)
		return 1;
	/* A node killed mid-run (tests/fault) answers after its restart:
	 * unanswered requests go again every 3 s until it does. */
	if (ref_open(argv[1], 3000, &c) ||
	    ref_pack_application(c, application_example(), NULL, &body, &blen) ||
	    ref_pipe_open(c, (unsigned)window, &p)) {
		fprintf(stderr, "bench-ref1: %s\n", c ? ref_last_error(c) : "no client");
		return 1;
	}
	t0 = mono_ms();
	for (long i = 0; i < count; i++) {
		if (rate) {
			double due = t0 + (double)i * 1000.0 / (double)rate;
			while (mono_ms() < due)
				if (!ref_pipe_next(p, (int)(due - mono_ms()) + 1, &d))
					take(&run, &d);
		}
		run.sent[i] = wall_ms();
		/* Waits (taking answers) while the window is full; a node
		 * that answers nothing for the timeout only delays it: the
		 * pipe keeps sending again. */
		for (;;) {
			int r = ref_pipe_submit_packed(p, argv[2], body, blen,
						       "bench", (uint64_t)i);
			if (!r)
				break;
			if (r != REF_E_UNAVAILABLE) {
				fprintf(stderr, "bench-ref1: %s\n",
					ref_strerror(r));
				return 1;
			}
		}
		while (!ref_pipe_next(p, 0, &d))
			take(&run, &d);
	}
	while (run.ok + run.refused < count)
		if (!ref_pipe_next(p, 1000, &d))
			take(&run, &d);
	t1 = mono_ms();
	printf("acknowledged %ld of %ld in %.2f s (%.0f/s), window %ld, %s; "
	       "refused %ld%s%s\n", run.ok, count, (t1 - t0) / 1e3,
	       (double)run.ok * 1e3 / (t1 - t0), window,
	       rate ? "paced" : "as fast as acknowledged", run.refused,
	       run.refused ? ": " : "", run.first_refusal);
	if (argc > 6) {
		FILE *f = fopen(argv[6], "w");

		if (!f) {
			perror(argv[6]);
			return 1;
		}
		for (long i = 0; i < count; i++)
			if (run.ids[i][0])
				fprintf(f, "%s %.3f\n", run.ids[i], run.sent[i]);
		fclose(f);
	}
	ref_pipe_close(&p);
	ref_close(&c);
	free(body);
	free(run.sent);
	free(run.ids);
	return run.ok == count ? 0 : 1;
}
