/* refctl-inbox.c: see refctl-inbox.h. The node filters and reads; refctl
 * only asks and prints, and writes the documents where the reviewer says,
 * never outside that folder and never over a file already there. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "referral.h"
#include "refctl-inbox.h"
#include "util.h"

int refctl_inbox_list(int argc, char **argv, bool inbox,
		      void (*human)(json_t *))
{
	const char *state = cli_opt(argc, argv, "--state");
	const char *from = cli_opt(argc, argv, "--from");
	const char *since = cli_opt(argc, argv, "--since");
	bool all = cli_flag(argc, argv, "--all");
	bool open = cli_flag(argc, argv, "--open");
	json_t *opts, *page = NULL, *refs = json_array();
	ref_client_t *c = NULL;
	int r = 0;

	if (all && open)
		return cli_fail(_("give --open or --all, not both"));
	/* The reviewer's view leaves closed cases out; a script's --json
	 * keeps every referral unless it asks otherwise. */
	if (!cli_want_json && !all && !state)
		open = true;
	opts = json_pack("{s:s, s:i}", "box", inbox ? "inbox" : "outbox",
			 "limit", 1000);
	if (state)
		json_object_set_new(opts, "state", json_string(state));
	if (from)
		json_object_set_new(opts, "from", json_string(from));
	if (since)
		json_object_set_new(opts, "since", json_string(since));
	if (open)
		json_object_set_new(opts, "open", json_true());
	if (cli_flag(argc, argv, "--overdue"))
		json_object_set_new(opts, "overdue", json_true());
	if (cli_client(&c)) {
		json_decref(opts);
		json_decref(refs);
		return 1;
	}
	/* Every page, in the node's order. */
	for (;;) {
		const char *next;

		json_decref(page);
		if ((r = cli_ask_on(c, "list", NULL, NULL, NULL, opts, &page)))
			break;
		json_array_extend(refs, json_object_get(page, "referrals"));
		next = json_string_value(json_object_get(page, "next_cursor"));
		if (!next)
			break;
		json_object_set_new(opts, "cursor", json_string(next));
	}
	ref_close(&c);
	json_decref(opts);
	if (!r) {
		json_object_set(page, "referrals", refs);
		json_object_del(page, "next_cursor");
		if (cli_want_json)
			cli_print_json(page);
		else
			human(page);
	}
	json_decref(refs);
	json_decref(page);
	return r ? 1 : 0;
}

/* The last history step holding key, or NULL. */
static json_t *last_with(json_t *hist, const char *key)
{
	json_t *found = NULL, *it;
	size_t i;

	json_array_foreach(hist, i, it)
		if (json_object_get(it, key))
			found = it;
	return found;
}

void refctl_inbox_sheet(json_t *o)
{
	json_t *app = json_object_get(o, "application");
	json_t *m = json_object_get(app, "matter");
	json_t *hist = json_object_get(o, "history"), *h, *it;
	size_t i;

	printf("----\n");
	/* The application is in the answer only for the centre's own staff
	 * (a court's or bureau's token gets the agency view). */
	if (app)
		printf(_("applicant %s\n"), cli_js(json_object_get(app, "applicant"),
						"name"));
	if (m)
		printf(_("matter    %s, handled by %s%s%s%s%s\n"),
		       cli_js(m, "case_type"), cli_js(m, "handling_body"),
		       json_object_get(m, "handling_case_no") ? " " : "",
		       json_object_get(m, "handling_case_no")
		       ? cli_js(m, "handling_case_no") : "",
		       json_object_get(m, "handling_division") ? _(", division ")
		       : "", json_object_get(m, "handling_division")
		       ? cli_js(m, "handling_division") : "");
	if ((h = last_with(hist, "missing_items"))) {
		printf(_("missing   (asked %s%s)\n"), cli_js(h, "at"),
		       strcmp(cli_js(o, "state"), "AWAITING_MATERIALS")
		       ? _("; the state has moved on since") : "");
		json_array_foreach(json_object_get(h, "missing_items"), i, it)
			printf("          - %s\n", json_string_value(it)
			       ? json_string_value(it) : "-");
	} else {
		printf(_("missing   none asked for\n"));
	}
	if ((h = last_with(hist, "legal_basis")))
		printf(_("basis     %s: %s (%s)\n"), cli_js(h, "state"),
		       cli_js(h, "legal_basis"), cli_js(h, "reason"));
	if ((h = last_with(hist, "assignment"))) {
		json_t *as = json_object_get(h, "assignment");
		printf(_("assigned  %s, %s (licence %s)%s%s\n"), cli_js(as, "firm"),
		       cli_js(as, "lawyer"), cli_js(as, "licence_no"),
		       json_object_get(as, "contact") ? ", " : "",
		       json_object_get(as, "contact") ? cli_js(as, "contact") : "");
	} else {
		printf(_("assigned  not yet\n"));
	}
	/* The deadlines are the clock lines above, on the same screen. */
}

