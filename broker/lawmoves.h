/* lawmoves.h: the rules DOMAIN.md sets on a move beyond the lifecycle
 * table's edges: the Art 44 urgency finding, the materials still owed
 * after aid first, asking for materials once (一次性告知), the receiver
 * recording only the applicant's own written withdrawal, and, at the
 * origin, applying a move marked as the origin's only if the origin asked
 * for it. referrals.c calls these around every move, local or from a
 * peer, so both nodes judge a step the same way. Writes only the record
 * it is given (the caller stores it in its turn); no field of the node. */
#ifndef REF_LAWMOVES_H
#define REF_LAWMOVES_H

#include <jansson.h>
#include <stdbool.h>

#include "state.h"

/* lawmoves_prepare: fills what the node, not the sender, decides about sc
 * before it is checked: an urgency finding or a supplement owed after aid
 * first keeps the state rr is in; a materials notice after the first is
 * marked further_request. */
int lawmoves_prepare(const referral_rec_t *rr, Referral__V1__StatusChange *sc);

/* lawmoves_check_step: a step that is not an edge of the table (an
 * urgency finding, a supplement owed after aid first). *ret_handled tells
 * whether sc is such a step; then 0 or REF_E_REFUSED / REF_E_INVALID with
 * why. */
int lawmoves_check_step(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len, bool *ret_handled);

/* lawmoves_check_edge: the rules on an edge the table allows: a second
 * materials round needs a reason; the receiver cancels only to record the
 * applicant's written withdrawal. 0 or REF_E_REFUSED / REF_E_INVALID. */
int lawmoves_check_edge(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len);

/* lawmoves_applied: what a checked step changes in rr besides its state
 * (called before the state changes): priority, materials owed. */
void lawmoves_applied(referral_rec_t *rr, const Referral__V1__StatusChange *sc);

/* lawmoves_ask: at the origin, remembers a move it sends the receiver
 * (supplement: a supplement rather than a status change). */
int lawmoves_ask(referral_rec_t *rr, const Referral__V1__StatusChange *sc,
		 bool supplement);

/* lawmoves_ask_body: the same for one of its own messages (kind,
 * body) that a peer's RESTORE_SYNC gives back; other kinds ask nothing. */
int lawmoves_ask_body(referral_rec_t *rr, int kind,
		      const ProtobufCBinaryData *body);

/* lawmoves_answer: at the origin, whether sc (marked as the origin's
 * move) answers one of its asks; a match is taken off the list. */
bool lawmoves_answer(referral_rec_t *rr, const Referral__V1__StatusChange *sc);

/* lawmoves_view: adds the materials owed to a referral's JSON. */
void lawmoves_view(node_t *n, const referral_rec_t *rr, json_t *o);
/* lawmoves_view_step: adds a step's finding, withdrawal and round kind. */
void lawmoves_view_step(const Referral__V1__StatusChange *sc, json_t *o);

/* lawmoves_objection_pending: at the origin, true if sc, from the centre, moves on
 * from a bureau's grant (from GRANTED) while rr here still waits for the
 * bureau's copy of it (DENIED, TERMINATED or OBJECTION): the caller leaves
 * it unanswered, and the centre's resend finds the copy applied. */
bool lawmoves_objection_pending(const referral_rec_t *rr,
				const Referral__V1__StatusChange *sc,
				const char *peer);

#endif
