/* dues.h: which referrals' clocks may have moved since the deadline sweep
 * last looked, and when the earliest clock it saw still running passes.
 *
 * A referral's clocks follow from its history, the calendar and the
 * settings alone, and the history only changes with a write of the
 * referral's record. So after one sweep of every open referral, the next
 * check need only read the referrals written since, until the earliest
 * clock the sweep saw comes due; then (or once more were written than the
 * list keeps, or a turn was undone) the whole store is swept again. A
 * store of 100,000 open referrals read in full at every check held each
 * loop turn for milliseconds and was most of a paced referral's time.
 * Writes the node's dues fields only; the loop's thread only. */
#ifndef REF_DUES_H
#define REF_DUES_H

#include "state.h"

/* dues_touch: referral id's record was written in the open turn. */
void dues_touch(node_t *n, const char *id);
/* dues_forget: the open turn was undone: what a sweep read in it may
 * never have been stored, so the next check sweeps everything. */
void dues_forget(node_t *n);
/* dues_sweep_whole: whether the next check must read every referral (at
 * the start, when the earliest clock seen is due by now, after a
 * dues_forget or a list that grew past its bound). */
bool dues_sweep_whole(const node_t *n, uint64_t now);
/* dues_sweep_started / dues_sweep_done: a whole sweep begins (what was
 * written before it, it reads) / ends. */
void dues_sweep_started(node_t *n);
void dues_sweep_done(node_t *n);
/* dues_take: up to max of the referrals written since, taken off the
 * list (oldest first) into ret; dues_seen: a referral read (by a whole
 * sweep, or again) had its earliest running clock at next_ms
 * (UINT64_MAX: none). */
size_t dues_take(node_t *n, char (*ret)[48], size_t max);
void dues_seen(node_t *n, uint64_t next_ms);
size_t dues_pending(const node_t *n);
void dues_free(node_t *n);

#endif
