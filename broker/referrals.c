/* referrals.c: see referrals.h. Writes no field of the node: records go
 * to the store's open turn, messages to the outbox. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "closing.h"
#include "lifecycle.h"
#include "log.h"
#include "objection.h"
#include "feed.h"
#include "held.h"
#include "lawmoves.h"
#include "outbox.h"
#include "dues.h"
#include "referrals.h"
#include "util.h"

int referrals_put(node_t *n, referral_rec_t *rr)
{
	rr->updated_at_ms = util_now_ms();
	dues_written(n, rr);
	return store_put_msg(n->store, STORE_REFERRALS, rr->referral_id,
			     strlen(rr->referral_id), &rr->base);
}

const char *referrals_counterpart(node_t *n, const referral_rec_t *rr)
{
	(void)n;
	return rr->direction == DIR_OUTGOING ? rr->receiver_node
					     : rr->origin_node;
}

/* Sends a status change (or a supplement) about rr to its counterpart:
 * the envelope goes to the outbox in this turn and leaves after commit. */
int referrals_send_about(node_t *n, referral_rec_t *rr, Referral__V1__Kind kind,
			 const ProtobufCMessage *body, uint32_t priority,
			 uint64_t at)
{
	/* A court's or bureau's referral is answered with notices, and only
	 * the moves they are owed (feed.c), not with status changes. */
	if (rr->direction == DIR_INCOMING &&
	    (rr->origin_token[0] || rr->origin_kind)) {
		if (kind != REFERRAL__V1__KIND__STATUS_CHANGE)
			return 0;
		/* A finding moves nothing they are owed a notice of. */
		if (history_finding((const Referral__V1__StatusChange *)body))
			return 0;
		return feed_notice(n, rr, (const Referral__V1__StatusChange *)body,
				   at);
	}
	int r = outbox_put_msg(n, referrals_counterpart(n, rr), kind,
			       rr->referral_id, ++rr->seq_out, body, priority,
			       at);

	if (r == REF_E_TOO_LARGE)
		rr->seq_out--;
	return r;
}

/* A legal basis must point at an article: "Art 41", "第四十一条"... Chinese
 * numerals are matched as whole UTF-8 characters. */
static bool names_article(const char *basis)
{
	static const char *const numerals[] = { "一", "二", "三", "四", "五",
		"六", "七", "八", "九", "十", "百", NULL };

	if (strpbrk(basis, "0123456789"))
		return true;
	if (!strstr(basis, "条"))
		return false;
	for (const char *const *d = numerals; *d; d++)
		if (strstr(basis, *d))
			return true;
	return false;
}

/* Checks a move of rr by party against the lifecycle table. On refusal
 * ret_why says what was wrong and what the moves from here are. */
