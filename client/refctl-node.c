/* refctl-node.c: the commands that ask the running node, through
 * libreferral: submit, the lifecycle moves, supplement, and the queries
 * (status, show, trail, list, overdue, requeue, rotate-data-key).
 *
 * Nothing here reads the store: what these commands print is what the
 * node answers, as JSON with --json or as text. A refusal prints the
 * node's own message, which says what was wrong and what to do. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "cli.h"
#include "i18n.h"
#include "refctl-call.h"
#include "refctl-inbox.h"
#include "refctl-node.h"
#include "referral.h"
#include "util.h"

static int print_json_or(const char *text, void (*human)(json_t *))
{
	json_t *o;

	if (cli_want_json || !human) {
		printf("%s\n", text);
		return 0;
	}
	o = json_loads(text, 0, NULL);
	if (!o)
		return cli_fail(_("the node's reply is not JSON"));
	human(o);
	json_decref(o);
	return 0;
}

static void human_status(json_t *o)
{
	json_t *ob = json_object_get(o, "outbox"), *st = json_object_get(o, "store");

	printf(_("node %s (%s), directory version %lld\n"), cli_js(o, "node"),
	       cli_js(o, "name"), json_integer_value(json_object_get(o,
						     "directory_version")));
	printf(_("outbox: %lld pending, %lld delivered, %lld dead; inbox: %lld\n"),
	       json_integer_value(json_object_get(ob, "pending")),
	       json_integer_value(json_object_get(ob, "delivered")),
	       json_integer_value(json_object_get(ob, "dead")),
	       json_integer_value(json_object_get(o, "inbox")));
	printf(_("store: %lld of %lld bytes used%s\n"),
	       json_integer_value(json_object_get(st, "used_bytes")),
	       json_integer_value(json_object_get(st, "max_bytes")),
	       json_is_true(json_object_get(st, "accepting_submissions"))
	       ? "" : _(" (FULL: new submissions refused)"));
	{
		json_t *cal = json_object_get(o, "calendar");
		json_t *yrs = json_object_get(cal, "years"), *y;
		size_t i;
		printf(_("holiday calendar: %s, years"), cli_js(cal, "file"));
		json_array_foreach(yrs, i, y)
			printf(" %lld", json_integer_value(y));
		printf("%s\n", json_array_size(yrs) ? "" : _(" none"));
		if (json_object_get(cal, "warning"))
			printf(_("WARNING: %s; add the State Council's notice for "
			       "it (docs/CONFIG.md, \"The holiday calendar\")\n"),
			       i18n_detail(cli_js(cal, "warning")));
	}
	if (json_object_get(o, "dedup")) {
		json_t *dd = json_object_get(o, "dedup");
		printf(_("dedup: %lld message ids held for the %lld ms replay "
		       "window; %lld pruned since the start\n"),
		       json_integer_value(json_object_get(dd, "seen")),
		       json_integer_value(json_object_get(dd, "window_ms")),
		       json_integer_value(json_object_get(dd, "pruned")));
	}
	{
		json_t *q = json_object_get(o, "peer_quota"), *it;
		size_t i;
		json_array_foreach(q, i, it)
			if (json_is_true(json_object_get(it, "nearly_full")))
				printf(_("peer %s: %lld of %lld bytes of its store "
				       "quota used%s; %lld changes held\n"),
				       cli_js(it, "peer"), json_integer_value(
				       json_object_get(it, "stored_bytes")),
				       json_integer_value(json_object_get(it,
				       "quota_bytes")), json_is_true(
				       json_object_get(it, "over"))
				       ? _(" (OVER: its messages wait at the "
					 "sender)") : _(" (nearly full)"),
				       json_integer_value(json_object_get(it,
				       "held")));
	}
	{
		json_t *dk = json_object_get(o, "data_key");
		printf(_("signing key %s; personal data sealed under data key "
		       "%lld (%s)%s\n"), cli_js(o, "key_id"),
		       json_integer_value(json_object_get(dk, "key")),
		       cli_js(dk, "alg"),
		       json_is_true(json_object_get(dk, "resealing"))
		       ? _(", re-sealing under way") : "");
	}
}


/* What a history step records besides a move, for people. */
static const char *step_kind(json_t *step)
{
	static char buf[80];
	const char *g = json_string_value(json_object_get(step, "urgency_ground"));

	if (g) {
		snprintf(buf, sizeof(buf), _(" (urgency finding, Art 44: %s)"), g);
		return buf;
	}
	if (json_object_get(step, "supplement"))
		return _(" (materials supplied)");
	if (json_object_get(step, "further_request"))
		return _(" (a further request for materials)");
	if (json_object_get(step, "withdrawal"))
		return _(" (the applicant's written withdrawal)");
	return "";
}

