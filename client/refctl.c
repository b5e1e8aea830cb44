/* refctl.c: the command line for county staff and admins, built on
 * libreferral: main and the table of commands. Commands and flags named
 * in the README are fixed (tests and other tools drive them); human text
 * by default, JSON with --json. Exit status: 0 done, 1 refused or failed
 * (the message says why), 2 bad usage.
 *
 * Arrows point down: main calls the command files (refctl-*.c), which
 * call cli.c and the libraries; none of them calls back into this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "application.h"
#include "cli.h"
#include "i18n.h"
#include "refctl-audit.h"
#include "refctl-calendar.h"
#include "refctl-call.h"
#include "refctl-notice.h"
#include "refctl-closing.h"
#include "refctl-directory.h"
#include "refctl-node.h"
#include "refctl-inbox.h"
#include "refctl-purge.h"
#include "refctl-route.h"
#include "refctl-setup.h"
#include "refctl-store.h"

/* refctl example application: the template `submit` reads. */
static int example(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "application"))
		return cli_usage();
	fputs(application_example(), stdout);
	return 0;
}

/* Every command, by name; each takes the arguments from its own name on. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "init", refctl_setup_init },
	{ "authority", refctl_setup_authority },
	{ "rotate-keys", refctl_setup_rotate_keys },
	{ "directory", refctl_directory },
	{ "rotate-data-key", refctl_node_rotate_data_key },
	{ "example", example },
	{ "submit", refctl_node_submit },
	{ "route", refctl_route },
	{ "docs", refctl_docs },
	{ "supplement", refctl_node_supplement },
	{ "audit", refctl_audit },
	{ "store", refctl_store },
	{ "backup", refctl_store_backup },
	{ "restore", refctl_store_restore },
	{ "accept", refctl_node_move },
	{ "deny", refctl_node_move },
	{ "request-materials", refctl_node_move },
	{ "assign", refctl_node_move },
	{ "start", refctl_node_move },
	{ "hold", refctl_node_move },
	{ "resume", refctl_node_move },
	{ "terminate", refctl_closing_terminate },
	{ "close", refctl_closing_close },
	{ "review", refctl_closing_review },
	{ "cancel", refctl_node_move },
	{ "refer-onward", refctl_node_move },
	{ "pre-aid", refctl_node_move },
	{ "mark-urgent", refctl_node_move },
	{ "object", refctl_closing_object },
	{ "decide-objection", refctl_closing_decide },
	{ "overdue", refctl_node_overdue },
	{ "calendar", refctl_calendar },
	{ "status", refctl_node_status },
	{ "show", refctl_node_show },
	{ "trail", refctl_node_show },
	{ "list", refctl_node_list },
	{ "requeue", refctl_node_requeue },
	{ "token", refctl_call_token },
	{ "held", refctl_call_held },
	{ "reassign", refctl_call_reassign },
	{ "notice", refctl_notice },
	{ "notified", refctl_notified },
	{ "event", refctl_call_event },
	{ "events", refctl_call_events },
	{ "purge", refctl_purge },
	{ "legal-hold", refctl_legal_hold },
	{ "compact", refctl_compact },
	{ "call", refctl_call_any },
};

static char **args_to_free;

static void free_args(void)
{
	free(args_to_free);
}

int main(int argc, char **argv)
{
	char **args; /* pointers into argv, freed at exit */
	int n = 0;

	i18n_setup();
	args = calloc((size_t)argc + 1, sizeof(char *));
	if (!args)
		return cli_fail(_("out of memory"));
	args_to_free = args;
	atexit(free_args);
	cli_data_dir = getenv("REFERRAL_DATA");
	cli_actor = getenv("REFERRAL_ACTOR");
	/* --data and --json may stand anywhere; the rest is the command. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			cli_data_dir = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			cli_want_json = true;
		else if (!strcmp(argv[i], "--actor") && i + 1 < argc)
			cli_actor = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return cli_usage() ? 0 : 0;
		else
			args[n++] = argv[i];
	}
	if (n == 0)
		return cli_usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(args[0], commands[i].name))
			return commands[i].run(n, args);
	fprintf(stderr, _("refctl: unknown command \"%s\"\n"), args[0]);
	return cli_usage();
}
