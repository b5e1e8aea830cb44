/* cli.c: see cli.h. The usage text lives here, beside the parsing, so
 * that any command can print it on bad usage without calling back up
 * into main. Commands and flags named in the README are fixed: tests and
 * other tools drive them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"

bool cli_want_json;
const char *cli_data_dir;
const char *cli_actor;

int cli_usage(void)
{
	fputs(_(
"usage: refctl [--data DIR] [--json] COMMAND ...\n"
"\n"
"Setting up a node:\n"
"  init --data DIR --node CODE --name NAME --listen tcp://HOST:PORT\n"
"       --authority PUBKEY.pem [--alg ed25519|sm2-sm3] [--role ROLE]\n"
"       [--endpoint tcp://HOST:PORT] [--accepts TYPE,TYPE...]\n"
"  authority keygen --out DIR [--alg ed25519|sm2-sm3]\n"
"  directory assemble --version N --authority CODE --out FILE ENTRY.json...\n"
"  directory sign --key AUTHORITY_KEY directory.json\n"
"  directory verify --authority PUBKEY.pem directory.json\n"
"  directory publish directory.json  (at the authority's node: to every node)\n"
"  directory show                    (the version in force, its nodes and keys)\n"
"  rotate-keys [--switch-after 1h] [--overlap 1d]   (prints the new entry)\n"
"  rotate-data-key                   (admin: re-seals the store while it serves)\n"
"\n"
"Working with referrals (DIR may come from REFERRAL_DATA):\n"
"  status\n"
"  example application\n"
"  submit --to CODE FILE.json [--actor STAFF_ID]\n"
"  submit --auto FILE.json          (the centre serving the matter's handling\n"
"                                    body or division, else the fallback)\n"
"  route FILE.json                  which centre --auto picks, and why\n"
"  show ID                          the referral, with its case sheet: the\n"
"                                    applicant, missing items, legal basis,\n"
"                                    assignment and deadlines\n"
"  list --inbox|--outbox|--dead|--held   (--held: changes waiting for their\n"
"                                    referral, and each peer's store quota)\n"
"       [--state S] [--overdue] [--open] [--from CODE] [--since YYYY-MM-DD]\n"
"       [--all]                      (closed cases show only with --all or\n"
"                                    --state; --json lists all unless --open)\n"
"  docs ID --out DIR                the application's and supplements'\n"
"                                    documents as files (0600; never over one)\n"
"  held drop ID [--seq N] | held drop --from CODE   (admin; audited)\n"
"  requeue ID|--all                  (dead messages, signed anew and sent again)\n"
"  trail ID\n"
"  overdue\n"
"  calendar due --from YYYY-MM-DD --days N   the due day of a period (the\n"
"                                    start day not counted; past holidays)\n"
"\n"
"Audit (read the store itself, read-only; the node may be running):\n"
"  audit verify [--witness FILE]    the chain, its checkpoints, a peer's file\n"
"  audit witnessed --node CODE      checkpoints this node holds about CODE\n"
"  audit trail ID                   both nodes' events, each marked who signed\n"
"  audit export --out FILE [--since T] [--until T] [--format jsonl|csv]\n"
"               [--include-personal]   (personal data: admin role, recorded)\n"
"  audit verify-export FILE [--directory FILE --authority PUBKEY.pem]\n"
"  store check                      every record's digest and seal, the chain\n"
"  backup DIR                       a hot, checked copy of the store\n"
"  restore DIR                      (node stopped) peers resend what came after\n"
"  restore --acknowledge            (admin) a store found rolled back: send again\n"
"\n"
"Retention (admin; audited):\n"
"  purge --before DATE [--dry-run]  personal data of referrals final before\n"
"                                   DATE; the data key rotates after it\n"
"  legal-hold set ID --reason TEXT  keep a referral's data (a court case...)\n"
"  legal-hold clear ID              legal-hold list\n"
"  compact                          (node stopped) the store without its free\n"
"                                   pages, and what deleted records left there\n"
"\n"
"The lifecycle (--actor STAFF_ID names who acts; REFERRAL_ACTOR also works;\n"
"a staff OS account acts as the id [staff] accounts gives it, and no other:\n"
"docs/ACCOUNTS.md; `call whoami` shows it):\n"
"  accept ID                         deny ID --basis TEXT --reason TEXT\n"
"  request-materials ID --item TEXT [--item TEXT ...]\n"
"  supplement ID --doc FILE [--doc FILE ...]   (origin)\n"
"  assign ID --firm NAME --lawyer NAME --licence NO\n"
"  start ID      hold ID --reason TEXT      resume ID\n"
"  terminate ID --ground CODE --reason TEXT   (Art 48: deception,\n"
"        concealment, unlawful_use, no_longer_eligible, proceedings_ended,\n"
"        own_lawyer, applicant_request, other_statutory)\n"
"  close ID --report FILE --outcome CODE   (won, partly_won, lost, mediated,\n"
"        settled, suit_withdrawn, service_completed, other)\n"
"  review ID --follow-up HOW --on DATE --score N [--note TEXT]   the file\n"
"        review (结案审查) of a closed case, by a staff id other than the one\n"
"        that closed it; HOW: phone, in_person, letter, sms, unreachable;\n"
"        N: quality score 1 to 100\n"
"  cancel ID --reason TEXT           refer-onward ID --to CODE --reason TEXT\n"
"  cancel ID --applicant-withdrawal --reason TEXT\n"
"                                    (receiver: the applicant's written\n"
"                                    withdrawal, the only cancel it records)\n"
"  pre-aid ID --reason TEXT          (Art 44: grant before the review ends)\n"
"  mark-urgent ID --ground limitation|preservation|other --reason TEXT\n"
"                                    (Art 44 urgency finding; goes first)\n"
"  request-materials again: only with --reason (materials are asked once)\n"
"  object ID --centre CODE --reason TEXT   decide-objection ID --uphold|--grant\n"
"        [--reason TEXT]   (Art 49: at the justice bureau's node, for a centre\n"
"        its directory entry oversees; the decision by a staff id listed\n"
"        under its objection_reviewers)\n"
"  reassign ID --firm NAME --lawyer NAME --licence NO --reason TEXT\n"
"                                    [--contact PHONE]  (the lawyer replaced)\n"
"  notice ID --type materials|grant|denial|assignment|termination|withdrawal\n"
"         --out FILE.pdf             (the applicant's notice, A4, numbered)\n"
"  notified ID --how post|in-person|sms --on YYYY-MM-DD\n"
"                                    (the applicant told; the state stays)\n"
"\n"
"Courts, labour bureaus and the gateway:\n"
"  token create --name NAME --scope court|labour|staff|admin [--code CODE]\n"
"               [--expires DATE]     (printed once; the node keeps a hash)\n"
"  token list        token revoke NAME\n"
"  event TYPE --to CODE --application FILE [--case-ref REF]   (at a court's\n"
"        or bureau's node: notify_defence, forward_application)\n"
"  event TYPE --referral ID [--detail TEXT] [--at TIME]  (hearing_changed,\n"
"        custody_changed, judgment_served, case_ended, arbitration_accepted,\n"
"        hearing_scheduled, award_or_mediation)\n"
"  events [--cursor C]               the notices owed, in order\n"
"  call NAME [--referral ID] [--token T] [--request-id R] [JSON]   any\n"
"                                    operation the node lists (call ops),\n"
"                                    as a token's holder; R: a retry\n"), stderr);
	return 2;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs(_("refctl: "), stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_need_data_dir(void)
{
	if (!cli_data_dir || !*cli_data_dir)
		return cli_fail(_("no data folder: give --data DIR or set "
				  "REFERRAL_DATA"));
	return 0;
}

const char *cli_opt(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

size_t cli_opts_all(int argc, char **argv, const char *name,
		    const char ***ret)
{
	const char **v = calloc((size_t)argc + 1, sizeof(*v));
	size_t n = 0;

	for (int i = 0; v && i < argc - 1; i++)
		if (!strcmp(argv[i], name))
			v[n++] = argv[++i];
	*ret = v;
	return n;
}

bool cli_flag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

const char *cli_positional(int argc, char **argv, int n,
			   const char *const *with_value)
{
	for (int i = 0; i < argc; i++) {
		bool takes = false;
		if (!strncmp(argv[i], "--", 2)) {
			for (const char *const *w = with_value; *w; w++)
				if (!strcmp(argv[i], *w))
					takes = true;
			if (takes)
				i++;
			continue;
		}
		if (n-- == 0)
			return argv[i];
	}
	return NULL;
}

const char *cli_js(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

const char *cli_jt(json_t *o, const char *k)
{
	/* Four rotating buffers: a printf may show several times. */
	static char bufs[4][40];
	static int next;
	char lk[64], *b;
	const char *s;

	snprintf(lk, sizeof(lk), "%s_local", k);
	s = json_string_value(json_object_get(o, lk));
	if (!s || strlen(s) < 19)
		return cli_js(o, k);
	b = bufs[next++ % 4];
	/* "2026-10-09T00:00:00+08:00" -> "2026-10-09 00:00:00 +08:00". */
	snprintf(b, sizeof(bufs[0]), "%.10s %.8s %s", s, s + 11, s + 19);
	return b;
}

