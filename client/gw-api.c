/* gw-api.c: see gw-api.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw-api.h"
#include "gw-openapi.h"
#include "referral.h"
#include "util.h"

#define ERRLEN 2048
#define POLL_MS 200

/* The fields of an operation whose table entry names none: what the
 * issue fixes for submit, so an unknown field is refused all the same.
 * The node's own schema, when it gives one, wins. */
static json_t *fallback_schema(const char *op)
{
	if (!strcmp(op, "submit"))
		return json_pack("{s:{s:{}, s:{}}}", "properties", "to",
				 "application");
	if (!strcmp(op, "list"))
		return json_pack("{s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{}, "
				 "s:{s:s}}}", "properties",
				 "box", "type", "string",
				 "state", "type", "string",
				 "overdue", "type", "boolean",
				 "cursor",
				 "limit", "type", "integer");
	if (!strcmp(op, "events"))
		return json_pack("{s:{s:{}, s:{s:s}}}", "properties", "cursor",
				 "limit", "type", "integer");
	return NULL;
}

/* The options schema of the node's operation name (a new reference), or
 * the fallback; *ret_op (may be NULL) gets the operation (a new
 * reference, NULL if the node has none by that name). Answers itself and
 * returns -1 when the node cannot be asked. */
static int op_schema(gw_req_t *q, const char *name, json_t **ret_op,
		     json_t **ret_schema)
{
	char err[ERRLEN];
	json_t *ops, *op, *schema;
	int r = gw_node_ops(q->gw->node, &ops, err, sizeof(err));

	if (r) {
		gw_http_node_error(q, r, err);
		return -1;
	}
	op = gw_node_op_find(ops, name);
	schema = json_object_get(op, "options");
	if (json_is_object(schema))
		json_incref(schema);
	else
		schema = fallback_schema(name);
	if (ret_op)
		*ret_op = json_incref(op);
	json_decref(ops);
	*ret_schema = schema;
	return 0;
}

/* The request id of an Idempotency-Key, or NULL (a new one per call).
 * A key that cannot be one answers 400 and returns -1. */
static int idempotency(gw_req_t *q, char out[33], const char **ret)
{
	const char *k = gw_http_header(q, "Idempotency-Key");
	size_t n;

	*ret = NULL;
	if (!k)
		return 0;
	n = strlen(k);
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			n = 0;
	if (n == 0 || n > 255) {
		gw_http_problem(q, 400, "REF_E_INVALID", "Idempotency-Key must "
				"be 1 to 255 visible ASCII characters");
		return -1;
	}
	gw_node_request_id(q->token, k, out);
	*ret = out;
	return 0;
}

/* Calls the node's operation name with o as its options and answers with
 * its answer (status ok on success). o is the caller's. */
static int call_answer(gw_req_t *q, const char *name, const char *rid,
		       const char *referral_id, json_t *o, int ok,
		       const char *location_key)
{
	char err[ERRLEN], *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_t *ans;
	int r;

	if (o && !body)
		return gw_http_problem(q, 500, "REF_E_INVALID", "out of memory");
	r = gw_node_call(q->gw->node, name, q->token, rid, referral_id, body,
			 &ans, err, sizeof(err));
	free(body);
	if (r)
		return gw_http_node_error(q, r, err);
	/* The node's note on a success (a move waiting for the other side's
	 * confirmation, say) is for the caller. */
	if (err[0] && !json_object_get(ans, "note"))
		json_object_set_new(ans, "note", json_string(err));
	if (location_key) {
		const char *id = json_string_value(json_object_get(
			ans, location_key));
		if (id && util_referral_id_valid(id)) {
			char loc[256];
			snprintf(loc, sizeof(loc), "/v1/referrals/%s", id);
			gw_http_add_header(q, "Location", loc);
		}
	}
	return gw_http_json(q, ok, ans);
}

/* A POST's body, checked against the fields operation name allows. */
static int post_body(gw_req_t *q, const char *name, json_t **ret)
{
	json_t *o, *schema;

	if (gw_http_body_json(q, &o))
		return -1;
	if (op_schema(q, name, NULL, &schema)) {
		json_decref(o);
		return -1;
	}
	if (gw_http_check_fields(q, o, schema)) {
		json_decref(schema);
		json_decref(o);
		return -1;
	}
	json_decref(schema);
	*ret = o;
	return 0;
}

int gw_api_openapi(gw_req_t *q)
{
	char err[ERRLEN];
	json_t *ops, *doc;
	int r = gw_node_ops(q->gw->node, &ops, err, sizeof(err));

	if (r)
		return gw_http_node_error(q, r, err);
	doc = gw_openapi_build(ops);
	json_decref(ops);
	if (!doc)
		return gw_http_problem(q, 500, "REF_E_MALFORMED", "the node's "
				       "operations do not make a document");
	gw_http_add_header(q, "Cache-Control", "no-cache");
	return gw_http_json(q, 200, doc);
}

