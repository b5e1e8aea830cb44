/* route.c: see route.h. The directory is the only source: a node routes
 * by what the authority signed, never by a guess from names or codes. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "route.h"
#include "util.h"

const char *route_how_name(route_how_t how)
{
	switch (how) {
	case ROUTE_BODY: return "handling_body";
	case ROUTE_DIVISION: return "division";
	case ROUTE_FALLBACK: return "fallback";
	case ROUTE_AMBIGUOUS: return "ambiguous";
	case ROUTE_NONE: return "none";
	case ROUTE_HERE: return "here";
	}
	return "none";
}

static bool serves_body(const dir_node_t *n, const char *body)
{
	for (size_t i = 0; body[0] && i < n->n_serves_bodies; i++)
		if (!strcmp(n->serves_bodies[i], body))
			return true;
	return false;
}

static bool serves_division(const dir_node_t *n, const char *div)
{
	for (size_t i = 0; div[0] && i < n->n_serves_divisions; i++)
		if (!strcmp(n->serves_divisions[i], div))
			return true;
	return false;
}

/* The centres that serve the matter one way (by body or by division) and
 * take its case type; *here set when self is one of them. */
static void gather(const directory_t *d, const char *self, const char *ct,
		   const char *key, bool by_body, route_t *ret, bool *here)
{
	ret->n_candidates = 0;
	*here = false;
	for (size_t i = 0; i < d->n_nodes; i++) {
		const dir_node_t *n = &d->nodes[i];
		if (!(by_body ? serves_body(n, key) : serves_division(n, key)))
			continue;
		if (!directory_takes_referrals(n) || !directory_accepts(n, ct))
			continue;
		if (!strcmp(n->code, self)) {
			*here = true;
			continue;
		}
		if (ret->n_candidates < ROUTE_MAX_CANDIDATES)
			ret->candidates[ret->n_candidates++] = n;
	}
}

static void list_candidates(const route_t *ret, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ret->n_candidates && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%s%s (%s)",
					 i ? ", " : "", ret->candidates[i]->code,
					 ret->candidates[i]->name);
	util_utf8_trim(buf);
}

int route_pick(const directory_t *d, const char *self, const char *ct,
	       const char *body, const char *div, route_t *ret)
{
	const dir_node_t *me = directory_node(d, self), *fb;
	char names[400];
	bool here;

	memset(ret, 0, sizeof(*ret));
	body = body ? body : "";
	div = div ? div : "";
	ct = ct ? ct : "";
	/* Art 38: where the handling body sits comes first; the division
	 * code is for a matter whose body is not named (or not listed). */
	for (int pass = 0; pass < 2; pass++) {
		const char *key = pass == 0 ? body : div;
		if (!key[0])
			continue;
		gather(d, self, ct, key, pass == 0, ret, &here);
		if (here) {
			ret->how = ROUTE_HERE;
			snprintf(ret->why, sizeof(ret->why), "this centre (%s) "
				 "serves %s %s itself: handle the matter here, "
				 "no referral is needed", self,
				 pass == 0 ? "the handling body" : "division",
				 key);
			util_utf8_trim(ret->why);
			return REF_E_UNKNOWN_NODE;
		}
		if (ret->n_candidates == 1) {
			ret->how = pass == 0 ? ROUTE_BODY : ROUTE_DIVISION;
			ret->to = ret->candidates[0];
			snprintf(ret->why, sizeof(ret->why), "%s (%s) serves %s "
				 "%s and takes %s matters", ret->to->code,
				 ret->to->name, pass == 0 ? "the handling body"
				 : "division", key, ct);
			util_utf8_trim(ret->why);
			return 0;
		}
		if (ret->n_candidates > 1) {
			ret->how = ROUTE_AMBIGUOUS;
			list_candidates(ret, names, sizeof(names));
			snprintf(ret->why, sizeof(ret->why), "%zu centres serve "
				 "%s %s: %s; choose one with --to CODE (or ask "
				 "the authority to settle the directory)",
				 ret->n_candidates, pass == 0
				 ? "the handling body" : "division", key, names);
			util_utf8_trim(ret->why);
			return REF_E_REFUSED;
		}
	}
	fb = me && me->fallback[0] ? directory_node(d, me->fallback) : NULL;
	if (fb && !strcmp(fb->code, self)) {
		ret->how = ROUTE_HERE;
		snprintf(ret->why, sizeof(ret->why), "no centre in the directory "
			 "serves this matter, and this centre (%s) is the "
			 "fallback: handle it here", self);
		return REF_E_UNKNOWN_NODE;
	}
	if (fb && directory_takes_referrals(fb) && directory_accepts(fb, ct)) {
		ret->how = ROUTE_FALLBACK;
		ret->to = fb;
		snprintf(ret->why, sizeof(ret->why), "no centre in the directory "
			 "serves this matter (handling body \"%s\", division "
			 "\"%s\"); it goes to this centre's fallback, %s (%s)",
			 body, div, fb->code, fb->name);
		util_utf8_trim(ret->why);
		return 0;
	}
	ret->how = ROUTE_NONE;
	if (fb)
		snprintf(ret->why, sizeof(ret->why), "no centre in the directory "
			 "serves this matter, and the fallback %s (%s) does "
			 "not take %s referrals; give --to CODE", fb->code,
			 fb->name, ct);
	else
		snprintf(ret->why, sizeof(ret->why), "no centre in the directory "
			 "serves this matter (handling body \"%s\", division "
			 "\"%s\") and this centre's entry names no fallback; "
			 "give --to CODE", body, div);
	util_utf8_trim(ret->why);
	return REF_E_UNKNOWN_NODE;
}
