/* refctl-call.c: see refctl-call.h. Every command here is one ref_call
 * (client/referral.h) with its options as JSON; the node checks them. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "refctl-call.h"
#include "util.h"

static const char *token; /* refctl call --token: as a token's holder */
static const char *request_id; /* refctl call --request-id: a retry */

/* One call (cli_call), with this command's token and request id. */
static int call(const char *name, const char *referral_id, json_t *opts,
		void (*show)(json_t *answer))
{
	return cli_call(name, token, request_id, referral_id, opts, show);
}

static void set_opt(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void show_token(json_t *a)
{
	printf(_("token %s (%s): %s\n"), cli_js(a, "name"), cli_js(a, "scope"),
	       cli_js(a, "token"));
	printf(_("It is shown only now: the node keeps only its hash. Give it to "
	       "the system that uses it over a safe channel.\n"));
}

static void show_tokens(json_t *a)
{
	json_t *arr = json_object_get(a, "tokens"), *it;
	size_t i;

	json_array_foreach(arr, i, it)
		printf(_("%-24s %-7s %-7s %s, expires %s\n"), cli_js(it, "name"),
		       cli_js(it, "scope"), cli_js(it, "code"),
		       json_is_true(json_object_get(it, "in_force"))
		       ? _("in force") : _("not in force"), cli_js(it, "expires_at"));
	if (!i)
		printf(_("no tokens\n"));
}

int refctl_call_token(int argc, char **argv)
{
	json_t *o = json_object();
	const char *sub = argc > 1 ? argv[1] : "";

	if (!strcmp(sub, "create")) {
		const char *name = cli_opt(argc, argv, "--name");
		const char *scope = cli_opt(argc, argv, "--scope");
		if (!name || !scope) {
			json_decref(o);
			return cli_fail(_("token create needs --name NAME and --scope "
					"court|labour|staff|admin"));
		}
		set_opt(o, "name", name);
		set_opt(o, "scope", scope);
		set_opt(o, "code", cli_opt(argc, argv, "--code"));
		set_opt(o, "expires", cli_opt(argc, argv, "--expires"));
		return call("token-create", NULL, o, show_token);
	}
	if (!strcmp(sub, "list"))
		return call("token-list", NULL, o, show_tokens);
	if (!strcmp(sub, "revoke") && argc > 2) {
		set_opt(o, "name", argv[2]);
		return call("token-revoke", NULL, o, NULL);
	}
	json_decref(o);
	return cli_usage();
}

static void show_held(json_t *a)
{
	json_t *arr = json_object_get(a, "held"), *it;
	size_t i;

	json_array_foreach(arr, i, it)
		printf(_("%s seq %lld from %s: %s, %lld bytes, held since %s, "
		       "dropped at %s\n"), cli_js(it, "referral_id"),
		       json_integer_value(json_object_get(it, "referral_seq")),
		       cli_js(it, "from"), cli_js(it, "kind"),
		       json_integer_value(json_object_get(it, "bytes")),
		       cli_js(it, "received_at"), cli_js(it, "expires_at"));
	if (!i)
		printf(_("no held changes\n"));
}

int refctl_call_held_list(void)
{
	return call("held-list", NULL, json_object(), show_held);
}

static void show_dropped(json_t *a)
{
	printf(_("%lld held changes dropped (audited)\n"),
	       json_integer_value(json_object_get(a, "dropped")));
}

int refctl_call_held(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";
	const char *from = cli_opt(argc, argv, "--from");
	const char *seq = cli_opt(argc, argv, "--seq");
	json_t *o;

	if (!strcmp(sub, "list"))
		return refctl_call_held_list();
	if (strcmp(sub, "drop") || (!from) == (argc < 3 || argv[2][0] == '-'))
		return cli_fail(_("held drop needs a referral id or --from CODE "
				"(one of them)"));
	o = json_object();
	if (from) {
		set_opt(o, "from", from);
	} else {
		set_opt(o, "referral_id", argv[2]);
		if (seq)
			json_object_set_new(o, "referral_seq",
					    json_integer(atoll(seq)));
	}
	return call("held-drop", NULL, o, show_dropped);
}

static void show_move(json_t *a)
{
	printf(_("%s now %s\n"), cli_js(a, "referral_id"), cli_js(a, "state"));
}

int refctl_call_reassign(int argc, char **argv)
{
	static const char *const with_value[] = { "--firm", "--lawyer",
		"--licence", "--contact", "--reason", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	json_t *o = json_object();

	if (!id) {
		json_decref(o);
		return cli_usage();
	}
	set_opt(o, "firm", cli_opt(argc, argv, "--firm"));
	set_opt(o, "lawyer", cli_opt(argc, argv, "--lawyer"));
	set_opt(o, "licence_no", cli_opt(argc, argv, "--licence"));
	set_opt(o, "contact", cli_opt(argc, argv, "--contact"));
	set_opt(o, "reason", cli_opt(argc, argv, "--reason"));
	return call("reassign", id, o, show_move);
}

/* An application file whose documents name files: each read here, beside
 * the file, and sent inline (the node reads no path a caller names). */
static json_t *application_file(const char *path)
{
	json_error_t e;
	json_t *app = json_load_file(path, 0, &e), *docs, *d;
	char dir[PATH_MAX];
	size_t i;

	if (!app) {
		cli_fail(_("%s does not parse: %s (line %d)"), path, e.text, e.line);
		return NULL;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(dir, sizeof(dir), "%s", dirname(dir));
	docs = json_object_get(app, "documents");
	json_array_foreach(docs, i, d) {
		const char *file = json_string_value(json_object_get(d, "file"));
		char full[PATH_MAX * 2];
		uint8_t *bytes;
		size_t len;
		char *b64;

		if (!file)
			continue;
		snprintf(full, sizeof(full), "%s/%s", file[0] == '/' ? "" : dir,
			 file);
		if (util_read_file(full, 64u << 20, &bytes, &len) ||
		    util_b64_encode(bytes, len, &b64)) {
			cli_fail(_("documents[%zu]: cannot read %s"), i, full);
			json_decref(app);
			return NULL;
		}
		free(bytes);
		json_object_del(d, "file");
		json_object_set_new(d, "content_base64", json_string(b64));
		free(b64);
	}
	return app;
}

static void show_event(json_t *a)
{
	printf(_("event %s sent about %s to %s\n"), cli_js(a, "event_id"),
	       cli_js(a, "referral_id"), cli_js(a, "to"));
}

int refctl_call_event(int argc, char **argv)
{
	static const char *const with_value[] = { "--to", "--referral",
		"--case-ref", "--application", "--detail", "--at", NULL };
	const char *type = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *app = cli_opt(argc, argv, "--application");
	json_t *o = json_object();

	if (!type) {
		json_decref(o);
		return cli_usage();
	}
	set_opt(o, "type", type);
	set_opt(o, "to", cli_opt(argc, argv, "--to"));
	set_opt(o, "referral_id", cli_opt(argc, argv, "--referral"));
	set_opt(o, "case_ref", cli_opt(argc, argv, "--case-ref"));
	set_opt(o, "detail", cli_opt(argc, argv, "--detail"));
	set_opt(o, "at", cli_opt(argc, argv, "--at"));
	if (app) {
		json_t *a = application_file(app);
		if (!a) {
			json_decref(o);
			return 1;
		}
		json_object_set_new(o, "application", a);
	}
	return call("event", NULL, o, show_event);
}

static void show_feed(json_t *a)
{
	json_t *arr = json_object_get(a, "events"), *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		json_t *as = json_object_get(it, "assignment");
		printf("%s %-20s %s%s%s%s%s\n",
		       cli_js(it, "at"), cli_js(it, "type"),
		       cli_js(it, "referral_id"), as ? _(" lawyer ") : "",
		       as ? cli_js(as, "lawyer") : "", as ? " " : "",
		       as ? cli_js(as, "contact") : "");
	}
	printf(_("next cursor: %s\n"), cli_js(a, "next_cursor"));
}

int refctl_call_events(int argc, char **argv)
{
	json_t *o = json_object();

	set_opt(o, "cursor", cli_opt(argc, argv, "--cursor"));
	return call("events", NULL, o, show_feed);
}

int refctl_call_any(int argc, char **argv)
{
	static const char *const with_value[] = { "--referral", "--token",
		"--request-id", NULL };
	const char *name = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *text = cli_positional(argc - 1, argv + 1, 1, with_value);
	json_t *o = text ? json_loads(text, 0, NULL) : json_object();

	if (!name || !o) {
		json_decref(o);
		return cli_fail(_("call NAME [--referral ID] [JSON options]"));
	}
	token = cli_opt(argc, argv, "--token");
	request_id = cli_opt(argc, argv, "--request-id");
	return call(name, cli_opt(argc, argv, "--referral"), o, NULL);
}
