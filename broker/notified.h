/* notified.h: recording that the applicant was notified of a decision
 * (refctl notified ID --how post|in-person|sms --on DATE).
 *
 * A history step that keeps the state (lifecycle.h, lc_notified_reason),
 * recorded at the centre where it happened and sent to the other like any
 * move: the receiver applies it and sends it on; the origin's goes to the
 * receiver, which applies it and confirms it back, so both hold it once.
 * Writes nothing of node_t (store records, outbox). */
#ifndef REF_NOTIFIED_H
#define REF_NOTIFIED_H

#include <jansson.h>

#include "principal.h"
#include "state.h"

/* notified_call: the "notified" operation: options {"how": post,
 * in-person or sms; "on": YYYY-MM-DD, the local day, not after today}.
 * A referral still REQUESTED, a bad how or a bad day is refused with what
 * was wrong; nothing is stored then. In the open turn (WRITES). */
int notified_call(node_t *n, const principal_t *who,
		  const Referral__Local__V1__Request *req, json_t *opts,
		  Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
