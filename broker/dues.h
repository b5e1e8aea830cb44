/* dues.h: which referrals' clocks may have moved since the deadline sweep
 * last looked, and when the earliest clock it saw still running passes.
 *
 * A referral's clocks follow from its history, the calendar and the
 * settings alone, and the history only changes with a write of the
 * referral's record. So after one sweep of every open referral, only a
 * write can bring a clock nearer: the write works out the record's clocks
 * from its summary of its steps and keeps the earliest, and the next check
 * reads only what it could not settle (a record without the summary, a
 * clock already passed), until the earliest clock seen comes due; then
 * (or once more were listed than the list keeps, or a turn was undone)
 * the whole store is swept again. A store of 100,000 open referrals read
 * in full at every check held each loop turn for milliseconds and was
 * most of a paced referral's time; so was reading every written one again
 * at 1,000 a second, whose list overflowed into a whole sweep.
 * Writes the node's dues fields only; the loop's thread only. */
#ifndef REF_DUES_H
#define REF_DUES_H

#include "clocks.h"
#include "state.h"

/* dues_written: rr is written in the open turn. Its clocks are worked out
 * here from the record's summary of its steps (history.h): if none has
 * passed unreported, only its earliest running clock is kept (dues_seen),
 * and nothing is read again later. A record without a summary, or with a
 * clock already due, goes on the list (dues_touch) for the next check. */
void dues_written(node_t *n, const referral_rec_t *rr);
/* dues_touch: referral id's record was written in the open turn; the next
 * check reads it again. */
void dues_touch(node_t *n, const char *id);
/* dues_tag / dues_reported: the tag under which a clock's passing is
 * reported once per run of it (the clock, the step it ran from, the
 * materials round), and whether rr has reported it. */
void dues_tag(const referral_rec_t *rr, const char *clock, char *out,
	      size_t len);
bool dues_reported(const referral_rec_t *rr, const char *clock);
/* dues_next: of rr's clocks ck (nc of them), the earliest running one not
 * reported that is still to pass at now (UINT64_MAX: none); *ret_passed
 * if a running one not reported has passed. */
uint64_t dues_next(const referral_rec_t *rr, const clock_info_t *ck,
		   size_t nc, uint64_t now, bool *ret_passed);
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
/* dues_take: up to max of the listed referrals (dues_touch), taken off the
 * list (oldest first) into ret; dues_seen: a referral read (by a whole
 * sweep, or again) had its earliest running clock at next_ms
 * (UINT64_MAX: none). */
size_t dues_take(node_t *n, char (*ret)[48], size_t max);
void dues_seen(node_t *n, uint64_t next_ms);
size_t dues_pending(const node_t *n);
void dues_free(node_t *n);

#endif
