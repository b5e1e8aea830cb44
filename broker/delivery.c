/* delivery.c: see delivery.h. Writes store_nudge (and the schedule and
 * peers through their own functions). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "checkpoint.h"
#include "delivery.h"
#include "log.h"
#include "outbox.h"
#include "referrals.h"
#include "util.h"

/* Due messages attempted in one turn: the loop goes on to its sockets. */
#define SCHED_PER_TURN 256

static void wake_peer(node_t *n, peer_t *p, uint64_t now);

/* The resend's jitter: not a secret, so a cheap generator (xorshift64,
 * seeded once) rather than a call into OpenSSL's per message. */
static uint32_t jitter(void)
{
	static uint64_t x;

	if (!x)
		x = util_now_ms() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (uint32_t)(x >> 32);
}

/* The peer's smoothed receipt time (0 before any), at most retry_cap_ms. */
static uint64_t capped_rto(const node_t *n, const peer_t *p)
{
	uint64_t rto = peer_rto_ms(p);

	return rto > (uint64_t)n->cfg.retry_cap_ms ? (uint64_t)n->cfg.retry_cap_ms
						   : rto;
}

/* When a message sent attempts times goes again: the schedule's backoff,
 * but never before the peer's receipts usually come (peer_rto_ms): a peer
 * working through a backlog answers late, and resending then would only
 * lengthen its queue. Never later than retry_cap_ms for it either: on a
 * link that loses frames, a wait grown with the smoothed time (delays,
 * reordering) slowed recovery more than the duplicates cost. */
static uint64_t backoff_ms(const node_t *n, const peer_t *p, uint32_t attempts)
{
	uint64_t b = schedule_backoff((uint64_t)n->cfg.retry_first_ms,
				      (uint64_t)n->cfg.retry_cap_ms, attempts,
				      jitter());
	uint64_t rto = p ? capped_rto(n, p) : 0;

	if (!rto || attempts == 0)
		return b;
	return rto > b ? rto : b;
}

/* How long a peer may answer nothing before what it holds in flight is
 * taken as dropped: a resend wait (the first backoff, or the peer's
 * smoothed receipt time up to retry_cap_ms), without the jitter. */
static uint64_t silent_ms(const node_t *n, const peer_t *p)
{
	uint64_t w = (uint64_t)n->cfg.retry_first_ms, rto = capped_rto(n, p);

	return rto > w ? rto : w;
}

/* The pending message whose envelope has this SHA-256: receipts for
 * envelopes the peer could not read carry no msg_id, only the digest.
 * Only messages sent and not yet receipted can be answered, so only they
 * are hashed: at most [limits] peer_in_flight per such receipt, whatever
 * the peer's backlog (a receipt for an older send is answered again when
 * the message is resent). */
struct by_sha {
	node_t *n;
	const char *peer;
	const uint8_t *sha;
	uint8_t id[16];
	bool hit;
};

static bool sha_one(void *ctx, sched_t *e)
{
	struct by_sha *b = ctx;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	uint8_t d[32];

	if (strcmp(e->to, b->peer) || !e->in_flight ||
	    store_get_msg(b->n->store, STORE_OUTBOX, e->msg_id, 16,
			  &referral__store__v1__outbox_record__descriptor,
			  (ProtobufCMessage **)&ob))
		return false;
	util_sha256(ob->envelope.data, ob->envelope.len, d);
	b->hit = !memcmp(d, b->sha, 32);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	if (b->hit)
		memcpy(b->id, e->msg_id, 16);
	return b->hit;
}

static bool pending_by_sha(node_t *n, const char *peer, const uint8_t *sha,
			   uint8_t ret_id[16])
{
	struct by_sha b = { n, peer, sha, { 0 }, false };

	schedule_foreach(&n->sched, sha_one, &b);
	if (b.hit)
		memcpy(ret_id, b.id, 16);
	return b.hit;
}

/* For the metrics: each message's first receipt, by status, and the
 * time from its making to that receipt. */
static void count_receipt(node_t *n, uint32_t status, uint64_t ms)
{
	size_t b = 0;

	if (status < sizeof(n->receipts_by_status) / sizeof(uint64_t))
		n->receipts_by_status[status]++;
	while (b < DELIVERY_LATENCY_BUCKETS && ms > delivery_latency_le[b])
		b++;
	n->latency_buckets[b]++;
	n->latency_count++;
	n->latency_sum_ms += ms;
}

