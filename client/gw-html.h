/* gw-html.h: the console's HTML, written so that nothing a user typed
 * (names, reasons, addresses: all of it comes through the node) can
 * become markup: gw_html() escapes every %s it is given, and the only
 * way to write markup is a format string or %R with a constant (or a
 * fragment gw_html_frag wrote). Text a person reads is in the locale's
 * language (i18n.h); the page's lang attribute says which.
 *
 * Pages need no script and work with JavaScript off; their one style
 * sheet is /console/style.css (the CSP forbids inline style and script).
 * Not thread-safe per page; pages are independent. */
#ifndef REF_GW_HTML_H
#define REF_GW_HTML_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct {
	FILE *f;
	char *buf;
	size_t len;
} gw_html_t;

/* gw_html_open: a page titled title. user (may be NULL) is shown with a
 * logout form carrying csrf (may be NULL: no logout, e.g. a page for a
 * caller who sent the Authorization header). Returns 0 or -ENOMEM. */
int gw_html_open(gw_html_t *h, const char *title, const char *user,
		 const char *csrf);
/* gw_html: writes fmt: %s text (escaped; NULL writes nothing), %U text
 * as a URL query value (percent-encoded), %d an int, %R markup written
 * as is (constants only), %% a percent sign. */
void gw_html(gw_html_t *h, const char *fmt, ...);
/* gw_html_text: msgid (marked N_()) in the locale's language, written as
 * gw_html writes a format but with its own text escaped too, so a
 * catalog adds no markup; a translation whose directives differ from
 * msgid's is not used. %R takes only a constant or a gw_html_frag. */
void gw_html_text(gw_html_t *h, const char *msgid, ...);
/* gw_html_frag: fmt written as gw_html writes it into buf (len bytes),
 * for a link or a bold word placed by a translated sentence's %R. Returns
 * buf; "" if it did not fit (never a cut tag). */
const char *gw_html_frag(char *buf, size_t len, const char *fmt, ...);
/* gw_html_value: a JSON value as text: strings escaped, numbers and
 * booleans as JSON writes them, objects and arrays as compact JSON,
 * escaped; null or absent as an em dash. */
void gw_html_value(gw_html_t *h, json_t *v);
/* gw_html_close: ends the page; *ret is the caller's (malloc'd). Returns
 * 0 or -ENOMEM (nothing to free then). */
int gw_html_close(gw_html_t *h, char **ret, size_t *ret_len);
/* gw_html_abort: drops a page that will not be sent. */
void gw_html_abort(gw_html_t *h);

/* gw_html_escape: s escaped for text and attribute values into f. */
void gw_html_escape(FILE *f, const char *s);

#endif
