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

#include "clocks.h"
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
 * envelope it came in, or NULL); rr->history_len advances, and so does
 * the record's summary of clock steps (history_clocks). */
int history_append(node_t *n, referral_rec_t *rr,
		   const Referral__V1__StatusChange *sc, const char *by,
		   uint64_t at, const uint8_t *msg_id);
/* history_finding: sc is a step of the law that keeps the state (a finding
 * of urgency, an owed supplement): it moves no clock and owes no notice.
 * history_moves_clocks: sc moves the deadline clocks (neither a finding
 * nor a notice to the applicant). */
bool history_finding(const Referral__V1__StatusChange *sc);
bool history_moves_clocks(const Referral__V1__StatusChange *sc);
/* history_has_summary: rr's record keeps a summary of its clock steps
 * that reaches its whole history (not one written before the summary, nor
 * one that does not add up). history_clocks: rr's deadline clocks
 * (clocks.h), at most max, from that summary, or else from the steps (a
 * sealed read each); 0 if they cannot be read.
 * history_rec_release: frees the summary history_append allocated in a
 * record that protobuf-c did not unpack (one built on the stack). */
bool history_has_summary(const referral_rec_t *rr);
size_t history_clocks(node_t *n, const referral_rec_t *rr, clock_info_t *out,
		      size_t max);
void history_rec_release(referral_rec_t *rr);
/* history_load: the steps in order (*ret: history_steps_free). */
int history_load(node_t *n, const referral_rec_t *rr, history_step_t **ret);
void history_steps_free(history_step_t *s, size_t n);

#endif