/* A RECEIPT_BATCH being applied: its envelope is kept once, under its
 * own msg_id, with the first of its entries that is kept; the entries
 * kept point at it. */
struct batch_keep {
	const uint8_t *id;
	bool kept;
};

static int keep_receipt(node_t *n, const uint8_t *msg_id,
			const uint8_t *receipt_id, const uint8_t *buf,
			size_t len, const char *peer, int status,
			struct batch_keep *bk, bool *ret_put_batch)
{
	Referral__Store__V1__ReceiptRecord rr =
		REFERRAL__STORE__V1__RECEIPT_RECORD__INIT;
	uint8_t key[32];
	int r;

	*ret_put_batch = false;
	rr.receipt.data = (uint8_t *)buf;
	rr.receipt.len = len;
	rr.from_node = (char *)peer;
	rr.received_at_ms = util_now_ms();
	if (bk && !bk->kept) {
		r = store_put_msg(n->store, STORE_RECEIPTS, receipt_id, 16,
				  &rr.base);
		if (r)
			return r;
		bk->kept = *ret_put_batch = true;
	}
	if (bk) {
		rr.receipt.data = NULL;
		rr.receipt.len = 0;
		rr.in_batch = true;
	}
	memcpy(key, msg_id, 16);
	memcpy(key + 16, receipt_id, 16);
	rr.status = (uint32_t)status;
	return store_put_msg(n->store, STORE_RECEIPTS, key, 32, &rr.base);
}

static void apply_receipt(node_t *n, const Referral__V1__Receipt *rc,
			  const uint8_t *buf, size_t len, const char *peer,
			  const char *signed_key, const uint8_t *receipt_id,
			  struct batch_keep *bk)
{
	bool put_batch = false;
	char reason[300]; /* ob->dead_reason points here until the put */
	char *had = NULL;  /* what it pointed at before */
	Referral__Store__V1__OutboxRecord *ob = NULL;
	uint8_t sha[32];
	char idhex[33];
	int r;
	bool positive = rc->status == REFERRAL__V1__RECEIPT_STATUS__STORED ||
			rc->status == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE;

	uint8_t id[16];

