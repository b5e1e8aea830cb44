/* feed.c: see feed.h. Writes no field of the node: notices go to the
 * outbox or the feed table in the open turn. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feed.h"
#include "lifecycle.h"
#include "outbox.h"
#include "util.h"

static const struct { int type; const char *name; } names[] = {
	{ REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE, "notify_defence" },
	{ REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION, "forward_application" },
	{ REFERRAL__V1__EVENT_TYPE__HEARING_CHANGED, "hearing_changed" },
	{ REFERRAL__V1__EVENT_TYPE__CUSTODY_CHANGED, "custody_changed" },
	{ REFERRAL__V1__EVENT_TYPE__JUDGMENT_SERVED, "judgment_served" },
	{ REFERRAL__V1__EVENT_TYPE__CASE_ENDED, "case_ended" },
	{ REFERRAL__V1__EVENT_TYPE__ARBITRATION_ACCEPTED, "arbitration_accepted" },
	{ REFERRAL__V1__EVENT_TYPE__HEARING_SCHEDULED, "hearing_scheduled" },
	{ REFERRAL__V1__EVENT_TYPE__AWARD_OR_MEDIATION, "award_or_mediation" },
	{ REFERRAL__V1__EVENT_TYPE__AID_GRANTED, "aid_granted" },
	{ REFERRAL__V1__EVENT_TYPE__AID_DENIED, "aid_denied" },
	{ REFERRAL__V1__EVENT_TYPE__ASSIGNMENT_NOTICE, "assignment_notice" },
	{ REFERRAL__V1__EVENT_TYPE__TERMINATION_NOTICE, "termination_notice" },
	{ REFERRAL__V1__EVENT_TYPE__WITHDRAWAL_NOTICE, "withdrawal_notice" },
	{ REFERRAL__V1__EVENT_TYPE__LAWYER_REPLACED, "lawyer_replaced" },
	{ REFERRAL__V1__EVENT_TYPE__CASE_CLOSED, "case_closed" },
};

const char *feed_event_name(int type)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].type == type)
			return names[i].name;
	return "unknown";
}

int feed_event_type(const char *name)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].name, name))
			return names[i].type;
	return 0;
}

int feed_notice_type(const referral_rec_t *rr,
		     const Referral__V1__StatusChange *sc)
{
	lc_state_t to = lc_state_from_name(sc->state);

	(void)rr;
	/* The applicant told of a decision is no news for a court. */
	if (sc->from_state[0] && lc_state_from_name(sc->from_state) == to &&
	    !sc->assignment && lc_notified_reason(sc->reason))
		return 0;
	switch (to) {
	case LC_GRANTED:
		return REFERRAL__V1__EVENT_TYPE__AID_GRANTED;
	case LC_DENIED:
		return REFERRAL__V1__EVENT_TYPE__AID_DENIED;
	case LC_ASSIGNED:
	case LC_IN_PROGRESS:
		/* A lawyer named again on a referral already assigned is a
		 * replacement; IN_PROGRESS without one is no news for them. */
		if (sc->assignment && sc->from_state[0] &&
		    lc_state_from_name(sc->from_state) == to)
			return REFERRAL__V1__EVENT_TYPE__LAWYER_REPLACED;
		return to == LC_ASSIGNED
			? REFERRAL__V1__EVENT_TYPE__ASSIGNMENT_NOTICE : 0;
	case LC_TERMINATED:
		return REFERRAL__V1__EVENT_TYPE__TERMINATION_NOTICE;
	case LC_WITHDRAWN:
	case LC_CANCELLED:
		return REFERRAL__V1__EVENT_TYPE__WITHDRAWAL_NOTICE;
	case LC_CLOSED:
		return REFERRAL__V1__EVENT_TYPE__CASE_CLOSED;
	default:
		return 0;
	}
}

json_t *feed_event_json(const Referral__V1__CaseEvent *ev,
			const char *referral_id)
{
	json_t *o = json_pack("{s:s, s:s}", "type", feed_event_name(ev->type),
			      "referral_id", referral_id);
	char ts[32];

	if (ev->event_id[0])
		json_object_set_new(o, "event_id", json_string(ev->event_id));
	if (ev->case_ref[0])
		json_object_set_new(o, "case_ref", json_string(ev->case_ref));
	if (ev->body_name[0])
		json_object_set_new(o, "from", json_string(ev->body_name));
	if (ev->detail[0])
		json_object_set_new(o, "detail", json_string(ev->detail));
	if (ev->at_ms) {
		util_rfc3339(ev->at_ms, ts);
		json_object_set_new(o, "at", json_string(ts));
	}
	if (ev->assignment)
		json_object_set_new(o, "assignment", json_pack(
			"{s:s, s:s, s:s, s:s}", "firm", ev->assignment->firm,
			"lawyer", ev->assignment->lawyer, "licence_no",
			ev->assignment->licence_no, "contact",
			ev->assignment->contact));
	if (ev->reason[0])
		json_object_set_new(o, "reason", json_string(ev->reason));
	if (ev->legal_basis[0])
		json_object_set_new(o, "legal_basis",
				    json_string(ev->legal_basis));
	return o;
}

