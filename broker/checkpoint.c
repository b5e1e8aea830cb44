/* checkpoint.c: see checkpoint.h. Writes talked, n_talked, last_cp_seq
 * and last_cp_ms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "checkpoint.h"
#include "log.h"
#include "outbox.h"
#include "restoresync.h"
#include "util.h"

void checkpoint_init(node_t *n)
{
	n->n_talked = 0;
	n->n_greeted = 0;
	n->rolled_back = false;
	n->rolled_back_next = -1;
	n->last_cp_seq = 0;
	n->last_cp_ms = util_now_ms();
}

void checkpoint_talked(node_t *n, const char *peer)
{
	for (size_t i = 0; i < n->n_talked; i++)
		if (!strcmp(n->talked[i], peer))
			return;
	if (n->n_talked < 64)
		snprintf(n->talked[n->n_talked++], 8, "%s", peer);
}

struct lost_ctx {
	const char *peer;
	uint64_t after_ms;
	uint8_t (*ids)[16];
	size_t n, cap;
};

/* Our messages to peer that it receipted (its own received_at_ms, in its
 * clock like the checkpoint's at_ms) after after_ms. */
static int lost_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct lost_ctx *lc = ctx;
	Referral__Store__V1__OutboxRecord *ob;

	if (kl != 16)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return REF_E_CORRUPT;
	/* The referrals the restored peer originated come back to it in
	 * RESTORE_SYNC (restoresync.c), original bytes: not here. */
	if (ob->state == OUT_DELIVERED && !strcmp(ob->to_node, lc->peer) &&
	    ob->kind != REFERRAL__V1__KIND__AUDIT_CHECKPOINT &&
	    ob->kind != REFERRAL__V1__KIND__RESTORE_SYNC &&
	    !restoresync_originated_by(ob->referral_id, lc->peer) &&
	    outbox_receipt_at(ob) > lc->after_ms && lc->n < lc->cap)
		memcpy(lc->ids[lc->n++], k, 16);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	return 0;
}

/* A peer started from a backup lost what it received after the backup:
 * for the referrals we originated, each such message of ours goes again, signed anew (same kind, referral,
 * seq and body), so it is applied there once more, and only once. */
static int resend_after_restore(node_t *n, const char *peer, uint64_t after_ms)
{
	struct lost_ctx lc = { peer, after_ms, NULL, 0, 100000 };
	uint64_t now = util_now_ms();
	char detail[120];
	int r;

	lc.ids = malloc(lc.cap * 16);
	if (!lc.ids)
		return -ENOMEM;
	r = store_foreach(n->store, STORE_OUTBOX, lost_one, &lc);
	for (size_t i = 0; !r && i < lc.n; i++) {
		Referral__Store__V1__OutboxRecord *ob = NULL;
		char fresh[33];
		r = store_get_msg(n->store, STORE_OUTBOX, lc.ids[i], 16,
				  &referral__store__v1__outbox_record__descriptor,
				  (ProtobufCMessage **)&ob);
		if (!r)
			r = outbox_resign(n, ob, now, fresh);
		if (!r) {
			snprintf(detail, sizeof(detail), "sent again as msg_id %s "
				 "(the peer was restored from a backup)", fresh);
			r = state_audit(n, "resent_after_restore", ob->referral_id,
				  lc.ids[i], peer, "node", "ok", detail);
		}
		if (ob)
			referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	}
	free(lc.ids);
	if (!r)
		log_msg(LOG_WARN, "delivery", "peer=%s was restored from a backup "
			"taken before %llu ms: %zu message(s) it had receipted "
			"since are sent again", peer,
			(unsigned long long)after_ms, lc.n);
	return r;
}


#define META_ROLLBACK "rollback_hold"
#define META_PEER_RESTORED "peer_restored:"

struct wmax {
	const char *peer;
	uint64_t seq;
	uint8_t *env;
	size_t len;
};

/* The highest witnessed checkpoint of peer's chain (its envelope copied). */
static int wmax_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct wmax *w = ctx;
	uint64_t seq = 0;

	if (kl != 14 || memcmp(k, w->peer, 6))
		return 0;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | k[6 + i];
	if (seq >= w->seq) {
		free(w->env);
		w->env = malloc(vl ? vl : 1);
		if (!w->env)
			return -ENOMEM;
		memcpy(w->env, v, vl);
		w->len = vl;
		w->seq = seq;
	}
	return 0;
}

