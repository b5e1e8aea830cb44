/* delivery.h: getting what we sent to where it goes: attempts with
 * backoff and jitter, the receipts that settle them, and dead letters.
 *
 * A message is resent unchanged (same bytes, same msg_id) until a signed
 * receipt arrives or its lifetime ends; then it is dead, for an admin to
 * see and requeue (a status change is signed anew under the same seq at
 * once, so the referral's sequence has no gap). A peer known down costs no
 * disk until it answers; when it does, its whole backlog is due at once,
 * by priority. Receipts arrive on the peer's DEALER (checked here, a
 * peer's waiting ones together through verifier.h) or on the peer ROUTER
 * (checked by inbound.c): each is verified once.
 *
 * Writes the node's store_nudge, and the schedule and peers through
 * their own functions. */
#ifndef REF_DELIVERY_H
#define REF_DELIVERY_H

#include <zmq.h>

#include "state.h"

/* The delivery latency histogram's upper bounds (ms); one more bucket
 * counts what is above the last. */
extern const uint64_t delivery_latency_le[DELIVERY_LATENCY_BUCKETS];

/* delivery_load: the pending messages of the outbox onto the schedule. */
int delivery_load(node_t *n);
/* delivery_run: attempts what is due now (at most a turn's worth). */
void delivery_run(node_t *n);
/* delivery_read: reads the receipts waiting on the peers' DEALERs (items
 * from index first, one per peer, as the loop polled them; a turn's worth
 * each) and starts their checks on the crypto threads (verifier.h);
 * delivery_handle, later in the same turn and before its commit, waits
 * for them and applies each in the order it came. */
void delivery_read(node_t *n, zmq_pollitem_t *items, size_t first);
void delivery_handle(node_t *n);
/* delivery_receipt: a receipt (or receipt batch) whose envelope checked
 * passed envelope_verify: each receipt settles the message it names. */
void delivery_receipt(node_t *n, const envelope_check_t *checked,
		      const uint8_t *buf, size_t len, const char *peer);
/* delivery_receipt_rejected: a receipt that failed its checks: audited and
 * logged, never answered. */
void delivery_receipt_rejected(node_t *n, const envelope_check_t *c,
			       const char *peer, int status);
/* delivery_nudge: a store at its map limit gets a one-page write, so the
 * next turn can use the pages the last ones freed. */
void delivery_nudge(node_t *n);
/* delivery_requeue: refctl requeue: dead messages signed anew. */
int delivery_requeue(node_t *n, const Referral__Local__V1__Request *req,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* delivery_list_dead: refctl list --dead. */
int delivery_list_dead(node_t *n, Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen);

#endif
