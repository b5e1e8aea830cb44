/* events.c: see events.h. Writes no field of the node: records go to the
 * store's open turn, messages to the outbox, notices to the feed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "calls.h"
#include "events.h"
#include "feed.h"
#include "keys.h"
#include "log.h"
#include "outbox.h"
#include "referrals.h"
#include "tokens.h"
#include "util.h"

typedef Referral__Local__V1__Request request_t;
typedef Referral__Local__V1__Reply reply_t;

enum { KIND_COURT = REFERRAL__V1__KIND__COURT_EVENT,
       KIND_LABOUR = REFERRAL__V1__KIND__LABOUR_EVENT };

/* The kind a directory role sends its events as (0: none). */
static int kind_of_role(const char *role)
{
	return !strcmp(role, "court") ? KIND_COURT
	       : !strcmp(role, "labour_bureau") ? KIND_LABOUR : 0;
}

/* The events each kind of sender may send (DOMAIN.md). */
static bool type_allowed(int kind, int type)
{
	switch (type) {
	case REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION:
		return true;
	case REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE:
	case REFERRAL__V1__EVENT_TYPE__HEARING_CHANGED:
	case REFERRAL__V1__EVENT_TYPE__CUSTODY_CHANGED:
	case REFERRAL__V1__EVENT_TYPE__JUDGMENT_SERVED:
	case REFERRAL__V1__EVENT_TYPE__CASE_ENDED:
		return kind == KIND_COURT;
	case REFERRAL__V1__EVENT_TYPE__ARBITRATION_ACCEPTED:
	case REFERRAL__V1__EVENT_TYPE__HEARING_SCHEDULED:
	case REFERRAL__V1__EVENT_TYPE__AWARD_OR_MEDIATION:
		return kind == KIND_LABOUR;
	default:
		return false;
	}
}

/* Every text of an event is UTF-8: it goes into the audit trail and the
 * feed as it came (the wire contract refuses other text as MALFORMED). */
static bool texts_ok(const Referral__V1__CaseEvent *ev)
{
	const char *t[] = { ev->event_id, ev->case_ref, ev->body_name,
			    ev->detail, ev->reason, ev->legal_basis,
			    ev->assignment ? ev->assignment->firm : "",
			    ev->assignment ? ev->assignment->lawyer : "",
			    ev->assignment ? ev->assignment->licence_no : "",
			    ev->assignment ? ev->assignment->contact : "" };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!util_utf8_valid(t[i], strlen(t[i])))
			return false;
	return true;
}

static bool opens(int type)
{
	return type == REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE ||
	       type == REFERRAL__V1__EVENT_TYPE__FORWARD_APPLICATION;
}

static const char *who_sends(int kind)
{
	return kind == KIND_COURT ? "a court, procuratorate or police"
				  : "a labour bureau or arbitration commission";
}

/* The state a referral opened by this event starts in. */
static const char *opening_state(int type)
{
	return type == REFERRAL__V1__EVENT_TYPE__NOTIFY_DEFENCE ? "GRANTED"
								: "RECEIVED";
}

/* The referral record of a matter the centre takes in. */
static void new_incoming(referral_rec_t *rr, const char *id, const char *origin,
			 const char *self, const uint8_t *msg_id,
			 const Referral__V1__ReferralSubmit *a,
			 const Referral__V1__CaseEvent *ev, int kind,
			 uint64_t now)
{
	rr->referral_id = (char *)id;
	rr->direction = DIR_INCOMING;
	rr->origin_node = (char *)origin;
	rr->receiver_node = (char *)self;
	rr->submit_msg_id.data = (uint8_t *)msg_id;
	rr->submit_msg_id.len = 16;
	rr->created_at_ms = now;
	rr->updated_at_ms = now;
	rr->state = "REQUESTED";
	rr->case_type = a->matter ? a->matter->case_type : "";
	rr->service = a->matter ? a->matter->service : "";
	rr->limitation_deadline = a->matter ? a->matter->limitation_deadline
					    : "";
	rr->priority = (uint32_t)application_priority(a);
	rr->case_ref = ev->case_ref;
	rr->origin_kind = (uint32_t)kind;
	rr->seq_in = 1;
}

