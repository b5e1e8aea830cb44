/* i18n.c: see i18n.h. The state names are the terms DOMAIN.md gives (the
 * Legal Aid Law's and the centres' own words); the English names are the
 * stable codes themselves, so LANG=C output is what it always was. */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

void i18n_setup(void)
{
	const char *dir = getenv("REFERRAL_LOCALEDIR");

	setlocale(LC_ALL, "");
	bindtextdomain("referral", dir && *dir ? dir : REFERRAL_LOCALEDIR);
	bind_textdomain_codeset("referral", "UTF-8");
	textdomain("referral");
}

/* Each code with the name a person reads; the msgid is the code, so
 * English readers see the code they search the docs and logs for. */
static const struct {
	const char *code;
	const char *name;
} states[] = {
	{ "REQUESTED", N_("REQUESTED") },
	{ "RECEIVED", N_("RECEIVED") },
	{ "AWAITING_MATERIALS", N_("AWAITING_MATERIALS") },
	{ "GRANTED", N_("GRANTED") },
	{ "DENIED", N_("DENIED") },
	{ "ASSIGNED", N_("ASSIGNED") },
	{ "IN_PROGRESS", N_("IN_PROGRESS") },
	{ "ON_HOLD", N_("ON_HOLD") },
	{ "TERMINATED", N_("TERMINATED") },
	{ "CLOSED", N_("CLOSED") },
	{ "REVIEWED", N_("REVIEWED") },
	{ "OBJECTION", N_("OBJECTION") },
	{ "UPHELD", N_("UPHELD") },
	{ "CANCELLED", N_("CANCELLED") },
	{ "WITHDRAWN", N_("WITHDRAWN") },
	{ "REFERRED_ONWARD", N_("REFERRED_ONWARD") },
};

const char *i18n_state(const char *code)
{
	if (!code)
		return "-";
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (!strcmp(code, states[i].code))
			return gettext(states[i].name);
	return code;
}

/* What the node says in English (the broker's files), as templates: each %s
 * stands for a part copied over (an id, a state, a list). The node and the
 * wire keep this English, since receipts and logs cross counties; only
 * refctl's reader sees it translated. The msgstr numbers its parts
 * (%1$s...) so a translation may reorder them. */
static const char *const details[] = {
	N_("sent to the receiving centre, which applies it and confirms it back"),
	N_("referral %s is %s; it cannot move to %s. Moves open from %s: %s"),
	N_("no referral %s on this node"),
	/* Routing's reasons (proto/route.c), one template per variant. */
	N_("this centre (%s) serves the handling body %s itself: handle the "
	   "matter here, no referral is needed"),
	N_("this centre (%s) serves division %s itself: handle the matter "
	   "here, no referral is needed"),
	N_("%s (%s) serves the handling body %s and takes %s matters"),
	N_("%s (%s) serves division %s and takes %s matters"),
	N_("%s centres serve the handling body %s: %s; choose one with --to "
	   "CODE (or ask the authority to settle the directory)"),
	N_("%s centres serve division %s: %s; choose one with --to CODE (or "
	   "ask the authority to settle the directory)"),
	N_("no centre in the directory serves this matter, and this centre "
	   "(%s) is the fallback: handle it here"),
	N_("no centre in the directory serves this matter (handling body "
	   "\"%s\", division \"%s\"); it goes to this centre's fallback, %s "
	   "(%s)"),
	N_("no centre in the directory serves this matter, and the fallback "
	   "%s (%s) does not take %s referrals; give --to CODE"),
	N_("no centre in the directory serves this matter (handling body "
	   "\"%s\", division \"%s\") and this centre's entry names no "
	   "fallback; give --to CODE"),
	/* The eligibility recommendation (the node's rules_recommend): its
	 * outcome code and the rule that gave it. */
	N_("review"),
	N_("eligible"),
	N_("no rule pack configured"),
	N_("the application states no means"),
	N_("exempt category %s is not in this county's list"),
	N_("exempt category %s covers wage and work-injury claims only "
	   "(Art 42); case type %s needs the means test"),
	N_("exempt from the means test: %s"),
	N_("no hardship condition (Art 32): %s"),
	N_("no-condition category %s is not in this county's list"),
	N_("written commitment stands in for hardship proof (Art 41)"),
	N_("this county does not accept a commitment in place of proof"),
	N_("full check: household size missing"),
	N_("full check: means.residence (urban or rural) not stated; the "
	   "minimum living allowance is %s yuan urban, %s yuan rural"),
	N_("hardship: income per head %s yuan below the threshold of %s yuan "
	   "(%s times the %s minimum living allowance of %s yuan)"),
	N_("hardship: income per head %s yuan not below the threshold of %s "
	   "yuan (%s times the %s minimum living allowance of %s yuan)"),
	N_("hardship: income per head %s yuan below the threshold of %s yuan"),
	N_("hardship: income per head %s yuan not below the threshold of %s "
	   "yuan"),
	N_("the holiday calendar does not cover %s: deadlines there count "
	   "weekends only"),
	N_("the holiday calendar does not cover every year of this period: "
	   "holidays there are not counted"),
	/* The reasons the node writes on its own steps, and the receipt's
	 * word, as the audit trail shows them. */
	N_("materials supplied"),
	N_("notified: %s %s"),
	N_("stored"),
	N_("personal data purged: the envelope is no longer held"),
	/* Steps' reasons the node writes itself, and the requeue's refusal:
	 * the gateway's console shows them. */
	N_("notified defence or representation: no means test"),
	N_("referral %s has no dead message to send again (refctl list "
	   "--dead)"),
	/* A token the node refuses, and a node that does not answer the
	 * gateway (client/gw-node.c): the console's error pages. */
	N_("no token: send Authorization: Bearer TOKEN"),
	N_("the token is not one this node made"),
	N_("token %s was revoked"),
	N_("token %s has expired"),
	N_("the local node did not answer: try again shortly"),
	/* Why a message is a dead letter (the outbox's reason). */
	N_("refused by %s: %s (%s)"),
	N_("no receipt within the message lifetime of %s ms after %s "
	   "attempts"),
	N_("no receipt within the message lifetime; sent again, signed "
	   "anew, as msg_id %s"),
};

