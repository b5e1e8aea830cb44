/* lawmoves.c: see lawmoves.h. Pure rules on a record and a step, apart
 * from lawmoves_view, which reads the history. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lawmoves.h"
#include "lifecycle.h"
#include "log.h"
#include "history.h"

/* An origin that asks and never hears back (the receiver refused) keeps
 * the ask; the oldest goes first past this many. */
#define ASKS_MAX 16

static bool is_ground(const char *g)
{
	return !strcmp(g, "limitation") || !strcmp(g, "preservation") ||
	       !strcmp(g, "other");
}

/* A supplement step: the flag, or an older receiver's confirmation. */
static bool is_supplement(const Referral__V1__StatusChange *sc)
{
	return sc->supplement || (!strcmp(sc->state, "RECEIVED") &&
				  !strcmp(sc->reason, "materials supplied"));
}

int lawmoves_prepare(const referral_rec_t *rr, Referral__V1__StatusChange *sc)
{
	lc_state_t to = lc_state_from_name(sc->state);

	/* A finding does not move the referral: judged from the state it is
	 * in here, as the origin's view may lag. */
	if (sc->urgency_ground[0])
		return history_set_str(&sc->state, rr->state);
	if (sc->supplement && rr->materials_owed &&
	    strcmp(rr->state, "AWAITING_MATERIALS"))
		return history_set_str(&sc->state, rr->state);
	/* Telling the applicant of the notice asks for nothing more. */
	if (to == LC_AWAITING_MATERIALS && rr->materials_round > 0 &&
	    !lc_notified_reason(sc->reason))
		sc->further_request = true;
	return 0;
}

int lawmoves_check_step(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len, bool *ret_handled)
{
	lc_state_t from = lc_state_from_name(rr->state);

	*ret_handled = false;
	if (sc->urgency_ground[0]) {
		*ret_handled = true;
		if (!(party & (LC_ORIGIN | LC_RECEIVER))) {
			snprintf(why, len, "the urgency finding (Art 44) is made "
				 "by a centre's staff");
			return REF_E_REFUSED;
		}
		if (lc_final(from)) {
			snprintf(why, len, "referral %s is %s, which is final; "
				 "no urgency finding can be recorded",
				 rr->referral_id, rr->state);
			return REF_E_REFUSED;
		}
		if (!is_ground(sc->urgency_ground)) {
			snprintf(why, len, "the urgency ground \"%.32s\" is not "
				 "one of limitation, preservation, other (Art 44)",
				 sc->urgency_ground);
			return REF_E_INVALID;
		}
		if (!sc->reason[0]) {
			snprintf(why, len, "the urgency finding needs a reason");
			return REF_E_INVALID;
		}
		return 0;
	}
	if (sc->supplement && !strcmp(sc->state, rr->state)) {
		*ret_handled = true;
		if (party != LC_ORIGIN || !rr->materials_owed || lc_final(from)) {
			snprintf(why, len, "referral %s is %s and owes no "
				 "materials: a supplement answers a notice of "
				 "missing materials", rr->referral_id, rr->state);
			return REF_E_REFUSED;
		}
		return 0;
	}
	return 0;
}

int lawmoves_check_edge(const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, unsigned party,
			char *why, size_t len)
{
	lc_state_t to = lc_state_from_name(sc->state);

	if (to == LC_CANCELLED && party == LC_RECEIVER &&
	    strcmp(sc->withdrawal, "written")) {
		snprintf(why, len, "the receiving centre does not cancel a "
			 "referral on its own motion: deny it with a legal "
			 "basis (deny), refer it onward (refer-onward) or "
			 "terminate it on an Art 48 ground (terminate); it may "
			 "only record the applicant's own written withdrawal "
			 "(cancel --applicant-withdrawal written --reason)");
		return REF_E_REFUSED;
	}
	if (to == LC_AWAITING_MATERIALS && rr->materials_round > 0 &&
	    !sc->reason[0]) {
		snprintf(why, len, "materials are asked for once (一次性告知): "
			 "referral %s had its notice (round %u); a further "
			 "request is an exception and needs a reason",
			 rr->referral_id, rr->materials_round);
		return REF_E_INVALID;
	}
	return 0;
}

void lawmoves_applied(referral_rec_t *rr, const Referral__V1__StatusChange *sc)
{
	if (sc->urgency_ground[0])
		rr->priority = 2;
	if (sc->aid_first && !strcmp(rr->state, "AWAITING_MATERIALS"))
		rr->materials_owed = true;
	if (is_supplement(sc))
		rr->materials_owed = false;
}

