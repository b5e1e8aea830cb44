/* objection.c: see objection.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "objection.h"
#include "outbox.h"
#include "referrals.h"
#include "util.h"

typedef Referral__Local__V1__Reply reply_t;

/* This node's own entry, if it may decide objections at all. */
static const dir_node_t *bureau_self(node_t *n, reply_t *rep, char *err,
				     size_t errlen)
{
	const dir_node_t *self = directory_node(n->dir, n->cfg.code);

	if (!self || (strcmp(self->role, "justice_bureau") &&
		      strcmp(self->role, "authority"))) {
		state_fail_reply(rep, REF_E_REFUSED, err, errlen, "objections "
				 "(Art 49) are recorded and decided at the justice "
				 "bureau's node; this node's role is %s",
				 self ? self->role : n->cfg.role);
		return NULL;
	}
	return self;
}

static const char *actor_of(const principal_t *who,
			    const Referral__Local__V1__Request *req)
{
	if (req->actor[0])
		return req->actor;
	return who && who->name[0] ? who->name : "";
}

/* The change to the centre and a copy to the origin, both numbered
 * rr->seq_out (the bureau's own order), then the file written. */
static int send_both(node_t *n, referral_rec_t *rr,
		     Referral__V1__StatusChange *sc, uint64_t now)
{
	int r;

	rr->seq_out++;
	r = outbox_put_msg(n, rr->receiver_node,
			   REFERRAL__V1__KIND__STATUS_CHANGE, rr->referral_id,
			   rr->seq_out, &sc->base, 2, now);
	if (!r && strcmp(rr->origin_node, rr->receiver_node) &&
	    directory_node(n->dir, rr->origin_node))
		r = outbox_put_msg(n, rr->origin_node,
				   REFERRAL__V1__KIND__STATUS_CHANGE,
				   rr->referral_id, rr->seq_out, &sc->base, 2,
				   now);
	if (!r)
		r = history_append(n, rr, sc, n->cfg.code, now, NULL);
	if (!r)
		r = history_set_str(&rr->state, sc->state);
	if (!r)
		r = state_audit(n, "status_change", rr->referral_id, NULL,
				rr->receiver_node, sc->actor, sc->state,
				sc->reason);
	if (!r)
		r = referrals_put(n, rr);
	return r;
}

static int answer(reply_t *rep, const referral_rec_t *rr)
{
	static char id[48];

	snprintf(id, sizeof(id), "%s", rr->referral_id);
	rep->referral_id = id;
	rep->json = state_dump(json_pack("{s:s, s:s, s:s}", "referral_id",
					 rr->referral_id, "state", rr->state,
					 "centre", rr->receiver_node));
	return rep->json ? 0 : -ENOMEM;
}

int objection_call_object(node_t *n, const principal_t *who,
			  const Referral__Local__V1__Request *req, json_t *opts,
			  reply_t *rep, char *err, size_t errlen)
{
	const dir_node_t *self = bureau_self(n, rep, err, errlen);
	const char *centre = state_str(opts, "centre");
	const char *reason = state_str(opts, "reason");
	const char *id = req->referral_id;
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t *old = NULL;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	uint64_t now = util_now_ms();
	char origin[8];
	int r;

	if (!self)
		return rep->code;
	if (!util_referral_id_valid(id))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%.64s is not a referral id (<origin "
					"code>-<32 hex digits>)", id);
	if (!directory_oversees(self, centre))
		return state_fail_reply(rep, REF_E_REFUSED, err, errlen,
					"this bureau does not oversee %.16s: its "
					"directory entry's oversees lists the "
					"centres whose objections it decides",
					centre[0] ? centre : "(no --centre)");
	if (!reason[0])
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"an objection needs the applicant's "
					"reason (--reason)");
	r = referrals_get(n, id, &old);
	if (!r) {
		state_fail_reply(rep, REF_E_REFUSED, err, errlen, "an objection "
				 "to %s is already on file here (%s)", id,
				 old->state);
		referral__store__v1__referral_record__free_unpacked(old, NULL);
		return REF_E_REFUSED;
	}
	if (r != REF_E_NOT_FOUND)
		return state_fail_reply(rep, r, err, errlen, "referral %.64s "
					"cannot be read", id);
	snprintf(origin, sizeof(origin), "%.6s", id);
	rr.referral_id = (char *)id;
	rr.direction = DIR_BUREAU;
	rr.origin_node = origin;
	rr.receiver_node = (char *)centre;
	rr.created_at_ms = now;
	rr.state = strdup("");
	if (!rr.state)
		return -ENOMEM;
	sc.state = "OBJECTION";
	sc.reason = (char *)reason;
	sc.actor = (char *)actor_of(who, req);
	sc.actor_role = "bureau";
	sc.changed_at_ms = now;
	r = send_both(n, &rr, &sc, now);
	if (!r)
		r = answer(rep, &rr);
	if (!r)
		log_msg(LOG_INFO, "lifecycle", "referral=%s objection recorded "
			"for centre=%s by actor=%s", id, centre, sc.actor);
	history_rec_release(&rr);
	free(rr.state);
	return r;
}

