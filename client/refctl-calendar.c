/* refctl-calendar.c: see refctl-calendar.h. The node computes; this file
 * checks the arguments and prints the answer as the day the period ends. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "refctl-calendar.h"

static void show_due(json_t *a)
{
	printf(_("%lld day(s) from %s, counted from %s: day %lld is %s\n"),
	       json_integer_value(json_object_get(a, "days")),
	       cli_js(a, "from"), cli_js(a, "counting_from"),
	       json_integer_value(json_object_get(a, "days")),
	       cli_js(a, "last_counted_day"));
	if (json_is_true(json_object_get(a, "extended")))
		printf(_("that is a rest day: the period ends on the next "
		       "working day (Civil Code Art 203)\n"));
	printf(_("due: %s\n"), cli_due(a, "due_day", "due"));
	if (json_object_get(a, "warning"))
		printf(_("WARNING: %s (calendar: %s)\n"), cli_js(a, "warning"),
		       cli_js(a, "calendar"));
}

int refctl_calendar(int argc, char **argv)
{
	const char *from = cli_opt(argc, argv, "--from");
	const char *days = cli_opt(argc, argv, "--days");
	ref_client_t *c = NULL;
	char *text, *out = NULL, *end = NULL;
	json_t *o, *ans;
	long n;
	int r;

	if (argc < 2 || strcmp(argv[1], "due"))
		return cli_usage();
	if (!from || !days) {
		cli_fail(_("calendar due needs --from YYYY-MM-DD and --days N"));
		return 2;
	}
	n = strtol(days, &end, 10);
	if (!days[0] || *end || n < 1 || n > 3650) {
		cli_fail(_("--days \"%s\" is not a number of days from 1 to 3650"),
			 days);
		return 2;
	}
	o = json_pack("{s:s, s:I}", "from", from, "days", (json_int_t)n);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return cli_fail(_("out of memory"));
	if (cli_client(&c)) {
		free(text);
		return 1;
	}
	r = ref_call(c, "calendar-due", NULL, cli_actor, NULL, NULL, text, &out);
	free(text);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	ans = json_loads(out, 0, NULL);
	free(out);
	ref_close(&c);
	if (!ans)
		return cli_fail(_("the node's reply is not JSON"));
	if (cli_want_json)
		cli_print_json(ans);
	else
		show_due(ans);
	json_decref(ans);
	return 0;
}
