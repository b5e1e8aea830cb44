/* gw-server.c: see gw-server.h. One thread per connection suits what the
 * gateway does: each request waits on its node call (or a long poll) and
 * a libreferral client is not shared between threads; max_connections
 * bounds the threads, and the kernel's backlog holds the rest. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "gw-api.h"
#include "gw-console.h"
#include "gw-log.h"
#include "gw-metrics.h"
#include "gw-notice.h"
#include "gw-server.h"
#include "util.h"

struct gw_server {
	struct MHD_Daemon *mhd;
};

/* A request with the storage its borrowed strings point into. */
struct sreq {
	gw_req_t q;            /* first: a gw_req_t * is a struct sreq * */
	char peer[INET6_ADDRSTRLEN];
};

enum { A_NONE, A_BEARER };

static const struct route {
	const char *method, *pattern;
	int auth;
	int (*fn)(gw_req_t *q);
} routes[] = {
	{ "GET", "/openapi.json", A_NONE, gw_api_openapi },
	{ "GET", "/metrics", A_BEARER, gw_metrics_handle },
	{ "POST", "/v1/referrals", A_BEARER, gw_api_submit },
	{ "POST", "/v1/route", A_BEARER, gw_api_route },
	{ "GET", "/v1/referrals", A_BEARER, gw_api_list },
	{ "GET", "/v1/referrals/{id}", A_BEARER, gw_api_show },
	{ "GET", "/v1/referrals/{id}/documents", A_BEARER, gw_api_docs },
	{ "GET", "/v1/referrals/{id}/notice", A_BEARER, gw_notice_pdf },
	{ "POST", "/v1/referrals/{id}/{op}", A_BEARER, gw_api_move },
	{ "POST", "/v1/events", A_BEARER, gw_api_event },
	{ "GET", "/v1/events", A_BEARER, gw_api_events },
	{ "GET", "/v1/calendar/due", A_BEARER, gw_api_calendar_due },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* path against pattern, segment by segment; a {name} segment takes one
 * path segment of id characters into param[]. */
static bool match(const char *pattern, const char *path, char param[2][128])
{
	int np = 0;

	while (*pattern && *path) {
		if (*pattern == '{') {
			size_t n = strspn(path, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "abcdefghijklmnopqrstuvwxyz"
					  "0123456789-_.");
			if (n == 0 || n >= 128 || (path[n] && path[n] != '/') ||
			    np >= 2)
				return false;
			memcpy(param[np], path, n);
			param[np++][n] = 0;
			path += n;
			pattern = strchr(pattern, '}') + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return !*pattern && !*path;
}

/* The route's own check: a well-formed bearer token that the node
 * knows. who is also what the log line names. */
static int authenticate(gw_req_t *q)
{
	char err[2048];
	int r;

	q->token = gw_http_bearer(q);
	if (!q->token)
		return gw_http_problem(q, 401, "REF_E_UNAUTHENTICATED",
				       gw_http_header(q, "Authorization")
				       ? "the Authorization header is not "
					 "\"Bearer TOKEN\" with a well-formed "
					 "token"
				       : "this call needs an Authorization: "
					 "Bearer TOKEN header"), -1;
	r = gw_node_whoami(q->gw->node, q->token, &q->who, err, sizeof(err));
	if (r)
		return gw_http_node_error(q, r, err), -1;
	q->who_known = true;
	return 0;
}

static void dispatch(gw_req_t *q)
{
	const struct route *rt = NULL;
	char allow[64] = "";

	if (!strcmp(q->path, "/console") || !strncmp(q->path, "/console/", 9)) {
		gw_console_handle(q);
		return;
	}
	for (size_t i = 0; i < N_ROUTES; i++) {
		char param[2][128];
		if (!match(routes[i].pattern, q->path, param))
			continue;
		if (strcmp(routes[i].method, q->method)) {
			size_t n = strlen(allow);
			snprintf(allow + n, sizeof(allow) - n, "%s%s",
				 n ? ", " : "", routes[i].method);
			continue;
		}
		rt = &routes[i];
		memcpy(q->param, param, sizeof(param));
		break;
	}
	if (!rt && allow[0]) {
		gw_http_add_header(q, "Allow", allow);
		gw_http_problem(q, 405, "REF_E_INVALID", "%s is not allowed "
				"here; allowed: %s", q->method, allow);
		return;
	}
	if (!rt) {
		gw_http_problem(q, 404, "REF_E_NOT_FOUND", "no such path: the "
				"paths are listed in /openapi.json");
		return;
	}
	if (rt->auth == A_BEARER && authenticate(q))
		return;
	rt->fn(q);
}

static void peer_of(struct MHD_Connection *c, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, len, "?");
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			  out, (socklen_t)len);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
			  (socklen_t)len);
}

