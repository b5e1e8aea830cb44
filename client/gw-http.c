/* gw-http.c: see gw-http.h. */
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gw-http.h"
#include "gw-log.h"
#include "referral.h"

/* Scripts never run on any page the gateway serves; styles come only as
 * the console's own file. The same policy on JSON costs nothing and
 * keeps an answer opened in a browser inert. */
#define CSP "default-src 'self'; script-src 'none'; style-src 'self'; " \
	    "img-src 'self'; object-src 'none'; base-uri 'none'; " \
	    "form-action 'self'; frame-ancestors 'none'"

const char *gw_http_header(gw_req_t *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

const char *gw_http_cookie(gw_req_t *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_COOKIE_KIND, name);
}

const char *gw_http_query(gw_req_t *q, const char *name)
{
	return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

struct each {
	int (*fn)(void *ctx, const char *key, const char *val);
	void *ctx;
	int r;
};

static enum MHD_Result each_arg(void *cls, enum MHD_ValueKind kind,
				const char *key, const char *value)
{
	struct each *e = cls;

	(void)kind;
	e->r = e->fn(e->ctx, key, value);
	return e->r ? MHD_NO : MHD_YES;
}

int gw_http_query_each(gw_req_t *q,
		       int (*fn)(void *ctx, const char *key, const char *val),
		       void *ctx)
{
	struct each e = { fn, ctx, 0 };

	MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, each_arg, &e);
	return e.r;
}

const char *gw_http_bearer(gw_req_t *q)
{
	const char *h = gw_http_header(q, MHD_HTTP_HEADER_AUTHORIZATION);
	size_t n;

	if (!h || strncasecmp(h, "Bearer ", 7))
		return NULL;
	h += 7;
	while (*h == ' ')
		h++;
	/* RFC 6750's b64token: what a token can be, and nothing that could
	 * split a header or a log line if it were ever echoed. */
	n = strspn(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789-._~+/=");
	if (n == 0 || n > GW_TOKEN_MAX || h[n])
		return NULL;
	return h;
}

void gw_http_add_header(gw_req_t *q, const char *name, const char *value)
{
	if (q->n_hdr >= GW_MAX_HEADERS) {
		gw_log(GW_ERROR, "bug=too_many_headers name=%s", name);
		return;
	}
	q->hdr[q->n_hdr].name = strdup(name);
	q->hdr[q->n_hdr].value = strdup(value);
	if (q->hdr[q->n_hdr].name && q->hdr[q->n_hdr].value) {
		q->n_hdr++;
	} else {
		free(q->hdr[q->n_hdr].name);
		free(q->hdr[q->n_hdr].value);
	}
}

static bool has_header(gw_req_t *q, const char *name)
{
	for (size_t i = 0; i < q->n_hdr; i++)
		if (!strcasecmp(q->hdr[i].name, name))
			return true;
	return false;
}

int gw_http_send(gw_req_t *q, int status, const char *type, char *body,
		 size_t len)
{
	struct MHD_Response *resp;
	enum MHD_Result qr;

	if (q->answered) {
		gw_log(GW_ERROR, "bug=answered_twice path=%s status=%d",
		       q->path, status);
		free(body);
		return -1;
	}
	q->answered = true;
	q->status = status;
	resp = body ? MHD_create_response_from_buffer(len, body,
						      MHD_RESPMEM_MUST_FREE)
		    : MHD_create_response_from_buffer(0, NULL,
						      MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		q->queued = MHD_NO;
		return -1;
	}
	if (type && body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (q->gw->tls)
		MHD_add_response_header(resp, "Strict-Transport-Security",
					"max-age=31536000");
	if (!has_header(q, "Cache-Control"))
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	for (size_t i = 0; i < q->n_hdr; i++)
		MHD_add_response_header(resp, q->hdr[i].name, q->hdr[i].value);
	qr = MHD_queue_response(q->conn, (unsigned)status, resp);
	MHD_destroy_response(resp);
	q->queued = qr;
	return qr == MHD_YES ? 0 : -1;
}

int gw_http_json(gw_req_t *q, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (!s)
		return gw_http_send(q, 500, NULL, NULL, 0);
	return gw_http_send(q, status, "application/json", s, strlen(s));
}

const char *gw_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 507: return "Insufficient Storage";
	default: return "Error";
	}
}

int gw_http_problem(gw_req_t *q, int status, const char *code,
		    const char *fmt, ...)
{
	char detail[2048], type[128];
	va_list ap;
	json_t *o;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	snprintf(type, sizeof(type), "urn:referral-gw:problem:%s", code);
	o = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type,
		      "title", gw_http_reason(status), "status", status,
		      "detail", detail, "code", code);
	if (status == 401)
		gw_http_add_header(q, "WWW-Authenticate",
				   "Bearer realm=\"referral-gw\"");
	if (!o)   /* a detail that is not UTF-8 */
		o = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title",
			      gw_http_reason(status), "status", status,
			      "code", code);
	{
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!s)
			return gw_http_send(q, status, NULL, NULL, 0);
		return gw_http_send(q, status, "application/problem+json", s,
				    strlen(s));
	}
}

int gw_http_node_error(gw_req_t *q, int r, const char *err)
{
	return gw_http_problem(q, gw_node_http_status(r), gw_node_code_name(r),
			       "%s", err && *err ? err : ref_strerror(r));
}

int gw_http_body_json(gw_req_t *q, json_t **ret)
{
	json_error_t e;
	json_t *o;

	if (!q->body || !q->body_len) {
		*ret = json_object();
		return 0;
	}
	o = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!o) {
		gw_http_problem(q, 400, "REF_E_MALFORMED", "the body is not "
				"JSON: %s (line %d, column %d)", e.text, e.line,
				e.column);
		return -1;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		gw_http_problem(q, 400, "REF_E_MALFORMED",
				"the body must be a JSON object");
		return -1;
	}
	*ret = o;
	return 0;
}

int gw_http_check_fields(gw_req_t *q, json_t *o, json_t *schema)
{
	json_t *props = json_object_get(schema, "properties"), *v;
	const char *k;

	if (!json_is_object(props) ||
	    json_is_true(json_object_get(schema, "additionalProperties")))
		return 0;
	json_object_foreach(o, k, v) {
		if (json_object_get(props, k))
			continue;
		gw_http_problem(q, 400, "REF_E_MALFORMED", "unknown field \"%s\" "
				"in the body: the fields here are those of "
				"/openapi.json for this operation", k);
		return -1;
	}
	return 0;
}