const char *cli_due(json_t *o, const char *day_key, const char *k)
{
	static char bufs[4][64];
	static int next;
	char lk[64], *b;
	const char *day = json_string_value(json_object_get(o, day_key)), *loc;
	int y, m, d, hh, mm;

	snprintf(lk, sizeof(lk), "%s_local", k);
	loc = json_string_value(json_object_get(o, lk));
	if (!day || !loc || strlen(loc) < 19)
		return cli_js(o, k);
	b = bufs[next++ % 4];
	/* A deadline ends at 24:00 of its day; in a zone other than
	 * Beijing's it ends at some other local hour, said as such. */
	if (!strncmp(loc + 11, "00:00:00", 8) &&
	    sscanf(day, "%d-%d-%d", &y, &m, &d) == 3)
		snprintf(b, sizeof(bufs[0]), "%d年%d月%d日 24:00 前", y, m, d);
	else if (sscanf(loc, "%d-%d-%dT%d:%d", &y, &m, &d, &hh, &mm) == 5)
		snprintf(b, sizeof(bufs[0]), "%d年%d月%d日 %02d:%02d 前", y, m,
			 d, hh, mm);
	else
		return cli_js(o, k);
	return b;
}

void cli_print_json(json_t *o)
{
	char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	printf("%s\n", text ? text : "null");
	free(text);
}

