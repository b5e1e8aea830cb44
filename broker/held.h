/* held.h: changes held until their referral or an earlier change arrives.
 *
 * A held change is kept once, in the held table, as the inbox record it
 * becomes when it is applied (envelope, sender, time, our receipt), under
 * referral_id || referral_seq (8 bytes big-endian). A change is held only
 * within its sender's bounds ([limits] held_per_peer, held_bytes_per_peer)
 * and for [delivery] held_ttl_ms (a gap in a referral this node holds:
 * for the message lifetime, while the change before it may still come); a
 * second message for the same number is refused, never put in place of
 * the first. Expired held changes are
 * dropped and audited (held_expired), and an admin can list and drop them
 * (refctl list --held, refctl held drop), audited (held_dropped). Records
 * written by an older release (the bare envelope, also in the inbox) are
 * read as well. */
#ifndef REF_HELD_H
#define REF_HELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define HELD_KEY_MAX 80

/* held_key: the held table's key for id and seq (key: HELD_KEY_MAX). */
void held_key(const char *id, uint64_t seq, uint8_t *key, size_t *ret_klen);

/* held_check: may peer's change h (len bytes) be held? 0 (a store error
 * otherwise) with *ret_refused false, or true and detail saying why: the
 * number is already held, or (*ret_bound) one of the sender's bounds is
 * reached. unbounded: the sender's bounds are not applied (a change a
 * RESTORE_SYNC brings back: the restore vouches for it, and refusing it
 * would lose it for good); it is still counted. */
int held_check(node_t *n, const Referral__V1__Header *h, size_t len,
	       const char *peer, bool unbounded, char *detail, size_t dlen,
	       bool *ret_refused, bool *ret_bound);
/* held_put: holds the change (receipt: ours, or NULL before it is made;
 * a second call for the same change adds it). The first call counts it
 * against peer's bounds and quota. In the open turn. */
int held_put(node_t *n, const Referral__V1__Header *h, const uint8_t *buf,
	     size_t len, const char *peer, uint64_t now,
	     const uint8_t *receipt, size_t rlen);

/* One held record, read. */
typedef struct {
	Referral__Store__V1__InboxRecord *ib; /* NULL for an older record */
	const uint8_t *env;    /* the envelope (points into ib or the value) */
	size_t env_len;
	char from[8];
	uint8_t msg_id[16];
	uint32_t kind;
	uint64_t received_at_ms;
	uint64_t created_at_ms;   /* the sender's time */
} held_rec_t;

/* held_read: rec from a held value (which must outlive it). */
int held_read(const uint8_t *v, size_t vl, held_rec_t *rec);
void held_rec_free(held_rec_t *rec);
/* held_release: the record at key taken out of the held table: into the
 * inbox (it was applied or refused now) or dropped (into_inbox false),
 * its sender's counts updated. */
int held_release(node_t *n, const uint8_t *key, size_t klen,
		 const held_rec_t *rec, bool into_inbox);

/* held_start: with quota_start's first count of an older store, adds
 * what the held table keeps from each peer. In the start's turn. */
int held_start(node_t *n);
/* held_sweep: drops held changes older than [delivery] held_ttl_ms, a
 * few per call, in their own store event (audited held_expired). */
void held_sweep(node_t *n);

/* The "held-list" and "held-drop" operations (broker/control.c). */
int held_call_list(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);
int held_call_drop(node_t *n, const principal_t *who,
		   const Referral__Local__V1__Request *req, json_t *opts,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