static void human_show(json_t *o)
{
	json_t *rc = json_object_get(o, "receipt");

	printf(_("referral  %s (%s)\n"), cli_js(o, "referral_id"), cli_js(o, "direction"));
	printf(_("from %s to %s, %s / %s, state %s\n"), cli_js(o, "origin"),
	       cli_js(o, "receiver"), cli_js(o, "case_type"), cli_js(o, "service"),
	       i18n_state(cli_js(o, "state")));
	printf(_("created   %s\n"), cli_jt(o, "created_at"));
	printf(_("delivery  %s"), cli_js(o, "delivery"));
	if (json_object_get(o, "attempts"))
		printf(_(" after %lld attempt(s)"),
		       json_integer_value(json_object_get(o, "attempts")));
	printf("\n");
	if (json_object_get(o, "dead_reason"))
		printf(_("reason    %s\n"), cli_js(o, "dead_reason"));
	if (rc)
		printf(_("receipt   %s at %s, signed by %s (%s)\n"), cli_js(rc, "status"),
		       cli_jt(rc, "received_at"), cli_js(rc, "signed_by"),
		       json_is_true(json_object_get(rc, "verified"))
		       ? _("signature verified") : _("SIGNATURE DOES NOT VERIFY"));
	printf(_("priority  %s\n"), cli_js(o, "priority"));
	if (json_object_get(o, "recommendation"))
		printf(_("eligibility recommendation: %s (%s)\n"),
		       i18n_detail(cli_js(json_object_get(o, "recommendation"),
					  "outcome")),
		       i18n_detail(cli_js(json_object_get(o, "recommendation"),
					  "rule")));
	{
		json_t *arr = json_object_get(o, "materials_owed"), *it;
		size_t i;
		/* Aid first (Art 44) leaves these owed until they arrive. */
		if (arr) {
			printf(_("owed      materials still owed after aid first:"));
			json_array_foreach(arr, i, it)
				printf("%s %s", i ? ";" : "", json_string_value(it));
			printf("\n");
		}
		arr = json_object_get(o, "clocks");
		json_array_foreach(arr, i, it) {
			if (json_object_get(it, "due"))
				printf(_("clock     %-10s due %s%s\n"), cli_js(it, "clock"),
				       cli_due(it, "due_day", "due"),
				       json_is_true(json_object_get(it, "overdue"))
				       ? _("  OVERDUE") : "");
			else
				printf(_("clock     %-10s paused, %lld day(s) left\n"),
				       cli_js(it, "clock"), json_integer_value(
					       json_object_get(it, "days_left")));
		}
		arr = json_object_get(o, "history");
		json_array_foreach(arr, i, it) {
			const char *why = json_string_value(
				json_object_get(it, "reason"));
			char tail[1200] = "";

			/* The node's own reasons ("materials supplied") in the
			 * reader's words; staff's own text as they wrote it. */
			if (why && *why)
				snprintf(tail, sizeof(tail), _(": %s"),
					 i18n_detail(why));
			printf(_("history   %-18s by %s at %s%s%s\n"),
			       i18n_state(cli_js(it, "state")), cli_js(it, "by"),
			       cli_jt(it, "at"), step_kind(it), tail);
		}
	}
	refctl_inbox_sheet(o);
}

