/* outbox.c: see outbox.h. Writes the node's drafts (state.h) only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "outbox.h"
#include "util.h"

/* Writes a built envelope's record and queues its schedule entry. */
static int put_built(node_t *n, const char *to, uint32_t kind,
		     const char *referral_id, const uint8_t *env, size_t el,
		     const uint8_t msg_id[16], uint32_t priority, uint64_t now)
{
	Referral__Store__V1__OutboxRecord ob =
		REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	sched_t e = { 0 };
	int r;

	ob.envelope.data = (uint8_t *)env;
	ob.envelope.len = el;
	ob.to_node = (char *)to;
	ob.referral_id = (char *)referral_id;
	ob.kind = kind;
	ob.created_at_ms = now;
	ob.next_attempt_ms = now;
	ob.priority = priority;
	r = store_put_msg(n->store, STORE_OUTBOX, msg_id, 16, &ob.base);
	if (r)
		return r;
	memcpy(e.msg_id, msg_id, 16);
	e.next_ms = now;
	e.priority = priority;
	e.created_ms = now;
	snprintf(e.to, sizeof(e.to), "%s", to);
	return turn_schedule(&n->turn, &e);
}

/* The most messages one signature covers: the audit path of each stays
 * at most ten hashes. */
#define SEAL_BATCH_MAX 1024

struct outbox_draft {
	envelope_draft_t d;
	envelope_fields_t f; /* to re-make the header under a new key */
	char to[8], referral_id[48];
	char key_id[64];     /* the key its header names */
	/* A receipt (outbox_receipt): kept in the inbox record under this
	 * msg_id, and the peer's reply awaiting it (turn_fill). */
	bool receipt;
	uint8_t inbox_id[16];
	/* A RECEIPT_BATCH (batch_receipts): sent to this reply target once
	 * signed, kept nowhere (each of its receipts is in its inbox
	 * record, signed in the same tree). */
	bool batch_reply;
	void *sock;
	const uint8_t *rid;
	size_t rid_len;
};

/* An envelope written before it is signed: the header and body, no
 * signature. It never leaves the turn: outbox_seal_turn signs it before
 * the commit, and a turn that cannot commit keeps nothing. */
static int placeholder(const envelope_draft_t *d, uint8_t **ret, size_t *ret_len)
{
	Referral__V1__Envelope env = REFERRAL__V1__ENVELOPE__INIT;

	env.header.data = d->header;
	env.header.len = d->header_len;
	env.body.data = d->body;
	env.body.len = d->body_len;
	*ret_len = referral__v1__envelope__get_packed_size(&env);
	*ret = malloc(*ret_len ? *ret_len : 1);
	if (!*ret)
		return -ENOMEM;
	referral__v1__envelope__pack(&env, *ret);
	return 0;
}

/* The next draft of the turn, made (not yet counted in n_drafts). */
static int new_draft(node_t *n, const char *to, uint32_t kind,
		     const char *referral_id, uint64_t seq, const uint8_t *body,
		     size_t blen, uint64_t now, struct outbox_draft **ret)
{
	envelope_signer_t s = keys_signer(n);
	struct outbox_draft *od;

	if (n->n_drafts == n->cap_drafts) {
		size_t cap = n->cap_drafts ? 2 * n->cap_drafts : 64;
		void *nd = realloc(n->drafts, cap * sizeof(*n->drafts));

		if (!nd)
			return -ENOMEM;
		n->drafts = nd;
		n->cap_drafts = cap;
	}
	od = &n->drafts[n->n_drafts];
	memset(od, 0, sizeof(*od));
	snprintf(od->to, sizeof(od->to), "%s", to);
	snprintf(od->referral_id, sizeof(od->referral_id), "%s",
		 referral_id ? referral_id : "");
	od->f.to_node = od->to;
	od->f.kind = kind;
	od->f.referral_id = od->referral_id;
	od->f.referral_seq = seq;
	od->f.created_at_ms = now;
	snprintf(od->key_id, sizeof(od->key_id), "%s", s.key_id);
	*ret = od;
	return envelope_draft(&s, &od->f, body, blen, &od->d);
}

