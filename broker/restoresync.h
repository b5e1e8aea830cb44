/* restoresync.h: RESTORE_SYNC (kind 10, DESIGN.md "Objection decisions
 * and restore sync"): what a peer holds of a node restored from a backup
 * goes back to it, original bytes, and the restored node applies each
 * message once.
 *
 * The split with checkpoint.c's re-signed resend is by referral: a
 * referral the restored node originated comes back through RESTORE_SYNC
 * (its own signed submits and changes, as the peer holds them, with the
 * peer's receipts, and the peer's changes sent after the backup point);
 * a referral the peer originated is sent again by the peer, signed anew,
 * as before (the restored node lost the submit, which only the peer can
 * stand behind). Nothing is sent twice either way.
 *
 * The restored node checks each inner envelope as an archived one (parse,
 * key valid at its created_at_ms, signature, digest), never the replay
 * window or the transport identity; its own verify with its own key. It
 * reports, in the log and the audit chain, how many audit records past
 * the backup its peers' witnessed checkpoints prove existed and how many
 * messages came back.
 *
 * Writes no field of the node: everything goes to the open turn. */
#ifndef REF_RESTORESYNC_H
#define REF_RESTORESYNC_H

#include "state.h"

/* The restore point a restored node announced ("SEQ TIME_MS"), kept in
 * the store's meta table for the report that follows the peers' syncs. */
#define RESTORESYNC_META_POINT "restore_point"

/* restoresync_answer: peer announced a restore (its chain ends at seq,
 * recorded at at_ms, its clock): queues the RESTORE_SYNC messages that
 * carry what this node holds of it, split under [limits]
 * max_message_bytes. In the open turn. */
int restoresync_answer(node_t *n, const char *peer, uint64_t seq,
		       uint64_t at_ms);
/* restoresync_proof: peer's own checkpoint cp (len bytes, as witnessed
 * here) sent back to it in a RESTORE_SYNC: its chain is behind what we
 * witnessed, with no restore announced (a store rolled back in secret).
 * In the open turn. */
int restoresync_proof(node_t *n, const char *peer, const uint8_t *cp,
		      size_t len);
/* restoresync_receive: a checked RESTORE_SYNC from peer, applied in the
 * open turn. 0 with the receipt's status in *ret_status (and detail), or
 * a store error (then no receipt: the peer resends). Records its own
 * audit events. *ret_rollback (zeroed by the caller) says when the peer's
 * witness proves our chain went further than this store holds with no
 * restore announced: a store rolled back in secret, for the caller to
 * hand to checkpoint_rollback_found. */
typedef struct {
	uint64_t witnessed;  /* 0: none found */
	uint64_t head;       /* our chain's head when it was found */
} restoresync_rollback_t;
int restoresync_receive(node_t *n, const envelope_check_t *c,
			const char *peer, char *detail, size_t dlen,
			int *ret_status, restoresync_rollback_t *ret_rollback);
/* restoresync_window: did this node announce a restore within a message
 * lifetime before now? Then its peers' RESTORE_SYNC is applied, and a
 * peer's change about a referral it originated that is not here (yet) is
 * held for the sync, not refused. */
bool restoresync_window(node_t *n, uint64_t now);
/* restoresync_plan: how restoresync_answer cuts its items (sizes[i]
 * bytes each, in order) into RESTORE_SYNC parts under limit bytes of
 * items, the first part already carrying first bytes (the checkpoint):
 * part_of[i] is item i's part, or RESTORESYNC_KEPT for one too large for
 * any part (it is in none). Returns the number of parts (0: nothing to
 * send). Pure: no node, no store. */
#define RESTORESYNC_KEPT ((size_t)-1)
/* What one RESTORE_SYNC may carry besides its items: the header, the
 * signature, the body's own tags (an item past limit minus this is
 * kept). */
#define RESTORESYNC_OVERHEAD 2048
size_t restoresync_plan(const size_t *sizes, size_t count, size_t first,
			size_t limit, size_t *part_of);
/* restoresync_originated_by: is referral_id one that peer originated (its code is
 * the id's prefix)? Then a restore of peer is answered by RESTORE_SYNC. */
bool restoresync_originated_by(const char *referral_id, const char *peer);

#endif
