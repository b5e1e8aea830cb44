/* quota.h: what one peer may cost this node's store.
 *
 * Every peer's messages received and kept (inbox records and held
 * changes: the envelope bytes) are counted in the store's meta table, in
 * the same turn as the write, so the count is exactly what the store
 * holds. A peer whose count would pass [store] peer_quota_pct of
 * map_max_mb gets no receipt: it resends later, as a rate-limited peer
 * does, and nothing it sent is refused for it. peer_quota_pct is below
 * submit_limit_pct, so one peer never takes the room kept for the other
 * peers' deliveries and for receipts. A peer past quota_warn_pct of its
 * quota shows as nearly full (status, metrics) and is logged once, when
 * it crosses. Whoever deletes an inbox or held record from a peer calls
 * quota_add with the negative size. */
#ifndef REF_QUOTA_H
#define REF_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "state.h"

typedef struct {
	uint64_t held;        /* held changes (count) */
	uint64_t held_bytes;  /* their envelopes' bytes */
	uint64_t stored;      /* all bytes kept from the peer, held included */
} quota_use_t;

/* quota_get: peer's counts (all 0 for a peer not heard from). */
int quota_get(node_t *n, const char *peer, quota_use_t *ret);
/* quota_add: adds the deltas to peer's counts, in the open turn. */
int quota_add(node_t *n, const char *peer, int64_t d_held,
	      int64_t d_held_bytes, int64_t d_stored);
/* quota_limit: one peer's quota in bytes. */
uint64_t quota_limit(const node_t *n);
/* quota_refuses: true if keeping len more bytes from peer would pass its
 * quota (then the message gets no receipt); logged once while it lasts. */
bool quota_refuses(node_t *n, const char *peer, size_t len);
/* quota_start: in the start's turn, counts the inbox's bytes from each
 * peer if this store has never been counted (a store of an older
 * release); *ret_fresh says it did, and then held_start adds the held
 * changes. */
int quota_start(node_t *n, bool *ret_fresh);
/* quota_json: every counted peer's use, quota, whether it is nearly full,
 * and whether it is over (a message of it went unanswered for its quota
 * since this node started, and it has not dropped under since);
 * *ret_nearly: how many are past quota_warn_pct. */
json_t *quota_json(node_t *n, size_t *ret_nearly);

#endif
