/* test-gw.c: unit tests of referral-gw's parts that need no node and no
 * socket: the settings table, the idempotency request id, the map from
 * node results to HTTP, the OpenAPI document made from a table of
 * operations, HTML escaping, the metrics text, and the console's sessions
 * and login slowing. The gateway against real nodes is an integration
 * test's (tests/). Exits non-zero on the first failed check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "gw-conf.h"
#include "gw-html.h"
#include "gw-metrics.h"
#include "gw-node.h"
#include "gw-openapi.h"
#include "gw-session.h"

static int checks;

#define CHECK(cond) do { \
	checks++; \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: FAIL %s\n", __FILE__, __LINE__, #cond); \
		exit(1); \
	} \
} while (0)

static void test_conf(void)
{
	gw_conf_t c;
	char err[600];

	CHECK(gw_conf_parse_text("", &c, err, sizeof(err)) == 0);
	CHECK(!strcmp(c.listen, "127.0.0.1:8470"));
	CHECK(c.max_body_bytes == 8 << 20 && c.long_poll_max_s == 30);
	CHECK(gw_conf_parse_text("[http]\nmax_body_bytes = 12\n", &c, err,
				 sizeof(err)) == REF_E_CONFIG);
	CHECK(strstr(err, "max_body_bytes") && strstr(err, "outside"));
	CHECK(gw_conf_parse_text("[node]\nlong_poll_max_s = soon\n", &c, err,
				 sizeof(err)) == REF_E_CONFIG);
	CHECK(strstr(err, "long_poll_max_s"));
	CHECK(gw_conf_parse_text("[http]\nlisten_on = x\n", &c, err,
				 sizeof(err)) == REF_E_CONFIG);
	CHECK(strstr(err, "listen_on") && strstr(err, "not a known"));
	CHECK(gw_conf_parse_text("[tls]\ntls_cert = /x.pem\n", &c, err,
				 sizeof(err)) == REF_E_CONFIG);
	CHECK(strstr(err, "tls_key"));
	CHECK(gw_conf_parse_text("[http]\nlisten = 127.0.0.1\n", &c, err,
				 sizeof(err)) == REF_E_CONFIG);
	CHECK(strstr(err, "listen"));
	CHECK(gw_conf_parse_text("[http]\nlisten = [::1]:9000\n[console]\n"
				 "login_fail_max = 3\n", &c, err,
				 sizeof(err)) == 0);
	CHECK(c.login_fail_max == 3);
	CHECK(gw_conf_set(&c, "listen", "127.0.0.1:70000", err,
			  sizeof(err)) == 0);
	CHECK(gw_conf_check(&c, err, sizeof(err)) == REF_E_CONFIG);
	CHECK(gw_conf_set(&c, "nope", "1", err, sizeof(err)) == REF_E_CONFIG);
	{
		char h[64], p[8];
		CHECK(gw_conf_split_listen("[::1]:8470", h, sizeof(h), p,
					   sizeof(p)) == 0);
		CHECK(!strcmp(h, "::1") && !strcmp(p, "8470"));
		CHECK(gw_conf_split_listen("::1:8470", h, sizeof(h), p,
					   sizeof(p)) != 0);
		CHECK(gw_conf_split_listen("localhost:1", h, sizeof(h), p,
					   sizeof(p)) == 0);
	}
}

static void test_request_id(void)
{
	char a[33], b[33], c[33];

	gw_node_request_id("tokA", "key-1", a);
	gw_node_request_id("tokA", "key-1", b);
	gw_node_request_id("tokB", "key-1", c);
	CHECK(strlen(a) == 32 && !strcmp(a, b) && strcmp(a, c));
	/* The separator keeps ("ab","c") and ("a","bc") apart. */
	gw_node_request_id("ab", "c", b);
	gw_node_request_id("a", "bc", c);
	CHECK(strcmp(b, c));
}

static void test_status(void)
{
	CHECK(gw_node_http_status(0) == 200);
	CHECK(gw_node_http_status(REF_E_MALFORMED) == 400);
	CHECK(gw_node_http_status(REF_E_INVALID) == 400);
	CHECK(gw_node_http_status(REF_E_UNKNOWN_NODE) == 400);
	CHECK(gw_node_http_status(REF_E_UNAUTHENTICATED) == 401);
	CHECK(gw_node_http_status(REF_E_FORBIDDEN) == 403);
	CHECK(gw_node_http_status(REF_E_NOT_FOUND) == 404);
	CHECK(gw_node_http_status(REF_E_CONFLICT) == 409);
	CHECK(gw_node_http_status(REF_E_REFUSED) == 409);
	CHECK(gw_node_http_status(REF_E_TOO_LARGE) == 413);
	CHECK(gw_node_http_status(REF_E_STORE_FULL) == 507);
	CHECK(gw_node_http_status(REF_E_UNAVAILABLE) == 503);
	CHECK(gw_node_http_status(-ECONNREFUSED) == 503);
	CHECK(!strcmp(gw_node_code_name(REF_E_FORBIDDEN), "REF_E_FORBIDDEN"));
	CHECK(!strcmp(gw_node_code_name(-EMFILE), "REF_E_UNAVAILABLE"));
}

