/* outbox.h: a new message of ours: written to the outbox in the open
 * turn, signed with the turn's other new messages at its end, and put on
 * the schedule once the turn has committed.
 *
 * Every envelope this node sends starts here (a referral, a status
 * change, a supplement, a checkpoint, a directory update, one signed anew
 * after its lifetime or a peer's restore). Writes no field of the node:
 * the record goes to the store's open turn, the schedule entry to the
 * turn's queue (dropped with the turn, or with the event's rollback). */
#ifndef REF_OUTBOX_H
#define REF_OUTBOX_H

#include "state.h"

/* outbox_put: an envelope of kind about referral_id (seq) with body,
 * to `to`, created at now, with the schedule's priority. ret_msg_id (may
 * be NULL) gets its msg_id, ret_len (may be NULL) its size. 0, -errno, a
 * store error, or REF_E_TOO_LARGE over [limits] max_message_bytes
 * (nothing written then). */
int outbox_put(node_t *n, const char *to, uint32_t kind,
	       const char *referral_id, uint64_t seq, const uint8_t *body,
	       size_t blen, uint32_t priority, uint64_t now,
	       uint8_t ret_msg_id[16], size_t *ret_len);
/* outbox_receipt: a RECEIPT with body, to `to`, for the message stored
 * in the open turn's event under inbox_id; *ret is its unsigned
 * placeholder, for that inbox record. The caller queues the peer's reply
 * with turn_reply_awaiting(seal_id = inbox_id): outbox_seal_turn signs the
 * receipt with the turn's batch and puts it in both. */
int outbox_receipt(node_t *n, const char *to, const char *referral_id,
		   const uint8_t *body, size_t blen, uint64_t now,
		   const uint8_t inbox_id[16], uint8_t **ret, size_t *ret_len);
/* outbox_seal_turn: signs every message outbox_put made in the open turn,
 * with one signature per batch (DESIGN.md's batch form; the single form
 * for one), and writes each envelope over its unsigned placeholder.
 * The loop calls it before every commit (node.c): nothing unsigned is
 * ever committed. On failure the turn must be aborted. 0 or an error. */
int outbox_seal_turn(node_t *n);
/* outbox_drop_drafts: forgets the open turn's drafts (the turn was
 * aborted: their placeholders are gone with it). */
void outbox_drop_drafts(node_t *n);
/* outbox_put_msg: the same with body a message (packed here), created at
 * `at` (0: now). */
int outbox_put_msg(node_t *n, const char *to, uint32_t kind,
		   const char *referral_id, uint64_t seq,
		   const ProtobufCMessage *body, uint32_t priority, uint64_t at);
/* outbox_node_level: a node-level message (no referral, seq 0) to `to`. */
int outbox_node_level(node_t *n, const char *to, uint32_t kind,
		      const ProtobufCMessage *body, uint32_t priority,
		      uint64_t at);
/* outbox_resign: a new envelope with ob's kind, referral, seq and body,
 * created now (ret_hex: its msg_id). */
int outbox_resign(node_t *n, const Referral__Store__V1__OutboxRecord *ob,
		  uint64_t now, char ret_hex[33]);
/* outbox_holds_receipt: whether ob was decided by a receipt: its own
 * bytes, or a RECEIPT_BATCH kept once in the receipts table. */
static inline bool outbox_holds_receipt(
	const Referral__Store__V1__OutboxRecord *ob)
{
	return ob->receipt.len || ob->receipt_batch.len == 16;
}
/* outbox_receipt_at: when the peer received ob (its receipt's
 * received_at_ms, in the peer's clock), or 0 when ob holds no receipt. */
uint64_t outbox_receipt_at(const Referral__Store__V1__OutboxRecord *ob);
/* outbox_receipt_envelope: the receipt envelope that decided ob, as
 * received: its own, or the RECEIPT_BATCH it was an entry of (kept once,
 * in the receipts table). *ret malloc'd. 0, REF_E_NOT_FOUND (ob holds no
 * receipt) or a store error. */
int outbox_receipt_envelope(node_t *n,
			    const Referral__Store__V1__OutboxRecord *ob,
			    uint8_t **ret, size_t *ret_len);

#endif
