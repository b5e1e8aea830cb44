/* retention.h: how long a referral's personal data is kept, and its end.
 *
 * A referral in a final state (CLOSED, TERMINATED, UPHELD: after
 * [retention] days_after_closed; DENIED, WITHDRAWN, CANCELLED,
 * REFERRED_ONWARD: after days_after_refused) is purged: the envelopes
 * that carried it (outbox and inbox) lose their bytes, its held changes
 * go, and each history step keeps only its states, who, when and the
 * message id (reasons, reports, assignments and missing items go). The
 * referral record (id, states, times, digests in the audit chain) stays,
 * so the audit chain, its checkpoints and exports still verify.
 *
 * Never purged: a referral with an open objection (OBJECTION, or any
 * state not final), one under a legal hold (legal-hold set/clear, admin,
 * audited), one with a message about it still being delivered.
 *
 * A purge rotates the data key (keys_rotate_data: refctl purge in its
 * own turn; the node's own purge once at the end of a cycle, owed in the
 * store's meta from each batch's turn to the rotation's, so a stop in
 * between makes the next start rotate): the
 * records that remain are sealed again under the new key, and the old
 * keys are dropped from the key file once that is done, so what the
 * purged records left in LMDB's free pages is ciphertext under keys the
 * node no longer holds.
 *
 * Writes only the store's retention table and its meta key
 * purge_rotation_owed, through the open turn; the key ring through
 * keys.c. */
#ifndef REF_RETENTION_H
#define REF_RETENTION_H

#include "state.h"

/* retention_step: the node's own purge, from the loop's housekeeping: at
 * most [retention] purge_batch expired referrals in the open turn, found
 * by a walk of the referrals that goes on turn by turn; at the walk's
 * end one data-key rotation for the whole cycle. A rotation owed by a
 * cycle a stop cut short is made first, in its own turn. Never while a
 * re-seal is under way. */
void retention_step(node_t *n);

/* retention_owner: the store's owner function (store_set_owner): the
 * referral an outbox, inbox, history or held record belongs to, so that
 * it is sealed under that referral's own key; none once the referral is
 * purged (what remains is sealed under the ring). */
size_t retention_owner(store_t *s, store_table_t t, const uint8_t *key,
		       size_t klen, const uint8_t *val, size_t vlen, char *out,
		       size_t cap);

/* What a caller without the admin role is told (and the refusal is
 * audited). */
#define RETENTION_REFUSED "purging personal data, and legal holds, need " \
	"the admin role at this node ([roles] admins); the refusal is recorded"

/* The named operations (control.c's table; admin, local only):
 * "purge" {before: "YYYY-MM-DD" or RFC 3339, dry_run: bool},
 * "legal-hold-set" {reason} and "legal-hold-clear" for the referral id,
 * "legal-hold-list". */
int retention_call(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
