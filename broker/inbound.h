/* inbound.h: a message from a peer, from the wire to its receipt.
 *
 * Each message on the peer ROUTER is taken within its peer's rate, with
 * the turn's others; they are checked together (envelope_verify, in
 * DESIGN.md's order of checks, on the crypto threads: verifier.h), then
 * each, in the order they came: the dedup table (a
 * msg_id is applied once; the same bytes again are a DUPLICATE) -> this
 * node's own refusals -> applied (a referral, a status change or
 * supplement, a checkpoint, a directory update) -> a signed receipt,
 * queued in the turn and sent only after its commit. Each message is one
 * event: applied whole or not at all; a failure of the store sends no
 * receipt, so the sender resends. Receipts that arrive here go to
 * delivery.c with their check: verified once. Writes no field of the
 * node. */
#ifndef REF_INBOUND_H
#define REF_INBOUND_H

#include "state.h"

/* inbound_read: reads the messages waiting on the peer ROUTER (a turn's
 * worth) and starts their checks on the crypto threads (verifier.h);
 * inbound_handle, later in the same turn and before its commit, waits for
 * the checks and handles each message in the order it came. Nothing that
 * changes what an envelope is checked against (the directory, the pruned
 * horizon) happens between the two. */
void inbound_read(node_t *n);
void inbound_handle(node_t *n);
/* inbound_body_limits: [limits] max_string_bytes and max_list_items on a
 * body of kind: 0, or REF_E_TOO_LARGE with detail naming the field (never
 * its value). */
int inbound_body_limits(node_t *n, uint32_t kind, const uint8_t *body,
			size_t len, char *detail, size_t dlen);

#endif
