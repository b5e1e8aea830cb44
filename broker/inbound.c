/* inbound.c: see inbound.h. Writes no field of the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "application.h"
#include "checkpoint.h"
#include "delivery.h"
#include "dirsync.h"
#include "events.h"
#include "held.h"
#include "inbound.h"
#include "outbox.h"
#include "objection.h"
#include "keys.h"
#include "log.h"
#include "pblimits.h"
#include "quota.h"
#include "prune.h"
#include "referrals.h"
#include "restoresync.h"
#include "util.h"

/* Builds the signed receipt for a checked envelope (*ret malloc'd). */
static int make_receipt(node_t *n, const envelope_check_t *c, const char *peer,
			int status, const char *detail, uint64_t now,
			bool batched, uint8_t **ret, size_t *ret_len)
{
	envelope_signer_t s = keys_signer(n);
	envelope_fields_t f = { 0 };
	uint8_t *body;
	size_t blen;
	int r;

	r = envelope_receipt_body(c, now, status, detail, &body, &blen);
	if (r)
		return r;
	f.to_node = peer;
	f.kind = REFERRAL__V1__KIND__RECEIPT;
	/* Copied from the message when it could be read at all. */
	f.referral_id = c->hdr && util_utf8_valid(c->hdr->referral_id,
						   strlen(c->hdr->referral_id))
				? c->hdr->referral_id : "";
	f.created_at_ms = now;
	/* A message kept in the inbox: its receipt is signed with the turn's
	 * other new messages (outbox.c), in the inbox record and the reply
	 * alike. Any other receipt (a refusal, a duplicate, a held change)
	 * is signed alone, now. */
	if (batched)
		r = outbox_receipt(n, peer, f.referral_id, body, blen, now,
				   c->hdr->msg_id.data, ret, ret_len);
	else
		r = envelope_build(&s, &f, body, blen, ret, ret_len, NULL);
	free(body);
	return r;
}

/* Keeps a STORED message: its inbox record (or, for a held change, the
 * held record, kept once), its seen record and its audit event, counted
 * against peer's quota. */
static int apply_submit(node_t *n, const envelope_check_t *c,
			const uint8_t *buf, size_t len, const char *peer,
			uint64_t now, const uint8_t *receipt, size_t rlen,
			bool held)
{
	Referral__V1__Header *h = c->hdr;
	Referral__Store__V1__InboxRecord in = REFERRAL__STORE__V1__INBOX_RECORD__INIT;
	Referral__Store__V1__ReferralRecord rr =
		REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
	Referral__Store__V1__SeenRecord seen = REFERRAL__STORE__V1__SEEN_RECORD__INIT;
	Referral__V1__ReferralSubmit *body;
	int r;

	if (h->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		body = referral__v1__referral_submit__unpack(
			NULL, c->env->body.len, c->env->body.data);
		if (!body)
			return REF_E_MALFORMED;
	} else {
		body = NULL; /* a status change or supplement: inbox and seen */
	}
	in.envelope.data = (uint8_t *)buf;
	in.envelope.len = len;
	in.from_node = (char *)peer;
	in.referral_id = h->referral_id;
	in.kind = h->kind;
	in.received_at_ms = now;
	in.receipt.data = (uint8_t *)receipt;
	in.receipt.len = rlen;
	rr.referral_id = h->referral_id;
	rr.direction = DIR_INCOMING;
	rr.origin_node = (char *)peer;
	rr.receiver_node = n->cfg.code;
	rr.submit_msg_id = h->msg_id;
	rr.created_at_ms = now;
	rr.updated_at_ms = now;
	rr.state = "RECEIVED";
	if (body) {
		rr.case_type = body->matter ? body->matter->case_type : "";
		rr.service = body->matter ? body->matter->service : "";
		/* The origin's submit is its first message about it. */
		rr.seq_in = h->referral_seq;
		rr.priority = (uint32_t)application_priority(body);
		rr.limitation_deadline = body->matter
			? body->matter->limitation_deadline : "";
	}
	seen.from_node = (char *)peer;
	seen.received_at_ms = now;
	seen.created_at_ms = h->created_at_ms; /* what prune.c ages by */
	seen.envelope_sha256.data = (uint8_t *)c->sha256;
	seen.envelope_sha256.len = 32;
	if (held) {
		r = held_put(n, h, buf, len, peer, now, receipt, rlen);
	} else {
		r = store_put_msg(n->store, STORE_INBOX, h->msg_id.data, 16,
				  &in.base);
		if (!r)
			r = quota_add(n, peer, 0, 0, (int64_t)len);
	}
	if (!r)
		r = store_put_msg(n->store, STORE_SEEN, h->msg_id.data, 16,
				  &seen.base);
	if (!r)
		r = state_audit(n, "received", h->referral_id, h->msg_id.data, peer,
			  "node", "STORED", envelope_kind_name(h->kind));
	if (!r && body)
		r = referrals_take_in(n, &rr, NULL, body, "RECEIVED",
				      h->created_at_ms, h->msg_id.data, peer);
	if (body)
		referral__v1__referral_submit__free_unpacked(body, NULL);
	return r;
}