int referrals_move_allowed(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len)
{
	lc_state_t from = lc_state_from_name(rr->state);
	lc_state_t to = lc_state_from_name(sc->state);
	unsigned needs = 0, parties;
	char moves[300];
	bool step;
	int r;

	if (to == LC_NONE) {
		snprintf(why, len, "\"%.40s\" is not a lifecycle state", sc->state);
		return REF_E_INVALID;
	}
	/* The applicant told of a decision: the state stays (lifecycle.h). */
	if (!sc->assignment && lc_notified_reason(sc->reason)) {
		if (from == to && from > LC_REQUESTED && party != LC_ADMIN)
			return 0;
		/* Made in another state than the one here (the sender's view
		 * lagged): it must never move the referral. */
		snprintf(why, len, "referral %s is %s here: the applicant "
			 "notified in %s keeps the state, so it is not recorded",
			 rr->referral_id, rr->state, sc->state);
		return REF_E_REFUSED;
	}
	r = lawmoves_check_step(rr, sc, party, why, len, &step);
	if (step)
		return r;
	parties = lc_edge(from, to, sc->aid_first, &needs);
	if (!parties || !(parties & party)) {
		lc_moves_from(from, party, moves, sizeof(moves));
		if (!parties)
			snprintf(why, len, "referral %s is %s; it cannot move to "
				 "%s. Moves open from %s: %s", rr->referral_id,
				 rr->state, sc->state, rr->state, moves);
		else
			snprintf(why, len, "referral %s is %s; %s -> %s is the "
				 "%s's move, not this party's. Moves open to "
				 "this party from %s: %s", rr->referral_id,
				 rr->state, rr->state, sc->state,
				 parties & LC_BUREAU ? "justice bureau's node "
				 "(refctl object and decide-objection there)"
				 : parties & LC_ADMIN ? "justice bureau admin"
				 : parties & LC_RECEIVER ? "receiving centre"
				 : "origin", rr->state, moves);
		return REF_E_REFUSED;
	}
	if (sc->aid_first && rr->priority != 2) {
		snprintf(why, len, "aid first (Art 44) is for urgent cases: a "
			 "limitation period within 7 days, or preservation needed; "
			 "referral %s is not marked urgent", rr->referral_id);
		return REF_E_REFUSED;
	}
	if ((needs & LC_NEEDS_REASON) && !sc->reason[0]) {
		snprintf(why, len, "%s -> %s needs a reason", rr->state, sc->state);
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_BASIS) && !sc->legal_basis[0]) {
		snprintf(why, len, "%s -> %s needs the legal basis relied on",
			 rr->state, sc->state);
		return REF_E_INVALID;
	}
	if (sc->legal_basis[0] && (strlen(sc->legal_basis) > 200 ||
				   !names_article(sc->legal_basis))) {
		snprintf(why, len, "the legal basis must name an article, e.g. "
			 "\"Legal Aid Law Art 41\" or \"法律援助法第四十一条\"");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ITEMS) && !sc->n_missing_items) {
		snprintf(why, len, "the one-time notice must list every missing "
			 "item (at least one)");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ASSIGNMENT) &&
	    (!sc->assignment || !sc->assignment->firm[0] ||
	     !sc->assignment->lawyer[0] || !sc->assignment->licence_no[0])) {
		snprintf(why, len, "an assignment needs the firm, the lawyer and "
			 "the licence number");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_REPORT) && !sc->report[0]) {
		snprintf(why, len, "closing needs the closing report");
		return REF_E_INVALID;
	}
	if ((needs & LC_NEEDS_ONWARD) && !util_node_code_valid(sc->onward_to)) {
		snprintf(why, len, "an onward referral needs the county it goes "
			 "to");
		return REF_E_INVALID;
	}
	return lawmoves_check_edge(rr, sc, party, why, len);
}

/* Applies a checked move to rr (state, history, audit). */
int referrals_apply_move(node_t *n, referral_rec_t *rr,
		      Referral__V1__StatusChange *sc, const char *by,
		      uint64_t at, const uint8_t *msg_id)
{
	int r;

	/* A finding or an owed supplement opens no materials round. */
	if (lc_state_from_name(sc->state) == LC_AWAITING_MATERIALS &&
	    !sc->round && history_moves_clocks(sc))
		sc->round = rr->materials_round + 1;
	lawmoves_applied(rr, sc);
	if (sc->round > rr->materials_round)
		rr->materials_round = sc->round;
	if (sc->onward_referral_id[0])
		if ((r = history_set_str(&rr->onward_id, sc->onward_referral_id)))
			return r;
	r = history_append(n, rr, sc, by, at, msg_id);
	if (!r)
		r = history_set_str(&rr->state, sc->state);
	if (!r)
		r = state_audit(n, "status_change", rr->referral_id, msg_id,
			  referrals_counterpart(n, rr), sc->actor[0] ? sc->actor : by,
			  sc->state, sc->reason);
	return r;
}