int gw_api_submit(gw_req_t *q)
{
	char ridbuf[33];
	const char *rid;
	json_t *o;
	int r;

	if (idempotency(q, ridbuf, &rid) || post_body(q, "submit", &o))
		return -1;
	r = call_answer(q, "submit", rid, NULL, o, 201, "referral_id");
	json_decref(o);
	return r;
}

int gw_api_route(gw_req_t *q)
{
	json_t *o;
	int r;

	if (post_body(q, "route", &o))
		return -1;
	r = call_answer(q, "route", NULL, NULL, o, 200, NULL);
	json_decref(o);
	return r;
}

int gw_api_docs(gw_req_t *q)
{
	char err[ERRLEN];
	json_t *ans;
	int r = gw_node_call(q->gw->node, "docs", q->token, NULL, q->param[0],
			     NULL, &ans, err, sizeof(err));

	if (r)
		return gw_http_node_error(q, r, err);
	/* Personal data: never kept by a cache. */
	gw_http_add_header(q, "Cache-Control", "no-store");
	return gw_http_json(q, 200, ans);
}

int gw_api_move(gw_req_t *q)
{
	char ridbuf[33];
	const char *rid, *kind;
	json_t *op = NULL, *schema, *o;
	int r;

	if (idempotency(q, ridbuf, &rid) ||
	    op_schema(q, q->param[1], &op, &schema))
		return -1;
	kind = json_string_value(json_object_get(op, "kind"));
	if (!kind || strcmp(kind, "move")) {
		json_decref(op);
		json_decref(schema);
		return gw_http_problem(q, 404, "REF_E_NOT_FOUND", "the node has "
				       "no move named \"%s\": its moves are the "
				       "POST /v1/referrals/{id}/... paths of "
				       "/openapi.json", q->param[1]);
	}
	json_decref(op);
	if (gw_http_body_json(q, &o)) {
		json_decref(schema);
		return -1;
	}
	if (gw_http_check_fields(q, o, schema)) {
		json_decref(schema);
		json_decref(o);
		return -1;
	}
	json_decref(schema);
	r = call_answer(q, q->param[1], rid, q->param[0], o, 200, NULL);
	json_decref(o);
	return r;
}

int gw_api_event(gw_req_t *q)
{
	char ridbuf[33];
	const char *rid;
	json_t *o;
	int r;

	if (idempotency(q, ridbuf, &rid) || post_body(q, "event", &o))
		return -1;
	r = call_answer(q, "event", rid, NULL, o, 201, NULL);
	json_decref(o);
	return r;
}

int gw_api_show(gw_req_t *q)
{
	char err[ERRLEN], etag[40], *s;
	uint8_t h[32];
	const char *inm = gw_http_header(q, "If-None-Match");
	json_t *ans;
	int r = gw_node_call(q->gw->node, "show", q->token, NULL, q->param[0],
			     NULL, &ans, err, sizeof(err));

	if (r)
		return gw_http_node_error(q, r, err);
	s = json_dumps(ans, JSON_COMPACT);
	json_decref(ans);
	if (!s)
		return gw_http_problem(q, 500, "REF_E_INVALID", "out of memory");
	util_sha256((const uint8_t *)s, strlen(s), h);
	etag[0] = '"';
	util_hex(h, 16, etag + 1);
	strcpy(etag + 33, "\"");
	gw_http_add_header(q, "ETag", etag);
	/* Each reader may see another view of the same referral (court and
	 * labour scopes get less): no shared cache may keep it. */
	gw_http_add_header(q, "Cache-Control", "private, no-cache");
	gw_http_add_header(q, "Vary", "Authorization");
	if (inm) {
		/* A list of tags, weak or strong (RFC 9110 13.1.2: weak
		 * comparison), or "*". */
		const char *p = inm;
		while (*p) {
			p += strspn(p, " \t,");
			if (!strncmp(p, "W/", 2))
				p += 2;
			if (*p == '*' || !strncmp(p, etag, 34)) {
				free(s);
				return gw_http_send(q, 304, NULL, NULL, 0);
			}
			p += strcspn(p, ",");
		}
	}
	return gw_http_send(q, 200, "application/json", s, strlen(s));
}

/* A query value as the JSON the schema's property type asks for; NULL if
 * it cannot be one. */