static void human_list(json_t *o)
{
	json_t *arr = json_object_get(o, "referrals"), *it;
	size_t i;

	printf(_("%s: %zu referral(s)\n"), cli_js(o, "box"), json_array_size(arr));
	json_array_foreach(arr, i, it) {
		printf("  %s  %s->%s  %-10s %-15s %s", cli_js(it, "referral_id"),
		       cli_js(it, "origin"), cli_js(it, "receiver"), i18n_state(cli_js(it, "state")),
		       cli_js(it, "case_type"), cli_js(it, "delivery"));
		if (json_object_get(it, "next_due"))
			printf(_("  due %s"), cli_due(it, "next_due_day", "next_due"));
		printf("\n");
	}
}

static void human_dead(json_t *o)
{
	json_t *arr = json_object_get(o, "messages"), *it;
	size_t i;

	printf(_("%zu dead message(s) (refctl requeue ID|--all sends them again)\n"),
	       json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf(_("  %s  %-20s to %s  created %s  %lld attempt(s): %s\n"),
		       cli_js(it, "referral_id"), cli_js(it, "kind"),
		       cli_js(it, "to"), cli_js(it, "created"),
		       json_integer_value(json_object_get(it, "attempts")),
		       cli_js(it, "reason"));
}

static void human_requeued(json_t *o)
{
	json_t *arr = json_object_get(o, "requeued"), *it;
	size_t i;

	printf(_("%zu message(s) sent again\n"), json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf("  %s  %s -> %s\n", cli_js(it, "referral_id"),
		       cli_js(it, "msg_id"), cli_js(it, "sent_as"));
}

static void human_trail(json_t *o)
{
	json_t *arr = json_object_get(o, "events"), *it;
	size_t i;

	printf(_("trail of %s\n"), cli_js(o, "referral_id"));
	json_array_foreach(arr, i, it)
		printf(_("  #%lld %s %-10s %-10s peer=%s actor=%s %s\n"),
		       json_integer_value(json_object_get(it, "seq")),
		       cli_jt(it, "time"), cli_js(it, "event"), cli_js(it, "outcome"),
		       cli_js(it, "peer"), cli_js(it, "actor"), cli_js(it, "detail"));
}

static void human_rotated(json_t *o)
{
	printf(_("data key %lld (%s) is current; every record is being sealed "
	       "again under it, then the old key is dropped (refctl status "
	       "shows when)\n"), json_integer_value(json_object_get(o, "key")),
	       cli_js(o, "alg"));
}

static int node_call(int r, ref_client_t *c, char **textp,
		     void (*human)(json_t *))
{
	char *text = *textp;

	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	r = print_json_or(text, human);
	free(text);
	ref_close(&c);
	return r;
}

/* After submit --auto: the id, and where the node sent it (its record:
 * the receiver it committed, not a second guess at the route). */
static int print_routed(ref_client_t *c, const char *id)
{
	char *text = NULL;
	json_t *o = NULL;
	const char *to = "";

	if (!ref_show(c, id, &text))
		o = json_loads(text, 0, NULL);
	free(text);
	if (o)
		to = cli_js(o, "receiver");
	if (cli_want_json) {
		json_t *a = json_pack("{s:s, s:s}", "referral_id", id, "to", to);
		cli_print_json(a);
		json_decref(a);
	} else {
		printf("%s\n", id);
		fprintf(stderr, _("sent to %s (picked from the directory: "
			"refctl route FILE says why)\n"), to);
	}
	json_decref(o);
	return 0;
}

int refctl_node_submit(int argc, char **argv)
{
	static const char *const with_value[] = { "--to", NULL };
	const char *to = cli_opt(argc, argv, "--to");
	const char *file = cli_positional(argc - 1, argv + 1, 0, with_value);
	ref_client_t *c = NULL;
	uint8_t *text;
	size_t len;
	char *id = NULL, *dir, *slash;
	int r;

	if ((!to && !cli_flag(argc, argv, "--auto")) || !file)
		return cli_usage();
	if (to && cli_flag(argc, argv, "--auto"))
		return cli_fail(_("give --to CODE or --auto, not both"));
	r = util_read_file(file, 512u << 20, &text, &len);
	if (r)
		return cli_fail(_("cannot read %s: %s"), file, ref_strerror(r));
	if (cli_client(&c)) {
		free(text);
		return 1;
	}
	dir = strdup(file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	r = ref_submit(c, to, (char *)text, dir, cli_actor, &id);
	free(dir);
	free(text);
	if (r) {
		cli_fail("%s: %s", file, i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	if (!to)
		r = print_routed(c, id);
	else if (cli_want_json)
		printf("{\"referral_id\": \"%s\"}\n", id);
	else
		printf("%s\n", id);
	free(id);
	ref_close(&c);
	return r;
}

int refctl_node_move(int argc, char **argv)
{
	const char *cmd = argv[0];
	static const char *const with_value[] = { "--reason", "--basis",
		"--item", "--firm", "--lawyer", "--licence", "--report", "--to",
		"--doc", "--ground", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	ref_move_t m = { 0 };
	const char **items = NULL;
	char *report = NULL, *out_id = NULL;
	ref_client_t *c = NULL;
	int r;

	if (!id)
		return cli_usage();
	m.reason = cli_opt(argc, argv, "--reason");
	if (!strcmp(cmd, "accept")) {
		m.state = "GRANTED";
	} else if (!strcmp(cmd, "deny")) {
		m.state = "DENIED";
		m.legal_basis = cli_opt(argc, argv, "--basis");
	} else if (!strcmp(cmd, "request-materials")) {
		m.state = "AWAITING_MATERIALS";
		m.n_items = cli_opts_all(argc, argv, "--item", &items);
		m.items = items;
	} else if (!strcmp(cmd, "assign")) {
		m.state = "ASSIGNED";
		m.firm = cli_opt(argc, argv, "--firm");
		m.lawyer = cli_opt(argc, argv, "--lawyer");
		m.licence_no = cli_opt(argc, argv, "--licence");
	} else if (!strcmp(cmd, "start") || !strcmp(cmd, "resume")) {
		m.state = "IN_PROGRESS";
	} else if (!strcmp(cmd, "hold")) {
		m.state = "ON_HOLD";
	} else if (!strcmp(cmd, "cancel")) {
		m.state = "CANCELLED";
		if (cli_flag(argc, argv, "--applicant-withdrawal"))
			m.withdrawal = "written";
	} else if (!strcmp(cmd, "mark-urgent")) {
		m.state = "";
		m.urgency_ground = cli_opt(argc, argv, "--ground");
		if (!m.urgency_ground)
			return cli_fail(_("mark-urgent needs --ground limitation|"
					"preservation|other and --reason TEXT"));
	} else if (!strcmp(cmd, "refer-onward")) {
		m.state = "REFERRED_ONWARD";
		m.onward_to = cli_opt(argc, argv, "--to");
	} else if (!strcmp(cmd, "pre-aid")) {
		m.state = "GRANTED";
		m.aid_first = 1;
	}
	if (cli_client(&c)) {
		free(items);
		free(report);
		return 1;
	}
	r = ref_move(c, id, &m, cli_actor, &out_id);
	free(items);
	free(report);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	if (cli_want_json)
		printf("{\"referral_id\": \"%s\", \"state\": \"%s\"}\n", out_id,
		       m.state);
	else if (!strcmp(cmd, "refer-onward"))
		printf(_("%s now REFERRED_ONWARD; new referral %s\n"), id, out_id);
	else if (!strcmp(cmd, "mark-urgent"))
		printf(_("%s: urgency finding (%s) recorded; the referral is "
		       "urgent%s%s\n"), id, m.urgency_ground,
		       *ref_last_error(c) ? "; " : "", ref_last_error(c));
	else if (*ref_last_error(c))
		printf("%s: %s %s\n", id, i18n_state(m.state),
		       i18n_detail(ref_last_error(c)));
	else
		printf(_("%s now %s\n"), id, i18n_state(m.state));
	free(out_id);
	ref_close(&c);
	return 0;
}

int refctl_node_supplement(int argc, char **argv)
{
	static const char *const with_value[] = { "--doc", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char **docs = NULL;
	size_t n = cli_opts_all(argc, argv, "--doc", &docs);
	ref_client_t *c = NULL;
	int r;

	if (!id || !n) {
		free(docs);
		return cli_fail(_("supplement needs ID and at least one --doc FILE"));
	}
	if (cli_client(&c)) {
		free(docs);
		return 1;
	}
	r = ref_supplement(c, id, docs, n, cli_actor);
	free(docs);
	if (r) {
		cli_fail("%s", i18n_detail(ref_last_error(c)));
		ref_close(&c);
		return 1;
	}
	if (cli_want_json)
		printf("{\"referral_id\": \"%s\", \"requested\": \"RECEIVED\"}\n", id);
	else
		printf(_("%s: %zu document(s) %s\n"), id, n,
		       i18n_detail(ref_last_error(c)));
	ref_close(&c);
	return 0;
}

static void human_overdue(json_t *o)
{
	json_t *arr = json_object_get(o, "overdue"), *it;
	size_t i;

	printf(_("%zu clock(s) past due or due within 24 hours\n"),
	       json_array_size(arr));
	json_array_foreach(arr, i, it)
		printf(_("  %s  %-18s %-10s due %s%s\n"), cli_js(it, "referral_id"),
		       i18n_state(cli_js(it, "state")), cli_js(it, "clock"),
		       cli_due(it, "due_day", "due"),
		       json_is_true(json_object_get(it, "overdue"))
		       ? _("  OVERDUE") : "");
}

/* The queries: one call each, printed by its human_* or as JSON. */

int refctl_node_status(int argc, char **argv)
{
	ref_client_t *c = NULL;
	char *text = NULL;

	(void)argc;
	(void)argv;
	if (cli_client(&c))
		return 1;
	return node_call(ref_status(c, &text), c, &text, human_status);
}

int refctl_node_overdue(int argc, char **argv)
{
	ref_client_t *c = NULL;
	char *text = NULL;

	(void)argc;
	(void)argv;
	if (cli_client(&c))
		return 1;
	return node_call(ref_overdue(c, &text), c, &text, human_overdue);
}

int refctl_node_rotate_data_key(int argc, char **argv)
{
	ref_client_t *c = NULL;
	char *text = NULL;

	(void)argc;
	(void)argv;
	if (cli_client(&c))
		return 1;
	return node_call(ref_rotate_data_key(c, cli_actor, &text), c, &text,
			 human_rotated);
}

/* refctl show ID, refctl trail ID. */
int refctl_node_show(int argc, char **argv)
{
	ref_client_t *c = NULL;
	char *text = NULL;
	bool trail = !strcmp(argv[0], "trail");
	int r;

	if (argc < 2)
		return cli_usage();
	if (cli_client(&c))
		return 1;
	r = trail ? ref_trail(c, argv[1], &text) : ref_show(c, argv[1], &text);
	return node_call(r, c, &text, trail ? human_trail : human_show);
}

/* refctl list --inbox|--outbox|--dead: exactly one of them. */
int refctl_node_list(int argc, char **argv)
{
	bool in = cli_flag(argc, argv, "--inbox");
	bool out = cli_flag(argc, argv, "--outbox");
	bool dead = cli_flag(argc, argv, "--dead");
	ref_client_t *c = NULL;
	char *text = NULL;
	int r;

	if (cli_flag(argc, argv, "--held") && in + out + dead == 0)
		return refctl_call_held_list();

	if (in + out + dead != 1)
		return cli_usage();
	if (!dead)
		return refctl_inbox_list(argc, argv, in, human_list);
	if (cli_client(&c))
		return 1;
	r = ref_list(c, in ? REF_BOX_INBOX : out ? REF_BOX_OUTBOX : REF_BOX_DEAD,
		     &text);
	return node_call(r, c, &text, dead ? human_dead : human_list);
}

/* refctl requeue ID|--all: one of them, not both. */
int refctl_node_requeue(int argc, char **argv)
{
	bool all = cli_flag(argc, argv, "--all");
	const char *id = argc > 1 && strncmp(argv[1], "--", 2) ? argv[1] : NULL;
	ref_client_t *c = NULL;
	char *text = NULL;

	if (all == (id != NULL))
		return cli_usage();
	if (cli_client(&c))
		return 1;
	return node_call(ref_requeue(c, id, cli_actor, &text), c, &text,
			 human_requeued);
}
