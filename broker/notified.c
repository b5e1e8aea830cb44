/* notified.c: see notified.h. Writes nothing of node_t. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "calls.h"
#include "casework.h"
#include "lawmoves.h"
#include "errors.h"
#include "lifecycle.h"
#include "log.h"
#include "notified.h"
#include "referrals.h"
#include "util.h"

/* Asia/Shanghai keeps no summer time: a fixed offset is exact. When the
 * node's [node] time_zone setting lands, this is where it is read. */
#define NOTIFIED_TZ_OFFSET_S (8 * 3600)

static void local_today(char out[11])
{
	time_t t = (time_t)(util_now_ms() / 1000) + NOTIFIED_TZ_OFFSET_S;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

int notified_call(node_t *n, const principal_t *who,
		  const Referral__Local__V1__Request *req, json_t *opts,
		  Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__V1__StatusChange sc = REFERRAL__V1__STATUS_CHANGE__INIT;
	const char *how = state_str(opts, "how"), *on = state_str(opts, "on");
	referral_rec_t *rr = NULL;
	char reason[64], today[11], state[32];
	uint64_t now = util_now_ms();
	unsigned party;
	int r;

	(void)who;
	snprintf(reason, sizeof(reason), LC_NOTIFIED_PREFIX "%.16s %.16s", how,
		 on);
	if (strcmp(how, "post") && strcmp(how, "in-person") && strcmp(how, "sms"))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"notified needs \"how\": post, in-person "
					"or sms");
	if (!lc_notified_reason(reason))
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"notified needs \"on\": the day the "
					"applicant was told, YYYY-MM-DD");
	local_today(today);
	if (strcmp(on, today) > 0)
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"%.16s is after today (%s, Beijing time): "
					"record a notification once it is made",
					on, today);
	r = casework_referral_for(n, req->referral_id, rep, err, errlen, &rr);
	if (r)
		return r;
	party = rr->direction == DIR_OUTGOING ? LC_ORIGIN : LC_RECEIVER;
	/* Copies: applying the step replaces rr->state. */
	snprintf(state, sizeof(state), "%s", rr->state);
	sc.state = state;
	sc.from_state = state;
	sc.reason = reason;
	sc.actor = (char *)req->actor;
	sc.actor_role = "staff";
	sc.changed_at_ms = now;
	r = referrals_move_allowed(rr, &sc, party, err, errlen);
	if (r) {
		if (lc_state_from_name(rr->state) <= LC_REQUESTED)
			snprintf(err, errlen, "referral %s is %s: nothing has "
				 "been decided to notify the applicant of yet",
				 rr->referral_id, rr->state);
		rep->code = r;
		rep->error = err;
		goto out;
	}
	if (party == LC_ORIGIN) {
		/* As every origin move: the receiver applies it and confirms
		 * it back, so both histories hold it once (casework.c). */
		r = referrals_send_about(n, rr, REFERRAL__V1__KIND__STATUS_CHANGE,
					 &sc.base, rr->priority, now);
		/* Asked for here, so its confirmation is taken (lawmoves.c). */
		if (!r)
			r = lawmoves_ask(rr, &sc, false);
		if (!r)
			r = state_audit(n, "status_requested", rr->referral_id,
					NULL, referrals_counterpart(n, rr),
					sc.actor, sc.state, sc.reason);
		rep->error = "sent to the receiving centre, which applies it and "
			     "confirms it back";
	} else {
		r = referrals_apply_move(n, rr, &sc, n->cfg.code, now, NULL);
		if (!r)
			r = referrals_send_about(n, rr,
						 REFERRAL__V1__KIND__STATUS_CHANGE,
						 &sc.base, rr->priority, now);
	}
	if (!r)
		r = referrals_put(n, rr);
	if (r) {
		state_fail_reply(rep, r, err, errlen, "the notification was not "
				 "stored: %s", ref_strerror(r));
		goto out;
	}
	rep->referral_id = (char *)req->referral_id;
	log_msg(LOG_INFO, "lifecycle", "referral=%s notified (%s) by actor=%s",
		rr->referral_id, how, sc.actor);
out:
	referral__store__v1__referral_record__free_unpacked(rr, NULL);
	return r;
}
