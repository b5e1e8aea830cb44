/* clocks.h: which of the Legal Aid Law's clocks run for a referral, and
 * when each is due, computed from its history alone (pure; no I/O).
 *
 * review      7 days from receipt (Art 43), paused while awaiting
 *             materials, stopped by a decision, onward referral or end
 * materials   the configured wait for a supplement; when it passes the
 *             application is deemed withdrawn (Art 43 para 2)
 * assignment  3 days from the grant (Art 43)
 * agreement   5 days from assignment, until the service starts
 * objection   5 days from an objection until it is decided (Art 49)
 * Thread-safe. */
#ifndef REF_CLOCKS_H
#define REF_CLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "deadline.h"
#include "lifecycle.h"

typedef struct {
	lc_state_t state;
	uint64_t at_ms;
} clock_step_t;

enum { CLOCK_RUNNING = 1, CLOCK_PAUSED = 2 };

typedef struct {
	const char *name;      /* static: "review", "materials", ... */
	int status;            /* CLOCK_RUNNING or CLOCK_PAUSED */
	uint64_t due_ms;       /* when running */
	int days_left;         /* when paused: whole days still to run */
} clock_info_t;

/* clocks_compute: the clocks running or paused after steps (in order);
 * returns how many were written to out (at most max). */
size_t clocks_compute(const clock_step_t *steps, size_t n,
		      const calendar_t *cal, int materials_wait_days,
		      clock_info_t *out, size_t max);

#endif
