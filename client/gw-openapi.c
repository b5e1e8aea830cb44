/* gw-openapi.c: see gw-openapi.h. The routes here are gw-server.c's
 * table written out; what each operation takes is the node's. */
#include <stdbool.h>
#include <string.h>

#include "gw-node.h"
#include "gw-openapi.h"

#ifndef GW_VERSION
#define GW_VERSION "0"
#endif

static json_t *ref(const char *to)
{
	return json_pack("{s:s}", "$ref", to);
}

/* The answers every call may get besides its success. */
static json_t *responses(const char *code, const char *desc, json_t *schema,
			 const char *type)
{
	json_t *r = json_object(), *ok = json_pack("{s:s}", "description",
						   desc);

	if (schema)
		json_object_set_new(ok, "content", json_pack(
			"{s:{s:o}}", type ? type : "application/json",
			"schema", schema));
	json_object_set_new(r, code, ok);
	json_object_set_new(r, "4XX", ref("#/components/responses/Problem"));
	json_object_set_new(r, "5XX", ref("#/components/responses/Problem"));
	return r;
}

/* The console answers in HTML, errors included, and sends a browser
 * without a session to its login form. */
static json_t *console_responses(void)
{
	json_t *html = json_pack("{s:{s:{s:s}}}", "text/html", "schema", "type",
				 "string");

	return json_pack("{s:{s:s, s:O}, s:{s:s}, s:{s:s, s:O}, s:{s:s, s:o}}",
			 "200", "description", "the console page", "content",
			 html, "303", "description", "no session: to the login "
			 "form", "403", "description", "not an admin's token",
			 "content", html, "4XX", "description",
			 "refused; the page says why", "content", html);
}

static json_t *first_named(json_t *ops, const char *name)
{
	json_t *op;
	size_t i;

	json_array_foreach(ops, i, op) {
		const char *nm = json_string_value(json_object_get(op, "name"));
		if (nm && !strcmp(nm, name))
			return op;
	}
	return NULL;
}

static json_t *first_of_kind(json_t *ops, const char *kind)
{
	size_t i;
	json_t *op;

	json_array_foreach(ops, i, op) {
		const char *k = json_string_value(json_object_get(op, "kind"));
		if (k && !strcmp(k, kind))
			return op;
	}
	return NULL;
}

static json_t *options_of(json_t *op)
{
	json_t *o = json_object_get(op, "options");

	return json_is_object(o) ? json_deep_copy(o)
				 : json_pack("{s:s}", "type", "object");
}

/* summary, description naming the scopes, operationId, x-scopes. */
static json_t *operation(json_t *op, const char *fallback_id,
			 const char *fallback_summary, const char *tag)
{
	const char *name = json_string_value(json_object_get(op, "name"));
	const char *sum = json_string_value(json_object_get(op, "summary"));
	json_t *scopes = json_object_get(op, "scopes");
	json_t *o = json_object();

	json_object_set_new(o, "operationId",
			    json_string(name ? name : fallback_id));
	json_object_set_new(o, "summary",
			    json_string(sum ? sum : fallback_summary));
	json_object_set_new(o, "tags", json_pack("[s]", tag));
	if (json_is_array(scopes)) {
		char d[256] = "Scopes that may call it (the node checks): ";
		size_t i, n = strlen(d);
		json_t *s;
		json_array_foreach(scopes, i, s) {
			const char *v = json_string_value(s);
			if (v && n + strlen(v) + 3 < sizeof(d))
				n += (size_t)snprintf(d + n, sizeof(d) - n,
						      "%s%s", i ? ", " : "", v);
		}
		json_object_set_new(o, "description", json_string(d));
		json_object_set_new(o, "x-scopes", json_deep_copy(scopes));
	}
	return o;
}

/* The body is the operation's options; an empty body is {}, so it is
 * required only when some option is. */