static Referral__V1__ReferralSubmit *application_in(json_t *opts,
						    node_t *n, char *err,
						    size_t errlen, int *ret)
{
	uint8_t *body = NULL;
	size_t blen = 0;
	Referral__V1__ReferralSubmit *a = NULL;

	*ret = calls_application(opts, (size_t)n->cfg.max_documents,
				 (size_t)n->cfg.max_document_bytes, &body, &blen,
				 err, errlen);
	if (!*ret) {
		a = referral__v1__referral_submit__unpack(NULL, blen, body);
		if (!a)
			*ret = REF_E_MALFORMED;
	}
	free(body);
	return a;
}

/* The answer to a sent event, and the id a retry is answered with. */
static void answer(reply_t *rep, const char *event_id, const char *rid,
		   const char *to)
{
	static char id[48];

	snprintf(id, sizeof(id), "%s", rid);
	rep->referral_id = id;
	rep->json = state_dump(json_pack("{s:s, s:s, s:s}", "event_id", event_id,
					 "referral_id", rid, "to", to));
}

/* At a court's or bureau's own node: signed and sent to the centre. */
static int send_from_node(node_t *n, int kind, int type,
			  Referral__V1__CaseEvent *ev, json_t *opts,
			  reply_t *rep, char *err, size_t errlen)
{
	referral_rec_t fresh = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t *rr = NULL;
	Referral__V1__ReferralSubmit *a = NULL;
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	const dir_node_t *dest;
	uint8_t msg_id[16], *body;
	size_t blen;
	char rid[48], to[8];
	uint64_t now = util_now_ms(), seq;
	int r;

	if (opens(type)) {
		snprintf(to, sizeof(to), "%s", state_str(opts, "to"));
		dest = directory_node(n->dir, to);
		if (!dest || strcmp(dest->role, "legal_aid_centre"))
			return state_fail_reply(rep, REF_E_INVALID, err, errlen,
						"\"to\" must be a legal-aid centre in "
						"the directory (%.8s is not)", to);
		a = application_in(opts, n, err, errlen, &r);
		if (r)
			return state_fail_as(rep, r, err);
		ev->application = a;
		r = util_referral_id(n->cfg.code, rid, sizeof(rid));
		seq = 1;
	} else {
		snprintf(rid, sizeof(rid), "%.47s", state_str(opts, "referral_id"));
		if (referrals_get(n, rid, &rr) || rr->direction != DIR_OUTGOING ||
		    !rr->origin_kind) {
			if (rr)
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
			return state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen,
						"no matter %.48s was sent from this "
						"node (\"referral_id\")", rid);
		}
		snprintf(to, sizeof(to), "%s", rr->receiver_node);
		seq = ++rr->seq_out;
		r = 0;
	}
	blen = referral__v1__case_event__get_packed_size(ev);
	body = malloc(blen ? blen : 1);
	if (!r && !body)
		r = -ENOMEM;
	if (!r) {
		referral__v1__case_event__pack(ev, body);
		r = outbox_put(n, to, (uint32_t)kind, rid, seq, body, blen,
			       a ? (uint32_t)application_priority(a) : 0, now,
			       msg_id, NULL);
	}
	free(body);
	if (!r && !rr) {
		/* The matter as this node keeps it: its state follows the
		 * notices the centre sends back. */
		fresh.referral_id = rid;
		fresh.direction = DIR_OUTGOING;
		fresh.origin_node = n->cfg.code;
		fresh.receiver_node = to;
		fresh.submit_msg_id.data = msg_id;
		fresh.submit_msg_id.len = 16;
		fresh.created_at_ms = now;
		fresh.state = "REQUESTED";
		fresh.case_type = a->matter ? a->matter->case_type : "";
		fresh.service = a->matter ? a->matter->service : "";
		fresh.seq_out = 1;
		fresh.case_ref = ev->case_ref;
		fresh.origin_kind = (uint32_t)kind;
		sc.state = "REQUESTED";
		sc.reason = (char *)feed_event_name(type);
		sc.changed_at_ms = now;
		r = history_append(n, &fresh, &sc, n->cfg.code, now,
					     msg_id);
		if (!r)
			r = referrals_put(n, &fresh);
		history_rec_release(&fresh);
	} else if (!r) {
		r = referrals_put(n, rr);
	}
	if (!r)
		r = state_audit(n, "event_sent", rid, msg_id, to, "node",
				feed_event_name(type), ev->case_ref);
	if (!r)
		answer(rep, ev->event_id, rid, to);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	if (a)
		referral__v1__referral_submit__free_unpacked(a, NULL);
	ev->application = NULL;
	return r;
}