/* A document's file name: its source, then its own name with anything
 * but letters, digits, UTF-8 text, '.', '-' and '_' made '_', so that no
 * name (a "../" or a "/etc/x" in a hostile application) leaves DIR. */
static void safe_name(const char *source, const char *name, const char *type,
		      size_t idx, char *out, size_t len)
{
	char own[160];

	if (!name || !name[0] || !strcmp(name, "-"))
		snprintf(own, sizeof(own), "%zu-%s", idx, type ? type : "document");
	else
		snprintf(own, sizeof(own), "%s", name);
	util_utf8_trim(own);
	for (char *p = own; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!(ch >= 0x80 || (ch >= '0' && ch <= '9') ||
		      (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      ch == '.' || ch == '-' || ch == '_'))
			*p = '_';
	}
	snprintf(out, len, "%s-%s", source, own);
}

int refctl_docs(int argc, char **argv)
{
	static const char *const with_value[] = { "--out", NULL };
	const char *id = cli_positional(argc - 1, argv + 1, 0, with_value);
	const char *dir = cli_opt(argc, argv, "--out");
	ref_client_t *c = NULL;
	json_t *ans = NULL, *docs, *it;
	char (*names)[512] = NULL;
	size_t i, n, written = 0;
	struct stat st;
	int r = 0;

	if (!id || !dir)
		return cli_usage();
	if (cli_client(&c))
		return 1;
	r = cli_ask_on(c, "docs", NULL, NULL, id, NULL, &ans);
	ref_close(&c);
	if (r)
		return 1;
	docs = json_object_get(ans, "documents");
	n = json_array_size(docs);
	if (mkdir(dir, 0700) && errno != EEXIST) {
		json_decref(ans);
		return cli_fail(_("cannot make %s: %s"), dir, strerror(errno));
	}
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		json_decref(ans);
		return cli_fail(_("%s is not a folder"), dir);
	}
	names = calloc(n + 1, sizeof(*names));
	if (!names) {
		json_decref(ans);
		return cli_fail(_("out of memory"));
	}
	/* Every name first: nothing is written when one would overwrite. */
	json_array_foreach(docs, i, it) {
		char fn[300];
		safe_name(cli_js(it, "source"), json_string_value(json_object_get(
			it, "name")), cli_js(it, "type"), i + 1, fn, sizeof(fn));
		snprintf(names[i], sizeof(names[i]), "%s/%s", dir, fn);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(names[k], names[i]))
				r = cli_fail(_("two documents would both be %s; "
					     "nothing written"), names[i]);
		if (!r && lstat(names[i], &st) == 0)
			r = cli_fail(_("%s exists: refusing to overwrite it; "
				     "nothing written (give an empty --out "
				     "folder)"), names[i]);
		if (r)
			break;
	}
	json_array_foreach(docs, i, it) {
		const char *b64 = json_string_value(json_object_get(
			it, "content_base64"));
		uint8_t *buf = NULL;
		size_t len = 0;
		int fd;

		if (r)
			break;
		if (!b64) {
			fprintf(stderr, "refctl: %s: no bytes held (reference "
				"%s)\n", names[i], cli_js(it, "reference"));
			continue;
		}
		if (util_b64_decode(b64, &buf, &len)) {
			r = cli_fail(_("%s: the node's copy is not base64"), names[i]);
			break;
		}
		fd = open(names[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			  O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
		    fsync(fd)) {
			r = cli_fail("%s: %s", names[i], strerror(errno));
			if (fd >= 0)
				close(fd);
			free(buf);
			break;
		}
		close(fd);
		free(buf);
		written++;
		if (cli_want_json)
			continue;
		printf(_("%s  (%s, %s, %zu bytes)\n"), names[i], cli_js(it, "source"),
		       cli_js(it, "type"), len);
	}
	if (!r && cli_want_json) {
		json_t *o = json_pack("{s:s, s:I, s:[]}", "referral_id", id,
				      "written", (json_int_t)written, "files");
		for (i = 0; i < written; i++)
			json_array_append_new(json_object_get(o, "files"),
					      json_string(names[i]));
		cli_print_json(o);
		json_decref(o);
	}
	free(names);
	json_decref(ans);
	return r ? 1 : 0;
}
