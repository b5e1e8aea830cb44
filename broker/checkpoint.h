/* checkpoint.h: audit checkpoints, witnessed ones, and what a restore
 * asks of peers.
 *
 * Every [audit] checkpoint_records records, or checkpoint_minutes if
 * anything was recorded, the chain head goes, signed, to each peer talked
 * with since; peers keep ours (witnessed) and we keep theirs. A node
 * started from a backup announces it once, and each peer sends again what
 * that node had receipted after the backup (docs/AUDIT.md): RESTORE_SYNC
 * for the referrals that node originated (restoresync.h), signed anew
 * for the peer's own.
 *
 * A node whose peer witnessed more of its chain than its store holds, with
 * no restore announced (a store rolled back in secret), learns it at the
 * first contact (each peer gets our chain head then), holds every send
 * and waits for an admin's refctl restore --acknowledge.
 *
 * Writes the node's talked, n_talked, greeted, n_greeted, rolled_back,
 * last_cp_seq and last_cp_ms. */
#ifndef REF_CHECKPOINT_H
#define REF_CHECKPOINT_H

#include "state.h"

/* checkpoint_init: the first checkpoint comes after checkpoint_records
 * records or checkpoint_minutes of this run, not at once. */
void checkpoint_init(node_t *n);
/* checkpoint_talked: peer was heard from or written to. */
void checkpoint_talked(node_t *n, const char *peer);
/* checkpoint_maybe: sends a checkpoint if one is due (its own event). */
void checkpoint_maybe(node_t *n);
/* checkpoint_witness: a peer's checkpoint (c, its bytes buf), kept as
 * received; a restored peer's gets our messages it lost, again. */
int checkpoint_witness(node_t *n, const envelope_check_t *c,
		       const uint8_t *buf, size_t len, const char *peer);
/* checkpoint_refuse: may a peer's checkpoint c be kept? 0, or the
 * receipt status that answers it (detail says why): a body over
 * CHECKPOINT_MAX_BODY bytes or one that does not parse, a head_hash that
 * is not 32 bytes, a restore announced without its backup's time. A
 * checkpoint costs no quota: these bounds are what keep it small. */
#define CHECKPOINT_MAX_BODY 256
int checkpoint_refuse(const envelope_check_t *c, char *detail, size_t dlen);
/* checkpoint_rollback_found: peer's witness proves our chain reached
 * seq witnessed, which this store (head: seq head) does not hold, with no
 * restore announced: held (nothing sent) until an admin acknowledges;
 * recorded in the store, so a restart stays held. In the open turn. */
int checkpoint_rollback_found(node_t *n, const char *peer, uint64_t witnessed,
			      uint64_t head);
/* checkpoint_after_commit: the loop, after each turn (committed: it
 * reached the disk): a rollback found or acknowledged in it takes effect
 * in memory as its mark is on disk (read back); a turn that failed leaves
 * rolled_back as it was, like the store. */
void checkpoint_after_commit(node_t *n, bool committed);
/* checkpoint_call_acknowledge: the "restore-acknowledge" operation
 * (refctl restore --acknowledge, admin): the rolled-back store is taken as
 * a restore from where this run began, announced to every peer, and
 * sending resumes. */
int checkpoint_call_acknowledge(node_t *n, const principal_t *who,
				const Referral__Local__V1__Request *req,
				json_t *opts, Referral__Local__V1__Reply *rep,
				char *err, size_t errlen);
/* checkpoint_announce_restore: at start, in the open turn: if refctl
 * restore marked the store, every peer is told where the chain ends. */
int checkpoint_announce_restore(node_t *n);

#endif
