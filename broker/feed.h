/* feed.h: what a court's or labour bureau's system is told, and its feed.
 *
 * A referral opened by a court or bureau (through its own node, or
 * through the centre's gateway with its token) is answered with notices,
 * not status changes: aid granted or denied, the assignment (lawyer and
 * contact), a lawyer replaced, termination, withdrawal, the case closed;
 * nothing else. feed_notice turns a move into its notice: a signed
 * COURT_EVENT or LABOUR_EVENT to the sender's node, or an entry on the
 * token holder's feed (table `feed`, in order), which the gateway serves
 * as GET /v1/events. A court's own node keeps the notices it receives on
 * its feed the same way. Writes no field of the node. */
#ifndef REF_FEED_H
#define REF_FEED_H

#include "state.h"

/* Who a feed entry is for at a court's or bureau's own node. */
#define FEED_LOCAL "local"

/* feed_notice_type: the notice a move to sc->state makes for an agency
 * (referral.v1.EventType), or 0 for a move that makes none. */
int feed_notice_type(const referral_rec_t *rr,
		     const Referral__V1__StatusChange *sc);
/* feed_notice: the notice of sc about rr (an agency's referral) sent or
 * put on the feed, in the open turn. 0 also when the move makes none. */
int feed_notice(node_t *n, referral_rec_t *rr,
		const Referral__V1__StatusChange *sc, uint64_t at);
/* feed_append: an entry for for_whom ("token:NAME" or FEED_LOCAL). */
int feed_append(node_t *n, const char *for_whom, const char *referral_id,
		int type, json_t *event, uint64_t at);
/* feed_read: the entries for for_whom (NULL: every entry) after cursor,
 * at most limit: {"events": [...], "next_cursor": C}. */
int feed_read(node_t *n, const char *for_whom, const char *cursor,
	      size_t limit, json_t **ret);
/* feed_event_name / feed_event_type: "notify_defence" and the like. */
const char *feed_event_name(int type);
int feed_event_type(const char *name);
/* feed_event_json: an event as the feed and the gateway show it. */
json_t *feed_event_json(const Referral__V1__CaseEvent *ev,
			const char *referral_id);

#endif