/* At the centre, from a court's or bureau's token: applied here. */
static int apply_from_token(node_t *n, const principal_t *who, int kind,
			    int type, Referral__V1__CaseEvent *ev, json_t *opts,
			    reply_t *rep, char *err, size_t errlen)
{
	Referral__Store__V1__InboxRecord in = REFERRAL__STORE__V1__INBOX_RECORD__INIT;
	referral_rec_t rec = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	referral_rec_t *rr = NULL;
	Referral__V1__ReferralSubmit *a;
	envelope_signer_t s = keys_signer(n);
	envelope_fields_t f = { 0 };
	uint8_t msg_id[16], *body, *env = NULL;
	size_t blen, el;
	char rid[48];
	uint64_t now = util_now_ms();
	int r;

	if (!opens(type)) {
		snprintf(rid, sizeof(rid), "%.47s", state_str(opts, "referral_id"));
		r = referrals_get(n, rid, &rr);
		if (!r && strcmp(rr->origin_token, who->name))
			r = REF_E_NOT_FOUND;
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr,
									    NULL);
		if (r)
			return state_fail_reply(rep, r, err, errlen, "no matter "
						"%.48s sent by %s on this node", rid,
						who->name);
		r = state_audit(n, kind == KIND_COURT ? "court_event"
						      : "labour_event", rid, NULL,
				NULL, who->name, feed_event_name(type),
				ev->detail[0] ? ev->detail : NULL);
		if (!r)
			answer(rep, ev->event_id, rid, n->cfg.code);
		return r;
	}
	a = application_in(opts, n, err, errlen, &r);
	if (r)
		return state_fail_as(rep, r, err);
	ev->application = a;
	r = util_referral_id(util_node_code_valid(who->code) ? who->code
							      : n->cfg.code,
			     rid, sizeof(rid));
	/* Kept as a signed envelope of this node's, like any referral's
	 * first message: the application has one place, and one digest. */
	blen = referral__v1__case_event__get_packed_size(ev);
	body = malloc(blen ? blen : 1);
	if (!r && !body)
		r = -ENOMEM;
	if (!r) {
		referral__v1__case_event__pack(ev, body);
		f.to_node = n->cfg.code;
		f.kind = (Referral__V1__Kind)kind;
		f.referral_id = rid;
		f.referral_seq = 1;
		f.created_at_ms = now;
		r = envelope_build(&s, &f, body, blen, &env, &el, msg_id);
	}
	free(body);
	if (!r) {
		in.envelope.data = env;
		in.envelope.len = el;
		in.from_node = n->cfg.code;
		in.referral_id = rid;
		in.kind = (uint32_t)kind;
		in.received_at_ms = now;
		r = store_put_msg(n->store, STORE_INBOX, msg_id, 16, &in.base);
	}
	if (!r) {
		new_incoming(&rec, rid, n->cfg.code, n->cfg.code, msg_id, a, ev,
			     kind, now);
		r = referrals_take_in(n, &rec, who->name, a,
				      opening_state(type), now, msg_id, NULL);
	}
	if (!r)
		r = state_audit(n, "event_received", rid, msg_id, NULL, who->name,
				feed_event_name(type), ev->case_ref);
	if (!r)
		answer(rep, ev->event_id, rid, n->cfg.code);
	free(env);
	ev->application = NULL;
	referral__v1__referral_submit__free_unpacked(a, NULL);
	return r;
}

