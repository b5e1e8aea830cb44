/* gw-openapi.h: the OpenAPI 3.1 document of referral-gw, made from the
 * node's table of operations ("ops"), so that a move the node adds is a
 * path here without a change to the gateway. GET /openapi.json serves it
 * and `referral-gw --print-openapi` prints it (docs/openapi.json).
 *
 * Promises: the same table gives the same document, byte for byte
 * (operations in the node's order, every other key in a fixed order);
 * nothing here asks the node or logs. */
#ifndef REF_GW_OPENAPI_H
#define REF_GW_OPENAPI_H

#include <jansson.h>

/* gw_openapi_build: the document for ops (the "operations" array,
 * borrowed), or NULL if ops is not an array. The caller owns it. */
json_t *gw_openapi_build(json_t *ops);

#endif
