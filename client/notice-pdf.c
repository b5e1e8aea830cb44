/* notice-pdf.c: the law's notices to the applicant as one A4 PDF page.
 *
 * The node gives the notice's fields and its number ("notice-data": the
 * number is assigned there, in a turn, so it is never given twice); this
 * file lays the notice out with Pango and Cairo in a CJK font (Noto Serif
 * CJK SC, Debian's fonts-noto-cjk): the centre's name, the notice's name
 * and number, the applicant, the decision with its reason and article,
 * what the law lets the applicant do next, a space for the centre's seal,
 * the referral's id and a QR code of the signed referral envelope's
 * SHA-256 (libqrencode), which staff can compare with `refctl show`.
 * Rendering stays on the client side (refctl notice, the gateway's
 * notice path): the daemon links no Pango or Cairo. The notice is always
 * Chinese, whatever the reader's locale: it is the centre's document. A
 * file is written beside its name and renamed over it, mode 0600, so a
 * failed render leaves no half notice and no other user reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>
#include <qrencode.h>

#include "errors.h"
#include "notice-pdf.h"
#include "util.h"

#define PAGE_W 595.276 /* A4 in points */
#define PAGE_H 841.890
#define MARGIN 72.0
#define FONT "Noto Serif CJK SC"

/* ---- local dates ------------------------------------------------------ */

/* The node's offset from UTC (it says; Asia/Shanghai, +08:00, when not):
 * the one place a time zone setting changes how dates are printed. Per
 * thread: the gateway renders notices on its request threads. */
static _Thread_local long tz_minutes = 480;

static void local_tm(uint64_t ms, struct tm *tm)
{
	time_t t = (time_t)((int64_t)ms / 1000 + tz_minutes * 60);

	gmtime_r(&t, tm);
}

/* An RFC 3339 UTC time as ms and its local time; false if it does not
 * parse. */
static bool local_of(const char *rfc, uint64_t *ms, struct tm *tm)
{
	if (!rfc || util_rfc3339_parse(rfc, ms))
		return false;
	local_tm(*ms, tm);
	return true;
}

/* "2026年9月25日" for an RFC 3339 UTC time; "" if it does not parse. */
static void local_day(const char *rfc, char *out, size_t len)
{
	uint64_t ms;
	struct tm tm;

	out[0] = '\0';
	if (!local_of(rfc, &ms, &tm))
		return;
	snprintf(out, len, "%d年%d月%d日", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday);
}

/* A due time as the day it ends: local midnight is "D日 24:00 前" of the
 * day before, as the law counts (the day runs out at 24:00). */
static void due_day(const char *rfc, char *out, size_t len)
{
	uint64_t ms;
	struct tm tm;

	out[0] = '\0';
	if (!local_of(rfc, &ms, &tm))
		return;
	if (tm.tm_hour == 0 && tm.tm_min == 0 && tm.tm_sec == 0) {
		local_tm(ms - 1000, &tm);
		snprintf(out, len, "%d年%d月%d日 24:00 前", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday);
	} else {
		snprintf(out, len, "%d年%d月%d日 %02d:%02d 前",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min);
	}
}

/* ---- the text --------------------------------------------------------- */

typedef struct {
	char *buf;
	size_t len, cap;
	bool failed;
} text_t;

