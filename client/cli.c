/* cli.c: see cli.h. The usage text lives here, beside the parsing, so
 * that any command can print it on bad usage without calling back up
 * into main. Commands and flags named in the README are fixed: tests and
 * other tools drive them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

bool cli_want_json;
const char *cli_data_dir;
const char *cli_actor;

int cli_usage(void)
{
	fprintf(stderr,
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
"  show ID\n"
"  list --inbox|--outbox|--dead|--held   (--held: changes waiting for their\n"
"                                    referral, and each peer's store quota)\n"
"  held drop ID [--seq N] | held drop --from CODE   (admin; audited)\n"
"  requeue ID|--all                  (dead messages, signed anew and sent again)\n"
"  trail ID\n"
"  overdue\n"
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
"  terminate ID --reason TEXT        close ID --report FILE\n"
"  cancel ID --reason TEXT           refer-onward ID --to CODE --reason TEXT\n"
"  pre-aid ID --reason TEXT          (Art 44: grant before the review ends)\n"
"  object ID --reason TEXT           decide-objection ID --uphold|--grant\n"
"                                    (the justice bureau's admin role)\n"
"  reassign ID --firm NAME --lawyer NAME --licence NO --reason TEXT\n"
"                                    [--contact PHONE]  (the lawyer replaced)\n"
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
"                                    as a token's holder; R: a retry\n");
	return 2;
}

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "refctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_need_data_dir(void)
{
	if (!cli_data_dir || !*cli_data_dir)
		return cli_fail("no data folder: give --data DIR or set "
				"REFERRAL_DATA");
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
		return cli_fail("cannot open a client for %s: %s", cli_data_dir,
				ref_strerror(r));
	return 0;
}

int cli_call(const char *name, const char *token, const char *request_id,
	     const char *referral_id, json_t *opts, void (*show)(json_t *ans))
{
	ref_client_t *c = NULL;
	char *text = json_dumps(opts, JSON_COMPACT), *out = NULL;
	json_t *ans;
	int r;

	json_decref(opts);
	if (!text)
		return cli_fail("out of memory");
	if (cli_client(&c)) {
		free(text);
		return 1;
	}
	r = ref_call(c, name, token, cli_actor, request_id, referral_id, text,
		     &out);
	free(text);
	if (r) {
		cli_fail("%s", ref_last_error(c));
		ref_close(&c);
		return 1;
	}
	ans = json_loads(out, 0, NULL);
	if (cli_want_json || !show)
		cli_print_json(ans);
	else
		show(ans);
	json_decref(ans);
	free(out);
	ref_close(&c);
	return 0;
}