static const char *ops_text =
	"{\"operations\":["
	"{\"name\":\"submit\",\"kind\":\"submit\",\"scopes\":[\"staff\"],"
	" \"summary\":\"send\",\"options\":{\"type\":\"object\","
	"  \"properties\":{\"to\":{\"type\":\"string\"},"
	"  \"application\":{\"type\":\"object\"}},\"required\":[\"to\"]}},"
	"{\"name\":\"list\",\"kind\":\"list\",\"options\":{\"type\":\"object\","
	"  \"properties\":{\"box\":{\"type\":\"string\"},"
	"  \"overdue\":{\"type\":\"boolean\"}},\"required\":[\"box\"]}},"
	"{\"name\":\"accept\",\"kind\":\"move\",\"scopes\":[\"staff\",\"admin\"],"
	" \"summary\":\"accept it\",\"options\":{\"type\":\"object\"}},"
	"{\"name\":\"new-move\",\"kind\":\"move\"},"
	"{\"name\":\"status\",\"kind\":\"read\"}]}";

static void test_openapi(void)
{
	json_t *o = json_loads(ops_text, 0, NULL);
	json_t *ops = json_object_get(o, "operations");
	json_t *d1 = gw_openapi_build(ops), *d2 = gw_openapi_build(ops);
	json_t *paths = json_object_get(d1, "paths"), *p;
	char *s1 = json_dumps(d1, JSON_INDENT(2));
	char *s2 = json_dumps(d2, JSON_INDENT(2));

	CHECK(d1 && !strcmp(s1, s2));
	CHECK(!strcmp(json_string_value(json_object_get(d1, "openapi")),
		      "3.1.0"));
	CHECK(json_object_get(paths, "/v1/referrals/{id}/accept"));
	CHECK(json_object_get(paths, "/v1/referrals/{id}/new-move"));
	CHECK(!json_object_get(paths, "/v1/referrals/{id}/status"));
	CHECK(json_object_get(paths, "/v1/events"));
	p = json_object_get(json_object_get(paths, "/v1/referrals"), "get");
	CHECK(json_array_size(json_object_get(p, "parameters")) == 2);
	p = json_object_get(json_object_get(paths, "/openapi.json"), "get");
	CHECK(json_array_size(json_object_get(p, "security")) == 0);
	CHECK(gw_openapi_build(NULL) == NULL);
	free(s1);
	free(s2);
	json_decref(d1);
	json_decref(d2);
	json_decref(o);
}

static void test_html(void)
{
	gw_html_t h;
	char *body;
	size_t len;
	json_t *v = json_pack("{s:s}", "x", "<b>");

	CHECK(gw_html_open(&h, "<script>t</script>", "O'Brien & \"co\"",
			   "c<s>rf") == 0);
	gw_html(&h, "<p>%s|%U|%d|%R</p>", "<img src=x onerror=alert(1)>",
		"a b&c/é", 42, "<i>ok</i>");
	gw_html_value(&h, v);
	CHECK(gw_html_close(&h, &body, &len) == 0);
	CHECK(!strstr(body, "<script>") && !strstr(body, "<img"));
	CHECK(strstr(body, "&lt;script&gt;t&lt;/script&gt;"));
	CHECK(strstr(body, "O&#39;Brien &amp; &quot;co&quot;"));
	CHECK(strstr(body, "c&lt;s&gt;rf"));
	CHECK(strstr(body, "|a%20b%26c%2F%C3%A9|42|<i>ok</i>"));
	CHECK(strstr(body, "{&quot;x&quot;:&quot;&lt;b&gt;&quot;}"));
	free(body);
	json_decref(v);
}

/* A translated format's own text is escaped (a catalog adds no markup);
 * its %R takes a fragment, which is whole or nothing. */
static void test_html_text(void)
{
	char frag[64], tiny[8], *body;
	gw_html_t h;
	size_t len;

	CHECK(gw_html_open(&h, "t", NULL, NULL) == 0);
	gw_html_text(&h, "<i>%s & %R</i>", "<b>",
		     gw_html_frag(frag, sizeof(frag), "<a href=\"/x?id=%U\">%s"
				  "</a>", "a&b", "a&b"));
	CHECK(!strcmp(gw_html_frag(tiny, sizeof(tiny), "<b>%s</b>", "long"),
		      ""));
	CHECK(gw_html_close(&h, &body, &len) == 0);
	CHECK(strstr(body, "&lt;i&gt;&lt;b&gt; &amp; <a href=\"/x?id=a%26b\">"
		      "a&amp;b</a>&lt;/i&gt;"));
	free(body);
}

