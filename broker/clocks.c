/* clocks.c: see clocks.h. Each clock is a small state kept while walking
 * the history; the walk is the whole truth, so a restart or a second node
 * with the same history computes the same clocks. */
#include <string.h>

#include "clocks.h"

typedef struct {
	const char *name;
	int days;
	int status;          /* 0 stopped, running, paused */
	uint64_t start_ms;   /* start of the current running stretch */
	int days_left;       /* days the current stretch may run */
} clk_t;

static void start(clk_t *c, uint64_t at, int days)
{
	c->status = CLOCK_RUNNING;
	c->start_ms = at;
	c->days_left = days;
}

size_t clocks_compute(const clock_step_t *steps, size_t n,
		      const calendar_t *cal, int materials_wait_days,
		      clock_info_t *out, size_t max)
{
	clk_t review = { "review", 7, 0, 0, 0 };
	clk_t materials = { "materials", materials_wait_days, 0, 0, 0 };
	clk_t assign = { "assignment", 3, 0, 0, 0 };
	clk_t agree = { "agreement", 5, 0, 0, 0 };
	clk_t objection = { "objection", 5, 0, 0, 0 };
	clk_t *all[] = { &review, &materials, &assign, &agree, &objection };
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		lc_state_t s = steps[i].state;
		uint64_t at = steps[i].at_ms;

		/* Leaving AWAITING_MATERIALS ends the materials wait. */
		if (s != LC_AWAITING_MATERIALS)
			materials.status = 0;
		switch (s) {
		case LC_RECEIVED:
			if (review.status == CLOCK_PAUSED) {
				review.status = CLOCK_RUNNING;
				review.start_ms = at;
			} else if (!review.status) {
				start(&review, at, review.days);
			}
			break;
		case LC_AWAITING_MATERIALS:
			/* A notice sent after the review fell due does not
			 * pause it: the case stays overdue, not hidden by a
			 * clock that stops and restarts (一次性告知). */
			if (review.status == CLOCK_RUNNING &&
			    at > deadline_due(cal, review.start_ms,
					      review.days_left)) {
				start(&materials, at, materials.days);
				break;
			}
			if (review.status == CLOCK_RUNNING) {
				review.days_left -= deadline_days_used(
					review.start_ms, at);
				if (review.days_left < 0)
					review.days_left = 0;
				review.status = CLOCK_PAUSED;
			}
			start(&materials, at, materials.days);
			break;
		case LC_GRANTED:
			review.status = 0;
			objection.status = 0;
			start(&assign, at, assign.days);
			break;
		case LC_ASSIGNED:
			assign.status = 0;
			start(&agree, at, agree.days);
			break;
		case LC_IN_PROGRESS:
			agree.status = 0;
			break;
		case LC_OBJECTION:
			start(&objection, at, objection.days);
			break;
		case LC_DENIED:
		case LC_REFERRED_ONWARD:
		case LC_UPHELD:
		case LC_WITHDRAWN:
		case LC_CANCELLED:
		case LC_TERMINATED:
		case LC_CLOSED:
		case LC_REVIEWED:
			for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
				all[k]->status = 0;
			break;
		default:
			break;
		}
	}
	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]) && w < max; k++) {
		clk_t *c = all[k];
		if (!c->status)
			continue;
		out[w].name = c->name;
		out[w].status = c->status;
		out[w].days_left = c->days_left;
		out[w].due_ms = c->status == CLOCK_RUNNING
			? deadline_due(cal, c->start_ms, c->days_left) : 0;
		w++;
	}
	return w;
}