/* When the witnessed checkpoint env was made (its body's at_ms; 0 if it
 * cannot be read). */
static uint64_t witnessed_at(const uint8_t *env, size_t len)
{
	Referral__V1__Envelope *e = env ? referral__v1__envelope__unpack(
		NULL, len, env) : NULL;
	Referral__V1__AuditCheckpoint *cp = e ?
		referral__v1__audit_checkpoint__unpack(NULL, e->body.len,
						       e->body.data) : NULL;
	uint64_t at = cp ? cp->at_ms : 0;

	if (cp)
		referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
	return at;
}

/* Where peer's chain stood, as witnessed here, when it announced its last
 * restore (0: never): its later checkpoints below it are its new chain. */
static uint64_t peer_restored_at(node_t *n, const char *peer)
{
	char key[32], text[32];
	uint8_t *v;
	size_t vl;
	unsigned long long at = 0;

	snprintf(key, sizeof(key), META_PEER_RESTORED "%s", peer);
	if (store_get(n->store, STORE_META, key, strlen(key), &v, &vl))
		return 0;
	snprintf(text, sizeof(text), "%.*s", (int)(vl < 31 ? vl : 31),
		 (char *)v);
	free(v);
	return sscanf(text, "%llu", &at) == 1 ? at : 0;
}