/* A new outgoing referral of body to dest (committed with the turn). */
int referrals_new(node_t *n, const dir_node_t *dest, const uint8_t *body,
		  size_t blen, const Referral__V1__ReferralSubmit *a,
		  const char *actor, const char *linked_from, char *ret_id,
		  size_t idlen, char *err, size_t errlen)
{
	referral_rec_t rr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	uint32_t priority = (uint32_t)application_priority(a);
	uint8_t msg_id[16];
	size_t env_len = 0;
	uint64_t now = util_now_ms();
	char id[48];
	int r;

	r = util_referral_id(n->cfg.code, id, sizeof(id));
	if (r)
		return r;
	r = outbox_put(n, dest->code, REFERRAL__V1__KIND__REFERRAL_SUBMIT, id, 1,
		       body, blen, priority, now, msg_id, &env_len);
	if (r == REF_E_TOO_LARGE) {
		snprintf(err, errlen, "the referral is %zu bytes, more than "
			 "[limits] max_message_bytes = %lld; send large "
			 "documents by reference", env_len,
			 (long long)n->cfg.max_message_bytes);
		return r;
	}
	if (r)
		return r;
	rr.referral_id = id;
	rr.direction = DIR_OUTGOING;
	rr.origin_node = n->cfg.code;
	rr.receiver_node = (char *)dest->code;
	rr.submit_msg_id.data = msg_id;
	rr.submit_msg_id.len = 16;
	rr.created_at_ms = now;
	rr.state = "REQUESTED";
	rr.case_type = a->matter->case_type;
	rr.service = a->matter->service;
	rr.seq_out = 1;
	rr.priority = priority;
	rr.linked_from = (char *)(linked_from ? linked_from : "");
	rr.limitation_deadline = a->matter->limitation_deadline;
	sc.state = "REQUESTED";
	sc.actor = (char *)actor;
	sc.changed_at_ms = now;
	r = history_append(n, &rr, &sc, n->cfg.code, now, msg_id);
	dues_written(n, &rr);
	if (!r)
		r = store_put_msg(n->store, STORE_REFERRALS, id, strlen(id),
				  &rr.base);
	if (!r)
		r = state_audit(n, "submitted", id, msg_id, dest->code, actor,
				"ok", linked_from ? linked_from
						  : a->matter->case_type);
	history_rec_release(&rr);
	if (r)
		return r;
	snprintf(ret_id, idlen, "%s", id);
	log_msg(LOG_INFO, "client", "submitted referral=%s to=%s priority=%u%s%s",
		id, dest->code, priority, linked_from ? " onward from " : "",
		linked_from ? linked_from : "");
	return 0;
}

/* The application a referral carries, from its stored submit envelope. */
Referral__V1__ReferralSubmit *referrals_application_of(node_t *n,
						    const referral_rec_t *rr,
						    uint8_t **ret_body,
						    size_t *ret_len)
{
	Referral__Store__V1__InboxRecord *in = NULL;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	Referral__V1__ReferralSubmit *a = NULL;
	const ProtobufCBinaryData *env;

	if (rr->submit_msg_id.len != 16)
		return NULL;
	if (rr->direction == DIR_INCOMING) {
		if (store_get_msg(n->store, STORE_INBOX, rr->submit_msg_id.data, 16,
				  &referral__store__v1__inbox_record__descriptor,
				  (ProtobufCMessage **)&in))
			return NULL;
		env = &in->envelope;
	} else {
		if (store_get_msg(n->store, STORE_OUTBOX, rr->submit_msg_id.data,
				  16, &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob))
			return NULL;
		env = &ob->envelope;
	}
	a = referrals_submit_in(env->data, env->len, ret_body, ret_len);
	if (in)
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return a;
}

/* The application inside a REFERRAL_SUBMIT envelope's bytes (NULL if it
 * does not parse); ret_body, if not NULL, gets a copy of the body bytes. */
