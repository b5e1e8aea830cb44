/* keys.h: the node's keys: its signing key and the switch to the next
 * one, its CURVE key pair, and the data key ring that seals personal data
 * at rest, with its rotation and the re-sealing that follows.
 *
 * A key switch or a dropped data key is recorded in the audit chain by the
 * next loop turn (keys_turn), never in a turn of its own: only the loop
 * opens and commits turns. Writes the node's key, key_id, key_note,
 * seal_note, notes_written, seal, resealing, retire_keys, curve_pub and
 * curve_sec. */
#ifndef REF_KEYS_H
#define REF_KEYS_H

#include "state.h"

/* keys_init: key_id from [node] key_id. */
void keys_init(node_t *n);
/* keys_signer: who signs this node's envelopes, with which key. */
envelope_signer_t keys_signer(node_t *n);
/* keys_load_curve: curve.json (mode 0600, a matching pair). */
int keys_load_curve(node_t *n, char *ret_err, size_t errlen);
/* keys_load_signing: signing.key, of [node] alg. */
int keys_load_signing(node_t *n, char *ret_err, size_t errlen);
/* keys_finish_files / keys_finish_switch: a signing key switch a stop cut
 * short is finished at start (before and after the key is loaded). */
int keys_finish_files(node_t *n, char *ret_err, size_t errlen);
int keys_finish_switch(node_t *n, bool *ret_done, char *ret_err,
		       size_t errlen);
/* keys_maybe_switch: switches to signing.next.key once the directory in
 * force lists it with its window open. */
void keys_maybe_switch(node_t *n);
/* keys_next_listed: signing.next.key (refctl rotate-keys) exists and d
 * lists it for this node with its window open now: a directory that
 * drops the key this node signs with can still be taken, and the node
 * switches to the next key as it puts d in force. */
bool keys_next_listed(node_t *n, const directory_t *d);
/* keys_open_data: the data key ring (made at the first start). */
int keys_open_data(node_t *n, char *ret_err, size_t errlen);
/* keys_turn: in the open turn, records the key events not yet recorded. */
int keys_turn(node_t *n);
/* keys_reseal_step: a batch of re-sealing in the open turn. */
void keys_reseal_step(node_t *n);
/* keys_after_commit: after a committed turn: notes recorded are done, and
 * old data keys whose last record was re-sealed are dropped. */
void keys_after_commit(node_t *n);
/* keys_free: the keys held in memory; safe twice. */
void keys_free(node_t *n);
/* keys_rotate_data: in the open turn, a fresh data key becomes current
 * and is audited (with why, may be NULL); the re-sealing follows turn by
 * turn, and the old keys are dropped from the key file once every record
 * is under the new one. A key file that cannot be written: err says so
 * and nothing changed. */
int keys_rotate_data(node_t *n, const char *actor, const char *why,
		     char *err, size_t errlen);
/* keys_op_rotate: refctl rotate-data-key (control.c checked the role). */
int keys_op_rotate(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);

#endif
