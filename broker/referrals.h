/* referrals.h: a referral's record, its history, and the moves that
 * change it, on either side.
 *
 * The receiving node is the one writer of a referral's history: it
 * applies its own moves and the origin's requests (cancel, supplement)
 * and sends each to the origin, which applies them in referral_seq order;
 * every move is checked against broker/lifecycle.c's table on both sides
 * (docs/LIFECYCLE.md). Everything here writes to the store's open turn
 * (through the caller's event) and to the outbox; it writes no field of
 * the node. */
#ifndef REF_REFERRALS_H
#define REF_REFERRALS_H

#include "clocks.h"
#include "history.h"
#include "state.h"

/* referrals_get: the referral record id (*ret: free_unpacked it). */
int referrals_get(node_t *n, const char *id, referral_rec_t **ret);
/* referrals_put: writes rr (updated now). */
int referrals_put(node_t *n, referral_rec_t *rr);
/* referrals_counterpart: the other node of rr. */
const char *referrals_counterpart(node_t *n, const referral_rec_t *rr);
/* referrals_send_about: a status change or supplement about rr to its
 * counterpart, in the open turn (rr->seq_out advances). */
int referrals_send_about(node_t *n, referral_rec_t *rr,
			 Referral__V1__Kind kind, const ProtobufCMessage *body,
			 uint32_t priority, uint64_t at);
/* referrals_move_allowed: checks a move of rr by party (lifecycle.h's
 * LC_ORIGIN, LC_RECEIVER, LC_ADMIN). 0, or REF_E_REFUSED / REF_E_INVALID
 * with why saying what was wrong and what the moves from here are. */
int referrals_move_allowed(const referral_rec_t *rr,
			   const Referral__V1__StatusChange *sc, unsigned party,
			   char *why, size_t len);
/* referrals_apply_move: applies a checked move (state, history, audit). */
int referrals_apply_move(node_t *n, referral_rec_t *rr,
			 Referral__V1__StatusChange *sc, const char *by,
			 uint64_t at, const uint8_t *msg_id);
/* referrals_new: a new outgoing referral of body to dest. */
int referrals_new(node_t *n, const dir_node_t *dest, const uint8_t *body,
		  size_t blen, const Referral__V1__ReferralSubmit *a,
		  const char *actor, const char *linked_from, char *ret_id,
		  size_t idlen, char *err, size_t errlen);
/* referrals_submit_in: the application inside a REFERRAL_SUBMIT
 * envelope's bytes (NULL if it does not parse); ret_body, if not NULL,
 * gets a copy of the body bytes. */
Referral__V1__ReferralSubmit *referrals_submit_in(const uint8_t *env,
						  size_t len, uint8_t **ret_body,
						  size_t *ret_len);
/* referrals_application_of: the application rr carries. */
Referral__V1__ReferralSubmit *referrals_application_of(node_t *n,
						       const referral_rec_t *rr,
						       uint8_t **ret_body,
						       size_t *ret_len);
/* referrals_handle_change: a status change or supplement from a peer,
 * applied in referral_seq order (an early one is held: *ret_held, and
 * inbound keeps it in the held table instead of the inbox). 0 with the
 * receipt's status in *ret_status, or a store error or -errno (then no
 * receipt: the event aborts and the sender resends). */
int referrals_handle_change(node_t *n, const envelope_check_t *c,
			    const uint8_t *buf, size_t len, const char *peer,
			    char *detail, size_t dlen, int *ret_status,
			    bool *ret_held);
/* referrals_restore_change: the same for a change of peer's that a
 * RESTORE_SYNC brings back: an early one is held (and counted) past
 * peer's held bounds, as refusing it would lose it for good. A held one
 * is kept by the call: the caller stores nothing more for it. */
int referrals_restore_change(node_t *n, const envelope_check_t *c,
			     const uint8_t *buf, size_t len, const char *peer,
			     char *detail, size_t dlen, int *ret_status,
			     bool *ret_held);
/* referrals_receive_as: the receiver's side of a delivered referral,
 * arriving in state (RECEIVED, or GRANTED for a notified defence, which
 * has no means test): the history, the eligibility recommendation
 * (RECEIVED only), the move sent back. */
int referrals_receive_as(node_t *n, referral_rec_t *rr,
			 const Referral__V1__ReferralSubmit *a,
			 uint64_t created_at, const uint8_t *msg_id,
			 const char *state);
/* referrals_take_in: a new referral from its first record rec (whose
 * strings may point anywhere), opened by token (NULL: by a node),
 * received as state, the changes of held_from that overtook it applied
 * (NULL: none), and stored. In the open turn. */
int referrals_take_in(node_t *n, const referral_rec_t *rec, const char *token,
		      const Referral__V1__ReferralSubmit *a, const char *state,
		      uint64_t created_at, const uint8_t *msg_id,
		      const char *held_from);
int referrals_drain_held(node_t *n, referral_rec_t *rr, const char *peer);

#endif