/* [limits] max_string_bytes and max_list_items on a body of kind, and
 * max_document_bytes and max_message_document_bytes on its bytes fields:
 * 0, or REF_E_TOO_LARGE with detail naming the field (never its value). */
int inbound_body_limits(node_t *n, uint32_t kind, const uint8_t *body,
		       size_t len, char *detail, size_t dlen)
{
	const ProtobufCMessageDescriptor *d =
		kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT
			? &referral__v1__referral_submit__descriptor
		: kind == REFERRAL__V1__KIND__STATUS_CHANGE
			? &referral__v1__status_change__descriptor
		: kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT
			? &referral__v1__materials_supplement__descriptor
		: kind == REFERRAL__V1__KIND__COURT_EVENT ||
		  kind == REFERRAL__V1__KIND__LABOUR_EVENT
			? &referral__v1__case_event__descriptor : NULL;
	ProtobufCMessage *m;
	char where[200];
	int r;

	if (!d)
		return 0;
	m = protobuf_c_message_unpack(d, NULL, len, body);
	if (!m)
		return 0; /* the body check reports what does not parse */
	r = pblimits_check(m, (size_t)n->cfg.max_string_bytes,
			   (size_t)n->cfg.max_list_items, where, sizeof(where));
	if (r) {
		snprintf(detail, dlen, "%s ([limits] max_string_bytes, "
			 "max_list_items)", where);
	} else {
		r = pblimits_check_bytes(m, (size_t)n->cfg.max_document_bytes,
				(size_t)n->cfg.max_message_document_bytes,
				where, sizeof(where));
		if (r)
			snprintf(detail, dlen, "%s ([limits] max_document_bytes, "
				 "max_message_document_bytes)", where);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return r;
}

/* A SUBMIT for a referral already held: is it the same application (same
 * body digest) as the one that created it? */
static bool same_submit(node_t *n, const Referral__V1__Header *h)
{
	Referral__Store__V1__ReferralRecord *rr = NULL;
	Referral__Store__V1__InboxRecord *ib = NULL;
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Header *old = NULL;
	bool same = false;

	if (!store_get_msg(n->store, STORE_REFERRALS, h->referral_id,
			   strlen(h->referral_id),
			   &referral__store__v1__referral_record__descriptor,
			   (ProtobufCMessage **)&rr) &&
	    rr->submit_msg_id.len == 16 &&
	    !strcmp(rr->origin_node, h->from_node) &&
	    !store_get_msg(n->store, STORE_INBOX, rr->submit_msg_id.data, 16,
			   &referral__store__v1__inbox_record__descriptor,
			   (ProtobufCMessage **)&ib) &&
	    (e = referral__v1__envelope__unpack(NULL, ib->envelope.len,
						ib->envelope.data)) &&
	    (old = referral__v1__header__unpack(NULL, e->header.len,
						e->header.data)))
		same = old->body_digest.len == 32 && h->body_digest.len == 32 &&
		       !memcmp(old->body_digest.data, h->body_digest.data, 32);
	if (old)
		referral__v1__header__free_unpacked(old, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	if (ib)
		referral__store__v1__inbox_record__free_unpacked(ib, NULL);
	if (rr)
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return same;
}

/* Application-level refusals of an envelope that passed every wire check:
 * 0 (none), or the receipt status that answers it (detail says why). */
static int refuse_reason(node_t *n, const envelope_check_t *c, const char *peer,
			 char *detail, size_t dlen)
{
	Referral__V1__Header *h = c->hdr;
	uint8_t *v;
	size_t vl;

	if (h->kind == REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
		return checkpoint_refuse(c, detail, dlen);
	if (h->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE ||
	    h->kind == REFERRAL__V1__KIND__RESTORE_SYNC)
		return 0; /* node-level: no referral */
	if (h->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT &&
	    h->kind != REFERRAL__V1__KIND__STATUS_CHANGE &&
	    h->kind != REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT &&
	    h->kind != REFERRAL__V1__KIND__COURT_EVENT &&
	    h->kind != REFERRAL__V1__KIND__LABOUR_EVENT) {
		snprintf(detail, dlen, "kind %s is not handled by this node",
			 envelope_kind_name(h->kind));
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (!util_referral_id_valid(h->referral_id)) {
		snprintf(detail, dlen, "referral_id is not <origin code>-<32 hex "
			 "digits>");
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (inbound_body_limits(n, h->kind, c->env->body.data, c->env->body.len,
			detail, dlen))
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	if (h->kind == REFERRAL__V1__KIND__COURT_EVENT ||
	    h->kind == REFERRAL__V1__KIND__LABOUR_EVENT)
		return 0; /* events.c judges the sender, the type and the matter */
	if (h->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		referral_rec_t *rr = NULL;
		int known = store_get_msg(n->store, STORE_REFERRALS, h->referral_id,
					  strlen(h->referral_id),
					  &referral__store__v1__referral_record__descriptor,
					  (ProtobufCMessage **)&rr) == 0;
		int party = known && (!strcmp(rr->origin_node, peer) ||
				      !strcmp(rr->receiver_node, peer));
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
		/* A change from a referral's origin may overtake the referral
		 * itself: handle_change holds it until the referral arrives. */
		if (!known && !strncmp(h->referral_id, peer, 6) &&
		    h->referral_seq > 1 && h->referral_seq <= 64)
			return 0;
		/* This node was restored from a backup and lost a referral
		 * it originated: the peer's change about it, pending while
		 * we were down, can come before the peer's RESTORE_SYNC that
		 * brings the referral back. Refused, it would be a dead
		 * letter at the peer; held, it applies once the referral is
		 * back (or expires with its lifetime). */
		if (!known && restoresync_originated_by(h->referral_id,
							n->cfg.code) &&
		    h->referral_seq >= 1 && h->referral_seq <= 64 &&
		    restoresync_window(n, util_now_ms()))
			return 0;
		if (!known) {
			snprintf(detail, dlen, "no referral %s on this node",
				 h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		}
		/* A justice bureau that oversees the centre: its objections
		 * and decisions (objection.c). */
		if (!party && !objection_from_bureau(n, c, peer)) {
			snprintf(detail, dlen, "%s is not a party to referral %s",
				 peer, h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
		}
		if (h->referral_seq == 0) {
			snprintf(detail, dlen, "a status change needs a "
				 "referral_seq");
			return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		}
		return 0;
	}
	/* Only a legal-aid centre decides on legal aid: a court or labour
	 * node that took one would hold it with nobody to review it. */
	if (strcmp(n->cfg.role, "legal_aid_centre")) {
		snprintf(detail, dlen, "this node is a %s, not a legal-aid "
			 "centre: it takes no referrals", n->cfg.role);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (strncmp(h->referral_id, peer, 6) != 0) {
		snprintf(detail, dlen, "a referral submitted by %s must have an "
			 "id starting with %s", peer, peer);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	if (h->referral_seq != 1) {
		/* The origin numbers its messages about a referral from 1,
		 * and the submit is the first: later ones are ordered by it. */
		snprintf(detail, dlen, "a referral's submit must be its "
			 "referral_seq 1, not %llu",
			 (unsigned long long)h->referral_seq);
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (store_get(n->store, STORE_REFERRALS, h->referral_id,
		      strlen(h->referral_id), &v, &vl) == 0) {
		free(v);
		/* The same application sent again under a new message (the
		 * origin requeued it after its lifetime, not knowing it had
		 * arrived): applied once already, so a duplicate. */
		if (same_submit(n, h)) {
			snprintf(detail, dlen, "referral %s is already stored "
				 "(sent again under a new message); applied once",
				 h->referral_id);
			return REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
		}
		snprintf(detail, dlen, "referral %s was already received under "
			 "another message", h->referral_id);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	return 0;
}

/* A peer message checked on the crypto threads (inbound_read; job: its
 * policy and its check, which this takes over): applied, answered, or
 * refused. */
static void handle_peer_message(node_t *n, const uint8_t *rid, size_t rid_len,
				verifier_job_t *job, const char *peer,
				bool multipart)
{
	const envelope_policy_t pol = job->pol;
	const uint8_t *buf = job->buf;
	size_t len = job->len;
	envelope_check_t c = job->c;
	uint8_t *receipt = NULL, *v;
	size_t rlen = 0, vl;
	char detail[400], idhex[33] = "-";
	const char *rid_str;
	turn_mark_t mark;
	bool change_audited = false, held = false, batched = false;
	int st = job->st, r;

	if (st < 0) {
		log_msg(LOG_ERROR, "peer", "peer=%s verify failed: %s", peer,
			ref_strerror(st));
		envelope_check_free(&c);
		return;
	}
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED && multipart) {
		st = c.status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		snprintf(c.detail, sizeof(c.detail),
			 "a peer message must be a single frame");
	}
	if (c.hdr && (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT ||
		      c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH)) {
		/* Receipts are never acknowledged, not even a bad one:
		 * apply a good one, log a bad one, answer nothing. */
		if (st == REFERRAL__V1__RECEIPT_STATUS__STORED)
			delivery_receipt(n, &c, buf, len, peer);
		else
			delivery_receipt_rejected(n, &c, peer, st);
		envelope_check_free(&c);
		return;
	}
	snprintf(detail, sizeof(detail), "%s", c.detail);
	if (c.hdr && c.hdr->msg_id.len == 16)
		state_msg_hex(c.hdr->msg_id.data, idhex);
	rid_str = c.hdr && util_referral_id_valid(c.hdr->referral_id)
			  ? c.hdr->referral_id : NULL;

	mark = turn_mark(&n->turn);
	if (store_event_begin(n->store)) {
		envelope_check_free(&c);
		return;
	}
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    store_get(n->store, STORE_SEEN, c.hdr->msg_id.data, 16, &v, &vl) == 0) {
		Referral__Store__V1__SeenRecord *sr =
			referral__store__v1__seen_record__unpack(NULL, vl, v);
		free(v);
		/* A duplicate is the same message: same sender, same bytes.
		 * Another message reusing the id must not pass as delivered. */
		if (sr && !strcmp(sr->from_node, peer) &&
		    sr->envelope_sha256.len == 32 &&
		    !memcmp(sr->envelope_sha256.data, c.sha256, 32)) {
			st = REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;
			snprintf(detail, sizeof(detail),
				 "already stored; applied once");
		} else {
			st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
			snprintf(detail, sizeof(detail), "msg_id %s was already "
				 "used by another message", idhex);
		}
		if (sr)
			referral__store__v1__seen_record__free_unpacked(sr, NULL);
	} else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED) {
		int why = refuse_reason(n, &c, peer, detail, sizeof(detail));
		if (why)
			st = why;
		else
			snprintf(detail, sizeof(detail), "stored");
		/* Past its quota, a peer's messages wait at the sender, which
		 * resends later (quota.h): nothing of it is refused. */
		if (!why && c.hdr->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT &&
		    c.hdr->kind != REFERRAL__V1__KIND__DIRECTORY_UPDATE &&
		    quota_refuses(n, peer, len)) {
			store_event_abort(n->store);
			turn_rollback(&n->turn, mark);
			envelope_check_free(&c);
			return;
		}
		if (!why && c.hdr->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE) {
			r = dirsync_update(n, &c, peer, detail, sizeof(detail),
					   &st);
			if (r)
				goto fail;
		} else if (!why &&
			   c.hdr->kind == REFERRAL__V1__KIND__RESTORE_SYNC) {
			/* restoresync_receive records its own events. */
			change_audited = true;
			restoresync_rollback_t rb = { 0, 0 };

			r = restoresync_receive(n, &c, peer, detail,
						sizeof(detail), &st, &rb);
			if (!r && rb.witnessed)
				r = checkpoint_rollback_found(n, peer,
							      rb.witnessed,
							      rb.head);
			if (r)
				goto fail;
		} else if (!why &&
			   (c.hdr->kind == REFERRAL__V1__KIND__COURT_EVENT ||
			    c.hdr->kind == REFERRAL__V1__KIND__LABOUR_EVENT)) {
			/* events_receive records its own refusals. */
			change_audited = true;
			r = events_receive(n, &c, peer, detail, sizeof(detail),
					   &st);
			if (r)
				goto fail;
		} else if (!why && objection_from_bureau(n, &c, peer)) {
			/* objection_receive records its own refusals. */
			change_audited = true;
			r = objection_receive(n, &c, peer, detail,
					      sizeof(detail), &st);
			if (r)
				goto fail;
		} else if (!why &&
			   c.hdr->kind != REFERRAL__V1__KIND__REFERRAL_SUBMIT &&
			   c.hdr->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT) {
			/* handle_change records its own refusals. */
			change_audited = true;
			r = referrals_handle_change(n, &c, buf, len, peer,
						    detail, sizeof(detail), &st,
						    &held);
			if (r)
				goto fail;
		}
	}
	batched = st == REFERRAL__V1__RECEIPT_STATUS__STORED && !held &&
		  c.hdr->msg_id.len == 16 &&
		  c.hdr->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT &&
		  c.hdr->kind != REFERRAL__V1__KIND__DIRECTORY_UPDATE &&
		  c.hdr->kind != REFERRAL__V1__KIND__RESTORE_SYNC;
	r = make_receipt(n, &c, peer, st, detail, pol.now_ms, batched,
			 &receipt, &rlen);
	if (r)
		goto fail;
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
	    c.hdr->kind == REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
		r = checkpoint_witness(n, &c, buf, len, peer);
	else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
		 (c.hdr->kind == REFERRAL__V1__KIND__DIRECTORY_UPDATE ||
		  c.hdr->kind == REFERRAL__V1__KIND__RESTORE_SYNC))
		r = 0; /* directory_update, restoresync_receive recorded it */
	else if (st == REFERRAL__V1__RECEIPT_STATUS__STORED)
		r = apply_submit(n, &c, buf, len, peer, pol.now_ms, receipt,
				 rlen, held);
	else if (st == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE)
		r = state_audit(n, "duplicate", rid_str,
			  c.hdr->msg_id.data, peer, "node", "DUPLICATE",
			  envelope_kind_name(c.hdr->kind));
	else if (!change_audited)
		r = state_audit(n, "rejected", rid_str,
			  c.hdr && c.hdr->msg_id.len == 16 ? c.hdr->msg_id.data
							    : NULL,
			  peer, "node", envelope_status_name(st), detail);
	if (r)
		goto fail;
	r = store_event_commit(n->store);
	if (r)
		goto fail;
	log_msg(st == REFERRAL__V1__RECEIPT_STATUS__STORED ||
			st == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE
		? LOG_INFO : LOG_WARN, "peer",
		"peer=%s msg_id=%s referral=%s kind=%s receipt=%s detail=\"%s\"",
		peer, idhex, rid_str ? rid_str : "-",
		c.hdr ? envelope_kind_name(c.hdr->kind) : "-",
		envelope_status_name(st), detail);
	if (batched) {
		/* The placeholder stays in the inbox record only until the
		 * turn signs it; the peer gets the signed receipt. */
		free(receipt);
		turn_reply_awaiting(&n->turn, n->peers.router, rid, rid_len,
				    c.hdr->msg_id.data);
	} else {
		turn_reply(&n->turn, n->peers.router, rid, rid_len, false,
			   receipt, rlen, NULL, 0);
	}
	envelope_check_free(&c);
	return;
fail:
	store_event_abort(n->store);
	turn_rollback(&n->turn, mark);
	free(receipt);
	/* A directory installed in this event stays on disk (it is signed
	 * and newer, so the next start takes it) but is not switched to. */
	dirsync_drop_pending(n);
	/* No receipt: the sender resends, and the store may have room by
	 * then. Deliveries already stored are untouched. REF_E_REFUSED: an
	 * early change past its sender's held bounds, logged where it was
	 * judged (referrals.c). */
	if (r != REF_E_REFUSED)
		log_msg(r == REF_E_STORE_FULL ? LOG_WARN : LOG_ERROR, "peer",
			"peer=%s msg_id=%s not stored: %s (%s); the sender "
			"will resend", peer, idhex, ref_strerror(r),
			store_last_error(n->store));
	envelope_check_free(&c);
}

/* A message read from the peer socket, kept until it is handled. */
typedef struct {
	zmq_msg_t rid, msg;
	char peer[16];
	bool multipart, checked;
} inbound_t;

/* Reads one message into m: false when none is waiting. m->checked says
 * whether it goes on to be checked (its sender is known and within its
 * rate); a dropped one is logged here. */
static bool read_one(node_t *n, inbound_t *m)
{
	const char *uid;

	memset(m->peer, 0, sizeof(m->peer));
	m->multipart = m->checked = false;
	zmq_msg_init(&m->rid);
	if (zmq_msg_recv(&m->rid, n->peers.router, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m->rid);
		return false;
	}
	zmq_msg_init(&m->msg);
	if (zmq_msg_recv(&m->msg, n->peers.router, 0) < 0) {
		zmq_msg_close(&m->rid);
		zmq_msg_close(&m->msg);
		return false;
	}
	while (zmq_msg_more(&m->msg)) {
		/* Keep the first frame; the rest only make it bad. */
		zmq_msg_t extra;
		m->multipart = true;
		zmq_msg_init(&extra);
		zmq_msg_recv(&extra, n->peers.router, 0);
		if (!zmq_msg_more(&extra)) {
			zmq_msg_close(&extra);
			break;
		}
		zmq_msg_close(&extra);
	}
	/* Identity comes from ZAP, never from the routing id. */
	uid = zmq_msg_gets(&m->msg, "User-Id");
	if (uid && strlen(uid) < sizeof(m->peer))
		snprintf(m->peer, sizeof(m->peer), "%s", uid);
	/* ZAP runs only at the handshake: a node removed from the
	 * directory since may still hold an open session. */
	if (m->peer[0] && !peers_rate_ok(&n->peers, m->peer)) {
		m->peer[0] = '\0';
	} else if (m->peer[0] && !directory_node(n->dir, m->peer)) {
		log_msg(LOG_WARN, "peer", "peer=%s is no longer in the "
			"directory; message dropped", m->peer);
		m->peer[0] = '\0';
	} else if (m->peer[0]) {
		m->checked = true;
	} else if (!uid) {
		log_msg(LOG_WARN, "peer", "message without a ZAP identity "
			"dropped");
	}
	return true;
}

/* A turn's peer messages: read and started (inbound_read), then handled
 * (inbound_handle). */
struct inbound_turn {
	inbound_t in[BATCH_PER_TURN];
	verifier_job_t jobs[BATCH_PER_TURN];
	size_t got, nj;
	verifier_batch_t batch;
};

void inbound_read(node_t *n)
{
	struct inbound_turn *t;
	uint64_t now = util_now_ms();

	if (n->inbound_pending)
		return; /* one read a turn */
	t = calloc(1, sizeof(*t));
	if (!t)
		return; /* left waiting in the socket for the next turn */
	while (t->got < BATCH_PER_TURN && read_one(n, &t->in[t->got])) {
		inbound_t *m = &t->in[t->got++];
		verifier_job_t *j = &t->jobs[t->nj];

		if (!m->checked)
			continue;
		j->pol = state_policy(n, n->cfg.code, m->peer, now);
		/* Nothing older than a pruned dedup entry. */
		prune_policy(n, &j->pol);
		j->buf = zmq_msg_data(&m->msg);
		j->len = zmq_msg_size(&m->msg);
		checkpoint_talked(n, m->peer);
		t->nj++;
	}
	verifier_start(n->verifier, &t->batch, t->jobs, t->nj);
	n->inbound_pending = t;
}

void inbound_handle(node_t *n)
{
	struct inbound_turn *t = n->inbound_pending;

	if (!t)
		return;
	n->inbound_pending = NULL;
	verifier_wait(n->verifier, &t->batch);
	for (size_t i = 0, j = 0; i < t->got; i++) {
		inbound_t *m = &t->in[i];

		if (m->checked)
			handle_peer_message(n, zmq_msg_data(&m->rid),
					    zmq_msg_size(&m->rid), &t->jobs[j++],
					    m->peer, m->multipart);
		zmq_msg_close(&m->rid);
		zmq_msg_close(&m->msg);
	}
	free(t);
}
