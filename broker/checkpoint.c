/* checkpoint.c: see checkpoint.h. Writes talked, n_talked, last_cp_seq
 * and last_cp_ms. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "checkpoint.h"
#include "log.h"
#include "outbox.h"
#include "restoresync.h"
#include "util.h"

void checkpoint_init(node_t *n)
{
	n->n_talked = 0;
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
	Referral__V1__Envelope *e = NULL;
	Referral__V1__Receipt *rc = NULL;

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
	    ob->receipt.len &&
	    (e = referral__v1__envelope__unpack(NULL, ob->receipt.len,
						ob->receipt.data)) &&
	    (rc = referral__v1__receipt__unpack(NULL, e->body.len,
						e->body.data)) &&
	    rc->received_at_ms > lc->after_ms && lc->n < lc->cap)
		memcpy(lc->ids[lc->n++], k, 16);
	if (rc)
		referral__v1__receipt__free_unpacked(rc, NULL);
	if (e)
		referral__v1__envelope__free_unpacked(e, NULL);
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
	memcpy(key, peer, 6);
	for (int i = 0; i < 8; i++)
		key[6 + i] = (uint8_t)(cp->seq >> (56 - 8 * i));
	snprintf(detail, sizeof(detail), "seq %llu",
		 (unsigned long long)cp->seq);
	r = store_put(n->store, STORE_WITNESSED, key, 14, buf, len);
	if (!r)
		r = state_audit(n, "witnessed", NULL, c->hdr->msg_id.data, peer, "node",
			  "STORED", detail);
	if (!r && cp->restored)
		r = restoresync_answer(n, peer, cp->seq, cp->at_ms);
	if (!r && cp->restored)
		r = resend_after_restore(n, peer, cp->at_ms);
	referral__v1__audit_checkpoint__free_unpacked(cp, NULL);
	return r;
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
	/* Kept for the report each peer's RESTORE_SYNC brings. */
	if (!r)
		r = store_put(n->store, STORE_META, RESTORESYNC_META_POINT,
			      strlen(RESTORESYNC_META_POINT), text,
			      strlen(text));
	snprintf(detail, sizeof(detail), "chain ends at seq %llu; %zu peer(s) "
		 "asked to send again what came after (the count of what "
		 "comes back follows with each peer's answer)", mseq, sent);
	if (!r)
		r = state_audit(n, "restored", NULL, NULL, NULL, "node", "ok", detail);
	if (!r)
		log_msg(LOG_WARN, "node", "started from a backup: %s", detail);
	return r;
}
