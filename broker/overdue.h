/* overdue.h: the deadline sweep, and the list of what is due.
 *
 * Every [deadlines] deadline_check_ms the loop sweeps the open referrals'
 * running clocks (computed from each history by clocks.c): a passed one
 * is audited and logged once per clock run; a passed materials wait
 * withdraws the application at the receiver (Art 43 para 2), sent to the
 * origin like any move. Each referral is its own event. Writes the
 * node's sweep fields (overdue_*) only. */
#ifndef REF_OVERDUE_H
#define REF_OVERDUE_H

#include "state.h"

/* overdue_check: a look at the clocks is due (at each [deadlines]
 * deadline_check_ms): a sweep of every open referral the first time, when
 * the earliest running clock the last one saw is due, or after an undone
 * turn; otherwise only the written referrals their write could not
 * settle (dues.h). overdue_step
 * walks it, SWEEP_STEP referrals a turn, so a large store never holds the
 * loop. */
void overdue_check(node_t *n);
/* overdue_step: the next part of the sweep, in the open turn. */
void overdue_step(node_t *n);
/* overdue_list: refctl overdue: clocks past due or due within 24 h. */
int overdue_list(node_t *n, Referral__Local__V1__Reply *rep);

#endif