static json_t *typed(json_t *prop, const char *val)
{
	json_t *t = json_object_get(prop, "type");
	bool want_bool = false, want_int = false, want_str = !t;
	size_t i;
	json_t *v;

	if (json_is_string(t))
		t = json_pack("[O]", t);
	else
		json_incref(t);
	json_array_foreach(t, i, v) {
		const char *s = json_string_value(v);
		if (!s)
			continue;
		want_bool |= !strcmp(s, "boolean");
		want_int |= !strcmp(s, "integer") || !strcmp(s, "number");
		want_str |= !strcmp(s, "string");
	}
	json_decref(t);
	if (!val)
		val = want_bool ? "true" : "";
	if (want_bool && (!strcmp(val, "true") || !strcmp(val, "false")))
		return json_boolean(!strcmp(val, "true"));
	if (want_int && *val) {
		char *end;
		long long n;
		errno = 0;
		n = strtoll(val, &end, 10);
		if (!errno && !*end)
			return json_integer(n);
	}
	if (want_str || (!want_bool && !want_int))
		return json_string(val);
	return NULL;
}

struct qargs {
	gw_req_t *q;
	json_t *props, *o;
	const char *own;       /* a query argument of the gateway's own */
	const char *bad;
	char badkind;          /* 'u' unknown, 't' wrong type */
};

static int one_arg(void *ctx, const char *key, const char *val)
{
	struct qargs *a = ctx;
	json_t *prop, *v;

	if (a->own && !strcmp(key, a->own))
		return 0;
	prop = json_object_get(a->props, key);
	if (!prop) {
		a->bad = key;
		a->badkind = 'u';
		return 1;
	}
	v = typed(prop, val);
	if (!v) {
		a->bad = key;
		a->badkind = 't';
		return 1;
	}
	json_object_set_new(a->o, key, v);
	return 0;
}

/* The query as the options of operation name; answers 400 itself. */
static int query_options(gw_req_t *q, const char *name, const char *own,
			 json_t **ret)
{
	json_t *schema;
	struct qargs a = { q, NULL, json_object(), own, NULL, 0 };

	if (op_schema(q, name, NULL, &schema)) {
		json_decref(a.o);
		return -1;
	}
	a.props = json_object_get(schema, "properties");
	if (gw_http_query_each(q, one_arg, &a)) {
		json_decref(schema);
		json_decref(a.o);
		if (a.badkind == 'u')
			return gw_http_problem(q, 400, "REF_E_INVALID",
					       "unknown query argument \"%s\"",
					       a.bad), -1;
		return gw_http_problem(q, 400, "REF_E_INVALID", "query "
				       "argument \"%s\" has a value of the "
				       "wrong type (see /openapi.json)",
				       a.bad), -1;
	}
	json_decref(schema);
	*ret = a.o;
	return 0;
}

int gw_api_list(gw_req_t *q)
{
	json_t *o;
	int r;

	if (query_options(q, "list", NULL, &o))
		return -1;
	r = call_answer(q, "list", NULL, NULL, o, 200, NULL);
	json_decref(o);
	return r;
}

int gw_api_calendar_due(gw_req_t *q)
{
	json_t *o;
	int r;

	if (query_options(q, "calendar-due", NULL, &o))
		return -1;
	r = call_answer(q, "calendar-due", NULL, NULL, o, 200, NULL);
	json_decref(o);
	return r;
}

int gw_api_events(gw_req_t *q)
{
	const char *w = gw_http_query(q, "wait");
	char err[ERRLEN], *body, *end;
	long long wait_s = 0;
	uint64_t until;
	json_t *o, *ans;
	int r;

	if (w) {
		errno = 0;
		wait_s = strtoll(w, &end, 10);
		if (errno || end == w || *end || wait_s < 0)
			return gw_http_problem(q, 400, "REF_E_INVALID", "wait "
					       "must be a whole number of "
					       "seconds, 0 or more");
		if (wait_s > q->gw->conf.long_poll_max_s)
			wait_s = q->gw->conf.long_poll_max_s;
	}
	if (query_options(q, "events", "wait", &o))
		return -1;
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!body)
		return gw_http_problem(q, 500, "REF_E_INVALID", "out of memory");
	until = util_mono_ms() + (uint64_t)wait_s * 1000;
	for (;;) {
		json_t *ev;
		uint64_t now, nap;
		r = gw_node_call(q->gw->node, "events", q->token, NULL, NULL,
				 body, &ans, err, sizeof(err));
		if (r)
			break;
		ev = json_object_get(ans, "events");
		now = util_mono_ms();
		if (!json_is_array(ev) || json_array_size(ev) || now >= until)
			break;
		json_decref(ans);
		nap = until - now < POLL_MS ? until - now : POLL_MS;
		nanosleep(&(struct timespec){ 0, (long)nap * 1000000L }, NULL);
	}
	free(body);
	if (r)
		return gw_http_node_error(q, r, err);
	return gw_http_json(q, 200, ans);
}
