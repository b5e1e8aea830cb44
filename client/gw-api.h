/* gw-api.h: referral-gw's JSON API under /v1 and /openapi.json, each
 * route one call to the node's operation of the same meaning.
 *
 * Promises: the gateway does not know the lifecycle or who may make which
 * move. A move is any operation of kind "move" in the node's own table
 * ("ops"), its body checked only against the fields that operation names;
 * the node authenticates the token passed with every call and checks its
 * scope. A POST with an Idempotency-Key is one request at the node, so a
 * retry gets the first answer (gw_node_request_id); the gateway stores
 * nothing. Each handler answers its request exactly once. */
#ifndef REF_GW_API_H
#define REF_GW_API_H

#include "gw-http.h"

/* GET /openapi.json: built from the node's "ops" (gw-openapi.h). */
int gw_api_openapi(gw_req_t *q);
/* POST /v1/referrals: "submit"; 201 with Location. */
int gw_api_submit(gw_req_t *q);
/* POST /v1/route: "route": which centre a submit without "to" picks. */
int gw_api_route(gw_req_t *q);
/* GET /v1/referrals: "list", its options from the query. */
int gw_api_list(gw_req_t *q);
/* GET /v1/referrals/{id}: "show", with an ETag; If-None-Match gives 304. */
int gw_api_show(gw_req_t *q);
/* GET /v1/referrals/{id}/documents: "docs": the application's and the
 * supplements' documents, their bytes in base64 (the centre's staff). */
int gw_api_docs(gw_req_t *q);
/* POST /v1/referrals/{id}/{op}: the node's move named op. */
int gw_api_move(gw_req_t *q);
/* GET /v1/calendar/due?from=YYYY-MM-DD&days=N: "calendar-due", the due
 * day of a period with the node's holiday calendar. */
int gw_api_calendar_due(gw_req_t *q);
/* POST /v1/events: "event"; 201. */
int gw_api_event(gw_req_t *q);
/* GET /v1/events?cursor=C&wait=S: "events", asked again every 200 ms
 * while there are none, for at most S seconds (long_poll_max_s). */
int gw_api_events(gw_req_t *q);

#endif
