/* gw-console-pages.c: see gw-console-pages.h. The node's answers are
 * read by name where the console knows a field's meaning (a peer's link,
 * a step's signer) and otherwise shown as they come, so a field the node
 * adds shows up without a change here. */
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "gw-console-pages.h"
#include "i18n.h"
#include "util.h"

#define ERRLEN 2048

int gw_console_pages_call(gw_console_who_t *w, const char *name,
			  const char *referral_id, const char *json,
			  json_t **ret, char *err, size_t errlen)
{
	return gw_node_call(w->q->gw->node, name, w->token, NULL, referral_id,
			    json, ret, err, errlen);
}

int gw_console_pages_send(gw_console_who_t *w, gw_html_t *h, int status)
{
	char *body;
	size_t len;

	(void)w;
	if (gw_html_close(h, &body, &len))
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	return gw_http_send(w->q, status, "text/html; charset=utf-8", body,
			    len);
}

int gw_console_pages_message(gw_req_t *q, gw_console_who_t *w, int status,
			     const char *title, const char *cls,
			     const char *text)
{
	gw_console_who_t none = { q, NULL, "", "", false };
	gw_html_t h;

	if (!w)
		w = &none;
	if (gw_html_open(&h, title, w->token ? w->name : NULL,
			 w->session ? w->csrf : NULL))
		return gw_http_send(q, 500, NULL, NULL, 0);
	gw_html(&h, "<p class=\"%R\">%s</p>\n", cls, text);
	if (!w->token)
		gw_html(&h, "<p><a href=\"/console/login\">%s</a></p>\n",
			_("Log in"));
	return gw_console_pages_send(w, &h, status);
}

/* A failed call inside a page: its section says so, the node's detail
 * in the reader's language where it is one i18n knows, and its code. */
static void failed(gw_html_t *h, const char *what, int r, const char *err)
{
	gw_html(h, "<p class=\"error\">%s: %s (%s)</p>\n", what,
		err && *err ? i18n_detail(err) : ref_strerror(r),
		gw_node_code_name(r));
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool skip(const char *k, const char *const *skips)
{
	for (; skips && *skips; skips++)
		if (!strcmp(k, *skips))
			return true;
	return false;
}

/* The node's fields a person reads by name: each msgid is the field's
 * code itself (English readers see what they search the docs for), a
 * nested one as "key.sub". A field the node adds is shown by its code. */
static const char *const fields[] = {
	N_("referral_id"), N_("direction"), N_("origin"), N_("receiver"),
	N_("state"), N_("case_type"), N_("service"), N_("created_at"),
	N_("created_at_local"), N_("priority"), N_("next_due"),
	N_("next_due_local"), N_("next_due_day"), N_("materials_round"),
	N_("msg_id"), N_("delivery"), N_("received_at"),
	N_("received_at_local"), N_("urgent"), N_("legal_basis"),
	N_("reason"), N_("assignment"), N_("at_local"), N_("missing_items"),
	N_("round"), N_("supplement"), N_("node"), N_("name"), N_("role"),
	N_("listen"), N_("key_id"), N_("directory_version"), N_("inbox"),
	N_("audit_records"), N_("uptime_s"), N_("outbox.pending"),
	N_("outbox.delivered"), N_("outbox.dead"), N_("store.used_bytes"),
	N_("store.max_bytes"), N_("calendar.file"),
	N_("calendar.missing_year"), N_("calendar.warning"), N_("kind"),
	N_("to"), N_("created"), N_("attempts"),
};

/* Words some fields' values are, for people (the code otherwise). */
static const char *const words[] = {
	N_("incoming"), N_("outgoing"), N_("delivered"), N_("pending"),
	N_("dead"), N_("up"), N_("down"),
};

static const char *in(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strcmp(s, list[i]))
			return gettext(list[i]);
	return NULL;
}

/* A field's name for people: its label, or its code. */
static const char *label_of(const char *path)
{
	const char *label = in(fields, sizeof(fields) / sizeof(fields[0]),
			       path);

	return label ? label : path;
}