static void ask_key(const Referral__V1__StatusChange *sc, bool supplement,
		    char *out, size_t len)
{
	if (supplement)
		snprintf(out, len, "S|%s", sc->actor);
	else if (sc->urgency_ground[0])
		snprintf(out, len, "U|%s", sc->actor);
	else
		snprintf(out, len, "M|%s|%s", sc->state, sc->actor);
}

int lawmoves_ask(referral_rec_t *rr, const Referral__V1__StatusChange *sc,
		 bool supplement)
{
	char key[200], **v;

	ask_key(sc, supplement, key, sizeof(key));
	if (rr->n_origin_asks >= ASKS_MAX) {
		free(rr->origin_asks[0]);
		memmove(rr->origin_asks, rr->origin_asks + 1,
			(rr->n_origin_asks - 1) * sizeof(char *));
		rr->n_origin_asks--;
	}
	v = realloc(rr->origin_asks, (rr->n_origin_asks + 1) * sizeof(char *));
	if (!v)
		return -ENOMEM;
	rr->origin_asks = v;
	v[rr->n_origin_asks] = strdup(key);
	if (!v[rr->n_origin_asks])
		return -ENOMEM;
	rr->n_origin_asks++;
	return 0;
}

int lawmoves_ask_body(referral_rec_t *rr, int kind,
		      const ProtobufCBinaryData *body)
{
	Referral__V1__StatusChange *sc;
	Referral__V1__MaterialsSupplement *ms;
	int r;

	if (kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) {
		Referral__V1__StatusChange s = REFERRAL__V1__STATUS_CHANGE__INIT;
		ms = referral__v1__materials_supplement__unpack(NULL, body->len,
							       body->data);
		if (!ms)
			return 0;
		s.actor = ms->actor;
		r = lawmoves_ask(rr, &s, true);
		referral__v1__materials_supplement__free_unpacked(ms, NULL);
		return r;
	}
	if (kind != REFERRAL__V1__KIND__STATUS_CHANGE)
		return 0;
	sc = referral__v1__status_change__unpack(NULL, body->len, body->data);
	if (!sc)
		return 0;
	r = lawmoves_ask(rr, sc, false);
	referral__v1__status_change__free_unpacked(sc, NULL);
	return r;
}

bool lawmoves_answer(referral_rec_t *rr, const Referral__V1__StatusChange *sc)
{
	char key[200];

	ask_key(sc, is_supplement(sc), key, sizeof(key));
	for (size_t i = 0; i < rr->n_origin_asks; i++) {
		if (strcmp(rr->origin_asks[i], key))
			continue;
		free(rr->origin_asks[i]);
		memmove(rr->origin_asks + i, rr->origin_asks + i + 1,
			(rr->n_origin_asks - i - 1) * sizeof(char *));
		rr->n_origin_asks--;
		return true;
	}
	return false;
}

void lawmoves_view(node_t *n, const referral_rec_t *rr, json_t *o)
{
	history_step_t *s;
	json_t *items;

	if (!rr->materials_owed || history_load(n, rr, &s))
		return;
	items = json_array();
	/* The last notice's items are the ones still owed. */
	for (uint32_t i = rr->history_len; i-- > 0;) {
		/* An urgency finding made while awaiting is no notice. */
		if (strcmp(s[i].sc->state, "AWAITING_MATERIALS") ||
		    !s[i].sc->n_missing_items)
			continue;
		for (size_t k = 0; k < s[i].sc->n_missing_items; k++)
			json_array_append_new(items, json_string(
				s[i].sc->missing_items[k]));
		break;
	}
	history_steps_free(s, rr->history_len);
	json_object_set_new(o, "materials_owed", items);
}

void lawmoves_view_step(const Referral__V1__StatusChange *sc, json_t *o)
{
	if (sc->urgency_ground[0])
		json_object_set_new(o, "urgency_ground",
				    json_string(sc->urgency_ground));
	if (sc->withdrawal[0])
		json_object_set_new(o, "withdrawal", json_string(sc->withdrawal));
	if (sc->further_request)
		json_object_set_new(o, "further_request", json_true());
	if (sc->supplement)
		json_object_set_new(o, "supplement", json_true());
}

bool lawmoves_objection_pending(const referral_rec_t *rr,
		       const Referral__V1__StatusChange *sc, const char *peer)
{
	lc_state_t here = lc_state_from_name(rr->state);

	if (strcmp(peer, rr->receiver_node) || strcmp(sc->from_state, "GRANTED") ||
	    (here != LC_DENIED && here != LC_TERMINATED &&
	     here != LC_OBJECTION))
		return false;
	log_msg(LOG_INFO, "objection", "referral=%s: %s's change from GRANTED "
		"waits for the justice bureau's decision to arrive here; no "
		"receipt, the centre sends it again", rr->referral_id, peer);
	return true;
}