	if (rc->msg_id.len == 16) {
		memcpy(id, rc->msg_id.data, 16);
	} else if (rc->envelope_sha256.len != 32 ||
		   !pending_by_sha(n, peer, rc->envelope_sha256.data, id)) {
		log_msg(LOG_WARN, "delivery", "peer=%s receipt status=%s for "
			"no message of ours: \"%s\"", peer,
			envelope_status_name(rc->status), rc->detail);
		return;
	}
	state_msg_hex(id, idhex);
	r = store_get_msg(n->store, STORE_OUTBOX, id, 16,
			  &referral__store__v1__outbox_record__descriptor,
			  (ProtobufCMessage **)&ob);
	if (r) {
		log_msg(LOG_DEBUG, "delivery", "peer=%s receipt for unknown "
			"msg_id=%s", peer, idhex);
		return;
	}
	if (strcmp(ob->to_node, peer) != 0) {
		log_msg(LOG_WARN, "delivery", "peer=%s sent a receipt for "
			"msg_id=%s addressed to %s; ignored", peer, idhex,
			ob->to_node);
		goto out;
	}
	util_sha256(ob->envelope.data, ob->envelope.len, sha);
	if (rc->envelope_sha256.len != 32 ||
	    memcmp(rc->envelope_sha256.data, sha, 32)) {
		log_msg(LOG_WARN, "delivery", "peer=%s receipt for msg_id=%s "
			"names other envelope bytes; ignored", peer, idhex);
		goto out;
	}
	if (store_event_begin(n->store))
		goto out;
	/* Every receipt is kept; the first one decides the delivery. */
	r = keep_receipt(n, id, receipt_id, buf, len, peer, rc->status, bk,
			 &put_batch);
	/* A message given up for its lifetime (no receipt held) that turns
	 * out delivered after all is delivered: the receipt proves it. */
	if (!r && ob->state == OUT_DEAD && !outbox_holds_receipt(ob) &&
	    positive)
		ob->state = OUT_PENDING;
	if (r || ob->state != OUT_PENDING) {
		if (!r)
			r = state_audit(n, "receipt_again", ob->referral_id, id, peer,
				  signed_key, envelope_status_name(rc->status),
				  rc->detail);
		if (!r)
			r = store_event_commit(n->store);
		if (r) {
			store_event_abort(n->store);
			if (put_batch)
				bk->kept = false;
		}
		goto out;
	}
	ob->state = positive ? OUT_DELIVERED : OUT_DEAD;
	if (bk) {
		ob->receipt_batch.data = (uint8_t *)receipt_id;
		ob->receipt_batch.len = 16;
	} else {
		ob->receipt.data = (uint8_t *)buf;
		ob->receipt.len = len;
	}
	ob->peer_received_at_ms = rc->received_at_ms;
	ob->receipt_status = rc->status;
	ob->receipt_at_ms = util_now_ms();
	if (!positive) {
		snprintf(reason, sizeof(reason), "refused by %s: %s (%s)", peer,
			 envelope_status_name(rc->status), rc->detail);
		had = ob->dead_reason;
		ob->dead_reason = reason;
	}
	r = store_put_msg(n->store, STORE_OUTBOX, id, 16, &ob->base);
	if (!r)
		r = state_audit(n, "receipt", ob->referral_id, id, peer,
			  signed_key, envelope_status_name(rc->status),
			  rc->detail);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		if (put_batch)
			bk->kept = false;
		if (r == REF_E_STORE_FULL)
			n->store_nudge = true;
		log_msg(LOG_ERROR, "delivery", "msg_id=%s receipt not stored: "
			"%s; the message stays pending", idhex, ref_strerror(r));
	} else {
		peer_t *pp = peer_find(&n->peers, peer);

		/* Settled once the turn commits: its in-flight place is free
		 * for the peer's next message now, not at its next due time. */
		(void)turn_unschedule(&n->turn, id);
		if (pp) {
			sched_t *e = schedule_find(&n->sched, id);
			peer_receipted(pp, e ? e->send_seq : 0);
		}
		/* Sent once: how long its receipt took (a resent message's
		 * receipt may answer either send, so it says nothing). */
		if (pp && ob->sends == 1 && ob->receipt_at_ms >= ob->last_attempt_ms)
			peer_rtt_sample(pp, ob->receipt_at_ms - ob->last_attempt_ms);
		count_receipt(n, rc->status, ob->receipt_at_ms - ob->created_at_ms);
		log_msg(positive ? LOG_INFO : LOG_WARN, "delivery",
			"peer=%s msg_id=%s referral=%s receipt=%s%s%s%s%s", peer,
			idhex, ob->referral_id, envelope_status_name(rc->status),
			positive ? "" : " (not delivered: \"",
			positive ? "" : rc->detail,
			positive ? "" : "\"; refctl list --dead",
			rc->status == REFERRAL__V1__RECEIPT_STATUS__STALE
			? ", and check this node's clock)" : positive ? "" : ")");
	}
	ob->receipt.data = NULL; /* borrowed */
	ob->receipt.len = 0;
	ob->receipt_batch.data = NULL;
	ob->receipt_batch.len = 0;
out:
	if (ob) {
		/* Only the reason on the stack is ours to take back: a reason
		 * the record already held (a dead message's, when a second
		 * receipt comes) is protobuf-c's, and is freed with it. */
		if (ob->dead_reason == reason)
			ob->dead_reason = had;
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
}

void delivery_receipt_rejected(node_t *n, const envelope_check_t *c,
			       const char *peer, int st)
{
	const uint8_t *id = c->hdr && c->hdr->msg_id.len == 16
			    ? c->hdr->msg_id.data : NULL;
	const char *rid = c->hdr && util_referral_id_valid(c->hdr->referral_id)
			  ? c->hdr->referral_id : NULL;

	log_msg(LOG_WARN, "delivery", "peer=%s receipt rejected: %s (%s)", peer,
		envelope_status_name(st), c->detail);
	if (store_event_begin(n->store))
		return;
	if (state_audit(n, "receipt_rejected", rid, id, peer, "node",
			envelope_status_name(st), c->detail) ||
	    store_event_commit(n->store))
		store_event_abort(n->store);
}

