/* refctl-purge.c: see refctl-purge.h. One named call each ("purge",
 * "legal-hold-set", "legal-hold-clear", "legal-hold-list"); the node
 * checks the role and the options, and audits what it did. And the
 * store's compaction, with the node stopped, which reads the store
 * directly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "i18n.h"
#include "cli-store.h"
#include "datakey.h"
#include "errors.h"
#include "refctl-purge.h"
#include "store.h"
#include "util.h"

static int call(const char *name, const char *referral_id, json_t *opts,
		void (*show)(json_t *answer))
{
	return cli_call(name, NULL, NULL, referral_id, opts, show);
}

static void show_list(json_t *arr, const char *what)
{
	json_t *it;
	size_t i;

	json_array_foreach(arr, i, it) {
		bool kept = json_object_get(it, "kept") != NULL;
		printf(_("%-24s %-16s since %s%s%s\n"), cli_js(it, "referral_id"),
		       cli_js(it, "state"), cli_js(it, "since"),
		       kept ? _("  kept: ") : "", kept ? cli_js(it, "kept") : "");
	}
	if (!i)
		printf(_("(%s: none)\n"), what);
}

static void show_purge(json_t *a)
{
	bool dry = json_is_true(json_object_get(a, "dry_run"));

	fputs(dry ? _("Would purge (nothing was changed):\n") : _("Purged:\n"),
	      stdout);
	show_list(json_object_get(a, dry ? "would_purge" : "purged"),
		  dry ? _("would purge") : _("purged"));
	fputs(_("Kept:\n"), stdout);
	show_list(json_object_get(a, "kept"), _("kept"));
	if (json_is_true(json_object_get(a, "more")))
		fputs(_("More referrals are past the date: run purge again.\n"),
		      stdout);
	if (!dry)
		fputs(_("The data key rotates: every record is sealed again and "
			"the old key dropped (refctl status shows when).\n"),
		      stdout);
}

int refctl_purge(int argc, char **argv)
{
	const char *before = cli_opt(argc, argv, "--before");
	json_t *o;

	if (!before)
		return cli_fail(_("purge needs --before DATE (2020-12-31 or RFC "
				"3339); --dry-run lists what would go"));
	o = json_pack("{s:s, s:b}", "before", before, "dry_run",
		      cli_flag(argc, argv, "--dry-run"));
	return call("purge", NULL, o, show_purge);
}

static void show_holds(json_t *a)
{
	json_t *it;
	size_t i;

	json_array_foreach(json_object_get(a, "holds"), i, it)
		printf(_("%-24s since %s by %s: %s\n"), cli_js(it, "referral_id"),
		       cli_js(it, "since"), cli_js(it, "by"),
		       cli_js(it, "reason"));
	if (!i)
		printf(_("no legal holds\n"));
}

static void show_hold(json_t *a)
{
	printf("%s: %s\n", cli_js(a, "referral_id"),
	       json_is_true(json_object_get(a, "legal_hold"))
	       ? _("under a legal hold: its personal data is not purged")
	       : _("legal hold cleared"));
}

int refctl_legal_hold(int argc, char **argv)
{
	static const char *const with_value[] = { "--reason", NULL };
	const char *sub = argc > 1 ? argv[1] : "";
	const char *id = cli_positional(argc - 1, argv + 1, 1, with_value);

	if (!strcmp(sub, "list"))
		return call("legal-hold-list", NULL, json_object(), show_holds);
	if (!strcmp(sub, "set") && id) {
		const char *reason = cli_opt(argc, argv, "--reason");
		if (!reason)
			return cli_fail(_("legal-hold set needs --reason TEXT (the "
					"court case or order)"));
		return call("legal-hold-set", id,
			    json_pack("{s:s}", "reason", reason), show_hold);
	}
	if (!strcmp(sub, "clear") && id)
		return call("legal-hold-clear", id, json_object(), show_hold);
	return cli_usage();
}

static int fsync_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* refctl compact: with the node stopped, the store copied by LMDB's
 * compacting copy (only the pages in use, each copied whole: free pages,
 * and what deleted or re-sealed records left in them, stay behind),
 * checked, then renamed over data.mdb (one rename: the old file or the
 * new one, never half). */
int refctl_compact(int argc, char **argv)
{
	store_opts_t rw = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40 };
	store_opts_t ro = rw;
	char dir[4096], tmp[4200], from[4300], to[4200], where[300] = "";
	store_t *s = NULL;
	seal_t *ring = NULL;
	struct stat before, after;
	config_t c;
	int fd, r;

	(void)argv;
	if (argc > 1 || !cli_data_dir || !*cli_data_dir)
		return cli_usage();
	snprintf(dir, sizeof(dir), "%s/referrald.lock", cli_data_dir);
	fd = open(dir, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (fd >= 0)
			close(fd);
		return cli_fail(_("the node on %s is running: stop it before "
				"compacting its store"), cli_data_dir);
	}
	if (cli_store_config(&c) ||
	    (datakey_load(&c, &ring, where, sizeof(where)) &&
	     cli_fail("%s", where))) {
		close(fd);
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/store", cli_data_dir);
	snprintf(tmp, sizeof(tmp), "%s/compact.tmp", dir);
	snprintf(from, sizeof(from), "%s/data.mdb", tmp);
	snprintf(to, sizeof(to), "%s/data.mdb", dir);
	/* A compaction stopped before its rename left its copy: not used. */
	unlink(from);
	rmdir(tmp);
	r = stat(to, &before) < 0 ? -errno : store_open(dir, &rw, &s);
	if (!r)
		r = store_copy(s, tmp);
	if (r && s)
		snprintf(where, sizeof(where), "%s", store_last_error(s));
	store_close(&s);
	if (!r)
		r = fsync_file(from);
	ro.readonly = true;
	if (!r)
		r = store_open(tmp, &ro, &s);
	if (!r) {
		store_set_seal(s, ring);
		r = store_check(s, where, sizeof(where));
	}
	store_close(&s);
	seal_free(&ring);
	if (!r && rename(from, to) < 0)
		r = -errno;
	if (!r)
		r = util_sync_dir(dir);
	unlink(from);
	rmdir(tmp);
	close(fd);
	if (r)
		return cli_fail(_("the store was not compacted (%s%s%s); it is as "
				"it was"), ref_strerror(r), where[0] ? ": " : "",
				where);
	stat(to, &after);
	printf(_("store compacted: %lld bytes, was %lld; its free pages are "
	       "gone\n"), (long long)after.st_size, (long long)before.st_size);
	return 0;
}