static void test_metrics(void)
{
	static _Atomic uint64_t req[600];
	json_t *m = json_loads(
		"{\"outbox\":{\"pending\":2,\"delivered\":5,\"dead\":1},"
		"\"inbox\":3,\"overdue\":1,\"store\":{\"used_bytes\":100,"
		"\"max_bytes\":1000},\"peers_up\":1,\"peers\":2,"
		"\"receipts\":{\"STORED\":4,\"REFUSED\":1},"
		"\"delivery_latency_ms\":{\"buckets\":[[10,1],[100,2],[1000,0]],"
		"\"count\":4,\"sum_ms\":900}}", 0, NULL);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	req[200] = 7;
	req[401] = 2;
	gw_metrics_render(f, m, req);
	fclose(f);
	CHECK(strstr(buf, "referral_outbox_messages{state=\"dead\"} 1\n"));
	CHECK(strstr(buf, "referral_inbox_referrals 3\n"));
	CHECK(strstr(buf, "referral_store_room_bytes 900\n"));
	CHECK(strstr(buf, "referral_receipts_total{status=\"STORED\"} 4\n"));
	/* Per-bucket counts (they fall) are summed into cumulative ones. */
	CHECK(strstr(buf, "referral_delivery_latency_seconds_bucket"
			  "{le=\"0.1\"} 3\n"));
	CHECK(strstr(buf, "referral_delivery_latency_seconds_bucket"
			  "{le=\"+Inf\"} 4\n"));
	CHECK(strstr(buf, "referral_delivery_latency_seconds_sum 0.9"));
	CHECK(strstr(buf, "referral_gw_requests_total{code=\"401\"} 2\n"));
	CHECK(strstr(buf, "referral_peers_up 1\n"));
	free(buf);
	json_decref(m);
}

static void test_sessions(void)
{
	gw_conf_t c;
	gw_sessions_t *s;
	char id[GW_SESSION_ID_LEN + 1], id2[GW_SESSION_ID_LEN + 1];
	char csrf[GW_CSRF_LEN + 1], csrf2[GW_CSRF_LEN + 1];
	char tok[GW_TOKEN_MAX + 1], name[128], got[GW_CSRF_LEN + 1];
	int64_t d;
	char err[200];

	gw_conf_parse_text("[console]\nmax_sessions = 1\nlogin_fail_max = 3\n"
			   "login_fail_delay_ms = 100\n", &c, err, sizeof(err));
	s = gw_sessions_new(&c);
	CHECK(s);
	CHECK(gw_sessions_open(s, "tokA", "alice", id, csrf) == 0);
	CHECK(strlen(id) == GW_SESSION_ID_LEN && strlen(csrf) == GW_CSRF_LEN);
	CHECK(gw_sessions_get(s, id, tok, name, got) == 0);
	CHECK(!strcmp(tok, "tokA") && !strcmp(name, "alice"));
	CHECK(gw_sessions_csrf_ok(got, csrf));
	CHECK(!gw_sessions_csrf_ok(got, "x"));
	CHECK(!gw_sessions_csrf_ok(got, NULL));
	CHECK(gw_sessions_get(s, "nope", tok, name, got) == REF_E_NOT_FOUND);
	/* One place: a second login pushes out the first. */
	CHECK(gw_sessions_open(s, "tokB", "bob", id2, csrf2) == 0);
	CHECK(gw_sessions_get(s, id, tok, name, got) == REF_E_NOT_FOUND);
	CHECK(gw_sessions_get(s, id2, tok, name, got) == 0);
	gw_sessions_close(s, id2);
	CHECK(gw_sessions_get(s, id2, tok, name, got) == REF_E_NOT_FOUND);

	CHECK(gw_sessions_login_blocked(s, "10.0.0.1") == 0);
	CHECK(gw_sessions_login_failed(s, "10.0.0.1", &d) == 1 && d == 100);
	CHECK(gw_sessions_login_failed(s, "10.0.0.1", &d) == 2 && d == 200);
	CHECK(gw_sessions_login_blocked(s, "10.0.0.1") == 0);
	CHECK(gw_sessions_login_failed(s, "10.0.0.1", &d) == 3 && d == 400);
	CHECK(gw_sessions_login_blocked(s, "10.0.0.1") > 0);
	CHECK(gw_sessions_login_blocked(s, "10.0.0.2") == 0);
	gw_sessions_login_ok(s, "10.0.0.1");
	CHECK(gw_sessions_login_blocked(s, "10.0.0.1") == 0);
	gw_sessions_free(&s);
	gw_sessions_free(&s);
	CHECK(!s);
}

int main(void)
{
	test_conf();
	test_request_id();
	test_status();
	test_openapi();
	test_html();
	test_html_text();
	test_metrics();
	test_sessions();
	printf("gw: %d checks passed\n", checks);
	return 0;
}