/* Whether a RECEIPT_BATCH's entries may point at one copy of it kept
 * under its msg_id: yes when nothing is kept there yet (*ret_kept false)
 * or the very same bytes are (*ret_kept true: the batch came again). A
 * different envelope under that msg_id is another batch reusing the id:
 * what is kept there proves other messages' delivery and is never
 * replaced, so this batch's entries keep their own copy, as single
 * receipts do. */
static bool batch_kept_as(node_t *n, const uint8_t id[16], const uint8_t *buf,
			  size_t len, const char *peer, bool *ret_kept)
{
	Referral__Store__V1__ReceiptRecord *rr = NULL;
	char hex[33];
	bool same;
	int r = store_get_msg(n->store, STORE_RECEIPTS, id, 16,
			      &referral__store__v1__receipt_record__descriptor,
			      (ProtobufCMessage **)&rr);

	*ret_kept = false;
	if (r == REF_E_NOT_FOUND)
		return true;
	if (r)
		return false;
	same = rr->receipt.len == len && !memcmp(rr->receipt.data, buf, len);
	referral__store__v1__receipt_record__free_unpacked(rr, NULL);
	if (!same)
		log_msg(LOG_WARN, "delivery", "peer=%s sent a receipt batch "
			"under msg_id=%s, which another batch holds; its "
			"receipts are kept each in full", peer,
			state_msg_hex(id, hex));
	*ret_kept = same;
	return same;
}

void delivery_receipt(node_t *n, const envelope_check_t *checked,
		      const uint8_t *buf, size_t len, const char *peer)
{
	const envelope_check_t c = *checked;

	if (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT) {
		Referral__V1__Receipt *rc = referral__v1__receipt__unpack(
			NULL, c.env->body.len, c.env->body.data);
		if (rc) {
			apply_receipt(n, rc, buf, len, peer, c.hdr->key_id,
				      c.hdr->msg_id.data, NULL);
			referral__v1__receipt__free_unpacked(rc, NULL);
		}
	} else if (c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH) {
		Referral__V1__ReceiptBatch *rb = referral__v1__receipt_batch__unpack(
			NULL, c.env->body.len, c.env->body.data);
		struct batch_keep bk = { c.hdr->msg_id.data, false };
		bool shared = batch_kept_as(n, c.hdr->msg_id.data, buf, len,
					    peer, &bk.kept);

		for (size_t i = 0; rb && i < rb->n_receipts; i++)
			apply_receipt(n, rb->receipts[i], buf, len, peer,
				      c.hdr->key_id, c.hdr->msg_id.data,
				      shared ? &bk : NULL);
		if (rb)
			referral__v1__receipt_batch__free_unpacked(rb, NULL);
	} else {
		log_msg(LOG_WARN, "delivery", "peer=%s sent kind %s on a "
			"delivery connection; ignored", peer,
			envelope_kind_name(c.hdr->kind));
	}
}

/* A turn's receipts from the peers' DEALERs, read and being checked
 * (delivery_read) until they are applied (delivery_handle). */
struct receipts_turn {
	size_t got;
	zmq_msg_t *msgs;
	char (*peer)[16];
	verifier_job_t *jobs;
	verifier_batch_t batch;
};

static void receipts_free(struct receipts_turn *t)
{
	free(t->msgs);
	free(t->peer);
	free(t->jobs);
	free(t);
}

