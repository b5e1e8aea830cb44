/* gw-console.c: see gw-console.h. Who the caller is, the login and
 * logout, the requeue with its confirmation, the style sheet, and the
 * table of console paths; the read-only pages are gw-console-pages.c. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "gw-console-css.h"
#include "gw-console-pages.h"
#include "gw-console.h"
#include "gw-log.h"
#include "gw-session.h"
#include "i18n.h"
#include "util.h"

#define COOKIE "refgw_session"
#define ERRLEN 2048

/* A field of an application/x-www-form-urlencoded body into out
 * (decoded); false if absent or too long. */
static bool form_get(const char *body, const char *key, char *out,
		     size_t outlen)
{
	size_t kl = strlen(key);
	const char *p = body;

	while (p && *p) {
		const char *end = strchr(p, '&');
		size_t n = 0;
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > kl && !strncmp(p, key, kl) &&
		    p[kl] == '=') {
			for (const char *s = p + kl + 1; s < end; s++) {
				unsigned int c = (unsigned char)*s;
				if (c == '+') {
					c = ' ';
				} else if (c == '%' && end - s > 2 &&
					   sscanf(s + 1, "%2x", &c) == 1) {
					s += 2;
				}
				if (n + 1 >= outlen || c == 0)
					return false;
				out[n++] = (char)c;
			}
			out[n] = 0;
			return true;
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

static int see_other(gw_req_t *q, const char *to)
{
	gw_http_add_header(q, "Location", to);
	return gw_http_send(q, 303, NULL, NULL, 0);
}

static void set_cookie(gw_req_t *q, const char *id, int64_t max_age)
{
	char c[256];

	snprintf(c, sizeof(c), COOKIE "=%s; Path=/console/; Max-Age=%lld; "
		 "HttpOnly; SameSite=Strict%s", id, (long long)max_age,
		 q->gw->tls ? "; Secure" : "");
	gw_http_add_header(q, "Set-Cookie", c);
}

/* Who is calling: the Authorization header, or else the session cookie.
 * Returns 0 with *w set, or answers (a redirect to the login for a GET
 * without either, 401 or 403 otherwise) and returns -1. tok holds a
 * session's token for the length of the request. */
static int who(gw_req_t *q, gw_console_who_t *w, char tok[GW_TOKEN_MAX + 1])
{
	const char *bearer = gw_http_bearer(q);
	char err[ERRLEN];
	int r;

	memset(w, 0, sizeof(*w));
	w->q = q;
	if (bearer) {
		gw_who_t me;
		r = gw_node_whoami(q->gw->node, bearer, &me, err, sizeof(err));
		if (r)
			return gw_console_pages_message(q, NULL,
				gw_node_http_status(r), _("Not logged in"),
				"error", i18n_detail(err)), -1;
		w->token = bearer;
		snprintf(w->name, sizeof(w->name), "%s", me.name);
		q->who = me;
		q->who_known = true;
		if (strcmp(me.scope, "admin"))
			return gw_console_pages_message(q, w, 403,
				_("Forbidden"), "error", _("The console needs a "
				"token of admin scope.")), -1;
		return 0;
	}
	if (gw_sessions_get(q->gw->sessions, gw_http_cookie(q, COOKIE), tok,
			    w->name, w->csrf)) {
		if (!strcmp(q->method, "GET"))
			return see_other(q, "/console/login"), -1;
		return gw_console_pages_message(q, NULL, 401,
			_("Not logged in"), "error",
			_("Your session has ended: log in again.")), -1;
	}
	w->token = tok;
	w->session = true;
	snprintf(q->who.name, sizeof(q->who.name), "%s", w->name);
	q->who_known = true;
	return 0;
}

/* A POST made through a session must carry its CSRF token; one made
 * with the Authorization header cannot be forged by another site. */
static bool csrf_ok(gw_console_who_t *w)
{
	char got[GW_CSRF_LEN + 1];

	if (!w->session)
		return true;
	return w->q->body && form_get(w->q->body, "csrf", got, sizeof(got)) &&
	       gw_sessions_csrf_ok(w->csrf, got);
}

static int login_page(gw_req_t *q, int status, const char *msg)
{
	gw_html_t h;
	char *body;
	size_t len;

	if (gw_html_open(&h, _("Log in"), NULL, NULL))
		return gw_http_send(q, 500, NULL, NULL, 0);
	if (msg)
		gw_html(&h, "<p class=\"error\">%s</p>\n", msg);
	gw_html(&h, "<form class=\"box\" method=\"post\" "
		"action=\"/console/login\">"
		"<label for=\"token\">%s</label>"
		"<input id=\"token\" type=\"password\" name=\"token\" "
		"autocomplete=\"current-password\" required autofocus>"
		"<p><button>%s</button></p><p class=\"muted\">",
		_("Token (admin scope)"), _("Log in"));
	gw_html_text(&h, N_("A token is made at the node: %R."),
		     "<code>refctl token create --name NAME --scope admin</code>");
	gw_html(&h, "</p></form>\n");
	if (gw_html_close(&h, &body, &len))
		return gw_http_send(q, 500, NULL, NULL, 0);
	return gw_http_send(q, status, "text/html; charset=utf-8", body, len);
}

static int login_post(gw_req_t *q)
{
	gw_sessions_t *s = q->gw->sessions;
	char tok[GW_TOKEN_MAX + 1], err[ERRLEN], id[GW_SESSION_ID_LEN + 1];
	char csrf[GW_CSRF_LEN + 1];
	int64_t wait = gw_sessions_login_blocked(s, q->peer), delay;
	gw_who_t me;
	int r = REF_E_UNAUTHENTICATED, n;

	if (wait) {
		char ra[32];
		snprintf(ra, sizeof(ra), "%lld", (long long)wait);
		gw_http_add_header(q, "Retry-After", ra);
		gw_log(GW_WARN, "login_refused addr=%s retry_after_s=%lld",
		       q->peer, (long long)wait);
		return login_page(q, 429, _("Too many failed logins from your "
				  "address: try again later."));
	}
	/* A token is what a bearer header could carry, or it is wrong. */
	if (q->body && form_get(q->body, "token", tok, sizeof(tok)) && *tok &&
	    strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-._~+/=") == strlen(tok))
		r = gw_node_whoami(q->gw->node, tok, &me, err, sizeof(err));
	if (r == REF_E_UNAUTHENTICATED || r == REF_E_INVALID ||
	    r == REF_E_MALFORMED) {
		n = gw_sessions_login_failed(s, q->peer, &delay);
		gw_log(GW_WARN, "login_failed addr=%s failures=%d delay_ms=%lld",
		       q->peer, n, (long long)delay);
		nanosleep(&(struct timespec){ delay / 1000,
					      (delay % 1000) * 1000000L },
			  NULL);
		return login_page(q, 401, _("That token was not accepted."));
	}
	if (r)
		return gw_console_pages_message(q, NULL,
			gw_node_http_status(r), _("The node cannot be asked"),
			"error", i18n_detail(err));
	q->who = me;
	q->who_known = true;
	if (strcmp(me.scope, "admin")) {
		gw_log(GW_WARN, "login_forbidden addr=%s token=%s scope=%s",
		       q->peer, me.name, me.scope);
		return login_page(q, 403, _("That token is not of admin scope."));
	}
	gw_sessions_login_ok(s, q->peer);
	r = gw_sessions_open(s, tok, me.name, id, csrf);
	if (r)
		return gw_console_pages_message(q, NULL, 500, _("Log in"),
			"error", _("No session can be made now."));
	gw_log(GW_INFO, "login addr=%s token=%s", q->peer, me.name);
	set_cookie(q, id, q->gw->conf.session_ttl_s);
	return see_other(q, "/console/");
}

static int logout(gw_req_t *q, gw_console_who_t *w)
{
	if (w->session) {
		if (!csrf_ok(w))
			return gw_console_pages_message(q, w, 403,
				_("Log out"), "error", _("The form was stale: "
				"log out again from a fresh page."));
		gw_sessions_close(q->gw->sessions, gw_http_cookie(q, COOKIE));
		set_cookie(q, "", 0);
	}
	return see_other(q, "/console/login");
}

static int bad_id(gw_req_t *q, gw_console_who_t *w, const char *id)
{
	if (id && util_referral_id_valid(id))
		return 0;
	gw_console_pages_message(q, w, 400, _("No such referral"), "error",
				 _("A referral id looks like "
				   "350581-0192f0c2a7e47d3c8b5e6f1a2b3c4d5e."));
	return -1;
}

static int requeue_confirm(gw_req_t *q, gw_console_who_t *w)
{
	const char *id = gw_http_query(q, "id");
	char link[512];
	gw_html_t h;

	if (bad_id(q, w, id))
		return -1;
	if (gw_html_open(&h, _("Requeue a dead letter"), w->name,
			 w->session ? w->csrf : NULL))
		return gw_http_send(q, 500, NULL, NULL, 0);
	gw_html(&h, "<p>");
	gw_html_text(&h, N_("Send the dead messages of referral %R again? Each "
			   "is signed anew and sent as a new message; the dead "
			   "one will point to it."),
		     gw_html_frag(link, sizeof(link), "<a href=\"/console/"
				  "referral?id=%U\">%s</a>", id, id));
	gw_html(&h, "</p>\n"
		"<form class=\"box\" method=\"post\" action=\"/console/requeue\">"
		"<input type=\"hidden\" name=\"id\" value=\"%s\">"
		"<input type=\"hidden\" name=\"csrf\" value=\"%s\">"
		"<button class=\"danger\">%s</button> "
		"<a href=\"/console/dead\">%s</a></form>\n", id, w->csrf,
		_("Requeue"), _("Cancel"));
	return gw_console_pages_send(w, &h, 200);
}

static int requeue_do(gw_req_t *q, gw_console_who_t *w)
{
	char id[128], err[ERRLEN];
	json_t *o, *arr, *m;
	gw_html_t h;
	size_t i;
	int r;

	if (!csrf_ok(w))
		return gw_console_pages_message(q, w, 403, _("Requeue"),
			"error", _("The form was stale or came from elsewhere: "
			"nothing was requeued. Open the dead letters again."));
	if (!q->body || !form_get(q->body, "id", id, sizeof(id)) ||
	    bad_id(q, w, id))
		return q->answered ? -1 : bad_id(q, w, NULL);
	r = gw_console_pages_call(w, "requeue", id, NULL, &o, err, sizeof(err));
	if (r)
		return gw_console_pages_message(q, w, gw_node_http_status(r),
						_("Requeue"), "error",
						i18n_detail(err));
	gw_log(GW_INFO, "requeue referral_id=%s token=%s", id, w->name);
	if (gw_html_open(&h, _("Requeued"), w->name,
			 w->session ? w->csrf : NULL)) {
		json_decref(o);
		return gw_http_send(q, 500, NULL, NULL, 0);
	}
	arr = json_object_get(o, "requeued");
	if (!json_array_size(arr)) {
		gw_html(&h, "<p class=\"note\">");
		gw_html_text(&h, N_("Referral %s had no dead message left to "
				   "send."), id);
		gw_html(&h, "</p>\n");
	} else {
		gw_html(&h, "<table>\n<tr><th>%s</th><th>%s</th></tr>\n",
			_("Dead message"), _("Sent again as"));
	}
	json_array_foreach(arr, i, m) {
		gw_html(&h, "<tr><td>");
		gw_html_value(&h, json_object_get(m, "msg_id"));
		gw_html(&h, "</td><td>");
		gw_html_value(&h, json_object_get(m, "sent_as"));
		gw_html(&h, "</td></tr>\n");
	}
	if (json_array_size(arr))
		gw_html(&h, "</table>\n");
	gw_html(&h, "<p><a href=\"/console/referral?id=%U\">%s</a> \xc2\xb7 "
		"<a href=\"/console/dead\">%s</a></p>\n", id,
		_("Back to the referral"), _("Dead letters"));
	json_decref(o);
	return gw_console_pages_send(w, &h, 200);
}

static int css(gw_req_t *q)
{
	char *s = strdup(GW_CONSOLE_CSS);

	gw_http_add_header(q, "Cache-Control", "public, max-age=300");
	return gw_http_send(q, 200, "text/css; charset=utf-8", s,
			    s ? strlen(s) : 0);
}

enum { OPEN, AUTH };

static const struct page {
	const char *method, *path;
	int need;
	int (*fn)(gw_req_t *q, gw_console_who_t *w);
} pages[] = {
	{ "GET", "/console/", AUTH, NULL },
	{ "GET", "/console/overdue", AUTH, NULL },
	{ "GET", "/console/dead", AUTH, NULL },
	{ "GET", "/console/referral", AUTH, NULL },
	{ "GET", "/console/requeue", AUTH, requeue_confirm },
	{ "POST", "/console/requeue", AUTH, requeue_do },
	{ "POST", "/console/logout", AUTH, logout },
	{ "GET", "/console/login", OPEN, NULL },
	{ "POST", "/console/login", OPEN, NULL },
	{ "GET", "/console/style.css", OPEN, NULL },
};

static int read_page(gw_req_t *q, gw_console_who_t *w)
{
	const char *id;

	if (!strcmp(q->path, "/console/"))
		return gw_console_pages_overview(w);
	if (!strcmp(q->path, "/console/overdue"))
		return gw_console_pages_overdue(w);
	if (!strcmp(q->path, "/console/dead"))
		return gw_console_pages_dead(w);
	id = gw_http_query(q, "id");
	if (bad_id(q, w, id))
		return -1;
	return gw_console_pages_referral(w, id);
}

int gw_console_handle(gw_req_t *q)
{
	const struct page *pg = NULL;
	char tok[GW_TOKEN_MAX + 1];
	gw_console_who_t w;
	bool path_known = false;
	int r;

	if (!strcmp(q->path, "/console"))
		return see_other(q, "/console/");
	for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		if (strcmp(pages[i].path, q->path))
			continue;
		path_known = true;
		if (!strcmp(pages[i].method, q->method))
			pg = &pages[i];
	}
	if (!pg && path_known) {
		char allow[32] = "";
		for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
			if (!strcmp(pages[i].path, q->path))
				snprintf(allow + strlen(allow),
					 sizeof(allow) - strlen(allow), "%s%s",
					 allow[0] ? ", " : "", pages[i].method);
		gw_http_add_header(q, "Allow", allow);
	}
	if (!pg)
		return gw_console_pages_message(q, NULL, path_known ? 405 : 404,
			path_known ? _("Method not allowed") : _("Not found"),
			"error", _("There is no such console page."));
	if (pg->need == OPEN) {
		if (!strcmp(q->path, "/console/style.css"))
			return css(q);
		if (!strcmp(q->method, "GET"))
			return login_page(q, 200, NULL);
		return login_post(q);
	}
	if (who(q, &w, tok))
		return -1;
	r = pg->fn ? pg->fn(q, &w) : read_page(q, &w);
	explicit_bzero(tok, sizeof(tok));
	return r;
}
