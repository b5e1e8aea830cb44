/* routing.h: a referral sent to the centre the directory says serves the
 * matter (route.h), for a submit that names no destination, and the
 * "route" operation that explains the choice without sending anything.
 * Handlers of control.c's table; they read the directory and write no
 * field of the node. */
#ifndef REF_ROUTING_H
#define REF_ROUTING_H

#include <jansson.h>

#include "state.h"

/* routing_submit: casework_submit, with the destination picked from the
 * application's handling body or division when the request names none;
 * a refusal (two centres, none and no fallback) says why and sends
 * nothing. */
int routing_submit(node_t *n, const Referral__Local__V1__Request *req,
		   Referral__Local__V1__Reply *rep, char *err, size_t errlen);
/* routing_call_route: the "route" operation: opts.application in, the
 * choice and its reason out (JSON), a refusal included; never writes. */
int routing_call_route(node_t *n, const principal_t *who,
		       const Referral__Local__V1__Request *req, json_t *opts,
		       Referral__Local__V1__Reply *rep, char *err,
		       size_t errlen);

#endif