int events_call_send(node_t *n, const principal_t *who, const request_t *req,
		     json_t *opts, reply_t *rep, char *err, size_t errlen)
{
	Referral__V1__CaseEvent ev = REFERRAL__V1__CASE_EVENT__INIT;
	int type = feed_event_type(state_str(opts, "type"));
	int kind = kind_of_role(n->cfg.role);
	const char *at = state_str(opts, "at");
	static char event_id[72];

	if (!kind && who->token)
		kind = who->scope == SCOPE_COURT ? KIND_COURT
		       : who->scope == SCOPE_LABOUR ? KIND_LABOUR : 0;
	if (!kind)
		return state_fail_reply(rep, REF_E_FORBIDDEN, err, errlen,
					"events come from a court's or labour "
					"bureau's node, or their token");
	if (!type_allowed(kind, type))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"\"%.40s\" is not an event %s sends",
					state_str(opts, "type"), who_sends(kind));
	if (opens(type) && !json_is_object(json_object_get(opts, "application")))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%s needs the \"application\"",
					feed_event_name(type));
	if (!opens(type) && !state_str(opts, "referral_id")[0])
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%s needs the matter's \"referral_id\"",
					feed_event_name(type));
	if (at[0] && util_rfc3339_parse(at, &ev.at_ms))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"\"at\" is an RFC 3339 time");
	/* The request id names the event: a retry is the same event. */
	snprintf(event_id, sizeof(event_id), "%s", req->request_id);
	ev.type = (Referral__V1__EventType)type;
	ev.event_id = event_id;
	ev.case_ref = (char *)state_str(opts, "case_ref");
	ev.body_name = who->token ? (char *)who->name : n->cfg.name;
	ev.detail = (char *)state_str(opts, "detail");
	if (kind_of_role(n->cfg.role))
		return send_from_node(n, kind, type, &ev, opts, rep, err, errlen);
	return apply_from_token(n, who, kind, type, &ev, opts, rep, err, errlen);
}

int events_call_feed(node_t *n, const principal_t *who, const request_t *req,
		     json_t *opts, reply_t *rep, char *err, size_t errlen)
{
	json_int_t limit = json_integer_value(json_object_get(opts, "limit"));
	char whom[80];
	json_t *o;
	int r;

	(void)req, (void)err, (void)errlen;
	/* A token holder reads what it is owed; at a court's or bureau's own
	 * node, its people read what came back; an admin reads everything. */
	if (who->token && who->scope != SCOPE_ADMIN &&
	    !kind_of_role(n->cfg.role))
		snprintf(whom, sizeof(whom), "token:%s", who->name);
	else if (kind_of_role(n->cfg.role) && who->scope != SCOPE_ADMIN)
		snprintf(whom, sizeof(whom), "%s", FEED_LOCAL);
	else
		whom[0] = '\0';
	r = feed_read(n, whom[0] ? whom : NULL, state_str(opts, "cursor"),
		      limit > 0 ? (size_t)limit : 100, &o);
	if (!r)
		rep->json = state_dump(o);
	return r;
}

/* ---- from a peer ------------------------------------------------------------ */

