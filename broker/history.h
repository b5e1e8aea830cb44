/* history.h: a referral's history, step by step, in the store.
 *
 * A lower part of the node: the steps of a referral (each a signed
 * STATUS_CHANGE, who made it and when) under the referral's id and the
 * step's number, read in order and appended. The rooms that judge moves
 * (lawmoves.c, closing.c) read the history here, and referrals.c, which
 * applies moves, appends to it, so that no room that referrals.c calls
 * has to call back up into it. Writes no field of the node. */
#ifndef REF_HISTORY_H
#define REF_HISTORY_H

#include "state.h"

/* One step of a referral's history. */
typedef struct {
	Referral__V1__StatusChange *sc;
	char by[8];
	uint64_t at;
} history_step_t;

/* history_set_str: replaces an unpacked message's string (protobuf-c
 * frees it with free()). 0 or -ENOMEM. */
int history_set_str(char **field, const char *v);
/* history_append: sc as rr's next step, by node `by` at `at` (msg_id: the
 * envelope it came in, or NULL); rr->history_len advances. */
int history_append(node_t *n, referral_rec_t *rr,
		   const Referral__V1__StatusChange *sc, const char *by,
		   uint64_t at, const uint8_t *msg_id);
/* history_load: the steps in order (*ret: history_steps_free). */
int history_load(node_t *n, const referral_rec_t *rr, history_step_t **ret);
void history_steps_free(history_step_t *s, size_t n);

#endif
