/* lifecycle.h: the legal-aid lifecycle of a referral (DOMAIN.md), as a
 * pure table: which state may follow which, who may move each edge, and
 * what each move must carry. No I/O, no clock; the daemon and its tests
 * both ask this table, so the rules live in one place.
 * Thread-safe (static data only). */
#ifndef REF_LIFECYCLE_H
#define REF_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
	LC_NONE = 0,
	LC_REQUESTED, LC_RECEIVED, LC_AWAITING_MATERIALS, LC_WITHDRAWN,
	LC_REFERRED_ONWARD, LC_GRANTED, LC_DENIED, LC_ASSIGNED,
	LC_IN_PROGRESS, LC_ON_HOLD, LC_TERMINATED, LC_CLOSED, LC_OBJECTION,
	LC_UPHELD, LC_CANCELLED, LC_REVIEWED,
	LC__MAX
} lc_state_t;

/* Who moves an edge. LC_ADMIN: a staff id in the receiving node's own
 * [roles] admins, which no edge names any more (kept so such a move is
 * refused by name). LC_BUREAU: the justice bureau, from its own node, for
 * the centres its directory entry oversees (objection.c). */
typedef enum {
	LC_ORIGIN = 1,
	LC_RECEIVER = 2,
	LC_ADMIN = 4,
	LC_BUREAU = 8,
} lc_party_t;

/* What a move must carry. */
enum {
	LC_NEEDS_REASON = 1,
	LC_NEEDS_BASIS = 2,
	LC_NEEDS_ITEMS = 4,
	LC_NEEDS_ASSIGNMENT = 8,
	LC_NEEDS_REPORT = 16,
	LC_NEEDS_ONWARD = 32,
};

const char *lc_state_name(lc_state_t s);
lc_state_t lc_state_from_name(const char *name); /* LC_NONE if unknown */

/* lc_edge: the parties allowed to move from -> to (0: not an edge) and,
 * through ret_needs, what the move must carry. aid_first marks the Art 44
 * grant before the review is complete (allowed from AWAITING_MATERIALS). */
unsigned lc_edge(lc_state_t from, lc_state_t to, bool aid_first,
		 unsigned *ret_needs);

/* lc_moves_from: "GRANTED, DENIED, ..." for people; the moves open to
 * party from a state (all parties when party is 0). */
void lc_moves_from(lc_state_t from, unsigned party, char *out, size_t len);

bool lc_final(lc_state_t s);

/* The applicant notified of a decision (refctl notified): a step that
 * keeps the state, from either centre, in any state after REQUESTED,
 * final ones included (a withdrawal is notified too). Its reason is
 * "notified: HOW YYYY-MM-DD" (HOW: post, in-person, sms), the local day;
 * it moves no clock, opens no materials round and sends no court notice.
 * lc_notified_reason: is reason of that form (a real date)? */
#define LC_NOTIFIED_PREFIX "notified: "
bool lc_notified_reason(const char *reason);

#endif