static void body_of(json_t *o, json_t *op)
{
	json_t *req = json_object_get(json_object_get(op, "options"),
				      "required");

	json_object_set_new(o, "requestBody", json_pack(
		"{s:b, s:{s:{s:o}}}", "required", json_array_size(req) > 0,
		"content", "application/json", "schema", options_of(op)));
}

/* The options' properties as query parameters. */
static json_t *query_params(json_t *op, json_t *extra)
{
	json_t *opts = json_object_get(op, "options");
	json_t *props = json_object_get(opts, "properties");
	json_t *req = json_object_get(opts, "required");
	json_t *arr = json_array(), *v;
	const char *k;

	json_object_foreach(props, k, v) {
		bool required = false;
		size_t i;
		json_t *r;
		json_array_foreach(req, i, r)
			if (json_is_string(r) && !strcmp(json_string_value(r), k))
				required = true;
		json_array_append_new(arr, json_pack(
			"{s:s, s:s, s:b, s:O}", "name", k, "in", "query",
			"required", required, "schema", v));
	}
	if (extra)
		json_array_append_new(arr, extra);
	return arr;
}

static json_t *id_param(void)
{
	return ref("#/components/parameters/ReferralId");
}

static json_t *idem_param(void)
{
	return ref("#/components/parameters/IdempotencyKey");
}

static json_t *components(void)
{
	return json_pack(
		"{s:{s:{s:s, s:s, s:s}},"
		" s:{s:{s:s, s:s, s:[s,s,s,s,s], s:{s:{s:s}, s:{s:s},"
		"  s:{s:s}, s:{s:s}, s:{s:s, s:[s]}}}},"
		" s:{s:{s:s, s:{s:{s:o}}}},"
		" s:{s:{s:s, s:s, s:b, s:s, s:{s:s, s:s}},"
		"    s:{s:s, s:s, s:b, s:s, s:{s:s, s:i, s:i}}}}",
		"securitySchemes", "bearer", "type", "http", "scheme",
		"bearer", "description", "a token made at the node "
		"(refctl token create); its scope is court, labour, staff or "
		"admin",
		"schemas", "Problem", "type", "object", "description",
		"RFC 9457 problem details, with a stable code",
		"required", "type", "title", "status", "detail", "code",
		"properties", "type", "type", "string", "title", "type",
		"string", "status", "type", "integer", "detail", "type",
		"string", "code", "type", "string", "examples",
		"REF_E_FORBIDDEN",
		"responses", "Problem", "description", "the call failed and "
		"nothing changed, or the node refused it", "content",
		"application/problem+json", "schema",
		ref("#/components/schemas/Problem"),
		"parameters", "ReferralId", "name", "id", "in", "path",
		"required", 1, "description", "a referral id", "schema",
		"type", "string", "pattern", "^[0-9]{6}-[0-9a-f]{32}$",
		"IdempotencyKey", "name", "Idempotency-Key", "in", "header",
		"required", 0, "description", "a retry with the same key "
		"gets the first answer, and is applied once", "schema",
		"type", "string", "minLength", 1, "maxLength", 255);
}