static void too_large(gw_req_t *q)
{
	gw_http_problem(q, 413, "REF_E_TOO_LARGE", "the body is larger than "
			"this gateway's max_body_bytes (%lld)",
			(long long)q->gw->conf.max_body_bytes);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	gw_t *gw = cls;
	struct sreq *s = *con_cls;
	gw_req_t *q;

	(void)version;
	if (!s) {
		const char *cl;
		s = calloc(1, sizeof(*s));
		if (!s)
			return MHD_NO;
		q = &s->q;
		q->gw = gw;
		q->conn = conn;
		q->start_ms = util_mono_ms();
		/* MHD leaves out the body of a HEAD's answer itself. */
		q->method = !strcmp(method, "HEAD") ? "GET" : method;
		q->path = url;
		peer_of(conn, s->peer, sizeof(s->peer));
		q->peer = s->peer;
		*con_cls = s;
		/* Too large by its Content-Length. A client that waits for
		 * "100 Continue", or one that announces more than a drain is
		 * worth (64 MiB), is answered before a byte of the body is read
		 * (MHD then closes the connection). Any other is answered once
		 * its body has been read and dropped: closing under a client
		 * still sending would reset its connection before it reads the
		 * 413. */
		cl = gw_http_header(q, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) >
			  (unsigned long long)gw->conf.max_body_bytes) {
			const char *ex = gw_http_header(q, MHD_HTTP_HEADER_EXPECT);
			q->too_large = true;
			if ((ex && !strcasecmp(ex, "100-continue")) ||
			    strtoull(cl, NULL, 10) > (64ull << 20)) {
				too_large(q);
				return q->queued ? MHD_YES : MHD_NO;
			}
		}
		return MHD_YES;
	}
	q = &s->q;
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (q->too_large || q->answered) {
			/* Dropped; past 64 MiB the connection is closed. */
			q->drained += n;
			return q->drained > (64u << 20) ? MHD_NO : MHD_YES;
		}
		if (q->body_len + n > (size_t)gw->conf.max_body_bytes) {
			q->too_large = true;
			q->drained = q->body_len + n;
			return MHD_YES;
		}
		if (q->body_len + n + 1 > q->body_cap) {
			size_t cap = (q->body_len + n + 1) * 2;
			char *b;
			if (cap > (size_t)gw->conf.max_body_bytes + 1)
				cap = (size_t)gw->conf.max_body_bytes + 1;
			b = realloc(q->body, cap);
			if (!b)
				return MHD_NO;
			q->body = b;
			q->body_cap = cap;
		}
		memcpy(q->body + q->body_len, upload, n);
		q->body_len += n;
		q->body[q->body_len] = 0;
		return MHD_YES;
	}
	if (q->answered)
		return MHD_YES;
	if (q->too_large)
		too_large(q);
	else
		dispatch(q);
	if (!q->answered)   /* a handler's own failure to answer */
		gw_http_problem(q, 500, "REF_E_INVALID", "no answer was made");
	return q->queued == MHD_YES ? MHD_YES : MHD_NO;
}

/* What the log may show of a path: ids and names are made of these;
 * anything else (in a path no route knows) becomes '?'. */
static void loggable(const char *in, char *out, size_t len)
{
	size_t i = 0;

	for (; in && *in && i + 1 < len; in++)
		out[i++] = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
				  "qrstuvwxyz0123456789/-_.~", *in) ? *in : '?';
	out[i] = 0;
}

struct keys {
	char buf[128];
	size_t n;
};