int outbox_receipt(node_t *n, const char *to, const char *referral_id,
		   const uint8_t *body, size_t blen, uint64_t now,
		   const uint8_t inbox_id[16], uint8_t **ret, size_t *ret_len)
{
	struct outbox_draft *od = NULL;
	int r = new_draft(n, to, REFERRAL__V1__KIND__RECEIPT, referral_id, 0,
			  body, blen, now, &od);

	if (!r)
		r = placeholder(&od->d, ret, ret_len);
	if (r) {
		if (od) /* NULL: no room for a draft at all */
			envelope_draft_free(&od->d);
		return r;
	}
	od->receipt = true;
	memcpy(od->inbox_id, inbox_id, 16);
	od->f.msg_id = od->d.msg_id;
	n->n_drafts++;
	return 0;
}

int outbox_put(node_t *n, const char *to, uint32_t kind,
	       const char *referral_id, uint64_t seq, const uint8_t *body,
	       size_t blen, uint32_t priority, uint64_t now,
	       uint8_t ret_msg_id[16], size_t *ret_len)
{
	envelope_signer_t s = keys_signer(n);
	struct outbox_draft *od;
	uint8_t *env = NULL;
	size_t el, most;
	int r;

	r = new_draft(n, to, kind, referral_id, seq, body, blen, now, &od);
	if (r)
		return r;
	/* Its size once signed, at the most a batch can add. */
	most = envelope_sealed_max(&od->d, strlen(s.key_id), SEAL_BATCH_MAX);
	if (ret_len)
		*ret_len = most;
	if (most > (size_t)n->cfg.max_message_bytes) {
		envelope_draft_free(&od->d);
		return REF_E_TOO_LARGE;
	}
	r = placeholder(&od->d, &env, &el);
	if (!r)
		r = put_built(n, to, kind, referral_id, env, el, od->d.msg_id,
			      priority, now);
	free(env);
	if (r) {
		envelope_draft_free(&od->d);
		return r;
	}
	if (ret_msg_id)
		memcpy(ret_msg_id, od->d.msg_id, 16);
	od->f.msg_id = od->d.msg_id;
	n->n_drafts++;
	return 0;
}

void outbox_drop_drafts(node_t *n)
{
	for (size_t i = 0; i < n->n_drafts; i++)
		envelope_draft_free(&n->drafts[i].d);
	n->n_drafts = 0;
}

/* A receipt signed: over its placeholder in the inbox record, and to the
 * peer's awaiting reply (*buf handed over). Neither there: the event that
 * stored the message was undone, and the receipt goes nowhere. */
static int seal_receipt(node_t *n, const struct outbox_draft *od,
			uint8_t **buf, size_t len)
{
	Referral__Store__V1__InboxRecord *in = NULL;
	uint8_t *had_data;
	size_t had_len;
	int r = store_get_msg(n->store, STORE_INBOX, od->inbox_id, 16,
			      &referral__store__v1__inbox_record__descriptor,
			      (ProtobufCMessage **)&in);

	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	had_data = in->receipt.data;
	had_len = in->receipt.len;
	in->receipt.data = *buf;
	in->receipt.len = len;
	r = store_put_msg(n->store, STORE_INBOX, od->inbox_id, 16, &in->base);
	in->receipt.data = had_data; /* protobuf-c's, freed with in */
	in->receipt.len = had_len;
	referral__store__v1__inbox_record__free_unpacked(in, NULL);
	if (!r) {
		turn_fill(&n->turn, od->inbox_id, *buf, len);
		*buf = NULL;
	}
	return r;
}

/* Signs drafts [from, to) at once and writes each envelope over its
 * placeholder. A placeholder that is gone was written by an event that
 * was undone: its message was never made, and is skipped. */
