/* closing.c: see closing.h. */
#include <stdio.h>
#include <string.h>

#include "closing.h"
#include "errors.h"
#include "lifecycle.h"
#include "history.h"

/* The outcome of a closed case as centres report it: won, partly won,
 * lost, a mediated or settled end, the suit withdrawn, and for
 * consultation and drafting, the service given. */
const char *const closing_outcomes[] = {
	"won", "partly_won", "lost", "mediated", "settled", "suit_withdrawn",
	"service_completed", "other", NULL };
/* Legal Aid Law Art 48, items 1 to 8 in order. */
const char *const closing_grounds[] = {
	"deception",          /* (1) aid obtained by deceit */
	"concealment",        /* (2) key facts hidden or false evidence */
	"unlawful_use",       /* (3) aid used for unlawful activity */
	"no_longer_eligible", /* (4) means changed: no longer eligible */
	"proceedings_ended",  /* (5) the case ended or was revoked */
	"own_lawyer",         /* (6) the applicant engaged a lawyer */
	"applicant_request",  /* (7) the applicant asks, with good reason */
	"other_statutory",    /* (8) other grounds set by law */
	NULL };
const char *const closing_follow_ups[] = {
	"phone", "in_person", "letter", "sms", "unreachable", NULL };

static bool in(const char *const *list, const char *v)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(list[i], v))
			return true;
	return false;
}

static void list_text(const char *const *list, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; list[i] && used < len; i++)
		used += (size_t)snprintf(out + used, len - used, "%s%s",
					 i ? ", " : "", list[i]);
}

static bool date_ok(const char *d)
{
	int y, m, day, n = 0;

	return sscanf(d, "%4d-%2d-%2d%n", &y, &m, &day, &n) == 3 &&
	       n == 10 && d[10] == '\0' && m >= 1 && m <= 12 && day >= 1 &&
	       day <= 31 && y >= 2000;
}

/* The staff id that recorded the closing: the last CLOSED step. */
static int closer_of(node_t *n, const referral_rec_t *rr, char *out,
		     size_t len)
{
	history_step_t *s;
	int r = history_load(n, rr, &s);

	out[0] = '\0';
	if (r)
		return r;
	for (uint32_t i = 0; i < rr->history_len; i++)
		if (!strcmp(s[i].sc->state, "CLOSED"))
			snprintf(out, len, "%s", s[i].sc->actor);
	history_steps_free(s, rr->history_len);
	return 0;
}

static int check_review(node_t *n, const referral_rec_t *rr,
			const Referral__V1__StatusChange *sc, char *why,
			size_t len)
{
	const Referral__V1__FileReview *fr = sc->review;
	char codes[200], closer[80];
	int r;

	list_text(closing_follow_ups, codes, sizeof(codes));
	if (!fr || !in(closing_follow_ups, fr->follow_up)) {
		snprintf(why, len, "the file review needs the follow-up visit "
			 "(follow_up, --follow-up): one of %s", codes);
		return REF_E_INVALID;
	}
	if (!date_ok(fr->follow_up_on)) {
		snprintf(why, len, "the file review needs the day of the "
			 "follow-up visit as YYYY-MM-DD (follow_up_on, --on)");
		return REF_E_INVALID;
	}
	if (fr->quality_score < 1 || fr->quality_score > 100) {
		snprintf(why, len, "the file review needs a quality score from "
			 "1 to 100 (quality_score, --score)");
		return REF_E_INVALID;
	}
	if (strlen(fr->note) > 2000) {
		snprintf(why, len, "the file review's note is longer than 2000 "
			 "bytes");
		return REF_E_INVALID;
	}
	if (!sc->actor[0]) {
		snprintf(why, len, "the file review needs the reviewer's staff "
			 "id (--actor)");
		return REF_E_INVALID;
	}
	r = closer_of(n, rr, closer, sizeof(closer));
	if (r) {
		snprintf(why, len, "the history of %s cannot be read",
			 rr->referral_id);
		return r;
	}
	if (!closer[0] || !strcmp(closer, sc->actor)) {
		snprintf(why, len, "the file review of %s is made by a staff id "
			 "other than the one that recorded the closing (%s)",
			 rr->referral_id, closer[0] ? closer : "none recorded");
		return REF_E_REFUSED;
	}
	return 0;
}

int closing_check(node_t *n, const referral_rec_t *rr,
		  const Referral__V1__StatusChange *sc, char *why, size_t len)
{
	char codes[300];

	switch (lc_state_from_name(sc->state)) {
	case LC_TERMINATED:
		if (in(closing_grounds, sc->termination_ground))
			return 0;
		list_text(closing_grounds, codes, sizeof(codes));
		snprintf(why, len, "a termination needs its Art 48 ground "
			 "(ground, --ground): one of %s", codes);
		return REF_E_INVALID;
	case LC_CLOSED:
		if (in(closing_outcomes, sc->outcome))
			return 0;
		list_text(closing_outcomes, codes, sizeof(codes));
		snprintf(why, len, "closing needs the coded outcome (outcome, "
			 "--outcome): one of %s", codes);
		return REF_E_INVALID;
	case LC_REVIEWED:
		return check_review(n, rr, sc, why, len);
	default:
		return 0;
	}
}

static const char *opt(json_t *opts, const char *key)
{
	const char *s = json_string_value(json_object_get(opts, key));

	return s ? s : "";
}

void closing_from_opts(json_t *opts, Referral__V1__StatusChange *sc,
		       Referral__V1__FileReview *fr)
{
	json_t *score = json_object_get(opts, "quality_score");

	sc->outcome = (char *)opt(opts, "outcome");
	sc->termination_ground = (char *)opt(opts, "ground");
	if (!json_object_get(opts, "follow_up") &&
	    !json_object_get(opts, "follow_up_on") && !score &&
	    !json_object_get(opts, "note"))
		return;
	fr->follow_up = (char *)opt(opts, "follow_up");
	fr->follow_up_on = (char *)opt(opts, "follow_up_on");
	fr->note = (char *)opt(opts, "note");
	/* Out of range reads as 0, which the check refuses by name. */
	if (json_is_integer(score) && json_integer_value(score) > 0 &&
	    json_integer_value(score) <= 100)
		fr->quality_score = (uint32_t)json_integer_value(score);
	sc->review = fr;
}

void closing_json(json_t *o, const Referral__V1__StatusChange *c)
{
	const Referral__V1__FileReview *fr = c->review;

	if (c->outcome[0])
		json_object_set_new(o, "outcome", json_string(c->outcome));
	if (c->termination_ground[0])
		json_object_set_new(o, "ground",
				    json_string(c->termination_ground));
	if (fr)
		json_object_set_new(o, "review", json_pack(
			"{s:s, s:s, s:i, s:s}", "follow_up", fr->follow_up,
			"follow_up_on", fr->follow_up_on, "quality_score",
			(int)fr->quality_score, "note", fr->note));
}