/* A field's name as a table header: its label, the code as its title. */
static void field(gw_html_t *h, const char *k, const char *sub)
{
	char path[256];
	const char *label;

	snprintf(path, sizeof(path), "%s%s%s", k, sub ? "." : "",
		 sub ? sub : "");
	label = label_of(path);
	if (strcmp(label, path))
		gw_html(h, "<th title=\"%s\">%s</th>", path, label);
	else
		gw_html(h, "<th>%s</th>", path);
}

/* A field's value for people: a lifecycle state by its name (i18n_state),
 * a peer's link in words, and prose the node wrote (a value with a
 * space: a code never has one) translated where i18n knows it; anything
 * else, and prose i18n does not know, as it comes. */
static void value(gw_html_t *h, const char *k, json_t *v)
{
	const char *s = json_string_value(v);
	const char *word = in(words, sizeof(words) / sizeof(words[0]), s);

	if (s && i18n_state(s) != s)   /* a state code, in any field */
		gw_html(h, "%s", i18n_state(s));
	else if (word && (!strcmp(k, "link") || !strcmp(k, "direction") ||
			  !strcmp(k, "delivery")))
		gw_html(h, "%s", word);
	else if (s && strchr(s, ' '))
		gw_html(h, "%s", i18n_detail(s));
	else
		gw_html_value(h, v);
}

/* An object's scalar fields as rows of a two-column table, one level of
 * nested objects as "key.sub"; arrays and the keys in skips are left to
 * their own sections. */
static void kv_table(gw_html_t *h, json_t *o, const char *const *skips)
{
	const char *k, *k2;
	json_t *v, *v2;

	gw_html(h, "<table class=\"kv\">\n");
	json_object_foreach(o, k, v) {
		if (skip(k, skips) || json_is_array(v))
			continue;
		if (!json_is_object(v)) {
			gw_html(h, "<tr>");
			field(h, k, NULL);
			gw_html(h, "<td>");
			value(h, k, v);
			gw_html(h, "</td></tr>\n");
			continue;
		}
		json_object_foreach(v, k2, v2) {
			if (json_is_array(v2) || json_is_object(v2))
				continue;
			gw_html(h, "<tr>");
			field(h, k, k2);
			gw_html(h, "<td>");
			value(h, k2, v2);
			gw_html(h, "</td></tr>\n");
		}
	}
	gw_html(h, "</table>\n");
}

static void cell(gw_html_t *h, json_t *o, const char *k)
{
	gw_html(h, "<td>");
	value(h, k, json_object_get(o, k));
	gw_html(h, "</td>");
}

static void num_cell(gw_html_t *h, json_t *v)
{
	gw_html(h, "<td class=\"num\">");
	gw_html_value(h, v);
	gw_html(h, "</td>");
}

static void referral_link(gw_html_t *h, const char *id)
{
	if (id)
		gw_html(h, "<a href=\"/console/referral?id=%U\">%s</a>", id, id);
	else
		gw_html(h, "\xe2\x80\x94");
}