static int one_key(void *ctx, const char *key, const char *val)
{
	struct keys *k = ctx;
	char clean[40];

	(void)val;
	loggable(key, clean, sizeof(clean));
	if (k->n + strlen(clean) + 2 < sizeof(k->buf))
		k->n += (size_t)snprintf(k->buf + k->n, sizeof(k->buf) - k->n,
					 "%s%s", k->n ? "," : "", clean);
	return 0;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct sreq *s = *con_cls;
	gw_req_t *q;
	char path[160], name[sizeof(((gw_who_t *)0)->name)] = "-";
	struct keys k = { "", 0 };

	(void)cls;
	(void)conn;
	if (!s)
		return;
	q = &s->q;
	if (q->status >= 100 && q->status < 600)
		atomic_fetch_add(&q->gw->requests[q->status], 1);
	loggable(q->path, path, sizeof(path));
	gw_http_query_each(q, one_key, &k);
	if (q->who_known && q->who.name[0])
		snprintf(name, sizeof(name), "%s", q->who.name);
	for (char *p = name; *p; p++)   /* one token in the line */
		if (*p == ' ' || *p == '=')
			*p = '_';
	gw_log(GW_INFO, "request method=%s path=%s%s%s status=%d ms=%llu "
	       "token=%s%s", q->method, path, k.n ? " query=" : "", k.buf,
	       q->status, (unsigned long long)(util_mono_ms() - q->start_ms),
	       name, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
	       : " incomplete=1");
	free(q->body);
	for (size_t i = 0; i < q->n_hdr; i++) {
		free(q->hdr[i].name);
		free(q->hdr[i].value);
	}
	free(s);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	gw_log(GW_WARN, "http \"%s\"", line);
}

int gw_server_start(gw_t *gw, const char *cert_pem, const char *key_pem,
		    gw_server_t **ret, char *err, size_t errlen)
{
	char host[256], port[8];
	struct addrinfo hints = { 0 }, *ai = NULL;
	struct MHD_OptionItem opts[12];
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_INTERNAL_POLLING_THREAD |
			     MHD_USE_ERROR_LOG | MHD_USE_AUTO;
	unsigned int timeout_s = (unsigned)((gw->conf.request_timeout_ms + 999)
					    / 1000);
	gw_server_t *s;
	size_t n = 0;
	int r;

	if (gw_conf_split_listen(gw->conf.listen, host, sizeof(host), port,
				 sizeof(port))) {
		snprintf(err, errlen, "listen = \"%s\" is not HOST:PORT",
			 gw->conf.listen);
		return REF_E_CONFIG;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	r = getaddrinfo(host, port, &hints, &ai);
	if (r) {
		snprintf(err, errlen, "listen = \"%s\": %s", gw->conf.listen,
			 gai_strerror(r));
		return REF_E_CONFIG;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cert_pem) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			freeaddrinfo(ai);
			snprintf(err, errlen, "tls_cert is set, but this "
				 "libmicrohttpd has no TLS");
			return REF_E_CONFIG;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY,
			0, (void *)key_pem };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT,
			0, (void *)cert_pem };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0,
		ai->ai_addr };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT,
		(intptr_t)gw->conf.max_connections, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT,
		(intptr_t)timeout_s, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	s = calloc(1, sizeof(*s));
	if (!s) {
		freeaddrinfo(ai);
		return -ENOMEM;
	}
	s->mhd = MHD_start_daemon(flags, (uint16_t)atoi(port), NULL, NULL,
				  on_request, gw,
				  MHD_OPTION_EXTERNAL_LOGGER, mhd_log, gw,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, gw,
				  MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	r = errno;
	freeaddrinfo(ai);
	if (!s->mhd) {
		free(s);
		snprintf(err, errlen, "cannot listen on %s (%s): taken, not "
			 "this machine's address, or the TLS certificate and "
			 "key do not load", gw->conf.listen,
			 r ? strerror(r) : "see the line above");
		return r ? -r : REF_E_CONFIG;
	}
	*ret = s;
	return 0;
}

void gw_server_stop(gw_server_t **sp)
{
	gw_server_t *s = sp ? *sp : NULL;

	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
	*sp = NULL;
}
