/* restoresync.c: see restoresync.h. Writes no field of the node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "audit.h"
#include "dues.h"
#include "held.h"
#include "log.h"
#include "outbox.h"
#include "quota.h"
#include "lawmoves.h"
#include "referrals.h"
#include "restoresync.h"
#include "util.h"


bool restoresync_originated_by(const char *referral_id, const char *peer)
{
	size_t l = strlen(peer);

	return referral_id && !strncmp(referral_id, peer, l) &&
	       referral_id[l] == '-';
}

/* "SEQ TIME_MS ANNOUNCED_MS" of the restore this node announced: 0, or
 * REF_E_NOT_FOUND (none, or unreadable). *ret_announced is ~0 for a mark
 * of an older release, which has no announcement time. */
static int point_read(node_t *n, uint64_t *ret_seq, uint64_t *ret_at,
		      uint64_t *ret_announced)
{
	unsigned long long pseq = 0, pat = 0, announced = 0;
	char point[64];
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_META, RESTORESYNC_META_POINT,
			  strlen(RESTORESYNC_META_POINT), &v, &vl);

	if (r)
		return r;
	snprintf(point, sizeof(point), "%.*s", (int)(vl < 63 ? vl : 63),
		 (char *)v);
	free(v);
	switch (sscanf(point, "%llu %llu %llu", &pseq, &pat, &announced)) {
	case 2: announced = ~0ULL; break;
	case 3: break;
	default: return REF_E_NOT_FOUND;
	}
	if (!pseq)
		return REF_E_NOT_FOUND;
	*ret_seq = pseq;
	*ret_at = pat;
	*ret_announced = announced;
	return 0;
}

bool restoresync_window(node_t *n, uint64_t now)
{
	uint64_t seq, at, announced;

	/* A mark without its time (an older release's) opens none: the
	 * window would never close. */
	return point_read(n, &seq, &at, &announced) == 0 &&
	       announced != ~0ULL &&
	       now <= announced + (uint64_t)n->cfg.message_lifetime_ms;
}

/* ---- the peer's side: what we hold of the restored node ---------------- */

typedef struct {
	ProtobufCBinaryData env, receipt; /* copies; receipt may be empty */
} item_t;

struct gather {
	node_t *n;
	const char *peer;
	uint64_t seq, after_ms; /* the restore point, in the peer's clock */
	item_t *items;
	size_t n_items, cap;
	uint64_t best_cp;       /* the highest witnessed checkpoint's seq */
	ProtobufCBinaryData cp; /* its envelope */
	size_t theirs, ours;
};