int checkpoint_refuse(const envelope_check_t *c, char *detail, size_t dlen)
{
	Referral__V1__AuditCheckpoint *cp;
	int st = 0;

	if (c->env->body.len > CHECKPOINT_MAX_BODY) {
		snprintf(detail, dlen, "AUDIT_CHECKPOINT body is %zu bytes, over "
			 "the limit of %d", c->env->body.len,
			 CHECKPOINT_MAX_BODY);
		return REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	cp = referral__v1__audit_checkpoint__unpack(NULL, c->env->body.len,
						    c->env->body.data);
	if (!cp) {
		snprintf(detail, dlen, "body does not parse as AuditCheckpoint");
		return REFERRAL__V1__RECEIPT_STATUS__MALFORMED;
	}
	if (cp->head_hash.len != 32) {
		snprintf(detail, dlen, "AUDIT_CHECKPOINT head_hash is %zu "
			 "bytes, not 32", cp->head_hash.len);
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	} else if (cp->restored && !cp->at_ms) {
		snprintf(detail, dlen, "a restore announcement (AUDIT_CHECKPOINT "
			 "restored) needs its backup's time in at_ms");
		st = REFERRAL__V1__RECEIPT_STATUS__REFUSED;
	}
	referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	return st;
}

/* The witnessed checkpoints kept per peer: its latest few prove how far
 * its chain went; older ones prove nothing more. */
#define WITNESS_KEEP 8

struct wprune {
	const char *peer;
	uint64_t keep;           /* the seq just stored: never pruned */
	uint64_t seqs[WITNESS_KEEP + 1];
	size_t n, total;
};

/* The lowest seqs of peer's entries (besides keep), up to WITNESS_KEEP+1. */
static int wprune_one(void *ctx, const uint8_t *k, size_t kl,
		      const uint8_t *v, size_t vl)
{
	struct wprune *w = ctx;
	uint64_t seq = 0;

	(void)v, (void)vl;
	if (kl != 14 || memcmp(k, w->peer, 6))
		return 0;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | k[6 + i];
	w->total++;
	if (seq == w->keep)
		return 0;
	/* Keys are in seq order: the first ones met are the lowest. */
	if (w->n < WITNESS_KEEP + 1)
		w->seqs[w->n++] = seq;
	return 0;
}

/* Deletes peer's oldest witnessed entries past WITNESS_KEEP (one or two
 * per checkpoint: the table never grows past it). */
static int witness_prune(node_t *n, const char *peer, uint64_t keep)
{
	struct wprune w = { peer, keep, { 0 }, 0, 0 };
	uint8_t key[14];
	int r = store_foreach(n->store, STORE_WITNESSED, wprune_one, &w);

	for (size_t i = 0; !r && w.total > WITNESS_KEEP && i < w.n; i++) {
		memcpy(key, peer, 6);
		for (int j = 0; j < 8; j++)
			key[6 + j] = (uint8_t)(w.seqs[i] >> (56 - 8 * j));
		r = store_del(n->store, STORE_WITNESSED, key, 14);
		w.total--;
	}
	return r;
}

/* Is an answer to peer's last restore announcement (a RESTORE_SYNC) still
 * waiting for its receipt? */
struct pend {
	const char *peer;
	bool found;
};

static int pend_one(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v,
		    size_t vl)
{
	struct pend *p = ctx;
	Referral__Store__V1__OutboxRecord *ob;

	if (kl != 16 || p->found)
		return 0;
	ob = referral__store__v1__outbox_record__unpack(NULL, vl, v);
	if (!ob)
		return 0;
	p->found = ob->state == OUT_PENDING &&
		   ob->kind == REFERRAL__V1__KIND__RESTORE_SYNC &&
		   !strcmp(ob->to_node, p->peer);
	referral__store__v1__outbox_record__free_unpacked(ob, NULL);
	(void)k;
	return 0;
}

/* A peer's signed checkpoint of its audit chain, kept as received (the
 * envelope is the proof): key = node code || seq (8 bytes). */
int checkpoint_witness(node_t *n, const envelope_check_t *c, const uint8_t *buf,
		   size_t len, const char *peer)
{
	Referral__V1__AuditCheckpoint *cp = referral__v1__audit_checkpoint__unpack(
		NULL, c->env->body.len, c->env->body.data);
	uint8_t key[16];
	char detail[64];
	int r;

	if (!cp)
		return REF_E_MALFORMED;
	if (!cp->restored) {
		/* A chain behind what we witnessed, with no restore announced:
		 * its store was rolled back in secret. Our witness stays as
		 * it is, and goes back to it, its own signed checkpoint, in a
		 * RESTORE_SYNC: it holds its sends until an admin knows. */
		struct wmax w = { peer, 0, NULL, 0 };
		r = store_foreach(n->store, STORE_WITNESSED, wmax_one, &w);
		/* Only a checkpoint made after the one witnessed can show the
		 * chain went back: an older one that arrives late (resent after
		 * its receipt was lost, overtaken by the next) only lags. */
		if (!r && w.seq > cp->seq && w.seq > peer_restored_at(n, peer) &&
		    cp->at_ms > witnessed_at(w.env, w.len)) {
			snprintf(detail, sizeof(detail), "seq %llu, behind %llu "
				 "witnessed", (unsigned long long)cp->seq,
				 (unsigned long long)w.seq);
			r = state_audit(n, "rollback_seen", NULL,
					c->hdr->msg_id.data, peer, "node",
					"STORED", detail);
			if (!r)
				r = restoresync_proof(n, peer, w.env, w.len);
			if (!r)
				log_msg(LOG_WARN, "delivery", "peer=%s sent a "
					"checkpoint of its audit chain at seq "
					"%llu, behind seq %llu witnessed here, "
					"without a restore: its store was rolled "
					"back; its own checkpoint is sent back to "
					"it", peer, (unsigned long long)cp->seq,
					(unsigned long long)w.seq);
			free(w.env);
			referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
			return r;
		}
		free(w.env);
		if (r) {
			referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
			return r;
		}
	} else {
		/* Its checkpoints from here on start a new chain below what
		 * we witnessed: not a rollback. */
		struct wmax w = { peer, 0, NULL, 0 };
		char mkey[32], text[24];
		r = store_foreach(n->store, STORE_WITNESSED, wmax_one, &w);
		free(w.env);
		snprintf(mkey, sizeof(mkey), META_PEER_RESTORED "%s", peer);
		snprintf(text, sizeof(text), "%llu", (unsigned long long)w.seq);
		if (!r)
			r = store_put(n->store, STORE_META, mkey, strlen(mkey),
				      text, strlen(text));
		if (r) {
			referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
			return r;
		}
	}
	memcpy(key, peer, 6);
	for (int i = 0; i < 8; i++)
		key[6 + i] = (uint8_t)(cp->seq >> (56 - 8 * i));
	snprintf(detail, sizeof(detail), "seq %llu",
		 (unsigned long long)cp->seq);
	r = store_put(n->store, STORE_WITNESSED, key, 14, buf, len);
	if (!r)
		r = witness_prune(n, peer, cp->seq);
	if (!r)
		r = state_audit(n, "witnessed", NULL, c->hdr->msg_id.data, peer, "node",
			  "STORED", detail);
	if (!r && cp->restored) {
		/* One answer at a time: another announcement while the last
		 * answer waits for its receipt would queue everything again
		 * (a member could fill our outbox with copies). */
		struct pend p = { peer, false };
		r = store_foreach(n->store, STORE_OUTBOX, pend_one, &p);
		if (!r && p.found) {
			r = state_audit(n, "restore_not_answered", NULL,
					c->hdr->msg_id.data, peer, "node",
					"ok", "an answer to its last restore "
					"announcement is still pending");
			if (!r)
				log_msg(LOG_WARN, "delivery", "peer=%s "
					"announced a restore again while our "
					"answer to the last one is pending: "
					"not answered again", peer);
			referral__v1__audit_checkpoint__free_unpacked(cp,
								      NULL);
			return r;
		}
	}
	if (!r && cp->restored)
		r = restoresync_answer(n, peer, cp->seq, cp->at_ms);
	if (!r && cp->restored)
		r = resend_after_restore(n, peer, cp->at_ms);
	referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	return r;
}

/* The first contact with a peer in this run: our chain head goes to it at
 * once, so a peer that witnessed more of our chain (a store rolled back
 * in secret) tells us now, not checkpoint_records later. Not itself an
 * audit event: the peer records what it witnessed. */
static void greet(node_t *n)
{
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	uint8_t hash[32];
	uint64_t seq;
	turn_mark_t mark;

	for (size_t i = 0; i < n->n_talked && n->n_greeted < 64; i++) {
		const char *p = n->talked[i];
		bool done = false;
		for (size_t j = 0; j < n->n_greeted && !done; j++)
			done = !strcmp(n->greeted[j], p);
		if (done || !strcmp(p, n->cfg.code) || !directory_node(n->dir, p))
			continue;
		if (audit_head(n->store, &seq, hash))
			return;
		cp.seq = seq;
		cp.head_hash.data = hash;
		cp.head_hash.len = 32;
		cp.at_ms = util_now_ms();
		mark = turn_mark(&n->turn);
		if (store_event_begin(n->store))
			return;
		if (outbox_node_level(n, p, REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
				      &cp.base, 2, cp.at_ms) ||
		    store_event_commit(n->store)) {
			store_event_abort(n->store);
			turn_rollback(&n->turn, mark);
			return;
		}
		snprintf(n->greeted[n->n_greeted++], 8, "%s", p);
	}
}

/* Every checkpoint_records records, or checkpoint_minutes if anything was
 * recorded, the chain head goes, signed, to each peer talked with since. */
void checkpoint_maybe(node_t *n)
{
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	uint8_t hash[32];
	uint64_t seq, now = util_now_ms();
	turn_mark_t mark;
	int r;

	if (n->rolled_back)
		return; /* nothing goes out until an admin acknowledges */
	greet(n);
	if (audit_head(n->store, &seq, hash) || seq <= n->last_cp_seq ||
	    !n->n_talked)
		return;
	if (seq - n->last_cp_seq < (uint64_t)n->cfg.checkpoint_records &&
	    now - n->last_cp_ms < (uint64_t)n->cfg.checkpoint_minutes * 60000)
		return;
	cp.seq = seq;
	cp.head_hash.data = hash;
	cp.head_hash.len = 32;
	cp.at_ms = now;
	mark = turn_mark(&n->turn);
	if (store_event_begin(n->store))
		return;
	r = 0;
	for (size_t i = 0; i < n->n_talked && !r; i++)
		if (directory_node(n->dir, n->talked[i]))
			r = outbox_node_level(n, n->talked[i],
					    REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
					    &cp.base, 0, now);
	if (!r) {
		char detail[40];
		snprintf(detail, sizeof(detail), "seq %llu to %zu peer(s)",
			 (unsigned long long)seq, n->n_talked);
		r = state_audit(n, "checkpoint", NULL, NULL, NULL, "node", "ok", detail);
	}
	if (!r)
		r = store_event_commit(n->store);
	if (r) {
		store_event_abort(n->store);
		turn_rollback(&n->turn, mark);
		return;
	}
	n->last_cp_seq = seq + 1; /* the checkpoint's own record */
	n->last_cp_ms = now;
	n->n_talked = 0;
}

#define META_RESTORED "restored_from_backup"

/* Started from a backup (refctl restore marks it): every peer is told,
 * once, where this node's chain ends and when, as a signed checkpoint with
 * restored set, so each sends again what this node receipted after. */
int checkpoint_announce_restore(node_t *n)
{
	Referral__V1__AuditCheckpoint cp = REFERRAL__V1__AUDIT_CHECKPOINT__INIT;
	unsigned long long mseq = 0, mat = 0;
	uint8_t *v, hash[32];
	size_t vl, sent = 0;
	char detail[200], text[64];
	int r;

	{
		/* A refctl restore cut short: the store in force is the old
		 * one or the marked copy, and what it left is never used. */
		char left[600];
		struct stat st;
		snprintf(left, sizeof(left), "%s/store.restoring", n->cfg.data_dir);
		if (stat(left, &st) == 0)
			log_msg(LOG_WARN, "node", "%s was left by a refctl restore "
				"cut short: it is not in force; the next refctl "
				"restore puts it aside, or remove it once "
				"checked", left);
	}
	if (store_get(n->store, STORE_META, META_ROLLBACK, strlen(META_ROLLBACK),
		      &v, &vl) == 0) {
		free(v);
		n->rolled_back = true;
		log_msg(LOG_ERROR, "node", "this store was found rolled back "
			"(a peer witnessed more of its audit chain): nothing is "
			"sent until an admin runs refctl restore --acknowledge");
	}
	if (store_get(n->store, STORE_META, META_RESTORED, strlen(META_RESTORED),
		      &v, &vl))
		return 0;
	/* "SEQ TIME_MS": the backup's last record, written by refctl restore
	 * (this start has recorded more since). */
	snprintf(text, sizeof(text), "%.*s", (int)(vl < 63 ? vl : 63), (char *)v);
	free(v);
	if (sscanf(text, "%llu %llu", &mseq, &mat) != 2)
		return REF_E_CORRUPT;
	r = audit_hash_at(n->store, mseq, hash);
	if (r)
		return r;
	cp.seq = mseq;
	cp.head_hash.data = hash;
	cp.head_hash.len = 32;
	cp.at_ms = mat;
	cp.restored = true;
	for (size_t i = 0; !r && i < n->dir->n_nodes; i++) {
		if (!strcmp(n->dir->nodes[i].code, n->cfg.code))
			continue;
		r = outbox_node_level(n, n->dir->nodes[i].code,
				    REFERRAL__V1__KIND__AUDIT_CHECKPOINT,
				    &cp.base, 2, util_now_ms());
		sent++;
	}
	if (!r)
		r = store_del(n->store, STORE_META, META_RESTORED,
			      strlen(META_RESTORED));
	/* Kept for the report each peer's RESTORE_SYNC brings, with when it
	 * was announced: a checkpoint of ours made after that is not
	 * explained by this restore. */
	if (!r) {
		char point[96];
		snprintf(point, sizeof(point), "%llu %llu %llu", mseq, mat,
			 (unsigned long long)util_now_ms());
		r = store_put(n->store, STORE_META, RESTORESYNC_META_POINT,
			      strlen(RESTORESYNC_META_POINT), point,
			      strlen(point));
	}
	snprintf(detail, sizeof(detail), "chain ends at seq %llu; %zu peer(s) "
		 "asked to send again what came after (the count of what "
		 "comes back follows with each peer's answer)", mseq, sent);
	if (!r)
		r = state_audit(n, "restored", NULL, NULL, NULL, "node", "ok", detail);
	if (!r)
		log_msg(LOG_WARN, "node", "started from a backup: %s", detail);
	return r;
}

struct before_start {
	uint64_t started_ms, seq, at_ms;
};

static int before_one(void *ctx, const Referral__Store__V1__AuditRecord *a)
{
	struct before_start *b = ctx;

	if (a->time_ms < b->started_ms && a->seq >= b->seq) {
		b->seq = a->seq;
		b->at_ms = a->time_ms;
	}
	return 0;
}

int checkpoint_rollback_found(node_t *n, const char *peer, uint64_t witnessed,
			      uint64_t head)
{
	struct before_start b = { n->started_ms, 0, 0 };
	char text[120], detail[300];
	int r;

	if (n->rolled_back)
		return 0;
	/* Where this run's store began: what the rolled-back store held.
	 * Peers send again what they hold from after it, once acknowledged. */
	r = audit_foreach(n->store, before_one, &b);
	if (r)
		return r;
	snprintf(text, sizeof(text), "%s %llu %llu %llu", peer,
		 (unsigned long long)witnessed, (unsigned long long)b.seq,
		 (unsigned long long)b.at_ms);
	r = store_put(n->store, STORE_META, META_ROLLBACK, strlen(META_ROLLBACK),
		      text, strlen(text));
	snprintf(detail, sizeof(detail), "%s witnessed this node's audit chain "
		 "up to seq %llu, which this store does not hold (its head: seq "
		 "%llu): the store was rolled back without refctl restore; "
		 "nothing is sent until an admin runs refctl restore "
		 "--acknowledge", peer, (unsigned long long)witnessed,
		 (unsigned long long)head);
	if (!r)
		r = state_audit(n, "rollback_detected", NULL, NULL, peer, "node",
				"held", detail);
	if (r)
		return r;
	n->rolled_back_next = 1; /* once the mark is on disk */
	log_msg(LOG_ERROR, "node", "%s", detail);
	return 0;
}

void checkpoint_after_commit(node_t *n, bool committed)
{
	uint8_t *v;
	size_t vl;
	int r;

	if (committed && n->rolled_back_next >= 0) {
		/* What the disk holds now: the event that set it may have
		 * been aborted inside a turn that committed. */
		r = store_get(n->store, STORE_META, META_ROLLBACK,
			      strlen(META_ROLLBACK), &v, &vl);
		if (!r)
			free(v);
		n->rolled_back = r == 0 ? true
			       : r == REF_E_NOT_FOUND ? false
			       : n->rolled_back_next == 1;
	}
	n->rolled_back_next = -1;
}

int checkpoint_call_acknowledge(node_t *n, const principal_t *who,
				const Referral__Local__V1__Request *req,
				json_t *opts, Referral__Local__V1__Reply *rep,
				char *err, size_t errlen)
{
	char text[120], peer[16] = "", mark[64], detail[200];
	unsigned long long w = 0, seq = 0, at = 0;
	uint8_t *v;
	size_t vl;
	int r;

	(void)req, (void)opts;
	if (store_get(n->store, STORE_META, META_ROLLBACK, strlen(META_ROLLBACK),
		      &v, &vl))
		return state_fail_reply(rep, REF_E_CONFLICT, err, errlen,
					"no rolled-back store was detected on "
					"this node: nothing to acknowledge");
	snprintf(text, sizeof(text), "%.*s", (int)(vl < 119 ? vl : 119),
		 (char *)v);
	free(v);
	if (sscanf(text, "%15s %llu %llu %llu", peer, &w, &seq, &at) != 4)
		return REF_E_CORRUPT;
	/* From here it is a restore like refctl restore's: announced, and
	 * each peer sends back what it holds from after where it began. */
	snprintf(mark, sizeof(mark), "%llu %llu", seq, at);
	r = store_del(n->store, STORE_META, META_ROLLBACK, strlen(META_ROLLBACK));
	if (!r)
		r = store_put(n->store, STORE_META, META_RESTORED,
			      strlen(META_RESTORED), mark, strlen(mark));
	snprintf(detail, sizeof(detail), "the rolled-back store (chain from "
		 "seq %llu; %s witnessed up to %llu) taken as a restore from "
		 "that point; sending resumes", seq, peer, w);
	if (!r)
		r = state_audit(n, "rollback_acknowledged", NULL, NULL, NULL,
				who && who->name[0] ? who->name : "admin", "ok",
				detail);
	if (!r)
		r = checkpoint_announce_restore(n);
	if (r)
		return r;
	/* Sending resumes once the turn is on disk. */
	n->rolled_back_next = 0;
	log_msg(LOG_WARN, "node", "%s", detail);
	rep->json = state_dump(json_pack("{s:b, s:I, s:s, s:I}", "acknowledged",
					 1, "restore_point_seq",
					 (json_int_t)seq, "witnessed_by", peer,
					 "witnessed_seq", (json_int_t)w));
	return 0;
}