static void depths(gw_html_t *h, json_t *m)
{
	json_t *ob = json_object_get(m, "outbox");
	json_t *st = json_object_get(m, "store");

	gw_html(h, "<table class=\"kv\">\n<tr><th>%s</th>",
		_("Outbox pending"));
	num_cell(h, json_object_get(ob, "pending"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Outbox delivered"));
	num_cell(h, json_object_get(ob, "delivered"));
	gw_html(h, "</tr>\n<tr><th><a href=\"/console/dead\">%s</a></th>",
		_("Dead letters"));
	num_cell(h, json_object_get(ob, "dead"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Inbox"));
	num_cell(h, json_object_get(m, "inbox"));
	gw_html(h, "</tr>\n<tr><th><a href=\"/console/overdue\">%s</a>"
		"</th>", _("Overdue"));
	num_cell(h, json_object_get(m, "overdue"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Store used (bytes)"));
	num_cell(h, json_object_get(st, "used_bytes"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Store limit (bytes)"));
	num_cell(h, json_object_get(st, "max_bytes"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Peers up"));
	num_cell(h, json_object_get(m, "peers_up"));
	gw_html(h, "</tr>\n<tr><th>%s</th>", _("Peers"));
	num_cell(h, json_object_get(m, "peers"));
	gw_html(h, "</tr>\n</table>\n");
}

static void peers(gw_html_t *h, json_t *arr)
{
	size_t i;
	json_t *p;

	if (!json_array_size(arr)) {
		gw_html(h, "<p class=\"muted\">%s</p>\n", _("No peers."));
		return;
	}
	gw_html(h, "<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s"
		"</th></tr>\n", _("Code"), _("Name"), _("Last contact"),
		_("Link"));
	json_array_foreach(arr, i, p) {
		const char *link = str(p, "link");
		gw_html(h, "<tr>");
		cell(h, p, "code");
		cell(h, p, "name");
		cell(h, p, "last_contact");
		gw_html(h, "<td class=\"%R\">", link && !strcmp(link, "up")
			? "ok" : "bad");
		value(h, "link", json_object_get(p, "link"));
		gw_html(h, "</td></tr>\n");
	}
	gw_html(h, "</table>\n");
}

static void audit(gw_html_t *h, json_t *a)
{
	json_t *intact = json_object_get(a, "intact");
	json_t *ws = json_object_get(a, "witnesses"), *w;
	size_t i;

	gw_html(h, "<table class=\"kv\">\n<tr><th>%s</th>", _("Records"));
	num_cell(h, json_object_get(a, "records"));
	gw_html(h, "</tr>\n<tr><th>%s</th><td>", _("Last verified"));
	gw_html_value(h, json_object_get(a, "verified_at"));
	gw_html(h, "</td></tr>\n<tr><th>%s</th><td class=\"%R\">"
		"%s</td></tr>\n</table>\n", _("Chain intact"),
		json_is_true(intact) ? "ok" : "bad",
		json_is_true(intact) ? _("yes") : json_is_false(intact)
		? _("NO") : _("unknown"));
	if (!json_array_size(ws)) {
		gw_html(h, "<p class=\"muted\">%s</p>\n", _("No peer has "
			"witnessed a checkpoint yet."));
		return;
	}
	gw_html(h, "<table>\n<tr><th>%s</th><th>%s</th><th>%s</th></tr>\n",
		_("Witness"), _("Up to record"), _("At"));
	json_array_foreach(ws, i, w) {
		gw_html(h, "<tr>");
		cell(h, w, "node");
		num_cell(h, json_object_get(w, "seq"));
		cell(h, w, "at");
		gw_html(h, "</tr>\n");
	}
	gw_html(h, "</table>\n");
}

int gw_console_pages_overview(gw_console_who_t *w)
{
	static const char *const skips[] = { "peers", NULL };
	char err[ERRLEN];
	json_t *st = NULL, *m = NULL, *a = NULL;
	gw_html_t h;
	int r;

	if (gw_html_open(&h, _("Overview"), w->name,
			 w->session ? w->csrf : NULL))
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	gw_html(&h, "<h2>%s</h2>\n", _("Node health"));
	r = gw_console_pages_call(w, "status", NULL, NULL, &st, err,
				  sizeof(err));
	if (r)
		failed(&h, _("The node's status cannot be read"), r, err);
	else
		kv_table(&h, st, skips);
	gw_html(&h, "<h2>%s</h2>\n", _("Queues and store"));
	r = gw_console_pages_call(w, "metrics", NULL, NULL, &m, err,
				  sizeof(err));
	if (r)
		failed(&h, _("The node's metrics cannot be read"), r, err);
	else
		depths(&h, m);
	gw_html(&h, "<h2>%s</h2>\n", _("Peers"));
	if (st)
		peers(&h, json_object_get(st, "peers"));
	gw_html(&h, "<h2>%s</h2>\n", _("Audit chain"));
	r = gw_console_pages_call(w, "audit", NULL, NULL, &a, err,
				  sizeof(err));
	if (r)
		failed(&h, _("The audit chain's state cannot be read"), r, err);
	else
		audit(&h, a);
	json_decref(st);
	json_decref(m);
	json_decref(a);
	return gw_console_pages_send(w, &h, 200);
}

/* The earliest deadline of an overdue item: its own "due" or
 * "deadline", or the first due of its running clocks. RFC 3339 times in
 * UTC sort as text. */
static const char *due_of(json_t *it)
{
	const char *best = str(it, "due");
	json_t *ck = json_object_get(it, "clocks"), *c;
	size_t i;

	if (!best)
		best = str(it, "deadline");
	json_array_foreach(ck, i, c) {
		const char *d = str(c, "due");
		if (d && (!best || strcmp(d, best) < 0))
			best = d;
	}
	return best;
}

static int by_due(const void *a, const void *b)
{
	const char *x = due_of(*(json_t *const *)a);
	const char *y = due_of(*(json_t *const *)b);

	if (!x || !y)
		return !x - !y;
	return strcmp(x, y);
}

int gw_console_pages_overdue(gw_console_who_t *w)
{
	char err[ERRLEN];
	json_t *o, *arr, **items;
	gw_html_t h;
	size_t n;
	int r;

	if (gw_html_open(&h, _("Overdue referrals"), w->name,
			 w->session ? w->csrf : NULL))
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	r = gw_console_pages_call(w, "overdue", NULL, NULL, &o, err,
				  sizeof(err));
	if (r) {
		failed(&h, _("The overdue list cannot be read"), r, err);
		return gw_console_pages_send(w, &h, 200);
	}
	arr = json_object_get(o, "overdue");
	n = json_array_size(arr);
	gw_html(&h, "<p class=\"muted\">%s</p>\n", _("Past a deadline or "
		"within 24 hours of one, the nearest deadline first."));
	if (!n) {
		gw_html(&h, "<p>%s</p>\n", _("Nothing is overdue."));
		json_decref(o);
		return gw_console_pages_send(w, &h, 200);
	}
	items = calloc(n, sizeof(*items));
	if (!items) {
		json_decref(o);
		gw_html_abort(&h);
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	}
	for (size_t i = 0; i < n; i++)
		items[i] = json_array_get(arr, i);
	qsort(items, n, sizeof(*items), by_due);
	gw_html(&h, "<table>\n<tr><th>%s</th><th>%s</th><th>%s</th><th>%s"
		"</th></tr>\n", _("Deadline"), _("Referral"), _("State"),
		_("Clocks"));
	for (size_t i = 0; i < n; i++) {
		json_t *ck = json_object_get(items[i], "clocks"), *c;
		size_t k;
		gw_html(&h, "<tr><td>%s</td><td>", due_of(items[i]));
		referral_link(&h, str(items[i], "referral_id"));
		gw_html(&h, "</td>");
		cell(&h, items[i], "state");
		gw_html(&h, "<td>");
		json_array_foreach(ck, k, c) {
			gw_html(&h, "%s%s", k ? "; " : "", str(c, "clock"));
			if (str(c, "due")) {
				gw_html(&h, " ");
				gw_html_text(&h, N_("due %s"), str(c, "due"));
			}
			if (json_is_true(json_object_get(c, "overdue")))
				gw_html(&h, " <span class=\"bad\">%s</span>",
					_("overdue"));
		}
		gw_html(&h, "</td></tr>\n");
	}
	gw_html(&h, "</table>\n");
	free(items);
	json_decref(o);
	return gw_console_pages_send(w, &h, 200);
}

int gw_console_pages_dead(gw_console_who_t *w)
{
	const char *cursor = gw_http_query(w->q, "cursor");
	char err[ERRLEN];
	json_t *opts = json_pack("{s:s}", "box", "dead"), *o, *arr, *m, *v;
	const char *cols[12], *k, *next;
	size_t n = 0, i;
	gw_html_t h;
	char *body;
	int r;

	if (cursor)
		json_object_set_new(opts, "cursor", json_string(cursor));
	body = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	if (!body || gw_html_open(&h, _("Dead letters"), w->name,
				  w->session ? w->csrf : NULL)) {
		free(body);
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	}
	r = gw_console_pages_call(w, "list", NULL, body, &o, err, sizeof(err));
	free(body);
	if (r) {
		failed(&h, _("The dead letters cannot be read"), r, err);
		return gw_console_pages_send(w, &h, 200);
	}
	arr = json_object_get(o, "messages");
	if (!json_is_array(arr))
		arr = json_object_get(o, "referrals");
	gw_html(&h, "<p class=\"muted\">%s</p>\n", _("Messages given up "
		"(their lifetime ran out, or the receiver refused them) and "
		"not yet sent again."));
	if (!json_array_size(arr)) {
		gw_html(&h, "<p>%s</p>\n", _("No dead letters."));
		json_decref(o);
		return gw_console_pages_send(w, &h, 200);
	}
	/* The columns: every scalar field the messages have, in the order
	 * first seen, the referral first. */
	json_array_foreach(arr, i, m) {
		json_object_foreach(m, k, v) {
			size_t c;
			if (json_is_object(v) || json_is_array(v) ||
			    !strcmp(k, "referral_id"))
				continue;
			for (c = 0; c < n && strcmp(cols[c], k); c++)
				;
			if (c == n && n < sizeof(cols) / sizeof(cols[0]))
				cols[n++] = k;
		}
	}
	gw_html(&h, "<table>\n<tr><th>%s</th>", _("Referral"));
	for (size_t c = 0; c < n; c++)
		field(&h, cols[c], NULL);
	gw_html(&h, "<th></th></tr>\n");
	json_array_foreach(arr, i, m) {
		const char *id = str(m, "referral_id");
		gw_html(&h, "<tr><td>");
		referral_link(&h, id);
		gw_html(&h, "</td>");
		for (size_t c = 0; c < n; c++)
			cell(&h, m, cols[c]);
		if (id)
			gw_html(&h, "<td><a href=\"/console/requeue?id=%U\">"
				"%s\xe2\x80\xa6</a></td>", id, _("Requeue"));
		else
			gw_html(&h, "<td></td>");
		gw_html(&h, "</tr>\n");
	}
	gw_html(&h, "</table>\n");
	next = str(o, "next_cursor");
	if (next)
		gw_html(&h, "<p><a href=\"/console/dead?cursor=%U\">%s</a></p>\n",
			next, _("Next page"));
	json_decref(o);
	return gw_console_pages_send(w, &h, 200);
}

/* The steps of the referral ("history" of "show"): who moved it, and
 * which node signed the step. */
static void steps(gw_html_t *h, json_t *hist)
{
	static const char *const known[] = { "at", "state", "from", "by",
		"actor", "role", NULL };
	size_t i;
	json_t *s, *v;
	const char *k;
	char b[256];

	if (!json_array_size(hist)) {
		gw_html(h, "<p class=\"muted\">%s</p>\n", _("No steps."));
		return;
	}
	gw_html(h, "<ol class=\"timeline\">\n");
	json_array_foreach(hist, i, s) {
		gw_html(h, "<li><span class=\"when\">%s</span> "
			"<span class=\"what\">", str(s, "at"));
		if (str(s, "from"))
			gw_html(h, "%s \xe2\x86\x92 ", i18n_state(str(s, "from")));
		gw_html(h, "%s</span><br>", i18n_state(str(s, "state")));
		gw_html_text(h, N_("signed by node %R"),
			     gw_html_frag(b, sizeof(b), "<b>%s</b>", str(s, "by")));
		if (str(s, "actor"))
			gw_html_text(h, N_(", by %s"), str(s, "actor"));
		if (str(s, "role"))
			gw_html(h, " (%s)", str(s, "role"));
		json_object_foreach(s, k, v) {
			if (skip(k, known))
				continue;
			gw_html(h, "<br><span class=\"muted\">");
			gw_html_text(h, N_("%s:"), label_of(k));
			gw_html(h, "</span> ");
			value(h, k, v);
		}
		gw_html(h, "</li>\n");
	}
	gw_html(h, "</ol>\n");
}

static void receipt(gw_html_t *h, json_t *rc)
{
	json_t *ok = json_object_get(rc, "verified");
	char b[256], sig[256];

	if (!json_is_object(rc)) {
		gw_html(h, "<p class=\"muted\">%s</p>\n", _("No receipt held."));
		return;
	}
	gw_html(h, "<ol class=\"timeline\"><li><span class=\"when\">%s</span> "
		"<span class=\"what\">", str(rc, "received_at"));
	gw_html_text(h, N_("receipt %s"), str(rc, "status"));
	gw_html(h, "</span><br>");
	gw_html_text(h, N_("signed by node %R with key %s; signature %R"),
		     gw_html_frag(b, sizeof(b), "<b>%s</b>", str(rc, "from")),
		     str(rc, "signed_by"),
		     gw_html_frag(sig, sizeof(sig), "<span class=\"%R\">%s</span>",
				  json_is_true(ok) ? "ok" : "bad",
				  json_is_true(ok) ? _("verified")
				  : _("NOT verified")));
	if (str(rc, "detail") && *str(rc, "detail"))
		gw_html(h, "<br><span class=\"muted\">%s</span> %s",
			_("detail:"), i18n_detail(str(rc, "detail")));
	gw_html(h, "</li></ol>\n");
}

static void trail(gw_html_t *h, json_t *evs)
{
	size_t i;
	json_t *e;

	if (!json_array_size(evs)) {
		gw_html(h, "<p class=\"muted\">%s</p>\n", _("No audit events."));
		return;
	}
	gw_html(h, "<table>\n<tr><th>#</th><th>%s</th><th>%s</th><th>%s</th>"
		"<th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>\n",
		_("Time"), _("Event"), _("Actor"), _("Peer"), _("Outcome"),
		_("Message"), _("Detail"));
	json_array_foreach(evs, i, e) {
		gw_html(h, "<tr>");
		num_cell(h, json_object_get(e, "seq"));
		cell(h, e, "time");
		cell(h, e, "event");
		cell(h, e, "actor");
		cell(h, e, "peer");
		cell(h, e, "outcome");
		cell(h, e, "msg_id");
		cell(h, e, "detail");
		gw_html(h, "</tr>\n");
	}
	gw_html(h, "</table>\n");
}

static void clocks(gw_html_t *h, json_t *ck)
{
	size_t i;
	json_t *c;

	if (!json_array_size(ck))
		return;
	gw_html(h, "<h2>%s</h2>\n<table>\n<tr><th>%s</th><th>%s</th><th>%s"
		"</th><th>%s</th></tr>\n", _("Deadlines"), _("Clock"),
		_("Status"), _("Due"), _("Days left (paused)"));
	json_array_foreach(ck, i, c) {
		bool late = json_is_true(json_object_get(c, "overdue"));
		gw_html(h, "<tr>");
		cell(h, c, "clock");
		cell(h, c, "status");
		gw_html(h, "%R", late ? "<td class=\"bad\">" : "<td>");
		gw_html_value(h, json_object_get(c, "due"));
		if (late)
			gw_html(h, " (%s)", _("overdue"));
		gw_html(h, "</td>");
		num_cell(h, json_object_get(c, "days_left"));
		gw_html(h, "</tr>\n");
	}
	gw_html(h, "</table>\n");
}

int gw_console_pages_referral(gw_console_who_t *w, const char *id)
{
	static const char *const skips[] = { "application", "history",
		"clocks", "receipt", "recommendation", NULL };
	char err[ERRLEN], title[128];
	json_t *rr = NULL, *t = NULL;
	const char *delivery;
	gw_html_t h;
	int r;

	snprintf(title, sizeof(title), _("Referral %s"), id);
	if (gw_html_open(&h, title, w->name, w->session ? w->csrf : NULL))
		return gw_http_send(w->q, 500, NULL, NULL, 0);
	r = gw_console_pages_call(w, "show", id, NULL, &rr, err, sizeof(err));
	if (r) {
		failed(&h, _("The referral cannot be read"), r, err);
		return gw_console_pages_send(w, &h, gw_node_http_status(r));
	}
	kv_table(&h, rr, skips);
	delivery = str(rr, "delivery");
	if (delivery && !strcmp(delivery, "dead"))
		gw_html(&h, "<p class=\"note\">%s "
			"<a href=\"/console/requeue?id=%U\">%s"
			"\xe2\x80\xa6</a></p>\n", _("Its message is a dead letter."),
			id, _("Requeue"));
	clocks(&h, json_object_get(rr, "clocks"));
	gw_html(&h, "<h2>%s</h2>\n", _("Steps"));
	steps(&h, json_object_get(rr, "history"));
	gw_html(&h, "<h2>%s</h2>\n", _("Receipt"));
	receipt(&h, json_object_get(rr, "receipt"));
	gw_html(&h, "<h2>%s</h2>\n", _("Audit trail"));
	r = gw_console_pages_call(w, "trail", id, NULL, &t, err, sizeof(err));
	if (r)
		failed(&h, _("The audit trail cannot be read"), r, err);
	else
		trail(&h, json_object_get(t, "events"));
	json_decref(rr);
	json_decref(t);
	return gw_console_pages_send(w, &h, 200);
}
