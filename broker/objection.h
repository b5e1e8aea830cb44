/* objection.h: objections (Art 49), decided by the justice bureau from its
 * own node (DESIGN.md, "Objection decisions and restore sync").
 *
 * At the bureau's node (role justice_bureau, or the authority's), whose
 * directory entry lists the centre under `oversees`: staff record the
 * applicant's objection to a centre's denial or termination (`object`),
 * and a staff id listed under the entry's `objection_reviewers` decides
 * it (`decide-objection`: upheld, or aid granted). Each is a signed
 * STATUS_CHANGE to the centre, copied to the origin, numbered by the
 * bureau's own referral_seq from 1; the bureau keeps its own file of the
 * referral (direction DIR_BUREAU) with that history.
 *
 * At the centre and the origin: a STATUS_CHANGE from a node that is not a
 * party to the referral is taken only from a node whose entry oversees
 * the centre, in the bureau's order, for a referral held here in DENIED,
 * TERMINATED (an objection) or OBJECTION (a decision, whose actor must be
 * one of the bureau's objection_reviewers). The centre's own staff,
 * admins included, can no longer make these moves. Writes no field of the
 * node: records go to the open turn, messages to the outbox. */
#ifndef REF_OBJECTION_H
#define REF_OBJECTION_H

#include <stdbool.h>
#include <jansson.h>

#include "envelope.h"
#include "principal.h"
#include "state.h"

/* control.c's handlers for "object" ({"centre", "reason"}) and
 * "decide-objection" ({"decision": "uphold"|"grant", "reason"}). */
int objection_call_object(node_t *n, const principal_t *who,
			  const Referral__Local__V1__Request *req, json_t *opts,
			  Referral__Local__V1__Reply *rep, char *err,
			  size_t errlen);
int objection_call_decide(node_t *n, const principal_t *who,
			  const Referral__Local__V1__Request *req, json_t *opts,
			  Referral__Local__V1__Reply *rep, char *err,
			  size_t errlen);

/* objection_from_bureau: true if c is a status change about a referral
 * held here, from peer that is no party to it but oversees its centre. */
bool objection_from_bureau(node_t *n, const envelope_check_t *c,
			   const char *peer);
/* objection_receive: judges and applies such a change. 0 with the
 * receipt's status in *ret_status (detail says why for a refusal);
 * REF_E_REFUSED for one ahead of the bureau's order (no receipt: the
 * bureau sends it again); or a store error. */
int objection_receive(node_t *n, const envelope_check_t *c, const char *peer,
		      char *detail, size_t dlen, int *ret_status);


#endif