int objection_call_decide(node_t *n, const principal_t *who,
			  const Referral__Local__V1__Request *req, json_t *opts,
			  reply_t *rep, char *err, size_t errlen)
{
	const dir_node_t *self = bureau_self(n, rep, err, errlen);
	const char *d = state_str(opts, "decision");
	const char *actor = actor_of(who, req);
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	referral_rec_t *rr = NULL;
	uint64_t now = util_now_ms();
	int r;

	if (!self)
		return rep->code;
	if (strcmp(d, "uphold") && strcmp(d, "grant"))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"decide-objection needs \"decision\": "
					"\"uphold\" or \"grant\" (--uphold or "
					"--grant)");
	if (!directory_objection_reviewer(self, actor))
		return state_fail_reply(rep, REF_E_REFUSED, err, errlen,
					"staff id %.64s is not listed under this "
					"bureau's objection_reviewers in the "
					"directory: only they decide objections "
					"(Art 49)", actor[0] ? actor : "(none)");
	r = referrals_get(n, req->referral_id, &rr);
	if (r == REF_E_NOT_FOUND || (!r && rr->direction != DIR_BUREAU)) {
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr,
									    NULL);
		return state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
					"no objection to %.64s on file at this "
					"bureau (refctl object first)",
					req->referral_id);
	}
	if (r)
		return state_fail_reply(rep, r, err, errlen, "referral %.64s "
					"cannot be read", req->referral_id);
	if (strcmp(rr->state, "OBJECTION")) {
		r = state_fail_reply(rep, REF_E_REFUSED, err, errlen, "the "
				     "objection to %s is decided already (%s)",
				     rr->referral_id, rr->state);
		goto out;
	}
	sc.state = !strcmp(d, "uphold") ? "UPHELD" : "GRANTED";
	sc.from_state = "OBJECTION";
	sc.reason = (char *)state_str(opts, "reason");
	sc.actor = (char *)actor;
	sc.actor_role = "bureau";
	sc.changed_at_ms = now;
	r = send_both(n, rr, &sc, now);
	if (!r)
		r = answer(rep, rr);
	if (!r)
		log_msg(LOG_INFO, "lifecycle", "referral=%s objection decided: "
			"%s by actor=%s", rr->referral_id, sc.state, actor);
out:
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

bool objection_from_bureau(node_t *n, const envelope_check_t *c,
			   const char *peer)
{
	referral_rec_t *rr = NULL;
	bool yes;

	if (c->hdr->kind != REFERRAL__V1__KIND__STATUS_CHANGE ||
	    referrals_get(n, c->hdr->referral_id, &rr))
		return false;
	yes = rr->direction != DIR_BUREAU && strcmp(rr->origin_node, peer) &&
	      strcmp(rr->receiver_node, peer) &&
	      directory_oversees(directory_node(n->dir, peer),
				 rr->receiver_node);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return yes;
}