static int seal_some(node_t *n, const envelope_signer_t *s, size_t from,
		     size_t to)
{
	const envelope_draft_t **dp = malloc((to - from) * sizeof(*dp));
	uint8_t **bufs = calloc(to - from, sizeof(*bufs));
	size_t *lens = calloc(to - from, sizeof(*lens));
	int r = 0;

	if (!dp || !bufs || !lens) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = from; i < to; i++)
		dp[i - from] = &n->drafts[i].d;
	r = envelope_seal(s, dp, to - from, bufs, lens);
	for (size_t i = from; i < to && !r; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		uint8_t *had_data;
		size_t had_len;

		if (n->drafts[i].receipt) {
			r = seal_receipt(n, &n->drafts[i], &bufs[i - from],
					 lens[i - from]);
			continue;
		}
		if (n->drafts[i].batch_reply) {
			r = turn_reply(&n->turn, n->drafts[i].sock,
				       n->drafts[i].rid, n->drafts[i].rid_len,
				       false, bufs[i - from], lens[i - from],
				       NULL, 0);
			bufs[i - from] = NULL; /* the turn's now */
			continue;
		}
		r = store_get_msg(n->store, STORE_OUTBOX, n->drafts[i].d.msg_id,
				  16, &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (r == REF_E_NOT_FOUND) {
			r = 0;
			continue;
		}
		if (r)
			break;
		had_data = ob->envelope.data;
		had_len = ob->envelope.len;
		ob->envelope.data = bufs[i - from];
		ob->envelope.len = lens[i - from];
		r = store_put_msg(n->store, STORE_OUTBOX, n->drafts[i].d.msg_id,
				  16, &ob->base);
		ob->envelope.data = had_data; /* protobuf-c's, freed with ob */
		ob->envelope.len = had_len;
		referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
out:
	for (size_t i = 0; bufs && i < to - from; i++)
		free(bufs[i]);
	free(dp);
	free(bufs);
	free(lens);
	return r;
}

/* The most receipts one RECEIPT_BATCH carries, and the most bytes of
 * them: at most half of [limits] max_message_bytes, so the envelope with
 * its header and batch path stays within it. */
#define RECEIPT_BATCH_MAX 256
#define RECEIPT_BATCH_BYTES (64 * 1024)

/* A reply target of the turn's receipts, and its receipts so far. */
struct rb_group {
	void *sock;
	const uint8_t *rid;
	size_t rid_len;
	size_t count, bytes;
};

struct rb_scan {
	struct {
		uint8_t seal_id[16];
		void *sock;
		const uint8_t *rid;
		size_t rid_len;
	} *aw;
	size_t n, cap;
	bool nomem;
};

static void rb_awaiting(void *ctx, const uint8_t seal_id[16], void *sock,
			const uint8_t *rid, size_t rid_len)
{
	struct rb_scan *sc = ctx;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 64;
		void *p = realloc(sc->aw, cap * sizeof(*sc->aw));

		if (!p) {
			sc->nomem = true;
			return;
		}
		sc->aw = p;
		sc->cap = cap;
	}
	memcpy(sc->aw[sc->n].seal_id, seal_id, 16);
	sc->aw[sc->n].sock = sock;
	sc->aw[sc->n].rid = rid;
	sc->aw[sc->n].rid_len = rid_len;
	sc->n++;
}

/* Bytes of a length-delimited field 1 holding len bytes. */
static size_t field_size(size_t len)
{
	size_t v = 1;

	for (size_t x = len; x >= 0x80; x >>= 7)
		v++;
	return 1 + v + len;
}

static uint8_t *put_field(uint8_t *p, const uint8_t *data, size_t len)
{
	size_t x = len;

	*p++ = 0x0a; /* ReceiptBatch.receipts, length-delimited */
	for (; x >= 0x80; x >>= 7)
		*p++ = (uint8_t)(x | 0x80);
	*p++ = (uint8_t)x;
	memcpy(p, data, len);
	return p + len;
}

/* The turn's receipts to one reply target, when there are two or more,
 * go out as one RECEIPT_BATCH (DESIGN.md's extension), signed in the
 * turn's tree like everything else: its Receipt entries are the same
 * bodies its RECEIPTs hold. Each RECEIPT is still kept in its inbox
 * record (for refctl show and a peer's RESTORE_SYNC, and to prove alone
 * what was stored); only its reply is dropped (turn_fill with no data).
 * A receipt whose event was undone has no reply awaiting, and is left
 * out. Short of memory here, the receipts not yet batched go alone. */
