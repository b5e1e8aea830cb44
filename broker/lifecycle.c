/* lifecycle.c: see lifecycle.h. The edge table is DOMAIN.md's lifecycle
 * table row for row; docs/LIFECYCLE.md draws the same machine. */
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"

static const char *const names[LC__MAX] = {
	[LC_NONE] = "NONE",
	[LC_REQUESTED] = "REQUESTED",
	[LC_RECEIVED] = "RECEIVED",
	[LC_AWAITING_MATERIALS] = "AWAITING_MATERIALS",
	[LC_WITHDRAWN] = "WITHDRAWN",
	[LC_REFERRED_ONWARD] = "REFERRED_ONWARD",
	[LC_GRANTED] = "GRANTED",
	[LC_DENIED] = "DENIED",
	[LC_ASSIGNED] = "ASSIGNED",
	[LC_IN_PROGRESS] = "IN_PROGRESS",
	[LC_ON_HOLD] = "ON_HOLD",
	[LC_TERMINATED] = "TERMINATED",
	[LC_CLOSED] = "CLOSED",
	[LC_OBJECTION] = "OBJECTION",
	[LC_UPHELD] = "UPHELD",
	[LC_CANCELLED] = "CANCELLED",
	[LC_REVIEWED] = "REVIEWED",
};

typedef struct {
	lc_state_t from, to;
	unsigned parties, needs;
	bool aid_first_only;
} edge_t;

#define O LC_ORIGIN
#define R LC_RECEIVER
#define B LC_BUREAU

static const edge_t edges[] = {
	{ LC_REQUESTED, LC_RECEIVED, R, 0, false },
	{ LC_RECEIVED, LC_AWAITING_MATERIALS, R, LC_NEEDS_ITEMS, false },
	{ LC_AWAITING_MATERIALS, LC_RECEIVED, O, 0, false },
	{ LC_AWAITING_MATERIALS, LC_WITHDRAWN, R, LC_NEEDS_REASON, false },
	{ LC_RECEIVED, LC_REFERRED_ONWARD, R, LC_NEEDS_REASON | LC_NEEDS_ONWARD, false },
	{ LC_RECEIVED, LC_GRANTED, R, 0, false },
	/* Art 44: aid first, the materials still owed. */
	{ LC_AWAITING_MATERIALS, LC_GRANTED, R, LC_NEEDS_REASON, true },
	{ LC_RECEIVED, LC_DENIED, R, LC_NEEDS_REASON | LC_NEEDS_BASIS, false },
	{ LC_GRANTED, LC_ASSIGNED, R, LC_NEEDS_ASSIGNMENT, false },
	{ LC_ASSIGNED, LC_IN_PROGRESS, R, 0, false },
	/* The assigned lawyer replaced: the state stays, the history and
	 * the court's notice say who now (refctl reassign). */
	{ LC_ASSIGNED, LC_ASSIGNED, R, LC_NEEDS_ASSIGNMENT | LC_NEEDS_REASON, false },
	{ LC_IN_PROGRESS, LC_IN_PROGRESS, R, LC_NEEDS_ASSIGNMENT | LC_NEEDS_REASON,
	  false },
	{ LC_IN_PROGRESS, LC_ON_HOLD, R, LC_NEEDS_REASON, false },
	{ LC_ON_HOLD, LC_IN_PROGRESS, R, 0, false },
	{ LC_IN_PROGRESS, LC_TERMINATED, R, LC_NEEDS_REASON, false },
	{ LC_IN_PROGRESS, LC_CLOSED, R, LC_NEEDS_REPORT, false },
	/* The file review (结案审查); closing.c checks what it carries and
	 * that the reviewer is not the one who closed. */
	{ LC_CLOSED, LC_REVIEWED, R, 0, false },
	/* Art 49: the justice bureau decides, from its own node. */
	{ LC_DENIED, LC_OBJECTION, B, LC_NEEDS_REASON, false },
	{ LC_TERMINATED, LC_OBJECTION, B, LC_NEEDS_REASON, false },
	{ LC_OBJECTION, LC_UPHELD, B, 0, false },
	{ LC_OBJECTION, LC_GRANTED, B, 0, false },
	{ LC_REQUESTED, LC_CANCELLED, O | R, LC_NEEDS_REASON, false },
	{ LC_RECEIVED, LC_CANCELLED, O | R, LC_NEEDS_REASON, false },
	{ LC_AWAITING_MATERIALS, LC_CANCELLED, O | R, LC_NEEDS_REASON, false },
	{ LC_GRANTED, LC_CANCELLED, O | R, LC_NEEDS_REASON, false },
	{ LC_ASSIGNED, LC_CANCELLED, O | R, LC_NEEDS_REASON, false },
};

#undef O
#undef R
#undef B

const char *lc_state_name(lc_state_t s)
{
	return s < LC__MAX ? names[s] : "UNKNOWN";
}

lc_state_t lc_state_from_name(const char *name)
{
	for (int i = 1; i < LC__MAX; i++)
		if (name && !strcmp(names[i], name))
			return (lc_state_t)i;
	return LC_NONE;
}

unsigned lc_edge(lc_state_t from, lc_state_t to, bool aid_first,
		 unsigned *ret_needs)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		const edge_t *e = &edges[i];
		if (e->from != from || e->to != to)
			continue;
		if (e->aid_first_only && !aid_first)
			continue;
		if (ret_needs)
			*ret_needs = e->needs;
		return e->parties;
	}
	return 0;
}

void lc_moves_from(lc_state_t from, unsigned party, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		const edge_t *e = &edges[i];
		if (e->from != from || (party && !(e->parties & party)))
			continue;
		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s%s%s",
						 used ? ", " : "",
						 names[e->to],
						 e->aid_first_only ? " (aid first)" : "");
	}
	if (!used)
		snprintf(out, len, "none (%s is final)", names[from]);
}

bool lc_final(lc_state_t s)
{
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (edges[i].from == s)
			return false;
	return true;
}

bool lc_notified_reason(const char *reason)
{
	static const char *const hows[] = { "post ", "in-person ", "sms ", NULL };
	size_t pl = strlen(LC_NOTIFIED_PREFIX);
	int y, m, d, used = 0;

	if (!reason || strncmp(reason, LC_NOTIFIED_PREFIX, pl))
		return false;
	reason += pl;
	for (int i = 0; hows[i]; i++) {
		if (strncmp(reason, hows[i], strlen(hows[i])))
			continue;
		reason += strlen(hows[i]);
		if (strlen(reason) != 10 || sscanf(reason, "%4d-%2d-%2d%n", &y,
						   &m, &d, &used) != 3 ||
		    used != 10)
			return false;
		/* A real day: months of their length, Feb 29 in leap years. */
		static const int len[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
					   31, 30, 31 };
		if (y < 2000 || m < 1 || m > 12 || d < 1 || d > len[m - 1])
			return false;
		return !(m == 2 && d == 29 &&
			 !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
	}
	return false;
}
