/* refctl-closing.c: see refctl-closing.h. One ref_call per command, its
 * options as JSON; the node checks them and names what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "refctl-closing.h"
#include "util.h"

static void show_state(json_t *ans)
{
	printf(_("%s now %s\n"), cli_js(ans, "referral_id"),
	       i18n_state(cli_js(ans, "state")));
}

static int call(const char *name, const char *id, json_t *opts)
{
	return cli_call(name, NULL, NULL, id, opts, show_state);
}

static void set_opt(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

int refctl_closing_terminate(int argc, char **argv)
{
	static const char *const with_value[] = { "--ground", "--reason",
		"--basis", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	json_t *o;

	if (!id)
		return cli_usage();
	o = json_object();
	set_opt(o, "ground", cli_opt(argc, argv, "--ground"));
	set_opt(o, "reason", cli_opt(argc, argv, "--reason"));
	set_opt(o, "legal_basis", cli_opt(argc, argv, "--basis"));
	return call("terminate", id, o);
}

int refctl_closing_close(int argc, char **argv)
{
	static const char *const with_value[] = { "--report", "--outcome",
		NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *f = cli_opt(argc, argv, "--report");
	uint8_t *text;
	size_t len;
	json_t *o;
	int r;

	if (!id)
		return cli_usage();
	if (!f)
		return cli_fail(_("close needs --report FILE (the closing report)"));
	r = util_read_file(f, 1 << 20, &text, &len);
	if (r)
		return cli_fail(_("cannot read %s: %s"), f, ref_strerror(r));
	if (!util_utf8_valid((const char *)text, strlen((const char *)text))) {
		free(text);
		return cli_fail(_("%s is not UTF-8 text"), f);
	}
	o = json_object();
	json_object_set_new(o, "report", json_string((const char *)text));
	free(text);
	set_opt(o, "outcome", cli_opt(argc, argv, "--outcome"));
	return call("close", id, o);
}

int refctl_closing_object(int argc, char **argv)
{
	static const char *const with_value[] = { "--centre", "--reason", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	json_t *o;

	if (!id)
		return cli_usage();
	o = json_object();
	set_opt(o, "centre", cli_opt(argc, argv, "--centre"));
	set_opt(o, "reason", cli_opt(argc, argv, "--reason"));
	return call("object", id, o);
}

int refctl_closing_decide(int argc, char **argv)
{
	static const char *const with_value[] = { "--reason", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	bool up = cli_flag(argc, argv, "--uphold");
	bool gr = cli_flag(argc, argv, "--grant");
	json_t *o;

	if (!id)
		return cli_usage();
	if (up == gr)
		return cli_fail(_("decide-objection needs --uphold or --grant"));
	o = json_object();
	set_opt(o, "decision", up ? "uphold" : "grant");
	set_opt(o, "reason", cli_opt(argc, argv, "--reason"));
	return call("decide-objection", id, o);
}

int refctl_closing_review(int argc, char **argv)
{
	static const char *const with_value[] = { "--follow-up", "--on",
		"--score", "--note", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *score = cli_opt(argc, argv, "--score");
	json_t *o;

	if (!id)
		return cli_usage();
	o = json_object();
	set_opt(o, "follow_up", cli_opt(argc, argv, "--follow-up"));
	set_opt(o, "follow_up_on", cli_opt(argc, argv, "--on"));
	set_opt(o, "note", cli_opt(argc, argv, "--note"));
	if (score) {
		char *end;
		long v = strtol(score, &end, 10);
		if (end == score || *end || v < 1 || v > 100) {
			json_decref(o);
			return cli_fail(_("--score must be a whole number from 1 "
					"to 100"));
		}
		json_object_set_new(o, "quality_score", json_integer(v));
	}
	return call("review", id, o);
}
