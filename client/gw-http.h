/* gw-http.h: one HTTP request as referral-gw's handlers see it, and the
 * ways to answer it: JSON, problem+json (RFC 9457), HTML or text, each
 * with the headers every answer carries (nosniff, no referrer, no
 * caching unless a handler says otherwise, a CSP forbidding scripts).
 *
 * The lower floor of the gateway: gw-server.c (the daemon, the routes,
 * the log line) makes a gw_req_t and calls a handler in gw-api.c,
 * gw-console.c or gw-metrics.c; they answer through these functions and
 * call the node through gw-node.h. Nothing here calls back up.
 *
 * Promises: a request is answered at most once (a second answer is
 * refused, and logged as the bug it is); a node's error detail goes to
 * the caller that caused it, never to the log. */
#ifndef REF_GW_HTTP_H
#define REF_GW_HTTP_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gw-conf.h"
#include "gw-node.h"

struct MHD_Connection;
typedef struct gw_sessions gw_sessions_t;

#define GW_TOKEN_MAX 512
#define GW_MAX_HEADERS 8

/* The gateway, set up by gw.c before the daemon starts and read-only
 * after, but for requests[] (gw-server.c counts each answer by status;
 * gw-metrics.c reads them). */
typedef struct {
	gw_conf_t conf;
	bool tls;
	gw_node_t *node;
	gw_sessions_t *sessions;
	_Atomic uint64_t requests[600];
} gw_t;

typedef struct {
	gw_t *gw;
	struct MHD_Connection *conn;
	const char *method;        /* GET, POST (HEAD is served as GET) */
	const char *path;          /* without the query */
	const char *peer;          /* the client's address, as text */
	char *body;                /* NUL-terminated; NULL when empty */
	size_t body_len, body_cap;
	bool too_large;
	size_t drained;     /* body bytes read and dropped (too large) */
	uint64_t start_ms;
	/* Set by the route: the path's {id} and {op}, the bearer token
	 * (borrowed from the header or the console's session) and who the
	 * node says it is. */
	char param[2][128];
	const char *token;
	gw_who_t who;
	bool who_known;
	/* The answer. */
	int status;
	bool answered;
	int queued;                /* MHD's result of queueing it */
	struct { char *name, *value; } hdr[GW_MAX_HEADERS];
	size_t n_hdr;
} gw_req_t;

/* gw_http_header: a request header, or NULL. */
const char *gw_http_header(gw_req_t *q, const char *name);
/* gw_http_cookie: a cookie's value, or NULL. */
const char *gw_http_cookie(gw_req_t *q, const char *name);
/* gw_http_query_each: calls fn for each query argument (value may be
 * NULL for "?flag"); stops at the first non-zero and returns it. */
int gw_http_query_each(gw_req_t *q,
		       int (*fn)(void *ctx, const char *key, const char *val),
		       void *ctx);
/* gw_http_query: one query argument's value, or NULL. */
const char *gw_http_query(gw_req_t *q, const char *name);
/* gw_http_bearer: the token of "Authorization: Bearer TOKEN", or NULL
 * when there is none or it is not a well-formed one (RFC 6750 b64token,
 * at most GW_TOKEN_MAX bytes). */
const char *gw_http_bearer(gw_req_t *q);

/* gw_http_add_header: a header for the answer (copied). */
void gw_http_add_header(gw_req_t *q, const char *name, const char *value);

/* gw_http_send: answers with body (malloc'd; taken over, freed here in
 * any case; NULL for none) of type. Returns 0, or -1 if the answer could
 * not be queued (the connection is then closed). */
int gw_http_send(gw_req_t *q, int status, const char *type, char *body,
		 size_t len);
/* gw_http_json: answers with o (reference taken over), compact. */
int gw_http_json(gw_req_t *q, int status, json_t *o);
/* gw_http_problem: application/problem+json with type, title, status,
 * detail and code (a stable name such as "REF_E_FORBIDDEN"). 401s get
 * WWW-Authenticate. */
int gw_http_problem(gw_req_t *q, int status, const char *code,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* gw_http_node_error: the problem for a node's result r and its message. */
int gw_http_node_error(gw_req_t *q, int r, const char *err);

/* gw_http_body_json: the body as a JSON object (an empty body is {}).
 * On failure answers 400 itself and returns -1; *ret is the caller's. */
int gw_http_body_json(gw_req_t *q, json_t **ret);
/* gw_http_check_fields: answers 400 and returns -1 if o has a top-level
 * field that schema (a JSON Schema object, may be NULL) does not name in
 * "properties"; a schema without "properties", or with
 * additionalProperties true, allows any. */
int gw_http_check_fields(gw_req_t *q, json_t *o, json_t *schema);

/* gw_http_reason: the standard reason phrase of an HTTP status. */
const char *gw_http_reason(int status);

#endif