/* A notice from the centre, at a court's or bureau's node. */
static int take_notice(node_t *n, const envelope_check_t *c,
		       const Referral__V1__CaseEvent *ev, const char *peer,
		       char *detail, size_t dlen, int *ret_status)
{
	static const struct { int type; const char *state; } states[] = {
		{ REFERRAL__V1__EVENT_TYPE__AID_GRANTED, "GRANTED" },
		{ REFERRAL__V1__EVENT_TYPE__AID_DENIED, "DENIED" },
		{ REFERRAL__V1__EVENT_TYPE__ASSIGNMENT_NOTICE, "ASSIGNED" },
		{ REFERRAL__V1__EVENT_TYPE__TERMINATION_NOTICE, "TERMINATED" },
		{ REFERRAL__V1__EVENT_TYPE__WITHDRAWAL_NOTICE, "WITHDRAWN" },
		{ REFERRAL__V1__EVENT_TYPE__CASE_CLOSED, "CLOSED" },
	};
	referral_rec_t *rr = NULL;
	json_t *o;
	int r = referrals_get(n, c->hdr->referral_id, &rr);

	if (r == REF_E_NOT_FOUND || (!r && (rr->direction != DIR_OUTGOING ||
					    strcmp(rr->receiver_node, peer)))) {
		snprintf(detail, dlen, "no matter %s was sent from this node to "
			 "%s", c->hdr->referral_id, peer);
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		r = state_audit(n, "rejected", c->hdr->referral_id,
				c->hdr->msg_id.data, peer, "node", "REFUSED",
				detail);
		goto out;
	}
	if (r)
		goto out;
	/* The state follows the newest notice: one that overtook an older
	 * one keeps its place (the centre numbers them, referral_seq). */
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (states[i].type == (int)ev->type &&
		    c->hdr->referral_seq > rr->seq_in)
			r = history_set_str(&rr->state, states[i].state);
	if (c->hdr->referral_seq > rr->seq_in)
		rr->seq_in = c->hdr->referral_seq;
	o = feed_event_json(ev, rr->referral_id);
	if (!r)
		r = feed_append(n, FEED_LOCAL, rr->referral_id, (int)ev->type, o,
				ev->at_ms ? ev->at_ms : util_now_ms());
	json_decref(o);
	if (!r)
		r = referrals_put(n, rr);
	if (!r)
		r = state_audit(n, "notice_received", rr->referral_id,
				c->hdr->msg_id.data, peer, "node",
				feed_event_name((int)ev->type), NULL);
	snprintf(detail, dlen, "stored");
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}

static int refuse(node_t *n, const envelope_check_t *c, const char *peer,
		  char *detail, int *ret_status)
{
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	return state_audit(n, "rejected", c->hdr->referral_id,
			   c->hdr->msg_id.data, peer, "node", "REFUSED", detail);
}