void delivery_read(node_t *n, zmq_pollitem_t *items, size_t first)
{
	struct receipts_turn *t;
	uint64_t now = util_now_ms();
	size_t ready = 0, cap;

	if (n->receipts_pending)
		return; /* one read a turn */
	for (size_t i = 0; i < n->peers.n; i++)
		if (n->peers.v[i].dealer && (items[first + i].revents & ZMQ_POLLIN))
			ready++;
	if (!ready)
		return;
	cap = ready * BATCH_PER_TURN;
	t = calloc(1, sizeof(*t));
	if (t) {
		t->msgs = calloc(cap, sizeof(*t->msgs));
		t->peer = calloc(cap, sizeof(*t->peer));
		t->jobs = calloc(cap, sizeof(*t->jobs));
	}
	if (!t || !t->msgs || !t->peer || !t->jobs) {
		if (t)
			receipts_free(t);
		return; /* they wait in the sockets */
	}
	for (size_t i = 0; i < n->peers.n; i++) {
		peer_t *p = &n->peers.v[i];

		if (!p->dealer || !(items[first + i].revents & ZMQ_POLLIN))
			continue;
		for (int k = 0; k < BATCH_PER_TURN && t->got < cap; k++) {
			zmq_msg_t *m = &t->msgs[t->got];
			verifier_job_t *j = &t->jobs[t->got];

			zmq_msg_init(m);
			if (zmq_msg_recv(m, p->dealer, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(m);
				break;
			}
			snprintf(t->peer[t->got], sizeof(t->peer[0]), "%s",
				 p->code);
			j->pol = state_policy(n, n->cfg.code, t->peer[t->got],
					      now);
			j->buf = zmq_msg_data(m);
			j->len = zmq_msg_size(m);
			t->got++;
		}
	}
	verifier_start(n->verifier, &t->batch, t->jobs, t->got);
	n->receipts_pending = t;
}

void delivery_handle(node_t *n)
{
	struct receipts_turn *t = n->receipts_pending;

	if (!t)
		return;
	n->receipts_pending = NULL;
	verifier_wait(n->verifier, &t->batch);
	for (size_t k = 0; k < t->got; k++) {
		verifier_job_t *j = &t->jobs[k];

		if (j->st == REFERRAL__V1__RECEIPT_STATUS__STORED)
			delivery_receipt(n, &j->c, j->buf, j->len, t->peer[k]);
		else
			delivery_receipt_rejected(n, &j->c, t->peer[k], j->st);
		envelope_check_free(&j->c);
		zmq_msg_close(&t->msgs[k]);
	}
	receipts_free(t);
}

static int load_one(void *ctx, const uint8_t *k, size_t kl,
			  const uint8_t *v, size_t vl)
{
	node_t *n = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	sched_t s = { 0 };
	int r = 0;

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state == OUT_PENDING) {
		memcpy(s.msg_id, k, 16);
		s.next_ms = ob->next_attempt_ms;
		s.priority = ob->priority;
		s.created_ms = ob->created_at_ms;
		snprintf(s.to, sizeof(s.to), "%s", ob->to_node);
		r = schedule_add(&n->sched, &s);
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return r;
}

/* One due message: send it (or find it dead) and record the attempt. */
static void attempt(node_t *n, sched_t *s, uint64_t now)
{
	turn_mark_t mark;
	Referral__Store__V1__OutboxRecord *ob = NULL;
	char idhex[33], reason[200];
	peer_t *p;
	int r, sent = 0;

	uint8_t ob_id[16];

	memcpy(ob_id, s->msg_id, 16);
	state_msg_hex(s->msg_id, idhex);
	/* A store rolled back in secret sends nothing until an admin has
	 * acknowledged it (checkpoint.h): due again later, in order. */
	if (n->rolled_back) {
		schedule_set_next(&n->sched, s, now + 2000);
		return;
	}
	/* A peer known down and still not reachable: only the in-memory
	 * schedule moves. Reading and rewriting every record of a week's
	 * backlog at each retry would cost the disk for nothing; the record
	 * is touched again when the peer answers, or at the lifetime's end. */
	p = peer_get(&n->peers, n->dir, s->to);
	if (p && p->woke)
		return; /* due again next turn, in order */
	if (p && p->down && !peer_writable(p) &&
	    s->created_ms + (uint64_t)n->cfg.message_lifetime_ms >= now) {
		s->down_tries++;
		schedule_set_next(&n->sched, s, now + backoff_ms(n, NULL, s->down_tries + 1));
		return;
	}
	/* In flight to a peer still answering, and sent after everything it
	 * has answered: the message waits in the peer's queue (one connection
	 * delivers in order). Resent on a timer it would only lengthen that
	 * queue: a peer slower than the resend wait got every message of a
	 * deep window again and again, and spent its turns on duplicates.
	 * Looked at again a resend wait later. One sent before a message the
	 * peer answered was lost (or its receipt was), and goes again now;
	 * so does everything once the peer has answered nothing for a whole
	 * resend wait, or twice its usual longest pause between turns if
	 * longer, at most a heartbeat timeout (its connection alive, it may
	 * have dropped the rest: its rate quota drops a burst's tail, a full
	 * store answers nothing), or its connection drops (peer.c). */
	if (s->in_flight && p && !p->down &&
	    s->created_ms + (uint64_t)n->cfg.message_lifetime_ms >= now &&
	    peer_working(p, s->send_seq, silent_ms(n, p),
			 3 * (uint64_t)n->cfg.heartbeat_ms)) {
		schedule_set_next(&n->sched, s, now + backoff_ms(n, p, 1));
		return;
	}
	r = store_get_msg(n->store, STORE_OUTBOX, s->msg_id, 16,
			  &referral__store__v1__outbox_record__descriptor,
			  (ProtobufCMessage **)&ob);
	if (r || ob->state != OUT_PENDING) {
		if (r)
			log_msg(LOG_ERROR, "delivery", "msg_id=%s cannot be read: "
				"%s", idhex, ref_strerror(r));
		schedule_remove(&n->sched, s->msg_id);
		goto out;
	}
	mark = turn_mark(&n->turn);
	if (store_event_begin(n->store))
		goto out;
	if (ob->created_at_ms + (uint64_t)n->cfg.message_lifetime_ms < now) {
		char fresh[33] = "";
		snprintf(reason, sizeof(reason), "no receipt within the message "
			 "lifetime of %lld ms after %u attempts",
			 (long long)n->cfg.message_lifetime_ms, ob->attempts);
		/* A status change keeps its place in the referral's sequence:
		 * dropping it would leave a gap the receiver waits on for
		 * ever. It goes again, signed anew, under the same seq. */
		if ((ob->kind == REFERRAL__V1__KIND__STATUS_CHANGE ||
		     ob->kind == REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) &&
		    !outbox_resign(n, ob, now, fresh)) {
			snprintf(reason, sizeof(reason), "no receipt within the "
				 "message lifetime; sent again, signed anew, as "
				 "msg_id %s", fresh);
		}
		char *had = ob->dead_reason;

		ob->state = OUT_DEAD;
		ob->dead_reason = reason;
		r = store_put_msg(n->store, STORE_OUTBOX, s->msg_id, 16, &ob->base);
		if (!r)
			r = state_audit(n, "dead", ob->referral_id, s->msg_id,
				  ob->to_node, "node", "dead", reason);
		ob->dead_reason = had; /* protobuf-c's, freed with ob */
		if (!r)
			r = store_event_commit(n->store);
		if (r) {
			store_event_abort(n->store);
			turn_rollback(&n->turn, mark);
		} else {
			log_msg(LOG_WARN, "delivery", "msg_id=%s referral=%s "
				"peer=%s dead: %s", idhex, ob->referral_id,
				ob->to_node, reason);
			schedule_remove(&n->sched, s->msg_id);
		}
		goto out;
	}
	p = peer_get(&n->peers, n->dir, ob->to_node);
	if (p && p->down) {
		/* Back from an outage? Then its whole backlog goes next turn,
		 * in priority order, not this message first. */
		if (peer_writable(p)) {
			wake_peer(n, p, now);
			store_event_abort(n->store);
			goto out;
		}
		errno = EAGAIN;
	} else if (p && zmq_send(p->dealer, ob->envelope.data, ob->envelope.len,
				 ZMQ_DONTWAIT) >= 0) {
		sent = 1;
		schedule_set_in_flight(&n->sched, s, true);
		s->send_seq = peer_sent(p);
		checkpoint_talked(n, ob->to_node);
	}
	else if (p && errno == EAGAIN) {
		peer_mark_down(p);
		if (util_mono_ms() - p->opened_mono < 2000) {
			/* The connection is still being made: not an
			 * attempt yet. */
			store_event_abort(n->store);
			schedule_set_next(&n->sched, s, now + 100);
			goto out;
		}
	}
	ob->attempts++;
	ob->sends += (uint32_t)sent;
	ob->last_attempt_ms = now;
	ob->next_attempt_ms = now + backoff_ms(n, p, ob->attempts);
	schedule_set_next(&n->sched, s, ob->next_attempt_ms);
	r = store_put_msg(n->store, STORE_OUTBOX, ob_id, 16, &ob->base);
	/* The first send, then every power-of-two send: the trail shows the
	 * effort without a record per resend over a week's outage. */
	if (!r && sent && (ob->sends & (ob->sends - 1)) == 0)
		r = state_audit(n, ob->sends == 1 ? "sent" : "resent",
			  ob->referral_id, s->msg_id, ob->to_node, "node",
			  "ok", NULL);
	if (!r)
		r = store_event_commit(n->store);
	if (r)
		store_event_abort(n->store);
	log_msg(LOG_DEBUG, "delivery", "msg_id=%s peer=%s attempt=%u %s",
		idhex, ob->to_node, ob->attempts,
		sent ? "sent" : "peer not connected");
out:
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
}

static void wake_peer(node_t *n, peer_t *p, uint64_t now)
{
	/* Found back in the middle of a turn: nothing more goes to it in
	 * this turn, whose list held only what happened to be due; the next
	 * turn takes its whole backlog by priority. */
	peer_mark_back(p);
	schedule_due_now(&n->sched, p->code, now);
	log_msg(LOG_INFO, "delivery", "peer=%s reachable again; its backlog "
		"is due", p->code);
}

static void wake_returned_peers(node_t *n, uint64_t now)
{
	for (size_t i = 0; i < n->peers.n; i++)
		if (n->peers.v[i].down && peer_writable(&n->peers.v[i]))
			wake_peer(n, &n->peers.v[i], now);
}

void delivery_run(node_t *n)
{
	uint64_t now = util_now_ms();
	uint8_t (*ids)[16] = malloc(SCHED_PER_TURN * 16);
	size_t n_ids;

	if (!ids)
		return;
	peers_new_turn(&n->peers);
	wake_returned_peers(n, now);
	peers_new_turn(&n->peers);
	/* Urgent first, then the green channel, then the rest. */
	n_ids = schedule_take_due(&n->sched, now, ids, SCHED_PER_TURN);
	for (size_t k = 0; k < n_ids; k++) {
		sched_t *e = schedule_find(&n->sched, ids[k]);

		if (!e)
			continue;
		/* [limits] peer_in_flight: a message not yet sent waits while
		 * its peer already holds that many unreceipted, parked in
		 * priority order until a receipt frees a place (a backlog of
		 * a week costs no walk per turn); resends go on. */
		if (!e->in_flight &&
		    (schedule_in_flight(&n->sched, e->to) >=
		     (size_t)n->cfg.peer_in_flight ||
		     schedule_parked_ahead(&n->sched, e))) {
			if (schedule_park(&n->sched, e))
				schedule_set_next(&n->sched, e, now + 50);
			continue;
		}
		attempt(n, e, now);
	}
	/* Those still aside (a peer back this turn) are due again next turn,
	 * in order. */
	schedule_put_back(&n->sched, (const uint8_t (*)[16])ids, n_ids);
	free(ids);
}

void delivery_nudge(node_t *n)
{
	uint8_t v[8];
	uint64_t now = util_now_ms();

	int r;

	n->store_nudge = false;
	for (int i = 0; i < 8; i++)
		v[i] = (uint8_t)(now >> (56 - 8 * i));
	/* An event of its own: if even this does not fit, the turn's other
	 * writes still commit. */
	r = store_event_begin(n->store);
	if (!r)
		r = store_put(n->store, STORE_META, "full_at", 7, v, 8);
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		log_msg(LOG_DEBUG, "store", "no room even for one page: %s",
			store_last_error(n->store));
	}
}

