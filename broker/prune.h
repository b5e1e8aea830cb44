/* prune.h: the dedup table (`seen`) kept bounded.
 *
 * A message id stays in `seen` only while a replay of the message could
 * still get past the replay window. envelope_verify refuses a message
 * created more than [delivery] message_lifetime_ms ago as STALE, before
 * the dedup check, so once created_at_ms + message_lifetime_ms +
 * future_skew_ms is past, the entry can no longer change an answer and
 * goes. The extra future_skew_ms is a margin for this node's own clock
 * being stepped back. Records of an older release carry no created_at_ms;
 * they age from received_at_ms + future_skew_ms, which is never earlier
 * than the creation time of a message that was accepted (it may be at
 * most future_skew_ms ahead of this node's clock).
 *
 * The work is done in small steps inside the loop's turns, in their own
 * event: each step looks at up to 4 x [store] seen_prune_batch records
 * from where the last step stopped and deletes at most seen_prune_batch
 * of them. A pass over the whole table is followed by a pause of
 * [deadlines] deadline_check_ms. An aborted turn loses only that step's
 * deletes: the next pass finds them again.
 *
 * The newest message time pruned is kept in the store (meta
 * "seen_pruned_through") and any message created at or before it is
 * refused STALE (prune_policy): so raising message_lifetime_ms later can
 * never let a message whose entry is gone be applied again.
 *
 * Writes: prune_from, prune_from_set, prune_next_ms, prune_passes,
 * prune_deleted, prune_horizon_ms (state.h). */
#ifndef REF_PRUNE_H
#define REF_PRUNE_H

#include "state.h"

/* prune_seen_due: whether a seen record can go at now_ms (pure; also
 * used by the unit test). lifetime_ms and skew_ms are the node's
 * [delivery] settings. */
bool prune_seen_due(const Referral__Store__V1__SeenRecord *sr, uint64_t now_ms,
		    uint64_t lifetime_ms, uint64_t skew_ms);
/* prune_open: reads the pruned horizon from the store, at a start. */
int prune_open(node_t *n);
/* prune_policy: narrows a peer message policy's replay window so that a
 * message created at or before the pruned horizon is STALE. */
void prune_policy(node_t *n, envelope_policy_t *pol);
/* prune_step: one bounded step, in the open turn (node.c's turn()). */
void prune_step(node_t *n);
/* prune_status: the dedup table's figures for `refctl status`: entries
 * held, entries pruned and passes completed since the start (new JSON
 * object; NULL without memory). */
json_t *prune_status(node_t *n);

#endif
