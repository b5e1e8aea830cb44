/* closing.h: what the end of a case must carry. A closing names its coded
 * outcome; a termination its Art 48 ground, as a code; the file review
 * (结案审查, CLOSED -> REVIEWED) the follow-up visit to the applicant and a
 * quality score, and is made by a staff id other than the one that
 * recorded the closing. Both nodes run closing_check on every such move,
 * from the history they hold alike, so a move one refuses the other
 * refuses too. Writes nothing. */
#ifndef REF_CLOSING_H
#define REF_CLOSING_H

#include <stddef.h>
#include <jansson.h>

#include "state.h"

/* The codes, NULL-terminated, for the checks, usage text and docs. */
extern const char *const closing_outcomes[];
extern const char *const closing_grounds[];
extern const char *const closing_follow_ups[];

/* The options of the terminate, close and review operations (JSON Schema
 * properties, for control.c's table and the gateway's OpenAPI). */
#define CLOSING_GROUND "\"ground\":{\"type\":\"string\",\"enum\":[" \
	"\"deception\",\"concealment\",\"unlawful_use\",\"no_longer_eligible\"," \
	"\"proceedings_ended\",\"own_lawyer\",\"applicant_request\"," \
	"\"other_statutory\"],\"description\":\"the Art 48 ground\"}"
#define CLOSING_OUTCOME "\"outcome\":{\"type\":\"string\",\"enum\":[" \
	"\"won\",\"partly_won\",\"lost\",\"mediated\",\"settled\"," \
	"\"suit_withdrawn\",\"service_completed\",\"other\"]}"
#define CLOSING_REVIEW "\"follow_up\":{\"type\":\"string\",\"enum\":[" \
	"\"phone\",\"in_person\",\"letter\",\"sms\",\"unreachable\"]}," \
	"\"follow_up_on\":{\"type\":\"string\",\"description\":\"YYYY-MM-DD\"}," \
	"\"quality_score\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100}," \
	"\"note\":{\"type\":\"string\"}"

/* closing_check: 0, or REF_E_INVALID (a missing or unknown code, a bad
 * date or score) / REF_E_REFUSED (the reviewer closed the case) with why
 * naming the problem. Moves to other states pass. */
int closing_check(node_t *n, const referral_rec_t *rr,
		  const Referral__V1__StatusChange *sc, char *why, size_t len);
/* closing_from_opts: a named move's options (outcome, ground, follow_up,
 * follow_up_on, quality_score, note) into sc; fr (caller's storage)
 * becomes sc->review when any review option is given. Points into opts. */
void closing_from_opts(json_t *opts, Referral__V1__StatusChange *sc,
		       Referral__V1__FileReview *fr);
/* closing_json: a history step's outcome, ground and review into o. */
void closing_json(json_t *o, const Referral__V1__StatusChange *c);

#endif