/* The dead letters: messages given up (lifetime over, or refused by the
 * peer) and not yet sent again. With a list, refctl requeue's work: each
 * is signed anew (created now, same kind, referral, seq and body) as a
 * new pending message, and the dead one points to it. */
struct dead_ctx {
	json_t *arr;
	const char *only;       /* a referral id, or NULL for every one */
	size_t n_ids;
	size_t cap;
	node_t *n;
	uint8_t (*ids)[16];
};

static int dead_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct dead_ctx *dc = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	char hex[33], created[32];

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	if (ob->state == OUT_DEAD && !ob->requeued_as.len &&
	    (!dc->only || !strcmp(dc->only, ob->referral_id))) {
		if (dc->ids) {
			if (dc->n_ids < dc->cap)
				memcpy(dc->ids[dc->n_ids++], k, 16);
		} else {
			state_msg_hex(k, hex);
			util_rfc3339(ob->created_at_ms, created);
			json_array_append_new(dc->arr, json_pack(
				"{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "msg_id", hex,
				"referral_id", ob->referral_id, "kind",
				envelope_kind_name(ob->kind), "to", ob->to_node,
				"created", created, "attempts",
				(json_int_t)ob->attempts, "reason",
				ob->dead_reason));
		}
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

int delivery_requeue(node_t *n, const Referral__Local__V1__Request *req,
		      Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	struct dead_ctx dc = { NULL, req->referral_id[0] ? req->referral_id
							 : NULL, 0, 4096, n, NULL };
	uint64_t now = util_now_ms();
	json_t *done = json_array();
	int r;

	dc.ids = malloc(dc.cap * 16);
	if (!dc.ids) {
		json_decref(done);
		return -ENOMEM;
	}
	r = store_foreach(n->store, STORE_OUTBOX, dead_one, &dc);
	for (size_t i = 0; !r && i < dc.n_ids; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		char fresh[33] = "", old[33];
		uint8_t fid[16];

		r = store_get_msg(n->store, STORE_OUTBOX, dc.ids[i], 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (!r)
			r = outbox_resign(n, ob, now, fresh);
		if (!r)
			r = util_unhex(fresh, fid, 16);
		if (!r) {
			ob->requeued_as.data = fid;
			ob->requeued_as.len = 16;
			r = store_put_msg(n->store, STORE_OUTBOX, dc.ids[i], 16,
					  &ob->base);
			ob->requeued_as.data = NULL;
			ob->requeued_as.len = 0;
		}
		/* The referral's delivery now follows the new message. */
		if (!r && ob->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
			referral_rec_t *rr = NULL;
			r = store_get_msg(n->store, STORE_REFERRALS, ob->referral_id,
					  strlen(ob->referral_id),
					  &referral__store__v1__referral_record__descriptor,
					  (ProtobufCMessage **)&rr);
			if (!r && rr->submit_msg_id.len == 16 &&
			    !memcmp(rr->submit_msg_id.data, dc.ids[i], 16)) {
				memcpy(rr->submit_msg_id.data, fid, 16);
				r = referrals_put(n, rr);
			}
			if (rr)
				referral__store__v1__referral_record__free_unpacked(
					rr, NULL);
		}
		state_msg_hex(dc.ids[i], old);
		if (!r) {
			char detail[80];
			snprintf(detail, sizeof(detail), "sent again as msg_id %s",
				 fresh);
			r = state_audit(n, "requeued", ob->referral_id, dc.ids[i],
				  ob->to_node, req->actor[0] ? req->actor : "local",
				  "ok", detail);
			json_array_append_new(done, json_pack("{s:s, s:s, s:s}",
				"msg_id", old, "referral_id", ob->referral_id,
				"sent_as", fresh));
		}
		if (ob)
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
	free(dc.ids);
	if (r) {
		json_decref(done);
		return r;
	}
	if (!json_array_size(done) && dc.only) {
		json_decref(done);
		state_fail_reply(rep, REF_E_NOT_FOUND, err, errlen, "referral %s has no "
			   "dead message to send again (refctl list --dead)",
			   dc.only);
		return 0;
	}
	rep->json = state_dump(json_pack("{s:o}", "requeued", done));
	return 0;
}

int delivery_load(node_t *n)
{
	return store_foreach(n->store, STORE_OUTBOX, load_one, n);
}

int delivery_list_dead(node_t *n, Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen)
{
	struct dead_ctx dc = { json_array(), NULL, 0, 0, n, NULL };
	int r = store_foreach(n->store, STORE_OUTBOX, dead_one, &dc);

	rep->json = state_dump(json_pack("{s:s, s:o}", "box", "dead",
					 "messages", dc.arr));
	if (r)
		state_fail_reply(rep, r, err, errlen, "the outbox cannot be read "
				 "(%s)", ref_strerror(r));
	return r;
}

const uint64_t delivery_latency_le[DELIVERY_LATENCY_BUCKETS] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
};