static int push(struct gather *g, const ProtobufCBinaryData *env,
		const ProtobufCBinaryData *receipt)
{
	item_t *it;

	if (g->n_items == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 64;
		item_t *m = realloc(g->items, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		g->items = m;
		g->cap = cap;
	}
	it = &g->items[g->n_items];
	memset(it, 0, sizeof(*it));
	it->env.data = malloc(env->len ? env->len : 1);
	if (!it->env.data)
		return -ENOMEM;
	memcpy(it->env.data, env->data, env->len);
	it->env.len = env->len;
	if (receipt && receipt->len) {
		it->receipt.data = malloc(receipt->len);
		if (!it->receipt.data) {
			free(it->env.data);
			return -ENOMEM;
		}
		memcpy(it->receipt.data, receipt->data, receipt->len);
		it->receipt.len = receipt->len;
	}
	g->n_items++;
	return 0;
}

/* created_at_ms of an envelope's header (0 if it does not parse). */
static uint64_t created_at(const ProtobufCBinaryData *b)
{
	Referral__V1__Envelope *e = referral__v1__envelope__unpack(NULL, b->len,
								   b->data);
	Referral__V1__Header *h = e ? referral__v1__header__unpack(
		NULL, e->header.len, e->header.data) : NULL;
	uint64_t at = h ? h->created_at_ms : 0;

	if (h)
		referral__v1__header__free_unpacked(h, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return at;
}

/* The restored node's own messages about the referrals it originated,
 * as we received them, with the receipts we sent for them. Everything it
 * created since shortly before the backup point: what it created before
 * is in its backup, and what comes twice is applied once there. */
static int gather_inbox(void *ctx, const uint8_t *k, size_t kl,
			const uint8_t *v, size_t vl)
{
	struct gather *g = ctx;
	Referral__Store__V1__InboxRecord *in;
	int r = 0;

	(void)k;
	if (kl != 16)
		return 0;
	in = referral__store__v1__inbox_record__unpack(NULL, vl, v);
	if (!in)
		return REF_E_CORRUPT;
	if (!strcmp(in->from_node, g->peer) &&
	    restoresync_originated_by(in->referral_id, g->peer) &&
	    created_at(&in->envelope) + (uint64_t)g->n->cfg.future_skew_ms >
		    g->after_ms) {
		r = push(g, &in->envelope, &in->receipt);
		g->theirs += !r;
	}
	referral__store__v1__inbox_record__free_unpacked(in, NULL);
	return r;
}

/* Our changes about those referrals that it receipted after the backup
 * point (its received_at_ms, its clock like the point): its backup
 * lost them. */
static int gather_outbox(void *ctx, const uint8_t *k, size_t kl,
			 const uint8_t *v, size_t vl)
{
	struct gather *g = ctx;
	Referral__Store__V1__OutboxRecord *ob;
	uint64_t at;
	int r = 0;

	(void)k;
	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	at = outbox_receipt_at(ob);
	if (ob->state == OUT_DELIVERED && !strcmp(ob->to_node, g->peer) &&
	    restoresync_originated_by(ob->referral_id, g->peer) && at &&
	    at + (uint64_t)g->n->cfg.future_skew_ms > g->after_ms) {
		r = push(g, &ob->envelope, NULL);
		g->ours += !r;
	}
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return r;
}

/* The highest checkpoint of its chain we witnessed: its own signed proof
 * of how far its chain had gone before the restore. */
static int gather_witness(void *ctx, const uint8_t *k, size_t kl,
			  const uint8_t *v, size_t vl)
{
	struct gather *g = ctx;
	uint64_t seq = 0;

	if (kl != 14 || memcmp(k, g->peer, 6))
		return 0;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | k[6 + i];
	if (seq > g->best_cp && seq > g->seq) {
		free(g->cp.data);
		g->cp.data = malloc(vl);
		if (!g->cp.data)
			return -ENOMEM;
		memcpy(g->cp.data, v, vl);
		g->cp.len = vl;
		g->best_cp = seq;
	}
	return 0;
}

size_t restoresync_plan(const size_t *sizes, size_t count, size_t first,
			size_t limit, size_t *part_of)
{
	size_t used = first + 8, cur = 0;
	bool open = first > 0;

	for (size_t i = 0; i < count; i++) {
		if (sizes[i] + RESTORESYNC_OVERHEAD > limit) {
			/* Cannot go inside any sync: it stays with us, and
			 * in no part. */
			part_of[i] = RESTORESYNC_KEPT;
			continue;
		}
		if (open && used + sizes[i] > limit) {
			cur++;
			used = 8;
		}
		part_of[i] = cur;
		used += sizes[i];
		open = true;
	}
	return open ? cur + 1 : 0;
}

/* One RESTORE_SYNC of the items in part p (the checkpoint first, if
 * given). */
static int send_part(node_t *n, const char *peer, const item_t *items,
		     size_t count, const size_t *part_of, size_t p,
		     const ProtobufCBinaryData *cp, uint64_t now)
{
	Referral__V1__RestoreSync rs = REFERRAL__V1__RESTORE_SYNC__INIT;
	size_t ne = 0, nr = 0;
	int r;

	rs.envelopes = calloc(count + 1, sizeof(*rs.envelopes));
	rs.receipts = calloc(count + 1, sizeof(*rs.receipts));
	if (!rs.envelopes || !rs.receipts) {
		free(rs.envelopes);
		free(rs.receipts);
		return -ENOMEM;
	}
	if (cp && cp->len)
		rs.envelopes[ne++] = *cp;
	for (size_t i = 0; i < count; i++) {
		if (part_of[i] != p)
			continue;
		rs.envelopes[ne++] = items[i].env;
		if (items[i].receipt.len)
			rs.receipts[nr++] = items[i].receipt;
	}
	rs.n_envelopes = ne;
	rs.n_receipts = nr;
	r = outbox_node_level(n, peer, REFERRAL__V1__KIND__RESTORE_SYNC,
			      &rs.base, 2, now);
	free(rs.envelopes);
	free(rs.receipts);
	return r;
}

int restoresync_answer(node_t *n, const char *peer, uint64_t seq,
		       uint64_t at_ms)
{
	struct gather g = { .n = n, .peer = peer, .seq = seq,
			    .after_ms = at_ms };
	size_t limit = (size_t)n->cfg.max_message_bytes > 2 * RESTORESYNC_OVERHEAD
			? (size_t)n->cfg.max_message_bytes - RESTORESYNC_OVERHEAD
			: RESTORESYNC_OVERHEAD;
	size_t parts = 0, skipped = 0, *sizes = NULL, *part_of = NULL;
	uint64_t now = util_now_ms();
	char detail[240];
	int r;

	r = store_foreach(n->store, STORE_WITNESSED, gather_witness, &g);
	if (!r)
		r = store_foreach(n->store, STORE_INBOX, gather_inbox, &g);
	if (!r)
		r = store_foreach(n->store, STORE_OUTBOX, gather_outbox, &g);
	/* Items in store order (msg_ids are UUIDv7: time order), its own
	 * messages before ours, cut where the next would pass the limit;
	 * one too large for any part stays with us and in no part. */
	if (!r && g.n_items) {
		sizes = calloc(g.n_items, sizeof(*sizes));
		part_of = calloc(g.n_items, sizeof(*part_of));
		if (!sizes || !part_of)
			r = -ENOMEM;
	}
	for (size_t i = 0; !r && i < g.n_items; i++)
		sizes[i] = g.items[i].env.len + g.items[i].receipt.len + 16;
	if (!r)
		parts = restoresync_plan(sizes, g.n_items, g.cp.len, limit,
					 part_of);
	for (size_t i = 0; !r && i < g.n_items; i++) {
		if (part_of[i] != RESTORESYNC_KEPT)
			continue;
		skipped++;
		log_msg(LOG_WARN, "delivery", "peer=%s: one message of %zu "
			"bytes is too large to send back in a restore sync",
			peer, g.items[i].env.len);
	}
	/* One ms apart: the schedule sends them in order (a part resent
	 * after a loss can still come later: the peer's changes are then
	 * held for their referral). */
	for (size_t p = 0; !r && p < parts; p++)
		r = send_part(n, peer, g.items, g.n_items, part_of, p,
			      p ? NULL : &g.cp, now + p);
	if (!r) {
		snprintf(detail, sizeof(detail), "%zu message(s) of %s's and "
			 "%zu of ours sent after its backup point (seq %llu), "
			 "original bytes, in %zu RESTORE_SYNC; witnessed its "
			 "chain up to seq %llu%s", g.theirs, peer, g.ours,
			 (unsigned long long)seq, parts,
			 (unsigned long long)(g.best_cp ? g.best_cp : seq),
			 skipped ? "; some too large, kept" : "");
		r = state_audit(n, "restore_sync_sent", NULL, NULL, peer,
				"node", "ok", detail);
	}
	if (!r)
		log_msg(LOG_WARN, "delivery", "peer=%s was restored from a "
			"backup: %s", peer, detail);
	for (size_t i = 0; i < g.n_items; i++) {
		free(g.items[i].env.data);
		free(g.items[i].receipt.data);
	}
	free(g.items);
	free(g.cp.data);
	free(sizes);
	free(part_of);
	return r;
}

int restoresync_proof(node_t *n, const char *peer, const uint8_t *cp,
		      size_t len)
{
	Referral__V1__RestoreSync rs = REFERRAL__V1__RESTORE_SYNC__INIT;
	ProtobufCBinaryData one = { len, (uint8_t *)cp };

	rs.envelopes = &one;
	rs.n_envelopes = 1;
	return outbox_node_level(n, peer, REFERRAL__V1__KIND__RESTORE_SYNC,
				 &rs.base, 2, util_now_ms());
}

/* ---- the restored node's side ------------------------------------------ */

struct tally {
	size_t submits, ours, theirs, known, refused, bad;
	uint64_t proven; /* the highest seq of our chain a checkpoint proves */
	uint64_t proven_at; /* when we made that checkpoint (our clock) */
	uint8_t proven_hash[32];
	bool restoring;  /* a restore was announced: messages are applied */
};

/* One of the peer's receipts in a sync, verified once. */
typedef struct {
	uint8_t msg_id[16], sha[32], rid[16]; /* what it receipts; its own id */
	int status;
	uint64_t received_at_ms;
	size_t index;                         /* in rs->receipts */
} rcpt_t;

static int rcpt_cmp(const void *a, const void *b)
{
	return memcmp(((const rcpt_t *)a)->msg_id,
		      ((const rcpt_t *)b)->msg_id, 16);
}

/* The receipts among rs's signed by peer, addressed to us, saying STORED
 * or DUPLICATE: each verified once (a sync carries thousands), sorted by
 * the msg_id it receipts. *ret malloc'd (NULL when none). */
static int receipts_index(node_t *n, const Referral__V1__RestoreSync *rs,
			  const char *peer, rcpt_t **ret, size_t *ret_n)
{
	rcpt_t *x = rs->n_receipts ? calloc(rs->n_receipts, sizeof(*x)) : NULL;
	size_t k = 0;

	*ret = NULL;
	*ret_n = 0;
	if (rs->n_receipts && !x)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_receipts; i++) {
		envelope_check_t rc_c;
		Referral__V1__Receipt *rc = NULL;
		int st = envelope_verify_archived(directory_key, n->dir,
						  rs->receipts[i].data,
						  rs->receipts[i].len, &rc_c);
		if (st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
		    rc_c.hdr->kind == REFERRAL__V1__KIND__RECEIPT &&
		    !strcmp(rc_c.hdr->from_node, peer) &&
		    !strcmp(rc_c.hdr->to_node, n->cfg.code) &&
		    rc_c.hdr->msg_id.len == 16)
			rc = referral__v1__receipt__unpack(NULL,
							   rc_c.env->body.len,
							   rc_c.env->body.data);
		if (rc && rc->msg_id.len == 16 &&
		    rc->envelope_sha256.len == 32 &&
		    (rc->status == REFERRAL__V1__RECEIPT_STATUS__STORED ||
		     rc->status == REFERRAL__V1__RECEIPT_STATUS__DUPLICATE)) {
			memcpy(x[k].msg_id, rc->msg_id.data, 16);
			memcpy(x[k].sha, rc->envelope_sha256.data, 32);
			memcpy(x[k].rid, rc_c.hdr->msg_id.data, 16);
			x[k].status = rc->status;
			x[k].received_at_ms = rc->received_at_ms;
			x[k].index = i;
			k++;
		}
		if (rc)
			referral__v1__receipt__free_unpacked(rc, NULL);
		envelope_check_free(&rc_c);
	}
	if (k)
		qsort(x, k, sizeof(*x), rcpt_cmp);
	*ret = x;
	*ret_n = k;
	return 0;
}

/* The receipt for our envelope (msg_id, its bytes' SHA-256), or NULL. */
static const rcpt_t *find_receipt(const rcpt_t *x, size_t nx,
				  const uint8_t *msg_id, const uint8_t sha[32])
{
	rcpt_t key;
	const rcpt_t *f;

	if (!nx)
		return NULL;
	memcpy(key.msg_id, msg_id, 16);
	f = bsearch(&key, x, nx, sizeof(*x), rcpt_cmp);
	if (!f)
		return NULL;
	/* Several receipts for one msg_id (a resend): any with its bytes. */
	while (f > x && !memcmp(f[-1].msg_id, msg_id, 16))
		f--;
	for (; f < x + nx && !memcmp(f->msg_id, msg_id, 16); f++)
		if (!memcmp(f->sha, sha, 32))
			return f;
	return NULL;
}

/* One of our own envelopes, as peer kept it: its outbox record again,
 * delivered with peer's receipt (pending, and resent, without one: the
 * peer then answers DUPLICATE); a submit's referral record too. */
static int restore_ours(node_t *n, const Referral__V1__RestoreSync *rs,
			const rcpt_t *rx, size_t nrx,
			const envelope_check_t *ic, const ProtobufCBinaryData *b,
			const char *peer, struct tally *t)
{
	Referral__V1__Header *h = ic->hdr;
	Referral__Store__V1__OutboxRecord ob =
		REFERRAL__STORE__V1__OUTBOX_RECORD__INIT;
	Referral__Store__V1__ReceiptRecord kept =
		REFERRAL__STORE__V1__RECEIPT_RECORD__INIT;
	Referral__V1__ReferralSubmit *a = NULL;
	const rcpt_t *rc;
	referral_rec_t *rr = NULL;
	uint8_t *v, key[32];
	size_t vl;
	int r;

	if (store_get(n->store, STORE_OUTBOX, h->msg_id.data, 16, &v, &vl) == 0) {
		free(v);
		t->known++;
		return 0;
	}
	if (h->kind == REFERRAL__V1__KIND__REFERRAL_SUBMIT) {
		a = referrals_submit_in(b->data, b->len, NULL, NULL);
		if (!a || !a->matter) {
			if (a)
				referral__v1__referral_submit__free_unpacked(a, NULL);
			t->bad++;
			return 0;
		}
		if (referrals_get(n, h->referral_id, &rr) == 0) {
			/* The referral is here under another message. */
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
			referral__v1__referral_submit__free_unpacked(a, NULL);
			t->known++;
			return 0;
		}
		rr = NULL;
	}
	ob.envelope = *b;
	ob.to_node = (char *)peer;
	ob.referral_id = h->referral_id;
	ob.kind = h->kind;
	ob.created_at_ms = h->created_at_ms;
	ob.priority = a ? (uint32_t)application_priority(a) : 0;
	rc = find_receipt(rx, nrx, h->msg_id.data, ic->sha256);
	if (rc) {
		ob.state = OUT_DELIVERED;
		ob.receipt = rs->receipts[rc->index];
		ob.receipt_status = rc->status;
		ob.receipt_at_ms = rc->received_at_ms;
		ob.peer_received_at_ms = rc->received_at_ms;
		ob.attempts = ob.sends = 1;
	} else {
		ob.state = OUT_PENDING;
		ob.next_attempt_ms = util_now_ms();
	}
	r = store_put_msg(n->store, STORE_OUTBOX, h->msg_id.data, 16, &ob.base);
	if (!r && rc) {
		memcpy(key, h->msg_id.data, 16);
		memcpy(key + 16, rc->rid, 16);
		kept.receipt = rs->receipts[rc->index];
		kept.from_node = (char *)peer;
		kept.status = rc->status;
		kept.received_at_ms = util_now_ms();
		r = store_put_msg(n->store, STORE_RECEIPTS, key, 32, &kept.base);
	}
	if (!r && !rc) {
		sched_t e = { 0 };
		memcpy(e.msg_id, h->msg_id.data, 16);
		e.next_ms = e.created_ms = ob.next_attempt_ms;
		e.priority = ob.priority;
		snprintf(e.to, sizeof(e.to), "%s", peer);
		r = turn_schedule(&n->turn, &e);
	}
	if (!r && a) {
		referral_rec_t nr = REFERRAL__STORE__V1__REFERRAL_RECORD__INIT;
		Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
		nr.referral_id = h->referral_id;
		nr.direction = DIR_OUTGOING;
		nr.origin_node = n->cfg.code;
		nr.receiver_node = (char *)peer;
		nr.submit_msg_id = h->msg_id;
		nr.created_at_ms = h->created_at_ms;
		nr.state = "REQUESTED";
		nr.case_type = a->matter->case_type;
		nr.service = a->matter->service;
		nr.seq_out = h->referral_seq;
		nr.priority = ob.priority;
		nr.linked_from = "";
		nr.limitation_deadline = a->matter->limitation_deadline;
		sc.state = "REQUESTED";
		sc.actor = "";
		sc.changed_at_ms = h->created_at_ms;
		r = history_append(n, &nr, &sc, n->cfg.code,
					     h->created_at_ms, h->msg_id.data);
		dues_written(n, &nr);
		if (!r)
			r = store_put_msg(n->store, STORE_REFERRALS, h->referral_id,
					  strlen(h->referral_id), &nr.base);
		history_rec_release(&nr);
		/* The peer's changes that came before it (a later part of the
		 * sync can arrive first) were held for it. The lifecycle
		 * replaces the record's strings: on an unpacked copy. */
		if (!r)
			r = referrals_get(n, h->referral_id, &rr);
		if (!r)
			r = referrals_drain_held(n, rr, peer);
		if (!r)
			r = referrals_put(n, rr);
		if (rr)
			referral__store__v1__referral_record__free_unpacked(rr, NULL);
		rr = NULL;
		t->submits += !r;
	} else if (!r && referrals_get(n, h->referral_id, &rr) == 0) {
		bool put = rr->seq_out < h->referral_seq;

		if (put)
			rr->seq_out = h->referral_seq;
		/* A move this node asked for and lost with the backup: its
		 * confirmation, later in the sync, must find the ask. */
		if (rr->direction == DIR_OUTGOING) {
			r = lawmoves_ask_body(rr, h->kind, &ic->env->body);
			put = put || !r;
		}
		if (!r && put)
			r = referrals_put(n, rr);
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
	}
	if (!r)
		r = state_audit(n, "restored_message", h->referral_id,
				h->msg_id.data, peer, "node",
				rc ? "delivered" : "pending",
				envelope_kind_name(h->kind));
	t->ours += !r;
	if (a)
		referral__v1__referral_submit__free_unpacked(a, NULL);
	return r;
}

/* Is msg_id in table (seen or outbox) the same message, sent by from
 * with these bytes? 1 yes, 0 not there, REF_E_REFUSED another message
 * with that id, or a store error. */
static int same_seen(node_t *n, const uint8_t *msg_id, const char *from,
		     const uint8_t sha[32])
{
	Referral__Store__V1__SeenRecord *sr;
	uint8_t *v;
	size_t vl;
	int r = store_get(n->store, STORE_SEEN, msg_id, 16, &v, &vl);

	if (r == REF_E_NOT_FOUND)
		return 0;
	if (r)
		return r;
	sr = referral__store__v1__seen_record__unpack(NULL, vl, v);
	free(v);
	r = sr && !strcmp(sr->from_node, from) &&
	    sr->envelope_sha256.len == 32 &&
	    !memcmp(sr->envelope_sha256.data, sha, 32) ? 1 : REF_E_REFUSED;
	if (sr)
		referral__store__v1__seen_record__free_unpacked(sr, NULL);
	return r;
}

/* One of peer's changes we lost: applied in referral_seq order (held if
 * early, or if its referral comes later in the sync, past peer's held
 * bounds: the restore vouches for it), once. One refused is counted as
 * refused, never as already here. */
static int restore_theirs(node_t *n, const envelope_check_t *ic,
			  const ProtobufCBinaryData *b, const char *peer,
			  struct tally *t)
{
	Referral__V1__Header *h = ic->hdr;
	Referral__Store__V1__InboxRecord in = REFERRAL__STORE__V1__INBOX_RECORD__INIT;
	Referral__Store__V1__SeenRecord seen = REFERRAL__STORE__V1__SEEN_RECORD__INIT;
	referral_rec_t *rr = NULL;
	uint64_t now = util_now_ms();
	char d2[300];
	bool held = false;
	int st = 0, r;

	r = same_seen(n, h->msg_id.data, peer, ic->sha256);
	if (r == 1) {
		t->known++;
		return 0;
	}
	if (r == REF_E_REFUSED) {
		/* A different message under a msg_id already used. */
		t->refused++;
		log_msg(LOG_WARN, "peer", "peer=%s referral=%s: a change in "
			"its restore sync reuses a msg_id already used by "
			"another message: not applied", peer, h->referral_id);
		return 0;
	}
	if (r)
		return r;
	if (h->kind != REFERRAL__V1__KIND__STATUS_CHANGE &&
	    h->kind != REFERRAL__V1__KIND__MATERIALS_SUPPLEMENT) {
		t->bad++;
		return 0;
	}
	r = referrals_get(n, h->referral_id, &rr);
	if (r == 0) {
		bool party = !strcmp(rr->receiver_node, peer) ||
			     !strcmp(rr->origin_node, peer);
		bool applied = h->referral_seq <= rr->seq_in;
		referral__store__v1__referral_record__free_unpacked(rr, NULL);
		if (!party) {
			t->bad++;
			return 0;
		}
		if (applied) {
			/* Its number is applied: this change came back
			 * from the backup (under the same or, resent
			 * re-signed, another msg_id). */
			t->known++;
			return 0;
		}
	} else if (r != REF_E_NOT_FOUND) {
		return r;
	}
	r = referrals_restore_change(n, ic, b->data, b->len, peer, d2,
				     sizeof(d2), &st, &held);
	if (r)
		return r;
	if (st != REFERRAL__V1__RECEIPT_STATUS__STORED) {
		/* handle_change audited the refusal. */
		t->refused++;
		log_msg(LOG_WARN, "peer", "peer=%s referral=%s seq=%llu: a "
			"change in its restore sync was refused: %s", peer,
			h->referral_id, (unsigned long long)h->referral_seq,
			d2);
		return 0;
	}
	in.envelope = *b;
	in.from_node = (char *)peer;
	in.referral_id = h->referral_id;
	in.kind = h->kind;
	in.received_at_ms = now;
	seen.from_node = (char *)peer;
	seen.received_at_ms = now;
	seen.created_at_ms = h->created_at_ms; /* what prune.c ages by */
	seen.envelope_sha256.data = (uint8_t *)ic->sha256;
	seen.envelope_sha256.len = 32;
	/* A change held for a gap or its referral was kept and counted
	 * once, by held.c, in its own table (it moves to the inbox when
	 * applied); one applied goes to the inbox and counts against the
	 * peer's store quota here. */
	if (!held) {
		r = store_put_msg(n->store, STORE_INBOX, h->msg_id.data, 16,
				  &in.base);
		if (!r)
			r = quota_add(n, peer, 0, 0, (int64_t)b->len);
	}
	if (!r)
		r = store_put_msg(n->store, STORE_SEEN, h->msg_id.data, 16,
				  &seen.base);
	if (!r)
		r = state_audit(n, "received", h->referral_id, h->msg_id.data,
				peer, "node", "STORED",
				envelope_kind_name(h->kind));
	t->theirs += !r;
	return r;
}

/* Our own checkpoint, as peer witnessed it: how far our chain went. */
static void proven(const envelope_check_t *ic, struct tally *t)
{
	Referral__V1__AuditCheckpoint *cp = referral__v1__audit_checkpoint__unpack(
		NULL, ic->env->body.len, ic->env->body.data);

	if (cp && !cp->restored && cp->seq > t->proven &&
	    cp->head_hash.len == 32) {
		t->proven = cp->seq;
		t->proven_at = cp->at_ms;
		memcpy(t->proven_hash, cp->head_hash.data, 32);
	}
	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
}

int restoresync_receive(node_t *n, const envelope_check_t *c,
			const char *peer, char *detail, size_t dlen,
			int *ret_status, restoresync_rollback_t *ret_rollback)
{
	Referral__V1__RestoreSync *rs = referral__v1__restore_sync__unpack(
		NULL, c->env->body.len, c->env->body.data);
	Referral__Store__V1__SeenRecord seen = REFERRAL__STORE__V1__SEEN_RECORD__INIT;
	struct tally t = { 0 };
	rcpt_t *rx = NULL;
	size_t nrx = 0;
	uint64_t pseq = 0, pat = 0, announced = 0;
	char past[160];
	bool explained;
	int r = 0;

	if (!rs) {
		snprintf(detail, dlen, "body does not parse as RestoreSync");
		*ret_status = REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
		return state_audit(n, "rejected", NULL, c->hdr->msg_id.data,
				   peer, "node", "MALFORMED", detail);
	}
	if (point_read(n, &pseq, &pat, &announced)) {
		pseq = pat = 0;
		announced = 0;
	}
	/* Messages are taken back only by a node that announced a restore,
	 * within a message lifetime of the announcement (its peers answer
	 * at once; a part lost is resent within that): otherwise a peer
	 * could bring back what the node has since given up (a purge), and
	 * archived messages skip the replay window for good. A checkpoint
	 * of ours is read either way. */
	t.restoring = restoresync_window(n, util_now_ms());
	if (t.restoring)
		r = receipts_index(n, rs, peer, &rx, &nrx);
	for (size_t i = 0; !r && i < rs->n_envelopes; i++) {
		const ProtobufCBinaryData *b = &rs->envelopes[i];
		envelope_check_t ic;
		int st = envelope_verify_archived(directory_key, n->dir, b->data,
						  b->len, &ic);
		bool mine = st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
			    !strcmp(ic.hdr->from_node, n->cfg.code) &&
			    !strcmp(ic.hdr->to_node, peer);
		bool theirs = st == REFERRAL__V1__RECEIPT_STATUS__STORED &&
			      !strcmp(ic.hdr->from_node, peer) &&
			      !strcmp(ic.hdr->to_node, n->cfg.code);

		if (mine && ic.hdr->kind == REFERRAL__V1__KIND__AUDIT_CHECKPOINT)
			proven(&ic, &t);
		else if (mine && t.restoring &&
			 restoresync_originated_by(ic.hdr->referral_id,
						   n->cfg.code))
			r = restore_ours(n, rs, rx, nrx, &ic, b, peer, &t);
		else if (theirs && t.restoring &&
			 restoresync_originated_by(ic.hdr->referral_id,
						   n->cfg.code))
			r = restore_theirs(n, &ic, b, peer, &t);
		else {
			/* Not ours nor the peer's to us, or a bad signature:
			 * counted, never applied. */
			t.bad++;
			log_msg(LOG_WARN, "peer", "peer=%s restore sync item %zu "
				"not applied: %s", peer, i,
				st != REFERRAL__V1__RECEIPT_STATUS__STORED
				? envelope_status_name(st)
				: !t.restoring ? "this node announced no restore "
				  "within a message lifetime"
				: "not between this node and the peer");
		}
		envelope_check_free(&ic);
	}
	referral__v1__restore_sync__free_unpacked(rs, NULL);
	free(rx);
	if (r)
		return r;
	/* Our chain does not hold what the peer witnessed, and no restore
	 * announced explains it (none, or the checkpoint was made after the
	 * announcement): this store was rolled back in secret. */
	explained = pseq && pseq < t.proven && t.proven_at <= announced;
	if (t.proven && !explained) {
		uint8_t hh[32], at[32];
		uint64_t head = 0;
		r = audit_head(n->store, &head, hh);
		if (!r && (t.proven > head ||
			   (audit_hash_at(n->store, t.proven, at) == 0 &&
			    memcmp(at, t.proven_hash, 32)))) {
			/* The caller has checkpoint.c hold every send. */
			ret_rollback->witnessed = t.proven;
			ret_rollback->head = head;
		}
		if (r)
			return r;
	}
	if (explained)
		snprintf(past, sizeof(past), "its checkpoints prove %llu audit "
			 "record(s) past the backup (seq %llu to %llu)",
			 (unsigned long long)(t.proven - pseq),
			 (unsigned long long)(pseq + 1),
			 (unsigned long long)t.proven);
	else if (pseq && !t.proven)
		snprintf(past, sizeof(past), "no checkpoint of ours past the "
			 "backup in this message (a peer's answer may come in "
			 "several)");
	else
		snprintf(past, sizeof(past), "it witnessed our chain up to seq "
			 "%llu (no restore announced)",
			 (unsigned long long)t.proven);
	snprintf(detail, dlen, "restore sync from %s: %s; %zu message(s) came "
		 "back: %zu referral(s) of ours, %zu other message(s) of ours, "
		 "%zu change(s) of %s; %zu already held, %zu refused, %zu not "
		 "applied", peer, past, t.ours + t.theirs, t.submits,
		 t.ours - t.submits, t.theirs, peer, t.known, t.refused, t.bad);
	/* The sync itself is applied once, like any message. */
	seen.from_node = (char *)peer;
	seen.received_at_ms = util_now_ms();
	seen.envelope_sha256.data = (uint8_t *)c->sha256;
	seen.envelope_sha256.len = 32;
	r = store_put_msg(n->store, STORE_SEEN, c->hdr->msg_id.data, 16,
			  &seen.base);
	if (!r)
		r = state_audit(n, "restore_sync", NULL, c->hdr->msg_id.data,
				peer, "node", "STORED", detail);
	if (r)
		return r;
	log_msg(LOG_WARN, "node", "%s%s", detail, pseq ? "; referrals "
		"acknowledged after the backup that never reached a peer are "
		"gone" : "");
	*ret_status = REFERRAL__V1__RECEIPT_STATUS__STORED;
	return 0;
}
