/* events.h: court and labour-bureau events (DOMAIN.md, "Court and
 * labour-bureau events"; the wire bodies: proto/referral.proto CaseEvent,
 * kinds 7 and 8).
 *
 * Two ways in. A court or bureau that runs its own node (directory role
 * `court` or `labour_bureau`) sends its events through it: the node signs
 * each as a COURT_EVENT or LABOUR_EVENT to the centre the sender names,
 * keeps a record of the matter, and puts the notices that come back on its
 * feed. One without a node calls the centre's gateway with a `court` or
 * `labour` token: the centre applies the event itself and records the
 * token's name as the sender.
 *
 * At the centre, notify-defence (Art 36) opens a referral at GRANTED (no
 * means test; the 3-day assignment clock runs) and forward-application
 * (Art 39, or a worker's application) one at RECEIVED (the review clock);
 * the other events are recorded on the referral's trail. An event for a
 * matter the receiver does not hold, a type the sender's role may not send,
 * or one from a node that is not a court or bureau, is refused with a
 * reason and changes nothing. Writes no field of the node. */
#ifndef REF_EVENTS_H
#define REF_EVENTS_H

#include "state.h"

/* The options of the "event" operation (a JSON Schema). */
#define EVENTS_OPTIONS "{\"type\":\"object\",\"properties\":{" \
	"\"type\":{\"type\":\"string\",\"enum\":[\"notify_defence\"," \
	"\"forward_application\",\"hearing_changed\",\"custody_changed\"," \
	"\"judgment_served\",\"case_ended\",\"arbitration_accepted\"," \
	"\"hearing_scheduled\",\"award_or_mediation\"]}," \
	"\"to\":{\"type\":\"string\",\"description\":\"the centre's six-digit " \
	"code (events that open a matter)\"}," \
	"\"referral_id\":{\"type\":\"string\",\"description\":\"the matter " \
	"(events that follow one)\"}," \
	"\"case_ref\":{\"type\":\"string\"},\"application\":{\"type\":\"object\"}," \
	"\"detail\":{\"type\":\"string\"},\"at\":{\"type\":\"string\"," \
	"\"description\":\"RFC 3339\"}},\"required\":[\"type\"]," \
	"\"additionalProperties\":false}"

/* events_call_send: the "event" operation: who (a court or labour token,
 * or a local caller at a court's or bureau's node) sends one. */
int events_call_send(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* events_call_feed: the "events" operation: what who is owed, in order. */
int events_call_feed(node_t *n, const principal_t *who,
		     const Referral__Local__V1__Request *req, json_t *opts,
		     Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* events_receive: a checked COURT_EVENT or LABOUR_EVENT from peer, in the
 * message's event. 0 with the receipt's status in *ret_status (detail says
 * why for a refusal), or a store error or -errno. */
int events_receive(node_t *n, const envelope_check_t *c, const char *peer,
		   char *detail, size_t dlen, int *ret_status);

#endif