Referral__V1__ReferralSubmit *referrals_submit_in(const uint8_t *env, size_t len,
						  uint8_t **ret_body,
						  size_t *ret_len)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, len,
								   env);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	Referral__V1__ReferralSubmit *a = NULL;
	uint8_t *body = NULL;
	size_t blen = 0;

	if (!h)
		goto out;
	if (h->kind == REFERRAL__V1__KIND__COURT_EVENT ||
	    h->kind == REFERRAL__V1__KIND__LABOUR_EVENT) {
		/* A referral a court or bureau opened: the application is
		 * inside its event. */
		Referral__V1__CaseEvent *ev = referral__v1__case_event__unpack(
			NULL, e->body.len, e->body.data);
		if (ev && ev->application) {
			blen = referral__v1__referral_submit__get_packed_size(
				ev->application);
			body = malloc(blen ? blen : 1);
			if (body)
				referral__v1__referral_submit__pack(
					ev->application, body);
		}
		if (ev)
			referral__v1__case_event__free_unpacked(ev, NULL);
	} else {
		blen = e->body.len;
		body = malloc(blen ? blen : 1);
		if (body)
			memcpy(body, e->body.data, blen);
	}
	if (body)
		a = referral__v1__referral_submit__unpack(NULL, blen, body);
	if (a && ret_body) {
		*ret_body = body;
		*ret_len = blen;
		body = NULL;
	}
out:
	free(body);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return a;
}

int referrals_get(node_t *n, const char *id,
			Referral__Store__V1__ReferralRecord **ret)
{
	return store_get_msg(n->store, STORE_REFERRALS, id, strlen(id),
			     &referral__store__v1__referral_record__descriptor,
			     (ProtobufCMessage **)ret);
}

/* A status change or supplement from the counterpart, in referral_seq
 * order. 0 with the receipt's status in *ret_status (detail says why for a
 * refusal), or a store error or -errno: then nothing of it may stand. */