/* Why a bureau's change may not apply to rr here, or NULL. */
static const char *judge(node_t *n, const referral_rec_t *rr,
			 const Referral__V1__StatusChange *sc, const char *peer,
			 char *why, size_t len)
{
	lc_state_t to = lc_state_from_name(sc->state);

	if (rr->bureau_node[0] && strcmp(rr->bureau_node, peer)) {
		snprintf(why, len, "the objection to %s is before %s, not %s",
			 rr->referral_id, rr->bureau_node, peer);
		return why;
	}
	if (to != LC_OBJECTION && to != LC_UPHELD && to != LC_GRANTED) {
		snprintf(why, len, "a justice bureau sends objections and their "
			 "decisions only, not %.40s", sc->state);
		return why;
	}
	if (referrals_move_allowed(rr, sc, LC_BUREAU, why, len))
		return why;
	if (to != LC_OBJECTION &&
	    !directory_objection_reviewer(directory_node(n->dir, peer),
					  sc->actor)) {
		snprintf(why, len, "%.64s is not listed under %s's "
			 "objection_reviewers in the directory",
			 sc->actor[0] ? sc->actor : "(no actor)", peer);
		return why;
	}
	return NULL;
}

int objection_receive(node_t *n, const envelope_check_t *c, const char *peer,
		      char *detail, size_t dlen, int *ret_status)
{
	Referral__V1__Header *h = c->hdr;
	Referral__V1__StatusChange *sc = NULL;
	referral_rec_t *rr = NULL;
	char why[400];
	int r = referrals_get(n, h->referral_id, &rr);

	if (r)
		return r;
	if (h->referral_seq > rr->bureau_seq_in + 1) {
		/* Its objection has not arrived yet: unanswered, the bureau
		 * sends this again, and by then it has. */
		log_msg(LOG_WARN, "objection", "peer=%s referral=%s seq=%llu "
			"ahead of %llu; no receipt, the bureau resends it", peer,
			h->referral_id, (unsigned long long)h->referral_seq,
			(unsigned long long)rr->bureau_seq_in);
		r = REF_E_REFUSED;
		goto out;
	}
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	if (h->referral_seq <= rr->bureau_seq_in) {
		snprintf(detail, dlen, "referral_seq %llu of %s was already "
			 "applied", (unsigned long long)h->referral_seq, peer);
		r = state_audit(n, "status_refused", rr->referral_id,
				h->msg_id.data, peer, "node", "REFUSED", detail);
		goto out;
	}
	sc = referral__v1__status_change__unpack(NULL, c->env->body.len,
						 c->env->body.data);
	if (!sc) {
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		snprintf(detail, dlen, "the status change does not parse");
		goto out;
	}
	/* Judged, applied or not: the bureau's next one follows it. */
	rr->bureau_seq_in = h->referral_seq;
	if ((r = history_set_str(&rr->bureau_node, peer)))
		goto out;
	if (judge(n, rr, sc, peer, why, sizeof(why))) {
		snprintf(detail, dlen, "%s", why);
		util_utf8_trim(detail);
		r = state_audit(n, "status_refused", rr->referral_id,
				h->msg_id.data, peer, sc->actor, sc->state,
				detail);
		if (!r)
			r = referrals_put(n, rr);
		goto out;
	}
	if (!sc->changed_at_ms)
		sc->changed_at_ms = util_now_ms();
	r = referrals_apply_move(n, rr, sc, peer, sc->changed_at_ms,
				 h->msg_id.data);
	if (!r)
		r = referrals_put(n, rr);
	if (!r) {
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
		snprintf(detail, dlen, "applied");
		log_msg(LOG_INFO, "lifecycle", "referral=%s %s by the justice "
			"bureau %s, actor=%s", rr->referral_id, sc->state, peer,
			sc->actor);
	}
out:
	if (sc)
		referral__v1__status_change__free_unpacked(sc, NULL);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}
