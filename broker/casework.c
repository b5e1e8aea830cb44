/* casework.c: see casework.h. Writes no field of the node: records go to
 * the store's open turn, messages to the outbox. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "casework.h"
#include "lawmoves.h"
#include "closing.h"
#include "lifecycle.h"
#include "log.h"
#include "referrals.h"
#include "util.h"

typedef Referral__Local__V1__Request request_t;
typedef Referral__Local__V1__Reply reply_t;

/* The referral a request names, or a reply that says why not. */
int casework_referral_for(node_t *n, const char *id, reply_t *rep, char *err,
			  size_t errlen, referral_rec_t **ret)
{
	int r = referrals_get(n, id, ret);

	if (r)
		state_fail_reply(rep, r, err, errlen, r == REF_E_NOT_FOUND
				 ? "no referral %.64s on this node"
				 : "referral %.64s cannot be read", id);
	return r;
}

/* A move made here, by local staff: checked, applied, sent. */
int casework_move(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__StatusChange *sc;
	referral_rec_t *rr = NULL;
	unsigned party;
	uint64_t now = util_now_ms();
	static char onward[48];
	int r;

	onward[0] = '\0';
	sc = referral__v1__status_change__unpack(NULL, req->body.len,
						 req->body.data);
	if (!sc)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the status change does not parse");
	r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	party = rr->direction == DIR_OUTGOING ? LC_ORIGIN : LC_RECEIVER;
	if (!strcmp(sc->actor_role, "admin")) {
		if (party != LC_RECEIVER || !state_is_admin(n, n->caller)) {
			r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "actor %.64s does not hold the admin role "
				       "at this node ([roles] admins)",
				       req->actor[0] ? req->actor : "(none)");
			goto out;
		}
		party = LC_ADMIN;
	}
	if (lc_state_from_name(sc->state) == LC_WITHDRAWN) {
		r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "WITHDRAWN is set by the node when the wait for "
			       "materials ends (Art 43); to stop a referral, "
			       "cancel it with a reason");
		goto out;
	}
	sc->round = 0; /* the node numbers the rounds, not the client */
	sc->further_request = false;
	sc->supplement = false;
	r = lawmoves_prepare(rr, sc);
	if (!r)
		r = referrals_move_allowed(rr, sc, party, err, errlen);
	if (!r)
		r = closing_check(n, rr, sc, err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	history_set_str(&sc->from_state, rr->state);
	history_set_str(&sc->actor, req->actor);
	sc->changed_at_ms = now;
	if (lc_state_from_name(sc->state) == LC_REFERRED_ONWARD) {
		const dir_node_t *dest = directory_node(n->dir, sc->onward_to);
		Referral__V1__ReferralSubmit *a;
		uint8_t *body = NULL;
		size_t blen = 0;

		if (!dest || !strcmp(dest->code, n->cfg.code) ||
		    !strcmp(dest->code, rr->origin_node)) {
			r = state_fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				       "%.16s is not another county in the "
				       "directory", sc->onward_to);
			goto out;
		}
		if (!store_submit_allowed(n->store)) {
			r = state_fail_reply(rep, REF_E_STORE_FULL, err, errlen,
				       "store full: no new referral can be made "
				       "([store] map_max_mb = %lld)",
				       (long long)n->cfg.map_max_mb);
			goto out;
		}
		a = referrals_application_of(n, rr, &body, &blen);
		if (a && a->matter && !directory_accepts(dest, a->matter->case_type)) {
			referral__v1__referral_submit__free_unpacked(a, NULL);
			free(body);
			r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
				       "%s does not accept case type %s according "
				       "to the directory", dest->code,
				       rr->case_type);
			goto out;
		}
		if (!a || !body) {
			free(body);
			if (a)
				referral__v1__referral_submit__free_unpacked(a, NULL);
			r = state_fail_reply(rep, REF_E_CORRUPT, err, errlen,
				       "the application of %s cannot be read",
				       rr->referral_id);
			goto out;
		}
		r = referrals_new(n, dest, body, blen, a, req->actor,
				 rr->referral_id, onward, sizeof(onward), err,
				 errlen);
		free(body);
		referral__v1__referral_submit__free_unpacked(a, NULL);
		if (r) {
			if (!rep->code)
				state_fail_reply(rep, r, err, errlen, "%s",
					   err[0] ? err : ref_strerror(r));
			goto out;
		}
		history_set_str(&sc->onward_referral_id, onward);
	}
	if (party == LC_ORIGIN) {
		/* The receiver applies the origin's moves and confirms them
		 * back; until then the referral here keeps its state. */
		r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
			       &sc->base, rr->priority, now);
		if (!r)
			r = lawmoves_ask(rr, sc, false);
		if (!r)
			r = state_audit(n, "status_requested", rr->referral_id, NULL,
				  referrals_counterpart(n, rr), sc->actor, sc->state,
				  sc->reason);
		rep->error = "sent to the receiving centre, which applies it and "
			     "confirms it back";
	} else {
		r = referrals_apply_move(n, rr, sc, n->cfg.code, now, NULL);
		if (!r)
			r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
				       &sc->base, rr->priority, now);
	}
	if (!r)
		r = referrals_put(n, rr);
	if (r) {
		state_fail_reply(rep, r, err, errlen, "the move was not stored: %s",
			   ref_strerror(r));
		goto out;
	}
	rep->referral_id = onward[0] && sc->onward_referral_id[0] ? onward
								    : req->referral_id;
	log_msg(LOG_INFO, "lifecycle", "referral=%s %s -> %s by actor=%s",
		rr->referral_id, sc->from_state, sc->state, sc->actor);
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__status_change__free_unpacked(sc, NULL);
	return r;
}