/* The feed's next sequence number: one after the last. */
static uint64_t next_seq(node_t *n)
{
	uint8_t *k = NULL, *v = NULL;
	size_t kl, vl;
	uint64_t seq = 0;

	if (!store_last(n->store, STORE_FEED, &k, &kl, &v, &vl) && kl == 8)
		for (int i = 0; i < 8; i++)
			seq = seq << 8 | k[i];
	free(k);
	free(v);
	return seq + 1;
}

int feed_append(node_t *n, const char *for_whom, const char *referral_id,
		int type, json_t *event, uint64_t at)
{
	Referral__Store__V1__FeedRecord f = REFERRAL__STORE__V1__FEED_RECORD__INIT;
	uint64_t seq = next_seq(n);
	uint8_t key[8];
	char *text = json_dumps(event, JSON_COMPACT);
	int r;

	if (!text)
		return -ENOMEM;
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(seq >> (56 - 8 * i));
	f.for_whom = (char *)for_whom;
	f.referral_id = (char *)referral_id;
	f.type = (uint32_t)type;
	f.json = text;
	f.at_ms = at;
	r = store_put_msg(n->store, STORE_FEED, key, 8, &f.base);
	free(text);
	return r;
}

int feed_notice(node_t *n, referral_rec_t *rr,
		const Referral__V1__StatusChange *sc, uint64_t at)
{
	Referral__V1__CaseEvent ev = REFERRAL__V1__CASE_EVENT__INIT;
	uint8_t id[16];
	char idhex[33], whom[80];
	int type = feed_notice_type(rr, sc), r;

	if (!type)
		return 0;
	util_uuid7(id);
	util_hex(id, 16, idhex);
	ev.type = (Referral__V1__EventType)type;
	ev.event_id = idhex;
	ev.case_ref = rr->case_ref;
	ev.body_name = n->cfg.name;
	ev.assignment = sc->assignment;
	ev.reason = sc->reason;
	ev.legal_basis = sc->legal_basis;
	ev.at_ms = at ? at : util_now_ms();
	if (rr->origin_token[0]) {
		json_t *o = feed_event_json(&ev, rr->referral_id);
		snprintf(whom, sizeof(whom), "token:%s", rr->origin_token);
		r = feed_append(n, whom, rr->referral_id, type, o, ev.at_ms);
		json_decref(o);
	} else {
		r = outbox_put_msg(n, rr->origin_node, rr->origin_kind,
				   rr->referral_id, ++rr->seq_out, &ev.base,
				   rr->priority, ev.at_ms);
		if (r == REF_E_TOO_LARGE)
			rr->seq_out--;
	}
	if (!r)
		r = state_audit(n, "notice", rr->referral_id, NULL,
				rr->origin_token[0] ? NULL : rr->origin_node,
				"node", feed_event_name(type),
				rr->origin_token[0] ? rr->origin_token : NULL);
	return r;
}

struct reader {
	const char *for_whom;
	size_t limit;
	json_t *arr;
	uint64_t last;
};

static int read_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct reader *rd = ctx;
	Referral__Store__V1__FeedRecord *f;
	uint64_t seq = 0;
	json_t *o;

	if (kl != 8)
		return 0;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | k[i];
	if (json_array_size(rd->arr) >= rd->limit)
		return STORE_STOP;
	f = referral__store__v1__feed_record__unpack(NULL, vl, v);
	if (!f)
		return REF_E_CORRUPT;
	rd->last = seq;
	if (!rd->for_whom || !strcmp(rd->for_whom, f->for_whom)) {
		o = json_loads(f->json, 0, NULL);
		if (!o)
			o = json_object();
		json_object_set_new(o, "seq", json_integer((json_int_t)seq));
		json_array_append_new(rd->arr, o);
	}
	referral__store__v1__feed_record__free_unpacked(f, NULL);
	return 0;
}

int feed_read(node_t *n, const char *for_whom, const char *cursor,
	      size_t limit, json_t **ret)
{
	struct reader rd = { for_whom, limit ? limit : 100, json_array(), 0 };
	uint64_t after = cursor && cursor[0] ? strtoull(cursor, NULL, 10) : 0;
	uint8_t key[8];
	char next[24];
	int r;

	if (rd.limit > 1000)
		rd.limit = 1000;
	rd.last = after;
	after++;
	for (int i = 0; i < 8; i++)
		key[i] = (uint8_t)(after >> (56 - 8 * i));
	r = store_foreach_from(n->store, STORE_FEED, key, 8, read_one, &rd);
	if (r) {
		json_decref(rd.arr);
		return r;
	}
	snprintf(next, sizeof(next), "%llu", (unsigned long long)rd.last);
	*ret = json_pack("{s:o, s:s}", "events", rd.arr, "next_cursor", next);
	return 0;
}