static int apply_remote(node_t *n, referral_rec_t *rr, int kind,
			const ProtobufCBinaryData *body, const char *peer,
			const uint8_t *msg_id, uint64_t sent_at, char *detail,
			size_t dlen, int *ret_status)
{
	Referral__V1__StatusChange *sc = NULL;
	unsigned party = !strcmp(peer, rr->origin_node) ? LC_ORIGIN : LC_RECEIVER;
	char why[400];
	int r;

	if (kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) {
		Referral__V1__MaterialsSupplement *ms =
			referral__v1__materials_supplement__unpack(NULL, body->len,
								   body->data);
		if (!ms) {
			*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
			return 0;
		}
		sc = calloc(1, sizeof(*sc));
		if (!sc) {
			referral__v1__materials_supplement__free_unpacked(ms, NULL);
			return -ENOMEM;
		}
		referral__v1__status_change__init(sc);
		sc->state = strdup("RECEIVED");
		sc->reason = strdup("materials supplied");
		sc->from_state = strdup(rr->state);
		sc->actor = strdup(ms->actor);
		sc->round = ms->round;
		sc->supplement = true;
		/* The origin recorded the move when it sent it: the same time
		 * here keeps both nodes' clocks equal. */
		sc->changed_at_ms = sent_at;
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
		if (!sc->state || !sc->reason || !sc->from_state || !sc->actor) {
			referral__v1__status_change__free_unpacked(sc, NULL);
			return -ENOMEM;
		}
	} else {
		sc = referral__v1__status_change__unpack(NULL, body->len, body->data);
		if (!sc) {
			*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
			return 0;
		}
	}
	if (rr->direction == DIR_OUTGOING && lawmoves_objection_pending(rr, sc, peer)) {
		referral__v1__status_change__free_unpacked(sc, NULL);
		return REF_E_REFUSED; /* unanswered: the centre sends it again */
	}
	if (!strcmp(sc->actor_role, "admin") && party == LC_RECEIVER)
		party = LC_ADMIN;
	r = lawmoves_prepare(rr, sc);
	if (r) {
		referral__v1__status_change__free_unpacked(sc, NULL);
		return r;
	}
	/* The receiver confirming a move this node (the origin) asked for:
	 * it is the origin's move, now applied where the referral lives. */
	if (party == LC_RECEIVER && sc->made_by[0] &&
	    !strcmp(sc->made_by, rr->origin_node))
		party = LC_ORIGIN;
	/* Judged from the state here, not the sender's from_state: the
	 * origin's view lags the receiver's (a cancel sent while the referral
	 * was REQUESTED there may arrive when it is RECEIVED here), and a move
	 * legal from here keeps both nodes converging on the same state. */
	r = referrals_move_allowed(rr, sc, party, why, sizeof(why));
	/* At the origin, a move marked as its own stands only if it asked
	 * for it: a receiver cannot make the origin's moves for it. */
	if (!r && party == LC_ORIGIN && rr->direction == DIR_OUTGOING &&
	    !lawmoves_answer(rr, sc)) {
		snprintf(why, sizeof(why), "referral %s: this node (the origin) "
			 "never asked for the move to %s marked as its own",
			 rr->referral_id, sc->state);
		r = REF_E_REFUSED;
	}
	if (!r)
		r = closing_check(n, rr, sc, why, sizeof(why));
	if (r) {
		snprintf(detail, dlen, "%s", why);
		util_utf8_trim(detail);
		r = state_audit(n, "status_refused", rr->referral_id, msg_id, peer,
			  sc->actor, sc->state, detail);
		referral__v1__status_change__free_unpacked(sc, NULL);
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		return r;
	}
	if (!sc->changed_at_ms)
		sc->changed_at_ms = util_now_ms();
	r = referrals_apply_move(n, rr, sc, sc->made_by[0] ? sc->made_by : peer,
		       sc->changed_at_ms, msg_id);
	/* The receiver is the one writer of a referral's history: an
	 * origin's move applied here goes back to the origin, which applies
	 * it only then. */
	if (!r && rr->direction == DIR_INCOMING &&
	    !strcmp(peer, rr->origin_node)) {
		r = history_set_str(&sc->made_by, peer);
		if (!r)
			r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
				       &sc->base, rr->priority, 0);
	}
	log_msg(LOG_INFO, "lifecycle", "referral=%s %s -> %s by %s",
		rr->referral_id, sc->from_state, sc->state,
		sc->made_by[0] ? sc->made_by : peer);
	referral__v1__status_change__free_unpacked(sc, NULL);
	snprintf(detail, dlen, "stored");
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
	return r;
}

/* Applies, in order, the held changes that now follow rr->seq_in; each
 * goes into the inbox, applied or refused now. */
int referrals_drain_held(node_t *n, referral_rec_t *rr, const char *peer)
{
	uint8_t key[HELD_KEY_MAX];
	size_t klen;
	int r = 0;

	for (;;) {
		uint8_t *hv;
		size_t hl;
		held_rec_t rec;
		Referral__V1__Envelope *e;
		char d2[200];
		int s2;

		held_key(rr->referral_id, rr->seq_in + 1, key, &klen);
		if (store_get(n->store, STORE_HELD, key, klen, &hv, &hl))
			break;
		if (held_read(hv, hl, &rec)) {
			/* Unreadable: dropped, as nothing can apply it. */
			r = store_del(n->store, STORE_HELD, key, klen);
		} else {
			e = referral__v1__envelope__unpack(NULL, rec.env_len,
							   rec.env);
			/* A held change that fails to apply (the store, not
			 * the change) stays held: the event aborts, and it
			 * is applied when the referral's next message comes. */
			r = e ? apply_remote(n, rr, rec.kind, &e->body, peer,
					     rec.msg_id, rec.created_at_ms, d2,
					     sizeof(d2), &s2) : 0;
			if (e)
				referral__v1__envelope__free_unpacked(e, NULL);
			if (!r)
				r = held_release(n, key, klen, &rec, e != NULL);
		}
		held_rec_free(&rec);
		free(hv);
		if (r)
			break;
		rr->seq_in++;
	}
	return r;
}

