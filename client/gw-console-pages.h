/* gw-console-pages.h: the console's read-only pages (overview, overdue,
 * dead letters, one referral), each made from the node's answers to the
 * caller's own token. gw-console.c authenticates the caller and calls
 * these; they render and answer, and call nothing above them.
 *
 * Promises: every value from the node goes through gw-html.h's escaping;
 * a section whose call failed says so and the rest of the page still
 * renders; no page changes anything. */
#ifndef REF_GW_CONSOLE_PAGES_H
#define REF_GW_CONSOLE_PAGES_H

#include "gw-html.h"
#include "gw-http.h"
#include "gw-session.h"

/* Who is looking: set by gw-console.c before a page is made. */
typedef struct {
	gw_req_t *q;
	const char *token;
	char name[128];
	char csrf[GW_CSRF_LEN + 1];   /* "" for an Authorization header */
	bool session;
} gw_console_who_t;

/* gw_console_pages_call: the node's operation name for w (err gets the
 * node's message). */
int gw_console_pages_call(gw_console_who_t *w, const char *name,
			  const char *referral_id, const char *json,
			  json_t **ret, char *err, size_t errlen);
/* gw_console_pages_send: closes page h and answers it with status. */
int gw_console_pages_send(gw_console_who_t *w, gw_html_t *h, int status);
/* gw_console_pages_message: a page with one paragraph (class cls: "note"
 * or "error"), answered with status. who may be NULL (not logged in). */
int gw_console_pages_message(gw_req_t *q, gw_console_who_t *w, int status,
			     const char *title, const char *cls,
			     const char *text);

int gw_console_pages_overview(gw_console_who_t *w);
int gw_console_pages_overdue(gw_console_who_t *w);
int gw_console_pages_dead(gw_console_who_t *w);
int gw_console_pages_referral(gw_console_who_t *w, const char *id);

#endif