/* Words the templates' parts carry besides state codes. */
static const char *const words[] = {
	N_("urban"), N_("rural"), N_("urban and rural"),
	/* How the applicant was told (notified.c). */
	N_("post"), N_("in-person"), N_("sms"),
};

/* part_name: a part's name for people, or NULL to copy it as it is. */
static const char *part_name(const char *code)
{
	const char *name = i18n_state(code);

	if (name != code)
		return name;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(code, words[i]))
			return gettext(words[i]);
	return NULL;
}

#define DETAIL_PARTS 9

/* match: the parts of d that fill template t's %s, or false. A part runs
 * to the first place the template's next literal text matches. */
static bool match(const char *t, const char *d, const char **part,
		  size_t *plen, int *ret_n)
{
	int n = 0;

	while (*t) {
		if (t[0] == '%' && t[1] == 's') {
			const char *lit = t + 2, *end;
			size_t ll = strcspn(lit, "%");
			if (n == DETAIL_PARTS)
				return false;
			if (ll == 0 && !*lit)
				end = d + strlen(d);
			else {
				char key[256];
				if (ll >= sizeof(key))
					return false;
				memcpy(key, lit, ll);
				key[ll] = 0;
				end = strstr(d, key);
				if (!end)
					return false;
			}
			part[n] = d;
			plen[n++] = (size_t)(end - d);
			d = end;
			t += 2;
		} else if (*t++ != *d++) {
			return false;
		}
	}
	*ret_n = n;
	return *d == 0;
}

const char *i18n_detail(const char *detail)
{
	/* Four buffers in turn: one printf may show several details. Each
	 * thread has its own (the gateway serves pages on several). */
	static _Thread_local char bufs[4][2048];
	static _Thread_local int next;
	char *out = bufs[next++ % 4];
	const char *part[DETAIL_PARTS];
	size_t plen[DETAIL_PARTS], o = 0;
	int n;

	if (!detail)
		return "";
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		const char *tr = gettext(details[i]);
		if (tr == details[i] || !match(details[i], detail, part, plen, &n))
			continue;
		/* Copy the translation, putting part k where it says %k$s. */
		while (*tr && o + 1 < sizeof(bufs[0])) {
			if (tr[0] == '%' && tr[1] >= '1' && tr[1] <= '9' &&
			    tr[2] == '$' && tr[3] == 's' && tr[1] - '1' < n) {
				int k = tr[1] - '1';
				char code[64];
				const char *name = NULL;
				if (plen[k] < sizeof(code)) {
					memcpy(code, part[k], plen[k]);
					code[plen[k]] = 0;
					name = part_name(code);
				}
				o += (size_t)snprintf(out + o, sizeof(bufs[0]) - o,
						      "%.*s", name ? (int)strlen(name)
						      : (int)plen[k], name ? name : part[k]);
				if (o >= sizeof(bufs[0]))
					o = sizeof(bufs[0]) - 1;
				tr += 4;
			} else {
				out[o++] = *tr++;
			}
		}
		out[o] = 0;
		return out;
	}
	return detail;
}
