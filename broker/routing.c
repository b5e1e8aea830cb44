/* routing.c: see routing.h. The choice is route_pick's (proto/route.c):
 * the same on every node holding the same directory, and explained in
 * the same words to refctl and the gateway. The referral it makes is
 * audited like any submit, with the destination picked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "casework.h"
#include "route.h"
#include "routing.h"

static json_t *route_json(const route_t *rt, const Referral__V1__Matter *m)
{
	json_t *o = json_object(), *c = json_array();

	json_object_set_new(o, "how", json_string(route_how_name(rt->how)));
	if (rt->to) {
		json_object_set_new(o, "to", json_string(rt->to->code));
		json_object_set_new(o, "to_name", json_string(rt->to->name));
	}
	for (size_t i = 0; i < rt->n_candidates && rt->how == ROUTE_AMBIGUOUS;
	     i++)
		json_array_append_new(c, json_pack("{s:s, s:s}", "code",
			rt->candidates[i]->code, "name",
			rt->candidates[i]->name));
	json_object_set_new(o, "candidates", c);
	json_object_set_new(o, "why", json_string(rt->why));
	json_object_set_new(o, "case_type", json_string(m->case_type));
	json_object_set_new(o, "handling_body", json_string(m->handling_body));
	json_object_set_new(o, "handling_division",
			    json_string(m->handling_division));
	return o;
}

int routing_submit(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen)
{
	Referral__Local__V1__Request r2;
	Referral__V1__ReferralSubmit *a;
	static char to[8];
	route_t rt;
	json_t *o;
	int r;

	if (req->to_node[0])
		return casework_submit(n, req, rep, err, errlen);
	a = referral__v1__referral_submit__unpack(NULL, req->body.len,
						  req->body.data);
	if (!a || !a->matter) {
		if (a)
			referral__v1__referral_submit__free_unpacked(a, NULL);
		/* casework_submit names the problem in the application. */
		return casework_submit(n, req, rep, err, errlen);
	}
	r = route_pick(n->dir, n->cfg.code, a->matter->case_type,
		       a->matter->handling_body, a->matter->handling_division,
		       &rt);
	o = route_json(&rt, a->matter);
	referral__v1__referral_submit__free_unpacked(a, NULL);
	if (r) {
		json_decref(o);
		return state_fail_reply(rep, r, err, errlen, "no destination "
					"given and none picked: %s", rt.why);
	}
	snprintf(to, sizeof(to), "%s", rt.to->code);
	r2 = *req;
	r2.to_node = to;
	r = casework_submit(n, &r2, rep, err, errlen);
	if (!r && !rep->code && rep->referral_id[0]) {
		json_object_set_new(o, "referral_id",
				    json_string(rep->referral_id));
		rep->json = state_dump(o);
	} else {
		json_decref(o);
	}
	return r;
}

int routing_call_route(node_t *n, const principal_t *who,
		       const Referral__Local__V1__Request *req, json_t *opts,
		       Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen)
{
	Referral__V1__ReferralSubmit *a;
	uint8_t *body = NULL;
	size_t blen = 0;
	char inner[300];
	route_t rt;
	int r;

	(void)who, (void)req;
	r = calls_application(opts, (size_t)n->cfg.max_documents,
			      (size_t)n->cfg.max_document_bytes, &body, &blen,
			      inner, sizeof(inner));
	if (r)
		return state_fail_reply(rep, r, err, errlen, "%s", inner);
	a = referral__v1__referral_submit__unpack(NULL, blen, body);
	free(body);
	if (!a || !a->matter) {
		if (a)
			referral__v1__referral_submit__free_unpacked(a, NULL);
		return state_fail_reply(rep, REF_E_INVALID, err, errlen,
					"the application has no matter");
	}
	/* A refusal is an answer here: the explanation is what was asked. */
	route_pick(n->dir, n->cfg.code, a->matter->case_type,
		   a->matter->handling_body, a->matter->handling_division, &rt);
	rep->json = state_dump(route_json(&rt, a->matter));
	referral__v1__referral_submit__free_unpacked(a, NULL);
	return 0;
}
