/* fuzz-checks.c: see fuzz.h. What referrald does with a decoded body
 * beyond decoding it, from the functions it calls (node.c itself is not
 * linked: it needs a store and sockets), and the cross-checks between
 * their answers that must hold for any input.
 *
 * The one privacy promise checked here: application_check's message names
 * the field, never its value (application.h), so it is plain ASCII (every
 * non-ASCII byte would be an echoed value: names and addresses are
 * Chinese) and holds no ID or phone number given in the application. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <openssl/sha.h>

#include "application.h"
#include "eligibility.h"
#include "fuzz.h"
#include "lifecycle.h"

static rules_t *rules;

int fuzz_checks_init(void)
{
	char err[200];

	if (rules)
		return 0;
	/* A rule pack as a county might write it (eligibility.h). */
	return rules_parse("[hardship]\nthreshold_yuan = 1780\n"
			   "[exempt]\ncategories = migrant_worker_wages, "
			   "minimum_allowance\n"
			   "[no_condition]\ncategories = domestic_violence\n"
			   "[commitment]\naccepted = yes\n",
			   &rules, err, sizeof(err)) ? -1 : 0;
}

static bool ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* A value that could only be in the message if it were echoed: eleven or
 * more digits (ID and phone numbers; no limit in a message is that long). */
static void not_echoed(const char *err, const char *v)
{
	size_t n = strlen(v);

	if (n < 11 || strspn(v, "0123456789") != n)
		return;
	if (strstr(err, v))
		fuzz_fail("application_check echoes an ID or phone number");
}

void fuzz_check_submit(const Referral__V1__ReferralSubmit *a)
{
	application_limits_t lim = { 4 << 20, 32, NULL };
	char err[300], rule[200];
	const char *outcome;
	json_t *j;
	int r, p;

	memset(err, 0x55, sizeof(err));
	r = application_check(a, &lim, err, sizeof(err));
	if (r) {
		if (!memchr(err, 0, sizeof(err)) || !err[0])
			fuzz_fail("application_check fails without a message");
		if (!ascii(err))
			fuzz_fail("application_check's message echoes a value");
		if (a->applicant) {
			not_echoed(err, a->applicant->id_number);
			not_echoed(err, a->applicant->phone);
		}
		if (a->proxy) {
			not_echoed(err, a->proxy->id_number);
			not_echoed(err, a->proxy->phone);
		}
	} else if (!a->applicant || !a->matter || !a->means || !a->consent ||
		   !a->consent->cross_county_transfer) {
		fuzz_fail("application_check passed an incomplete application");
	}
	p = application_priority(a);
	if (p < 0 || p > 2)
		fuzz_fail("application_priority is not 0, 1 or 2");
	rules_recommend(rules, a->means, a->matter, &outcome, rule, sizeof(rule));
	if (strcmp(outcome, "eligible") && strcmp(outcome, "review"))
		fuzz_fail("rules_recommend is neither eligible nor review");
	rules_recommend(NULL, a->means, a->matter, &outcome, rule, sizeof(rule));
	j = application_to_json(a);
	if (!j)
		fuzz_fail("application_to_json gave nothing");
	free(json_dumps(j, JSON_COMPACT));
	json_decref(j);
}

void fuzz_check_status_change(const Referral__V1__StatusChange *sc)
{
	lc_state_t from = lc_state_from_name(sc->from_state);
	lc_state_t to = lc_state_from_name(sc->state);
	unsigned needs = 0, parties;
	char moves[400];

	if ((to && strcmp(lc_state_name(to), sc->state)) ||
	    (from && strcmp(lc_state_name(from), sc->from_state)))
		fuzz_fail("a state's name does not round-trip");
	parties = lc_edge(from, to, sc->aid_first, &needs);
	if (parties && lc_final(from))
		fuzz_fail("an edge leaves a final state");
	if (parties & ~(unsigned)(LC_ORIGIN | LC_RECEIVER | LC_ADMIN))
		fuzz_fail("an edge names an unknown party");
	for (unsigned party = 0; party <= LC_ADMIN; party++) {
		memset(moves, 0x55, sizeof(moves));
		lc_moves_from(from, party, moves, sizeof(moves));
		if (!memchr(moves, 0, sizeof(moves)))
			fuzz_fail("lc_moves_from left its text unterminated");
	}
}

void fuzz_check_supplement(const Referral__V1__MaterialsSupplement *ms)
{
	/* The node's own document checks live in node.c; these are the
	 * decoded values they read, so a sanitizer sees every byte. */
	for (size_t i = 0; i < ms->n_documents; i++) {
		const Referral__V1__Document *d = ms->documents[i];
		uint8_t sha[32];

		if (d->content.len) {
			SHA256(d->content.data, d->content.len, sha);
			if (d->sha256.len == 32)
				(void)memcmp(sha, d->sha256.data, 32);
		}
		(void)strlen(d->type);
		(void)strlen(d->name);
		(void)strlen(d->reference);
	}
	(void)strlen(ms->note);
	(void)strlen(ms->actor);
}
