/* gw-html.c: see gw-html.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gw-html.h"
#include "i18n.h"

void gw_html_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			/* Control characters have no place in a page. */
			if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static void url_encode(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || c == '~')
			fputc(c, f);
		else
			fprintf(f, "%%%02X", c);
	}
}

/* The one writer of both: a format's own text goes out as it is (a
 * constant of ours, markup allowed) or, for a translated one, escaped. */
static void vwrite(gw_html_t *h, bool text, const char *fmt, va_list ap)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			if (text) {
				char c[2] = { *p, 0 };
				gw_html_escape(h->f, c);
			} else {
				fputc(*p, h->f);
			}
			continue;
		}
		switch (*++p) {
		case 's':
			gw_html_escape(h->f, va_arg(ap, const char *));
			break;
		case 'U':
			url_encode(h->f, va_arg(ap, const char *));
			break;
		case 'd':
			fprintf(h->f, "%d", va_arg(ap, int));
			break;
		case 'R':
			fputs(va_arg(ap, const char *), h->f);
			break;
		case '%':
			fputc('%', h->f);
			break;
		default:   /* our own misuse: show it, never guess */
			fputs("%?", h->f);
			if (!*p)
				p--;
		}
	}
}

void gw_html(gw_html_t *h, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwrite(h, false, fmt, ap);
	va_end(ap);
}

/* Whether two formats take the same directives in the same order. */
static bool same_directives(const char *a, const char *b)
{
	for (;;) {
		a = strchr(a, '%');
		b = strchr(b, '%');
		if (!a || !b)
			return !a && !b;
		if (a[1] != b[1] || !a[1])
			return false;
		a += 2;
		b += 2;
	}
}

void gw_html_text(gw_html_t *h, const char *msgid, ...)
{
	const char *fmt = gettext(msgid);
	va_list ap;

	/* A translation that would take its arguments otherwise (a %s made
	 * %R: an escaped value written as markup) is not used. */
	if (!same_directives(fmt, msgid))
		fmt = msgid;
	va_start(ap, msgid);
	vwrite(h, true, fmt, ap);
	va_end(ap);
}

const char *gw_html_frag(char *buf, size_t len, const char *fmt, ...)
{
	gw_html_t h = { fmemopen(buf, len, "w"), NULL, 0 };
	va_list ap;
	bool whole;

	if (!h.f || len == 0)
		return "";
	va_start(ap, fmt);
	vwrite(&h, false, fmt, ap);
	va_end(ap);
	/* A cut fragment could end inside a tag: none rather than that. */
	whole = ftell(h.f) < (long)len - 1;
	fclose(h.f);
	if (!whole)
		buf[0] = 0;
	return buf;
}

void gw_html_value(gw_html_t *h, json_t *v)
{
	char *s;

	if (!v || json_is_null(v)) {
		fputs("\xe2\x80\x94", h->f);
		return;
	}
	if (json_is_string(v)) {
		gw_html_escape(h->f, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	gw_html_escape(h->f, s ? s : "?");
	free(s);
}

int gw_html_open(gw_html_t *h, const char *title, const char *user,
		 const char *csrf)
{
	h->buf = NULL;
	h->len = 0;
	h->f = open_memstream(&h->buf, &h->len);
	if (!h->f)
		return -ENOMEM;
	/* The page's language is the catalog's: its translation of "en"
	 * is the language tag of the text it gives (zh-CN). */
	gw_html(h, "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
		"<meta charset=\"utf-8\">"
		"<meta name=\"viewport\" content=\"width=device-width, "
		"initial-scale=1\">"
		"<title>%s \xe2\x80\x94 %s</title>"
		"<link rel=\"stylesheet\" href=\"/console/style.css\">"
		"</head><body>\n<header><span class=\"brand\">%s</span>",
		_("en"), title, _("referral console"), _("referral console"));
	if (user) {
		gw_html(h, "<nav><a href=\"/console/\">%s</a> "
			"<a href=\"/console/overdue\">%s</a> "
			"<a href=\"/console/dead\">%s</a> "
			"<form class=\"find\" method=\"get\" "
			"action=\"/console/referral\"><label>%s "
			"<input name=\"id\" size=\"42\" required></label> "
			"<button>%s</button></form></nav>"
			"<span class=\"who\">%s</span>", _("Overview"),
			_("Overdue"), _("Dead letters"), _("Referral"), _("Show"),
			user);
		if (csrf)
			gw_html(h, "<form class=\"logout\" method=\"post\" "
				"action=\"/console/logout\"><input "
				"type=\"hidden\" name=\"csrf\" value=\"%s\">"
				"<button>%s</button></form>", csrf, _("Log out"));
	}
	gw_html(h, "</header>\n<main><h1>%s</h1>\n", title);
	return 0;
}

int gw_html_close(gw_html_t *h, char **ret, size_t *ret_len)
{
	gw_html(h, "</main></body></html>\n");
	if (fclose(h->f)) {
		free(h->buf);
		return -ENOMEM;
	}
	*ret = h->buf;
	*ret_len = h->len;
	return 0;
}

void gw_html_abort(gw_html_t *h)
{
	fclose(h->f);
	free(h->buf);
	h->buf = NULL;
}