static void batch_receipts(node_t *n)
{
	struct rb_scan sc = { 0 };
	struct rb_group *g = NULL;
	int *gi = NULL;
	size_t ng = 0, p, first = n->n_drafts;
	size_t most = (size_t)n->cfg.max_message_bytes / 2;
	uint64_t now = util_now_ms();

	if (most > RECEIPT_BATCH_BYTES)
		most = RECEIPT_BATCH_BYTES;
	turn_foreach_awaiting(&n->turn, rb_awaiting, &sc);
	if (sc.nomem || sc.n < 2)
		goto out;
	gi = malloc(n->n_drafts * sizeof(*gi));
	g = calloc(sc.n, sizeof(*g));
	if (!gi || !g)
		goto out;
	/* The drafts and their replies were made in the same order, so one
	 * walk pairs them; a draft whose reply is not next was undone. The
	 * walk runs from the end: a message undone and then kept again in
	 * the same turn has two drafts, and its reply is the later one's. */
	p = sc.n;
	for (size_t i = n->n_drafts; i-- > 0;) {
		struct outbox_draft *od = &n->drafts[i];

		gi[i] = -1;
		if (od->receipt && p > 0 &&
		    !memcmp(sc.aw[p - 1].seal_id, od->inbox_id, 16))
			gi[i] = (int)--p; /* its reply, for now */
	}
	/* Then the groups, in the order the messages came. */
	for (size_t i = 0; i < n->n_drafts; i++) {
		struct outbox_draft *od = &n->drafts[i];
		size_t k, sz;

		if (gi[i] < 0)
			continue;
		p = (size_t)gi[i];
		sz = field_size(od->d.body_len);
		for (k = 0; k < ng; k++)
			if (g[k].sock == sc.aw[p].sock &&
			    g[k].rid_len == sc.aw[p].rid_len &&
			    (!g[k].rid_len ||
			     !memcmp(g[k].rid, sc.aw[p].rid, g[k].rid_len)) &&
			    g[k].count < RECEIPT_BATCH_MAX &&
			    g[k].bytes + sz <= most)
				break;
		if (k == ng) {
			g[ng].sock = sc.aw[p].sock;
			g[ng].rid = sc.aw[p].rid;
			g[ng].rid_len = sc.aw[p].rid_len;
			ng++;
		}
		g[k].count++;
		g[k].bytes += sz;
		gi[i] = (int)k;
	}
	for (size_t k = 0; k < ng; k++) {
		struct outbox_draft *od = NULL;
		uint8_t *body, *q;
		char to[8] = "";

		if (g[k].count < 2)
			continue;
		body = malloc(g[k].bytes);
		if (!body)
			break;
		q = body;
		for (size_t i = 0; i < first; i++)
			if (gi[i] == (int)k) {
				q = put_field(q, n->drafts[i].d.body,
					      n->drafts[i].d.body_len);
				snprintf(to, sizeof(to), "%s", n->drafts[i].to);
			}
		if (new_draft(n, to, REFERRAL__V1__KIND__RECEIPT_BATCH, "", 0,
			      body, g[k].bytes, now, &od)) {
			free(body);
			if (od) /* NULL: no room for a draft at all */
				envelope_draft_free(&od->d);
			break;
		}
		free(body);
		od->batch_reply = true;
		od->sock = g[k].sock;
		od->rid = g[k].rid;
		od->rid_len = g[k].rid_len;
		od->f.msg_id = od->d.msg_id;
		n->n_drafts++;
		for (size_t i = 0; i < first; i++)
			if (gi[i] == (int)k)
				turn_fill(&n->turn, n->drafts[i].inbox_id, NULL, 0);
	}
out:
	free(sc.aw);
	free(gi);
	free(g);
}

int outbox_seal_turn(node_t *n)
{
	envelope_signer_t s = keys_signer(n);
	int r = 0;

	if (!n->n_drafts)
		return 0;
	/* Made under a key this turn switched from: made again under the
	 * new one (the same msg_id, time and body), as everything signed
	 * from now on is. */
	for (size_t i = 0; i < n->n_drafts && !r; i++) {
		envelope_draft_t again;

		if (!strcmp(n->drafts[i].key_id, s.key_id))
			continue;
		r = envelope_draft(&s, &n->drafts[i].f, n->drafts[i].d.body,
				   n->drafts[i].d.body_len, &again);
		if (!r) {
			envelope_draft_free(&n->drafts[i].d);
			n->drafts[i].d = again;
			snprintf(n->drafts[i].key_id, sizeof(n->drafts[i].key_id),
				 "%s", s.key_id);
		}
	}
	if (!r)
		batch_receipts(n);
	/* Straight into the turn, not an event of its own: a turn whose
	 * drafts cannot be signed and written is aborted whole (node.c), so
	 * there is nothing to undo here alone. */
	for (size_t i = 0; i < n->n_drafts && !r; i += SEAL_BATCH_MAX)
		r = seal_some(n, &s, i, i + SEAL_BATCH_MAX < n->n_drafts
					? i + SEAL_BATCH_MAX : n->n_drafts);
	outbox_drop_drafts(n);
	return r;
}