int events_receive(node_t *n, const envelope_check_t *c, const char *peer,
		   char *detail, size_t dlen, int *ret_status)
{
	const dir_node_t *from = directory_node(n->dir, peer);
	Referral__V1__CaseEvent *ev = NULL;
	int kind = (int)c->hdr->kind, type, r = 0;
	bool notice = from && !strcmp(from->role, "legal_aid_centre") &&
		      kind_of_role(n->cfg.role) == kind;
	referral_rec_t *rr = NULL;

	/* Who may send what, before a byte of the body is read: an agency's
	 * event to a centre, or a centre's notice back to that agency. */
	if (!notice && (!from || kind_of_role(from->role) != kind)) {
		snprintf(detail, dlen, "%s comes from %s node, or from a legal-aid "
			 "centre to one; %s is %s", envelope_kind_name(kind),
			 who_sends(kind), peer, from ? from->role
						     : "not in the directory");
		return refuse(n, c, peer, detail, ret_status);
	}
	if (!notice && strcmp(n->cfg.role, "legal_aid_centre")) {
		snprintf(detail, dlen, "this node (%s) is not a legal-aid centre",
			 n->cfg.role);
		return refuse(n, c, peer, detail, ret_status);
	}
	ev = referral__v1__case_event__unpack(NULL, c->env->body.len,
					      c->env->body.data);
	if (!ev) {
		snprintf(detail, dlen, "the %s body does not parse",
			 envelope_kind_name(kind));
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		return state_audit(n, "rejected", c->hdr->referral_id,
				   c->hdr->msg_id.data, peer, "node", "MALFORMED",
				   detail);
	}
	type = (int)ev->type;
	if (!texts_ok(ev) || !strcmp(feed_event_name(type), "unknown")) {
		snprintf(detail, dlen, "the %s body %s", envelope_kind_name(kind),
			 texts_ok(ev) ? "names no event type this node knows"
				      : "holds text that is not UTF-8");
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		r = state_audit(n, "rejected", c->hdr->referral_id,
				c->hdr->msg_id.data, peer, "node", "MALFORMED",
				detail);
		goto out;
	}
	if (notice) {
		if (type < REFERRAL__V1__EVENT_TYPE__AID_GRANTED) {
			snprintf(detail, dlen, "a legal-aid centre sends notices "
				 "(aid granted, assignment...), not %s",
				 feed_event_name(type));
			r = refuse(n, c, peer, detail, ret_status);
		} else {
			r = take_notice(n, c, ev, peer, detail, dlen, ret_status);
		}
		goto out;
	}
	if (!type_allowed(kind, type)) {
		snprintf(detail, dlen, "%s is not an event %s sends",
			 feed_event_name(type), who_sends(kind));
		r = refuse(n, c, peer, detail, ret_status);
		goto out;
	}
	r = referrals_get(n, c->hdr->referral_id, &rr);
	if (r && r != REF_E_NOT_FOUND)
		goto out;
	if (!opens(type)) {
		if (r == REF_E_NOT_FOUND || strcmp(rr->origin_node, peer) ||
		    !rr->origin_kind) {
			snprintf(detail, dlen, "no matter %s from %s on this node",
				 c->hdr->referral_id, peer);
			r = refuse(n, c, peer, detail, ret_status);
			goto out;
		}
		r = state_audit(n, kind == KIND_COURT ? "court_event"
						      : "labour_event",
				rr->referral_id, c->hdr->msg_id.data, peer,
				ev->body_name[0] ? ev->body_name : "node",
				feed_event_name(type),
				ev->detail[0] ? ev->detail : NULL);
		snprintf(detail, dlen, "stored");
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
		goto out;
	}
	if (!r) {
		snprintf(detail, dlen, "matter %s was already received under "
			 "another message", c->hdr->referral_id);
		r = refuse(n, c, peer, detail, ret_status);
		goto out;
	}
	if (strncmp(c->hdr->referral_id, peer, 6) || c->hdr->referral_seq != 1 ||
	    !ev->application || !ev->application->matter) {
		snprintf(detail, dlen, "%s opens a matter: referral_seq 1, an id "
			 "starting with %s, and the application", feed_event_name(type),
			 peer);
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		r = state_audit(n, "rejected", c->hdr->referral_id,
				c->hdr->msg_id.data, peer, "node", "MALFORMED",
				detail);
		goto out;
	}
	{
		application_limits_t lim = { (size_t)n->cfg.max_document_bytes,
					     (size_t)n->cfg.max_documents, NULL,
					     true };
		referral_rec_t rec = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
		char inner[300];

		if (application_check(ev->application, &lim, inner,
				      sizeof(inner))) {
			snprintf(detail, dlen, "the application: %s", inner);
			r = refuse(n, c, peer, detail, ret_status);
			goto out;
		}
		new_incoming(&rec, c->hdr->referral_id, peer, n->cfg.code,
			     c->hdr->msg_id.data, ev->application, ev, kind,
			     util_now_ms());
		r = referrals_take_in(n, &rec, NULL, ev->application,
				      opening_state(type), c->hdr->created_at_ms,
				      c->hdr->msg_id.data, NULL);
	}
	snprintf(detail, dlen, "stored");
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
out:
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	referral__v1__case_event__free_unpacked(ev, NULL);
	return r;
}