/* The origin relays the applicant's supplement: AWAITING_MATERIALS ->
 * RECEIVED here, and the documents go to the receiver. */
int casework_supplement(node_t *n, const Referral__Local__V1__Request *req,
			 Referral__Local__V1__Reply *rep, char *err,
			 size_t errlen)
{
	Referral__V1__MaterialsSupplement *ms;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	referral_rec_t *rr = NULL;
	uint64_t now = util_now_ms();
	int r;

	ms = referral__v1__materials_supplement__unpack(NULL, req->body.len,
							req->body.data);
	if (!ms)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the supplement does not parse");
	r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		goto out;
	if (!ms->n_documents) {
		r = state_fail_reply(rep, REF_E_INVALID, err, errlen,
			       "a supplement needs at least one document");
		goto out;
	}
	if (ms->n_documents > (size_t)n->cfg.max_documents) {
		r = state_fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
			       "%zu documents, more than [limits] max_documents "
			       "= %lld", ms->n_documents,
			       (long long)n->cfg.max_documents);
		goto out;
	}
	for (size_t i = 0; i < ms->n_documents; i++)
		if (ms->documents[i]->content.len >
		    (size_t)n->cfg.max_document_bytes) {
			r = state_fail_reply(rep, REF_E_TOO_LARGE, err, errlen,
				       "document %zu is %zu bytes, more than "
				       "[limits] max_document_bytes = %lld", i + 1,
				       ms->documents[i]->content.len,
				       (long long)n->cfg.max_document_bytes);
			goto out;
		}
	/* After aid first (Art 44) the materials are still owed and the
	 * supplement leaves the state as it is. */
	sc.state = strcmp(rr->state, "AWAITING_MATERIALS") ? rr->state
							   : "RECEIVED";
	sc.reason = "materials supplied";
	sc.supplement = true;
	r = referrals_move_allowed(rr, &sc, rr->direction == DIR_OUTGOING ? LC_ORIGIN
								: LC_RECEIVER,
			 err, errlen);
	if (r) {
		rep->code = r;
		rep->error = err;
		goto out;
	}
	sc.from_state = rr->state;
	sc.actor = req->actor;
	sc.changed_at_ms = now;
	sc.round = rr->materials_round;
	ms->round = rr->materials_round;
	history_set_str(&ms->actor, req->actor);
	/* The receiver applies it (back to RECEIVED) and confirms it; the
	 * referral here moves when that confirmation arrives. */
	r = referrals_send_about(n, rr, REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT,
		       &ms->base, rr->priority, now);
	if (!r)
		r = lawmoves_ask(rr, &sc, true);
	if (!r)
		r = state_audit(n, "status_requested", rr->referral_id, NULL,
			  referrals_counterpart(n, rr), req->actor, sc.state,
			  "materials supplied");
	rep->error = "sent to the receiving centre, which applies it and "
		     "confirms it back";
	if (!r)
		r = referrals_put(n, rr);
	if (r == REF_E_TOO_LARGE)
		state_fail_reply(rep, r, err, errlen, "the supplement is larger than "
			   "[limits] max_message_bytes = %lld; send fewer or "
			   "smaller documents", (long long)n->cfg.max_message_bytes);
	else if (r)
		state_fail_reply(rep, r, err, errlen, "the supplement was not stored: %s",
			   ref_strerror(r));
	else
		rep->referral_id = req->referral_id;
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__materials_supplement__free_unpacked(ms, NULL);
	return r;
}