/* Holds an early change, within its sender's bounds (held.c): *ret_status
 * STORED (held) or REFUSED (audited), or an error. Past a bound, a change
 * for a referral this node holds (known) is not refused but left
 * unanswered (REF_E_REFUSED): its sender resends it, and by then the gap
 * before it has filled; one for a referral this node does not hold is
 * refused, as nothing says it will ever come. */
static int hold(node_t *n, const envelope_check_t *c, const uint8_t *buf,
		size_t len, const char *peer, bool known, bool vouched,
		const char *why, char *detail, size_t dlen, int *ret_status,
		bool *ret_held)
{
	Referral__V1__Header *h = c->hdr;
	bool refused, bound;
	int r = held_check(n, h, len, peer, vouched, detail, dlen, &refused,
			   &bound);

	if (r)
		return r;
	if (refused && bound && known) {
		log_msg(LOG_WARN, "held", "peer=%s referral=%s seq=%llu not "
			"held: %s; no receipt, the sender resends it", peer,
			h->referral_id, (unsigned long long)h->referral_seq,
			detail);
		return REF_E_REFUSED;
	}
	if (refused) {
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		return state_audit(n, "status_refused", h->referral_id,
				   h->msg_id.data, peer, "node", "REFUSED",
				   detail);
	}
	r = held_put(n, h, buf, len, peer, util_now_ms(), NULL, 0);
	if (!r)
		r = state_audit(n, "held", h->referral_id, h->msg_id.data, peer,
				"node", "STORED", why);
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
	*ret_held = true;
	return r;
}

/* Status changes apply in referral_seq order: an early one is held (and
 * receipted STORED: it is stored) until the gap before it is filled.
 * vouched: brought back by a RESTORE_SYNC, held past the sender's bounds. */
static int handle_change(node_t *n, const envelope_check_t *c,
			 const uint8_t *buf, size_t len, const char *peer,
			 bool vouched, char *detail, size_t dlen,
			 int *ret_status, bool *ret_held)
{
	Referral__V1__Header *h = c->hdr;
	referral_rec_t *rr = NULL;
	int st, r;

	*ret_held = false;

	r = referrals_get(n, h->referral_id, &rr);
	if (r == REF_E_NOT_FOUND) {
		/* Ahead of the referral itself (refuse_reason let only the
		 * origin's own changes through to here). */
		r = hold(n, c, buf, len, peer, false, vouched, "waiting for the "
			 "referral", detail, dlen, ret_status, ret_held);
		if (!r && *ret_held)
			snprintf(detail, dlen, "stored; applies when the "
				 "referral arrives");
		return r;
	}
	if (r)
		return r;
	if (h->referral_seq > rr->seq_in + 64) {
		/* Held changes wait for a gap to fill; a gap this wide will
		 * not, and holding it would only fill the store. */
		snprintf(detail, dlen, "referral_seq %llu is too far ahead of "
			 "%llu", (unsigned long long)h->referral_seq,
			 (unsigned long long)rr->seq_in);
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		r = state_audit(n, "status_refused", rr->referral_id, h->msg_id.data,
			  peer, "node", "REFUSED", detail);
		goto out;
	}
	if (h->referral_seq > rr->seq_in + 1) {
		r = hold(n, c, buf, len, peer, true, vouched, "waiting for an "
			 "earlier status change", detail, dlen, &st, ret_held);
		if (!r && *ret_held)
			snprintf(detail, dlen, "stored; applies after seq %llu",
				 (unsigned long long)(h->referral_seq - 1));
		goto out;
	}
	if (h->referral_seq <= rr->seq_in) {
		snprintf(detail, dlen, "referral_seq %llu was already applied",
			 (unsigned long long)h->referral_seq);
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		r = state_audit(n, "status_refused", rr->referral_id, h->msg_id.data,
			  peer, "node", "REFUSED", detail);
		goto out;
	}
	r = apply_remote(n, rr, h->kind, &c->env->body, peer, h->msg_id.data,
			 h->created_at_ms, detail, dlen, &st);
	if (r)
		goto out;
	rr->seq_in = h->referral_seq;
	r = referrals_drain_held(n, rr, peer);
out:
	if (!r)
		r = referrals_put(n, rr);
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	if (!r)
		*ret_status = st;
	return r;
}