static void add(text_t *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void add(text_t *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL,
			      t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->buf && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *b = realloc(t->buf, cap);
		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

/* Text from the node, escaped for Pango's markup. */
static const char *esc(const char *s)
{
	static char *slots[16];
	static int next;
	char *e = g_markup_escape_text(s ? s : "", -1);

	g_free(slots[next]);
	slots[next] = e;
	next = (next + 1) % 16;
	return e;
}

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* The Art 49 paragraph: the applicant may object to the justice bureau
 * that set the centre up. The law sets no time limit, so none is printed. */
static void objection_right(text_t *t)
{
	add(t, "申请人对本决定有异议的，可以向设立本法律援助机构的司法行政部门"
	    "提出（《中华人民共和国法律援助法》第四十九条）。\n");
}

/* The body for kind, from the answer a and the step s it reports. */
static int body(text_t *t, const char *kind, json_t *a, json_t *s,
		char *err, size_t errlen)
{
	json_t *app = json_object_get(a, "application");
	const char *reason = js(s, "reason"), *basis = js(s, "legal_basis");
	char day[64], due[64];

	local_day(js(a, "created_at"), day, sizeof(day));
	if (!strcmp(kind, "materials")) {
		json_t *items = json_object_get(s, "missing_items"), *c;
		size_t i;
		const char *due_at = NULL;

		json_array_foreach(json_object_get(a, "clocks"), i, c)
			if (!strcmp(js(c, "clock"), "materials"))
				due_at = js(c, "due");
		due_day(due_at, due, sizeof(due));
		add(t, "你于%s提出的法律援助申请，经审查尚缺下列材料。根据《中华"
		    "人民共和国法律援助法》第四十三条的规定，现一次性告知你需要"
		    "补充的全部材料：\n", day);
		json_array_foreach(items, i, c)
			add(t, "    %zu. %s\n", i + 1, esc(json_string_value(c)));
		if (due[0])
			add(t, "请于 <b>%s</b> 补充提交上述材料。", due);
		else
			add(t, "请尽快补充提交上述材料。");
		add(t, "无正当理由逾期未补充的，视为撤回申请。\n");
		if (reason[0])
			add(t, "说明：%s\n", esc(reason));
	} else if (!strcmp(kind, "grant")) {
		add(t, "你于%s提出的法律援助申请，经审查，符合法律援助条件。根据"
		    "《中华人民共和国法律援助法》%s的规定，本中心决定给予法律援助"
		    "，并将指派法律援助人员为你提供法律援助。\n", day,
		    basis[0] ? esc(basis) : "第四十一条、第四十三条");
		if (js(s, "aid_first")[0] || json_is_true(json_object_get(
							 s, "aid_first")))
			add(t, "本决定系依照该法第四十四条先行提供法律援助，你仍"
			    "应补充有关材料。\n");
		if (reason[0])
			add(t, "说明：%s\n", esc(reason));
	} else if (!strcmp(kind, "denial")) {
		add(t, "你于%s提出的法律援助申请，经审查，不符合法律援助条件。\n"
		    "理由：%s\n依据：%s\n本中心决定不予法律援助。\n", day,
		    esc(reason), basis[0] ? esc(basis) : "（未载明）");
		objection_right(t);
	} else if (!strcmp(kind, "assignment")) {
		json_t *as = json_object_get(s, "assignment");
		const char *contact = js(as, "contact");
		add(t, "对你申请的法律援助事项，本中心决定指派 <b>%s</b> 的 "
		    "<b>%s</b>（执业证号 %s）为你提供法律援助。\n联系方式：%s\n"
		    "请及时与承办人员联系。\n", esc(js(as, "firm")),
		    esc(js(as, "lawyer")), esc(js(as, "licence_no")),
		    contact[0] ? esc(contact) : "请向本中心询问");
	} else if (!strcmp(kind, "termination")) {
		add(t, "本中心对你提供的法律援助，因下列情形决定终止：\n理由：%s\n"
		    "依据：%s\n", esc(reason), basis[0] ? esc(basis)
		    : "《中华人民共和国法律援助法》第四十八条");
		objection_right(t);
	} else {
		if (!strcmp(js(s, "state"), "WITHDRAWN"))
			add(t, "你于%s提出的法律援助申请，因未在规定期限内补充"
			    "材料，根据《中华人民共和国法律援助法》第四十三条第"
			    "二款的规定，视为撤回申请。\n", day);
		else
			add(t, "你于%s提出的法律援助申请已撤回，本中心不再办理。\n",
			    day);
		if (reason[0])
			add(t, "说明：%s\n", esc(reason));
	}
	(void)app;
	if (t->failed) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* ---- the page --------------------------------------------------------- */

static double put(cairo_t *cr, double x, double y, double w, const char *font,
		  PangoAlignment align, const char *markup)
{
	PangoLayout *l = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(font);
	int lw, lh;

	pango_layout_set_font_description(l, fd);
	pango_layout_set_width(l, (int)(w * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	pango_layout_set_alignment(l, align);
	pango_layout_set_spacing(l, 4 * PANGO_SCALE);
	pango_layout_set_markup(l, markup, -1);
	cairo_move_to(cr, x, y);
	pango_cairo_show_layout(cr, l);
	pango_layout_get_pixel_size(l, &lw, &lh);
	pango_font_description_free(fd);
	g_object_unref(l);
	return y + lh;
}

/* The QR code of text, size points wide, at (x, y). */
static int qr(cairo_t *cr, const char *text, double x, double y, double size)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	double m;

	if (!q)
		return -errno;
	m = size / (q->width + 8); /* a 4-module quiet zone each side */
	cairo_set_source_rgb(cr, 0, 0, 0);
	for (int r = 0; r < q->width; r++)
		for (int c = 0; c < q->width; c++)
			if (q->data[r * q->width + c] & 1)
				cairo_rectangle(cr, x + (c + 4) * m,
						y + (r + 4) * m, m, m);
	cairo_fill(cr);
	QRcode_free(q);
	return 0;
}

static int render(json_t *a, cairo_write_func_t write, void *closure,
		  char *err, size_t errlen)
{
	json_t *note = json_object_get(a, "notice");
	json_t *hist = json_object_get(a, "history");
	json_t *step = json_array_get(hist, (size_t)json_integer_value(
		json_object_get(note, "step")));
	json_t *app = json_object_get(a, "application");
	const char *name = js(json_object_get(app, "applicant"), "name");
	const char *sha = js(a, "envelope_sha256");
	char issued[64], qrtext[96];
	text_t t = { 0 };
	cairo_surface_t *sf;
	cairo_t *cr;
	cairo_status_t st;
	double y, w = PAGE_W - 2 * MARGIN;
	int r;

	if (!step || !note) {
		snprintf(err, errlen, "the node's answer has no notice");
		return REF_E_MALFORMED;
	}
	if (json_object_get(note, "tz_offset_minutes"))
		tz_minutes = (long)json_integer_value(json_object_get(
			note, "tz_offset_minutes"));
	if ((r = body(&t, js(note, "type"), a, step, err, errlen))) {
		free(t.buf);
		return r;
	}
	local_day(js(note, "issued_at"), issued, sizeof(issued));
	sf = cairo_pdf_surface_create_for_stream(write, closure, PAGE_W,
						 PAGE_H);
	cr = cairo_create(sf);
	cairo_set_source_rgb(cr, 0, 0, 0);

	y = put(cr, MARGIN, MARGIN, w, FONT " Bold 18", PANGO_ALIGN_CENTER,
		esc(js(note, "centre")));
	y = put(cr, MARGIN, y + 6, w, FONT " Bold 22", PANGO_ALIGN_CENTER,
		esc(js(note, "title")));
	y = put(cr, MARGIN, y + 10, w, FONT " 11", PANGO_ALIGN_RIGHT,
		esc(js(note, "number")));
	cairo_set_line_width(cr, 1.2);
	cairo_move_to(cr, MARGIN, y + 8);
	cairo_line_to(cr, PAGE_W - MARGIN, y + 8);
	cairo_stroke(cr);
	{
		char head[1024];
		snprintf(head, sizeof(head), "申请人：<b>%s</b>\n转介编号：%s",
			 esc(name[0] ? name : "（见申请）"),
			 esc(js(a, "referral_id")));
		y = put(cr, MARGIN, y + 20, w, FONT " 12", PANGO_ALIGN_LEFT,
			head);
	}
	y = put(cr, MARGIN, y + 16, w, FONT " 12", PANGO_ALIGN_LEFT,
		t.buf ? t.buf : "");
	y = put(cr, MARGIN, y + 10, w, FONT " 12", PANGO_ALIGN_LEFT,
		"特此通知。");

	/* The seal's place: a dashed circle over the centre's name and the
	 * date, where the centre stamps it by hand. */
	{
		double sx = PAGE_W - MARGIN - 110, sy = y + 60;
		char sign[512];
		const double dash[] = { 4, 3 };
		cairo_set_line_width(cr, 0.8);
		cairo_set_dash(cr, dash, 2, 0);
		cairo_new_sub_path(cr);
		cairo_arc(cr, sx, sy, 55, 0, 2 * G_PI);
		cairo_stroke(cr);
		cairo_set_dash(cr, NULL, 0, 0);
		put(cr, sx - 55, sy - 8, 110, FONT " 8", PANGO_ALIGN_CENTER,
		    "（机构印章）");
		snprintf(sign, sizeof(sign), "%s\n%s", esc(js(note, "centre")),
			 issued);
		put(cr, MARGIN, sy + 65, w, FONT " 12", PANGO_ALIGN_RIGHT,
		    sign);
	}

	/* The digest of the signed referral envelope, readable and as a QR
	 * code: staff can match the paper with the record. */
	snprintf(qrtext, sizeof(qrtext), "sha256:%s", sha);
	if (sha[0] && (r = qr(cr, qrtext, MARGIN - 8, PAGE_H - MARGIN - 100,
			      100))) {
		snprintf(err, errlen, "the QR code cannot be made");
		goto fail;
	}
	{
		char foot[512];
		snprintf(foot, sizeof(foot), "转介编号 %s\n报文摘要 SHA-256：\n%s",
			 esc(js(a, "referral_id")), sha[0] ? sha : "（无）");
		put(cr, MARGIN + 100, PAGE_H - MARGIN - 70, w - 100,
		    "DejaVu Sans Mono, " FONT " 7", PANGO_ALIGN_LEFT, foot);
	}
	cairo_show_page(cr);
	st = cairo_status(cr);
	cairo_destroy(cr);
	cairo_surface_finish(sf);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(sf);
	cairo_surface_destroy(sf);
	free(t.buf);
	if (st != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "the PDF cannot be written: %s",
			 cairo_status_to_string(st));
		return REF_E_INVALID;
	}
	return 0;
fail:
	cairo_destroy(cr);
	cairo_surface_finish(sf);
	cairo_surface_destroy(sf);
	free(t.buf);
	return r;
}

/* ---- where the PDF goes ---------------------------------------------- */

struct file_out {
	int fd;
	int err; /* the first write's errno */
};

static cairo_status_t to_file(void *closure, const unsigned char *data,
			      unsigned int len)
{
	struct file_out *f = closure;

	while (len && !f->err) {
		ssize_t w = write(f->fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			f->err = w < 0 ? errno : EIO;
			break;
		}
		data += w;
		len -= (unsigned int)w;
	}
	return f->err ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

int notice_pdf_file(json_t *a, const char *out, char *err, size_t errlen)
{
	struct file_out f = { -1, 0 };
	char tmp[4096];
	int r;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out) >= sizeof(tmp)) {
		snprintf(err, errlen, "the file name is too long");
		return REF_E_INVALID;
	}
	f.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (f.fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
		return r;
	}
	r = render(a, to_file, &f, err, errlen);
	if (f.err) {
		r = -f.err;
		snprintf(err, errlen, "%s: %s", tmp, strerror(f.err));
	}
	if (!r && fsync(f.fd)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
	}
	if (close(f.fd) && !r) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(-r));
	}
	if (!r && rename(tmp, out)) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", out, strerror(-r));
	}
	if (r)
		unlink(tmp);
	return r;
}

struct mem_out {
	char *buf;
	size_t len, cap;
};

static cairo_status_t to_memory(void *closure, const unsigned char *data,
				unsigned int len)
{
	struct mem_out *m = closure;

	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap : 64 * 1024;
		char *nb;

		while (cap < m->len + len)
			cap *= 2;
		if (!(nb = realloc(m->buf, cap)))
			return CAIRO_STATUS_NO_MEMORY;
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, data, len);
	m->len += len;
	return CAIRO_STATUS_SUCCESS;
}

int notice_pdf_memory(json_t *a, char **ret_buf, size_t *ret_len, char *err,
		      size_t errlen)
{
	struct mem_out m = { 0 };
	int r = render(a, to_memory, &m, err, errlen);

	if (r) {
		free(m.buf);
		return r;
	}
	*ret_buf = m.buf;
	*ret_len = m.len;
	return 0;
}

void notice_pdf_release(void)
{
	pango_cairo_font_map_set_default(NULL);
	cairo_debug_reset_static_data();
	FcFini();
}