json_t *gw_openapi_build(json_t *ops)
{
	json_t *doc, *paths, *p, *o, *op;
	size_t i;

	if (!json_is_array(ops))
		return NULL;
	doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:[{s:[]}]}",
			"openapi", "3.1.0",
			"info", "title", "referral-gw", "version", GW_VERSION,
			"description", "The HTTP gateway of a county's legal-aid "
			"referral node. Every call but this document carries "
			"Authorization: Bearer TOKEN, which the node "
			"authenticates; errors are application/problem+json.",
			"security", "bearer");
	paths = json_object();

	/* /v1/referrals: submit and list. */
	p = json_object();
	op = first_of_kind(ops, "submit");
	o = operation(op, "submit", "Sends a referral to another node",
		      "referrals");
	json_object_set_new(o, "parameters", json_pack("[o]", idem_param()));
	body_of(o, op);
	json_object_set_new(o, "responses", responses(
		"201", "the node has stored the referral; Location names it",
		json_pack("{s:s, s:{s:{s:s}}}", "type", "object", "properties",
			  "referral_id", "type", "string"), NULL));
	json_object_set_new(p, "post", o);
	op = first_of_kind(ops, "list");
	o = operation(op, "list", "Referrals of a box", "referrals");
	json_object_set_new(o, "parameters", query_params(op, NULL));
	json_object_set_new(o, "responses", responses(
		"200", "one page; next_cursor gives the next",
		json_pack("{s:s}", "type", "object"), NULL));
	json_object_set_new(p, "get", o);
	json_object_set_new(paths, "/v1/referrals", p);

	/* /v1/route: where a submit without "to" goes, and why. */
	op = first_named(ops, "route");
	if (op) {
		o = operation(op, "route", "Which centre serves an application's "
			      "matter (the directory's serves and fallback)",
			      "referrals");
		body_of(o, op);
		json_object_set_new(o, "responses", responses(
			"200", "the pick (to, how, why), or none with the "
			"candidates; nothing is sent", json_pack("{s:s}",
			"type", "object"), NULL));
		json_object_set_new(paths, "/v1/route",
				    json_pack("{s:o}", "post", o));
	}

	/* /v1/referrals/{id}: show. */
	op = first_of_kind(ops, "show");
	o = operation(op, "show", "One referral", "referrals");
	json_object_set_new(o, "parameters", json_pack(
		"[o, {s:s, s:s, s:b, s:{s:s}}]", id_param(), "name",
		"If-None-Match", "in", "header", "required", 0, "schema",
		"type", "string"));
	json_object_set_new(o, "responses", responses(
		"200", "the referral as the caller's scope may see it; ETag "
		"is a hash of this body", json_pack("{s:s}", "type", "object"),
		NULL));
	json_object_set_new(json_object_get(o, "responses"), "304",
			    json_pack("{s:s}", "description",
				      "unchanged since the ETag given"));
	json_object_set_new(paths, "/v1/referrals/{id}",
			    json_pack("{s:o}", "get", o));

	/* /v1/referrals/{id}/documents: docs. */
	op = first_named(ops, "docs");
	if (op) {
		o = operation(op, "docs", "The documents of the application "
			      "and its supplements, with their bytes",
			      "referrals");
		json_object_set_new(o, "parameters", json_pack("[o]",
								id_param()));
		json_object_set_new(o, "responses", responses(
			"200", "documents: source, type, name, size, sha256, "
			"content_base64", json_pack("{s:s}", "type", "object"),
			NULL));
		json_object_set_new(paths, "/v1/referrals/{id}/documents",
				    json_pack("{s:o}", "get", o));
	}

	/* /v1/referrals/{id}/notice: notice-data, laid out as the PDF. */
	op = first_named(ops, "notice-data");
	if (op) {
		o = operation(op, "notice", NULL, "referrals");
		/* Its own id and words: the move notice-data stays the JSON. */
		json_object_set_new(o, "operationId", json_string("notice"));
		json_object_set_new(o, "summary", json_string(
			"The notice to the applicant, as an A4 PDF (what "
			"refctl notice writes)"));
		json_object_set_new(o, "parameters", query_params(op, NULL));
		json_array_insert_new(json_object_get(o, "parameters"), 0,
				      id_param());
		json_object_set_new(o, "responses", responses(
			"200", "the notice, numbered; the same notice keeps "
			"its number", json_pack("{s:s, s:s}", "type", "string",
						"format", "binary"),
			"application/pdf"));
		json_object_set_new(paths, "/v1/referrals/{id}/notice",
				    json_pack("{s:o}", "get", o));
	}

	/* One path per move, in the node's order. */
	json_array_foreach(ops, i, op) {
		const char *k = json_string_value(json_object_get(op, "kind"));
		const char *nm = json_string_value(json_object_get(op, "name"));
		char path[160];

		if (!k || strcmp(k, "move") || !nm || strlen(nm) > 64)
			continue;
		o = operation(op, nm, nm, "moves");
		json_object_set_new(o, "parameters", json_pack(
			"[o, o]", id_param(), idem_param()));
		body_of(o, op);
		json_object_set_new(o, "responses", responses(
			"200", "the move is made (or, with a note, waits for "
			"the other side's confirmation)",
			json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "type",
				  "object", "properties", "referral_id",
				  "type", "string", "state", "type",
				  "string"), NULL));
		snprintf(path, sizeof(path), "/v1/referrals/{id}/%s", nm);
		json_object_set_new(paths, path, json_pack("{s:o}", "post", o));
	}

	/* /v1/events: court and labour events, and the long poll. */
	p = json_object();
	op = first_of_kind(ops, "event");
	o = operation(op, "event", "Records a court or labour event",
		      "events");
	json_object_set_new(o, "parameters", json_pack("[o]", idem_param()));
	body_of(o, op);
	json_object_set_new(o, "responses", responses(
		"201", "the event is stored", json_pack(
			"{s:s, s:{s:{s:s}, s:{s:s}}}", "type", "object",
			"properties", "event_id", "type", "string",
			"referral_id", "type", "string"), NULL));
	json_object_set_new(p, "post", o);
	op = first_of_kind(ops, "events");
	o = operation(op, "events", "Events after a cursor; waits for one",
		      "events");
	json_object_set_new(o, "parameters", query_params(op, json_pack(
		"{s:s, s:s, s:b, s:s, s:{s:s, s:i}}", "name", "wait", "in",
		"query", "required", 0, "description", "seconds to wait for "
		"an event when there is none yet (cut to the gateway's "
		"long_poll_max_s)", "schema", "type", "integer", "minimum",
		0)));
	json_object_set_new(o, "responses", responses(
		"200", "the events after cursor (none if the wait ended); "
		"next_cursor continues", json_pack("{s:s}", "type", "object"),
		NULL));
	json_object_set_new(p, "get", o);
	json_object_set_new(paths, "/v1/events", p);

	/* /v1/calendar/due: a period's due day (a node that has it). */
	op = gw_node_op_find(ops, "calendar-due");
	if (op) {
		o = operation(op, "calendar-due", "The due day of a period, "
			      "counted as the node's clocks count", "calendar");
		json_object_set_new(o, "parameters", query_params(op, NULL));
		json_object_set_new(o, "responses", responses(
			"200", "due_day (the local day the period ends, at "
			"24:00), due (UTC) and due_local", json_pack(
			"{s:s}", "type", "object"), NULL));
		json_object_set_new(paths, "/v1/calendar/due",
				    json_pack("{s:o}", "get", o));
	}

	/* The gateway's own. */
	json_object_set_new(paths, "/openapi.json", json_pack(
		"{s:{s:s, s:s, s:[s], s:[], s:o}}", "get", "operationId",
		"openapi", "summary", "This document (no token needed)",
		"tags", "gateway", "security", "responses", responses(
			"200", "OpenAPI 3.1", json_pack("{s:s}", "type",
							"object"), NULL)));
	json_object_set_new(paths, "/metrics", json_pack(
		"{s:{s:s, s:s, s:[s], s:s, s:o}}", "get", "operationId",
		"metrics", "summary", "Prometheus text format: the node's "
		"queues, latency, receipts, overdue, store and peers, and the "
		"gateway's requests by status", "tags", "gateway",
		"description", "admin scope", "responses", responses(
			"200", "metrics", json_pack("{s:s}", "type",
						    "string"),
			"text/plain; version=0.0.4")));
	json_object_set_new(paths, "/console/", json_pack(
		"{s:{s:s, s:s, s:[s], s:s, s:o}}", "get", "operationId",
		"console", "summary", "The admin console (HTML)", "tags",
		"gateway", "description", "admin scope: a login form sets a "
		"session cookie, or the Authorization header",
		"responses", console_responses()));

	json_object_set_new(doc, "paths", paths);
	json_object_set_new(doc, "components", components());
	return doc;
}
