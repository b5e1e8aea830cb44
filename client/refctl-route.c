/* refctl-route.c: see refctl-route.h. The node decides (its directory,
 * route.c); refctl only shows its answer, so refctl and the gateway
 * never disagree about where a matter goes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "i18n.h"
#include "referral.h"
#include "refctl-route.h"
#include "util.h"

int refctl_route(int argc, char **argv)
{
	static const char *const with_value[] = { NULL };
	const char *file = cli_positional(argc - 1, argv + 1, 0, with_value);
	json_error_t jerr;
	json_t *app, *opts, *ans, *it;
	size_t i;
	int r;

	if (!file)
		return cli_usage();
	app = json_load_file(file, 0, &jerr);
	if (!json_is_object(app)) {
		json_decref(app);
		return cli_fail(_("%s: not a JSON application (line %d: %s)"), file,
				jerr.line, jerr.text);
	}
	/* Routing reads the matter only; documents given as files stay
	 * here (they would need this folder to be read). */
	json_object_del(app, "documents");
	opts = json_pack("{s:o}", "application", app);
	r = cli_ask("route", NULL, NULL, NULL, opts, &ans);
	if (r)
		return r;
	if (cli_want_json) {
		cli_print_json(ans);
	} else if (json_object_get(ans, "to")) {
		printf("%s %s\n", cli_js(ans, "to"), cli_js(ans, "to_name"));
		printf(_("why: %s\n"), i18n_detail(cli_js(ans, "why")));
	} else {
		printf(_("no centre picked (%s)\n"), cli_js(ans, "how"));
		printf(_("why: %s\n"), i18n_detail(cli_js(ans, "why")));
		json_array_foreach(json_object_get(ans, "candidates"), i, it)
			printf(_("  candidate %s %s\n"), cli_js(it, "code"),
			       cli_js(it, "name"));
	}
	r = json_object_get(ans, "to") ? 0 : 1;
	json_decref(ans);
	return r;
}