int casework_submit(node_t *n, const Referral__Local__V1__Request *req,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__ReferralSubmit *a = NULL;
	application_limits_t lim = {
		(size_t)n->cfg.max_document_bytes, (size_t)n->cfg.max_documents,
		NULL };
	const dir_node_t *dest;
	static char id[48];
	char inner[300];
	int r;

	dest = directory_node(n->dir, req->to_node);
	if (!dest)
		return state_fail_reply(rep, REF_E_UNKNOWN_NODE, err, errlen,
				  "destination %.16s is not a node in the "
				  "directory (version %llu); check the code or "
				  "ask the authority for a newer directory",
				  req->to_node,
				  (unsigned long long)n->dir->version);
	if (!strcmp(req->to_node, n->cfg.code))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
				  "destination %s is this node: a referral goes "
				  "to another county", req->to_node);
	a = referral__v1__referral_submit__unpack(NULL, req->body.len,
						  req->body.data);
	if (!a)
		return state_fail_reply(rep, REF_E_MALFORMED, err, errlen,
				  "the application body does not parse");
	r = application_check(a, &lim, inner, sizeof(inner));
	if (r) {
		state_fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	if (!directory_accepts(dest, a->matter->case_type)) {
		r = state_fail_reply(rep, REF_E_REFUSED, err, errlen,
			       "%s (%s) does not accept case type %s according "
			       "to the directory", dest->code, dest->name,
			       a->matter->case_type);
		goto out;
	}
	if (!store_submit_allowed(n->store)) {
		r = state_fail_reply(rep, REF_E_STORE_FULL, err, errlen,
			       "store full: this node's store has reached its "
			       "limit ([store] map_max_mb = %lld); deliveries "
			       "go on, but new submissions are refused until "
			       "an admin makes room",
			       (long long)n->cfg.map_max_mb);
		goto out;
	}
	inner[0] = '\0';
	r = referrals_new(n, dest, req->body.data, req->body.len, a,
			 req->actor[0] ? req->actor : "local", NULL, id,
			 sizeof(id), inner, sizeof(inner));
	if (r == REF_E_STORE_FULL && !store_at_limit(n->store)) {
		/* The map grows before the next turn: ask for a retry. */
		state_fail_reply(rep, REF_E_UNAVAILABLE, err, errlen,
			   "the store is growing; retry (the same request is "
			   "applied once)");
		goto out;
	}
	if (r == REF_E_STORE_FULL) {
		state_fail_reply(rep, r, err, errlen,
			   "store full: the referral could not be stored "
			   "([store] map_max_mb = %lld); nothing was accepted",
			   (long long)n->cfg.map_max_mb);
		goto out;
	}
	if (r) {
		if (inner[0])
			state_fail_reply(rep, r, err, errlen, "%s", inner);
		goto out;
	}
	rep->referral_id = id;
out:
	referral__v1__referral_submit__free_unpacked(a, NULL);
	return r;
}