int referrals_handle_change(node_t *n, const envelope_check_t *c,
			    const uint8_t *buf, size_t len, const char *peer,
			    char *detail, size_t dlen, int *ret_status,
			    bool *ret_held)
{
	return handle_change(n, c, buf, len, peer, false, detail, dlen,
			     ret_status, ret_held);
}

int referrals_restore_change(node_t *n, const envelope_check_t *c,
			     const uint8_t *buf, size_t len, const char *peer,
			     char *detail, size_t dlen, int *ret_status,
			     bool *ret_held)
{
	return handle_change(n, c, buf, len, peer, true, detail, dlen,
			     ret_status, ret_held);
}

/* The receiver's side of a delivered referral: history REQUESTED (the
 * origin's) then RECEIVED (ours), the eligibility recommendation, and the
 * RECEIVED status change back to the origin. */
int referrals_receive_as(node_t *n, referral_rec_t *rr,
			 const Referral__V1__ReferralSubmit *a,
			 uint64_t created_at, const uint8_t *msg_id,
			 const char *state)
{
	Referral__V1__StatusChange req = REFERRAL__V1__STATUS_CHANGE__INIT;
	Referral__V1__StatusChange got = REFERRAL__V1__STATUS_CHANGE__INIT;
	const char *outcome = NULL;
	char rule[200];
	uint64_t now = util_now_ms();
	int r;

	req.state = "REQUESTED";
	req.changed_at_ms = created_at;
	got.state = (char *)state;
	got.from_state = "REQUESTED";
	got.actor = "node";
	got.changed_at_ms = now;
	/* A notified defence is granted without a means test (Art 36). */
	if (!strcmp(state, "GRANTED"))
		got.reason = "notified defence or representation: no means test";
	else
		rules_recommend(n->rules, a->means, a->matter, &outcome, rule,
					sizeof(rule));
	r = history_append(n, rr, &req, rr->origin_node, created_at,
				     msg_id);
	if (!r)
		r = history_append(n, rr, &got, n->cfg.code, now, NULL);
	if (!r)
		r = history_set_str(&rr->state, state);
	if (!r && outcome)
		r = history_set_str(&rr->recommendation, outcome);
	if (!r && outcome)
		r = history_set_str(&rr->recommendation_rule, rule);
	if (!r && outcome)
		r = state_audit(n, "eligibility", rr->referral_id, NULL, NULL,
				"node", outcome, rule);
	if (!r)
		r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
					 &got.base, rr->priority, now);
	return r;
}

int referrals_take_in(node_t *n, const referral_rec_t *rec, const char *token,
		      const Referral__V1__ReferralSubmit *a, const char *state,
		      uint64_t created_at, const uint8_t *msg_id,
		      const char *held_from)
{
	/* The lifecycle replaces rec's strings, which point into the
	 * caller's message: it works on an unpacked copy. */
	size_t pl = referral__store__v1__referral_record__get_packed_size(rec);
	uint8_t *pb = malloc(pl ? pl : 1);
	referral_rec_t *rr = NULL;
	int r = -ENOMEM;

	if (pb) {
		referral__store__v1__referral_record__pack(rec, pb);
		rr = referral__store__v1__referral_record__unpack(NULL, pl, pb);
	}
	if (rr)
		r = token ? history_set_str(&rr->origin_token, token) : 0;
	if (!r)
		r = referrals_receive_as(n, rr, a, created_at, msg_id, state);
	/* Changes from the origin that overtook the referral. */
	if (!r && held_from)
		r = referrals_drain_held(n, rr, held_from);
	if (!r)
		r = referrals_put(n, rr);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	free(pb);
	return r;
}
