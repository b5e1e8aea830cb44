/* refctl-notice.c: refctl notice ID --type KIND --out FILE.pdf, and
 * refctl notified ID --how HOW --on DATE.
 *
 * The node gives the notice's fields and its number ("notice-data");
 * notice-pdf.c lays it out. Nothing of the applicant is printed to the
 * terminal: only the notice's name, its number and the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "notice-pdf.h"
#include "refctl-notice.h"
#include "util.h"

static const char *js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

/* ---- the command ------------------------------------------------------ */

static int call(const char *name, const char *id, json_t *opts, json_t **ret)
{
	return cli_ask(name, NULL, NULL, id, opts, ret);
}

int refctl_notice(int argc, char **argv)
{
	static const char *const with_value[] = { "--type", "--out", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *type = cli_opt(argc, argv, "--type");
	const char *out = cli_opt(argc, argv, "--out");
	json_t *a = NULL, *note;
	char err[512];
	int r;

	if (!id || !type || !out)
		return cli_usage();
	if (call("notice-data", id, json_pack("{s:s}", "type", type), &a))
		return 1;
	r = notice_pdf_file(a, out, err, sizeof(err));
	notice_pdf_release();
	if (r) {
		json_decref(a);
		return cli_fail(_("notice for %s: %s"), id, err);
	}
	note = json_object_get(a, "notice");
	if (cli_want_json)
	{
		json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "referral_id", id,
				      "type", js(note, "type"), "number",
				      js(note, "number"), "file", out);
		cli_print_json(o);
		json_decref(o);
	}
	else
		printf(_("%s %s written to %s\n"), js(note, "title"),
		       js(note, "number"), out);
	json_decref(a);
	return 0;
}

int refctl_notified(int argc, char **argv)
{
	static const char *const with_value[] = { "--how", "--on", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *how = cli_opt(argc, argv, "--how");
	const char *on = cli_opt(argc, argv, "--on");
	json_t *a = NULL;

	if (!id || !how || !on)
		return cli_usage();
	if (call("notified", id, json_pack("{s:s, s:s}", "how", how, "on", on),
		 &a))
		return 1;
	if (cli_want_json)
		cli_print_json(a);
	else if (json_object_get(a, "note"))
		printf(_("%s: the notification (%s, %s) %s\n"), id,
		       gettext(how), on,
		       i18n_detail(js(a, "note")));
	else
		printf(_("%s: the notification (%s, %s) is in the history\n"), id,
		       gettext(how), on);
	json_decref(a);
	return 0;
}