int outbox_put_msg(node_t *n, const char *to, uint32_t kind,
		   const char *referral_id, uint64_t seq,
		   const ProtobufCMessage *body, uint32_t priority, uint64_t at)
{
	size_t bl = protobuf_c_message_get_packed_size(body);
	uint8_t *bb = malloc(bl ? bl : 1);
	int r;

	if (!bb)
		return -ENOMEM;
	protobuf_c_message_pack(body, bb);
	r = outbox_put(n, to, kind, referral_id, seq, bb, bl, priority,
		       at ? at : util_now_ms(), NULL, NULL);
	free(bb);
	return r;
}

int outbox_node_level(node_t *n, const char *to, uint32_t kind,
		      const ProtobufCMessage *body, uint32_t priority,
		      uint64_t at)
{
	return outbox_put_msg(n, to, kind, "", 0, body, priority, at);
}

int outbox_resign(node_t *n, const Referral__Store__V1__OutboxRecord *ob,
		  uint64_t now, char ret_hex[33])
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(
		NULL, ob->envelope.len, ob->envelope.data);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	envelope_signer_t s = keys_signer(n);
	envelope_fields_t f = { 0 };
	uint8_t msg_id[16], *env = NULL;
	size_t el;
	int r = -EINVAL;

	if (!h)
		goto out;
	f.to_node = ob->to_node;
	f.kind = h->kind;
	f.referral_id = h->referral_id;
	f.referral_seq = h->referral_seq;
	f.created_at_ms = now;
	r = envelope_build(&s, &f, e->body.data, e->body.len, &env, &el, msg_id);
	if (r)
		goto out;
	r = put_built(n, ob->to_node, ob->kind, ob->referral_id, env, el,
		      msg_id, ob->priority, now);
	if (!r)
		state_msg_hex(msg_id, ret_hex);
out:
	free(env);
	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return r;
}

uint64_t outbox_receipt_at(const Referral__Store__V1__OutboxRecord *ob)
{
	Referral__V1__Envelope *e;
	Referral__V1__Receipt *rc = NULL;
	uint64_t at = 0;

	/* Kept in the record since batch receipts; a receipt kept before
	 * holds it in its own body. */
	if (ob->peer_received_at_ms || !ob->receipt.len)
		return ob->peer_received_at_ms;
	e = referral__v1__envelope__unpack(NULL, ob->receipt.len,
					   ob->receipt.data);
	if (e)
		rc = referral__v1__receipt__unpack(NULL, e->body.len,
						   e->body.data);
	if (rc)
		at = rc->received_at_ms;
	if (rc)
		referral__v1__receipt__free_unpacked(rc, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return at;
}

int outbox_receipt_envelope(node_t *n,
			    const Referral__Store__V1__OutboxRecord *ob,
			    uint8_t **ret, size_t *ret_len)
{
	Referral__Store__V1__ReceiptRecord *rr = NULL;
	const ProtobufCBinaryData *b = &ob->receipt;
	int r;

	if (!outbox_holds_receipt(ob))
		return REF_E_NOT_FOUND;
	if (!ob->receipt.len) {
		r = store_get_msg(n->store, STORE_RECEIPTS,
				  ob->receipt_batch.data, 16,
				  &referral__store__v1__receipt_record__descriptor,
				  (ProtobufCMessage **)&rr);
		if (r)
			return r;
		b = &rr->receipt;
	}
	*ret = malloc(b->len ? b->len : 1);
	r = *ret ? 0 : -ENOMEM;
	if (*ret) {
		memcpy(*ret, b->data, b->len);
		*ret_len = b->len;
	}
	if (rr)
		referral__store__v1__receipt_record__free_unpacked(rr, NULL);
	return r;
}
