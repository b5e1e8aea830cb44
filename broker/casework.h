/* casework.h: what local staff (and, through the gateway, token holders)
 * ask of a referral: a new referral, a move, the applicant's supplement.
 * The handlers of control.c's table for those operations; each runs in
 * the request's own event, and control.c has checked the caller's role,
 * the body's limits and the request id before. Writes no field of the
 * node. */
#ifndef REF_CASEWORK_H
#define REF_CASEWORK_H

#include "state.h"

/* casework_referral_for: the referral a request names, or a reply that
 * says why not. */
int casework_referral_for(node_t *n, const char *id,
			  Referral__Local__V1__Reply *rep, char *err,
			  size_t errlen, referral_rec_t **ret);
/* casework_submit: a new referral (the body: a ReferralSubmit). */
int casework_submit(node_t *n, const Referral__Local__V1__Request *req,
		    Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* casework_move: a move made here (the body: a StatusChange): checked,
 * applied, sent. */
int casework_move(node_t *n, const Referral__Local__V1__Request *req,
		  Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* casework_supplement: the origin relays the applicant's supplement. */
int casework_supplement(node_t *n, const Referral__Local__V1__Request *req,
			Referral__Local__V1__Reply *rep, char *err,
			size_t errlen);

#endif
