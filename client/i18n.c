/* i18n.c: see i18n.h. The state names are the terms DOMAIN.md gives (the
 * Legal Aid Law's and the centres' own words); the English names are the
 * stable codes themselves, so LANG=C output is what it always was. */
#include <locale.h>
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
