/* gw-node.h: referral-gw's side of its local node: calls through
 * libreferral (ref_call) on clients taken from a pool, the node's result
 * codes as HTTP statuses and stable names, the request id an
 * Idempotency-Key becomes, and two short-lived caches: the node's table
 * of operations ("ops") and who a token is ("whoami", for the console's
 * login and the token's name in the log).
 *
 * Promises: the gateway decides nothing the node decides. Every call
 * carries the caller's token and the node authenticates it and checks
 * its scope; the caches only save a round trip for what the node would
 * answer anyway, and a token is never kept: the whoami cache is keyed by
 * its SHA-256. Thread-safe: one ref_client_t per call in flight. */
#ifndef REF_GW_NODE_H
#define REF_GW_NODE_H

#include <jansson.h>
#include <stddef.h>

typedef struct gw_node gw_node_t;

typedef struct {
	char name[128];   /* the token's name, as the node knows it */
	char scope[16];   /* court, labour, staff or admin */
	char code[16];    /* the node code it acts for, if any */
} gw_who_t;

/* gw_node_new: calls go to the node whose data folder is data_dir, each
 * bounded by timeout_ms. NULL on failure (out of memory). */
gw_node_t *gw_node_new(const char *data_dir, int timeout_ms);
/* gw_node_free: closes every pooled client; safe on NULL and twice. */
void gw_node_free(gw_node_t **n);

/* gw_node_call: ref_call(name, token, actor NULL, request_id,
 * referral_id, json) on a pooled client. Returns what ref_call returns;
 * err gets ref_last_error (on success: the node's note, often ""). On
 * success *ret_json (if not NULL) is the answer, parsed; the caller
 * owns it. An answer that is not a JSON object is REF_E_MALFORMED. */
int gw_node_call(gw_node_t *n, const char *name, const char *token,
		 const char *request_id, const char *referral_id,
		 const char *json, json_t **ret_json, char *err,
		 size_t errlen);

/* gw_node_ops: the node's operations (the "operations" array of "ops"),
 * asked again when the copy held is over two seconds old, so that a
 * node's new moves appear at once. *ret is a new reference. */
int gw_node_ops(gw_node_t *n, json_t **ret, char *err, size_t errlen);
/* gw_node_op_find: the operation named name in ops (borrowed), or NULL. */
json_t *gw_node_op_find(json_t *ops, const char *name);

/* gw_node_whoami: who token is ("whoami"), remembered for 30 s by the
 * token's hash (a bad token is not remembered). Returns 0 with *ret,
 * REF_E_UNAUTHENTICATED, or another ref_call result. */
int gw_node_whoami(gw_node_t *n, const char *token, gw_who_t *ret,
		   char *err, size_t errlen);

/* gw_node_http_status: the HTTP status for a ref_call result (issue's
 * table; 0 gives 200). */
int gw_node_http_status(int r);
/* gw_node_code_name: "REF_E_FORBIDDEN" and so on: a stable name for r
 * (-errno gives "REF_E_UNAVAILABLE": no socket to the node). */
const char *gw_node_code_name(int r);
/* gw_node_request_id: the request id for an Idempotency-Key: the first
 * 32 hex digits of SHA-256(token, NUL, key), so that one caller's retry
 * is one request at the node and two callers' keys never meet. */
void gw_node_request_id(const char *token, const char *key, char out[33]);

#endif
