/* test-delivery.c: a receipt for a message we sent, along the path the
 * node takes: envelope_verify once (the peer ROUTER's check, or the
 * DEALER's), then delivery_receipt with that check. A good receipt settles
 * the message (delivered, the receipt kept); a tampered one is refused by the check, recorded as
 * receipt_rejected, and settles nothing. A RECEIPT_BATCH settles each
 * message it names and is kept once, for all its entries. As the
 * receiver, a turn's receipts to one connection go out as one
 * RECEIPT_BATCH, over real inproc ZeroMQ sockets. */
#include "../proto/testutil.h"
#include "audit.h"
#include "delivery.h"
#include "outbox.h"
#include "testnode.h"
#include <zmq.h>

static uint8_t sent_id[16];

/* The receipt the peer sends for our envelope env (its own check of it). */
static uint8_t *receipt_for(testnode_t *t, const uint8_t *env, size_t elen,
			    int status, size_t *ret_len)
{
	envelope_policy_t pol = {
		.self = TN_PEER, .peer = TN_SELF, .max_bytes = 1 << 20,
		.now_ms = util_now_ms(), .lifetime_ms = 3600000,
		.future_ms = 60000, .lookup = directory_key,
		.lookup_ctx = t->n->dir,
	};
	envelope_check_t c;
	envelope_signer_t s = { TN_PEER, TN_PEER "-k1", t->peer_key };
	envelope_fields_t f = { TN_SELF, REFERRAL__V1__KIND__RECEIPT, "", 0,
				util_now_ms(), NULL };
	uint8_t *body = NULL, *out = NULL;
	size_t bl;

	CHECK_EQ_INT(envelope_verify(&pol, env, elen, &c),
		     REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(!envelope_receipt_body(&c, util_now_ms(), status,
				     status == REFERRAL__V1__RECEIPT_STATUS__STORED
				     ? "stored" : "referral_seq 1 was already applied",
				     &body, &bl));
	f.referral_id = c.hdr->referral_id;
	CHECK(!envelope_build(&s, &f, body, bl, &out, ret_len, NULL));
	free(body);
	envelope_check_free(&c);
	return out;
}

/* A RECEIPT_BATCH from the peer: STORED for each of our envelopes, in
 * order, then one entry for a message we never sent. */
static uint8_t *batch_for(testnode_t *t, uint8_t *const *envs,
			  const size_t *lens, size_t n, uint64_t at,
			  const uint8_t *reuse_id, size_t *ret_len,
			  uint8_t ret_id[16])
{
	envelope_policy_t pol = {
		.self = TN_PEER, .peer = TN_SELF, .max_bytes = 1 << 20,
		.now_ms = util_now_ms(), .lifetime_ms = 3600000,
		.future_ms = 60000, .lookup = directory_key,
		.lookup_ctx = t->n->dir,
	};
	envelope_signer_t s = { TN_PEER, TN_PEER "-k1", t->peer_key };
	envelope_fields_t f = { TN_SELF, REFERRAL__V1__KIND__RECEIPT_BATCH, "",
				0, util_now_ms(), NULL };
	Referral__V1__ReceiptBatch rb = REFERRAL__V1__RECEIPT_BATCH__INIT;
	Referral__V1__Receipt *rcs[8];
	uint8_t *body, *out = NULL, stranger[16];
	size_t bl;

	memset(stranger, 0x5a, 16);
	for (size_t i = 0; i <= n; i++) {
		envelope_check_t c;
		uint8_t *b = NULL;

		if (i < n)
			CHECK_EQ_INT(envelope_verify(&pol, envs[i], lens[i], &c),
				     REFERRAL__V1__RECEIPT_STATUS__STORED);
		else
			CHECK_EQ_INT(envelope_verify(&pol, envs[0], lens[0], &c),
				     REFERRAL__V1__RECEIPT_STATUS__STORED);
		CHECK(!envelope_receipt_body(&c, at, REFERRAL__V1__RECEIPT_STATUS__STORED,
					     "stored", &b, &bl));
		rcs[i] = referral__v1__receipt__unpack(NULL, bl, b);
		if (i == n)
			memcpy(rcs[i]->msg_id.data, stranger, 16);
		free(b);
		envelope_check_free(&c);
	}
	rb.receipts = rcs;
	rb.n_receipts = n + 1;
	f.msg_id = reuse_id; /* NULL: a fresh one */
	bl = referral__v1__receipt_batch__get_packed_size(&rb);
	body = malloc(bl);
	referral__v1__receipt_batch__pack(&rb, body);
	CHECK(!envelope_build(&s, &f, body, bl, &out, ret_len, ret_id));
	for (size_t i = 0; i <= n; i++)
		referral__v1__receipt__free_unpacked(rcs[i], NULL);
	free(body);
	return out;
}

static Referral__Store__V1__OutboxRecord *outbox_of(node_t *n,
						    const uint8_t id[16])
{
	Referral__Store__V1__OutboxRecord *ob = NULL;

	store_get_msg(n->store, STORE_OUTBOX, id, 16,
		      &referral__store__v1__outbox_record__descriptor,
		      (ProtobufCMessage **)&ob);
	return ob;
}

static Referral__Store__V1__OutboxRecord *outbox(node_t *n)
{
	return outbox_of(n, sent_id);
}

/* Whether our message id reads back exactly want as the receipt that
 * decided it (outbox_receipt_envelope). */
static bool reads_back(node_t *n, const uint8_t id[16], const uint8_t *want,
		       size_t wl)
{
	Referral__Store__V1__OutboxRecord *ob = outbox_of(n, id);
	uint8_t *got = NULL;
	size_t gl = 0;
	bool same = ob && !outbox_receipt_envelope(n, ob, &got, &gl) &&
		    gl == wl && !memcmp(got, want, wl);

	free(got);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return same;
}

static Referral__Store__V1__ReceiptRecord *kept(node_t *n, const uint8_t *key,
						size_t kl)
{
	Referral__Store__V1__ReceiptRecord *rr = NULL;

	store_get_msg(n->store, STORE_RECEIPTS, key, kl,
		      &referral__store__v1__receipt_record__descriptor,
		      (ProtobufCMessage **)&rr);
	return rr;
}

struct count { const char *event; int n; };

static int count_event(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct count *c = ctx;

	c->n += !strcmp(a->event, c->event);
	return 0;
}

/* The receipt as the node takes it in: checked once, then applied. */
static int take(testnode_t *t, const uint8_t *buf, size_t len)
{
	envelope_policy_t pol = state_policy(t->n, TN_SELF, TN_PEER,
					     util_now_ms());
	envelope_check_t c;
	int st = envelope_verify(&pol, buf, len, &c);

	CHECK(!turn_begin(&t->n->turn, t->n->store));
	if (st == REFERRAL__V1__RECEIPT_STATUS__STORED)
		delivery_receipt(t->n, &c, buf, len, TN_PEER);
	else
		delivery_receipt_rejected(t->n, &c, TN_PEER, st);
	CHECK(!turn_commit(&t->n->turn, t->n->store, &t->n->sched));
	envelope_check_free(&c);
	return st;
}

/* As the receiver: a turn keeps four messages, three from one
 * connection and one from another, and undoes the second one's event.
 * The first connection gets one RECEIPT_BATCH with the two kept receipts,
 * in order; the other its single RECEIPT; each inbox record holds its own
 * RECEIPT, signed in the same tree, with the same receipt in it. */
static void receipts_sent(testnode_t *t, bool small)
{
	void *ctx = zmq_ctx_new(), *tx[2], *rx[2];
	envelope_policy_t pol = {
		.self = TN_PEER, .peer = TN_SELF, .max_bytes = 1 << 20,
		.now_ms = util_now_ms(), .lifetime_ms = 3600000,
		.future_ms = 60000, .lookup = directory_key,
		.lookup_ctx = t->n->dir,
	};
	uint8_t ids[4][16], bodies[4][128];
	size_t bls[4];
	char name[64];
	zmq_msg_t m;
	envelope_check_t c;
	Referral__V1__ReceiptBatch *rb = NULL;

	for (int k = 0; k < 2; k++) {
		tx[k] = zmq_socket(ctx, ZMQ_PAIR);
		rx[k] = zmq_socket(ctx, ZMQ_PAIR);
		snprintf(name, sizeof(name), "inproc://test-delivery-%d", k);
		CHECK(!zmq_bind(rx[k], name));
		CHECK(!zmq_connect(tx[k], name));
	}
	CHECK(!turn_begin(&t->n->turn, t->n->store));
	for (int k = 0; k < 4; k++) {
		Referral__Store__V1__InboxRecord in =
			REFERRAL__STORE__V1__INBOX_RECORD__INIT;
		Referral__V1__Receipt rc = REFERRAL__V1__RECEIPT__INIT;
		turn_mark_t mark = turn_mark(&t->n->turn);
		uint8_t sha[32], *ph = NULL;
		size_t phl = 0;

		memset(ids[k], 0x10 + k + (small ? 8 : 0), 16);
		memset(sha, 0x20 + k, 32);
		rc.msg_id.data = ids[k];
		rc.msg_id.len = 16;
		rc.envelope_sha256.data = sha;
		rc.envelope_sha256.len = 32;
		rc.status = REFERRAL__V1__RECEIPT_STATUS__STORED;
		rc.received_at_ms = util_now_ms();
		rc.detail = "stored";
		bls[k] = referral__v1__receipt__pack(&rc, bodies[k]);
		CHECK(!store_event_begin(t->n->store));
		CHECK(!outbox_receipt(t->n, TN_PEER, "", bodies[k], bls[k],
				      util_now_ms(), ids[k], &ph, &phl));
		in.envelope.data = sha;
		in.envelope.len = 32;
		in.from_node = TN_PEER;
		in.receipt.data = ph;
		in.receipt.len = phl;
		CHECK(!store_put_msg(t->n->store, STORE_INBOX, ids[k], 16,
				     &in.base));
		free(ph);
		CHECK(!turn_reply_awaiting(&t->n->turn, tx[k == 3], NULL, 0,
					   ids[k]));
		if (k == 1) {
			store_event_abort(t->n->store);
			turn_rollback(&t->n->turn, mark);
		} else {
			CHECK(!store_event_commit(t->n->store));
		}
	}
	CHECK(!outbox_seal_turn(t->n));
	CHECK(!turn_commit(&t->n->turn, t->n->store, &t->n->sched));

	if (small) {
		/* Two receipts do not fit in half of max_message_bytes: each
		 * goes alone, in order. */
		for (int k = 0; k <= 2; k += 2) {
			zmq_msg_init(&m);
			CHECK(zmq_msg_recv(&m, rx[0], ZMQ_DONTWAIT) >= 0);
			CHECK_EQ_INT(envelope_verify(&pol, zmq_msg_data(&m),
						     zmq_msg_size(&m), &c),
				     REFERRAL__V1__RECEIPT_STATUS__STORED);
			CHECK(c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT &&
			      c.env->body.len == bls[k] &&
			      !memcmp(c.env->body.data, bodies[k], bls[k]));
			envelope_check_free(&c);
			zmq_msg_close(&m);
		}
		goto rest;
	}
	/* The first connection: one RECEIPT_BATCH, entries 0 and 2. */
	zmq_msg_init(&m);
	CHECK(zmq_msg_recv(&m, rx[0], ZMQ_DONTWAIT) >= 0);
	CHECK_EQ_INT(envelope_verify(&pol, zmq_msg_data(&m), zmq_msg_size(&m),
				     &c), REFERRAL__V1__RECEIPT_STATUS__STORED);
	/* In the turn's tree: four receipts (the undone one's too: its
	 * leaf is signed, its envelope kept nowhere) and the batch. */
	CHECK(c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT_BATCH &&
	      c.env->batch && c.env->batch->count == 5);
	if (c.env)
		rb = referral__v1__receipt_batch__unpack(NULL, c.env->body.len,
							 c.env->body.data);
	CHECK(rb && rb->n_receipts == 2);
	for (size_t i = 0; rb && i < rb->n_receipts && i < 2; i++) {
		uint8_t again[128];
		size_t al = referral__v1__receipt__pack(rb->receipts[i], again);

		CHECK(al == bls[2 * i] && !memcmp(again, bodies[2 * i], al));
	}
	if (rb)
		referral__v1__receipt_batch__free_unpacked(rb, NULL);
	envelope_check_free(&c);
	zmq_msg_close(&m);
rest:
	zmq_msg_init(&m);
	CHECK(zmq_msg_recv(&m, rx[0], ZMQ_DONTWAIT) < 0); /* nothing else */
	zmq_msg_close(&m);

	/* The other connection: its single RECEIPT. */
	zmq_msg_init(&m);
	CHECK(zmq_msg_recv(&m, rx[1], ZMQ_DONTWAIT) >= 0);
	CHECK_EQ_INT(envelope_verify(&pol, zmq_msg_data(&m), zmq_msg_size(&m),
				     &c), REFERRAL__V1__RECEIPT_STATUS__STORED);
	CHECK(c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT &&
	      c.env->body.len == bls[3] &&
	      !memcmp(c.env->body.data, bodies[3], bls[3]));
	envelope_check_free(&c);
	zmq_msg_close(&m);

	/* Each kept message's own RECEIPT, signed; the undone one is gone. */
	for (int k = 0; k < 4; k++) {
		Referral__Store__V1__InboxRecord *in = NULL;
		int r = store_get_msg(t->n->store, STORE_INBOX, ids[k], 16,
				      &referral__store__v1__inbox_record__descriptor,
				      (ProtobufCMessage **)&in);

		if (k == 1) {
			CHECK_EQ_INT(r, REF_E_NOT_FOUND);
			continue;
		}
		CHECK(!r && in);
		if (!in)
			continue;
		CHECK_EQ_INT(envelope_verify(&pol, in->receipt.data,
					     in->receipt.len, &c),
			     REFERRAL__V1__RECEIPT_STATUS__STORED);
		CHECK(c.hdr && c.hdr->kind == REFERRAL__V1__KIND__RECEIPT &&
		      c.env->body.len == bls[k] &&
		      !memcmp(c.env->body.data, bodies[k], bls[k]));
		envelope_check_free(&c);
		referral__store__v1__inbox_record__free_unpacked(in, NULL);
	}
	for (int k = 0; k < 2; k++) {
		zmq_close(tx[k]);
		zmq_close(rx[k]);
	}
	zmq_ctx_term(ctx);
}

int main(void)
{
	testnode_t t;
	Referral__Store__V1__OutboxRecord *ob;
	uint8_t *rc, *bad;
	size_t rl;
	struct count rej = { "receipt_rejected", 0 }, ok = { "receipt", 0 };

	if (testnode_open(&t, 8 << 20)) {
		fprintf(stderr, "cannot set up the test node\n");
		return 1;
	}
	/* A message of ours, committed and scheduled. */
	CHECK(!turn_begin(&t.n->turn, t.n->store));
	CHECK(!outbox_put(t.n, TN_PEER, REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
			  "", 0, (const uint8_t *)"", 0, 0, util_now_ms(),
			  sent_id, NULL));
	CHECK(!outbox_seal_turn(t.n)); /* as the loop does before a commit */
	CHECK(!turn_commit(&t.n->turn, t.n->store, &t.n->sched));
	CHECK(schedule_find(&t.n->sched, sent_id) != NULL);
	ob = outbox(t.n);
	CHECK(ob && ob->state == OUT_PENDING);
	rc = ob ? receipt_for(&t, ob->envelope.data, ob->envelope.len,
			      REFERRAL__V1__RECEIPT_STATUS__STORED, &rl) : NULL;
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	CHECK(rc != NULL);
	if (!rc)
		return test_finish("delivery");

	/* Tampered (a byte of the signature): refused by the one check,
	 * recorded, and nothing settled. */
	bad = malloc(rl);
	memcpy(bad, rc, rl);
	bad[rl - 1] ^= 1;
	CHECK(take(&t, bad, rl) != REFERRAL__V1__RECEIPT_STATUS__STORED);
	ob = outbox(t.n);
	CHECK(ob && ob->state == OUT_PENDING && !ob->receipt.len);
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	CHECK(schedule_find(&t.n->sched, sent_id) != NULL);
	audit_foreach(t.n->store, count_event, &rej);
	CHECK_EQ_INT(rej.n, 1);

	/* The real one: delivered and its receipt kept; the schedule drops
	 * it when it next comes due and is found delivered. */
	CHECK_EQ_INT(take(&t, rc, rl), REFERRAL__V1__RECEIPT_STATUS__STORED);
	ob = outbox(t.n);
	CHECK(ob && ob->state == OUT_DELIVERED && ob->receipt.len == rl &&
	      !memcmp(ob->receipt.data, rc, rl));
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	audit_foreach(t.n->store, count_event, &ok);
	CHECK_EQ_INT(ok.n, 1);
	free(bad);
	free(rc);

	/* Refused, then refused again (the peer answered a resend too): the
	 * second receipt is kept and changes nothing; the reason the record
	 * holds is freed with it (the sanitizer pass finds a leak here if
	 * not: fault/restore's two lost 64-byte reasons). */
	CHECK(!turn_begin(&t.n->turn, t.n->store));
	CHECK(!outbox_put(t.n, TN_PEER, REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
			  "", 0, (const uint8_t *)"", 0, 0, util_now_ms(),
			  sent_id, NULL));
	CHECK(!outbox_seal_turn(t.n)); /* as the loop does before a commit */
	CHECK(!turn_commit(&t.n->turn, t.n->store, &t.n->sched));
	ob = outbox(t.n);
	for (int k = 0; ob && k < 2; k++) {
		rc = receipt_for(&t, ob->envelope.data, ob->envelope.len,
				 REFERRAL__V1__RECEIPT_STATUS__REFUSED, &rl);
		CHECK_EQ_INT(take(&t, rc, rl), REFERRAL__V1__RECEIPT_STATUS__STORED);
		free(rc);
	}
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	ob = outbox(t.n);
	CHECK(ob && ob->state == OUT_DEAD && strstr(ob->dead_reason,
						    "already applied"));
	if (ob)
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	{
		struct count again = { "receipt_again", 0 };
		audit_foreach(t.n->store, count_event, &again);
		CHECK_EQ_INT(again.n, 1);
	}

	/* A RECEIPT_BATCH for three of ours (and one stranger): each of the
	 * three is delivered; the batch is kept once, whole, and each entry
	 * points at it; the stranger is ignored. */
	{
		uint8_t ids[3][16], *envs[3], batch_id[16], key[32], *bb;
		size_t lens[3], bbl;
		uint64_t at = util_now_ms() - 5;
		Referral__Store__V1__ReceiptRecord *rr;

		CHECK(!turn_begin(&t.n->turn, t.n->store));
		for (int k = 0; k < 3; k++)
			CHECK(!outbox_put(t.n, TN_PEER,
					  REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
					  "", 0, (const uint8_t *)"", 0, 0,
					  util_now_ms(), ids[k], NULL));
		CHECK(!outbox_seal_turn(t.n));
		CHECK(!turn_commit(&t.n->turn, t.n->store, &t.n->sched));
		for (int k = 0; k < 3; k++) {
			ob = outbox_of(t.n, ids[k]);
			CHECK(ob != NULL);
			if (!ob)
				return test_finish("delivery");
			envs[k] = malloc(ob->envelope.len);
			memcpy(envs[k], ob->envelope.data, ob->envelope.len);
			lens[k] = ob->envelope.len;
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
		}
		bb = batch_for(&t, envs, lens, 3, at, NULL, &bbl, batch_id);
		CHECK_EQ_INT(take(&t, bb, bbl), REFERRAL__V1__RECEIPT_STATUS__STORED);
		for (int k = 0; k < 3; k++) {
			ob = outbox_of(t.n, ids[k]);
			CHECK(ob && ob->state == OUT_DELIVERED &&
			      !ob->receipt.len && ob->receipt_batch.len == 16 &&
			      !memcmp(ob->receipt_batch.data, batch_id, 16));
			CHECK(ob && outbox_receipt_at(ob) == at);
			if (ob)
				referral__store__v1__outbox_record__free_unpacked(ob, NULL);
			CHECK(reads_back(t.n, ids[k], bb, bbl));
			memcpy(key, ids[k], 16);
			memcpy(key + 16, batch_id, 16);
			rr = kept(t.n, key, 32);
			CHECK(rr && rr->in_batch && !rr->receipt.len &&
			      rr->status == REFERRAL__V1__RECEIPT_STATUS__STORED);
			if (rr)
				referral__store__v1__receipt_record__free_unpacked(rr, NULL);
		}
		rr = kept(t.n, batch_id, 16);
		CHECK(rr && !rr->in_batch && rr->receipt.len == bbl &&
		      !memcmp(rr->receipt.data, bb, bbl) &&
		      !strcmp(rr->from_node, TN_PEER));
		if (rr)
			referral__store__v1__receipt_record__free_unpacked(rr, NULL);

		/* Another batch under the same msg_id (a peer reusing it),
		 * for the first message again: the batch kept is never
		 * replaced, so it still proves all three; the new one's
		 * entry keeps its whole envelope. */
		{
			uint8_t *other, again_id[16];
			size_t ol;

			other = batch_for(&t, envs, lens, 1, at + 1, batch_id,
					  &ol, again_id);
			CHECK(!memcmp(again_id, batch_id, 16));
			CHECK_EQ_INT(take(&t, other, ol),
				     REFERRAL__V1__RECEIPT_STATUS__STORED);
			rr = kept(t.n, batch_id, 16);
			CHECK(rr && rr->receipt.len == bbl &&
			      !memcmp(rr->receipt.data, bb, bbl));
			if (rr)
				referral__store__v1__receipt_record__free_unpacked(rr, NULL);
			memcpy(key, ids[0], 16);
			memcpy(key + 16, batch_id, 16);
			rr = kept(t.n, key, 32);
			CHECK(rr && !rr->in_batch && rr->receipt.len == ol &&
			      !memcmp(rr->receipt.data, other, ol));
			if (rr)
				referral__store__v1__receipt_record__free_unpacked(rr, NULL);
			CHECK(reads_back(t.n, ids[0], bb, bbl));
			free(other);
		}
		free(bb);

		/* A batch that names only a message we never sent (and ones
		 * already delivered are kept as receipt_again): with no entry
		 * kept, the batch is not kept either. */
		bb = batch_for(&t, envs, lens, 0, at, NULL, &bbl, batch_id);
		CHECK_EQ_INT(take(&t, bb, bbl), REFERRAL__V1__RECEIPT_STATUS__STORED);
		rr = kept(t.n, batch_id, 16);
		CHECK(rr == NULL);
		if (rr)
			referral__store__v1__receipt_record__free_unpacked(rr, NULL);
		free(bb);
		for (int k = 0; k < 3; k++)
			free(envs[k]);
	}
	receipts_sent(&t, false);
	t.n->cfg.max_message_bytes = 200;
	receipts_sent(&t, true);
	testnode_close(&t);
	return test_finish("delivery");
}