int cli_client(ref_client_t **ret)
{
	int r;

	if (cli_need_data_dir())
		return 1;
	r = ref_open(cli_data_dir, 0, ret);
	if (r)
		return cli_fail(_("cannot open a client for %s: %s"), cli_data_dir,
				ref_strerror(r));
	return 0;
}

int cli_ask_on(ref_client_t *c, const char *name, const char *token,
	       const char *request_id, const char *referral_id,
	       const json_t *opts, json_t **ret)
{
	char *text = opts ? json_dumps(opts, JSON_COMPACT) : NULL, *out = NULL;
	int r;

	*ret = NULL;
	if (opts && !text)
		return cli_fail(_("out of memory"));
	r = ref_call(c, name, token, cli_actor, request_id, referral_id, text,
		     &out);
	free(text);
	if (r)
		return cli_fail("%s", i18n_detail(ref_last_error(c)));
	*ret = json_loads(out, 0, NULL);
	free(out);
	return *ret ? 0 : cli_fail(_("the node's answer is not JSON"));
}

int cli_ask(const char *name, const char *token, const char *request_id,
	    const char *referral_id, json_t *opts, json_t **ret)
{
	ref_client_t *c = NULL;
	int r;

	*ret = NULL;
	if (cli_client(&c)) {
		json_decref(opts);
		return 1;
	}
	r = cli_ask_on(c, name, token, request_id, referral_id, opts, ret);
	json_decref(opts);
	ref_close(&c);
	return r;
}

int cli_call(const char *name, const char *token, const char *request_id,
	     const char *referral_id, json_t *opts, void (*show)(json_t *ans))
{
	json_t *ans;

	if (cli_ask(name, token, request_id, referral_id, opts, &ans))
		return 1;
	if (cli_want_json || !show)
		cli_print_json(ans);
	else
		show(ans);
	json_decref(ans);
	return 0;
}
